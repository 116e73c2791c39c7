from datetime import date

import pytest

from config import RunConfig, load_config
from pipelines.calendar import add_working_days, period_end


@pytest.mark.parametrize("start,n,end", [
    (date(2026, 9, 30), 1, date(2026, 10, 8)),  # National Day 10-01..10-07 skipped
    (date(2026, 9, 30), 3, date(2026, 10, 10)),  # Saturday 10-10 is a make-up workday
    (date(2026, 10, 9), 2, date(2026, 10, 12)),  # Sunday 10-11 is not
    (date(2026, 11, 27), 3, date(2026, 12, 2)),  # ordinary weekend
    (date(2026, 11, 27), 0, date(2026, 11, 27)),
])
def test_known_years(start, n, end):
    assert add_working_days(start, n) == (end, None)


def test_unknown_year_falls_back_to_weekdays_less_fixed_holidays_with_warning():
    day, warning = add_working_days(date(2026, 12, 30), 3)  # Thu 12-31, (2027) Fri 01-01 元旦, Mon 01-04, Tue 01-05
    assert day == date(2027, 1, 5)
    assert warning and "2027年" in warning and "[run] holidays" in warning
    assert add_working_days(date(2027, 9, 30), 1)[0] == date(2027, 10, 4)  # 国庆 10-01 (Fri) not worked


def test_a_years_schedule_entered_in_the_config_is_followed_without_warning():
    """The bureau enters 2027's 部分节假日安排 once published (these days are made up for the
    test): its days off and make-up working weekends count, and the year is known."""
    run = RunConfig(holidays=("2027-02-05", "2027-02-08", "2027-02-09"), workdays=("2027-02-06",))
    assert add_working_days(date(2027, 2, 3), 3, run) == (date(2027, 2, 10), None)  # Thu 4, Sat 6, Wed 10
    # a day entered overrides what the package knows
    assert add_working_days(date(2026, 11, 27), 3, RunConfig(holidays=("2026-12-01",))) == (date(2026, 12, 3), None)


@pytest.mark.parametrize("setting", ['run.holidays=["2027-2-5"]', 'run.workdays=["Feb 6"]',
                                     'run.fixed_holidays=["13-01"]', 'run.holidays=[20270205]'])
def test_a_mistyped_calendar_day_is_refused_naming_the_key(setting):
    with pytest.raises(ValueError, match=r"run\.(holidays|workdays|fixed_holidays)"):
        load_config(overrides=[setting])


@pytest.mark.parametrize("period,end", [("2026-10", date(2026, 10, 31)), ("2026-11", date(2026, 11, 30)),
                                        ("2026-12", date(2026, 12, 31)), ("2027-02", date(2027, 2, 28)),
                                        ("2028-02", date(2028, 2, 29)), ("2027-01", date(2027, 1, 31))])
def test_period_end_is_the_last_day_of_the_month_december_too(period, end):
    """The day repeat suppression counts its 90 days back from, and after which a 解决日期 is a plan."""
    assert period_end(period) == end

from datetime import date

import pytest

from config import RunConfig, load_config
from pipelines.calendar import add_working_days, deadlines, period_end, statutory_days


@pytest.mark.parametrize("start,n,end", [
    (date(2026, 9, 30), 1, date(2026, 10, 8)),  # National Day 10-01..10-07 skipped
    (date(2026, 9, 30), 3, date(2026, 10, 10)),  # Saturday 10-10 is a make-up workday
    (date(2026, 10, 9), 2, date(2026, 10, 12)),  # Sunday 10-11 is not
    (date(2026, 11, 27), 3, date(2026, 12, 2)),  # ordinary weekend
    (date(2026, 11, 27), 0, date(2026, 11, 27)),
])
def test_known_years(start, n, end):
    assert add_working_days(start, n) == (end, None)


def test_unknown_year_falls_back_to_weekdays_less_statutory_holidays_with_warning():
    day, warning = add_working_days(date(2026, 12, 30), 3)  # Thu 12-31, (2027) Fri 01-01 元旦, Mon 01-04, Tue 01-05
    assert day == date(2027, 1, 5)
    assert warning and "2027年" in warning and "[run] holidays" in warning
    assert add_working_days(date(2027, 9, 30), 1)[0] == date(2027, 10, 6)  # 国庆 Fri 10-01..Sun 10-03, 补假 Mon, Tue
    # the lunar ones too: 除夕 Fri 02-05, 初一..初三 Sat 02-06..Mon 02-08, made up (补假) for the
    # weekend on Tue 02-09 and Wed 02-10 (the February lists of 2027)
    assert add_working_days(date(2027, 2, 4), 1)[0] == date(2027, 2, 11)
    assert add_working_days(date(2027, 4, 30), 1)[0] == date(2027, 5, 5)  # 劳动节 Sat 05-01, Sun 05-02: 补假 Mon, Tue
    assert add_working_days(date(2027, 4, 2), 1)[0] == date(2027, 4, 6)  # 清明 Mon 04-05
    assert add_working_days(date(2027, 6, 8), 1)[0] == date(2027, 6, 10)  # 端午 Wed 06-09
    assert add_working_days(date(2027, 9, 14), 1)[0] == date(2027, 9, 16)  # 中秋 Wed 09-15


@pytest.mark.parametrize("year,n", [(2025, 13 + 1), (2026, 13 + 3)])
def test_the_statutory_holidays_fall_where_the_published_schedules_put_them(year, n):
    """The default rules (the 2025 放假办法: 除夕 and 初一-初三, 清明, 端午, 中秋 by the lunar
    calendar and solar terms; a day on a weekend made up on the next weekday) give days the State
    Council's schedules of 2025 and 2026 (in chinese_calendar) have off, each under its festival:
    13 a year, and 2025's 端午 (Sat 05-31) made up on Mon 06-02, 2026's 清明 (Sun), 劳动节 (Sat)
    and 国庆 (Sat 10-03) on the Mondays after."""
    import chinese_calendar

    days = statutory_days(year, RunConfig().fixed_holidays)
    assert len(days) == n
    names = {d: chinese_calendar.get_holiday_detail(d) for d in days}
    assert all(on for on, _ in names.values()), names
    assert sorted({n for _, n in names.values()}) == ["Dragon Boat Festival", "Labour Day", "Mid-autumn Festival",
                                                        "National Day", "New Year's Day", "Spring Festival",
                                                        "Tomb-sweeping Day"]


def test_a_lunar_day_a_year_lacks_is_no_day():
    assert statutory_days(2027, ("农历12-30", "02-29")) == frozenset()  # 腊月 of 2027 has 29 days; no 02-29
    assert statutory_days(2028, ("农历12-30", "02-29")) == frozenset({date(2028, 2, 29)})


def test_a_years_schedule_entered_in_the_config_is_followed_without_warning():
    """The bureau enters 2027's 部分节假日安排 once published (these days are made up for the
    test): its days off and make-up working weekends count, and the year is known."""
    run = RunConfig(holidays=("2027-02-05", "2027-02-08", "2027-02-09"), workdays=("2027-02-06",))
    assert add_working_days(date(2027, 2, 3), 3, run) == (date(2027, 2, 10), None)  # Thu 4, Sat 6, Wed 10
    # a day entered overrides what the package knows
    assert add_working_days(date(2026, 11, 27), 3, RunConfig(holidays=("2026-12-01",))) == (date(2026, 12, 3), None)


@pytest.mark.parametrize("setting", ['run.holidays=["2027-2-5"]', 'run.workdays=["Feb 6"]',
                                     'run.fixed_holidays=["13-01"]', 'run.holidays=[20270205]',
                                     'run.fixed_holidays=["农历13-01"]', 'run.fixed_holidays=["农历除"]',
                                     'run.fixed_holidays=["清明节"]'])
def test_a_mistyped_calendar_day_is_refused_naming_the_key(setting):
    with pytest.raises(ValueError, match=r"run\.(holidays|workdays|fixed_holidays)"):
        load_config(overrides=[setting])


@pytest.mark.parametrize("period,end", [("2026-10", date(2026, 10, 31)), ("2026-11", date(2026, 11, 30)),
                                        ("2026-12", date(2026, 12, 31)), ("2027-02", date(2027, 2, 28)),
                                        ("2028-02", date(2028, 2, 29)), ("2027-01", date(2027, 1, 31))])
def test_period_end_is_the_last_day_of_the_month_december_too(period, end):
    """The day repeat suppression counts its 90 days back from, and after which a 解决日期 is a plan."""
    assert period_end(period) == end


def test_a_reruns_warnings_sent_later_have_their_own_deadline_and_the_calendar_note_either_counts():
    """The lists issued on 11-27 are due three working days on (12-02); a re-run sending a warning
    first on 12-30 dates it from then, through a year with no schedule (its note is said); a first
    run, or a re-run sending on the issue date, has one deadline."""
    run = RunConfig(verify_working_days=3)
    assert deadlines(date(2026, 11, 27), date(2026, 12, 30), False, run) == (date(2026, 12, 2), date(2026, 12, 2), None)
    assert deadlines(date(2026, 11, 27), date(2026, 11, 27), True, run) == (date(2026, 12, 2), date(2026, 12, 2), None)
    due, sent_due, note = deadlines(date(2026, 11, 27), date(2026, 12, 30), True, run)
    assert (due, sent_due) == (date(2026, 12, 2), date(2027, 1, 5)) and "2027年" in note


def test_an_unknown_years_weekend_counted_through_is_warned_of_though_the_deadline_falls_in_a_known_year():
    """Lists issued Fri 2028-12-29 are due Tue 2029-01-02 (the bureau entered 2029's schedule):
    2028's Sat and Sun on the way may be make-up workdays its unknown schedule has, so the
    deadline is said to be counted without it."""
    day, note = add_working_days(date(2028, 12, 29), 1, RunConfig(holidays=("2029-01-01",)))
    assert day == date(2029, 1, 2) and note and "2028年" in note and "2029年" not in note


def test_a_year_the_bureau_entered_only_make_up_workdays_of_is_known():
    """Entering 2027's make-up workday alone (Sat 02-06) says the year's schedule is the bureau's:
    no warning, and no 补假 guessed for the weekend (Thu 4, Sat 6, Tue 9)."""
    assert add_working_days(date(2027, 2, 3), 3, RunConfig(workdays=("2027-02-06",))) == (date(2027, 2, 9), None)

from datetime import date

import pytest

from pipelines.calendar import add_working_days


@pytest.mark.parametrize("start,n,end", [
    (date(2026, 9, 30), 1, date(2026, 10, 8)),  # National Day 10-01..10-07 skipped
    (date(2026, 9, 30), 3, date(2026, 10, 10)),  # Saturday 10-10 is a make-up workday
    (date(2026, 10, 9), 2, date(2026, 10, 12)),  # Sunday 10-11 is not
    (date(2026, 11, 27), 3, date(2026, 12, 2)),  # ordinary weekend
    (date(2026, 11, 27), 0, date(2026, 11, 27)),
])
def test_known_years(start, n, end):
    assert add_working_days(start, n) == (end, None)


def test_unknown_year_falls_back_to_weekdays_with_warning():
    day, warning = add_working_days(date(2026, 12, 30), 3)  # Thu -> 12-31, (2027) Fri 01-01, Mon 01-04
    assert day == date(2027, 1, 4)
    assert warning and "2027年" in warning

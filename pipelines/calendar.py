"""Chinese working days (public holidays and make-up workdays) for verification deadlines."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar


def is_workday(day: date) -> tuple[bool, bool]:
    """(is a working day, calendar knew the year). Unknown years fall back to Mon-Fri."""
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5, False


def add_working_days(start: date, n: int) -> tuple[date, str | None]:
    """The n-th working day after `start` (start itself not counted), and a warning text when a
    year on the way has no official holiday schedule in chinese_calendar (Mon-Fri used instead)."""
    day, left, unknown = start, n, set()
    while left > 0:
        day += timedelta(days=1)
        work, known = is_workday(day)
        if not known:
            unknown.add(day.year)
        left -= work
    if not unknown:
        return day, None
    years = "、".join(f"{y}年" for y in sorted(unknown))
    return day, f"{years}法定节假日安排未知（日历库未收录），核实截止日期按周一至周五计算，请人工核对"

"""Chinese working days (public holidays and make-up workdays) for verification deadlines."""

from __future__ import annotations

from datetime import date, timedelta

import chinese_calendar

from config import RunConfig


def period_end(period: str) -> date:
    """The last day of a period `YYYY-MM`."""
    y, m = map(int, period.split("-"))
    return date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)


def is_workday(day: date, run: RunConfig = RunConfig()) -> tuple[bool, bool]:
    """(is a working day, the year's schedule is known). The days of `run.holidays` and
    `run.workdays` (a year's 部分节假日安排 as the bureau entered it) come first, then
    chinese_calendar; a year neither knows falls back to Mon-Fri less the fixed-date statutory
    holidays (`run.fixed_holidays`): not known."""
    iso = day.isoformat()
    if iso in run.holidays or iso in run.workdays:
        return iso in run.workdays, True
    entered = any(d.startswith(f"{day.year}-") for d in (*run.holidays, *run.workdays))
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5 and day.strftime("%m-%d") not in run.fixed_holidays, entered


def add_working_days(start: date, n: int, run: RunConfig = RunConfig()) -> tuple[date, str | None]:
    """The n-th working day after `start` (start itself not counted), and a warning text when a
    year on the way has no holiday schedule, neither in chinese_calendar nor in `run.holidays`
    (Mon-Fri less the fixed-date holidays used instead: 春节, 清明, 端午, 中秋 and the year's
    bridging days and make-up workdays are not known)."""
    day, left, unknown = start, n, set()
    while left > 0:
        day += timedelta(days=1)
        work, known = is_workday(day, run)
        if not known:
            unknown.add(day.year)
        left -= work
    if not unknown:
        return day, None
    years = "、".join(f"{y}年" for y in sorted(unknown))
    return day, (f"{years}法定节假日安排未知（日历库未收录，配置 [run] holidays/workdays 也未填），核实截止日期按周一至周五"
                 f"（除元旦、劳动节、国庆节等固定日期假日）计算，春节、清明、端午、中秋及调休未计入，请人工核对；"
                 f"国务院公布该年节假日安排后，将其填入配置 [run] holidays（放假日）和 workdays（调休上班日）即可 "
                 f"no holiday schedule for {years}: deadline counted Mon-Fri less fixed-date holidays; "
                 f"enter the year's schedule as [run] holidays / workdays")

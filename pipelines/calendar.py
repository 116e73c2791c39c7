"""Chinese working days (public holidays and make-up workdays) for verification deadlines."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import chinese_calendar
from lunardate import LunarDate

from config import RunConfig


def period_end(period: str) -> date:
    """The last day of a period `YYYY-MM`."""
    y, m = map(int, period.split("-"))
    return date(y + m // 12, m % 12 + 1, 1) - timedelta(days=1)


@lru_cache(maxsize=32)
def statutory_days(year: int, rules: tuple[str, ...], make_up: bool = True) -> frozenset[date]:
    """The days of `year` its statutory holidays fall on, by `rules` (`run.fixed_holidays`): MM-DD
    of the solar calendar, 农历MM-DD of the lunar one (农历除夕: the eve of 农历01-01), or a solar
    term (清明). A day a year lacks (02-29, 农历12-30 of a short month) is none. With `make_up`,
    one falling on a Saturday or Sunday is made up on the next weekday not off already (补假, the
    放假办法's article 4; where the State Council's schedule puts it is known once published)."""
    days = set()
    for rule in rules:
        if not rule.startswith("农历") and not rule[0].isdigit():  # a solar term (config checks the name)
            days |= {d for d, name in chinese_calendar.get_solar_terms(date(year, 1, 1), date(year, 12, 31))
                     if name == rule}
            continue
        for y in ((year - 1, year) if rule.startswith("农历") else (year,)):  # (a lunar year ends in the next)
            try:
                d = (LunarDate(y + 1, 1, 1).to_solar_date() - timedelta(days=1) if rule == "农历除夕"
                     else LunarDate(y, int(rule[2:4]), int(rule[5:])).to_solar_date() if rule.startswith("农历")
                     else date(y, int(rule[:2]), int(rule[3:])))
            except ValueError:
                continue
            if d.year == year:
                days.add(d)
    for d in sorted(days) if make_up else ():
        if d.weekday() >= 5:
            off = d + timedelta(days=1)
            while off.weekday() >= 5 or off in days:
                off += timedelta(days=1)
            days.add(off)
    return frozenset(days)


def is_workday(day: date, run: RunConfig = RunConfig()) -> tuple[bool, bool]:
    """(is a working day, the year's schedule is known). The days of `run.holidays` and
    `run.workdays` (a year's 部分节假日安排 as the bureau entered it) come first, then
    chinese_calendar; a year neither knows falls back to Mon-Fri less the statutory holidays
    (`statutory_days`, with their 补假 unless the bureau entered days of the year: its schedule
    says where they fall): not known (the schedule's bridging days and make-up workdays are not)."""
    iso = day.isoformat()
    if iso in run.holidays or iso in run.workdays:
        return iso in run.workdays, True
    entered = any(d.startswith(f"{day.year}-") for d in (*run.holidays, *run.workdays))
    try:
        return chinese_calendar.is_workday(day), True
    except NotImplementedError:
        return day.weekday() < 5 and day not in statutory_days(day.year, tuple(run.fixed_holidays), not entered), entered


def add_working_days(start: date, n: int, run: RunConfig = RunConfig()) -> tuple[date, str | None]:
    """The n-th working day after `start` (start itself not counted), and a warning text when a
    year on the way has no holiday schedule, neither in chinese_calendar nor in `run.holidays`
    (Mon-Fri less the statutory holidays and their 补假 used instead: the year's bridging days
    off and make-up workdays are not known)."""
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
                 f"（除元旦、春节、清明、劳动节、端午、中秋、国庆法定假日及其逢周末的补假）计算，连休的调休放假日和调休上班日未计入，请人工核对；"
                 f"国务院公布该年节假日安排后，将其填入配置 [run] holidays（放假日）和 workdays（调休上班日）即可 "
                 f"no holiday schedule for {years}: deadline counted Mon-Fri less the statutory holidays and their make-up days off "
                 f"(bridging days off and make-up workdays not known); enter the year's schedule as [run] holidays / workdays")


def deadlines(issue_date: date, sent_on: date, rerun: bool, run: RunConfig = RunConfig()) -> tuple[date, date, str | None]:
    """(deadline, sent_deadline, note): the verification deadline of the lists issued on
    `issue_date`, `run.verify_working_days` working days on; that of the warnings a re-run
    (`rerun`: the period's lists went out before) sends first on `sent_on` (the same when it
    sends them on the issue date); and the warning of the first count whose year had no holiday
    schedule (`add_working_days`), for the report."""
    deadline, note = add_working_days(issue_date, run.verify_working_days, run)
    if not rerun or sent_on == issue_date:
        return deadline, deadline, note
    sent_deadline, sent_note = add_working_days(sent_on, run.verify_working_days, run)
    return deadline, sent_deadline, note or sent_note

"""Prefect tasks and flows of the county early-warning pipeline (部门筛查预警).

The monthly flow reads like its steps: discover the inbox, ingest each department, link records
to the roster, look up the year so far, issue warnings, publish township and county files
(storing the period in the warehouse, committed once they are in place). Tasks pass file paths (parquet in a staging folder), not
frames. All logic lives in pipelines/ and matchers/; all file handling in adapters/. Besides the
monthly flow: the flow the monthly schedule starts (`scheduled_run`) and the province's
(`province_run`), and the helpers they share with the command line (the warehouse lock, the
cascade re-running later periods, printing each re-run's summary).

The command line, `python flows.py run|serve|province|deploy ...`, is cli.py (docs/OPERATIONS.md).
"""

from __future__ import annotations

import fcntl
import logging
import os
import re
import shutil
import sys
import tempfile
import threading
import time
from collections.abc import Callable
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

if __name__ == "__main__":
    # `python flows.py ...` is the command line, cli.py. This copy of the file, run as `__main__`,
    # stops here and defines no task or flow: cli imports the file as the module `flows`, so each
    # task and flow is defined once, under the module name the worker processes of `province` and
    # the runs `serve` starts import it by (`flows.run_county`, `flows.scheduled_run`). Aliasing
    # `sys.modules["flows"]` to `__main__` at the end of the file would define them once too, but
    # as `__main__`'s, which those processes do not import by that name.
    if sys.argv[1:2] in (["run"], ["province"]):
        # The CLI says one safe line per failure; Prefect's console tracebacks (library messages may
        # quote data values) stay in the flow-run log only (`prefect flow-run logs <id>`).
        os.environ.setdefault("PREFECT_LOGGING_HANDLERS_CONSOLE_LEVEL", "CRITICAL")
    import cli

    sys.exit(cli.main())

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")
# The first run on a fresh machine migrates Prefect's SQLite database before the temporary API
# answers (~25 s here, more on a busy machine); Prefect's default wait is 20 s.
os.environ.setdefault("PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS", "180")
# polars sets its allocator (jemalloc) to hand freed memory back to the system after 0.5 s, and
# the next frame of the same size faults every page in again: linking a city spent 17-26 s of CPU
# in the kernel (5M page faults). This setting, appended to polars' own when polars loads, keeps
# freed memory 30 s for the next frames (city 1x linking: 2.4M faults, 10 s in the kernel; peak
# memory +0.2 GiB; kept for good it was +4 GiB).
os.environ.setdefault("_RJEM_MALLOC_CONF", "dirty_decay_ms:30000,muzzy_decay_ms:0")

import polars as pl  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.artifacts import create_link_artifact, create_markdown_artifact, create_table_artifact  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402
from prefect.utilities.annotations import quote  # noqa: E402
from prefect.task_runners import ProcessPoolTaskRunner, ThreadPoolTaskRunner  # noqa: E402

from adapters import inbox, outputs, warehouse  # noqa: E402
from config import Config, MatchingConfig, load_config, read_text, usable_cpus  # noqa: E402
from matchers.link import census_of, link, link_with_census, measured_completeness, slip_findings  # noqa: E402
from matchers.places import places_not_found, resolve_places  # noqa: E402
from matchers.review import (COLUMNS as QUEUE_COLUMNS, first_queued, listed, period_queue, queue_ages,  # noqa: E402
                             with_first_queued, with_kept)
from pipelines import accounting, calendar, console, feedback, reference, report, rules, township  # noqa: E402
from pipelines.identify import (fits_finding, fits_of_period, leads_with_fits, links_with_fits, shown_on_lists,  # noqa: E402
                                unmatched_fits)
from pipelines.review_answers import (ANSWER_SCHEMA, answered, apply_answers, asked, best_guess, in_folders,  # noqa: E402
                                     known_records, listed_as_roster, spelled_as_records, take_answers)
from pipelines.validate import (  # noqa: E402
    REJECTED_SCHEMA, in_headers, rejected_files, to_person_records, why_set_aside,
)
from pipelines.year_to_date import (RELINK_KEYS, YTD_COLUMNS, changed_since_previous, compared_periods,  # noqa: E402
                                    delivered_again, lead_sums, relink_of_year, relink_records, relinked_review,
                                    settle_years, split_relinked, summed_columns, with_links, with_relink,
                                    year_settlements)
from schemas.inputs import as_written, respelled  # noqa: E402
from schemas.outputs import FEEDBACK_CHOICES, QUALITY_COLUMNS, REJECTED_HEADERS, REVIEW_CHOICES, Finding  # noqa: E402

TIMEZONE = "Asia/Shanghai"



@dataclass(frozen=True)
class RunPaths:
    period_dir: Path
    out: Path          # OUT/YYYY-MM, replaced whole at the end (a scratch folder in a dry run)
    stage: Path        # private staging folder, becomes `out`
    warehouse: Path    # the county warehouse (a scratch copy in a dry run)
    final: Path | None = None  # where OUT/YYYY-MM really is (differs from `out` in a dry run)
    only: tuple[str, ...] = ()  # departments re-read in a partial run; () = all
    scratch: Path | None = None  # dry run: private temporary folder holding `out` and `warehouse`
    real_warehouse: Path | None = None  # dry run: the warehouse a real run would change

    @property
    def work(self) -> Path:
        """Intermediate parquet files passed between tasks (removed before publishing)."""
        return self.stage / "_work"


def _read(path: Path) -> pl.DataFrame | None:
    return pl.read_parquet(path) if path.exists() else None


# ----------------------------------------------------------------------------------------------
# Progress: one line per finished step on stderr, with its elapsed seconds (never any data).

_started: dict = {}
_progress_lock = threading.Lock()


def _step_started(task, task_run, state) -> None:
    with _progress_lock:
        _started[task_run.id] = time.monotonic()


def _step_finished(task, task_run, state) -> None:
    with _progress_lock:
        t0 = _started.pop(task_run.id, None)
    took = f"{time.monotonic() - t0:7.1f}s" if t0 is not None else "      ?s"
    name = task_run.name if task.task_run_name else task.name
    print(f"[{datetime.now():%H:%M:%S}] {took}  {name}{'' if state.is_completed() else '  FAILED'}",
          file=sys.stderr, flush=True)


STEP = dict(cache_policy=NO_CACHE, on_running=[_step_started], on_completion=[_step_finished],
            on_failure=[_step_finished])


# ----------------------------------------------------------------------------------------------
# Tasks


@task(**STEP)
def discover_inputs(paths: RunPaths, cfg: Config) -> list[str]:
    """List the period's files; note repeated files, unknown folders and missing departments."""
    files, problems = accounting.read_in_part(*inbox.discover(paths.period_dir, cfg), paths.only, cfg.reference_folders)
    earlier = late = None
    if Path(paths.warehouse).exists():
        con = warehouse.connect(paths.warehouse)
        try:
            earlier = warehouse.table(con, "deliveries", "period < ?", [paths.period_dir.name])
        finally:
            con.close()
        # answers (反馈, 复核) put into an earlier period's folder after it ran: no run reads them
        answers = [cfg.kinds["feedback"].folder, cfg.kinds["review_answer"].folder]
        ran = sorted(set(earlier["period"].to_list())) if earlier is not None else []
        found = [inbox.answer_files(paths.period_dir.parent / p, cfg, answers).with_columns(period=pl.lit(p))
                 for p in ran]
        if found:
            late = accounting.answers_put_in_late(pl.concat(found), earlier, paths.period_dir.name)
    paths.work.mkdir(parents=True, exist_ok=True)
    files.write_parquet(paths.work / "files.parquet")
    # last month's extract put in again (not read again: `ingest_department`)
    accounting.earlier_copies(files, earlier, list(cfg.departments)).write_parquet(paths.work / "earlier_copies.parquet")
    # (files set aside are listed from their rejected rows, rejected__discover, like unreadable ones)
    accounting.inbox_findings(problems, late, files, paths.only or cfg.departments).write_parquet(
        paths.work / "findings_discover.parquet")
    rejected_files([p for p in problems if p.set_aside]).write_parquet(paths.work / "rejected__discover.parquet")
    return sorted(set(files["dept"].to_list()) if files.height else set())


KEPT_TABLES = ("links", "warnings", "rejected", "superseded", "accounting", "deliveries", "relinked_review", "aside_fits",
               "deaths")


@task(**STEP)
def keep_other_departments(paths: RunPaths, cfg: Config, period: str) -> list[str]:
    """Partial run: the departments not re-read keep this period's stored results — their links,
    warnings, set-aside rows, accounting and deliveries from the warehouse, their review-queue and
    data-quality rows from the period's published county files. Returns those departments."""
    final = paths.final or paths.out
    if not full_run_done(paths.warehouse, period) or not (final / "county").is_dir():
        raise RunError(f"--dept needs a complete earlier run of {period} (warehouse {paths.warehouse} and "
                       f"folder {final}); run the whole period first")
    others = [d for d in cfg.departments if d not in paths.only]
    con = warehouse.connect(paths.warehouse)
    try:
        for name in KEPT_TABLES:
            df = warehouse.table(con, name, "period = ? AND list_contains(?::VARCHAR[], dept)", [period, others])
            if df is not None:
                df.drop("period").write_parquet(paths.work / f"kept_{name}.parquet")
    finally:
        con.close()
    county = final / "county"
    for name, csv, rename in [("review", "人工复核队列.csv", None),
                              ("quality", "数据质量报告.csv", {v: k for k, v in QUALITY_HEADERS.items()})]:
        if (county / csv).exists():
            df = outputs.read_csv(county / csv).filter(pl.col("部门").is_in(others))  # (its cells as before writing)
            (df.rename(rename) if rename else df).write_parquet(paths.work / f"kept_{name}.parquet")
    return others


@task(**STEP, task_run_name="ingest {dept}")
def ingest_department(paths: RunPaths, cfg: Config, dept: str) -> dict:
    """Read, standardise and validate every file of one department folder; the latest delivery of
    each record wins, valid or set aside (`inbox.read_department`). Writes <kind>.parquet, and
    this department's rejected/superseded rows; returns its data rows (those of the files left out
    as copies of another, `copies`, included) for the row accounting."""
    files = pl.read_parquet(paths.work / "files.parquet").filter(pl.col("dept") == dept)
    notes: list[inbox.ReadError] = []
    blanked: list[pl.DataFrame] = []  # (an answer's unreadable cells left empty: told back, `take_feedback`)
    copies = _read(paths.work / "earlier_copies.parquet")
    copies = {} if copies is None else {r["file"]: (r["period"], r["was"]) for r in copies.iter_rows(named=True)}
    aside: list[pl.DataFrame] = []

    def linked(folder: str, months: list[str], keys: pl.Series) -> int:  # (asked of a file dated in earlier months only)
        con = warehouse.connect(paths.warehouse)
        try:
            return warehouse.records_linked(con, folder, months, keys)
        finally:
            con.close()

    copied: dict[str, int] = {}  # (the rows of the files left out as copies: in the row accounting)
    latest, rejected, superseded, rows_read, unread = inbox.read_department(paths.period_dir, files, dept, cfg, notes,
                                                                            blanked, copies, aside, linked, copied)
    if aside and (persons := pl.concat(aside)).height:  # (the roster's persons set aside: `link_records` looks for them)
        persons.write_parquet(paths.work / "roster_aside.parquet")
    for kind, df in latest.items():
        df.write_parquet(paths.work / f"{kind}.parquet")
    if not unread.is_empty():
        unread.write_parquet(paths.work / f"unread_{dept}.parquet")
    rejected.write_parquet(paths.work / f"rejected_{dept}.parquet")
    if blanked:
        pl.concat(blanked).write_parquet(paths.work / f"blanked_{dept}.parquet")
    superseded.write_parquet(paths.work / f"superseded_{dept}.parquet")
    reference.check_extracts(latest, notes, dept, cfg).write_parquet(paths.work / f"findings_{dept}.parquet")
    n_copies = sum(copied.values())
    return {"dept": dept, "rows": rows_read + n_copies, "copies": n_copies, "kinds": sorted(latest)}


@task(**STEP)
def collect_records(paths: RunPaths, cfg: Config, kinds: list[str]) -> None:
    """Every record of the period's extracts that names a person, in one frame (PersonRecord)."""
    extracts = {k: pl.read_parquet(paths.work / f"{k}.parquet") for k in kinds if k not in cfg.REFERENCE_KINDS}
    to_person_records(extracts, cfg.matching.prior_groups).write_parquet(paths.work / "person_records.parquet")


@task(**STEP)
def earlier_settlements(paths: RunPaths, cfg: Config, period: str) -> None:
    """The settlements delivered before this period that its year-to-date sums read (those of the
    calendar years of its settlements' 结算日期, `settle_years`), and of them those this run links
    again against its roster (`to_relink`: their person's roster row is gone or changed since, or
    they were not linked and may be a person new or changed since), as PersonRecord rows with the
    `period` that delivered them; the persons changed since the previous period; and the roster's
    digests, stored with the period for later runs to compare with (`warehouse.roster_digests`)."""
    roster = pl.read_parquet(paths.work / "roster.parquet")
    digests = warehouse.roster_digests(roster)  # (stored, and compared below: worked out once)
    digests.write_parquet(paths.work / "roster_persons.parquet")
    current = _read(paths.work / "med_settlement.parquet")
    if current is None:
        return
    ytd = paths.work / "ytd_earlier.parquet"  # (those delivered again now are left out by `year_to_date`)
    con = warehouse.connect(paths.warehouse)
    try:
        n = warehouse.write_year_to_date_settlements(con, period, settle_years(current, period),
                                                     [*YTD_COLUMNS, *RELINK_KEYS], ytd)
        previous = warehouse.previous_period(con, period)
        changed = warehouse.roster_changes(con, roster, compared_periods(pl.scan_parquet(ytd) if n else None, previous),
                                           digests)
    finally:
        con.close()
    changed_since_previous(changed, previous).write_parquet(paths.work / "changed_now.parquet")
    if not n:
        return
    again_now = delivered_again(pl.scan_parquet(ytd), current)
    again_now.to_frame().write_parquet(paths.work / "ytd_again.parquet")
    again = relink_of_year(pl.scan_parquet(ytd), n, again_now, changed, roster)
    if again.height:  # linked as delivered: every column (the place hints, ...)
        con = warehouse.connect(paths.warehouse)
        try:
            again = warehouse.settlement_rows(con, again.select("record_id", "period"))
        finally:
            con.close()
        relink_records(again, cfg.matching.prior_groups).write_parquet(paths.work / "relink_records.parquet")


@task(**STEP)
def link_records(paths: RunPaths, cfg: Config, kinds: list[str]) -> dict:
    """Link every person-level record to the roster, weighing the analysts' answers in effect
    (`take_review_answers`); resolve water work orders to places. The earlier settlements this
    run links again (`earlier_settlements`) are linked with the period's records (against the
    same roster and 参保名单) and kept apart (`links_relinked.parquet`); their candidates join
    the review queue."""
    roster = pl.read_parquet(paths.work / "roster.parquet")
    records = pl.read_parquet(paths.work / "person_records.parquet")
    relink = _read(paths.work / "relink_records.parquet")
    linking = with_relink(records, relink)
    decided = _read(paths.work / "review_decided.parquet")
    # The 参保名单 is the census other kinds are linked against (`link._census`): a partial run
    # that does not re-read it links with the period's stored one and keeps that one's links.
    census = census_of(records, cfg.matching)
    borrowed = census.is_empty() and paths.only
    if borrowed:
        census = stored_census(paths, records.clear())
    census.write_parquet(paths.work / "census_records.parquet")
    matching = measure_census(paths, cfg, records, census, roster, borrowed)
    links, candidates = (link_with_census(linking, census, roster, matching, decided) if borrowed
                         else link(linking, roster, matching, decided))
    if decided is not None:  # (the links cite the answers that made them)
        links, candidates = apply_answers(links, decided, roster, candidates)
    if (aside := _read(paths.work / "roster_aside.parquet")) is not None:
        # records that may be a roster person set aside: said, not linked (`identify.set_aside_fits`);
        # the report and the period stored name the kept departments' too (a partial run)
        fits = unmatched_fits(links, linking, aside, cfg.matching.places)
        fits.write_parquet(paths.work / "aside_fits.parquet")
        told = fits_of_period(fits, _read(paths.work / "kept_aside_fits.parquet"), aside)
        told.write_parquet(paths.work / "aside_fits_period.parquet")
        fits_finding(told, cfg.kinds["roster"].folder).write_parquet(paths.work / "findings_aside.parquet")
        links = links_with_fits(links, fits)
    links, relinked = split_relinked(links, relink)
    if relinked is not None:
        relinked.write_parquet(paths.work / "links_relinked.parquet")
    links.write_parquet(paths.work / "links_person.parquet")
    candidates.write_parquet(paths.work / "candidates.parquet")
    slip_findings(records, matching).write_parquet(paths.work / "findings_ids.parquet")
    reference.check_roster(roster, cfg.matching.head_relations, cfg.kinds["roster"].fields,
                           _read(paths.work / f"rejected_{cfg.kinds['roster'].folder}.parquet"),
                           cfg.matching.places).write_parquet(paths.work / "findings_roster.parquet")
    if "water" in kinds:
        water = pl.read_parquet(paths.work / "water.parquet")
        resolved = resolve_places(water, roster, cfg.matching.whole_village_groups, cfg.matching.places)
        resolved.write_parquet(paths.work / "water_places.parquet")
        places_not_found(water, resolved, calendar.period_end(paths.period_dir.name)).write_parquet(paths.work / "findings_places.parquet")
    return {k: int(v) for k, v in links.group_by("decision").len().iter_rows()}


def measure_census(paths: RunPaths, cfg: Config, records: pl.DataFrame, census: pl.DataFrame, roster: pl.DataFrame,
                   borrowed: bool) -> MatchingConfig:
    """The matching config with the 参保名单's measured completeness (`link.measured_completeness`),
    reported in the data-quality file. A partial run without 医保 measures it again on the
    period's stored settlements and census, as its full run did."""
    if cfg.matching.census_completeness != "measured" or census.is_empty():
        return cfg.matching
    insured = records
    if borrowed:
        con = warehouse.connect(paths.warehouse)
        try:
            stored = warehouse.table(con, "settlements", "period = ?", [paths.period_dir.name])
        finally:
            con.close()
        insured = insured if stored is None else stored
    matching, finding = measured_completeness(insured, census, roster, cfg.matching)
    if not borrowed:  # a partial run keeps the full run's line (its data-quality rows of 医保)
        finding.write_parquet(paths.work / "findings_census.parquet")
    return matching


def stored_census(paths: RunPaths, empty: pl.DataFrame) -> pl.DataFrame:
    """The census records stored by the period's full run, as the columns of `empty` (no rows
    if it stored none; a column an older version did not store is null)."""
    con = warehouse.connect(paths.warehouse)
    try:
        df = warehouse.table(con, "census_records", "period = ?", [paths.period_dir.name])
    finally:
        con.close()
    if df is None:
        return empty
    return df.select([pl.col(c) if c in df.columns else pl.lit(None).alias(c) for c in empty.columns]).cast(empty.schema)


@task(**STEP)
def take_review_answers(paths: RunPaths, cfg: Config, period: str) -> dict:
    """The county's answers to its review queue (复核/): check the rows returned this period,
    then work out every answer received up to this period (`answers_in_effect`) for linking to
    weigh (a record answered 是 is that person's, a person answered 否 is not the record's).
    Writes the answers in effect (linking, the year's earlier settlements) and the accepted new
    ones (stored)."""
    work, folder = paths.work, cfg.kinds["review_answer"].folder
    shown = pl.read_parquet(work / "person_records.parquet").select("dept", "kind", "record_id", "id_raw")
    returned, known = _read(work / "review_answer.parquet"), None
    con = warehouse.connect(paths.warehouse)
    try:
        earlier = warehouse.table(con, "review_answers", "period < ?", [period])
        before = warehouse.table(con, "review_answers", "period = ?", [period])  # as the period's last run took them
        if returned is not None:
            returned = in_folders(returned, cfg)
            known = known_records(shown, warehouse.records_seen(con, period, asked(returned)))
        returned = spelled_as_records(returned, known)
        earlier, before = spelled_as_records(earlier, shown), spelled_as_records(before, shown)
        records = answered(returned, earlier, before)  # (the candidates the queues listed for them)
        queued = None if records is None else warehouse.queue_listed(con, period, records)
    finally:
        con.close()
    roster = pl.read_parquet(work / "roster.parquet")
    if queued is not None:
        queued = listed_as_roster(queued, roster)
        queued.write_parquet(work / "review_listed.parquet")
    counts, refused, new, decided, finding = take_answers(
        returned, _read(work / f"rejected_{folder}.parquet"), roster, shown, known,
        earlier, before, pl.read_parquet(work / "files.parquet").filter(pl.col("dept") == folder)["file"].to_list(),
        period, cfg, list(paths.only or cfg.departments), bool(paths.only), queued)
    if refused is not None:
        refused.write_parquet(work / f"rejected_{folder}_answers.parquet")
    if new.height:
        new.drop("period").cast(ANSWER_SCHEMA).write_parquet(work / "review_answers_new.parquet")
    if decided is not None:
        decided.write_parquet(work / "review_decided.parquet")
    if finding is not None:
        finding.write_parquet(work / "findings_review.parquet")
    return counts


@task(**STEP)
def year_to_date(paths: RunPaths, cfg: Config, period: str) -> None:
    """This period's settlements with their links, plus the earlier ones of their calendar years
    (`earlier_settlements`) but those delivered again now however spelled (`ytd_again.parquet`),
    those linked again by this run with their new links (`merge`), all with the review answers
    received since they were stored (`year_settlements`)."""
    current = _read(paths.work / "med_settlement.parquet")
    if current is None:
        return
    current = with_links(current, pl.scan_parquet(paths.work / "links_person.parquet"))
    current.write_parquet(paths.work / "settlements_linked.parquet")  # (stored)
    current = summed_columns(current)
    earlier = paths.work / "ytd_earlier.parquet"
    # (the links relinked read into the call alone: it lets go of them once merged)
    ytd = year_settlements(
        current, pl.scan_parquet(earlier) if earlier.exists() else None, _read(paths.work / "ytd_again.parquet"),
        _read(paths.work / "links_relinked.parquet"), _read(paths.work / "review_decided.parquet"),
        _read(paths.work / "changed_now.parquet"), pl.scan_parquet(paths.work / "roster.parquet"),
        _read(paths.work / "review_listed.parquet"), period, rules.lead_floor(cfg), cfg.matching.answer_max_id_differences,
        lambda left_out: lead_sums(earlier, left_out, int(period[:4]), cfg.run.year_sum_memory, paths.work / "spill"))
    ytd.write_parquet(paths.work / "ytd_settlements.parquet")


@task(**STEP)
def take_feedback(paths: RunPaths, cfg: Config, period: str, as_of: date) -> dict:
    """Returned township lists (反馈/): check each answer against the warnings issued before this
    period, keep every accepted answer, and work out every earlier warning's status."""
    con = warehouse.connect(paths.warehouse)
    try:
        earlier_rows = warehouse.table(con, "township_rows", "period < ?", [period])
        rows_before = warehouse.table(con, "township_rows", "period = ?", [period])  # a re-run: what went out
        earlier_answers = warehouse.table(con, "feedback_answers", "period < ?", [period])
        later_answers = warehouse.table(con, "feedback_answers", "period > ?", [period])  # a re-run: taken since
        taken_before = warehouse.table(con, "feedback_answers", "period = ?", [period])  # a re-run: the rules they verified
        previous_status = warehouse.status_before(con, period)
        status_sent = warehouse.table(con, "warning_status", "period = ?", [period])  # a re-run: what it sent
        first_out = warehouse.first_issue_dates(con)
    finally:
        con.close()
    roster = pl.read_parquet(paths.work / "roster.parquet", columns=["township", "household_id"])
    if earlier_rows is not None:  # (a roster re-saved in Excel, 1023 for 0001023: the same households, as spelled now)
        earlier_rows = respelled(earlier_rows, "户编号", roster.select("household_id"))
    issued = feedback.issued_from_rows(earlier_rows) if earlier_rows is not None else None
    folder = cfg.kinds["feedback"].folder
    returned = _read(paths.work / "feedback.parquet")
    if returned is not None and returned.height and issued is None:  # (a first run with 反馈/ in its inbox)
        issued = feedback.issued_from_rows(None)
    counts, accepted, refused, told, findings = feedback.take_returns(
        returned, _read(paths.work / f"rejected_{folder}.parquet"), issued, as_of, period, cfg,
        pl.read_parquet(paths.work / "files.parquet").filter(pl.col("dept") == folder),
        townships=roster["township"].unique(),
        first_out=first_out, blanked=_read(paths.work / f"blanked_{folder}.parquet"), taken_before=taken_before,
        earlier_rows=earlier_rows,  # (a copy of a row a re-run sent again since: the rules that row showed)
        earlier_answers=earlier_answers)  # (an answer sent again, however re-saved: not taken again)
    if accepted is not None:
        findings.write_parquet(paths.work / "findings_disagreements.parquet")
        refused.write_parquet(paths.work / f"rejected_{folder}_answers.parquet")
        told.write_parquet(paths.work / "feedback_returned.parquet")  # (told back to the townships)
    answers = accounting.together([earlier_answers, accepted]) if (earlier_answers is not None or accepted is not None) else None
    if answers is not None:
        answers.write_parquet(paths.work / "answers_all.parquet")
    if accepted is not None:
        accepted.write_parquet(paths.work / "answers_new.parquet")
    if issued is not None:
        issued.write_parquet(paths.work / "issued_earlier.parquet")
        if earlier_rows is not None:  # (a first run with 反馈/ in its inbox: nothing was issued before)
            earlier_rows.write_parquet(paths.work / "township_rows_earlier.parquet")
        feedback.warning_status(issued, answers, as_of).write_parquet(paths.work / "status_earlier.parquet")
    if previous_status is not None:
        previous_status.write_parquet(paths.work / "status_previous.parquet")
        if earlier_answers is not None:  # (what it read: which of its reopened warnings an earlier 派单 sent 属实)
            earlier_answers.write_parquet(paths.work / "answers_earlier.parquet")
    if status_sent is not None and status_sent.height:  # (of its 属实, those the period's published 派单 sent)
        feedback.sent_before(status_sent, _dispatched_before(paths.final or paths.out, period)).write_parquet(
            paths.work / "status_sent_before.parquet")
    if rows_before is not None:
        rows_before.drop("period").write_parquet(paths.work / "township_rows_before.parquet")
    if later_answers is not None:
        later_answers.write_parquet(paths.work / "answers_later.parquet")
    return counts


def _dispatched_before(final: Path, period: str) -> pl.Series:
    """The 预警编号 the period's published 派单 files (`final`: its OUT folder) sent (派单动作 派单)."""
    files = sorted((Path(final) / "county" / "派单").glob(f"派单_*_{period}.csv"))
    return feedback.dispatched_of([pl.read_csv(f, infer_schema=False) for f in files])


@task(**STEP)
def issue_warnings(paths: RunPaths, cfg: Config, period: str, kinds: list[str]) -> dict:
    """Apply every configured rule; one warning per household (or lead) and risk type. The persons
    earlier warnings of per-person rules named are looked for on this period's roster (a member
    split off into a new household: `warehouse.persons_now`), for the repeats and the carry-over."""
    roster = pl.read_parquet(paths.work / "roster.parquet")
    extracts = {k: pl.read_parquet(paths.work / f"{k}.parquet") for k in kinds if k not in cfg.REFERENCE_KINDS}
    links = pl.read_parquet(paths.work / "links_person.parquet")
    status = _read(paths.work / "status_earlier.parquet")
    persons_now, skipped = None, None
    con = warehouse.connect(paths.warehouse)
    try:
        secret = warehouse.warning_key(con)  # (the 预警编号 of a household numbered by an ID and of a lead: `rules.keyed_suffix`)
        history = warehouse.table(con, "warnings", "period < ?", [period])
        issued = warehouse.table(con, "warnings", "period = ?", [period])  # (a re-run: the 预警编号 its lists sent)
        died_before = warehouse.table(con, "deaths", "period < ?", [period])  # (民政's 死亡注销 of earlier periods)
        if history is not None:
            history = rules.spelled_now(history, roster, secret)  # (a roster re-saved in Excel: the same households)
            history.drop("_suffix").write_parquet(paths.work / "warnings_earlier.parquet")
            history = rules.with_status(history, status)
            # (a warning a re-run took back after a township answered it: no longer stored, still verified)
            history = rules.with_withdrawn(history, _read(paths.work / "township_rows_earlier.parquet"), status)
            persons_now, skipped = warehouse.persons_now(con, period, roster, rules.persons_to_recognise(history, period, cfg),
                                                         cfg.run.split_search_max_pairs)
            persons_now.write_parquet(paths.work / "persons_now.parquet")
    finally:
        con.close()
    candidates = pl.read_parquet(paths.work / "candidates.parquet")
    # the persons a 参保名单 row set aside shows are on the list, as a record's candidates are (M4)
    unread = [pl.read_parquet(f) for f in sorted(paths.work.glob("unread_*.parquet"))]
    shown = shown_on_lists(candidates, pl.concat(unread) if unread else None, extracts, roster,
                           cfg.matching.min_kept_for_id_block)
    # (where M4 calls no one absent: decided once, over the whole roster, for the rules, the report and the queue)
    held = rules.absence_holds(extracts, links, roster, cfg, period, candidates=shown)
    # the persons 民政 reported dead, this period (a partial run: as its earlier run stored them) and before
    died = accounting.together([rules.deaths(extracts.get("civil"), links, cfg),
                                _read(paths.work / "kept_deaths.parquet")], rules.DEATHS)
    died.write_parquet(paths.work / "deaths.parquet")
    dead = rules.known_dead(died, died_before, roster, period)
    signals = rules.run_rules(
        extracts, links, roster, cfg, period,
        ytd_settlements=(ytd := _read(paths.work / "ytd_settlements.parquet")),
        water_places=_read(paths.work / "water_places.parquet"),
        candidates=shown, held=held, deceased=dead,
    )
    signals, not_sent = rules.for_the_living(signals, dead, cfg, period)
    delivered = set(pl.read_parquet(paths.work / "files.parquet")["dept"].to_list())
    rejected = accounting.together([pl.read_parquet(f) for f in sorted(paths.work.glob("rejected_*.parquet"))], REJECTED_SCHEMA)
    notes = rules.held_back(extracts, links, roster, cfg, period, candidates=shown, delivered=delivered, held=held,
                            rejected=rejected)
    notes += rules.death_notes(not_sent, period)
    rules.review_impact(extracts, links, roster, cfg, period, signals, best_guess(candidates),
                        ytd_settlements=ytd, candidates=shown, held=held,
                        history=history, persons_now=persons_now,
                        secret=secret, deceased=dead).write_parquet(
        paths.work / "review_impact.parquet")
    rules.held_back_findings(notes, skipped, cfg).write_parquet(paths.work / "findings_rules.parquet")
    warnings, suppressed = rules.assign_warnings(signals, roster, period, history, cfg, persons_now, secret,
                                                 None if issued is None else issued["warning_id"])
    # partial run: the other departments' warnings, and those whose household the roster no longer holds
    warnings, gone = rules.with_kept(warnings, _read(paths.work / "kept_warnings.parquet"), roster,
                                     cfg.kinds["roster"].folder)
    if gone is not None:
        gone.write_parquet(paths.work / "findings_kept.parquet")
    if (fits := _read(paths.work / "aside_fits.parquet")) is not None:  # (a lead that may be a roster row set aside says so)
        warnings = leads_with_fits(warnings, fits, cfg.matching.places)
    warnings.write_parquet(paths.work / "warnings.parquet")
    suppressed.write_parquet(paths.work / "suppressed.parquet")
    return {"warnings": warnings.height, "suppressed": suppressed.height}


@task(**STEP)
def settle_accounts(paths: RunPaths, cfg: Config, depts: list[str], ingested: list[dict]) -> pl.DataFrame:
    """links.parquet (one row per department record, rejected rows included) and the proof that
    every row read is accounted for."""
    links, rejected, superseded, table = accounting.settle(
        _read(paths.work / "links_person.parquet"), _read(paths.work / "water_places.parquet"),
        accounting.together([pl.read_parquet(f) for f in sorted(paths.work.glob("rejected_*.parquet"))], REJECTED_SCHEMA),
        accounting.together([pl.read_parquet(f) for f in sorted(paths.work.glob("superseded_*.parquet"))]),
        pl.DataFrame(ingested), depts, cfg.departments,
        # partial run: the other departments' stored rows complete the period
        kept={name: _read(paths.work / f"kept_{name}.parquet") for name in ("links", "rejected", "superseded", "accounting")})
    links.write_parquet(paths.work / "links.parquet")
    rejected.write_parquet(paths.work / "rejected.parquet")
    superseded.write_parquet(paths.work / "superseded.parquet")
    table.write_parquet(paths.work / "accounting.parquet")
    return table


def period_frames(paths: RunPaths) -> dict[str, pl.DataFrame]:
    """The period's rows of every warehouse table, as this run made them (`warehouse.replace_period`'s frames)."""
    frames = {
        "deliveries": accounting.together([pl.read_parquet(paths.work / "files.parquet"), _read(paths.work / "kept_deliveries.parquet")]),
        "links": pl.read_parquet(paths.work / "links.parquet"),
        "warnings": pl.read_parquet(paths.work / "warnings.parquet"),
        "rejected": pl.read_parquet(paths.work / "rejected.parquet"),
        "superseded": pl.read_parquet(paths.work / "superseded.parquet"),
        "accounting": pl.read_parquet(paths.work / "accounting.parquet"),
    }
    frames["relinked_review"] = relinked_review(accounting.together(
        [_read(paths.work / f) for f in ("links_relinked.parquet", "kept_relinked_review.parquet")]))
    for table, name in [("settlements", "settlements_linked"), ("census_records", "census_records"),
                        ("roster_persons", "roster_persons"), ("deaths", "deaths"),
                        ("township_rows", "township_rows"),
                        ("feedback_answers", "answers_new"), ("warning_status", "status_all"),
                        ("review_answers", "review_answers_new"), ("aside_fits", "aside_fits_period")]:
        df = _read(paths.work / f"{name}.parquet")
        if df is not None:
            frames[table] = df
        elif table in ("feedback_answers", "review_answers", "aside_fits"):  # none now: a re-run without the file forgets them
            frames[table] = pl.DataFrame()
    return frames


@task(**STEP)
def prepare_lists(paths: RunPaths, cfg: Config, period: str, issue_date: date, sent_on: date) -> dict:
    """Township rows (still-open earlier warnings first, each in the township its household lives
    in now, or its persons when all were split off into one new household, then this period's,
    then those a re-run moved to another township's list, 迁出, and those it takes back), the
    warnings that moved (a data-quality finding), the status of every warning ever issued and
    every answer taken up to the period (`feedback.answer_history`; a later period's answers are
    that period's). A re-run dates the warnings its period's list did not hold before `sent_on`.
    Returns the verification deadline of this period's warnings, how many were first sent now and
    how many taken back."""
    work = paths.work
    warnings = pl.read_parquet(work / "warnings.parquet")
    before = _read(work / "township_rows_before.parquet")
    deadline, sent_deadline, cal_note = calendar.deadlines(issue_date, sent_on, before is not None, cfg.run)
    if cal_note:
        pl.DataFrame([dict(category=Finding.CALENDAR, dept=None, file=None, detail=cal_note, count=1)],
                     schema=QUALITY_COLUMNS).write_parquet(work / "findings_calendar.parquet")
    roster = pl.read_parquet(work / "roster.parquet")
    # (its 户编号 as the roster writes them, for the lists here and the report in `publish`)
    folder = cfg.kinds["grid"].folder
    files = pl.read_parquet(work / "files.parquet")
    delivered, aside = reference.grid_deliveries(files,
                                                 _read(work / "rejected__discover.parquet"),
                                                 _read(work / f"rejected_{folder}.parquet"), folder)
    grid, found = reference.check_grid(_read(work / "grid.parquet"), roster, cfg.kinds["grid"].fields,
                                       folder, cfg.matching.places, delivered,
                                       None if aside is None else in_headers(aside, cfg.kinds))
    if grid is not None:
        grid.write_parquet(work / "grid.parquet")
    found.write_parquet(work / "findings_grid.parquet")
    answers = _read(work / "answers_all.parquet")
    later = _read(work / "answers_later.parquet")  # (a re-run: the answers later periods took in since)
    new = feedback.first_sent(township.township_rows(warnings, roster, grid, issue_date, deadline,
                                                   cfg.matching.head_relations),
                              before, sent_on, sent_deadline, accounting.together([answers, later]))
    persons = rules.persons_followed(_read(work / "warnings_earlier.parquet"), _read(work / "persons_now.parquet"), cfg)
    earlier = _read(work / "township_rows_earlier.parquet")
    rows, moved, status, withdrawn, again, dropped = feedback.list_rows(
        new, before, earlier, _read(work / "status_earlier.parquet"), answers, later, roster, grid, persons, period,
        issue_date)
    rows.write_parquet(work / "township_rows.parquet")
    # (a 属实 a re-run's new rule reopened, before the answer came or after, is dispatched for the rules
    # it verified: `publish`. The 派单 compares the period's status, which reads this period's answers
    # and earlier ones: the warnings it reopened are those of these answers. A later period's 属实 is that period's to send, and to keep sent when the
    # cascade re-runs it: `again`, of every answer, is what the lists and the report say)
    issued = feedback.issued_from_rows(accounting.together([earlier, rows.with_columns(period=pl.lit(period))]))
    feedback.reissued(issued, answers).write_parquet(work / "reissued.parquet")
    # (the county's 核实台账: every answer taken up to this period, deciding as `status` does)
    feedback.answer_history(answers, issued).write_parquet(work / "answer_history.parquet")
    moved.write_parquet(work / "findings_moved.parquet")
    # (sent again after an answer, later periods' too, or before any: named apart, as the rows say)
    # (and those it took a rule off, before any answer: their rows say so)
    feedback.rerun_changes(new, withdrawn, before, issue_date, again, dropped).write_parquet(work / "findings_rerun.parquet")
    if before is not None:  # a re-run: the files and records read again, against the period's last run
        read = [d for d in cfg.departments if d in (paths.only or cfg.departments)]
        con = warehouse.connect(paths.warehouse)
        try:
            stored = warehouse.table(con, "deliveries", "period = ?", [period])
            records = con.sql("SELECT dept, record_id FROM links WHERE period = ? AND list_contains(?::VARCHAR[], dept)",
                              params=[period, read]).pl()
        finally:
            con.close()
        accounting.changed_since_last_run(files, stored, pl.read_parquet(work / "links.parquet", columns=["dept", "record_id"]),
                                          records, read).write_parquet(work / "findings_since.parquet")
    status.write_parquet(work / "status_all.parquet")
    now, taken_back = feedback.withdrawn_count(withdrawn, before)
    return {"deadline": deadline.isoformat(), "sent_now": feedback.sent_now(new, before, issue_date),
            "sent_again": feedback.sent_again(new, before, issue_date), "rule_dropped": dropped.height,
            "sent_on": sent_on.isoformat(), "withdrawn": now, "withdrawn_all": taken_back}


@task(**STEP)
def publish(paths: RunPaths, cfg: Config, period: str, issue_date: date, deadline: str, run_id: str) -> dict:
    """Store the period in the warehouse, write township lists and county files into the staging
    folder, then swap it in whole. The warehouse's transaction stays open until the folder is in
    place (the files read the period as stored): a run failing while it writes or swaps them in
    leaves the warehouse as the period's published files show it, not holding lists no township
    was sent. The transaction records that run `run_id` stored the period (`warehouse.mark_stored`),
    and the folder replaced (or a mark that there was none) waits beside the new one, named after
    the run, until it commits: after a kill between the swap and the commit, `recover_interrupted`
    puts it back (`outputs.recover`)."""
    con = warehouse.connect(paths.warehouse)
    aside = None
    try:
        with warehouse.replacing_period(con, period, period_frames(paths)):
            result = _write_outputs(paths, cfg, period, issue_date, deadline, con)
            warehouse.mark_stored(con, run_id)
            aside = outputs.swap_in(paths.stage, paths.out, run_id)
    except BaseException:
        if aside is not None:
            outputs.swap_back(paths.out, aside)
        raise
    finally:
        con.close()
    outputs.drop_replaced(aside)
    return result


def _write_outputs(paths: RunPaths, cfg: Config, period: str, issue_date: date, deadline: str,
                   con) -> dict:
    """`publish`'s files, into the staging folder (`con`: the warehouse, the period stored)."""
    work, stage = paths.work, paths.stage
    warnings = pl.read_parquet(work / "warnings.parquet")
    roster = pl.read_parquet(work / "roster.parquet")
    grid = _read(work / "grid.parquet")
    rows = pl.read_parquet(work / "township_rows.parquet")
    status = pl.read_parquet(work / "status_all.parquet")
    folder = cfg.kinds["feedback"].folder
    returned = feedback.told_back(_read(work / "feedback_returned.parquet"), _read(work / f"rejected_{folder}.parquet"),
                                  _read(work / "rejected__discover.parquet"), _read(work / f"findings_{folder}.parquet"),
                                  cfg, _read(work / "issued_earlier.parquet"), roster["township"].unique())
    created = datetime.combine(issue_date, datetime.min.time())
    queue = period_queue(pl.read_parquet(work / "candidates.parquet"),
                         accounting.together([pl.read_parquet(work / "person_records.parquet"),
                                              _read(work / "relink_records.parquet")]),
                         pl.read_parquet(work / "links_person.parquet"), roster, cfg.matching,
                         pl.read_parquet(work / "review_impact.parquet"))
    queue = with_kept(queue, _read(work / "kept_review.parquet"))  # partial run: the other departments' rows
    warehouse.store_rows(con, "review_queue", period, listed(queue))  # (what answers' 人编号 are copied from)
    # when each record was first sent to review, from the links stored (this period's just now)
    queued = queue.select(dept=QUEUE_COLUMNS["dept"], record_id=QUEUE_COLUMNS["record_id"])
    history = warehouse.review_history(con, period, queued)
    queue = with_first_queued(queue, first_queued(queued, history, period))
    ages = queue_ages(queue, period)
    # the queue's workbook is written beside the townships' (a city's holds ~300,000 rows)
    queue_sheets = outputs.split_sheets("人工复核队列", queue)
    workbooks = [(queue_sheets, stage / "county" / "人工复核队列.xlsx")]
    towns = []
    rows = feedback.as_sent(rows, reference.shared_notes(roster, cfg.matching.head_relations), roster["id_number"])
    for town, (sheet, sheets) in feedback.list_sheets(rows).items():
        name = outputs.file_name(town)
        outputs.write_csv(sheet, stage / "townships" / name / f"{name}_{period}_预警清单.csv")
        workbooks.append((sheets, stage / "townships" / name / f"{name}_{period}_预警清单.xlsx"))
        towns.append(town)
    county = stage / "county"
    for town, df in returned.items():  # (townships/ holds townships: a row none can be told of is the county's)
        name = outputs.file_name(town)
        outputs.write_csv(df, county / f"反馈退回_未能确定乡镇_{period}.csv" if town == feedback.UNKNOWN_TOWNSHIP
                          else stage / "townships" / name / f"{name}_{period}_反馈退回.csv")

    outputs.write_csv(township.county_summary(warnings), county / "县级汇总_乡镇x风险类型.csv")
    outputs.write_csv(queue, county / "人工复核队列.csv")
    outputs.write_csv(township.unplaced_leads(warnings), county / "无法落位的新增线索.csv")
    rejected = in_headers(pl.read_parquet(work / "rejected.parquet"), cfg.kinds)  # (fields as the extracts head them)
    outputs.write_csv(rejected.rename(REJECTED_HEADERS), county / "搁置行及原因.csv")
    # (a partial run keeps the published findings of the departments it did not re-read)
    quality = accounting.county_quality(
        accounting.together([pl.read_parquet(f) for f in sorted(work.glob("findings_*.parquet"))], QUALITY_COLUMNS),
        rejected, pl.read_parquet(work / "superseded.parquet"), grid, roster, cfg.run.max_grid_households,
        others=[d for d in cfg.departments if d not in (paths.only or cfg.departments)],
        kept=_read(work / "kept_quality.parquet"))
    outputs.write_csv(quality.rename(QUALITY_HEADERS), county / "数据质量报告.csv")
    acc = pl.read_parquet(work / "accounting.parquet")
    outputs.write_csv(acc, county / "行数核对_accounting.csv")
    # (what each department delivered, said once for the console, the report and the queue's workbook)
    delivery = accounting.delivery_states(acc, quality, cfg.departments,
                                          {d: [k.name for k in cfg.kinds_in(d)] for d in cfg.departments},
                                          pl.read_parquet(work / "links.parquet", columns=["dept", "kind", "decision", "reason"]))
    inputs = report.report_inputs(con, period)
    # the county's workbook carries the report's department table too (the same frame), on a sheet
    # named as a summary (`[inbox] summary_sheets`): the queue returned answered into 复核/ is read
    # without it being set aside as a table without a header
    queue_sheets["行数核对汇总"] = report.accounting_sheet(inputs["accounting"], cfg.departments, delivery)
    outputs.write_xlsx_many(workbooks, created, choices=FEEDBACK_CHOICES | REVIEW_CHOICES)
    summary, overdue = feedback.overdue_by_township(status, roster["id_number"])
    outputs.write_csv(summary, county / "核实进度_乡镇.csv")
    outputs.write_csv(overdue, county / "逾期未核实清单.csv")
    answered = pl.read_parquet(work / "answer_history.parquet")
    outputs.write_csv(feedback.answer_ledger(answered), county / "核实台账.csv")
    all_warnings = accounting.together([_read(work / "warnings_earlier.parquet"), warnings])
    # (a warning a re-run took back after a township found it 属实 is no longer in the warnings:
    # the lists' rows, its 撤回 row too, say what was sent)
    dispatched = feedback.dispatch(feedback.dispatch_changes(status, _read(work / "status_previous.parquet"),
                                                             _read(work / "status_sent_before.parquet"),
                                                             _read(work / "reissued.parquet"),
                                                             _read(work / "answers_earlier.parquet")),
                                   all_warnings, cfg, sent=accounting.together([_read(work / "township_rows_earlier.parquet"), rows]))
    for dept, df in dispatched.items():
        outputs.write_csv(df, county / "派单" / f"派单_{dept}_{period}.csv")

    # (machine-readable too, household_id is the 户编号 as the roster writes it: SPEC §5)
    written = as_written(pl.col("household_id"))
    links = pl.read_parquet(work / "links.parquet")
    outputs.write_parquet(links.select("dept", "record_id", "decision", "person_id", written, "score", "kind", "reason"),
                          stage / "links.parquet")
    outputs.write_parquet(
        warnings.select("warning_id", written, "township", "risk_type", "rule", "severity", "dept",
                        "record_ids", "person_ids", "basis", "signal"),
        stage / "warnings.parquet",
    )
    outputs.write_parquet(status.with_columns(written), stage / "warning_status.parquet")
    outputs.write_parquet(answered, stage / "answer_history.parquet")
    outputs.write_text(report.county_report_html(**inputs, quality=quality, review_queue=ages, delivery=delivery, meta={
        "period": period, "issue_date": issue_date.isoformat(), "deadline": deadline,
        "generated_at": datetime.combine(issue_date, datetime.min.time()).isoformat(),
        "departments": list(cfg.departments),
        "county": roster["county"].drop_nulls().mode().first() if roster["county"].drop_nulls().len() else None,
    }), county / "县级预警报告.html")
    shutil.rmtree(work)
    return {"townships": towns, "attention": console.attention_lines(quality, [cfg.kinds[k].folder for k in ("roster", "grid")],
                                                                  roster["id_number"]),
            "delivery": delivery,
            "review_queue": ages.drop("new").to_dicts()}


QUALITY_HEADERS = {"category": "类别", "dept": "部门", "file": "文件", "detail": "说明", "count": "数量"}


@task(**STEP)
def announce(paths: RunPaths, period: str, table: pl.DataFrame, county: str | None, queue: list[dict]) -> None:
    """Prefect artifacts of the run, for the UI: row accounting per department, warnings per
    township x risk type, the review queue's records new and waiting (`queue`: `publish`'s
    `review_queue`), links to the output folders. Counts and folder names only: no name, ID
    number, phone or 预警编号 ever goes into an artifact."""
    slug = _artifact_slug(county)
    final = paths.final or paths.out
    acc = table.select("dept", pl.col("rows_read").alias("rows_in"), "copies", "superseded", "matched", "review",
                       "unmatched", "rejected", "balanced")
    create_table_artifact(acc.to_dicts(), key=f"{slug}-accounting",
                          description=f"{county or ''} {period}: rows in = copies + superseded + matched + review + unmatched + rejected")
    warnings = pl.read_parquet(final / "warnings.parquet")
    by_town = (warnings.group_by(pl.col("township").fill_null(report.UNPLACED), "risk_type")
               .agg(pl.col("warning_id").n_unique().alias("warnings")).sort("township", "risk_type"))
    create_table_artifact(by_town.to_dicts() or [{"township": None, "risk_type": None, "warnings": 0}],
                          key=f"{slug}-warnings", description=f"{county or ''} {period}: warnings (households) per township x risk type")
    scope = f"partial run, departments re-read: {', '.join(paths.only)}" if paths.only else "full run"
    new, by_first = console.queue_counts(queue, period)
    waiting = (f"| review queue (records) | {new + sum(by_first.values())}: {new} new, {sum(by_first.values())} "
               f"waiting since an earlier period |\n")
    create_markdown_artifact(
        f"## {county or 'county'} {period}\n\n{scope}\n\n"
        f"| | |\n|---|---|\n| warnings issued | {warnings['warning_id'].n_unique()} |\n"
        f"| townships with a list | {warnings['township'].drop_nulls().n_unique()} |\n{waiting}"
        f"| all rows balanced | {bool(table['balanced'].all())} |\n\n"
        f"Outputs: `{final}`\n", key=f"{slug}-summary", description=f"{period} run summary")
    create_link_artifact(final.joinpath("townships").resolve().as_uri(), link_text=f"{period} township lists",
                         key=f"{slug}-townships")
    create_link_artifact(final.joinpath("county").resolve().as_uri(), link_text=f"{period} county files",
                         key=f"{slug}-county-files")


@task(**STEP)
def describe_dry_run(paths: RunPaths) -> list[str]:
    """What a real run would have written (the dry run built it all in a scratch folder)."""
    files = sorted(p for p in paths.out.rglob("*") if p.is_file())
    lines = [f"{paths.final / p.relative_to(paths.out)}  ({p.stat().st_size} bytes)" for p in files]
    # (those holding the period's rows before, which the run deletes, or after it: the scratch copy)
    tables = ", ".join(sorted(warehouse.period_tables(paths.real_warehouse, paths.out.name)
                              | warehouse.period_tables(paths.warehouse, paths.out.name)))
    lines.append(f"{paths.real_warehouse}  (period {paths.out.name} replaced in: {tables})")
    return lines


def _no_roster(paths: RunPaths, kinds: list[str], cfg: Config) -> str | None:
    """Why the period has no usable roster, or None: no roster table read (`kinds`: those the
    ingests read), or none of its persons kept (a file of headers only, every row set aside: the
    run went on, linked no record and warned no roster household, and said nothing of it), with
    why its rows were set aside; or too few of its persons or households usable
    (`reference.roster_unusable`: 969 of 1,052 set aside, and the lists went out on the rest)."""
    folder = cfg.kinds["roster"].folder
    if "roster" in kinds and pl.scan_parquet(paths.work / "roster.parquet").select(pl.len()).collect().item():
        return reference.roster_unusable(
            pl.read_parquet(paths.work / "roster.parquet", columns=["file", "line", "household_id", "relation"]),
            _read(paths.work / f"rejected_{folder}.parquet"), cfg.kinds,
            cfg.matching.head_relations, cfg.run.roster_min_usable_share, str(paths.period_dir))
    why = why_set_aside(_read(paths.work / f"rejected_{folder}.parquet"), cfg.kinds)
    if "roster" in kinds and not why:
        why = f"; {folder} 的文件中没有人员行 its files hold no person"
    return f"no usable roster ({folder}) in {paths.period_dir}: nothing can be linked" + why


def _artifact_slug(county: str | None) -> str:
    """Artifact keys allow lowercase letters, digits and dashes only (e.g. the county code 341302)."""
    return re.sub(r"[^a-z0-9-]+", "-", (county or "").lower()).strip("-") or "county"


# ----------------------------------------------------------------------------------------------
# Flows


@flow(name="monthly-run", task_runner=ThreadPoolTaskRunner(max_workers=usable_cpus()))
def monthly_run(
    inbox_dir: str, period: str, out_dir: str, warehouse_path: str | None = None,
    config_path: str | None = None, overrides: list[str] | None = None, issue_date: str | None = None,
    departments: list[str] | None = None, dry_run: bool = False, county: str | None = None,
) -> dict:
    """One county, one period: inbox -> township warning lists, county files, warehouse.

    `departments`: re-read, link and warn only these (the period must have been run in full
    before; the other departments' results are kept as they were). `dry_run`: do everything in a
    private scratch folder and report what would be written; the warehouse and OUT are untouched.
    `county`: a label (e.g. the county code) for the run's Prefect artifacts."""
    if (bad := check_dates(period, issue_date)) is not None:  # a deployment's parameters come unchecked
        raise RunError(bad)
    cfg = load_config(config_path, overrides or [])
    pl.Config.set_engine_affinity(cfg.run.polars_engine)  # (the process's: a run is the process's work)
    step_cfg = quote(cfg)  # passed to the steps unopened: Prefect would walk its ~3,400 values at each (~0.4 s a run)
    paths = plan_paths(inbox_dir, period, out_dir, warehouse_path, resolve_departments(cfg, departments), dry_run)
    with ExitStack() as kept:  # the warehouse held open for the run's steps (`warehouse.held`)
        kept.enter_context(warehouse.held(paths.warehouse))
        run_id, dates = _begin_run(paths, period, cfg, issue_date, config_path, overrides)
        issued = dates["issued"]
        status, after = "failed", None  # `after`: the step running once the period is stored and published
        try:
            depts = discover_inputs(paths, step_cfg)
            if paths.only:
                keep_other_departments(paths, step_cfg, period)
            # departments are read side by side (polars and DuckDB release the GIL), largest first
            futures = {d: ingest_department.submit(paths, step_cfg, d) for d in largest_first(paths, depts)}
            ingested = [futures[d].result() for d in depts]
            kinds = sorted({k for i in ingested for k in i["kinds"]})
            if (why := _no_roster(paths, kinds, cfg)) is not None:
                raise RunError(why)
            collect_records(paths, step_cfg, kinds)
            reviewed = take_review_answers(paths, step_cfg, period)
            earlier_settlements(paths, step_cfg, period)
            decisions = link_records(paths, step_cfg, kinds)
            year_to_date(paths, step_cfg, period)
            answers = take_feedback(paths, step_cfg, period, issued)
            accounts = settle_accounts.submit(paths, step_cfg, depts, ingested)  # beside the warnings: needs none
            issued_counts = issue_warnings(paths, step_cfg, period, kinds)
            table = accounts.result()
            lists = prepare_lists(paths, step_cfg, period, issued, dates["sent_on"])
            result = publish(paths, step_cfg, period, issued, lists["deadline"], run_id) | lists | {
                "feedback": answers, "review_answers": reviewed, "issue_date": issued.isoformat(),
                "issue_date_kept": dates["kept"], "settings_before": dates["settings_before"],
                "settings_now": dates["settings_now"]}
            if dry_run:
                result["would_write"] = describe_dry_run(paths)
            else:
                after = announce.name
                announce(paths, period, table, county, result["review_queue"])
            status = "ok"
        except BaseException as exc:
            if after is None:
                raise
            status = "ok"  # (its period is out: the run is recorded as what it did)
            if not isinstance(exc, Exception):  # (an interrupt: itself)
                raise
            raise PartlyDone(_failed_after(paths, period, after, exc)) from exc
        finally:
            try:
                kept.close()  # (let go first: `_finish_run` removes a dry run's scratch copy)
            finally:
                _finish_run(paths, run_id, status)
    return {"out": str(paths.final), "period": period, "accounting": table.to_dicts(), "decisions": decisions,
            "departments": list(paths.only), "dry_run": dry_run, **issued_counts, **result}


@flow(name="monthly-scheduled")
def scheduled_run(
    inbox_dir: str, out_dir: str, warehouse_path: str | None = None, config_path: str | None = None,
    overrides: list[str] | None = None, period: str | None = None, issue_date: str | None = None,
    county: str | None = None,
) -> dict:
    """What the monthly schedule starts: the month before the one the run was scheduled in
    (county time; a run started late still works on its own month) unless `period` is given,
    under the warehouse lock (waiting up to `run.busy_wait_minutes` for another run to finish),
    as a `monthly-run` subflow; then, as the CLI does, the later periods already run, which
    depend on it."""
    from prefect.logging import get_run_logger
    from prefect.runtime import flow_run

    due = flow_run.scheduled_start_time
    period = period or previous_period(due.astimezone(ZoneInfo(TIMEZONE)).date() if due else None)
    if (bad := check_dates(period, issue_date)) is not None:
        raise RunError(bad)
    if not (Path(inbox_dir) / period).is_dir():
        raise RunError(f"no period folder {Path(inbox_dir) / period}: the departments' deliveries are not in yet")
    wh = Path(warehouse_path) if warehouse_path else Path(out_dir) / "warehouse.duckdb"
    log = get_run_logger()
    minutes = load_config(config_path, overrides or []).run.busy_wait_minutes
    with warehouse_lock(wh, wait=minutes * 60,
                        on_wait=lambda: log.warning(f"{wh} is in use: trying again in a minute")) as held:
        if not held:
            raise RunError(f"{held} (waited {minutes:g} min)")
        for line in recover_interrupted(Path(out_dir), wh):
            log.warning(f"recovered after an interrupted run: {line}")
        with cascading(wh, period):
            result = monthly_run(inbox_dir, period, out_dir, str(wh), config_path, overrides, issue_date, county=county)
            for later in rerun_later_periods(inbox_dir, out_dir, wh, config_path, overrides, period, county):
                log.warning(later)
        return result


@task(cache_policy=NO_CACHE, task_run_name="county {county[name]}")
def run_county(county: dict, period: str, config_path: str | None, overrides: list[str] | None,
               issue_date: str | None) -> dict:
    """One county of a province run: its own inbox, OUT and warehouse, under its own lock; then,
    as the CLI does, the county's later periods already run, which depend on it."""
    wh = Path(county.get("warehouse") or Path(county["out"]) / "warehouse.duckdb")
    label = str(county.get("code") or county["name"])
    settings = county_settings(county, config_path, overrides)
    with warehouse_lock(wh) as held:
        if not held:
            raise RunError(f"{county['name']}: {held}")
        recover_interrupted(Path(county["out"]), wh)
        with cascading(wh, period):
            result = flow_result(monthly_run.with_options(flow_run_name=f"{_artifact_slug(label)}-{period}")(
                county["inbox"], period, county["out"], str(wh), *settings, issue_date, county=label, return_state=True))
            later = rerun_later_periods(county["inbox"], county["out"], wh, *settings, period, label)
    return {"county": county["name"], "code": county.get("code"), "out": result["out"],
            "balanced": all(r["balanced"] for r in result["accounting"]), "warnings": result["warnings"],
            "townships": len(result["townships"]), "later": later}


@flow(name="province-run", task_runner=ProcessPoolTaskRunner(max_workers=2))
def province_run(counties: list[dict], period: str, config_path: str | None = None,
                 overrides: list[str] | None = None, issue_date: str | None = None) -> list[dict]:
    """Several counties, one period: each county's `monthly-run` subflow is submitted concurrently
    through the flow's task runner, a pool of worker processes (Prefect 3.9 serialises subflows
    started from threads of one process; processes also sidestep the GIL). Across machines:
    `flows.py deploy` on a work pool, docs/OPERATIONS.md.
    `counties`: dicts with name, code, inbox, out (+ optional warehouse, config, set).
    One county's failure does not stop the others; the province run fails at the end if any did.
    A county whose period is done but not what was to follow (`PartlyDone`, e.g. its cascade
    stopped) has not failed: its row holds its line (`error`) and `partly` true. Each county's
    line is said as it is collected (a done one's on stdout with the later periods it ran again, the
    others' on stderr), so that a province run failing at the end still shows what the rest did."""
    futures = [run_county.submit(c, period, config_path, overrides, issue_date) for c in counties]
    results, failed, partly = [], [], []
    for county, fut in zip(counties, futures):
        try:
            r = fut.result()
        except Exception as exc:  # noqa: BLE001 - reported per county, raised below
            (partly if isinstance(exc, PartlyDone) else failed).append(county["name"])
            results.append({"county": county["name"], "code": county.get("code"), "out": county["out"],
                             "balanced": None, "error": safe_error(exc), "partly": isinstance(exc, PartlyDone)})
            print(f"error: {county['name']}: {safe_error(exc)}", file=sys.stderr, flush=True)
            continue
        results.append(r)
        print(f"{r['county']}: {r['warnings']} warnings, {r['townships']} townships, rows balanced {r['balanced']}  "
              f"-> {r['out']}" + "".join(f"\n  {line}" for line in r["later"]), flush=True)
    create_table_artifact(results, key="province-counties", description=f"province run {period}: one row per county")
    if failed:
        raise RunError(f"{len(failed)} of {len(counties)} counties failed: {', '.join(failed)}"
                       + (f"; {len(partly)} partly done: {', '.join(partly)}" if partly else ""))
    return results


# ----------------------------------------------------------------------------------------------
# Helpers of the flows


class RunError(RuntimeError):
    """A problem the user must fix (said in one line, no traceback, no personal data)."""


class PartlyDone(RunError):
    """The period run is stored and published, but what was to follow failed (a step after its
    commit: `monthly_run`; the cascade: `CascadeStopped`): the message says what, what still
    reflects the period as it was and what to run. `run` exits 4 with it; in a province its county
    is partly done, not failed."""


class CascadeStopped(PartlyDone):
    """The cascade stopped at a later period (`rerun_later_periods`): the period run is done; the
    message names the later period, why, what still reflects the period as it was, what to run."""


OWN_ERRORS = {"RunError", "AccountingError"}  # our own one-line messages (by name: raised from `flows` or `__main__`)


def _own_error(exc: BaseException | None) -> bool:
    return exc is not None and bool({c.__name__ for c in type(exc).__mro__} & OWN_ERRORS)


class _OwnErrorsSaidInOneLine(logging.Filter):
    """Prefect logs a run's failure with its traceback. A failure of ours (`OWN_ERRORS`: the
    deliveries not in yet, no usable roster, another run busy) is a problem the user must fix,
    and its line says all: the run logs (what `serve`'s console and `prefect flow-run logs`
    show to the bureau) carry it without the traceback. Other failures keep theirs."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.exc_info and _own_error(record.exc_info[1]):
            record.exc_info, record.exc_text = None, None
        return True


for _runs in ("prefect.flow_runs", "prefect.task_runs"):
    logging.getLogger(_runs).addFilter(_OwnErrorsSaidInOneLine())


def flow_result(state):
    """A flow run's result, from the state a call with `return_state=True` gave; its failure
    raised again carrying `flow_run_id`, for `safe_error` to say where the details are."""
    try:
        return state.result()
    except Exception as exc:
        exc.flow_run_id = str(state.state_details.flow_run_id)
        raise


def safe_error(exc: BaseException) -> str:
    """One line about a failure that is safe to print: our own messages in full; for anything else
    only its type, since library messages may quote data values, and the flow run whose log holds
    the traceback (`prefect flow-run logs <id>`). A file the system refused (a township's list open
    in Excel on the share, a full disk) is named with the system's reason: a path and an error
    number quote no record."""
    if _own_error(exc):  # (a subclass, e.g. CascadeStopped, too)
        return str(exc)
    run = getattr(exc, "flow_run_id", None)
    what = type(exc).__name__
    if isinstance(exc, OSError) and exc.filename is not None:
        what += f": {exc.strerror or ''} {exc.filename}".rstrip()
    return f"{what} (details: {f'prefect flow-run logs {run}' if run else 'the flow run log'})"


def summary_text(result: dict) -> str:
    """The console's summary of a run (`console.summary_lines`); should making it fail, one line
    saying so and where the run's own proof is: a period stored and published does not end
    'failed' (exit 1, or a traceback in a cascade) over its console text."""
    try:
        return "\n".join(console.summary_lines(result))
    except Exception as exc:  # noqa: BLE001 - the run is done; only its summary is missing
        if result.get("dry_run"):
            return f"note: the summary of this dry run could not be made ({type(exc).__name__}); it wrote nothing"
        return (f"note: the summary of {result.get('period')} could not be made ({type(exc).__name__}); the run is "
                f"done: its row accounting is in {result.get('out')}/county/行数核对_accounting.csv")


def county_settings(county: dict, config_path: str | None, overrides: list[str] | None) -> tuple[str | None, list[str]]:
    """A province county's config file and `--set` overrides: its own `config` if it names one,
    else the command's; the command's overrides, then its own `set`."""
    return county.get("config") or config_path, list(overrides or []) + list(county.get("set", []))


def largest_first(paths: RunPaths, depts: list[str]) -> list[str]:
    """Departments by the bytes of their files, largest first (ties in folder order)."""
    size = dict(pl.read_parquet(paths.work / "files.parquet").group_by("dept").agg(pl.col("size").sum()).iter_rows())
    return sorted(depts, key=lambda d: -size.get(d, 0))


def resolve_departments(cfg: Config, names: list[str] | None) -> tuple[str, ...]:
    """Department folder names or English aliases -> canonical folders, in config order.
    () when none or all are named (a full run)."""
    if not names:
        return ()
    chosen = set()
    for name in names:
        canon = cfg.folder_of(name.strip())
        if canon in cfg.reference_folders:
            raise ValueError(f"{name!r} ({canon}) is read by every run, partial or not; --dept names a department: "
                             f"one of {', '.join(cfg.departments)}")
        if canon not in cfg.departments:
            raise ValueError(f"unknown department {name!r}; one of {', '.join(cfg.departments)}")
        chosen.add(canon)
    only = tuple(d for d in cfg.departments if d in chosen)
    return () if len(only) == len(cfg.departments) else only


def plan_paths(inbox_dir: str, period: str, out_dir: str, warehouse_path: str | None,
               only: tuple[str, ...] = (), dry_run: bool = False) -> RunPaths:
    """Where the run reads and writes. A dry run works on a copy of the warehouse in a private
    scratch folder and builds OUT/YYYY-MM there; nothing beside the real ones is touched."""
    final = Path(out_dir) / period
    wh = Path(warehouse_path) if warehouse_path else Path(out_dir) / "warehouse.duckdb"
    if not dry_run:
        return RunPaths(period_dir=Path(inbox_dir) / period, out=final, stage=outputs.new_staging_dir(final),
                        warehouse=wh, final=final, only=only)
    scratch = Path(tempfile.mkdtemp(prefix="fanpin-dry-run-"))  # mode 0700
    copy = scratch / "warehouse.duckdb"
    if wh.exists():
        shutil.copy2(wh, copy)
        if wh.with_name(wh.name + ".wal").exists():
            shutil.copy2(wh.with_name(wh.name + ".wal"), copy.with_name(copy.name + ".wal"))
    out = scratch / "out" / period
    return RunPaths(period_dir=Path(inbox_dir) / period, out=out, stage=outputs.new_staging_dir(out),
                    warehouse=copy, final=final, only=only, scratch=scratch, real_warehouse=wh)


def _begin_run(paths: RunPaths, period: str, cfg: Config, issue_date: str | None, config_path: str | None,
               overrides: list[str] | None) -> tuple[str, dict]:
    """Record the run with its settings (the config file's path and content, the overrides).
    Returns its id and its dates: `issued`, the period's 下发日期 (`issue_date`; else the one the
    period's last run gave its lists, `kept`; else today, county time); `sent_on`, the 下发日期 of
    a warning a re-run publishes first (today, but not before any list already out); and
    `settings_before`, how the period's last full run was set when it differs from `cfg`, and
    `settings_now`, how this run is (said beside it)."""
    con = warehouse.connect(paths.warehouse)
    try:
        before = warehouse.last_run(con, period)
        full = warehouse.last_run(con, period, full=True)
        latest = warehouse.latest_issue_date(con)
        kept = issue_date is None and before is not None and before["issue_date"] is not None
        issued = date.fromisoformat(issue_date) if issue_date else before["issue_date"] if kept else county_today()
        text = read_text(config_path) if config_path else None  # (as load_config read it: GB18030, a BOM)
        run_id = warehouse.begin_run(con, period, cfg.fingerprint, issued,
                                     str(Path(config_path).resolve()) if config_path else None, text, overrides,
                                     _scope(paths))
    finally:
        con.close()
    changed = full is not None and full["config_sha256"] != cfg.fingerprint
    return run_id, {"issued": issued, "kept": kept, "sent_on": max(d for d in (county_today(), latest, issued) if d),
                    "settings_before": console.describe_settings(full) if changed else None,
                    "settings_now": console.describe_settings({"config_path": config_path, "overrides": overrides or []})}


def _scope(paths: RunPaths) -> str:
    """A run's `runs.summary`: `partial: <departments>` for a run of some departments, else empty."""
    return f"partial: {','.join(paths.only)}" if paths.only else ""


def _finish_run(paths: RunPaths, run_id: str, status: str) -> None:
    if paths.stage.exists():
        shutil.rmtree(paths.stage, ignore_errors=True)
    con = warehouse.connect(paths.warehouse)
    try:
        warehouse.finish_run(con, run_id, status, _scope(paths))
    finally:
        con.close()
    if paths.scratch is not None:
        shutil.rmtree(paths.scratch, ignore_errors=True)


def full_run_done(warehouse_path: Path, period: str) -> bool:
    """True when the warehouse records a successful full (not partial) run of `period`."""
    if not Path(warehouse_path).exists():
        return False
    with warehouse.reading(warehouse_path) as con:
        runs = warehouse.table(con, "runs", "period = ? AND status = 'ok' AND coalesce(summary, '') NOT LIKE 'partial%'",
                               [period])
    return runs is not None


def county_today() -> date:
    """Today in the county (Asia/Shanghai), whatever the machine's clock zone: a run at 02:00 on
    the 5th is the 4th in UTC."""
    return datetime.now(ZoneInfo(TIMEZONE)).date()


def previous_period(today: date | None = None) -> str:
    """The reporting period a monthly run on `today` (county time) works on: the month before."""
    today = today or county_today()
    return (today.replace(day=1) - timedelta(days=1)).strftime("%Y-%m")


def recover_interrupted(out: Path, wh: Path) -> list[str]:
    """Holding the lock proves earlier runs are dead: clear what a killed run left behind (and
    say what, one line each): a period folder it swapped in stays if it stored the period in the
    warehouse, else the one published before is put back (`outputs.recover`). Name each period
    whose run did not finish: its files and warehouse rows are those of its last complete run (a
    later period a re-run was re-running still reflects the earlier one as it was before), to be
    run again; each whose run was killed after it stored and published the period: complete
    (recorded ok); and, for a run killed before its cascade (`cascading`) re-ran the later periods
    already run, those that still reflect its period as it was before."""
    if not wh.exists():
        lines = outputs.recover(out)
    else:
        con = warehouse.connect(wh)
        try:
            lines = outputs.recover(out, warehouse.stored_runs(con).get)
            complete, interrupted = warehouse.mark_interrupted(con)
            stale = warehouse.stale_after_cascade(con)
            warehouse.clear_cascade(con)
        finally:
            con.close()
        lines += [f"{p}: its run was killed after it stored and published {p}: {p} is complete" for p in complete]
        lines += [f"{p}: its run was killed before it re-ran the later periods already run: {_left_as_was(p, later)}"
                  for p, later in stale.items()]
        lines += [f"{p}: its run did not finish; {p} is as its last complete run left it (or not run at all): "
                  f"run it again" for p in interrupted]
    for line in lines:
        print(f"recovered after an interrupted run: {line}", file=sys.stderr)
    return lines


@contextmanager
def cascading(wh: Path, period: str, on: bool = True):
    """A run of `period` and the cascade re-running the later periods after it
    (`rerun_later_periods`), marked in the warehouse until both end or fail (a failure says
    itself): a kill or an interrupt (Ctrl-C) in between leaves the mark for `recover_interrupted`
    to name the later periods still to be re-run (the runs themselves may all be recorded ok).
    `on` False (a dry run, --no-cascade): no mark."""
    def mark(how: Callable) -> None:
        con = warehouse.connect(wh)
        try:
            how(con, period)
        finally:
            con.close()

    def clear() -> None:
        # (a warehouse failing still: the mark stays, for the next run's recovery, which names only
        # the later periods not re-run since; what the run and its cascade did is said, not this)
        try:
            mark(warehouse.clear_cascade)
        except Exception as exc:  # noqa: BLE001
            print(f"note: the cascade mark of {period} was not cleared ({safe_error(exc)}): the next run checks "
                  f"the later periods again", file=sys.stderr, flush=True)

    if not on:
        yield
        return
    mark(warehouse.mark_cascade)
    try:
        yield
    except Exception:
        clear()
        raise
    clear()


class Busy:
    """What `warehouse_lock` yields when it cannot hold the warehouse: false, and said as who has
    it, for the user to wait for or ask (`holder`: the other program holding its DuckDB file open,
    `warehouse.open_elsewhere`; None: another run)."""

    def __init__(self, warehouse_path: Path, holder: str | None = None):
        self.warehouse_path, self.holder = warehouse_path, holder

    def __bool__(self) -> bool:
        return False

    def __str__(self) -> str:
        if self.holder is None:
            return f"another run is using {self.warehouse_path}"
        return f"{self.warehouse_path} is open in another program ({self.holder}): ask its user to close it"


@contextmanager
def warehouse_lock(warehouse_path: Path, shared: bool = False, wait: float = 0.0,
                   on_wait: Callable[[], None] | None = None):
    """One writing run per warehouse at a time: yields True when held, a `Busy` (false) when another
    run has it, or another program holds its DuckDB file open (an analyst's `duckdb` shell: a run
    would fail on DuckDB's own lock, and a restore under it have that program's WAL replayed into the
    copy), so that the caller refuses clearly instead. `shared` (dry runs): only waits out no writer,
    never creates the lock file. `wait`: seconds to keep trying (every minute, calling `on_wait`
    before each pause) before yielding the `Busy`.
    A writing run holds umask 077 with the lock (restored before the lock is released: runs of
    one warehouse in threads of one process, serialised by it, never interleave the process's
    umask; runs of several warehouses at once each have a process): every file it creates
    is its owner's alone, also those it does not write itself (the warehouse's WAL, which DuckDB
    creates and a kill leaves behind; its spill files), whatever started it (the command, `serve`,
    a work pool's worker, a province county's process)."""
    lock_file = Path(warehouse_path).with_suffix(Path(warehouse_path).suffix + ".lock")
    if shared:
        if not lock_file.exists():
            holder = warehouse.open_elsewhere(warehouse_path, read_only=True)
            yield True if holder is None else Busy(warehouse_path, holder)
            return
        fh = open(lock_file)
    else:
        lock_file.parent.mkdir(parents=True, exist_ok=True)
        fh = os.fdopen(os.open(lock_file, os.O_WRONLY | os.O_CREAT, 0o600), "w")
    until = time.monotonic() + wait
    try:
        while True:
            holder = None
            try:
                fcntl.flock(fh, (fcntl.LOCK_SH if shared else fcntl.LOCK_EX) | fcntl.LOCK_NB)
                if (holder := warehouse.open_elsewhere(warehouse_path, read_only=shared)) is None:
                    break
                fcntl.flock(fh, fcntl.LOCK_UN)  # (not held while waiting for that program)
            except BlockingIOError:
                pass
            if time.monotonic() >= until:
                yield Busy(warehouse_path, holder)
                return
            if on_wait is not None:
                on_wait()
            time.sleep(max(0.5, min(60.0, until - time.monotonic())))
        mask = None if shared else os.umask(0o077)
        try:
            yield True
        finally:
            if mask is not None:
                os.umask(mask)
    finally:
        fh.close()


def check_dates(period: str, issue_date: str | None) -> str | None:
    """What is wrong with --period and --issue-date, or None. The lists go out after the month's
    deliveries: a 下发日期 inside or before the period is a typo (2026-10-02 for 2026-11-02) that
    would date every deadline a month early."""
    try:  # (strptime alone takes 2026-9, whose folder and history would sort after 2026-10)
        if not re.fullmatch(r"\d{4}-\d{2}", period):
            raise ValueError(period)
        start = datetime.strptime(period, "%Y-%m").date()
    except ValueError:
        return f"--period must be YYYY-MM, got {period!r}"
    if issue_date is None:
        return None
    try:
        issued = date.fromisoformat(issue_date)
    except ValueError:
        return f"--issue-date must be YYYY-MM-DD, got {issue_date!r}"
    end = (start.replace(day=28) + timedelta(days=4)).replace(day=1)  # the first day after the period
    if issued < end:
        return (f"--issue-date {issue_date} is not after period {period}: the lists go out once the month's "
                f"deliveries are in (from {end.isoformat()})")
    return None


def rerun_later_periods(inbox: str, out: str, wh: Path, config: str | None, overrides: list[str] | None,
                        period: str, county: str | None) -> list[str]:
    """Periods after `period` that were already run depend on it (year-to-date sums, warning
    history): run them again, in order, each with its own 下发日期 and its own settings (those of
    its last full run: the config file's content as it was then, its overrides), so running
    periods out of order gives the same answers as running them in order and a setting given for
    `period` changes no other. `config`/`overrides` (this run's) serve only a period whose run
    recorded none (stored before runs kept them). The holiday schedule (`[run] holidays` /
    `workdays`) is a fact of the calendar, not a setting: this run's is added to each period's
    (`calendar_facts`), so a schedule entered after a period ran reaches its deadlines too.
    Returns what it did, one line each (also printed). A later period that cannot be re-run (its
    inbox folder gone, its own settings refused by today's checks, its run failing) stops the
    cascade there, as the ones after it depend on it: `CascadeStopped` names it, why, what is left
    as it was and what to run; so does one re-run whose step after its commit failed (`PartlyDone`),
    said with its own line, and any other failure (the warehouse unreadable while listing them):
    every caller (the command, the schedule, a province county) says the period is done."""
    try:
        return _rerun_later(inbox, out, wh, config, overrides, period, county)
    except PartlyDone:
        raise
    except Exception as exc:  # noqa: BLE001 - the period is done all the same
        raise CascadeStopped(f"{period} is done, but re-running the later periods already run failed: "
                             f"{safe_error(exc)}; they still reflect {period} as it was before this run: run them "
                             f"again, in order") from exc


def _rerun_later(inbox: str, out: str, wh: Path, config: str | None, overrides: list[str] | None,
                 period: str, county: str | None) -> list[str]:
    """`rerun_later_periods`, before any failure of its own is said as a stop."""
    con = warehouse.connect(wh)
    try:
        later = [(p, warehouse.last_run(con, p, full=True)) for p in warehouse.later_periods(con, period)]
    finally:
        con.close()
    now = load_config(config, overrides or []).run if later else None
    said = []
    with tempfile.TemporaryDirectory(prefix="fanpin-settings-") as scratch:
        for i, (p, run) in enumerate(later):
            rest = [q for q, _ in later[i + 1:]]
            if not (Path(inbox) / p).is_dir():  # (archived: its deliveries are not there to re-run it with)
                raise CascadeStopped(_stopped(period, p, rest, f"its inbox folder {Path(inbox) / p} is gone",
                                              "once its folder is back"))
            if run is None or run["overrides"] is None:
                own, sets, how = config, overrides, "its settings were not recorded: with this run's"
            else:
                own, sets, how = run["config_path"], list(run["overrides"]), f"with its own {console.describe_settings(run)}"
                if run["config_text"] is not None and not (
                        Path(own).is_file() and read_text(own) == run["config_text"]):
                    own = str(Path(scratch) / f"{p}.toml")  # the file changed or is gone: its content then
                    Path(own).write_text(run["config_text"], encoding="utf-8")
                    how += " (the file's content as it was then)"
            try:  # a setting its run was given that today's checks refuse (a check added since)
                more = console.calendar_facts(load_config(own, sets or []).run, now)
            except (OSError, ValueError, KeyError, TypeError) as exc:
                raise CascadeStopped(_stopped(period, p, rest, f"its own settings ({console.describe_settings(run)}) "
                                              f"are refused now: {exc}", "with settings valid now (--config/--set)"))
            if more:
                sets, how = [*(sets or []), *more], how + "; the holiday schedule of this run added"
            said.append(f"re-running {p}: a later period already run, its sums and history depend on {period}; {how}")
            print(said[-1], file=sys.stderr, flush=True)
            try:
                result = flow_result(monthly_run(inbox, p, out, str(wh), own, sets, county=county, return_state=True))
            except PartlyDone as exc:  # stored and published, the step after failed: its line says what is left
                raise CascadeStopped(f"{period} is done; {exc}") from exc
            except Exception as exc:  # noqa: BLE001 - said with what it leaves as it was
                raise CascadeStopped(_stopped(period, p, rest, safe_error(exc), "once that is put right")) from exc
            print(summary_text(result))
    return said


def _failed_after(paths: RunPaths, period: str, step: str, exc: Exception) -> str:
    """One line: `period` is stored and published, but `step`, run after its commit, failed
    (`exc`); the later periods already run still reflect it as it was before: run them again."""
    from prefect.runtime import flow_run

    exc.flow_run_id = flow_run.id  # (where its traceback is: `safe_error`)
    con = warehouse.connect(paths.warehouse)
    try:
        later = warehouse.later_periods(con, period)
    finally:
        con.close()
    return (f"{period} is stored and published in {paths.final}, but {step}, the step after, failed: {safe_error(exc)}"
            + (f"; {_left_as_was(period, later, ' this run')}" if later else ""))


def _stopped(period: str, p: str, rest: list[str], cause: str, then: str) -> str:
    """One line: later period `p` was not re-run after `period` and why; what still reflects
    `period` as it was; what to run."""
    return f"{p} was not re-run after {period} ({period} is done): {cause}; " + _left_as_was(
        period, [p, *rest], " this run", f" {then}")


def _left_as_was(period: str, later: list[str], when: str = "", then: str = "") -> str:
    """`later` (periods, in order) still reflect `period` as it was before (`when`): run the first
    again (`then`), the others following it."""
    return (f"{', '.join(later)} still reflect{'' if len(later) > 1 else 's'} {period} as it was before{when}: "
            f"run {later[0]} again{then}{' (the later periods follow it)' if len(later) > 1 else ''}")

"""Prefect flows of the county early-warning pipeline (部门筛查预警), and its command line.

    python flows.py run --inbox INBOX --period 2026-10 --out OUT

The monthly flow reads like its steps: discover the inbox, ingest each department, link records
to the roster, look up the year so far, issue warnings, remember the period in the warehouse,
publish township and county files. Tasks pass file paths (parquet in a staging folder), not
frames. All logic lives in pipelines/ and matchers/; all file handling in adapters/.
"""

from __future__ import annotations

import argparse
import fcntl
import os
import shutil
import sys
from dataclasses import dataclass, replace
from datetime import date, datetime
from pathlib import Path

ROOT = Path(__file__).resolve().parent
os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")
os.environ.setdefault("PREFECT_SERVER_LOGGING_LEVEL", "WARNING")

import polars as pl  # noqa: E402
from prefect import flow, task  # noqa: E402
from prefect.cache_policies import NO_CACHE  # noqa: E402

from adapters import inbox, outputs, warehouse  # noqa: E402
from config import Config, load_config  # noqa: E402
from matchers.link import link  # noqa: E402
from matchers.places import resolve_places, water_links  # noqa: E402
from matchers.review import review_queue  # noqa: E402
from pipelines import accounting, calendar, feedback, report, rules, township  # noqa: E402
from pipelines.identify import set_aside_unidentifiable  # noqa: E402
from pipelines.standardize import detect_kind, known_headers, standardize  # noqa: E402
from pipelines.validate import rejected_files, supersede, to_person_records, validate  # noqa: E402

EXIT_OK, EXIT_USAGE, EXIT_BUSY, EXIT_FAILED = 0, 2, 3, 1

FINDING_COLS = {"category": pl.Utf8, "dept": pl.Utf8, "file": pl.Utf8, "detail": pl.Utf8, "count": pl.Int64}
REJECTED_COLS = {
    "dept": pl.Utf8, "kind": pl.Utf8, "file": pl.Utf8, "line": pl.Int64, "record_id": pl.Utf8,
    "field": pl.Utf8, "value": pl.Utf8, "reason": pl.Utf8,
}


@dataclass(frozen=True)
class RunPaths:
    period_dir: Path
    out: Path          # OUT/YYYY-MM, replaced whole at the end
    stage: Path        # private staging folder, becomes `out`
    warehouse: Path

    @property
    def work(self) -> Path:
        """Intermediate parquet files passed between tasks (removed before publishing)."""
        return self.stage / "_work"


def _read(path: Path) -> pl.DataFrame | None:
    return pl.read_parquet(path) if path.exists() else None


def _concat(frames: list[pl.DataFrame], schema: dict | None = None) -> pl.DataFrame:
    frames = [f for f in frames if f is not None]
    full = [f for f in frames if f.height]
    if full:
        return pl.concat(full, how="diagonal_relaxed")
    return frames[0] if frames else pl.DataFrame(schema=schema or {})


# ----------------------------------------------------------------------------------------------
# Tasks


@task(cache_policy=NO_CACHE)
def discover_inputs(paths: RunPaths, cfg: Config) -> list[str]:
    """List the period's files; note repeated files, unknown folders and missing departments."""
    files, problems = inbox.discover(paths.period_dir, cfg)
    findings = [dict(category="文件被搁置 file set aside" if p.set_aside else "文件说明 file note",
                     dept=p.dept, file=p.file, detail=p.problem, count=1) for p in problems]
    present = set(files["dept"].to_list()) if files.height else set()
    for dept in cfg.departments:
        if dept not in present:
            findings.append(dict(category="部门未报送 department missing", dept=dept, file=None,
                                 detail="本期未收到该部门数据，其规则未运行 no extract this period; its rules did not run", count=1))
    paths.work.mkdir(parents=True, exist_ok=True)
    files.write_parquet(paths.work / "files.parquet")
    pl.DataFrame(findings, schema=FINDING_COLS).write_parquet(paths.work / "findings_discover.parquet")
    rejected_files([p for p in problems if p.set_aside]).write_parquet(paths.work / "rejected__discover.parquet")
    return sorted(present)


@task(cache_policy=NO_CACHE)
def ingest_department(paths: RunPaths, cfg: Config, dept: str) -> dict:
    """Read, standardise and validate every file of one department folder; the latest delivery of
    each record wins. Writes <kind>.parquet, and this department's rejected/superseded rows."""
    files = pl.read_parquet(paths.work / "files.parquet").filter(
        (pl.col("dept") == dept) & pl.col("duplicate_of").is_null()
    )
    valid: dict[str, list[pl.DataFrame]] = {}
    rejected: list[pl.DataFrame] = []
    notes: list[inbox.ReadError] = []
    known = known_headers(cfg)
    rows_read = 0
    for rel in files["file"].to_list():
        table = inbox.read_table(paths.period_dir / rel, rel, known, notes)
        if isinstance(table, inbox.ReadError):
            rejected.append(rejected_files([replace(table, dept=dept)]))
            continue
        rows_read += table.height
        spec = detect_kind([c for c in table.columns if c != "line"], dept, cfg)
        if spec is None:
            rejected.append(table.select(
                pl.lit(dept).alias("dept"), pl.lit(None, pl.Utf8).alias("kind"), pl.lit(rel).alias("file"),
                pl.col("line").cast(pl.Int64), pl.lit(None, pl.Utf8).alias("record_id"),
                pl.lit(None, pl.Utf8).alias("field"), pl.lit(None, pl.Utf8).alias("value"),
                pl.lit("表头不符合任何数据种类（缺少必需列） headers fit no extract kind").alias("reason"),
            ))
            continue
        ok, bad = validate(standardize(table, spec), spec, dept, rel)
        ok, nobody = set_aside_unidentifiable(ok)
        valid.setdefault(spec.name, []).append(ok)
        rejected.extend([bad, nobody])
    superseded = []
    for kind, frames in valid.items():
        if kind == "feedback":  # every returned answer is history: none replaces another here
            _concat(frames).write_parquet(paths.work / f"{kind}.parquet")
            continue
        latest, sup = supersede(_concat(frames), key=cfg.kinds[kind].record_id)
        latest.write_parquet(paths.work / f"{kind}.parquet")
        superseded.append(sup)
    _concat(rejected, REJECTED_COLS).cast(REJECTED_COLS).write_parquet(paths.work / f"rejected_{dept}.parquet")
    _concat(superseded, {"dept": pl.Utf8, "kind": pl.Utf8, "file": pl.Utf8, "line": pl.Int64, "record_id": pl.Utf8}
            ).write_parquet(paths.work / f"superseded_{dept}.parquet")
    pl.DataFrame([dict(category="文件说明 file note", dept=dept, file=n.file, detail=n.problem, count=1) for n in notes],
                 schema=FINDING_COLS).write_parquet(paths.work / f"findings_{dept}.parquet")
    return {"dept": dept, "rows": rows_read, "kinds": sorted(valid)}


@task(cache_policy=NO_CACHE)
def link_records(paths: RunPaths, cfg: Config, kinds: list[str]) -> dict:
    """Link every person-level record to the roster; resolve water work orders to places."""
    roster = pl.read_parquet(paths.work / "roster.parquet")
    extracts = {k: pl.read_parquet(paths.work / f"{k}.parquet") for k in kinds if k not in ("roster", "grid", "feedback")}
    records = to_person_records(extracts)
    records.write_parquet(paths.work / "person_records.parquet")
    links, candidates = link(records, roster, cfg.matching)
    links.write_parquet(paths.work / "links_person.parquet")
    candidates.write_parquet(paths.work / "candidates.parquet")
    if "water" in extracts:
        resolve_places(extracts["water"], roster).write_parquet(paths.work / "water_places.parquet")
    return {k: int(v) for k, v in links.group_by("decision").len().iter_rows()}


@task(cache_policy=NO_CACHE)
def year_to_date(paths: RunPaths, period: str) -> None:
    """This period's settlements with their links, plus the stored settlements of the year so far."""
    current = _read(paths.work / "med_settlement.parquet")
    if current is None:
        return
    links = pl.read_parquet(paths.work / "links_person.parquet").filter(pl.col("kind") == "med_settlement")
    current = current.join(
        links.select("record_id", "decision", "person_id", "household_id", "score"), on="record_id", how="left"
    )
    current.write_parquet(paths.work / "settlements_linked.parquet")
    con = warehouse.connect(paths.warehouse)
    try:
        warehouse.year_to_date_settlements(con, period, current).write_parquet(paths.work / "ytd_settlements.parquet")
    finally:
        con.close()


@task(cache_policy=NO_CACHE)
def take_feedback(paths: RunPaths, cfg: Config, period: str, as_of: date) -> dict:
    """Returned township lists (反馈/): check each answer against the warnings issued before this
    period, keep every accepted answer, and work out every earlier warning's status."""
    con = warehouse.connect(paths.warehouse)
    try:
        earlier_rows = warehouse.table(con, "township_rows", "period < ?", [period])
        earlier_answers = warehouse.table(con, "feedback_answers", "period < ?", [period])
        previous_status = warehouse.latest_before(con, "warning_status", period)
    finally:
        con.close()
    issued = feedback.issued_from_rows(earlier_rows) if earlier_rows is not None else None
    returned = _read(paths.work / "feedback.parquet")
    counts = {"returned": 0, "accepted": 0, "unanswered": 0, "set_aside": 0}
    accepted = None
    if returned is not None and returned.height:
        if issued is None:
            issued = feedback.issued_from_rows(pl.DataFrame(schema={c: pl.Utf8 for c in
                                                                   ["预警编号", "township", "户编号", "period", "下发日期", "核实截止日期"]}))
        accepted, unanswered, refused = feedback.check_feedback(returned, issued, as_of, cfg.feedback)
        accepted = accepted.with_columns(received_period=pl.lit(period))
        refused.drop("township").cast(REJECTED_COLS).write_parquet(paths.work / "rejected_反馈_answers.parquet")
        counts = {"returned": returned.height, "accepted": accepted.height, "unanswered": unanswered.height,
                  "set_aside": refused.height}
        if sum(list(counts.values())[1:]) != counts["returned"]:
            raise accounting.AccountingError(f"反馈: read {returned.height} answers but accounted {counts}")
        refused.write_parquet(paths.work / "feedback_refused.parquet")
    answers = _concat([earlier_answers, accepted]) if (earlier_answers is not None or accepted is not None) else None
    if answers is not None:
        answers.write_parquet(paths.work / "answers_all.parquet")
    if accepted is not None:
        accepted.write_parquet(paths.work / "answers_new.parquet")
    if issued is not None:
        issued.write_parquet(paths.work / "issued_earlier.parquet")
        earlier_rows.write_parquet(paths.work / "township_rows_earlier.parquet")
        feedback.warning_status(issued, answers, as_of).write_parquet(paths.work / "status_earlier.parquet")
    if previous_status is not None:
        previous_status.write_parquet(paths.work / "status_previous.parquet")
    return counts


@task(cache_policy=NO_CACHE)
def issue_warnings(paths: RunPaths, cfg: Config, period: str, kinds: list[str]) -> dict:
    """Apply every configured rule; one warning per household (or lead) and risk type."""
    roster = pl.read_parquet(paths.work / "roster.parquet")
    extracts = {k: pl.read_parquet(paths.work / f"{k}.parquet") for k in kinds if k not in ("roster", "grid", "feedback")}
    links = pl.read_parquet(paths.work / "links_person.parquet")
    con = warehouse.connect(paths.warehouse)
    try:
        history = warehouse.table(con, "warnings", "period < ?", [period])
    finally:
        con.close()
    status = _read(paths.work / "status_earlier.parquet")
    if history is not None:
        history.write_parquet(paths.work / "warnings_earlier.parquet")
        history = history.join(
            status.select("warning_id", "status", "verified_on") if status is not None
            else pl.DataFrame(schema={"warning_id": pl.Utf8, "status": pl.Utf8, "verified_on": pl.Date}),
            on="warning_id", how="left",
        ).with_columns(pl.col("status").fill_null("open"))
    signals = rules.run_rules(
        extracts, links, roster, cfg, period,
        ytd_settlements=_read(paths.work / "ytd_settlements.parquet"),
        water_places=_read(paths.work / "water_places.parquet"),
        candidates=pl.read_parquet(paths.work / "candidates.parquet"),
    )
    warnings, suppressed = rules.assign_warnings(signals, roster, period, history, cfg)
    warnings.write_parquet(paths.work / "warnings.parquet")
    suppressed.write_parquet(paths.work / "suppressed.parquet")
    return {"warnings": warnings.height, "suppressed": suppressed.height}


@task(cache_policy=NO_CACHE)
def settle_accounts(paths: RunPaths, cfg: Config, depts: list[str], ingested: list[dict]) -> pl.DataFrame:
    """links.parquet (one row per department record, rejected rows included) and the proof that
    every row read is accounted for."""
    person = _read(paths.work / "links_person.parquet")
    water = _read(paths.work / "water_places.parquet")
    rejected = _concat([pl.read_parquet(f) for f in sorted(paths.work.glob("rejected_*.parquet"))], REJECTED_COLS)
    superseded = _concat([pl.read_parquet(f) for f in sorted(paths.work.glob("superseded_*.parquet"))])
    parts = [person]
    if water is not None:
        parts.append(water_links(water))
    if rejected.height:
        rows = rejected.filter(pl.col("line").is_not_null())
        parts.append(rows.select(
            "dept", pl.col("kind").fill_null("unknown"),
            pl.coalesce("record_id", pl.col("file") + pl.lit("#") + pl.col("line").cast(pl.Utf8)).alias("record_id"),
            pl.lit("rejected").alias("decision"), pl.lit(None, pl.Utf8).alias("person_id"),
            pl.lit(None, pl.Utf8).alias("household_id"), pl.lit(None, pl.Float64).alias("score"),
            pl.col("reason"), pl.lit(0).alias("n_candidates"),
        ))
    person_depts = [d for d in depts if d in cfg.departments]
    links = _concat(parts).filter(pl.col("dept").is_in(person_depts))
    links = links.with_columns(pl.col("n_candidates").cast(pl.Int64)).sort("dept", "kind", "record_id")
    rows = pl.DataFrame(ingested).select("dept", "rows").filter(pl.col("dept").is_in(person_depts))
    table = accounting.account(rows, links, superseded.filter(pl.col("dept").is_in(person_depts)))
    links.write_parquet(paths.work / "links.parquet")
    rejected.write_parquet(paths.work / "rejected.parquet")
    superseded.write_parquet(paths.work / "superseded.parquet")
    table.write_parquet(paths.work / "accounting.parquet")
    return table


@task(cache_policy=NO_CACHE)
def remember(paths: RunPaths, period: str) -> None:
    """Store the period in the warehouse, replacing an earlier run of the same period."""
    frames = {
        "deliveries": pl.read_parquet(paths.work / "files.parquet"),
        "links": pl.read_parquet(paths.work / "links.parquet"),
        "warnings": pl.read_parquet(paths.work / "warnings.parquet"),
        "rejected": pl.read_parquet(paths.work / "rejected.parquet"),
        "accounting": pl.read_parquet(paths.work / "accounting.parquet"),
    }
    for table, name in [("settlements", "settlements_linked"), ("township_rows", "township_rows"),
                        ("feedback_answers", "answers_new"), ("warning_status", "status_all")]:
        df = _read(paths.work / f"{name}.parquet")
        if df is not None:
            frames[table] = df
    con = warehouse.connect(paths.warehouse)
    try:
        warehouse.replace_period(con, period, frames)
    finally:
        con.close()


@task(cache_policy=NO_CACHE)
def prepare_lists(paths: RunPaths, cfg: Config, period: str, issue_date: date) -> str:
    """Township rows (still-open earlier warnings first, then this period's) and the status of
    every warning ever issued. Returns the verification deadline of this period's warnings."""
    work = paths.work
    warnings = pl.read_parquet(work / "warnings.parquet")
    deadline, cal_note = calendar.add_working_days(issue_date, cfg.run.verify_working_days)
    if cal_note:
        pl.DataFrame([dict(category="日历 calendar", dept=None, file=None, detail=cal_note, count=1)],
                     schema=FINDING_COLS).write_parquet(work / "findings_calendar.parquet")
    new = township.township_rows(warnings, pl.read_parquet(work / "roster.parquet"), _read(work / "grid.parquet"),
                                 issue_date, deadline)
    earlier_rows = _read(work / "township_rows_earlier.parquet")
    status_earlier = _read(work / "status_earlier.parquet")
    carried = (feedback.carry_over(status_earlier, earlier_rows, before_period=period)
               if earlier_rows is not None and status_earlier is not None else None)
    rows = feedback.with_carry_over(new, carried if carried is not None else new.head(0).select(
        pl.lit(None, pl.Utf8).alias("状态"), pl.lit(None, pl.Int64).alias("逾期天数"), *new.columns))
    rows.write_parquet(work / "township_rows.parquet")
    issued = feedback.issued_from_rows(
        _concat([earlier_rows, rows.with_columns(period=pl.lit(period))]) if earlier_rows is not None
        else rows.with_columns(period=pl.lit(period))
    )
    feedback.warning_status(issued, _read(work / "answers_all.parquet"), issue_date).write_parquet(
        work / "status_all.parquet")
    return deadline.isoformat()


@task(cache_policy=NO_CACHE)
def publish(paths: RunPaths, cfg: Config, period: str, issue_date: date, deadline: str) -> dict:
    """Write township lists and county files into the staging folder, then swap it in whole."""
    work, stage = paths.work, paths.stage
    warnings = pl.read_parquet(work / "warnings.parquet")
    roster = pl.read_parquet(work / "roster.parquet")
    grid = _read(work / "grid.parquet")
    rows = pl.read_parquet(work / "township_rows.parquet")
    status = pl.read_parquet(work / "status_all.parquet")
    refused = _read(work / "feedback_refused.parquet")
    validator_refused = _read(work / "rejected_反馈.parquet")
    returned = feedback.returned_to_township(
        _concat([refused, validator_refused]), cfg, _read(work / "issued_earlier.parquet")
    ) if (refused is not None and refused.height) or (validator_refused is not None and validator_refused.height) else {}
    created = datetime.combine(issue_date, datetime.min.time())
    towns = []
    for (town,), df in rows.partition_by("township", as_dict=True, maintain_order=True).items():
        if town is None:
            continue
        sheet = df.drop("township")
        folder = stage / "townships" / town
        outputs.write_csv(sheet, folder / f"{town}_{period}_预警清单.csv")
        sheets = {"汇总": sheet.group_by("风险类型").len("户数").sort("风险类型")}
        for (risk,), part in sheet.partition_by("风险类型", as_dict=True, maintain_order=True).items():
            sheets[risk] = part
        outputs.write_xlsx(sheets, folder / f"{town}_{period}_预警清单.xlsx", created)
        towns.append(town)
    for town, df in returned.items():
        outputs.write_csv(df, stage / "townships" / town / f"{town}_{period}_反馈退回.csv")

    county = stage / "county"
    review = pl.read_parquet(work / "candidates.parquet").filter(pl.col("decision") == "review")
    outputs.write_csv(township.county_summary(warnings), county / "县级汇总_乡镇x风险类型.csv")
    outputs.write_csv(review_queue(review, pl.read_parquet(work / "person_records.parquet"), roster),
                      county / "人工复核队列.csv")
    outputs.write_csv(township.unplaced_leads(warnings), county / "无法落位的新增线索.csv")
    rejected = pl.read_parquet(work / "rejected.parquet")
    outputs.write_csv(rejected.rename(REJECTED_HEADERS), county / "搁置行及原因.csv")
    quality = accounting.quality_report(
        _concat([pl.read_parquet(f) for f in sorted(work.glob("findings_*.parquet"))], FINDING_COLS),
        rejected, pl.read_parquet(work / "superseded.parquet"), grid, roster, cfg.run.max_grid_households,
    )
    outputs.write_csv(quality.rename(QUALITY_HEADERS), county / "数据质量报告.csv")
    outputs.write_csv(pl.read_parquet(work / "accounting.parquet"), county / "行数核对_accounting.csv")
    summary, overdue = feedback.overdue_by_township(status)
    outputs.write_csv(summary, county / "核实进度_乡镇.csv")
    outputs.write_csv(overdue, county / "逾期未核实清单.csv")
    all_warnings = _concat([_read(work / "warnings_earlier.parquet"), warnings])
    for dept, df in feedback.dispatch(
        feedback.newly_verified(status, _read(work / "status_previous.parquet")), all_warnings, cfg
    ).items():
        outputs.write_csv(df, county / "派单" / f"派单_{dept}_{period}.csv")

    links = pl.read_parquet(work / "links.parquet")
    outputs.write_parquet(links.select("dept", "record_id", "decision", "person_id", "household_id", "score", "kind", "reason"),
                          stage / "links.parquet")
    outputs.write_parquet(
        warnings.select("warning_id", "household_id", "township", "risk_type", "rule", "severity", "dept",
                        "record_ids", "person_ids", "basis", "signal"),
        stage / "warnings.parquet",
    )
    outputs.write_parquet(status, stage / "warning_status.parquet")
    con = warehouse.connect(paths.warehouse)
    try:
        inputs = report.report_inputs(con, period)
    finally:
        con.close()
    inputs["quality"] = quality
    outputs.write_text(report.county_report_html(**inputs, meta={
        "period": period, "issue_date": issue_date.isoformat(), "deadline": deadline,
        "generated_at": datetime.combine(issue_date, datetime.min.time()).isoformat(),
        "departments": list(cfg.departments),
        "county": roster["county"].drop_nulls().mode().first() if roster["county"].drop_nulls().len() else None,
    }), county / "县级预警报告.html")
    shutil.rmtree(work)
    outputs.publish_dir(stage, paths.out)
    return {"townships": towns}


REJECTED_HEADERS = {"dept": "部门", "kind": "表类型", "file": "文件", "line": "行号", "record_id": "记录编号",
                    "field": "字段", "value": "值", "reason": "原因"}
QUALITY_HEADERS = {"category": "类别", "dept": "部门", "file": "文件", "detail": "说明", "count": "数量"}


# ----------------------------------------------------------------------------------------------
# Flow


@flow(name="monthly-run")
def monthly_run(
    inbox_dir: str, period: str, out_dir: str, warehouse_path: str | None = None,
    config_path: str | None = None, overrides: list[str] | None = None, issue_date: str | None = None,
) -> dict:
    """One county, one period: inbox -> township warning lists, county files, warehouse."""
    cfg = load_config(config_path, overrides or [])
    out = Path(out_dir)
    final = out / period
    paths = RunPaths(
        period_dir=Path(inbox_dir) / period,
        out=final,
        stage=outputs.new_staging_dir(final),
        warehouse=Path(warehouse_path) if warehouse_path else out / "warehouse.duckdb",
    )
    issued = date.fromisoformat(issue_date) if issue_date else date.today()
    con = warehouse.connect(paths.warehouse)
    run_id = warehouse.begin_run(con, period, cfg.fingerprint)
    con.close()
    status = "failed"
    try:
        depts = discover_inputs(paths, cfg)
        ingested = [ingest_department(paths, cfg, d) for d in depts]
        kinds = sorted({k for i in ingested for k in i["kinds"]})
        if "roster" not in kinds:
            raise RunError(f"no usable roster (户籍底册) in {paths.period_dir}: nothing can be linked")
        decisions = link_records(paths, cfg, kinds)
        year_to_date(paths, period)
        answers = take_feedback(paths, cfg, period, issued)
        issued_counts = issue_warnings(paths, cfg, period, kinds)
        table = settle_accounts(paths, cfg, depts, ingested)
        deadline = prepare_lists(paths, cfg, period, issued)
        remember(paths, period)
        result = publish(paths, cfg, period, issued, deadline) | {"deadline": deadline, "feedback": answers}
        status = "ok"
    finally:
        if paths.stage.exists():
            shutil.rmtree(paths.stage, ignore_errors=True)
        con = warehouse.connect(paths.warehouse)
        warehouse.finish_run(con, run_id, status)
        con.close()
    return {"out": str(final), "accounting": table.to_dicts(), "decisions": decisions, **issued_counts, **result}


class RunError(RuntimeError):
    """A problem the user must fix (said in one line, no traceback)."""


def print_summary(result: dict) -> None:
    print("行数核对 accounting: rows read = superseded + matched + review + unmatched + rejected")
    for r in result["accounting"]:
        print(f"  {r['dept']}: {r['rows_read']} = {r['superseded']} + {r['matched']} + {r['review']} + "
              f"{r['unmatched']} + {r['rejected']}  {'OK' if r['balanced'] else 'MISMATCH'}")
    print(f"预警 warnings issued: {result['warnings']} (repeats suppressed: {result['suppressed']})")
    fb = result["feedback"]
    if fb["returned"]:
        print(f"反馈 feedback rows: {fb['returned']} = accepted {fb['accepted']} + unanswered {fb['unanswered']}"
              f" + set aside {fb['set_aside']}")
    print(f"乡镇清单 township lists: {len(result['townships'])} townships, 核实截止 deadline {result['deadline']}")
    print(f"输出 outputs: {result['out']}/townships/  (county files: {result['out']}/county/)")


# ----------------------------------------------------------------------------------------------
# Command line


def _lock(warehouse_path: Path):
    """One run per warehouse at a time: a second run refuses clearly instead of corrupting it."""
    warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    fh = open(warehouse_path.with_suffix(warehouse_path.suffix + ".lock"), "w")
    try:
        fcntl.flock(fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        fh.close()
        return None
    return fh


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="flows.py", description="县级防返贫部门筛查预警 monthly early-warning run.",
        epilog="example: python flows.py run --inbox sample_data/county/inbox --period 2026-10 --out out",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run one period: inbox -> township lists")
    run.add_argument("--inbox", required=True, help="inbox folder holding YYYY-MM period folders")
    run.add_argument("--period", required=True, help="reporting period, YYYY-MM")
    run.add_argument("--out", required=True, help="output folder (OUT/YYYY-MM/ is written)")
    run.add_argument("--warehouse", help="DuckDB warehouse file (default OUT/warehouse.duckdb)")
    run.add_argument("--config", help="rule/threshold file (default config/default.toml)")
    run.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                     help="override one setting, e.g. --set M1.threshold=8000 (repeatable)")
    run.add_argument("--issue-date", help="下发日期 to print on the lists (default today), YYYY-MM-DD")
    args = parser.parse_args(argv)

    try:
        datetime.strptime(args.period, "%Y-%m")
    except ValueError:
        print(f"error: --period must be YYYY-MM, got {args.period!r}", file=sys.stderr)
        return EXIT_USAGE
    period_dir = Path(args.inbox) / args.period
    if not period_dir.is_dir():
        print(f"error: no period folder {period_dir}", file=sys.stderr)
        return EXIT_USAGE
    try:
        load_config(args.config, args.set)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        print(f"error: configuration: {exc}", file=sys.stderr)
        return EXIT_USAGE
    wh = Path(args.warehouse) if args.warehouse else Path(args.out) / "warehouse.duckdb"
    lock = _lock(wh)
    if lock is None:
        print(f"error: another run is using {wh}; wait for it to finish", file=sys.stderr)
        return EXIT_BUSY
    try:
        print_summary(monthly_run(args.inbox, args.period, args.out, str(wh), args.config, args.set, args.issue_date))
    except (RunError, accounting.AccountingError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_FAILED
    finally:
        lock.close()
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())

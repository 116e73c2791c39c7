"""End to end: the 预警编号 of leads (新增线索) on a warehouse made before they were keyed. The
seed-13 county, September run as a run before the county's key was kept (`warehouse.warning_key`
giving none: every 预警编号 the plain sha1), its lists returned in October's 反馈/ (half of each
township's rows answered); two persons not on the roster whose 医保 sent their whole IDs warned by
M3 in September, settling again in October (one a little: a repeat; one as much again: an
escalation), and a new 残疾人证 of a third in October; October run with the key. October's lead
rows do not give their IDs back, September's lead warnings are known as the same warnings, and no
file the run writes holds a lead's key."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

import cli
from adapters import warehouse
from pipelines.rules import lead_hash, warning_suffix
from tests.conftest import answer_lists, every_cell, township_lists, write_rows

SEP, OCT = "2026-09", "2026-10"
ISSUE = {SEP: "2026-10-09", OCT: "2026-11-02"}
SETTLED = ["结算流水号", "姓名", "证件号码", "参保地", "就诊机构", "就诊类型", "入院日期", "结算日期", "医疗总费用", "统筹支付",
           "大病保险支付", "医疗救助支付", "个人自付"]
# (name, ID, 个人自付 in September, in October): a repeat, an escalation (≥ 2 x September's sum)
LEADS = [("钱多多", "341302195603120417", 25000.0, 1000.0), ("孙大成", "341302196211050838", 21000.0, 25000.0)]
DISABLED = ("郝友仁", "341302194807230915")  # a new 残疾人证 in October, placed in 大店镇


def _settlements(period: str, at: int) -> list[list[str]]:
    day = f"{period}-0{at + 2}"
    return [[f"JS{period.replace('-', '')}9{i}{at}", name, idn, "埇桥区", "宿州市立医院", "住院", day, day,
             f"{amount * 2:.2f}", f"{amount:.2f}", "0.00", "0.00", f"{amount:.2f}"]
            for i, (name, idn, *amounts) in enumerate(LEADS) for amount in [amounts[at]]]


def _run(inbox: Path, out: Path, period: str) -> int:
    return cli.main(["run", "--inbox", str(inbox), "--period", period, "--out", str(out), "--issue-date", ISSUE[period]])


def _id_from_row(row: dict) -> str | None:
    """What anyone holding the list can do with a lead's row: its name and its ID masked in
    预警依据 or 来源记录编号 (first 6, last 4) leave the birth date open; try every date of a
    century against the 预警编号 as the plain sha1 of the lead's key makes it."""
    shown = re.search(r"(\d{6})\*{8}(\d{3}[\dX])", f"{row['预警依据']} {row['来源记录编号']}")
    if shown is None:
        return None
    head, tail = shown.groups()
    day, suffix = dt.date(1926, 1, 1), row["预警编号"].split("-")[1]
    while day.year <= 2026:
        idn = f"{head}{day:%Y%m%d}{tail}"
        if warning_suffix(lead_hash(f"{idn}|{row['户主姓名']}"), row["风险类型"]) == suffix:
            return idn
        day += dt.timedelta(days=1)
    return None


@pytest.fixture(scope="module")
def county(prefect_harness, tmp_path_factory):
    """The runs' OUT and the answers returned {预警编号: 核实结果}."""
    from sample_data.generate import generate

    root = tmp_path_factory.mktemp("leadids")
    generate(root, seed=13, periods=(SEP, OCT), households=300)
    inbox, out = root / "inbox", root / "out"
    for at, period in enumerate((SEP, OCT)):
        write_rows(inbox / period / "医保" / f"结算明细_{period}_外院.csv", [SETTLED, *_settlements(period, at)])
    name, idn = DISABLED
    write_rows(inbox / OCT / "残联" / f"残疾人证_{OCT}_补办.csv",
         [["残疾人证号", "姓名", "残疾类别", "残疾等级", "办证类型", "发证日期", "乡（镇）"],
          [f"{idn}62", name, "精神", "二级", "新办", f"{OCT}-06", "大店镇"]])
    with pytest.MonkeyPatch.context() as mp:  # (a run before the key was kept)
        mp.setattr(warehouse, "warning_key", lambda con: None)
        assert _run(inbox, out, SEP) == 0
    answered = answer_lists(out, SEP, inbox / OCT / "反馈", "2026-10-12")
    assert _run(inbox, out, OCT) == 0
    return {"out": out, "answered": answered}


def _stored(county) -> pl.DataFrame:
    con = duckdb.connect(str(county["out"] / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql("SELECT warning_id, household_id, risk_type, rule, lead_key, lead_name, escalates, basis, period "
                       "FROM warnings").pl()
    finally:
        con.close()


def test_the_lead_rows_issued_with_the_key_do_not_give_their_ids_back(county):
    """September's (a run before the key): the ID comes back from a lead row showing it masked
    (the leak). October's new lead rows (状态 新下发), the 残疾人证 among them, keyed: none."""
    sep = township_lists(county["out"], SEP).filter(pl.col("户类型") == "新增线索")
    assert any(_id_from_row(r) for r in sep.iter_rows(named=True))
    new = township_lists(county["out"], OCT).filter(pl.col("户类型") == "新增线索", pl.col("状态") == "新下发")
    shown = new.filter(pl.col("户主姓名") == DISABLED[0])
    assert shown.height == 1 and shown["来源记录编号"][0] == f"{DISABLED[1][:6]}********{DISABLED[1][14:]}62"
    assert new.filter(pl.col("来源记录编号").str.contains(r"\*{8}")).height > 1
    assert not [r["预警编号"] for r in new.iter_rows(named=True) if _id_from_row(r)]


def test_september_s_plain_hash_lead_warnings_are_known_in_october(county):
    """A lead of September (its 预警编号 the plain hash) settling a little more in October is a
    repeat of it, not warned again; one whose sum doubled escalates it, naming it; every
    September lead warning keeps its 预警编号 and the townships' answers about them are taken."""
    stored = _stored(county)
    sep = stored.filter(pl.col("period") == SEP, pl.col("household_id").is_null())
    oct_ = stored.filter(pl.col("period") == OCT, pl.col("household_id").is_null())
    assert sep.height and all(w.endswith(warning_suffix(k, r)) for w, k, r in sep.select("warning_id", "lead_key", "risk_type").iter_rows())
    ids = {name: sep.filter(pl.col("lead_name") == name, pl.col("rule") == "M3")["warning_id"].to_list() for name, *_ in LEADS}
    assert all(len(v) == 1 for v in ids.values()), ids
    repeat, grown = (ids[name][0] for name, *_ in LEADS)
    assert oct_.filter(pl.col("lead_name") == LEADS[0][0]).is_empty()
    up = oct_.filter(pl.col("lead_name") == LEADS[1][0])
    assert up.height == 1 and up["escalates"][0] == grown and grown in up["basis"][0], up
    assert not up["warning_id"][0].endswith(warning_suffix(up["lead_key"][0], "因病"))  # (keyed now)
    status = pl.read_parquet(county["out"] / OCT / "warning_status.parquet")
    assert repeat in status["warning_id"].to_list()
    answered = {w: r for w, r in county["answered"].items() if w in sep["warning_id"].to_list()}
    assert answered
    got = dict(status.filter(pl.col("warning_id").is_in(list(answered))).select("warning_id", "result").iter_rows())
    assert got == answered


def test_no_file_the_run_writes_holds_a_lead_s_key(county):
    """`lead_key` (L + 12 hex of sha1 of the lead's ID and name) stays in the warehouse: no cell of
    any list, workbook or county file of either month, nor any column of its parquet files, has it."""
    keys = set(_stored(county)["lead_key"].drop_nulls())
    assert keys
    files = [p for per in (SEP, OCT) for p in (county["out"] / per).rglob("*") if p.suffix in (".csv", ".xlsx", ".html")]
    assert any("townships" in p.parts for p in files) and any("county" in p.parts for p in files)
    leaked = {(p.name, k) for p in files for k in keys
              if any(k in c for c in (every_cell(p) if p.suffix != ".html" else [p.read_text(encoding="utf-8")]))}
    assert not leaked
    for p in (p for per in (SEP, OCT) for p in (county["out"] / per).glob("*.parquet")):
        df = pl.read_parquet(p)
        text = df.select(pl.col(pl.String)).unpivot()["value"].drop_nulls() if df.select(pl.col(pl.String)).width else []
        assert "lead_key" not in df.columns and not any(k in v for v in text for k in keys), p.name

"""End to end: a county that numbers its households by the head's 证件号码. The seed-13 county
with every 户编号 of roster and grid replaced by its head's ID; September run, its lists returned
in October's 反馈/ (half of each township's rows answered); in October's roster one warned person
split off into a household of their own (户编号: their ID) and one warned household moved to
another township; October run. No file under townships/ holds a roster person's full ID (CSV and
every sheet of the XLSX, every cell), every answer is taken, the carried warnings follow their
persons and household, and 行数核对 balances."""

from __future__ import annotations

import re
from pathlib import Path

import polars as pl
import pytest

import cli
from config import load_config
from tests.conftest import answer_lists, every_cell, read_rows, township_lists, write_rows

CFG = load_config()
SEP, OCT = "2026-09", "2026-10"
ISSUE = {SEP: "2026-10-09", OCT: "2026-11-02"}
MASKED = re.compile(r"^\d{6}\*{8}\d{3}[\dX]$")


def _csv(folder: Path) -> Path:
    """The folder's one file, as CSV (an XLSX rewritten)."""
    (f,) = sorted(folder.iterdir())
    if f.suffix != ".csv":
        df = pl.read_excel(f, infer_schema_length=0)
        f.unlink()
        f = f.with_suffix(".csv")
        write_rows(f, [df.columns, *[["" if v is None else v for v in r] for r in df.rows()]])
    return f


def _col(header: list[str], *names: str) -> int:
    """Where a header names one of `names` (乡（镇） / 乡(镇): brackets aside)."""
    plain = [re.sub(r"[（）()]", "", h) for h in header]
    return next(i for i, h in enumerate(plain) if h in {re.sub(r"[（）()]", "", n) for n in names})


def _ids_as_households(period_dir: Path) -> None:
    """Every 户编号 of the roster and the grid -> the 证件号码 of its 户主 (else its first person)."""
    roster = _csv(period_dir / "户籍底册")
    rows = read_rows(roster)
    hh, idn, rel = (_col(rows[0], n) for n in ("户编号", "证件号码", "与户主关系"))
    first: dict[str, str] = {}
    head: dict[str, str] = {}
    for r in rows[1:]:
        first.setdefault(r[hh], r[idn])
        if r[rel] == "户主":
            head.setdefault(r[hh], r[idn])
    head = first | head
    write_rows(roster, [rows[0], *[[head[c] if i == hh else c for i, c in enumerate(r)] for r in rows[1:]]])
    grid = _csv(period_dir / "网格")
    g = read_rows(grid)
    at = _col(g[0], "户编号")
    write_rows(grid, [g[0], *[[head.get(c, c) if i == at else c for i, c in enumerate(r)] for r in g[1:]]])


def _run(inbox: Path, out: Path, period: str) -> int:
    return cli.main(["run", "--inbox", str(inbox), "--period", period, "--out", str(out), "--issue-date", ISSUE[period]])


@pytest.fixture(scope="module")
def county(prefect_harness, tmp_path_factory):
    """The runs' OUT, inbox, the answers returned {预警编号: 核实结果}, the split-off person's
    (预警编号, ID) and the moved household's (预警编号, township now)."""
    from sample_data.generate import generate

    root = tmp_path_factory.mktemp("hhids")
    generate(root, seed=13, periods=(SEP, OCT), households=300)
    inbox, out = root / "inbox", root / "out"
    for p in (SEP, OCT):
        _ids_as_households(inbox / p)
    assert _run(inbox, out, SEP) == 0
    answered = answer_lists(out, SEP, inbox / OCT / "反馈", "2026-10-12")  # (as sent: 户编号 masked, 状态 new)

    # October's roster: a warned person (of a warning about persons alone, not answered) split off
    # into a household of their own, and a warned household (not answered) moved to another township
    w = pl.read_parquet(out / SEP / "warnings.parquet")
    person_rules = [n for n, rc in CFG.rules.items() if rc.per_person]
    open_ = w.filter(~pl.col("warning_id").is_in(list(answered)), pl.col("household_id").is_not_null())
    alone = (open_.group_by("warning_id", "household_id").agg(
        only=pl.col("rule").is_in(person_rules).all(), persons=pl.col("person_ids").explode().unique())
        .filter("only", pl.col("persons").list.len() == 1).sort("warning_id"))
    roster = _csv(inbox / OCT / "户籍底册")
    rows = read_rows(roster)
    h = rows[0]
    hh, pid, idn, rel, size, town, vil, grp = (_col(h, n) for n in (
        "户编号", "人编号", "证件号码", "与户主关系", "家庭人口数", "乡（镇）", "行政村", "村民小组"))
    heads = {r[hh] for r in rows[1:] if r[rel] == "户主"}
    split = next((wid, p) for wid, p in zip(alone["warning_id"], alone["persons"].list.first())
                 if any(r[pid] == p and r[rel] != "户主" for r in rows[1:]))
    taken = w.filter(pl.col("warning_id") == split[0])["household_id"][0]
    moved_w = open_.filter(pl.col("household_id") != taken).sort("warning_id").row(0, named=True)
    there = next(r for r in rows[1:] if r[town] != moved_w["township"])
    for r in rows[1:]:
        if r[pid] == split[1]:
            r[hh], r[rel], r[size] = r[idn], "户主", "1"
            split = (split[0], r[idn])
        elif r[hh] == moved_w["household_id"]:
            r[town], r[vil], r[grp] = there[town], there[vil], there[grp]
    assert split[1] not in heads
    write_rows(roster, rows)
    assert _run(inbox, out, OCT) == 0
    ids = {r[idn].upper() for p in (SEP, OCT) for r in read_rows(_csv(inbox / p / "户籍底册"))[1:]}
    return {"out": out, "inbox": inbox, "answered": answered, "split": split,
            "moved": (moved_w["warning_id"], there[town]), "ids": ids}


def test_no_township_file_holds_a_full_id_when_households_are_numbered_by_id(county):
    """Every cell of every file under townships/ (lists, workbooks' sheets, 反馈退回) of both
    months: no roster person's ID; the lists' 户编号 are the heads' IDs masked (first 6, last 4)."""
    files = sorted(p for per in (SEP, OCT) for p in (county["out"] / per / "townships").rglob("*")
                   if p.suffix in (".csv", ".xlsx"))
    assert any(p.suffix == ".xlsx" for p in files) and any(p.suffix == ".csv" for p in files)
    leaked = {(p.name, i) for p in files for c in every_cell(p) for i in county["ids"] if i in c.upper()}
    assert not leaked
    for per in (SEP, OCT):
        hh = township_lists(county["out"], per)["户编号"].drop_nulls()
        assert hh.len() and hh.str.contains(MASKED.pattern).all(), hh.filter(~hh.str.contains(MASKED.pattern))
    overdue = pl.read_csv(county["out"] / OCT / "county" / "逾期未核实清单.csv", infer_schema=False)
    assert not any(i in c.upper() for c in overdue["户编号"].drop_nulls() for i in county["ids"])


def test_the_returned_lists_are_taken_whole_with_the_ids_masked(county):
    """Every answer of the returned (masked) lists is taken: each answered warning's status in
    October is its 核实结果, nothing is told back, and 行数核对 balances both months."""
    status = pl.read_parquet(county["out"] / OCT / "warning_status.parquet")
    answered = county["answered"]
    assert len(answered) > 10
    got = dict(status.filter(pl.col("warning_id").is_in(list(answered))).select("warning_id", "result").iter_rows())
    assert got == answered
    assert not list((county["out"] / OCT / "townships").rglob("*_反馈退回.csv"))
    for per in (SEP, OCT):
        assert pl.read_csv(county["out"] / per / "county" / "行数核对_accounting.csv")["balanced"].all()


def test_carried_warnings_follow_their_household_and_persons_with_the_id_masked(county):
    """The warning whose person split off into a household of their own is listed saying so, the
    new 户编号 (their ID) masked; the moved household's warning is in its new township's list."""
    lists = township_lists(county["out"], OCT)
    wid, idn = county["split"]
    row = lists.filter(pl.col("预警编号") == wid).row(0, named=True)
    assert f"已分户至 {idn[:6]}********{idn[-4:]}" in row["状态"], row["状态"]
    wid, town = county["moved"]
    row = lists.filter(pl.col("预警编号") == wid).row(0, named=True)
    assert row["乡（镇）"] == town and "迁入" in row["状态"], row
    stored = pl.read_parquet(county["out"] / OCT / "warning_status.parquet")
    assert stored.filter(pl.col("warning_id") == wid)["household_id"].str.contains(r"^\d{17}[\dX]$").all()



def test_a_warning_id_does_not_give_the_household_id_back(county):
    """A 预警编号 of a household numbered by an ID is keyed (`rules.keyed_suffix`), not the plain
    sha1 of the 户编号 that the masked 户编号 beside it would give back by trying birth dates; and
    October knows September's (keyed) warnings: none of their households is warned again for the
    same risk type (the returned half closed, the other still open: repeats)."""
    from pipelines.rules import warning_suffix

    w = {p: pl.read_parquet(county["out"] / p / "warnings.parquet").filter(pl.col("household_id").is_not_null())
         .select("household_id", "risk_type", suffix=pl.col("warning_id").str.split("-").list.last()).unique()
         for p in (SEP, OCT)}
    for df in w.values():
        assert df.height and not any(warning_suffix(h, r) == s for h, r, s in df.iter_rows())
    assert w[SEP].join(w[OCT], on=["household_id", "risk_type"]).is_empty()

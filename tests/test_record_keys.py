"""End to end: one record number however Excel or a clerk spelled it (SPEC §1: a record delivered
again replaces the earlier one; a re-run never duplicates). The sample county with its 民政 and 医保
numbers all digits (`00…`, as a department's system may number), a 民政 correction re-saved in
Excel (the zeros gone) and a 农业农村 correction typed in lower case; then a November that
delivers October's settlements again, spelled as stored or with the zeros gone."""

from __future__ import annotations

import os
import re
import shutil
import time
from pathlib import Path

import duckdb
import polars as pl
import pytest

import cli
from config import load_config
from schemas.inputs import record_key
from tests.conftest import read_rows, write_rows

CFG = load_config()
OCT, NOV = "2026-10", "2026-11"
FIXED = 4  # records each correction delivers again


def _put(path: Path, rows: list[list[str]], later: float | None = None, end: str = "\n") -> None:
    write_rows(path, rows, end)
    if later:
        os.utime(path, (later, later))


def _renumbered(path: Path, prefix: str, to: str) -> None:
    """Every record number `prefix`+digits of the CSV file written `to`+digits instead."""
    _put(path, [[re.sub(rf"^{prefix}(\d+)$", rf"{to}\1", c) for c in r] for r in read_rows(path)])


def _run(inbox: Path, out: Path, period: str, issued: str) -> int:
    return cli.main(["run", "--inbox", str(inbox), "--period", period, "--out", str(out), "--issue-date", issued])


def _correction(src: Path, dest: Path, column: str, spell, change: str, later: float) -> list[tuple[str, str]]:
    """The first FIXED rows of `src` whose record number (its `column`) is there once, with the
    number spelled by `spell` and `change` (a column) moved by 1, as the file `dest`; -> (number
    as first delivered, as corrected)."""
    header, *body = read_rows(src)
    at, moved = header.index(column), header.index(change)
    once = [r for r in body if sum(x[at] == r[at] for x in body) == 1 and re.fullmatch(r"[\d.]+", r[moved])][:FIXED]
    fixes = [[spell(c) if i == at else f"{float(c) + 1:.2f}" if i == moved else c for i, c in enumerate(r)] for r in once]
    _put(dest, [header, *fixes], later)
    return [(r[at], f[at]) for r, f in zip(once, fixes)]


@pytest.fixture(scope="module")
def october(prefect_harness, sample_county, tmp_path_factory):
    dest = tmp_path_factory.mktemp("recordkeys")
    inbox = dest / "inbox"
    shutil.copytree(sample_county / "inbox", inbox)
    p = inbox / OCT
    folder = {CFG.folder_of(d.name): d for d in p.iterdir() if d.is_dir()}
    for f in folder["医保"].glob("结算明细_*.csv"):
        _renumbered(f, "JS", "00")
    civil = next(folder["民政"].glob("救助变动_*.csv"))
    _renumbered(civil, "MZ", "00")
    later = time.time() + 3600
    stripped = _correction(civil, folder["民政"] / "救助变动_2026-10_更正.csv", "记录编号", lambda c: c.lstrip("0"),
                           "月救助金额", later)
    agri = next(f for f in folder["农业农村"].glob("灾情损失_*.csv") if "重发" not in f.name)
    lowered = _correction(agri, folder["农业农村"] / "灾情损失_2026-10_更正.csv", "报案编号", str.lower, "损失金额",
                          later)
    out = dest / "out"
    assert _run(inbox, out, OCT, "2026-11-02") == 0
    return inbox, out, {"民政": stripped, "农业农村": lowered}, {"民政": civil.name, "农业农村": agri.name}


def test_a_correction_spelling_the_number_otherwise_replaces_the_record_and_warns_once(october):
    """The corrections (民政's numbers with Excel's zeros gone, 农业农村's in lower case) replace
    their records: one link each, under the correction's spelling (the department's latest word,
    shown on the lists); every warning cites a record once; the 行数核对 balances and the report
    counts the corrections as 更正记录."""
    _, out, fixed, original = october
    links = pl.read_parquet(out / OCT / "links.parquet")
    twice = links.group_by("dept", record_key(pl.col("record_id"))).len().filter(pl.col("len") > 1)
    assert twice.is_empty(), twice
    for dept, pairs in fixed.items():
        assert len(pairs) == FIXED
        mine = links.filter(pl.col("dept") == dept)["record_id"]
        assert all(new in mine and old not in mine for old, new in pairs), dept
    warnings = pl.read_parquet(out / OCT / "warnings.parquet")
    cited = warnings.select("warning_id", "rule", "record_ids").explode("record_ids").drop_nulls("record_ids")
    assert cited.group_by("warning_id", "rule", record_key(pl.col("record_ids"))).len()["len"].max() == 1
    assert cited.join(links, left_on="record_ids", right_on="record_id", how="anti").is_empty()  # (as the links spell them)
    new = {n for pairs in fixed.values() for _, n in pairs}
    told = cited.filter(pl.col("record_ids").is_in(list(new)))
    assert told.height  # (some corrected record warns: C2, C1 or A1 of the sample's rows)
    lists = pl.concat([pl.read_csv(f, infer_schema=False) for f in (out / OCT / "townships").rglob("*_预警清单.csv")])
    # (an all-digit number is written ="…" for Excel to keep it as text)
    shown = set(lists["来源记录编号"].drop_nulls().str.replace(r'^="(.*)"$', "$1").str.split("、").explode())
    assert set(told["record_ids"]) <= shown
    old = {o for pairs in fixed.values() for o, _ in pairs}
    assert not shown & old
    acc = pl.read_csv(out / OCT / "county" / "行数核对_accounting.csv")
    assert acc["balanced"].all()
    quality = pl.read_csv(out / OCT / "county" / "数据质量报告.csv", infer_schema=False)
    for dept, name in original.items():
        line = quality.filter(pl.col("类别").str.starts_with("更正记录"), pl.col("部门") == dept,
                              pl.col("文件").str.ends_with(name), pl.col("说明").str.contains("_更正.csv", literal=True))
        assert line["数量"].to_list() == [str(FIXED)], (dept, quality.filter(pl.col("部门") == dept))
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        replaced = con.sql("SELECT dept, record_id FROM superseded WHERE period = ? AND changed AND superseded_by LIKE '%_更正.csv:%'",
                           params=[OCT]).fetchall()
    finally:
        con.close()
    assert sorted(replaced) == sorted((d, o) for d, pairs in fixed.items() for o, _ in pairs)  # (as first spelled)


@pytest.fixture(scope="module")
def november(october, tmp_path_factory):
    """November delivers all October's settlements again, corrected (个人自付 tripled; re-exported,
    not byte for byte), with the roster and the other lists: `as_stored` keeps the numbers as October stored them (00…),
    `stripped` has them re-saved in Excel (the zeros gone). -> the warnings of each run."""
    inbox, out, _, _ = october
    paid = CFG.kinds["med_settlement"].fields["out_of_pocket"]

    def tripled(c: str) -> str:  # (a year's sums grown past `escalation_factor`: warned again, citing them)
        return f"{float(c) * 3:.2f}" if re.fullmatch(r"\d+\.\d+", c) else c

    got = {}
    for name, spell in (("as_stored", lambda c: c), ("stripped", lambda c: re.sub(r"^0+(\d)", r"\1", c))):
        dest = tmp_path_factory.mktemp(f"nov_{name}")
        shutil.copytree(inbox / OCT, dest / "inbox" / NOV)
        med = next(d for d in (dest / "inbox" / NOV).iterdir() if CFG.folder_of(d.name) == "医保")
        for f in med.glob("结算明细_*.csv"):  # (re-exported: other line ends, not October's bytes)
            rows = read_rows(f)
            top = next(i for i, r in enumerate(rows) if set(paid) & set(r))
            at = next(i for i, h in enumerate(rows[top]) if h in paid)
            rows[top + 1:] = [[spell(c) if re.fullmatch(r"00\d+", c) else tripled(c) if i == at else c
                               for i, c in enumerate(r)] for r in rows[top + 1:]]
            _put(f, rows, end="\r\n")
        shutil.copytree(out, dest / "out")
        assert _run(dest / "inbox", dest / "out", NOV, "2026-12-01") == 0
        got[name] = dest / "out"
    return got


def test_the_next_month_delivering_a_stored_settlement_again_with_its_zeros_gone_counts_it_once(november):
    """A settlement stored in October as 00… and delivered again in November as Excel leaves it
    (…) is one settlement in the year's sums, its November amount replacing October's: November
    warns as it does when the numbers come spelled as stored (each sum tripled, none quadrupled),
    citing them as delivered."""
    def said(out: Path) -> pl.DataFrame:
        w = pl.read_parquet(out / NOV / "warnings.parquet")
        return w.select("household_id", "rule", "severity", "dept", keys=pl.col("record_ids").list.eval(
            record_key(pl.element())).list.sort()).sort(pl.all())

    stored, stripped = said(november["as_stored"]), said(november["stripped"])
    assert stripped.equals(stored), (stripped.join(stored, on=stripped.columns, how="anti"),
                                     stored.join(stripped, on=stored.columns, how="anti"))
    cited = pl.read_parquet(november["stripped"] / NOV / "warnings.parquet").filter(pl.col("dept") == "医保")[
        "record_ids"].explode().drop_nulls()
    assert cited.len() and not cited.str.starts_with("0").any()  # (as November delivered them)


def test_a_review_answer_whose_record_number_excel_stripped_names_the_record(october, tmp_path):
    """The county answers October's review queue in Excel, which drops the zeros of the 医保
    records' 记录编号 (00… -> …): the answers name those records (none set aside as 'no such
    record'), and October run again links them as answered, under the number as delivered."""
    inbox, out, _, _ = october
    shutil.copytree(inbox, tmp_path / "inbox")
    shutil.copytree(out, tmp_path / "out")
    queue = pl.read_excel(out / OCT / "county" / "人工复核队列.xlsx", infer_schema_length=0)
    first = queue.filter(pl.col("部门") == "医保", pl.col("记录编号").str.starts_with("00")).unique(
        ["部门", "记录编号"], keep="first", maintain_order=True)
    assert first.height >= 3
    answered = first.with_columns(pl.col("记录编号").str.replace(r"^0+", ""), 是否本人=pl.lit("是"), 复核人=pl.lit("李分析"))
    (tmp_path / "inbox" / OCT / "复核").mkdir()
    _put(tmp_path / "inbox" / OCT / "复核" / "人工复核队列_已复核.csv",
         [answered.columns, *[["" if v is None else v for v in r] for r in answered.rows()]])
    assert _run(tmp_path / "inbox", tmp_path / "out", OCT, "2026-11-02") == 0
    set_aside = pl.read_csv(tmp_path / "out" / OCT / "county" / "搁置行及原因.csv", infer_schema=False).filter(
        pl.col("部门") == "复核")
    assert set_aside.filter(pl.col("字段") == "记录编号").is_empty(), set_aside
    links = pl.read_parquet(tmp_path / "out" / OCT / "links.parquet").filter(pl.col("dept") == "医保")
    taken = first.select(record_id="记录编号", answer="人编号").join(links, on="record_id")
    assert taken.height == first.height  # (as delivered: 00…)
    used = taken.filter(pl.col("reason").str.starts_with("人工复核"))
    assert used.height >= 1 and (used["person_id"] == used["answer"]).all()
    assert used.height + set_aside.height == first.height

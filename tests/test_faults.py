"""Faults: bad files, runs killed at random points, two runs at once, row conservation.

The county is small (300 households) so the whole file stays near a minute and a half. Runs that
must be killed are real CLI processes (`python flows.py run ...`) pointed at the test harness's
Prefect API (no server start of their own), SIGKILLed in a chosen phase after a random delay.
"""

from __future__ import annotations

import csv
import io
import re
import os
import random
import signal
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import duckdb
import openpyxl
import polars as pl
import pytest

import cli
import flows
from adapters import inbox as reading
from adapters import warehouse
from adapters.inbox import ReadError, read_table
from config import load_config
from pipelines.standardize import detect_kind, known_headers, standardize
from pipelines.validate import validate
from tests.conftest import read_rows

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
ISSUE = "2026-11-02"
CFG = load_config()
KNOWN = known_headers(CFG)
OLE2 = bytes.fromhex("D0CF11E0A1B11AE1")
SETTLEMENT_HEADER = "结算流水号,姓名,证件号码,就诊类型,结算日期,医疗总费用,个人自付"


def _args(inbox: Path, out: Path, *extra: str) -> list[str]:
    return ["run", "--inbox", str(inbox), "--period", PERIOD, "--out", str(out), "--issue-date", ISSUE, *extra]


def _files(root: Path) -> dict[str, bytes]:
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _ole(*streams: str) -> bytes:
    """A legacy-Office (OLE2 compound file) blob naming the given streams, as an encrypted XLSX,
    an .xls or a .doc carries them (directory entries are UTF-16 names)."""
    body = b"".join(s.encode("utf-16-le").ljust(64, b"\0") for s in ("Root Entry", *streams))
    return OLE2 + b"\0" * 504 + body + b"\0" * 1024


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    from sample_data.generate import generate

    out = tmp_path_factory.mktemp("small_county")
    generate(out, seed=11, periods=(PERIOD,), households=300)
    return out


@pytest.fixture(scope="module")
def reference(prefect_harness, county, tmp_path_factory) -> Path:
    """An uninterrupted run: what every rerun must reproduce."""
    out = tmp_path_factory.mktemp("reference")
    assert cli.main(_args(county / "inbox", out)) == 0
    return out


# ---------------------------------------------------------------------------------------------
# Bad files, through the reader and validator (fast)


def _settlements(n: int = 3, huge_at: int | None = None) -> str:
    rows = [SETTLEMENT_HEADER]
    for i in range(n):
        name = "张" * 1_000_000 if i == huge_at else "张*明"
        rows.append(f"JS{i},{name},341302********123X,住院,2026-10-0{i + 1},100.5,{20 + i}")
    return "\n".join(rows) + "\n"


def _xlsx_bytes() -> bytes:
    buf = io.BytesIO()
    wb = openpyxl.Workbook()
    wb.active.append(SETTLEMENT_HEADER.split(","))
    wb.active.append(["JS1", "张*明", "341302********123X", "住院", "2026-10-01", "100", "20"])
    wb.save(buf)
    return buf.getvalue()


def _corrupt_xlsx() -> bytes:
    """A valid ZIP whose workbook XML is garbage."""
    src = zipfile.ZipFile(io.BytesIO(_xlsx_bytes()))
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        for item in src.infolist():
            data = src.read(item)
            z.writestr(item, b"<worksheet><sheetData><row><c" if item.filename.endswith("sheet1.xml") else data)
    return buf.getvalue()


BAD_FILES = {
    # name: (bytes, words the one-line message must contain)
    "empty.csv": (b"", "empty file"),
    "blank.csv": (b" \r\n\r\n  ", "empty file"),
    "empty.xlsx": (b"", "empty file"),
    "garbage.csv": (random.Random(1).randbytes(5000), "binary"),
    "garbage.xlsx": (random.Random(2).randbytes(5000), "not an XLSX"),
    "truncated.xlsx": (_xlsx_bytes()[:1500], "corrupt XLSX"),
    "corrupt.xlsx": (_corrupt_xlsx(), "XLSX"),
    "encrypted.xlsx": (_ole("EncryptionInfo", "EncryptedPackage"), "password-protected"),
    "old_excel.xlsx": (_ole("Workbook", "SummaryInformation"), ".xls renamed"),
    "word.csv": (_ole("WordDocument", "1Table"), ".doc renamed"),
    "word.xlsx": (_ole("WordDocument", "1Table"), ".doc renamed"),
    "utf16.csv": (_settlements().encode("utf-16"), "UTF-16"),
    "utf16be.csv": (_settlements().encode("utf-16-be"), "UTF-16"),
    "xlsx_named.csv": (_xlsx_bytes(), "not a text CSV"),
    "pdf.csv": (b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n1 0 obj\n<<>>\nendobj\n" * 20, "PDF"),
    "latin1.csv": ("结算流水号".encode("utf-8")[:2] + bytes(range(0x80, 0x100)) * 3, ""),
    "no_header.csv": ("a,b,c\n1,2,3\n".encode(), "no header"),
}


@pytest.mark.parametrize("name", sorted(BAD_FILES))
def test_each_bad_file_gives_one_clear_line_naming_file_and_problem(tmp_path, name):
    data, words = BAD_FILES[name]
    path = tmp_path / name
    path.write_bytes(data)
    rel = f"医保/{name}"
    got = read_table(path, rel, KNOWN, [])
    assert isinstance(got, ReadError), f"{name} read as a table"
    assert got.message.startswith(rel + ": ")
    assert "\n" not in got.message and "\r" not in got.message
    assert len(got.message) < 300
    assert str(tmp_path) not in got.message  # the server's paths are nobody's business
    assert words.lower() in got.problem.lower(), got.problem


def test_truncated_csv_keeps_every_complete_row_and_sets_the_torn_one_aside(tmp_path):
    text = _settlements(6)
    for cut_in_char in (False, True):
        data = text.encode("utf-8")
        cut = len(data) - 12
        if cut_in_char:  # end inside the 3-byte UTF-8 of a Chinese character
            data = (text + "JS9,王").encode("utf-8")
            cut = len(data) - 1
        path = tmp_path / f"t{cut_in_char}.csv"
        path.write_bytes(data[:cut])
        notes: list = []
        raw = read_table(path, "医保/t.csv", KNOWN, notes)
        assert not isinstance(raw, ReadError), raw
        spec = detect_kind([c for c in raw.columns if c != "line"], "医保", CFG)
        valid, rejected = validate(standardize(raw, spec), spec, "医保", "医保/t.csv")
        complete = 6 if cut_in_char else 5
        assert valid["record_id"].to_list() == [f"JS{i}" for i in range(complete)]
        assert rejected["line"].to_list() == [complete + 2]  # the torn last row, set aside with its line
        if cut_in_char:
            assert any("truncated" in n.problem for n in notes)


def test_million_character_field_sets_its_row_aside_and_keeps_the_others(tmp_path):
    path = tmp_path / "huge.csv"
    path.write_text(_settlements(3, huge_at=1), encoding="utf-8")
    raw = read_table(path, "医保/huge.csv", KNOWN, [])
    assert not isinstance(raw, ReadError), raw  # one bad field does not cost the whole file
    spec = detect_kind([c for c in raw.columns if c != "line"], "医保", CFG)
    valid, rejected = validate(standardize(raw, spec), spec, "医保", "医保/huge.csv")
    assert valid["record_id"].to_list() == ["JS0", "JS2"]
    row = rejected.row(0, named=True)
    assert (row["line"], row["field"]) == (3, "name")
    assert "too long" in row["reason"] and len(row["value"]) < 100


def test_missing_required_column_and_duplicated_columns(tmp_path):
    # 个人自付 missing: no 医保 kind fits; the flow sets every row aside (line kept)
    path = tmp_path / "missing.csv"
    path.write_text("结算流水号,姓名,证件号码,结算日期\nJS1,张三,341302********123X,2026-10-01\n", encoding="utf-8")
    raw = read_table(path, "医保/missing.csv", KNOWN, [])
    assert detect_kind([c for c in raw.columns if c != "line"], "医保", CFG) is None
    # duplicated column: the first is kept, a note names the column
    path = tmp_path / "dup.csv"
    path.write_text(SETTLEMENT_HEADER + ",个人自付\nJS1,张*明,341302********123X,住院,2026-10-01,9,20,99999\n", "utf-8")
    notes: list = []
    raw = read_table(path, "医保/dup.csv", KNOWN, notes)
    assert raw["个人自付"].to_list() == ["20"]
    assert len(notes) == 1 and "个人自付" in notes[0].message and notes[0].message.startswith("医保/dup.csv")


# ---------------------------------------------------------------------------------------------
# One end-to-end run with several bad files dropped into the inbox


def _bad_inbox(county: Path, dest: Path) -> tuple[Path, dict[str, str]]:
    import shutil

    inbox = dest / "inbox"
    shutil.copytree(county / "inbox", inbox)
    p = inbox / PERIOD
    utf16_src = next(f for d in p.iterdir() if CFG.folder_of(d.name) == "民政" for f in d.glob("*.csv")).read_bytes()
    for enc in ("utf-8-sig", "gb18030"):
        try:
            utf16 = utf16_src.decode(enc).encode("utf-16")
            break
        except UnicodeDecodeError:
            continue
    bad = {
        "医保/结算明细_截断.xlsx": (_xlsx_bytes()[:1500], "corrupt XLSX"),
        "住建/鉴定_加密.xlsx": (_ole("EncryptionInfo", "EncryptedPackage"), "password-protected"),
        "教育/学籍异动_旧版.xls": (_ole("Workbook"), "wrong file type"),
        "教育/学籍异动_改名.csv": (_ole("WordDocument"), ".doc renamed"),
        "民政/救助变动_utf16.csv": (utf16, "UTF-16"),
        "残联/残疾人证_空.csv": (b"", "empty file"),
        "人社/就业_乱码.csv": (random.Random(3).randbytes(4000), "binary"),
        "农业农村/灾情_缺列.csv": ("报案编号,户主姓名,证件号码,灾害类型\nNYX1,张三,341302********123X,洪涝\n".encode(),
                               "缺少必需列"),
        "农业农村/灾情_缺列_无数据.csv": ("报案编号,户主姓名,证件号码,灾害类型\n".encode(), "缺少必需列"),  # no row to set aside
        "医保/结算明细_超长.csv": (_settlements(3, huge_at=1).replace("JS", "BIG").encode(), "too long"),
    }
    folder = {CFG.folder_of(d.name): d.name for d in p.iterdir() if d.is_dir()}  # 人社 may be delivered as hr/
    said = {}
    for rel, (data, words) in bad.items():
        dept, name = rel.split("/")
        rel = f"{folder[dept]}/{name}"
        (p / rel).write_bytes(data)
        said[rel] = words
    (p / "税务局").mkdir()  # an unknown folder, a file outside any: read by no one, and said so
    (p / "税务局" / "结算明细_2026-10.csv").write_text(_settlements(), encoding="utf-8")
    (p / "结算明细_放错位置.csv").write_text(_settlements(), encoding="utf-8")
    said |= {"税务局/": "unknown folder", "结算明细_放错位置.csv": "not in a department folder"}
    return inbox, said


@pytest.fixture(scope="module")
def bad_run(prefect_harness, county, tmp_path_factory):
    dest = tmp_path_factory.mktemp("bad")
    inbox, bad = _bad_inbox(county, dest)
    out = dest / "out"
    sys_out = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(sys_out):
        code = cli.main(_args(inbox, out))
    return code, out, bad, sys_out.getvalue()


def test_bad_files_are_set_aside_with_a_message_and_the_rest_runs(bad_run, reference):
    code, out, bad, _ = bad_run
    assert code == 0
    county = out / PERIOD / "county"
    rejected = pl.read_csv(county / "搁置行及原因.csv", infer_schema=False)
    quality = pl.read_csv(county / "数据质量报告.csv", infer_schema=False)
    said = pl.concat([
        rejected.select(pl.col("文件").alias("file"), pl.col("原因").alias("text")),
        quality.select(pl.col("文件").alias("file"), (pl.col("类别") + " " + pl.col("说明")).alias("text")),
    ]).drop_nulls("file")
    for rel, words in bad.items():
        lines = said.filter(pl.col("file") == rel)["text"].to_list()
        assert lines, f"{rel} is not reported"
        assert any(words.lower() in t.lower() for t in lines), (rel, lines)
        assert all("\n" not in t for t in lines)
    # the quality report lists every skipped file
    skipped = set(quality.filter(pl.col("文件").is_in(list(bad)))["文件"])
    assert skipped == set(bad)
    # every department still ran, and balanced
    acc = pl.read_csv(county / "行数核对_accounting.csv")
    assert acc["balanced"].all() and (acc["rows_read"] > 0).all() and acc.height == 8
    # nothing from the good files was lost: every record of the uninterrupted run is still there
    ref = pl.read_parquet(reference / PERIOD / "links.parquet").select("dept", "record_id")
    got = pl.read_parquet(out / PERIOD / "links.parquet")
    assert ref.join(got, on=["dept", "record_id"], how="anti").height == 0
    # the good rows of the file with a 1,000,000-character field were linked, the bad one set aside
    assert set(got.filter(pl.col("record_id").is_in(["BIG0", "BIG2"]))["decision"]) <= {"matched", "review", "unmatched"}
    assert got.filter(pl.col("record_id") == "BIG1")["decision"].to_list() == ["rejected"]
    assert (rejected["值"].str.len_chars().fill_null(0) < 200).all()
    # the folder-level warnings are unchanged by the junk
    assert pl.read_parquet(out / PERIOD / "warnings.parquet").drop("warning_id").sort(pl.all()).equals(
        pl.read_parquet(reference / PERIOD / "warnings.parquet").drop("warning_id").sort(pl.all()))


def test_describe_misfit_names_the_missing_required_columns():
    from pipelines.standardize import describe_misfit

    msg = describe_misfit(["报案编号", "户主姓名", "证件号码", "灾害类型"], "农业农村", CFG)
    assert "损失金额" in msg and "\n" not in msg
    msg = describe_misfit(["结算流水号", "姓名", "证件号码", "结算日期"], "医保", CFG)
    assert "个人自付" in msg and "参保状态" in msg and "放错" not in msg
    # a file put in the wrong folder: whose data it looks like
    msg = describe_misfit(["记录编号", "姓名", "证件号码", "救助类别", "变动类型"], "教育", CFG)
    assert "学籍号" in msg and "表头符合 民政 的数据，放错文件夹？" in msg
    # the headers the folder does not read: the column meant is among them (个人自付金额 for 个人自付)
    msg = describe_misfit(["结算流水号", "姓名", "证件号码", "结算日期", "个人自付金额（元）", "备 注"], "医保", CFG)
    assert msg.endswith("；未识别的表头 headers not read: 个人自付金额（元）、备 注；「个人自付金额（元）」是否即「个人自付」？ "
                        "is '个人自付金额（元）' meant as '个人自付'?")
    assert "未识别" not in describe_misfit(["报案编号", "户主姓名", "证件号码", "灾害类型"], "农业农村", CFG)


def test_a_misfit_names_first_the_header_that_looks_like_the_missing_column():
    """A township's returned list whose 核实结果 the clerk renamed 核实情况: the message sent back
    to the township named the list's own columns first (状态、逾期天数、风险类型、… 8 of them, then
    …), the renamed one cut off. The headers not read are named most like a missing column's
    name first, and the likeliest asked about."""
    from pipelines.standardize import describe_misfit

    heads = ["状态", "逾期天数", "预警编号", "风险类型", "严重程度", "乡（镇）", "行政村", "村民小组", "户编号", "户主姓名",
             "涉及人员", "来源部门", "下发日期", "核实截止日期", "核实情况", "是否纳入监测", "核实人", "核实日期", "备注"]
    msg = describe_misfit(heads, "反馈", CFG)
    # (核实情况 is read now, as a clerk's added note column: it is asked about, not said unread)
    assert "「核实情况」是否即「核实结果」" in msg and "核实情况、" not in msg
    msg = describe_misfit(["报案编号", "户主姓名", "证件号码", "灾害类型", "备 注", "金 额"], "农业农村", CFG)
    assert msg.endswith("headers not read: 金 额、备 注；「金 额」是否即「损失金额（元）」？ is '金 额' meant as '损失金额（元）'?")
    # no header like the missing one: as before, in their order, nothing asked
    msg = describe_misfit(["报案编号", "户主姓名", "证件号码", "灾害类型", "备 注", "经办人"], "农业农村", CFG)
    assert msg.endswith("；未识别的表头 headers not read: 备 注、经办人")


def test_a_returned_list_without_its_warning_id_column_is_not_asked_whether_the_household_number_is_it():
    """A clerk deleted the 预警编号 column of the list: the reason sent back asked 「户编号」是否即
    「预警编号」？ (户编号 is the list's own column, next to it). It says the list's 预警编号
    column was deleted or renamed, and to answer on the list as sent."""
    from pipelines.standardize import describe_misfit

    heads = ["状态", "逾期天数", "风险类型", "严重程度", "乡（镇）", "行政村", "村民小组", "户编号", "户主姓名", "涉及人员",
             "户类型", "来源部门", "预警规则", "预警依据", "来源记录编号", "网格员", "网格员电话", "下发日期", "核实截止日期",
             "核实结果", "是否纳入监测", "核实人", "核实日期", "备注"]
    msg = describe_misfit(heads, "反馈", CFG)
    assert "是否即" not in msg and "「预警编号」列被删除或改名" in msg
    # a renamed answer column is still asked about (核实情况 for 核实结果)
    msg = describe_misfit([h if h != "核实结果" else "核实情况" for h in heads] + ["预警编号"], "反馈", CFG)
    assert "「核实情况」是否即「核实结果」" in msg


def test_a_file_missing_a_required_column_is_reported_with_the_column_name(bad_run):
    _, out, bad, _ = bad_run
    rel = next(f for f in bad if f.endswith("灾情_缺列.csv"))
    rejected = pl.read_csv(out / PERIOD / "county" / "搁置行及原因.csv", infer_schema=False)
    reasons = rejected.filter(pl.col("文件") == rel)["原因"].to_list()
    assert reasons and all("损失金额" in r for r in reasons), reasons


def test_every_file_set_aside_whole_is_said_on_the_console_with_its_reason(bad_run):
    """README: the console's 请注意 attention lines name each file (or folder) set aside whole
    with its reason, not only 数据质量报告.csv: unreadable, of no kind by its header (缺少必需列,
    once only rows counted in the report), in an unknown folder or outside any (once in neither)."""
    _, _, bad, said = bad_run
    attention = said.split("请注意 attention")[1].splitlines()
    for rel, words in bad.items():
        if rel.endswith("_超长.csv"):  # one row set aside, the file read
            continue
        lines = [line for line in attention if f" {rel} " in line]
        assert len(lines) == 1 and words.lower() in lines[0].lower(), (rel, lines)


# ---------------------------------------------------------------------------------------------
# Re-deliveries as a bureau puts them into the inbox


@pytest.fixture(scope="module")
def redelivered_run(prefect_harness, county, reference, tmp_path_factory):
    """The same month with re-deliveries: 医保 sends 结算明细_2026-10_更正.csv (put in after the
    others) correcting a settlement of 第二批 (更 U+66F4 sorts before 第 U+7B2C); 残联's file is also
    dropped into 教育 byte for byte (教育 sorts before 残联); 人社's file is put in twice (表(1).csv,
    byte for byte); and 民政 sends 救助变动_2026-10_更正.csv correcting the rows the uninterrupted run
    set aside (an unknown code, a negative amount)."""
    import shutil

    dest = tmp_path_factory.mktemp("redelivered")
    inbox = dest / "inbox"
    shutil.copytree(county / "inbox", inbox)
    p = inbox / PERIOD
    folder = {CFG.folder_of(d.name): d for d in p.iterdir() if d.is_dir()}
    later = time.time() + 3600

    def put(path: Path, rows: list[list[str]]) -> None:
        s = io.StringIO()
        csv.writer(s, lineterminator="\n").writerows(rows)
        path.write_text(s.getvalue(), encoding="utf-8-sig")
        os.utime(path, (later, later))

    header, *body = read_rows(next(folder["医保"].glob("结算明细_*第二批.csv")))
    col = next(i for i, h in enumerate(header) if h in CFG.kinds["med_settlement"].fields["out_of_pocket"])
    fixed = body[0][:col] + ["30000.00"] + body[0][col + 1:]
    put(folder["医保"] / "结算明细_2026-10_更正.csv", [header, fixed])

    disability = next(folder["残联"].glob("*.csv"))
    shutil.copy2(disability, folder["教育"] / disability.name)
    hr = next(folder["人社"].glob("*.*"))
    shutil.copy2(hr, folder["人社"] / f"{hr.stem}(1){hr.suffix}")
    civil = next(folder["民政"].glob("救助变动_*.csv"))
    bad = pl.read_csv(reference / PERIOD / "county" / "搁置行及原因.csv", infer_schema=False).filter(
        (pl.col("文件") == f"{folder['民政'].name}/{civil.name}") & pl.col("字段").is_in(["救助类别", "月救助金额"]))
    header, *body = read_rows(civil)
    fixes = []
    for line in bad["行号"].cast(pl.Int64).to_list():
        row = body[line - 2][:]
        row[header.index("救助类别")] = "低保"
        row[header.index("月救助金额")] = row[header.index("月救助金额")].lstrip("'-")
        fixes.append(row)
    put(folder["民政"] / "救助变动_2026-10_更正.csv", [header, *fixes])
    out = dest / "out"
    said = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(said):
        code = cli.main(_args(inbox, out))
    assert code == 0
    return out, said.getvalue(), fixed[0], [r[0] for r in fixes], f"{folder['教育'].name}/{disability.name}"


def test_a_correction_put_in_later_wins_though_its_name_sorts_first(redelivered_run):
    out, said, record, _, _ = redelivered_run
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        used = con.sql("SELECT file, out_of_pocket FROM settlements WHERE period = ? AND record_id = ?",
                       params=[PERIOD, record]).fetchall()
    finally:
        con.close()
    assert used == [("医保/结算明细_2026-10_更正.csv", 30000.0)]
    links = pl.read_parquet(out / PERIOD / "links.parquet")
    assert links.filter(pl.col("record_id") == record).height == 1
    # which file's delivery was used is said in the report and on the console
    quality = pl.read_csv(out / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
    replaced = quality.filter(pl.col("类别").str.starts_with("更正记录") & pl.col("说明").str.contains("_更正.csv", literal=True)
                              & pl.col("文件").str.contains("第二批", literal=True))
    assert replaced["数量"].to_list() == ["1"]
    assert any("第二批" in line and "结算明细_2026-10_更正.csv" in line for line in said.splitlines())


def test_a_copy_in_another_departments_folder_does_not_take_the_real_files_place(redelivered_run, reference):
    out, _, _, _, copy = redelivered_run
    acc = {r["dept"]: r for r in pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv").iter_rows(named=True)}
    ref = {r["dept"]: r for r in pl.read_csv(reference / PERIOD / "county" / "行数核对_accounting.csv").iter_rows(named=True)}
    assert acc["残联"] == ref["残联"]
    # (人社's repeat is not read, its rows counted as a copy's: the department balances)
    assert acc["人社"] == {**ref["人社"], "rows_read": 2 * ref["人社"]["rows_read"], "copies": ref["人社"]["rows_read"],
                         "accounted": 2 * ref["人社"]["rows_read"]} and ref["人社"]["rows_read"] > 0
    assert acc["教育"]["rows_read"] == ref["教育"]["rows_read"] + ref["残联"]["rows_read"]
    rejected = pl.read_csv(out / PERIOD / "county" / "搁置行及原因.csv", infer_schema=False)
    copied = rejected.filter(pl.col("文件") == copy)  # set aside in 教育, saying whose data it looks like
    assert copied.height == ref["残联"]["rows_read"] and copied["原因"].str.contains("残联").all()
    quality = pl.read_csv(out / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
    assert quality.filter(pl.col("说明").str.contains("identical") & pl.col("部门").is_in(["残联", "教育"])).is_empty()
    assert quality.filter(pl.col("类别").str.starts_with("规则暂停") & (pl.col("部门") == "残联")).is_empty()


def test_a_corrected_bad_row_is_superseded_not_left_to_be_fixed(redelivered_run):
    out, _, _, fixed, _ = redelivered_run
    assert fixed
    links = pl.read_parquet(out / PERIOD / "links.parquet").filter(pl.col("record_id").is_in(fixed))
    assert links.height == len(fixed) and "rejected" not in links["decision"].to_list()
    rejected = pl.read_csv(out / PERIOD / "county" / "搁置行及原因.csv", infer_schema=False)
    assert rejected.filter(pl.col("记录编号").is_in(fixed)).is_empty()
    acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv").filter(pl.col("dept") == "民政")
    assert acc["superseded"].to_list() == [len(fixed)] and acc["balanced"].all()


def test_every_row_read_is_in_the_warehouse_as_linked_or_superseded(redelivered_run):
    """Nothing lost, row by row: each department's rows read = its rows in `links` (decided or set
    aside) + its rows in `superseded`, which names the file, line and the delivery that replaced it,
    + the rows of its files left out as copies (人社's repeat)."""
    out, _, record, fixed, _ = redelivered_run
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        sup = con.sql("SELECT * FROM superseded WHERE period = ?", params=[PERIOD]).pl()
        per_dept = con.sql("""SELECT a.dept, a.rows_read, a.superseded, a.copies,
                                     (SELECT count(*) FROM links l WHERE l.period = a.period AND l.dept = a.dept) AS linked,
                                     (SELECT count(*) FROM superseded s WHERE s.period = a.period AND s.dept = a.dept) AS stored
                              FROM accounting a WHERE a.period = ?""", params=[PERIOD]).pl()
    finally:
        con.close()
    assert (per_dept["stored"] == per_dept["superseded"]).all()
    assert (per_dept["linked"] + per_dept["stored"] + per_dept["copies"] == per_dept["rows_read"]).all()
    assert "人社" in per_dept.filter(pl.col("copies") > 0)["dept"].to_list()
    by = dict(zip(sup["record_id"], sup["superseded_by"]))
    assert by[record].startswith("医保/结算明细_2026-10_更正.csv:")
    assert all(by[r].startswith("民政/救助变动_2026-10_更正.csv:") for r in fixed)


# ---------------------------------------------------------------------------------------------
# Row conservation: a broken balance fails the run loudly and publishes nothing


@pytest.fixture(scope="module")
def gaps_run(prefect_harness, county, tmp_path_factory):
    """A delivery with pieces missing or odd, as counties send them: no 网格, no 参保名单, an
    Excel lock file beside a department's workbook, a settlement row with an unquoted 1,234.50,
    roster rows without an ID or with a repeated 人编号."""
    import shutil

    dest = tmp_path_factory.mktemp("gaps")
    inbox = dest / "inbox"
    shutil.copytree(county / "inbox", inbox)
    p = inbox / PERIOD
    folder = {CFG.folder_of(d.name): d for d in p.iterdir() if d.is_dir()}
    shutil.rmtree(folder["网格"])
    for f in folder["医保"].glob("参保名单*"):
        f.unlink()
    (folder["住建"] / "~$住房安全鉴定.xlsx").write_bytes(b"\x08\x00a\x00b\x00" * 20)
    roster = next(folder["户籍底册"].glob("*.csv"))
    rows = list(csv.reader(io.StringIO(roster.read_text(encoding="utf-8-sig"))))
    rows[3][rows[0].index("证件号码")] = ""  # a roster row without its ID, two with one 人编号
    rows[5][rows[0].index("人编号")] = rows[4][rows[0].index("人编号")]
    with open(roster, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    (folder["医保"] / "结算明细_手工补录.csv").write_text(
        SETTLEMENT_HEADER + "\nRAG1,张*明,341302********123X,住院,2026-10-01,1,234.50,134.50\n"
        "RAG2,张*明,341302********123X,住院,2026-10-02,100,20\n", encoding="utf-8")
    out = dest / "out"
    sys_out = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(sys_out):
        code = cli.main(_args(inbox, out))
    return code, out / PERIOD, sys_out.getvalue()


def test_missing_pieces_are_said_on_the_console_and_in_the_report_and_the_run_goes_on(gaps_run):
    code, out, said = gaps_run
    assert code == 0
    quality = pl.read_csv(out / "county" / "数据质量报告.csv", infer_schema=False)
    detail = lambda cat: " ".join(quality.filter(pl.col("类别").str.starts_with(cat))["说明"].to_list())  # noqa: E731
    # no grid: the lists go out with empty 网格员 columns, and the report and console say why
    assert "网格员" in detail("网格未报送") and "网格员" in said and not detail("部门未报送")
    town = next((out / "townships").rglob("*_预警清单.csv"))
    assert pl.read_csv(town, infer_schema=False)["网格员"].null_count() == pl.read_csv(town, infer_schema=False).height
    # no 参保名单 beside the settlements: M4 did not run, and that is said
    assert "M4" in detail("规则暂停") and "M4: 本期没有可用的参保名单" in said
    # ... and 医保's 报送情况 (report, console) says the list it did not send, though its settlements came
    html = (out / "county" / "县级预警报告.html").read_text()
    assert re.search(r"<tr><th>医保</th>.*?<td class=\"txt bad\">缺参保名单，其规则未运行<br>", html)
    assert [line for line in said.splitlines() if line.startswith("  医保: ")][0].endswith(
        "OK  缺参保名单，其规则未运行 no 参保名单 (med_enrollment); its rules did not run")
    # the lock file is a note, not a delivery set aside
    notes = quality.filter(pl.col("文件").fill_null("").str.contains("~$", literal=True))
    assert notes["类别"].to_list() == ["文件说明 file note"]


def test_roster_rows_set_aside_are_said_on_the_console_once_per_reason(gaps_run):
    """A roster person set aside is one no record can be linked to nor warned: the console says
    so, one line per file and reason with its count of rows (not a line per row)."""
    _, _, said = gaps_run
    attention = said.split("请注意 attention")[1].splitlines()
    roster = [line for line in attention if line.startswith("  行被搁置 户籍底册 户籍底册/")]
    assert [line for line in roster if "必填项为空" in line and "证件号码" in line]
    assert [line for line in roster if "编号重复" in line and line.endswith("（2 行 rows）")]


def test_a_row_with_more_fields_than_the_header_is_set_aside_not_read_shifted(gaps_run):
    _, out, _ = gaps_run
    rejected = pl.read_csv(out / "county" / "搁置行及原因.csv", infer_schema=False)
    rag = rejected.filter(pl.col("记录编号") == "RAG1")
    assert rag["行号"].to_list() == ["2"] and rag["字段"].to_list() == ["(整行 row)"]
    assert "more fields than the header" in rag["原因"][0]
    links = pl.read_parquet(out / "links.parquet")
    assert links.filter(pl.col("record_id") == "RAG1")["decision"].to_list() == ["rejected"]
    assert links.filter(pl.col("record_id") == "RAG2")["decision"].to_list() != ["rejected"]


def test_a_lost_row_fails_the_run_loudly_and_keeps_the_last_good_outputs(bad_run, tmp_path, monkeypatch, capsys):
    import shutil

    code, shared_out, _, _ = bad_run
    assert code == 0
    inbox, out = tmp_path / "inbox", tmp_path / "out"  # (bad_run's folders stay as they were for the other tests)
    shutil.copytree(shared_out.parent / "inbox", inbox)
    shutil.copytree(shared_out, out)
    before = _files(out / PERIOD)
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    links_before = con.sql("SELECT count(*) FROM links WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
    con.close()
    real = reading.keep_latest

    def losing_keep_latest(*args):  # a bug that silently drops the superseded rows
        latest, rejected, superseded = real(*args)
        return latest, rejected, superseded.head(0)

    monkeypatch.setattr(reading, "keep_latest", losing_keep_latest)
    capsys.readouterr()
    assert cli.main(_args(inbox, out)) == 1
    err = capsys.readouterr().err
    assert "row accounting does not add up" in err and "read" in err and "accounted" in err
    assert _files(out / PERIOD) == before  # the last good period folder is untouched
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        assert con.sql("SELECT count(*) FROM links WHERE period = ?", params=[PERIOD]).fetchall()[0][0] == links_before
        last = con.sql("SELECT status FROM runs ORDER BY started_at DESC LIMIT 1").fetchall()[0][0]
    finally:
        con.close()
    assert last == "failed"
    assert not [p for p in out.iterdir() if p.name.startswith(f".{PERIOD}.staging")]

    def failing_keep_latest(*args):  # any other bug: its message may quote data, so only its type is said
        raise ValueError("341302199001011234 张三")

    monkeypatch.setattr(reading, "keep_latest", failing_keep_latest)
    assert cli.main(_args(inbox, out)) == 1
    err = capsys.readouterr().err.strip()
    said = re.fullmatch(r"error: ValueError \(details: prefect flow-run logs ([0-9a-f-]{36})\)", err.splitlines()[-1])
    assert said and "3413" not in err, err  # the run whose log holds the traceback
    assert _files(out / PERIOD) == before


# ---------------------------------------------------------------------------------------------
# Kills at random points, two runs at once


def _staging(out: Path) -> list[Path]:
    return sorted(out.glob(f".{PERIOD}.staging-*")) if out.exists() else []


PHASES = {  # phase -> (marker in the newest staging folder, max random delay after it, seconds)
    "ingest": ("_work/files.parquet", 0.3),
    "linking": ("_work/person_records.parquet", 0.4),
    "writing": ("townships", 0.25),
}


def _start(cmd_args: list[str], env: dict) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, str(ROOT / "flows.py"), *cmd_args], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)


def _wait_for(proc: subprocess.Popen, out: Path, marker: str, old: list[Path], timeout: float = 90) -> bool:
    """Until this run's own staging folder (not one left by an earlier kill) holds `marker`."""
    end = time.monotonic() + timeout
    while time.monotonic() < end and proc.poll() is None:
        mine = [s for s in _staging(out) if s not in old]
        if mine and (mine[0] / marker).exists():
            return True
        time.sleep(0.005)
    return False


def _assert_complete(folder: Path, reference: Path) -> None:
    """A visible period folder is whole: the reference's files, none hidden, each one readable."""
    files = _files(folder)
    assert set(files) == set(_files(reference)), set(files) ^ set(_files(reference))
    assert not [f for f in files if any(part.startswith(".") for part in f.split("/"))]
    for rel in files:
        if rel.endswith(".parquet"):
            pl.read_parquet(folder / rel)
        elif rel.endswith(".csv"):
            assert files[rel].endswith(b"\n") and files[rel].startswith(b"\xef\xbb\xbf")
        elif rel.endswith(".xlsx"):
            openpyxl.load_workbook(folder / rel, read_only=True).close()


@pytest.fixture(scope="module")
def killed(prefect_harness, county, reference, tmp_path_factory):
    """Kill the CLI in each phase (fresh OUT), rerun, then kill once more while it rewrites a
    published period. Records what was seen after each kill."""
    import prefect.settings

    env = dict(os.environ, PREFECT_API_URL=prefect.settings.PREFECT_API_URL.value(), PREFECT_LOGGING_LEVEL="WARNING")
    out = tmp_path_factory.mktemp("killed") / "out"
    # the reference's county key in the fresh warehouse: a key of its own would give every lead
    # another 预警编号 (`rules.keyed_suffix`) than the reference's lists
    con = duckdb.connect(str(reference / "warehouse.duckdb"), read_only=True)
    key = con.sql("SELECT value FROM secrets WHERE name = 'warning_id_key'").fetchall()[0][0]
    con.close()
    con = warehouse.connect(out / "warehouse.duckdb")
    assert warehouse.warning_key(con) != key
    con.execute("UPDATE secrets SET value = ? WHERE name = 'warning_id_key'", [key])
    con.close()
    rnd = random.Random(int(os.environ.get("FAULT_SEED", "20261128")))
    seen: dict = {"kills": [], "busy": None}
    args = _args(county / "inbox", out)

    def kill_in(phase: str, during=None) -> dict:
        marker, max_delay = PHASES[phase]
        old = _staging(out)
        proc = _start(args, env)
        reached = _wait_for(proc, out, marker, old)
        if during:
            during()
        time.sleep(rnd.uniform(0, max_delay))
        alive = proc.poll() is None
        if alive:
            os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        stderr = proc.stderr.read().decode(errors="replace")
        visible = (out / PERIOD).exists()
        # a kill that lands after the run swapped its period in (it then records the run) shows
        # the whole period: what it may never show is part of one
        whole = visible and set(_files(out / PERIOD)) == set(_files(reference / PERIOD))
        return dict(phase=phase, reached=reached, killed=alive and proc.returncode == -signal.SIGKILL, stderr=stderr[-2000:],
                    visible=visible, whole=whole, staging_left=len(_staging(out)))

    def second_run():  # a second run of the same period while the first is linking
        err = io.StringIO()
        real_stderr, sys.stderr = sys.stderr, err
        try:
            code = cli.main(args)
        finally:
            sys.stderr = real_stderr
        seen["busy"] = (code, err.getvalue())

    for phase in ("ingest", "linking", "writing"):
        seen["kills"].append(kill_in(phase, second_run if phase == "linking" else None))
    seen["modes_after_kills"] = {p.name: oct(p.stat().st_mode & 0o777) for p in out.glob("warehouse.duckdb*")}
    con = duckdb.connect(str(out / "warehouse.duckdb"))  # opens (WAL replayed) after every kill
    seen["runs_after_kills"] = con.sql("SELECT status, stored_at IS NOT NULL FROM runs").fetchall()
    con.close()
    seen["rerun"] = cli.main(args)
    seen["rerun_files"] = _files(out / PERIOD)
    seen["stale_staging_after_rerun"] = [p.name for p in _staging(out)]
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    seen["runs_after_rerun"] = [r[0] for r in con.sql("SELECT status FROM runs").fetchall()]
    con.close()
    published = seen["rerun_files"]
    last = kill_in("writing")
    # A kill that lands after the run swapped its period in (while it records the run) shows the
    # new period: whole, and the same but for the HTML report's run history and time.
    same = lambda files: {f: b for f, b in files.items() if not f.endswith(".html")}  # noqa: E731
    now = same(_files(out / PERIOD)) if (out / PERIOD).exists() else None
    last["unchanged"] = now == same(published)
    last["differs"] = "no period folder" if now is None else sorted(  # (to tell a failure's cause)
        f for f in set(now) | set(same(published)) if now.get(f) != same(published).get(f))
    seen["kills"].append(last)
    return out, seen


def test_kills_in_every_phase_never_show_a_half_written_period(killed, reference):
    out, seen = killed
    for k in seen["kills"]:
        assert k["reached"] and k["killed"], f"run not killed in phase {k['phase']}: {k['stderr']}"
    for k in seen["kills"][:3]:  # nothing was published before: nothing may be visible ...
        # ... unless the last write landed before the kill did: then the period is whole
        assert not k["visible"] or (k["phase"] == "writing" and k["whole"]), \
            f"period folder visible after a kill while {k['phase']}"
    # killed while rewriting a published period: the published one is still there, whole
    assert seen["kills"][3]["unchanged"], seen["kills"][3]["differs"]
    _assert_complete(out / PERIOD, reference / PERIOD)


def test_rerun_after_kills_reproduces_the_uninterrupted_run(killed, reference):
    out, seen = killed
    assert seen["rerun"] == 0
    got, want = seen["rerun_files"], _files(reference / PERIOD)
    assert set(got) == set(want)
    # township lists (CSV and XLSX), warnings, summary, leads, set-aside rows and accounting: same bytes
    exact = [f for f in want if f.startswith("townships/") or f in (
        "warnings.parquet", "county/县级汇总_乡镇x风险类型.csv", "county/无法落位的新增线索.csv",
        "county/搁置行及原因.csv", "county/行数核对_accounting.csv")]
    assert len(exact) >= 8
    for f in exact:
        assert got[f] == want[f], f
    # the rest: same content (order and last-bit float noise aside; see the strict test below)
    for f in ("county/人工复核队列.csv", "county/数据质量报告.csv"):
        assert sorted(got[f].splitlines()) == sorted(want[f].splitlines()), f
    a = pl.read_parquet(io.BytesIO(got["links.parquet"])).drop("reason").sort("dept", "kind", "record_id")
    b = pl.read_parquet(io.BytesIO(want["links.parquet"])).drop("reason").sort("dept", "kind", "record_id")
    from polars.testing import assert_frame_equal

    assert_frame_equal(a, b, check_exact=False, rel_tol=1e-9)


def test_rerun_after_kills_is_byte_for_byte_the_uninterrupted_run(killed, reference):
    _, seen = killed
    want = _files(reference / PERIOD)
    # the HTML report shows the warehouse's run history (run counts, finish times), which a rerun
    # changes by design: it is the one file left out
    assert [f for f in want if seen["rerun_files"].get(f) != want[f] and not f.endswith(".html")] == []


def test_killed_runs_leave_no_staging_folder_nor_a_running_row_behind(killed):
    _, seen = killed
    assert max(k["staging_left"] for k in seen["kills"][:2]) >= 1  # a kill does leave one (personal data) ...
    assert seen["stale_staging_after_rerun"] == []  # ... the next run must clear it
    # the rerun's run is ok, and so is a killed one that had stored and published its period (the
    # kill while writing may land after its COMMIT: the recovery records it ok)
    stored = sum(s for _, s in seen["runs_after_kills"])
    assert seen["runs_after_rerun"].count("ok") == 1 + stored
    assert "running" not in seen["runs_after_rerun"], seen["runs_after_rerun"]  # dead runs are not "running"


def test_a_second_run_of_the_same_period_refuses_clearly_and_the_warehouse_holds(killed, county):
    out, seen = killed
    code, err = seen["busy"]
    assert code == 3, err
    assert "another run" in err and "warehouse.duckdb" in err and len(err.strip().splitlines()) == 1
    # killed runs are on record and never marked ok; the refused one left no row; the warehouse
    # opens after the kills and holds exactly one copy of the period
    assert [s for s, _ in seen["runs_after_kills"]].count("ok") == 0 and len(seen["runs_after_kills"]) == 3
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        n_links = con.sql("SELECT count(*) FROM links WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
        n_del = con.sql("SELECT count(*) FROM deliveries WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
        ok = con.sql("SELECT count(*) FROM runs WHERE status = 'ok'").fetchall()[0][0]
    finally:
        con.close()
    # what a kill leaves beside the warehouse (its WAL) is as private as the warehouse
    assert {k: v for k, v in seen["modes_after_kills"].items() if not k.endswith(".lock")} in (
        {"warehouse.duckdb": "0o600"}, {"warehouse.duckdb": "0o600", "warehouse.duckdb.wal": "0o600"}), seen["modes_after_kills"]
    assert n_links == pl.read_parquet(out / PERIOD / "links.parquet").height
    assert n_del == len([p for p in (county / "inbox" / PERIOD).rglob("*") if p.is_file()])
    # the rerun's run is ok (and a killed one the recovery found had stored its period); the run
    # killed while rewriting the period may have recorded itself ok just before the kill landed
    # (it then left the period whole: test above)
    assert ok - sum(s for _, s in seen["runs_after_kills"]) in (1, 2)


# A kill inside `publish` (SIGKILL from the patched step itself): right after the folder swap,
# before the warehouse's COMMIT; or after the COMMIT, before the folder replaced is dropped and the
# run records its end
_KILLED_AT = {
    "before_commit": "real = outputs.swap_in\n"
                     "def swap_in(*a):\n    real(*a)\n    os.kill(os.getpid(), signal.SIGKILL)\n"
                     "outputs.swap_in = swap_in\n",
    "after_commit": "def drop_replaced(*a):\n    os.kill(os.getpid(), signal.SIGKILL)\n"
                    "outputs.drop_replaced = drop_replaced\n",
}


@pytest.mark.parametrize("at", list(_KILLED_AT))
def test_a_run_killed_around_its_commit_leaves_the_folder_the_warehouse_holds(reference, county, tmp_path, at):
    """A re-run of a published period, killed in publish around its warehouse COMMIT. Before it,
    the warehouse still holds the period as published: the next run's recovery must put the
    published folder back (it kept the new one, and said the period was as published). After
    it, the period is wholly stored and published: the new folder stays, the run is recorded ok
    and the period said complete (it said the run did not finish, to run it again)."""
    import prefect.settings
    import shutil

    out = tmp_path / "out"
    shutil.copytree(reference, out)
    (out / PERIOD / "which.txt").write_text("published")  # (the re-run's folder has none)
    published = _files(out / PERIOD)
    code = ("import os, signal, sys\nfrom adapters import outputs\n" + _KILLED_AT[at]
            + f"import cli\nsys.exit(cli.main({_args(county / 'inbox', out)!r}))\n")
    env = dict(os.environ, PREFECT_API_URL=prefect.settings.PREFECT_API_URL.value(), PREFECT_LOGGING_LEVEL="WARNING")
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env=env, capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode(errors="replace")[-2000:]
    lines = flows.recover_interrupted(out, out / "warehouse.duckdb")
    assert not [p.name for p in out.iterdir() if p.name.startswith(".")]
    if at == "before_commit":
        assert _files(out / PERIOD) == published, lines
    else:
        assert not (out / PERIOD / "which.txt").exists(), lines
        _assert_complete(out / PERIOD, reference / PERIOD)
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        runs = [s for (s,) in con.sql("SELECT status FROM runs ORDER BY started_at").fetchall()]
        stored = con.sql("SELECT count(*) FROM links WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
    finally:
        con.close()
    assert stored == pl.read_parquet(out / PERIOD / "links.parquet").height
    if at == "before_commit":
        assert runs == ["ok", "interrupted"]
        assert any("killed before it stored" in line for line in lines), lines
        assert any("run it again" in line for line in lines), lines
    else:
        assert runs == ["ok", "ok"]
        assert len(lines) == 2 and lines[0].startswith(f"removed replaced .{PERIOD}.old-{PERIOD}-"), lines
        assert lines[1] == f"{PERIOD}: its run was killed after it stored and published {PERIOD}: {PERIOD} is complete"


def test_a_second_run_sharing_the_warehouse_from_another_out_also_refuses(tmp_path, capsys):
    wh = tmp_path / "wh" / "warehouse.duckdb"
    (tmp_path / "inbox" / PERIOD).mkdir(parents=True)
    with flows.warehouse_lock(wh) as held:  # what a running run holds
        assert held
        code = cli.main(_args(tmp_path / "inbox", tmp_path / "other", "--warehouse", str(wh)))
    assert code == 3
    assert "another run" in capsys.readouterr().err
    assert not wh.exists() and not (tmp_path / "other" / PERIOD).exists()  # the refused run touched nothing


@pytest.mark.parametrize("released_after", [1.0, None])
def test_a_scheduled_run_waits_for_a_busy_warehouse_then_runs_or_fails_saying_so(prefect_harness, county, tmp_path,
                                                                                  released_after):
    """The 02:00 run on the 5th finds an analyst's run holding the warehouse: it tries again
    (here for 3 s, `run.busy_wait_minutes`) and runs once the other is done; if the other is
    still running then, it fails saying so, having touched nothing."""
    import threading

    out = tmp_path / "out"
    wh = out / "warehouse.duckdb"
    got: dict = {}

    def scheduled():
        try:
            got["result"] = flows.scheduled_run(str(county / "inbox"), str(out), period=PERIOD, issue_date=ISSUE,
                                                overrides=["run.busy_wait_minutes=0.05"])
        except Exception as exc:  # noqa: BLE001 - what the flow run ends with
            got["error"] = exc

    with flows.warehouse_lock(wh) as held:
        assert held
        t = threading.Thread(target=scheduled)
        t.start()
        t.join(released_after if released_after is not None else 60)
        assert t.is_alive() == (released_after is not None)  # still waiting while the lock is held
    t.join(120)
    if released_after is None:
        assert "another run is using" in str(got.get("error")) and "waited 0.05 min" in str(got["error"])
        assert not (out / PERIOD).exists()
    else:
        assert "error" not in got, got.get("error")
        assert (out / PERIOD / "county" / "行数核对_accounting.csv").exists()


@pytest.fixture(scope="module")
def set_aside_run(prefect_harness, county, tmp_path_factory):
    """The sample county with the 网格 delivered as a header only, and the roster rows of the
    persons of the planted C2 records (a 新增 临时救助/特困: warned as a lead when not on the
    roster) with their 证件号码 destroyed by Excel (`3.41302E+17`, zeros past the 15th digit) or
    blank; another person's blank too, whom no record names. Returns (out, the C2 records with
    each one's roster line, the console)."""
    import shutil

    dest = tmp_path_factory.mktemp("set_aside")
    inbox = dest / "inbox"
    shutil.copytree(county / "inbox", inbox)
    p = inbox / PERIOD
    folder = {CFG.folder_of(d.name): d for d in p.iterdir() if d.is_dir()}
    grid = next(folder["网格"].glob("*.csv"))
    grid.write_text(grid.read_text(encoding="utf-8-sig").splitlines()[0] + "\n", encoding="utf-8-sig")
    truth = pl.read_csv(county / "truth" / "links.csv", infer_schema=False)
    planted = truth.filter(pl.col("period") == PERIOD, pl.col("dirt").str.contains("plant=C2"),
                           pl.col("person_id").is_not_null(), ~pl.col("dirt").str.contains("name="))
    assert planted.height >= 2
    roster = next(folder["户籍底册"].glob("*.csv"))
    rows = list(csv.reader(io.StringIO(roster.read_text(encoding="utf-8-sig"))))
    idc, pidc = rows[0].index("证件号码"), rows[0].index("人编号")
    line_of = {r[pidc]: n for n, r in enumerate(rows[1:], start=2)}
    for pid, how in zip(planted["person_id"].to_list(), ("sci", "zeros", "blank")):
        r = rows[line_of[pid] - 1]
        r[idc] = {"sci": f"{r[idc][0]}.{r[idc][1:6]}E+17", "zeros": r[idc][:15] + "000", "blank": ""}[how]
    nobody = next(r for r in rows[1:] if r[pidc] not in set(truth["person_id"].drop_nulls().to_list()))
    nobody[idc] = ""
    with open(roster, "w", encoding="utf-8-sig", newline="") as fh:
        csv.writer(fh).writerows(rows)
    out = dest / "out"
    sys_out = io.StringIO()
    from contextlib import redirect_stdout
    with redirect_stdout(sys_out):
        assert cli.main(_args(inbox, out)) == 0
    return out / PERIOD, {r["record_id"]: line_of[r["person_id"]] for r in planted.head(3).iter_rows(named=True)}, sys_out.getvalue()


def test_a_lead_that_may_be_a_roster_row_set_aside_names_that_row_and_is_not_linked(set_aside_run, reference):
    """A roster person set aside (a destroyed or blank 证件号码) cannot be linked: a 民政 新增
    临时救助 about them went out as a lead of someone not on the roster (非监测对象 …), the
    township to take in a new household. The lead now names the roster's line set aside that
    it may be (name and place agree), asking the clerk to check the roster first; its record
    stays unmatched (precision first), its links reason and the data-quality report say so too."""
    out, planted, said = set_aside_run
    rows = pl.concat([pl.read_csv(f, infer_schema=False) for f in (out / "townships").rglob("*_预警清单.csv")])
    links = pl.read_parquet(out / "links.parquet")
    for record, line in planted.items():
        lead = rows.filter(pl.col("来源记录编号").str.contains(record, literal=True))
        assert lead.height == 1 and lead["户编号"].is_null().all(), record
        basis = lead["预警依据"].item()
        assert "非监测对象" in basis and "户籍底册被搁置（未能读入）的人员：户籍底册/" in basis
        assert f"第 {line} 行" in basis and "请先核对底册" in basis
        link = links.filter(pl.col("dept") == "民政", pl.col("record_id") == record)
        assert link["decision"].to_list() == ["unmatched"] and f"第 {line} 行" in link["reason"].item()
    quality = pl.read_csv(out / "county" / "数据质量报告.csv", infer_schema=False)
    aside = quality.filter(pl.col("类别").str.starts_with("底册搁置人员或有记录"))
    assert aside.height == 1 and all(f"第 {line} 行" in aside["说明"].item() for line in planted.values())
    assert "底册搁置人员或有记录" in said
    # the other leads say nothing of it, as in the run of the roster untouched
    before = pl.concat([pl.read_csv(f, infer_schema=False) for f in (reference / PERIOD / "townships").rglob("*_预警清单.csv")])
    assert not before["预警依据"].str.contains("被搁置").any()
    assert rows.filter(pl.col("预警依据").str.contains("被搁置"))["来源记录编号"].sort().to_list() == sorted(planted)


def test_a_grid_of_a_header_only_is_said_as_the_grid_file_not_a_department_missing(set_aside_run):
    """The 网格 delivered with a header only: the report says 网格文件无可用行 of its file, the
    lists' 网格员 are empty, and 网格 is not among the departments missing."""
    out, _, said = set_aside_run
    quality = pl.read_csv(out / "county" / "数据质量报告.csv", infer_schema=False)
    grid = quality.filter(pl.col("部门") == "网格")
    assert grid.filter(pl.col("类别").str.starts_with("网格文件无可用行"))["文件"].str.starts_with("网格/").all()
    assert "只有表头" in " ".join(grid["说明"].to_list())
    assert quality.filter(pl.col("类别").str.starts_with("部门未报送"), pl.col("部门") == "网格").is_empty()
    assert "网格文件无可用行 网格 网格/" in said
    town = next((out / "townships").rglob("*_预警清单.csv"))
    assert pl.read_csv(town, infer_schema=False)["网格员"].null_count() == pl.read_csv(town, infer_schema=False).height


def test_a_partial_run_still_reports_the_kept_departments_records_that_may_be_roster_rows_set_aside(set_aside_run, tmp_path):
    """`--dept 医保` after the set-aside run: the 民政 leads it keeps still say which roster row
    set aside they may be, and the report's 底册搁置人员或有记录 still names those rows with their
    民政 records (the partial run looked among 医保's records only: the finding was made of them
    alone, and went, though the roster rows stayed set aside and the township lists still named
    them)."""
    import shutil

    out, planted, _ = set_aside_run
    dest = tmp_path / "county"
    shutil.copytree(out.parents[1], dest)
    assert cli.main(_args(dest / "inbox", dest / "out", "--dept", "医保")) == 0
    quality = pl.read_csv(dest / "out" / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
    aside = quality.filter(pl.col("类别").str.starts_with("底册搁置人员或有记录"))
    assert aside.height == 1, quality
    assert all(f"第 {line} 行" in aside["说明"].item() for line in planted.values()), aside["说明"].item()
    assert "民政" in aside["说明"].item() and int(aside["数量"].item()) >= len(planted)
    rows = pl.concat([pl.read_csv(f, infer_schema=False) for f in (dest / "out" / PERIOD / "townships").rglob("*_预警清单.csv")])
    assert rows.filter(pl.col("预警依据").str.contains("被搁置"))["来源记录编号"].sort().to_list() == sorted(planted)


def test_a_grid_delivered_in_a_format_set_aside_is_said_as_the_grid_file_not_as_no_grid(prefect_harness, county, tmp_path):
    """The 网格 delivered as a file the inbox does not read (网格.xls: WPS's default, set aside whole
    as it is found): the report names that file, set aside whole and why, under 网格文件无可用行,
    and does not say 网格未报送 — the county was told no grid had come, and chased a delivery that had."""
    import shutil

    inbox = tmp_path / "inbox"
    shutil.copytree(county / "inbox", inbox)
    folder = {CFG.folder_of(d.name): d for d in (inbox / PERIOD).iterdir() if d.is_dir()}
    grid = next(folder["网格"].glob("*.csv"))
    grid.rename(grid.with_suffix(".xls"))
    assert cli.main(_args(inbox, tmp_path / "out")) == 0
    quality = pl.read_csv(tmp_path / "out" / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
    said = quality.filter(pl.col("部门") == "网格")
    assert said.filter(pl.col("类别").str.starts_with("网格未报送")).is_empty(), said
    rows = said.filter(pl.col("类别").str.starts_with("网格文件无可用行"))
    assert rows["文件"].to_list() == [f"{folder['网格'].name}/{grid.with_suffix('.xls').name}"], said
    assert "文件被整体搁置" in rows["说明"].item() and ".xls" in rows["说明"].item()

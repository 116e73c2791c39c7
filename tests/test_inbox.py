import codecs
import datetime
import os
import zipfile
from pathlib import Path

import polars as pl
import pytest
import xlsxwriter

from adapters.inbox import ReadError, discover, read_delivery, read_department, read_period, read_table, read_tables
from config import load_config
from pipelines.standardize import detect_kind, known_headers
from pipelines.validate import parse_date
from schemas.outputs import Finding
from tests.conftest import SHARED_EXAMPLES

CFG = load_config()
KNOWN = known_headers(CFG)
EXAMPLE = SHARED_EXAMPLES / "2026-10"

HEADER = "结算流水号,姓名,证件号码,结算日期,个人自付"


PUT_IN = datetime.datetime(2026, 11, 2, 9, 0, 0)


def write(path: Path, text: str, encoding: str = "utf-8", modified: datetime.datetime = PUT_IN) -> Path:
    """A file put in at `modified` (one time for all unless said: their names order them)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode(encoding))
    os.utime(path, (modified.timestamp(), modified.timestamp()))
    return path



def workbook(path: Path, sheets: list[tuple[str, list[list]]]) -> Path:
    """An XLSX at `path` with a sheet per (name, rows), each row written from column A."""
    wb = xlsxwriter.Workbook(path)
    for name, rows in sheets:
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            ws.write_row(i, 0, row)
    wb.close()
    return path


def test_gb18030_with_title_line_and_total_row(tmp_path):
    text = f"宿州市医疗保障局 2026年10月结算明细\n{HEADER}\nJS1,张*明,'341302********123X,2026-10-05,100\nJS2,李四,,2026/10/6, 20 \n合计,,,,120\n"
    df = read_table(write(tmp_path / "a.csv", text, "gb18030"), "医保/a.csv", KNOWN)
    assert df.columns == ["结算流水号", "姓名", "证件号码", "结算日期", "个人自付", "line"]
    assert df["line"].to_list() == [3, 4]
    assert df["证件号码"].to_list() == ["'341302********123X", None]
    assert df["个人自付"].to_list() == ["100", "20"]  # stripped
    assert all(dt == pl.String for c, dt in df.schema.items() if c != "line")


@pytest.mark.parametrize("newline", ["\n", "\r"])  # (a lone CR takes the csv module's path, not polars')
def test_two_exports_in_two_encodings_joined_are_read_line_by_line(tmp_path, newline):
    """An Excel export (GB18030) and a system's (UTF-8) joined byte for byte (`copy /b`): neither
    encoding reads the whole file, which was set aside whole as of an unknown encoding. Each line
    is read in the encoding that fits it, the file noted naming the GB18030 lines; the second
    header is skipped as a header said again. A line neither encoding reads still sets the file aside."""
    a = f"{HEADER}\nJS1,张三,341302********123X,2026-10-05,100\n".replace("\n", newline).encode("gb18030")
    b = f"{HEADER}\nJS2,李四,341302********123X,2026-10-06,200\n".replace("\n", newline).encode("utf-8")
    path = tmp_path / "a.csv"
    path.write_bytes(a + b)
    notes = []
    df = read_table(path, "医保/a.csv", KNOWN, notes)
    assert df.select("结算流水号", "姓名", "个人自付", "line").rows() == [("JS1", "张三", "100", 2), ("JS2", "李四", "200", 4)]
    assert [n.problem[:8] for n in notes] == ["文件混有 UTF", "第3行重复表头（"]
    assert "GB18030 的行：第 1、2 行" in notes[0].problem and not notes[0].set_aside
    # a line neither encoding reads: read with its bytes shown as �, the file noted naming it
    path.write_bytes(a + b + b"JS3,\xff\xfe,,2026-10-07,1" + newline.encode())
    notes = []
    got = read_table(path, "医保/a.csv", KNOWN, notes)
    assert got.select("结算流水号", "姓名", "line").rows()[-1] == ("JS3", "\ufffd\ufffd", 5)
    assert any("第 5 行" in n.problem and n.category == Finding.DAMAGED_BYTES for n in notes)
    # a file most of whose lines neither reads is of another encoding: set aside whole
    path.write_bytes(a + b"".join(b"JS%d,\xff\xfe,,2026-10-07,1" % i + newline.encode() for i in range(12)))
    got = read_table(path, "医保/a.csv", KNOWN, [])
    assert isinstance(got, ReadError) and got.problem.startswith("无法识别文件编码")


def test_a_utf8_export_with_one_character_cut_is_read_and_the_line_named(tmp_path):
    """A database export cut one field at a byte limit, in the middle of a character: neither
    UTF-8 nor GB18030 read the whole file, and all its records were set aside as of an unknown
    encoding. The other lines are read; the damaged one too, its broken bytes shown as �, and
    the console names the line (a damaged parsed value sets its row aside as any bad value)."""
    lines = [HEADER] + [f"JS{i},张三{i},341302********123X,2026-10-05,{i}" for i in range(1, 30)]
    data = "\n".join(lines).encode("utf-8") + b"\n"
    cut = data.index("张三12".encode())
    path = tmp_path / "a.csv"
    path.write_bytes(data[:cut + 4] + data[cut + 6:])  # 张 whole, 三 cut to its first byte
    notes = []
    df = read_table(path, "民政/a.csv", KNOWN, notes)
    assert df.height == 29 and df["姓名"][11] == "张\ufffd12" and df["line"][11] == 13
    said = [n for n in notes if n.category == Finding.DAMAGED_BYTES]
    assert len(said) == 1 and "第 13 行" in said[0].problem and not said[0].set_aside
    assert Finding.DAMAGED_BYTES in Finding.ATTENTION


def test_total_and_blank_rows_wherever_their_text_starts(tmp_path):
    """A 合计/总计/小计 row is dropped whichever cell its text starts in (the first cell may be
    blank), a blank row too; a record whose first cell merely starts with 合 or 小 is kept."""
    rows = ["JS1,张三,,2026-10-05,1", ",合计,,,120", " ,  总 计：,,,", ",,,,", "合肥001,李四,,2026-10-05,2",
            "小计,,,,3", "JS2,王五,,2026-10-05,4", "本表合计,,,,7"]
    df = read_table(write(tmp_path / "t.csv", "\n".join([HEADER, *rows]) + "\n"), "t.csv", KNOWN)
    assert df["结算流水号"].to_list() == ["JS1", "合肥001", "JS2"]
    assert df["line"].to_list() == [2, 6, 8]


def test_an_excel_tables_total_row_huizong_is_not_a_record(tmp_path):
    """A Chinese Excel's or WPS's table (Ctrl+T) labels its total row 汇总, as a place's subtotal
    may be (大营镇汇总): no record, as 合计 is not (it was read as one and set aside, a settlement
    without its date). A record whose first cell merely starts with 汇 is kept."""
    rows = ["JS1,张三,,2026-10-05,1", "汇金001,李四,,2026-10-05,2", "大营镇汇总,,,,3", "汇 总,,,,3"]
    path = write(tmp_path / "医保" / "t.csv", "\n".join([HEADER, *rows]) + "\n")
    valid, rejected, _, read = read_delivery(path, "医保/t.csv", "医保", CFG, KNOWN)
    assert valid[0][1].select("record_id", "line").rows() == [("JS1", 2), ("汇金001", 3)]
    assert rejected.is_empty() and read == 2


def test_a_places_subtotal_row_is_not_a_record(tmp_path):
    """A subtotal per township or village (大营镇小计, 李洼村合计, 第1页小计), its place before the
    word: the row was read as a record numbered 大营镇小计 and set aside as missing its date and
    ID, back to the department as a bad record. A record or person whose value merely ends so
    (a name 李小计) is kept."""
    rows = ["JS1,张三,,2026-10-05,1", "大营镇小计,,,,1", ",李洼村 合计：,,,120", "JS2,李小计,,2026-10-05,2",
            "第1页小计,,,,3", "JS3,王五,,2026-10-05,4", "县合计,,,,7"]
    df = read_table(write(tmp_path / "t.csv", "\n".join([HEADER, *rows]) + "\n"), "t.csv", KNOWN)
    assert df["结算流水号"].to_list() == ["JS1", "JS2", "JS3"]
    assert df["line"].to_list() == [2, 5, 7]


@pytest.mark.parametrize("newline", ["\n", "\r"])
def test_footer_lines_under_the_table_are_not_records(tmp_path, newline):
    """填表人：… 审核人：… and 注：… alone on a row under the table are dropped like 合计; a record
    whose name merely starts with such a word, or a row filling more cells, is kept."""
    rows = [HEADER, "JS1,张三,,2026-10-05,1", "填表人：张三    审核人：李四,,,,", "注：自付为个人负担部分",
            ",,说明：单位元,,", "JS2,注明,,2026-10-05,2", "备注：补报,李四,,2026-10-05,3"]
    df = read_table(write(tmp_path / "f.csv", newline.join(rows) + newline), "f.csv", KNOWN)
    assert df["结算流水号"].to_list() == ["JS1", "JS2", "备注：补报"]
    # the signatures one per cell, as many as the form has: a footer too (they were set aside as
    # rows, and told back to a township as its answers); a record row with one among its values is kept
    rows = [HEADER, "JS1,张三,,2026-10-05,1", "填表人：张三,审核人：李四,填报日期：2026-11-05,联系电话：0557-1234567,",
            "填表人：王五,李四,,2026-10-05,3"]
    df = read_table(write(tmp_path / "g.csv", newline.join(rows) + newline), "g.csv", KNOWN)
    assert df["结算流水号"].to_list() == ["JS1", "填表人：王五"]


def test_a_systems_export_footer_is_not_a_record(tmp_path):
    """What a system's export prints under its table (导出时间：…, 打印人：…, 共 N 条, 第 1 页，共 3 页,
    数据来源：…, 本页合计) is no record: each was set aside as one, its 'missing value' blamed on merged
    cells. A record whose first value is such a label but which fills its row is kept."""
    rows = [HEADER, "JS1,张三,,2026-10-05,1", "导出时间：2026-11-05 09:30:12", "打印人：管理员,,打印时间：2026-11-05,,",
            "共 10 条记录", '"第 1 页，共 3 页"', "数据来源：宿州市医疗保障信息平台", "单位（盖章）：,,,负责人：,",
            "填表说明：本表由系统导出", "注1：个人自付含自费", "本页合计,,,,120", "报送单位：宿州市医疗保障局,,,报送日期：2026年11月5日,",
            "数据来源：平台,李四,,2026-10-05,3", "报送单位 ：宿州市医疗保障局"]
    df = read_table(write(tmp_path / "e.csv", "\n".join(rows) + "\n"), "e.csv", KNOWN)
    assert df["结算流水号"].to_list() == ["JS1", "数据来源：平台"]


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_exports_joined_byte_for_byte_keep_no_bom_inside(tmp_path, newline):
    """Two UTF-8 exports joined as files (`copy /b a.csv+b.csv`, `cat`): the second's BOM sits in
    the middle, before its header, which was then no repeated header but a record set aside with
    six bogus reasons ('unknown code 就诊类型'); a zero-width space pasted before a value is no part of it."""
    part = lambda *rows: ("\ufeff" + newline.join([HEADER, *rows]) + newline).encode()  # noqa: E731
    path = tmp_path / "joined.csv"
    path.write_bytes(part("JS1,张三,341302196201112734,2026-10-05,1") + part("\u200bJS2,李四,,2026-10-06,2"))
    notes = []
    df = read_table(path, "joined.csv", KNOWN, notes)
    assert df["结算流水号"].to_list() == ["JS1", "JS2"]
    assert df["line"].to_list() == [2, 4]
    assert any("第3行重复表头" in n.problem for n in notes)


def test_a_zero_width_space_pasted_into_a_workbook_cell_is_no_part_of_its_value(tmp_path):
    """A township clerk pasted 属实 from a chat message into the returned XLSX: the cell held
    属实 and a zero-width space, read as an unknown code and the answer set aside (a CSV's text
    was already cleaned of them). Workbook cells are read without them too."""
    path = tmp_path / "大店镇_2026-10_预警清单.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("因病")
    for r, row in enumerate([["预警编号", "乡（镇）", "核实结果"], ["YJ202610-aaaaaaaaaa\u200b", "\ufeff大店镇", "属实\u200b"],
                             ["YJ202610-bbbbbbbbbb", "大店镇", "\u2060不属实"]]):
        ws.write_row(r, 0, row)
    wb.close()
    (_, df), = read_tables(path, "反馈/大店镇_2026-10_预警清单.xlsx", ["预警编号", "乡（镇）", "核实结果"])
    assert df["预警编号"].to_list() == ["YJ202610-aaaaaaaaaa", "YJ202610-bbbbbbbbbb"]
    assert df["乡（镇）"].to_list() == ["大店镇", "大店镇"] and df["核实结果"].to_list() == ["属实", "不属实"]


def test_a_field_longer_than_the_csv_modules_limit_is_read(tmp_path):
    """A field of 200,000 characters (a system's blob, or a stray quote's swallowed lines) on the
    csv module's path (a lone CR): its row is read (validation sets it aside as too long), not the
    whole file lost as unreadable ('field larger than field limit')."""
    text = "\r".join([HEADER, "JS1,张三,,2026-10-05,1", "JS2," + "李" * 200_000 + ",,2026-10-05,2", ""])
    df = read_table(write(tmp_path / "l.csv", text), "医保/l.csv", KNOWN)
    assert df["结算流水号"].to_list() == ["JS1", "JS2"] and len(df["姓名"][1]) == 200_000


def test_utf8_bom_crlf_and_blank_lines(tmp_path):
    text = f"{HEADER}\r\nJS1,王五,341302196201112734,2026-10-05,1\r\n\r\n,,,,\r\nJS2,赵六,,2026-10-06,2\r\n"
    df = read_table(write(tmp_path / "b.csv", text, "utf-8-sig"), "b.csv", KNOWN)
    assert df.columns[0] == "结算流水号"  # BOM not glued to the first header
    assert df["结算流水号"].to_list() == ["JS1", "JS2"]
    assert df["line"].to_list() == [2, 5]


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_excel_text_formula_cells_read_as_the_text_inside(tmp_path, newline):
    """Systems export a long number or a date as `="…"` so that Excel shows it as text: the
    value is the text inside (the ID was read as nothing shown, the date set aside), on both
    reading paths; a value merely starting with = or holding quotes stays as written."""
    rows = [HEADER, '="JS1",张三,="341302196201112734",="2026-10-05",=" 1 "',
            '"=""JS2""",李四,"=""341302********123X""",2026-10-06, ="2" ',
            'JS3,王五,="",=2026-10-07,"=""3"" 元"', ""]
    df = read_table(write(tmp_path / "e.csv", newline.join(rows)), "e.csv", KNOWN)
    assert df.rows() == [("JS1", "张三", "341302196201112734", "2026-10-05", "1", 2),
                         ("JS2", "李四", "341302********123X", "2026-10-06", "2", 3),
                         ("JS3", "王五", None, "=2026-10-07", '="3" 元', 4)]


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_ragged_rows_and_duplicated_header(tmp_path, newline):
    """A short row is padded; a long one keeps its first field past the header in `_extra`
    (validation sets it aside: its values have shifted), on both reading paths."""
    text = newline.join(["姓名,证件号码,姓名,结算流水号", "张三,1", "李四,2,重复,JS9,extra,more", "王五,3,,JS8,", ""])
    notes = []
    df = read_table(write(tmp_path / "c.csv", text), "c.csv", KNOWN, notes)
    assert df.columns == ["姓名", "证件号码", "结算流水号", "line", "_extra"]
    assert df.row(0) == ("张三", "1", None, 2, None)
    assert df.row(1) == ("李四", "2", "JS9", 3, "extra")
    assert df.row(2) == ("王五", "3", "JS8", 4, None)  # a trailing empty field is no extra field
    assert len(notes) == 1 and "姓名" in notes[0].problem
    even = read_table(write(tmp_path / "d.csv", "姓名,证件号码,结算流水号\n张三,1,JS1,\n"), "d.csv", KNOWN)
    assert "_extra" not in even.columns
    # empty cells at the header's end (Excel saves the sheet's formatted empty columns so): no
    # column, and no header said twice
    blank = read_table(write(tmp_path / "e.csv", "姓名,证件号码,结算流水号,,\n张三,1,JS1,,\n"), "e.csv", KNOWN, notes := [])
    assert blank.columns == ["姓名", "证件号码", "结算流水号", "line"] and notes == []


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_a_column_added_under_a_header_already_there_is_read_when_the_first_is_left_empty(tmp_path, newline):
    """A clerk who added a column 核实结果 (or 核实结果 with a space) beside the list's own and filled
    that one answered: of a repeated name the first column holding values is read, in a CSV and
    in a workbook, and the file is noted; a column with values is never mixed with another (two
    证件号码 of an export, the head's and a member's, keep the first). So does a name an Excel
    table gave a number when it was said again (核实结果2; pandas' 核实结果.1, 核实结果(2), ...)."""
    text = newline.join(["预警编号,乡（镇）,核实结果,核实日期,核实结果", "YJ1,大店镇,,2026-10-10,属实",
                         "YJ2,大店镇,,2026-10-10,不属实", ""])
    notes = []
    df = read_table(write(tmp_path / "f.csv", text), "反馈/f.csv", KNOWN, notes)
    assert df["核实结果"].to_list() == ["属实", "不属实"]
    assert len(notes) == 1 and "核实结果" in notes[0].problem
    mixed = read_table(write(tmp_path / "m.csv", "姓名,证件号码,证件号码\n张三,,341302196201112734\n李四,1,2\n"), "m.csv", KNOWN)
    assert mixed["证件号码"].to_list() == [None, "1"]
    path = workbook(tmp_path / "f.xlsx", [("因病", [["预警编号", "核实结果", "核实日期", "核实结果 "], ["YJ1", None, None, "属实"]])])
    assert read_table(path, "反馈/f.xlsx", KNOWN)["核实结果"].to_list() == ["属实"]
    # the name said again as an Excel table renames it (核实结果2); a number ending a name alone is a name
    path = workbook(tmp_path / "t.xlsx", [("因病", [["预警编号", "核实结果", "核实结果2", "备注1"], ["YJ1", None, "不属实", "x"]])])
    df = read_table(path, "反馈/t.xlsx", KNOWN)
    assert df.columns == ["预警编号", "核实结果", "备注1", "line"] and df["核实结果"].to_list() == ["不属实"]
    for twin in ["核实结果.1", "核实结果_1", "核实结果(2)", "核实结果（2）"]:  # pandas', and as typed
        df = read_table(write(tmp_path / "p.csv", f"预警编号,核实结果,{twin},乡（镇）\nYJ1,,属实,大店镇\n"), "反馈/p.csv", KNOWN)
        assert df.columns == ["预警编号", "核实结果", "乡（镇）", "line"] and df["核实结果"].to_list() == ["属实"], twin


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
@pytest.mark.parametrize("sep", ["\t", ";", "|", "，"])
def test_a_csv_separated_otherwise_than_by_commas_is_read_and_noted(tmp_path, sep, newline):
    """A ".csv" whose fields are separated by tabs (Excel's "Text (tab delimited)" renamed),
    semicolons, vertical bars or full-width commas (a ledger typed by hand with a Chinese input
    method: set aside before as having no header) is read as such, title line and 合计 too, and
    the file noted; a comma CSV whose cells hold that character stays a comma CSV."""
    rows = ["宿州市医疗保障局 2026年10月结算明细", HEADER, "JS1,张*明,341302********123X,2026-10-05,1,234.50",
            'JS2,"李,四",,2026/10/6,20', "合计,,,,120"]
    text = newline.join(r.replace(",", sep).replace(f"1{sep}234", "1,234") for r in rows) + newline
    notes = []
    df = read_table(write(tmp_path / "s.csv", text, "gb18030"), "医保/s.csv", KNOWN, notes)
    assert df.columns == ["结算流水号", "姓名", "证件号码", "结算日期", "个人自付", "line"]
    assert df.rows() == [("JS1", "张*明", "341302********123X", "2026-10-05", "1,234.50", 3),
                         ("JS2", f"李{sep}四", None, "2026/10/6", "20", 4)]  # (quoted: one field)
    said = {"\t": "制表符", ";": "分号", "|": "竖线", "，": "全角逗号"}[sep]
    assert len(notes) == 1 and notes[0].problem.startswith(f"字段以{said}分隔") and not notes[0].set_aside
    commas = read_table(write(tmp_path / "c.csv", f"{HEADER}\nJS3,王{sep}五,,2026-10-05,3\n"), "c.csv", KNOWN, notes := [])
    assert commas["姓名"].to_list() == [f"王{sep}五"] and not notes


@pytest.mark.parametrize("newline", ["\n", "\r\n"])
def test_a_stray_quote_opening_a_field_does_not_swallow_the_lines_under_it(tmp_path, newline):
    """A field a system wrote starting with an unmatched `"` (`"石集`, never closed): the CSV
    reader took every line after it, to the end of the file, for that one field. 23 of a 民政
    file's 32 records vanished into one row set aside as too long, and the accounting, counting
    the rows it read, still added up. The quote now holds only its own line (read as written,
    the quote aside, and noted); the lines under it are records again."""
    rows = [HEADER, "JS1,张三,,2026-10-05,1", 'JS2,"李四,,2026-10-05,2', "JS3,王五,,2026-10-05,3",
            'JS4,"赵,六",,2026-10-05,4', "JS5,孙七,,2026-10-05,5"]
    notes = []
    df = read_table(write(tmp_path / "q.csv", newline.join(rows) + newline), "民政/q.csv", KNOWN, notes)
    assert df["结算流水号"].to_list() == ["JS1", "JS2", "JS3", "JS4", "JS5"]
    assert df["line"].to_list() == [2, 3, 4, 5, 6]
    assert df.row(1)[:5] == ("JS2", "李四", None, "2026-10-05", "2") and df["姓名"][3] == "赵,六"
    said = [n.problem for n in notes if "引号" in n.problem]
    assert len(said) == 1 and said[0].startswith("第 3 行的引号未配对") and not notes[0].set_aside
    # the quote on the last record but one: the last record is not taken into it either
    last = read_table(write(tmp_path / "r.csv", newline.join(rows[:3] + rows[-1:]) + newline), "民政/r.csv", KNOWN)
    assert last.select("结算流水号", "姓名", "line").rows() == [("JS1", "张三", 2), ("JS2", "李四", 3), ("JS5", "孙七", 4)]


def test_two_stray_quotes_do_not_swallow_the_records_between_them(tmp_path):
    """Two fields opened by a quote never closed, lines apart: the second closed the first, and
    the whole records between them were read as one value (an even count of quotes, so polars'
    path read them so too). A record running over three lines or more whose inner lines hold as
    many separators as its first is such a quote's doing; a value broken over lines (an address
    on two lines, in quotes) is still one value."""
    rows = [HEADER, "JS1,张三,,2026-10-05,1", 'JS2,"李四,,2026-10-05,2', "JS3,王五,,2026-10-05,3",
            "JS4,赵六,,2026-10-05,4", 'JS5,"孙七,,2026-10-05,5', "JS6,周八,,2026-10-05,6",
            'JS7,"吴\n九",,2026-10-05,7', "JS8,郑十,,2026-10-05,8"]
    notes = []
    df = read_table(write(tmp_path / "q.csv", "\n".join(rows) + "\n"), "民政/q.csv", KNOWN, notes)
    assert df["结算流水号"].to_list() == [f"JS{i}" for i in range(1, 9)]
    assert df["line"].to_list() == [2, 3, 4, 5, 6, 7, 8, 9]  # (JS8 on the row Excel shows it on, under 吴\n九's)
    assert df["姓名"].to_list()[4:7] == ["孙七", "周八", "吴\n九"]
    said = [n.problem for n in notes if "引号" in n.problem]
    assert len(said) == 1 and said[0].startswith("第 3、6 行的引号未配对")


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_a_value_broken_over_lines_is_one_value_and_the_rows_under_it_are_those_excel_shows(tmp_path, newline):
    """A quoted value over three lines (a 备注 typed with line breaks, a comma on one of them) is
    one value of one record, not a stray quote's doing; the records under it are named by the
    rows Excel and WPS show them on, as a workbook's are (they were named by the file's lines: a
    returned list's row after a 备注 typed over two lines was told back one row below the one
    the clerk sees; a department's file the same), in a department's file and a returned list,
    by either reading path."""
    text = newline.join([f"结算流水号,备注,{HEADER[6:]}", 'JS1,"住院三次\n其中两次转院,一次急诊\n待核",张三,,2026-10-05,1',
                         "JS2,,李四,,2026-10-05,2", "JS3,,王五,,2026-10-05,3", ""])
    df = read_table(write(tmp_path / "v.csv", text), "医保/v.csv", KNOWN, notes := [])
    assert df.select("结算流水号", "姓名", "line").rows() == [("JS1", "张三", 2), ("JS2", "李四", 3), ("JS3", "王五", 4)]
    assert df["备注"][0] == "住院三次\n其中两次转院,一次急诊\n待核" and notes == []
    fb = newline.join(["大店镇 2026-10 预警清单", "预警编号,乡（镇）,核实结果,核实日期,备注", 'YJ1,大店镇,属实,2026-11-03,"外出务工\n已电话核实"',
                       "", "YJ2,大店镇,是,2026-11-03,", ""])
    df = read_table(write(tmp_path / "f.csv", fb), "反馈/f.csv", KNOWN)
    assert df.select("预警编号", "line").rows() == [("YJ1", 3), ("YJ2", 5)]


HOUSING_TWO_ROWS = [["鉴定编号", "户主姓名", "证件号码", "地址", None, None, "鉴定等级"],
                    [None, None, None, "乡（镇）", "行政村", "村民小组", None],
                    ["JD1", "张三", "341302********1234", "大店镇", "王庄村", "3组", "C"]]


def test_a_header_on_two_rows_takes_the_names_of_the_second(tmp_path):
    """A merged 地址 over 乡（镇）/行政村/村民小组: the places are read, not lost, and the
    sub-header row is not a record (XLSX, and the same saved as CSV)."""
    path = tmp_path / "h.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    for r, row in enumerate(HOUSING_TWO_ROWS):
        ws.write_row(r, 0, row)
    wb.close()
    csv_text = "\n".join(",".join(c or "" for c in row) for row in HOUSING_TWO_ROWS) + "\n"
    notes = []
    for df in (read_table(path, "住建/h.xlsx", KNOWN, notes), read_table(write(tmp_path / "h.csv", csv_text), "住建/h.csv", KNOWN, notes)):
        assert df.columns == ["鉴定编号", "户主姓名", "证件号码", "乡（镇）", "行政村", "村民小组", "鉴定等级", "line"]
        assert df.rows() == [("JD1", "张三", "341302********1234", "大店镇", "王庄村", "3组", "C", 3)]
    assert notes == []  # (the second row is the header's, not a header said again)
    # a first record right under a one-row header is a record, not a sub-header
    one = read_table(write(tmp_path / "o.csv", "鉴定编号,户主姓名,乡（镇）\nJD1,张三,大店镇\n"), "o.csv", KNOWN)
    assert one.rows() == [("JD1", "张三", "大店镇", 2)]


def test_units_on_the_row_under_the_header_are_the_headers_units(tmp_path):
    """Units written on a row of their own under the header ((元) under 医疗总费用, 万元 under
    损失金额): that row was read as a record and set aside; it is the header's second row, its
    units read with their columns (a loss in 万元 in 元, as under 损失金额（万元）)."""
    text = "报案编号,户主姓名,灾害类型,损失金额,发生日期\n,,,万元,\nNY1,张三,洪涝,1.5,2026-10-05\n"
    valid, rejected, _, read = read_delivery(write(tmp_path / "农业农村" / "a.csv", text), "农业农村/a.csv", "农业农村", CFG, KNOWN)
    assert valid[0][1].select("record_id", "loss_amount", "line").rows() == [("NY1", 15_000.0, 3)]
    assert rejected.is_empty() and read == 1
    rows = [["结算流水号", "姓名", "证件号码", "结算日期", "医疗总费用", "个人自付"], [None, None, None, None, "（元）", "(元)"],
            ["JS1", "张三", "341302********1234", "2026-10-05", "300.00", "120.00"]]
    for path in (workbook(tmp_path / "s.xlsx", [("Sheet1", rows)]),
                 write(tmp_path / "s.csv", "\n".join(",".join(c or "" for c in r) for r in rows) + "\n")):
        df = read_table(path, f"医保/{path.name}", KNOWN)
        assert df.rows() == [("JS1", "张三", "341302********1234", "2026-10-05", "300.00", "120.00", 3)], path.name


def test_a_title_line_saying_the_amounts_are_in_wan_yuan_reads_them_in_yuan(tmp_path):
    """A table's title lines often say its unit (填报单位：… 单位：万元). Under a 损失金额 without a
    unit of its own, 1.5 was read as 1.5 元 (no A1 for a 15,000 元 loss): the amounts are read in
    万元, as under 损失金额（万元）, and the file told; the ID number is no amount, and a header
    saying its own unit (元) keeps it."""
    rows = [["宿州市埇桥区2026年10月灾情损失统计表"], ["填报单位：区农业农村局", None, None, "单位：万元"],
            ["报案编号", "户主姓名", "证件号码", "灾害类型", "损失金额", "发生日期"],
            ["NY1", "张三", "341302199001011234", "洪涝", "1.5", "2026-10-05"]]
    text = "\n".join(",".join(c or "" for c in r) for r in rows) + "\n"
    for path in (write(tmp_path / "农业农村" / "a.csv", text), workbook(tmp_path / "农业农村" / "a.xlsx", [("Sheet1", rows)]),
                 write(tmp_path / "农业农村" / "r.csv", text.replace("\n", "\r"))):  # (\r: the csv-module path)
        notes = []
        valid, rejected, _, _ = read_delivery(path, f"农业农村/{path.name}", "农业农村", CFG, KNOWN, notes)
        assert valid[0][1].select("record_id", "id_raw", "loss_amount").rows() == [("NY1", "341302199001011234", 15_000.0)]
        assert [n.problem for n in notes] == ["标题行注明「单位：万元」：损失金额 按万元读取 the title says the unit is 万元: "
                                              "损失金额 read so, in 元"], path.name
    own = text.replace("损失金额,", "损失金额（元）,")
    valid, _, _, _ = read_delivery(write(tmp_path / "农业农村" / "b.csv", own), "农业农村/b.csv", "农业农村", CFG, KNOWN, [])
    assert valid[0][1]["loss_amount"].to_list() == [1.5]


SETTLEMENT_TWO_ROWS = [["宿州市医疗保障局 2026年10月结算明细"],
                       ["结算流水号", "姓名", "证件号码", "结算日期", "费用信息（元）", None, None],
                       [None, None, None, None, "医疗总费用", "个人自付", "其中：自费"],
                       ["JS1", "张三", "341302********1234", "2026-10-05", "300.00", "120.00", "20.00"],
                       ["合计", None, None, None, "300.00", "120.00", "20.00"]]


def test_a_second_header_row_may_name_a_column_no_kind_knows(tmp_path):
    """A merged 费用信息（元） over the amounts, whose second row adds a column of its own (其中：自费):
    the file is read as settlements (its 个人自付 found, the extra column ignored), and the
    sub-header row is no record. It once had to hold known names only: the whole file was set
    aside as 缺少必需列 个人自付, its sub-header counted as a row."""
    path = tmp_path / "医保" / "s.xlsx"
    path.parent.mkdir()
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    for r, row in enumerate(SETTLEMENT_TWO_ROWS):
        ws.write_row(r, 0, row)
    ws.merge_range(1, 4, 1, 6, "费用信息（元）")
    wb.close()
    # (saved as CSV without the merged cells' empty fields: the second row is longer than the first)
    csv_text = "\n".join(",".join(c or "" for c in row).rstrip(",") for row in SETTLEMENT_TWO_ROWS) + "\n"
    for p in (path, write(tmp_path / "医保" / "s.csv", csv_text)):
        valid, rejected, _, rows = read_delivery(p, f"医保/{p.name}", "医保", CFG, KNOWN)
        assert rejected.is_empty() and rows == 1
        assert [kind for kind, _ in valid] == ["med_settlement"]
        assert valid[0][1].select("record_id", "out_of_pocket", "line").rows() == [("JS1", 120.0, 4)]
    # a record under a header with an unknown column is still a record, whatever that column holds
    one = read_table(write(tmp_path / "o.csv", "鉴定编号,户主姓名,住址\nJD1,张三,乡（镇）\n"), "o.csv", KNOWN)
    assert one.rows() == [("JD1", "张三", "乡（镇）", 2)]


def test_an_answer_column_added_beside_the_lists_own_is_read_and_noted(tmp_path):
    """A clerk fills a 核实结果（属实/不属实） column added beside the list's empty 核实结果: the
    answers are taken (they were read as unanswered, silently), and the file noted."""
    text = "预警编号,乡（镇）,核实结果,核实日期,核实结果（属实/不属实）\nYJ1,大店镇,,2026-11-05,属实\nYJ2,大店镇,不属实,,属实\n"
    notes = []
    valid, rejected, _, _ = read_delivery(write(tmp_path / "反馈" / "f.csv", text), "反馈/f.csv", "反馈", CFG, KNOWN, notes)
    assert rejected.is_empty() and valid[0][1].select("warning_id", "result").rows() == [("YJ1", "属实"), ("YJ2", "不属实")]
    assert len(notes) == 1 and notes[0].problem.startswith("「核实结果（属实/不属实）」与「核实结果」都读作核实结果") and not notes[0].set_aside


def test_a_rosters_unreadable_optional_values_are_noted_per_column_and_the_persons_kept(tmp_path):
    """家庭人口数 filled on the 户主's row only, `/` on the members': every member was set aside
    (no record could reach them). Now they are kept, the column noted once with its lines."""
    text = ("乡镇,行政村,户编号,人编号,姓名,身份证号,与户主关系,家庭人口 数\n"
            + "".join(f"大店镇,韩湖村,H1,H1-0{i},人{i},34130219620111273{i},{r},{n}\n"
                      for i, r, n in [(1, "户主", "3"), (2, "配偶", "/"), (3, "之子", "/")]))
    notes, blanked = [], []
    valid, rejected, _, _ = read_delivery(write(tmp_path / "户籍底册" / "r.csv", text), "户籍底册/r.csv", "户籍底册", CFG,
                                          KNOWN, notes, None, blanked)
    assert rejected.is_empty() and valid[0][1]["household_size"].to_list() == [3, None, None]
    assert blanked == []  # (an extract's: only noted; an answer's are told back to who wrote them)
    assert len(notes) == 1 and not notes[0].set_aside and notes[0].file == "户籍底册/r.csv"
    assert notes[0].category == Finding.VALUES_BLANKED and Finding.VALUES_BLANKED in Finding.ATTENTION  # (console too)
    assert notes[0].problem.startswith("「家庭人口 数」2 个值读不出，已按空值处理、这些行照常使用（第 3、4 行；")


def test_a_rosters_old_15_digit_id_is_read_as_the_id_it_became_and_noted(tmp_path):
    """A roster person still entered under the old 15-digit ID was set aside (证件号码 not 18
    characters): the person vanished from the roster and no record could reach them. The ID is
    read as the 18-character one it became (19 inserted, the check character computed, GB 11643),
    the file told which lines to correct."""
    text = ("乡镇,行政村,户编号,人编号,姓名,公民身份号码,与户主关系\n"
            "大店镇,韩湖村,H1,H1-01,韩一,341302620111273,户主\n"
            "大店镇,韩湖村,H1,H1-02,韩二,'341302196401152722,配偶\n")
    notes = []
    valid, rejected, _, _ = read_delivery(write(tmp_path / "户籍底册" / "r.csv", text), "户籍底册/r.csv", "户籍底册", CFG,
                                          KNOWN, notes)
    assert rejected.is_empty()
    assert valid[0][1]["id_number"].to_list() == ["341302196201112734", "341302196401152722"]
    assert len(notes) == 1 and not notes[0].set_aside and notes[0].file == "户籍底册/r.csv"
    assert notes[0].problem.startswith("「公民身份号码」1 个为15位旧号，已按国家标准升为18位") and "第 2 行" in notes[0].problem


def test_a_rosters_person_numbers_counted_within_each_household_are_read_with_the_household_number(tmp_path):
    """人编号 1, 2, 3 under every 户编号 (a roster numbering persons within the household): every
    row shared its number with another household's, all were set aside as duplicated and the run
    refused (no usable roster). Read as 户编号-人编号, the file told; two persons given one number
    in one household are still set aside, and a blank 人编号 is still missing."""
    text = ("乡镇,行政村,户编号,人编号,姓名,身份证号,与户主关系\n"
            "大店镇,韩湖村,H1,1,韩一,341302196201112734,户主\n"
            "大店镇,韩湖村,H1,2,韩二,341302196401152722,配偶\n"
            "大店镇,韩湖村,'H2,'1,李一,341302197001010011,户主\n"
            "大店镇,韩湖村,H2,2,李二,341302197201010021,配偶\n"
            "大店镇,韩湖村,H2,2,李三,341302199501010031,之子\n"
            "大店镇,韩湖村,H3,1,王一,341302196801010041,户主\n"
            "大店镇,韩湖村,H3,,王二,341302196901010051,配偶\n")
    notes = []
    valid, rejected, _, _ = read_delivery(write(tmp_path / "户籍底册" / "r.csv", text), "户籍底册/r.csv", "户籍底册", CFG,
                                          KNOWN, notes)
    assert valid[0][1].select("person_id", "name").rows() == [("H1-1", "韩一"), ("H1-2", "韩二"), ("H2-1", "李一"),
                                                                ("H3-1", "王一")]
    assert sorted(rejected.select("line", "field").rows()) == [(5, "person_id"), (6, "person_id"), (8, "person_id")]
    assert len(notes) == 1 and not notes[0].set_aside and notes[0].file == "户籍底册/r.csv"
    assert notes[0].problem.startswith("「人编号」为户内编号") and "如 H1-1，6 行" in notes[0].problem


def test_a_rosters_person_numbers_excel_destroyed_are_set_aside_naming_excel_not_read_as_household_numbers(tmp_path):
    """人编号 Excel turned into 3.41302E+17 repeat across households too: still set aside saying
    Excel destroyed them, not read as 户编号-人编号 (which would keep them under a made-up number)."""
    text = ("乡镇,行政村,户编号,人编号,姓名,身份证号,与户主关系\n"
            + "".join(f"大店镇,韩湖村,H{h},3.41302E+17,人{h}{i},34130219620111{h}{i}34,{r}\n"
                      for h in range(1, 4) for i, r in [(1, "户主"), (2, "配偶")]))
    notes = []
    valid, rejected, _, _ = read_delivery(write(tmp_path / "户籍底册" / "r.csv", text), "户籍底册/r.csv", "户籍底册", CFG,
                                          KNOWN, notes)
    assert valid[0][1].is_empty() and rejected.height == 6 and notes == []
    assert rejected["reason"].str.contains("Excel").all()


def test_a_rosters_person_numbers_of_the_county_are_read_as_given_with_a_slip_set_aside(tmp_path):
    """A 人编号 numbering the county's persons, one typed twice across households: as given, the two
    rows set aside as duplicated (not read as 户编号-人编号)."""
    text = ("乡镇,行政村,户编号,人编号,姓名,身份证号,与户主关系\n"
            "大店镇,韩湖村,H1,P1,韩一,341302196201112734,户主\n"
            "大店镇,韩湖村,H1,P2,韩二,341302196401152722,配偶\n"
            "大店镇,韩湖村,H2,P3,李一,341302197001010011,户主\n"
            "大店镇,韩湖村,H3,P3,王一,341302196801010041,户主\n")
    notes = []
    valid, rejected, _, _ = read_delivery(write(tmp_path / "户籍底册" / "r.csv", text), "户籍底册/r.csv", "户籍底册", CFG,
                                          KNOWN, notes)
    assert valid[0][1]["person_id"].to_list() == ["P1", "P2"] and notes == []
    assert sorted(rejected.select("line", "field").rows()) == [(4, "person_id"), (5, "person_id")]


def test_answers_cut_down_to_the_two_columns_a_returned_list_needs_are_read(tmp_path):
    """A clerk's sheet of 预警编号 and 核实结果 alone (the two columns an answer needs) was set aside
    as 'no header row found': a header needed three filled cells. Two, both known names, do; a
    title of two words that are no column names does not."""
    text = "2026年10月核实情况,大店镇\n预警编号,核实结果\nYJ1,属实\nYJ2,不属实\n"
    valid, rejected, _, _ = read_delivery(write(tmp_path / "反馈" / "f.csv", text), "反馈/f.csv", "反馈", CFG, KNOWN)
    assert rejected.is_empty() and valid[0][1].select("warning_id", "result", "line").rows() == [
        ("YJ1", "属实", 3), ("YJ2", "不属实", 4)]


def test_a_date_typed_on_the_10th_that_excel_kept_as_a_number_carries_the_day_typed(tmp_path):
    """`11.10`, `11.20`, `11.30` typed into Excel are the numbers 11.1, 11.2, 11.3: so a saved CSV
    and a workbook's numeric cell give them. Read as 11月1日 …, the answer carries the day typed
    too (`verify_date_tens`, for `feedback.check_feedback`); a date of another shape does not."""
    csv = write(tmp_path / "反馈" / "f.csv", "预警编号,乡（镇）,核实结果,核实日期\nYJ1,大店镇,属实,11.1\n"
                                             "YJ2,大店镇,属实,11月1日\nYJ3,大店镇,属实,2026.11.1\nYJ4,大店镇,属实,11.01\n")
    xlsx = workbook(tmp_path / "反馈" / "f.xlsx", [("Sheet1", [["预警编号", "乡（镇）", "核实结果", "核实日期"],
                                                             ["YJ1", "大店镇", "属实", 11.2], ["YJ2", "大店镇", "属实", 12.3],
                                                             ["YJ3", "大店镇", "属实", 11.1], ["YJ4", "大店镇", "属实", "11/1"]])])
    latest = datetime.date(2027, 1, 30)
    got = {}
    for path in (csv, xlsx):
        valid, rejected, _, _ = read_delivery(path, f"反馈/{path.name}", "反馈", CFG, KNOWN, latest=latest)
        assert rejected.is_empty()
        got[path.suffix] = valid[0][1].select("warning_id", "verify_date", "verify_date_tens").rows()
    D = datetime.date
    assert got[".csv"] == [("YJ1", D(2026, 11, 1), D(2026, 11, 10)), ("YJ2", D(2026, 11, 1), None),
                           ("YJ3", D(2026, 11, 1), None), ("YJ4", D(2026, 11, 1), None)]
    assert got[".xlsx"] == [("YJ1", D(2026, 11, 2), D(2026, 11, 20)), ("YJ2", D(2026, 12, 3), D(2026, 12, 30)),
                            ("YJ3", D(2026, 11, 1), D(2026, 11, 10)), ("YJ4", D(2026, 11, 1), None)]


def test_a_returned_lists_issue_date_is_read_as_excel_and_wps_save_it_and_sets_no_row_aside(tmp_path):
    """A returned list's 下发日期 tells which row a copy without 预警规则 was written on
    (`feedback.check_feedback`): read as `issue_date` however Excel or WPS re-saved it (2026/10/9 in
    a CSV, a date cell in a workbook), as text `parse_date` reads. One that cannot be read (见上) is
    no date: its row is not set aside for it, nor the township told to fill it in again."""
    csv = write(tmp_path / "反馈" / "f.csv", "预警编号,乡（镇）,下发日期,核实结果\nYJ1,大店镇,2026/10/9,属实\n"
                                             "YJ2,大店镇,见上,属实\nYJ3,大店镇,,属实\n")
    xlsx = tmp_path / "反馈" / "f.xlsx"
    wb = xlsxwriter.Workbook(xlsx)
    ws = wb.add_worksheet("因病")
    ws.write_row(0, 0, ["预警编号", "乡（镇）", "下发日期", "核实结果"])
    ws.write_row(1, 0, ["YJ1", "大店镇"])
    ws.write_datetime(1, 2, datetime.datetime(2026, 10, 9), wb.add_format({"num_format": "yyyy/m/d"}))
    ws.write(1, 3, "属实")
    ws.write_row(2, 0, ["YJ2", "大店镇", "见上", "属实"])
    ws.write_row(3, 0, ["YJ3", "大店镇", None, "属实"])
    wb.close()
    for path in (csv, xlsx):
        blanked = []
        valid, rejected, _, _ = read_delivery(path, f"反馈/{path.name}", "反馈", CFG, KNOWN, blanked=blanked,
                                              latest=datetime.date(2026, 11, 30))
        assert rejected.is_empty() and blanked == [], path.name
        df = valid[0][1]
        assert df.select("warning_id", parse_date("issue_date", datetime.date(2026, 11, 30))).rows() == [
            ("YJ1", datetime.date(2026, 10, 9)), ("YJ2", None), ("YJ3", None)], path.name


def test_a_formulas_error_value_in_a_workbook_is_read_as_excel_shows_it(tmp_path):
    """A clerk's VLOOKUP that found nothing shows #N/A: the cell is read as `#N/A` (as a CSV
    saved from the sheet holds it) and its row set aside naming it, not read as an empty answer;
    rows holding error values alone (the formula filled down past the list) are blank rows."""
    path = tmp_path / "反馈" / "f.xlsx"
    path.parent.mkdir()
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("因病")
    ws.write_row(1, 1, ["预警编号", "乡（镇）", "核实结果", "核实日期"])  # from B2: the frame's own offsets
    ws.write_row(2, 1, ["YJ1", "大店镇"])
    ws.write_formula(2, 3, "=VLOOKUP(B3,Sheet2!A:B,2,0)", None, "#N/A")
    ws.write_row(3, 1, ["YJ2", "大店镇", "属实"])
    ws.write_formula(3, 4, "=1/0", None, "#DIV/0!")
    for r in (4, 5):
        ws.write_formula(r, 3, "=NA()", None, "#N/A")
    wb.close()
    df = read_table(path, "反馈/f.xlsx", KNOWN)
    assert df.select("预警编号", "核实结果", "核实日期", "line").rows() == [("YJ1", "#N/A", None, 3), ("YJ2", "属实", "#DIV/0!", 4)]
    blanked = []
    valid, rejected, _, _ = read_delivery(path, "反馈/f.xlsx", "反馈", CFG, KNOWN, blanked=blanked)
    assert rejected.select("line", "field", "value").rows() == [(3, "result", "#N/A")]
    # (a 核实日期 that cannot be read is taken as empty, the answer kept and the township told)
    assert valid[0][1].select("warning_id", "result", "verify_date").rows() == [("YJ2", "属实", None)]
    assert pl.concat(blanked).select("line", "field", "value").rows() == [(4, "verify_date", "#DIV/0!")]


def test_every_sheet_with_a_header_is_a_table_named_by_its_sheet(tmp_path):
    """A township's returned list: a 汇总 sheet (no header), then a sheet per risk type. Each
    risk sheet is read (labelled by its sheet); a one-table workbook keeps the plain path."""
    path = tmp_path / "r.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("汇总").write_row(0, 0, ["风险类型", "户数"])
    for risk, wid in (("因病", "YJ1"), ("因残", "YJ2")):
        ws = wb.add_worksheet(risk)
        ws.write_row(0, 0, ["预警编号", "风险类型", "乡（镇）", "核实结果", "核实日期"])
        ws.write_row(1, 0, [wid, risk, "大店镇", "属实", "2026-11-05"])
    hidden = wb.add_worksheet("下拉选项")  # a hidden lookup sheet for drop-downs is not a table
    hidden.write_row(0, 0, ["乡（镇）", "行政村", "村民小组"])
    hidden.write_row(1, 0, ["大店镇", "王庄村", "1组"])
    hidden.hide()
    old = wb.add_worksheet("上月")  # a hidden sheet of records: said, not read
    old.write_row(0, 0, ["预警编号", "风险类型", "乡（镇）", "核实结果", "核实日期"])
    old.write_row(1, 0, ["YJ0", "因病", "大店镇", "属实", "2026-10-05"])
    old.hide()
    wb.close()
    notes = []
    tables = read_tables(path, "反馈/r.xlsx", KNOWN, notes)
    assert [n.problem[:13] for n in notes] == ["隐藏的工作表「上月」有表头"] and not notes[0].set_aside
    assert notes[0].category == Finding.HIDDEN_TABLE  # (its township is told of it by this category)
    assert [label for label, _ in tables] == ["反馈/r.xlsx（工作表 因病）", "反馈/r.xlsx（工作表 因残）"]
    assert [df["预警编号"].to_list() for _, df in tables] == [["YJ1"], ["YJ2"]]
    assert read_table(path, "反馈/r.xlsx", KNOWN)["预警编号"].to_list() == ["YJ1"]
    one = tmp_path / "one.xlsx"
    pl.DataFrame({"预警编号": ["YJ3"], "乡（镇）": ["大店镇"], "核实结果": ["属实"]}).write_excel(one)
    assert [label for label, _ in read_tables(one, "反馈/one.xlsx", KNOWN)] == ["反馈/one.xlsx"]


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_a_header_said_again_under_the_table_is_not_a_record(tmp_path, newline):
    """Tables pasted one under another with their headers (a township's risk-type sheets put on
    one sheet, a department's two exports appended): the header rows again are dropped and
    noted, not set aside as records with unknown codes; a record is kept even where a value
    happens to read as its column's name."""
    fb = ["预警编号,风险类型,乡（镇）,核实结果,核实日期", "YJ1,因病,大店镇,属实,2026-11-05", "",
          "预警编号,风险类型,乡（镇）,核实结果,核实日期", "YJ2,因残,大店镇,不属实,2026-11-05",
          " 预警编号 ,风险类型,,核实结果,", "YJ3,风险类型,大店镇,,"]
    notes = []
    df = read_table(write(tmp_path / "f.csv", newline.join(fb) + newline), "反馈/f.csv", KNOWN, notes)
    assert df["预警编号"].to_list() == ["YJ1", "YJ2", "YJ3"] and df["line"].to_list() == [2, 5, 7]
    assert len(notes) == 1 and not notes[0].set_aside and "第4、6行重复表头" in notes[0].problem
    path = tmp_path / "all.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet("全部")
    for i, row in enumerate(r.split(",") for r in fb):
        ws.write_row(i, 0, row)
    wb.close()
    notes = []
    ((label, df),) = read_tables(path, "反馈/all.xlsx", KNOWN, notes)
    assert label == "反馈/all.xlsx" and df["预警编号"].to_list() == ["YJ1", "YJ2", "YJ3"]
    assert [(n.file, n.problem[:9]) for n in notes] == [("反馈/all.xlsx（工作表 全部）", "第4、6行重复表头")]  # (which sheet)
    # a record right above the header said again, its first value words (a roster's 乡镇), is no
    # title; the header said again is read as headers are, 乡(镇) for 乡（镇）, 姓 名 for 姓名
    roster = ["乡（镇）,行政村,户编号,人编号,姓名", "大店镇,韩湖村,H1,P1,张三", "乡(镇),行政村,户编号,人编号,姓 名",
              "大店镇,韩湖村,H1,P1,张三"]
    df = read_table(write(tmp_path / "r.csv", newline.join(roster) + newline), "户籍底册/r.csv", KNOWN, notes := [])
    assert df["人编号"].to_list() == ["P1", "P1"] and df["line"].to_list() == [2, 4]
    assert [n.problem[:7] for n in notes] == ["第3行重复表头"] and "标题" not in notes[0].problem


@pytest.mark.parametrize("newline", ["\n", "\r"])
def test_the_title_exported_with_a_header_said_again_is_not_a_record(tmp_path, newline):
    """Two exports appended, each with its title line above its header: the second title was
    set aside as a record (its 结算流水号 the title, 'missing value' blamed on merged cells). A
    record of one filled cell elsewhere is still a record (set aside by validation). Up to five
    title lines go with a header (SPEC §1: 1-5 above the first)."""
    rows = ["宿州市医疗保障局2026年10月结算明细", HEADER, "JS1,张三,,2026-10-05,1", "合计,,,,1", "",
            "宿州市医疗保障局2026年10月结算明细", "（补报）", HEADER, "JS2,李四,,2026-10-06,2", "JS9,,,,",
            "宿州市医疗保障局", "2026年10月结算明细", "（补报）", "埇桥区", "金额单位元", HEADER, "JS3,王五,,2026-10-07,3"]
    notes = []
    df = read_table(write(tmp_path / "t.csv", newline.join(rows) + newline), "t.csv", KNOWN, notes)
    assert df["结算流水号"].to_list() == ["JS1", "JS2", "JS9", "JS3"]
    assert len(notes) == 1 and notes[0].problem.startswith("第8、16行重复表头（多张表粘贴在一起？），其上第6、7、11、12、13、14、15行是标题")


@pytest.mark.parametrize("rows", [["JS1,张三,,2026-10-05,1"], ["JS1,张三,,2026-10-05,1", "JS2,李四,,2026-10-05,1,234.50"]])
def test_an_ordinary_csv_is_read_by_the_fast_path(tmp_path, rows):
    """polars, not the csv module (a city's millions of rows: 1.3 s against 8 s): the fast path
    must not give up on a plain file, with or without a row past the header. (It once raised on
    every file without such a row, and the slow path quietly read them all.)"""
    from adapters.inbox import _fast_csv, _fields_of
    got = _fast_csv(write(tmp_path / "p.csv", "\n".join([HEADER, *rows]) + "\n"), _fields_of(KNOWN), "p.csv", [])
    assert isinstance(got, list) and len(got) == 1 and got[0].height == len(rows)
    assert ("_extra" in got[0].columns) == (len(rows) == 2)


def test_a_hidden_sheet_of_records_not_read_is_said_on_the_console(tmp_path):
    """A department's workbook with a second batch on a sheet hidden by mistake: its records were
    read by no one, counted nowhere, and named only deep in 数据质量报告.csv. The console's
    attention list names it too (a lookup sheet of a few place columns is not such a table)."""
    from pipelines.console import attention_lines
    from schemas.outputs import QUALITY_COLUMNS

    path = tmp_path / "医保.xlsx"
    wb = xlsxwriter.Workbook(path)
    rows = [HEADER.split(","), ["JS1", "张三", "", "2026-10-05", "1"]]
    for name, more in (("第一批", []), ("第二批", ["姓名"])):  # (the hidden sheet's own faults: not said, it is not read)
        ws = wb.add_worksheet(name)
        for i, row in enumerate(rows):
            ws.write_row(i, 0, [*row, *more])
    ws.hide()
    lists = wb.add_worksheet("下拉")  # the drop-downs' lists, no header: neither read nor set aside
    for i, row in enumerate([["大店镇", "韩湖村", "1组"], ["大店镇", "叶岗村", "2组"], ["时村镇", "李庄村", "3组"]]):
        lists.write_row(i, 0, row)
    lists.hide()
    codes = wb.add_worksheet("编码")  # a lookup list with a header: 3 place names, not a table of records
    for i, row in enumerate([["乡（镇）", "行政村", "村民小组", "编码"], ["大店镇", "韩湖村", "1组", "0101"]]):
        codes.write_row(i, 0, row)
    codes.hide()
    wb.close()
    notes = []
    assert [label for label, _ in read_tables(path, "医保/医保.xlsx", KNOWN, notes)] == ["医保/医保.xlsx"]
    assert [n.category for n in notes] == [Finding.HIDDEN_TABLE]
    q = pl.DataFrame([dict(category=n.category, dept="医保", file=n.file, detail=n.problem, count=1) for n in notes],
                     schema=QUALITY_COLUMNS)
    lines = attention_lines(q, ["户籍底册", "网格"])
    assert len(lines) == 1 and "第二批" in lines[0] and lines[0].startswith("隐藏表未读 医保 医保/医保.xlsx")


def test_a_cover_sheet_listing_the_fields_is_not_a_table(tmp_path):
    """A workbook whose first sheet (说明) explains the fields, the data on the next: a row naming
    one field twice (姓名 | 患者姓名, 证件号码 | 身份证号码 | 脱敏) was taken for a header and the
    lines under it set aside as records missing every column. Two known names of two fields still
    make a header of two cells (a township's 预警编号 | 核实结果)."""
    path = workbook(tmp_path / "医保.xlsx", [
        ("说明", [["本表为2026年10月结算明细"], ["字段", "说明"], ["姓名", "患者姓名"], ["个人自付", "元"],
                  ["证件号码", "身份证号码", "脱敏，保留前6后4位"], ["结算日期", "年月日"]]),
        ("结算明细", [HEADER.split(","), ["JS1", "张三", "", "2026-10-05", "1"]]),
        ("反馈", [["预警编号", "核实结果"], ["YJ1", "属实"]])])
    tables = read_tables(path, "医保/医保.xlsx", KNOWN)
    assert [label for label, _ in tables] == ["医保/医保.xlsx（工作表 结算明细）", "医保/医保.xlsx（工作表 反馈）"]
    assert tables[0][1]["结算流水号"].to_list() == ["JS1"] and tables[1][1]["预警编号"].to_list() == ["YJ1"]


def test_a_notes_sheet_tabling_the_fields_is_not_a_sheet_of_records_set_aside(tmp_path):
    """A template's 说明 sheet with a table of its fields (字段 | 说明 | 是否必填, a row per
    field): rows of 3 values, so the sheet was set aside whole as records whose header was not
    found, on the console and back to the department, every month. A column naming two fields
    or more, one a cell, describes the columns: no records there. A sheet of records headed in
    words no kind knows is still set aside."""
    rows = [["JS1", "张三", "", "2026-10-05", "1"], ["JS2", "李四", "", "2026-10-05", "2"]]
    path = workbook(tmp_path / "民政.xlsx", [
        ("填表说明", [["填报说明"], ["序号", "字段", "填写要求", "是否必填"], [1, "结算流水号", "唯一", "是"],
                      [2, "姓名", "可脱敏", "是"], [3, "证件号码", "保留前6后4位", "是"], [4, "个人自付（元）", "数字", "是"]]),
        ("明细", [HEADER.split(","), *rows]),
        ("下", [["settle_no", "name", "id", "settle_date", "oop"], *rows])])
    valid, rejected, _, read = read_delivery(path, "医保/医保.xlsx", "医保", CFG, KNOWN, [])
    assert [k for k, _ in valid] == ["med_settlement"] and valid[0][1].height == 2 and read == 2
    assert rejected.select("file", "line").rows() == [("医保/医保.xlsx（工作表 下）", None)]


def test_field_codes_or_column_numbers_under_the_header_are_no_record(tmp_path):
    """Many systems print their field codes under the Chinese header (settle_no, xm, sfzh …), and
    forms their columns' numbers (栏次 1, 2, 3 …): that row was read as a record and set aside every
    month with field-level reasons. It is noted and not read; a first record is still a record."""
    codes = write(tmp_path / "a.csv", f"{HEADER}\nsettle_no,xm,sfzh,jsrq,grzf\nJS1,张三,,2026-10-05,1\n")
    numbers = write(tmp_path / "b.csv", f"{HEADER}\n1,2,3,4,5\nJS1,张三,,2026-10-05,1\n")
    from_zero = write(tmp_path / "z.csv", f"{HEADER}\n0,1,2,3,4\nJS1,张三,,2026-10-05,1\n")
    plain = write(tmp_path / "c.csv", f"{HEADER}\nJS1,张三,,2026-10-05,1\nJS2,李四,,2026-10-05,2\n")
    # a first record whose first values are codes, but not all of them: a record
    coded = read_table(write(tmp_path / "d.csv", "结算流水号,人员编号,医疗类别,姓名,证件号码,个人自付\nJS1,P001,ZY,张三,,1\n"),
                       "医保/d.csv", KNOWN, notes := [])
    assert coded["结算流水号"].to_list() == ["JS1"] and notes == []
    for path, said in [(codes, "第 2 行为表头的英文字段名（settle_no、xm、sfzh…），不是记录"), (numbers, "第 2 行为栏次"),
                       (from_zero, "第 2 行为栏次")]:
        notes = []
        valid, rejected, _, read = read_delivery(path, f"医保/{path.name}", "医保", CFG, KNOWN, notes)
        assert valid[0][1]["record_id"].to_list() == ["JS1"] and valid[0][1]["line"].to_list() == [3], path.name
        assert rejected.is_empty() and read == 1
        assert [n.problem for n in notes if not n.set_aside and said in n.problem], notes
    notes = []
    valid, rejected, _, read = read_delivery(plain, "医保/c.csv", "医保", CFG, KNOWN, notes)
    assert valid[0][1]["record_id"].to_list() == ["JS1", "JS2"] and read == 2 and notes == []


@pytest.mark.parametrize("head, numbers", [("序号," + HEADER, "栏次,1,2,3,4,5"), (HEADER, "甲,乙,1,2,3"), (HEADER, "A,B,1,2,3")])
def test_column_numbers_under_the_header_after_their_label_are_no_record(tmp_path, head, numbers):
    """A statistical form numbers its columns under the header after a label: 栏次 under 序号, or
    甲, 乙 (A, B) over its text columns and 1, 2, 3 over the others. That row was read as a record
    and set aside (人员编号 1, an unknown 参保状态 4): it is noted and not read."""
    first = "1," if head.startswith("序号") else ""
    path = write(tmp_path / "a.csv", f"{head}\n{numbers}\n{first}JS1,张三,,2026-10-05,1\n")
    notes = []
    valid, rejected, _, read = read_delivery(path, "医保/a.csv", "医保", CFG, KNOWN, notes)
    assert valid[0][1]["record_id"].to_list() == ["JS1"] and rejected.is_empty() and read == 1
    assert [n.problem for n in notes] == ["第 2 行为栏次（1、2、3…），不是记录，未读取 line 2 numbers the columns, not a record: not read"]


def test_a_note_on_one_sheet_of_a_workbook_of_several_names_its_sheet(tmp_path):
    """A workbook of two sheets of records, one with its columns' numbers under the header: the
    note said 第 2 行 of the file, not of which sheet (its rows set aside name theirs)."""
    rows = [HEADER.split(","), ["JS1", "张三", "", "2026-10-05", "1"]]
    path = workbook(tmp_path / "w.xlsx", [("第一批", rows), ("第二批", [rows[0], ["1", "2", "3", "4", "5"], ["JS2", *rows[1][1:]]])])
    notes = []
    tables = read_tables(path, "医保/w.xlsx", KNOWN, notes)
    assert [label for label, _ in tables] == ["医保/w.xlsx（工作表 第一批）", "医保/w.xlsx（工作表 第二批）"]
    assert [(n.file, n.problem[:9]) for n in notes] == [("医保/w.xlsx（工作表 第二批）", "第 2 行为栏次（")]
    one = workbook(tmp_path / "o.xlsx", [("第二批", [rows[0], ["1", "2", "3", "4", "5"], rows[1]])])
    read_tables(one, "医保/o.xlsx", KNOWN, notes := [])
    assert [n.file for n in notes] == ["医保/o.xlsx"]  # (a workbook of one table is named as its file)


def test_dates_naming_only_a_month_are_read_and_the_file_told(tmp_path):
    """民政's 变动日期 written by the month (2026年10月, 202610): the rows are kept, dated the 1st,
    and the file is told which lines were read so (文件说明)."""
    path = write(tmp_path / "c.csv", "记录编号,姓名,证件号码,救助类别,变动类型,变动日期\n"
                                     "MZ1,张三,,低保,新增,2026年10月\nMZ2,李四,,低保,新增,2026-10-05\nMZ3,王五,,特困,新增,202610\n")
    notes = []
    valid, rejected, _, read = read_delivery(path, "民政/c.csv", "民政", CFG, KNOWN, notes)
    assert rejected.is_empty() and read == 3
    assert valid[0][1]["change_date"].to_list() == [datetime.date(2026, 10, 1), datetime.date(2026, 10, 5),
                                                    datetime.date(2026, 10, 1)]
    assert len(notes) == 1 and notes[0].problem.startswith("「变动日期」2 个日期只有年月，按当月1日读取（第 2、4 行）")
    assert not notes[0].set_aside
    # a township's answer dated by the month is its own matter (told back to it), not a note on the file
    answer = write(tmp_path / "f.csv", "预警编号,乡（镇）,核实结果,核实日期\nYJ202610-aaaaaaaaaa,大店镇,属实,2026年11月\n")
    notes = []
    read_delivery(answer, "反馈/f.csv", "反馈", CFG, KNOWN, notes, datetime.date(2026, 12, 31))
    assert not [n for n in notes if "只有年月" in n.problem]


def test_a_summary_sheet_beside_the_records_is_noted_not_set_aside(tmp_path):
    """A department workbook's 汇总 sheet (totals per township, its header found or not) beside
    the sheet of records: its rows were set aside every month as records of no kind, back to the
    department. Now noted (文件说明), its rows no rows read; a workbook whose only table is a
    summary is still set aside."""
    rows = [["JS1", "张三", "", "2026-10-05", "1"], ["JS2", "李四", "", "2026-10-05", "2"]]
    sheets = [("分乡镇汇总", [["乡（镇）", "行政村", "人次", "个人自付（元）"], ["大店镇", "叶岗村", 3, 500], ["合计", "", 3, 500]]),
              ("统计", [["单位", "人次", "金额"], ["大店镇", 3, 500], ["芦岭镇", 2, 100]]),
              ("明细", [HEADER.split(","), *rows])]

    notes = []
    valid, rejected, _, read = read_delivery(workbook(tmp_path / "医保.xlsx", sheets), "医保/医保.xlsx", "医保", CFG, KNOWN, notes)
    assert [k for k, _ in valid] == ["med_settlement"] and valid[0][1].height == 2 and read == 2
    assert rejected.is_empty()
    said = {n.file: n.problem for n in notes if "汇总表" in n.problem}
    assert said == {"医保/医保.xlsx（工作表 分乡镇汇总）": "汇总表，不是记录，未读取（1 行） a summary sheet (totals, not records): not read (1 row)",
                    "医保/医保.xlsx（工作表 统计）": "汇总表，不是记录，未读取（3 行） a summary sheet (totals, not records): not read (3 rows)"}
    assert not any(n.set_aside for n in notes)
    # a summary alone is no delivery of records: set aside as before
    valid, rejected, _, read = read_delivery(workbook(tmp_path / "汇总.xlsx", sheets[:1]), "医保/汇总.xlsx", "医保", CFG, KNOWN, [])
    assert valid == [] and read == 1 and rejected["reason"].str.starts_with("缺少必需列").all()


def test_a_table_of_no_kind_is_set_aside_with_its_rows_or_as_a_file(tmp_path):
    """A table whose header fits no kind of its folder, on a sheet not named as a summary (住建's
    sheet in 医保's workbook), has its rows set aside naming the missing columns, not noted as a
    summary; without a row under its header (a template sent back empty) it is set aside as a
    file: with no row to set aside it would go unread and unsaid."""
    housing = [["鉴定编号", "户主姓名", "鉴定等级", "改造状态"], ["JD1", "张三", "C", "未改造"]]
    book = workbook(tmp_path / "医保.xlsx", [("明细", [HEADER.split(","), ["JS1", "张三", "", "2026-10-05", "1"]]),
                                             ("住房", housing)])
    valid, rejected, _, read = read_delivery(book, "医保/医保.xlsx", "医保", CFG, KNOWN, notes := [])
    assert [k for k, _ in valid] == ["med_settlement"] and read == 2 and not notes
    assert rejected.select("file", "line").rows() == [("医保/医保.xlsx（工作表 住房）", 2)]
    assert rejected["reason"][0].startswith("缺少必需列")
    empty = write(tmp_path / "t.csv", ",".join(housing[0]) + "\n")
    valid, rejected, _, read = read_delivery(empty, "医保/t.csv", "医保", CFG, KNOWN, [])
    assert valid == [] and read == 0
    assert rejected.select("file", "line").rows() == [("医保/t.csv", None)] and rejected["reason"][0].startswith("缺少必需列")


def test_two_tables_side_by_side_on_a_sheet_are_each_read(tmp_path):
    """A clerk lays a month's second batch beside the first (A:E, then G:K, column F left empty):
    read as one table, the second block's columns were the first's names said again (noted as
    duplicated headers) and its records were lost: rows read counted the first table's alone.
    Each is read, named as a table of its own, the file told, and so in the sheet saved as CSV, and
    a narrow list printed two-up (its names said twice over, no column between); a sheet whose
    empty column parts the records from something else (a 备注 column) is one table still."""
    title = ["宿州市医疗保障局 2026年10月结算明细"]
    first = [["JS1", "张三", "341302********123X", "2026-10-05", "100"], ["JS2", "李四", "", "2026-10-06", "20"]]
    second = [["JS3", "王五", "341302********2734", "2026-10-07", "30"]]
    rows = [title, HEADER.split(",") + [None] + HEADER.split(",")]
    rows += [a + [None] + (second[i] if i < len(second) else [None] * 5) for i, a in enumerate(first)]
    notes = []
    tables = read_tables(workbook(tmp_path / "医保.xlsx", [("明细", rows)]), "医保/医保.xlsx", KNOWN, notes)
    assert [(label, df["结算流水号"].to_list(), df["line"].to_list()) for label, df in tables] == [
        ("医保/医保.xlsx（工作表 明细）", ["JS1", "JS2"], [3, 4]),
        ("医保/医保.xlsx（工作表 明细 并排第2个表）", ["JS3"], [3])]
    assert tables[1][1]["个人自付"].to_list() == ["30"]
    assert [n.problem for n in notes] == [
        "工作表「明细」中有并排的 2 个表，各自读取 sheet '明细' holds 2 tables side by side: each is read"]
    _, _, _, read = read_delivery(tmp_path / "医保.xlsx", "医保/医保.xlsx", "医保", CFG, KNOWN, [])
    assert read == 3
    # the sheet saved as CSV, by polars or (a lone CR) the csv module
    for newline in ["\n", "\r"]:
        text = newline.join(",".join(c or "" for c in r) for r in rows) + newline
        notes = []
        tables = read_tables(write(tmp_path / "医保.csv", text), "医保/医保.csv", KNOWN, notes)
        assert [(label, df["结算流水号"].to_list(), df["line"].to_list()) for label, df in tables] == [
            ("医保/医保.csv", ["JS1", "JS2"], [3, 4]), ("医保/医保.csv（工作表 并排第2个表）", ["JS3"], [3])]
        assert [n.problem for n in notes] == ["文件中有并排的 2 个表，各自读取 the file holds 2 tables side by side: each is read"]
    # a narrow list printed two-up, no column between
    two_up = [title, HEADER.split(",") * 2] + [a + (second[i] if i < len(second) else [None] * 5) for i, a in enumerate(first)]
    for path in (workbook(tmp_path / "二.xlsx", [("明细", two_up)]),
                 write(tmp_path / "二.csv", "\n".join(",".join(c or "" for c in r) for r in two_up) + "\n")):
        tables = read_tables(path, f"医保/{path.name}", KNOWN)
        assert [df["结算流水号"].to_list() for _, df in tables] == [["JS1", "JS2"], ["JS3"]]
    noted = [title, HEADER.split(",") + [None, "备注"]] + [a + [None, "x"] for a in first]
    tables = read_tables(workbook(tmp_path / "n.xlsx", [("明细", noted)]), "医保/n.xlsx", KNOWN)
    assert len(tables) == 1 and tables[0][1].height == 2


def test_a_workbook_whose_only_table_is_on_a_hidden_sheet_says_so(tmp_path):
    """A 封面 sheet shown and the records on a sheet hidden by mistake: the file was set aside as
    having no header row (前15行未找到表头), sending the department to look for a header that is
    there. It is set aside naming the hidden sheet, asking to unhide it."""
    path = tmp_path / "医保.xlsx"
    wb = xlsxwriter.Workbook(path)
    wb.add_worksheet("封面").write(0, 0, "宿州市医疗保障局 2026年10月结算明细")
    ws = wb.add_worksheet("明细")
    for i, row in enumerate([HEADER.split(","), ["JS1", "张三", "", "2026-10-05", "1"]]):
        ws.write_row(i, 0, row)
    ws.hide()
    wb.close()
    got = read_tables(path, "医保/医保.xlsx", KNOWN, [])
    assert isinstance(got, ReadError) and got.set_aside
    assert got.problem.startswith("表格在隐藏的工作表「明细」中，未读取") and "unhide" in got.problem


def test_xlsx_cells_merged_down_a_column_hold_their_value_in_every_row(tmp_path):
    """A 网格员 (and their grid, place, phone) typed once in cells merged over the rows of their
    households: every row holds it, as the reader of the sheet sees it; also below a title merged
    across the columns and from column B on. A cell merged across columns only is left as read."""
    path = tmp_path / "网格.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("网格")
    header = ["网格编号", "乡（镇）", "行政村", "网格员", "网格员电话", "户编号", "备注"]
    ws.merge_range(0, 1, 0, 7, "大店镇网格划分表")  # a title over B1:H1
    ws.write_row(2, 1, header)
    rows = [["G1", "大店镇", "韩湖村", "张网", "13700000001", "H1", "a"], [None] * 5 + ["H2", None],
            [None] * 5 + ["H3", None], ["G2", "大店镇", "韩湖村", "王网", "13700000002", "H4", None]]
    for i, r in enumerate(rows):
        ws.write_row(3 + i, 1, r)
    for c in range(5):  # B4:B6 ... F4:F6
        ws.merge_range(3, 1 + c, 5, 1 + c, rows[0][c])
    ws.merge_range(6, 6, 6, 7, "H4")  # across columns only
    wb.close()
    df = read_table(path, "网格/网格.xlsx", KNOWN)
    assert df.select("网格编号", "网格员", "网格员电话", "户编号", "line").rows() == [
        ("G1", "张网", "13700000001", "H1", 4), ("G1", "张网", "13700000001", "H2", 5),
        ("G1", "张网", "13700000001", "H3", 6), ("G2", "王网", "13700000002", "H4", 7)]
    assert df["备注"].to_list() == ["a", None, None, None]


def test_cells_merged_beyond_the_table_change_no_record(tmp_path):
    """Merged ranges reaching outside the cells read: a 网格员 merged down over the empty rows
    under the last record is filled down to the last record only (filled further, the whole grid
    file would be unreadable: 'gather indices are out of bounds'); a blank block merged above the
    header or left of it fills nothing (filled, the last household's 网格编号 would be blanked, or
    its 户编号 copied down over the next households')."""
    path = tmp_path / "网格.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("网格")
    ws.merge_range(0, 1, 1, 1, "", wb.add_format({"border": 1}))  # B1:B2, above the table
    ws.merge_range(3, 0, 5, 0, "", wb.add_format({"border": 1}))  # A4:A6, left of it
    ws.write_row(2, 1, ["网格编号", "乡（镇）", "行政村", "网格员", "户编号"])
    ws.merge_range(3, 1, 4, 1, "G1")
    ws.write_row(3, 2, ["大店镇", "韩湖村", "张网", "H1"])
    ws.write(4, 5, "H2")
    ws.write_row(5, 1, ["G2", "大店镇", "韩湖村"])
    ws.merge_range(5, 4, 8, 4, "王网")  # E6:E9, the table ends on row 6
    ws.write(5, 5, "H3")
    wb.close()
    df = read_table(path, "网格/网格.xlsx", KNOWN)
    assert df.select("网格编号", "网格员", "户编号", "line").rows() == [("G1", "张网", "H1", 4), ("G1", None, "H2", 5),
                                                                 ("G2", "王网", "H3", 6)]


def test_a_roster_with_household_cells_merged_over_its_members_and_a_two_row_header(tmp_path):
    """The usual hand-kept roster: a title, a header on two rows (户编号 merged down both, 地址
    across 乡（镇）/行政村/村民小组), and each household's cells merged over its members' rows."""
    path = tmp_path / "底册.xlsx"
    wb = xlsxwriter.Workbook(str(path))
    ws = wb.add_worksheet("底册")
    ws.merge_range(0, 0, 0, 6, "防返贫监测对象底册")
    for c, h in enumerate(["户编号", None, None, None, "人编号", "姓名", "证件号码"]):
        if h:
            ws.merge_range(1, c, 2, c, h)
    ws.merge_range(1, 1, 1, 3, "地址")
    ws.write_row(2, 1, ["乡（镇）", "行政村", "村民小组"])
    rows = [["H1", "大店镇", "韩湖村", "1组", "H1-01", "张三", "341302197005011234"],
            [None, None, None, None, "H1-02", "李四", "341302196510061221"],
            ["H2", "大店镇", "韩湖村", "2组", "H2-01", "王五", "34130219900101123X"]]
    for i, r in enumerate(rows):
        ws.write_row(3 + i, 0, r)
    for c in range(4):
        ws.merge_range(3, c, 4, c, rows[0][c])
    wb.close()
    df = read_table(path, "户籍底册/底册.xlsx", KNOWN)
    assert df.columns == ["户编号", "乡（镇）", "行政村", "村民小组", "人编号", "姓名", "证件号码", "line"]
    assert df.select("户编号", "村民小组", "人编号", "line").rows() == [
        ("H1", "1组", "H1-01", 4), ("H1", "1组", "H1-02", 5), ("H2", "2组", "H2-01", 6)]


def test_xlsx_long_number_cells_read_as_excel_keeps_them(tmp_path):
    """An ID written into a numeric cell with all its digits reads back through a float
    (…325 -> …328): it is taken as Excel keeps it (15 digits, zeros), i.e. destroyed, not
    mistyped; the same ID as text is left alone, also when it happens to be exactly a float
    (1 text ID in 64 is: a guess from the digits alone cut a whole roster's IDs)."""
    path = tmp_path / "n.xlsx"
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    ws.write_row(0, 0, ["2026年10月学籍异动"])
    ws.write_row(1, 0, ["学籍号", "学生姓名", "证件号码", "学段"])
    ws.write_row(2, 0, ["X1", "吴博涵", 341302201603043325, "小学"])
    ws.write_row(3, 0, ["X2", "吴博涵", "341302201603043325", "小学"])
    ws.write_row(4, 0, ["X3", "王二", "341302201603043328", "小学"])  # text, and exactly a float
    ws.write_row(5, 0, [8888888888888888888, "王三", None, "小学"])  # a long number in another column
    ws.write_row(6, 0, [3413022016030433, "王四", None, "小学"])  # 16 digits: Excel keeps 15 of them too
    wb.close()
    df = read_table(path, "教育/n.xlsx", KNOWN)
    assert df["证件号码"].to_list() == ["341302201603043000", "341302201603043325", "341302201603043328", None, None]
    assert df["学籍号"].to_list() == ["X1", "X2", "X3", "8888888888888880000", "3413022016030430"]


def test_formula_cells_a_program_wrote_without_their_values_are_named(tmp_path):
    """A workbook written by a program holds formulas no spreadsheet has computed: their cells
    read empty (a required 个人自付 then sets its row aside as missing), and the file note says
    why and what to do; computed formulas read as their values, unnoted."""
    import openpyxl
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.append(["结算流水号", "姓名", "证件号码", "结算日期", "医疗总费用", "统筹支付", "个人自付"])
    for i in range(3):
        ws.append([f"JS{i}", "张三", "341302********1234", "2026-10-05", 1000 + i, 600, f"=E{i + 2}-F{i + 2}"])
    wb.save(tmp_path / "f.xlsx")
    notes = []
    df = read_table(tmp_path / "f.xlsx", "医保/f.xlsx", KNOWN, notes)
    assert df["个人自付"].to_list() == [None] * 3
    assert len(notes) == 1 and "3 formula cells hold no computed value" in notes[0].problem
    # as POI writes them: no <v> at all (<f>E2-F2</f></c>)
    rewritten(tmp_path / "f.xlsx", "xl/worksheets/sheet1.xml", b"<v />", b"")
    notes = []
    assert read_table(tmp_path / "f.xlsx", "医保/f.xlsx", KNOWN, notes)["个人自付"].to_list() == [None] * 3
    assert len(notes) == 1 and "3 formula cells hold no computed value" in notes[0].problem
    xw = xlsxwriter.Workbook(tmp_path / "g.xlsx")  # cached values written with the formulas
    sheet = xw.add_worksheet()
    sheet.write_row(0, 0, ["结算流水号", "姓名", "证件号码", "个人自付"])
    sheet.write_row(1, 0, ["JS1", "张三", "341302********1234"])
    sheet.write_formula(1, 3, "=200+200", None, 400)
    xw.close()
    notes = []
    assert read_table(tmp_path / "g.xlsx", "医保/g.xlsx", KNOWN, notes)["个人自付"].to_list() == ["400"] and not notes


def test_xlsx_title_rows_numbers_dates_and_total(tmp_path):
    path = tmp_path / "x.XLSX"  # (read as a workbook whatever the case of its extension)
    wb = xlsxwriter.Workbook(path)
    ws = wb.add_worksheet()
    ws.write(1, 0, "宿州市住房和城乡建设局 农村住房安全鉴定")  # Excel row 2; row 1 blank
    ws.write_row(3, 0, ["鉴定编号", "户主姓名", "身份证号", "鉴定等级", "改造状态", "鉴定日期"])  # row 4
    ws.write_row(4, 0, ["JD1", "张三", 3.41302e17, "C", "未改造"])  # row 5
    ws.write_datetime(4, 5, datetime.datetime(2026, 10, 5), wb.add_format({"num_format": "yyyy-mm-dd"}))
    ws.write_row(6, 0, ["JD2", "李*", "341302********1234", "D", "改造中", "2026/10/6"])  # row 7
    ws.write_row(7, 0, ["合计", None, None, None, None, 2])  # row 8
    wb.close()
    df = read_table(path, "住建/x.xlsx", KNOWN)
    assert df["line"].to_list() == [5, 7]
    assert df["鉴定编号"].to_list() == ["JD1", "JD2"]
    assert df["身份证号"][0] == "341302000000000000"  # destroyed by Excel, but text, no crash
    assert df["鉴定日期"][0].startswith("2026-10-05")
    spec = detect_kind([c for c in df.columns if c != "line"], "住建", CFG)
    assert spec.name == "housing"


def test_xlsx_skips_empty_cover_sheet_and_counts_blank_looking_rows(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.title = "说明"
    ws = wb.create_sheet("数据")
    ws["A1"] = " "  # looks blank, but the reader's range starts here: line numbers must still hold
    ws["A2"] = "标题"
    ws.append([])
    for row in (["记录编号", "姓名", "事件类型"], ["R1", "张三", "失业登记"]):
        ws.append(row)
    wb.save(tmp_path / "m.xlsx")
    df = read_table(tmp_path / "m.xlsx", "人社/m.xlsx", KNOWN)
    assert df.columns == ["记录编号", "姓名", "事件类型", "line"]
    assert df.rows() == [("R1", "张三", "失业登记", 5)]


def rewritten(path: Path, member: str, old: bytes, new: bytes) -> Path:
    """`path`, a workbook, with `old` replaced by `new` in its zip member `member` (what another
    program writes into a sheet's XML)."""
    with zipfile.ZipFile(path) as z:
        members = {n: z.read(n) for n in z.namelist()}
    assert old in members[member]
    members[member] = members[member].replace(old, new)
    with zipfile.ZipFile(path, "w") as z:
        for n, data in members.items():
            z.writestr(n, data)
    return path


def test_a_workbook_row_is_named_by_its_excel_row_whatever_the_exporter_wrote_around_the_table(tmp_path):
    """What a system's export writes around its table moves no row and no column. Its sheet's
    <dimension> saying A1 (streaming writers do) cut the rows looked through for the first one
    with a value: every line was named one row above where it is. A value written as an empty
    text (POI's streaming writer: <is><t></t></is>), above and left of the table, starts the
    cells' range there but was counted as no value: every line was named two rows below where
    it is, and a 行政村 merged down its households was written over the header of the column left
    of it (改造状态: the file set aside as missing a required column)."""
    import openpyxl

    header = ["鉴定编号", "户主姓名", "身份证号", "鉴定等级", "改造状态", "行政村"]
    for case in ("dimension", "empty text"):
        wb = openpyxl.Workbook()
        ws = wb.active
        if case == "empty text":
            ws["A1"] = "EMPTY"
        for r, row in enumerate([header, ["JD1", "张三", "341302********1234", "C", "未改造", "王庄村"],
                                 ["JD2", "李四", "341302********1235", "D", "改造中"]], 3):
            for c, v in enumerate(row, 2):
                ws.cell(r, c, v)
        ws.merge_cells("G4:G5")
        path = tmp_path / f"{case}.xlsx"
        wb.save(path)
        if case == "dimension":
            rewritten(path, "xl/worksheets/sheet1.xml", b'<dimension ref="B3:G5"', b'<dimension ref="A1"')
        else:
            rewritten(path, "xl/worksheets/sheet1.xml", b"<t>EMPTY</t>", b"<t></t>")
        df = read_table(path, f"住建/{path.name}", KNOWN)
        assert df.columns == [*header, "line"], case
        assert df.select("鉴定编号", "改造状态", "行政村", "line").rows() == [("JD1", "未改造", "王庄村", 4),
                                                                      ("JD2", "改造中", "王庄村", 5)], case


OLE2 = bytes.fromhex("D0CF11E0A1B11AE1") + bytes(504)  # the legacy Office container's header
HTML_TABLE = ('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head><body><table>'
              f'<tr><td>{"</td><td>".join(HEADER.split(","))}</td></tr></table></body></html>').encode()


UNREADABLE = [
    ("empty.csv", b"", "empty"),
    ("blank.csv", b"\n \n", "empty"),
    ("garbage.csv", bytes(range(256)) * 4, "binary"),
    ("corrupt.xlsx", b"PK\x03\x04 not really a zip", "XLSX"),
    ("notes.csv", "说明\n本月无数据\n".encode(), "no header"),
    ("empty.xlsx", b"", "empty"),
    # what a file really is, said whatever its name: the sender can then send the table itself
    ("scan.csv", b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj", "a PDF file"),
    ("report.csv", OLE2 + "WordDocument".encode("utf-16-le"), "a Word .doc renamed"),
    ("old.xlsx", OLE2 + "Book".encode("utf-16-le"), "legacy Excel .xls renamed"),  # (Excel 5/95's stream)
    ("locked.xlsx", OLE2 + "EncryptionInfo".encode("utf-16-le") + "EncryptedPackage".encode("utf-16-le"),
     "password-protected"),
    # Excel's "Unicode text" (UTF-16, BOM first), its other byte order, and UTF-16 without a BOM
    ("u16.csv", f"{HEADER}\n".encode("utf-16"), "encoded as UTF-16"),
    ("u16be.csv", codecs.BOM_UTF16_BE + f"{HEADER}\n".encode("utf-16-be"), "encoded as UTF-16"),
    ("u16nobom.csv", f"{HEADER}\nJS1,张三,341302196201112734,2026-10-05,100\n".encode("utf-16-le"), "encoded as UTF-16"),
    # a system's "Excel" export that is a web page or Excel 2003's XML, and a CSV renamed .xlsx:
    # "not an XLSX file (no ZIP content)" left the sender, whose Excel opens it, at a loss
    ("web.xlsx", HTML_TABLE, "a web page (HTML) table"), ("web.csv", b"\r\n" + HTML_TABLE, "a web page (HTML) table"),
    ("xml.xlsx", b'<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n<Workbook xmlns="urn:schemas-'
                 b'microsoft-com:office:spreadsheet"><Worksheet ss:Name="Sheet1"><Table>', "Excel 2003 XML"),
    ("text.xlsx", f"{HEADER}\nJS1,张三,341302196201112734,2026-10-05,100\n".encode("gb18030"), "a text (CSV) table"),
]


@pytest.mark.parametrize("name,content,expect", UNREADABLE, ids=[c[0] for c in UNREADABLE])
def test_unreadable_files_give_messages(tmp_path, name, content, expect):
    path = tmp_path / name
    path.write_bytes(content)
    err = read_table(path, f"医保/{name}", KNOWN)
    assert isinstance(err, ReadError)
    assert err.file == f"医保/{name}" and expect in err.problem
    assert name in err.message and str(tmp_path) not in err.message  # (named by its inbox path, not the server's)


def test_a_workbook_without_any_value_is_an_empty_file_not_one_without_its_header(tmp_path):
    """A workbook made with New > XLSX and never filled (two sheets, a cell formatted) was set
    aside as having no header in its first rows, which sends its sender looking for a header:
    it is empty, as an empty CSV is. A workbook holding values but no header still says so."""
    import openpyxl
    from openpyxl.styles import Font

    wb = openpyxl.Workbook()
    wb.active["B3"].font = Font(bold=True)
    wb.create_sheet("Sheet2")
    wb.save(tmp_path / "新建 XLSX 工作表.xlsx")
    err = read_table(tmp_path / "新建 XLSX 工作表.xlsx", "医保/新建 XLSX 工作表.xlsx", KNOWN)
    assert isinstance(err, ReadError) and "empty" in err.problem and "no header" not in err.problem
    wb.active["A1"] = "本月无数据"
    wb.save(tmp_path / "无数据.xlsx")
    assert "no header" in read_table(tmp_path / "无数据.xlsx", "医保/无数据.xlsx", KNOWN).problem


def test_discover_aliases_duplicates_and_problems(tmp_path):
    """Each department folder's .csv and .xlsx files are listed, in subfolders too and whatever the
    case of their extension (Windows writes 结算.CSV, 旧表.XLS); every other file is said, with what
    to do about it; a hidden file beside the department folders (the Mac's .DS_Store) is no file
    delivered outside them."""
    per = tmp_path / "2026-10"
    body = f"{HEADER}\nJS1,张三,,2026-10-05,1\n"
    write(per / "医保" / "b.csv", body)
    write(per / "medical" / "a.csv", body)  # English alias, byte-identical to 医保/b.csv
    write(per / "medical" / "sub" / "c.xlsx", "x")
    write(per / "医保" / "d.CSV", body + "JS2,李四,,2026-10-05,2\n")  # (Windows' upper-case extension)
    write(per / "医保" / "readme.txt", "hello")
    write(per / "医保" / "结算明细.XLS", "old")
    write(per / "医保" / "结算明细.et", "wps")  # WPS 表格's own format
    write(per / "医保" / "结算明细.ZIP", "PK")
    write(per / "医保" / "~$结算明细.xlsx", "lock")  # Excel's lock file while the workbook is open
    write(per / "医保" / ".DS_Store", "mac")
    write(per / "医保" / "Thumbs.db", "windows")
    write(per / "医保" / "desktop.ini", "windows")
    write(per / "其他部门" / "d.csv", body)
    write(per / "loose.csv", body)
    write(per / ".DS_Store", "mac")  # (the Mac's, beside the department folders: no delivery)
    files, problems = discover(per, CFG)
    assert files.columns == ["dept", "file", "sha256", "size", "modified", "duplicate_of"]
    assert files["modified"].unique().to_list() == [PUT_IN]
    assert files["file"].to_list() == ["medical/a.csv", "medical/sub/c.xlsx", "医保/b.csv", "医保/d.CSV"]
    assert set(files["dept"]) == {"医保"}
    assert files["duplicate_of"].to_list() == [None, None, "medical/a.csv", None]
    assert files["size"][0] == len(body.encode())
    msgs = " | ".join(p.message for p in problems)
    assert "医保/b.csv identical to medical/a.csv" in msgs
    assert "医保/readme.txt" in msgs and "wrong file type" in msgs
    said = {p.file: p.problem for p in problems}  # and what to do about it
    assert "only .csv and .xlsx" in said["医保/readme.txt"] and "另存为" not in said["医保/readme.txt"]
    assert all("请另存为.xlsx或CSV" in said[f] and "save it as .xlsx" in said[f] for f in ("医保/结算明细.XLS", "医保/结算明细.et"))
    assert "wrong file type (.et)" in said["医保/结算明细.et"] and "unpack it" in said["医保/结算明细.ZIP"]
    assert "其他部门/" in msgs and "unknown folder" in msgs
    assert "loose.csv" in msgs and ".DS_Store" not in said
    # (set aside: in 搁置行及原因.csv, not only on the console)
    assert all(p.set_aside for p in problems if p.file in ("loose.csv", "医保/readme.txt", "医保/结算明细.XLS", "其他部门/"))
    ignored = [p for p in problems if p.file in ("医保/~$结算明细.xlsx", "医保/.DS_Store", "医保/Thumbs.db", "医保/desktop.ini")]
    assert len(ignored) == 4 and not any(p.set_aside for p in ignored) and "ignored" in ignored[0].problem


def test_a_folder_wrapping_the_department_folders_says_what_it_holds(tmp_path):
    """An archive unpacked into a folder of its own (2026-10/2026年10月部门数据/医保/…): the folder
    was set aside as unknown and the departments in it reported missing, with nothing saying
    they were one folder down. The folder is still set aside, naming the department folders it
    holds and what to do."""
    per = tmp_path / "2026-10"
    write(per / "2026年10月部门数据" / "医保" / "a.csv", f"{HEADER}\nJS1,张三,,2026-10-05,1\n")
    write(per / "2026年10月部门数据" / "hr" / "b.csv", f"{HEADER}\nJS1,张三,,2026-10-05,1\n")
    write(per / "其他" / "c.csv", f"{HEADER}\nJS1,张三,,2026-10-05,1\n")
    write(per / "其他" / "旧" / "d.csv", f"{HEADER}\nJS1,张三,,2026-10-05,1\n")  # (a folder, but no department's)
    files, problems = discover(per, CFG)
    assert files.is_empty()
    said = {p.file: p.problem for p in problems}
    assert said["其他/"] == "未知文件夹，已跳过 unknown folder, set aside"
    wrap = said["2026年10月部门数据/"]
    assert wrap.startswith("未知文件夹，已跳过") and "hr、医保" in wrap and "2026-10" in wrap and "move them up" in wrap


def test_a_folder_named_after_a_department_and_more_is_set_aside_asking_whether_it_is_that_one(tmp_path):
    """民政局2026年10月/ (a department naming its folder with the month) was an unknown folder and
    民政 a department missing, two lines with nothing joining them. The folder is still set aside
    (nothing says it holds that department's files alone), asking whether it is 民政's and to rename it."""
    per = tmp_path / "2026-10"
    for folder in ["民政局2026年10月", "10月份medical数据", "其他"]:
        write(per / folder / "a.csv", f"{HEADER}\nJS1,张三,,2026-10-05,1\n")
    files, problems = discover(per, CFG)
    said = {p.file: p.problem for p in problems}
    assert files.is_empty() and said["其他/"] == "未知文件夹，已跳过 unknown folder, set aside"
    assert said["民政局2026年10月/"].startswith("未知文件夹，已跳过") and "民政/" in said["民政局2026年10月/"]
    assert "医保/" in said["10月份medical数据/"]


def test_a_folder_named_as_the_department_calls_itself_is_that_department(tmp_path):
    per = tmp_path / "2026-10"
    for folder in ["医疗保障局", "人社局", " 住建局", "Ｗａｔｅｒ"]:
        write(per / folder / "a.csv", f"{HEADER}\n{folder},张三,,2026-10-05,1\n")
    files, problems = discover(per, CFG)
    assert dict(zip(files["file"], files["dept"])) == {
        "医疗保障局/a.csv": "医保", "人社局/a.csv": "人社", " 住建局/a.csv": "住建", "Ｗａｔｅｒ/a.csv": "水利"}
    assert not problems


def test_last_months_roster_left_beside_this_months_is_said_with_the_persons_only_it_holds(tmp_path):
    """The roster is a snapshot: last month's file left in 户籍底册/ beside this month's was read
    as one more delivery, so the persons gone from this month's (died, moved away) stayed on the
    roster, and the console said only that a few rows were replaced. A file most of whose
    records a later file of the folder delivers again is an older version of the list: the
    persons only it holds are still read (nothing tells which file is wrong), and said on the
    console, naming both files. Files splitting the list (one per township) are not."""
    per = tmp_path / "2026-10"
    head = "乡（镇）,行政村,户编号,人编号,姓名,证件号码"
    people = [f"大店镇,王庄村,H{i},P{i},张{i},34130219620111{i:03d}4" for i in range(1, 26)]
    write(per / "户籍底册" / "底册_9月.csv", "\n".join([head, *people]) + "\n", modified=PUT_IN - datetime.timedelta(days=30))
    write(per / "户籍底册" / "底册_10月.csv", "\n".join([head, *people[:13], "时村镇,李庄村,H99,P99,李九,341302196201119994"]) + "\n")
    write(per / "网格" / "大店镇.csv", "网格编号,网格员,户编号\nW1,王一,H1\nW1,王一,H2\n")
    write(per / "网格" / "时村镇.csv", "网格编号,网格员,户编号\nW2,李二,H99\n")
    latest, _, _, problems = read_period(per, CFG)
    assert set(latest["roster"]["person_id"]) == {f"P{i}" for i in [*range(1, 26), 99]}
    older = [p for p in problems if p.category == Finding.OLDER_VERSION]
    assert len(older) == 1 and older[0].file == "户籍底册/底册_9月.csv" and older[0].dept == "户籍底册"
    assert "户籍底册/底册_10月.csv" in older[0].problem and "仅本文件有的 12 条" in older[0].problem
    assert "（P14、P15、P16、P17、P18、P19、P20、P21、P22、P23…）" in older[0].problem  # (the first ten of the 12)
    assert Finding.OLDER_VERSION in Finding.ATTENTION


def test_a_saved_again_copy_is_the_one_reported_as_repeating_its_original(tmp_path):
    per = tmp_path / "2026-10"
    body = f"{HEADER}\nJS1,张三,,2026-10-05,1\n"
    for name in ("结算明细_第一批(1).csv", "结算明细_第一批.csv", "结算明细_第一批 - 副本.csv"):
        write(per / "医保" / name, body)
    # (a copy named as a 补报, though its time says earlier, is put in after the file it repeats)
    write(per / "医保" / "结算明细_补报.csv", body, modified=PUT_IN - datetime.timedelta(days=1))
    files, _ = discover(per, CFG)
    assert files.filter(pl.col("duplicate_of").is_null())["file"].to_list() == ["医保/结算明细_第一批.csv"]
    assert set(files["duplicate_of"].drop_nulls()) == {"医保/结算明细_第一批.csv"}


# Expected (kind, data rows, first line, last line) of the shared example inbox, counted by hand:
# 第一批 has a title line, the header on line 2, 200 records on lines 3-202 and 合计 on line 203.
EXPECTED = {
    "人社/就业社保变动.csv": ("hr", 2, 2, 3),
    "住建/住房安全鉴定.xlsx": ("housing", 3, 2, 4),
    "农业农村/灾情损失.csv": ("agri", 0, None, None),
    "医保/参保名单_2026-10.csv": ("med_enrollment", 337, 2, 338),
    "医保/结算明细_2026-10_第一批.csv": ("med_settlement", 200, 3, 202),
    "医保/结算明细_2026-10_补报.csv": ("med_settlement", 20, 2, 21),
    "户籍底册/防返贫监测对象.csv": ("roster", 76, 2, 77),
    "教育/学籍异动.xlsx": ("education", 1, 2, 2),
    "残联/残疾人证.csv": ("disability", 1, 2, 2),
    "民政/救助变动.csv": ("civil", 3, 2, 4),
    "水利/农村供水问题台账.csv": ("water", 4, 2, 5),
    "网格/网格划分.csv": ("grid", 25, 2, 26),
}


@pytest.mark.skipif(not EXAMPLE.exists(), reason="shared example inbox not present")
def test_example_inbox_reads_every_file():
    files, problems = discover(EXAMPLE, CFG)
    assert problems == []
    assert set(files["file"]) == set(EXPECTED)
    for row in files.iter_rows(named=True):
        df = read_table(EXAMPLE / row["file"], row["file"], KNOWN)
        assert not isinstance(df, ReadError), df
        spec = detect_kind([c for c in df.columns if c != "line"], row["dept"], CFG)
        got = (spec and spec.name, df.height, df["line"].min(), df["line"].max())
        assert got == EXPECTED[row["file"]], row["file"]


def test_read_period_end_to_end(tmp_path):
    per = tmp_path / "2026-10"
    good = f"{HEADER}\nJS1,张三,,2026-10-05,1\nJS2,李四,,2026-13-45,2\n"
    write(per / "medical" / "a.csv", good)
    write(per / "医保" / "a_copy.csv", good)  # identical: read once
    write(per / "医保" / "weird.csv", "甲,乙,丙\n1,2,3\n")  # no known header
    write(per / "医保" / "other.csv", "姓名,证件号码,备注\n张三,1,x\n")  # known headers, but no kind
    write(per / "hr" / "r.csv", "记录编号,姓名,事件类型\nR1,王五,失业登记\n", "gb18030")
    extracts, rejected, superseded, problems = read_period(per, CFG)
    assert set(extracts) == {"med_settlement", "hr"} and superseded.is_empty()
    assert extracts["med_settlement"]["record_id"].to_list() == ["JS1"]
    assert extracts["hr"]["dept"].to_list() == ["人社"]
    rows = {(r["file"], r["line"]): r for r in rejected.iter_rows(named=True)}
    # a header read but fitting no kind of 医保: its every row set aside, as a run does, naming what is missing
    assert set(rows) == {("medical/a.csv", 3), ("医保/weird.csv", None), ("医保/other.csv", 2)}
    assert rows[("医保/other.csv", 2)]["dept"] == "医保" and "缺少必需列" in rows[("医保/other.csv", 2)]["reason"]
    assert any("identical" in p.problem and not p.set_aside for p in problems)


def test_a_record_dated_after_its_extract_could_be_made_is_set_aside(tmp_path):
    """October's extract: a settlement of 2027-10-05 (a mistyped year) would count in 2027's sums;
    it is set aside naming the field, as is an 事件日期 of 2027. A date up to `days_after_period`
    (61) after the period's last day is kept: an extract made in December holds November's."""
    per = tmp_path / "2026-10"
    write(per / "医保" / "a.csv", f"{HEADER}\nJS1,张三,,2026-12-31,1\nJS2,李四,,2027-10-05,2\nJS3,王五,,2027-01-01,3\n")
    write(per / "医保" / "b.csv", f"{HEADER}\nJS4,赵六,,,4\n", modified=PUT_IN + datetime.timedelta(hours=1))  # (no date)
    write(per / "人社" / "r.csv", "记录编号,姓名,事件类型,事件日期\nR1,王五,失业登记,2027-10-08\nR2,赵六,失业登记,2026-10-08\n")
    # (a 解决日期 may be a plan: `inbox.planned_date_fields`)
    write(per / "水利" / "w.csv", "工单编号,乡（镇）,行政村,问题类型,发现日期,解决日期\nGS1,大店镇,韩湖村,有管无水,2026-10-01,2027-03-01\n")
    extracts, rejected, _, _ = read_period(per, CFG)
    assert extracts["water"]["record_id"].to_list() == ["GS1"]
    assert extracts["med_settlement"]["record_id"].to_list() == ["JS1"]
    assert extracts["hr"]["record_id"].to_list() == ["R2"]
    late = rejected.filter(pl.col("file") != "医保/b.csv").sort("file", "line").select("file", "line", "record_id", "field", "value")
    assert late.rows() == [("人社/r.csv", 2, "R1", "event_date", "2027-10-08"), ("医保/a.csv", 3, "JS2", "settle_date", "2027-10-05"),
                           ("医保/a.csv", 4, "JS3", "settle_date", "2027-01-01")]
    assert rejected.filter(pl.col("file") != "医保/b.csv")["reason"].str.contains("2026-12-31").all()
    # the department's rows set aside are told file by file as put in, whichever check set them aside
    assert rejected.filter(pl.col("dept") == "医保").select("file", "line").rows() == [("医保/a.csv", 3), ("医保/a.csv", 4),
                                                                                    ("医保/b.csv", 2)]


def test_a_township_date_typed_without_its_year_takes_the_year_of_its_period(tmp_path):
    """A clerk writes 核实日期 12.28 or 1月5日 in the list returned into 2027-01/反馈/: the dates
    before the folder's period could have been given (12.28 is last December's). A department's
    dates are machine-made: a year-less 结算日期 stays unparseable, set aside. (A 核实日期 2.30
    reads as no day: the answer is taken undated, `kinds.feedback.blank_unreadable`.)"""
    per = tmp_path / "2027-01"
    write(per / "反馈" / "大店镇.csv", "预警编号,乡（镇）,核实结果,核实日期\nYJ1,大店镇,属实,12.28\nYJ2,大店镇,不属实,1月5日\n"
          "YJ3,大店镇,属实,2.30\n")
    write(per / "医保" / "a.csv", f"{HEADER}\nJS1,张三,,12.28,1\n")
    extracts, rejected, _, _ = read_period(per, CFG)
    assert extracts["feedback"].select("warning_id", "verify_date").rows() == [
        ("YJ1", datetime.date(2026, 12, 28)), ("YJ2", datetime.date(2027, 1, 5)), ("YJ3", None)]
    assert sorted(rejected.select("file", "field", "value").rows()) == [("医保/a.csv", "settle_date", "12.28")]


@pytest.mark.skipif(not EXAMPLE.exists(), reason="shared example inbox not present")
def test_example_inbox_read_period_and_supersede():
    extracts, rejected, superseded, problems = read_period(EXAMPLE, CFG)
    # (农业农村 sent its header alone this month: said, as a department that sent no record)
    assert rejected.height == 0 and [(p.file, p.category) for p in problems] == [("农业农村/灾情损失.csv", Finding.NO_ROWS)]
    assert extracts["med_settlement"].height == 200 and superseded.height == 20  # 补报 repeats 20 records of 第一批
    assert superseded["superseded_by"].str.starts_with("医保/结算明细_2026-10_补报.csv:").all()
    assert extracts["civil"].filter(pl.col("record_id") == "MZ2026100000206")["id_raw"].to_list() == ["3.41302E+17"]
    assert extracts["disability"]["id_raw"].to_list() == ["34222319570410315473"]


def test_an_identical_copy_in_another_departments_folder_does_not_take_the_real_ones_place(tmp_path):
    """The same file delivered twice counts once within its department's folder. A byte-identical
    copy put into another department's folder by mistake is read there (and set aside whole,
    saying whose data it looks like); the real delivery is read, not skipped as its repeat."""
    per = tmp_path / "2026-10"
    body = "记录编号,姓名,救助类别,变动类型,月救助金额\nMZ1,张三,低保,新增,300\nMZ2,李四,特困,新增,500\n"
    write(per / "教育" / "救助变动.csv", body)  # 教育 sorts before 民政
    write(per / "民政" / "救助变动.csv", body)
    write(per / "民政" / "救助变动(1).csv", body)  # a repeat within 民政: read once
    files, problems = discover(per, CFG)
    assert files.select("file", "duplicate_of").rows() == [
        ("教育/救助变动.csv", None), ("民政/救助变动.csv", None), ("民政/救助变动(1).csv", "民政/救助变动.csv")]
    assert [p.file for p in problems] == ["民政/救助变动(1).csv"]
    extracts, rejected, _, _ = read_period(per, CFG)
    assert extracts["civil"]["record_id"].to_list() == ["MZ1", "MZ2"]
    assert rejected.select("dept", "file", "line").rows() == [("教育", "教育/救助变动.csv", 2), ("教育", "教育/救助变动.csv", 3)]
    assert all("缺少必需列" in r and "民政" in r for r in rejected["reason"])


def test_a_correction_put_in_later_wins_though_its_name_sorts_first(tmp_path):
    """SPEC §1: a record delivered again with other content replaces the earlier one. 更正 (U+66F4)
    sorts before 第 (U+7B2C): ranked by name, 第二批 corrected its own correction. A name saying it
    came later wins even over an original re-saved after it; without such a name the file put in
    later (modification time) wins, whatever its name."""
    per = tmp_path / "2026-10"
    write(per / "医保" / "结算明细_第二批.csv", f"{HEADER}\nJS1,张三,,2026-10-05,21.63\nJS2,李四,,2026-10-05,5\n",
          modified=PUT_IN + datetime.timedelta(hours=2))  # opened and saved again after the correction came
    write(per / "医保" / "结算明细_更正.csv", f"{HEADER}\nJS1,张三,,2026-10-05,30000.00\n",
          modified=PUT_IN + datetime.timedelta(hours=1))
    write(per / "医保" / "结算明细_9月补录.csv", f"{HEADER}\nJS3,王五,,2026-10-05,1\n")
    write(per / "医保" / "结算明细_10月补录.csv", f"{HEADER}\nJS3,王五,,2026-10-05,2\n",  # '1' < '9', yet put in later
          modified=PUT_IN + datetime.timedelta(minutes=1))
    extracts, rejected, superseded, problems = read_period(per, CFG)
    got = dict(extracts["med_settlement"].select("record_id", "out_of_pocket").iter_rows())
    assert got == {"JS1": 30000.0, "JS2": 5.0, "JS3": 2.0}
    # (a correction of an extract is no newer version of a list: 第二批's JS2 is not said to be left over)
    assert not [p for p in problems if p.category == Finding.OLDER_VERSION]
    assert superseded.select("file", "record_id", "superseded_by", "changed").sort("record_id").rows() == [
        ("医保/结算明细_第二批.csv", "JS1", "医保/结算明细_更正.csv:2", True),
        ("医保/结算明细_9月补录.csv", "JS3", "医保/结算明细_10月补录.csv:2", True)]
    assert rejected.is_empty()


def test_a_correction_workbook_whose_sheets_are_named_in_brackets_still_wins(tmp_path):
    """A correction delivered as a workbook of two sheets named 明细（第一批） and 明细（第二批）: a
    sheet's label (补报.xlsx（工作表 明细（第一批））) was not recognised as its workbook's, so it had
    no place in the order files were put in and sorted first: the original file, put in before,
    won over the correction."""
    per = tmp_path / "2026-10"
    write(per / "医保" / "结算明细.csv", f"{HEADER}\nJS1,张三,,2026-10-05,21.63\nJS2,李四,,2026-10-05,5\n")
    path = per / "医保" / "结算明细_补报.xlsx"
    wb = xlsxwriter.Workbook(path)
    for name, row in [("明细（第一批）", ["JS1", "张三", "", "2026-10-05", "30000"]), ("明细（第二批）", ["JS3", "王五", "", "2026-10-05", "1"])]:
        ws = wb.add_worksheet(name)
        ws.write_row(0, 0, HEADER.split(","))
        ws.write_row(1, 0, row)
    wb.close()
    stamp = (PUT_IN + datetime.timedelta(hours=1)).timestamp()
    os.utime(path, (stamp, stamp))
    extracts, _, superseded, _ = read_period(per, CFG)
    got = dict(extracts["med_settlement"].select("record_id", "out_of_pocket").iter_rows())
    assert got == {"JS1": 30000.0, "JS2": 5.0, "JS3": 1.0}
    assert superseded.select("file", "superseded_by").rows() == [
        ("医保/结算明细.csv", "医保/结算明细_补报.xlsx（工作表 明细（第一批））:2")]


def test_a_corrected_bad_row_is_superseded_not_left_to_be_fixed(tmp_path):
    """A row set aside is a delivery of its record too: a correction of it replaces it (the
    record is read once, from the correction, and the bad row is no longer listed as one for the
    department to fix), and a bad row delivered again unchanged (a re-export that is not
    byte-identical) is one problem, listed once. Every row read still ends in one place."""
    per = tmp_path / "2026-10"
    civil = "记录编号,姓名,救助类别,变动类型,月救助金额\n"
    write(per / "民政" / "救助变动.csv", civil + "MZ1,张三,五保,新增,300\nMZ2,李四,低保,新增,-500\nMZ3,王五,特困,新增,800\n")
    write(per / "民政" / "救助变动_更正.csv", civil + "MZ1,张三,低保,新增,300\nMZ2,李四,低保,新增,500\n")
    agri = "报案编号,户主姓名,证件号码,乡镇,行政村,灾害类型,损失金额,发生日期\nNY1,赵六,,大店镇,叶营村,洪涝,-100,2026-10-03\n"
    write(per / "农业农村" / "灾情损失.csv", agri, "gb18030")
    write(per / "农业农村" / "灾情损失_重发.csv", agri, "utf-8-sig")  # the same rows, other bytes
    extracts, rejected, superseded, _ = read_period(per, CFG)
    assert extracts["civil"].select("record_id", "category", "monthly_amount", "file").sort("record_id").rows() == [
        ("MZ1", "低保", 300.0, "民政/救助变动_更正.csv"), ("MZ2", "低保", 500.0, "民政/救助变动_更正.csv"),
        ("MZ3", "特困", 800.0, "民政/救助变动.csv")]
    assert rejected.select("file", "line", "record_id").rows() == [("农业农村/灾情损失_重发.csv", 2, "NY1")]
    assert superseded.select("file", "line", "record_id", "changed").sort("file", "line").rows() == [
        ("农业农村/灾情损失.csv", 2, "NY1", False), ("民政/救助变动.csv", 2, "MZ1", True), ("民政/救助变动.csv", 3, "MZ2", True)]


def test_a_list_row_set_aside_still_says_who_it_shows(tmp_path):
    """A 参保名单 row set aside (参保状态 停保, a code the SPEC does not list) is no record, but the
    person it shows is on the list: its record number, ID and name as delivered come back beside
    the set-aside rows (M4 called such persons absent from the list). A row a later file
    corrects does not; nor does a row of another extract."""
    per = tmp_path / "2026-10"
    head = "人员编号,姓名,证件号码,参保状态,参保年度"
    write(per / "医保" / "参保名单.csv", "\n".join([head, "CB1,张*明,341302********123X,停保,2026",
                                                     "CB2,李四,341302196201112734,参保中,2026", "CB3,王五,,正常参保,2026"]) + "\n")
    write(per / "医保" / "参保名单_更正.csv", "\n".join([head, "CB2,李四,341302196201112734,正常参保,2026"]) + "\n")
    write(per / "医保" / "结算.csv", HEADER + "\nJS1,赵六,341302196201112734,2026-13-05,1\n")
    files, _ = discover(per, CFG)
    *_, unread = read_department(per, files, "医保", CFG, [])
    assert unread.rows() == [("医保", "med_enrollment", "CB1", "341302********123X", "张*明")]


@pytest.mark.parametrize("period", ["2026-12", "2027-01"])
def test_a_list_over_two_enrollment_years_keeps_each_person_s_row_of_the_period_s_year(tmp_path, period):
    """A 参保名单 exported in the autumn over this year's and next year's 参保年度 holds a person
    once per year, under one 人员编号: not a correction whose later line wins (the order of the
    export decided which year M4 read), but the person's row of the period's year, else of
    their latest year; the others are superseded as rows of another year, in one file or two.
    A row of the period's year set aside (停保) keeps the person's record set aside."""
    per = tmp_path / period
    head = "人员编号,姓名,证件号码,参保状态,参保年度"
    write(per / "医保" / "参保名单.csv", "\n".join([
        head, "CB1,张三,341302196201112734,正常参保,2026", "CB1,张三,341302196201112734,终止参保,2027",
        "CB2,李四,341302********1234,暂停参保,2027", "CB2,李四,341302********1234,正常参保,2026",
        "CB3,王五,341302********2345,正常参保,2027",
        "CB4,赵六,341302********3456,停保,2026", "CB4,赵六,341302********3456,正常参保,2027",
        "CB5,钱七,341302********4567,正常参保,2027", "CB5,钱七,341302********4567,终止参保,2025",
        "CB6,孙八,341302********5678,正常参保,2026"]) + "\n")
    write(per / "医保" / "参保名单_次年.csv", "\n".join([head, "CB6,孙八,341302********5678,暂停参保,2027"]) + "\n",
          modified=PUT_IN + datetime.timedelta(hours=1))
    files, _ = discover(per, CFG)
    latest, rejected, superseded, rows, _ = read_department(per, files, "医保", CFG, [])
    kept = dict(latest["med_enrollment"].select("record_id", "year").iter_rows())
    year = int(period[:4])
    assert kept == ({"CB1": 2026, "CB2": 2026, "CB3": 2027, "CB5": 2027, "CB6": 2026} if year == 2026 else
                    {"CB1": 2027, "CB2": 2027, "CB3": 2027, "CB4": 2027, "CB5": 2027, "CB6": 2027})
    assert latest["med_enrollment"]["record_id"].to_list() == sorted(kept)  # in the order delivered
    assert rejected.select("record_id", "value").rows() == ([("CB4", "停保")] if year == 2026 else [])
    assert superseded["other_year"].all() and superseded.height == 5
    assert rows == superseded.height + latest["med_enrollment"].height + rejected.height


def test_a_file_put_in_twice_is_read_once_its_repeat_s_rows_said_as_a_copy_s(tmp_path):
    """A department's file and its byte-identical repeat (表(1).csv, Windows' copy): the repeat is
    not read, and its data rows (its first's: a 合计 row is no data row) are given as a copy's
    for the row accounting; the first's rows are the rows read."""
    per = tmp_path / "2026-10"
    body = "\n".join(["人员编号,姓名,证件号码,参保状态,参保年度", "CB1,张三,341302********2734,正常参保,2026",
                      "CB2,李四,341302********1234,正常参保,2026", "合计,2人,,,"]) + "\n"
    write(per / "医保" / "参保名单.csv", body)
    write(per / "医保" / "参保名单(1).csv", body, modified=PUT_IN + datetime.timedelta(hours=1))
    files, _ = discover(per, CFG)
    copied = {}
    latest, rejected, superseded, rows, _ = read_department(per, files, "医保", CFG, [], copied=copied)
    assert latest["med_enrollment"]["record_id"].to_list() == ["CB1", "CB2"] and superseded.is_empty()
    assert rows == 2 and copied == {"医保/参保名单(1).csv": 2}


def test_an_enrollment_year_given_as_the_years_it_spans_is_the_periods_year_when_they_hold_it(tmp_path):
    """参保年度 `2026-2027` (a list of the scheme's year spanning two) was set aside as an
    unparseable integer, the person's row back to 医保 and M4 reading them as absent. Read as the
    period's year when the span holds it, the file told which lines; a span not holding it is set
    aside saying so; `2026年度` is 2026."""
    per = tmp_path / "2026-10"
    write(per / "医保" / "参保名单.csv", "\n".join([
        "人员编号,姓名,证件号码,参保状态,参保年度", "CB1,张三,341302********1234,正常参保,2026-2027",
        "CB2,李四,341302********2345,正常参保,2025—2026年度", "CB3,王五,341302********3456,正常参保,2026年度",
        "CB4,赵六,341302********4567,正常参保,2027-2028"]) + "\n")
    files, _ = discover(per, CFG)
    notes = []
    latest, rejected, _, rows, _ = read_department(per, files, "医保", CFG, notes)
    assert latest["med_enrollment"].select("record_id", "year").rows() == [("CB1", 2026), ("CB2", 2026), ("CB3", 2026)]
    assert rejected.select("record_id", "field").rows() == [("CB4", "year")]
    assert rejected["reason"][0].startswith("year 年度为跨年区间，本期所在年份不在其中: '2027-2028'")
    assert any(n.problem.startswith("「参保年度」2 个为跨年区间（如 2026-2027），含本期所在的 2026 年，按 2026 读取（第 2、3 行）")
               for n in notes)


def test_a_department_file_named_for_another_period_is_said(tmp_path):
    """残疾人证_2026-09.csv in 2026-10's folder (last month's extract put in again, or misnamed): its
    records were read as October's with nothing said. They still are (which it is, no one here can
    tell), and the file is named on the console (`文件名为他期`); a name of the period, of none, or of
    a span of months (1-10月累计) is not."""
    per = tmp_path / "2026-10"
    body = "\n".join([HEADER, "JS1,张三,341302********1234,2026-10-05,1"]) + "\n"
    for i, name in enumerate(("结算明细_2026-09.csv", "结算明细_2026-10_补报.csv", "结算明细.csv", "2026年1-10月累计.csv")):
        write(per / "医保" / name, body.replace("JS1", f"JS{i}"))
    files, _ = discover(per, CFG)
    notes = []
    latest, _, _, rows, _ = read_department(per, files, "医保", CFG, notes)
    assert rows == 4 and latest["med_settlement"].height == 4
    said = [n for n in notes if n.category == Finding.OTHER_PERIOD]
    assert [(n.file, n.dept) for n in said] == [("医保/结算明细_2026-09.csv", "医保")]
    assert said[0].problem.startswith("文件名标明 2026-09 期，却在 2026-10 期中，其记录按 2026-10 期读取")
    assert Finding.OTHER_PERIOD in Finding.ATTENTION


def test_a_sheet_of_records_whose_header_is_not_found_is_set_aside_not_skipped(tmp_path):
    """A workbook of three sheets of settlements, the second headed in English, the third below
    16 title lines: their rows were skipped like a cover sheet's, read by no one and counted
    nowhere. A sheet that reads like a table (2 rows of 3 values or more) is now set aside whole,
    naming it; a 说明 sheet of one or two values a row is still no table."""
    rows = [["JS1", "张三", "", "2026-10-05", "1"], ["JS2", "李四", "", "2026-10-05", "2"]]
    path = workbook(tmp_path / "医保.xlsx", [
        ("说明", [["本表为结算明细", None, "2026年11月"], ["字段", "说明"], ["个人自付", "元"]]), ("上", [HEADER.split(","), *rows]),
        ("下", [["settle_no", "name", "id", "settle_date", "oop"], rows[0]]),  # (2 rows of 3 values: a table)
        ("补报", [["宿州市医疗保障局"]] * 16 + [HEADER.split(","), *rows])])
    valid, rejected, _, read = read_delivery(path, "医保/医保.xlsx", "医保", CFG, KNOWN, [])
    assert [k for k, _ in valid] == ["med_settlement"] and valid[0][1].height == 2 and read == 2
    assert rejected.select("file", "line").rows() == [("医保/医保.xlsx（工作表 下）", None), ("医保/医保.xlsx（工作表 补报）", None)]
    assert rejected["reason"].str.starts_with("前15行未找到表头，工作表未读取").all()


def test_a_sheet_continuing_the_table_of_the_sheet_before_is_read_under_its_header(tmp_path):
    """A long extract split over Sheet1 and Sheet2, its header on the first alone: Sheet2's rows
    were set aside whole (no header found), back to the department. A sheet without a header whose
    columns hold values of the kinds the table before has there is read under that header, its rows
    named by their own sheet and row, the file told; a third sheet continues it too. A sheet whose
    columns hold other kinds (a list of another shape), or headed in words no kind reads, is still
    set aside."""
    rows = [["JS1", "张三", "341302********123X", "2026-10-05", 100], ["JS2", "李四", "341302********1234", "2026-10-06", 20.5]]
    # (an ID column masked on some rows, whole on others, is one kind of column)
    more = [["JS3", "王五", "341302199001011235", "2026-10-07", 300], ["JS4", "赵六", "341302199001011236", "2026-10-08", 4]]
    path = workbook(tmp_path / "医保.xlsx", [("Sheet1", [HEADER.split(","), *rows]), ("Sheet2", more),
                                             ("Sheet3", [["JS5", "钱七", "341302********1237", "2026-10-09", 5]])])
    notes = []
    valid, rejected, _, read = read_delivery(path, "医保/医保.xlsx", "医保", CFG, KNOWN, notes)
    got = pl.concat([df for _, df in valid])
    assert got.select("file", "line", "record_id", "out_of_pocket").rows() == [
        ("医保/医保.xlsx（工作表 Sheet1）", 2, "JS1", 100.0), ("医保/医保.xlsx（工作表 Sheet1）", 3, "JS2", 20.5),
        ("医保/医保.xlsx（工作表 Sheet2）", 1, "JS3", 300.0), ("医保/医保.xlsx（工作表 Sheet2）", 2, "JS4", 4.0),
        ("医保/医保.xlsx（工作表 Sheet3）", 1, "JS5", 5.0)]
    assert rejected.is_empty() and read == 5
    said = [n for n in notes if "没有表头" in n.problem]
    assert [n.file for n in said] == ["医保/医保.xlsx（工作表 Sheet2）", "医保/医保.xlsx（工作表 Sheet3）"]
    assert "按「Sheet1」的表头读取" in said[0].problem and not said[0].set_aside
    # another shape: names where the dates are, dates where the amounts are
    other = [["JS3", "王五", "341302********1235", "王五", "2026-10-07"], ["JS4", "赵六", "341302********1236", "赵六", "2026-10-08"]]
    path = workbook(tmp_path / "医保2.xlsx", [("Sheet1", [HEADER.split(","), *rows]), ("Sheet2", other)])
    valid, rejected, _, read = read_delivery(path, "医保/医保2.xlsx", "医保", CFG, KNOWN, [])
    assert read == 2 and rejected.select("file", "line").rows() == [("医保/医保2.xlsx（工作表 Sheet2）", None)]
    assert rejected["reason"][0].startswith("前15行未找到表头")


def test_dates_with_the_year_last_are_read_as_their_column_tells_and_the_file_told(tmp_path):
    """A US-style export (10/5/2026): read month first when a day over 12 in the column says so,
    the file told which line fixed the order; a column that does not say sets its rows aside."""
    rows = ["JS1,张三,,10/5/2026,1", "JS2,李四,,10/25/2026,2"]
    notes = []
    path = write(tmp_path / "医保" / "us.csv", "\n".join([HEADER, *rows]) + "\n")
    valid, rejected, _, read = read_delivery(path, "医保/us.csv", "医保", CFG, KNOWN, notes)
    assert valid[0][1]["settle_date"].to_list() == [datetime.date(2026, 10, 5), datetime.date(2026, 10, 25)]
    assert len(notes) == 1 and notes[0].problem.startswith("「结算日期」的日期写作年份在后，按“月/日/年”读取（第 3 行的 10/25/2026")
    path = write(tmp_path / "医保" / "us2.csv", "\n".join([HEADER, rows[0]]) + "\n")
    valid, rejected, _, read = read_delivery(path, "医保/us2.csv", "医保", CFG, KNOWN, [])
    assert read == 1 and rejected["reason"][0].startswith("settle_date 月、日顺序不明")


def test_amounts_said_to_be_about_so_much_are_named_in_the_files_note(tmp_path):
    rows = ["JS1,张三,,2026-10-05,约500", "JS2,李四,,2026-10-05,600左右", "JS3,王五,,2026-10-05,700"]
    notes = []
    path = write(tmp_path / "医保" / "about.csv", "\n".join([HEADER, *rows]) + "\n")
    valid, rejected, _, read = read_delivery(path, "医保/about.csv", "医保", CFG, KNOWN, notes)
    assert valid[0][1]["out_of_pocket"].to_list() == [500.0, 600.0, 700.0] and rejected.is_empty()
    assert [n.problem.split(" values")[0] for n in notes] == ["「个人自付」2 个值为约数（约500、500左右），按所写数值读取（第 2、3 行），请核对 2"]


def test_a_note_typed_beside_the_table_is_set_aside_as_a_row_not_dropped_uncounted(tmp_path):
    """A 填表说明 or 备注 typed in a column right of the table, on a row past its records: the row
    was dropped as a footer (or, in a CSV read by polars, as blank) and counted nowhere; unlabelled,
    it was set aside as a record missing every value. It is now set aside as a template's own row
    (`(整行 row)`, the note shown), counted as read; a note beside a record leaves the record read."""
    rows = [HEADER.split(","), ["JS1", "张三", "", "2026-10-05", 1], ["JS2", "李四", "", "2026-10-06", 2]]
    wb = xlsxwriter.Workbook(tmp_path / "医保.xlsx")
    ws = wb.add_worksheet("Sheet1")
    for i, r in enumerate(rows):
        ws.write_row(i, 0, r)
    ws.write(1, 7, "备注：含补报")  # (beside a record)
    ws.write(5, 7, "填表说明：金额单位为元")
    ws.write(6, 6, "数据来源于医保信息平台")
    wb.close()
    csv = write(tmp_path / "医保.csv", "\n".join([HEADER, "JS1,张三,,2026-10-05,1", "JS2,李四,,2026-10-06,2",
                                                   ",,,,,,,填表说明：金额单位为元", ",,,,,,数据来源于医保信息平台", ",,,,,,"]) + "\n")
    for path in (tmp_path / "医保.xlsx", csv):
        valid, rejected, _, read = read_delivery(path, f"医保/{path.name}", "医保", CFG, KNOWN, [])
        assert valid[0][1]["record_id"].to_list() == ["JS1", "JS2"] and read == 4
        assert rejected.select("line", "field", "value").rows() == [
            (4 if path == csv else 6, "(整行 row)", "填表说明：金额单位为元"), (5 if path == csv else 7, "(整行 row)", "数据来源于医保信息平台")]
        assert rejected["reason"].str.starts_with("填表模板的示例行或填表说明（或表格旁、表下合并单元格中的说明、备注），不是记录").all()


def test_a_note_merged_across_the_table_under_it_is_set_aside_as_a_row_a_signature_is_a_footer(tmp_path):
    """A 填表说明 or 备注 merged across the table's columns under it: dropped as a footer (labelled)
    or set aside as a record missing its values (not). Set aside as a note, counted; the form's
    signature or the export's count merged so is still a footer."""
    rows = [HEADER.split(","), ["JS1", "张三", "", "2026-10-05", 1], ["JS2", "李四", "", "2026-10-06", 2]]
    wb = xlsxwriter.Workbook(tmp_path / "医保.xlsx")
    ws = wb.add_worksheet("Sheet1")
    for i, r in enumerate(rows):
        ws.write_row(i, 0, r)
    ws.merge_range(4, 0, 4, 4, "填表说明：金额单位为元")
    ws.merge_range(5, 0, 6, 4, "本表数据截至2026年10月31日")
    ws.merge_range(7, 0, 7, 2, "填表人：王五")
    ws.merge_range(8, 0, 8, 4, "共 2 条")
    wb.close()
    valid, rejected, _, read = read_delivery(tmp_path / "医保.xlsx", "医保/医保.xlsx", "医保", CFG, KNOWN, [])
    assert valid[0][1]["record_id"].to_list() == ["JS1", "JS2"] and read == 4
    assert rejected.select("line", "field", "value").rows() == [
        (5, "(整行 row)", "填表说明：金额单位为元"), (6, "(整行 row)", "本表数据截至2026年10月31日")]


def test_a_note_of_blanked_values_does_not_give_the_first_value_as_every_row_s():
    """`blanked_notes` lists each differing value after its line and takes the first value off the
    reason with `removesuffix(": 'v'")`; a code's reason (`_reason` of an `isin` check) carries the
    value in the middle (`unknown code: '待定'（应填 是、否 之一 ...）`), so the note for 是否纳入监测
    `待定` on line 2 and `不清楚` on line 3 still says `'待定'` as the reason of both."""
    from adapters.inbox import blanked_notes
    from config import load_config
    from pipelines.standardize import standardize
    from pipelines.validate import validate

    cfg = load_config()
    spec = cfg.kinds["feedback"]
    raw = pl.DataFrame({"预警编号": ["YJ202610-a", "YJ202610-b"], "乡（镇）": ["大店镇"] * 2, "核实结果": ["属实"] * 2,
                        "是否纳入监测": ["待定", "不清楚"], "核实日期": ["2026-11-05"] * 2, "line": [2, 3]})
    cells = []
    validate(standardize(raw, spec), spec, "反馈", "反馈/大店镇.csv", datetime.date(2026, 12, 31), cells)
    assert pl.concat(cells)["value"].to_list() == ["待定", "不清楚"]
    (note,) = blanked_notes(cells, {"include_monitoring": ["是否纳入监测"]}, "反馈/大店镇.csv", "反馈")
    assert "第 2 行“待定”、第 3 行“不清楚”" in note.problem
    assert note.problem.count("待定") == 1
    # more than ten: the first ten named, and … after them
    (many,) = blanked_notes(cells * 6, {"include_monitoring": ["是否纳入监测"]}, "反馈/大店镇.csv", "反馈")
    assert many.problem.startswith("「是否纳入监测」12 个值读不出") and many.problem.count("行“") == 10 and "“不清楚” …；" in many.problem


def test_an_earlier_periods_extract_put_in_again_is_not_read_but_its_list_is(tmp_path):
    """Last month's 结算明细 put into this month's folder byte for byte: its records were
    delivered last month, and read again they would replace last month's corrections as each
    record's latest delivery. It is not read (no row counted, none set aside) and is named
    (往期文件) with that month's file. A 参保名单 unchanged since last month is this month's list
    all the same: read."""
    per = tmp_path / "2026-10"
    head = "人员编号,姓名,证件号码,参保状态,参保年度"
    write(per / "医保" / "结算明细_2026-09.csv", HEADER + "\nJS1,赵六,341302196201112734,2026-09-05,1\nJS2,钱七,,2026-13-01,1\n")
    write(per / "医保" / "参保名单.csv", "\n".join([head, "CB1,张三,341302196201112734,正常参保,2026"]) + "\n")
    write(per / "医保" / "结算明细.csv", HEADER + "\nJS3,孙八,341302196201112734,2026-10-05,1\n")
    files, _ = discover(per, CFG)
    copies = {"医保/结算明细_2026-09.csv": ("2026-09", "医保/结算明细_2026-09.csv"),
              "医保/参保名单.csv": ("2026-09", "医保/参保名单.csv")}
    notes = []
    latest, rejected, superseded, rows, _ = read_department(per, files, "医保", CFG, notes, None, copies)
    assert latest["med_settlement"]["record_id"].to_list() == ["JS3"]
    assert latest["med_enrollment"]["record_id"].to_list() == ["CB1"]
    assert rejected.is_empty() and rows == 2
    said = [n for n in notes if n.category == Finding.EARLIER_COPY]
    assert [n.file for n in said] == ["医保/结算明细_2026-09.csv"] and "2026-09" in said[0].problem and not said[0].set_aside


def test_an_earlier_periods_workbook_put_in_again_is_read_only_for_its_list(tmp_path):
    """医保 sends one workbook a month, its 参保名单 on one sheet and its 结算明细 on another.
    Last month's workbook put in again byte for byte holds a list delivered whole every period
    (read: this month's list all the same), but its settlements were delivered last month: read
    again they replace last month's corrections as each record's latest delivery (SPEC §1: the
    same file delivered twice must not count twice). Only its list is read, its rows counted."""
    per = tmp_path / "2026-10"
    (per / "医保").mkdir(parents=True)
    workbook(per / "医保" / "医保_2026-09.xlsx", [
        ("参保名单", [["人员编号", "姓名", "证件号码", "参保状态", "参保年度"], ["CB1", "张三", "341302196201112734", "正常参保", "2026"]]),
        ("结算明细", [HEADER.split(","), ["JS1", "赵六", "341302196201112734", "2026-09-05", "1"],
                      ["JS2", "钱七", "", "2026-13-01", "1"]]),
    ])
    write(per / "医保" / "结算明细.csv", HEADER + "\nJS3,孙八,341302196201112734,2026-10-05,1\n")
    files, _ = discover(per, CFG)
    copies = {"医保/医保_2026-09.xlsx": ("2026-09", "医保/医保_2026-09.xlsx")}
    notes = []
    latest, rejected, superseded, rows, _ = read_department(per, files, "医保", CFG, notes, None, copies)
    assert latest["med_enrollment"]["record_id"].to_list() == ["CB1"]
    assert latest["med_settlement"]["record_id"].to_list() == ["JS3"]
    assert rejected.is_empty() and superseded.is_empty() and rows == 2
    assert [n.file for n in notes if n.category == Finding.EARLIER_COPY] == ["医保/医保_2026-09.xlsx"]


def test_up_to_ten_damaged_lines_are_read_and_named_eleven_make_another_encoding(tmp_path):
    """DAMAGED_LINES (10) lines neither encoding reads: the file is read, the note naming all ten
    (no … for exactly ten); 11 such lines are a file of another encoding, set aside whole."""
    good = f"{HEADER}\n" + "".join(f"JS{i},张三,,2026-10-05,{i}\n" for i in range(20))

    def damaged(n):
        return good.encode("gb18030") + b"".join(b"JD%d,\x81,,2026-10-07,1\n" % i for i in range(n))
    path = tmp_path / "a.csv"
    path.write_bytes(damaged(10))
    notes = []
    df = read_table(path, "医保/a.csv", KNOWN, notes)
    assert not isinstance(df, ReadError) and df.height == 30
    said = [n.problem for n in notes if n.category == Finding.DAMAGED_BYTES]
    assert len(said) == 1 and said[0].startswith("第 22、23、24、25、26、27、28、29、30、31 行有无法识别的字节")
    path.write_bytes(damaged(11))
    assert isinstance(read_table(path, "医保/a.csv", KNOWN, []), ReadError)


def test_a_damaged_line_of_a_gb18030_file_is_read_in_gb18030(tmp_path):
    """The lines that fit neither encoding are read in the encoding of most of the others: a
    GB18030 export's damaged line keeps its readable characters (李四), not UTF-8's �."""
    data = (f"{HEADER}\nJS1,张三,,2026-10-05,1\nJS2,李四".encode("gb18030") + b"\x81,"
            + ",2026-10-05,2\nJS3,王五,,2026-10-05,3\n".encode("gb18030"))
    notes = []
    df = read_table(write_bytes(tmp_path / "a.csv", data), "医保/a.csv", KNOWN, notes)
    assert df.select("结算流水号", "姓名", "个人自付").rows() == [("JS1", "张三", "1"), ("JS2", "李四\ufffd", "2"), ("JS3", "王五", "3")]
    # (one encoding, one line damaged: not a file of lines in two encodings)
    assert [n.category for n in notes] == [Finding.DAMAGED_BYTES] and "第 3 行" in notes[0].problem


@pytest.mark.parametrize("newline", ["\n", "\r"])  # (a lone CR takes the csv module's path, not polars')
@pytest.mark.parametrize("encoding,last", [("utf-8", "备"), ("gb18030", "㛃")], ids=["utf-8", "gb18030"])
def test_a_file_cut_inside_its_last_character_is_read_in_its_own_encoding(tmp_path, newline, encoding, last):
    """A file cut in the middle of its last character (2 of its 3 bytes there): read as UTF-8
    without it and noted as truncated, not taken for GB18030 (where 2 such bytes make a character).
    A GB18030 export cut inside a rare character (㛃, 4 bytes there) is read as GB18030 and noted
    so too, not read line by line with its last line named as damaged."""
    data = f"{HEADER}\nJS1,张三,,2026-10-05,1\nJS2,李四,,2026-10-05,2{last}".replace("\n", newline).encode(encoding)
    notes = []
    df = read_table(write_bytes(tmp_path / "a.csv", data[:-1]), "医保/a.csv", KNOWN, notes)
    assert df.select("姓名", "个人自付").rows() == [("张三", "1"), ("李四", "2")]
    assert [n.problem for n in notes] == ["文件末尾字符不完整（可能被截断） file ends mid-character (truncated?)"]


def test_a_footer_of_two_cells_is_not_a_record_though_one_is_no_label(tmp_path):
    """填表人：张三 and a date beside it (FOOTER_CELLS: 2 filled cells) is a footer."""
    rows = [HEADER, "JS1,张三,,2026-10-05,1", "填表人：张三,,,2026-11-05,"]
    df = read_table(write(tmp_path / "f.csv", "\n".join(rows) + "\n"), "f.csv", KNOWN)
    assert df["结算流水号"].to_list() == ["JS1"]


def test_a_header_under_fourteen_title_lines_is_found(tmp_path):
    """HEADER_SCAN_ROWS (15): the header may be the 15th row (16 title lines are too many:
    `test_a_sheet_of_records_whose_header_is_not_found_is_set_aside_not_skipped`)."""
    text = "宿州市医疗保障局\n" * 14 + f"{HEADER}\nJS1,张三,,2026-10-05,1\n"
    df = read_table(write(tmp_path / "a.csv", text), "医保/a.csv", KNOWN)
    assert df.select("结算流水号", "line").rows() == [("JS1", 16)]


def test_an_earlier_periods_extract_put_in_again_is_said_not_read(tmp_path):
    """Its note says it was not read at all (not that only its list was: it holds none)."""
    per = tmp_path / "2026-10"
    write(per / "医保" / "结算明细_2026-09.csv", HEADER + "\nJS1,赵六,341302196201112734,2026-09-05,1\n")
    files, _ = discover(per, CFG)
    notes = []
    latest, _, _, rows, _ = read_department(per, files, "医保", CFG, notes, None,
                                            {"医保/结算明细_2026-09.csv": ("2026-09", "医保/结算明细_2026-09.csv")})
    said = [n.problem for n in notes if n.category == Finding.EARLIER_COPY]
    assert rows == 0 and not latest.get("med_settlement", pl.DataFrame()).height
    assert len(said) == 1 and said[0].startswith("与 2026-09 期的 医保/结算明细_2026-09.csv 完全相同，未读入")


def test_a_quarters_extract_exported_again_is_not_read_when_its_months_delivered_its_records(tmp_path):
    """August's and September's 结算明细 exported together (一个季度的导出) and put in under October:
    no month held more than half its rows, so it was read as October's, nothing said. It is
    compared with the records of both months (their runs' links, their folders read again: a
    late record of August delivered in September's extract is found there), not read, its rows
    counted as a copy's, and named with both months; a month's folder gone is no reason to read it
    when the others hold every row. One dated over more months than `[inbox] earlier_months` is
    not compared (each month compared is read again)."""
    per, aug, sep = tmp_path / "2026-10", tmp_path / "2026-08", tmp_path / "2026-09"
    august = "JS1,赵六,341302196201112734,2026-08-05,1\nJS2,钱七,,2026-08-20,1\n"
    september = "JS3,孙八,,2026-09-20,1\nJS4,孙八,,2026-08-30,1\nJS5,周九,,2026-09-21,1\n"  # (JS4: August's, late)
    write(aug / "医保" / "结算明细_8月.csv", HEADER + "\n" + august)
    write(sep / "医保" / "结算明细_9月.csv", HEADER + "\n" + september)
    write(per / "医保" / "医保结算_三季度.csv", "宿州市医疗保障局 2026年8-9月结算明细\n" + HEADER + "\n" + august + september, "gb18030")
    write(per / "医保" / "结算明细.csv", HEADER + "\nJS9,孙八,341302196201112734,2026-10-05,1\n")
    asked, copied, notes = [], {}, []

    def linked(dept, months, keys):
        asked.append((dept, months, sorted(keys)))
        return len(keys)
    latest, _, _, rows, _ = read_department(per, discover(per, CFG)[0], "医保", CFG, notes, linked=linked, copied=copied)
    assert asked == [("医保", ["2026-08", "2026-09"], ["JS1", "JS2", "JS3", "JS4", "JS5"])]
    assert latest["med_settlement"]["record_id"].to_list() == ["JS9"] and rows == 1
    assert copied == {"医保/医保结算_三季度.csv": 5}
    said = [n.problem for n in notes if n.category == Finding.EARLIER_RECORDS]
    assert len(said) == 1 and said[0].startswith("日期多在 2026-08、2026-09、早于本期，其 5 个记录编号中 5 个 2026-08、2026-09 期已报送、"
                                                 "5 行内容与该期相同，未读入")
    # (a workbook's sheet a month: the rows of both compared)
    wb = [["JS1", "赵六", "341302196201112734", "2026-08-05", 1], ["JS2", "钱七", None, "2026-08-20", 1]]
    (per / "医保" / "医保结算_三季度.csv").unlink()
    workbook(per / "医保" / "医保结算_三季度.xlsx", [("8月", [HEADER.split(","), *wb]), ("9月", [
        HEADER.split(","), ["JS3", "孙八", None, "2026-09-20", 1], ["JS4", "孙八", None, "2026-08-30", 1],
        ["JS5", "周九", None, "2026-09-21", 1]])])
    copied = {}
    latest, _, _, rows, _ = read_department(per, discover(per, CFG)[0], "医保", CFG, [], linked=linked, copied=copied)
    assert rows == 1 and copied == {"医保/医保结算_三季度.xlsx": 5}
    # (over more months than `[inbox] earlier_months`: not compared, read as this period's)
    asked.clear()
    one = load_config(overrides=["inbox.earlier_months=1"])
    latest, _, _, rows, _ = read_department(per, discover(per, one)[0], "医保", one, [], linked=linked)
    assert asked == [] and rows == 6 and len(latest["med_settlement"]) == 6
    import shutil
    shutil.rmtree(aug)  # (August's folder gone: September's holds JS4, not JS1 and JS2)
    copied, notes = {}, []
    latest, _, _, rows, _ = read_department(per, discover(per, CFG)[0], "医保", CFG, notes, linked=linked, copied=copied)
    assert rows == 6 and copied == {} and "其中 2 行内容与该期不同：是对 2026-08、2026-09 期记录的更正？（2026-08 期的文件已不在收件箱，未能比对）" in next(
        n.problem for n in notes if n.category == Finding.EARLIER_RECORDS)


def test_an_earlier_months_extract_exported_again_is_not_read_when_that_month_delivered_its_records(tmp_path):
    """September's 结算明细 exported again (a title line, GB18030: not byte for byte the file
    September read, so not 往期文件) and put in under October was read as October's, nothing
    said: its rows counted in October's 行数核对, its bad row sent back again, its records in doubt
    back in the review queue. A file dated in one earlier month is compared with that month's
    records (`linked`, the warehouse's: asked of it alone, with its record numbers, its bad row's
    too); when that month delivered (nearly) all of them as they are (September's folder read
    again) it is not read, its rows not counted, and named (往期记录) with the month and the
    counts. Named and read: a correction (other content), one holding fewer of them, one whose
    month's files are gone. None of them: read, nothing said."""
    per, sep = tmp_path / "2026-10", tmp_path / "2026-09"
    sept = HEADER + "\nJS1,赵六,341302196201112734,2026-09-05,1\nJS2,钱七,,2026-13-01,1\nJS3,孙八,,2026-09-20,1\n"
    write(sep / "医保" / "结算明细_9月.csv", sept)
    write(per / "医保" / "医保结算.csv", "宿州市医疗保障局 2026年9月结算明细\n" + sept, "gb18030")
    write(per / "医保" / "结算明细.csv", HEADER + "\nJS9,孙八,341302196201112734,2026-10-05,1\nJS8,孙八,,2026-09-30,1\n")
    asked = []

    def read(known: int, cfg=CFG, folder=per):
        def linked(dept, month, keys):
            asked.append((dept, month, sorted(keys)))
            return known
        notes = []
        latest, rejected, _, rows, _ = read_department(folder, discover(folder, cfg)[0], "医保", cfg, notes, linked=linked)
        return latest["med_settlement"]["record_id"].to_list(), rejected, rows, [
            n.problem for n in notes if n.category == Finding.EARLIER_RECORDS]

    ids, rejected, rows, said = read(3)
    assert asked == [("医保", ["2026-09"], ["JS1", "JS2", "JS3"])]
    assert ids == ["JS9", "JS8"] and rejected.is_empty() and rows == 2
    assert len(said) == 1 and said[0].startswith("日期多在 2026-09、早于本期，其 3 个记录编号中 3 个 2026-09 期已报送、2 行内容与该期相同，"
                                                 "未读入")
    assert "其 3 行不作本期记录（行数核对中计为重复文件未读）" in said[0] and "--set 'inbox.read_again=[\"医保/医保结算.csv\"]'" in said[0]
    ids, rejected, rows, said = read(2)  # (a third of it new: read, as this period's)
    assert sorted(ids) == ["JS1", "JS3", "JS8", "JS9"] and rejected["record_id"].to_list() == ["JS2"] and rows == 5
    assert len(said) == 1 and "3 个记录编号中 2 个 2026-09 期已报送，部分为 2026-09 期记录重报？已按本期读入" in said[0]
    ids, _, rows, said = read(0)
    assert len(ids) == 4 and rows == 5 and said == []
    # a correction of September's records: other content, read
    write(per / "医保" / "医保结算.csv", sept.replace("2026-09-20,1", "2026-09-20,7"))
    ids, _, rows, said = read(3)
    assert len(ids) == 4 and rows == 5 and len(said) == 1 and "其中 1 行内容与该期不同：是对 2026-09 期记录的更正？" in said[0]
    # however many of its rows are as they were: the one corrected is read (its sum counts)
    many = "".join(f"JS{i},孙八,,2026-09-{i % 28 + 1:02d},1\n" for i in range(10, 60))
    write(sep / "医保" / "结算明细_9月.csv", sept + many)
    write(per / "医保" / "医保结算.csv", "宿州市医疗保障局\n" + (sept + many).replace("JS59,孙八,,2026-09-04,1", "JS59,孙八,,2026-09-04,9"))
    ids, _, rows, said = read(53)
    assert len(ids) == 54 and rows == 55 and len(said) == 1 and "其中 1 行内容与该期不同" in said[0]
    write(sep / "医保" / "结算明细_9月.csv", sept)
    write(per / "医保" / "医保结算.csv", sept.replace("2026-09-20,1", "2026-09-20,7"))
    # the analyst's way out: the file listed as this period's all the same is read, not compared
    write(per / "医保" / "医保结算.csv", sept, "gb18030")
    asked.clear()
    ids, _, rows, said = read(3, load_config(None, ['inbox.read_again=["医保/医保结算.csv"]']))
    assert len(ids) == 4 and rows == 5 and said == [] and asked == []
    # September run again with the file in its own folder: read as September's, not compared
    (sep / "医保" / "结算明细_9月.csv").rename(sep / "医保" / "医保结算.csv")
    ids, _, rows, said = read(3, folder=sep)
    assert sorted(ids) == ["JS1", "JS3"] and rows == 3 and said == [] and asked == []
    # September's files gone: not compared, read and said
    (sep / "医保" / "医保结算.csv").unlink()
    ids, _, rows, said = read(3)
    assert len(ids) == 4 and len(said) == 1 and "2026-09 期的文件已不在收件箱、未能比对内容" in said[0]
    # records stating what holds until it changes (住建's, 水利's: `standing_kinds`), the same as
    # then: read and named, never left out (a warning due again after its 90 days would be lost)
    write(sep / "医保" / "结算明细_9月.csv", sept)
    ids, _, rows, said = read(3, load_config(None, ['inbox.standing_kinds=["med_settlement"]']))
    assert len(ids) == 4 and rows == 5 and len(said) == 1
    assert "2 行内容与该期相同：是 2026-09 期的文件重报？" in said[0] and "故未略去" in said[0] and "已按本期读入" in said[0]
    assert load_config(None, []).inbox.standing_kinds == ("housing", "water")


def write_bytes(path: Path, data: bytes) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(data)
    return path


def test_an_answers_date_after_the_period_is_kept_for_feedback_to_judge(tmp_path):
    """Only extracts set aside a record dated after the period (and its days after): an answer's
    核实日期 is checked against when it came back (`feedback`), not set aside here."""
    per = tmp_path / "2026-10"
    write(per / "反馈" / "f.csv", "预警编号,乡（镇）,核实结果,核实日期\nYJ1,大店镇,属实,2027-11-05\n")
    files, _ = discover(per, CFG)
    latest, rejected, _, rows, _ = read_department(per, files, "反馈", CFG, [])
    assert latest["feedback"].select("warning_id", "verify_date").rows() == [("YJ1", datetime.date(2027, 11, 5))]
    assert rejected.is_empty() and rows == 1


def test_a_roster_household_number_shared_by_two_villages_is_read_as_one_household_per_village(tmp_path):
    """`read_department` keys the roster's households once for the run (`split_shared_households`)."""
    per = tmp_path / "2026-10"
    write(per / "户籍底册" / "底册.csv", "乡（镇）,行政村,户编号,人编号,姓名,证件号码\n"
          "大店镇,李湖村,H1,P1,张一,341302196201112734\n永镇镇,孙集村,H1,P2,张二,341302196201113737\n")
    files, _ = discover(per, CFG)
    latest, _, _, _, _ = read_department(per, files, "户籍底册", CFG, [])
    assert latest["roster"].select("person_id", "household_id").rows() == [("P1", "H1"), ("P2", "H1@永镇镇孙集村")]


@pytest.mark.parametrize("newline", ["\r\n", "\r"])  # \r: a lone CR takes the csv-module path
@pytest.mark.parametrize("tail", [b"\x1a", b"\x00" * 600])
def test_an_end_of_file_mark_or_nul_padding_after_the_last_line_is_no_record(tmp_path, newline, tail):
    """An old system ends its export with DOS's end-of-file mark (Ctrl-Z); a copy cut short leaves
    NULs after the last line. Read, the mark was a record of one odd value (set aside as a
    settlement missing its fields, one row more than the file holds) and the NULs a small file's
    reason to be set aside as UTF-16: taken off, the file noted."""
    for encoding in ("utf-8-sig", "gb18030"):
        data = f"{HEADER}\nJS1,张三,,2026-10-05,1\nJS2,李四,,2026-10-05,2\n".replace("\n", newline).encode(encoding)
        notes = []
        df = read_table(write_bytes(tmp_path / "a.csv", data + tail), "医保/a.csv", KNOWN, notes)
        assert df.select("结算流水号", "line").rows() == [("JS1", 2), ("JS2", 3)]
        assert len(notes) == 1 and "Ctrl-Z" in notes[0].problem and not notes[0].set_aside


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_a_stray_nul_byte_in_a_text_file_is_taken_out_and_its_line_named(tmp_path, newline):
    """A legacy system pads a fixed-width field with NUL bytes. One in the file's first 4 KB set
    the whole file aside as binary content; one further down stayed in its value, a record number
    JS1\\x00 another record than the JS1 of a correction. Taken out, its lines named; a file of
    control bytes is still binary."""
    rows = [HEADER, "JS1\x00,张三,,2026-10-05,1"] + [f"JS{i},李四,,2026-10-05,2" for i in range(2, 300)]
    rows[250] = rows[250].replace("李四", "李\x00\x00四")
    notes = []
    df = read_table(write(tmp_path / "a.csv", newline.join(rows) + newline), "医保/a.csv", KNOWN, notes)
    assert df.height == 299 and df["结算流水号"][0] == "JS1" and df["姓名"][249] == "李四"
    assert [n.problem for n in notes] == ["第 2、251 行有空字节（NUL），已去掉 line(s) 2、251 hold NUL bytes: taken out"]
    err = read_table(write_bytes(tmp_path / "g.csv", (HEADER + "\n").encode() + bytes(range(32)) * 8), "医保/g.csv", KNOWN)
    assert isinstance(err, ReadError) and "binary" in err.problem


def test_who_the_roster_s_rows_set_aside_show_is_kept_for_their_records_to_be_told(tmp_path):
    """A roster row set aside (a 证件号码 blank or destroyed by Excel, a 人编号 given to two persons)
    is a person no record can be linked to: `read_department` hands who each shows to `aside`
    (line, 户编号, 姓名, place, the 证件号码 as delivered), for their unmatched records to be told
    (`identify.set_aside_fits`). One a later delivery gives again whole is on the roster: not there."""
    per = tmp_path / "2026-10"
    head = "乡（镇）,行政村,户编号,人编号,姓名,证件号码\n"
    write(per / "户籍底册" / "底册.csv", head + "大店镇,李湖村,H1,P1,张一,341302196201112734\n"
          "大店镇,李湖村,H1,P2,张二,\n大店镇,李湖村,H2,P3,李三,3.41302E+17\n"
          "永镇镇,孙集村,H3,P4,王四,341302196201113737\n永镇镇,孙集村,H4,P4,赵五,34130219620111415X\n")
    write(per / "户籍底册" / "底册_补报.csv", head + "大店镇,李湖村,H1,P2,张二,341302198001012345\n")
    files, _ = discover(per, CFG)
    aside: list[pl.DataFrame] = []
    latest, rejected, _, _, _ = read_department(per, files, "户籍底册", CFG, [], None, None, aside)
    shown = pl.concat(aside).sort("line")
    assert shown.select("file", "line", "person_id", "household_id", "name", "township", "village", "id_number").rows() == [
        ("户籍底册/底册.csv", 4, "P3", "H2", "李三", "大店镇", "李湖村", "3.41302E+17"),
        ("户籍底册/底册.csv", 5, "P4", "H3", "王四", "永镇镇", "孙集村", "341302196201113737"),
        ("户籍底册/底册.csv", 6, "P4", "H4", "赵五", "永镇镇", "孙集村", "34130219620111415X")]
    assert sorted(latest["roster"]["person_id"].to_list()) == ["P1", "P2"]
    assert read_department(per, files, "户籍底册", CFG, [])[0]["roster"].equals(latest["roster"])


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_null_a_database_export_writes_in_an_empty_cell_is_an_empty_value(tmp_path, newline):
    """A system's database export writes NULL where a value is empty. Read as the text, an
    outpatient settlement's 入院日期 and unpaid 大病保险支付 set it aside (its 个人自付 lost to M1),
    an unresolved water problem's 解决日期 set it aside (no W1): read as empty, the file noted once."""
    head = "结算流水号,姓名,证件号码,就诊类型,入院日期,结算日期,大病保险支付,医疗救助支付,个人自付"
    rows = [head, "JS1,张三,341302196201112734,普通门诊,NULL,2026-10-05,NULL,(null),40.00",
            "JS2,李四,341302********123X,住院,2026-10-01,2026-10-06,0.00,\\N,null", "JS3,NULL,,住院,,2026-10-07,,,8"]
    notes = []
    path = write(tmp_path / "医保" / "a.csv", newline.join(rows) + newline)
    df = read_table(path, "医保/a.csv", KNOWN, notes)
    assert df.select("入院日期", "大病保险支付", "医疗救助支付", "个人自付").rows() == [
        (None, None, None, "40.00"), ("2026-10-01", "0.00", None, None), (None, None, None, "8")]
    assert df["姓名"].to_list() == ["张三", "李四", None]
    assert [n.problem for n in notes] == ["6 个单元格为 NULL（数据库导出的空值），已按空值读取 6 cell(s) hold NULL "
                                          "(a database's empty value): read as empty"]
    valid, rejected, _, _ = read_delivery(path, "医保/a.csv", "医保", CFG, KNOWN)
    assert valid[0][1]["record_id"].to_list() == ["JS1", "JS3"]
    assert rejected.select("record_id", "field").rows() == [("JS2", "out_of_pocket")]  # (individual pay required)
    book = workbook(tmp_path / "w.xlsx", [("Sheet1", [r.split(",") for r in rows])])
    assert read_table(book, "医保/w.xlsx", KNOWN).select("入院日期", "医疗救助支付").rows() == [
        (None, None), ("2026-10-01", None), (None, None)]


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_what_pandas_writes_in_an_empty_cell_is_an_empty_value(tmp_path, newline):
    """An analyst's `df.astype(str).to_csv` writes nan, NaN, None, <NA> or NaT where a value is
    empty. Read as text, they set a settlement aside (入院日期 NaT, 大病保险支付 nan: its 个人自付
    lost to M1) and an unresolved water problem (解决日期 NaT: no W1), and a 姓名 None was a name.
    As whole cells they are empty, as NULL is, the file noted with their count; inside a value
    they stay, and a row of them alone (an empty row of the frame) is a blank row."""
    head = "结算流水号,姓名,证件号码,就诊机构,就诊类型,入院日期,结算日期,大病保险支付,医疗救助支付,个人自付"
    rows = [head, "JS1,张三,341302196201112734,None,普通门诊,NaT,2026-10-05,nan,NaN,40.00",
            "JS2,None,341302********123X,<NA>医院,住院,2026-10-01,2026-10-06,<NA>,None,8",
            "nan,nan,nan,nan,nan,NaT,NaT,nan,nan,nan", "JS3,Nana,,Nan诊所,住院,2026-10-02,2026-10-07,,,9"]
    notes = []
    path = write(tmp_path / "医保" / "a.csv", newline.join(rows) + newline)
    df = read_table(path, "医保/a.csv", KNOWN, notes)
    assert df.select("姓名", "就诊机构", "入院日期", "大病保险支付", "医疗救助支付").rows() == [
        ("张三", None, None, None, None), (None, "<NA>医院", "2026-10-01", None, None), ("Nana", "Nan诊所", "2026-10-02", None, None)]
    assert df["line"].to_list() == [2, 3, 5]
    assert [n.problem for n in notes] == ["7 个单元格为 nan、NaN、None、<NA> 或 NaT（pandas 等程序导出的空值），已按空值读取 7 cell(s) "
                                          "hold nan, NaN, None, <NA> or NaT (the empty value pandas writes): read as empty"]
    valid, rejected, _, read = read_delivery(path, "医保/a.csv", "医保", CFG, KNOWN)
    assert valid[0][1]["record_id"].to_list() == ["JS1", "JS2", "JS3"] and rejected.is_empty() and read == 3
    water = write(tmp_path / "水利" / "w.csv", newline.join([
        "工单编号,乡（镇）,行政村,村民小组,问题类型,发现日期,解决日期,影响户数", "GS1,大营镇,邓湖村,None,有管无水,2026-10-17,NaT,21"]))
    valid, rejected, _, _ = read_delivery(water, "水利/w.csv", "水利", CFG, KNOWN)
    assert rejected.is_empty() and valid[0][1].select("group", "resolved_date").rows() == [(None, None)]


def test_a_templates_example_and_instructions_rows_are_set_aside_as_no_record(tmp_path):
    """A department filling in its template leaves the template's 填表说明 line and 示例 row under
    the header (示例/样例/例： in the record number, the name or the 序号 column). Read as a record,
    the example 张三's 新增 临时救助 was a C2 lead for a person who does not exist. They are set
    aside, counted as read, as no record (no record number: never linked, nor taken for a
    delivery of one); the same words on a later row leave it a record."""
    head = "记录编号,姓名,证件号码,乡（镇）,行政村,救助类别,变动类型,变动日期,月救助金额"
    real = "MZ1,李四,341302********1234,时村乡,王集村,低保,新增,2026-10-02,300"
    rows = [head, "填表说明,请按示例填写，日期格式为2026-10-01,,,,,,,",
            "示例,张三,341302199001011234,时村乡,王集村,临时救助,新增,2026-10-01,500.00", real]
    for path in (write(tmp_path / "民政" / "a.csv", "\n".join(rows) + "\n"),
                 workbook(tmp_path / "民政" / "a.xlsx", [("Sheet1", [r.split(",") for r in rows])])):
        valid, rejected, _, read = read_delivery(path, f"民政/{path.name}", "民政", CFG, KNOWN, [])
        assert valid[0][1]["record_id"].to_list() == ["MZ1"] and read == 3, path.name
        assert rejected.select("line", "record_id", "field", "value").rows() == [
            (2, None, "(整行 row)", "填表说明"), (3, None, "(整行 row)", "示例")], path.name
        assert rejected["reason"].str.contains("不是记录").all()
    said = write(tmp_path / "民政" / "b.csv", "\n".join([head, "例：MZ0,张三,341302********1234,时村乡,王集村,临时救助,新增,"
                                                               "2026-10-01,500", real, real.replace("MZ1,李四", "MZ2,样例")]) + "\n")
    valid, rejected, _, read = read_delivery(said, "民政/b.csv", "民政", CFG, KNOWN, [])
    assert valid[0][1]["record_id"].to_list() == ["MZ1", "MZ2"] and rejected["line"].to_list() == [2] and read == 3
    # a 参保名单's example (序号 示例): not a person the list shows (M4 held back for them), nor a record
    per = tmp_path / "2026-10"
    write(per / "医保" / "参保名单.csv", "\n".join([
        "序号,人员编号,姓名,证件号码,参保状态,参保年度", "示例,CB1,张三,341302********1234,正常参保,2026",
        "1,CB1,王五,341302********2345,正常参保,2026", "2,CB2,赵六,341302********3456,停保,2026"]) + "\n")
    files, _ = discover(per, CFG)
    latest, rejected, superseded, rows, unread = read_department(per, files, "医保", CFG, [])
    assert latest["med_enrollment"].select("record_id", "name").rows() == [("CB1", "王五")] and superseded.is_empty()
    assert rejected.select("line", "record_id").rows() == [(2, None), (4, "CB2")] and rows == 3
    assert unread["record_id"].to_list() == ["CB2"]


def test_a_file_of_a_header_and_no_row_is_said_naming_it_and_whether_its_folder_had_rows(tmp_path):
    """A department's export of a header and no row beside its files with rows (an empty batch
    sent by mistake?), or as its only file (it sent nothing this month): nothing was said, and
    the analyst could not tell an empty file from one skipped. One note per such file, on the
    console, naming it and the rows of the folder's other files; a file holding only its
    template's example row is one too. The grid's has its own finding (网格文件无可用行)."""
    from pipelines.console import attention_lines
    from pipelines.reference import check_extracts

    per = tmp_path / "2026-10"
    write(per / "医保" / "结算_第一批.csv", f"{HEADER}\nJS1,张三,,2026-10-05,1\nJS2,李四,,2026-10-05,2\n")
    write(per / "医保" / "结算_第二批.csv", f"宿州市医疗保障局2026年10月结算明细\n{HEADER}\n")
    write(per / "残联" / "残疾人证.csv", "残疾人证号,姓名,残疾类别,残疾等级,办证类型,发证日期\n")
    write(per / "民政" / "救助变动.csv", "记录编号,姓名,证件号码,救助类别,变动类型,变动日期\n示例,张三,,临时救助,新增,2026-10-01\n")
    write(per / "网格" / "网格.csv", "网格编号,乡（镇）,行政村,网格员,户编号\n")
    write(per / "反馈" / "大店镇.csv", "预警编号,乡（镇）,核实结果\nYJ1,大店镇,属实\n")
    write(per / "反馈" / "大营镇.csv", "预警编号,乡（镇）,核实结果\n")  # (a township's list: no answer row, said so)
    files, _ = discover(per, CFG)
    said = {}
    for (dept,), mine in files.partition_by("dept", as_dict=True, maintain_order=True).items():
        notes = []
        read_department(per, mine, dept, CFG, notes)
        said[dept] = [(n.file, n.problem) for n in notes if (n.category or "").startswith("文件无数据行")]
        if dept == "医保":
            lines = attention_lines(check_extracts({}, notes, dept, CFG), CFG.reference_folders)
    assert said["医保"] == [("医保/结算_第二批.csv",
                             "只有表头、没有数据行（医保 本期其他文件有 2 行数据）：误报了空表？请核对，有数据请重新导出后重报 holds a "
                             "header and no row (2 rows in 医保's other files this period): an empty export sent by "
                             "mistake? check it")]
    assert lines == [f"文件无数据行 医保 医保/结算_第二批.csv {said['医保'][0][1]}"]
    assert said["残联"] == [("残联/残疾人证.csv",
                             "只有表头、没有数据行，残联 本期没有其他有数据行的文件：该部门本期未报送任何记录，其规则未运行 holds a "
                             "header and no row, and no other file of 残联 this period holds one: the department sent "
                             "no record this month, its rules did not run")]
    assert said["民政"][0][1].startswith("只有表头和填表模板的示例行或填表说明、没有数据行，民政 本期没有其他")
    assert said["网格"] == []
    assert said["反馈"] == [("反馈/大营镇.csv", "只有表头、无答复行：文件中没有任何答复被采纳（误传了空表，或填写后未保存？），请填写后重报 "
                             "holds a header and no answer row: nothing in it was taken (an empty list sent, or not "
                             "saved after filling it in?): fill it in and send it again")]


def test_a_file_s_note_counts_its_footer_and_total_lines_alike_when_it_holds_no_record(tmp_path):
    """A one-cell 填表说明：… or 说明：… line (a footer), like a 合计 row, is never a record and is
    dropped; a file holding nothing else under its header was said as 只有表头 though the analyst
    opening it sees lines, while a 填表说明 row of several cells (its template's own) was said.
    The file's note (文件无数据行) counts them all one way; a file with records says nothing of
    its footer or 合计 row, as before."""
    per = tmp_path / "2026-10"
    write(per / "医保" / "结算_第一批.csv", f"{HEADER}\nJS1,张三,,2026-10-05,1\n合计,,,,1\n说明：本表由系统导出\n")
    write(per / "医保" / "结算_第二批.csv", f"{HEADER}\n填表说明：无结算的月份报表头即可\n")
    write(per / "残联" / "残疾人证.csv", "残疾人证号,姓名,残疾类别,残疾等级,办证类型,发证日期\n合计,0,,,,\n说明：本月无新办证\n")
    files, _ = discover(per, CFG)
    said = {}
    for (dept,), mine in files.partition_by("dept", as_dict=True, maintain_order=True).items():
        notes = []
        _, rejected, _, rows, _ = read_department(per, mine, dept, CFG, notes)
        said[dept] = [(n.file, n.problem, n.category) for n in notes]
        assert rejected.is_empty() and rows == (1 if dept == "医保" else 0)
    assert said["医保"] == [("医保/结算_第二批.csv",
                             "只有表头及 1 行合计或表尾说明、没有数据行（医保 本期其他文件有 1 行数据）：误报了空表？请核对，有数据请重新导出后"
                             "重报 holds a header and 1 total or footer line(s), no record (1 rows in 医保's other "
                             "files this period): an empty export sent by mistake? check it", Finding.NO_ROWS)]
    assert said["残联"] == [("残联/残疾人证.csv",
                             "只有表头及 2 行合计或表尾说明、没有数据行，残联 本期没有其他有数据行的文件：该部门本期未报送任何记录，其规则未运行 "
                             "holds a header and 2 total or footer line(s), no record, and no other file of 残联 this "
                             "period holds one: the department sent no record this month, its rules did not run",
                             Finding.NO_ROWS)]


@pytest.mark.parametrize("newline", ["\n", "\r"])  # \r: a lone CR takes the csv-module path
def test_a_note_beside_a_record_past_an_empty_field_is_read_and_said_a_value_right_after_the_header_is_shifted(
        tmp_path, newline):
    """A record with a clerk's note typed beside the table, an empty field between (`…,100,,已核对`):
    the csv module's path set the record aside as shifted values, polars' read it and dropped the
    note unsaid. Both read the record and say the note (file, lines, text) in a file note; a value
    right after the header's last column (`…,200,已核对`: an unquoted comma?) still sets its row aside."""
    rows = [HEADER, "JS1,张三,,2026-10-05,100,,已核对", "JS2,李四,,2026-10-06,200,已核对", "JS3,王五,,2026-10-07,300,,,,待补 ",
            "JS4,赵六,,2026-10-08,400", "JS5,钱七,,2026-10-09,500,,,, ,,", "JS6,孙八,,2026-10-10,600,,,补,,,,"]
    notes = []
    path = write(tmp_path / "医保.csv", newline.join(rows) + newline)
    valid, rejected, _, read = read_delivery(path, "医保/医保.csv", "医保", CFG, KNOWN, notes)
    assert valid[0][1]["record_id"].to_list() == ["JS1", "JS3", "JS4", "JS5", "JS6"] and read == 6
    assert rejected.select("line", "field", "value").rows() == [(3, "(整行 row)", "已核对")]
    assert rejected["reason"].str.contains("字段数多于表头").all()
    said = [n for n in notes if "表格右侧" in n.problem]
    assert len(said) == 1 and said[0].file == "医保/医保.csv"
    # (JS5's empty fields and a space after them are nothing past the table; JS6's 补 before its padding is)
    assert "第 2、4、7 行" in said[0].problem and "「已核对」「待补」「补」" in said[0].problem


def test_a_note_beside_a_record_on_a_sheet_is_said_as_in_a_csv(tmp_path):
    """A workbook's record with a note in a column right of the table (past an empty one): read,
    the note said (it was dropped unsaid), as a CSV's is."""
    rows = [HEADER.split(","), ["JS1", "张三", "", "2026-10-05", 1, None, "已核对"], ["JS2", "李四", "", "2026-10-06", 2]]
    notes = []
    valid, rejected, _, read = read_delivery(workbook(tmp_path / "医保.xlsx", [("Sheet1", rows)]), "医保/医保.xlsx", "医保",
                                             CFG, KNOWN, notes)
    assert valid[0][1]["record_id"].to_list() == ["JS1", "JS2"] and read == 2 and rejected.height == 0
    said = [n.problem for n in notes if "表格右侧" in n.problem]
    assert len(said) == 1 and "第 2 行" in said[0] and "已核对" in said[0]


def _unheaded(notes: list) -> list[str]:
    return [n.problem for n in notes if "表头为空" in n.problem]


@pytest.mark.parametrize("newline", ["\n", "\r"])  # (polars' path; the csv module's, a lone CR)
def test_a_column_under_an_empty_header_cell_holding_values_is_said_once(tmp_path, newline):
    """A header cell deleted by accident between two named ones (结算日期,,个人自付): its column's
    values were dropped unsaid. Now the records are read as before and the file is told, once:
    which column (its position, the names beside it), how many values, that they were not read;
    a note typed right of the table stays said as such, not as that column."""
    rows = ["结算流水号,姓名,证件号码,结算日期,,个人自付", "JS1,张三,,2026-10-05,大营镇,100", "JS2,李四,,2026-10-06,,200",
            "JS3,王五,,2026-10-07,石集乡,300,,已核对"]
    notes = []
    path = write(tmp_path / "医保.csv", newline.join(rows) + newline)
    valid, rejected, _, read = read_delivery(path, "医保/医保.csv", "医保", CFG, KNOWN, notes)
    assert valid[0][1]["record_id"].to_list() == ["JS1", "JS2", "JS3"] and rejected.is_empty()
    said = _unheaded(notes)
    assert len(said) == 1 and "表格第 5 列（「结算日期」与「个人自付」之间）" in said[0]
    assert "2 个值（如「大营镇」）未读取" in said[0] and "请补上表头" in said[0] and "已核对" not in said[0]
    assert sum("表格右侧" in n.problem and "已核对" in n.problem for n in notes) == 1


def test_a_sheets_column_under_an_empty_header_cell_is_said(tmp_path):
    """The same in a workbook (a header cell cleared): the sheet's records read, the column said."""
    rows = [["结算流水号", "姓名", None, "证件号码", "结算日期", "个人自付"], ["JS1", "张三", "大营镇", "", "2026-10-05", 1],
            ["JS2", "李四", "石集乡", "", "2026-10-06", 2]]
    notes = []
    valid, rejected, _, read = read_delivery(workbook(tmp_path / "医保.xlsx", [("Sheet1", rows)]), "医保/医保.xlsx", "医保",
                                             CFG, KNOWN, notes)
    assert valid[0][1]["record_id"].to_list() == ["JS1", "JS2"] and rejected.is_empty()
    said = _unheaded(notes)
    assert len(said) == 1 and "表格第 3 列（「姓名」与「证件号码」之间）表头为空，其 2 个值" in said[0]


def test_a_required_columns_header_left_empty_is_asked_about_in_the_rejection(tmp_path):
    """The header of a required column left empty (姓名,,结算日期): the table is set aside for the
    missing 证件号码, as before, and its reason asks whether the column without a header is it
    (the ID shown masked in the note)."""
    text = "结算流水号,姓名,,结算日期,个人自付\nJS1,张三,341302199001011234,2026-10-05,1\n"
    notes = []
    valid, rejected, _, _ = read_delivery(write(tmp_path / "医保.csv", text), "医保/医保.csv", "医保", CFG, KNOWN, notes)
    assert valid == [] and rejected.height == 1
    assert "「姓名」与「结算日期」之间无表头的表格第 3 列（1 个值）是否即「证件号码」？" in rejected["reason"][0]
    said = _unheaded(notes)
    assert len(said) == 1 and "341302********1234" in said[0] and "341302199001011234" not in said[0]


@pytest.mark.parametrize("ext", ["csv", "xlsx"])
def test_an_empty_column_under_an_empty_header_cell_is_not_said(tmp_path, ext):
    """A spacer column (no header, no value) between named ones, and empty columns after the
    table, lose nothing: nothing is said."""
    rows = [["结算流水号", "姓名", "证件号码", None, "结算日期", "个人自付", None], ["JS1", "张三", "", None, "2026-10-05", "1", None]]
    path = (write(tmp_path / "医保.csv", "\n".join(",".join(c or "" for c in r) for r in rows) + "\n") if ext == "csv"
            else workbook(tmp_path / "医保.xlsx", [("Sheet1", rows)]))
    notes = []
    valid, rejected, _, _ = read_delivery(path, f"医保/医保.{ext}", "医保", CFG, KNOWN, notes)
    assert valid[0][1]["record_id"].to_list() == ["JS1"] and rejected.is_empty() and notes == []



@pytest.mark.parametrize("lone_cr", [False, True])  # (a lone CR: the csv module's path)
def test_the_runs_own_lists_put_back_into_the_inbox_are_named_not_said_to_lack_a_header(tmp_path, lone_cr):
    """A township sends back its 反馈退回 filled in (in 反馈/), a department its 搁置行及原因 corrected
    (saved from Excel as XLSX, a column added): neither holds a list's or an extract's fields, and
    each was set aside as having no header, sending the sender to look for one. Each is named as
    the run's own list, and told what to send instead; a file of other columns still lacks a header."""
    nl = "\r" if lone_cr else "\n"
    back = write(tmp_path / "反馈" / "大店镇_2026-10_反馈退回.csv", nl.join([
        "文件,行号,预警编号,字段,填报内容,原因", "反馈/大店镇.csv,3,YJ202610-39ce8427d4,核实结果,属实,核实结果 代码不在允许值中"]) + nl,
        encoding="utf-8-sig")
    _, rejected, _, read = read_delivery(back, "反馈/大店镇_2026-10_反馈退回.csv", "反馈", CFG, KNOWN, [])
    assert read == 0 and rejected.select("file", "line").rows() == [("反馈/大店镇_2026-10_反馈退回.csv", None)]
    assert rejected["reason"][0].startswith("这是本系统发回乡镇的《反馈退回》") and "请在预警清单中改正这些行后放回 反馈/" in rejected["reason"][0]
    (tmp_path / "民政").mkdir()
    aside = workbook(tmp_path / "民政" / "搁置行及原因.xlsx", [("Sheet1", [
        ["部门", "表类型", "文件", "行号", "记录编号", "字段", "值", "原因", "改正后"],
        ["民政", "civil", "民政/救助变动.csv", 5, "MZ1", "救助类别", "低包", "代码不在允许值中", "低保"]])])
    _, rejected, _, _ = read_delivery(aside, "民政/搁置行及原因.xlsx", "民政", CFG, KNOWN, [])
    assert rejected["reason"][0].startswith("这是本系统输出的《搁置行及原因》，不是部门报送的数据，未读取")
    other = write(tmp_path / "民政" / "说明.csv", nl.join(["文件,行号,说明", "a.csv,3,备注"]) + nl)
    _, rejected, _, _ = read_delivery(other, "民政/说明.csv", "民政", CFG, KNOWN, [])
    assert rejected["reason"][0].startswith("前15行未找到表头")

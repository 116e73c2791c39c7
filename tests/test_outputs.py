import os
from pathlib import Path

import polars as pl
import pytest

from adapters import outputs


def test_csv_has_bom_and_private_mode(tmp_path):
    target = outputs.write_csv(pl.DataFrame({"户编号": ["H01"], "核实结果": [None]}), tmp_path / "a" / "x.csv")
    assert target.read_bytes().startswith(b"\xef\xbb\xbf\xe6\x88\xb7")
    assert os.stat(target).st_mode & 0o077 == 0
    assert [p.name for p in target.parent.iterdir()] == ["x.csv"]


def test_failed_write_leaves_previous_file_and_no_temp(tmp_path):
    target = tmp_path / "x.csv"
    target.write_text("old")
    with pytest.raises(RuntimeError):
        with outputs.atomic_path(target) as tmp:
            tmp.write_text("half")
            raise RuntimeError("killed")
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["x.csv"]


def test_a_file_is_written_under_a_hidden_name_beside_its_target_until_it_is_whole(tmp_path):
    """Only a rename within one folder (one file system) puts a file in place at once: the
    temporary file is in the target's folder, hidden, and the target reads as before until the
    write ends."""
    target = tmp_path / "townships" / "x.csv"
    target.parent.mkdir()
    target.write_text("old")
    with outputs.atomic_path(target) as tmp:
        tmp.write_text("new")
        assert tmp.parent == target.parent and tmp.name.startswith(".") and target.read_text() == "old"
    assert target.read_text() == "new" and [p.name for p in target.parent.iterdir()] == ["x.csv"]


def test_a_durable_write_is_on_disk_before_its_rename_and_the_rename_before_it_returns(tmp_path, monkeypatch):
    """A file standing alone (a warehouse backup) outlives a power cut whole or not at all: its
    temporary file is flushed (fsync) before the rename, the folder holding it after; a plain
    write (a file `swap_in` flushes with its folder) is not flushed twice."""
    events, fsync, replace = [], os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))), fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(a))), replace(a, b)))
    target = tmp_path / "backup" / "wh.duckdb"
    with outputs.atomic_path(target, durable=True) as tmp:
        tmp.write_text("copy")
    assert events == [("fsync", str(tmp)), ("replace", str(tmp)), ("fsync", str(target.parent))]
    assert target.read_text() == "copy"
    events.clear()
    with outputs.atomic_path(target) as tmp:
        tmp.write_text("plain")
    assert events == [("replace", str(tmp))]


def test_xlsx_is_reproducible_and_keeps_codes_as_text(tmp_path):
    df = pl.DataFrame({"户编号": ["0012"], "金额": [1.5]})
    a = outputs.write_xlsx({"汇总": df, "因病": df}, tmp_path / "a.xlsx")
    b = outputs.write_xlsx({"汇总": df, "因病": df}, tmp_path / "b.xlsx")
    assert a.read_bytes() == b.read_bytes()
    back = pl.read_excel(a, sheet_name="因病")
    assert back["户编号"].to_list() == ["0012"]


def test_swap_in_swaps_whole_folder(tmp_path):
    final = tmp_path / "2026-10"
    final.mkdir()
    (final / "old.csv").write_text("old")
    stage = outputs.new_staging_dir(final)
    (stage / "new.csv").write_text("new")
    outputs.drop_replaced(outputs.swap_in(stage, final, "R1"))
    assert [p.name for p in final.iterdir()] == ["new.csv"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2026-10"]


def test_swap_in_puts_every_file_on_disk_before_its_renames_and_the_renames_before_it_returns(tmp_path, monkeypatch):
    """A power cut after the warehouse commits must not find the published folder's files
    empty: each file and folder staged is flushed (fsync) before the folder is renamed in, and the
    folder holding it after the rename."""
    final = tmp_path / "2026-10"
    stage = outputs.new_staging_dir(final)
    (stage / "townships" / "甲镇").mkdir(parents=True)
    (stage / "townships" / "甲镇" / "甲镇_2026-10_预警清单.csv").write_text("x")
    (stage / "links.parquet").write_text("y")
    staged = [stage, *stage.rglob("*")]
    events, fsync, replace = [], os.fsync, os.replace
    monkeypatch.setattr(os, "fsync", lambda fd: (events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}"))), fsync(fd)))
    monkeypatch.setattr(os, "replace", lambda a, b: (events.append(("replace", str(a))), replace(a, b)))
    outputs.swap_in(stage, final, "R1")
    moved = events.index(("replace", str(stage)))
    assert {("fsync", str(p)) for p in staged} <= set(events[:moved])
    assert ("fsync", str(tmp_path)) in events[moved:]
    assert (final / "townships" / "甲镇" / "甲镇_2026-10_预警清单.csv").read_text() == "x"


def test_swap_in_leaves_what_it_replaced_or_that_nothing_was_there_named_after_the_run(tmp_path):
    """Until the run drops it (or swaps back), the folder replaced waits as `.<period>.old-<run>`;
    a period put in where there was none leaves `.<period>.new-<run>`: after a kill, `recover`
    can undo either for a run that did not store its period."""
    final = tmp_path / "2026-10"
    aside = outputs.swap_in(_stage(final, "first"), final, "R1")
    assert aside.name == ".2026-10.new-R1" and aside.is_dir() and (final / "v.txt").read_text() == "first"
    outputs.swap_back(final, aside)
    assert list(tmp_path.iterdir()) == []
    outputs.drop_replaced(outputs.swap_in(_stage(final, "first"), final, "R1"))
    aside = outputs.swap_in(_stage(final, "second"), final, "R2")
    assert aside.name == ".2026-10.old-R2" and (aside / "v.txt").read_text() == "first"
    outputs.swap_back(final, aside)
    assert [p.name for p in tmp_path.iterdir()] == ["2026-10"] and (final / "v.txt").read_text() == "first"


def test_a_swap_whose_second_rename_fails_leaves_the_published_folder_in_place(tmp_path, monkeypatch):
    """The folder published before is moved aside first: when putting the new one in then fails,
    it is put back before the error is raised, nothing left beside it (but the staging folder)."""
    final = tmp_path / "2026-10"
    outputs.drop_replaced(outputs.swap_in(_stage(final, "first"), final, "R1"))
    stage, replace = _stage(final, "second"), os.replace

    def failing(a, b):
        if Path(a) == stage:
            raise OSError("disk full")
        replace(a, b)

    monkeypatch.setattr(os, "replace", failing)
    with pytest.raises(OSError, match="disk full"):
        outputs.swap_in(stage, final, "R2")
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(["2026-10", stage.name])
    assert (final / "v.txt").read_text() == "first"


def _stage(final, text: str):
    stage = outputs.new_staging_dir(final)
    (stage / "v.txt").write_text(text)
    return stage


@pytest.mark.parametrize("kind, stored, left", [
    ("old", True, "new"), ("old", False, "old"), ("old", None, "new"),  # None: named by an older version
    ("new", True, "new"), ("new", False, None), ("new", None, "new"),
])
def test_recover_keeps_the_folder_a_run_put_in_only_if_the_run_stored_it(tmp_path, kind, stored, left):
    out = tmp_path / "out"
    _stage(out / "2026-10", "new").rename(out / "2026-10")
    (out / ".2026-10.staging-abc").mkdir()
    (out / f".2026-10.{kind}-R1").mkdir()
    if kind == "old":
        (out / ".2026-10.old-R1" / "v.txt").write_text("old")
    asked = []
    done = outputs.recover(out, lambda run: asked.append(run) or stored)
    assert asked == ["R1"]
    assert [p.name for p in out.iterdir()] == ([] if left is None else ["2026-10"])
    if left is not None:
        assert (out / "2026-10" / "v.txt").read_text() == left
    assert done[0] == "removed unfinished .2026-10.staging-abc"
    assert any("killed before it stored" in line for line in done) == (stored is False)
    assert ("removed replaced .2026-10.old-R1" in done) == (kind == "old" and stored is not False)
    assert not any("replaced .2026-10.new" in line for line in done)  # (nothing was replaced)


def test_recover_puts_back_a_folder_moved_aside_by_a_swap_cut_between_its_renames(tmp_path):
    out = tmp_path / "out"
    (out / ".2026-10.old-R1").mkdir(parents=True)
    (out / ".2026-11.new-R2").mkdir()  # (nothing there before: nothing to put back)
    assert outputs.recover(out, {"R1": False, "R2": False}.get) == ["restored 2026-10"]
    assert [p.name for p in out.iterdir()] == ["2026-10"]


def test_recover_puts_back_a_folder_an_older_version_moved_aside_when_nothing_is_in_its_place(tmp_path):
    """An aside not named after a run (`stored` None) whose period folder is missing (killed
    between the renames): the folder it holds is the only copy of what was published."""
    out = tmp_path / "out"
    (out / ".2026-10.old-4711").mkdir(parents=True)
    (out / ".2026-10.old-4711" / "v.txt").write_text("published")
    assert outputs.recover(out) == ["restored 2026-10"]
    assert [p.name for p in out.iterdir()] == ["2026-10"] and (out / "2026-10" / "v.txt").read_text() == "published"


def test_a_dry_run_names_what_recover_will_clear_and_nothing_else(tmp_path):
    """`left_by_killed_runs` (read only) names the half-built staging folders and the unfinished
    swaps a killed run left, not the period folders or other files; after `recover` none."""
    out = tmp_path / "out"
    final = out / "2026-10"
    outputs.drop_replaced(outputs.swap_in(_stage(final, "published"), final, "R1"))
    stage = _stage(final, "half")
    aside = outputs.swap_in(_stage(out / "2026-11", "new"), out / "2026-11", "R2")
    (out / "report.html").write_text("x")
    assert outputs.left_by_killed_runs(out) == sorted([stage.name, aside.name]) == sorted([stage.name, ".2026-11.new-R2"])
    assert outputs.left_by_killed_runs(tmp_path / "none") == []
    outputs.recover(out, {"R2": True}.get)
    assert outputs.left_by_killed_runs(out) == []
    assert sorted(p.name for p in out.iterdir()) == ["2026-10", "2026-11", "report.html"]


def test_csv_defuses_formulas_planted_in_text(tmp_path):
    df = pl.DataFrame({"学校名称": ["=HYPERLINK(\"http://x\")", "一中", "-1+2", "@cmd"], "n": [1, 2, 3, 4]})
    back = pl.read_csv(outputs.write_csv(df, tmp_path / "x.csv"), infer_schema=False)
    assert back["学校名称"].to_list() == ["'=HYPERLINK(\"http://x\")", "一中", "'-1+2", "'@cmd"]
    # a TAB or CR first (Excel skips it and reads the formula after it); one inside stays as it is
    df = pl.DataFrame({"备注": ["\t=1+2", "\r=cmd", "a\tb"]})
    back = pl.read_csv(outputs.write_csv(df, tmp_path / "y.csv"), infer_schema=False)
    assert back["备注"].to_list() == ["'\t=1+2", "'\r=cmd", "a\tb"]


def test_csv_writes_numbers_excel_would_change_as_text_and_the_inbox_reads_them_back(tmp_path):
    """A full ID, a long 户编号 or a leading zero would be shown as 3.41302E+17 or lose its zero in
    Excel: they are written as ="…", which the inbox reads as the text inside."""
    from adapters.inbox import read_table
    values = ["341302196902090290", "2026100112345", "0557", "13700000001", "34130219690209029X", "12.50", "0", None]
    df = pl.DataFrame({"记录证件号码": values, "户编号": ["H01"] * 8, "n": list(range(8))})
    target = outputs.write_csv(df, tmp_path / "x.csv")
    raw = pl.read_csv(target, infer_schema=False)
    assert raw["记录证件号码"].to_list() == ['="341302196902090290"', '="2026100112345"', '="0557"', "13700000001",
                                        "34130219690209029X", "12.50", "0", None]
    assert raw["户编号"].to_list() == ["H01"] * 8 and raw["n"].to_list() == [str(i) for i in range(8)]
    back = read_table(target, "x.csv", known=["记录证件号码", "户编号"])
    assert back["记录证件号码"].to_list() == values
    # from 12 digits on (Excel shows 12 as 1.23457E+11); 11 are shown whole
    edge = outputs.write_csv(pl.DataFrame({"人编号": ["123456789012", "12345678901"]}), tmp_path / "y.csv")
    assert pl.read_csv(edge, infer_schema=False)["人编号"].to_list() == ['="123456789012"', "12345678901"]


def test_new_folders_are_private(tmp_path):
    target = outputs.write_csv(pl.DataFrame({"a": [1]}), tmp_path / "p" / "townships" / "大店镇" / "x.csv")
    for d in (tmp_path / "p", tmp_path / "p" / "townships", target.parent):
        assert os.stat(d).st_mode & 0o077 == 0
    stage = outputs.new_staging_dir(tmp_path / "q" / "out" / "2026-10")  # (the output folder made by a run)
    for d in (tmp_path / "q", tmp_path / "q" / "out", stage):
        assert os.stat(d).st_mode & 0o077 == 0


def test_many_workbooks_on_all_cores_are_the_same_bytes(tmp_path):
    """A city's township workbooks are written on several threads: the same files, byte for
    byte, as one at a time, each private."""
    from datetime import datetime

    jobs = lambda root: [({"汇总": pl.DataFrame({"户编号": [f"{t:03d}{i:04d}" for i in range(50 * t)]})},  # noqa: E731
                          root / f"镇{t}" / f"镇{t}.xlsx") for t in range(1, 5)]
    created = datetime(2026, 11, 2)
    outputs.write_xlsx_many(jobs(tmp_path / "serial"), created, workers=1)
    outputs.write_xlsx_many(jobs(tmp_path / "parallel"), created, workers=4)
    for (_, a), (_, b) in zip(jobs(tmp_path / "serial"), jobs(tmp_path / "parallel")):
        assert a.read_bytes() == b.read_bytes()
        assert os.stat(b).st_mode & 0o077 == 0


# --- XLSX written directly (sheet XML from polars expressions, zipped by zipfile) ---

def _xlsx_parts(path):
    import xml.etree.ElementTree as ET
    import zipfile

    with zipfile.ZipFile(path) as z:
        assert z.testzip() is None
        parts = {n: z.read(n) for n in z.namelist()}
    for name, data in parts.items():
        ET.fromstring(data)  # every part is well-formed XML
    return parts


AWKWARD = ["张三", "0012", '=HYPERLINK("http://x","点我")', "<a&b>", "  两个前导空格", "尾随空格 ", "\u3000全角空格",
           "a\tb", "多行\n文本", "回车\r换行", "_x0041_", "引号\"和'撇号", "𠀀😀", "-1+2", "@cmd", "1e5", "TRUE", "]]>",
           "&amp;", "3413********1234", None]


def test_xlsx_values_round_trip_exactly(tmp_path):
    from datetime import date

    n = len(AWKWARD)
    df = pl.DataFrame({"文本": AWKWARD, "整数": [i * 1000 - 7 if i % 5 else None for i in range(n)],
                       "小数": [i / 3 if i % 4 else None for i in range(n)],
                       "日期": [date(2026, 1, 1 + i) if i % 3 else None for i in range(n)],
                       "备注": [" 需入户核实 " if i % 2 else "无" for i in range(n)]})
    target = outputs.write_xlsx({"清单": df, "空": df.head(0)}, tmp_path / "x.xlsx")
    sheet = _xlsx_parts(target)["xl/worksheets/sheet1.xml"].decode()
    assert '<t xml:space="preserve">  两个前导空格</t>' in sheet and '<t xml:space="preserve">尾随空格 </t>' in sheet
    assert "&lt;a&amp;b&gt;" in sheet and "_x005F_x0041_" in sheet  # as Excel escapes a literal _xHHHH_
    assert '<c r="E3" t="inlineStr"><is><t xml:space="preserve"> 需入户核实 </t></is></c>' in sheet
    back = pl.read_excel(target, sheet_name="清单")
    assert back["文本"].to_list() == AWKWARD
    assert back["整数"].to_list() == df["整数"].to_list()
    assert back["小数"].to_list() == df["小数"].to_list()
    assert back["日期"].cast(pl.Utf8).to_list() == df["日期"].cast(pl.Utf8).to_list()
    assert back["备注"].to_list() == df["备注"].to_list()
    assert pl.read_excel(target, sheet_name="空").columns == df.columns


def test_xlsx_numbers_are_numbers_and_codes_and_formulas_stay_text(tmp_path):
    df = pl.DataFrame({"户编号": ["0012", "=1+1"], "人数": [3, None], "金额": [1.5, 2.0], "在册": [True, False]})
    target = outputs.write_xlsx({"汇总": df}, tmp_path / "x.xlsx")
    sheet = _xlsx_parts(target)["xl/worksheets/sheet1.xml"].decode()
    assert '<c r="A2" t="inlineStr"><is><t>0012</t></is></c>' in sheet
    assert '<c r="A3" t="inlineStr"><is><t>=1+1</t></is></c>' in sheet and "<f>" not in sheet
    assert '<c r="B2"><v>3</v></c>' in sheet and 'r="B3"' not in sheet  # null cell left out
    assert sheet.count("<c r=") == 4 + 7  # header + non-null cells, nothing for the null
    assert '<c r="C2"><v>1.5</v></c>' in sheet and '<c r="C3"><v>2</v></c>' in sheet
    assert '<c r="D2" t="inlineStr"><is><t>True</t></is></c>' in sheet
    back = pl.read_excel(target)
    assert back["户编号"].to_list() == ["0012", "=1+1"]
    assert back["人数"].dtype.is_numeric() and back["金额"].to_list() == [1.5, 2.0]


def test_xlsx_offers_the_feedback_choices_as_drop_downs(tmp_path):
    """A township picks 核实结果 and 是否纳入监测 from a list instead of typing them (a typed 是的
    comes back refused); sheets without those columns (汇总) get none."""
    import openpyxl

    from schemas.outputs import FEEDBACK_CHOICES

    df = pl.DataFrame({"预警编号": ["YJ1", "YJ2"], "核实结果": [None, None], "是否纳入监测": [None, None], "备注": [None, None]},
                      schema_overrides={c: pl.Utf8 for c in ("核实结果", "是否纳入监测", "备注")})
    target = outputs.write_xlsx({"汇总": pl.DataFrame({"风险类型": ["因病"], "户数": [2]}), "因病": df},
                                tmp_path / "x.xlsx", choices=FEEDBACK_CHOICES)
    wb = openpyxl.load_workbook(target)
    assert not wb["汇总"].data_validations.dataValidation
    got = {str(dv.sqref): (dv.type, dv.formula1, dv.showErrorMessage) for dv in wb["因病"].data_validations.dataValidation}
    assert got == {"B2:B1048576": ("list", '"属实,不属实"', True), "C2:C1048576": ("list", '"是,否"', True)}, got


def test_xlsx_header_style_frozen_pane_autofilter_and_widths(tmp_path):
    df = pl.DataFrame({"户编号": ["H" * 40, None, "x"], "n": [1, 2, 3], "风险类型": ["因病", "因学", None]})
    target = outputs.write_xlsx({"因病": df, "因学": df.head(0)}, tmp_path / "x.xlsx")
    parts = _xlsx_parts(target)
    sheet1, sheet2 = parts["xl/worksheets/sheet1.xml"].decode(), parts["xl/worksheets/sheet2.xml"].decode()
    for sheet in (sheet1, sheet2):
        assert '<c r="A1" s="1" t="inlineStr"><is><t>户编号</t></is></c>' in sheet
        assert '<c r="C1" s="1" t="inlineStr"><is><t>风险类型</t></is></c>' in sheet
        assert '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>' in sheet
    assert '<autoFilter ref="A1:C4"/>' in sheet1 and '<autoFilter ref="A1:C2"/>' in sheet2
    assert '<dimension ref="A1:C4"/>' in sheet1 and '<dimension ref="A1:C1"/>' in sheet2
    # widths: 40 chars -> capped at 60; "n" -> the minimum 8; 风险类型 -> 4 * 2; as Excel units
    assert '<col min="1" max="1" width="60.7109375" customWidth="1"/>' in sheet1
    assert '<col min="2" max="2" width="8.7109375" customWidth="1"/>' in sheet1
    styles = parts["xl/styles.xml"].decode()
    assert '<cellXfs count="2">' in styles
    assert '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1" applyFill="1" applyBorder="1"/>' in styles
    assert '<font><b/>' in styles and 'rgb="FFDDEBF7"' in styles and styles.count('style="thin"') == 4
    workbook = parts["xl/workbook.xml"].decode()
    assert ('<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">\'因病\'!$A$1:$C$4</definedName>'
            in workbook)
    assert ('<definedName name="_xlnm._FilterDatabase" localSheetId="1" hidden="1">\'因学\'!$A$1:$C$2</definedName>'
            in workbook)
    import openpyxl

    wb = openpyxl.load_workbook(target)
    ws = wb["因病"]
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref == "A1:C4"
    assert ws["A1"].font.b and ws["A1"].fill.fgColor.rgb == "FFDDEBF7" and ws["A1"].border.left.style == "thin"
    assert not ws["A2"].font.b


def test_xlsx_drops_characters_xml_forbids(tmp_path):
    dirty = ["a\x00b", "\x01\x02\x08c", "d\x0b\x0ce", "f\x0e\x1fg", "h\ufffe\uffffi", "\x01 前导空格", "_\x01x0041_", "ok"]
    target = outputs.write_xlsx({"清单": pl.DataFrame({"备注\x07": dirty})}, tmp_path / "x.xlsx")
    sheet = _xlsx_parts(target)["xl/worksheets/sheet1.xml"]
    assert not any(chr(c).encode() in sheet for c in (*range(0, 9), 11, 12, *range(14, 32)))
    back = pl.read_excel(target)
    assert back.columns == ["备注"]
    assert back["备注"].to_list() == ["ab", "c", "de", "fg", "hi", " 前导空格", "_x0041_", "ok"]


def test_xlsx_text_longer_than_excel_allows_is_cut_to_its_limit(tmp_path):
    """Excel refuses a cell of more than 32,767 UTF-16 units (it 'repairs' the workbook): longer
    text is cut to it, a character beyond U+FFFF counting two."""
    df = pl.DataFrame({"预警依据": ["a" * 40_000, "😀" * 20_000, "b" * 32_767, "短"]})
    back = pl.read_excel(outputs.write_xlsx({"清单": df}, tmp_path / "x.xlsx"))
    assert back["预警依据"].to_list() == ["a" * 32_767, "😀" * 16_383, "b" * 32_767, "短"]


def test_xlsx_sheet_names_cleaned_unique_and_escaped(tmp_path):
    df = pl.DataFrame({"a": [1]})
    target = outputs.write_xlsx({"因病/因学": df, "因病?因学": df, "a&b<c>": df, "": df}, tmp_path / "x.xlsx")
    assert pl.read_excel(target, sheet_id=0).keys() == {"因病_因学", "因病_因学_2", "a&b<c>", "Sheet"}
    with pytest.raises(ValueError):  # Excel ignores case in sheet names
        outputs.write_xlsx({"Sheet": df, "sheet": df}, tmp_path / "y.xlsx")
    target = outputs.write_xlsx({"因病\\因学": df, "长" * 35: df, "长" * 33: df}, tmp_path / "z.xlsx")
    assert list(pl.read_excel(target, sheet_id=0)) == ["因病_因学", "长" * 31, "长" * 28 + "_2"]  # cut to 31, still unique
    for name in ("'因病", "因病'"):  # what Excel refuses to open
        with pytest.raises(ValueError):
            outputs.write_xlsx({name: df}, tmp_path / "w.xlsx")
    assert not (tmp_path / "w.xlsx").exists()


def test_xlsx_chunked_rows_write_the_same_sheets(tmp_path, monkeypatch):
    """Big sheets are built `_XLSX_CHUNK_ROWS` rows at a time, consecutive small ones together:
    neither changes a byte of the sheet XML."""
    import zipfile

    df = pl.DataFrame({"户编号": [f"{i:04d}" if i % 7 else None for i in range(23)], "n": list(range(23)),
                       "备注": [" x" if i % 3 else "<y>" for i in range(23)]})
    sheets = {"汇总": df.head(3), "因病": df, "因学": df.tail(5), "空": df.head(0), "因残": df.head(2)}
    whole = outputs.write_xlsx(sheets, tmp_path / "whole.xlsx")
    monkeypatch.setattr(outputs, "_XLSX_CHUNK_ROWS", 4)
    outputs._sheet_row_query.cache_clear()
    chunked = outputs.write_xlsx(sheets, tmp_path / "chunked.xlsx")
    with zipfile.ZipFile(whole) as a, zipfile.ZipFile(chunked) as b:
        assert a.namelist() == b.namelist()
        for name in a.namelist():
            assert a.read(name) == b.read(name), name
    for name, part in sheets.items():
        assert pl.read_excel(chunked, sheet_name=name).equals(part) or part.height == 0


def test_a_frame_longer_than_a_sheet_goes_on_in_further_sheets():
    from adapters.outputs import split_sheets

    df = pl.DataFrame({"a": [1, 2, 3, 4, 5]})
    assert {k: v["a"].to_list() for k, v in split_sheets("队列", df, rows=2).items()} == {
        "队列": [1, 2], "队列_2": [3, 4], "队列_3": [5]}
    assert list(split_sheets("队列", df.clear(), rows=2)) == ["队列"]  # an empty queue still has its sheet


def test_a_sheet_holds_at_most_excels_rows_below_its_header(tmp_path):
    """1,048,576 rows in a sheet, the header one of them: a frame of that many rows goes on in a
    second sheet, and a sheet that would pass the limit is refused (not cut short by Excel)."""
    from adapters.outputs import split_sheets

    df = pl.DataFrame({"a": pl.int_range(0, 1_048_576, dtype=pl.Int32, eager=True)})
    assert {k: v.height for k, v in split_sheets("队列", df).items()} == {"队列": 1_048_575, "队列_2": 1}
    with pytest.raises(ValueError):
        outputs.write_xlsx({"队列": df}, tmp_path / "x.xlsx")
    assert not (tmp_path / "x.xlsx").exists()


def test_many_workbooks_a_failing_one_is_not_passed_over_in_silence(tmp_path):
    ok = {"汇总": pl.DataFrame({"a": [1]})}
    with pytest.raises(ValueError):
        outputs.write_xlsx_many([(ok, tmp_path / "a.xlsx"), ({"'坏'": ok["汇总"]}, tmp_path / "b.xlsx")], None, workers=2)


def test_a_township_named_with_a_slash_or_another_character_no_file_name_holds_names_one_folder():
    """A roster's 乡（镇） written 埇桥区/大店镇 made townships/埇桥区/大店镇/埇桥区/大店镇_….csv, a
    folder per part, and a name ending in \\ or holding : or ? no Windows machine opens. Written
    in full-width forms they read the same and name one folder; a name stays as it is otherwise."""
    assert outputs.file_name("埇桥区/大店镇") == "埇桥区／大店镇"
    assert outputs.file_name('芦岭镇\\') == "芦岭镇＼" and outputs.file_name('大*店:镇?"<>|') == '大＊店：镇？＂＜＞｜'
    assert outputs.file_name("大店镇. ") == "大店镇" and outputs.file_name("..") == "_" and outputs.file_name("大\x01店镇") == "大店镇"
    assert outputs.file_name("竹核彝族乡（原竹核乡）") == "竹核彝族乡（原竹核乡）"

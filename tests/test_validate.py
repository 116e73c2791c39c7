import re
from dataclasses import replace
from datetime import date, datetime, timedelta
from pathlib import Path

import polars as pl
import pytest

from adapters.inbox import ReadError
from config import load_config
from matchers.ids import check_char
from pipelines.reference import households_without_head
from pipelines.standardize import standardize
from pipelines.validate import (DUPLICATED, MAX_FIELD_CHARS, REJECTED_SCHEMA, approximate_lines, dates_in_order, delivery_ranks, in_headers, keep_latest, mask_value,
                                old_id_lines, older_versions, parse_date, rejected_files, set_aside_future_dates, stand_ins,
                                supersede, tens_date, to_person_records, validate)
from schemas.inputs import EXTRACT_MODELS, PersonRecord, Rejected

CFG = load_config()


def settlements(**cols) -> pl.DataFrame:
    """A standardised med_settlement frame of n rows; defaults make every row valid."""
    n = len(next(iter(cols.values())))
    base = {
        "record_id": [f"JS{i}" for i in range(n)],
        "name": ["张*"] * n,
        "id_raw": ["341302********123X"] * n,
        "settle_date": ["2026-10-05"] * n,
        "out_of_pocket": ["10"] * n,
        "line": list(range(2, n + 2)),
    }
    spec = CFG.kinds["med_settlement"]
    raw = pl.DataFrame(base | cols, schema={k: pl.Int64 if k == "line" else pl.String for k in base | cols})
    return standardize(raw.rename({f: spec.fields[f][0] for f in raw.columns if f != "line"}), spec)


def run(df, kind="med_settlement", dept="医保", file="医保/a.csv"):
    valid, rejected = validate(df, CFG.kinds[kind], dept, file)
    EXTRACT_MODELS[kind].validate(valid)
    Rejected.validate(rejected)
    return valid, rejected


@pytest.mark.parametrize(
    "text",
    ["2026-10-05", "2026/10/5", "20261005", "2026年10月5日", "46300", "2026-10-05 13:45:00", "２０２６-10-05", "2026.10.5",
     "2026年10月5日 9时30分", "2026/10/5 9点", "2026–10–05", "2026—10—05", "2026-10-05T09:30",
     "2026年10月5号", "2026 年 10 月 5 日", "2026年10月5号 13:45",
     # the time written straight after 日, as 时 and 分 are (set aside as an unparseable date before)
     "2026年10月5日9时30分", "2026年10月5日09时", "2026年10月5号13:45",
     # an Excel serial with a time of day (a date-time cell saved as a number): the day it falls on
     "46300.5", "46300.99",
     # a CSV saved from cells in Excel's or WPS's Chinese date formats holds the date as shown: with
     # its weekday, a time of the morning or afternoon, in Chinese numerals (set aside before)
     "2026年10月5日星期一", "2026年10月5日 星期一", "2026-10-05（周一）", "2026/10/5 下午 3:30:00", "2026/10/5 上午9:30",
     "2026年10月5日 下午3时30分", "二〇二六年十月五日", "二〇二六年十月五日星期一", "二零二六年十月五日"],
)
def test_date_formats(text):
    valid, rejected = run(settlements(settle_date=[text]))
    assert rejected.height == 0
    assert valid["settle_date"].to_list() == [date(2026, 10, 5)]


@pytest.mark.parametrize("dates,order,read", [
    # a day over 12 fixes the column's order: month first (a US export), or day first
    (["10/5/2026", "10/25/2026", "9/9/2026 9:30"], "M/D/Y", [date(2026, 10, 5), date(2026, 10, 25), date(2026, 9, 9)]),
    (["10/5/2026", "25.10.2026", "５/１０/２０２６"], "D/M/Y", [date(2026, 5, 10), date(2026, 10, 25), date(2026, 10, 5)]),
])
def test_dates_with_the_year_last_are_read_in_the_order_a_day_over_12_in_their_column_tells(dates, order, read):
    """`10/5/2026` (a system set to another locale) was set aside as an unparseable date, every
    such record back to the department. A day over 12 in one of the column's dates tells which
    number is the month for the whole column; the file is told which line fixed it."""
    df, said = dates_in_order(settlements(settle_date=dates), CFG.kinds["med_settlement"])
    assert said == {"settle_date": (order, 3, dates[1])}
    valid, rejected = run(df)
    assert valid["settle_date"].to_list() == read and rejected.is_empty()


def test_dates_with_the_year_last_whose_column_tells_no_order_are_set_aside_saying_so():
    """No day over 12 in the column (or both orders in it): 10/5/2026 may be 5 October or 10 May,
    not guessed. A date whose numbers are equal, or one over 12, says its own order and is read."""
    spec = CFG.kinds["med_settlement"]
    for dates in (["10/5/2026", "5/5/2026", "2026-10-06"], ["10/5/2026", "5/5/2026", "25/10/2026", "10/26/2026"]):
        df, said = dates_in_order(settlements(settle_date=dates), spec)
        assert said == {}
        valid, rejected = run(df)
        assert valid["settle_date"].to_list()[:2] == [date(2026, 5, 5), date(2026, 10, 6) if len(dates) == 3 else date(2026, 10, 25)]
        assert rejected["line"].to_list() == [2] and rejected["reason"][0].startswith("settle_date 月、日顺序不明：不知'10/5/2026'是")


def test_a_date_with_a_two_digit_year_is_set_aside_asking_for_the_year_in_full():
    """10/5/26 (a US Excel's short date) or 26.10.05: which number is the year, and which century,
    is not guessed; the reason, read by the department, said only 'unparseable' and now asks for
    the year in four digits. A date of four-digit year, and other bad text, say as before."""
    valid, rejected = run(settlements(settle_date=["10/5/26", "26.10.05", "2026-13-45", "2026-10-05"]))
    assert valid["settle_date"].to_list() == [date(2026, 10, 5)]
    short = "（年份只有两位，看不出哪个数是年，请写四位年份"
    assert [(r["line"], short in r["reason"]) for r in rejected.iter_rows(named=True)] == [(2, True), (3, True), (4, False)]
    assert rejected["reason"][0].startswith("settle_date 日期无法解析 unparseable date: '10/5/26'（")


def test_chinese_numeral_dates_read_every_day_of_the_month():
    """二〇二六年十月五日 (Excel's and WPS's Chinese numeral date format, as a CSV saved from it holds
    it): 十 alone, before a digit, after one, between two."""
    days = ["一", "九", "十", "十一", "十九", "二十", "二十一", "三十", "三十一"]
    valid, rejected = run(settlements(settle_date=[f"二〇二六年十月{d}日" for d in days]
                                      + ["二〇二六年十二月三十一日", "二〇二六年一月一日"]))
    assert rejected.height == 0
    assert [d.day for d in valid["settle_date"][:9]] == [1, 9, 10, 11, 19, 20, 21, 30, 31]
    assert valid["settle_date"][9:].to_list() == [date(2026, 12, 31), date(2026, 1, 1)]
    _, rejected = run(settlements(settle_date=["二〇二六年十月三十二日", "十月五日星期八"]))
    assert rejected.height == 2


def test_a_day_written_hao_as_it_is_said_in_a_township_answer():
    """A clerk types 核实日期 as it is said, 11月3号 (with or without its year): the day is 3."""
    from pipelines.validate import parse_date
    df = pl.DataFrame({"d": ["11月3号", "2026年11月3号", "12月28号", "11 月 3 日", "11月3日9时", "11月3日 9:30", "11.3 9:30"]})
    got = df.select(parse_date("d", date(2027, 1, 31))).to_series().to_list()
    assert got == [date(2026, 11, 3), date(2026, 11, 3), date(2026, 12, 28)] + [date(2026, 11, 3)] * 4  # (a time after it too)


def test_only_what_excel_leaves_of_a_date_typed_on_the_10th_20th_or_30th_is_read_so():
    """`11.10` typed is the number 11.1 (`EXCEL_TENS`): read as the 10th, 9.3 the 30th. A month
    with a leading zero (01.1), no month (13.1), 11.01, 11.4 or full-width digits are no number
    Excel writes so: no 10th is read from them."""
    df = pl.DataFrame({"d": ["11.1", "9.3", "12.2", "01.1", "13.1", "11.01", "11.4", "１１.１"]})
    assert df.select(tens_date("d", date(2027, 1, 30))).to_series().to_list() == [
        date(2026, 11, 10), date(2026, 9, 30), date(2026, 12, 20), None, None, None, None, None]


def test_a_month_and_day_typed_into_a_date_cell_is_read_as_typed_in_an_answer():
    """`10.15` typed into a cell formatted as a date is the number 10.15 to Excel, shown as 1900年1月10日
    with the decimals as the time: the workbook reads `1900-01-10 03:36:00`, and the answer was
    returned as dated before its list. In an answer it is 10月15日 (10.1: the 1st, or the 10th as any
    10.1 is); a 1900 date without that time, or in an extract, is what it says."""
    from pipelines.validate import parse_date
    df = pl.DataFrame({"d": ["1900-01-10 03:36:00", "1900-01-10 12:00:00", "1900-01-10 02:24:00", "1900-01-09 01:12:00",
                             "1900-01-10 00:00:00", "1900-01-10"]})
    assert df.select(parse_date("d", date(2026, 12, 7))).to_series().to_list() == [
        date(2026, 10, 15), date(2026, 10, 5), date(2026, 10, 1), date(2026, 9, 5), date(1900, 1, 10), date(1900, 1, 10)]
    assert df.select(tens_date("d", date(2026, 12, 7))).to_series().to_list() == [None, None, date(2026, 10, 10)] + [None] * 3
    assert df.select(parse_date("d")).to_series().to_list() == [date(1900, 1, 10)] * 3 + [date(1900, 1, 9)] + [date(1900, 1, 10)] * 2


def test_an_answers_date_is_read_by_one_tree_of_expressions_not_copies_of_it():
    """Each reading of a 核实日期 reads its text worked out once (`_let`): built so, the tree of
    `parse_date` was 119 KB, copies of the text it reads evaluated one by one (~0.1 s a file of
    one row, twice: value and flag). A long number, which no reading takes, is no date, not an error."""
    from pipelines.validate import parse_date
    assert len(str(parse_date("d", date(2026, 12, 7)))) < 15_000
    assert len(str(tens_date("d", date(2026, 12, 7)))) < 5_000
    # (so are an amount's and a count's: the number, its unit, its scale; 6 and 19 KB before)
    from pipelines.validate import parse_float, parse_int
    assert len(str(parse_float("d"))) < 2_000 and len(str(parse_int("d"))) < 2_000
    df = pl.DataFrame({"d": ["1.5万元", "3个月", "3.5", "-", "1e999", None]})
    assert df.select(parse_float("d"), i=parse_int("d")).rows() == [
        (15000.0, 15000), (3.0, 3), (3.5, None), (0.0, 0), (None, None), (None, None)]
    df = pl.DataFrame({"d": ["20261005202610052026", "46300", "1900-01-10 03:36:00"]})
    assert df.select(parse_date("d", date(2026, 12, 7))).to_series().to_list() == [None, date(2026, 10, 5), date(2026, 10, 15)]


def test_a_month_without_its_day_is_its_first_day_in_an_extract_not_in_an_answer():
    """A ledger's 解决日期 or a benefit's 变动日期 written by the month (2026年10月, 2026-10, 202610)
    was no date: an empty 解决日期 is a problem unsolved (W1 warned a whole village). In an
    extract it is the month's first day; in an answer (核实日期, `latest` given) still no date."""
    from pipelines.validate import parse_date
    df = pl.DataFrame({"d": ["2026年10月", "2026-10", "2026.10", "202610", "2026/10", "2026 年 10 月", "261005", "2026-13"]})
    assert df.select(parse_date("d")).to_series().to_list() == [date(2026, 10, 1)] * 6 + [None, None]
    assert df.select(parse_date("d", date(2026, 12, 31))).to_series().null_count() == df.height
    valid, rejected = run(settlements(settle_date=["2026年10月"]))
    assert rejected.height == 0 and valid["settle_date"].to_list() == [date(2026, 10, 1)]


@pytest.mark.parametrize(
    "text,expect", [("1,234.50", 1234.5), ("1,234.50元", 1234.5), ("１２３", 123.0), (" 7 ", 7.0), ("¥5", 5.0),
                    ("1.5万", 15000.0), ("2万元", 20000.0), ("0.35 万元", 3500.0),
                    ("1.2E+05", 120000.0)]  # (Excel's display of a large amount in a narrow General column)
)
def test_amount_formats(text, expect):
    valid, rejected = run(settlements(out_of_pocket=[text]))
    assert rejected.height == 0 and valid["out_of_pocket"].to_list() == [expect]


@pytest.mark.parametrize("text,expect", [("0.57万", 5700.0), ("0.57万元", 5700.0), ("1.1亿", 110_000_000.0)])
def test_an_amount_written_in_wan_is_the_yuan_it_says_not_a_binary_fraction_short(text, expect):
    """0.57万 is 5,700 元, as 0.57 under a 损失金额（万元） header reads (`standardize`); 0.57 x 10,000
    in binary floating point is 5,699.999999999999, under a threshold or share of exactly 5,700
    (A1's 30% of a household's 19,000 元, E2's): no warning."""
    valid, rejected = run(settlements(out_of_pocket=[text]))
    assert rejected.height == 0 and valid["out_of_pocket"].to_list() == [expect]


def test_a_dash_is_an_amount_of_0_and_no_date():
    """Excel's accounting format shows 0 as ` -  ` (`¥ -`) and a CSV saved from it keeps that;
    people write — for "none". An amount that is only a dash is 0, a date that is only one is
    empty (a required date: missing, not unparseable); a negative amount stays negative."""
    n = 7
    valid, rejected = run(settlements(
        out_of_pocket=["-", " -   ", "¥ -", "—", "－－", "-5", "5"], critical_pay=["—"] * n,
        admit_date=["-"] * n, settle_date=["2026-10-05"] * (n - 1) + ["—"]))
    assert valid["out_of_pocket"].to_list() == [0.0] * 5 and valid["critical_pay"].to_list() == [0.0] * 5
    assert valid["admit_date"].null_count() == 5
    assert rejected.sort("line").select("line", "field").rows() == [(7, "out_of_pocket"), (8, "settle_date")]
    reasons = rejected.sort("line")["reason"].to_list()
    assert "negative" in reasons[0] and "missing" in reasons[1]


def test_an_amount_said_to_be_about_so_much_is_that_amount_and_a_range_is_set_aside_saying_so():
    """约500 was set aside as an unparseable number (its 医保 record back to the department, its
    sum short), 500左右 read as 500 with nothing said. Both are read as the number written, the
    lines named (`approximate_lines`, for the file's note: the figure is not exact); a range
    (500-600, 500至600元) is no one amount: set aside asking for the exact figure, not guessed."""
    amounts = ["约500", "500左右", "大约5千元", "1.2万元左右", "5千多", "500余元", "500", "-3", "500-600", "500至600元", "1,000~2,000"]
    df = settlements(out_of_pocket=amounts)
    assert approximate_lines(df, CFG.kinds["med_settlement"]) == {"out_of_pocket": [2, 3, 4, 5, 6, 7]}
    valid, rejected = run(df)
    assert valid["out_of_pocket"].to_list() == [500.0, 500.0, 5000.0, 12000.0, 5000.0, 500.0, 500.0]
    assert rejected["line"].to_list() == [9, 10, 11, 12]
    assert rejected["reason"].to_list()[1:] == [
        f"out_of_pocket 数值为区间，不是一个确切的数: '{v}'（请填写确切数值） a range, not one number: '{v}': give the exact figure"
        for v in ("500-600", "500至600元", "1,000~2,000")]


def test_an_amount_written_as_none_is_empty_as_such_a_date_is():
    """People write 无 (暂无, /) in an amount cell with nothing in it, as they write it in a date
    cell with no date: a settlement whose 大病保险支付 said 无 was set aside as an unparseable
    number (its 个人自付 lost to M1). It is empty, as such a date is: a required amount so written
    is missing; a word that is no such answer (不详) is still unparseable."""
    n = 6
    valid, rejected = run(settlements(critical_pay=["无", "暂无", "/", " 无 ", "\\", "不详"], out_of_pocket=["无"] + ["10"] * (n - 1)))
    assert valid["critical_pay"].to_list() == [None] * 4 and valid["out_of_pocket"].to_list() == [10.0] * 4
    assert rejected.sort("line").select("line", "field", "value").rows() == [(2, "out_of_pocket", "无"), (7, "critical_pay", "不详")]
    assert "missing" in rejected.sort("line")["reason"][0] and "unparseable" in rejected.sort("line")["reason"][1]


def test_a_date_written_as_not_yet_is_no_date():
    """A ledger writes 未解决 (or 无, /, 暂无) in 解决日期 where the SPEC leaves it empty: that work
    order was set aside as an unparseable date, and W1 warned no one of an unresolved problem. It
    is an empty date (unresolved); a word that is no such answer (不详) is still set aside."""
    raw = pl.DataFrame({"工单编号": [f"GS{i}" for i in range(7)], "乡（镇）": ["大店镇"] * 7, "行政村": ["韩湖村"] * 7,
                        "问题类型": ["有管无水"] * 7, "发现日期": ["2026-10-03"] * 7,
                        "解决日期": ["未解决", "无", "/", "暂无", " 未完成 ", "2026-10-09", "不详"], "line": list(range(2, 9))})
    valid, rejected = run(standardize(raw, CFG.kinds["water"]), "water", "水利", "水利/台账.csv")
    assert valid["resolved_date"].to_list() == [None] * 5 + [date(2026, 10, 9)]
    assert rejected.select("line", "field", "value").rows() == [(8, "resolved_date", "不详")]


def test_bad_values_rejected_with_field_line_and_reason():
    df = settlements(
        settle_date=["2026-13-45", "2026-10-05", "2026-10-05", "2026-10-05", "2026-10-05"],
        out_of_pocket=["10", "-5", "abc", "10", "10"],
        visit_type=[None, None, None, "急诊", "住院"],
    )
    valid, rejected = run(df)
    assert valid["line"].to_list() == [6]
    got = {r["line"]: r for r in rejected.iter_rows(named=True)}
    assert set(got) == {2, 3, 4, 5}
    assert (got[2]["field"], got[2]["value"]) == ("settle_date", "2026-13-45")
    assert "unparseable date: '2026-13-45'" in got[2]["reason"]
    assert (got[3]["field"], got[3]["value"]) == ("out_of_pocket", "-5") and "negative" in got[3]["reason"]
    assert got[4]["field"] == "out_of_pocket" and "unparseable number" in got[4]["reason"]
    assert (got[5]["field"], got[5]["value"]) == ("visit_type", "急诊") and "unknown code" in got[5]["reason"]
    assert set(rejected["record_id"]) == {"JS0", "JS1", "JS2", "JS3"}
    assert set(rejected["dept"]) == {"医保"} and set(rejected["file"]) == {"医保/a.csv"}


def test_a_row_with_a_field_past_the_header_is_set_aside_whole():
    """`_extra` (adapters.inbox: a field past the header) means the row's values shifted, e.g.
    1,234.50 unquoted: its amounts cannot be trusted, whatever they parse to."""
    df = settlements(out_of_pocket=["1", "20"]).with_columns(_extra=pl.Series([None, "234.50"], dtype=pl.String))
    valid, rejected = run(df)
    assert valid["record_id"].to_list() == ["JS0"]
    assert rejected.select("line", "field", "value").rows() == [(3, "(整行 row)", "234.50")]
    assert "more fields than the header" in rejected["reason"][0]


def test_missing_record_id_and_several_reasons():
    valid, rejected = run(settlements(record_id=[None], settle_date=["x"]))
    assert valid.height == 0
    row = rejected.row(0, named=True)
    assert row["record_id"] is None and row["field"] == "record_id"  # first failing column
    assert "settle_date" in row["reason"] and "；" in row["reason"]


def test_codes_are_nfkc_and_trimmed():
    raw = pl.DataFrame(
        {"鉴定编号": ["JD1", "JD2"], "户主姓名": ["张三", "李四"], "鉴定等级": ["Ｃ", " E "], "改造状态": ["未 改造", "已改造"], "line": [2, 3]}
    )
    valid, rejected = run(standardize(raw, CFG.kinds["housing"]), "housing", "住建", "住建/x.csv")
    assert valid["grade"].to_list() == ["C"] and rejected["line"].to_list() == [3]
    assert valid["renovation"].to_list() == ["未改造"]


def test_a_record_number_marked_as_text_by_a_leading_apostrophe_is_the_number():
    """A system exports its 结算流水号 as `'JS1` so that Excel keeps it text; the 补报 of the same
    records comes without the mark. The apostrophe is no part of the number: read with it, each
    record of the two files counted twice in the year's sums (nothing superseded). As an ID's."""
    valid, _ = run(settlements(record_id=["'JS1", "‘JS2", " 'JS3 ", "JS'4"]))
    assert valid["record_id"].to_list() == ["JS1", "JS2", "JS3", "JS'4"]
    housing = standardize(pl.DataFrame({"鉴定编号": ["'JD1"], "户主姓名": ["张三"], "鉴定等级": ["C"], "改造状态": ["未改造"],
                                        "line": [2]}), CFG.kinds["housing"])
    assert run(housing, "housing", "住建", "住建/x.csv")[0]["record_id"].to_list() == ["JD1"]


def test_a_record_number_a_program_wrote_as_a_decimal_is_the_number():
    """A record number kept as a number and written out by a program as a decimal (2026100000205.0,
    pandas' way with a numeric column holding a blank) was another record than the same number in
    the workbook the correction came in (2026100000205): both counted. A number with other decimals
    stays as written."""
    valid, _ = run(settlements(record_id=["2026100000205.0", "2026100000206.00", "2026100000207", "12.5", "JS1.0"]))
    assert valid["record_id"].to_list() == ["2026100000205", "2026100000206", "2026100000207", "12.5", "JS1.0"]


def test_other_spellings_of_a_code_are_read_as_the_specs_and_others_still_set_aside():
    """`[kinds.<kind>.codes]`: C级 and a lower-case d are the grades C and D, 门诊慢性病 is 门诊慢特病
    (compared after NFKC, without spaces); a spelling no list holds is an unknown code, named.
    A config without the table (copied before it existed) reads codes as before."""
    raw = pl.DataFrame({"鉴定编号": ["JD1", "JD2", "JD3"], "户主姓名": ["张三", "李四", "王五"],
                        "鉴定等级": ["C级", " d ", "危房"], "改造状态": ["未改造"] * 3, "line": [2, 3, 4]})
    valid, rejected = run(standardize(raw, CFG.kinds["housing"]), "housing", "住建", "住建/x.csv")
    assert valid["grade"].to_list() == ["C", "D"]
    assert rejected.select("line", "value").rows() == [(4, "危房")] and "unknown code" in rejected["reason"][0]
    valid, _ = run(settlements(visit_type=["门诊慢性病", "门 特", "住院", "门诊慢特病（高血压）", "门诊慢性病(糖尿病)"]))
    assert valid["visit_type"].to_list() == ["门诊慢特病", "门诊慢特病", "住院", "门诊慢特病", "门诊慢特病"]  # (a detail in brackets)
    # a cell ended with a full stop (a clerk's 属实。): the code (the fuzzed returns' finding)
    valid, _ = run(settlements(visit_type=["住院。", "住院.", "门诊慢特病（高血压）。", "住院，"]))
    assert valid["visit_type"].to_list() == ["住院", "住院", "门诊慢特病", "住院"]
    bare = replace(CFG.kinds["housing"], codes={})
    valid, rejected = validate(standardize(raw, bare), bare, "住建", "住建/x.csv")
    assert valid.is_empty() and rejected["line"].to_list() == [2, 3, 4]


def test_a_spelling_leading_to_a_value_the_spec_does_not_allow_is_a_configuration_error():
    """A `[kinds.<kind>.codes]` entry leading outside the field's list would set aside every row
    spelled so: the config refuses to load, naming it (the default config loads: CFG)."""
    import copy
    import tomllib

    from config import DEFAULT_CONFIG, build_config

    with pytest.raises(ValueError, match=r"kinds.housing.codes.grade: \['危'\] are not among its values"):
        load_config(None, ["kinds.housing.codes.grade.C级=危"])
    raw = copy.deepcopy(tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8")))
    raw["kinds"]["housing"]["codes"]["name"] = {"张三": "李四"}
    with pytest.raises(ValueError, match="kinds.housing.codes.name: not a field with a list of values"):
        build_config(raw)


def test_a_value_the_bureau_allows_besides_the_specs_list_is_kept_as_written():
    """`[kinds.<kind>.values]`: a pastoral county's 雪灾 (no SPEC 灾害类型) was set aside as an unknown
    code and its A1 lost. Allowed, it is kept as written (a detail in brackets aside), another
    spelling may lead to it (白灾 -> 雪灾), and what neither list holds is still set aside; a field
    without a list of values cannot be given one."""
    raw = pl.DataFrame({"报案编号": ["BA1", "BA2", "BA3", "BA4"], "户主姓名": ["巴特尔"] * 4,
                        "灾害类型": ["雪灾", "雪 灾（白灾）", "白灾", "陨石"], "损失金额（元）": ["50000"] * 4,
                        "line": [2, 3, 4, 5]})
    spec = CFG.kinds["agri"]
    valid, rejected = validate(standardize(raw, spec), spec, "农业农村", "农业农村/x.csv")
    assert valid.is_empty() and rejected["line"].to_list() == [2, 3, 4, 5]
    import copy
    import tomllib

    from config import DEFAULT_CONFIG, build_config

    default = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    raw_cfg = copy.deepcopy(default)
    raw_cfg["kinds"]["agri"]["codes"]["disaster_type"]["白灾"] = "雪灾"
    with pytest.raises(ValueError, match=r"kinds.agri.codes.disaster_type: \['雪灾'\] are not among its values"):
        build_config(raw_cfg)
    raw_cfg["kinds"]["agri"]["values"]["disaster_type"] = ["雪灾"]
    spec = build_config(raw_cfg).kinds["agri"]
    valid, rejected = validate(standardize(raw, spec), spec, "农业农村", "农业农村/x.csv")
    assert valid["disaster_type"].to_list() == ["雪灾"] * 3
    assert rejected.select("line", "value").rows() == [(5, "陨石")] and "unknown code" in rejected["reason"][0]
    raw_cfg["kinds"]["agri"]["values"]["name"] = ["巴特尔"]
    with pytest.raises(ValueError, match="kinds.agri.values.name: not a field with a list of values"):
        build_config(raw_cfg)


def test_required_values_empty_under_lines_that_have_them_suggest_merged_cells_saved_as_csv():
    """A grid saved as CSV from a sheet whose 网格编号 and 网格员 were merged over their households:
    rows with only 户编号 say what probably happened and what to do; one value missing alone does not."""
    spec = CFG.kinds["grid"]
    raw = pl.DataFrame({"网格编号": ["G1", None, None, "G2"], "网格员": ["张网", None, None, None],
                        "户编号": ["H1", "H2", "H3", "H4"], "line": [2, 3, 4, 5]})
    valid, rejected = validate(standardize(raw, spec), spec, "网格", "网格/g.csv")
    reasons = dict(zip(rejected["line"], rejected["reason"]))
    assert valid["household_id"].to_list() == ["H1"] and sorted(reasons) == [3, 4, 5]
    assert all("合并单元格另存为CSV" in reasons[n] for n in (3, 4)) and "合并" not in reasons[5]
    # values missing from the first rows on (none above them to have been merged) are only missing
    top = raw.with_columns(网格编号=pl.Series([None, None, "G1", "G2"]), 网格员=pl.Series([None, None, "张网", "李网"]))
    valid, rejected = validate(standardize(top, spec), spec, "网格", "网格/g.csv")
    assert rejected["line"].to_list() == [2, 3] and not rejected["reason"].str.contains("合并").any()


def test_integers():
    raw = pl.DataFrame(
        {"记录编号": ["R1", "R2", "R3"], "姓名": ["a", "b", "c"], "事件类型": ["失业登记"] * 3,
         "连续未缴费月数": ["3", "3.0", "3.5"], "line": [2, 3, 4]}
    )
    valid, rejected = run(standardize(raw, CFG.kinds["hr"]), "hr", "人社", "人社/x.csv")
    assert valid["months_unpaid"].to_list() == [3, 3]
    assert rejected.select("line", "field").row(0) == (4, "months_unpaid")
    assert "unparseable integer" in rejected["reason"][0]


def test_roster_bad_id_rejected_and_masked():
    raw = pl.DataFrame(
        {
            "乡（镇）": ["大店镇"] * 3, "行政村": ["韩湖村"] * 3, "户编号": ["H1"] * 3,
            "人编号": ["H1-01", "H1-02", "H1-03"], "姓名": ["甲", "乙", "丙"],
            # (a leading apostrophe as typed, also the curly one an input method gives)
            "证件号码": ["'341302196201112734", "3413021962011127345", "‘34130219620111273x"],
            "家庭人口数": ["3", "3", "3"], "年人均纯收入（元）": ["8,596", "8596", "8596"], "line": [2, 3, 4],
        }
    )
    valid, rejected = run(standardize(raw, CFG.kinds["roster"]), "roster", "户籍底册", "户籍底册/r.csv")
    assert valid["id_number"].to_list() == ["341302196201112734", "34130219620111273X"]
    assert valid["income_per_capita"].to_list() == [8596.0, 8596.0]
    row = rejected.row(0, named=True)
    assert (row["line"], row["record_id"], row["field"]) == (3, "H1-02", "id_number")
    assert row["value"] == "341302*********7345" and "3413021962011127345" not in row["reason"]


def test_a_roster_id_excel_destroyed_sets_its_person_aside_saying_so():
    """A roster 身份证号 saved through Excel — `3.41302E+17`, or kept to 15 digits and zero-filled
    (`341302196201112000`, failing its check character) — is no one's ID any more: the person is
    set aside naming Excel (the zero-filled one was kept, linked no record, and M4 warned its
    household as absent from the 参保名单; the other was set aside as "should have 18
    characters"). An ID ending in 000 that holds its check character stays (real IDs do: sequence
    x00, check 0) unless the table shows two or more that fail it."""
    raw = pl.DataFrame({"乡（镇）": ["大店镇"] * 4, "行政村": ["韩湖村"] * 4, "户编号": ["H1"] * 4,
                        "人编号": ["H1-01", "H1-02", "H1-03", "H1-04"], "姓名": ["甲", "乙", "丙", "丁"],
                        "证件号码": ["3.41302E+17", "341302196201112000", "341302196201112734", "341302199001011000"],
                        "line": [2, 3, 4, 5]})
    valid, rejected = run(standardize(raw, CFG.kinds["roster"]), "roster", "户籍底册", "户籍底册/r.csv")
    assert valid["person_id"].to_list() == ["H1-03", "H1-04"]
    assert rejected.select("line", "field").rows() == [(2, "id_number"), (3, "id_number")]
    assert all("destroyed by Excel" in r for r in rejected["reason"])
    assert "341302196201112000" not in "".join(rejected["reason"]) + "".join(rejected["value"])
    # two or more failing show the column went through Excel: a zero-filled one holding its check
    # character does so by chance (1 in 11; kept, M4 called 97 of them uninsured), set aside too
    raw = raw.with_columns(证件号码=pl.Series(["342201194806178000", "341302196201112000", "341302196201112734",
                                                "341302199001011000"]))
    valid, rejected = run(standardize(raw, CFG.kinds["roster"]), "roster", "户籍底册", "户籍底册/r.csv")
    assert valid["person_id"].to_list() == ["H1-03"] and rejected["line"].to_list() == [2, 3, 5]
    assert all("destroyed by Excel" in r for r in rejected["reason"])
    # not when more of them hold it than fail: a city's roster holds hundreds of real IDs ending in
    # 000, and two slips among them would have set every one of those persons aside
    real = [f"{i}0" for i in (f"3413021990{m:02d}{d:02d}100" for m in range(1, 13) for d in range(1, 29))
            if check_char(i) == "0"][:3]
    raw = pl.DataFrame({"乡（镇）": ["大店镇"] * 5, "行政村": ["韩湖村"] * 5, "户编号": ["H1"] * 5,
                        "人编号": [f"H1-0{k}" for k in range(1, 6)], "姓名": list("甲乙丙丁戊"),
                        "证件号码": ["342201194806178000", "341302196201112000", *real], "line": [2, 3, 4, 5, 6]})
    valid, rejected = run(standardize(raw, CFG.kinds["roster"]), "roster", "户籍底册", "户籍底册/r.csv")
    assert len(real) == 3 and valid["person_id"].to_list() == ["H1-03", "H1-04", "H1-05"]
    assert rejected["line"].to_list() == [2, 3]


def test_a_roster_head_written_with_spaces_or_as_户主本人_is_the_head():
    """与户主关系 padded to line up in Excel (`户 主`, `户　主`) or written 户主本人, as exports of the
    national system do: every such household was named without a head (the lists' 户主姓名 taken
    from another member, 住建's and 农业农村's 户主 weighed as a member's)."""
    rel = ["户 主", "户　主", " 户主本人 ", "配 偶"]
    raw = pl.DataFrame({"乡（镇）": ["大店镇"] * 4, "行政村": ["韩湖村"] * 4, "户编号": ["H1", "H2", "H3", "H3"],
                        "人编号": ["H1-01", "H2-01", "H3-01", "H3-02"], "姓名": ["甲", "乙", "丙", "丁"],
                        "证件号码": ["341302196201112734"] * 4, "与户主关系": rel, "line": [2, 3, 4, 5]})
    valid, rejected = run(standardize(raw, CFG.kinds["roster"]), "roster", "户籍底册", "户籍底册/r.csv")
    assert rejected.is_empty() and valid["relation"].to_list() == ["户主", "户主", "户主本人", "配偶"]
    assert households_without_head(valid, CFG.matching.head_relations).is_empty()


def test_a_bad_value_of_an_optional_roster_field_is_left_empty_and_the_person_kept():
    """家庭人口数 `未知` or `/` on members' rows, 年人均纯收入 `暂无`: the person stays on the roster
    (set aside, no record could reach them, and a 户主 set aside left the household without one);
    the cells are told back. A person failing on a required field too stays set aside, with every reason."""
    raw = pl.DataFrame({
        "乡（镇）": ["大店镇"] * 4, "行政村": ["韩湖村"] * 4, "户编号": ["H1"] * 4,
        "人编号": ["H1-01", "H1-02", "H1-03", "H1-04"], "姓名": ["甲", "乙", "丙", "丁"],
        "证件号码": ["341302196201112734", "341302196201112734", "3413021962011127", "341302196201112734"],
        "家庭人口数": ["4", "/", "未知", "0"], "年人均纯收入（元）": ["8,596", "暂无", "8596", "-5"], "line": [2, 3, 4, 5],
    })
    spec = CFG.kinds["roster"]
    blanked = []
    valid, rejected = validate(standardize(raw, spec), spec, "户籍底册", "户籍底册/r.csv", blanked=blanked)
    assert valid["person_id"].to_list() == ["H1-01", "H1-02", "H1-04"]
    assert valid["household_size"].to_list() == [4, None, None]
    assert valid["income_per_capita"].to_list() == [8596.0, None, None]
    assert rejected.select("line", "field").rows() == [(4, "id_number")]
    assert "household_size" in rejected["reason"][0]  # (its other faults named with it)
    cells = pl.concat(blanked)
    Rejected.validate(cells.with_columns(line=pl.col("line")))
    assert cells.select("line", "field", "value").rows() == [
        (3, "household_size", "/"), (3, "income_per_capita", "暂无"), (5, "household_size", "0"),
        (5, "income_per_capita", "-5")]
    assert cells["reason"].to_list() == ["整数无法解析 unparseable integer: '/'", "数值无法解析 unparseable number: '暂无'",
                                         "数值应不小于1 must be at least 1: '0'", "数值不能为负 negative value: '-5'"]
    # a cell holding an ID number (a column shifted) is told back masked, as every value set aside is
    blanked = []
    shifted = raw.head(1).with_columns(家庭人口数=pl.lit("341302196201112734X"))
    validate(standardize(shifted, spec), spec, "户籍底册", "户籍底册/r.csv", blanked=blanked)
    assert blanked[0]["value"].to_list() == ["341302*********734X"] and "196201112" not in blanked[0]["reason"][0]
    # department extracts keep the SPEC's rule: a bad amount sets the row aside
    valid, rejected = run(settlements(out_of_pocket=["暂无"]))
    assert valid.is_empty() and rejected["field"].to_list() == ["out_of_pocket"]


def test_a_config_copied_before_blank_unreadable_existed_takes_the_defaults(tmp_path):
    text = (Path(__file__).parents[1] / "config" / "default.toml").read_text(encoding="utf-8")
    old = tmp_path / "county.toml"
    old.write_text(re.sub(r"(?ms)^blank_unreadable = \[.*?\]\n", "", text), encoding="utf-8")
    assert "blank_unreadable" not in old.read_text(encoding="utf-8")
    assert load_config(str(old)).kinds["roster"].blank_unreadable == CFG.kinds["roster"].blank_unreadable
    assert "household_size" in CFG.kinds["roster"].blank_unreadable
    # ... and one copied before snapshot_year existed reads 参保名单's 参保年度 all the same
    old.write_text(text.replace('snapshot_year = "year"\n', ""), encoding="utf-8")
    assert "snapshot_year" not in old.read_text(encoding="utf-8")
    assert load_config(str(old)).kinds["med_enrollment"].snapshot_year == "year"


def test_roster_duplicated_person_id_rejected():
    raw = pl.DataFrame(
        {"乡镇": ["大店镇"] * 3, "村": ["韩湖村"] * 3, "户号": ["H1"] * 3, "人编号": ["P1", "P1", "P2"],
         "姓名": ["甲", "乙", "丙"], "身份证号": ["341302196201112734"] * 3, "line": [2, 3, 4]}
    )
    std = standardize(raw, CFG.kinds["roster"])
    valid, rejected = run(std, "roster", "户籍底册", "户籍底册/r.csv")
    assert valid["person_id"].to_list() == ["P2"]
    assert rejected["line"].to_list() == [2, 3] and set(rejected["field"]) == {"person_id"}
    assert "duplicated" in rejected["reason"][0]
    # two persons under one 人编号, not one delivered twice: both stay set aside, neither supersedes the other
    assert stand_ins(std, rejected, CFG.kinds["roster"], "户籍底册", "户籍底册/r.csv").is_empty()


def test_a_roster_row_said_twice_word_for_word_is_one_person_kept_once():
    """A roster merged from two township exports, or a row pasted twice: the same person on two
    identical rows. Both were set aside as two persons under one 人编号, and the person was lost
    from the roster (no record could reach them, their household lost a member). Identical rows
    are one delivery said twice: validated, then one kept (`keep_latest`, listed as delivered again
    unchanged); rows of one 人编号 that differ anywhere still both stay set aside."""
    raw = pl.DataFrame(
        {"乡镇": ["大店镇"] * 5, "村": ["韩湖村"] * 5, "户号": ["H1"] * 5, "人编号": ["P1", "P1", "P2", "P3", "P3"],
         "姓名": ["甲", "甲", "丙", "丁", "戊"], "身份证号": ["341302196201112734"] * 5, "line": [2, 3, 4, 5, 6]}
    )
    std = standardize(raw, CFG.kinds["roster"])
    valid, rejected = validate(std, CFG.kinds["roster"], "户籍底册", "户籍底册/r.csv")
    assert valid["person_id"].to_list() == ["P1", "P1", "P2"] and rejected["line"].to_list() == [5, 6]
    latest, _, superseded = keep_latest({"roster": [valid]}, rejected, {"户籍底册/r.csv": 0}, CFG)
    assert EXTRACT_MODELS["roster"].validate(latest["roster"])["person_id"].to_list() == ["P1", "P2"]
    assert superseded.select("line", "changed").rows() == [(2, False)]


def test_one_人编号_two_files_give_to_different_persons_is_two_persons_set_aside_not_a_correction():
    """A roster delivered one file per township, each numbering its persons from 00001: the last
    file's 00001 "replaced" every other township's 00001 — another person (another 证件号码 and
    姓名) taken for a correction, 9 of 10 townships' persons lost and said as 更正记录. Such a
    number is set aside in every file, as two persons under one 人编号 in one table are, saying
    so; a person corrected in a later file (same 证件号码, or same 姓名) is still the later row."""
    def roster(file, pids, names, ids):
        raw = pl.DataFrame({"乡镇": ["大店镇"] * len(pids), "村": ["韩湖村"] * len(pids), "户号": ["H1"] * len(pids),
                            "人编号": pids, "姓名": names, "身份证号": ids, "line": list(range(2, len(pids) + 2))})
        valid, rejected = validate(standardize(raw, CFG.kinds["roster"]), CFG.kinds["roster"], "户籍底册", file)
        assert rejected.is_empty()
        return valid
    a = roster("户籍底册/大店镇.csv", ["00001", "00002", "00003"], ["甲", "乙", "丙"],
               ["341302196201112734", "34130219620111273X", "341302196201112718"])
    b = roster("户籍底册/褚兰乡.csv", ["00001", "00002", "00003"], ["丁", "乙", "丙丙"],
               ["341302199001011236", "341302196201112726", "341302196201112718"])
    latest, rejected, superseded = keep_latest({"roster": [a, b]}, pl.DataFrame(schema=REJECTED_SCHEMA),
                                               {"户籍底册/大店镇.csv": 0, "户籍底册/褚兰乡.csv": 1}, CFG)
    assert latest["roster"].select("person_id", "name").rows() == [("00002", "乙"), ("00003", "丙丙")]
    assert rejected.select("file", "line", "record_id", "field").rows() == [
        ("户籍底册/大店镇.csv", 2, "00001", "person_id"), ("户籍底册/褚兰乡.csv", 2, "00001", "person_id")]
    assert all(DUPLICATED in r and "另一文件中同一编号下是另一人" in r for r in rejected["reason"])
    assert superseded["record_id"].to_list() == ["00002", "00003"]


def test_a_table_with_no_row_set_aside_reads_no_cell_for_its_stand_ins(monkeypatch):
    """`stand_ins` of a table `validate` set no row of aside is empty, as its columns say, without
    reading its cells again (every table of a run paid ~0.01 s for reading none)."""
    import pipelines.validate as v
    std = settlements(record_id=["JS1", "JS2"])
    valid, rejected = run(std)
    assert rejected.is_empty()
    want = stand_ins(std, rejected, CFG.kinds["med_settlement"], "医保", "医保/a.csv")

    def no(*_a, **_k):
        raise AssertionError("cells read for no row")
    monkeypatch.setattr(v, "_parsed", no)
    got = stand_ins(std, rejected, CFG.kinds["med_settlement"], "医保", "医保/a.csv")
    assert got.is_empty() and got.schema == want.schema


def test_a_number_excel_cut_to_15_digits_sets_its_row_aside():
    """A 结算流水号, 户编号 or 人编号 saved through Excel as `2.02610E+19` no longer says which
    record, household or person it was: the row is set aside naming the field (such rows were
    taken as one record delivered again, all but the last lost as superseded), and none of them
    stands in for a delivery of its record. A number written out in full stays."""
    std = settlements(record_id=["2.02610E+19", "2.02610E+19", "3.4E+17", "20261001000012345678", "1E5"])
    valid, rejected = run(std)
    assert valid["record_id"].to_list() == ["20261001000012345678", "1E5"]
    assert rejected["line"].to_list() == [2, 3, 4] and set(rejected["field"]) == {"record_id"}
    assert all("2.0261E+19" in r and "destroyed by Excel" in r for r in rejected["reason"])
    assert stand_ins(std, rejected, CFG.kinds["med_settlement"], "医保", "医保/a.csv").is_empty()
    # every kind alike (the check was first a pandera check, whose name only the first model
    # inheriting it kept: 人社's rows were set aside as "record_id check" and two of the three
    # taken as one record delivered again)
    hr = standardize(pl.DataFrame({"记录编号": ["2.0261E+19"] * 3 + ["RS1"], "姓名": ["甲"] * 4, "事件类型": ["失业登记"] * 4,
                                   "line": [2, 3, 4, 5]}), CFG.kinds["hr"])
    valid, rejected = run(hr, "hr", "人社", "人社/a.csv")
    assert valid["record_id"].to_list() == ["RS1"] and rejected["line"].to_list() == [2, 3, 4]
    assert all("destroyed by Excel" in r for r in rejected["reason"])
    assert stand_ins(hr, rejected, CFG.kinds["hr"], "人社", "人社/a.csv").is_empty()
    # read from numeric XLSX cells, numbers keep 15 digits and zeros: several rows sharing one
    # so are set aside too (they were one record delivered again); one alone stays
    std = settlements(record_id=["202610010000123000000", "202610010000123000000", "202610010000999000000", "JS1", "JS1"],
                      out_of_pocket=["1", "2", "3", "4", "5"])
    valid, rejected = run(std)
    assert valid["record_id"].to_list() == ["202610010000999000000", "JS1", "JS1"]
    assert rejected["line"].to_list() == [2, 3] and set(rejected["field"]) == {"record_id"}
    assert stand_ins(std, rejected, CFG.kinds["med_settlement"], "医保", "医保/a.csv").is_empty()
    # ... but an answer repeats a record on purpose, one row per candidate: such a number is kept
    answers = standardize(pl.DataFrame({"部门": ["医保"] * 2, "记录编号": ["202610010000123000000"] * 2, "人编号": ["P1", "P2"],
                                        "是否本人": ["是", "否"], "line": [2, 3]}), CFG.kinds["review_answer"])
    valid, rejected = run(answers, "review_answer", "复核", "复核/a.csv")
    assert rejected.is_empty() and valid["record_id"].to_list() == ["202610010000123000000"] * 2
    raw = pl.DataFrame({"乡镇": ["大店镇"] * 3, "村": ["韩湖村"] * 3, "户号": ["3.41302E+17", "3.41302E+17", "H2"],
                        "人编号": ["P1", "P2", "3.41302E+19"], "姓名": ["甲", "乙", "丙"],
                        "身份证号": ["341302196201112734"] * 3, "line": [2, 3, 4]})
    valid, rejected = run(standardize(raw, CFG.kinds["roster"]), "roster", "户籍底册", "户籍底册/r.csv")
    assert valid.is_empty()
    assert rejected.select("line", "field").rows() == [(2, "household_id"), (3, "household_id"), (4, "person_id")]
    # 人编号 kept to 15 digits and zeros, shared: the reason says Excel did it, not only "duplicated"
    raw = raw.with_columns(户号=pl.lit("H1"), 人编号=pl.Series(["341302101201000000", "341302101201000000", "P3"]))
    valid, rejected = run(standardize(raw, CFG.kinds["roster"]), "roster", "户籍底册", "户籍底册/r.csv")
    assert valid["person_id"].to_list() == ["P3"] and rejected["line"].to_list() == [2, 3]
    assert all("destroyed by Excel" in r for r in rejected["reason"])


def test_whitespace_only_value_is_missing_not_unparseable():
    valid, rejected = run(settlements(settle_date=["2026-10-05"], admit_date=["  "]))
    assert rejected.height == 0 and valid["admit_date"].to_list() == [None]


def test_disability_id_raw_is_cert_number_and_record_id_masked_in_rejections():
    raw = pl.DataFrame(
        {"残疾人证号": ["34222319570410315473", "34222319570410315474"], "姓名": ["郝*", "王*"],
         "残疾等级": ["三级", "五级"], "办证类型": ["新办", "新办"], "line": [2, 3]}
    )
    valid, rejected = run(standardize(raw, CFG.kinds["disability"]), "disability", "残联", "残联/d.csv")
    assert valid["id_raw"].to_list() == ["34222319570410315473"]
    assert rejected["record_id"].to_list() == ["342223**********5474"]



def test_a_17_digit_disability_certificate_is_an_id_masked_in_rejections():
    """A 残疾人证号 made from an old 15-digit ID (the old ID, type and level: 17 digits) is copied
    into id_raw as a 20-character one is, and masked where its row is set aside (it was echoed
    whole: its old ID stood before two digits, not alone)."""
    raw = pl.DataFrame(
        {"残疾人证号": ["34130276051527341", "34130276051527351"], "姓名": ["郝*", "王*"],
         "残疾等级": ["一级", "五级"], "办证类型": ["新办", "新办"], "line": [2, 3]}
    )
    valid, rejected = run(standardize(raw, CFG.kinds["disability"]), "disability", "残联", "残联/d.csv")
    assert valid["id_raw"].to_list() == ["34130276051527341"]
    assert rejected["record_id"].to_list() == ["341302*******7351"]
    assert mask_value("残疾人证号34130276051527341（换领）") == "残疾人证号3****************（换领）"

def test_mask_value():
    assert mask_value("341302196201112734", "id_raw") == "341302********2734"
    assert mask_value("3.41302E+17", "id_raw") == "3.4130*E+17"
    assert mask_value("JS2026100000001", "record_id") == "JS2026100000001"  # not ID-like
    # a record number with a long run of digits but no ID in it stays as sent, to be traced back
    assert mask_value("YB3413232026100002935", "record_id") == "YB3413232026100002935"
    assert mask_value("JD341324261000310", "record_id") == "JD341324261000310"
    # ... also one whose last 15 digits look like an old ID: they do not stand alone
    assert mask_value("YB2026341302620111273", "record_id") == "YB2026341302620111273"
    # one holding an ID (学籍号 G + ID, a mistyped one too; an old 15-digit ID) is masked
    assert mask_value("G341302201203154518", "record_id") == "G34130*********4518"
    assert mask_value("G341302201203154519", "record_id") == "G34130*********4519"
    assert mask_value("XJ341302120315451", "record_id") == "XJ3413*******5451"
    assert mask_value(None) is None
    # a NUL (a damaged file) is shown, not echoed as nothing
    assert mask_value("2026\x00-10-05", "settle_date") == "2026\\x00-10-05"
    # a value as long as the longest field (read, not set aside) is echoed whole; a longer one is cut short
    assert mask_value("张" * MAX_FIELD_CHARS, "name") == "张" * MAX_FIELD_CHARS
    assert mask_value("张" * (MAX_FIELD_CHARS + 1), "name") == "张" * 60 + f"…({MAX_FIELD_CHARS + 1}字符 chars)"


def ranks(*files: str, modified: list[datetime] | None = None) -> dict[str, int]:
    """`delivery_ranks` of files put in at the same second (or at `modified`)."""
    when = modified or [datetime(2026, 11, 2, 9, 0, 0)] * len(files)
    return delivery_ranks(pl.DataFrame({"file": files, "modified": when}), CFG.inbox.later_marks)


def test_supersede_keeps_last_delivery():
    rows = pl.DataFrame(
        {
            "dept": ["医保"] * 4, "kind": ["med_settlement"] * 4,
            "file": ["医保/b_补报.csv", "医保/a.csv", "医保/a.csv", "医保/b_补报.csv"],
            "line": [2, 3, 2, 3],
            "record_id": ["JS1", "JS1", "JS2", "JS3"],
            "out_of_pocket": [20.0, 10.0, 5.0, 1.0],
        }
    )
    latest, superseded = supersede(rows, ranks("医保/a.csv", "医保/b_补报.csv"))
    assert sorted(latest["record_id"]) == ["JS1", "JS2", "JS3"]
    assert latest.filter(pl.col("record_id") == "JS1")["out_of_pocket"].to_list() == [20.0]
    assert superseded.to_dicts() == [
        {"dept": "医保", "kind": "med_settlement", "file": "医保/a.csv", "line": 3, "record_id": "JS1",
         "superseded_by": "医保/b_补报.csv:2", "changed": True, "other_year": False, "other_person": False}
    ]


def test_a_record_replaced_by_another_persons_row_is_told_apart_from_a_correction():
    """Two 医保 files each numbering from 1 (JS1 of one file and of the other are two persons):
    the later replaced the earlier's, said as corrections. A replacement showing another ID and
    another name (masks aside: a kept digit or a shown character differs) is marked
    `other_person`; a corrected ID, a corrected name, a name's dropped character, a masked ID or
    name that may be the same, an empty one, are not."""
    pairs = [  # (earlier ID, name; later ID, name, other person?)
        ("341302********1234", "张*明", "341302********9999", "王五", True),
        ("341302199001011234", "张三", "341302199001019999", "李四", True),
        ("341302199001011234", "张三", "341302199001011234", "张叁", False),  # name corrected
        ("341302199001011234", "张三", "341302199001019999", "张三", False),  # ID corrected
        ("3413************34", "张明", "341302199001011234", "张晓明", False),  # a dropped character
        ("341302********1234", "张*", "341302199001011234", "张晓明", False),
        ("341302********1234", "张三", "", "李四", False),
    ]
    n = len(pairs)
    rows = pl.DataFrame({"dept": ["医保"] * 2 * n, "kind": ["med_settlement"] * 2 * n,
                         "file": ["医保/一.csv"] * n + ["医保/二.csv"] * n, "line": [*range(2, n + 2)] * 2,
                         "record_id": [str(i) for i in range(n)] * 2,
                         "id_raw": [p[0] for p in pairs] + [p[2] for p in pairs],
                         "name": [p[1] for p in pairs] + [p[3] for p in pairs]})
    _, superseded = supersede(rows, ranks("医保/一.csv", "医保/二.csv"))
    assert superseded.sort("line")["other_person"].to_list() == [p[4] for p in pairs]


def test_a_saved_again_copy_supersedes_its_original():
    """结算明细(1).csv / 结算明细 - 副本.csv are later than 结算明细.csv, though '(' and ' ' sort
    before '.': what the copy says wins (delivery_ranks)."""
    for copy in ("医保/结算明细(1).csv", "医保/结算明细 - 副本.csv", "医保/结算明细（2）.xlsx"):
        rows = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_settlement"] * 2, "file": [copy, "医保/结算明细.csv"],
                             "line": [2, 2], "record_id": ["JS1", "JS1"], "out_of_pocket": [99.0, 10.0]})
        latest, superseded = supersede(rows, ranks(copy, "医保/结算明细.csv"))
        assert latest["out_of_pocket"].to_list() == [99.0], copy
        assert superseded["file"].to_list() == ["医保/结算明细.csv"]


def test_files_are_ranked_as_put_in_a_correction_named_so_first():
    """The order files were put in: a name saying it came later (更正, 补报 …, a saved-again copy)
    after the others, whatever its time (a copied file's time is the copy's, a re-saved
    original's the editor's); then modification time to the second; then name. 更 (U+66F4) sorts
    before 第 (U+7B2C): by name alone the correction came first."""
    t = datetime(2026, 11, 2, 9, 0, 0)
    first, second, fix = "医保/结算明细_第一批.csv", "医保/结算明细_第二批.csv", "医保/结算明细_更正.csv"
    # a correction beats the file it corrects though its name sorts first and its time is older
    got = ranks(second, fix, first, modified=[t + timedelta(hours=1), t, t])
    assert sorted(got, key=got.get) == [first, second, fix]
    for word in ("修正", "补充", "补报", "重发", "Corrected", "重报"):  # any of cfg.inbox.later_marks, any case
        other = f"医保/{word}_结算明细.csv"
        assert ranks(second, other)[other] == 1, word
    # without such a word: the later modification time, then the name
    assert ranks("医保/第十批.csv", "医保/第二批.csv", modified=[t + timedelta(seconds=1), t]) == {
        "医保/第二批.csv": 0, "医保/第十批.csv": 1}
    assert ranks("医保/b.csv", "医保/a.csv", modified=[t, t + timedelta(milliseconds=900)]) == {"医保/a.csv": 0, "医保/b.csv": 1}
    # of two corrections, the later put in; a copy of a correction after the correction
    assert ranks("医保/x_更正2.csv", "医保/x_更正.csv", modified=[t, t + timedelta(minutes=5)]) == {
        "医保/x_更正2.csv": 0, "医保/x_更正.csv": 1}
    assert ranks("医保/x_更正(1).csv", "医保/x_更正.csv") == {"医保/x_更正.csv": 0, "医保/x_更正(1).csv": 1}


def test_a_file_named_for_an_earlier_period_ranks_before_the_period_s_own():
    """Last month's 底册 left beside this month's, copied (its time the copy's, later): its persons
    replaced this month's, and the note told this month's file it was the older version. A name
    giving a period before the one run (2026-09, 202609, 2026年9月, 2026.9.30) ranks first; a
    correction still ranks last; without the period nothing changes."""
    t = datetime(2026, 11, 2, 9, 0, 0)
    now, old = "户籍底册/防返贫监测对象.csv", "户籍底册/防返贫监测对象_2026-09.csv"
    files = pl.DataFrame({"file": [now, old], "modified": [t, t + timedelta(hours=1)]})
    assert delivery_ranks(files, CFG.inbox.later_marks, "2026-10") == {old: 0, now: 1}
    assert delivery_ranks(files, CFG.inbox.later_marks) == {now: 0, old: 1}
    for name in ("户籍底册/底册202609.xlsx", "户籍底册/2026年9月名单.csv", "户籍底册/x_2026.9.30.csv"):
        got = delivery_ranks(pl.DataFrame({"file": [now, name], "modified": [t, t + timedelta(hours=1)]}),
                             CFG.inbox.later_marks, "2026-10")
        assert got[name] == 0, name
    same = pl.DataFrame({"file": [now, "户籍底册/名单_2026-10.csv", "户籍底册/名单_2026-09_更正.csv"], "modified": [t] * 3})
    assert delivery_ranks(same, CFG.inbox.later_marks, "2026-10") == {
        "户籍底册/名单_2026-10.csv": 0, now: 1, "户籍底册/名单_2026-09_更正.csv": 2}


def test_supersede_identical_duplicates_and_roster_key():
    rows = pl.DataFrame({"file": ["r.csv"] * 3, "line": [2, 3, 4], "person_id": ["P1", "P1", "P2"], "name": ["a", "a", "b"]})
    latest, superseded = supersede(rows, ranks("r.csv"), key="person_id")
    assert latest["line"].to_list() == [3, 4]
    assert superseded.select("line", "record_id", "superseded_by", "changed").row(0) == (2, "P1", "r.csv:3", False)


def test_a_row_set_aside_is_a_delivery_of_its_record_too():
    """SPEC §1: a record delivered again replaces the earlier delivery, valid or set aside. A
    correction of a bad row supersedes it (it no longer waits in 搁置行 to be fixed, and links
    hold one row for the record); a bad row delivered again unchanged is one problem, listed once
    (at its latest delivery); a later bad delivery of a good record sets the record aside."""
    spec = CFG.kinds["civil"]

    def civil(file: str, rows: list[tuple[str, str, str]]):
        raw = pl.DataFrame({"记录编号": [r[0] for r in rows], "姓名": ["张三"] * len(rows), "救助类别": [r[1] for r in rows],
                            "变动类型": ["新增"] * len(rows), "月救助金额": [r[2] for r in rows],
                            "line": list(range(2, len(rows) + 2))}, schema_overrides={"line": pl.Int64})
        std = standardize(raw, spec)
        ok, bad = validate(std, spec, "民政", file)
        return ok, bad, stand_ins(std, bad, spec, "民政", file)

    first = civil("民政/救助变动.csv", [("MZ1", "五保", "300"), ("MZ2", "低保", "-500"), ("MZ3", "低保", "x"),
                                     ("MZ4", "特困", "800"), ("ＭＺ5", "孤儿", "-1")])
    fix = civil("民政/救助变动_更正.csv", [("MZ1", "低保", "300"), ("MZ2", "低保", "500"), ("MZ3", "低保", "x"),
                                        ("MZ4", "特困", "-800"), ("MZ5", "孤儿", "1")])
    delivered = {"civil": [first[0], first[2], fix[0], fix[2]]}
    latest, rejected, superseded = keep_latest(delivered, pl.concat([first[1], fix[1]]),
                                               ranks("民政/救助变动.csv", "民政/救助变动_更正.csv"), CFG)
    assert sorted(latest["civil"]["record_id"]) == ["MZ1", "MZ2", "MZ5"]  # ＭＺ5 is MZ5, as validate types it
    assert latest["civil"].columns == first[0].columns and latest["civil"]["file"].unique().to_list() == ["民政/救助变动_更正.csv"]
    assert rejected.select("file", "record_id").sort("record_id").rows() == [
        ("民政/救助变动_更正.csv", "MZ3"), ("民政/救助变动_更正.csv", "MZ4")]
    assert superseded.sort("record_id").select("file", "line", "record_id", "superseded_by", "changed").rows() == [
        ("民政/救助变动.csv", 2, "MZ1", "民政/救助变动_更正.csv:2", True),
        ("民政/救助变动.csv", 3, "MZ2", "民政/救助变动_更正.csv:3", True),
        ("民政/救助变动.csv", 4, "MZ3", "民政/救助变动_更正.csv:4", False),  # the same bad row again: one problem
        ("民政/救助变动.csv", 5, "MZ4", "民政/救助变动_更正.csv:5", True),
        ("民政/救助变动.csv", 6, "MZ5", "民政/救助变动_更正.csv:6", True)]
    # every row read ends once: superseded, valid or set aside
    assert superseded.height + latest["civil"].height + rejected.height == 10


def test_a_bad_row_delivered_again_as_a_workbook_reads_is_unchanged_not_a_correction():
    """An extract sent as CSV and again as .xlsx: a row set aside in both (an unknown code) whose
    amount the CSV writes 561.00 and the workbook's number cell 561, its date a date-time cell, is
    the same row delivered again (重复记录), not one delivered with other content (更正记录); a
    bad row whose amount did change still is."""
    spec = CFG.kinds["civil"]

    def civil(file: str, amounts: list[str], day: str):
        raw = pl.DataFrame({"记录编号": ["MZ1", "MZ2"], "姓名": ["张三", "李四"], "救助类别": ["五保", "五保"],
                            "变动类型": ["新增", "新增"], "变动日期": [day, day], "月救助金额": amounts, "line": [2, 3]},
                           schema_overrides={"line": pl.Int64})
        std = standardize(raw, spec)
        ok, bad = validate(std, spec, "民政", file)
        return ok, bad, stand_ins(std, bad, spec, "民政", file)

    first = civil("民政/救助变动.csv", ["561.00", "300.00"], "2026-10-03")
    again = civil("民政/救助变动.xlsx", ["561", "350"], "2026-10-03 00:00:00")
    _, _, superseded = keep_latest({"civil": [first[0], first[2], again[0], again[2]]}, pl.concat([first[1], again[1]]),
                                   ranks("民政/救助变动.csv", "民政/救助变动.xlsx"), CFG)
    assert superseded.sort("record_id").select("record_id", "changed").rows() == [("MZ1", False), ("MZ2", True)]


def test_to_person_records_and_rejected_files():
    valid, _ = run(settlements(out_of_pocket=["1", "2"]))
    water = pl.DataFrame({"dept": ["水利"], "kind": ["water"], "record_id": ["GS1"], "township": ["x"], "village": ["y"]})
    pr = to_person_records({"med_settlement": valid, "water": water})
    PersonRecord.validate(pr)
    assert pr["record_id"].to_list() == ["JS0", "JS1"] and pr["township"].null_count() == 2
    assert pr["prior_group"].null_count() == 2  # no prior groups asked for
    paid, _ = run(settlements(out_of_pocket=["1", "2", "3"], assistance_pay=["0", "12.5", ""]))
    grouped = to_person_records({"med_settlement": paid}, CFG.matching.prior_groups)
    assert grouped["prior_group"].to_list() == [None, "医疗救助", None]
    rf = rejected_files([ReadError("医保/x.csv", "空文件 empty file", "医保"), ReadError("其他/", "unknown folder")])
    assert rf["dept"].to_list() == ["医保", "其他"] and rf["line"].null_count() == 2


def test_plain_values_take_the_quick_cast_and_parse_as_the_full_parser_does():
    """A large file's plain numbers and dates are cast directly, the rest parsed in full: the
    typed values and set-aside rows are those of the full parser (small frames use it alone)."""
    import random

    rng = random.Random(5)
    dates = ["2026-10-05", "2026-02-30", "2026/10/5", "20261005", "46300", "2026-10-05 13:45", "", "x", "2026-1-5"]
    money = ["12.5", "-5", "1,234.50", "１２３", "1e3", "1e999", "12.345678901", "007", "abc", " 7 ", "", "5元",
             "1" * 16, "-0.5"]
    months = ["3", "3.0", "３", "3个月", "3.5", "-1", "", "x", "123456789012345"]
    n = 1500
    df = pl.DataFrame({"settle_date": [rng.choice(dates) for _ in range(n)],
                       "out_of_pocket": [rng.choice(money) for _ in range(n)],
                       "months": [rng.choice(months) for _ in range(n)]})
    spec = CFG.kinds["hr"]
    hr = standardize(pl.DataFrame({"记录编号": [f"RS{i}" for i in range(n)], "姓名": ["张*"] * n, "事件类型": ["失业登记"] * n,
                                   "事件日期": df["settle_date"], "连续未缴费月数": df["months"],
                                   "line": list(range(2, n + 2))}), spec)
    big = settlements(settle_date=df["settle_date"].to_list(), out_of_pocket=df["out_of_pocket"].to_list())
    for frame, kind, dept in ((big, "med_settlement", "医保"), (hr, "hr", "人社")):
        whole = run(frame, kind, dept)
        parts = [run(frame.slice(lo, 500), kind, dept) for lo in range(0, n, 500)]  # under 1000 rows: full parser only
        assert whole[0].equals(pl.concat([p[0] for p in parts]))
        assert whole[1].equals(pl.concat([p[1] for p in parts]))
        assert whole[1].height > 0 and whole[0].height > 0


def test_set_aside_rows_name_fields_as_the_extracts_head_them():
    """搁置行及原因 goes back to the departments: the field and the reason read 连续未缴费月数, not
    the run's months_unpaid; a field two kinds name differently takes its own kind's header."""
    rej = pl.DataFrame({
        "dept": ["人社", "民政", "教育", "医保"], "kind": ["hr", "civil", "education", None],
        "file": ["a.csv", "b.csv", "c.csv", "d.pdf"], "line": [2, 3, 4, None],
        "record_id": ["R1", "C1", "E1", None], "field": ["months_unpaid", "category", "name", None],
        "value": ["'-1", "低收入", "", None],
        "reason": ["months_unpaid 数值不能为负 negative value: '-1'；event_date 日期无法解析 unparseable date",
                   "category 代码不在允许值中 unknown code: '低收入'", "name 缺失", "文件类型不对"],
    })
    got = in_headers(rej, CFG.kinds)
    assert got["field"].to_list() == ["连续未缴费月数", "救助类别", "学生姓名", None]
    assert got["reason"].to_list() == [
        "连续未缴费月数 数值不能为负 negative value: '-1'；事件日期 日期无法解析 unparseable date",
        "救助类别 代码不在允许值中 unknown code: '低收入'", "学生姓名 缺失", "文件类型不对"]
    assert got.drop("field", "reason").equals(rej.drop("field", "reason"))


def test_a_grade_written_as_the_dangerous_house_it_is_is_that_grade():
    """住建 writes C级危房 / D级危房 (农村危房 C级、D级) as often as C级: set aside as an unknown code,
    the H1 warning was lost."""
    raw = pl.DataFrame({"鉴定编号": ["JD1", "JD2"], "户主姓名": ["张三", "李四"], "鉴定等级": ["C级危房", "D级 危房"],
                        "改造状态": ["未改造"] * 2, "line": [2, 3]})
    valid, rejected = run(standardize(raw, CFG.kinds["housing"]), "housing", "住建", "住建/x.csv")
    assert valid["grade"].to_list() == ["C", "D"] and rejected.is_empty()


def test_a_value_up_to_the_longest_field_is_read_a_longer_one_or_an_endless_amount_set_aside():
    """MAX_FIELD_CHARS (500) is the longest a delivered field may be: that long is read, one more
    is set aside; `1e999` reads as infinity to a float cast but is no amount."""
    valid, rejected = run(settlements(name=["张" * MAX_FIELD_CHARS, "张" * (MAX_FIELD_CHARS + 1), "张*"],
                                      out_of_pocket=["10", "10", "1e999"]))
    assert valid["line"].to_list() == [2] and valid["name"].str.len_chars().to_list() == [MAX_FIELD_CHARS]
    assert rejected.select("line", "field").rows() == [(3, "name"), (4, "out_of_pocket")]
    assert "value too long" in rejected["reason"][0] and "unparseable number" in rejected["reason"][1]


def test_a_record_number_of_spaces_only_is_missing():
    """A cell of spaces (a full-width one too) is no record number: the row is set aside as
    missing its number, not kept under an empty one."""
    valid, rejected = run(settlements(record_id=["　 ", "JS9"]))
    assert valid["record_id"].to_list() == ["JS9"]
    assert rejected.select("line", "field").rows() == [(2, "record_id")] and "missing value" in rejected["reason"][0]


def test_an_old_15_digit_roster_id_is_read_as_the_18_character_id_it_became():
    """GB 11643: a 15-digit ID takes 19 before its year and a check character (here 4, by
    ISO 7064 MOD 11-2); `old_id_lines` names its line, and no line without an ID."""
    raw = pl.DataFrame({"乡（镇）": ["大店镇"] * 3, "行政村": ["韩湖村"] * 3, "户编号": ["H1"] * 3,
                        "人编号": ["H1-01", "H1-02", "H1-03"], "姓名": ["甲", "乙", "丙"],
                        "证件号码": ["341302620111273", "341302196201112734", None], "line": [2, 3, 4]})
    std = standardize(raw, CFG.kinds["roster"])
    valid, _ = run(std, "roster", "户籍底册", "户籍底册/r.csv")
    assert valid["id_number"].to_list() == ["341302196201112734"] * 2
    assert old_id_lines(std) == [2]


def test_one_required_value_empty_under_lines_that_have_it_on_many_rows_suggests_merged_cells():
    """A roster saved as CSV from a sheet whose 户编号 was merged over each household's persons:
    only 户编号 is empty, on most rows (72% of a county's roster set aside, told only 'missing
    value'), and so is a grid's 网格编号 typed once over its households. One field empty under
    lines that have it on many rows (a quarter of the table's) says merged cells too; on a row
    or two it is only missing."""
    spec = CFG.kinds["grid"]
    raw = pl.DataFrame({"网格编号": ["G1", None, None, "G2", None, None, None, "G3"], "网格员": ["张网"] * 8,
                        "户编号": [f"H{k}" for k in range(8)], "line": list(range(2, 10))})
    valid, rejected = validate(standardize(raw, spec), spec, "网格", "网格/g.csv")
    assert valid["household_id"].to_list() == ["H0", "H3", "H7"] and rejected["line"].to_list() == [3, 4, 6, 7, 8]
    assert rejected["reason"].str.contains("合并单元格另存为CSV").all()
    few = raw.with_columns(网格编号=pl.Series(["G1", None, "G1", "G2", "G2", None, "G3", "G3"]))
    valid, rejected = validate(standardize(few, spec), spec, "网格", "网格/g.csv")
    assert rejected["line"].to_list() == [3, 7] and not rejected["reason"].str.contains("合并").any()


def test_empty_required_values_with_a_gap_above_do_not_suggest_merged_cells():
    """The merged-cells hint is for a row right under one that has the values (line 3 under 2):
    rows further down (a line between them skipped) are not said to be merged cells."""
    spec = CFG.kinds["grid"]
    raw = pl.DataFrame({"网格编号": ["G1", None], "网格员": ["张网", None], "户编号": ["H1", "H2"], "line": [2, 9]})
    valid, rejected = validate(standardize(raw, spec), spec, "网格", "网格/g.csv")
    assert valid["household_id"].to_list() == ["H1"] and rejected["line"].to_list() == [9]
    assert "missing value" in rejected["reason"][0] and "合并" not in rejected["reason"][0]


def test_a_required_field_configured_as_blank_unreadable_still_sets_an_empty_value_aside():
    """`blank_unreadable` empties a value that cannot be read; a required value that is missing
    is not read as empty, it still sets its row aside."""
    spec = replace(CFG.kinds["grid"], blank_unreadable=CFG.kinds["grid"].blank_unreadable + ("grid_worker",))
    raw = pl.DataFrame({"网格编号": ["G1", "G1", "G1"], "网格员": ["张网", None, "王" * (MAX_FIELD_CHARS + 1)],
                        "户编号": ["H1", "H2", "H3"], "line": [2, 3, 4]})
    valid, rejected = validate(standardize(raw, spec), spec, "网格", "网格/g.csv", blanked=[])
    assert rejected.select("line", "field").rows() == [(3, "grid_worker")] and "missing value" in rejected["reason"][0]
    assert valid["household_id"].to_list() == ["H1", "H3"] and valid["grid_worker"].to_list() == ["张网", None]


def test_a_date_after_the_latest_is_set_aside_naming_its_first_late_field_the_latest_day_kept():
    latest = date(2026, 12, 30)
    valid, _ = run(settlements(admit_date=["2026-12-30", "2027-12-01", "2026-12-01"],
                               settle_date=["2026-12-30", "2027-12-02", "2027-12-03"]))
    kept, rejected = set_aside_future_dates(valid, latest)
    assert kept["line"].to_list() == [2]
    assert rejected.select("line", "field", "value").rows() == [(3, "admit_date", "2027-12-01"),
                                                                (4, "settle_date", "2027-12-03")]
    assert all("2026-12-30" in r for r in rejected["reason"])


def test_a_date_without_its_year_on_the_latest_day_is_that_day_of_that_year():
    df = pl.DataFrame({"d": ["12.7", "12月8日"]})
    assert df.select(parse_date("d", date(2026, 12, 7))).to_series().to_list() == [date(2026, 12, 7), date(2025, 12, 8)]


def test_a_snapshot_keeps_the_periods_year_over_a_later_year_delivered_after_it():
    """A 参保名单 of 2026 and one of 2027 (next year's enrolment, put in later): for period
    2026 the record's 2026 row is kept, the 2027 row is superseded as of another year."""
    rows = pl.DataFrame({"dept": ["医保"] * 3, "kind": ["med_enrollment"] * 3,
                         "file": ["医保/参保名单2026.csv", "医保/参保名单2027.csv", "医保/参保名单2027.csv"],
                         "line": [2, 2, 3], "record_id": ["CB1", "CB1", "CB2"], "year": [2026, 2027, 2027]})
    latest, superseded = supersede(rows, ranks("医保/参保名单2026.csv", "医保/参保名单2027.csv"), year="year", period_year=2026)
    assert latest.select("record_id", "year").sort("record_id").rows() == [("CB1", 2026), ("CB2", 2027)]
    assert superseded.select("file", "record_id", "superseded_by", "other_year").rows() == [
        ("医保/参保名单2027.csv", "CB1", "医保/参保名单2026.csv:2", True)]


def test_rows_set_aside_without_a_record_number_stand_alone_and_stay_set_aside():
    """Two rows missing their record number are two problems, not one record delivered twice:
    neither supersedes the other, both stay in the rows set aside (nothing vanishes)."""
    spec = CFG.kinds["civil"]
    raw = pl.DataFrame({"记录编号": [None, None, "MZ1"], "姓名": ["张三", "李四", "王五"], "救助类别": ["低保"] * 3,
                        "变动类型": ["新增"] * 3, "line": [2, 3, 4]})
    std = standardize(raw, spec)
    ok, bad = validate(std, spec, "民政", "民政/a.csv")
    latest, rejected, superseded = keep_latest({"civil": [ok, stand_ins(std, bad, spec, "民政", "民政/a.csv")]}, bad,
                                               ranks("民政/a.csv"), CFG)
    assert latest["civil"]["record_id"].to_list() == ["MZ1"]
    assert rejected["line"].to_list() == [2, 3] and superseded.is_empty()


def test_an_older_version_of_a_list_is_a_file_whose_records_a_later_file_delivers_again_at_least_as_often():
    """`older_versions`: a.csv, 2 of whose records b.csv delivers again and 2 only it holds, is an
    older version (again >= only); c.csv with 1 again and 2 of its own is not; d.csv wholly
    delivered again holds nothing still read, and no note; rows of another year superseded are
    no older version (e.csv), nor is a file of itself (b.csv, delivering a record twice)."""
    kept = pl.DataFrame({"file": ["a.csv", "a.csv", "c.csv", "c.csv", "e.csv", "b.csv"], "line": [5, 4, 2, 3, 2, 2],
                         "person_id": ["P5", "P4", "C2", "C3", "E2", "B2"]})
    sup = pl.DataFrame({"file": ["a.csv", "a.csv", "c.csv", "d.csv", "e.csv", "b.csv"], "line": [2, 3, 4, 2, 3, 3],
                        "superseded_by": ["b.csv:2", "b.csv:3", "b.csv:4", "b.csv:5", "b.csv:6", "b.csv:2"],
                        "other_year": [False, False, False, False, True, False]})
    assert older_versions(kept, sup, "person_id") == [
        {"file": "a.csv", "by": "b.csv", "again": 2, "only": 2, "shown": ["P4", "P5"]}]


def test_a_saved_again_copy_comes_after_its_original_whatever_its_time():
    """表(1).csv is a copy saved after 表.csv, even when the original was touched later."""
    t = datetime(2026, 11, 2, 9, 0, 0)
    assert ranks("医保/表(1).csv", "医保/表.csv", modified=[t, t + timedelta(hours=1)]) == {"医保/表.csv": 0, "医保/表(1).csv": 1}
    # ... also where the county lists no later_marks (`[inbox] later_marks = []`): the copy's name still says so
    files = pl.DataFrame({"file": ["医保/表(1).csv", "医保/表.csv"], "modified": [t, t + timedelta(hours=1)]})
    assert delivery_ranks(files, []) == {"医保/表.csv": 0, "医保/表(1).csv": 1}


def test_person_records_keep_the_last_row_of_a_record_given_twice():
    valid, _ = run(settlements(record_id=["JS1", "JS1"], name=["张*", "李*"]))
    assert to_person_records({"med_settlement": valid})["name"].to_list() == ["李*"]


def test_an_amount_in_yi_is_a_hundred_million():
    valid, rejected = run(settlements(out_of_pocket=["0.0002亿", "0.0002亿元"]))
    assert rejected.is_empty() and valid["out_of_pocket"].to_list() == [20000.0, 20000.0]


def test_an_amount_said_per_month_person_or_year_is_that_amount():
    """民政's 月救助金额 written 500元/月 (or 500/月) was an unparseable number: the whole record was
    set aside, its 新增 临时救助 no C2 (a rule that reads no amount). So is 年人均纯收入 7685元/人,
    an annual cost 8000/学年; what is no amount stays set aside."""
    valid, rejected = _rows("civil", "monthly_amount", ["500元/月", "500/月", "1.2千元/月", "abc/月", "1/2"])
    assert valid["monthly_amount"].to_list() == [500.0, 500.0, 1200.0]
    assert rejected["value"].to_list() == ["abc/月", "1/2"]
    valid, rejected = _rows("education", "annual_cost", ["8000/学年", "7685元/人·年"])
    assert rejected.is_empty() and valid["annual_cost"].to_list() == [8000.0, 7685.0]


def test_an_amount_in_qian_or_bai_is_thousands_or_hundreds():
    """A hand-filled amount of 5千元 (a 损失金额, a 个人自付) is 5,000 元: the 千 was dropped with the
    unit and read as 5 元 (under every threshold, nothing said)."""
    valid, rejected = run(settlements(out_of_pocket=["5千", "1.2千元", "3百元", "12块"]))
    assert rejected.is_empty() and valid["out_of_pocket"].to_list() == [5000.0, 1200.0, 300.0, 12.0]


def test_a_snapshot_without_a_row_of_the_periods_year_keeps_its_latest_year():
    """A record's rows of 2027 (put in first) and 2025 (put in later), period 2026: the 2027 row."""
    rows = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_enrollment"] * 2, "file": ["医保/a.csv", "医保/b.csv"],
                         "line": [2, 2], "record_id": ["CB1", "CB1"], "year": [2027, 2025]})
    latest, superseded = supersede(rows, ranks("医保/a.csv", "医保/b.csv"), year="year", period_year=2026)
    assert latest["year"].to_list() == [2027] and superseded["file"].to_list() == ["医保/b.csv"]


def test_answers_are_kept_whole_every_returned_row_is_history():
    """A township's two files answering one 预警编号 are both kept (`feedback` judges them), not
    one superseding the other."""
    rows = [pl.DataFrame({"dept": ["反馈"], "kind": ["feedback"], "file": [f], "line": [2], "warning_id": ["YJ1"],
                          "result": [r]}) for f, r in (("反馈/a.csv", "属实"), ("反馈/b.csv", "不属实"))]
    latest, rejected, superseded = keep_latest({"feedback": rows}, pl.DataFrame(schema=REJECTED_SCHEMA),
                                               ranks("反馈/a.csv", "反馈/b.csv"), CFG, 2026)
    assert latest["feedback"].select("file", "result").rows() == [("反馈/a.csv", "属实"), ("反馈/b.csv", "不属实")]
    assert superseded.is_empty()


def test_a_list_row_set_aside_keeps_its_year_and_stays_the_record_s_row_of_the_periods_year():
    """A 参保名单 row of 2026 set aside (停保, no such 参保状态) and the record's valid 2027 row in
    a later file, period 2026: the 2026 row is the record's (set aside, waiting to be fixed), the
    2027 row superseded as of another year."""
    spec = CFG.kinds["med_enrollment"]

    def enrol(file, status, year):
        raw = pl.DataFrame({"人员编号": ["CB1"], "姓名": ["张三"], "证件号码": ["341302196201112734"], "参保状态": [status],
                            "参保年度": [year], "line": [2]})
        std = standardize(raw, spec)
        ok, bad = validate(std, spec, "医保", file)
        return ok, bad, stand_ins(std, bad, spec, "医保", file)
    a, b = enrol("医保/参保名单2026.csv", "停保", "2026"), enrol("医保/参保名单2027.csv", "正常参保", "2027")
    latest, rejected, superseded = keep_latest({"med_enrollment": [a[0], a[2], b[0], b[2]]}, pl.concat([a[1], b[1]]),
                                               ranks("医保/参保名单2026.csv", "医保/参保名单2027.csv"), CFG, 2026)
    assert latest["med_enrollment"].is_empty()
    assert rejected.select("file", "record_id", "value").rows() == [("医保/参保名单2026.csv", "CB1", "停保")]
    assert superseded.select("file", "other_year").rows() == [("医保/参保名单2027.csv", True)]


def test_a_saved_again_copy_s_original_is_the_file_it_was_saved_from():
    from pipelines.validate import original_file, sheet_label

    files = ["复核/q(1).csv", "复核/q - 副本.xlsx", "复核/q.csv", sheet_label("复核/q（2）.xlsx", "明细（第一批）")]
    assert pl.DataFrame({"f": files}).select(original_file(pl.col("f")))["f"].to_list() == [
        "复核/q.csv", "复核/q.xlsx", "复核/q.csv", "复核/q.xlsx（工作表 明细（第一批））"]


def test_a_row_failing_on_two_fields_shows_the_first_field_with_its_own_value():
    valid, rejected = run(settlements(settle_date=["x"], out_of_pocket=["-5"]))
    row = rejected.row(0, named=True)
    assert (row["field"], row["value"]) == ("settle_date", "x") and "out_of_pocket 数值不能为负" in row["reason"]


def test_an_unknown_code_says_which_values_to_write():
    """A clerk or a department learns the code list from the reason (visit_type isin the SPEC's three)."""
    _, rejected = run(settlements(visit_type=["急诊"]))
    assert rejected["reason"].to_list() == [
        "visit_type 代码不在允许值中 unknown code: '急诊'（应填 住院、门诊慢特病、普通门诊 之一 one of these）"]


# one valid row of each kind, by field (as `standardize` names them): what the SPEC requires
VALID_ROW = {
    "med_settlement": {"record_id": "R1", "settle_date": "2026-10-05", "out_of_pocket": "10"},
    "med_enrollment": {"record_id": "R1", "status": "正常参保", "year": "2026"},
    "housing": {"record_id": "R1", "grade": "C", "renovation": "未改造"},
    "education": {"record_id": "R1", "stage": "小学", "status": "在读"},
    "water": {"record_id": "R1", "township": "大店镇", "village": "韩湖村", "problem_type": "其他"},
    "civil": {"record_id": "R1", "category": "低保", "change_type": "新增"},
    "disability": {"record_id": "R1", "level": "一级", "cert_type": "新办"},
    "hr": {"record_id": "R1", "event_type": "失业登记"},
    "agri": {"record_id": "R1", "disaster_type": "洪涝", "loss_amount": "100"},
    "roster": {"township": "大店镇", "village": "韩湖村", "household_id": "H1", "person_id": "P1", "name": "甲",
               "id_number": "341302196201112734"},
    "review_answer": {"record_dept": "医保", "record_id": "R1", "person_id": "P1", "verdict": "是"},
    "grid": {"grid_id": "G1", "household_id": "H1", "grid_worker": "张网"},
    "feedback": {"warning_id": "W1", "result": "属实"},
}


def _rows(kind: str, field: str, values: list) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`validate` of rows of `kind`, valid but for `field`, which holds `values` (line 2 on)."""
    n = len(values)
    cols = {f: [v] * n for f, v in VALID_ROW[kind].items()} | {field: values}
    if kind == "roster":  # (one person a row)
        cols["person_id"] = [f"P{i}" for i in range(n)]
    df = pl.DataFrame(cols | {"line": list(range(2, n + 2))}, schema={c: pl.Int64 if c == "line" else pl.String
                                                                      for c in [*cols, "line"]})
    return validate(df, CFG.kinds[kind], "x", "x/a.csv")


@pytest.mark.parametrize("kind, field, values", [
    ("med_settlement", "visit_type", ["住院", "门诊慢特病", "普通门诊"]),
    ("med_enrollment", "status", ["正常参保", "暂停参保", "终止参保"]),
    ("housing", "grade", ["A", "B", "C", "D"]), ("housing", "renovation", ["未改造", "改造中", "已改造"]),
    ("education", "stage", ["学前", "小学", "初中", "高中", "中职", "高校"]),
    ("education", "status", ["在读", "休学", "辍学", "转出", "毕业"]),
    ("water", "problem_type", ["有管无水", "频繁停水断水", "水质较差", "未通自来水且自行取水困难", "高价买水", "其他"]),
    ("civil", "category", ["低保", "特困", "临时救助", "孤儿"]), ("civil", "change_type", ["新增", "停发", "调整", "死亡注销"]),
    ("disability", "level", ["一级", "二级", "三级", "四级"]), ("disability", "cert_type", ["新办", "换领", "注销"]),
    ("hr", "event_type", ["失业登记", "停止缴费", "就业登记", "返乡登记"]),
    ("agri", "disaster_type", ["洪涝", "干旱", "冰雹", "风灾", "病虫害", "畜禽疫病", "产业项目失败"]),
])
def test_every_value_of_the_specs_code_lists_is_read(kind, field, values):
    """SPEC §3's lists, written out here: a value missing from a model's list (a 毕业 pupil, a
    救助 调整, a 注销 certificate, an 产业项目失败 loss) would set every such row aside as an unknown code."""
    valid, rejected = _rows(kind, field, values)
    assert rejected.is_empty() and valid[field].to_list() == values


def test_a_roster_id_typed_with_the_persons_name_is_that_id():
    """A roster's 证件号码 cell holding the name too (张三 341302…, 3413…（张三）): the person was set
    aside (证件号码应为18位), every record of theirs unlinked; it is read as the ID, as a
    department's is (`matchers.ids.without_words`). A name alone is still no ID."""
    valid, rejected = _rows("roster", "id_number", ["张三 341302196201112734", "342201195605062205（李四）", "王五"])
    assert valid["id_number"].to_list() == ["341302196201112734", "342201195605062205"]
    assert rejected["line"].to_list() == [4]


def test_a_count_written_in_chinese_numerals_is_that_count():
    """A hand-filled count in Chinese numerals (连续未缴费月数 三个月, 十二; 家庭人口数 四, 两人): 人社's
    row was set aside whole as an unparseable integer, its 失业登记 no R1; the roster's size left
    empty. A number no count (一百, 三点五) is still unparseable."""
    valid, rejected = _rows("hr", "months_unpaid", ["三", "三个月", "十二", "二十一", "一百", "三点五"])
    assert valid["months_unpaid"].to_list() == [3, 3, 12, 21] and rejected["line"].to_list() == [6, 7]
    valid, rejected = _rows("roster", "household_size", ["四", "两人", "十口人"])
    assert rejected.is_empty() and valid["household_size"].to_list() == [4, 2, 10]


def test_months_unpaid_given_in_years_are_those_months():
    """人社's 连续未缴费月数 written in years (1年, 1年6个月, 半年): the 年 was dropped as a unit and
    1年 read as 1 month, under R1's 3 (no warning, nothing said). A count of months is as before."""
    valid, rejected = _rows("hr", "months_unpaid", ["1年", "1年6个月", "半年", "2 年", "3个月", "4"])
    assert rejected.is_empty() and valid["months_unpaid"].to_list() == [12, 18, 6, 24, 3, 4]


@pytest.mark.parametrize("kind, field, said, read", [
    ("civil", "change_type", ["死亡", "死亡停发", "停保", "新纳入", "调标"], ["死亡注销", "死亡注销", "停发", "新增", "调整"]),
    ("hr", "event_type", ["失业", "登记失业", "断缴", "返乡"], ["失业登记", "失业登记", "停止缴费", "返乡登记"]),
    ("agri", "disaster_type", ["洪水", "内涝", "虫害", "非洲猪瘟", "产业失败"], ["洪涝", "洪涝", "病虫害", "畜禽疫病", "产业项目失败"]),
    ("education", "stage", ["七年级", "初一", "三年级", "普通高中", "技校"], ["初中", "初中", "小学", "高中", "中职"]),
    ("education", "status", ["失学", "退学", "休学中"], ["辍学", "辍学", "休学"]),
    ("med_settlement", "visit_type", ["慢特病门诊", "普通住院", "特殊门诊"], ["门诊慢特病", "住院", "门诊慢特病"]),
    ("med_enrollment", "status", ["中止参保", "退保"], ["暂停参保", "终止参保"]),
    ("housing", "renovation", ["未开工", "已竣工"], ["未改造", "已改造"]),
    ("disability", "cert_type", ["补办", "证件注销"], ["换领", "注销"]),
])
def test_a_departments_everyday_word_for_a_code_is_that_code(kind, field, said, read):
    """The words departments write for SPEC §3's codes (民政's 死亡 for 死亡注销, 人社's 失业 for
    失业登记, 教育's 七年级): 民政 and 人社 had no other spellings at all, and every such row was set
    aside as an unknown code — a 死亡 record no C1, and no death known to hold M4/R1 back."""
    valid, rejected = _rows(kind, field, said)
    assert rejected.is_empty() and valid[field].to_list() == read


@pytest.mark.parametrize("kind, field", [
    ("med_settlement", "total_cost"), ("med_settlement", "pooled_pay"), ("med_settlement", "critical_pay"),
    ("med_settlement", "assistance_pay"), ("med_settlement", "out_of_pocket"), ("education", "annual_cost"),
    ("water", "households_affected"), ("civil", "monthly_amount"), ("hr", "months_unpaid"), ("agri", "loss_amount"),
])
def test_a_negative_amount_or_count_sets_its_row_aside_naming_the_field(kind, field):
    """SPEC §3: a negative amount (a refund row's -120) is set aside with its reason, never summed
    into a household's costs or read as a count."""
    valid, rejected = _rows(kind, field, ["5", "0", "-5"])
    assert valid[field].to_list() == [5, 0]
    assert rejected.select("line", "field").rows() == [(4, field)] and "negative value: '-5'" in rejected["reason"][0]


@pytest.mark.parametrize("kind, field", [
    ("housing", "renovation"), ("water", "record_id"), ("water", "township"), ("water", "village"),
    ("roster", "township"), ("roster", "village"), ("roster", "household_id"), ("grid", "grid_id"),
    ("review_answer", "record_dept"), ("review_answer", "person_id"), ("med_settlement", "settle_date"),
    ("feedback", "warning_id"),
])
def test_a_row_without_a_value_the_spec_requires_is_set_aside_as_missing(kind, field):
    """A house without its 改造状态 (H1 could not tell 未改造), a water order or a person without
    their 乡（镇）/行政村 (no place to warn), a 复核 answer without its 部门 or 人编号 (no record
    or person it is about), a 反馈 row without its 预警编号: set aside, "missing value", not taken
    with a hole."""
    valid, rejected = _rows(kind, field, [VALID_ROW[kind][field], None])
    assert valid.height == 1 and rejected.select("line", "field").rows() == [(3, field)]
    assert "missing value" in rejected["reason"][0]


def test_an_id_number_of_17_characters_and_a_list_without_its_year_are_read_so():
    """The roster's 证件号码 is 18 characters (17 is a digit lost); 参保年度 may be left out."""
    valid, rejected = _rows("roster", "id_number", ["341302196201112734", "34130219620111273"])
    assert valid["id_number"].to_list() == ["341302196201112734"] and rejected["line"].to_list() == [3]
    assert "ID must have 18 characters" in rejected["reason"][0]
    valid, rejected = _rows("med_enrollment", "year", [None, "2026"])
    assert rejected.is_empty() and valid["year"].to_list() == [None, 2026]


def test_no_usable_roster_is_said_with_why_its_files_were_set_aside():
    """'no usable roster' names the roster's files set aside and why (its headers, its encoding):
    each file and reason once, the first two."""
    from pipelines.validate import REJECTED_SCHEMA, why_set_aside

    kinds = load_config().kinds
    assert why_set_aside(None, kinds) == "" and why_set_aside(pl.DataFrame(schema=REJECTED_SCHEMA), kinds) == ""
    rows = [("户籍底册/a.csv", "缺少必填列 证件号码"), ("户籍底册/a.csv", "缺少必填列 证件号码"), ("户籍底册/b.xlsx", "无法读取"),
            ("户籍底册/c.csv", "编码无法识别")]
    rejected = pl.DataFrame([dict(dept="户籍底册", file=f, reason=r) for f, r in rows]).select(
        [pl.col(c) if c in ("dept", "file", "reason") else pl.lit(None).alias(c) for c in REJECTED_SCHEMA]
    ).cast(REJECTED_SCHEMA)
    assert why_set_aside(rejected, kinds) == "; 户籍底册/a.csv: 缺少必填列 证件号码; 户籍底册/b.xlsx: 无法读取"


def test_supersede_takes_excel_s_stripped_zeros_and_a_clerk_s_case_as_the_record_delivered_again():
    """A correction re-saved in Excel (12345 for 0012345) or typed by hand (js1 for JS1) replaces
    the original: one row kept, shown as the correction spells it (the department's latest
    word); the original listed as superseded under its own spelling. A re-delivery that differs
    only so is no change; JS12 does not replace JS0012 (Excel leaves text alone)."""
    rows = pl.DataFrame({
        "dept": ["医保"] * 7, "kind": ["med_settlement"] * 7,
        "file": ["医保/a.csv"] * 4 + ["医保/a_更正.csv"] * 3, "line": [2, 3, 4, 5, 2, 3, 4],
        "record_id": ["0012345", "JS1", "JS0012", "0099", "12345", "js1", "JS12"],
        "out_of_pocket": [10.0, 20.0, 30.0, 40.0, 11.0, 20.0, 31.0],
    })
    latest, superseded = supersede(rows, ranks("医保/a.csv", "医保/a_更正.csv"))
    assert latest.columns == rows.columns
    assert sorted(latest.select("record_id", "out_of_pocket").rows()) == [
        ("0099", 40.0), ("12345", 11.0), ("JS0012", 30.0), ("JS12", 31.0), ("js1", 20.0)]
    assert superseded.sort("line").select("file", "record_id", "superseded_by", "changed").rows() == [
        ("医保/a.csv", "0012345", "医保/a_更正.csv:2", True), ("医保/a.csv", "JS1", "医保/a_更正.csv:3", False)]


def test_one_record_number_however_spelled_is_kept_once_and_one_person_s_across_roster_files():
    """`to_person_records` keeps one row of a record however spelled; `numbers_of_two_persons`
    sees 人编号 00012 and 12 of two roster files as one number (two persons under it are set
    aside, one person's is a correction)."""
    from pipelines.validate import numbers_of_two_persons

    recs = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_settlement"] * 2, "record_id": ["0012345", "12345"],
                         "name": ["张三", "张三"], "id_raw": ["341302********1234"] * 2})
    assert to_person_records({"med_settlement": recs})["record_id"].to_list() == ["12345"]
    roster = pl.DataFrame({"dept": ["户籍底册"] * 4, "kind": ["roster"] * 4, "file": ["a.csv", "a.csv", "b.csv", "b.csv"],
                           "line": [2, 3, 2, 3], "person_id": ["00012", "p7", "12", "P7"],
                           "id_number": ["341302199001011234", "341302199001015678", "341302199202029999",
                                         "341302199001015678"], "name": ["张三", "李四", "王五", "李四"]})
    assert numbers_of_two_persons(roster).select("file", "line").rows() == [("a.csv", 2), ("b.csv", 2)]


def test_two_persons_under_one_人编号_however_spelled_in_one_table_are_set_aside():
    """In one roster table 00012 and 12 (p7 and P7) are one 人编号 (`record_key`): on rows that
    differ, two persons under it, both set aside as under one spelling (neither replaces the
    other as a correction); on rows the same but for it, one person said twice, kept once."""
    raw = pl.DataFrame(
        {"乡镇": ["大店镇"] * 5, "村": ["韩湖村"] * 5, "户号": ["H1"] * 5, "人编号": ["00012", "12", "p7", "P7", "P8"],
         "姓名": ["甲", "乙", "丙", "丙", "丁"], "身份证号": ["341302196201112734"] * 5, "line": [2, 3, 4, 5, 6]})
    std = standardize(raw, CFG.kinds["roster"])
    valid, rejected = validate(std, CFG.kinds["roster"], "户籍底册", "户籍底册/r.csv")
    assert rejected["line"].to_list() == [2, 3] and all(DUPLICATED in r for r in rejected["reason"])
    latest, _, superseded = keep_latest({"roster": [valid]}, rejected, {"户籍底册/r.csv": 0}, CFG)
    assert latest["roster"]["person_id"].to_list() == ["P7", "P8"]
    assert superseded.select("line", "record_id", "changed").rows() == [(4, "p7", False)]


def test_a_planned_date_after_the_latest_is_kept_a_late_date_of_another_field_still_sets_its_row_aside():
    """A ledger's 解决日期 (`inbox.planned_date_fields`) may be a plan, after the period; the
    other dates of the row may not."""
    valid = pl.DataFrame({"dept": ["水利"] * 2, "kind": ["water"] * 2, "file": ["水利/w.csv"] * 2, "line": [2, 3],
                          "record_id": ["GS1", "GS2"], "report_date": [date(2026, 12, 1), date(2027, 1, 2)],
                          "resolved_date": [date(2027, 3, 1), None]})
    kept, rejected = set_aside_future_dates(valid, date(2026, 12, 30), ("resolved_date",))
    assert kept["record_id"].to_list() == ["GS1"]
    assert rejected.select("line", "field").rows() == [(3, "report_date")]


def test_another_id_and_a_name_with_a_character_dropped_inside_is_a_correction_not_another_person():
    """张明 corrected to 张晓明 (a character dropped in the middle, first and last alike) with its
    ID corrected too: one person, not a department numbering each file from 1."""
    rows = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_settlement"] * 2, "file": ["医保/一.csv", "医保/二.csv"],
                         "line": [2, 2], "record_id": ["JS1", "JS1"], "id_raw": ["341302199001011234", "341302199001019999"],
                         "name": ["张明", "张晓明"]})
    _, superseded = supersede(rows, ranks("医保/一.csv", "医保/二.csv"))
    assert superseded.select("changed", "other_person").rows() == [(True, False)]


@pytest.mark.parametrize("persons,within", [(["1", "2", "1", "2"], True), (["1", "2", "1", "3"], False)])
def test_person_numbers_are_read_as_counted_within_households_when_most_rows_share_theirs(persons, within):
    """Two households each numbering 1, 2: every row shares its 人编号 with another household's,
    read as H1-1 …; half the rows sharing theirs (a slip) is not most: left as given."""
    from pipelines.validate import numbered_within_households

    df = pl.DataFrame({"person_id": persons, "household_id": ["H1", "H1", "H2", "H2"], "line": [2, 3, 4, 5]})
    got, lines = numbered_within_households(df, CFG.kinds["roster"])
    read = [f"{h}-{p}" for h, p in zip(df["household_id"], persons)]
    assert (got["person_id"].to_list(), lines) == ((read, [2, 3, 4, 5]) if within else (persons, []))


def test_a_value_cut_short_for_being_too_long_still_has_its_id_number_masked():
    """A 600-character blob beginning with an ID (Article 27): echoed cut to its first characters,
    the ID in them masked."""
    shown = mask_value("341302199001011234" + "某" * 600, "note")
    assert shown.startswith("341302****") and "199001011234" not in shown and shown.endswith("(618字符 chars)")


def test_why_a_folder_was_set_aside_says_each_reason_once_without_the_values_it_quotes():
    """Every 证件号码 of a roster destroyed by Excel: the run's refusal says the reason once, not
    each row's (masked) value."""
    from pipelines.validate import why_set_aside

    rejected = pl.DataFrame({"dept": ["户籍底册"] * 2, "kind": ["roster"] * 2, "file": ["户籍底册/底册.csv"] * 2, "line": [2, 3],
                             "record_id": ["P1", "P2"], "field": ["id_number"] * 2, "value": ["3.41302E+17", "3.41303E+17"],
                             "reason": ["id_number 已被Excel截断: '3.41302E+17'", "id_number 已被Excel截断: '3.41303E+17'"]},
                            schema=REJECTED_SCHEMA)
    said = why_set_aside(rejected, CFG.kinds)
    assert said.count("已被Excel截断") == 1 and "E+17" not in said and said.startswith("; 户籍底册/底册.csv: ")


def test_an_answer_followed_by_a_comma_and_the_clerks_words_is_the_answer_and_the_words_its_detail():
    """不属实，已外出 (the reason after a comma, as clerks type it, not in brackets) was set aside as a
    核实结果 outside 属实/不属实 and told back, though 不属实（已外出） was read. Now the code before a
    comma, semicolon, colon or 、 is the answer and the words after it its detail (kept in 备注),
    when they name no answer themselves: 属实，不属实 and 是，纳入监测 stay unread and are told back.
    A department's code (no detail kept) is not read so."""
    spec = CFG.kinds["feedback"]
    raw = pl.DataFrame({"预警编号": ["Y1", "Y2", "Y3", "Y4", "Y5"], "乡（镇）": ["大店镇"] * 5,
                        "核实结果": ["不属实，已外出", "属实; 户主住院", "属实：经核实", "属实，不属实", "属实"],
                        "是否纳入监测": ["否、已脱贫", "是", "是", "是", "是，纳入监测"],
                        "核实日期": ["2026-10-12"] * 5, "line": [2, 3, 4, 5, 6]})
    valid, bad = validate(standardize(raw, spec), spec, "反馈", "反馈/大店镇.csv", date(2026, 11, 5))
    assert valid.select("line", "result", "result_detail", "include_monitoring", "include_monitoring_detail").rows() == [
        (2, "不属实", "已外出", "否", "已脱贫"), (3, "属实", "户主住院", "是", None), (4, "属实", "经核实", "是", None),
        (6, "属实", None, None, None)]  # (是否纳入监测 not read is left empty, the township told: `blank_unreadable`)
    assert bad.select("line", "field").rows() == [(5, "result")]
    civil = CFG.kinds["civil"]
    row = {"记录编号": ["MZ1"], "姓名": ["张三"], "证件号码": ["341302199001011238"], "救助类别": ["临时救助，特困"],
           "变动类型": ["新增"], "变动日期": ["2026-10-05"], "line": [2]}
    _, bad = validate(standardize(pl.DataFrame(row), civil), civil, "民政", "民政/a.csv")
    assert bad["field"].to_list() == ["category"]

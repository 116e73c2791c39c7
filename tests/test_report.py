import datetime as dt
import os
import re
import shutil
import struct
import subprocess

import duckdb
import polars as pl
import pytest

from adapters import warehouse
from pipelines.report import INPUT_SCHEMAS, RUN_INPUTS, UNPLACED, county_report_html, report_inputs, verification_by_township

CHROMIUM = shutil.which("chromium") or ("/usr/bin/chromium" if os.path.exists("/usr/bin/chromium") else None)

PERIODS = pl.DataFrame({
    "period": ["2026-08", "2026-09", "2026-10"], "status": ["ok", "failed", "ok"],
    "finished_at": [dt.datetime(2026, 9, 2, 8), None, dt.datetime(2026, 11, 2, 8, 30)], "runs": [1, 2, 1],
})
TOWN_RISK = pl.DataFrame({
    "township": ["大店镇", "大店镇", "夹沟镇", None, "夹沟镇"],
    "risk_type": ["因病", "因残", "饮水出现安全问题", "因病", "其他新风险"],
    "warnings": [3, 1, 2, 1, 4],
})
TREND = pl.DataFrame({
    "period": ["2026-08", "2026-09", "2026-09", "2026-10", "2026-10", "2026-10", "2026-10"],
    "risk_type": ["因病", "因病", "因残", "因病", "因残", "饮水出现安全问题", "其他新风险"],
    "warnings": [5, 6, 2, 4, 1, 2, 4],
})
VERIFICATION = pl.DataFrame({
    "warning_id": [f"YJ-{i}" for i in range(8)],
    "township": ["大店镇"] * 4 + ["夹沟镇"] * 3 + [None],
    "status": ["verified_true", "verified_false", "open", "overdue", "overdue", "overdue", "verified_true", "open"],
    "days_overdue": [0, 0, 0, 2, 5, 7, 0, 0],
})
QUALITY = pl.DataFrame({
    "category": ["行被搁置 rows set aside", "网格超过户数上限 grid over household limit (第十条)", "文件说明 file note"],
    "dept": ["医保", "网格", "住建"],
    "file": ["医保/<script>alert(1)</script>.csv", None, "住建/鉴定.xlsx"],
    "detail": ["settle_date 日期无法解析 unparseable date", "网格 G007 户数超过 100",
               "证件号码 341302197005011234 电话 13812345678 A&B"],
    "count": [2, 131, 1],
})
ACCOUNTING = pl.DataFrame({
    "dept": ["医保", "住建"], "rows_read": [1000, 30], "superseded": [10, 0], "matched": [600, 20],
    "review": [20, 1], "unmatched": [360, 6], "rejected": [10, 3], "balanced": [True, True],
})
META = {"period": "2026-10", "county": "埇桥区", "issue_date": "2026-11-02", "deadline": "2026-11-05",
        "generated_at": "2026-11-02 09:00", "departments": ["医保", "住建", "水利"]}


def render(**over) -> str:
    args = dict(periods=PERIODS, warnings_by_town_risk=TOWN_RISK, trend=TREND, verification=VERIFICATION,
                quality=QUALITY, accounting=ACCOUNTING, meta=META)
    return county_report_html(**{**args, **over})


def cell_values(page: str, row_label: str) -> list[str]:
    """The cells of the table row headed `row_label` (first match), as text."""
    m = re.search(r"<tr[^>]*><th>" + re.escape(row_label) + r"</th>(.*?)</tr>", page)
    assert m, row_label
    return [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td[^>]*>(.*?)</td>", m[1])]


def test_key_numbers_and_townships():
    page = render()
    assert page.startswith("<!DOCTYPE html>") and 'lang="zh-CN"' in page and "埇桥区" in page
    heat = page[page.index('<table class="heat"'):]
    # columns: known risk types in SPEC order, then unknown ones; last column is the total
    assert cell_values(heat, "大店镇") == ["3", "0", "1", "0", "4"]  # 因病 饮水… 因残 其他新风险 合计
    assert cell_values(heat, "夹沟镇") == ["0", "2", "0", "4", "6"]
    assert cell_values(heat, UNPLACED) == ["1", "0", "0", "0", "1"]
    assert re.search(r"<tfoot><tr><th>合计 <small>total</small></th>(<td[^>]*>\d+</td>){4}<td[^>]*>11</td>", heat)
    assert heat.index("夹沟镇") < heat.index("大店镇") < heat.index(UNPLACED)  # busiest first, leads last
    for label in ("2026-08", "2026-09", "成功 ok", "失败 failed", "其他新风险", "饮水出现安全问题"):
        assert label in page
    assert "本期未报送" in page and "水利" in page  # configured department with no rows
    acc = page[page.index("四、各部门数据质量"):]
    assert cell_values(acc, "医保")[:3] == ["1,000", "600", "20"] and "61.2%" in cell_values(acc, "医保")
    # (the rows of a file left out as a copy are no rows read for the rejected rate: 10 of 800, not of 1,000)
    copied = render(accounting=ACCOUNTING.with_columns(rows_read=pl.Series([1200, 30]), copies=pl.Series([200, 0])))
    cells = cell_values(copied[copied.index("四、各部门数据质量"):], "医保")
    assert cells[0] == "1,200" and cells[6] == "200" and cells[8] == "1.0%"


def test_the_review_queue_says_how_many_records_are_new_and_how_many_have_waited_since_when():
    queue = pl.DataFrame({"dept": ["医保", "医保", "医保", "人社"], "first_queued": ["2026-08", "2026-09", "2026-10", "2026-10"],
                          "records": [46, 17, 19, 2]})
    sec = render(review_queue=queue)
    sec = sec[sec.index("<h3>人工复核队列"):sec.index("问题清单")]
    assert cell_values(sec, "医保") == ["82", "19", "63", "2026-08 起 46、2026-09 起 17"]
    assert cell_values(sec, "人社") == ["2", "2", "0", "–"]
    assert re.search(r"<tfoot><tr><th>合计 <small>total</small></th><td>84</td><td>21</td><td>63</td>"
                     r"<td class=\"txt\">2026-08 起 46、2026-09 起 17</td>", sec)
    assert "人工复核队列" not in render() and "人工复核队列" not in render(review_queue=queue.clear())


def test_verification_progress_and_overdue_rates():
    s = verification_by_township(VERIFICATION)
    rows = {r["township"]: r for r in s.iter_rows(named=True)}
    assert s["township"].to_list()[0] == "夹沟镇"  # highest overdue rate first
    assert (rows["大店镇"]["total"], rows["大店镇"]["overdue"], rows["大店镇"]["progress"]) == (4, 1, 0.5)
    assert rows["夹沟镇"]["overdue_rate"] == pytest.approx(2 / 3) and rows["夹沟镇"]["max_days_overdue"] == 7
    assert rows["夹沟镇"]["mean_days_overdue"] == 6.0 and rows[UNPLACED]["open"] == 1
    sec = render()
    sec = sec[sec.index("三、核实进度与逾期"):sec.index("四、各部门数据质量")]
    assert cell_values(sec, "大店镇") == ["4", "1", "1", "1", "1", "50.0%", "25.0%", "2.0", "2"]
    assert cell_values(sec, "夹沟镇")[-4:] == ["33.3%", "66.7%", "6.0", "7"]
    assert "<svg" in sec


def test_no_feedback_yet_and_empty_inputs_render():
    page = render(verification=pl.DataFrame(schema=INPUT_SCHEMAS["verification"]))
    assert "尚无乡镇核实反馈" in page and "暂无反馈" in page
    bare = county_report_html(None, None, None, None, None, None, {"period": "2026-10"})
    assert "本期没有预警" in bare and "尚无历史预警数据" in bare and "未发现数据质量问题" in bare
    assert "2026-10" in bare and "<svg" not in bare


def test_self_contained_escaped_and_no_personal_data():
    page = render()
    low = page.lower()
    for bad in ("<script", "http://", "https://", "src=", "<link", "url(", "@import", "<iframe", "<img"):
        assert bad not in low, bad
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in page and "A&amp;B" in page
    assert "341302197005011234" not in page and "341302********1234" in page
    assert "13812345678" not in page and "138****5678" in page
    assert "YJ-" not in page  # warning ids are counted, never listed
    assert page.count("<svg") == page.count("</svg>") >= 4



def test_the_page_masks_ids_as_the_township_lists_do():
    """A finding naming an old ID full-width, typed with spaces or inside a 17-digit 残疾人证号
    is scrubbed as `pipelines.township.mask_ids` masks it (one rule); a 15-digit record number
    that is no ID (2026-09, serial 000218123) stays readable."""
    detail = ("证件号码 ３４１３０２６２０１１１２７３、341302 620111 273，残疾人证号 34130262011127341，"
              "结算流水号 202609000218123")
    page = render(quality=QUALITY.with_columns(detail=pl.lit(detail)))
    assert ("证件号码 ３４１３０２******２７３、341302 ******273，残疾人证号 341302******27341，"
            "结算流水号 202609000218123") in page

def _png_size(path) -> tuple[int, int]:
    head = path.read_bytes()[:24]
    assert head[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", head[16:24])


@pytest.mark.skipif(CHROMIUM is None, reason="chromium is not installed (CI: apt-get install -y chromium "
                    "fonts-wqy-microhei); the headless rendering check needs it")
def test_renders_in_headless_chromium(tmp_path):
    page = render()
    html_file = tmp_path / "report.html"
    html_file.write_text(page, encoding="utf-8")
    base = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            f"--user-data-dir={tmp_path / 'profile'}"]
    png = tmp_path / "r.png"
    shot = subprocess.run([*base, f"--screenshot={png}", "--window-size=1280,2000", html_file.as_uri()],
                          capture_output=True, timeout=90, check=False)
    assert png.exists(), shot.stderr.decode("utf-8", "replace")[-2000:]
    assert png.stat().st_size > 20_000  # a blank page is a few kB
    assert _png_size(png) == (1280, 2000)
    dom = subprocess.run([*base, "--dump-dom", html_file.as_uri()], capture_output=True, timeout=90,
                         check=False).stdout.decode("utf-8")
    assert dom.count("<svg") == page.count("<svg") and dom.count("<rect") == page.count("<rect")
    assert "大店镇" in dom and "三、核实进度与逾期" in dom


def _warning_rows(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame(rows, schema=["warning_id", "household_id", "township", "risk_type", "rule"], orient="row")


def test_report_inputs_from_warehouse(tmp_path):
    empty = report_inputs(duckdb.connect(), "2026-10")  # no tables at all: every frame empty, right columns
    assert all(empty[k].is_empty() and empty[k].columns == list(s) for k, s in INPUT_SCHEMAS.items() if k not in RUN_INPUTS)
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    run = warehouse.begin_run(con, "2026-09", "cfg")
    warehouse.finish_run(con, run, "ok")
    warehouse.begin_run(con, "2026-10", "cfg")
    acc = ACCOUNTING.drop("balanced").with_columns(balanced=pl.lit(True))
    rej = pl.DataFrame({"dept": ["医保", "医保"], "file": ["a.csv", "a.csv"],
                        "reason": ["settle_date 日期无法解析 unparseable date: '2026-13-45'"] * 2})
    warehouse.replace_period(con, "2026-09", {
        "warnings": _warning_rows([("W1", "H1", "大店镇", "因病", "M1"), ("W2", "H2", "夹沟镇", "因残", "D1")]),
        "accounting": acc, "rejected": rej})
    warehouse.replace_period(con, "2026-10", {
        "warnings": _warning_rows([("W3", "H1", "大店镇", "因病", "M1"), ("W3", "H1", "大店镇", "因病", "M2"),
                                   ("W4", None, None, "因病", "M3")]),
        "accounting": acc, "rejected": rej})
    got = report_inputs(con, "2026-10")
    assert got["warnings_by_town_risk"].sort("township", nulls_last=True).rows() == [
        ("大店镇", "因病", 1), (None, "因病", 1)]  # M1 + M2 of one household: one 预警编号
    assert got["trend"].sort("period", "risk_type").rows() == [
        ("2026-09", "因残", 1), ("2026-09", "因病", 1), ("2026-10", "因病", 2)]
    assert got["periods"].select("period", "status", "runs").rows() == [("2026-09", "ok", 1), ("2026-10", "running", 1)]
    assert got["verification"].is_empty()  # no warning_status table yet
    assert got["accounting"]["rows_read"].to_list() == [30, 1000]
    assert report_inputs(con, "2026-09")["trend"]["period"].unique().to_list() == ["2026-09"]
    status = VERIFICATION.with_columns(household_id=pl.lit(None, pl.Utf8), result=pl.lit(None, pl.Utf8),
                                       verified_on=pl.lit(None, pl.Date))
    warehouse.replace_period(con, "2026-10", {"warning_status": status})
    assert report_inputs(con, "2026-10")["verification"].height == 8
    page = county_report_html(**report_inputs(con, "2026-10"), quality=None, meta={"period": "2026-10"})
    assert "66.7%" in page and "本次运行" in page and "运行中或中断" not in page  # the run writing it
    later = county_report_html(**report_inputs(con, "2026-10"), quality=None, meta={"period": "2026-11"})
    assert "运行中或中断" in later  # seen from a later period, a run never marked finished was cut short


def test_unplaced_leads_come_last_however_many_and_rows_of_one_cell_add_up():
    """The township table: busiest township first, the unplaced leads last even when they are the
    most; two rows of one township and risk type are one cell, their sum."""
    w = pl.DataFrame({"township": ["大店镇", None, "夹沟镇", "夹沟镇"], "risk_type": ["因病", "因病", "因病", "因病"],
                      "warnings": [2, 9, 1, 2]})
    heat = render(warnings_by_town_risk=w)
    heat = heat[heat.index('<table class="heat"'):heat.index("</table>", heat.index('<table class="heat"'))]
    assert heat.index("夹沟镇") < heat.index("大店镇") < heat.index(UNPLACED)  # (夹沟镇 3 before 大店镇 2: by total)
    assert cell_values(heat, "夹沟镇") == ["3", "3"] and cell_values(heat, UNPLACED) == ["9", "9"]
    assert re.search(r"<tfoot><tr><th>合计 <small>total</small></th><td[^>]*>14</td><td[^>]*>14</td>", heat)


def _trend_table(page: str) -> str:
    sec = page[page.index("二、各期预警趋势"):page.index("三、核实进度与逾期")]
    return sec[sec.index('<table class="num"><thead><tr><th>风险类型'):]


def test_the_trend_table_counts_each_period_to_the_report_s_own_and_adds_them_up():
    """Per risk type and period up to the report's own (a later period's not shown), the column
    totals their sum; the report's period has its column even with no warnings nor run stored."""
    table = _trend_table(render())
    assert cell_values(table, '<span class="sw" style="background:#4e79a7"></span>因病') == ["5", "6", "4"]
    assert re.search(r"<tfoot><tr><th>合计 <small>total</small></th><td[^>]*>5</td><td[^>]*>8</td><td[^>]*>11</td></tr>",
                     table)
    later = pl.concat([TREND, pl.DataFrame({"period": ["2026-11"], "risk_type": ["因病"], "warnings": [9]})])
    assert _trend_table(render(trend=later)) == table
    table = _trend_table(render(trend=TREND.filter(pl.col("period") < "2026-10"), periods=PERIODS.head(2)))
    assert cell_values(table, '<span class="sw" style="background:#4e79a7"></span>因病') == ["5", "6", "0"]
    assert "<th>2026-10</th>" in table


def test_a_warning_s_latest_status_row_is_the_one_counted():
    """`verification_by_township`: a 预警编号 given twice counts once, as its last row says."""
    v = pl.DataFrame({"warning_id": ["W1", "W1", "W2"], "township": ["大店镇"] * 3,
                      "status": ["open", "verified_true", "overdue"], "days_overdue": [0, 0, 3]})
    got = verification_by_township(v)
    assert got.select("township", "total", "open", "verified_true", "overdue").rows() == [("大店镇", 2, 0, 1, 1)]
    page = render(verification=v)
    assert ('<div class="card"><div class="v">50.0%</div><div class="k">核实进度<br><small>verified</small></div></div>'
            '<div class="card"><div class="v">1</div><div class="k">逾期未核实') in page


def test_a_warning_reopened_after_its_answer_counts_open_and_is_named_apart(tmp_path):
    """A warning its township answered, which a re-run since gave a rule the answer did not verify
    (`reopened_for`), is open again: section 三 counts it under 待核实 (or 逾期未核实), as
    核实进度_乡镇.csv does, and says so in a column of its own with a note; without one, the table
    is as before. `report_inputs` reads the column, and a warehouse written before it was gives none."""
    v = VERIFICATION.with_columns(reopened_for=pl.when(pl.col("warning_id").is_in(["YJ-2", "YJ-5"])).then(pl.lit("M1")))
    s = verification_by_township(v)
    assert dict(s.select("township", "reopened").rows()) == {"大店镇": 1, "夹沟镇": 1, UNPLACED: 0}
    sec = render(verification=v)
    sec = sec[sec.index("三、核实进度与逾期"):sec.index("四、各部门数据质量")]
    assert cell_values(sec, "大店镇") == ["4", "1", "1", "1", "1", "1", "50.0%", "25.0%", "2.0", "2"]
    assert "<th>重新下发未核实<br><small>reopened</small></th>" in sec and "不计入已核实" in sec
    plain = render()
    assert "重新下发未核实" not in plain
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    status = pl.DataFrame({"warning_id": ["W1", "W2"], "township": ["大店镇"] * 2, "household_id": ["H1", "H2"],
                           "status": ["open", "verified_true"], "result": [None, "属实"],
                           "verified_on": [None, dt.date(2026, 10, 20)], "days_overdue": [0, 0],
                           "withdrawn": [False, False]}, schema_overrides={"verified_on": pl.Date})
    warehouse.replace_period(con, "2026-09", {"warning_status": status})  # (before the column was)
    assert report_inputs(con, "2026-09")["verification"]["reopened_for"].to_list() == [None, None]
    warehouse.replace_period(con, "2026-10", {"warning_status": status.with_columns(
        reopened_for=pl.Series(["M1", None], dtype=pl.String))})
    got = report_inputs(con, "2026-10")["verification"].sort("warning_id")
    assert got["reopened_for"].to_list() == ["M1", None]


def _cards(page: str) -> dict[str, str]:
    return dict((k, v) for v, k in re.findall(r'<div class="card"><div class="v">([^<]*)</div><div class="k">([^<]*)<br>', page))


def test_the_key_numbers_count_warnings_placed_and_unplaced_and_rows_read_and_set_aside():
    """The cards: warnings of the period, townships with at least one, unplaced leads' warnings,
    the departments' rows read and rows set aside (搁置, not those a correction superseded)."""
    w = TOWN_RISK.vstack(pl.DataFrame({"township": ["芦岭镇"], "risk_type": ["因病"], "warnings": [0]}))
    assert _cards(render(warnings_by_town_risk=w)) == {
        "本期预警": "11", "涉及乡镇": "2", "未落位线索": "1", "核实进度": "37.5%", "逾期未核实": "3", "部门数据行": "1,030",
        "搁置行": "13"}


def test_a_department_whose_rows_do_not_add_up_is_said_unbalanced_when_the_run_did_not_say():
    acc = ACCOUNTING.drop("balanced").with_columns(rejected=pl.Series([10, 4]))  # 住建: 31 accounted of 30 read
    sec = render(accounting=acc)
    sec = sec[sec.index("四、各部门数据质量"):]
    assert cell_values(sec, "医保")[-1] == "✓ 平衡" and cell_values(sec, "住建")[-1] == "✗ 不平衡"


def test_a_period_run_again_shows_its_latest_run_s_status_and_its_runs(tmp_path):
    """`report_inputs`' run history: per period the status of its latest run (a failed run then
    a successful one: ok; the other way round: failed) and how many runs it had."""
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    for period, statuses in (("2026-08", ("failed", "ok")), ("2026-09", ("ok", "failed"))):
        for status in statuses:
            warehouse.finish_run(con, warehouse.begin_run(con, period, "cfg"), status)
    got = report_inputs(con, "2026-09")["periods"]
    assert got.select("period", "status", "runs").rows() == [("2026-08", "ok", 2), ("2026-09", "failed", 2)]


def test_a_period_run_again_shows_when_its_latest_run_finished_not_an_earlier_one(tmp_path):
    """The report of a re-run is written while that run is still running: its row says 本次运行
    with no finish time, not the earlier run's (a re-run at 03:43 read `this run 03:39`). A period
    whose latest run failed shows when that run ended."""
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    warehouse.finish_run(con, warehouse.begin_run(con, "2026-08", "cfg"), "ok")
    warehouse.finish_run(con, warehouse.begin_run(con, "2026-08", "cfg"), "failed")
    last = con.sql("SELECT max(finished_at) FROM runs").fetchall()[0][0]
    warehouse.finish_run(con, warehouse.begin_run(con, "2026-09", "cfg"), "ok")
    warehouse.begin_run(con, "2026-09", "cfg")  # the re-run writing the report
    got = report_inputs(con, "2026-09")["periods"]
    assert got.select("period", "status", "runs").rows() == [("2026-08", "failed", 2), ("2026-09", "running", 2)]
    assert got["finished_at"].to_list() == [last, None]
    page = county_report_html(**report_inputs(con, "2026-09"), quality=None, meta={"period": "2026-09"})
    assert re.search(r"<th>2026-09</th><td class=\"txt\">本次运行 this run</td><td class=\"txt\"></td>", page)


def test_a_warning_a_re_run_took_back_unanswered_is_not_one_to_verify(tmp_path):
    """`report_inputs`' verification: a 预警编号 withdrawn (撤回) by a re-run and never answered is
    left out; one withdrawn after a township answered it (属实) still counts."""
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    status = pl.DataFrame({"warning_id": ["W1", "W2", "W3"], "township": ["大店镇"] * 3, "household_id": ["H1", "H2", "H3"],
                           "status": ["verified_false", "verified_true", "open"], "result": [None, "属实", None],
                           "verified_on": [None, dt.date(2026, 10, 20), None], "days_overdue": [0, 0, 0],
                           "withdrawn": [True, True, False]}, schema_overrides={"verified_on": pl.Date})
    warehouse.replace_period(con, "2026-10", {"warning_status": status})
    assert sorted(report_inputs(con, "2026-10")["verification"]["warning_id"].to_list()) == ["W2", "W3"]


def test_the_trend_covers_the_latest_months_up_to_the_report_s_period(tmp_path):
    """`report_inputs(months=2)`: the trend and the runs of the two latest periods up to the
    report's, not the two earliest stored."""
    con = warehouse.connect(tmp_path / "warehouse.duckdb")
    for i, period in enumerate(("2026-08", "2026-09", "2026-10", "2026-11")):
        warehouse.finish_run(con, warehouse.begin_run(con, period, "cfg"), "ok")
        warehouse.replace_period(con, period, {"warnings": _warning_rows([(f"W{i}", "H1", "大店镇", "因病", "M1")])})
    got = report_inputs(con, "2026-10", months=2)
    assert got["trend"]["period"].to_list() == ["2026-09", "2026-10"]
    assert got["periods"]["period"].to_list() == ["2026-09", "2026-10"]


def test_the_department_table_says_in_words_what_a_department_without_a_usable_row_did():
    """A department that sent nothing, one whose file held a header alone and one whose every row
    was set aside (the wrong folder's file) were rows of zeros, or of rows set aside, a reader
    could not tell apart: each says which in its row (报送情况), with the console's words
    (`accounting.delivery_states`); a department with usable rows says nothing there."""
    acc = pl.concat([ACCOUNTING, pl.DataFrame({
        "dept": ["残联", "民政"], "rows_read": [0, 195], "superseded": [0, 0], "matched": [0, 0], "review": [0, 0],
        "unmatched": [0, 0], "rejected": [0, 195], "balanced": [True, True]})])
    quality = pl.concat([QUALITY, pl.DataFrame({
        "category": ["文件无数据行 file holding a header and no row", "文件被搁置 file set aside"], "dept": ["残联", "民政"],
        "file": ["残联/a.csv", "民政/a.csv"], "detail": ["只有表头、没有数据行", "缺少必需列"], "count": [1, 195]})])
    sec = render(accounting=acc, quality=quality)
    sec = sec[sec.index("四、各部门数据质量"):sec.index("问题清单")]
    assert "<th>报送情况<br><small>delivery</small></th>" in sec
    assert cell_values(sec, "残联")[-2:] == [("空表（只有表头），其规则未运行delivered empty: a header and no record; its "
                                            "rules did not run"), "✓ 平衡"]
    assert cell_values(sec, "民政")[:6] == ["195", "0", "0", "0", "195", "0"]
    assert cell_values(sec, "民政")[-2].startswith("整体搁置（见搁置行），其规则未运行set aside whole")
    assert cell_values(sec, "水利") == ["本期未报送，其规则未运行not delivered; its rules did not run"]
    assert cell_values(sec, "医保")[-2:] == ["", "✓ 平衡"] and cell_values(sec, "住建")[-2] == ""


def test_a_department_missing_one_kind_says_it_under_delivery_and_the_workbook_sheet_shows_the_same_table():
    """医保 with its 结算明细 and no 参保名单 had an empty 报送情况 (only its 规则暂停 finding said it):
    given the run's `delivery_states` it says 缺参保名单. The county workbook had no per-department
    counts: `accounting_sheet` is the department table, from the same accounting frame, with the
    same 报送情况 and balance, the department not delivered after them, and 合计."""
    from pipelines.accounting import delivery_states
    from pipelines.report import accounting_sheet

    links = pl.DataFrame({"dept": ["医保", "住建"], "kind": ["med_settlement", "housing"],
                          "decision": ["matched", "matched"], "reason": [None, None]})
    kinds = {"医保": ["med_settlement", "med_enrollment"], "住建": ["housing"], "水利": ["water"]}
    states = delivery_states(ACCOUNTING, QUALITY, META["departments"], kinds, links)
    sec = render(delivery=states)
    sec = sec[sec.index("四、各部门数据质量"):sec.index("问题清单")]
    assert cell_values(sec, "医保")[-2:] == ["缺参保名单，其规则未运行no 参保名单 (med_enrollment); its rules did not run",
                                           "✓ 平衡"]
    sheet = accounting_sheet(ACCOUNTING.with_columns(balanced=pl.Series([True, False])), META["departments"], states)
    assert sheet.columns == ["部门", "读取行数", "已匹配", "待人工复核", "未匹配", "搁置", "被更正覆盖", "重复文件未读", "报送情况", "行数核对"]
    assert sheet.rows() == [
        ("住建", 30, 20, 1, 6, 3, 0, 0, None, "✗ 不平衡"),
        ("医保", 1000, 600, 20, 360, 10, 10, 0, "缺参保名单，其规则未运行 no 参保名单 (med_enrollment); its rules did not run",
         "✓ 平衡"),
        ("水利", None, None, None, None, None, None, None, "本期未报送，其规则未运行 not delivered; its rules did not run", None),
        ("合计", 1030, 620, 21, 366, 13, 10, 0, None, None)]
    html = render(delivery=states)
    assert all(cell_values(html[html.index("四、各部门数据质量"):], r[0])[:7] == [f"{v:,}" for v in r[1:8]]
               for r in sheet.rows()[:2])

import datetime as dt

import polars as pl
import pytest

from config import load_config
from pipelines.calendar import add_working_days
from pipelines.feedback import (
    UNKNOWN_TOWNSHIP, LEDGER_HEADERS, answer_history, answer_ledger, as_sent, carry_over, check_feedback, disagreements, year_slips, dispatch,
    file_township,
    first_sent, issued_from_rows, dispatch_changes, moved_warnings, overdue_by_township, returned_to_township,
    values_not_read, warning_status, with_carry_over, withdrawn_rows, moved_in_rerun, MOVED_OUT_BLANK, sent_now,
    list_rows, list_sheets, take_returns, told_back, withdrawn_count, rerun_changes, SPLIT_OFF, reissued, with_reissued,
    sent_again, sent_before, rules_dropped,
)
from adapters.inbox import blanked_notes
from pipelines.standardize import standardize
from pipelines.validate import REJECTED_SCHEMA, delivery_ranks, validate
from schemas.inputs import Feedback, Rejected
from schemas.outputs import FEEDBACK_COLUMNS, QUALITY_COLUMNS, TOWNSHIP_COLUMNS, Finding, WarningStatus

D = dt.date
CFG = load_config()
ISSUE = D(2026, 10, 9)
DEADLINE = add_working_days(ISSUE, CFG.run.verify_working_days)[0]  # 2026-10-13 (10-10 is a make-up workday)
AS_OF = D(2026, 11, 5)
W1, W2, W3, W4, W5 = (f"YJ202610-{c * 10}" for c in "abcde")

ISSUED = pl.DataFrame({
    "warning_id": [W1, W2, W3, W4, W5],
    "township": ["大店镇", "大店镇", "夹沟镇", None, "夹沟镇"],
    "household_id": ["A", "B", "C", None, "E"],
    "period": ["2026-10"] * 5,
    "issue_date": [ISSUE] * 5,
    "deadline": [DEADLINE] * 5,
})
DADIAN, JIAGOU = "反馈/大店镇_2026-10_预警清单.csv", "反馈/夹沟镇/反馈.xlsx"


def fb(*rows):
    """rows: (file, line, warning_id, township, result, include, verifier, verify_date, note)."""
    cols = ["file", "line", "warning_id", "township", "result", "include_monitoring", "verifier", "verify_date", "note"]
    df = pl.DataFrame([dict(zip(cols, r)) for r in rows], schema={
        "file": pl.String, "line": pl.Int64, "warning_id": pl.String, "township": pl.String, "result": pl.String,
        "include_monitoring": pl.String, "verifier": pl.String, "verify_date": pl.Date, "note": pl.String})
    return Feedback.validate(df.with_columns(dept=pl.lit("反馈"), kind=pl.lit("feedback")))


DELIVERY = fb(
    (DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None),   # accepted, superseded by line 6
    (DADIAN, 3, W2, "大店镇", None, None, None, None, None),                  # unanswered
    (DADIAN, 4, "YJ202610-zzzzzzzzzz", "大店镇", "属实", None, None, None, None),  # unknown id
    (DADIAN, 5, W3, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None),   # 夹沟镇's warning
    (DADIAN, 6, W1, "大店", "不属实", "否", "李干事", D(2026, 10, 13), "复核"),  # duplicate: wins
    (DADIAN, 7, W2, "大店镇", "属实", None, None, D(2026, 10, 1), None),        # before issue date
    (DADIAN, 8, W2, "大店镇", "属实", None, None, D(2026, 11, 20), None),       # after as_of
    (DADIAN, 9, W2, "大店镇", None, None, None, None, "外出务工，待回访"),       # partial: accepted
    (JIAGOU, 2, W1, None, "属实", None, None, None, None),                     # 大店镇's warning in 夹沟镇's file
    ("feedback/夹沟_反馈.csv", 3, W3, " 夹沟 ", "属实", "是", "王", D(2026, 10, 12), None),  # accepted
)


def checked():
    return check_feedback(DELIVERY, ISSUED, AS_OF, CFG.matching.places)


def keys(df):
    return sorted(zip(df["file"], df["line"]))


def test_every_row_lands_in_exactly_one_output():
    acc, una, rej = checked()
    assert acc.height + una.height + rej.height == DELIVERY.height
    assert sorted(keys(acc) + keys(una) + keys(rej)) == keys(DELIVERY)
    assert keys(acc) == sorted([(DADIAN, 2), (DADIAN, 6), (DADIAN, 9), ("feedback/夹沟_反馈.csv", 3)])
    assert keys(una) == [(DADIAN, 3)]
    Rejected.validate(rej)


def test_rejections_name_field_and_reason():
    rej = checked()[2]
    got = {r["line"] if r["file"] == DADIAN else -r["line"]: r for r in rej.iter_rows(named=True)}
    assert sorted(got) == [-2, 4, 5, 7, 8]
    assert (got[4]["field"], got[4]["value"], got[4]["record_id"]) == ("warning_id", "YJ202610-zzzzzzzzzz",
                                                                       "YJ202610-zzzzzzzzzz")
    assert "预警编号不存在" in got[4]["reason"] and "unknown warning id" in got[4]["reason"]
    assert got[5]["field"] == "township" and "another township" in got[5]["reason"]
    assert got[-2]["field"] == "file" and "夹沟镇" in got[-2]["reason"]
    assert got[7]["field"] == "verify_date" and "早于下发日期" in got[7]["reason"] and got[7]["value"] == "2026-10-01"
    assert got[8]["field"] == "verify_date" and "晚于本期清单下发日期2026-11-05" in got[8]["reason"]
    assert set(rej["dept"]) == {"反馈"} and set(rej["kind"]) == {"feedback"}
    # told back to the township the answer came from, never to the warning's owner
    assert got[5]["township"] == "大店镇" and got[-2]["township"] == "夹沟镇" and got[4]["township"] == "大店镇"


def test_a_township_cell_holding_an_id_number_is_told_back_masked_in_the_reason_too():
    """A clerk typed a household's ID into 乡（镇）(a column shifted): the row is another
    township's, and the reason quoting the cell goes into the township's 反馈退回 and the county's
    搁置行: masked there as in 填报内容 (Article 27)."""
    full = "342223194804228128"
    rej = check_feedback(fb((DADIAN, 2, W1, full, "属实", "是", "张", D(2026, 10, 12), None)), ISSUED, AS_OF)[2]
    assert rej["field"].to_list() == ["township"] and rej["value"].to_list() == ["342223********8128"]
    assert full not in rej["reason"][0] and "342223********8128" in rej["reason"][0]


def test_a_visit_before_a_rerun_raised_the_warning_again_is_not_early():
    """An analyst re-ran October with another threshold (the warning taken back) and then as it
    was (raised again: re-dated the day of that run, 2026-12-06). The township had it from
    October's lists (2026-11-05) and visited on 11-08: its answer is taken, not refused as dated
    before the list. A date before the period's first lists is still early, naming that day."""
    redated = ISSUED.filter(pl.col("warning_id") == W1).with_columns(
        issue_date=pl.lit(D(2026, 12, 6)), deadline=pl.lit(D(2026, 12, 9)))
    rows = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张", D(2026, 11, 8), None),
              (DADIAN, 3, W1, "大店镇", "属实", "是", "张", D(2026, 11, 1), None))
    assert check_feedback(rows, redated, D(2026, 12, 7))[2]["line"].to_list() == [2, 3]  # (first lists unknown)
    acc, _, rej = check_feedback(rows, redated, D(2026, 12, 7), first_out={"2026-10": D(2026, 11, 5)})
    assert acc["line"].to_list() == [2]
    assert rej["line"].to_list() == [3] and "早于下发日期2026-11-05" in rej["reason"][0]


def test_an_answer_written_into_the_lists_status_column_is_told_back_not_taken_as_unanswered():
    """A clerk changed 状态 from 新下发 to 已核实 (or 属实) and left 核实结果 empty: the row was
    counted unanswered and nothing told the township, which believed it had answered. It is set
    aside, told back saying where the answer goes. A 状态 as sent (with the notes the system adds)
    is no answer, and an answered row's 状态 is not looked at."""
    rows = fb((DADIAN, 2, W1, "大店镇", None, None, None, None, None),
              (DADIAN, 3, W1, "大店镇", None, None, None, None, None),
              (DADIAN, 4, W2, "大店镇", None, None, None, None, None),
              (JIAGOU, 5, W3, None, "属实", None, None, None, None),
              (JIAGOU, 6, W5, None, None, None, None, None, None)).with_columns(
        list_state=pl.Series(["已核实", "逾期未核实（由芦岭镇张庄村2组迁入，原下发日期2026-09-02）", " 属实 ", "已核实", "新下发"]))
    acc, una, rej = check_feedback(rows, ISSUED, AS_OF, CFG.matching.places)
    assert acc["line"].to_list() == [5] and una["line"].to_list() == [3, 6]
    assert rej["line"].to_list() == [2, 4] and set(rej["field"]) == {"list_state"}
    assert rej["value"].to_list() == ["已核实", "属实"] and "“核实结果”列" in rej["reason"][0]
    told = returned_to_township(rej, CFG, ISSUED)
    assert list(told) == ["大店镇"] and set(told["大店镇"]["字段"]) == {"状态"}
    # marked 已核实 on this month's list, answered on the earlier list put in beside it: answered
    earlier = fb(("反馈/大店镇_2026-09_预警清单.csv", 7, W1, None, "属实", None, None, None, None))
    both = pl.concat([rows.head(1), earlier.with_columns(list_state=pl.lit(None, pl.String))])
    acc, una, rej = check_feedback(both, ISSUED, AS_OF, CFG.matching.places)
    assert rej.is_empty() and una["line"].to_list() == [2] and acc["line"].to_list() == [7]


def test_an_answer_to_a_list_of_the_folders_own_period_says_where_answers_go():
    """2026-10's own list put back into 2026-10/反馈/ (not the next period's): its 预警编号 were
    issued by this period's run, so 'never issued' (未下发过此编号) was wrong; the reason says to
    put the answers into the next period's 反馈/. An unknown id of an earlier month stays unknown."""
    rows = fb((DADIAN, 2, "YJ202610-0123456789", "大店镇", "属实", "是", "张", D(2026, 11, 1), None),
              (DADIAN, 3, "yj 202611-0123456789", "大店镇", "属实", "是", "张", D(2026, 11, 1), None),
              (DADIAN, 4, "YJ202609-0123456789", "大店镇", "属实", "是", "张", D(2026, 11, 1), None))
    rej = check_feedback(rows, ISSUED, D(2026, 11, 3), period="2026-10")[2].sort("line")
    assert rej["line"].to_list() == [2, 3, 4] and set(rej["field"]) == {"warning_id"}
    own, later, earlier = rej["reason"].to_list()
    assert "下一期的 反馈/" in own and "下一期的 反馈/" in later and "未下发过此编号" not in own
    assert "未下发过此编号" in earlier and "下一期" not in earlier
    assert "未下发过此编号" in check_feedback(rows, ISSUED, D(2026, 11, 3))[2]["reason"][0]  # (period not given)


def test_answer_from_unknown_sender_is_not_returned_to_the_warning_owner():
    f = fb(("反馈/清单(1).csv", 2, W3, "某某镇", "属实", None, None, None, None),
           ("反馈/清单(1).csv", 3, W3, None, "属实", None, None, D(2026, 9, 1), None))
    rej = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)[2]
    assert rej["field"].to_list() == ["township", "verify_date"]
    assert rej["township"].to_list() == [None, "夹沟镇"]  # sender unknown / the owner's own bad date


def test_several_problems_in_one_row_all_named():
    f = fb((JIAGOU, 2, W1, "夹沟镇", "属实", None, None, D(2026, 12, 1), None))
    acc, una, rej = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)
    assert acc.is_empty() and una.is_empty()
    r = rej.row(0, named=True)
    assert r["field"] == "township" and r["reason"].count("；") == 2 and "晚于本期清单下发日期" in r["reason"]


def test_a_date_excel_gave_the_typing_year_is_read_a_year_earlier():
    # a December list answered in January: `12/28` typed into Excel is stored as next December
    issued = ISSUED.with_columns(period=pl.lit("2026-12"), issue_date=pl.lit(D(2026, 12, 24)))
    f = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2027, 12, 28), None),
           (DADIAN, 3, W2, "大店镇", "属实", "是", "张干事", D(2027, 1, 20), None),    # after as_of; a year
           (DADIAN, 4, W2, "大店镇", "属实", "是", "张干事", D(2027, 12, 20), None))   # before: before issue
    acc, _, rej = check_feedback(f, issued, D(2027, 1, 6), CFG.matching.places)
    assert acc.select("line", "verify_date").rows() == [(2, D(2026, 12, 28))]
    assert rej["line"].to_list() == [3, 4] and rej["field"].to_list() == ["verify_date", "verify_date"]
    note = year_slips(f, acc)
    assert note.columns == list(QUALITY_COLUMNS) and note["count"].to_list() == [1]
    assert note["category"].to_list() == [Finding.FILE_NOTE] and note["file"].to_list() == [DADIAN]
    assert "第2行 2027-12-28 → 2026-12-28" in note["detail"][0]
    assert year_slips(DELIVERY, checked()[0]).is_empty()



def test_last_year_s_year_written_early_in_a_new_one_is_read_a_year_later():
    """December's list (issued 2027-01-06) answered in January, a clerk writing 2026 by habit: a
    核实日期 a year before a day between the 下发日期 and the run's day is that day (before: set
    aside as before the issue date, the verified warning left overdue); named for the county. A
    date that a year later is still before the issue date, or after the run's day, is returned."""
    issued = ISSUED.with_columns(period=pl.lit("2026-12"), issue_date=pl.lit(D(2027, 1, 6)))
    f = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2026, 1, 8), None),
           (DADIAN, 3, W2, "大店镇", "属实", "是", "张干事", D(2026, 1, 5), None),   # 2027-01-05: before issue
           (DADIAN, 4, W2, "大店镇", "属实", "是", "张干事", D(2026, 2, 20), None))  # 2027-02-20: after as_of
    acc, _, rej = check_feedback(f, issued, D(2027, 2, 3), CFG.matching.places)
    assert acc.select("line", "verify_date").rows() == [(2, D(2027, 1, 8))]
    assert rej["line"].to_list() == [3, 4] and rej["field"].to_list() == ["verify_date", "verify_date"]
    note = year_slips(f, acc)
    assert note["count"].to_list() == [1] and "第2行 2026-01-08 → 2027-01-08" in note["detail"][0]
    assert note["detail"][0].startswith("核实日期早于清单下发日期，按下一年读取")

def test_a_date_typed_on_the_10th_that_excel_kept_as_a_number_is_read_as_typed():
    """`11.10` typed into Excel or WPS is the number 11.1, and a saved CSV or the cell says so: read
    as 11月1日 it fell before a list issued 2026-11-02 and was returned as dated before the list
    existed. Written so, before the list went out, and its 10th between then and the run's day, it
    is the 10th (named for the county); a `11.1` the list was out by is 11月1日, and any other
    shape of a date before the list is returned as before."""
    issued = ISSUED.with_columns(issue_date=pl.when(pl.col("warning_id") == W2).then(pl.lit(D(2026, 10, 28)))
                                 .otherwise(pl.lit(D(2026, 11, 2))))
    raw = pl.DataFrame({"预警编号": [W1, W2, W1, W1], "乡（镇）": ["大店镇"] * 4, "核实结果": ["属实"] * 4,
                        "是否纳入监测": ["是"] * 4, "核实日期": ["11.1", "11.1", "2026-11-01", "11月1日"],
                        "line": [2, 3, 4, 5]})
    spec = CFG.kinds["feedback"]
    valid, bad = validate(standardize(raw, spec), spec, "反馈", DADIAN, D(2027, 1, 30))  # (2026-11/反馈/'s latest)
    assert bad.is_empty()
    assert valid.select("line", "verify_date", "verify_date_tens").rows() == [
        (2, D(2026, 11, 1), D(2026, 11, 10)), (3, D(2026, 11, 1), D(2026, 11, 10)),
        (4, D(2026, 11, 1), None), (5, D(2026, 11, 1), None)]
    acc, _, rej = check_feedback(valid, issued, D(2026, 11, 30), CFG.matching.places)
    assert acc.select("line", "verify_date").rows() == [(2, D(2026, 11, 10)), (3, D(2026, 11, 1))]
    assert rej["line"].to_list() == [4, 5]
    assert rej["reason"][0].startswith("核实日期2026-11-01早于下发日期2026-11-02")
    note = year_slips(valid, acc)
    assert note["count"].to_list() == [1] and note["file"].to_list() == [DADIAN]
    assert note["detail"][0].startswith("核实日期按整十日读取（Excel 把 11.10")
    assert note["detail"][0].endswith("：第2行 11.1 → 2026-11-10")
    # its 10th after the run's day, or before the list went out: returned as before
    late = check_feedback(valid, issued, D(2026, 11, 9), CFG.matching.places)
    assert late[0]["line"].to_list() == [3] and late[2]["line"].to_list() == [2, 4, 5]
    # (the township is told what to write: its 11.10 is not yet past, the run cannot tell)
    assert "（若填的是11.10，Excel 把它存成了数字：请写成 2026-11-10 这样的日期后重报" in late[2]["reason"][0]
    assert "若填的是" not in late[2]["reason"][1]  # (2026-11-01 written so)
    after = check_feedback(valid, issued.with_columns(issue_date=pl.lit(D(2026, 11, 12))), D(2026, 11, 30),
                           CFG.matching.places)
    assert after[0].is_empty() and after[2]["line"].to_list() == [2, 3, 4, 5]
    assert "若填的是" not in after[2]["reason"][0]  # (its 10th is before the list too)


def test_blank_row_is_unanswered_and_partial_answer_is_accepted():
    acc, una, _ = checked()
    assert una["warning_id"].to_list() == [W2]
    partial = acc.filter(pl.col("line") == 9).row(0, named=True)
    assert partial["result"] is None and partial["note"] == "外出务工，待回访"


def test_duplicate_answers_latest_line_wins_and_both_are_kept():
    acc = checked()[0].filter(pl.col("warning_id") == W1).sort("line")
    assert acc["line"].to_list() == [2, 6]
    assert acc["rank"].to_list() == [2, 1] and acc["is_latest"].to_list() == [False, True]
    st = warning_status(ISSUED, acc.with_columns(received_period=pl.lit("2026-11")), AS_OF)
    assert st.filter(pl.col("warning_id") == W1)["status"][0] == "verified_false"


def test_a_corrected_copy_of_a_returned_file_decides_over_its_original():
    """The township re-saves its list as …预警清单(1).csv with a corrected answer: the copy is the
    later one, although '(' sorts before '.'; both answers are kept."""
    copy = DADIAN.replace(".csv", "(1).csv")
    acc = check_feedback(fb((copy, 2, W1, "大店镇", "不属实", "否", "李干事", D(2026, 10, 13), None),
                            (DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None)),
                         ISSUED, AS_OF, CFG.matching.places)[0]
    assert acc.filter("is_latest")["file"].to_list() == [copy] and acc.height == 2
    st = warning_status(ISSUED, acc.with_columns(received_period=pl.lit("2026-11")), AS_OF)
    assert st.filter(pl.col("warning_id") == W1)["status"][0] == "verified_false"


NOV, OCT = "反馈/大店镇_2026-11_预警清单.csv", "反馈/大店镇_2026-10_预警清单.csv"


def put_in(*files):
    """The files' places as a run reads them (`delivery_ranks`), put in 2 s apart in this order."""
    t0 = dt.datetime(2026, 12, 6, 9, 0, 0)
    return delivery_ranks(pl.DataFrame({"file": list(files), "modified": [t0 + dt.timedelta(seconds=2 * i)
                                                                          for i in range(len(files))]}),
                          CFG.inbox.later_marks)


TWO_FILES = fb(
    (NOV, 2, W1, "大店镇", "不属实", "否", "张干事", D(2026, 10, 20), None),
    (NOV, 3, W2, "大店镇", "属实", "是", "张干事", D(2026, 10, 20), None),
    (OCT, 5, W1, "大店镇", "属实", "是", "李干事", D(2026, 10, 21), None),   # other answer, put in later: counts
    (OCT, 6, W2, "大店镇", "属实", "是", "李干事", D(2026, 10, 21), None),   # the same answer: no disagreement
)


def test_two_returned_files_are_ordered_as_department_files_are_not_by_name():
    """The township put its November list into 反馈/, then its October list: the October file is
    the later one although its name sorts first (marks, then modification time, then name)."""
    acc = check_feedback(TWO_FILES, ISSUED, AS_OF, CFG.matching.places, put_in(NOV, OCT))[0]
    assert acc.filter("is_latest").sort("warning_id").select("warning_id", "file").rows() == [(W1, OCT), (W2, OCT)]
    st = warning_status(ISSUED, acc.with_columns(received_period=pl.lit("2026-12")), AS_OF)
    assert st.filter(pl.col("warning_id") == W1)["status"][0] == "verified_true"
    # put in the other way round, the November file counts
    acc = check_feedback(TWO_FILES, ISSUED, AS_OF, CFG.matching.places, put_in(OCT, NOV))[0]
    assert acc.filter("is_latest", pl.col("warning_id") == W1)["file"].to_list() == [NOV]


def test_stored_answers_of_a_period_keep_the_order_they_were_taken_in():
    """A later run decides from the warehouse's answers, which have no modification times: the
    stored `rank` keeps each period's order (a re-run gives the same status)."""
    a = answers(("2026-12", NOV, 2, W1, "不属实", D(2026, 10, 20), None),
                ("2026-12", OCT, 5, W1, "属实", D(2026, 10, 21), None)).with_columns(rank=pl.Series([2, 1]))
    assert warning_status(ISSUED, a, AS_OF).filter(pl.col("warning_id") == W1)["status"][0] == "verified_true"
    h = answer_history(a)
    assert h.filter("decides")["file"].to_list() == [OCT] and h.filter("latest")["file"].to_list() == [OCT]


def test_two_files_answering_a_warning_differently_are_reported_and_told_back():
    acc = check_feedback(TWO_FILES, ISSUED, AS_OF, CFG.matching.places, put_in(NOV, OCT))[0]
    overruled, findings = disagreements(acc)
    # only W1: W2 is answered alike in both files
    assert overruled.select("file", "line", "record_id", "field", "value").rows() == [(NOV, 2, W1, "result", "不属实")]
    reason = overruled["reason"][0]
    assert f"{OCT} 第5行" in reason and "属实" in reason and "为准" in reason
    Rejected.validate(overruled.drop("township"))
    f = findings.cast(QUALITY_COLUMNS).row(0, named=True)
    assert findings.height == 1 and f["category"] == Finding.DISAGREE and f["count"] == 1 and f["file"] == NOV
    assert all(s in f["detail"] for s in (OCT, W1, "第2行 不属实/否", "第5行 属实/是", "为准"))
    # the township is told, in its 反馈退回
    back = returned_to_township(overruled, CFG, ISSUED)
    assert list(back) == ["大店镇"] and back["大店镇"].select("文件", "行号", "字段", "填报内容").rows() == [
        (NOV, 2, "核实结果", "不属实")]


def test_a_saved_again_copy_is_a_correction_not_a_disagreement():
    copy = DADIAN.replace(".csv", "(1).csv")
    f = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None),
           (copy, 2, W1, "大店镇", "不属实", "否", "张干事", D(2026, 10, 12), None),
           (DADIAN, 3, W2, "大店镇", "属实", None, None, None, None),
           (NOV, 3, W2, "大店镇", None, "否", None, None, "补充说明"))  # no result: does not undo the other's
    acc = check_feedback(f, ISSUED, AS_OF, CFG.matching.places, put_in(DADIAN, copy, NOV))[0]
    overruled, findings = disagreements(acc)
    assert overruled.is_empty() and findings.is_empty()


def test_a_file_named_a_correction_of_the_same_list_is_not_a_disagreement():
    """大营镇 put in its list, then the same list as 大营镇_…_更正.xlsx changing answers: a
    correction on purpose, not two files disagreeing (the county's 反馈答复不一致 line and the
    反馈退回 rows were false alarms). A correction named so of another list still disagrees."""
    fix = "反馈/大店镇_2026-10_预警清单_更正.xlsx（工作表 因病）"
    other = "反馈/大店镇_2026-09_预警清单（更正）.csv"
    f = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None),
           (DADIAN, 3, W2, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None),
           (fix, 2, W1, "大店镇", "不属实", "否", "张干事", D(2026, 10, 14), None),
           (other, 2, W2, "大店镇", "不属实", "否", "张干事", D(2026, 10, 14), None))
    acc = check_feedback(f, ISSUED, AS_OF, CFG.matching.places,
                         put_in(DADIAN, "反馈/大店镇_2026-10_预警清单_更正.xlsx", other))[0]
    overruled, findings = disagreements(acc, CFG.inbox.later_marks)
    assert overruled["record_id"].to_list() == [W2] and findings["file"].to_list() == [DADIAN]
    assert other in findings["detail"][0]
    assert disagreements(acc)[0]["record_id"].sort().to_list() == [W1, W2]  # (marks not given: as before)
    st = warning_status(ISSUED, acc.with_columns(received_period=pl.lit("2026-11")), AS_OF)
    assert st.filter(pl.col("warning_id") == W1)["result"].to_list() == ["不属实"]


def test_one_file_answering_a_warning_twice_differently_is_told_back():
    """Lines of one file answering the same warning otherwise: the later line counts, the earlier
    is returned to the township to confirm; the same answer twice is no disagreement."""
    f = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None),
           (DADIAN, 3, W2, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None),
           (DADIAN, 7, W1, "大店镇", "不属实", "否", "张干事", D(2026, 10, 12), None),
           (DADIAN, 8, W2, "大店镇", "属实", "是", "张干事", D(2026, 10, 12), None))
    acc = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)[0]
    st = warning_status(ISSUED, acc.with_columns(received_period=pl.lit("2026-11")), AS_OF)
    assert st.filter(pl.col("warning_id") == W1)["status"][0] == "verified_false"
    overruled, findings = disagreements(acc)
    assert overruled.select("file", "line", "record_id", "field", "value").rows() == [(DADIAN, 2, W1, "result", "属实")]
    assert "本文件第7行" in overruled["reason"][0] and "不属实/否" in overruled["reason"][0]
    f = findings.row(0, named=True)
    assert findings.height == 1 and f["category"] == Finding.DISAGREE and f["file"] == DADIAN
    assert all(s in f["detail"] for s in ("两行", W1, "第2行 属实/是", "第7行 不属实/否"))
    assert list(returned_to_township(overruled, CFG, ISSUED)) == ["大店镇"]


def test_a_result_written_as_yes_or_no_is_told_back_with_the_values_to_write():
    """核实结果 否 or 是 (a clerk answering 是否属实) is set aside: the 反馈退回 line tells the
    township what to write instead (属实 / 不属实), not only 'unknown code'."""
    raw = pl.DataFrame({"预警编号": [W1, W2], "乡（镇）": ["大店镇"] * 2, "核实结果": ["否", "属实"],
                        "是否纳入监测": ["是", "待定"], "line": [2, 3]})
    spec = CFG.kinds["feedback"]
    cells = []
    bad = validate(standardize(raw, spec), spec, "反馈", DADIAN, None, cells)[1].sort("line")
    assert bad["line"].to_list() == [2]
    assert "'否'" in bad["reason"][0] and "应填 属实、不属实 之一" in bad["reason"][0]
    # (a 是否纳入监测 outside its list is taken as empty, the answer kept: told back with the values too)
    cell = pl.concat(cells)
    assert cell["line"].to_list() == [3] and "'待定'" in cell["reason"][0] and "应填 是、否 之一" in cell["reason"][0]


def test_included_or_not_written_as_a_clerk_says_it_is_read():
    """是否纳入监测 written 已纳入 / 已纳入监测 / 未纳入 / 暂不纳入 (as clerks say it) set the whole
    answer aside, its 属实 with it: read as 是 / 否 (`[kinds.feedback.codes]`)."""
    said = ["已纳入", "已纳入监测", "未纳入", "暂不纳入"]
    raw = pl.DataFrame({"预警编号": [W1] * 4, "核实结果": ["属实"] * 4, "是否纳入监测": said, "line": [2, 3, 4, 5]})
    spec = CFG.kinds["feedback"]
    valid, bad = validate(standardize(raw, spec), spec, "反馈", DADIAN)
    assert bad.is_empty() and valid["include_monitoring"].to_list() == ["是", "是", "否", "否"]


def test_free_text_is_kept_as_written_codes_and_dates_are_normalised():
    """备注 and 核实人 are the township's words: full-width punctuation stays (NFKC would turn
    `户主外出，未见到人` into `户主外出,未见到人`); only the compared values are normalised."""
    raw = pl.DataFrame({"预警编号": [W1], "乡（镇）": ["大店镇"], "核实结果": [" 属实 "], "是否纳入监测": ["是"],
                        "核实人": [" 张　三（村委） "], "核实日期": ["２０２６-10-12"], "备注": [" 户主外出，未见到人（电话：１３８） "],
                        "line": [2]})
    spec = CFG.kinds["feedback"]
    valid, bad = validate(standardize(raw, spec), spec, "反馈", DADIAN)
    assert bad.is_empty()
    r = valid.row(0, named=True)
    assert (r["note"], r["verifier"]) == ("户主外出，未见到人（电话：１３８）", "张　三（村委）")
    assert (r["result"], r["verify_date"]) == ("属实", D(2026, 10, 12))
    acc = check_feedback(valid, ISSUED, AS_OF, CFG.matching.places)[0]
    assert acc["note"].to_list() == ["户主外出，未见到人（电话：１３８）"]


def test_a_reason_a_clerk_put_in_brackets_after_the_answer_is_kept_in_the_note():
    """不属实（已外出）: the answer is 不属实, and 已外出 the clerk's reason for it — dropped with the
    brackets as a department's detail is (门诊慢特病（高血压）), it is kept in 备注, after the
    clerk's own note and not said twice; so is one after 是否纳入监测."""
    raw = pl.DataFrame({"预警编号": [W1, W2, W1], "乡（镇）": ["大店镇"] * 3,
                        "核实结果": ["不属实（已外出）", "属实 (户主住院)。", "属实（已外出）"],
                        "是否纳入监测": ["否", "是（边缘易致贫户）", "否"], "核实日期": ["2026-10-12"] * 3,
                        "备注": [None, "已电话回访", "已外出务工"], "line": [2, 3, 4]})
    spec = CFG.kinds["feedback"]
    valid, bad = validate(standardize(raw, spec), spec, "反馈", DADIAN, AS_OF)
    assert bad.is_empty()
    acc = check_feedback(valid, ISSUED, AS_OF)[0].sort("line")
    assert acc["result"].to_list() == ["不属实", "属实", "属实"]
    assert acc["include_monitoring"].to_list() == ["否", "是", "否"]
    assert acc["note"].to_list() == ["已外出", "已电话回访；户主住院；边缘易致贫户", "已外出务工"]


def test_what_a_clerk_wrote_in_a_column_added_for_it_is_the_note_not_nothing():
    """A clerk added a column 核实情况 beside the list's and wrote the visit there (属实，已纳入监测),
    leaving 核实结果 empty: the row read as unanswered, the warning overdue, nobody told. What it
    says is the answer's 备注 (after the list's 备注, once): an answer without 核实结果, which the
    next list asks for."""
    raw = pl.DataFrame({"预警编号": [W1, W2], "乡（镇）": ["大店镇"] * 2, "核实结果": [None, "属实"],
                        "备注": [None, "电话联系"], "核实情况": ["属实，已纳入监测", "户主住院"], "line": [2, 3]})
    spec = CFG.kinds["feedback"]
    valid, bad = validate(standardize(raw, spec), spec, "反馈", DADIAN, AS_OF)
    acc, una, _ = check_feedback(valid, ISSUED, AS_OF)
    assert una.is_empty() and acc.sort("line")["note"].to_list() == ["属实，已纳入监测", "电话联系；户主住院"]
    assert acc.sort("line")["result"].to_list() == [None, "属实"]


def test_an_answer_on_a_row_whose_household_is_not_the_warnings_is_told_back_not_taken():
    """A clerk sorted the answer columns alone (Excel's 'continue with the current selection'), or
    pasted answers in another order: each 预警编号 came back beside another household's 户编号
    and 户主姓名 and its answer — taken, silently, for the wrong family. A row naming neither the
    household nor the head any list sent under its 预警编号 is set aside saying so; one naming
    either (a head changed since, 户编号 as Excel keeps it: `="0012"`, 12) is taken."""
    sent = pl.DataFrame([township_row(W1, "大店镇", "2026-10", hh="0012") | {"户主姓名": "张三"},
                         township_row(W2, "大店镇", "2026-10", hh="0034") | {"户主姓名": "李四"}],
                        schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]})
    rows = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
              (DADIAN, 3, W2, "大店镇", "不属实", "否", "张", D(2026, 10, 12), None),
              (DADIAN, 4, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
              (DADIAN, 5, W2, "大店镇", "不属实", "否", "张", D(2026, 10, 12), None),
              (DADIAN, 6, W2, "大店镇", None, None, None, None, None)).with_columns(
        listed_household=pl.Series(["0034", '="0012"', '="0012"', "34", "0012"]),
        listed_head=pl.Series(["李 四", "张三", "张三", "王五", "张三"]))
    acc, una, rej = check_feedback(rows, issued_from_rows(sent), AS_OF, earlier_rows=sent)
    assert rej["line"].to_list() == [2, 3] and set(rej["field"]) == {"listed_household"}
    assert "0034" in rej["reason"][0] and "0012" in rej["reason"][0] and "错行" in rej["reason"][0]
    assert acc["line"].to_list() == [4, 5] and una["line"].to_list() == [6]
    told = returned_to_township(rej, CFG, ISSUED)["大店镇"]
    assert told["字段"].to_list() == ["户编号", "户编号"]


def test_unplaced_lead_answer_is_not_refused_on_township_and_ids_are_matched_loosely():
    f = fb(("反馈/大店镇.csv", 2, f" {W4.upper()} ", "大店镇", "属实", None, None, None, None))
    acc, _, rej = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)
    assert rej.is_empty() and acc["warning_id"].to_list() == [W4]


def test_a_warning_id_retyped_with_other_separators_is_the_issued_one_when_only_one_fits():
    """A 预警编号 retyped by hand (an IME's dash, the hyphen left out, spaces around it) or pasted
    with an invisible character is the issued id showing the same letters and digits; when two
    issued ids would show the same, neither is guessed."""
    f = fb(("反馈/大店镇.csv", 2, W1.replace("-", "—"), "大店镇", "属实", None, None, None, None),
           ("反馈/大店镇.csv", 3, W2.replace("-", ""), "大店镇", "不属实", None, None, None, None),
           ("反馈/大店镇.csv", 4, W1.replace("-", " – ") + "\u200b", "大店镇", "属实", None, None, None, None),
           ("反馈/大店镇.csv", 5, "YJ202610_zzzzzzzzzz", "大店镇", "属实", None, None, None, None))
    acc, _, rej = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)
    assert acc.sort("line")["warning_id"].to_list() == [W1, W2, W1]
    assert rej.select("line", "field", "value").rows() == [(5, "warning_id", "YJ202610_zzzzzzzzzz")]
    twins = ISSUED.head(2).with_columns(warning_id=pl.Series(["YJ1-23", "YJ12-3"]))
    acc, _, rej = check_feedback(fb(("反馈/大店镇.csv", 2, "YJ123", "大店镇", "属实", None, None, None, None),
                                    ("反馈/大店镇.csv", 3, "yj12-3 ", "大店镇", "属实", None, None, None, None)),
                                 twins, AS_OF, CFG.matching.places)
    assert acc["warning_id"].to_list() == ["YJ12-3"] and rej["line"].to_list() == [2]


def test_file_township():
    towns, sufs = ["大店镇", "夹沟镇", "大店集镇"], CFG.matching.places
    assert file_township("反馈/大店镇_2026-10_预警清单.csv", towns, sufs) == "大店镇"
    assert file_township("feedback/夹沟镇/清单(1).xlsx", towns, sufs) == "夹沟镇"
    assert file_township("反馈/夹沟2026年10月.xlsx", towns, sufs) == "夹沟镇"
    assert file_township("反馈/大店村_反馈.xlsx", towns, sufs) is None  # a village, not 大店镇
    assert file_township("反馈/大店集镇_反馈.xlsx", towns, sufs) == "大店集镇"  # not also 大店镇
    assert file_township("反馈/大店镇_夹沟镇_合并.xlsx", towns, sufs) is None
    assert file_township("反馈/新建 Microsoft Excel 工作表.xlsx", towns, sufs) is None


def test_an_answer_from_a_file_without_the_township_column_is_the_files_township_in_the_ledger():
    """A clerk cut the list down to the columns answered (no 乡（镇）): the county's 核实台账 showed
    the answer under no township, filtered out by anyone looking for 夹沟镇's. Its file's
    township (反馈/夹沟镇/…) is the answer's; a county's file of several townships names none."""
    rows = fb((JIAGOU, 2, W3, None, "属实", "是", "王", D(2026, 10, 12), None),
              ("反馈/县汇总.xlsx", 3, W5, None, "属实", "是", "王", D(2026, 10, 12), None),
              (JIAGOU, 4, W5, " 夹沟 ", "属实", "是", "王", D(2026, 10, 12), None))
    acc = check_feedback(rows, ISSUED, AS_OF, CFG.matching.places)[0].with_columns(received_period=pl.lit("2026-11"))
    assert acc.sort("line")["township"].to_list() == ["夹沟镇", None, " 夹沟 "]  # (one written: as written)
    ledger = answer_ledger(answer_history(acc, ISSUED))
    assert ledger.filter(pl.col("乡（镇）") == "夹沟镇")["预警编号"].to_list() == [W3]


def test_empty_delivery():
    acc, una, rej = check_feedback(DELIVERY.clear(), ISSUED, AS_OF, CFG.matching.places)
    assert acc.height == una.height == rej.height == 0
    assert "rank" in acc.columns and "township" in rej.columns


def answers(*rows):
    """rows: (received_period, file, line, warning_id, result, verify_date, note)."""
    return pl.DataFrame(
        [dict(received_period=p, file=f, line=n, warning_id=w, township="大店镇", result=r, include_monitoring=None,
              verifier=None, verify_date=d, note=t) for p, f, n, w, r, d, t in rows],
        schema_overrides={"verify_date": pl.Date, "result": pl.String, "note": pl.String})


def test_status_transitions_open_overdue_verified():
    one = ISSUED.filter(pl.col("warning_id") == W1)
    row = lambda a, on: warning_status(one, a, on).row(0, named=True)  # noqa: E731
    assert row(None, DEADLINE) | {} == dict(warning_id=W1, township="大店镇", household_id="A", status="open",
                                            result=None, verified_on=None, days_overdue=0, withdrawn=False,
                                            reopened_for=None)
    late = row(None, DEADLINE + dt.timedelta(days=9))
    assert (late["status"], late["days_overdue"]) == ("overdue", 9)
    a = answers(("2026-11", "反馈/大店镇.csv", 2, W1, "属实", D(2026, 10, 20), None))
    done = row(a, D(2026, 11, 5))
    assert (done["status"], done["result"], done["verified_on"], done["days_overdue"]) == (
        "verified_true", "属实", D(2026, 10, 20), 0)


def test_latest_answer_by_period_then_file_then_line_decides():
    a = answers(
        ("2026-11", "反馈/z.csv", 9, W1, "属实", D(2026, 10, 20), None),
        ("2026-12", "反馈/a.csv", 2, W1, "不属实", D(2026, 11, 20), None),   # later period beats later file name
        ("2026-12", "反馈/a.csv", 5, W1, None, None, "户主外出，补充说明"),   # note only: does not undo
        ("2026-11", "反馈/a.csv", 3, W2, "不属实", D(2026, 10, 20), None),
        ("2026-11", "反馈/b.csv", 1, W2, "属实", D(2026, 10, 21), None),     # later file wins
        ("2026-11", "反馈/a.csv", 4, W5, None, D(2026, 10, 21), "未遇到人"),  # partial only: still overdue
    )
    st = WarningStatus.validate(warning_status(ISSUED, a, AS_OF))
    by = {r["warning_id"]: r for r in st.iter_rows(named=True)}
    assert st.height == ISSUED.height
    assert (by[W1]["status"], by[W1]["verified_on"]) == ("verified_false", D(2026, 11, 20))
    assert by[W2]["status"] == "verified_true"
    assert (by[W5]["status"], by[W5]["days_overdue"]) == ("overdue", (AS_OF - DEADLINE).days)
    assert (by[W4]["status"], by[W4]["township"], by[W4]["household_id"]) == ("overdue", None, None)

    h = answer_history(a).filter(pl.col("warning_id") == W1)
    assert h["answer_no"].to_list() == [1, 2, 3] and h["result"].to_list() == ["属实", "不属实", None]
    assert h["decides"].to_list() == [False, True, False] and h["latest"].to_list() == [False, False, True]


def test_overdue_by_township():
    status = pl.DataFrame({
        "warning_id": ["w1", "w2", "w3", "w4", "w5"],
        "township": ["大店镇", "大店镇", "大店镇", "夹沟镇", None],
        "household_id": ["A", "B", "C", "D", None],
        "status": ["overdue", "overdue", "verified_true", "open", "verified_false"],
        "result": [None, None, "属实", None, "不属实"],
        "verified_on": [None, None, D(2026, 10, 11), None, D(2026, 10, 12)],
        "days_overdue": [3, 12, 0, 0, 0],
    })
    summary, overdue = overdue_by_township(status)
    rows = {r["乡（镇）"]: r for r in summary.iter_rows(named=True)}
    assert sorted(rows) == sorted(["夹沟镇", "大店镇", "（未落位线索）", "合计"])
    d = rows["大店镇"]
    assert (d["预警总数"], d["待核实"], d["逾期未核实"], d["已核实"], d["其中属实"], d["逾期率"], d["最长逾期天数"]) == (
        3, 0, 2, 1, 1, round(2 / 3, 4), 12)
    assert (rows["夹沟镇"]["待核实"], rows["夹沟镇"]["逾期率"]) == (1, 0.0)
    assert (rows["合计"]["预警总数"], rows["合计"]["其中不属实"], rows["合计"]["最长逾期天数"]) == (5, 1, 12)
    assert summary["乡（镇）"][-1] == "合计"
    assert overdue.rows() == [("大店镇", "w2", "B", 12), ("大店镇", "w1", "A", 3)]


def township_row(wid, town, period, village="韩湖村", hh="A", issued="2026-10-09"):
    r = {c: None for c in TOWNSHIP_COLUMNS}
    r.update({"预警编号": wid, "乡（镇）": town, "行政村": village, "户编号": hh, "风险类型": "因病",
              "下发日期": issued, "核实截止日期": "2026-10-13", "township": town, "period": period})
    return r


EARLIER = pl.DataFrame([
    township_row("w-open", "大店镇", "2026-09", hh="A", issued="2026-09-10"),
    township_row("w-over", "大店镇", "2026-10", hh="B"),
    township_row("w-done", "大店镇", "2026-10", hh="C"),
    township_row("w-late", "大店镇", "2026-09", hh="D", issued="2026-09-10"),
    township_row("w-late", "大店镇", "2026-10", hh="D", issued="2026-09-10") | {"核实人": "上期误填", "网格员": "新网格员"},  # carried copy
    township_row("w-jg", "夹沟镇", "2026-10", hh="E"),
    township_row("w-now", "大店镇", "2026-11", hh="F"),   # this period's own row
], schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]})
STATUS = pl.DataFrame({
    "warning_id": ["w-open", "w-over", "w-done", "w-late", "w-jg", "w-now"],
    "township": ["大店镇"] * 4 + ["夹沟镇", "大店镇"],
    "household_id": list("ABCDEF"),
    "status": ["open", "overdue", "verified_true", "overdue", "overdue", "open"],
    "result": [None, None, "属实", None, None, None],
    "verified_on": [None, None, D(2026, 10, 12), None, None, None],
    "days_overdue": [0, 5, 0, 40, 5, 0],
})


def test_carry_over_lists_pending_rows_overdue_first():
    c = carry_over(STATUS, EARLIER, before_period="2026-11")
    assert c.columns == ["状态", "逾期天数", *TOWNSHIP_COLUMNS, "township"]
    assert c["预警编号"].to_list() == ["w-late", "w-over", "w-open", "w-jg"]
    assert c["状态"].to_list() == ["逾期未核实", "逾期未核实", "待核实", "逾期未核实"]
    assert c["逾期天数"].to_list() == [40, 5, 0, 5]
    # feedback columns blank, even where a stored copy carried something
    assert c.select("核实结果", "是否纳入监测", "核实人", "核实日期", "备注").null_count().row(0) == (c.height,) * 5
    assert c.filter(pl.col("预警编号") == "w-late")["网格员"][0] == "新网格员"  # as last written


def test_a_carried_warning_answered_without_a_result_shows_that_answer_and_asks_for_it():
    """w-over came back with 是否纳入监测, a verifier, a date and a note but no 核实结果 (accepted,
    still overdue); w-open with nothing in it. The carried w-over row shows what the township
    sent and asks for the result; the others stay blank."""
    a = pl.DataFrame({"warning_id": ["w-over", "w-open"], "received_period": ["2026-11", "2026-11"],
                      "file": ["反馈/a.csv"] * 2, "line": [2, 3], "result": [None, None],
                      "include_monitoring": ["是", None], "verifier": ["张网格", None],
                      "verify_date": [D(2026, 10, 14), None], "note": ["家中无人，改日再访", None]})
    c = carry_over(STATUS, EARLIER, before_period="2026-11", answers=a)
    over = c.filter(pl.col("预警编号") == "w-over").row(0, named=True)
    assert (over["核实结果"], over["是否纳入监测"], over["核实人"], over["核实日期"]) == (None, "是", "张网格", "2026-10-14")
    assert over["备注"] == "上次反馈未填核实结果，请补填：家中无人，改日再访" and over["状态"] == "逾期未核实"
    others = c.filter(pl.col("预警编号") != "w-over")
    assert others.select(*FEEDBACK_COLUMNS).null_count().row(0) == (others.height,) * 5
    # an ID number the township typed into its note is masked when shown back (no full ID in its file)
    typed = a.with_columns(note=pl.Series(["已核对身份证341302198001011234，家中无人", None]))
    over = carry_over(STATUS, EARLIER, before_period="2026-11", answers=typed).filter(pl.col("预警编号") == "w-over")
    assert over["备注"][0] == "上次反馈未填核实结果，请补填：已核对身份证341302********1234，家中无人"


def test_a_list_sent_back_as_it_came_is_not_the_townships_answer_and_the_prompt_does_not_grow():
    """The 备注 this system wrote into a carried row (`请补填` before the township's earlier note)
    or a 撤回 row is not the township's answer when the list comes back with it: a row left so is
    unanswered, a row answered now keeps only the township's words, and the next list asks once."""
    from pipelines.feedback import PARTIAL_NOTE, WITHDRAWN_NOTE
    asked = f"{PARTIAL_NOTE}：家中无人，改日再访"
    f = fb((DADIAN, 2, W1, "大店镇", "属实", None, "张网格", D(2026, 10, 14), asked),
           (DADIAN, 3, W2, "大店镇", None, None, None, None, PARTIAL_NOTE),
           (JIAGOU, 4, W3, "夹沟镇", None, None, None, None, f"{PARTIAL_NOTE}：{asked}"),
           (JIAGOU, 5, W5, "夹沟镇", None, None, None, None, WITHDRAWN_NOTE))
    acc, una, _ = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)
    assert acc.sort("line").select("line", "note").rows() == [(2, "家中无人，改日再访"), (4, "家中无人，改日再访")]
    assert sorted(una["line"].to_list()) == [3, 5]
    partial = acc.filter(pl.col("line") == 4).with_columns(warning_id=pl.lit("w-over"), received_period=pl.lit("2026-11"))
    c = carry_over(STATUS, EARLIER, before_period="2026-11", answers=partial)
    assert c.filter(pl.col("预警编号") == "w-over")["备注"].to_list() == [asked]


def test_with_carry_over_puts_carried_rows_first_per_township():
    carried = carry_over(STATUS, EARLIER, before_period="2026-11")
    new = EARLIER.filter(pl.col("period") == "2026-11").drop("period").with_columns(
        pl.lit("w-new2").alias("预警编号")).vstack(EARLIER.filter(pl.col("period") == "2026-11").drop("period"))
    new = pl.concat([new, pl.DataFrame([township_row("w-jg-new", "夹沟镇", "x")]).drop("period")
                     .cast({c: pl.String for c in TOWNSHIP_COLUMNS})], how="vertical_relaxed")
    both = with_carry_over(new, carried)
    assert [(r["township"], r["预警编号"], r["状态"]) for r in both.iter_rows(named=True)] == [
        ("大店镇", "w-late", "逾期未核实"), ("大店镇", "w-over", "逾期未核实"), ("大店镇", "w-open", "待核实"),
        ("大店镇", "w-new2", "新下发"), ("大店镇", "w-now", "新下发"),
        ("夹沟镇", "w-jg", "逾期未核实"), ("夹沟镇", "w-jg-new", "新下发")]


def test_the_lists_show_the_household_number_as_the_roster_writes_it_and_say_it_is_shared():
    """Rows of households keyed per village because the roster gives their 户编号 to persons of
    several villages (`pipelines.reference.split_shared_households`: H1 and H1@夹沟镇郑楼村) go out
    with the 户编号 as written, 状态 saying it is shared; a 撤回 row (no visit), a plain
    household and a lead are written as they are."""
    note = "（底册户编号 H1 多户共用：跨 2 个村，本行只列本村的人；请核对更正底册）"
    rows = pl.DataFrame([township_row(w, t, "2026-10", hh=h) | {"状态": st} for w, t, h, st in [
        ("w1", "大店镇", "H1", "待核实"), ("w2", "夹沟镇", "H1@夹沟镇郑楼村", "新下发"),
        ("w3", "夹沟镇", "H1@夹沟镇郑楼村", "撤回"), ("w4", "大店镇", "B", "新下发"), ("w5", "大店镇", None, "新下发")]],
        schema={c: pl.String for c in ["状态", *TOWNSHIP_COLUMNS, "township", "period"]})
    notes = pl.DataFrame({"household_id": ["H1", "H1@夹沟镇郑楼村"], "note": [note, note]})
    sent = as_sent(rows, notes)
    assert sent.columns == rows.columns and sent.drop("户编号", "状态").equals(rows.drop("户编号", "状态"))
    assert sent["户编号"].to_list() == ["H1", "H1", "H1", "B", None]
    assert sent["状态"].to_list() == ["待核实" + note, "新下发" + note, "撤回", "新下发", "新下发"]
    assert as_sent(rows.filter(pl.col("户编号") == "B"), notes.clear()).equals(rows.filter(pl.col("户编号") == "B"))


def test_the_lists_mask_a_household_number_that_is_an_id_and_keep_one_that_is_not():
    """A county numbering its households by the head's 证件号码: the 户编号 goes out masked (first 6,
    last 4), in 状态 too (a member split off into a household of their own, a shared-number note);
    an 18-digit 户编号 that is no ID, and H-numbers, as written. The overdue list masks it alike."""
    from matchers.ids import check_char

    head = "34130219800101001" + check_char("34130219800101001")
    split = "34130220010203002" + check_char("34130220010203002")
    code = "341302101201000123"  # (no birth date in it: a household code)
    m = lambda i: i[:6] + "********" + i[-4:]  # noqa: E731
    rows = pl.DataFrame([township_row(w, "大店镇", "2026-10", hh=h) | {"状态": st} for w, h, st in [
        ("w1", head, "新下发"), ("w2", head + "@夹沟镇郑楼村", "新下发"),
        ("w3", code, f"待核实（王睿 {SPLIT_OFF} {split}）"), ("w4", "H9", "新下发")]],
        schema={c: pl.String for c in ["状态", *TOWNSHIP_COLUMNS, "township", "period"]})
    note = f"（底册户编号 {head} 多户共用：跨 2 个村，本行只列本村的人；请核对更正底册）"
    notes = pl.DataFrame({"household_id": [head, head + "@夹沟镇郑楼村"], "note": [note, note]})
    sent = as_sent(rows, notes, pl.Series([head, split]))
    assert sent["户编号"].to_list() == [m(head), m(head), code, "H9"]
    told = note.replace(head, m(head))
    assert sent["状态"].to_list() == ["新下发" + told, "新下发" + told, f"待核实（王睿 {SPLIT_OFF} {m(split)}）", "新下发"]
    assert sent.drop("户编号", "状态").equals(rows.drop("户编号", "状态"))
    status = pl.DataFrame({"warning_id": ["w1", "w3"], "township": ["大店镇"] * 2, "household_id": [head, code],
                           "status": ["overdue"] * 2, "result": [None, None], "verified_on": [None, None],
                           "days_overdue": [4, 3]}, schema_overrides={"verified_on": pl.Date})
    assert overdue_by_township(status, pl.Series([head]))[1]["户编号"].to_list() == [m(head), code]


def test_issued_from_rows_keeps_first_period():
    iss = issued_from_rows(EARLIER)
    late = iss.filter(pl.col("warning_id") == "w-late").row(0, named=True)
    assert iss.height == 6 and late["period"] == "2026-09" and late["issue_date"] == D(2026, 9, 10)
    assert late["deadline"] == D(2026, 10, 13)


def test_dispatch_by_risk_type_to_department():
    risks = ["因病", "住房出现安全问题", "因学", "饮水出现安全问题", "因残", "因务工就业不稳", "因产业项目失败", "缺劳动力",
             "未参加基本医疗保险", "某新风险"]
    ids = [f"w{i}" for i in range(len(risks))]
    status = pl.DataFrame({
        "warning_id": [*ids, "w-open"], "township": ["大店镇"] * (len(ids) + 1), "household_id": [*ids, "x"],
        "status": ["verified_true"] * len(ids) + ["open"], "result": ["属实"] * len(ids) + [None],
        "verified_on": [D(2026, 10, 12)] * len(ids) + [None], "days_overdue": [0] * (len(ids) + 1),
    })
    warnings = pl.DataFrame({
        "warning_id": [*ids, "w0", "w-open"], "risk_type": [*risks, "因病", "因病"],
        "rule": ["X"] * len(ids) + ["M2", "M1"], "severity": ["中"] * len(ids) + ["高", "中"],
        "basis": ["依据 341302197005011234"] + ["依据"] * (len(ids) + 1),
        "dept": ["医保"] * (len(ids) + 2),
    })
    out = dispatch(status, warnings, CFG)
    got = {d: df["风险类型"].to_list() for d, df in out.items()}
    assert got == {"医保": ["因病", "未参加基本医疗保险"], "住建": ["住房出现安全问题"], "教育": ["因学"],
                   "水利": ["饮水出现安全问题"], "残联": ["因残"], "人社": ["因务工就业不稳"],
                   "农业农村": ["因产业项目失败"], "民政": ["缺劳动力"], "乡村振兴局": ["某新风险"]}
    w0 = out["医保"].filter(pl.col("预警编号") == "w0").row(0, named=True)
    assert w0["严重程度"] == "高" and w0["预警规则"] == "M2、X" and "341302********1234" in w0["预警依据"]
    assert "w-open" not in pl.concat(list(out.values()))["预警编号"].to_list()


def test_every_configured_risk_type_has_a_department():
    risks = {r.risk_type for r in CFG.rules.values()} | set(CFG.rules["A1"]["risk_type_by_disaster"].values())
    assert risks <= set(CFG.dispatch)
    assert {CFG.dispatch[r] for r in ("因病", "因自然灾害", "突发严重困难", "义务教育阶段失学辍学")} == {
        "医保", "农业农村", "民政", "教育"}


def test_dispatch_changes_send_the_new_and_withdraw_the_overturned():
    prev = STATUS.with_columns(status=pl.lit("open"))
    assert dispatch_changes(STATUS, prev).select("warning_id", "action").rows() == [("w-done", "派单")]
    assert dispatch_changes(STATUS, STATUS).is_empty()
    # a 属实 sent last month, answered 不属实 this month: the department is told to stand down
    overturned = STATUS.with_columns(status=pl.when(pl.col("warning_id") == "w-done").then(pl.lit("verified_false"))
                                     .otherwise("status"))
    changes = dispatch_changes(overturned, STATUS)
    assert changes.select("warning_id", "action").rows() == [("w-done", "撤回（复核改为不属实）")]


def test_a_rerun_tells_the_department_of_a_dispatch_its_period_sent_that_a_corrected_answer_took_back():
    """October's run took 大店镇's 属实 for w-done and sent it to 医保 (派单_医保_2026-10). Later in the
    month 大店镇 sends a corrected file (更正: 不属实) and October is run again. Its 派单 simply no
    longer held w-done: 医保, which had the first file, was never told to stand down (a 属实
    taken back in a later month is: 撤回（复核改为不属实）). What this period's earlier run sent
    (`sent_before`: the period's status as its last run stored it) is taken back the same way."""
    september = STATUS.with_columns(status=pl.when(pl.col("warning_id") == "w-done").then(pl.lit("open"))
                                    .otherwise("status"), result=pl.lit(None, pl.Utf8))
    october_first = STATUS  # w-done verified_true: sent this period
    october_now = STATUS.with_columns(status=pl.when(pl.col("warning_id") == "w-done").then(pl.lit("verified_false"))
                                      .otherwise("status"))
    assert dispatch_changes(october_now, september, sent_before=october_first).select(
        "warning_id", "action").rows() == [("w-done", "撤回（复核改为不属实）")]
    # re-run with nothing changed: what it sent is sent again, nothing taken back
    assert dispatch_changes(october_first, september, sent_before=october_first).select(
        "warning_id", "action").rows() == [("w-done", "派单")]
    # a first run of the period: as before
    assert dispatch_changes(october_now, september, sent_before=None).is_empty()


def test_a_rerun_dates_the_warnings_its_period_did_not_send_before_by_when_they_go_out():
    """A re-run of 2026-10 (lists out on 10-09) raises w-new, which its list did not hold before:
    it goes out now, so it is dated now with its own deadline, not 10-09 (it would arrive
    overdue). A warning the list held is dated as before; one it held only as 撤回 and raised
    again goes out now too. A first run (nothing before) dates all with the period's date."""
    new = pl.DataFrame([township_row(w, "大店镇", "2026-10", hh=h) for w, h in
                        [("w-sent", "A"), ("w-new", "B"), ("w-back", "C")]]).drop("period")
    before = pl.DataFrame([township_row("w-sent", "大店镇", "2026-10") | {"状态": "新下发"},
                           township_row("w-back", "大店镇", "2026-10", hh="C") | {"状态": "撤回"}])
    now = D(2026, 12, 4)
    deadline = add_working_days(now, CFG.run.verify_working_days)[0]
    got = first_sent(new, before, now, deadline).select("预警编号", "下发日期", "核实截止日期").rows()
    assert got == [("w-sent", "2026-10-09", "2026-10-13"), ("w-new", "2026-12-04", deadline.isoformat()),
                   ("w-back", "2026-12-04", deadline.isoformat())]
    assert first_sent(new, None, now, deadline).equals(new)
    status = warning_status(issued_from_rows(first_sent(new, before, now, deadline).with_columns(
        period=pl.lit("2026-10"))), None, D(2026, 12, 4))
    assert status.filter(pl.col("warning_id") == "w-new")["status"].item() == "open"


def test_a_warning_an_earlier_rerun_sent_keeps_its_date_when_the_period_is_run_again():
    """2026-10's lists went out on 10-09; a --dept re-run on 12-04 sent w-late (dated 12-04, due
    12-09). Run again on 12-20 (a cascade from an earlier month), w-late is in the list before:
    it stays as sent on 12-04, not re-dated 10-09 with a deadline of 10-13 (overdue from before it
    went out). w-sent, sent with the lists, keeps the period's date."""
    new = pl.DataFrame([township_row(w, "大店镇", "2026-10", hh=h) for w, h in
                        [("w-sent", "A"), ("w-late", "B")]]).drop("period")
    before = pl.DataFrame([township_row("w-sent", "大店镇", "2026-10") | {"状态": "新下发"},
                           township_row("w-late", "大店镇", "2026-10", hh="B", issued="2026-12-04")
                           | {"状态": "新下发", "核实截止日期": "2026-12-09"}])
    now = D(2026, 12, 20)
    deadline = add_working_days(now, CFG.run.verify_working_days)[0]
    got = first_sent(new, before, now, deadline).select("预警编号", "下发日期", "核实截止日期").rows()
    assert got == [("w-sent", "2026-10-09", "2026-10-13"), ("w-late", "2026-12-04", "2026-12-09")]
    # --issue-date re-dates the lists (10-05, due 10-08), earlier or later: w-sent follows, w-late was sent later
    for issued, due in (("2026-10-05", "2026-10-08"), ("2026-10-12", "2026-10-15")):
        redated = new.with_columns(下发日期=pl.lit(issued), 核实截止日期=pl.lit(due))
        got = first_sent(redated, before, now, deadline).select("预警编号", "下发日期", "核实截止日期").rows()
        assert got == [("w-sent", issued, due), ("w-late", "2026-12-04", "2026-12-09")]


def test_the_warnings_a_rerun_sends_now_are_those_no_list_of_the_period_held_in_that_township():
    """A re-run of 2026-10 (lists out 10-09) on 12-20: w-late, sent by an earlier re-run on 12-04,
    keeps its date and is not sent now; nor is u-late, an unplaced lead (no township: the county's
    list) that re-run sent too. w-mv, listed in 大店镇 before and in 夹沟镇 now (a corrected roster),
    is sent to 夹沟镇 now; w-new, new, is sent now; w-sent, sent with the lists, is not."""
    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township"]}
    new = pl.DataFrame([township_row("w-sent", "大店镇", "2026-10"),
                        township_row("w-late", "大店镇", "2026-10", issued="2026-12-04"),
                        township_row("u-late", None, "2026-10", issued="2026-12-04"),
                        township_row("w-mv", "夹沟镇", "2026-10", issued="2026-12-20"),
                        township_row("w-new", "大店镇", "2026-10", issued="2026-12-20")], schema=schema)
    before = pl.DataFrame([township_row(w, t, "2026-10", issued=d) | {"状态": "新下发"} for w, t, d in (
        ("w-sent", "大店镇", "2026-10-09"), ("w-late", "大店镇", "2026-12-04"), ("u-late", None, "2026-12-04"),
        ("w-mv", "大店镇", "2026-10-09"))])
    assert sent_now(new, before, D(2026, 10, 9)) == 2  # w-mv, w-new
    assert sent_now(new, None, D(2026, 10, 9)) == 4  # (a first run: whatever is not dated with the lists)


def test_a_rerun_whose_corrected_roster_moved_a_household_tells_both_townships_and_takes_either_answer():
    """2026-10's lists went out on 10-09: w-mv (household A) and w-stay to 大店镇. On 12-04 the
    period is re-run with its 户籍底册 corrected: A lives in 夹沟镇 王庄村. 夹沟镇 gets w-mv as a warning
    its list did not hold: dated 12-04 with its own deadline (not due 10-13, overdue on arrival), 状态
    saying where it came from and its first 下发日期; 大店镇's list keeps the row it was sent, 状态
    迁出 naming 夹沟镇 (returned untouched it is no answer); the county's report names the move.
    Either township's answer is taken, a third's is refused. Run again unchanged, the lists stay
    as they are; no longer raised, both rows are withdrawn."""
    def row(wid, town, hh, village="韩湖村", issued="2026-10-09", due="2026-10-13"):
        return township_row(wid, town, "2026-10", village=village, hh=hh, issued=issued) | {
            "核实截止日期": due, "户主姓名": f"户主{hh}", "涉及人员": f"户主{hh}（本人）", "户类型": "脱贫户",
            "预警依据": "年度个人自付 8,000 元", "来源记录编号": f"JS-{hh}", "网格员": "大店网格员"}

    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township"]}
    before = with_carry_over(pl.DataFrame([row("w-mv", "大店镇", "A"), row("w-stay", "大店镇", "B")], schema=schema),
                             pl.DataFrame(schema={"状态": pl.String, "逾期天数": pl.Int64, **schema}))
    new = pl.DataFrame([row("w-mv", "夹沟镇", "A", village="王庄村"), row("w-stay", "大店镇", "B")], schema=schema)
    now = D(2026, 12, 4)
    deadline = add_working_days(now, CFG.run.verify_working_days)[0]

    def rerun(new, before):
        rows = with_carry_over(first_sent(new, before, now, deadline), before.head(0))
        rows, out = moved_in_rerun(rows, before)
        return rows, out, pl.concat([rows, out, withdrawn_rows(before, rows, None)])

    rows, out, stored = rerun(new, before)
    assert rows.select("预警编号", "township", "状态", "下发日期", "核实截止日期").rows() == [
        ("w-stay", "大店镇", "新下发", "2026-10-09", "2026-10-13"),
        ("w-mv", "夹沟镇", "新下发（由大店镇韩湖村迁入，原下发日期2026-10-09）", "2026-12-04", deadline.isoformat())]
    assert out.columns == rows.columns and out.height == 1
    left = out.row(0, named=True)
    assert (left["预警编号"], left["township"], left["下发日期"], left["逾期天数"]) == ("w-mv", "大店镇", "2026-10-09", 0)
    assert left["状态"].startswith("迁出（") and "夹沟镇" in left["状态"] and left["核实结果"] is None
    # a household no longer 大店镇's: its list keeps the warning's number, not who they are or why
    # (the 预警编号 finds the row on the list it was sent)
    assert [c for c in MOVED_OUT_BLANK if left[c] is not None] == [] and left["行政村"] == "韩湖村"
    assert {"户编号", "户主姓名", "涉及人员", "预警依据"} <= set(MOVED_OUT_BLANK) and left["网格员"] == "大店网格员"
    # (what the warning is stays: 大店镇 was sent it, and it files the row on its risk type's sheet)
    assert left["风险类型"] == "因病"
    # answered since, in a later period's 反馈/ (its latest answer): 夹沟镇 is told no visit is needed
    answered = pl.DataFrame({"warning_id": ["w-mv", "w-mv", "w-stay"], "township": ["大店镇"] * 3,
                             "result": ["不属实", "属实", "属实"], "verify_date": [D(2026, 11, 3), D(2026, 11, 20), None],
                             "period": ["2026-11"] * 3, "rank": [2, 1, 1]})
    told, _ = moved_in_rerun(with_carry_over(first_sent(new, before, now, deadline), before.head(0)), before, answered)
    assert told["状态"].to_list() == [
        "新下发", "新下发（由大店镇韩湖村迁入，原下发日期2026-10-09；大店镇已于2026-11-20反馈属实，无需再核实）"]
    # ... an answer whose row left 乡（镇） blank (a valid answer: the file tells its township) says so all the same
    blank = answered.with_columns(township=pl.lit(None, pl.String))
    told, _ = moved_in_rerun(with_carry_over(first_sent(new, before, now, deadline), before.head(0)), before, blank)
    assert told["状态"][1] == "新下发（由大店镇韩湖村迁入，原下发日期2026-10-09；已于2026-11-20反馈属实，无需再核实）"
    found = moved_warnings(None, None, out, rows)
    assert found["count"].to_list() == [1] and found["detail"][0].startswith("大店镇 → 夹沟镇：w-mv（本期重新运行")

    issued = issued_from_rows(stored.with_columns(period=pl.lit("2026-10")))
    mv = issued.filter(pl.col("warning_id") == "w-mv").row(0, named=True)
    assert (mv["township"], sorted(mv["townships"]), mv["deadline"], mv["withdrawn"]) == (
        "夹沟镇", sorted(["夹沟镇", "大店镇"]), deadline, False)
    status = warning_status(issued, None, D(2026, 12, 8))
    assert status.filter(pl.col("warning_id") == "w-mv").select("township", "status").row(0) == ("夹沟镇", "open")
    answers = fb((DADIAN, 2, "w-mv", "大店镇", "属实", "是", "王网格", D(2026, 10, 12), None),
                 (JIAGOU, 2, "w-mv", "夹沟镇", "属实", "是", "李网格", D(2026, 12, 5), None),
                 ("反馈/马坡镇_2026-10_预警清单.csv", 2, "w-mv", "马坡镇", "属实", None, None, D(2026, 12, 5), None),
                 (DADIAN, 3, "w-mv", "大店镇", None, None, None, None, None)).with_columns(
        list_state=pl.Series([None, None, None, left["状态"]]))
    accepted, unanswered, refused = check_feedback(answers, issued, D(2026, 12, 31), CFG.matching.places,
                                                   townships=["马坡镇"], first_out={"2026-10": D(2026, 10, 9)})
    assert accepted["file"].to_list() == [DADIAN, JIAGOU] and unanswered["line"].to_list() == [3]
    assert refused["file"].to_list() == ["反馈/马坡镇_2026-10_预警清单.csv"]

    # the period run again, nothing changed since: the rows as stored
    again, out_again, _ = rerun(new, stored)
    assert again.equals(rows) and out_again.equals(out)
    # run again without w-mv (a corrected file): withdrawn in both lists
    _, gone_out, gone = rerun(new.filter(pl.col("预警编号") == "w-stay"), stored)
    assert gone_out.is_empty()
    assert sorted(gone.filter(pl.col("预警编号") == "w-mv").select("township", "状态").rows()) == sorted([
        ("大店镇", "撤回"), ("夹沟镇", "撤回")])


def _moved_rerun_lists(old, new_town):
    """2026-10's lists (out 10-09) sent w-mv (household A) and w-stay to `old`; its re-run on 12-04
    with a corrected 户籍底册 places A in `new_town`. -> (new rows, rerun): `rerun(new, before)`
    re-runs the period with `new` rows over the rows stored `before`, giving what it stores."""
    def row(wid, town, hh, village="韩湖村"):
        return township_row(wid, town, "2026-10", village=village, hh=hh) | {
            "户主姓名": f"户主{hh}", "涉及人员": f"户主{hh}（本人）", "户类型": "脱贫户",
            "预警依据": "年度个人自付 8,000 元", "来源记录编号": f"JS-{hh}", "网格员": "网格员"}

    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township"]}

    def rerun(new, before, now=D(2026, 12, 4)):
        deadline = add_working_days(now, CFG.run.verify_working_days)[0]
        rows = with_carry_over(first_sent(new, before, now, deadline), before.head(0))
        rows, out = moved_in_rerun(rows, before)
        return pl.concat([rows, out, withdrawn_rows(before, rows, None)])

    first = pl.DataFrame([row("w-mv", old, "A"), row("w-stay", old, "B")], schema=schema)
    new = pl.DataFrame([row("w-mv", new_town, "A", village="王庄村"), row("w-stay", old, "B")], schema=schema)
    return with_carry_over(first, pl.DataFrame(schema={"状态": pl.String, "逾期天数": pl.Int64, **schema})), new, rerun


@pytest.mark.parametrize("old, new_town", [("大店镇", "夹沟镇"), ("夹沟镇", "大店镇")])
def test_a_moved_warning_a_later_rerun_withdraws_keeps_its_household_and_what_was_sent(old, new_town):
    """A re-run moved w-mv from `old`'s list to `new_town`'s (`old` keeps a 迁出 row without who the
    household is); a later re-run no longer raises it: 撤回 in both lists. The warning is still
    household A's (warning_status, 派单), and a 属实 the visit found is dispatched with the 预警依据
    the lists sent (the new township's row), not the 迁出 row's blanks, whichever township sorts last."""
    stored, new, rerun = _moved_rerun_lists(old, new_town)
    moved = rerun(new, stored)
    gone = rerun(new.filter(pl.col("预警编号") == "w-stay"), moved)
    assert sorted(gone.filter(pl.col("预警编号") == "w-mv")["状态"].to_list()) == ["撤回", "撤回"]
    issued = issued_from_rows(gone.with_columns(period=pl.lit("2026-10")))
    answer = fb(("反馈/x.csv", 2, "w-mv", old, "属实", "是", "王网格", D(2026, 10, 12), None)).with_columns(
        received_period=pl.lit("2026-11"), rank=pl.lit(1, pl.Int64))
    status = warning_status(issued, answer, D(2026, 12, 8)).filter(pl.col("warning_id") == "w-mv")
    assert status.select("township", "household_id", "status", "withdrawn").row(0) == (
        new_town, "A", "verified_true", True)
    sent = dispatch(status, pl.DataFrame(schema={"warning_id": pl.String, "risk_type": pl.String}), CFG, sent=gone)
    assert [r for df in sent.values() for r in df.select("乡（镇）", "户编号", "预警依据").rows()] == [
        (new_town, "A", "年度个人自付 8,000 元")]


def test_a_moved_warning_a_later_rerun_withdraws_is_counted_once():
    """The console counts warnings taken back, not rows: w-mv, moved from 大店镇 to 夹沟镇 by a
    re-run, is withdrawn by the next in both lists (大店镇's 迁出 row and 夹沟镇's), one warning.
    Run once more, nothing more is taken back, one warning is 撤回 in all."""
    stored, new, rerun = _moved_rerun_lists("大店镇", "夹沟镇")
    moved = rerun(new, stored)
    gone = rerun(new.filter(pl.col("预警编号") == "w-stay"), moved)
    back = gone.filter(pl.col("状态") == "撤回")
    assert back.height == 2 and withdrawn_count(back, moved) == (1, 1)
    again = rerun(new.filter(pl.col("预警编号") == "w-stay"), gone).filter(pl.col("状态") == "撤回")
    assert withdrawn_count(again, gone) == (0, 1) and withdrawn_count(again, None) == (0, 1)


@pytest.mark.parametrize("state", ["null", "absent"])
def test_a_rerun_over_lists_stored_before_their_state_was_keeps_their_dates_and_counts_what_it_takes_back(state):
    """A period stored by a version that did not store 状态 reads it null (the warehouse adds the
    column when a later period is stored), or without it (none was stored since). Its rows were all
    listed then (nothing was 撤回 or 迁出): a re-run keeps their dates (none is sent now), and one it
    no longer raises is taken back now (it was re-dated, sent now, and counted as never held; absent,
    the run failed)."""
    stored, new, _ = _moved_rerun_lists("大店镇", "大店镇")
    old = stored.with_columns(状态=pl.lit(None, pl.String)) if state == "null" else stored.drop("状态")
    now = D(2026, 12, 4)
    sent = first_sent(new, old, now, add_working_days(now, CFG.run.verify_working_days)[0])
    assert sent["下发日期"].to_list() == ["2026-10-09"] * 2 and sent_now(sent, old, D(2026, 10, 9)) == 0
    rows, out = moved_in_rerun(with_carry_over(sent, stored.head(0)), old)
    assert out.is_empty() and rows["状态"].to_list() == ["新下发"] * 2
    rows = with_carry_over(sent.filter(pl.col("预警编号") == "w-stay"), stored.head(0))
    assert withdrawn_count(withdrawn_rows(old, rows, None), old) == (1, 1)


def test_a_warning_withdrawn_then_raised_again_in_another_township_keeps_the_old_townships_answer():
    """w-mv went to 大店镇 (10-09); a re-run moved it to 夹沟镇 (大店镇 keeps 迁出), a second no longer
    raised it (撤回 in both), a third raises it again, still in 夹沟镇. 大店镇 was sent it: its list
    keeps a 迁出 row (without household A's details), and its answer from the list of 10-09 is taken,
    not refused as another township's; 夹沟镇's row says where it came from and since when."""
    stored, new, rerun = _moved_rerun_lists("大店镇", "夹沟镇")
    gone = rerun(new.filter(pl.col("预警编号") == "w-stay"), rerun(new, stored))
    back = rerun(new, gone).filter(pl.col("预警编号") == "w-mv")
    assert sorted(back.select("township", pl.col("状态").str.slice(0, 2)).rows()) == [("大店镇", "迁出"), ("夹沟镇", "新下")]
    left = back.filter(pl.col("township") == "大店镇").row(0, named=True)
    assert [c for c in MOVED_OUT_BLANK if left[c] is not None] == []
    assert back.filter(pl.col("township") == "夹沟镇")["状态"].item() == "新下发（由大店镇韩湖村迁入，原下发日期2026-10-09）"
    issued = issued_from_rows(back.with_columns(period=pl.lit("2026-10")))
    answer = fb(("反馈/大店镇_2026-10_预警清单.csv", 2, "w-mv", "大店镇", "属实", "是", "王网格", D(2026, 10, 12), None))
    accepted, _, refused = check_feedback(answer, issued, D(2026, 12, 31), CFG.matching.places,
                                          first_out={"2026-10": D(2026, 10, 9)})
    assert (accepted.height, refused.height) == (1, 0), refused["reason"].to_list()


def test_a_rerun_that_moves_a_warning_on_to_a_third_township_says_the_same_when_run_again():
    """w-mv went to 大店镇 (10-09); a re-run moved it to 夹沟镇 王庄村, another on to 马坡镇: both
    earlier townships keep a 迁出 row naming 马坡镇, and 马坡镇's row says it came from 夹沟镇 王庄村,
    where the lists held it last, since 10-09. Run again unchanged, the lists stay as they are (the
    note does not turn to 大店镇, the first 迁出 row's place)."""
    stored, new, rerun = _moved_rerun_lists("大店镇", "夹沟镇")
    to_c = new.with_columns(township=pl.when(pl.col("预警编号") == "w-mv").then(pl.lit("马坡镇")).otherwise("township"))
    third = rerun(to_c, rerun(new, stored))
    mv = third.filter(pl.col("预警编号") == "w-mv").sort("township")
    assert mv.select("township", pl.col("状态").str.slice(0, 2)).rows() == [
        ("大店镇", "迁出"), ("夹沟镇", "迁出"), ("马坡镇", "新下")]
    assert mv.filter(pl.col("township") == "马坡镇")["状态"].item() == "新下发（由大店镇韩湖村经夹沟镇王庄村迁入，原下发日期2026-10-09）"
    assert rerun(to_c, third).equals(third)


def _to(new, town, village):
    """`new` rows with w-mv's household placed in `town` `village`."""
    mv = pl.col("预警编号") == "w-mv"
    return new.with_columns(**{c: pl.when(mv).then(pl.lit(v)).otherwise(c)
                               for c, v in (("township", town), ("乡（镇）", town), ("行政村", village))})


def test_a_warning_a_second_rerun_moves_back_says_it_came_back_since_the_first_date():
    """w-mv went to 大店镇 (10-09); a re-run on 12-04 moved it to 夹沟镇, another on 12-20 moves it
    back. 大店镇 was told 迁出 in between, so it gets it again now (dated 12-20, its own deadline,
    counted as sent now), 状态 saying it came back from 夹沟镇 and that 大店镇 first had it on
    10-09; 夹沟镇 keeps its 迁出 row as it was sent it (12-04). Run again on 12-28, the lists stay
    as they are (before: the first date turned to 12-20, 大店镇's re-dated row). Moved on to 马坡镇
    then, the first date and place still show."""
    stored, new, rerun = _moved_rerun_lists("大店镇", "夹沟镇")
    moved = rerun(new, stored)
    home = _to(new, "大店镇", "韩湖村")
    back = rerun(home, moved, D(2026, 12, 20))
    mv = back.filter(pl.col("预警编号") == "w-mv").sort("township")
    due = add_working_days(D(2026, 12, 20), CFG.run.verify_working_days)[0].isoformat()
    assert mv.select("township", "状态", "下发日期", "核实截止日期").rows() == [
        ("大店镇", "新下发（由夹沟镇王庄村迁回，原下发日期2026-10-09）", "2026-12-20", due),
        ("夹沟镇", mv["状态"][1], "2026-12-04", mv["核实截止日期"][1])]
    assert mv["状态"][1].startswith("迁出（") and "大店镇" in mv["状态"][1]
    assert sent_now(back.filter(pl.col("状态") == "新下发（由夹沟镇王庄村迁回，原下发日期2026-10-09）"), moved,
                    D(2026, 10, 9)) == 1
    assert rerun(home, back, D(2026, 12, 28)).equals(back)
    on = rerun(_to(new, "马坡镇", "马庄村"), back, D(2026, 12, 28))
    assert on.filter(pl.col("township") == "马坡镇")["状态"].item() == "新下发（由大店镇韩湖村迁入，原下发日期2026-10-09）"


def test_a_warning_a_rerun_no_longer_raises_is_withdrawn_and_stays_known_as_issued():
    """2026-11 re-run with a higher threshold no longer raises w-now (sent before as 新下发) and
    its earlier period withdrew w-late (carried before): both come back as 撤回 rows, as written,
    with a note; w-over, answered since, is closed, not withdrawn. From those rows the warnings
    are still issued (an answer to them is taken, not refused as unknown) and `withdrawn`: one
    no township answered is verified_false with no result (closed by the county, within the
    SPEC's four states: never carried, not overdue, not counted as to verify), one answered
    keeps what the visit found."""
    before = EARLIER.filter(pl.col("预警编号").is_in(["w-now", "w-late", "w-over", "w-jg"])).with_columns(
        状态=pl.when(pl.col("period") == "2026-11").then(pl.lit("新下发")).otherwise(pl.lit("逾期未核实")),
        逾期天数=pl.lit(0, pl.Int64)).unique("预警编号", keep="last").drop("period")
    rows = with_carry_over(EARLIER.filter(pl.col("预警编号") == "w-jg").drop("period"),
                           before.head(0).select("状态", "逾期天数", *TOWNSHIP_COLUMNS, "township"))
    status_earlier = STATUS.with_columns(  # w-late: withdrawn by its own period's re-run, unanswered
        status=pl.when(pl.col("warning_id").is_in(["w-late", "w-over"])).then(pl.lit("verified_false")).otherwise("status"),
        result=pl.when(pl.col("warning_id") == "w-over").then(pl.lit("不属实")).otherwise("result"))
    back = withdrawn_rows(before, rows, status_earlier)
    assert back.columns == rows.columns
    assert sorted(back["预警编号"]) == ["w-late", "w-now"]
    assert set(back["状态"]) == {"撤回"} and back["备注"].str.contains("已撤回").all()
    assert back.filter(pl.col("预警编号") == "w-late")["下发日期"].item() == "2026-09-10"  # as written
    assert withdrawn_rows(None, rows, status_earlier).is_empty()
    # stored as 2026-11's rows, the later run still knows them as issued
    stored = pl.concat([EARLIER.filter(pl.col("period") < "2026-11").with_columns(
        状态=pl.lit("新下发"), 逾期天数=pl.lit(0, pl.Int64)),
        pl.concat([rows, back]).with_columns(period=pl.lit("2026-11"))], how="diagonal_relaxed")
    issued = issued_from_rows(stored)
    assert issued.filter(pl.col("warning_id").is_in(["w-now", "w-late"]))["withdrawn"].all()
    assert not issued.filter(pl.col("warning_id") == "w-jg")["withdrawn"].item()
    answer = fb((DADIAN, 2, "w-now", "大店镇", "属实", "是", "张干事", D(2026, 12, 5), None))
    accepted, _, refused = check_feedback(answer, issued, D(2026, 12, 31), CFG.matching.places)
    assert (accepted.height, refused.height) == (1, 0)
    status = warning_status(issued, accepted.with_columns(received_period=pl.lit("2026-12")), D(2026, 12, 31))
    now = status.filter(pl.col("warning_id") == "w-now").row(0, named=True)
    assert (now["status"], now["result"], now["days_overdue"], now["withdrawn"]) == ("verified_true", "属实", 0, True)
    late = status.filter(pl.col("warning_id") == "w-late").row(0, named=True)
    assert (late["status"], late["result"], late["days_overdue"], late["withdrawn"]) == ("verified_false", None, 0, True)
    assert not status.filter(~pl.col("warning_id").is_in(["w-now", "w-late"]))["withdrawn"].any()
    assert carry_over(status, stored).filter(pl.col("预警编号").is_in(["w-now", "w-late"])).is_empty()
    summary, overdue = overdue_by_township(status)
    assert "w-now" not in overdue["预警编号"] and "w-late" not in overdue["预警编号"]
    assert summary.filter(pl.col("乡（镇）") == "合计")["预警总数"].item() == status.height - 1  # (w-late)


def test_the_county_report_names_the_warnings_a_rerun_takes_back_and_sends_now():
    """2026-10's lists went out on 10-09: w-keep and w-gone (M1) to 大店镇, w-jg (M1、M2) to 夹沟镇;
    an earlier re-run took w-old back (撤回). Re-run on 12-04 with a changed threshold, the period
    no longer raises w-gone and w-jg and raises w-new in 大店镇. The console only counts them (2
    withdrawn, 1 sent now): 数据质量报告 names them per township with their rules, and the date and
    deadline of the one sent now, so the county can tell the townships what changed in the lists
    they hold. w-old, taken back before, is not withdrawn again; a first run changes nothing."""
    def row(wid, town, rule, issued="2026-10-09", state="新下发"):
        return township_row(wid, town, "2026-10", hh=wid, issued=issued) | {"预警规则": rule, "状态": state}

    schema = {c: pl.String for c in ["状态", *TOWNSHIP_COLUMNS, "township"]}
    before = pl.DataFrame([row("w-keep", "大店镇", "M1"), row("w-gone", "大店镇", "M1"), row("w-jg", "夹沟镇", "M1、M2"),
                           row("w-old", "大店镇", "M1", state="撤回")], schema=schema).select(
        "状态", pl.lit(0, pl.Int64).alias("逾期天数"), *TOWNSHIP_COLUMNS, "township")
    now = D(2026, 12, 4)
    deadline = add_working_days(now, CFG.run.verify_working_days)[0]
    new = first_sent(pl.DataFrame([row("w-keep", "大店镇", "M1"), row("w-new", "大店镇", "M1")], schema=schema).drop("状态"),
                     before, now, deadline)
    rows = with_carry_over(new, before.head(0))
    withdrawn = withdrawn_rows(before, rows, None)
    assert withdrawn_count(withdrawn, before) == (2, 3) and sent_now(new, before, ISSUE) == 1  # (the console's counts)
    found = rerun_changes(new, withdrawn, before, ISSUE)
    assert found.schema == QUALITY_COLUMNS and set(found["category"]) == {Finding.RERUN}
    assert found.select("detail", "count").rows() == [
        ("大店镇：w-gone（M1）本次重新运行不再预警，清单中标为撤回，无需核实（已反馈的核实结果保留）"
         " — withdrawn: no longer warned by the re-run", 1),
        ("夹沟镇：w-jg（M1、M2）本次重新运行不再预警，清单中标为撤回，无需核实（已反馈的核实结果保留）"
         " — withdrawn: no longer warned by the re-run", 1),
        (f"大店镇：w-new（M1）本次重新运行新下发（此前清单未列或已撤回），下发日期 2026-12-04，核实截止 {deadline.isoformat()}"
         " — sent now: raised by the re-run, not listed before or withdrawn", 1)]
    assert rerun_changes(new, withdrawn_rows(None, rows, None), None, ISSUE).is_empty()


def test_a_warning_withdrawn_because_an_earlier_one_now_covers_it_names_that_one():
    """September re-run with M1 at 3,000 raised 张玲丽's M1 in September (YJ202609-aaaaaaaaaa,
    3,572), so October's re-run suppresses October's own (YJ202610-aaaaaaaaaa, 5,386, sent on
    11-02) as its repeat and carries September's. The 撤回 row told 大店镇 '重新研判后不再预警，无需核实'
    beside the carried row of the same household and risk: read as her risk cleared. It names the
    warning that covers it now, in the list and in the county's report; returned untouched, that
    note is not the township's answer either. One no warning covers keeps the plain note."""
    from pipelines.feedback import WITHDRAWN_NOTE
    schema = {c: pl.String for c in ["状态", *TOWNSHIP_COLUMNS, "township"]}

    def row(wid, hh, state="新下发", issued="2026-11-02"):
        return township_row(wid, "大店镇", "2026-10", hh=hh, issued=issued) | {"预警规则": "M1", "状态": state}

    before = pl.DataFrame([row("YJ202610-aaaaaaaaaa", "H7"), row("YJ202610-bbbbbbbbbb", "H8")], schema=schema).select(
        "状态", pl.lit(0, pl.Int64).alias("逾期天数"), *TOWNSHIP_COLUMNS, "township")
    carried = pl.DataFrame([row("YJ202609-aaaaaaaaaa", "H7", state="待核实", issued="2026-12-07")], schema=schema).select(
        "状态", pl.lit(0, pl.Int64).alias("逾期天数"), *TOWNSHIP_COLUMNS, "township")
    back = withdrawn_rows(before, carried, None).sort("预警编号")
    covered = ("该预警已撤回：同户同类风险已由本清单 YJ202609-aaaaaaaaaa 预警，请按该编号核实，本条无需核实"
               "（已反馈的核实结果仍保留）")
    assert back.select("预警编号", "备注").rows() == [("YJ202610-aaaaaaaaaa", covered), ("YJ202610-bbbbbbbbbb", WITHDRAWN_NOTE)]
    said = rerun_changes(carried.head(0).drop("状态", "逾期天数"), back, before, D(2026, 11, 2))["detail"].item()
    assert "YJ202610-aaaaaaaaaa（M1，同户同类风险由 YJ202609-aaaaaaaaaa 预警）" in said and "YJ202610-bbbbbbbbbb（M1）" in said
    f = fb((DADIAN, 2, W1, "大店镇", None, None, None, None, covered))
    acc, una, _ = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)
    assert acc.is_empty() and una["line"].to_list() == [2]


def test_what_a_visit_found_stands_when_a_rerun_withdraws_the_warning():
    """w-done was verified 属实 and sent to 医保; a re-run no longer raises it: it stays
    verified_true and sent (the family's difficulty was seen at the door; a changed threshold
    does not take the department's help back), no 撤回 row is written for it."""
    status = STATUS.with_columns(withdrawn=pl.col("warning_id") == "w-done")
    warnings = pl.DataFrame({"warning_id": ["w-done"], "risk_type": ["因病"], "rule": ["M1"], "severity": ["中"],
                             "basis": ["依据"], "dept": ["医保"]})
    assert status.filter(pl.col("warning_id") == "w-done")["status"].item() == "verified_true"
    assert dispatch_changes(status, STATUS).is_empty()
    assert dispatch(status, warnings, CFG)["医保"]["预警编号"].to_list() == ["w-done"]


def test_a_warning_a_rerun_took_back_after_a_visit_found_it_is_dispatched_as_its_list_said():
    """October re-run with M1 at 3,000 sent w-m1 (因病, 医保's M1); townships answered 属实 in
    November's 反馈/; October then re-run with the default threshold took it back (撤回): the
    warnings of October no longer hold it. November's dispatch sent it to 乡村振兴局 (the office
    for a risk type it does not know) with 风险类型, 严重程度, 预警规则 and 预警依据 blank — the
    department that must act on it never got it. A warning missing from `warnings` is described
    as the lists sent it (`sent`: township rows, the 撤回 row too)."""
    status = STATUS.with_columns(withdrawn=pl.col("warning_id") == "w-done")
    sent = pl.DataFrame([township_row("w-done", "大店镇", "2026-10", hh="C") | {
        "状态": "撤回", "严重程度": "中", "预警规则": "M1", "来源部门": "医保",
        "预警依据": "M1：侯军 2026年累计个人自付 4,501.78 元 ≥ 3,000 元（2 笔结算）"}],
        schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]})
    others = pl.DataFrame({"warning_id": ["w-open"], "risk_type": ["因病"], "rule": ["M1"], "severity": ["中"],
                           "basis": ["依据"], "dept": ["医保"]})
    out = dispatch(status, others, CFG, sent=sent)
    assert list(out) == ["医保"]
    row = out["医保"].row(0, named=True)
    assert (row["预警编号"], row["风险类型"], row["严重程度"], row["预警规则"], row["来源部门"]) == (
        "w-done", "因病", "中", "M1", "医保")
    assert row["预警依据"] == "M1：侯军 2026年累计个人自付 4,501.78 元 ≥ 3,000 元（2 笔结算）"
    # a warning `warnings` holds is described by it, whatever a list said
    assert dispatch(status, others.with_columns(warning_id=pl.lit("w-done"), basis=pl.lit("新依据")), CFG,
                    sent=sent)["医保"]["预警依据"].to_list() == ["M1：新依据"]


def test_returned_to_township_includes_validator_rejections():
    """(An unreadable 核实日期 or 是否纳入监测 alone no longer sets a row aside,
    `kinds.feedback.blank_unreadable`: 夹沟镇's row is set aside for its 核实结果, the others named too.)"""
    raw = pl.DataFrame({"预警编号": [W2, W3], "乡（镇）": ["大店镇", "夹沟镇"], "核实结果": ["已核实", "待查"],
                        "是否纳入监测": ["是", "待定"], "核实日期": ["2026-10-12", "明天"], "line": [2, 3]})
    spec = CFG.kinds["feedback"]
    valid, bad = validate(standardize(raw, spec), spec, "反馈", "反馈/混合.csv")
    assert valid.is_empty() and bad.height == 2
    rej = pl.concat([checked()[2], bad], how="diagonal_relaxed")
    out = returned_to_township(rej, CFG, ISSUED)
    assert set(out) == {"大店镇", "夹沟镇"}
    d = out["大店镇"]
    assert d.columns == ["文件", "行号", "预警编号", "字段", "填报内容", "原因"]
    assert d.filter(pl.col("文件") == "反馈/混合.csv")["字段"].to_list() == ["核实结果"]
    assert d.filter(pl.col("文件") == "反馈/混合.csv")["原因"][0].startswith("核实结果 ")
    assert sorted(d.filter(pl.col("文件") == DADIAN)["行号"].to_list()) == [4, 5, 7, 8]
    assert out["夹沟镇"]["字段"].to_list() == ["文件", "核实结果"]
    assert "；是否纳入监测 代码不在允许值中" in out["夹沟镇"]["原因"][1]
    assert "；核实日期 日期无法解析" in out["夹沟镇"]["原因"][1]
    assert sum(df.height for df in out.values()) == rej.height
    lost = returned_to_township(bad.with_columns(record_id=pl.lit("YJ-unknown")), CFG, None)
    assert list(lost) == [UNKNOWN_TOWNSHIP]


def test_a_returned_file_named_with_an_id_number_is_told_back_masked():
    """A clerk named the file after the household it answers (李伟学342201194806178891核实表.csv):
    its 反馈退回 is a township file, which holds no full ID number; the name and a reason quoting
    it (a later file overruling) are masked as the county's ledger masks them."""
    named = "反馈/大店镇/李伟学342201194806178891核实表.csv"
    rej = check_feedback(fb((named, 2, W1, "大店镇", "属实", "是", "张", D(2026, 10, 1), None)), ISSUED, AS_OF)[2]
    said = rej.with_columns(reason=pl.lit(f"与后放入的 {named} 第2行答复不一致"))
    out = returned_to_township(pl.concat([rej, said]), CFG, ISSUED)["大店镇"]
    assert out["文件"].to_list() == ["反馈/大店镇/李伟学342201********8891核实表.csv"] * 2
    assert not out.select(pl.all().cast(pl.String).str.contains("342201194806178891").any()).row(0).count(True)


def test_an_answer_whose_date_cannot_be_read_is_taken_undated_and_the_township_told():
    """A clerk's 属实 with 核实日期 `11月` (no day) was set aside whole and returned: the family was
    visited, but the warning stayed open and counted overdue until the row came back again, while
    an answer with 核实日期 left empty was taken. Now the date is left empty
    (`kinds.feedback.blank_unreadable`) and the answer taken as one without a date; the township
    is told in its 反馈退回 to fill the date in, the row not set aside."""
    raw = pl.DataFrame({"预警编号": [W1, W2, W4, "YJ202610-zzzzzzzzzz"], "乡（镇）": ["大店镇"] * 4,
                        "核实结果": ["属实", "属实", None, "属实"], "是否纳入监测": ["是", "是", None, "是"],
                        "核实人": ["张干事", "张干事", None, "张干事"], "核实日期": ["11月", "2026-10-12", "上周五", "11/31"],
                        "line": [2, 3, 4, 5]})
    spec = CFG.kinds["feedback"]
    cells = []
    valid, bad = validate(standardize(raw, spec), spec, "反馈", DADIAN, D(2026, 11, 30), cells)
    assert bad.is_empty()
    acc, una, rej = check_feedback(valid, ISSUED, AS_OF, CFG.matching.places)
    assert rej["line"].to_list() == [5]  # (set aside for its unknown 预警编号 alone)
    assert acc.height + una.height + rej.height == raw.height
    assert acc.select("warning_id", "result", "verify_date").rows() == [(W1, "属实", None), (W2, "属实", D(2026, 10, 12))]
    assert una["warning_id"].to_list() == [W4]  # (only an unreadable date written: no answer)
    told = values_not_read(pl.concat(cells), acc, disagreements(acc)[0], spec.fields)
    back = returned_to_township(told, CFG, ISSUED)
    assert list(back) == ["大店镇"]
    assert back["大店镇"].select("文件", "行号", "预警编号", "字段", "填报内容").rows() == [
        (DADIAN, 2, W1, "核实日期", "11月"), (DADIAN, 4, W4, "核实日期", "上周五"),
        (DADIAN, 5, "YJ202610-zzzzzzzzzz", "核实日期", "11/31")]
    taken, empty, refused = back["大店镇"]["原因"]
    assert taken.startswith("核实日期“11月”读不出，核实结果已采纳，请补填核实日期（年月日）")
    assert empty.startswith("核实日期“上周五”读不出，已按未填处理，请补填核实日期（年月日）")
    assert refused.startswith("核实日期“11/31”读不出，已按未填处理")  # (its refusal told beside it, by check_feedback)
    # the warning is verified as by an answer whose 核实日期 was left empty: no date, not overdue
    status = warning_status(ISSUED, acc.with_columns(received_period=pl.lit("2026-11")), AS_OF)
    blank = warning_status(ISSUED, acc.with_columns(received_period=pl.lit("2026-11"), verify_date=pl.lit(None, pl.Date)),
                           AS_OF)
    got = status.filter(pl.col("warning_id") == W1).select("status", "verified_on", "days_overdue").row(0)
    assert got == ("verified_true", None, 0) == blank.filter(pl.col("warning_id") == W1).select(
        "status", "verified_on", "days_overdue").row(0)
    assert status.filter(pl.col("warning_id") == W2)["verified_on"].item() == D(2026, 10, 12)


def test_an_answer_whose_note_is_over_long_is_taken_and_the_township_asked_for_a_shorter_one():
    """A grid worker pasted the whole visit report into 备注 (over 500 characters): the 属实 was
    set aside with it and the warning stayed overdue, though the family was visited. The note is
    left empty as an unreadable value is (`kinds.feedback.blank_unreadable`), the answer taken, and
    the township asked for a shorter note."""
    report = "经入户核实，" + "该户家庭成员因病住院治疗，医疗费用较高，家庭收入明显下降。" * 20
    raw = pl.DataFrame({"预警编号": [W1], "乡（镇）": ["大店镇"], "核实结果": ["属实"], "是否纳入监测": ["是"],
                        "核实日期": ["2026-10-12"], "备注": [report], "line": [2]})
    spec, cells = CFG.kinds["feedback"], []
    valid, bad = validate(standardize(raw, spec), spec, "反馈", DADIAN, D(2026, 11, 30), cells)
    assert bad.is_empty()
    acc = check_feedback(valid, ISSUED, AS_OF, CFG.matching.places)[0]
    assert acc.select("warning_id", "result", "note").rows() == [(W1, "属实", None)]
    told = returned_to_township(values_not_read(pl.concat(cells), acc, disagreements(acc)[0], spec.fields), CFG, ISSUED)
    reason = told["大店镇"]["原因"][0]
    assert reason.startswith("备注过长（超过500字符），未读入；核实结果已采纳，请精简后补填备注") and "读不出" not in reason
    # (the console's note names the lines, not what two such notes say about their families)
    two = validate(standardize(pl.concat([raw, raw.with_columns(备注=pl.lit("户主王建" + report), line=pl.lit(3, pl.Int64))]), spec),
                   spec, "反馈", DADIAN, D(2026, 11, 30), cells := [])[0]
    assert two.height == 2
    said = blanked_notes(cells, {"note": ["备注"]}, DADIAN, "反馈")[0].problem
    assert "第 2、3 行" in said and "王建" not in said and "住院" not in said


def test_an_answer_whose_inclusion_cannot_be_read_is_taken_and_the_township_asked_for_it():
    """是否纳入监测 written 待定 (neither 是 nor 否) set the whole answer aside, its 属实 with it;
    an answer leaving it empty was taken. Now it is taken as left empty and the township asked
    for 是/否 in its 反馈退回."""
    raw = pl.DataFrame({"预警编号": [W1], "乡（镇）": ["大店镇"], "核实结果": ["属实"], "是否纳入监测": ["待定"],
                        "核实人": ["张干事"], "核实日期": ["2026-10-12"], "line": [2]})
    spec = CFG.kinds["feedback"]
    cells = []
    valid, bad = validate(standardize(raw, spec), spec, "反馈", DADIAN, D(2026, 11, 30), cells)
    assert bad.is_empty()
    acc, _, rej = check_feedback(valid, ISSUED, AS_OF, CFG.matching.places)
    assert rej.is_empty() and acc.select("warning_id", "result", "include_monitoring").rows() == [(W1, "属实", None)]
    back = returned_to_township(values_not_read(pl.concat(cells), acc, disagreements(acc)[0], spec.fields), CFG, ISSUED)
    assert back["大店镇"].select("行号", "字段", "填报内容").rows() == [(2, "是否纳入监测", "待定")]
    assert back["大店镇"]["原因"][0].startswith("是否纳入监测“待定”读不出，核实结果已采纳，请补填是否纳入监测（是/否）")


def test_answers_before_any_list_are_told_back_to_the_township_they_name():
    """A first run whose 反馈/ holds answers (nothing issued yet), or a township never warned
    before: the roster's townships tell whose file or row it is (not （未能确定乡镇）)."""
    nothing = ISSUED.clear()
    f = fb((DADIAN, 2, W1, None, "属实", None, None, None, None),
           ("反馈/答复.csv", 3, W2, "夹沟", "属实", None, None, None, None),
           ("反馈/答复.csv", 4, W3, None, "属实", None, None, None, None))
    rej = check_feedback(f, nothing, AS_OF, CFG.matching.places, townships=["大店镇", "夹沟镇"])[2]
    assert rej["township"].to_list() == ["大店镇", "夹沟镇", None]
    back = returned_to_township(rej, CFG, None, ["大店镇", "夹沟镇"])
    assert {t: df["行号"].to_list() for t, df in back.items()} == {"大店镇": [2], "夹沟镇": [3], UNKNOWN_TOWNSHIP: [4]}
    validator_set_aside = rej.drop("township")  # (the validator's rows name no township: the file tells)
    assert set(returned_to_township(validator_set_aside, CFG, None, ["大店镇", "夹沟镇"])) == {"大店镇", UNKNOWN_TOWNSHIP}
    assert set(returned_to_township(validator_set_aside, CFG, None)) == {UNKNOWN_TOWNSHIP}


@pytest.mark.parametrize("town", ["大店", "大店镇", " 大店镇 ", "大店镇\u3000", None])
def test_township_spellings_are_accepted(town):
    f = fb((DADIAN, 2, W1, town, "属实", None, None, None, None))
    acc, _, rej = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)
    assert acc.height == 1 and rej.is_empty()


def roster_of(*households):
    """households: (household_id, township, village, group) -> a roster of one person each."""
    return pl.DataFrame([dict(person_id=f"{h}-01", household_id=h, township=t, village=v, group=g, name=f"户主{h}",
                              relation="户主", household_size=1, income_per_capita=5000.0, household_type="脱贫户")
                         for h, t, v, g in households])


GRID_NOW = pl.DataFrame({"household_id": ["A", "B"], "grid_worker": ["网格员甲", "夹沟网格员"],
                         "grid_worker_phone": ["13700000001", "13700000002"]})


def test_a_carried_warning_follows_its_household_to_the_township_the_roster_now_places_it():
    """Household B (w-over, 大店镇 韩湖村) is now on the roster in 夹沟镇 王庄村 3组: its open warning
    leaves 大店镇's list for 夹沟镇's, with the village, group and grid worker it has now and a 状态
    saying where it came from; the days overdue still count from the first deadline. D (w-late) left
    the roster: it stays where it was last written, and 状态 says so. A and E did not move."""
    roster = roster_of(("A", "大店镇", "韩湖村", None), ("B", "夹沟镇", "王庄村", "3组"), ("E", "夹沟镇", "韩湖村", None))
    c = carry_over(STATUS, EARLIER, before_period="2026-11", roster=roster, grid=GRID_NOW)
    by = {r["预警编号"]: r for r in c.iter_rows(named=True)}
    assert c["township"].to_list() == ["大店镇", "大店镇", "夹沟镇", "夹沟镇"]
    moved = by["w-over"]
    assert (moved["township"], moved["乡（镇）"], moved["行政村"], moved["村民小组"]) == ("夹沟镇", "夹沟镇", "王庄村", "3组")
    assert (moved["网格员"], moved["网格员电话"]) == ("夹沟网格员", "13700000002")
    assert moved["状态"] == "逾期未核实（由大店镇韩湖村迁入，原下发日期2026-10-09）"
    assert (moved["逾期天数"], moved["下发日期"], moved["核实截止日期"]) == (5, "2026-10-09", "2026-10-13")
    assert moved["备注"] is None  # nothing the township did not write comes back as its answer
    assert by["w-late"]["township"] == "大店镇" and by["w-late"]["状态"] == "逾期未核实（该户已不在本期户籍底册）"
    assert by["w-late"]["网格员"] == "新网格员"
    # unmoved: as last written, but for the grid worker the grid names now (A's was replaced)
    assert (by["w-open"]["状态"], by["w-open"]["行政村"], by["w-open"]["网格员"], by["w-open"]["网格员电话"]) == (
        "待核实", "韩湖村", "网格员甲", "13700000001")
    # a household the grid does not list keeps the worker last written
    assert by["w-jg"]["网格员"] == EARLIER.filter(pl.col("预警编号") == "w-jg")["网格员"].item()
    assert by["w-jg"]["状态"] == "逾期未核实"


def test_a_carried_warning_of_a_household_the_roster_re_saved_in_excel_spells_otherwise_stays_with_it():
    """The lists went out with 户编号 0012 (w-over) and h0034 (w-jg); this period's roster, re-saved in
    Excel and retyped, spells them 12 and H0034: the same households, not gone from the roster. Their
    carried rows show 户编号 as the roster spells it now and take its place and grid worker."""
    earlier = EARLIER.with_columns(户编号=pl.col("户编号").replace({"B": "0012", "E": "h0034"}))
    roster = roster_of(("A", "大店镇", "韩湖村", None), ("12", "夹沟镇", "王庄村", "3组"), ("H0034", "夹沟镇", "韩湖村", None))
    grid = GRID_NOW.with_columns(household_id=pl.col("household_id").replace("B", "12"))
    by = {r["预警编号"]: r for r in carry_over(STATUS, earlier, before_period="2026-11", roster=roster, grid=grid).iter_rows(named=True)}
    assert (by["w-over"]["户编号"], by["w-over"]["township"], by["w-over"]["网格员"]) == ("12", "夹沟镇", "夹沟网格员")
    assert by["w-over"]["状态"] == "逾期未核实（由大店镇韩湖村迁入，原下发日期2026-10-09）"
    assert (by["w-jg"]["户编号"], by["w-jg"]["状态"]) == ("H0034", "逾期未核实")
    assert by["w-late"]["状态"] == "逾期未核实（该户已不在本期户籍底册）"  # (D: gone indeed)


def test_a_warning_listed_in_two_townships_takes_answers_from_both_and_counts_where_it_is_now():
    """w-mv was issued to 大店镇 in October and carried to 夹沟镇 in November (its household moved):
    an answer from either township's file is taken, one from a third township is not; its status,
    the overdue summary and the dispatch name 夹沟镇, the township that lists it now."""
    rows = pl.DataFrame([
        township_row("w-mv", "大店镇", "2026-10", hh="B"),
        township_row("w-mv", "夹沟镇", "2026-11", hh="B", village="王庄村"),
    ], schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]})
    iss = issued_from_rows(rows)
    assert iss.select("township", "period", "issue_date").row(0) == ("夹沟镇", "2026-10", ISSUE)
    f = fb(("反馈/大店镇_2026-10_预警清单.csv", 2, "w-mv", "大店镇", None, None, None, None, "已迁走"),
           ("反馈/夹沟镇_2026-11_预警清单.csv", 2, "w-mv", "夹沟镇", "属实", "是", "王", D(2026, 11, 10), None),
           ("反馈/朱仙庄镇_2026-11_预警清单.csv", 2, "w-mv", "朱仙庄镇", "属实", None, None, None, None))
    acc, _, rej = check_feedback(f, iss, D(2026, 12, 5), CFG.matching.places)
    assert acc["township"].to_list() == ["大店镇", "夹沟镇"]
    assert rej["file"].to_list() == ["反馈/朱仙庄镇_2026-11_预警清单.csv"] and "another township" in rej["reason"][0]
    st = warning_status(iss, acc.with_columns(received_period=pl.lit("2026-12")), D(2026, 12, 5))
    assert st.select("township", "status").row(0) == ("夹沟镇", "verified_true")
    sent = dispatch(st, pl.DataFrame({"warning_id": ["w-mv"], "risk_type": ["因病"]}), CFG)
    assert sent["医保"]["乡（镇）"].to_list() == ["夹沟镇"]
    overdue = warning_status(iss, None, D(2026, 12, 5))
    summary, listed = overdue_by_township(overdue)
    assert summary["乡（镇）"].to_list() == ["夹沟镇", "合计"] and listed["乡（镇）"].to_list() == ["夹沟镇"]


def test_moved_warnings_name_the_township_that_no_longer_lists_them():
    roster = roster_of(("A", "大店镇", "韩湖村", None), ("B", "夹沟镇", "王庄村", "3组"), ("E", "夹沟镇", "韩湖村", None))
    c = carry_over(STATUS, EARLIER, before_period="2026-11", roster=roster, grid=GRID_NOW)
    found = moved_warnings(c, EARLIER.filter(pl.col("period") < "2026-11"))
    assert found.select("category", "count").rows() == [("预警随户迁移 warnings moved with their household", 1)]
    assert found["detail"][0].startswith("大店镇 → 夹沟镇：w-over（户已迁入夹沟镇")
    # a household that moved while a member was split off elsewhere moved with its household
    split_elsewhere = c.with_columns(状态=pl.col("状态") + "（户主B 已分户至 H8，现住大店镇吕台村2组）")
    assert moved_warnings(split_elsewhere, EARLIER.filter(pl.col("period") < "2026-11"))["detail"].to_list() == [
        found["detail"][0]]
    assert moved_warnings(carry_over(STATUS, EARLIER, before_period="2026-11"), EARLIER).is_empty()


def test_a_carried_warning_a_rerun_moves_is_named_as_marked_moved_out_in_the_old_list():
    """2026-11's lists (first run) carried w-over (overdue, household B) in 大店镇. November is re-run
    with its 户籍底册 corrected: B lives in 夹沟镇. 大店镇's re-published list keeps a 迁出 row; the
    county's report named the move only as one between periods, `大店镇清单不再列出`, which its
    list contradicts: it says 大店镇's row is marked 迁出 and its answer still taken."""
    earlier = EARLIER.filter(pl.col("period") < "2026-11")
    before = carry_over(STATUS, EARLIER, before_period="2026-11")
    roster = roster_of(("A", "大店镇", "韩湖村", None), ("B", "夹沟镇", "王庄村", "3组"), ("E", "夹沟镇", "韩湖村", None))
    c = carry_over(STATUS, EARLIER, before_period="2026-11", roster=roster, grid=GRID_NOW)
    rows, out = moved_in_rerun(c, before)
    assert out.select("预警编号", "township").rows() == [("w-over", "大店镇")]
    found = moved_warnings(c, earlier, out, rows)
    assert found["detail"].to_list() == [
        "大店镇 → 夹沟镇：w-over（本期重新运行时户籍底册载该户在夹沟镇，未核实的预警转入其清单（下发日期不变），"
        "大店镇清单中该行标为迁出，其已反馈的核实结果照常采纳）"]
    # (not re-run: 大店镇's list never held it this period, and no longer lists it)
    assert "大店镇清单不再列出" in moved_warnings(c, earlier)["detail"].item()


def test_an_open_warning_about_a_member_split_off_goes_where_the_member_lives_now():
    """Four open warnings of 大店镇 韩湖村 1组. w-m4 (M4, about 王睿 of household H1) and w-same (about
    赵六 of H9) are about persons alone, and all of them were split off into a new household
    (王睿 as H3-01 in 夹沟镇 王庄村 3组; 赵六 as H10-01 in the same group); w-two names two persons of
    H7, one of whom (李四) was split off into H8 in 吕台村 while 张三 stayed. w-hh (a 因病 row with M2:
    about the household) is not given as a warning about persons. The warnings keep their 户编号
    (the household they were raised under); w-m4 goes to 夹沟镇's list with H3's place and grid
    worker, w-same takes H10's grid worker, w-two stays and says where 李四 lives now."""
    rows = pl.DataFrame([township_row(w, "大店镇", "2026-10", hh=hh) | {"村民小组": "1组", "网格员": "旧网格员"}
                         for w, hh in (("w-m4", "H1"), ("w-two", "H7"), ("w-hh", "H1"), ("w-same", "H9"))],
                        schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]})
    status = pl.DataFrame({"warning_id": ["w-m4", "w-two", "w-hh", "w-same"], "status": ["open"] * 4,
                           "days_overdue": [0] * 4})
    roster = pl.DataFrame([dict(person_id=p, household_id=p.split("-")[0], township=t, village=v, group=g, name=n,
                                relation=r, household_size=1, income_per_capita=5000.0, household_type="脱贫户")
                           for p, t, v, g, n, r in (
                               ("H1-01", "大店镇", "韩湖村", "1组", "王友", "户主"),
                               ("H3-01", "夹沟镇", "王庄村", "3组", "王睿", "户主"),
                               ("H7-01", "大店镇", "韩湖村", "1组", "张三", "户主"),
                               ("H8-01", "大店镇", "吕台村", "2组", "李四", "户主"),
                               ("H9-01", "大店镇", "韩湖村", "1组", "钱七", "户主"),
                               ("H10-01", "大店镇", "韩湖村", "1组", "赵六", "户主"))])
    grid = pl.DataFrame({"household_id": ["H1", "H3", "H7", "H9", "H10"],
                         "grid_worker": ["网格员甲", "夹沟网格员", "网格员甲", "网格员甲", "网格员乙"],
                         "grid_worker_phone": ["1", "2", "1", "1", "3"]})
    persons = pl.DataFrame({"warning_id": ["w-m4", "w-two", "w-two", "w-same"],
                            "person_id": ["H3-01", "H7-01", "H8-01", "H10-01"]})
    c = carry_over(status, rows, before_period="2026-11", roster=roster, grid=grid, persons=persons)
    by = {r["预警编号"]: r for r in c.iter_rows(named=True)}
    m4 = by["w-m4"]
    assert (m4["township"], m4["乡（镇）"], m4["行政村"], m4["村民小组"], m4["户编号"]) == ("夹沟镇", "夹沟镇", "王庄村", "3组", "H1")
    assert (m4["网格员"], m4["网格员电话"]) == ("夹沟网格员", "2")
    assert m4["状态"] == "待核实（王睿 已分户至 H3，由大店镇韩湖村1组迁入，原下发日期2026-10-09）"
    same = by["w-same"]
    assert (same["township"], same["行政村"], same["户编号"], same["网格员"]) == ("大店镇", "韩湖村", "H9", "网格员乙")
    assert same["状态"] == "待核实（赵六 已分户至 H10）"
    two = by["w-two"]
    assert (two["township"], two["行政村"], two["网格员"]) == ("大店镇", "韩湖村", "网格员甲")
    assert two["状态"] == "待核实（李四 已分户至 H8，现住大店镇吕台村2组）"
    assert (by["w-hh"]["township"], by["w-hh"]["状态"], by["w-hh"]["网格员"]) == ("大店镇", "待核实", "网格员甲")
    found = moved_warnings(c, rows)
    assert found["detail"].to_list() == [
        "大店镇 → 夹沟镇：w-m4（涉及人员已分户至夹沟镇的户，未核实的预警转入其清单，大店镇清单不再列出）"]
    # a re-run of 2026-11 whose first run listed them all in 大店镇 (its roster before the split):
    # 大店镇's 迁出 row says the person was split off, not that the household's place was corrected
    # (H1 still lives in 大店镇), and the report says the row is marked 迁出 in 大店镇's list
    before = carry_over(status, rows, before_period="2026-11")
    listed, out = moved_in_rerun(c, before)
    assert out["预警编号"].to_list() == ["w-m4"]
    assert out["状态"].item() == ("迁出（本期户籍底册载涉及人员已分户至夹沟镇的户，预警已转入夹沟镇清单，涉及人员的信息不再列出；"
                                 "已上门核实的，核实结果仍可按此预警编号反馈）")
    assert moved_warnings(c, rows, out, listed)["detail"].to_list() == [
        "大店镇 → 夹沟镇：w-m4（涉及人员已分户至夹沟镇的户，未核实的预警转入其清单，大店镇清单中该行标为迁出，其已反馈的核实结果照常采纳）"]
    # without knowing whom the warnings name, a household that did not move keeps them all
    c = carry_over(status, rows, before_period="2026-11", roster=roster, grid=grid)
    assert set(c["township"]) == {"大店镇"} and set(c["状态"]) == {"待核实"}


def test_a_township_written_as_places_are_is_that_township():
    """A returned row or file naming its township short, as places are written (竹核乡 for
    竹核彝族乡, 额木庭高勒 for 额木庭高勒苏木), was set aside as another township's: the feedback
    loop cut only 镇/乡/街道 endings. It now compares townships as every place is
    (`matching.places`), and a config copied before, holding `feedback.township_suffixes`, loads."""
    issued = ISSUED.with_columns(township=pl.Series(["竹核彝族乡", "竹核彝族乡", "额木庭高勒苏木", None, "四开乡"]))
    rows = fb(("反馈/竹核乡_2026-10_预警清单.csv", 2, W1, "竹核乡", "属实", "是", "吉克", D(2026, 10, 12), None),
              ("反馈/竹核乡_2026-10_预警清单.csv", 3, W2, "竹核", "不属实", "否", "吉克", D(2026, 10, 12), None),
              ("反馈/额木庭高勒反馈.xlsx", 2, W3, "额木庭高勒", "属实", "是", "巴特尔", D(2026, 10, 12), None),
              ("反馈/额木庭高勒反馈.xlsx", 3, W5, "额木庭高勒", "属实", "是", "巴特尔", D(2026, 10, 12), None))
    acc, _, rej = check_feedback(rows, issued, AS_OF, CFG.matching.places)
    assert acc["warning_id"].to_list() == [W1, W2, W3]
    assert rej["record_id"].to_list() == [W5] and rej["township"].to_list() == ["额木庭高勒苏木"]  # (四开乡's, in its file)
    assert file_township("反馈/竹核乡_2026-10_预警清单.csv", issued["township"].drop_nulls(), CFG.matching.places) == "竹核彝族乡"
    import tomllib
    from config import DEFAULT_CONFIG, build_config, check_values
    raw = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    old = dict(raw, feedback=dict(raw["feedback"], township_suffixes=["街道办事处", "办事处", "街道", "镇", "乡"]))
    check_values(old, raw)
    assert build_config(old, raw).feedback == CFG.feedback


def test_a_visit_on_the_day_the_list_went_out_or_on_the_day_of_this_run_is_taken():
    """核实日期 is early only before 下发日期 and late only after `as_of`: a visit the day the list
    went out, or on the day this run issues its lists, is an answer; the day before or after is not."""
    rows = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", ISSUE, None),
              (DADIAN, 3, W2, "大店镇", "属实", "是", "张干事", AS_OF, None),
              (DADIAN, 4, W1, "大店镇", "属实", "是", "张干事", ISSUE - dt.timedelta(days=1), None),
              (DADIAN, 5, W2, "大店镇", "属实", "是", "张干事", AS_OF + dt.timedelta(days=1), None))
    acc, una, rej = check_feedback(rows, ISSUED, AS_OF, CFG.matching.places)
    assert acc.select("line", "verify_date").rows() == [(2, ISSUE), (3, AS_OF)] and una.is_empty()
    assert rej.select("line", "field").rows() == [(4, "verify_date"), (5, "verify_date")]


def test_a_slipped_year_or_a_tenth_is_read_so_up_to_the_issue_date_and_the_run_s_day_inclusive():
    """The readings of a 核实日期 as a year's slip (Excel's typing year, a clerk's last year) or as
    the 10th Excel kept as a number hold when the day read lies between the 下发日期 and the run's
    day, both days included. (ISSUE 2026-10-09, AS_OF 2026-11-05.)"""
    f = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2027, 10, 9), None),   # a year on: the issue date
           (DADIAN, 3, W2, "大店镇", "属实", "是", "张干事", D(2027, 11, 5), None),   # a year on: the run's day
           (JIAGOU, 4, W3, "夹沟镇", "属实", "是", "张干事", D(2025, 10, 9), None),   # a year back: the issue date
           (JIAGOU, 5, W5, "夹沟镇", "属实", "是", "张干事", D(2025, 11, 5), None))   # a year back: the run's day
    acc, _, rej = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)
    assert rej.is_empty()
    assert acc.sort("line").select("line", "verify_date").rows() == [
        (2, ISSUE), (3, AS_OF), (4, ISSUE), (5, AS_OF)]
    # 10.1 for a typed 10.10 (a list out on the 10th), 10.2 for a typed 10.20 (the run on the 20th)
    tenth = ISSUED.with_columns(issue_date=pl.lit(D(2026, 10, 10)))
    f = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张干事", D(2026, 10, 1), None),
           (DADIAN, 3, W2, "大店镇", "属实", "是", "张干事", D(2026, 10, 2), None)).with_columns(
        verify_date_tens=pl.Series([D(2026, 10, 10), D(2026, 10, 20)]))
    acc, _, rej = check_feedback(f, tenth, D(2026, 10, 20), CFG.matching.places)
    assert rej.is_empty() and acc.select("line", "verify_date").rows() == [(2, D(2026, 10, 10)), (3, D(2026, 10, 20))]


# --- hand mutation testing, round 5 (see the commit messages for the mutants each test kills) ---

def test_a_full_township_name_in_a_path_wins_over_a_stem_two_townships_share_and_a_community_is_none():
    """新城镇 and 新城街道 share the stem 新城: a file naming one in full is that township's, one
    naming only 新城 fits both (unknown). A bare stem before 社区 or 居委 names a community, not
    the township (as before 村)."""
    towns, p = ["新城镇", "新城街道"], CFG.matching.places
    assert file_township("反馈/新城街道_2026-10_预警清单.csv", towns, p) == "新城街道"
    assert file_township("反馈/新城镇/清单.xlsx", towns, p) == "新城镇"
    assert file_township("反馈/新城2026年10月.xlsx", towns, p) is None
    assert file_township("反馈/大店社区_反馈.xlsx", ["大店镇"], p) is None
    assert file_township("反馈/大店居委会_反馈.xlsx", ["大店镇"], p) is None
    assert file_township("反馈/大店镇_反馈.xlsx", ["大店镇", None, ""], p) == "大店镇"  # (a township left blank)


def test_disagreements_name_the_field_that_differs_and_a_later_answer_without_a_result_overrules_nothing():
    """OCT put in first, NOV later. W1: only 核实结果 differs -> field result; W2: only
    是否纳入监测 differs -> field include_monitoring; W3: NOV adds only 是否纳入监测 (no result):
    OCT's answer still decides and is not overruled by it, nor is NOV's line told back."""
    f = fb((OCT, 2, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
           (OCT, 3, W2, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
           (OCT, 4, W3, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
           (NOV, 2, W1, "大店镇", "不属实", "是", "李", D(2026, 10, 14), None),
           (NOV, 3, W2, "大店镇", "属实", "否", "李", D(2026, 10, 14), None),
           (NOV, 4, W3, "大店镇", None, "否", None, None, "补充"))
    issued = ISSUED.with_columns(township=pl.when(pl.col("warning_id") == W3).then(pl.lit("大店镇"))
                                 .otherwise("township"))
    acc = check_feedback(f, issued, AS_OF, CFG.matching.places, put_in(OCT, NOV))[0]
    assert acc.height == 6
    overruled, findings = disagreements(acc)
    assert overruled.sort("line").select("file", "line", "record_id", "field", "value").rows() == [
        (OCT, 2, W1, "result", "属实"), (OCT, 3, W2, "include_monitoring", "是")]
    assert findings["count"].to_list() == [2]


def test_a_file_named_a_correction_answering_a_warning_twice_differently_is_told_back():
    """A 更正 file corrects the list before it, but two lines of that file answering one warning
    otherwise are still a disagreement within the file."""
    fix = "反馈/大店镇_2026-10_预警清单_更正.xlsx"
    f = fb((fix, 2, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
           (fix, 5, W1, "大店镇", "不属实", "否", "张", D(2026, 10, 12), None))
    acc = check_feedback(f, ISSUED, AS_OF, CFG.matching.places)[0]
    overruled, _ = disagreements(acc, CFG.inbox.later_marks)
    assert overruled.select("file", "line", "field").rows() == [(fix, 2, "result")]


def test_overdue_summary_counts_both_results_and_warnings_of_unknown_withdrawal_and_an_empty_status():
    """已核实 counts 属实 and 不属实; a status whose `withdrawn` is unknown (null) is counted, not
    taken as withdrawn; the overdue list writes 户编号 as the roster does; with no warning at all
    the 合计 row's 逾期率 is 0."""
    status = pl.DataFrame({
        "warning_id": ["w1", "w2", "w3", "w4", "w5"], "township": ["大店镇", "大店镇", "大店镇", "夹沟镇", "大店镇"],
        "household_id": ["A", "B", "C", "H1@夹沟镇郑楼村", "F"],
        "status": ["verified_false", "verified_true", "open", "overdue", "verified_false"],
        "result": ["不属实", "属实", None, None, "不属实"],
        "verified_on": [None] * 5, "days_overdue": [0, 0, 0, 4, 0], "withdrawn": [None] * 5,
    }, schema_overrides={"verified_on": pl.Date, "withdrawn": pl.Boolean})
    summary, overdue = overdue_by_township(status)
    d = summary.filter(pl.col("乡（镇）") == "大店镇").row(0, named=True)
    assert (d["预警总数"], d["待核实"], d["已核实"], d["其中属实"], d["其中不属实"]) == (4, 1, 3, 1, 2)
    assert overdue.rows() == [("夹沟镇", "w4", "H1", 4)]
    assert summary["乡（镇）"].to_list() == ["大店镇", "夹沟镇", "合计"]  # (townships in name order)
    towns = ["夹沟镇", "大店镇", "栏杆镇", "朱仙庄镇", "曹村镇", "桃园镇", "永安镇", None]
    many = pl.DataFrame({"warning_id": [f"m{i}" for i in range(len(towns))], "township": towns,
                         "household_id": None, "status": "open", "result": None, "verified_on": None,
                         "days_overdue": 0}, schema_overrides={"household_id": pl.String, "result": pl.String,
                                                              "verified_on": pl.Date})
    assert overdue_by_township(many)[0]["乡（镇）"].to_list() == [
        *sorted(t for t in towns if t), "（未落位线索）", "合计"]
    summary, overdue = overdue_by_township(status.clear())
    assert summary.rows() == [("合计", 0, 0, 0, 0, 0, 0, 0, 0.0, 0)] and overdue.is_empty()


CARRY_SCHEMA = {c: pl.String for c in ["状态", *TOWNSHIP_COLUMNS, "township", "period"]}


def test_carry_over_takes_the_listed_row_the_last_answer_and_leaves_unplaced_leads():
    """w-mv's re-run listed it in 夹沟镇 and left 大店镇 a 迁出 row (stored after it): the carried
    row is 夹沟镇's. An unplaced lead (no township) is not carried. Of two partial answers the
    last is shown, a verifier alone is shown too (ID numbers masked). Rows of one township and
    as many days are ordered by 下发日期 before 行政村."""
    rows = pl.DataFrame([
        township_row("w-mv", "夹沟镇", "2026-10", hh="B") | {"状态": "新下发"},
        township_row("w-mv", "大店镇", "2026-10", hh=None) | {"状态": "迁出（预警已转入夹沟镇清单）"},
        township_row("w-lead", None, "2026-10", hh=None) | {"状态": "新下发"},
        township_row("w-b", "大店镇", "2026-10", village="韩湖村", hh="C", issued="2026-09-10") | {"状态": "新下发"},
        township_row("w-a", "大店镇", "2026-10", village="王庄村", hh="D", issued="2026-09-20") | {"状态": "新下发"},
    ], schema=CARRY_SCHEMA)
    status = pl.DataFrame({"warning_id": ["w-mv", "w-lead", "w-a", "w-b"], "status": ["open"] * 4,
                           "days_overdue": [0] * 4})
    answers = pl.DataFrame({"warning_id": ["w-a", "w-a"], "received_period": ["2026-11", "2026-12"],
                            "file": ["反馈/a.csv", "反馈/b.csv"], "line": [2, 2], "result": [None, None],
                            "include_monitoring": [None, None], "verifier": [None, "张网格 341302198001011234"],
                            "verify_date": [None, None], "note": ["第一次：家中无人", None]},
                           schema_overrides={"verify_date": pl.Date, "result": pl.String,
                                             "include_monitoring": pl.String})
    c = carry_over(status, rows, before_period="2026-11", answers=answers)
    assert c.select("预警编号", "township").rows() == [("w-b", "大店镇"), ("w-a", "大店镇"), ("w-mv", "夹沟镇")]
    a = c.filter(pl.col("预警编号") == "w-a").row(0, named=True)
    assert (a["核实人"], a["备注"]) == ("张网格 341302********1234", "上次反馈未填核实结果，请补填")
    # rows given in any order: the latest period's row is the one carried (w-late's 2026-10 copy)
    assert carry_over(STATUS, EARLIER.reverse(), before_period="2026-11").equals(
        carry_over(STATUS, EARLIER, before_period="2026-11"))


def test_a_carried_warning_moved_only_to_another_group_follows_and_an_unlisted_household_keeps_its_worker():
    """Household A moved from 韩湖村 1组 to 2组: its row takes the new group and grid worker and
    says where it came from. E did not move and the grid does not list it: its worker stays as
    written. A lead (no 户编号) with a township stays as written (its 状态 does not say it left the
    roster). H7's two persons were split off into two households: the warning stays and says where."""
    rows = pl.DataFrame([
        township_row("w-g", "大店镇", "2026-10", hh="A") | {"村民小组": "1组", "网格员": "旧网格员"},
        township_row("w-jg", "夹沟镇", "2026-10", hh="E") | {"网格员": "老王", "网格员电话": "139"},
        township_row("w-lead", "大店镇", "2026-10", hh=None),
        township_row("w-two", "大店镇", "2026-10", hh="H7") | {"村民小组": "1组"},
    ], schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]})
    status = pl.DataFrame({"warning_id": ["w-g", "w-jg", "w-lead", "w-two"], "status": ["open"] * 4,
                           "days_overdue": [0] * 4})
    roster = pl.concat([
        roster_of(("A", "大店镇", "韩湖村", "2组"), ("E", "夹沟镇", "韩湖村", None), ("H7", "大店镇", "韩湖村", "1组")),
        roster_of(("H8", "大店镇", "吕台村", "2组"), ("H11", "夹沟镇", "王庄村", "3组"))])
    persons = pl.DataFrame({"warning_id": ["w-two", "w-two"], "person_id": ["H8-01", "H11-01"]})
    grid = pl.DataFrame({"household_id": ["A"], "grid_worker": ["新网格员"], "grid_worker_phone": ["1"]})
    c = carry_over(status, rows, before_period="2026-11", roster=roster, grid=grid, persons=persons)
    by = {r["预警编号"]: r for r in c.iter_rows(named=True)}
    g = by["w-g"]
    assert (g["村民小组"], g["网格员"]) == ("2组", "新网格员")
    assert g["状态"] == "待核实（由大店镇韩湖村1组迁入，原下发日期2026-10-09）"
    assert (by["w-jg"]["网格员"], by["w-jg"]["网格员电话"], by["w-jg"]["状态"]) == ("老王", "139", "待核实")
    assert by["w-lead"]["状态"] == "待核实"
    two = by["w-two"]
    assert (two["township"], two["行政村"], two["户编号"]) == ("大店镇", "韩湖村", "H7")
    assert two["状态"] == "待核实（户主H11 已分户至 H11，现住夹沟镇王庄村3组；户主H8 已分户至 H8，现住大店镇吕台村2组）"


def test_with_carry_over_puts_unplaced_leads_last():
    carried = carry_over(STATUS, EARLIER, before_period="2026-11")
    new = pl.DataFrame([township_row("u-1", None, "x", hh=None), township_row("w-n", "大店镇", "x")]).drop("period")
    both = with_carry_over(new.cast({c: pl.String for c in TOWNSHIP_COLUMNS}), carried)
    assert both["township"].to_list()[-1] is None and both["预警编号"].to_list()[-1] == "u-1"


def test_a_moved_out_row_is_written_without_the_shared_household_note():
    note = "（底册户编号 H1 多户共用）"
    rows = pl.DataFrame([township_row("w1", "大店镇", "2026-10", hh="H1") | {"状态": "迁出（预警已转入夹沟镇清单）"}],
                        schema=CARRY_SCHEMA)
    sent = as_sent(rows, pl.DataFrame({"household_id": ["H1"], "note": [note]}))
    assert sent["状态"].to_list() == ["迁出（预警已转入夹沟镇清单）"]


def test_a_rerun_re_dated_with_issue_date_is_not_held_to_a_carried_rows_older_date():
    """The period's lists' date is that of its own warnings: a carried row (sent in September)
    in the list before does not make w-sent look sent after the lists (--issue-date re-dates it)."""
    new = pl.DataFrame([township_row("w-sent", "大店镇", "2026-10", issued="2026-10-12")
                        | {"核实截止日期": "2026-10-15"}]).drop("period")
    before = pl.DataFrame([township_row("w-sent", "大店镇", "2026-10") | {"状态": "新下发"},
                           township_row("w-old", "大店镇", "2026-09", hh="B", issued="2026-09-10")
                           | {"状态": "逾期未核实"}])
    got = first_sent(new, before, D(2026, 12, 20), D(2026, 12, 23)).select("下发日期", "核实截止日期").rows()
    assert got == [("2026-10-12", "2026-10-15")]


def test_a_rerun_dates_a_new_unplaced_lead_when_it_goes_out():
    """An unplaced lead (no township: the county's list) the period's list did not hold before
    goes out now: dated now, with its own deadline."""
    new = pl.DataFrame([township_row("u-new", None, "2026-10", hh=None)],
                       schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]}).drop("period")
    before = pl.DataFrame([township_row("w-sent", "大店镇", "2026-10") | {"状态": "新下发"}])
    got = first_sent(new, before, D(2026, 12, 20), D(2026, 12, 23)).select("下发日期", "核实截止日期").rows()
    assert got == [("2026-12-20", "2026-12-23")]


def test_withdrawn_rows_are_not_overdue_and_are_sorted_by_township():
    before = pl.DataFrame([township_row("w-j", "夹沟镇", "2026-10", hh="A") | {"状态": "逾期未核实", "逾期天数": 5},
                           township_row("w-d", "大店镇", "2026-10", hh="B") | {"状态": "逾期未核实", "逾期天数": 3}])
    rows = with_carry_over(before.head(0).drop("状态", "逾期天数", "period"),
                           before.head(0).select("状态", "逾期天数", *TOWNSHIP_COLUMNS, "township"))
    back = withdrawn_rows(before.drop("period"), rows, None)
    assert back.select("预警编号", "逾期天数", "状态").rows() == [("w-d", 0, "撤回"), ("w-j", 0, "撤回")]
    # nothing stored before (an empty frame, even without columns): nothing taken back
    assert withdrawn_rows(pl.DataFrame(), rows, None).equals(rows.clear())


def test_dispatch_orders_by_risk_type_township_household_and_joins_rules_bases_and_departments():
    status = pl.DataFrame({
        "warning_id": ["w-x", "w-y", "w-2", "w-1"], "township": ["大店镇", "夹沟镇", "夹沟镇", "夹沟镇"],
        "household_id": ["X", "H1@夹沟镇郑楼村", "A", "B"], "status": ["verified_true"] * 4, "result": ["属实"] * 4,
        "verified_on": [D(2026, 10, 12)] * 4, "days_overdue": [0] * 4})
    warnings = pl.DataFrame({
        "warning_id": ["w-x", "w-y", "w-y", "w-2", "w-1"],
        "risk_type": ["未参加基本医疗保险", "因病", "因病", "因病", "因病"], "rule": ["M9", "M1", "M2", "M1", "M1"],
        "severity": ["中"] * 5, "basis": ["bx", "b1", "b2", "b", "b"], "dept": ["医保"] * 5})
    out = dispatch(status, warnings, CFG)["医保"]
    assert out["预警编号"].to_list() == ["w-2", "w-1", "w-y", "w-x"]
    y = out.filter(pl.col("预警编号") == "w-y").row(0, named=True)
    assert (y["户编号"], y["预警规则"], y["预警依据"], y["来源部门"]) == ("H1", "M1、M2", "M1：b1；M2：b2", "医保")


def test_returned_rows_are_in_file_then_line_order_and_a_row_without_kind_reads_as_feedback():
    rej = pl.DataFrame({"dept": ["反馈"] * 2, "kind": [None, None], "file": ["反馈/b.csv", "反馈/a.csv"], "line": [2, 5],
                        "record_id": [W1, W2], "field": ["result", "result"], "value": ["x", "y"],
                        "reason": ["result 代码不在允许值中", "result 代码不在允许值中"],
                        "township": ["大店镇", "大店镇"]}, schema_overrides={"kind": pl.String})
    out = returned_to_township(rej, CFG, ISSUED)["大店镇"]
    assert out.select("文件", "行号", "字段").rows() == [("反馈/a.csv", 5, "核实结果"), ("反馈/b.csv", 2, "核实结果")]


def test_a_returned_file_is_told_to_its_township_as_the_configured_place_units_read_it():
    """A county whose config names 管委会 as a township unit: 反馈/经开区_反馈.xlsx is 经开区管委会's
    file (`cfg.matching.places`, not the default units)."""
    import dataclasses
    places = dataclasses.replace(CFG.matching.places, township=(*CFG.matching.places.township, "管委会"))
    cfg = dataclasses.replace(CFG, matching=dataclasses.replace(CFG.matching, places=places))
    rej = pl.DataFrame({"dept": ["反馈"], "kind": ["feedback"], "file": ["反馈/经开区_反馈.xlsx"], "line": [2],
                        "record_id": ["YJ-unknown"], "field": ["warning_id"], "value": ["YJ-unknown"],
                        "reason": ["预警编号不存在"]})
    issued = pl.DataFrame({"warning_id": [W1], "township": ["经开区管委会"]})
    assert list(returned_to_township(rej, cfg, issued)) == ["经开区管委会"]


def test_nothing_blanked_is_nothing_to_tell():
    """No unreadable cell (an empty frame, even one without columns): no row, REJECTED_SCHEMA + township."""
    acc = check_feedback(DELIVERY, ISSUED, AS_OF, CFG.matching.places)[0]
    out = values_not_read(pl.DataFrame(), acc, acc.head(0), CFG.kinds["feedback"].fields)
    assert out.is_empty() and "township" in out.columns and "reason" in out.columns


def test_the_returns_taken_are_accounted_for_and_told_back():
    """A period's returned lists: every row is accepted, unanswered or set aside (the validator's
    rows set aside count as returned and set aside too); accepted ones carry the period they were
    received in; the township is told the rows not taken and those a later file overruled; the
    disagreement is a finding. Nothing returned: only the validator's rows are counted."""
    files = pl.DataFrame({"dept": ["反馈", "反馈"], "file": [NOV, OCT],
                          "modified": [dt.datetime(2026, 12, 6, 9, 0, 0), dt.datetime(2026, 12, 6, 9, 0, 2)]})
    returned = pl.concat([TWO_FILES, fb((NOV, 4, "YJ202610-zzzzzzzzzz", "大店镇", "属实", None, None, None, None),
                                        (NOV, 5, W4, "大店镇", None, None, None, None, None))])
    invalid = pl.DataFrame({"line": [7, None]}, schema={"line": pl.Int64})  # (a file set aside whole has no line)
    counts, accepted, refused, told, findings = take_returns(returned, invalid, ISSUED, AS_OF, "2026-12", CFG, files)
    assert counts == {"returned": 7, "accepted": 4, "unanswered": 1, "set_aside": 2, "without_result": 0, "reopened": 0}
    assert accepted["received_period"].unique().to_list() == ["2026-12"]
    assert refused.columns == list(Rejected.to_schema().columns) and refused["line"].to_list() == [4]
    assert sorted(told.select("file", "line").rows()) == [(NOV, 2), (NOV, 4)]
    assert findings.cast(QUALITY_COLUMNS)["category"].to_list() == [Finding.DISAGREE]
    assert take_returns(None, invalid, None, AS_OF, "2026-12", CFG, files)[0] == {
        "returned": 1, "accepted": 0, "unanswered": 0, "set_aside": 1}


def test_a_returned_file_sent_again_in_a_later_period_does_not_take_its_answers_again():
    """大店镇 returned its list in November, and a correction (更正) answering W1 otherwise; in
    December it sends the first file again, byte for byte (every file sent again, or by mistake).
    Its answers were taken in November: taken again they were December's latest and undid the
    correction (W1 属实 again), and the ledger listed each twice. The rows November took are not
    taken again (the county told, naming the file and period); a row November refused (dated after
    that run: 'put it into the next period's 反馈/') is checked now."""
    first, fix = "反馈/大店镇_2026-10_预警清单.csv", "反馈/大店镇_2026-10_预警清单(更正).csv"
    sent = fb((first, 2, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
              (first, 3, W2, "大店镇", "属实", "是", "张", D(2026, 11, 20), None))
    nov_files = pl.DataFrame({"dept": ["反馈"] * 2, "file": [first, fix], "sha256": ["s1", "s2"],
                              "modified": [dt.datetime(2026, 11, 4, 9), dt.datetime(2026, 11, 4, 10)]})
    nov = take_returns(pl.concat([sent, fb((fix, 2, W1, "大店镇", "不属实", "否", "张", D(2026, 10, 12), None))]),
                       None, ISSUED, AS_OF, "2026-11", CFG, nov_files)[1]
    assert nov.select("file", "line").rows() == [(first, 2), (fix, 2)]  # (line 3: dated after the run)
    dec_files = pl.DataFrame({"dept": ["反馈"], "file": [first], "sha256": ["s1"],
                              "modified": [dt.datetime(2026, 12, 3, 9)]})
    counts, dec, _, _, findings = take_returns(sent, None, ISSUED, D(2026, 12, 7), "2026-12", CFG, dec_files,
                                               earlier_answers=nov)
    assert dec.select("file", "line").rows() == [(first, 3)] and counts["returned"] == 1
    status = warning_status(ISSUED, pl.concat([nov, dec], how="diagonal_relaxed"), D(2026, 12, 7))
    assert dict(status.select("warning_id", "result").rows())[W1] == "不属实"
    said = findings.filter(pl.col("category") == Finding.EARLIER_COPY)
    assert said["file"].to_list() == [first] and said["count"].to_list() == [1]
    assert "2026-11" in said["detail"][0] and "第2行" in said["detail"][0]
    # (every row of it taken then: nothing read now, the county still told)
    counts, dec, _, _, findings = take_returns(sent.head(1), None, ISSUED, D(2026, 12, 7), "2026-12", CFG, dec_files,
                                               earlier_answers=nov)
    assert dec.is_empty() and counts["returned"] == 0
    assert findings["category"].to_list() == [Finding.EARLIER_COPY]


def test_the_same_answers_re_saved_by_excel_and_sent_again_are_not_taken_again_a_changed_one_is():
    """The same answers opened and saved again in WPS (other bytes: another sha256; here as an
    .xlsx, its lines shifted by a title line) and sent in a later period were taken again, as
    that period's latest: they undid the correction November took after them, and the ledger
    listed each twice. The 'already taken' check keys on the answers as read (预警编号 and the
    five answer columns), not on the file's bytes: they are not taken again, and the county is
    told; an answer changed in any of them (a 备注 added) is an answer now."""
    first, fix = "反馈/大店镇_2026-10_预警清单.csv", "反馈/大店镇_2026-10_预警清单(更正).csv"
    nov_files = pl.DataFrame({"dept": ["反馈"] * 2, "file": [first, fix], "sha256": ["s1", "s2"],
                              "modified": [dt.datetime(2026, 11, 4, 9), dt.datetime(2026, 11, 4, 10)]})
    nov = take_returns(fb((first, 2, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
                          (first, 3, W2, "大店镇", "属实", "是", "张", D(2026, 10, 12), "外出"),
                          (fix, 2, W1, "大店镇", "不属实", "否", "张", D(2026, 10, 12), None)),
                       None, ISSUED, AS_OF, "2026-11", CFG, nov_files)[1]
    resaved = "反馈/大店镇_2026-10_预警清单.xlsx"
    dec_files = pl.DataFrame({"dept": ["反馈"], "file": [resaved], "sha256": ["s3"], "modified": [dt.datetime(2026, 12, 3, 9)]})
    sent = fb((resaved, 3, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),          # as taken: not again
              (resaved, 4, W2, "大店镇", "属实", "是", "张", D(2026, 10, 12), "外出，已返乡"))  # changed: taken
    counts, dec, _, _, findings = take_returns(sent, None, ISSUED, D(2026, 12, 7), "2026-12", CFG, dec_files,
                                               earlier_answers=nov)
    assert dec.select("line", "warning_id", "rank", "is_latest").rows() == [(4, W2, 1, True)] and counts["returned"] == 1
    status = warning_status(ISSUED, pl.concat([nov, dec], how="diagonal_relaxed"), D(2026, 12, 7))
    assert dict(status.select("warning_id", "result").rows())[W1] == "不属实"
    said = findings.filter(pl.col("category") == Finding.EARLIER_COPY)
    assert said["file"].to_list() == [resaved] and "第3行" in said["detail"][0] and first in said["detail"][0]
    # an answer November overruled and told back ('本行未采用，请核对'), sent again: the township's
    # answer after checking, taken now (first's W2 line, overruled by a later file answering otherwise)
    later = "反馈/大店镇_补充.csv"
    files = nov_files.vstack(pl.DataFrame({"dept": ["反馈"], "file": [later], "sha256": ["s4"],
                                           "modified": [dt.datetime(2026, 11, 4, 11)]}))
    nov = take_returns(fb((first, 3, W2, "大店镇", "属实", "是", "张", D(2026, 10, 12), "外出"),
                          (later, 2, W2, "大店镇", "不属实", "否", "李", D(2026, 10, 13), None)),
                       None, ISSUED, AS_OF, "2026-11", CFG, files)[1]
    dec = take_returns(fb((resaved, 4, W2, "大店镇", "属实", "是", "张", D(2026, 10, 12), "外出")), None, ISSUED,
                       D(2026, 12, 7), "2026-12", CFG, dec_files, earlier_answers=nov)[1]
    assert dec.select("line", "result").rows() == [(4, "属实")]
    # the row a re-run sent again for a rule it added (预警规则 M1 -> M1、M2), answered as before:
    # it verifies M2 too, and is taken
    nov = take_returns(fb((first, 2, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None)).with_columns(rules=pl.lit("M1")),
                       None, ISSUED, AS_OF, "2026-11", CFG, nov_files)[1]
    again = fb((resaved, 3, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None))
    dec = take_returns(again.with_columns(rules=pl.lit("M1、M2")), None, ISSUED, D(2026, 12, 7), "2026-12", CFG, dec_files,
                       earlier_answers=nov)[1]
    assert dec.select("line", "rules").rows() == [(3, "M1、M2")]
    dec = take_returns(again.with_columns(rules=pl.lit("M1")), None, ISSUED, D(2026, 12, 7), "2026-12", CFG, dec_files,
                       earlier_answers=nov)[1]
    assert dec.is_empty()


def test_the_files_of_the_returns_not_read_are_told_back_to_their_townships():
    """A 反馈 file set aside before reading (a .xls) and a hidden sheet holding a table are told to
    the township the file names, like the rows not taken; another department's file is not; with
    nothing to tell, no township hears anything."""
    discovered = pl.DataFrame({"dept": ["反馈", "医保"], "kind": [None, None],
                               "file": ["反馈/大店镇_2026-10_预警清单.xls", "医保/a.xls"], "line": [None, None],
                               "record_id": [None, None], "field": [None, None], "value": [None, None],
                               "reason": ["Excel 97-2003 格式", "Excel 97-2003 格式"]}, schema=REJECTED_SCHEMA)
    notes = pl.DataFrame({"category": [Finding.HIDDEN_TABLE, Finding.FILE_NOTE], "dept": ["反馈", "反馈"],
                          "file": ["反馈/夹沟镇/反馈.xlsx", "反馈/夹沟镇/反馈.xlsx"], "detail": ["隐藏表 Sheet2 未读", "其他"],
                          "count": [1, 1]})
    back = told_back(None, None, discovered, notes, CFG, ISSUED)
    assert sorted(back) == ["大店镇", "夹沟镇"]
    assert back["大店镇"]["原因"].to_list() == ["Excel 97-2003 格式"] and back["夹沟镇"]["原因"].to_list() == ["隐藏表 Sheet2 未读"]
    assert told_back(None, None, discovered.filter(pl.col("dept") == "医保"), None, CFG, ISSUED) == {}
    # a returned list of a header and no answer row is told to its township too (it was said nowhere)
    empty = notes.head(1).with_columns(category=pl.lit(Finding.NO_ROWS), file=pl.lit(DADIAN), detail=pl.lit("只有表头、无答复行"))
    back = told_back(None, None, None, empty, CFG, ISSUED)
    assert back["大店镇"].select("文件", "原因").rows() == [(DADIAN, "只有表头、无答复行")]


def test_each_townships_list_and_workbook_sheets_count_the_households_still_to_verify():
    rows = pl.DataFrame({"township": ["大店镇", "夹沟镇", "大店镇", "大店镇", None],
                         "预警编号": ["w1", "w2", "w3", "w4", "w5"], "风险类型": ["医疗", "医疗", "住房", "医疗", "医疗"],
                         "状态": ["新下发", "新下发", "撤回", "迁出至夹沟镇", "新下发"]})
    got = list_sheets(rows)
    assert list(got) == ["大店镇", "夹沟镇"]
    sheet, sheets = got["大店镇"]
    assert sheet["预警编号"].to_list() == ["w1", "w3", "w4"] and "township" not in sheet.columns
    assert list(sheets) == ["汇总", "医疗", "住房"] and sheets["汇总"].rows() == [("医疗", 1)]
    assert sheets["医疗"]["预警编号"].to_list() == ["w1", "w4"]


def test_the_lists_rows_carry_the_open_earlier_warnings_before_the_periods_own_and_date_every_status():
    """The rows of a first run of 2026-11: the earlier warnings still open, each where its household
    lives now (B moved to 夹沟镇: a finding says so), before this period's; the status of every
    warning issued, this period's too, as of the issue date. No earlier period: this period's rows
    alone."""
    roster = roster_of(("A", "大店镇", "韩湖村", None), ("B", "夹沟镇", "王庄村", "3组"), ("E", "夹沟镇", "韩湖村", None),
                       ("G", "大店镇", "韩湖村", None))
    new = pl.DataFrame([township_row("w-new", "大店镇", "2026-11", hh="G", issued="2026-12-07")],
                       schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]}).drop("period")
    earlier = EARLIER.filter(pl.col("period") < "2026-11")
    persons = pl.DataFrame(schema={"warning_id": pl.String, "person_id": pl.String})
    rows, moved, status, withdrawn, *_ = list_rows(new, None, earlier, STATUS.filter(pl.col("warning_id") != "w-now"), None, None,
                                                roster, GRID_NOW, persons, "2026-11", D(2026, 12, 7))
    assert rows.select("预警编号", "township").rows() == [("w-late", "大店镇"), ("w-open", "大店镇"), ("w-new", "大店镇"),
                                                       ("w-over", "夹沟镇"), ("w-jg", "夹沟镇")]
    assert moved["count"].to_list() == [1] and withdrawn.is_empty()
    assert sorted(status["warning_id"].to_list()) == ["w-done", "w-jg", "w-late", "w-new", "w-open", "w-over"]
    rows, moved, status, *_ = list_rows(new, None, None, None, None, None, roster, None, persons, "2026-11", D(2026, 12, 7))
    assert rows["预警编号"].to_list() == ["w-new"] and moved.is_empty() and status["warning_id"].to_list() == ["w-new"]
    # a re-run no longer raising w-gone, which its period's list held: the row goes out again as 撤回, last
    before = pl.DataFrame([township_row("w-gone", "大店镇", "2026-11", hh="G", issued="2026-12-07")],
                          schema={c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]}).drop("period")
    rows, _, status, withdrawn, *_ = list_rows(new, before, None, None, None, None, roster, None, persons, "2026-11",
                                            D(2026, 12, 7))
    assert rows.select("预警编号", "状态").rows()[-1] == ("w-gone", "撤回") and withdrawn["预警编号"].to_list() == ["w-gone"]
    assert sorted(status["warning_id"].to_list()) == ["w-gone", "w-new"]


def test_a_rerun_withdraws_only_the_true_verdicts_its_period_s_dispatch_sent():
    """A re-run's period status as stored is what it may withdraw from (`dispatch_changes`'
    `sent_before`): of its 属实 only those the period's published 派单 sent (a 派单 row, not a 撤回
    row; a file written before 派单动作 was: every row); an earlier period's 属实, withdrawn by that
    period's re-run, is not withdrawn again by each later period a cascade re-runs. Other
    statuses are kept whatever was sent."""
    from pipelines.feedback import SEND, WITHDRAW, dispatched_of, sent_before

    sheets = [pl.DataFrame({"派单动作": [SEND, WITHDRAW], "预警编号": ["w1", "w2"]}),
              pl.DataFrame({"预警编号": ["w3"], "风险类型": ["住房"]})]
    sent = dispatched_of(sheets)
    assert sent.to_list() == ["w1", "w3"] and dispatched_of([]).is_empty()
    status = pl.DataFrame({"warning_id": ["w1", "w2", "w3", "w4", "w5"],
                           "status": ["verified_true", "verified_true", "verified_true", "verified_true", "pending"]})
    assert sent_before(status, sent)["warning_id"].to_list() == ["w1", "w3", "w5"]


def test_an_answer_verifies_the_rules_its_row_showed_not_a_rule_a_rerun_put_under_the_same_id():
    """w-x's 因病 row went out with M2 only; its township answered it 不属实. A re-run of its period
    dropped M2 and raised M1 under the same 预警编号 (M1 and M2 share the row). Before, the M2
    answer closed the M1 too: no one was sent it. Now an answer verifies the rules its row
    showed: w-x is open again for M1 (its row sent again with a deadline of its own), the earlier
    answer shown; the answer's rules are the returned 预警规则, else the rules issued when taken. A
    warning whose rules did not change, an answer stored before rules were, one that covers the
    rules now, or a warning taken back: as before."""
    rows = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {"预警规则": "M1"},
                         township_row("w-same", "大店镇", "2026-10", hh="S") | {"预警规则": "M1、M2"},
                         township_row("w-old", "大店镇", "2026-10", hh="O") | {"预警规则": "M1"}])
    a = answers(("2026-11", "反馈/大店镇.csv", 2, "w-x", "不属实", D(2026, 10, 12), None),
                ("2026-11", "反馈/大店镇.csv", 3, "w-same", "属实", D(2026, 10, 12), None),
                ("2026-11", "反馈/大店镇.csv", 4, "w-old", "属实", D(2026, 10, 12), None),
                ).with_columns(rules=pl.Series(["M2", "M2、M1", None]))
    issued = issued_from_rows(rows)
    by = {r["warning_id"]: r for r in warning_status(issued, a, D(2026, 10, 12)).iter_rows(named=True)}
    assert (by["w-x"]["status"], by["w-x"]["result"], by["w-x"]["verified_on"]) == ("open", None, None)
    assert (by["w-same"]["status"], by["w-old"]["status"]) == ("verified_true", "verified_true")
    assert reissued(issued, a).rows() == [("w-x", "M1", "M2", "不属实", D(2026, 10, 12))]
    late = warning_status(issued, a, D(2026, 10, 20)).filter(pl.col("warning_id") == "w-x")
    assert late.select("status", "days_overdue").row(0) == ("overdue", 7)
    # taken back since: no rule of it is to verify, its answer stands
    gone = issued_from_rows(pl.concat([rows, rows.head(1).with_columns(period=pl.lit("2026-11"), 状态=pl.lit("撤回"))],
                                      how="diagonal"))
    assert warning_status(gone, a, D(2026, 10, 20)).filter(pl.col("warning_id") == "w-x")["status"].item() == "verified_false"
    # answered again on the row showing M1: verified
    a2 = pl.concat([a, answers(("2026-12", "反馈/大店镇.csv", 2, "w-x", "属实", D(2026, 11, 12), None)).with_columns(
        rules=pl.lit("M1"))])
    assert warning_status(issued, a2, D(2026, 12, 1)).filter(pl.col("warning_id") == "w-x")["status"].item() == "verified_true"
    # what the answer verifies: the 预警规则 returned (spelled any way), else the warning's rules as issued
    returned = fb((DADIAN, 2, W1, "大店镇", "不属实", "否", "张", D(2026, 10, 12), None),
                  (DADIAN, 3, W2, "大店镇", "属实", "是", "张", D(2026, 10, 12), None)).with_columns(
        rules=pl.Series([" m2，M1 ", None]))
    acc, _, _ = check_feedback(returned, ISSUED.with_columns(rules=pl.lit("M1")), AS_OF)
    assert acc.select("warning_id", "rules").rows() == [(W1, "M1、M2"), (W2, "M1")]
    # a clerk's words typed into 预警规则 name no rule: the rules the row was sent with, its rule names kept
    typed, _, _ = check_feedback(returned.with_columns(rules=pl.Series(["见备注", "m2 见备注"])),
                                 ISSUED.with_columns(rules=pl.lit("M1")), AS_OF)
    assert typed.select("warning_id", "rules").rows() == [(W1, "M1"), (W2, "M2")]
    # a re-run of the period re-takes an answer its last run took: a file without 预警规则 keeps the rules taken then
    # (a re-run of the warning's own period may have changed them since)
    before_taken = acc.with_columns(rules=pl.lit("M2"), period=pl.lit("2026-11"))
    acc, _, _ = check_feedback(returned.drop("rules"), ISSUED.with_columns(rules=pl.lit("M1")), AS_OF,
                               taken_before=before_taken)
    assert acc.select("warning_id", "rules").rows() == [(W1, "M2"), (W2, "M2")]
    # a re-run that changed w-x's rules after that answer sends its row again now; unchanged ones keep their date
    before = rows.drop("period").with_columns(预警规则=pl.Series(["M2", "M1、M2", "M1"]), 状态=pl.lit("新下发")).cast(pl.String)
    now, deadline = D(2026, 12, 7), D(2026, 12, 10)
    new = rows.drop("period")
    got = first_sent(new, before, now, deadline, a).select("预警编号", "下发日期", "核实截止日期").rows()
    assert got == [("w-x", "2026-12-07", "2026-12-10"), ("w-same", "2026-10-09", "2026-10-13"),
                   ("w-old", "2026-10-09", "2026-10-13")]
    # (no answer yet: the rule it gains is sent now all the same, `test_a_rule_a_rerun_adds_before_any_answer_...`)
    assert first_sent(new, before, now, deadline).equals(first_sent(new, before, now, deadline, a))
    # ... counted as sent again (the console says it apart from those the lists never held), and named apart in
    # the county's report
    redated = first_sent(new, before, now, deadline, a)
    assert (sent_now(redated, before, D(2026, 10, 9)), sent_again(redated, before, D(2026, 10, 9))) == (0, 1)
    assert (sent_now(new, before, D(2026, 10, 9)), sent_again(new, before, D(2026, 10, 9))) == (0, 0)
    assert rerun_changes(redated, before.head(0), before, D(2026, 10, 9), reissued(issued, a))["detail"].to_list() == [
        "大店镇：w-x（M1）本次重新运行改变了预警规则，此前反馈的核实结果未核实新的规则，重新下发，下发日期 2026-12-07，核实截止 2026-12-10"
        " — sent again: the re-run changed their rules after an answer that verified others"]
    # ... its row says why, and what the earlier answer found
    listed = with_reissued(with_carry_over(new, new.head(0).select(
        pl.lit(None, pl.Utf8).alias("状态"), pl.lit(None, pl.Int64).alias("逾期天数"), *new.columns)), reissued(issued, a))
    assert listed["状态"].to_list() == [
        "新下发（重新下发：重新运行后预警规则为M1，此前反馈的核实结果“不属实”（2026-10-12）只核实了M2，请就M1核实）", "新下发", "新下发"]
    # a 属实 reopened for a rule it did not verify is not taken back from the department
    true = reissued(issued, a.with_columns(result=pl.lit("属实")))
    was = pl.DataFrame({"warning_id": ["w-x"], "status": ["verified_true"]})
    is_now = pl.DataFrame({"warning_id": ["w-x"], "status": ["open"]})
    assert dispatch_changes(is_now, was, again=true).is_empty()
    assert dispatch_changes(is_now, was)["action"].to_list() == ["撤回（复核改为不属实）"]


def test_a_rule_a_rerun_adds_before_any_answer_is_due_from_that_rerun():
    """October's list (10-09, due 10-13) had w-x's 因病 row with M2. A re-run on 10-20, before any
    answer, gave it M1 too under the same 预警编号. Before, the re-run's row kept 10-09/10-13 (a
    rule sent on 10-20 due a week before), and when the township's answer to the old list (M2 属实)
    came back, w-x reopened for M1 overdue since 10-13. The row carrying the new rule is sent the
    day the re-run sends it, due 3 working days later: the reopened M1 is due then. A re-run that
    adds no rule (drops one, or changes none) keeps the row's dates; so does one whose answer
    already verified every rule on the row now."""
    old = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {"预警规则": "M2"},
                        township_row("w-drop", "大店镇", "2026-10", hh="D") | {"预警规则": "M1、M2"},
                        township_row("w-same", "大店镇", "2026-10", hh="S") | {"预警规则": "M1"}]).drop("period")
    before = old.with_columns(状态=pl.lit("新下发")).cast(pl.String)
    new = old.with_columns(预警规则=pl.Series(["M1、M2", "M1", "M1"]))
    sent = first_sent(new, before, D(2026, 10, 20), D(2026, 10, 23))
    assert sent.select("预警编号", "下发日期", "核实截止日期").rows() == [
        ("w-x", "2026-10-20", "2026-10-23"), ("w-drop", "2026-10-09", "2026-10-13"), ("w-same", "2026-10-09", "2026-10-13")]
    # the township's answer to the old list (showing M2) verifies M2 only: w-x open again, due 10-23
    a = answers(("2026-11", "反馈/大店镇.csv", 2, "w-x", "属实", D(2026, 10, 12), None)).with_columns(rules=pl.lit("M2"))
    issued = issued_from_rows(sent.with_columns(状态=pl.lit("新下发"), period=pl.lit("2026-10")))
    assert warning_status(issued, a, D(2026, 10, 21)).filter(pl.col("warning_id") == "w-x").select("status", "days_overdue").row(0) == ("open", 0)
    assert warning_status(issued, a, D(2026, 11, 2)).filter(pl.col("warning_id") == "w-x").select("status", "days_overdue").row(0) == ("overdue", 10)
    # an answer that already verified the rules now (a row showing M1、M2 answered): not sent again
    both = answers(("2026-11", "反馈/大店镇.csv", 2, "w-x", "属实", D(2026, 10, 12), None)).with_columns(rules=pl.lit("M1、M2"))
    assert first_sent(new, before, D(2026, 10, 20), D(2026, 10, 23), both).row(0, named=True)["下发日期"] == "2026-10-09"
    # the console counts it sent again, not as one the lists never held
    assert (sent_now(sent, before, D(2026, 10, 9)), sent_again(sent, before, D(2026, 10, 9))) == (0, 1)
    # the county is told the row went out again for a rule it did not show (no answer said otherwise yet)
    assert rerun_changes(sent, before.head(0), before, D(2026, 10, 9))["detail"].to_list() == [
        "大店镇：w-x（M1、M2）本次重新运行增加了此前清单该行未列的预警规则，重新下发，下发日期 2026-10-20，核实截止 2026-10-23"
        " — sent again: the re-run added a rule their row did not show"]


def test_a_warning_reopened_for_a_rule_its_answer_did_not_verify_counts_open_and_is_named_apart():
    """w-x was answered 属实 on a row showing M2; a re-run gave it M1 too. It is open again (not
    已核实: its township's list asks for M1), so 核实进度 counts it under 待核实 (then 逾期未核实),
    its status row naming the rules it is open for (`reopened_for`), and 核实进度 names such
    warnings apart (重新下发未核实): a township that answered every row sees why the county counts
    one open. 待核实 + 逾期未核实 + 已核实 = 预警总数, per township and in 合计."""
    rows = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {"预警规则": "M1、M2"},
                         township_row("w-y", "大店镇", "2026-10", hh="Y") | {"预警规则": "M1"},
                         township_row("w-z", "大店镇", "2026-10", hh="Z") | {"预警规则": "M1"},
                         township_row("w-j", "夹沟镇", "2026-10", hh="J") | {"预警规则": "M1"}])
    a = answers(("2026-11", "反馈/大店镇.csv", 2, "w-x", "属实", D(2026, 10, 12), None),
                ("2026-11", "反馈/大店镇.csv", 3, "w-y", "属实", D(2026, 10, 12), None)).with_columns(
        rules=pl.Series(["M2", "M1"]))
    issued = issued_from_rows(rows)
    status = warning_status(issued, a, D(2026, 10, 12))
    assert status.select("warning_id", "status", "result", "reopened_for").rows() == [
        ("w-j", "open", None, None), ("w-x", "open", None, "M1"), ("w-y", "verified_true", "属实", None),
        ("w-z", "open", None, None)]
    cols = ["预警总数", "待核实", "逾期未核实", "重新下发未核实", "已核实", "其中属实"]
    for as_of, want in ((D(2026, 10, 12), (3, 2, 0, 1, 1, 1)), (D(2026, 10, 20), (3, 0, 2, 1, 1, 1))):
        summary, _ = overdue_by_township(warning_status(issued, a, as_of))
        got = {r["乡（镇）"]: r for r in summary.iter_rows(named=True)}
        assert tuple(got["大店镇"][c] for c in cols) == want
        assert got["夹沟镇"]["重新下发未核实"] == 0 and got["合计"]["重新下发未核实"] == 1
        assert all(r["待核实"] + r["逾期未核实"] + r["已核实"] == r["预警总数"] for r in got.values())
    # a status written before the column was (an older warehouse's): none reopened
    summary, _ = overdue_by_township(status.drop("reopened_for"))
    assert summary["重新下发未核实"].to_list() == [0, 0, 0]
    # the run taking the answers in counts them for the console: accepted, yet open
    town = "反馈/大店镇_2026-10_预警清单.csv"
    returned = fb((town, 2, "w-x", "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
                  (town, 3, "w-y", "大店镇", "属实", "是", "张", D(2026, 10, 12), None)).with_columns(
        rules=pl.Series(["M2", "M1"]))
    files = pl.DataFrame({"dept": ["反馈"], "file": [town], "modified": [dt.datetime(2026, 11, 1)]})
    counts = take_returns(returned, None, issued, D(2026, 11, 2), "2026-11", CFG, files)[0]
    assert (counts["accepted"], counts["reopened"]) == (2, 1)


def _moved_with_a_rule_added() -> tuple[pl.DataFrame, pl.DataFrame]:
    """(the rows the period's last run wrote, a re-run's new rows): w-mv listed by 大店镇 with M2, now
    moved to 夹沟镇 (its 户籍底册 corrected) with M1 beside it."""
    def row(town, village, rules):
        return township_row("w-mv", town, "2026-10", village=village, hh="A") | {"预警规则": rules}

    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township"]}
    before = with_carry_over(pl.DataFrame([row("大店镇", "韩湖村", "M2")], schema=schema),
                             pl.DataFrame(schema={"状态": pl.String, "逾期天数": pl.Int64, **schema}))
    return before, pl.DataFrame([row("夹沟镇", "王庄村", "M1、M2")], schema=schema)


def test_a_moved_warning_answered_for_some_of_its_rules_is_not_said_to_need_no_visit():
    """A re-run moved w-mv to 夹沟镇 (its 户籍底册 corrected) and gave it M1 beside the M2 大店镇's
    row showed; 大店镇 had answered that row 属实 since (a later period's 反馈/). Before, 夹沟镇's row
    said `大店镇已于…反馈属实，无需再核实`: no one would visit for M1. An answer verifies the rules
    its row showed: the row says nothing of needing no visit, and the re-issue note says what the
    answer found and what to verify. An answer that verified every rule on it now: as before."""
    before, new = _moved_with_a_rule_added()
    now, deadline = D(2026, 12, 4), D(2026, 12, 9)
    answered = pl.DataFrame({"warning_id": ["w-mv"], "township": ["大店镇"], "result": ["属实"],
                             "verify_date": [D(2026, 11, 20)], "period": ["2026-11"], "rank": [1], "rules": ["M2"]})
    listed = with_carry_over(first_sent(new, before, now, deadline, answered), before.head(0))
    told, out = moved_in_rerun(listed, before, answered)
    assert told["状态"].to_list() == ["新下发（由大店镇韩湖村迁入，原下发日期2026-10-09）"]
    issued = issued_from_rows(pl.concat([told, out]).with_columns(period=pl.lit("2026-10")))
    assert with_reissued(told, reissued(issued, answered))["状态"].to_list() == [
        "新下发（由大店镇韩湖村迁入，原下发日期2026-10-09）（重新下发：重新运行后预警规则为M1、M2，"
        "此前反馈的核实结果“属实”（2026-11-20）只核实了M2，请就M1核实）"]
    # one that verified both, or stored before answers kept their rules: no visit needed
    for rules in ("M1、M2", None):
        told, _ = moved_in_rerun(listed, before, answered.with_columns(rules=pl.lit(rules, pl.String)))
        assert told["状态"].to_list() == ["新下发（由大店镇韩湖村迁入，原下发日期2026-10-09；大店镇已于2026-11-20反馈属实，无需再核实）"]


def test_the_answer_history_shows_the_rules_each_answer_verified():
    """What the county sees of every answer says which rules each verified (the 预警规则 its row
    showed): a re-run may have changed the warning's since, and an answer verifies only those.
    Answers stored before they kept their rules (an older warehouse's, without the column) show none."""
    a = answers(("2026-11", "反馈/大店镇.csv", 2, W1, "属实", D(2026, 10, 12), None),
                ("2026-12", "反馈/大店镇.csv", 2, W1, "属实", D(2026, 11, 12), None)).with_columns(
        rules=pl.Series(["M2", "M1、M2"]))
    h = answer_history(a)
    assert h.select("answer_no", "result", "rules", "decides").rows() == [(1, "属实", "M2", False), (2, "属实", "M1、M2", True)]
    assert h.columns.index("rules") == h.columns.index("note") + 1
    assert answer_history(a.drop("rules"))["rules"].to_list() == [None, None]


def test_a_row_a_rerun_sends_again_for_a_rule_it_added_before_any_answer_says_why():
    """October's list (10-09) had w-x's 因病 row with M2; a re-run on 10-20, before any answer,
    gave it M1 too: `first_sent` re-dates it. Before, its 状态 said only 新下发: the clerk saw a
    row of the list come back dated otherwise, no reason given. It says why now, as a row an
    answer verified only part of does (`REISSUED_NOTE`, which such a row w-ans keeps, alone); a
    row whose rules were only dropped (w-drop) keeps its date, saying which went; not one the re-run moved to another township
    (new there: its 迁入 note says so; its 迁出 row, none), nor one an answer stored before answers
    kept their rules decided (it verified the warning, as `warning_status` takes it: not sent
    again either). A second re-run that changes nothing keeps the date and the note; a returned
    row with the note still reads as sent."""
    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township"]}
    old = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {"预警规则": "M2"},
                        township_row("w-drop", "大店镇", "2026-10", hh="D") | {"预警规则": "M1、M2"},
                        township_row("w-mv", "大店镇", "2026-10", hh="V") | {"预警规则": "M2"},
                        township_row("w-ans", "大店镇", "2026-10", hh="N") | {"预警规则": "M2"},
                        township_row("w-old", "大店镇", "2026-10", hh="O") | {"预警规则": "M2"}], schema=schema)
    before = with_carry_over(old, pl.DataFrame(schema={"状态": pl.String, "逾期天数": pl.Int64, **schema})).drop("逾期天数")
    towns = pl.Series(["大店镇", "大店镇", "夹沟镇", "大店镇", "大店镇"])
    now = old.with_columns(pl.Series("预警规则", ["M1、M2", "M1", "M1、M2", "M1、M2", "M1、M2"]),
                           towns.alias("乡（镇）"), towns.alias("township"))
    a = answers(("2026-11", "反馈/大店镇.csv", 2, "w-ans", "不属实", D(2026, 10, 12), None),
                ("2026-11", "反馈/大店镇.csv", 3, "w-old", "属实", D(2026, 10, 12), None)).with_columns(
        rules=pl.Series(["M2", None], dtype=pl.String), period=pl.lit("2026-11"), rank=pl.lit(1))  # (November's: later)
    roster = roster_of(("X", "大店镇", "韩湖村", None))
    persons = pl.DataFrame(schema={"warning_id": pl.String, "person_id": pl.String})

    def rerun(before, on):
        new = first_sent(now, before, on, add_working_days(on, CFG.run.verify_working_days)[0], a)
        return list_rows(new, before, None, None, None, a, roster, None, persons, "2026-10", ISSUE)[0]

    rows = rerun(before, D(2026, 10, 20))
    got = {(r["预警编号"], r["township"]): (r["状态"], r["下发日期"]) for r in rows.iter_rows(named=True)}
    assert got == {
        ("w-x", "大店镇"): ("新下发（重新下发：重新运行后预警规则增加M1，请一并核实；原下发日期2026-10-09，原核实截止日期2026-10-13）", "2026-10-20"),
        ("w-drop", "大店镇"): ("新下发（重新运行后不再预警M2，请就M1核实）", "2026-10-09"),
        ("w-mv", "夹沟镇"): ("新下发（由大店镇韩湖村迁入，原下发日期2026-10-09）", "2026-10-20"),
        ("w-mv", "大店镇"): (got[("w-mv", "大店镇")][0], "2026-10-09"),
        ("w-ans", "大店镇"): ("新下发（重新下发：重新运行后预警规则为M1、M2，此前反馈的核实结果“不属实”（2026-10-12）只核实了M2，"
                           "请就M1核实）", "2026-10-20"),
        ("w-old", "大店镇"): ("新下发", "2026-10-09"),
    }
    assert got[("w-mv", "大店镇")][0].startswith("迁出") and "重新下发" not in got[("w-mv", "大店镇")][0]
    issued = issued_from_rows(rows.with_columns(period=pl.lit("2026-10")))
    assert warning_status(issued, a, D(2026, 11, 2)).filter(pl.col("warning_id") == "w-old")["status"].item() == "verified_true"
    # re-run again, nothing changed: the row keeps the re-run's date, and says why still
    again = rerun(rows.drop("逾期天数"), D(2026, 10, 27))
    assert again.filter(pl.col("预警编号") == "w-x").select("状态", "下发日期").row(0) == (
        "新下发（重新下发：重新运行后预警规则增加M1，请一并核实；原下发日期2026-10-09，原核实截止日期2026-10-13）", "2026-10-20")
    # the township returns it as sent, then answered: no answer in its 状态, then an answer as any
    x = rows.filter(pl.col("预警编号") == "w-x").row(0, named=True)
    returned = fb((DADIAN, 2, "w-x", "大店镇", None, None, None, None, None),
                  (DADIAN, 3, "w-x", "大店镇", "属实", "是", "张", D(2026, 10, 21), None)).with_columns(
        list_state=pl.lit(x["状态"]), rules=pl.lit(x["预警规则"]))
    acc, blank, refused = check_feedback(returned, issued, D(2026, 11, 2))
    assert (acc["line"].to_list(), blank["line"].to_list(), refused.height) == ([3], [2], 0)
    assert acc["rules"].to_list() == ["M1、M2"]


def test_the_answer_history_decides_as_the_status_does_and_says_what_an_answer_left_open():
    """W1's row went out with M2; its township answered it 属实, then a re-run gave W1 M1 too.
    `warning_status` takes the answer as verifying M2 only: W1 is open again for M1. Before, the
    answer history said the answer `decides` W1 (the answer that sets the status), while the
    status was set by none. Given the warnings as issued now, it decides no more and says the
    rules it left open (`reopened_for`, as the status does); W2's answer, covering its rules,
    decides. Without the warnings (their rules now unknown): as before."""
    a = answers(("2026-11", "反馈/大店镇.csv", 2, W1, "属实", D(2026, 10, 12), None),
                ("2026-11", "反馈/大店镇.csv", 3, W2, "不属实", D(2026, 10, 12), None)).with_columns(
        rules=pl.Series(["M2", "M1"]))
    issued = ISSUED.with_columns(rules=pl.when(pl.col("warning_id") == W1).then(pl.lit("M1、M2")).otherwise(pl.lit("M1")))
    h = answer_history(a, issued)
    assert h.select("warning_id", "result", "decides", "reopened_for").rows() == [
        (W1, "属实", False, "M1"), (W2, "不属实", True, None)]
    status = warning_status(issued, a, AS_OF).filter(pl.col("warning_id").is_in([W1, W2]))
    assert status.select("warning_id", "result", "reopened_for").rows() == h.select(
        "warning_id", pl.when("decides").then("result"), "reopened_for").rows()
    assert answer_history(a).select("decides", "reopened_for").rows() == [(True, None), (True, None)]


def test_the_county_ledger_lists_every_answer_in_order_received_without_a_full_id_number():
    """核实台账.csv: every answer of the history, by 预警编号 then order received, in the bureau's
    words (是否决定状态 是/否, the rules each verified, the rules left open). The township's own
    words may hold an ID number (a 备注 naming the head, a file named after him, an old 15-digit
    one as 核实人): masked as the lists mask them, in answer_history.parquet too (it kept them
    whole beside a ledger that masked them). No answer yet: the headers, no row."""
    full, old = "341302199001011238", "341302650203128"
    named = f"反馈/{full}补报.csv"
    a = answers(("2026-12", named, 2, W1, "不属实", D(2026, 11, 12), f"户主{full}已外出"),
                ("2026-11", "反馈/大店镇.csv", 3, W2, "属实", D(2026, 10, 12), None),
                ("2026-11", "反馈/大店镇.csv", 2, W1, "属实", D(2026, 10, 12), None)).with_columns(
        rules=pl.Series(["M2", "M1", "M1、M2"]), verifier=pl.Series([old, "张", "张"]))
    issued = ISSUED.with_columns(rules=pl.when(pl.col("warning_id") == W1).then(pl.lit("M1、M2")).otherwise(pl.lit("M1")))
    history = answer_history(a, issued)
    ledger = answer_ledger(history)
    assert full not in history.write_csv() and old not in history.write_csv()
    assert ledger.columns == list(LEDGER_HEADERS.values())
    assert ledger.select("预警编号", "第几次反馈", "收到期次", "核实结果", "核实的预警规则", "是否决定状态",
                         "重新下发待核实的规则").rows() == [
        (W1, 1, "2026-11", "属实", "M1、M2", "否", None), (W1, 2, "2026-12", "不属实", "M2", "否", "M1"),
        (W2, 1, "2026-11", "属实", "M1", "是", None)]
    text = ledger.write_csv()
    assert full not in text and old not in text
    assert ledger.row(1, named=True) | {} == ledger.row(1, named=True) | {
        "反馈文件": "反馈/341302********1238补报.csv", "备注": "户主341302********1238已外出", "核实人": "341302******128"}
    empty = answer_ledger(answer_history(None, issued))
    assert empty.height == 0 and empty.columns == list(LEDGER_HEADERS.values())


def test_a_true_verdict_a_rerun_reopened_stays_on_the_dispatch_that_sent_it():
    """September's 派单 sent w-x (属实 on its row showing M2). A re-run then gave w-x M1 too:
    September's status (re-run by the cascade) finds it open for M1. Before, its 派单 neither
    withdrew w-x nor listed it: the period's published 派单 was rewritten without the dispatch it
    made, and the next re-run of the period no longer knew it sent it. It keeps its row, naming
    what the 属实 verified (M2, its 核实日期 and 预警依据), on every re-run; a later answer 不属实 on the
    row showing M1、M2 withdraws it. One an earlier period's 派单 sent is that one's: no row here."""
    status = pl.DataFrame({"warning_id": ["w-x"], "township": ["大店镇"], "household_id": ["X"], "status": ["open"],
                           "result": [None], "verified_on": [None], "days_overdue": [0], "withdrawn": [False],
                           "reopened_for": ["M1"]}, schema_overrides={"verified_on": pl.Date, "result": pl.String})
    stored = status.with_columns(status=pl.lit("verified_true"), result=pl.lit("属实"), verified_on=pl.lit(D(2026, 9, 4)),
                                 reopened_for=pl.lit(None, pl.String))
    again = pl.DataFrame({"warning_id": ["w-x"], "rules": ["M1、M2"], "answered_rules": ["M2"], "result": ["属实"],
                          "verify_date": [D(2026, 9, 4)]})
    warnings = pl.DataFrame({"warning_id": ["w-x", "w-x"], "risk_type": ["因病", "因病"], "rule": ["M1", "M2"],
                             "severity": ["中", "中"], "basis": ["自付 9000 元", "自付占收入 60%"], "dept": ["医保", "医保"]})
    sent = dispatch_changes(status, None, sent_before(stored, pl.Series(["w-x"])), again)
    assert sent.select("warning_id", "action").rows() == [("w-x", "派单")]
    assert sent.select("warning_id", "action", "verified_on", "rules_verified").rows() == [
        ("w-x", "派单", D(2026, 9, 4), "M2")]
    row = dispatch(sent, warnings, CFG)["医保"].row(0, named=True)
    assert (row["派单动作"], row["核实日期"], row["预警规则"], row["预警依据"]) == ("派单", D(2026, 9, 4), "M2", "M2：自付占收入 60%")
    # re-run again: the 派单 it published holds the row, the stored status has w-x open
    assert dispatch_changes(status, None, sent_before(status, pl.Series(["w-x"])), again)["action"].to_list() == ["派单"]
    # answered 不属实 since on the row showing both rules: taken back
    no = status.with_columns(status=pl.lit("verified_false"), result=pl.lit("不属实"), reopened_for=pl.lit(None, pl.String))
    assert dispatch_changes(no, None, sent_before(status, pl.Series(["w-x"])), again.clear())["action"].to_list() == [
        "撤回（复核改为不属实）"]
    # sent by an earlier period's 派单: not this one's to list
    assert dispatch_changes(status, stored, sent_before(stored, pl.Series([], dtype=pl.String)), again).is_empty()


def test_an_answer_to_the_old_row_does_not_reopen_a_rule_an_agreeing_answer_verified():
    """A re-run gave w-x M1 beside the M2 its October row showed, and sent the row again. The
    township answered the row sent again 属实 (M1、M2, visited 10-21), and a copy of the old list's
    row 属实 (M2, visited 10-12) came back put in after it, in the same delivery or a later one.
    Before, the last answer alone counted: w-x was open again for M1, overdue, its list asking
    for a visit the township had made, though no answer says otherwise of M1. Answers agreeing
    since the last one that said otherwise verify together: w-x is verified; the console's count
    and the answer history read it so too. One whose answer on the row showing both
    said 不属实 before the 属实 on the old row stays open for M1."""
    rows = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {
        "预警规则": "M1、M2", "下发日期": "2026-10-20", "核实截止日期": "2026-10-23"}])
    issued = issued_from_rows(rows)
    town, old = "反馈/大店镇_2026-10_预警清单_重新下发.csv", "反馈/大店镇_2026-10_预警清单.csv"
    same = answers(("2026-11", town, 2, "w-x", "属实", D(2026, 10, 21), None),
                   ("2026-11", old, 2, "w-x", "属实", D(2026, 10, 12), None)).with_columns(
        rules=pl.Series(["M1、M2", "M2"]), rank=pl.Series([2, 1]))
    later = same.with_columns(received_period=pl.Series(["2026-11", "2026-12"]), rank=pl.lit(1))
    for a in (same, later):
        got = warning_status(issued, a, D(2026, 12, 5)).row(0, named=True)
        assert (got["status"], got["result"], got["reopened_for"]) == ("verified_true", "属实", None)
        assert reissued(issued, a).is_empty()
        assert answer_history(a, issued).select("answer_no", "decides", "reopened_for").rows() == [
            (1, False, None), (2, True, None)]
    # taken in one delivery: not counted as answers that leave their warning open
    returned = fb((town, 2, "w-x", "大店镇", "属实", "是", "张", D(2026, 10, 21), None),
                  (old, 2, "w-x", "大店镇", "属实", "是", "张", D(2026, 10, 12), None)).with_columns(
        rules=pl.Series(["M1、M2", "M2"]))
    files = pl.DataFrame({"dept": ["反馈"] * 2, "file": [town, old],
                          "modified": [dt.datetime(2026, 11, 1), dt.datetime(2026, 11, 2)]})
    counts = take_returns(returned, None, issued, D(2026, 11, 2), "2026-11", CFG, files,
                          first_out={"2026-10": D(2026, 10, 9)})[0]  # (the old list went out 10-09)
    assert (counts["accepted"], counts["reopened"]) == (2, 0)
    # 不属实 on the row showing both, then 属实 on the old row: M1's last word is 不属实, open for it
    differ = later.with_columns(result=pl.Series(["不属实", "属实"]))
    assert warning_status(issued, differ, D(2026, 12, 5)).select("status", "reopened_for").row(0) == ("overdue", "M1")


def test_a_rerun_that_takes_back_the_rule_an_earlier_rerun_added_sends_the_row_as_first_sent():
    """October's list (10-09, due 10-13) had w-x with M2. A re-run on 10-20, before any answer,
    gave it M1 too: the row went out again dated 10-20, due 10-23, saying why (and since when it
    was sent). A second re-run on 10-27 with the first settings took M1 back: w-x is M2 again,
    as the list first sent it. Before, its row kept 10-20 and 10-23 and said nothing: the clerk
    saw a row re-dated for no reason, and M2, due 10-13, was not overdue until 10-23. It is the
    row as first sent again: 10-09, due 10-13, overdue as w-y beside it (never changed); sent with
    the period's lists, it takes their date as it is now (an --issue-date moves it). One a re-run
    first raised (w-n, sent 10-16 by it) and then gave a rule goes back to 10-16."""
    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township"]}
    old = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {"预警规则": "M2"},
                        township_row("w-y", "大店镇", "2026-10", hh="Y") | {"预警规则": "M2"},
                        township_row("w-n", "大店镇", "2026-10", hh="N", issued="2026-10-16") | {
                            "预警规则": "M2", "核实截止日期": "2026-10-21"}], schema=schema)
    before = with_carry_over(old, pl.DataFrame(schema={"状态": pl.String, "逾期天数": pl.Int64, **schema})).drop("逾期天数")
    roster = roster_of(("X", "大店镇", "韩湖村", None), ("Y", "大店镇", "韩湖村", None), ("N", "大店镇", "韩湖村", None))
    persons = pl.DataFrame(schema={"warning_id": pl.String, "person_id": pl.String})

    def rerun(before, on, rules, lists=("2026-10-09", "2026-10-13")):
        now = old.with_columns(pl.Series("预警规则", rules), 下发日期=pl.lit(lists[0]), 核实截止日期=pl.lit(lists[1]))
        new = first_sent(now, before, on, add_working_days(on, CFG.run.verify_working_days)[0])
        return list_rows(new, before, None, None, None, None, roster, None, persons, "2026-10", ISSUE)[0].drop("逾期天数")

    added = rerun(before, D(2026, 10, 20), ["M1、M2", "M2", "M1、M2"])
    got = {r["预警编号"]: (r["状态"], r["下发日期"], r["核实截止日期"]) for r in added.iter_rows(named=True)}
    assert got["w-x"] == ("新下发（重新下发：重新运行后预警规则增加M1，请一并核实；原下发日期2026-10-09，原核实截止日期2026-10-13）",
                          "2026-10-20", "2026-10-23")
    assert got["w-n"][1:] == ("2026-10-20", "2026-10-23") and "原下发日期2026-10-16，原核实截止日期2026-10-21" in got["w-n"][0]
    # re-run again with M3 added to w-x too: the note says both, and the first dates still
    more = rerun(added, D(2026, 10, 22), ["M1、M2、M3", "M2", "M1、M2"])
    assert more.filter(pl.col("预警编号") == "w-x").select("状态", "下发日期").row(0) == (
        "新下发（重新下发：重新运行后预警规则增加M1、M3，请一并核实；原下发日期2026-10-09，原核实截止日期2026-10-13）", "2026-10-22")
    back = rerun(more, D(2026, 10, 27), ["M2", "M2", "M2"])
    got = {r["预警编号"]: (r["状态"], r["下发日期"], r["核实截止日期"]) for r in back.iter_rows(named=True)}
    assert got == {"w-x": ("新下发", "2026-10-09", "2026-10-13"), "w-y": ("新下发", "2026-10-09", "2026-10-13"),
                   "w-n": ("新下发", "2026-10-16", "2026-10-21")}
    # none is sent now, nor sent again: the console and the report say nothing of them so
    assert (sent_now(back, more, ISSUE), sent_again(back, more, ISSUE)) == (0, 0)
    assert rerun_changes(back, back.clear(), more, ISSUE).is_empty()
    status = warning_status(issued_from_rows(back.with_columns(period=pl.lit("2026-10"))), None, D(2026, 10, 26))
    assert status.select("warning_id", "status").rows() == [("w-n", "overdue"), ("w-x", "overdue"), ("w-y", "overdue")]
    # taken back by a re-run that also re-dates the period's lists (--issue-date 10-12): sent with them, as w-y
    moved = rerun(more, D(2026, 10, 27), ["M2", "M2", "M2"], ("2026-10-12", "2026-10-15"))
    assert {r["预警编号"]: (r["下发日期"], r["核实截止日期"]) for r in moved.iter_rows(named=True)} == {
        "w-x": ("2026-10-12", "2026-10-15"), "w-y": ("2026-10-12", "2026-10-15"), "w-n": ("2026-10-16", "2026-10-21")}


def test_a_moved_warning_verified_by_agreeing_answers_is_said_to_need_no_visit():
    """A re-run moved w-mv to 夹沟镇 and gave it M1 beside M2. Later periods took 大店镇's answers:
    the row showing M1、M2 属实, then a copy of the old row (M2) 属实. `warning_status` takes them
    together as verifying both (w-x is closed); the moved row says so, `…无需再核实`, as for one
    answer that verified both: not silent, the household visited again for nothing."""
    before, new = _moved_with_a_rule_added()
    answered = pl.DataFrame({"warning_id": ["w-mv", "w-mv"], "township": ["大店镇", "大店镇"], "result": ["属实", "属实"],
                             "verify_date": [D(2026, 11, 20), D(2026, 11, 6)], "period": ["2026-11", "2026-12"],
                             "rank": [1, 1], "rules": ["M1、M2", "M2"]})
    listed = with_carry_over(first_sent(new, before, D(2026, 12, 4), D(2026, 12, 9), answered), before.head(0))
    told, out = moved_in_rerun(listed, before, answered)
    issued = issued_from_rows(pl.concat([told, out]).with_columns(period=pl.lit("2026-10")))
    assert warning_status(issued, answered, D(2026, 12, 10))["status"].to_list() == ["verified_true"]
    assert with_reissued(told, reissued(issued, answered))["状态"].to_list() == [
        "新下发（由大店镇韩湖村迁入，原下发日期2026-10-09；大店镇已于2026-11-06反馈属实，无需再核实）"]


def test_a_returned_row_whose_clerk_cut_the_word_before_a_rerun_s_note_is_no_answer():
    """w-x's row went out again after a re-run, 状态 `新下发（重新下发：…）`. Its clerk tidied the
    cell, leaving only the note (the word before it cut), and did not answer. Before, the row was
    set aside as an answer written into 状态 (`请填在“核实结果”列`): the township told it answered
    where it had not, the row counted set aside. The note is this system's words: the row is
    unanswered, as with the word; a 状态 the clerk wrote an answer into is still told back."""
    rows = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {
        "预警规则": "M1、M2", "下发日期": "2026-10-20", "核实截止日期": "2026-10-23"}])
    f = "反馈/大店镇_2026-10_预警清单.csv"
    for state, taken in (("（重新下发：重新运行后预警规则增加M1，请一并核实；原下发日期2026-10-09，原核实截止日期2026-10-13）", True),
                         ("（重新下发：重新运行后预警规则为M1、M2，此前反馈的核实结果“属实”（2026-10-12）只核实了M2，请就M1核实）", True),
                         ("已核实属实", False)):
        returned = fb((f, 2, "w-x", "大店镇", None, None, None, None, None)).with_columns(list_state=pl.lit(state))
        _, blank, refused = check_feedback(returned, issued_from_rows(rows), D(2026, 11, 2))
        assert (blank.height, refused.height) == ((1, 0) if taken else (0, 1)), state


def test_a_carried_row_an_earlier_rerun_sent_again_for_an_added_rule_says_why_still():
    """October's list had w-x (M2, 10-09, due 10-13); a re-run of October gave it M1 before any
    answer and sent it again, 10-20, due 10-23, saying why. November's list (a run after, or the
    cascade re-running it) carries w-x, still unanswered. Before, its row read 待核实, dated 10-20
    with M1、M2, and said nothing: November's list it replaced had it 逾期未核实, dated 10-09 with M2,
    and the clerk saw it come back re-dated for no reason. It says why, as October's row does
    (and as a carried row reopened after an answer does, `REISSUED_NOTE`); w-y, never re-dated,
    is carried as it was."""
    note = "（重新下发：重新运行后预警规则增加M1，请一并核实；原下发日期2026-10-09，原核实截止日期2026-10-13）"
    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township", "period"]}
    earlier = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {
                                "预警规则": "M1、M2", "下发日期": "2026-10-20", "核实截止日期": "2026-10-23"},
                            township_row("w-y", "大店镇", "2026-10", hh="Y") | {"预警规则": "M2"}], schema=schema
                           ).with_columns(状态=pl.Series(["新下发" + note, "新下发"]))
    roster = roster_of(("X", "大店镇", "韩湖村", None), ("Y", "大店镇", "韩湖村", None), ("G", "大店镇", "韩湖村", None))
    new = pl.DataFrame([township_row("w-new", "大店镇", "2026-11", hh="G", issued="2026-12-07")], schema=schema).drop("period")
    persons = pl.DataFrame(schema={"warning_id": pl.String, "person_id": pl.String})
    status = warning_status(issued_from_rows(earlier), None, D(2026, 11, 2))
    rows = list_rows(new, None, earlier, status, None, None, roster, None, persons, "2026-11", D(2026, 12, 7))[0]
    assert rows.select("预警编号", "状态", "下发日期").rows() == [
        ("w-y", "逾期未核实", "2026-10-09"), ("w-x", "逾期未核实" + note, "2026-10-20"), ("w-new", "新下发", "2026-12-07")]


def test_a_copy_of_the_old_row_returned_without_its_rules_verifies_the_rules_that_row_showed():
    """October's list (10-09) had w-x's 因病 row with M2; a re-run on 10-20, before any answer,
    gave it M1 too and sent it again dated 10-20, saying so (`ADDED_NOTE`). The township filled in
    a copy of the old row and deleted the 预警规则 column. Before, the answer verified the rules on
    w-x now, M1 too, which nobody looked at, and w-x was closed. Its 下发日期, the old row's (10-09,
    as Excel re-saves it: 2026/10/9), tells the row copied: the answer verifies M2, and w-x stays
    open for M1; so when November's list carries w-x. w-swap, given M1 and its M2 taken off: a copy
    of the old row verifies none of its rules now. A copy of the row sent again (10-20), one without
    下发日期, or with one no row was sent with or that cannot be read: the rules on it now, as
    before, none set aside; so for a re-run the day the lists went out (both rows say 10-09). A
    预警规则 returned still decides."""
    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township"]}
    old = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {"预警规则": "M2"},
                        township_row("w-swap", "大店镇", "2026-10", hh="S") | {"预警规则": "M2"}], schema=schema)
    before = with_carry_over(old, pl.DataFrame(schema={"状态": pl.String, "逾期天数": pl.Int64, **schema})).drop("逾期天数")
    now = old.with_columns(预警规则=pl.Series(["M1、M2", "M1"]))
    roster = roster_of(("X", "大店镇", "韩湖村", None), ("S", "大店镇", "韩湖村", None))
    persons = pl.DataFrame(schema={"warning_id": pl.String, "person_id": pl.String})

    def rerun(on):
        new = first_sent(now, before, on, add_working_days(on, CFG.run.verify_working_days)[0])
        rows = list_rows(new, before, None, None, None, None, roster, None, persons, "2026-10", ISSUE)[0]
        return rows.drop("逾期天数").with_columns(period=pl.lit("2026-10"))

    october = rerun(D(2026, 10, 20))
    assert october.select("预警编号", "下发日期").rows() == [("w-x", "2026-10-20"), ("w-swap", "2026-10-20")]
    dates = ["2026/10/9", "2026-10-20", None, "2026-10-01", "见上", "2026年10月9日", "2026-10-09"]
    returned = Feedback.validate(fb(*[(DADIAN, n, w, "大店镇", "属实", "是", "张", D(2026, 10, 12), None) for n, w in
                                      enumerate(["w-x"] * 5 + ["w-swap", "w-x"], start=2)]).with_columns(
        issue_date=pl.Series(dates), rules=pl.Series([None] * 6 + ["M1、M2"], dtype=pl.String)))

    def taken(earlier, rows=returned):
        acc, blank, refused = check_feedback(rows, issued_from_rows(earlier), D(2026, 11, 2), period="2026-11",
                                             first_out={"2026-10": ISSUE}, earlier_rows=earlier)
        assert (blank.height, refused.height) == (0, 0)
        return acc

    acc = taken(october)
    assert acc.select("line", "rules").rows() == [(2, "M2"), (3, "M1、M2"), (4, "M1、M2"), (5, "M1、M2"), (6, "M1、M2"),
                                                  (7, "M2"), (8, "M1、M2")]
    # w-x and w-swap stay open for M1, which no answer verified
    status = warning_status(issued_from_rows(october), acc.filter(pl.col("line").is_in([2, 7])).with_columns(
        received_period=pl.lit("2026-11")), D(2026, 11, 2))
    assert sorted(status.select("warning_id", "status", "reopened_for").rows()) == [
        ("w-swap", "overdue", "M1"), ("w-x", "overdue", "M1")]
    # November's list carried w-x, saying why it was sent again: answered in December, the same
    open_ = warning_status(issued_from_rows(october), None, D(2026, 11, 2))
    nov = pl.DataFrame([township_row("w-new", "大店镇", "2026-11", hh="X", issued="2026-11-02")],
                       schema={**schema, "period": pl.String}).drop("period")
    carried = list_rows(nov, None, october, open_, None, None, roster, None, persons, "2026-11", D(2026, 11, 2))[0]
    assert carried.filter(pl.col("预警编号") == "w-x")["状态"].item().startswith("逾期未核实（重新下发：")
    both = pl.concat([october, carried.drop("逾期天数").with_columns(period=pl.lit("2026-11"))], how="diagonal")
    assert taken(both, returned.head(1))["rules"].to_list() == ["M2"]
    # a re-run the day the lists went out: the row sent again says 10-09 too, which row was copied is not told
    same = rerun(ISSUE)
    assert same.filter(pl.col("预警编号") == "w-x")["下发日期"].item() == "2026-10-09"
    assert taken(same, returned.head(1))["rules"].to_list() == ["M1、M2"]


def test_a_true_verdict_that_comes_after_a_rerun_reopened_its_warning_is_dispatched():
    """A re-run gave w-x M1 beside the M2 its August row showed before anyone answered; the
    township then returned the old row (M2) 属实 in September's 反馈/: w-x is open for M1. Before,
    September's 派单 did not send it (only a 属实 its 派单 had sent before the re-run kept its
    row): had the answer come first, the department would have heard of it. It is sent, naming
    what the 属实 verified (M2, its 核实日期 and 预警依据), and kept on every re-run of September;
    October's 派单 (September's the one that sent it) says nothing of it, and withdraws it when
    a corrected answer on the old row says 不属实. Verified whole later, it goes out whole."""
    rows = pl.DataFrame([township_row("w-x", "大店镇", "2026-08", hh="X") | {
        "预警规则": "M1、M2", "下发日期": "2026-09-10", "核实截止日期": "2026-09-15"}])
    issued = issued_from_rows(rows)
    old = "反馈/大店镇_2026-08_预警清单.csv"
    yes = answers(("2026-09", old, 2, "w-x", "属实", D(2026, 9, 4), None)).with_columns(rules=pl.lit("M2"))
    sep = warning_status(issued, yes, D(2026, 9, 12))
    assert sep.select("status", "result", "reopened_for").row(0) == ("open", None, "M1")
    warnings = pl.DataFrame({"warning_id": ["w-x", "w-x"], "risk_type": ["因病", "因病"], "rule": ["M1", "M2"],
                             "severity": ["中", "中"], "basis": ["自付 9000 元", "自付占收入 60%"], "dept": ["医保", "医保"]})
    sent = dispatch_changes(sep, None, None, reissued(issued, yes))
    assert sent.select("warning_id", "action", "verified_on", "rules_verified").rows() == [
        ("w-x", "派单", D(2026, 9, 4), "M2")]
    row = dispatch(sent, warnings, CFG)["医保"].row(0, named=True)
    assert (row["派单动作"], row["核实日期"], row["预警规则"], row["预警依据"]) == ("派单", D(2026, 9, 4), "M2", "M2：自付占收入 60%")
    # September re-run: its published 派单 holds the row
    assert dispatch_changes(sep, None, sent_before(sep, pl.Series(["w-x"])), reissued(issued, yes)).rows() == sent.rows()
    # October: September's 派单 sent it
    assert dispatch_changes(sep, sep, None, reissued(issued, yes), yes).is_empty()
    # October, the old row corrected to 不属实: taken back
    no = pl.concat([yes, answers(("2026-10", old, 2, "w-x", "不属实", D(2026, 10, 12), None)).with_columns(
        rules=pl.lit("M2"))])
    octo = warning_status(issued, no, D(2026, 10, 14))
    assert dispatch_changes(octo, sep, None, reissued(issued, no), yes).select("warning_id", "action").rows() == [
        ("w-x", "撤回（复核改为不属实）")]
    # October, the row showing M1、M2 answered 属实: verified whole, sent whole
    both = pl.concat([yes, answers(("2026-10", "反馈/大店镇_2026-08_预警清单_重新下发.csv", 2, "w-x", "属实",
                                    D(2026, 10, 12), None)).with_columns(rules=pl.lit("M1、M2"))])
    whole = dispatch_changes(warning_status(issued, both, D(2026, 10, 14)), sep, None, reissued(issued, both), yes)
    assert whole.select("warning_id", "action", "rules_verified").rows() == [("w-x", "派单", None)]


def test_a_row_a_rerun_takes_a_rule_off_before_any_answer_says_so_and_keeps_its_dates():
    """October's list (10-09, due 10-13) had w-x's 因病 row with M1、M2; a re-run on 10-20, before any
    answer, found the corrected settlements no longer reach M1's threshold: w-x is M2. Before, the
    row silently showed fewer rules and another 预警依据: a grid worker about to visit for M1 was
    not told, nor did the county's report name it. The row keeps its dates and says so,
    `（重新运行后不再预警M1，请就M2核实）`, and 重新运行变动 names it; a re-run after that changes
    nothing keeps the words. Not w-ans (answered for both: nothing to verify), w-back (M1 an earlier
    re-run added, taken back: sent as first sent, its own handling), nor w-mv's rows (moved: new in
    夹沟镇, 迁出 in 大店镇). A returned row carrying the note (or the note alone, the word before it cut)
    reads as sent; an answer to it verifies the rules it showed (M2)."""
    added = "（重新下发：重新运行后预警规则增加M1，请一并核实；原下发日期2026-10-09，原核实截止日期2026-10-13）"
    schema = {c: pl.String for c in [*TOWNSHIP_COLUMNS, "township"]}
    old = pl.DataFrame([township_row("w-x", "大店镇", "2026-10", hh="X") | {"预警规则": "M1、M2"},
                        township_row("w-ans", "大店镇", "2026-10", hh="N") | {"预警规则": "M1、M2"},
                        township_row("w-back", "大店镇", "2026-10", hh="B", issued="2026-10-16") | {
                            "预警规则": "M1、M2", "核实截止日期": "2026-10-21"},
                        township_row("w-mv", "大店镇", "2026-10", hh="V") | {"预警规则": "M1、M2"}], schema=schema)
    before = with_carry_over(old, pl.DataFrame(schema={"状态": pl.String, "逾期天数": pl.Int64, **schema})).drop(
        "逾期天数").with_columns(状态=pl.Series(["新下发", "新下发", "新下发" + added, "新下发"]))
    towns = pl.Series(["大店镇", "大店镇", "大店镇", "夹沟镇"])
    now = old.with_columns(pl.lit("M2").alias("预警规则"), towns.alias("乡（镇）"), towns.alias("township"),
                           下发日期=pl.lit("2026-10-09"), 核实截止日期=pl.lit("2026-10-13"))
    a = answers(("2026-11", "反馈/大店镇.csv", 2, "w-ans", "属实", D(2026, 10, 12), None)).with_columns(
        rules=pl.lit("M1、M2"), period=pl.lit("2026-11"), rank=pl.lit(1))
    roster = roster_of(("X", "大店镇", "韩湖村", None))
    persons = pl.DataFrame(schema={"warning_id": pl.String, "person_id": pl.String})

    def rerun(before, on):
        new = first_sent(now, before, on, add_working_days(on, CFG.run.verify_working_days)[0], a)
        return new, list_rows(new, before, None, None, None, a, roster, None, persons, "2026-10", ISSUE)[0]

    new, rows = rerun(before, D(2026, 10, 20))
    got = {(r["预警编号"], r["township"]): (r["状态"], r["下发日期"], r["核实截止日期"]) for r in rows.iter_rows(named=True)}
    assert {k: v for k, v in got.items() if k != ("w-mv", "大店镇")} == {
        ("w-x", "大店镇"): ("新下发（重新运行后不再预警M1，请就M2核实）", "2026-10-09", "2026-10-13"),
        ("w-ans", "大店镇"): ("新下发", "2026-10-09", "2026-10-13"),
        ("w-back", "大店镇"): ("新下发", "2026-10-09", "2026-10-13"),
        ("w-mv", "夹沟镇"): ("新下发（由大店镇韩湖村迁入，原下发日期2026-10-09）", "2026-10-20", "2026-10-23"),
    }
    assert got[("w-mv", "大店镇")][0].startswith("迁出") and "不再预警" not in got[("w-mv", "大店镇")][0]
    # the county's report names it, with what the row shows now and what it no longer warns of
    dropped = rules_dropped(new, before, a)
    assert dropped.rows() == [("w-x", "M1", "M2")]
    # (`list_rows` gives them, found with the notes: the run does not work them out again for the report)
    assert list_rows(new, before, None, None, None, a, roster, None, persons, "2026-10", ISSUE)[5].equals(dropped)
    said = rerun_changes(new, before.head(0), before, D(2026, 10, 9), reissued(issued_from_rows(before.with_columns(period=pl.lit("2026-10"))), a), dropped)
    assert [d for d in said["detail"] if "不再预警" in d] == [
        "大店镇：w-x（M2，不再预警M1）本次重新运行去掉了清单该行的部分预警规则，下发日期不变，请就余下规则核实"
        " — a rule taken off: the re-run no longer warns of it, the row keeps its dates"]
    # re-run again, nothing changed: the row keeps its dates and the words (the report named it already)
    new, again = rerun(rows.drop("逾期天数"), D(2026, 10, 27))
    assert again.filter(pl.col("预警编号") == "w-x").select("状态", "下发日期").row(0) == (
        "新下发（重新运行后不再预警M1，请就M2核实）", "2026-10-09")
    kept = rows.drop("逾期天数")
    assert not rerun_changes(new, kept.head(0), kept, D(2026, 10, 9), None, rules_dropped(new, kept, a))[
        "detail"].str.contains("不再预警").any()
    # November's list carries w-x, still unanswered: it says so still, as October's row does
    earlier = again.drop("逾期天数").with_columns(period=pl.lit("2026-10"))
    status = warning_status(issued_from_rows(earlier), a, D(2026, 11, 2))
    nov = pl.DataFrame([township_row("w-new", "大店镇", "2026-11", hh="X", issued="2026-11-02")], schema=schema)
    carried = list_rows(nov, None, earlier, status, a, None, roster, None, persons, "2026-11", D(2026, 11, 2))[0]
    assert carried.filter(pl.col("预警编号") == "w-x")["状态"].to_list() == ["逾期未核实（重新运行后不再预警M1，请就M2核实）"]
    # the township returns it as sent, the note alone (the word before it cut), then answered for M2
    issued = issued_from_rows(rows.with_columns(period=pl.lit("2026-10")))
    returned = fb((DADIAN, 2, "w-x", "大店镇", None, None, None, None, None),
                  (DADIAN, 3, "w-x", "大店镇", None, None, None, None, None),
                  (DADIAN, 4, "w-x", "大店镇", "属实", "是", "张", D(2026, 10, 21), None)).with_columns(
        list_state=pl.Series(["新下发（重新运行后不再预警M1，请就M2核实）", "（重新运行后不再预警M1，请就M2核实）",
                              "新下发（重新运行后不再预警M1，请就M2核实）"]), rules=pl.lit("M2"))
    acc, blank, refused = check_feedback(returned, issued, D(2026, 11, 2))
    assert (acc["line"].to_list(), blank["line"].to_list(), refused.height) == ([4], [2, 3], 0)
    assert acc["rules"].to_list() == ["M2"]
    taken = acc.with_columns(received_period=pl.lit("2026-11"))
    assert warning_status(issued, taken, D(2026, 11, 2)).filter(pl.col("warning_id") == "w-x").select(
        "status", "reopened_for").row(0) == ("verified_true", None)


def test_a_neighbours_rows_in_a_townships_file_are_that_neighbours_answers_and_told_to_it():
    """大店镇's returned file also holds rows of 夹沟镇's list (the county merged two files, or a
    clerk pasted the neighbour's answered rows). Their 乡（镇） names 夹沟镇, whose warnings they
    answer: they were refused as 'file is from another township', and what was refused was told
    to 大店镇 alone (夹沟镇's warnings, and a shifted row's household, in 大店镇's 反馈退回). Such a
    row is 夹沟镇's answer (夹沟镇 told it was taken from 大店镇's file, to check it gave it); what
    is told of it goes to 夹沟镇. A row that names no township is
    still refused on the file's name and told to the file's township, without the household."""
    files = pl.DataFrame({"dept": ["反馈"], "file": [DADIAN], "modified": [dt.datetime(2026, 11, 4, 9)]})
    rows = fb((DADIAN, 2, W1, "大店镇", "属实", "是", "张", D(2026, 10, 12), None),
              (DADIAN, 3, W3, "夹沟镇", "属实", "是", "王", D(2026, 10, 12), None),    # 夹沟镇's row: taken
              (DADIAN, 4, W5, " 夹沟 ", "不属实", "否", "王", D(2026, 10, 1), None),    # 夹沟镇's, dated early
              (DADIAN, 5, W5, None, "属实", "是", "王", D(2026, 10, 12), None))        # no township: refused
    counts, acc, refused, told, _ = take_returns(rows, None, ISSUED, AS_OF, "2026-11", CFG, files)
    assert acc.select("line", "warning_id", "township").rows() == [(2, W1, "大店镇"), (3, W3, "夹沟镇")]
    back = told_back(told, None, None, None, CFG, ISSUED)
    # (夹沟镇 is told its answers taken from 大店镇's file, to check them if it did not give them)
    assert back["夹沟镇"].select("行号", "预警编号", "字段").rows() == [(4, W5, "核实日期"), (None, None, "乡（镇）")]
    assert back["夹沟镇"]["原因"][1].startswith("本乡镇 1 条预警的答复见于大店镇的反馈文件（第3行")
    assert back["大店镇"].select("行号", "预警编号", "字段").rows() == [(5, W5, "文件")]
    # a shifted row of the neighbour's warning (its household is not the one sent) is told to the
    # neighbour, never with its household to the file's township
    earlier = pl.DataFrame({"预警编号": [W3], "户编号": ["C"], "户主姓名": ["陈某"], "period": ["2026-10"], "township": ["夹沟镇"]})
    shifted = fb((DADIAN, 6, W3, "夹沟镇", "属实", "是", "王", D(2026, 10, 12), None)).with_columns(
        listed_household=pl.lit("Z"), listed_head=pl.lit("赵某"))
    _, _, _, told, _ = take_returns(shifted, None, ISSUED, AS_OF, "2026-11", CFG, files, earlier_rows=earlier)
    back = told_back(told, None, None, None, CFG, ISSUED)
    assert list(back) == ["夹沟镇"] and back["夹沟镇"]["字段"].to_list() == ["户编号"]
    # one overruled by a later line of the same file: told to 夹沟镇 too
    twice = fb((DADIAN, 7, W3, "夹沟镇", "不属实", "否", "王", D(2026, 10, 12), None),
               (DADIAN, 8, W3, "夹沟镇", "属实", "是", "王", D(2026, 10, 12), None))
    _, _, _, told, _ = take_returns(twice, None, ISSUED, AS_OF, "2026-11", CFG, files)
    assert list(told_back(told, None, None, None, CFG, ISSUED)) == ["夹沟镇"]


def test_a_list_sent_back_unfilled_is_told_to_its_township_and_named_for_the_county():
    """大店镇 returned its list as it came (the unfilled copy sent instead of the filled one; here
    a workbook, every risk-type sheet unanswered): its rows were counted as unanswered and nothing
    more, nothing told, though the township believes it answered. Now the file is named
    (反馈无答复, on the console) and told back to 大店镇; a file answering some of its rows, or
    whose rows were taken before, or set aside by the validator, is not."""
    book = "反馈/大店镇_2026-10_预警清单.xlsx"
    files = pl.DataFrame({"dept": ["反馈"] * 3, "file": [book, JIAGOU, DADIAN],
                          "modified": [dt.datetime(2026, 11, 4, 9)] * 3})
    rows = fb((f"{book}（工作表 因病）", 2, W1, "大店镇", None, None, None, None, None),
              (f"{book}（工作表 因残）", 2, W2, "大店镇", None, None, None, None, None),
              (JIAGOU, 2, W3, "夹沟镇", "属实", None, None, None, None),     # answered: a row left blank is pending
              (JIAGOU, 3, W5, "夹沟镇", None, None, None, None, None),
              (DADIAN, 2, W2, "大店镇", None, None, None, None, None))       # the validator set its other row aside
    aside = pl.DataFrame({"file": [DADIAN], "line": [3]}, schema={"file": pl.String, "line": pl.Int64})
    counts, _, _, told, findings = take_returns(rows, aside, ISSUED, AS_OF, "2026-11", CFG, files)
    assert counts["unanswered"] == 4
    said = findings.filter(pl.col("category") == Finding.NO_ANSWERS)
    assert said.select("file", "count").rows() == [(book, 2)] and Finding.NO_ANSWERS in Finding.ATTENTION
    assert said["detail"][0].startswith("文件中 2 行的核实结果等反馈列均为空、无答复行")
    back = told_back(told, None, None, None, CFG, ISSUED)
    assert list(back) == ["大店镇"] and back["大店镇"].select("文件", "行号").rows() == [(book, None)]

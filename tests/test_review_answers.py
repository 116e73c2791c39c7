"""The county's answers to its review queue: which are used, which set aside and why, which
win, and what they change."""

import polars as pl

from config import load_config
from pipelines.review_answers import (ANSWER_SCHEMA, answerable_departments, answers_in_effect, apply_answers, check_answers,
                                      describe, gone_from_roster, in_folders, relinked, take_answers)
from pipelines.validate import REJECTED_SCHEMA
from schemas.outputs import Finding

ROSTER = pl.DataFrame({"person_id": ["P1", "P2", "P3", "P4", "P5"], "household_id": ["H1", "H2", "H3", "H4", "H5"],
                       "id_number": ["341302199001011234", "341302199202021235", "341302196003031236",
                                     "341302196504041237", "341302197005051238"]})
DEPTS = ["医保", "住建", "人社", "民政"]


def _answers(rows: list[tuple], period: str = "2026-10") -> pl.DataFrame:
    """(file, line, 部门, 记录编号, 人编号, 是否本人) -> ReviewAnswer rows received in `period`."""
    return pl.DataFrame([dict(dept="复核", kind="review_answer", file=f, line=n, record_dept=d, record_id=r,
                              rec_name=None, person_id=p, verdict=v, reviewer=None, note=None)
                         for f, n, d, r, p, v in rows], schema=ANSWER_SCHEMA).with_columns(period=pl.lit(period))


def _decided(*frames: pl.DataFrame) -> pl.DataFrame:
    return answers_in_effect(pl.concat(frames))


def _check(rows: list[tuple], shown: list[tuple] = (), known: list[tuple] | None = None):
    """`shown`: (部门, kind, 记录编号, 证件号码) of this period's records; `known`: (部门, 记录编号) of
    every period's (default: every record the answers name)."""
    answers = _answers(rows).drop("period")
    known = (answers.select(dept="record_dept", record_id="record_id").unique() if known is None
             else pl.DataFrame(known, schema=["dept", "record_id"], orient="row"))
    shown = pl.DataFrame(list(shown), schema={"dept": pl.Utf8, "kind": pl.Utf8, "record_id": pl.Utf8, "id_raw": pl.Utf8},
                         orient="row")
    got, refused = check_answers(answers, ROSTER, DEPTS, known, shown, ("med_enrollment",), 2)
    return got, {r["line"]: (r["field"], r["reason"]) for r in refused.iter_rows(named=True)}


def test_answers_are_set_aside_for_what_cannot_be_right_and_blank_ones_wait():
    got, refused = _check([
        ("复核/q.csv", 2, "医保", "A", "P1", "是"), ("复核/q.csv", 3, "医保", "A", "P2", "否"),
        ("复核/q.csv", 4, "住建", "B", "P9", "否"),  # not on the roster
        ("复核/q.csv", 5, "人社", "C", "P3", "是"), ("复核/q.csv", 6, "人社", "C", "P4", "是"),  # which one?
        ("复核/q.csv", 7, "民政", "D", "P5", None),  # not decided yet
        ("复核/q.csv", 8, "水利", "GS1", "P5", "是"),  # a place, not a person
        ("复核/q.csv", 9, "医保局", "CB1", "P5", "是"),  # no such department
        ("复核/q.csv", 10, "医保", "cb2", "P5", "是"),  # no such record in any period
    ], known=[("医保", "A"), ("住建", "B"), ("人社", "C"), ("民政", "D")])
    assert got.select("record_id", "person_id").rows() == [("A", "P1"), ("A", "P2")]
    assert {n: f for n, (f, _) in refused.items()} == {4: "person_id", 5: "verdict", 6: "verdict", 8: "record_dept",
                                                      9: "record_dept", 10: "record_id"}
    assert refused[4][1] == "住建 B：人编号不在本期户籍底册中 person not on the roster，结论未采用"
    assert "两名以上候选人" in refused[5][1] and "不是有人员记录的部门" in refused[8][1]
    assert "都没有" in refused[10][1]


def test_a_record_number_of_another_department_is_refused_naming_it():
    """部门 mistyped (民政 for a 医保 record): 'no such record in any period' sent the analyst to look
    for a typo in the 记录编号; the reason names the department the record is of."""
    got, refused = _check([("复核/q.xlsx", 2, "民政", "JS1", "P1", "是")], known=[("医保", "JS1"), ("民政", "MZ1")])
    assert got.is_empty() and refused[2] == ("record_id", "民政 JS1：记录编号是医保的记录，不是该部门的：部门填错了？ a record "
                                                          "of 医保, not of this department，结论未采用")


def test_a_number_excel_kept_to_15_digits_is_said_to_be_excels_doing():
    """A long 人编号 or 记录编号 saved by Excel as a number (341302001001020304 as ...020000) was
    refused as 'not on the roster' / 'no such record' only: the analyst looked for a typo there
    is none of. The reason says Excel cut it and how to answer again; other numbers are as before."""
    got, refused = _check([("复核/q.xlsx", 2, "医保", "A", "341302001001020000", "是"),
                           ("复核/q.xlsx", 3, "医保", "202610000000000000", "P1", "是"),
                           ("复核/q.xlsx", 4, "医保", "A", "P9", "否")], known=[("医保", "A")])
    assert got.is_empty() and {n: f for n, (f, _) in refused.items()} == {2: "person_id", 3: "record_id", 4: "person_id"}
    assert refused[2][1].startswith("医保 A：人编号不在本期户籍底册中 person not on the roster：疑已被Excel截为15位有效数字")
    assert "疑已被Excel截为15位有效数字" in refused[3][1] and "Excel" not in refused[4][1]


def test_a_yes_for_a_person_whose_id_contradicts_the_record_is_taken_for_a_mistyped_person_number():
    shown = [("医保", "med_settlement", "JS1", "341302********1234"),  # P1's last four
             ("医保", "med_settlement", "JS2", "34130219900101123X"),  # P1 but for the check character
             ("医保", "med_settlement", "JS3", "3413021990010*****")]  # birth date only
    got, refused = _check([("复核/q.csv", 2, "医保", "JS1", "P2", "是"),  # P2's ends 1235: one digit
                           ("复核/q.csv", 3, "医保", "JS2", "P3", "是"),  # P3: born 1960-03-03
                           ("复核/q.csv", 4, "医保", "JS3", "P1", "是"),
                           ("复核/q.csv", 5, "医保", "JS2", "P4", "否")], shown)  # a 否 says nothing of IDs
    assert sorted(got["line"]) == [2, 4, 5]
    assert refused[3][0] == "person_id" and "有 4 位不同" in refused[3][1], refused


def test_one_file_answering_a_candidate_both_yes_and_no_is_set_aside():
    """A row copied and answered again (是 on line 5, 否 on line 6 for the same person) was taken
    as its later line, silently: the record became unmatched. Both lines are set aside, naming the
    verdict; the same answer twice, or 否 for another candidate, is taken."""
    got, refused = _check([("复核/q.xlsx", 5, "医保", "A", "P1", "是"), ("复核/q.xlsx", 6, "医保", "A", "P1", "否"),
                           ("复核/q.xlsx", 7, "医保", "B", "P2", "是"), ("复核/q.xlsx", 8, "医保", "B", "P2", "是"),
                           ("复核/q.xlsx", 9, "医保", "B", "P3", "否")])
    assert sorted(got["line"]) == [7, 8, 9]
    assert {n: f for n, (f, _) in refused.items()} == {5: "verdict", 6: "verdict"}
    assert refused[5][1] == ("医保 A：同一文件中对该记录的同一候选人既答“是”又答“否”，请核对后只留一行 one file answers this "
                             "candidate both 是 and 否，结论未采用")


def test_two_files_disagreeing_are_both_set_aside_but_a_saved_again_copy_corrects_its_original():
    got, refused = _check([
        ("复核/张三.xlsx", 2, "医保", "A", "P1", "是"), ("复核/李四.xlsx", 2, "医保", "A", "P1", "否"),
        ("复核/张三.xlsx", 3, "医保", "B", "P2", "是"), ("复核/李四.xlsx", 3, "医保", "B", "P3", "是"),
        ("复核/q.csv", 2, "医保", "C", "P4", "否"), ("复核/q(1).csv", 2, "医保", "C", "P4", "是"),
    ])
    assert {(r["file"], r["line"]) for r in got.iter_rows(named=True)} == {("复核/q.csv", 2), ("复核/q(1).csv", 2)}
    assert sorted(refused) == [2, 3] and all("另一文件" in why for _, why in refused.values())  # (by line: both files)
    assert all("（复核/张三.xlsx、复核/李四.xlsx）" in why for _, why in refused.values()), refused  # (which: both named)
    assert _decided(got.with_columns(period=pl.lit("2026-10")))["person_id"].to_list() == ["P4"]


def test_two_sheets_of_one_workbook_disagreeing_are_said_to_be_sheets_not_files():
    """Two sheets of one workbook in 复核/ (two reviewers' tabs) answering a record otherwise were
    each told "本期另一文件…": the analyst looked for a second file that is not there. The other
    side is named a sheet of the same workbook; a disagreement with another file is still a file's."""
    book = "复核/人工复核队列_已复核.xlsx"
    got, refused = _check([
        (f"{book}（工作表 张三）", 2, "医保", "A", "P1", "是"), (f"{book}（工作表 李四）", 12, "医保", "A", "P1", "否"),
        (f"{book}（工作表 张三）", 3, "医保", "B", "P2", "是"), (f"{book}（工作表 李四）", 13, "医保", "B", "P3", "是"),
        (f"{book}（工作表 张三）", 4, "医保", "C", "P4", "是"), ("复核/王五.xlsx", 14, "医保", "C", "P4", "否"),
    ])
    assert got.is_empty() and sorted(refused) == [2, 3, 4, 12, 13, 14]
    for line in (2, 3, 12, 13):
        assert refused[line][1].endswith("同一工作簿的另一工作表对同一记录的结论不同，请核对后只留一份 another sheet of "
                                         "this workbook answers this record otherwise，结论未采用"), refused[line]
    assert all("本期另一文件" in refused[n][1] and "同一工作簿" not in refused[n][1] for n in (4, 14)), refused
    assert all(f"（{book}（工作表 张三）、复核/王五.xlsx）" in refused[n][1] for n in (4, 14)), refused  # (which: named)


def test_a_saved_again_copys_sheet_disagreeing_with_its_originals_other_sheet_names_both():
    """人工复核队列(1).xlsx's sheet 李四 answering a record otherwise than 人工复核队列.xlsx's sheet
    张三 was told "another sheet of this workbook": the analyst looked in one workbook for a sheet
    that is in the other file. The reason names both files and sheets; sheets of one workbook are
    still said so."""
    book, copy = "复核/人工复核队列.xlsx", "复核/人工复核队列(1).xlsx"
    got, refused = _check([
        (f"{book}（工作表 张三）", 2, "医保", "A", "P1", "是"), (f"{copy}（工作表 李四）", 12, "医保", "A", "P1", "否"),
        (f"{book}（工作表 张三）", 3, "医保", "B", "P2", "是"), (f"{copy}（工作表 李四）", 13, "医保", "B", "P3", "是"),
        (f"{book}（工作表 张三）", 4, "医保", "C", "P4", "是"), (f"{book}（工作表 王五）", 14, "医保", "C", "P4", "否"),
    ])
    assert got.is_empty() and sorted(refused) == [2, 3, 4, 12, 13, 14]
    both = f"（{copy}（工作表 李四）、{book}（工作表 张三））"
    for line in (2, 3, 12, 13):
        assert f"另存的副本与原文件的不同工作表对同一记录的结论不同{both}" in refused[line][1], refused[line]
        assert "同一工作簿" not in refused[line][1]
    assert all("同一工作簿的另一工作表" in refused[n][1] for n in (4, 14)), refused


def test_a_saved_again_copy_replaces_its_originals_answers_for_a_record():
    """An analyst moves 是 from P1 to P2 in a saved-again copy, P1 left blank or answered 否 there:
    the copy's answers for record A replace the original's (its 否 for P2 too), none is set aside
    as another file's. 是 for two persons of one record within one file (R's copy) is still set
    aside, row by row; two files that are not copies of one another still disagree (B)."""
    for p1_in_copy, ruled_out in [(None, []), ("否", ["P1"])]:
        got, refused = _check([("复核/q.csv", 2, "医保", "A", "P1", "是"), ("复核/q.csv", 3, "医保", "A", "P2", "否"),
                               ("复核/q(1).csv", 2, "医保", "A", "P1", p1_in_copy),
                               ("复核/q(1).csv", 3, "医保", "A", "P2", "是")])
        assert refused == {}, refused
        now = _decided(got.with_columns(period=pl.lit("2026-10")))
        assert now.select("person_id", "excluded", "file", "line").rows() == [("P2", ruled_out, "复核/q(1).csv", 3)]
    got, refused = _check([("复核/r.csv", 7, "医保", "R", "P3", "是"),
                           ("复核/r(1).csv", 8, "医保", "R", "P3", "是"), ("复核/r(1).csv", 9, "医保", "R", "P4", "是"),
                           ("复核/张三.xlsx", 10, "医保", "B", "P1", "是"), ("复核/李四.xlsx", 11, "医保", "B", "P2", "是")])
    assert sorted(refused) == [8, 9, 10, 11] and all("两名以上候选人" in refused[n][1] for n in (8, 9))
    assert all("另一文件" in refused[n][1] for n in (10, 11))


def test_one_person_answered_yes_on_two_records_of_a_one_record_per_person_list_is_set_aside():
    shown = [("医保", "med_enrollment", "CB1", None), ("医保", "med_enrollment", "CB2", None),
             ("医保", "med_settlement", "JS1", None), ("医保", "med_settlement", "JS2", None)]
    got, refused = _check([("复核/q.csv", 2, "医保", "CB1", "P1", "是"), ("复核/q.csv", 3, "医保", "CB2", "P1", "是"),
                           ("复核/q.csv", 4, "医保", "JS1", "P1", "是"), ("复核/q.csv", 5, "医保", "JS2", "P1", "是")],
                          shown)
    assert sorted(got["record_id"]) == ["JS1", "JS2"]  # a person has many settlements
    assert sorted(refused) == [2, 3] and "一人只应有一条" in refused[2][1]


def test_the_latest_answer_decides_a_corrected_copy_and_a_later_month_over_an_earlier_one():
    october = _answers([("复核/q.csv", 2, "医保", "A", "P1", "是"), ("复核/q.csv", 3, "医保", "A", "P2", "否"),
                        ("复核/q.csv", 4, "医保", "B", "P3", "否"),
                        ("复核/q(1).csv", 4, "医保", "B", "P3", "是")])  # a corrected copy, saved again
    november = _answers([("复核/r.csv", 2, "医保", "A", "P2", "是")], "2026-11")
    now = _decided(october).sort("record_id")
    assert now.select("record_id", "person_id", "excluded", "file").rows() == [
        ("A", "P1", ["P2"], "复核/q.csv"), ("B", "P3", [], "复核/q(1).csv")]
    later = _decided(october, november).sort("record_id")
    assert later.filter(pl.col("record_id") == "A").select("person_id", "period").rows() == [("P2", "2026-11")]


def _links(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame([dict(dept="医保", kind="med_enrollment", record_id=r, decision=d, person_id=p,
                              household_id=p and "H" + p[1:], score=s, reason="model", n_candidates=1)
                         for r, d, p, s in rows], schema_overrides={"person_id": pl.Utf8, "household_id": pl.Utf8})


def _candidates(rows: list[tuple]) -> pl.DataFrame:
    return pl.DataFrame([dict(dept="医保", kind="med_enrollment", record_id=r, decision="review", rank=k,
                              person_id=p, household_id="H" + p[1:], score=s, reason="model", cause="weak", rivals=None)
                         for r, k, p, s in rows], schema_overrides={"rivals": pl.Utf8})


def test_answers_link_the_confirmed_unlink_the_ruled_out_and_leave_the_rest():
    links = _links([("A", "review", None, 0.8), ("B", "review", None, 0.7), ("C", "review", None, 0.6),
                    ("D", "matched", "P5", 0.995), ("E", "matched", "P5", 0.999), ("F", "rejected", None, None),
                    ("G", "review", None, 0.9)])
    candidates = _candidates([("A", 1, "P1", 0.8), ("A", 2, "P2", 0.1), ("B", 1, "P3", 0.7), ("B", 2, "P4", 0.2),
                              ("C", 1, "P3", 0.6), ("C", 2, "P4", 0.3), ("G", 1, "P1", 0.9)])
    decided = _decided(_answers([
        ("复核/q.csv", 2, "医保", "A", "P2", "是"),  # the second candidate is the person
        ("复核/q.csv", 3, "医保", "B", "P3", "否"), ("复核/q.csv", 4, "医保", "B", "P4", "否"),  # neither
        ("复核/q.csv", 5, "医保", "C", "P3", "否"),  # one ruled out, one left
        ("复核/q.csv", 6, "医保", "D", "P5", "否"),  # a link the matcher made, ruled out
        ("复核/q.csv", 7, "医保", "F", "P1", "是"),  # a rejected row stays rejected
        ("复核/q.csv", 8, "住建", "G", "P1", "是"),  # another department's record G
    ]))
    got, left = apply_answers(links, decided, ROSTER, candidates)
    by = {r["record_id"]: r for r in got.iter_rows(named=True)}
    assert (by["A"]["decision"], by["A"]["person_id"], by["A"]["household_id"], by["A"]["score"]) == ("matched", "P2", "H2", 1.0)
    # cited as every text cites an answer (the record whose person it took, in link's reason and the queue, too)
    assert by["A"]["reason"] == "人工复核（复核/q.csv 第 2 行，2026-10 收到）确认是本人"
    assert (by["B"]["decision"], by["B"]["person_id"]) == ("unmatched", None) and "排除了 P3、P4" in by["B"]["reason"]
    assert by["C"]["decision"] == "review" and by["D"]["decision"] == "unmatched" and by["D"]["household_id"] is None
    assert by["C"]["reason"] == "model；人工复核（复核/q.csv 第 5 行，2026-10 收到）排除了 P3"  # the queue says so too
    assert left.filter(pl.col("record_id") == "C")["reason"].to_list() == [by["C"]["reason"]]
    assert [(by[r]["decision"], by[r]["reason"]) for r in "EFG"] == [("matched", "model"), ("rejected", "model"),
                                                                      ("review", "model")]
    assert left.select("record_id", "person_id").rows() == [("C", "P4"), ("G", "P1")]
    assert got.columns == links.columns and got.height == links.height
    # without candidates (the year's earlier settlements), a review record stays in review
    settled, _ = apply_answers(links.drop("reason", "kind", "n_candidates"), decided, ROSTER)
    assert dict(settled.select("record_id", "decision").iter_rows()) == {
        "A": "matched", "B": "review", "C": "review", "D": "unmatched", "E": "matched", "F": "rejected", "G": "review"}




def test_a_yes_for_a_person_gone_from_the_roster_is_not_applied_and_is_listed():
    links = _links([("A", "review", None, 0.8)])
    candidates = _candidates([("A", 1, "P1", 0.8)])
    decided = _decided(_answers([("复核/q.csv", 2, "医保", "A", "P7", "是")]))
    got, left = apply_answers(links, decided, ROSTER, candidates)
    assert got["decision"].to_list() == ["review"] and left.height == 1
    gone = gone_from_roster(decided, ROSTER)
    assert gone["record_id"].to_list() == ["A"]
    counts = dict(returned=1, accepted=1, blank=0, set_aside=0, confirmed=0, excluded=0, unseen=0, pending=0,
                  withdrawn=0, gone=1, held=0)
    line = describe(counts, ["复核/q.csv"], gone, None, pl.DataFrame(schema=REJECTED_SCHEMA))
    assert "请重新复核（医保 A（复核/q.csv 第 2 行，2026-10 收到））" in line, line  # cited as apply_answers cites it


def test_a_yes_given_months_ago_is_not_taken_for_a_record_it_contradicts_or_a_second_list_record():
    """Answers put into a later month's 复核/ are checked against the records when they apply: a
    record number answered for a person whose ID it contradicts; a second 参保名单 record
    confirmed to a person another one already was (the later answer wins)."""
    from pipelines.review_answers import unconfirmable, without_yes

    decided = _decided(_answers([("复核/q.csv", 2, "医保", "JS9", "P1", "是"),
                                 ("复核/q.csv", 3, "医保", "CB1", "P2", "是")], "2026-10"),
                       _answers([("复核/r.csv", 2, "医保", "CB2", "P2", "是"),
                                 ("复核/r.csv", 3, "医保", "JS8", "P3", "是"), ("复核/r.csv", 4, "医保", "JS8", "P4", "否")],
                                "2026-11"))
    shown = pl.DataFrame({"dept": ["医保"] * 4, "kind": ["med_settlement", "med_enrollment", "med_enrollment",
                                                         "med_settlement"],
                          "record_id": ["JS9", "CB1", "CB2", "JS8"],
                          "id_raw": ["342201199604173163", None, None, "341302196003031236"]})
    held = unconfirmable(decided, shown, ROSTER, ("med_enrollment",), 2).sort("record_id")
    assert held.select("record_id", "why").rows() == [
        ("CB1", "同一名单中的记录 CB2 后来确认为此人，此结论被取代"), ("JS9", "证件号码有 8 位与记录不符")]
    kept = without_yes(decided, held).sort("record_id")
    assert kept.select("record_id", "person_id", "excluded").rows() == [
        ("CB1", None, []), ("CB2", "P2", []), ("JS8", "P3", ["P4"]), ("JS9", None, [])]


def test_a_yes_for_a_person_whose_whole_id_another_list_record_shows_is_not_taken():
    """The 参保名单 record showing a person's whole ID is theirs: a 是 that gives the person to a
    masked record of the same list picked a look-alike. A settlement showing the ID proves
    nothing of the kind (a person has many)."""
    from pipelines.review_answers import unconfirmable

    decided = _decided(_answers([("复核/q.csv", 2, "医保", "CB3", "P4", "是"), ("复核/q.csv", 3, "医保", "CB5", "P5", "是")]))
    shown = pl.DataFrame({"dept": ["医保"] * 4, "kind": ["med_enrollment", "med_enrollment", "med_enrollment", "med_settlement"],
                          "record_id": ["CB3", "CB4", "CB5", "JS1"],
                          "id_raw": ["341302********1237", "341302196504041237", "341302********1238", "341302197005051238"]})
    held = unconfirmable(decided, shown, ROSTER, ("med_enrollment",), 2)
    assert held.select("record_id", "person_id", "why").rows() == [("CB3", "P4", "同一名单中的记录 CB4 显示此人的完整身份证号")]
    # CB4 confirmed in September, CB3 (refused) in October: CB3 supersedes nothing
    earlier = _decided(_answers([("复核/p.csv", 2, "医保", "CB4", "P4", "是")], "2026-09"),
                       _answers([("复核/q.csv", 2, "医保", "CB3", "P4", "是")]))
    assert unconfirmable(earlier, shown, ROSTER, ("med_enrollment",), 2)["record_id"].to_list() == ["CB3"]


def test_an_earlier_settlement_relinked_by_an_answer_received_now_is_marked_for_the_rules():
    """Only links changed by this period's answers count as new: a September settlement answered
    in October raises its warning in October, not again every month after."""
    from pipelines.review_answers import changed_now

    before = _links([("A", "review", None, 0.8), ("B", "review", None, 0.7), ("C", "matched", "P5", 0.999)])
    decided = _decided(_answers([("复核/q.csv", 2, "医保", "A", "P1", "是")], "2026-10"),
                       _answers([("复核/r.csv", 2, "医保", "B", "P2", "是")], "2026-09"),
                       _answers([("复核/q.csv", 3, "医保", "C", "P5", "是")], "2026-10"))
    after = apply_answers(before, decided, ROSTER)[0]
    got = changed_now(before, after, decided, "2026-10")
    assert dict(got.select("record_id", "answered_now").iter_rows()) == {"A": True, "B": False, "C": False}
    assert got.drop("answered_now").equals(after)


def test_answers_wait_until_a_run_links_their_department_with_them():
    """Partial runs keep the other departments' links as their last run made them. Answers for
    医保 and 民政 arrive; `--dept 医保` takes those for 医保 and stores both: 民政's wait. A
    `--dept 住建` run after it finds 民政's stored, yet 民政's links still predate them: they
    still wait. `--dept 民政` takes them, and the next run keeps knowing it; an answer changed
    since waits again; a full run takes everything. An answer stored by a version that kept no
    flag was taken by the run that stored it."""
    new = _answers([("复核/q.csv", 2, "医保", "CB1", "P1", "是"), ("复核/q.csv", 3, "民政", "MZ1", "P2", "否")])
    waiting = lambda df: df.filter(~pl.col("relinked"))["record_id"].to_list()  # noqa: E731
    stored = relinked(new, None, ["医保"])  # --dept 医保 (no answers stored for the period yet)
    assert waiting(stored) == ["MZ1"]
    stored = relinked(new, stored, ["住建"])
    assert waiting(stored) == ["MZ1"]
    stored = relinked(new, stored, ["民政"])
    assert waiting(stored) == [] and waiting(relinked(new, stored, ["住建"])) == []
    changed = new.with_columns(verdict=pl.lit("是"))  # MZ1: 否 corrected to 是 since
    assert waiting(relinked(changed, stored, ["住建"])) == ["MZ1"]
    assert waiting(relinked(changed, stored, DEPTS)) == []
    assert waiting(relinked(new, new, ["住建"])) == []


def test_answers_taken_out_of_review_are_kept_as_long_as_kept_links_were_made_with_them():
    """The full run took answers for 医保 and 民政; then the file is taken out of 复核/. `--dept
    医保` links 医保 without them, but keeps 民政's links, made with 民政's answer: that answer is
    kept, `withdrawn` (in effect no more, for this period or a later one), so that a `--dept 住建`
    after it still knows. A run linking 民政 again, or the answer delivered again (the links were
    made with it), ends that (医保's, delivered again, waits: its links were made without it since);
    a changed answer waits."""
    new = _answers([("复核/q.csv", 2, "医保", "CB1", "P1", "是"), ("复核/q.csv", 3, "民政", "MZ1", "P2", "是")])
    none = new.clear()
    full = relinked(new, None, DEPTS)
    assert not full["withdrawn"].any()
    after = relinked(none, full, ["医保"])
    assert after.select("record_id", "person_id", "relinked", "withdrawn").rows() == [("MZ1", "P2", True, True)]
    assert after.equals(relinked(none, after, ["住建"]))
    november = _answers([("复核/r.csv", 2, "民政", "MZ2", "P3", "是")], "2026-11")
    assert _decided(pl.concat([after, november], how="diagonal"))["record_id"].to_list() == ["MZ2"]
    assert relinked(none, after, ["民政"]).is_empty() and relinked(none, after, DEPTS).is_empty()
    back = relinked(new, after, ["住建"])
    assert back.select("record_id", "relinked", "withdrawn").rows() == [("CB1", False, False), ("MZ1", True, False)]
    changed = relinked(new.with_columns(verdict=pl.lit("否")), after, ["住建"])
    assert changed.filter(~pl.col("relinked"))["record_id"].to_list() == ["CB1", "MZ1"]


def test_a_returned_queue_is_read_alike_with_or_without_its_first_queued_column(tmp_path):
    """The queue as published (CSV and XLSX, with 首次列入复核 beside 记录编号) and as an older
    version published it (without), answered and put into 复核/: the same answers."""
    from adapters import outputs
    from adapters.inbox import read_delivery
    from config import load_config
    from matchers.review import FIRST_COLUMN, review_queue, with_first_queued
    from pipelines.standardize import known_headers
    from schemas.outputs import REVIEW_CHOICES

    cfg = load_config()
    review = pl.DataFrame({
        "dept": ["医保", "医保"], "kind": ["med_enrollment"] * 2, "record_id": ["CB1", "CB1"], "rank": [1, 2],
        "person_id": ["P1", "P2"], "household_id": ["H1", "H2"], "score": [0.6, 0.3], "reason": ["a", "b"],
        "cause": ["ambiguous"] * 2, "rivals": [None, None]}, schema_overrides={"rivals": pl.Utf8})
    records = pl.DataFrame({"dept": ["医保"], "kind": ["med_enrollment"], "record_id": ["CB1"], "name": ["张*"],
                            "id_raw": ["341302********1234"], "township": [None], "village": [None]},
                           schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    roster = ROSTER.with_columns(name=pl.lit("张明"), township=pl.lit("大店镇"), village=pl.lit("韩湖村"), group=pl.lit("1组"))
    queue = with_first_queued(review_queue(review, records, roster, 0.99),
                              pl.DataFrame({"dept": ["医保"], "record_id": ["CB1"], "first": ["2026-08"]}))
    answered = queue.with_columns(是否本人=pl.Series(["是", "否"]), 复核人=pl.lit("李分析"))
    got = {}
    for name, df in (("new", answered), ("old", answered.drop(FIRST_COLUMN))):
        outputs.write_csv(df, tmp_path / "复核" / f"{name}.csv")
        outputs.write_xlsx(outputs.split_sheets("人工复核队列", df), tmp_path / "复核" / f"{name}.xlsx", choices=REVIEW_CHOICES)
        for ext in ("csv", "xlsx"):
            valid, rejected, _, rows = read_delivery(tmp_path / "复核" / f"{name}.{ext}", f"复核/{name}.{ext}", "复核",
                                                     cfg, known_headers(cfg))
            assert rejected.is_empty() and rows == 2 and [k for k, _ in valid] == ["review_answer"], (name, ext)
            got[name, ext] = valid[0][1].drop("file")
    assert got["new", "csv"].select("record_dept", "record_id", "person_id", "verdict", "reviewer").rows() == [
        ("医保", "CB1", "P1", "是", "李分析"), ("医保", "CB1", "P2", "否", "李分析")]
    assert all(df.equals(got["new", "csv"]) for df in got.values())


def test_a_yes_is_taken_with_up_to_two_kept_digits_differing_from_the_persons_id():
    """`max_id_differences` 2: a record two kept birth-date or sequence digits off P1's ID (a
    slip typing it) may be P1; three off is someone else's."""
    shown = [("医保", "med_settlement", "JS1", "341302199001011243"), ("医保", "med_settlement", "JS2", "341302199001012243")]
    got, refused = _check([("复核/q.csv", 2, "医保", "JS1", "P1", "是"), ("复核/q.csv", 3, "医保", "JS2", "P1", "是")], shown)
    assert got["line"].to_list() == [2] and "有 3 位不同" in refused[3][1]


def test_an_answer_stored_without_its_flag_said_was_taken_by_the_run_that_stored_it():
    """A `relinked` left empty (a warehouse column added since) reads as taken: a partial run of
    another department does not make the answer wait again."""
    new = _answers([("复核/q.csv", 3, "民政", "MZ1", "P2", "否")])
    before = relinked(new, None, ["民政"]).with_columns(relinked=pl.lit(None, pl.Boolean))
    assert relinked(new, before, ["住建"])["relinked"].to_list() == [True]


def test_a_no_for_another_person_leaves_a_matched_record_with_its_person():
    """否 for P1 on a record the matcher linked to P5: P5 is not ruled out, the link stays; the
    reason says who was."""
    links = _links([("E", "matched", "P5", 0.999)])
    decided = _decided(_answers([("复核/q.csv", 2, "医保", "E", "P1", "否")]))
    got, _ = apply_answers(links, decided, ROSTER)
    assert got.select("decision", "person_id", "household_id").rows() == [("matched", "P5", "H5")]
    assert got["reason"][0].endswith("排除了 P1")


def test_the_best_guess_of_a_review_record_is_its_first_ranked_candidate():
    from pipelines.review_answers import best_guess

    guess = best_guess(_candidates([("A", 2, "P2", 0.4), ("A", 1, "P1", 0.5), ("B", 1, "P3", 0.6)]))
    assert sorted(guess.select("record_id", "person_id").rows()) == [("A", "P1"), ("B", "P3")]


def test_the_review_line_names_five_files_and_five_records_then_says_there_are_more():
    counts = dict(returned=1, accepted=1, blank=0, set_aside=0, confirmed=0, excluded=0, unseen=0, pending=0,
                  withdrawn=0, gone=5, held=0)
    files = [f"复核/{i}.csv" for i in range(6)]
    gone = _decided(_answers([("复核/q.csv", n, "医保", f"R{n}", "P7", "是") for n in range(2, 8)]))
    no_tables = pl.DataFrame(schema=REJECTED_SCHEMA)
    five = describe(counts, files[:5], gone.head(5), None, no_tables)
    assert "…" not in five and "复核/4.csv）" in five and "医保 R6（" in five
    six = describe(counts | {"gone": 6}, files, gone, None, no_tables)
    assert "复核/4.csv…）" in six and "医保 R6（复核/q.csv 第 6 行，2026-10 收到）…）" in six


def _misfits(*tables: tuple[str, list[str], int]) -> pl.DataFrame:
    """Rows of tables in 复核/ read as no answers (file, headers, rows), as the inbox sets them aside."""
    from pipelines.standardize import describe_misfit

    cfg = load_config()
    return pl.DataFrame([dict(dept="复核", kind=None, file=f, line=n + 2, record_id=None, field=None, value=None,
                              reason=describe_misfit(h, "复核", cfg)) for f, h, rows in tables for n in range(rows)],
                        schema=REJECTED_SCHEMA)


def test_the_review_line_says_a_table_with_a_renamed_column_is_not_in_another_folder():
    """A 复核 table whose 是否本人 was typed 是否为本人 is the county's answers, its column renamed:
    each row's reason asks 「是否为本人」是否即「是否本人」？, yet the line said it was no answers at
    all and belonged in another folder. It says a column was renamed; a table of another folder
    (a township's list dropped there) is still said to be no answers."""
    counts = dict(returned=0, accepted=0, blank=0, set_aside=0, confirmed=0, excluded=0, unseen=0, pending=0,
                  withdrawn=0, gone=0, held=0)
    renamed = ("复核/人工复核队列_已复核.xlsx", ["部门", "记录编号", "人编号", "是否为本人", "复核人"], 3)
    a_list = ("复核/大营镇_2026-09_预警清单.csv", ["预警编号", "户编号", "核实结果", "核实人"], 2)
    line = describe(counts, [renamed[0]], None, None, _misfits(renamed))
    assert "不是复核结论" not in line and "其他文件夹" not in line and "hold no answers" not in line, line
    assert "其中 1 个表有列名改动（3 行搁置，列名是否改过？见搁置行及原因，改回后重新放入）" in line, line
    assert "1 tables in 复核/ with a column renamed?" in line, line
    line = describe(counts, [renamed[0], a_list[0]], None, None, _misfits(renamed, a_list))
    assert "其中 1 个表不是复核结论（2 行搁置，应放在其他文件夹？）" in line and "其中 1 个表有列名改动（3 行搁置" in line, line
    assert "1 tables in 复核/ hold no answers" in line, line


def test_review_answers_may_be_about_every_department_whose_records_name_persons_not_water():
    """残联's extract has no 证件号码 column (the ID is inside the 残疾人证号), yet names persons."""
    assert answerable_departments(load_config()) == ["医保", "住建", "教育", "民政", "残联", "人社", "农业农村"]


def test_the_answers_a_run_takes_add_up_and_are_said_in_one_line():
    """A period's 复核/: the rows accepted, left blank and set aside (the validator's too) add up to
    those returned; a row of a table holding no answers is counted apart; the answers in effect,
    an earlier period's with this one's, decide the records shown now (one linked, one with its
    candidate ruled out); the report's line says so. No file and no answer ever: nothing to say."""
    cfg = load_config()
    returned = in_folders(_answers([("复核/q.csv", 2, "医保局", "A", "P1", "是"), ("复核/q.csv", 3, "医保", "B", "P9", "否"),
                                    ("复核/q.csv", 4, "医保", "C", "P2", None)]).drop("period"), cfg)
    assert returned["record_dept"].to_list() == ["医保"] * 3
    set_aside = pl.DataFrame({"dept": ["复核", "复核"], "kind": ["review_answer", None], "file": ["复核/q.csv", "复核/x.csv"],
                              "line": [5, 2]}).with_columns(
        pl.lit(None, pl.Utf8).alias(c) for c in REJECTED_SCHEMA if c not in ("dept", "kind", "file", "line")).cast(REJECTED_SCHEMA)
    shown = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_settlement"] * 2, "record_id": ["A", "D"], "id_raw": [None, None]},
                         schema_overrides={"id_raw": pl.Utf8})
    known = pl.DataFrame({"dept": ["医保"] * 3, "record_id": ["A", "B", "C"]})
    earlier = _answers([("复核/old.csv", 2, "医保", "D", "P3", "否")], "2026-09").with_columns(relinked=True, withdrawn=False)
    counts, refused, new, decided, finding = take_answers(returned, set_aside, ROSTER, shown, known, earlier, None,
                                                          ["复核/q.csv"], "2026-10", cfg, list(cfg.departments), False)
    assert {k: counts[k] for k in ("returned", "accepted", "blank", "set_aside", "misfiled", "confirmed", "excluded")} == {
        "returned": 4, "accepted": 1, "blank": 1, "set_aside": 2, "misfiled": 1, "confirmed": 1, "excluded": 1}
    assert refused.columns == list(REJECTED_SCHEMA) and refused["line"].to_list() == [3]
    assert new.select("record_id", "period", "relinked").rows() == [("A", "2026-10", True)]
    assert sorted(decided.select("record_id", "person_id").rows()) == [("A", "P1"), ("D", None)]
    assert finding.select("category", "dept", "count").rows() == [(Finding.REVIEW_ANSWERS, "复核", 4)]
    assert "收到复核结论 4 行：采用 1，未填是否本人 1，退回 2" in finding["detail"].item()
    counts, refused, new, decided, finding = take_answers(None, None, ROSTER, shown, None, None, None, [], "2026-10", cfg,
                                                          list(cfg.departments), False)
    assert counts["returned"] == 0 and refused is None and new.is_empty() and decided is None and finding is None


def test_a_yes_for_a_candidate_the_queue_listed_is_taken_though_the_ids_disagree():
    """A candidate found by name and place whose ID disagrees with the record's kept characters
    (p 0.84, candidate 1): every 是 was refused "疑为填错人编号", though the 人编号 was copied from
    the queue — the analyst could not settle the record. A 人编号 the queue listed for the record
    (as it shows now) is the analyst's decision: taken, and the line says the IDs disagreed. One
    it did not list is still refused, saying so; with no queue stored, the reason says to answer
    from this period's queue. A record number now showing another ID (reused) is not the record
    the queue listed; one typed otherwise (x for X, ＊ for *) is."""
    from pipelines.review_answers import unconfirmable

    cfg = load_config()
    shown = pl.DataFrame({"dept": ["医保"] * 3, "kind": ["med_settlement"] * 3, "record_id": ["JS2", "JS3", "JS4"],
                          "id_raw": ["34130219900101123X", "34130219600303****", "34130219900101123X"]})
    listed = pl.DataFrame({"record_dept": ["医保"] * 4, "record_id": ["JS2", "JS2", "JS3", "JS4"],
                           "person_id": ["P3", "P1", "P5", "P1"],
                           "id_raw": ["34130219900101123x", "34130219900101123x", "34130219750303****", "34130219900101123X"]})
    rows = [("复核/q.xlsx", 2, "医保", "JS2", "P3", "是"),  # listed, born 1960: 4 kept digits differ
            ("复核/q.xlsx", 3, "医保", "JS4", "P4", "是"),  # the queue listed P1 for JS4, not P4
            ("复核/q.xlsx", 4, "医保", "JS3", "P5", "是")]  # listed when JS3 showed another ID
    known = pl.DataFrame({"dept": ["医保"] * 3, "record_id": ["JS2", "JS3", "JS4"]})
    got, refused = check_answers(_answers(rows).drop("period"), ROSTER, DEPTS, known, shown, (), 2, listed)
    assert got.select("line", "id_differs").rows() == [(2, True)]
    why = {r["line"]: r["reason"] for r in refused.iter_rows(named=True)}
    assert "不是人工复核队列为该记录列出的候选人" in why[3] and "疑为填错" not in why[3], why
    assert "库中的复核队列未列出该记录（按其现显示的证件号码）的候选人" in why[4] and "请按本期人工复核队列重新作答" in why[4], why
    _, refused = check_answers(_answers(rows[:1]).drop("period"), ROSTER, DEPTS, known, shown, (), 2)
    assert "库中的复核队列未列出该记录（按其现显示的证件号码）的候选人" in refused["reason"].item()  # (a warehouse that stored no queue)
    # months later, the answer in effect is still taken for the record the queue listed
    decided = _decided(_answers(rows[:1] + [rows[2]]))
    assert unconfirmable(decided, shown, ROSTER, (), 2, listed)["record_id"].to_list() == ["JS3"]
    assert sorted(unconfirmable(decided, shown, ROSTER, (), 2)["record_id"]) == ["JS2", "JS3"]
    # the run's line says the IDs disagreed, and the 是 counts among the records confirmed
    counts, refused, new, decided, finding = take_answers(
        _answers(rows[:1]).drop("period"), None, ROSTER, shown, known, None, None, ["复核/q.xlsx"], "2026-10", cfg,
        list(cfg.departments), False, listed)
    assert refused.is_empty() and counts["id_differs"] == 1 and counts["confirmed"] == 1, counts
    assert decided.select("record_id", "person_id").rows() == [("JS2", "P3")] and "id_differs" not in new.columns
    assert "1 条记录答“是”的候选人证件号码与记录显示的多位不同，该候选人为复核队列所列，按复核结论采用" in finding["detail"].item()


def test_a_record_number_excel_stripped_under_another_department_is_refused_naming_it():
    """部门 mistyped and the 记录编号's zeros gone in Excel (1 for 医保's 0001; js1 for JS1): the
    reason still names the department the record is of, not 'no such record'."""
    got, refused = _check([("复核/q.csv", 2, "民政", "1", "P1", "是"), ("复核/q.csv", 3, "民政", "js1", "P1", "否")],
                          known=[("医保", "0001"), ("医保", "JS1"), ("民政", "MZ1")])
    assert got.is_empty() and {n: f for n, (f, _) in refused.items()} == {2: "record_id", 3: "record_id"}
    assert all("记录编号是医保的记录" in why for _, why in refused.values())


def test_a_person_number_typed_without_its_zeros_or_in_lower_case_names_the_roster_person():
    """The roster's 人编号 0001023 and H0012 typed 1023 (Excel's) and h0012 in an answer: that
    person, as the roster spells them; 1024 is on no roster still."""
    roster = ROSTER.with_columns(person_id=pl.Series(["0001023", "H0012", "P3", "P4", "P5"]))
    answers = _answers([("复核/q.csv", 2, "医保", "A", "1023", "是"), ("复核/q.csv", 3, "住建", "B", "h0012", "否"),
                        ("复核/q.csv", 4, "人社", "C", "1024", "是")]).drop("period")
    known = answers.select(dept="record_dept", record_id="record_id").unique()
    shown = pl.DataFrame(schema={"dept": pl.Utf8, "kind": pl.Utf8, "record_id": pl.Utf8, "id_raw": pl.Utf8})
    got, refused = check_answers(answers, roster, DEPTS, known, shown, ("med_enrollment",), 2)
    assert got.select("record_id", "person_id").rows() == [("A", "0001023"), ("B", "H0012")]
    assert refused.select("line", "field").rows() == [(4, "person_id")]


def test_an_answer_names_its_record_as_the_period_s_records_or_the_latest_stored_period_spell_it():
    """Excel or a hand spelled the 记录编号 of an answer otherwise: it is the record the period's
    records (`shown`) or, else, the earlier periods' (`seen`, the latest first: the first
    spelling is taken) spell the same under the same 部门 (`known_records`, `spelled_as_records`);
    under another 部门 it names no such record. The records answered, now or earlier, are asked
    for once each (`asked`, `answered`), and the candidates their queues listed are read with
    their 人编号 as the period's roster spells them (`listed_as_roster`)."""
    from pipelines.review_answers import answered, asked, known_records, listed_as_roster, spelled_as_records

    returned = _answers([("复核/q.csv", 2, "医保", "12345", "1023", "是"), ("复核/q.csv", 3, "医保", "12345", "P2", "否"),
                         ("复核/q.csv", 4, "民政", "s7", "P1", "是"), ("复核/q.csv", 5, "民政", "777", "P1", "是"),
                         ("复核/q.csv", 6, "住建", "12345", "P3", "是")]).drop("period")
    assert sorted(asked(returned).rows()) == [("住建", "12345"), ("医保", "12345"), ("民政", "777"), ("民政", "s7")]
    shown = pl.DataFrame({"dept": ["医保", "民政"], "kind": ["med_settlement", "civil"], "record_id": ["0012345", "S7"],
                          "id_raw": [None, None]}, schema_overrides={"id_raw": pl.Utf8})
    seen = pl.DataFrame({"dept": ["民政", "民政"], "record_id": ["0777", "00777"]})  # (the latest period's first)
    known = known_records(shown, seen)
    assert known.columns == ["dept", "record_id"] and known.height == 4
    got = spelled_as_records(returned, known)
    assert got["record_id"].to_list() == ["0012345", "0012345", "S7", "0777", "12345"]
    assert spelled_as_records(None, known) is None
    stored = _answers([("复核/p.csv", 2, "医保", "012345", "P1", "否")], "2026-09")
    assert spelled_as_records(stored, shown)["record_id"].to_list() == ["0012345"]
    records = answered(got, spelled_as_records(stored, shown), None)
    assert records.columns == ["dept", "record_id"]
    assert sorted(records.rows()) == [("住建", "12345"), ("医保", "0012345"), ("民政", "0777"), ("民政", "S7")]
    assert answered(None, None, None) is None
    listed = pl.DataFrame({"record_dept": ["医保"] * 2, "record_id": ["0012345"] * 2, "person_id": ["1023", "p2"],
                           "id_raw": [None, None]}, schema_overrides={"id_raw": pl.Utf8})
    roster = pl.DataFrame({"person_id": ["0001023", "P2"]})
    assert listed_as_roster(listed, roster)["person_id"].to_list() == ["0001023", "P2"]

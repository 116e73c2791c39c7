import polars as pl

from matchers.review import review_queue


def test_review_queue_shows_candidates_side_by_side_without_revealing_ids():
    review = pl.DataFrame({
        "dept": ["医保", "医保"], "kind": ["med_settlement"] * 2, "record_id": ["JS1", "JS1"], "rank": [1, 2],
        "person_id": ["H1-01", "H2-01"], "household_id": ["H1", "H2"], "score": [0.48, 0.47],
        "reason": ["ID 10/18 agree; name 张*~张明", "ID 10/18 agree; name 张*~张敏"],
        "cause": ["ambiguous"] * 2, "rivals": [None, None],
    }, schema_overrides={"rivals": pl.Utf8})
    records = pl.DataFrame({
        "dept": ["医保"], "kind": ["med_settlement"], "record_id": ["JS1"], "name": ["张*"],
        "id_raw": ["341302********1234"], "township": [None], "village": [None],
    }, schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    roster = pl.DataFrame({
        "person_id": ["H1-01", "H2-01"], "name": ["张明", "张敏"],
        "id_number": ["341302199001011234", "341302198502021234"],
        "township": ["大店镇", "时村乡"], "village": ["韩湖村", "刘圩村"], "group": ["1组", "2组"],
    })
    q = review_queue(review, records, roster, 0.99)
    assert q["候选人姓名"].to_list() == ["张明", "张敏"]
    assert q["候选人证件号码（按记录保留位）"].to_list() == ["341302********1234"] * 2
    assert q["乡（镇）"].to_list() == ["大店镇", "时村乡"]
    assert q["记录证件号码（部门报送原样）"].to_list() == ["341302********1234"] * 2
    assert q["复核原因"].to_list() == ["多名候选人同样相符，请核实是其中哪一位"] * 2


def test_review_queue_says_why_each_record_waits():
    """A record short of evidence cites its best probability and the threshold; a rival names
    the other records claiming the same person; a record whose name is another's says so."""
    review = pl.DataFrame({
        "dept": ["医保"] * 4, "kind": ["med_enrollment"] * 4, "record_id": ["CB1", "CB2", "CB3", "CB4"],
        "rank": [1, 1, 1, 1], "person_id": ["H1-01", "H1-01", "H2-01", "H2-01"], "household_id": ["H1", "H1", "H2", "H2"],
        "score": [0.9999, 0.98, 0.97, 0.995], "reason": ["a", "b", "c", "d"], "cause": ["rival", "rival", "weak", "name"],
        "rivals": ["CB2", "CB1、CB9", None, None],
    })
    records = pl.DataFrame({"dept": ["医保"] * 4, "kind": ["med_enrollment"] * 4, "record_id": ["CB1", "CB2", "CB3", "CB4"],
                            "name": ["张明", "张*", "李华", "王*"], "id_raw": ["341302********1234"] * 4,
                            "township": [None] * 4, "village": [None] * 4},
                           schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    roster = pl.DataFrame({"person_id": ["H1-01", "H2-01"], "name": ["张明", "李华"],
                           "id_number": ["341302199001011234", "341302198502021234"],
                           "township": ["大店镇"] * 2, "village": ["韩湖村"] * 2, "group": ["1组"] * 2})
    why = dict(zip(*review_queue(review, records, roster, 0.99).select("记录编号", "复核原因")))
    assert "：CB2，" in why["CB1"] and "：CB1、CB9，" in why["CB2"], why
    assert "概率 0.97 低于 0.99" in why["CB3"], why
    assert why["CB4"].startswith("记录姓名与最佳候选人不符"), why


# ----------------------------------------------------------------------------------------------
# Answers to the queue (复核/)

from matchers.review import ANSWER_SCHEMA, IMPACT_COLUMN, answers_in_effect, apply_answers, check_answers  # noqa: E402
from pipelines.validate import delivery_order  # noqa: E402

ROSTER = pl.DataFrame({"person_id": ["P1", "P2", "P3", "P4", "P5"], "household_id": ["H1", "H2", "H3", "H4", "H5"]})


def _answers(rows: list[tuple], period: str = "2026-10") -> pl.DataFrame:
    """(file, line, 部门, 记录编号, 人编号, 是否本人) -> ReviewAnswer rows received in `period`."""
    return pl.DataFrame([dict(dept="复核", kind="review_answer", file=f, line=n, record_dept=d, record_id=r,
                              rec_name=None, person_id=p, verdict=v, reviewer=None, note=None)
                         for f, n, d, r, p, v in rows], schema=ANSWER_SCHEMA).with_columns(period=pl.lit(period))


def _decided(*frames: pl.DataFrame) -> pl.DataFrame:
    return answers_in_effect(pl.concat(frames), delivery_order(pl.col("file")))


def test_answers_off_the_roster_or_naming_two_persons_are_refused_blank_ones_wait():
    got, refused = check_answers(_answers([
        ("复核/q.csv", 2, "医保", "A", "P1", "是"), ("复核/q.csv", 3, "医保", "A", "P2", "否"),
        ("复核/q.csv", 4, "住建", "B", "P9", "否"),  # not on the roster
        ("复核/q.csv", 5, "人社", "C", "P3", "是"), ("复核/q.csv", 6, "人社", "C", "P4", "是"),  # which one?
        ("复核/q.csv", 7, "民政", "D", "P5", None),  # not decided yet
    ]).drop("period"), ROSTER)
    assert got.select("record_id", "person_id").rows() == [("A", "P1"), ("A", "P2")]
    assert refused.select("line", "field", "value").sort("line").rows() == [
        (4, "person_id", "P9"), (5, "verdict", "是"), (6, "verdict", "是")]
    assert refused["reason"].str.contains("人编号不在本期户籍底册中").sum() == 1
    assert all(r.startswith(("住建 B：", "人社 C：")) for r in refused["reason"])


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
    assert by["A"]["reason"] == "人工复核：复核/q.csv 第 2 行（2026-10 收到）确认是本人"
    assert (by["B"]["decision"], by["B"]["person_id"]) == ("unmatched", None) and "排除了 P3、P4" in by["B"]["reason"]
    assert by["C"]["decision"] == "review" and by["D"]["decision"] == "unmatched" and by["D"]["household_id"] is None
    assert [(by[r]["decision"], by[r]["reason"]) for r in "EFG"] == [("matched", "model"), ("rejected", "model"),
                                                                      ("review", "model")]
    assert left.select("record_id", "person_id").rows() == [("C", "P4"), ("G", "P1")]
    assert got.columns == links.columns and got.height == links.height
    # without candidates (the year's earlier settlements), a review record stays in review
    settled, _ = apply_answers(links.drop("reason", "kind", "n_candidates"), decided, ROSTER)
    assert dict(settled.select("record_id", "decision").iter_rows()) == {
        "A": "matched", "B": "review", "C": "review", "D": "unmatched", "E": "matched", "F": "rejected", "G": "review"}


def test_the_queue_shows_a_candidates_id_only_where_it_equals_what_the_record_kept():
    review = pl.DataFrame({
        "dept": ["农业农村"], "kind": ["agri"], "record_id": ["NY1"], "rank": [1], "person_id": ["H1-01"],
        "household_id": ["H1"], "score": [0.83], "reason": ["ID disagree"], "cause": ["weak"], "rivals": [None],
    }, schema_overrides={"rivals": pl.Utf8})
    records = pl.DataFrame({"dept": ["农业农村"], "kind": ["agri"], "record_id": ["NY1"], "name": ["于伟永"],
                            "id_raw": ["341302196902090290"], "township": [None], "village": [None]},
                           schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    roster = pl.DataFrame({"person_id": ["H1-01"], "name": ["于伟永"], "id_number": ["341302195203115335"],
                           "township": ["永镇镇"], "village": ["孙集村"], "group": ["3组"]})
    q = review_queue(review, records, roster, 0.99)
    assert q["候选人证件号码（按记录保留位）"].to_list() == ["34130219××0×××××××"]
    assert q.columns[-3:] == ["是否本人", "复核人", "复核备注"] and q["是否本人"].null_count() == 1


def test_records_whose_answer_would_raise_a_warning_come_first_and_say_which():
    review = pl.DataFrame({
        "dept": ["医保"] * 3, "kind": ["med_settlement"] * 3, "record_id": ["JS1", "JS2", "JS2"], "rank": [1, 1, 2],
        "person_id": ["H1-01", "H2-01", "H1-01"], "household_id": ["H1", "H2", "H1"], "score": [0.9, 0.6, 0.3],
        "reason": ["a", "b", "c"], "cause": ["weak", "ambiguous", "ambiguous"], "rivals": [None] * 3,
    }, schema_overrides={"rivals": pl.Utf8})
    records = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_settlement"] * 2, "record_id": ["JS1", "JS2"],
                            "name": ["张*", "李*"], "id_raw": ["341302********1234"] * 2,
                            "township": [None] * 2, "village": [None] * 2},
                           schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    roster = pl.DataFrame({"person_id": ["H1-01", "H2-01"], "name": ["张明", "李华"],
                           "id_number": ["341302199001011234", "341302198502021234"],
                           "township": ["大店镇"] * 2, "village": ["韩湖村"] * 2, "group": ["1组"] * 2})
    impact = pl.DataFrame({"dept": ["医保"], "record_id": ["JS2"], "impact": ["M1 因病：李华 2026年累计个人自付 …"]})
    q = review_queue(review, records, roster, 0.99, impact)
    assert q["记录编号"].to_list() == ["JS2", "JS2", "JS1"]
    assert q[IMPACT_COLUMN].to_list() == ["M1 因病：李华 2026年累计个人自付 …"] * 2 + [None]

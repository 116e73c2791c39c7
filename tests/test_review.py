import polars as pl

from matchers.ids import check_char
from matchers.review import (COLUMNS, FIRST_COLUMN, IMPACT_COLUMN, answer_cite, cut_p, first_queued, queue_ages,
                             review_queue, with_first_queued, with_kept)


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
    assert "：CB2，" in why["CB1"] and "：CB1、CB9（不在复核队列中），" in why["CB2"], why
    assert "概率 0.97 低于 0.99" in why["CB3"], why
    edge = review_queue(review.with_columns(score=pl.lit(0.98996)), records, roster, 0.99)
    assert "概率 0.9899 低于 0.99" in dict(zip(*edge.select("记录编号", "复核原因")))["CB3"]
    assert edge["概率"].unique().to_list() == [0.9899]  # as the reason says
    assert why["CB4"].startswith("记录姓名与最佳候选人不符"), why
    # a candidate the matcher linked to another record of the list: 是 would take them from it
    linked = pl.DataFrame({"dept": ["医保"], "kind": ["med_enrollment"], "record_id": ["CB7"], "person_id": ["H2-01"]})
    hinted = review_queue(review, records, roster, 0.99, linked=linked)
    note = "注意：此候选人已自动关联同一名单中的记录 CB7"
    assert hinted.filter(pl.col("复核原因").str.contains(note))["记录编号"].to_list() == ["CB3", "CB4"]


def _two_candidates(cause: str, rivals: str | None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """A 参保名单 record CB5 (rank 1: H1-01, rank 2: H2-01) waiting for `cause`, its records and roster."""
    review = pl.DataFrame({
        "dept": ["医保"] * 2, "kind": ["med_enrollment"] * 2, "record_id": ["CB5"] * 2, "rank": [1, 2],
        "person_id": ["H1-01", "H2-01"], "household_id": ["H1", "H2"], "score": [0.97, 0.41], "reason": ["a", "b"],
        "cause": [cause] * 2, "rivals": [rivals] * 2,
    }, schema_overrides={"rivals": pl.Utf8})
    records = pl.DataFrame({"dept": ["医保"], "kind": ["med_enrollment"], "record_id": ["CB5"], "name": ["张*"],
                            "id_raw": ["341302********1234"], "township": [None], "village": [None]},
                           schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    roster = pl.DataFrame({"person_id": ["H1-01", "H2-01"], "name": ["张明", "张敏"],
                           "id_number": ["341302199001011234", "341302198502021234"],
                           "township": ["大店镇"] * 2, "village": ["韩湖村"] * 2, "group": ["1组"] * 2})
    return review, records, roster


def test_a_record_short_of_evidence_cites_its_best_candidates_probability_and_the_threshold_given():
    """Every row of the record cites the best candidate's probability (not its own, not the
    weakest), against the threshold the run used (not a default)."""
    q = review_queue(*_two_candidates("weak", None), 0.995)
    assert q["复核原因"].to_list() == ["最佳候选人相符程度不足以自动关联（概率 0.97 低于 0.995），请核实"] * 2
    assert q["概率"].to_list() == [0.97, 0.41]
    assert q.select("记录姓名", "候选人姓名", "记录地址").rows() == [("张*", "张明", ""), ("张*", "张敏", "")]


def test_a_record_an_answer_took_its_person_from_names_that_record_and_answer_as_given():
    """`taken`: the rivals hold the confirmed record and where its answer came from; they are cited
    as they are (not read as a list of rival records, none of them marked as out of the queue).
    The note that 是 would take the candidate from a record the matcher linked is not repeated on
    candidate 1 (the taken text says so already), but stands on another candidate so held."""
    by = "CB1（复核/医保_复核.xlsx 第 3 行，2026-09 收到）"
    review, records, roster = _two_candidates("taken", by)
    linked = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_enrollment"] * 2, "record_id": ["CB1", "CB7"],
                           "person_id": ["H1-01", "H2-01"]})
    why = review_queue(review, records, roster, 0.99, linked=linked)["复核原因"].to_list()
    taken = ("复核结论已确认候选人1是同一名单中记录 " + by + "的本人（一人只应有一条），本记录因此未关联："
             "如该结论有误、此人是本记录的，请答“是”，否则答“否”")
    assert why[0] == taken, why
    assert why[1] == taken + "；注意：此候选人已自动关联同一名单中的记录 CB7（一人只应有一条），答“是”将取消那条关联", why


def test_an_earlier_periods_settlement_linked_again_says_so_before_why_it_waits():
    review, records, roster = _two_candidates("ambiguous", None)
    review = pl.concat([review, review.head(1).with_columns(record_id=pl.lit("CB6"))])
    records = pl.concat([records, records.with_columns(record_id=pl.lit("CB6"))]).with_columns(
        period=pl.Series([None, "2026-08"], dtype=pl.Utf8))
    why = dict(zip(*review_queue(review, records, roster, 0.99).select("记录编号", "复核原因")))
    ambiguous = "多名候选人同样相符，请核实是其中哪一位"
    assert why["CB5"] == ambiguous
    assert why["CB6"] == "2026-08 报送的结算，户籍底册变动后按本期底册重新比对：计入本年累计前需确认本人。" + ambiguous


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
    # the record as the department sent it beside the candidate as the roster has them
    placed = review_queue(review, records.with_columns(township=pl.lit("大店镇"), village=pl.lit("韩湖村")), roster, 0.99)
    assert placed.select("记录姓名", "记录地址", "候选人姓名", "乡（镇）", "行政村", "村民小组").row(0) == (
        "于伟永", "大店镇韩湖村", "于伟永", "永镇镇", "孙集村", "3组")
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


def _links(rows: list[tuple]) -> pl.DataFrame:
    """(dept, record_id, decision, period) -> stored links, as `warehouse.review_history` reads them (and more)."""
    return pl.DataFrame(rows, schema=["dept", "record_id", "decision", "period"], orient="row")


HISTORY = _links([
    ("医保", "CB-WAIT", "review", "2026-08"), ("医保", "CB-WAIT", "review", "2026-09"),  # waiting since August
    ("医保", "CB-GONE", "review", "2026-08"), ("医保", "CB-GONE", "matched", "2026-09"),  # answered 是 in September
    ("医保", "CB-BACK", "review", "2026-08"), ("医保", "CB-BACK", "matched", "2026-09"),  # answered, then in review again
    ("人社", "CB-WAIT", "matched", "2026-08"),  # another department's record of the same 记录编号
    ("人社", "RS-LATE", "review", "2026-11"),  # a later period stored already (periods run out of order)
    ("医保", "JS-OLD", "unmatched", "2026-09"),  # an earlier settlement linked again now, never in review before
])
QUEUED = pl.DataFrame({"dept": ["医保", "医保", "医保", "医保", "人社", "人社", "医保"],
                       "record_id": ["CB-NEW", "CB-WAIT", "CB-WAIT", "CB-BACK", "CB-WAIT", "RS-LATE", "JS-OLD"]})


def test_a_record_is_first_queued_in_the_earliest_period_stored_that_had_it_in_review():
    """New this period: the period itself; waiting since two months: the first of them; answered
    and gone: not in the queue, not in the answer; a record of another department with the same
    记录编号 is another record; a later period stored (run out of order) is not read; one no
    period stored in review (an earlier settlement linked again now): this period."""
    this = _links([(d, r, "review", "2026-10") for d, r in QUEUED.unique().iter_rows()])  # stored by the run itself
    for history in (HISTORY, pl.concat([HISTORY, this])):
        got = first_queued(QUEUED, history, "2026-10")
        assert got.rows() == [("医保", "CB-NEW", "2026-10"), ("医保", "CB-WAIT", "2026-08"), ("医保", "CB-BACK", "2026-08"),
                              ("人社", "CB-WAIT", "2026-10"), ("人社", "RS-LATE", "2026-10"), ("医保", "JS-OLD", "2026-10")]
    assert first_queued(QUEUED.clear(), HISTORY, "2026-10").is_empty()


def test_a_rerun_gives_the_same_first_period_whichever_period_is_run_again():
    """October re-run: its replaced links and its new ones give the same answer. September re-run
    after October (an earlier period run again after later ones): October's links are not read,
    the records September's queue shares with August's still say August."""
    october = first_queued(QUEUED, pl.concat([HISTORY, _links([("医保", "CB-NEW", "review", "2026-10")])]), "2026-10")
    assert october.equals(first_queued(QUEUED, HISTORY, "2026-10"))
    september = pl.DataFrame({"dept": ["医保", "医保"], "record_id": ["CB-WAIT", "CB-NEW"]})
    later = _links([("医保", "CB-NEW", "review", "2026-10"), ("医保", "CB-WAIT", "review", "2026-10")])
    got = first_queued(september, pl.concat([HISTORY, later]), "2026-09")
    assert got.rows() == [("医保", "CB-WAIT", "2026-08"), ("医保", "CB-NEW", "2026-09")]


def test_the_first_period_stands_beside_the_record_number_and_counts_records_not_rows():
    queue = pl.DataFrame({"部门": ["医保", "医保", "人社"], "记录编号": ["CB-WAIT", "CB-WAIT", "RS1"],
                          "记录姓名": ["张*", "张*", "李*"], "候选序号": [1, 2, 1], "是否本人": [None, None, None]},
                         schema_overrides={"是否本人": pl.Utf8})
    first = pl.DataFrame({"dept": ["医保", "人社"], "record_id": ["CB-WAIT", "RS1"], "first": ["2026-08", "2026-10"]})
    got = with_first_queued(queue, first)
    assert got.columns == ["部门", "记录编号", FIRST_COLUMN, "记录姓名", "候选序号", "是否本人"]
    assert got[FIRST_COLUMN].to_list() == ["2026-08", "2026-08", "2026-10"] and got.drop(FIRST_COLUMN).equals(queue)
    # rows kept from a published queue (a --dept run) that has the column get it anew, in its place
    again = with_first_queued(got.select("部门", "记录编号", "记录姓名", "候选序号", "是否本人", FIRST_COLUMN), first)
    assert again.equals(got)
    assert queue_ages(got, "2026-10").rows() == [("人社", "2026-10", 1, True), ("医保", "2026-08", 1, False)]
    empty = with_first_queued(review_queue(pl.DataFrame(), pl.DataFrame(), pl.DataFrame(), 0.99), first.clear())
    assert empty.is_empty() and empty.columns[:3] == ["部门", "记录编号", FIRST_COLUMN]
    assert queue_ages(empty, "2026-10").is_empty()


def test_a_partial_runs_queue_keeps_the_other_departments_rows_in_the_queues_order():
    """The rows kept of a department not re-read (the published CSV's: text, without the columns
    an older version did not write) join the run's after it, as the queue orders them (a record
    whose answer would raise a warning first); a full run keeps none."""
    review = pl.DataFrame({"dept": ["医保"], "kind": ["med_settlement"], "record_id": ["JS1"], "rank": [1],
                           "person_id": ["H1-01"], "household_id": ["H1"], "score": [0.48], "reason": ["ID 10/18 agree"],
                           "cause": ["weak"], "rivals": [None]}, schema_overrides={"rivals": pl.Utf8})
    records = pl.DataFrame({"dept": ["医保"], "kind": ["med_settlement"], "record_id": ["JS1"], "name": ["张*"],
                            "id_raw": ["341302********1234"], "township": [None], "village": [None]},
                           schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    roster = pl.DataFrame({"person_id": ["H1-01"], "name": ["张明"], "id_number": ["341302199001011234"],
                           "township": ["大店镇"], "village": ["韩湖村"], "group": ["1组"]})
    queue = review_queue(review, records, roster, 0.99)
    kept = queue.with_columns(pl.lit("民政").alias(COLUMNS["dept"]), pl.lit("MZ1").alias(COLUMNS["record_id"]),
                              pl.lit("M4").alias(IMPACT_COLUMN)).cast(pl.Utf8).drop(COLUMNS["score"])
    got = with_kept(queue, kept)
    assert got.select(COLUMNS["dept"], COLUMNS["record_id"]).rows() == [("民政", "MZ1"), ("医保", "JS1")]
    assert got.schema == queue.schema and got[COLUMNS["score"]].to_list()[0] is None
    assert with_kept(queue, None) is queue


def test_the_period_s_queue_holds_the_records_sent_to_review_and_notes_a_list_s_links_only():
    """`period_queue`: the candidates of records sent to review are queued, not those an unmatched
    record keeps (they name who may be behind it, for the rules, not a question); the note that 是
    would take a candidate from another record comes from the matched links of a list holding each
    person once (参保名单), not from a settlement matched to them, nor from a link in review."""
    from config import MatchingConfig
    from matchers.review import period_queue

    review, records, roster = _two_candidates("weak", None)
    candidates = pl.concat([review.with_columns(decision=pl.lit("review")),
                            review.with_columns(record_id=pl.lit("CB6"), decision=pl.lit("unmatched"))])
    records = pl.concat([records, records.with_columns(record_id=pl.lit("CB6"))])
    links = pl.DataFrame({"dept": ["医保"] * 3, "kind": ["med_settlement", "med_enrollment", "med_enrollment"],
                          "record_id": ["JS1", "CB8", "CB9"], "person_id": ["H1-01", "H1-01", "H2-01"],
                          "decision": ["matched", "review", "matched"]})
    q = period_queue(candidates, records, links, roster, MatchingConfig(match_threshold=0.995))
    assert q["记录编号"].to_list() == ["CB5", "CB5"]
    assert ["CB9" in w for w in q["复核原因"]] == [False, True] and not q["复核原因"].str.contains("JS1|CB8").any()
    settlements = [f.with_columns(kind=pl.lit("med_settlement")) for f in (candidates, records, links)]
    q = period_queue(*settlements[:2], settlements[2], roster, MatchingConfig(match_threshold=0.995))
    assert q["记录编号"].to_list() == ["CB5", "CB5"] and not q["复核原因"].str.contains("已自动关联").any()


def test_a_probability_cut_to_four_places_keeps_a_value_written_with_four():
    """0.57 is 5699.999… ten-thousandths as a float: cut, it is still 0.57, not 0.5699 (0.98996 is
    0.9899)."""
    assert pl.select(p=cut_p(pl.Series([0.57, 0.98996, 0.29]))).to_series().to_list() == [0.57, 0.9899, 0.29]


def test_a_queued_records_mask_is_read_as_its_departments_masks_are():
    """A 15-character mask (341302*****1273) among a department's 18-character ones is an old ID:
    the queue shows the candidate's characters where the old ID kept them, as the link read it,
    not as the queued record alone would be read (five fixed stars: the last four)."""
    review = pl.DataFrame({
        "dept": ["医保"], "kind": ["med_settlement"], "record_id": ["JS1"], "rank": [1], "person_id": ["H1-01"],
        "household_id": ["H1"], "score": [0.6], "reason": ["ID 8/18 kept"], "cause": ["weak"], "rivals": [None],
    }, schema_overrides={"rivals": pl.Utf8})
    records = pl.DataFrame({
        "dept": ["医保"] * 3, "kind": ["med_settlement"] * 3, "record_id": ["JS1", "JS2", "JS3"], "name": ["张*"] * 3,
        "id_raw": ["341302*****1273", "342201********2205", "341302********6128"], "township": [None] * 3,
        "village": [None] * 3}, schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    i = "34130219620101273" + check_char("34130219620101273")
    roster = pl.DataFrame({"person_id": ["H1-01"], "name": ["张明"], "id_number": [i], "township": ["大店镇"],
                           "village": ["韩湖村"], "group": ["1组"]})
    shown = review_queue(review, records, roster, 0.99)["候选人证件号码（按记录保留位）"]
    assert shown.to_list() == ["341302*******1273*"]


def test_counts_of_queued_records_and_answers_cited_keep_each_departments_records_apart():
    """Record numbers are a department's own: 医保's 1 and 人社's 1 are two records waiting. An
    answer is cited by its file, line and the period it was received in."""
    queue = pl.DataFrame({"部门": ["医保", "人社"], "记录编号": ["1", "1"], FIRST_COLUMN: ["2026-10", "2026-10"]})
    assert queue_ages(queue, "2026-10").rows() == [("人社", "2026-10", 1, True), ("医保", "2026-10", 1, True)]
    cite = pl.DataFrame({"file": ["复核/a.csv"], "line": [3], "period": ["2026-11"]}).select(c=answer_cite())["c"]
    assert cite.to_list() == ["复核/a.csv 第 3 行，2026-11 收到"]

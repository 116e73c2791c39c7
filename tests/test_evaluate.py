import dataclasses

import polars as pl
import pytest

from config import load_config

from matchers.evaluate import (calibration, check_truth, draw_sample, evaluate, evaluate_warnings, format_calibration,
                               format_table, indistinguishable, main, read_labels, totals, warning_totals, wilson_low)
from schemas.links import LabelSample, Twins


def frames():
    links = pl.DataFrame({
        "dept": ["医保"] * 6 + ["水利"],
        "kind": ["med_settlement"] * 6 + ["water"],
        "record_id": ["1", "2", "3", "4", "5", "6", "w"],
        "decision": ["matched", "matched", "matched", "review", "unmatched", "matched", "matched"],
        "person_id": ["A", "B", "X", None, None, "F", None],
    })
    truth = pl.DataFrame({
        "dept": ["医保"] * 7 + ["水利"],
        "record_id": ["1", "2", "3", "4", "5", "6", "6", "w"],
        "person_id": ["A", "C", None, "D", "E", "Z", "F", None],  # record 6 delivered twice: last wins
        "expect": ["record"] * 5 + ["rejected", "record", "record"],
    })
    return links, truth


def test_evaluate_counts():
    links, truth = frames()
    row = evaluate(links, truth).filter(pl.col("dept") == "医保").row(0, named=True)
    assert row["n"] == 6 and row["linkable"] == 5 and row["matched"] == 4
    assert row["correct_matched"] == 2 and row["wrong_person"] == 1 and row["false_link"] == 1
    assert row["precision"] == 0.5 and row["recall"] == 2 / 5
    # each bound is of its own rate's counts: 2 of 4 judged, 2 of 5 linkable
    assert (row["precision_low"], row["recall_low"]) == (wilson_low(2, 4, 1.645), wilson_low(2, 5, 1.645))
    assert abs(row["review_rate"] - 1 / 6) < 1e-12
    assert (row["matched_on"], row["matched_off"], row["review_on"], row["unmatched_on"]) == (3, 1, 1, 1)


def test_place_level_records_carry_no_person_precision():
    links, truth = frames()
    row = evaluate(links, truth).filter(pl.col("dept") == "水利").row(0, named=True)
    assert row["matched"] == 1 and row["false_link"] == 0 and row["precision"] is None


def test_cli(tmp_path, capsys):
    links, truth = frames()
    links.write_parquet(tmp_path / "links.parquet")
    truth.write_csv(tmp_path / "links.csv")
    main(["--links", str(tmp_path / "links.parquet"), "--truth", str(tmp_path / "links.csv")])
    out = capsys.readouterr().out
    assert "医保" in out and "precision" in out


def test_a_small_labelled_sample_proves_only_its_lower_bound():
    """50 of 50 right is precision 1.0, but a hand-labelled sample that small proves only about
    0.949 (one-sided 95%); 10,000 of 10,000 proves 0.9997. The bound grows with the sample."""
    for n, low in ((50, 0.948), (10_000, 0.9997)):
        ids = [str(i) for i in range(n)]
        links = pl.DataFrame({"dept": ["民政"] * n, "kind": ["civil"] * n, "record_id": ids,
                              "decision": ["matched"] * n, "person_id": ids})
        truth = pl.DataFrame({"dept": ["民政"] * n, "record_id": ids, "person_id": ids})
        row = evaluate(links, truth).row(0, named=True)
        assert row["precision"] == 1.0 and row["recall"] == 1.0
        assert low <= row["precision_low"] < 1.0 and row["recall_low"] == row["precision_low"], row


def test_by_kind_splits_a_department_into_its_extracts(capsys):
    """医保 sends settlements and the enrollment list: a large list that links well can hide a
    settlement extract that does not, so the rates can be read per extract."""
    links, truth = frames()
    links = links.with_columns(kind=pl.when(pl.col("record_id").is_in(["1", "2"])).then(pl.lit("med_enrollment"))
                               .otherwise("kind"))
    table = evaluate(links, truth, by_kind=True)
    rows = {(r["dept"], r["kind"]): r for r in table.iter_rows(named=True)}
    assert set(rows) == {("医保", "med_enrollment"), ("医保", "med_settlement"), ("水利", "water")}
    assert (rows["医保", "med_enrollment"]["correct_matched"], rows["医保", "med_enrollment"]["precision"]) == (1, 0.5)
    assert rows["医保", "med_settlement"]["linkable"] == 3 and rows["医保", "med_settlement"]["recall"] == 1 / 3
    whole = evaluate(links, truth).filter(pl.col("dept") == "医保").row(0, named=True)
    assert whole["correct_matched"] == 2 and whole["n"] == 6
    print(format_table(table))
    assert "医保 med_settlement" in capsys.readouterr().out


# --- records no matcher can tell apart ----------------------------------------------------------
ROSTER = pl.DataFrame({
    "person_id": ["T", "P", "Q", "S"],
    "name": ["李红云", "李红", "王五", "李红云"],
    "id_number": ["341302199001011234", "341302198505051234", "341302197001011234", "341302196001011239"],
    "township": ["大店镇"] * 4,
    "village": ["王庄村", "李湖村", "王庄村", "李湖村"],
    "relation": ["户主", "子女", "户主", "户主"],
})

MATCHING = dataclasses.replace(load_config().matching, head_kinds=("housing",), head_relations=("户主",),
                               complete_snapshot_kinds=("med_enrollment",), id_in_record_id_kinds=("education",))


def twins_of(name, id_raw, village=None, kind="hr", person="T"):
    records = pl.DataFrame({"dept": ["x"], "kind": [kind], "record_id": ["r"], "name": [name], "id_raw": [id_raw],
                            "township": [None if village is None else "大店"], "village": [village]})
    truth = pl.DataFrame({"dept": ["x"], "record_id": ["r"], "person_id": [person]})
    return Twins.validate(indistinguishable(records, ROSTER, truth, MATCHING))["twins"].to_list()


def test_a_masked_record_fitting_two_roster_persons_is_ambiguous():
    """李* with region and last 4 kept fits 李红云 (T) and 李红 (P) alike, not 王五 nor 李红云 of
    another last 4 (S): one twin. Shown more, the record is T's alone."""
    assert twins_of("李*", "341302********1234") == [1]
    assert twins_of("李**", "341302********1234") == [0]  # three characters shown: 李红 is too short
    assert twins_of("李红云", "341302********1234") == [0]  # the whole name
    assert twins_of("李*", "3413021990********") == [0]  # the birth date
    assert twins_of("李*", "341302********1234", village="王庄村") == [0]  # T's village, not P's
    assert twins_of("李*", "341302********1234", village="李湖村") == [1]  # another village: no help from it


def test_a_mistyped_kept_digit_asks_only_what_the_true_person_shows():
    """Last 4 typed 1239 for T's 1234: T agrees on 341302 and 123 only; S (1239) agrees there too
    and bears T's name, so nothing shown tells them apart."""
    assert twins_of("李红云", "341302********1239", person="T") == [1]
    assert twins_of("李红云", "341302********1239", person="S") == [0]  # S agrees on all of it


def test_a_head_kind_record_of_a_head_asks_for_a_head():
    assert twins_of("李*", "341302********1234", kind="housing") == [0]  # P is not a head
    assert twins_of("*", "", kind="hr") == [3]  # nothing shown: every other roster person fits
    # the region alone: P and S fit 李*, of whom a head-kind record of the head T asks for S alone
    assert twins_of("李*", "341302************", kind="housing") == [1]
    assert twins_of("李*", "341302************") == [2]


def test_what_the_true_person_does_not_show_is_not_asked_of_a_twin():
    """*霞 for T 李红云 (a slip: T's name does not end in 霞): a twin need not end in 霞 either;
    P 李红 and Q 王五 agree with all T agrees with. A destroyed ID (Excel's 3.41302199001011E+17)
    still shows its leading digits, which T alone agrees with."""
    assert twins_of("*霞", "341302********1234") == [2]
    assert twins_of("李*", "3.41302199001011E+17") == [0]


def census_twins_of(name, id_raw, e_name, e_id, e_person=None, kind="hr", village=None, record_id="r"):
    """The record r (true person T) beside one 参保名单 record e (true person `e_person`)."""
    records = pl.DataFrame({"dept": ["x", "医保"], "kind": [kind, "med_enrollment"], "record_id": [record_id, "e"],
                            "name": [name, e_name], "id_raw": [id_raw, e_id],
                            "township": [None if village is None else "大店", None], "village": [village, None]})
    truth = pl.DataFrame({"dept": ["x", "医保"], "record_id": [record_id, "e"], "person_id": ["T", e_person]})
    roster = ROSTER.filter(pl.col("person_id") == "T").with_columns(id_number=pl.lit("341302199001041234"))  # valid
    out = Twins.validate(indistinguishable(records, roster, truth, MATCHING))
    return out.filter(pl.col("record_id") == record_id)["census_twins"].to_list()


def test_an_insured_off_roster_person_showing_all_the_record_shows_is_a_census_twin():
    """李* kept 341302...1234 fits T 李红云 and, as far as the 参保名单 shows them, an off-roster
    李** listed with those characters just as well; one that hides some, or shows another name,
    does not; nor does T's own listing, or a record naming T's village (the list shows none)."""
    assert census_twins_of("李*", "341302********1234", "李**", "341302********1234") == [1]
    assert census_twins_of("李*", "341302********1234", "李红霞", "341302200101091234") == [1]  # full ID, whole name
    assert census_twins_of("李*", "341302********1234", "李**", "341***********1234") == [0]  # hides 302
    assert census_twins_of("李*", "341302********1234", "王**", "341302********1234") == [0]
    assert census_twins_of("李*", "341302********1234", "李**", "341302********1234", e_person="T") == [0]
    assert census_twins_of("李红云", "341302********1234", "李**", "341302********1234") == [0]  # T's whole name shown
    assert census_twins_of("李红云", "341302********1234", "李红云", "341302********1234") == [1]
    assert census_twins_of("李*", "341302********1234", "李**", "341302********1234", village="王庄村") == [0]
    assert census_twins_of("李*", "341302********1234", "李**", "341302********1234", kind="med_enrollment") == [0]
    # a 学籍号 holding T's whole ID shows the birth date the listed 李** hides (the matcher reads it)
    student = dict(kind="education", record_id="G341302199001041234")
    assert census_twins_of("李*", "341302********1234", "李**", "341302********1234", **student) == [0]
    assert census_twins_of("李*", "341302********1234", "李**", "341302********1234", kind="education") == [1]


def test_evaluate_reports_the_recall_of_the_resolvable_records():
    links, truth = frames()
    twins = pl.DataFrame({"dept": ["医保"], "record_id": ["4"], "twins": [2]})
    row = evaluate(links, truth, twins=twins).filter(pl.col("dept") == "医保").row(0, named=True)
    assert row["ambiguous"] == 1 and row["recall"] == 2 / 5 and row["recall_resolvable"] == 2 / 4
    assert "recall*" in format_table(evaluate(links, truth, twins=twins))
    assert "recall*" not in format_table(evaluate(links, truth))


def test_ambiguous_counts_linkable_records_only_and_a_right_guess_is_no_resolvable_success():
    """Records 1 (matched to its person A) and 2 (to another) fit a twin: ambiguous, matched all
    the same (record 4, in review, is ambiguous too), and record 1's success is not one of the
    resolvable records'; record 3 (truth off the roster) is not linkable,
    so not ambiguous whatever fits it. All the linkable records ambiguous: no recall* (not 0/0)."""
    links, truth = frames()
    twins = pl.DataFrame({"dept": ["医保"] * 4, "record_id": ["1", "2", "3", "4"], "twins": [1] * 4})
    row = evaluate(links, truth, twins=twins).filter(pl.col("dept") == "医保").row(0, named=True)
    assert (row["ambiguous"], row["ambiguous_matched"], row["correct_resolvable"]) == (3, 2, 1), row
    assert row["recall_resolvable"] == 1 / 2
    every = pl.DataFrame({"dept": ["医保"] * 5, "record_id": ["1", "2", "4", "5", "6"], "twins": [1] * 5})
    row = evaluate(links, truth, twins=every).filter(pl.col("dept") == "医保").row(0, named=True)
    assert row["ambiguous"] == row["linkable"] == 5 and row["recall_resolvable"] is None, row


def test_the_total_counts_person_level_departments_and_every_review():
    """TOTAL sums the person-level departments (水利's place rows aside) and rates reviews of
    records on and off the roster alike; its precision bound is that of the summed counts."""
    links, truth = frames()
    links = links.with_columns(decision=pl.when(pl.col("record_id") == "3").then(pl.lit("review")).otherwise("decision"),
                               person_id=pl.when(pl.col("record_id") == "3").then(None).otherwise("person_id"))
    s = totals(evaluate(links, truth))
    assert (s["n"], s["linkable"], s["matched"], s["review_on"], s["review_off"]) == (6, 5, 3, 1, 1), s
    assert s["review_rate"] == 2 / 6 and s["precision"] == 2 / 3 and s["recall"] == 2 / 5
    assert s["precision_low"] == evaluate(links, truth).filter(pl.col("dept") == "医保")["precision_low"][0]


def test_calibration_sets_each_score_band_against_what_truth_confirms():
    """Matched links scored 0.992 and 0.993 (one wrong, one a false link) and 0.99999 (right):
    the lowest band claims 0.9925 and is right 0 times in 2; reviews and unscored records are not
    counted."""
    links = pl.DataFrame({"dept": ["民政"] * 5, "kind": ["civil"] * 5, "record_id": list("abcde"),
                          "decision": ["matched", "matched", "matched", "review", "matched"],
                          "person_id": ["A", "B", "C", None, "E"], "score": [0.992, 0.993, 0.99999, 0.7, 0.999]})
    truth = pl.DataFrame({"dept": ["民政"] * 4, "record_id": list("abcd"), "person_id": ["Z", None, "C", "D"]})
    table = calibration(links, truth)
    rows = {r["band"]: r for r in table.iter_rows(named=True)}
    # a score just at an edge is in the band below it, as its label says (<=)
    edge = calibration(links.with_columns(score=pl.when(pl.col("record_id") == "c").then(0.995).otherwise("score")), truth)
    assert edge.select("band", "n").rows() == [("<= 0.995", 3)]
    assert set(rows) == {"<= 0.995", "> 0.9999"}
    low = rows["<= 0.995"]
    assert (low["n"], low["correct"], low["precision"]) == (2, 0, 0.0) and abs(low["claimed"] - 0.9925) < 1e-12
    assert (rows["> 0.9999"]["n"], rows["> 0.9999"]["precision"]) == (1, 1.0)
    assert "<= 0.995" in format_calibration(table)


# --- a sample to label by hand --------------------------------------------------------------------
def test_a_drawn_sample_takes_each_department_alike_whatever_the_decision():
    n = 300
    links = pl.DataFrame({"dept": ["医保"] * n + ["民政"] * 5 + ["水利"], "kind": ["med_settlement"] * n + ["civil"] * 5 + ["water"],
                          "record_id": [str(i) for i in range(n + 6)],
                          "decision": (["matched", "review", "unmatched"] * n)[:n] + ["matched"] * 6,
                          "person_id": ["P"] * (n + 5) + [None], "score": [0.5] * (n + 6), "reason": ["r"] * (n + 6)})
    records = links.filter(pl.col("dept") != "水利").select("dept", "kind", "record_id", name=pl.lit("张*"),
                                                          id_raw=pl.lit("341302********1234"))
    got = LabelSample.validate(draw_sample(links, records, 60, seed=1))
    assert got.group_by("dept").len().sort("dept").rows() == [("医保", 60), ("民政", 5)]  # 水利 places are not drawn
    assert set(got.filter(pl.col("dept") == "医保")["decision"]) == {"matched", "review", "unmatched"}
    assert got["true_person_id"].is_null().all() and {"姓名", "证件号码"} <= set(got.columns)
    assert got.equals(draw_sample(links, records, 60, seed=1))  # the same draw again
    assert not got.equals(draw_sample(links, records, 60, seed=2))


def test_labels_blank_are_skipped_and_none_means_off_the_roster():
    labelled = pl.DataFrame({"dept": ["x"] * 4, "record_id": ["1", "2", "3", "4"],
                             "true_person_id": ["H1-01", "无", None, " "]})
    assert read_labels(labelled).rows() == [("x", "1", "H1-01"), ("x", "2", None)]
    written = pl.DataFrame({"dept": ["x"] * 3, "record_id": ["1", "2", "3"], "true_person_id": ["None", "NONE", "-"]})
    assert read_labels(written)["person_id"].to_list() == [None] * 3


def test_cli_scores_the_period_the_links_are_of(tmp_path, capsys):
    """A truth file of two periods, links of 2026-10 (OUT/2026-10/links.parquet): the other
    period's rows are left aside, said once, not listed as records missing from the links."""
    links, truth = frames()
    run = tmp_path / "2026-10"
    run.mkdir()
    links.write_parquet(run / "links.parquet")
    later = truth.with_columns(record_id=pl.col("record_id") + "b", period=pl.lit("2026-11"))
    pl.concat([truth.with_columns(period=pl.lit("2026-10")), later]).write_csv(tmp_path / "links.csv")
    main(["--links", str(run / "links.parquet"), "--truth", str(tmp_path / "links.csv")])
    out, err = capsys.readouterr()
    assert "scoring period 2026-10 only (2026-11 left aside)" in err and "not in the links" not in err, err
    main(["--links", str(run / "links.parquet"), "--truth", str(tmp_path / "links.csv"), "--period", "2026-10"])
    assert capsys.readouterr().out == out
    with pytest.raises(SystemExit, match="no row of period 2026-12"):
        main(["--links", str(run / "links.parquet"), "--truth", str(tmp_path / "links.csv"), "--period", "2026-12"])


def test_cli_names_what_is_wrong_instead_of_a_traceback(tmp_path):
    links, truth = frames()
    links.write_parquet(tmp_path / "links.parquet")
    truth.write_csv(tmp_path / "links.csv")
    pl.DataFrame({"a": ["1"]}).write_csv(tmp_path / "other.csv")
    (tmp_path / "inbox" / "2026-10").mkdir(parents=True)
    lk, tr = str(tmp_path / "links.parquet"), str(tmp_path / "links.csv")
    cases = {
        ("--links", lk, "--truth", str(tmp_path / "nope.csv")): "no such file",
        ("--links", str(tmp_path / "other.csv"), "--truth", tr): "not a links.parquet",
        ("--links", lk, "--truth", str(tmp_path / "other.csv")): "no column dept, person_id, record_id",
        ("--links", lk, "--truth", tr, "--inbox", str(tmp_path / "inbox")): "inbox/2026-10",
    }
    for argv, says in cases.items():
        with pytest.raises(SystemExit) as e:
            main(list(argv))
        assert says in str(e.value), (argv, e.value)


def test_a_labellers_slip_is_named_not_scored_as_a_miss():
    """A labelled 人编号 the roster does not hold (H1-0l for H1-01) or a record number the links
    do not hold is reported and left out, not counted against the matcher."""
    links, _ = frames()
    roster = pl.DataFrame({"person_id": ["A", "B", "C", "D", "E", "F"]})
    labelled = pl.DataFrame({"dept": ["医保"] * 4, "record_id": ["1", "2", "9", "3"],
                             "person_id": ["A", "B0", "A", None]})
    got = {(r["record_id"], r["problem"]) for r in check_truth(labelled, links, roster).iter_rows(named=True)}
    assert got == {("2", "人编号 B0 is not on the roster"), ("9", "not in the links")}
    assert check_truth(labelled, links).height == 1  # without the roster only the record is checked


def test_warnings_are_scored_per_rule_by_household_and_leads_by_a_shared_record():
    """`evaluate_warnings`: a household warning counts when the household got that rule (its
    cited records may differ), a lead when it cites one of the true lead's records; a missed
    warning citing a record in review is `waiting`; one the truth does not know is `extra`."""
    got = pl.DataFrame({
        "rule": ["M1", "M1", "M3", "M3", "M4", "H1", "M2", "C2"],
        "household_id": ["H1", "H9", None, None, "H3", "H4", "H1", None],
        "record_ids": [["s1"], ["s9"], ["s5", "s6"], ["s7"], [], ["h1"], ["s1"], ["s10"]],
    })
    truth = pl.DataFrame({
        "rule": ["M1", "M1", "M2", "M3", "M3", "M4", "M4", "H1"],
        "household_id": ["H1", "H2", "H2", "", "", "H3", "H5", "H6"],
        "record_ids": ["s1;s2", "s3", "s3;s4", "s6;s8", "s10", None, None, "h2"],
    })
    links = pl.DataFrame({"record_id": ["s2", "s3", "s4", "s10", "h2"],
                          "decision": ["review", "review", "matched", "unmatched", "review"]})
    t = {r["rule"]: r for r in evaluate_warnings(got, truth, links).iter_rows(named=True)}
    assert set(t) == {"C2", "H1", "M1", "M2", "M3", "M4"}
    assert (t["M1"]["expected"], t["M1"]["issued"], t["M1"]["hit"], t["M1"]["correct"]) == (2, 2, 1, 1)
    # H2's s3 waits in review; H1's s2 does too, but H1 was warned
    assert (t["M1"]["missed"], t["M1"]["waiting"], t["M1"]["extra"]) == (1, 1, 1)
    assert t["M1"]["recall"] == 0.5 and t["M1"]["precision"] == 0.5
    # H1's M2 is not its M1, H2's M2 was not issued
    assert (t["M2"]["issued"], t["M2"]["correct"], t["M2"]["missed"], t["M2"]["waiting"]) == (1, 0, 1, 1)
    assert (t["C2"]["expected"], t["C2"]["extra"], t["C2"]["recall"]) == (0, 1, None)  # s10 was an M3 lead's
    # the lead citing s5, s6 is the true one citing s6, s8; s7's is not; s10's was missed, not waiting
    assert (t["M3"]["hit"], t["M3"]["correct"], t["M3"]["missed"], t["M3"]["waiting"], t["M3"]["extra"]) == (1, 1, 1, 0, 1)
    assert t["M3"]["recall"] == 0.5
    assert (t["M4"]["expected"], t["M4"]["hit"], t["M4"]["precision"]) == (2, 1, 1.0)
    # another household of the same rule is no hit, whatever it cites
    assert (t["H1"]["hit"], t["H1"]["correct"], t["H1"]["waiting"]) == (0, 0, 1)
    all_rules = warning_totals(evaluate_warnings(got, truth, links))
    assert (all_rules["expected"], all_rules["issued"], all_rules["hit"], all_rules["correct"]) == (8, 8, 3, 3)
    assert (all_rules["waiting"], all_rules["missed"], all_rules["extra"], all_rules["recall"]) == (3, 5, 5, 3 / 8)
    without = {r["rule"]: r["waiting"] for r in evaluate_warnings(got, truth).iter_rows(named=True)}
    assert set(without.values()) == {0}

import dataclasses
import re
from pathlib import Path

import polars as pl
import pytest

from config import load_config

from matchers.evaluate import (calibration, check_labels, check_truth, draw_sample, evaluate, evaluate_warnings,
                               format_calibration, format_table, indistinguishable, main, read_labels, spelled_as, totals,
                               warning_totals, wilson_low)
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
        ("--links", lk, "--truth", str(tmp_path / "blank.csv")): "no row has true_person_id filled in",
    }
    (tmp_path / "blank.csv").write_text(LABELS_CSV.replace(",无,", ",,").replace(",0042,", ",,").replace(",H1-01,", ",,"),
                                        encoding="utf-8")  # (drawn, sent back with nothing labelled)
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


# --- a labelled sample as Excel or WPS gave it back --------------------------------------------------
def test_a_spreadsheets_headers_and_a_labellers_none_are_read_as_drawn():
    """Full-width brackets and a note after the name, spaces, upper case; 无 typed 无。, ' 无 ',
    否; an added column ignored; the reader's line kept for the messages."""
    labelled = pl.DataFrame({" Dept ": ["x"] * 5, "record_id（记录编号）": ["1", "2", "3", "4", "5"],
                             "true_person_id（人编号或无）": ["H1-01", "无。", " 无 ", "否", "NONE"],
                             "备注": ["", "核实过", None, None, None], "line": [3, 4, 5, 6, 7]})
    got = read_labels(labelled)
    assert got.columns == ["dept", "record_id", "person_id", "sample_line"]
    assert got.rows() == [("x", "1", "H1-01", 3), ("x", "2", None, 4), ("x", "3", None, 5), ("x", "4", None, 6),
                          ("x", "5", None, 7)]


def test_numbers_excel_stripped_of_their_zeros_are_the_runs_records_and_persons():
    """Excel's 12345 is the run's record 0012345 and its 42 the roster's 人编号 0042 (a labeller's
    h1-01 is H1-01): scored as the unmangled labels are, not as records missing from the links."""
    links = pl.DataFrame({"dept": ["民政"] * 3, "kind": ["civil"] * 3, "record_id": ["0012345", "0000007", "MZ8"],
                          "decision": ["matched", "matched", "matched"], "person_id": ["0042", "H1-01", "0042"]})
    roster = pl.DataFrame({"person_id": ["0042", "H1-01", "0099"]})
    typed = pl.DataFrame({"dept": ["民政"] * 3, "record_id": ["12345", "7", "mz8"], "person_id": ["42", "h1-01", "99"]})
    truth = spelled_as(typed, links, roster)
    assert truth.rows() == [("民政", "0012345", "0042"), ("民政", "0000007", "H1-01"), ("民政", "MZ8", "0099")]
    assert check_truth(truth, links, roster).is_empty()
    row = evaluate(links, truth).row(0, named=True)
    assert (row["correct_matched"], row["wrong_person"], row["linkable"]) == (2, 1, 3), row
    # as typed, nothing joins: what main scored before
    assert check_truth(typed, links, roster).height == 6


def test_numbers_excel_destroyed_are_named_by_line_not_guessed():
    """1.23457E+19 (a record number, or a 人编号) cannot be told back: refused naming its line; one
    kept to 15 digits then zeros is said so when the links do not hold it (a number that ends in
    zeros and is a record is scored); a record labelled twice with different answers (0012 and
    12 are one record) is refused on both lines, twice alike is one label; a label without its
    record number is named, not dropped."""
    labels = read_labels(pl.DataFrame({
        "dept": ["残联", "残联", "民政", "民政", "民政", "民政", "民政", None],
        "record_id": ["1.23457E+19", "34130219900101100000", "0012", "12", "7", "7", "MZ1", "MZ2"],
        "true_person_id": ["H1-01", "无", "H1-01", "H2-01", "H3-01", "H3-01", "3.41302E+17", "H1-01"],
        "line": [2, 3, 4, 5, 6, 7, 8, 9]}))
    got = check_labels(labels)
    assert got.select("line", "field").rows() == [(2, "record_id"), (4, "true_person_id"), (5, "true_person_id"),
                                                  (8, "true_person_id"), (9, "dept, record_id")], got
    assert "rewrote" in got["problem"][0] and "lines 4, 5" in got["problem"][1]
    links = pl.DataFrame({"dept": ["残联", "残联"], "record_id": ["34130219900101123456", "34130219900101200000"]})
    cut = check_truth(pl.DataFrame({"dept": ["残联"] * 2, "record_id": ["34130219900101100000", "34130219900101200000"],
                                    "person_id": [None, None], "sample_line": [3, 4]}), links)
    assert cut.select("line", "field").rows() == [(3, "record_id")] and "15" in cut["problem"][0], cut


LABELS_CSV = "dept,kind,record_id,true_person_id,姓名,decision,person_id\n" + "\n".join([
    "民政,civil,0012345,0042,张三,matched,0042", "民政,civil,0000007,H1-01,李四,matched,H1-01",
    "民政,civil,0000008,无,王五,unmatched,", "民政,civil,0000009,,赵六,review,"]) + "\n"


def excel_saved(text: str) -> str:
    """A CSV as Excel or WPS saves it back: all-digit cells lose their leading zeros, a long one
    is written 1.23457E+19."""
    def cell(v: str) -> str:
        if not v.isdigit():
            return v
        return str(int(v)) if len(str(int(v))) <= 15 else f"{float(v):.5E}"
    return "\n".join(",".join(map(cell, line.split(","))) for line in text.splitlines()) + "\n"


def test_cli_scores_a_sample_excel_saved_as_the_sample_drawn(tmp_path, capsys):
    """Stripped zeros, GB18030, a title and a 合计 row, full-width headers, an added column, rows
    sorted otherwise, 无 typed 无。: the same table as the sample as drawn, and nothing refused."""
    links = pl.DataFrame({"dept": ["民政"] * 4, "kind": ["civil"] * 4, "record_id": ["0012345", "0000007", "0000008", "0000009"],
                          "decision": ["matched", "matched", "unmatched", "review"], "person_id": ["0042", "H1-01", None, None]})
    links.write_parquet(tmp_path / "links.parquet")
    (tmp_path / "drawn.csv").write_text(LABELS_CSV, encoding="utf-8")
    main(["--links", str(tmp_path / "links.parquet"), "--truth", str(tmp_path / "drawn.csv")])
    drawn = capsys.readouterr().out
    lines = excel_saved(LABELS_CSV).replace("true_person_id", "true_person_id（人编号）").replace(",无,", ",无。,").splitlines()
    lines = ["民政局抽样核对表,,,,,,", lines[0].rstrip() + ",备注", *[x + "," for x in reversed(lines[1:])], "合计,,,,,,,4"]
    (tmp_path / "saved.csv").write_bytes(("\r\n".join(lines) + "\r\n").encode("gb18030"))
    main(["--links", str(tmp_path / "links.parquet"), "--truth", str(tmp_path / "saved.csv")])
    out, err = capsys.readouterr()
    assert out == drawn and "not scored" not in err, err
    assert "1.0000" in drawn and " 3 " in drawn  # (3 labelled rows: 2 linkable, both right)


@pytest.fixture(scope="module")
def county_links(sample_county, tmp_path_factory):
    """The sample county linked (read and linked as the flow does, without it): links.parquet in
    a period folder, and the period's inbox."""
    import json

    from adapters.inbox import read_linkable
    from matchers.link import link

    cfg = load_config()
    population = json.loads((sample_county / "truth" / "population.json").read_text())["county_population"]
    inbox = sample_county / "inbox" / "2026-10"
    records, roster = read_linkable(inbox, cfg)
    links, _ = link(records, roster, dataclasses.replace(cfg.matching, county_population=population))
    run = tmp_path_factory.mktemp("out") / "2026-10"
    run.mkdir()
    links.write_parquet(run / "links.parquet")
    return run / "links.parquet", inbox


def test_a_drawn_sample_labelled_and_saved_by_excel_scores_as_labelled(county_links, sample_county, tmp_path, capsys):
    """Draw, label from the generator's truth (无 typed 无。 or ' 无 ' here and there, some 人编号
    in lower case), save as Excel does when the sheet is opened again (the drawn ="…" cells
    then plain numbers: zeros stripped, a 20-digit 残联 card number written 1.23457E+19 in a
    CSV or kept to 15 digits in a workbook; GB18030; a title row, a 合计 row, an added column,
    full-width headers, rows sorted by name, a few deleted): the table printed is the one of the
    labels as drawn, but for the rows whose record number Excel destroyed, which are named by
    line and not scored. The sample as drawn, labelled, scores whole (its ="…" cells read as
    the numbers inside)."""
    import csv
    import io

    import xlsxwriter

    links, inbox = county_links
    drawn = tmp_path / "标注样本.csv"
    main(["--links", str(links), "--inbox", str(inbox), "--draw", "20", "--out", str(drawn), "--seed", "3"])
    assert "140 records drawn" in capsys.readouterr().out  # (20 of each person-level department)
    truth = _truth_of(sample_county)
    rows = list(csv.reader(io.StringIO(drawn.read_text(encoding="utf-8-sig"))))
    header, rows = rows[0], rows[1:]
    at = {c: i for i, c in enumerate(header)}
    for n, r in enumerate(rows):
        pid = truth[(r[at["dept"]], _shown(r[at["record_id"]]))]
        r[at["true_person_id"]] = (["无", "无。", " 无 ", "否"][n % 4] if pid is None
                                   else pid.lower() if n % 3 == 0 else pid)
    rows = [r for n, r in enumerate(rows) if n % 10 != 5]  # a few deleted
    destroyed = {r[at["record_id"]] for r in rows if len(_shown(r[at["record_id"]])) > 15 and _shown(r[at["record_id"]]).isdigit()}
    assert destroyed and len(rows) > 100  # (残联's card numbers)

    def score(path: Path) -> tuple[str, str]:
        main(["--links", str(links), "--inbox", str(inbox), "--truth", str(path)])
        return capsys.readouterr()

    def write_csv(path: Path, rows: list[list[str]], encoding: str = "utf-8") -> Path:
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\r\n").writerows(rows)
        path.write_bytes(buf.getvalue().encode(encoding))
        return path

    # the labels as drawn, less the rows Excel will destroy (their labels blanked): what should print
    kept = [[*r[:at["true_person_id"]], "" if r[at["record_id"]] in destroyed else r[at["true_person_id"]],
             *r[at["true_person_id"] + 1:]] for r in rows]
    want, err = score(write_csv(tmp_path / "kept.csv", [header, *kept]))
    assert "not scored" not in err, err
    whole, err = score(write_csv(tmp_path / "drawn.csv", [header, *rows], "utf-8-sig"))
    assert whole != want and "not scored" not in err, err  # (the rows Excel destroys do count)

    # as Excel saves it: a title line, headers as the analyst retyped them, an added column, sorted by name, 合计
    wide = [{"true_person_id": "true_person_id（人编号或无）", "record_id": " record_id ", "姓名": "姓 名"}.get(h, h)
            for h in header] + ["备注"]
    saved = sorted(([_excel(_shown(v)) for v in r] + ["已核"] for r in rows), key=lambda r: r[at["姓名"]])
    total = ["合计", *[""] * (len(header) - 1), str(len(rows))]
    out, err = score(write_csv(tmp_path / "excel.csv", [["宿州市民政局抽样核对表"], wide, *saved, total], "gb18030"))
    assert out == want, (out, want)
    told = {int(m) for m in re.findall(r"line (\d+), record_id: ", err)}
    assert told == {n + 3 for n, r in enumerate(saved) if "E+" in r[at["record_id"]]}, err  # (a title, then the header)
    assert f"{len(told)} row(s) not scored" in err and len(told) == len(destroyed), err

    # saved as a workbook: all-digit cells are numbers (no zeros; a long one keeps 15 digits)
    book = xlsxwriter.Workbook(str(tmp_path / "excel.xlsx"))
    sheet = book.add_worksheet("标注")
    sheet.write_row(0, 0, ["宿州市民政局抽样核对表"])
    sheet.write_row(1, 0, wide)
    for n, r in enumerate(sorted(rows, key=lambda r: r[at["姓名"]]), start=2):
        for c, v in enumerate([*map(_shown, r), "已核"]):
            sheet.write_number(n, c, float(v)) if v.isdigit() else sheet.write_string(n, c, v)
    sheet.write_row(len(rows) + 2, 0, total)
    book.close()
    out, err = score(tmp_path / "excel.xlsx")
    assert out == want, (out, want)
    assert {int(m) for m in re.findall(r"line (\d+), record_id: ", err)} == told, err
    assert "15" in err, err


def _truth_of(county: Path) -> dict[tuple[str, str], str | None]:
    """(dept, record_id) -> the true 人编号 (None: no roster person) of the generator's truth."""
    t = pl.read_csv(county / "truth" / "links.csv", infer_schema_length=0).filter(pl.col("expect") == "record")
    return {(d, r): p for d, r, p in t.select("dept", "record_id", "person_id").iter_rows()}


def _shown(v: str) -> str:
    """A drawn cell as Excel shows it, and saves it the first time: ="0012" is the text 0012."""
    return v[2:-1] if v.startswith('="') and v.endswith('"') else v


def _excel(v: str) -> str:
    """A cell as Excel saves it to CSV: an all-digit one without its zeros, a long one 1.23457E+19."""
    if not v.isdigit():
        return v
    return str(int(v)) if len(str(int(v))) <= 15 else f"{float(v):.5E}"

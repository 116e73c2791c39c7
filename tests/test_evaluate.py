import polars as pl

from matchers.evaluate import evaluate, format_table, main


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

import polars as pl

from adapters import warehouse


def test_replace_period_never_duplicates(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    df = pl.DataFrame({"record_id": ["a", "b"], "out_of_pocket": [1.0, 2.0]})
    warehouse.replace_period(con, "2026-09", {"settlements": df})
    warehouse.replace_period(con, "2026-09", {"settlements": df})
    assert con.sql("SELECT count(*) FROM settlements").fetchall()[0][0] == 2


def test_a_frame_without_columns_removes_the_periods_rows_and_creates_nothing(tmp_path):
    """A re-run whose 反馈/ (or 复核/) file was taken out forgets that period's answers."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    answers = pl.DataFrame({"warning_id": ["YJ1", "YJ2"]})
    warehouse.replace_period(con, "2026-09", {"feedback_answers": answers})
    warehouse.replace_period(con, "2026-10", {"feedback_answers": answers})
    warehouse.replace_period(con, "2026-10", {"feedback_answers": pl.DataFrame(), "review_answers": pl.DataFrame()})
    assert con.sql("SELECT period, count(*) FROM feedback_answers GROUP BY ALL").fetchall() == [("2026-09", 2)]
    assert warehouse.table(con, "review_answers") is None


def test_year_to_date_takes_each_record_once_latest_wins(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    def rows(ids, amounts):  # (no 结算日期: the delivery period's year)
        return pl.DataFrame({"record_id": ids, "out_of_pocket": amounts, "settle_date": [None] * len(ids)},
                            schema_overrides={"settle_date": pl.Date})
    warehouse.replace_period(con, "2025-12", {"settlements": rows(["old"], [9.0])})
    warehouse.replace_period(con, "2026-08", {"settlements": rows(["a", "b"], [1.0, 2.0])})
    warehouse.replace_period(con, "2026-09", {"settlements": rows(["b"], [3.0])})
    warehouse.replace_period(con, "2026-11", {"settlements": rows(["z"], [7.0])})
    def year_to_date(period, years, columns=None):
        n = warehouse.write_year_to_date_settlements(con, period, years, columns, tmp_path / "ytd.parquet")
        return pl.read_parquet(tmp_path / "ytd.parquet") if n else None
    ytd = year_to_date("2026-10", [2026]).sort("record_id")
    # previous year and later periods excluded; b's correction (2026-09) replaces its first delivery
    assert ytd.select("record_id", "out_of_pocket", "period").rows() == [("a", 1.0, "2026-08"), ("b", 3.0, "2026-09")]
    # the columns the sums read (those the table has, and the period), the same rows; then every
    # column of the chosen ones, in the order asked
    slim = year_to_date("2026-10", [2026], ["record_id", "out_of_pocket", "no_such"])
    assert slim.columns == ["record_id", "out_of_pocket", "period"]
    assert slim.sort("record_id").rows() == [("a", 1.0, "2026-08"), ("b", 3.0, "2026-09")]
    full = warehouse.settlement_rows(con, pl.DataFrame({"record_id": ["b", "a"], "period": ["2026-09", "2026-08"]}))
    assert full.columns == ytd.columns and full.rows() == ytd.sort("record_id", descending=True).rows()
    assert year_to_date("2026-08", [2026]) is None and not (tmp_path / "ytd.parquet").exists()


def test_runs_are_audited(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    run_id = warehouse.begin_run(con, "2026-10", "abc123")
    warehouse.finish_run(con, run_id, "ok")
    row = con.sql("SELECT period, config_sha256, status, run_by FROM runs").fetchall()[0]
    assert row[:3] == ("2026-10", "abc123", "ok") and row[3]

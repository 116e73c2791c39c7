import datetime as dt

import duckdb
import polars as pl
import pytest

from adapters import warehouse


def test_replace_period_never_duplicates(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    df = pl.DataFrame({"record_id": ["a", "b"], "out_of_pocket": [1.0, 2.0]})
    warehouse.replace_period(con, "2026-09", {"settlements": df})
    warehouse.replace_period(con, "2026-09", {"settlements": df})
    assert con.sql("SELECT count(*) FROM settlements").fetchall()[0][0] == 2


def test_the_warehouse_file_is_created_owner_only(tmp_path):
    """It holds names and ID numbers: readable by its owner alone, whatever the umask."""
    import os

    mask = os.umask(0o022)
    try:
        con = warehouse.connect(tmp_path / "w.duckdb")
    finally:
        os.umask(mask)
    con.close()
    assert os.stat(tmp_path / "w.duckdb").st_mode & 0o777 == 0o600


def test_a_later_version_adding_a_column_keeps_the_table_in_step(tmp_path):
    """A period stored with a column the table lacks (written by a later version) is stored whole;
    the periods stored before read the new column as null."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    warehouse.replace_period(con, "2026-09", {"settlements": pl.DataFrame({"record_id": ["a"]})})
    warehouse.replace_period(con, "2026-10", {"settlements": pl.DataFrame({"record_id": ["b"], "hospital": ["县医院"]})})
    assert con.sql("SELECT period, record_id, hospital FROM settlements ORDER BY period").fetchall() == [
        ("2026-09", "a", None), ("2026-10", "b", "县医院")]


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


def test_which_run_stored_a_period_is_committed_and_rolled_back_with_the_period(tmp_path):
    """A killed run's recovery asks whether the run stored its period (`stored_runs`): the mark
    is written in the period's transaction, so it is there exactly when the period's rows are.
    A run that stored its period is recorded ok when found still running, as full or partial as
    it began; the others interrupted. A warehouse whose `runs` predates the mark gets it."""
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE runs (run_id VARCHAR PRIMARY KEY, period VARCHAR, started_at TIMESTAMP, "
                "finished_at TIMESTAMP, run_by VARCHAR, host VARCHAR, config_sha256 VARCHAR, status VARCHAR, "
                "summary VARCHAR)")
    con.execute("INSERT INTO runs (run_id, period, status) VALUES ('2026-08-old', '2026-08', 'ok')")
    con.close()
    con = warehouse.connect(path)
    rows = {"warnings": pl.DataFrame({"warning_id": ["w"]})}
    failed = warehouse.begin_run(con, "2026-09", "x")
    stored = warehouse.begin_run(con, "2026-10", "x", summary="partial: 医保")
    with pytest.raises(OSError), warehouse.replacing_period(con, "2026-09", rows):  # (its files could not be written)
        warehouse.mark_stored(con, failed)
        raise OSError("disk full")
    with warehouse.replacing_period(con, "2026-10", rows):
        warehouse.mark_stored(con, stored)
    assert warehouse.stored_runs(con) == {"2026-08-old": False, failed: False, stored: True}
    assert con.sql("SELECT DISTINCT period FROM warnings").fetchall() == [("2026-10",)]
    assert warehouse.mark_interrupted(con) == (["2026-10"], ["2026-09"])
    assert con.sql("SELECT run_id, status, summary, finished_at IS NOT NULL FROM runs ORDER BY period").fetchall() == [
        ("2026-08-old", "ok", None, False), (failed, "interrupted", "", False), (stored, "ok", "partial: 医保", True)]
    assert warehouse.last_run(con, "2026-10", full=True) is None  # (a partial run, recorded as one)


def test_which_runs_count_for_the_cascade_the_previous_period_and_the_issue_dates(tmp_path):
    """Read from `runs`: August and September run in full (September twice, with other settings),
    October failed, November run for one department, December still running. The cascade after
    August re-runs September only; the period before is the latest run successfully, partly or
    not; September's last run is its second; the 下发日期 are those of successful runs."""
    con = warehouse.connect(tmp_path / "w.duckdb")

    def run(period, sha, issued, status="ok", summary=""):
        run_id = warehouse.begin_run(con, period, sha, issue_date=dt.date.fromisoformat(issued), summary=summary)
        if status:
            warehouse.finish_run(con, run_id, status, summary)

    run("2026-08", "a", "2026-09-05")
    run("2026-09", "a", "2026-10-05")
    run("2026-09", "b", "2026-10-20")
    run("2026-10", "a", "2026-11-05", status="failed")
    run("2026-11", "a", "2026-12-05", summary="partial: 医保")
    run("2026-12", "a", "2027-01-05", status=None)
    assert warehouse.later_periods(con, "2026-08") == ["2026-09"]
    assert warehouse.later_periods(con, "2026-07") == ["2026-08", "2026-09"]
    assert [warehouse.previous_period(con, p) for p in ("2026-08", "2026-09", "2026-11", "2027-01")] == [
        None, "2026-08", "2026-09", "2026-11"]
    assert warehouse.last_run(con, "2026-09")["config_sha256"] == "b"
    assert warehouse.last_run(con, "2026-10") is None and warehouse.last_run(con, "2026-11", full=True) is None
    assert warehouse.last_run(con, "2026-11")["summary"] == "partial: 医保"
    assert warehouse.latest_issue_date(con) == dt.date(2026, 12, 5)
    assert warehouse.first_issue_dates(con) == {"2026-08": dt.date(2026, 9, 5), "2026-09": dt.date(2026, 10, 5),
                                                "2026-11": dt.date(2026, 12, 5)}


def test_a_cascades_mark_is_cleared_for_its_period_alone(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    for p in ("2026-08", "2026-10"):
        warehouse.mark_cascade(con, p)
    warehouse.clear_cascade(con, "2026-08")
    assert con.sql("SELECT period FROM cascades_pending").fetchall() == [("2026-10",)]
    warehouse.clear_cascade(con)
    assert con.sql("SELECT count(*) FROM cascades_pending").fetchall() == [(0,)]


def test_a_cascade_cut_short_names_the_later_periods_not_re_run_since_its_period_was_stored(tmp_path):
    """August, September, October and November run; August re-run with its cascade marked, then
    September re-run after it, and the process killed while re-running October: October and
    November still reflect August as it was (a partial run of November since does not change
    that), September not. A cascade whose run of August never stored it names nothing (its run
    is named as interrupted instead)."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    rows = {"warnings": pl.DataFrame({"warning_id": ["w"]})}

    def run(period, summary="", store=True, status="ok"):
        run_id = warehouse.begin_run(con, period, "x", summary=summary)
        if store:
            with warehouse.replacing_period(con, period, rows):
                warehouse.mark_stored(con, run_id)
        if status:
            warehouse.finish_run(con, run_id, status, summary)

    for p in ("2026-08", "2026-09", "2026-10", "2026-11"):
        run(p)
    warehouse.mark_cascade(con, "2026-08")
    run("2026-08")
    run("2026-09")
    run("2026-11", summary="partial: 医保")
    run("2026-10", store=False, status=None)  # killed
    assert warehouse.stale_after_cascade(con) == {"2026-08": ["2026-10", "2026-11"]}
    warehouse.clear_cascade(con)
    assert warehouse.stale_after_cascade(con) == {}
    warehouse.mark_cascade(con, "2026-09")
    run("2026-09", store=False, status=None)  # killed before it stored September
    assert warehouse.stale_after_cascade(con) == {}


# --- warning_status: a log of what changed, read as full snapshots --------------------------

def _status(rows: list[tuple]) -> pl.DataFrame:
    """WarningStatus-like rows: warning_id, status, days_overdue, verified_on, withdrawn."""
    return pl.DataFrame(rows, schema={"warning_id": pl.Utf8, "status": pl.Utf8, "days_overdue": pl.Int64,
                                      "verified_on": pl.Date, "withdrawn": pl.Boolean}, orient="row")


def _snapshot(con, period: str) -> pl.DataFrame:
    return con.sql("SELECT * FROM warning_status WHERE period = ? ORDER BY warning_id", params=[period]).pl()


def _log(con) -> list[tuple]:
    return con.sql("SELECT warning_id, period, status, days_overdue, absent FROM warning_status_log "
                   "ORDER BY period, warning_id").fetchall()


AUG = _status([("a", "open", 0, None, False), ("b", "overdue", 3, None, False)])
SEP = _status([("a", "open", 0, None, False), ("b", "verified_true", 0, dt.date(2026, 9, 3), False),
               ("c", "open", 0, None, False)])
OCT = _status([("a", "open", 0, None, False), ("c", "overdue", 2, None, False)])  # b gone (see below)


def test_warning_status_stores_only_what_changed_and_reads_every_snapshot_whole(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    for period, status in [("2026-08", AUG), ("2026-09", SEP), ("2026-10", OCT)]:
        warehouse.replace_period(con, period, {"warning_status": status})
    assert _log(con) == [  # a unchanged after August: one row; b gone from October: an `absent` row
        ("a", "2026-08", "open", 0, False), ("b", "2026-08", "overdue", 3, False),
        ("b", "2026-09", "verified_true", 0, False), ("c", "2026-09", "open", 0, False),
        ("b", "2026-10", None, None, True), ("c", "2026-10", "overdue", 2, False)]
    for period, status in [("2026-08", AUG), ("2026-09", SEP), ("2026-10", OCT)]:  # as stored, same columns
        assert _snapshot(con, period).equals(status.with_columns(period=pl.lit(period)))
    assert warehouse.status_before(con, "2026-10").sort("warning_id").equals(_snapshot(con, "2026-09"))
    assert warehouse.status_before(con, "2026-11").sort("warning_id").equals(_snapshot(con, "2026-10"))
    assert warehouse.status_before(con, "2026-08") is None
    assert con.sql("SELECT * FROM warning_status_periods ORDER BY period").fetchall() == [
        ("2026-08", 2), ("2026-09", 3), ("2026-10", 2)]
    # what analysts and the county report read: the column `withdrawn`, a period's rows
    assert report_columns(con) == ["warning_id", "status", "days_overdue", "verified_on", "withdrawn", "period"]
    # the same snapshot stored again adds nothing; an empty one is gone whole
    warehouse.replace_period(con, "2026-11", {"warning_status": OCT})
    warehouse.replace_period(con, "2026-12", {"warning_status": OCT.clear()})
    assert _snapshot(con, "2026-11").drop("period").equals(OCT) and _snapshot(con, "2026-12").is_empty()
    assert [r for r in _log(con) if r[1] >= "2026-11"] == [("a", "2026-12", None, None, True),
                                                            ("c", "2026-12", None, None, True)]
    assert warehouse.status_before(con, "2027-01").sort("warning_id").equals(_snapshot(con, "2026-11"))  # (the latest with rows)


def report_columns(con) -> list[str]:
    return [r[0] for r in con.execute("SELECT column_name FROM information_schema.columns "
                                      "WHERE table_name = 'warning_status' ORDER BY ordinal_position").fetchall()]


def test_warning_status_an_earlier_period_run_again_leaves_the_later_snapshots_as_stored(tmp_path):
    """Re-running September (a new warning d, a changed) replaces its rows; October's snapshot,
    stored against the old September, stays as it was until October runs again."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    for period, status in [("2026-08", AUG), ("2026-09", SEP), ("2026-10", OCT)]:
        warehouse.replace_period(con, period, {"warning_status": status})
    again = _status([("a", "overdue", 5, None, False), ("b", "verified_true", 0, dt.date(2026, 9, 3), False),
                     ("c", "open", 0, None, False), ("d", "open", 0, None, False)])
    warehouse.replace_period(con, "2026-09", {"warning_status": again})
    assert _snapshot(con, "2026-09").drop("period").equals(again)
    for period, status in [("2026-08", AUG), ("2026-10", OCT)]:
        assert _snapshot(con, period).drop("period").equals(status)
    assert [r for r in _log(con) if r[1] == "2026-10"] == [  # October written again against it
        ("a", "2026-10", "open", 0, False), ("b", "2026-10", None, None, True),
        ("c", "2026-10", "overdue", 2, False), ("d", "2026-10", None, None, True)]
    # a period run for the first time between stored ones (July), then October again
    july = _status([("z", "open", 0, None, False)])
    warehouse.replace_period(con, "2026-07", {"warning_status": july})
    warehouse.replace_period(con, "2026-10", {"warning_status": OCT})
    for period, status in [("2026-07", july), ("2026-08", AUG), ("2026-09", again), ("2026-10", OCT)]:
        assert _snapshot(con, period).drop("period").equals(status)


def test_warning_status_random_runs_and_reruns_read_back_as_last_stored(tmp_path):
    """Any order of periods run and run again: every stored period reads back exactly the
    snapshot its last run stored."""
    import random

    rnd = random.Random(7)
    con = warehouse.connect(tmp_path / "w.duckdb")
    periods = [f"2026-{m:02d}" for m in range(1, 9)]
    stored = {}
    for _ in range(40):
        period = rnd.choice(periods)
        rows = [(f"w{i}", rnd.choice(["open", "overdue", "verified_true"]), rnd.choice([0, 1, None]),
                 rnd.choice([None, dt.date(2026, 1, 1)]), rnd.choice([False, True, None]))
                for i in range(12) if rnd.random() < 0.7]
        stored[period] = _status(rows)
        warehouse.replace_period(con, period, {"warning_status": stored[period]})
        for p, status in stored.items():
            assert _snapshot(con, p).drop("period").equals(status.sort("warning_id")), p
    # and the log holds no row that repeats the warning's row before it
    assert con.sql("""SELECT count(*) FROM (SELECT * FROM warning_status_log
                      WINDOW w AS (PARTITION BY warning_id ORDER BY period)
                      QUALIFY lag(period) OVER w IS NOT NULL AND absent = lag(absent) OVER w
                          AND status IS NOT DISTINCT FROM lag(status) OVER w
                          AND days_overdue IS NOT DISTINCT FROM lag(days_overdue) OVER w
                          AND verified_on IS NOT DISTINCT FROM lag(verified_on) OVER w
                          AND withdrawn IS NOT DISTINCT FROM lag(withdrawn) OVER w)""").fetchall() == [(0,)]


def test_a_warehouse_of_full_snapshots_becomes_the_log_and_reads_the_same(tmp_path):
    """A warehouse written before the log: `warning_status` a table of every period's full
    snapshot (`withdrawn` added later, after `period`). Opening it converts it in place."""
    path = tmp_path / "old.duckdb"
    old = duckdb.connect(str(path))
    frames = {p: s.drop("withdrawn").with_columns(period=pl.lit(p))
              for p, s in [("2026-08", AUG), ("2026-09", SEP), ("2026-10", OCT)]}
    old.register("_aug", frames["2026-08"])
    old.execute("CREATE TABLE warning_status AS SELECT * FROM _aug")
    for p in ("2026-09", "2026-10"):
        old.register("_f", frames[p])
        old.execute("INSERT INTO warning_status BY NAME SELECT * FROM _f")
        old.unregister("_f")
    old.execute("ALTER TABLE warning_status ADD COLUMN withdrawn BOOLEAN")
    old.execute("UPDATE warning_status SET withdrawn = false WHERE period = '2026-10'")
    before = old.sql("SELECT * FROM warning_status ORDER BY period, warning_id").pl()
    old.close()

    con = warehouse.connect(path)
    assert con.sql("SELECT table_type FROM information_schema.tables WHERE table_name = 'warning_status'"
                   ).fetchall() == [("VIEW",)]
    assert con.sql("SELECT * FROM warning_status ORDER BY period, warning_id").pl().equals(before)
    assert _log(con) == [  # (withdrawn: null, then false in October, a change for a)
        ("a", "2026-08", "open", 0, False), ("b", "2026-08", "overdue", 3, False),
        ("b", "2026-09", "verified_true", 0, False), ("c", "2026-09", "open", 0, False),
        ("a", "2026-10", "open", 0, False), ("b", "2026-10", None, None, True),
        ("c", "2026-10", "overdue", 2, False)]
    assert warehouse.status_before(con, "2026-10").sort("warning_id").equals(before.filter(pl.col("period") == "2026-09"))
    con.close()
    con = warehouse.connect(path)  # (converted once)
    warehouse.replace_period(con, "2026-09", {"warning_status": SEP})  # now with `withdrawn`
    warehouse.replace_period(con, "2026-11", {"warning_status": OCT})
    assert _snapshot(con, "2026-09").equals(SEP.with_columns(period=pl.lit("2026-09")).select(before.columns))
    assert _snapshot(con, "2026-10").equals(before.filter(pl.col("period") == "2026-10"))
    assert _snapshot(con, "2026-11").drop("period").equals(OCT.select(before.drop("period").columns))


def test_a_warehouse_whose_settlements_lack_their_keys_gets_them_on_opening_and_reads_the_same(tmp_path):
    """Settlements stored before they carried `RELINK_KEYS`: opening the warehouse works them out
    for every stored row, so the next month chooses the same earlier settlements to link again
    as a warehouse that stored them with their keys."""
    from pipelines.year_to_date import RELINK_COLUMNS, RELINK_KEYS, YTD_COLUMNS, relink_keys, to_relink

    rows = pl.DataFrame({
        "record_id": ["S1", "S2", "S3", "S4", "S5"], "period": ["2026-10", "2026-10", "2026-11", "2026-11", "2026-11"],
        "id_raw": ["341302********7777", "3.41302E+17", "341302196903317777", "341302********7777", "３４１３０２19690331＊＊＊＊"],
        "name": ["吳國建", "*国建", None, "胡国建", "武国建"], "decision": ["unmatched", "review", "unmatched", "unmatched", "matched"],
        "person_id": [None, None, None, None, "H3-01"], "settle_date": [dt.date(2026, 10, 5)] * 5, "out_of_pocket": [1.0] * 5})
    old_path, new_path = tmp_path / "old.duckdb", tmp_path / "new.duckdb"
    old = duckdb.connect(str(old_path))
    old.register("_rows", rows)
    old.execute("CREATE TABLE settlements AS SELECT * FROM _rows")
    old.close()
    new = warehouse.connect(new_path)
    for (p,), part in rows.partition_by("period", as_dict=True).items():
        warehouse.replace_period(new, p, {"settlements": part.drop("period").hstack(relink_keys(part))})

    con = warehouse.connect(old_path)
    assert set(RELINK_KEYS) <= set(warehouse._columns(con, "settlements"))
    changed = pl.DataFrame({"since": ["2026-10", "2026-11"], "person_id": ["H3-01", "H3-01"]})
    roster = pl.DataFrame({"person_id": ["H3-01"], "household_id": ["H3"], "name": ["吴国建"],
                           "id_number": ["341302196903317777"]})
    read = {}
    for name, c in (("old", con), ("new", new)):
        warehouse.write_year_to_date_settlements(c, "2026-12", [2026], [*YTD_COLUMNS, *RELINK_KEYS], tmp_path / f"{name}.parquet")
        read[name] = pl.read_parquet(tmp_path / f"{name}.parquet").sort("record_id")
    assert read["old"].select(sorted(read["old"].columns)).equals(read["new"].select(sorted(read["new"].columns)))
    assert read["old"].select(RELINK_KEYS).rows() == relink_keys(rows).rows()
    again = to_relink(read["old"].select(RELINK_COLUMNS), changed, roster)
    assert sorted(again["record_id"]) == sorted(to_relink(read["new"].select(RELINK_COLUMNS), changed, roster)["record_id"])
    # 吴国建's last 4 under 吳 and with no name, no key shown, linked to him; not under 胡
    assert sorted(again["record_id"]) == ["S1", "S2", "S3", "S5"]
    con.close()
    new.close()


def test_review_history_reads_the_periods_a_queued_record_was_in_review_up_to_the_period(tmp_path):
    """From `links` as the runs store them: a re-run of a period replaces its links (September run
    again without the record in review: August stays its first); a later period stored (run out of
    order) is not read; another department's record of the same 记录编号 is another record."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    assert warehouse.review_history(con, "2026-10", pl.DataFrame({"dept": ["医保"], "record_id": ["CB1"]})).is_empty()

    def links(*rows: tuple) -> pl.DataFrame:
        return pl.DataFrame(rows, schema=["dept", "kind", "record_id", "decision"], orient="row")
    warehouse.replace_period(con, "2026-08", {"links": links(("医保", "med_enrollment", "CB1", "review"),
                                                             ("人社", "hr", "CB1", "review"))})
    warehouse.replace_period(con, "2026-09", {"links": links(("医保", "med_enrollment", "CB1", "review"),
                                                             ("医保", "med_enrollment", "CB2", "review"))})
    warehouse.replace_period(con, "2026-11", {"links": links(("医保", "med_enrollment", "CB2", "review"))})
    warehouse.replace_period(con, "2026-10", {"links": links(("医保", "med_enrollment", "CB1", "review"),
                                                             ("医保", "med_enrollment", "CB2", "review"),
                                                             ("医保", "med_settlement", "CB2", "review"))})
    asked = pl.DataFrame({"dept": ["医保", "医保"], "record_id": ["CB1", "CB2"]})
    key = ["record_id", "period"]
    got = warehouse.review_history(con, "2026-10", asked).sort(key)
    assert got.columns == ["dept", "record_id", "decision", "period"]
    assert got.select(key).rows() == [("CB1", "2026-08"), ("CB1", "2026-09"), ("CB1", "2026-10"),
                                      ("CB2", "2026-09"), ("CB2", "2026-10")]
    warehouse.replace_period(con, "2026-09", {"links": links(("医保", "med_enrollment", "CB1", "matched"))})
    got = warehouse.review_history(con, "2026-10", asked).sort(key)
    assert got.select(key).rows() == [("CB1", "2026-08"), ("CB1", "2026-10"), ("CB2", "2026-10")]


def test_review_history_reads_an_earlier_settlement_linked_again_into_review(tmp_path):
    """An August settlement that September's and October's runs linked again (their roster
    changed) and sent to review is stored with those runs (`relinked_review`), not in August's
    links (it was matched then): October's queue dates it from September, not from October."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    row = pl.DataFrame([("医保", "med_settlement", "JS1", "review")], schema=["dept", "kind", "record_id", "decision"],
                       orient="row")
    warehouse.replace_period(con, "2026-08", {"links": row.with_columns(decision=pl.lit("matched"))})
    for p in ("2026-09", "2026-10"):
        warehouse.replace_period(con, p, {"links": row.clear(), "relinked_review": row})
    got = warehouse.review_history(con, "2026-10", row.select("dept", "record_id"))
    assert got.select("record_id", "period").sort("period").rows() == [("JS1", "2026-09"), ("JS1", "2026-10")]


def test_the_queue_stored_with_its_period_tells_which_candidates_it_listed_up_to_a_period(tmp_path):
    """The review queue is made while the period is being stored (`flows.publish`): its rows are
    stored in that transaction, a re-run replaces them, and an answer's period reads the queues
    up to it, never a later one."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    def queue(*rows):
        return pl.DataFrame(list(rows), schema=["dept", "record_id", "person_id", "id_raw"], orient="row")
    asked = pl.DataFrame({"dept": ["医保", "医保"], "record_id": ["JS1", "JS2"]})
    assert warehouse.queue_listed(con, "2026-10", asked).is_empty()  # (none stored yet)
    with warehouse.replacing_period(con, "2026-09", {"links": pl.DataFrame({"record_id": ["JS1"]})}):
        warehouse.store_rows(con, "review_queue", "2026-09", queue(("医保", "JS1", "P1", "3413"), ("医保", "JS1", "P2", "3413")))
    warehouse.replace_period(con, "2026-10", {"links": pl.DataFrame({"record_id": ["JS2"]})})
    warehouse.store_rows(con, "review_queue", "2026-10", queue(("医保", "JS2", "P3", None), ("住建", "JS1", "P4", None)))
    warehouse.store_rows(con, "review_queue", "2026-10", queue(("医保", "JS2", "P5", None)))  # (a re-run's)
    warehouse.store_rows(con, "review_queue", "2026-11", queue(("医保", "JS1", "P6", "3413")))
    got = warehouse.queue_listed(con, "2026-10", asked).sort("person_id")
    assert got.rows() == [("医保", "JS1", "P1", "3413"), ("医保", "JS1", "P2", "3413"), ("医保", "JS2", "P5", None)]
    with pytest.raises(RuntimeError), warehouse.replacing_period(con, "2026-12", {}):  # (rolled back with its period)
        warehouse.store_rows(con, "review_queue", "2026-12", queue(("医保", "JS1", "P7", "3413")))
        raise RuntimeError
    assert warehouse.queue_listed(con, "2026-12", asked)["person_id"].sort().to_list() == ["P1", "P2", "P5", "P6"]
    # a queue's 0012345 is the record an answer spells 12345 (Excel), told as the answer spells it
    warehouse.store_rows(con, "review_queue", "2026-11", queue(("医保", "0012345", "P8", None)))
    got = warehouse.queue_listed(con, "2026-11", pl.DataFrame({"dept": ["医保"], "record_id": ["12345"]}))
    assert got.rows() == [("医保", "12345", "P8", None)]


def test_a_stored_record_is_found_under_the_spelling_excel_or_a_clerk_gave_it_another_month(tmp_path):
    """A warehouse stores each record as its run spelled it: August 0012345 and js1, September 12345
    and JS1 (Excel dropped the zeros; the clerk's case). The year's settlements hold each once,
    September's delivery winning (JS0012 stays another record); an answer's 12345 names the record
    stored (`records_seen`: as stored); the queue's 12345 was in review in August as 0012345."""
    con = warehouse.connect(tmp_path / "w.duckdb")

    def rows(ids, amounts):
        return pl.DataFrame({"record_id": ids, "out_of_pocket": amounts, "settle_date": [None] * len(ids)},
                            schema_overrides={"settle_date": pl.Date})
    review = [("医保", "med_settlement", "0012345", "review"), ("医保", "med_settlement", "js1", "matched")]
    warehouse.replace_period(con, "2026-08", {"settlements": rows(["0012345", "js1", "JS0012"], [1.0, 2.0, 3.0]),
                                              "links": pl.DataFrame(review, schema=["dept", "kind", "record_id", "decision"],
                                                                    orient="row")})
    warehouse.replace_period(con, "2026-09", {"settlements": rows(["12345", "JS1"], [10.0, 20.0])})
    n = warehouse.write_year_to_date_settlements(con, "2026-10", [2026], None, tmp_path / "ytd.parquet")
    assert n == 3
    assert pl.read_parquet(tmp_path / "ytd.parquet").select("record_id", "out_of_pocket", "period").sort("record_id").rows() == [
        ("12345", 10.0, "2026-09"), ("JS0012", 3.0, "2026-08"), ("JS1", 20.0, "2026-09")]
    asked = pl.DataFrame({"dept": ["医保", "医保", "医保"], "record_id": ["12345", "JS1", "JS12"]})
    assert sorted(warehouse.records_seen(con, "2026-10", asked).rows()) == [("医保", "0012345"), ("医保", "js1")]
    got = warehouse.review_history(con, "2026-10", asked)
    assert got.select("record_id", "period").rows() == [("12345", "2026-08")]


def test_the_warning_id_key_is_made_once_and_kept(tmp_path):
    """`warning_key`: made at random on first use, the same on every later connection; another
    warehouse (a fresh memory) has its own."""
    keys = []
    for path in (tmp_path / "a.duckdb", tmp_path / "a.duckdb", tmp_path / "b.duckdb"):
        con = warehouse.connect(path)
        try:
            keys.append(warehouse.warning_key(con))
        finally:
            con.close()
    assert keys[0] == keys[1] != keys[2] and len(keys[0]) == 64


def test_a_warehouse_a_run_stored_is_opened_without_its_checks(tmp_path):
    """Opening a warehouse whose tables are current asks one statement (`_CURRENT`), not the
    checks converting older ones: it binds on every table as a run stores it (a run opens the
    warehouse ~15 times, the checks cost ~15 ms each)."""
    from pipelines.year_to_date import relink_keys

    con = warehouse.connect(tmp_path / "w.duckdb")
    rows = pl.DataFrame({"record_id": ["S1"], "id_raw": ["341302196903317777"], "name": ["吴国建"],
                         "decision": ["unmatched"], "out_of_pocket": [1.0]})
    warehouse.replace_period(con, "2026-09", {"settlements": rows.hstack(relink_keys(rows)), "warning_status": SEP})
    con.execute(warehouse._CURRENT)
    con.close()


def test_a_held_warehouse_is_opened_once_and_let_go_at_the_end(tmp_path, monkeypatch):
    """While a run holds its warehouse (`held`), every opening of it by its steps (`connect`, and
    `reading` for what only reads) is a cursor of the one DuckDB, not the file opened again; once
    the run lets go, the file opens read-only as before (as the next command, or another process, opens it)."""
    path = tmp_path / "w.duckdb"
    warehouse.connect(path).close()
    opened = []
    real = duckdb.connect
    monkeypatch.setattr(duckdb, "connect", lambda *a, **k: opened.append(a) or real(*a, **k))
    with warehouse.held(path):
        for _ in range(3):
            con = warehouse.connect(tmp_path / "." / "w.duckdb")
            warehouse.mark_cascade(con, "2026-09")
            con.close()
        with warehouse.reading(path) as con:
            assert con.sql("SELECT count(*) FROM cascades_pending").fetchall() == [(3,)]
        assert warehouse.period_tables(path, "2026-09") == set()
    assert len(opened) == 1
    with duckdb.connect(str(path), read_only=True) as con:
        assert con.sql("SELECT count(*) FROM cascades_pending").fetchall() == [(3,)]


def test_records_linked_counts_a_files_record_numbers_the_months_runs_of_the_department_linked():
    """Asked only of a file dated in earlier months: how many of its record numbers (as
    `record_key` compares them: 0012 is 12, js1 JS1) those months' links hold for that department,
    each once; another month's or department's do not count, and a warehouse without links holds none."""
    con = duckdb.connect()
    keys = pl.Series(["12", "JS1", "JS7", "JS8"])
    assert warehouse.records_linked(con, "医保", ["2026-09"], keys) == 0
    con.execute("CREATE TABLE links (period VARCHAR, dept VARCHAR, record_id VARCHAR)")
    con.execute("INSERT INTO links VALUES ('2026-09', '医保', '0012'), ('2026-09', '医保', 'js1'), "
                "('2026-08', '医保', 'JS7'), ('2026-09', '民政', 'JS8'), ('2026-09', '医保', 'JS9'), ('2026-08', '医保', 'JS1')")
    assert warehouse.records_linked(con, "医保", ["2026-09"], keys) == 2
    assert warehouse.records_linked(con, "医保", ["2026-08"], keys) == 2
    assert warehouse.records_linked(con, "医保", ["2026-08", "2026-09"], keys) == 3  # (JS1 both months: once)
    assert warehouse.records_linked(con, "医保", ["2026-09"], pl.Series([], dtype=pl.String)) == 0
    assert warehouse.records_linked(con, "医保", [], keys) == 0

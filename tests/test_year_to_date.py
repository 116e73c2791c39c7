"""Which earlier settlements a run links again when the roster changed, and how their new links
enter the year-to-date sums (pipelines/year_to_date.py; the warehouse side in adapters/warehouse.py)."""

import datetime as dt

import polars as pl

from adapters import warehouse
from pipelines.year_to_date import merge, relink_keys, settle_years, to_relink, with_answers

D = dt.date

ROSTER = pl.DataFrame({
    "person_id": ["H2-01", "H3-01", "H4-01"],
    "household_id": ["H2", "H3", "H4"],
    "name": ["陈强鹏", "吴国建", "郭建金"],
    "id_number": ["341302198001011234", "341302196903317777", "342223195208089218"],
})


def settlements(rows):
    """Stored settlements: (record_id, period, id_raw, decision, person_id)."""
    return pl.DataFrame(
        [dict(dept="医保", kind="med_settlement", record_id=r, period=p, name=None, id_raw=i, out_of_pocket=1000.0,
              settle_date=D(2026, 10, 5), decision=d, person_id=pid, household_id=pid and pid.split("-")[0], score=0.99)
         for r, p, i, d, pid in rows],
        schema_overrides={"name": pl.Utf8, "person_id": pl.Utf8, "household_id": pl.Utf8, "id_raw": pl.Utf8})


def stored(earlier):
    """`earlier` as the warehouse gives it: with the keys stored with each settlement."""
    return earlier.hstack(relink_keys(earlier))


def test_a_settlements_keys_are_what_its_id_shows_whole_and_its_names_first_sound():
    df = pl.DataFrame({"id_raw": ["341302********1234", "341302196903317777", "３４１３０２19690331＊＊＊＊", "3.41302E+17", None],
                       "name": ["吳國建", " *国建", "武国建", None, "李*"]})
    assert relink_keys(df).rows() == [("L1234", None, "wu"), ("L7777", "B19690331", None),
                                      (None, "B19690331", "wu"), (None, None, None), (None, None, "li")]
    # a settlement stored without a name or an ID: keys of neither
    assert relink_keys(df.drop("name"))["first_py"].null_count() == 5
    assert relink_keys(df.drop("id_raw")).select("key_last4", "key_birth").null_count().row(0) == (5, 5)
    # a linked settlement is never chosen for its keys (`to_relink`): none worked out for it
    linked = df.with_columns(decision=pl.Series(["matched", "unmatched", "review", "unmatched", "matched"]))
    assert relink_keys(linked).rows() == [(None, None, None), ("L7777", "B19690331", None),
                                          (None, "B19690331", "wu"), (None, None, None), (None, None, None)]


EARLIER = settlements([
    ("S_SPLIT", "2026-10", "341302********1234", "matched", "H1-01"),  # his 人编号 is gone: split to H2-01
    ("S_KEPT", "2026-10", "341302********5555", "matched", "H9-01"),  # H9-01 unchanged: keeps its link
    ("S_FIXED", "2026-10", "341302196903317777", "unmatched", None),  # shows 吴国建's corrected ID
    ("S_NEW", "2026-10", "3422**********9218", "unmatched", None),  # 郭建金, added to the roster in 2026-11
    ("S_OTHER", "2026-10", "341302********4321", "unmatched", None),  # nobody new fits
    ("S_NOID", "2026-10", "3.41302E+17", "unmatched", None),  # its ID shows neither: linked by name
])


def test_only_settlements_the_roster_change_concerns_are_linked_again():
    changed = pl.DataFrame({"since": ["2026-10"] * 4, "person_id": ["H1-01", "H2-01", "H3-01", "H4-01"]})
    roster = pl.concat([ROSTER, pl.DataFrame({"person_id": ["H9-01"], "household_id": ["H9"], "name": ["某某"],
                                              "id_number": ["341302199901015555"]})])
    again = to_relink(stored(EARLIER), changed, roster)
    assert sorted(again["record_id"]) == ["S_FIXED", "S_NEW", "S_NOID", "S_SPLIT"]
    # a change since another period does not concern a record of 2026-10
    assert to_relink(stored(EARLIER).filter(pl.col("record_id") == "S_NEW"), changed.with_columns(since=pl.lit("2026-09")),
                     ROSTER).is_empty()


def test_a_record_showing_a_changed_persons_last_4_is_linked_again_only_under_a_name_that_may_be_theirs():
    """The last 4 or the birth date of a person new or changed since is shared by hundreds of a
    city's records a month: a record not linked then is linked again when its name's first
    character reads as the person's (a traditional form or a homophone too) or is hidden, not
    under another surname."""
    changed = pl.DataFrame({"since": ["2026-10"], "person_id": ["H3-01"]})  # 吴国建, his ID corrected
    rows = [("S_SAME", "吴国建"), ("S_TRAD", "吳國建"), ("S_HOMOPHONE", "武国建"), ("S_HIDDEN", "*国建"),
            ("S_NONAME", None), ("S_OTHER", "胡国建"), ("S_OTHER2", "李*")]
    earlier = settlements([(r, "2026-10", "341302********7777", "unmatched", None) for r, _ in rows]).with_columns(
        name=pl.Series([n for _, n in rows], dtype=pl.Utf8))
    earlier = stored(earlier)
    again = to_relink(earlier, changed, ROSTER)
    assert sorted(again["record_id"]) == ["S_HIDDEN", "S_HOMOPHONE", "S_NONAME", "S_SAME", "S_TRAD"]
    # a person on the roster without a name to read: the key alone, as for a record without one
    nameless = ROSTER.with_columns(name=pl.when(pl.col("person_id") == "H3-01").then(None).otherwise("name"))
    assert to_relink(earlier, changed, nameless).height == len(rows)


def test_relinked_settlements_take_their_new_link_once_each():
    current = settlements([("S_NOW", "2026-11", None, "matched", "H2-01")]).drop("period")
    relinked = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_settlement"] * 2, "record_id": ["S_SPLIT", "S_NEW"],
                             "decision": ["matched", "matched"], "person_id": ["H2-01", "H4-01"],
                             "household_id": ["H2", "H4"], "score": [0.999, 0.995], "reason": ["r", "r"],
                             "n_candidates": [1, 1]})
    # S_NOW delivered again this period: the earlier delivery is not counted beside it
    earlier = pl.concat([EARLIER, settlements([("S_NOW", "2026-10", None, "matched", "H2-01")])])
    ytd = merge(current, earlier, relinked, pl.Series(["H2-01", "H4-01", "H1-01"]))
    assert ytd["record_id"].is_unique().all() and ytd.height == 7
    by = {r["record_id"]: r for r in ytd.iter_rows(named=True)}
    assert (by["S_SPLIT"]["person_id"], by["S_SPLIT"]["household_id"], by["S_SPLIT"]["relinked_now"]) == ("H2-01", "H2", True)
    assert (by["S_NEW"]["decision"], by["S_NEW"]["person_id"], by["S_NEW"]["relinked_now"]) == ("matched", "H4-01", True)
    assert (by["S_KEPT"]["person_id"], by["S_KEPT"]["relinked_now"]) == ("H9-01", False)
    assert by["S_FIXED"]["decision"] == "unmatched"
    # next month the same re-link is no longer news: the roster changed the month before
    later = merge(current, earlier, relinked, pl.Series([], dtype=pl.Utf8))
    assert not later["relinked_now"].any() and later.filter(pl.col("record_id") == "S_SPLIT")["person_id"][0] == "H2-01"


def test_settle_years_add_last_year_for_a_late_delivery():
    jan = pl.DataFrame({"settle_date": [D(2026, 12, 28), D(2027, 1, 3), None]})
    assert settle_years(jan, "2027-01") == [2026, 2027]
    assert settle_years(jan.tail(1), "2027-01") == [2027]


def test_the_warehouse_tells_whose_roster_row_changed_and_which_year_a_settlement_counts_in(tmp_path):
    con = warehouse.connect(tmp_path / "w.duckdb")
    october = ROSTER.with_columns(person_id=pl.Series(["H1-01", "H3-01", "H5-01"]),
                                  id_number=pl.Series(["341302198001011234", "341302196903311777", "341302197001015555"]))
    november = pl.concat([ROSTER, october.filter(pl.col("person_id") == "H5-01")])
    warehouse.replace_period(con, "2026-10", {"roster_persons": warehouse.roster_digests(october)})
    changed = warehouse.roster_changes(con, november, ["2026-10", "2026-09"])
    since_oct = set(changed.filter(pl.col("since") == "2026-10")["person_id"])
    assert since_oct == {"H1-01", "H2-01", "H3-01", "H4-01"}  # gone, new (split), ID corrected, new household
    assert set(changed.filter(pl.col("since") == "2026-09")["person_id"]) == set(november["person_id"])  # not stored
    # a December settlement delivered in January counts in 2026, not in 2027
    s = settlements([("S_DEC", "2026-12", None, "matched", "H2-01"), ("S_LATE", "2027-01", None, "matched", "H2-01"),
                     ("S_JAN", "2027-01", None, "matched", "H2-01")])
    s = s.with_columns(settle_date=pl.Series([D(2026, 12, 2), D(2026, 12, 30), D(2027, 1, 4)]))
    for p, part in s.partition_by("period", as_dict=True).items():
        warehouse.replace_period(con, p[0], {"settlements": part.drop("period")})
    def ids(years):
        warehouse.write_year_to_date_settlements(con, "2027-02", years, ["record_id"], tmp_path / "ytd.parquet")
        return sorted(pl.read_parquet(tmp_path / "ytd.parquet")["record_id"])
    assert ids([2027]) == ["S_JAN"]
    assert ids([2026, 2027]) == ["S_DEC", "S_JAN", "S_LATE"]
    con.close()


def test_the_warehouse_recognises_a_person_split_off_under_a_new_number_by_the_stored_digest(tmp_path):
    """September's roster had 陈强鹏 as H1-01 and 吴国建 as H3-01; in October 陈强鹏 is split off as
    H2-01 (same 证件号码 and 姓名), 吴国建 kept his 人编号, and a namesake of 陈强鹏 with another ID
    number is new too (H5-01). The persons earlier warnings named are found on October's roster
    from the digests stored for the last period they were on it (no ID number is stored), also
    for a warning of August, whose roster was not stored; not one whose name was corrected that
    month, nor one no stored roster holds. A later period stored (November, before October is
    run again) is not looked at."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    september = pl.DataFrame({"person_id": ["H1-01", "H3-01", "H6-01"], "name": ["陈强鹏", "吴国建", "郭建"],
                              "id_number": ["341302198001011234", "341302196903317777", "342223195208089218"]})
    warehouse.replace_period(con, "2026-09", {"roster_persons": warehouse.roster_digests(september)})
    warehouse.replace_period(con, "2026-11", {"roster_persons": warehouse.roster_digests(
        september.with_columns(name=pl.lit("某某")))})
    assert "341302198001011234" not in str(con.sql("SELECT * FROM roster_persons").fetchall())
    october = pl.concat([ROSTER, pl.DataFrame({"person_id": ["H5-01"], "household_id": ["H5"], "name": ["陈强鹏"],
                                               "id_number": ["341302198002021238"]})])
    asked = pl.DataFrame({"period": ["2026-09", "2026-09", "2026-09", "2026-08", "2026-08"],
                          "person_id": ["H1-01", "H3-01", "H6-01", "H1-01", "H7-01"]})
    got, skipped = warehouse.persons_now(con, "2026-10", october, asked, max_pairs=100)
    # H6-01 (郭建) is H4-01 郭建金 now: the same ID number under a corrected name is not recognised
    assert got.rows() == [("2026-08", "H1-01", "H2-01"), ("2026-09", "H1-01", "H2-01"), ("2026-09", "H3-01", "H3-01")]
    assert skipped is None
    # more pairs to try (2 gone persons x the October persons not on September's roster) than
    # allowed: no one is tried, and the count says so; those under their own 人编号 are still known
    n_new = october.filter(~pl.col("person_id").is_in(september["person_id"].implode())).height
    got, skipped = warehouse.persons_now(con, "2026-10", october, asked, max_pairs=2 * n_new - 1)
    assert got.rows() == [("2026-09", "H3-01", "H3-01")] and skipped == 2 * n_new
    con.close()


def test_the_year_is_read_as_rows_only_where_a_warning_may_cite_them():
    """`rows_to_sum` reads the earlier settlements whose link stands only for the linked persons
    and the leads a settlement of this period belongs to whose year's sum may reach M3's threshold
    (leads keyed over all the year's ID texts and names, those left out too): M1-M3 over them
    are those over the whole year."""
    from config import load_config
    from pipelines.rules import lead_floor, run_rules
    from pipelines.year_to_date import rows_to_sum

    cfg = load_config()
    roster = ROSTER.with_columns(township=pl.lit("大店镇"), village=pl.lit("韩湖村"), group=pl.lit("1组"),
                                 relation=pl.lit("户主"), household_size=pl.lit(1), income_per_capita=pl.lit(20000.0),
                                 household_type=pl.lit("脱贫户"), phone=pl.lit("13800000001"))
    t = "341323********5108"
    rows = [  # record_id, period, name, id_raw, out_of_pocket, decision, person_id
        ("N1", "2026-10", "张*敏", t, 9000.0, "unmatched", None),  # this period's
        ("E1", "2026-03", "张妹敏", t, 12000.0, "unmatched", None),  # the one whole name under t: the same lead
        ("N2", "2026-10", "李*", "341302********4321", 5000.0, "unmatched", None),
        ("E2", "2026-04", "李*", "341302********4321", 3000.0, "unmatched", None),  # 8,000 in all: below 20,000
        ("E3", "2026-05", "王*", "341302********9999", 30000.0, "unmatched", None),  # nothing new this period
        ("N3", "2026-10", "赵*", "341302********7777", 15000.0, "unmatched", None),
        ("E4", "2026-02", "赵红", "341302********7777", 9000.0, "unmatched", None),  # a whole name under 赵*'s ID text…
        ("E5", "2026-02", "赵兰", "341302********7777", 1.0, "unmatched", None),  # …and a second one: 赵* stays apart
        ("E6", "2026-06", "陈强鹏", None, 4000.0, "matched", "H2-01"),  # linked: M1 reads every one
        ("N4", "2026-10", "陈强鹏", None, 1500.0, "matched", "H2-01"),
        ("E7", "2026-06", "吴*", "341302********1111", 50000.0, "review", None),  # waiting: no sum reads it
        ("N5", "2026-10", "孙*", "341302********2222", 25000.0, "unmatched", None),  # over alone, but a refund…
        ("E8", "2026-07", "孙*", "341302********2222", -10000.0, "unmatched", None),  # …takes the year below
    ]
    year = pl.DataFrame(
        [dict(dept="医保", kind="med_settlement", record_id=r, period=p, name=n, id_raw=i, township=None, village=None,
              settle_date=D(int(p[:4]), int(p[5:]), 3), out_of_pocket=a, decision=d, person_id=pid,
              household_id=pid and pid.split("-")[0], score=0.9) for r, p, n, i, a, d, pid in rows],
        schema_overrides={"name": pl.Utf8, "person_id": pl.Utf8, "household_id": pl.Utf8, "id_raw": pl.Utf8,
                          "township": pl.Utf8, "village": pl.Utf8})
    now = pl.col("period") == "2026-10"
    current = year.filter(now).drop("period").with_columns(relinked_now=pl.lit(False))
    carried = rows_to_sum(current, year.filter(~now).lazy(), lead_floor(cfg), 2026)
    assert sorted(carried["record_id"]) == ["E1", "E6", "E8", "N1", "N2", "N3", "N4", "N5"]
    keys = dict(zip(carried["record_id"], carried["lead_key"]))
    assert keys["N1"] == keys["E1"] == f"{t}|张妹敏" and keys["N3"] == "341302********7777|赵*" and keys["N4"] is None

    def signals(ytd):
        extracts = {"med_settlement": current.drop("decision", "person_id", "household_id", "score", "relinked_now")}
        links = current.select("dept", "kind", "record_id", "decision", "person_id", "household_id")
        return run_rules(extracts, links, roster, cfg, "2026-10", ytd_settlements=ytd)

    every = signals(pl.concat([current, year.filter(~now).drop("period").with_columns(relinked_now=pl.lit(False))]))
    assert sorted(every["rule"]) == ["M1", "M3"] and signals(carried).equals(every)


def test_the_leads_year_sums_out_of_core_are_those_summed_in_polars(tmp_path):
    """`lead_sums` (DuckDB, within a memory limit) sums the year's off-roster settlements not left
    out by ID text, name and year as `rows_to_sum` sums them itself: a missing 结算日期 takes the
    year given, a missing ID or name is a value of its own, an amount missing counts 0, and the
    rows kept by the sums are the same."""
    from config import load_config
    from pipelines.rules import lead_floor
    from pipelines.year_to_date import lead_sums, rows_to_sum

    rows = [  # record_id, period, name, id_raw, settle_date, out_of_pocket, decision
        ("E1", "2026-03", "张*敏", "341323********5108", D(2026, 3, 2), 12000.0, "unmatched"),
        ("E2", "2026-04", "张*敏", "341323********5108", D(2026, 4, 2), 9000.0, None),  # (no decision: a lead's)
        ("E3", "2026-04", "张*敏", "341323********5108", None, 500.0, "unmatched"),  # no date: the year given
        ("E4", "2026-05", "张*敏", "341323********5108", D(2025, 12, 30), 700.0, "unmatched"),  # last year's
        ("E5", "2026-05", None, "341302********4321", D(2026, 5, 1), 300.0, "unmatched"),
        ("E6", "2026-05", None, "341302********4321", D(2026, 5, 9), None, "unmatched"),  # no amount
        ("E7", "2026-06", "李*", None, D(2026, 6, 1), -40.0, "unmatched"),  # a refund
        ("E8", "2026-06", "李*", None, D(2026, 6, 1), None, "unmatched"),
        ("E9", "2026-06", "王*", "341302********9999", D(2026, 6, 1), 8000.0, "review"),  # not a lead's
        ("E10", "2026-06", "王*", "341302********9999", D(2026, 6, 1), 8000.0, "matched"),
        ("E11", "2026-07", "王*", "341302********9999", D(2026, 7, 1), 25000.0, "unmatched"),  # left out
        ("E12", "2026-07", "赵*", "341302********7777", D(2026, 7, 1), 25000.0, "unmatched"),
    ]
    year = pl.DataFrame(
        [dict(dept="医保", kind="med_settlement", record_id=r, period=p, name=n, id_raw=i, township=None, village=None,
              settle_date=d, out_of_pocket=a, decision=c, person_id=None, household_id=None, score=0.1)
         for r, p, n, i, d, a, c in rows],
        schema_overrides={"name": pl.Utf8, "id_raw": pl.Utf8, "township": pl.Utf8, "village": pl.Utf8,
                          "settle_date": pl.Date, "out_of_pocket": pl.Float64, "decision": pl.Utf8,
                          "person_id": pl.Utf8, "household_id": pl.Utf8})
    year.write_parquet(tmp_path / "year.parquet")
    left_out = pl.Series("record_id", ["E11", "N1"])
    got = lead_sums(tmp_path / "year.parquet", left_out, 2026, "64MB", tmp_path / "spill")
    order = ["id_raw", "name", "_year"]
    assert got.sort(order, nulls_last=True).rows() == [
        ("341302********4321", None, 2026, 300.0),
        ("341302********7777", "赵*", 2026, 25000.0),
        ("341323********5108", "张*敏", 2025, 700.0),
        ("341323********5108", "张*敏", 2026, 21500.0),
        (None, "李*", 2026, -40.0),
    ]
    current = year.filter(pl.col("record_id") == "E12").with_columns(record_id=pl.lit("N1"), period=pl.lit("2026-10")).drop(
        "period").with_columns(relinked_now=pl.lit(False))
    stands = year.lazy().filter(~pl.col("record_id").is_in(left_out.implode()))
    floor = lead_floor(load_config())
    assert rows_to_sum(current, stands, floor, 2026, got).equals(rows_to_sum(current, stands, floor, 2026))


def _old_id_settlements():
    """A month's 医保 settlements: three persons under 18-character masks (linked) and one old
    15-digit ID masked, not linked. Most of the department's masks are 18 long: the link reads
    the 15-character one as an old ID (no last 4 of a new ID kept)."""
    return pl.DataFrame({
        "dept": ["医保"] * 4, "kind": ["med_settlement"] * 4, "record_id": ["S1", "S2", "S3", "S4"],
        "name": ["张三", "李四", "王五", "赵六"],
        "id_raw": ["341302********1111", "341302********2222", "341302********3333", "341302*****1273"],
        "township": [None] * 4, "village": [None] * 4,
        "decision": ["matched", "matched", "matched", "unmatched"],
    })


def test_relink_keys_read_a_masked_old_id_as_the_link_read_it():
    """`relink_keys` normalises only the settlements not linked, without dept/kind and without
    `fixed=`: among those the 15-character masks are the majority, so it reads `341302*****1273`
    as a new ID padded (last 4 = 1273), while the link (the whole group) read it as an old ID.
    The stored key_last4 `L1273` is then a key the record never showed: `to_relink` no longer
    takes it as unkeyed (linked again every month by name) but only when a new person's last 4
    is 1273 (an old-ID holder's new last 4 is sequence + check, never those)."""
    from config import MatchingConfig
    from matchers.link import _prepare_records

    s = _old_id_settlements()
    link_read = _prepare_records(s, MatchingConfig())
    assert link_read["kept"][3] == "111111000000011110"  # the link: an old ID, last 4 of a new ID not kept
    keys = relink_keys(s)
    assert keys["key_last4"][3] is None


def test_relink_keys_old_id_not_linked_again_when_its_person_joins_the_roster():
    """The consequence: the old-ID holder (old ID 341302620111273 -> 341302196201112734, the
    one whose masked old ID shows ...1273) joins the roster; the record, unkeyed as the link read it, is
    linked again; with the wrong stored key it is not."""
    s = _old_id_settlements().with_columns(period=pl.lit("2026-10"), person_id=pl.lit(None, pl.Utf8))
    earlier = s.hstack(relink_keys(s))
    roster = pl.DataFrame({"person_id": ["P9"], "household_id": ["H9"], "name": ["赵六"],
                           # old ID 341302620111273 -> 18 characters: 341302 19 620111 273 + check
                           "id_number": ["341302196201112734"]})
    changed = pl.DataFrame({"since": ["2026-10"], "person_id": ["P9"], "household_id": ["H9"]})
    again = to_relink(earlier, changed, roster)
    assert "S4" in again["record_id"].to_list()


def _lead_year(*rows):
    """A lead's (张*敏) settlements, (record_id, period, 结算日期, 个人自付), and the roster and rules
    to read them -> (this period's, the earlier ones', signals(ytd): the rules over `ytd`)."""
    from config import load_config
    from pipelines.rules import run_rules

    cfg = load_config()
    roster = ROSTER.with_columns(township=pl.lit("大店镇"), village=pl.lit("韩湖村"), group=pl.lit("1组"),
                                 relation=pl.lit("户主"), household_size=pl.lit(1), income_per_capita=pl.lit(20000.0),
                                 household_type=pl.lit("脱贫户"), phone=pl.lit("13800000001"))
    year = pl.DataFrame(
        [dict(dept="医保", kind="med_settlement", record_id=r, period=p, name="张*敏", id_raw="341323********5108",
              township=None, village=None, settle_date=d, out_of_pocket=a, decision="unmatched", person_id=None,
              household_id=None, score=0.1) for r, p, d, a in rows],
        schema_overrides={"person_id": pl.Utf8, "household_id": pl.Utf8, "township": pl.Utf8, "village": pl.Utf8,
                          "settle_date": pl.Date})
    now = pl.col("period") == "2026-10"
    current = year.filter(now).drop("period").with_columns(relinked_now=pl.lit(False))
    earlier = year.filter(~now)

    def signals(ytd):
        extracts = {"med_settlement": current.drop("decision", "person_id", "household_id", "score", "relinked_now")}
        links = current.select("dept", "kind", "record_id", "decision", "person_id", "household_id")
        return run_rules(extracts, links, roster, cfg, "2026-10", ytd_settlements=ytd)

    return current, earlier, signals, cfg


def test_a_lead_s_year_reaching_the_threshold_to_the_fen_is_read_whatever_order_it_is_added_in():
    """0.10 this period, 0.10 and 19,999.80 earlier: 20,000.00 as M3 adds them up (this period's
    first), 19,999.999… as the earlier ones are summed first. `rows_to_sum` must still read the
    earlier rows (it compares a yuan short of the threshold), or M3 over them misses the lead."""
    from pipelines.rules import lead_floor
    from pipelines.year_to_date import rows_to_sum

    current, earlier, signals, cfg = _lead_year(("N1", "2026-10", D(2026, 10, 3), 0.1),
                                                ("E1", "2026-03", D(2026, 3, 3), 0.1),
                                                ("E2", "2026-04", D(2026, 4, 3), 19999.8))
    every = signals(pl.concat([current, earlier.drop("period").with_columns(relinked_now=pl.lit(False))]))
    assert every.select("rule", "signal").rows() == [("M3", 20000.0)]
    carried = rows_to_sum(current, earlier.lazy(), lead_floor(cfg), 2026)
    assert sorted(carried["record_id"]) == ["E1", "E2", "N1"] and signals(carried).equals(every)


def test_an_earlier_lead_settlement_without_a_settle_date_counts_in_the_year_given():
    """An earlier settlement of the lead without 结算日期 (11,000) counts in the year `rows_to_sum`
    is given (2026, as M3 counts it in the period's year): with this period's 9,000 the lead
    reaches 20,000, so it is read and M3 fires."""
    from pipelines.rules import lead_floor
    from pipelines.year_to_date import rows_to_sum

    current, earlier, signals, cfg = _lead_year(("N1", "2026-10", D(2026, 10, 3), 9000.0),
                                                ("E1", "2026-03", None, 11000.0))
    carried = rows_to_sum(current, earlier.lazy(), lead_floor(cfg), 2026)
    assert sorted(carried["record_id"]) == ["E1", "N1"]
    assert signals(carried).select("rule", "signal").rows() == [("M3", 20000.0)]


# --- mutation-testing gaps (mut6) -------------------------------------------------------------


def test_a_birth_date_short_of_one_digit_is_no_birth_key():
    """`relink_keys`: the birth date is a key only when all 8 digits show (one hidden: none)."""
    df = pl.DataFrame({"id_raw": ["3413021969033*7777", "34130219690331****"], "name": [None, None]},
                      schema={"id_raw": pl.Utf8, "name": pl.Utf8})
    assert relink_keys(df).select("key_last4", "key_birth").rows() == [("L7777", None), (None, "B19690331")]


def test_a_settlement_linked_to_a_person_whose_row_changed_since_or_showing_only_a_new_birth_date_is_linked_again():
    """`to_relink`: a settlement linked (matched) to 吴国建 (H3-01, still on the roster) whose row
    changed since its period is linked again, as is one not linked showing whole only the birth
    date of 郭建金 (H4-01, new since); a change since another period concerns neither."""
    earlier = stored(settlements([("S_LINKED", "2026-10", "341302********7777", "matched", "H3-01"),
                                  ("S_BIRTH", "2026-10", "34222319520808****", "unmatched", None)]))
    changed = pl.DataFrame({"since": ["2026-10", "2026-10"], "person_id": ["H3-01", "H4-01"]})
    assert sorted(to_relink(earlier, changed, ROSTER)["record_id"]) == ["S_BIRTH", "S_LINKED"]
    assert to_relink(earlier, changed.with_columns(since=pl.lit("2026-09")), ROSTER).is_empty()


def test_a_settlement_whose_person_is_gone_and_that_is_linked_to_nobody_now_is_this_period_s_news():
    """`merge`: a settlement stored as 陈强鹏's under his old 人编号 H1-01, gone from the roster this
    period, linked again to nobody (unmatched): the new link differs and concerns a person whose
    row is gone (`changed_now`), so the rules weigh it as this period's."""
    current = settlements([("S_NOW", "2026-11", None, "matched", "H2-01")]).drop("period")
    earlier = settlements([("S_OLD", "2026-10", "341302********1234", "matched", "H1-01")])
    relinked = pl.DataFrame({"dept": ["医保"], "kind": ["med_settlement"], "record_id": ["S_OLD"], "decision": ["unmatched"],
                             "person_id": [None], "household_id": [None], "score": [0.3], "reason": ["r"],
                             "n_candidates": [0]}, schema_overrides={"person_id": pl.Utf8, "household_id": pl.Utf8})
    ytd = merge(current, earlier, relinked, pl.Series(["H1-01"]))
    old = ytd.filter(pl.col("record_id") == "S_OLD")
    assert old.select("decision", "person_id", "relinked_now").rows() == [("unmatched", None, True)]


def test_without_a_lead_rule_the_year_is_this_period_s_rows_and_every_linked_earlier_one():
    """`rows_to_sum` with no lead threshold (no M3): this period's rows and the earlier linked
    ones (M1, M2), no lead's."""
    from pipelines.year_to_date import rows_to_sum

    year = settlements([("N1", "2026-10", None, "matched", "H2-01"), ("E1", "2026-06", None, "matched", "H2-01"),
                        ("E2", "2026-06", "341302********4321", "unmatched", None)])
    now = pl.col("period") == "2026-10"
    current = year.filter(now).drop("period").with_columns(relinked_now=pl.lit(False))
    got = rows_to_sum(current, year.filter(~now).lazy(), None, 2026)
    assert got["record_id"].to_list() == ["N1", "E1"]


def test_a_lead_s_earlier_settlement_without_a_name_is_read_with_its_year():
    """`rows_to_sum`: a lead shown by ID text alone (no name) this period and earlier: its earlier
    row (a missing name is a value of its own, as the sums read it) is read when the year may
    reach the threshold."""
    from config import load_config
    from pipelines.rules import lead_floor
    from pipelines.year_to_date import rows_to_sum

    year = settlements([("N1", "2026-10", "341302********4321", "unmatched", None),
                        ("E1", "2026-04", "341302********4321", "unmatched", None)]).with_columns(
        out_of_pocket=pl.Series([15000.0, 6000.0]))
    now = pl.col("period") == "2026-10"
    current = year.filter(now).drop("period").with_columns(relinked_now=pl.lit(False))
    got = rows_to_sum(current, year.filter(~now).lazy(), lead_floor(load_config()), 2026)
    assert sorted(got["record_id"]) == ["E1", "N1"]


def test_the_year_s_rows_are_this_period_s_first_then_the_earlier_ones_in_the_order_read():
    from pipelines.year_to_date import _in_order

    ytd = pl.DataFrame({"record_id": ["E2", "N1", "E1", "N2"], "_at": [2, None, 1, None]})
    assert _in_order(ytd)["record_id"].to_list() == ["N1", "N2", "E1", "E2"]


def test_a_lead_whose_every_amount_is_missing_sums_to_nothing_not_to_null(tmp_path):
    from pipelines.year_to_date import lead_sums

    year = settlements([("E1", "2026-04", "341302********4321", "unmatched", None)]).with_columns(
        out_of_pocket=pl.lit(None, pl.Float64))
    year.write_parquet(tmp_path / "year.parquet")
    got = lead_sums(tmp_path / "year.parquet", pl.Series([], dtype=pl.Utf8), 2026, "64MB", tmp_path / "spill")
    assert got.select("_year", "_sum").rows() == [(2026, 0.0)]


def test_the_answers_received_since_relink_earlier_months_settlements_unless_their_id_contradicts():
    """September's settlements waiting for review, answered in October: the 是 for 陈强鹏 links his
    (counted as October's: its warning is raised now); the 是 for 郭建金 on a settlement whose whole
    ID is someone else's is not taken, the row stays as it was."""
    from pipelines.review_answers import answers_in_effect

    ytd = settlements([("S1", "2026-09", "341302********1234", "review", None),
                       ("S2", "2026-09", "341302197001015678", "review", None)])
    answers = pl.DataFrame({"dept": ["复核"] * 2, "kind": ["review_answer"] * 2, "file": ["复核/q.csv"] * 2, "line": [2, 3],
                            "record_dept": ["医保"] * 2, "record_id": ["S1", "S2"], "rec_name": [None, None],
                            "person_id": ["H2-01", "H4-01"], "verdict": ["是", "是"], "reviewer": [None, None],
                            "note": [None, None], "period": ["2026-10"] * 2}, schema_overrides={"rec_name": pl.Utf8,
                                                                                               "reviewer": pl.Utf8, "note": pl.Utf8})
    got = with_answers(ytd, answers_in_effect(answers), ROSTER, "2026-10")
    assert got.select("record_id", "decision", "person_id", "answered_now").rows() == [
        ("S1", "matched", "H2-01", True), ("S2", "review", None, False)]


def test_an_earlier_months_settlement_answered_for_a_candidate_its_queue_listed_is_linked_though_the_ids_disagree():
    """September's settlement in review, answered 是 in October for a candidate September's queue
    listed beside it, whose ID differs from the record's at the 3 sequence digits it shows: the
    run takes the answer (`take_answers`, and says so), so the year's sums link it as answered
    too; the same 是 for a person no queue listed for it stays out of them."""
    from pipelines.review_answers import answers_in_effect

    ytd = settlements([("S3", "2026-09", "341302********5678", "review", None)])
    answers = pl.DataFrame({"dept": ["复核"], "kind": ["review_answer"], "file": ["复核/q.csv"], "line": [2],
                            "record_dept": ["医保"], "record_id": ["S3"], "rec_name": [None], "person_id": ["H2-01"],
                            "verdict": ["是"], "reviewer": [None], "note": [None], "period": ["2026-10"]},
                           schema_overrides={"rec_name": pl.Utf8, "reviewer": pl.Utf8, "note": pl.Utf8})
    listed = pl.DataFrame({"record_dept": ["医保"], "record_id": ["S3"], "person_id": ["H2-01"],
                           "id_raw": ["341302********5678"]})
    got = with_answers(ytd, answers_in_effect(answers), ROSTER, "2026-10", listed=listed)
    assert got.select("record_id", "decision", "person_id", "answered_now").rows() == [("S3", "matched", "H2-01", True)]
    elsewhere = listed.with_columns(person_id=pl.lit("H3-01"))
    got = with_answers(ytd, answers_in_effect(answers), ROSTER, "2026-10", listed=elsewhere)
    assert got.select("record_id", "decision", "person_id").rows() == [("S3", "review", None)]


def test_a_roster_re_saved_in_excel_is_the_same_persons_to_the_warehouse(tmp_path):
    """September's roster numbered its persons 0000201 and h0301 (all digits with leading zeros,
    a letter typed in lower case); October's is the same roster re-saved in Excel and retyped
    (201, H0301): no one is new, changed or gone since September, and the persons September's
    warnings named are themselves, as October spells them. A person whose ID changed is still."""
    con = warehouse.connect(tmp_path / "w.duckdb")
    september = ROSTER.with_columns(person_id=pl.Series(["0000201", "h0301", "0000401"]))
    october = ROSTER.with_columns(person_id=pl.Series(["201", "H0301", "401"]),
                                  id_number=pl.Series(["341302198001011234", "341302196903317777", "342223195208089226"]))
    warehouse.replace_period(con, "2026-09", {"roster_persons": warehouse.roster_digests(september)})
    changed = warehouse.roster_changes(con, october, ["2026-09"])
    assert changed.rows() == [("2026-09", "401")]  # (its ID corrected; 0000401 is not gone)
    # (a run passes the digests it stores: worked out once, the same answer)
    assert warehouse.roster_changes(con, october, ["2026-09"], warehouse.roster_digests(october)).equals(changed)
    asked = pl.DataFrame({"period": ["2026-09"] * 2, "person_id": ["0000201", "h0301"]})
    got, _ = warehouse.persons_now(con, "2026-10", october, asked, max_pairs=100)
    assert sorted(got.rows()) == [("2026-09", "0000201", "201"), ("2026-09", "h0301", "H0301")]
    # spelled as stored: as before
    assert warehouse.roster_changes(con, september, ["2026-09"]).is_empty()
    # 吴国建 split off under a new number (0000601): the only person new since September to try him on
    moved = october.with_columns(person_id=pl.Series(["201", "601", "401"]))
    got, skipped = warehouse.persons_now(con, "2026-10", moved, pl.DataFrame({"period": ["2026-09"], "person_id": ["h0301"]}),
                                         max_pairs=1)
    assert (got.rows(), skipped) == ([("2026-09", "h0301", "601")], None)
    con.close()


def test_the_earlier_settlements_linked_again_are_linked_with_the_period_s_records_and_parted_after():
    """The earlier settlements a run links again weigh against the period's records as one
    period's (`with_relink`: without the period that delivered them); their new links are parted
    from the period's after (`split_relinked`): the period's links account for its own rows once,
    the earlier ones go to `merge`. Only settlements are parted: a record of another kind under
    the same number is the period's."""
    from pipelines.year_to_date import split_relinked, with_relink

    records = pl.DataFrame({"dept": ["医保", "民政"], "kind": ["med_settlement", "civil"], "record_id": ["S9", "E1"]})
    relink = pl.DataFrame({"dept": ["医保"], "kind": ["med_settlement"], "record_id": ["E1"], "period": ["2026-08"]})
    linking = with_relink(records, relink)
    assert linking.columns == records.columns and linking["record_id"].to_list() == ["S9", "E1", "E1"]
    assert with_relink(records, None).equals(records)
    links = linking.with_columns(decision=pl.Series(["matched", "unmatched", "review"]))
    own, again = split_relinked(links, relink)
    assert own.select("kind", "record_id", "decision").rows() == [("med_settlement", "S9", "matched"),
                                                                  ("civil", "E1", "unmatched")]
    assert again.select("kind", "record_id", "decision").rows() == [("med_settlement", "E1", "review")]
    assert split_relinked(links, None) == (links, None)


def test_the_persons_changed_now_are_those_changed_since_the_previous_period_and_none_in_a_first():
    """`merge` weighs a settlement linked again as this period's when its person changed since the
    previous period run, not since an earlier one (that change was that period's); a first
    period has no previous: no one changed now."""
    from pipelines.year_to_date import changed_since_previous

    changed = pl.DataFrame({"person_id": ["P1", "P2", "P3"], "since": ["2026-08", "2026-09", "2026-09"]})
    assert changed_since_previous(changed, "2026-09").rows() == [("P2",), ("P3",)]
    assert changed_since_previous(changed, None).columns == ["person_id"]
    assert changed_since_previous(changed, None).is_empty()


def test_of_the_settlements_linked_again_only_those_sent_to_review_are_stored():
    """They date the review queue; a city's year links millions again, nearly all as before: the
    matched and unmatched are not stored. None linked again (no column): nothing."""
    from pipelines.year_to_date import relinked_review

    again = pl.DataFrame({"record_id": ["E1", "E2", "E3"], "decision": ["review", "matched", "unmatched"]})
    assert relinked_review(again)["record_id"].to_list() == ["E1"]
    assert relinked_review(pl.DataFrame()).is_empty()


def test_the_earlier_settlements_delivered_again_now_are_found_however_spelled_and_their_periods_compared():
    """A settlement this period delivers again is its row alone: the stored one is found by its
    key (Excel's 12345 is the 0012345 stored) and named as stored (`delivered_again`); the periods
    whose stored roster the period's is compared with are those that delivered the year's earlier
    settlements and the previous one (`compared_periods`)."""
    from pipelines.year_to_date import compared_periods, delivered_again

    earlier = settlements([("0012345", "2026-08", None, "matched", "H2-01"), ("S2", "2026-07", None, "matched", "H2-01"),
                           ("S3", "2026-08", None, "unmatched", None)]).lazy()
    current = settlements([("12345", "2026-10", None, "matched", "H2-01"), ("s3x", "2026-10", None, "matched", "H2-01")])
    assert delivered_again(earlier, current.drop("period")).to_list() == ["0012345"]
    assert compared_periods(earlier, "2026-09") == ["2026-07", "2026-08", "2026-09"]
    assert compared_periods(earlier, "2026-08") == ["2026-07", "2026-08"]
    assert compared_periods(None, "2026-09") == ["2026-09"] and compared_periods(None, None) == []


def test_the_earlier_settlements_to_link_again_are_chosen_a_chunk_at_a_time_as_over_the_whole_year():
    """`relink_of_year` reads the year's earlier settlements a chunk at a time (a city's December
    holds eleven months): the same rows, in their order, as `to_relink` over the whole year, but
    those delivered again now (this period's row is theirs, linked with the period's)."""
    from pipelines.year_to_date import RELINK_COLUMNS, relink_of_year

    changed = pl.DataFrame({"since": ["2026-10"] * 4, "person_id": ["H1-01", "H2-01", "H3-01", "H4-01"]})
    year = stored(EARLIER)
    whole = ["S_SPLIT", "S_KEPT", "S_FIXED", "S_NEW", "S_NOID"]  # (S_KEPT's H9-01 is not on this roster)
    assert to_relink(year, changed, ROSTER)["record_id"].to_list() == whole
    for chunk in (1, 2, 4, 6, 100):
        got = relink_of_year(year.lazy(), year.height, pl.Series(["S_NEW"]), changed, ROSTER, chunk)
        assert got.columns == list(RELINK_COLUMNS)
        assert got["record_id"].to_list() == [r for r in whole if r != "S_NEW"], chunk


def test_the_earlier_settlements_linked_again_are_person_records_with_the_period_that_delivered_them():
    """Linked as delivered (`relink_records`): a person record of each, with its prior group (医疗救助
    paid for), and the `period` that delivered it, which `split_relinked` and `merge` part them by."""
    from pipelines.year_to_date import relink_records

    rows = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_settlement"] * 2, "file": ["a.csv", "b.csv"], "line": [2, 3],
                         "record_id": ["S1", "S2"], "period": ["2026-08", "2026-09"], "name": ["陈强鹏", "李*"],
                         "id_raw": ["341302198001011234", None], "assistance_pay": [100.0, 0.0]})
    got = relink_records(rows, {"assistance_pay": "医疗救助"})
    assert got.select("record_id", "name", "prior_group", "period").rows() == [
        ("S1", "陈强鹏", "医疗救助", "2026-08"), ("S2", "李*", None, "2026-09")]


def test_the_period_s_settlements_are_stored_with_their_own_links_and_keys_and_summed_with_the_year_s_columns():
    """`with_links`: each settlement with its link (a record of another kind under the same number
    is not its), and the keys `to_relink` reads later months (of those not linked only);
    `summed_columns`: what the year's sums read, not the rest of the delivery."""
    from pipelines.year_to_date import YTD_COLUMNS, summed_columns, with_links

    current = settlements([("S1", "2026-10", "341302198001011234", None, None),
                           ("S2", "2026-10", "341302********7777", None, None)]).drop(
        "period", "decision", "person_id", "household_id", "score").with_columns(hospital=pl.lit("县医院"))
    links = pl.DataFrame({"dept": ["民政", "医保", "医保"], "kind": ["civil", "med_settlement", "med_settlement"],
                          "record_id": ["S1", "S1", "S2"], "decision": ["unmatched", "matched", "unmatched"],
                          "person_id": [None, "H2-01", None], "household_id": [None, "H2", None],
                          "score": [0.1, 0.99, 0.2], "reason": ["r"] * 3})
    got = with_links(current, links.lazy())
    assert got.select("record_id", "decision", "person_id", "household_id", "key_last4").rows() == [
        ("S1", "matched", "H2-01", "H2", None), ("S2", "unmatched", None, None, "L7777")]
    assert "reason" not in got.columns and "hospital" in got.columns
    summed = summed_columns(got)
    assert set(summed.columns) == set(YTD_COLUMNS) - {"township", "village"} and summed.height == 2


def test_the_year_s_rows_are_this_period_s_the_moved_earlier_ones_and_the_standing_ones_in_their_order(tmp_path):
    """`year_settlements`: this period's rows; of the earlier ones, none delivered again now (as
    stored, 0012345 for this period's 12345), those linked again with their new link (the roster
    changed now: this period's news), those answered since with the answer's link, and of the
    others those `rows_to_sum` reads, after this period's in the order read. The leads' sums of
    the earlier ones standing (`sums`, out of core) leave out every one read otherwise, and give
    the rows summed in polars."""
    from config import load_config
    from pipelines.review_answers import answers_in_effect
    from pipelines.rules import lead_floor
    from pipelines.year_to_date import lead_sums, year_settlements

    current = settlements([("N1", "2026-10", "341302198001011234", "matched", "H2-01"),
                           ("12345", "2026-10", "341302198001011234", "matched", "H2-01"),
                           ("N2", "2026-10", "341302********4321", "unmatched", None)]).drop("period").with_columns(
        out_of_pocket=pl.Series([1000.0, 1000.0, 15000.0]))
    earlier = settlements([("0012345", "2026-08", "341302198001011234", "matched", "H2-01"),  # delivered again now
                           ("S_KEPT", "2026-08", None, "matched", "H9-01"),  # its link stands
                           ("S_SPLIT", "2026-09", "341302********1234", "matched", "H1-01"),  # linked again
                           ("E_REV", "2026-09", "341302********1234", "review", None),  # answered 是 now
                           ("S_LEAD", "2026-09", "341302********4321", "unmatched", None),  # N2's lead: 24,000
                           ("S_ALONE", "2026-09", "341302********9999", "unmatched", None)])  # nothing new
    earlier = earlier.with_columns(out_of_pocket=pl.Series([5000.0, 1.0, 1.0, 1.0, 9000.0, 30000.0]))
    earlier.write_parquet(tmp_path / "year.parquet")
    again = pl.DataFrame({"record_id": ["0012345"]})
    relinked = pl.DataFrame({"dept": ["医保"], "kind": ["med_settlement"], "record_id": ["S_SPLIT"],
                             "decision": ["matched"], "person_id": ["H2-01"], "household_id": ["H2"], "score": [0.999],
                             "reason": ["r"], "n_candidates": [1]})
    answers = pl.DataFrame({"dept": ["复核"], "kind": ["review_answer"], "file": ["复核/q.csv"], "line": [2],
                            "record_dept": ["医保"], "record_id": ["E_REV"], "rec_name": [None], "person_id": ["H2-01"],
                            "verdict": ["是"], "reviewer": [None], "note": [None], "period": ["2026-10"]},
                           schema_overrides={"rec_name": pl.Utf8, "reviewer": pl.Utf8, "note": pl.Utf8})
    changed = pl.DataFrame({"person_id": ["H1-01", "H2-01"]})

    def year(floor, sums=None, relinked=relinked, changed=changed):
        return year_settlements(current, pl.scan_parquet(tmp_path / "year.parquet"), again, relinked,
                                answers_in_effect(answers), changed, ROSTER.lazy(), None, "2026-10", floor, sums=sums)

    got = year(None)
    assert "_at" not in got.columns
    assert got.select("record_id", "decision", "person_id", "relinked_now", "answered_now").rows() == [
        ("N1", "matched", "H2-01", False, False), ("12345", "matched", "H2-01", False, False),
        ("N2", "unmatched", None, False, False), ("S_KEPT", "matched", "H9-01", False, False),
        ("S_SPLIT", "matched", "H2-01", True, False), ("E_REV", "matched", "H2-01", False, True)]
    # the same re-link next month: the roster changed the month before
    assert not year(None, changed=None)["relinked_now"].any()
    floor, left_out = lead_floor(load_config()), []

    def out_of_core(leave_out):
        left_out.append(sorted(leave_out.to_list()))
        return lead_sums(tmp_path / "year.parquet", leave_out, 2026, "64MB", tmp_path / "spill")

    got = year(floor, out_of_core)
    assert left_out == [sorted(["N1", "12345", "N2", "0012345", "S_SPLIT", "E_REV"])]
    assert got["record_id"].to_list() == ["N1", "12345", "N2", "S_KEPT", "S_SPLIT", "E_REV", "S_LEAD"]
    assert got.equals(year(floor))

"""The settlements the year-to-date rules (M1-M3, SPEC §4) sum: every settlement of the calendar
year of its 结算日期, each 结算流水号 once, about the person as the CURRENT roster knows them.

An earlier period's settlement is stored with the link its own run made (warehouse table
`settlements`); that stored row is never changed. The current run links again, against its own
roster and together with its own records (`flows.link_records`), only the few earlier ones whose
link the roster may have changed (`to_relink`): those linked to a person whose roster row is gone
or changed since (household split: a new 人编号; 证件号码 or 姓名 corrected), and those not
linked then (unmatched, review) that show the kept last 4 or birth date of a person new or
changed since (a household added, an ID corrected) under a name that may be theirs (its first
character reads as theirs, or is hidden). The sums use the new links (`merge`) and those the
review answers received since give the settlements they name
(`pipelines.review_answers.apply_answers`); every other earlier settlement keeps its stored link,
and of those only the rows a warning may cite are read (`rows_to_sum`): the year is summed by
lead out of core, recomputed from the warehouse every run, never kept as a running total.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import duckdb
import polars as pl

from config import usable_cpus
from matchers.ids import fixed_stars, normalize_ids
from matchers.names import edge_pinyin, normalize_name
from pipelines.review_answers import apply_answers, changed_now, unconfirmable, without_yes
from pipelines.validate import to_person_records
from schemas.inputs import record_key
from schemas.links import Link, RelinkKeys, RosterChange


# The columns of a settlement the year's sums read (`pipelines.rules`: M1-M3 and what the review
# answers change, `pipelines.review_answers`) and that choose the earlier ones to link again
# (`to_relink`). A year's settlements are read and carried with these alone (a city's December
# carries some 20 million): a rule that reads another column of them adds it here.
YTD_COLUMNS = ("dept", "kind", "record_id", "name", "id_raw", "township", "village", "settle_date", "out_of_pocket",
               "decision", "person_id", "household_id", "score")
# What `to_relink` reads of a settlement's ID and name, worked out once when it is stored
# (`relink_keys`; table `settlements`): normalising a year's IDs and names every month made
# choosing the ones to link again grow with every month of the year.
RELINK_KEYS = ("key_last4", "key_birth", "first_py")
# The settlements whose keys `to_relink` reads (and `relink_keys` works out): those not linked.
NOT_LINKED = ("unmatched", "review")
# What `to_relink` reads.
RELINK_COLUMNS = ("record_id", "period", "decision", "person_id", *RELINK_KEYS)
YEAR_CHUNK = 2_000_000  # rows of the year's earlier settlements `relink_of_year` reads at a time


def settle_years(current: pl.DataFrame, period: str) -> list[int]:
    """The calendar years whose sums the period's settlements (`current`) add to: the period's
    own, and an earlier one a late delivery (补报 of last December in January) falls in."""
    own = int(period[:4])
    dated = current["settle_date"].dt.year().drop_nulls().unique().to_list() if "settle_date" in current.columns else []
    return sorted({own, *(y for y in dated if y < own)})


def _keys(ids: pl.DataFrame, id_norm: str, kept: str | None) -> pl.DataFrame:
    """The ID keys a record (or person) shows whole: the last 4 (`L…`) and the birth date (`B…`)."""
    shown = (lambda a, b: pl.col(kept).str.slice(a, b - a) == "1" * (b - a)) if kept else (lambda a, b: pl.lit(True))
    return pl.concat([
        ids.filter(shown(14, 18)).with_columns(key="L" + pl.col(id_norm).str.slice(14, 4)),
        ids.filter(shown(6, 14)).with_columns(key="B" + pl.col(id_norm).str.slice(6, 8)),
    ])


def _first_py(names: pl.Series) -> pl.Series:
    """The toneless pinyin of each name's first character as the matcher reads it (normalised:
    traditional forms, spaces; null when hidden or missing), worked out once per distinct name."""
    uniq = names.cast(pl.Utf8).unique().to_frame("name")
    uniq = uniq.with_columns(_py=edge_pinyin(uniq.select(normalize_name(pl.col("name")))["name"])["first_py"])
    return names.cast(pl.Utf8).to_frame("name").join(uniq, on="name", how="left", nulls_equal=True,
                                                     maintain_order="left")["_py"]


def relink_keys(settlements: pl.DataFrame) -> pl.DataFrame:
    """`RELINK_KEYS` of each row of `settlements` (id_raw, name; either may be missing), in their
    order: the last 4 (`key_last4`, `L…`) and the birth date (`key_birth`, `B…`) of its ID when
    shown whole (`matchers.ids.normalize_ids`), and the toneless pinyin of its name's first
    character (`first_py`, null when hidden or missing). Stored with the settlement
    (`warehouse.settlements`), read by `to_relink` every later month of its year, of the rows not
    linked only: a row whose `decision` is `matched` has none (half a month's settlements, whose
    IDs need not be read again)."""
    rows = settlements.with_row_index("_i")
    if "id_raw" not in rows.columns:
        rows = rows.with_columns(id_raw=pl.lit(None, pl.Utf8))
    ids = rows.select(*(c for c in ("dept", "kind") if c in rows.columns), "id_raw")
    fixed = fixed_stars(ids)  # (its masks read as the link read them: a fact of all the department's rows)
    if "decision" in rows.columns:
        rows = rows.filter(pl.col("decision").is_in(NOT_LINKED))
    named = _first_py(rows["name"]) if "name" in rows.columns else pl.Series([None] * rows.height, dtype=pl.Utf8)
    shown = lambda a, b: pl.col("kept").str.slice(a, b - a) == "1" * (b - a)  # noqa: E731
    keys = normalize_ids(rows.select(ids.columns), fixed=fixed).select(
        _i=rows["_i"],
        key_last4=pl.when(shown(14, 18)).then("L" + pl.col("id_norm").str.slice(14, 4)),
        key_birth=pl.when(shown(6, 14)).then("B" + pl.col("id_norm").str.slice(6, 8)),
        first_py=named)
    if keys.height < settlements.height:  # (back in the order and number of `settlements`)
        keys = settlements.select(_i=pl.int_range(pl.len(), dtype=pl.UInt32)).join(keys, on="_i", how="left",
                                                                                    maintain_order="left")
    return RelinkKeys.validate(keys.drop("_i"))


def to_relink(earlier: pl.DataFrame, changed: pl.DataFrame, roster: pl.DataFrame) -> pl.DataFrame:
    """Of `earlier` (stored settlements with their `period`, link and `RELINK_KEYS`), those to link again against
    this period's `roster` (RosterPerson rows): `matched` to a person not on it or whose row
    changed since that period (`changed`: RosterChange rows), or not linked (`unmatched`,
    `review`) and showing whole the last 4 or the birth date of a person of `roster` new or
    changed since that period under a name whose first character reads as theirs (the same
    pinyin; or hidden, or no name), or showing neither (such a record is linked by name).
    Returns those rows of `earlier`.
    (A last 4 or a birth date alone is shared by hundreds of a city's records a month: without
    the name, a roster changing by a thousand persons a month had a city's run link the year's
    earlier settlements again by the million, almost all of them to nobody, as before.)"""
    key = ["period", "person_id"]
    since = RosterChange.validate(changed).select(period="since", person_id="person_id").unique()
    linked = earlier.filter(pl.col("decision") == "matched")
    moved = pl.concat([
        linked.join(since, on=key, how="semi"),
        linked.filter(~pl.col("person_id").is_in(roster["person_id"].implode())),
    ]).unique("record_id", maintain_order=True)
    # each record's keys side by side, as stored (a city's year holds millions of records not linked)
    open_ = earlier.filter(pl.col("decision").is_in(NOT_LINKED)).select(
        "record_id", "period", _py="first_py", L="key_last4", B="key_birth")
    new = since.join(roster.select("person_id", "name", id_number=pl.col("id_number").str.to_uppercase()), on="person_id")
    new = _keys(new.with_columns(_py=_first_py(new["name"])), "id_number", None).select("period", "key", "_py")
    fits = []
    for k in ("L", "B"):
        keyed = open_.filter(pl.col(k).is_not_null()).select("record_id", "period", "_py", key=k)
        fits += [  # (a record or a person without a name to read: the key alone)
            keyed.filter(pl.col("_py").is_not_null()).join(new, on=["period", "key", "_py"], how="semi"),
            keyed.filter(pl.col("_py").is_null()).join(new, on=["period", "key"], how="semi"),
            keyed.filter(pl.col("_py").is_not_null()).join(new.filter(pl.col("_py").is_null()), on=["period", "key"], how="semi"),
        ]
    unkeyed = open_.filter(pl.col("L").is_null(), pl.col("B").is_null())
    wanted = pl.concat([moved["record_id"], *[f["record_id"] for f in fits], unkeyed["record_id"]]).unique()
    return earlier.filter(pl.col("record_id").is_in(wanted.implode()))


def compared_periods(earlier: pl.LazyFrame | None, previous: str | None) -> list[str]:
    """The periods whose stored roster this period's is compared with (`warehouse.roster_changes`):
    those that delivered the year's earlier settlements (`earlier`, scanned; None: none), whose
    links `to_relink` weighs against the roster since, and the previous one
    (`changed_since_previous`), in order."""
    stored = [] if earlier is None else earlier.select(pl.col("period").unique()).collect()["period"].to_list()
    return sorted({*stored, *([previous] if previous else [])})


def delivered_again(earlier: pl.LazyFrame, current: pl.DataFrame) -> pl.Series:
    """The record_id, as stored, of the year's earlier settlements (`earlier`, scanned) that this
    period delivers again (`current`), however a month spelled them (`record_key`: Excel's 12345
    is the 0012345 stored): this period's row is theirs, `year_settlements` leaves them out by
    their stored spelling. Found once (filtered by this period's 2M 结算流水号 for each month's
    rows, a city's December cost 16 s CPU; 1.8 s once)."""
    return earlier.select("record_id").filter(record_key(pl.col("record_id")).is_in(
        current.select(record_key(pl.col("record_id")))["record_id"].implode())).collect()["record_id"]


def relink_of_year(earlier: pl.LazyFrame, rows: int, again_now: pl.Series, changed: pl.DataFrame,
                   roster: pl.DataFrame, chunk: int = YEAR_CHUNK) -> pl.DataFrame:
    """`to_relink` of the year's earlier settlements (`earlier`, scanned: `rows` of them) but those
    delivered again now (`again_now`, `delivered_again`): `RELINK_COLUMNS` of those to link again.
    Read `chunk` rows at a time in their order: a city's month at once, not its December's eleven."""
    return pl.concat([to_relink(earlier.select(RELINK_COLUMNS).slice(i, chunk).filter(
        ~pl.col("record_id").is_in(again_now.implode())).collect(), changed, roster)
        for i in range(0, rows, chunk)])


def relink_records(settlements: pl.DataFrame, prior_groups: dict[str, str] | None = None) -> pl.DataFrame:
    """The earlier settlements to link again (`settlements`: rows as delivered, every column — the
    place hints, ... — with the `period` that delivered them: `warehouse.settlement_rows`) as
    PersonRecord rows with that `period` (`with_relink` links them without it)."""
    return (to_person_records({"med_settlement": settlements}, prior_groups)
            .join(settlements.select("record_id", "period"), on="record_id", how="left"))


def changed_since_previous(changed: pl.DataFrame, previous: str | None) -> pl.DataFrame:
    """The persons (person_id) whose roster row is new, changed or gone since the previous period
    run (`changed`: RosterChange rows, each period's since; `previous`: None for a first period,
    when none is): `merge` weighs a settlement linked again to or away from one of them as this
    period's (the roster change is now)."""
    return (changed.filter(pl.col("since") == previous) if previous else changed.clear()).select("person_id")


def relinked_review(relinked: pl.DataFrame) -> pl.DataFrame:
    """Of the earlier settlements linked again (`relinked`: Link rows, this run's and, in a partial
    run, the kept departments'), those sent to review: stored with the period, they date the review
    queue (`warehouse.review_history`); a city's year links millions again, nearly all as before,
    so only these are kept. No rows (no column either) when none was linked again."""
    return relinked.filter(pl.col("decision") == "review") if "decision" in relinked.columns else pl.DataFrame()


def with_relink(records: pl.DataFrame, relink: pl.DataFrame | None) -> pl.DataFrame:
    """The records this run links (PersonRecord rows): the period's (`records`) and the earlier
    settlements it links again (`relink`: `to_relink`'s, with the `period` that delivered them;
    None: none), against the same roster, so that they weigh each other as one period's would."""
    return records if relink is None else pl.concat([records, relink.drop("period")])


def split_relinked(links: pl.DataFrame, relink: pl.DataFrame | None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(the period's links, the earlier settlements' new links): `links` of `with_relink`'s records
    parted again. The period's are its own records' (links.parquet accounts for each row it read
    once); the earlier ones' are `merge`'s `relinked`, None when none was linked again. A settlement
    delivered again this period is the period's (`earlier_settlements` leaves it out of `relink`)."""
    if relink is None:
        return links, None
    again = (pl.col("kind") == "med_settlement") & pl.col("record_id").is_in(relink["record_id"].implode())
    return links.filter(~again), links.filter(again)


def with_links(current: pl.DataFrame, links: pl.LazyFrame) -> pl.DataFrame:
    """This period's settlements (`current`) with their links (`links`: the period's Link rows,
    scanned: the settlements' alone are read) and `relink_keys`, as stored (`warehouse` table
    `settlements`); `summed_columns` of them are the year's."""
    links = links.filter(pl.col("kind") == "med_settlement").select(
        "record_id", "decision", "person_id", "household_id", "score").collect()
    current = current.join(links, on="record_id", how="left")
    del links
    return current.hstack(relink_keys(current))


def summed_columns(settlements: pl.DataFrame) -> pl.DataFrame:
    """`settlements` with only the columns the year's sums read (`YTD_COLUMNS` it has)."""
    return settlements.select([c for c in settlements.columns if c in YTD_COLUMNS])


def merge(current: pl.DataFrame, earlier: pl.DataFrame | None, relinked: pl.DataFrame | None,
          changed_now: pl.Series) -> pl.DataFrame:
    """The year's settlements (`current`'s columns + `relinked_now`): this period's (`current`,
    with their links) and the `earlier` ones not delivered again, those linked again this run
    (`relinked`: Link rows) with their new link. `relinked_now`: the new link differs from the
    stored one and concerns a person whose roster row is new, changed or gone since the previous
    period (`changed_now`, 人编号): the roster change is this period's, so the rules weigh the
    record as one of this period's (the M1 a split or a corrected ID completes is raised now,
    and not again next month for the same reason). A record `current` delivers again is its
    row alone, however either spelled its number (`record_key`: Excel's 12345 for 0012345)."""
    current = current.with_columns(relinked_now=pl.lit(False))
    if earlier is None or earlier.is_empty():
        return current
    earlier = earlier.filter(~record_key(pl.col("record_id")).is_in(
        current.select(record_key(pl.col("record_id")))["record_id"].implode()))
    if relinked is not None and relinked.height:
        new = Link.validate(relinked).select("record_id", _d="decision", _p="person_id", _h="household_id", _s="score")
        if new["record_id"].is_unique().all():  # (joined to the one column and set beside: a year is wide)
            earlier = earlier.hstack(earlier.select("record_id").join(new, on="record_id", how="left",
                                                                      maintain_order="left").drop("record_id"))
        else:
            earlier = earlier.join(new, on="record_id", how="left", maintain_order="left")
        again = pl.col("_d").is_not_null()
        differs = pl.col("_d").ne_missing(pl.col("decision")) | pl.col("_p").ne_missing(pl.col("person_id"))
        concerns = pl.col("person_id").is_in(changed_now.implode()) | pl.col("_p").is_in(changed_now.implode())
        earlier = earlier.with_columns(
            relinked_now=(again & differs & concerns).fill_null(False),
            decision=pl.when(again).then("_d").otherwise("decision"),
            person_id=pl.when(again).then("_p").otherwise("person_id"),
            household_id=pl.when(again).then("_h").otherwise("household_id"),
            score=pl.when(again).then("_s").otherwise("score"),
        ).drop("_d", "_p", "_h", "_s")
    else:
        earlier = earlier.with_columns(relinked_now=pl.lit(False))
    return pl.concat([current, earlier.select(current.columns).cast(current.schema)], how="vertical")


def with_answers(ytd: pl.DataFrame, decided: pl.DataFrame, roster: pl.DataFrame, period: str,
                 max_id_differences: int = 2, listed: pl.DataFrame | None = None) -> pl.DataFrame:
    """The year's settlements (`merge`) with the review answers in effect (`decided`: some name
    earlier months' rows, answered since those were stored) applied as `apply_answers` links them,
    but for a 是 a row's ID contradicts (`unconfirmable`; not one for a candidate a review queue
    listed beside the row, `listed`, as the run took it: `adapters.warehouse.queue_listed`); a
    link an answer of this `period` changed counts as this period's (`changed_now`: its warning
    is raised now, once)."""
    decided = without_yes(decided, unconfirmable(decided, ytd, roster, max_id_differences=max_id_differences,
                                                 listed=listed))
    return changed_now(ytd, apply_answers(ytd, decided, roster)[0], decided, period)


_LEAD = pl.col("decision").is_null() | (pl.col("decision") == "unmatched")  # (as `pipelines.rules` reads a link)
_LEAD_SQL = "(decision IS NULL OR decision = 'unmatched')"  # (`_LEAD`, as DuckDB reads it: `lead_sums`)


def lead_sums(path: Path, leave_out: pl.Series, year: int, memory_limit: str, spill: Path) -> pl.DataFrame:
    """The settlements of the parquet file `path` (`warehouse.write_year_to_date_settlements`) not
    linked (a lead's, `_LEAD`) whose record_id `leave_out` does not hold, summed by ID text, name
    and calendar year (`year` for a settlement without 结算日期): id_raw, name, _year, _sum, as
    `rows_to_sum` sums `stands` (given as its `sums`). DuckDB's aggregate, held within
    `memory_limit` (spilling beyond it into the folder `spill`, not DuckDB's `.tmp` in whatever
    folder the run was started from): a city's December holds 13M distinct ID texts and names,
    for which polars' streaming group-by held 3.3 GiB and DuckDB within 1GB 1.3 GiB."""
    con = duckdb.connect()
    try:
        con.execute("SET enable_progress_bar = false")
        con.execute(f"SET threads = {usable_cpus()}")
        con.execute("SET memory_limit = ?", [memory_limit])
        con.execute("SET temp_directory = ?", [str(spill)])
        con.execute("SET preserve_insertion_order = false")
        con.register("_left_out", leave_out.cast(pl.Utf8).rename("record_id").unique().to_frame())
        return con.sql(
            f"""SELECT id_raw, name, coalesce(year(settle_date), $year)::INTEGER AS _year,
                       coalesce(sum(out_of_pocket), 0)::DOUBLE AS _sum
                FROM read_parquet($path) s ANTI JOIN _left_out USING (record_id)
                WHERE {_LEAD_SQL} GROUP BY ALL""", params={"path": str(path), "year": int(year)}
        ).pl().cast({"id_raw": pl.Utf8, "name": pl.Utf8, "_year": pl.Int32, "_sum": pl.Float64})
    finally:
        con.close()


def rows_to_sum(ytd: pl.DataFrame, stands: pl.LazyFrame, floor: float | None, year: int,
                sums: pl.DataFrame | None = None) -> pl.DataFrame:
    """The rows of the year's settlements the rules M1-M3 read (`pipelines.rules`): `ytd` (this
    period's and the earlier ones whose link this run may have changed, `merge` and the answers
    applied), and of `stands` (the other earlier ones: their stored link stands; never read
    whole, a city's December holds some 20 million) the linked ones (M1, M2 and the review
    queue's impact read every one), and the off-roster ones of each lead (M3: lead key x calendar
    year, `year` for a settlement without 结算日期) that a row of `ytd` belongs to and whose sum
    may reach `floor` (the smallest threshold of a lead rule; None: none runs) — or whose rows
    of `ytd` alone might. A lead no row of `ytd` belongs to has nothing new to warn of; one whose
    sum stays below `floor` warns of nothing. Every off-roster row gets its lead's key and name
    (`lead_key`, `lead_name`), worked out over all the year's distinct ID texts and names
    (`pipelines.rules.lead_keys`): the leads' rows left out still tell which lead a row is.
    `sums`: the off-roster rows of `stands` summed by ID text, name and year, as `lead_sums`
    gives them (None: summed here)."""
    from pipelines.rules import lead_keys  # (the rules' own reading of a lead)

    stands = stands.select(ytd.drop("relinked_now", "answered_now", strict=False).columns)
    now = {c: pl.lit(False) for c in ("relinked_now", "answered_now") if c in ytd.columns}
    none = {c: pl.lit(None, pl.Utf8) for c in ("lead_key", "lead_name")}
    linked = (stands.filter(~_LEAD.fill_null(True), (pl.col("decision") == "matched") | pl.col("household_id").is_not_null())
              .with_columns(**now, **none).collect())
    if floor is None:
        return _in_order(pl.concat([ytd, linked.select(ytd.columns)], how="vertical_relaxed"))
    in_year = pl.col("settle_date").dt.year().fill_null(year).cast(pl.Int32).alias("_year")
    pair = ["id_raw", "name", "_year"]
    leads = stands.filter(_LEAD.fill_null(True)).with_columns(in_year)
    # the year's leads, keyed together: the rows of `ytd`, and each ID text, name and year of the others once
    ytd = ytd.with_row_index("_row")
    x = lead_keys(pl.concat([
        ytd.filter(_LEAD.fill_null(True)).select("_row", "id_raw", "name", in_year, _own="out_of_pocket"),
        leads.group_by(pair).agg(_sum=pl.col("out_of_pocket").sum()).collect(engine="streaming") if sums is None
        else sums.select(*pair, "_sum"),
    ], how="diagonal"))
    # (a sum is compared a yuan short of `floor`: the rules add the rows up in another order)
    # (summed for the leads a row of `ytd` belongs to only: a city's December keys 15M rows, 3M of them `ytd`'s)
    new = x.filter(pl.col("_row").is_not_null(), pl.col("lead_key").is_not_null()).select("lead_key", "_year").unique()
    wanted = (x.join(new, on=["lead_key", "_year"], how="semi").group_by("lead_key", "_year")
              .agg(pl.col("_own", "_sum").sum())
              .filter(pl.max_horizontal(pl.col("_sum") + pl.col("_own"), "_own") >= floor - 1))
    keys = x.filter(pl.col("_row").is_null()).join(wanted, on=["lead_key", "_year"], how="semi").select(
        *pair, "lead_key", "lead_name")
    rows = (leads.join(keys.lazy(), on=pair, nulls_equal=True).drop("_year").with_columns(**now)
            .collect(engine="streaming"))
    ytd = ytd.join(x.select("_row", "lead_key", "lead_name").drop_nulls("_row"), on="_row", how="left",
                   maintain_order="left").drop("_row")
    del x, keys  # (the year's keyed ID texts and names: not held through the sort)
    return _in_order(pl.concat([ytd, linked.select(ytd.columns), rows.select(ytd.columns)], how="vertical_relaxed"))


def _in_order(ytd: pl.DataFrame) -> pl.DataFrame:
    """This period's rows first, then the earlier ones in the order they were read (`_at`, when
    given): the order `merge` gives the whole year, so the sums add up in the same order."""
    return ytd.sort("_at", nulls_last=False, maintain_order=True) if "_at" in ytd.columns else ytd


def year_settlements(current: pl.DataFrame, earlier: pl.LazyFrame | None, again: pl.DataFrame | None,
                     relinked: pl.DataFrame | None, decided: pl.DataFrame | None, changed: pl.DataFrame | None,
                     roster: pl.LazyFrame, listed: pl.DataFrame | None, period: str, floor: float | None,
                     max_id_differences: int = 2,
                     sums: Callable[[pl.Series], pl.DataFrame] | None = None) -> pl.DataFrame:
    """The rows of the year's settlements the rules read: this period's (`current`: `summed_columns`
    of `with_links`), the earlier ones of their calendar years (`earlier`, scanned: never read
    whole; None: none) but those delivered again now as stored (`again`: `delivered_again`), those
    linked again by this run with their new links (`relinked`, `merge`; `changed`: the persons
    changed now, `changed_since_previous`), all with the review answers in effect (`decided`,
    `with_answers`; `roster` scanned, read only then; `listed`: the queues' candidates), then
    `rows_to_sum` (`floor`: `rules.lead_floor`). The earlier ones whose link this run may change
    (linked again, or answered) are read whole; the others' stored links stand. `sums`: the
    off-roster rows of `earlier` whose record_id the given ones are not, summed as `lead_sums`
    gives them (out of core, over the file `earlier` scans; None: summed here)."""
    delivered = current["record_id"] if again is None else pl.concat([current["record_id"], again["record_id"]])
    moving = pl.concat([f["record_id"] for f in (relinked, decided) if f is not None]
                       + [pl.Series("record_id", [], pl.Utf8)])
    earlier = None if earlier is None else earlier.with_row_index("_at")  # (where each was read: the sums' order)
    ytd = merge(current.with_columns(_at=pl.lit(None, pl.UInt32)),
                None if earlier is None else earlier.filter(pl.col("record_id").is_in(moving.implode())).collect(),
                relinked, pl.Series("person_id", [], pl.Utf8) if changed is None else changed["person_id"])
    del relinked  # (a city's December: 1.7M links with their reasons, merged; the caller holds none)
    if decided is not None:  # answers about earlier months' rows
        ytd = with_answers(ytd, decided, roster.collect(), period, max_id_differences, listed)
    if earlier is not None:
        left_out = pl.concat([delivered, moving])
        stands = earlier.filter(~pl.col("record_id").is_in(left_out.implode()))
        ytd = rows_to_sum(ytd, stands, floor, int(period[:4]), None if sums is None else sums(left_out))
    return ytd.drop("_at")

"""Link department person records to roster persons (Fellegi-Sunter style, like Splink).

1. Blocking (DuckDB): records join roster persons whose ID agrees on every kept position
   (one join per mask pattern); a full ID failing the check joins the valid IDs one typing
   slip away (one character changed, two adjacent swapped: `ids.one_edit_ids`); a roster
   person whose own ID fails the check, the records whose kept characters are those of one of
   the valid IDs one slip from it (roster-slip pass: the roster's typist slipped); a masked ID
   without an ID-compatible person sharing its surname joins on the kept positions minus
   one segment (region / year / month-day / sequence; the region only when no roster ID
   shares its kept characters), weak keys helped by surname (or last char) or full name;
   records with no usable ID join on surname + place (or full name). A mask pattern that
   leaves many roster persons per record (3+4 kept in a city) also joins on the pinyin of the
   first (or last) visible name character, so pairs grow with the roster, not its square; one
   still that weak with it (a province-sized roster) also needs a shown last character's.
2. Comparisons, each a level with m = P(level | same person) from config and
   u = P(level | random county person): ID (kept-agree / one-differs / two-differ /
   disagree), name (names.py levels), place (village / township / disagree), role (head /
   member). A masked record's one-differs m is measured per dept/kind from how often its full
   IDs fail the check (`_typo_m`); a roster person's ID failing the check has its own m
   (`id_levels_roster_check_failed`), and the u of one slip from it counts its valid
   neighbours. The name levels' m are then learned per dept/kind from the run's own pairs
   (`_learn_name_m`), and so is how far a place hint (就诊机构, 学校名称) names the person's
   township (`_learn_place_hint`).
   Pairs are scored in slices of `pair_chunk`; of each slice only the candidates that can
   matter are kept (`_keep_top`), with each record's W = Σ w over all of them.
3. Posterior per candidate: w = Π m/u; someone off the candidate list (anyone in the county)
   weighs n_roster (1 - π) / π, π the dept/kind's roster share (EM-estimated).
   p = w / (Σ w + other). In a complete snapshot (参保名单) a record fitting a roster person
   better than the others that do is raised to the snapshot posterior (`_complete_snapshots`).
   The same snapshot is the county's census of insured residents: for records of other kinds, "other" counts the
   off-roster insured people it shows fitting the record instead of assuming the average
   (`_census`). Decide with thresholds from `MatchingConfig`; ambiguity between candidates
   goes to review, never to a guess.
4. Analysts' answers to the review queue are evidence, taken right after blocking
   (`_answered`): a person answered 否 is not the record's candidate; a record answered 是 has
   that person alone, with certainty, and in a one-record-per-person list nobody else has them
   (another record claiming them goes back to review, `taken`: the answer may be the mistake).
"""

from __future__ import annotations

import math
import unicodedata
from dataclasses import dataclass, replace

import duckdb
import numpy as np
import polars as pl

from config import MatchingConfig, usable_cpus
from matchers.ids import char_matrix, check_fails, normalize_ids, one_edit_ids, shows_mask
from matchers.names import (NameCodes, compare_codes, edge_pinyin, full_pinyin, name_stats, name_u, normalize_name,
                            other_readings)
from matchers.places import normalize_place
from matchers.review import answer_cite, cut_p
from schemas.outputs import QUALITY_COLUMNS, Finding

# ID segments for the typo pass: a masked record whose kept digits may hold a typo joins on its
# kept positions minus one segment (a full ID failing the check joins its one-slip neighbours).
SEGMENTS = {"region": (0, 6), "year": (6, 10), "monthday": (10, 14), "seq": (14, 18)}
# the likelihood ratio of a pair an analyst confirmed (`_answered`): certain, yet finite, so that
# p = w / (W + other) reads 1 for any county's "other"
CONFIRMED_W = 1e15
# the pass pairing a roster person whose own ID fails the check with records one slip from it
ROSTER_SLIP = "roster-slip"
# the pass pairing a roster person no record of a complete snapshot fits with its records one
# slip from them (`_absentees`)
ABSENTEE = "absentee"


def _runs(pattern: str) -> list[tuple[int, int]]:
    """'111000011' -> [(0, 3), (7, 2)]: (start, length) of kept runs."""
    out, i = [], 0
    while i < len(pattern):
        if pattern[i] == "1":
            j = i
            while j < len(pattern) and pattern[j] == "1":
                j += 1
            out.append((i, j - i))
            i = j
        else:
            i += 1
    return out


def _key_sql(col: str, pattern: str) -> str:
    return " || ".join(f"substr({col}, {s + 1}, {n})" for s, n in _runs(pattern)) or "''"


def _swapped(rec: pl.DataFrame, positions: list[int]) -> pl.DataFrame:
    """`rec` (with id_norm) once per two adjacent `positions` i, i+1 holding different
    characters, with those two swapped: joined on the kept positions, each finds the roster
    persons whose ID shows the same two characters the other way round (3382 for 3832)."""
    idc = pl.col("id_norm")
    return pl.concat([
        rec.filter(idc.str.slice(i, 1) != idc.str.slice(i + 1, 1)).with_columns(id_norm=pl.concat_str(
            [idc.str.slice(0, i), idc.str.slice(i + 1, 1), idc.str.slice(i, 1), idc.str.slice(i + 2)]))
        for i in positions if i + 1 in positions])


def _zero(pattern: str, positions: list[int]) -> str:
    """The mask pattern with these kept positions masked too."""
    return "".join("0" if i in positions else c for i, c in enumerate(pattern))


def _describe(pattern: str) -> str:
    """`10/18 kept (6+4)`; a mask read as an old 15-digit ID's (`ids._old_mask`: century and
    check character unknown, some of the birth date or sequence kept) says so, for its kept 4
    stand one place before a new ID's last 4. (One showing its whole birth date is read with the
    century 19: described as the new ID's mask it then reads as, whose characters it shows.)"""
    old = pattern[6:8] == "00" and pattern[17] == "0" and "1" in pattern[8:17]
    return (f"{pattern.count('1')}/18 kept (" + "+".join(str(n) for _, n in _runs(pattern))
            + (", an old 15-digit ID" if old else "") + ")")


def _per_value(s: pl.Series, fn) -> pl.Series:
    """`fn` (an expression builder) applied once per distinct value of `s`, in `s`'s order."""
    uniq = s.unique().to_frame("v")
    done = uniq.with_columns(out=fn(pl.col("v")))
    return s.to_frame("v").join(done, on="v", how="left", nulls_equal=True, maintain_order="left")["out"]


def _prepare_records(records: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    cols = records.columns
    nulls = pl.Series([None] * records.height, dtype=pl.Utf8)
    col = lambda c: records[c].cast(pl.Utf8) if c in cols else nulls  # noqa: E731
    rec = normalize_ids(pl.DataFrame({
        "rid": pl.int_range(records.height, dtype=pl.UInt32, eager=True), "id_raw": col("id_raw"),
        "rname": _per_value(col("name"), normalize_name),
        "tn": _per_value(col("township"), lambda e: normalize_place(e, "township", cfg.places)),
        "vn": _per_value(col("village"), lambda e: normalize_place(e, "village", cfg.places)),
        "dept": col("dept"), "kind": col("kind"),  # (how its masks are read: `normalize_ids`)
    })).with_columns(snap=pl.col("kind").is_in(list(cfg.complete_snapshot_kinds))).drop("dept", "kind")
    rec = id_from_record_number(rec, records, cfg)
    return pl.concat([rec, edge_pinyin(rec["rname"])], how="horizontal").with_columns(
        k=pl.col("kept").str.count_matches("1"),
        masked=pl.col("rname").str.contains("*", literal=True).fill_null(True),  # no whole name shown
        surname=pl.when(~pl.col("rname").str.starts_with("*")).then(pl.col("rname").str.slice(0, 1)),
    ).drop("id_raw")


def id_from_record_number(rec: pl.DataFrame, records: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """A record of `id_in_record_id_kinds` whose record number holds a whole, valid ID (学籍号 =
    `G` + the student's ID, SPEC §1) is linked on that ID when its own 证件号码 is unusable, or
    masked or failing the check and agreeing with it on every kept character but at most
    `record_id_slips` (a masked 证件号码 then adds nothing, and one kept digit mistyped or two
    swapped there is the 证件号码's slip, not the valid ID's; one that disagrees more is left as it
    is). `id_src` says where the ID was read: id_raw or record_id; `own_status` is the 证件号码's
    id_status as sent (its slips are the department's, `_typo_m`)."""
    rec = rec.with_columns(id_src=pl.lit("id_raw"), own_status=pl.col("id_status"))
    idx = records["kind"].is_in(list(cfg.id_in_record_id_kinds)).arg_true()
    if idx.is_empty():
        return rec
    alt = normalize_ids(pl.DataFrame({"id_raw": records["record_id"].cast(pl.Utf8).gather(idx)}))
    own = rec.select("id_norm", "id_status")[idx]
    r, c = _id_bytes(own["id_norm"]), _id_bytes(alt["id_norm"])
    agree = pl.Series(((r != ord("*")) & (r != c)).sum(1) <= cfg.record_id_slips)  # kept characters differing
    use = ((alt["id_status"] == "full_valid") & (own["id_status"] != "full_valid")
           & (~own["id_status"].is_in(["masked", "full_check_failed"]) | agree))
    if not use.any():
        return rec
    take = alt.filter(use).select("id_norm", "kept", "id_status", rid=idx.filter(use).cast(pl.UInt32),
                                  id_src=pl.lit("record_id"))
    return rec.update(take, on="rid")


@dataclass(frozen=True)
class ListCompleteness:
    """How complete the complete snapshot (参保名单) is for people off the roster, measured:
    `value` (None when there was too little to measure), from `probes` off-roster insured
    persons showing a full ID, `found` of them in the list, which shows a full ID on
    `share_full` of its records."""

    value: float | None
    probes: int
    found: int
    share_full: float


def list_completeness(records: pl.DataFrame, roster: pl.DataFrame, cfg: MatchingConfig) -> ListCompleteness:
    """PersonRecord + RosterPerson frames -> how much of the insured off-roster population the
    complete snapshot holds, measured rather than assumed (SPEC §3 calls 参保名单 a full snapshot;
    a county's may hold only part of its insured, e.g. 城乡居民 but not 职工).

    Everyone a kind of `census_completeness_kinds` (医保 settlements) names is insured. Its
    persons showing a full valid ID that no roster ID equals are a sample of the insured
    off-roster residents: a complete list holds each of them, and shows the same full ID for the
    share `share_full` of its records that show one, expected = share_full · probes of them.
    SPEC §3 calls the list complete, and ~30 found persons leave ±20% to chance, so the list is
    counted as partial only by as much as the shortfall exceeds chance: value = the one-sided
    upper bound of found (Poisson, `census_completeness_z`) / expected, capped at 1; None when a
    complete list would show fewer than `census_completeness_min` of them (nothing to measure:
    the list is then taken as complete)."""
    kinds = list(cfg.complete_snapshot_kinds)
    probe_kinds = list(cfg.census_completeness_kinds)
    raw = records.select("kind", id_raw=pl.col("id_raw").cast(pl.Utf8))
    listed = normalize_ids(raw.filter(pl.col("kind").is_in(kinds)))
    usable = listed.filter(pl.col("id_status").is_in(["masked", "full_valid"]))
    full_ids = usable.filter(pl.col("id_status") == "full_valid")["id_norm"].unique()
    share_full = full_ids.len() / max(usable.height, 1)
    if usable.is_empty():  # no list this run (e.g. 医保 not delivered): nothing to measure
        return ListCompleteness(None, 0, 0, 0.0)
    # persons, not rows (one person may have many settlements); masked values cannot be full
    probes = normalize_ids(raw.filter(pl.col("kind").is_in(probe_kinds), ~shows_mask(pl.col("id_raw"))))
    probes = probes.filter(pl.col("id_status") == "full_valid").select("id_norm").unique().filter(
        ~pl.col("id_norm").is_in(roster["id_number"].cast(pl.Utf8).str.strip_chars().str.to_uppercase().implode()))
    found = probes.filter(pl.col("id_norm").is_in(full_ids.implode())).height
    expected = share_full * probes.height
    z = cfg.census_completeness_z  # a shortfall within chance keeps the contract's "complete"
    upper = found + z * z / 2 + z * math.sqrt(found + z * z / 4)
    value = None if expected < cfg.census_completeness_min else min(1.0, upper / expected)
    return ListCompleteness(value, probes.height, found, share_full)


def measured_completeness(insured: pl.DataFrame, census: pl.DataFrame, roster: pl.DataFrame,
                          cfg: MatchingConfig) -> tuple[MatchingConfig, pl.DataFrame]:
    """PersonRecord frames (`insured`: any kinds, those of `census_completeness_kinds` are read;
    `census`: the 参保名单, not empty) + RosterPerson -> the matching config weighing the list by
    its measured completeness (`list_completeness`), and the data-quality line saying it (one
    QualityFinding row, the list's department): the county sees how far the list is trusted."""
    ids = lambda df: df.select("kind", pl.col("id_raw").cast(pl.Utf8))  # noqa: E731 - all it reads
    insured = insured.filter(pl.col("kind").is_in(list(cfg.census_completeness_kinds)))
    got = list_completeness(pl.concat([ids(insured), ids(census)]), roster, cfg)
    share = "—" if got.value is None else f"{got.value:.0%}"
    expected = got.share_full * got.probes  # found by a complete list
    detail = (f"参保名单对非监测对象的完整度 {share}：{got.probes} 名结算人员（完整身份证号、不在底册）中 {got.found} 名在名单中以完整身份证号出现"
              f"（名单中 {got.share_full:.0%} 的记录显示完整身份证号，完整的名单约出现 {expected:.0f} 名；短缺超出偶然的部分才算不完整）。"
              f" enrollment list completeness for off-roster people {share}: of {got.probes} off-roster insured persons with a full ID, "
              f"{got.found} appear in it by full ID ({got.share_full:.0%} of its records show one, so a complete list shows about "
              f"{expected:.0f}; only a shortfall beyond chance counts)"
              + ("; too few to measure, taken as complete" if got.value is None else "")
              # (a census switched off by `census_coverage = 0` is the user's choice, not the list's)
              + ("" if got.value is None or census_coverage(cfg, got.value) or not cfg.census_coverage
                 else f"; 名单仅覆盖约 {cfg.census_coverage * got.value:.1%} 的居民，不据以比对 "
                 f"it holds under {cfg.census_min_coverage:.0%} of the residents and is not weighed"))
    finding = pl.DataFrame([dict(category=Finding.CENSUS, dept=census["dept"][0], file=None, detail=detail,
                                 count=got.found)], schema=QUALITY_COLUMNS)
    return replace(cfg, census_completeness=1.0 if got.value is None else got.value), finding


def census_coverage(cfg: MatchingConfig, completeness: float | None, insured: bool = False) -> float:
    """The share of the county's residents the 参保名单 is counted to hold: `census_coverage` x
    its completeness (None: too little to measure, taken as complete); 0 (not weighed) below
    `census_min_coverage`. For a record of `census_completeness_kinds` (a 医保 settlement: its
    person is insured, so on a complete list) the share of the insured: its completeness, at most
    `max_snapshot_presence`; 0 too when the census is off."""
    whole = 1.0 if completeness is None else completeness
    share = cfg.census_coverage * whole
    if share < cfg.census_min_coverage:
        return 0.0
    return min(whole, cfg.max_snapshot_presence) if insured else share


def _prepare_roster(roster: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    relation = pl.col("relation").cast(pl.Utf8).str.strip_chars() if "relation" in roster.columns else pl.lit(None, pl.Utf8)
    ros = roster.with_row_index("pidx").select(
        "pidx", "person_id", "household_id", pl.col("id_number").str.strip_chars().str.to_uppercase(),
        chead=pl.when(relation.is_not_null() & (relation != "")).then(relation.is_in(list(cfg.head_relations))),
    ).with_columns(
        cname=_per_value(roster["name"].cast(pl.Utf8), normalize_name),
        ctn=_per_value(roster["township"].cast(pl.Utf8), lambda e: normalize_place(e, "township", cfg.places)),
        cvn=_per_value(roster["village"].cast(pl.Utf8), lambda e: normalize_place(e, "village", cfg.places)),
    ).with_columns(csurname=pl.col("cname").str.slice(0, 1))
    return pl.concat([ros, edge_pinyin(ros["cname"]).rename({"first_py": "cfirst_py", "last_py": "clast_py"})],
                     how="horizontal")


def _hint_towns(records: pl.DataFrame, ros: pl.DataFrame, cfg: MatchingConfig) -> pl.Series:
    """Per record: the roster township its place hint names (`place_hint_fields`, the first
    given: 就诊机构 大店镇卫生院 -> 大店), the longest roster township stem found in it; null
    when it names none (埇桥区人民医院) or there is no hint."""
    cols = [records[c].cast(pl.Utf8) for c in cfg.place_hint_fields if c in records.columns]
    if not cols:
        return pl.Series("hn", [None] * records.height, dtype=pl.Utf8)
    hint = pl.select(pl.coalesce(cols)).to_series()
    towns = sorted(set(ros["ctn"].drop_nulls().to_list()), key=len, reverse=True)
    named = {h: next((t for t in towns if t in unicodedata.normalize("NFKC", h)), None)
             for h in hint.drop_nulls().unique().to_list()}
    return hint.replace_strict(named, default=None, return_dtype=pl.Utf8).alias("hn")


def _near_ids(rec: pl.DataFrame) -> pl.DataFrame:
    """(rid, id_number): for each record whose full ID fails the check, the valid IDs one
    typing slip away (`one_edit_ids`)."""
    failed = rec.filter(pl.col("id_status") == "full_check_failed")
    near = one_edit_ids(failed["id_norm"])
    return near.select(rid=failed["rid"].gather(near["row"]), id_number="id_number")


def _roster_near_ids(ros: pl.DataFrame) -> pl.DataFrame:
    """(pidx, id_number): for each roster person whose own ID fails the check (the roster's
    typist slipped: `ids.roster_check_fails` reports them), the valid IDs one typing slip away
    (`one_edit_ids`, about 19 each), one of which is likely theirs. A handful in 10,000 roster
    IDs fail: a city's million give a few thousand rows, whatever the records."""
    failed = ros.filter(check_fails(ros["id_number"]))
    near = one_edit_ids(failed["id_number"])
    return near.select(pidx=failed["pidx"].gather(near["row"]), id_number="id_number")


def _roster_slip() -> pl.Expr:
    """Per scored pair: its roster person's ID fails the check (`n_slip`, the count of valid IDs
    one slip from it, is known) and the record's is a whole valid one, or kept characters the
    roster-slip pass found to be those of one of those valid IDs: the roster slipped, not the
    record (`id_levels_roster_check_failed`)."""
    return pl.col("n_slip").is_not_null() & ((pl.col("id_status") == "full_valid") | (pl.col("pass") == ROSTER_SLIP))


def _block(rec: pl.DataFrame, ros: pl.DataFrame, near: pl.DataFrame, cfg: MatchingConfig,
           slips: pl.DataFrame | None = None) -> pl.DataFrame:
    """Candidate pairs (rid, pidx, pass) from the blocking passes; `near` from `_near_ids`,
    `slips` from `_roster_near_ids` (worked out here when not given)."""
    if slips is None:
        slips = _roster_near_ids(ros)
    con = duckdb.connect()
    con.execute("SET enable_progress_bar = false")  # (at a terminal it would print over the run's own lines)
    con.execute(f"SET threads = {usable_cpus()}")  # (DuckDB counts the machine's cores, not those the run may use)
    # A name read more than one way (曾 ceng or zeng) has a row per reading on either side, so that
    # every pinyin key below meets the names `compare_codes` reads alike (增国强 and 曾国强)
    keyed = _read_every_way(ros.select("pidx", "id_number", "csurname", "cname", "ctn", "cvn", "cfirst_py", "clast_py",
                                       clast=pl.col("cname").str.slice(-1), cfpy=full_pinyin(ros["cname"])),
                            "cname", "c", cfg)
    con.register("ros", keyed.to_arrow())
    rec = _read_every_way(rec.with_columns(fpy=full_pinyin(rec["rname"])), "rname", "", cfg)
    strong = rec.filter(pl.col("k") >= cfg.min_kept_for_id_block, pl.col("id_status") != "full_check_failed").select(
        "kept", "rid", "id_norm", "surname", "rname", "first_py", "last_py")
    # A record counts as found when an ID-compatible person also shares its surname (or the
    # record shows none): a kept digit mistyped into another person's digits must not hide
    # the right person from the typo pass.
    fits = ("r.rname IS NULL OR r.surname = p.csurname "
            "OR (r.surname IS NULL AND right(r.rname, 1) = p.clast)")
    # Each mask pattern's records are a table of their own: every join scans only them.
    by_kept = rec.select("kept", "rid", "id_norm", "first_py").partition_by("kept", as_dict=True, include_key=False)
    parts = []
    by_name = {}  # a weak pattern's name conditions (pinyin), which its typo-pass swaps join by too
    # Roster-slip pass. A roster person whose own ID fails the check: the records showing one of
    # the valid IDs one slip from it (`_roster_near_ids`), joined on every kept character like
    # the ID pass, each roster-side slip standing for the person (their name and pinyin with it).
    # Kept characters that are the roster ID's own (the slip where the record masks) are the ID
    # pass's already.
    if slips.height:
        con.register("slip", slips.join(keyed.select("pidx", "csurname", "cfirst_py", "clast_py", "clast", own="id_number"),
                                        on="pidx").to_arrow())
    slip_parts = []
    for n, ((pat,), part) in enumerate(strong.partition_by("kept", as_dict=True, include_key=False).items()):
        con.register(f"id{n}", part.to_arrow())
        join = (f"SELECT r.rid, p.pidx, 'id' AS pass, {fits} AS fits FROM id{n} r JOIN ros p ON "
                f"{_key_sql('r.id_norm', pat)} = {_key_sql('p.id_number', pat)}")
        slip_join = (f"SELECT r.rid, p.pidx, '{ROSTER_SLIP}' AS pass, {fits} AS fits FROM id{n} r JOIN slip p ON "
                     f"{_key_sql('r.id_norm', pat)} = {_key_sql('p.id_number', pat)} "
                     f"AND {_key_sql('p.id_number', pat)} <> {_key_sql('p.own', pat)}") if slips.height else None
        some = by_kept[(pat,)]  # all of the pattern's records, those failing the check too
        con.register("smp", some.gather_every(-(-some.height // cfg.block_size_sample)).to_arrow())
        if _mean_block(con, pat) <= cfg.id_block_name_key_above:
            parts.append(join)
            slip_parts += [slip_join] if slip_join else []
            continue
        # A weak pattern for this roster (many persons share its kept characters, e.g. 3+4 kept in
        # a city): the first (or, when it is masked, the last) name character's pinyin joins too,
        # so that homophones and traditional forms still meet. Names showing neither join by ID.
        # Still weak with the first character (3+4 kept in a province-sized roster): a shown last
        # character's pinyin must agree as well.
        both = (" AND (r.last_py IS NULL OR r.last_py = p.clast_py)"
                if _mean_block(con, pat, first_py=True) > cfg.id_block_name_key_above else "")
        by_name[pat] = [" AND r.first_py = p.cfirst_py" + both, " AND r.last_py = p.clast_py AND r.first_py IS NULL",
                        " AND r.first_py IS NULL AND r.last_py IS NULL"]
        parts += [join + c for c in by_name[pat]]
        slip_parts += [slip_join + c for c in by_name[pat]] if slip_join else []
    pairs = _sql(con, parts, fits=pl.Boolean)
    slip_pairs = _sql(con, slip_parts, fits=pl.Boolean)
    fitting = pl.concat([pairs, slip_pairs]).filter("fits").select("rid", "pidx")
    found = fitting["rid"].unique()
    pairs, slip_pairs = pairs.drop("fits"), slip_pairs.drop("fits")
    # Typo pass. A full ID failing the check: the roster persons one typing slip away (one
    # character changed, two adjacent swapped; `one_edit_ids`), joined on the whole ID.
    con.register("near", near.to_arrow())
    parts = ["SELECT n.rid, p.pidx, 'typo' AS pass FROM near n JOIN ros p ON n.id_number = p.id_number"]
    # ... and a roster ID failing the check too, equal to it character for character: the
    # department's copy of the roster's own slip (one source typed once)
    con.register("failing", rec.filter(pl.col("id_status") == "full_check_failed").select("rid", "id_norm").to_arrow())
    parts.append("SELECT r.rid, p.pidx, 'id' AS pass FROM failing r JOIN ros p ON r.id_norm = p.id_number")
    # A masked ID without an ID-compatible person: one kept segment at a time is taken as mistyped.
    typo = rec.filter(pl.col("id_status").is_in(["masked", "destroyed"]) & ~pl.col("rid").is_in(found.implode()))
    # A region whose kept characters some roster ID shares is taken as typed right (unless the
    # name reads alike, below): dropping it would join on the rest alone, which in a city-sized
    # roster pairs every off-roster record with dozens of namesakes sharing its last 4.
    # (`_sharing` gives a record read several ways a row per reading: one is taken)
    typo = typo.join(_sharing(typo, ros).unique("rid"), on="rid", how="left").with_columns(
        known=pl.col("n_sharing").is_null() | (pl.col("n_sharing") > 0))  # null: no region character kept
    typo = typo.with_columns(rlast=pl.when(~pl.col("rname").str.ends_with("*")).then(pl.col("rname").str.slice(-1)))
    def name_conds(cond: str, sub: str, close: str, names: list[str], part: pl.DataFrame) -> list[str]:
        """The join conditions of a typo-pass key `sub` (kept pattern) with its ID condition `cond`."""
        if sub[6:].count("1") < cfg.typo_min_kept or "1" not in sub[14:]:
            # weak key (few non-region chars, or region + part of a birth date, which many
            # share): the name must read alike too (`TYPO_WHOLE`, `TYPO_ENDS`)
            return [cond + " AND " + name for name in names if not close or name == TYPO_WHOLE]
        if sub.count("1") < cfg.typo_name_key_below:  # surname, or the last char when it is hidden
            return [cond + " AND r.surname = p.csurname"] + (
                [cond + " AND r.rlast = p.clast AND r.surname IS NULL"] if part["surname"].is_null().any() else [])
        return [cond]

    for n, ((pat,), part) in enumerate(typo.partition_by("kept", as_dict=True).items()):
        table = part.select("rid", "id_norm", "surname", "rname", "known", "rlast", "fpy", "first_py", "last_py")
        con.register(f"typo{n}", table.to_arrow())
        # the name conditions some record of the pattern can meet (a join no record can meet is not run)
        names = [c for c, some in ((TYPO_WHOLE, part["fpy"].is_not_null().any()),
                                   (TYPO_ENDS, (part["fpy"].is_null() & part["surname"].is_not_null()
                                                & part["rlast"].is_not_null()).any())) if some]
        keys = {}  # key pattern -> (whether it drops the region, extra join condition, one slip in the region)
        for seg, (a, b) in SEGMENTS.items():
            gone = [i for i in range(a, b) if pat[i] == "1"]
            sub = _zero(pat, gone)
            if sub == pat or "1" not in sub or sub in keys:
                continue
            # Only region characters would be left (3+4 or 6+4 kept, the last 4 dropped): a
            # namesake search over the whole area, which grows with its square. All but one of
            # the dropped characters must still agree, or all but two adjacent ones swapped.
            close = "" if "1" in sub[6:] else " AND " + _one_slip(gone)
            keys[sub] = (seg == "region", close, _one_slip(gone) if seg == "region" else None)
            if close and any(i + 1 in gone for i in gone):  # ... so two adjacent ones swapped (3382
                # for 3832) are also joined, on every kept character: as strong a key as the
                # pattern's own (with its name conditions where it is weak), a masked name will do
                con.register(f"swap{n}{seg}", _swapped(table, gone).to_arrow())
                same = f"{_key_sql('r.id_norm', pat)} = {_key_sql('p.id_number', pat)}"
                parts += [f"SELECT r.rid, p.pidx, 'typo' AS pass FROM swap{n}{seg} r JOIN ros p ON {c}"
                          for extra in by_name.get(pat, [""]) for c in name_conds(same + extra, pat, "", names, part)]
        for sub, (region_dropped, close, region_slip) in keys.items():
            cond = f"{_key_sql('r.id_norm', sub)} = {_key_sql('p.id_number', sub)}" + close
            where = "NOT r.known" if region_dropped else "TRUE"
            conds = name_conds(cond, sub, close, names, part)
            if not region_dropped or not part["known"].all():  # (no record's region is unknown: none to drop)
                parts += [f"SELECT r.rid, p.pidx, 'typo' AS pass FROM typo{n} r JOIN ros p ON {c} WHERE {where}"
                          for c in conds]
            # A region may be another of the county's regions mistyped (342223 as 342224): dropped
            # too, when the name reads alike and the region is one slip away, be it one the roster
            # knows or not (above, an unknown one needs the surname, which a homophone's lacks).
            if region_dropped:
                parts += [f"SELECT r.rid, p.pidx, 'typo' AS pass FROM typo{n} r JOIN ros p ON {cond} AND {name} "
                          f"AND {region_slip}" for name in names]
    typo_pairs = _sql(con, parts)
    found = pl.concat([found, typo_pairs["rid"]]).unique()
    absent_pairs = _absentees(con, rec, keyed, fitting, cfg)
    # Name pass, for records found by neither pass that have no usable ID or do have a place:
    # surname + village, surname + township + the last name character's pinyin (a township
    # holds thousands: surname alone would pair a record with hundreds), or the full name alone.
    # In a village or township the whole name read alike (`TYPO_WHOLE`) joins too: a surname's
    # homophone (增国强 for 曾国强, 章 for 张) shares no surname character.
    con.register("left_", rec.filter(
        ~pl.col("rid").is_in(found.implode()), pl.col("surname").is_not_null(),
        (pl.col("k") < cfg.min_kept_for_id_block) | pl.col("tn").is_not_null() | pl.col("vn").is_not_null())
                 .select("rid", "surname", "rname", "tn", "vn", "last_py", "fpy").to_arrow())
    name_pairs = _sql(con, [
        f"SELECT r.rid, p.pidx, 'name+place' AS pass FROM left_ r JOIN ros p ON {name} "
        "AND r.vn = p.cvn AND (r.tn IS NULL OR r.tn = p.ctn)" for name in ("r.surname = p.csurname", TYPO_WHOLE)] + [
        "SELECT r.rid, p.pidx, 'name+township' AS pass FROM left_ r JOIN ros p ON r.surname = p.csurname "
        "AND r.tn = p.ctn AND (r.last_py IS NULL OR r.last_py = p.clast_py) WHERE r.vn IS NULL",
        f"SELECT r.rid, p.pidx, 'name+township' AS pass FROM left_ r JOIN ros p ON {TYPO_WHOLE} "
        "AND r.tn = p.ctn WHERE r.vn IS NULL",
        "SELECT r.rid, p.pidx, 'name' AS pass FROM left_ r JOIN ros p ON replace(r.rname, '·', '') = replace(p.cname, '·', '') "
        "WHERE r.vn IS NULL AND r.tn IS NULL",
    ])
    con.close()
    # first pass wins (a roster slip before a record's typo: the roster's ID surely holds one; a
    # list's record one slip from a person it lacks is weighed as such, whichever pass met them);
    # sorted so that every run gives the same pairs in the same order
    allp = pl.concat([pairs, slip_pairs, absent_pairs, typo_pairs, name_pairs]).sort(  # (stable: a pair's first pass comes first)
        pl.col("rid").cast(pl.UInt64) * 2**32 + pl.col("pidx").cast(pl.UInt64), maintain_order=True)
    new = (pl.col("rid") != pl.col("rid").shift()) | (pl.col("pidx") != pl.col("pidx").shift())
    return allp.filter(new.fill_null(True))


def _absentees(con: duckdb.DuckDBPyConnection, rec: pl.DataFrame, ros: pl.DataFrame, fitting: pl.DataFrame,
               cfg: MatchingConfig) -> pl.DataFrame:
    """Pairs (rid, pidx, pass ABSENTEE) of a complete snapshot's records (`snap`: 参保名单, every
    insured resident once) with the roster persons none of its records fits (ID-compatible, the
    surname agreeing: `fitting`): such a person would be called absent from it (M4), though
    their record may be there with a kept character mistyped under a masked name (王*秀 for
    王玉秀), which the typo pass pairs only with a whole name. They are few, so each of their IDs is written every way one slip from it (one
    character changed, or two adjacent swapped: `_slipped_ids`) and joined on the kept
    characters of the records that fit no one else (one that does is that person's, not a slip
    of another's), under a name whose shown first and last characters read as theirs; only for
    a person so paired with at most `review_max_candidates` records (one slip from more, they are
    strangers fitting by chance, as in a city's list of millions most are). Not when such
    persons are more than `absentee_max_share` of the roster: the list is partial, not mistyped.
    `_complete_snapshots` weighs such a pair as the only record that may be the person's. `ros`
    and `rec` as `_block` reads them."""
    snap = rec.filter(pl.col("snap"))
    absent = ros.filter(~pl.col("pidx").is_in(fitting.filter(pl.col("rid").is_in(snap["rid"].implode()))["pidx"].implode()))
    # (a whole ID one slip from theirs fails its check 10 times in 11: the typo pass's already)
    snap = snap.filter(pl.col("id_status").is_in(["masked", "destroyed"]), pl.col("k") >= cfg.min_kept_for_id_block,
                       ~pl.col("rid").is_in(fitting["rid"].implode())).select("rid", "kept", "id_norm", "first_py", "last_py")
    n_absent = absent["pidx"].n_unique()
    if snap.is_empty() or not 0 < n_absent <= cfg.absentee_max_share * ros["pidx"].n_unique():
        return _sql(con, [])
    ids, names = absent.select("pidx", "id_number").unique("pidx"), absent.select("pidx", "cfirst_py", "clast_py")
    parts = []
    for n, ((pat,), part) in enumerate(snap.partition_by("kept", as_dict=True, include_key=False).items()):
        # the slips at kept characters only (one at a masked character is the person's own key)
        con.register(f"slip{n}", _slipped_ids(ids, [i for i, c in enumerate(pat) if c == "1"]).join(
            names, on="pidx").to_arrow())
        # a name showing its first character meets on it (and on its last, when shown), one
        # hiding it on its last; a name showing neither, not at all (each an equi-join: a
        # city's list holds millions of strangers)
        con.register(f"first{n}", part.filter(pl.col("first_py").is_not_null()).to_arrow())
        con.register(f"last{n}", part.filter(pl.col("first_py").is_null(), pl.col("last_py").is_not_null()).to_arrow())
        same = f"{_key_sql('r.id_norm', pat)} = {_key_sql('p.id_number', pat)}"
        parts += [f"SELECT r.rid, p.pidx, '{ABSENTEE}' AS pass FROM first{n} r JOIN slip{n} p ON {same} "
                  "AND r.first_py = p.cfirst_py WHERE r.last_py IS NULL OR r.last_py = p.clast_py",
                  f"SELECT r.rid, p.pidx, '{ABSENTEE}' AS pass FROM last{n} r JOIN slip{n} p ON {same} "
                  "AND r.last_py = p.clast_py"]
    return _sql(con, [f"WITH j AS (SELECT DISTINCT rid, pidx, pass FROM ({' UNION ALL '.join(parts)})), "
                      f"few AS (SELECT pidx FROM j GROUP BY pidx HAVING count(*) <= {int(cfg.review_max_candidates)}) "
                      "SELECT * FROM j SEMI JOIN few USING (pidx)"])


def _slipped_ids(ids: pl.DataFrame, positions: list[int]) -> pl.DataFrame:
    """(pidx, id_number): each 18-character ID of `ids` (pidx, id_number) with one character of
    `positions` changed or two adjacent ones of them swapped, check character or not: the IDs a
    record of theirs keeping those positions may show after one typing slip there."""
    whole = ids.filter(pl.col("id_number").str.len_bytes() == 18)
    m = char_matrix(whole["id_number"], 18)
    pidx = whole["pidx"].to_numpy()
    parts = [(pidx[:0], m[:0])]
    for i in positions:
        for c in b"0123456789X" if i == 17 else b"0123456789":
            hit = np.flatnonzero(m[:, i] != c)
            var = m[hit].copy()
            var[:, i] = c
            parts.append((pidx[hit], var))
    for i in (i for i in positions if i + 1 in positions):
        hit = np.flatnonzero(m[:, i] != m[:, i + 1])
        var = m[hit].copy()
        var[:, [i, i + 1]] = var[:, [i + 1, i]]
        parts.append((pidx[hit], var))
    return pl.DataFrame({
        "pidx": np.concatenate([p for p, _ in parts]).astype(np.uint32),
        "id_number": pl.Series(np.concatenate([v for _, v in parts]).view("S18").ravel()).cast(pl.Utf8),
    })


# A weak typo-pass key's name conditions (each an equi-join): the whole name read alike
# (exact, homophone, traditional form: the same pinyin, character by character), or a masked
# name showing both ends (李*静: the surname, the last character and the length agree). A key of
# region characters alone (the last 4 dropped) takes only the first: in a city, both ends of a
# name are shared by hundreds in an area.
TYPO_WHOLE = "r.fpy = p.cfpy"
TYPO_ENDS = "r.surname = p.csurname AND r.rlast = p.clast AND length(r.rname) = length(p.cname) AND r.fpy IS NULL"


def _one_slip(positions: list[int]) -> str:
    """SQL: the record's ID (r.id_norm) and the roster person's (p.id_number) agree at all of
    `positions` but one, or but two adjacent ones that are each other's (swapped: 3382 for 3832)."""
    at = lambda i, k: f"substr(r.id_norm, {i + 1}, 1) = substr(p.id_number, {k + 1}, 1)"  # noqa: E731
    ways = [[at(i, i) for i in positions if i != j] for j in positions]  # one changed
    ways += [[at(i, i) for i in positions if i not in (j, j + 1)] + [at(j, j + 1), at(j + 1, j)]
             for j in positions if j + 1 in positions]  # two adjacent swapped
    return "(" + " OR ".join("(" + (" AND ".join(w) or "TRUE") + ")" for w in ways) + ")"


def _mean_block(con: duckdb.DuckDBPyConnection, pat: str, first_py: bool = False) -> float:
    """Mean number of roster persons compatible with a record of mask pattern `pat` (with
    `first_py`: also sharing the pinyin of its first name character), over the records of
    `smp` (those of the pattern, or an even sample of them) that have any. Distinct pairs: a name
    read more than one way is a row per reading on either side (`_read_every_way`)."""
    on = " AND r.first_py = p.cfirst_py" if first_py else ""
    pair = "r.rid::BIGINT * 4294967296 + p.pidx"
    q = (f"SELECT coalesce(count(DISTINCT {pair}) / nullif(count(DISTINCT r.rid), 0), 0) FROM smp r JOIN ros p "
         f"ON {_key_sql('r.id_norm', pat)} = {_key_sql('p.id_number', pat)}{on}")
    return float(con.sql(q).fetchall()[0][0])


def _sql(con: duckdb.DuckDBPyConnection, parts: list[str], **extra) -> pl.DataFrame:
    empty = pl.DataFrame(schema={"rid": pl.UInt32, "pidx": pl.UInt32, "pass": pl.Utf8, **extra})
    if not parts:
        return empty
    return con.sql(" UNION ALL ".join(parts)).pl().cast(empty.schema)


def _read_every_way(df: pl.DataFrame, name: str, prefix: str, cfg: MatchingConfig) -> pl.DataFrame:
    """`df` (with its name column `name` and pinyin keys `{prefix}first_py`, `{prefix}last_py`,
    `{prefix}fpy`: `edge_pinyin`'s, `full_pinyin`'s) and after it, for each row whose name holds a
    character `cfg.name_readings` gives other readings (曾 zeng, 长 chang, 都 du), the row again
    with the keys of each other way of reading it (`other_readings`): a blocking join on a key
    then meets every name `compare_codes` reads alike, whichever side holds the character. Only
    those rows repeat, once or a few times each (a reading per such character, combined)."""
    keys = [f"{prefix}first_py", f"{prefix}last_py", f"{prefix}fpy"]
    other = other_readings(df[name], cfg.name_readings, cfg.name_readings_max_keys)
    if other.is_empty():
        return df
    other = other.rename(dict(zip(["first_py", "last_py", "fpy"], keys)))
    more = df.drop(keys).join(other, left_on=name, right_on="name", maintain_order="left_right")
    return pl.concat([df, more.select(df.columns)])


def _crowded_days(ros: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """(_md, _x): the birth month-days (MMDD) the roster's IDs show at least `birth_day_crowding`
    times as often as chance (1 in 365.25), and by how much: 01-01 or 07-01, written where a
    person's birthday was not known, holds in some counties one elderly person in two. The
    ratio is shrunk towards 1 by `birth_day_strength` pseudo-persons (a small roster's three
    persons of one day are chance)."""
    if cfg.birth_day_crowding <= 0 or ros.is_empty():
        return pl.DataFrame(schema={"_md": pl.Utf8, "_x": pl.Float64})
    md = ros.select(_md=pl.col("id_number").str.slice(10, 4)).filter(pl.col("_md").str.contains(r"^[0-9]{4}$"))
    expected, s = md.height / 365.25, cfg.birth_day_strength
    return (md.group_by("_md").agg(_x=(pl.len() + s) / (expected + s))
            .filter(pl.col("_x") >= cfg.birth_day_crowding))


def _id_u(rec: pl.DataFrame, ros: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """Per record: u_id = P(a random person's ID agrees on every kept position). Birth dates are
    taken as spread evenly over `birth_years`, except a month-day the roster crowds
    (`_crowded_days`): a record keeping it is that much likelier a stranger's. Part of a birth
    date (an old 15-digit ID's day or yymmd, `ids._old_mask`) is as common as the roster's IDs
    say: its last day digit is one person in ten, not the eighth root of a day in a century."""
    n = ros.height
    region_u = _sharing(rec, ros).select("rid", u_region=(pl.col("n_sharing") + 1) / (n + 2))
    kept = pl.col("kept")
    birth_k = kept.str.slice(6, 8).str.count_matches("1")
    # part of a birth date (an old 15-digit ID's day, `ids._old_mask`): the roster's share of it
    part_u = _sharing(rec, ros, 6, 14, only=birth_k.is_between(1, 7)).select(
        "rid", u_part=(pl.col("n_sharing") + 1) / (n + 2))
    bit = lambda i: kept.str.slice(i, 1) == "1"  # noqa: E731
    u = (
        pl.coalesce("u_part", (1 / (cfg.birth_years * 365.25)) ** (birth_k / 8))
        * pl.when(bit(14)).then(0.1).otherwise(1.0)
        * pl.when(bit(15)).then(0.1).otherwise(1.0)
        * pl.when(bit(16)).then(0.1).otherwise(1.0)
        * pl.when(bit(17) & ~kept.str.starts_with("1" * 17)).then(1 / 11).otherwise(1.0)
    )
    out = rec.join(part_u, on="rid", how="left", maintain_order="left").select(
        "rid", "k", u_rest=u,  # (a roster share counts its crowded days already)
        _md=pl.when((kept.str.slice(10, 4) == "1111") & pl.col("u_part").is_null()).then(pl.col("id_norm").str.slice(10, 4)))
    crowded = _crowded_days(ros, cfg)
    if crowded.height:
        out = out.join(crowded, on="_md", how="left").with_columns(u_rest=pl.col("u_rest") * pl.col("_x").fill_null(1.0))
    return (
        out.join(region_u, on="rid", how="left")
        .select("rid", "k", u_id=pl.col("u_region").fill_null(1.0) * pl.col("u_rest"))
    )


def _slip_rate(full: np.ndarray, failed: np.ndarray, cfg: MatchingConfig) -> np.ndarray:
    """The slip rate per typed ID character of groups whose `full` full IDs include `failed`
    failing the check: a slip in one of a full ID's 17 digits fails it 10 times in 11, so
    c = failed / (full x 17 x 10/11), shrunk towards `typo_rate` by `typo_strength` pseudo
    full IDs."""
    fails = 17 * 10 / 11  # a full ID's failing slips per unit of slip rate
    return (failed + cfg.typo_strength * fails * cfg.typo_rate) / ((full + cfg.typo_strength) * fails)


def slip_rates(records: pl.DataFrame, cfg: MatchingConfig, status: pl.Series | None = None) -> pl.DataFrame:
    """PersonRecord frame (+ its records' `id_status`, normalised here when not given) -> per
    dept/kind: full (records showing a whole ID), failed (of them failing the check) and
    slip_rate (`_slip_rate`), the m the matcher gives a masked record of the group for one kept
    character differing (x its kept characters, `_typo_m`); the data-quality report lists them,
    so a department whose clerks mistype IDs hears of it."""
    if status is None:  # only the IDs showing no mask can be whole: the others are not normalised
        raw = records.select(id_raw=pl.col("id_raw").cast(pl.Utf8)).with_row_index("_i")
        bare = raw.filter(~shows_mask(pl.col("id_raw")).fill_null(True))
        status = pl.repeat("masked", records.height, dtype=pl.Utf8, eager=True).scatter(
            bare["_i"], normalize_ids(bare.drop("_i"))["id_status"])
    counts = records.select("dept", "kind", full=status.is_in(["full_valid", "full_check_failed"]),
                            failed=status == "full_check_failed").group_by("dept", "kind").agg(
        pl.col("full").sum(), pl.col("failed").sum()).sort("dept", "kind")
    return counts.with_columns(slip_rate=pl.Series(_slip_rate(counts["full"].to_numpy(), counts["failed"].to_numpy(), cfg)))


def slip_findings(records: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """PersonRecord frame -> QualityFinding rows, one per dept/kind some of whose full IDs fail
    the check (`slip_rates`): how often its clerks slip, which the matcher allows for in masked
    IDs' kept digits, so that the department hears of it."""
    slips = slip_rates(records, cfg).filter(pl.col("failed") > 0)
    return slips.select(
        category=pl.lit(Finding.CHECK_FAILS), dept="dept", file=pl.lit(None, pl.Utf8),
        detail=pl.format("{}：完整身份证号 {} 个中 {} 个校验位不符，估计每录入一位出错约 {}%，脱敏号码的保留位按此计入一位之差"
                         " — {} of {} full IDs fail the check: about {}% of typed characters slip, which the matcher "
                         "allows for in masked IDs' kept digits", "kind", "full", "failed",
                         (pl.col("slip_rate") * 100).round(2), "failed", "full", (pl.col("slip_rate") * 100).round(2)),
        count=pl.col("failed").cast(pl.Int64),
    )


def _typo_m(rec: pl.DataFrame, records: pl.DataFrame, cfg: MatchingConfig) -> pl.Series:
    """Per masked record (null for the others, whose levels are configured): m of one-differs,
    the chance that one of its k kept ID characters was mistyped, k x the slip rate per
    character of its dept/kind read off the group's own full IDs (`slip_rates`: the same hands
    typed them). A department whose full IDs often fail the check is trusted to have mistyped a
    kept digit too (a one-slip candidate weighs more); one whose full IDs never fail, less."""
    rate = records.select("dept", "kind").join(slip_rates(records, cfg, rec["own_status"]), on=["dept", "kind"],
                                               how="left", maintain_order="left")["slip_rate"]
    m = (rate * rec["k"]).clip(upper_bound=1.0)  # (a department failing every check)
    return m.set(~rec["id_status"].is_in(["masked", "destroyed"]), None).alias("m_one")


def _sharing(rec: pl.DataFrame, ros: pl.DataFrame, start: int = 0, stop: int = 6,
             only: pl.Expr | None = None) -> pl.DataFrame:
    """Per record keeping some character at positions [start, stop) (rid, id_norm, kept; those
    `only` selects): n_sharing, the number of roster IDs sharing its kept characters there (the
    region code's by default)."""
    out = []
    part = rec if only is None else rec.filter(only)
    for m6 in part["kept"].str.slice(start, stop - start).unique().to_list():
        if "1" not in m6:
            continue
        key = pl.col("id_number").str.slice(start, stop - start).map_batches(
            lambda s, m6=m6: _mask_series(s, m6), return_dtype=pl.Utf8)
        counts = ros.group_by(key=key).len()
        out.append(
            part.filter(pl.col("kept").str.slice(start, stop - start) == m6)
            .select("rid", key=pl.col("id_norm").str.slice(start, stop - start).map_batches(
                lambda s, m6=m6: _mask_series(s, m6), return_dtype=pl.Utf8))
            .join(counts, on="key", how="left")
            .select("rid", n_sharing=pl.col("len").fill_null(0).cast(pl.UInt32))
        )
    return pl.concat(out) if out else pl.DataFrame(schema={"rid": pl.UInt32, "n_sharing": pl.UInt32})


def _mask_series(s: pl.Series, mask: str) -> pl.Series:
    runs = _runs(mask)  # the same kept runs as the blocking key (`_key_sql`)
    return pl.select(pl.concat_str([s.str.slice(a, n) for a, n in runs])).to_series() if runs else pl.Series([""] * s.len())


def _compare_ids(pairs: pl.DataFrame) -> pl.Series:
    """ID level per pair: kept-agree, one-differs (one digit or one adjacent swap),
    two-differ, disagree, missing (nothing kept). Pairs of the ID pass joined on every kept
    position: they agree by construction and skip the per-character comparison."""
    by_id = pairs["pass"] == "id"
    if by_id.all():
        return pl.Series("id_level", ["kept-agree"] * pairs.height, pl.Utf8)
    rest = pairs.with_row_index("_i").filter(~by_id)
    out = pl.Series("id_level", ["kept-agree"] * pairs.height, pl.Utf8)
    return out.scatter(rest["_i"], _compare_id_chars(rest))


def _compare_id_chars(pairs: pl.DataFrame) -> pl.Series:
    r, c = _id_bytes(pairs["id_norm"]), _id_bytes(pairs["id_number"])
    nd = ((r != ord("*")) & (r != c)).sum(1)
    swap = ((r[:, :-1] != r[:, 1:]) & (r[:, :-1] == c[:, 1:]) & (r[:, 1:] == c[:, :-1])).any(1)
    return pairs.select(pl.col("k"), nd=pl.Series(nd), swap=pl.Series(swap)).select(
        pl.when(pl.col("k") == 0).then(pl.lit("missing"))
        .when(pl.col("nd") == 0).then(pl.lit("kept-agree"))
        .when((pl.col("nd") == 1) | ((pl.col("nd") == 2) & pl.col("swap"))).then(pl.lit("one-differs"))
        .when(pl.col("nd") == 2).then(pl.lit("two-differ"))
        .otherwise(pl.lit("disagree"))
    ).to_series()


def _id_bytes(s: pl.Series) -> np.ndarray:
    """IDs as an (n, 18) byte matrix; a value that is not 18 ASCII characters agrees with nothing."""
    s = s.fill_null("").str.pad_end(18, "?").str.slice(0, 18)
    return char_matrix(pl.select(pl.when(s.str.len_bytes() == 18).then(s).otherwise(pl.lit("?" * 18))).to_series(), 18)


def _place_stats(ros: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Chance agreement per (township, village), per village name in any township, per township."""
    n = ros.height
    # groups in a fixed order: u_v_any sums floats, and a sum's last digit follows its order
    v = ros.group_by("ctn", "cvn", maintain_order=True).len().with_columns(u_village=(pl.col("len") + 1) / (n + 2)).drop("len")
    t = ros.group_by("ctn").len().with_columns(u_township=(pl.col("len") + 1) / (n + 2)).drop("len")
    return v, v.group_by("cvn", maintain_order=True).agg(u_v_any=pl.col("u_village").sum()), t


def census_of(records: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """The records of the complete snapshots (`complete_snapshot_kinds`: the 参保名单), the census
    the other kinds are linked against (`_census`)."""
    return records.filter(pl.col("kind").is_in(list(cfg.complete_snapshot_kinds)))


def link_with_census(records: pl.DataFrame, census: pl.DataFrame, roster: pl.DataFrame, cfg: MatchingConfig,
                     answers: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`link` of `records` against a census borrowed from the period's full run (`census`: the
    census records it stored; a partial run that does not re-read the 参保名单): the census weighs
    them as it did then, and its own links and candidates (that run's, kept) are left out."""
    kinds = list(cfg.complete_snapshot_kinds)
    links, candidates = link(pl.concat([records, census]), roster, cfg, answers)
    return links.filter(~pl.col("kind").is_in(kinds)), candidates.filter(~pl.col("kind").is_in(kinds))


def link(records: pl.DataFrame, roster: pl.DataFrame, cfg: MatchingConfig,
         answers: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """PersonRecord frame + RosterPerson frame -> (Link frame, ReviewCandidate frame).

    The candidates are those of every record not matched: all top candidates of a `review`
    record (the human-review queue), and of an `unmatched` one those still holding at least
    `candidate_floor` probability (so that, e.g., a roster person who may well be on the
    enrollment list is not called absent from it). `decision` says which.

    `answers`: analysts' answers to the review queue (ReviewDecision rows), weighed as evidence
    before anything is decided (`_answered`): a person answered 否 is never the record's
    candidate, and the record's other candidates are weighed without them; a record answered
    是 is that person's and no one else's: in a one-record-per-person list no other record is
    linked to them, and one whose best candidate they are (p >= review_threshold, a claimant,
    `_rival_shares`) goes to review with them (cause `taken`, naming the record and the answer),
    so that a wrong 是 does not silently unlink the person's own record. The answer itself is
    cited by `pipelines.review_answers.apply_answers`.

    The roster is taken in `person_id` order: its row order (the 底册's, as exported) sets no
    tie between equal candidates and no order of a sum, so the same data links the same,
    to the bit, however its rows were exported."""
    roster = roster.sort("person_id")
    ros = _prepare_roster(roster, cfg)
    rec = _prepare_records(records, cfg).with_columns(_hint_towns(records, ros, cfg))
    population = cfg.county_population or max(roster.height / cfg.roster_share, roster.height + 1)
    run = _Run.of(records, roster.height, population)
    near = _near_ids(rec)
    slips = _roster_near_ids(ros)
    n_slip = slips.group_by("pidx").agg(n_slip=pl.len())  # per roster person whose ID fails the check
    pairs = _block(rec, ros, near, cfg, slips)
    confirmed = None
    touched = pl.DataFrame(schema={"rid": pl.UInt32, "asked": pl.Boolean, "cite": pl.Utf8})
    if answers is not None and answers.height:
        pairs, confirmed, touched = _answered(pairs, records, ros, answers)
    rec = rec.with_columns(confirmed=pl.col("rid").is_in(confirmed["rid"].implode()) if confirmed is not None
                           else pl.lit(False))  # (its person leads any rivals: `_rival_shares`)

    stats = name_stats(ros["cname"])
    codes = NameCodes.of(rec["rname"], ros["cname"], readings=cfg.name_readings)  # pairs compare names as integer codes
    vstat, vany, tstat = _place_stats(ros)
    left = dict(how="left", maintain_order="left")
    ctx = {
        # each record once with everything its pairs need from its side (chance agreements included)
        "rec": rec.select("rid", "id_norm", "kept", "k", "id_status", "tn", "vn", "hn", rcode=codes.code(rec["rname"]),
                          m_one=_typo_m(rec, records, cfg),
                          rhead=records["kind"].is_in(list(cfg.head_kinds)))
        .join(_id_u(rec, ros, cfg).drop("k"), on="rid", **left)
        .join(near.group_by("rid").agg(n_near=pl.len()), on="rid", **left)
        .join(name_u(rec["rname"], stats).select(pl.exclude("name"), rcode=codes.code(pl.col("name"))), on="rcode", **left)
        .join(vstat, left_on=["tn", "vn"], right_on=["ctn", "cvn"], **left)
        .join(vany, left_on="vn", right_on="cvn", **left)
        .join(tstat, left_on="tn", right_on="ctn", **left),
        "ros": ros.select("pidx", "id_number", "ctn", "cvn", "chead", ccode=codes.code(ros["cname"]))
        .join(n_slip, on="pidx", **left),
        "codes": codes,
        "u_head": ros["chead"].mean(),  # the share of heads among roster persons whose role is known
        "floor": 0.1 / population,
    }
    # Pairs are scored in slices (whole records each) and kept narrow: a city holds millions.
    step = max(cfg.pair_chunk, 1)
    bounds = pairs["rid"].gather_every(step).to_list()[1:] if pairs.height > step else []
    edges = [0, *pairs["rid"].search_sorted(pl.Series(bounds, dtype=pl.UInt32), "left").to_list(), pairs.height]
    pairs = pl.concat([_keep_top(_score(pairs.slice(lo, hi - lo), ctx, cfg), cfg)
                       for lo, hi in zip(edges, edges[1:]) if hi > lo] or [_keep_top(_score(pairs, ctx, cfg), cfg)])
    if cfg.name_m_iterations:
        pairs = _learn_name_m(pairs, rec, run, cfg)
    pairs = _learn_place_hint(pairs, rec, run, cfg)
    pairs = _learn_age_prior(pairs, rec, ros, run, cfg)
    if confirmed is not None:  # a confirmed pair outweighs anyone else: its p is 1 wherever p is read
        sure = pl.col("rid").is_in(confirmed["rid"].implode())
        pairs = pairs.with_columns(w=pl.when(sure).then(pl.lit(CONFIRMED_W)).otherwise("w"),
                                   W=pl.when(sure).then(pl.lit(CONFIRMED_W)).otherwise("W"))
    # The complete snapshot first: its posteriors make the census the other kinds are weighed against.
    snap_rid = records.select("kind").with_row_index("rid").filter(
        pl.col("kind").is_in(list(cfg.complete_snapshot_kinds)))["rid"]
    is_snap = pl.col("rid").is_in(snap_rid.implode())
    snap, rest = pairs.filter(is_snap), pairs.filter(~is_snap)
    del pairs
    def posterior(p: pl.DataFrame, census: pl.DataFrame | None = None) -> pl.DataFrame:
        rid = p["rid"].to_numpy()
        other = _other_weight(*_per_record(rid, p["W"].to_numpy()), run, cfg, census)
        return p.with_columns(other=pl.Series(other[rid])).with_columns(p=pl.col("w") / (pl.col("W") + pl.col("other")))

    snap = _complete_snapshots(posterior(snap), records, roster.height, cfg)
    complete = cfg.census_completeness
    if complete == "measured":
        complete = list_completeness(records, roster, cfg).value
    coverage = records.select(cov=pl.when(pl.col("kind").is_in(list(cfg.census_completeness_kinds)))
                              .then(pl.lit(census_coverage(cfg, complete, insured=True)))
                              .otherwise(pl.lit(census_coverage(cfg, complete))))["cov"]
    census = _census(rest, snap, rec.with_columns(records["kind"]).filter(is_snap), rec.with_columns(coverage).filter(~is_snap),
                     ros, ctx, cfg)
    rest = posterior(rest, census)
    # (each record's side of its pairs, held for scoring: ~150 bytes a record; of the prepared
    # records, what the decisions and the reasons read)
    del ctx
    rec = rec.select("rid", "id_status", "k", "masked", "confirmed", "kept", "id_src", "rname")
    # (without what only the posteriors read: the pairs are sorted, a copy of each column)
    pairs = pl.concat([snap, rest.with_columns(snapshot=pl.lit(False))]).drop("hint", "W", "agree", "other", strict=False)
    del snap, rest
    pairs = pairs.sort(["rid", "p", "pidx"], descending=[False, True, False]).with_columns(pl.col("rid").set_sorted())
    top = pairs.with_columns(rank=_rank_in_run()).filter(pl.col("rank") <= max(2, cfg.review_max_candidates))
    del pairs  # a city's millions of scored pairs: only the top candidates are read from here on
    # (psum: the chance that the record is one of the candidates the queue would show it with,
    # `review_max_candidates`; several persons fitting alike, none likely alone, may well be one
    # of them: asked, not left unmatched)
    best = top.group_by("rid", maintain_order=True).agg(
        p1=pl.col("p").first(), w1=pl.col("w").first(), p2=pl.col("p").get(1, null_on_oob=True).fill_null(0.0),
        psum=pl.col("p").sum(), pidx=pl.col("pidx").first(), n_cand=pl.col("n_cand").first(),
        name1=pl.col("name_level").first(), id1=pl.col("id_level").first(),
    ).join(ros.select("pidx", "person_id", "household_id"), on="pidx", how="left", maintain_order="left")
    ambiguous = pl.col("p2") >= cfg.ambiguity_ratio * pl.col("p1")
    # the name says another person, and no whole ID says otherwise (a mistyped whole ID fails its
    # check, and a name's dirt and mask together may leave it reading as another's: *浩 for 杨浩宇)
    unnamed = pl.col("name1").is_in(list(cfg.no_link_name_levels)) & ~((pl.col("k") == 18) & (pl.col("id1") == "kept-agree"))
    decision = (
        pl.when((pl.col("p1") >= pl.col("thr")) & ~ambiguous & ~unnamed).then(pl.lit("matched"))
        .when((pl.col("p1") >= cfg.review_threshold) | (pl.col("psum") >= cfg.review_threshold)
              # an analyst who ruled a candidate out is still asked about the ones left that may be it
              | (pl.col("asked") & (pl.col("p1") >= cfg.candidate_floor))).then(pl.lit("review"))
        .otherwise(pl.lit("unmatched"))
    )
    thr = records["dept"].replace_strict(cfg.match_threshold_by_dept, default=cfg.match_threshold, return_dtype=pl.Float64)
    out = (rec.select("rid", "id_status", "k", "masked", "confirmed", thr=thr)
           .join(best, on="rid", how="left", maintain_order="left")
           .join(touched, on="rid", how="left", maintain_order="left").with_columns(pl.col("asked").fill_null(False)))
    out = out.with_columns(decision=decision.fill_null("unmatched"))
    out = _one_record_per_person(out, records, cfg)
    out = _held_by_others(out, top, records, ros, cfg).with_columns(
        cause=pl.when(pl.col("taken")).then(pl.lit("taken")).when(pl.col("rival")).then(pl.lit("rival"))
        .when(ambiguous).then(pl.lit("ambiguous"))
        .when(unnamed & (pl.col("p1") >= pl.col("thr"))).then(pl.lit("name")).otherwise(pl.lit("weak")))
    # reasons only for the candidates anyone reads: each record's best, the undecided records' list
    undecided = out.filter(pl.col("decision") != "matched").select("rid", "decision", "cause", "rivals")
    read = (
        top.join(undecided, on="rid", how="left", maintain_order="left")
        .with_columns(listed=pl.col("decision").is_not_null() & (pl.col("rank") <= cfg.review_max_candidates)
                      & ((pl.col("decision") == "review") | (pl.col("p") >= cfg.candidate_floor)))
        .filter((pl.col("rank") == 1) | pl.col("listed"))
        .join(rec.select("rid", "kept", "id_status", "id_src", "rname"), on="rid", how="left", maintain_order="left")
        .join(ros.select("pidx", "person_id", "household_id", "cname"), on="pidx", how="left", maintain_order="left")
        .join(n_slip, on="pidx", how="left", maintain_order="left")
        .join(census.select("rid", "census_fits"), on="rid", how="left", maintain_order="left")
    )
    del top, rec  # (a city's millions of rows: what is read from here on is in `read` and `out`)
    # `read` narrowed to what the candidates and the links read of it once the reasons are worded
    read = read.select("rid", "rank", "listed", "decision", "cause", "rivals", "person_id", "household_id", "p",
                       reason=_reason(read))
    out = out.select("rid", "decision", "person_id", "household_id", "p1", "cause", "rivals", "share", "asked", "k",
                     "id_status", "n_cand").join(read.filter(pl.col("rank") == 1).select("rid", "reason"), on="rid",
                                                 how="left", maintain_order="left")
    matched = pl.col("decision") == "matched"
    links = pl.concat([records.select("dept", "kind", "record_id"), out.sort("rid")], how="horizontal").select(
        "dept", "kind", "record_id", "decision",
        person_id=pl.when(matched).then("person_id"), household_id=pl.when(matched).then("household_id"),
        score=pl.col("p1"),
        reason=pl.concat_str([pl.coalesce(
            pl.concat_str([
                pl.when(pl.col("cause") == "taken").then(pl.format(
                    "the person was confirmed by a review answer as that of record {} of this list: ", "rivals"))
                .when(pl.col("cause") == "rival").then(pl.lit("another record of this snapshot fits the same person: "))
                .when((pl.col("cause") == "ambiguous") & (pl.col("decision") == "review")).then(pl.lit("ambiguous: "))
                .when(pl.col("cause") == "name").then(pl.lit("the name is not the candidate's, never linked unseen: "))
                .otherwise(pl.lit("")),
                "reason",
                pl.when(pl.col("share") < 0.995).then(pl.concat_str([
                    pl.lit("; holds "), (pl.col("share") * 100).round(0).cast(pl.Int64).cast(pl.Utf8),
                    pl.lit("% of the person among the snapshot's records fitting them")])).otherwise(pl.lit("")),
                pl.lit("; p="), cut_p(pl.col("p1")).cast(pl.Utf8)]),
            pl.when(pl.col("asked")).then(pl.lit("no candidate left by the review answers"))
            .when(pl.col("k") == 0).then(pl.lit("ID ") + pl.col("id_status") + pl.lit("; no name/place candidate"))
            .otherwise(pl.lit("no ID-compatible roster person")),
        )], ignore_nulls=True),
        n_candidates=pl.col("n_cand").fill_null(0).cast(pl.Int64),
    )
    assert links.height == records.height, "link() must return one row per record"
    candidates = (
        read.filter(pl.col("listed"))
        .join(records.with_row_index("rid").select("rid", "dept", "kind", "record_id"), on="rid")
        .select("dept", "kind", "record_id", "decision", rank=pl.col("rank").cast(pl.Int64), person_id="person_id",
                household_id="household_id", score="p",
                reason=pl.concat_str(["reason", pl.lit("; p="), cut_p(pl.col("p")).cast(pl.Utf8)]), cause="cause",
                rivals="rivals")
    )
    return links, candidates


def _answered(pairs: pl.DataFrame, records: pl.DataFrame, ros: pl.DataFrame, answers: pl.DataFrame,
              ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Blocked pairs (rid, pidx, ...) less those the analysts' answers (ReviewDecision rows)
    rule out: the persons a record was answered 否 for, and every other person of a record
    answered 是. -> (pairs, confirmed: rid, pidx of the records answered 是, whose one remaining
    pair `link` then takes as certain; touched: rid, asked (the record was answered 否 for one
    of its candidates: the analyst is still asked about the ones left), cite (the answer that
    confirmed the record's person: file, line, period received)).
    The other records of a one-record-per-person list keep the confirmed person as a candidate:
    `_rival_shares` gives the person to the confirmed record and sends back to review a record
    that claims them too (the answer may be the mistake)."""
    rid = records.with_row_index("rid").select("rid", record_dept="dept", record_id="record_id")
    who = ros.select("pidx", "person_id")
    answered = answers.join(rid, on=["record_dept", "record_id"])
    confirmed = answered.join(who, on="person_id").select(
        "rid", "pidx", cite=answer_cite())
    ruled_out = (answered.select("rid", person_id="excluded").explode("person_id")
                 .join(who, on="person_id").select("rid", "pidx"))
    # only the answered records' pairs change: a city holds millions of pairs
    touch = pl.col("rid").is_in(answered["rid"].implode())
    rest, pairs = pairs.filter(~touch), pairs.filter(touch)
    asked = pairs.join(ruled_out, on=["rid", "pidx"], how="semi").select("rid", asked=pl.lit(True)).unique("rid")
    # a confirmed person blocking did not pair with the record (it shows less than when it was
    # answered) is paired with it: the record holds them, in its list too
    pairs = pl.concat([pairs, confirmed.join(pairs, on=["rid", "pidx"], how="anti").select(
        "rid", "pidx", **{"pass": pl.lit("answer")})])
    pairs = (pairs.join(ruled_out, on=["rid", "pidx"], how="anti")
             .join(confirmed.select("rid", _yes="pidx"), on="rid", how="left", maintain_order="left"))
    pairs = pl.concat([rest, pairs.filter(pl.col("_yes").is_null() | (pl.col("_yes") == pl.col("pidx"))).drop("_yes")]
                      ).sort("rid", "pidx")  # (scored in slices of whole records)
    touched = (confirmed.select("rid", "cite").join(asked, on="rid", how="full", coalesce=True)
               .with_columns(pl.col("asked").fill_null(False)))
    return pairs, confirmed.select("rid", "pidx"), touched.select("rid", "asked", "cite")


def _score(pairs: pl.DataFrame, ctx: dict, cfg: MatchingConfig) -> pl.DataFrame:
    """Candidate pairs (rid, pidx, pass) -> their comparison levels and likelihood ratio w."""
    rec_side = ctx["rec"].drop("u_id") if "u_id" in pairs.columns else ctx["rec"]  # census pairs bring their own
    pairs = pairs.join(rec_side, on="rid").join(ctx["ros"], on="pidx")
    pairs = pairs.with_columns(
        id_level=_compare_ids(pairs),
        name_level=compare_codes(pairs["rcode"], pairs["ccode"], ctx["codes"]),
        place_level=pl.when(pl.col("vn").is_not_null() & (pl.col("vn") == pl.col("cvn"))
                            & (pl.col("tn").is_null() | (pl.col("tn") == pl.col("ctn")))).then(pl.lit("village"))
        .when(pl.col("tn").is_not_null() & (pl.col("tn") == pl.col("ctn"))).then(pl.lit("township"))
        .when(pl.col("tn").is_null() & pl.col("vn").is_null()
              | pl.col("ctn").is_null() & pl.col("cvn").is_null()).then(pl.lit("missing"))
        .otherwise(pl.lit("disagree")),
        hint=pl.when(pl.col("hn").is_not_null() & pl.col("ctn").is_not_null()).then(pl.col("hn") == pl.col("ctn")),
        role_level=pl.when(pl.col("rhead") & pl.col("chead").is_not_null())
        .then(pl.when(pl.col("chead")).then(pl.lit("head")).otherwise(pl.lit("member"))).otherwise(pl.lit("missing")),
    )
    floor = ctx["floor"]
    if "n_slip" not in pairs.columns:  # (the census's pairs: records against records)
        pairs = pairs.with_columns(n_slip=pl.lit(None, pl.UInt32))
    roster_slip = _roster_slip()
    m_id = pl.when(pl.col("id_status") == "full_check_failed").then(
        pl.col("id_level").replace_strict(cfg.id_levels_check_failed, default=1.0, return_dtype=pl.Float64)
    ).when(roster_slip).then(  # the roster's typist slipped (its check says so), not the record's
        pl.col("id_level").replace_strict(cfg.id_levels_roster_check_failed, default=1.0, return_dtype=pl.Float64)
    ).when((pl.col("id_level") == "one-differs") & pl.col("m_one").is_not_null()).then(pl.col("m_one")
    ).otherwise(pl.col("id_level").replace_strict(cfg.id_levels, default=1.0, return_dtype=pl.Float64))
    u_id = (
        pl.when(pl.col("id_level") == "kept-agree").then(pl.col("u_id"))
        # one slip from a full ID failing the check, the record's (n_near) or the roster person's
        # (n_slip): a stranger agrees with one of its few valid neighbours, not with any one-digit
        # difference (a masked record's kept characters may fit two or three of the roster's
        # neighbours: counted as one, so that u errs high, against the pair)
        .when(pl.col("id_level") == "one-differs").then(pl.col("u_id") * pl.coalesce(
            "n_near", pl.when(roster_slip).then(pl.col("n_slip")), 9 * pl.col("k")))
        .when(pl.col("id_level") == "two-differ").then(pl.col("u_id") * 81 * pl.col("k") * (pl.col("k") - 1) / 2)
        .otherwise(1.0)
    )
    m_name = pl.col("name_level").replace_strict(cfg.name_levels, default=1.0, return_dtype=pl.Float64)
    u_name = (
        pl.when(pl.col("name_level").is_in(["exact", "masked-agree"])).then(pl.col("u_exact"))
        .when(pl.col("name_level") == "homophone").then(pl.col("u_homophone"))
        .when(pl.col("name_level") == "swapped").then(pl.col("u_swapped"))
        .when(pl.col("name_level") == "dropped").then(pl.col("u_dropped"))
        .when(pl.col("name_level") == "added").then(pl.col("u_added"))
        .when(pl.col("name_level") == "one-char").then(pl.col("u_one_char"))
        .when(pl.col("name_level") == "one-part").then(pl.col("u_one_part"))
        .when(pl.col("name_level") == "surname-only").then(pl.col("u_surname"))
        .otherwise(1.0)
    )
    pl_village, pl_town, pl_dis = (cfg.place_levels[k] for k in ("village", "township", "disagree"))
    m_place = (
        pl.when(pl.col("place_level") == "village").then(pl_village)
        .when((pl.col("place_level") == "township") & pl.col("vn").is_null()).then(pl_village + pl_town)
        .when(pl.col("place_level") == "township").then(pl_town)
        .when(pl.col("place_level") == "disagree").then(pl_dis)
        .otherwise(1.0)
    )
    u_place = (
        pl.when(pl.col("place_level") == "village").then(
            pl.when(pl.col("tn").is_null()).then(pl.col("u_v_any")).otherwise(pl.col("u_village")))
        .when(pl.col("place_level") == "township").then(pl.col("u_township"))
        .otherwise(1.0)
    )
    u_head = ctx["u_head"]
    w_role = (
        pl.when(pl.col("role_level") == "head").then(cfg.role_levels["head"] / u_head)
        .when(pl.col("role_level") == "member").then(cfg.role_levels["member"] / (1 - u_head))
        .otherwise(1.0)
    ) if u_head is not None and 0 < u_head < 1 else pl.lit(1.0)
    clip = lambda e: pl.max_horizontal(e.fill_null(1.0), floor)  # noqa: E731
    return pairs.with_columns(
        w=(m_id * m_name / (clip(u_id) * clip(u_name))) * (m_place / clip(u_place)) * w_role,
    ).select("rid", "pidx", "pass", "id_level", "name_level", "place_level", "role_level", "hint", "w")


def _groups(records: pl.DataFrame, prior: bool = False) -> tuple[pl.Series, np.ndarray]:
    """The records' dept/kind groups (sorted names) and each record's group index; `prior`:
    dept/kind/prior_group, the groups whose roster share π is estimated apart."""
    cols = ["dept", "kind"] + (["prior_group"] if prior and "prior_group" in records.columns else [])
    grp = records.select(pl.concat_str([pl.col(c).fill_null("") for c in cols], separator="/")).to_series()
    names = grp.unique().sort()
    return names, grp.cast(pl.Enum(names)).to_physical().to_numpy().astype(np.int64)


@dataclass(frozen=True)
class _Run:
    """What weighing a pair against "someone off the candidate list" needs of the run, worked
    out once (`link`): the records' dept/kind groups (`kinds`, each record's index in
    `kind_of`), their dept/kind/prior_group groups (`priors`, `prior_of`), the roster's size
    and the population it is drawn from."""
    kinds: pl.Series
    kind_of: np.ndarray
    priors: pl.Series
    prior_of: np.ndarray
    n_roster: int
    population: float

    @classmethod
    def of(cls, records: pl.DataFrame, n_roster: int, population: float) -> "_Run":
        return cls(*_groups(records), *_groups(records, prior=True), n_roster, population)


def _per_record(rid: np.ndarray, W: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Pairs sorted by rid (`_keep_top` keeps them so) -> each record's rid and W, once."""
    step = np.diff(rid.astype(np.int64), prepend=-1)
    assert (step >= 0).all(), "pairs must be sorted by rid"
    first = np.flatnonzero(step)
    return rid[first].astype(np.int64), W[first]


UNMASKED_NAME_LEVELS = ("exact", "homophone", "swapped", "dropped", "added", "one-char", "surname-only", "disagree",
                        "one-part")


def _pair_p(rid: np.ndarray, w: np.ndarray, W: np.ndarray, run: _Run, cfg: MatchingConfig) -> np.ndarray:
    """Each kept pair's posterior p = w / (W + other) before the census, for the learning steps."""
    return w / (W + _other_weight(*_per_record(rid, W), run, cfg)[rid])


def _learn_name_m(pairs: pl.DataFrame, rec: pl.DataFrame, run: _Run, cfg: MatchingConfig) -> pl.DataFrame:
    """The name levels' m learned from the run itself, per dept/kind (EM, as Splink trains its
    m-values): over the scored pairs of records showing a whole name, m_L = the share of the
    pairs' posterior mass at level L, shrunk towards the configured m by `name_m_strength`
    pseudo-records and kept at least `name_m_floor` x the configured m. A department whose
    records never show a changed given name stops treating a same-surname stranger as one of
    its persons renamed; one whose records often do, keeps doing so. Each round reweighs the
    pairs' w (and each record's W) by m_new / m_used; `name_m_iterations` rounds. Sums run in
    row order (numpy), so a group's m depend on its own pairs only, the same in every run."""
    levels = list(UNMASKED_NAME_LEVELS)
    m0 = np.array([cfg.name_levels.get(k, 1.0) for k in levels])
    names, g_of = run.kinds, run.kind_of
    whole = np.zeros(len(g_of), bool)
    whole[rec.filter(~pl.col("masked"))["rid"].to_numpy()] = True
    rid = pairs["rid"].to_numpy().astype(np.int64)
    lvl = pairs["name_level"].replace_strict({k: i for i, k in enumerate(levels)}, default=-1,
                                             return_dtype=pl.Int64).to_numpy()
    mine = whole[rid] & (lvl >= 0)
    cell = g_of[rid] * len(levels) + np.where(mine, lvl, 0)  # (group, level) of each pair
    n_cells = names.len() * len(levels)
    w, W = pairs["w"].to_numpy().copy(), pairs["W"].to_numpy().copy()
    used = np.tile(m0, names.len())
    a = cfg.name_m_strength
    for _ in range(cfg.name_m_iterations):
        p = _pair_p(rid, w, W, run, cfg)
        mass = np.bincount(cell[mine], weights=p[mine], minlength=n_cells).reshape(names.len(), len(levels))
        new = (mass + a * m0) / (mass.sum(axis=1, keepdims=True) + a)
        new = np.maximum(new, cfg.name_m_floor * m0).ravel()
        w_new = np.where(mine, w * new[cell] / used[cell], w)
        W = W + np.bincount(rid, weights=w_new - w, minlength=len(g_of))[rid]
        w, used = w_new, new
    return pairs.with_columns(w=pl.Series(w), W=pl.Series(W))


def _learn_place_hint(pairs: pl.DataFrame, rec: pl.DataFrame, run: _Run, cfg: MatchingConfig) -> pl.DataFrame:
    """Whether a dept/kind's place hints (`_hint_towns`) tell where its persons live, learned
    from the run's own pairs. A record naming township t is about someone living there with
    chance α + (1 - α) q_t, q_t the share of the group's hinted records naming t (what chance
    gives: hospitals and schools chosen regardless of home is α = 0). Over the pairs whose
    hint and candidate's township are both known, weighted by their posterior p: α = (A - E -
    z·sd) / (N - E + `place_hint_strength`), at least 0, with A the mass where they agree, E
    the mass chance makes agree (Σ p q_t), sd its standard deviation, N all of it. Each pair's
    w is then multiplied by (α + (1 - α) q_t) / q_t when they agree and by 1 - α when not
    (`hint_lr`, 1 where α = 0 or nothing is known), and each record's W with it."""
    out = pairs.with_columns(hint_lr=pl.lit(1.0))
    known = pairs["hint"].is_not_null().to_numpy()
    if not known.any():
        return out
    names, g_of = run.kinds, run.kind_of
    hinted = rec.select("rid", "hn").with_columns(g=pl.Series(g_of)).filter(pl.col("hn").is_not_null())
    q = hinted.group_by("g", "hn").len().with_columns(q=pl.col("len") / pl.col("len").sum().over("g"))
    rid = pairs["rid"].to_numpy().astype(np.int64)
    g = g_of[rid]
    qt = (pl.DataFrame({"g": g, "hn": rec["hn"].gather(rid)})  # rec's rows are its rids
          .join(q, on=["g", "hn"], how="left", maintain_order="left")["q"].fill_null(1.0).to_numpy())
    w, W = pairs["w"].to_numpy(), pairs["W"].to_numpy()
    p = np.where(known, _pair_p(rid, w, W, run, cfg), 0.0)
    agree = known & pairs["hint"].fill_null(False).to_numpy()
    sums = lambda x: np.bincount(g, weights=x, minlength=names.len())  # noqa: E731
    a_, e_, n_, var = sums(p * agree), sums(p * qt), sums(p), sums(p * qt * (1 - qt))
    alpha = np.clip((a_ - e_ - cfg.place_hint_z * np.sqrt(var)) / np.maximum(n_ - e_ + cfg.place_hint_strength, 1e-9),
                    0.0, 0.99)
    if not alpha.any():  # no group's hints say more than chance
        return out
    al = alpha[g]
    lr = np.where(~known, 1.0, np.where(agree, (al + (1 - al) * qt) / qt, 1 - al))
    w_new = w * lr
    W_new = W + np.bincount(rid, weights=w_new - w, minlength=len(g_of))[rid]
    return out.with_columns(w=pl.Series(w_new), W=pl.Series(W_new), hint_lr=pl.Series(lr))


def _learn_age_prior(pairs: pl.DataFrame, rec: pl.DataFrame, ros: pl.DataFrame, run: _Run,
                     cfg: MatchingConfig) -> pl.DataFrame:
    """How a dept/kind's records spread over ages, learned from the run's own pairs: per group
    g and birth cohort b (`age_band_years` wide, read from the roster ID), λ_gb = s_gb / r_b, with
    s_gb the share of g's posterior mass on candidates born in b (shrunk by `age_prior_strength`
    pseudo-records spread as the roster) and r_b the roster's share born in b. A person of a
    cohort that rarely has such a record (a child in 人社's) is that much less likely the one
    behind it; Σ_b r_b λ_gb = 1, so an average roster person keeps their weight against
    "someone off the roster". A record showing the birth decade (ID positions 7-9) is left as it
    is: whoever else could be behind it was born then too, so the cohort weighs them alike. Each
    other record's pairs have their w multiplied by λ (`age_lr`), its W with it."""
    out = pairs.with_columns(age_lr=pl.lit(1.0))
    if not cfg.age_prior_strength or pairs.is_empty():
        return out
    # each roster person's birth cohort (by pidx; -1 when the ID shows no year), counted with
    # numpy so that the sums, and so the scores, are the same on every run
    year = ros.sort("pidx")["id_number"].str.slice(6, 4).cast(pl.Int32, strict=False).fill_null(-1).to_numpy()
    known_year = year > 0
    cohort = np.full(len(year), -1, np.int64)
    cohorts, idx = np.unique((year[known_year] // cfg.age_band_years).astype(np.int64), return_inverse=True)
    cohort[known_year] = idx
    n_b = len(cohorts)
    if n_b == 0:
        return out
    r = np.bincount(cohort[known_year], minlength=n_b) / known_year.sum()
    names, g_of = run.kinds, run.kind_of
    rid = pairs["rid"].to_numpy().astype(np.int64)
    w, W = pairs["w"].to_numpy(), pairs["W"].to_numpy()
    p = _pair_p(rid, w, W, run, cfg)
    g, b = g_of[rid], cohort[pairs["pidx"].to_numpy().astype(np.int64)]
    ok = b >= 0
    n = np.bincount(g[ok] * n_b + b[ok], weights=p[ok], minlength=names.len() * n_b).reshape(names.len(), n_b)
    s_ = cfg.age_prior_strength
    lam = (n + s_ * r) / (n.sum(axis=1, keepdims=True) + s_) / r
    lr = np.where(ok, lam[g, np.maximum(b, 0)], 1.0)
    decade_shown = rec["kept"].str.slice(6, 3).eq("111").fill_null(False).to_numpy()  # rec's rows are its rids
    lr = np.where(decade_shown[rid], 1.0, lr)
    w_new = w * lr
    W_new = W + np.bincount(rid, weights=w_new - w, minlength=len(g_of))[rid]
    return out.with_columns(w=pl.Series(w_new), W=pl.Series(W_new), age_lr=pl.Series(lr))


def _rank_in_run() -> pl.Expr:
    """1, 2, ... within each run of equal `rid` of a frame sorted by rid: the rank of each row
    once sorted, without a window over millions of groups."""
    first = (pl.col("rid") != pl.col("rid").shift()).fill_null(True)
    return pl.int_range(1, pl.len() + 1) - pl.when(first).then(pl.int_range(pl.len())).forward_fill()


def _keep_top(pairs: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """A slice of scored pairs (whole records) -> what the rest of linking reads of it: per
    record W (Σ w of all its candidates), n_cand and agree (its best candidate agrees on every
    kept ID character, or with one of the valid IDs one slip from a roster ID failing the check:
    the roster-slip pass's, whose kept characters the roster's slip, not the record's, sets apart;
    a stranger of another name sharing them does not make a record the typo pass found whole),
    and only the candidates that can matter: its `review_max_candidates` best
    (at least 2) and any other holding w >= candidate_floor * W (p can reach the floor, which a
    complete snapshot's claims need). A city's tens of millions of pairs are not all held."""
    ranked = pairs.sort(["rid", "w", "pidx"], descending=[False, True, False])
    return ranked.with_columns(
        W=pl.col("w").sum().over("rid"), n_cand=pl.len().over("rid").cast(pl.UInt32),
        agree=((pl.col("id_level") == "kept-agree") | (pl.col("pass") == ROSTER_SLIP)).first().over("rid"),
        _rank=_rank_in_run(),
    ).filter((pl.col("_rank") <= max(2, cfg.review_max_candidates)) | (pl.col("w") >= cfg.candidate_floor * pl.col("W"))
             ).drop("_rank")


def _rival_shares(cl: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """In a snapshot kind (one row per person, e.g. 参保名单) two records cannot both be one
    roster person. `cl`: records with their best candidate (rid, kind, record_id, person_id, p1,
    w1, k, id1, name1, masked, confirmed: an analyst answered 是 for it). When several records C
    of a kind in `one_record_per_person_kinds` claim the same best candidate (p1 >=
    review_threshold), each is that person with share v_c / Σ_C v, v_c = w_c / the strongest w
    (the evidence of each against the others). Claimants with v within `ambiguity_ratio` of the strongest are close;
    weaker ones lose the candidate (`lost`); the strongest may keep it (`alone`) only when no
    other is close (`_one_record_per_person` keeps it when its scaled p reaches its threshold).

    A masked name (王**) beside a claimant showing the exact whole name (王华明) is outweighed
    only as far as strangers with the person's exact name are rare: v of the masked claimant is
    at least r_x, the share of claimants showing a whole name and the person's kept ID
    characters that lose their person (strangers, mostly) and show exactly that person's name
    (`lookalike_prior`, shrunk by `lookalike_strength` pseudo-records). A run whose list holds
    look-alikes (same kept ID characters, same name) thereby sends such pairs to review; one
    that holds none keeps the exact name's weight. A claimant showing the person's whole ID
    leads, however its name reads, and keeps them (share 1; no look-alike shares a full ID); the
    others lose them. So does a claimant an analyst confirmed as the person (`confirmed`):
    the others are `taken` from them, and (`_one_record_per_person`) sent to review, since the
    answer may be the mistake. One row per claimant: rid, rivals (the other claimants' record
    numbers; for a taken one, the confirmed record's, with the answer's `cite` when `cl` has
    it), share, n (claimants), sure (a whole ID or an answer leads), lost, alone, taken."""
    group = ("kind", "person_id")
    cite = pl.col("cite") if "cite" in cl.columns else pl.lit(None, pl.Utf8)
    claims = (
        cl.filter(pl.col("kind").is_in(list(cfg.one_record_per_person_kinds)), pl.col("p1") >= cfg.review_threshold)
        .with_columns(top=pl.col("w1").max().over(group), n=pl.len().over(group))
        .filter(pl.col("n") >= 2)
        # the lead: a claimant confirmed by an answer, else one showing the person's whole ID (no
        # look-alike shares it, and its w is floored), else the strongest; ties: the first
        .with_columns(full=((pl.col("k") == 18) & (pl.col("id1") == "kept-agree")) | pl.col("confirmed"))
        .sort("confirmed", "full", "w1", descending=True, maintain_order=True)
        .with_columns(lead=pl.col("rid") == pl.col("rid").first().over(group),
                      rivals=pl.col("record_id").implode().over(group),
                      taken=pl.col("confirmed").first().over(group) & (pl.col("rid") != pl.col("rid").first().over(group)),
                      _by=pl.concat_str([pl.col("record_id"), pl.format("（{}）", cite)], ignore_nulls=True)
                      .first().over(group))
        .with_columns(rivals=pl.when(pl.col("taken")).then("_by").otherwise(
            pl.col("rivals").list.set_difference(pl.concat_list("record_id")).list.sort().list.join("、")))
    )
    # look-alikes are strangers sharing the kept ID characters: a claimant without a usable ID
    # that shows the person's name says nothing of how often such strangers show it too
    losers = claims.filter(~pl.col("lead"), ~pl.col("masked"), pl.col("id1") == "kept-agree")
    r_x = ((losers["name1"] == "exact").sum() + cfg.lookalike_strength * cfg.lookalike_prior) / (
        losers.height + cfg.lookalike_strength)
    exact_lead = (pl.col("lead") & (pl.col("name1") == "exact")).any().over(group)
    full_lead = (pl.col("lead") & pl.col("full")).any().over(group)  # the person's: the others lose them
    v = pl.col("w1") / pl.col("top")
    claims = claims.with_columns(
        v=pl.when(~pl.col("lead") & pl.col("masked") & (pl.col("name1") == "masked-agree") & exact_lead & ~full_lead)
        .then(pl.max_horizontal(v, pl.lit(r_x))).otherwise(v))
    claims = claims.with_columns(share=pl.when(full_lead).then(pl.col("lead").cast(pl.Float64))
                                 .otherwise(pl.col("v") / pl.col("v").sum().over(group))).with_columns(
        close=(pl.col("v") >= cfg.ambiguity_ratio).sum().over(group))
    return claims.select(
        "rid", "rivals", "share", "n", "taken", sure=full_lead,
        lost=pl.when(full_lead).then(~pl.col("lead")).otherwise(pl.col("v") < cfg.ambiguity_ratio),
        alone=pl.col("lead") & (full_lead | (pl.col("close") == 1)))


def _one_record_per_person(out: pl.DataFrame, records: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """Two records of a one-record-per-person snapshot claiming the same person
    (`_rival_shares`): each one's p is scaled by its share; a claimant that lost the person is
    unmatched (reviewed when an answer took them: `taken`), and the others are matched only
    when they keep the person, else reviewed. `rival` marks every record touched and not kept.
    A taken record keeps its pair's own p, as its queue row shows it, and no share: an answer,
    not the records' evidence, gave the person to another record (the answer may be wrong)."""
    kind = records.with_row_index("rid").select("rid", "kind", "record_id")
    claims = _rival_shares(out.join(kind, on="rid"), cfg).with_columns(
        rival=pl.lit(True), share=pl.when(~pl.col("taken")).then("share"))
    out = out.join(claims, on="rid", how="left").with_columns(
        pl.col("rival", "lost", "alone", "taken").fill_null(False), p1=pl.col("p1") * pl.col("share").fill_null(1.0))
    out = out.with_columns(keep=pl.col("alone") & (pl.col("p1") >= pl.col("thr"))).drop("alone")
    return out.with_columns(
        decision=pl.when(pl.col("taken")).then(pl.lit("review")).when(pl.col("lost")).then(pl.lit("unmatched"))
        .when(pl.col("rival") & ~pl.col("keep") & (pl.col("decision") == "matched")).then(pl.lit("review"))
        .otherwise("decision"),
        rival=pl.col("rival") & ~pl.col("keep"),
    ).drop("lost", "keep")


def _held_by_others(out: pl.DataFrame, top: pl.DataFrame, records: pl.DataFrame, ros: pl.DataFrame,
                    cfg: MatchingConfig) -> pl.DataFrame:
    """A record of a one-record-per-person kind waiting in review only as likely one of its shown
    candidates together (`psum`; its best under review_threshold, so no claimant in
    `_rival_shares`) is `unmatched` when the candidates that are not another record's person
    (that record matched) hold less than review_threshold: it is someone else, as a claimant
    whose candidate another record keeps is. `top`: the ranked candidates psum added up."""
    single = list(cfg.one_record_per_person_kinds)
    kind = records.with_row_index("rid").select("rid", "kind")
    only_sum = ((pl.col("decision") == "review") & (pl.col("p1") < cfg.review_threshold) & ~pl.col("asked")
                & ~pl.col("rival") & ~pl.col("taken"))
    asked = out.join(kind, on="rid").filter(only_sum, pl.col("kind").is_in(single)).select("rid", "kind")
    if not single or asked.is_empty():
        return out
    held = (out.filter(pl.col("decision") == "matched").join(kind, on="rid").filter(pl.col("kind").is_in(single))
            .select("kind", "person_id", _by="rid"))
    free = (top.join(asked, on="rid").join(ros.select("pidx", "person_id"), on="pidx")
            .join(held, on=["kind", "person_id"], how="left").filter(pl.col("_by").is_null())
            .group_by("rid").agg(_free=pl.col("p").sum()))
    gone = asked.join(free, on="rid", how="left").filter(pl.col("_free").fill_null(0.0) < cfg.review_threshold)["rid"]
    return out.with_columns(decision=pl.when(pl.col("rid").is_in(gone.implode())).then(pl.lit("unmatched"))
                            .otherwise("decision"))


def _complete_snapshots(pairs: pl.DataFrame, records: pl.DataFrame, n_roster: int, cfg: MatchingConfig) -> pl.DataFrame:
    """A complete snapshot (e.g. 参保名单: every insured resident, once) holds nearly every
    roster person. When its records C fit roster person j (p >= candidate_floor), either one of
    them is j's, or j's record is missing/unrecognisable and they are others who happen to fit j:

        odds_c = w_c · present / ((1 - present·m) · n_off + present · Σ_{c' in C, c' != c} w_c')

    with `present` the share of roster persons the snapshot is seen to hold (Σ best p per
    person / roster size, capped), m the chance j's own record fits j at all, w_c = m_c / u_c
    record c's likelihood ratio for j, and n_off the snapshot's records about someone off the
    roster (its records less Σ p, at least 1 - `max_roster_prior` of them): the strangers who
    may fit j by chance (a roster person's own record is theirs, not a stranger fitting j). So
    the only record fitting j is j's, and of several the one whose evidence outweighs the
    others' (a masked 李** beside a 李红丽 that shares only the surname). A candidate's p is raised to that posterior when it is higher; rivals of
    similar weight keep their p (and `_one_record_per_person` sends them to review)."""
    kinds = list(cfg.complete_snapshot_kinds)
    if not kinds or pairs.is_empty():
        return pairs.with_columns(snapshot=pl.lit(False))
    kind = records.with_row_index("rid").select("rid", "kind").filter(pl.col("kind").is_in(kinds))
    snap = pairs.select("rid", "pidx", "p", "w", "pass").join(kind, on="rid", maintain_order="left")
    # the snapshot's records about someone off the roster, the strangers who may fit j by chance
    on_roster = snap.group_by("kind", maintain_order=True).agg(on=pl.col("p").sum())
    strangers = kind.group_by("kind").len("n_kind").join(on_roster, on="kind", how="left").select(
        "kind", n_off=pl.max_horizontal(pl.col("n_kind") - pl.col("on").fill_null(0.0),
                                        pl.col("n_kind") * (1 - cfg.max_roster_prior)))
    present = (
        snap.group_by("kind", "pidx", maintain_order=True).agg(pl.col("p").max()).group_by("kind", maintain_order=True)
        .agg(present=(pl.col("p").sum() / max(n_roster, 1)).clip(0.0, cfg.max_snapshot_presence))
    )
    # j's own record fits j unless its ID or name disagrees outright (a mistyped kept character
    # still pairs it with j, in the typo pass)
    m = (1 - cfg.id_levels.get("disagree", 0.0)) * (1 - cfg.name_levels.get("disagree", 0.0))
    claims = (
        snap.filter((pl.col("p") >= cfg.candidate_floor) | (pl.col("pass") == ABSENTEE))
        .join(strangers, on="kind").join(present, on="kind")
        .with_columns(pm=pl.col("present") * m, others=pl.col("w").sum().over("kind", "pidx") - pl.col("w"))
        .select("rid", "pidx", odds=pl.col("w") * pl.col("present")
                / ((1 - pl.col("pm")) * pl.col("n_off") + pl.col("present") * pl.col("others")))
        .select("rid", "pidx", p_snap=pl.col("odds") / (1 + pl.col("odds")))
    )
    return pairs.join(claims, on=["rid", "pidx"], how="left").with_columns(
        p=pl.max_horizontal("p", pl.col("p_snap").fill_null(0.0)),
        snapshot=(pl.col("p_snap").fill_null(0.0) > pl.col("p")) & (pl.col("p") < cfg.match_threshold),
    ).drop("p_snap")


def _other_weight(rid: np.ndarray, W: np.ndarray, run: _Run, cfg: MatchingConfig,
                  census: pl.DataFrame | None = None) -> np.ndarray:
    """Per record (indexed by rid), the weight of "someone not among the candidates":
    n_roster (1 - π) / π, with π = P(a record of this dept/kind is about a roster person),
    times the record's census factor (`_census`; 1 without one). `rid`, `W`: each record with
    candidates once (`_per_record`), W the sum of their w. π starts at the roster's population
    share and, when `estimate_prior`, is re-estimated per dept/kind and prior_group (a
    settlement 医疗救助 paid for apart from the others; EM on the prior, shrunk towards the
    start, capped at `max_roster_prior`), each record's leaving the record itself out."""
    n_roster = run.n_roster
    pi0 = min(max(n_roster / run.population, 1e-9), cfg.max_roster_prior)
    names, g = run.priors, run.prior_of
    n = np.bincount(g, minlength=names.len()).astype(np.float64)
    f = np.ones(len(g))
    if census is not None and census.height:
        f[census["rid"].to_numpy()] = census["factor"].to_numpy()
    pi = np.full(names.len(), pi0)
    # a record's candidates' p sum to W / (W + other): its P(on the roster)
    w, gw, fn = W, g[rid], f[rid] * n_roster

    def own(pi: np.ndarray) -> np.ndarray:
        pg = pi[gw]
        return w / (w + fn * (1 - pg) / pg)
    for _ in range(cfg.prior_iterations if cfg.estimate_prior else 0):
        s = np.bincount(gw, weights=own(pi), minlength=names.len())
        pi = np.clip((s + pi0 * cfg.prior_strength) / (n + cfg.prior_strength), pi0, cfg.max_roster_prior)
    pi_r = pi[g]
    if cfg.estimate_prior and cfg.prior_iterations:
        # each record's π leaves the record itself out: its own evidence must not raise its prior
        # (a lone record would otherwise lift its extract's π, and so itself)
        sr = np.zeros(len(g))
        sr[rid] = own(pi)
        s = np.bincount(g, weights=sr, minlength=names.len())
        pi_r = np.clip((s[g] - sr + pi0 * cfg.prior_strength) / (n[g] - 1 + cfg.prior_strength), pi0, cfg.max_roster_prior)
    return f * n_roster * (1 - pi_r) / pi_r


def _census(pairs: pl.DataFrame, snap: pl.DataFrame, snap_rec: pl.DataFrame, rec: pl.DataFrame, ros: pl.DataFrame,
            ctx: dict, cfg: MatchingConfig) -> pl.DataFrame:
    """Per record of another kind (`rec`, its scored `pairs`): its census factor, by which the
    weight of "someone off the roster" is multiplied. A complete snapshot (参保名单: every
    insured resident, once; its records `snap_rec`, their pairs with posteriors `snap`) lists
    the off-roster people who could be behind a masked record, so they are counted, not
    assumed (SPEC §3):

        factor = 1 - U / N_off + Σ_e q_e · w(record, e) / N_off

    over the snapshot's records e, each off the roster with probability q_e (`_census_members`);
    N_off = Σ q_e / coverage is the number of off-roster residents who could be behind the
    record (coverage: the record's `cov`, `census_coverage` of its kind), U = Σ q_e over the
    snapshot records whose kept ID positions share at least `census_min_kept` non-region
    characters with the record's (the others say nothing about it and keep the average), and
    w the record's likelihood ratio against e's shown ID characters and name. One insured
    look-alike (same kept characters and name) sends the record to review; a record that no
    insured off-roster person fits is its roster candidate's all the more. Records whose best
    candidate does not agree on every kept ID character (a kept digit may be mistyped, so the
    census would miss its person) only gain mass; one whose candidate's roster ID fails the check and
    is one slip from what the record keeps (roster-slip pass: the slip is the roster's, the
    record's characters are whole) is weighed as an agreeing one. Columns: rid, factor, census_fits (the expected
    number of insured off-roster persons fitting the record, Σ q_e over e with w >= 1; null
    when none fits and the census covers less than half of it)."""
    empty = pl.DataFrame(schema={"rid": pl.UInt32, "factor": pl.Float64, "census_fits": pl.Float64})
    members = _census_members(snap, snap_rec, cfg) if (rec["cov"].max() or 0.0) > 0 else None
    if members is None or members["q"].sum() <= 0:
        return empty
    listed = float(members["q"].sum())  # N_off of a record = listed / its cov
    # the records it speaks for: other kinds, with a usable ID and some candidate
    who = rec.filter(pl.col("rid").is_in(pairs["rid"].unique().implode()),
                     pl.col("id_status").is_in(["masked", "full_valid"]), pl.col("k") > 0)
    agree = pairs.filter(pl.col("agree"))["rid"].unique().implode()
    by_s = who.partition_by("kept", as_dict=True, include_key=False)
    by_e = members.partition_by("kept", as_dict=True, include_key=False)
    seen, found = [], []
    for (ps,), s in by_s.items():
        for (pe,), e in by_e.items():
            common = "".join("1" if a == b == "1" else "0" for a, b in zip(ps, pe))
            if common[6:].count("1") < cfg.census_min_kept:
                continue
            seen.append((ps, float(e["q"].sum())))
            key = pl.concat_str([pl.col("id_norm").str.slice(a, n) for a, n in _runs(common)]).alias("key")
            s_, e_ = (f.select("rid", key, "first_py", "last_py") for f in (s, e))
            e_ = e_.rename({"rid": "eid"})
            # the name key of the roster's weak patterns, so that homophones still meet; names
            # showing nothing in common (张* and *明) meet on the ID alone
            first_only = pl.col("first_py").is_not_null() & pl.col("last_py").is_null()
            last_only = pl.col("first_py").is_null() & pl.col("last_py").is_not_null()
            found += [f.select("rid", "eid", common=pl.lit(common)) for f in (
                s_.join(e_, on=["key", "first_py"]),
                s_.join(e_, on=["key", "last_py"]).filter(pl.col("first_py").is_null() | pl.col("first_py_right").is_null()),
                s_.filter(pl.col("first_py").is_null(), pl.col("last_py").is_null()).join(e_, on="key"),
                s_.filter(first_only).join(e_.filter(last_only), on="key"),
                s_.filter(last_only).join(e_.filter(first_only), on="key"),
            )]
    seen = pl.DataFrame(seen, schema={"kept": pl.Utf8, "q": pl.Float64}, orient="row").group_by("kept").sum()
    out = who.select("rid", "kept", "cov").join(seen, on="kept", how="left").select(
        "rid", "cov", reduce=(pl.col("q").fill_null(0.0) * pl.col("cov") / listed).clip(0.0, 1.0)
        * pl.col("rid").is_in(agree))
    cp = pl.concat(found) if found else pl.DataFrame(schema={"rid": pl.UInt32, "eid": pl.UInt32, "common": pl.Utf8})
    # each pair scored on the positions both show: u_id of their common pattern ...
    combos = cp.select("rid", "common").unique().join(rec.select("rid", "id_norm"), on="rid").with_row_index("key")
    u = _id_u(combos.select(rid="key", id_norm="id_norm", kept="common", k=pl.col("common").str.count_matches("1")), ros, cfg)
    cand = cp.join(combos.join(u, left_on="key", right_on="rid").select("rid", "common", "u_id"), on=["rid", "common"])
    # A masked census name is compared the other way round: its shown characters against the
    # record's name, at its own chance of agreeing.
    masked = members.filter("masked")["rid"].implode()
    cand = cand.with_columns(swap=pl.col("eid").is_in(masked))
    side = lambda f: dict(ctx, ros=pl.DataFrame({  # noqa: E731
        "pidx": f["rid"], "id_number": f["id_norm"], "ctn": pl.Series([None] * f.height, dtype=pl.Utf8),
        "cvn": pl.Series([None] * f.height, dtype=pl.Utf8), "chead": pl.Series([None] * f.height, dtype=pl.Boolean),
        "ccode": ctx["codes"].code(f["rname"])}))
    pair = dict(u_id="u_id", **{"pass": pl.lit("id")})
    # Two masked names agree (or read alike) on what both show (`compare_codes`): e's characters
    # the record hides (陈*雪 against 陈*: its 雪) were not compared, so such a pair counts its name
    # at the chance of the one showing less, not of e's, which would weigh 雪 as if the record had
    # shown it.
    levels = {"masked-agree": "u_exact", "homophone": "u_homophone"}
    u = ctx["rec"].select("rid", *[pl.max_horizontal(pl.col(c).fill_null(1.0), ctx["floor"]).alias(c) for c in levels.values()])
    both_masked = pl.col("name_level").is_in(list(levels)) & pl.col("rid").is_in(who.filter("masked")["rid"].implode())
    at = lambda sfx: pl.when(pl.col("name_level") == "homophone").then(pl.col("u_homophone" + sfx)).otherwise(  # noqa: E731
        pl.col("u_exact" + sfx))
    scored = pl.concat([
        _score(cand.filter(~pl.col("swap")).select("rid", pidx="eid", **pair), side(members), cfg),
        _score(cand.filter(pl.col("swap")).select(rid="eid", pidx="rid", **pair), side(who.select("rid", "id_norm", "rname")),
               cfg).rename({"rid": "pidx", "pidx": "rid"})
        .join(u, on="rid", how="left").join(u, left_on="pidx", right_on="rid", how="left", suffix="_e")
        .with_columns(w=pl.when(both_masked).then(pl.col("w") * at("_e") / pl.max_horizontal(at("_e"), at("")))
                      .otherwise("w")).drop(*levels.values(), *[c + "_e" for c in levels.values()]),
    ], how="diagonal")
    # ... and, as the record's own candidates' u_id is floored (`floor`), its positions that e
    # does not show count for e only as far as they count for those candidates
    fits = (
        scored.join(ctx["rec"].select("rid", "u_id"), on="rid")
        .join(members.select(pidx="rid", q="q"), on="pidx")
        .with_columns(w=pl.col("w") * (pl.col("u_id") / ctx["floor"]).clip(upper_bound=1.0))
        .sort("rid", "pidx")  # joins keep no order: the sums below add in a fixed one, so re-runs agree to the bit
        .group_by("rid", maintain_order=True).agg(mass=(pl.col("q") * pl.col("w")).sum() / listed,
                             census_fits=pl.col("q").filter(pl.col("w") >= 1).sum())
    )
    fitting = pl.col("census_fits").fill_null(0.0)
    return out.join(fits, on="rid", how="left").select(
        "rid", factor=1 - pl.col("reduce") + pl.col("mass").fill_null(0.0) * pl.col("cov"),
        census_fits=pl.when((pl.col("reduce") >= 0.5) | (fitting >= 0.5)).then(fitting))


def _census_members(snap: pl.DataFrame, snap_rec: pl.DataFrame, cfg: MatchingConfig) -> pl.DataFrame:
    """The complete snapshot's records (`snap_rec`, with their kind) that can stand for someone
    off the roster (usable ID, a whole one failing its check too: the list's typist slipped on
    one character and the others stand; a name showing a character; q >= 1 - match_threshold), each with
    q = P(it is off the roster): 1 - the p of its roster candidates (`snap`: their scored
    pairs). A roster person claimed by n records (`_rival_shares`) is at most one of them: each
    claimant's p is divided by n, unless one shows the person's whole ID, which then keeps
    them (the others lose them). Shares read from names are not trusted here: a look-alike's
    record showing the exact name may outweigh the person's own, and is then still counted.
    A person whose whole ID a record of the kind shows (p >= review_threshold) is that record's:
    the other records' p for them is dropped first, so that a record whose p was spread over
    that person and another is weighed as what it can still be (the other, or no roster person).
    So is a person an analyst confirmed as a record's (`confirmed`), first."""
    kind = snap_rec.select("rid", "kind", "k", "confirmed")
    holders = (
        snap.join(kind, on="rid")
        .filter(pl.col("confirmed") | ((pl.col("k") == 18) & (pl.col("id_level") == "kept-agree")
                                       & (pl.col("p") >= cfg.review_threshold)))
        .sort("confirmed", descending=True, maintain_order=True)
        .unique(["kind", "pidx"], keep="first", maintain_order=True).select("kind", "pidx", holder="rid")
    )
    snap = snap.join(kind.select("rid", "kind"), on="rid").join(holders, on=["kind", "pidx"], how="left").filter(
        pl.col("holder").is_null() | (pl.col("holder") == pl.col("rid"))).drop("kind", "holder")
    best = (
        snap.sort(["rid", "p", "pidx"], descending=[False, True, False]).group_by("rid", maintain_order=True)
        .agg(psum=pl.col("p").sum().clip(0.0, 1.0), person_id=pl.col("pidx").first(), p1=pl.col("p").first(),
             w1=pl.col("w").first(), id1=pl.col("id_level").first(), name1=pl.col("name_level").first())
        .join(snap_rec.select("rid", "kind", "k", "masked", "confirmed", record_id=pl.col("rid").cast(pl.Utf8)), on="rid")
    )
    shares = _rival_shares(best, cfg).select("rid", "share", "n", "sure")
    return (
        snap_rec.filter(pl.col("id_status").is_in(["masked", "full_valid", "full_check_failed"]),
                        pl.col("first_py").is_not_null() | pl.col("last_py").is_not_null())
        .join(best.join(shares, on="rid", how="left"), on="rid", how="left")
        .select("rid", "id_norm", "kept", "rname", "masked", "first_py", "last_py",
                q=pl.when(pl.col("sure")).then(1 - pl.col("psum") + pl.col("p1") * (1 - pl.col("share")))
                .otherwise(1 - pl.col("psum").fill_null(0.0) / pl.col("n").fill_null(1)).clip(0.0, 1.0))
        .filter(pl.col("q") >= 1 - cfg.match_threshold)
    )


def _reason(pairs: pl.DataFrame) -> pl.Expr:
    desc = {p: _describe(p) for p in pairs["kept"].unique().to_list()}
    # a roster person whose own ID fails the check: the slip is the roster's (`_roster_slip`)
    slip_txt = (
        pl.when(_roster_slip() & (pl.col("id_level") == "one-differs")).then(pl.format(
            " from the roster's 身份证号, which fails its check character: the roster's slip (the record's ID "
            "fits one of the {} valid IDs one slip from it)", "n_slip"))
        .when(_roster_slip()).then(pl.lit(" from the roster's 身份证号, which fails its check character"))
        .otherwise(pl.lit("")))
    id_txt = pl.when(pl.col("id_level") == "missing").then(pl.lit("ID ") + pl.col("id_status")).otherwise(
        pl.concat_str([pl.lit("ID "), pl.col("kept").replace_strict(desc, default=""), pl.lit(" "), pl.col("id_level"),
                       slip_txt])
    ) + pl.when(pl.col("id_src") == "record_id").then(pl.lit(" (the ID in the record number)")).otherwise(pl.lit(""))
    return pl.concat_str([
        id_txt,
        pl.when(pl.col("pass") != "id").then(pl.lit(" [") + pl.col("pass") + pl.lit(" pass]")).otherwise(pl.lit("")),
        pl.lit("; name "), pl.col("rname").fill_null("-"), pl.lit("~"), pl.col("cname"), pl.lit(" "), pl.col("name_level"),
        pl.lit("; place "), pl.col("place_level"),
        pl.when(pl.col("role_level") == "head").then(pl.lit("; 户主 (head) agrees"))
        .when(pl.col("role_level") == "member").then(pl.lit("; not the 户主 (head)")).otherwise(pl.lit("")),
        pl.when(pl.col("hint_lr") > 1.0001).then(pl.concat_str([
            pl.lit("; 就诊机构/学校 names their township (x"), pl.col("hint_lr").round(1).cast(pl.Utf8), pl.lit(")")]))
        .when(pl.col("hint_lr") < 0.9999).then(pl.concat_str([
            pl.lit("; 就诊机构/学校 names another township (x"), pl.col("hint_lr").round(2).cast(pl.Utf8), pl.lit(")")]))
        .otherwise(pl.lit("")),
        pl.when((pl.col("age_lr") > 1.05) | (pl.col("age_lr") < 0.95)).then(pl.concat_str([
            pl.lit("; people of their birth cohort have such records x"), pl.col("age_lr").round(2).cast(pl.Utf8)]))
        .otherwise(pl.lit("")),
        pl.when(pl.col("snapshot")).then(pl.lit("; the snapshot's record of this person (no other fits as well)"))
        .otherwise(pl.lit("")),
        pl.when(pl.col("census_fits") >= 0.5).then(pl.concat_str([
            pl.lit("; census (参保名单): "), pl.col("census_fits").round(0).cast(pl.Int64).cast(pl.Utf8),
            pl.lit(" insured off-roster person(s) fit too")]))
        .when(pl.col("census_fits").is_not_null()).then(pl.lit("; census (参保名单): no insured off-roster person fits"))
        .otherwise(pl.lit("")),
        pl.lit("; "), pl.col("n_cand").cast(pl.Utf8), pl.lit(" candidate(s)"),
    ])

"""Warning rules (SPEC §4) and the 预警编号 they are grouped under.

Each rule is a function `(RuleConfig, RuleInputs) -> signals` registered in `RULES`; `run_rules`
runs the rules listed in `cfg.rules` (in config order) whose source kind was delivered. A signal
row is one household (or lead) x rule, with columns `SIGNAL_SCHEMA`: `basis` says why in plain
words with figures, `signal` is the measured quantity used to decide escalation next time.

Leads (persons not on the roster) come only from `unmatched` records (a `review` record waits for
a human); records of one person are grouped by a lead key (normalised masked ID + name), kept
as `L` + 12 hex of its sha1 so no ID number travels further. That key stays in the warehouse, and
a lead's 预警编号 is keyed (`keyed_suffix`): the township lists show the lead's name and masked ID,
beside which a plain hash of the two gives the ID back.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Collection
from dataclasses import dataclass, field
from datetime import timedelta
from functools import cached_property
from typing import Callable

import polars as pl

from matchers.ids import OTHER_MASKS, id_text, is_full_id
from matchers.names import DOTS
from matchers.places import normalize_place
from pipelines.calendar import period_end
from pipelines.reference import kept_off_roster
from pipelines.review_answers import apply_answers
from pipelines.validate import TEMPLATE_ROW

from config import SEVERITIES, Config, PlaceNames, RuleConfig, rules_left_out
from schemas.inputs import EXTRACT_NAMES, as_written, respelled
from schemas.outputs import QUALITY_COLUMNS, Finding

# One item of a signal of a per-person rule (`RuleConfig.per_person`): the person it names, its
# basis, records, signal and severity, so that `assign_warnings` can take out a person warned
# already under another household and add up the rest as the rule did (`signal_agg`).
PART = pl.Struct({"person_id": pl.Utf8, "basis": pl.Utf8, "record_ids": pl.List(pl.Utf8),
                  "signal": pl.Float64, "severity": pl.Utf8, "signal_year": pl.Int32})
SIGNAL_SCHEMA = {
    "rule": pl.Utf8, "risk_type": pl.Utf8, "household_id": pl.Utf8, "lead_key": pl.Utf8,
    "lead_name": pl.Utf8, "lead_village": pl.Utf8, "township": pl.Utf8,
    "person_ids": pl.List(pl.Utf8), "record_ids": pl.List(pl.Utf8), "dept": pl.Utf8,
    "basis": pl.Utf8, "signal": pl.Float64, "severity": pl.Utf8,
    "parts": pl.List(PART), "signal_agg": pl.Utf8,  # (null unless the rule is per person)
    # the calendar year of a year-to-date rule's sum (M1-M3; null for the others): a sum is
    # compared with an earlier warning's of the same year only (`assign_warnings`)
    "signal_year": pl.Int32,
}
SEVERITY_RANK = {s: i for i, s in enumerate(reversed(SEVERITIES), 1)}  # 低 1, 中 2, 高 3
_LEVEL_RANK = {"四级": 1, "三级": 2, "二级": 3, "一级": 4}
_GRADE_RANK = {"A": 1, "B": 2, "C": 3, "D": 4}


def households(roster: pl.DataFrame) -> pl.DataFrame:
    """One row per roster household: place, size (stated, else counted), income, type."""
    return (
        roster.sort("person_id")
        .group_by("household_id", maintain_order=True)
        .agg(
            pl.col("township", "village", "group").first(),
            size=pl.col("household_size").drop_nulls().first().fill_null(pl.len().cast(pl.Int64)),
            income=pl.col("income_per_capita").drop_nulls().first(),
            household_type=pl.col("household_type").drop_nulls().first(),
        )
    )


@dataclass
class RuleInputs:
    """Everything a rule may look at, for one period."""

    extracts: dict[str, pl.DataFrame]
    links: pl.DataFrame
    roster: pl.DataFrame
    period: str
    ytd_settlements: pl.DataFrame | None = None
    water_places: pl.DataFrame | None = None
    candidates: pl.DataFrame | None = None  # ReviewCandidate rows (plausible, not linked)
    places: PlaceNames = PlaceNames()  # how place names compare (`MatchingConfig.places`)
    # each M4 rule's `absence_held` as the period's run decided it over the whole roster (for
    # `review_impact`'s run over a few households); None: decided from these inputs
    held: dict[str, AbsenceHold | None] | None = None
    deceased: pl.DataFrame | None = None  # `known_dead` rows: roster persons 民政 reported dead (C1 reads them)
    _shown_memo: dict = field(default_factory=dict, init=False, repr=False)

    @property
    def year(self) -> str:
        return self.period[:4]

    @cached_property
    def persons(self) -> pl.DataFrame:
        return self.roster.select(
            "person_id", "household_id", r_township="township", p_name="name",
            birth=pl.col("id_number").str.slice(6, 8).str.to_date("%Y%m%d", strict=False),
        )

    @cached_property
    def households(self) -> pl.DataFrame:
        return households(self.roster)

    @cached_property
    def enrollment_earlier(self) -> pl.Series:
        """Record numbers of the enrollment list's rows of a year before the period's (参保年度
        2026 in January 2027's list; `validate.supersede` kept such a row only for a person the
        list shows under no later year): they show a person insured then, not now."""
        e = self.extracts.get("med_enrollment")
        if e is None or "year" not in e.columns:
            return pl.Series("record_id", [], pl.Utf8)
        return e.filter(pl.col("year") < int(self.year))["record_id"].cast(pl.Utf8)

    def _shown(self, earlier: bool, min_p: float) -> pl.Series:
        """Roster persons the enrollment list's rows of the period's year or later (or of no year
        said) show, or with `earlier` its rows of an earlier year: linked (or in review), any
        candidate of a record in review (an answer settles it), a candidate holding at least
        `min_p` of a record left unmatched (who may well be behind it), or shown by a row set
        aside (`identify.shown_on_lists`: no score)."""
        key = (earlier, min_p)
        if key not in self._shown_memo:
            rows = pl.col("record_id").is_in(self.enrollment_earlier.implode())
            rows = rows if earlier else ~rows
            seen = self.links.filter(
                pl.col("kind") == "med_enrollment", pl.col("decision").is_in(["matched", "review"]), rows
            )["person_id"].drop_nulls()
            if self.candidates is not None:
                c = self.candidates.filter(pl.col("kind") == "med_enrollment", rows)
                if "score" in c.columns:
                    c = c.filter(pl.col("score").is_null() | (pl.col("score") >= min_p) | (pl.col("decision") == "review"))
                seen = pl.concat([seen, c["person_id"].drop_nulls()])
            self._shown_memo[key] = seen.unique()
        return self._shown_memo[key]

    def enrolled(self, min_p: float = 0.0) -> pl.Series:
        """Roster persons the enrollment list shows insured in the period's year (`_shown`)."""
        return self._shown(False, min_p)

    def enrolled_before(self, min_p: float = 0.0) -> pl.Series:
        """Roster persons the enrollment list shows under an earlier year only (`_shown`)."""
        before = self._shown(True, min_p)
        return before.filter(~before.is_in(self.enrolled(min_p).implode()))

    @cached_property
    def links_by_kind(self) -> dict[str, pl.DataFrame]:
        """The links of each kind, so that a rule joins its extract to its own kind's links only."""
        parts = self.links.select("kind", "record_id", "decision", "person_id").partition_by("kind", as_dict=True)
        return {k: df for (k,), df in parts.items()}

    @cached_property
    def settlements(self) -> pl.DataFrame | None:
        """Year-to-date settlements with links (`pipelines.year_to_date`) and the calendar `year` of
        their 结算日期 (the period's when it has none); `is_new` marks this period's, and earlier
        ones whose link an answer received this period changed (`answered_now`) or that this run
        linked again after this period's roster change (`relinked_now`); `delivered_now` this
        period's alone. None when 医保 not delivered."""
        cur = self.extracts.get("med_settlement")
        if cur is None:
            return None
        # (a city's year holds some 20 million: only the columns M1-M3 read go in and come out)
        x = cur if self.ytd_settlements is None else self.ytd_settlements
        s = _records(self, x.select([c for c in x.columns if c in _SETTLEMENTS_READ]), keep_sources=False)
        now = [pl.col(c).fill_null(False) for c in ("answered_now", "relinked_now") if c in s.columns]
        delivered = pl.col("record_id").is_in(cur["record_id"].implode())
        return s.with_columns(
            is_new=pl.any_horizontal(delivered, *now), delivered_now=delivered,
            year=_col(s, "settle_date", pl.Date).dt.year().fill_null(int(self.year)).cast(pl.Int32),
        ).select(_SETTLEMENTS_USED)


# What `RuleInputs.settlements` reads of a settlement (`_records`), and what M1-M3 read of it.
_SETTLEMENTS_READ = ("kind", "dept", "record_id", "decision", "person_id", "id_raw", "name", "village", "township",
                     "settle_date", "out_of_pocket", "answered_now", "relinked_now", "lead_key", "lead_name")
_SETTLEMENTS_USED = ("record_id", "dept", "person_id", "household_id", "township", "p_name", "matched", "lead",
                     "lead_key", "lead_name", "out_of_pocket", "year", "is_new", "delivered_now")


def _col(df: pl.DataFrame, name: str, dtype=pl.Utf8) -> pl.Expr:
    return pl.col(name).cast(dtype) if name in df.columns else pl.lit(None, dtype)


def _records(d: RuleInputs, x: pl.DataFrame, keep_sources: bool = True) -> pl.DataFrame:
    """Extract rows with their link: roster columns for matched rows, `lead`/`lead_key` otherwise.
    `keep_sources=False`: without the `id_raw` and `name` the lead keys are made of (once made)."""
    if "decision" not in x.columns:
        mine = [d.links_by_kind[k] for k in x["kind"].unique().to_list() if k in d.links_by_kind]
        links = pl.concat(mine) if mine else d.links.select("kind", "record_id", "decision", "person_id").head(0)
        x = x.join(links, on=["kind", "record_id"], how="left")
    matched = pl.col("decision") == "matched"
    x = x.drop([c for c in ("household_id",) if c in x.columns])
    x = x.with_columns(person_id=pl.when(matched).then(pl.col("person_id").cast(pl.Utf8)))
    # (the persons cut to this extract's first: joining a small extract hashes them, not the roster;
    # joined to the one column and set beside: a year's settlements are wide)
    persons = d.persons.filter(pl.col("person_id").is_in(x["person_id"].implode()))
    x = x.hstack(x.select("person_id").join(persons, on="person_id", how="left", maintain_order="left")
                 .drop("person_id"))
    lead = pl.col("decision").is_null() | (pl.col("decision") == "unmatched")
    if "lead_key" in x.columns:  # the year's settlements: keyed over all the year's leads (`lead_keys`)
        x = x.drop([c for c in ("id_raw", "name") if c in x.columns and not keep_sources])
        key, name = pl.col("lead_key"), pl.col("lead_name")
    else:
        x = _lead_parts(x.with_columns(_lead=lead.fill_null(True)))
        if not keep_sources:
            x = x.drop([c for c in ("id_raw", "name") if c in x.columns])
        key, name = _key(), pl.col("_name")
    matched = matched & pl.col("household_id").is_not_null()  # a link to a person not on this roster: neither
    return x.with_columns(
        matched=matched.fill_null(False),
        lead=lead,
        lead_key=pl.when(lead).then(pl.coalesce(key, "#" + pl.col("record_id"))),
        lead_name=pl.when(lead).then(name),
        lead_village=pl.when(lead).then(_col(x, "village")),
        township=pl.when(matched).then("r_township").otherwise(_col(x, "township")),
    ).drop([c for c in ("_idn", "_name", "_lead") if c in x.columns])


def _lead_parts(x: pl.DataFrame) -> pl.DataFrame:
    """`x` (id_raw, name, `_lead`: an off-roster row) with `_idn` and `_name`: the ID text and name a
    lead's key is made of, the whole ID and name that the lead rows of `x` show filled in."""
    idn = id_text(_col(x, "id_raw"))
    name = (_col(x, "name").str.replace_all(r"\s", "").str.replace_all(DOTS, "·")
            .str.replace_all("＊", "*", literal=True).str.replace_all(OTHER_MASKS, "*"))
    x = x.with_columns(_idn=idn, _name=name)
    idn = pl.col("_idn")  # normalised once, then cut (an eager frame would normalise it for each use)
    x = x.with_columns(_idn=pl.when(idn.str.len_chars() == 20).then(idn.str.slice(0, 18)).otherwise(idn).fill_null(""))
    # masked names first take the whole name their ID text shows, so that a whole ID reached from
    # that name carries them along; then those under a whole ID reached so take its whole name
    return _whole_names(_whole_ids(_whole_names(_dotted_names(x))))


def _dotted_names(x: pl.DataFrame) -> pl.DataFrame:
    """Off-roster rows (`_lead`) showing a whole name without its middle dot (阿不都热合曼买买提, or
    a space for it, gone with the spaces) that another lead row shows with it (阿不都热合曼·买买提)
    take that spelling: one name, as the matcher compares names (`matchers.names.compare_codes`),
    so that one person's settlements from hospitals writing it either way add up as one lead's
    (M3). A name only ever written without the dot keeps its spelling (and its lead's key)."""
    whole = (x.select("_lead", "_name").filter(pl.col("_lead"), pl.col("_name").is_not_null(),
                                               ~pl.col("_name").str.contains("*", literal=True))
             .select("_name").unique())
    dot = pl.col("_name").str.contains("·", literal=True)
    dotted = whole.filter(dot).group_by(_bare=pl.col("_name").str.replace_all("·", "", literal=True)).agg(
        _to=pl.col("_name").min())
    plain = whole.filter(~dot).join(dotted, left_on="_name", right_on="_bare")
    if plain.is_empty():
        return x
    return x.with_columns(_name=pl.when(pl.col("_lead")).then(pl.col("_name").replace(plain["_name"], plain["_to"]))
                          .otherwise(pl.col("_name")))


def _key() -> pl.Expr:
    """A lead's key from `_lead_parts`' `_idn` and `_name`; null for a record showing neither (a
    lead of its own: `_records` keys it by its record number)."""
    key = pl.concat_str(["_idn", pl.col("_name").fill_null("")], separator="|")
    return pl.when(key != "|").then(key)


def lead_keys(leads: pl.DataFrame) -> pl.DataFrame:
    """`leads` (id_raw, name, …: off-roster settlements, or the distinct ID texts and names of
    some) with the key and name of the lead each is (`lead_key`, `lead_name`; a null key: a lead
    of its own), as `_records` keys such rows among them. Which lead a row is depends on the
    other rows only through the distinct ID texts and names they show (`_whole_names`,
    `_whole_ids`), so the year's distinct ones key its rows (`pipelines.year_to_date.rows_to_sum`)."""
    x = _lead_parts(leads.select("id_raw", "name").with_columns(_lead=pl.lit(True)))
    return leads.hstack(x.select(lead_key=_key(), lead_name="_name"))


def _shows_of(shown: str, whole: str, width: int) -> pl.Expr:
    """Every character of column `shown` within its first `width` is `*` or that of `whole`: a
    masked name or ID that a whole one fits."""
    char = lambda c, i: pl.col(c).str.slice(i, 1)  # noqa: E731
    return pl.all_horizontal((char(shown, i) == "*") | (char(shown, i) == char(whole, i)) for i in range(width))


def _whole_ids(x: pl.DataFrame) -> pl.DataFrame:
    """Off-roster rows (`_lead`) showing a masked ID (`_idn`) under a whole name (张妹敏) that
    off-roster rows of the same name show one whole ID compatible with (every kept character
    equal): that person's, so their settlements add up as one lead's (M3) whatever mask each
    hospital sent (SPEC §1: one file can mix styles). Two compatible whole IDs, or none, stay
    apart."""
    whole_id = pl.col("_idn").str.contains(r"^[0-9]{17}[0-9X]$")
    rows = x.select("_lead", "_idn", "_name").filter(  # (of a wide frame, the columns read)
        pl.col("_lead"), pl.col("_name").is_not_null(), ~pl.col("_name").str.contains("*", literal=True))
    full = rows.filter(whole_id).select("_name", _full="_idn").unique()
    masked = rows.filter(pl.col("_idn").str.contains("*", literal=True), pl.col("_idn").str.len_chars() == 18)
    if full.is_empty() or masked.is_empty():
        return x
    one = (_fitting_whole_ids(masked.select("_idn", "_name").unique(), full)
           .group_by("_idn", "_name").agg(pl.col("_full").unique()).filter(pl.col("_full").list.len() == 1)
           .with_columns(pl.col("_full").list.first()))
    # (joined on the two columns alone: a year's settlements are wide)
    whole = x.select("_idn", "_name").join(one, on=["_idn", "_name"], how="left", maintain_order="left")["_full"]
    return x.with_columns(_idn=pl.when(pl.col("_lead")).then(pl.coalesce(whole, "_idn")).otherwise("_idn"))


def _fitting_whole_ids(masked: pl.DataFrame, full: pl.DataFrame) -> pl.DataFrame:
    """(_idn, _name, _full): each masked ID of `masked` (_idn, 18 characters, `*` where hidden;
    _name) with each whole ID of `full` (_name, _full) under the same name that it fits (every
    shown character equal), for the masked IDs that show their first 3 characters or, those
    hidden, their whole birth date (the blocks a whole ID is looked for in: a city's 王伟 would
    otherwise pair every masked ID with every whole one).
    An equi-join per mask pattern on the name and the shown characters: a year of a city's
    settlements pairs millions of masked IDs with the whole IDs of their name, and comparing
    each pair character by character took most of the rules' time."""
    out = {"_idn": pl.Utf8, "_name": pl.Utf8, "_full": pl.Utf8}
    shown = pl.col("_idn").str.replace_all(r"[^*]", "1").str.replace_all("*", "0", literal=True)
    masked = masked.with_columns(_p=shown).filter(
        (pl.col("_p").str.slice(0, 3) == "111") | (pl.col("_p").str.slice(6, 8) == "1" * 8))
    parts = []
    for (pattern,), part in masked.partition_by("_p", as_dict=True, include_key=False).items():
        runs, i = [], 0
        while i < len(pattern):  # (start, length) of the shown runs
            if pattern[i] == "1":
                j = pattern.find("0", i)
                j = len(pattern) if j < 0 else j
                runs.append((i, j - i))
                i = j
            else:
                i += 1
        key = lambda c: pl.concat_str([pl.col(c).str.slice(a, n) for a, n in runs])  # noqa: E731
        whole = full.filter(pl.col("_name").is_in(part["_name"].implode()))
        parts.append(part.with_columns(_k=key("_idn")).join(whole.with_columns(_k=key("_full")), on=["_name", "_k"])
                     .select(list(out)))
    return pl.concat(parts) if parts else pl.DataFrame(schema=out)


def _whole_names(x: pl.DataFrame) -> pl.DataFrame:
    """Off-roster rows (`_lead`) under one ID text (`_idn`, as sent: same mask, same kept
    characters) whose records show one whole name (张妹敏): a masked name there that fits it
    (张*敏, 张**: same length, every shown character equal) is that person's, so their
    settlements add up as one lead's (M3). Two whole names, or a masked name that does not fit,
    stay apart."""
    masked = pl.col("_name").str.contains("*", literal=True)
    whole = (
        x.select("_lead", "_idn", "_name").filter(pl.col("_lead"), pl.col("_idn") != "", pl.col("_name").is_not_null(), ~masked)
        .group_by("_idn").agg(_whole=pl.col("_name").unique())
        .filter(pl.col("_whole").list.len() == 1).with_columns(pl.col("_whole").list.first())
    )
    if whole.is_empty():
        return x
    some = (x.select("_lead", "_idn", "_name").with_row_index("_row").filter(pl.col("_lead"), masked)
            .select("_row", "_idn", "_name").join(whole, on="_idn"))  # (at most one whole name a row)
    if some.is_empty():
        return x
    fits = (pl.col("_name").str.len_chars() == pl.col("_whole").str.len_chars()) & _shows_of(
        "_name", "_whole", some["_name"].str.len_chars().max())
    some = some.filter(fits)
    # (set in place, not joined: a year's settlements are wide)
    return x.with_columns(x["_name"].clone().scatter(some["_row"], some["_whole"]))


def _age(at: pl.Expr) -> pl.Expr:
    """Age in whole years at `at`, from the roster birth date."""
    b = pl.col("birth")
    md = lambda d: d.dt.month().cast(pl.Int32) * 100 + d.dt.day().cast(pl.Int32)  # noqa: E731
    return (at.dt.year() - b.dt.year() - (md(at) < md(b)).cast(pl.Int32)).alias("age")


def _n(x) -> str:
    """A figure as a clerk reads it: 8,214.50 / 5,000."""
    return "?" if x is None else f"{x:,.0f}" if float(x).is_integer() else f"{x:,.2f}"


def _money(x) -> str:
    return "?" if x is None else f"{x:,.2f}"


def _d(x) -> str:
    return "日期不详" if x is None else x.isoformat()


def _say(df: pl.DataFrame, fn: Callable[[dict], str]) -> pl.DataFrame:
    """Add `basis` written row by row (only rows that fired, so few)."""
    return df.with_columns(basis=pl.Series([fn(r) for r in df.iter_rows(named=True)], dtype=pl.Utf8))


def lead_hash(key: str) -> str:
    return "L" + hashlib.sha1(key.encode()).hexdigest()[:12]


_FLAT = dict(keep_nulls=False, empty_as_null=False)


def _of_latest_year(year: pl.Expr) -> pl.Expr:
    """An item's signal where it counts in its group's (an aggregation context): of a
    year-to-date rule's items (`year` their sum's), those of the group's latest year alone; of
    other rules' (no year), all."""
    return pl.when(year.is_null() | (year == year.max())).then(pl.col("signal"))


def _fold(rows: pl.DataFrame, by: list[str], signal_agg: str, *more: pl.Expr, **named: pl.Expr) -> pl.DataFrame:
    """Item rows (person_ids, record_ids, basis, signal, severity) -> one row per `by`: its
    persons and records (sorted, each once), bases (in basis order, each once, joined by '；'),
    the items' signal added up by `signal_agg` (max or sum), the most severe severity; `more`:
    further aggregations.

    Items of a year-to-date rule (`signal_year`, the year of their sum) add up the items of the
    latest year alone, whose year the signal keeps: in January a 补报 completing last December's
    sum and the new year's own sum are one warning, whose signal (what a later month's sum is
    compared with) is the new year's."""
    year = pl.col("signal_year") if "signal_year" in rows.columns else pl.lit(None, pl.Int32)
    latest = _of_latest_year(year)
    return rows.sort("basis").group_by(*by, maintain_order=True).agg(  # (sorted: a deterministic order of bases)
        *more, **named,
        person_ids=pl.col("person_ids").list.explode(**_FLAT).drop_nulls().unique().sort(),
        record_ids=pl.col("record_ids").list.explode(**_FLAT).drop_nulls().unique().sort(),
        basis=pl.col("basis").unique(maintain_order=True).str.join("；"),
        signal=getattr(latest, signal_agg)(),
        severity=pl.col("severity").sort_by(pl.col("severity").replace_strict(SEVERITY_RANK, default=0)).last(),
        signal_year=year.max().cast(pl.Int32),
    )


def _emit(rc: RuleConfig, rows: pl.DataFrame, signal_agg: str = "max") -> pl.DataFrame:
    """Item rows (a person, record or aggregate that fired) -> one signal per household/lead x
    risk type. A per-person rule's signal keeps its items (`parts`, one person each) and how they
    add up (`signal_agg`)."""
    if rows.is_empty():
        return empty_signals()
    cols = rows.columns
    rows = rows.with_columns(
        person_ids=pl.col("person_ids") if "person_ids" in cols else pl.concat_list(_col(rows, "person_id")),
        record_ids=pl.col("record_ids") if "record_ids" in cols else pl.concat_list(_col(rows, "record_id")),
        risk_type=_col(rows, "risk_type").fill_null(pl.lit(rc.risk_type)),
        severity=_col(rows, "severity").fill_null(pl.lit(rc.severity)),
        signal=pl.col("signal").cast(pl.Float64),
        signal_year=_col(rows, "signal_year", pl.Int32),
        **{c: _col(rows, c) for c in ("household_id", "lead_key", "lead_name", "lead_village", "township", "dept")},
    )
    parts = pl.struct(person_id=pl.col("person_ids").list.first(), basis="basis", record_ids="record_ids",
                      signal="signal", severity="severity", signal_year="signal_year")
    out = _fold(
        rows, ["household_id", "lead_key", "risk_type"], signal_agg,
        pl.col("township", "lead_name", "lead_village").drop_nulls().first(),
        dept=pl.col("dept").drop_nulls().unique(maintain_order=True).str.join("、"),
        parts=parts if rc.per_person else pl.lit(None, pl.List(PART)).first(),
    ).with_columns(
        rule=pl.lit(rc.name),
        lead_key=pl.col("lead_key").map_elements(lead_hash, return_dtype=pl.Utf8),
        signal_agg=pl.lit(signal_agg if rc.per_person else None, pl.Utf8),
    )
    return out.select([pl.col(c).cast(t) for c, t in SIGNAL_SCHEMA.items()]).sort(
        "household_id", "lead_key", nulls_last=True
    )


def empty_signals() -> pl.DataFrame:
    return pl.DataFrame(schema=SIGNAL_SCHEMA)


# --- 医保 -----------------------------------------------------------------------------------

def _ytd_by(s: pl.DataFrame, key: str, *firsts: str) -> pl.DataFrame:
    """Sum 个人自付 by `key` and calendar `year` (of 结算日期), keeping only sums with a settlement
    new this period: in January a 补报 of last December's settlements completes last year's sum,
    said with that year."""
    return (
        s.group_by(key, "year")
        .agg(
            pl.col(*firsts).drop_nulls().first(),
            total=pl.col("out_of_pocket").sum().round(2),  # (to the 分: binary fractions add up to 4,999.999…)
            n=pl.len(),
            record_ids=pl.col("record_id"),
            person_ids=pl.col("person_id").drop_nulls().unique(),
            is_new=pl.col("is_new").any(),
            n_late=pl.col("delivered_now").sum().cast(pl.Int64),
        )
        .filter("is_new")
    )


def _settled(r: dict, period: str) -> str:
    """The count of a year's settlements a year-to-date basis gives: `3 笔结算`, and for a year
    before the period's (a 补报 in January completing last December's) how many of them this
    period delivered late, so that a township reading a 2026 sum on its 2027-01 list sees why."""
    late = f"，其中 {r['n_late']} 笔为 {period} 补报" if r["year"] < int(period[:4]) and r["n_late"] else ""
    return f"{r['n']} 笔结算{late}"


def m1(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame | None:
    if (s := d.settlements) is None:
        return None
    thr, high = rc["threshold"], rc.get("high_threshold")
    p = _ytd_by(s.filter("matched"), "person_id", "household_id", "township", "p_name", "dept")
    p = p.filter(pl.col("total") >= thr).with_columns(
        signal="total", signal_year="year",
        severity=pl.when(pl.col("total") >= high).then(pl.lit("高")) if high is not None else pl.lit(None, pl.Utf8),
    )
    return _emit(rc, _say(p.drop("person_ids"), lambda r: (
        f"{r['p_name']} {r['year']}年累计个人自付 {_money(r['total'])} 元 ≥ {_n(thr)} 元（{_settled(r, d.period)}）")))


def _reaches(value: pl.Expr, bar: pl.Expr) -> pl.Expr:
    """`value` >= `bar`, a bar computed as a multiple (a share of an income, escalation_factor x an
    earlier signal), but for the noise of binary fractions, a billionth of `bar`: 0.4 x 12,006 is
    4,802.400000000001, above a cost of 4,802.40 that is 40% of it; losses of 10,000.01 + 10,000.05
    added up are 20,000.059999999998, twice 10,000.03; a signal stored by a run that added 个人自付
    before counting it to the 分 is 6,000.000000000001 for 6,000.00."""
    return value >= bar - bar.abs() * 1e-9


# Rules whose signal is a level's rank (H1's 鉴定等级, D1's 残疾等级): a higher one is the level got
# more severe (SPEC §4), an escalation however far from doubled (二级 3 -> 一级 4), said by name.
LEVEL_NAMES = {"H1": {float(v): f"{k}级" for k, v in _GRADE_RANK.items()},
               "D1": {float(v): k for k, v in _LEVEL_RANK.items()}}


def _level_rules(cfg: Config) -> dict[str, dict[float, str]]:
    """Per configured rule measuring a level (`LEVEL_NAMES`, by its `impl`): rank -> level name."""
    return {name: LEVEL_NAMES[rc.get("impl", name)] for name, rc in cfg.rules.items() if rc.get("impl", name) in LEVEL_NAMES}


def _grew(signal: str, cfg: Config) -> pl.Expr:
    """The signal (column `signal`) grew enough to escalate an earlier warning's (`prev_signal`):
    escalation_factor x it, or, of a rule measuring a level (`_level_rules`), any higher level."""
    prev = pl.col("prev_signal")
    higher = pl.col("rule").is_in(list(_level_rules(cfg))) & (pl.col(signal) > prev)
    return (prev > 0) & (_reaches(pl.col(signal), cfg.run.escalation_factor * prev) | higher)


def _level_said(col: str, cfg: Config) -> pl.Expr:
    """The level name a level rule's signal (column `col`) ranks; null for the other rules."""
    said = [pl.when(pl.col("rule") == name).then(pl.col(col).replace_strict(names, default=None, return_dtype=pl.Utf8))
            for name, names in _level_rules(cfg).items()]
    return pl.coalesce(*said) if said else pl.lit(None, pl.Utf8)


def m2(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame | None:
    if (s := d.settlements) is None:
        return None
    share = rc["share_of_income"]
    h = (
        _ytd_by(s.filter("matched"), "household_id", "township", "dept")
        .join(d.households.select("household_id", "income", "size"), on="household_id")
        .with_columns(annual=pl.col("income") * pl.col("size"))
        .filter(pl.col("annual").is_not_null(), pl.col("total") > 0, _reaches(pl.col("total"), share * pl.col("annual")))
        .with_columns(signal=pl.when(pl.col("annual") > 0).then(pl.col("total") / pl.col("annual")), signal_year="year")
    )
    return _emit(rc, _say(h, lambda r: (
        f"全户{r['year']}年累计个人自付 {_money(r['total'])} 元（{_settled(r, d.period)}），占家庭年纯收入 "
        f"{_money(r['annual'])} 元（人均 {_n(r['income'])} 元 × {r['size']} 人）的 "
        + (f"{r['signal']:.1%}" if r["signal"] is not None else "全部") + f" ≥ {share:.0%}")))


def m3(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame | None:
    if (s := d.settlements) is None:
        return None
    thr = rc["threshold"]
    p = _ytd_by(s.filter("lead"), "lead_key", "lead_name", "dept").filter(pl.col("total") >= thr)
    return _emit(rc, _say(p.with_columns(signal="total", signal_year="year"), lambda r: (
        f"非监测对象 {r['lead_name']} {r['year']}年累计个人自付 {_money(r['total'])} 元 ≥ {_n(thr)} 元"
        f"（{_settled(r, d.period)}）")))


def lead_floor(cfg: Config) -> float | None:
    """The smallest year's sum a lead rule (M3) warns of; None when none runs: the year's
    settlements of a lead below it are not read (`pipelines.year_to_date.rows_to_sum`)."""
    return min((rc["threshold"] for name, rc in cfg.rules.items() if rc.get("impl", name) == "M3"), default=None)


def enrollment_too_short(rc: RuleConfig, d: RuleInputs) -> str | None:
    """Why M4 does not call roster persons absent this period, or None: a list showing fewer
    than `min_roster_share` of the roster is a partial delivery (one county's file of several,
    one insurance scheme), not a county where most monitored people lost their insurance."""
    e = d.extracts.get("med_enrollment")
    if e is None or e.is_empty():
        return None
    min_p = rc.get("shown_min_p", 0.0)
    share = d.persons["person_id"].is_in(d.enrolled(min_p).implode()).mean() if d.persons.height else 1.0
    if share >= rc.get("min_roster_share", 0.0):
        return None
    shown = d.persons["person_id"].is_in(pl.concat([d.enrolled(min_p), d.enrolled_before(min_p)]).implode()).mean()
    if shown >= rc.get("min_roster_share", 0.0):  # a list not yet of the period's year: last year's, in January
        return (f"参保名单只显示底册中 {share:.0%} 的人有 {d.year} 年度的参保行（含往年的行共 {shown:.0%}），疑为尚未更新到本年度的名单："
                f"本期不按“不在名单中”预警，只按暂停/终止参保预警 the enrollment list shows {share:.0%} of the roster "
                f"enrolled for {d.year} ({shown:.0%} with earlier years): a list not yet of the period's year, no one "
                f"is warned as absent from it this period")
    return (f"参保名单只显示底册中 {share:.0%} 的人（应≥{rc['min_roster_share']:.0%}），疑为部分报送：本期不按“不在名单中”预警，"
            f"只按暂停/终止参保预警 the enrollment list shows {share:.0%} of the roster (expected ≥ "
            f"{rc['min_roster_share']:.0%}), a partial delivery: no one is warned as absent from it this period")


def townships_too_short(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    """The townships whose part of the list looks left out (one township 医保 office's export not
    merged in) while the county's whole passes `enrollment_too_short`: township, persons, share
    (of its roster persons the list shows for the period's year), rest (the rest of the county's
    share). Held back when even the upper bound (at `township_z`) of its share is under
    `min_township_share` x rest: far less than the county shows, not a few uninsured families.
    The bound counts its households, not its persons, as the sample: a household is insured or not
    together, so a township of 3 households with one absent is not partial at 67%."""
    out = {"township": pl.Utf8, "persons": pl.UInt32, "share": pl.Float64, "rest": pl.Float64}
    e = d.extracts.get("med_enrollment")
    bar, z = rc.get("min_township_share", 0.0), rc.get("township_z", 0.0)
    if e is None or e.is_empty() or not bar:
        return pl.DataFrame(schema=out)
    min_p = rc.get("shown_min_p", 0.0)
    p = d.persons.select("household_id", township="r_township",
                         shown=pl.col("person_id").is_in(d.enrolled(min_p).implode()))
    n, shown = p.height, pl.col("shown").sum()
    t = (p.filter(pl.col("township").is_not_null()).group_by("township")
         .agg(persons=pl.len(), households=pl.col("household_id").n_unique(), k=shown)
         .filter(pl.col("persons") < n)  # (a county of one township: `enrollment_too_short` is its guard)
         .with_columns(share=pl.col("k") / pl.col("persons"),
                       rest=(p["shown"].sum() - pl.col("k")) / (n - pl.col("persons"))))
    # (Wilson's bound with continuity correction, near the exact binomial one: without it a township of
    # one family, none of it on the list, would read as below 73% for sure)
    h, s = pl.col("households"), pl.col("share")
    spread = z * (z * z + 2 - 1 / h + 4 * s * (h * (1 - s) - 1)).clip(lower_bound=0).sqrt()
    upper = pl.when(s < 1).then((2 * h * s + z * z + 1 + spread) / (2 * (h + z * z))).otherwise(1.0)
    return t.filter(upper < bar * pl.col("rest")).sort("township").select(list(out)).cast(out)


@dataclass(frozen=True)
class AbsenceHold:
    """Where a period's M4 calls no one absent from the 参保名单 (`absence_held`), and why: the whole
    list (`townships` None) or the townships named; 暂停/终止 statuses are warned there still."""

    why: str
    townships: frozenset[str] | None = None


def absence_held(rc: RuleConfig, d: RuleInputs) -> AbsenceHold | None:
    """Where M4 does not call roster persons absent this period: the whole county when the list
    is too short for it (`enrollment_too_short`), else the townships it is too short for
    (`townships_too_short`); None: nowhere. What M4 warns, what the data-quality report says and
    what `review_impact` weighs all follow this one decision."""
    if why := enrollment_too_short(rc, d):
        return AbsenceHold(why)
    short = townships_too_short(rc, d)
    if short.is_empty():
        return None
    said = "、".join(f"{r['township']} {r['share']:.0%}" for r in short.iter_rows(named=True))
    told = ", ".join(f"{r['township']} {r['share']:.0%}" for r in short.iter_rows(named=True))
    rest = f"{short['rest'].min():.0%}" if short.height == 1 else f"{short['rest'].min():.0%}–{short['rest'].max():.0%}"
    return AbsenceHold(
        f"参保名单只显示以下乡镇底册中的人：{said}（其余乡镇 {rest}），疑为这些乡镇的名单未并入（或未更新到本年度）："
        f"本期这些乡镇不按“不在名单中”预警，只按暂停/终止参保预警 the enrollment list shows of these townships' "
        f"roster persons only {told} (the rest of the county {rest}): their part of the list looks left out (or not "
        f"yet of the period's year), no one there is warned as absent from it this period",
        frozenset(short["township"].to_list()))


def _absence(rc: RuleConfig, d: RuleInputs) -> AbsenceHold | None:
    """`absence_held` of M4 rule `rc`, as the run decided it (`d.held`) or decided now."""
    return d.held.get(rc.name) if d.held is not None else absence_held(rc, d)


def m4(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame | None:
    e = d.extracts.get("med_enrollment")
    if e is None:
        return None
    if e.is_empty():
        return None  # an empty snapshot is a broken delivery, not a county without insured
    e = _records(d, e)
    dept = e["dept"][0]
    min_p = rc.get("shown_min_p", 0.0)
    absentees = d.persons.filter(~pl.col("person_id").is_in(d.enrolled(min_p).implode())).with_columns(
        before=pl.col("person_id").is_in(d.enrolled_before(min_p).implode()))
    hold = _absence(rc, d)
    if hold is not None:
        absentees = (absentees.clear() if hold.townships is None
                     else absentees.filter(~pl.col("r_township").is_in(list(hold.townships)).fill_null(False)))
    absent = _say(
        absentees.select(
            "person_id", "household_id", "before", township="r_township", p_name="p_name"),
        lambda r: f"{r['p_name']} 不在医保参保名单（{d.period}）中" if not r["before"] else
        f"{r['p_name']} 在医保参保名单（{d.period}）中无 {d.year} 年度的参保行（只有往年的）").drop("before")
    bad = _say(
        e.filter("matched", pl.col("status").is_in(rc["bad_status"]),
                 ~pl.col("record_id").cast(pl.Utf8).is_in(d.enrollment_earlier.implode())).select(
            "person_id", "household_id", "township", "p_name", "record_id", "status", year=_col(e, "year", pl.Int64)),
        lambda r: f"{r['p_name']} 参保状态为{r['status']}" + (f"（{r['year']}年度）" if r["year"] else ""))
    rows = pl.concat([absent, bad.drop("status", "year")], how="diagonal")
    return _emit(rc, rows.with_columns(signal=pl.lit(1.0), dept=pl.lit(dept)), "sum")


# --- 住建 教育 水利 -------------------------------------------------------------------------

def h1(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    x = _records(d, d.extracts["housing"]).filter(
        "matched", pl.col("grade").is_in(rc["grades"]), ~pl.col("renovation").is_in(rc["done_status"]))
    x = x.with_columns(
        signal=pl.col("grade").replace_strict(_GRADE_RANK, default=None),
        severity=pl.when(pl.col("grade").is_in(rc.get("high_grades", []))).then(pl.lit("高")),
    )
    return _emit(rc, _say(x, lambda r: (
        f"住房安全鉴定为 {r['grade']} 级（{_d(r.get('assess_date'))}），{r['renovation']}")))


def e1(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    x = _records(d, d.extracts["education"]).filter(
        "matched", pl.col("stage").is_in(rc["stages"]), pl.col("status").is_in(rc["statuses"]))
    return _emit(rc, _say(x.with_columns(signal=pl.lit(1.0)), lambda r: (
        f"{r['stage']}学生 {r['p_name']} {r['status']}（{_d(r.get('change_date'))}"
        + (f"，{r['school']}" if r.get("school") else "") + "）")), "sum")


def e2(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    thr = rc["threshold"]
    x = _records(d, d.extracts["education"]).filter(
        "matched", pl.col("stage").is_in(rc["stages"]), pl.col("annual_cost") >= thr)
    return _emit(rc, _say(x.with_columns(signal="annual_cost"), lambda r: (
        f"{r['stage']}学生 {r['p_name']} 本学年个人负担费用 {_money(r['annual_cost'])} 元 ≥ {_n(thr)} 元")))


def w1(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame | None:
    w = d.water_places
    if w is None or w.is_empty():
        return None
    src = d.extracts["water"]
    extra = [c for c in ("dept", "problem_type", "found_date", "resolved_date") if c not in w.columns and c in src.columns]
    if extra:
        w = w.join(src.select("record_id", *extra), on="record_id", how="left")
    if "decision" in w.columns:
        w = w.filter(pl.col("decision") == "matched")
    # (a 解决日期 after the period is a plan: not solved yet)
    w = w.filter(pl.col("resolved_date").is_null() | (pl.col("resolved_date") > period_end(d.period))).select(
        "record_id", "dept", "problem_type", "found_date", w_group="group", _t="township", _v="village")
    # (places compared as the matcher does, suffixes aside: a roster spelling one village or group
    # two ways, 吕台村 / 吕台村委会, 2组 / 二组, had the households written the other way missed)
    def key(c: str, level: str) -> pl.Expr:
        return normalize_place(pl.col(c), level, d.places)
    w = w.with_columns(key("_t", "township"), key("_v", "village"))
    groups = (w.select("record_id", _g=pl.col("w_group").str.split("、")).explode("_g")
              .with_columns(key("_g", "group")).group_by("record_id").agg("_g"))
    w = w.join(groups, on="record_id", how="left")
    x = d.households.select("household_id", "township", "village", "group").with_columns(
        _t=key("township", "township"), _v=key("village", "village"), _hg=key("group", "group")).join(w, on=["_t", "_v"])
    x = x.filter(pl.col("w_group").is_null() | pl.col("_g").list.contains(pl.col("_hg")))
    return _emit(rc, _say(x.with_columns(signal=pl.lit(1.0)), lambda r: (
        f"{r['village']}{r['w_group'] or ''}供水问题未解决：{r['problem_type']}（{_d(r['found_date'])}发现）")), "sum")


# --- 民政 残联 人社 农业农村 ----------------------------------------------------------------

def _in_age(rc: RuleConfig, x: pl.DataFrame, at: str, period: str) -> pl.DataFrame:
    x = x.with_columns(_age(_col(x, at, pl.Date).fill_null(period_end(period))))
    return x.filter(pl.col("age").is_between(rc["min_age"], rc["max_age"]))


def c1(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    x = _records(d, d.extracts["civil"]).filter("matched", pl.col("change_type").is_in(rc["change_types"]))
    x = _in_age(rc, x, "change_date", d.period)
    out = _emit(rc, _say(x.with_columns(signal=pl.lit(1.0)), lambda r: (
        f"家庭成员 {r['p_name']}（{r['age']}岁）{_d(r.get('change_date'))} {r['change_type']}")), "sum")
    # a household whose roster holds no one else alive: the clerk checks whether to close it (销户)
    dead = pl.concat([x["person_id"], dead_by(d.deceased, d.period)]).drop_nulls().unique()
    left = (d.roster.filter(pl.col("household_id").is_in(out["household_id"].implode()))
            .group_by("household_id").agg(n=pl.len(), alive=(~pl.col("person_id").is_in(dead.implode())).sum())
            .filter(pl.col("alive") == 0))
    if left.is_empty():
        return out
    note = pl.when(pl.col("n") == 1).then(pl.lit("；户内无其他在册成员，请核实是否销户")).otherwise(
        pl.lit("；户内在册成员均已死亡注销，请核实是否销户"))
    return out.join(left.select("household_id", _note=note), on="household_id", how="left", maintain_order="left").with_columns(
        basis=pl.col("basis") + pl.col("_note").fill_null("")).drop("_note")


def c2(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    x = _records(d, d.extracts["civil"]).filter(
        pl.col("matched") | pl.col("lead"),
        pl.col("change_type").is_in(rc["change_types"]), pl.col("category").is_in(rc["categories"]))
    x = x.filter(pl.col("matched") | pl.lit(rc.lead))
    return _emit(rc, _say(x.with_columns(signal=pl.lit(1.0)), lambda r: (
        ("" if r["matched"] else "非监测对象 ") + f"{r['p_name'] or r['name']} {_d(r.get('change_date'))} "
        f"{r['change_type']}{r['category']}"
        + (f"（月救助金额 {_n(r['monthly_amount'])} 元）" if r.get("monthly_amount") is not None else ""))), "sum")


def d1(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    severe = pl.col("level").is_in(rc["severe_levels"])
    x = _records(d, d.extracts["disability"]).filter(
        pl.col("cert_type").is_in(rc["cert_types"]), pl.col("matched") | (pl.col("lead") & severe & pl.lit(rc.lead)))
    x = x.with_columns(
        signal=pl.col("level").replace_strict(_LEVEL_RANK, default=None),
        severity=pl.when(severe).then(pl.lit("高")),
    )
    return _emit(rc, _say(x, lambda r: (
        ("" if r["matched"] else "非监测对象 ") + f"{r['p_name'] or r['name']} {r['cert_type']}残疾人证："
        f"{r.get('disability_type') or ''}{r['level']}（{_d(r.get('issue_date'))}）")))


def r1(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    k = rc["months_unpaid"]
    x = _records(d, d.extracts["hr"]).filter("matched")
    x = x.with_columns(months=_col(x, "months_unpaid", pl.Int64).fill_null(0))
    x = x.filter(pl.col("event_type").is_in(rc["event_types"]) | (pl.col("months") >= k))
    x = _in_age(rc, x, "event_date", d.period)
    x = x.with_columns(signal=pl.when(pl.col("months") >= k).then("months").otherwise(1))
    return _emit(rc, _say(x, lambda r: (
        f"{r['p_name']}（{r['age']}岁）{_d(r.get('event_date'))} {r['event_type']}"
        + (f"，连续未缴费 {r['months']} 个月 ≥ {k} 个月" if r["months"] >= k else ""))))


def a1(rc: RuleConfig, d: RuleInputs) -> pl.DataFrame:
    thr, share = rc["threshold"], rc["share_of_income"]
    x = (
        _records(d, d.extracts["agri"]).filter("matched")
        .join(d.households.select("household_id", "income", "size"), on="household_id", how="left")
        .with_columns(annual=pl.col("income") * pl.col("size"))
    )
    by_amount = pl.col("loss_amount") >= thr
    # (a loss of 0, a report not yet assessed, is no share of a household's income, even of none)
    by_share = pl.col("annual").is_not_null() & (pl.col("loss_amount") > 0) & (
        _reaches(pl.col("loss_amount"), share * pl.col("annual")))
    x = x.filter(by_amount | by_share).with_columns(
        signal="loss_amount", big=by_amount, by_share=by_share, ratio=pl.col("loss_amount") / pl.col("annual"),
        risk_type=pl.col("disaster_type").replace_strict(rc.get("risk_type_by_disaster", {}), default=rc.risk_type),
    )

    def basis(r: dict) -> str:
        parts = [f"{r['disaster_type']}损失 {_money(r['loss_amount'])} 元（{_d(r.get('occur_date'))}）"]
        if r["big"]:
            parts.append(f"≥ {_n(thr)} 元")
        if r["by_share"]:
            parts.append(f"占家庭年纯收入 {_money(r['annual'])} 元的 {r['ratio']:.1%} ≥ {share:.0%}" if r["annual"]
                         else "家庭年纯收入为 0 元")
        return "，".join(parts)

    return _emit(rc, _say(x, basis), "sum")


RULES: dict[str, Callable[[RuleConfig, RuleInputs], pl.DataFrame | None]] = {
    "M1": m1, "M2": m2, "M3": m3, "M4": m4, "H1": h1, "E1": e1, "E2": e2, "W1": w1,
    "C1": c1, "C2": c2, "D1": d1, "R1": r1, "A1": a1,
}


def run_rules(
    extracts: dict[str, pl.DataFrame], links: pl.DataFrame, roster: pl.DataFrame, cfg: Config, period: str,
    ytd_settlements: pl.DataFrame | None = None, water_places: pl.DataFrame | None = None,
    candidates: pl.DataFrame | None = None, held: dict[str, AbsenceHold | None] | None = None,
    deceased: pl.DataFrame | None = None,
) -> pl.DataFrame:
    """Every rule in `cfg.rules` whose source kind was delivered -> signals (SIGNAL_SCHEMA).
    `candidates`: the matcher's plausible candidates of records it did not link; `held`: M4's
    holds decided already (`absence_holds`; None: decided here); `deceased`: the persons known
    dead (`known_dead`), whom C1 does not count as a household's members left. The signals
    still name the dead: `for_the_living` takes them out of the rules their death explains.

    A rule's function is `RULES[name]`, or `RULES[impl]` when the config gives `impl = "M1"`
    (a second M1 with other numbers)."""
    d = RuleInputs(extracts, links, roster, period, ytd_settlements, water_places, candidates, cfg.matching.places, held,
                   deceased)
    out = []
    for name, rc in cfg.rules.items():
        fn = RULES.get(rc.get("impl", name))
        if fn is None:
            raise KeyError(f"规则 {name} 没有实现（可用：{'、'.join(RULES)}）")
        if rc.kind in extracts and (s := fn(rc, d)) is not None:
            out.append(s)
    return canonical_townships(pl.concat(out), roster, cfg.matching.places) if out else empty_signals()


def no_rows_why(kind: str, folder: str, extracts: dict[str, pl.DataFrame], rejected: pl.DataFrame | None
                ) -> tuple[str, str]:
    """Why a delivered `folder` has no usable row of `kind` (its extract missing or empty), in
    words (Chinese, English), from what its files gave: every row of the kind set aside (`rejected`,
    REJECTED_SCHEMA rows; a template's own are no record), its file of a header and no record (the
    kind read, empty), a file of the folder set aside whole (its header fits no kind, or unreadable:
    kind unknown), else the kind's file not sent beside the folder's others (参保名单 without the
    settlements). Without `rejected` (None: not known) the three are named as possible."""
    if rejected is None:
        return "文件未报送、被整体搁置或没有数据行", "file not sent, set aside whole, or empty"
    mine = rejected.filter(pl.col("dept") == folder)
    aside = mine.filter(pl.col("kind") == kind, pl.col("reason") != TEMPLATE_ROW)
    if aside.height:
        return (f"文件中 {aside.height} 行全部被搁置，见搁置行及原因.csv",
                f"its {aside.height} rows all set aside, see 搁置行及原因.csv")
    if kind in extracts:
        return "文件只有表头、没有数据行", "its file holds a header and no record"
    if (whole := mine.filter(pl.col("kind").is_null())).height:
        files = "、".join(whole["file"].unique(maintain_order=True).to_list())
        return f"文件被整体搁置：{files}", f"set aside whole: {files}"
    return f"未收到其文件，{folder} 的其他文件已收到", f"its file not sent; {folder}'s other files were"


def held_back(extracts: dict[str, pl.DataFrame], links: pl.DataFrame, roster: pl.DataFrame, cfg: Config, period: str,
              candidates: pl.DataFrame | None = None, delivered: Collection[str] = (),
              held: dict[str, AbsenceHold | None] | None = None, rejected: pl.DataFrame | None = None
              ) -> list[tuple[str, str]]:
    """(rule, why) for every rule that holds part of itself back this period because its input
    looks partial, and every rule of a `delivered` department (folder names with files this run)
    that did not run because none of its extract's rows could be used, saying which of the causes
    it was (`no_rows_why`, from the run's `rejected` rows): the file is missing (参保名单 not sent
    with the settlements), set aside whole or row by row, or holds a header alone. For the
    data-quality report; a department that sent nothing is reported as missing already. `held`:
    M4's holds decided already (`absence_holds`; None: decided here)."""
    d = RuleInputs(extracts, links, roster, period, candidates=candidates, held=held)
    out = []
    for name, rc in cfg.rules.items():
        folder = cfg.kinds[rc.kind].folder
        if folder in delivered and (rc.kind not in extracts or extracts[rc.kind].is_empty()):
            zh, en = no_rows_why(rc.kind, folder, extracts, rejected)
            out.append((name, f"本期没有可用的{EXTRACT_NAMES.get(rc.kind, rc.kind)}数据行（{zh}），规则未运行 "
                              f"no usable {rc.kind} rows this period ({en}): rule not run"))
        elif rc.get("impl", name) == "M4" and rc.kind in extracts and (hold := _absence(rc, d)):
            out.append((name, hold.why))
    return out


def absence_holds(extracts: dict[str, pl.DataFrame], links: pl.DataFrame, roster: pl.DataFrame, cfg: Config,
                  period: str, candidates: pl.DataFrame | None = None) -> dict[str, AbsenceHold | None]:
    """Each M4 rule's `absence_held` over the whole roster, by its name (its list delivered)."""
    d = RuleInputs(extracts, links, roster, period, candidates=candidates)
    return {name: absence_held(rc, d) for name, rc in cfg.rules.items()
            if rc.get("impl", name) == "M4" and rc.kind in extracts}


def held_back_findings(notes: list[tuple[str, str]], skipped: int | None, cfg: Config) -> pl.DataFrame:
    """QualityFinding rows: one per rule `held_back` names (`notes`), of its kind's department;
    and, when the search for warned members split off into a new household was skipped
    (`skipped`: the pairs it would have weighed, over `run.split_search_max_pairs`:
    `warehouse.persons_now`; None when it ran), one of the roster's saying so, since a per-person
    warning may then go out again under the new household; and one (the county's) naming the
    rules of config/default.toml the config does not run (`config.rules_left_out`: its table left
    out, which turns a rule off month after month unseen)."""
    left_out = [dict(category=Finding.RULE_LEFT_OUT, dept=None, file=None, count=1,
                     detail=f"配置中没有默认规则 {'、'.join(f'{n}（{label}）' for n, label in gone)}，本期未运行"
                            f"（如需运行，从 config/default.toml 复制其 [rules.X] 表） — the config has no "
                            f"{', '.join(f'[rules.{n}]' for n, _ in gone)} of config/default.toml: not run")
                for gone in [rules_left_out(cfg)] if gone]
    not_sought = [] if skipped is None else [dict(
        category=Finding.SPLIT_NOT_SOUGHT, dept=cfg.kinds["roster"].folder, file=None, count=1,
        detail=f"户籍底册中已不在底册的预警对象与新增人员组合过多（{skipped:,} 对，上限 run.split_search_max_pairs "
               f"{cfg.run.split_search_max_pairs:,}），本期未识别分户人员：分户成员的按人预警可能重复下发 — too many pairs of "
               f"warned persons gone from the roster x persons new on it ({skipped:,}; a renumbered roster?): split-off "
               f"members were not sought, and a per-person warning may go out again under their new household")]
    return pl.DataFrame([dict(category=Finding.RULE_HELD_BACK, dept=cfg.kinds[cfg.rules[name].kind].folder, file=None,
                              detail=f"{name}: {why}", count=1) for name, why in notes] + left_out + not_sought,
                        schema=QUALITY_COLUMNS)


def review_impact(extracts: dict[str, pl.DataFrame], links: pl.DataFrame, roster: pl.DataFrame, cfg: Config,
                  period: str, signals: pl.DataFrame, guess: pl.DataFrame,
                  ytd_settlements: pl.DataFrame | None = None, candidates: pl.DataFrame | None = None,
                  history: pl.DataFrame | None = None,
                  persons_now: pl.DataFrame | None = None, secret: str | None = None,
                  held: dict[str, AbsenceHold | None] | None = None, deceased: pl.DataFrame | None = None) -> pl.DataFrame:
    """Which review records matter: link each to its best candidate (`guess`, ReviewDecision
    rows from `pipelines.review_answers.best_guess`; all at once) and run the rules again over those
    candidates' households only; a household warning that `signals` (this period's) lacks, and
    that `history` (with `persons_now` and `secret`, as for `assign_warnings`) would not suppress as a repeat,
    is what the answers about the records it cites could raise. M4 holds back where the period's run does
    (`held`: its `absence_holds`, over the whole roster; None: worked out here), not where the households' smaller roster would;
    and warns no one the run knows dead of a rule their death explains (`deceased`: `known_dead`). -> dept, record_id, impact (`<rule> <risk type>：
    <basis>`, and the other waiting records it needs too; several joined by '；'), one row per
    record cited by such a warning."""
    out = {"dept": pl.Utf8, "record_id": pl.Utf8, "impact": pl.Utf8}
    if guess.is_empty():
        return pl.DataFrame(schema=out)
    # Everything below is cut down to the candidates' households (a city waits on ~10% of them):
    # their roster rows (which hold every candidate), and their records with the waiting ones.
    scope = roster.filter(pl.col("person_id").is_in(guess["person_id"].implode()))["household_id"].unique().implode()
    people = roster.filter(pl.col("household_id").is_in(scope))
    waiting = pl.col("record_id").is_in(guess["record_id"].implode())
    linked = apply_answers(links.filter(pl.col("household_id").is_in(scope) | waiting), guess, people)[0]
    ytd = (None if ytd_settlements is None else apply_answers(
        ytd_settlements.filter(pl.col("household_id").is_in(scope) | waiting), guess, people)[0])
    rows = linked.select("kind", "record_id")
    # M4 asks how much of the whole roster (and of each township's) the list shows: as the period's own run found it
    held = absence_holds(extracts, links, roster, cfg, period, candidates) if held is None else held
    hypo = run_rules({k: df.join(rows, on=["kind", "record_id"], how="semi") if "record_id" in df.columns else df.clear()
                      for k, df in extracts.items() if k in {rc.kind for rc in cfg.rules.values()}},
                     linked, people, cfg, period, ytd_settlements=ytd,
                     candidates=None if candidates is None else candidates.filter(
                         pl.col("person_id").is_in(people["person_id"].implode())), held=held, deceased=deceased)
    hypo = for_the_living(hypo, deceased, cfg, period)[0]  # (as the period's signals: no warning for the dead)
    new = hypo.filter(pl.col("household_id").is_not_null()).join(
        signals.select("household_id", "rule"), on=["household_id", "rule"], how="anti")
    if new.height:  # a repeat of a warning still open (or verified lately) would be suppressed
        issued = assign_warnings(new, people, period, history, cfg, persons_now, secret)[0]
        new = new.join(issued.select("household_id", "rule"), on=["household_id", "rule"], how="semi")
    cited = (new.with_row_index("_signal").explode("record_ids")
             .join(guess.select(dept="record_dept", record_ids="record_id"), on="record_ids")
             .with_columns(_others=pl.col("record_ids").implode().over("_signal").list.set_difference(
                 pl.concat_list("record_ids")).list.sort()))
    said = pl.format("{} {}：{}", "rule", "risk_type", "basis")
    needs = pl.when(pl.col("_others").list.len() > 0).then(
        pl.format("（需同时确认：{}）", pl.col("_others").list.join("、"))).otherwise(pl.lit(""))
    return (cited.select("dept", record_id="record_ids", impact=pl.concat_str([said, needs]))
            .group_by("dept", "record_id").agg(pl.col("impact").unique().sort().str.join("；"))
            .select(list(out)).cast(out))


def canonical_townships(signals: pl.DataFrame, roster: pl.DataFrame, names: PlaceNames = PlaceNames()) -> pl.DataFrame:
    """Township as the roster spells it (a lead's record may write 桃沟 for 桃沟乡); a township
    the roster does not know, or that reads as two of its townships (营许 for 营许乡 and 营许镇)
    unless it spells one of them whole, leaves the lead unplaced (null) for the county to place."""
    known = roster.select(pl.col("township").unique().drop_nulls()).with_columns(
        _k=normalize_place(pl.col("township"), "township", names))
    one = known.filter(pl.len().over("_k") == 1).rename({"township": "_one"})
    return signals.with_columns(_k=normalize_place(pl.col("township"), "township", names)).join(
        one, on="_k", how="left", maintain_order="left").with_columns(
        township=pl.when(pl.col("township").is_in(known["township"].implode())).then("township").otherwise("_one"),
    ).select(signals.columns)


# --- persons 民政 reported dead --------------------------------------------------------------

DEATHS = {"dept": pl.Utf8, "record_id": pl.Utf8, "person_id": pl.Utf8, "household_id": pl.Utf8,
          "change_type": pl.Utf8, "change_date": pl.Date}
# `known_dead`: DEATHS + the period whose 民政 extract said it
DEAD = DEATHS | {"reported": pl.Utf8}
# `for_the_living`: a person taken out of a signal; `whole`: the signal named no one else (not sent)
NOT_SENT = {"rule": pl.Utf8, "household_id": pl.Utf8, "person_id": pl.Utf8, "change_type": pl.Utf8,
            "change_date": pl.Date, "reported": pl.Utf8, "whole": pl.Boolean}


def deaths(civil: pl.DataFrame | None, links: pl.DataFrame, cfg: Config) -> pl.DataFrame:
    """DEATHS: the period's 民政 records of a death (变动类型 in `run.death_change_types`) linked
    `matched` to a roster person, as the warehouse keeps them (`deaths`) for the periods after. A
    link in review or unmatched is a doubt: it silences no warning."""
    if civil is None or civil.is_empty() or "change_type" not in civil.columns:
        return pl.DataFrame(schema=DEATHS)
    x = civil.filter(pl.col("change_type").is_in(list(cfg.run.death_change_types)))
    lk = links.filter(pl.col("kind") == "civil", pl.col("decision") == "matched", pl.col("person_id").is_not_null())
    return (x.select(pl.col("record_id").cast(pl.Utf8), dept=_col(x, "dept"), change_type="change_type",
                     change_date=_col(x, "change_date", pl.Date))
            .join(lk.select(pl.col("record_id").cast(pl.Utf8), "person_id", household_id=_col(lk, "household_id")),
                  on="record_id")
            .select([pl.col(c).cast(t) for c, t in DEATHS.items()]).sort("person_id", "record_id"))


def known_dead(now: pl.DataFrame, earlier: pl.DataFrame | None, roster: pl.DataFrame, period: str) -> pl.DataFrame:
    """DEAD: the persons of `roster` 民政 reported dead, this period (`now`: `deaths`) or in an
    earlier one (`earlier`: the warehouse's `deaths` rows, with `period`), one row each (its
    earliest death said: two assistance categories cancelled), its 人编号 as this roster spells
    it and its household the roster's now."""
    rows = [now.select(*DEATHS).with_columns(reported=pl.lit(period))]
    if earlier is not None and earlier.height:
        old = respelled(earlier.filter(pl.col("period") < period), "person_id", roster.select("person_id"))
        rows.append(old.select([pl.col(c).cast(t) for c, t in DEATHS.items()] + [pl.col("period").alias("reported")]))
    x = pl.concat(rows).drop("household_id").join(roster.select("person_id", "household_id"), on="person_id")
    return (x.sort("person_id", "change_date", "reported", nulls_last=True).unique("person_id", keep="first")
            .select([pl.col(c).cast(t) for c, t in DEAD.items()]).sort("person_id"))


def dead_by(deceased: pl.DataFrame | None, period: str) -> pl.Series:
    """The 人编号 of `deceased` (`known_dead`) dead on or before the period's last day (a
    变动日期 not said: reported by then, so dead by then)."""
    if deceased is None or deceased.is_empty():
        return pl.Series("person_id", [], pl.Utf8)
    end = period_end(period)
    return deceased.filter(pl.col("change_date").is_null() | (pl.col("change_date") <= end))["person_id"]


def for_the_living(signals: pl.DataFrame, deceased: pl.DataFrame | None, cfg: Config,
                   period: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(signals, not sent): the persons dead by the period's end (`dead_by`) taken out of the
    signals of the rules their death explains (`RuleConfig.explained_by_death`: M4, R1), the
    rest of each added up again as its rule does; a signal naming no one else is not sent. A
    household rule, and a rule whose signal a death does not explain (M1: costs before it), keeps
    them. `not sent`: NOT_SENT, one row per person taken out of a signal, for `death_notes`."""
    none = pl.DataFrame(schema=NOT_SENT)
    explained = [n for n, rc in cfg.rules.items() if rc.explained_by_death and rc.per_person]
    gone = dead_by(deceased, period)
    if not explained or gone.is_empty() or signals.is_empty():
        return signals, none
    s = signals.with_row_index("_sig")
    items = (s.filter(pl.col("rule").is_in(explained), pl.col("parts").is_not_null())
             .select("_sig", "signal_agg", "parts").explode("parts").unnest("parts"))
    dead = pl.col("person_id").is_in(gone.implode()).fill_null(False)
    hit = items.filter(dead)
    if hit.is_empty():
        return signals, none
    touched = s["_sig"].is_in(hit["_sig"].implode())
    rest = items.filter(pl.col("_sig").is_in(hit["_sig"].implode()), ~dead)
    folded = ["person_ids", "record_ids", "basis", "signal", "severity", "parts", "signal_year"]
    left = s.filter(touched).drop(folded).join(_fold_items(rest), on="_sig").select(s.columns)
    out = pl.concat([s.filter(~touched), left]).sort("_sig")
    not_sent = (hit.select("_sig", "person_id").unique()
                .join(s.select("_sig", "rule", "household_id"), on="_sig")
                .join(deceased.drop("household_id"), on="person_id")
                .with_columns(whole=~pl.col("_sig").is_in(left["_sig"].implode()))
                .sort("_sig", "person_id").select(list(NOT_SENT)).cast(NOT_SENT))
    return out.drop("_sig"), not_sent


def death_notes(not_sent: pl.DataFrame, period: str, listed: int = 10) -> list[tuple[str, str]]:
    """(rule, why) per rule `for_the_living` took persons out of (`not_sent`): how many warnings
    were not sent, how many went out without them, and who, with the death each 民政 reported
    (`listed` at most, then how many more): as `held_back` says a rule held back, for
    `held_back_findings` (the data-quality report, the console)."""
    out = []
    for (rule,), x in not_sent.partition_by("rule", as_dict=True, maintain_order=True).items():
        n = x["person_id"].n_unique()
        whole = x.filter("whole")["household_id"].n_unique()
        part = x.filter(~pl.col("whole"))["household_id"].n_unique()
        who = "、".join(
            f"{r['person_id']}（民政 {r['change_type']} {_d(r['change_date'])}"
            + (f"，{r['reported']} 报送" if r["reported"] != period else "") + "）"
            for r in x.unique("person_id", keep="first", maintain_order=True).head(listed).iter_rows(named=True))
        more = f" 等 {n} 人" if n > listed else ""
        out.append((rule, (
            f"{n} 人已由民政报告死亡（变动日期不晚于 {period_end(period).isoformat()}），本规则不再为其预警："
            f"{whole} 条预警未下发" + (f"，{part} 条预警去掉其人后下发" if part else "") + f"：{who}{more} — "
            f"persons 民政 reported dead by the period's end ({n}) are not warned by this rule: warnings not sent {whole}"
            + (f", sent without them {part}" if part else ""))))
    return out


# --- 预警编号 and repeat suppression ---------------------------------------------------------

WARNING_ID_PREFIX = "YJ"  # a 预警编号 is YJ<YYYYMM>-<10 hex>: the period it was first raised in, then `warning_suffix`


def warning_suffix(key: str, risk_type: str) -> str:
    """Stable across periods: the same household (or lead) and risk type -> the same suffix."""
    return hashlib.sha1(f"{key}|{risk_type}".encode()).hexdigest()[:10]


def keyed_suffix(key: str, risk_type: str, secret: str) -> str:
    """`warning_suffix` of a household numbered by an ID number (its 户编号 the head's 证件号码)
    and of every lead (its key `lead_hash` of its ID and name): an HMAC under the county's own key
    (`adapters.warehouse.warning_key`). A plain hash would give the ID back: the list row shows it
    masked (341302********123X; a lead's in 预警依据 or 来源记录编号, beside its name), and trying
    the ~36,500 birth dates left open against the 预警编号 takes a fraction of a second."""
    return hmac.new(secret.encode(), f"{key}|{risk_type}".encode(), hashlib.sha1).hexdigest()[:10]


def id_households(household_ids: pl.Series, roster: pl.DataFrame, secret: str | None) -> pl.Series:
    """The household keys among `household_ids` numbered by an ID number (`is_full_id` of the
    户编号 as written, the roster's 证件号码 known), whose 预警编号 take `keyed_suffix`; none
    without a `secret`."""
    u = household_ids.drop_nulls().unique()
    if secret is None or u.is_empty():
        return u.clear()
    written = u.to_frame("h").select(as_written(pl.col("h"))).to_series()
    return u.filter(is_full_id(written, roster["id_number"] if "id_number" in roster.columns else None))


def _keyed(household_id: pl.Series, roster: pl.DataFrame, secret: str | None) -> pl.Series:
    """Per warning (of its `household_id`, null for a lead): whether its 预警编号 takes
    `keyed_suffix`, as a household numbered by an ID number (`id_households`) and every lead do
    with a `secret`; none without one (pure-function callers: sha1 as before the key was kept)."""
    lead = household_id.is_null() & (secret is not None)
    return (household_id.is_in(id_households(household_id, roster, secret).implode()).fill_null(False) | lead).alias("kd")


def _suffixes(keys: pl.Series, risks: pl.Series, keyed: pl.Series, secret: str | None) -> list[str]:
    return [keyed_suffix(k, r, secret) if kd else warning_suffix(k, r) for k, r, kd in zip(keys, risks, keyed)]


def _active(history: pl.DataFrame, period: str, cfg: Config) -> pl.DataFrame:
    """The earlier warnings (`history` rows of periods before `period`) a repeat is suppressed by:
    still open or overdue (or without a status), or verified within `cfg.run.suppress_days` of the
    period end; with `_suffix`, the household-and-risk-type part of their 预警编号."""
    ref = period_end(period)
    h = history.filter(pl.col("period") < period).with_columns(
        _suffix=pl.coalesce(*[pl.col("_suffix")] * ("_suffix" in history.columns),
                            pl.col("warning_id").str.split("-").list.last()),
        _ref=pl.col("verified_on").fill_null((pl.col("period") + "-01").str.to_date().dt.month_end()),
    )
    return h.filter(pl.col("status").is_null() | pl.col("status").is_in(["open", "overdue"]) | (
        pl.col("_ref") >= ref - timedelta(days=cfg.run.suppress_days)))


def spelled_now(history: pl.DataFrame, roster: pl.DataFrame, secret: str | None = None) -> pl.DataFrame:
    """Earlier warnings (stored) -> the same with their 户编号 and 人编号 spelled as this period's
    roster spells the same numbers (`schemas.inputs.respelled`: a roster re-saved in Excel
    writes 1023 for 0001023) and, for a household spelled otherwise now, `_suffix`: the part of
    its 预警编号 this period's spelling gives (`warning_suffix`), so that its repeats are known
    (`_active`); its 预警编号 stays as issued. So for a household numbered by an ID number
    (`id_households`) and a lead (by its `lead_key`), whose 预警编号 take `keyed_suffix` with a
    `secret`: a run before the key was kept gave them a plain hash. Null `_suffix`: the 预警编号's own."""
    h = respelled(history, "household_id", roster.select("household_id"))
    if "person_ids" in h.columns:
        h = respelled(h, "person_ids", roster.select("person_id"))
    lead_key = h["lead_key"] if "lead_key" in h.columns else pl.Series([None] * h.height, dtype=pl.Utf8)
    key = h["household_id"].fill_null(lead_key)
    keyed = _keyed(h["household_id"], roster, secret) & key.is_not_null()
    at = ((h["household_id"].ne_missing(history["household_id"]) & h["household_id"].is_not_null()) | keyed).arg_true()
    suffix = pl.Series("_suffix", [None] * h.height, pl.Utf8)
    if at.len():  # (only those spelled otherwise or keyed: a city's history holds millions; each pair once)
        pairs = pl.DataFrame({"k": key.gather(at), "r": h["risk_type"].gather(at), "kd": keyed.gather(at)})
        once = pairs.unique(maintain_order=True)
        once = once.with_columns(s=pl.Series(_suffixes(once["k"], once["r"], once["kd"], secret), dtype=pl.Utf8))
        suffix = suffix.scatter(at, pairs.join(once, on=["k", "r", "kd"], how="left", maintain_order="left")["s"])
    return h.with_columns(suffix)


PERSON_NOW = {"period": pl.Utf8, "person_id": pl.Utf8, "person_id_now": pl.Utf8}


def _with_signal_year(history: pl.DataFrame) -> pl.DataFrame:
    """Earlier warnings with `signal_year`, the year of a year-to-date rule's sum: as stored, or,
    for a warning stored before the column was (2026-12), the latest `YYYY年累计` its basis says
    (M1-M3 say the year of every sum they cite); null for the other rules."""
    said = pl.col("basis").str.extract_all(r"(\d{4})年累计").list.eval(
        pl.element().str.slice(0, 4).cast(pl.Int32)).list.max()
    stored = pl.col("signal_year").cast(pl.Int32) if "signal_year" in history.columns else pl.lit(None, pl.Int32)
    return history.with_columns(signal_year=pl.coalesce(stored, said) if "basis" in history.columns else stored)


def _named(history: pl.DataFrame, persons_now: pl.DataFrame | None, cfg: Config) -> pl.DataFrame:
    """Earlier warnings of per-person rules (`RuleConfig.per_person`) -> one row per person each
    names: its warning_id, rule, period, household_id, signal, severity, status, the `person_id`
    it named and `person_id_now`, the same person on this period's roster (`persons_now`:
    PERSON_NOW rows, `adapters.warehouse.persons_now`; a person it does not list keeps the 人编号)."""
    person_rules = [name for name, rc in cfg.rules.items() if rc.per_person]
    cols = [pl.col(c) if c in history.columns else pl.lit(None, t).alias(c) for c, t in (
        ("warning_id", pl.Utf8), ("rule", pl.Utf8), ("period", pl.Utf8), ("household_id", pl.Utf8),
        ("signal", pl.Float64), ("severity", pl.Utf8), ("status", pl.Utf8), ("signal_year", pl.Int32))]
    # (stored warnings have no status)
    named = pl.col("person_ids").cast(pl.List(pl.Utf8)) if "person_ids" in history.columns else pl.lit([], pl.List(pl.Utf8))
    x = (history.filter(pl.col("rule").is_in(person_rules), pl.col("household_id").is_not_null())
         .select(*cols, person_id=named).explode("person_id").drop_nulls("person_id"))
    now = (persons_now if persons_now is not None else pl.DataFrame(schema=PERSON_NOW)).select(
        pl.col(c).cast(t) for c, t in PERSON_NOW.items()).unique(["period", "person_id"])
    return x.join(now, on=["period", "person_id"], how="left").with_columns(
        person_id_now=pl.coalesce("person_id_now", "person_id"))


def persons_to_recognise(history: pl.DataFrame | None, period: str, cfg: Config) -> pl.DataFrame:
    """period, person_id: the persons named by the earlier warnings of per-person rules that
    would suppress a repeat in `period` (still open, or verified lately): whom
    `adapters.warehouse.persons_now` looks for on the period's roster (a member split off into a
    new household has a new 户编号 and often a new 人编号)."""
    if history is None or history.is_empty():
        return pl.DataFrame(schema={"period": pl.Utf8, "person_id": pl.Utf8})
    return _named(_active(history, period, cfg), None, cfg).select("period", "person_id").unique().sort(
        "period", "person_id")


def persons_followed(history: pl.DataFrame | None, persons_now: pl.DataFrame | None, cfg: Config) -> pl.DataFrame:
    """warning_id, person_id: for each earlier 预警编号 about persons only (every rule of it per
    person: a 因病 row with M2 is about the household too), the persons it names as this period's
    roster knows them (`persons_now`), for `pipelines.feedback.carry_over` to list it where they
    live now."""
    out = {"warning_id": pl.Utf8, "person_id": pl.Utf8}
    if history is None or history.is_empty():
        return pl.DataFrame(schema=out)
    person_rules = [name for name, rc in cfg.rules.items() if rc.per_person]
    only = history.group_by("warning_id").agg(pl.col("rule").is_in(person_rules).all().alias("_only")).filter("_only")
    return (_named(history.join(only, on="warning_id", how="semi"), persons_now, cfg)
            .select("warning_id", person_id="person_id_now").unique().sort("warning_id", "person_id").cast(out))


def _fold_items(items: pl.DataFrame) -> pl.DataFrame:
    """Items of per-person signals (`parts` unnested: _sig, person_id, basis, record_ids, signal,
    severity, signal_year, signal_agg) -> per `_sig` its persons, records, basis, signal, severity
    and `parts` again, added up as its rule does (`signal_agg`)."""
    items = items.with_columns(person_ids=pl.concat_list("person_id"))
    parts = pl.struct(person_id="person_id", basis="basis", record_ids="record_ids", signal="signal", severity="severity",
                      signal_year="signal_year")
    by_agg = items.partition_by("signal_agg", as_dict=True) or {("max",): items}  # (none: an empty frame)
    return pl.concat([_fold(p, ["_sig"], agg, parts=parts) for (agg,), p in by_agg.items()])


def _take_out_warned(s: pl.DataFrame, named: pl.DataFrame, cfg: Config) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """Signals (`_sig` numbered) of per-person rules -> the same without the persons an earlier
    warning of the rule (`named`: `_named` rows of the active ones) named under another household
    while the signal about them did not grow enough to escalate it (escalation_factor x its
    signal, or more severe); their items added up again as the rule does (`signal_agg`).

    Returns (signals, taken out, escalating): a signal none of whose persons is left is dropped;
    `taken out` has a row (SIGNAL_SCHEMA + warning_id, suppressed_by, reason naming the earlier
    预警编号 and the household it was raised under) per signal for the persons taken out of it;
    `escalating` per signal the earlier warning under another household one of its persons
    escalates (x_prev_id, x_prev_household, x_prev_signal, x_prev_severity), for a signal that has
    none of its own household."""
    rank = lambda c: pl.col(c).replace_strict(SEVERITY_RANK, default=0)  # noqa: E731
    none = (s.clear().select(*SIGNAL_SCHEMA, "warning_id", suppressed_by=pl.lit(None, pl.Utf8), reason=pl.lit(None, pl.Utf8)),
            pl.DataFrame(schema={"_sig": pl.UInt32, "x_prev_id": pl.Utf8, "x_prev_household": pl.Utf8,
                                 "x_prev_signal": pl.Float64, "x_prev_severity": pl.Utf8}))
    items = (s.filter(pl.col("parts").is_not_null(), pl.col("household_id").is_not_null())
             .select("_sig", "household_id", "rule", "signal_agg", "parts").explode("parts").unnest("parts")
             .filter(pl.col("person_id").is_not_null()))
    if items.is_empty() or named.is_empty():
        return s, *none
    year = pl.col("signal_year")
    latest = _of_latest_year(year)  # (as `_fold` adds them up)
    person = items.group_by("_sig", "household_id", "rule", "person_id").agg(
        p_signal=pl.when(pl.col("signal_agg").first() == "sum").then(latest.sum()).otherwise(latest.max()),
        p_severity=pl.col("severity").sort_by(rank("severity")).last(), p_year=year.max())
    # (an earlier warning of another year's sum is not this one's: a new year's is raised anew;
    # one whose year is not known counts)
    hits = (person.join(named.select("rule", "period", "person_id_now", prev_id="warning_id", prev_household="household_id",
                                     prev_signal="signal", prev_severity="severity", prev_status="status",
                                     prev_year="signal_year"),
                        left_on=["rule", "person_id"], right_on=["rule", "person_id_now"])
            .filter(pl.col("prev_household") != pl.col("household_id"), (pl.col("prev_year") == pl.col("p_year")).fill_null(True))
            .sort("period", "prev_id").group_by("_sig", "person_id", maintain_order=True).last())
    hits = hits.with_columns(_esc=_grew("p_signal", cfg).fill_null(False) | (rank("p_severity") > rank("prev_severity")))
    escalating = hits.filter("_esc").sort("_sig", "period", "prev_id", descending=[False, True, False]).group_by(
        "_sig", maintain_order=True).first().select(
        "_sig", x_prev_id="prev_id", x_prev_household="prev_household", x_prev_signal="prev_signal",
        x_prev_severity="prev_severity")
    warned = hits.filter(~pl.col("_esc"))
    if warned.is_empty():
        return s, none[0], escalating

    key = ["_sig", "person_id"]
    out = _fold_items(items.join(warned.select(key), on=key, how="semi"))
    rest = _fold_items(items.join(warned.select(key), on=key, how="anti"))
    said = (warned.sort("_sig", "period", "prev_id").group_by("_sig", maintain_order=True).agg(
        suppressed_by=pl.col("prev_id").last(),
        reason=pl.format("前次预警 {}（原户 {}，{}）", "prev_id", "prev_household", pl.col("prev_status").fill_null("open"))
        .unique(maintain_order=True).str.join("、")))
    folded = ["person_ids", "record_ids", "basis", "signal", "severity", "parts", "signal_year"]
    taken = s.drop(folded).join(out, on="_sig").join(said, on="_sig").select(
        *SIGNAL_SCHEMA, "warning_id", "suppressed_by", reason=pl.col("reason") + "仍在有效期内，信号未达升级条件")
    touched = pl.col("_sig").is_in(warned["_sig"].implode())
    left = s.filter(touched).drop(folded).join(rest, on="_sig").select(s.columns)
    return pl.concat([s.filter(~touched), left]).sort("_sig"), taken, escalating


def placed_now(warnings: pl.DataFrame, roster: pl.DataFrame) -> pl.DataFrame:
    """Warnings stored by an earlier run (a partial run keeps the departments it does not re-read)
    -> the same, each household on `roster` placed in the township the roster gives it now (its
    first person's, as `households` reads it): a corrected roster that moved a household moves its
    kept warnings as a full run would place them. Leads and households gone from the roster keep
    their township."""
    if warnings.is_empty() or "township" not in roster.columns:
        return warnings
    now = (roster.sort("person_id").group_by("household_id", maintain_order=True)
           .agg(_now=pl.col("township").first()).filter(pl.col("household_id").is_not_null()))
    return (warnings.join(now, on="household_id", how="left", maintain_order="left")
            .with_columns(township=pl.coalesce("_now", "township")).drop("_now").select(warnings.columns))


def with_status(history: pl.DataFrame, status: pl.DataFrame | None) -> pl.DataFrame:
    """Warning rows of earlier periods (stored) -> the same with each one's `status` and
    `verified_on` now (`status`: WarningStatus rows of the warnings issued before, None when none
    was; a warning they do not hold is open): the repeats and the carry-over weigh them so."""
    return history.join(
        status.select("warning_id", "status", "verified_on") if status is not None
        else pl.DataFrame(schema={"warning_id": pl.Utf8, "status": pl.Utf8, "verified_on": pl.Date}),
        on="warning_id", how="left",
    ).with_columns(pl.col("status").fill_null("open"))


def with_withdrawn(history: pl.DataFrame, rows: pl.DataFrame | None, status: pl.DataFrame | None) -> pl.DataFrame:
    """Earlier warnings (stored, `with_status` applied) + the township rows of the periods before
    (`rows`: TOWNSHIP_COLUMNS + 状态, township, period) and their warnings' status (WarningStatus
    with `result` and `withdrawn`) -> the same with each warning a re-run took back (撤回) after a
    township answered it, its rules as its row was sent. Its period no longer raises it, so it is
    not stored, yet the grid worker verified it at the door: a fact verified within
    `suppress_days` is not warned again (SPEC §4). Its figure is not kept (its row says it in
    words): a repeat escalates it when more severe or of a new year's sum only. Never answered, it
    was never visited (closed by the county): it suppresses nothing."""
    if rows is None or status is None or "withdrawn" not in status.columns or "状态" not in rows.columns:
        return history
    answered = status.filter(pl.col("withdrawn").fill_null(False), pl.col("result").is_not_null())
    # (the row of its own period, the first; 撤回 in the latest: `feedback.STATUS_WITHDRAWN`)
    sent = (rows.filter(pl.col("预警编号").is_in(answered["warning_id"].implode()),
                        ~pl.col("状态").fill_null("").str.starts_with("迁出"))
            .sort("period").group_by("预警编号", maintain_order=True)
            .agg(pl.all().first(), _last=pl.col("状态").last()).filter(pl.col("_last") == "撤回"))
    if sent.is_empty():
        return history
    back = sent.select(
        warning_id="预警编号", household_id="户编号", township="township", risk_type="风险类型",
        rule=pl.col("预警规则").str.split("、"), severity="严重程度", basis="预警依据", period="period",
        signal=pl.lit(None, pl.Float64), person_ids=pl.lit([], pl.List(pl.Utf8)),
    ).explode("rule").join(history.select("warning_id", "rule") if history.height else
                           pl.DataFrame(schema={"warning_id": pl.Utf8, "rule": pl.Utf8}), on=["warning_id", "rule"], how="anti")
    back = back.join(status.select("warning_id", "status", "verified_on"), on="warning_id", how="left")
    return pl.concat([history, back], how="diagonal_relaxed")


def with_kept(warnings: pl.DataFrame, kept: pl.DataFrame | None, roster: pl.DataFrame,
              folder: str = "户籍底册") -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """(warnings, finding): a partial run's warnings with those it keeps of the departments it
    does not re-read (`kept`: Warning rows the period's earlier run stored; None in a full run,
    which keeps none), in the order a full run gives (预警编号, rule). A kept one stored before a
    column was (signal_year) has it null; each is placed in the township the roster gives its
    household now (`placed_now`), and the finding names those whose household it no longer
    holds (`reference.kept_off_roster`, of the roster's `folder`; None in a full run)."""
    if kept is None:
        return warnings, None
    kept = kept.select(pl.col(c) if c in kept.columns else pl.lit(None).alias(c) for c in warnings.columns)
    kept = placed_now(kept, roster)
    return (pl.concat([warnings, kept.cast(warnings.schema)]).sort("warning_id", "rule"),
            kept_off_roster(kept, roster, folder))


def assign_warnings(
    signals: pl.DataFrame, roster: pl.DataFrame, period: str, history: pl.DataFrame | None, cfg: Config,
    persons_now: pl.DataFrame | None = None, secret: str | None = None, issued: pl.Series | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Signals -> (warnings conforming to schemas.outputs.Warning, suppressed repeats).

    `warning_id` = `YJ<YYYYMM>-` + 10 hex of sha1(household-or-lead key, risk type): one per household
    x risk type (M1 and M2 share it), the same on a re-run; of a household numbered by an ID number
    and of a lead, an HMAC under `secret` (`keyed_suffix`; without one, sha1 as any); `issued`, the
    预警编号 an earlier run of the period stored (a re-run): one it issued with the plain sha1 before
    the key was kept stays, as its lists sent it (not withdrawn and sent again under another). A household +
    rule with an earlier warning (in `history`, earlier periods only) still open/overdue, or verified within
    `cfg.run.suppress_days` of the period end, is suppressed unless signal ≥ escalation_factor x the
    earlier one or the severity rose; an escalation's basis names the earlier 预警编号. A
    year-to-date rule's sum (`signal_year`) is compared with an earlier warning of the same year's
    sum only: a new year's sum restarts from nothing, so the crossing of the threshold by a new
    year's sum after a warning of last year's is a new fact, raised (escalating the earlier one,
    `（新年度：前次预警 … 据 2026 年的合计，2027 年重新累计）`), never suppressed by it nor judged
    against last year's figure; a 补报 completing last year's sum is judged against last year's.

    A rule about persons (`RuleConfig.per_person`) is suppressed per person too: a person an
    earlier warning of the rule named under another household (a member split off into a new
    household; `persons_now`, PERSON_NOW rows, tells who they are on this period's roster when
    their 人编号 changed) is taken out of the signal under the same conditions, judged on their
    own items; a signal with no one left is suppressed, its reason naming the earlier 预警编号 and
    the household it was raised under (`前次预警 YJ…（原户 H…，open）仍在有效期内…`). Household rules
    (`per_person` false) stay keyed by household. A suppressed row is a signal, or the persons
    taken out of one. Extra columns: lead_key, lead_name, lead_village, escalates, signal_year."""
    prefix = f"{WARNING_ID_PREFIX}{period.replace('-', '')}-"
    s = signals.with_columns(
        *[pl.lit(None, t).alias(c) for c, t in SIGNAL_SCHEMA.items() if c not in signals.columns])
    s = s.with_columns(
        township=pl.col("township").fill_null(
            pl.col("household_id").replace_strict(
                dict(roster.select("household_id", "township").unique("household_id").iter_rows()), default=None)),
        _suffix=pl.Series(_suffixes(s.select(pl.coalesce("household_id", "lead_key")).to_series(), s["risk_type"],
                                    _keyed(s["household_id"], roster, secret), secret), dtype=pl.Utf8),
    ).with_columns(warning_id=prefix + pl.col("_suffix")).with_row_index("_sig")
    if secret is not None and issued is not None and not issued.is_empty():  # (`_suffix` stays keyed: the repeats)
        keys = s.select(pl.coalesce("household_id", "lead_key")).to_series()
        plain = pl.lit(prefix + pl.Series(_suffixes(keys, s["risk_type"], pl.repeat(False, s.height, eager=True), None),
                                          dtype=pl.Utf8))
        s = s.with_columns(warning_id=pl.when(plain.is_in(issued.implode())).then(plain).otherwise("warning_id"))
    collide = s.group_by("warning_id").agg(k=pl.coalesce("household_id", "lead_key").n_unique()).filter(pl.col("k") > 1)
    if collide.height:
        raise ValueError(f"预警编号冲突：{collide['warning_id'].to_list()}")

    prev, taken, escalating = None, None, None
    if history is not None and history.height:
        h = _active(_with_signal_year(history), period, cfg)
        prev = h.sort("period").group_by("_suffix", "rule", "signal_year").last().select(
            "_suffix", "rule", "signal_year", "period", prev_id="warning_id", prev_signal="signal",
            prev_severity="severity", prev_status="status", prev_year="signal_year")
        s, taken, escalating = _take_out_warned(s, _named(h, persons_now, cfg), cfg)
    if prev is None:
        s = s.with_columns(prev_id=pl.lit(None, pl.Utf8), prev_signal=pl.lit(None, pl.Float64),
                           prev_severity=pl.lit(None, pl.Utf8), prev_status=pl.lit(None, pl.Utf8),
                           prev_year=pl.lit(None, pl.Int32))
    else:
        # the earlier warning of the same year's sum (of any, for a rule without years); failing it,
        # the latest other: of another year's sum, a new year's sum restarts from nothing, so it is
        # not compared with last year's and its crossing is raised anew, naming it (`new_year`); of
        # a year not known (no basis to tell it), compared as any
        s = s.join(prev.drop("period"), on=["_suffix", "rule", "signal_year"], how="left", nulls_equal=True)
        other = prev.sort("period").group_by("_suffix", "rule").last()
        s = s.join(other.select("_suffix", "rule", **{f"o_{c}": c for c in (
            "prev_id", "prev_signal", "prev_severity", "prev_status", "prev_year")}), on=["_suffix", "rule"], how="left")
        other_only = pl.col("prev_id").is_null() & pl.col("signal_year").is_not_null()
        s = s.with_columns(pl.when(other_only).then("o_" + c).otherwise(c).alias(c) for c in (
            "prev_id", "prev_signal", "prev_severity", "prev_status", "prev_year")).drop(pl.selectors.starts_with("o_prev_"))
    s = s.with_columns(prev_household=pl.lit(None, pl.Utf8))
    if escalating is not None and escalating.height:  # a person warned under another household, grown since
        own = pl.col("prev_id").is_not_null()
        s = s.join(escalating, on="_sig", how="left").with_columns(
            *[pl.when(own).then(c).otherwise("x_" + c).alias(c)
              for c in ("prev_id", "prev_signal", "prev_severity", "prev_household")],
        ).drop(escalating.columns[1:])

    rank = lambda c: pl.col(c).replace_strict(SEVERITY_RANK, default=0)  # noqa: E731
    grew = _grew("signal", cfg)
    rose = rank("severity") > rank("prev_severity")
    leveled = _level_said("prev_signal", cfg).is_not_null() & _level_said("signal", cfg).is_not_null()
    has_prev = pl.col("prev_id").is_not_null()
    new_year = pl.col("prev_year").is_not_null() & pl.col("signal_year").is_not_null() & (
        pl.col("prev_year") != pl.col("signal_year"))
    s = s.with_columns(escalate=has_prev & (grew.fill_null(False) | rose | new_year.fill_null(False)),
                       _new_year=new_year.fill_null(False))
    earlier = pl.concat_str([pl.col("prev_id"), pl.format("（原户 {}）", "prev_household").fill_null("")])
    why_grew = pl.format("（升级：前次预警 {} 信号 {}，本次 {}）", earlier,
                         pl.col("prev_signal").round(2), pl.col("signal").round(2))
    why_rose = pl.format("（升级：前次预警 {} 严重程度{}，本次{}）", earlier, "prev_severity", "severity")
    why_level = pl.format("（升级：前次预警 {} 等级{}，本次{}）", earlier, _level_said("prev_signal", cfg), _level_said("signal", cfg))
    why_year = pl.format("（新年度：前次预警 {} 据 {} 年的合计，{} 年重新累计）", earlier, "prev_year", "signal_year")
    s = s.with_columns(
        basis=pl.when(pl.col("_new_year")).then(pl.col("basis") + why_year)
        .when(pl.col("escalate") & rose).then(pl.col("basis") + why_rose)
        .when(pl.col("escalate") & leveled).then(pl.col("basis") + why_level)
        .when(pl.col("escalate")).then(pl.col("basis") + why_grew).otherwise("basis"),
        escalates=pl.when("escalate").then("prev_id"),
    )
    keep = s.filter(~has_prev | pl.col("escalate"))
    suppressed = s.filter(has_prev & ~pl.col("escalate")).select(
        *SIGNAL_SCHEMA, "warning_id", suppressed_by="prev_id",
        reason=pl.format("前次预警 {}（{}）仍在有效期内，信号未达升级条件", "prev_id",
                         pl.col("prev_status").fill_null("open")))
    if taken is not None and taken.height:
        suppressed = pl.concat([suppressed, taken.cast(suppressed.schema)]).sort("warning_id", "rule", maintain_order=True)
    warnings = keep.select(
        "warning_id", "household_id", "township", "risk_type", "rule", "severity", "dept", "record_ids",
        "person_ids", "basis", "signal", "lead_key", "lead_name", "lead_village", "escalates", "signal_year",
    ).sort("warning_id", "rule")
    return warnings, suppressed

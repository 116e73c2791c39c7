"""The settlements the year-to-date rules (M1-M3, SPEC §4) sum: every settlement of the calendar
year of its 结算日期, each 结算流水号 once, about the person as the CURRENT roster knows them.

An earlier period's settlement is stored with the link its own run made (warehouse table
`settlements`); that stored row is never changed. The current run links again, against its own
roster and together with its own records (`flows.link_records`), only the few earlier ones whose
link the roster may have changed (`to_relink`): those linked to a person whose roster row is gone
or changed since (household split: a new 人编号; 证件号码 or 姓名 corrected), and those not
linked then (unmatched, review) that show the kept last 4 or birth date of a person new or
changed since (a household added, an ID corrected) under a name that may be theirs (its first
character reads as theirs, or is hidden). The sums use the new links (`merge`); every
other earlier settlement keeps its link (the review answers received since are applied to all
of them, `pipelines.review_answers.apply_answers`).
"""

from __future__ import annotations

import polars as pl

from matchers.ids import normalize_ids
from matchers.names import edge_pinyin, normalize_name
from schemas.links import Link, RosterChange


# The columns of a settlement the year's sums read (`pipelines.rules`: M1-M3 and what the review
# answers change, `pipelines.review_answers`) and that choose the earlier ones to link again
# (`to_relink`). A year's settlements are read and carried with these alone (a city's December
# carries some 20 million): a rule that reads another column of them adds it here.
YTD_COLUMNS = ("dept", "kind", "record_id", "name", "id_raw", "township", "village", "settle_date", "out_of_pocket",
               "decision", "person_id", "household_id", "score")
# Of those, what `to_relink` reads.
RELINK_COLUMNS = ("record_id", "period", "name", "id_raw", "decision", "person_id")


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


def to_relink(earlier: pl.DataFrame, changed: pl.DataFrame, roster: pl.DataFrame) -> pl.DataFrame:
    """Of `earlier` (stored settlements with their `period` and link), those to link again against
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
    open_ = earlier.filter(pl.col("decision").is_in(["unmatched", "review"]))
    named = _first_py(open_["name"]) if "name" in open_.columns else pl.Series([None] * open_.height, dtype=pl.Utf8)
    # each record's keys side by side (a city's year holds millions of records not linked)
    shown = lambda a, b: pl.col("kept").str.slice(a, b - a) == "1" * (b - a)  # noqa: E731
    open_ = normalize_ids(open_.select("record_id", "period", "id_raw")).select(
        "record_id", "period", _py=named, L=pl.when(shown(14, 18)).then("L" + pl.col("id_norm").str.slice(14, 4)),
        B=pl.when(shown(6, 14)).then("B" + pl.col("id_norm").str.slice(6, 8)))
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


def merge(current: pl.DataFrame, earlier: pl.DataFrame | None, relinked: pl.DataFrame | None,
          changed_now: pl.Series) -> pl.DataFrame:
    """The year's settlements (`current`'s columns + `relinked_now`): this period's (`current`,
    with their links) and the `earlier` ones not delivered again, those linked again this run
    (`relinked`: Link rows) with their new link. `relinked_now`: the new link differs from the
    stored one and concerns a person whose roster row is new, changed or gone since the previous
    period (`changed_now`, 人编号): the roster change is this period's, so the rules weigh the
    record as one of this period's (the M1 a split or a corrected ID completes is raised now,
    and not again next month for the same reason)."""
    current = current.with_columns(relinked_now=pl.lit(False))
    if earlier is None or earlier.is_empty():
        return current
    earlier = earlier.filter(~pl.col("record_id").is_in(current["record_id"].implode()))
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

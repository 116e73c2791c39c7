"""The human-review queue: each ambiguous record beside its candidates, best first (the
analysts' answers to it: `pipelines.review_answers`).

A candidate's ID is shown only where it equals what the record kept (× where it differs, * where
the record kept nothing), so the queue tells the reviewer which characters agree without
revealing anything the department did not already send.
"""

from __future__ import annotations

import polars as pl

from config import MatchingConfig
from matchers.ids import fixed_stars, normalize_ids
from schemas.inputs import as_written
from schemas.outputs import REVIEW_ANSWER_COLUMNS

COLUMNS = {
    "dept": "部门", "record_id": "记录编号", "rec_name": "记录姓名", "rec_id": "记录证件号码（部门报送原样）",
    "rec_place": "记录地址", "rank": "候选序号", "cand_name": "候选人姓名", "cand_id": "候选人证件号码（按记录保留位）",
    "township": "乡（镇）", "village": "行政村", "group": "村民小组", "household_id": "户编号",
    "person_id": "人编号", "score": "概率", "reason": "依据", "why": "复核原因",
}
IMPACT_COLUMN = "若为候选人1将新增预警"
# the period (YYYY-MM) the record was first sent to review: the earliest period stored, up to the
# queue's, in which it was (`first_queued`); the queue's own for a record new in it
FIRST_COLUMN = "首次列入复核"
# a settlement of an earlier period (its `period`) that this run linked again against its own
# roster because the roster changed since (pipelines.year_to_date): it waits for a person now
EARLIER = "{} 报送的结算，户籍底册变动后按本期底册重新比对：计入本年累计前需确认本人。"
# why a record waits for a person (ReviewCandidate.cause), in the reviewer's words; {} are
# filled with the rival records (rival), the record answered 是 for the person with the answer
# (taken), and the best probability and the threshold (weak)
CAUSES = {
    "ambiguous": "多名候选人同样相符，请核实是其中哪一位",
    "rival": "同一名单中另有记录与该候选人相符（一人只应有一条）：{}，请指认哪条是本人",
    "taken": "复核结论已确认候选人1是同一名单中记录 {}的本人（一人只应有一条），本记录因此未关联：如该结论有误、此人是本记录的，请答“是”，否则答“否”",
    "weak": "最佳候选人相符程度不足以自动关联（概率 {} 低于 {}），请核实",
    "name": "记录姓名与最佳候选人不符，不自动关联，请核实是否本人",
}


def answer_cite() -> pl.Expr:
    """Where an answer to the queue was given (a ReviewDecision or ReviewAnswer row with its
    `period` received): `<file> 第 N 行，<period> 收到`. Every text citing an answer reads it
    from here: the links an answer made or changed (`pipelines.review_answers.apply_answers`),
    the record whose person an answer took (`matchers.link`, CAUSES["taken"]), the data-quality line."""
    return pl.format("{} 第 {} 行，{} 收到", "file", "line", "period")


def _show_kept(id_number: pl.Expr, kept: pl.Expr, shown: pl.Expr) -> pl.Expr:
    """Characters of `id_number` where `kept` has '1' and the record `shown` the same one, `×`
    where the record kept another, `*` where it kept nothing."""
    def show(s: dict) -> str:
        return "".join((ch if ch == r else "×") if k == "1" else "*"
                       for ch, k, r in zip(s["c"] or "", s["k"] or "", s["r"] or ""))
    return pl.struct(c=id_number, k=kept, r=shown).map_elements(show, return_dtype=pl.Utf8)


def cut_p(p: pl.Expr) -> pl.Expr:
    """A probability cut, not rounded, to 4 places: 0.98996 is 0.9899, under a 0.99 threshold.
    Every probability shown (the queue's 概率, `p=` in a link's or candidate's reason) reads it from here."""
    return ((p * 10_000 + 1e-9).floor() / 10_000).round(4)


def _why(review: pl.DataFrame, match_threshold: float) -> pl.Expr:
    """Why a record of `review` (ReviewCandidate rows) waits for a person, from its rows'
    `cause`, `rivals` (those not in the queue themselves marked so: the matcher gave them to
    someone else or no one) and best `score` (`CAUSES`, `cut_p`)."""
    best = cut_p(pl.col("score").max().over("dept", "kind", "record_id"))
    queued = review["record_id"].unique().to_list()
    rivals = pl.col("rivals").str.split("、").list.eval(
        pl.when(pl.element().is_in(queued)).then(pl.element()).otherwise(pl.element() + "（不在复核队列中）")).list.join("、")
    return (pl.when(pl.col("cause") == "rival").then(pl.format(CAUSES["rival"], rivals.fill_null("-")))
            .when(pl.col("cause") == "taken").then(pl.format(CAUSES["taken"], pl.col("rivals").fill_null("-")))
            .when(pl.col("cause") == "ambiguous").then(pl.lit(CAUSES["ambiguous"]))
            .when(pl.col("cause") == "name").then(pl.lit(CAUSES["name"]))
            .otherwise(pl.format(CAUSES["weak"], best, pl.lit(match_threshold))))


def review_queue(review: pl.DataFrame, records: pl.DataFrame, roster: pl.DataFrame,
                 match_threshold: float, impact: pl.DataFrame | None = None,
                 linked: pl.DataFrame | None = None) -> pl.DataFrame:
    """`review`: ReviewCandidate rows; `records`: PersonRecord rows (an earlier period's settlement
    this run linked again carries that `period`: its 复核原因 says so first, `EARLIER`); `roster`: RosterPerson rows;
    `match_threshold`: the probability an automatic link needs (cited when evidence is short);
    `linked`: Link rows matched in one-record-per-person kinds (参保名单).
    One row per (record, candidate), Chinese headers, sorted by department, record and rank;
    复核原因 says why the record waits for a person (and, on a candidate `linked` already holds
    for another record of the same list, that 是 would take them from it); `IMPACT_COLUMN` the warnings it would raise
    as its best candidate's (`impact`: dept, record_id, impact from `pipelines.rules.review_impact`),
    and such records come first; the `REVIEW_ANSWER_COLUMNS` are empty, for the analyst
    (是否本人: 是 / 否) — the file comes back through 复核/ (`check_answers`)."""
    if review.is_empty():
        return pl.DataFrame(schema={v: pl.Utf8 for v in [*COLUMNS.values(), IMPACT_COLUMN, *REVIEW_ANSWER_COLUMNS]})
    rec = normalize_ids(records.select("dept", "kind", "record_id", "name", "id_raw", "township", "village")
                        .join(review.select("dept", "kind", "record_id").unique(), on=["dept", "kind", "record_id"]),
                        fixed=fixed_stars(records))  # (its masks read as the link read them)
    if "period" in records.columns:  # an earlier period's settlement this run linked again (pipelines.year_to_date)
        rec = rec.join(records.select("dept", "kind", "record_id", "period"), on=["dept", "kind", "record_id"], how="left")
    else:
        rec = rec.with_columns(period=pl.lit(None, pl.Utf8))
    earlier = pl.format(EARLIER, "period")
    out = (
        review.with_columns(why=_why(review, match_threshold)).join(rec, on=["dept", "kind", "record_id"], how="left")
        .with_columns(why=pl.when(pl.col("period").is_not_null()).then(pl.concat_str([earlier, "why"])).otherwise("why"))
        .join(roster.select("person_id", pl.col("name").alias("cand_name"), "id_number", "township", "village", "group"),
              on="person_id", how="left", suffix="_cand")
        .with_columns(
            rec_name=pl.col("name"),
            rec_id=pl.col("id_raw"),
            rec_place=pl.concat_str([pl.col("township").fill_null(""), pl.col("village").fill_null("")]),
            cand_id=_show_kept(pl.col("id_number"), pl.col("kept"), pl.col("id_norm")),
            township=pl.col("township_cand"), village=pl.col("village_cand"),
            household_id=as_written(pl.col("household_id")),
            score=cut_p(pl.col("score")),
        )
    )
    if linked is not None and linked.height:
        holders = (linked.select("dept", "kind", "person_id", "record_id").sort("record_id")
                   .group_by("dept", "kind", "person_id").agg(_holders=pl.col("record_id").str.join("、")))
        out = out.join(holders, on=["dept", "kind", "person_id"], how="left", maintain_order="left").with_columns(
            why=pl.when(pl.col("_holders").is_not_null() & ((pl.col("cause") != "taken") | (pl.col("rank") > 1)))
            .then(pl.format("{}；注意：此候选人已自动关联同一名单中的记录 {}（一人只应有一条），答“是”将取消那条关联",
                            "why", "_holders")).otherwise("why"))
    if impact is None:
        impact = pl.DataFrame(schema={"dept": pl.Utf8, "record_id": pl.Utf8, "impact": pl.Utf8})
    out = out.join(impact.select("dept", "record_id", "impact"), on=["dept", "record_id"], how="left")
    return in_order(out.select(*COLUMNS, "impact").rename(COLUMNS | {"impact": IMPACT_COLUMN})
                    .with_columns(pl.lit(None, pl.Utf8).alias(c) for c in REVIEW_ANSWER_COLUMNS))


def period_queue(candidates: pl.DataFrame, records: pl.DataFrame, links: pl.DataFrame, roster: pl.DataFrame,
                 cfg: MatchingConfig, impact: pl.DataFrame | None = None) -> pl.DataFrame:
    """The period's review queue (`review_queue`) from what linking left: the candidates of the
    records it sent to review (`candidates`: ReviewCandidate rows, those of unmatched records too),
    and, for a candidate 是 would take from another record of a list holding each person once, the
    links matched in those kinds (`links`: Link rows; `one_record_per_person_kinds`)."""
    return review_queue(candidates.filter(pl.col("decision") == "review"), records, roster, cfg.match_threshold, impact,
                        links.filter(pl.col("decision") == "matched",
                                     pl.col("kind").is_in(list(cfg.one_record_per_person_kinds))))


def in_order(queue: pl.DataFrame) -> pl.DataFrame:
    """The queue's order (Chinese headers, as `review_queue` gives it): records whose answer would
    raise a warning first, then by department, record and rank."""
    return queue.sort(pl.col(IMPACT_COLUMN).is_null(), COLUMNS["dept"], COLUMNS["record_id"], COLUMNS["rank"],
                      maintain_order=True)


def with_kept(queue: pl.DataFrame, kept: pl.DataFrame | None) -> pl.DataFrame:
    """A partial run's queue (`review_queue`) with the rows it keeps of the departments it does not
    re-read (`kept`: the published 人工复核队列.csv's rows of them, as read: text; None in a full
    run), in the queue's order; a queue an older version published lacks the newer columns, left
    empty."""
    if kept is None:
        return queue
    kept = kept.with_columns(pl.lit(None, pl.Utf8).alias(c) for c in queue.columns if c not in kept.columns)
    return in_order(pl.concat([queue, kept.select(queue.columns).cast(queue.schema, strict=False)]))


def listed(queue: pl.DataFrame) -> pl.DataFrame:
    """The candidates `queue` (as published, Chinese headers) lists for each record -> dept,
    record_id, person_id, id_raw (the record's ID as shown): what a 人编号 answered for the
    record may have been copied from (`pipelines.review_answers.check_answers`)."""
    return queue.select(dept=COLUMNS["dept"], record_id=COLUMNS["record_id"], person_id=COLUMNS["person_id"],
                        id_raw=COLUMNS["rec_id"]).cast(pl.Utf8).unique(maintain_order=True)


def first_queued(queued: pl.DataFrame, history: pl.DataFrame, period: str) -> pl.DataFrame:
    """When each record of `period`'s review queue was first sent to review. `queued`: its
    records (dept, record_id; repeated per candidate or not); `history`: stored links (dept,
    record_id, decision, period) of any periods (`adapters.warehouse.review_history` reads those
    in review). -> dept, record_id, first: the earliest period up to `period` in which the record
    (部门 + 记录编号) was in review, `period` itself counted (a record new in the queue, or one no
    stored period holds in review: an earlier month's settlement linked again now). Periods after
    `period` are not read, and nor is anything but the record's stored decisions: a re-run gives
    the same answer whether or not `history` holds the period's replaced or new links, and a
    period run after a later one (out of order) answers from the periods up to it. A record
    answered and linked, then back in review, keeps its first period."""
    keys = ["dept", "record_id"]
    earlier = (history.filter(pl.col("decision") == "review", pl.col("period") <= period)
               .group_by(keys).agg(first=pl.col("period").min()))
    return (queued.select(keys).unique(maintain_order=True).join(earlier, on=keys, how="left", maintain_order="left")
            .with_columns(first=pl.col("first").fill_null(pl.lit(period)).cast(pl.Utf8)))


def with_first_queued(queue: pl.DataFrame, first: pl.DataFrame) -> pl.DataFrame:
    """`queue` (Chinese headers, as `review_queue` gives it, or rows kept from a published one
    with or without the column) with `FIRST_COLUMN` from `first` (`first_queued`) right after
    记录编号, where the reviewer reads which record a row is about; rows and their order kept."""
    keys = {COLUMNS["dept"]: "dept", COLUMNS["record_id"]: "record_id"}
    base = queue.drop(FIRST_COLUMN, strict=False)
    got = base.join(first.select(*keys.values(), pl.col("first").alias(FIRST_COLUMN)).rename({v: k for k, v in keys.items()}),
                    on=list(keys), how="left", maintain_order="left")
    at = base.columns.index(COLUMNS["record_id"]) + 1
    return got.select(*base.columns[:at], FIRST_COLUMN, *base.columns[at:])


def queue_ages(queue: pl.DataFrame, period: str) -> pl.DataFrame:
    """How many records (部门 + 记录编号, not candidate rows) of `period`'s queue (with
    `FIRST_COLUMN`) were first sent to review in each period -> dept, first_queued, records,
    new (first_queued = `period`), sorted by department and period. The console and the county
    report say from it how many are new this period and how many have waited since an earlier one."""
    return (queue.select(dept=COLUMNS["dept"], record_id=COLUMNS["record_id"], first_queued=FIRST_COLUMN)
            .unique(["dept", "record_id"])
            .group_by("dept", "first_queued").agg(records=pl.len().cast(pl.Int64))
            .with_columns(new=pl.col("first_queued") == period)
            .sort("dept", "first_queued"))

"""The human-review queue: each ambiguous record beside its candidates, best first; and the
analysts' answers to it (是否本人), applied to the links of later runs.

A candidate's ID is shown only where it equals what the record kept (× where it differs, * where
the record kept nothing), so the queue tells the reviewer which characters agree without
revealing anything the department did not already send.
"""

from __future__ import annotations

import polars as pl

from matchers.ids import normalize_ids
from schemas.links import ReviewDecision
from schemas.outputs import REVIEW_ANSWER_COLUMNS

COLUMNS = {
    "dept": "部门", "record_id": "记录编号", "rec_name": "记录姓名", "rec_id": "记录证件号码（部门报送原样）",
    "rec_place": "记录地址", "rank": "候选序号", "cand_name": "候选人姓名", "cand_id": "候选人证件号码（按记录保留位）",
    "township": "乡（镇）", "village": "行政村", "group": "村民小组", "household_id": "户编号",
    "person_id": "人编号", "score": "概率", "reason": "依据", "why": "复核原因",
}
IMPACT_COLUMN = "若为候选人1将新增预警"
# why a record waits for a person (ReviewCandidate.cause), in the reviewer's words; {} are
# filled with the rival records (rival) and the best probability and the threshold (weak)
CAUSES = {
    "ambiguous": "多名候选人同样相符，请核实是其中哪一位",
    "rival": "同一名单中另有记录与该候选人相符（一人只应有一条）：{}，请指认哪条是本人",
    "weak": "最佳候选人相符程度不足以自动关联（概率 {} 低于 {}），请核实",
    "name": "记录姓名与最佳候选人不符，不自动关联，请核实是否本人",
}


def _show_kept(id_number: pl.Expr, kept: pl.Expr, shown: pl.Expr) -> pl.Expr:
    """Characters of `id_number` where `kept` has '1' and the record `shown` the same one, `×`
    where the record kept another, `*` where it kept nothing."""
    def show(s: dict) -> str:
        return "".join((ch if ch == r else "×") if k == "1" else "*"
                       for ch, k, r in zip(s["c"] or "", s["k"] or "", s["r"] or ""))
    return pl.struct(c=id_number, k=kept, r=shown).map_elements(show, return_dtype=pl.Utf8)


def _why(review: pl.DataFrame, match_threshold: float) -> pl.Expr:
    """Why a record of `review` (ReviewCandidate rows) waits for a person, from its rows'
    `cause`, `rivals` and best `score` (`CAUSES`)."""
    best = pl.col("score").max().over("dept", "kind", "record_id").round(4)
    return (pl.when(pl.col("cause") == "rival").then(pl.format(CAUSES["rival"], pl.col("rivals").fill_null("-")))
            .when(pl.col("cause") == "ambiguous").then(pl.lit(CAUSES["ambiguous"]))
            .when(pl.col("cause") == "name").then(pl.lit(CAUSES["name"]))
            .otherwise(pl.format(CAUSES["weak"], best, pl.lit(match_threshold))))


def review_queue(review: pl.DataFrame, records: pl.DataFrame, roster: pl.DataFrame,
                 match_threshold: float, impact: pl.DataFrame | None = None) -> pl.DataFrame:
    """`review`: ReviewCandidate rows; `records`: PersonRecord rows; `roster`: RosterPerson rows;
    `match_threshold`: the probability an automatic link needs (cited when evidence is short).
    One row per (record, candidate), Chinese headers, sorted by department, record and rank;
    复核原因 says why the record waits for a person; `IMPACT_COLUMN` the warnings it would raise
    as its best candidate's (`impact`: dept, record_id, impact from `pipelines.rules.review_impact`),
    and such records come first; the `REVIEW_ANSWER_COLUMNS` are empty, for the analyst
    (是否本人: 是 / 否) — the file comes back through 复核/ (`check_answers`)."""
    if review.is_empty():
        return pl.DataFrame(schema={v: pl.Utf8 for v in [*COLUMNS.values(), IMPACT_COLUMN, *REVIEW_ANSWER_COLUMNS]})
    rec = normalize_ids(records.select("dept", "kind", "record_id", "name", "id_raw", "township", "village")
                        .join(review.select("dept", "kind", "record_id").unique(), on=["dept", "kind", "record_id"]))
    out = (
        review.with_columns(why=_why(review, match_threshold)).join(rec, on=["dept", "kind", "record_id"], how="left")
        .join(roster.select("person_id", pl.col("name").alias("cand_name"), "id_number", "township", "village", "group"),
              on="person_id", how="left", suffix="_cand")
        .with_columns(
            rec_name=pl.col("name"),
            rec_id=pl.col("id_raw"),
            rec_place=pl.concat_str([pl.col("township").fill_null(""), pl.col("village").fill_null("")]),
            cand_id=_show_kept(pl.col("id_number"), pl.col("kept"), pl.col("id_norm")),
            township=pl.col("township_cand"), village=pl.col("village_cand"),
            score=pl.col("score").round(4),
        )
    )
    if impact is None:
        impact = pl.DataFrame(schema={"dept": pl.Utf8, "record_id": pl.Utf8, "impact": pl.Utf8})
    out = out.join(impact.select("dept", "record_id", "impact"), on=["dept", "record_id"], how="left")
    return (out.sort(pl.col("impact").is_null(), "dept", "record_id", "rank").select(*COLUMNS, "impact")
            .rename(COLUMNS | {"impact": IMPACT_COLUMN})
            .with_columns(pl.lit(None, pl.Utf8).alias(c) for c in REVIEW_ANSWER_COLUMNS))


# ----------------------------------------------------------------------------------------------
# The analysts' answers (复核/): `schemas.inputs.ReviewAnswer` rows.

RECORD = ["record_dept", "record_id"]
# ReviewAnswer's columns, as stored in the warehouse (`review_answers`, with the period received)
ANSWER_SCHEMA = {"dept": pl.Utf8, "kind": pl.Utf8, "file": pl.Utf8, "line": pl.Int64, "record_dept": pl.Utf8,
                 "record_id": pl.Utf8, "rec_name": pl.Utf8, "person_id": pl.Utf8, "verdict": pl.Utf8,
                 "reviewer": pl.Utf8, "note": pl.Utf8}


def check_answers(answers: pl.DataFrame, roster: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`answers`: ReviewAnswer rows returned this period; `roster`: RosterPerson rows ->
    (accepted: the rows with a verdict that can be used, refused: one row per refused row with
    `field`, `value` and `reason`). Refused: a 人编号 not on the roster, and every 是 of a record
    that one file answers 是 for two persons (which of them is it?). Rows without a verdict are
    in neither: the record is not decided yet."""
    given = answers.filter(pl.col("verdict").is_not_null())
    off_roster = ~pl.col("person_id").is_in(roster["person_id"].implode())
    two_yes = (pl.col("verdict") == "是") & (
        pl.col("person_id").filter(pl.col("verdict") == "是").n_unique().over([*RECORD, "file"]) > 1)
    flagged = given.with_columns(
        field=pl.when(off_roster).then(pl.lit("person_id")).when(two_yes).then(pl.lit("verdict")),
        reason=pl.when(off_roster).then(pl.lit("人编号不在本期户籍底册中，结论未采用 person not on the roster"))
        .when(two_yes).then(pl.lit("同一文件中该记录有两名以上候选人标为“是”，一条记录只能是一人，结论未采用 "
                                   "two candidates of one record answered 是")),
    )
    refused = flagged.filter(pl.col("field").is_not_null()).select(
        "dept", "kind", "file", "line", "record_id", "field",
        value=pl.when(pl.col("field") == "person_id").then(pl.col("person_id")).otherwise(pl.col("verdict")),
        reason=pl.format("{} {}：{}", "record_dept", "record_id", "reason"),
    )
    return flagged.filter(pl.col("field").is_null()).drop("field", "reason"), refused


def answers_in_effect(answers: pl.DataFrame, file_rank: pl.Expr) -> pl.DataFrame:
    """Accepted answers of every period so far (`period` = received) -> one row per record
    answered (`ReviewDecision`): the person it is (the latest 是, or null), the persons it is
    not (their latest answer is 否), and the answer that decided.
    Later answers win: by period, then `file_rank` (the delivery order), then line — so a
    corrected copy, or next month's answer, changes an earlier one."""
    if answers.is_empty():
        return pl.DataFrame(schema={**{c: pl.Utf8 for c in RECORD}, "person_id": pl.Utf8,
                                    "excluded": pl.List(pl.Utf8), "file": pl.Utf8, "line": pl.Int64, "period": pl.Utf8})
    latest = (answers.sort("period", file_rank, "line", maintain_order=True).with_row_index("_seq")
              .unique([*RECORD, "person_id"], keep="last").sort("_seq"))
    yes = latest.filter(pl.col("verdict") == "是").unique(RECORD, keep="last").sort("_seq")
    no = (latest.filter(pl.col("verdict") == "否").group_by(RECORD, maintain_order=True)
          .agg(excluded=pl.col("person_id"), _f=pl.col("file").last(), _l=pl.col("line").last(),
               _p=pl.col("period").last()))
    return ReviewDecision.validate(
        yes.select(*RECORD, "person_id", "file", "line", "period").join(no, on=RECORD, how="full", coalesce=True)
        .select(*RECORD, "person_id", pl.col("excluded").fill_null([]), file=pl.coalesce("file", "_f"),
                line=pl.coalesce("line", "_l"), period=pl.coalesce("period", "_p")))


def apply_answers(links: pl.DataFrame, decided: pl.DataFrame, roster: pl.DataFrame,
                  candidates: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame | None]:
    """Analysts' answers (`answers_in_effect`) over the matcher's decisions. `links`: Link rows
    (or any frame with dept, record_id, decision, person_id, household_id, score; `reason` if
    it has one), `candidates`: ReviewCandidate rows. A record answered 是 is `matched` to that
    person (score 1, reason naming the answer's file and line) and leaves the queue; a record
    linked to a person answered 否 becomes `unmatched`; a candidate answered 否 leaves the queue,
    and a review record whose every candidate is so ruled out becomes `unmatched`. Rejected
    records and records no answer names are as they were."""
    answer = decided.select(dept="record_dept", record_id="record_id", _yes="person_id", _no="excluded",
                            _why=pl.format("人工复核：{} 第 {} 行（{} 收到）", "file", "line", "period"))
    df = links.join(answer, on=["dept", "record_id"], how="left").join(
        roster.select(_yes="person_id", _household="household_id").unique("_yes"), on="_yes", how="left")
    if candidates is not None:
        candidates = (candidates.join(answer.select("dept", "record_id", "_yes", "_no"), on=["dept", "record_id"], how="left")
                      .filter(pl.col("_yes").is_null() & ~pl.col("_no").list.contains(pl.col("person_id")).fill_null(False))
                      .drop("_yes", "_no"))
        still_open = candidates.filter(pl.col("decision") == "review").select("dept", "record_id").unique()
        df = df.join(still_open.with_columns(_open=pl.lit(True)), on=["dept", "record_id"], how="left")
    else:  # (no candidates to rule out: a review record stays in review)
        df = df.with_columns(_open=pl.lit(True))
    live = pl.col("decision") != "rejected"
    confirm = live & pl.col("_yes").is_not_null()
    ruled_out = live & pl.col("_yes").is_null() & pl.col("_no").is_not_null() & (
        ((pl.col("decision") == "matched") & pl.col("_no").list.contains(pl.col("person_id")))
        | ((pl.col("decision") == "review") & pl.col("_open").is_null()))
    changes = [
        pl.when(confirm).then(pl.lit("matched")).when(ruled_out).then(pl.lit("unmatched"))
        .otherwise(pl.col("decision")).alias("decision"),
        pl.when(confirm).then(pl.col("_yes")).when(ruled_out).then(None).otherwise(pl.col("person_id")).alias("person_id"),
        pl.when(confirm).then(pl.col("_household")).when(ruled_out).then(None)
        .otherwise(pl.col("household_id")).alias("household_id"),
        pl.when(confirm).then(pl.lit(1.0)).otherwise(pl.col("score")).alias("score"),
    ]
    if "reason" in links.columns:
        changes.append(pl.when(confirm).then(pl.format("{}确认是本人", "_why"))
                       .when(ruled_out).then(pl.format("{}排除了 {}", "_why", pl.col("_no").list.join("、")))
                       .otherwise(pl.col("reason")).alias("reason"))
    return df.with_columns(changes).select(links.columns), candidates


def best_guess(candidates: pl.DataFrame) -> pl.DataFrame:
    """Every review record taken as its best candidate's (ReviewDecision rows, one per record):
    what `pipelines.rules.review_impact` links to ask which warnings the answers could raise."""
    best = candidates.filter(pl.col("decision") == "review").sort("rank").unique(["dept", "kind", "record_id"], keep="first")
    return ReviewDecision.validate(best.select(
        record_dept="dept", record_id="record_id", person_id="person_id", excluded=pl.lit([], pl.List(pl.Utf8)),
        file=pl.lit(""), line=pl.lit(0, pl.Int64), period=pl.lit("")))

"""The county's answers to its review queue (复核/, `schemas.inputs.ReviewAnswer` rows): which
can be used (`check_answers`), what they say as of a run (`answers_in_effect`), and the links
they change (`apply_answers`). Later answers win; every answer is kept (warehouse
`review_answers`), so a record that comes back every month keeps its answer.
"""

from __future__ import annotations

import polars as pl

from config import Config
from matchers.ids import fixed_stars, id_text, normalize_ids, shows_mask
from matchers.review import answer_cite
from pipelines.accounting import AccountingError, together
from pipelines.standardize import asks_renamed
from pipelines.validate import REJECTED_SCHEMA, delivery_order, original_file, without_sheet
from schemas.inputs import EXCEL_ZERO_TAIL, PERSON_KINDS, record_key, respelled
from schemas.links import ReviewDecision
from schemas.outputs import QUALITY_COLUMNS, Finding

RECORD = ["record_dept", "record_id"]
# ReviewAnswer's columns, as stored in the warehouse (`review_answers`, with the period received,
# `relinked` and `withdrawn`: see `relinked`)
ANSWER_SCHEMA = {"dept": pl.Utf8, "kind": pl.Utf8, "file": pl.Utf8, "line": pl.Int64, "record_dept": pl.Utf8,
                 "record_id": pl.Utf8, "rec_name": pl.Utf8, "person_id": pl.Utf8, "verdict": pl.Utf8,
                 "reviewer": pl.Utf8, "note": pl.Utf8}


def check_answers(answers: pl.DataFrame, roster: pl.DataFrame, departments: list[str], known: pl.DataFrame,
                  shown: pl.DataFrame, single_kinds: tuple[str, ...] = (), max_id_differences: int = 2,
                  listed: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`answers`: ReviewAnswer rows returned this period (部门 as canonical folder names where
    known); `roster`: RosterPerson rows; `departments`: the folders whose records name persons;
    `known`: dept, record_id of every record of this and earlier periods; `shown`: dept, kind,
    record_id, id_raw of this period's person records. -> (accepted: the rows with a verdict
    that can be used, with `id_differs`; refused: one row per refused row with `field`, `value`
    and `reason`, the first that applies of:
    - 部门 not a department whose records name persons (水利's are places);
    - 记录编号 in no period so far (a typo would otherwise wait for a record that never comes), or
      known under another 部门 only (named);
    - 人编号 not on the roster;
    - 是 for a person whose birth date and sequence digits differ from what the record shows at
      more than `max_id_differences` positions (a mistyped 人编号: a relative's, a neighbour's),
      unless a review queue listed the person as a candidate of the record as it shows now
      (`listed`: record_dept, record_id, person_id, id_raw, `adapters.warehouse.queue_listed`):
      the analyst saw them side by side and their 是 decides (`id_differs` marks it, for the
      line that says so); the reason says whether the queue listed other candidates or none is stored;
    - one file answering 是 for two persons of a record;
    - one file answering a record's candidate both 是 and 否 (a row copied, answered again);
    - two files of the period (or two sheets of one workbook, or a saved-again copy's sheet and
      its original's other sheet: said so, naming them) answering a record and
      candidate differently, or 是 for different persons; a saved-again copy is not another file: its answers for a record replace its
      original's for that record (`_not_replaced`; those stay accepted, and are not in effect);
    - 是 for one person on two records of a one-record-per-person list (`single_kinds`, the
      参保名单): one of them is someone else's.
    Rows without a verdict are in neither: the record is not decided yet."""
    # a 人编号 typed 1023 for the roster's 0001023 (Excel's), or h12 for H12, is that person; so is one a
    # stored queue listed as a roster since re-saved spelled it: read as this period's roster spells it
    answers = respelled(answers, "person_id", roster.select("person_id"))
    listed = None if listed is None else respelled(listed, "person_id", roster.select("person_id"))
    given = answers.filter(pl.col("verdict").is_not_null()).with_row_index("_row").with_columns(
        _base=original_file(pl.col("file")), _current=_not_replaced())
    g = (given.join(_shown_ids(shown, given), on=RECORD, how="left")
         .join(_listed(listed), on=[*RECORD, "person_id", "_raw"], how="left", nulls_equal=True)
         # (the records a stored queue listed with candidates, as they show now)
         .join(_listed(listed).select(*RECORD, "_raw").unique().with_columns(_queued=pl.lit(True)),
               on=[*RECORD, "_raw"], how="left", nulls_equal=True)
         .join(known.select(record_dept="dept", record_id="record_id").unique().with_columns(_known=pl.lit(True)),
               on=RECORD, how="left")
         .join(roster.select("person_id", _number="id_number").unique("person_id"), on="person_id", how="left")
         # (the department a record number unknown under its 部门 is known under: 部门 mistyped or a row
         # moved; however either spells it, `record_key`)
         .with_columns(_rk=record_key(pl.col("record_id")))
         .join(known.group_by(_rk=record_key(pl.col("record_id"))).agg(
             _elsewhere=pl.col("dept").unique().sort().str.join("、")), on="_rk", how="left").drop("_rk"))
    differ = _differences()
    yes = pl.col("verdict") == "是"
    latest = (g.filter("_current").sort(delivery_order(pl.col("file")), "line")
              .group_by([*RECORD, "person_id", "_base"]).agg(pl.col("verdict").last(), _file=pl.col("file").last()))
    # (_books: the workbooks the answers are in, a saved-again copy its original's; one = sheets of one
    # workbook disagree, not files. _files: the files, a copy apart; _labels: the files and sheets, named)
    books = [without_sheet(pl.col("_base")).n_unique().alias("_books"),
             without_sheet(pl.col("_file")).n_unique().alias("_files"),
             pl.col("_file").unique().sort().str.join("、").alias("_labels")]
    disagree = (latest.group_by([*RECORD, "person_id"]).agg(*books, _n=pl.col("verdict").n_unique())
                .filter(pl.col("_n") > 1))
    yes_apart = (latest.filter(pl.col("verdict") == "是").group_by(RECORD).agg(*books, _n=pl.col("person_id").n_unique())
                 .filter(pl.col("_n") > 1))
    one_list = (g.filter(yes, "_current", pl.col("_kind").is_in(list(single_kinds)))
                .group_by("record_dept", "_kind", "person_id").agg(_n=pl.col("record_id").n_unique())
                .filter(pl.col("_n") > 1))
    g = (g.join(disagree.select(*RECORD, "person_id", "_books", "_files", "_labels", _disagree=pl.lit(True)),
                on=[*RECORD, "person_id"], how="left")
         .join(yes_apart.select(*RECORD, _apart=pl.lit(True), _books_apart="_books", _files_apart="_files",
                                _labels_apart="_labels"), on=RECORD, how="left")
         .join(one_list.select("record_dept", "_kind", "person_id", _twice=pl.lit(True)),
               on=["record_dept", "_kind", "person_id"], how="left"))
    # a long number Excel kept to 15 digits (a numeric cell: 341302001001020304 saved as ...020000) is
    # no typo to look for in the roster or the records: said so, as the inbox says it of a delivery
    def destroyed(c: str, otherwise: str) -> pl.Expr:
        return (pl.when(pl.col(c).str.contains(EXCEL_ZERO_TAIL))
                .then(pl.lit(f"{otherwise}：疑已被Excel截为15位有效数字，请将该列设为文本，从人工复核队列重新复制 "
                             "(destroyed by Excel? a long number kept to 15 digits: set the column to text, copy it "
                             "again from the queue)"))
                .otherwise(pl.lit(otherwise)))

    checks = [
        (~pl.col("record_dept").is_in(departments), "record_dept",
         pl.lit(f"部门不是有人员记录的部门（{'、'.join(departments)}） not a department with person records")),
        (pl.col("_known").is_null(), "record_id",
         pl.when(pl.col("_elsewhere").is_not_null())
         .then(pl.format("记录编号是{}的记录，不是该部门的：部门填错了？ a record of {}, not of this department", "_elsewhere",
                         "_elsewhere"))
         .otherwise(destroyed("record_id", "记录编号在本期及以往各期的记录中都没有 no such record in any period so far"))),
        (pl.col("_number").is_null(), "person_id", destroyed("person_id", "人编号不在本期户籍底册中 person not on the roster")),
        # (the 人编号 of a candidate the queue listed was copied from it: the analyst's 是 decides)
        (yes & (differ > max_id_differences) & pl.col("_listed").is_null(), "person_id",
         pl.when(pl.col("_queued").is_not_null())
         .then(pl.format("人编号 {} 不是人工复核队列为该记录列出的候选人，其证件号码与记录显示的出生日期和顺序码有 {} 位不同："
                         "请从队列中该记录的候选人行复制人编号 not a candidate the review queue listed for this "
                         "record, and the person's ID differs from the record's in {} kept digits: copy the 人编号 "
                         "from the record's candidate rows", "person_id", differ, differ))
         .otherwise(pl.format("人编号 {} 的证件号码与记录显示的出生日期和顺序码有 {} 位不同，且库中的复核队列未列出该记录"
                              "（按其现显示的证件号码）的候选人（队列为旧版本发布，或记录编号已另作他用？），无法核对是否为"
                              "队列所列候选人：请按本期人工复核队列重新作答 the person's ID differs from the record's in {} "
                              "kept digits and no stored review queue lists candidates of this record as it shows now (a "
                              "queue published by an earlier version, or a record number reused?): answer it again from "
                              "this period's queue", "person_id", differ, differ))),
        (yes & (pl.col("person_id").filter(yes).n_unique().over([*RECORD, "file"]) > 1), "verdict",
         pl.lit("同一文件中该记录有两名以上候选人标为“是”，一条记录只能是一人 two candidates of one record answered 是")),
        # (a row copied and answered again: the later line was taken silently, 否 unlinking what 是 confirmed)
        (pl.col("verdict").n_unique().over([*RECORD, "person_id", "file"]) > 1, "verdict",
         pl.lit("同一文件中对该记录的同一候选人既答“是”又答“否”，请核对后只留一行 one file answers this candidate both 是 "
                "and 否")),
        (pl.col("_current") & (pl.col("_disagree").is_not_null() | (yes & pl.col("_apart").is_not_null())), "verdict",
         pl.when((pl.coalesce("_books", "_books_apart") == 1) & (pl.coalesce("_files", "_files_apart") == 1))
         .then(pl.lit("同一工作簿的另一工作表对同一记录的结论不同，请核对后只留一份 another sheet of this workbook answers "
                      "this record otherwise"))
         # (a saved-again copy's sheet and its original's other sheet: not "this workbook's other sheet")
         .when(pl.coalesce("_books", "_books_apart") == 1)
         .then(pl.format("另存的副本与原文件的不同工作表对同一记录的结论不同（{}），请核对后只留一份 a saved-again copy and "
                         "its original answer this record otherwise on different sheets ({})",
                         pl.coalesce("_labels", "_labels_apart"), pl.coalesce("_labels", "_labels_apart")))
         .otherwise(pl.format("本期另一文件对同一记录的结论不同（{}），请核对后只交一份 another file of this period answers "
                              "this record otherwise ({})", pl.coalesce("_labels", "_labels_apart"),
                              pl.coalesce("_labels", "_labels_apart")))),
        (yes & pl.col("_current") & pl.col("_twice").is_not_null(), "verdict",
         pl.lit("同一名单中两条记录都答“是”为同一人，一人只应有一条 two records of one list answered 是 for one person")),
    ]
    field, reason = pl.lit(None, pl.Utf8), pl.lit(None, pl.Utf8)
    for failed, name, why in reversed(checks):  # the first failing check wins
        field = pl.when(failed.fill_null(False)).then(pl.lit(name)).otherwise(field)
        reason = pl.when(failed.fill_null(False)).then(why).otherwise(reason)
    flagged = g.with_columns(field=field, reason=reason).sort("_row")
    refused = flagged.filter(pl.col("field").is_not_null()).select(
        "dept", "kind", "file", "line", "record_id", "field",
        value=pl.when(pl.col("field") == "person_id").then(pl.col("person_id"))
        .when(pl.col("field") == "record_dept").then(pl.col("record_dept"))
        .when(pl.col("field") == "record_id").then(pl.col("record_id")).otherwise(pl.col("verdict")),
        reason=pl.format("{} {}：{}，结论未采用", "record_dept", "record_id", "reason"),
    )
    taken = flagged.filter(pl.col("field").is_null()).with_columns(
        id_differs=(yes & (differ > max_id_differences)).fill_null(False))
    return taken.select(*answers.columns, "id_differs"), refused


def _listed(listed: pl.DataFrame | None) -> pl.DataFrame:
    """The candidates review queues listed (`adapters.warehouse.queue_listed`'s record_dept,
    record_id, person_id, id_raw) as joined on answers: `_raw` the record's ID as the queue
    showed it, as text (`id_text`: a department's next delivery may type its mask ＊, its X x), `_listed`."""
    schema = {"record_dept": pl.Utf8, "record_id": pl.Utf8, "person_id": pl.Utf8, "_raw": pl.Utf8}
    if listed is None:
        return pl.DataFrame(schema=schema).with_columns(_listed=pl.lit(True))
    return (listed.select(*RECORD, "person_id", _raw=id_text(pl.col("id_raw"))).cast(schema).unique()
            .with_columns(_listed=pl.lit(True)))


def _not_replaced(*by: str) -> pl.Expr:
    """False on the answers (ReviewAnswer rows, answered in one period per `by`) of a file a
    saved-again copy (表(1).xlsx) replaced for their record: of a file and its copies, the last
    (`delivery_order`) answering a record speaks for it — the analyst corrected themselves, 是 on
    x into 否 on x and 是 on y, or 是 moved from x to y."""
    order = delivery_order(pl.col("file"))
    return order == order.max().over([*by, *RECORD, original_file(pl.col("file"))])


def _differences() -> pl.Expr:
    """Birth-date and sequence characters (positions 7-18) the record kept (`_kept`, `_shown`:
    `normalize_ids`' kept and id_norm) that differ from the person's ID (`_number`). The region
    is left out: a record may show a legacy region code."""
    at = lambda c, i: pl.col(c).str.slice(i, 1)  # noqa: E731
    return pl.sum_horizontal((at("_kept", i) == "1") & (at("_shown", i) != at("_number", i)) for i in range(6, 18))


def _shown_ids(shown: pl.DataFrame, of: pl.DataFrame | None = None) -> pl.DataFrame:
    """What `shown`'s records show of their IDs (normalized: a city's period holds millions of
    records, so only those of `of`'s record_dept, record_id when given)."""
    fixed = fixed_stars(shown)  # (a part's masks read as the link read them, `normalize_ids`)
    if of is not None:
        shown = shown.join(of.select(dept="record_dept", record_id="record_id").unique(), on=["dept", "record_id"],
                           how="semi")
    return normalize_ids(shown.select("dept", "kind", "record_id", "id_raw"), fixed=fixed).select(
        record_dept="dept", record_id="record_id", _kind="kind", _shown="id_norm", _kept="kept",
        _raw=id_text(pl.col("id_raw")))


def unconfirmable(decided: pl.DataFrame, shown: pl.DataFrame, roster: pl.DataFrame, single_kinds: tuple[str, ...] = (),
                  max_id_differences: int = 2, listed: pl.DataFrame | None = None) -> pl.DataFrame:
    """The 是 of `decided` (ReviewDecision rows) that a run cannot take for the records it has
    (`shown`: dept, kind, record_id, id_raw), however long ago they were given: the person's
    birth-date and sequence digits differ from the record's kept ones at more than
    `max_id_differences` positions (an answer about a record number reused, or mistyped; not
    one a review queue listed as the record's candidate, the record showing what it showed
    then: `listed`, as `check_answers` takes it), or
    a record of a one-record-per-person list (`single_kinds`) confirmed to a person whose whole
    ID another record of the list shows (that record is theirs; the answer picked a look-alike),
    or whom a later answer confirmed to another record of the list (answered months apart: the
    later answer wins, as it does about one record). -> record_dept, record_id, person_id, why."""
    yes = decided.filter(pl.col("person_id").is_not_null())
    g = (yes.join(_shown_ids(shown, yes), on=RECORD)
         .join(roster.select("person_id", _number="id_number").unique("person_id"), on="person_id", how="left")
         .join(_listed(listed), on=[*RECORD, "person_id", "_raw"], how="left", nulls_equal=True))
    far = g.filter(_differences() > max_id_differences, pl.col("_listed").is_null()).select(
        *RECORD, "person_id", why=pl.format("证件号码有 {} 位与记录不符", _differences()))
    single = pl.col("_kind").is_in(list(single_kinds))
    whole_ids = shown.filter(pl.col("kind").is_in(list(single_kinds)), ~shows_mask(pl.col("id_raw")))
    full = _shown_ids(whole_ids).filter(pl.col("_kept") == "1" * 18).select(
        "record_dept", "_kind", _number="_shown", _holder="record_id")
    whole = (g.filter(single).join(full, on=["record_dept", "_kind", "_number"]).filter(pl.col("_holder") != pl.col("record_id"))
             .select(*RECORD, "person_id", why=pl.format("同一名单中的记录 {} 显示此人的完整身份证号", "_holder")))
    same = ["record_dept", "_kind", "person_id"]
    taken = g.join(pl.concat([far, whole]).select(RECORD), on=RECORD, how="anti")  # (a refused 是 supersedes none)
    twice = (taken.filter(single, pl.col("record_id").n_unique().over(same) > 1)
             .sort("period", delivery_order(pl.col("file")), "line", maintain_order=True)
             .with_columns(_later=pl.col("record_id").last().over(same)).filter(pl.col("record_id") != pl.col("_later"))
             .select(*RECORD, "person_id", why=pl.format("同一名单中的记录 {} 后来确认为此人，此结论被取代", "_later")))
    return pl.concat([far, whole, twice]).unique(RECORD, keep="first", maintain_order=True)


def without_yes(decided: pl.DataFrame, records: pl.DataFrame) -> pl.DataFrame:
    """`decided` with the 是 of `records` (record_dept, record_id) dropped: those records stay as
    the matcher decided, but for the persons answered 否."""
    drop = pl.struct(RECORD).is_in(records.select(pl.struct(RECORD)).to_series().implode())
    return decided.with_columns(person_id=pl.when(drop).then(None).otherwise(pl.col("person_id")))


def relinked(new: pl.DataFrame, before: pl.DataFrame | None, departments: list[str]) -> pl.DataFrame:
    """`new` (the answers accepted this period, as the run stores them) with `relinked`: the
    links the period keeps of the answer's department were made with it. So they are when the
    run links that department (`departments`: all of them in a full run, those re-read in a
    partial one), or when the period's last run stored the same answer (record, person,
    verdict) so flagged (`before`; one stored by a version that kept no flag was taken by a
    full run). The others wait for a run that links their department again: a partial run
    keeps the other departments' links as the last run made them.
    Those kept links may also carry answers `new` no longer holds (their file taken out of 复核/,
    the answer changed or left blank): such answers of `before` are kept too, `withdrawn` (not in
    effect: `answers_in_effect`), until a run links their department without them."""
    key = ["record_dept", "record_id", "person_id", "verdict"]
    had = pl.DataFrame(schema={k: pl.Utf8 for k in key})
    gone = None
    if before is not None:
        flag = pl.col("relinked").fill_null(True) if "relinked" in before.columns else pl.lit(True)
        had = before.filter(flag).select(key).unique()
        gone = (before.filter(flag, ~pl.col("record_dept").is_in(departments))
                .join(new.select(key).unique(), on=key, how="anti", nulls_equal=True)
                .select(*new.columns, relinked=pl.lit(True), withdrawn=pl.lit(True)))
    flagged = (new.join(had.with_columns(_had=pl.lit(True)), on=key, how="left", nulls_equal=True, maintain_order="left")
               .with_columns(relinked=pl.col("record_dept").is_in(departments) | pl.col("_had").fill_null(False),
                             withdrawn=pl.lit(False))
               .drop("_had"))
    return flagged if gone is None else pl.concat([flagged, gone.cast(flagged.schema)])


def answers_in_effect(answers: pl.DataFrame) -> pl.DataFrame:
    """Accepted answers of every period so far (`period` = received; those `withdrawn` left
    out) -> one row per record
    answered (`ReviewDecision`): the person it is (the latest 是, or null), the persons it is
    not (their latest answer is 否), and the answer that decided.
    Later answers win: by period, then delivery order of the files, then line — so next
    month's answer changes an earlier one, and a saved-again copy's answers for a record
    replace its original's for that record (`_not_replaced`)."""
    if "withdrawn" in answers.columns:  # (kept only for the links still made with them: `relinked`)
        answers = answers.filter(~pl.col("withdrawn").fill_null(False))
    latest = (answers.filter(_not_replaced("period")).sort("period", delivery_order(pl.col("file")), "line", maintain_order=True).with_row_index("_seq")
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
    and a review record whose every candidate is so ruled out becomes `unmatched`; a record
    with persons ruled out says so in its reason (and its candidates in theirs). Rejected
    records, records no answer names, and records answered 是 for a person no longer on the
    roster (`gone_from_roster` lists them) are as they were.
    The period's own links were weighed with the answers already (`matchers.link.link`), so
    only the citing is new for them; the year's earlier settlements are changed here."""
    answer = (decided.select(dept="record_dept", record_id="record_id", _yes="person_id", _no="excluded",
                             _why=pl.format("人工复核（{}）", answer_cite()))
              .join(roster.select(_yes="person_id", _household="household_id").unique("_yes"), on="_yes", how="left")
              .with_columns(_yes=pl.when(pl.col("_household").is_not_null()).then("_yes")))
    df = links.join(answer, on=["dept", "record_id"], how="left")
    excluded = pl.format("；{}排除了 {}", "_why", pl.col("_no").list.join("、"))
    some_excluded = pl.col("_yes").is_null() & (pl.col("_no").list.len() > 0).fill_null(False)
    if candidates is not None:
        candidates = (candidates.join(answer.select("dept", "record_id", "_yes", "_no", "_why"), on=["dept", "record_id"],
                                      how="left")
                      .filter(pl.col("_yes").is_null() & ~pl.col("_no").list.contains(pl.col("person_id")).fill_null(False))
                      .with_columns(reason=pl.when(some_excluded).then(pl.concat_str("reason", excluded))
                                    .otherwise("reason"))
                      .drop("_yes", "_no", "_why"))
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
                       .when(live & some_excluded).then(pl.concat_str(pl.col("reason").fill_null(""), excluded))
                       .otherwise(pl.col("reason")).alias("reason"))
    return df.with_columns(changes).select(links.columns), candidates


def changed_now(before: pl.DataFrame, after: pl.DataFrame, decided: pl.DataFrame, period: str) -> pl.DataFrame:
    """`after` (`apply_answers`' links of `before`, e.g. the year's earlier settlements) with
    `answered_now`: the record's link was changed by an answer received in `period`. The rules
    weigh such a record as they weigh this period's own (an M1 the answer completes is raised
    now, even for someone with no new settlement); later runs, whose answers are older, do not."""
    fresh = (decided.filter(pl.col("period") == period)
             .select(dept="record_dept", record_id="record_id", _fresh=pl.lit(True)).unique(["dept", "record_id"]))
    was = before.select("dept", "record_id", _was_d="decision", _was_p="person_id").unique(["dept", "record_id"])
    return (after.join(was, on=["dept", "record_id"], how="left", maintain_order="left")
            .join(fresh, on=["dept", "record_id"], how="left", maintain_order="left")
            .with_columns(answered_now=pl.col("_fresh").fill_null(False)
                          & (pl.col("decision").ne_missing(pl.col("_was_d")) | pl.col("person_id").ne_missing(pl.col("_was_p"))))
            .drop("_was_d", "_was_p", "_fresh"))


def gone_from_roster(decided: pl.DataFrame, roster: pl.DataFrame) -> pl.DataFrame:
    """Answers in effect whose 是 names a person the roster no longer holds (moved, died, left
    monitoring): `apply_answers` leaves their records as the matcher decided."""
    return decided.filter(pl.col("person_id").is_not_null(), ~pl.col("person_id").is_in(roster["person_id"].implode()))


def best_guess(candidates: pl.DataFrame) -> pl.DataFrame:
    """Every review record taken as its best candidate's (ReviewDecision rows, one per record):
    what `pipelines.rules.review_impact` links to ask which warnings the answers could raise."""
    best = candidates.filter(pl.col("decision") == "review").sort("rank").unique(["dept", "kind", "record_id"], keep="first")
    return ReviewDecision.validate(best.select(
        record_dept="dept", record_id="record_id", person_id="person_id", excluded=pl.lit([], pl.List(pl.Utf8)),
        file=pl.lit(""), line=pl.lit(0, pl.Int64), period=pl.lit("")))


def describe(counts: dict, files: list[str], gone: pl.DataFrame | None, held: pl.DataFrame | None,
             misfiled: pl.DataFrame) -> str:
    """The run's line on review answers for 数据质量报告.csv: `counts` as the run took them
    (returned = accepted + blank + set_aside; confirmed, excluded, unseen; pending: records of
    departments whose kept links were made without their answers, `relinked`; withdrawn: the
    other records whose kept links were made with answers no longer in 复核/; partial: those
    of a `--dept` run's departments), the files
    in 复核/, the records answered 是 for someone gone from the roster (`gone`, ReviewDecision
    rows) or not taken (`held`, from `unconfirmable`), rows of tables that hold no answers."""
    # (a table whose reason asks 「是否为本人」是否即「是否本人」？ is answers with a column renamed, not
    # another folder's: saying "应放在其他文件夹？" sent the clerk looking for a folder)
    renamed = misfiled.filter(asks_renamed(pl.col("reason")))
    misfiled = misfiled.filter(~asks_renamed(pl.col("reason")))
    c, misfits, retyped = counts, misfiled["file"].n_unique(), renamed["file"].n_unique()
    def some(df: pl.DataFrame | None, say) -> str:
        return "、".join(say(r) for r in df.head(5).iter_rows(named=True)) + ("…" if df.height > 5 else "")
    named = f"（{'、'.join(files[:5])}{'…' if len(files) > 5 else ''}）" if files else ""
    zh = (f"本期 复核/ 中 {len(files)} 个文件{named}，"
          f"收到复核结论 {c['returned']} 行：采用 {c['accepted']}，未填是否本人 {c['blank']}，退回 {c['set_aside']}"
          f"（见搁置行及原因）；按历次复核结论，本期{'重读的部门中' if c.get('partial') else ''} {c['confirmed']} 条记录确认关联、"
          f"{c['excluded']} 条排除了候选人（其余候选人重新比对）")
    if c["unseen"]:
        zh += f"；{c['unseen']} 条有结论的记录不在本期记录中（结论已保存：本年较早的结算计入累计，其他记录再出现时采用）"
    if c["pending"]:
        zh += f"；{c['pending']} 条属未重读的部门，其关联尚未按结论更新，重读该部门或整期重跑时采用"
    if c["withdrawn"]:
        zh += (f"；{c['withdrawn']} 条记录的结论已不在 复核/ 中（文件已撤回或改动），其所属未重读的部门的关联仍按原结论，"
               f"重读该部门或整期重跑时撤销")
    if c["gone"]:
        zh += f"；{c['gone']} 条记录答“是”的人已不在户籍底册中，未采用，请重新复核（" + some(
            gone.with_columns(cite=answer_cite()), lambda r: f"{r['record_dept']} {r['record_id']}（{r['cite']}）") + "）"
    if c.get("id_differs"):
        zh += (f"；{c['id_differs']} 条记录答“是”的候选人证件号码与记录显示的多位不同，该候选人为复核队列所列，"
               f"按复核结论采用")
    if c["held"]:
        zh += f"；{c['held']} 条记录的“是”本期未采用（" + some(
            held, lambda r: f"{r['record_dept']} {r['record_id']}：{r['why']}") + "），如有误请重新复核"
    if misfits:
        zh += f"；其中 {misfits} 个表不是复核结论（{misfiled.height} 行搁置，应放在其他文件夹？）"
    if retyped:
        zh += f"；其中 {retyped} 个表有列名改动（{renamed.height} 行搁置，列名是否改过？见搁置行及原因，改回后重新放入）"
    en = (f"review answers returned {c['returned']}: used {c['accepted']}, blank {c['blank']}, set aside "
          f"{c['set_aside']}; this period{' in the departments re-read' if c.get('partial') else ''} "
          f"{c['confirmed']} records linked by answers and {c['excluded']} weighed "
          f"again without the candidates ruled out"
          + (f"; {c['unseen']} answered records are not in this period" if c["unseen"] else "")
          + (f"; {c['pending']} wait for a run that re-reads their department" if c["pending"] else "")
          + (f"; {c['withdrawn']} answered records' answers are no longer in 复核/, yet their department's kept links"
             f" still follow them until a run re-reads it" if c["withdrawn"] else "")
          + (f"; {c['id_differs']} answered 是 for a candidate the queue listed whose ID disagrees with the "
             f"record's: taken as answered" if c.get("id_differs") else "")
          + (f"; {c['gone']} answered for persons no longer on the roster, not applied" if c["gone"] else "")
          + (f"; {c['held']} answered 是 not taken (ID contradicts, or two list records for one person)"
             if c["held"] else "")
          + (f"; {misfits} tables in 复核/ hold no answers" if misfits else "")
          + (f"; {retyped} tables in 复核/ with a column renamed? (搁置行及原因.csv asks which; put back when named "
             f"as sent)" if retyped else ""))
    return f"{zh} — {en}"


def answerable_departments(cfg: Config) -> list[str]:
    """The departments whose records name persons (`PERSON_KINDS`; not 水利's places): those a
    review answer may be about."""
    folders = {cfg.kinds[k].folder for k in PERSON_KINDS if k in cfg.kinds}
    return [d for d in cfg.departments if d in folders]


def in_folders(returned: pl.DataFrame, cfg: Config) -> pl.DataFrame:
    """Returned answers with their 部门 (`record_dept`) as the department's folder when the config
    knows the name (医保局, medical ...), as the records are stored under it."""
    return returned.with_columns(record_dept=pl.col("record_dept").replace(
        {d: c for d in returned["record_dept"].unique().to_list() if (c := cfg.folder_of(d))}))


def asked(returned: pl.DataFrame) -> pl.DataFrame:
    """The records (dept, record_id) the returned answers (`in_folders`) name, once each: those
    `check_answers` looks for among the earlier periods' (`warehouse.records_seen`)."""
    return returned.select(dept="record_dept", record_id="record_id").unique()


def known_records(shown: pl.DataFrame, seen: pl.DataFrame | None) -> pl.DataFrame:
    """dept, record_id of the records answers may name (`check_answers`' `known`): the period's
    person records (`shown`) and those of earlier periods the answers name (`seen`, latest first)."""
    return together([shown.select("dept", "record_id"), seen])


def spelled_as_records(answers: pl.DataFrame | None, records: pl.DataFrame | None) -> pl.DataFrame | None:
    """`answers` (ReviewAnswer rows, or stored ones; None: none) with each 记录编号 as `records`
    (dept, record_id) spell it under the same 部门, the first spelling of each (`record_key`): an
    answer names its record however Excel or a hand spelled the number, and is checked, kept and
    applied as the record is spelled — this period's, else the latest stored period's (`known_records`)."""
    if answers is None:
        return None
    return respelled(answers, "record_id", records.select(record_dept="dept", record_id="record_id"), ["record_dept"],
                     keep="first")


def answered(*answers: pl.DataFrame | None) -> pl.DataFrame | None:
    """The records (dept, record_id) the `answers` (returned now, stored earlier, by this period's
    last run; None: none) name, once each: those whose stored queues' candidates
    (`warehouse.queue_listed`) `check_answers` and `unconfirmable` read. None when none is given."""
    named = [f.select(dept="record_dept", record_id="record_id") for f in answers if f is not None]
    return pl.concat(named).unique() if named else None


def listed_as_roster(listed: pl.DataFrame, roster: pl.DataFrame) -> pl.DataFrame:
    """The candidates the stored queues listed (`warehouse.queue_listed`) with their 人编号 as the
    period's `roster` spells them (a roster re-saved in Excel: 1023 for 0001023), as `take_answers`
    reads the answers' and the year's sums weigh the answers about earlier months' settlements."""
    return respelled(listed, "person_id", roster.select("person_id"))


def take_answers(
    returned: pl.DataFrame | None, set_aside: pl.DataFrame | None, roster: pl.DataFrame, shown: pl.DataFrame,
    known: pl.DataFrame | None, earlier: pl.DataFrame | None, before: pl.DataFrame | None, files: list[str],
    period: str, cfg: Config, departments: list[str], partial: bool, listed: pl.DataFrame | None = None,
) -> tuple[dict, pl.DataFrame | None, pl.DataFrame, pl.DataFrame | None, pl.DataFrame | None]:
    """The county's answers to its review queue as a run takes them -> (counts, refused, new,
    decided, finding).

    `returned`: the answers in 复核/ this period (`in_folders`; None: none), `set_aside`: the
    folder's `Rejected` rows (the validator's, and rows of tables holding no answers), `files`
    the folder's; `shown`: dept, kind, record_id, id_raw of the period's person records;
    `known`: dept, record_id of the records answers may name (`check_answers`); `earlier`,
    `before`: the answers stored by earlier periods, and by this period's last run;
    `departments`: those the run links (all, or a partial run's); `listed`: the candidates
    stored review queues listed for the records answered (`check_answers`). refused: the returned rows
    not taken (REJECTED_SCHEMA; None when none returned); new: the accepted ones as stored
    (`relinked`, `period`); decided: every answer in effect for linking to weigh
    (`answers_in_effect`, without the 是 that cannot be taken: `unconfirmable`; None when there
    is none); finding: the report's line (`describe`; None when there is nothing to say).
    counts: returned = accepted + blank + set aside (else AccountingError), and what the
    answers did this period, for the console and the line (`id_differs`: records whose 是 was
    taken for a candidate the queue listed though the IDs disagree)."""
    folder, m = cfg.kinds["review_answer"].folder, cfg.matching
    # (stored as a roster since re-saved in Excel spelled the 人编号: as this period's spells it, `check_answers`)
    earlier, before = (None if f is None else respelled(f, "person_id", roster.select("person_id")) for f in (earlier, before))
    rows_set_aside = (set_aside if set_aside is not None else pl.DataFrame(schema=REJECTED_SCHEMA)).filter(
        pl.col("line").is_not_null())
    invalid = rows_set_aside.filter(pl.col("kind") == "review_answer").height  # the validator's: 是否本人 = 对 ...
    misfiled = rows_set_aside.filter(pl.col("kind").is_null())  # rows of a table that holds no answers
    counts = {"returned": invalid, "accepted": 0, "blank": 0, "set_aside": invalid}
    accepted, refused, id_differs = pl.DataFrame(schema=ANSWER_SCHEMA), None, 0
    if returned is not None and returned.height:
        accepted, refused = check_answers(returned, roster, answerable_departments(cfg), known, shown,
                                          m.one_record_per_person_kinds, m.answer_max_id_differences, listed)
        refused = refused.cast(REJECTED_SCHEMA)
        counts = {"returned": returned.height + invalid, "accepted": accepted.height,
                  "blank": returned["verdict"].null_count(), "set_aside": refused.height + invalid}
        if sum(list(counts.values())[1:]) != counts["returned"]:
            raise AccountingError(f"{folder}: read {counts['returned']} answers but accounted {counts}")
        id_differs = accepted.filter("id_differs").select(RECORD).unique().height
        accepted = accepted.drop("id_differs")
    # (with the answers the kept links of departments not re-read were made with, no longer in 复核/)
    new = relinked(accepted.with_columns(period=pl.lit(period)), before, departments)
    counts |= {"confirmed": 0, "excluded": 0, "misfiled": misfiled.height, "files": len(files), "partial": partial,
               "id_differs": id_differs,
               "renamed": misfiled.filter(asks_renamed(pl.col("reason"))).height}  # (of misfiled: a column renamed)
    answers = [f for f in (earlier, new) if f is not None and f.height]
    here = shown.select(record_dept="dept", record_id="record_id").unique()
    decided = held = gone_rows = None
    if answers:
        decided = answers_in_effect(pl.concat(answers, how="diagonal_relaxed"))
        held = unconfirmable(decided, shown, roster, m.one_record_per_person_kinds, m.answer_max_id_differences, listed)
        decided = without_yes(decided, held)
        now = decided.join(here, on=RECORD, how="semi")
        gone_rows = gone_from_roster(now, roster)
        counts["confirmed"] = now.filter(pl.col("person_id").is_not_null()).height - gone_rows.height
        counts["excluded"] = now.filter(pl.col("person_id").is_null(), pl.col("excluded").list.len() > 0).height
    waiting = new.filter(~pl.col("relinked")).select(RECORD).unique()
    unseen = new.filter(pl.col("record_dept").is_in(departments)).select(RECORD).unique().join(here, on=RECORD, how="anti").height
    withdrawn = new.filter("withdrawn").select(RECORD).unique().join(waiting, on=RECORD, how="anti").height
    counts |= {"held": 0 if held is None else held.height, "gone": 0 if gone_rows is None else gone_rows.height,
               "pending": waiting.height, "withdrawn": withdrawn, "unseen": unseen}
    finding = None
    if (files or counts["confirmed"] or counts["excluded"] or counts["gone"] or counts["held"] or counts["pending"]
            or withdrawn):
        finding = pl.DataFrame([dict(category=Finding.REVIEW_ANSWERS, dept=folder, file=None,
                                     detail=describe(counts, files, gone_rows, held, misfiled), count=counts["returned"])],
                               schema=QUALITY_COLUMNS)
    return counts, refused, new, decided, finding

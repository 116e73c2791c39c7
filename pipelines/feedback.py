"""Township feedback loop (反馈, SPEC §5 last paragraph): returned 预警清单 rows checked, every
warning tracked to closure, overdue ones listed per township, open ones carried into the next
file (of the township the roster places their household in now), verified ones sent to the
responsible department, set-aside answers sent back.

Pure functions, polars frames in and out. Frames used below:

- `feedback`: validated `schemas.inputs.Feedback` rows of one delivery (the period's `反馈/`).
- `ranks`: the place of each file of that delivery in the order the files were put in
  (`validate.delivery_ranks`, as for a department's files: a name marked 更正/补报… or a
  saved-again copy last, then modification time, then name); without it, name order.
- `issued`: every warning ever issued, one row per 预警编号 (extra rows of the same id, e.g.
  one per rule or a carried-over copy, are collapsed to the earliest period): warning_id,
  township (null for an unplaced lead), household_id, period, issue_date, deadline (Date, or
  ISO text), withdrawn (optional: its latest row says 撤回, `withdrawn_rows`).
  `issued_from_rows()` builds it from written township rows. Collapsed, `township` is
  the latest row's (a warning carried to the township its household moved to is that
  township's now) and `townships` every township whose list has carried it.
- `answers`: every accepted answer ever received = `check_feedback`'s `accepted` rows of each
  delivery + `received_period` (YYYY-MM of the run that read them). They are in the order
  received: by received_period, then the delivery's order as stored in `rank` (so a later run,
  which has no modification times, orders them as the run that took them in did).

Which township a returned file belongs to is inferred from its path (`file_township`): the
known township (any township in `issued`) whose name appears in the file or folder names
(`反馈/大店镇_2026-10_预警清单.csv`, `feedback/大店镇/清单.xlsx`, `反馈/大店2026年10月.xlsx`).
Full names are tried first, then names as places are compared (`matchers.places.place_key`:
without their unit, 镇/乡/街道/苏木..., and a 民族乡's people, from `MatchingConfig.places`); when no
township or more than one fits, the file's township is unknown and only each row's 乡（镇）
column is checked.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from datetime import date

import polars as pl

from config import Config, PlaceNames
from matchers.places import normalize_place, place_key
from pipelines.accounting import AccountingError, together
from pipelines.rules import SEVERITY_RANK, WARNING_ID_PREFIX, households
from pipelines.township import UNPLACED, grid_workers, mask_full_ids, mask_ids
from pipelines.validate import (DETAIL, MAX_FIELD_CHARS, REJECTED_SCHEMA, TENS, TOO_LONG, delivery_order, delivery_place, delivery_ranks, in_headers, later_words,
                                mask_value, original_file, parse_date, without_sheet)
from schemas.inputs import as_written, record_key, respelled
from schemas.outputs import (FEEDBACK_COLUMNS, LIST_STATE_COLUMNS, QUALITY_COLUMNS, RETURNED_COLUMNS, TOWNSHIP_COLUMNS,
                             AnswerHistory, Finding, WarningStatus)

__all__ = [
    "ANSWER_FIELDS", "STATUS_OVERDUE", "STATUS_OPEN", "STATUS_NEW", "STATUS_WITHDRAWN", "UNKNOWN_TOWNSHIP",
    "issued_from_rows", "first_sent", "withdrawn_rows", "file_township", "check_feedback", "year_slips", "disagreements",
    "warning_status", "answer_history", "answer_ledger", "LEDGER_HEADERS", "overdue_by_township", "carry_over",
    "with_carry_over", "moved_warnings",
    "moved_in_rerun", "sent_now", "sent_again", "STATUS_MOVED_OUT", "MOVED_OUT_BLANK", "dispatch", "dispatch_changes", "as_sent",
    "values_not_read", "returned_to_township", "withdrawn_count", "take_returns", "without_answers", "told_back", "list_sheets", "list_rows",
    "rerun_changes", "reissued", "with_reissued", "REISSUED_NOTE", "rules_added", "ADDED_NOTE", "rules_dropped",
    "DROPPED_NOTE",
]

# The five columns a township fills in (internal names of FEEDBACK_COLUMNS).
ANSWER_FIELDS = ["result", "include_monitoring", "verifier", "verify_date", "note"]
# 状态 column of a township file: carried-over rows first, then this period's new rows, then the
# rows a re-run of the period moved to another township's list (`moved_in_rerun`) and those it
# takes back (`withdrawn_rows`).
STATUS_OVERDUE, STATUS_OPEN, STATUS_NEW, STATUS_WITHDRAWN = "逾期未核实", "待核实", "新下发", "撤回"
STATUS_MOVED_OUT = "迁出"
# What a 迁出 row leaves blank: the household is no longer the township's (a township's list holds
# only its own households), and its 预警编号 finds the row on the list it was sent. 风险类型 and
# 预警规则 (and 严重程度, 来源部门) stay: the township was sent them with the warning, without who
# the household is they name no one, and 风险类型 files the row on the sheet it was sent on.
MOVED_OUT_BLANK = ["户编号", "户主姓名", "涉及人员", "户类型", "预警依据", "来源记录编号"]
WITHDRAWN_NOTE = "该预警已撤回：重新研判后不再预警，无需核实（已反馈的核实结果仍保留）"
# ... of one whose household and risk type another row of the list now warns (an earlier period's
# warning the re-run raised covers it): it names that one, not saying the risk is gone
COVERED_NOTE = "该预警已撤回：同户同类风险已由本清单 {} 预警，请按该编号核实，本条无需核实（已反馈的核实结果仍保留）"
_COVERED = re.escape(COVERED_NOTE).replace(r"\{\}", r"(\S+)")
# Key of `returned_to_township` for set-aside rows whose township cannot be told.
UNKNOWN_TOWNSHIP = "（未能确定乡镇）"

_ISSUED_SCHEMA = {
    "warning_id": pl.String, "township": pl.String, "household_id": pl.String, "period": pl.String,
    "issue_date": pl.Date, "deadline": pl.Date, "withdrawn": pl.Boolean, "rules": pl.String,
}
_ANSWER_SCHEMA = {
    "dept": pl.String, "kind": pl.String, "file": pl.String, "line": pl.Int64, "warning_id": pl.String,
    "township": pl.String, "result": pl.String, "include_monitoring": pl.String, "verifier": pl.String,
    "verify_date": pl.Date, "note": pl.String, "rules": pl.String,
}
_STATUS_COLUMNS = list(WarningStatus.to_schema().columns)
# a returned 核实日期 as typed where Excel kept `11.1` of `11.10` (`schemas.inputs.Feedback`)
TENS_OF_DATE = "verify_date" + TENS
# the words a clerk wrote in brackets after a code (不属实（已外出）) or in a column added for what the
# visit found (核实情况), kept in 备注 (`_with_details`)
_DETAILS = ["situation", "result" + DETAIL, "include_monitoring" + DETAIL]
# the list's 户编号 and 户主姓名 as returned, compared with those sent (`_households_sent`)
_SENT_AS = ["listed_household", "listed_head"]


# --- helpers ---------------------------------------------------------------------------------

def _nfkc(s: str) -> str:
    return re.sub(r"\s", "", unicodedata.normalize("NFKC", s))


def _stem(name: str, places: PlaceNames) -> str:
    """A township's name as places are compared (竹核彝族乡, 竹核乡 -> 竹核; `place_key`)."""
    return place_key(name, "township", places) or _nfkc(name)


def _town_key(e: pl.Expr, places: PlaceNames) -> pl.Expr:
    """Township name -> comparison key: `place_key` (NFKC, no spaces, its unit dropped)."""
    return normalize_place(e.cast(pl.String), "township", places)


def _id_key(e: pl.Expr) -> pl.Expr:
    """A 预警编号 -> its letters and digits, lower case (NFKC: full-width ＹＪ２０… read as typed
    half-width): no spaces, dashes of any kind, underscores, quotes or invisible characters."""
    return (e.cast(pl.String).str.normalize("NFKC").str.to_lowercase()
            .str.replace_all(r"[\s\p{Pd}\p{Cf}_'\"`‘’“”]", ""))


def _text(e: pl.Expr) -> pl.Expr:
    """Trimmed text, empty -> null."""
    t = e.cast(pl.String).str.strip_chars()
    return pl.when(t.str.len_chars() > 0).then(t)


def _rule_list(rules: pl.Expr) -> pl.Expr:
    """A 预警规则 as written (`M1、M2`, `m2,M1`, `M1 / M2`) -> its rules, NFKC, upper case, sorted,
    joined by '、' (null: none). Only what reads as a rule's name (a letter, then letters or
    digits): a clerk's own words typed into the cell (见备注) name no rule, and an answer must not
    be taken as verifying none of its row's rules (its warning would be sent again)."""
    r = (rules.cast(pl.String).str.normalize("NFKC").str.to_uppercase()
         .str.replace_all(r"[、,，;；/\s]+", "、").str.split("、")
         .list.eval(pl.element().filter(pl.element().str.contains(r"^[A-Z][A-Z0-9_]*$")))
         .list.unique().list.sort().list.join("、"))
    return pl.when(r.str.len_chars() > 0).then(r)


def _uncovered(now: pl.Expr, answered: pl.Expr) -> pl.Expr:
    """A warning's rules now and the rules an answer to it verified (`_rule_list` text) -> whether
    a rule now on it was not on the row answered (a re-run changed them under the same 预警编号);
    false when either is not known (an answer stored before its rules were, a list without 预警规则)."""
    return (now.str.split("、").list.set_difference(answered.str.split("、")).list.len() > 0).fill_null(False)


def _not_verified(now: pl.Expr, answered: pl.Expr) -> pl.Expr:
    """A warning's rules now and the rules an answer verified (`_rule_list` text) -> the rules
    now the answer did not verify, `_rule_list` text."""
    return now.str.split("、").list.set_difference(answered.str.split("、")).list.sort().list.join("、")


def _own_words(note: pl.Expr) -> pl.Expr:
    """A returned 备注 without what this system wrote into it (`carry_over`'s `PARTIAL_NOTE`
    before the township's earlier note, a 撤回 row's `WITHDRAWN_NOTE`), which a list sent back
    as it came still holds: the township's own words, or null. Otherwise the prompt would be
    kept as its answer and asked again in front of itself every month."""
    own = note.str.replace(rf"^({re.escape(PARTIAL_NOTE)}\s*(：|:|$)\s*)+", "")
    return _text(pl.when((own != WITHDRAWN_NOTE) & ~own.str.contains(f"^{_COVERED}$")).then(own))


def _with_details(note: pl.Expr) -> pl.Expr:
    """A returned 备注 (`_own_words`) with what the clerk wrote in a column added for the visit
    (核实情况) and in brackets after 核实结果 or 是否纳入监测 (`_DETAILS`: 不属实（已外出）, read as
    不属实) added, each one it does not hold already: the code alone would lose the reason, and a
    row written in the added column alone read as unanswered."""
    for d in (_text(pl.col(c)) for c in _DETAILS):
        note = pl.when(d.is_null() | note.str.contains(d, literal=True).fill_null(False)).then(note).otherwise(
            pl.concat_str([note, d], separator="；", ignore_nulls=True))
    return note


def _household_key(e: pl.Expr) -> pl.Expr:
    """A 户编号 as a list showed it and Excel may give it back (`'0012`, 12: `record_key`, as a
    record is compared; full-width as typed on a Chinese keyboard; `="0012"` the reader unwraps)."""
    k = record_key(e.cast(pl.String).str.normalize("NFKC"))
    return pl.when(k != "").then(k)


def _name_key(e: pl.Expr) -> pl.Expr:
    """A 户主姓名 without its spaces and the dots of a name in parts."""
    k = e.cast(pl.String).str.normalize("NFKC").str.replace_all(r"[\s·•.\-]", "")
    return pl.when(k != "").then(k)


def _households_sent(earlier_rows: pl.DataFrame | None, wids: pl.Series) -> pl.DataFrame:
    """The township rows written before (`earlier_rows`) -> per 预警编号 of `wids` (`_wid`), the
    households (`_hh_sent`, `_household_key`; `_hh_shown` as written) and heads (`_head_sent`,
    `_name_key`) any list sent it for: a carried row may show a head or number changed since."""
    schema = {"_wid": pl.String, "_hh_sent": pl.List(pl.String), "_head_sent": pl.List(pl.String), "_hh_shown": pl.String}
    if earlier_rows is None or not {"户编号", "户主姓名"} <= set(earlier_rows.columns):
        return pl.DataFrame(schema=schema)
    return earlier_rows.filter(pl.col("预警编号").is_in(wids.drop_nulls().implode())).group_by("预警编号").agg(
        _hh_sent=_household_key(pl.col("户编号")).drop_nulls().unique(), _head_sent=_name_key(pl.col("户主姓名")).drop_nulls().unique(),
        _hh_shown=pl.col("户编号").drop_nulls().unique(maintain_order=True).str.join("、"),
    ).rename({"预警编号": "_wid"}).cast(schema)


def _moved_out(rows: pl.DataFrame) -> pl.Expr:
    """Township rows -> whether each is a 迁出 row (`moved_in_rerun`): the list a re-run moved the
    warning out of, not where it is listed (rows written before 状态 was stored: none is)."""
    return _state(rows).cast(pl.String).str.starts_with(STATUS_MOVED_OUT).fill_null(False)


def _state(rows: pl.DataFrame) -> pl.Expr:
    """Township rows -> their 状态 (null for rows written before it was stored: the warehouse
    adds the column when a later period is stored, until then there is none)."""
    return pl.col("状态") if "状态" in rows.columns else pl.lit(None, pl.String)


def _listed(rows: pl.DataFrame) -> pl.DataFrame:
    """Township rows -> those listing their warning in their township: not 撤回 (taken back), not
    迁出 (listed elsewhere; rows written before 状态 was stored are neither)."""
    return rows.filter(_state(rows).ne_missing(STATUS_WITHDRAWN), ~_moved_out(rows))


def _as_date(df: pl.DataFrame, col: str) -> pl.Expr:
    if col not in df.columns:
        return pl.lit(None, pl.Date).alias(col)
    if df.schema[col] == pl.Date:
        return pl.col(col)
    if df.schema[col] == pl.Datetime or isinstance(df.schema[col], pl.Datetime):
        return pl.col(col).dt.date()
    return pl.col(col).cast(pl.String).str.strip_chars().str.to_date("%Y-%m-%d", strict=False).alias(col)


def _issued(issued: pl.DataFrame) -> pl.DataFrame:
    """One row per warning_id, typed as `_ISSUED_SCHEMA`: the earliest period's row (its `rules`,
    `_rule_list` text, too), but the latest period's township; plus `townships`, every township
    it was written to."""
    if "warning_id" not in issued.columns:
        raise ValueError("issued: needs a warning_id column")
    cols = [
        pl.col(c).cast(t) if c in issued.columns else pl.lit(False if t == pl.Boolean else None, t).alias(c)
        for c, t in _ISSUED_SCHEMA.items() if t != pl.Date
    ]
    towns = (pl.col("townships").cast(pl.List(pl.String)) if "townships" in issued.columns  # collapsed already
             else pl.concat_list(pl.col("township").cast(pl.String)))
    df = issued.select(*cols, _as_date(issued, "issue_date"), _as_date(issued, "deadline"), towns.alias("townships"))
    return (
        df.filter(pl.col("warning_id").is_not_null())
        .sort("period", "issue_date", nulls_last=True, maintain_order=True)
        .group_by("warning_id", maintain_order=True)
        .agg(pl.exclude("township", "townships", "household_id", "rules").first(), township=pl.col("township").drop_nulls().last(),
             # (the rules its own period's list gives it now: a carried copy keeps them as they were)
             rules=pl.col("rules").drop_nulls().first(),
             # (a 迁出 row a later re-run withdrew is a 撤回 row without the household: not whose it is)
             household_id=pl.col("household_id").drop_nulls().first(),
             townships=pl.col("townships").list.explode(keep_nulls=False, empty_as_null=False).drop_nulls()
             .unique(maintain_order=True))
        .select(*_ISSUED_SCHEMA, "townships")
    )


def issued_from_rows(rows: pl.DataFrame | None) -> pl.DataFrame:
    """Written township rows (TOWNSHIP_COLUMNS + township + period, of every period, carried-over
    copies included; None: none was written, nothing issued) -> `issued`: one row per 预警编号,
    from the period it was first written;
    `withdrawn` when its row of the latest period says 撤回 (a re-run took it back); `rules`: the
    预警规则 of its own period's row (as a re-run of that period last wrote it). A 迁出 row
    (a re-run moved the warning to another township's list, `moved_in_rerun`) counts only among
    its `townships` (that township's answer is taken): its township, dates and 状态 are those of
    the row where the warning is listed."""
    if rows is None:
        rows = pl.DataFrame(schema={c: pl.Utf8 for c in ["预警编号", "township", "户编号", "period", "下发日期", "核实截止日期"]})
    state = pl.col("状态") if "状态" in rows.columns else pl.lit(None, pl.String)
    listed = ~pl.col("_out")
    last = (pl.col("_state").filter(listed).sort_by(pl.col("period").filter(listed)).last() == STATUS_WITHDRAWN
            ).fill_null(False).over("预警编号")
    return _issued(rows.with_columns(_state=state, _out=_moved_out(rows)).with_columns(_withdrawn=last).select(
        warning_id="预警编号", township=pl.when(listed).then("township"), household_id="户编号", period="period",
        issue_date=pl.when(listed).then("下发日期"), deadline=pl.when(listed).then("核实截止日期"),
        withdrawn="_withdrawn", townships=pl.concat_list(pl.col("township").cast(pl.String)),
        rules=_rule_list(pl.col("预警规则") if "预警规则" in rows.columns else pl.lit(None, pl.String)),
    ))


def file_township(file: str, townships: Iterable[str], places: PlaceNames = PlaceNames()) -> str | None:
    """The known township a returned file belongs to, told by its path; None if none or several fit."""
    path = _nfkc(file)
    names = sorted({t for t in townships if t})

    def only(found: dict[str, str]) -> str | None:
        # a hit inside a longer hit (大店 within 大店集) does not count on its own
        keep = {t for t, k in found.items() if not any(k != k2 and k in k2 for k2 in found.values())}
        return keep.pop() if len(keep) == 1 else None

    full = {t: _nfkc(t) for t in names if _nfkc(t) and _nfkc(t) in path}
    if full:
        return only(full)
    stems = {t: _stem(t, places) for t in names}
    # a bare stem followed by 村/社区/居委 names a village (大店村), not the township
    return only({t: s for t, s in stems.items()
                 if len(s) >= 2 and re.search(re.escape(s) + "(?!村|社区|居委)", path)})


def _known_towns(iss: pl.DataFrame, townships: Iterable[str]) -> list[str]:
    """The townships a returned file or row may name: those warnings went to, and the roster's."""
    return sorted(set(iss["townships"].explode().drop_nulls().to_list()) | {t for t in townships if t})


def _empty_rejected() -> pl.DataFrame:
    return pl.DataFrame(schema={**REJECTED_SCHEMA, "township": pl.String})


# --- 1. check one delivery --------------------------------------------------------------------

def check_feedback(
    feedback: pl.DataFrame, issued: pl.DataFrame, as_of: date, places: PlaceNames = PlaceNames(),
    ranks: Mapping[str, int] | None = None, period: str | None = None, townships: Iterable[str] = (),
    first_out: Mapping[str, date] | None = None, taken_before: pl.DataFrame | None = None,
    earlier_rows: pl.DataFrame | None = None,
) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """One delivery of returned rows -> (accepted, unanswered, rejected); every input row lands in
    exactly one (asserted).

    rejected (REJECTED_SCHEMA columns + `township`, the township to tell): unknown 预警编号;
    another township's warning (the row's 乡（镇） or the file's township is none of the townships
    whose list has carried the warning: a warning that moved with its household is answered by
    either; an unplaced lead's warning is never refused on township); 核实日期 before 下发日期 or after
    `as_of`. All failing checks are named in `reason` (joined by '；'), the first in field/value.
    unanswered: the rest with none of the five feedback columns filled (input columns).
    A 预警编号 is matched as issued (NFKC, case and surrounding spaces aside) or, failing that, by
    its letters and digits alone (`_id_key`) when one issued id alone shows them.
    accepted: the rest (a partial answer without 核实结果 included), input columns with
    `warning_id` spelled as issued, `township` the file's where the row gives none, `rules` the rules it verifies (`_rule_list` of the row's
    预警规则 as returned; else, when its 下发日期 (`issue_date`) is the one its row was first sent
    with before a re-run sent it again for a rule it added, the rules that row showed (a clerk
    filled in a copy of the old row: nobody looked at the rule added; `earlier_rows`, the township
    rows of the periods before, tell them, `_first_rows`); else as the period's last run took the
    same answer, `taken_before`: its `feedback_answers` rows — a re-run of the warning's period
    may have changed its rules since — else of the warning as issued now), in the order put in,
    plus `rank` (1 = the latest answer to that warning in this delivery: by the file's place in
    `ranks`, then line; 2 = the one before ...) and `is_latest` (rank == 1).
    A row without answer whose 状态 the clerk rewrote (已核实, 属实: the answer put there, 核实结果
    left empty) is set aside saying where the answer goes, unless another row of the delivery
    answers that warning; a 状态 as sent (新下发, 待核实, 逾期未核实, 撤回, 迁出 and their notes, or a re-run's
    note alone, `（重新下发：…`: the word before it cut) is no answer.
    `period` (the 反馈 folder's): an unknown 预警编号 of that period or later (YJ<YYYYMM>-…) is a
    list of this period put back into its own 反馈/, and its reason says where answers go.
    `townships` (the roster's): the county's townships besides those warnings went to, for telling
    which township a file or row is from (a first run's 反馈/, a township never warned before);
    `places` (`MatchingConfig.places`): township names are compared as places are (竹核乡 is
    竹核彝族乡, 额木庭高勒 is 额木庭高勒苏木).
    `first_out` (period -> the 下发日期 of its first run's lists, `warehouse.first_issue_dates`):
    a 核实日期 is early only before the day the warning first went out. A warning a re-run took
    back and raised again is re-dated the day of that run (`first_sent`), but the township had it
    from the period's first lists: its visit in between is an answer, not a date before the list
    (a 预警编号 is known only from a list that carried it).
    """
    iss = _issued(issued)
    fb = feedback.select(
        [pl.col(c).cast(t) if c in feedback.columns else pl.lit(None, t).alias(c)
         for c, t in {**_ANSWER_SCHEMA, **dict.fromkeys([*_DETAILS, *_SENT_AS], pl.String)}.items()],
        _state=_text(pl.col("list_state")) if "list_state" in feedback.columns else pl.lit(None, pl.String),
        _tens=(pl.col(TENS_OF_DATE).cast(pl.Date) if TENS_OF_DATE in feedback.columns else pl.lit(None, pl.Date)),
        # (the 下发日期 returned, as Excel and WPS re-save a date; one not read is none)
        _sent=parse_date("issue_date", as_of) if "issue_date" in feedback.columns else pl.lit(None, pl.Date),
    )
    fb = fb.with_columns(
        _text(pl.col(c)).alias(c) for c in ANSWER_FIELDS if c != "verify_date"
    ).with_columns(note=_with_details(_own_words(pl.col("note")))).drop(_DETAILS).with_row_index("_row")
    towns = _known_towns(iss, townships)
    by_key = {}
    for t in sorted(towns):
        by_key.setdefault(_stem(t, places), t)
    files = {f: file_township(f, towns, places) for f in fb["file"].drop_nulls().unique().to_list()}

    # a 预警编号 as issued, or retyped with other separators (an IME's dash —, – or －, a space, the
    # hyphen left out) or carrying an invisible character pasted along (a zero-width space): the
    # issued id whose letters and digits it shows, when only one issued id shows them
    keys = iss.select("warning_id", _exact=pl.col("warning_id").str.to_lowercase(),
                      _loose=_id_key(pl.col("warning_id")))
    keys = keys.with_columns(_loose=pl.when(pl.col("_loose").is_unique()).then("_loose"))
    x = fb.with_columns(
        _exact=pl.col("warning_id").str.normalize("NFKC").str.strip_chars().str.to_lowercase(),
        _loose=_id_key(pl.col("warning_id")),
        _file_town=pl.col("file").replace_strict(files, default=None, return_dtype=pl.String),
    ).join(keys.select("_exact", _by_exact="warning_id"), on="_exact", how="left"
    ).join(keys.filter(pl.col("_loose").is_not_null()).select("_loose", _by_loose="warning_id"), on="_loose", how="left"
    ).with_columns(_wid=pl.coalesce("_by_exact", "_by_loose")).join(
        iss.select(_wid="warning_id", _w_town="township", _w_towns="townships", _issue="issue_date", _w_rules="rules",
                   _first=pl.col("period").replace_strict(dict(first_out or {}), default=None, return_dtype=pl.Date)),
        on="_wid", how="left",
    )
    x = x.join(_households_sent(earlier_rows, x["_wid"]), on="_wid", how="left", maintain_order="left")
    x = x.with_columns(
        _row_town=_text(pl.col("township").str.normalize("NFKC").str.replace_all(r"\s", "")),
    ).with_columns(
        _rk=_town_key(pl.col("_row_town"), places), _fk=_town_key(pl.col("_file_town"), places),
        _wks=pl.col("_w_towns").list.eval(_town_key(pl.element(), places)),
    )
    # Excel completes a date typed without its year (`12/28`) with the year it is typed in: a
    # December list answered in January comes back dated next December. A 核实日期 after `as_of`
    # whose day a year before lies between the warning's 下发日期 and `as_of` is read as that day
    # (`year_slips` names such rows for the county). The other way round, early in a year a clerk
    # still writes last year's (2026-01-08 for a list issued 2027-01-06): a 核实日期 before the
    # 下发日期 whose day a year later lies between the 下发日期 and `as_of` is read as that day.
    # And a 核实日期 typed `11.10` is the number 11.1 to Excel (`validate.EXCEL_TENS`): read as
    # 11月1日 before the list went out, it is read as typed (`_tens`, 11月10日) when that day lies
    # between the day the list went out and `as_of` (`year_slips` names these too).
    out_on = pl.min_horizontal("_issue", "_first")  # (the day it first went out)
    slip = pl.col("verify_date").dt.offset_by("-1y")
    habit = pl.col("verify_date").dt.offset_by("1y")
    tens = pl.col("_tens")
    x = x.with_columns(verify_date=pl.when(
        (pl.col("verify_date") < out_on) & (tens >= out_on) & (tens <= pl.lit(as_of))
    ).then(tens).when(
        (pl.col("verify_date") > pl.lit(as_of)) & (slip >= pl.col("_issue")) & (slip <= pl.lit(as_of))
    ).then(slip).when(
        (pl.col("verify_date") < pl.col("_issue")) & (habit >= pl.col("_issue")) & (habit <= pl.lit(as_of))
    ).then(habit).otherwise("verify_date"))
    unknown = pl.col("_wid").is_null()
    placed = ~unknown & (pl.col("_wks").list.len() > 0)
    wrong_row = placed & pl.col("_rk").is_not_null() & ~pl.col("_wks").list.contains(pl.col("_rk"))
    # a row whose own 乡（镇） names its warning's township is that township's answer, in whatever file
    # it came (two townships' lists merged, a neighbour's answered rows pasted in): the file's name
    # does not refuse it, and what is told of it goes to that township, not the file's
    own_row = placed & pl.col("_rk").is_not_null() & pl.col("_wks").list.contains(pl.col("_rk"))
    wrong_file = (placed & pl.col("_fk").is_not_null() & ~pl.col("_wks").list.contains(pl.col("_fk"))
                  & ~own_row.fill_null(False))
    vd = pl.col("verify_date")
    early = ~unknown & vd.is_not_null() & out_on.is_not_null() & (vd < out_on)
    future = vd.is_not_null() & (vd > pl.lit(as_of))
    blank = pl.all_horizontal(pl.col(c).is_null() for c in ANSWER_FIELDS)
    # a clerk who wrote the answer into the list's 状态 (已核实, 属实) and left 核实结果 empty: not
    # an unanswered row (the township believes it answered), but told back where the answer goes
    # (nor a 状态 that begins with a re-run's note, the word before it cut: `REISSUED_NOTE`, `ADDED_NOTE`,
    # `DROPPED_NOTE`)
    sent_state = pl.col("_state").str.contains("^(" + "|".join(map(re.escape, (
        STATUS_NEW, STATUS_OPEN, STATUS_OVERDUE, STATUS_WITHDRAWN, STATUS_MOVED_OUT, _REISSUE_MARK, _DROPPED_MARK))) + ")")
    # (one whose answer another row of the delivery gives, e.g. the earlier list's, is answered)
    in_state = (~unknown & blank & pl.col("_state").is_not_null() & ~sent_state
                & blank.all().over(pl.coalesce("_wid", pl.col("warning_id"))))
    # a row answered beside a household and a head that no list sent its 预警编号 for (the answer
    # columns sorted alone, answers pasted in another order): another family's answer
    hh, head = _household_key(pl.col("listed_household")), _name_key(pl.col("listed_head"))
    # (not of a row refused as another township's already: its reason would show that township's household)
    shifted = (~unknown & ~blank & hh.is_not_null() & head.is_not_null() & ~wrong_row.fill_null(False)
               & ~wrong_file.fill_null(False)
               & (pl.col("_hh_sent").list.len() > 0) & (pl.col("_head_sent").list.len() > 0)
               & ~pl.col("_hh_sent").list.contains(hh) & ~pl.col("_head_sent").list.contains(head))
    x = x.with_columns(
        _unknown=unknown, _wrong_row=wrong_row.fill_null(False), _wrong_file=wrong_file.fill_null(False),
        _early=early.fill_null(False), _future=future.fill_null(False), _blank=blank, _in_state=in_state.fill_null(False),
        _shifted=shifted.fill_null(False), _own_row=own_row.fill_null(False),
    ).with_columns(_bad=pl.any_horizontal("_unknown", "_wrong_row", "_wrong_file", "_early", "_future", "_in_state",
                                          "_shifted"))

    vds = vd.dt.to_string("%Y-%m-%d")
    this_or_later = pl.lit(False)
    if period is not None:  # (YJ202610-… answered in 2026-10/反馈/: issued by this period's run, not before it)
        month = pl.col("warning_id").str.normalize("NFKC").str.extract(rf"(?i)^\s*{WARNING_ID_PREFIX}\s*(\d{{6}})")
        this_or_later = month.is_not_null() & (month >= pl.lit(period.replace("-", "")))
    checks = [  # (flag, field, value, reason)
        ("_unknown", "warning_id", pl.col("warning_id"),
         pl.when(this_or_later).then(pl.lit(
             f"预警编号属于本期（{period}）或以后下发的清单，本期 反馈/ 只收此前下发的预警：请把答复放入下一期的 反馈/ "
             f"warning issued by this period's run or later: answers to it go into the next period's 反馈/"))
         .otherwise(pl.lit("预警编号不存在（未下发过此编号） unknown warning id"))),
        ("_wrong_row", "township", pl.col("township"),
         pl.format("乡（镇）填写为“{}”，与该预警所属乡镇不符 warning belongs to another township", "_row_town")),
        ("_wrong_file", "file", pl.col("file"),
         pl.format("反馈文件属于{}，该预警不属于该乡镇 file is from another township", "_file_town")),
        ("_shifted", "listed_household", pl.col("listed_household"),
         pl.format("本行户编号“{}”、户主姓名“{}”不是该预警编号下发时的户（户编号 {}）：排序或粘贴时错行了？答复未采纳，请核对后重报 "
                   "the row's household and head are not those its warning was sent for (rows shifted by sorting or "
                   "pasting?): not taken", "listed_household", "listed_head", "_hh_shown")),
        ("_early", "verify_date", vds,
         pl.concat_str([
             pl.format("核实日期{}早于下发日期{} verify date before issue date", vds, out_on.dt.to_string("%Y-%m-%d")),
             # (written 11.1, as Excel keeps a typed 11.10, its 10th not come yet: say what to write)
             pl.when(tens >= out_on).then(pl.format(
                 "（若填的是{}，Excel 把它存成了数字：请写成 {} 这样的日期后重报 if {} was typed, Excel kept it as a "
                 "number: write it as {})", *[tens.dt.strftime("%-m.%d"), tens.dt.to_string("%Y-%m-%d")] * 2))],
             ignore_nulls=True)),
        ("_future", "verify_date", vds,
         pl.format("核实日期{}晚于本期清单下发日期{}（本次处理以该日为准）：日期笔误请更正，此后核实的请放入下一期 反馈/ "
                   "verify date after this period's issue date {}: correct it, or put later answers into the next "
                   "period's 反馈/", vds, pl.lit(as_of.isoformat()), pl.lit(as_of.isoformat()))),
        ("_in_state", "list_state", pl.col("_state"),
         pl.format("“状态”列改写为“{}”，但核实结果等反馈列为空：核实结果请填在“核实结果”列（属实/不属实），“状态”列无需改动 "
                   "the answer was written into 状态, the feedback columns are empty: write 属实 or 不属实 under 核实结果",
                   "_state")),
    ]
    bad = x.filter("_bad")
    rejected = bad.select(
        pl.col("dept").fill_null("反馈"), pl.col("kind").fill_null("feedback"), "file", "line",
        pl.col("warning_id").alias("record_id"),
        pl.coalesce([pl.when(f).then(pl.lit(name)) for f, name, _, _ in checks]).alias("field"),
        pl.coalesce([pl.when(f).then(v) for f, _, v, _ in checks]).alias("value"),
        pl.concat_str([pl.when(f).then(r) for f, _, _, r in checks], separator="；", ignore_nulls=True).alias("reason"),
        # the township to tell: the row's when it names its warning's (its own row, in any file),
        # else the file's, else the row's (if it is a known township), else the warning's own
        # township unless the answer came from another township
        pl.coalesce(
            pl.when("_own_row").then(pl.col("_rk").replace_strict(by_key, default=None, return_dtype=pl.String)),
            "_file_town",
            pl.col("_rk").replace_strict(by_key, default=None, return_dtype=pl.String),
            pl.when(~pl.col("_wrong_row") & ~pl.col("_wrong_file")).then("_w_town"),
        ).alias("township"),
        "_row",
    )
    if rejected.height:
        rejected = rejected.with_columns(
            *[pl.col(c).map_elements(mask_value, return_dtype=pl.String) for c in ("record_id", "value")],
            # (a reason quotes the cell: an ID typed into 乡（镇） or 状态 is masked there too)
            reason=mask_ids(pl.col("reason")))

    cols = list(_ANSWER_SCHEMA)
    first = (_first_rows(earlier_rows.filter(pl.col("预警编号").is_in(x["_wid"].drop_nulls().implode())), period)
             if earlier_rows is not None  # (of the warnings answered: a city's rows of every period are many)
             else pl.DataFrame(schema={"warning_id": pl.String, "_first_on": pl.Date, "_first_rules": pl.String}))
    unanswered = x.filter(~pl.col("_bad") & pl.col("_blank")).with_columns(warning_id="_wid").select("_row", *cols)
    accepted = (
        x.filter(~pl.col("_bad") & ~pl.col("_blank"))
        # (a file cut down to the columns answered: its township is the file's, for the county's ledger)
        .with_columns(warning_id="_wid", township=pl.coalesce("township", "_file_town"))
        .join(_rules_taken(taken_before), on=["file", "line", "warning_id"], how="left", maintain_order="left")
        .join(first, on="warning_id", how="left", maintain_order="left")
        # (the rules the answered row showed: its 预警规则 as returned, else those of the row first sent
        # when its 下发日期 is that row's, else as taken before, else the warning's now)
        .with_columns(rules=pl.coalesce(_rule_list(pl.col("rules")),
                                        pl.when(pl.col("_sent") == pl.col("_first_on")).then("_first_rules"),
                                        "_taken_rules", "_w_rules"))
        .sort(delivery_place(pl.col("file"), ranks or {}), delivery_order(pl.col("file")), "line", maintain_order=True)
        .pipe(_ranked).select("_row", *cols, "rank", "is_latest")
    )
    seen = pl.concat([accepted["_row"], unanswered["_row"], rejected["_row"]])
    if seen.len() != fb.height or seen.n_unique() != fb.height:  # explicit: survives python -O
        raise AssertionError(f"feedback rows lost or doubled: {fb.height} in, {seen.len()} out")
    return (
        accepted.drop("_row"),
        unanswered.sort("_row").drop("_row"),
        rejected.sort("_row").drop("_row").cast({"line": pl.Int64}) if rejected.height else _empty_rejected(),
    )


def _ranked(accepted: pl.DataFrame) -> pl.DataFrame:
    """Accepted rows in the order put in -> with `rank` (1 = the latest answer to its warning) and
    `is_latest`."""
    return accepted.with_columns(rank=(pl.len() - pl.int_range(pl.len())).over("warning_id").cast(pl.Int64)).with_columns(
        is_latest=pl.col("rank") == 1)


def _rules_taken(taken: pl.DataFrame | None) -> pl.DataFrame:
    """`feedback_answers` rows -> file, line, warning_id, `_taken_rules` (one per answer)."""
    schema = {"file": pl.String, "line": pl.Int64, "warning_id": pl.String, "_taken_rules": pl.String}
    if taken is None or taken.is_empty() or "rules" not in taken.columns:
        return pl.DataFrame(schema=schema)
    return (taken.select("file", "line", "warning_id", _taken_rules="rules").cast(schema)
            .filter(pl.col("_taken_rules").is_not_null()).unique(["file", "line", "warning_id"], keep="last"))


def answered_before(accepted: pl.DataFrame, earlier_answers: pl.DataFrame | None,
                    later_marks: Sequence[str] = ()) -> pl.DataFrame:
    """`check_feedback`'s accepted rows of a delivery whose answer an earlier period took as it
    reads now (`earlier_answers`: the answers received before, `received_period`, `file`): the
    same 预警编号, five answer columns and rules verified as read (a file sent again, re-saved by Excel or WPS
    in between, its bytes changed, or its rows pasted into a new file) -> file, line, period, was
    (the file that period took it from). An answer changed in any of them is an answer now; so are
    the rows an earlier period refused (dated after that run, and told to put it into the next
    反馈/): it took none of them; and an answer that period overruled and told back (another file
    or line answering otherwise, `disagreements` of its delivery, `later_marks` as it read them):
    sent again, it is the township's answer after checking, as it was asked."""
    schema = {"file": pl.String, "line": pl.Int64, "period": pl.String, "was": pl.String}
    if earlier_answers is None or earlier_answers.is_empty() or accepted.is_empty():
        return pl.DataFrame(schema=schema)
    # (and the rules the answered row showed: the row a re-run sent again for a rule it added,
    # answered as before, verifies that rule too, and is taken)
    key = ["warning_id", *ANSWER_FIELDS, "rules"]
    # (only the warnings this delivery answers: `disagreements` weighs each warning's answers alone,
    # and a year's earlier answers are millions at city scale)
    earlier = _answers(earlier_answers.join(accepted.select(pl.col("warning_id").cast(earlier_answers.schema["warning_id"])).unique(),
                                            on="warning_id", how="semi"))
    if earlier.is_empty():
        return pl.DataFrame(schema=schema)
    told = [disagreements(a, later_marks)[0].select("file", "line", received_period=pl.lit(p, pl.String))
            for (p,), a in earlier.partition_by("received_period", as_dict=True).items()]
    taken = earlier.join(pl.concat(told), on=["received_period", "file", "line"], how="anti").select(
        *key, period="received_period", was="file")
    return (accepted.select("file", "line", *key).join(taken, on=key, how="inner", nulls_equal=True)
            .sort("period", "was").unique(["file", "line"], keep="first", maintain_order=True)
            .sort("file", "line").select(*schema).cast(schema))


def _sent_again_notes(again: pl.DataFrame) -> pl.DataFrame:
    """`answered_before`'s rows -> QUALITY_COLUMNS rows for the county, one per file and earlier
    file: which of its lines were answers taken in which period, not taken again."""
    return again.sort("file", "line").group_by("file", "period", "was", maintain_order=True).agg(
        pl.col("line").cast(pl.String).str.join("、").alias("_lines"), count=pl.len().cast(pl.Int64),
    ).select(
        category=pl.lit(Finding.EARLIER_COPY), dept=pl.lit("反馈"), file="file",
        detail=pl.format("第{}行的答复与 {} 期收到的 {} 中的相同，已在该期采纳，不再重复计入（重报了往期文件？）"
                         " the answers of these lines are those of {} received in {}: taken then, not again",
                         "_lines", "period", "was", "was", "period"),
        count="count",
    ).cast(QUALITY_COLUMNS)


def take_returns(
    returned: pl.DataFrame | None, set_aside: pl.DataFrame | None, issued: pl.DataFrame | None, as_of: date, period: str,
    cfg: Config, files: pl.DataFrame, townships: Iterable[str] = (), first_out: Mapping[str, date] | None = None,
    blanked: pl.DataFrame | None = None, taken_before: pl.DataFrame | None = None, earlier_rows: pl.DataFrame | None = None,
    earlier_answers: pl.DataFrame | None = None,
) -> tuple[dict, pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None, pl.DataFrame | None]:
    """The period's returned township lists (`returned`: the 反馈 rows read, None when none were;
    `set_aside`: the folder's `Rejected` rows the validator set aside, a 核实结果 outside
    属实/不属实 ...) -> (counts, accepted, refused, told, findings), each frame None when no row
    was returned. The rows are checked against the warnings `issued` before (`check_feedback`:
    a later file's answer first, by the order the folder's `files` were put in, `delivery_ranks`;
    `townships`, `first_out`, `taken_before`, `earlier_rows` as it takes them); accepted: those taken, with their
    `received_period`; refused: those not, as REJECTED_SCHEMA rows (the row accounting's);
    told: what each township is told back — the rows not taken, those a later file overruled
    (`disagreements`) and the cells not read (`values_not_read` of `blanked`); findings: the
    disagreements and year slips for the report. counts: returned = accepted + unanswered +
    set aside (the validator's rows too: the console says so), how many accepted carry no
    核实结果 (they verify nothing), and how many warnings the delivery answers verifying only some
    of the rules on them now (`reopened`: a re-run added a rule after the row answered went
    out, `reissued`; they stay open); raises AccountingError when a row is not accounted for.
    An answer an earlier period took as it reads now (`earlier_answers`: `answered_before`; a file
    sent again, however re-saved) is not taken again: those rows are not counted as returned, and
    the findings name them."""
    invalid = 0 if set_aside is None else set_aside.filter(pl.col("line").is_not_null()).height
    counts = {"returned": invalid, "accepted": 0, "unanswered": 0, "set_aside": invalid}
    if returned is None or returned.is_empty():
        return counts, None, None, None, None
    folder = cfg.kinds["feedback"].folder
    accepted, unanswered, refused = check_feedback(returned, issued, as_of, cfg.matching.places,
                                                   delivery_ranks(files, cfg.inbox.later_marks), period=period,
                                                   townships=townships, first_out=first_out, taken_before=taken_before,
                                                   earlier_rows=earlier_rows)
    again = answered_before(accepted, earlier_answers, cfg.inbox.later_marks)
    if again.height:  # (the delivery's other answers ranked among themselves)
        returned = returned.join(again, on=["file", "line"], how="anti", maintain_order="left")
        accepted = _ranked(accepted.join(again, on=["file", "line"], how="anti", maintain_order="left"))
    overruled, findings = disagreements(accepted, cfg.inbox.later_marks)
    unfilled = without_answers(unanswered, [accepted, refused, again, set_aside, blanked])
    findings = pl.concat([findings, year_slips(returned, accepted), _sent_again_notes(again), unfilled])
    # an answer whose 核实日期 could not be read was taken undated (`kinds.feedback.blank_unreadable`):
    # not set aside, but the township is told to fill the date in again
    not_read = values_not_read(blanked, accepted, overruled, cfg.kinds["feedback"].fields)
    counts = {"returned": returned.height, "accepted": accepted.height, "unanswered": unanswered.height,
              "set_aside": refused.height}
    if sum(list(counts.values())[1:]) != counts["returned"]:
        raise AccountingError(f"{folder}: read {returned.height} answers but accounted {counts}")
    counts["returned"] += invalid
    counts["set_aside"] += invalid
    # (taken, but they verify nothing: a console saying only "accepted" hides a 核实结果 column not read)
    counts["without_result"] = accepted.filter(pl.col("result").is_null()).height
    # (and those whose result verifies only some of the rules on their warning now: open again, not 已核实)
    # (as `warning_status` takes them: the delivery's answers agreeing verify together)
    counts["reopened"] = _reissued(_issued(issued), _deciding(_answers(accepted))).height
    pasted = _found_elsewhere(accepted, _known_towns(_issued(issued), townships), cfg.matching.places)
    told = pl.concat([refused, overruled, not_read, pasted, unfilled.select(
        "dept", kind=pl.lit("feedback"), file="file", line=pl.lit(None, pl.Int64),
        **{c: pl.lit(None, pl.String) for c in ("record_id", "field", "value")}, reason="detail",
        township=pl.lit(None, pl.String)).cast({**REJECTED_SCHEMA, "township": pl.String})])
    return (counts, accepted.with_columns(received_period=pl.lit(period)), refused.drop("township").cast(REJECTED_SCHEMA),
            told, findings)


def _found_elsewhere(accepted: pl.DataFrame, towns: Sequence[str], places: PlaceNames) -> pl.DataFrame:
    """`check_feedback`'s accepted rows taken as another township's answers than the file's (their
    own 乡（镇） names their warning's township: two lists merged, a neighbour's rows pasted in) ->
    REJECTED_SCHEMA + `township` rows telling that township, one per file: its answers were found
    in that file and taken as its own (line null; the lines in the reason), to check if it did not
    give them. Nothing of them is told to the file's township."""
    schema = {**REJECTED_SCHEMA, "township": pl.String}
    if accepted.is_empty():
        return pl.DataFrame(schema=schema)
    by_key = {}
    for t in sorted(towns):
        by_key.setdefault(_stem(t, places), t)
    files = {f: file_township(f, towns, places) for f in accepted["file"].drop_nulls().unique().to_list()}
    x = accepted.with_columns(
        _file_town=pl.col("file").replace_strict(files, default=None, return_dtype=pl.String),
        _town=_town_key(pl.col("township"), places).replace_strict(by_key, default=None, return_dtype=pl.String),
    ).filter(pl.col("_file_town").is_not_null(), pl.col("_town").is_not_null(), pl.col("_town") != pl.col("_file_town"))
    return x.sort("file", "line").group_by("dept", "kind", "file", "_town", "_file_town", maintain_order=True).agg(
        pl.col("line").cast(pl.String).str.join("、").alias("_lines"), pl.len().alias("_n"),
    ).select(
        pl.col("dept").fill_null("反馈"), pl.col("kind").fill_null("feedback"), "file", line=pl.lit(None, pl.Int64),
        record_id=pl.lit(None, pl.String), field=pl.lit("township"), value="_town",
        reason=pl.format("本乡镇 {} 条预警的答复见于{}的反馈文件（第{}行，乡（镇）填的是本乡镇），已按本乡镇的答复采纳；如非本乡镇核实，"
                         "请核对后在本乡镇的文件中重报 {} answers to this township's warnings were found in {}'s file "
                         "(lines {}, 乡（镇） naming this township) and taken as this township's: if it did not give "
                         "them, check and send its own", "_n", "_file_town", "_lines", "_n", "_file_town", "_lines"),
        township="_town",
    ).cast(schema)


def without_answers(unanswered: pl.DataFrame, others: Sequence[pl.DataFrame | None]) -> pl.DataFrame:
    """The returned files (a workbook with all its sheets) every row of which is unanswered
    (`unanswered`: `check_feedback`'s; `others`: the delivery's rows taken, refused, taken before,
    set aside or holding a value not read, by `file`) -> QUALITY_COLUMNS rows, one per file: the
    list sent back as it came (the unfilled copy sent instead of the filled one), which the
    township believes it answered. Told back to it (`take_returns`) and named on the console."""
    base = without_sheet(pl.col("file"))
    some = [df.select(_base=base) for df in others if df is not None and df.height and "file" in df.columns]
    blank = unanswered.select("file", "dept", _base=base)
    if some:
        blank = blank.join(pl.concat(some).unique(), on="_base", how="anti")
    return blank.group_by("_base", maintain_order=True).agg(pl.col("dept").first(), count=pl.len()).select(
        category=pl.lit(Finding.NO_ANSWERS), dept=pl.col("dept").fill_null("反馈"), file="_base",
        detail=pl.format("文件中 {} 行的核实结果等反馈列均为空、无答复行：是否误传了未填写的清单？请填写后重报 none of its {} rows "
                         "holds an answer (the feedback columns are empty): the list sent back unfilled? fill it in and "
                         "send it again", "count", "count"),
        count=pl.col("count").cast(pl.Int64),
    ).cast(QUALITY_COLUMNS)


def year_slips(returned: pl.DataFrame, accepted: pl.DataFrame) -> pl.DataFrame:
    """The returned rows whose 核实日期 `check_feedback` read a year earlier than written (Excel's
    year for a date typed without one), a year later (last year's year written early in a new
    one) or on the 10th, 20th or 30th (`11.1`: Excel's number for a typed `11.10`, its column
    `verify_date_tens`) -> QUALITY_COLUMNS rows for the county, one per file and way, naming its
    lines and dates as written and as read."""
    tens = pl.col(TENS_OF_DATE) if TENS_OF_DATE in returned.columns else pl.lit(None, pl.Date)
    x = returned.select("file", "line", _written="verify_date", _tens=tens).join(
        accepted.select("dept", "file", "line", "verify_date"), on=["file", "line"]
    ).filter(pl.col("_written") != pl.col("verify_date")).sort("file", "line").with_columns(
        _way=pl.when(pl.col("verify_date") == pl.col("_tens")).then(pl.lit("tens"))
        .when(pl.col("verify_date") > pl.col("_written")).then(pl.lit("later")).otherwise(pl.lit("earlier")))
    written = (pl.when(pl.col("_way") == "tens")  # (as Excel kept it: 11.1)
               .then(pl.format("{}.{}", pl.col("verify_date").dt.month(), pl.col("verify_date").dt.day() // 10))
               .otherwise(pl.col("_written").dt.to_string("%Y-%m-%d")))
    return x.group_by("dept", "file", "_way", maintain_order=True).agg(
        pl.format("第{}行 {} → {}", "line", written, pl.col("verify_date").dt.to_string("%Y-%m-%d")).str.join("、").alias("_w"),
        count=pl.len().cast(pl.Int64),
    ).select(
        category=pl.lit(Finding.FILE_NOTE), dept=pl.col("dept").fill_null("反馈"), file="file",
        detail=pl.when(pl.col("_way") == "tens").then(pl.format(
            "核实日期按整十日读取（Excel 把 11.10 这样写的日期存成了数字 11.1，读作11月1日则早于清单下发日期）"
            " verify dates read as the 10th, 20th or 30th (Excel stores 11.10 typed so as the number 11.1, "
            "which read as the 1st is before the issue date)：{}", "_w")).when(pl.col("_way") == "later").then(pl.format(
            "核实日期早于清单下发日期，按下一年读取（新年初仍写了上一年的年份）"
            " verify dates before the issue date read a year later (last year's year written early in a new one)：{}",
            "_w")).otherwise(pl.format(
                "核实日期晚于本期清单下发日期，按上一年读取（Excel 为未写年份的日期补上了录入时的年份）"
                " verify dates after this period's issue date read a year earlier (Excel's year for a "
                "date typed without one)：{}", "_w")),
        count="count",
    ).cast(QUALITY_COLUMNS)


def _list_of(file: pl.Expr, later_marks: Sequence[str]) -> pl.Expr:
    """The list a returned file answers, told by its name: without folder, extension, sheet, a
    saved-again copy's mark and `later_marks` (大营镇_2026-10_预警清单_更正.xlsx and
    大营镇_2026-10_预警清单.csv -> 大营镇202610预警清单), for telling a named correction."""
    name = without_sheet(original_file(file)).str.replace(r"^.*/", "").str.replace(r"\.[^.]*$", "")
    return name.str.to_lowercase().str.replace_all(later_words(later_marks), "").str.replace_all(r"[\s_\-—（）()\[\]【】版]", "")


def disagreements(accepted: pl.DataFrame, later_marks: Sequence[str] = ()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`check_feedback`'s accepted rows of one delivery -> the answers a file put in later
    contradicts, as (overruled, findings).

    Per warning the answer that counts is the latest (`rank`) carrying a 核实结果 (the one that
    decides its status), else the latest. An answer put in before it, in another file, that
    gives another 核实结果 or 是否纳入监测 (both filled) is overruled: it stays in the history
    but does not count; so is an earlier line of the same file answering otherwise (the clerk
    filled the warning in twice: the township is asked which holds). A file's saved-again copy
    (表(1).csv, `original_file`) is the same file corrected: not a disagreement.
    overruled: REJECTED_SCHEMA columns + `township` (null: `returned_to_township` tells the
    file's township), one row per answer overruled, `reason` naming the file and line that
    counts and its answer. findings: QUALITY_COLUMNS rows for the county, one per file
    overruled and file that counts, the warnings with both lines and answers.
    A file named a correction (one of `later_marks`, `[inbox] later_marks`: 大营镇_2026-10_预警清单_更正.xlsx)
    of the same list as the earlier file (`_list_of`) corrects it on purpose: not a disagreement either."""
    a = accepted.with_columns(_base=original_file(pl.col("file")),
                              _says=pl.concat_str("result", "include_monitoring", separator="/", ignore_nulls=True))
    used = a.sort(pl.col("result").is_null(), "rank", maintain_order=True).unique("warning_id", keep="first").select(
        "warning_id", _file="file", _line="line", _rank="rank", _result="result", _inc="include_monitoring",
        _ubase="_base", _usays="_says")
    differs = {f: pl.col(f).is_not_null() & pl.col(u).is_not_null() & (pl.col(f) != pl.col(u))
               for f, u in (("result", "_result"), ("include_monitoring", "_inc"))}
    same_file = pl.col("file") == pl.col("_file")
    named_fix = (without_sheet(pl.col("_file")).str.replace(r"^.*/", "").str.to_lowercase()
                 .str.contains(later_words(later_marks)) & (_list_of(pl.col("file"), later_marks) == _list_of(pl.col("_file"), later_marks)))
    x = a.join(used, on="warning_id").filter(
        pl.col("rank") > pl.col("_rank"), (pl.col("_base") != pl.col("_ubase")) | same_file, same_file | ~named_fix,
        differs["result"] | differs["include_monitoring"],
    ).sort("file", "line", maintain_order=True)
    field = pl.when(differs["result"]).then(pl.lit("result")).otherwise(pl.lit("include_monitoring"))
    overruled = x.select(
        pl.col("dept").fill_null("反馈"), pl.col("kind").fill_null("feedback"), "file", "line",
        record_id="warning_id", field=field,
        value=pl.when(differs["result"]).then("result").otherwise("include_monitoring"),
        reason=pl.when(same_file).then(pl.format(
            "本文件第{}行对同一预警另有答复（{}），以较后的该行为准，本行未采用，请核对 a later line of this file ({}) "
            "answers otherwise: that line counts, not this one", "_line", "_usays", "_line")).otherwise(pl.format(
            "与后放入的 {} 第{}行（{}）答复不一致，以该行为准，本行未采用 another file put in later "
            "answers otherwise ({}:{}): that answer counts, not this one", "_file", "_line", "_usays", "_file", "_line")),
        township=pl.lit(None, pl.String),
    ).cast({**REJECTED_SCHEMA, "township": pl.String})
    findings = x.group_by("dept", "file", "_file", maintain_order=True).agg(
        pl.format("{}（第{}行 {} → 第{}行 {}）", "warning_id", "line", "_says", "_line", "_usays").str.join("、").alias("_w"),
        count=pl.len().cast(pl.Int64),
    ).select(
        category=pl.lit(Finding.DISAGREE), dept=pl.col("dept").fill_null("反馈"), file="file",
        detail=pl.when(same_file).then(pl.format(
            "本文件对同一预警填了两行不同答复，以较后一行为准 answers one warning on two lines, differently: "
            "the later line counts：{}", "_w")).otherwise(pl.format(
            "与后放入的 {} 对同一预警答复不一致，以后者为准 answers otherwise than {}, put in later: "
            "that file's answers count：{}", "_file", "_file", "_w")),
        count="count",
    ).cast(QUALITY_COLUMNS)
    return overruled, findings


# --- 2. status of every warning ---------------------------------------------------------------

def _answers(answers: pl.DataFrame | None) -> pl.DataFrame:
    """`answers` typed, in the order received: by received_period, then as put in (`rank`
    descending: rank 1 is the latest of its delivery; without one, file name), then line."""
    schema = {**_ANSWER_SCHEMA, "rank": pl.Int64, "received_period": pl.String}
    if answers is None or answers.is_empty():
        return pl.DataFrame(schema=schema)
    return answers.select(
        [pl.col(c).cast(t) if c in answers.columns else pl.lit(None, t).alias(c) for c, t in schema.items()]
    ).sort("received_period", pl.col("rank"), delivery_order(pl.col("file")), "line",
           descending=[False, True, False, False], nulls_last=False, maintain_order=True)


def _deciding(a: pl.DataFrame) -> pl.DataFrame:
    """Per warning the answer that decides: the latest one carrying a 核实结果. A later answer
    without one (a note, a verifier) does not undo a verification; it stays in the history.
    Its `rules`: those it and the answers before it giving the same 核实结果 (since the last that
    gave another) verified together: a copy of the old list's row answered after the row a
    re-run sent again does not take back what the answer to that row verified (null: one of
    them stored before answers kept their rules, which verified its warning)."""
    # (joins and a frame-level explode, not windows and lists in the aggregation: a county's
    # 250,000 answers took ~2 s, ~2.5x as long, at each of the run's several calls)
    r = a.select("warning_id", "result", "verify_date", "rules").with_row_index("_order").filter(
        pl.col("result").is_not_null())
    r = r.join(r.group_by("warning_id").agg(_last=pl.col("result").last()), on="warning_id", how="left",
               maintain_order="left")
    # those after the last answer that gave another 核实结果 than the latest
    cut = r.filter(pl.col("result") != pl.col("_last")).group_by("warning_id").agg(_cut=pl.col("_order").max())
    agree = r.join(cut, on="warning_id", how="left", maintain_order="left").filter(
        pl.col("_cut").is_null() | (pl.col("_order") > pl.col("_cut")))
    dec = agree.group_by("warning_id").agg(pl.col("result", "verify_date", "_order").last(),
                                           _known=pl.col("rules").is_not_null().all())
    rules = (agree.select("warning_id", _r=pl.col("rules").str.split("、"))
             .explode("_r", keep_nulls=False, empty_as_null=False).unique()
             .group_by("warning_id").agg(pl.col("_r").sort().str.join("、")))
    return dec.join(rules, on="warning_id", how="left").select(
        "warning_id", "result", "verify_date", rules=pl.when("_known").then(pl.col("_r")), _order="_order")


def reissued(issued: pl.DataFrame, answers: pl.DataFrame | None) -> pl.DataFrame:
    """The warnings whose deciding answer (`_deciding`) verified other rules than those on them
    now: a re-run of their period changed their 预警规则 under the same 预警编号 (M1 and M2 share
    the 因病 row) after the township answered, so a rule on them was never verified. They are
    open again (`warning_status`); what the answer found stands for the rules it verified.
    Not those taken back (`withdrawn`): no rule of theirs is to verify. Columns: warning_id, rules
    (now), answered_rules, result, verify_date (the earlier answer's)."""
    return _reissued(_issued(issued), _deciding(_answers(answers)))


def _reissued(iss: pl.DataFrame, dec: pl.DataFrame) -> pl.DataFrame:
    """`reissued` of the warnings as `_issued` reads them and their deciding answers (`_deciding`)."""
    return iss.filter(~pl.col("withdrawn").fill_null(False)).join(dec, on="warning_id").rename(
        {"rules": "_now", "rules_right": "answered_rules"}).filter(_uncovered(pl.col("_now"), pl.col("answered_rules"))).select(
        "warning_id", rules="_now", answered_rules="answered_rules", result="result", verify_date="verify_date")


def warning_status(issued: pl.DataFrame, answers: pl.DataFrame | None, as_of: date) -> pl.DataFrame:
    """Every warning ever issued -> its state on `as_of` (`schemas.outputs.WarningStatus`).

    属实 -> verified_true, 不属实 -> verified_false (verified_on = that answer's 核实日期, may be
    null); no 核实结果 yet: a warning a re-run took back (`withdrawn` in `issued`) -> verified_false
    with a null result (closed by the county: no one is to verify it; the SPEC's four states),
    else as_of later than 核实截止日期 -> overdue with days_overdue = calendar days past the
    deadline, else open with 0. `withdrawn` says which were taken back: what a township found on
    its visit stands (a 属实 stays verified_true and dispatched). See `_deciding` for which
    answer counts. An answer verifies the rules its row showed (`rules`): one a re-run's rules
    on the warning now go beyond (`reissued`) does not verify it; it is open or overdue as if
    unanswered (by the 核实截止日期 its row was sent again with, `first_sent`), `reopened_for`
    naming the rules it is open for (null for every other warning)."""
    iss = _issued(issued)
    dec = _deciding(_answers(answers))
    again = _reissued(iss, dec)
    dec = dec.join(again.select("warning_id"), on="warning_id", how="anti")
    res = pl.col("result")
    s = iss.join(dec, on="warning_id", how="left").join(again.select("warning_id", reopened_for=_not_verified(
        pl.col("rules"), pl.col("answered_rules"))), on="warning_id", how="left").with_columns(
        status=pl.when(res == "属实").then(pl.lit("verified_true"))
        .when((res == "不属实") | pl.col("withdrawn")).then(pl.lit("verified_false"))
        .when(pl.col("deadline").is_not_null() & (pl.lit(as_of) > pl.col("deadline"))).then(pl.lit("overdue"))
        .otherwise(pl.lit("open")),
        verified_on=pl.when(res.is_not_null()).then("verify_date"),
    ).with_columns(
        days_overdue=pl.when(pl.col("status") == "overdue")
        .then((pl.lit(as_of) - pl.col("deadline")).dt.total_days())
        .otherwise(0).cast(pl.Int64),
    )
    return WarningStatus.validate(s.select(_STATUS_COLUMNS).sort("warning_id"))


def answer_history(answers: pl.DataFrame | None, issued: pl.DataFrame | None = None) -> pl.DataFrame:
    """Every answer ever received, per warning in the order received: answer_no (1 = first),
    received_period, file, line, township, the five answer columns, `rules` (the rules the answered
    row showed, those it verified: a re-run may have changed the warning's since; null for an
    answer stored before answers kept them), `decides` (the answer that sets the status, as
    `warning_status` takes it), `reopened_for` and `latest` (the last answer received).
    Given `issued` (the warnings, their rules now), an answer that verified only some of the rules
    on its warning now (`reissued`: a re-run added one since) does not decide it: the warning is
    open again, and `reopened_for` names the rules it did not verify (null on every other row),
    as in `warning_status`; its result stands for its rules. Without `issued` the rules now are
    not known: the latest answer with a 核实结果 decides.
    An output for analysts (answer_history.parquet, 核实台账.csv), without a full ID number: 核实人,
    备注 and the file's name are the township's own words, masked as the lists mask them
    (`mask_ids`); the warehouse's `feedback_answers` keep them as written."""
    a = _answers(answers).with_row_index("_order")
    dec = _deciding(_answers(answers))
    again = (_reissued(_issued(issued), dec).select("warning_id", reopened_for=_not_verified(pl.col("rules"), pl.col("answered_rules")))
             if issued is not None else pl.DataFrame(schema={"warning_id": pl.String, "reopened_for": pl.String}))
    dec = dec.join(again, on="warning_id", how="left").select(
        "_order", decides=pl.col("reopened_for").is_null(), reopened_for="reopened_for")
    return AnswerHistory.validate(
        a.join(dec, on="_order", how="left")
        .with_columns(
            answer_no=(pl.int_range(pl.len()).over("warning_id") + 1).cast(pl.Int64),
            decides=pl.col("decides").fill_null(False),
            latest=pl.col("_order") == pl.col("_order").max().over("warning_id"),
        )
        .sort("warning_id", "answer_no")
        .with_columns(mask_ids(pl.col(c)) for c in ("file", "verifier", "note"))
        .select("warning_id", "answer_no", "received_period", "file", "line", "township", *ANSWER_FIELDS, "rules",
                "decides", "reopened_for", "latest")
    )


# 核实台账.csv's headers, of `answer_history`'s columns (`latest` is the last row of its warning)
LEDGER_HEADERS = {
    "warning_id": "预警编号", "answer_no": "第几次反馈", "received_period": "收到期次", "file": "反馈文件", "line": "行号",
    "township": "乡（镇）", "result": "核实结果", "include_monitoring": "是否纳入监测", "verifier": "核实人",
    "verify_date": "核实日期", "note": "备注", "rules": "核实的预警规则", "decides": "是否决定状态",
    "reopened_for": "重新下发待核实的规则",
}


def answer_ledger(history: pl.DataFrame) -> pl.DataFrame:
    """`answer_history` -> the county's 核实台账 (Article 16's ledger: what each township answered,
    when, in which file), Chinese headers (`LEDGER_HEADERS`), by 预警编号 then order received,
    是否决定状态 是/否. A county file, still without a full ID number: 预警编号 carry none (a
    household numbered by an ID gets a keyed one), and `answer_history` masked 核实人, 备注 and the
    file's name. No answer yet: headers only."""
    yes_no = lambda c: pl.when(pl.col(c)).then(pl.lit("是")).otherwise(pl.lit("否")).alias(c)  # noqa: E731
    return history.sort("warning_id", "answer_no").select(
        *[yes_no(c) if c == "decides" else pl.col(c) for c in LEDGER_HEADERS]).rename(LEDGER_HEADERS)


# --- 3. overdue per township ------------------------------------------------------------------

def _taken_back(status: pl.DataFrame) -> pl.Expr:
    """The warnings (WarningStatus rows) a re-run took back that no township answered."""
    return ((pl.col("withdrawn") if "withdrawn" in status.columns else pl.lit(False)).fill_null(False)
            & pl.col("result").is_null())


def overdue_by_township(status: pl.DataFrame, ids: pl.Series | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """WarningStatus -> (summary, overdue list), Chinese headers, for the county.

    summary: one row per 乡（镇） (unplaced leads under （未落位线索）) and a 合计 row: 预警总数,
    待核实, 逾期未核实, 重新下发未核实, 已核实, 其中属实, 其中不属实, 逾期率 (= 逾期未核实 / 预警总数,
    4 decimals), 最长逾期天数. 待核实 + 逾期未核实 + 已核实 = 预警总数. 重新下发未核实: of 待核实 and
    逾期未核实, the warnings the township answered whose answer verified only some of the rules
    on them now (`reopened_for`: a re-run added a rule after it answered): open again as its list
    shows them, not 已核实, though the township answered (a 属实 among them stays dispatched).
    overdue list: 乡（镇）, 预警编号, 户编号, 逾期天数, longest overdue first; passed on to
    the townships, so a 户编号 that is an ID number is masked as their lists mask it (`as_sent`, `ids`).
    Warnings a re-run took back that no township answered were never to verify: not counted."""
    s = status.filter(~_taken_back(status)).with_columns(pl.col("township").fill_null(UNPLACED))
    st = pl.col("status")
    reopened = pl.col("reopened_for").is_not_null() if "reopened_for" in status.columns else pl.lit(False)
    counts = [
        pl.len().cast(pl.Int64).alias("预警总数"),
        (st == "open").sum().cast(pl.Int64).alias("待核实"),
        (st == "overdue").sum().cast(pl.Int64).alias("逾期未核实"),
        (st.is_in(["open", "overdue"]) & reopened).sum().cast(pl.Int64).alias("重新下发未核实"),
        st.is_in(["verified_true", "verified_false"]).sum().cast(pl.Int64).alias("已核实"),
        (st == "verified_true").sum().cast(pl.Int64).alias("其中属实"),
        (st == "verified_false").sum().cast(pl.Int64).alias("其中不属实"),
        pl.col("days_overdue").max().fill_null(0).cast(pl.Int64).alias("最长逾期天数"),
    ]
    total_n = pl.col("预警总数")
    rate = pl.when(total_n > 0).then((pl.col("逾期未核实") / total_n).round(4)).otherwise(0.0)
    per = s.group_by("township").agg(counts).sort("township").rename({"township": "乡（镇）"})
    total = s.select(pl.lit("合计").alias("乡（镇）"), *counts)
    summary = pl.concat([per, total]).with_columns(rate.alias("逾期率")).select(
        "乡（镇）", "预警总数", "待核实", "逾期未核实", "重新下发未核实", "已核实", "其中属实", "其中不属实", "逾期率",
        "最长逾期天数")
    overdue = (
        s.filter(st == "overdue")
        .sort(["township", "days_overdue", "warning_id"], descending=[False, True, False])
        .select(pl.col("township").alias("乡（镇）"), pl.col("warning_id").alias("预警编号"),
                as_written(pl.col("household_id")).alias("户编号"), pl.col("days_overdue").alias("逾期天数"))
    )
    return summary, mask_full_ids(overdue, ["户编号"], ids)


# --- 4. carry-over into the next township file ------------------------------------------------

PARTIAL_NOTE = "上次反馈未填核实结果，请补填"  # 备注 of a carried row the township answered without one
LEFT_ROSTER = "该户已不在本期户籍底册"  # 状态 of a carried row whose household is on no roster now
SPLIT_OFF = "已分户至"  # in 状态 of a carried row that went with its persons to the household they were split off into


def _went_with_persons(state: pl.Expr) -> pl.Expr:
    """A carried row's 状态 -> whether it went with its persons to the household they were split
    off into elsewhere (`<names> 已分户至 <户编号>，由…迁入`), not with its household, nor stayed
    saying where some went (`…，现住…`)."""
    return state.str.contains(re.escape(SPLIT_OFF) + r" [^，（）]+，由").fill_null(False)


def _split_off(rows: pl.DataFrame, roster: pl.DataFrame, persons: pl.DataFrame) -> pl.DataFrame:
    """Carried rows + `persons` (warning_id, person_id: whom each warning about persons alone
    names, as this period's roster knows them) -> 预警编号, `_to`: the household they all live in
    now when none of them is in the warning's household any more and they share one (a member
    split off), `_names`: their names, `_where`: for the others who left while someone stayed,
    `<name> 已分户至 <户编号>，现住<乡镇><村><组>` (joined by '；')."""
    p = (persons.join(rows.select(warning_id="预警编号", _hh="户编号").unique(), on="warning_id")
         .join(roster.select("person_id", "name", _now="household_id"), on="person_id"))  # (on the roster now)
    hh = households(roster.join(p.select(household_id="_now").unique(), on="household_id", how="semi"))
    p = (p.join(hh.select("household_id", "township", "village", "group"), left_on="_now", right_on="household_id")
         .with_columns(_left=pl.col("_now").ne_missing(pl.col("_hh"))).sort("warning_id", "person_id"))
    place = pl.concat_str("township", "village", "group", ignore_nulls=True)
    per = p.group_by("warning_id", maintain_order=True).agg(
        _all=pl.col("_left").all(),
        _tos=pl.col("_now").filter("_left").unique(),
        _names=pl.col("name").filter("_left").str.join("、"),
        _where=pl.format(f"{{}} {SPLIT_OFF} {{}}，现住{{}}", "name", as_written(pl.col("_now")), place).filter("_left").str.join("；"),
    )
    one = pl.col("_all") & (pl.col("_tos").list.len() == 1)
    return per.select(
        预警编号="warning_id", _to=pl.when(one).then(pl.col("_tos").list.first()),
        _names=pl.when(one).then("_names"),
        _where=pl.when(~one & (pl.col("_tos").list.len() > 0)).then("_where"),
    )


def _follow_households(rows: pl.DataFrame, roster: pl.DataFrame, grid: pl.DataFrame | None,
                       persons: pl.DataFrame | None = None) -> pl.DataFrame:
    """Carried rows -> the same rows where this period's roster places their household: one
    whose 乡（镇）, 行政村 or 村民小组 changed takes the new ones and its grid worker now, and its
    状态 says where it came from; one that did not move takes its grid worker now when this
    period's grid lists it (a worker replaced is not sent the visit); one whose household left
    the roster stays as written, and its 状态 says so. Leads are left as written.
    A warning about persons alone (`persons`, see `_split_off`) none of whom lives in its
    household now, all split off into one new household, goes where they live: that household's
    place and grid worker, its 户编号 unchanged (the household it was raised under), 状态 saying
    `（<names> 已分户至 <户编号>，由<乡镇><村><组>迁入，原下发日期…）` (or without the 由… when the place is
    the same); one some of whose persons left while others stayed stays, 状态 saying where the
    others live now."""
    x = rows.with_columns(_to=pl.lit(None, pl.String), _names=pl.lit(None, pl.String), _where=pl.lit(None, pl.String))
    if persons is not None and persons.height:
        x = x.drop("_to", "_names", "_where").join(_split_off(rows, roster, persons), on="预警编号", how="left")
    x = x.with_columns(_target=pl.coalesce("_to", "户编号"))
    mine = roster.join(x.select(household_id="_target").drop_nulls().unique(), on="household_id", how="semi")
    now = households(mine).select("household_id", _t="township", _v="village", _g="group").join(
        grid_workers(grid).rename({"grid_worker": "_w", "grid_worker_phone": "_p"}).with_columns(_in=pl.lit(True)),
        on="household_id", how="left")
    x = x.join(now, left_on="_target", right_on="household_id", how="left")
    on_roster = pl.col("_t").is_not_null()
    moved = on_roster & pl.any_horizontal(
        pl.col(a).ne_missing(pl.col(b)) for a, b in (("乡（镇）", "_t"), ("行政村", "_v"), ("村民小组", "_g")))
    was = pl.concat_str("乡（镇）", "行政村", "村民小组", ignore_nulls=True)
    since = pl.concat_str(pl.lit("，原下发日期"), pl.col("下发日期").fill_null(""))
    split = pl.concat_str(pl.col("_names"), pl.lit(f" {SPLIT_OFF} "), as_written(pl.col("_to")))
    came_from = (pl.when(pl.col("_to").is_not_null() & moved)
                 .then(pl.concat_str(pl.lit("（"), split, pl.lit("，由"), was, pl.lit("迁入"), since, pl.lit("）")))
                 .when(pl.col("_to").is_not_null()).then(pl.concat_str(pl.lit("（"), split, pl.lit("）")))
                 .otherwise(pl.concat_str(pl.lit("（由"), was, pl.lit("迁入"), since, pl.lit("）"))))
    place = {"乡（镇）": "_t", "township": "_t", "行政村": "_v", "村民小组": "_g"}
    worker = moved | (on_roster & pl.col("_in").fill_null(False))
    state = (pl.when(moved | pl.col("_to").is_not_null()).then(pl.col("状态") + came_from)
             .when(pl.col("户编号").is_not_null() & ~on_roster).then(pl.col("状态") + f"（{LEFT_ROSTER}）")
             .otherwise("状态"))
    return x.with_columns(
        pl.when(pl.col("_where").is_not_null()).then(pl.concat_str(state, pl.lit("（"), "_where", pl.lit("）")))
        .otherwise(state).alias("状态"),
        *[pl.when(moved).then(new).otherwise(old).alias(old) for old, new in place.items()],
        *[pl.when(worker).then(new).otherwise(old).alias(old) for old, new in (("网格员", "_w"), ("网格员电话", "_p"))],
    ).drop(*now.columns[1:], "_to", "_names", "_where", "_target")


def carry_over(status: pl.DataFrame, earlier_rows: pl.DataFrame, before_period: str | None = None,
               answers: pl.DataFrame | None = None, roster: pl.DataFrame | None = None,
               grid: pl.DataFrame | None = None, persons: pl.DataFrame | None = None) -> pl.DataFrame:
    """Still-open and overdue warnings -> their township rows as last written (latest period in
    `earlier_rows`, so a warning carried twice shows as the township last saw it), feedback
    columns blank, with two columns put in front: `状态` (逾期未核实 / 待核实) and `逾期天数`.
    Given this period's `roster` (RosterPerson rows) and `grid` (GridHousehold rows, or None), a
    warning follows its household: one the roster now places in another township (or village,
    or group) goes to that township's list with its place and grid worker now (one that did not
    move takes its grid worker now, when the grid lists it), 状态 saying
    `（由<乡镇><村><组>迁入，原下发日期…）`; 下发日期, 核实截止日期 and 逾期天数 stay the first
    ones. One whose household is on the roster no more stays where it was, 状态 saying so.
    `persons` (warning_id, person_id, `pipelines.rules.persons_followed`): a warning about
    persons alone goes where they live now when all of them were split off into one new household
    (and says where those who left live when some stayed): one open warning per person, listed
    where a grid worker finds them (`_follow_households`).
    A warning whose latest answer (`answers`, every one received) came back without 核实结果
    shows that answer (是否纳入监测, 核实人, 核实日期) and, in 备注, `PARTIAL_NOTE` before what
    the township wrote: it is told its answer did not count, and only the result is missing.
    Columns: 状态, 逾期天数, *TOWNSHIP_COLUMNS, township. Sorted per township: overdue first (most
    days first), then open, then by 下发日期, 行政村, 村民小组, 户编号, 预警编号. Rows without a
    township (unplaced leads) are not carried. `before_period` keeps only rows of earlier periods."""
    rows = earlier_rows
    if before_period is not None:
        rows = rows.filter(pl.col("period") < before_period)
    rows = (
        rows.filter(pl.col("township").is_not_null(), ~_moved_out(rows))  # (listed elsewhere, not carried from there)
        .sort("period", maintain_order=True)
        .unique("预警编号", keep="last", maintain_order=True)
    )
    pending = status.filter(pl.col("status").is_in(["open", "overdue"])).select("warning_id", "status", "days_overdue")
    out = rows.join(pending, left_on="预警编号", right_on="warning_id", how="inner")
    out = out.with_columns(
        pl.when(pl.col("status") == "overdue").then(pl.lit(STATUS_OVERDUE)).otherwise(pl.lit(STATUS_OPEN)).alias("状态"),
        pl.col("days_overdue").cast(pl.Int64).alias("逾期天数"),
        *[pl.lit(None, pl.String).alias(c) for c in FEEDBACK_COLUMNS],
    )
    if roster is not None:  # (a 户编号 the roster re-saved in Excel spells otherwise, 1023 for 0001023: as it does now)
        out = _follow_households(respelled(out, "户编号", roster.select("household_id")), roster, grid, persons)
    last = _answers(answers).group_by("warning_id", maintain_order=True).last().filter(pl.col("result").is_null())
    if last.height:
        # (the township's own words, shown back to it: an ID number typed in them is masked like
        # any other, SPEC: no full ID number in a township file)
        out = out.join(last.select("warning_id", _inc="include_monitoring", _who=mask_ids(pl.col("verifier")),
                                   _when="verify_date", _note=mask_ids(pl.col("note"))),
                       left_on="预警编号", right_on="warning_id", how="left")
        told = pl.any_horizontal(pl.col(c).is_not_null() for c in ("_inc", "_who", "_when", "_note"))
        out = out.with_columns(
            是否纳入监测=pl.when(told).then("_inc"), 核实人=pl.when(told).then("_who"),
            核实日期=pl.when(told).then(pl.col("_when").dt.to_string("%Y-%m-%d")),
            备注=pl.when(told).then(pl.concat_str([pl.lit(PARTIAL_NOTE), pl.col("_note")], separator="：", ignore_nulls=True)),
        ).drop("_inc", "_who", "_when", "_note")
    return out.sort(
        ["township", "逾期天数", "下发日期", "行政村", "村民小组", "户编号", "预警编号"],
        descending=[False, True, False, False, False, False, False], nulls_last=True,
    ).select(*LIST_STATE_COLUMNS, *[pl.col(c).cast(pl.String) for c in [*TOWNSHIP_COLUMNS, "township"]])


def with_carry_over(new_rows: pl.DataFrame, carried: pl.DataFrame) -> pl.DataFrame:
    """This period's township rows (`township_rows()` output) + `carry_over()` rows -> one frame,
    per township the carried rows FIRST, then the new ones (状态 = 新下发, 逾期天数 = 0).
    Townships are in name order (null = unplaced leads last); split it with
    `partition_by("township", maintain_order=True)`."""
    new = new_rows.select(
        pl.lit(STATUS_NEW).alias("状态"), pl.lit(0, pl.Int64).alias("逾期天数"),
        *[pl.col(c).cast(pl.String) for c in TOWNSHIP_COLUMNS], pl.col("township").cast(pl.String),
    )
    both = pl.concat([carried.with_columns(_k=pl.lit(0)), new.with_columns(_k=pl.lit(1))], how="vertical_relaxed")
    return both.with_row_index("_i").sort("township", "_k", "_i", nulls_last=True).drop("_i", "_k")


def list_rows(new: pl.DataFrame, before: pl.DataFrame | None, earlier_rows: pl.DataFrame | None,
              status_earlier: pl.DataFrame | None, answers: pl.DataFrame | None, answers_later: pl.DataFrame | None,
              roster: pl.DataFrame, grid: pl.DataFrame | None, persons: pl.DataFrame, period: str, issue_date: date,
              ) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """The period's township rows -> (rows, moved, status, withdrawn, again, dropped).

    `new`: this period's warnings' rows (`first_sent`); `before`: the rows the period's last run
    sent (a re-run; else None); `earlier_rows`, `status_earlier`: the rows of the periods before
    and their warnings' status (None before any); `answers`: every answer taken, `answers_later`
    those later periods took (a re-run); `persons`: the warned persons followed into the
    households they were split off into (`rules.persons_followed`).
    rows: the still-open earlier warnings first (`carry_over`, each in the township its household
    lives in now), then this period's (those a re-run gave a rule the answer did not verify say
    so, `with_reissued`), then those a re-run moved to another township's list (迁出,
    `moved_in_rerun`) and those it takes back (`withdrawn_rows`: withdrawn); moved: the finding of
    the warnings that moved (`moved_warnings`); status: every warning ever issued, as of
    `issue_date` (`warning_status`, of `answers`: a later period's answer is that period's);
    again: the warnings an answer verified only some of the rules of (`reissued`, of every
    answer: the lists go out now, and say what later periods' answers verified), which the rows'
    notes say and the county's report names (`rerun_changes`); dropped: the rows of this period's
    warnings a re-run took a rule off before any answer (`rules_dropped`), which their notes say
    and the report names too.
    What `status` reopened is `reissued(issued, answers)`: what the period's 派单 reads
    (`dispatch_changes`), as it compares that status."""
    carried = (carry_over(status_earlier, earlier_rows, before_period=period, answers=answers, roster=roster, grid=grid,
                          persons=persons)
               if earlier_rows is not None and status_earlier is not None else None)
    rows = with_carry_over(new, carried if carried is not None else new.head(0).select(
        pl.lit(None, pl.Utf8).alias("状态"), pl.lit(None, pl.Int64).alias("逾期天数"), *new.columns))
    # (a re-run whose corrected roster moved a household: the township that had its warning is told)
    rows, moved_out = moved_in_rerun(rows, before, answers_later)
    moved = moved_warnings(carried, earlier_rows, moved_out, rows)
    withdrawn = withdrawn_rows(before, rows, status_earlier)
    rows = pl.concat([rows, moved_out, withdrawn])
    issued = issued_from_rows(together([earlier_rows, rows.with_columns(period=pl.lit(period))]))
    # (one a re-run gave a rule its township's answer did not verify: its row says so, later answers too;
    # so does one it gave a rule before any answer; the notes go on listed rows only, which are
    # neither 撤回 nor 迁出: `issued` stands)
    every = together([answers, answers_later])
    again = reissued(issued, every)
    # (a carried row an earlier period's re-run sent again for a rule it added, or took a rule off: as
    # its row there says)
    noted, off = _noted_before(earlier_rows, period) if earlier_rows is not None else (None, None)
    # (what the re-run changed of each row's rules, found once for the rules it added and those it took
    # off: `_gains` reads every answer ever taken)
    gains = _gains(new, before, every) if before is not None and before.height else None
    dropped = _dropped(new, gains)
    rows = with_reissued(rows, again, together([_added(new, gains), noted]), together([dropped, off]))
    status = warning_status(issued, answers, issue_date)
    return rows, moved, status, withdrawn, again, dropped


REISSUED_NOTE = "（重新下发：重新运行后预警规则为{}，此前反馈的核实结果“{}”{}只核实了{}，请就{}核实）"
# ... of a row a re-run gave a rule before any answer: sent again, re-dated (`rules_added`); the
# date and deadline it was first sent with, for a re-run that takes the rule back (`first_sent`)
ADDED_NOTE = "（重新下发：重新运行后预警规则增加{}，请一并核实；原下发日期{}，原核实截止日期{}）"
_REISSUE_MARK = "（重新下发："  # (how both begin)
# (read back from the rows a run wrote; one written before the note said the dates: none)
_ADDED = (re.escape(ADDED_NOTE.split("；")[0]).replace(r"\{\}", r"([^，）；]+)")
          + r"(?:；原下发日期(\d{4}-\d{2}-\d{2})，原核实截止日期(\d{4}-\d{2}-\d{2}))?）")
# ... of a row a re-run took a rule off before any answer (`rules_dropped`): its dates stay, but the
# grid worker about to visit for that rule is told, and what to verify now
DROPPED_NOTE = "（重新运行后不再预警{}，请就{}核实）"
_DROPPED_MARK = DROPPED_NOTE.split("{}")[0]
_DROPPED = re.escape(DROPPED_NOTE).replace(r"\{\}", r"([^，）；]+)")


def _latest_listed(earlier_rows: pl.DataFrame, period: str | None) -> pl.DataFrame:
    """The rows of the periods before `period` (None: all of them) -> each warning's latest row
    there that lists it (not 撤回 nor 迁出: the one `carry_over` carries)."""
    rows = earlier_rows if period is None else earlier_rows.filter(pl.col("period") < period)
    return _listed(rows).sort("period", maintain_order=True).unique("预警编号", keep="last", maintain_order=True)


def _noted_before(earlier_rows: pl.DataFrame, period: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The rows of the periods before `period` -> (`rules_added` columns, `rules_dropped` columns) of
    the warnings whose latest row there (`_latest_listed`) says a re-run sent it again for a rule it
    added (`ADDED_NOTE`), or took a rule off it (`DROPPED_NOTE`): the carried row says so still,
    until answered."""
    last = _latest_listed(earlier_rows, period)
    note = _state(last).cast(pl.String)
    added = last.select(warning_id="预警编号", added=note.str.extract(_ADDED, 1), sent=note.str.extract(_ADDED, 2),
                        due=note.str.extract(_ADDED, 3)).filter(pl.col("sent").is_not_null())
    dropped = last.select(warning_id="预警编号", dropped=note.str.extract(_DROPPED, 1),
                          rules=note.str.extract(_DROPPED, 2)).filter(pl.col("dropped").is_not_null())
    return added, dropped


def _first_rows(earlier_rows: pl.DataFrame, period: str | None) -> pl.DataFrame:
    """The rows of the periods before `period` (None: all of them) -> `warning_id`, `_first_on`
    (Date) and `_first_rules` of each warning whose latest row there (`_latest_listed`) a re-run
    sent again, re-dated, for a rule it added before any answer (`ADDED_NOTE`): the 下发日期 its
    row was first sent with, and the rules on it now that row showed (those the note does not say
    were added; none: the rules the re-run took off, `DROPPED_NOTE`, which verify none of those on
    it now). Not one whose note's date is its row's own (a re-run the day the lists went out): a
    copy of either row says the same 下发日期."""
    last = _latest_listed(earlier_rows, period)
    x = last.select(warning_id="预警编号", _now=pl.col("预警规则") if "预警规则" in last.columns else pl.lit(None, pl.String),
                    _note=_state(last).cast(pl.String), _on=_as_date(last, "下发日期")).with_columns(
        _first_on=pl.col("_note").str.extract(_ADDED, 2).str.to_date("%Y-%m-%d", strict=False)
    ).filter(pl.col("_first_on").is_not_null(), pl.col("_first_on").ne_missing(pl.col("_on")))
    shown = _rule_list(_not_verified(_rule_list(pl.col("_now")), _rule_list(pl.col("_note").str.extract(_ADDED, 1))))
    return x.select("warning_id", "_first_on",
                    _first_rules=pl.coalesce(shown, _rule_list(pl.col("_note").str.extract(_DROPPED, 1))))


def with_reissued(rows: pl.DataFrame, again: pl.DataFrame, added: pl.DataFrame | None = None,
                  dropped: pl.DataFrame | None = None) -> pl.DataFrame:
    """List rows + `reissued()` -> the same, the 状态 of a row listing such a warning (not 撤回 nor
    迁出) followed by `REISSUED_NOTE`: its rules now, the earlier answer (result, 核实日期) and the
    rules it verified, and the rules to verify now. The earlier answer stands for its rules.
    `added` (`rules_added()`): a row a re-run sent again for a rule it added before any answer
    says so, `ADDED_NOTE` (else the clerk sees a row of the list come back re-dated, no reason
    given); a returned row keeps reading as sent (`check_feedback`: its 状态 begins as sent).
    `dropped` (`rules_dropped()`): a row a re-run took a rule off says so after, `DROPPED_NOTE`."""
    notes = [again.select(
        预警编号="warning_id", _note=pl.format(
            REISSUED_NOTE, "rules", "result",
            pl.when(pl.col("verify_date").is_not_null()).then(pl.format("（{}）", pl.col("verify_date").dt.to_string("%Y-%m-%d")))
            .otherwise(pl.lit("")), "answered_rules",
            _not_verified(pl.col("rules"), pl.col("answered_rules"))))]
    if added is not None:
        notes.append(added.select(预警编号="warning_id", _note=pl.format(ADDED_NOTE, "added", "sent", "due")))
    note = pl.concat(notes).unique("预警编号", keep="first", maintain_order=True)
    if dropped is not None and dropped.height:
        gone = dropped.unique("warning_id", keep="first", maintain_order=True).select(
            预警编号="warning_id", _gone=pl.format(DROPPED_NOTE, "dropped", "rules"))
        note = note.join(gone, on="预警编号", how="full", coalesce=True, maintain_order="left").select(
            "预警编号", _note=pl.concat_str("_note", "_gone", ignore_nulls=True))
    if note.is_empty():
        return rows
    listed = _state(rows).ne_missing(STATUS_WITHDRAWN) & ~_moved_out(rows)
    return rows.join(note, on="预警编号", how="left", maintain_order="left").with_columns(
        状态=pl.when(listed & pl.col("_note").is_not_null()).then(pl.col("状态") + pl.col("_note")).otherwise("状态")
    ).drop("_note")


def moved_warnings(carried: pl.DataFrame | None, earlier_rows: pl.DataFrame | None,
                   moved_out: pl.DataFrame | None = None, rows: pl.DataFrame | None = None) -> pl.DataFrame:
    """`carry_over()` rows + the rows written before -> QualityFinding rows for the county, one per
    (township left, township now, why): the warnings that moved with their household to another
    township's list, or with the persons they name, split off into a household there (状态 says
    `已分户至`), which the township left is not told in its own files. `moved_out` (a re-run's 迁出
    rows, `moved_in_rerun`) and `rows` (the list rows they left for): the warnings a re-run of
    the period moved to another township's list (its 户籍底册 corrected), named as such unless
    the move between periods names them already; one it names whose township left has a 迁出 row
    is said to be marked so there, not to be listed no more. (None: nothing of that kind.)"""
    schema = {"预警编号": pl.String, "_from": pl.String, "township": pl.String, "_why": pl.String}
    m = pl.DataFrame(schema=schema)
    if carried is not None and earlier_rows is not None:
        last = (earlier_rows.filter(~_moved_out(earlier_rows)).sort("period", maintain_order=True)
                .unique("预警编号", keep="last", maintain_order=True).select("预警编号", _from="township"))
        m = carried.join(last, on="预警编号").filter(pl.col("_from").is_not_null(), pl.col("_from") != pl.col("township"))
        m = m.select("预警编号", "_from", "township", _why=pl.when(_went_with_persons(pl.col("状态")))
                     .then(pl.lit("split")).otherwise(pl.lit("moved")))
    m = m.cast(schema).with_columns(_out=pl.lit(False))
    if moved_out is not None and rows is not None and moved_out.height:
        now = rows.filter(~_moved_out(rows), pl.col("township").is_not_null()).select("预警编号", "township")
        out = moved_out.select("预警编号", _from="township").join(now, on="预警编号").with_columns(_out=pl.lit(True))
        # (one moved between periods whose township left has a 迁出 row now: its list still shows it)
        m = m.drop("_out").join(out.drop("township"), on=["预警编号", "_from"], how="left", maintain_order="left")
        rerun = out.join(m, on=["预警编号", "_from"], how="anti").with_columns(_why=pl.lit("rerun"))
        m = pl.concat([m.with_columns(pl.col("_out").fill_null(False)), rerun.select(m.columns)])
    left = (pl.when("_out").then(pl.format("{}清单中该行标为迁出，其已反馈的核实结果照常采纳", "_from"))
            .otherwise(pl.format("{}清单不再列出", "_from")))
    why = (pl.when(pl.col("_why") == "split").then(pl.format("涉及人员已分户至{}的户，未核实的预警转入其清单，{}", "township", left))
           .when(pl.col("_why") == "rerun").then(pl.format(
               "本期重新运行时户籍底册载该户在{}：预警转入其清单、按本次运行日下发，{}", "township", left))
           .when("_out").then(pl.format(
               "本期重新运行时户籍底册载该户在{}，未核实的预警转入其清单（下发日期不变），{}", "township", left))
           .otherwise(pl.format("户已迁入{}，未核实的预警转入其清单，{}", "township", left)))
    return m.sort("_from", "township", "_why", "预警编号").group_by("_from", "township", "_why", "_out", maintain_order=True).agg(
        pl.col("预警编号").str.join("、").alias("_ids"), count=pl.len().cast(pl.Int64),
    ).select(
        category=pl.lit(Finding.MOVED), dept=pl.lit(None, pl.String), file=pl.lit(None, pl.String),
        detail=pl.format("{} → {}：{}（{}）", "_from", "township", "_ids", why),
        count="count",
    ).cast(QUALITY_COLUMNS)


def as_sent(rows: pl.DataFrame, notes: pl.DataFrame, ids: pl.Series | None = None) -> pl.DataFrame:
    """Township rows (`with_carry_over`'s, 户编号 the run's household key) -> as the lists are
    written: 户编号 as the roster writes it (`schemas.inputs.as_written`), and 状态 followed by the
    household's note where the roster gives its 户编号 to several households (`notes`: household_id,
    note, `pipelines.reference.shared_notes`; a 撤回 or 迁出 row needs no visit and says nothing more).
    A 户编号 that is an ID number (a county numbering households by the head's 证件号码; `ids`: the
    roster's) is masked in 户编号 and in 状态 (`已分户至 <户编号>`, the note): no full ID number in a
    township's file (SPEC §5). The rows kept (the warehouse's) keep it whole; answers key on 预警编号."""
    x = rows.join(notes.select(户编号="household_id", _note="note"), on="户编号", how="left", maintain_order="left")
    told = pl.col("_note").is_not_null() & (pl.col("状态") != STATUS_WITHDRAWN) & ~_moved_out(rows)
    x = x.with_columns(状态=pl.when(told).then(pl.col("状态") + pl.col("_note")).otherwise("状态"),
                       户编号=as_written(pl.col("户编号"))).drop("_note")
    return mask_full_ids(x, ["户编号", "状态"], ids)


def first_sent(new_rows: pl.DataFrame, before: pl.DataFrame | None, sent_on: date, deadline: date,
               answers: pl.DataFrame | None = None) -> pl.DataFrame:
    """A re-run's new rows (`township_rows()` output) -> the same, those of warnings its period's
    list did not hold before (`before`: the rows the period's last run wrote, 撤回 and 迁出 rows not
    counted; None = the period's first run, nothing changes) dated `sent_on`, with `deadline`: a warning first published now
    is sent now, not on the period's old 下发日期, and is not overdue on arrival. So is one the
    period's lists gave another township before (a corrected 户籍底册 moved its household,
    `moved_in_rerun`): its township first gets it now. So is one whose 预警规则 the re-run gave a
    rule its row did not show before, unless an answer verified every rule on it now (`answers`:
    every answer taken, later periods' too; one stored before answers kept their rules verified
    the warning, as `warning_status` takes it): the rule it gains is sent now and due 3 working
    days later, also when an answer to the old row comes back after it (`reissued`: open again).
    Its row says why (`rules_added`, or `reissued` when answered: `with_reissued`). One a later
    re-run takes every such rule back from, adding none, is dated as first sent again (its note's
    原下发日期: with the lists, their date as it is now)."""
    if before is None:
        return new_rows
    live = _listed(before)
    gains = _gains(new_rows, before, answers)
    # a rule the row did not show before is sent now, answered or not (an answer to the old row
    # reopens the warning for it, due when it was sent), unless an answer verified it already
    again = pl.col("_gained").is_not_null() & ~pl.col("_covered")
    now = pl.col("_held").is_null() | pl.col("_was").ne_missing(pl.col("township")) | again
    # one an earlier re-run sent again for rules this one takes back, none added now: as first sent
    # (with the lists, or as the re-run that first sent it dated it)
    undone = (pl.col("_said").is_not_null() & pl.col("_noted").is_null() & pl.col("_gained").is_null()
              & pl.col("_first_on").is_not_null() & pl.col("_was").eq_missing(pl.col("township")))
    # one the list held, sent after the period's lists went out (an earlier re-run sent it): as sent
    # then, not re-dated to the period's 下发日期 (it would read overdue from before it went out). The
    # lists' date is the earliest 下发日期 the list gave this period's warnings; those sent with them
    # take the period's 下发日期 as it is now (an --issue-date re-dates them, earlier or later)
    sent = live.select("预警编号", _sent=pl.col("下发日期").cast(pl.String),
                       _due=pl.col("核实截止日期").cast(pl.String)).unique("预警编号", keep="first")
    own = sent.filter(pl.col("预警编号").is_in(new_rows["预警编号"].implode()))
    lists_out = own["_sent"].drop_nulls().min() if own.height else None
    later = (pl.col("_sent").is_not_null() & (pl.col("_sent") > pl.lit(lists_out)) if lists_out is not None
             else pl.lit(False))
    # (one undone was first sent with the lists, taking their date as it is now, or by a re-run after)
    first_later = pl.col("_first_on") > pl.lit(lists_out) if lists_out is not None else pl.lit(False)
    return new_rows.join(sent, on="预警编号", how="left", maintain_order="left").join(
        gains, on="预警编号", how="left", maintain_order="left").with_columns(
        下发日期=pl.when(now).then(pl.lit(sent_on.isoformat())).when(undone & first_later).then("_first_on")
        .when(later & ~undone).then("_sent").otherwise("下发日期"),
        核实截止日期=pl.when(now).then(pl.lit(deadline.isoformat())).when(undone & first_later).then("_first_due")
        .when(later & ~undone).then("_due").otherwise("核实截止日期"),
    ).drop("_sent", "_due", *gains.columns[1:])


def _gains(new_rows: pl.DataFrame, before: pl.DataFrame, answers: pl.DataFrame | None) -> pl.DataFrame:
    """`first_sent`'s new rows against the rows the period's last run wrote (`before`, 撤回 and
    迁出 rows not counted: one taken back and raised again is sent now; a 迁出 row's township
    lists it no more) -> 预警编号, `_was` (the township its row was in), `_held` (true: it had
    one), `_gained` (the rules on it now that row did not show, `_rule_list` text; null: none),
    `_noted` (those of them that row's 状态 said a re-run sent it again for, `ADDED_NOTE`: a
    second re-run keeps saying so; `_said`: all it said), `_first_on` and `_first_due` (the
    下发日期 and 核实截止日期 it was first sent with: as that note says, else that row's),
    `_decided` (an answer decides it, `_deciding` over `answers`) and `_covered` (that answer verified every rule on it now; an answer stored
    before answers kept their rules counts as verifying them, as `warning_status` takes it), `_lost`
    (the rules that row showed, or its 状态 said a re-run took off, `DROPPED_NOTE`, not on it now;
    not those an earlier re-run added that this one takes back, the row sent as first sent: null: none)."""
    rules = _rule_list(pl.col("预警规则"))
    live = _listed(before)
    note = _state(live).cast(pl.String)
    was = live.select("预警编号", _was="township", _held=pl.lit(True), _was_rules=_rule_list(pl.col("预警规则")),
                      _said=note.str.extract(_ADDED, 1),
                      _first_on=pl.coalesce(note.str.extract(_ADDED, 2), pl.col("下发日期").cast(pl.String)),
                      _first_due=pl.coalesce(note.str.extract(_ADDED, 3), pl.col("核实截止日期").cast(pl.String)),
                      _was_lost=note.str.extract(_DROPPED, 1)).unique("预警编号", keep="first")
    answered = _deciding(_answers(answers)).select(预警编号="warning_id", _answered="rules", _decided=pl.lit(True))
    gained, said = _not_verified(pl.col("_now"), pl.col("_was_rules")), _rule_list(pl.col("_said"))
    g = new_rows.select("预警编号", rules.alias("_now")).join(was, on="预警编号", how="left", maintain_order="left").join(
        answered, on="预警编号", how="left", maintain_order="left").select(
        "预警编号", "_was", "_held", "_said", "_first_on", "_first_due", "_now", "_was_rules", "_was_lost",
        _gained=pl.when(_uncovered(pl.col("_now"), pl.col("_was_rules"))).then(gained),
        _noted=_rule_list(_not_verified(said, _not_verified(said, pl.col("_now")).fill_null(""))),
        _decided=pl.col("_decided").fill_null(False),
        _covered=pl.col("_decided").fill_null(False) & ~_uncovered(pl.col("_now"), pl.col("_answered")),
    )
    # (the rules an earlier re-run added, all taken back now and none added: the row goes back to
    # its first dates, as first sent, `first_sent`; their going needs no note)
    back = pl.when(pl.col("_said").is_not_null() & pl.col("_noted").is_null() & pl.col("_gained").is_null()
                   & pl.col("_first_on").is_not_null()).then(said).otherwise(pl.lit(""))
    had = pl.concat_str("_was_rules", "_was_lost", separator="、", ignore_nulls=True)
    lost = _rule_list(_not_verified(_not_verified(had, pl.col("_now").fill_null("")), back))
    return g.with_columns(_lost=lost).drop("_now", "_was_rules", "_was_lost").unique(
        "预警编号", keep="first", maintain_order=True)


def rules_added(new_rows: pl.DataFrame, before: pl.DataFrame | None, answers: pl.DataFrame | None = None) -> pl.DataFrame:
    """A re-run's new rows (`first_sent()` output) + the rows the period's last run wrote
    (`before`; None: its first run) + every answer taken (`answers`, later periods' too) -> the
    warnings the lists held in the same township whose row the re-run gave a rule it did not
    show before any answer decided them: `first_sent` sends them again dated the re-run's day,
    and their row says why (`with_reissued`, `ADDED_NOTE`). Also those a re-run before sent
    again so (its row's 状态 says so), while still unanswered: a re-run that changes nothing
    keeps the note with the date. One answered gets `REISSUED_NOTE` instead (`reissued`); one
    the re-run moved to another township is new there (`moved_in_rerun`). Columns: warning_id,
    added (the rules added, `_rule_list` text), sent and due (the 下发日期 and 核实截止日期 the row
    was first sent with, before a re-run added a rule)."""
    return _added(new_rows, _gains(new_rows, before, answers) if before is not None and before.height else None)


def _added(new_rows: pl.DataFrame, gains: pl.DataFrame | None) -> pl.DataFrame:
    """`rules_added` of the re-run's `_gains` of `new_rows` (None: the period's first run)."""
    schema = {"warning_id": pl.String, "added": pl.String, "sent": pl.String, "due": pl.String}
    if gains is None:
        return pl.DataFrame(schema=schema)
    g = new_rows.select("预警编号", "township").join(gains, on="预警编号", how="left")
    both = pl.concat_str(pl.col("_noted"), pl.col("_gained"), separator="、", ignore_nulls=True)
    return g.filter(pl.col("_was").eq_missing(pl.col("township")), ~pl.col("_decided"),
                    pl.col("_gained").is_not_null() | pl.col("_noted").is_not_null()).select(
        warning_id="预警编号", added=_rule_list(both), sent="_first_on", due="_first_due").unique(
        "warning_id", keep="first", maintain_order=True).cast(schema)


def rules_dropped(new_rows: pl.DataFrame, before: pl.DataFrame | None, answers: pl.DataFrame | None = None) -> pl.DataFrame:
    """As `rules_added`, the warnings the lists held in the same township whose row the re-run took
    a rule off before any answer decided them (因病 M1、M2 -> M2: the corrected sums no longer reach
    M1's): the row keeps its dates, but the grid worker about to visit for M1 is told, and what to
    verify now (`with_reissued`, `DROPPED_NOTE`); a re-run that changes nothing keeps saying so. Not
    the rules an earlier re-run added that this one takes back (the row goes back to its first
    dates, no note, `first_sent`), nor a row the re-run moved (new in its township). Columns:
    warning_id, dropped (the rules taken off, `_rule_list` text), rules (those on the row now)."""
    return _dropped(new_rows, _gains(new_rows, before, answers) if before is not None and before.height else None)


def _dropped(new_rows: pl.DataFrame, gains: pl.DataFrame | None) -> pl.DataFrame:
    """`rules_dropped` of the re-run's `_gains` of `new_rows` (None: the period's first run)."""
    schema = {"warning_id": pl.String, "dropped": pl.String, "rules": pl.String}
    if gains is None:
        return pl.DataFrame(schema=schema)
    g = new_rows.select("预警编号", "township", _rules=_rule_list(pl.col("预警规则"))).join(gains, on="预警编号", how="left")
    return g.filter(pl.col("_was").eq_missing(pl.col("township")), ~pl.col("_decided"), pl.col("_lost").is_not_null(),
                    pl.col("_rules").is_not_null()).select(
        warning_id="预警编号", dropped="_lost", rules="_rules").unique("warning_id", keep="first", maintain_order=True).cast(schema)


def sent_now(new_rows: pl.DataFrame, before: pl.DataFrame | None, issue_date: date) -> int:
    """A re-run's new rows (`first_sent()` output) + the rows the period's last run wrote
    (`before`; None: its first run) -> how many warnings go out now that the period's lists did not
    hold before: dated otherwise than the period's `issue_date` and not listed before in the same
    township (撤回 and 迁出 rows not counted: a warning a corrected roster moved to another
    township's list is sent to that township now; one an earlier re-run sent keeps its date).
    Not those the lists held there, sent again now (`sent_again`)."""
    return _sent_now(new_rows, before, issue_date)[0].height


def sent_again(new_rows: pl.DataFrame, before: pl.DataFrame | None, issue_date: date) -> int:
    """As `sent_now`, how many warnings the period's lists held in the same township go out again
    now, re-dated: the re-run added a rule their row did not show (`first_sent`: after the
    township answered it, or before any answer)."""
    return _sent_now(new_rows, before, issue_date)[1].height


def _sent_now(new_rows: pl.DataFrame, before: pl.DataFrame | None, issue_date: date) -> tuple[pl.DataFrame, pl.DataFrame]:
    """`sent_now`'s rows: (those the lists did not hold before in their township, those they held
    dated otherwise: sent again)."""
    listed = (_listed(before).select("预警编号", "township", _was=pl.col("下发日期").cast(pl.String))
              if before is not None else new_rows.select("预警编号", "township", _was="下发日期").clear())
    x = new_rows.filter(pl.col("下发日期") != issue_date.isoformat()).join(
        listed.unique(["预警编号", "township"], keep="first"), on=["预警编号", "township"], how="left",
        nulls_equal=True, maintain_order="left")  # (an unplaced lead: no township)
    # (sent again: dated after the row it had; one dated back, a re-run taking back the rule an
    # earlier one added, `first_sent`, is sent as it first was, not again)
    return (x.filter(pl.col("_was").is_null()).drop("_was"),
            x.filter(pl.col("_was").is_not_null(), pl.col("下发日期") > pl.col("_was")).drop("_was"))


def moved_in_rerun(rows: pl.DataFrame, before: pl.DataFrame | None,
                   answered_later: pl.DataFrame | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A re-run's list rows (new and carried, `with_carry_over()` output) + the rows the period's
    last run wrote (`before`; None: its first run) -> (rows, moved out): the warnings the
    period's lists gave one township before and another now (its 户籍底册 corrected since moved
    the household), as a move between periods is told (`carry_over`):

    - rows: a new row (新下发) of such a warning says where it was,
      `新下发（由<乡镇><村><组>迁入，原下发日期…）` (the place where the period's lists held it last,
      the first 下发日期 they gave it; `由<first place>经<last place>迁入` when they first gave it
      to a third township, `由<last place>迁回` when to this one, which was told 迁出 in between);
      `first_sent` dates it the day the new township gets it.
      A carried row says where it came from already (`carry_over`).
    - moved out: for each township that had it, its row as written there, 状态
      `迁出（…）` naming the township it went to, 逾期天数 0, the feedback columns and who the
      household is and why (`MOVED_OUT_BLANK`: no longer the township's household) blank: the
      township sent it is told, and the warning stays known as sent there (`issued_from_rows`:
      that township's answer is taken). A 迁出 row of `before` stays while the warning is listed
      elsewhere; one whose warning is no longer raised is withdrawn (`withdrawn_rows`). A township
      whose row an earlier re-run took back (撤回) gets a 迁出 row too when the warning is raised
      again in another township's list: it was sent it, and its answer stays taken.
    `answered_later`: the answers later periods took in (`feedback_answers` rows of periods after
    the one re-run, which its own statuses do not see): a moved warning a township has answered
    since says so on the new township's row, `…；<乡镇>已于<核实日期>反馈属实，无需再核实）`, so the
    household is not visited again for it (the later periods' runs keep the answer); not one whose
    answer verified only some of the rules on the row now (its `rules`, `_uncovered`): it is open
    for the others, and `with_reissued`'s note on the row says what the answer found.
    Same columns as `rows`."""
    if before is None or before.is_empty():
        return rows, rows.clear()
    now = rows.filter(pl.col("township").is_not_null()).select(
        "预警编号", _now="township", _split=_went_with_persons(pl.col("状态")),
        _rules=_rule_list(pl.col("预警规则") if "预警规则" in rows.columns else pl.lit(None, pl.String))).unique("预警编号")
    # (a township whose row a re-run took back before, 撤回, was sent it too: told where it is now)
    had = (before.filter(pl.col("township").is_not_null())
           .with_columns(_out=_moved_out(before))
           .join(now, on="预警编号").filter(pl.col("township") != pl.col("_now"))
           .sort("预警编号", "township", "_out", maintain_order=True).unique(["预警编号", "township"], keep="first"))
    place = pl.concat_str("乡（镇）", "行政村", "村民小组", ignore_nulls=True)
    # where and when the period's lists first gave it: the row with the earliest 下发日期, or whose
    # 状态 says an earlier one (a township it came back to was sent it again, re-dated: its note
    # keeps the first date), a row dated so itself first
    sent, said = pl.col("下发日期").cast(pl.String), _state(before).str.extract(r"原下发日期(\d{4}-\d{2}-\d{2})")
    first = (before.with_columns(_first=pl.when(said < sent).then(said).otherwise(sent))
             .sort("_first", sent != pl.col("_first"), nulls_last=True, maintain_order=True)
             .unique("预警编号", keep="first").select("预警编号", "_first", _f_town="township", _f_place=place))
    # where it was last listed: its row there if that township lost it now, else the latest 迁出
    # row's (each move dates the row it leaves behind the day it was sent there); the note names
    # it, and the first place too when that is another (A→B→C: `由A经B迁入`, A's date), or says it
    # came back (A→B→A: `由B迁回`, A's first date)
    was = had.sort("_out", "下发日期", "township", descending=[False, True, False], nulls_last=True,
                   maintain_order=True).unique("预警编号", keep="first").join(
        first, on="预警编号", how="left").select(
        "预警编号", _note=pl.concat_str(
            pl.lit("（由"), pl.when(pl.col("_f_town").ne_missing(pl.col("township"))
                                  & pl.col("_f_town").ne_missing(pl.col("_now"))).then(pl.col("_f_place") + "经"),
            place, pl.when(pl.col("_f_town") == pl.col("_now")).then(pl.lit("迁回")).otherwise(pl.lit("迁入")),
            pl.lit("，原下发日期"), pl.col("_first").fill_null(""), pl.lit("）"), ignore_nulls=True))
    if answered_later is not None and answered_later.height:
        # (the answer that decides, `_deciding`: the last period's latest, with the rules the answers
        # agreeing with it verified, as `warning_status` takes them)
        got = _answers(answered_later.with_columns(received_period=pl.col("period"))).with_row_index("_order")
        since = (got.join(_deciding(got.drop("_order")).select("_order", _answered="rules"), on="_order").select(
                     # (an answer's 乡（镇） left blank, the file telling the township: said without it)
                     预警编号="warning_id", _since=pl.concat_str(
                         pl.lit("；"), "township", pl.lit("已于"),
                         pl.coalesce(pl.col("verify_date").cast(pl.String), "received_period"),
                         pl.lit("反馈"), "result", pl.lit("，无需再核实"), ignore_nulls=True), _answered=_rule_list(pl.col("_answered")))
                 # (one that verified only some of the rules on it now needs a visit: `with_reissued` says so)
                 .join(now.select("预警编号", "_rules"), on="预警编号", how="left")
                 .filter(~_uncovered(pl.col("_rules"), pl.col("_answered"))).drop("_answered", "_rules"))
        was = was.join(since, on="预警编号", how="left").with_columns(
            _note=pl.when(pl.col("_since").is_not_null())
            .then(pl.col("_note").str.strip_suffix("）") + pl.col("_since") + "）").otherwise("_note")).drop("_since")
    noted = rows.join(was, on="预警编号", how="left", maintain_order="left").with_columns(
        状态=pl.when((pl.col("状态") == STATUS_NEW) & pl.col("_note").is_not_null())
        .then(pl.col("状态") + pl.col("_note")).otherwise("状态")).drop("_note")
    out = had.with_columns(
        状态=pl.format(STATUS_MOVED_OUT + "（本期户籍底册{}，预警已转入{}清单，{}的信息不再列出；"
                     "已上门核实的，核实结果仍可按此预警编号反馈）",
                     pl.when("_split").then(pl.format("载涉及人员已分户至{}的户", "_now"))
                     .otherwise(pl.format("更正后该户在{}", "_now")),
                     "_now", pl.when("_split").then(pl.lit("涉及人员")).otherwise(pl.lit("户"))),
        逾期天数=pl.lit(0, pl.Int64), *[pl.lit(None, pl.String).alias(c) for c in [*FEEDBACK_COLUMNS, *MOVED_OUT_BLANK]],
    ).select(rows.columns).cast(rows.schema).sort("township", "下发日期", "预警编号", nulls_last=True)
    return noted, out


def withdrawn_rows(before: pl.DataFrame | None, rows: pl.DataFrame, status_earlier: pl.DataFrame | None) -> pl.DataFrame:
    """What a re-run takes back: the rows the period's list held before (`before`, as stored)
    that its new list (`rows`: new and carried, `with_carry_over()` output) no longer holds,
    unless an answer closed them (a result in `status_earlier`) -> those rows as written, 状态
    撤回, 逾期天数 0, the feedback columns blank but 备注 `WITHDRAWN_NOTE`. A warning of the
    period no longer raised (a changed threshold, a corrected file) and one carried before whose
    own period withdrew it come back so, and `issued_from_rows` keeps knowing them as issued
    (answers to them are taken, not refused as unknown). Same columns as `rows`."""
    if before is None or before.is_empty():
        return rows.clear()
    closed = (status_earlier.filter(pl.col("result").is_not_null())["warning_id"]  # (answered: a township closed it)
              if status_earlier is not None else pl.Series([], dtype=pl.String))
    gone = before.filter(~pl.col("预警编号").is_in(rows["预警编号"].implode()),
                         ~pl.col("预警编号").is_in(closed.implode()))
    # (the same household and risk type listed under another 预警编号: its suffix, `rules.warning_suffix`)
    suffix = pl.col("预警编号").str.split("-").list.last()
    live = (rows.filter(_state(rows).ne_missing(STATUS_WITHDRAWN), ~_moved_out(rows))
            .select(_s=suffix, _by="预警编号").unique("_s", keep="first", maintain_order=True))
    return gone.with_columns(_s=suffix).join(live, on="_s", how="left", maintain_order="left").with_columns(
        状态=pl.lit(STATUS_WITHDRAWN), 逾期天数=pl.lit(0, pl.Int64),
        *[pl.lit(None, pl.String).alias(c) for c in FEEDBACK_COLUMNS if c != "备注"],
        备注=pl.when(pl.col("_by").is_not_null()).then(pl.format(COVERED_NOTE, "_by")).otherwise(pl.lit(WITHDRAWN_NOTE)),
    ).select(rows.columns).cast(rows.schema).sort("township", "下发日期", "户编号", "预警编号", nulls_last=True)


def withdrawn_count(withdrawn: pl.DataFrame, before: pl.DataFrame | None) -> tuple[int, int]:
    """`withdrawn_rows()` output + the rows the period's last run wrote (`before`) -> (how many
    warnings are taken back now: those its lists still warned of before this run, how many are
    撤回 in all), counted as warnings, not rows: a moved warning is withdrawn in each list that
    had it (the old township's 迁出 row and the row where it was listed)."""
    held = before.filter(_state(before).ne_missing(STATUS_WITHDRAWN))["预警编号"] if before is not None else []
    return (withdrawn.filter(pl.col("预警编号").is_in(pl.Series(held, dtype=pl.String).implode()))["预警编号"].n_unique(),
            withdrawn["预警编号"].n_unique())



def rerun_changes(new_rows: pl.DataFrame, withdrawn: pl.DataFrame, before: pl.DataFrame | None,
                  issue_date: date, again: pl.DataFrame | None = None, dropped: pl.DataFrame | None = None,
                  ) -> pl.DataFrame:
    """A re-run's new rows (`first_sent()` output), the rows it takes back (`withdrawn_rows()`)
    and the rows the period's last run wrote (`before`; None: its first run) -> QualityFinding
    rows for the county, one per township and change, naming the warnings with their rules: those
    taken back now (as `withdrawn_count` counts them) and those sent now, with their date and
    deadline (as `sent_now` counts them; those sent again, a rule added to their row, apart:
    those an answer verified only other rules of, `again`'s (`reissued()` rows), apart from those
    not answered yet), and those it took a rule off, keeping their dates (`dropped`, `rules_dropped()`
    rows: their row says so). The console only counts them; the county tells the townships which rows
    of the lists they hold changed."""
    if before is None:
        return pl.DataFrame(schema=QUALITY_COLUMNS)
    held = before.filter(_state(before).ne_missing(STATUS_WITHDRAWN))["预警编号"]
    gone = withdrawn.filter(pl.col("预警编号").is_in(held.implode())).unique("预警编号", keep="first", maintain_order=True)
    sent, redated = _sent_now(new_rows, before, issue_date)
    redated = redated.with_columns(_answered=pl.col("预警编号").is_in(
        (again["warning_id"] if again is not None else pl.Series([], dtype=pl.String)).implode()))
    said = pl.format("{}（{}）", "预警编号", pl.col("预警规则").fill_null("—"))
    # (one an earlier warning of the household and risk type covers now, `COVERED_NOTE`, names it)
    by = pl.col("备注").str.extract(f"^{_COVERED}$", 1)
    gone_said = pl.when(by.is_not_null()).then(pl.format("{}（{}，同户同类风险由 {} 预警）", "预警编号",
                                                          pl.col("预警规则").fill_null("—"), by)).otherwise(said)
    town = pl.col("township").fill_null(UNPLACED)
    parts = [
        gone.group_by(town, maintain_order=True).agg(_ids=gone_said.str.join("、"), count=pl.len()).select(
            "count", detail=pl.format("{}：{}本次重新运行不再预警，清单中标为撤回，无需核实（已反馈的核实结果保留）"
                                      " — withdrawn: no longer warned by the re-run", "township", "_ids")),
        sent.group_by(town, "下发日期", "核实截止日期", maintain_order=True).agg(_ids=said.str.join("、"), count=pl.len()).select(
            "count", detail=pl.format("{}：{}本次重新运行新下发（此前清单未列或已撤回），下发日期 {}，核实截止 {}"
                                      " — sent now: raised by the re-run, not listed before or withdrawn",
                                      "township", "_ids", "下发日期", "核实截止日期")),
        redated.group_by(town, "下发日期", "核实截止日期", "_answered", maintain_order=True).agg(
            _ids=said.str.join("、"), count=pl.len()).select(
            "count", detail=pl.when("_answered").then(pl.format(
                "{}：{}本次重新运行改变了预警规则，此前反馈的核实结果未核实新的规则，重新下发，下发日期 {}，核实截止 {}"
                " — sent again: the re-run changed their rules after an answer that verified others",
                "township", "_ids", "下发日期", "核实截止日期")).otherwise(pl.format(
                "{}：{}本次重新运行增加了此前清单该行未列的预警规则，重新下发，下发日期 {}，核实截止 {}"
                " — sent again: the re-run added a rule their row did not show",
                "township", "_ids", "下发日期", "核实截止日期"))),
    ]
    if dropped is not None and dropped.height:
        # (those this re-run took a rule off: one whose row said so before, unchanged since, was named
        # then; one it no longer lists, moved or taken back, is said so above)
        was = _listed(before).select("预警编号", "township", _was=_rule_list(pl.col("预警规则")))
        off = new_rows.select("预警编号", "township").join(dropped.rename({"warning_id": "预警编号"}), on="预警编号").join(
            was.unique(["预警编号", "township"], keep="first"), on=["预警编号", "township"], nulls_equal=True).filter(
            _uncovered(pl.col("_was"), pl.col("rules")))
        parts.append(off.group_by(town, maintain_order=True).agg(
            _ids=pl.format("{}（{}，不再预警{}）", "预警编号", "rules", "dropped").str.join("、"), count=pl.len()).select(
            "count", detail=pl.format("{}：{}本次重新运行去掉了清单该行的部分预警规则，下发日期不变，请就余下规则核实"
                                      " — a rule taken off: the re-run no longer warns of it, the row keeps its dates",
                                      "township", "_ids")))
    return pl.concat(parts).select(
        category=pl.lit(Finding.RERUN), dept=pl.lit(None, pl.String), file=pl.lit(None, pl.String), detail="detail",
        count=pl.col("count").cast(pl.Int64)).cast(QUALITY_COLUMNS)


# --- 5. verified warnings to the responsible departments --------------------------------------

SEND, WITHDRAW = "派单", "撤回（复核改为不属实）"  # 派单动作 of a dispatch row


def dispatch_changes(status: pl.DataFrame, previous: pl.DataFrame | None,
                     sent_before: pl.DataFrame | None = None, again: pl.DataFrame | None = None,
                     earlier: pl.DataFrame | None = None) -> pl.DataFrame:
    """What this run tells the departments (`previous` status: None = nothing sent before): the
    warnings verified 属实 now and not before (`action` SEND), and those verified 属实 before but
    no longer (a later answer says 不属实: `action` WITHDRAW, so a department does not go on
    acting on a dispatch the township took back). `sent_before`: a re-run's period status as its
    last run stored it (None: the period's first run, `sent_before()`): a 属实 that run sent, which
    a corrected answer received since takes back, is withdrawn too (its 派单 went out with that
    run's files).
    A warning a re-run took back after a township verified it 属实 stays sent: what the visit
    found stands; so does one a re-run gave a rule the 属实 did not verify (`again`: `reissued()`
    rows of the answers `status` reads, those it reopened), open again for that rule only,
    whichever came first, the re-run or the answer: the period's 派单 sends it and keeps its row
    on every re-run (SEND, `verified_on` and `rules_verified`, the rules the 属实 verified, from
    that answer), or the department would hear of it only had the answer come first. One
    `previous` held so (reopened, `reopened_for`, its deciding answer among `earlier`, the answers
    received before the period, 属实) an earlier period's 派单 sent: not this one's to send, but
    to withdraw. `rules_verified` is null on every other row."""
    def true(f: pl.DataFrame | None) -> pl.DataFrame:  # (the warning ids a status verified 属实)
        f = status.clear() if f is None or f.is_empty() else f
        return f.filter(pl.col("status") == "verified_true").select("warning_id")

    def here(f: pl.DataFrame | None) -> pl.DataFrame:  # (those the period's published 派单 sent)
        if f is None or "dispatched" not in f.columns:
            return true(f)
        return f.filter(pl.col("dispatched") | (pl.col("status") == "verified_true")).select("warning_id")

    none = pl.lit(None, pl.String).alias("rules_verified")
    now = status.filter(pl.col("status") == "verified_true")
    sent = true(previous)
    # (reopened 属实 an earlier period sent, for the rules it verified: a status keeps no result of a reopened one)
    part = (previous.filter(pl.col("reopened_for").is_not_null()).select("warning_id").join(
        _deciding(_answers(earlier)).filter(pl.col("result") == "属实"), on="warning_id", how="semi")
        if previous is not None and "reopened_for" in previous.columns else sent.clear())
    before = pl.concat([sent, part, here(sent_before)]).unique(maintain_order=True)
    stands = (again.filter(pl.col("result") == "属实").select("warning_id", _on="verify_date", _rules="answered_rules")
              if again is not None else pl.DataFrame(schema={"warning_id": pl.String, "_on": pl.Date, "_rules": pl.String}))
    kept = status.join(stands.join(pl.concat([sent, part]), on="warning_id", how="anti"), on="warning_id",
                       maintain_order="left")
    return pl.concat([
        now.join(sent, on="warning_id", how="anti", maintain_order="left").with_columns(none, action=pl.lit(SEND)),
        kept.with_columns(verified_on="_on", rules_verified="_rules", action=pl.lit(SEND)).drop("_on", "_rules"),
        status.join(before, on="warning_id", how="semi").filter(pl.col("status") != "verified_true")
        .join(stands, on="warning_id", how="anti", maintain_order="left").with_columns(none, action=pl.lit(WITHDRAW)),
    ], how="diagonal_relaxed")


def sent_before(status: pl.DataFrame, dispatched: pl.Series) -> pl.DataFrame:
    """A re-run's period status as its last run stored it (`status`), for `dispatch_changes`:
    of its 属实 those the period's published 派单 sent (`dispatched`: their 预警编号; a row of 派单动作
    派单, `dispatched_of`), the others whatever they were, `dispatched` saying which the 派单 sent
    (an open one too: a 属实 a re-run reopened, its row kept). One an earlier period sent, which
    that period's re-run withdrew, is not withdrawn again by each later period a cascade re-runs."""
    sent = pl.col("warning_id").is_in(dispatched.implode())
    return status.filter((pl.col("status") != "verified_true") | sent).with_columns(dispatched=sent)


def dispatched_of(sheets: list[pl.DataFrame]) -> pl.Series:
    """The 预警编号 a period's published 派单 files (`sheets`, as read) sent: their rows of 派单动作 派单
    (`SEND`, not those withdrawing one); a file written before 派单动作 was sends every row."""
    sent = [df.filter(pl.col("派单动作") == SEND) if "派单动作" in df.columns else df for df in sheets]
    return pl.concat([df.select("预警编号") for df in sent])["预警编号"] if sent else pl.Series("预警编号", [], pl.String)


def dispatch(status: pl.DataFrame, warnings: pl.DataFrame, cfg: Config,
             sent: pl.DataFrame | None = None) -> dict[str, pl.DataFrame]:
    """Warnings verified 属实 -> {department: frame}, the department from `cfg.dispatch` by 风险类型
    (a risk type missing there, or a warning missing from both `warnings` and `sent`, goes to
    `cfg.feedback.unmapped_department`). `warnings`: schemas.outputs.Warning rows (one per rule;
    rule, severity, basis, dept used when present). `sent`: township rows (TOWNSHIP_COLUMNS) as
    the lists wrote them, which describe a warning `warnings` no longer holds (a re-run took it
    back after a township found it 属实: it stays sent, to its department). Columns: 预警编号,
    风险类型, 严重程度, 乡（镇）, 户编号, 核实日期, 预警规则, 预警依据 (ID numbers masked), 来源部门;
    sorted by 风险类型, 乡（镇）, 户编号. Pass `dispatch_changes(...)` as `status` to send only what
    changed (its `action` becomes the first column, 派单动作: 派单 or 撤回); plain status rows are
    all sent. A row whose `rules_verified` is given (a 属实 a re-run reopened for a rule it did not
    verify, `dispatch_changes`) names those rules and their 预警依据 only: what was found."""
    opt = lambda c: pl.col(c) if c in warnings.columns else pl.lit(None, pl.String)  # noqa: E731
    rows = warnings.select("warning_id", "risk_type", opt("rule").alias("rule"), opt("severity").alias("severity"),
                           opt("basis").alias("basis"), opt("dept").alias("dept"))
    verified = pl.col("rules_verified") if "rules_verified" in status.columns else pl.lit(None, pl.String)
    only = status.select("warning_id", _only=verified.str.split("、")).filter(pl.col("_only").is_not_null())
    if only.height:
        rows = rows.join(only, on="warning_id", how="left").filter(
            pl.col("_only").is_null() | pl.col("rule").is_null() | pl.col("_only").list.contains(pl.col("rule"))).drop("_only")
    w = (
        rows
        .sort("warning_id", "rule", maintain_order=True, nulls_last=True)
        .group_by("warning_id", maintain_order=True)
        .agg(
            pl.col("risk_type").drop_nulls().first(),
            severity=pl.col("severity").sort_by(pl.col("severity").replace_strict(SEVERITY_RANK, default=0)).last(),
            rules=pl.col("rule").drop_nulls().unique(maintain_order=True).str.join("、"),
            bases=pl.when(pl.col("rule").is_not_null()).then(pl.col("rule") + "：" + pl.col("basis"))
            .otherwise("basis").drop_nulls().str.join("；"),
            depts=pl.col("dept").drop_nulls().unique(maintain_order=True).str.join("、"),
        )
    )
    if sent is not None and sent.height:  # (the latest row a list gave it: a 撤回 row keeps what was sent)
        # (of a warning a re-run moved, the row where it was listed: the old township's 迁出 row,
        # withdrawn since, leaves 预警依据 blank)
        listed = (sent.filter(~pl.col("预警编号").is_in(w["warning_id"].implode()), pl.col("预警编号").is_not_null())
                  .sort(pl.col("预警依据").is_not_null(), maintain_order=True)
                  .unique("预警编号", keep="last", maintain_order=True)
                  .select(warning_id="预警编号", risk_type="风险类型", severity="严重程度", rules="预警规则",
                          bases="预警依据", depts="来源部门"))
        w = pl.concat([w, listed.cast(w.schema)])
    if "action" not in status.columns:
        status = status.filter(pl.col("status") == "verified_true").with_columns(action=pl.lit(SEND))
    v = status.join(w, on="warning_id", how="left").with_columns(
        _to=pl.col("risk_type").replace_strict(cfg.dispatch, default=cfg.feedback.unmapped_department,
                                               return_dtype=pl.String),
    )
    out = v.sort("risk_type", "township", "household_id", "warning_id", nulls_last=True).select(
        "_to", pl.col("action").alias("派单动作"),
        pl.col("warning_id").alias("预警编号"), pl.col("risk_type").alias("风险类型"),
        pl.col("severity").alias("严重程度"),
        pl.col("township").alias("乡（镇）"), as_written(pl.col("household_id")).alias("户编号"),
        pl.col("verified_on").alias("核实日期"), pl.coalesce(verified, "rules").alias("预警规则"),
        mask_ids(pl.col("bases")).alias("预警依据"), pl.col("depts").alias("来源部门"),
    )
    return {to: df.drop("_to") for (to,), df in out.partition_by("_to", as_dict=True, maintain_order=True).items()}


# --- 6. set-aside answers back to their township ---------------------------------------------

_HOW = {"verify_date": "（年月日）", "include_monitoring": "（是/否）"}  # how to write a value told back as unreadable (`values_not_read`)


def values_not_read(blanked: pl.DataFrame, accepted: pl.DataFrame, overruled: pl.DataFrame,
                    fields: Mapping[str, Sequence[str]]) -> pl.DataFrame:
    """The answers' cells the validator could not read and left empty (`kinds.feedback.blank_unreadable`:
    a 核实日期 `11月`, `上周五`, `11/31`; `blanked`, REJECTED_SCHEMA rows of `adapters.inbox.read_delivery`)
    -> REJECTED_SCHEMA + `township` rows (null: `returned_to_township` tells the file's) telling
    the township to fill the value in again. Such a row is not set aside: an answer with its
    核实结果 is taken as if the cell were empty (a 属实 without 核实日期 verifies the warning,
    `verified_on` null), and its reason says so; of any other row (no 核实结果; set aside or
    overruled for another reason, which is told beside it) only that the value was taken as
    empty. `accepted`, `overruled`: `check_feedback`'s and `disagreements`' rows of the delivery.
    `fields`: the feedback kind's headers (`KindSpec.fields`), the first naming the field."""
    schema = {**REJECTED_SCHEMA, "township": pl.String}
    if blanked is None or blanked.is_empty():
        return pl.DataFrame(schema=schema)
    answered = accepted.filter(pl.col("result").is_not_null()).select("file", "line").join(
        overruled.select("file", "line"), on=["file", "line"], how="anti").with_columns(_taken=pl.lit(True))
    x = blanked.join(answered, on=["file", "line"], how="left").with_columns(
        _h=pl.col("field").replace_strict({f: (a[0] if a else f) for f, a in fields.items()}, default=pl.col("field")),
        _how=pl.col("field").replace_strict(_HOW, default=""),
        _f=pl.col("field").str.replace_all("_", " "), _v=pl.col("value").fill_null(""))
    taken = pl.format("{}“{}”读不出，核实结果已采纳，请补填{}{} {} not readable: the answer is taken, please fill in "
                      "the {} again", "_h", "_v", "_h", "_how", "_f", "_f")
    empty = pl.format("{}“{}”读不出，已按未填处理，请补填{}{} {} not readable, taken as empty: please fill it in again",
                      "_h", "_v", "_h", "_how", "_f")
    # (a 备注 over MAX_FIELD_CHARS: not unreadable, too long)
    long = pl.col("reason").str.starts_with(TOO_LONG).fill_null(False)
    n = MAX_FIELD_CHARS
    long_taken = pl.format(f"{{}}过长（超过{n}字符），未读入；核实结果已采纳，请精简后补填{{}} {{}} over {n} characters, not "
                           "read: the answer is taken, please fill in a shorter one", "_h", "_h", "_f")
    long_empty = pl.format(f"{{}}过长（超过{n}字符），已按未填处理，请精简后补填{{}} {{}} over {n} characters, taken as "
                           "empty: please fill in a shorter one", "_h", "_h", "_f")
    taken, empty = pl.when(long).then(long_taken).otherwise(taken), pl.when(long).then(long_empty).otherwise(empty)
    return x.select(
        pl.col("dept").fill_null("反馈"), pl.col("kind").fill_null("feedback"), "file", "line", "record_id", "field",
        "value", reason=pl.when(pl.col("_taken").fill_null(False)).then(taken).otherwise(empty),
        township=pl.lit(None, pl.String),
    ).cast(schema)


def told_back(refused: pl.DataFrame | None, set_aside: pl.DataFrame | None, discovered: pl.DataFrame | None,
              notes: pl.DataFrame | None, cfg: Config, issued: pl.DataFrame | None = None,
              townships: Iterable[str] = ()) -> dict[str, pl.DataFrame]:
    """{township: its 反馈退回 rows} (`returned_to_township`; {} when there is nothing to tell): the
    answers not taken (`refused`: `take_returns`' told), the 反馈 folder's rows the validator set
    aside (`set_aside`), and what of the folder was not read at all, told like the files that
    could not be read: the files set aside before reading (`discovered`: `inbox.discover`'s
    rejected rows — a `.xls` or `.et` saved by Excel or WPS, a PDF), its workbooks' hidden
    sheets holding a table and its files of a header and no answer row (`notes`: the folder's
    findings, `Finding.HIDDEN_TABLE`, `Finding.NO_ROWS`), which the county's report alone named."""
    folder = cfg.kinds["feedback"].folder
    found = []
    if discovered is not None:
        found.append(discovered.filter(pl.col("dept") == folder))
    if notes is not None:
        found.append(notes.filter(pl.col("category").is_in([Finding.HIDDEN_TABLE, Finding.NO_ROWS])).select(
            "dept", kind=pl.lit(None, pl.String), file="file", line=pl.lit(None, pl.Int64),
            **{c: pl.lit(None, pl.String) for c in ("record_id", "field", "value")}, reason="detail"))
    not_read = together(found).cast(REJECTED_SCHEMA) if found else None
    parts = [f for f in (refused, set_aside, not_read) if f is not None and f.height]
    if not parts:
        return {}
    return returned_to_township(pl.concat(parts, how="diagonal_relaxed"), cfg, issued, townships)


def list_sheets(rows: pl.DataFrame) -> dict[str, tuple[pl.DataFrame, dict[str, pl.DataFrame]]]:
    """The period's township rows as sent (`as_sent`) -> {township: (its list, its workbook's
    sheets)}, in the rows' order, rows without a township left out: the list without the
    township column; the sheets 汇总 (households per 风险类型, the rows withdrawn or moved out
    not counted) then one per 风险类型."""
    out = {}
    for (town,), df in rows.partition_by("township", as_dict=True, maintain_order=True).items():
        if town is None:
            continue
        sheet = df.drop("township")
        sheets = {"汇总": sheet.filter(pl.col("状态") != STATUS_WITHDRAWN, ~pl.col("状态").str.starts_with(STATUS_MOVED_OUT))
                  .group_by("风险类型").len("户数").sort("风险类型")}
        for (risk,), part in sheet.partition_by("风险类型", as_dict=True, maintain_order=True).items():
            sheets[risk] = part
        out[town] = (sheet, sheets)
    return out


def returned_to_township(
    rejected: pl.DataFrame, cfg: Config, issued: pl.DataFrame | None = None, townships: Iterable[str] = (),
) -> dict[str, pl.DataFrame]:
    """Set-aside feedback rows -> {township: frame} telling each township what was not taken and why.

    Takes `check_feedback`'s rejected rows and/or the validator's `Rejected` rows of the 反馈
    folder (values outside the allowed lists, unreadable files), and `values_not_read`'s (a
    核实日期 that could not be read, the answer taken undated: told, not set aside). The township
    is the row's `township` column when present, else the file's township (`file_township`, among
    the townships of `issued` and `townships`), else the township of the warning named in
    `record_id`; rows where none is
    known go under UNKNOWN_TOWNSHIP for the county. Columns: 文件, 行号, 预警编号, 字段 (Chinese
    header), 填报内容, 原因 (an ID number in them masked: `mask_ids`); sorted by 文件, 行号."""
    r = in_headers(rejected.with_columns(pl.col("kind").fill_null("feedback")), {"feedback": cfg.kinds["feedback"]})
    r = r.with_columns(
        (pl.col("township") if "township" in rejected.columns else pl.lit(None, pl.String)).alias("_town"))
    iss = _issued(issued if issued is not None else pl.DataFrame(schema={"warning_id": pl.String, "township": pl.String}))
    files = {f: file_township(f, _known_towns(iss, townships), cfg.matching.places)
             for f in r["file"].drop_nulls().unique().to_list()}
    # (a row of another township's warning in a file of this one, a township's rows in a merged file:
    # that township's, whose household it is; the file's township is told of its own rows only)
    file_town = pl.col("file").replace_strict(files, default=None, return_dtype=pl.String)
    theirs = pl.col("_w_town").is_not_null() & ~pl.col("_w_towns").list.contains(file_town).fill_null(False)
    r = r.join(iss.select(record_id="warning_id", _w_town="township", _w_towns="townships"), on="record_id",
               how="left").with_columns(
        _town=pl.coalesce("_town", pl.when(theirs).then("_w_town"), file_town, "_w_town"))
    out = r.sort("file", "line", nulls_last=True, maintain_order=True).select(
        pl.col("_town").fill_null(UNKNOWN_TOWNSHIP).alias("_town"),
        # (a township file: a file named after its household's ID, and a reason quoting it, masked)
        *(e.alias(c) for c, e in zip(RETURNED_COLUMNS, (mask_ids(pl.col("file")), pl.col("line"), pl.col("record_id"),
                                                         pl.col("field"), mask_ids(pl.col("value")), mask_ids(pl.col("reason"))))),
    )
    return {t: df.drop("_town") for (t,), df in out.partition_by("_town", as_dict=True, maintain_order=True).items()}

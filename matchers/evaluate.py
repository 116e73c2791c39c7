"""Measure links against ground truth, per department.

`python -m matchers.evaluate --links links.parquet --truth truth/links.csv` prints the table.
A bureau auditing a data source draws a sample to label by hand
(`--links links.parquet --inbox INBOX/2026-10 --draw 60 --out 标注样本.csv`), fills in each
row's `true_person_id` (the roster 人编号, or 无 when the record is about no roster person; rows
left blank are not scored) and passes the file back as `--truth`, as Excel or WPS saved it (CSV in
GB18030 or UTF-8, or XLSX; the inbox's reader): its numbers are compared as record numbers are
(`record_key`: Excel's 12345 is 0012345), and a row Excel destroyed a number of (1.23457E+17) or
labelled twice with different answers is named by line, not scored.
"""

from __future__ import annotations

import argparse
import math
import re
import sys
import unicodedata

import polars as pl

from config import MatchingConfig
from matchers.ids import normalize_ids
from matchers.link import id_from_record_number
from matchers.names import normalize_name
from matchers.places import normalize_place
from schemas.inputs import record_key, respelled

DECISIONS = ("matched", "review", "unmatched", "rejected")
PERIOD = re.compile(r"\d{4}-\d{2}")  # a period folder's name


def wilson_low(k: int, n: int, z: float) -> float | None:
    """The one-sided lower confidence bound (Wilson score, `z`) of a rate k / n; None when n = 0.
    A hand-labelled sample of 50 records all linked right shows precision 1.0, but only that it
    is at least 0.949 (z 1.645): what the sample can prove, not what it happened to show."""
    if not n:
        return None
    p = k / n
    centre = p + z * z / (2 * n)
    spread = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n))
    return (centre - spread) / (1 + z * z / n)


LABEL_COLUMN = "true_person_id"
# a labeller's "about no roster person", as compared: NFKC, no spaces or closing punctuation, lower case
NOT_ON_ROSTER = ("无", "否", "没有", "none", "no", "-", "—")
SAMPLE_COLUMNS = ("dept", "kind", "record_id", LABEL_COLUMN, "姓名", "证件号码", "乡镇", "村", "decision", "person_id",
                  "score", "reason")
EXCEL_EXPONENT = r"^\s*[0-9](\.[0-9]+)?[eE]\+?[0-9]+\s*$"  # a long number Excel showed, and saved, as 1.23457E+17
EXCEL_DIGITS = 15  # the significant digits Excel keeps of a number (more: zeros)
SAMPLE_LINE = "sample_line"  # a label's line in the sample file (a truth file's `line` is the delivery's)


def _header(h: str) -> str:
    """A sample's header as compared: NFKC (full-width brackets), no spaces, lower case, without a
    note in brackets after the name (true_person_id（人编号或无）)."""
    plain = re.sub(r"\s+", "", unicodedata.normalize("NFKC", str(h))).lower()
    return re.sub(r"^(.+?)\(.*\)$", r"\1", plain)


def _sample_columns(labelled: pl.DataFrame) -> pl.DataFrame:
    """A labelled sample with its columns named as `draw_sample` wrote them, however the
    spreadsheet or the labeller spelled the header; the first of two columns of one name kept."""
    names, seen = {_header(c): c for c in reversed(SAMPLE_COLUMNS)}, set()
    keep = {}
    for c in labelled.columns:
        name = names.get(_header(c), c) if c != "line" else c
        if name not in seen:
            seen.add(name)
            keep[c] = name
    return labelled.select(pl.col(c).alias(n) for c, n in keep.items())


def _answer(value: pl.Expr) -> pl.Expr:
    """A typed answer as compared with `NOT_ON_ROSTER`: 无。, ' 无 ', 无, NONE alike."""
    return (value.str.normalize("NFKC").str.replace_all(r"\s+", "")
            .str.strip_chars("。.，,、；;！!").str.to_lowercase())


def read_labels(labelled: pl.DataFrame) -> pl.DataFrame:
    """A hand-labelled sample (`draw_sample`, filled in, perhaps saved by Excel or WPS) -> truth
    rows (dept, record_id, person_id, and `SAMPLE_LINE` when the reader gave a line): the rows left blank
    are dropped, 无 (`NOT_ON_ROSTER`, however typed) is no roster person. Headers are read as
    `_header` reads them; what Excel did to the numbers is `check_labels`' and `spelled_as`'."""
    labelled = _sample_columns(labelled)
    value = pl.col(LABEL_COLUMN).cast(pl.Utf8).str.strip_chars()
    text = lambda c: pl.col(c).cast(pl.Utf8).str.strip_chars().replace("", None)  # noqa: E731
    return labelled.filter(value.is_not_null() & (value != "")).select(
        text("dept"), text("record_id"),
        pl.when(_answer(value).is_in(list(NOT_ON_ROSTER))).then(None).otherwise(value).alias("person_id"),
        *([pl.col("line").cast(pl.Int64).alias(SAMPLE_LINE)] if "line" in labelled.columns else []))


def check_labels(labels: pl.DataFrame) -> pl.DataFrame:
    """`read_labels` rows that cannot be scored as the spreadsheet left them: a record number or
    人编号 Excel wrote as 1.23457E+17 is lost, and which record or person it was is not guessed
    (one it kept 15 digits of is `check_truth`'s: only the links tell it from a number ending in
    zeros); a row without its dept or record_id; a record labelled twice with different answers
    (its number however spelled: `record_key`), each of its rows. One row per problem: dept,
    record_id, line (when read), field, problem; `evaluate` leaves them out."""
    t = labels.with_columns((pl.col(SAMPLE_LINE) if SAMPLE_LINE in labels.columns else pl.lit(None)).cast(pl.Int64)
                            .alias("line"), key=record_key(pl.col("record_id")),
                       answer=record_key(pl.col("person_id")).fill_null("无"))
    lost = lambda c: pl.col(c).str.contains(EXCEL_EXPONENT).fill_null(False)  # noqa: E731
    blank = pl.col("dept").is_null() | pl.col("record_id").is_null()
    dup = t.filter(~blank & ~lost("record_id")).filter(pl.col("answer").n_unique().over("dept", "key") > 1)
    dup = dup.with_columns(lines=pl.col("line").cast(pl.Utf8).fill_null("?").str.join(", ").over("dept", "key"))
    cols = ("dept", "record_id", "line")
    return pl.concat([
        t.filter(blank).select(*cols, field=pl.lit("dept, record_id"),
                               problem=pl.lit("已标注但没有部门或记录编号 labelled, but without its dept or record_id")),
        t.filter(~blank & lost("record_id")).select(*cols, field=pl.lit("record_id"), problem=_excel_lost()),
        t.filter(~blank & ~lost("record_id") & lost("person_id")).select(
            *cols, field=pl.lit(LABEL_COLUMN), problem=_excel_lost()),
        dup.select(*cols, field=pl.lit(LABEL_COLUMN), problem=pl.lit("同一记录有不同的标注（第 ") + pl.col("lines")
                   + pl.lit(" 行） the record is labelled more than once, with different answers (lines ") + pl.col("lines")
                   + pl.lit(")")),
    ]).sort("line", nulls_last=True)


def _excel_lost(how: str = "改写") -> pl.Expr:
    """The problem of a number Excel rewrote (as the row shows it)."""
    said = {"改写": "rewrote", "只保留前15位": "kept only the first 15 digits of"}[how]
    return pl.lit(f"Excel {how}了长数字，原值无法恢复（请从抽样文件复制原值，该列设为文本） Excel {said} a long number: it "
                  "cannot be recovered (copy it from the drawn sample into a column formatted as text)")


def spelled_as(truth: pl.DataFrame, links: pl.DataFrame, roster: pl.DataFrame | None = None) -> pl.DataFrame:
    """Truth rows with each record number spelled as the links spell it, and each 人编号 as the
    roster (or the links) does, where `record_key` says they are one (`respelled`): Excel's 12345
    is the run's 0012345, a labeller's h1-01 is H1-01. A number the links (or roster) spell two
    ways under one key, or not at all, is left as typed."""
    persons = [f.select(pl.col("person_id").cast(pl.Utf8)) for f in (links, roster) if f is not None]
    truth = respelled(truth, "record_id", links.select("dept", pl.col("record_id").cast(pl.Utf8)), ["dept"])
    return respelled(truth, "person_id", pl.concat(persons))


def _truth_records(truth: pl.DataFrame, line: bool = False) -> pl.DataFrame:
    """The scored rows of a truth file: dept, record_id, person_id (String), only rows whose
    `expect` is `record` when the column exists (not duplicates, not rejected rows), one per
    record (the last delivery's); with `line`, also the line of the labelled sample it is on
    (`SAMPLE_LINE`; null for a truth file, whose `line` is the delivery's)."""
    t = truth.filter(pl.col("expect") == "record") if "expect" in truth.columns else truth
    at = [(pl.col(SAMPLE_LINE) if SAMPLE_LINE in t.columns else pl.lit(None)).cast(pl.Int64).alias("line")]
    return t.select("dept", "record_id", person_id=pl.col("person_id").cast(pl.Utf8), *(at if line else [])).unique(
        ["dept", "record_id"], keep="last", maintain_order=True)


def draw_sample(links: pl.DataFrame, records: pl.DataFrame, per_dept: int, seed: int = 0) -> pl.DataFrame:
    """Links + the run's PersonRecord rows -> a sample to label by hand: per department
    `per_dept` person records drawn uniformly at random (all of a smaller one), whatever the
    decision, so that the labelled rows estimate precision, recall and review rate alike. One
    row per record: dept, kind, record_id, the empty `true_person_id` to fill in, what the record
    shows (姓名, 证件号码, 乡镇, 村) and what the run decided (decision, person_id, score,
    reason), sorted by dept and record_id."""
    shown = records.select("dept", "kind", "record_id", *[pl.col(c).alias(z) for c, z in (
        ("name", "姓名"), ("id_raw", "证件号码"), ("township", "乡镇"), ("village", "村")) if c in records.columns])
    per = links.join(shown, on=["dept", "kind", "record_id"]).sort("dept", "kind", "record_id")  # 水利's places aside
    return per.filter(pl.int_range(pl.len()).shuffle(seed=seed).over("dept") < per_dept).select(
        "dept", "kind", "record_id", pl.lit(None, pl.Utf8).alias(LABEL_COLUMN),
        *[c for c in ("姓名", "证件号码", "乡镇", "村") if c in shown.columns],
        "decision", "person_id", "score", "reason").sort("dept", "record_id")


def check_truth(truth: pl.DataFrame, links: pl.DataFrame, roster: pl.DataFrame | None = None) -> pl.DataFrame:
    """Truth rows (dept, record_id, person_id) that cannot be scored as given: a record the
    links do not hold, or (with the roster) a 人编号 the roster does not hold (a labeller's typo
    would otherwise read as the matcher's miss); either of them a long number Excel kept only 15
    digits of (then zeros) is said so. One row per problem: dept, record_id, line (of a labelled
    sample, as read; else null), field, problem; `evaluate` leaves them out."""
    t = _truth_records(truth, line=True).rename({"person_id": "pid"})
    cut = rf"^[0-9]{{{EXCEL_DIGITS}}}0+$"  # (more digits than Excel keeps, ending in the zeros it puts)
    problems = [t.join(links.select("dept", "record_id"), on=["dept", "record_id"], how="anti").select(
        "dept", "record_id", "line", field=pl.lit("record_id"), problem=pl.when(pl.col("record_id").str.contains(cut))
        .then(_excel_lost("只保留前15位")).otherwise(pl.lit("not in the links")))]
    if roster is not None:
        known = roster["person_id"].cast(pl.Utf8).implode()
        problems.append(t.filter(pl.col("pid").is_not_null() & ~pl.col("pid").is_in(known)).select(
            "dept", "record_id", "line", field=pl.lit(LABEL_COLUMN), problem=pl.when(pl.col("pid").str.contains(cut))
            .then(_excel_lost("只保留前15位")).otherwise(pl.lit("人编号 ") + pl.col("pid") + pl.lit(" is not on the roster"))))
    return pl.concat(problems)


SHOWN = pl.col("rname").fill_null("*")  # a record's name as shown (nothing shown: *)


def _ends(name: pl.Expr) -> dict[str, pl.Expr]:
    """A masked name's shown ends: the characters before the first * and after the last (a
    whole name: all of it, both ways)."""
    return {"pre": name.str.extract(r"^([^*]*)"), "suf": name.str.extract(r"([^*]*)$")}


def indistinguishable(records: pl.DataFrame, roster: pl.DataFrame, truth: pl.DataFrame,
                      matching: MatchingConfig) -> pl.DataFrame:
    """Per linkable record (PersonRecord + RosterPerson frames, truth with person_id): `twins`,
    how many other roster persons fit what the record shows at least as well as its true person
    T, so that no matcher can tell them apart from the record alone (it must go to review):
    every kept ID character T agrees with, they agree with too; they bear T's very name when the
    record shows a whole name, or agree with every shown character T agrees with when it is
    masked (李* fits 李红 and 李红云 alike, 张** only names of three characters or more); they
    share the township and village the record shows where T does; and, for a record of
    `matching.head_kinds` (naming a head) whose T is a head (relation in `head_relations`), they
    are heads too. The record shows the ID the matcher reads: its 证件号码, or the one its
    record number holds (学籍号 = G + ID: `link.id_from_record_number`).
    A record with twins > 0 is genuinely ambiguous: the masking, not the matcher, hides who it
    is. (What the record does not show is not asked: a department's age structure, which the
    matcher weighs, may still make one twin the likelier.)

    `census_twins`: the same for people off the roster, as far as the delivery shows them: the
    records of a complete snapshot (`complete_snapshot_kinds`, 参保名单: every insured resident
    once) that the truth puts off the roster and that show every kept ID character T agrees with
    (the same character, not a mask), T's very name when the record shows a whole name (else the
    shown characters T bears, and a name as long). The snapshot shows no place and no household, so a
    record naming a place T shares, or a head-kind record of a head, has none; nor has a
    snapshot record itself (one record per person: another record is another person)."""
    truth = _truth_records(truth).rename({"person_id": "tp"})
    t = truth.filter(pl.col("tp").is_not_null())
    col = lambda df, c: df[c].cast(pl.Utf8) if c in df.columns else pl.Series([None] * df.height, dtype=pl.Utf8)  # noqa: E731
    head_kinds, head_relations, census_kinds = (
        matching.head_kinds, matching.head_relations, matching.complete_snapshot_kinds)
    rec = id_from_record_number(normalize_ids(pl.DataFrame({
        "rid": pl.int_range(records.height, dtype=pl.UInt32, eager=True),
        "dept": records["dept"], "kind": records["kind"], "record_id": records["record_id"].cast(pl.Utf8),
        "id_raw": col(records, "id_raw"), "rname": col(records, "name"),
        "rtn": col(records, "township"), "rvn": col(records, "village")})), records, matching)
    rel = col(roster, "relation").str.strip_chars()
    ros = pl.DataFrame({"pid": roster["person_id"].cast(pl.Utf8), "pno": roster["id_number"].cast(pl.Utf8).str.strip_chars()
                        .str.to_uppercase(), "pname": col(roster, "name"), "ptn": col(roster, "township"),
                        "pvn": col(roster, "village"), "phead": rel.is_in(list(head_relations))})
    norm = lambda prefix: [normalize_name(pl.col(f"{prefix}name")).alias(f"{prefix}name"),  # noqa: E731
                           normalize_place(pl.col(f"{prefix}tn"), "township", matching.places).alias(f"{prefix}tn"),
                           normalize_place(pl.col(f"{prefix}vn"), "village", matching.places).alias(f"{prefix}vn")]
    rec, ros = rec.with_columns(norm("r")), ros.with_columns(norm("p"))
    me = rec.join(t, on=["dept", "record_id"]).join(
        ros.rename({c: "t" + c[1:] for c in ros.columns}), left_on="tp", right_on="tid")
    # the ID positions T agrees with (none when the record's ID is unusable)
    usable = pl.col("id_status").is_in(["masked", "full_valid", "full_check_failed", "destroyed"])
    me = me.with_columns(agree=pl.when(usable).then(pl.concat_str([
        pl.when((pl.col("kept").str.slice(i, 1) == "1")
                & (pl.col("id_norm").str.slice(i, 1) == pl.col("tno").str.slice(i, 1))).then(pl.lit("1")).otherwise(pl.lit("0"))
        for i in range(18)])).otherwise(pl.lit("0" * 18)))
    me = me.with_columns(whole=~SHOWN.str.contains("*", literal=True), **_ends(SHOWN))
    # Each record meets the roster persons sharing, besides those ID characters, what a twin
    # must share anyway (the whole name; or the shown first or last character T bears; the
    # village or township T shares with the record), so that an ID-less record does not meet
    # the whole roster.
    me = me.with_columns(
        nkind=pl.when(pl.col("whole")).then(pl.lit("name"))
        .when((pl.col("pre") != "") & pl.col("tname").str.starts_with(pl.col("pre"))).then(pl.lit("first"))
        .when((pl.col("suf") != "") & pl.col("tname").str.ends_with(pl.col("suf"))).then(pl.lit("last"))
        .otherwise(pl.lit("")),
        pkind=pl.when(pl.col("rvn").is_not_null() & (pl.col("tvn") == pl.col("rvn"))).then(pl.lit("vn"))
        .when(pl.col("rtn").is_not_null() & (pl.col("ttn") == pl.col("rtn"))).then(pl.lit("tn")).otherwise(pl.lit("")))
    name_key = {"name": lambda p: pl.col(f"{p}name"), "first": lambda p: pl.col(f"{p}name").str.slice(0, 1),
                "last": lambda p: pl.col(f"{p}name").str.slice(-1), "": lambda p: pl.lit("")}
    place_key = {"vn": lambda p: pl.col(f"{p}vn"), "tn": lambda p: pl.col(f"{p}tn"), "": lambda p: pl.lit("")}
    out = []
    for (agree, nkind, pkind), part in me.partition_by("agree", "nkind", "pkind", as_dict=True).items():
        pos = [i for i, c in enumerate(agree) if c == "1"]
        key = lambda p: pl.concat_str([pl.col(f"{p}no").str.slice(i, 1) for i in pos]  # noqa: E731
                                      + [name_key[nkind](p), place_key[pkind](p)], separator="|")
        pairs = part.with_columns(key=key("t")).join(ros.with_columns(key=key("p")).filter(pl.col("key").is_not_null()),
                                                     on="key")
        out.append(pairs.filter(pl.col("pid") != pl.col("tp")))
    pairs = pl.concat(out, how="diagonal") if out else me.clear()
    pre_ok = (~pl.col("tname").str.starts_with(pl.col("pre")) | pl.col("pname").str.starts_with(pl.col("pre")))
    suf_ok = (~pl.col("tname").str.ends_with(pl.col("suf")) | pl.col("pname").str.ends_with(pl.col("suf")))
    long_ok = (pl.col("tname").str.len_chars() < pl.col("rname").str.len_chars()) | (
        pl.col("pname").str.len_chars() >= pl.col("rname").str.len_chars())  # 张** shows three characters
    name_ok = pl.when(pl.col("whole")).then(pl.col("pname") == pl.col("tname")).otherwise(pre_ok & suf_ok & long_ok)
    place_ok = (
        (pl.col("rvn").is_null() | (pl.col("tvn") != pl.col("rvn")).fill_null(True) | (pl.col("pvn") == pl.col("rvn")).fill_null(False))
        & (pl.col("rtn").is_null() | (pl.col("ttn") != pl.col("rtn")).fill_null(True) | (pl.col("ptn") == pl.col("rtn")).fill_null(False)))
    head_ok = ~pl.col("kind").is_in(list(head_kinds)) | ~pl.col("thead").fill_null(False) | pl.col("phead").fill_null(False)
    twins = pairs.filter(name_ok.fill_null(False) & place_ok & head_ok).group_by("dept", "record_id").agg(twins=pl.len())
    off = truth.filter(pl.col("tp").is_null()).select("dept", "record_id")
    listed = rec.filter(pl.col("kind").is_in(list(census_kinds))).join(off, on=["dept", "record_id"])
    census = _census_twins(me, listed, census_kinds, head_kinds)
    return (me.select("dept", "record_id").join(twins, on=["dept", "record_id"], how="left")
            .join(census, on=["dept", "record_id"], how="left")
            .with_columns(pl.col("twins", "census_twins").fill_null(0).cast(pl.Int64)))


def _census_twins(me: pl.DataFrame, listed: pl.DataFrame, census_kinds: tuple[str, ...],
                  head_kinds: tuple[str, ...]) -> pl.DataFrame:
    """`indistinguishable`'s census_twins: per record of `me` (with its true person's t* columns,
    agree, whole, pre, suf), the snapshot records `listed` (off the roster) that show all of it T
    agrees with. Columns dept, record_id, census_twins."""
    placed = ((pl.col("rvn").is_not_null() & (pl.col("tvn") == pl.col("rvn")))
              | (pl.col("rtn").is_not_null() & (pl.col("ttn") == pl.col("rtn")))).fill_null(False)
    me = me.filter(~pl.col("kind").is_in(list(census_kinds)), ~placed,
                   ~(pl.col("kind").is_in(list(head_kinds)) & pl.col("thead").fill_null(False)))
    # what T agrees with of the name: all of it when whole, else the shown ends T bears
    me = me.with_columns(
        need_pre=pl.when(pl.col("whole")).then(pl.col("tname"))
        .when(pl.col("tname").str.starts_with(pl.col("pre"))).then(pl.col("pre")).otherwise(pl.lit("")),
        need_suf=pl.when(pl.col("whole")).then(pl.col("tname"))
        .when(pl.col("tname").str.ends_with(pl.col("suf"))).then(pl.col("suf")).otherwise(pl.lit("")),
        need_len=pl.when(pl.col("whole")).then(pl.col("tname").str.len_chars())
        .when(pl.col("tname").str.len_chars() >= SHOWN.str.len_chars()).then(SHOWN.str.len_chars()).otherwise(0))
    listed = listed.filter(pl.col("id_status").is_in(["masked", "full_valid"])).select(
        eno="id_norm", ekept="kept", **{"e" + k: v for k, v in _ends(SHOWN).items()}, elen=SHOWN.str.len_chars())
    found = []
    for (agree,), part in me.partition_by("agree", as_dict=True).items():
        pos = [i for i, c in enumerate(agree) if c == "1"]
        key = lambda no: pl.concat_str([pl.col(no).str.slice(i, 1) for i in pos] or [pl.lit("")])  # noqa: E731
        shows = listed.filter(pl.all_horizontal([pl.col("ekept").str.slice(i, 1) == "1" for i in pos] or [pl.lit(True)]))
        found.append(part.with_columns(key=key("id_norm")).join(shows.with_columns(key=key("eno")), on="key").filter(
            pl.col("epre").str.starts_with(pl.col("need_pre")), pl.col("esuf").str.ends_with(pl.col("need_suf")),
            pl.col("elen") >= pl.col("need_len")))
    pairs = pl.concat(found, how="diagonal") if found else me.clear().with_columns(key=pl.lit(""))
    return pairs.group_by("dept", "record_id").agg(census_twins=pl.len())


def evaluate(links: pl.DataFrame, truth: pl.DataFrame, z: float = 1.645, by_kind: bool = False,
             twins: pl.DataFrame | None = None) -> pl.DataFrame:
    """Per dept (and, `by_kind`, per extract of it: a `kind` column after `dept`): n, linkable
    (truth on roster), matched, correct_matched, precision (correct / matched), recall
    (correct / linkable), their lower confidence bounds
    precision_low / recall_low (`wilson_low`, one-sided at `z`: 1.645 = 95%), review_rate,
    wrong_person (matched to another roster person), false_link (matched, truth off roster),
    and a confusion of decision x truth: `<decision>_on` / `<decision>_off` counts.

    Truth rows whose `expect` is not `record` (duplicates, rejected rows) are left out when the
    column exists; place-level rows (水利: no person on either side) count as on-roster when
    matched is what they should be, i.e. they are reported but carry no person precision.

    With `twins` (`indistinguishable`): also `ambiguous`, the linkable records another roster
    person, or an off-roster person on the 参保名单 (`census_twins`), fits as well as their own
    (they belong in review), `ambiguous_matched`, those of them
    matched all the same (a guess, unless the record's snapshot gave the other person a record of
    their own), and `recall_resolvable`, correct
    matches among the other linkable records / their number: the recall a matcher can reach
    at all on these records, beside the plain recall that counts the ambiguous ones as misses."""
    t = _truth_records(truth).rename({"person_id": "true_pid"})
    df = links.join(t, on=["dept", "record_id"], how="inner").with_columns(
        on=pl.col("true_pid").is_not_null(),
        ok=(pl.col("decision") == "matched") & (pl.col("person_id") == pl.col("true_pid")),
    )
    if twins is not None:
        fits = pl.col("twins") + (pl.col("census_twins") if "census_twins" in twins.columns else 0)
        df = df.join(twins.select("dept", "record_id", fits=fits), on=["dept", "record_id"], how="left").with_columns(
            amb=pl.col("on") & (pl.col("fits").fill_null(0) > 0))
    agg = [
        pl.len().alias("n"),
        pl.col("on").sum().alias("linkable"),
        (pl.col("decision") == "matched").sum().alias("matched"),
        pl.col("ok").fill_null(False).sum().alias("correct_matched"),
        ((pl.col("decision") == "matched") & pl.col("on") & ~pl.col("ok").fill_null(False)).sum().alias("wrong_person"),
        ((pl.col("decision") == "matched") & ~pl.col("on") & pl.col("person_id").is_not_null()).sum().alias("false_link"),
        (pl.col("decision") == "review").mean().alias("review_rate"),
    ]
    for d in DECISIONS:
        for side, cond in (("on", pl.col("on")), ("off", ~pl.col("on"))):
            agg.append(((pl.col("decision") == d) & cond).sum().alias(f"{d}_{side}"))
    extra = []
    if twins is not None:
        agg += [pl.col("amb").sum().alias("ambiguous"),
                (pl.col("amb") & (pl.col("decision") == "matched")).sum().alias("ambiguous_matched"),
                (pl.col("ok").fill_null(False) & ~pl.col("amb")).sum().alias("correct_resolvable")]
        extra = ["ambiguous", "ambiguous_matched", "recall_resolvable"]
    keys = ["dept", "kind"] if by_kind else ["dept"]
    out = df.group_by(keys).agg(agg).sort(keys)
    person_matched = pl.col("correct_matched") + pl.col("wrong_person") + pl.col("false_link")
    return out.with_columns(
        precision=pl.when(person_matched > 0).then(pl.col("correct_matched") / person_matched),
        recall=pl.when(pl.col("linkable") > 0).then(pl.col("correct_matched") / pl.col("linkable")),
        judged=person_matched,
        **({"recall_resolvable": pl.when(pl.col("linkable") > pl.col("ambiguous")).then(
            pl.col("correct_resolvable") / (pl.col("linkable") - pl.col("ambiguous")))} if twins is not None else {}),
    ).with_columns(
        precision_low=pl.struct("correct_matched", "judged").map_elements(
            lambda r: wilson_low(r["correct_matched"], r["judged"], z), return_dtype=pl.Float64),
        recall_low=pl.struct("correct_matched", "linkable").map_elements(
            lambda r: wilson_low(r["correct_matched"], r["linkable"], z), return_dtype=pl.Float64),
    ).select(*keys, "n", "linkable", "matched", "correct_matched", "precision", "precision_low", "recall", "recall_low",
             "review_rate", "wrong_person", "false_link", *[f"{d}_{s}" for d in DECISIONS for s in ("on", "off")],
             *extra, *(["correct_resolvable"] if extra else []))


def evaluate_warnings(got: pl.DataFrame, truth: pl.DataFrame, links: pl.DataFrame | None = None) -> pl.DataFrame:
    """What the households were sent, against what they should have been: the warnings of a
    period (`warnings.parquet`: rule, household_id, record_ids) and the true ones of that period
    (the generator's `truth/warnings.csv`: the same columns, record_ids joined by ';'; a null
    household_id is a new-household lead) -> per rule: expected, issued, hit (expected ones
    issued: the same household and rule; a lead, one citing a record the true lead cites),
    correct (issued ones expected), recall, precision, missed, waiting (missed ones citing a
    record that `links` holds in review: an answer to the queue raises them, `review_impact`)
    and extra (issued, not expected). One period of a fresh warehouse: the truth knows no
    repeats to suppress."""
    def rows(df: pl.DataFrame) -> pl.DataFrame:
        ids = pl.col("record_ids")
        ids = ids.fill_null("").str.split(";") if df.schema["record_ids"] == pl.Utf8 else ids.fill_null([])
        return df.select("rule", pl.col("household_id").cast(pl.Utf8).replace("", None),
                         record_ids=ids).with_row_index("i")
    t, g = rows(truth), rows(got)
    lead = pl.col("household_id").is_null()
    by_records = (t.filter(lead).explode("record_ids").join(g.filter(lead).explode("record_ids"), on=["rule", "record_ids"])
                  .select("i", gi="i_right"))
    by_household = t.join(g, on=["rule", "household_id"]).select("i", gi="i_right")  # (null households never join)
    pairs = pl.concat([by_records, by_household])
    waits = pl.lit(False)
    if links is not None:
        waiting = links.filter(pl.col("decision") == "review")["record_id"].cast(pl.Utf8).implode()
        waits = pl.col("record_ids").list.eval(pl.element().is_in(waiting)).list.any()
    t = t.with_columns(hit=pl.col("i").is_in(pairs["i"].implode()), waits=waits)
    g = g.with_columns(correct=pl.col("i").is_in(pairs["gi"].implode()))
    expected = t.group_by("rule").agg(expected=pl.len(), hit=pl.col("hit").sum(),
                                      waiting=(~pl.col("hit") & pl.col("waits")).sum())
    issued = g.group_by("rule").agg(issued=pl.len(), correct=pl.col("correct").sum())
    return warning_rates(expected.join(issued, on="rule", how="full", coalesce=True).with_columns(
        pl.col(*WARNING_COUNTS).fill_null(0)).sort("rule"))


# the counts of an `evaluate_warnings` row, which several of its tables add up to
WARNING_COUNTS = ("expected", "issued", "hit", "correct", "waiting")


def warning_rates(counts: pl.DataFrame) -> pl.DataFrame:
    """Rows of `WARNING_COUNTS` per rule (one table's, or several summed) with their rates and
    differences, as `evaluate_warnings` gives them."""
    return counts.with_columns(
        recall=pl.when(pl.col("expected") > 0).then(pl.col("hit") / pl.col("expected")),
        precision=pl.when(pl.col("issued") > 0).then(pl.col("correct") / pl.col("issued")),
        missed=pl.col("expected") - pl.col("hit"), extra=pl.col("issued") - pl.col("correct"),
    ).select("rule", "expected", "issued", "hit", "correct", "recall", "precision", "missed", "waiting", "extra")


def warning_totals(table: pl.DataFrame) -> dict:
    """An `evaluate_warnings` table's rules added up into one row (rule `all`), with its rates."""
    return warning_rates(table.select(rule=pl.lit("all"), *[pl.col(c).sum() for c in WARNING_COUNTS])).row(0, named=True)


def calibration(links: pl.DataFrame, truth: pl.DataFrame, edges: tuple[float, ...] = (0.995, 0.999, 0.9999),
                z: float = 1.645) -> pl.DataFrame:
    """Do the links' scores mean what they say? The scored matched links (truth known), by score
    band (`edges` cut them; the first band starts at the lowest score): band, n, claimed (the
    mean score: the share the matcher expects right), correct, precision, precision_low
    (`wilson_low`). A band whose precision falls short of its claim says the scores there are too
    sure, and how far match_threshold would have to rise to reach a precision."""
    t = _truth_records(truth).rename({"person_id": "true_pid"})
    m = links.filter(pl.col("decision") == "matched", pl.col("person_id").is_not_null()).join(
        t, on=["dept", "record_id"]).with_columns(ok=(pl.col("person_id") == pl.col("true_pid")).fill_null(False))
    labels = [f"<= {edges[0]}", *[f"{a}-{b}" for a, b in zip(edges, edges[1:])], f"> {edges[-1]}"]
    out = m.with_columns(band=pl.sum_horizontal([(pl.col("score") > e).cast(pl.Int32) for e in edges])).group_by(
        "band").agg(n=pl.len(), claimed=pl.col("score").mean(), correct=pl.col("ok").sum()).sort("band")
    return out.select(pl.col("band").replace_strict(list(range(len(labels))), labels, return_dtype=pl.Utf8),
                      "n", "claimed", "correct", precision=pl.col("correct") / pl.col("n"),
                      precision_low=pl.struct("correct", "n").map_elements(
                          lambda r: wilson_low(r["correct"], r["n"], z), return_dtype=pl.Float64))


def format_calibration(table: pl.DataFrame) -> str:
    lines = [f"{'score band':<14} {'n':>8} {'claimed':>8} {'correct':>8} {'precision':>9} {'(>=)':>6}"]
    lines += [f"{r['band']:<14} {r['n']:>8} {_pct(r['claimed']):>8} {r['correct']:>8} {_pct(r['precision']):>9} "
              f"{_pct(r['precision_low']):>6}" for r in table.iter_rows(named=True)]
    lines.append("claimed = the mean score of the band's matched links (the share the matcher expects right); "
                 "precision = the share truth confirms; (>=) its one-sided 95% lower bound.")
    return "\n".join(lines)


def totals(table: pl.DataFrame, z: float = 1.645) -> dict:
    """Sum the counts of an `evaluate()` frame (person-level departments) and recompute the rates."""
    person = table.filter(pl.col("precision").is_not_null() | (pl.col("linkable") > 0))
    rates = ("precision", "precision_low", "recall", "recall_low", "review_rate", "recall_resolvable")  # recomputed
    s = person.select(pl.exclude("dept", "kind", *rates)).sum().row(0, named=True)
    judged = s["correct_matched"] + s["wrong_person"] + s["false_link"]
    s["precision"] = s["correct_matched"] / judged if judged else None
    s["recall"] = s["correct_matched"] / s["linkable"] if s["linkable"] else None
    s["precision_low"] = wilson_low(s["correct_matched"], judged, z)
    s["recall_low"] = wilson_low(s["correct_matched"], s["linkable"], z)
    s["review_rate"] = (s["review_on"] + s["review_off"]) / s["n"] if s["n"] else None
    if "ambiguous" in s:
        resolvable = s["linkable"] - s["ambiguous"]
        s["recall_resolvable"] = s["correct_resolvable"] / resolvable if resolvable else None
    return s


def _width(text: str) -> int:
    """Display width (a Chinese character takes two columns)."""
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _ljust(text: str, width: int) -> str:
    return text + " " * max(0, width - _width(text))


def _pct(v: float | None, digits: int = 4) -> str:
    return "-" if v is None else f"{v:.{digits}f}"


def format_table(table: pl.DataFrame) -> str:
    """Readable per-department (or per-extract) report: rates, counts, and decisions vs truth
    (on / off roster); with `ambiguous` (evaluate's `twins`), those records and the recall of
    the others too."""
    labels = [r["dept"] + (f" {r['kind']}" if "kind" in r else "") for r in table.iter_rows(named=True)]
    w = max([8, *map(_width, labels)])
    amb = "ambiguous" in table.columns
    head = (f"{_ljust('dept', w)} {'n':>7} {'linkable':>8} {'matched':>8} {'precision':>9} {'(>=)':>6} {'recall':>7} {'(>=)':>6} "
            + (f"{'ambig':>5} {'recall*':>7} " if amb else "") + f"{'review%':>7} "
            f"{'wrong':>5} {'false':>5} | {'match on/off':>13} {'review on/off':>13} {'unmatch on/off':>14} "
            f"{'reject on/off':>13}")
    lines = [head, "-" * len(head)]

    def row(name: str, r: dict) -> str:
        conf = [f"{r[f'{d}_on']}/{r[f'{d}_off']}" for d in DECISIONS]
        rv = None if r["review_rate"] is None else 100 * r["review_rate"]
        return (f"{_ljust(name, w)} {r['n']:>7} {r['linkable']:>8} {r['matched']:>8} {_pct(r['precision']):>9} "
                f"{_pct(r['precision_low']):>6} {_pct(r['recall']):>7} {_pct(r['recall_low']):>6} "
                + (f"{r['ambiguous']:>5} {_pct(r['recall_resolvable']):>7} " if amb else "")
                + f"{_pct(rv, 2):>7} {r['wrong_person']:>5} {r['false_link']:>5} | "
                f"{conf[0]:>13} {conf[1]:>13} {conf[2]:>14} {conf[3]:>13}")

    lines += [row(label, r) for label, r in zip(labels, table.iter_rows(named=True))]
    lines.append("-" * len(head))
    lines.append(row("TOTAL", totals(table)))
    lines.append("precision = correct / matched to a person; recall = correct / linkable (truth on roster); "
                 "(>=) = what the counts prove: the one-sided 95% lower bound (Wilson) of the rate before it; "
                 + ("ambig = linkable records another roster person (or an off-roster one on the 参保名单) fits as well "
                    "as their own (no matcher can tell "
                    "them apart: they belong in review); recall* = correct / the other linkable records; " if amb else "")
                 + "review% of records; wrong = matched to another roster person; false = matched, truth off roster; "
                 "on/off = truth on / off the roster. Place-level rows (水利) carry no person precision.")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--links", required=True, help="links.parquet")
    ap.add_argument("--truth", help="truth/links.csv, or a hand-labelled sample (CSV or XLSX, from --draw)")
    ap.add_argument("--by-kind", action="store_true", help="one row per extract (医保: settlements, enrollment)")
    ap.add_argument("--calibration", action="store_true", help="also the precision of the matched links by score band")
    ap.add_argument("--inbox", help="the period's inbox folder the links came from (e.g. inbox/2026-10): also count "
                                    "the records another roster person fits as well as their own (ambig, recall*); "
                                    "with --draw, what each drawn record shows")
    ap.add_argument("--draw", type=int, metavar="N", help="write N records per department, drawn at random, to --out "
                                                          "for labelling by hand")
    ap.add_argument("--out", help="the sample file --draw writes (CSV)")
    ap.add_argument("--seed", type=int, default=0, help="the draw's random seed")
    ap.add_argument("--period", help="score only the truth rows of this period (YYYY-MM), when the truth file has a "
                                     "period column; default: the period folder of --inbox or of --links")
    a = ap.parse_args(argv)
    if (a.draw is None) == (a.truth is None) or (a.draw is not None and not (a.out and a.inbox)):
        ap.error("give --truth to measure, or --draw N with --inbox and --out to draw a sample to label")
    from pathlib import Path

    from adapters.inbox import read_linkable, read_table
    from config import load_config
    for flag, path in (("--links", a.links), ("--truth", a.truth), ("--inbox", a.inbox)):
        if path and not Path(path).exists():
            raise SystemExit(f"{flag} {path}: no such file or folder")
    cfg = load_config()
    records, roster = None, None
    if a.inbox:
        try:
            records, roster = read_linkable(Path(a.inbox), cfg)
        except KeyError:
            periods = sorted(p.name for p in Path(a.inbox).iterdir() if p.is_dir() and p.name[:4].isdigit())
            raise SystemExit(f"--inbox {a.inbox}: no roster (户籍底册) read there; give one period's folder"
                             + (f", e.g. {Path(a.inbox) / periods[-1]}" if periods else "")) from None
    try:
        links = pl.read_parquet(a.links)
    except (OSError, pl.exceptions.PolarsError) as e:
        raise SystemExit(f"--links {a.links}: not a links.parquet ({type(e).__name__}: {str(e).splitlines()[0]})") from None
    if missing := {"dept", "kind", "record_id", "decision", "person_id"} - set(links.columns):
        raise SystemExit(f"--links {a.links}: not a links.parquet (no column {', '.join(sorted(missing))})")
    if a.draw is not None:
        from adapters.outputs import write_csv

        sample = draw_sample(links, records, a.draw, a.seed)
        write_csv(sample, Path(a.out))
        print(f"{sample.height} records drawn to {a.out}: fill in {LABEL_COLUMN} (the roster 人编号, or 无), "
              f"then: python -m matchers.evaluate --links {a.links} --truth {a.out}"
              + (f" --inbox {a.inbox}" if a.inbox else ""))
        return
    truth = None
    if Path(a.truth).suffix.lower() != ".xlsx":
        try:  # a truth file (the generator's: its `line` is the delivery's, which the reader's would hide)
            truth = pl.read_csv(a.truth, infer_schema_length=0)
        except pl.exceptions.PolarsError:
            pass
    if truth is None or LABEL_COLUMN in map(_header, truth.columns) or not {"dept", "record_id"} <= set(truth.columns):
        # a labelled sample as Excel or WPS saved it: GB18030, a BOM, XLSX, a title or 合计 row
        read = read_table(Path(a.truth), Path(a.truth).name, lambda h: _header(h) in map(_header, SAMPLE_COLUMNS))
        if isinstance(read, pl.DataFrame):
            truth = _sample_columns(read)
        elif truth is None:
            raise SystemExit(f"--truth {a.truth}: {read.problem}")
    label = LABEL_COLUMN if LABEL_COLUMN in truth.columns else "person_id"
    if missing := {"dept", "record_id", label} - set(truth.columns):
        raise SystemExit(f"--truth {a.truth}: no column {', '.join(sorted(missing))} (a truth file has dept, record_id "
                         f"and person_id; a labelled sample dept, record_id and {LABEL_COLUMN})")
    bad = []
    if label == LABEL_COLUMN:
        truth = read_labels(truth)
        if truth.is_empty():  # (a table of zeros would read as a matcher that found no one)
            raise SystemExit(f"--truth {a.truth}: no row has {LABEL_COLUMN} filled in (the roster 人编号, or 无): "
                             "nothing to score")
        bad.append(check_labels(truth))
    period = a.period or next((f.name for f in (Path(a.inbox) if a.inbox else None, Path(a.links).resolve().parent)
                               if f is not None and PERIOD.fullmatch(f.name)), None)
    if period and "period" in truth.columns:
        held = truth["period"].cast(pl.Utf8).unique().sort().to_list()
        if period not in held:
            raise SystemExit(f"--truth {a.truth}: no row of period {period} (it holds {', '.join(map(str, held))}); "
                             "give --period")
        if len(held) > 1:
            print(f"{a.truth}: scoring period {period} only ({', '.join(h for h in held if h != period)} left aside)",
                  file=sys.stderr)
            truth = truth.filter(pl.col("period").cast(pl.Utf8) == period)
    if bad:  # (the rows refused as labelled: not asked again of the links)
        truth = truth.join(bad[0].select("dept", "record_id"), on=["dept", "record_id"], how="anti", nulls_equal=True)
    truth = spelled_as(truth, links, roster)
    bad = pl.concat([*bad, check_truth(truth, links, roster)])
    if bad.height:
        print(f"{a.truth}: {bad.height} row(s) not scored:", file=sys.stderr)
        shown = bad.height if label == LABEL_COLUMN else 20  # (a hand-labelled sample's every line, to put right)
        for r in bad.head(shown).iter_rows(named=True):
            at = "" if r["line"] is None else f"line {r['line']}, {r['field']}: "
            print(f"  {at}{r['dept'] or '-'} {r['record_id'] or '-'}: {r['problem']}", file=sys.stderr)
        if bad.height > shown:
            print(f"  … {bad.height - shown} more", file=sys.stderr)
        truth = truth.join(bad.select("dept", "record_id"), on=["dept", "record_id"], how="anti", nulls_equal=True)
    twins = None
    if records is not None:
        twins = indistinguishable(records, roster, truth, cfg.matching)
    print(format_table(evaluate(links, truth, by_kind=a.by_kind, twins=twins)))
    if a.calibration:
        print("\n" + format_calibration(calibration(links, truth)))


if __name__ == "__main__":
    main()

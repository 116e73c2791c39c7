"""Header standardisation: Chinese header aliases -> internal field names, kind told by headers."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from difflib import SequenceMatcher

import polars as pl

from config import Config, KindSpec
from pipelines.validate import APPROXIMATE, EXTRA, TEMPLATE, parse_float
from schemas.outputs import LIST_STATE_COLUMNS, TOWNSHIP_COLUMNS

# A trailing unit in brackets or after a slash, e.g. 年人均纯收入（元）, （单位：元）, （元/人）, [元], /元, an ID's
# length (（18位）), or how to write a date
# (核实日期（年月日）, (yyyy-mm-dd), （格式：2026-11-05）). Not every bracket is a unit: 乡(镇) keeps its own. A header in 万元 has its values read in 元 (`standardize`).
_UNITS = r"(单位:)?(元|万元|人|户|个|个月|月|天|次|岁|%|亩)"
_UNIT = re.compile(rf"\({_UNITS}(/(人|户|年|月))?\)$"
                   rf"|/{_UNITS}$"  # after a slash: 个人自付/元
                   r"|\(\d+位(数字|字符)?\)$"  # a length: 身份证号码（18位）
                   r"|\((已?脱敏(后)?|部分隐藏|加密)\)$"  # a mask said: 身份证号（脱敏）
                   r"|\((必填|选填|可选|必填项)\)$"  # a template's note on the column
                   r"|\([^()、,]+(/[^()、,]+)+\)$"  # the values to choose from: 核实结果（属实/不属实）
                   r"|\((格式:|如:?)?(yyyy[-/.]?mm[-/.]?dd|年-?月-?日|\d{4}[-/.年]?\d{1,2}[-/.月]?\d{1,2}日?)\)$")  # a date's form
_TEN_THOUSAND = re.compile(r"\((单位:)?万元(/(人|户|年|月))?\)$|/(单位:)?万元$")
_BRACKETS = str.maketrans("[]【】〔〕〖〗", "()()()()")  # a unit in other brackets: 个人自付[元], 个人自付【元】


# a form's number before a column's name: 1.记录编号, 2、姓名, （3）证件号码, 一、证件号码, （四）金额, ①姓名
# (NFKC'd: ① is 1, （3） is (3), ． is .)
_NUMBERED = re.compile(r"^(\d{1,2}[.、:)]|\(\d{1,2}\)|[一二三四五六七八九十]{1,3}[、.:]|\([一二三四五六七八九十]{1,3}\))(?=\D)")


def _plain(h: str) -> str:
    """A header NFKC (full-width -> half-width), without whitespace, a template's required-field
    mark `*` or a form's number before the name (`_NUMBERED`: 1.记录编号 is 记录编号)."""
    t = re.sub(r"\s+", "", unicodedata.normalize("NFKC", re.sub(r"^\s*[①-⑳]", "", str(h)))).strip("*")
    return _NUMBERED.sub("", t).strip("*").translate(_BRACKETS)


def normalize_header(h: str) -> str:
    """Comparable form of a header: `_plain`, lower-case, trailing unit such as (元) removed.
    `*年人均纯收入（元） ` -> `年人均纯收入`."""
    return _UNIT.sub("", _plain(h).lower())


def says_unit(h: str) -> bool:
    """Whether a header says a unit (or form) of its own after its name: 损失金额（元）, 损失金额/万元."""
    return normalize_header(h) != _plain(h).lower()


def _in_ten_thousands(h: str) -> bool:
    return bool(_TEN_THOUSAND.search(_plain(h)))


def known_headers(cfg: Config) -> dict[str, frozenset[str]]:
    """Normalised form of every header alias of every kind -> the fields it names (`kind.field`),
    to find the header row in a file: two aliases of one field (姓名, 患者姓名) name one column."""
    out: dict[str, set[str]] = {}
    for k in cfg.kinds.values():
        for f, aliases in k.fields.items():
            for a in aliases:
                out.setdefault(normalize_header(a), set()).add(f"{k.name}.{f}")
    return {h: frozenset(fs) for h, fs in out.items()}


def resolve_headers(headers: list[str], spec: KindSpec) -> dict[str, str]:
    """field -> original header for the fields of `spec` present in `headers`.
    Aliases are tried in config order; a header serves one field only, the first header wins."""
    by_norm: dict[str, str] = {}
    for h in headers:
        by_norm.setdefault(normalize_header(h), h)
    used: set[str] = set()
    out: dict[str, str] = {}
    for field, aliases in spec.fields.items():
        for a in aliases:
            h = by_norm.get(normalize_header(a))
            if h is not None and h not in used:
                out[field] = h
                used.add(h)
                break
    return out


def field_columns(headers: list[str], spec: KindSpec) -> dict[str, list[str]]:
    """field -> every header of `headers` that reads as it: the one `resolve_headers` gives, then
    the others that `normalize_header` reads as that very header (a column added beside it, its
    name spelled with the values to choose from or a unit: 核实结果（属实/不属实） beside 核实结果),
    in column order. Another alias of the field (姓名 beside 户主姓名) is another column, not read."""
    got = resolve_headers(headers, spec)
    out = {f: [h] for f, h in got.items()}
    by_norm = {normalize_header(h): f for f, h in got.items()}
    for h in headers:
        if h not in got.values() and (f := by_norm.get(normalize_header(h))) is not None:
            out[f].append(h)
    return out


def detect_kind(headers: list[str], dept: str, cfg: Config) -> KindSpec | None:
    """The kind of the folder `dept` whose required fields all resolve (most fields resolved wins)."""
    fits = []
    for spec in cfg.kinds_in(dept):
        got = resolve_headers(headers, spec)
        if all(f in got for f in spec.required):
            fits.append((len(got), spec))
    return max(fits, key=lambda t: t[0])[1] if fits else None


def standardize(raw: pl.DataFrame, spec: KindSpec) -> pl.DataFrame:
    """Rename alias headers to field names, drop extra columns, add missing fields as null
    String; keeps `line` (and `_extra`, a field past the header, for validation; `_template`, a
    template's own row, for `validate.template_rows`). A column
    headed in 万元 (损失金额（万元）) has its numbers given in 元 (× 10,000; a value that is not a
    number stays as delivered, for validation to set aside). A field with several columns
    (`field_columns`) takes the first one's value, or where that is empty the next one's.
    Columns: the spec's fields in config order, then `line`."""
    meta = [c for c in ("line", EXTRA, TEMPLATE) if c in raw.columns]
    got = field_columns([c for c in raw.columns if c not in meta], spec)

    def one(h: str) -> pl.Expr:
        if _in_ten_thousands(h):
            yuan = (parse_float(h) * 10_000).round(4).cast(pl.String)
            # (约1.2 stays said to be about so much: 约12000.0, which validation reads and the file is told)
            about = pl.col(h).cast(pl.String).str.contains(APPROXIMATE).fill_null(False)
            return pl.when(yuan.is_not_null()).then(pl.when(about).then("约" + yuan).otherwise(yuan)).otherwise(pl.col(h).cast(pl.String))
        return pl.col(h).cast(pl.String)

    def column(f: str) -> pl.Expr:
        if f not in got:
            return pl.lit(None, pl.String).alias(f)
        hs = got[f]
        return (one(hs[0]) if len(hs) == 1 else pl.coalesce([one(h) for h in hs])).alias(f)

    return raw.select(*[column(f) for f in spec.fields], *meta)


MISFIT_SHOWN = 8  # unread headers a misfit's reason names
MISFIT_LIKE = 2  # characters an unread header shares with a missing column's name to be named first (likest first), and asked about


def asks_renamed(reason: pl.Expr) -> pl.Expr:
    """Whether a misfit's reason (`describe_misfit`) asks if a header is a column renamed
    (「是否为本人」是否即「是否本人」？), or a column without a header (…无表头的第 3 列（12 个值）是否即「是否本人」？):
    the table is the folder's own, not another folder's."""
    return reason.str.contains("是否即「", literal=True).fill_null(False)


def describe_misfit(headers: list[str], dept: str, cfg: Config, unheaded: Sequence[str] = ()) -> str:
    """Why no kind of folder `dept` fits `headers`, in one line naming the missing required
    columns per kind (by their first Chinese alias), e.g. for a 农业农村 file without 损失金额:
    `缺少必需列 missing required columns: agri: 损失金额（元）`; and the folders whose extract the
    headers fit (a file put in the wrong folder), or else the headers no kind of the folder reads
    (the column meant is often among them: 个人自付金额（元）). `unheaded`: the table's columns
    holding values under an empty header cell (`adapters.inbox.Unheaded`), as said: the first is
    asked whether it is the first column missing (its name deleted by accident)."""
    parts, aliases = [], []
    for spec in cfg.kinds_in(dept):
        got = resolve_headers(headers, spec)
        missing = [spec.fields[f][0] for f in spec.required if f not in got]
        if missing:
            parts.append(f"{spec.name}: {'、'.join(missing)}")
            aliases += [(spec.fields[f][0], normalize_header(a)) for f in spec.required if f not in got for a in spec.fields[f]]
    why = "缺少必需列 missing required columns: " + ("; ".join(parts) or f"no extract kind for folder {dept}")
    elsewhere = "、".join(f for f in cfg.folders if f != dept and detect_kind(headers, f, cfg))
    if elsewhere:
        return why + f"（表头符合 {elsewhere} 的数据，放错文件夹？ the headers fit {elsewhere}: wrong folder?）"
    # the file's headers no kind of the folder reads: the one meant is likely among them (个人自付金额)
    names = {normalize_header(a) for spec in cfg.kinds_in(dept) for al in spec.fields.values() for a in al}
    required = {normalize_header(a) for spec in cfg.kinds_in(dept) for f in spec.required for a in spec.fields[f]}
    other = [h for h in headers if normalize_header(h) not in names]
    # (a header read only as an optional column may be the required one renamed: 核实情况, a
    # clerk's added note column, for 核实结果; asked about, not said unread)
    optional = [h for h in headers if normalize_header(h) in names - required]
    # most like a missing column's name first (核实情况 for 核实结果): a returned list's own columns
    # would otherwise fill the names shown and cut the renamed one off
    like = {h: max(((SequenceMatcher(None, normalize_header(h), a).ratio(), name) for name, a in aliases
                    if len(set(normalize_header(h)) & set(a)) >= MISFIT_LIKE), default=(0.0, "")) for h in other + optional}
    other = sorted(other, key=lambda h: -like[h][0])
    shown = "、".join(other[:MISFIT_SHOWN]) + ("…" if len(other) > MISFIT_SHOWN else "")
    # a returned township list's own columns (户编号, 来源记录编号 …) are no renamed column: asking
    # whether 户编号 is the 预警编号 a clerk deleted misleads; a list missing one of its own required
    # columns is asked about that instead
    listed = {normalize_header(c) for c in [*LIST_STATE_COLUMNS, *TOWNSHIP_COLUMNS]}
    askable = sorted([h for h in other + optional if normalize_header(h) not in listed], key=lambda h: -like[h][0])
    gone = [name for name, _ in aliases if name in TOWNSHIP_COLUMNS]
    ask = ""
    if unheaded and aliases:
        ask = (f"；{unheaded[0]}是否即「{aliases[0][0]}」？请补上表头 is the column without a header meant as "
               f"'{aliases[0][0]}'? restore its header")
    elif askable and (best := like[askable[0]])[0]:
        ask = f"；「{askable[0]}」是否即「{best[1]}」？ is '{askable[0]}' meant as '{best[1]}'?"
    elif gone and 2 * sum(normalize_header(h) in listed for h in headers) >= len(listed):
        ask = (f"；下发清单的「{gone[0]}」列被删除或改名？请在下发的清单上原样保留该列填写 the list's column "
               f"'{gone[0]}' deleted or renamed? answer on the list as sent, keeping it")
    return why + (f"；未识别的表头 headers not read: {shown}" if other else "") + ask

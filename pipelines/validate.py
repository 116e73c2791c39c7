"""Validation of standardised extracts: parse strings to typed columns, check with the kind's
pandera model, set failing rows aside as `Rejected` (SPEC §3: bad rows never stop the run and
never vanish), and let later deliveries of a record supersede earlier ones."""

from __future__ import annotations

import ast
import re
import unicodedata
from collections.abc import Callable, Collection, Mapping, Sequence
from datetime import date

import pandera.polars as pa
import polars as pl

from config import Config, KindSpec
from matchers.ids import OLD_ID, check_fails, id_text, upgrade_old_id, without_words
from matchers.names import normalize_name
from schemas.inputs import (EXCEL_NUMBER, EXCEL_ZERO_TAIL, EXTRACT_MODELS, IDENTIFYING, TEXT_MARKS, PersonRecord, Rejected,
                           record_key)

REJECTED_SCHEMA = {
    "dept": pl.String, "kind": pl.String, "file": pl.String, "line": pl.Int64,
    "record_id": pl.String, "field": pl.String, "value": pl.String, "reason": pl.String,
}
_ID_FIELDS = {"id_raw", "id_number"}
# an ID number inside a value (学籍号 G + ID, 残疾人证号 = ID + 2 digits): a region code, a birth
# date, 3 digits and a check character (18), or an old 15-digit ID standing alone or followed by
# type and level digits (a 17-digit 残疾人证号 made from it); a record number that merely has many
# digits (YB3413232026100002935: no date at the right place) is not one
_DATE = r"(0[1-9]|1[0-2])(0[1-9]|[12]\d|3[01])"
_HOLDS_ID = re.compile(rf"(?=[1-6]\d{{5}}(18|19|20)\d{{2}}{_DATE}\d{{3}}[\dXx])|(?<!\d)[1-6]\d{{7}}{_DATE}\d{{3}}(\d{{2}})?(?!\d)")
_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
# A cell holding only a dash (-, —, －, --, and Excel's accounting format, which shows 0 as ` -  `
# or `¥ -` and saves it so in a CSV): nothing, i.e. an amount of 0 and no date.
_DASH = r"^[-‐‑–—―－−]+$"
# A date cell saying there is none (yet): a ledger's 解决日期 written 未解决 where the SPEC leaves
# it empty (an unresolved problem), a form's / for "not applicable". No date, as empty.
_NO_DATE = r"^(未解决|未完成|未整改|未办结|尚未解决|暂无|无|/|\\)$"
# An amount (or count) cell of a record saying there is none: 无, 暂无, a form's / for "not
# applicable". Empty, as such a date is (a required one: missing, not unparseable); not where an
# unreadable value is left empty and told back (`blank_unreadable`: the roster's 年人均纯收入 暂无).
_NO_AMOUNT = r"^(暂无|无|没有|/|\\)$"
EXTRA = "_extra"  # the column adapters.inbox gives a CSV row's field right after the header's width (filled: shifted values)
# ... and a template's own row under its header (its 填表说明 line, its 示例 row): the cell saying so
TEMPLATE = "_template"
TEMPLATE_ROW = ("填表模板的示例行或填表说明（或表格旁、表下合并单元格中的说明、备注），不是记录，未读取（请删去后报送） a template's example "
                "(示例) or instructions (填表说明) row, or a note beside or under the table, not a record: not read (delete it "
                "before delivering)")
WHOLE_ROW = "(整行 row)"  # the field named for a fault of the whole row
MAX_FIELD_CHARS = 500  # no delivered field is longer; a longer value is garbage (or an attack) and is set aside
TOO_LONG = f"值过长（超过{MAX_FIELD_CHARS}字符）"  # (the reason's words: `feedback.values_not_read` tells it apart)
_SHOW_CHARS = 60  # a rejected value is echoed back at most this long
# several required fields empty under lines that have them, or one so on many rows (a share
# MERGED_SHARE of the table's, MERGED_MIN_ROWS at least): how a sheet's merged cells (a 网格员, a
# household's 户编号 and place typed once over its rows) come out of "save as CSV"
MERGED_SHARE, MERGED_MIN_ROWS = 0.25, 5
MERGED_HINT = ("（这些值上方的行有：是否合并单元格另存为CSV？请在Excel中取消合并、向下填充后重报 the lines above "
               "have them: merged cells saved as CSV? unmerge and fill down, then deliver again）")
DUPLICATED = "编号重复 duplicated record id"  # the roster's 人编号 twice in one table on rows that differ: both set aside
# a record number, 户编号 or 人编号 that Excel turned into a float (`schemas.inputs.EXCEL_NUMBER`),
# or a record number as Excel keeps a long number (15 digits, then zeros) on several rows of a table
# (`schemas.inputs.IDENTIFYING`: the fields looked at)
EXCEL_DESTROYED = ("已被Excel截为15位有效数字（如 2.0261E+19），无法还原（请将该列设为文本后重新导出） destroyed by "
                   "Excel (a long number cut to 15 digits, e.g. 2.0261E+19): deliver again with the column as text")
# fields kept as delivered but for surrounding whitespace (no NFKC): a masked ID and a name are
# compared by the matcher in their own way; a township's 核实人 and 备注 and an analyst's 复核人
# and 复核备注 are people's words, stored and sent back as written (`户主外出，未见到人`), as is what a
# clerk wrote in a column added for the visit (核实情况: kept in 备注)
AS_WRITTEN = frozenset({"id_raw", "name", "verifier", "reviewer", "note", "situation"})


def in_headers(rejected: pl.DataFrame, kinds: Mapping[str, KindSpec]) -> pl.DataFrame:
    """Rejected rows as the people who sent them read them: `field`, and the field named at the
    start of each part of `reason` (`months_unpaid 数值不能为负 …`), in the extract's header as the
    contract names it (its kind's first alias: 连续未缴费月数; `file` is 文件). Other columns unchanged."""
    field, reason = pl.col("field"), pl.col("reason")
    present = set(rejected["kind"].drop_nulls())  # (each kind's rewriting is worked out on every row)
    for name, spec in ((k, s) for k, s in kinds.items() if k in present):
        header = {f: aliases[0] for f, aliases in spec.fields.items() if aliases} | {"file": "文件"}
        said = pl.col("reason")
        for f, h in sorted(header.items(), key=lambda kv: -len(kv[0])):
            said = said.str.replace_all(rf"(^|；){re.escape(f)} ", f"${{1}}{h} ")
        mine = pl.col("kind") == name
        field = pl.when(mine).then(pl.col("field").replace(header)).otherwise(field)
        reason = pl.when(mine).then(said).otherwise(reason)
    return rejected.with_columns(field.alias("field"), reason.alias("reason"))


_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")  # characters a report would show as nothing


def why_set_aside(rejected: pl.DataFrame | None, kinds: Mapping[str, KindSpec]) -> str:
    """`; <file>: <reason>` for the first rows of a folder set aside (`rejected`: its `Rejected`
    rows; why a roster is unusable: its headers, its encoding ...), or "" when none were (the
    folder is empty or missing). Each reason once, without the value it quotes, its fields named
    as `kinds` head them (every row's 人编号 destroyed by Excel was said twice, each with its
    value, as person_id)."""
    if rejected is None or rejected.is_empty():
        return ""
    rejected = in_headers(rejected, kinds).with_columns(pl.col("reason").str.replace(r": '.*'$", ""))
    first = rejected.unique(["file", "reason"], keep="first", maintain_order=True).head(2)
    return "".join(f"; {r['file']}: {r['reason']}" for r in first.iter_rows(named=True))


def mask_value(v: str | None, field: str | None = None) -> str | None:
    """Keep the first 6 and last 4 characters of a value of an ID field or holding an ID number
    (Article 27); a value longer than the longest real field is cut short (`…(N字符)`) so no
    report echoes a huge blob; a control character (a NUL a damaged file holds) is shown as
    its code (backslash, x, 00), not as nothing."""
    if v is None:
        return v
    v = _CONTROL.sub(lambda m: f"\\x{ord(m.group()):02x}", v)
    if len(v) > MAX_FIELD_CHARS:
        return mask_value(v[:_SHOW_CHARS], field) + f"…({len(v)}字符 chars)"
    if len(v) <= 10 or not (field in _ID_FIELDS or _HOLDS_ID.search(v)):
        return v
    return v[:6] + "*" * (len(v) - 10) + v[-4:]


def _text(c: str) -> pl.Expr:
    return pl.col(c).cast(pl.String).str.normalize("NFKC").str.strip_chars()


_CN_DIGITS = dict(zip("〇零一二三四五六七八九", "00123456789"))


def _in_digits(s: pl.Expr) -> pl.Expr:
    """A date in Chinese numerals (二〇二六年十月五日: Excel's and WPS's Chinese date format, as a
    CSV saved from it holds it) in digits; other text as it is. 十 is 10, 十五 15, 二十 20, 三十一 31."""
    t = (s.str.replace_all(r"([一二三])十([一二三四五六七八九])", "${1}${2}").str.replace_all(r"([一二三])十", "${1}〇")
         .str.replace_all(r"十([一二三四五六七八九])", "一${1}").str.replace_all("十", "一〇"))
    t = t.str.replace_many(list(_CN_DIGITS), list(_CN_DIGITS.values()))
    return pl.when(s.str.contains(r"^[〇零一二三四五六七八九]{4}年")).then(t).otherwise(s)


# A month.day typed into a cell formatted as a date (`10.15`, `10.10`) is still a number to Excel,
# shown as a day of January 1900 with the decimals as its time of day: a workbook reads
# `1900-01-10 03:36:00`. No visit is dated so: in an answer it is the number, as typed (`10.15`).
_TYPED_INTO_DATE_CELL = r"^1900-01-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})$"


def _let(value: pl.Expr, body: Callable[[pl.Expr], pl.Expr]) -> pl.Expr:
    """`body(v)`, `v` standing for `value` worked out once. A polars expression used N times is N
    copies of its tree, each evaluated and its patterns compiled: an answer's date read so was a
    119 KB tree, ~0.1 s a file however few its rows, twice (value and unparseable flag)."""
    return pl.struct(value.alias("_v")).struct.with_fields(body(pl.field("_v")).alias("_r")).struct.field("_r")


def _as_typed(t: pl.Expr) -> pl.Expr:
    """Text `t` -> the month.day Excel keeps as a January 1900 date-time (`_TYPED_INTO_DATE_CELL`)
    as the number typed (`1900-01-10 03:36:00` -> `10.15`, `02:24:00` -> `10.1`); other text as is.
    (`t`, its groups and the hundredths each worked out once: `_let`.)"""
    x = pl.struct(t.alias("t")).struct.with_fields(pl.field("t").str.extract_groups(_TYPED_INTO_DATE_CELL).alias("g"))
    g = pl.field("g")
    seconds = g.struct[1].cast(pl.Int64) * 3600 + g.struct[2].cast(pl.Int64) * 60 + g.struct[3].cast(pl.Int64)
    x = x.struct.with_fields((seconds * 100 / 86400).round(0).cast(pl.Int64).alias("cents"))
    cents = pl.field("cents")
    decimals = pl.when(cents % 10 == 0).then((cents // 10).cast(pl.String)).otherwise(
        cents.cast(pl.String).str.zfill(2))
    typed = pl.format("{}.{}", g.struct[0].cast(pl.Int64), decimals)
    t = pl.field("t")
    return x.struct.with_fields(pl.when(t.str.contains(_TYPED_INTO_DATE_CELL) & (cents > 0) & (cents < 100))
                                .then(typed).otherwise(t).alias("_r")).struct.field("_r")


def _date_text(c: str, answer: bool = False) -> pl.Expr:
    """Column `c` as `_readings` reads it: a weekday taken off, Chinese numerals in digits, 号 as 日.
    `answer`: a month.day typed into a date cell is read as typed (`_as_typed`)."""
    s = _as_typed(_text(c)) if answer else _text(c)
    s = s.str.replace(r"\s*\(?(星期|礼拜|周)[一二三四五六日天]\)?", "")  # (Excel's 2026年10月5日星期一)
    s = _in_digits(s)
    s = s.str.replace(r"(\d)\s*号", "${1}日").str.replace_all(r"(\d)\s*([年月])\s*(\d)", "${1}${2}${3}")
    return s.str.replace(r"(\d)\s+日", "${1}日")


def _readings(s: pl.Expr) -> tuple[pl.Expr, pl.Expr, pl.Expr, pl.Expr, pl.Expr]:
    """`parse_date`'s readings of the text `s` (`_date_text` of a column): the text (a time after
    it taken off), and the date it is read as an Excel serial, as year-month-day, as 8 digits, as
    a month without its day (null where it is not). Each reads `s` several times: bind it first (`_let`)."""
    # (the cast not strict: under `_let` a failing cast raises on rows the `when` leaves out too, a
    # long number's; five digits always cast)
    serial = pl.when(s.str.contains(r"^\d{5}(\.\d+)?$")).then(
        pl.lit(date(1899, 12, 30)) + pl.duration(days=s.cast(pl.Float64, strict=False).floor().cast(pl.Int64, strict=False))
    )
    # (a time after the date, 9:30 or 9时30分, of the morning or afternoon as a Chinese locale writes it: 下午 3:30:00)
    s = s.str.replace(r"(\s+|T|日)\s*(上午|下午|中午|晚上|早上|凌晨)?\s*\d{1,2}[:时点].*$", "")
    d = s.str.replace_all(r"[年月/.‐‑–—]", "-").str.replace(r"日$", "")
    ymd = pl.when(d.str.contains(r"^\d{4}-\d{1,2}-\d{1,2}$")).then(d.str.strptime(pl.Date, "%Y-%m-%d", strict=False))
    compact = pl.when(d.str.contains(r"^\d{8}$")).then(d.str.strptime(pl.Date, "%Y%m%d", strict=False))
    m = d.str.replace_all(r"\s+", "")
    month = (pl.when(m.str.contains(r"^\d{4}-\d{1,2}-?$")).then(m.str.strip_chars_end("-"))
             .when(m.str.contains(r"^(19|20)\d{2}(0[1-9]|1[0-2])$")).then(pl.concat_str([m.str.slice(0, 4), m.str.slice(4)], separator="-")))
    return s, serial, ymd, compact, (month + "-1").str.strptime(pl.Date, "%Y-%m-%d", strict=False)


def parse_date(c: str, latest: date | None = None) -> pl.Expr:
    """`2026-10-05`, `2026/10/5`, `2026.10.5`, `20261005`, `2026年10月5日`, `2026–10–05` (another
    dash), an Excel serial (`46300`), or any of these followed by a time (`9:30`, `9时30分`; after 日
    with or without a space, `2026年10月5日9时30分`; a date without its year too, `12月7日9时`) ->
    Date; anything else (a dash: no date) -> null. With `latest`, a date typed without its year (`12.7`, `12月7日`, `12/7`) takes the year that
    puts it on or before `latest` (the latest it may be), the nearest such. The day may be written
    号 as it is said (`2026年11月3号`, `11月3号`), and spaces around 年 and 月 (`2026 年 11 月 3 日`)
    do not count. A month without its day (`2026年10月`, `2026-10`, `202610`: a ledger's 解决日期, a
    change of benefit by the month) is its first day, not no date (an empty 解决日期 is an
    unsolved problem); not in answers (`latest` given), whose 核实日期 says the day of a visit."""
    def read(s: pl.Expr) -> pl.Expr:  # (the text read once, its readings of it: `_let`)
        s, serial, ymd, compact, ym = _readings(s)
        return pl.coalesce(serial, ymd, compact, ym if latest is None else _without_year(s, latest))
    return _let(_date_text(c, latest is not None), read)


def _without_year(s: pl.Expr, latest: date) -> pl.Expr:
    """A month and day without the year (`12.7`, `12月7日`, `12/7`) -> that day in the year that
    puts it on or before `latest`, the nearest such; null for other text or no such day."""
    md = s.str.extract_groups(r"^(\d{1,2})[月./-](\d{1,2})日?$")
    in_year = lambda y: pl.format("{}-{}-{}", pl.lit(y), md.struct[0], md.struct[1]).str.strptime(  # noqa: E731
        pl.Date, "%Y-%m-%d", strict=False)
    this = in_year(latest.year)
    return pl.when(this <= pl.lit(latest)).then(this).otherwise(in_year(latest.year - 1))


# A date typed as month.day on the 10th, 20th or 30th (`11.10`) is a number to Excel and WPS: the
# cell keeps 11.1, and so does a CSV saved from it. What such a cell reads as: a month (no leading
# zero: Excel writes none), a point, one digit 1 to 3. Not `11月1日`, `11/1`, `2026.11.1` (text to
# Excel, kept as typed), nor `11.01` or `１１.１` (no number is written so).
EXCEL_TENS = r"^(?:[1-9]|1[0-2])\.[1-3]$"
TENS = "_tens"  # a model's `<date field>_tens` column: `tens_date` of that field (`schemas.inputs.Feedback`)


def tens_date(c: str, latest: date) -> pl.Expr:
    """Column `c`'s value of the shape Excel leaves of a month.day typed on the 10th, 20th or 30th
    (`EXCEL_TENS`: `11.1` for `11.10`) -> the date `parse_date` would have read from what was
    typed (`11.10`: the 10th, the year as for any date without one, by `latest`); null for any
    other value, or no such day (`2.3`: no 30 February)."""
    return _let(_as_typed(pl.col(c).cast(pl.String).str.strip_chars()),
                lambda t: pl.when(t.str.contains(EXCEL_TENS)).then(_without_year(t + "0", latest)))


DETAIL = "_detail"  # a model's `<code field>_detail` column: `code_detail` of that field (`schemas.inputs.Feedback`)


def code_detail(c: str, words: Collection[str] = ()) -> pl.Expr:
    """Column `c`'s words in brackets after its code, which the code is read without (`_field_exprs`:
    不属实（已外出） is 不属实) -> those words (已外出), else null; given the field's code `words`,
    also those after a comma, semicolon, colon or 、 (不属实，已外出) holding none of them
    (`_after_code`)."""
    t = _text(c).str.replace(r"[.。,，;；!！、\s]+$", "")
    d = t.str.extract(r".\(([^()]*)\)$").str.strip_chars()
    if words:
        d = pl.coalesce(d, _after_code(t, words).str.strip_chars())
    return pl.when(d != "").then(d)


def _after_code(t: pl.Expr, words: Collection[str]) -> pl.Expr:
    """A code cell's text (NFKC) -> what follows its first comma, semicolon, colon or 、 when the
    text before it holds no bracket and what follows names none of the field's code `words` (属实，
    已外出: 已外出; 属实，不属实 names two answers: null, the cell is no code and is told back)."""
    rest = t.str.extract(r"^[^,;:、()]+[,;:、](.+)$")
    named = pl.any_horizontal([rest.str.contains(w, literal=True) for w in sorted(words)])
    return pl.when(~named.fill_null(True)).then(rest)


def _id_number(c: str) -> pl.Expr:
    """A roster's 身份证号 as typed -> its text: no spaces, no leading apostrophe, upper case, without
    the name typed beside it (`matchers.ids.without_words`)."""
    return without_words(_text(c).str.replace_all(r"\s", "").str.strip_chars_start(TEXT_MARKS).str.to_uppercase())


def old_id_lines(df: pl.DataFrame) -> list[int]:
    """The lines of a roster table (standardised strings `df`, with `line`) whose 身份证号 is an
    old 15-digit one, read as the 18-character ID it became (`matchers.ids.upgrade_old_id`):
    what the file is told (the roster should hold the new ID)."""
    if "id_number" not in df.columns:
        return []
    return df.filter(_id_number("id_number").str.contains(OLD_ID).fill_null(False))["line"].to_list()


def numbered_within_households(df: pl.DataFrame, spec: KindSpec) -> tuple[pl.DataFrame, list[int]]:
    """A roster table (standardised strings `df`, with `line`) whose 人编号 counts persons within
    each household (1, 2, 3 under every 户编号: most rows share theirs with another household's
    row) -> (the table with 人编号 read as 户编号-人编号, H0001-1; the lines so read). Taken as
    given, each number would be many persons', every row set aside as duplicated and the run
    refused for want of a roster. A 人编号 numbering the county's persons (at most a slip shared
    across households) is left as given: (table, []); so is a number Excel destroyed (shared for
    that: `EXCEL_NUMBER`, `EXCEL_ZERO_TAIL`), for `validate` to set aside saying so."""
    key, home = spec.record_id, "household_id"
    if key == home or key not in df.columns or home not in df.columns or df.is_empty():
        return df, []
    clean = lambda c: _text(c).str.strip_chars_start(TEXT_MARKS).str.strip_chars()  # noqa: E731 - as both are typed
    usable = lambda e: (e != "") & ~e.str.contains(EXCEL_NUMBER) & ~e.str.contains(EXCEL_ZERO_TAIL)  # noqa: E731
    t = df.select(_p=clean(key), _h=clean(home), both=usable(clean(key)) & usable(clean(home)))
    known = t.filter(pl.col("both").fill_null(False))
    shared = known.filter(pl.col("_h").n_unique().over("_p") > 1).height
    if not known.height or shared * 2 <= known.height:
        return df, []
    both = t["both"].fill_null(False)
    return (df.with_columns(pl.when(both).then(t["_h"] + "-" + t["_p"]).otherwise(pl.col(key)).alias(key)),
            df.filter(both)["line"].to_list())


def month_only_lines(df: pl.DataFrame, spec: KindSpec) -> dict[str, list[int]]:
    """Per date field of the kind's model (standardised strings `df`, with `line`), the lines
    whose value `parse_date` reads as a month without its day (its first day): what the file is
    told. Only the values not plain already (`PLAIN`) are read again."""
    columns = EXTRACT_MODELS[spec.name].to_schema().columns
    plain = PLAIN[pl.Date][0]
    found = {}
    for f in [f for f, c in columns.items() if c.dtype.type == pl.Date and f in df.columns]:
        other = df.select(f, "line").filter(~pl.col(f).cast(pl.String).str.contains(plain).fill_null(True))
        def month(s: pl.Expr) -> pl.Expr:  # (the text read once: `_let`)
            _, serial, ymd, compact, ym = _readings(s)
            return (pl.coalesce(serial, ymd, compact).is_null() & ym.is_not_null()).fill_null(False)
        if lines := other.filter(_let(_date_text(f), month))["line"].to_list():
            found[f] = lines
    return found


# a year given as the period it spans (参保年度 2026-2027, 2026至2027年度, 2026—2027学年)
_YEARS = r"^((?:19|20)\d{2})\s*年?\s*(?:[-~～〜—–－/]|至|到)\s*((?:19|20)\d{2})\s*(?:年度?|学年|年)?$"


def years_of_period(df: pl.DataFrame, spec: KindSpec, period_year: int | None) -> tuple[pl.DataFrame, list[int]]:
    """A snapshot's year (`KindSpec.snapshot_year`: 参保名单's 参保年度) given as the years it spans
    (`2026-2027`) -> the period's year where those years hold it (`2026` in 2026-10, in 2027-01
    `2027`), and the lines so read (what the file is told). One that does not hold it, or without
    a period, is left as written: `validate` sets its row aside, the value being a range
    (`_reason`). `2026年度` needs nothing: `parse_int` reads it."""
    f = spec.snapshot_year
    if not f or f not in df.columns or period_year is None:
        return df, []
    g = df[f].cast(pl.String).str.normalize("NFKC").str.strip_chars().str.extract_groups(_YEARS)
    holds = (g.struct[0].cast(pl.Int64) <= period_year) & (g.struct[1].cast(pl.Int64) >= period_year)
    holds = holds.fill_null(False)
    if not holds.any():
        return df, []
    return df.with_columns(pl.when(holds).then(pl.lit(str(period_year))).otherwise(pl.col(f)).alias(f)), df.filter(holds)["line"].to_list()


# a date written day and month before the year (10/5/2026, 25.10.2026: an export of a system set to
# another locale), a time after it allowed: which of the two is the month only a day over 12 tells
_DAY_MONTH = r"^(\d{1,2})\s*([/.-])\s*(\d{1,2})\s*[/.-]\s*((?:19|20)\d{2})((?:\s+|T).*)?$"
AMBIGUOUS_ORDER = "月、日顺序不明"  # (the reason's words: `_reason`)
# a date whose year is written with two digits (10/5/26, 26.10.05): which number is the year, and
# which century, is a guess (the reason asks for the year in full)
_SHORT_YEAR = r"^(\d{1,2}\s*([/.-])\s*\d{1,2}\s*\2\s*\d{2}|\d{2}\s*([/.-])\s*\d{1,2}\s*\3\s*\d{1,2})$"


def dates_in_order(df: pl.DataFrame, spec: KindSpec) -> tuple[pl.DataFrame, dict[str, tuple[str, int, str]]]:
    """A table (standardised strings `df`, with `line`) whose date fields hold dates written with the
    year last (`10/5/2026`, `_DAY_MONTH`) -> the table with those dates written year first
    (`2026-10-05`), read as the column says: a day over 12 in one of its dates (`10/25/2026`) fixes
    the order, month first or day first, for the whole column; a date whose two numbers are equal,
    or one of them over 12, says its own. A date of a column that does not say (no day over 12, or
    both orders in it) is left as written: `validate` sets its row aside saying the order is not
    known (`AMBIGUOUS_ORDER`). Also: per field whose order its column fixed, (the order, `M/D/Y` or
    `D/M/Y`, the line and value that fixed it), what the file is told."""
    columns = EXTRACT_MODELS[spec.name].to_schema().columns
    said, out = {}, []
    for f in [f for f, c in columns.items() if c.dtype.type == pl.Date and f in df.columns]:
        t = df[f].cast(pl.String).str.normalize("NFKC").str.strip_chars()
        g = t.str.extract_groups(_DAY_MONTH)
        if g.struct[0].is_null().all():
            continue
        a, b = g.struct[0].cast(pl.Int64), g.struct[2].cast(pl.Int64)
        month_first, day_first = (b > 12) & (a <= 12), (a > 12) & (b <= 12)
        order = None
        if month_first.any() and not day_first.any():
            order, at = "M/D/Y", month_first.arg_true()[0]
        elif day_first.any() and not month_first.any():
            order, at = "D/M/Y", day_first.arg_true()[0]
        month = (pl.when(month_first | (a == b)).then(a).when(day_first).then(b)
                 .when(pl.lit(order == "M/D/Y")).then(a).when(pl.lit(order == "D/M/Y")).then(b))
        day = pl.when(month == a).then(b).otherwise(a)
        v = pl.DataFrame({"t": t, "g": g}).select(pl.when(month.is_not_null()).then(pl.format(
            "{}-{}-{}{}", pl.col("g").struct[3], month, day, pl.col("g").struct[4].fill_null(""))).otherwise(pl.col("t"))
        ).to_series().alias(f)
        out.append(pl.when(g.struct[0].is_not_null()).then(v).otherwise(pl.col(f)).alias(f))
        if order:
            said[f] = (order, df["line"][at], t[at])
    return (df.with_columns(out) if out else df), said


_ABOUT = r"^(?:大约|约计|约合|约)(\d)"  # before a number: 约500
# a number said approximately: 约500, 500左右, 500元左右, 5千多, 500余元
APPROXIMATE = rf"{_ABOUT}|\d\s*[十百千万亿]?\s*(元|万元)?\s*(左右|上下|余|多)"
# a range for one number (500-600, 500~600, 500至600元): no amount to read, the row set aside saying so
_RANGE = r"^\d[\d,.]*\s*[十百千万]?\s*(元|万元)?\s*([-~～〜—–－]|至|到)\s*\d[\d,.]*\s*[十百千万]?\s*(元|万元)?$"


def approximate_lines(df: pl.DataFrame, spec: KindSpec) -> dict[str, list[int]]:
    """Per number field of the kind's model (standardised strings `df`, with `line`), the lines
    whose value is said to be about so much (约500, 500左右, 5千多: `APPROXIMATE`), read as that
    number (`parse_float`): what the file is told, the figure being not exact."""
    columns = EXTRACT_MODELS[spec.name].to_schema().columns
    found = {}
    for f in [f for f, c in columns.items() if c.dtype.type in (pl.Float64, pl.Int64) and f in df.columns and f != "line"]:
        said = df.select(f, "line").filter(pl.col(f).cast(pl.String).str.contains(APPROXIMATE).fill_null(False))
        if lines := said.filter(parse_float(f).is_not_null())["line"].to_list():  # (few rows parsed: a city's millions are not)
            found[f] = lines
    return found


_SCALES = {"十": 10.0, "百": 100.0, "千": 1e3, "万": 1e4, "十万": 1e5, "百万": 1e6, "千万": 1e7, "亿": 1e8}


def parse_float(c: str) -> pl.Expr:
    """Amounts: thousands separators, `元`/`¥`, full-width digits, inner spaces allowed, a unit
    after the number (`3个月`, `120元`; `1.5万`, `1.5万元` are 15,000, `5千元` 5,000) and what it
    is per (`500元/月`); a dash alone is 0 (`_DASH`). (The text, the number and its scale each
    worked out once: `_let`.)"""
    def read(t: pl.Expr) -> pl.Expr:
        s = t.str.replace(r"[\u4e00-\u9fff]+$", "")
        unit = t.str.extract(r"([\u4e00-\u9fff]+)$", 1)
        # (5千元 is 5,000: a 千 or 百 was dropped with the unit and 5千 read as 5)
        scale = unit.str.extract(r"^([十百千万亿]+)", 1).replace_strict(_SCALES, default=1.0, return_dtype=pl.Float64)
        return pl.struct(s=s, f=s.cast(pl.Float64, strict=False), scale=scale)
    # (what it is per, after the unit: 月救助金额 500元/月, 年人均纯收入 7685元/人, 个人负担 8000/学年)
    # (an amount said to be about so much, 约500 or 500左右: that amount, the file told, `approximate_lines`)
    x = _let(_text(c).str.replace_all(r"[,，\s¥￥]", "").str.replace(r"(\d|[\u4e00-\u9fff])/[\u4e00-\u9fff·]+$", "$1")
             .str.replace(_ABOUT, "${1}"), read)
    s, f, scale = pl.field("s"), pl.field("f"), pl.field("scale")
    x = x.struct.with_fields(  # (0.57 x 10,000 is 5,699.999999999999: as `standardize`'s 万元)
        pl.when(scale != 1.0).then((f * scale).round(4)).otherwise(f).alias("f"))
    return x.struct.with_fields((pl.when(s.str.contains(_NUMBER) & f.is_finite()).then(f)  # `1e999` is not an amount
                                 .when(s.str.contains(_DASH)).then(pl.lit(0.0))).alias("_r")).struct.field("_r").alias(c)


def _cn_count(n: int) -> str:
    """1-99 in Chinese numerals, as a count is written by hand (三, 十二, 二十)."""
    tens, ones = divmod(n, 10)
    return ("" if tens < 2 else "一二三四五六七八九"[tens - 1]) + ("十" if tens else "") + ("一二三四五六七八九"[ones - 1] if ones else "")


_CN_COUNTS = {_cn_count(n): n for n in range(1, 100)} | {"两": 2, "零": 0}


def parse_int(c: str) -> pl.Expr:
    """`3`, `3.0`, `３`, `3个月`, `三个月`, `十二` -> 3 (12); `3.5` -> null."""
    cn = _text(c).str.replace_all(r"\s", "").str.extract(r"^([一二两三四五六七八九十零]+)(?:个|名|口)?(?:月|人|户|次)?$", 1)
    whole = _let(parse_float(c), lambda f: pl.when(f == f.floor()).then(f.cast(pl.Int64, strict=False)))
    return pl.coalesce(whole, cn.replace_strict(_CN_COUNTS, default=None, return_dtype=pl.Int64)).alias(c)


def parse_months(c: str) -> pl.Expr:
    """A count of months (连续未缴费月数) as `parse_int` reads it, but given in years too: `1年` is 12,
    `1年6个月` 18, `半年` 6 (`parse_int` dropped the 年 and read `1年` as 1)."""
    t = _text(c).str.replace_all(r"\s", "")
    years = t.str.extract_groups(r"^(\d{1,2}(?:\.5)?)年(?:(\d+)个?月)?$")
    n = years.struct[0].cast(pl.Float64, strict=False) * 12 + years.struct[1].cast(pl.Float64, strict=False).fill_null(0)
    return (pl.when(t == "半年").then(pl.lit(6, pl.Int64)).when(n.is_not_null()).then(n.cast(pl.Int64))
            .otherwise(parse_int(c)))


def _code_words(col, spellings: Mapping[str, str] | None) -> set[str]:
    """A code column's (pandera) allowed values and their other spellings (`KindSpec.codes`), NFKC."""
    allowed = [v for ch in col.checks if ch.name == "isin" for v in ch.statistics["allowed_values"]]
    words = {*allowed, *(spellings or {}), *(spellings or {}).values()}
    return {unicodedata.normalize("NFKC", w) for w in words}


def _codes(model) -> set[str]:
    return {n for n, col in model.to_schema().columns.items() if any(ch.name == "isin" for ch in col.checks)}


DEDUP_BELOW = 0.5  # parse a column's distinct values once when they are fewer than this share of rows
DEDUP_PROBE = 10_000  # ... as far as its first rows tell
# Values already in plain ASCII form (`1234.50`, `3`, `2026-10-05`; not `１２３`) parse with one
# cast: the full parser (widths, separators, units, other date forms) runs only on the others.
PLAIN = {
    pl.Float64: (r"^-?[0-9]{1,15}(\.[0-9]{1,6})?$", lambda e: e.cast(pl.Float64, strict=False)),
    pl.Int64: (r"^-?[0-9]{1,15}$", lambda e: e.cast(pl.Int64, strict=False)),
    pl.Date: (r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", lambda e: e.str.strptime(pl.Date, "%Y-%m-%d", strict=False)),
}


def _field_exprs(name: str, dt, codes: set[str], spellings: Mapping[str, str] | None = None,
                 latest: date | None = None, none_said: bool = False, words: Collection[str] = ()
                 ) -> tuple[pl.Expr, pl.Expr | None, pl.Expr | None]:
    """(typed value, unparseable flag or None, too-long flag or None) of one field; each a
    function of that column's raw value only. `spellings`: a code field's other spellings of its
    values (`KindSpec.codes`), given the SPEC's; `latest`: see `parse_date`; `none_said`: a number
    written as none (`_NO_AMOUNT`: 无) is empty, not unparseable; `words`: a code field's code
    words when the model keeps its details (`DETAIL`): a code followed by a comma and the clerk's
    words (不属实，已外出) is read as the code (`_after_code`)."""
    too_long = None
    if dt == pl.String:
        too_long = pl.col(name).cast(pl.String).str.len_chars().fill_null(0) > MAX_FIELD_CHARS
    parser = {pl.Date: lambda c: parse_date(c, latest), pl.Float64: parse_float, pl.Int64: parse_int}.get(dt)
    if name == "months_unpaid":
        parser = parse_months
    fail = None
    if parser is not None:
        e = parser(name)
        fail = (_text(name).fill_null("") != "") & ~_text(name).str.contains(_DASH).fill_null(False) & e.is_null()
        if dt == pl.Date:
            fail = fail & ~_text(name).str.contains(_NO_DATE).fill_null(False)
        elif none_said:
            fail = fail & ~_text(name).str.contains(_NO_AMOUNT).fill_null(False)
    elif name in codes:
        # (a detail in brackets after the code is not part of it: 门诊慢特病（高血压）, 低保（农村）; nor
        # the full stop a clerk ends a cell with: 属实。)
        e = (_text(name).str.replace_all(r"\s", "").str.replace(r"(.)[.。,，;；!！、]+$", "$1")
             .str.replace(r"(.)\([^()]*\)$", "$1"))
        if words:
            e = pl.when(_after_code(e, words).is_not_null()).then(e.str.replace(r"[,;:、].*$", "")).otherwise(e)
        if spellings:
            e = e.replace(dict(spellings))
    elif name == "id_number":  # (an old 15-digit one: the ID it became, `old_id_lines` names them)
        e = _id_number(name)
        e = pl.when(e.str.contains(OLD_ID)).then(upgrade_old_id(e)).otherwise(e)
    elif name in AS_WRITTEN:
        e = pl.col(name).cast(pl.String).str.strip_chars()
    elif name == "relation":  # (`户 主` spaced to line up in Excel is 户主: `matching.head_relations` is compared as written)
        e = _text(name).str.replace_all(r"\s", "")
    elif name == "record_id":  # (a leading apostrophe is Excel's mark of text, as on an ID: `'JS1` is JS1's delivery;
        # a number a program wrote as a decimal, 2026100000205.0, is that number's; kept as spelled
        # otherwise: its zeros and case are compared away where records are, `record_key`)
        e = _text(name).str.strip_chars_start(TEXT_MARKS).str.strip_chars().str.replace(r"^(\d+)\.0+$", "${1}")
    else:
        e = _text(name)
    if dt == pl.String:
        e = pl.when(e != "").then(e)
    return e, fail, too_long


def _parsed(df: pl.DataFrame, spec: KindSpec, model, latest: date | None = None
            ) -> tuple[pl.DataFrame, pl.DataFrame, list[str], pl.DataFrame]:
    """Typed columns, one boolean column per parsed field flagging unparseable values, and one
    per text field flagging values over MAX_FIELD_CHARS. A model's `<date field>_tens` column
    (`TENS`), in answers (`latest` given), is `tens_date` of that field; a `<code field>_detail`
    column (`DETAIL`) is `code_detail` of that field.

    Every value is a function of its own raw cell. A date or number column's plain values
    (`PLAIN`) are read with one cast and the full parser runs on its other values only (~50
    regular expressions a column, compiled at each evaluation: ~5 ms a column however few its
    rows, most of a small table's reading); a column with few distinct values (codes, places) is
    parsed once per distinct value and joined back; the others are parsed in one lazy pass (each
    parser evaluated once for value and flag)."""
    schema = model.to_schema().columns
    codes = _codes(model)
    cols: dict[str, pl.Series] = {}
    fail_cols: dict[str, pl.Series] = {}
    long_cols: dict[str, pl.Series] = {}
    direct: list[tuple[str, pl.Expr, pl.Expr | None, pl.Expr | None]] = []
    n = df.height
    for name, col in schema.items():
        if name in ("dept", "kind", "file", "line"):
            continue
        dt = col.dtype.type
        if name.endswith(TENS) and latest is not None and name.removesuffix(TENS) in df.columns:
            cols[name] = df.select(tens_date(name.removesuffix(TENS), latest).alias(name)).to_series()
            continue
        if name.endswith(DETAIL) and name.removesuffix(DETAIL) in df.columns:
            base = name.removesuffix(DETAIL)
            cols[name] = df.select(code_detail(base, _code_words(schema[base], spec.codes.get(base))).alias(name)).to_series()
            continue
        if name not in df.columns:
            cols[name] = pl.Series(name, [None] * n, dtype=col.dtype.type)
            continue
        words = _code_words(col, spec.codes.get(name)) if name + DETAIL in schema else ()
        e, fail, long = _field_exprs(name, dt, codes, spec.codes.get(name), latest, name not in spec.blank_unreadable,
                                     words)
        raw = df.select(pl.col(name).cast(pl.String))
        if dt in PLAIN:  # (plain values, as most: one cast, of any table; the full parser on the others)
            pattern, cast = PLAIN[dt]
            plain = raw[name].str.contains(pattern).fill_null(False)
            values = raw.select(pl.when(plain).then(cast(pl.col(name)))).to_series()
            others = plain.not_().arg_true()
            fails = values.is_null() & plain  # a plain value that does not parse (2026-02-30)
            if others.len():
                slow = raw[others].lazy().select(e.alias("_v"), fail.alias("_f")).collect()
                values, fails = values.scatter(others, slow["_v"]), fails.scatter(others, slow["_f"])
            cols[name], fail_cols[name] = values.alias(name), fails.alias(name)
            continue
        # a column whose first rows are mostly distinct (IDs, names, amounts) is not worth deduplicating
        uniq = raw.unique() if n >= 1000 and raw.head(DEDUP_PROBE)[name].n_unique() < DEDUP_BELOW * min(n, DEDUP_PROBE) else None
        if uniq is not None and uniq.height < DEDUP_BELOW * n:
            exprs = [pl.col(name).alias("_k"), e.alias("_v")]
            exprs += [fail.alias("_f")] if fail is not None else []
            exprs += [long.alias("_l")] if long is not None else []
            res = uniq.lazy().select(exprs).collect()
            back = raw.select(pl.col(name).alias("_k")).join(res, on="_k", how="left", nulls_equal=True,
                                                             maintain_order="left")
            cols[name] = back["_v"].alias(name)
            if fail is not None:
                fail_cols[name] = back["_f"].alias(name)
            if long is not None:
                long_cols[name] = back["_l"].alias(name)
        else:
            direct.append((name, e, fail, long))
    if direct:
        exprs = []
        for name, e, fail, long in direct:
            exprs.append(e.alias(name))
            if fail is not None:
                exprs.append(fail.alias(f"_f_{name}"))
            if long is not None:
                exprs.append(long.alias(f"_l_{name}"))
        got = df.lazy().select(exprs).collect()
        for name, e, fail, long in direct:
            cols[name] = got[name]
            if fail is not None:
                fail_cols[name] = got[f"_f_{name}"].alias(name)
            if long is not None:
                long_cols[name] = got[f"_l_{name}"].alias(name)
    order = [c for c in schema if c not in ("dept", "kind", "file", "line")]
    out = pl.DataFrame([cols[c] for c in order]) if order else pl.DataFrame()
    if "id_raw" in schema and "id_raw" not in spec.fields:  # 残联: the cert number holds the ID
        out = out.with_columns(pl.col(spec.record_id).alias("id_raw"))
    fail_fields = [c for c in order if c in fail_cols]
    fail_flags = pl.DataFrame([fail_cols[c] for c in fail_fields]) if fail_fields else pl.DataFrame()
    long_flags = pl.DataFrame([long_cols[c] for c in order if c in long_cols]) if long_cols else pl.DataFrame()
    return out, fail_flags, fail_fields, long_flags


def _reason(check: str, dtype, value: str | None) -> str:
    v = f": '{value}'" if value is not None else ""
    if check == "extra_fields":
        return ("字段数多于表头，各列的值已错位（某个值含未加引号的逗号？如 1,234.50） more fields than the header, "
                "the values have shifted (an unquoted comma in a value, e.g. 1,234.50?); first extra field" + v)
    if check == "parse" and dtype == pl.Date and value is not None and re.search(_DAY_MONTH, value.strip()):
        return (f"{AMBIGUOUS_ORDER}：不知{v.removeprefix(': ')}是“月/日/年”还是“日/月/年”（该列没有大于12的日定出顺序，或两种顺序都有；"
                f"请写成 2026-10-05 的样式） ambiguous date, month/day or day/month: no day over 12 in the column tells one order{v}")
    if check == "parse" and dtype == pl.Int64 and value is not None and re.search(_YEARS, unicodedata.normalize("NFKC", value).strip()):
        return f"年度为跨年区间，本期所在年份不在其中{v}（请填写一个年份，如 2026） years spanned, not the period's year{v}"
    if check == "parse" and dtype in (pl.Float64, pl.Int64) and value is not None and re.search(
            _RANGE, unicodedata.normalize("NFKC", value).strip()):
        return f"数值为区间，不是一个确切的数{v}（请填写确切数值） a range, not one number{v}: give the exact figure"
    if check == "parse" and dtype == pl.Date and value is not None and re.search(_SHORT_YEAR, value.strip()):
        return (f"日期无法解析 unparseable date{v}（年份只有两位，看不出哪个数是年，请写四位年份，如 2026-10-05 "
                "a two-digit year: write the year in full)")
    if check == "parse":
        return {pl.Date: "日期无法解析 unparseable date", pl.Int64: "整数无法解析 unparseable integer"}.get(
            dtype, "数值无法解析 unparseable number") + v
    if check == "too_long":
        return f"{TOO_LONG} value too long (over {MAX_FIELD_CHARS} characters)"
    if check == "not_nullable":
        return "必填项为空 missing value"
    if check.startswith("isin"):
        # the values to write instead: a township clerk who wrote 否 or 是 for 核实结果 learns to
        # write 属实 or 不属实, a department its code list (the check is `isin(['属实', '不属实'])`)
        try:
            allowed = ast.literal_eval(check[check.index("(") + 1:check.rindex(")")])
        except (ValueError, SyntaxError):
            allowed = None
        one_of = (f"（应填 {'、'.join(map(str, allowed))} 之一 one of these）"
                  if isinstance(allowed, (list, tuple, set)) and allowed else "")
        return "代码不在允许值中 unknown code" + v + one_of
    if check.startswith("greater_than_or_equal_to"):
        least = check.partition("(")[2].rstrip(")")
        return ("数值不能为负 negative value" if least in ("0", "0.0", "") else f"数值应不小于{least} must be at least {least}") + v
    if check.startswith("str_length"):
        return "证件号码应为18位 ID must have 18 characters" + v
    if "unique" in check:
        return DUPLICATED + v
    if check == "excel_number":
        return EXCEL_DESTROYED + v
    return f"{check}{v}"


def validate(df: pl.DataFrame, spec: KindSpec, dept: str, file: str, latest: date | None = None,
             blanked: list[pl.DataFrame] | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Standardised strings -> (valid rows typed as `EXTRACT_MODELS[spec.name]`, `Rejected` rows).
    `latest`: for people's answers, the latest date they may give, for dates typed without their
    year (`parse_date`).

    Each failing row gives one Rejected row: first failing field, its value as delivered (ID-like
    values masked) and every reason joined by '；'. A bad value of a field in
    `spec.blank_unreadable` (the roster's 家庭人口数 `未知`) is left empty and its row kept, unless
    the row fails on another field too: such cells are appended to `blanked` (REJECTED_SCHEMA
    rows, each with the reason its value was not taken). A code field's value outside the SPEC's
    list is an unknown code unless `spec.values` allows it (kept as written)."""
    model = EXTRACT_MODELS[spec.name]
    columns = model.to_schema().columns
    typed, flags, fail_fields, long_flags = _parsed(df, spec, model, latest)
    typed = typed.with_columns(
        dept=pl.lit(dept), kind=pl.lit(spec.name), file=pl.lit(file), line=df["line"].cast(pl.Int64)
    ).select(list(columns))

    # (row, field, check) failures: parse failures first, then the pandera model's.
    fails = [
        pl.DataFrame({"index": flags[f].arg_true().cast(pl.Int64)}).with_columns(field=pl.lit(f), check=pl.lit("parse"))
        for f in fail_fields
    ] + [
        pl.DataFrame({"index": long_flags[f].arg_true().cast(pl.Int64)}).with_columns(field=pl.lit(f), check=pl.lit("too_long"))
        for f in long_flags.columns
    ]
    for f in [c for c in IDENTIFYING if c in typed.columns]:
        # a number naming a record, household or person that Excel destroyed: in scientific
        # notation; or, read from a numeric cell, kept to 15 digits and zeros (`adapters.inbox`) and
        # shared by several rows of the table as its record number: records that shared one so are
        # not one record delivered twice (an answer file repeats a record on purpose: one row per
        # candidate; and members share their household's number)
        v = typed[f]
        bad = v.str.contains(EXCEL_NUMBER).fill_null(False)
        if f == spec.record_id and spec.name not in Config.ANSWER_KINDS:
            tails = v.str.contains(EXCEL_ZERO_TAIL).fill_null(False)
            if tails.any():  # (hashing a city's millions of record numbers only where it matters)
                bad = bad | (tails & v.is_duplicated())
        fails.append(pl.DataFrame({"index": bad.arg_true().cast(pl.Int64)}).with_columns(
            field=pl.lit(f), check=pl.lit("excel_number")))
    if "id_number" in typed.columns:
        # the roster's 身份证号 Excel destroyed: in scientific notation, or 15 digits and zeros that
        # fail the check character (kept, it reached no record and M4 called the person uninsured).
        # Zero-filled ones failing it outnumbering those holding it (two at least) show the column
        # went through Excel: those holding it do so by chance (1 in 11). Not otherwise: a real ID
        # ends in 000 one time in ~1,100 (a city's roster holds hundreds), and a slip can fail one.
        v = typed["id_number"]
        bad = v.str.contains(EXCEL_NUMBER).fill_null(False)
        tails = v.str.contains(EXCEL_ZERO_TAIL).fill_null(False)
        if tails.any():
            failing = tails & check_fails(v)
            n_failing = failing.sum()
            bad = bad | (tails if n_failing > max(1, tails.sum() - n_failing) else failing)
        fails.append(pl.DataFrame({"index": bad.arg_true().cast(pl.Int64)}).with_columns(
            field=pl.lit("id_number"), check=pl.lit("excel_number")))
    if EXTRA in df.columns:  # a field past the header: the row's values have shifted
        fails.append(pl.DataFrame({"index": df[EXTRA].is_not_null().arg_true().cast(pl.Int64)}).with_columns(
            field=pl.lit(EXTRA), check=pl.lit("extra_fields")))
    try:
        model.validate(typed, lazy=True)
    except pa.errors.SchemaErrors as e:
        fc = e.failure_cases
        if fc["index"].null_count():  # a schema-level failure is a bug here, not bad data
            raise RuntimeError(f"{spec.name}: {fc.filter(pl.col('index').is_null()).rows()}") from e
        fc = fc.select(pl.col("index").cast(pl.Int64), field=pl.col("column"), check=pl.col("check"))
        if fc["check"].str.contains("unique").any():
            # rows of one number identical word for word (a row pasted twice, two exports merged)
            # are one delivery said twice, not two persons: `keep_latest` keeps one
            said = [c for c in df.columns if c != "line"]
            same = df.select((pl.struct(said).n_unique().over(spec.record_id) == 1)).to_series().arg_true()
            fc = fc.filter(~(pl.col("check").str.contains("unique") & pl.col("index").is_in(same.cast(pl.Int64).implode())))
        fails.append(fc)
    rid = spec.record_id
    if rid in typed.columns and getattr(columns.get(rid), "unique", False):
        # one number however spelled (`record_key`: 00012 and 12, p7 and P7) on rows that differ
        # but for it: two persons under it as surely as under one spelling (identical rows are one
        # delivery said twice, `keep_latest` keeps one)
        key = typed.select(record_key(pl.col(rid))).to_series()
        again = (key.is_duplicated() & key.is_not_null()).arg_true()  # (a city's million persons mostly are not)
        if again.len():
            said = [c for c in df.columns if c not in ("line", rid)]
            x = df[again].select(said).with_columns(_k=key.gather(again), _i=again.cast(pl.Int64))
            clash = x.filter(pl.struct(said).n_unique().over("_k") > 1)["_i"]
            fails.append(pl.DataFrame({"index": clash}).with_columns(field=pl.lit(rid), check=pl.lit("unique")))
    fails = pl.concat(fails) if fails else pl.DataFrame(schema={"index": pl.Int64, "field": pl.String, "check": pl.String})
    for f, more in spec.values.items():  # values the bureau allows besides the SPEC's (雪灾)
        allowed = typed.select(pl.col(f).is_in(list(more)).fill_null(False)).to_series().arg_true().cast(pl.Int64)
        fails = fails.filter(~((pl.col("field") == f) & pl.col("check").str.starts_with("isin")
                               & pl.col("index").is_in(allowed.implode())))
    fails = fails.unique(["index", "field"], keep="first", maintain_order=True)  # parse beats not_nullable
    if spec.blank_unreadable and fails.height:
        soft = pl.col("field").is_in(list(spec.blank_unreadable)) & (pl.col("check") != "not_nullable")
        kept = ~pl.col("index").is_in(fails.filter(~soft)["index"].implode())  # rows failing only there
        empty = fails.filter(soft & kept)
        fails = fails.filter(~(soft & kept))
        for (field,), cells in empty.partition_by("field", as_dict=True).items():
            typed = typed.with_columns(typed[field].scatter(cells["index"], None))
        if blanked is not None and empty.height:
            blanked.append(_blanked_cells(empty, df, typed, spec, columns))

    order = {c: i for i, c in enumerate(columns)}
    lines, above = df["line"], {}
    many = max(MERGED_MIN_ROWS, MERGED_SHARE * df.height)
    rows, merged, per_field = [], {}, {}
    for idx, field, check in fails.iter_rows():
        raw = df[field][idx] if field in df.columns else None
        raw = None if raw is None else str(raw)
        value = mask_value(raw, field)
        dtype = columns[field].dtype.type if field in columns else None
        if check == "not_nullable" and idx and field in df.columns and lines[idx - 1] == lines[idx] - 1:
            # empty under lines that have it (a value typed once in merged cells, saved as CSV?)
            if field not in above:
                above[field] = df[field].forward_fill()
            if above[field][idx] is not None:
                merged.setdefault(idx, []).append(field)
                per_field[field] = per_field.get(field, 0) + 1
        rows.append((idx, order.get(field, -1), WHOLE_ROW if field == EXTRA else field, value, _reason(check, dtype, value)))
    rows.sort(key=lambda r: (r[0], r[1]))
    by_row: dict[int, list] = {}
    for r in rows:
        by_row.setdefault(r[0], []).append(r)
    rid = typed[spec.record_id] if spec.record_id in typed.columns else pl.Series([None] * typed.height)
    rejected = pl.DataFrame(
        [
            {
                "dept": dept, "kind": spec.name, "file": file, "line": int(typed["line"][i]),
                "record_id": mask_value(rid[i]), "field": rs[0][2], "value": rs[0][3],
                "reason": "；".join(f"{r[2]} {r[4]}" for r in rs) + (MERGED_HINT if i in merged and (
                    len(merged[i]) >= 2 or any(per_field[f] >= many for f in merged[i])) else ""),
            }
            for i, rs in by_row.items()
        ],
        schema=REJECTED_SCHEMA,
    )
    bad = pl.Series(list(by_row), dtype=pl.Int64)
    valid = typed.with_row_index("_i").filter(~pl.col("_i").cast(pl.Int64).is_in(bad.implode())).drop("_i")
    return valid, rejected


def template_rows(df: pl.DataFrame, spec: KindSpec, dept: str, file: str) -> tuple[pl.DataFrame, pl.DataFrame]:
    """A standardised table -> (its rows but those `adapters.inbox` found to be its template's own
    (`TEMPLATE`: the 填表说明 line, the 示例 row a department left under the header), those rows as
    `Rejected` (`TEMPLATE_ROW`)). Read, the example 张三 was a record: linked, or a new-household
    lead. Set aside, they are counted as read; without a record number (file#line), so that they
    are never linked, nor taken for a delivery of a record, nor for a person a list shows."""
    if TEMPLATE not in df.columns:
        return df, pl.DataFrame(schema=REJECTED_SCHEMA)
    own = df[TEMPLATE].is_not_null()
    said = df.filter(own).select(
        dept=pl.lit(dept), kind=pl.lit(spec.name), file=pl.lit(file), line=pl.col("line").cast(pl.Int64),
        record_id=pl.lit(None, pl.String), field=pl.lit(WHOLE_ROW),
        value=pl.col(TEMPLATE).map_elements(lambda v: mask_value(v[:_SHOW_CHARS] + ("…" if len(v) > _SHOW_CHARS else "")),
                                            return_dtype=pl.String),
        reason=pl.lit(TEMPLATE_ROW))
    return df.filter(~own).drop(TEMPLATE), said.cast(REJECTED_SCHEMA)


def _blanked_cells(cells: pl.DataFrame, df: pl.DataFrame, typed: pl.DataFrame, spec: KindSpec, columns
                   ) -> pl.DataFrame:
    """`validate`'s (index, field, check) cells left empty -> REJECTED_SCHEMA rows saying so, in
    row order. Whole columns at a time: a roster filling 家庭人口数 on the 户主's rows only has a
    cell of most of its persons here."""
    x = pl.concat([c.with_columns(raw=df[f].gather(c["index"]).cast(pl.String))
                   for (f,), c in cells.partition_by("field", as_dict=True).items()])
    x = x.sort("index", pl.col("field").replace_strict({c: i for i, c in enumerate(columns)}, return_dtype=pl.Int64))
    said = x.select("field", "check", "raw").unique()  # (values masked, reasons worded, once each)
    said = said.with_columns(value=pl.Series([mask_value(v, f) for f, v in said.select("field", "raw").iter_rows()],
                                             dtype=pl.String))
    said = said.with_columns(reason=pl.Series([_reason(c, columns[f].dtype.type, v) for f, c, v in
                                               said.select("field", "check", "value").iter_rows()], dtype=pl.String))
    x = x.join(said, on=["field", "check", "raw"], how="left", nulls_equal=True, maintain_order="left")
    rid = typed[spec.record_id] if spec.record_id in typed.columns else pl.Series([None] * typed.height, dtype=pl.String)
    return x.select(
        dept=typed["dept"].gather(x["index"]), kind=pl.lit(spec.name), file=typed["file"].gather(x["index"]),
        line=typed["line"].gather(x["index"]).cast(pl.Int64),
        record_id=rid.gather(x["index"]).cast(pl.String).map_elements(mask_value, return_dtype=pl.String),
        field="field", value="value", reason="reason",
    ).cast(REJECTED_SCHEMA)


def rejected_files(errors, kind: str | None = None) -> pl.DataFrame:
    """Whole-file rejections (line null) from objects with `file`, `problem`, `dept`
    (e.g. `adapters.inbox.ReadError`); dept falls back to the top folder, or "" at the root."""
    rows = [
        {"dept": e.dept or (e.file.split("/")[0] if "/" in e.file else ""), "kind": kind, "file": e.file, "line": None,
         "record_id": None, "field": None, "value": None, "reason": e.problem}
        for e in errors
    ]
    return Rejected.validate(pl.DataFrame(rows, schema=REJECTED_SCHEMA))


# a saved-again copy's mark at the end of a file name: 表(1), 表（2）, 表 - 副本, 表 - Copy (2), 表副本
_COPY = r"(\s*[(（]\d+[)）]|\s*-\s*(副本|[Cc][Oo][Pp][Yy])(\s*[(（]\d+[)）])?|副本)$"
_SHEET = r"（工作表 [^/]*）$"  # `sheet_label`'s sheet after its path (a sheet's name holds no /, but may hold brackets: 明细（第一批）)


def sheet_label(rel: str, sheet: str) -> str:
    """How a row's file is named when its workbook holds several tables: the path and the sheet."""
    return f"{rel}（工作表 {sheet}）"


def without_sheet(file: pl.Expr) -> pl.Expr:
    """A file's name or sheet label (`sheet_label`) without the sheet: the workbook's path."""
    return file.str.replace(_SHEET, "")


def later_words(later_marks: Sequence[str]) -> str:
    """A pattern of `later_marks` (`[inbox] later_marks`: 更正, 补报 …) in lower-cased text; one
    matching nothing when there are none."""
    return "|".join(re.escape(m.lower()) for m in later_marks) or "$^"


def sheet_of(label: str) -> str | None:
    """The sheet a `sheet_label` names; None for a file's own label."""
    found = re.search(_SHEET, label)
    return found.group(0)[len("（工作表 "):-1] if found else None


def delivery_order(file: pl.Expr) -> pl.Expr:
    """A sort key putting the files (or sheet labels) of a delivery in the order they were made:
    by name, except that a saved-again copy (表(1).csv, 表 - 副本.csv) comes right after its
    original, not before it ('(' sorts before '.'), so that what the copy says wins."""
    path = without_sheet(file)
    stem = path.str.replace(r"\.[^./]*$", "")
    return pl.concat_str([stem.str.replace(_COPY, ""), stem.str.contains(_COPY).cast(pl.UInt8).cast(pl.Utf8), file],
                         separator="\x00")


def original_file(file: pl.Expr) -> pl.Expr:
    """The file (or sheet label) a saved-again copy was saved from (表(1).csv -> 表.csv); others
    are their own."""
    path = without_sheet(file)
    ext = path.str.extract(r"(\.[^./]*)$").fill_null("")
    stem = path.str.replace(r"\.[^./]*$", "").str.replace(_COPY, "")
    return pl.concat_str([stem, ext, file.str.extract("(" + _SHEET + ")").fill_null("")])


# A period a file's name gives (结算明细_2026-09.csv, 底册202609.xlsx, 2026年9月名单.csv): year, month.
_PERIOD_IN_NAME = r"(?:^|\D)(20\d{2})(?:(0[1-9]|1[0-2])|\s*[-_./年]\s*(0?[1-9]|1[0-2]))(?:\D|$)"


def periods_named(file: str) -> set[str]:
    """The periods (YYYY-MM) a file's name gives (`_PERIOD_IN_NAME`: 结算明细_2026-09, 2026年9月, 202609);
    none for a name giving a span of months (2026年1-10月累计), which is no one period."""
    name = unicodedata.normalize("NFKC", re.sub(r"\.[^./]*$", "", file.rsplit("/", 1)[-1]))
    if re.search(r"\d{1,2}\s*(?:[-~至到])\s*\d{1,2}\s*月", name):
        return set()
    return {f"{m.group(1)}-{(m.group(2) or m.group(3)).zfill(2)}" for m in re.finditer(_PERIOD_IN_NAME, name)}


def delivery_ranks(files: pl.DataFrame, later_marks: Sequence[str], period: str | None = None) -> dict[str, int]:
    """`files` (`file`: path under the period folder, `modified`: its modification time) -> each
    file's place in the order the files were put in, first to last: a file whose name says it
    came later — one of `later_marks` (更正, 补报 …, any case) or a saved-again copy (表(1).csv,
    表 - 副本.csv) — after the files without; before the others, a file whose name gives a period
    before `period` (the one being run: last month's 底册_2026-09.csv left beside, its time the
    copy's, replaced this month's and was told it was the older version); then by modification
    time to the second; then by name (`delivery_order`). Names first: a copied or re-saved file
    gets a new time, a correction keeps its name."""
    stem = pl.col("file").str.replace(r"\.[^./]*$", "")
    named_later = stem.str.to_lowercase().str.contains(later_words(later_marks)) | stem.str.contains(_COPY)
    name = stem.str.replace(r"^.*/", "")
    named = pl.format("{}-{}", name.str.extract(_PERIOD_IN_NAME, 1),
                      pl.coalesce(name.str.extract(_PERIOD_IN_NAME, 2), name.str.extract(_PERIOD_IN_NAME, 3).str.zfill(2)))
    earlier = [~(named < pl.lit(period)).fill_null(False)] if period else []
    order = files.select("file", "modified").unique("file").sort(
        named_later, *earlier, pl.col("modified").dt.truncate("1s"), delivery_order(pl.col("file")))
    return {f: i for i, f in enumerate(order["file"].to_list())}


def delivery_place(file: pl.Expr, ranks: Mapping[str, int]) -> pl.Expr:
    """The place of a file (or a sheet label: its workbook's) in `ranks` (`delivery_ranks`)."""
    return without_sheet(file).replace_strict(ranks, default=None, return_dtype=pl.UInt32)


_KEY = "_record_key"  # `record_key` of a row's record number, while rows are compared
SET_ASIDE = "_set_aside"  # on a stand-in for a row set aside (`stand_ins`): a hash of its cells as delivered
SHOWN = ("id_raw", "name")  # who a stand-in's row shows
SUPERSEDED_SCHEMA = {"dept": pl.String, "kind": pl.String, "file": pl.String, "line": pl.Int64,
                     "record_id": pl.String, "superseded_by": pl.String, "changed": pl.Boolean, "other_year": pl.Boolean,
                     "other_person": pl.Boolean}


# who a roster row set aside shows (`persons_set_aside`): its person cannot be linked, and a record
# of them is unmatched, a lead of someone not on the roster (`pipelines.identify.set_aside_fits`)
ASIDE_PERSON = {"file": pl.String, "line": pl.Int64, "person_id": pl.String, "household_id": pl.String,
                "name": pl.String, "township": pl.String, "village": pl.String, "id_number": pl.String}


def persons_set_aside(rows: pl.DataFrame, rejected: pl.DataFrame) -> pl.DataFrame:
    """A roster's rows (standardised or validated, with file and line) of the lines `rejected`
    sets aside -> who each shows (`ASIDE_PERSON`: the 证件号码 as delivered, blank or destroyed
    as it may be; a field the table lacks is null)."""
    if rows.is_empty() or rejected.is_empty():
        return pl.DataFrame(schema=ASIDE_PERSON)
    return rows.join(rejected.select("file", pl.col("line").cast(pl.Int64)).drop_nulls().unique(), on=["file", "line"],
                     how="semi").select([pl.col(c).cast(t) if c in rows.columns else pl.lit(None, t).alias(c)
                                         for c, t in ASIDE_PERSON.items()])


def set_aside_future_dates(valid: pl.DataFrame, latest: date, planned: Collection[str] = ()
                           ) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, Rejected rows) of one validated extract: a row with a date after `latest` (its
    period's last day and `inbox.days_after_period`) cannot have happened when the extract was
    made (a mistyped year: 2027 for 2026) and is set aside, naming the first such field. The
    `planned` fields (`inbox.planned_date_fields`) may be later."""
    dates = [c for c, t in valid.schema.items() if t == pl.Date and c not in planned]
    if not dates or valid.is_empty():
        return valid, pl.DataFrame(schema=REJECTED_SCHEMA)
    late = [(pl.col(c) > pl.lit(latest)).fill_null(False) for c in dates]
    bad = valid.select(pl.any_horizontal(late)).to_series()
    if not bad.any():
        return valid, pl.DataFrame(schema=REJECTED_SCHEMA)
    first = pl.coalesce([pl.when(cond).then(pl.lit(c)) for c, cond in zip(dates, late)])
    rows = valid.filter(bad).with_columns(_f=first)
    value = pl.coalesce([pl.when(pl.col("_f") == c).then(pl.col(c).dt.to_string("%Y-%m-%d")) for c in dates])
    rejected = rows.select(
        "dept", "kind", "file", pl.col("line").cast(pl.Int64), pl.col("record_id").cast(pl.String), field="_f", value=value,
        reason=pl.format("{} 日期晚于 {}，不可能已发生（年份录错？） date after {}: cannot have happened yet (a mistyped year?)",
                         "_f", pl.lit(latest.isoformat()), pl.lit(latest.isoformat())))
    return valid.filter(~bad), rejected.cast(REJECTED_SCHEMA)


def stand_ins(df: pl.DataFrame, rejected: pl.DataFrame, spec: KindSpec, dept: str, file: str) -> pl.DataFrame:
    """For each row of the standardised table `df` that `validate` set aside (`rejected`), which
    record it delivered: dept, kind, file, line, the record number as `validate` types it (under
    the kind's record-id field), and `SET_ASIDE`. A row set aside is a delivery of its record
    too: a later delivery supersedes it, and it supersedes an earlier one (`keep_latest`). Not
    the rows set aside for sharing their number (`DUPLICATED`): two persons, not two deliveries;
    nor those whose number Excel destroyed (`EXCEL_DESTROYED`): it no longer says which record.
    The ID and name it shows, as delivered, are kept (`SHOWN`): a 参保名单 row set aside still
    shows who is on the list."""
    lines = rejected.filter(~pl.col("reason").str.contains(DUPLICATED, literal=True),
                            ~pl.col("reason").str.contains(EXCEL_DESTROYED, literal=True))["line"]
    bad = df.filter(pl.col("line").is_in(lines.implode()))
    key, _, _ = _field_exprs(spec.record_id, pl.String, _codes(EXTRACT_MODELS[spec.name]))
    year = spec.snapshot_year  # (the year a row is about decides which of a record's rows is its: `supersede`)
    # its cells as they read where they do, else as delivered: the CSV's 561.00 and a workbook's
    # number cell 561 are one value, as on a valid row (the same bad row again, not a correction)
    # (none set aside, as mostly: no cell to read, and reading none cost a table ~0.01 s)
    typed = _parsed(bad, spec, EXTRACT_MODELS[spec.name])[0] if bad.height else pl.DataFrame()
    read = bad.select(pl.coalesce(typed[c].cast(pl.String), pl.col(c)).alias(c) if c in typed.columns else pl.col(c)
                      for c in bad.columns if c != "line")
    return bad.select(pl.lit(dept).alias("dept"), pl.lit(spec.name).alias("kind"), pl.lit(file).alias("file"),
                      pl.col("line").cast(pl.Int64), key.alias(spec.record_id),
                      *[pl.col(c).cast(pl.String) for c in SHOWN if c in bad.columns],
                      *([parse_int(year)] if year in bad.columns else [])
                      ).with_columns(
        read.hash_rows().alias(SET_ASIDE))


def supersede(delivered: pl.DataFrame, ranks: Mapping[str, int], key: str = "record_id",
              year: str = "", period_year: int | None = None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """Keep the last delivery of each record (files in the order of `ranks`, path -> place, as
    `delivery_ranks` gives it; a workbook's sheets by name; then line) -> (latest, superseded).
    `superseded` (`SUPERSEDED_SCHEMA`): dept, kind, file, line, record_id, superseded_by
    (`file:line`), changed (its content differs from the winner's; identical re-deliveries are
    listed too), other_year (the winner is a row of another `year`), other_person (the winner shows
    another ID and another name, `shown_apart`: a department numbering each file from 1, not a
    correction, is told so). `key` is the record-id column (roster: person_id), compared by
    `record_key` (Excel's 12345 for 0012345, a clerk's js1 for JS1: one record, shown as its
    kept row spells it, each superseded row as it spelled it); a row without one stands alone.
    `year` (a snapshot's `KindSpec.snapshot_year`): a record's rows of `period_year` come last,
    in the order above, before them its rows of other years, latest year last (a row of no year
    first): the last delivery of the period's year is kept, else of the latest year (a file of
    each year, or one of both)."""
    groups = [c for c in ("dept", "kind") if c in delivered.columns] + [_KEY]  # (one record however spelled: `record_key`)
    labels = delivered.select(pl.col("file").unique()).sort(delivery_place(pl.col("file"), ranks), "file")["file"]
    rank = pl.col("file").replace_strict({f: i for i, f in enumerate(labels.to_list())}, return_dtype=pl.UInt32)
    years = ([(pl.col(year) == period_year).fill_null(False), pl.col(year)]
             if year in delivered.columns and period_year is not None else [])
    df = delivered.sort(*years, rank, "line", maintain_order=True).with_row_index("_n").with_columns(
        record_key(pl.col(key).cast(pl.String)).alias(_KEY))
    # only records delivered more than once are looked at (a city's millions mostly are not)
    again = (df.select(groups).is_duplicated() & df[key].is_not_null()).arg_true()
    content = df[again].drop("file", "line", "_n", key).hash_rows()  # (0012 re-saved as 12 is no change)
    twice = df[again].with_columns(_last=pl.col("_n") == pl.col("_n").max().over(groups), _h=content)
    last = pl.repeat(True, df.height, eager=True).scatter(again, twice["_last"])
    latest = df.filter(last).sort(rank, "line", maintain_order=True) if years else df.filter(last)
    _y = pl.col(year) if years else pl.lit(None, pl.Int64)
    who = [c for c in (next((c for c in ("id_raw", "id_number") if c in df.columns), None), "name") if c in df.columns]
    winner = twice.filter("_last").select(*groups, superseded_by=pl.format("{}:{}", "file", "line"), _won="_h", _wy=_y,
                                          **{f"_w{c}": c for c in who})
    superseded = (
        twice.filter(~pl.col("_last"))
        .join(winner, on=groups, how="left", nulls_equal=True, maintain_order="left")
        .select(*[c for c in ("dept", "kind") if c in groups], "file", "line", pl.col(key).alias("record_id"),
                "superseded_by", *who, *[f"_w{c}" for c in who], changed=pl.col("_h") != pl.col("_won"),
                other_year=(_y != pl.col("_wy")).fill_null(False), other_person=pl.lit(False))
    )
    changed = superseded["changed"].fill_null(False).arg_true()  # (a list delivered again unchanged: none looked at)
    if len(who) == 2 and changed.len():
        apart = superseded[changed].select(pl.all_horizontal(
            [shown_apart(pl.col(c), pl.col(f"_w{c}"), c == "name") for c in who])).to_series()
        superseded = superseded.with_columns(superseded["other_person"].scatter(changed, apart))
    return latest.drop("_n", _KEY), superseded.drop(*who, *[f"_w{c}" for c in who])


def _apart(a: str | None, b: str | None) -> bool:
    """Two plain texts (`*` hiding a character) that show different characters where both show
    one; of two lengths (`张*` may hide more than one, a typo drops one), at the first or last."""
    if not a or not b:
        return False
    pairs = zip(a, b) if len(a) == len(b) else ((a[0], b[0]), (a[-1], b[-1]))
    return any(x != y for x, y in pairs if x != "*" and y != "*")


def shown_apart(a: pl.Expr, b: pl.Expr, name: bool) -> pl.Expr:
    """Two deliveries' IDs (or names: `name`) as typed that cannot be one person's: `_apart` of
    their plain texts (`matchers.ids.id_text`, `matchers.names.normalize_name`). False where
    either is empty."""
    plain = normalize_name if name else id_text
    return (pl.struct(plain(a).alias("a"), plain(b).alias("b"))
            .map_elements(lambda r: _apart(r["a"], r["b"]), return_dtype=pl.Boolean).fill_null(False))


def keep_latest(delivered: dict[str, list[pl.DataFrame]], rejected: pl.DataFrame, ranks: Mapping[str, int], cfg: Config,
                period_year: int | None = None) -> tuple[dict[str, pl.DataFrame], pl.DataFrame, pl.DataFrame]:
    """A department's deliveries -> the latest of each record, whether valid or set aside (SPEC
    §1: a record delivered again with other content replaces the earlier one): (valid rows per
    kind, `rejected` without the rows a later delivery superseded, superseded rows
    (`supersede`)). `delivered`: per kind, its tables' valid rows and `stand_ins` of their rows
    set aside; `ranks` as `supersede` takes them. Answers (cfg.ANSWER_KINDS) are kept whole:
    every returned answer is history."""
    latest, superseded, clashes = {}, [pl.DataFrame(schema=SUPERSEDED_SCHEMA)], [rejected]
    for kind, frames in delivered.items():
        valid = [f for f in frames if SET_ASIDE not in f.columns]
        if kind in cfg.ANSWER_KINDS:
            latest[kind] = pl.concat(valid, how="diagonal_relaxed")
            continue
        if len(valid) > 1 and all("id_number" in f.columns for f in valid):  # (the roster's files)
            clash = numbers_of_two_persons(pl.concat(valid, how="diagonal_relaxed"), cfg.kinds[kind].record_id)
            if clash.height:
                frames = [f.join(clash, on=["file", "line"], how="anti") for f in frames]
                valid = [f for f in frames if SET_ASIDE not in f.columns]
                clashes.append(clash)
        last, sup = supersede(pl.concat(valid + [f for f in frames if SET_ASIDE in f.columns], how="diagonal_relaxed"),
                              ranks, key=cfg.kinds[kind].record_id, year=cfg.kinds[kind].snapshot_year, period_year=period_year)
        if SET_ASIDE in last.columns:  # the records whose latest delivery was set aside stay so
            bad = last[SET_ASIDE].is_not_null()
            last = (last.filter(~bad) if bad.any() else last).drop(SET_ASIDE)
        latest[kind] = last
        superseded.append(sup.cast(SUPERSEDED_SCHEMA))
    superseded = pl.concat(superseded)
    rejected = pl.concat(clashes).join(superseded.select("dept", "kind", "file", "line"), on=["dept", "kind", "file", "line"],
                                       how="anti", maintain_order="left")
    return latest, rejected, superseded


def numbers_of_two_persons(roster: pl.DataFrame, key: str = "person_id") -> pl.DataFrame:
    """The valid rows of a roster delivered in several files -> `Rejected` rows for each row whose
    人编号 (`key`) the files give to different persons: another 证件号码 and another 姓名 in another
    file, not a correction of one person (a roster delivered one file per township, each numbering
    its persons from 00001: the last file's 00001 replaced every other's, said as a correction);
    numbers compared by `record_key` (00001 re-saved by Excel is 1), as `supersede` compares them.
    Each is set aside, as two persons under one 人编号 in one table are (`DUPLICATED`)."""
    roster = roster.with_columns(record_key(pl.col(key).cast(pl.String)).alias(_KEY))  # (00012 and 12: one number)
    if not roster[_KEY].is_duplicated().any():
        return pl.DataFrame(schema=REJECTED_SCHEMA)
    two = roster.group_by(_KEY).agg(pl.col("id_number").n_unique() > 1, pl.col("name").n_unique() > 1,
                                    pl.col("file").n_unique() > 1).filter("id_number", "name", "file").select(_KEY)
    if two.is_empty():
        return pl.DataFrame(schema=REJECTED_SCHEMA)
    # (one reason for them all: the report sums a file's rows set aside by reason)
    return roster.join(two, on=_KEY, how="semi").sort("file", "line").select(
        "dept", "kind", "file", pl.col("line").cast(pl.Int64),
        record_id=pl.col(key).map_elements(mask_value, return_dtype=pl.String), field=pl.lit(key),
        value=pl.col(key).map_elements(mask_value, return_dtype=pl.String),
        reason=pl.lit(f"{key} {DUPLICATED}（另一文件中同一编号下是另一人，证件号码、姓名都不同，不是更正；请各文件统一编号后重报 "
                      "another person under this number in another file, not a correction）"),
    ).cast(REJECTED_SCHEMA)


OLDER_SHOWN = 10  # record numbers an older version's note names


def older_versions(kept: pl.DataFrame, superseded: pl.DataFrame, key: str) -> list[dict]:
    """A snapshot kind's files of which a later file of the folder delivers again at least as
    many records as the file alone still gives (`kept`: the kind's latest rows, with `file` and
    the record-id column `key`; `superseded`: `keep_latest`'s rows of the kind): an older version
    of the list left beside the new. One dict per such file: file, by (the later file), again
    (its records delivered again there), only (its records no later file holds, still read),
    shown (their record numbers, the first OLDER_SHOWN)."""
    if superseded.is_empty() or kept.is_empty():
        return []
    by = superseded.filter(~pl.col("other_year").fill_null(False)).with_columns(
        by=pl.col("superseded_by").str.replace(r":\d+$", "")).filter(pl.col("by") != pl.col("file"))
    out = []
    for file, later, again in by.group_by("file", "by").len().sort("file", "by").iter_rows():
        only = kept.filter(pl.col("file") == file)
        if only.height and again >= only.height:
            out.append({"file": file, "by": later, "again": again, "only": only.height,
                        "shown": only.sort("line")[key].head(OLDER_SHOWN).to_list()})
    return out


def to_person_records(extracts: dict[str, pl.DataFrame], prior_groups: dict[str, str] | None = None) -> pl.DataFrame:
    """`PersonRecord` rows of every person-level kind (those carrying `id_raw`: not roster, grid,
    water, feedback); the last row of each (dept, kind, record_id by `record_key`) is kept.
    `prior_groups` (`MatchingConfig.prior_groups`: column -> group): a record with a positive
    amount in such a column gets that `prior_group` (a settlement 医疗救助 paid for: 医疗救助)."""
    cols = list(PersonRecord.to_schema().columns)

    def grouped(df: pl.DataFrame) -> pl.DataFrame:
        given = [(c, g) for c, g in (prior_groups or {}).items() if c in df.columns]
        return df.with_columns(prior_group=pl.coalesce(
            [pl.when(pl.col(c).cast(pl.Float64, strict=False) > 0).then(pl.lit(g)) for c, g in given])) if given else df

    parts = [
        df.select([pl.col(c) if c in df.columns else pl.lit(None, pl.String).alias(c) for c in cols])
        for df in map(grouped, extracts.values())
        if "id_raw" in df.columns
    ]
    if not parts:
        return pl.DataFrame(schema={c: pl.String for c in cols})
    out = pl.concat(parts)
    key = ["dept", "kind", record_key(pl.col("record_id"))]  # (one record however spelled, as `supersede` keeps it)
    if out.select(key).is_duplicated().any():  # (extracts come superseded: as a rule none is)
        out = out.with_columns(key[-1].alias(_KEY)).unique(["dept", "kind", _KEY], keep="last", maintain_order=True).drop(_KEY)
    return PersonRecord.validate(out)

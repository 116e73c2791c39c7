"""Resident ID numbers (GB 11643): check character and vectorised normalisation of dirty,
masked department IDs into an 18-char `id_norm` with `*` for every unknown position."""

from __future__ import annotations

import numpy as np
import polars as pl

from schemas.outputs import QUALITY_COLUMNS, Finding

WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
CHECK = "10X98765432"
_CHECK_ARR = np.array(list(CHECK), dtype="<U1")


def check_char(id17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits ('' if they are not digits)."""
    if len(id17) < 17 or not id17[:17].isdigit():
        return ""
    return CHECK[sum(int(c) * w for c, w in zip(id17[:17], WEIGHTS)) % 11]


def _check_expr(s: pl.Expr) -> pl.Expr:
    """Check character of the first 17 chars of `s` (null when any is not a digit)."""
    return s.map_batches(_check_series, return_dtype=pl.Utf8)


def char_matrix(s: pl.Series, width: int) -> np.ndarray:
    """ASCII strings of exactly `width` characters as an (n, width) byte matrix."""
    if s.is_empty():
        return np.zeros((0, width), np.uint8)
    return np.frombuffer(s.str.join("").item().encode("ascii"), np.uint8).reshape(-1, width)


def _check_series(s: pl.Series) -> pl.Series:
    head = s.str.slice(0, 17)
    ok = (head.str.len_bytes() == 17) & head.str.contains(r"^[0-9]{17}$")
    ok = ok.fill_null(False)
    digits = head.filter(ok)
    out = np.full(s.len(), "", dtype="<U1")
    if digits.len():
        m = char_matrix(digits, 17).astype(np.int64) - 48
        out[ok.to_numpy()] = _CHECK_ARR[(m @ np.array(WEIGHTS)) % 11]
    return pl.select(pl.when(ok).then(pl.Series(out))).to_series().alias(s.name)


# Characters a department masks a position of an ID or a name with: `*` or `＊` (SPEC §1) and what
# other systems use instead (341302########123X, 张●明): `OTHER_MASKS`, read as `*`.
OTHER_MASKS = "[#●○■□※◆★☆]"
MASKS = "[*＊" + OTHER_MASKS[1:]
# an ID already in its plain text (digits and `*`, a check character last): nearly every one
PLAIN_TEXT = r"^[0-9*]{17}[0-9X*]$"
NAMED_ID = r"[\p{Han}()\[\]【】:;,、。]"  # a name's or a label's characters and their brackets and stops (NFKC'd)
ID_SHAPE = r"^(?:[0-9*]{17}[0-9X*]|[0-9*]{15})$"


def without_words(s: pl.Expr) -> pl.Expr:
    """An ID's text (NFKC'd, no spaces, upper case) typed into its cell with a name or a word
    (郑浩旭 341302…, 3413…(赵丽丽), 身份证：3413…) -> the ID it holds, when the rest is one; a cell
    of words only, or of words and a number no ID, as it was."""
    bare = s.str.replace_all(NAMED_ID, "")
    return pl.when(s.str.contains(r"\p{Han}") & bare.str.contains(ID_SHAPE)).then(bare).otherwise(s)


def _id_text(s: pl.Expr) -> pl.Expr:
    s = (
        s.str.normalize("NFKC").str.replace_all(r"[\s'\"`‘’“”\-‐‑–—\x{200b}-\x{200d}\x{2060}\x{feff}]", "")
        .str.replace_all(r"[×✕]", "X").str.to_uppercase().str.replace_all(OTHER_MASKS, "*")
    )
    s = without_words(s)
    body = s.str.slice(0, 17)
    return (pl.when((s.str.len_chars() == 18) & body.str.contains("X", literal=True))
            .then(pl.concat_str([body.str.replace_all("X", "*", literal=True), s.str.slice(17)])).otherwise(s))


def _id_text_series(s: pl.Series) -> pl.Series:
    other = (~s.str.contains(PLAIN_TEXT)).fill_null(False).arg_true()  # (the others: as typed already)
    if other.is_empty():
        return s
    return s.scatter(other, s[other].to_frame("v").select(_id_text(pl.col("v"))).to_series())


def id_text(id_raw: pl.Expr) -> pl.Expr:
    """An ID as typed -> its plain text: NFKC (full-width digits, `＊`), no spaces (zero-width ones
    pasted along too), quotes or dashes (341302-19620111-2734), `×` for X, upper case, every mask character (`MASKS`) as `*`,
    and an X before the last of 18 characters too (341302XXXXXXXX123X: a check character stands
    last). What `normalize_ids` reads and what a lead's key is made of (`pipelines.rules`). Only
    the values not plain already are worked on (a year's settlements are millions)."""
    return id_raw.cast(pl.Utf8).map_batches(_id_text_series, return_dtype=pl.Utf8, is_elementwise=True)


def shows_mask(id_raw: pl.Expr) -> pl.Expr:
    """A raw ID showing a mask (`MASKS`): masked or destroyed whatever
    else it holds, never a whole ID (`normalize_ids`), so it is told apart without normalising."""
    return id_raw.cast(pl.Utf8).str.contains(MASKS)


OLD_ID = r"^[0-9]{15}$"  # an old 15-digit ID (GB 11643-1989), as `id_text` reads it
# GB/T 2260 provinces (first digit, second digits): every region code an old ID was issued under,
# 11-15, 21-23, 31-37, 41-46, 50-54, 61-65
PROVINCES = (("1", "1-5"), ("2", "1-3"), ("3", "1-7"), ("4", "1-6"), ("5", "0-4"), ("6", "1-5"))
# a province as far as shown (`*` for a masked digit)
_PROVINCE_SHOWN = "^(?:" + "|".join(f"{a}[{b}*]" for a, b in PROVINCES) + r"|\*[0-9*])"
_ID18 = r"[0-9*]{17}[0-9X*]"
CERT = rf"^{_ID18}[0-9]{{2}}$"  # 残疾人证号 (SPEC §1): the ID, type and level digits
# a 残疾人证号 made from an old ID: its 15 characters, type 1-7 and level 1-4 (no check character
# tells such a number from any 17 digits: the type and level, the region and the date do)
OLD_CERT = r"^[0-9*]{15}[1-7][1-4]$"


def upgrade_old_id(s: pl.Expr) -> pl.Expr:
    """An old 15-digit ID (6 region + yymmdd + 3 sequence digits) -> the 18-character ID it
    became (GB 11643: the century 19 after the region, the check character computed)."""
    head = pl.concat_str([s.str.slice(0, 6), pl.lit("19"), s.str.slice(6, 9)])
    return pl.concat_str([head, _check_expr(head)])


def _could_be_old_id(s: pl.Expr) -> pl.Expr:
    """Whether the digits `s` begins with can be an old ID: a province's region (`PROVINCES`) and a
    day of the 1900s."""
    born = pl.concat_str([pl.lit("19"), s.str.slice(6, 6)]).str.to_date("%Y%m%d", strict=False)
    return s.str.contains(_PROVINCE_SHOWN) & born.is_not_null()


def _pad_mask(s: pl.Expr) -> pl.Expr:
    """`prefix***suffix` with a wrong number of stars -> 18 chars (prefix at 0, suffix at the end)."""
    pre = s.str.extract(r"^([0-9X]*)\*", 1)
    suf = s.str.extract(r"\*([0-9X]*)$", 1)
    n = 18 - pre.str.len_chars().cast(pl.Int64) - suf.str.len_chars().cast(pl.Int64)  # u32 would wrap below 0
    return pl.when(n >= 1).then(pl.concat_str([pre, pl.lit("*").repeat_by(n).list.join(""), suf]))


# A birth date yyyymmdd (positions 6-13 of an 18-character reading) whose shown digits some date
# could have: a masked value read at the wrong positions mostly shows a month or day that is none.
_BIRTH_OK = r"^[12*][0-9*]{3}(0[1-9*]|1[0-2*]|\*[0-9*])([0-2*][0-9*]|3[01*])$"


def _kept(id_norm: pl.Expr) -> pl.Expr:
    """'1'/'0' per position of an 18-character reading: shown or masked."""
    return id_norm.str.replace_many(list("0123456789X*"), ["1"] * 11 + ["0"])


def _old_mask(s: pl.Expr) -> pl.Expr:
    """A masked 15-character old ID (6 region + yymmdd + 3 sequence digits, SPEC §1), or the first
    15 of a 17-character 残疾人证号 made from one, -> its 18-character reading: every character
    where the new ID holds it, the check character unknown (341302*****1273 -> 341302*******1273*).
    The century is 19 (an old ID was issued to a person born in the 1900s) where the whole yymmdd
    is shown: the reading then keys on a whole birth date, as a new ID's birth-date mask does
    (******620111*** -> ******19620111****). Beside part of a date it adds nothing the roster's
    shares (`link._id_u`) do not weigh, and would only count as shown what the record does not
    show (`link._describe`), or key a mask showing the region alone on region + century (a
    region-wide join)."""
    whole = s.str.slice(6, 6).str.contains(r"^[0-9]{6}$")
    return pl.concat_str([s.str.slice(0, 6), pl.when(whole).then(pl.lit("19")).otherwise(pl.lit("**")),
                          s.str.slice(6, 9), pl.lit("*")])


def fixed_stars(df: pl.DataFrame, col: str = "id_raw") -> pl.DataFrame:
    """Per department and kind of `df` (its `dept`, `kind`, those it has; one row when neither):
    `_fixed`, whether at least half of its masked IDs are 15 characters long, i.e. its system writes five
    stars whatever the ID (`341302*****2734` is a new ID's first 6 and last 4; distinct IDs counted), rather than
    masking the odd old 15-digit ID among 18-character masks (`normalize_ids`); `_certs`, whether at
    least half of its IDs are 残疾人证号 (`CERT`, `OLD_CERT`: a 残联 list), where a masked 17-character
    one is made from an old ID rather than a new ID shown with a star too few. Given to
    `normalize_ids` of a part of the rows (a review queue's records), the part is read as the
    whole is."""
    by = [c for c in ("dept", "kind") if c in df.columns]
    df = df.select(*by, col).unique()  # (IDs, not rows: one old ID's many settlements are one)
    text = id_text(pl.col(col))
    masked = text.str.contains("*", literal=True).fill_null(False)
    fixed = ((text.str.len_chars() == 15) & masked).sum() * 2 >= masked.sum()
    certs = (text.str.contains(CERT) | text.str.contains(OLD_CERT)).sum() * 2 >= (text.str.len_chars() > 0).sum()
    return df.group_by(by).agg(_fixed=fixed, _certs=certs) if by else df.select(_fixed=fixed, _certs=certs)


def normalize_ids(df: pl.DataFrame, col: str = "id_raw", fixed: pl.DataFrame | None = None) -> pl.DataFrame:
    """Add `id_norm` (18 chars, `*` = unknown), `kept` ('1'/'0' per position) and `id_status`
    (full_valid / full_check_failed / masked / destroyed / missing) computed from `col`.

    A masked value of 15 characters is an old 15-digit ID masked (`_old_mask`) or a new one
    shown with too few stars (`_pad_mask`). When only one reading shows a birth date some day
    could have, it is that one; when both do, its department and kind decide (`fixed_stars` of
    `df`, or `fixed` when given, of all the rows `df` is a part of): a 15-character mask among
    mostly 18-character ones is an old ID; where most masks are 15 characters the system writes
    a fixed number of stars. A masked 残疾人证号 made from an old ID (341302******27341, `OLD_CERT`)
    is read so too, the old ID at its first 15; where both readings hold a date, it is one among
    certificates (`fixed_stars`' `_certs`), elsewhere a new ID with a star too few. A whole one
    (34130276051527341) is the 18-character ID the old ID became, when it can be one
    (`_could_be_old_id`); otherwise it is no ID, as any 17 digits.

    Never raises on odd input: anything unusable becomes `missing`. Each distinct value is
    worked out once (department extracts repeat a person's ID on many rows).
    """
    df = df.with_columns(pl.col(col).cast(pl.Utf8))
    out = df.join(_normalize_unique(df.select(col).unique(), col), on=col, how="left", nulls_equal=True,
                  maintain_order="left")
    if out["_old"].is_null().all():
        return out.drop("_old", "_old_kept", "_old_only", "_cert")
    groups = fixed_stars(df, col) if fixed is None else fixed
    by = [c for c in ("dept", "kind") if c in groups.columns and c in df.columns]
    out = (out.join(groups.group_by(by).agg(pl.col("_fixed", "_certs").all()), on=by, how="left",
                    maintain_order="left", nulls_equal=True) if by
           else out.with_columns(_fixed=pl.lit(bool(groups["_fixed"].any())), _certs=pl.lit(bool(groups["_certs"].any()))))
    either = pl.when(pl.col("_cert")).then(pl.col("_certs").fill_null(True)).otherwise(~pl.col("_fixed").fill_null(False))
    use = pl.col("_old").is_not_null() & pl.col("_old_only").fill_null(either)
    return out.with_columns(id_norm=pl.when(use).then(pl.col("_old")).otherwise(pl.col("id_norm")),
                            kept=pl.when(use).then(pl.col("_old_kept")).otherwise(pl.col("kept")),
                            id_status=pl.when(use).then(pl.lit("masked")).otherwise(pl.col("id_status"))
                            ).drop("_old", "_old_kept", "_old_only", "_cert", "_fixed", "_certs")


def _normalize_unique(df: pl.DataFrame, col: str) -> pl.DataFrame:
    df = df.with_columns(_s=id_text(pl.col(col)))  # (read once: the roads below read it many times)
    s = pl.col("_s")
    sci = s.str.extract_groups(r"^(\d)\.?(\d*)E\+?(\d+)$")
    sci_digits = pl.concat_str([sci.struct[0], sci.struct[1]])
    # Excel rounds the mantissa: only the digits before the last shown one are exact.
    sci_kept = sci_digits.str.slice(0, sci_digits.str.len_chars() - 1)
    sci_id = pl.when(sci.struct[2].cast(pl.Int64, strict=False) == 17).then(
        sci_kept.str.pad_end(18, "*")
    )
    cand = (
        pl.when(s.str.contains(CERT)).then(s.str.slice(0, 18))  # 残疾人证号
        .when(s.str.contains(rf"^G{_ID18}$")).then(s.str.slice(1, 18))  # 学籍号
        .when(s.str.contains(OLD_ID)).then(upgrade_old_id(s))
        .when(s.str.contains(OLD_CERT) & ~s.str.contains("*", literal=True) & _could_be_old_id(s))
        .then(upgrade_old_id(s.str.slice(0, 15)))  # 残疾人证号 made from an old ID
        .when(s.str.contains(r"^\d\.?\d*E\+?\d+$")).then(sci_id)
        .when(s.str.contains(r"^[0-9]*\*+[0-9]*X?$")).then(_pad_mask(s))  # X only as the check character
    )
    # Most values already are 18 characters of digits, `*` and X: only the others take the
    # longer road (15-digit IDs, certificate numbers, Excel numbers, miscounted masks).
    plain = s.str.contains(PLAIN_TEXT).fill_null(False)
    other = df.filter(~plain)
    out = pl.concat([
        df.filter(plain).with_columns(_cand=pl.col("_s"), _sci=pl.lit(False)),
        other.with_columns(_cand=cand, _sci=s.str.contains(r"E\+?\d+$").fill_null(False)),
    ])
    c = pl.col("_cand")
    full = c.is_not_null() & ~c.str.contains(r"\*")
    valid = full & (_check_expr(c) == c.str.slice(17, 1))
    # Excel keeps 15 significant digits and zero-fills the rest. A tail of 000 is taken as
    # destroyed even when the check happens to pass (1 in 11 destroyed IDs does; a genuine
    # ID ends in 000 about 1 in 1100 times, and 15 kept characters still identify it). A
    # longer run of zeros (a number shown with fewer digits) keeps only the digits before it,
    # minus the last one, which Excel may have rounded.
    destroyed_tail = full & c.str.ends_with("000")
    lead = c.str.replace(r"0+$", "").str.len_chars().cast(pl.Int64)  # u32 would wrap below 0
    keep = pl.when(lead >= 15).then(15).otherwise((lead - 1).clip(lower_bound=0))  # all zeros: nothing kept
    id_norm = (
        pl.when(destroyed_tail).then(c.str.slice(0, keep).str.pad_end(18, "*"))
        .when(c.str.contains(r"[0-9X]")).then(c)
    )
    status = (
        pl.when(id_norm.is_null()).then(pl.lit("missing"))
        .when(destroyed_tail | pl.col("_sci")).then(pl.lit("destroyed"))
        .when(valid).then(pl.lit("full_valid"))
        .when(full).then(pl.lit("full_check_failed"))
        .otherwise(pl.lit("masked"))
    )
    out = out.with_columns(id_norm=id_norm.fill_null("*" * 18), id_status=status)
    # a masked value of 15 characters, or of 17 ending in type and level digits whose region can be
    # a province's (`OLD_CERT`): its old-ID reading too, and whether only that one holds a date
    head = s.str.slice(0, 15)
    cert = s.str.contains(OLD_CERT) & head.str.contains(_PROVINCE_SHOWN)
    old = ((s.str.contains(r"^[0-9*]{15}$") | cert) & head.str.contains("*", literal=True)
           & head.str.contains("[0-9]"))
    old_ok = pl.col("_old").str.slice(6, 8).str.contains(_BIRTH_OK)
    new_ok = pl.col("id_norm").str.slice(6, 8).str.contains(_BIRTH_OK) & (pl.col("id_status") != "missing")
    out = out.with_columns(_old=pl.when(old).then(_old_mask(s)), _cert=cert)
    out = out.with_columns(_old_only=pl.when(pl.col("_old").is_not_null()).then(
        pl.when(old_ok & new_ok).then(None).otherwise(old_ok)))
    return out.with_columns(kept=_kept(pl.col("id_norm")), _old_kept=_kept(pl.col("_old"))).drop("_cand", "_sci", "_s")


def one_edit_ids(ids: pl.Series) -> pl.DataFrame:
    """Every valid ID one typing slip away from each full 18-character ID in `ids`: one
    character changed or two adjacent ones swapped (SPEC §1), keeping only those whose check
    character then holds. Returns (row, id_number), row indexing `ids`; a value that is not
    18 digits (+ check character) has none. About 19 per ID: the exact neighbours a check
    failure points to, without a fuzzy search."""
    ok = ids.str.contains(r"^[0-9]{17}[0-9X]$").fill_null(False)
    rows = np.flatnonzero(ok.to_numpy())
    m = char_matrix(ids.filter(ok), 18)
    d = m[:, :17].astype(np.int64) - 48
    w = np.array(WEIGHTS)
    s = d @ w
    check = np.frombuffer(CHECK.encode(), np.uint8)
    target = np.argmax(m[:, 17:18] == check[None, :], axis=1)  # CHECK[target] is the typed check character
    out_row, out_ids = [], []

    def keep(r: np.ndarray, variants: np.ndarray) -> None:
        out_row.append(rows[r])
        out_ids.append(variants)

    for i in range(17):
        for v in range(10):
            hit = np.flatnonzero((d[:, i] != v) & ((s + w[i] * (v - d[:, i])) % 11 == target))
            var = m[hit].copy()
            var[:, i] = 48 + v
            keep(hit, var)
    var = m.copy()  # the check character itself mistyped
    var[:, 17] = check[s % 11]
    hit = np.flatnonzero(var[:, 17] != m[:, 17])
    keep(hit, var[hit])
    for i in range(16):
        diff = d[:, i] != d[:, i + 1]
        hit = np.flatnonzero(diff & ((s + (w[i] - w[i + 1]) * (d[:, i + 1] - d[:, i])) % 11 == target))
        var = m[hit].copy()
        var[:, [i, i + 1]] = var[:, [i + 1, i]]
        keep(hit, var)
    # the last digit swapped with the check character (a digit)
    c17 = m[:, 17].astype(np.int64) - 48
    s2 = s + w[16] * (c17 - d[:, 16])
    hit = np.flatnonzero((m[:, 17] != ord("X")) & (c17 != d[:, 16]) & (check[s2 % 11] == m[:, 16]))
    var = m[hit].copy()
    var[:, [16, 17]] = var[:, [17, 16]]
    keep(hit, var)
    allv = np.concatenate(out_ids) if out_ids else np.zeros((0, 18), np.uint8)
    return pl.DataFrame({
        "row": pl.Series(np.concatenate(out_row) if out_row else [], dtype=pl.UInt32),
        "id_number": pl.Series(np.ascontiguousarray(allv).view("S18").ravel().astype("U18"), dtype=pl.Utf8),
    })


def check_fails(ids: pl.Series) -> pl.Series:
    """Per full ID (upper-case): True when its check character does not hold, or its first 17
    characters are not digits (a mistyped or transposed digit, SPEC §1); False for a null."""
    return _check_series(ids).ne_missing(ids.str.slice(17, 1))


def is_full_id(values: pl.Series, known: pl.Series | None = None) -> pl.Series:
    """Per value: True when it is a whole ID number — 18 characters (an x in either case) whose
    birth date is a day of 1900-2099 and whose check character holds, or one of `known` (the
    roster's 证件号码, a mistyped one too: a county numbering its households by the head's ID
    copies it as typed). An 18-digit code that is neither (a 户编号 of region + village + serial
    digits) is not one; False for a null."""
    v = values.cast(pl.Utf8).str.strip_chars().str.to_uppercase()
    shape = v.str.contains(r"^[0-9]{17}[0-9X]$").fill_null(False)
    born = v.str.slice(6, 8).str.to_date("%Y%m%d", strict=False)
    dated = born.is_not_null() & born.dt.year().is_between(1900, 2099)
    valid = shape & dated.fill_null(False) & ~check_fails(v)
    if known is None:
        return valid.alias(values.name)
    ids = known.cast(pl.Utf8).str.strip_chars().str.to_uppercase().drop_nulls()
    return (valid | (shape & v.is_in(ids.implode()))).fill_null(False).alias(values.name)


def roster_check_fails(roster: pl.DataFrame) -> pl.DataFrame:
    """RosterPerson rows -> QualityFinding rows, one per roster file: the persons whose 身份证号
    fails its check character (a mistyped or transposed digit in the county's own roster). The
    matcher pairs them with the records showing a valid ID one slip away (`link`'s roster-slip
    pass), weighed against the ~19 such IDs any of which could be theirs, so the bureau should
    still correct them; named by 人编号 (the report holds no ID number)."""
    ids = roster["id_number"].str.to_uppercase()
    bad = roster.filter(check_fails(ids)).sort("file", "line")
    more = pl.when(pl.col("count") > 10).then(pl.lit("…")).otherwise(pl.lit(""))
    return bad.group_by("dept", "file", maintain_order=True).agg(
        pl.format("{}（第 {} 行）", "person_id", "line").head(10).str.join("、").alias("_who"), count=pl.len().cast(pl.Int64),
    ).select(
        category=pl.lit(Finding.CHECK_FAILS), dept="dept", file="file",
        detail=pl.format("户籍底册身份证号校验位不符，请核对更正：{}{} — roster ID numbers failing the check "
                         "character: records showing a valid ID one slip away are linked to them as a roster slip", "_who", more),
        count="count",
    ).cast(QUALITY_COLUMNS)


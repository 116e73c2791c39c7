"""Rows nobody can identify: a person-level record whose ID number is missing or destroyed
(Excel's `3.41302E+17`, trailing 000) and whose name is missing or fully masked cannot be linked
to anyone, so it is set aside with its reason (SPEC §3: a destroyed ID is a bad row) instead of
being counted as an unmatched person. With a usable name it stays: name and place may still
identify one person."""

from __future__ import annotations

import polars as pl

from matchers.ids import MASKS, PLAIN_TEXT, fixed_stars, normalize_ids
from matchers.names import DOTS
from pipelines.validate import REJECTED_SCHEMA, mask_value
from schemas.outputs import QUALITY_COLUMNS, Finding


def set_aside_unidentifiable(valid: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, Rejected rows) for one validated person-level extract (has `id_raw`, `name`)."""
    if "id_raw" not in valid.columns or "name" not in valid.columns or valid.is_empty():
        return valid, pl.DataFrame(schema=REJECTED_SCHEMA)
    no_name = ~valid["name"].str.contains(rf"[^\s·•.{MASKS[1:-1]}]").fill_null(False)  # nothing but blanks and masks
    bad = no_name
    if no_name.any():  # only nameless rows need their ID looked at
        nameless = valid.filter(no_name).select("id_raw")
        no_id = normalize_ids(nameless)["id_status"].is_in(["missing", "destroyed"])
        bad = no_name.scatter(no_name.arg_true(), no_id)
    rejected = valid.filter(bad).select(
        "dept", "kind", "file", pl.col("line").cast(pl.Int64), "record_id",
        pl.lit("id_raw").alias("field"),
        pl.col("id_raw").str.slice(0, 6).alias("value"),
        pl.lit("证件号码缺失或已损坏且无姓名，无法识别 ID missing/destroyed and no name: cannot be identified").alias("reason"),
    )
    return valid.filter(~bad), rejected.cast(REJECTED_SCHEMA)


def unreadable_ids(valid: pl.DataFrame, id_in_record_id: bool = False) -> pl.DataFrame:
    """Validated person-level rows (with `id_raw`, file, line) -> QualityFinding rows, one per
    file: the rows whose 证件号码 holds something that reads as no ID at all (neither whole, masked
    nor destroyed: another mask character than those known, a column of phone numbers under the
    ID's header). Their records are linked by name and place alone, so a delivery whose IDs come
    in a form the run does not read is heard of (on the console too), not found out from recall;
    and the files no row of which shows an ID at all (a column headed in a way no alias reads),
    unless `id_in_record_id` and their record numbers hold IDs (a 学籍号 G + ID)."""
    if "id_raw" not in valid.columns or valid.is_empty():
        return pl.DataFrame(schema=QUALITY_COLUMNS)
    # a file no row of which shows an ID: its ID column missing, or headed in a way no alias reads
    # (户主身份证号码 for 证件号码, its values then not read at all); unless its record numbers hold
    # the IDs (`id_in_record_id`: a 学籍号 G + ID)
    none = valid.group_by("dept", "kind", "file", maintain_order=True).agg(
        count=pl.len().cast(pl.Int64), shown=(pl.col("id_raw").str.strip_chars().fill_null("") != "").sum(),
    ).filter(pl.col("shown") == 0)
    if id_in_record_id and not none.is_empty():
        held = normalize_ids(valid.filter(pl.col("file").is_in(none["file"].implode())).select(
            "file", id_raw="record_id")).filter(pl.col("id_status") == "full_valid")["file"].unique()
        none = none.filter(~pl.col("file").is_in(held.implode()))
    none = none.select(
        category=pl.lit(Finding.ID_UNREADABLE), dept="dept", file="file",
        detail=pl.format("没有一行有证件号码（缺少该列，或其表头不是 kinds.{}.fields.id_raw 所列的名称），这些记录只能按姓名与地点关联 — "
                         "no row shows an ID number (no such column, or its header is none of kinds.{}.fields.id_raw): "
                         "their records are linked by name and place alone", "kind", "kind"),
        count="count",
    ).cast(QUALITY_COLUMNS)
    # (an ID already plain text is never unreadable: only the others are normalised)
    odd = valid.filter(pl.col("id_raw").str.strip_chars() != "", ~pl.col("id_raw").str.contains(PLAIN_TEXT))
    bad = odd.filter(normalize_ids(odd.select("id_raw"))["id_status"] == "missing").sort("file", "line")
    if bad.is_empty():
        return none
    return _lines_per_file(
        bad, Finding.ID_UNREADABLE, pl.col("id_raw").first(),
        "证件号码读不出身份证号（如 '{}'，第 {} 行），这些记录只能按姓名与地点关联 — ID numbers that read as "
        "none (e.g. '{}'): their records are linked by name and place alone", "example", "lines", "example").vstack(none)


def _lines_per_file(bad: pl.DataFrame, category: str, example: pl.Expr, detail: str, *args: str) -> pl.DataFrame:
    """Rows with an ID finding (dept, file, line, id_raw; in order) -> one QualityFinding row per
    file: `detail` formatted with `args` of `example` (one row's ID text, masked) and `lines`
    (the first ten line numbers), counting them all."""
    more = pl.when(pl.len() > 10).then(pl.lit(" …")).otherwise(pl.lit(""))
    return bad.group_by("dept", "file", maintain_order=True).agg(
        lines=pl.col("line").head(10).cast(pl.Utf8).str.join("、") + more,
        example=example.map_elements(lambda v: mask_value(v, "id_raw"), return_dtype=pl.Utf8),
        count=pl.len().cast(pl.Int64),
    ).select(
        category=pl.lit(category), dept="dept", file="file", detail=pl.format(detail, *args), count="count",
    ).cast(QUALITY_COLUMNS)


def destroyed_ids(valid: pl.DataFrame) -> pl.DataFrame:
    """Validated person-level rows (with `id_raw`, file, line) -> QualityFinding rows, one per
    file: the rows whose 证件号码 Excel destroyed (`3.41302E+17`, or 15 digits and zeros:
    `matchers.ids` status `destroyed`). SPEC §3 counts them bad rows, to be told with file and
    line; they are kept, linked by name, place and the digits kept (§1: `set_aside_unidentifiable`
    sets aside only those without a name), and the department is told which lines to export again."""
    if "id_raw" not in valid.columns or valid.is_empty():
        return pl.DataFrame(schema=QUALITY_COLUMNS)
    # (only these can be: scientific notation is not plain text, a zero-filled ID ends in 000)
    maybe = valid.filter(~pl.col("id_raw").str.contains(PLAIN_TEXT) | pl.col("id_raw").str.strip_chars().str.ends_with("000"))
    bad = maybe.filter(normalize_ids(maybe.select("id_raw"))["id_status"] == "destroyed").sort("file", "line")
    if bad.is_empty():
        return pl.DataFrame(schema=QUALITY_COLUMNS)
    return _lines_per_file(
        bad, Finding.ID_DESTROYED, pl.col("id_raw").first().str.strip_chars(),
        "证件号码已被 Excel 损坏（存成科学计数法，或第 15 位后补 0），无法还原（如 '{}'，第 {} 行），"
        "记录仍按姓名、地点等关联；请将该列设为文本后重新导出 — ID numbers destroyed by Excel "
        "(scientific notation, or zeros past the 15th digit), their records linked by name, place and the like: "
        "export again with the column as text", "example", "lines")


def persons_shown(rows: pl.DataFrame, roster: pl.DataFrame, min_kept: int, fixed: pl.DataFrame | None = None
                  ) -> pl.DataFrame:
    """Records set aside (kind, record_id, id_raw, name as delivered: `adapters.inbox.read_department`'s
    of the 参保名单) -> kind, record_id, person_id of every roster person each may show: every
    kept ID character equal (at least `min_kept` kept) and, where the record shows a name, every
    shown character of it. Not a link: the persons a list does show, so that M4 does not call
    someone absent whose row was only set aside (an unknown 参保状态 such as 停保). `fixed`:
    `matchers.ids.fixed_stars` of the whole list (its masks read as the link read them)."""
    out = pl.DataFrame(schema={"kind": pl.String, "record_id": pl.String, "person_id": pl.String})
    if rows.is_empty():
        return out
    ids = normalize_ids(rows.select(*(c for c in ("dept", "kind") if c in rows.columns), "record_id", "id_raw", "name"),
                        fixed=fixed)
    ids = ids.filter(pl.col("id_status") != "missing", pl.col("kept").str.count_matches("1") >= min_kept)
    found = [out]
    for (kept,), group in ids.partition_by("kept", as_dict=True).items():
        at = [i for i, c in enumerate(kept) if c == "1"]
        key = lambda c: pl.concat_str([pl.col(c).str.slice(i, 1) for i in at])  # noqa: E731
        found.append(group.with_columns(_k=key("id_norm")).join(
            roster.select("person_id", p_name="name", _k=key("id_number")), on="_k").filter(
            _name_fits(pl.col("name"), pl.col("p_name"))).select("kind", "record_id", "person_id"))
    return pl.concat(found).unique(maintain_order=True)


def shown_on_lists(candidates: pl.DataFrame, unread: pl.DataFrame | None, extracts: dict[str, pl.DataFrame],
                   roster: pl.DataFrame, min_kept: int) -> pl.DataFrame:
    """The persons the period's records may show, as M4 reads them: the matcher's `candidates`
    of the records it did not link, and the roster persons each row of a list set aside
    (`unread`: `read_department`'s, None when none was) may show (`persons_shown`), their masks
    read as the whole list's (`matchers.ids.fixed_stars` of those rows and of `extracts`' rows
    of their kind), so that a person whose row was only set aside is not called absent."""
    if unread is None:
        return candidates
    whole = pl.concat([unread.select("dept", "kind", "id_raw"), *(
        extracts[k].select("dept", "kind", "id_raw") for k in unread["kind"].unique() if k in extracts)])
    return pl.concat([candidates, persons_shown(unread, roster, min_kept, fixed_stars(whole))], how="diagonal_relaxed")


def _name_fits(shown: pl.Expr, name: pl.Expr) -> pl.Expr:
    """A record's name (masked or not) fits a roster name: none shown, or as long with every
    shown character the same, any middle dot (·, •, . ...) as any other; a whole name also
    without its dot (阿依古丽买买提, or a space for it, is 阿依古丽·买买提, as the matcher reads it)."""
    s = shown.str.replace_all(r"\s", "").str.replace_all(MASKS, "*").str.replace_all(DOTS, "·")
    n = name.str.replace_all(r"\s", "").str.replace_all(DOTS, "·")
    pattern = pl.concat_str(pl.lit("^"), s.str.replace_all(r"([.^$+?()\[\]{}|\\])", r"\$1").str.replace_all(r"\*", "."),
                            pl.lit("$"))
    whole = s.str.replace_all("·", "", literal=True) == n.str.replace_all("·", "", literal=True)
    return (s.fill_null("").str.replace_all(r"\*", "") == "") | pl.when(s.str.contains("*", literal=True)).then(
        n.str.contains(pattern)).otherwise(whole)

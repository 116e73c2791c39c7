"""Rows nobody can identify: a person-level record whose ID number is missing or destroyed
(Excel's `3.41302E+17`, trailing 000) and whose name is missing or fully masked cannot be linked
to anyone, so it is set aside with its reason (SPEC §3: a destroyed ID is a bad row) instead of
being counted as an unmatched person. With a usable name it stays: name and place may still
identify one person."""

from __future__ import annotations

import polars as pl

from config import PlaceNames
from matchers.ids import MASKS, PLAIN_TEXT, fixed_stars, normalize_ids
from matchers.names import DOTS
from matchers.places import normalize_place
from pipelines.accounting import together
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


# the number of another document than a resident ID card: a passport (E12345678, G12345678, EA1234567),
# a 港澳居民来往内地通行证 (H12345678, M12345678), a 往来港澳通行证 (C12345678)
OTHER_DOCUMENT = r"^[A-Za-z]{1,2}\d{7,9}$"


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
    # (a passport's or a 港澳台 permit's number, E12345678, C01234567: another document, rightly
    # delivered under 证件号码 beside its 证件类型; said, not as an ID the run failed to read)
    other = bad["id_raw"].str.strip_chars().str.contains(OTHER_DOCUMENT).fill_null(False)
    found = [none]
    if other.any():
        found.insert(0, _lines_per_file(
            bad.filter(other), Finding.FILE_NOTE,
            pl.col("id_raw").first().str.strip_chars().str.replace(r"^(..).*(...)$", "${1}****${2}"),  # (masked: E1****678)
            "证件号码为护照、港澳台通行证等其他证件的号码（如 '{}'，第 {} 行），这些记录只能按姓名与地点关联 — numbers of "
            "another document than an ID card (a passport, e.g. '{}'): their records are linked by name and place alone",
            "example", "lines", "example"))
    if not other.all():
        found.insert(0, _lines_per_file(
            bad.filter(~other), Finding.ID_UNREADABLE, pl.col("id_raw").first(),
            "证件号码读不出身份证号（如 '{}'，第 {} 行），这些记录只能按姓名与地点关联 — ID numbers that read as "
            "none (e.g. '{}'): their records are linked by name and place alone", "example", "lines", "example"))
    return pl.concat(found)


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


# A department record that may be a roster person set aside (`set_aside_fits`): the roster row it
# may be, and what agrees
FIT_SCHEMA = {"dept": pl.String, "kind": pl.String, "record_id": pl.String, "file": pl.String, "line": pl.Int64,
              "household_id": pl.String, "how": pl.String, "township": pl.String}  # (township: the roster row's)
FIT_MIN_COMMON = 10  # ID characters both keep, all equal: as many as a 6+4 mask keeps of a whole ID


def set_aside_fits(records: pl.DataFrame, aside: pl.DataFrame, names: PlaceNames = PlaceNames(),
                   min_common: int = FIT_MIN_COMMON) -> pl.DataFrame:
    """Records the matcher did not link (`PersonRecord` rows) -> the roster persons set aside
    (`validate.persons_set_aside`: a blank or destroyed 证件号码, a 人编号 given twice) each may
    be (`FIT_SCHEMA`). Not a link: the person's row is on no roster the matcher reads, so their
    records were unmatched, and a rule's lead called them someone not on the roster; the clerk
    is told to check that row first. The record shows a name that fits theirs (every character
    it shows, masks aside: `_name_fits`) and either names their 乡（镇） (and 行政村, where it names
    one), showing two characters of the name or more and no ID character other than theirs kept;
    or its ID keeps at least `min_common` characters their 证件号码 kept too (a zero-filled one
    its first 15), all equal. Excel's `3.41302E+17` keeps 5 digits: such a person is found by
    place only."""
    found = [pl.DataFrame(schema=FIT_SCHEMA)]
    if records.is_empty() or aside.is_empty():
        return found[0]
    shown = pl.col("name").str.replace_all(rf"[\s·•.{MASKS[1:-1]}]", "").str.len_chars().fill_null(0)
    r = records.filter(shown > 0).select("dept", "kind", "record_id", "name", "id_raw", "township", "village")
    a = aside.filter(pl.col("name").is_not_null()).select(
        "file", "line", "household_id", a_name="name", id_raw="id_number", a_t="township", a_v="village")
    keep = [*FIT_SCHEMA]
    # by place: the record's 乡（镇）, and 行政村 where it names one; its name showing two characters
    # or more (a surname alone, 李**, fits too many in a township), and its ID, where it shows one,
    # no character other than theirs kept
    place = lambda c, level: normalize_place(pl.col(c), level, names)  # noqa: E731
    rp = r.filter(pl.col("township").is_not_null(), shown > 1)
    ap = a.filter(pl.col("a_t").is_not_null())
    if rp.height and ap.height:
        rp = normalize_ids(rp).with_columns(_t=place("township", "township"), _v=place("village", "village"))
        ap = normalize_ids(ap).select("file", "line", "household_id", "a_name", "a_t", "a_v", _t=place("a_t", "township"),
                                      _av=place("a_v", "village"), a_id="id_norm", a_kept="kept")
        both = lambda i: (pl.col("kept").str.slice(i, 1) == "1") & (pl.col("a_kept").str.slice(i, 1) == "1")  # noqa: E731
        agree = pl.all_horizontal([~both(i) | (pl.col("id_norm").str.slice(i, 1) == pl.col("a_id").str.slice(i, 1))
                                   for i in range(18)])
        found.append(rp.join(ap, on="_t").filter(
            pl.col("_v").is_null() | (pl.col("_v") == pl.col("_av")), agree, _name_fits(pl.col("name"), pl.col("a_name"))
        ).with_columns(how=pl.when(pl.col("_v").is_null()).then(pl.lit("姓名、乡镇相符"))
                       .otherwise(pl.lit("姓名、乡镇、行政村相符")), township="a_t").select(keep))
    # by ID: the characters both keep, position by position (a few mask styles: a join each)
    ai = normalize_ids(a).filter(pl.col("id_status") != "missing")
    ri = normalize_ids(r).filter(pl.col("id_status") != "missing") if ai.height else r.clear()  # (a city's: read when it matters)
    for (rk,), rg in (ri.partition_by("kept", as_dict=True).items() if ri.height else ()):
        for (ak,), ag in ai.partition_by("kept", as_dict=True).items():
            at = [i for i in range(18) if rk[i] == "1" and ak[i] == "1"]
            if len(at) < min_common:
                continue
            key = lambda df: df.with_columns(_k=pl.concat_str([pl.col("id_norm").str.slice(i, 1) for i in at]))  # noqa: E731
            # (a record naming another 乡（镇）than theirs is not told: its list would name a household of
            # another township)
            found.append(key(rg).join(key(ag).select("file", "line", "household_id", "a_name", "a_t", "_k"), on="_k").filter(
                _name_fits(pl.col("name"), pl.col("a_name")),
                pl.col("township").is_null() | pl.col("a_t").is_null()
                | (place("township", "township") == place("a_t", "township")))
                .with_columns(how=pl.lit(f"姓名相符，证件号码 {len(at)} 位相同"), township="a_t").select(keep))
    return (pl.concat([f.cast(FIT_SCHEMA) for f in found]).unique(["dept", "kind", "record_id", "file", "line"], keep="first",
                                                                  maintain_order=True))


def unmatched_fits(links: pl.DataFrame, records: pl.DataFrame, aside: pl.DataFrame,
                   names: PlaceNames = PlaceNames()) -> pl.DataFrame:
    """The roster persons set aside (`aside`) that the records this run left unmatched (`links`'
    decision; `records`: every PersonRecord it linked) may be (`set_aside_fits`). Only those: a
    record linked or sent to review has its person, or its candidates, on the roster read."""
    key = ["dept", "kind", "record_id"]
    unmatched = links.filter(pl.col("decision") == "unmatched").select(key).unique()
    return set_aside_fits(records.join(unmatched, on=key, how="semi"), aside, names)


def fits_of_period(fits: pl.DataFrame, kept: pl.DataFrame | None, aside: pl.DataFrame) -> pl.DataFrame:
    """The period's records that may be roster persons set aside (`FIT_SCHEMA`), for the report
    and the warehouse: this run's (`fits`) and, in a partial run, the kept departments' as the
    period's full run found them (`kept`, None in a full run) whose roster row is still set aside
    now (`aside`: file and line; every run reads the roster again: a row read now is on it)."""
    if kept is not None:
        kept = kept.select(list(FIT_SCHEMA)).cast(FIT_SCHEMA).join(
            aside.select("file", "line").unique(), on=["file", "line"], how="semi")
    return together([fits, kept], FIT_SCHEMA)


def _fit_words(fits: pl.DataFrame, by: list[str]) -> pl.DataFrame:
    """`by`, said: the roster rows set aside each `by` group of records may be, in words."""
    fits = fits.unique([*by, "file", "line"], maintain_order=True).sort("file", "line")
    return fits.group_by(by, maintain_order=True).agg(
        said=pl.format("{} 第 {} 行（户编号 {}，{}）", "file", "line", pl.col("household_id").fill_null("空"), "how").str.join("；"))


def links_with_fits(links: pl.DataFrame, fits: pl.DataFrame) -> pl.DataFrame:
    """Links (dept, kind, record_id, decision, reason) whose unmatched record may be a roster person
    set aside (`set_aside_fits`) with that said in their reason; the others as they were."""
    if fits.is_empty():
        return links
    key = ["dept", "kind", "record_id"]
    return links.join(_fit_words(fits, key), on=key, how="left", maintain_order="left").with_columns(
        reason=pl.when((pl.col("decision") == "unmatched") & pl.col("said").is_not_null())
        .then(pl.concat_str([pl.col("reason").fill_null(""), pl.lit("; may be the roster's row set aside: "), "said"]))
        .otherwise("reason")).drop("said")


LEAD_HINT = "；或为户籍底册被搁置（未能读入）的人员：{}，请先核对底册，勿径按新增户处理"


def leads_with_fits(warnings: pl.DataFrame, fits: pl.DataFrame, names: PlaceNames = PlaceNames()) -> pl.DataFrame:
    """Warnings whose lead (no household: someone not on the roster) rests on records that may be
    a roster person set aside (`set_aside_fits`), their 预警依据 (`basis`) saying which roster row
    (`LEAD_HINT`), so that the clerk checks the roster before taking a new household in; the
    others as they were. Not linked: precision first. A lead placed in a 乡（镇）(`township`) is
    told only of rows of that township (`names`: its spellings): its list is that township's, and
    a record fitting by ID alone may name none, the lead's other records placing it elsewhere."""
    if fits.is_empty() or warnings.is_empty():
        return warnings
    town = pl.col("township") if "township" in warnings.columns else pl.lit(None, pl.String)
    place = lambda e: normalize_place(e, "township", names)  # noqa: E731
    leads = _fit_words(warnings.with_row_index("_w").filter(pl.col("household_id").is_null())
                       .select("_w", "dept", record_id="record_ids", _town=town).explode("record_id")
                       .join(fits.drop("kind"), on=["dept", "record_id"])
                       .filter(pl.col("_town").is_null() | (place(pl.col("_town")) == place(pl.col("township")))), ["_w"])
    if leads.is_empty():
        return warnings
    return (warnings.with_row_index("_w").join(leads, on="_w", how="left", maintain_order="left")
            .with_columns(basis=pl.when(pl.col("said").is_not_null())
                          .then(pl.concat_str(["basis", pl.format(LEAD_HINT, "said")])).otherwise("basis"))
            .drop("_w", "said"))


def fits_finding(fits: pl.DataFrame, folder: str = "户籍底册") -> pl.DataFrame:
    """One QualityFinding per roster file whose rows set aside may be persons of this period's
    unmatched records (`set_aside_fits`): which lines, with the departments' records of each,
    counting the records. Their records reach no household (a rule's warning of them is lost,
    or goes out as a lead of someone new) until the rows are corrected."""
    if fits.is_empty():
        return pl.DataFrame(schema=QUALITY_COLUMNS)
    per = (fits.unique(["dept", "record_id", "file", "line"]).group_by("file", "line", "household_id", "dept").len()
           .sort("file", "line", "dept").group_by("file", "line", "household_id", maintain_order=True)
           .agg(_d=pl.format("{} {} 条", "dept", "len").str.join("、")))
    more = pl.when(pl.len() > 10).then(pl.lit("…")).otherwise(pl.lit(""))
    n = fits.group_by("file").agg(count=pl.struct("dept", "record_id").n_unique().cast(pl.Int64))
    return per.group_by("file", maintain_order=True).agg(
        _w=pl.format("第 {} 行（户编号 {}：{}）", "line", pl.col("household_id").fill_null("空"), "_d").head(10).str.join("；") + more,
    ).join(n, on="file").select(
        category=pl.lit(Finding.ASIDE_RECORDS), dept=pl.lit(folder), file="file",
        detail=pl.format("被搁置的底册人员或有本期部门记录（姓名与乡镇或证件号码残存位相符），这些记录未能关联：{}。"
                         "其预警不会下发到户，或作为新增线索下发（预警依据已注明）；请更正这些行后重报底册 — roster rows set aside "
                         "that this period's unmatched records may be (name and place, or the ID digits kept, agree): their "
                         "records reach no household, or go out as leads of someone new (their 预警依据 say so); correct the "
                         "rows and deliver the roster again", "_w"),
        count="count",
    ).cast(QUALITY_COLUMNS)

"""Place names: suffix-insensitive normalisation and resolving 水利 records to roster places."""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Collection
from datetime import date

import polars as pl

from config import PlaceNames
from schemas.outputs import QUALITY_COLUMNS, Finding


def _alt(words: Collection[str]) -> str:
    return "|".join(re.escape(w) for w in sorted(words, key=len, reverse=True))


@functools.cache
def _grammar(names: PlaceNames) -> tuple[dict[str, re.Pattern], dict[str, re.Pattern]]:
    """`names`' unit suffix per level (a 民族乡's people cut with its unit: 竹核彝族乡), and the
    units a place may be written under, cut from its front one at a time (`place_key`):
    安徽省宿州市埇桥区大店镇叶岗村3组 holds at most five of them (a group's: a village's unit, but
    not 村民小组's 村)."""
    suffix = {
        "township": re.compile(f"(?:{_alt(names.peoples)})*(?:{_alt(names.township)})$"),
        "village": re.compile(f"({_alt(names.village)})$"),
        "group": re.compile(f"({_alt(names.group)})$"),
    }
    higher = {
        "township": re.compile(f"^.*?({_alt(names.county)})"),
        "village": re.compile(f"^.*?({_alt((*names.county, *names.township))})"),
        "group": re.compile(f"^.*?({_alt(names.village)})(?!民)"),
        "village_unit": re.compile(f"({_alt(names.village)})(?!民)"),  # (`village_and_group`)
    }
    return suffix, higher


_MAX_HIGHER = 5
# reason of a 水利 record whose village is found but not its group (it selects no household)
GROUP_MISSING = "group not on roster"
# a village the record's township does not have, whose name several townships' villages have
VILLAGE_SHARED = "village in several townships, none the record's"
# ... and a record that writes no township at all
VILLAGE_UNPLACED = "village in several townships, no township written"
_NUM = {"一": "1", "二": "2", "三": "3", "四": "4", "五": "5", "六": "6", "七": "7", "八": "8", "九": "9"}


def _stem(v: str, level: str, min_stem: int, names: PlaceNames) -> str:
    """`v` without its unit suffix, keeping at least `min_stem` characters: 永镇镇 and its short
    form 永镇 both -> 永镇. Twice: the body's name may follow the place's (王庄村村委会, 大店镇人民政府;
    楼村村委会 -> 楼村)."""
    for _ in range(2):
        stripped = _grammar(names)[0][level].sub("", v, count=1)
        if len(stripped) >= min_stem:
            v = stripped
    return v


def _clean(value: str) -> str:
    return re.sub(r"[\s()（）]", "", unicodedata.normalize("NFKC", value))


def village_and_group(value: str | None, names: PlaceNames = PlaceNames()) -> tuple[str | None, str | None]:
    """A 行政村 cell that names a group of the village too (大定村那然屯, 王庄村3组, 大店镇王庄村委会第三组:
    a work order's place in one cell) -> (the village, the group); any other -> (value, None). The
    group is what follows a village's unit (`names`) and ends in a group's, a name before its unit
    (村前屯 is one name; so is 新村组: no group's name follows)."""
    if value is None:
        return None, None
    v = _clean(value)
    suffix, higher = _grammar(names)
    for unit in higher["village_unit"].finditer(v):  # (a unit after a name, not one that begins it: 村前屯)
        village, group = v[:unit.end()], v[unit.end():]
        if unit.start() >= 1 and suffix["group"].search(group) and _stem(group, "group", 0, names):
            return village, group
    return value, None


def place_key(value: str | None, level: str = "village", names: PlaceNames = PlaceNames()) -> str | None:
    """王庄 / 王庄村 / 王庄村委会 / 王庄社区 -> 王庄; 时村镇 / 时村乡 -> 时村 (level="township");
    永镇镇 / 永镇 -> 永镇 (a stem keeps two characters);
    第三组 / 3组 / 三村民小组 -> 3 (level="group"); the units are `names`' (`MatchingConfig.places`:
    苏木, 嘎查, 屯, a 民族乡's people). Empty -> None.
    A place written under its higher units (埇桥区大店镇, 宿州市埇桥区大店镇叶岗村, 叶岗村3组) is the
    place itself: each leading unit (`_grammar`) is cut while a stem of the place is left (镇东村
    and 新市镇 stay whole: 东, or nothing, is no name); a village written with its group after it
    (王庄村3组, 大定村那然屯: `village_and_group`) is the village. Roster and records are read alike."""
    if value is None:
        return None
    v = _clean(value)
    if level == "village":
        v = village_and_group(v, names)[0]
    min_stem = 1 if level == "group" else 2
    higher = _grammar(names)[1][level]
    for _ in range(_MAX_HIGHER):
        unit = higher.match(v)
        if unit is None or len(_stem(v[unit.end():], level, 0, names)) < min_stem:
            break
        v = v[unit.end():]
    v = _stem(v, level, min_stem, names)
    if level == "group":
        v = v.removeprefix("第")
        if re.fullmatch(r"[一二三四五六七八九]?十[一二三四五六七八九]?|[一二三四五六七八九]", v):
            tens, _, ones = v.rpartition("十")
            v = (_NUM.get(tens, "1") + _NUM.get(ones, "0")) if "十" in v else _NUM[v]
        v = re.sub(r"^0+(\d)", r"\1", v)
    return v or None


_GROUP_SEP = re.compile(r"[、,，;；/]|和|及")
_GROUP_RANGE = re.compile(r"^第?(\d{1,3})组?[-~～—至到](\d{1,3})(组|村民小组|小组)?$")
MAX_GROUP_RANGE = 30  # how far past its first group a range (3-5组) may end (1-31组 at most); a wider one is read as written


def group_keys(value: str | None, names: PlaceNames = PlaceNames()) -> list[str] | None:
    """A 村民小组 cell -> the `place_key`s of the groups it names: one (3组, 第三组 -> [3]) or
    several, as a work order about a problem of more than one group writes them (3、4组, 第3,4组,
    3组4组 -> [3, 4]; 3-5组, 3至5组 -> [3, 4, 5]). None when it names none."""
    if value is None:
        return None
    v = re.sub(r"组(?=第|\d)", "组、", re.sub(r"\s", "", unicodedata.normalize("NFKC", value)))
    keys: list[str] = []
    for part in _GROUP_SEP.split(v):
        m = _GROUP_RANGE.match(part)
        if m and int(m[1]) < int(m[2]) <= int(m[1]) + MAX_GROUP_RANGE:
            keys += [str(i) for i in range(int(m[1]), int(m[2]) + 1)]
        elif (k := place_key(part, "group", names)) is not None:
            keys.append(k)
    return list(dict.fromkeys(keys)) or None


def normalize_place(expr: pl.Expr, level: str = "village", names: PlaceNames = PlaceNames()) -> pl.Expr:
    """`place_key` of each value, worked out once per distinct value."""
    def keys(s: pl.Series) -> pl.Series:
        uniq = s.unique()
        done = pl.DataFrame({"v": uniq, "k": [place_key(v, level, names) for v in uniq.to_list()]},
                            schema={"v": pl.Utf8, "k": pl.Utf8})
        return s.to_frame("v").join(done, on="v", how="left", nulls_equal=True, maintain_order="left")["k"]
    return expr.cast(pl.Utf8).map_batches(keys, return_dtype=pl.Utf8, is_elementwise=True)


def resolve_places(water: pl.DataFrame, roster: pl.DataFrame, whole_village: Collection[str] = (),
                   names: PlaceNames = PlaceNames()) -> pl.DataFrame:
    """水利 records -> roster place. Returns dept, kind, record_id, township, village, group
    (canonical roster spelling; group null = whole village — unless the 行政村 cell names one too:
    大定村那然屯, `village_and_group` — as is a group written as one of
    `whole_village` (`MatchingConfig.whole_village_groups`: 全村, 全部, -); several groups
    (`group_keys`: 3、4组, 3-5组) are those of them on the roster, joined by 、; a group not on the
    roster keeps the record's spelling so it selects no household),
    decision (matched = village found / unmatched) and reason.

    Village is found by (township, village) ignoring suffixes, else by village alone when
    that is unique in the county."""
    t, v, g = (normalize_place(pl.col(c), lv, names) for c, lv in
               (("township", "township"), ("village", "village"), ("group", "group")))
    places = roster.select("township", "village", "group").unique().with_columns(tn=t, vn=v, gn=g)
    villages = places.group_by("tn", "vn").agg(pl.col("township").first(), pl.col("village").first())
    unique_v = villages.filter(pl.len().over("vn") == 1).select("vn", t2="township", v2="village", tn2="tn")
    shared_v = villages.group_by("vn").agg(shared=pl.len() > 1)
    groups = places.group_by("tn", "vn", "gn").agg(group_c=pl.col("group").first())
    keep = [c for c in ("dept", "kind") if c in water.columns]
    whole = pl.col("group").cast(pl.Utf8).str.normalize("NFKC").str.replace_all(r"\s", "").is_in(list(whole_village))
    blank = pl.col("group").cast(pl.Utf8).str.replace_all(r"\s", "").fill_null("") == ""
    # (a group left empty may be named in the village's cell: 大定村那然屯)
    in_village = pl.col("village").cast(pl.Utf8).map_elements(lambda v: village_and_group(v, names)[1], return_dtype=pl.Utf8)
    w = (
        water.select(*keep, "record_id", rt="township", rv="village",
                     rg=pl.when(blank).then(in_village).when(~whole.fill_null(False)).then("group"))
        .with_row_index("_r")
        .with_columns(tn=normalize_place(pl.col("rt"), "township", names), vn=normalize_place(pl.col("rv"), "village", names),
                      gn=pl.col("rg").map_elements(lambda g: group_keys(g, names), return_dtype=pl.List(pl.Utf8)))
        .join(villages, on=["tn", "vn"], how="left")
        .join(unique_v, on="vn", how="left")
        .join(shared_v, on="vn", how="left")
        .with_columns(
            via=pl.when(pl.col("village").is_not_null()).then(pl.lit("township+village"))
            .when(pl.col("v2").is_not_null()).then(pl.lit("village unique in county")),
            township=pl.coalesce("township", "t2"), village=pl.coalesce("village", "v2"),
            tn=pl.coalesce(pl.when(pl.col("village").is_not_null()).then("tn"), "tn2"),
        )
    )
    named = (w.select("_r", "tn", "vn", "gn").explode("gn").join(groups, on=["tn", "vn", "gn"], how="left")
             .group_by("_r").agg(group_c=pl.col("group_c").drop_nulls().unique(maintain_order=True).str.join("、")))
    w = w.join(named, on="_r", how="left").sort("_r").with_columns(
        gn=pl.col("gn").list.first(), group_c=pl.when(pl.col("group_c") != "").then("group_c"))
    out = w.with_columns(
        group=pl.when(pl.col("gn").is_not_null()).then(pl.coalesce("group_c", "rg")),
        decision=pl.when(pl.col("village").is_not_null()).then(pl.lit("matched")).otherwise(pl.lit("unmatched")),
        reason=pl.when(pl.col("village").is_null() & pl.col("shared").fill_null(False)).then(
            pl.when(pl.col("rt").cast(pl.Utf8).str.strip_chars().fill_null("") == "").then(pl.lit(VILLAGE_UNPLACED))
            .otherwise(pl.lit(VILLAGE_SHARED)))
        .when(pl.col("village").is_null()).then(pl.lit("village not on roster"))
        .otherwise(pl.concat_str([
            pl.col("via"),
            pl.when(pl.col("gn").is_null()).then(pl.lit("; whole village"))
            .when(pl.col("group_c").is_null()).then(pl.lit("; " + GROUP_MISSING))
            .otherwise(pl.lit("; group found")),
        ])),
    ).select(*keep, "record_id", "township", "village", "group", "decision", "reason")
    assert out.height == water.height, "resolve_places lost or duplicated rows"
    return out


def water_links(resolved: pl.DataFrame) -> pl.DataFrame:
    """`resolve_places` output -> Link rows (place-level: null person/household ids)."""
    return resolved.select(
        "dept", "kind", "record_id", "decision",
        person_id=pl.lit(None, pl.Utf8), household_id=pl.lit(None, pl.Utf8), score=pl.lit(None, pl.Float64),
        reason=pl.concat_str([pl.lit("place: "), pl.col("reason")]),
        n_candidates=(pl.col("decision") == "matched").cast(pl.Int64),
    )


# What `places_not_found` says of each kind of miss: (before the orders it names, after them).
_NOT_FOUND = {
    "village": ("未解决的工单所在行政村在户籍底册中没有监测对象户，未对任何户预警（W1）；若村组已更名、合并或写错，请核对：",
                " — unresolved, its village holds no roster household: no household warned"),
    "group": ("未解决的工单所在村民小组在户籍底册中没有监测对象户，未对任何户预警（W1）；若村组已更名、合并或写错，请核对：",
              " — unresolved, its group holds no roster household: no household warned"),
    "shared": ("未解决的工单所在行政村名在户籍底册中属多个乡镇，均非工单所写乡镇，无法确定是哪个村，未对任何户预警（W1）；请核对乡镇：",
               " — unresolved, its village name is on the roster in several townships, none the one written: "
               "no household warned"),
    "unplaced": ("未解决的工单未写乡镇，其行政村名在户籍底册中属多个乡镇，无法确定是哪个村，未对任何户预警（W1）；请补写乡镇：",
                 " — unresolved, no township written and its village name is on the roster in several townships: "
                 "no household warned"),
}


def places_not_found(water: pl.DataFrame, resolved: pl.DataFrame, period_last_day: date) -> pl.DataFrame:
    """水利 records (Water rows, with file and line) + their `resolve_places` rows -> QualityFinding
    rows, one per file and kind of miss: the unresolved work orders (no 解决日期, or one after
    `period_last_day`: a plan, as W1 reads it) whose village is
    not on the roster (unmatched), or whose group has no roster household (matched, selecting
    none), or whose village name several townships have, none the one written (or none written:
    `VILLAGE_SHARED`, `VILLAGE_UNPLACED`; said as `_NOT_FOUND` says each kind). W1 warns no
    household for them, which nothing else would show. Often right (the
    roster holds a tenth of the households: a group may hold none of them), but a village
    renamed, merged or mistyped looks the same, so the report names them."""
    miss = (resolved.join(water.select("record_id", "file", "line", "resolved_date", rt="township", rv="village",
                                       rg="group"), on="record_id", how="left")
            .filter(pl.col("resolved_date").is_null() | (pl.col("resolved_date") > period_last_day),
                    (pl.col("decision") == "unmatched") | pl.col("reason").str.contains(GROUP_MISSING, literal=True))
            .with_columns(miss=pl.when(pl.col("reason") == VILLAGE_SHARED).then(pl.lit("shared"))
                          .when(pl.col("reason") == VILLAGE_UNPLACED).then(pl.lit("unplaced"))
                          .when(pl.col("decision") == "unmatched").then(pl.lit("village")).otherwise(pl.lit("group")))
            .sort("file", "line"))
    shown = [pl.col(c).cast(pl.Utf8).str.strip_chars().replace("", None) for c in ("rt", "rv", "rg")]  # (a cell of spaces: none)
    what = pl.concat_str(pl.col("record_id"), pl.lit("（"), pl.concat_str(shown, separator=" ", ignore_nulls=True),
                         pl.lit("）"))
    more = pl.when(pl.col("count") > 5).then(pl.lit("…")).otherwise(pl.lit(""))
    said = lambda i: pl.col("miss").replace_strict({k: v[i] for k, v in _NOT_FOUND.items()})  # noqa: E731
    return miss.group_by("dept", "file", "miss", maintain_order=True).agg(
        what.head(5).str.join("、").alias("_some"), count=pl.len().cast(pl.Int64),
    ).select(
        category=pl.lit(Finding.PLACE_NOT_FOUND), dept="dept", file="file",
        detail=pl.concat_str(said(0), "_some", more, said(1)),
        count="count",
    ).cast(QUALITY_COLUMNS)

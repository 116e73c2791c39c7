"""Checks of the county's own reference files, the 户籍底册 (roster) and the 网格 (grid), as real
systems export them: what their rows say about each other that a row alone cannot show. Pure
functions over `RosterPerson` / `GridHousehold` rows; each returns `QualityFinding` rows for
数据质量报告.csv, one per roster (or grid) file and kind of fault, naming at most `EXAMPLES`
households or persons by 户编号 / 人编号 and line (the report holds no ID number)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

import polars as pl

from config import Config, PlaceNames
from matchers.ids import roster_check_fails
from matchers.places import normalize_place
from pipelines.identify import destroyed_ids, unreadable_ids
from pipelines.validate import EXCEL_DESTROYED, REJECTED_SCHEMA, in_headers, mask_value, without_sheet
from schemas.inputs import (EXCEL_NUMBER, EXCEL_ZERO_TAIL, PERSON_KINDS, SHARED_MARK, as_written, record_key,
                           respelled)
from schemas.outputs import QUALITY_COLUMNS, Finding

EXAMPLES = 10  # households or persons named in one finding's detail
LINES = 5  # lines named for one of them


def _empty() -> pl.DataFrame:
    return pl.DataFrame(schema=QUALITY_COLUMNS)


def _line_list(lines: pl.Expr) -> pl.Expr:
    """`第 2、6、10 行` of a list of line numbers (the first `LINES`, then …)."""
    more = pl.when(lines.list.len() > LINES).then(pl.lit("…")).otherwise(pl.lit(""))
    return pl.format("第 {}{} 行", lines.list.head(LINES).cast(pl.List(pl.Utf8)).list.join("、"), more)


def _per_file(found: pl.DataFrame, category: str, lead: str, tail: str, after: str = "") -> pl.DataFrame:
    """`found` (dept, file, _what: one example's words, in order) -> one finding per file:
    `lead` + the first `EXAMPLES` examples + `after` — `tail`, counting them all."""
    if found.is_empty():
        return _empty()
    more = pl.when(pl.col("count") > EXAMPLES).then(pl.lit("…")).otherwise(pl.lit(""))
    return found.group_by("dept", "file", maintain_order=True).agg(
        pl.col("_what").head(EXAMPLES).str.join("；"), count=pl.len().cast(pl.Int64),
    ).select(
        category=pl.lit(category), dept="dept", file="file",
        detail=pl.format("{}{}{}{} — {}", pl.lit(lead), "_what", more, pl.lit(after), pl.lit(tail)), count="count",
    ).cast(QUALITY_COLUMNS)


def _place(names: PlaceNames) -> pl.Expr:
    """A village as the roster's rows are compared: 乡（镇）+ 行政村, suffixes aside (大店 = 大店镇;
    `names`: `MatchingConfig.places`)."""
    return pl.concat_str([normalize_place(pl.col("township"), "township", names).fill_null(""),
                          normalize_place(pl.col("village"), "village", names).fill_null("")], separator="|")


def split_shared_households(roster: pl.DataFrame, names: PlaceNames = PlaceNames()) -> pl.DataFrame:
    """The roster with each 户编号 whose persons live in several villages (乡（镇）+ 行政村,
    suffixes aside) taken as one household per village, as a roster that gave each its own
    户编号 would: the village of its first person by 人编号 (where the run placed the whole
    户编号) keeps it, each other village's persons are keyed `<户编号>@<乡（镇）><行政村>`
    (`schemas.inputs.SHARED_MARK`, the place as that village's first person's row spells it). Rules,
    预警编号, the grid and the lists then take them as households of their own: no list names a
    person of another village; the lists show the 户编号 as written (`as_written`) and say it is
    shared (`shared_notes`). Several 户主 in one village stay one household: nothing tells whose
    members are whose. The usual cause, Excel's 15 digits, is named by `shared_household_ids`."""
    many = roster.group_by("household_id").agg(_n=pl.struct("township", "village").n_unique()).filter(pl.col("_n") > 1)
    if many.is_empty():  # (a city's roster: only the few spelt in two places are looked at closely)
        return roster
    r = (roster.filter(pl.col("household_id").is_in(many["household_id"].implode()))
         .select("household_id", "person_id", "township", "village", _place=_place(names)).sort("person_id")
         .with_columns(_first=pl.col("_place").first().over("household_id"),
                       _spelt=pl.concat_str("township", "village").first().over("household_id", "_place")))
    keys = r.filter(pl.col("_place") != pl.col("_first")).select(
        "person_id", _key=pl.format("{}" + SHARED_MARK + "{}", "household_id", "_spelt"))
    if keys.is_empty():  # (one village spelt two ways)
        return roster
    return roster.join(keys, on="person_id", how="left", maintain_order="left").with_columns(
        household_id=pl.coalesce("_key", "household_id")).drop("_key")


def shared_household_ids(roster: pl.DataFrame, head_relations: Collection[str],
                         names: PlaceNames = PlaceNames()) -> pl.DataFrame:
    """户编号 that hold several households: two or more persons whose 与户主关系 is one of
    `head_relations`, or persons in two or more villages (乡（镇）+ 行政村, suffixes aside), by
    the 户编号 as written (`as_written`: a roster `split_shared_households` keyed). The run warns
    each village's persons as a household of their own (`split_shared_households`) and several
    heads in one village as one household, so such a roster must be corrected; the usual cause is a long numeric
    户编号 that Excel kept to 15 significant digits (`EXCEL_ZERO_TAIL`), which the finding then
    says. Named by 户编号 with the lines of its heads (or of its first person in each village)."""
    if roster.is_empty():
        return _empty()
    roster = roster.with_columns(household_id=as_written(pl.col("household_id")))
    is_head = pl.col("relation").is_in(list(head_relations)).fill_null(False)
    shown = pl.concat_str([pl.col("township").fill_null(""), pl.col("village").fill_null("")])
    # (only the households with two heads or two spellings of their place are looked at closely:
    # a city's roster holds a million persons)
    suspect = roster.group_by("household_id").agg(
        _heads=is_head.sum(), _places=pl.struct("township", "village").n_unique()).filter(
        (pl.col("_heads") > 1) | (pl.col("_places") > 1))["household_id"]
    if suspect.is_empty():
        return _empty()
    r = (roster.filter(pl.col("household_id").is_in(suspect.implode())).sort("file", "line")
         .with_columns(_place=_place(names), _shown=shown, _head=is_head))
    firsts = r.unique(["household_id", "_place"], keep="first", maintain_order=True)
    heads = r.filter("_head").group_by("household_id").agg(_heads=pl.col("line"))
    places = firsts.group_by("household_id").agg(_places=pl.col("_shown"), _place_lines=pl.col("line"))
    g = (r.unique("household_id", keep="first", maintain_order=True).select("dept", "file", "household_id")
         .join(heads, on="household_id", how="left").join(places, on="household_id", how="left")
         .with_columns(pl.col("_heads").fill_null([]))
         .filter((pl.col("_heads").list.len() > 1) | (pl.col("_places").list.len() > 1)))
    if g.is_empty():
        return _empty()
    n_heads, n_places = pl.col("_heads").list.len(), pl.col("_places").list.len()
    words = pl.concat_str([
        pl.format("户编号 {}：", "household_id"),
        pl.when(n_heads > 1).then(pl.format("{} 名户主（{}）", n_heads, _line_list(pl.col("_heads")))).otherwise(pl.lit("")),
        pl.when((n_heads > 1) & (n_places > 1)).then(pl.lit("，")).otherwise(pl.lit("")),
        pl.when(n_places > 1).then(pl.format(
            "跨 {} 个村（{}{}，{}）", n_places, pl.col("_places").list.head(LINES).list.join("、"),
            pl.when(n_places > LINES).then(pl.lit("…")).otherwise(pl.lit("")), _line_list(pl.col("_place_lines")))
        ).otherwise(pl.lit("")),
    ])
    zero_tail = g["household_id"].str.contains(EXCEL_ZERO_TAIL).any()
    excel = ("。其中户编号超过 15 位且末尾为 0：Excel 把长数字只保留 15 位有效数字、其后补 0，几户因此共用一个户编号，"
             "请把户编号列设为文本后重新导出" if zero_tail else "")
    excel_en = (" Some are over 15 digits ending in zeros: Excel keeps 15 significant digits of a long number and "
                "fills the rest with 0, so several households came to share one; export the column as text." if zero_tail else "")
    return _per_file(
        g.select("dept", "file", _what=words), Finding.HOUSEHOLD_SHARED,
        "一个户编号下有几户（两名以上户主，或成员分属不同村），本期各村的人按一户预警、各列入本村所在乡镇的清单"
        "（清单的户编号照底册写，状态中注明），同村的几户仍按一户，请核对更正：",
        "one 户编号 holding several households (two or more 户主, or members in different villages): this run warns "
        "each village's persons as a household of their own, on their own township's list (the lists show the "
        "户编号 as written and say it is shared), and several households of one village as one; correct the "
        "roster." + excel_en, after=excel)


def align_grid(grid: pl.DataFrame, roster: pl.DataFrame,
               names: PlaceNames = PlaceNames()) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(grid, finding): the grid with each 户编号 that the roster does not hold, but writes
    otherwise (`record_key`: h0001 for H0001, 12345 for 0012345), spelled as the roster
    spells it — where exactly one roster household has that key — so that its grid worker is
    found; the finding names how many were read so and a few of them (`Finding.GRID_IDS`). A
    grid row of a 户编号 the roster shares among villages (`split_shared_households`) is the
    household of the village the row names (乡（镇）and 行政村, suffixes aside), or, naming
    none of them, the one that kept the 户编号. A cell listing several roster households
    (`H0001、H0002`) is read as a row each (`_one_row_each`), noted too."""
    ids = roster.select("household_id").unique()
    grid, several = _one_row_each(grid, ids)
    aligned = respelled(grid, "household_id", ids)
    found = (grid.with_columns(_to=aligned["household_id"]).filter(pl.col("household_id").ne_missing(pl.col("_to")))
             .sort("file", "line").select("dept", "file", _what=pl.format("{} → {}（第 {} 行）", "household_id", "_to", "line")))
    note = _per_file(found, Finding.GRID_IDS, "网格表的户编号与底册写法不同（大小写、前导 0、空格或撇号），已按底册的户编号对应网格员：",
                     "grid 户编号 written otherwise than the roster's (case, leading zeros, spaces, an apostrophe): read as "
                     "the roster's, so that the lists name their grid workers; correct the grid")
    return _villages(aligned, roster, names), pl.concat([several, note])


_SEVERAL = r"[^、,，;；/\s]+"  # the 户编号 of a cell listing several, separated by 、,，;；/ or spaces


def _one_row_each(grid: pl.DataFrame, ids: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(grid, finding): a grid cell that is no roster 户编号 but lists two or more that are (as
    `record_key` compares them: a grid typed one row per grid worker, its households in one
    cell, left every one of them without a grid worker) read as one row per household, in the
    row's place; a household with a row of its own keeps that one. The finding names the cells."""
    keys = ids.select(record_key(pl.col("household_id")).alias("_k"))["_k"]
    g = grid.with_row_index("_r")
    cells = g.filter(~pl.col("household_id").is_in(ids["household_id"].implode()),
                     pl.col("household_id").str.count_matches(_SEVERAL) >= 2)
    if cells.is_empty():
        return grid, _empty()
    parts = cells.with_columns(_part=pl.col("household_id").str.extract_all(_SEVERAL)).explode("_part")
    split = parts.filter(record_key(pl.col("_part")).is_in(keys.implode()).all().over("_r"))
    if split.is_empty():
        return grid, _empty()
    found = (split.unique("_r", keep="first", maintain_order=True).sort("file", "line")
             .select("dept", "file", _what=pl.format("第 {} 行：{}", "line", "household_id")))
    rows = pl.concat([g.join(split.select("_r").unique(), on="_r", how="anti"),
                      split.with_columns(household_id="_part").select(g.columns)])
    kept = rows.unique("household_id", keep="first", maintain_order=True).sort("_r", maintain_order=True).drop("_r")
    return kept, _per_file(found, Finding.GRID_IDS, "网格表一格中写了多个户编号，已按每户一行读取：",
                           "grid cells listing several 户编号: read as one row per household; the grid should list one "
                           "household a row")


def _villages(grid: pl.DataFrame, roster: pl.DataFrame, names: PlaceNames) -> pl.DataFrame:
    """The grid with the rows of a 户编号 that `split_shared_households` keyed per village given
    the key of the village they name (`align_grid`)."""
    parts = roster.filter(pl.col("household_id").str.contains(SHARED_MARK, literal=True))
    if parts.is_empty() or not {"township", "village"} <= set(grid.columns):
        return grid
    parts = parts.select(_key="household_id", household_id=as_written(pl.col("household_id")), _p=_place(names)).unique()
    return (grid.with_columns(_p=_place(names)).join(parts, on=["household_id", "_p"], how="left", maintain_order="left")
            .with_columns(household_id=pl.coalesce("_key", "household_id")).drop("_p", "_key"))


def shared_notes(roster: pl.DataFrame, head_relations: Collection[str]) -> pl.DataFrame:
    """household_id, note: what a list row of a household says in its 状态 when the roster gives
    its 户编号 to several households — persons in other villages too (`split_shared_households`:
    the row names this village's alone), or two or more 户主 (one household here) — so that the
    township has the roster corrected: `（底册户编号 H0001 多户共用：跨 2 个村，本行只列本村的人；请核对更正底册）`."""
    is_head = pl.col("relation").is_in(list(head_relations)).fill_null(False)
    per = roster.group_by("household_id").agg(_w=as_written(pl.col("household_id")).first(), _heads=is_head.sum())
    per = per.with_columns(_villages=pl.len().over("_w")).filter((pl.col("_villages") > 1) | (pl.col("_heads") > 1))
    villages = pl.when(pl.col("_villages") > 1).then(pl.format("跨 {} 个村，本行只列本村的人", "_villages"))
    heads = pl.when(pl.col("_heads") > 1).then(pl.format("本行 {} 名户主按一户列出", "_heads"))
    return per.select("household_id", note=pl.format(
        "（底册户编号 {} 多户共用：{}；请核对更正底册）", "_w", pl.concat_str([villages, heads], separator="，", ignore_nulls=True)))


def households_without_head(roster: pl.DataFrame, head_relations: Collection[str],
                            set_aside: pl.DataFrame | None = None) -> pl.DataFrame:
    """Households none of whose persons the roster calls 户主 (与户主关系 in `head_relations`):
    the 户主 left out of the export, or the head written in a word the config does not know. The
    lists then name the household's first person (by 人编号) as 户主姓名, and 住建's and 农业农村's
    records (户主姓名) are weighed as naming a member. Not looked for when the roster gives no
    与户主关系 at all. Named by 户编号 with its first line and the relations it gives, and the
    first of the roster's lines `set_aside` (file, line: its `Rejected` rows) next to or among the
    household's lines: the head's row, most likely, set aside (a blank or destroyed 证件号码)."""
    if roster.is_empty() or roster["relation"].drop_nulls().is_empty():
        return _empty()
    is_head = pl.col("relation").is_in(list(head_relations)).fill_null(False)
    headless = roster.group_by("household_id").agg(_heads=is_head.sum()).filter(pl.col("_heads") == 0)["household_id"]
    if headless.is_empty():
        return _empty()
    g = (roster.filter(pl.col("household_id").is_in(headless.implode())).sort("file", "line")
         .group_by("household_id", maintain_order=True)
         .agg(pl.col("dept", "file", "line").first(), _last=pl.col("line").max(),
              _rel=pl.col("relation").drop_nulls().unique(maintain_order=True)))
    aside = (set_aside.filter(pl.col("line").is_not_null()).select("file", _aside=pl.col("line").cast(pl.Int64)).unique()
             if set_aside is not None else pl.DataFrame(schema={"file": pl.Utf8, "_aside": pl.Int64}))
    # (the first such line: an asof join, not every household against every line set aside — a
    # city's roster may set aside many)
    near = (g.select("household_id", "file", _from=pl.col("line") - 1, _to=pl.col("_last") + 1).sort("_from")
            .join_asof(aside.sort("_aside"), left_on="_from", right_on="_aside", by="file", strategy="forward",
                       check_sortedness=False)
            .filter(pl.col("_aside") <= pl.col("_to")).select("household_id", "_aside"))
    g = g.join(near, on="household_id", how="left", maintain_order="left")
    words = pl.concat_str([
        pl.format("户编号 {}（第 {} 行起，与户主关系：{}", "household_id", "line",
                  pl.when(pl.col("_rel").list.len() > 0).then(pl.col("_rel").list.join("、")).otherwise(pl.lit("空"))),
        pl.when(pl.col("_aside").is_not_null()).then(pl.format("；第 {} 行被搁置，或为该户户主", "_aside"))
        .otherwise(pl.lit("")),
        pl.lit("）"),
    ])
    told = ("；注明“被搁置”的行见 搁置行及原因.csv，户主的行更正后重报底册即可" if near.height else "")
    return _per_file(
        g.select("dept", "file", _what=words), Finding.NO_HEAD,
        "户中没有与户主关系为" + "/".join(head_relations) + "的人，预警清单的户主姓名暂填该户人编号最小者，请核对：",
        "households with no person the roster calls 户主 (" + "/".join(head_relations) + "): the lists name the "
        "household's first person by 人编号 as its head. If the roster writes the head otherwise, add that word to "
        "matching.head_relations in the config" + ("; a line set aside next to a household's may be its head's "
                                                   "(搁置行及原因.csv): correct it and deliver the roster again" if near.height else ""),
        after="。如底册对户主另有写法，请加入配置 matching.head_relations" + told)


def townships_written_twice(roster: pl.DataFrame, names: PlaceNames = PlaceNames()) -> pl.DataFrame:
    """The roster's 乡（镇） spellings that compare as one township (`place_key`: 东嘎街道 and
    东嘎街道办事处, 竹核乡 and 竹核彝族乡): each spelling gets a township list of its own, its households
    split between them. One finding per such township, its spellings with their persons; two
    townships that truly share a stem (营许乡, 营许镇) are named too, for the county to judge."""
    if roster.is_empty() or "township" not in roster.columns:
        return _empty()
    t = (roster.filter(pl.col("township").is_not_null()).group_by("township").agg(n=pl.len(), file=pl.col("file").first())
         .with_columns(_key=normalize_place(pl.col("township"), "township", names))
         .filter(pl.col("_key").is_not_null() & (pl.len().over("_key") > 1)).sort("_key", pl.col("n"), "township",
                                                                                  descending=[False, True, False]))
    if t.is_empty():
        return _empty()
    return t.group_by("_key", maintain_order=True).agg(
        file=pl.col("file").first(), _what=pl.format("{}（{} 人）", "township", "n").str.join(" 与 "),
    ).select(
        category=pl.lit(Finding.TOWNSHIP_SPELLINGS), dept=pl.lit("户籍底册"), file="file",
        detail=pl.format("底册中乡（镇）写法不一，各写法将分别成一份乡镇清单、户也分开：{}。若为同一乡镇，请统一写法后重报底册；"
                         "若确为两个乡镇可不理会 — one township written two ways: each spelling gets a list of its own",
                         "_what"),
        count=pl.lit(1, pl.Int64),
    ).cast(QUALITY_COLUMNS)


def persons_listed_twice(roster: pl.DataFrame) -> pl.DataFrame:
    """One 证件号码 under two or more 人编号 (one person in two households, or entered twice):
    every record of that person fits each of them alike and waits in the review queue, and a
    rule may count them twice. Named by 人编号, 户编号 and line, never by the ID number."""
    if roster.is_empty():
        return _empty()
    idn = pl.col("id_number")  # (upper case since validation: `validate._field_exprs`)
    twice = roster.filter(idn.is_duplicated()).sort("file", "line")
    if twice.is_empty():
        return _empty()
    g = twice.group_by(idn.alias("_id"), maintain_order=True).agg(
        pl.col("dept", "file").first(),
        _who=pl.format("{}（户 {}，第 {} 行）", "person_id", "household_id", "line").str.join(" 与 "))
    return _per_file(
        g.select("dept", "file", _what=pl.format("{} 证件号码相同", "_who")), Finding.PERSON_TWICE,
        "同一证件号码在底册中出现不止一次（同一人列在两户，或重复录入），其各部门记录无法自动关联、只能人工复核，请核对更正：",
        "one ID number under two or more 人编号 (a person listed in two households, or entered twice): their "
        "records fit both alike and wait for review; correct the roster")


def grid_missing(grid: pl.DataFrame | None, folder: str = "网格", delivered: Collection[str] = (),
                 set_aside: pl.DataFrame | None = None) -> pl.DataFrame:
    """The finding that the period has no usable grid, so that the lists' 网格员 and 网格员电话
    are empty: none delivered (`Finding.GRID_NOT_DELIVERED`), or none of the rows of its files
    kept (`delivered`: the grid's files this period; `set_aside`: their `Rejected` rows) — one
    `Finding.GRID_NO_ROWS` per file, saying whether it held no row, was set aside whole, or had
    each row set aside and why. The grid is a reference file the county keeps, not a department:
    a delivered grid without rows was said as 部门未报送, sending the county to chase a delivery
    that had come."""
    if grid is not None and grid.height:
        return _empty()
    if not delivered:
        return pl.DataFrame([dict(category=Finding.GRID_NOT_DELIVERED, dept=folder, file=None, count=1,
                                  detail="本期未收到网格划分，预警清单的网格员、网格员电话为空 no grid delivered this period: "
                                         "the lists' 网格员 and 网格员电话 are empty")], schema=QUALITY_COLUMNS)
    aside = (set_aside if set_aside is not None else pl.DataFrame(schema={"file": pl.Utf8, "line": pl.Int64,
                                                                          "reason": pl.Utf8}))
    rows = []
    for file in sorted(delivered):
        mine = aside.filter(without_sheet(pl.col("file")) == file)  # (a workbook's sheets too)
        whole = mine.filter(pl.col("line").is_null())
        lines = mine.filter(pl.col("line").is_not_null())
        why = (lines["reason"].str.split("；").list.first().str.split(":").list.first().unique(maintain_order=True)
               .head(3).str.join("；").item() if lines.height else "")
        if whole.height:
            zh, en, n = f"文件被整体搁置（{whole['reason'][0]}）", "the file was set aside whole", 1
        elif lines.height:
            n = lines.select("line").n_unique()
            zh, en = f"{n} 行均被搁置（{why}；见 搁置行及原因.csv）", f"each of its {n} rows was set aside ({why})"
        else:
            zh, en, n = "只有表头、没有数据行", "it holds a header and no row", 1
        rows.append(dict(category=Finding.GRID_NO_ROWS, dept=folder, file=file, count=n, detail=(
            f"网格文件已报送，但没有可用的行：{zh}。预警清单的网格员、网格员电话为空，请更正后重报网格 — the grid was "
            f"delivered but no row of it could be used: {en}. The lists' 网格员 and 网格员电话 are empty; deliver the "
            f"grid again")))
    return pl.DataFrame(rows, schema=QUALITY_COLUMNS)


_PHONES = {"grid_worker_phone": ("grid_worker", "网格员"), "grid_leader_phone": ("grid_leader", "网格长")}


def grid_phones_destroyed(grid: pl.DataFrame) -> pl.DataFrame:
    """Grid workers' (and leaders') phone numbers that Excel turned into `1.37E+10`: the number
    cannot be recovered, and the lists would print it so. Named by grid, person and first line."""
    parts = [
        grid.filter(pl.col(c).str.contains(EXCEL_NUMBER).fill_null(False)).select(
            "dept", "file", "line", "grid_id", _who=pl.col(who).fill_null(""), _role=pl.lit(role), _v=pl.col(c))
        for c, (who, role) in _PHONES.items() if c in grid.columns and who in grid.columns
    ]
    bad = pl.concat(parts) if parts else pl.DataFrame()
    if bad.is_empty():
        return _empty()
    bad = bad.sort("file", "line").unique(["grid_id", "_role", "_who", "_v"], keep="first", maintain_order=True)
    return _per_file(
        bad.select("dept", "file", _what=pl.format("网格 {} {} {} 电话 {}（第 {} 行起）", "grid_id", "_role", "_who", "_v", "line")),
        Finding.PHONE_DESTROYED,
        "电话号码被 Excel 存成科学计数法，号码已无法还原，预警清单的网格员电话照原样列出，请把电话列设为文本后重报：",
        "phone numbers Excel turned into scientific notation (1.37E+10): the digits are lost and the lists print them "
        "so; deliver the grid again with the phone columns as text")


def household_size_disagrees(roster: pl.DataFrame) -> pl.DataFrame:
    """Households whose 家庭人口数 differs from the persons the roster lists under the 户编号, or
    is given differently on their rows. M2 and A1 count a household's annual income as 年人均纯收入
    × 家庭人口数 (SPEC §4), taking the stated number (that of its first person by 人编号 who has
    one; the persons listed when none does), so the county should know where the two disagree.
    Named by 户编号 with its first line."""
    if roster.is_empty() or roster["household_size"].drop_nulls().is_empty():
        return _empty()
    stated = pl.col("household_size")
    odd = roster.group_by("household_id").agg(_n=pl.len(), _lo=stated.min(), _hi=stated.max()).filter(
        (pl.col("_lo") != pl.col("_hi")) | (pl.col("_lo") != pl.col("_n")))["household_id"]
    if odd.is_empty():
        return _empty()
    g = (roster.filter(pl.col("household_id").is_in(odd.implode())).sort("file", "line")
         .group_by("household_id", maintain_order=True)
         .agg(pl.col("dept", "file", "line").first(), _listed=pl.len(),
              _stated=pl.col("household_size").drop_nulls().unique(maintain_order=True)))
    g = g.filter((pl.col("_stated").list.len() > 1)
                 | ((pl.col("_stated").list.len() == 1) & (pl.col("_stated").list.first() != pl.col("_listed"))))
    words = pl.format("户编号 {}：家庭人口数 {}，底册列 {} 人（第 {} 行起）", "household_id",
                      pl.col("_stated").cast(pl.List(pl.Utf8)).list.join("、"), "_listed", "line")
    return _per_file(
        g.select("dept", "file", _what=words), Finding.HOUSEHOLD_SIZE,
        "家庭人口数与底册所列人数不符（或同一户各行不一），M2、A1 按家庭人口数计算家庭年纯收入，请核对：",
        "households whose 家庭人口数 differs from the persons listed under the 户编号 (or from row to row): M2 and A1 "
        "take the household's annual income as 年人均纯收入 x 家庭人口数")


# Roster fields the rules or the lists read but the run can go without, and what it does then.
USED_ROSTER_FIELDS = {
    "income_per_capita": ("M2 无法计算家庭年纯收入占比、不预警，A1 只按损失金额",
                          "M2 cannot weigh costs against income and warns no one; A1 goes by the loss amount only"),
    "relation": ("预警清单的户主姓名取各户人编号最小者，住建、农业农村记录不比对是否户主",
                 "the lists name each household's first person by 人编号 as its head; 住建's and 农业农村's "
                 "records are not compared with the head"),
    "household_size": ("家庭人口数按底册所列人数计", "a household's size is the persons listed"),
    "household_type": ("预警清单的户类型为空", "the lists' 户类型 is empty"),
}


USED_GRID_FIELDS = {"grid_worker_phone": ("预警清单的网格员电话为空", "the lists' 网格员电话 is empty")}
# Fields of a department's extract a rule reads but the extract may go without (the rule runs on
# its other conditions), per kind, and what the run does then.
USED_RECORD_FIELDS = {
    "hr": {"months_unpaid": ("R1 只按失业登记、返乡登记预警，不按连续未缴费月数",
                             "R1 warns on 失业登记 and 返乡登记 only, not on months unpaid")},
    "education": {"annual_cost": ("E2 不按本学年个人负担费用预警", "E2 does not weigh the year's cost to the student")},
    # (an empty 解决日期 is an unresolved problem: without the column every solved one is warned again)
    "water": {"resolved_date": ("每张工单都按未解决读，W1 对其所在村（组）的每户预警",
                                "every work order is read as unresolved: W1 warns every household of its village (group)")},
}


def _fields_missing(df: pl.DataFrame, aliases: dict[str, list[str]], used: dict[str, tuple[str, str]], kind: str
                    ) -> pl.DataFrame:
    if df.is_empty():
        return _empty()
    given = df.group_by("dept", "file", maintain_order=True).agg(
        [pl.col(f).is_not_null().any().alias(f) for f in used if f in df.columns])
    rows = []
    for r in given.iter_rows(named=True):
        for f, (zh, en) in used.items():
            if r.get(f, False):
                continue
            header = (aliases.get(f) or [f])[0]
            rows.append(dict(category=Finding.COLUMN_MISSING, dept=r["dept"], file=r["file"], count=1, detail=(
                f"没有可用的“{header}”列（缺列、表头写法不认识或全空）：{zh}。表头另有写法时请加入配置 "
                f"kinds.{kind}.fields.{f} — no usable {f} column (missing, headed otherwise, or empty): {en}; "
                f"add another header name to kinds.{kind}.fields.{f}")))
    return pl.DataFrame(rows, schema=QUALITY_COLUMNS)


def roster_fields_missing(roster: pl.DataFrame, aliases: dict[str, list[str]]) -> pl.DataFrame:
    """Per roster file, the `USED_ROSTER_FIELDS` it gives on no row: its column is missing, named
    in a way the config does not know (家庭年人均纯收入 before it was an alias), or empty. Nothing
    else says so (extra columns are ignored), and M2 would quietly warn no one. Names the header
    looked for (`aliases`: `kinds.roster.fields`), what the run does without it, and where to add
    another name for it."""
    return _fields_missing(roster, aliases, USED_ROSTER_FIELDS, "roster")


def grid_fields_missing(grid: pl.DataFrame, aliases: dict[str, list[str]]) -> pl.DataFrame:
    """The same for the grid (`USED_GRID_FIELDS`: a 网格员电话 headed 网格员联系电话 left every
    list's 网格员电话 empty, with nothing said)."""
    return _fields_missing(grid, aliases, USED_GRID_FIELDS, "grid")


def record_fields_missing(records: pl.DataFrame, kind: str, aliases: dict[str, list[str]]) -> pl.DataFrame:
    """The same for a department's extract of `kind` (`USED_RECORD_FIELDS`: 人社's 连续未缴费月数
    headed 连续未缴费月数（个月） left R1 blind to unpaid months, with nothing said)."""
    if kind not in USED_RECORD_FIELDS:
        return _empty()
    return _fields_missing(records, aliases, USED_RECORD_FIELDS[kind], kind)


# A department extract's pair of dates that come in this order and that a rule reads (kind ->
# earlier, later, and what a reversed pair does): one before the other is a slip in one of them.
# (A settlement's 入院日期 after its 结算日期 says nothing a rule reads: not named.)
DATE_ORDER = {
    "water": ("found_date", "resolved_date", "解决日期早于发现日期（解决日期不晚于本期末的按已解决读，W1 不预警），请核对：",
              "a work order solved before it was found is read as solved when the solving date is in the period or "
              "before it (W1 warns no one): check the dates"),
}


def dates_reversed(records: pl.DataFrame, kind: str) -> pl.DataFrame:
    """A department's validated rows of `kind` (with file, line) -> one finding per file naming
    the lines whose `DATE_ORDER` dates come the wrong way round (a later date before an earlier
    one; a row lacking either is not named)."""
    if kind not in DATE_ORDER or records.is_empty():
        return _empty()
    first, then, lead, tail = DATE_ORDER[kind]
    if not {first, then} <= set(records.columns):
        return _empty()
    bad = records.filter(pl.col(then) < pl.col(first)).sort("file", "line").select(
        "dept", "file", _what=pl.format("第 {} 行（{} / {}）", "line", pl.col(first).cast(pl.Utf8), pl.col(then).cast(pl.Utf8)))
    return _per_file(bad, Finding.DATES_REVERSED, lead, tail)


def kept_off_roster(kept: pl.DataFrame, roster: pl.DataFrame, folder: str = "户籍底册") -> pl.DataFrame:
    """A partial run (--dept): of the warnings it keeps for the departments it does not re-read
    (`kept`: Warning rows, stored by the period's earlier run), those whose household the
    period's roster no longer holds (a 户籍底册 corrected since: a household renumbered or
    removed) -> one finding of the roster's `folder` (not the department's: a later partial run
    keeps the published findings of the departments it does not re-read, and would say it
    twice), naming up to `EXAMPLES` departments and 户编号. Their departments were linked against
    the earlier roster, and their list rows have no village or head to show: the whole period is
    to be run again."""
    if kept.is_empty():
        return _empty()
    gone = (kept.filter(pl.col("household_id").is_not_null(),
                        ~pl.col("household_id").is_in(roster["household_id"].implode()))
            .unique(["dept", "household_id"], maintain_order=True)
            .select(dept=pl.lit(folder), file=pl.lit(None, pl.Utf8),
                    _what=pl.col("dept") + pl.lit(" ") + as_written(pl.col("household_id"))))
    return _per_file(
        gone, Finding.KEPT_OFF_ROSTER, "部分重跑保留的未重读部门预警，其户已不在本期户籍底册（底册更正过？）：",
        "warnings kept for a department not re-read name households the period's roster no longer holds (a "
        "corrected roster?): that department's links were made against the earlier roster; run the whole period",
        after="。该部门按原底册比对，清单中这些户无村组、户主，请整期重跑（不加 --dept）")


def _as_findings(parts: list[pl.DataFrame]) -> pl.DataFrame:
    return pl.concat([p.select(list(QUALITY_COLUMNS)).cast(QUALITY_COLUMNS) for p in parts])


def check_roster(roster: pl.DataFrame, head_relations: Collection[str], fields: dict[str, list[str]],
                 set_aside: pl.DataFrame | None = None, names: PlaceNames = PlaceNames()) -> pl.DataFrame:
    """RosterPerson rows -> every QualityFinding of the roster's checks above (and its IDs failing
    the check character, `roster_check_fails`): `fields` are `kinds.roster.fields`, `set_aside`
    the roster's `Rejected` rows (`households_without_head`). One call, so that a check added
    here reaches the report without the flow knowing of it."""
    return _as_findings([
        roster_fields_missing(roster, fields),
        households_without_head(roster, head_relations, set_aside),
        shared_household_ids(roster, head_relations, names),
        roster_check_fails(roster),
        household_size_disagrees(roster),
        townships_written_twice(roster, names),
        persons_listed_twice(roster),
    ])


def roster_unusable(roster: pl.DataFrame, rejected: pl.DataFrame | None, kinds: dict, head_relations: Collection[str],
                    min_share: float, where: str = "") -> str | None:
    """Why a roster that holds persons is still no roster to warn by, in one line, or None: the
    persons the run can use (`roster`) are fewer than `min_share` (`run.roster_min_usable_share`)
    of its person rows (those and its rows set aside, `rejected`), or its households told apart
    are fewer than that of those it holds: 户编号 that Excel cut to 15 digits and zeros
    (`EXCEL_ZERO_TAIL`) and that hold several 户主 hold as many households, read as one.
    Published, such a month's lists look normal and leave most households unwarned; a real roster
    loses a few persons to slips, never a tenth. Names the files, how many of how many, the commonest
    reason with an example line (its value masked) and what to do; `where`: the period folder."""
    aside = (pl.DataFrame(schema=REJECTED_SCHEMA) if rejected is None else rejected).filter(
        pl.col("kind") == "roster", pl.col("line").is_not_null())
    set_aside = aside.select("file", "line").n_unique()
    total = roster.height + set_aside
    files = (f"in {where} " if where else "") + f"({', '.join(sorted(set(roster['file']) | set(aside['file'])))})"
    if total and roster.height < min_share * total:
        said = in_headers(aside.with_columns(_field="field"), kinds).with_columns(
            pl.col("reason").str.replace(r": '.*'$", ""))  # (the value it quotes: said masked, once, below)
        top = (said.group_by("reason", maintain_order=True).agg(pl.col("file", "line", "field", "_field", "value").first(),
                                                                n=pl.len())
               .sort("n", descending=True, maintain_order=True).row(0, named=True))
        top["value"] = mask_value(top["value"], top["_field"])
        value = f": {top['field']} '{top['value']}'" if top["value"] is not None else ""
        todo = (f"set its {top['field']} column as text (设为文本) where the roster is kept, export it again"
                if EXCEL_DESTROYED in top["reason"] else "correct those rows, deliver the roster again")
        return (f"roster unusable {files}: {set_aside} of {total} persons ({set_aside / total:.0%}) set aside "
                f"(the run needs {min_share:.0%} usable: run.roster_min_usable_share); commonest reason ({top['n']} rows): "
                f"{top['reason']} (e.g. {top['file']} line {top['line']}{value}); nothing was published: {todo} "
                f"and run the period again")
    if "relation" not in roster.columns or roster.is_empty():
        return None
    is_head = pl.col("relation").is_in(list(head_relations)).fill_null(False)
    ids = roster.sort("file", "line").group_by("household_id", maintain_order=True).agg(
        pl.col("file").first(), heads=is_head.sum(), line=pl.col("line").filter(is_head).get(1, null_on_oob=True),
    ).with_columns(shown=as_written(pl.col("household_id")))
    ids = ids.with_columns(held=pl.max_horizontal("heads", 1),  # (a 户编号 with k 户主 holds k households)
                           cut=(pl.col("heads") > 1) & pl.col("shown").str.contains(EXCEL_ZERO_TAIL))
    held, lost = ids["held"].sum(), ids.filter("cut")["held"].sum()
    if not held or held - lost >= min_share * held:
        return None
    ex = ids.filter("cut").sort("held", descending=True, maintain_order=True).row(0, named=True)
    return (f"roster unusable {files}: {lost} of {held} households "
            f"({lost / held:.0%}) share their 户编号 with others (the run needs {min_share:.0%} usable: "
            f"run.roster_min_usable_share); reason: 户编号 over 15 digits ending in zeros, as Excel keeps a long number, "
            f"several households under one (e.g. {ex['file']} line {ex['line']}: 户编号 '{mask_value(ex['shown'], 'household_id')}' "
            f"holds {ex['heads']} 户主); nothing was published: set the 户编号 column as text (设为文本) where the roster "
            f"is kept, export it again and run the period again")


def grid_deliveries(files: pl.DataFrame, discovered: pl.DataFrame | None, rejected: pl.DataFrame | None,
                    folder: str = "网格") -> tuple[list[str], pl.DataFrame | None]:
    """(the grid's files delivered this period, their rows set aside or None), for `grid_missing`
    to say a grid delivered without a usable row as such, not as none delivered. `files`: the
    inbox's (`adapters.inbox.discover`; a file repeated is delivered once, as its first copy);
    `discovered`: the Rejected rows of files set aside as they were found (a format the inbox
    does not read: 网格.xls was delivered, after the files read, each once); `rejected`: those
    of the grid's files read (`folder`'s). None: no such rows file."""
    delivered = files.filter(pl.col("dept") == folder, pl.col("duplicate_of").is_null())["file"].to_list()
    found = None if discovered is None else discovered.filter(pl.col("dept") == folder)
    if found is not None:
        delivered += [f for f in found["file"].to_list() if f not in delivered]
    aside = [f for f in (rejected, found) if f is not None]
    return delivered, pl.concat(aside, how="diagonal_relaxed") if aside else None


def check_grid(grid: pl.DataFrame | None, roster: pl.DataFrame, fields: dict[str, list[str]], folder: str = "网格",
               names: PlaceNames = PlaceNames(), delivered: Collection[str] = (),
               set_aside: pl.DataFrame | None = None) -> tuple[pl.DataFrame | None, pl.DataFrame]:
    """(grid, findings): the period's GridHousehold rows (None: no grid delivered) with their
    户编号 as the roster writes them (`align_grid`: for the lists, and the report's grid
    checks), and the grid's QualityFindings — none usable (`grid_missing`, of its `folder`: its
    files `delivered`, their rows `set_aside`), its 户编号 read as the roster's, phones Excel
    destroyed, columns it lacks (`fields`: `kinds.grid.fields`)."""
    parts = [grid_missing(grid, folder, delivered, set_aside)]
    if grid is not None:
        grid, note = align_grid(grid, roster, names)
        parts += [grid_fields_missing(grid, fields), note, grid_phones_destroyed(grid)]
    return grid, _as_findings(parts)


def check_extracts(latest: dict[str, pl.DataFrame], notes: Iterable, dept: str, cfg: Config) -> pl.DataFrame:
    """One department's extracts as read (`latest`: kind -> its validated rows) and the notes its
    reading made (`notes`: `adapters.inbox.ReadError`s) -> QualityFinding rows: each note (of its
    category, else a file note), the IDs of person-level rows that read as none or that Excel
    destroyed (`pipelines.identify`), the columns a rule reads that an extract lacks
    (`record_fields_missing`) and its dates the wrong way round (`dates_reversed`)."""
    return pl.concat([
        pl.DataFrame([dict(category=n.category or Finding.FILE_NOTE, dept=dept, file=n.file, detail=n.problem, count=1)
                      for n in notes], schema=QUALITY_COLUMNS),
        *[unreadable_ids(df, kind in cfg.matching.id_in_record_id_kinds) for kind, df in latest.items() if kind in PERSON_KINDS],
        *[destroyed_ids(df) for kind, df in latest.items() if kind in PERSON_KINDS],
        *[record_fields_missing(df, kind, cfg.kinds[kind].fields) for kind, df in latest.items()],
        *[dates_reversed(df, kind) for kind, df in latest.items()],
    ])

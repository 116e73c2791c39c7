"""Township warning lists (预警清单), the county summary and unplaced leads, as frames.

One township row per 预警编号 (household or lead x risk type). No ID number leaves here: any
18-character ID embedded in a text (残疾人证号, `G`+ID 学籍号, a department's record number) keeps
its first 6 and last 4 characters only, a 15-digit old ID its first 6 and last 3; a 户编号 that is an ID number (a county numbering its
households by the head's) is masked as the lists are written (`mask_full_ids`, `feedback.as_sent`).
"""

from __future__ import annotations

from collections.abc import Collection
from datetime import date

import polars as pl

from matchers.ids import OLD_ID, PROVINCES, is_full_id, upgrade_old_id
from pipelines.rules import SEVERITY_RANK, households
from schemas.outputs import FEEDBACK_COLUMNS, TOWNSHIP_COLUMNS

# an 18-character ID number, also with spaces typed inside it (SPEC §1: IDs come with spaces;
# `\d` matches full-width digits too)
ID_PATTERN = r"((?:\d\s*){6})(?:\d\s*){8}((?:\d\s*){3}[\dXxＸｘ])"
# a 15-digit old ID (SPEC §1, GB 11643-1989), typed as an 18-character one may be (full-width
# digits, spaces inside): a province of GB/T 2260 (`matchers.ids.PROVINCES`: every code an old ID
# was issued under) and 4 digits, a real yymmdd date of the 1900s and 3 sequence
# digits, alone or followed by 2 more (a 残疾人证号 made from an old ID: type and level digits), not
# part of a longer run of digits (a 结算流水号 of 15 or 16 digits that is no such ID stays readable).
# The regex has no look-around, so the characters either side are matched and put back.
_FW = str.maketrans("0123456789", "０１２３４５６７８９")


def _d(digits: str) -> str:
    """One digit of `digits` (a class's body: `0-9`, `13578`), half- or full-width, and the spaces
    typed after it."""
    return rf"(?:[{digits}{digits.translate(_FW)}]\s*)"


_DD = f"{_d('0')}{_d('1-9')}|{_d('12')}{_d('0-9')}"
_DAY = "|".join([
    f"(?:{_d('0')}{_d('13578')}|{_d('1')}{_d('02')})(?:{_DD}|{_d('3')}{_d('01')})",  # 31 days
    f"(?:{_d('0')}{_d('469')}|{_d('1')}{_d('1')})(?:{_DD}|{_d('3')}{_d('0')})",  # 30 days
    f"{_d('0')}{_d('2')}(?:{_d('0')}{_d('1-9')}|{_d('1')}{_d('0-9')}|{_d('2')}{_d('0-8')})",
])
_LEAP = f"(?:{_d('02468')}{_d('48')}|{_d('13579')}{_d('26')}|{_d('2468')}{_d('0')}){_d('0')}{_d('2')}{_d('2')}{_d('9')}"
_YYMMDD = f"(?:{_d('0-9')}{{2}}(?:{_DAY})|{_LEAP})"  # 1900 was no leap year
_PROVINCE = "|".join(_d(a) + _d(b) for a, b in PROVINCES)
_DIGIT, _NO_DIGIT = "[0-9０-９]", "[^0-9０-９]"
OLD_ID_PATTERN = (f"(^|{_NO_DIGIT})((?:{_PROVINCE}){_d('0-9')}{{4}}){_YYMMDD}({_d('0-9')}{{2}}{_DIGIT})"
                  rf"((?:\s*{_DIGIT}){{2}})?({_NO_DIGIT}|$)")
UNPLACED = "（未落位线索）"


def mask_ids(e: pl.Expr) -> pl.Expr:
    """Mask every embedded 18-character ID number: 341302********123X (341302 ********123X
    when typed with a space after the region), and every old 15-digit one: 341302******273
    (341302******27341 in a 17-digit 残疾人证号).
    The old IDs are replaced twice: one match takes the character after it, which may be the
    one before the next (`341302620111273、341302650203128`)."""
    old = "${1}${2}******${3}${4}${5}"
    return (e.str.replace_all(ID_PATTERN, "${1}********${2}")
            .str.replace_all(OLD_ID_PATTERN, old).str.replace_all(OLD_ID_PATTERN, old))


def mask_full_ids(df: pl.DataFrame, columns: Collection[str], known: pl.Series | None = None) -> pl.DataFrame:
    """`df` with every 18-character run in `columns` that is a whole ID number (`matchers.ids.is_full_id`:
    valid, or one of `known`, the roster's 证件号码) masked as `mask_ids` masks: a county that numbers
    its households by the head's ID writes it into 户编号 (and 状态's `已分户至 <户编号>`). An 18-digit
    户编号 that is no ID stays as written: clerks know their households by it. A 15-digit run is
    masked as `mask_ids` masks an old ID only when the ID it became is one of `known` (the roster
    reads a head's old ID so): such a run is as likely a household code (region + village + serial)."""
    cols = [c for c in columns if c in df.columns]
    texts = pl.concat([df[c].cast(pl.Utf8) for c in cols]) if cols else pl.Series([], dtype=pl.Utf8)
    runs = texts.str.extract_all(r"[0-9]{17}[0-9Xx]").explode().drop_nulls().unique()
    old = texts.str.extract_all(r"[0-9]+").explode().drop_nulls().unique()
    old = old.filter(old.str.contains(OLD_ID))
    if known is None:  # (an old ID's upgrade always passes its check: only `known` tells one)
        old = old.clear()
    else:
        became = pl.select(upgrade_old_id(pl.lit(old))).to_series()
        old = old.filter(became.is_in(known.cast(pl.Utf8).str.strip_chars().str.to_uppercase().implode())).sort()
    ids = runs.filter(is_full_id(runs, known)).sort()
    if ids.is_empty() and old.is_empty():
        return df
    masked = pl.concat([ids.str.slice(0, 6) + "********" + ids.str.slice(14), old.str.slice(0, 6) + "******" + old.str.slice(12)])
    ids = pl.concat([ids, old])
    return df.with_columns(pl.col(c).cast(pl.Utf8).str.replace_many(ids.to_list(), masked.to_list()) for c in cols)


def _per_warning(warnings: pl.DataFrame) -> pl.DataFrame:
    """warnings (one row per rule) -> one row per warning_id with rules, bases and ids joined."""
    flat = dict(keep_nulls=False, empty_as_null=False)
    w = warnings.with_columns(
        **{c: (pl.col(c) if c in warnings.columns else pl.lit(None, pl.Utf8)) for c in ("lead_name", "lead_village")}
    )
    return (
        w.sort("warning_id", "rule")
        .group_by("warning_id", maintain_order=True)
        .agg(
            pl.col("risk_type", "household_id").first(),
            pl.col("township", "lead_name", "lead_village").drop_nulls().first(),
            severity=pl.col("severity").sort_by(pl.col("severity").replace_strict(SEVERITY_RANK, default=0)).last(),
            person_ids=pl.col("person_ids").list.explode(**flat).drop_nulls().unique(maintain_order=True),
            records=pl.col("record_ids").list.explode(**flat).drop_nulls().unique(maintain_order=True).str.join("、"),
            depts=pl.col("dept").unique(maintain_order=True).str.join("、"),
            rules=pl.col("rule").str.join("、"),
            bases=(pl.col("rule") + "：" + pl.col("basis")).str.join("；"),
        )
        .with_columns(mask_ids(pl.col("records")), mask_ids(pl.col("bases")))
    )


def _names(g: pl.DataFrame, roster: pl.DataFrame) -> pl.DataFrame:
    """warning_id -> names of the involved roster persons ('全户' when the rule names none), in
    人编号 order (not as a rule met them or the roster's rows happened to be sorted)."""
    names = (
        g.select("warning_id", "person_ids").explode("person_ids")
        .join(roster.select(person_ids="person_id", name="name"), on="person_ids")
        .sort("warning_id", "person_ids")
        .group_by("warning_id", maintain_order=True).agg(names=pl.col("name").unique(maintain_order=True).str.join("、"))
    )
    return g.select("warning_id").join(names, on="warning_id", how="left").with_columns(
        pl.col("names").fill_null("全户"))


def grid_workers(grid: pl.DataFrame | None) -> pl.DataFrame:
    """The period's grid (GridHousehold rows, or None when there is none) -> household_id,
    grid_worker, grid_worker_phone: one row per household, the first the grid lists."""
    gw = grid if grid is not None else pl.DataFrame(
        schema={c: pl.Utf8 for c in ("household_id", "grid_worker", "grid_worker_phone")})
    return gw.select("household_id", "grid_worker", "grid_worker_phone").unique("household_id", keep="first")


def heads(roster: pl.DataFrame, head_relations: Collection[str]) -> pl.DataFrame:
    """household_id, head: the name of the person whose 与户主关系 is one of `head_relations`
    (`matching.head_relations`: 户主, 本人), else of the household's first person."""
    is_head = pl.col("relation").is_in(list(head_relations))
    return roster.sort("person_id").group_by("household_id", maintain_order=True).agg(
        head=pl.col("name").filter(is_head).first().fill_null(pl.col("name").first()))


def township_rows(
    warnings: pl.DataFrame, roster: pl.DataFrame, grid: pl.DataFrame | None, issue_date: date, deadline: date,
    head_relations: Collection[str],
) -> pl.DataFrame:
    """Warnings -> TOWNSHIP_COLUMNS plus `township` (the key to split files by; null for unplaced
    leads), sorted by township, 行政村, 村民小组, 户编号, 风险类型. Without a grid this period
    (网格 not delivered or set aside) 网格员 and 网格员电话 stay empty. 户主姓名: `heads`."""
    g = _per_warning(warnings)
    warned = roster.filter(pl.col("household_id").is_in(g["household_id"].drop_nulls().implode()))  # (not the whole roster, twice)
    hh = households(warned).select("household_id", "village", "group", "household_type").join(
        heads(warned, head_relations), on="household_id", how="left")
    x = g.join(hh, on="household_id", how="left").join(_names(g, roster), on="warning_id", how="left")
    x = x.join(grid_workers(grid), on="household_id", how="left")
    lead = pl.col("household_id").is_null()
    out = x.select(
        pl.col("warning_id").alias("预警编号"),
        pl.col("risk_type").alias("风险类型"),
        pl.col("severity").alias("严重程度"),
        pl.col("township").alias("乡（镇）"),
        pl.when(lead).then("lead_village").otherwise("village").alias("行政村"),
        pl.col("group").alias("村民小组"),
        pl.col("household_id").alias("户编号"),
        pl.when(lead).then("lead_name").otherwise("head").alias("户主姓名"),
        pl.when(lead).then("lead_name").otherwise("names").alias("涉及人员"),
        pl.when(lead).then(pl.lit("新增线索")).otherwise("household_type").alias("户类型"),
        pl.col("depts").alias("来源部门"),
        pl.col("rules").alias("预警规则"),
        pl.col("bases").alias("预警依据"),
        pl.col("records").alias("来源记录编号"),
        pl.col("grid_worker").alias("网格员"),
        pl.col("grid_worker_phone").alias("网格员电话"),
        pl.lit(issue_date.isoformat()).alias("下发日期"),
        pl.lit(deadline.isoformat()).alias("核实截止日期"),
        *[pl.lit(None, pl.Utf8).alias(c) for c in FEEDBACK_COLUMNS],
        pl.col("township"),
    )
    for c in ("户主姓名", "涉及人员"):  # a lead's name as delivered could hold anything
        out = out.with_columns(mask_ids(pl.col(c)))
    return out.sort("township", "行政村", "村民小组", "户编号", "风险类型", "预警编号", nulls_last=True).select(
        *TOWNSHIP_COLUMNS, "township")


def county_summary(warnings: pl.DataFrame) -> pl.DataFrame:
    """乡（镇） x 风险类型 counts of 预警编号, with a 合计 column and a 合计 row."""
    w = warnings.select("warning_id", "risk_type", pl.col("township").fill_null(pl.lit(UNPLACED))).unique("warning_id")
    if w.is_empty():
        return pl.DataFrame({"乡（镇）": ["合计"], "合计": [0]})
    p = (
        w.group_by("township", "risk_type").len()
        .sort("risk_type")
        .pivot(on="risk_type", index="township", values="len", aggregate_function="sum")
        .fill_null(0)
        .sort("township")
        .rename({"township": "乡（镇）"})
    )
    kinds = p.columns[1:]
    p = p.with_columns(pl.sum_horizontal(kinds).alias("合计"))
    total = p.select(pl.lit("合计").alias("乡（镇）"), *[pl.col(c).sum() for c in [*kinds, "合计"]])
    return pl.concat([p, total.cast(p.schema)])


def unplaced_leads(warnings: pl.DataFrame) -> pl.DataFrame:
    """Leads (not on the roster) whose township is unknown: for the county to place by hand."""
    g = _per_warning(warnings.filter(pl.col("household_id").is_null(), pl.col("township").is_null()))
    return g.select(
        pl.col("warning_id").alias("预警编号"),
        pl.col("risk_type").alias("风险类型"),
        pl.col("severity").alias("严重程度"),
        mask_ids(pl.col("lead_name")).alias("姓名"),
        pl.col("depts").alias("来源部门"),
        pl.col("rules").alias("预警规则"),
        pl.col("bases").alias("预警依据"),
        pl.col("records").alias("来源记录编号"),
    )

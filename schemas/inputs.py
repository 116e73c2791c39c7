"""Models of the inbox after reading and validation (SPEC §1-§3).

Every validated extract row keeps `file` (path relative to the period folder) and `line`
(1-based line in the file as a clerk sees it in a text editor or Excel), so any later finding
can point back to its source.

A code field's `isin` list is the SPEC's; `pipelines.validate` also keeps a value the kind's
`[kinds.<kind>.values]` (config) adds to it (a pastoral county's 灾害类型 雪灾), as written.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal, Optional

import polars as pl
import pandera.polars as pa

from schemas.outputs import FEEDBACK_CHOICES, REVIEW_CHOICES

__all__ = [
    "SourceRow", "RosterPerson", "GridHousehold", "MedSettlement", "MedEnrollment", "Housing",
    "Education", "Water", "Civil", "Disability", "HR", "Agri", "Feedback", "ReviewAnswer", "Rejected",
    "PersonRecord", "EXTRACT_MODELS", "PERSON_KINDS", "SHARED_MARK", "as_written",
]


# What Excel leaves of a long number (a record number, 户编号, 人编号 or phone typed into a General
# cell) when a file goes through it: shown in scientific notation (`3.41302E+17`), or kept to its
# first 15 significant digits and zero-filled (341302101201000123 -> 341302101201000000). Either way
# it can no longer be told from its neighbours'.
EXCEL_NUMBER = r"^[0-9]+(\.[0-9]+)?[Ee]\+[0-9]+$"
EXCEL_ZERO_TAIL = r"^[1-9][0-9]{14}0+$"
# The mark that makes Excel keep a number as text (`'341302…`), in the forms a CSV carries it: not
# part of the value (an ID, a record number, a 户编号 with it is the one without).
TEXT_MARKS = "'‘’`"


# The fields whose values name a record, a household or a person: such a value Excel destroyed
# (`EXCEL_NUMBER`; `EXCEL_ZERO_TAIL` on several rows) sets its row aside (`pipelines.validate`).
IDENTIFYING = ("record_id", "household_id", "person_id")


# A 户编号 the roster gives to persons of several villages stands, inside the run, for one household
# per village (`pipelines.reference.split_shared_households`): the village of its first person by
# 人编号 keeps the 户编号, each other village's persons are keyed `<户编号>@<乡（镇）><行政村>`. The
# files people read show the 户编号 as the roster writes it (`as_written`).
SHARED_MARK = "@"


def as_written(household_id: pl.Expr) -> pl.Expr:
    """A household key -> the 户编号 as the roster writes it (`SHARED_MARK` and the place after it aside)."""
    return household_id.str.split(SHARED_MARK).list.first()


# One record number, 户编号 or 人编号 however it was spelled (SPEC §1: a record delivered again
# replaces the earlier one; a roster re-saved is the same persons and households). Excel drops the
# leading zeros of an all-digit number (0012345 re-saved is 12345) and marks a number kept as text
# with an apostrophe ('0012345); a clerk types letters in either case (js1 for JS1) and spaces
# between digits (3413 020001). Nothing else: Excel leaves a text cell alone, so JS0012 and JS12
# are two records; an ID inside a number (残疾人证号, 学籍号 G + ID) starts with 1-6 and only its x
# may change case, which is the same ID. Whitespace as Rust's `\s` has it, written so that
# DuckDB's RE2 reads it alike.
_LOWER, _UPPER = "abcdefghijklmnopqrstuvwxyz", "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
_SPACE = r"[\t-\r\x{85}\p{Z}]"
_ZEROS = f"^0+([0-9]+(?:{SHARED_MARK}|$))"  # (an all-digit number's, or a household key's 户编号's)


def record_key(record_id: pl.Expr) -> pl.Expr:
    """A record number, 户编号 or 人编号 (a household key `<户编号>@<place>` too) as delivered ->
    the key it is compared by: without whitespace or a leading text mark, all digits without
    leading zeros (`0` for all zeros), ASCII letters upper-cased. What is shown stays the number
    as the record's latest delivery (or the roster) spells it (`respelled`)."""
    n = record_id.str.replace_all(_SPACE, "").str.strip_chars_start(TEXT_MARKS)
    return n.str.replace(_ZEROS, "${1}").str.replace_many(list(_LOWER), list(_UPPER))


def record_key_sql(column: str) -> str:
    """`record_key` of `column`, as DuckDB reads it (the warehouse keeps each record as its run
    spelled it). `upper` is `record_key`'s ASCII upper case on ASCII text, and 30 times quicker
    than `translate` (a city's year of settlements is partitioned by it): text holding anything
    else, a space, a household key's mark or a leading text mark is cleaned and translated."""
    n = f"ltrim(regexp_replace({column}, '{_SPACE}', '', 'g'), '{TEXT_MARKS.replace(chr(39), chr(39) * 2)}')"
    return (f"CASE WHEN regexp_full_match({column}, '[0-9]+') THEN coalesce(nullif(ltrim({column}, '0'), ''), '0') "
            f"WHEN regexp_matches({column}, '[^!-?A-~]|^[''`]') "
            f"THEN translate(regexp_replace({n}, '{_ZEROS}', '\\1'), '{_LOWER}', '{_UPPER}') "
            f"ELSE upper({column}) END")


def respelled(df: pl.DataFrame, column: str, spellings: pl.DataFrame, by: Sequence[str] = (),
              keep: Literal["none", "first"] = "none") -> pl.DataFrame:
    """`df` with `column` (a record number, 户编号 or 人编号 as another month, file or hand wrote it,
    or a list of them) spelled as `spellings` (its `by` columns, named as in `df`, and one more:
    the reference's spellings) spells the same number under the same `by` (`record_key`: a roster
    or an answer re-saved in Excel writes 1023 for 0001023, a hand h12 for H12); the others as
    they were. A key the reference writes two ways is two persons or records (a roster's, one
    run's): not guessed, and a value written as one of them stays; or, `keep="first"`, a record's
    spellings over periods, the latest delivery's first (SPEC §1): that one. A list column is
    respelled with `by` aside."""
    if column not in df.columns or df.is_empty():
        return df
    by = list(by)
    spelled = next(c for c in spellings.columns if c not in by)
    ref = (spellings.select(*by, _to=pl.col(spelled).cast(pl.String)).drop_nulls().unique(maintain_order=True)
           .with_columns(_k=record_key(pl.col("_to"))).unique([*by, "_k"], keep=keep, maintain_order=True))
    listed = isinstance(df.schema[column], pl.List)
    values = df.select(pl.col(column).explode()) if listed else df.select(*by, column)
    to = (values.drop_nulls().unique().with_columns(_k=record_key(pl.col(column).cast(pl.String)))
          .join(ref, on=[*by, "_k"]).filter(pl.col(column).cast(pl.String) != pl.col("_to")).drop("_k"))
    if to.is_empty():
        return df
    if listed:
        return df.with_columns(pl.col(column).list.eval(pl.element().replace(to[column], to["_to"])))
    return (df.join(to, on=[*by, column], how="left", maintain_order="left")
            .with_columns(pl.coalesce("_to", column).alias(column)).drop("_to"))


class SourceRow(pa.DataFrameModel):
    """Columns every row read from the inbox carries: where it came from."""

    dept: str = pa.Field(description="canonical folder name, e.g. 医保")
    kind: str = pa.Field(description="extract kind, e.g. med_settlement")
    file: str = pa.Field(description="path relative to the period folder")
    line: int = pa.Field(ge=1, description="1-based line number in the source file")


class RosterPerson(SourceRow):
    """户籍底册: one row per person on the county roster (脱贫户 / 监测户), full ID numbers."""

    county: str = pa.Field(nullable=True)
    township: str
    village: str
    group: str = pa.Field(nullable=True)
    household_id: str
    person_id: str = pa.Field(unique=True)
    name: str
    id_number: str = pa.Field(str_length=18)
    sex: str = pa.Field(nullable=True)
    relation: str = pa.Field(nullable=True)
    household_size: int = pa.Field(nullable=True, ge=1)
    household_type: str = pa.Field(nullable=True)
    monitor_category: str = pa.Field(nullable=True)
    risk_cleared: str = pa.Field(nullable=True)
    income_per_capita: float = pa.Field(nullable=True, ge=0)
    phone: str = pa.Field(nullable=True)


class GridHousehold(SourceRow):
    """网格: one row per household, the grid and the grid worker who visits it."""

    grid_id: str
    township: str = pa.Field(nullable=True)
    village: str = pa.Field(nullable=True)
    group: str = pa.Field(nullable=True)
    grid_leader: str = pa.Field(nullable=True)
    grid_leader_phone: str = pa.Field(nullable=True)
    grid_worker: str
    grid_worker_phone: str = pa.Field(nullable=True)
    household_id: str


class _PersonExtract(SourceRow):
    record_id: str
    name: str = pa.Field(nullable=True)
    id_raw: str = pa.Field(nullable=True, description="ID as delivered (masked/dirty), trimmed")


class MedSettlement(_PersonExtract):
    """医保 结算明细: one row per settlement (结算流水号)."""

    insured_place: str = pa.Field(nullable=True)
    facility: str = pa.Field(nullable=True)
    visit_type: str = pa.Field(nullable=True, isin=["住院", "门诊慢特病", "普通门诊"])
    admit_date: pl.Date = pa.Field(nullable=True)
    settle_date: pl.Date
    total_cost: float = pa.Field(nullable=True, ge=0)
    pooled_pay: float = pa.Field(nullable=True, ge=0)
    critical_pay: float = pa.Field(nullable=True, ge=0)
    assistance_pay: float = pa.Field(nullable=True, ge=0)
    out_of_pocket: float = pa.Field(ge=0)


class MedEnrollment(_PersonExtract):
    """医保 参保名单: full snapshot of the county's insured residents, one row per insured person."""

    status: str = pa.Field(isin=["正常参保", "暂停参保", "终止参保"])
    year: int = pa.Field(nullable=True)


class Housing(_PersonExtract):
    """住建 农村住房安全鉴定: one row per house assessment (鉴定编号); name is the household head."""

    township: str = pa.Field(nullable=True)
    village: str = pa.Field(nullable=True)
    group: str = pa.Field(nullable=True)
    grade: str = pa.Field(isin=["A", "B", "C", "D"])
    assess_date: pl.Date = pa.Field(nullable=True)
    renovation: str = pa.Field(isin=["未改造", "改造中", "已改造"])


class Education(_PersonExtract):
    """教育 学籍异动: one row per student status change (学籍号, may be `G` + ID number)."""

    school: str = pa.Field(nullable=True)
    stage: str = pa.Field(isin=["学前", "小学", "初中", "高中", "中职", "高校"])
    status: str = pa.Field(isin=["在读", "休学", "辍学", "转出", "毕业"])
    change_date: pl.Date = pa.Field(nullable=True)
    annual_cost: float = pa.Field(nullable=True, ge=0)


class Water(SourceRow):
    """水利 农村供水问题台账: one row per work order about a place (village, or group when given)."""

    record_id: str
    township: str
    village: str
    group: str = pa.Field(nullable=True, description="empty = the whole village")
    problem_type: str = pa.Field(
        isin=["有管无水", "频繁停水断水", "水质较差", "未通自来水且自行取水困难", "高价买水", "其他"]
    )
    found_date: pl.Date = pa.Field(nullable=True)
    resolved_date: pl.Date = pa.Field(nullable=True, description="empty = unresolved")
    households_affected: int = pa.Field(nullable=True, ge=0)


class Civil(_PersonExtract):
    """民政 救助变动: one row per assistance change (记录编号)."""

    township: str = pa.Field(nullable=True)
    village: str = pa.Field(nullable=True)
    category: str = pa.Field(isin=["低保", "特困", "临时救助", "孤儿"])
    change_type: str = pa.Field(isin=["新增", "停发", "调整", "死亡注销"])
    change_date: pl.Date = pa.Field(nullable=True)
    monthly_amount: float = pa.Field(nullable=True, ge=0)


class Disability(_PersonExtract):
    """残联 残疾人证: one row per certificate event; `record_id` is the 20-char 残疾人证号
    (18-char ID + type + level digit), which is also copied into `id_raw` for linking."""

    disability_type: str = pa.Field(nullable=True)
    level: str = pa.Field(isin=["一级", "二级", "三级", "四级"])
    cert_type: str = pa.Field(isin=["新办", "换领", "注销"])
    issue_date: pl.Date = pa.Field(nullable=True)
    township: str = pa.Field(nullable=True)


class HR(_PersonExtract):
    """人社 就业社保变动: one row per employment / social-insurance event (记录编号)."""

    event_type: str = pa.Field(isin=["失业登记", "停止缴费", "就业登记", "返乡登记"])
    event_date: pl.Date = pa.Field(nullable=True)
    months_unpaid: int = pa.Field(nullable=True, ge=0)


class Agri(_PersonExtract):
    """农业农村 灾情损失: one row per loss report (报案编号); name is the household head."""

    township: str = pa.Field(nullable=True)
    village: str = pa.Field(nullable=True)
    disaster_type: str = pa.Field(
        isin=["洪涝", "干旱", "冰雹", "风灾", "病虫害", "畜禽疫病", "产业项目失败"]
    )
    loss_amount: float = pa.Field(ge=0)
    occur_date: pl.Date = pa.Field(nullable=True)


class Feedback(SourceRow):
    """反馈: one row per returned warning, as filled in by the township. `verify_date_tens`: where
    the 核实日期 was written as Excel leaves a month.day typed on the 10th, 20th or 30th (`11.1`
    for `11.10`, `pipelines.validate.EXCEL_TENS`), the day typed (`11.10`, its year found as for
    any date without one), else null: `feedback.check_feedback` reads it when `verify_date` (11月1日)
    falls before the list went out."""

    warning_id: str
    township: str = pa.Field(nullable=True)
    result: str = pa.Field(nullable=True, isin=FEEDBACK_CHOICES["核实结果"])
    include_monitoring: str = pa.Field(nullable=True, isin=FEEDBACK_CHOICES["是否纳入监测"])
    verifier: str = pa.Field(nullable=True)
    verify_date: pl.Date = pa.Field(nullable=True)
    note: str = pa.Field(nullable=True)
    # 状态 as returned (optional: frames built without it validate): no answer, see `feedback.check_feedback`
    list_state: Optional[str] = pa.Field(nullable=True)
    # 预警规则 as returned (optional): the rules the answered row showed, `feedback.check_feedback`
    rules: Optional[str] = pa.Field(nullable=True)
    # 下发日期 as returned (optional), text: `feedback.check_feedback` reads it (`validate.parse_date`)
    # to tell which row a copy without 预警规则 was written on; one it cannot read sets no row aside
    issue_date: Optional[str] = pa.Field(nullable=True)
    # (optional: frames built without it validate; `pipelines.validate.tens_date` fills it)
    verify_date_tens: Optional[pl.Date] = pa.Field(nullable=True)
    # the words written in brackets after 核实结果 or 是否纳入监测 (不属实（已外出）: 已外出), which the
    # code is read without (optional; `pipelines.validate.code_detail` fills them): the clerk's
    # reason, `feedback.check_feedback` keeps it in 备注
    result_detail: Optional[str] = pa.Field(nullable=True)
    include_monitoring_detail: Optional[str] = pa.Field(nullable=True)
    # a column the clerk added for what the visit found (核实情况, optional): `feedback.check_feedback`
    # keeps it in 备注
    situation: Optional[str] = pa.Field(nullable=True)
    # 户编号 and 户主姓名 as returned (optional): `feedback.check_feedback` compares them with the
    # household its 预警编号 was sent for
    listed_household: Optional[str] = pa.Field(nullable=True)
    listed_head: Optional[str] = pa.Field(nullable=True)


class ReviewAnswer(SourceRow):
    """复核: one row of the county's review queue (人工复核队列) returned by an analyst: a record
    (`record_dept` 部门 + `record_id` 记录编号) beside one candidate (`person_id` 人编号), and
    `verdict` 是否本人 — 是: the record is this person's; 否: it is not; blank: not decided.
    `rec_name` is the record's name as the queue showed it, to tell a reviewer which record an
    answer that cannot be used was about."""

    record_dept: str
    record_id: str
    rec_name: str = pa.Field(nullable=True)
    person_id: str
    verdict: str = pa.Field(nullable=True, isin=REVIEW_CHOICES["是否本人"])
    reviewer: str = pa.Field(nullable=True)
    note: str = pa.Field(nullable=True)


class Rejected(pa.DataFrameModel):
    """A row (or whole file) set aside: never linked, never silently dropped. One row per
    rejected input row, with the first failing field and every reason joined by '；'."""

    dept: str
    kind: str = pa.Field(nullable=True)
    file: str
    line: int = pa.Field(nullable=True, description="null when the whole file is set aside")
    record_id: str = pa.Field(nullable=True)
    field: str = pa.Field(nullable=True)
    value: str = pa.Field(nullable=True, description="offending value, never a full ID number")
    reason: str


class PersonRecord(pa.DataFrameModel):
    """What the matcher sees of any person-level department record: one row per (dept, kind,
    record_id) after de-duplication. Place columns are null where the extract has none;
    facility (医保 settlements' 就诊机构) and school (教育's 学校名称) may name a township (a
    place hint, `MatchingConfig.place_hint_fields`). prior_group refines dept/kind for the
    estimate of how many of its records are about roster persons (`MatchingConfig.prior_groups`:
    医疗救助 for a settlement medical assistance paid for); null for the others."""

    dept: str
    kind: str
    record_id: str
    name: str = pa.Field(nullable=True)
    id_raw: str = pa.Field(nullable=True)
    township: str = pa.Field(nullable=True)
    village: str = pa.Field(nullable=True)
    facility: str = pa.Field(nullable=True)
    school: str = pa.Field(nullable=True)
    prior_group: str = pa.Field(nullable=True)


EXTRACT_MODELS: dict[str, type[pa.DataFrameModel]] = {
    "roster": RosterPerson,
    "grid": GridHousehold,
    "med_settlement": MedSettlement,
    "med_enrollment": MedEnrollment,
    "housing": Housing,
    "education": Education,
    "water": Water,
    "civil": Civil,
    "disability": Disability,
    "hr": HR,
    "agri": Agri,
    "feedback": Feedback,
    "review_answer": ReviewAnswer,
}
# Each department extract's name, as SPEC §3 (and the departments) call it: the county's word for a
# kind a department did not deliver (医保 without its 参保名单).
EXTRACT_NAMES: dict[str, str] = {
    "med_settlement": "结算明细", "med_enrollment": "参保名单", "housing": "农村住房安全鉴定", "education": "学籍异动",
    "water": "农村供水问题台账", "civil": "救助变动", "disability": "残疾人证", "hr": "就业社保变动", "agri": "灾情损失",
}
# The kinds whose records name a person (they carry `id_raw`, for 残联 copied from the 残疾人证号):
# everything but the roster, the grid, 水利's places and the returned answers.
PERSON_KINDS = [k for k, m in EXTRACT_MODELS.items() if "id_raw" in m.to_schema().columns]

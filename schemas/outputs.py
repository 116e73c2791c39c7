"""Models of what the run writes (SPEC §5)."""

from __future__ import annotations

import polars as pl
import pandera.polars as pa

__all__ = ["Warning", "WarningStatus", "AnswerHistory", "QualityFinding", "QUALITY_COLUMNS", "Finding",
           "TOWNSHIP_COLUMNS", "FEEDBACK_COLUMNS", "FEEDBACK_CHOICES", "REVIEW_ANSWER_COLUMNS", "REVIEW_CHOICES"]


class Warning(pa.DataFrameModel):
    """warnings.parquet: one row per household (or lead) and rule issued by this run.

    `warning_id` is the 预警编号 of the township row it belongs to (rules of one household and
    risk type share it, e.g. M1 and M2 -> one 因病 row). `household_id` is null for a lead
    (a person not on the roster). `basis` is the plain-words 预警依据 with figures; `signal` is
    the rule's measured quantity, kept to decide escalation next time.
    """

    warning_id: str
    household_id: str = pa.Field(nullable=True)
    township: str = pa.Field(nullable=True, description="null for a lead that cannot be placed")
    risk_type: str
    rule: str
    severity: str = pa.Field(isin=["高", "中", "低"])
    dept: str
    record_ids: pl.List(pl.Utf8)
    person_ids: pl.List(pl.Utf8)
    basis: str
    signal: float = pa.Field(nullable=True)


class WarningStatus(pa.DataFrameModel):
    """warning_status.parquet: one row per 预警编号 ever issued, its state after this run."""

    warning_id: str
    township: str = pa.Field(nullable=True)
    household_id: str = pa.Field(nullable=True)
    status: str = pa.Field(isin=["open", "overdue", "verified_true", "verified_false"])
    result: str = pa.Field(nullable=True)
    verified_on: pl.Date = pa.Field(nullable=True)
    days_overdue: int = pa.Field(ge=0)
    withdrawn: bool = pa.Field(description="a re-run no longer raises it (its list row says 撤回); unanswered, "
                                           "it is verified_false with a null result: closed by the county")
    reopened_for: str = pa.Field(nullable=True, description="the rules on it now that its answer did not verify "
                                                            "(a re-run added them after the township answered): it is open "
                                                            "or overdue again for them, its answer standing for the others; "
                                                            "null otherwise")


class AnswerHistory(pa.DataFrameModel):
    """answer_history.parquet (and county/核实台账.csv, in Chinese): one row per answer a township
    returned and a run accepted, up to and including the period (the warehouse's
    `feedback_answers`, read by `pipelines.feedback.answer_history`), per warning in the order
    received. `decides`: the answer that sets the warning's status in warning_status.parquet;
    `latest`: the last one received. No answer yet: no rows, the columns still there."""

    warning_id: str
    answer_no: int = pa.Field(ge=1, description="1 = the warning's first answer received")
    received_period: str = pa.Field(nullable=True, description="YYYY-MM of the run that took it in")
    file: str = pa.Field(nullable=True)
    line: int = pa.Field(nullable=True)
    township: str = pa.Field(nullable=True)
    result: str = pa.Field(nullable=True, isin=["属实", "不属实"])
    include_monitoring: str = pa.Field(nullable=True, isin=["是", "否"])
    verifier: str = pa.Field(nullable=True)
    verify_date: pl.Date = pa.Field(nullable=True)
    note: str = pa.Field(nullable=True)
    rules: str = pa.Field(nullable=True, description="the rules the answered row showed (those it verified); "
                                                     "null for an answer stored before answers kept them")
    decides: bool
    reopened_for: str = pa.Field(nullable=True, description="on the latest answer with a 核实结果 when it verified "
                                                            "only some of the rules on its warning now (a re-run added "
                                                            "them since): the rules it left open, and it does not "
                                                            "decide; null otherwise")
    latest: bool


class QualityFinding(pa.DataFrameModel):
    """数据质量报告.csv (county/) and the county HTML report's findings: one row per finding of a
    run (the warehouse keeps none: each run's are its own), from the run's own notes (flows: missing departments, file notes, census completeness,
    rules held back, the calendar) and `pipelines.accounting.quality_report` (files and rows set
    aside, records delivered again, the grid). `category` is one of `Finding`'s labels; `count`
    is how many rows, files or households the finding covers."""

    category: str
    dept: str = pa.Field(nullable=True)
    file: str = pa.Field(nullable=True)
    detail: str = pa.Field(nullable=True)
    count: int


QUALITY_COLUMNS = {"category": pl.Utf8, "dept": pl.Utf8, "file": pl.Utf8, "detail": pl.Utf8, "count": pl.Int64}


class Finding:
    """The data-quality categories (数据质量报告's 类别), the Chinese word first. `ATTENTION`: the
    ones an operator must see on the console too, not only in the report (not `DEPT_MISSING`: the
    console's accounting block says it on the department's line, `accounting.delivery_states`)."""

    FILE_NOTE = "文件说明 file note"
    DEPT_MISSING = "部门未报送 department missing"
    FILE_SET_ASIDE = "文件被搁置 file set aside"
    ROWS_SET_ASIDE = "行被搁置 rows set aside"
    DELIVERED_AGAIN = "重复记录 records delivered again unchanged"
    REPLACED = "更正记录 records replaced by a later delivery"
    OTHER_YEAR = "其他年度的行 a record's rows of other years"
    RULE_HELD_BACK = "规则暂停 rule held back"
    RULE_LEFT_OUT = "规则未配置 default rule not in the config"
    CHECK_FAILS = "身份证号校验位不符 ID check character fails"
    CENSUS = "参保名单完整度 enrollment list completeness"
    CALENDAR = "日历 calendar"
    GRID_OVER_LIMIT = "网格超过户数上限 grid over household limit (第十条)"
    REVIEW_ANSWERS = "人工复核结论 review answers"
    NO_GRID_WORKER = "户无网格员 household without grid worker"
    MOVED = "预警随户迁移 warnings moved with their household"
    # (what a re-run took back or sent now: the console counts them, the report names them)
    RERUN = "重新运行变动 warnings a re-run withdrew or sent now"
    SINCE_LAST_RUN = "上次运行后报送有变 deliveries changed since the period's last run"
    PLACE_NOT_FOUND = "地点无监测户 place with no roster household"
    DISAGREE = "反馈答复不一致 returned files answer a warning differently"
    SPLIT_NOT_SOUGHT = "分户人员未比对 split-off members not sought"
    TOWNSHIP_TWICE = "乡镇同名 township name in two counties"
    ID_UNREADABLE = "证件号码读不出 unreadable ID numbers"
    ID_DESTROYED = "证件号码被Excel损坏 ID numbers destroyed by Excel"
    DATES_REVERSED = "日期先后颠倒 dates out of order"
    HOUSEHOLD_SHARED = "户编号多户共用 one 户编号, several households"
    GRID_IDS = "网格户编号写法不同 grid 户编号 written otherwise"
    NO_HEAD = "户无户主 household without 户主"
    PERSON_TWICE = "底册重复人员 one ID number under two 人编号"
    PHONE_DESTROYED = "电话号码已损坏 phone number destroyed by Excel"
    GRID_OFF_ROSTER = "网格户不在底册 grid household not on the roster"
    HOUSEHOLD_SIZE = "家庭人口数不符 household size disagrees"
    GRID_TWICE = "户在两个网格 household listed in two grids"
    COLUMN_MISSING = "缺列 column missing"
    VALUES_BLANKED = "值读不出按空值 unreadable values taken as empty"
    HIDDEN_TABLE = "隐藏表未读 hidden sheet holding a table, not read"
    TOWNSHIP_SPELLINGS = "乡镇写法不一 one township written two ways"
    OLDER_VERSION = "名单旧版本 an older version of a list left beside the new"
    DAMAGED_BYTES = "字节损坏 lines holding bytes of neither encoding"
    EARLIER_COPY = "往期文件 a file identical to an earlier period's"
    EARLIER_RECORDS = "往期记录 a file whose records an earlier period delivered"
    ANSWERS_NOT_READ = "往期答复未读 answers put into an earlier period's folder after it ran"
    KEPT_OFF_ROSTER = "保留预警户不在底册 a partial run's kept warnings name households off the roster"
    # (the grid is the county's reference file, not a department: not 部门未报送)
    GRID_NOT_DELIVERED = "网格未报送 grid not delivered"
    GRID_NO_ROWS = "网格文件无可用行 grid file without usable rows"
    ASIDE_RECORDS = "底册搁置人员或有记录 records that may be of roster persons set aside"
    NO_ROWS = "文件无数据行 file holding a header and no row"
    NO_ANSWERS = "反馈无答复 returned list without any answer"
    OTHER_PERIOD = "文件名为他期 a file named for another period"
    ATTENTION = (FILE_SET_ASIDE, REPLACED, RULE_HELD_BACK, RULE_LEFT_OUT, CALENDAR, MOVED, DISAGREE, SPLIT_NOT_SOUGHT,
                 TOWNSHIP_TWICE, ID_UNREADABLE, HOUSEHOLD_SHARED, NO_HEAD, PERSON_TWICE,
                 PHONE_DESTROYED, COLUMN_MISSING, VALUES_BLANKED, TOWNSHIP_SPELLINGS, OLDER_VERSION, HIDDEN_TABLE,
                 DAMAGED_BYTES, EARLIER_COPY, EARLIER_RECORDS, ANSWERS_NOT_READ, KEPT_OFF_ROSTER, GRID_NOT_DELIVERED, GRID_NO_ROWS,
                 ASIDE_RECORDS, SINCE_LAST_RUN, NO_ROWS, NO_ANSWERS, OTHER_PERIOD)


# Township warning list (预警清单), in column order. The last five are for the township to fill.
TOWNSHIP_COLUMNS = [
    "预警编号", "风险类型", "严重程度", "乡（镇）", "行政村", "村民小组", "户编号", "户主姓名",
    "涉及人员", "户类型", "来源部门", "预警规则", "预警依据", "来源记录编号", "网格员", "网格员电话",
    "下发日期", "核实截止日期", "核实结果", "是否纳入监测", "核实人", "核实日期", "备注",
]
# ... after the two saying where each warning stands (新下发, 逾期未核实 …; days overdue)
LIST_STATE_COLUMNS = ["状态", "逾期天数"]
FEEDBACK_COLUMNS = ["核实结果", "是否纳入监测", "核实人", "核实日期", "备注"]
# The values a township may write in the list's choice columns: the XLSX offers them as a
# drop-down, and a returned answer outside them is sent back (`schemas.inputs.Feedback`).
FEEDBACK_CHOICES = {"核实结果": ["属实", "不属实"], "是否纳入监测": ["是", "否"]}
# The county's review queue (人工复核队列) ends in columns for the analyst: 是 on the row of the
# record's person, 否 on a candidate ruled out (`schemas.inputs.ReviewAnswer` reads them back).
REVIEW_ANSWER_COLUMNS = ["是否本人", "复核人", "复核备注"]
REVIEW_CHOICES = {"是否本人": ["是", "否"]}
# 搁置行及原因.csv (the county's rows set aside, for the departments): `Rejected`'s columns so headed
REJECTED_HEADERS = {"dept": "部门", "kind": "表类型", "file": "文件", "line": "行号", "record_id": "记录编号",
                    "field": "字段", "value": "值", "reason": "原因"}
# 反馈退回.csv (a township's answers not taken, and why: `feedback.returned_to_township`), in column order
RETURNED_COLUMNS = ["文件", "行号", "预警编号", "字段", "填报内容", "原因"]

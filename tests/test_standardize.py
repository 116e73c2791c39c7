import polars as pl
import pytest

from config import load_config
from pipelines.standardize import detect_kind, field_columns, known_headers, normalize_header, resolve_headers, standardize

CFG = load_config()


@pytest.mark.parametrize(
    "a,b",
    [
        ("乡（镇）", "乡(镇)"),
        (" 乡 (镇) ", "乡（镇）"),
        ("年人均纯收入（元）", "年人均纯收入"),
        ("损失金额 (元)", "损失金额"),
        ("ｎａｍｅ１", "name1"),
        ("个人自付（单位：元）", "个人自付"),
        ("年人均纯收入（元/人）", "年人均纯收入"),
        ("连续未缴费月数（个月）", "连续未缴费月数"),  # was an extra column: R1 saw no unpaid months
        ("*姓名", "姓名"),  # a template's mark of a required field
        ("姓名＊", "姓名"),
        ("姓名（必填）", "姓名"),
        ("姓名（必填项）", "姓名"),
        ("联系电话（可选）", "联系电话"),
        ("核实结果（属实/不属实）", "核实结果"),  # the values to choose from
        ("核实结果（属实/部分属实/不属实）", "核实结果"),
        ("是否纳入监测(是/否)", "是否纳入监测"),
        ("核实日期（年月日）", "核实日期"),  # how to write the date: a township's 核实日期 was not read
        ("核实日期（年-月-日）", "核实日期"),
        ("核实日期(yyyy-mm-dd)", "核实日期"),
        ("结算日期（格式：2026-10-05）", "结算日期"),
        ("核实日期（如：2026年11月5日）", "核实日期"),
        ("核实日期（2026.11.05）", "核实日期"),
        ("发现日期(YYYYMMDD)", "发现日期"),
        # a unit in square brackets or after a slash (个人自付 was not read: the settlements set aside whole)
        ("个人自付[元]", "个人自付"),
        ("个人自付【元】", "个人自付"),
        ("个人自付〔元〕", "个人自付"),
        ("个人自付〖元〗", "个人自付"),
        ("个人自付/元", "个人自付"),
        ("医疗总费用 / 元", "医疗总费用"),
        ("损失金额/万元", "损失金额（万元）"),
        # the ID's length noted in its header (the ID column was not read: records linked by name alone)
        ("身份证号码（18位）", "身份证号码"),
        ("身份证号码（18位数字）", "身份证号码"),
        ("身份证号（脱敏）", "身份证号"),
        ("证件号码(已脱敏)", "证件号码"),
        ("证件号码\n(18位)", "证件号码"),
    ],
)
def test_normalize_header_equal(a, b):
    assert normalize_header(a) == normalize_header(b)


@pytest.mark.parametrize("h", ["1.记录编号", "1、记录编号", "１．记录编号", "（1）记录编号", "(1)记录编号", "一、记录编号",
                               "（十二）记录编号", "①记录编号", "*1.记录编号", "12.记录编号"])
def test_a_forms_number_before_a_header_is_no_part_of_its_name(h):
    """A form numbering its columns (1.记录编号, （1）姓名, 一、证件号码): the header was not read, the
    file set aside as holding no header row. A number that is the name's own stays."""
    assert normalize_header(h) == "记录编号"


@pytest.mark.parametrize("h", ["12.5万", "1月金额", "2026年度", "一户一档", "十组"])
def test_a_number_that_is_the_headers_own_is_kept(h):
    assert normalize_header(h) == h


def test_numbered_headers_detect_their_kind():
    headers = ["序号", "1.结算流水号", "2、姓名", "（3）证件号码", "四、结算日期", "⑤个人自付（元）"]
    spec = detect_kind(headers, "医保", CFG)
    assert spec.name == "med_settlement"
    assert resolve_headers(headers, spec)["out_of_pocket"] == "⑤个人自付（元）"


def test_normalize_header_keeps_non_unit_brackets():
    assert normalize_header("乡（镇）") == "乡(镇)"
    assert normalize_header("县（市、区）") == "县(市、区)"
    assert normalize_header("乡镇（街道）") == "乡镇(街道)"


def test_the_id_column_under_its_shorter_names():
    """证件号 and 身份证 (a system's shorter headers) and 身份证号（脱敏） head the ID column."""
    for h in ("证件号", "身份证", "身份证号（脱敏）"):
        spec = detect_kind(["结算流水号", "姓名", h, "结算日期", "个人自付"], "医保", CFG)
        assert spec.name == "med_settlement" and resolve_headers(["结算流水号", h], spec)["id_raw"] == h


def test_detect_kind_medical_two_kinds():
    settle = ["结算流水号", "患者姓名", "身份证号码", "结算日期", "个人自付（元）", "备注"]
    enrol = ["人员编号", "姓名", "证件号码", "参保状态", "参保年度"]
    assert detect_kind(settle, "医保", CFG).name == "med_settlement"
    assert detect_kind(enrol, "医保", CFG).name == "med_enrollment"
    assert detect_kind(["姓名", "证件号码", "参保年度"], "医保", CFG) is None
    assert detect_kind([h for h in settle if h != "个人自付（元）"], "医保", CFG) is None  # (every required column, not most)
    assert detect_kind(enrol, "住建", CFG) is None  # kinds of another folder are not tried


def test_resolve_headers_one_header_per_field_first_alias_wins():
    spec = CFG.kinds["housing"]
    got = resolve_headers(["姓名", "户主姓名", "乡镇", "乡 (镇)"], spec)
    assert got["name"] == "户主姓名"  # first alias in config order
    assert got["township"] == "乡 (镇)"  # 乡（镇） alias comes first


def test_standardize_renames_drops_and_adds():
    spec = CFG.kinds["agri"]
    raw = pl.DataFrame(
        {
            "灾害类型": ["洪涝"],
            "报案编号": ["BA1"],
            "户主姓名": ["张三"],
            "损失金额（元）": ["12,000"],
            "无关列": ["x"],
            "乡(镇)": ["大店镇"],
            "line": [7],
        }
    )
    out = standardize(raw, spec)
    assert out.columns == [*spec.fields, "line"]
    row = out.row(0, named=True)
    assert row["record_id"] == "BA1" and row["loss_amount"] == "12,000" and row["township"] == "大店镇"
    assert row["id_raw"] is None and out.schema["id_raw"] == pl.String
    assert row["line"] == 7


def test_a_column_added_under_another_spelling_of_a_name_is_read_where_the_first_is_empty():
    """A clerk adds 核实结果（属实/不属实） beside the list's own 核实结果 and fills that one: its
    answers are read where 核实结果 is empty (the first column's value where both are filled);
    another alias of a field (姓名 beside 户主姓名) stays another column."""
    spec = CFG.kinds["feedback"]
    raw = pl.DataFrame({"预警编号": ["YJ1", "YJ2", "YJ3"], "核实结果": [None, "不属实", None],
                        "核实结果（属实/不属实）": ["属实", "属实", None], "line": [2, 3, 4]})
    assert field_columns([c for c in raw.columns if c != "line"], spec)["result"] == ["核实结果", "核实结果（属实/不属实）"]
    assert standardize(raw, spec)["result"].to_list() == ["属实", "不属实", None]
    housing = CFG.kinds["housing"]
    assert field_columns(["户主姓名", "姓名", "乡镇"], housing)["name"] == ["户主姓名"]


def test_a_column_in_ten_thousand_yuan_after_a_slash_is_read_in_yuan():
    spec = CFG.kinds["agri"]
    raw = pl.DataFrame({"报案编号": ["BA1"], "户主姓名": ["张三"], "损失金额/万元": ["1.5"], "line": [2]})
    assert standardize(raw, spec)["loss_amount"].to_list() == ["15000.0"]


def test_a_column_in_ten_thousand_yuan_is_read_in_yuan():
    """损失金额（万元）: 1.5 is 15,000 元 (read as 元 it would be 10,000 times too small to warn on);
    what is not a number stays as delivered for validation to set aside."""
    spec = CFG.kinds["agri"]
    raw = pl.DataFrame({"报案编号": ["BA1", "BA2", "BA3", "BA4", "BA5"], "户主姓名": ["张三"] * 5,
                        "损失金额（单位：万元）": ["1.5", "0.01234", "1.2？", "-", "约1.2"], "line": [2, 3, 4, 5, 6]})
    # (to the 角, not the 元; about so much stays said so, for the file's note)
    assert standardize(raw, spec)["loss_amount"].to_list() == ["15000.0", "123.4", "1.2？", "0.0", "约12000.0"]
    plain = raw.rename({"损失金额（单位：万元）": "损失金额（元）"})
    assert standardize(plain, spec)["loss_amount"].to_list() == ["1.5", "0.01234", "1.2？", "-", "约1.2"]


def test_known_headers_covers_all_aliases():
    kh = known_headers(CFG)
    assert normalize_header("公民身份号码") in kh and normalize_header("网格员电话") in kh
    assert normalize_header("宿州市医疗保障局") not in kh


def test_roster_headers_as_the_poverty_monitoring_exports_write_them():
    """建档立卡 and 防返贫监测 tables head the income 家庭年人均纯收入（元） and the relation
    与户主的关系: read as the SPEC's fields (else M2 warned no one and every 户主 went unseen)."""
    headers = ["乡（镇）", "行政村", "户编号", "人编号", "姓名", "证件号码", "与户主的关系", "家庭年人均纯收入（元）"]
    got = resolve_headers(headers, CFG.kinds["roster"])
    assert got["income_per_capita"] == "家庭年人均纯收入（元）" and got["relation"] == "与户主的关系"


def test_a_township_s_sheet_heads_the_relation_关系_and_grid_phones_手机号():
    """A township's own roster heads 与户主关系 as 关系, its grid the phones 网格员手机号 / 网格长手机:
    every household went without a 户主 (the lists' 户主姓名 another member's), every list without
    网格员电话 (said as a column missing, with nothing read)."""
    got = resolve_headers(["乡（镇）", "行政村", "户编号", "人编号", "姓名", "证件号码", "关系"], CFG.kinds["roster"])
    assert got["relation"] == "关系"
    got = resolve_headers(["网格编号", "网格长", "网格长手机", "网格员", "网格员手机号", "户编号"], CFG.kinds["grid"])
    assert (got["grid_worker_phone"], got["grid_leader_phone"]) == ("网格员手机号", "网格长手机")


def test_a_water_ledgers_dates_headed_as_times_are_its_dates():
    """A ledger heads its dates 发现时间 / 解决时间 (as 医保 heads 结算时间): read as the SPEC's
    发现日期 / 解决日期 (else every solved problem read as unresolved and W1 warned its village)."""
    got = resolve_headers(["工单编号", "乡镇", "行政村", "问题类型", "发现时间", "解决时间"], CFG.kinds["water"])
    assert (got["found_date"], got["resolved_date"]) == ("发现时间", "解决时间")


def test_grid_phone_headers_with_lianxi():
    """网格员联系电话 / 网格长联系电话 are the grid's phone columns (else the lists' 网格员电话 was empty)."""
    got = resolve_headers(["网格编号", "网格员", "户编号", "网格员联系电话", "网格长联系电话"], CFG.kinds["grid"])
    assert (got["grid_worker_phone"], got["grid_leader_phone"]) == ("网格员联系电话", "网格长联系电话")


def test_the_heads_id_is_the_id_of_the_extracts_naming_the_head():
    """住建 and 农业农村 name the 户主 (户主姓名): their ID column is often headed 户主身份证号码,
    which was an extra column, the ID not read."""
    for kind in ("housing", "agri"):
        got = resolve_headers(["户主姓名", "户主身份证号码", "鉴定编号"], CFG.kinds[kind])
        assert got["id_raw"] == "户主身份证号码"


def test_every_extract_naming_a_township_reads_the_headers_the_roster_does():
    """A county whose systems head the township 乡镇（街道） had its roster read and its 住建, 水利,
    民政, 残联, 农业农村 and 网格 not: the place column ignored (水利: every row set aside)."""
    for kind in ("roster", "grid", "housing", "water", "civil", "disability", "agri"):
        for header in ("乡镇（街道）", "乡(镇、街道)"):
            assert resolve_headers([header], CFG.kinds[kind]) == {"township": header}, (kind, header)


@pytest.mark.parametrize("kind", ["roster", "grid", "housing", "water", "civil", "agri"])
def test_place_headers_of_inner_mongolia_guangxi_and_city_districts(kind):
    """Inner Mongolia heads its places 旗县（市、区）/ 苏木乡镇 / 嘎查村, city districts 镇（街道）/
    村（社区） or 社区, Guangxi a 水利 group by its 屯: the roster was set aside whole (缺少必需列
    乡（镇）、行政村: the run failed), a 水利 台账 likewise, and the other extracts' places were not
    read. Each kind with a place reads them."""
    fields = CFG.kinds[kind].fields
    for township, village in (("苏木乡镇", "嘎查村"), ("苏木乡镇（街道）", "嘎查村（社区）"), ("镇（街道）", "村（社区）"),
                              ("乡镇街道", "社区")):
        got = resolve_headers(["户编号", township, village, "组（屯）"], CFG.kinds[kind])
        assert (got.get("township"), got.get("village")) == (township, village)
        assert got.get("group") == ("组（屯）" if "group" in fields else None)
    if kind == "roster":
        assert resolve_headers(["旗县（市、区）"], CFG.kinds[kind])["county"] == "旗县（市、区）"
    # the plain names still come first
    assert resolve_headers(["乡（镇）", "苏木乡镇", "行政村", "社区"], CFG.kinds[kind]) == {
        "township": "乡（镇）", "village": "行政村"}


SPEC_HEADERS = {  # SPEC §2 and §3: each extract's fields, as the contract names them
    "roster": "县（市、区）, 乡（镇）, 行政村, 村民小组, 户编号, 人编号, 姓名, 证件号码, 性别, 与户主关系, 家庭人口数, 户类型, "
              "监测对象类别, 风险是否已消除, 年人均纯收入（元）, 联系电话",
    "grid": "网格编号, 乡（镇）, 行政村, 村民小组, 网格长, 网格长电话, 网格员, 网格员电话, 户编号",
    "med_settlement": "结算流水号, 姓名, 证件号码, 参保地, 就诊机构, 就诊类型, 入院日期, 结算日期, 医疗总费用, 统筹支付, "
                      "大病保险支付, 医疗救助支付, 个人自付",
    "med_enrollment": "人员编号, 姓名, 证件号码, 参保状态, 参保年度",
    "housing": "鉴定编号, 户主姓名, 证件号码, 乡（镇）, 行政村, 村民小组, 鉴定等级, 鉴定日期, 改造状态",
    "education": "学籍号, 学生姓名, 证件号码, 学校名称, 学段, 学籍状态, 异动日期, 本学年个人负担费用",
    "water": "工单编号, 乡（镇）, 行政村, 村民小组, 问题类型, 发现日期, 解决日期, 影响户数",
    "civil": "记录编号, 姓名, 证件号码, 乡（镇）, 行政村, 救助类别, 变动类型, 变动日期, 月救助金额",
    "disability": "残疾人证号, 姓名, 残疾类别, 残疾等级, 办证类型, 发证日期, 乡（镇）",
    "hr": "记录编号, 姓名, 证件号码, 事件类型, 事件日期, 连续未缴费月数",
    "agri": "报案编号, 户主姓名, 证件号码, 乡（镇）, 行政村, 灾害类型, 损失金额（元）, 发生日期",
}


@pytest.mark.parametrize("kind", sorted(SPEC_HEADERS))
def test_every_field_the_spec_names_is_read_under_its_spec_header_and_its_variants(kind):
    """Each SPEC header is read as a field of its kind, every one a different field, also written
    with half-width brackets, stray spaces or without its unit (SPEC §1), in any column order and
    beside an extra column; the ID field under each of its SPEC aliases. The kind is told by its
    headers."""
    spec = CFG.kinds[kind]
    headers = SPEC_HEADERS[kind].split(", ")
    got = resolve_headers(headers, spec)
    assert len(got) == len(headers) and set(got.values()) == set(headers)
    assert set(spec.required) <= set(got)
    variants = [f" {h.replace('（', '(').replace('）', ')')} " for h in reversed(headers)] + ["备用字段"]
    assert set(resolve_headers(variants, spec)) == set(got)
    assert set(resolve_headers([h.replace("（元）", "") for h in headers], spec)) == set(got)
    assert detect_kind(headers, spec.folder, CFG).name == kind
    id_field = next((f for f, h in got.items() if h == "证件号码"), None)
    for alias in ("身份证号", "身份证号码", "公民身份号码") if id_field else ():
        assert resolve_headers([alias if h == "证件号码" else h for h in headers], spec)[id_field] == alias


def test_the_specs_english_folder_names_are_the_departments_folders():
    english = {"roster": "户籍底册", "grid": "网格", "medical": "医保", "housing": "住建", "education": "教育",
               "water": "水利", "civil": "民政", "disability": "残联", "hr": "人社", "agri": "农业农村", "feedback": "反馈"}
    assert {e: CFG.folder_of(e) for e in english} == english
    assert all(CFG.folder_of(c) == c for c in english.values())


def test_a_settlement_export_carrying_the_persons_number_and_status_is_a_settlement():
    """Both 医保 kinds fit headers of settlements that also carry 人员编号 and 参保状态: the kind
    resolving the most fields wins (read as a 参保名单 it would be taken for the full list)."""
    heads = ["结算流水号", "人员编号", "姓名", "证件号码", "参保状态", "结算日期", "就诊类型", "个人自付"]
    assert detect_kind(heads, "医保", CFG).name == "med_settlement"
    from dataclasses import replace  # (whichever kind the config names first)

    assert detect_kind(heads, "医保", replace(CFG, kinds=dict(reversed(CFG.kinds.items())))).name == "med_settlement"
    assert detect_kind(["人员编号", "姓名", "证件号码", "参保状态", "参保年度", "结算流水号"], "医保", CFG).name == "med_enrollment"


def test_standardize_keeps_the_field_past_the_header_after_line():
    """`_extra` (a row's field past the header, `adapters.inbox`) is kept for validation to set
    the row aside whole."""
    raw = pl.DataFrame({"报案编号": ["BA1"], "户主姓名": ["张三"], "line": [2], "_extra": ["234.50"]})
    out = standardize(raw, CFG.kinds["agri"])
    assert out.columns[-2:] == ["line", "_extra"] and out["_extra"].to_list() == ["234.50"]


def test_a_header_serves_one_field_even_when_a_config_gives_it_to_two():
    """A bureau's config naming 村 under both 行政村 and 村民小组: the 村 column is the village
    (the field first in the config), not the group too."""
    from dataclasses import replace

    spec = CFG.kinds["housing"]
    spec = replace(spec, fields=spec.fields | {"group": (*spec.fields["group"], "村")})
    assert resolve_headers(["鉴定编号", "户主姓名", "村"], spec) == {"record_id": "鉴定编号", "name": "户主姓名", "village": "村"}


def test_a_misfit_names_only_the_required_columns_missing():
    from pipelines.standardize import describe_misfit

    assert describe_misfit(["结算流水号", "姓名", "证件号码", "结算日期"], "医保", CFG) == (
        "缺少必需列 missing required columns: med_settlement: 个人自付; med_enrollment: 人员编号、参保状态")


def test_a_misfit_asks_about_a_header_only_when_it_shares_two_characters_with_the_missing_name():
    """An unread header sharing one character with a missing column's name (经办人 and 个人自付: 人)
    is not asked about: 「经办人」是否即「个人自付」？ would send the department looking in vain."""
    from pipelines.standardize import describe_misfit

    msg = describe_misfit(["结算流水号", "姓名", "证件号码", "结算日期", "经办人"], "医保", CFG)
    assert msg.endswith("；未识别的表头 headers not read: 经办人") and "是否即" not in msg


def test_a_misfit_names_up_to_eight_headers_not_read_then_says_there_are_more():
    from pipelines.standardize import MISFIT_SHOWN, describe_misfit

    heads = ["报案编号", "户主姓名", "证件号码", "灾害类型"]
    other = [f"甲{i}" for i in range(MISFIT_SHOWN + 1)]
    assert describe_misfit(heads + other[:MISFIT_SHOWN], "农业农村", CFG).endswith(
        "headers not read: " + "、".join(other[:MISFIT_SHOWN]))
    assert describe_misfit(heads + other, "农业农村", CFG).endswith("headers not read: " + "、".join(other[:MISFIT_SHOWN]) + "…")


def test_a_misfit_asks_whether_a_column_without_a_header_is_the_one_missing():
    """A review answer whose 是否本人 header was cleared: asked whether the column without a header
    (as `adapters.inbox` says it) is 是否本人, and so told apart from another folder's table
    (`asks_renamed`), as an answer with the column renamed is."""
    from pipelines.standardize import asks_renamed, describe_misfit

    heads = ["部门", "记录编号", "记录姓名", "人编号", "复核人"]
    unheaded = ("「人编号」与「复核人」之间无表头的表格第 5 列（3 个值）",)
    msg = describe_misfit(heads, "复核", CFG, unheaded)
    assert "；「人编号」与「复核人」之间无表头的表格第 5 列（3 个值）是否即「是否本人」？请补上表头" in msg
    assert pl.select(asks_renamed(pl.lit(msg))).item()
    assert "是否即" not in describe_misfit(heads, "复核", CFG)

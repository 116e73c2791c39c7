import datetime as dt
import re

import polars as pl

from config import load_config
from pipelines.township import county_summary, heads, mask_ids, township_rows, unplaced_leads
from schemas.outputs import TOWNSHIP_COLUMNS

ROSTER = pl.DataFrame({
    "person_id": ["A-01", "A-02", "B-01"],
    "household_id": ["A", "A", "B"],
    "township": ["大店镇", "大店镇", "夹沟镇"],
    "village": ["韩湖村", "韩湖村", "郑楼村"],
    "group": ["1组", "1组", None],
    "name": ["张三", "李四", "王五"],
    "id_number": ["341302197005011234", "341302196510061221", "34130219900101123X"],
    "relation": ["配偶", "户主", "户主"],
    "household_size": [2, 2, 1],
    "income_per_capita": [5000.0, 5000.0, 8000.0],
    "household_type": ["脱贫户", "脱贫户", "监测户"],
    "phone": ["13812345678", "13812345678", "13987654321"],
})
GRID = pl.DataFrame({"household_id": ["A", "B"], "grid_worker": ["网格员1", "网格员2"],
                     "grid_worker_phone": ["13700000001", "13700000002"]})

W = pl.DataFrame({
    "warning_id": ["YJ202610-aaa", "YJ202610-aaa", "YJ202610-bbb", "YJ202610-ccc", "YJ202610-ddd", "YJ202610-eee"],
    "household_id": ["A", "A", "A", "B", None, None],
    "township": ["大店镇", "大店镇", "大店镇", "夹沟镇", "永镇镇", None],
    "risk_type": ["因病", "因病", "因残", "饮水出现安全问题", "突发严重困难", "因病"],
    "rule": ["M2", "M1", "D1", "W1", "C2", "M3"],
    "severity": ["高", "中", "中", "中", "高", "高"],
    "dept": ["医保", "医保", "残联", "水利", "民政", "医保"],
    "record_ids": [["JS1", "JS2"], ["JS1"], ["34130219700501123411"], ["GS1"], ["G341302201001011234"], ["JS9"]],
    "person_ids": [["A-01", "A-02"], ["A-01"], ["A-01"], [], [], []],
    "basis": ["全户累计 …", "张三 2026年累计个人自付 6,000.00 元", "新办残疾人证", "郑楼村供水问题未解决", "新增特困",
              "非监测对象 钱* 累计 20,000.00 元"],
    "signal": [0.6, 6000.0, 2.0, 1.0, 1.0, 20000.0],
    "lead_key": [None, None, None, None, "Labc", "Ldef"],
    "lead_name": [None, None, None, None, "孙*七", "钱*"],
    "lead_village": [None, None, None, None, "马集村", None],
})
ISSUE, DEADLINE = dt.date(2026, 9, 30), dt.date(2026, 10, 10)
HEADS = load_config().matching.head_relations


def rows():
    return township_rows(W, ROSTER, GRID, ISSUE, DEADLINE, HEADS)


def test_columns_one_row_per_warning_and_sorted():
    t = rows()
    assert t.columns == [*TOWNSHIP_COLUMNS, "township"]
    assert t["预警编号"].to_list() == ["YJ202610-bbb", "YJ202610-aaa", "YJ202610-ccc", "YJ202610-ddd", "YJ202610-eee"]
    assert t.select(TOWNSHIP_COLUMNS[-5:]).null_count().row(0) == (5,) * 5


def test_roster_household_row():
    r = rows().filter(pl.col("预警编号") == "YJ202610-aaa").row(0, named=True)
    assert r["预警规则"] == "M1、M2" and r["严重程度"] == "高" and r["户主姓名"] == "李四"
    assert r["涉及人员"] == "张三、李四" and r["户类型"] == "脱贫户" and r["来源部门"] == "医保"
    assert r["预警依据"].startswith("M1：张三 2026年累计个人自付 6,000.00 元；M2：")
    assert r["来源记录编号"] == "JS1、JS2" and (r["网格员"], r["网格员电话"]) == ("网格员1", "13700000001")
    assert (r["下发日期"], r["核实截止日期"]) == ("2026-09-30", "2026-10-10")
    assert (r["行政村"], r["村民小组"], r["户编号"]) == ("韩湖村", "1组", "A")


def test_the_head_is_whom_the_roster_says_in_any_of_the_configured_words():
    """户主姓名: the person whose 与户主关系 is one of `matching.head_relations` (a roster may say 本人),
    not merely the household's first person; with none, the first."""
    roster = ROSTER.with_columns(relation=pl.Series(["配偶", "本人", None]))
    assert dict(heads(roster, HEADS).iter_rows()) == {"A": "李四", "B": "王五"}
    assert dict(heads(roster, ["户主"]).iter_rows()) == {"A": "张三", "B": "王五"}
    r = township_rows(W, roster, GRID, ISSUE, DEADLINE, HEADS).filter(pl.col("预警编号") == "YJ202610-aaa")
    assert r["户主姓名"].to_list() == ["李四"]


def test_whole_household_and_leads():
    t = rows()
    assert t.filter(pl.col("预警编号") == "YJ202610-ccc")["涉及人员"][0] == "全户"
    lead = t.filter(pl.col("预警编号") == "YJ202610-ddd").row(0, named=True)
    assert lead["户编号"] is None and lead["户类型"] == "新增线索" and lead["户主姓名"] == "孙*七"
    assert (lead["乡（镇）"], lead["行政村"], lead["township"]) == ("永镇镇", "马集村", "永镇镇")
    assert t.filter(pl.col("预警编号") == "YJ202610-eee")["township"][0] is None


def test_record_ids_with_ids_are_masked_and_no_full_id_or_phone_anywhere():
    t = rows()
    assert t.filter(pl.col("预警编号") == "YJ202610-bbb")["来源记录编号"][0] == "341302********123411"
    assert t.filter(pl.col("预警编号") == "YJ202610-ddd")["来源记录编号"][0] == "G341302********1234"
    text = t.write_csv()
    assert not re.search(r"\d{17}[\dXx]", text)
    assert "13812345678" not in text and "13987654321" not in text


def test_without_a_grid_the_rows_go_out_with_empty_grid_worker_columns():
    with_grid, without = rows(), township_rows(W, ROSTER, None, ISSUE, DEADLINE, HEADS)
    assert without.drop("网格员", "网格员电话").equals(with_grid.drop("网格员", "网格员电话"))
    assert without["网格员"].null_count() == without.height and with_grid["网格员"].null_count() < with_grid.height


def test_county_summary_and_unplaced_leads():
    s = county_summary(W)
    assert set(s["乡（镇）"]) == {"夹沟镇", "大店镇", "永镇镇", "（未落位线索）", "合计"}
    assert s["乡（镇）"][-1] == "合计" and s.columns[-1] == "合计"
    total = s.filter(pl.col("乡（镇）") == "合计").row(0, named=True)
    assert total["合计"] == 5 and total["因病"] == 2
    assert s.filter(pl.col("乡（镇）") == "大店镇")["合计"][0] == 2
    u = unplaced_leads(W)
    assert u["预警编号"].to_list() == ["YJ202610-eee"] and u["姓名"][0] == "钱*"


def test_ids_typed_with_spaces_or_full_width_digits_are_masked_too():
    raw = pl.Series(["341302 19310130767X43", "３４１３０２１９３１０１３０７６７Ｘ", "3413 0219 3101 3076 7x",
                     "JS202610001520", "2026-10-05 12:00"])
    got = pl.select(mask_ids(pl.lit(raw))).to_series().to_list()
    assert got == ["341302 ********767X43", "３４１３０２********７６７Ｘ", "3413 02********76 7x",
                   "JS202610001520", "2026-10-05 12:00"]


def test_the_persons_involved_are_named_in_person_number_order_whatever_the_rosters_row_order():
    """A roster sorted by person rather than household, or a rule that met the persons in
    another order (M2 lists them as their settlements came): 涉及人员 reads the same, in 人编号
    order, so one household's row does not change from one delivery to the next."""
    w = W.with_columns(pl.when(pl.col("rule") == "M2").then(pl.lit(["A-02", "A-01"])).otherwise("person_ids")
                       .alias("person_ids"))
    for roster in (ROSTER, ROSTER.reverse()):
        r = township_rows(w, roster, GRID, ISSUE, DEADLINE, HEADS).filter(pl.col("预警编号") == "YJ202610-aaa")
        assert r["涉及人员"].item() == "张三、李四"


def test_the_list_holds_the_specs_columns_in_the_specs_order():
    """SPEC §5's columns of a township's 预警清单, in its order (others may stand beside them),
    the last five left empty for the township. The other tests compare with TOWNSHIP_COLUMNS:
    this one holds TOWNSHIP_COLUMNS to the SPEC."""
    spec = ["预警编号", "风险类型", "严重程度", "乡（镇）", "行政村", "村民小组", "户编号", "户主姓名", "涉及人员", "户类型",
            "来源部门", "预警规则", "预警依据", "来源记录编号", "网格员", "网格员电话", "下发日期", "核实截止日期",
            "核实结果", "是否纳入监测", "核实人", "核实日期", "备注"]
    assert [c for c in TOWNSHIP_COLUMNS if c in spec] == spec
    assert TOWNSHIP_COLUMNS[-5:] == spec[-5:]


def test_an_id_number_in_a_leads_name_or_a_basis_is_masked_in_the_township_and_county_lists():
    """A department may type an ID into the name field (孙七341302199001011234), and a lead's basis
    says the name as delivered: 户主姓名, 涉及人员 and 预警依据 of the township's list, and 姓名 and
    预警依据 of the county's unplaced leads, keep its first 6 and last 4 only."""
    idn, masked = "341302199001011234", "341302********1234"
    w = W.with_columns(
        lead_name=pl.when(pl.col("lead_key").is_not_null()).then(pl.lit(f"孙七{idn}")).otherwise("lead_name"),
        basis=pl.when(pl.col("lead_key").is_not_null()).then(pl.lit(f"非监测对象 孙七{idn} 新增特困")).otherwise("basis"))
    t = township_rows(w, ROSTER, GRID, ISSUE, DEADLINE, HEADS)
    lead = t.filter(pl.col("预警编号") == "YJ202610-ddd").row(0, named=True)
    assert (lead["户主姓名"], lead["涉及人员"]) == (f"孙七{masked}", f"孙七{masked}")
    assert lead["预警依据"] == f"C2：非监测对象 孙七{masked} 新增特困"
    u = unplaced_leads(w).row(0, named=True)
    assert u["姓名"] == f"孙七{masked}" and u["预警依据"] == f"M3：非监测对象 孙七{masked} 新增特困"
    assert idn not in t.write_csv() + unplaced_leads(w).write_csv()


def test_a_household_the_grid_lists_twice_gets_its_first_grid_worker():
    grid = pl.concat([GRID, pl.DataFrame({"household_id": ["A"], "grid_worker": ["网格员9"],
                                          "grid_worker_phone": ["13700000009"]})])
    for g in (grid, pl.concat([grid.tail(1), grid.head(2)])):
        r = township_rows(W, ROSTER, g, ISSUE, DEADLINE, HEADS).filter(pl.col("预警编号") == "YJ202610-aaa")
        first = g.filter(pl.col("household_id") == "A").row(0, named=True)
        assert r.select("网格员", "网格员电话").row(0) == (first["grid_worker"], first["grid_worker_phone"])


def test_ids_numbering_households_are_masked_and_a_household_code_is_not():
    """`mask_full_ids`: a whole ID in the columns named (the value itself, or in a text) is masked
    341302********123X; an 18-digit 户编号 that is no ID, other columns and a frame without IDs
    stay as they are."""
    from matchers.ids import check_char
    from pipelines.township import mask_full_ids

    head = "34130219800101001" + check_char("34130219800101001")
    code = "341302101201000123"  # (its '10120100' is no birth date)
    df = pl.DataFrame({"户编号": [head, code, None], "状态": [f"待核实（王睿 已分户至 {head}）", "新下发", None],
                       "备注": [head, None, None]})
    got = mask_full_ids(df, ["户编号", "状态"])
    m = head[:6] + "********" + head[-4:]
    assert got["户编号"].to_list() == [m, code, None]
    assert got["状态"].to_list() == [f"待核实（王睿 已分户至 {m}）", "新下发", None]
    assert got["备注"].equals(df["备注"])
    assert mask_full_ids(df.slice(1), ["户编号", "状态"]).equals(df.slice(1))
    slipped = head[:17] + str((int(head[17]) + 1) % 10) if head[17] != "X" else head[:17] + "0"
    known = mask_full_ids(pl.DataFrame({"户编号": [slipped]}), ["户编号"], pl.Series([slipped]))
    assert known["户编号"].to_list() == [slipped[:6] + "********" + slipped[-4:]]


def test_an_old_15_digit_id_is_masked_wherever_an_18_character_one_is():
    """A department still holding someone's old 15-digit ID (SPEC §1) may type it into a lead's
    name, its record number or a `G`+ID 学籍号: the township's list and the county's unplaced
    leads keep its first 6 and last 3 only."""
    old, masked = "341302620111273", "341302******273"
    w = W.with_columns(
        lead_name=pl.when(pl.col("lead_key").is_not_null()).then(pl.lit(f"孙七{old}")).otherwise("lead_name"),
        basis=pl.when(pl.col("lead_key").is_not_null()).then(pl.lit(f"非监测对象 孙七{old} 新增特困")).otherwise("basis"),
        record_ids=pl.when(pl.col("rule") == "C2").then(pl.lit([f"G{old}"])).when(pl.col("rule") == "M3")
        .then(pl.lit([old])).otherwise("record_ids"))
    t = township_rows(w, ROSTER, GRID, ISSUE, DEADLINE, HEADS)
    lead = t.filter(pl.col("预警编号") == "YJ202610-ddd").row(0, named=True)
    assert (lead["户主姓名"], lead["涉及人员"]) == (f"孙七{masked}", f"孙七{masked}")
    assert lead["预警依据"] == f"C2：非监测对象 孙七{masked} 新增特困" and lead["来源记录编号"] == f"G{masked}"
    u = unplaced_leads(w).row(0, named=True)
    assert u["姓名"] == f"孙七{masked}" and u["预警依据"] == f"M3：非监测对象 孙七{masked} 新增特困"
    assert old not in t.write_csv() + unplaced_leads(w).write_csv()


def test_only_a_15_digit_run_that_can_be_an_old_id_is_masked():
    """Region 1-6, a real yymmdd (1900 no leap year) and no longer run of digits around it: a
    结算流水号 of 15 digits stays readable, and so do two IDs side by side masked both."""
    raw = pl.Series(["341302620111273、341302650203128", "202610001520123", "341302000229123",
                     "341302040229123", "3413026201112731", "34130262011127", "741302620111273"])
    got = pl.select(mask_ids(pl.lit(raw))).to_series().to_list()
    assert got == ["341302******273、341302******128", "202610001520123", "341302000229123",
                   "341302******123", "3413026201112731", "34130262011127", "741302620111273"]


def test_an_old_id_typed_full_width_or_with_spaces_or_in_a_17_digit_disability_number_is_masked():
    """SPEC §1's dirt on an old 15-digit ID as on an 18-character one: full-width digits, spaces
    typed inside, and a 残疾人证号 made from it (the ID and its type and level digits, 17 in all).
    The list keeps the first 6 and last 3 as typed, and the 残疾人证号's last 2."""
    raw = pl.Series(["３４１３０２６２０１１１２７３", "341302 620111 273", "3413 0262 0111 273",
                     "34130262011127341", "残疾人证号３４１３０２６５０２０３１２８４２（注销）",
                     "3413 0262 0111 2734 1、341302650203128"])
    got = pl.select(mask_ids(pl.lit(raw))).to_series().to_list()
    assert got == ["３４１３０２******２７３", "341302 ******273", "3413 02******273",
                   "341302******27341", "残疾人证号３４１３０２******１２８４２（注销）",
                   "3413 02******2734 1、341302******128"]
    w = W.with_columns(record_ids=pl.when(pl.col("rule") == "C2").then(pl.lit(["34130262011127341"]))
                       .otherwise("record_ids"))
    lead = township_rows(w, ROSTER, GRID, ISSUE, DEADLINE, HEADS).filter(pl.col("预警编号") == "YJ202610-ddd")
    assert lead["来源记录编号"].item() == "341302******27341"


def test_an_old_id_is_read_only_under_a_province_code():
    """Old IDs were issued under the province codes of GB/T 2260 only (11-15, 21-23, 31-37, 41-46,
    50-54, 61-65; 46 and 50 since 1988 and 1997): a dated 15-digit record number under any other
    first 2 digits (202609000218123: 2026-09, serial 000218123) stays readable, an old ID under
    every province is masked."""
    provinces = [11, 12, 13, 14, 15, 21, 22, 23, *range(31, 38), *range(41, 47), *range(50, 55), *range(61, 66)]
    raw = pl.Series([f"{p:02d}1302620111273" for p in range(100)] + ["202609000218123"])
    got = pl.select(mask_ids(pl.lit(raw))).to_series().to_list()
    masked = [r for r, g in zip(raw, got) if g == r[:6] + "******" + r[-3:]]
    assert masked == [f"{p:02d}1302620111273" for p in provinces]
    assert got[-1] == "202609000218123"


def test_a_household_numbered_by_its_heads_old_id_is_masked_and_a_15_digit_code_is_not():
    """`mask_full_ids`: a 15-digit 户编号 that is a head's old ID (the roster reads it as the ID it
    became, `known`) keeps its first 6 and last 3, also in 状态; a 15-digit household code that
    is no roster person's ID stays as written, dated-looking or not."""
    from matchers.ids import check_char
    from pipelines.township import mask_full_ids

    old, code = "341302620111273", "341302101201000"  # (its '101201' reads as a date)
    new = "34130219620111273" + check_char("34130219620111273")
    df = pl.DataFrame({"户编号": [old, code], "状态": [f"待核实（王睿 已分户至 {old}）", "新下发"]})
    got = mask_full_ids(df, ["户编号", "状态"], pl.Series([new, "34130219900101123X"]))
    assert got["户编号"].to_list() == ["341302******273", code]
    assert got["状态"].to_list() == ["待核实（王睿 已分户至 341302******273）", "新下发"]
    assert mask_full_ids(df, ["户编号", "状态"]).equals(df)


def test_without_a_head_said_the_head_is_the_households_first_person_by_number_whatever_the_row_order():
    """A roster without 与户主关系 (or none of the configured words): 户主姓名 is the household's
    first person by 人编号, not whoever the file happened to list first."""
    roster = ROSTER.with_columns(relation=pl.lit(None, pl.Utf8))
    for r in (roster, roster.reverse()):
        assert dict(heads(r, HEADS).iter_rows()) == {"A": "张三", "B": "王五"}


def test_a_villages_households_are_listed_by_their_group_before_their_number():
    """A clerk walks a village group by group: 1组's household C comes before 2组's household A."""
    roster = pl.concat([ROSTER.with_columns(group=pl.lit("2组")),
                        ROSTER.head(1).with_columns(person_id=pl.lit("C-01"), household_id=pl.lit("C"), name=pl.lit("赵六"),
                                                    group=pl.lit("1组"), relation=pl.lit("户主"))])
    w = W.filter(pl.col("warning_id") == "YJ202610-bbb").vstack(W.filter(pl.col("warning_id") == "YJ202610-bbb").with_columns(
        warning_id=pl.lit("YJ202610-fff"), household_id=pl.lit("C"), person_ids=pl.lit(["C-01"])))
    t = township_rows(w, roster, GRID, ISSUE, DEADLINE, HEADS)
    assert t.select("户编号", "村民小组").rows() == [("C", "1组"), ("A", "2组")]


def test_the_county_summary_lists_its_townships_in_order_the_total_last():
    towns = ["夹沟镇", "大店镇", "永镇镇", "符离镇", "朱仙庄镇", "桃园镇", "灰古镇", "杨庄乡", "顺河乡", "大泽乡镇"]
    w = pl.DataFrame({"warning_id": [f"YJ202610-{i}" for i in range(len(towns))], "township": towns,
                      "risk_type": ["因病"] * len(towns)})
    for x in (w, w.reverse()):
        assert county_summary(x)["乡（镇）"].to_list() == [*sorted(towns), "合计"]


def test_a_leads_village_and_name_said_by_one_of_its_rules_only_are_on_its_row():
    """A lead warned by C2 (民政, no village given) and M3 (医保, 马集村) in one 预警编号: the
    row names the village and township one rule gave, whichever rule sorts first."""
    lead = W.filter(pl.col("warning_id") == "YJ202610-ddd")
    w = pl.concat([lead.with_columns(lead_village=pl.lit(None, pl.Utf8), township=pl.lit(None, pl.Utf8)),
                   lead.with_columns(rule=pl.lit("M3"), dept=pl.lit("医保"))])
    r = township_rows(w, ROSTER, GRID, ISSUE, DEADLINE, HEADS).row(0, named=True)
    assert (r["乡（镇）"], r["行政村"], r["预警规则"]) == ("永镇镇", "马集村", "C2、M3")


def test_a_month_without_warnings_has_a_summary_saying_0():
    """No warning this period: the county's summary still holds its 合计 row, 0, not an empty table."""
    assert county_summary(W.head(0)).rows() == [("合计", 0)]

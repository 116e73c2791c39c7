import datetime as dt
import itertools
import random
import re

import polars as pl
import pytest

from config import load_config
from pipelines.rules import (RuleInputs, _fitting_whole_ids, _records, assign_warnings, death_notes, deaths, for_the_living,
                             held_back, held_back_findings, known_dead, lead_keys, run_rules, with_kept, with_status,
                             with_withdrawn)
from pipelines.year_to_date import YTD_COLUMNS
from schemas.outputs import Finding, Warning

D = dt.date
CFG = load_config()
P = "2026-10"

ROSTER = pl.DataFrame(
    {
        "person_id": ["A-01", "A-02", "B-01", "C-01"],
        "household_id": ["A", "A", "B", "C"],
        "township": ["大店镇", "大店镇", "大店镇", "夹沟镇"],
        "village": ["韩湖村", "韩湖村", "吕台村", "郑楼村"],
        "group": ["1组", "1组", "2组", "3组"],
        "name": ["张三", "李四", "王五", "赵六"],
        "id_number": ["341302197005011234", "341302196510061221", "341302199001011236", "34130220100101123X"],
        "relation": ["户主", "配偶", "户主", "户主"],
        "household_size": [2, 2, 1, 1],
        "income_per_capita": [5000.0, 5000.0, 20000.0, 50000.0],
        "household_type": ["脱贫户", "脱贫户", "监测户", "脱贫户"],
        "phone": ["13800000001"] * 4,
    }
)


def frame(kind, dept, rows):
    """Extract rows (dicts) + link rows: a row's `pid` links it (matched); 'lead' = unmatched."""
    df = pl.DataFrame([{k: v for k, v in r.items() if k != "pid"} for r in rows]).with_columns(
        dept=pl.lit(dept), kind=pl.lit(kind), file=pl.lit("f.csv"), line=pl.int_range(2, len(rows) + 2))
    links = pl.DataFrame(
        {
            "dept": [dept] * len(rows), "kind": [kind] * len(rows),
            "record_id": [r["record_id"] for r in rows],
            "decision": ["unmatched" if r["pid"] is None else "matched" for r in rows],
            "person_id": [r["pid"] for r in rows],
            "household_id": [None if r["pid"] is None else r["pid"][0] for r in rows],
        }
    )
    return df, links


def run(kinds: dict, cfg=CFG, **kw):
    extracts, links = {}, []
    for kind, (df, lk) in kinds.items():
        extracts[kind] = df
        links.append(lk)
    return run_rules(extracts, pl.concat(links), ROSTER, cfg, P, **kw)


def med(*rows):
    return frame("med_settlement", "医保", [
        dict(record_id=f"JS{i}", pid=pid, name=n, id_raw=i_, out_of_pocket=a, settle_date=D(2026, 10, 3))
        for i, (pid, n, i_, a) in enumerate(rows)])


def fired(sig, rule):
    return sig.filter(pl.col("rule") == rule)


@pytest.mark.parametrize("amounts", list(itertools.permutations((4995.4, 4.4, 0.2))))
def test_a_sum_of_yuan_and_fen_reaching_the_threshold_exactly_fires_in_any_order(amounts):
    """4,995.40 + 4.40 + 0.20 is 5,000.00 元, M1's threshold; added in binary floating point in some
    orders it was 4,999.999999999999 and M1 did not fire. A year's sum is counted to the 分."""
    sig = run({"med_settlement": med(*[("B-01", "王五", "341302********1236", a) for a in amounts])})
    m1 = fired(sig, "M1")
    assert m1["signal"].to_list() == [5000.0] and "累计个人自付 5,000.00 元 ≥ 5,000 元" in m1["basis"][0]


@pytest.mark.parametrize("amounts,fires", [([3000.0, 2000.0], True), ([3000.0, 1999.99], False)])
def test_m1_threshold_inclusive(amounts, fires):
    sig = run({"med_settlement": med(*[("B-01", "王五", "341302********1236", a) for a in amounts])})
    m1 = fired(sig, "M1")
    assert m1.height == int(fires)
    if fires:
        assert m1["household_id"][0] == "B" and m1["person_ids"][0].to_list() == ["B-01"]
        assert "2026年累计个人自付 5,000.00 元 ≥ 5,000 元（2 笔结算）" in m1["basis"][0]
        assert m1["signal"][0] == 5000.0 and m1["severity"][0] == "中" and m1["township"][0] == "大店镇"
    assert fired(sig, "M2").is_empty()  # 5,000 < 40% of 20,000


def test_m1_threshold_from_config_and_dropped_rule():
    rows = med(("B-01", "王五", None, 6000.0))
    assert fired(run({"med_settlement": rows}, load_config(overrides=["M1.threshold=8000"])), "M1").is_empty()
    raw = load_config().raw
    del raw["rules"]["M1"]
    from config import build_config
    assert fired(run({"med_settlement": rows}, build_config(raw)), "M1").is_empty()


def test_m1_uses_ytd_but_needs_a_settlement_this_period():
    cur_df, cur_links = med(("B-01", "王五", None, 100.0))
    old = pl.DataFrame({"dept": ["医保"], "kind": ["med_settlement"], "record_id": ["JS_OLD"], "name": ["王五"],
                        "id_raw": [None], "out_of_pocket": [4900.0], "settle_date": [D(2026, 3, 1)],
                        "decision": ["matched"], "person_id": ["B-01"], "household_id": ["B"]},
                       schema_overrides={"id_raw": pl.Utf8})
    ytd = pl.concat([old, cur_df.select(old.columns[:7]).join(
        cur_links.select("record_id", "decision", "person_id", "household_id"), on="record_id")])
    m1 = fired(run({"med_settlement": (cur_df, cur_links)}, ytd_settlements=ytd), "M1")
    assert m1.height == 1 and sorted(m1["record_ids"][0].to_list()) == ["JS0", "JS_OLD"]
    only_old = run({"med_settlement": (cur_df.clear(), cur_links.clear())}, ytd_settlements=old)
    assert fired(only_old, "M1").is_empty()
    # ... or an earlier settlement an answer received this period linked to them (year_to_date)
    answered = old.with_columns(out_of_pocket=pl.lit(5000.0), answered_now=pl.lit(True))
    now = fired(run({"med_settlement": (cur_df.clear(), cur_links.clear())}, ytd_settlements=answered), "M1")
    assert now["record_ids"].to_list() == [["JS_OLD"]]
    assert fired(run({"med_settlement": (cur_df.clear(), cur_links.clear())},
                     ytd_settlements=answered.with_columns(answered_now=pl.lit(False))), "M1").is_empty()


def test_the_year_to_date_rules_read_only_the_columns_a_year_is_carried_with():
    """A year's settlements are read and carried with `YTD_COLUMNS` alone (a city's December holds
    some 20 million): M1-M3 over them fire as over every column as delivered."""
    cur, links = med(("B-01", "王五", "341302********1236", 3000.0), ("A-01", "张三", None, 3500.0),
                     (None, "张妹敏", "341323197705025108", 12000.0), (None, "张*敏", "341323********5108", 500.0))
    old = pl.DataFrame({"dept": ["医保"] * 3, "kind": ["med_settlement"] * 3, "record_id": ["JS_A", "JS_B", "JS_C"],
                        "name": ["王五", "李四", "张妹敏"], "id_raw": [None, None, "341***********5108"],
                        "out_of_pocket": [2500.0, 1000.0, 8000.0], "settle_date": [D(2026, 3, 1)] * 3,
                        "decision": ["matched", "matched", "unmatched"], "person_id": ["B-01", "A-02", None],
                        "household_id": ["B", "A", None]}, schema_overrides={"id_raw": pl.Utf8})
    delivered = dict(file="x.csv", line=2, insured_place="大店镇", facility="县人民医院", visit_type="住院",
                     admit_date=D(2026, 2, 27), total_cost=9999.0, pooled_pay=1.0, critical_pay=0.0, assistance_pay=0.0,
                     score=0.99)
    ytd = pl.concat([old, cur.select(old.columns[:7]).join(links.select("record_id", "decision", "person_id", "household_id"),
                                                           on="record_id")]).with_columns(
        **{k: pl.lit(v) for k, v in delivered.items()})
    every = run({"med_settlement": (cur, links)}, ytd_settlements=ytd)
    carried = run({"med_settlement": (cur, links)}, ytd_settlements=ytd.select([c for c in ytd.columns if c in YTD_COLUMNS]))
    assert {"M1", "M2", "M3"} <= set(every["rule"]) and carried.equals(every)


def test_a_late_settlement_counts_in_the_year_of_its_settle_date():
    """January 2027's 医保 folder holds a 补报 of December 2026 settlements: they complete 2026's
    sum (and warn, worded with 2026), never 2027's, for which this person has no cost."""
    late = pl.DataFrame({"dept": ["医保"] * 3, "kind": ["med_settlement"] * 3, "record_id": ["JS_DEC", "JS_L1", "JS_L2"],
                         "name": ["王五"] * 3, "id_raw": [None] * 3, "out_of_pocket": [1200.0, 3000.0, 2500.0],
                         "settle_date": [D(2026, 12, 2), D(2026, 12, 28), D(2026, 12, 30)],
                         "decision": ["matched"] * 3, "person_id": ["B-01"] * 3, "household_id": ["B"] * 3},
                        schema_overrides={"id_raw": pl.Utf8})
    cur = late.filter(pl.col("record_id") != "JS_DEC")  # delivered in 2027-01; JS_DEC in 2026-12
    links = cur.select("dept", "kind", "record_id", "decision", "person_id", "household_id")
    sig = run_rules({"med_settlement": cur.drop("decision", "person_id", "household_id")}, links, ROSTER, CFG,
                    "2027-01", ytd_settlements=late)
    m1 = fired(sig, "M1")
    assert m1.height == 1 and "2027年" not in m1["basis"][0]
    # the township reading a 2026 sum on its 2027-01 list is told which of its settlements came late
    assert "2026年累计个人自付 6,700.00 元 ≥ 5,000 元（3 笔结算，其中 2 笔为 2027-01 补报）" in m1["basis"][0]
    assert sorted(m1["record_ids"][0].to_list()) == ["JS_DEC", "JS_L1", "JS_L2"]
    # a 2027 settlement beside them is summed apart, in 2027's sum
    jan = late.head(1).with_columns(record_id=pl.lit("JS_JAN"), settle_date=D(2027, 1, 5), out_of_pocket=pl.lit(5000.0))
    both = run_rules({"med_settlement": pl.concat([cur, jan]).drop("decision", "person_id", "household_id")},
                     pl.concat([links, jan.select(links.columns)]), ROSTER, CFG, "2027-01",
                     ytd_settlements=pl.concat([late, jan]))
    basis = fired(both, "M1")["basis"][0]
    assert "2026年累计个人自付 6,700.00 元" in basis and "2027年累计个人自付 5,000.00 元 ≥ 5,000 元（1 笔结算）" in basis


@pytest.mark.parametrize("amount,m2", [(3999.99, False), (4000.0, True)])
def test_m2_share_of_household_income(amount, m2):
    sig = run({"med_settlement": med(("A-02", "李*", None, amount))})
    assert fired(sig, "M2").height == int(m2)  # household A: 5,000 x 2 x 40% = 4,000
    if m2:
        assert "10,000.00" in fired(sig, "M2")["basis"][0] and "40.0%" in fired(sig, "M2")["basis"][0]


@pytest.mark.parametrize("amount,m2", [(4802.39, False), (4802.4, True)])
def test_m2_at_exactly_its_share_of_an_income_whose_share_is_no_binary_fraction(amount, m2):
    """Household A: 6,003 元 x 2 = 12,006 元, 40% of it 4,802.40 元, which 0.4 x 12006 gives as
    4,802.400000000001: a cost of exactly 4,802.40 is 40% and fires."""
    roster = ROSTER.with_columns(income_per_capita=pl.when(pl.col("household_id") == "A").then(6003.0)
                                 .otherwise("income_per_capita"))
    df, links = med(("A-02", "李*", None, amount))
    assert fired(run_rules({"med_settlement": df}, links, roster, CFG, P), "M2").height == int(m2)


def test_m1_m2_share_one_warning_id():
    sig = run({"med_settlement": med(("A-01", "张*", None, 6000.0))})
    assert set(sig["rule"]) == {"M1", "M2"}
    w, sup = assign_warnings(sig, ROSTER, P, None, CFG)
    Warning.validate(w)
    assert w.height == 2 and w["warning_id"].n_unique() == 1 and sup.is_empty()
    assert re.fullmatch(r"YJ202610-[0-9a-f]{10}", w["warning_id"][0])
    assert w.equals(assign_warnings(sig, ROSTER, P, None, CFG)[0])  # stable on re-run


def test_a_household_number_shared_by_two_villages_is_warned_as_two_households():
    """The roster gives 户编号 A to 赵七 of 夹沟镇郑楼村 too (Excel's 15 digits, or a slip). Each
    village's persons are a household (`split_shared_households`): M1 and M2 of 张三 and of 赵七
    are two warnings, each in its own township, naming its own persons, M2 weighing each
    household's own income; 张三's keeps the 预警编号 of household A."""
    from pipelines.reference import split_shared_households

    zhao = pl.DataFrame({"person_id": ["A-03"], "household_id": ["A"], "township": ["夹沟镇"], "village": ["郑楼村"],
                         "group": ["3组"], "name": ["赵七"], "id_number": ["341302198001011232"], "relation": ["户主"],
                         "household_size": [1], "income_per_capita": [8000.0], "household_type": ["监测户"],
                         "phone": ["13800000001"]})
    roster = split_shared_households(pl.concat([ROSTER, zhao]))
    settlements = med(("A-01", "张*", None, 6000.0), ("A-03", "赵*", None, 6000.0))
    sig = run_rules({"med_settlement": settlements[0]}, settlements[1], roster, CFG, P)
    w, _ = assign_warnings(sig, roster, P, None, CFG)
    by = {r["warning_id"]: r for r in w.group_by("warning_id").agg(
        pl.col("household_id", "township").first(), pl.col("rule").sort(),
        pl.col("person_ids").list.explode(keep_nulls=False, empty_as_null=False).unique().sort()).iter_rows(named=True)}
    assert sorted((r["household_id"], r["township"], r["rule"], r["person_ids"]) for r in by.values()) == [
        ("A", "大店镇", ["M1", "M2"], ["A-01"]), ("A@夹沟镇郑楼村", "夹沟镇", ["M1", "M2"], ["A-03"])]
    assert "人均 8,000 元 × 1 人" in fired(sig, "M2").filter(pl.col("township") == "夹沟镇")["basis"].item()
    alone = assign_warnings(run({"med_settlement": med(("A-01", "张*", None, 6000.0))}), ROSTER, P, None, CFG)[0]
    assert alone["warning_id"][0] in by


@pytest.mark.parametrize("second,fires", [(5000.0, True), (4999.99, False)])
def test_m3_lead_groups_masked_id_variants(second, fires):
    sig = run({"med_settlement": med((None, "赵*", "341302********5678", 15000.0),
                                     (None, "赵 *", "'３４１３０２＊＊＊＊＊＊＊＊５６７８", second / 2),
                                     (None, "赵●", "“341302########5678”", second / 2),  # another system's masks
                                     (None, "钱*", "341302********5678", 10.0))})
    m3 = fired(sig, "M3")
    assert m3.height == int(fires)
    if fires:
        assert m3["household_id"][0] is None and m3["township"][0] is None
        assert re.fullmatch(r"L[0-9a-f]{12}", m3["lead_key"][0]) and m3["lead_name"][0] == "赵*"
        assert sorted(m3["record_ids"][0].to_list()) == ["JS0", "JS1", "JS2"]
        w, _ = assign_warnings(sig, ROSTER, P, None, CFG)
        Warning.validate(w)
        assert w.filter(pl.col("rule") == "M3")["household_id"][0] is None


@pytest.mark.parametrize("other,fires", [("张*敏", True), ("张**", True), ("张红敏", False), ("李*敏", False),
                                         ("张*", False)])  # (a name of another length)
def test_m3_a_masked_name_under_the_same_id_adds_to_the_one_whole_name(other, fires):
    """Off-roster settlements under one ID text: a masked name fitting the only whole name shown
    there (张*敏 / 张** for 张妹敏) is that person's, and their sums add up; another whole name or
    a name that does not fit stays apart."""
    sig = run({"med_settlement": med((None, "张妹敏", "341323********5108", 7612.24),
                                     (None, other, "341323********5108", 13247.19))})
    m3 = fired(sig, "M3")
    assert m3.height == int(fires), m3
    if fires:
        assert m3["lead_name"][0] == "张妹敏" and sorted(m3["record_ids"][0].to_list()) == ["JS0", "JS1"]
        assert "20,859.43" in m3["basis"][0]


@pytest.mark.parametrize("second,fires", [
    ("341323********5108", True), ("341***********5108", True), ("******19770502****", True),
    ("341323********5109", False), ("******1977050*5108", False)])  # (neither block shown whole)
def test_m3_a_masked_id_adds_to_the_one_whole_id_of_the_same_name(second, fires):
    """Off-roster settlements of one whole name under a whole ID and a masked ID that fits it
    (another hospital's mask) are one person's; a masked ID that does not fit stays apart, and
    so does one that fits two whole IDs of the name."""
    sig = run({"med_settlement": med((None, "张妹敏", "341323197705025108", 12000.0),
                                     (None, "张妹敏", second, 9000.0),
                                     (None, "李四", "341323********5108", 9000.0))})
    m3 = fired(sig, "M3")
    assert m3.height == int(fires), m3
    if fires:
        assert sorted(m3["record_ids"][0].to_list()) == ["JS0", "JS1"] and "21,000" in m3["basis"][0]
    other = "".join("9" if m == "*" and f != "9" else "8" if m == "*" else m  # another whole ID it fits
                    for m, f in zip(second, "341323197705025108"))
    twice = run({"med_settlement": med((None, "张妹敏", "341323197705025108", 12000.0),
                                       (None, "张妹敏", other, 1.0),
                                       (None, "张妹敏", second, 9000.0))})
    assert fired(twice, "M3").is_empty()


def test_m3_a_name_written_without_its_dot_adds_to_the_dotted_one():
    """An off-roster person's settlements from hospitals writing the name 阿不都热合曼·买买提, 阿不都热合曼
    买买提 (a space for the dot) or 阿不都热合曼买买提: one name (the matcher compares them so), so
    one lead whose sums add up; each alone stayed under 20,000 and M3 warned no one. A name never
    written with a dot keeps its own lead."""
    rows = [(None, "阿不都热合曼·买买提", "653222197302097800", 9000.0), (None, "阿不都热合曼 买买提", "653222197302097800", 6000.0),
            (None, "阿不都热合曼买买提", "653222********7800", 5400.0), (None, "阿不都热合曼-买买提", "653222197302097800", 100.0)]
    m3 = fired(run({"med_settlement": med(*rows)}), "M3")
    assert m3.height == 1, m3
    assert sorted(m3["record_ids"][0].to_list()) == ["JS0", "JS1", "JS2", "JS3"] and "20,500" in m3["basis"][0]
    assert m3["lead_name"][0] == "阿不都热合曼·买买提"
    alone = fired(run({"med_settlement": med(*rows[1:3], (None, "阿不都热合曼买买提", "653222197302097800", 9000.0))}), "M3")
    assert alone.height == 1 and alone["lead_name"][0] == "阿不都热合曼买买提"


@pytest.mark.parametrize("masked_name", ["张*敏", "张**"])
def test_m3_a_masked_name_and_id_add_to_the_whole_id_their_whole_name_leads_to(masked_name):
    """A masked name under a masked ID (张*敏 341323********5108) whose ID text shows one whole name
    (张妹敏), which in turn fits one whole ID of that name: all three are one person's, whichever
    way the hospitals masked them; without the whole name there the masked one stays apart."""
    rows = [(None, "张妹敏", "341323197705025108", 12000.0), (None, "张妹敏", "341323********5108", 5000.0),
            (None, masked_name, "341323********5108", 4000.0)]
    m3 = fired(run({"med_settlement": med(*rows)}), "M3")
    assert m3.height == 1, m3
    assert sorted(m3["record_ids"][0].to_list()) == ["JS0", "JS1", "JS2"] and "21,000" in m3["basis"][0]
    apart = fired(run({"med_settlement": med(rows[0], (None, "张妹敏", "341323********5109", 5000.0), rows[2])}), "M3")
    assert apart.is_empty(), apart


def test_whole_ids_found_by_their_shown_characters_are_those_of_every_pair_compared():
    """`_fitting_whole_ids` (an equi-join per mask pattern) pairs a masked ID with exactly the
    whole IDs the definition names: the same name, every shown character equal, the masked ID
    showing its first 3 characters or its whole birth date (where a whole ID is looked for)."""
    rng = random.Random(7)
    names = ["张妹敏", "李四", "王五", "Ａ"]
    whole = [(rng.choice(names), "".join(rng.choice("0123") for _ in range(17)) + rng.choice("1X"))
             for _ in range(400)]
    patterns = ["111111********1111", "111***********1111", "1111**********1111", "11111111111111****",
                "******11111111****", "******1111111*1111", "*11111********1111", "******************"]
    masked = []
    for _ in range(600):
        name, number = rng.choice(whole)
        number = list(number)
        if rng.random() < 0.3:  # another person's digit
            number[rng.randrange(18)] = rng.choice("0123")
        pattern = rng.choice(patterns + ["".join(rng.choice("1*") for _ in range(18))])
        masked.append((rng.choice([name, *names]), "".join(c if k == "1" else "*" for c, k in zip(number, pattern))))
    masked = sorted(set(masked))
    full = pl.DataFrame(sorted(set(whole)), schema=["_name", "_full"], orient="row")
    got = _fitting_whole_ids(pl.DataFrame(masked, schema=["_name", "_idn"], orient="row"), full)
    looked = lambda m: "*" not in m[:3] or "*" not in m[6:14]  # noqa: E731
    expected = sorted((m, n, f) for n, m in masked for n2, f in set(whole)
                      if n == n2 and looked(m) and all(a in ("*", b) for a, b in zip(m, f)))
    assert sorted(got.select("_idn", "_name", "_full").iter_rows()) == expected
    assert len(expected) > 50



def test_lead_keys_over_distinct_pairs_are_those_of_the_rows():
    """A lead's key depends on the other leads' rows only through the distinct ID texts and names
    they show: `lead_keys` over a year's distinct (id_raw, name) gives each row the key
    `_records` gives it among all the rows, so the year need not be carried row by row."""
    rng = random.Random(11)
    persons = [("341323197705025108", "张妹敏"), ("341302196903317777", "吴国建"), ("342223195208089218", "郭建金"),
               ("342223195208089218", "郭建"), ("341302196903317778", "吴国建")]
    id_masks = [lambda i: i, lambda i: i[:6] + "*" * 8 + i[14:], lambda i: i[:3] + "*" * 11 + i[14:],
                lambda i: "*" * 6 + i[6:14] + "*" * 4, lambda i: i[:6] + "＊" * 8 + i[14:], lambda i: None]
    name_masks = [lambda n: n, lambda n: n[0] + "*" * (len(n) - 1), lambda n: n[0] + "*" + n[2:],
                  lambda n: "*" + n[1:], lambda n: " ".join(n), lambda n: None]

    def row(i):
        number, name = rng.choice(persons)
        return dict(record_id=f"JS{i}", id_raw=rng.choice(id_masks)(number), name=rng.choice(name_masks)(name),
                    decision=rng.choice(["unmatched", "unmatched", None, "review"]))
    rows = pl.DataFrame([row(i) for i in range(400)],
                        schema_overrides={"id_raw": pl.Utf8, "name": pl.Utf8, "decision": pl.Utf8})
    d = RuleInputs({}, rows.head(0).select("record_id", "decision"), ROSTER, P)
    by_rows = _records(d, rows.with_columns(person_id=pl.lit(None, pl.Utf8), kind=pl.lit("med_settlement")))
    leads = rows.filter(pl.col("decision").is_null() | (pl.col("decision") == "unmatched"))
    keys = lead_keys(leads.select("id_raw", "name").unique())
    by_pairs = leads.join(keys, on=["id_raw", "name"], how="left", nulls_equal=True).select(
        "record_id", lead_key=pl.coalesce("lead_key", "#" + pl.col("record_id")), lead_name="lead_name")
    assert by_rows.filter("lead").select(by_pairs.columns).sort("record_id").equals(by_pairs.sort("record_id"))
    filled = by_pairs.join(leads, on="record_id").filter(  # (whole names and IDs filled in: both ways)
        pl.col("name").str.contains("*", literal=True) & ~pl.col("lead_name").str.contains("*", literal=True)
        | pl.col("id_raw").str.contains("*", literal=True) & ~pl.col("lead_key").str.contains(r"\*|＊"))
    assert filled.height > 20 and by_pairs["lead_key"].n_unique() > 20


def enrollment(*rows):
    return frame("med_enrollment", "医保", [
        dict(record_id=f"CB{i}", pid=pid, name="x", id_raw=None, status=st, year=2026)
        for i, (pid, st) in enumerate(rows)])


LIST_OF_4 = load_config(overrides=["M4.min_roster_share=0.5"])  # 3 of this 4-person roster is a whole list


def test_m4_absent_or_suspended_and_not_without_list():
    assert fired(run({"med_settlement": med(("B-01", "王五", None, 1.0))}), "M4").is_empty()
    sig = fired(run({"med_enrollment": enrollment(("A-01", "正常参保"), ("A-02", "暂停参保"),
                                                  ("C-01", "正常参保"), (None, "正常参保"))}, LIST_OF_4), "M4")
    assert sig["household_id"].to_list() == ["A", "B"]
    assert sig["person_ids"].to_list() == [["A-02"], ["B-01"]]
    assert "暂停参保" in sig["basis"][0] and "不在医保参保名单" in sig["basis"][1]
    assert sig["record_ids"].to_list() == [["CB1"], []]


def test_m4_not_absent_when_a_plausible_candidate_of_an_unlinked_record():
    kinds = {"med_enrollment": enrollment(("A-01", "正常参保"), ("A-02", "正常参保"), ("C-01", "正常参保"))}
    assert fired(run(kinds, LIST_OF_4), "M4")["person_ids"].to_list() == [["B-01"]]
    cand = pl.DataFrame({"dept": ["医保"], "kind": ["med_enrollment"], "record_id": ["CBX"], "decision": ["unmatched"],
                         "rank": [1], "person_id": ["B-01"], "household_id": ["B"], "score": [0.3], "reason": ["x"]})
    assert fired(run(kinds, LIST_OF_4, candidates=cand), "M4").is_empty()


def test_m4_warns_a_person_only_a_weak_candidate_shows():
    """A list record left unmatched shows a roster person only as far as they are likely behind it
    (`shown_min_p`): an off-roster *英 one slip from an uninsured person's ID, holding her at p 0.12,
    left her unwarned. Below the setting she is warned; at or above it she is not, nor when the
    record is in review with her (its link, or any candidate of it: an answer settles it)."""
    kinds = {"med_enrollment": enrollment(("A-01", "正常参保"), ("A-02", "正常参保"), ("C-01", "正常参保"))}
    cfg = load_config(overrides=["M4.min_roster_share=0.5", "M4.shown_min_p=0.2"])

    def cand(score, decision="unmatched"):
        return pl.DataFrame({"dept": ["医保"], "kind": ["med_enrollment"], "record_id": ["CBX"], "decision": [decision],
                             "rank": [1], "person_id": ["B-01"], "household_id": ["B"], "score": [score], "reason": ["x"]})
    assert fired(run(kinds, cfg, candidates=cand(0.12)), "M4")["person_ids"].to_list() == [["B-01"]]
    assert fired(run(kinds, LIST_OF_4, candidates=cand(0.12)), "M4")["person_ids"].to_list() == [["B-01"]]  # default
    assert fired(run(kinds, cfg, candidates=cand(0.2)), "M4").is_empty()
    df, lk = kinds["med_enrollment"]
    review = pl.concat([lk, lk.head(1).with_columns(record_id=pl.lit("CBX"), decision=pl.lit("review"),
                                                    person_id=pl.lit("B-01"), household_id=pl.lit("B"))])
    assert fired(run_rules({"med_enrollment": df}, review, ROSTER, cfg, P, candidates=cand(0.12, "review")),
                 "M4").is_empty()
    assert fired(run(kinds, cfg, candidates=cand(0.004, "review")), "M4").is_empty()  # another's link, she its 2nd
    # a row set aside shows whom it shows (no probability: `identify.shown_on_lists`)
    aside = pl.DataFrame({"kind": ["med_enrollment"], "record_id": ["CBY"], "person_id": ["B-01"]})
    assert fired(run(kinds, cfg, candidates=pl.concat([cand(0.12), aside], how="diagonal_relaxed")), "M4").is_empty()


def test_m4_calls_no_one_absent_from_a_list_that_shows_too_little_of_the_roster():
    """A list showing 2 of the 4 roster persons (under `min_roster_share`) is a partial delivery:
    the two it does not show are not warned as absent, a suspended one still is, and the
    data-quality report is told why."""
    kinds = {"med_enrollment": enrollment(("A-01", "正常参保"), ("A-02", "暂停参保"))}
    sig = fired(run(kinds, LIST_OF_4), "M4")
    assert sig["person_ids"].to_list() == [["A-02"], ["B-01"], ["C-01"]]  # at 50% the list is taken as whole
    short = load_config(overrides=["M4.min_roster_share=0.8"])
    sig = fired(run(kinds, short), "M4")
    assert sig["person_ids"].to_list() == [["A-02"]] and "暂停参保" in sig["basis"][0]
    df, lk = kinds["med_enrollment"]
    notes = held_back({"med_enrollment": df}, lk, ROSTER, short, P)
    assert [n for n, _ in notes] == ["M4"] and "50%" in notes[0][1]
    assert held_back({"med_enrollment": df}, lk, ROSTER, LIST_OF_4, P) == []


def test_m4_reads_the_period_s_year_of_a_list_over_two_years():
    """A 参保名单 over 2026 and 2027 (each person's row of the period's year kept, else of their
    latest: `validate.supersede`): in January 2027 a person shown only under 2026 is not insured
    now (warned, saying so), a 2026 row's 终止参保 is last year's news (not warned as such), a
    2027 row is; in October 2026 the 2027 row of a person enrolled ahead counts. A list of last
    year's rows only is held back as not yet of the period's year, not as a partial delivery."""
    def listing(*rows):
        return frame("med_enrollment", "医保", [dict(record_id=f"CB{i}", pid=pid, name="x", id_raw=None, status=st, year=y)
                                                for i, (pid, st, y) in enumerate(rows)])
    kinds = {"med_enrollment": listing(("A-01", "正常参保", 2027), ("A-02", "终止参保", 2026),
                                       ("B-01", "正常参保", 2026), ("C-01", "暂停参保", 2027))}
    jan = fired(run_rules(*_unpack(kinds), ROSTER, LIST_OF_4, "2027-01"), "M4")
    assert jan["person_ids"].to_list() == [["A-02"], ["B-01"], ["C-01"]]
    assert jan["basis"].to_list() == [f"{n} 在医保参保名单（2027-01）中无 2027 年度的参保行（只有往年的）" for n in ("李四", "王五")] + [
        "赵六 参保状态为暂停参保（2027年度）"]
    october = fired(run_rules(*_unpack(kinds), ROSTER, LIST_OF_4, "2026-10"), "M4")
    assert october["person_ids"].to_list() == [["A-02"], ["C-01"]]  # 终止 in 2026; 暂停 next year, said as such
    stale = {"med_enrollment": listing(*[(p, "正常参保", 2026) for p in ("A-01", "A-02", "B-01", "C-01")])}
    assert fired(run_rules(*_unpack(stale), ROSTER, LIST_OF_4, "2027-01"), "M4").is_empty()
    df, lk = stale["med_enrollment"]
    (rule, why), = held_back({"med_enrollment": df}, lk, ROSTER, LIST_OF_4, "2027-01")
    assert rule == "M4" and "2027 年度" in why and "尚未更新到本年度" in why


def _unpack(kinds: dict) -> tuple[dict, pl.DataFrame]:
    return {k: df for k, (df, _) in kinds.items()}, pl.concat([lk for _, lk in kinds.values()])


def test_rules_of_a_delivered_department_without_usable_rows_are_said_not_to_have_run():
    """医保 sent settlements but no 参保名单 (or one set aside whole): M4 did not run, and the
    report must say so; a department that sent nothing is reported as missing elsewhere."""
    df, lk = enrollment(("A-01", "正常参保"))
    notes = dict(held_back({"med_enrollment": df.clear()}, lk, ROSTER, LIST_OF_4, P, delivered={"医保"}))
    assert "M4" in notes and "rule not run" in notes["M4"]
    assert "M1" in notes  # no settlements either
    assert "H1" not in notes  # 住建 sent nothing: not this note's business
    ran = dict(held_back({"med_enrollment": df}, lk, ROSTER, LIST_OF_4, P, delivered={"医保"}))
    assert "rule not run" not in ran.get("M4", "")  # a list of one row ran (as a partial delivery)


def test_a_rule_not_run_for_want_of_usable_rows_says_which_cause_it_was():
    """Its line listed three possible causes (文件未报送、被整体搁置或没有数据行) when the run knows
    which (`no_rows_why`, from the rows set aside): 医保's 参保名单 not sent beside its
    settlements, sent as a header alone, its every row set aside, or a file of the folder set
    aside whole (its header fits no kind)."""
    from pipelines.validate import REJECTED_SCHEMA, TEMPLATE_ROW

    df, lk = enrollment(("A-01", "正常参保"))

    def why(extracts, rejected=None):
        return dict(held_back(extracts, lk, ROSTER, LIST_OF_4, P, delivered={"医保"}, rejected=rejected))["M4"]

    def aside(*rows):
        return pl.DataFrame([dict(zip(("dept", "kind", "file", "line", "reason"), r)) for r in rows],
                            schema=REJECTED_SCHEMA)
    sent = {"med_settlement": pl.DataFrame()}
    assert why(sent, aside()) == ("本期没有可用的参保名单数据行（未收到其文件，医保 的其他文件已收到），规则未运行 no usable "
                         "med_enrollment rows this period (its file not sent; 医保's other files were): rule not run")
    # (its template's example row alone is no record set aside: the file is empty)
    empty = aside(("医保", "med_enrollment", "医保/参保.csv", 2, TEMPLATE_ROW))
    assert "（文件只有表头、没有数据行）" in why(sent | {"med_enrollment": df.clear()}, empty)
    rows = aside(("医保", "med_enrollment", "医保/参保.csv", 2, "日期无法解析"), ("医保", "med_enrollment", "医保/参保.csv", 3, "x"),
                 ("民政", "med_enrollment", "民政/参保.csv", 2, "x"))
    assert "（文件中 2 行全部被搁置，见搁置行及原因.csv）" in why(sent | {"med_enrollment": df.clear()}, rows)
    whole = aside(("医保", None, "医保/参保.xls", None, "请另存为 .xlsx"), ("医保", None, "医保/参保.xls", None, "x"))
    said = why(sent, whole)
    assert "（文件被整体搁置：医保/参保.xls）" in said and "set aside whole: 医保/参保.xls" in said
    assert "文件未报送、被整体搁置或没有数据行" not in said


def test_h1_grades_and_renovation():
    rows = [("A-01", "C", "未改造"), ("B-01", "D", "改造中"), ("C-01", "C", "已改造"), (None, "D", "未改造")]
    sig = run({"housing": frame("housing", "住建", [
        dict(record_id=f"JD{i}", pid=p, name="x", id_raw=None, township="大店镇", village="v", group=None,
             grade=g, assess_date=D(2026, 10, 1), renovation=r) for i, (p, g, r) in enumerate(rows)])})
    h1 = fired(sig, "H1")
    assert h1["household_id"].to_list() == ["A", "B"] and h1["severity"].to_list() == ["中", "高"]
    assert "C 级" in h1["basis"][0]


def test_e1_e2():
    rows = [("A-01", "初中", "辍学", None), ("A-02", "高中", "休学", 9999.99), ("B-01", "高校", "在读", 10000.0),
            ("C-01", "学前", "辍学", None)]
    sig = run({"education": frame("education", "教育", [
        dict(record_id=f"G{i}", pid=p, name="x", id_raw=None, school="一中", stage=s, status=st,
             change_date=D(2026, 10, 1), annual_cost=c) for i, (p, s, st, c) in enumerate(rows)])})
    assert fired(sig, "E1")["person_ids"].to_list() == [["A-01"]]
    assert fired(sig, "E2")["household_id"].to_list() == ["B"]
    assert "10,000.00 元 ≥ 10,000 元" in fired(sig, "E2")["basis"][0]


def test_w1_village_group_and_resolved():
    water = pl.DataFrame({
        "dept": "水利", "kind": "water", "record_id": ["GS1", "GS2", "GS3", "GS4"],
        "township": ["大店镇", "大店镇", "夹沟镇", "夹沟镇"], "village": ["韩湖村", "吕台村", "郑楼村", "郑楼村"],
        "group": [None, "9组", None, None], "problem_type": ["有管无水", "水质较差", "高价买水", "频繁停水断水"],
        "found_date": [D(2026, 10, 1)] * 4, "resolved_date": [None, None, D(2026, 10, 9), D(2026, 12, 20)],
    })
    places = water.select("record_id", "township", "village", "group", decision=pl.lit("matched"))
    links = pl.DataFrame({"dept": [], "kind": [], "record_id": [], "decision": [], "person_id": []},
                         schema={c: pl.Utf8 for c in ["dept", "kind", "record_id", "decision", "person_id"]})
    sig = run_rules({"water": water}, links, ROSTER, CFG, P, water_places=places)
    w1 = fired(sig, "W1")
    # B is in 2组, not 9组; C's first problem is resolved, its second is to be by December (a plan)
    assert w1.sort("household_id")["household_id"].to_list() == ["A", "C"]
    assert "频繁停水断水" in w1.filter(pl.col("household_id") == "C")["basis"][0]
    assert "有管无水" in w1["basis"][0] and w1["record_ids"][0].to_list() == ["GS1"]
    assert fired(run_rules({}, links, ROSTER, CFG, P, water_places=places), "W1").is_empty()
    # a work order about several groups (`resolve_places` joins those on the roster by 、) reaches each
    several = places.with_columns(group=pl.Series([None, "9组、2组", None, None]))
    assert sorted(fired(run_rules({"water": water}, links, ROSTER, CFG, P, water_places=several), "W1")["household_id"]) == [
        "A", "B", "C"]


def test_w1_reaches_every_household_of_a_village_or_group_the_roster_spells_two_ways():
    """A roster whose persons write one village or group two ways (吕台村 / 吕台村委会, 2组 / 二组:
    townships' files merged into one 底册): `resolve_places` names the place as the roster spells
    it first, and W1 found only the households written so — the others' unsafe water was never
    listed, with nothing said. Places are compared as the matcher compares them (suffixes aside)."""
    roster = pl.concat([ROSTER, ROSTER.filter(pl.col("household_id") == "B").with_columns(
        person_id=pl.lit("D-01"), household_id=pl.lit("D"), village=pl.lit("吕台村委会"), group=pl.lit("二组"))])
    water = pl.DataFrame({"dept": "水利", "kind": "water", "record_id": ["GS1", "GS2"], "township": ["大店镇"] * 2,
                          "village": ["吕台村"] * 2, "group": [None, "2组"], "problem_type": ["有管无水", "水质较差"],
                          "found_date": [D(2026, 10, 1)] * 2, "resolved_date": [None, None]})
    places = water.select("record_id", "township", "village", "group", decision=pl.lit("matched"))
    links = pl.DataFrame(schema={c: pl.Utf8 for c in ["dept", "kind", "record_id", "decision", "person_id"]})
    w1 = fired(run_rules({"water": water}, links, roster, CFG, P, water_places=places), "W1").sort("household_id")
    assert w1["household_id"].to_list() == ["B", "D"]
    assert all(r.to_list() == ["GS1", "GS2"] for r in w1["record_ids"])
    assert w1.filter(pl.col("household_id") == "D")["basis"][0].startswith("吕台村委会")  # (as its own row says)


def civil(*rows):
    return frame("civil", "民政", [
        dict(record_id=f"MZ{i}", pid=p, name=n, id_raw=i_, township=t, village="某村", category=c,
             change_type=ct, change_date=d, monthly_amount=500.0)
        for i, (p, n, i_, t, c, ct, d) in enumerate(rows)])


@pytest.mark.parametrize("death,fires", [(D(2026, 10, 5), True), (D(2026, 10, 6), False)])
def test_c1_age_boundary(death, fires):
    # 李四 born 1965-10-06: 60 on 2026-10-05, 61 on 2026-10-06
    sig = run({"civil": civil(("A-02", "李四", None, None, "低保", "死亡注销", death))})
    assert fired(sig, "C1").height == int(fires)
    if fires:
        assert "60岁" in fired(sig, "C1")["basis"][0]


def test_c2_roster_and_lead():
    sig = fired(run({"civil": civil(
        ("B-01", "王五", None, "大店镇", "临时救助", "新增", D(2026, 10, 2)),
        (None, "孙七", "341302********9999", "夹沟", "特困", "新增", D(2026, 10, 2)),
        (None, "周八", "341302********8888", "夹沟", "低保", "新增", D(2026, 10, 2)),
        ("A-01", "张三", None, None, "临时救助", "停发", D(2026, 10, 2)))}), "C2")
    assert sig["household_id"].to_list() == ["B", None]
    lead = sig.row(1, named=True)
    assert lead["township"] == "夹沟镇" and lead["lead_name"] == "孙七" and lead["lead_village"] == "某村"


def test_d1_roster_severity_and_severe_leads_only():
    rows = [("A-01", "三级"), ("B-01", "一级"), (None, "三级"), (None, "二级")]
    sig = fired(run({"disability": frame("disability", "残联", [
        dict(record_id=f"3413021980010{i}12341{i}", pid=p, name=f"人{i}", id_raw=f"3413021980010{i}12341{i}",
             disability_type="肢体", level=lv, cert_type="新办", issue_date=D(2026, 10, 2), township="夹沟镇")
        for i, (p, lv) in enumerate(rows)])}), "D1")
    assert sig["household_id"].to_list() == ["A", "B", None]
    assert sig["severity"].to_list() == ["中", "高", "高"]
    assert sig["township"][2] == "夹沟镇" and sig["lead_name"][2] == "人3"


@pytest.mark.parametrize("pid,event,months,fires", [
    ("B-01", "失业登记", 0, True), ("B-01", "停止缴费", 2, False), ("B-01", "停止缴费", 3, True),
    ("B-01", "就业登记", 0, False), ("C-01", "返乡登记", 0, True), (None, "失业登记", 0, False),
])
def test_r1(pid, event, months, fires):
    sig = run({"hr": frame("hr", "人社", [dict(record_id="RS1", pid=pid, name="x", id_raw=None, event_type=event,
                                                event_date=D(2026, 10, 7), months_unpaid=months)])})
    assert fired(sig, "R1").height == int(fires)


def test_r1_age_limits():
    ev = lambda pid, d: frame("hr", "人社", [dict(record_id="RS1", pid=pid, name="x", id_raw=None,  # noqa: E731
                                                  event_type="失业登记", event_date=d, months_unpaid=0)])
    assert fired(run({"hr": ev("C-01", D(2025, 12, 31))}), "R1").is_empty()  # 15
    assert fired(run({"hr": ev("C-01", D(2026, 1, 1))}), "R1").height == 1  # 16


@pytest.mark.parametrize("pid,dtype,loss,risk", [
    ("C-01", "洪涝", 10000.0, "因自然灾害"), ("C-01", "洪涝", 9999.0, None),  # income 50,000: share no help
    ("A-01", "冰雹", 3000.0, "因自然灾害"), ("A-01", "冰雹", 2999.0, None),  # 30% of 10,000
    ("A-01", "产业项目失败", 12000.0, "因产业项目失败"), (None, "洪涝", 50000.0, None),
])
def test_a1(pid, dtype, loss, risk):
    sig = fired(run({"agri": frame("agri", "农业农村", [dict(
        record_id="BA1", pid=pid, name="x", id_raw=None, township="t", village="v", disaster_type=dtype,
        loss_amount=loss, occur_date=D(2026, 10, 1))])}), "A1")
    assert sig["risk_type"].to_list() == ([risk] if risk else [])


def hist(signal, status, verified_on=None, severity="中", period="2026-09", rule="M1"):
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    wid = assign_warnings(sig, ROSTER, period, None, CFG)[0]["warning_id"][0]
    return pl.DataFrame({"warning_id": [wid], "household_id": ["B"], "rule": [rule], "period": [period],
                         "signal": [signal], "severity": [severity], "status": [status],
                         "verified_on": [verified_on]}, schema_overrides={"verified_on": pl.Date})


@pytest.mark.parametrize("h,suppressed", [
    (hist(6000.0, "open"), True),
    (hist(6000.0, "overdue"), True),
    (hist(6000.0, "verified_true", D(2026, 9, 1)), True),  # 60 days before 2026-10-31
    (hist(6000.0, "verified_false", D(2026, 7, 1)), False),  # 122 days
    (hist(6000.0, "open", rule="M2"), False),  # another rule
    (hist(3000.0, "open"), False),  # doubled -> escalation
    (hist(6000.0, "open", period="2026-10"), False),  # same period = re-run, not history
])
def test_suppression(h, suppressed):
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    w, sup = assign_warnings(sig, ROSTER, P, h, CFG)
    assert (sup.height, w.height) == ((1, 0) if suppressed else (0, 1))
    if suppressed:
        assert sup["suppressed_by"][0] == h["warning_id"][0]


def test_a_household_numbered_by_an_id_gets_a_keyed_warning_id_and_its_plain_hash_repeat_is_known():
    """A 户编号 that is the head's 证件号码: its 预警编号 is an HMAC under the county's key (a plain
    sha1 of it is undone from the masked ID on the list row by trying the birth dates), another key
    another id; an H-numbered household's stays the plain hash. A warning issued with the plain
    hash before the key was kept still suppresses its repeat (`spelled_now` gives it the keyed suffix)."""
    from pipelines.rules import keyed_suffix, spelled_now, warning_suffix

    idn = ROSTER.filter(pl.col("person_id") == "B-01")["id_number"][0]
    roster = ROSTER.with_columns(household_id=pl.when(pl.col("household_id") == "B").then(pl.lit(idn))
                                 .otherwise("household_id"))
    plain = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    sig = plain.with_columns(household_id=pl.lit(idn))
    w = assign_warnings(sig, roster, P, None, CFG, secret="k1")[0]
    assert w["warning_id"][0] == f"YJ202610-{keyed_suffix(idn, '因病', 'k1')}"
    assert w["warning_id"][0] != f"YJ202610-{warning_suffix(idn, '因病')}"
    assert assign_warnings(sig, roster, P, None, CFG, secret="k2")[0]["warning_id"][0] != w["warning_id"][0]
    assert assign_warnings(plain, ROSTER, P, None, CFG, secret="k1")[0]["warning_id"].equals(
        assign_warnings(plain, ROSTER, P, None, CFG)[0]["warning_id"])
    before = assign_warnings(sig, roster, "2026-09", None, CFG)[0]["warning_id"][0]  # (no key yet: sha1)
    h = pl.DataFrame({"warning_id": [before], "household_id": [idn], "risk_type": ["因病"], "rule": ["M1"],
                      "period": ["2026-09"], "signal": [6000.0], "severity": ["中"], "status": ["open"],
                      "verified_on": [None]}, schema_overrides={"verified_on": pl.Date})
    assert assign_warnings(sig, roster, P, h, CFG, secret="k1")[0].height == 1  # (the plain suffix unknown)
    w, sup = assign_warnings(sig, roster, P, spelled_now(h, roster, "k1"), CFG, secret="k1")
    assert (w.height, sup.height, sup["suppressed_by"][0]) == (0, 1, before)


def _id_from_list(row: dict) -> str | None:
    """What anyone holding a township list can do with a lead's row: its name (户主姓名) and its ID
    masked in 来源记录编号 (first 6, last 4 of 18) leave the birth date open; try every date of a
    century against the 预警编号 as `lead_hash` and `warning_suffix` make it from the ID."""
    from pipelines.rules import lead_hash, warning_suffix

    head, tail = re.search(r"(\d{6})\*{8}(\d{3}[\dX])", row["来源记录编号"]).groups()
    suffix = row["预警编号"].split("-")[1]
    day = D(1926, 1, 1)
    while day <= D(2026, 12, 31):
        idn = f"{head}{day:%Y%m%d}{tail}"
        if warning_suffix(lead_hash(f"{idn}|{row['户主姓名']}"), row["风险类型"]) == suffix:
            return idn
        day += dt.timedelta(days=1)
    return None


def test_a_lead_s_warning_id_does_not_give_its_id_back_from_the_township_list():
    """A lead (no roster person) whose department sent a whole ID: the township's list shows its
    name and the ID masked (a 残疾人证号 is the ID + 2 digits), and its 预警编号 was the plain sha1
    of `lead_hash`(ID|name): trying the birth dates gave the ID back. Keyed under the county's key
    (`keyed_suffix`, as the run passes it) it does not; without a key, sha1 as before."""
    from pipelines.township import township_rows

    idn = "341302195603120417"
    sig = fired(run({"disability": frame("disability", "残联", [dict(
        record_id=f"{idn}62", pid=None, name="钱 多多", id_raw=f"{idn}62", disability_type="精神", level="二级",
        cert_type="新办", issue_date=D(2026, 10, 6), township="夹沟镇")])}), "D1")

    def listed(secret):
        w = assign_warnings(sig, ROSTER, P, None, CFG, secret=secret)[0]
        rows = township_rows(w, ROSTER, None, D(2026, 11, 2), D(2026, 11, 5), ("户主",))
        assert rows.height == 1 and rows["户类型"][0] == "新增线索" and idn not in str(rows.row(0))
        return rows.row(0, named=True)

    assert listed(None)["来源记录编号"] == "341302********041762" and _id_from_list(listed(None)) == idn
    assert _id_from_list(listed("k1")) is None
    assert listed("k1")["预警编号"] == listed("k1")["预警编号"] != listed("k2")["预警编号"]


def test_a_lead_warned_with_the_plain_hash_before_the_key_is_known_as_the_same_warning():
    """A lead's 预警编号 is keyed (`keyed_suffix` of its `lead_key`): the same key, the same id in
    every period. Its warning stored by a run before the key was kept (the plain sha1) is known
    through `spelled_now`: its repeat suppressed by it, an escalation naming it."""
    from pipelines.rules import keyed_suffix, spelled_now, warning_suffix

    def m3(amount):
        return fired(run({"med_settlement": med((None, "周磊超", "341302198807150021", amount))}), "M3")

    sig = m3(25000.0)
    lead = sig["lead_key"][0]
    assert lead.startswith("L") and sig["household_id"][0] is None
    w = assign_warnings(sig, ROSTER, P, None, CFG, secret="k1")[0]
    assert w["warning_id"].to_list() == [f"YJ202610-{keyed_suffix(lead, '因病', 'k1')}"]
    assert assign_warnings(sig, ROSTER, "2026-12", None, CFG, secret="k1")[0]["warning_id"][0][9:] == w["warning_id"][0][9:]
    plain = assign_warnings(sig, ROSTER, P, None, CFG)[0]  # (a pure-function caller, no key: as before)
    assert plain["warning_id"].to_list() == [f"YJ202610-{warning_suffix(lead, '因病')}"]

    def stored(signal):  # (the warehouse's row of a run before the key was kept, its status now)
        return assign_warnings(m3(signal), ROSTER, "2026-09", None, CFG)[0].with_columns(
            period=pl.lit("2026-09"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))

    h = stored(25000.0)
    before = h["warning_id"][0]
    assert assign_warnings(sig, ROSTER, P, h, CFG, secret="k1")[0].height == 1  # (the plain suffix unknown)
    w, sup = assign_warnings(sig, ROSTER, P, spelled_now(h, ROSTER, "k1"), CFG, secret="k1")
    assert (w.height, sup.height, sup["suppressed_by"][0]) == (0, 1, before)
    h = stored(20000.0)  # (45,000 ≥ 2 x 20,000: an escalation)
    w, sup = assign_warnings(m3(45000.0), ROSTER, P, spelled_now(h, ROSTER, "k1"), CFG, secret="k1")
    assert sup.is_empty() and w["escalates"].to_list() == [h["warning_id"][0]] and h["warning_id"][0] in w["basis"][0]
    assert w["warning_id"][0] == f"YJ202610-{keyed_suffix(lead, '因病', 'k1')}"


def test_a_re_run_keeps_the_plain_hash_warning_ids_its_period_issued_before_the_key():
    """A period whose lists went out before the key was kept, run again (`issued`: the 预警编号 its
    earlier run stored): a lead (and a household numbered by an ID) keeps the 预警编号 sent, not
    withdrawn and sent again under the keyed one; one it did not issue then, and the same lead in
    another period, take the keyed one."""
    from pipelines.rules import keyed_suffix, warning_suffix

    idn = ROSTER.filter(pl.col("person_id") == "B-01")["id_number"][0]
    roster = ROSTER.with_columns(household_id=pl.when(pl.col("household_id") == "B").then(pl.lit(idn))
                                 .otherwise("household_id"))
    lead = fired(run({"med_settlement": med((None, "周磊超", "341302198807150021", 25000.0))}), "M3")
    sig = pl.concat([run({"med_settlement": med(("B-01", "王五", None, 6000.0))}).with_columns(household_id=pl.lit(idn)),
                     lead])
    plain = {k: f"YJ202610-{warning_suffix(k, '因病')}" for k in (idn, lead["lead_key"][0])}
    keyed = {k: f"YJ202610-{keyed_suffix(k, '因病', 'k1')}" for k in plain}

    def ids(period=P, issued=None):
        return set(assign_warnings(sig, roster, period, None, CFG, secret="k1", issued=issued)[0]["warning_id"])

    assert ids() == set(keyed.values())
    assert ids(issued=pl.Series(list(plain.values()))) == set(plain.values())
    assert ids(issued=pl.Series([plain[idn]])) == {plain[idn], keyed[lead["lead_key"][0]]}
    assert {w[9:] for w in ids("2026-11", pl.Series(list(plain.values())))} == {w[9:] for w in keyed.values()}


def test_escalation_by_signal_or_severity_names_earlier_warning():
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    w, _ = assign_warnings(sig, ROSTER, P, hist(3000.0, "open"), CFG)
    assert w["escalates"][0] == hist(3000.0, "open")["warning_id"][0]
    assert "升级：前次预警 YJ202609-" in w["basis"][0]
    w, sup = assign_warnings(sig, ROSTER, P, hist(5900.0, "open", severity="低"), CFG)
    assert w.height == 1 and "严重程度低" in w["basis"][0]


def _settled(*rows):
    """王五's (B-01) settlements (record_id, 结算日期, 个人自付) as linked."""
    return pl.DataFrame({"dept": "医保", "kind": "med_settlement", "record_id": [r[0] for r in rows], "name": "王五",
                         "id_raw": None, "out_of_pocket": [r[2] for r in rows], "settle_date": [r[1] for r in rows],
                         "decision": "matched", "person_id": "B-01", "household_id": "B"},
                        schema_overrides={"id_raw": pl.Utf8})


def _m1_in(period, year_so_far, new):
    """M1's warnings and suppressed repeats of `period`, whose 医保 folder holds `new` (besides the
    year's `year_so_far` delivered earlier) -> the signals."""
    links = new.select("dept", "kind", "record_id", "decision", "person_id", "household_id")
    return run_rules({"med_settlement": new.drop("decision", "person_id", "household_id")}, links, ROSTER, CFG,
                     period, ytd_settlements=pl.concat([year_so_far, new]))


DECEMBER = _settled(("JS_DEC", D(2026, 12, 10), 6000.0))


def _december(status="verified_true", verified_on=D(2027, 1, 8), stored_year=True):
    w = assign_warnings(_m1_in("2026-12", DECEMBER.clear(), DECEMBER), ROSTER, "2026-12", None, CFG)[0].filter(
        pl.col("rule") == "M1")
    assert w["signal_year"].to_list() == [2026]
    w = w.with_columns(period=pl.lit("2026-12"), status=pl.lit(status), verified_on=pl.lit(verified_on, pl.Date))
    return w if stored_year else w.drop("signal_year")  # (a warning stored before the column was)


@pytest.mark.parametrize("stored_year", [True, False])
@pytest.mark.parametrize("status,verified_on", [("verified_true", D(2027, 1, 8)), ("overdue", None)])
def test_a_new_year_s_sum_is_not_judged_against_last_year_s_warning(status, verified_on, stored_year):
    """王五 was warned in December 2026 for 2026's sum (6,000), verified in January or not yet.
    His 2027 sum reaches 5,500 in January: a new year's sum restarts from nothing, so its crossing
    is a new fact, not a repeat of December's warning 'not grown' against 6,000 (before: suppressed,
    and, a sum warning only when a settlement is new, perhaps never warned that year): raised,
    naming December's. A 补报 completing 2026's sum (7,000: not doubled) is December's repeat."""
    dec = _december(status, verified_on, stored_year)
    dec_id = dec["warning_id"][0]
    jan = _settled(("JS_JAN", D(2027, 1, 15), 5500.0))
    w, sup = assign_warnings(_m1_in("2027-01", DECEMBER, jan), ROSTER, "2027-01", dec, CFG)
    w = w.filter(pl.col("rule") == "M1")
    assert w.select("escalates", "signal", "signal_year").rows() == [(dec_id, 5500.0, 2027)] and sup.is_empty()
    assert w["basis"][0] == (f"王五 2027年累计个人自付 5,500.00 元 ≥ 5,000 元（1 笔结算）"
                             f"（新年度：前次预警 {dec_id} 据 2026 年的合计，2027 年重新累计）")
    late = _settled(("JS_DEC_2", D(2026, 12, 28), 1000.0))
    w, sup = assign_warnings(_m1_in("2027-01", DECEMBER, late), ROSTER, "2027-01", dec, CFG)
    assert w.filter(pl.col("rule") == "M1").is_empty() and sup["suppressed_by"].to_list() == [dec_id]
    assert "2026年累计个人自付 7,000.00 元" in sup["basis"][0]
    # both in January's folder: one warning of both sums, its signal the new year's
    w, _ = assign_warnings(_m1_in("2027-01", DECEMBER, pl.concat([late, jan])), ROSTER, "2027-01", dec, CFG)
    w = w.filter(pl.col("rule") == "M1")
    assert w.select("escalates", "signal", "signal_year").rows() == [(dec_id, 5500.0, 2027)]
    assert "2026年累计个人自付 7,000.00 元" in w["basis"][0] and "新年度" in w["basis"][0]


def test_a_new_year_s_warning_is_what_the_year_s_later_sums_are_judged_against():
    """January 2027's warning of 2027's sum (5,500, open) suppresses February's 2027 sum of 6,000
    (not doubled), as within any year; December's 2026 warning does not count in it."""
    dec = _december()
    jan = _settled(("JS_JAN", D(2027, 1, 15), 5500.0))
    w = assign_warnings(_m1_in("2027-01", DECEMBER, jan), ROSTER, "2027-01", dec, CFG)[0].filter(pl.col("rule") == "M1")
    history = pl.concat([dec, w.with_columns(period=pl.lit("2027-01"), status=pl.lit("open"),
                                             verified_on=pl.lit(None, pl.Date))], how="diagonal")
    feb = _settled(("JS_FEB", D(2027, 2, 3), 500.0))
    w, sup = assign_warnings(_m1_in("2027-02", pl.concat([DECEMBER, jan]), feb), ROSTER, "2027-02", history, CFG)
    assert w.filter(pl.col("rule") == "M1").is_empty()
    assert sup.filter(pl.col("rule") == "M1")["suppressed_by"].to_list() == ["YJ202701-" + dec["warning_id"][0][9:]]


def test_nothing_delivered_gives_empty_valid_warnings_and_unknown_rule_fails():
    links = pl.DataFrame(schema={c: pl.Utf8 for c in ["dept", "kind", "record_id", "decision", "person_id"]})
    w, sup = assign_warnings(run_rules({}, links, ROSTER, CFG, P), ROSTER, P, None, CFG)
    Warning.validate(w)
    assert w.is_empty() and sup.is_empty()
    from config import build_config
    raw = load_config().raw
    raw["rules"]["X9"] = dict(raw["rules"]["M1"])
    with pytest.raises(KeyError):
        run_rules({}, links, ROSTER, build_config(raw), P)
    raw["rules"]["X9"]["impl"], raw["rules"]["X9"]["threshold"] = "M1", 100
    sig = run({"med_settlement": med(("B-01", "王五", None, 150.0))}, build_config(raw))
    assert sig["rule"].to_list() == ["X9"]


def test_lead_township_spelled_as_on_the_roster_or_unplaced():
    from pipelines.rules import canonical_townships

    roster = pl.DataFrame({"township": ["桃沟乡", "大店镇"]})
    sig = pl.DataFrame({"rule": ["D1", "D1", "D1"], "township": ["桃沟", "大店镇", "外县镇"]})
    assert canonical_townships(sig, roster)["township"].to_list() == ["桃沟乡", "大店镇", None]
    # two roster townships read alike without their suffix (营许乡, 营许镇): a record naming one of
    # them whole is placed there; one writing 营许 could be either, so it is left for the county
    # (it was placed in one of them, whichever came first)
    two = pl.DataFrame({"township": ["营许乡", "营许镇"]})
    sig = pl.DataFrame({"rule": ["D1"] * 3, "township": ["营许镇", "营许乡", "营许"]})
    for roster in (two, two.reverse()):
        assert canonical_townships(sig, roster)["township"].to_list() == ["营许镇", "营许乡", None]


def test_review_impact_names_the_records_whose_answer_would_raise_a_warning():
    """Two settlements of 王五 (B) wait in review: linked to him, together with the 1,500 linked
    already they take his year past M1's 5,000 (both are named: the rules see every waiting record
    linked at once); a record whose household is warned anyway raises nothing new."""
    from pipelines.review_answers import best_guess
    from pipelines.rules import review_impact

    df, links = med(("B-01", "王五", None, 1500.0), (None, "王*", None, 4000.0), (None, "王*", None, 100.0),
                    ("A-01", "张三", None, 6000.0), (None, "张*", None, 300.0))
    links = links.with_columns(decision=pl.when(pl.col("record_id").is_in(["JS1", "JS2", "JS4"]))
                               .then(pl.lit("review")).otherwise("decision"),
                               score=pl.lit(0.9), reason=pl.lit("x"), n_candidates=pl.lit(1))
    candidates = pl.DataFrame({
        "dept": ["医保"] * 3, "kind": ["med_settlement"] * 3, "record_id": ["JS1", "JS2", "JS4"],
        "decision": ["review"] * 3, "rank": [1] * 3, "person_id": ["B-01", "B-01", "A-01"],
        "household_id": ["B", "B", "A"], "score": [0.9] * 3, "reason": ["x"] * 3, "cause": ["weak"] * 3,
        "rivals": [None] * 3}, schema_overrides={"rivals": pl.Utf8})
    signals = run_rules({"med_settlement": df}, links, ROSTER, CFG, P, candidates=candidates)
    assert fired(signals, "M1")["household_id"].to_list() == ["A"]
    got = review_impact({"med_settlement": df}, links, ROSTER, CFG, P, signals, best_guess(candidates),
                        candidates=candidates)
    assert sorted(got["record_id"]) == ["JS1", "JS2"], got
    assert got["impact"].str.starts_with("M1 因病：王五 2026年累计个人自付 5,600.00 元 ≥ 5,000 元").all()
    assert dict(got.select("record_id", pl.col("impact").str.extract("（(需同时确认：.*)）$")).iter_rows()) == {
        "JS1": "需同时确认：JS2", "JS2": "需同时确认：JS1"}
    # the household's M1 is still open from September (of 6,000): a repeat would be suppressed
    assert review_impact({"med_settlement": df}, links, ROSTER, CFG, P, signals, best_guess(candidates),
                         candidates=candidates, history=hist(6000.0, "open")).is_empty()


def test_review_impact_does_not_take_a_list_held_back_as_partial_for_a_whole_one():
    """The list shows 2 of 7 roster persons (M4 held back: a partial delivery); the rules of the
    impact see household A alone, where the waiting record (张三 暂停参保) would make it 2 of 3 —
    still the run's partial list, which calls no one absent: the impact is the suspension alone."""
    from pipelines.review_answers import best_guess
    from pipelines.rules import review_impact

    more = pl.concat([ROSTER.filter(pl.col("person_id") == "A-02").with_columns(person_id=pl.lit("A-03")),
                      *[ROSTER.filter(pl.col("person_id") == "B-01").with_columns(
                          person_id=pl.lit(f"{h}-01"), household_id=pl.lit(h)) for h in "DE"]])
    roster = pl.concat([ROSTER, more])
    df, links = enrollment(("A-02", "正常参保"), (None, "暂停参保"))
    links = links.with_columns(decision=pl.when(pl.col("record_id") == "CB1").then(pl.lit("review"))
                               .otherwise("decision"), score=pl.lit(0.9), reason=pl.lit("x"), n_candidates=pl.lit(1))
    candidates = pl.DataFrame({
        "dept": ["医保"], "kind": ["med_enrollment"], "record_id": ["CB1"], "decision": ["review"], "rank": [1],
        "person_id": ["A-01"], "household_id": ["A"], "score": [0.9], "reason": ["x"], "cause": ["weak"],
        "rivals": [None]}, schema_overrides={"rivals": pl.Utf8})
    signals = run_rules({"med_enrollment": df}, links, roster, LIST_OF_4, P, candidates=candidates)
    assert fired(signals, "M4").is_empty()  # held back: 2 of 7
    held = {name for name, _ in held_back({"med_enrollment": df}, links, roster, LIST_OF_4, P, candidates=candidates)}
    assert held == {"M4"}
    got = review_impact({"med_enrollment": df}, links, roster, LIST_OF_4, P, signals, best_guess(candidates),
                        candidates=candidates)
    assert got["record_id"].to_list() == ["CB1"] and got["impact"][0] == "M4 未参加基本医疗保险：张三 参保状态为暂停参保（2026年度）"


# --- a member split off into a new household ---------------------------------------------------
# September: 李四 (A-02) of 张三's household A is absent from the enrollment list (M4). October: she
# is split off into a new household S in 吕台村 with a new 人编号 S-01 (same 证件号码 and 姓名), and 周七
# (S-02), never warned, lives there with her. `RENUMBERED` is what `adapters.warehouse.persons_now`
# finds: September's A-02 is October's S-01.
def test_a_household_the_roster_re_saved_in_excel_spells_otherwise_is_not_warned_again():
    """September's roster numbered 王五 0000201 of household 0012; October's, re-saved in Excel, 201
    of 12. Her open M1 of September (per person, and her household's) is the same warning: October's
    repeat is suppressed by it (`spelled_now`), not issued again as new under household 12; its
    预警编号 stays as issued. The history spelled as this roster spells it is as stored."""
    from pipelines.rules import spelled_now

    def roster(hh, pid):
        return ROSTER.with_columns(household_id=pl.col("household_id").replace("B", hh),
                                   person_id=pl.col("person_id").replace("B-01", pid))

    sep, octo = roster("0012", "0000201"), roster("12", "201")
    df9, links9 = med(("0000201", "王五", None, 6000.0))
    w9 = assign_warnings(run_rules({"med_settlement": df9}, links9, sep, CFG, "2026-09"), sep, "2026-09", None, CFG)[0]
    hist = w9.with_columns(period=pl.lit("2026-09"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))
    assert set(hist["household_id"]) == {"0012"} and "M1" in set(hist["rule"])
    df, links = med(("201", "王五", None, 6000.0))
    sig = run_rules({"med_settlement": df}, links, octo, CFG, P)
    assert assign_warnings(sig, octo, P, hist, CFG)[0].height  # (compared as spelled: warned again)
    now = spelled_now(hist, octo)
    assert set(now["household_id"]) == {"12"} and now["warning_id"].equals(hist["warning_id"])
    assert now.explode("person_ids")["person_ids"].unique().to_list() == ["201"]
    w, sup = assign_warnings(sig, octo, P, now, CFG)
    assert w.is_empty() and set(sup["suppressed_by"]) == set(hist["warning_id"]), (w, sup)
    assert sup["reason"].str.starts_with(f"前次预警 {hist['warning_id'][0]}（open）").all()
    # spelled as stored: nothing changes
    same = spelled_now(hist, sep)
    assert same.drop("_suffix").equals(hist) and same["_suffix"].is_null().all()


SPLIT = pl.concat([
    ROSTER.filter(pl.col("person_id") != "A-02").with_columns(
        household_size=pl.when(pl.col("household_id") == "A").then(pl.lit(1, pl.Int64)).otherwise("household_size")),
    ROSTER.filter(pl.col("person_id") == "A-02").with_columns(
        person_id=pl.lit("S-01"), household_id=pl.lit("S"), village=pl.lit("吕台村"), group=pl.lit("5组"),
        relation=pl.lit("户主"), household_size=pl.lit(2, pl.Int64)),
    ROSTER.filter(pl.col("person_id") == "A-02").with_columns(
        person_id=pl.lit("S-02"), household_id=pl.lit("S"), village=pl.lit("吕台村"), group=pl.lit("5组"),
        name=pl.lit("周七"), id_number=pl.lit("341302196601011227"), relation=pl.lit("配偶"),
        household_size=pl.lit(2, pl.Int64)),
])
RENUMBERED = pl.DataFrame({"period": ["2026-09"], "person_id": ["A-02"], "person_id_now": ["S-01"]})
SPLIT_KEPT = SPLIT.with_columns(person_id=pl.col("person_id").replace("S-01", "A-02"))  # the roster kept her 人编号



def october(*listed, roster=SPLIT, history=None, persons_now=RENUMBERED, extra=None):
    """October's M4 (the list shows `listed`, 人编号), with `extra` extracts, on the split roster:
    -> (warnings, suppressed)."""
    df, links = enrollment(*[(p, "正常参保") for p in listed])
    extracts, links = {"med_enrollment": df}, [links]
    for kind, (x, lk) in (extra or {}).items():
        extracts[kind] = x
        links.append(lk)
    sig = run_rules(extracts, pl.concat(links, how="diagonal"), roster, LIST_OF_4, P)
    return assign_warnings(sig, roster, P, history, LIST_OF_4, **({} if persons_now is None else {"persons_now": persons_now}))


def september(status="open", verified_on=None, severity="中"):
    """The warehouse's September warnings (M4 about 李四 under household A, and the H1 of a
    house survey naming her), as `flows.issue_warnings` reads them: with their status now."""
    df, links = enrollment(("A-01", "正常参保"), ("B-01", "正常参保"), ("C-01", "正常参保"))
    sig = run_rules({"med_enrollment": df, "housing": housing("A-02")[0]}, pl.concat([links, housing("A-02")[1]]),
                    ROSTER, LIST_OF_4, "2026-09")
    w = assign_warnings(sig, ROSTER, "2026-09", None, LIST_OF_4)[0]
    assert sorted(w.select("rule", "household_id", "person_ids").rows()) == [("H1", "A", ["A-02"]), ("M4", "A", ["A-02"])]
    return w.with_columns(period=pl.lit("2026-09"), severity=pl.lit(severity), status=pl.lit(status),
                          verified_on=pl.lit(verified_on, pl.Date))


def housing(pid):
    return frame("housing", "住建", [dict(record_id="JD1", pid=pid, name="x", id_raw=None, township="大店镇",
                                          village="v", group=None, grade="C", assess_date=D(2026, 9, 1),
                                          renovation="未改造")])


@pytest.mark.parametrize("renumbered", [True, False])
def test_a_member_split_off_with_an_open_warning_is_not_warned_again_under_the_new_household(renumbered):
    """李四's September M4 (household A) is still open. In October she is absent from the list
    again, now in household S: no second warning, the suppressed row names September's 预警编号
    and household A. Whether the roster gave her a new 人编号 (recognised by `persons_now`) or
    kept A-02. The house survey naming her (H1, a fact about household A's house) is not hers:
    it is warned under S as a new household's."""
    hist = september()
    m4 = hist.filter(pl.col("rule") == "M4")["warning_id"][0]
    roster, now = (SPLIT, RENUMBERED) if renumbered else (SPLIT_KEPT, None)
    w, sup = october("A-01", "B-01", "C-01", "S-02", roster=roster, history=hist, persons_now=now,
                     extra={"housing": housing("S-01" if renumbered else "A-02")})
    assert w.filter(pl.col("rule") == "M4").is_empty(), w
    assert sup.select("household_id", "rule", "suppressed_by").rows() == [("S", "M4", m4)]
    assert sup["reason"][0] == f"前次预警 {m4}（原户 A，open）仍在有效期内，信号未达升级条件"
    assert sup["person_ids"].to_list() == [["S-01" if renumbered else "A-02"]]
    assert "李四 不在医保参保名单（2026-10）中" in sup["basis"][0]
    # a household rule stays keyed by household: S's house was not warned before
    assert w.select("household_id", "rule", "escalates").rows() == [("S", "H1", None)]


def split(renumbered):
    """(roster, persons_now, 李四's 人编号 now): she has a new 人编号 (recognised by the
    warehouse), or the roster kept hers."""
    return (SPLIT, RENUMBERED, "S-01") if renumbered else (SPLIT_KEPT, None, "A-02")


@pytest.mark.parametrize("renumbered", [True, False])
@pytest.mark.parametrize("status,verified_on,severity,warned", [
    ("verified_true", D(2026, 6, 30), "中", True),    # verified 123 days before 2026-10-31: beyond 90
    ("verified_false", D(2026, 9, 15), "中", False),  # 46 days: still suppresses
    ("overdue", None, "中", False),
    ("open", None, "低", True),                       # more severe now: escalates
])
def test_a_split_off_member_is_warned_again_when_the_earlier_warning_is_old_or_escalated(
        status, verified_on, severity, warned, renumbered):
    hist = september(status, verified_on, severity)
    m4 = hist.filter(pl.col("rule") == "M4")["warning_id"][0]
    roster, now, her = split(renumbered)
    w, sup = october("A-01", "B-01", "C-01", "S-02", roster=roster, history=hist, persons_now=now)
    w = w.filter(pl.col("rule") == "M4")
    assert (w.height, sup.height) == ((1, 0) if warned else (0, 1))
    if warned:
        assert w.select("household_id", "person_ids").rows() == [("S", [her])]
        assert w["escalates"][0] == (m4 if status == "open" else None)
        if status == "open":
            assert f"（升级：前次预警 {m4}（原户 A） 严重程度低，本次中）" in w["basis"][0]


@pytest.mark.parametrize("renumbered", [True, False])
def test_another_member_of_the_new_household_never_warned_is_warned_alone(renumbered):
    """周七 (S-02) is absent too: S's M4 is raised for her alone; 李四, warned under A in
    September, is taken out of it (a suppressed row of her own), so one open warning per person."""
    hist = september()
    m4 = hist.filter(pl.col("rule") == "M4")["warning_id"][0]
    roster, now, her = split(renumbered)
    w, sup = october("A-01", "B-01", "C-01", roster=roster, history=hist, persons_now=now)
    assert w.select("household_id", "rule", "person_ids", "signal", "escalates").rows() == [
        ("S", "M4", ["S-02"], 1.0, None)]
    assert w["basis"][0] == "周七 不在医保参保名单（2026-10）中"
    assert sup.select("household_id", "person_ids", "suppressed_by").rows() == [("S", [her], m4)]
    assert "（原户 A，open）" in sup["reason"][0]
    if renumbered:  # a new 人编号 not recognised (no `persons_now`) is a new person: both are warned
        w, sup = october("A-01", "B-01", "C-01", history=hist, persons_now=None)
        assert w["person_ids"].to_list() == [["S-01", "S-02"]] and sup.is_empty()


def test_a_household_rule_is_not_suppressed_across_households_even_naming_the_same_person():
    """M1 is about a person, M2 about a household's income: 李四's costs raised both under A in
    September; under S (the roster kept her 人编号 A-02), M1 is a repeat, M2 (S's own income) is not."""
    sep_df, sep_links = med(("A-02", "李四", None, 6000.0))
    sep = assign_warnings(run_rules({"med_settlement": sep_df}, sep_links, ROSTER, CFG, "2026-09"),
                          ROSTER, "2026-09", None, CFG)[0]
    assert sep.select("household_id", "rule", "person_ids").rows() == [("A", "M1", ["A-02"]), ("A", "M2", ["A-02"])]
    hist = sep.with_columns(period=pl.lit("2026-09"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))
    # October: a new settlement, with September's, both hers (now in S)
    df, links = med(("A-02", "李四", None, 500.0))
    links = links.with_columns(household_id=pl.lit("S"))
    ytd = pl.concat([df, sep_df.with_columns(record_id=pl.lit("JS-09"), settle_date=pl.lit(D(2026, 9, 3)))]).with_columns(
        decision=pl.lit("matched"), person_id=pl.lit("A-02"))
    sig = run_rules({"med_settlement": df}, links, SPLIT_KEPT, CFG, P, ytd_settlements=ytd)
    assert sig.select("household_id", "rule").rows() == [("S", "M1"), ("S", "M2")]
    w, sup = assign_warnings(sig, SPLIT_KEPT, P, hist, CFG)
    assert w.select("household_id", "rule").rows() == [("S", "M2")]
    assert sup.select("household_id", "rule").rows() == [("S", "M1")] and "（原户 A，open）" in sup["reason"][0]


def test_a_split_off_member_s_new_year_sum_is_not_judged_against_last_year_s_warning():
    """李四's 2026 costs raised M1 under A in December (open). In January 2027 she lives in S (the
    roster kept her 人编号) and her 2027 sum reaches 6,000: a new year's sum, not taken out of S's
    signal as a repeat of December's; a 补报 completing her 2026 sum (not doubled) still is."""
    dec_df, dec_links = med(("A-02", "李四", None, 6000.0))
    dec_df = dec_df.with_columns(settle_date=pl.lit(D(2026, 12, 3)))
    dec = assign_warnings(run_rules({"med_settlement": dec_df}, dec_links, ROSTER, CFG, "2026-12"),
                          ROSTER, "2026-12", None, CFG)[0]
    hist = dec.with_columns(period=pl.lit("2026-12"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))
    m1 = hist.filter(pl.col("rule") == "M1")["warning_id"][0]

    def january(amount, day):
        df, links = med(("A-02", "李四", None, amount))
        df = df.with_columns(record_id=pl.lit("JS-01"), settle_date=pl.lit(day))
        links = links.with_columns(record_id=pl.lit("JS-01"), household_id=pl.lit("S"))
        ytd = pl.concat([df, dec_df.with_columns(record_id=pl.lit("JS-12"))]).with_columns(
            decision=pl.lit("matched"), person_id=pl.lit("A-02"))
        sig = run_rules({"med_settlement": df}, links, SPLIT_KEPT, CFG, "2027-01", ytd_settlements=ytd)
        w, sup = assign_warnings(sig, SPLIT_KEPT, "2027-01", hist, CFG)
        return w.filter(pl.col("rule") == "M1"), sup.filter(pl.col("rule") == "M1")

    w, sup = january(6000.0, D(2027, 1, 10))
    assert w.select("household_id", "person_ids", "signal_year").rows() == [("S", ["A-02"], 2027)] and sup.is_empty()
    w, sup = january(1000.0, D(2026, 12, 28))
    assert w.is_empty() and sup["suppressed_by"].to_list() == [m1] and "（原户 A，open）" in sup["reason"][0]


def test_whom_the_warehouse_is_asked_about_and_whom_the_carried_warnings_follow():
    """The persons named by September's still active warnings of per-person rules are looked for
    on October's roster (`adapters.warehouse.persons_now`); a warning verified long ago is not
    asked about. A carried warning follows its persons only when every rule of it is per person
    (M4's row does; H1's, about the house, does not)."""
    from pipelines.rules import persons_followed, persons_to_recognise

    hist = september()
    assert persons_to_recognise(hist, P, LIST_OF_4).rows() == [("2026-09", "A-02")]
    assert persons_to_recognise(september("verified_true", D(2026, 6, 30)), P, LIST_OF_4).is_empty()
    m4 = hist.filter(pl.col("rule") == "M4")["warning_id"][0]
    stored = hist.drop("status", "verified_on")  # (as the warehouse keeps them)
    assert persons_followed(stored, RENUMBERED, LIST_OF_4).rows() == [(m4, "S-01")]
    assert persons_followed(stored, None, LIST_OF_4).rows() == [(m4, "A-02")]


def test_warnings_kept_by_a_partial_run_are_placed_where_the_roster_puts_their_household_now():
    """October run; then a corrected 户籍底册 moves household H2 from 时村乡 to 褚兰乡 and 医保 is
    re-run alone (--dept 医保). 住建's H1 of H2 was kept as stored, township 时村乡: 时村乡's list
    held it with 行政村 邓店村 (褚兰乡's village, read from the roster) — another township's
    household in its file — and the county summary counted it under 时村乡, where a full run
    puts it in 褚兰乡's list. A kept warning of a household on the roster is placed as the
    roster places the household now; a lead, or a household gone from the roster, keeps its place."""
    from pipelines.rules import placed_now

    kept = pl.DataFrame({"warning_id": ["w1", "w1", "w2", "w3"], "household_id": ["H2", "H2", "H9", None],
                         "township": ["时村乡", "时村乡", "大店镇", "桃沟乡"], "rule": ["H1", "A1", "H1", "C2"]})
    roster = pl.DataFrame({"person_id": ["H2-02", "H2-01", "H1-01"], "household_id": ["H2", "H2", "H1"],
                           "township": ["褚兰乡", "褚兰乡", "时村乡"], "village": ["邓店村", "邓店村", "徐庄村"]})
    got = placed_now(kept, roster)
    assert got.columns == kept.columns and got.height == kept.height
    assert got["township"].to_list() == ["褚兰乡", "褚兰乡", "大店镇", "桃沟乡"]


def test_the_default_rules_are_the_specs_table():
    """SPEC §4's default rules, as the bureau receives them: each reads its department's extract,
    warns under the table's 风险类型 and with its numbers. Other tests take the numbers from the
    config; this one holds the config to the SPEC (a renamed risk type would change no other)."""
    spec = {  # rule: (extract kind, risk type, leads off the roster)
        "M1": ("med_settlement", "因病", False), "M2": ("med_settlement", "因病", False),
        "M3": ("med_settlement", "因病", True), "M4": ("med_enrollment", "未参加基本医疗保险", False),
        "H1": ("housing", "住房出现安全问题", False), "E1": ("education", "义务教育阶段失学辍学", False),
        "E2": ("education", "因学", False), "W1": ("water", "饮水出现安全问题", False),
        "C1": ("civil", "缺劳动力", False), "C2": ("civil", "突发严重困难", True), "D1": ("disability", "因残", True),
        "R1": ("hr", "因务工就业不稳", False), "A1": ("agri", "因自然灾害", False),
    }
    r = CFG.rules
    assert {n: (rc.kind, rc.risk_type, rc.lead) for n, rc in r.items()} == spec
    assert (r["M1"]["threshold"], r["M2"]["share_of_income"], r["M3"]["threshold"]) == (5000, 0.40, 20000)
    assert set(r["M4"]["bad_status"]) == {"暂停参保", "终止参保"}
    assert (set(r["H1"]["grades"]), set(r["H1"]["done_status"])) == ({"C", "D"}, {"已改造"})
    assert (set(r["E1"]["stages"]), set(r["E1"]["statuses"])) == ({"小学", "初中"}, {"辍学", "休学"})
    assert (set(r["E2"]["stages"]), r["E2"]["threshold"]) == ({"高中", "中职", "高校"}, 10000)
    assert (r["C1"]["change_types"], r["C1"]["min_age"], r["C1"]["max_age"]) == (["死亡注销"], 16, 60)
    assert (r["C2"]["change_types"], set(r["C2"]["categories"])) == (["新增"], {"临时救助", "特困"})
    assert (r["D1"]["cert_types"], set(r["D1"]["severe_levels"])) == (["新办"], {"一级", "二级"})
    assert (set(r["R1"]["event_types"]), r["R1"]["months_unpaid"], r["R1"]["min_age"], r["R1"]["max_age"]) == (
        {"失业登记", "返乡登记"}, 3, 16, 60)
    assert (r["A1"]["threshold"], r["A1"]["share_of_income"], r["A1"]["risk_type_by_disaster"]) == (
        10000, 0.30, {"产业项目失败": "因产业项目失败"})
    assert (CFG.run.verify_working_days, CFG.run.suppress_days, CFG.run.max_grid_households) == (3, 90, 100)


@pytest.mark.parametrize("loss,fires", [(0.0, False), (1.0, True)])
def test_a1_a_loss_of_nothing_is_no_share_of_a_household_without_income(loss, fires):
    """A household whose 年人均纯收入 is 0: any loss is ≥ 30% of its income, but a 报案 with 损失金额
    0 (a report not yet assessed) is no loss and warns no one, as M2 needs a cost above 0."""
    roster = ROSTER.with_columns(income_per_capita=pl.when(pl.col("household_id") == "C").then(0.0)
                                 .otherwise("income_per_capita"))
    df, links = frame("agri", "农业农村", [dict(record_id="BA1", pid="C-01", name="赵六", id_raw=None, township="t",
                                                village="v", disaster_type="洪涝", loss_amount=loss,
                                                occur_date=D(2026, 10, 1))])
    sig = fired(run_rules({"agri": df}, links, roster, CFG, P), "A1")
    assert sig.height == (1 if fires else 0)
    assert sig["basis"].to_list() == (["洪涝损失 1.00 元（2026-10-01），家庭年纯收入为 0 元"] if fires else [])


# --- boundaries and choices pinned by mutation testing -----------------------------------------

@pytest.mark.parametrize("amount,severity", [(19999.99, "中"), (20000.0, "高")])
def test_m1_is_severe_from_its_high_threshold_inclusive(amount, severity):
    """M1 warns at 中 (its severity) and at 高 from `high_threshold` (20,000) on, that sum included."""
    m1 = fired(run({"med_settlement": med(("B-01", "王五", None, amount))}), "M1")
    assert m1["severity"].to_list() == [severity]


@pytest.mark.parametrize("cost,fires", [(0.0, False), (100.0, True)])
def test_m2_a_cost_of_nothing_is_no_share_of_a_household_without_income(cost, fires):
    """A household whose 年人均纯收入 is 0: any cost is ≥ 40% of nothing, but a settlement whose
    个人自付 is 0 (all paid by the insurance) is no cost and raises no M2."""
    roster = ROSTER.with_columns(income_per_capita=pl.when(pl.col("household_id") == "B").then(0.0)
                                 .otherwise("income_per_capita"))
    df, links = med(("B-01", "王五", None, cost))
    m2 = fired(run_rules({"med_settlement": df}, links, roster, CFG, P), "M2")
    assert m2.height == int(fires)
    if fires:
        assert "的 全部 ≥ 40%" in m2["basis"][0]


@pytest.mark.parametrize("resolved,warned", [(D(2026, 10, 31), False), (D(2026, 11, 1), True)])
def test_w1_a_problem_resolved_on_the_period_s_last_day_is_resolved(resolved, warned):
    """A 解决日期 within the period (its last day included) is solved; one after it is a plan."""
    water = pl.DataFrame({"dept": "水利", "kind": "water", "record_id": ["GS1"], "township": ["大店镇"],
                          "village": ["吕台村"], "group": [None], "problem_type": ["水质较差"],
                          "found_date": [D(2026, 10, 1)], "resolved_date": [resolved]}, schema_overrides={"group": pl.Utf8})
    places = water.select("record_id", "township", "village", "group", decision=pl.lit("matched"))
    links = pl.DataFrame(schema={c: pl.Utf8 for c in ["dept", "kind", "record_id", "decision", "person_id"]})
    w1 = fired(run_rules({"water": water}, links, ROSTER, CFG, P, water_places=places), "W1")
    assert w1["household_id"].to_list() == (["B"] if warned else [])


def test_a_household_s_signal_is_as_severe_as_its_most_severe_item():
    """Two members' new certificates, 三级 (中) and 一级 (高), are one D1 warning of household A,
    高 whichever order they come in."""
    for levels in (("三级", "一级"), ("一级", "三级")):
        sig = fired(run({"disability": frame("disability", "残联", [
            dict(record_id=f"CJ{i}", pid=p, name="x", id_raw=None, disability_type="肢体", level=lv, cert_type="新办",
                 issue_date=D(2026, 10, 2), township="大店镇") for i, (p, lv) in enumerate(zip(("A-01", "A-02"), levels))])}),
            "D1")
        assert sig.select("household_id", "severity").rows() == [("A", "高")]


@pytest.mark.parametrize("h,suppressed", [
    (hist(6000.0, "verified_true", D(2026, 8, 2)), True),  # 90 days before 2026-10-31: still within
    (hist(6000.0, "verified_true", D(2026, 8, 1)), False),  # 91 days
    (hist(6000.0, "overdue", period="2026-05"), True),  # overdue since May: still not closed
    (hist(6000.0, "open", period="2026-05"), True),
])
def test_suppression_window_and_old_warnings_still_open(h, suppressed):
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    w, sup = assign_warnings(sig, ROSTER, P, h, CFG)
    assert (sup.height, w.height) == ((1, 0) if suppressed else (0, 1))


def test_a_repeat_is_judged_against_the_latest_earlier_warning():
    """王五 was warned in July (3,000) and, escalated, in September (6,000), both still open: October's
    6,000 is a repeat of September's (not a doubling of July's), suppressed by September's."""
    july, sept = hist(3000.0, "open", period="2026-07"), hist(6000.0, "open", period="2026-09")
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    for h in (pl.concat([july, sept]), pl.concat([sept, july])):
        w, sup = assign_warnings(sig, ROSTER, P, h, CFG)
        assert w.is_empty() and sup["suppressed_by"].to_list() == [sept["warning_id"][0]]


def test_a_household_rule_without_a_year_is_suppressed_as_a_repeat_and_escalates_when_worse():
    """H1 (no year-to-date sum): household A's house, warned C in September and still open, is not
    warned again in October while it stays C; assessed D (高) it is, naming September's."""
    def h1_of(grade, period):
        df, links = frame("housing", "住建", [dict(record_id="JD1", pid="A-01", name="x", id_raw=None, township="大店镇",
                                                  village="v", group=None, grade=grade, assess_date=D(2026, 9, 1),
                                                  renovation="未改造")])
        return run_rules({"housing": df}, links, ROSTER, CFG, period)
    sep = assign_warnings(h1_of("C", "2026-09"), ROSTER, "2026-09", None, CFG)[0]
    h = sep.with_columns(period=pl.lit("2026-09"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))
    w, sup = assign_warnings(h1_of("C", P), ROSTER, P, h, CFG)
    assert w.is_empty() and sup["suppressed_by"].to_list() == sep["warning_id"].to_list()
    w, sup = assign_warnings(h1_of("D", P), ROSTER, P, h, CFG)
    assert w["escalates"].to_list() == sep["warning_id"].to_list() and sup.is_empty()


@pytest.mark.parametrize("october,escalates", [(6000.0, True), (5999.99, False)])
def test_a_split_off_member_s_sum_doubled_escalates_the_warning_under_the_old_household(october, escalates):
    """李四's 6,000 raised M1 under A in September (open). In October she lives in S (the roster
    kept her 人编号) and her year's sum reaches 12,000 (doubled): M1 under S, escalating A's; at
    11,999.99 it is still A's repeat, taken out of S's signal."""
    sep_df, sep_links = med(("A-02", "李四", None, 6000.0))
    sep = assign_warnings(run_rules({"med_settlement": sep_df}, sep_links, ROSTER, CFG, "2026-09"),
                          ROSTER, "2026-09", None, CFG)[0]
    hist_ = sep.with_columns(period=pl.lit("2026-09"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))
    m1 = hist_.filter(pl.col("rule") == "M1")["warning_id"][0]
    df, links = med(("A-02", "李四", None, october))
    links = links.with_columns(household_id=pl.lit("S"))
    ytd = pl.concat([df, sep_df.with_columns(record_id=pl.lit("JS-09"), settle_date=pl.lit(D(2026, 9, 3)))]).with_columns(
        decision=pl.lit("matched"), person_id=pl.lit("A-02"))
    sig = run_rules({"med_settlement": df}, links, SPLIT_KEPT, CFG, P, ytd_settlements=ytd)
    w, sup = assign_warnings(sig, SPLIT_KEPT, P, hist_, CFG)
    w, sup = w.filter(pl.col("rule") == "M1"), sup.filter(pl.col("rule") == "M1")
    if escalates:
        assert w.select("household_id", "escalates").rows() == [("S", m1)] and sup.is_empty()
        assert f"前次预警 {m1}（原户 A）" in w["basis"][0]
    else:
        assert w.is_empty() and sup["suppressed_by"].to_list() == [m1]


def test_leads_are_warned_only_by_a_rule_configured_to_raise_them():
    """C2 and D1 raise new-household leads (`lead = true`); a bureau that turns that off gets the
    roster households' warnings alone."""
    c2 = civil(("B-01", "王五", None, "大店镇", "临时救助", "新增", D(2026, 10, 2)),
               (None, "孙七", "341302********9999", "夹沟", "特困", "新增", D(2026, 10, 2)))
    d1 = frame("disability", "残联", [dict(record_id=f"CJ{i}", pid=p, name=f"人{i}", id_raw=None, disability_type="肢体",
                                           level="一级", cert_type="新办", issue_date=D(2026, 10, 2), township="夹沟镇")
                                      for i, p in enumerate(("B-01", None))])
    for cfg, households in ((CFG, ["B", None]), (load_config(overrides=["C2.lead=false", "D1.lead=false"]), ["B"])):
        sig = run({"civil": c2, "disability": d1}, cfg)
        assert fired(sig, "C2")["household_id"].to_list() == households
        assert fired(sig, "D1")["household_id"].to_list() == households


def test_w1_warns_only_of_a_place_found_not_of_one_waiting_for_review():
    water = pl.DataFrame({"dept": "水利", "kind": "water", "record_id": ["GS1", "GS2"], "township": ["大店镇"] * 2,
                          "village": ["吕台村", "韩湖村"], "group": [None, None], "problem_type": ["水质较差"] * 2,
                          "found_date": [D(2026, 10, 1)] * 2, "resolved_date": [None, None]},
                         schema_overrides={"group": pl.Utf8, "resolved_date": pl.Date})
    places = water.select("record_id", "township", "village", "group",
                          decision=pl.Series(["matched", "review"]))  # (韩湖村: a guess waiting for a human)
    links = pl.DataFrame(schema={c: pl.Utf8 for c in ["dept", "kind", "record_id", "decision", "person_id"]})
    w1 = fired(run_rules({"water": water}, links, ROSTER, CFG, P, water_places=places), "W1")
    assert w1["household_id"].to_list() == ["B"]


@pytest.mark.parametrize("period,fires", [("2025-12", False), ("2026-01", True)])
def test_an_event_without_a_date_is_aged_at_the_period_end(period, fires):
    """赵六 (C-01) turns 16 on 2026-01-01: a 失业登记 without 登记日期 counts his age on the last day
    of the period it came in."""
    df, links = frame("hr", "人社", [dict(record_id="RS1", pid="C-01", name="x", id_raw=None, event_type="失业登记",
                                          event_date=None, months_unpaid=0)])
    sig = run_rules({"hr": df.with_columns(event_date=pl.lit(None, pl.Date))}, links, ROSTER, CFG, period)
    assert fired(sig, "R1").height == int(fires)


@pytest.mark.parametrize("period,suppressed", [("2026-08", True), ("2026-07", False)])
def test_a_warning_verified_without_a_date_counts_as_verified_at_its_period_end(period, suppressed):
    """核实结果 returned without 核实日期: the 90 days run from the end of the warning's period
    (2026-08-31 is within 90 days of 2026-10-31, 2026-07-31 is not)."""
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    w, sup = assign_warnings(sig, ROSTER, P, hist(6000.0, "verified_true", None, period=period), CFG)
    assert (sup.height, w.height) == ((1, 0) if suppressed else (0, 1))


@pytest.mark.parametrize("result,suppressed", [("属实", True), ("不属实", True), (None, False)])
def test_a_warning_a_rerun_withdrew_after_the_township_answered_it_still_suppresses_its_repeat(result, suppressed):
    """王五's M1 (6,000) went out in September's list; the township answered it on 10-12; then
    August was re-run with a higher threshold and the cascade re-ran September, which no longer
    raises it (撤回: not in September's stored warnings, its list row says so). October's 6,000 is
    the fact the grid worker verified at the door 19 days before: a repeat, suppressed by it
    (before: sent to the township again as a new warning). Never answered, it was never visited
    (closed by the county): it suppresses nothing."""
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    wid = assign_warnings(sig, ROSTER, "2026-09", None, CFG)[0]["warning_id"][0]
    rows = pl.DataFrame([{"状态": "撤回", "预警编号": wid, "风险类型": "因病", "严重程度": "中", "户编号": "B",
                          "预警规则": "M1", "预警依据": "M1：王五 2026年累计个人自付 6,000.00 元 ≥ 5,000 元（1 笔结算）",
                          "township": "大店镇", "period": "2026-09"}])
    status = pl.DataFrame({"warning_id": [wid], "status": ["verified_false" if result != "属实" else "verified_true"],
                           "result": [result], "verified_on": [D(2026, 10, 12) if result else None], "withdrawn": [True]},
                          schema_overrides={"result": pl.String, "verified_on": pl.Date})
    stored = with_status(hist(6000.0, "open", rule="M4").head(0).drop("status", "verified_on"), status)  # (September's, without it)
    h = with_withdrawn(stored, rows, status)
    w, sup = assign_warnings(sig, ROSTER, P, h, CFG)
    assert (sup.height, w.height) == ((1, 0) if suppressed else (0, 1))
    if suppressed:
        assert sup["suppressed_by"].to_list() == [wid]
    assert with_withdrawn(stored, None, status).equals(stored) and with_withdrawn(stored, rows, None).equals(stored)


def test_a_record_linked_to_a_person_not_on_this_roster_warns_no_household_and_is_no_lead():
    """A link to 人编号 Z-01, gone from this period's roster (a stale link kept for the year's
    sums): no household to warn under, and not a lead off the roster either."""
    sig = run({"med_settlement": med(("Z-01", "某人", None, 30000.0))})
    assert sig.is_empty()


def test_two_households_never_share_a_warning_id(monkeypatch):
    """A 预警编号 names one household (or lead) x risk type: should two hash alike, the run
    stops rather than merge two households' warnings under one number."""
    import pipelines.rules as rules

    sig = run({"med_settlement": med(("A-01", "张三", None, 6000.0), ("B-01", "王五", None, 6000.0))})
    assert assign_warnings(sig, ROSTER, P, None, CFG)[0]["warning_id"].n_unique() == 2
    monkeypatch.setattr(rules, "warning_suffix", lambda key, risk_type: "0123456789")
    with pytest.raises(ValueError, match="预警编号冲突"):
        assign_warnings(sig, ROSTER, P, None, CFG)


def test_a_split_off_member_is_judged_against_the_latest_warning_that_named_her():
    """李四 (A-02) was warned for M1 under A in July (5,000) and, escalated, under X in September
    (10,000), both open. In October, in S, her year reaches 10,000: a repeat of September's (not
    a doubling of July's), taken out of S's signal and naming September's."""
    history = pl.DataFrame({
        "warning_id": ["YJ202607-aaaaaaaaaa", "YJ202609-bbbbbbbbbb"], "household_id": ["A", "X"], "rule": ["M1", "M1"],
        "period": ["2026-07", "2026-09"], "signal": [5000.0, 10000.0], "severity": ["中", "中"],
        "status": ["open", "open"], "verified_on": [None, None], "person_ids": [["A-02"], ["A-02"]],
        "signal_year": [2026, 2026]}, schema_overrides={"verified_on": pl.Date, "signal_year": pl.Int32})
    df, links = med(("A-02", "李四", None, 4000.0))
    links = links.with_columns(household_id=pl.lit("S"))
    ytd = pl.concat([df, df.with_columns(record_id=pl.lit("JS-07"), out_of_pocket=pl.lit(6000.0),
                                         settle_date=pl.lit(D(2026, 7, 3)))]).with_columns(
        decision=pl.lit("matched"), person_id=pl.lit("A-02"))
    sig = run_rules({"med_settlement": df}, links, SPLIT_KEPT, CFG, P, ytd_settlements=ytd)
    for h in (history, history.reverse()):
        w, sup = assign_warnings(sig, SPLIT_KEPT, P, h, CFG)
        assert w.filter(pl.col("rule") == "M1").is_empty()
        assert sup.filter(pl.col("rule") == "M1")["suppressed_by"].to_list() == ["YJ202609-bbbbbbbbbb"]


@pytest.mark.parametrize("stored", [6000.0, 6000.000000000001])
def test_a_stored_signal_summed_before_the_fen_escalates_when_exactly_doubled(stored):
    """September's M1 of 王五 was stored by a run that added the year's 个人自付 before it counted
    them to the 分 (6,000.000000000001 for 6,000.00). October's 12,000.00 is twice it: escalated
    as for a September stored as 6,000.00, not suppressed as a repeat."""
    sig = run({"med_settlement": med(("B-01", "王五", None, 12000.0))})
    h = hist(stored, "open")
    w, sup = assign_warnings(sig, ROSTER, P, h, CFG)
    assert w.filter(pl.col("rule") == "M1")["escalates"].to_list() == h["warning_id"].to_list() and sup.is_empty()


def test_a1_losses_adding_up_to_exactly_twice_the_earlier_warning_s_escalate_it():
    """赵六's (C) 10,000.03 元 flood loss raised A1 in September (open). In October two losses of
    10,000.01 and 10,000.05 元, 20,000.06 元 (twice), which binary fractions add up to
    20,000.059999999998: escalated, not suppressed as a repeat."""
    def a1_of(period, *losses):
        df, links = frame("agri", "农业农村", [dict(record_id=f"BA{i}", pid="C-01", name="x", id_raw=None, township="t",
                                                   village="v", disaster_type="洪涝", loss_amount=a,
                                                   occur_date=D(int(period[:4]), int(period[5:]), 1))
                                              for i, a in enumerate(losses)])
        return run_rules({"agri": df}, links, ROSTER, CFG, period)
    sep = assign_warnings(a1_of("2026-09", 10000.03), ROSTER, "2026-09", None, CFG)[0]
    h = sep.with_columns(period=pl.lit("2026-09"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))
    w, sup = assign_warnings(a1_of(P, 10000.01, 10000.05), ROSTER, P, h, CFG)
    assert w["escalates"].to_list() == sep["warning_id"].to_list() and sup.is_empty()


# --- mutation-testing gaps (mut6) -------------------------------------------------------------


def test_a_repeat_of_an_earlier_warning_that_measured_nothing_is_escalated_only_by_severity():
    """An earlier warning whose signal is 0 (nothing measured) gives no figure to double: a
    repeat of it is suppressed at the same severity (any signal would otherwise be "≥ 2 x 0" and
    escalate every month), and escalates when more severe."""
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    for s in (0.0, 6000.0):
        w, sup = assign_warnings(sig.with_columns(signal=pl.lit(s)), ROSTER, P, hist(0.0, "open"), CFG)
        assert w.is_empty() and sup["suppressed_by"].to_list() == hist(0.0, "open")["warning_id"].to_list()
    w, sup = assign_warnings(sig, ROSTER, P, hist(0.0, "open", severity="低"), CFG)
    assert w["escalates"].to_list() == hist(0.0, "open")["warning_id"].to_list() and sup.is_empty()


def test_an_escalation_s_basis_says_whether_the_signal_grew_or_the_severity_rose():
    """Doubled at the same severity: the basis gives both figures, not a severity that did not
    change; more severe: the two severities."""
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    wid = hist(3000.0, "open")["warning_id"][0]
    w, _ = assign_warnings(sig, ROSTER, P, hist(3000.0, "open"), CFG)
    assert w["basis"][0].endswith(f"（升级：前次预警 {wid} 信号 3000.0，本次 6000.0）")
    w, _ = assign_warnings(sig, ROSTER, P, hist(5900.0, "open", severity="低"), CFG)
    assert w["basis"][0].endswith(f"（升级：前次预警 {wid} 严重程度低，本次中）")


def test_a_new_year_s_sum_names_the_latest_warning_of_an_earlier_year():
    """王五 was warned for 2025's sum (December 2025) and for 2026's (December 2026), both still
    open. January 2027's sum of 5,500 is a new year's: raised, naming December 2026's warning,
    whichever order the history comes in."""
    dec = _december(status="open", verified_on=None)
    older = dec.with_columns(warning_id=pl.lit("YJ202512-" + dec["warning_id"][0][9:]), period=pl.lit("2025-12"),
                             signal_year=pl.lit(2025, pl.Int32))
    jan = _settled(("JS_JAN", D(2027, 1, 15), 5500.0))
    sig = _m1_in("2027-01", DECEMBER, jan)
    for h in (pl.concat([older, dec]), pl.concat([dec, older])):
        w, sup = assign_warnings(sig, ROSTER, "2027-01", h, CFG)
        assert w.filter(pl.col("rule") == "M1")["escalates"].to_list() == dec["warning_id"].to_list() and sup.is_empty()


def test_a_household_s_bases_are_each_said_once_in_basis_order():
    """`_fold`: the items' bases in sorted order whatever order the items came in, a basis two
    items share said once."""
    from pipelines.rules import _fold

    items = pl.DataFrame({"h": ["A"] * 3, "person_ids": [["A-01"], ["A-01"], ["A-02"]], "record_ids": [["r1"], ["r3"], ["r2"]],
                          "basis": ["甲 不在名单", "甲 不在名单", "乙 不在名单"], "signal": [1.0, 1.0, 1.0],
                          "severity": ["中"] * 3})  # (乙 sorts before 甲)
    got = _fold(items, ["h"], "sum")
    assert got.select("basis", "person_ids", "record_ids", "signal").rows() == [
        ("乙 不在名单；甲 不在名单", ["A-01", "A-02"], ["r1", "r2", "r3"], 3.0)]


def test_a_household_s_place_income_and_type_are_its_first_person_s_or_the_first_given():
    """`households`: place of the household's first person (by 人编号) whatever order the roster
    lists them; income and type the first given, a member without them not blanking them."""
    from pipelines.rules import households

    roster = pl.DataFrame({"person_id": ["H-02", "H-01", "H-03"], "household_id": ["H"] * 3,
                           "township": ["乙镇", "甲镇", "乙镇"], "village": ["乙村", "甲村", "乙村"], "group": ["2组", "1组", "2组"],
                           "household_size": [None, None, None], "income_per_capita": [4000.0, None, None],
                           "household_type": ["监测户", None, None]}, schema_overrides={"household_size": pl.Int64})
    for r in (roster, roster.reverse()):
        assert households(r).select("township", "village", "group", "size", "income", "household_type").rows() == [
            ("甲镇", "甲村", "1组", 3, 4000.0, "监测户")]


def test_a_warning_with_a_household_rule_beside_a_person_rule_is_not_followed_to_its_persons():
    """`persons_followed`: a 因病 预警编号 holding M1 (per person) and M2 (about the household) stays
    with the household; one holding M1 alone follows its person."""
    from pipelines.rules import persons_followed

    history = pl.DataFrame({"warning_id": ["W1", "W1", "W2"], "rule": ["M1", "M2", "M1"], "period": ["2026-09"] * 3,
                            "household_id": ["A", "A", "B"], "signal": [6000.0, 0.5, 6000.0], "severity": ["中"] * 3,
                            "person_ids": [["A-02"], ["A-01", "A-02"], ["B-01"]]})
    assert persons_followed(history, None, CFG).rows() == [("W2", "B-01")]


def test_records_showing_neither_id_nor_name_are_leads_of_their_own():
    """`lead_keys`: a row with no ID text and no name gets no key (a lead of its own, keyed by its
    record number), not one key shared by every such row."""
    leads = pl.DataFrame({"id_raw": [None, None, "341302199901011234"], "name": [None, None, "孙七"]},
                         schema={"id_raw": pl.Utf8, "name": pl.Utf8})
    got = lead_keys(leads)
    assert got["lead_key"].to_list()[:2] == [None, None] and got["lead_key"][2] is not None


def test_a_second_m4_under_its_own_name_says_it_is_held_back_too():
    """A rule configured as `impl = "M4"` under another name holds back as M4 does, and says so."""
    from dataclasses import replace as dc_replace

    kinds = {"med_enrollment": enrollment(("A-01", "正常参保"), ("A-02", "暂停参保"))}
    df, lk = kinds["med_enrollment"]
    short = load_config(overrides=["M4.min_roster_share=0.8"])
    m4b = dc_replace(short.rules["M4"], name="M4B", params={**short.rules["M4"].params, "impl": "M4"})
    cfg = dc_replace(short, rules={"M4B": m4b})
    notes = held_back({"med_enrollment": df}, lk, ROSTER, cfg, P)
    assert [n for n, _ in notes] == ["M4B"] and "50%" in notes[0][1]


def test_a_split_off_member_s_earlier_warning_that_measured_nothing_is_not_doubled_by_any_sum():
    """李四 (A-02) was named by an M1 under A stored with signal 0 (nothing measured), open. In
    October, in S, her sum is 6,000: still that warning's repeat, taken out of S's signal (not
    "≥ 2 x 0", escalating it)."""
    history = pl.DataFrame({
        "warning_id": ["YJ202609-aaaaaaaaaa"], "household_id": ["A"], "rule": ["M1"], "period": ["2026-09"],
        "signal": [0.0], "severity": ["中"], "status": ["open"], "verified_on": [None], "person_ids": [["A-02"]],
        "signal_year": [2026]}, schema_overrides={"verified_on": pl.Date, "signal_year": pl.Int32})
    df, links = med(("A-02", "李四", None, 6000.0))
    links = links.with_columns(household_id=pl.lit("S"))
    sig = run_rules({"med_settlement": df}, links, SPLIT_KEPT, CFG, P)
    w, sup = assign_warnings(sig, SPLIT_KEPT, P, history, CFG)
    assert w.filter(pl.col("rule") == "M1").is_empty()
    assert sup.filter(pl.col("rule") == "M1")["suppressed_by"].to_list() == ["YJ202609-aaaaaaaaaa"]
    assert "前次预警 YJ202609-aaaaaaaaaa（原户 A，open）" in sup.filter(pl.col("rule") == "M1")["reason"][0]


@pytest.mark.parametrize("earlier_severity", ["中", "低"])
def test_persons_warned_earlier_under_two_households_name_the_latest_warning(earlier_severity):
    """周七 (S-02) was named by an M4 under X in August and 李四 (A-02, now S-01) by one under A in
    September, both open. October's M4 of S names both: not grown, both are taken out and the
    suppressed row is September's repeat (naming both earlier warnings); more severe now, S's
    warning escalates September's, the latest — whichever order the history comes in."""
    history = pl.DataFrame({
        "warning_id": ["YJ202608-aaaaaaaaaa", "YJ202609-bbbbbbbbbb"], "household_id": ["X", "A"], "rule": ["M4", "M4"],
        "period": ["2026-08", "2026-09"], "signal": [1.0, 1.0], "severity": [earlier_severity] * 2,
        "status": ["open", "open"], "verified_on": [None, None], "person_ids": [["S-02"], ["A-02"]]},
        schema_overrides={"verified_on": pl.Date})
    for h in (history, history.reverse()):
        w, sup = october("A-01", "B-01", "C-01", history=h)
        w, sup = w.filter(pl.col("rule") == "M4"), sup.filter(pl.col("rule") == "M4")
        if earlier_severity == "中":
            assert w.filter(pl.col("household_id") == "S").is_empty()
            assert sup.filter(pl.col("household_id") == "S")["suppressed_by"].to_list() == ["YJ202609-bbbbbbbbbb"]
            assert "YJ202608-aaaaaaaaaa" in sup.filter(pl.col("household_id") == "S")["reason"][0]
        else:
            assert w.filter(pl.col("household_id") == "S")["escalates"].to_list() == ["YJ202609-bbbbbbbbbb"]


def test_earlier_warnings_carry_their_status_now_open_when_none_is_known():
    history = pl.DataFrame({"warning_id": ["w1", "w2"], "rule": ["M1", "M4"]})
    status = pl.DataFrame({"warning_id": ["w1"], "status": ["verified_true"], "verified_on": [D(2026, 10, 9)],
                           "township": ["大店镇"]})
    got = with_status(history, status)
    assert got.rows() == [("w1", "M1", "verified_true", D(2026, 10, 9)), ("w2", "M4", "open", None)]
    assert with_status(history, None).select("status", "verified_on").rows() == [("open", None), ("open", None)]


def test_a_partial_run_keeps_the_other_departments_warnings_placed_as_the_roster_is_now():
    """The kept warnings join the run's in 预警编号 order; one stored before a column was has it
    null; a household the corrected roster moved is in its new township, one it no longer holds
    is named. A full run (nothing kept) is left as it is, with no finding."""
    warnings = pl.DataFrame({"warning_id": ["w2"], "rule": ["M1"], "dept": ["医保"], "household_id": ["A"],
                             "township": ["大店镇"], "signal_year": [2026]})
    kept = pl.DataFrame({"warning_id": ["w3", "w1"], "rule": ["E1", "C1"], "dept": ["教育", "民政"],
                         "household_id": ["B", "GONE"], "township": ["大店镇", "时村乡"]})
    roster = pl.DataFrame({"person_id": ["A-01", "B-01"], "household_id": ["A", "B"], "township": ["大店镇", "永镇镇"]})
    got, gone = with_kept(warnings, kept, roster)
    assert got.select("warning_id", "household_id", "township", "signal_year").rows() == [
        ("w1", "GONE", "时村乡", None), ("w2", "A", "大店镇", 2026), ("w3", "B", "永镇镇", None)]
    assert gone["count"].to_list() == [1] and "民政 GONE" in gone["detail"].item()
    same, none = with_kept(warnings, None, roster)
    assert same.equals(warnings) and none is None


def test_the_rules_held_back_and_the_split_search_skipped_are_findings():
    found = held_back_findings([("M4", "参保名单不全")], None, CFG)
    assert found.select("category", "dept", "detail").rows() == [(Finding.RULE_HELD_BACK, "医保", "M4: 参保名单不全")]
    found = held_back_findings([], 1234567, CFG)
    assert found.select("category", "dept").rows() == [(Finding.SPLIT_NOT_SOUGHT, "户籍底册")]
    assert "1,234,567 对" in found["detail"].item()
    assert held_back_findings([], None, CFG).is_empty()


def test_a_default_rule_the_config_leaves_out_is_said_in_each_runs_report(tmp_path):
    """A bureau's copied config without [rules.R1] (or [rules.M3]) runs neither, month after
    month, and nothing said so. The report's line (county, shown on the console) names them; a
    rule of one's own running one (`impl = "M3"`) runs it; the default config has none left out."""
    from config import DEFAULT_CONFIG, rules_left_out

    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    for name in ("R1", "M3"):
        text = re.sub(rf"\n\[rules\.{name}\]\n(?:[^\[\n][^\n]*\n)*", "\n", text)
    (tmp_path / "copy.toml").write_text(text, encoding="utf-8")
    cfg = load_config(tmp_path / "copy.toml")
    assert [n for n, _ in rules_left_out(cfg)] == ["M3", "R1"]
    found = held_back_findings([], None, cfg)
    assert found.select("category", "dept", "count").rows() == [(Finding.RULE_LEFT_OUT, None, 1)]
    assert found["detail"].item().startswith(
        "配置中没有默认规则 M3（非监测对象年度累计自付医疗费用过高（新增户线索））、R1（16-60岁人员失业、返乡或连续未缴费），本期未运行"), found
    assert "[rules.M3], [rules.R1] of config/default.toml: not run" in found["detail"].item()
    own = text + '\n[rules.M9]\nimpl = "M3"\nkind = "med_settlement"\nrisk_type = "因病"\nthreshold = 30000\nlead = true\n'
    (tmp_path / "own.toml").write_text(own, encoding="utf-8")
    assert [n for n, _ in rules_left_out(load_config(tmp_path / "own.toml"))] == ["R1"]
    assert rules_left_out(CFG) == [] and held_back_findings([], None, CFG).is_empty()


@pytest.mark.parametrize("change,fires", [("死亡注销", True), ("停发", False), ("调整", False), ("新增", False)])
def test_c1_fires_on_a_death_cancellation_only(change, fires):
    """李四 (60) stopped or adjusted in 低保 is no lost labourer: C1 is a 死亡注销 alone."""
    sig = run({"civil": civil(("A-02", "李四", None, None, "低保", change, D(2026, 10, 5)))})
    assert fired(sig, "C1").height == int(fires)


@pytest.mark.parametrize("cert,fires", [("新办", True), ("换领", False), ("注销", False)])
def test_d1_fires_on_a_new_certificate_only(cert, fires):
    """A certificate re-issued or cancelled is no new disability: D1 reads 新办 alone."""
    sig = run({"disability": frame("disability", "残联", [dict(
        record_id="CJ1", pid="A-01", name="张三", id_raw=None, disability_type="肢体", level="二级", cert_type=cert,
        issue_date=D(2026, 10, 2), township="大店镇")])})
    assert fired(sig, "D1").height == int(fires)


def _repeat_in_october(kind, dept, september: dict, october: dict) -> tuple[pl.DataFrame, pl.DataFrame, str]:
    """(warnings, suppressed, September's 预警编号): household A's record as in September, warned
    then and still open, and as in October."""
    def of(row, period):
        df, links = frame(kind, dept, [dict(record_id="R1", pid="A-01", name="张三", id_raw=None, **row)])
        return run_rules({kind: df}, links, ROSTER, CFG, period)
    sep = assign_warnings(of(september, "2026-09"), ROSTER, "2026-09", None, CFG)[0]
    h = sep.with_columns(period=pl.lit("2026-09"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))
    return *assign_warnings(of(october, P), ROSTER, P, h, CFG), sep["warning_id"][0]


@pytest.mark.parametrize("before,now,escalates", [("四级", "三级", True), ("三级", "二级", True), ("一级", "一级", False),
                                                  ("一级", "三级", False)])
def test_d1_escalates_when_the_level_got_more_severe(before, now, escalates):
    """张三's 新办 certificate warned in September and still open: the level more severe in
    October escalates it (SPEC §4); the same or a milder level is a repeat."""
    cert = lambda level: dict(disability_type="肢体", level=level, cert_type="新办", issue_date=D(2026, 9, 1),  # noqa: E731
                              township="大店镇")
    w, sup, sep = _repeat_in_october("disability", "残联", cert(before), cert(now))
    assert (w["escalates"].to_list(), sup.height) == (([sep], 0) if escalates else ([], 1))


@pytest.mark.parametrize("months,escalates", [(6, True), (5, False)])
def test_r1_escalates_when_the_months_unpaid_doubled(months, escalates):
    """张三 warned in September for 3 months unpaid, still open: 6 months in October is the
    signal doubled, an escalation; 5 is a repeat."""
    ev = lambda m: dict(event_type="停止缴费", event_date=D(2026, 9, 1), months_unpaid=m)  # noqa: E731
    w, sup, sep = _repeat_in_october("hr", "人社", ev(3), ev(months))
    assert (w["escalates"].to_list(), sup.height) == (([sep], 0) if escalates else ([], 1))


@pytest.mark.parametrize("earlier,suppressed", [(3000.01, True), (3000.0, False)])
def test_a_sum_grown_but_not_doubled_is_a_repeat(earlier, suppressed):
    """王五's 6,000 against an open warning of 3,000.01: grown, not doubled, suppressed; of 3,000 it escalates."""
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    w, sup = assign_warnings(sig, ROSTER, P, hist(earlier, "open"), CFG)
    assert (sup.height, w.height) == ((1, 0) if suppressed else (0, 1))


def test_a_household_s_size_is_its_stated_one_when_the_roster_lists_fewer_members():
    """A roster listing 1 of a household's 4 (家庭人口数 4, the others not monitored): its annual
    income is 4 x 年人均纯收入, so 个人自付 of 3,000 is 30% of 10,000 (M2 quiet), not 120% of 2,500."""
    from pipelines.rules import households

    roster = ROSTER.with_columns(household_size=pl.when(pl.col("household_id") == "B").then(4)
                                 .otherwise("household_size"), income_per_capita=pl.lit(2500.0))
    assert households(roster).filter(pl.col("household_id") == "B")["size"].to_list() == [4]
    df, links = med(("B-01", "王五", None, 3000.0))
    assert fired(run_rules({"med_settlement": df}, links, roster, CFG, P), "M2").is_empty()


@pytest.mark.parametrize("status,fires", [("辍学", True), ("休学", True), ("在读", False), ("转出", False), ("毕业", False)])
def test_e1_fires_on_a_pupil_out_of_school_only(status, fires):
    """A 初中 pupil in school, transferred or graduated has not dropped out: E1 is 辍学/休学 alone."""
    sig = run({"education": frame("education", "教育", [dict(
        record_id="G1", pid="A-01", name="张三", id_raw=None, school="一中", stage="初中", status=status,
        change_date=D(2026, 10, 1), annual_cost=None)])})
    assert fired(sig, "E1").height == int(fires)


@pytest.mark.parametrize("stage,fires", [("高中", True), ("中职", True), ("高校", True), ("初中", False), ("小学", False)])
def test_e2_is_of_schooling_beyond_the_compulsory_years_only(stage, fires):
    """12,000 a year borne by a 初中 or 小学 pupil is no E2 (compulsory schooling is free: E1 watches it)."""
    sig = run({"education": frame("education", "教育", [dict(
        record_id="G1", pid="A-01", name="张三", id_raw=None, school="一中", stage=stage, status="在读",
        change_date=D(2026, 10, 1), annual_cost=12000.0)])})
    assert fired(sig, "E2").height == int(fires)


@pytest.mark.parametrize("decision,households", [("unmatched", ["B", None]), ("review", ["B"])])
def test_c2_a_record_waiting_for_review_is_no_lead(decision, households):
    """孙七's 新增 特困 waits for a human to say whose it is (a roster person may be behind it):
    no new-household lead until then; left unmatched, it is one."""
    df, links = civil(("B-01", "王五", None, "大店镇", "临时救助", "新增", D(2026, 10, 2)),
                      (None, "孙七", "341302********9999", "夹沟", "特困", "新增", D(2026, 10, 2)))
    links = links.with_columns(decision=pl.when(pl.col("person_id").is_null()).then(pl.lit(decision)).otherwise("decision"))
    assert fired(run({"civil": (df, links)}), "C2")["household_id"].to_list() == households


def test_an_earlier_warning_without_a_status_is_taken_as_open():
    """A history row whose status nobody gave (a caller without `with_status`) still suppresses its repeat."""
    sig = run({"med_settlement": med(("B-01", "王五", None, 6000.0))})
    h = hist(6000.0, "open", period="2026-05").with_columns(status=pl.lit(None, pl.Utf8))
    w, sup = assign_warnings(sig, ROSTER, P, h, CFG)
    assert (sup.height, w.height) == (1, 0)


@pytest.mark.parametrize("before,now", [("二级", "一级"), ("四级", "三级")])
def test_d1_a_level_more_severe_escalates_however_far_from_doubled(before, now):
    """张三's 二级 certificate warned in September (高, rank 3) and still open: 一级 in October (高,
    rank 4, not twice 3) is the level more severe (SPEC §4): escalated, its basis naming the levels."""
    cert = lambda level: dict(disability_type="肢体", level=level, cert_type="新办", issue_date=D(2026, 9, 1),  # noqa: E731
                              township="大店镇")
    w, sup, sep = _repeat_in_october("disability", "残联", cert(before), cert(now))
    assert (w["escalates"].to_list(), sup.height) == ([sep], 0)
    assert w["basis"][0].endswith(f"（升级：前次预警 {sep} 等级{before}，本次{now}）")


def test_m3_a_masked_name_under_an_id_showing_two_whole_names_stays_apart():
    """张*敏 under an ID text that 张妹敏 and 张丽敏 both show fits either: added to neither."""
    sig = run({"med_settlement": med((None, "张妹敏", "341323********5108", 7612.24),
                                     (None, "张丽敏", "341323********5108", 7612.24),
                                     (None, "张*敏", "341323********5108", 13247.19))})
    assert fired(sig, "M3").is_empty()


@pytest.mark.parametrize("renumbered", [True, False])
def test_a_split_off_member_s_level_more_severe_escalates_her_earlier_warning(renumbered):
    """李四's 二级 certificate warned in September under household A, still open; in October,
    split off into S, hers is 一级: the level more severe escalates it, naming household A."""
    def d1(pid, level, roster, period):
        df, links = frame("disability", "残联", [dict(
            record_id="CJ1", pid=pid, name="李四", id_raw=None, disability_type="肢体", level=level, cert_type="新办",
            issue_date=D(2026, 9, 1), township="大店镇")])
        return run_rules({"disability": df}, links, roster, CFG, period)
    sep = assign_warnings(d1("A-02", "二级", ROSTER, "2026-09"), ROSTER, "2026-09", None, CFG)[0]
    h = sep.with_columns(period=pl.lit("2026-09"), status=pl.lit("open"), verified_on=pl.lit(None, pl.Date))
    roster, now, her = split(renumbered)
    w, sup = assign_warnings(d1(her, "一级", roster, P), roster, P, h, CFG, persons_now=now)
    assert w.select("household_id", "escalates").rows() == [("S", sep["warning_id"][0])] and sup.is_empty()
    assert w["basis"][0].endswith(f"（升级：前次预警 {sep['warning_id'][0]}（原户 A） 等级二级，本次一级）")


# --- a 参保名单 missing one township's persons ---------------------------------------------------
# 大店镇 130 and 夹沟镇 125 households of two, 桃沟乡 35 (12% of the roster): 桃沟乡's 医保 office's
# export was not merged into the list, which passes as the county's (87% ≥ 80%).
def _county(towns: dict[str, int], extra: pl.DataFrame | None = None) -> pl.DataFrame:
    rows = [dict(person_id=f"{t}{h:03d}-{m}", household_id=f"{t}{h:03d}", township=t, village="村", group="1组",
                 name=f"{t}{h}{m}", id_number=None, relation="户主" if m == 1 else "配偶", household_size=2,
                 income_per_capita=5000.0, household_type="脱贫户", phone=None)
            for t, n in towns.items() for h in range(n) for m in (1, 2)]
    roster = pl.DataFrame(rows, schema={**ROSTER.schema, "id_number": pl.Utf8, "phone": pl.Utf8})
    return roster if extra is None else pl.concat([roster, extra.select(roster.columns).cast(roster.schema)])


def _listing(roster: pl.DataFrame, absent, status=None) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The list's rows (one per roster person but those `absent`, linked) and their links;
    `status`: person -> 参保状态 other than 正常参保."""
    shown = roster.filter(~pl.col("person_id").is_in(list(absent)))
    df = shown.select(record_id="CB" + pl.col("person_id"), name="name", id_raw=pl.lit(None, pl.Utf8),
                      status=pl.col("person_id").replace_strict(status or {}, default="正常参保"),
                      year=pl.lit(2026)).with_columns(
        dept=pl.lit("医保"), kind=pl.lit("med_enrollment"), file=pl.lit("f.csv"), line=pl.int_range(2, shown.height + 2))
    links = shown.select(dept=pl.lit("医保"), kind=pl.lit("med_enrollment"), record_id="CB" + pl.col("person_id"),
                         decision=pl.lit("matched"), person_id="person_id", household_id="household_id")
    return df, links


TOWNS = {"大店镇": 130, "夹沟镇": 125, "桃沟乡": 35}


def test_m4_calls_no_one_absent_in_a_township_the_list_left_out():
    """The list shows none of 桃沟乡's 35 households (but one person of it, 暂停参保) and all the rest
    but 3 households of 大店镇: 桃沟乡's households are not warned as absent (not 35 grid workers
    sent to insured families), its suspended person still is, 大店镇's 3 households still are,
    and the data-quality report names 桃沟乡 and its share."""
    roster = _county(TOWNS)
    gone = roster.filter((pl.col("township") == "桃沟乡") & (pl.col("person_id") != "桃沟乡000-1")
                         | pl.col("household_id").is_in(["大店镇000", "大店镇001", "大店镇002"]))["person_id"]
    df, lk = _listing(roster, gone, {"桃沟乡000-1": "暂停参保"})
    sig = fired(run_rules({"med_enrollment": df}, lk, roster, CFG, P), "M4").sort("household_id")
    assert sig["household_id"].to_list() == ["大店镇000", "大店镇001", "大店镇002", "桃沟乡000"]
    assert all("不在医保参保名单" in b for b in sig["basis"][:3]) and sig["basis"][3] == "桃沟乡01 参保状态为暂停参保（2026年度）"
    (rule, why), = held_back({"med_enrollment": df}, lk, roster, CFG, P)
    assert rule == "M4" and "桃沟乡 1%" in why and "大店镇" not in why and "夹沟镇" not in why
    found = held_back_findings([(rule, why)], None, CFG)
    assert found["category"].to_list() == [Finding.RULE_HELD_BACK] and "桃沟乡" in found["detail"][0]
    off = load_config(overrides=["M4.min_township_share=0"])  # (townships not judged: all warned, as before)
    assert fired(run_rules({"med_enrollment": df}, lk, roster, off, P), "M4").height == 3 + 35


def test_m4_still_warns_the_absent_of_a_small_township():
    """A township of 20 persons with 3 absent (85%), and one of 3 households with one absent (67%,
    under 80% but within chance for 3 families): not partial, their absent persons are warned."""
    small = pl.concat([_county({"桥头镇": 10}), _county({"小店乡": 3})])
    roster = _county(TOWNS, small)
    gone = ["桥头镇000-1", "桥头镇000-2", "桥头镇001-1", "小店乡000-1", "小店乡000-2"]
    df, lk = _listing(roster, gone)
    sig = fired(run_rules({"med_enrollment": df}, lk, roster, CFG, P), "M4")
    assert sorted(sig["household_id"].to_list()) == ["小店乡000", "桥头镇000", "桥头镇001"]
    assert held_back({"med_enrollment": df}, lk, roster, CFG, P) == []


def test_review_impact_holds_back_a_township_the_run_held_back():
    """桃沟乡 is held back (its part of the list left out). A 暂停参保 record in review whose best
    candidate is 桃沟乡001-1, beside one of a 大店镇 household of 10 on the list: answered, the
    suspension is warned; her spouse's absence is not (the run holds 桃沟乡), though on these two
    households alone 桃沟乡 would not look left out (1 of 2, one family)."""
    from pipelines.review_answers import best_guess
    from pipelines.rules import review_impact

    big = pl.DataFrame([dict(person_id=f"大店镇900-{m}", household_id="大店镇900", township="大店镇", village="村",
                             group="1组", name=f"大{m}", id_number=None, relation="户主", household_size=10,
                             income_per_capita=5000.0, household_type="脱贫户", phone=None) for m in range(10)])
    roster = _county(TOWNS, big)
    df, lk = _listing(roster, roster.filter(pl.col("township") == "桃沟乡")["person_id"])
    waiting = pl.DataFrame([dict(record_id=r, name="x", id_raw=None, status=st, year=2026, dept="医保",
                                 kind="med_enrollment", file="f.csv", line=9000 + i)
                            for i, (r, st) in enumerate([("CBR1", "暂停参保"), ("CBR2", "正常参保")])])
    df = pl.concat([df, waiting.cast(df.schema)])
    lk = pl.concat([lk, pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_enrollment"] * 2, "record_id": ["CBR1", "CBR2"],
                                      "decision": ["review"] * 2, "person_id": ["桃沟乡001-1", "大店镇900-0"],
                                      "household_id": ["桃沟乡001", "大店镇900"]})], how="diagonal").with_columns(
        score=pl.lit(0.9), reason=pl.lit("x"), n_candidates=pl.lit(1))
    candidates = pl.DataFrame({
        "dept": ["医保"] * 2, "kind": ["med_enrollment"] * 2, "record_id": ["CBR1", "CBR2"], "decision": ["review"] * 2,
        "rank": [1, 1], "person_id": ["桃沟乡001-1", "大店镇900-0"], "household_id": ["桃沟乡001", "大店镇900"],
        "score": [0.9, 0.9], "reason": ["x"] * 2, "cause": ["weak"] * 2, "rivals": [None, None]},
        schema_overrides={"rivals": pl.Utf8})
    signals = run_rules({"med_enrollment": df}, lk, roster, CFG, P, candidates=candidates)
    assert fired(signals, "M4").is_empty()  # 桃沟乡 held back, the rest all on the list
    got = review_impact({"med_enrollment": df}, lk, roster, CFG, P, signals, best_guess(candidates),
                        candidates=candidates)
    assert got["record_id"].to_list() == ["CBR1"]
    assert got["impact"][0] == "M4 未参加基本医疗保险：桃沟乡11 参保状态为暂停参保（2026年度）"


# --- persons 民政 reported dead --------------------------------------------------------------

def _hr(*rows):
    return frame("hr", "人社", [dict(record_id=f"RS{i}", pid=pid, name=n, id_raw=None, event_type="失业登记",
                                    event_date=D(2026, 10, 1), months_unpaid=0) for i, (pid, n) in enumerate(rows)])


def _dead_in_october(*rows, decision="matched", earlier=None):
    """`known_dead` of 民政 records (pid, 变动类型, 变动日期) delivered in October, linked as `decision`."""
    df, lk = civil(*[(p, "某", None, None, "低保", ct, d) for p, ct, d in rows])
    return known_dead(deaths(df, lk.with_columns(decision=pl.lit(decision)), CFG), earlier, ROSTER, P)


def _october(**kw):
    """张三 (A-01, 56) absent from the 参保名单, 李四 (A-02) 暂停参保, 张三 unemployed and with
    6,000 元 of his own medical costs: M4 names both, R1 and M1 张三, M2 the household."""
    return run({"med_enrollment": enrollment(("A-02", "暂停参保"), ("B-01", "正常参保"), ("C-01", "正常参保")),
                "hr": _hr(("A-01", "张三")), "med_settlement": med(("A-01", "张三", None, 6000.0)),
                "civil": civil(("A-01", "张三", None, None, "低保", "死亡注销", D(2026, 10, 3)))}, LIST_OF_4, **kw)


def test_a_person_reported_dead_is_not_warned_of_what_their_death_explains():
    """张三 died on 2026-10-03 (民政 死亡注销, linked): his insurance ending (M4) and his being out of
    work (R1) are explained by it, and no grid worker goes to his family to ask. His medical costs
    before it (M1, M2) are a real risk to the household, and C1 is the death itself: they go out. M4's
    warning of the household goes out for 李四, without him; R1 names no one else: not sent."""
    dead = _dead_in_october(("A-01", "死亡注销", D(2026, 10, 3)))
    assert dead.select("person_id", "household_id", "change_date", "reported").rows() == [
        ("A-01", "A", D(2026, 10, 3), P)]
    sig = _october(deceased=dead)
    kept, not_sent = for_the_living(sig, dead, LIST_OF_4, P)
    assert sorted(kept["rule"]) == ["C1", "M1", "M2", "M4"]
    m4 = fired(kept, "M4").row(0, named=True)
    assert m4["person_ids"] == ["A-02"] and "张三" not in m4["basis"] and "李四 参保状态为暂停参保" in m4["basis"]
    assert m4["signal"] == 1.0 and [p["person_id"] for p in m4["parts"]] == ["A-02"]
    assert all(fired(kept, r).equals(fired(sig, r)) for r in ("M1", "M2", "C1"))
    assert not_sent.select("rule", "household_id", "person_id", "whole").rows() == [
        ("M4", "A", "A-01", False), ("R1", "A", "A-01", True)]
    # said as a rule held back is: the data-quality report, and the console's attention lines
    notes = death_notes(not_sent, P)
    assert [r for r, _ in notes] == ["M4", "R1"]
    assert notes[1][1].startswith("1 人已由民政报告死亡（变动日期不晚于 2026-10-31），本规则不再为其预警：1 条预警未下发："
                                  "A-01（民政 死亡注销 2026-10-03）"), notes
    assert "0 条预警未下发，1 条预警去掉其人后下发：A-01（民政 死亡注销 2026-10-03）" in notes[0][1]
    found = held_back_findings(notes, None, LIST_OF_4)
    assert found.select("category", "dept").rows() == [(Finding.RULE_HELD_BACK, "医保"), (Finding.RULE_HELD_BACK, "人社")]
    assert found["detail"][1].startswith("R1: 1 人已由民政报告死亡")


def test_a_death_the_warehouse_holds_of_an_earlier_period_silences_every_later_month():
    """张三's 死亡注销 came in August's 民政 extract; the roster still lists him in October, absent
    from the 参保名单: he is not warned, and the note says when it was reported."""
    earlier = pl.DataFrame({"dept": ["民政"], "record_id": ["MZ9"], "person_id": ["A-01"], "household_id": ["A"],
                            "change_type": ["死亡注销"], "change_date": [D(2026, 8, 20)], "period": ["2026-08"]})
    dead = known_dead(deaths(None, pl.DataFrame(), CFG), earlier, ROSTER, P)
    kept, not_sent = for_the_living(_october(), dead, LIST_OF_4, P)
    assert fired(kept, "R1").is_empty() and fired(kept, "M4")["person_ids"].to_list() == [["A-02"]]
    assert "A-01（民政 死亡注销 2026-08-20，2026-08 报送）" in death_notes(not_sent, P)[0][1]
    # a death stored of a later period (a re-run of October after November ran) is not yet known
    assert known_dead(deaths(None, pl.DataFrame(), CFG), earlier.with_columns(period=pl.lit("2026-11")), ROSTER, P).is_empty()


@pytest.mark.parametrize("decision,when,change", [
    ("review", D(2026, 10, 3), "死亡注销"),     # a doubtful link silences no warning
    ("unmatched", D(2026, 10, 3), "死亡注销"),
    ("matched", D(2026, 11, 2), "死亡注销"),    # dead after the period's end: alive in October
    ("matched", D(2026, 10, 3), "停发"),        # 低保 stopped: alive
])
def test_only_a_death_linked_for_sure_by_the_periods_end_silences_a_warning(decision, when, change):
    dead = _dead_in_october(("A-01", change, when), decision=decision)
    sig = _october()
    kept, not_sent = for_the_living(sig, dead, LIST_OF_4, P)
    assert kept.equals(sig) and not_sent.is_empty() and death_notes(not_sent, P) == []


def test_the_rules_a_death_explains_are_the_configs():
    """Which rules a death explains is data: M4 without `explained_by_death` warns 张三 again; a
    death with no 变动日期 said is one reported by the period's end."""
    dead = _dead_in_october(("A-01", "死亡注销", None))
    cfg = load_config(overrides=["M4.min_roster_share=0.5", "M4.explained_by_death=false"])
    kept, not_sent = for_the_living(_october(), dead, cfg, P)
    assert fired(kept, "M4")["person_ids"].to_list() == [["A-01", "A-02"]] and fired(kept, "R1").is_empty()
    assert not_sent["rule"].to_list() == ["R1"] and "A-01（民政 死亡注销 日期不详）" in death_notes(not_sent, P)[0][1]


def test_c1_of_a_household_left_without_a_living_member_asks_to_check_its_closing():
    """王五 was household B's only roster member: C1 still goes out (the household may need help, or
    closing), its basis saying so. 张三's household keeps 李四: nothing added; with 李四 reported dead
    in August, no one is left alive."""
    sig = run({"civil": civil(("B-01", "王五", None, None, "低保", "死亡注销", D(2026, 10, 3)),
                              ("A-01", "张三", None, None, "低保", "死亡注销", D(2026, 10, 3)))})
    c1 = fired(sig, "C1").sort("household_id")
    assert c1["household_id"].to_list() == ["A", "B"]
    assert c1["basis"][1] == "家庭成员 王五（36岁）2026-10-03 死亡注销；户内无其他在册成员，请核实是否销户"
    assert "户内" not in c1["basis"][0]
    earlier = pl.DataFrame({"dept": ["民政"], "record_id": ["MZ9"], "person_id": ["A-02"], "household_id": ["A"],
                            "change_type": ["死亡注销"], "change_date": [D(2026, 8, 20)], "period": ["2026-08"]})
    dead = known_dead(deaths(None, pl.DataFrame(), CFG), earlier, ROSTER, P)
    c1 = fired(run({"civil": civil(("A-01", "张三", None, None, "低保", "死亡注销", D(2026, 10, 3)))}, deceased=dead), "C1")
    assert c1["basis"].item().endswith("死亡注销；户内在册成员均已死亡注销，请核实是否销户")


def test_the_review_queue_does_not_weigh_a_warning_of_a_person_known_dead():
    """An 人社 record in review whose best candidate is 张三, whom 民政 reported dead: its answer
    would raise no R1 (his death explains it), so the queue does not say it would; 王五's would."""
    from pipelines.review_answers import best_guess
    from pipelines.rules import review_impact

    df, links = frame("hr", "人社", [dict(record_id=f"RS{i}", pid=pid, name=n, id_raw=None, event_type="失业登记",
                                          event_date=D(2026, 10, 1), months_unpaid=0)
                                     for i, (pid, n) in enumerate([("A-01", "张*"), ("B-01", "王*")])])
    links = links.with_columns(decision=pl.lit("review"), score=pl.lit(0.9), reason=pl.lit("x"), n_candidates=pl.lit(1))
    candidates = pl.DataFrame({
        "dept": ["人社"] * 2, "kind": ["hr"] * 2, "record_id": ["RS0", "RS1"], "decision": ["review"] * 2,
        "rank": [1] * 2, "person_id": ["A-01", "B-01"], "household_id": ["A", "B"], "score": [0.9] * 2,
        "reason": ["x"] * 2, "cause": ["weak"] * 2, "rivals": [None] * 2}, schema_overrides={"rivals": pl.Utf8})
    signals = run_rules({"hr": df}, links, ROSTER, CFG, P, candidates=candidates)
    dead = _dead_in_october(("A-01", "死亡注销", D(2026, 9, 30)))
    impact = lambda **kw: review_impact({"hr": df}, links, ROSTER, CFG, P, signals, best_guess(candidates),  # noqa: E731
                                        candidates=candidates, **kw)["record_id"].to_list()
    assert sorted(impact()) == ["RS0", "RS1"] and impact(deceased=dead) == ["RS1"]

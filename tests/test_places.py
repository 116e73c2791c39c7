from datetime import date

import polars as pl
import pytest

from config import load_config
from matchers.places import (group_keys, normalize_place, place_key, places_not_found, resolve_places, village_and_group,
                             water_links)
from schemas import Link


def norm(values, level="village"):
    return pl.select(v=normalize_place(pl.lit(pl.Series(values, dtype=pl.Utf8)), level))["v"].to_list()


def test_normalize_place():
    assert norm(["王庄", "王庄村", "王庄村委会", "王庄社区", " 王庄村民委员会", None, ""]) == ["王庄"] * 5 + [None, None]
    assert norm(["时村镇", "时村乡", "时村", "城东街道"], "township") == ["时村", "时村", "时村", "城东"]
    # a one-character stem is not a name: 永镇镇 written 永镇 is still 永镇
    assert norm(["永镇镇", "永镇"], "township") == ["永镇", "永镇"]
    assert norm(["楼村", "楼村村委会"]) == ["楼村", "楼村"]
    assert norm(["3组", "三组", "第三组", "3", "第十二村民小组", "03组", "3村民组"], "group") == ["3"] * 4 + ["12", "3", "3"]
    # the body's name after the place's: 王庄村村委会, 大店镇人民政府 (one suffix only was stripped)
    assert norm(["王庄村村委会", "王庄村村民委员会", "楼村村委会"]) == ["王庄", "王庄", "楼村"]
    assert norm(["大店镇人民政府", "时村乡人民政府", "永镇镇人民政府"], "township") == ["大店", "时村", "永镇"]


def test_a_place_written_under_its_higher_units_is_the_place():
    """Systems write a place under its county, township or village (埇桥区大店镇, 大店镇王庄村,
    王庄村3组): the place is the last unit. A name merely holding such a character keeps it
    (镇东村 is not 东村 of a 镇, 新市镇 not a 市's 镇; the roster is read alike)."""
    assert norm(["埇桥区大店镇", "宿州市埇桥区大店镇", "安徽省宿州市埇桥区大店镇"], "township") == ["大店"] * 3
    assert norm(["新市镇", "市场镇", "县集镇", "宿州经济技术开发区"], "township") == ["新市", "市场", "县集", "宿州经济技术开发区"]
    assert norm(["大店镇王庄村", "埇桥区大店镇王庄村委会", "城东街道办事处王庄社区", "大店镇王庄社区"]) == ["王庄"] * 4
    assert norm(["镇东村", "区庄村", "新镇村", "大店镇镇东村"]) == ["镇东", "区庄", "新镇", "镇东"]
    assert norm(["王庄村3组", "王庄村委会三组", "第十二村民小组", "3村民组"], "group") == ["3", "3", "12", "3"]


def roster():
    return pl.DataFrame({
        "township": ["大店镇", "大店镇", "时村乡", "时村乡"],
        "village": ["王庄村", "王庄村", "刘圩村", "王庄村"],
        "group": ["1组", "2组", "3组", "1组"],
    })


def test_resolve_places():
    water = pl.DataFrame({
        "dept": ["水利"] * 5, "kind": ["water"] * 5,
        "record_id": ["a", "b", "c", "d", "e"],
        "township": ["大店", "大店镇", "曹村镇", "时村镇", "时村乡"],
        "village": ["王庄", "王庄村委会", "刘圩", "马集", "刘圩村"],
        "group": ["", "第二组", None, None, "9组"],
    })
    out = resolve_places(water, roster()).sort("record_id")
    assert out.height == 5
    assert out["decision"].to_list() == ["matched", "matched", "matched", "unmatched", "matched"]
    assert out["township"].to_list()[:3] == ["大店镇", "大店镇", "时村乡"]  # c: 刘圩 is unique in the county
    assert out["village"][0] == "王庄村"
    assert out["group"].to_list()[:2] == [None, "2组"]
    assert out["group"][4] == "9组" and "not on roster" in out["reason"][4]
    assert out["reason"].to_list()[:4] == ["township+village; whole village", "township+village; group found",
                                          "village unique in county; whole village", "village not on roster"]
    # written under higher units: the same places (a village outside the roster was unmatched:
    # no W1 for its households)
    under = pl.DataFrame({"record_id": ["b", "c", "e"], "township": ["宿州市埇桥区大店镇", "埇桥区曹村镇", None],
                          "village": ["大店镇王庄村委会", "曹村镇刘圩", "埇桥区时村乡刘圩村"],
                          "group": ["王庄村第二组", None, "9组"]})
    again = resolve_places(under, roster()).sort("record_id")
    assert again.select("decision", "township", "village").rows() == [
        ("matched", "大店镇", "王庄村"), ("matched", "时村乡", "刘圩村"), ("matched", "时村乡", "刘圩村")]
    assert again["group"].to_list() == ["2组", None, "9组"]


def test_a_village_found_by_its_name_alone_is_found_only_when_one_and_reads_its_groups_there():
    """A township written wrong or not at all: the village is found by its name when the county has
    one of that name (刘圩村), its groups read there (第三组 is its 3组; 4组 is not one of them);
    a name two townships have (王庄村) is not guessed at: unmatched."""
    water = pl.DataFrame({"record_id": ["c", "f", "g"], "township": ["曹村镇", "曹村镇", None],
                          "village": ["刘圩", "王庄", "刘圩村"], "group": ["第三组", None, "4组"]})
    assert resolve_places(water, roster()).drop("record_id").rows() == [
        ("时村乡", "刘圩村", "3组", "matched", "village unique in county; group found"),
        (None, None, None, "unmatched", "village in several townships, none the record's"),
        ("时村乡", "刘圩村", "4组", "matched", "village unique in county; group not on roster")]


def test_groups_numbered_in_tens_and_the_widest_range_read():
    """二十组 is group 20 (二十三组 23); a range reaches at most MAX_GROUP_RANGE groups past its first
    (1-31组), a wider one is read as written (1-32组)."""
    assert [group_keys(v) for v in ["二十组", "第二十三组", "十组"]] == [["20"], ["23"], ["10"]]
    assert group_keys("1-31组") == [str(i) for i in range(1, 32)] and group_keys("1-32组") == ["1-32"]


def test_a_work_order_about_several_groups_names_each():
    """水利 writes a problem of more than one group in one cell (1、2组, 1-2组, 1组,2组, 第1、2组,
    1组2组): it read as one group no roster household is in, W1 warned no one, and the report
    said the group might be renamed or mistyped. Each group on the roster is now the record's;
    a range wider than MAX_GROUP_RANGE, or a sub-group (3-1组), is read as written."""
    assert [group_keys(v) for v in ["1、2组", "1-2组", "1组,2组", "第1、2组", "1组2组", "1至3组", "第二组", "3-1组", None]] == [
        ["1", "2"]] * 5 + [["1", "2", "3"], ["2"], ["3-1"], None]
    water = pl.DataFrame({"record_id": list("abcd"), "township": ["大店镇"] * 4, "village": ["王庄村"] * 4,
                          "group": ["1、2组", "2-3组", "第3、4组", "2组"]})
    out = resolve_places(water, roster())
    assert out["group"].to_list() == ["1组、2组", "2组", "第3、4组", "2组"]
    assert [r.split("; ")[1] for r in out["reason"]] == ["group found", "group found", "group not on roster", "group found"]


def test_a_group_written_as_the_whole_village_is_the_whole_village():
    """SPEC §3: an empty 村民小组 is the whole village; 全村, 全部 or a dash there say the same
    (`matching.whole_village_groups`). They were groups not on the roster: W1 reached no one."""
    words = ("全村", "全部", "-")
    water = pl.DataFrame({"record_id": ["a", "b", "c", "d"], "township": ["大店镇"] * 4, "village": ["王庄村"] * 4,
                          "group": ["全村", " 全 部 ", "－", "全体"]})
    out = resolve_places(water, roster(), words).sort("record_id")
    assert out["group"].to_list() == [None, None, None, "全体"]
    assert [r.endswith("whole village") for r in out["reason"]] == [True, True, True, False]
    assert resolve_places(water, roster())["group"].to_list() == ["全村", " 全 部 ", "－", "全体"]  # (no words given)
    assert "全村" in load_config().matching.whole_village_groups


def test_water_links_fit_the_link_model():
    water = pl.DataFrame({"dept": ["水利"] * 2, "kind": ["water"] * 2, "record_id": ["a", "b"],
                          "township": ["大店镇", "大店镇"], "village": ["王庄", "马集"], "group": [None, None]})
    links = Link.validate(water_links(resolve_places(water, roster())))
    assert links["decision"].to_list() == ["matched", "unmatched"]
    assert links["person_id"].is_null().all()


def test_an_unresolved_water_record_that_reaches_no_household_is_reported_not_lost():
    """A village with no roster household (renamed, merged, mistyped, or holding none), a group
    holding none: the work order reaches no household (W1 warns none), so the report names the
    unresolved ones, per file and kind of miss; found places and resolved orders are not named."""
    water = pl.DataFrame({
        "dept": ["水利"] * 5, "kind": ["water"] * 5, "file": ["水利/a.csv"] * 4 + ["水利/b.csv"], "line": [2, 3, 4, 5, 2],
        "record_id": ["ok", "gone", "nogroup", "fixed", "gone2"],
        "township": ["大店镇", "大营镇", "时村乡", "大营镇", "时村乡"], "village": ["王庄村", "邓湖村", "刘圩村", "邓湖村", "马集"],
        "group": [None, None, "9组", None, None], "resolved_date": [None, None, None, date(2026, 10, 3), None],
    }, schema_overrides={"resolved_date": pl.Date})
    found = places_not_found(water, resolve_places(water, roster()), date(2026, 10, 31))
    assert found.select("category", "dept", "file", "count").rows() == [
        ("地点无监测户 place with no roster household", "水利", "水利/a.csv", 1),
        ("地点无监测户 place with no roster household", "水利", "水利/a.csv", 1),
        ("地点无监测户 place with no roster household", "水利", "水利/b.csv", 1)]
    d = found["detail"].to_list()
    assert d[0].startswith("未解决的工单所在行政村在户籍底册中没有监测对象户") and d[0].count("（大营镇 邓湖村）") == 1
    assert d[1].startswith("未解决的工单所在村民小组") and "nogroup（时村乡 刘圩村 9组）" in d[1]
    assert not any("ok（" in x or "fixed（" in x for x in d)


def test_an_unresolved_work_order_in_a_village_two_other_townships_have_is_named_as_such():
    """王庄村 is a village of 大店镇 and of 时村乡; an order writes it under 曹村镇. It is not guessed
    at (unmatched) and warns no one, and the report said its village holds no roster household,
    sending the county to look for a village that is there twice: it says the name is in several
    townships, none the one written."""
    water = pl.DataFrame({"dept": ["水利"], "kind": ["water"], "file": ["水利/a.csv"], "line": [2], "record_id": ["w"],
                          "township": ["曹村镇"], "village": ["王庄"], "group": [None], "resolved_date": [None]},
                         schema_overrides={"resolved_date": pl.Date})
    resolved = resolve_places(water, roster())
    assert resolved.select("decision", "reason").rows() == [("unmatched", "village in several townships, none the record's")]
    d = places_not_found(water, resolved, date(2026, 10, 31))["detail"].to_list()
    assert len(d) == 1 and d[0].startswith("未解决的工单所在行政村名在户籍底册中属多个乡镇，均非工单所写乡镇") and "w（曹村镇 王庄）" in d[0], d
    assert "没有监测对象户" not in d[0]


def test_places_of_counties_far_from_suzhou_are_read_without_their_units():
    """Inner Mongolia's 苏木 (township) and 嘎查 (village), Guangxi's 屯 and the 社 of Gansu and
    Chongqing (村民小组), a 民族乡 written with or without its people (竹核彝族乡 / 竹核乡): each
    kept its unit, so 额木庭高勒 did not agree with 额木庭高勒苏木, a 水利 order for 乌兰 or 那然
    found no village or group (W1 warned no one) and a 民政 record of 竹核乡 went to review with
    its place disagreeing. The units are the config's (`matching.places`)."""
    assert norm(["额木庭高勒苏木", "额木庭高勒", "额木庭高勒镇", "科尔沁右翼中旗额木庭高勒苏木"], "township") == ["额木庭高勒"] * 4
    assert norm(["竹核彝族乡", "竹核乡", "竹核", "四川省凉山彝族自治州昭觉县竹核彝族乡", "竹核彝族乡人民政府"], "township") == ["竹核"] * 5
    assert norm(["瓦窑坝傈僳族彝族乡", "瓦窑坝乡", "兴隆回族镇", "兴隆镇"], "township") == ["瓦窑坝", "瓦窑坝", "兴隆", "兴隆"]
    assert norm(["回族乡", "镇北乡", "城北街道办事处"], "township") == ["回族乡", "镇北", "城北"]  # (a stem keeps two)
    assert norm(["乌兰嘎查", "乌兰", "乌兰嘎查村民委员会", "额木庭高勒苏木乌兰嘎查", "新村村", "村前村", "乡里社区"]) == [
        "乌兰"] * 4 + ["新村", "村前", "乡里"]
    assert norm(["那然屯", "那然", "大定村那然屯", "一社", "1社", "第一村民小组", "乌兰嘎查1组"], "group") == [
        "那然"] * 3 + ["1"] * 4
    ros = pl.DataFrame({"township": ["额木庭高勒苏木", "竹核彝族乡", "地苏镇"], "village": ["乌兰嘎查", "竹核村", "大定村"],
                        "group": ["1组", "上寨组", "那然屯"]})
    water = pl.DataFrame({"record_id": ["a", "b", "c"], "township": ["额木庭高勒", "竹核乡", "地苏镇"],
                          "village": ["乌兰", "竹核村委会", "大定"], "group": [None, "上寨", "那然"]})
    out = resolve_places(water, ros, names=load_config().matching.places).sort("record_id")
    assert out.select("decision", "township", "village", "group").rows() == [
        ("matched", "额木庭高勒苏木", "乌兰嘎查", None), ("matched", "竹核彝族乡", "竹核村", "上寨组"),
        ("matched", "地苏镇", "大定村", "那然屯")]
    assert [r.split("; ")[0] for r in out["reason"]] == ["township+village"] * 3
    # the config says which units there are: without 屯, a 屯 is a name of its own
    cfg = load_config(overrides=['matching.places.group=["村民小组", "组"]'])
    assert norm(["那然屯"], "group") == ["那然"] and place_key("那然屯", "group", cfg.matching.places) == "那然屯"


def test_a_village_cell_naming_its_group_too_is_that_village_and_group():
    """A work order's place in one cell (大定村那然屯, 王庄村3组, 永安村委拉烈屯) was a village not on the
    roster: W1 warned no one. It is now the village, and the group when the group's own cell is empty; a
    name holding a village's unit stays whole (村前屯, 新村组, 村村通)."""
    assert norm(["大定村那然屯", "王庄村3组", "大店镇王庄村委会第三组", "桑木社区1组", "乌兰嘎查1组", "大村二组"]) == [
        "大定", "王庄", "王庄", "桑木", "乌兰", "大村"]
    assert norm(["村前屯", "新村组", "村村通", "王庄村民小组"]) == ["村前屯", "新村组", "村村通", "王庄村民小组"]
    # (村委, 居委: 村委会 and 居委会 as often written)
    assert norm(["王庄村委", "桑木居委", "永安村委拉烈屯"]) == ["王庄", "桑木", "永安"]
    assert village_and_group("大定村那然屯") == ("大定村", "那然屯") and village_and_group("王庄村") == ("王庄村", None)
    ros = pl.DataFrame({"township": ["地苏镇", "地苏镇", "大店镇", "大店镇"], "village": ["大定村", "大定村", "王庄村", "王庄村"],
                        "group": ["那然屯", "弄谷屯", "3组", "4组"]})
    water = pl.DataFrame({"record_id": ["a", "b", "c", "d"], "township": ["地苏镇", "地苏镇", "大店镇", "大店镇"],
                          "village": ["大定村那然屯", "大定村弄谷屯", "王庄村3组", "王庄村"], "group": [None, " ", "4组", None]})
    out = resolve_places(water, ros).sort("record_id")
    assert out.select("decision", "village", "group").rows() == [
        ("matched", "大定村", "那然屯"), ("matched", "大定村", "弄谷屯"), ("matched", "王庄村", "4组"), ("matched", "王庄村", None)]


def test_a_mistyped_place_level_in_a_config_file_is_refused_naming_it():
    import pytest
    import tomllib

    from config import DEFAULT_CONFIG, build_config
    raw = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    bad = dict(raw, matching=dict(raw["matching"], places=dict(raw["matching"]["places"], villag=["村"])))
    with pytest.raises(ValueError, match="matching.places.villag: unknown key"):
        build_config(bad, raw)


def test_a_work_order_for_the_whole_gacha_or_community_is_the_whole_village():
    """全嘎查 (Inner Mongolia), 全社区 / 全居 (a city's community) say 全村: they were read as a group
    no roster household is in, and W1 warned no one."""
    ros = pl.DataFrame({"township": ["额木庭高勒苏木", "东嘎街道"], "village": ["乌兰嘎查", "桑木社区"], "group": ["1组", None]})
    water = pl.DataFrame({"record_id": ["a", "b", "c"], "township": ["额木庭高勒苏木", "东嘎街道", "东嘎街道"],
                          "village": ["乌兰嘎查", "桑木社区", "桑木社区"], "group": ["全嘎查", "全社区", "全居"]})
    out = resolve_places(water, ros, load_config().matching.whole_village_groups).sort("record_id")
    assert out["group"].to_list() == [None] * 3 and all(r.endswith("whole village") for r in out["reason"])


def test_a_work_order_to_be_solved_after_its_period_is_unresolved_when_its_village_is_not_found():
    """W1 takes a 解决日期 after the period's last day as a plan, not yet solved (it warns the
    village): such an order whose village no roster household is in warns no one either, so the
    report names it as it names one left empty. Solved within the period: not named."""
    water = pl.DataFrame({
        "dept": ["水利"] * 3, "kind": ["water"] * 3, "file": ["水利/a.csv"] * 3, "line": [2, 3, 4],
        "record_id": ["planned", "solved", "open"], "township": ["大营镇"] * 3, "village": ["邓湖村"] * 3,
        "group": [None] * 3, "resolved_date": [date(2026, 12, 20), date(2026, 10, 30), None],
    }, schema_overrides={"resolved_date": pl.Date})
    found = places_not_found(water, resolve_places(water, roster()), date(2026, 10, 31))
    assert found["count"].to_list() == [2]
    assert "planned（大营镇 邓湖村）" in found["detail"][0] and "open（" in found["detail"][0]
    assert "solved（" not in found["detail"][0]


def test_a_work_order_solved_on_the_periods_last_day_is_solved_and_a_long_list_is_cut_at_five():
    """Solved on the last day of the period: solved within it, not named. More than five orders
    of a file and kind of miss: the first five named, then …; five: all of them, no …."""
    def water(n: int, solved=None) -> pl.DataFrame:
        return pl.DataFrame({
            "dept": ["水利"] * n, "kind": ["water"] * n, "file": ["水利/a.csv"] * n, "line": list(range(2, n + 2)),
            "record_id": [f"W{i}" for i in range(1, n + 1)], "township": ["大营镇"] * n, "village": ["邓湖村"] * n,
            "group": [None] * n, "resolved_date": [solved] * n}, schema_overrides={"resolved_date": pl.Date})
    last = date(2026, 10, 31)
    assert places_not_found(water(1, last), resolve_places(water(1, last), roster()), last).is_empty()
    six, five = (places_not_found(w, resolve_places(w, roster()), last) for w in (water(6), water(5)))
    assert six["count"].to_list() == [6] and five["count"].to_list() == [5]
    named = "、".join(f"W{i}（大营镇 邓湖村）" for i in range(1, 6))
    assert (named + "… — ") in six["detail"][0] and "W6（" not in six["detail"][0]
    assert (named + " — ") in five["detail"][0]


@pytest.mark.parametrize("township", [None, " "])
def test_an_order_without_a_township_in_a_village_two_townships_have_says_none_was_written(township):
    """王庄村 is a village of 大店镇 and of 时村乡; an order writes no township. It is not guessed at
    (unmatched), but neither its reason nor the report may say the township written is not one of
    them: none was written, and the county is asked to write it."""
    water = pl.DataFrame({"dept": ["水利"], "kind": ["water"], "file": ["水利/a.csv"], "line": [2], "record_id": ["w"],
                          "township": [township], "village": ["王庄"], "group": [None], "resolved_date": [None]},
                         schema_overrides={"resolved_date": pl.Date, "township": pl.Utf8})
    resolved = resolve_places(water, roster())
    assert resolved.select("decision", "reason").rows() == [("unmatched", "village in several townships, no township written")]
    d = places_not_found(water, resolved, date(2026, 10, 31))["detail"].to_list()
    assert len(d) == 1 and d[0].startswith("未解决的工单未写乡镇，其行政村名在户籍底册中属多个乡镇") and "w（王庄）" in d[0], d
    assert "均非工单所写乡镇" not in d[0] and "没有监测对象户" not in d[0]


def test_a_place_under_five_higher_units_and_a_name_holding_one_after_another_unit():
    """A village written under five units (省, 市, 区, a 开发区, 镇) is the village; a township whose
    name holds a county's unit after a county (埇桥区新市镇) is cut at the county, not at the 市 of
    its name (a unit is cut at its first occurrence, one at a time)."""
    assert norm(["安徽省宿州市埇桥区宿州经济技术开发区大店镇王庄村"]) == ["王庄"]
    assert norm(["埇桥区新市镇", "宿州市埇桥区新市镇"], "township") == ["新市", "新市"]


def test_groups_joined_by_and_are_each_named():
    """3组和5组, 3组及4组: a work order names two groups with 和 or 及 as with 、."""
    assert [group_keys(v) for v in ["3组和5组", "3组及4组", "3和4组"]] == [["3", "5"], ["3", "4"], ["3", "4"]]

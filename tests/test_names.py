import polars as pl
import pytest

from matchers.names import compare_names, edge_pinyin, full_pinyin, name_stats, name_u, normalize_name, other_readings


def nn(*names):
    return pl.select(n=normalize_name(pl.lit(pl.Series(list(names), dtype=pl.Utf8))))["n"]


def test_normalize_name():
    assert nn("張 曉明", "阿依古丽•买买提", "阿依古丽.买买提", "张＊", "  ", None).to_list() == [
        "张晓明", "阿依古丽·买买提", "阿依古丽·买买提", "张*", None, None]
    assert nn("张●明", "张##", "*明").to_list() == ["张*明", "张**", "*明"]  # other systems' masks


def test_a_note_in_brackets_after_a_name_is_no_part_of_it():
    """A roster or a department writes a person's state after the name (张桂霞（已故）, 卢强明(残),
    李四【户主】): the note compared as characters added, surname-only, and the sample county's
    roster so written lost three 医保 links (two to review, one unmatched)."""
    assert nn("张桂霞（已故）", "卢强明(残)", "李四【户主】", "张*（残）", "（空）").to_list() == [
        "张桂霞", "卢强明", "李四", "张*", None]
    assert compare_names(nn("张桂霞", "卢强明(残)"), nn("张桂霞（已故）", "卢强明")).to_list() == ["exact", "exact"]


def levels(pairs):
    rec = nn(*[r for r, _ in pairs])
    return compare_names(rec, pl.Series([c for _, c in pairs])).to_list()


def test_levels():
    pairs = [
        ("张晓明", "张晓明"), ("張曉明", "张晓明"), ("张*明", "张晓明"), ("张*", "张晓明"), ("*明", "张晓明"),
        ("张**", "张晓明"), ("张晓铭", "张晓明"), ("张明晓", "张晓明"), ("张明", "张晓明"), ("张晓明明", "张晓明"),
        ("张晓东", "张晓明"), ("张伟", "张晓明"), ("李晓明", "张晓明"), ("*", "张晓明"), ("李*", "张晓明"),
        ("张*明", "张晓红"), ("张***", "张晓明"),
    ]
    assert levels(pairs) == [
        "exact", "exact", "masked-agree", "masked-agree", "masked-agree",
        "masked-agree", "homophone", "swapped", "dropped", "added",
        "one-char", "surname-only", "disagree", "missing", "disagree",
        "one-char", "surname-only",
    ]


def test_a_masked_name_one_shown_character_off_is_one_char_only_when_long_enough_hidden_surname_or_not():
    """A masked name all of whose shown characters but one agree (two or more shown) is one-char
    off: also when the mask hides the surname (*晓明 for 李晓红), which then shows nothing to tell a
    surname by. A roster name shorter than the mask is not it (张*明 has 3 characters or more:
    张红 shares the surname only); two shown characters off, none agreeing, is another name.
    A roster name shorter than the record, last in code order (龟), is read to its end, no further."""
    assert levels([("*晓明", "李晓红"), ("*晓明", "李小红"), ("张*明", "张红"), ("张晓明", "龟"), ("张晓*", "龟")]) == [
        "one-char", "disagree", "surname-only", "disagree", "disagree"]


def test_two_masked_names_agree_on_what_both_show():
    """The 参保名单 masks names too: a masked name on the right is compared the same way round as
    on the left, and two masked names agree when every character both show agrees; 张* and *明
    show no position in common (both could be 张晓明): nothing is compared."""
    pairs = [("张晓明", "张*"), ("张晓明", "*明"), ("张*明", "张**"), ("张*明", "*明"), ("张*", "*明"),
             ("*明", "张**"), ("张*", "李*"), ("*明", "*红"), ("张*明", "李**"), ("张晓明", "李*")]
    assert levels(pairs) == ["masked-agree"] * 4 + ["missing"] * 2 + ["disagree"] * 4


def test_two_masked_names_compare_only_what_each_shows_from_the_same_end():
    """A `*` hides any number of characters: a masked name's characters are compared with what the
    other shows from the same end, not with its characters from the other end nor beyond its
    end. 艾力**·买买提 (a 参保名单's) is 艾* and *提 (a record's) as much as they are it, whichever
    side it is on (it read as 艾*'s surname only, and *提's 提 was held against its 买); 张三* and
    *明 show no position in common (张三明: the 三 is not *明's 明)."""
    pairs = [("艾力**·买买提", "艾*"), ("艾*", "艾力**·买买提"), ("艾力**·买买提", "*提"), ("*提", "艾力**·买买提"),
             ("买买**·塔依尔", "买*"), ("张三*", "*明"), ("*明", "张三*"), ("艾力**·买买提", "*尔"), ("张三*", "李*")]
    assert levels(pairs) == ["masked-agree"] * 5 + ["missing"] * 2 + ["disagree"] * 2


def test_a_name_against_no_name_compares_nothing_whichever_side_it_is_on():
    """A record or a 参保名单 line without a name shows nothing to compare: `missing`, not a
    disagreement (a masked name, turned to the left, held its characters against nothing)."""
    assert levels([("陈*雪", None), (None, "陈*雪"), ("陈小雪", None), (None, "陈小雪"), ("陈*", "")]) == ["missing"] * 5


def test_u_reflects_frequency_and_masking():
    roster = nn("张伟", "张伟", "张强", "张敏", "李明", "王芳", "王伟", "赵晓东")
    u = name_u(nn("张伟", "赵晓东", "张*", "*伟"), name_stats(roster)).sort("name")
    d = {r["name"]: r for r in u.iter_rows(named=True)}
    assert d["张伟"]["u_exact"] > d["赵晓东"]["u_exact"]  # common name, short name
    assert d["张*"]["u_exact"] > d["张伟"]["u_exact"]  # a mask shows less
    assert d["张*"]["u_exact"] >= 3 / 8  # roster share of other 张 (the candidate itself not counted)
    assert d["张伟"]["u_surname"] > d["赵晓东"]["u_surname"]
    for r in d.values():
        assert 0 < r["u_exact"] <= r["u_one_char"] <= 1


def test_empirical_u_counts_the_other_roster_persons_a_name_could_be():
    """The share of roster names agreeing with a name's visible characters, the matching person
    itself not counted: 张伟 borne by 4 of 8 is another's by chance 3/8; 张* (5 names start with
    张) 4/8; 张** only names at least 3 long (张晓明 alone, itself): about nothing, not the 张伟s."""
    roster = nn(*["张伟"] * 4, "李明", "王芳", "张晓明", "赵东")
    u = dict(name_u(nn("张伟", "张*", "张**"), name_stats(roster)).select("name", "u_exact").iter_rows())
    assert u["张伟"] == pytest.approx(3 / 8) and u["张*"] == pytest.approx(4 / 8), u
    assert u["张**"] < 0.05, u


def test_edge_pinyin_gives_no_key_for_a_masked_end():
    """A masked first or last character reads as no key (null), not as `*`: every masked
    name would share it."""
    got = edge_pinyin(pl.Series(["*明", "张*", "张明", None]))
    assert got.rows() == [(None, "ming"), ("zhang", None), ("zhang", "ming"), (None, None)]


def test_full_pinyin_reads_homophones_alike_and_masked_names_not_at_all():
    names = pl.Series(["宋锋军", "宋峰军", "宋锋君", "李*静", None])
    read = full_pinyin(names).to_list()
    assert read[0] == read[1] == "song feng jun" and read[2] == read[0]  # 军/君 both jun
    assert read[3] is None and read[4] is None
    assert full_pinyin(pl.Series(["王芳", "王方", "汪芳"])).n_unique() == 1


def test_a_hyphen_between_a_names_parts_is_its_middle_dot():
    """Systems with no dot to type write 阿依古丽-买买提 (or a full-width －): it compared as a name
    with a character added (or changed)."""
    assert nn("阿依古丽-买买提", "阿依古丽－买买提", "阿依古丽‐买买提", "-").to_list() == ["阿依古丽·买买提"] * 3 + [None]
    assert levels([("阿依古丽-买买提", "阿依古丽·买买提")]) == ["exact"]


def test_a_whole_name_written_without_its_middle_dot_is_the_same_name():
    """A Uyghur name's parts are written apart by a dot, or by a space (dropped with the spaces),
    or run together (阿不都热合曼买买提): the same name, not one with a character dropped. It
    compared as `dropped` (m 0.01 against exact's 0.9, its u the dotless spelling's, as though
    nobody else bore the name), the typo pass's whole-name key read the dot, and a record with no
    ID and no place (the full-name pass) found no one. Masked names keep their dots: a mask
    counts them (阿卜**·艾买提)."""
    roster = ["阿不都热合曼·买买提", "阿不都热合曼·买买提", "阿不都热合曼·买买提", "热依拉·吐尔洪", "阿卜杜萨拉木·艾买提"]
    assert levels([("阿不都热合曼买买提", roster[0]), ("阿不都热合曼 买买提", roster[0]), ("热依拉吐尔洪", roster[3]),
                   ("阿不都热合曼·买买提", "阿不都热合曼买买提"), ("阿不都热合曼买提", roster[0]),
                   ("阿布都热合曼买买提", roster[0]), ("阿卜**·艾买提", roster[4]), ("阿卜杜萨拉木·艾买", roster[4])]) == [
        "exact", "exact", "exact", "exact", "dropped", "one-char", "masked-agree", "dropped"]
    assert full_pinyin(pl.Series(["阿依古丽·买买提", "阿依古丽买买提"])).n_unique() == 1
    # its chance agreement is the dotted name's: three of the five bear it
    u = name_u(nn("阿不都热合曼买买提", "阿不都热合曼·买买提"), name_stats(nn(*roster)))
    assert u["u_exact"].n_unique() == 1 and u["u_exact"][0] >= 2 / 5


def test_a_name_in_parts_shown_by_one_part_alone_is_its_own_level():
    """A Uyghur's record may show the person's own name without the father's (艾尔肯 for
    艾尔肯·阿不都拉). It compared as surname-only (the first character), whose u is every name
    starting with 艾: a record showing a full 18-digit ID went to review at p 0.98. It is now
    `one-part`, its u the share of roster names having that part (or being one of its parts);
    a Han name has no parts (张三 against 张三丰 is still `dropped`)."""
    assert levels([("艾尔肯", "艾尔肯·阿不都拉"), ("艾尔肯·阿不都拉", "艾尔肯"), ("阿不都拉", "艾尔肯·阿不都拉"),
                   ("艾尔肯·买买提", "艾尔肯·阿不都拉"), ("艾尔", "艾尔肯·阿不都拉"), ("张三", "张三丰")]) == [
        "one-part", "one-part", "one-part", "surname-only", "surname-only", "dropped"]
    roster = nn("艾尔肯·阿不都拉", "艾尔肯·买买提", "艾力·阿不都拉", "艾尔肯", "张三", "李四", "王五", "赵六")
    u = {r["name"]: r for r in name_u(nn("艾尔肯", "艾力·阿不都拉", "张三"), name_stats(roster)).iter_rows(named=True)}
    assert u["艾尔肯"]["u_one_part"] >= 2 / 8  # a part of two names
    assert u["艾力·阿不都拉"]["u_one_part"] >= u["艾力·阿不都拉"]["u_exact"]  # no roster name is one of its parts
    assert u["张三"]["u_one_part"] == u["张三"]["u_exact"]


def test_a_config_copied_before_a_name_level_existed_takes_its_default_m():
    import tomllib

    from config import DEFAULT_CONFIG, build_config, check_values
    raw = tomllib.loads(DEFAULT_CONFIG.read_text(encoding="utf-8"))
    levels_before = {k: v for k, v in raw["matching"]["name_levels"].items() if k != "one-part"}
    old = dict(raw, matching=dict(raw["matching"], name_levels=levels_before))
    check_values(old, raw)
    assert build_config(old, raw).matching.name_levels["one-part"] == 0.01


def test_a_fixed_mask_over_a_part_of_a_name_hides_what_it_hides():
    """Systems mask a part of a name written in parts with a fixed `**` (阿不**·买买提), whatever
    it hides: 买买**·塔依尔 for 买买提·塔依尔 (one character), 艾力**·买买提 for 艾力·买买提 (none).
    Such a record was longer than the name, so it compared as surname-only and waited in review,
    or was not linked at all. A Han name's stars still each stand for a character (张** is not
    张明)."""
    assert levels([("买买**·塔依尔", "买买提·塔依尔"), ("艾力**·买买提", "艾力·买买提"), ("阿不**·买买提", "阿不都热合曼·买买提"),
                   ("买买**·塔依尔", "买买提·吐尔逊"), ("张**", "张明"), ("张*明", "张明")]) == [
        "masked-agree", "masked-agree", "masked-agree", "surname-only", "surname-only", "surname-only"]
    u = name_u(nn("买买**·塔依尔"), name_stats(nn("买买提·塔依尔", "艾力·买买提", "张三")))
    assert u["u_exact"][0] > 0


def test_a_masked_name_is_as_common_whether_or_not_a_roster_name_is_just_as_long_as_it_shows():
    """买买**·塔依尔 shows 6 characters (its dot too): a name at least that long may be behind it.
    Its chance is the share of such roster names whether or not one of them is just 6 long (a
    roster without one gave it the floor of an unseen length, 1e-3, 300 times too small: a masked
    record in parts then weighed as if its name were that rare)."""
    roster = nn(*["张三丰", "李四光", "王五", "买买提·塔依尔", "阿不都·买买提"] * 20)
    u = [name_u(nn("买买**·塔依尔"), name_stats(r))["u_exact"][0] for r in (roster, pl.concat([roster, nn("艾力·买买提")]))]
    assert u[0] == pytest.approx(u[1], rel=0.05), u


def test_a_character_reads_alike_as_names_read_it_too_as_the_config_lists():
    """Homophones compare toneless readings. A character's usual reading is not always the one a
    name gives it: 都 in 阿不都 is du (阿卜杜: 卜 bu), the surname 曾 zeng (a typist's 增), 甫 in
    玉素甫 pu (玉素普). `matching.name_readings` adds those; a dictionary's rare readings are not
    taken (王 and 于 share one: 于娟莉 is not 王娟丽)."""
    from config import load_config

    readings = load_config().matching.name_readings
    pairs = [("阿卜杜热合曼", "阿不都热合曼"), ("增国强", "曾国强"), ("善明", "单明"), ("玉素普·吐尔逊", "玉素甫·吐尔逊"),
             ("谢*", "解*"), ("于娟莉", "王娟丽"), ("张晓铭", "张晓明")]
    rec, ros = nn(*[r for r, _ in pairs]), pl.Series([c for _, c in pairs])
    assert compare_names(rec, ros).to_list() == [
        "surname-only", "disagree", "disagree", "one-char", "disagree", "disagree", "homophone"]
    assert compare_names(rec, ros, readings).to_list() == [
        "homophone", "homophone", "homophone", "homophone", "homophone", "disagree", "homophone"]


def test_names_read_alike_share_a_blocking_key_read_every_way():
    """Blocking's pinyin keys are each name's usual reading (`edge_pinyin`, `full_pinyin`) and,
    for a name holding a character `name_readings` lists, its other readings (`other_readings`):
    every pair `compare_names` calls homophones with those readings shares a key (增国强 and 曾国强
    zeng guo qiang, 阿卜杜 and 阿不都 a bu du, 解* and 谢* xie), whichever side holds the
    character. A name without one has no other reading."""
    from config import load_config

    readings = load_config().matching.name_readings
    pairs = [("阿卜杜热合曼", "阿不都热合曼"), ("增国强", "曾国强"), ("单明", "善明"), ("玉素普·吐尔逊", "玉素甫·吐尔逊"),
             ("谢*", "解*"), ("曾*强", "增国强"), ("张晓铭", "张晓明"), ("乐乐", "悦乐")]
    rec, ros = nn(*[r for r, _ in pairs]), nn(*[c for _, c in pairs])
    assert set(compare_names(rec, ros, readings)) == {"homophone"}

    def keys(names: pl.Series) -> list[set]:
        usual = pl.concat([names.to_frame("name"), edge_pinyin(names), full_pinyin(names).rename("fpy").to_frame()],
                          how="horizontal")
        rows = pl.concat([usual, other_readings(names, readings)]).rows()
        return [{k[1:] for k in rows if k[0] == n} for n in names]

    for r, c, kr, kc in zip(rec, ros, keys(rec), keys(ros)):
        whole = "*" not in r + c
        assert {k[2] for k in kr} & {k[2] for k in kc} if whole else {k[0] for k in kr} & {k[0] for k in kc}, (r, c)
    assert other_readings(nn("张晓明", "王芳", "阿依古丽·买买提"), readings).is_empty()


def test_other_readings_give_only_the_other_ways_up_to_max_keys_ways():
    """曾国强 reads two ways (ceng usual, zeng): one row, the zeng reading, not the usual one again;
    a name read more than `max_keys` ways has none, one read just `max_keys` ways has its rows."""
    from config import load_config

    readings = load_config().matching.name_readings
    assert other_readings(nn("曾国强"), readings).rows() == [("曾国强", "zeng", "qiang", "zeng guo qiang")]
    assert other_readings(nn("曾国强"), readings, max_keys=2).height == 1
    assert other_readings(nn("曾国强"), readings, max_keys=1).is_empty()


def test_name_readings_are_checked_as_the_config_is_read():
    from config import load_config

    assert load_config(overrides=['matching.name_readings={"都"=["du"]}']).matching.name_readings == {"都": ["du"]}
    for bad in ['{"都"=["Du"]}', '{"阿不"=["a"]}', '{"都"=["du", 1]}']:
        with pytest.raises(ValueError, match="name_readings"):
            load_config(overrides=[f"matching.name_readings={bad}"])


def test_other_readings_of_one_long_name_stay_bounded():
    """`other_readings` enumerates the product of every character's readings: a name value
    holding 16 characters of `name_readings` (an address or unit pasted into 姓名: 长, 都, 重,
    朝, 乐, 单, 区, 员 are common characters; values up to `MAX_FIELD_CHARS` = 500 pass the
    validator) gives 65,535 key rows for one record, 20 give a million, and `_read_every_way`
    repeats the record (and the roster row) once per row."""
    from config import load_config
    from matchers.names import other_readings

    rd = load_config().matching.name_readings
    out = other_readings(pl.Series(["长都重朝乐单解查长都重朝乐单解查"]), rd)
    assert out.height < 1000

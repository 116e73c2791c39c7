import polars as pl
import pytest
from hypothesis import given, settings, strategies as st

from matchers.ids import check_char, fixed_stars, normalize_ids, one_edit_ids


def norm(*raw):
    return normalize_ids(pl.DataFrame({"id_raw": list(raw)}, schema={"id_raw": pl.Utf8}))


def test_check_char_known_ids():
    assert check_char("34130219620111273") == "4"
    assert check_char("11010519491231002") == "X"
    assert check_char("3413021962") == ""  # too short: no exception


def test_masks_and_dirt_normalise():
    out = norm(
        "341302196201112734",  # full
        "'342201********2205",  # apostrophe
        "341302＊＊＊＊＊＊＊＊6128",  # full-width stars
        "34220119560506****",  # first 14 kept
        " ３４１３０２196201112734 ",  # spaces, full-width digits
        "11010519491231002x",  # lower-case x
        "11010519491231002×",  # X typed as the multiplication sign
        "341302-19620111-2734",  # grouped by dashes
        "342201—********—2205",
    )
    assert out["id_norm"].to_list() == [
        "341302196201112734", "342201********2205", "341302********6128", "34220119560506****",
        "341302196201112734", "11010519491231002X", "11010519491231002X", "341302196201112734", "342201********2205",
    ]
    assert out["id_status"].to_list() == ["full_valid", "masked", "masked", "masked", "full_valid", "full_valid",
                                          "full_valid", "full_valid", "masked"]
    assert out["kept"][1] == "111111000000001111"


def test_other_mask_characters_are_masks():
    """Systems that mask with #, ● or X (341302XXXXXXXX123X) instead of `*`: the kept characters
    count (the ID was read as showing nothing, its record linked by name alone); an X stands for
    a check character only last, and a lone one in the body is a hidden position."""
    out = norm("341302########123X", "341302●●●●●●●●6128", "341302xxxxxxxx2205", "341302XXXXXXXX123X",
               "34130219620111273x", "3413021962X1112734", "34130219620111273X42", "G34130219620111273X")
    assert out["id_norm"].to_list() == [
        "341302********123X", "341302********6128", "341302********2205", "341302********123X",
        "34130219620111273X", "3413021962*1112734", "34130219620111273X", "34130219620111273X"]
    assert out["id_status"].to_list()[:4] == ["masked"] * 4


def test_zero_width_characters_pasted_along_are_no_part_of_an_id():
    """A zero-width space or BOM copied along with an ID (from a web page into a workbook's cell)
    shows nothing: the ID was read as none, its record linked by name alone."""
    out = norm("\u200b341302196201112734", "341302196201112734\ufeff", "341302\u200c********2734\u2060")
    assert out["id_norm"].to_list() == ["341302196201112734", "341302196201112734", "341302********2734"]
    assert out["id_status"].to_list() == ["full_valid", "full_valid", "masked"]


def test_an_id_typed_into_its_cell_with_a_name_or_a_label_is_that_id():
    """A clerk types the person's name, or 身份证：, into the 证件号码 cell with the ID: the ID was
    read as none (the record linked by name and place alone, or sent to review). A cell of
    words only, or of words and a number no ID, stays no ID."""
    out = norm("郑浩旭 341302199604160734", "342223198811152609（赵丽丽）", "身份证：342201********1119",
               "341302620111273 王五", "赵丽丽", "张三 12345", "户主 张三")
    assert out["id_norm"].to_list() == ["341302199604160734", "342223198811152609", "342201********1119",
                                        "341302196201112734"] + ["*" * 18] * 3
    assert out["id_status"].to_list() == ["full_valid", "full_valid", "masked", "full_valid"] + ["missing"] * 3


def test_other_id_forms():
    out = norm("34222319570410315473", "G341302196201112734", "341302620111273", "341302*****2734")
    assert out["id_norm"].to_list()[:3] == ["342223195704103154", "341302196201112734", "341302196201112734"]
    assert out["id_status"].to_list()[:3] == ["full_valid"] * 3
    # a short star run is padded so prefix and the last 4 keep their positions
    assert out["id_norm"][3] == "341302********2734"


def test_a_masked_old_15_digit_id_is_read_at_its_own_positions():
    """341302620111273 masked 6+4 is 341302*****1273: its kept tail is the birth day's last digit
    and the sequence, at positions 13-16 of the new ID (century and check character unknown).
    Among 18-character masks of its department it is an old ID; where a department's masks are
    mostly 15 characters long its system writes five stars for any ID (the tail then is the
    new ID's last four); a reading whose month or day no date has is never taken."""
    dept = ["医保"] * 5 + ["民政"] * 3
    raw = ["341302*****1273", "342201********2205", "341302********6128", "34130262011****", "3413**********1234",
           "341302*****2734", "341302*****6128", "3413021962*1273"]
    out = normalize_ids(pl.DataFrame({"id_raw": raw, "dept": dept}))
    assert out["id_norm"].to_list() == [
        "341302*******1273*", "342201********2205", "341302********6128", "341302**62011*****",
        "3413**********1234", "341302********2734", "341302********6128", "3413021962****1273"]
    assert out["kept"][0] == "111111000000011110"
    assert out["id_status"].to_list() == ["masked"] * 8
    # a part of the rows (a review queue's records) is read as the whole is, given its fixed_stars
    part = pl.DataFrame({"id_raw": raw[:1], "dept": dept[:1]})
    assert normalize_ids(part)["id_norm"][0] == "341302********1273"  # (alone, all its masks are 15 long)
    whole = pl.DataFrame({"id_raw": raw, "dept": dept})
    assert normalize_ids(part, fixed=fixed_stars(whole))["id_norm"][0] == "341302*******1273*"
    # only the birth date kept (6 stars, yymmdd, 3 stars): no star count reads it otherwise
    assert norm("******620111***")["id_norm"][0] == "******19620111****"


def test_destroyed_and_typo_ids():
    out = norm("3.41302E+17", "341302196201112000", "341302196201112735")
    assert out["id_status"].to_list() == ["destroyed", "destroyed", "full_check_failed"]
    # Excel rounds the 6-digit mantissa, so its last digit is not trusted
    assert out["id_norm"][0] == "34130" + "*" * 13
    assert out["id_norm"][1] == "341302196201112***"
    assert out["kept"][2] == "1" * 18


def test_missing_and_garbage():
    out = norm(None, "", "abc", "12345")
    assert out["id_status"].to_list() == ["missing"] * 4
    assert out["id_norm"].to_list() == ["*" * 18] * 4


@settings(max_examples=200, deadline=None)
@given(st.lists(st.one_of(st.none(), st.text(max_size=25),
                          st.text(alphabet="0123456789*＊xX' .E+G", max_size=22)), max_size=20))
def test_any_string_gives_a_value(raw):
    out = norm(*raw)
    assert out.height == len(raw)
    assert out["id_norm"].str.len_chars().to_list() == [18] * len(raw)
    assert set(out["id_status"]) <= {"full_valid", "full_check_failed", "masked", "destroyed", "missing"}
    for n, k in zip(out["id_norm"], out["kept"]):
        assert k == "".join("0" if c == "*" else "1" for c in n)


def test_excel_zero_filled_ids_keep_only_real_digits():
    # read back from an Excel number: the region survives, the zeros are not data
    out = norm("341302000000000000", "342201196306032000")
    assert out["id_status"].to_list() == ["destroyed", "destroyed"]
    assert out["id_norm"][0] == "34130" + "*" * 13
    # a 000 tail is destroyed even when the check character happens to pass
    assert out["id_norm"][1] == "342201196306032***"


def _slips(i: str):
    """Every one-character change and every adjacent swap of i."""
    chars = "0123456789X"
    yield from (i[:k] + c + i[k + 1:] for k in range(18) for c in (chars if k == 17 else chars[:10]) if c != i[k])
    yield from (i[:k] + i[k + 1] + i[k] + i[k + 2:] for k in range(17) if i[k] != i[k + 1])


@settings(max_examples=40, deadline=None)
@given(st.text("0123456789", min_size=17, max_size=17))
def test_one_edit_ids_are_exactly_the_valid_ids_one_slip_away(id17):
    i = id17 + check_char(id17)
    # every slip the check catches (an X moved off the end is no ID at all)
    typed = [s for s in _slips(i) if "X" not in s[:17] and check_char(s[:17]) != s[17]]
    near = one_edit_ids(pl.Series(typed))
    for row, typo in enumerate(typed):
        got = set(near.filter(pl.col("row") == row)["id_number"])
        want = {s for s in _slips(typo) if check_char(s[:17]) == s[17]}
        assert i in got and got == want


def test_one_edit_ids_skip_what_is_not_a_full_id():
    assert one_edit_ids(pl.Series(["341302********1234", "3413021962", None, "G341302196201112734"])).is_empty()


def test_roster_ids_failing_their_check_are_named_by_person_not_by_number():
    """A mistyped digit in the county's own roster: the report names the person (人编号, line),
    never the ID, one line per roster file; valid IDs are not named."""
    from matchers.ids import roster_check_fails

    good = "34130219900101001" + check_char("34130219900101001")
    bad = good[:10] + str((int(good[10]) + 1) % 10) + good[11:]
    roster = pl.DataFrame({"dept": ["户籍底册"] * 3, "file": ["户籍底册/a.csv"] * 3, "line": [2, 3, 4],
                           "person_id": ["H1-01", "H1-02", "H2-01"], "id_number": [good, bad, good]})
    found = roster_check_fails(roster)
    assert found.select("category", "dept", "file", "count").rows() == [
        ("身份证号校验位不符 ID check character fails", "户籍底册", "户籍底册/a.csv", 1)]
    assert "H1-02（第 3 行）" in found["detail"][0] and bad not in found["detail"][0] and "H1-01" not in found["detail"][0]
    assert roster_check_fails(roster.filter(pl.col("id_number") == good)).is_empty()


def test_null_dept_reads_a_15_character_mask_against_its_own_group_s_stats():
    """`normalize_ids` joins `fixed_stars`' groups on dept/kind with nulls unequal: rows whose dept
    is null (a PersonRecord frame built without dept: `_prepare_records` fills null) get
    `_fixed` null -> False -> the old reading, though `fixed_stars` of the very same frame says
    the group writes fixed stars (padded reading)."""
    df = pl.DataFrame({"id_raw": ["341302*****1273", "341302*****2222", "341302*****3333"],
                       "dept": [None] * 3, "kind": ["k"] * 3}, schema_overrides={"dept": pl.Utf8})
    assert fixed_stars(df)["_fixed"].to_list() == [True]
    assert normalize_ids(df)["id_norm"][0] == "341302********1273"


def test_check_char_is_gb11643_for_every_remainder():
    """GB 11643's check character: (12 - Σ(digit x weight) mod 11) mod 11, 10 written X. Every
    remainder 0-10 occurs below (the known IDs above reach only a few of them)."""
    weights = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
    seen = {}
    for tail in range(200):
        id17 = f"34130219620111{tail:03d}"
        r = sum(int(c) * w for c, w in zip(id17, weights)) % 11
        seen[r] = id17
        want = (12 - r) % 11
        assert check_char(id17) == ("X" if want == 10 else str(want)), id17
    assert sorted(seen) == list(range(11))
    # the vectorised check agrees: each of them valid, any other check character fails
    ids = [i + check_char(i) for i in seen.values()]
    assert norm(*ids)["id_status"].to_list() == ["full_valid"] * 11
    wrong = [i[:17] + ("0" if i[17] != "0" else "1") for i in ids]
    assert norm(*wrong)["id_status"].to_list() == ["full_check_failed"] * 11


def test_a_value_too_long_for_its_stars_or_for_an_id_is_no_id():
    """341302*123456789012 has no room for any hidden position (6 + 12 shown already make 18): it
    is not read as the 18 digits around its star; 19 digits are no ID (a 残疾人证号 is 18 + 2)."""
    out = norm("341302*196201112734", "3413021962011127341")
    assert out["id_status"].to_list() == ["missing", "missing"]
    assert out["id_norm"].to_list() == ["*" * 18] * 2


def test_a_15_character_mask_whose_old_id_reading_shows_no_month_is_read_as_a_new_id():
    """3413021962*1273 among a department's 18-character masks: read as an old ID its birth
    date would be **1962*1 (month 62: no date), so it is the new ID's first 10 and last 4."""
    out = normalize_ids(pl.DataFrame({"id_raw": ["3413021962*1273", "342201********2205", "341302********6128"],
                                      "dept": ["医保"] * 3}))
    assert out["id_norm"][0] == "3413021962****1273"


def test_a_whole_id_is_valid_and_dated_or_a_roster_persons_and_an_18_digit_code_is_none():
    """A 户编号 that is the head's ID (either case of x), or a roster ID failing its check (the
    county copied it as typed), is a whole ID; an 18-digit household code whose 'birth date' is no
    day, or whose check character fails and which no roster person has, is not."""
    from matchers.ids import is_full_id

    valid = "34222319771003939" + check_char("34222319771003939")
    x = next(b + "X" for b in (f"341302198001010{i}" for i in range(10, 100)) if check_char(b) == "X")
    slipped = valid[:17] + str((int(valid[17]) + 1) % 10)  # (the check character fails)
    code = "341302101201000123"  # region + village + serial: '10120100' is no birth date
    code = code[:17] + check_char(code[:17])
    s = pl.Series([valid, x.lower(), slipped, code, "H0000123", None, valid + "1"])
    assert is_full_id(s).to_list() == [True, True, False, False, False, False, False]
    assert is_full_id(s, pl.Series([slipped.lower(), None])).to_list() == [True, True, True, False, False, False, False]


@pytest.mark.parametrize("raw,old", [
    ("341302250315***", "34130219250315****"),  # month 15
    ("34130225031035*", "3413021925031035**"),  # day 35
    ("341302620111***", "34130219620111****"),  # year 6201
])
def test_a_15_character_mask_whose_new_id_reading_shows_no_date_is_an_old_id(raw, old):
    """An old ID masked at its end (341302250315***: born 1925-03-15) where the department's
    masks are all 15 characters long (fixed stars): read as a new ID's first digits its birth
    date would be no date (2503-15-**), so it is the old ID whatever the department's stars."""
    out = normalize_ids(pl.DataFrame({"id_raw": [raw, "341302*****2734"], "dept": ["医保"] * 2}))
    assert out["id_norm"][0] == old


def test_a_department_with_exactly_half_its_masks_15_long_writes_fixed_stars():
    """One masked ID of 15 characters, one of 18 (distinct IDs counted, a settlement repeated
    being one): at least half, so its 341302*****1273 is a new ID's first 6 and last 4."""
    df = pl.DataFrame({"id_raw": ["341302*****1273", "342201********2205", "342201********2205"], "dept": ["医保"] * 3})
    assert fixed_stars(df)["_fixed"].to_list() == [True]
    assert normalize_ids(df)["id_norm"][0] == "341302********1273"


def test_a_roster_person_without_an_id_number_is_not_named_as_failing_its_check():
    """A roster row with no 证件号码 has no check character to fail: not named in the finding."""
    from matchers.ids import roster_check_fails

    good = "34130219900101001" + check_char("34130219900101001")
    roster = pl.DataFrame({"dept": ["户籍底册"] * 2, "file": ["户籍底册/a.csv"] * 2, "line": [2, 3],
                           "person_id": ["H1-01", "H1-02"], "id_number": [good, None]})
    assert roster_check_fails(roster).is_empty()


def test_an_id_masked_with_any_mask_character_shows_a_mask():
    """`shows_mask` (what tells a record's whole IDs from its masked ones without normalising):
    full-width stars and the other systems' masks as `*`; a dirty whole ID shows none."""
    from matchers.ids import shows_mask

    raw = ["341302＊＊＊＊＊＊＊＊6128", "341302********6128", "341302########123X", "341302●●●●●●●●6128",
           " ３４１３０２196201112734", "'34130219620111273x", None]
    got = pl.DataFrame({"id_raw": raw}, schema={"id_raw": pl.Utf8}).select(shows_mask(pl.col("id_raw")))
    assert got.to_series().to_list() == [True, True, True, True, False, False, None]


def test_a_masked_id_ending_in_zeros_is_masked_not_destroyed():
    """341302********1000 (sequence 100, check character 0) shows its last four as sent: only
    a whole 18-digit number ending in 000 is Excel's zero-fill."""
    out = norm("341302********1000", "34130219620111****")
    assert out["id_status"].to_list() == ["masked", "masked"]
    assert out["id_norm"][0] == "341302********1000"


def test_an_id_of_a_person_born_in_this_century_is_a_whole_id():
    """A 户编号 that is the ID of a head born in 2003 is one (its 预警编号 keyed as any other's)."""
    from matchers.ids import is_full_id

    born_2003 = "34130220030101001" + check_char("34130220030101001")
    assert is_full_id(pl.Series([born_2003])).to_list() == [True]


def test_a_17_digit_disability_certificate_made_from_an_old_id_is_read_as_the_id_it_became():
    """A 残疾人证号 issued to a person still holding an old 15-digit ID is that ID, type and level
    (34130276051527341): read as the ID the old one became (19 inserted, the check character
    computed), as a 20-character one is read as its first 18, full-width and spaced too. 17
    digits that can be no old ID (no such day, a region of no province) or whose type (1-7) or
    level (1-4) is none stay no ID."""
    new = "34130219760515273" + check_char("34130219760515273")
    out = norm("34130276051527341", "３４１３０２ ７６０５１５ ２７３ ４１", new + "41",
               "34130276023027341", "74130276051527341", "34130276051527381", "34130276051527350")
    assert out["id_norm"].to_list() == [new] * 3 + ["*" * 18] * 4
    assert out["id_status"].to_list() == ["full_valid"] * 3 + ["missing"] * 4


def test_a_masked_17_digit_certificate_is_read_at_the_old_id_s_places_among_certificates():
    """Masked (341302******27341, full-width digits and spaces too) it is read as its old ID
    masked: region and sequence digits where the new ID holds them, as a masked 20-character
    one is read at its own places. Among a department's 18-character masks a 17-character one
    is a new ID shown with a star too few, as before; a part of the rows is read as the whole is."""
    raw = ["341302******27341", "341302******２７３ ４１", "341302*******2734", "34222319570410315473",
           "341302******27341", "342201********2205", "341302********6128"]
    dept = ["残联"] * 4 + ["医保"] * 3
    out = normalize_ids(pl.DataFrame({"id_raw": raw, "dept": dept}))
    assert out["id_norm"].to_list() == [
        "341302********273*", "341302********273*", "341302*********27*", "342223195704103154",
        "341302*******27341", "342201********2205", "341302********6128"]
    assert out["id_status"].to_list() == ["masked"] * 3 + ["full_valid"] + ["masked"] * 3
    assert out["kept"][0] == "111111000000001110"
    part = pl.DataFrame({"id_raw": raw[4:5], "dept": dept[4:5]})
    assert normalize_ids(part)["id_norm"][0] == "341302********273*"  # (alone, all its numbers are certificates)
    whole = pl.DataFrame({"id_raw": raw, "dept": dept})
    assert normalize_ids(part, fixed=fixed_stars(whole))["id_norm"][0] == "341302*******27341"

import polars as pl
from hypothesis import given, settings, strategies as st

from matchers.ids import check_char, normalize_ids


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
    )
    assert out["id_norm"].to_list() == [
        "341302196201112734", "342201********2205", "341302********6128", "34220119560506****",
        "341302196201112734", "11010519491231002X",
    ]
    assert out["id_status"].to_list() == ["full_valid", "masked", "masked", "masked", "full_valid", "full_valid"]
    assert out["kept"][1] == "111111000000001111"


def test_other_id_forms():
    out = norm("34222319570410315473", "G341302196201112734", "341302620111273", "341302*****2734")
    assert out["id_norm"].to_list()[:3] == ["342223195704103154", "341302196201112734", "341302196201112734"]
    assert out["id_status"].to_list()[:3] == ["full_valid"] * 3
    # a short star run is padded so prefix and the last 4 keep their positions
    assert out["id_norm"][3] == "341302********2734"


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

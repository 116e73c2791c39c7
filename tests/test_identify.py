import polars as pl

from pipelines.identify import set_aside_unidentifiable, unreadable_ids
from schemas.outputs import Finding


def test_destroyed_id_without_name_is_set_aside_but_with_name_kept():
    df = pl.DataFrame({
        "dept": ["民政"] * 4, "kind": ["civil"] * 4, "file": ["民政/a.csv"] * 4, "line": [2, 3, 4, 5],
        "record_id": ["A", "B", "C", "D"],
        "name": ["*", "张明", None, "李*"],
        "id_raw": ["3.41302E+17", "3.41302E+17", None, "341302********1234"],
    })
    kept, rejected = set_aside_unidentifiable(df)
    assert kept["record_id"].to_list() == ["B", "D"]
    assert rejected["record_id"].to_list() == ["A", "C"]
    assert rejected["line"].to_list() == [2, 4]
    assert rejected["reason"].str.contains("无法识别").all()
    assert rejected["value"].to_list() == ["3.4130", None]


def test_a_name_of_other_mask_characters_is_no_name():
    df = pl.DataFrame({"dept": ["民政"] * 2, "kind": ["civil"] * 2, "file": ["民政/a.csv"] * 2, "line": [2, 3],
                       "record_id": ["A", "B"], "name": ["●●", "张●"], "id_raw": [None, None]},
                      schema_overrides={"id_raw": pl.Utf8})
    kept, rejected = set_aside_unidentifiable(df)
    assert kept["record_id"].to_list() == ["B"] and rejected["record_id"].to_list() == ["A"]


def test_ids_that_read_as_none_are_reported_per_file_with_lines_and_a_masked_example():
    """A delivery whose 证件号码 come in a form read as no ID (a phone number, an unknown mask)
    is named: its records are linked by name and place alone. Whole, masked, destroyed and
    empty IDs are not such."""
    df = pl.DataFrame({
        "dept": ["医保"] * 7, "kind": ["med_settlement"] * 7,
        "file": ["医保/a.csv"] * 5 + ["医保/b.csv"] * 2, "line": [2, 3, 4, 5, 6, 2, 3],
        "record_id": list("ABCDEFG"), "name": ["张三"] * 7,
        "id_raw": ["341302/19620111/2734", "13912345678", "341302196201112734", "341302********2734", "3.41302E+17",
                   "  ", None],
    })
    f = unreadable_ids(df)
    assert f.rows() == [(Finding.ID_UNREADABLE, "医保", "医保/a.csv",
                         "证件号码读不出身份证号（如 '341302**********2734'，第 2、3 行），这些记录只能按姓名与地点关联 — ID numbers "
                         "that read as none (e.g. '341302**********2734'): their records are linked by name and place alone", 2)]
    assert unreadable_ids(df.filter(pl.col("file") == "医保/b.csv")).is_empty()

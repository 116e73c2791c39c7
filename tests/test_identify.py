import polars as pl

from pipelines.identify import set_aside_unidentifiable


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

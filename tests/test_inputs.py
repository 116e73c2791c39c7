"""The one key rule (schemas/inputs.py): a record number, 户编号 or 人编号 however Excel or a clerk
spelled it is one number."""

import duckdb
import polars as pl

from schemas.inputs import record_key, record_key_sql


def test_a_number_is_one_key_however_excel_or_a_clerk_spelled_it():
    """SPEC §1: a record delivered again replaces the earlier one; a roster re-saved is the same
    households. Excel drops an all-digit number's leading zeros (0012345 -> 12345) and marks text
    with an apostrophe, a clerk types lower case (js1) or spaces between digits (3413 020001): one
    number each. A text cell keeps its zeros (JS0012 and JS12 are two records); an ID inside a
    number (残疾人证号 ID + 2 digits, 学籍号 G + ID) keeps its meaning; a household key's 户编号 is
    compared so, its place as it is; DuckDB reads it alike."""
    given = ["0012345", "12345", "000", "0", "js1", "JS1", "JS0012", "JS12", "g34130219900101123x",
             "34130219800101123X11", "MZ-07", "0a1", "民js1", "straße1", "", None,
             " 'h0001", "‘H0010", "`007", "3413 020001", "0\u00a012", "H\u30001", "0009@大店镇韩湖村", "00@x", "a@b"]
    want = ["12345", "12345", "0", "0", "JS1", "JS1", "JS0012", "JS12", "G34130219900101123X",
            "34130219800101123X11", "MZ-07", "0A1", "民JS1", "STRAßE1", "", None,  # (ASCII letters only change case)
            "H0001", "H0010", "7", "3413020001", "12", "H1", "9@大店镇韩湖村", "0@X", "A@B"]
    df = pl.DataFrame({"record_id": given})
    assert df.select(record_key(pl.col("record_id")))["record_id"].to_list() == want
    con = duckdb.connect()
    con.register("t", df)
    assert [r[0] for r in con.sql(f"SELECT {record_key_sql('record_id')} FROM t").fetchall()] == want

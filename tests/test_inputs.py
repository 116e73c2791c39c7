"""The one key rule and the one re-spelling of numbers (schemas/inputs.py): a record number, 户编号
or 人编号 however Excel or a clerk spelled it is one number, shown as the reference spells it."""

import duckdb
import polars as pl

from schemas.inputs import record_key, record_key_sql, respelled


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


def test_numbers_of_another_month_or_file_are_spelled_as_the_reference_spells_the_same_number():
    """A roster re-saved in Excel (1023 for 0001023) or retyped (h12 for H12): the 户编号/人编号 stored
    or typed elsewhere are spelled as this roster spells them, a household key's place kept; one
    the roster holds as written, or under two spellings of one number, or not at all, as it was."""
    roster = pl.DataFrame({"household_id": ["1023", "H12", "0077", "77", "5", "9@大店镇韩湖村"]})
    df = pl.DataFrame({"household_id": ["0001023", "h12", "077", "0077", "00005", "0009@大店镇韩湖村", "0009", "X1", None],
                       "person_ids": [["0001023", "h12"], [], ["X1"], None, ["5"], ["00005"], [], [], []]})
    got = respelled(respelled(df, "household_id", roster), "person_ids", roster)
    assert got["household_id"].to_list() == ["1023", "H12", "077", "0077", "5", "9@大店镇韩湖村", "0009", "X1", None]
    assert got["person_ids"].to_list() == [["1023", "H12"], [], ["X1"], None, ["5"], ["5"], [], [], []]
    assert respelled(df, "household_id", pl.DataFrame({"h": ["0001023"]})).equals(df)  # (spelled as before: as it was)


def test_record_numbers_are_spelled_as_their_department_spells_them_the_latest_delivery_first():
    """An answer re-saved in Excel (12345) or typed by hand (js1) names the record its department
    holds (0012345, JS1), not another department's; a department spelling it two ways is two
    records, not guessed — unless the spellings are one record's over periods, the latest first
    (`keep="first"`: this period's records, then the stored periods'), which wins."""
    records = pl.DataFrame({"dept": ["医保", "医保", "民政", "民政", "民政"],
                            "record_id": ["0012345", "JS1", "12345", "007", "07"]})
    answers = pl.DataFrame({"record_dept": ["医保", "医保", "民政", "民政", "民政", "残联"],
                            "record_id": ["12345", "js1", "0012345", "7", "07", "12345"]})
    by = records.select(record_dept="dept", record_id="record_id")
    got = respelled(answers, "record_id", by, ["record_dept"])
    assert got["record_id"].to_list() == ["0012345", "JS1", "12345", "7", "07", "12345"]
    first = respelled(answers, "record_id", by, ["record_dept"], keep="first")
    assert first["record_id"].to_list() == ["0012345", "JS1", "12345", "007", "007", "12345"]

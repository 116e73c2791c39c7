"""Checks of the county's own reference files (pipelines/reference.py): the 户籍底册 and the 网格
as real systems export them."""

import datetime as dt

import polars as pl

from pipelines.console import attention_lines
from pipelines.reference import (align_grid, check_extracts, check_grid, check_roster, dates_reversed, grid_fields_missing, grid_missing, grid_phones_destroyed, household_size_disagrees,
                                 households_without_head, persons_listed_twice, record_fields_missing, roster_fields_missing, roster_unusable,
                                 shared_household_ids, shared_notes, split_shared_households, townships_written_twice)
from schemas.outputs import Finding

HEADS = ["户主", "本人"]


def _roster(rows):
    """rows: (household_id, person_id, township, village, relation), one line each from line 2."""
    df = pl.DataFrame(rows, schema=["household_id", "person_id", "township", "village", "relation"], orient="row")
    return df.with_columns(dept=pl.lit("户籍底册"), file=pl.lit("户籍底册/底册.csv"),
                           line=pl.int_range(2, df.height + 2, dtype=pl.Int64))


def test_a_household_number_that_several_households_share_is_named_with_its_lines_on_the_console():
    """Excel keeps 15 significant digits of a long number: 341302101201000123 and
    341302101201000456 both become 341302101201000000, and the run would take two households of
    two townships for one (one warning, one township list naming the other's persons). Two 户主
    or two villages under one 户编号 are a finding naming it and the lines, on the console too;
    suffixes (大店 / 大店镇, 韩湖 / 韩湖村) are one place, and a household with one head is not named."""
    roster = _roster([
        ("341302101201000000", "p1", "大店镇", "李湖村", "户主"),
        ("341302101201000000", "p2", "大店镇", "李湖村", "配偶"),
        ("341302101201000000", "p3", "永镇镇", "孙集村", "户主"),
        ("341302101201000000", "p4", "永镇镇", "孙集村", "之子"),
        ("H2", "p5", "大店镇", "韩湖村", "户主"),
        ("H2", "p6", "大店", "韩湖", "配偶"),
        ("H3", "p7", "夹沟镇", "郑楼村", "本人"),
        ("H3", "p8", "夹沟镇", "郑楼村", "户主"),
        ("H4", "p9", "夹沟镇", "郑楼村", "之女"),
        ("H4", "p10", "夹沟镇", "张庄村", "之子"),
    ])
    q = shared_household_ids(roster, HEADS)
    assert q.height == 1 and q["category"].item() == Finding.HOUSEHOLD_SHARED and q["count"].item() == 3
    d = q["detail"].item()
    assert "户编号 341302101201000000：2 名户主（第 2、4 行），跨 2 个村（大店镇李湖村、永镇镇孙集村，第 2、4 行）" in d
    assert "户编号 H3：2 名户主（第 8、9 行）" in d
    assert "户编号 H4：跨 2 个村（夹沟镇郑楼村、夹沟镇张庄村，第 10、11 行）" in d
    assert "H2" not in d
    assert "Excel" in d and "15 位有效数字" in d  # the zero tail says why
    lines = attention_lines(q, ["户籍底册", "网格"])
    assert len(lines) == 1 and "341302101201000000" in lines[0]


def test_a_roster_whose_households_each_have_one_head_and_place_has_no_such_finding():
    roster = _roster([("H1", "p1", "大店镇", "李湖村", "户主"), ("H1", "p2", "大店镇", "李湖村", None),
                      ("341302101201000000", "p3", "永镇镇", "孙集村", "户主")])
    assert shared_household_ids(roster, HEADS).is_empty()


SHARED = [  # (household_id, person_id, township, village, relation)
    ("341302000000000000", "H7-01", "永镇镇", "孙集村", "户主"),  # Excel's 15 digits: three households of
    ("341302000000000000", "H3-01", "大店镇", "李湖村", "户主"),  # three villages, two townships, share one
    ("341302000000000000", "H3-02", "大店镇", "李湖村", "配偶"),
    ("341302000000000000", "H5-01", "大店", "韩湖", "户主"),
    ("341302000000000000", "H5-02", "大店镇", "韩湖村", "之子"),  # (one village, spelt two ways)
    ("H2", "H2-01", "夹沟镇", "郑楼村", "户主"),  # two households of one village: two heads, one place
    ("H2", "H2-02", "夹沟镇", "郑楼村", "户主"),
    ("H4", "H4-01", "夹沟镇", "郑楼村", "户主"),  # a plain household
]


def test_a_household_number_persons_of_several_villages_share_is_one_household_per_village():
    """341302000000000000 (Excel's 15 digits) over three households of three villages in two
    townships: the run would warn them as one household, put the warning on one township's list
    and name the others' persons there. Each village's persons are a household of their own:
    the village of the first person by 人编号 (where the whole 户编号 was placed) keeps the
    户编号, the others are keyed 户编号@乡镇村 as their first row spells the place; a village spelt
    with and without its suffix is one village; two heads in one village stay one household.
    Rows, their order and columns are the roster's; a roster without such a 户编号 is returned as it is."""
    roster = _roster(SHARED)
    split = split_shared_households(roster)
    assert split.columns == roster.columns and split.drop("household_id").equals(roster.drop("household_id"))
    assert split["household_id"].to_list() == [
        "341302000000000000@永镇镇孙集村", "341302000000000000", "341302000000000000",
        "341302000000000000@大店韩湖", "341302000000000000@大店韩湖", "H2", "H2", "H4"]
    plain = roster.filter(pl.col("household_id") != "341302000000000000")
    assert split_shared_households(plain) is plain
    one_village = _roster([("H9", "p1", "大店", "韩湖", "户主"), ("H9", "p2", "大店镇", "韩湖村", "配偶")])
    assert split_shared_households(one_village) is one_village
    # the finding still names the 户编号 as the roster writes it, with all its heads and villages
    d = shared_household_ids(split, HEADS)["detail"].item()
    assert "户编号 341302000000000000：3 名户主（第 2、3、5 行），跨 3 个村" in d and "@" not in d
    assert "户编号 H2：2 名户主（第 7、8 行）" in d and "各村的人按一户预警" in d


def test_the_lists_say_which_households_share_their_number_in_the_roster():
    """A list row of a household whose 户编号 the roster shares says so in its 状态, for the
    township to have the roster corrected: with persons in other villages (the row names this
    village's alone), or several 户主 listed as one household; a plain household says nothing."""
    notes = dict(shared_notes(split_shared_households(_roster(SHARED)), HEADS).iter_rows())
    assert notes == {
        "341302000000000000": "（底册户编号 341302000000000000 多户共用：跨 3 个村，本行只列本村的人；请核对更正底册）",
        "341302000000000000@永镇镇孙集村": "（底册户编号 341302000000000000 多户共用：跨 3 个村，本行只列本村的人；请核对更正底册）",
        "341302000000000000@大店韩湖": "（底册户编号 341302000000000000 多户共用：跨 3 个村，本行只列本村的人；请核对更正底册）",
        "H2": "（底册户编号 H2 多户共用：本行 2 名户主按一户列出；请核对更正底册）",
    }


def test_a_grid_cell_listing_several_households_is_read_as_a_row_each_and_noted():
    """A grid typed one row per grid worker, the households in one cell (H0001、H0002): no
    household of it was found, every list row went out without its grid worker. Read as a row
    each (in the row's place, a key written otherwise aligned as usual); a household with a row
    of its own keeps that one; a cell whose parts are not all roster households (a 户编号 with a
    space typed in it) is left to the usual finding. The cells are noted
    whether or not another 户编号 of the grid is read otherwise."""
    from pipelines.township import grid_workers

    roster = pl.DataFrame({"household_id": ["H0001", "H0002", "H0003", "H0004", "3413020001"]})
    grid = pl.DataFrame({
        "dept": ["网格"] * 4, "file": ["网格/网格.csv"] * 4, "line": [2, 3, 4, 5], "grid_id": ["G1", "G2", "G3", "G4"],
        "grid_worker": ["甲", "乙", "丙", "丁"], "grid_worker_phone": ["13700000001"] * 4,
        "household_id": ["H0001、h0002，H0003", "H0003", "H0004 / H0009", "3413 020001"],
    })
    aligned, note = align_grid(grid, roster)
    assert aligned.select("household_id", "grid_worker").rows() == [
        ("H0001", "甲"), ("H0002", "甲"), ("H0003", "乙"), ("H0004 / H0009", "丙"), ("3413020001", "丁")]
    workers = dict(grid_workers(aligned).select("household_id", "grid_worker").iter_rows())
    assert (workers["H0001"], workers["H0002"], workers["H0003"]) == ("甲", "甲", "乙")
    assert "第 2 行：H0001、h0002，H0003" in note["detail"][0] and note["count"].to_list() == [1, 2]
    # (no other 户编号 of the grid written otherwise, one unknown however written: the cells are still noted)
    _, alone = align_grid(grid.filter(pl.col("line").is_in([2, 4])).with_columns(
        household_id=pl.Series(["H0001、H0002", "H0009"])), roster)
    assert alone["category"].to_list() == [Finding.GRID_IDS] and alone["count"].to_list() == [1]


def test_a_grid_row_of_a_shared_household_number_is_the_household_of_the_village_it_names():
    """The grid's row for 341302000000000000 in 永镇镇孙集村 gives that village's household its
    grid worker (not the one that kept the 户编号, in 大店镇); a row naming another place or none
    stays with the one that kept it."""
    roster = split_shared_households(_roster(SHARED))
    grid = pl.DataFrame({
        "dept": ["网格"] * 3, "file": ["网格/网格.csv"] * 3, "line": [2, 3, 4], "grid_id": ["G1", "G2", "G3"],
        "township": ["永镇", "大店镇", None], "village": ["孙集", "李湖村", None], "grid_worker": ["甲", "乙", "丙"],
        "household_id": ["341302000000000000", "341302000000000000", "H4"],
    })
    aligned, note = align_grid(grid, roster)
    assert aligned.columns == grid.columns and note.is_empty()
    assert aligned["household_id"].to_list() == ["341302000000000000@永镇镇孙集村", "341302000000000000", "H4"]


def test_grid_household_numbers_written_otherwise_are_read_as_the_rosters_and_noted():
    """The grid's 户编号 typed in lower case, with its leading zeros dropped by Excel, with
    Excel's text apostrophe (or a curly one, as a Chinese input method types it), or with spaces
    between its digits, is the roster's household: its grid worker is named on the list (he was
    not: no household of the grid was found) and the report says how it was read. A key two
    roster households share is not guessed."""
    from pipelines.township import grid_workers

    roster = pl.DataFrame({"household_id": ["H0001", "0012345", "H0003", "007", "07", "H0009", "H0010", "3413020001"]})
    grid = pl.DataFrame({
        "dept": ["网格"] * 8, "file": ["网格/网格.csv"] * 8, "line": [2, 3, 4, 5, 6, 7, 8, 9],
        "grid_id": ["G1"] * 8, "grid_worker": ["甲", "乙", "丙", "丁", "戊", "己", "庚", "辛"],
        "grid_worker_phone": ["13700000001"] * 8,
        "household_id": ["h0001", "12345", "'H0003", "7", "07", "H0009", "‘H0010", "3413 020001"],
    })
    aligned, note = align_grid(grid, roster)
    assert aligned["household_id"].to_list() == ["H0001", "0012345", "H0003", "7", "07", "H0009", "H0010",
                                                 "3413020001"]  # (007 or 07?)
    workers = dict(grid_workers(aligned).select("household_id", "grid_worker").iter_rows())
    assert (workers["H0001"], workers["0012345"], workers["H0003"], workers["H0010"], workers["3413020001"]) == (
        "甲", "乙", "丙", "庚", "辛")
    assert note["category"].item() == Finding.GRID_IDS and note["count"].item() == 5
    assert note["detail"].item().count("→") == 5 and "h0001 → H0001（第 2 行）" in note["detail"].item()
    same, none = align_grid(grid.filter(pl.col("household_id") == "H0009"), roster)
    assert same.equals(grid.filter(pl.col("household_id") == "H0009")) and none.is_empty()


def test_a_household_without_a_head_is_named_with_the_relations_it_gives():
    """The 户主's row left out of the export (or the head written in a word the config does not
    know): the list's 户主姓名 would silently be another member's. Named by 户编号, first line
    and the relations the household gives, with where to add another word for the head; not
    looked for when the roster gives no 与户主关系 at all."""
    roster = _roster([("H1", "p1", "大店镇", "李湖村", "户主"), ("H1", "p2", "大店镇", "李湖村", "配偶"),
                      ("H2", "p3", "大店镇", "李湖村", "配偶"), ("H2", "p4", "大店镇", "李湖村", "之子"),
                      ("H3", "p5", "大店镇", "李湖村", "本人"), ("H4", "p6", "大店镇", "李湖村", None)])
    q = households_without_head(roster, HEADS)
    assert q["category"].item() == Finding.NO_HEAD and q["count"].item() == 2
    d = q["detail"].item()
    assert "户编号 H2（第 4 行起，与户主关系：配偶、之子）" in d and "户编号 H4（第 7 行起，与户主关系：空）" in d
    assert "H1" not in d and "H3" not in d and "matching.head_relations" in d
    assert len(attention_lines(q, ["户籍底册", "网格"])) == 1
    assert households_without_head(roster.with_columns(relation=pl.lit(None, pl.Utf8)), HEADS).is_empty()


def test_one_id_number_under_two_person_numbers_is_named_by_person_numbers_not_the_id():
    """The same person listed in a second household (a new 人编号, the same 证件号码): every record
    of theirs fits both alike and waits for review, which nothing else explains. Named by 人编号,
    户编号 and line; the ID number is not shown."""
    roster = _roster([("H1", "H1-01", "大店镇", "李湖村", "户主"), ("H2", "H2-01", "大店镇", "李湖村", "户主"),
                      ("H2", "H2-09", "大店镇", "李湖村", "其他")]).with_columns(
        id_number=pl.Series(["34130219700501123X", "341302196510061221", "34130219700501123X"]))
    q = persons_listed_twice(roster)
    assert q["category"].item() == Finding.PERSON_TWICE and q["count"].item() == 1
    d = q["detail"].item()
    assert "H1-01（户 H1，第 2 行） 与 H2-09（户 H2，第 4 行） 证件号码相同" in d and "1123X" not in d.upper()
    assert len(attention_lines(q, ["户籍底册", "网格"])) == 1
    assert persons_listed_twice(roster.head(2)).is_empty()


def test_one_township_written_two_ways_in_the_roster_is_named_with_each_spellings_persons():
    """东嘎街道 on most rows and 东嘎街道办事处 on a few: each spelling made a township list of its
    own, the township's households split between them, and nothing said so. Named (on the
    console too) with each spelling's persons, the most used first; two townships of one stem
    (营许乡, 营许镇) are named for the county to judge; distinct townships are not."""
    roster = _roster([("H1", "H1-01", "东嘎街道", "桑木村", "户主"), ("H1", "H1-02", "东嘎街道", "桑木村", "其他"),
                      ("H2", "H2-01", "东嘎街道办事处", "桑木村", "户主"), ("H3", "H3-01", "营许乡", "王庄", "户主"),
                      ("H4", "H4-01", "营许镇", "李庄", "户主"), ("H5", "H5-01", "大店镇", "李湖村", "户主")])
    q = townships_written_twice(roster)
    assert q["category"].to_list() == [Finding.TOWNSHIP_SPELLINGS] * 2 and q["file"].to_list() == ["户籍底册/底册.csv"] * 2
    assert "东嘎街道（2 人） 与 东嘎街道办事处（1 人）" in q["detail"][0] and "营许乡（1 人） 与 营许镇（1 人）" in q["detail"][1]
    assert len(attention_lines(q, ["户籍底册", "网格"])) == 2
    assert townships_written_twice(roster.filter(pl.col("township") != "东嘎街道办事处").head(3)).is_empty()


def test_a_grid_workers_phone_that_excel_turned_into_scientific_notation_is_named():
    """`1.37E+10` is what Excel keeps of 13712345678 in a General cell: the list would print it,
    and nobody could call. Named by grid, person and first line, once per person and number (two
    workers of one grid each)."""
    grid = pl.DataFrame({
        "dept": ["网格"] * 5, "file": ["网格/网格.csv"] * 5, "line": [2, 3, 4, 5, 6],
        "grid_id": ["G1", "G1", "G2", "G3", "G1"], "grid_worker": ["甲", "甲", "乙", "丙", "丁"],
        "grid_worker_phone": ["1.37E+10", "1.37E+10", "13700000002", None, "1.38E+10"],
        "grid_leader": ["长"] * 5, "grid_leader_phone": ["13900000001", "13900000001", "1.39E+10", "13900000001", "13900000001"],
        "household_id": ["H1", "H2", "H3", "H4", "H5"],
    })
    q = grid_phones_destroyed(grid)
    assert q["category"].item() == Finding.PHONE_DESTROYED and q["count"].item() == 3
    d = q["detail"].item()
    assert "网格 G1 网格员 甲 电话 1.37E+10（第 2 行起）" in d and "网格 G2 网格长 长 电话 1.39E+10（第 4 行起）" in d
    assert "网格 G1 网格员 丁 电话 1.38E+10（第 6 行起）" in d
    assert len(attention_lines(q, ["户籍底册", "网格"])) == 1
    assert grid_phones_destroyed(grid.filter(pl.col("line") == 5)).is_empty()


def test_a_household_size_other_than_the_persons_listed_is_named_not_on_the_console():
    """家庭人口数 5 over 4 listed persons, or 4 on one row and 3 on another: M2 and A1 take the
    stated number for the household's income, so the report names them (not the console: the
    run's figures follow the roster's own word). Given on the 户主's row only, it is not named."""
    roster = _roster([("H1", "p1", "大店镇", "李湖村", "户主"), ("H1", "p2", "大店镇", "李湖村", "配偶"),
                      ("H2", "p3", "大店镇", "李湖村", "户主"), ("H2", "p4", "大店镇", "李湖村", "配偶"),
                      ("H3", "p5", "大店镇", "李湖村", "户主"), ("H3", "p6", "大店镇", "李湖村", "配偶"),
                      ("H4", "p7", "大店镇", "李湖村", "户主")]).with_columns(
        household_size=pl.Series([2, None, 5, 5, 2, 3, None], dtype=pl.Int64))
    q = household_size_disagrees(roster)
    assert q["category"].item() == Finding.HOUSEHOLD_SIZE and q["count"].item() == 2
    d = q["detail"].item()
    assert "户编号 H2：家庭人口数 5，底册列 2 人（第 4 行起）" in d and "户编号 H3：家庭人口数 2、3，底册列 2 人（第 6 行起）" in d
    assert "H1" not in d and "H4" not in d
    assert attention_lines(q, ["户籍底册", "网格"]) == []


def test_a_roster_file_without_a_column_the_rules_read_says_what_the_run_does_without_it():
    """A header the config does not know (家庭年人均纯收入 for 年人均纯收入) leaves the column
    ignored like any extra one, and M2 would warn no one with nothing said: each roster file that
    gives a used field on no row is named on the console, with the header looked for and the
    config key for another name. A field given on some rows (the 户主's) is given."""
    from config import load_config

    aliases = load_config().kinds["roster"].fields
    roster = _roster([("H1", "p1", "大店镇", "李湖村", "户主"), ("H1", "p2", "大店镇", "李湖村", "配偶")]).with_columns(
        income_per_capita=pl.lit(None, pl.Float64), household_size=pl.Series([2, None], dtype=pl.Int64),
        household_type=pl.lit("脱贫户"))
    q = roster_fields_missing(roster, aliases)
    assert q.height == 1 and q["category"].item() == Finding.COLUMN_MISSING
    assert "“年人均纯收入（元）”" in q["detail"].item() and "M2" in q["detail"].item()
    assert "kinds.roster.fields.income_per_capita" in q["detail"].item()
    assert len(attention_lines(q, ["户籍底册", "网格"])) == 1
    full = roster.with_columns(income_per_capita=pl.Series([5000.0, None]))
    assert roster_fields_missing(full, aliases).is_empty()
    assert roster_fields_missing(full.with_columns(relation=pl.lit(None, pl.Utf8)), aliases)["detail"].item().startswith(
        "没有可用的“与户主关系”列")


def test_a_grid_without_a_usable_phone_column_says_the_lists_go_out_without_phones():
    from config import load_config

    grid = pl.DataFrame({"dept": ["网格"], "file": ["网格/网格.csv"], "line": [2], "grid_id": ["G1"], "grid_worker": ["甲"],
                         "grid_worker_phone": [None], "household_id": ["H1"]}, schema_overrides={"grid_worker_phone": pl.Utf8})
    q = grid_fields_missing(grid, load_config().kinds["grid"].fields)
    assert q["category"].item() == Finding.COLUMN_MISSING and "“网格员电话”" in q["detail"].item()
    assert "kinds.grid.fields.grid_worker_phone" in q["detail"].item()
    assert grid_fields_missing(grid.with_columns(grid_worker_phone=pl.lit("13700000001")), {}).is_empty()


def test_an_extract_without_a_column_a_rule_reads_says_what_the_rule_does_without_it():
    """人社's 连续未缴费月数 headed in a way the config does not know (连续未缴费月数（个月）, 未缴费月数)
    left R1 blind to unpaid months, 教育's 本学年个人负担费用 E2 warning no one, with nothing said."""
    from config import load_config

    cfg = load_config()
    hr = pl.DataFrame({"dept": ["人社"] * 2, "file": ["人社/a.csv", "人社/b.csv"], "line": [2, 2],
                       "months_unpaid": [None, 4]}, schema_overrides={"months_unpaid": pl.Int64})
    q = record_fields_missing(hr, "hr", cfg.kinds["hr"].fields)
    assert q.select("category", "file").rows() == [(Finding.COLUMN_MISSING, "人社/a.csv")]
    assert "“连续未缴费月数”" in q["detail"].item() and "kinds.hr.fields.months_unpaid" in q["detail"].item()
    assert len(attention_lines(q, ["户籍底册", "网格"])) == 1
    school = pl.DataFrame({"dept": ["教育"], "file": ["教育/a.xlsx"], "line": [2], "annual_cost": [None]},
                          schema_overrides={"annual_cost": pl.Float64})
    assert "E2" in record_fields_missing(school, "education", cfg.kinds["education"].fields)["detail"].item()
    assert record_fields_missing(hr.rename({"months_unpaid": "x"}), "civil", cfg.kinds["civil"].fields).is_empty()


def test_a_water_ledger_without_a_usable_solving_date_is_said_to_leave_every_order_unresolved():
    """水利's 解决日期 headed in a way the config did not know (解决时间, 办结日期) was an extra column:
    every work order read as unresolved and W1 warned every household of its village, solved
    problems too, with nothing said. Named like 人社's months; a file giving the date is not."""
    from config import load_config

    cfg = load_config()
    water = pl.DataFrame({"dept": ["水利"] * 3, "file": ["水利/a.csv", "水利/a.csv", "水利/b.csv"], "line": [2, 3, 2],
                          "resolved_date": [None, None, dt.date(2026, 10, 9)]})
    q = record_fields_missing(water, "water", cfg.kinds["water"].fields)
    assert q.select("category", "file").rows() == [(Finding.COLUMN_MISSING, "水利/a.csv")]
    assert "“解决日期”" in q["detail"].item() and "W1" in q["detail"].item()
    assert "kinds.water.fields.resolved_date" in q["detail"].item()


def test_a_partial_run_names_the_kept_warnings_whose_household_the_roster_no_longer_holds():
    """October run; a corrected 户籍底册 renumbers household H0001745 as H0009745 and 医保 is re-run
    alone (--dept 医保). 住建's H1 of H0001745 was kept as stored: 时村乡's list sent it with 行政村,
    村民小组 and 户主姓名 empty (the household is on no roster of the period any more) and nothing
    said why, nor that the departments not re-read were linked against another roster. Named,
    per department, on the console: run the whole period."""
    from pipelines.reference import kept_off_roster

    kept = pl.DataFrame({"warning_id": ["w1", "w1", "w2", "w3"], "household_id": ["H0001745", "H0001745", "H2", None],
                         "dept": ["住建", "住建", "民政", "民政"], "rule": ["H1", "H1", "C1", "C2"]})
    roster = pl.DataFrame({"person_id": ["H2-01", "H0009745-01"], "household_id": ["H2", "H0009745"]})
    found = kept_off_roster(kept, roster)
    assert found.select("category", "dept", "count").rows() == [(Finding.KEPT_OFF_ROSTER, "户籍底册", 1)]
    assert "住建 H0001745" in found["detail"][0] and "整期重跑" in found["detail"][0]
    assert len(attention_lines(found, ["户籍底册", "网格"])) == 1
    assert kept_off_roster(kept.filter(pl.col("dept") == "民政"), roster).is_empty()


def test_dates_out_of_order_are_named_with_their_file_and_lines():
    """A 水利 work order solved before it was found (解决日期 before 发现日期: a slip in one of them)
    is read as solved, so W1 warns no one for it: the report names it, file and line, for the
    department to check. Rows whose dates are in order, or lack one, are not named; a settlement's
    入院日期 after its 结算日期 neither (no rule reads it), nor other kinds."""
    d = dt.date
    water = pl.DataFrame({
        "dept": ["水利"] * 4, "file": ["水利/a.csv"] * 3 + ["水利/b.csv"], "line": [2, 3, 4, 2],
        "found_date": [d(2026, 10, 5), d(2026, 10, 5), None, d(2026, 10, 9)],
        "resolved_date": [d(2026, 10, 1), d(2026, 10, 6), d(2026, 10, 1), d(2026, 10, 9)]})
    found = dates_reversed(water, "water")
    assert found.select("category", "dept", "file", "count").rows() == [
        (Finding.DATES_REVERSED, "水利", "水利/a.csv", 1)]
    assert "第 2 行" in found["detail"][0] and "解决日期" in found["detail"][0] and "发现日期" in found["detail"][0]
    settle = pl.DataFrame({"dept": ["医保"] * 2, "file": ["医保/s.csv"] * 2, "line": [7, 8],
                           "admit_date": [d(2026, 10, 20), d(2026, 10, 1)],
                           "settle_date": [d(2026, 10, 2), d(2026, 10, 2)]})
    assert dates_reversed(settle, "med_settlement").is_empty() and dates_reversed(water, "hr").is_empty()
    assert dates_reversed(water.drop("found_date"), "water").is_empty()


def test_a_finding_names_ten_households_and_five_lines_each_then_says_there_are_more():
    """`EXAMPLES` (10) households named, then …; `LINES` (5) lines of one, then …."""
    def sizes(n):  # n households of one person each, stated as two
        return _roster([(f"H{i:02d}", f"p{i}", "大店镇", "李湖村", "户主") for i in range(n)]).with_columns(
            household_size=pl.lit(2, pl.Int64))
    ten = household_size_disagrees(sizes(10)).row(0, named=True)
    eleven = household_size_disagrees(sizes(11)).row(0, named=True)
    assert ten["count"] == 10 and "H09" in ten["detail"] and "…" not in ten["detail"]
    assert eleven["count"] == 11 and "H09" in eleven["detail"] and "H10" not in eleven["detail"] and "…" in eleven["detail"]

    def heads(n):
        return _roster([("H1", f"p{i}", "大店镇", "李湖村", "户主") for i in range(n)])
    assert "5 名户主（第 2、3、4、5、6 行）" in shared_household_ids(heads(5), HEADS)["detail"].item()
    assert "6 名户主（第 2、3、4、5、6… 行）" in shared_household_ids(heads(6), HEADS)["detail"].item()

    def villages(n):  # (and `LINES` villages of one 户编号 named, then …)
        return _roster([("H1", f"p{i}", "大店镇", f"{c}庄村", "之子") for i, c in enumerate("张王李赵孙周"[:n])])
    assert "跨 5 个村（大店镇张庄村、大店镇王庄村、大店镇李庄村、大店镇赵庄村、大店镇孙庄村，第 2、3、4、5、6 行）" in (
        shared_household_ids(villages(5), HEADS)["detail"].item())
    assert "跨 6 个村（大店镇张庄村、大店镇王庄村、大店镇李庄村、大店镇赵庄村、大店镇孙庄村…，第 2、3、4、5、6… 行）" in (
        shared_household_ids(villages(6), HEADS)["detail"].item())


def test_a_household_gone_from_the_roster_is_named_for_each_department_keeping_its_warnings():
    from pipelines.reference import kept_off_roster

    kept = pl.DataFrame({"household_id": ["H0001745", "H0001745"], "dept": ["住建", "民政"]})
    found = kept_off_roster(kept, pl.DataFrame({"household_id": ["H2"]}))
    assert found["count"].to_list() == [2] and "住建 H0001745；民政 H0001745" in found["detail"][0]


def test_a_grid_holding_no_row_is_said_as_no_grid():
    """A 网格 file of headers only (or whose every row was set aside) left every list without its
    grid workers with nothing said; a missing grid was said. Both are now, once; a grid with rows is not."""
    empty = pl.DataFrame(schema={"grid_id": pl.Utf8, "household_id": pl.Utf8, "grid_worker": pl.Utf8})
    for grid in (None, empty):
        q = grid_missing(grid, "网格")
        assert q.select("category", "dept", "count").rows() == [(Finding.GRID_NOT_DELIVERED, "网格", 1)]
        assert "网格员" in q["detail"].item() and len(attention_lines(q, ["户籍底册", "网格"])) == 1
    assert grid_missing(pl.DataFrame({"grid_id": ["W1"], "household_id": ["H1"], "grid_worker": ["甲"]})).is_empty()


def test_a_grid_delivered_without_a_usable_row_is_said_as_the_grid_s_file_not_a_missing_department():
    """The grid is the county's reference file, not a department: one delivered with a header only,
    or with each row set aside, was filed under 部门未报送 (department missing) though it had come.
    It is said of its file, with what happened (no row; its rows set aside and why; set aside
    whole), and that the lists' 网格员 are empty; on the console too."""
    empty = pl.DataFrame(schema={"grid_id": pl.Utf8, "household_id": pl.Utf8, "grid_worker": pl.Utf8})
    q = grid_missing(empty, "网格", ["网格/网格.csv"])
    assert q.select("category", "dept", "file").rows() == [(Finding.GRID_NO_ROWS, "网格", "网格/网格.csv")]
    assert "只有表头" in q["detail"].item() and "网格员" in q["detail"].item()
    aside = pl.DataFrame({"file": ["网格/网格.xlsx（工作表 Sheet1）"] * 3 + ["网格/旧.csv"], "line": [2, 3, 3, None],
                          "reason": ["网格员 必填项为空 missing value"] * 2 + ["户编号 必填项为空 missing value", "无法读取"]})
    q = grid_missing(None, "网格", ["网格/网格.xlsx", "网格/旧.csv"], aside)
    assert Finding.DEPT_MISSING not in q["category"].to_list()
    said = {r["file"]: r for r in q.iter_rows(named=True)}
    assert said["网格/网格.xlsx"]["count"] == 2
    assert "2 行均被搁置（网格员 必填项为空 missing value；户编号 必填项为空 missing value" in said["网格/网格.xlsx"]["detail"]
    assert "文件被整体搁置（无法读取）" in said["网格/旧.csv"]["detail"]
    assert len(attention_lines(q, ["户籍底册", "网格"])) == 2


def test_a_household_whose_head_row_was_set_aside_is_told_so():
    """The 户主's row set aside (its 证件号码 blank or destroyed by Excel): the finding said only
    that the roster calls no one 户主 and to add a word to the config — misleading, the head is
    there. A set-aside line next to the household's lines is named as perhaps its head's; one
    elsewhere in the file is not."""
    roster = _roster([("H1", "p2", "大店镇", "李湖村", "配偶"), ("H1", "p3", "大店镇", "李湖村", "之子"),
                      ("H2", "p5", "大店镇", "李湖村", "配偶")])
    roster = roster.with_columns(line=pl.Series([3, 4, 9], dtype=pl.Int64))
    aside = pl.DataFrame({"file": ["户籍底册/底册.csv", "户籍底册/底册.csv"], "line": [2, 20],
                          "field": ["id_number", "id_number"]})
    d = households_without_head(roster, HEADS, aside)["detail"].item()
    assert "户编号 H1（第 3 行起，与户主关系：配偶、之子；第 2 行被搁置，或为该户户主）" in d
    assert "户编号 H2（第 9 行起，与户主关系：配偶）" in d and "第 20 行" not in d
    assert "搁置行及原因" in d
    assert households_without_head(roster, HEADS)["detail"].item() == households_without_head(
        roster, HEADS, aside.head(0))["detail"].item()


def test_the_roster_checks_say_each_fault_in_one_frame():
    """`check_roster` is every roster check the run makes (the flow writes its findings once): a
    household without a head (its head's line set aside beside it), one 证件号码 under two 人编号,
    an ID failing its check character and a 家庭人口数 other than the persons listed are each said;
    a roster with none of them says nothing."""
    from matchers.ids import check_char

    good = "34130219900101123"
    good += check_char(good)
    other = "34130219800101456"
    other += check_char(other)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    roster = _roster([("H1", "p1", "大店镇", "李湖村", "户主"), ("H1", "p2", "大店镇", "李湖村", "配偶"),
                      ("H2", "p3", "大店镇", "李湖村", "配偶"), ("H3", "p4", "大店镇", "李湖村", "户主")])
    roster = roster.with_columns(id_number=pl.Series([good, bad, other, other]), name=pl.Series(["甲", "乙", "丙", "丁"]),
                                 household_size=pl.Series([2, 2, 1, 3]), income_per_capita=pl.lit(5000.0),
                                 household_type=pl.lit("一般户"), line=pl.Series([2, 3, 5, 6], dtype=pl.Int64))
    aside = pl.DataFrame({"file": ["户籍底册/底册.csv"], "line": [4], "field": ["id_number"]})
    found = check_roster(roster, HEADS, {}, aside)
    assert sorted(found["category"].to_list()) == sorted([Finding.NO_HEAD, Finding.PERSON_TWICE, Finding.CHECK_FAILS,
                                                          Finding.HOUSEHOLD_SIZE])
    assert "第 4 行被搁置" in found.filter(pl.col("category") == Finding.NO_HEAD)["detail"].item()
    fine = roster.filter(pl.col("household_id") == "H1").with_columns(id_number=pl.Series([good, other]))
    assert check_roster(fine, HEADS, {}).is_empty()


def test_the_grid_checked_is_read_as_the_roster_writes_it_with_its_findings():
    """`check_grid`: no grid is said (and stays none); a grid's 户编号 written otherwise are read
    as the roster's, its phones Excel destroyed and a column it lacks are said, once each."""
    none, said = check_grid(None, pl.DataFrame({"household_id": ["H0001"]}), {})
    assert none is None and said["category"].to_list() == [Finding.GRID_NOT_DELIVERED]
    grid = pl.DataFrame({"dept": ["网格"] * 2, "file": ["网格/网格.csv"] * 2, "line": [2, 3], "grid_id": ["G1"] * 2,
                         "grid_worker": ["甲", "甲"], "grid_worker_phone": ["1.37E+10", "1.37E+10"],
                         "household_id": ["h0001", "H0002"]})
    roster = pl.DataFrame({"household_id": ["H0001", "H0002"]})
    aligned, said = check_grid(grid, roster, {})
    assert aligned["household_id"].to_list() == ["H0001", "H0002"]
    assert sorted(said["category"].to_list()) == sorted([Finding.GRID_IDS, Finding.PHONE_DESTROYED])
    _, said = check_grid(grid.drop("grid_worker_phone"), roster, {"grid_worker_phone": ["网格员电话"]})
    assert said["category"].to_list() == [Finding.COLUMN_MISSING, Finding.GRID_IDS]


def test_a_departments_extracts_findings_are_said_together_with_the_notes_of_reading_them():
    """One department's checks in one frame: a note of reading it (a duplicate header), an ID Excel
    destroyed in a person-level extract, and a column a rule reads that the extract lacks (人社's
    连续未缴费月数) are each said; a clean extract with no note says nothing."""
    from adapters.inbox import ReadError
    from config import load_config

    hr = pl.DataFrame({"dept": ["人社"] * 2, "kind": ["hr"] * 2, "file": ["人社/a.csv"] * 2, "line": [2, 3],
                       "record_id": ["R1", "R2"], "name": ["张三", "李四"], "id_raw": ["3.41302E+17", "341302199001011234"],
                       "months_unpaid": [None, None]}, schema_overrides={"months_unpaid": pl.Int64})
    notes = [ReadError("人社/a.csv", "表头重复", dept="人社", set_aside=False)]
    found = check_extracts({"hr": hr}, notes, "人社", load_config())
    assert found["category"].to_list() == [Finding.FILE_NOTE, Finding.ID_DESTROYED, Finding.COLUMN_MISSING]
    assert found["dept"].unique().to_list() == ["人社"]
    clean = hr.with_columns(id_raw=pl.lit("341302199001011234"), months_unpaid=pl.lit(3, pl.Int64))
    assert check_extracts({"hr": clean}, [], "人社", load_config()).is_empty()


def test_the_grid_s_files_delivered_are_those_read_once_and_those_set_aside_as_found():
    """What `grid_missing` is told was delivered: the grid folder's files (a copy repeated once,
    another folder's none) and those set aside as they were found, in a format the inbox does not
    read (网格.xls: delivered, not missing), each once; their rows set aside are the grid's read
    and the found ones', not another folder's. None delivered and none set aside: ([], None)."""
    from pipelines.reference import grid_deliveries

    files = pl.DataFrame({"dept": ["网格", "网格", "民政"], "file": ["网格/a.csv", "网格/a副本.csv", "民政/b.csv"],
                          "duplicate_of": [None, "网格/a.csv", None]})
    discovered = pl.DataFrame({"dept": ["网格", "网格", "民政"], "file": ["网格/网格.xls", "网格/a.csv", "民政/c.xls"],
                               "line": [None, None, None], "reason": ["格式不能读取"] * 3},
                              schema_overrides={"line": pl.Int64})
    rejected = pl.DataFrame({"dept": ["网格"], "file": ["网格/a.csv"], "line": [3], "field": ["household_id"],
                             "reason": ["户编号 必填项为空 missing value"]})
    delivered, aside = grid_deliveries(files, discovered, rejected, "网格")
    assert delivered == ["网格/a.csv", "网格/网格.xls"]
    assert aside.select("file", "line").rows() == [("网格/a.csv", 3), ("网格/网格.xls", None), ("网格/a.csv", None)]
    assert grid_deliveries(files, None, rejected, "网格")[0] == ["网格/a.csv"]
    assert grid_deliveries(files.filter(pl.col("dept") == "民政"), None, None, "网格") == ([], None)


def test_a_roster_most_of_whose_persons_or_households_are_unusable_is_refused_in_one_line():
    """969 of a roster's 1,052 persons were set aside (its 证件号码 saved by Excel as 3.41302E+17)
    and the lists went out on the rest, looking normal. Fewer usable persons (or households told
    apart: a long 户编号 Excel cut to 15 digits and zeros, several 户主 under it) than the share
    set is a line naming the file, how many of how many, the commonest reason with a line and its
    value masked, and what to do; a few set aside, or a slip of two heads, are not."""
    from config import load_config
    from pipelines.validate import EXCEL_DESTROYED, REJECTED_SCHEMA

    kinds = load_config().kinds
    roster = _roster([(f"H{i}", f"p{i}", "大店镇", "李湖村", "户主") for i in range(2)])

    def aside(n: int, reason: str = EXCEL_DESTROYED, value: str = "3.41302E+17") -> pl.DataFrame:
        return pl.DataFrame([dict(dept="户籍底册", kind="roster", file="户籍底册/底册.csv", line=4 + i, record_id=f"q{i}",
                                  field="id_number", value=value, reason=f"id_number {reason}: '{value}'")
                             for i in range(n)], schema=REJECTED_SCHEMA)

    rejected = pl.concat([aside(1, "必填项为空 missing value", None), aside(16)]).with_columns(line=pl.int_range(4, 21))
    said = roster_unusable(roster, rejected, kinds, HEADS, 0.9, "inbox/2026-10")
    assert said.startswith("roster unusable in inbox/2026-10 (户籍底册/底册.csv): 17 of 19 persons (89%) set aside "
                           "(the run needs 90% usable: run.roster_min_usable_share); commonest reason (16 rows): 证件号码 已被Excel")
    assert said.endswith("(e.g. 户籍底册/底册.csv line 5: 证件号码 '3.4130*E+17'); nothing was published: set its 证件号码 "
                         "column as text (设为文本) where the roster is kept, export it again and run the period again")
    assert "\n" not in said
    # (a full ID quoted by a reason is said masked)
    full = "34130219620111273" + "4"
    said = roster_unusable(roster, aside(17, "身份证号校验位不符 ID check character fails", full), kinds, HEADS, 0.9)
    assert full not in said and "line 4: 证件号码 '341302********2734')" in said and "correct those rows" in said
    assert roster_unusable(roster, None, kinds, HEADS, 0.9) is None
    many = _roster([(f"H{i}", f"p{i}", "大店镇", "李湖村", "户主") for i in range(18)])
    assert roster_unusable(many, aside(2), kinds, HEADS, 0.9) is None  # (18 of 20: usable enough)
    assert roster_unusable(many, aside(3), kinds, HEADS, 0.9) is not None
    assert roster_unusable(many, aside(3), kinds, HEADS, 0.8) is None
    # households: 9 of 10 under one 户编号 Excel cut; two heads of one household a slip, not a cut one
    cut = "341302101201000000"
    hh = _roster([(cut if i < 9 else "H9", f"p{i}", "大店镇", "李湖村", "户主") for i in range(10)])
    said = roster_unusable(hh, None, kinds, HEADS, 0.9, "inbox/2026-10")
    assert said.startswith("roster unusable in inbox/2026-10 (户籍底册/底册.csv): 9 of 10 households (90%) share "
                           "their 户编号 with others"), said
    assert "(e.g. 户籍底册/底册.csv line 3: 户编号 '341302101201000000' holds 9 户主)" in said and "户编号 column as text" in said
    assert roster_unusable(hh.with_columns(household_id=pl.lit("H1")), None, kinds, HEADS, 0.9) is None
    assert roster_unusable(hh.head(2).vstack(_roster([(f"H{i}", f"q{i}", "大店镇", "李湖村", "户主") for i in range(20)])),
                           None, kinds, HEADS, 0.9) is None

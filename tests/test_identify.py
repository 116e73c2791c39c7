import polars as pl

from pipelines.identify import destroyed_ids, persons_shown, set_aside_unidentifiable, shown_on_lists, unreadable_ids
from schemas.outputs import Finding


def test_destroyed_id_without_name_is_set_aside_but_with_name_kept():
    """A row with neither a name nor a usable ID is set aside; a masked ID without a name is still
    an ID (its 10 kept characters may fit one person)."""
    df = pl.DataFrame({
        "dept": ["民政"] * 5, "kind": ["civil"] * 5, "file": ["民政/a.csv"] * 5, "line": [2, 3, 4, 5, 6],
        "record_id": ["A", "B", "C", "D", "E"],
        "name": ["*", "张明", None, "李*", None],
        "id_raw": ["3.41302E+17", "3.41302E+17", None, "341302********1234", "341302********1234"],
    })
    kept, rejected = set_aside_unidentifiable(df)
    assert kept["record_id"].to_list() == ["B", "D", "E"]
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



def test_ids_excel_destroyed_are_reported_per_file_with_lines_though_their_records_are_kept():
    """SPEC §3 counts a destroyed ID (Excel's `3.41302E+17`, or 15 digits and zeros) among the bad
    rows, told with file and line; §1 still links such a record by name and place, so it is kept
    (`set_aside_unidentifiable`) and the department is told in 数据质量报告 which lines to export
    again with the column as text. No ID number is shown: a zero-filled one keeps 6 + 4."""
    df = pl.DataFrame({
        "dept": ["民政"] * 6, "kind": ["civil"] * 6, "file": ["民政/a.csv"] * 4 + ["民政/b.csv"] * 2,
        "line": [2, 3, 4, 5, 2, 3], "record_id": list("ABCDEF"), "name": ["张明"] * 6,
        "id_raw": ["3.41302E+17", "341302196201112734", "341302********2734", " 341302196201112000", None,
                   "341302196201112734"],
    })
    f = destroyed_ids(df)
    assert f.rows() == [(Finding.ID_DESTROYED, "民政", "民政/a.csv",
                         "证件号码已被 Excel 损坏（存成科学计数法，或第 15 位后补 0），无法还原（如 '3.4130*E+17'，第 2、5 行），"
                         "记录仍按姓名、地点等关联；请将该列设为文本后重新导出 — ID numbers destroyed by Excel "
                         "(scientific notation, or zeros past the 15th digit), their records linked by name, place and the like: "
                         "export again with the column as text", 2)]
    assert "196201112000" not in f["detail"][0]
    assert destroyed_ids(df.filter(pl.col("file") == "民政/b.csv")).is_empty()
    assert destroyed_ids(df.drop("id_raw")).is_empty()

def test_ids_that_read_as_none_are_reported_per_file_with_lines_and_a_masked_example():
    """A delivery whose 证件号码 come in a form read as no ID (a phone number, an unknown mask)
    is named: its records are linked by name and place alone. Whole, masked, destroyed and
    empty IDs are not such."""
    df = pl.DataFrame({
        "dept": ["医保"] * 8, "kind": ["med_settlement"] * 8,
        "file": ["医保/a.csv"] * 5 + ["医保/b.csv"] * 3, "line": [2, 3, 4, 5, 6, 2, 3, 4],
        "record_id": list("ABCDEFGH"), "name": ["张三"] * 8,
        "id_raw": ["341302/19620111/2734", "13912345678", "341302196201112734", "341302********2734", "3.41302E+17",
                   "  ", None, "341302********2734"],
    })
    f = unreadable_ids(df)
    assert f.rows() == [(Finding.ID_UNREADABLE, "医保", "医保/a.csv",
                         "证件号码读不出身份证号（如 '341302**********2734'，第 2、3 行），这些记录只能按姓名与地点关联 — ID numbers "
                         "that read as none (e.g. '341302**********2734'): their records are linked by name and place alone", 2)]
    assert unreadable_ids(df.filter(pl.col("file") == "医保/b.csv")).is_empty()


def test_a_passports_number_under_the_id_header_is_said_as_another_document_not_an_unreadable_id():
    """A settlement of a person insured with a passport (证件类型 护照, 证件号码 E12345678) was named on the
    console as an ID the run could not read, as a phone number there is. It is another document:
    noted per file (文件说明, the number masked), its records linked by name and place alone as before."""
    df = pl.DataFrame({
        "dept": ["医保"] * 4, "kind": ["med_settlement"] * 4, "file": ["医保/a.csv"] * 4, "line": [2, 3, 4, 5],
        "record_id": list("ABCD"), "name": ["张三"] * 4,
        "id_raw": ["E12345678", "13912345678", "C01234567", "341302********2734"],
    })
    f = unreadable_ids(df)
    assert f.select("category", "count").rows() == [(Finding.ID_UNREADABLE, 1), (Finding.FILE_NOTE, 2)]
    assert "第 3 行" in f["detail"][0] and f["detail"][1].startswith("证件号码为护照、港澳台通行证等其他证件的号码（如 'E1****678'，第 2、4 行）")
    assert unreadable_ids(df.filter(pl.col("line") != 3))["category"].to_list() == [Finding.FILE_NOTE]


def test_a_17_digit_disability_certificate_is_an_id_shown_not_one_read_as_none():
    """A 残疾人证号 made from an old ID (17 digits: the old ID, type and level) is a whole ID: no
    'read as none' finding for its file, and its nameless row is kept as a 20-character one's
    is; 17 digits that can be no old ID (month 13) still read as none."""
    df = pl.DataFrame({
        "dept": ["残联"] * 3, "kind": ["disability"] * 3, "file": ["残联/a.csv"] * 3, "line": [2, 3, 4],
        "record_id": ["34130276051527341", "34222319570410315473", "34130276131527341"], "name": ["*", "*", "张三"],
    }).with_columns(id_raw=pl.col("record_id"))
    kept, rejected = set_aside_unidentifiable(df)
    assert kept["line"].to_list() == [2, 3, 4] and rejected.is_empty()
    assert unreadable_ids(df)["count"].to_list() == [1]
    assert unreadable_ids(df.head(2)).is_empty()


def test_a_file_no_row_of_which_shows_an_id_is_named():
    """住建 heads its ID column 户主身份证号码 in one county, 号码 in another: a header no
    alias reads leaves every 证件号码 empty, the records linked by name and place alone, and
    nothing said. Now the file is named, as for IDs that read as none."""
    df = pl.DataFrame({"dept": ["住建"] * 3, "kind": ["housing"] * 3, "file": ["住建/a.xlsx"] * 2 + ["住建/b.xlsx"],
                       "line": [2, 3, 2], "record_id": list("ABC"), "name": ["张三"] * 3,
                       "id_raw": [None, " ", "341302********2734"]})
    f = unreadable_ids(df)
    assert f.select("category", "dept", "file", "count").rows() == [(Finding.ID_UNREADABLE, "住建", "住建/a.xlsx", 2)]
    assert f["detail"][0].startswith("没有一行有证件号码（缺少该列，或其表头不是 kinds.housing.fields.id_raw 所列的名称）")
    assert "its header is none of kinds.housing.fields.id_raw" in f["detail"][0]
    # a 学籍号 holding the ID (G + ID) is an ID shown, where the config reads it so
    school = df.with_columns(kind=pl.lit("education"), record_id=pl.Series(["G341302196201112734", "XJ1", "XJ2"]))
    assert unreadable_ids(school, id_in_record_id=True).is_empty()
    assert unreadable_ids(school)["file"].to_list() == ["住建/a.xlsx"]


def test_the_persons_a_list_row_set_aside_shows():
    """Every roster person whose ID agrees on each kept character (7 at least) and whose name on
    each character shown: on the list, though their row was set aside (M4 called them absent)."""
    rows = pl.DataFrame({"kind": ["med_enrollment"] * 8, "record_id": list("ABCDEFGH"),
                         "id_raw": ["341302********2734", "'341302199901012734", "341302********2734", "3413************34",
                                    "341302********2734", "341302********2734", "341302********2734", "341302********2734"],
                         "name": ["廖*全", "王五", "李四", "廖梅全", "阿依古丽.买*提", "廖＊全", "孙*", "**"]})
    roster = pl.DataFrame({"person_id": ["p1", "p2", "p3", "p4"], "name": ["廖梅全", "王五", "阿依古丽.买买提", "孙 七"],
                           "id_number": ["341302196201112734", "341302199901012734", "341302197003052734",
                                         "341302198001012734"]})
    got = persons_shown(rows, roster, 7)
    # (a full-width mask ＊ is a mask; a roster name's stray space is no character of it; a name
    # masked whole shows no character, so every person the ID fits)
    assert sorted(got.select("record_id", "person_id").rows()) == [
        ("A", "p1"), ("B", "p2"), ("E", "p3"), ("F", "p1"), ("G", "p4"), ("H", "p1"), ("H", "p2"), ("H", "p3"), ("H", "p4")]
    assert persons_shown(rows.clear(), roster, 7).is_empty()


def test_a_list_row_set_aside_shows_a_person_whatever_dot_their_name_is_written_with():
    """A 参保名单 row set aside (停保) writing 阿依古丽•买买提, 阿依古丽买买提 or 阿依古丽 买买提 for
    the roster's 阿依古丽·买买提 did not show them: M4 called them absent from the list."""
    rows = pl.DataFrame({"kind": ["med_enrollment"] * 5, "record_id": list("ABCDE"),
                         "id_raw": ["653222********7800"] * 5,
                         "name": ["阿依古丽•买买提", "阿依古丽买买提", "阿依古丽 买买提", "阿依古丽.买*提", "阿依古丽·艾力"]})
    roster = pl.DataFrame({"person_id": ["p1"], "name": ["阿依古丽·买买提"], "id_number": ["653222197302097800"]})
    got = persons_shown(rows, roster, 7)
    assert sorted(got["record_id"].to_list()) == ["A", "B", "C", "D"]


def test_a_name_of_middle_dots_only_is_no_name():
    """A minority name's dot (·, •, .) alone names nobody: with no ID the row is set aside."""
    df = pl.DataFrame({"dept": ["民政"] * 4, "kind": ["civil"] * 4, "file": ["民政/a.csv"] * 4, "line": [2, 3, 4, 5],
                       "record_id": list("ABCD"), "name": ["·", "•", " . ", "买·提"], "id_raw": [None] * 4},
                      schema_overrides={"id_raw": pl.Utf8})
    kept, rejected = set_aside_unidentifiable(df)
    assert kept["record_id"].to_list() == ["D"] and rejected["record_id"].to_list() == ["A", "B", "C"]


def test_record_numbers_that_only_look_like_ids_do_not_count_as_ids_shown():
    """`id_in_record_id`: a 学籍号 holding a whole valid ID is an ID shown; 18-digit record numbers
    whose check character fails are numbers, and the file showing no ID is still named."""
    df = pl.DataFrame({"dept": ["教育"] * 2, "kind": ["education"] * 2, "file": ["教育/a.csv"] * 2, "line": [2, 3],
                       "record_id": ["341302202610000001", "341302202610000003"], "name": ["张三"] * 2,
                       "id_raw": [None, None]}, schema_overrides={"id_raw": pl.Utf8})
    assert unreadable_ids(df, id_in_record_id=True)["file"].to_list() == ["教育/a.csv"]


def test_a_finding_names_ten_lines_then_says_there_are_more():
    def rows(n):
        return pl.DataFrame({"dept": ["民政"] * n, "kind": ["civil"] * n, "file": ["民政/a.csv"] * n,
                             "line": list(range(2, n + 2)), "record_id": [f"R{i}" for i in range(n)], "name": ["张明"] * n,
                             "id_raw": ["3.41302E+17"] * n})
    ten = "第 2、3、4、5、6、7、8、9、10、11"
    assert ten + " 行）" in destroyed_ids(rows(10))["detail"][0]
    eleven = destroyed_ids(rows(11))
    assert ten + " … 行）" in eleven["detail"][0] and eleven["count"].to_list() == [11]


def test_an_id_excel_filled_with_three_zeros_is_destroyed():
    """15 digits kept and 000 after them (341302196201115000), written plainly: destroyed."""
    df = pl.DataFrame({"dept": ["民政"], "kind": ["civil"], "file": ["民政/a.csv"], "line": [2], "record_id": ["A"],
                       "name": ["张明"], "id_raw": ["341302196201115000"]})
    assert destroyed_ids(df)["count"].to_list() == [1]


def test_a_list_row_set_aside_shows_a_person_by_exactly_the_kept_characters_needed_and_without_a_name():
    """7 kept characters are enough (`min_kept` 7), 6 not; a row showing no name shows every
    person its ID fits."""
    rows = pl.DataFrame({"kind": ["med_enrollment"] * 3, "record_id": list("ABC"),
                         "id_raw": ["341302***********4", "34130************4", "341302********2734"],
                         "name": ["廖梅全", "廖梅全", None]})
    roster = pl.DataFrame({"person_id": ["p1"], "name": ["廖梅全"], "id_number": ["341302196201112734"]})
    assert sorted(persons_shown(rows, roster, 7).select("record_id", "person_id").rows()) == [("A", "p1"), ("C", "p1")]


def test_the_persons_shown_are_the_candidates_and_those_the_rows_set_aside_show():
    """M4's persons on the list: the matcher's candidates, and the roster persons a 参保名单 row
    set aside (停保) shows; none set aside, the candidates alone."""
    candidates = pl.DataFrame({"kind": ["med_enrollment"], "record_id": ["A"], "person_id": ["p1"], "score": [0.4]})
    roster = pl.DataFrame({"person_id": ["p1", "p2"], "name": ["张明", "李强"],
                           "id_number": ["341302196201112734", "341302199901015678"]})
    unread = pl.DataFrame({"dept": ["医保"], "kind": ["med_enrollment"], "record_id": ["B"],
                           "id_raw": ["341302********5678"], "name": ["李*"]})
    listed = {"med_enrollment": pl.DataFrame({"dept": ["医保"], "kind": ["med_enrollment"], "id_raw": ["341302********2734"]})}
    assert shown_on_lists(candidates, None, listed, roster, 7).equals(candidates)
    got = shown_on_lists(candidates, unread, listed, roster, 7)
    assert got.select("record_id", "person_id", "score").rows() == [("A", "p1", 0.4), ("B", "p2", None)]


def _aside(rows):
    """Roster persons set aside: (line, household, name, township, village, 证件号码 as delivered)."""
    return pl.DataFrame([dict(file="户籍底册/底册.csv", line=n, person_id=f"{h}-1", household_id=h, name=name,
                              township=t, village=v, id_number=i) for n, h, name, t, v, i in rows],
                        schema={"file": pl.Utf8, "line": pl.Int64, "person_id": pl.Utf8, "household_id": pl.Utf8,
                                "name": pl.Utf8, "township": pl.Utf8, "village": pl.Utf8, "id_number": pl.Utf8})


def _records(rows):
    """Unmatched records: (record, name, 证件号码, 乡（镇）, 行政村)."""
    return pl.DataFrame([dict(dept="民政", kind="civil", record_id=r, name=name, id_raw=i, township=t, village=v)
                         for r, name, i, t, v in rows],
                        schema={"dept": pl.Utf8, "kind": pl.Utf8, "record_id": pl.Utf8, "name": pl.Utf8,
                                "id_raw": pl.Utf8, "township": pl.Utf8, "village": pl.Utf8})


WHOLE = "342224195008187610"


def test_a_record_may_be_a_roster_person_set_aside_by_name_and_place_or_by_the_id_digits_kept():
    """A roster person set aside (Excel's 3.41302E+17, zeros past the 15th digit, blank) is on no
    roster the matcher reads: their records are unmatched. Such a record may be them when the
    name it shows fits and it names their 乡（镇） (and 行政村, where it names one), or its ID
    keeps 10 characters or more their 证件号码 kept too, all equal; never on a name alone, a
    name showing nothing (or a surname alone, by place), another village, an ID showing other
    digits than theirs kept, or the 5 digits of Excel's 3.41302E+17 (a sample county's
    non-roster persons of a roster surname and township were hinted as them); nor by ID when
    the record names another 乡（镇）(that township's list would name their 户编号)."""
    from pipelines.identify import set_aside_fits

    aside = _aside([(102, "H27", "蔡义志", "永镇镇", "孙集村", WHOLE[:15] + "000"),
                    (210, "H60", "董波超", "桃沟乡", "郑寨村", "3.41302E+17"),
                    (220, "H63", "张鹏伟", "永镇镇", "张套村", None)])
    records = _records([
        ("A", "蔡义志", None, "永镇", "孙集村委会"),  # name, township and village (suffixes aside)
        ("B", "张*伟", "341302********1234", "永镇镇", None),  # a masked name and the township
        ("C", "蔡**", WHOLE, None, None),  # no place: 15 digits kept, all equal
        ("D", "蔡**", "342224********7610", None, None),  # a 6+4 mask keeps 7 of those 15: too few
        ("E", "董波超", "341302199111073472", None, None),  # Excel's 3.41302E+17 keeps 5 digits
        ("F", "张鹏伟", None, "永镇镇", "王庄村"),  # another village
        ("G", "***", None, "永镇镇", "孙集村"),  # no name shown
        ("H", "李鹏伟", None, "永镇镇", "张套村"),  # another name
        ("I", "张**", None, "永镇镇", "张套村"),  # a surname alone, by place: too many fit it
        ("J", "蔡义志", "341302199001011234", "永镇镇", "孙集村"),  # an ID other than the 15 digits theirs kept
        ("K", "蔡**", WHOLE, "桃沟乡", None),  # 15 digits kept, all equal, but another 乡（镇）: its list is not theirs
    ])
    fits = set_aside_fits(records, aside)
    assert fits.select("record_id", "line", "household_id").rows() == [("A", 102, "H27"), ("B", 220, "H63"),
                                                                       ("C", 102, "H27")]
    assert fits["how"].to_list() == ["姓名、乡镇、行政村相符", "姓名、乡镇相符", "姓名相符，证件号码 15 位相同"]
    assert set_aside_fits(records, aside.clear()).is_empty() and set_aside_fits(records.clear(), aside).is_empty()


def test_a_lead_that_may_be_a_roster_person_set_aside_says_which_row_its_household_warnings_do_not():
    """A lead (no household: 非监测对象 …) whose record may be a roster person set aside says, in its
    预警依据, the roster's file, line and 户编号, asking for the roster to be checked first; a
    household's warning, and a lead whose records fit no one, are as they were. The unmatched
    link's reason says it too, and the report names the lines with their records."""
    from pipelines.identify import fits_finding, leads_with_fits, links_with_fits, set_aside_fits

    fits = set_aside_fits(_records([("A", "蔡义志", None, "永镇镇", "孙集村")]),
                          _aside([(102, "H27", "蔡义志", "永镇镇", "孙集村", None)]))
    warnings = pl.DataFrame({"warning_id": ["W1", "W2", "W3"], "household_id": [None, None, "H9"],
                             "dept": ["民政"] * 3, "record_ids": [["A", "X"], ["Y"], ["A"]],
                             "basis": ["非监测对象 蔡义志 新增临时救助", "非监测对象 某某", "蔡某 新增临时救助"]})
    said = leads_with_fits(warnings, fits)
    assert said.columns == warnings.columns
    assert said["basis"].to_list() == [
        "非监测对象 蔡义志 新增临时救助；或为户籍底册被搁置（未能读入）的人员：户籍底册/底册.csv 第 102 行（户编号 H27，"
        "姓名、乡镇、行政村相符），请先核对底册，勿径按新增户处理", "非监测对象 某某", "蔡某 新增临时救助"]
    links = pl.DataFrame({"dept": ["民政", "民政"], "kind": ["civil", "civil"], "record_id": ["A", "Y"],
                          "decision": ["unmatched", "unmatched"], "reason": ["no ID-compatible roster person"] * 2})
    assert links_with_fits(links, fits)["reason"].to_list() == [
        "no ID-compatible roster person; may be the roster's row set aside: 户籍底册/底册.csv 第 102 行（户编号 H27，"
        "姓名、乡镇、行政村相符）", "no ID-compatible roster person"]
    found = fits_finding(fits, "户籍底册")
    assert found.select("category", "dept", "file", "count").rows() == [
        (Finding.ASIDE_RECORDS, "户籍底册", "户籍底册/底册.csv", 1)]
    assert "第 102 行（户编号 H27：民政 1 条）" in found["detail"].item()
    assert leads_with_fits(warnings, fits.clear()).equals(warnings) and fits_finding(fits.clear()).is_empty()


def test_a_lead_placed_in_a_township_is_told_only_of_a_roster_row_set_aside_of_that_township():
    """A lead's township list names the roster row it may be only when that row is of the lead's
    乡（镇）: a record fitting by ID alone need name no township (医保, 教育, 残联 name none), and
    the lead it is cited by may be placed in another township by its other records. That
    township's list named another township's 户编号. A lead no township is known for (the
    county's list of leads to place by hand) is told; a township spelled otherwise is one."""
    from pipelines.identify import leads_with_fits, set_aside_fits

    aside = _aside([(102, "H27", "蔡义志", "永镇镇", "孙集村", WHOLE[:15] + "000"),
                    (210, "H60", "董波超", "桃沟乡", "郑寨村", None)])
    fits = set_aside_fits(_records([("A", "蔡义志", WHOLE, None, None),  # by ID: H27 of 永镇镇
                                    ("B", "董波超", None, "桃沟", None)]), aside)  # by place: H60 of 桃沟乡
    assert fits.select("record_id", "household_id").rows() == [("B", "H60"), ("A", "H27")]
    warnings = pl.DataFrame({"warning_id": ["W1", "W2", "W3"], "household_id": [None] * 3,
                             "township": ["桃沟乡", None, "桃沟"], "dept": ["民政"] * 3,
                             "record_ids": [["A", "X"], ["A"], ["B"]], "basis": ["非监测对象 蔡义志", "非监测对象 蔡义志", "非监测对象 董波超"]})
    said = leads_with_fits(warnings, fits)
    assert said.columns == warnings.columns
    assert said["basis"].str.contains("H27").to_list() == [False, True, False]
    assert said["basis"].str.contains("H60").to_list() == [False, False, True]


def test_only_the_records_left_unmatched_are_looked_for_among_the_roster_persons_set_aside():
    """A record linked, or sent to review, has its person or its candidates on the roster read: it
    is not told it may be a row set aside, though its name and place fit one; an unmatched one is.
    A record is known by department, kind and number together (the same number of another kind
    linked does not hide it)."""
    from pipelines.identify import unmatched_fits

    aside = _aside([(102, "H27", "蔡义志", "永镇镇", "孙集村", None)])
    records = pl.concat([_records([(r, "蔡义志", None, "永镇镇", "孙集村")]) for r in ("A", "B", "C")]
                        + [_records([("A", "蔡义志", None, "永镇镇", "孙集村")]).with_columns(kind=pl.lit("housing"))])
    links = pl.DataFrame({"dept": ["民政"] * 4, "kind": ["civil", "civil", "civil", "housing"],
                          "record_id": ["A", "B", "C", "A"], "decision": ["unmatched", "matched", "review", "matched"]})
    fits = unmatched_fits(links, records, aside)
    assert fits.select("kind", "record_id", "line").rows() == [("civil", "A", 102)]
    assert unmatched_fits(links.with_columns(decision=pl.lit("matched")), records, aside).is_empty()


def test_a_partial_run_tells_the_kept_departments_fits_whose_roster_row_is_still_set_aside():
    """A partial run links only the departments re-read; the others' records that may be roster
    rows set aside are those the period's full run found (`kept`), told beside this run's while
    their row is still set aside (the roster is read again by every run: a row read now is on
    it, and no longer said). A full run (no kept fits) tells its own."""
    from pipelines.identify import FIT_SCHEMA, fits_of_period, set_aside_fits

    aside = _aside([(102, "H27", "蔡义志", "永镇镇", "孙集村", None)])
    fits = set_aside_fits(_records([("A", "蔡义志", None, "永镇镇", "孙集村")]), aside)
    kept = pl.DataFrame([dict(dept="医保", kind="med_settlement", record_id=r, file="户籍底册/底册.csv", line=n,
                              household_id=h, how="姓名、乡镇相符", township="永镇镇", period="2026-10")
                         for r, n, h in [("S1", 102, "H27"), ("S2", 300, "H90")]])  # (as stored: with its period)
    told = fits_of_period(fits, kept, aside)
    assert told.schema == pl.Schema(FIT_SCHEMA)
    assert told.select("dept", "record_id", "line").rows() == [("民政", "A", 102), ("医保", "S1", 102)]
    assert fits_of_period(fits, None, aside).equals(fits)
    assert fits_of_period(fits.clear(), kept, aside.clear()).is_empty()

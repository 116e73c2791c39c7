import polars as pl
import pytest

from pipelines.accounting import (AccountingError, account, county_quality, export_months, in_report_order, inbox_findings,
                                  quality_report, settle, changed_since_last_run)
from pipelines.validate import REJECTED_SCHEMA, SUPERSEDED_SCHEMA
from pipelines.console import attention_lines
from schemas.outputs import QUALITY_COLUMNS, Finding


def _links(rows):
    return pl.DataFrame(rows, schema=["dept", "decision"], orient="row")


def test_account_balances_each_department():
    rows = pl.DataFrame({"dept": ["医保", "医保", "住建"], "rows": [3, 2, 2]})
    links = _links([("医保", "matched"), ("医保", "review"), ("医保", "unmatched"), ("医保", "rejected"),
                    ("住建", "matched"), ("住建", "matched")])
    sup = pl.DataFrame({"dept": ["医保"]})
    t = account(rows, links, sup)
    yb = t.filter(pl.col("dept") == "医保").row(0, named=True)
    assert (yb["rows_read"], yb["superseded"], yb["matched"], yb["review"], yb["unmatched"], yb["rejected"]) == (5, 1, 1, 1, 1, 1)
    assert t["balanced"].all()


def test_account_fails_loudly_when_a_row_is_lost():
    rows = pl.DataFrame({"dept": ["教育"], "rows": [3]})
    links = _links([("教育", "matched"), ("教育", "unmatched")])
    with pytest.raises(AccountingError, match="教育: read 3 but accounted 2"):
        account(rows, links, pl.DataFrame(schema={"dept": pl.Utf8}))


def test_account_fails_when_more_rows_are_accounted_than_read():
    """A row counted twice is as wrong as one lost. (Rows of a department none was read for:
    `test_rows_accounted_in_a_department_no_rows_were_read_from_fail_the_balance`.)"""
    with pytest.raises(AccountingError, match="教育: read 1 but accounted 2"):
        account(pl.DataFrame({"dept": ["教育"], "rows": [1]}), _links([("教育", "matched"), ("教育", "matched")]),
                pl.DataFrame(schema={"dept": pl.Utf8}))


def test_quality_report_flags_oversized_grids_and_households_without_grid():
    grid = pl.DataFrame({"grid_id": ["G1"] * 3 + ["G2"], "household_id": ["h1", "h2", "h3", "h4"]})
    roster = pl.DataFrame({"household_id": ["h1", "h2", "h3", "h4", "h5"]})
    empty_rej = pl.DataFrame(schema={"dept": pl.Utf8, "kind": pl.Utf8, "file": pl.Utf8, "line": pl.Int64, "reason": pl.Utf8})
    findings = pl.DataFrame([dict(category="部门未报送 department missing", dept="水利", file=None, detail="x", count=1)])
    q = quality_report(findings, empty_rej, pl.DataFrame(schema={"dept": pl.Utf8}), grid, roster, max_grid_households=2)
    cats = q["category"].to_list()
    assert any("网格超过户数上限" in c for c in cats)
    assert q.filter(pl.col("category").str.contains("网格超过"))["detail"].item().startswith("网格 G1")
    assert q.filter(pl.col("category").str.contains("户无网格员"))["count"].item() == 1
    assert "：h5 " in q.filter(pl.col("category").str.contains("户无网格员"))["detail"].item()  # (which one)
    assert Finding.GRID_OFF_ROSTER not in cats  # (every grid household is on the roster)
    assert "部门未报送 department missing" in cats


def test_quality_report_names_a_township_the_roster_holds_under_two_counties():
    """A city's roster run as one county: 城关镇 of 砀山县 and of 萧县 would share one township
    list (lists are by 乡（镇）), so the report and the console say so; 大店镇 of one county, and a
    township whose county is not given beside one that is, are not named."""
    roster = pl.DataFrame({"household_id": ["h1", "h2", "h3", "h4", "h5"],
                           "county": ["砀山县", "萧县", "萧县", "埇桥区", None],
                           "township": ["城关镇", "城关镇", "城关镇", "大店镇", "大店镇"]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), pl.DataFrame(schema={"dept": pl.Utf8}), None, roster,
                       max_grid_households=100)
    twice = q.filter(pl.col("category") == Finding.TOWNSHIP_TWICE)
    assert twice["detail"].to_list() == [
        "乡（镇）城关镇 在 砀山县、萧县 均有，两地的户将列入同一份乡镇清单：请按县分别运行 township in two counties: "
        "their households would share one township list; run each county from its own inbox"]
    assert Finding.TOWNSHIP_TWICE in Finding.ATTENTION


REJECTED = {"dept": pl.Utf8, "kind": pl.Utf8, "file": pl.Utf8, "line": pl.Int64, "reason": pl.Utf8}
NO_FINDINGS = pl.DataFrame(schema={"category": pl.Utf8, "dept": pl.Utf8, "file": pl.Utf8, "detail": pl.Utf8,
                                   "count": pl.Int64})


def test_quality_report_lists_a_file_set_aside_whole_once_and_counts_bad_rows_by_reason():
    rejected = pl.DataFrame([("住建", None, "住建/a.xlsx", None, "XLSX文件损坏 corrupt XLSX"),
                             ("医保", "med_settlement", "医保/b.csv", 3, "settle_date 日期无法解析: '2026-13-45'"),
                             ("医保", "med_settlement", "医保/b.csv", 9, "settle_date 日期无法解析: '2026-02-30'")],
                            schema=REJECTED, orient="row")
    q = quality_report(NO_FINDINGS, rejected, pl.DataFrame(schema={"dept": pl.Utf8}), None, None, max_grid_households=100)
    assert q.select("category", "file", "count").rows() == [
        ("文件被搁置 file set aside", "住建/a.xlsx", 1), ("行被搁置 rows set aside", "医保/b.csv", 2)]


def test_a_table_whose_header_fits_no_kind_is_a_file_set_aside_with_its_reason_and_rows():
    """Its rows are set aside one by one (kind unknown, each with its line, for the accounting),
    but it is one file set aside whole, saying which columns it lacks (once cut at the ':' into
    a row count under 行被搁置, which the console's attention lines leave out); an unknown
    folder or a file at the period's root is one too."""
    misfit = "缺少必需列 missing required columns: civil: 变动类型"
    rejected = pl.DataFrame([("民政", None, "民政/c.csv", 2, misfit), ("民政", None, "民政/c.csv", 3, misfit),
                             ("医保局", None, "医保局/", None, "未知文件夹，已跳过 unknown folder, set aside"),
                             ("", None, "说明.csv", None, "不在部门文件夹中 not in a department folder")],
                            schema=REJECTED, orient="row")
    q = quality_report(NO_FINDINGS, rejected, pl.DataFrame(schema={"dept": pl.Utf8}), None, None, max_grid_households=100)
    assert q.select("category", "dept", "file", "detail", "count").rows() == [
        ("文件被搁置 file set aside", "", "说明.csv", "不在部门文件夹中 not in a department folder", 1),
        ("文件被搁置 file set aside", "医保局", "医保局/", "未知文件夹，已跳过 unknown folder, set aside", 1),
        ("文件被搁置 file set aside", "民政", "民政/c.csv", misfit, 2)]


def test_quality_report_says_which_files_delivery_of_a_record_is_used():
    """Records delivered again: by the file replaced and the file used; those replaced with other
    content (a correction) in a category the console shows too, the unchanged ones apart."""

    sup = pl.DataFrame([("医保", "医保/第二批.csv", 7, "JS1", "医保/更正.csv:2", True),
                        ("医保", "医保/第二批.csv", 9, "JS2", "医保/更正.csv:3", True),
                        ("医保", "医保/第一批.csv", 4, "JS3", "医保/更正.csv:4", False)],
                       schema=["dept", "file", "line", "record_id", "superseded_by", "changed"], orient="row")
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup, None, None, max_grid_households=100)
    assert q.select("category", "file", "count").rows() == [
        ("更正记录 records replaced by a later delivery", "医保/第二批.csv", 2),
        ("重复记录 records delivered again unchanged", "医保/第一批.csv", 1)]
    assert all("医保/更正.csv" in d for d in q["detail"])
    assert attention_lines(q, ["户籍底册", "网格"]) == [
        "更正记录 医保 医保/第二批.csv 在 医保/更正.csv 中以不同内容再次报送，以后者为准 delivered again with other content "
        "in 医保/更正.csv: that delivery is used（2 行 rows）"]


def test_a_list_s_rows_of_another_year_are_said_apart_from_corrections_and_not_on_the_console():
    """A 参保名单 over two 参保年度: the rows of the other year are superseded by the period's, but
    they are no correction (更正记录, on the console): the report says which year's row is used."""

    sup = pl.DataFrame([("医保", "医保/参保名单.csv", 3, "CB1", "医保/参保名单.csv:2", True, True),
                        ("医保", "医保/参保名单.csv", 5, "CB2", "医保/参保名单.csv:4", True, True),
                        ("医保", "医保/参保名单_次年.csv", 2, "CB6", "医保/参保名单.csv:7", True, True),
                        ("医保", "医保/参保名单.csv", 6, "CB3", "医保/参保名单.csv:8", True, False)],
                       schema=["dept", "file", "line", "record_id", "superseded_by", "changed", "other_year"], orient="row")
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup, None, None, max_grid_households=100)
    assert q.sort("file", "count").select("category", "file", "count").rows() == [
        ("更正记录 records replaced by a later delivery", "医保/参保名单.csv", 1),
        ("其他年度的行 a record's rows of other years", "医保/参保名单.csv", 2),
        ("其他年度的行 a record's rows of other years", "医保/参保名单_次年.csv", 1)]
    assert [d for d in q["detail"] if "本期年度" in d] and [d for d in q["detail"] if "医保/参保名单.csv 中另有其他年度" in d]
    assert all("年度" not in line for line in attention_lines(q, ["户籍底册", "网格"]))


def test_the_reference_files_rows_set_aside_are_on_the_console_others_in_the_report_only():

    q = pl.DataFrame([("行被搁置 rows set aside", "户籍底册", "户籍底册/a.csv", "id_number 必填项为空 missing value", 2),
                      ("行被搁置 rows set aside", "网格", "网格/g.csv", "household_id 必填项为空 missing value", 1),
                      ("行被搁置 rows set aside", "医保", "医保/s.csv", "amount 负数 negative", 5),
                      ("身份证号校验位不符 ID check character fails", "户籍底册", "户籍底册/a.csv", "H1-02（第 3 行）", 1),
                      ("身份证号校验位不符 ID check character fails", "医保", None, "3 of 900", 3)],
                     schema=["category", "dept", "file", "detail", "count"], orient="row")
    assert attention_lines(q, ["户籍底册", "网格"]) == [
        "行被搁置 户籍底册 户籍底册/a.csv id_number 必填项为空 missing value（2 行 rows）",
        "行被搁置 网格 网格/g.csv household_id 必填项为空 missing value",
        "身份证号校验位不符 户籍底册 户籍底册/a.csv H1-02（第 3 行）"]


def test_a_deadline_counted_without_a_holiday_schedule_is_on_the_console():
    """A deadline in a year the calendar does not know is a guess the operator must check (and
    can fix by entering the year's schedule): the console says so, not only the report."""
    from datetime import date

    from pipelines.calendar import add_working_days

    note = add_working_days(date(2026, 12, 30), 3)[1]
    q = pl.DataFrame([("日历 calendar", None, None, note, 1)],
                     schema=["category", "dept", "file", "detail", "count"], orient="row")
    assert attention_lines(q, ["户籍底册", "网格"]) == [f"日历 {note}"]


def test_a_record_twice_in_one_file_is_not_called_the_file_replacing_itself():
    sup = pl.DataFrame([("医保", "医保/补报.csv", 3, "JS1", "医保/补报.csv:9", True),
                        ("医保", "医保/补报.csv", 4, "JS2", "医保/补报.csv:10", False)],
                       schema=["dept", "file", "line", "record_id", "superseded_by", "changed"], orient="row")
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup, None, None, max_grid_households=100)
    assert q.select("category", "file", "count").rows() == [
        ("更正记录 records replaced by a later delivery", "医保/补报.csv", 1),
        ("重复记录 records delivered again unchanged", "医保/补报.csv", 1)]
    assert q["detail"].to_list() == [
        "同一记录在本文件中以不同内容出现两次，以后一行为准 a record twice in the file with other content: the later line is used",
        "同一记录在本文件中原样出现两次，只计一次 a record twice in the file unchanged: counted once"]


def test_households_the_grid_and_the_roster_do_not_share_are_named():
    """A household in no grid goes out without a grid worker, one the grid holds but the roster
    does not is counted in its grid's households (Article 10) though nobody there is monitored:
    both are named by 户编号 (the first ten, sorted), not only counted."""
    grid = pl.DataFrame({"grid_id": ["G1"] * 13, "household_id": ["h1"] + [f"x{i:02d}" for i in range(12)]})
    roster = pl.DataFrame({"household_id": ["h1", "h3", "h2"]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), pl.DataFrame(schema={"dept": pl.Utf8}), grid, roster,
                       max_grid_households=100)
    orphan = q.filter(pl.col("category") == Finding.NO_GRID_WORKER).row(0, named=True)
    assert (orphan["count"], orphan["detail"]) == (2, "底册中的户在网格表中找不到：h2、h3 roster households missing from the grid")
    stray = q.filter(pl.col("category") == Finding.GRID_OFF_ROSTER).row(0, named=True)
    assert stray["count"] == 12 and "：x00、x01、x02、x03、x04、x05、x06、x07、x08、x09… " in stray["detail"]


def test_grid_household_numbers_excel_filled_with_zeros_say_so():
    """A grid whose long 户编号 Excel kept to 15 significant digits (341302101201000123 ->
    341302101201000000) meets none of the roster's: the finding says why."""
    grid = pl.DataFrame({"grid_id": ["G1", "G1"], "household_id": ["341302101201000000", "341302101201001000"]})
    roster = pl.DataFrame({"household_id": ["341302101201000123", "341302101201001456"]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), pl.DataFrame(schema={"dept": pl.Utf8}), grid, roster,
                       max_grid_households=100)
    d = q.filter(pl.col("category") == Finding.GRID_OFF_ROSTER)["detail"].item()
    assert "341302101201000000、341302101201001000" in d and "15 位有效数字" in d


def test_a_household_the_grid_lists_twice_with_other_content_is_named_with_the_grid_kept():
    """A household in two grids (or under two grid workers): the last delivery is kept, as for any
    record delivered again, and the generic 更正记录 says how many; which household, and under
    which grid it now goes out, is named too."""
    grid = pl.DataFrame({"grid_id": ["G1", "G2"], "grid_worker": ["甲", "乙"], "household_id": ["h1", "h2"]})
    roster = pl.DataFrame({"household_id": ["h1", "h2"]})
    sup = pl.DataFrame({"dept": ["网格", "网格", "医保"], "kind": ["grid", "grid", "med_settlement"],
                        "file": ["网格/网格.csv", "网格/网格.csv", "医保/a.csv"], "line": [3, 5, 2],
                        "record_id": ["h2", "h1", "JS1"], "superseded_by": ["网格/网格.csv:9", "网格/网格.csv:8", "医保/b.csv:2"],
                        "changed": [True, False, True]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup, grid, roster, max_grid_households=100)
    row = q.filter(pl.col("category") == Finding.GRID_TWICE).row(0, named=True)
    assert row["count"] == 1 and "h2（网格/网格.csv 第 3 行另列；按 网格/网格.csv:9 行的网格 G2）" in row["detail"]
    assert "h1" not in row["detail"] and "乙" not in row["detail"]  # (no worker's name: the report names no person)
    assert q.filter(pl.col("category") == Finding.REPLACED).height == 2  # (the generic rows stay)


def test_a_department_file_identical_to_one_of_an_earlier_period_is_found_with_that_periods_file():
    """September's 人社 extract put again into October's folder (not read there) and again into
    November's: its records were delivered in September. A department file byte for byte one of
    an earlier period is found with the first such period's file, where its records were read
    (`inbox.read_department` then does not read it again); a roster or grid (a snapshot that may
    not change) is not."""
    from pipelines.accounting import earlier_copies

    files = pl.DataFrame({"dept": ["人社", "人社", "户籍底册"], "file": ["hr/a.csv", "hr/b.csv", "户籍底册/r.csv"],
                          "sha256": ["s1", "s2", "s3"]})
    earlier = pl.DataFrame({"period": ["2026-09", "2026-10", "2026-10"], "dept": ["人社", "人社", "户籍底册"],
                            "file": ["hr/old.csv", "hr/就业社保变动_2026-10.csv", "户籍底册/r.csv"],
                            "sha256": ["s1", "s1", "s3"]})
    assert earlier_copies(files, earlier, ["人社"]).rows() == [("人社", "hr/a.csv", "2026-09", "hr/old.csv")]
    assert earlier_copies(files, None, ["人社"]).is_empty()


def test_answers_put_into_an_earlier_periods_folder_after_it_ran_are_named(tmp_path):
    """A township's late list dropped into 2026-10/反馈/ after October ran (or a queue answered
    into 2026-10/复核/): a run reads only its own period's answer folders, so the answers waited
    unseen until someone re-ran October. The next run names each such file (new, or changed since
    that run) on the console, saying what to do; files read by that run, other folders and files
    no run reads (a PDF, an Office lock file) are not named."""
    from adapters.inbox import answer_files
    from config import load_config
    from pipelines.accounting import answers_put_in_late

    cfg = load_config()
    oct_ = tmp_path / "2026-10"
    for rel, text in [("反馈/大店镇_2026-09_预警清单.csv", "a"), ("反馈/大店镇_2026-10_预警清单_迟交.csv", "b"),
                      ("feedback/夹沟镇/反馈.csv", "c"), ("复核/人工复核队列.csv", "d"), ("医保/结算.csv", "e"),
                      ("反馈/盖章件.pdf", "f"), ("反馈/~$大店镇.xlsx", "g")]:
        (oct_ / rel).parent.mkdir(parents=True, exist_ok=True)
        (oct_ / rel).write_text(text)
    found = answer_files(oct_, cfg, ["反馈", "复核"]).with_columns(period=pl.lit("2026-10"))
    assert sorted(found["file"]) == ["feedback/夹沟镇/反馈.csv", "反馈/大店镇_2026-09_预警清单.csv",
                                     "反馈/大店镇_2026-10_预警清单_迟交.csv", "复核/人工复核队列.csv"]
    assert set(found.filter(pl.col("file").str.starts_with("feedback"))["dept"]) == {"反馈"}
    ran = found.filter(pl.col("file").is_in(["反馈/大店镇_2026-09_预警清单.csv", "复核/人工复核队列.csv",
                                            "feedback/夹沟镇/反馈.csv"]))
    ran = ran.with_columns(sha256=pl.when(pl.col("file") == "复核/人工复核队列.csv").then(pl.lit("changed since"))
                           .otherwise("sha256"))
    q = answers_put_in_late(found, ran, "2026-11")
    assert q["file"].to_list() == ["2026-10/反馈/大店镇_2026-10_预警清单_迟交.csv", "2026-10/复核/人工复核队列.csv"]
    assert set(q["category"]) == {Finding.ANSWERS_NOT_READ} and "重跑 2026-10" in q["detail"][0]
    assert "本期（2026-11）的 反馈/" in q["detail"][0] and "本期（2026-11）的 复核/" in q["detail"][1]
    assert len(attention_lines(q, cfg.reference_folders)) == 2
    assert answers_put_in_late(found.clear(), ran, "2026-11").is_empty()
    assert answer_files(tmp_path / "2026-08", cfg, ["反馈"]).is_empty()  # (a period folder no longer there)


def test_a_file_put_into_another_departments_folder_last_month_is_no_earlier_copy_in_its_own():
    """September's 结算明细 was put into 民政/ by mistake: read there as 民政's, its rows set aside
    (their headers fit no kind of 民政). In October the clerk puts the same file, byte for byte,
    into 医保/: it was taken for an earlier copy and not read — the settlements never counted
    anywhere, the console saying they were delivered in September. Only the department's own
    earlier deliveries make a copy."""
    from pipelines.accounting import earlier_copies

    files = pl.DataFrame({"dept": ["医保"], "file": ["医保/结算明细_2026-09.csv"], "sha256": ["s1"]})
    earlier = pl.DataFrame({"period": ["2026-09"], "dept": ["民政"], "file": ["民政/结算明细_2026-09.csv"],
                            "sha256": ["s1"]})
    assert earlier_copies(files, earlier, ["医保", "民政"]).is_empty()
    again = earlier.with_columns(period=pl.lit("2026-08"), dept=pl.lit("医保"), file=pl.lit("医保/结算明细_2026-08.csv"))
    assert earlier_copies(files, pl.concat([earlier, again]), ["医保", "民政"]).rows() == [
        ("医保", "医保/结算明细_2026-09.csv", "2026-08", "医保/结算明细_2026-08.csv")]


def test_rows_accounted_in_a_department_no_rows_were_read_from_fail_the_balance():
    """Records or superseded rows of a department with no rows read (a count lost on the way in)
    are rows from nowhere: the balance names the department, it does not drop it."""
    rows = pl.DataFrame({"dept": ["医保"], "rows": [1]})
    with pytest.raises(AccountingError, match="住建: read 0 but accounted 1"):
        account(rows, _links([("医保", "matched"), ("住建", "matched")]), pl.DataFrame(schema={"dept": pl.Utf8}))
    with pytest.raises(AccountingError, match="民政: read 0 but accounted 1"):
        account(rows, _links([("医保", "matched")]), pl.DataFrame({"dept": ["民政"]}))


def test_a_grid_of_exactly_the_limit_is_not_over_it_and_a_household_listed_twice_counts_once():
    """Article 10: at most 100 households a grid worker. G1 holds 2 households (h1 on two rows),
    the limit 2: not over; G2's 3 are."""
    grid = pl.DataFrame({"grid_id": ["G1", "G1", "G1", "G2", "G2", "G2"], "household_id": ["h1", "h1", "h2", "h3", "h4", "h5"]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), pl.DataFrame(schema={"dept": pl.Utf8}), grid, None,
                       max_grid_households=2)
    assert q.filter(pl.col("category") == Finding.GRID_OVER_LIMIT).select("detail", "count").rows() == [
        ("网格 G2 户数超过 2（3 户）", 3)]
    # named with its file and first line (the grid's id alone was all it said), not its worker (no names in the report)
    grid = grid.with_columns(grid_worker=pl.Series(["甲"] * 3 + [None, "乙", "乙"]), file=pl.lit("网格/网格.csv"),
                             line=pl.Series([2, 3, 4, 9, 7, 8]))
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), pl.DataFrame(schema={"dept": pl.Utf8}), grid, None,
                       max_grid_households=2)
    assert q.filter(pl.col("category") == Finding.GRID_OVER_LIMIT).select("file", "detail").rows() == [
        ("网格/网格.csv", "网格 G2（网格/网格.csv 第 7 行起）户数超过 2（3 户）")]
    assert not q["detail"].str.contains("乙").any()


def test_ten_households_named_are_all_there_is_no_ellipsis():
    """The first ten 户编号 are named, `…` saying there are more: ten are all (grid households
    off the roster, and households the grid lists twice with other content)."""
    ids = [f"x{i}" for i in range(10)]
    grid = pl.DataFrame({"grid_id": ["G1"] * 10, "grid_worker": ["甲"] * 10, "household_id": ids})
    sup = pl.DataFrame({"dept": ["网格"] * 10, "kind": ["grid"] * 10, "file": ["网格/g.csv"] * 10, "line": range(2, 12),
                        "record_id": ids, "superseded_by": [f"网格/g.csv:{n}" for n in range(20, 30)], "changed": [True] * 10})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup, grid, pl.DataFrame({"household_id": ["h1"]}),
                       max_grid_households=100)
    stray = q.filter(pl.col("category") == Finding.GRID_OFF_ROSTER).row(0, named=True)
    twice = q.filter(pl.col("category") == Finding.GRID_TWICE).row(0, named=True)
    assert stray["count"] == 10 and twice["count"] == 10
    assert "…" not in stray["detail"] and "…" not in twice["detail"] and "x9" in stray["detail"] and "x9（" in twice["detail"]


def test_some_grid_household_numbers_excel_filled_with_zeros_say_so_beside_mistyped_ones():
    grid = pl.DataFrame({"grid_id": ["G1", "G1"], "household_id": ["341302101201000000", "H9"]})
    roster = pl.DataFrame({"household_id": ["341302101201000123"]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), pl.DataFrame(schema={"dept": pl.Utf8}), grid, roster,
                       max_grid_households=100)
    assert "15 位有效数字" in q.filter(pl.col("category") == Finding.GRID_OFF_ROSTER)["detail"].item()


def test_a_stored_superseded_row_without_a_year_said_is_a_correction_not_another_year():
    """A run stored before `other_year` existed has it empty: its rows are read as corrections
    or repeats, as they were then."""
    sup = pl.DataFrame({"dept": ["医保"], "file": ["医保/a.csv"], "line": [2], "record_id": ["JS1"],
                        "superseded_by": ["医保/b.csv:2"], "changed": [True], "other_year": [None]},
                       schema_overrides={"other_year": pl.Boolean})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup, None, None, max_grid_households=100)
    assert q["category"].to_list() == [Finding.REPLACED]


def test_records_replaced_by_another_persons_rows_are_said_as_perhaps_numbered_per_file():
    """A file whose records another file replaced with other persons' rows (another ID and name:
    files each numbered from 1) says how many and what it likely means, not only 'corrected'; so
    does one whose later lines replace its earlier ones so (parts of it numbered each from 1)."""
    sup = pl.DataFrame({"dept": ["医保"] * 3, "file": ["医保/一.csv"] * 3, "line": [2, 3, 4], "record_id": ["1", "2", "3"],
                        "superseded_by": ["医保/二.csv:2", "医保/二.csv:3", "医保/二.csv:4"], "changed": [True] * 3,
                        "other_year": [False] * 3, "other_person": [True, True, False]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup, None, None, max_grid_households=100)
    row = q.row(0, named=True)
    assert row["category"] == Finding.REPLACED and row["count"] == 3
    assert "以后者为准；其中 2 行的证件号码与姓名都与之不同，是另一个人：部门是否每个文件各自从 1 编号？" in row["detail"]
    assert "2 of them show another ID and another name" in row["detail"]
    plain = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup.drop("other_person"), None, None,
                           max_grid_households=100)["detail"].item()  # (a run stored before the column existed)
    assert plain.endswith("that delivery is used") and "另一个人" not in plain
    # two persons under one number in one file (a file joining townships' lists, each numbered from 1):
    # the earlier line's record is lost, said so, not as a correction only
    inner = sup.with_columns(superseded_by=pl.format("{}:{}", "file", pl.col("line") + 10))
    row = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), inner, None, None, max_grid_households=100).row(0, named=True)
    assert row["category"] == Finding.REPLACED and row["count"] == 3
    assert row["detail"].startswith("同一记录在本文件中以不同内容出现两次，以后一行为准；其中 2 行的证件号码与姓名都与之不同，是另一个人：")
    assert row["detail"].endswith("the earlier line's records are lost, ask for one numbering")
    plain = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), inner.with_columns(other_person=pl.lit(False)), None,
                           None, max_grid_households=100)["detail"].item()
    assert plain == "同一记录在本文件中以不同内容出现两次，以后一行为准 a record twice in the file with other content: the later line is used"


def test_the_report_lists_a_category_s_findings_without_a_file_after_those_with_one():
    q = pl.DataFrame([("c", "医保", None, "b", 1), ("c", "医保", "医保/a.csv", "a", 1)],
                     schema=["category", "dept", "file", "detail", "count"], orient="row")
    assert in_report_order(q)["file"].to_list() == ["医保/a.csv", None]


def test_the_period_settles_one_link_per_record_rows_set_aside_included_the_kept_ones_after():
    """links: the person records', the work orders' places and each row set aside (named by file
    and line when it has no record number; a file set aside whole is no row), of the departments
    read (not the grid); every row read is accounted for, else the run stops. A partial run's
    kept rows of the other departments complete the period, in folder order."""
    person = pl.DataFrame({"dept": ["医保", "医保", "网格"], "kind": ["med_settlement", "med_settlement", "grid"],
                           "record_id": ["B", "A", "G1"], "decision": ["matched", "unmatched", "matched"],
                           "person_id": ["P1", None, None], "household_id": ["H1", None, None], "score": [0.99, None, None],
                           "reason": ["id", None, None], "n_candidates": pl.Series([1, 0, 0], dtype=pl.Int32)})
    water = pl.DataFrame({"dept": ["水利"], "kind": ["water"], "record_id": ["W1"], "decision": ["matched"],
                          "reason": ["village found"]})
    rejected = pl.DataFrame({"dept": ["医保", "医保"], "kind": ["med_settlement", None], "file": ["医保/a.csv", "医保/b.xls"],
                             "line": [5, None], "record_id": [None, None], "field": [None, None], "value": [None, None],
                             "reason": ["缺少必填值", "无法读取"]}, schema=REJECTED_SCHEMA)
    superseded = pl.DataFrame({"dept": ["医保"], "kind": ["med_settlement"], "file": ["医保/a.csv"], "line": [3],
                               "record_id": ["A"], "superseded_by": ["医保/c.csv:2"], "changed": [True], "other_year": [False],
                               "other_person": [False]},
                              schema=SUPERSEDED_SCHEMA)
    rows = pl.DataFrame({"dept": ["医保", "水利", "网格"], "rows": [4, 1, 1]})
    links, rej, sup, table = settle(person, water, rejected, superseded, rows, ["医保", "水利", "网格"], ["医保", "水利", "民政"])
    assert links.select("dept", "record_id", "decision").rows() == [
        ("医保", "A", "unmatched"), ("医保", "B", "matched"), ("医保", "医保/a.csv#5", "rejected"), ("水利", "W1", "matched")]
    assert links["n_candidates"].dtype == pl.Int64 and rej.height == 2 and sup.height == 1
    assert table.select("dept", "rows_read", "superseded", "matched", "unmatched", "rejected", "balanced").rows() == [
        ("医保", 4, 1, 1, 1, 1, True), ("水利", 1, 0, 1, 0, 0, True)]
    with pytest.raises(AccountingError, match="医保: read 5 but accounted 4"):
        settle(person, water, rejected, superseded, rows.with_columns(rows=pl.Series([5, 1, 1])), ["医保", "水利"],
               ["医保", "水利"])
    kept = {"links": links.filter(pl.col("record_id") == "B").with_columns(dept=pl.lit("民政"), record_id=pl.lit("M1")),
            "rejected": rejected.head(1).with_columns(dept=pl.lit("民政")), "superseded": None,
            "accounting": table.head(1).with_columns(dept=pl.lit("民政"))}
    links, rej, sup, table = settle(person, None, rejected, superseded, rows.head(1), ["医保"], ["医保", "民政"], kept)
    assert links["dept"].to_list() == ["医保"] * 3 + ["民政"] and table["dept"].to_list() == ["医保", "民政"]
    assert rej["dept"].to_list() == ["医保", "医保", "民政"] and sup.height == 1
    # (民政's row as a warehouse stored it before copies were counted: none)
    _, _, _, table = settle(person, None, rejected, superseded, rows.head(1).with_columns(rows=pl.lit(7), copies=pl.lit(3)),
                            ["医保"], ["医保", "民政"], {**kept, "accounting": kept["accounting"].drop("copies")})
    assert table.select("dept", "rows_read", "copies", "balanced").rows() == [("医保", 7, 3, True), ("民政", 4, 0, True)]


def test_the_rows_of_files_left_out_as_copies_are_accounted_and_without_them_a_row_is_lost():
    """A department's rows read include those of its files left out as copies of another (a repeat
    put in twice, an earlier period's file, its records exported again): `copies` accounts for them.
    Not given, the repeat's rows are rows lost."""
    links = _links([("农业农村", "matched"), ("农业农村", "unmatched")])
    t = account(pl.DataFrame({"dept": ["农业农村", "农业农村"], "rows": [2, 2], "copies": [0, 2]}), links,
                pl.DataFrame(schema={"dept": pl.Utf8}))
    assert t.select("dept", "rows_read", "copies", "accounted", "balanced").rows() == [("农业农村", 4, 2, 4, True)]
    with pytest.raises(AccountingError, match="农业农村: read 4 but accounted 2"):
        account(pl.DataFrame({"dept": ["农业农村"], "rows": [4]}), links, pl.DataFrame(schema={"dept": pl.Utf8}))


def test_a_partial_runs_report_keeps_the_published_findings_of_the_departments_not_re_read():
    """The rows set aside of a department not re-read are not counted again (its published
    findings are kept instead, read back as text); the report stays in its order."""
    findings = pl.DataFrame(schema=QUALITY_COLUMNS)
    rejected = pl.DataFrame({"dept": ["医保", "民政"], "kind": ["med_settlement", "civil"], "file": ["医保/a.csv", "民政/b.csv"],
                             "line": [2, 3], "record_id": ["A", "B"], "field": ["name", "name"], "value": [None, None],
                             "reason": ["缺少姓名", "缺少姓名"]}, schema=REJECTED_SCHEMA)
    superseded = pl.DataFrame(schema=SUPERSEDED_SCHEMA)
    full = county_quality(findings, rejected, superseded, None, None, 300)
    assert full["dept"].to_list() == ["医保", "民政"]
    kept = full.filter(pl.col("dept") == "民政").with_columns(file=pl.lit("民政/c.csv")).cast(pl.Utf8)
    got = county_quality(findings, rejected, superseded, None, None, 300, others=["民政"], kept=kept)
    assert got.select("dept", "file", "count").rows() == [("医保", "医保/a.csv", 1), ("民政", "民政/c.csv", 1)]


def test_the_inbox_findings_name_the_files_read_with_a_note_the_late_answers_and_the_departments_missing():
    """A file read with a note is named (one set aside is told by its rejected rows instead); the
    answers put into an earlier period's folder are kept as found; a department without a file is
    missing, its rules not run."""
    from adapters.inbox import ReadError

    problems = [ReadError("医保/a(1).csv", "与 医保/a.csv 内容相同，只读一次", dept="医保", set_aside=False),
                ReadError("民政/b.xls", "Excel 97-2003", dept="民政")]
    late = pl.DataFrame([dict(category=Finding.FILE_NOTE, dept="反馈", file="../2026-09/反馈/x.csv", detail="晚放", count=1)],
                        schema=QUALITY_COLUMNS)
    files = pl.DataFrame({"dept": ["医保", "民政"], "file": ["医保/a.csv", "民政/b.xls"]})
    got = inbox_findings(problems, late, files, ["医保", "民政", "水利"])
    assert got.select("category", "dept", "file").rows() == [(Finding.FILE_NOTE, "医保", "医保/a(1).csv"),
                                                           (Finding.FILE_NOTE, "反馈", "../2026-09/反馈/x.csv"),
                                                           (Finding.DEPT_MISSING, "水利", None)]
    assert inbox_findings([], None, files.clear(), ["水利"])["dept"].to_list() == ["水利"]


def test_a_grid_is_over_the_limit_by_the_roster_s_households_its_stale_rows_said_apart():
    """Article 10 counts the households a grid worker visits: a grid row of a 户编号 this period's
    roster no longer holds is stale (said as 网格户不在底册). G1 lists 2 roster households and 2
    stale rows, the limit 2: not over (it was called over, 4 households); G2's 3 roster households
    are, its stale row said apart and not counted."""
    grid = pl.DataFrame({"grid_id": ["G1"] * 4 + ["G2"] * 4,
                         "household_id": ["h1", "h2", "old1", "old2", "h3", "h4", "h5", "old3"]})
    roster = pl.DataFrame({"household_id": ["h1", "h2", "h3", "h4", "h5"]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), pl.DataFrame(schema={"dept": pl.Utf8}), grid, roster,
                       max_grid_households=2)
    assert q.filter(pl.col("category") == Finding.GRID_OVER_LIMIT).select("detail", "count").rows() == [
        ("网格 G2 户数超过 2（底册中的 3 户；另有 1 个户编号不在本期底册，未计入（见 网格户不在底册））", 3)]
    assert q.filter(pl.col("category") == Finding.GRID_OFF_ROSTER)["count"].item() == 3


def test_a_household_the_grid_lists_twice_spelled_otherwise_is_named_with_the_grid_kept():
    """A household the grid lists twice, its 户编号 spelled otherwise the second time (h2 and H2,
    012 and 12: one household, `schemas.inputs.record_key`, as the grid's rows are superseded):
    the grid it goes out under is named, not 'None'."""
    grid = pl.DataFrame({"grid_id": ["G1", "G2"], "grid_worker": ["甲", "乙"], "household_id": ["0012", "H2"]})
    roster = pl.DataFrame({"household_id": ["0012", "H2"]})
    sup = pl.DataFrame({"dept": ["网格", "网格"], "kind": ["grid", "grid"], "file": ["网格/网格.csv"] * 2, "line": [3, 5],
                        "record_id": ["h2", "12"], "superseded_by": ["网格/网格.csv:9", "网格/网格.csv:8"],
                        "changed": [True, True]})
    q = quality_report(NO_FINDINGS, pl.DataFrame(schema=REJECTED), sup, grid, roster, max_grid_households=100)
    row = q.filter(pl.col("category") == Finding.GRID_TWICE).row(0, named=True)
    assert "h2（网格/网格.csv 第 3 行另列；按 网格/网格.csv:9 行的网格 G2）" in row["detail"], row["detail"]
    assert "12（网格/网格.csv 第 5 行另列；按 网格/网格.csv:8 行的网格 G1）" in row["detail"], row["detail"]


def test_a_partial_run_reads_the_reference_folders_and_its_departments_only():
    """`--dept 医保` reads 医保 and the folders every run reads (roster, grid, answers); the other
    departments keep their stored results, so their files are neither read nor their problems
    said again; a problem of no folder (a file loose in the period folder) is. A full run: all."""
    from types import SimpleNamespace

    from pipelines.accounting import read_in_part

    files = pl.DataFrame({"dept": ["医保", "民政", "户籍底册", "网格"], "file": ["a", "b", "c", "d"]})
    problems = [SimpleNamespace(dept=d) for d in ("医保", "民政", "户籍底册", None)]
    kept, said = read_in_part(files, problems, ("医保",), ["户籍底册", "网格"])
    assert kept["dept"].to_list() == ["医保", "户籍底册", "网格"]
    assert [p.dept for p in said] == ["医保", "户籍底册", None]
    assert read_in_part(files, problems, (), ["户籍底册", "网格"]) == (files, problems)


def test_a_rerun_says_which_files_and_records_changed_since_the_period_s_last_run():
    """September run, then the 医保 bureau re-delivers 结算明细_第一批.csv under the same name (one
    record's amount changed, JS2 withdrawn) and a 更正 file, and an old 补报 is taken out; the
    analyst re-runs 医保 alone. The warnings it withdraws are named elsewhere: this says why,
    which the re-run's console and report did not (the replaced file read like the old one): the
    file replaced, the file put in, the file taken out, and the record its last run had that no
    file delivers now (JS2, and 0007 still delivered as 7: the same record). 民政, not re-read,
    and a period's first run say nothing; so does a re-run of an unchanged inbox."""
    files = pl.DataFrame({"dept": ["医保", "医保", "医保", "户籍底册"],
                          "file": ["医保/结算明细_第一批.csv", "医保/结算明细_更正.csv", "医保/参保名单.csv", "户籍底册/底册.csv"],
                          "sha256": ["new1", "fix", "list", "r2"]})
    before = pl.DataFrame({"dept": ["医保", "医保", "医保", "民政", "户籍底册"],
                           "file": ["医保/结算明细_第一批.csv", "医保/参保名单.csv", "医保/结算明细_补报.csv", "民政/救助.csv",
                                    "户籍底册/底册.csv"],
                           "sha256": ["old1", "list", "late", "mz", "r1"]})
    now = pl.DataFrame({"dept": ["医保", "医保", "医保"], "record_id": ["JS1", "7", "CB1"]})
    then = pl.DataFrame({"dept": ["医保", "医保", "医保", "医保", "民政"], "record_id": ["JS1", "JS2", "0007", "CB1", "MZ1"]})
    found = changed_since_last_run(files, before, now, then, ["医保"])
    assert found.schema == QUALITY_COLUMNS and set(found["category"]) == {Finding.SINCE_LAST_RUN}
    assert found.select("dept", "file", "detail", "count").rows() == [
        ("医保", "医保/结算明细_更正.csv", "本期上次运行后放入 — file put in since the period's last run", 1),
        ("医保", "医保/结算明细_第一批.csv", "本期上次运行后该文件内容已变（同名文件被替换），本次按新内容读取"
         " — file replaced since the period's last run: read as it is now", 1),
        ("医保", "医保/结算明细_补报.csv", "本期上次运行后已移出，其记录不再读取"
         " — file taken out since the period's last run: its records are read no more", 1),
        ("医保", None, "本期上次运行时有、现已无文件报送的记录：JS2 — records of the period's last run no file delivers now", 1)]
    assert changed_since_last_run(files, None, now, None, ["医保"]).is_empty()
    assert changed_since_last_run(before.filter(pl.col("dept") == "医保"), before, then, then, ["医保"]).is_empty()
    # a later run of 民政 alone keeps 医保's published findings, but not these: they were said of the run before
    empty = pl.DataFrame(schema=REJECTED_SCHEMA)
    kept = found.with_columns(pl.all().cast(pl.Utf8))
    assert county_quality(found.head(0), empty, pl.DataFrame(schema=SUPERSEDED_SCHEMA), None, None, 300,
                          others=["医保"], kept=kept).is_empty()


def test_a_record_of_the_last_run_without_a_number_is_not_said_to_be_gone():
    """A link the last run stored without a record number (nothing to compare by) is no record
    withdrawn: a re-run of the same files says nothing."""
    files = pl.DataFrame({"dept": ["医保"], "file": ["医保/结算明细.csv"], "sha256": ["s1"]})
    then = pl.DataFrame({"dept": ["医保", "医保"], "record_id": ["JS1", None]})
    now = pl.DataFrame({"dept": ["医保"], "record_id": ["JS1"]})
    assert changed_since_last_run(files, files, now, then, ["医保"]).is_empty()


def test_a_row_set_aside_with_its_record_number_is_linked_under_that_number():
    """links.parquet names a row set aside by its record number (SPEC §5: one row per department
    record); only one without a number is named by file and line."""
    rejected = pl.DataFrame({"dept": ["医保", "医保"], "kind": ["med_settlement"] * 2, "file": ["医保/a.csv"] * 2,
                             "line": [2, 3], "record_id": ["JS9", None], "field": ["settle_date", "record_id"],
                             "value": ["2026-13-01", None], "reason": ["日期无法解析", "必填项为空"]}, schema=REJECTED_SCHEMA)
    links, *_ = settle(None, None, rejected, pl.DataFrame(schema=SUPERSEDED_SCHEMA), pl.DataFrame({"dept": ["医保"], "rows": [2]}),
                       ["医保"], ["医保"])
    assert links.select("record_id", "decision").rows() == [("JS9", "rejected"), ("医保/a.csv#3", "rejected")]


def test_the_records_gone_since_the_last_run_are_named_at_most_as_many_as_shown():
    files = pl.DataFrame({"dept": ["医保"], "file": ["医保/结算明细.csv"], "sha256": ["s1"]})
    then = pl.DataFrame({"dept": ["医保"] * 3, "record_id": ["JS1", "JS2", "JS3"]})
    found = changed_since_last_run(files, files, then.head(0), then, ["医保"], shown=2)
    assert found.select("detail", "count").rows() == [
        ("本期上次运行时有、现已无文件报送的记录：JS1、JS2 等 3 条 — records of the period's last run no file delivers now", 3)]
    exactly = changed_since_last_run(files, files, then.head(0), then.head(2), ["医保"], shown=2)
    assert exactly["detail"].to_list() == ["本期上次运行时有、现已无文件报送的记录：JS1、JS2 — records of the period's last run no file "
                                           "delivers now"]


def test_a_partial_run_says_nothing_itself_of_the_departments_it_did_not_re_read():
    """A re-run of 医保 alone: 民政's superseded rows (kept from its last run) are in the period's
    rows, but its findings are those published then (`kept`), not said again."""
    superseded = pl.DataFrame({"dept": ["民政", "医保"], "kind": ["civil", "med_settlement"], "file": ["民政/a.csv", "医保/a.csv"],
                               "line": [2, 2], "record_id": ["M1", "JS1"], "superseded_by": ["民政/b.csv:2", "医保/b.csv:2"],
                               "changed": [True, True], "other_year": [False, False], "other_person": [False, False]},
                              schema=SUPERSEDED_SCHEMA)
    q = county_quality(pl.DataFrame(schema=QUALITY_COLUMNS), pl.DataFrame(schema=REJECTED_SCHEMA), superseded, None, None,
                       300, others=["民政"])
    assert q.select("category", "dept", "file").rows() == [(Finding.REPLACED, "医保", "医保/a.csv")]


def test_a_record_the_last_run_linked_twice_spelled_otherwise_is_one_record_gone():
    """The last run's links held 0007 and 7 (one record by `record_key`, a row and Excel's
    re-save of it): gone now, it is one record, named once."""
    files = pl.DataFrame({"dept": ["医保"], "file": ["医保/结算明细.csv"], "sha256": ["s1"]})
    then = pl.DataFrame({"dept": ["医保"] * 3, "record_id": ["JS1", "0007", "7"]})
    found = changed_since_last_run(files, files, then.head(1), then, ["医保"])
    assert found.select("detail", "count").rows() == [
        ("本期上次运行时有、现已无文件报送的记录：0007 — records of the period's last run no file delivers now", 1)]


def test_a_partial_runs_report_keeps_a_file_set_aside_at_the_periods_root():
    """A file put at the period's root (no department) is set aside whole; a re-run of 医保 alone
    still says so (found again by every run), whichever departments it leaves to their stored rows."""
    rejected = pl.DataFrame({"dept": [None], "kind": [None], "file": ["名单.csv"], "line": [None], "record_id": [None],
                             "field": [None], "value": [None], "reason": ["不在部门文件夹中"]}, schema=REJECTED_SCHEMA)
    q = county_quality(pl.DataFrame(schema=QUALITY_COLUMNS), rejected, pl.DataFrame(schema=SUPERSEDED_SCHEMA), None, None,
                       300, others=["民政"])
    assert q.select("category", "file").rows() == [(Finding.FILE_SET_ASIDE, "名单.csv")]


def test_a_department_without_a_usable_row_is_told_not_delivered_empty_or_set_aside():
    """A department without a usable row this period showed a row of zeros (or of rows set
    aside): not delivered (no folder), delivered empty (a header alone, or its template's own
    rows alone: `Finding.NO_ROWS`) and set aside whole (every row, a file of the wrong folder)
    read alike. `delivery_states` says which from the accounting and the findings, for the
    console and the report alike; a department with usable rows is not in it."""
    from pipelines.accounting import EMPTY, NOT_DELIVERED, SET_ASIDE, delivery_states
    from pipelines.validate import TEMPLATE_ROW

    acc = pl.DataFrame({"dept": ["医保", "残联", "民政", "教育"], "rows_read": [10, 0, 195, 1], "superseded": [0] * 4,
                        "matched": [6, 0, 0, 0], "review": [0] * 4, "unmatched": [3, 0, 0, 0], "rejected": [1, 0, 195, 1]})
    quality = pl.DataFrame([
        dict(category=Finding.ROWS_SET_ASIDE, dept="医保", file="医保/a.csv", detail="日期无法解析", count=1),
        dict(category=Finding.NO_ROWS, dept="残联", file="残联/a.csv", detail="只有表头、没有数据行", count=1),
        dict(category=Finding.FILE_SET_ASIDE, dept="民政", file="民政/a.csv", detail="缺少必需列", count=195),
        # (a template's example row alone is no record set aside: the file is empty)
        dict(category=Finding.ROWS_SET_ASIDE, dept="教育", file="教育/a.csv",
             detail=TEMPLATE_ROW.split("；")[0].split(":")[0], count=1),
        dict(category=Finding.NO_ROWS, dept="教育", file="教育/a.csv", detail="只有表头和填表模板的示例行", count=1),
    ], schema=QUALITY_COLUMNS)
    states = delivery_states(acc, quality, ["医保", "残联", "民政", "教育", "水利"])
    assert states == {"水利": NOT_DELIVERED, "残联": EMPTY, "民政": SET_ASIDE, "教育": EMPTY}
    assert [zh for zh, _ in (NOT_DELIVERED, EMPTY, SET_ASIDE)] == ["本期未报送", "空表（只有表头）", "整体搁置（见搁置行）"]


def test_a_department_with_one_kind_of_its_extracts_missing_says_which():
    """医保 delivered its 结算明细 but no 参保名单: having usable rows, it was not in
    `delivery_states`, and its 报送情况 said nothing (only M4's 规则暂停 line told). Given each
    department's kinds and the links, it says 缺参保名单; a kind whose every row was set aside
    says so; a template's own row is no record."""
    from pipelines.accounting import NOT_DELIVERED, delivery_states
    from pipelines.validate import TEMPLATE_ROW

    acc = pl.DataFrame({"dept": ["医保", "住建"], "rows_read": [4, 2], "superseded": [0, 0], "matched": [2, 1],
                        "review": [0, 0], "unmatched": [1, 1], "rejected": [1, 0]})
    links = pl.DataFrame({"dept": ["医保"] * 4 + ["住建"] * 2,
                          "kind": ["med_settlement"] * 3 + ["med_enrollment", "housing", "housing"],
                          "decision": ["matched", "matched", "unmatched", "rejected", "matched", "unmatched"],
                          "reason": [None, None, None, TEMPLATE_ROW, None, None]})
    kinds = {"医保": ["med_settlement", "med_enrollment"], "住建": ["housing"], "水利": ["water"]}
    quality = pl.DataFrame(schema=QUALITY_COLUMNS)
    states = delivery_states(acc, quality, list(kinds), kinds, links)
    assert states == {"医保": ("缺参保名单", "no 参保名单 (med_enrollment)"), "水利": NOT_DELIVERED}
    aside = links.with_columns(reason=pl.when(pl.col("decision") == "rejected").then(pl.lit("证件号码 被Excel损坏"))
                               .otherwise("reason"))
    assert delivery_states(acc, quality, list(kinds), kinds, aside)["医保"] == (
        "参保名单全部搁置（见搁置行）", "every 参保名单 (med_enrollment) row set aside (see 搁置行及原因.csv)")
    assert "医保" not in delivery_states(acc, quality, list(kinds))  # (kinds not given: not looked at)


def _dated(*days: str, **more: list) -> pl.DataFrame:
    import datetime
    return pl.DataFrame({"record_id": [f"R{i}" for i in range(len(days))],
                         "settle_date": [datetime.date.fromisoformat(d) if d else None for d in days],
                         **{k: [datetime.date.fromisoformat(d) if d else None for d in v] for k, v in more.items()}})


def test_a_file_dated_before_its_period_is_compared_with_the_records_of_the_months_it_is_dated_in():
    """September's extract exported again and put in under October: its rows are September's
    (late ones of August among them); a quarter's export, July to September. A file is compared
    with the records of the months its dated rows lie in when at least `share` of them lie before
    the period; an October extract holding late records of earlier months is not, nor one too
    short to tell, nor the file in its own month's folder (a re-run of 2026-09 reads it)."""
    september = _dated(*["2026-09-05"] * 17, "2026-08-30", "2026-08-02", None)
    assert export_months([september], "2026-10", 0.95) == ["2026-08", "2026-09"]
    assert export_months([september.head(10), september.tail(10)], "2026-10", 0.95) == ["2026-08", "2026-09"]  # (sheets)
    assert export_months([september], "2026-11", 0.95) == ["2026-08", "2026-09"]  # (two months on)
    assert export_months([september], "2026-09", 0.95) == []  # its own month
    # late records are normal: an October extract with a few of September's
    assert export_months([_dated(*["2026-10-03"] * 3, "2026-09-28", "2026-09-29")], "2026-10", 0.95) == []
    # nearly all before the period: 19 of 20 is 0.95, 18 of 20 is not
    assert export_months([_dated(*["2026-09-05"] * 19, "2026-10-02")], "2026-10", 0.95) == ["2026-09"]
    assert export_months([_dated(*["2026-09-05"] * 18, "2026-10-02", "2026-10-03")], "2026-10", 0.95) == []
    # all before the period, spread over months: a quarter's export, compared with each month's records
    assert export_months([_dated("2026-07-05", "2026-08-05", "2026-09-05", "2026-09-06")], "2026-10", 0.95) == [
        "2026-07", "2026-08", "2026-09"]
    # a row is dated by its latest date: admitted in September, settled in October
    assert export_months([_dated("2026-10-02", "2026-10-03", admit_date=["2026-09-20", "2026-09-21"])], "2026-10",
                         0.95) == []
    # too short to tell: one dated row; no dates at all (a file of lists or of rows set aside)
    assert export_months([_dated("2026-09-05", None)], "2026-10", 0.95) == []
    assert export_months([pl.DataFrame({"record_id": ["R1", "R2"]})], "2026-10", 0.95) == []
    assert export_months([], "2026-10", 0.95) == []

"""The console's lines (pipelines.console): plain values in, text out."""

from config import RunConfig
from pipelines.console import calendar_facts, queue_line, summary_lines


def test_calendar_facts_add_the_newer_schedule_and_take_its_word():
    then = RunConfig(holidays=("2027-01-01", "2027-02-07"), workdays=("2027-02-20",))
    assert calendar_facts(then, RunConfig()) == []
    assert calendar_facts(then, then) == []
    now = RunConfig(holidays=("2027-02-08",), workdays=("2027-02-07",))
    assert calendar_facts(then, now) == ['run.holidays=["2027-01-01", "2027-02-08"]',
                                         'run.workdays=["2027-02-07", "2027-02-20"]']


def test_queue_line_counts_new_and_waiting_records_by_their_first_period():
    ages = [dict(dept="医保", first_queued="2026-10", records=3), dict(dept="民政", first_queued="2026-08", records=2),
            dict(dept="医保", first_queued="2026-08", records=1), dict(dept="医保", first_queued="2026-09", records=4)]
    assert queue_line(ages, "2026-10") == ("人工复核队列 review queue: 10 records = 3 new this period (首次列入复核 2026-10) "
                                           "+ 7 waiting since an earlier period (2026-08: 3, 2026-09: 4)")
    assert queue_line([], "2026-10") == ""


def test_summary_lines_prove_the_accounting_and_stop_at_a_dry_run():
    result = dict(period="2026-10", out="OUT/2026-10", warnings=5, suppressed=1, townships=["大店镇", "芦岭镇"],
                  issue_date="2026-11-05", deadline="2026-11-10", review_queue=[],
                  feedback=dict(returned=0), review_answers=dict(files=0, confirmed=0, excluded=0, held=0, pending=0,
                                                                withdrawn=0),
                  accounting=[dict(dept="医保", rows_read=12, copies=2, superseded=1, matched=6, review=1, unmatched=1,
                                   rejected=1, balanced=True),
                              dict(dept="民政", rows_read=4, superseded=0, matched=1, review=0, unmatched=1, rejected=1,
                                   balanced=False)])
    lines = summary_lines(result)
    # (民政's row as a warehouse stored it before copies were counted: none)
    assert "  医保: 12 = 2 + 1 + 6 + 1 + 1 + 1  OK" in lines and "  民政: 4 = 0 + 0 + 1 + 0 + 1 + 1  MISMATCH" in lines
    assert "预警 warnings issued: 5 (repeats suppressed: 1)" in lines
    assert lines[-1] == "输出 outputs: OUT/2026-10/townships/  (county files: OUT/2026-10/county/)"
    dry = summary_lines(dict(result, dry_run=True, would_write=["OUT/2026-10/townships/"]))
    assert dry[-2:] == ["试运行 dry run: nothing was written. A real run would write:", "  OUT/2026-10/townships/"]


def _full_result(**over):
    """A monthly run's result with every optional part said."""
    return dict(dict(
        period="2026-10", out="OUT/2026-10", warnings=5, suppressed=2, townships=["大店镇"], issue_date="2026-11-05",
        deadline="2026-11-10", departments=["医保", "民政"], accounting=[],
        feedback=dict(returned=9, accepted=5, unanswered=3, set_aside=1),
        review_answers=dict(files=1, returned=8, accepted=4, blank=3, set_aside=1, confirmed=2, excluded=1, pending=0,
                            withdrawn=0, gone=0, misfiled=0, held=0),
        review_queue=[dict(dept="医保", first_queued="2026-10", records=1)],
        issue_date_kept=True, sent_now=3, sent_on="2026-11-12", withdrawn=2, withdrawn_all=4,
        settings_before="default settings", attention=["部门未报送 民政"]), **over)


def test_summary_lines_say_each_part_of_a_run_that_has_it():
    lines = summary_lines(_full_result())
    assert lines[0].startswith("部分重跑 partial run: re-read 医保, 民政;")
    assert "预警 warnings issued: 5 (repeats suppressed in the re-read 医保, 民政: 2)" in lines
    assert "反馈 feedback rows: 9 = accepted 5 + unanswered 3 + set aside 1" in lines
    # answers taken without a 核实结果 (a result column not read, only 核实人 filled) are said to verify nothing
    partial = summary_lines(_full_result(feedback=dict(returned=9, accepted=5, unanswered=3, set_aside=1, without_result=4)))
    assert ("反馈 feedback rows: 9 = accepted 5 (4 of them without 核实结果: they verify nothing, the next lists ask for "
            "it) + unanswered 3 + set aside 1") in partial
    # answers a re-run's added rule leaves open: accepted, yet 核实进度 counts their warnings open
    again = summary_lines(_full_result(feedback=dict(returned=9, accepted=5, unanswered=3, set_aside=1, reopened=2)))
    assert ("反馈 feedback rows: 9 = accepted 5 (2 of them answer warnings a re-run added a rule to since their row "
            "went out: they verify the rules it showed (a 属实 goes to 派单 for them), the warnings stay open for the "
            "others, 核实进度 重新下发未核实) "
            "+ unanswered 3 + set aside 1") in again
    assert ("复核 review answers: 8 = used 4 + blank 3 + set aside 1; in the departments re-read, records linked by "
            "answers 2, with candidates ruled out 1") in lines
    assert ("乡镇清单 township lists: 1 townships, 下发日期 issued 2026-11-05 (kept from the period’s earlier run; "
            "--issue-date to change it), 核实截止 deadline 2026-11-10") in lines
    assert ("  3 warnings the period's lists did not hold before go out now: 下发日期 2026-11-12, their own deadline"
            in lines)
    # those the lists held, sent again for a rule the re-run added, are said apart
    again = summary_lines(_full_result(sent_again=2))
    assert again[again.index("  3 warnings the period's lists did not hold before go out now: 下发日期 2026-11-12, "
                             "their own deadline") + 1] == (
        "  2 warnings sent again: the re-run added a rule their row did not show (after their township answered it, "
        "or before): 下发日期 2026-11-12, their own deadline")
    assert not any("sent again" in x for x in lines)
    # those it took a rule off keep their dates: the console counts them, as their rows' 状态 names the rule
    dropped = summary_lines(_full_result(rule_dropped=1))
    assert ("  1 warnings the re-run took a rule off before any answer: same 下发日期, 状态 says which rule is no "
            "longer warned (重新运行后不再预警…)") in dropped
    assert not any("took a rule off" in x for x in lines)
    assert any(x.startswith("撤回 withdrawn: 2 warnings of the lists sent before") and "(4 warnings 撤回 in all;" in x
               for x in lines)
    assert any(x.startswith("note: 2026-10 was last run with default settings;") for x in lines)
    # how this run is set, beside it: a --set left out of a --dept run shows, not only that they differ
    now = summary_lines(_full_result(settings_before="--set M1.threshold=7000", settings_now="default settings"))
    assert ("note: 2026-10 was last run with --set M1.threshold=7000; this run with default settings "
            "(later periods re-run keep their own)") in now
    assert lines[-3:-1] == ["请注意 attention (数据质量报告.csv):", "  部门未报送 民政"]
    full = summary_lines(_full_result(departments=None, issue_date_kept=False, sent_now=0, withdrawn=0,
                                      settings_before=None, attention=[]))
    assert "预警 warnings issued: 5 (repeats suppressed: 2)" in full and not full[0].startswith("部分重跑")
    assert "乡镇清单 township lists: 1 townships, 下发日期 issued 2026-11-05, 核实截止 deadline 2026-11-10" in full
    assert not any(x.startswith(("  3 warnings", "撤回", "note:", "请注意")) for x in full)
    held = summary_lines(_full_result(review_answers=dict(files=0, returned=1, accepted=0, blank=0, set_aside=0,
                                                          confirmed=0, excluded=0, pending=0, withdrawn=0, gone=0,
                                                          misfiled=0, held=1)))
    assert any(x.startswith("复核 review answers:") and x.endswith("; 1 answered 是 not taken (数据质量报告.csv)")
               for x in held)
    # a 复核 table whose 是否本人 was typed 是否为本人 holds answers: its rows are said apart, not as no answers
    misfits = summary_lines(_full_result(review_answers=dict(_full_result()["review_answers"], misfiled=5, renamed=3)))
    assert any(x.endswith("; 2 rows of tables in 复核/ that hold no answers set aside; 3 rows of tables in 复核/ with a "
                          "column renamed set aside (搁置行及原因.csv asks which)") for x in misfits), misfits
    renamed = summary_lines(_full_result(review_answers=dict(_full_result()["review_answers"], misfiled=3, renamed=3)))
    assert not any("hold no answers" in x for x in renamed) and any("3 rows of tables in 复核/ with a column" in x
                                                                    for x in renamed)


def test_queue_line_lists_the_earlier_periods_in_order_whatever_order_the_queue_came_in():
    ages = [dict(dept="医保", first_queued="2026-09", records=4), dict(dept="民政", first_queued="2026-07", records=2)]
    assert queue_line(ages, "2026-10").endswith("+ 6 waiting since an earlier period (2026-07: 2, 2026-09: 4)")


def test_describe_settings_and_attention_lines():
    from pipelines.console import attention_lines, describe_settings
    import polars as pl

    assert describe_settings({"overrides": None}) == "settings not recorded"
    assert describe_settings({"overrides": []}) == "default settings"
    assert describe_settings({"overrides": ["M1.threshold=8000"], "config_path": "c.toml"}) == (
        "--config c.toml --set M1.threshold=8000")
    q = pl.DataFrame({"category": ["网格未报送 grid not delivered", "行被搁置 rows set aside", "行被搁置 rows set aside"],
                      "dept": ["网格", "户籍底册", "医保"], "file": [None, "roster.xlsx", "a.xlsx"],
                      "detail": [None, "缺少人编号", "缺少人编号"], "count": [1, 3, 5]})
    assert attention_lines(q, ["户籍底册"]) == ["网格未报送 网格", "行被搁置 户籍底册 roster.xlsx 缺少人编号（3 行 rows）"]


def test_a_department_that_delivered_nothing_is_said_once_on_its_accounting_line():
    """水利 without a file was said twice: on its accounting line (本期未报送，其规则未运行) and under
    请注意 (部门未报送 水利 本期未收到该部门数据，其规则未运行). It is said once, on the line where
    every department's rows are told, as the county report's department table says it."""
    import polars as pl

    from pipelines.accounting import delivery_states, inbox_findings
    from pipelines.console import attention_lines

    files = pl.DataFrame({"dept": ["医保"], "file": ["医保/a.csv"]})
    quality = inbox_findings([], None, files, ["医保", "水利"])
    acc = [dict(dept="医保", rows_read=3, superseded=0, matched=3, review=0, unmatched=0, rejected=0, balanced=True)]
    lines = summary_lines(_full_result(departments=None, accounting=acc, attention=attention_lines(quality, ["户籍底册"]),
                                       delivery=delivery_states(pl.DataFrame(acc), quality, ["医保", "水利"])))
    assert [line for line in lines if "水利" in line] == ["  水利: 本期未报送，其规则未运行 not delivered; its rules did not run"]
    assert "请注意 attention (数据质量报告.csv):" not in lines


def test_calendar_facts_a_day_the_newer_schedule_calls_a_holiday_is_no_longer_a_workday():
    then = RunConfig(holidays=("2027-01-01",), workdays=("2027-02-20",))
    now = RunConfig(holidays=("2027-02-20",))
    assert calendar_facts(then, now) == ['run.holidays=["2027-01-01", "2027-02-20"]', "run.workdays=[]"]


def test_attention_lines_mask_an_id_numbering_a_household():
    """A finding naming a 户编号 that is the head's ID (户编号多户共用) is printed with it masked;
    an 18-digit household code that is no ID is printed as written."""
    import polars as pl

    from matchers.ids import check_char
    from pipelines.console import attention_lines

    head = "34130219800101001" + check_char("34130219800101001")
    code = "341302101201000123"
    q = pl.DataFrame({"category": ["户编号多户共用 one 户编号, several households"] * 2, "dept": ["户籍底册"] * 2,
                      "file": ["底册.csv"] * 2, "detail": [f"户编号 {head}：第 3、7 行", f"户编号 {code}：第 9、12 行"],
                      "count": [1, 1]})
    lines = attention_lines(q, ["户籍底册"], pl.Series([head]))
    assert lines == [f"户编号多户共用 户籍底册 底册.csv 户编号 {head[:6]}********{head[-4:]}：第 3、7 行",
                     f"户编号多户共用 户籍底册 底册.csv 户编号 {code}：第 9、12 行"]


def test_summary_lines_say_what_a_department_without_a_usable_row_did():
    """Its accounting line was a row of zeros, and a department not delivered had none: each
    says what it did (`accounting.delivery_states`, as the county report does)."""
    from pipelines.accounting import EMPTY, NOT_DELIVERED, SET_ASIDE

    zeros = dict(superseded=0, matched=0, review=0, unmatched=0, rejected=0, balanced=True)
    lines = summary_lines(_full_result(departments=None, accounting=[
        dict(zeros, dept="医保", rows_read=3, matched=3), dict(zeros, dept="残联", rows_read=0),
        dict(zeros, dept="民政", rows_read=195, rejected=195)],
        delivery={"水利": NOT_DELIVERED, "残联": EMPTY, "民政": SET_ASIDE}))
    block = lines[lines.index("行数核对 accounting: rows read = copies + superseded + matched + review + unmatched + rejected") + 1:][:4]
    assert block == ["  医保: 3 = 0 + 0 + 3 + 0 + 0 + 0  OK",
                     "  残联: 0 = 0 + 0 + 0 + 0 + 0 + 0  OK  空表（只有表头），其规则未运行 delivered empty: a header and no "
                     "record; its rules did not run",
                     "  民政: 195 = 0 + 0 + 0 + 0 + 0 + 195  OK  整体搁置（见搁置行），其规则未运行 set aside whole, every row "
                     "(see 搁置行及原因.csv); its rules did not run",
                     "  水利: 本期未报送，其规则未运行 not delivered; its rules did not run"]

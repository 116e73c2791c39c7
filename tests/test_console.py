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
                  accounting=[dict(dept="医保", rows_read=10, superseded=1, matched=6, review=1, unmatched=1, rejected=1,
                                   balanced=True),
                              dict(dept="民政", rows_read=4, superseded=0, matched=1, review=0, unmatched=1, rejected=1,
                                   balanced=False)])
    lines = summary_lines(result)
    assert "  医保: 10 = 1 + 6 + 1 + 1 + 1  OK" in lines and "  民政: 4 = 0 + 1 + 0 + 1 + 1  MISMATCH" in lines
    assert "预警 warnings issued: 5 (repeats suppressed: 1)" in lines
    assert lines[-1] == "输出 outputs: OUT/2026-10/townships/  (county files: OUT/2026-10/county/)"
    dry = summary_lines(dict(result, dry_run=True, would_write=["OUT/2026-10/townships/"]))
    assert dry[-2:] == ["试运行 dry run: nothing was written. A real run would write:", "  OUT/2026-10/townships/"]

"""Across periods: year-to-date sums, repeat suppression, re-runs, and the township feedback loop
(three months of the sample county, township answers returned with errors)."""

from __future__ import annotations

import datetime
import json
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

import cli
import flows
from adapters import outputs
from tests.conftest import read_rows, write_rows

PERIODS = ("2026-08", "2026-09", "2026-10")
ISSUE = {"2026-08": "2026-09-02", "2026-09": "2026-10-09", "2026-10": "2026-11-02", "2026-11": "2026-12-03",
         "2026-12": "2027-01-06", "2027-01": "2027-02-03"}  # each period's 下发日期


def _run(county: Path, out: Path, period: str, *extra: str) -> int:
    pop = json.loads((county / "truth" / "population.json").read_text())["county_population"]
    return cli.main(["run", "--inbox", str(county / "inbox"), "--period", period, "--out", str(out),
                       "--issue-date", ISSUE[period], "--set", f"matching.county_population={pop}", *extra])


def _town_files(out: Path, period: str) -> dict[str, pl.DataFrame]:
    return {d.name: pl.read_csv(d / f"{d.name}_{period}_预警清单.csv", infer_schema=False)
            for d in sorted((out / period / "townships").iterdir())}


def _copy(run: tuple[Path, Path], dest: Path) -> tuple[Path, Path]:
    """A private copy of a shared run (its county, inbox and truth, and its OUT with the
    warehouse), to go on from as if the test had run it itself: the shared one stays as it was."""
    import shutil

    county, out = run
    shutil.copytree(county, dest / "c")
    shutil.copytree(out, dest / "o")
    return dest / "c", dest / "o"


@pytest.fixture(scope="module")
def august_13(prefect_harness, tmp_path_factory):
    """The seed-13 county (300 households, three months) run for August: where several tests
    below start, each on its own copy (`_copy`). Read-only: nothing runs in or writes to it."""
    from sample_data.generate import generate

    county = tmp_path_factory.mktemp("county13")
    generate(county, seed=13, periods=PERIODS, households=300)
    out = tmp_path_factory.mktemp("out13")
    assert _run(county, out, "2026-08") == 0
    return county, out


def _return_feedback(county: Path, out: Path) -> dict:
    """Townships fill in their August lists and send them back in September's 反馈/ folder:
    one as GB18030 CSV with columns re-ordered, one as XLSX, with a few mistakes."""
    files = _town_files(out, "2026-08")
    towns = sorted(files)
    a = towns[0]
    b = max(towns[1:], key=lambda t: (files[t]["风险类型"].n_unique(), t))  # its XLSX has sheets to read
    fa = files[a].with_row_index("i").with_columns(
        核实结果=pl.when(pl.col("i") % 2 == 0).then(pl.lit("属实")).otherwise(pl.lit("不属实")),
        是否纳入监测=pl.when(pl.col("i") % 2 == 0).then(pl.lit("是")).otherwise(pl.lit("否")),
        核实人=pl.lit("张网格"), 核实日期=pl.lit("2026-09-04"),
    ).drop("i")
    # mistakes: an unknown 预警编号, another township's warning, a date before the issue date
    bad = pl.concat([
        fa.head(1).with_columns(预警编号=pl.lit("YJ202608-ffffffffff")),
        files[b].head(1).with_columns(pl.lit(a).alias("乡（镇）"), 核实结果=pl.lit("属实"), 核实日期=pl.lit("2026-09-04")),
        fa.slice(1, 1).with_columns(核实日期=pl.lit("2026-08-01")),
    ])
    fa_out = pl.concat([fa.slice(2), bad])  # rows 0-1 of the answered list are not returned
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True, exist_ok=True)
    cols = list(reversed(fa_out.columns))
    (folder / f"{a}_2026-08_预警清单.csv").write_bytes(fa_out.select(cols).write_csv().encode("gb18030"))
    fb = files[b].with_columns(核实结果=pl.lit("属实"), 是否纳入监测=pl.lit("是"), 核实日期=pl.lit("2026-09-05"))
    fb = pl.concat([fb, fb.head(1).with_columns(核实结果=pl.lit("是的"))])  # a value outside the list
    # b fills in the workbook as it was sent: a 汇总 sheet, then one sheet per risk type
    import xlsxwriter
    with xlsxwriter.Workbook(folder / f"{b}_2026-08_预警清单.xlsx") as wb:
        fb.group_by("风险类型").len("户数").sort("风险类型").write_excel(wb, worksheet="汇总")
        for (risk,), part in fb.partition_by("风险类型", as_dict=True, maintain_order=True).items():
            part.write_excel(wb, worksheet=risk)
    assert fb["风险类型"].n_unique() >= 2, "the XLSX must hold several risk-type sheets to test them all"
    return {"a": a, "b": b, "answered_a": fa.slice(2), "answered_b": fb.head(fb.height - 1), "bad_ids": bad["预警编号"]}


@pytest.fixture(scope="module")
def september_11(prefect_harness, tmp_path_factory):
    """The seed-11 county (1200 households, three months): August run, the townships' answers
    returned in September's 反馈/ (`_return_feedback`), September run. Read-only: the tests that
    go on from it work on copies (`_copy`)."""
    from sample_data.generate import generate

    county = tmp_path_factory.mktemp("county3")
    generate(county, seed=11, periods=PERIODS, households=1200)
    out = tmp_path_factory.mktemp("out3")
    assert _run(county, out, "2026-08") == 0
    returned = _return_feedback(county, out)
    assert _run(county, out, "2026-09") == 0
    return county, out, returned


@pytest.fixture(scope="module")
def three_months(september_11, tmp_path_factory):
    """September_11 run on: October, then September again."""
    county, out = _copy(september_11[:2], tmp_path_factory.mktemp("three"))
    returned = september_11[2]
    first_september = pl.read_parquet(out / "2026-09" / "warnings.parquet")
    assert _run(county, out, "2026-10") == 0
    assert _run(county, out, "2026-09") == 0  # an analyst re-runs September
    return county, out, returned, first_september


def _first_queued(out: Path, period: str) -> pl.DataFrame:
    """The records of the period's review queue with their 首次列入复核."""
    return (pl.read_csv(out / period / "county" / "人工复核队列.csv", infer_schema=False)
            .select("部门", "记录编号", "首次列入复核").unique().sort("部门", "记录编号"))


def test_rerun_gives_the_same_answers_and_never_duplicates(september_11, three_months):
    county, out, _, first_september = three_months
    # the review queue's 首次列入复核 as September's first run wrote it (August's records waiting since then)
    assert _first_queued(out, "2026-09").equals(_first_queued(september_11[1], "2026-09"))
    assert set(_first_queued(out, "2026-10")["首次列入复核"]) == {"2026-08", "2026-09", "2026-10"}
    again = pl.read_parquet(out / "2026-09" / "warnings.parquet")
    key = ["warning_id", "rule"]
    assert again.sort(key).select(key, "basis").equals(first_september.sort(key).select(key, "basis"))
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    dup = con.sql("SELECT period, warning_id, rule, count(*) n FROM warnings GROUP BY ALL HAVING n > 1").fetchall()
    links = con.sql("SELECT count(*) FROM links WHERE period = '2026-09'").fetchall()[0][0]
    con.close()
    assert dup == []
    assert links == pl.read_parquet(out / "2026-09" / "links.parquet").height


def test_returned_answers_are_taken_and_mistakes_sent_back(three_months):
    _, out, ret, _ = three_months
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet")
    a_ids = ret["answered_a"]["预警编号"]
    got = status.filter(pl.col("warning_id").is_in(a_ids.implode()))
    assert got.height == a_ids.n_unique()
    assert set(got["status"]) <= {"verified_true", "verified_false"}
    b_true = status.filter(pl.col("warning_id").is_in(ret["answered_b"]["预警编号"].implode()))
    assert (b_true["status"] == "verified_true").all()
    # every mistake is listed back to the township that returned it, with a reason
    back = pl.read_csv(out / "2026-09" / "townships" / ret["a"] / f"{ret['a']}_2026-09_反馈退回.csv", infer_schema=False)
    assert back.height >= 3 and back["原因"].is_not_null().all()
    assert "YJ202608-ffffffffff" in back["预警编号"].to_list()
    back_b = pl.read_csv(out / "2026-09" / "townships" / ret["b"] / f"{ret['b']}_2026-09_反馈退回.csv", infer_schema=False)
    assert back_b.height == 1
    # no returned answer is lost: every accepted answer is in the warehouse
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    n = con.sql("SELECT count(*) FROM feedback_answers WHERE period = '2026-09'").fetchall()[0][0]
    con.close()
    assert n == ret["answered_a"].height + ret["answered_b"].height
    # ... and in the county's 核实台账 (its parquet too) of September, re-run, and of October, the
    # cascade re-running it: each answer once, the one the status reads deciding; August's, before
    # any answer, headers only
    for period in ("2026-09", "2026-10"):
        history = pl.read_parquet(out / period / "answer_history.parquet")
        ledger = pl.read_csv(out / period / "county" / "核实台账.csv", infer_schema=False)
        assert history.height == ledger.height == n, period
        decided = pl.read_parquet(out / period / "warning_status.parquet").filter(pl.col("result").is_not_null())
        assert sorted(ledger.filter(pl.col("是否决定状态") == "是").select("预警编号", "核实结果").rows()) == sorted(
            decided.select("warning_id", "result").rows()), period
    aug = pl.read_csv(out / "2026-08" / "county" / "核实台账.csv", infer_schema=False)
    assert aug.height == 0 and aug.columns[:3] == ["预警编号", "第几次反馈", "收到期次"]


def test_open_warnings_are_carried_first_and_overdue_listed(three_months):
    _, out, ret, _ = three_months
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet")
    overdue = status.filter(pl.col("status") == "overdue")
    assert overdue.height > 0 and (overdue["days_overdue"] > 0).all()
    files = _town_files(out, "2026-09")
    for town, df in files.items():
        states = df["状态"].to_list()
        firsts = [s for s in states if s != "新下发"]
        assert states[: len(firsts)] == firsts, f"{town}: carried rows must come first"
    carried = pl.concat([df.filter(pl.col("状态") != "新下发") for df in files.values()])
    assert set(carried["预警编号"]) == set(
        status.filter(pl.col("status").is_in(["open", "overdue"]), pl.col("township").is_not_null())["warning_id"]
    ) - set(pl.read_parquet(out / "2026-09" / "warnings.parquet")["warning_id"])
    overdue_list = pl.read_csv(out / "2026-09" / "county" / "逾期未核实清单.csv", infer_schema=False)
    assert overdue_list.height == overdue.height


def test_verified_true_warnings_are_dispatched_to_departments(three_months):
    _, out, _, _ = three_months
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet")
    dispatched = pl.concat([pl.read_csv(f, infer_schema=False) for f in (out / "2026-09" / "county" / "派单").glob("*.csv")])
    assert set(dispatched["预警编号"]) == set(status.filter(pl.col("status") == "verified_true")["warning_id"])


def test_year_to_date_rules_sum_across_periods(three_months):
    county, out, _, _ = three_months
    truth = pl.read_csv(county / "truth" / "warnings.csv", infer_schema=False)
    want = truth.filter(pl.col("period") == "2026-10", pl.col("rule") == "M1")["household_id"].drop_nulls()
    warned = pl.concat([pl.read_parquet(out / p / "warnings.parquet") for p in PERIODS]).filter(pl.col("rule") == "M1")
    hit = set(want) & set(warned["household_id"].drop_nulls())
    assert len(hit) >= 0.85 * want.n_unique()
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    stored = dict(con.sql("SELECT period, count(*) FROM settlements GROUP BY period").fetchall())
    con.close()
    assert sorted(stored) == sorted(PERIODS) and min(stored.values()) > 0  # every month's settlements kept for the sums


def _rewrite_csv_amounts(path: Path, record_ids: set[str], factor: float) -> int:
    """Multiply 个人自付 of the given settlements in a delivered CSV (any encoding); returns rows changed."""
    import csv
    import io

    raw = path.read_bytes()
    enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = raw.decode(enc)
    except UnicodeDecodeError:
        enc, text = "gb18030", raw.decode("gb18030")
    rows = list(csv.reader(io.StringIO(text)))
    h = next((i for i, r in enumerate(rows) if "个人自付" in r), None)
    if h is None:  # the enrollment list
        return 0
    col, rid = rows[h].index("个人自付"), next(j for j, c in enumerate(rows[h]) if "流水号" in c)
    n = 0
    for r in rows[h + 1:]:
        if len(r) > col and r[rid] in record_ids:
            r[col] = f"{float(r[col]) * factor:.2f}"
            n += 1
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    path.write_bytes(buf.getvalue().encode(enc))
    return n


def test_same_signals_next_month_are_suppressed_and_growth_escalates(prefect_harness, tmp_path):
    import shutil

    from sample_data.generate import generate

    county = tmp_path / "c"
    generate(county, seed=5, periods=("2026-08",), households=400)
    out = tmp_path / "o"
    assert _run(county, out, "2026-08") == 0
    aug = pl.read_parquet(out / "2026-08" / "warnings.parquet")
    shutil.copytree(county / "inbox" / "2026-08", county / "inbox" / "2026-09")  # the same month delivered again
    m1 = aug.filter(pl.col("rule") == "M1", pl.col("household_id").is_not_null()).sort("warning_id").row(0, named=True)
    changed = sum(_rewrite_csv_amounts(f, set(m1["record_ids"]), 3.0)
                  for f in (county / "inbox" / "2026-09" / "医保").glob("*.csv"))
    assert changed > 0
    # a roster person 民政 reported dead in August (linked for sure), whose household had no M4:
    # September's 参保名单 no longer shows them and 民政 sends nothing this time. The warehouse
    # knows the death: no M4 sends a grid worker to the family, and the report says why
    sep_dir, links = county / "inbox" / "2026-09", pl.read_parquet(out / "2026-08" / "links.parquet")
    civil = next(d for d in sep_dir.iterdir() if d.name in ("民政", "civil"))
    died = set()
    for f in civil.glob("*.csv"):
        rows = read_rows(f)
        h = next(i for i, r in enumerate(rows) if "变动类型" in r)
        rid, change = rows[h].index("记录编号"), rows[h].index("变动类型")
        died |= {r[rid] for r in rows[h + 1:] if len(r) > change and r[change] == "死亡注销"}
    dead = links.filter(pl.col("dept") == "民政", pl.col("decision") == "matched", pl.col("record_id").is_in(list(died)),
                        ~pl.col("household_id").is_in(aug.filter(pl.col("rule") == "M4")["household_id"].implode())
                        ).sort("person_id")["person_id"][0]
    enrolled = set(links.filter(pl.col("kind") == "med_enrollment", pl.col("person_id") == dead)["record_id"])
    shutil.rmtree(civil)
    dropped = 0
    for f in next(d for d in sep_dir.iterdir() if d.name in ("医保", "medical")).glob("*.csv"):
        rows = read_rows(f)
        if (h := next((i for i, r in enumerate(rows) if "人员编号" in r), None)) is not None:
            kept = rows[:h + 1] + [r for r in rows[h + 1:] if r[rows[h].index("人员编号")] not in enrolled]
            dropped += len(rows) - len(kept)
            write_rows(f, kept)
    assert enrolled and dropped == len(enrolled)
    assert _run(county, out, "2026-09") == 0
    sep = pl.read_parquet(out / "2026-09" / "warnings.parquet")
    assert dead not in sep.filter(pl.col("rule") == "M4")["person_ids"].explode().to_list()
    header, *quality = read_rows(out / "2026-09" / "county" / "数据质量报告.csv")
    said = [r[header.index("说明")] for r in quality if r[header.index("说明")].startswith("M4: ")]
    assert any("人已由民政报告死亡" in d and f"{dead}（民政 死亡注销 2026-08-" in d and "2026-08 报送" in d for d in said), said
    # 预警编号 = YJ<period>-<household x risk type>: the same suffix is the same household and risk
    suffix = pl.col("warning_id").str.split("-").list.last().alias("key")
    aug, sep = aug.with_columns(suffix), sep.with_columns(suffix)
    key = m1["warning_id"].split("-")[-1]
    # nothing is warned twice while open, except the M1 whose year-to-date sum tripled
    escalated = sep.filter(pl.col("key") == key, pl.col("rule") == "M1")["basis"].item()
    assert "升级" in escalated and m1["warning_id"] in escalated
    repeats = sep.join(aug, on=["key", "rule"]).filter(~pl.col("basis").str.contains("升级"))
    assert repeats.height == 0
    assert sep.height < aug.height


@pytest.fixture(scope="module")
def august_september_13(august_13, tmp_path_factory) -> tuple[Path, Path]:
    """August_13 run on: September, no answer returned. Read-only, like august_13."""
    county, out = _copy(august_13, tmp_path_factory.mktemp("aug_sep"))
    assert _run(county, out, "2026-09") == 0
    return county, out


@pytest.fixture(scope="module")
def in_order_13(august_september_13, tmp_path_factory) -> Path:
    """The seed-13 county's three months run in order (August's run, then September, October)."""
    county, out = _copy(august_september_13, tmp_path_factory.mktemp("in_order"))
    assert _run(county, out, "2026-10") == 0
    return out


@pytest.fixture(scope="module")
def august_october_13(august_13, tmp_path_factory) -> tuple[Path, Path]:
    """The seed-13 county with August run, then October (September not in yet)."""
    county, out = _copy(august_13, tmp_path_factory.mktemp("aug_oct"))
    assert _run(county, out, "2026-10") == 0
    return county, out


@pytest.mark.parametrize("late_by", ["cli", "schedule"])
def test_periods_run_out_of_order_give_the_same_answers(in_order_13, august_october_13, tmp_path, late_by):
    """September arrives late and is run after October: October is run again after it, by the
    CLI and by the scheduled flow (a deployment triggered for a month) alike."""
    in_order = in_order_13
    county, shuffled = _copy(august_october_13, tmp_path)  # August, then October
    if late_by == "cli":
        assert _run(county, shuffled, "2026-09") == 0
    else:
        pop = json.loads((county / "truth" / "population.json").read_text())["county_population"]
        flows.scheduled_run(str(county / "inbox"), str(shuffled), overrides=[f"matching.county_population={pop}"],
                            period="2026-09", issue_date=ISSUE["2026-09"])
    runs = duckdb.connect(str(shuffled / "warehouse.duckdb"), read_only=True).sql(
        "SELECT period, count(*) FROM runs GROUP BY period ORDER BY period").fetchall()
    assert runs == [("2026-08", 1), ("2026-09", 1), ("2026-10", 2)], runs
    key = ["warning_id", "rule"]
    for p in PERIODS:
        a = pl.read_parquet(in_order / p / "warnings.parquet").sort(key).select(key, "basis", "signal")
        b = pl.read_parquet(shuffled / p / "warnings.parquet").sort(key).select(key, "basis", "signal")
        assert a.equals(b), p
        assert _first_queued(in_order, p).equals(_first_queued(shuffled, p)), p  # (October run first, then again)


def _runs(out: Path) -> list[tuple]:
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        return con.sql("SELECT period, status, count(*) FROM runs GROUP BY ALL ORDER BY ALL").fetchall()
    finally:
        con.close()


def _cascade_stopped(out: Path, printed) -> str:
    """What a re-run of August whose cascade stopped at September left: August re-run and
    published (its summary printed), September and October as they were; the one error line."""
    assert printed.out.count("行数核对") == 1 and f"{out / '2026-08'}/townships/" in printed.out  # August's summary
    err = printed.err.strip().splitlines()[-1]
    assert err.startswith("error: 2026-09 ") and "2026-10" in err and "2026-08 is done" in err, err
    assert "2026-09, 2026-10 still reflect 2026-08 as it was before" in err, err
    assert "run 2026-09 again" in err and "(the later periods follow it)" in err, err
    return err


def test_a_later_period_whose_rerun_fails_leaves_the_period_done_and_says_what_to_run(august_13, in_order_13,
                                                                                      tmp_path, capsys):
    """August re-run after September and October: September's roster is gone from its inbox since,
    so its re-run fails. August is done and published; the command says so, names September and why,
    that September and October (not re-run after it) still reflect August as before and what to
    run, and exits 'partly done' (4), not 'failed' (1)."""
    import shutil

    county, out = _copy((august_13[0], in_order_13), tmp_path)
    october = (out / "2026-10" / "warnings.parquet").read_bytes()
    shutil.rmtree(county / "inbox" / "2026-09" / "户籍底册")
    capsys.readouterr()
    assert _run(county, out, "2026-08") == cli.EXIT_PARTLY == 4
    err = _cascade_stopped(out, capsys.readouterr())
    assert "no usable roster" in err
    assert _runs(out) == [("2026-08", "ok", 2), ("2026-09", "failed", 1), ("2026-09", "ok", 1), ("2026-10", "ok", 1)]
    assert (out / "2026-10" / "warnings.parquet").read_bytes() == october


def test_a_later_period_whose_own_settings_are_refused_now_stops_the_cascade_naming_the_key(
        august_13, in_order_13, tmp_path, capsys):
    """September was last run with a setting the config check refuses now (stored in
    `runs.overrides`): re-running August names September and the refused key instead of an
    anonymous ValueError, leaves September and October as they were, and keeps August's result."""
    county, out = _copy((august_13[0], in_order_13), tmp_path)
    con = duckdb.connect(str(out / "warehouse.duckdb"))
    con.execute("UPDATE runs SET overrides = list_append(overrides, 'M1.threshold=-5') WHERE period = '2026-09'")
    con.close()
    capsys.readouterr()
    assert _run(county, out, "2026-08") == cli.EXIT_PARTLY
    err = _cascade_stopped(out, capsys.readouterr())
    assert "rules.M1.threshold must be a number of at least 0, got -5" in err and "--set M1.threshold=-5" in err, err
    assert _runs(out) == [("2026-08", "ok", 2), ("2026-09", "ok", 1), ("2026-10", "ok", 1)]


def test_a_run_failing_after_it_stored_and_published_its_period_is_recorded_ok_and_exits_4(
        august_13, in_order_13, tmp_path, monkeypatch, capsys):
    """August re-run after September and October; its Prefect artifacts cannot be made (`announce`,
    the step after the commit: the API went away). August is stored and published all the same, but
    the run was recorded `failed` and the command exited 1 saying it failed: read as 'nothing went
    out'. Recorded ok; exit 4, one line: August stored and published, the step that failed, and
    September and October (not re-run) still reflecting August as it was, with what to run."""
    county, out = _copy((august_13[0], in_order_13), tmp_path)

    def refused(*_a, **_k):
        raise ConnectionError("341302199001011234")  # (a library's message may quote data)
    monkeypatch.setattr(flows, "create_markdown_artifact", refused)
    capsys.readouterr()
    assert _run(county, out, "2026-08") == cli.EXIT_PARTLY
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith(f"error: 2026-08 is stored and published in {out / '2026-08'}, but announce") and (
        "ConnectionError" in err and "341302" not in err), err
    assert re.search(r"ConnectionError \(details: prefect flow-run logs [0-9a-f-]{36}\)", err), err  # (its traceback)
    assert "2026-09, 2026-10 still reflect 2026-08 as it was before this run: run 2026-09 again" in err, err
    assert _runs(out) == [("2026-08", "ok", 2), ("2026-09", "ok", 1), ("2026-10", "ok", 1)]
    assert not [p for p in out.iterdir() if p.name.startswith(".")]


def test_review_answers_link_records_now_and_in_later_months(september_11, tmp_path, capsys):
    """The county answers September's review queue (the XLSX, 是否本人 from the truth, a few
    mistakes) and returns it in October's 复核/: October's records of the same 记录编号 (the
    参保名单 comes every month) are decided as answered and leave the queue; the mistakes are set
    aside naming file, line and field; every returned row is accounted for. The queue says which
    records were first sent to review in an earlier month (首次列入复核), and is read back with it."""
    county, out = _copy(september_11[:2], tmp_path)  # September run (after August's)
    queue = pl.read_excel(out / "2026-09" / "county" / "人工复核队列.xlsx", infer_schema_length=0)
    assert queue.columns[:3] == ["部门", "记录编号", "首次列入复核"]
    in_august = _first_queued(out, "2026-08").select("部门", "记录编号")
    waited = queue.join(in_august, on=["部门", "记录编号"], how="semi")
    assert waited.height >= 1 and (waited["首次列入复核"] == "2026-08").all()
    assert (queue.join(in_august, on=["部门", "记录编号"], how="anti")["首次列入复核"] == "2026-09").all()
    truth = (pl.read_csv(county / "truth" / "links.csv", infer_schema=False).filter(pl.col("period") == "2026-09")
             .select(部门="dept", 记录编号="record_id", true="person_id").unique(["部门", "记录编号"]))
    answered = queue.join(truth, on=["部门", "记录编号"], how="left").with_columns(
        是否本人=pl.when(pl.col("人编号") == pl.col("true")).then(pl.lit("是")).otherwise(pl.lit("否")), 复核人=pl.lit("李分析"))
    assert answered.height >= 10 and answered["是否本人"].eq("是").sum() >= 3
    mistakes = pl.concat([answered.head(1).with_columns(是否本人=pl.lit("对")),  # outside 是/否
                          answered.head(1).with_columns(人编号=pl.lit("H9999999-01")),  # nobody on the roster
                          answered.head(1).with_columns(是否本人=pl.lit(None, pl.Utf8)),  # not decided
                          answered.head(1).with_columns(记录编号=pl.lit("NO-SUCH-RECORD"))])  # a typo
    again_in_english = answered.filter(pl.col("部门") == "医保").head(1).with_columns(部门=pl.lit("medical"))
    returned = pl.concat([answered, mistakes, again_in_english]).drop("true")
    folder = county / "inbox" / "2026-10" / "复核"
    folder.mkdir(parents=True)
    returned.write_excel(folder / "人工复核队列_2026-09_已复核.xlsx", worksheet="人工复核队列")
    town = next((out / "2026-09" / "townships").iterdir())  # a township's list dropped in the wrong folder
    (folder / f"{town.name}_2026-09_预警清单.csv").write_bytes((town / f"{town.name}_2026-09_预警清单.csv").read_bytes())
    capsys.readouterr()
    assert _run(county, out, "2026-10") == 0
    # October's queue: each record's first month is the earliest queue that held it; the console counts them
    first = _first_queued(out, "2026-10")
    earlier = pl.concat([_first_queued(out, "2026-09"), _first_queued(out, "2026-08")])
    want = first.select("部门", "记录编号").join(earlier.group_by("部门", "记录编号").agg(pl.col("首次列入复核").min()),
                                               on=["部门", "记录编号"], how="left").with_columns(pl.col("首次列入复核").fill_null("2026-10"))
    assert first.equals(want)
    n = dict(first.group_by("首次列入复核").len().iter_rows())
    since = ", ".join(f"{p}: {n[p]}" for p in ("2026-08", "2026-09") if p in n)
    assert (f"人工复核队列 review queue: {first.height} records = {n['2026-10']} new this period (首次列入复核 2026-10) + "
            f"{first.height - n['2026-10']} waiting since an earlier period{f' ({since})' if since else ''}\n"
            ) in capsys.readouterr().out
    html = (out / "2026-10" / "county" / "县级预警报告.html").read_text()
    assert re.search(rf"<h3>人工复核队列.*<tfoot><tr><th>合计 <small>total</small></th><td>{first.height}</td>"
                     rf"<td>{n['2026-10']}</td><td>{first.height - n['2026-10']}</td>", html)

    links = pl.read_parquet(out / "2026-10" / "links.parquet")
    yes = answered.filter(pl.col("是否本人") == "是").select(dept="部门", record_id="记录编号", answer="人编号")
    again = yes.join(links, on=["dept", "record_id"])  # records delivered again in October
    assert again.height >= 1, "the 参保名单 comes every month: some answered record must be back"
    assert (again["decision"] == "matched").all() and (again["person_id"] == again["answer"]).all()
    assert again["reason"].str.starts_with("人工复核（复核/人工复核队列_2026-09_已复核.xlsx").all()
    ruled_out = (answered.filter(pl.col("是否本人") == "否").select(dept="部门", record_id="记录编号", person_id="人编号")
                 .join(links, on=["dept", "record_id", "person_id"]))
    assert ruled_out.height == 0, "no October record is linked to a person answered 否"
    weighed = (answered.filter(pl.col("是否本人") == "否").select(dept="部门", record_id="记录编号").unique()
               .join(yes.select("dept", "record_id"), on=["dept", "record_id"], how="anti")
               .join(links, on=["dept", "record_id"]))
    assert weighed.height >= 1 and weighed["reason"].str.contains("人工复核（.*排除了").all()
    october_queue = pl.read_csv(out / "2026-10" / "county" / "人工复核队列.csv", infer_schema=False)
    assert october_queue.join(yes.rename({"dept": "部门", "record_id": "记录编号"}), on=["部门", "记录编号"]).height == 0

    set_aside = pl.read_csv(out / "2026-10" / "county" / "搁置行及原因.csv", infer_schema=False).filter(pl.col("部门") == "复核")
    first = answered.height + 2  # header row, then the answered rows: the mistakes follow
    answers_set_aside = set_aside.filter(pl.col("文件").str.contains("已复核"))
    assert sorted(zip(answers_set_aside["行号"].cast(int), answers_set_aside["字段"])) == [
        (first, "是否本人"), (first + 1, "人编号"), (first + 3, "记录编号")]
    report = pl.read_csv(out / "2026-10" / "county" / "数据质量报告.csv", infer_schema=False)
    line = report.filter(pl.col("类别") == "人工复核结论 review answers")["说明"].item()
    used = answered.height + 1
    assert "本期 复核/ 中 2 个文件" in line and f"收到复核结论 {returned.height} 行：采用 {used}，未填是否本人 1，退回 3" in line, line
    assert "其中 1 个表不是复核结论" in line, line
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    stored = con.sql("SELECT period, count(*) FROM review_answers GROUP BY period").fetchall()
    con.close()
    assert stored == [("2026-10", used)]
    # 民政 re-read: the other departments keep links made with these very answers, none waits
    pop = json.loads((county / "truth" / "population.json").read_text())["county_population"]
    assert cli.main(["run", "--inbox", str(county / "inbox"), "--period", "2026-10", "--out", str(out), "--dept", "民政",
                       "--issue-date", ISSUE["2026-10"], "--set", f"matching.county_population={pop}"]) == 0
    assert pl.read_parquet(out / "2026-10" / "links.parquet").sort("dept", "record_id").equals(links.sort("dept", "record_id"))
    report = pl.read_csv(out / "2026-10" / "county" / "数据质量报告.csv", infer_schema=False)
    line = report.filter(pl.col("类别") == "人工复核结论 review answers")["说明"].item()
    assert "重读该部门或整期重跑时采用" not in line and "本期重读的部门中" in line, line
    # the file taken out again (it was the wrong one), October re-run: its answers are forgotten
    (folder / "人工复核队列_2026-09_已复核.xlsx").unlink()
    assert _run(county, out, "2026-10") == 0
    links = pl.read_parquet(out / "2026-10" / "links.parquet")
    assert not links["reason"].str.starts_with("人工复核").any()
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    assert con.sql("SELECT count(*) FROM review_answers").fetchall() == [(0,)]
    con.close()


def test_a_yes_for_a_listed_candidate_whose_id_disagrees_is_taken_next_month(september_11, tmp_path):
    """The queue a run publishes is stored with its period (`review_queue`: each record's
    candidates and the ID it showed). October's answers to September's queue: 是 for a listed
    candidate whose ID disagrees with the record's (the roster's ID of the candidate corrected
    since at the 3 sequence digits the record shows) is taken and said; 是 for a 人编号 the queue
    did not list for that record, its ID as far off, is refused saying so."""
    county, out = _copy(september_11[:2], tmp_path)
    queue = pl.read_csv(out / "2026-09" / "county" / "人工复核队列.csv", infer_schema=False)
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    stored = con.sql("SELECT dept, record_id, person_id, id_raw FROM review_queue WHERE period = '2026-09'").pl()
    con.close()
    published = queue.select(dept="部门", record_id="记录编号", person_id="人编号", id_raw="记录证件号码（部门报送原样）").unique()
    assert stored.sort(pl.all()).equals(published.sort(pl.all()))
    # two 参保名单 records delivered again in October, their sequence digits shown: r1 answered 是 for
    # its listed candidate, r2 for a person the queue did not list for it
    october = pl.read_csv(county / "inbox" / "2026-10" / "医保" / "参保名单_2026-10.csv", encoding="gb18030",
                          infer_schema=False)
    shown = queue.filter(pl.col("记录证件号码（部门报送原样）").str.contains(r"^.{14}\d{3}"),
                         pl.col("记录编号").is_in(october.to_series(0).implode())).unique("记录编号", keep="first")
    assert shown.height >= 2, "the sample's queue holds 参保名单 records delivered again"
    (r1, p1, id1), (r2, _, id2) = shown.select("记录编号", "人编号", "记录证件号码（部门报送原样）").sort("记录编号").rows()[:2]
    other = queue.filter(~pl.col("人编号").is_in(queue.filter(pl.col("记录编号") == r2)["人编号"].implode()),
                         pl.col("人编号") != p1)["人编号"][0]
    def off(id_number: str, shown_id: str) -> str:  # the 3 sequence digits the record shows, each changed
        body = id_number[:14] + "".join(str((int(c) + 1) % 10) for c in shown_id[14:17])
        check = "10X98765432"[sum(int(c) * w for c, w in zip(body, (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2))) % 11]
        return body + check
    # the roster's ID of p1 and of the other person: as a roster correction gives it, 3 digits off the records'
    roster_file = county / "inbox" / "2026-10" / "户籍底册" / "防返贫监测对象.csv"
    roster = pl.read_csv(roster_file, infer_schema=False)
    roster = roster.with_columns(
        pl.when(pl.col("人编号") == p1).then(pl.col("证件号码").map_elements(lambda v: off(v, id1), pl.Utf8))
        .when(pl.col("人编号") == other).then(pl.col("证件号码").map_elements(lambda v: off(v, id2), pl.Utf8))
        .otherwise(pl.col("证件号码")).alias("证件号码"))
    roster.write_csv(roster_file)
    folder = county / "inbox" / "2026-10" / "复核"
    folder.mkdir(parents=True)
    pl.DataFrame({"部门": ["医保"], "记录编号": [r1], "人编号": [p1], "是否本人": ["是"]}).write_csv(folder / "人工复核队列_已复核.csv")
    pl.DataFrame({"部门": ["医保"], "记录编号": [r2], "人编号": [other], "是否本人": ["是"]}).write_csv(folder / "补充.csv")
    assert _run(county, out, "2026-10") == 0
    links = pl.read_parquet(out / "2026-10" / "links.parquet").filter(pl.col("record_id") == r1)
    assert links.select("decision", "person_id").rows() == [("matched", p1)], links
    report = pl.read_csv(out / "2026-10" / "county" / "数据质量报告.csv", infer_schema=False)
    line = report.filter(pl.col("类别") == "人工复核结论 review answers")["说明"].item()
    assert "1 条记录答“是”的候选人证件号码与记录显示的多位不同，该候选人为复核队列所列，按复核结论采用" in line, line
    set_aside = pl.read_csv(out / "2026-10" / "county" / "搁置行及原因.csv", infer_schema=False).filter(
        pl.col("文件").str.contains("补充"))
    assert "不是人工复核队列为该记录列出的候选人" in set_aside["原因"].item(), set_aside


def test_a_dry_run_of_an_earlier_month_says_which_later_months_a_real_run_would_redo(three_months, capsys):
    county, out, _, _ = three_months
    pop = json.loads((county / "truth" / "population.json").read_text())["county_population"]
    assert cli.main(["run", "--inbox", str(county / "inbox"), "--period", "2026-08", "--out", str(out),
                       "--issue-date", ISSUE["2026-08"], "--set", f"matching.county_population={pop}", "--dry-run"]) == 0
    assert "a real run would run again: 2026-09, 2026-10" in capsys.readouterr().out


def _move_households(period_dir: Path, households: list[str], like: str) -> None:
    """The period's 户籍底册 and 网格 place `households` where household `like` lives: its 乡（镇）,
    行政村, 村民小组, and its grid (网格编号, 网格员 ...)."""
    import csv
    import io

    for folder, place in (("户籍底册", ("乡", "行政村", "村民小组")), ("网格", None)):
        for f in (period_dir / folder).glob("*.csv"):
            raw = f.read_bytes()
            enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
            rows = list(csv.reader(io.StringIO(raw.decode(enc))))
            hid = rows[0].index("户编号")
            cols = ([next(j for j, c in enumerate(rows[0]) if c.startswith(p)) for p in place] if place
                    else [j for j in range(len(rows[0])) if j != hid])
            model = next(r for r in rows[1:] if r[hid] == like)
            moved = [r for r in rows[1:] if r[hid] in households]
            assert {r[hid] for r in moved} == set(households), f"{f}: {households} not all there"
            for r in moved:
                for j in cols:
                    r[j] = model[j]
            buf = io.StringIO()
            csv.writer(buf, lineterminator="\n").writerows(rows)
            f.write_bytes(buf.getvalue().encode(enc))


def test_an_open_warning_moves_with_its_household_to_its_new_township(august_13, tmp_path):
    """Two households of township A with unanswered August warnings are on September's (and
    October's) roster in township B. September: their warnings leave A's list and open B's, with
    the village, group and grid worker they have now, 状态 saying where they came from, still
    overdue from August's deadline, counted under B; the county's report names the move. October:
    B answers one in its September list, A (late) the other in its August list; both are taken."""
    county, out = _copy(august_13, tmp_path)  # August run
    aug = _town_files(out, "2026-08")
    town_a = max(aug, key=lambda t: aug[t].height)
    town_b = next(t for t in sorted(aug) if t != town_a)
    picked = (aug[town_a].filter(pl.col("户编号").is_not_null(), pl.col("风险类型") != "饮水出现安全问题")
              .unique("户编号", keep="first", maintain_order=True).head(2))
    assert picked.height == 2
    (w1, h1), (w2, h2) = picked.select("预警编号", "户编号").rows()
    like = aug[town_b].filter(pl.col("户编号").is_not_null())["户编号"][0]
    for p in ("2026-09", "2026-10"):
        _move_households(county / "inbox" / p, [h1, h2], like)
    assert _run(county, out, "2026-09") == 0

    sep = _town_files(out, "2026-09")
    assert not sep[town_a]["预警编号"].is_in([w1, w2]).any(), "A no longer lists the households that left it"
    there = sep[town_b].filter(pl.col("预警编号").is_in([w1, w2]))
    home = sep[town_b].filter(pl.col("户编号") == like).row(0, named=True)
    assert sorted(there["户编号"]) == sorted([h1, h2])
    for r in there.iter_rows(named=True):
        assert (r["乡（镇）"], r["行政村"], r["村民小组"], r["网格员"]) == (
            town_b, home["行政村"], home["村民小组"], home["网格员"])
        assert r["状态"].startswith("逾期未核实（由" + town_a) and f"原下发日期{ISSUE['2026-08']}" in r["状态"]
        assert r["下发日期"] == ISSUE["2026-08"]
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id").is_in([w1, w2]))
    assert set(status["township"]) == {town_b} and set(status["status"]) == {"overdue"}
    overdue = pl.read_csv(out / "2026-09" / "county" / "逾期未核实清单.csv", infer_schema=False)
    assert set(overdue.filter(pl.col("预警编号").is_in([w1, w2]))["乡（镇）"]) == {town_b}
    quality = pl.read_csv(out / "2026-09" / "county" / "数据质量报告.csv", infer_schema=False)
    line = quality.filter(pl.col("类别").str.starts_with("预警随户迁移"))["说明"].item()
    assert town_a in line and town_b in line and w1 in line and w2 in line, line

    folder = county / "inbox" / "2026-10" / "反馈"
    folder.mkdir(parents=True)
    answer = dict(核实结果="属实", 是否纳入监测="是", 核实人="王网格", 核实日期="2026-10-20")
    (folder / f"{town_b}_2026-09_预警清单.csv").write_bytes(
        sep[town_b].filter(pl.col("预警编号") == w1).with_columns(**{k: pl.lit(v) for k, v in answer.items()})
        .write_csv().encode("utf-8-sig"))
    (folder / f"{town_a}_2026-08_预警清单.csv").write_bytes(
        aug[town_a].filter(pl.col("预警编号") == w2).with_columns(
            **{k: pl.lit(v) for k, v in (answer | {"核实结果": "不属实"}).items()})
        .write_csv().encode("utf-8-sig"))
    assert _run(county, out, "2026-10") == 0
    status = pl.read_parquet(out / "2026-10" / "warning_status.parquet").filter(pl.col("warning_id").is_in([w1, w2]))
    assert dict(status.select("warning_id", "status").rows()) == {w1: "verified_true", w2: "verified_false"}
    assert not list((out / "2026-10" / "townships").glob("*/*反馈退回.csv"))
    sent = pl.concat([pl.read_csv(f, infer_schema=False) for f in (out / "2026-10" / "county" / "派单").glob("*.csv")])
    assert sent.filter(pl.col("预警编号") == w1)["乡（镇）"].to_list() == [town_b]

def test_a_household_number_shared_across_townships_lists_each_township_its_own_persons(august_13, tmp_path):
    """September's 户籍底册 gives the persons of household B (township TB) the 户编号 of household
    A (township TA): a slip, or Excel's 15 digits. Each village's persons are a household of
    their own, as if the roster had been corrected: every list names its own township's persons
    only, A's open August warnings stay on TA's list under their 预警编号 (A is still on the
    roster), B's on TB's; the lists show 户编号 A as written, 状态 saying it is shared; every
    department balances and the report names the 户编号."""
    import csv
    import io

    county, out = _copy(august_13, tmp_path)  # August run
    aug = pl.concat([df for df in _town_files(out, "2026-08").values()])
    warned = (aug.filter(pl.col("户编号").is_not_null(), pl.col("涉及人员") != "全户")
              .sort("户编号").unique("户编号", keep="first", maintain_order=True))
    a = warned.row(0, named=True)
    b = warned.filter(pl.col("乡（镇）") != a["乡（镇）"]).row(0, named=True)
    ha, hb, ta, tb = a["户编号"], b["户编号"], a["乡（镇）"], b["乡（镇）"]
    f = next((county / "inbox" / "2026-09" / "户籍底册").glob("*.csv"))
    raw = f.read_bytes()
    enc = "utf-8-sig" if raw.startswith(b"\xef\xbb\xbf") else "utf-8"
    rows = list(csv.reader(io.StringIO(raw.decode(enc))))
    hid = rows[0].index("户编号")
    for r in rows[1:]:
        r[hid] = ha if r[hid] == hb else r[hid]
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows(rows)
    f.write_bytes(buf.getvalue().encode(enc))
    assert _run(county, out, "2026-09") == 0

    roster = pl.read_csv(f, infer_schema=False)
    roster = roster.rename({next(c for c in roster.columns if c.startswith("乡")): "乡（镇）"})
    lives = dict(roster.select("人编号", "乡（镇）").iter_rows())
    warnings = pl.read_parquet(out / "2026-09" / "warnings.parquet").filter(pl.col("household_id").is_not_null())
    for w in warnings.iter_rows(named=True):
        assert {lives[p] for p in w["person_ids"]} <= {w["township"]}, w
    # machine-readable files too name the 户编号 as the roster writes it (SPEC §5), the run's key aside
    assert not warnings["household_id"].str.contains("@").any()
    for name in ("links.parquet", "warning_status.parquet"):
        assert not pl.read_parquet(out / "2026-09" / name)["household_id"].drop_nulls().str.contains("@").any()
    sep = _town_files(out, "2026-09")
    for town, df in sep.items():
        assert not df["户编号"].drop_nulls().str.contains("@").any()
        mine = set(roster.filter(pl.col("户编号") == ha, pl.col("乡（镇）") == town)["姓名"])
        for r in df.filter(pl.col("户编号") == ha).iter_rows(named=True):
            assert set(r["涉及人员"].split("、")) - {"全户"} <= mine, (town, r)
            assert f"底册户编号 {ha} 多户共用" in r["状态"] and "不在本期户籍底册" not in r["状态"], r
    assert set(aug.filter(pl.col("户编号") == ha)["预警编号"]) <= set(sep[ta].filter(pl.col("户编号") == ha)["预警编号"])
    assert set(aug.filter(pl.col("户编号") == hb)["预警编号"]) <= set(sep[tb]["预警编号"])
    assert pl.read_csv(out / "2026-09" / "county" / "行数核对_accounting.csv")["balanced"].all()
    quality = pl.read_csv(out / "2026-09" / "county" / "数据质量报告.csv", infer_schema=False)
    assert f"户编号 {ha}：" in quality.filter(pl.col("类别").str.starts_with("户编号多户共用"))["说明"].item()


def test_a_returned_list_the_run_cannot_read_is_told_back_to_its_township(august_13, tmp_path):
    """A township's answers saved by WPS or Excel 97-2003 (`.et`, `.xls`) are set aside before
    reading, and a workbook's hidden sheet is not read: each township is told in its 反馈退回
    (as it is of a file it sent that could not be read), not the county's report alone."""
    import openpyxl

    county, out = _copy(august_13, tmp_path)  # August run
    aug = _town_files(out, "2026-08")
    xls, et, hid = sorted(aug)[:3]
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True)
    ole = bytes.fromhex("D0CF11E0A1B11AE1") + "Workbook".encode("utf-16-le")
    (folder / f"{xls}_2026-08_预警清单.xls").write_bytes(ole)
    (folder / f"{et}反馈.et").write_bytes(ole)
    wb = openpyxl.load_workbook(out / "2026-08" / "townships" / hid / f"{hid}_2026-08_预警清单.xlsx")
    ws = wb.worksheets[1]
    ws.cell(2, [c.value for c in ws[1]].index("核实结果") + 1, "属实")
    ws.sheet_state = "hidden"
    wb.save(folder / f"{hid}_2026-08_预警清单.xlsx")
    assert _run(county, out, "2026-09") == 0
    back = {t: pl.read_csv(out / "2026-09" / "townships" / t / f"{t}_2026-09_反馈退回.csv", infer_schema=False)
            for t in (xls, et, hid)}
    assert back[xls].select("文件", "行号").rows() == [(f"反馈/{xls}_2026-08_预警清单.xls", None)]
    assert back[et]["文件"].to_list() == [f"反馈/{et}反馈.et"]
    assert "wrong file type" in back[xls]["原因"][0] and "wrong file type" in back[et]["原因"][0]
    # (its visible sheets answer nothing: told so too, 无答复行)
    said = back[hid]["原因"].to_list()
    assert len(said) == 2 and said[0].startswith("文件中 3 行的核实结果等反馈列均为空、无答复行")
    assert said[1].startswith(f"隐藏的工作表「{ws.title}」有表头")


def test_an_answer_whose_date_cannot_be_read_is_taken_and_the_township_told_to_date_it(august_13, tmp_path, capsys):
    """A township returns two 属实 answers, one dated `11月` (no day), one dated properly. The
    first was set aside whole and listed back (the family visited, the warning still open and
    overdue until the row came back again), while a 核实日期 left empty was taken. Both answers
    are taken now, the first undated (verified, no 核实日期, not overdue: as an empty date); the
    county's 数据质量报告 names its file, line and date as written, and the township's 反馈退回
    asks for the date, the row counted as accepted, not set aside."""
    county, out = _copy(august_13, tmp_path)  # August run
    aug = _town_files(out, "2026-08")
    town = sorted(aug)[0]
    rows = aug[town].head(2)
    w1, w2 = rows["预警编号"]
    name = f"{town}_2026-08_预警清单.csv"
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True)
    (folder / name).write_bytes(rows.with_columns(
        核实结果=pl.lit("属实"), 是否纳入监测=pl.lit("是"), 核实人=pl.lit("张网格"),
        核实日期=pl.Series(["11月", "2026-09-15"])).write_csv().encode("utf-8-sig"))
    capsys.readouterr()
    assert _run(county, out, "2026-09") == 0
    assert "反馈 feedback rows: 2 = accepted 2 + unanswered 0 + set aside 0" in capsys.readouterr().out
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id").is_in([w1, w2]))
    assert sorted(status.select("warning_id", "status", "verified_on", "days_overdue").rows()) == sorted([
        (w1, "verified_true", None, 0), (w2, "verified_true", datetime.date(2026, 9, 15), 0)])
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    kept = con.sql("SELECT warning_id, verify_date FROM feedback_answers WHERE period = '2026-09'").fetchall()
    con.close()
    assert sorted(kept) == sorted([(w1, None), (w2, datetime.date(2026, 9, 15))])
    back = pl.read_csv(out / "2026-09" / "townships" / town / f"{town}_2026-09_反馈退回.csv", infer_schema=False)
    assert back.select("文件", "行号", "预警编号", "字段", "填报内容").rows() == [(f"反馈/{name}", "2", w1, "核实日期", "11月")]
    assert back["原因"][0].startswith("核实日期“11月”读不出，核实结果已采纳，请补填核实日期（年月日）")
    quality = pl.read_csv(out / "2026-09" / "county" / "数据质量报告.csv", infer_schema=False)
    note = quality.filter(pl.col("类别").str.starts_with("值读不出按空值"), pl.col("文件") == f"反馈/{name}")
    assert note.height == 1 and note["部门"].item() == "反馈"
    assert note["说明"].item().startswith("「核实日期」1 个值读不出，已按空值处理、这些行照常使用（第 2 行；")
    assert "'11月'" in note["说明"].item()
    set_aside = pl.read_csv(out / "2026-09" / "county" / "搁置行及原因.csv", infer_schema=False)
    assert not set_aside.filter(pl.col("文件") == f"反馈/{name}").height
    assert pl.read_csv(out / "2026-09" / "county" / "行数核对_accounting.csv")["balanced"].all()
    overdue = pl.read_csv(out / "2026-09" / "county" / "逾期未核实清单.csv", infer_schema=False)
    assert w1 not in overdue["预警编号"].to_list()


def test_a_date_typed_on_the_10th_that_excel_kept_as_a_number_is_read_as_typed(august_13, tmp_path, capsys):
    """August's lists went out 2026-09-02. A clerk types the visit's day `9.10` into Excel: the
    number 9.1, saved so into a CSV; another township's workbook keeps it as the numeric cell 9.1.
    Read as 9月1日 they were set aside as dated before the list went out (the family visited, the
    warning left overdue). Both are taken on the day typed, 2026-09-10, and named for the county;
    a 核实日期 written 2026-09-01 is still returned."""
    county, out = _copy(august_13, tmp_path)  # August run
    aug = _town_files(out, "2026-08")
    a, b = [t for t in sorted(aug) if aug[t].height >= 2][:2]
    rows = aug[a].head(2)
    w1, w2 = rows["预警编号"]
    w3 = aug[b]["预警编号"][0]
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True)
    name_a, name_b = f"{a}_2026-08_预警清单.csv", f"{b}_2026-08_预警清单.xlsx"
    (folder / name_a).write_bytes(rows.with_columns(
        核实结果=pl.lit("属实"), 是否纳入监测=pl.lit("是"), 核实人=pl.lit("张网格"),
        核实日期=pl.Series(["9.1", "2026-09-01"])).write_csv().encode("utf-8-sig"))
    import xlsxwriter
    row_b = aug[b].head(1).with_columns(核实结果=pl.lit("属实"), 是否纳入监测=pl.lit("否"), 核实人=pl.lit("李网格"))
    with xlsxwriter.Workbook(folder / name_b) as wb:
        ws = wb.add_worksheet("Sheet1")
        ws.write_row(0, 0, row_b.columns)
        ws.write_row(1, 0, ["" if v is None else v for v in row_b.row(0)])
        ws.write_number(1, row_b.columns.index("核实日期"), 9.1)
    capsys.readouterr()
    assert _run(county, out, "2026-09") == 0
    assert "反馈 feedback rows: 3 = accepted 2 + unanswered 0 + set aside 1" in capsys.readouterr().out
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    kept = con.sql("SELECT warning_id, verify_date FROM feedback_answers WHERE period = '2026-09'").fetchall()
    con.close()
    assert sorted(kept) == sorted([(w1, datetime.date(2026, 9, 10)), (w3, datetime.date(2026, 9, 10))])
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id").is_in([w1, w3]))
    assert sorted(status.select("warning_id", "status", "verified_on").rows()) == sorted([
        (w1, "verified_true", datetime.date(2026, 9, 10)), (w3, "verified_true", datetime.date(2026, 9, 10))])
    quality = pl.read_csv(out / "2026-09" / "county" / "数据质量报告.csv", infer_schema=False)
    named = quality.filter(pl.col("说明").str.starts_with("核实日期按整十日读取")).sort("文件")
    assert named.select("部门", "文件").rows() == sorted([("反馈", f"反馈/{name_a}"), ("反馈", f"反馈/{name_b}")],
                                                       key=lambda r: r[1])
    details = dict(zip(named["文件"], named["说明"]))
    assert details[f"反馈/{name_a}"].endswith("：第2行 9.1 → 2026-09-10")
    assert details[f"反馈/{name_b}"].endswith("：第2行 9.1 → 2026-09-10")
    back = pl.read_csv(out / "2026-09" / "townships" / a / f"{a}_2026-09_反馈退回.csv", infer_schema=False)
    assert back.select("文件", "行号", "预警编号", "填报内容").rows() == [(f"反馈/{name_a}", "3", w2, "2026-09-01")]
    assert back["原因"][0].startswith("核实日期2026-09-01早于下发日期2026-09-02")
    assert not (out / "2026-09" / "townships" / b / f"{b}_2026-09_反馈退回.csv").exists()


SETTLEMENT_HEADER = ("结算流水号,姓名,证件号码,参保地,就诊机构,就诊类型,入院日期,结算日期,医疗总费用,统筹支付,大病保险支付,"
                     "医疗救助支付,个人自付").split(",")


def _roster_csv(folder: Path) -> Path:
    (path,) = list((folder / "户籍底册").glob("*.csv"))
    return path


def _read_table(path: Path) -> list[dict]:
    header, *rows = read_rows(path)
    return [dict(zip(header, r)) for r in rows]


def _write_table(path: Path, rows: list[dict]) -> None:
    import csv
    import io

    buf = io.StringIO()
    w = csv.DictWriter(buf, fieldnames=list(rows[0]), lineterminator="\n")
    w.writeheader()
    w.writerows(rows)
    path.write_bytes(buf.getvalue().encode("utf-8-sig"))


def _settle(folder: Path, name: str, rows: list[tuple[str, str, str, str, float]]) -> None:
    """A settlements file (结算流水号, 姓名, 证件号码, 结算日期, 个人自付) in the period's 医保 folder."""
    _write_table(folder / "医保" / name, [dict(zip(SETTLEMENT_HEADER, [
        rid, n, i, "埇桥区", "埇桥区人民医院", "住院", d, d, f"{a * 4:.2f}", f"{a * 3:.2f}", "0.00", "0.00", f"{a:.2f}"]))
        for rid, n, i, d, a in rows])


def _quiet_persons(county: Path, roster: list[dict], n: int) -> list[dict]:
    """n heads of households of two or more whom no settlement of the sample names (truth)."""
    truth = pl.read_csv(county / "truth" / "links.csv", infer_schema=False)
    busy = set(truth.filter(pl.col("kind") == "med_settlement")["person_id"].drop_nulls())
    heads = [r for r in roster if r["与户主关系"] == "户主" and r["人编号"] not in busy and int(r["家庭人口数"]) >= 2]
    return heads[:n]


def test_year_to_date_follows_the_current_roster(prefect_harness, tmp_path):
    """November's roster splits a man off into a household of his own (new 人编号 and 户编号),
    corrects a woman's mistyped 证件号码, and adds a household whose head had an October
    settlement while off the roster: each one's October settlement counts in November's sum about
    them, once, so M1 fires for all three (each 3,000 in October + 2,500 in November)."""
    from sample_data.generate import generate

    county = tmp_path / "c"
    generate(county, seed=5, periods=("2026-10", "2026-11"), households=400)
    inbox, out = county / "inbox", tmp_path / "o"
    oct_rows = _read_table(_roster_csv(inbox / "2026-10"))
    split, fixed = _quiet_persons(county, oct_rows, 2)
    right = fixed["证件号码"]
    wrong = right[:14] + ("1" if right[14] != "1" else "2") + right[15:]
    _write_table(_roster_csv(inbox / "2026-10"), [dict(r, 证件号码=wrong) if r["人编号"] == fixed["人编号"] else r
                                                  for r in oct_rows])
    nov_path = _roster_csv(inbox / "2026-11")
    nov_rows = _read_table(nov_path)  # (its headers may be other aliases than October's)
    income = next(h for h in nov_rows[0] if h.startswith("年人均"))
    newcomer = dict(next(r for r in nov_rows if r["人编号"] == split["人编号"]), **{
        "户编号": "H9999002", "人编号": "H9999002-01", "姓名": "郭建金", "证件号码": "342223195208089218",
        "与户主关系": "户主", "家庭人口数": "1", "户类型": "监测户", income: "6000"})
    moved = {"户编号": "H9999001", "人编号": "H9999001-01", "与户主关系": "户主", "家庭人口数": "1"}
    _write_table(nov_path, [dict(r, **moved) if r["人编号"] == split["人编号"] else r for r in nov_rows] + [newcomer])
    people = [(split, "X"), (fixed, "Y"), (newcomer, "Z")]
    _settle(inbox / "2026-10", "结算明细_测试.csv",
            [(f"JS_OCT_{t}", p["姓名"], right if p is fixed else p["证件号码"], "2026-10-12", 3000.0) for p, t in people])
    _settle(inbox / "2026-11", "结算明细_测试.csv",
            [(f"JS_NOV_{t}", p["姓名"], right if p is fixed else p["证件号码"], "2026-11-12", 2500.0) for p, t in people])
    assert _run(county, out, "2026-10") == 0 and _run(county, out, "2026-11") == 0
    m1 = pl.read_parquet(out / "2026-11" / "warnings.parquet").filter(pl.col("rule") == "M1")
    for household, t in (("H9999001", "X"), (fixed["户编号"], "Y"), ("H9999002", "Z")):
        row = m1.filter(pl.col("household_id") == household)
        assert row.height == 1, (household, m1.select("household_id", "basis"))
        assert "2026年累计个人自付 5,500.00 元" in row["basis"][0] and "（2 笔结算）" in row["basis"][0]
        assert sorted(row["record_ids"][0]) == [f"JS_NOV_{t}", f"JS_OCT_{t}"]
    # October's stored rows keep October's links: November's sums use the new ones
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    stored = dict(con.sql("SELECT record_id, coalesce(person_id, decision) FROM settlements "
                          "WHERE period = '2026-10' AND record_id LIKE 'JS_OCT_%'").fetchall())
    con.close()
    assert stored["JS_OCT_X"] == split["人编号"] and stored["JS_OCT_Z"] == "unmatched"


def test_a_late_december_settlement_counts_in_december_s_year(prefect_harness, tmp_path):
    """January 2027's 医保 folder holds a 补报 of two December 2026 settlements of someone with no
    2027 cost: they complete 2026's sum (with December's own 200), warned in January as 2026's;
    no 2027 sum is warned."""
    from sample_data.generate import generate

    county = tmp_path / "c"
    generate(county, seed=5, periods=("2026-12", "2027-01"), households=400)
    inbox, out = county / "inbox", tmp_path / "o"
    (p,) = _quiet_persons(county, _read_table(_roster_csv(inbox / "2026-12")), 1)
    _settle(inbox / "2026-12", "结算明细_测试.csv", [("JS_DEC_1", p["姓名"], p["证件号码"], "2026-12-05", 200.0)])
    _settle(inbox / "2027-01", "结算明细_2026-12_补报.csv", [("JS_DEC_2", p["姓名"], p["证件号码"], "2026-12-28", 3000.0),
                                                         ("JS_DEC_3", p["姓名"], p["证件号码"], "2026-12-30", 2500.0)])
    assert _run(county, out, "2026-12") == 0 and _run(county, out, "2027-01") == 0
    jan = pl.read_parquet(out / "2027-01" / "warnings.parquet").filter(pl.col("household_id") == p["户编号"])
    m1 = jan.filter(pl.col("rule") == "M1")
    assert m1.height == 1 and "2026年累计个人自付 5,700.00 元" in m1["basis"][0] and "2027年" not in m1["basis"][0]
    assert sorted(m1["record_ids"][0]) == ["JS_DEC_1", "JS_DEC_2", "JS_DEC_3"]

# --- re-running an earlier period after later ones were run ------------------------------------

NOT_NEW_CARDS = 'D1.cert_types=["换领"]'  # 新办 certificates no longer warned, 换领 ones warned instead


def _rerun(county: Path, out: Path, period: str, *extra: str) -> tuple[int, str]:
    """The README's re-run: no --issue-date. Returns the exit code and what it printed."""
    import contextlib
    import io

    pop = json.loads((county / "truth" / "population.json").read_text())["county_population"]
    said = io.StringIO()
    with contextlib.redirect_stdout(said), contextlib.redirect_stderr(said):
        code = cli.main(["run", "--inbox", str(county / "inbox"), "--period", period, "--out", str(out),
                           "--set", f"matching.county_population={pop}", *extra])
    return code, said.getvalue()


def _state(out: Path) -> dict:
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        answers = dict(con.sql("SELECT period, count(*) FROM feedback_answers GROUP BY period").fetchall())
        runs = con.sql("SELECT period, config_sha256 FROM runs ORDER BY started_at").fetchall()
        stored = {p: con.sql("SELECT * EXCLUDE (period) FROM warning_status WHERE period = ?", params=[p]).pl()
                  for p in PERIODS}
    finally:
        con.close()
    return {
        "lists": {p: pl.concat(list(_town_files(out, p).values())) for p in PERIODS},
        "warnings": {p: pl.read_parquet(out / p / "warnings.parquet") for p in PERIODS},
        "status": {p: pl.read_parquet(out / p / "warning_status.parquet") for p in PERIODS},
        "dispatch": {f.name: pl.read_csv(f, infer_schema=False) for f in (out / "2026-09" / "county" / "派单").glob("*.csv")},
        "sent_back": pl.concat([pl.read_csv(f, infer_schema=False) for f in (out / "2026-09").rglob("*_反馈退回.csv")]
                               or [pl.DataFrame(schema={"原因": pl.String})], how="diagonal"),
        "answers": answers, "runs": runs, "stored": stored,
        "quality": {p: pl.read_csv(out / p / "county" / "数据质量报告.csv", infer_schema=False) for p in PERIODS},
    }


@pytest.fixture(scope="module")
def rerun_after_later_months(august_13, tmp_path_factory):
    """Three months; every township answers its August list 属实 in September's 反馈/; September
    is run with its own threshold. Then an analyst re-runs August twice the README's way (no
    --issue-date): unchanged, and with 新办 disability certificates no longer warned (D1 warnings
    already answered and dispatched to 残联 are withdrawn from the list, 换领 ones are raised)."""
    county, out = _copy(august_13, tmp_path_factory.mktemp("rerun"))  # August run
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True, exist_ok=True)
    for town, df in _town_files(out, "2026-08").items():
        df.with_columns(核实结果=pl.lit("属实"), 是否纳入监测=pl.lit("是"), 核实人=pl.lit("张网格"),
                        核实日期=pl.lit("2026-09-04")).write_csv(folder / f"{town}_2026-08_预警清单.csv")
    assert _run(county, out, "2026-09", "--set", "M1.threshold=2000") == 0
    assert _run(county, out, "2026-10") == 0
    first = _state(out)
    code, unchanged_said = _rerun(county, out, "2026-08")
    assert code == 0
    unchanged = _state(out)
    code, withdrawn_said = _rerun(county, out, "2026-08", "--set", NOT_NEW_CARDS)
    assert code == 0
    withdrawn = _state(out)
    code, again_said = _rerun(county, out, "2026-08", "--set", NOT_NEW_CARDS, "--no-cascade")  # (once more, alike)
    assert code == 0
    return {"first": first, "unchanged": unchanged, "unchanged_said": unchanged_said,
            "withdrawn": withdrawn, "withdrawn_said": withdrawn_said, "again_said": again_said}


def test_a_rerun_without_issue_date_keeps_the_periods_issue_date_and_its_answers(rerun_after_later_months):
    r = rerun_after_later_months
    assert r["first"]["answers"]["2026-09"] > 0
    dates = r["unchanged"]["lists"]["2026-08"]["下发日期"].unique().to_list()
    assert dates == [ISSUE["2026-08"]], dates
    assert f"下发日期 issued {ISSUE['2026-08']} (kept from the period’s earlier run" in r["unchanged_said"]
    assert r["unchanged"]["answers"] == r["first"]["answers"]  # none refused as dated before the issue date
    assert r["unchanged"]["dispatch"].keys() == r["first"]["dispatch"].keys()
    assert r["unchanged"]["sent_back"].height == r["first"]["sent_back"].height


def test_the_cascade_reruns_each_later_period_with_its_own_settings(rerun_after_later_months):
    from config import load_config

    r = rerun_after_later_months
    runs = r["unchanged"]["runs"]
    first_sha = {p: sha for p, sha in r["first"]["runs"]}
    again = runs[len(r["first"]["runs"]):]
    assert [p for p, _ in again] == list(PERIODS)
    assert {p: sha for p, sha in again[1:]} == {p: first_sha[p] for p in ("2026-09", "2026-10")}
    assert first_sha["2026-09"] != first_sha["2026-10"]
    assert "re-running 2026-09: a later period already run, its sums and history depend on 2026-08; with its own --set " in r["unchanged_said"]
    assert "--set M1.threshold=2000" in r["unchanged_said"]
    key = ["warning_id", "rule"]
    for p in ("2026-09", "2026-10"):
        a = r["first"]["warnings"][p].sort(key).select(key, "basis")
        assert a.equals(r["unchanged"]["warnings"][p].sort(key).select(key, "basis")), p
    assert load_config(None, ["M1.threshold=2000"]).fingerprint != load_config().fingerprint


def test_the_warehouse_status_of_every_period_is_the_published_one_after_reruns(rerun_after_later_months):
    """`warning_status` (a view over the log of what changed) reads, for every period, the rows
    its last run published, before and after August's re-runs and their cascade (which withdraw
    warnings and raise new ones)."""
    for state in ("first", "unchanged", "withdrawn"):
        for p in PERIODS:
            published = rerun_after_later_months[state]["status"][p]
            stored = rerun_after_later_months[state]["stored"][p].select(published.columns)
            assert stored.sort("warning_id").equals(published.sort("warning_id")), (state, p)


def test_a_warning_already_sent_that_a_rerun_no_longer_raises_is_withdrawn_and_its_answers_kept(rerun_after_later_months):
    r = rerun_after_later_months
    before, after = r["unchanged"], r["withdrawn"]
    d1 = set(before["warnings"]["2026-08"].filter(pl.col("rule") == "D1")["warning_id"])
    gone = d1 - set(after["warnings"]["2026-08"]["warning_id"])
    assert gone, "the new threshold must withdraw warnings already sent"
    gone &= set(before["lists"]["2026-08"]["预警编号"])  # (not the leads no township could be sent)
    back = after["lists"]["2026-08"].filter(pl.col("预警编号").is_in(list(gone)))
    assert set(back["预警编号"]) == gone
    assert set(back["状态"]) == {"撤回"} and back["备注"].str.contains("已撤回").all()
    assert (back["下发日期"] == ISSUE["2026-08"]).all()
    # the townships' answers to them are kept, none refused as never issued
    assert after["answers"] == before["answers"]
    assert not after["sent_back"]["原因"].str.contains("未下发过").any()
    status = after["status"]["2026-10"].filter(pl.col("warning_id").is_in(list(gone)))
    # within the SPEC's four states: what the visits found stands (属实), and `withdrawn` says so
    assert status.height == len(gone) and set(status["status"]) == {"verified_true"} and status["withdrawn"].all()
    assert set(status["result"]) == {"属实"}
    assert not after["status"]["2026-10"].filter(~pl.col("warning_id").is_in(list(gone)))["withdrawn"].any()
    assert after["lists"]["2026-10"].filter(pl.col("预警编号").is_in(list(gone)), pl.col("状态") != "撤回").is_empty()
    # 残联 was sent them in September's 派单, verified 属实 at the door: the re-run does not take them back
    sent = pl.concat(list(before["dispatch"].values()), how="diagonal").filter(pl.col("预警编号").is_in(list(gone)))
    assert sent.height and set(sent["派单动作"]) == {"派单"}
    now = pl.concat(list(after["dispatch"].values()), how="diagonal").filter(pl.col("预警编号").is_in(list(gone)))
    assert sorted(now["预警编号"]) == sorted(sent["预警编号"]) and set(now["派单动作"]) == {"派单"}
    assert f"撤回 withdrawn: {len(gone)} warnings of the lists sent before are no longer warned" in r["withdrawn_said"]
    assert "撤回 withdrawn:" not in r["again_said"]  # the same run again takes nothing more back
    # the county's report names them (the console only counts them); an unchanged re-run names none
    said = after["quality"]["2026-08"].filter(pl.col("类别").str.starts_with("重新运行变动"))["说明"]
    assert sorted(w for w in gone if said.str.contains(f"{w}（D1").any()) == sorted(gone), said.to_list()
    assert said.str.contains("清单中标为撤回").any()
    assert before["quality"]["2026-08"].filter(pl.col("类别").str.starts_with("重新运行变动")).is_empty()


def test_a_warning_a_rerun_first_raises_goes_out_dated_now_not_overdue_on_arrival(rerun_after_later_months):
    import datetime as dt

    r = rerun_after_later_months
    before, after = r["unchanged"], r["withdrawn"]
    new = set(after["warnings"]["2026-08"]["warning_id"]) - set(before["warnings"]["2026-08"]["warning_id"])
    assert new, "the new setting must raise warnings August did not send"
    sent_on = max(flows.county_today(), dt.date.fromisoformat(ISSUE["2026-10"])).isoformat()
    rows = after["lists"]["2026-08"].filter(pl.col("预警编号").is_in(list(new)))
    assert set(rows["下发日期"]) == {sent_on} and (rows["核实截止日期"] > sent_on).all()
    status = after["status"]["2026-10"].filter(pl.col("warning_id").is_in(list(new)))
    assert set(status["status"]) == {"open"} and (status["days_overdue"] == 0).all()
    kept = after["lists"]["2026-08"].filter(~pl.col("预警编号").is_in(list(new)), pl.col("状态") == "新下发")
    assert set(kept["下发日期"]) == {ISSUE["2026-08"]}
    said = after["quality"]["2026-08"].filter(pl.col("类别").str.starts_with("重新运行变动"), pl.col("说明").str.contains("新下发"))
    assert set(rows["预警编号"]) <= {w for w in new if said["说明"].str.contains(f"{w}（").any()}, said["说明"].to_list()
    assert said["说明"].str.contains(f"下发日期 {sent_on}").all()


def test_a_partial_run_keeps_the_warnings_a_warehouse_stored_before_signal_year(august_13, tmp_path):
    """A warehouse written before warnings stored `signal_year` (the year of an M1-M3 sum): a
    --dept run of a period keeps the other departments' warnings as stored (before: the run
    failed, the kept ones lacking the column)."""
    county, out = _copy(august_13, tmp_path)
    con = duckdb.connect(str(out / "warehouse.duckdb"))
    con.execute("ALTER TABLE warnings DROP COLUMN signal_year")
    con.close()
    before = pl.read_parquet(out / "2026-08" / "warnings.parquet")
    assert _run(county, out, "2026-08", "--dept", "民政") == 0
    after = pl.read_parquet(out / "2026-08" / "warnings.parquet")
    key = ["warning_id", "rule"]
    assert after.sort(key).select(key, "basis").equals(before.sort(key).select(key, "basis"))


def _copies(out: Path, period: str, dept: str) -> int:
    """A department's rows of files left out as copies, from the period's 行数核对 (which balances)."""
    acc = pl.read_csv(out / period / "county" / "行数核对_accounting.csv").filter(pl.col("dept") == dept)
    assert acc["balanced"].to_list() == [True]
    return acc["copies"].item()


def _data_rows(path: Path, dept: str) -> int:
    """The data rows of a department's file as a run reads them."""
    from adapters.inbox import known_headers, read_delivery
    from config import load_config

    cfg = load_config()
    return read_delivery(path, f"{dept}/{path.name}", dept, cfg, known_headers(cfg), [])[3]


def test_last_months_settlements_exported_again_are_named_and_not_read_as_this_months(august_13, tmp_path, capsys):
    """A clerk exports August's first batch of 结算明细 again (UTF-8 without its title line: not
    byte for byte the file August read, so not 往期文件) and puts it in under September. It was
    read as September's with nothing said: its rows counted in September's 行数核对, its bad rows
    set aside again, its records in doubt back in the review queue. Its dates are August's,
    August's run linked its record numbers and August's folder holds its rows as they are: it is
    named on the console and in 数据质量报告 (往期记录, the month and the counts) and not read;
    September's links and rows set aside hold none of its records, and its rows are in September's
    行数核对 as a copy's (`copies`): the department still balances."""
    county, out = _copy(august_13, tmp_path)
    batch = next((county / "inbox" / "2026-08" / "医保").glob("结算明细_*第一批.csv"))
    lines = batch.read_bytes().decode("gb18030").splitlines(keepends=True)
    again = county / "inbox" / "2026-09" / "医保" / "医保结算_8月.csv"
    again.write_bytes("".join(lines[1:]).encode("utf-8-sig"))
    assert _run(county, out, "2026-09") == 0
    said = [line for line in capsys.readouterr().out.splitlines() if "往期记录" in line]
    assert len(said) == 1 and "医保/医保结算_8月.csv" in said[0] and "2026-08 期已报送" in said[0] and "未读入" in said[0]
    quality = outputs.read_csv(out / "2026-09" / "county" / "数据质量报告.csv")
    assert quality.filter(pl.col("类别").str.starts_with("往期记录"))["文件"].to_list() == ["医保/医保结算_8月.csv"]
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    ids = con.sql("SELECT DISTINCT record_id FROM links WHERE period = '2026-08' AND dept = '医保'").pl()["record_id"]
    read = con.sql("SELECT record_id FROM links WHERE period = '2026-09' AND dept = '医保' AND record_id LIKE 'JS202608%' "
                   "UNION ALL SELECT record_id FROM rejected WHERE period = '2026-09' AND file = '医保/医保结算_8月.csv'").pl()
    con.close()
    assert ids.str.starts_with("JS202608").sum() > 100 and read.is_empty()
    assert _copies(out, "2026-09", "医保") == _data_rows(again, "医保") > 100


def test_last_months_settlements_put_in_again_do_not_undo_last_months_corrections(august_13, tmp_path, capsys):
    """August's 医保 sent 结算明细 in two batches and a 补报 correcting some of their rows; the
    August run used the corrections. In September a clerk puts August's first batch into the
    医保 folder again (byte for byte: the console says 往期文件). The run read it as a new
    delivery of those records, so the corrected rows' stale amounts (and links made against
    another month's 参保名单) became each record's latest delivery: the year's sums of M1-M3 from
    September on read them (seed-3 county, October: 2,505.61 for a roster person where September's
    correction said 6,264.03; another corrected record lost its link). SPEC §1: "the same file
    delivered twice must not count twice": the copy is not read, and named."""
    import shutil

    county, out = _copy(august_13, tmp_path)
    aug, sep = county / "inbox" / "2026-08" / "医保", county / "inbox" / "2026-09" / "医保"
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    corrected = con.sql("""SELECT s.file, s.record_id, k.out_of_pocket FROM superseded s
                           JOIN settlements k ON k.record_id = s.record_id AND k.period = s.period
                           WHERE s.period = '2026-08' AND s.kind = 'med_settlement' AND s.changed""").pl()
    con.close()
    assert corrected.height, "the sample's August holds corrected settlements"
    copied = corrected["file"].mode().first()  # the batch most of the corrections were of
    shutil.copy2(aug / Path(copied).name, sep / Path(copied).name)
    assert _run(county, out, "2026-09") == 0
    assert "往期文件" in capsys.readouterr().out
    assert _copies(out, "2026-09", "医保") == _data_rows(sep / Path(copied).name, "医保") > 0
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    latest = con.sql("""SELECT record_id, arg_max(out_of_pocket, period) AS out_of_pocket FROM settlements
                        WHERE period <= '2026-09' GROUP BY record_id""").pl()  # (what the year's sums read)
    con.close()
    mine = corrected.filter(pl.col("file") == copied).join(latest, on="record_id", suffix="_latest")
    assert mine.height
    assert mine.filter(pl.col("out_of_pocket") != pl.col("out_of_pocket_latest")).height == 0


def _a_household_to_move(run, tmp_path):
    """A private copy of a run of August (and maybe later months); August's lists; the township
    with the most rows (A) and another (B); a warning w1 of A's (not a water one) and its household h1."""
    county, out = _copy(run, tmp_path)
    aug = _town_files(out, "2026-08")
    town_a = max(aug, key=lambda t: aug[t].height)
    town_b = next(t for t in sorted(aug) if t != town_a)
    w1, h1 = (aug[town_a].filter(pl.col("户编号").is_not_null(), pl.col("风险类型") != "饮水出现安全问题")
              .select("预警编号", "户编号").row(0))
    return county, out, aug, town_a, town_b, w1, h1


def _answer_true(county, aug, town_a, w1):
    """A's grid worker answers w1 属实 (visited 09-04) on the August list A was sent, returned in
    September's 反馈/."""
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{town_a}_2026-08_预警清单.csv").write_bytes(
        aug[town_a].filter(pl.col("预警编号") == w1).with_columns(
            核实结果=pl.lit("属实"), 是否纳入监测=pl.lit("是"), 核实人=pl.lit("王网格"), 核实日期=pl.lit("2026-09-04"))
        .write_csv().encode("utf-8-sig"))


@pytest.fixture(scope="module")
def w1_answered_13(august_13, tmp_path_factory) -> tuple[Path, Path]:
    """August_13 run on: A answers w1 属实 in September's 反馈/ (`_answer_true`), September run.
    Read-only, like august_13."""
    county, out, aug, town_a, _, w1, _ = _a_household_to_move(august_13, tmp_path_factory.mktemp("w1_true"))
    _answer_true(county, aug, town_a, w1)
    assert _run(county, out, "2026-09") == 0
    return county, out


def test_a_rerun_after_a_roster_correction_moved_a_household_still_takes_the_old_townships_answer(august_13, tmp_path,
                                                                                                 capsys):
    """August ran (lists out 09-02). The county then corrects August's 户籍底册: household h1 lives
    in township B, not A, and re-runs August. Before, h1's warning w1 left A's list without a word
    and showed in B's dated 09-02 (deadline long past, though B first got it then); nothing in
    数据质量报告.csv said it moved; A's 属实 (its grid worker had visited h1 from the list A was
    sent) was refused in September, `与该预警所属乡镇不符`. As a move between periods: B's row says
    where it came from and since when, the report names the move, either township's answer is
    taken. Within a re-run, B gets it as any warning its list did not hold before: dated the day
    of the run with its own deadline, not overdue on arrival. A's re-published list keeps w1's
    row, 状态 迁出 naming B (A was sent it: the warehouse keeps knowing it, and A is told)."""
    county, out, aug, town_a, town_b, w1, h1 = _a_household_to_move(august_13, tmp_path)
    was = aug[town_a].filter(pl.col("预警编号") == w1).row(0, named=True)
    like = aug[town_b].filter(pl.col("户编号").is_not_null())["户编号"][0]
    for p in ("2026-08", "2026-09"):
        _move_households(county / "inbox" / p, [h1], like)
    capsys.readouterr()
    assert _run(county, out, "2026-08", "--no-cascade") == 0
    assert "  1 warnings the period's lists did not hold before go out now" in capsys.readouterr().out  # (B's)
    again = _town_files(out, "2026-08")
    there = again[town_b].filter(pl.col("预警编号") == w1).row(0, named=True)
    assert there["状态"] == f"新下发（由{town_a}{was['行政村']}{was['村民小组'] or ''}迁入，原下发日期{ISSUE['2026-08']}）"
    assert there["下发日期"] > ISSUE["2026-08"] and there["核实截止日期"] > there["下发日期"], "sent to B now, due later"
    left = again[town_a].filter(pl.col("预警编号") == w1)
    assert left.height == 1 and left["状态"].item().startswith("迁出（") and town_b in left["状态"].item()
    assert left["下发日期"].item() == ISSUE["2026-08"]  # (the row as A was sent it)
    assert left.select("户编号", "户主姓名", "涉及人员", "预警依据").row(0) == (None,) * 4  # (no longer A's household)
    assert not again[town_a].filter(pl.col("预警编号") != w1)["状态"].str.starts_with("迁出").any()
    summary = read_rows(out / "2026-08" / "townships" / town_a / f"{town_a}_2026-08_预警清单.xlsx")  # (its 汇总)
    assert summary[0] == ["风险类型", "户数"] and sum(int(n) for _, n in summary[1:]) == again[town_a].height - 1
    quality = pl.read_csv(out / "2026-08" / "county" / "数据质量报告.csv", infer_schema=False)
    line = quality.filter(pl.col("类别").str.starts_with("预警随户迁移"))["说明"].item()
    assert line.startswith(f"{town_a} → {town_b}：{w1}（"), line
    status = pl.read_parquet(out / "2026-08" / "warning_status.parquet").filter(pl.col("warning_id") == w1)
    assert status.select("township", "status").row(0) == (town_b, "open")

    _answer_true(county, aug, town_a, w1)
    assert _run(county, out, "2026-09") == 0
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id") == w1)
    assert status.select("township", "status").row(0) == (town_b, "verified_true")
    assert not list((out / "2026-09" / "townships").glob("*/*反馈退回.csv"))
    sep = _town_files(out, "2026-09")
    assert not any(df["预警编号"].is_in([w1]).any() for df in sep.values()), "answered: carried by no list"


def test_a_rerun_that_moved_a_household_cascades_into_the_next_period_and_an_answer_is_dispatched_there(
        august_september_13, tmp_path):
    """August and September ran (w1 of household h1 in A unanswered: September carries it in A's
    list). The county corrects August's and September's 户籍底册 (h1 lives in B) and re-runs
    August; the cascade re-runs September. September: B's list carries w1 with the deadline B was
    given by August's re-run (not overdue from A's old one), A's list keeps a 迁出 row without h1's
    details, and warning_status has w1 open under B (not overdue: in no 逾期未核实清单). October: A answers 属实 in
    the 迁出 row of its re-published September list (household details blank), late: taken, and
    the 派单 names B and h1."""
    county, out, aug, town_a, town_b, w1, h1 = _a_household_to_move(august_september_13, tmp_path)
    assert w1 in _town_files(out, "2026-09")[town_a]["预警编号"].to_list()  # (carried, unanswered)
    like = aug[town_b].filter(pl.col("户编号").is_not_null())["户编号"][0]
    for p in PERIODS:
        _move_households(county / "inbox" / p, [h1], like)
    assert _run(county, out, "2026-08") == 0  # (and September again)
    b_aug = _town_files(out, "2026-08")[town_b].filter(pl.col("预警编号") == w1).row(0, named=True)
    sep = _town_files(out, "2026-09")
    there = sep[town_b].filter(pl.col("预警编号") == w1)
    assert there.height == 1, sep[town_b]
    assert (there["下发日期"].item(), there["核实截止日期"].item()) == (b_aug["下发日期"], b_aug["核实截止日期"])
    left = sep[town_a].filter(pl.col("预警编号") == w1)  # (A's September list carried it: told where it went)
    assert left.height == 1 and left["状态"].item().startswith("迁出（") and town_b in left["状态"].item()
    assert left.select("户编号", "户主姓名", "涉及人员", "预警依据").row(0) == (None,) * 4
    assert h1 not in sep[town_a]["户编号"].drop_nulls().to_list()
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id") == w1)
    assert status.select("township", "household_id", "status").row(0) == (town_b, h1, "open")  # (B's deadline)
    overdue = pl.read_csv(out / "2026-09" / "county" / "逾期未核实清单.csv", infer_schema=False)
    assert w1 not in overdue["预警编号"].to_list()

    # A's clerk fills in the 迁出 row of the list A was sent last (户编号, 户主姓名 blank), the rest untouched
    folder = county / "inbox" / "2026-10" / "反馈"
    folder.mkdir(parents=True, exist_ok=True)
    mine = pl.col("预警编号") == w1
    (folder / f"{town_a}_2026-09_预警清单.csv").write_bytes(sep[town_a].with_columns(
        核实结果=pl.when(mine).then(pl.lit("属实")), 是否纳入监测=pl.when(mine).then(pl.lit("是")),
        核实人=pl.when(mine).then(pl.lit("王网格")), 核实日期=pl.when(mine).then(pl.lit("2026-09-04")),
    ).write_csv().encode("utf-8-sig"))
    assert _run(county, out, "2026-10") == 0
    status = pl.read_parquet(out / "2026-10" / "warning_status.parquet").filter(pl.col("warning_id") == w1)
    assert status.select("township", "status").row(0) == (town_b, "verified_true")
    assert not list((out / "2026-10" / "townships").glob("*/*反馈退回.csv"))
    sent = pl.concat([pl.read_csv(f, infer_schema=False) for f in (out / "2026-10" / "county" / "派单").glob("*.csv")])
    assert sent.filter(pl.col("预警编号") == w1).select("乡（镇）", "户编号").rows() == [(town_b, h1)]


def test_a_rerun_that_moved_a_household_does_not_send_a_warning_answered_since_to_verify_again(w1_answered_13, tmp_path):
    """August ran; A answered w1 属实 in September's 反馈/ and September ran (w1 verified, dispatched).
    Then the county corrects the 户籍底册 (h1 lives in B) and re-runs August: B's re-published
    August list should not ask B to visit h1 for w1 as a warning just sent: its 状态 says A answered
    属实 on 09-04 and that no visit is needed (the re-run of August reads its own period's answers,
    and those later periods took in for what it says)."""
    county, out, aug, town_a, town_b, w1, h1 = _a_household_to_move(w1_answered_13, tmp_path)  # (answered, Sept. run)
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id") == w1)
    assert status["status"].to_list() == ["verified_true"]
    like = aug[town_b].filter(pl.col("户编号").is_not_null())["户编号"][0]
    for p in PERIODS:
        _move_households(county / "inbox" / p, [h1], like)
    assert _run(county, out, "2026-08") == 0  # (and September again)
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id") == w1)
    assert status.select("township", "status").row(0) == (town_b, "verified_true")  # (A's answer stands)
    there = _town_files(out, "2026-08")[town_b].filter(pl.col("预警编号") == w1)
    assert there["状态"].to_list() == [f"新下发（由{town_a}{aug[town_a].filter(pl.col('预警编号') == w1)['行政村'][0]}"
                                     f"{aug[town_a].filter(pl.col('预警编号') == w1)['村民小组'][0] or ''}迁入，原下发日期"
                                     f"{ISSUE['2026-08']}；{town_a}已于2026-09-04反馈属实，无需再核实）"], there["状态"].to_list()
    sep = _town_files(out, "2026-09")
    assert not any(df["预警编号"].is_in([w1]).any() for df in sep.values()), "answered: carried by no list"


SPRING_2027 = ['run.holidays=["2027-02-05","2027-02-08","2027-02-09","2027-02-10","2027-02-11","2027-02-12"]',
               'run.workdays=["2027-02-07","2027-02-20"]']  # a plausible schedule, not the State Council's


def test_a_list_issued_before_the_2027_spring_festival_gets_the_entered_schedule_s_deadline(august_13, tmp_path, capsys):
    """chinesecalendar 1.11 knows no 2027: a list issued 2027-02-03 is due Mon-Fri-counted less
    the statutory days (Thu 4; 除夕 Fri 5 .. 初三 Mon 8 and the weekend's 补假 Tue 9, Wed 10 off;
    Thu 11, Fri 12: 2027-02-12, in the schedule's days off) and the console says the calendar is
    unknown; with the
    year's schedule entered by --set, on the schedule's third working day (Thu 4; Fri 5 off; Sun 7
    worked; Mon 8 - Fri 12 off; Mon 15), and nothing is said."""
    county, out = _copy(august_13, tmp_path)
    capsys.readouterr()
    assert _run(county, out, "2026-08", "--issue-date", "2027-02-03") == 0
    said = capsys.readouterr().out
    assert "核实截止 deadline 2027-02-12" in said and "2027年法定节假日安排未知" in said
    assert _run(county, out, "2026-08", "--issue-date", "2027-02-03", *[a for s in SPRING_2027 for a in ("--set", s)]) == 0
    said = capsys.readouterr().out
    assert "核实截止 deadline 2027-02-15" in said and "法定节假日安排未知" not in said
    assert {*pl.concat(_town_files(out, "2026-08").values())["核实截止日期"]} == {"2027-02-15"}


def test_a_schedule_entered_later_reaches_the_later_periods_a_cascade_runs_again(august_13, tmp_path, capsys):
    """September ran (issued 2027-02-03) before the 2027 schedule was known: due 2027-02-12.
    August is then re-run with the schedule: the cascade re-runs September with its own
    settings, but the calendar is a fact, not a setting: September's lists are now due
    2027-02-15 too, and the console says the schedule was added."""
    county, out = _copy(august_13, tmp_path)
    due = lambda: {*pl.concat(_town_files(out, "2026-09").values()).filter(  # noqa: E731
        pl.col("状态") == "新下发")["核实截止日期"]}  # (August's, carried over, are due in September)
    assert _run(county, out, "2026-09", "--issue-date", "2027-02-03") == 0
    assert due() == {"2027-02-12"}
    capsys.readouterr()
    assert _run(county, out, "2026-08", *[a for s in SPRING_2027 for a in ("--set", s)]) == 0
    assert "re-running 2026-09" in (err := capsys.readouterr().err) and "the holiday schedule of this run added" in err
    assert due() == {"2027-02-15"}


def _dispatched(out: Path, period: str) -> list[tuple[str, str]]:
    """(派单动作, 预警编号) of every department's 派单 file of `period`."""
    folder = out / period / "county" / "派单"
    return sorted((r["派单动作"], r["预警编号"]) for f in sorted(folder.glob("*.csv")) if folder.is_dir()
                  for r in pl.read_csv(f, infer_schema=False).iter_rows(named=True))


def test_a_cascade_withdraws_a_dispatch_once_in_the_period_that_took_it_back(w1_answered_13, tmp_path):
    """大店镇 answers w1 属实 in September's 反馈/: September's 派单 sends it, October's (run
    after) says nothing of it. The township then corrects its answer to 不属实 in the same
    folder and September is run again: its 派单 withdraws w1 (what September's run sent,
    `sent_before`). The cascade re-ran October, whose 派单 withdrew w1 again — October never
    sent it (its stored status held w1 属实 as September's answer left it), and each later
    period a cascade re-runs says 撤回 once more to the same department."""
    county, out = _copy(w1_answered_13, tmp_path)  # (w1 answered 属实 as `answer` does, September run)
    aug = _town_files(out, "2026-08")
    town = max(aug, key=lambda t: aug[t].height)
    row = aug[town].filter(pl.col("户编号").is_not_null(), pl.col("风险类型") != "饮水出现安全问题").head(1)
    w1 = row["预警编号"][0]
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True, exist_ok=True)

    def answer(result: str) -> None:
        (folder / f"{town}_2026-08_预警清单.csv").write_bytes(row.with_columns(
            核实结果=pl.lit(result), 是否纳入监测=pl.lit("是" if result == "属实" else "否"), 核实人=pl.lit("王网格"),
            核实日期=pl.lit("2026-09-04")).write_csv().encode("utf-8-sig"))

    was = (folder / f"{town}_2026-08_预警清单.csv").read_bytes()
    answer("属实")
    assert (folder / f"{town}_2026-08_预警清单.csv").read_bytes() == was, "the answer September's run took"
    assert ("派单", w1) in _dispatched(out, "2026-09")
    assert _run(county, out, "2026-10") == 0
    assert w1 not in [w for _, w in _dispatched(out, "2026-10")]
    answer("不属实")
    assert _run(county, out, "2026-09") == 0  # (October re-run by the cascade)
    assert ("撤回（复核改为不属实）", w1) in _dispatched(out, "2026-09")
    assert w1 not in [w for _, w in _dispatched(out, "2026-10")]


def test_an_answer_verifies_the_rules_its_row_showed_not_a_rule_a_rerun_put_under_the_same_id(august_13, tmp_path, capsys):
    """August's list had household x's 因病 row with M2 only; its township answered it 不属实 in
    September's 反馈/, and another's M1 row 属实. The analyst then re-ran August with other
    thresholds: the re-run dropped M2 and raised M1 for x under the same 预警编号 (M1 and M2 share
    the 因病 row). Before, every later run took the M2 answer as verifying the M1: x's M1 was
    never sent to anyone (verified_false, carried by no list, its repeats suppressed by it). The
    answer verifies the rules its row showed: x's row goes out again dated the day of the re-run,
    状态 saying why and what the earlier answer found; it stays open until answered (the cascade's
    September re-run takes x's answer, returned without 预警规则, as verifying the rules September's
    first run took it for), and October carries it. The M1 row answered 属实, whose rules the re-run left alone, stays verified."""
    county, out = _copy(august_13, tmp_path)
    aug = _town_files(out, "2026-08")
    rows = pl.concat(list(aug.values()))
    x = rows.filter(pl.col("预警规则") == "M2").row(0, named=True)
    kept = rows.filter(pl.col("预警规则") == "M1", pl.col("乡（镇）") != x["乡（镇）"]).row(0, named=True)
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True)
    for row, said, drop in ((x, "不属实", ["预警规则"]), (kept, "属实", [])):  # (x's without 预警规则: as taken first)
        town = row["乡（镇）"]
        aug[town].filter(pl.col("预警编号") == row["预警编号"]).with_columns(
            核实结果=pl.lit(said), 是否纳入监测=pl.lit("否"), 核实人=pl.lit("张网格"), 核实日期=pl.lit("2026-09-04"),
        ).drop(drop).write_csv(folder / f"{town}_2026-08_预警清单.csv")
    assert _run(county, out, "2026-09") == 0
    assert _rerun(county, out, "2026-08", "--set", "rules.M2.share_of_income=1", "--set", "rules.M1.threshold=100")[0] == 0
    capsys.readouterr()
    again = pl.concat(list(_town_files(out, "2026-08").values())).filter(pl.col("预警编号") == x["预警编号"]).row(0, named=True)
    assert again["预警规则"] == "M1", "the re-run must change x's rules under the same 预警编号"
    assert again["下发日期"] > ISSUE["2026-09"] and again["核实截止日期"] > again["下发日期"], "sent again now"
    assert again["状态"] == "新下发（重新下发：重新运行后预警规则为M1，此前反馈的核实结果“不属实”（2026-09-04）只核实了M2，请就M1核实）"
    assert _run(county, out, "2026-10") == 0
    status = pl.read_parquet(out / "2026-10" / "warning_status.parquet")
    got = status.filter(pl.col("warning_id") == x["预警编号"]).row(0, named=True)
    assert got["status"] in ("open", "overdue") and got["result"] is None, got
    listed = pl.concat(list(_town_files(out, "2026-10").values())).filter(pl.col("预警编号") == x["预警编号"])
    assert listed.height == 1 and "只核实了M2，请就M1核实" in listed["状态"].item(), listed["状态"].to_list()
    assert listed["预警规则"].item() == "M1" and listed["下发日期"].item() == again["下发日期"]
    same = status.filter(pl.col("warning_id") == kept["预警编号"]).row(0, named=True)
    assert (same["status"], same["result"]) == ("verified_true", "属实")
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        stored = dict(con.sql("SELECT warning_id, rules FROM feedback_answers").fetchall())
    finally:
        con.close()
    assert stored == {x["预警编号"]: "M2", kept["预警编号"]: "M1"}


def test_a_true_verdict_a_later_period_took_stays_dispatched_when_a_rerun_adds_a_rule(august_13, tmp_path):
    """x's August row showed M2; its township answered it 属实 in September's 反馈/, and
    September's 派单 sent it. The analyst then re-ran August with a lower M1 threshold: x shows
    M1、M2 now. August's re-run sends x's row again saying what the answer verified (a later
    period's answer: the lists go out now), and names it in its report; but August's status, as of
    August, holds no answer to x (open, not reopened), so August's 派单 neither sends nor withdraws
    it: the 派单 reads the answers its status reads. September, re-run by the cascade, finds x
    open for M1 (`reopened_for`), and its 派单 does not withdraw the 属实 it sent: what the visit
    found stands for M2. Before, September's rewritten 派单 dropped x's row (neither sent nor
    withdrawn): it keeps it, naming what the 属实 verified (M2, its 核实日期), on every re-run."""
    county, out = _copy(august_13, tmp_path)
    aug = _town_files(out, "2026-08")
    x = pl.concat(list(aug.values())).filter(pl.col("预警规则") == "M2").row(0, named=True)
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True)
    town = x["乡（镇）"]
    aug[town].filter(pl.col("预警编号") == x["预警编号"]).with_columns(
        核实结果=pl.lit("属实"), 是否纳入监测=pl.lit("是"), 核实人=pl.lit("张网格"), 核实日期=pl.lit("2026-09-04"),
    ).write_csv(folder / f"{town}_2026-08_预警清单.csv")
    assert _run(county, out, "2026-09") == 0
    assert ("派单", x["预警编号"]) in _dispatched(out, "2026-09")
    assert _rerun(county, out, "2026-08", "--set", "rules.M1.threshold=100")[0] == 0
    again = pl.concat(list(_town_files(out, "2026-08").values())).filter(pl.col("预警编号") == x["预警编号"]).row(0, named=True)
    assert again["预警规则"] == "M1、M2", "the re-run must add M1 to x's row under the same 预警编号"
    assert again["状态"] == "新下发（重新下发：重新运行后预警规则为M1、M2，此前反馈的核实结果“属实”（2026-09-04）只核实了M2，请就M1核实）"
    report = pl.read_csv(out / "2026-08" / "county" / "数据质量报告.csv")["说明"].to_list()
    assert any(x["预警编号"] in d and "此前反馈的核实结果未核实新的规则" in d for d in report), report
    status = pl.read_parquet(out / "2026-08" / "warning_status.parquet").filter(pl.col("warning_id") == x["预警编号"])
    assert status.select("status", "result", "reopened_for").row(0) == ("open", None, None)
    assert x["预警编号"] not in [w for _, w in _dispatched(out, "2026-08")]
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id") == x["预警编号"])
    assert status.select("status", "reopened_for").row(0) == ("open", "M1")
    assert ("撤回（复核改为不属实）", x["预警编号"]) not in _dispatched(out, "2026-09")
    assert ("派单", x["预警编号"]) in _dispatched(out, "2026-09"), "September's 派单 keeps the dispatch it made"
    sheets = (out / "2026-09" / "county" / "派单").glob("*.csv")
    row = pl.concat([pl.read_csv(f, infer_schema=False) for f in sheets]).filter(pl.col("预警编号") == x["预警编号"]).row(0, named=True)
    assert (row["核实日期"], row["预警规则"]) == ("2026-09-04", "M2"), "what the 属实 verified"
    assert _rerun(county, out, "2026-09")[0] == 0  # (its published 派单 holds the row; its status, x open)
    assert ("派单", x["预警编号"]) in _dispatched(out, "2026-09")


@pytest.fixture(scope="module")
def m1_added_then_answered_13(august_13, tmp_path_factory) -> dict:
    """August_13 re-run with a lower M1 threshold before any answer came back (household x's 因病
    row, M2 on the list sent, shows M1、M2 now); then x's township returns the old row (M2) 属实 in
    September's 反馈/ and September is run. Read-only: the tests that go on from it copy it."""
    import contextlib
    import io

    county, out = _copy(august_13, tmp_path_factory.mktemp("m1_added"))
    aug = _town_files(out, "2026-08")
    x = pl.concat(list(aug.values())).filter(pl.col("预警规则") == "M2").row(0, named=True)
    code, rerun_said = _rerun(county, out, "2026-08", "--set", "rules.M1.threshold=100")
    assert code == 0
    again = pl.concat(list(_town_files(out, "2026-08").values())).filter(pl.col("预警编号") == x["预警编号"])
    folder = county / "inbox" / "2026-09" / "反馈"
    folder.mkdir(parents=True)
    town = x["乡（镇）"]
    aug[town].filter(pl.col("预警编号") == x["预警编号"]).with_columns(  # (the old list's row: M2)
        核实结果=pl.lit("属实"), 是否纳入监测=pl.lit("是"), 核实人=pl.lit("张网格"), 核实日期=pl.lit("2026-09-04"),
    ).write_csv(folder / f"{town}_2026-08_预警清单.csv")
    sep_said = io.StringIO()
    with contextlib.redirect_stdout(sep_said):
        assert _run(county, out, "2026-09") == 0
    return {"county": county, "out": out, "aug": aug, "x": x, "again": again,
            "rerun_said": rerun_said, "sep_said": sep_said.getvalue()}


def test_a_rule_a_rerun_adds_before_the_answer_is_due_from_the_rerun(m1_added_then_answered_13):
    """August's list had household x's 因病 row with M2 only. Before any answer came back, the
    analyst re-ran August with a lower M1 threshold: x's row now shows M1、M2 under the same
    预警编号. Then x's township returned its August list (the old row, M2) 属实 in September's
    反馈/. Before, the re-run's row kept August's 下发日期 and 核实截止日期 (M1 sent due before it
    was sent), and September reopened x for M1 overdue since August's deadline. The re-run sends
    the row carrying M1 that day, due 3 working days later: September finds x open for M1 by that
    deadline, and carries the row so dated, saying why; 核实进度 counts x 待核实 and names it
    重新下发未核实, as the console does of the answer it took."""
    r = m1_added_then_answered_13
    out, x, said = r["out"], r["x"], r["rerun_said"]
    assert "warnings sent again: the re-run added a rule their row did not show" in said
    again = r["again"].row(0, named=True)
    assert again["预警规则"] == "M1、M2", "the re-run must add M1 to x's row under the same 预警编号"
    assert again["下发日期"] > x["下发日期"] and again["核实截止日期"] > again["下发日期"], "sent again the day of the re-run"
    assert again["状态"] == (f"新下发（重新下发：重新运行后预警规则增加M1，请一并核实；原下发日期{x['下发日期']}，"
                           f"原核实截止日期{x['核实截止日期']}）"), "the clerk is told why"
    town = x["乡（镇）"]  # (its old row, M2, returned 属实 in September's 反馈/; September run)
    assert "(1 of them answer warnings a re-run added a rule to since their row went out" in r["sep_said"]
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id") == x["预警编号"])
    assert status.select("status", "days_overdue", "reopened_for").row(0) == ("open", 0, "M1"), "due by the re-run's deadline"
    progress = pl.read_csv(out / "2026-09" / "county" / "核实进度_乡镇.csv").filter(pl.col("乡（镇）") == town).row(0, named=True)
    assert progress["重新下发未核实"] == 1 and progress["待核实"] >= 1
    listed = pl.concat(list(_town_files(out, "2026-09").values())).filter(pl.col("预警编号") == x["预警编号"])
    assert listed.select("下发日期", "核实截止日期").row(0) == (again["下发日期"], again["核实截止日期"])
    assert listed["状态"].item().startswith("待核实") and "只核实了M2，请就M1核实" in listed["状态"].item()


def _dispatch_rows(out: Path, period: str, wid: str) -> list[dict]:
    """`wid`'s rows in `period`'s 派单 files, as written."""
    sheets = [pl.read_csv(f, infer_schema=False) for f in sorted((out / period / "county" / "派单").glob("*.csv"))]
    return [r for df in sheets for r in df.filter(pl.col("预警编号") == wid).iter_rows(named=True)]


def test_a_true_verdict_that_comes_after_a_rerun_added_a_rule_is_dispatched(m1_added_then_answered_13, tmp_path):
    """The other order of `test_a_true_verdict_a_later_period_took_stays_dispatched_when_a_rerun_adds_a_rule`:
    the analyst re-ran August with a lower M1 threshold before anyone answered (x's row M1、M2),
    then x's township returned the old row (M2) 属实 in September's 反馈/. Before, September's 派单
    did not send it (x open for M1): the department heard of the 属实 only had it come before the
    re-run. September's 派单 sends it, naming what the 属实 verified (M2, its 核实日期), and keeps it
    when September is re-run; October's says nothing of it, and withdraws it when the township
    corrects the old row to 不属实 in October's 反馈/."""
    r = m1_added_then_answered_13  # (the re-run, then the old row answered 属实 and September run)
    county, out = _copy((r["county"], r["out"]), tmp_path)
    aug, x = r["aug"], r["x"]
    wid, town = x["预警编号"], x["乡（镇）"]
    assert r["again"]["预警规则"].item() == "M1、M2", "the re-run must add M1 to x's row under the same 预警编号"

    def answer(period: str, result: str) -> None:  # (the old list's row: M2)
        folder = county / "inbox" / period / "反馈"
        folder.mkdir(parents=True, exist_ok=True)
        aug[town].filter(pl.col("预警编号") == wid).with_columns(
            核实结果=pl.lit(result), 是否纳入监测=pl.lit("是"), 核实人=pl.lit("张网格"), 核实日期=pl.lit(f"{period}-04"),
        ).write_csv(folder / f"{town}_2026-08_预警清单.csv")

    was = (county / "inbox" / "2026-09" / "反馈" / f"{town}_2026-08_预警清单.csv").read_bytes()
    answer("2026-09", "属实")
    assert (county / "inbox" / "2026-09" / "反馈" / f"{town}_2026-08_预警清单.csv").read_bytes() == was, "as taken"
    status = pl.read_parquet(out / "2026-09" / "warning_status.parquet").filter(pl.col("warning_id") == wid)
    assert status.select("status", "reopened_for").row(0) == ("open", "M1")
    for rerun in (False, True):
        if rerun:
            assert _rerun(county, out, "2026-09")[0] == 0  # (its published 派单 holds the row)
        got = _dispatch_rows(out, "2026-09", wid)
        assert [(r["派单动作"], r["核实日期"], r["预警规则"]) for r in got] == [("派单", "2026-09-04", "M2")], got
        assert got[0]["预警依据"].startswith("M2：") and "M1：" not in got[0]["预警依据"], "what the 属实 verified"
    assert _run(county, out, "2026-10") == 0
    assert _dispatch_rows(out, "2026-10", wid) == [], "September's 派单 sent it"
    answer("2026-10", "不属实")
    assert _run(county, out, "2026-10") == 0
    assert [r["派单动作"] for r in _dispatch_rows(out, "2026-10", wid)] == ["撤回（复核改为不属实）"]
    assert [r["派单动作"] for r in _dispatch_rows(out, "2026-09", wid)] == ["派单"]

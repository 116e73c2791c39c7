"""End to end: the monthly flow on the sample county, checked against the generator's truth."""

from __future__ import annotations

import json
import os
import re
from pathlib import Path

import duckdb
import polars as pl
import pytest

import cli
import flows
from matchers.evaluate import evaluate_warnings, warning_totals
from pipelines.feedback import UNKNOWN_TOWNSHIP
from schemas.outputs import TOWNSHIP_COLUMNS
from tests.conftest import SHARED_EXAMPLES, killed_run_and_what_the_run_saw

PERIOD = "2026-10"
ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")
PHONE = re.compile(r"(?<!\d)1[3-9]\d{9}(?!\d)")


def _run(inbox: Path, out: Path, *extra: str) -> int:
    return cli.main(["run", "--inbox", str(inbox), "--period", PERIOD, "--out", str(out),
                       "--issue-date", "2026-11-02", *extra])


@pytest.fixture(scope="module")
def county_run(prefect_harness, sample_county, tmp_path_factory):
    pop = json.loads((sample_county / "truth" / "population.json").read_text())
    out = tmp_path_factory.mktemp("out")
    code = _run(sample_county / "inbox", out, "--set", f"matching.county_population={pop['county_population']}")
    assert code == 0
    return sample_county, out


def test_every_row_is_accounted_for(county_run):
    _, out = county_run
    acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv")
    assert acc["balanced"].all()
    assert set(acc["dept"]) == {"医保", "住建", "教育", "水利", "民政", "残联", "人社", "农业农村"}
    assert (acc["rows_read"] > 0).all()


def test_links_cover_every_record_with_the_contract_columns(county_run):
    county, out = county_run
    links = pl.read_parquet(out / PERIOD / "links.parquet")
    assert links.columns[:6] == ["dept", "record_id", "decision", "person_id", "household_id", "score"]
    assert set(links["decision"].unique()) <= {"matched", "review", "unmatched", "rejected"}
    truth = pl.read_csv(county / "truth" / "links.csv", infer_schema=False)
    expected = truth.filter(pl.col("expect") == "record").select("dept", "record_id").unique()
    missing = expected.join(links.select("dept", "record_id"), on=["dept", "record_id"], how="anti")
    assert missing.height == 0, missing.head()
    # The deliberately bad rows end as rejected, with a reason.
    bad = truth.filter(pl.col("expect") == "rejected")
    rejected = pl.read_csv(out / PERIOD / "county" / "搁置行及原因.csv", infer_schema=False)
    assert rejected.height >= bad.height
    assert rejected["原因"].is_not_null().all()


def test_link_accuracy_against_truth(county_run):
    county, out = county_run
    links = pl.read_parquet(out / PERIOD / "links.parquet").filter(pl.col("dept") != "水利")
    truth = (
        pl.read_csv(county / "truth" / "links.csv", infer_schema=False)
        .filter(pl.col("expect") == "record")
        .select("dept", "record_id", pl.col("person_id").alias("true_person"))
        .unique(["dept", "record_id"])
    )
    j = links.join(truth, on=["dept", "record_id"], how="inner")
    matched = j.filter(pl.col("decision") == "matched")
    correct = matched.filter(pl.col("person_id") == pl.col("true_person")).height
    precision = correct / max(matched.height, 1)
    linkable = j.filter(pl.col("true_person").is_not_null()).height
    recall = correct / max(linkable, 1)
    review_rate = j.filter(pl.col("decision") == "review").height / j.height
    print(f"precision={precision:.4f} recall={recall:.4f} review={review_rate:.4f}")
    assert precision >= 0.995
    assert recall >= 0.95
    assert review_rate <= 0.05


def test_evaluate_counts_the_records_no_matcher_can_tell_apart(county_run, capsys):
    """The evaluation CLI, given the inbox, also reports the linkable records another roster
    person fits as well as their own: the sample county's 民政 holds one (a masked 蒋* two
    roster persons fit), in review, and the recall of the others is the higher."""
    from matchers.evaluate import main as evaluate_main

    county, out = county_run
    evaluate_main(["--links", str(out / PERIOD / "links.parquet"), "--truth", str(county / "truth" / "links.csv"),
                   "--inbox", str(county / "inbox" / PERIOD)])
    lines = {ln.split()[0]: ln.split() for ln in capsys.readouterr().out.splitlines() if ln.strip()}
    head = lines["dept"]
    civil = dict(zip(head, lines["民政"]))
    assert int(civil["ambig"]) >= 1 and float(civil["recall*"]) > float(civil["recall"]), civil


def test_a_hand_labelled_sample_measures_what_the_truth_measures_on_it(county_run, tmp_path, capsys):
    """--draw writes a sample to label; filled in from the truth (无 off the roster, a few rows
    left blank) and saved by Excel as GB18030, --truth reads it back and scores exactly the
    labelled rows."""
    from adapters.inbox import read_table
    from matchers.evaluate import evaluate, main as evaluate_main, totals

    county, out = county_run
    links_path, sample = out / PERIOD / "links.parquet", tmp_path / "标注样本.csv"
    evaluate_main(["--links", str(links_path), "--inbox", str(county / "inbox" / PERIOD), "--draw", "25",
                   "--out", str(sample)])
    drawn = read_table(sample, sample.name).drop("line")  # as Excel shows it: ="…" is the text inside
    assert drawn.height == 7 * 25 and drawn["true_person_id"].is_null().all()
    truth = pl.read_csv(county / "truth" / "links.csv", infer_schema_length=0).filter(pl.col("expect") == "record")
    filled = drawn.drop("true_person_id").join(truth.select("dept", "record_id", "person_id").unique(["dept", "record_id"]),
                                               on=["dept", "record_id"], how="left").with_columns(
        true_person_id=pl.when(pl.int_range(pl.len()) % 20 == 7).then(None)  # not labelled
        .otherwise(pl.col("person_id").fill_null("无"))).drop("person_id")
    sample.write_bytes(filled.write_csv().encode("gb18030"))
    # the command it says to run next checks the labels against the roster (docs/OPERATIONS.md)
    assert f"--truth {sample} --inbox {county / 'inbox' / PERIOD}" in capsys.readouterr().out
    evaluate_main(["--links", str(links_path), "--truth", str(sample)])
    total = next(ln.split() for ln in capsys.readouterr().out.splitlines() if ln.startswith("TOTAL"))
    labelled = filled.filter(pl.col("true_person_id").is_not_null()).select(
        "dept", "record_id", person_id=pl.when(pl.col("true_person_id") != "无").then(pl.col("true_person_id")))
    want = totals(evaluate(pl.read_parquet(links_path), labelled))
    assert int(total[1]) == want["n"] == labelled.height < drawn.height
    assert int(total[2]) == want["linkable"] > 0 and int(total[3]) == want["matched"]


def test_warnings_match_the_truth(county_run):
    county, out = county_run
    got = pl.read_parquet(out / PERIOD / "warnings.parquet")
    assert {"warning_id", "household_id", "township", "risk_type", "rule", "severity", "dept", "record_ids"} <= set(got.columns)
    truth = pl.read_csv(county / "truth" / "warnings.csv", infer_schema=False).filter(pl.col("period") == PERIOD)
    # every default rule fires in the sample
    assert set(truth["rule"]) <= set(got["rule"]), set(truth["rule"]) - set(got["rule"])
    n = warning_totals(evaluate_warnings(got, truth))
    recall, precision = n["recall"], n["precision"]
    print(f"warning precision={precision:.3f} recall={recall:.3f} ({n['expected']} expected)")
    assert recall >= 0.9
    assert precision >= 0.9


def test_township_files_are_complete_and_private(county_run):
    county, out = county_run
    roster = pl.read_csv(next((county / "inbox" / PERIOD / "户籍底册").glob("*.csv")), infer_schema=False,
                         encoding="utf8-lossy")
    grid = pl.read_csv(next((county / "inbox" / PERIOD / "网格").glob("*.csv")), infer_schema=False,
                       encoding="utf8-lossy")
    grid_phones = set(grid["网格员电话"].drop_nulls()) | set(grid["网格长电话"].drop_nulls())
    resident_phones = set(roster["联系电话"].drop_nulls()) - grid_phones
    town_dirs = sorted((out / PERIOD / "townships").iterdir())
    assert town_dirs
    warnings = pl.read_parquet(out / PERIOD / "warnings.parquet")
    for d in town_dirs:
        town = d.name
        csv = d / f"{town}_{PERIOD}_预警清单.csv"
        assert csv.read_bytes()[:3] == b"\xef\xbb\xbf"  # BOM for Excel/WPS
        df = pl.read_csv(csv, infer_schema=False)
        # the workbook beside it: a summary, then a sheet per risk type holding that type's rows (SPEC §5)
        import openpyxl
        wb = openpyxl.load_workbook(d / f"{town}_{PERIOD}_预警清单.xlsx", read_only=True)
        sheets = {ws.title: list(ws.iter_rows(values_only=True)) for ws in wb.worksheets}
        wb.close()
        assert list(sheets)[0] == "汇总" and set(list(sheets)[1:]) == set(df["风险类型"])
        for risk in df["风险类型"].unique():
            assert [r[df.columns.index("预警编号")] for r in sheets[risk][1:]] == \
                df.filter(pl.col("风险类型") == risk)["预警编号"].to_list()
        listed = df.filter(~pl.col("状态").str.contains("^(撤回|迁出)"))  # (a row needing no visit is not counted)
        assert dict(sheets["汇总"][1:]) == dict(listed.group_by("风险类型").len().iter_rows())
        assert [c for c in df.columns if c in TOWNSHIP_COLUMNS] == TOWNSHIP_COLUMNS
        assert (df["乡（镇）"] == town).all()
        text = csv.read_text(encoding="utf-8-sig")
        assert not ID18.search(text), f"full ID number in {csv.name}"
        phones = set(PHONE.findall(text)) - grid_phones
        assert not phones & resident_phones, f"resident phone number in {csv.name}"
        # only this township's households
        hh = df.filter(pl.col("户编号").is_not_null())["户编号"].unique()
        towns_of = roster.filter(pl.col("户编号").is_in(hh.implode()))["乡（镇）"].unique().to_list()
        assert towns_of in ([town], [])
    placed = warnings.filter(pl.col("township").is_not_null())["warning_id"].n_unique()
    listed = sum(pl.read_csv(d / f"{d.name}_{PERIOD}_预警清单.csv", infer_schema=False).height for d in town_dirs)
    assert listed == placed


def test_county_files_exist(county_run):
    _, out = county_run
    county = out / PERIOD / "county"
    for name in ["县级汇总_乡镇x风险类型.csv", "人工复核队列.csv", "无法落位的新增线索.csv", "搁置行及原因.csv",
                 "数据质量报告.csv"]:
        assert (county / name).exists(), name
    quality = pl.read_csv(county / "数据质量报告.csv", infer_schema=False)
    assert quality["类别"].str.contains("网格超过户数上限").any()
    # the 参保名单's completeness, measured on the settlements (the sample's holds every insured person)
    completeness = quality.filter(pl.col("类别").str.contains("参保名单完整度"))["说明"].to_list()
    assert len(completeness) == 1 and "完整度 100%" in completeness[0], completeness
    # each extract whose full IDs fail the check, with the slip rate the matcher uses for it
    slips = quality.filter(pl.col("类别").str.contains("校验位不符"))
    assert {"医保", "民政"} <= set(slips["部门"]), slips
    assert slips["说明"].str.contains(r"of \d+ full IDs fail the check").all()


def test_the_county_workbook_holds_the_accounting_and_reads_back_as_answers_alone(county_run, tmp_path):
    """人工复核队列.xlsx, the county's workbook, had no per-department counts: its 行数核对汇总 sheet
    holds the accounting the report shows (行数核对_accounting.csv's numbers, each balanced, then
    合计). Returned answered into 复核/, the sheet is a summary noted, not a table set aside."""
    from adapters import inbox
    from config import load_config

    _, out = county_run
    book = out / PERIOD / "county" / "人工复核队列.xlsx"
    sheet = pl.read_excel(book, sheet_name="行数核对汇总", infer_schema_length=0)
    acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv")
    got = sheet.filter(pl.col("部门") != "合计").select(
        dept="部门", rows_read=pl.col("读取行数").cast(pl.Int64), superseded=pl.col("被更正覆盖").cast(pl.Int64),
        matched=pl.col("已匹配").cast(pl.Int64), review=pl.col("待人工复核").cast(pl.Int64),
        unmatched=pl.col("未匹配").cast(pl.Int64), rejected=pl.col("搁置").cast(pl.Int64))
    assert got.equals(acc.select(got.columns).sort("dept")), got
    assert sheet["行数核对"].head(acc.height).to_list() == ["✓ 平衡"] * acc.height
    assert sheet.row(-1)[:2] == ("合计", str(acc["rows_read"].sum()))
    answers = tmp_path / "2026-11" / "复核"
    answers.mkdir(parents=True)
    (answers / book.name).write_bytes(book.read_bytes())
    cfg, notes = load_config(), []
    files, _ = inbox.discover(answers.parent, cfg)
    latest, rejected, _, rows, _ = inbox.read_department(answers.parent, files, "复核", cfg, notes)
    queue = pl.read_excel(book, sheet_name="人工复核队列", infer_schema_length=0)
    assert rejected.is_empty() and rows == latest["review_answer"].height == queue.height
    assert [n.problem.split("（")[0] for n in notes] == ["汇总表，不是记录，未读取"]


def test_rerun_replaces_the_period_without_duplicates(county_run, tmp_path):
    import shutil

    county, out = county_run[0], tmp_path / "out"
    shutil.copytree(county_run[1], out)  # (the module's run stays as it was for the other tests)
    before = pl.read_parquet(out / PERIOD / "warnings.parquet").sort("warning_id", "rule")
    pop = json.loads((county / "truth" / "population.json").read_text())
    assert _run(county / "inbox", out, "--set", f"matching.county_population={pop['county_population']}") == 0
    after = pl.read_parquet(out / PERIOD / "warnings.parquet").sort("warning_id", "rule")
    assert before.equals(after)
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    n_links = con.sql("SELECT count(*) FROM links WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
    n_runs = con.sql("SELECT count(*) FROM runs WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
    con.close()
    assert n_links == pl.read_parquet(out / PERIOD / "links.parquet").height
    assert n_runs == 2
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "staging folders left behind"


def test_runs_on_the_shared_example_delivery(prefect_harness, tmp_path):
    if not (SHARED_EXAMPLES / PERIOD).is_dir():
        pytest.skip("shared/examples not beside the repo")
    assert _run(SHARED_EXAMPLES, tmp_path) == 0
    acc = pl.read_csv(tmp_path / PERIOD / "county" / "行数核对_accounting.csv")
    assert acc["balanced"].all()
    assert (tmp_path / PERIOD / "townships").is_dir()


def test_a_config_copy_without_a_default_rule_says_each_run_that_it_did_not_run(prefect_harness, sample_county, tmp_path,
                                                                                capsys):
    """The sample county run with a bureau's copy that leaves out [rules.R1]: R1 raises nothing,
    and the report and the console say that R1 is not in the config, so did not run."""
    from config import DEFAULT_CONFIG

    text = re.sub(r"\n\[rules\.R1\]\n(?:[^\[\n][^\n]*\n)*", "\n", DEFAULT_CONFIG.read_text(encoding="utf-8"))
    (tmp_path / "bureau.toml").write_text(text, encoding="utf-8")
    pop = json.loads((sample_county / "truth" / "population.json").read_text())["county_population"]
    capsys.readouterr()
    pl.Config.set_engine_affinity("auto")  # (the run sets the copy's run.polars_engine for its queries)
    assert _run(sample_county / "inbox", tmp_path / "out", "--config", str(tmp_path / "bureau.toml"),
                "--set", f"matching.county_population={pop}") == 0
    assert os.environ.get("POLARS_ENGINE_AFFINITY") == "in-memory"
    assert "R1" not in pl.read_parquet(tmp_path / "out" / PERIOD / "warnings.parquet")["rule"].to_list()
    report = pl.read_csv(tmp_path / "out" / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
    line = report.filter(pl.col("类别").str.starts_with("规则未配置"))["说明"].to_list()
    assert line == ["配置中没有默认规则 R1（16-60岁人员失业、返乡或连续未缴费），本期未运行（如需运行，从 config/default.toml "
                    "复制其 [rules.X] 表） — the config has no [rules.R1] of config/default.toml: not run"], line
    assert f"规则未配置 {line[0]}" in capsys.readouterr().out


def test_a_township_the_roster_names_with_a_slash_gets_one_folder_of_lists(prefect_harness, tmp_path):
    """The example delivery with its roster's 大店镇 written 埇桥区/大店镇: its lists went to
    townships/埇桥区/大店镇/埇桥区/, a folder per part of the name. One folder, the name as it reads."""
    if not (SHARED_EXAMPLES / PERIOD).is_dir():
        pytest.skip("shared/examples not beside the repo")
    import shutil

    inbox = tmp_path / "inbox"
    shutil.copytree(SHARED_EXAMPLES, inbox)
    roster = next((inbox / PERIOD / "户籍底册").glob("*.csv"))
    roster.write_bytes(roster.read_bytes().replace(",大店镇,".encode(), ",埇桥区/大店镇,".encode()))
    assert _run(inbox, tmp_path / "out") == 0
    towns = tmp_path / "out" / PERIOD / "townships"
    assert (towns / "埇桥区／大店镇" / f"埇桥区／大店镇_{PERIOD}_预警清单.csv").is_file()
    assert not (towns / "埇桥区").exists()


def test_a_first_run_with_returned_lists_in_its_inbox_sends_them_back(prefect_harness, tmp_path):
    """A fresh OUT (an analyst trying rules into `--out /tmp/try`, or a county's first month on the
    system) whose period holds a 反馈/ folder: no warning was issued before, so every answer is
    set aside and listed back, and the run does not fail (it stopped in take_feedback with AttributeError)."""
    from sample_data.generate import generate

    generate(tmp_path / "county", seed=3, periods=(PERIOD,), households=60)
    inbox = tmp_path / "county" / "inbox"
    (inbox / PERIOD / "反馈").mkdir()
    (inbox / PERIOD / "反馈" / "大店镇_2026-09_预警清单.csv").write_text(
        "预警编号,乡（镇）,户编号,核实结果,是否纳入监测,核实人,核实日期,备注\n"
        "YJ202609-0123456789,大店镇,H0000001,属实,是,张三,2026-10-08,\n", encoding="utf-8-sig")
    # a file whose township neither its name, its rows nor its 预警编号 tell: the county's to sort out
    (inbox / PERIOD / "反馈" / "反馈汇总.csv").write_text(
        "预警编号,户编号,核实结果,是否纳入监测,核实人,核实日期,备注\n"
        "YJ202609-9876543210,H0000002,属实,是,李四,2026-10-08,\n", encoding="utf-8-sig")
    out = tmp_path / "out"
    assert _run(inbox, out) == 0
    returned = list((out / PERIOD / "townships").glob("*/*_反馈退回.csv"))  # (told to the township its file names)
    assert [p.parent.name for p in returned] == ["大店镇"]
    assert "YJ202609-0123456789" in returned[0].read_text(encoding="utf-8-sig")
    # townships/ holds townships only (SPEC §5): a row no township can be told of is listed for the county
    assert not (out / PERIOD / "townships" / UNKNOWN_TOWNSHIP).exists()
    unknown = (out / PERIOD / "county" / f"反馈退回_未能确定乡镇_{PERIOD}.csv").read_text(encoding="utf-8-sig")
    assert "YJ202609-9876543210" in unknown and "YJ202609-0123456789" not in unknown


def test_cli_refuses_bad_input_clearly(tmp_path, capsys):
    assert cli.main(["run", "--inbox", str(tmp_path), "--period", "2026-13x", "--out", str(tmp_path)]) == 2
    assert "YYYY-MM" in capsys.readouterr().err
    assert cli.main(["run", "--inbox", str(tmp_path), "--period", PERIOD, "--out", str(tmp_path)]) == 2
    assert "no period folder" in capsys.readouterr().err
    (tmp_path / PERIOD).mkdir()
    assert cli.main(["run", "--inbox", str(tmp_path), "--period", PERIOD, "--out", str(tmp_path),
                       "--set", "M1.nonsense=1"]) == 2
    assert "unknown key" in capsys.readouterr().err


@pytest.mark.parametrize("coverage", [0.0, 0.95])
def test_the_completeness_line_is_written_when_the_list_cannot_be_measured(tmp_path, coverage):
    """No settlement shows a full ID: the list's completeness cannot be measured (taken as
    complete), also when the census is switched off (`census_coverage = 0`)."""
    import dataclasses

    from config import load_config

    cfg = load_config(None, [])
    cfg = dataclasses.replace(cfg, matching=dataclasses.replace(cfg.matching, census_coverage=coverage))
    paths = flows.RunPaths(period_dir=tmp_path / "in", out=tmp_path / "out", stage=tmp_path / "stage",
                           warehouse=tmp_path / "wh.duckdb")
    paths.work.mkdir(parents=True)
    records = pl.DataFrame({"kind": ["med_settlement"], "id_raw": ["341302********1234"]})
    census = pl.DataFrame({"kind": ["med_enrollment"], "dept": ["医保"], "id_raw": ["341302********1234"]})
    roster = pl.DataFrame({"id_number": ["341302199001011234"]})
    matching = flows.measure_census(paths, cfg, records, census, roster, borrowed=False)
    assert matching.census_completeness == 1.0
    [line] = pl.read_parquet(paths.work / "findings_census.parquet")["detail"].to_list()
    assert "taken as complete" in line and "not weighed" not in line


def test_a_census_stored_by_an_older_version_still_serves_a_partial_run(tmp_path):
    """A period's 参保名单 stored before PersonRecord gained its place hints (facility, school):
    a partial re-run reads it with those columns null instead of failing."""
    from adapters import warehouse
    from pipelines.validate import to_person_records

    paths = flows.RunPaths(period_dir=tmp_path / "2026-10", out=tmp_path / "out", stage=tmp_path / "stage",
                           warehouse=tmp_path / "wh.duckdb")
    old = pl.DataFrame({"dept": ["医保"], "kind": ["med_enrollment"], "record_id": ["CB1"], "name": ["张三"],
                        "id_raw": ["341302********1234"], "township": [None], "village": [None]},
                       schema_overrides={"township": pl.Utf8, "village": pl.Utf8})
    con = warehouse.connect(paths.warehouse)
    try:
        warehouse.replace_period(con, "2026-10", {"census_records": old})
    finally:
        con.close()
    got = flows.stored_census(paths, to_person_records({}).clear())
    assert got["record_id"].to_list() == ["CB1"] and got["facility"].to_list() == [None]
    assert got.columns == to_person_records({}).columns


def test_the_period_stores_the_earlier_settlements_linked_again_into_review_only(tmp_path):
    """Of the earlier settlements a run linked again (`links_relinked.parquet`), those it sent to
    review are stored with the period (`relinked_review`, which dates the review queue), with a
    partial run's kept ones; those linked otherwise are not (a city's year links millions again).
    A re-run that sends none there leaves the period none."""
    from adapters import warehouse

    def store(paths, period):  # (as `flows.publish` stores it)
        con = warehouse.connect(paths.warehouse)
        try:
            warehouse.replace_period(con, period, flows.period_frames(paths))
        finally:
            con.close()

    paths = flows.RunPaths(period_dir=tmp_path / "in", out=tmp_path / "out", stage=tmp_path / "stage",
                           warehouse=tmp_path / "wh.duckdb")
    paths.work.mkdir(parents=True)
    one = {"dept": ["医保"], "kind": ["med_settlement"], "record_id": ["x"], "decision": ["matched"]}
    for name in ("files", "links", "warnings", "rejected", "superseded", "accounting"):
        pl.DataFrame(one).write_parquet(paths.work / f"{name}.parquet")
    linked = pl.DataFrame({"dept": ["医保"] * 2, "kind": ["med_settlement"] * 2, "record_id": ["JS1", "JS2"],
                           "decision": ["review", "matched"], "person_id": [None, "H1-01"]})
    linked.write_parquet(paths.work / "links_relinked.parquet")
    linked.with_columns(record_id=pl.lit("JS3"), decision=pl.lit("review")).head(1).write_parquet(
        paths.work / "kept_relinked_review.parquet")

    def stored():
        con = duckdb.connect(str(paths.warehouse), read_only=True)
        try:
            return sorted(r[0] for r in con.sql("SELECT record_id FROM relinked_review WHERE period = '2026-10'").fetchall())
        finally:
            con.close()
    store(paths, "2026-10")
    assert stored() == ["JS1", "JS3"]
    for f in ("links_relinked", "kept_relinked_review"):
        (paths.work / f"{f}.parquet").unlink()
    store(paths, "2026-10")
    assert stored() == []


@pytest.mark.parametrize("fails", ["write_xlsx_many", "swap_in", "commit"])
def test_a_run_failing_while_publishing_leaves_the_warehouse_as_the_published_period(county_run, fails, tmp_path,
                                                                                      monkeypatch, capsys):
    """An analyst re-runs October with a lower M1 threshold; its files cannot be written (the
    disk is full) or put in place (a township's list open in Excel on the share). The run fails
    (exit 1) and OUT still shows the lists sent before — the warehouse must too (docs/WAREHOUSE.md:
    "a failed run leaves the previous state"). It kept the failed run's rows instead (stored
    before the files were written): the next run took the warnings those rows hold for sent on
    the failed run's day (not `sent now`: dated then, their deadline counted from a day no
    township had them), and a next month run in between would have carried them as overdue to
    townships that never got them. (`commit`: the new folder is in place when the warehouse
    fails to commit the period: the published one is put back.)"""
    import shutil

    from adapters import outputs, warehouse

    county, out = county_run[0], tmp_path / "out"
    shutil.copytree(county_run[1], out)
    pop = json.loads((county / "truth" / "population.json").read_text())["county_population"]
    published = pl.read_parquet(out / PERIOD / "warnings.parquet")

    def refused(*_a, **_k):
        raise OSError(28, "No space left on device") if fails == "write_xlsx_many" else \
            PermissionError(13, "Permission denied", str(out / PERIOD / "townships"))

    if fails == "commit":  # (publish's COMMIT, the first after the run marks its period stored)
        stored, mark_stored, run_sql = [], warehouse.mark_stored, warehouse._run

        def commit_fails(con, sql, *a):
            if sql == "COMMIT" and stored:
                raise duckdb.IOException("IO Error: Could not write to file")
            return run_sql(con, sql, *a)
        monkeypatch.setattr(warehouse, "mark_stored", lambda con, run: (mark_stored(con, run), stored.append(run)))
        monkeypatch.setattr(warehouse, "_run", commit_fails)
    else:
        monkeypatch.setattr(outputs, fails, refused)
    assert _run(county / "inbox", out, "--set", f"matching.county_population={pop}", "--set", "M1.threshold=2000") == 1
    err = capsys.readouterr().err
    assert {"write_xlsx_many": "OSError", "swap_in": "PermissionError", "commit": "IOException"}[fails] in err
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "its staging or swapped folders left behind"
    assert re.search(r"\(details: prefect flow-run logs [0-9a-f-]{36}\)", err), err  # where its traceback is
    assert pl.read_parquet(out / PERIOD / "warnings.parquet").equals(published)  # OUT as it was
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        stored = con.sql("SELECT count(*) FROM warnings WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
        rows = con.sql("SELECT count(*) FROM township_rows WHERE period = ? AND township IS NOT NULL",
                       params=[PERIOD]).fetchall()[0][0]
    finally:
        con.close()
    listed = sum(pl.read_csv(f, infer_schema=False).height
                 for f in (out / PERIOD / "townships").glob("*/*_预警清单.csv"))
    assert (stored, rows) == (published.height, listed)
    monkeypatch.undo()  # the disk freed: the run goes through, its new warnings sent now
    assert _run(county / "inbox", out, "--set", f"matching.county_population={pop}", "--set", "M1.threshold=2000") == 0
    assert "go out now" in capsys.readouterr().out
    assert pl.read_parquet(out / PERIOD / "warnings.parquet").height > published.height
    assert not [p for p in out.iterdir() if p.name.startswith(".")], "staging or replaced folders left behind"


def test_an_interrupted_run_names_the_period_it_left_to_run_again(tmp_path, capsys):
    """September re-run, its cascade killed while re-running October: the next run said only
    `recovered after an interrupted run: removed unfinished .2026-10.staging-…`, and an analyst
    who went on to November built it on an October that still reflected September as it was
    before. The recovery names each period whose run did not finish, to run it again."""
    from adapters import warehouse

    wh, out = tmp_path / "warehouse.duckdb", tmp_path / "out"
    out.mkdir()
    con = warehouse.connect(wh)
    try:
        warehouse.finish_run(con, warehouse.begin_run(con, "2026-09", "x"), "ok", "")
        warehouse.begin_run(con, "2026-10", "x")  # killed: still 'running'
    finally:
        con.close()
    lines = flows.recover_interrupted(out, wh)
    said = capsys.readouterr().err
    assert any("2026-10" in line and "run it again" in line for line in lines), lines
    assert "2026-10" in said and "2026-09" not in said
    assert flows.recover_interrupted(out, wh) == []  # (said once: the run is marked interrupted)


def test_a_file_the_system_refused_is_named_with_its_reason():
    """`error: PermissionError` said nothing of which file (a township's list left open in Excel
    on the share): a refused file is named with the system's reason; other failures still say
    only their type, since their messages may quote data values."""
    said = flows.safe_error(PermissionError(13, "Permission denied", "out/2026-10/townships/大营镇_预警清单.xlsx"))
    assert said.startswith("PermissionError: Permission denied out/2026-10/townships/大营镇_预警清单.xlsx (details:")
    assert flows.safe_error(ValueError("341302199001011234 张三")) == "ValueError (details: the flow run log)"
    assert flows.safe_error(OSError("disk quota 341302199001011234")) == "OSError (details: the flow run log)"


def test_a_scheduled_run_a_worker_starts_makes_the_files_beside_the_warehouse_owner_only(prefect_harness, tmp_path,
                                                                                          monkeypatch):
    """`flows.py deploy` puts the schedule on a work pool: `prefect worker start` (umask 022 as a
    service) runs `scheduled_run` in a process of its own, not through `cli.main`, which alone
    set umask 077: the WAL DuckDB makes beside the warehouse while a run holds it (left behind by
    a kill: personal data) was 0644, and so was the lock."""
    import os
    import stat

    from adapters import warehouse

    (tmp_path / "inbox" / PERIOD).mkdir(parents=True)
    out = tmp_path / "out"
    modes = {}

    def monthly_run(*args, **kwargs):  # (the run's writing, as far as the files beside the warehouse go)
        con = warehouse.connect(out / "warehouse.duckdb")
        try:
            warehouse.begin_run(con, PERIOD, "x")
            modes.update({p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in out.iterdir() if p.is_file()})
        finally:
            con.close()
        return {}

    monkeypatch.setattr(flows, "monthly_run", monthly_run)
    monkeypatch.setattr(flows, "rerun_later_periods", lambda *args: [])
    before = os.umask(0o022)
    try:
        flows.scheduled_run(str(tmp_path / "inbox"), str(out), period=PERIOD)
        assert os.umask(0o022) == 0o022  # (the run's own umask ends with it)
    finally:
        os.umask(before)
    assert {"warehouse.duckdb.wal", "warehouse.duckdb.lock"} <= set(modes), modes
    assert set(modes.values()) == {"0o600"}, modes


def test_a_stopped_cascade_is_said_in_full_where_a_county_or_the_schedule_reports_it():
    """`province_run` says a failed county with `safe_error`, and a later period whose re-run
    failed fails its county with `CascadeStopped` (a `RunError`: our own line, naming the period
    left as it was and what to run). `safe_error` compared the type's exact name, so the province
    console said only `error: 县: CascadeStopped (details: the flow run log)`, not that the
    period itself was done nor what to run."""
    line = "2026-11 was not re-run after 2026-10 (2026-10 is done): no usable roster; 2026-11 still reflects ..."
    assert flows.safe_error(flows.CascadeStopped(line)) == line


def _three_periods_run(tmp_path, monkeypatch, fails=None) -> tuple[Path, Path, list[str]]:
    """A warehouse recording full runs of October, November and December (their inbox folders in
    place); the cascade's runs replaced by one recording the periods it runs (`fails`: period ->
    what its run raises). -> (inbox, warehouse, the periods run)."""
    from adapters import warehouse

    inbox, wh = tmp_path / "inbox", tmp_path / "warehouse.duckdb"
    con = warehouse.connect(wh)
    try:
        for p in (PERIOD, "2026-11", "2026-12"):
            (inbox / p).mkdir(parents=True)
            warehouse.finish_run(con, warehouse.begin_run(con, p, "x", overrides=[]), "ok")
    finally:
        con.close()
    ran = []

    def monthly_run(inbox_dir, p, *_a, **_k):
        ran.append(p)
        if p in (fails or {}):
            raise fails[p]
    monkeypatch.setattr(flows, "monthly_run", monthly_run)
    monkeypatch.setattr(flows, "flow_result", lambda state: {})
    monkeypatch.setattr(flows.console, "summary_lines", lambda result: [])
    return inbox, wh, ran


def test_a_later_period_whose_inbox_folder_is_gone_stops_the_cascade_there(tmp_path, monkeypatch):
    """October re-run after November and December; November's inbox folder is gone (archived). It
    was skipped with a note and December re-run on a November that still reflects the October
    before. Each period depends on the ones before it: the cascade stops at November, as for a run
    that fails, naming it, why, what still reflects October as it was, and what to run."""
    import shutil

    inbox, wh, ran = _three_periods_run(tmp_path, monkeypatch)
    shutil.rmtree(inbox / "2026-11")
    with pytest.raises(flows.CascadeStopped) as stopped:
        flows.rerun_later_periods(str(inbox), str(tmp_path / "out"), wh, None, [], PERIOD, None)
    assert ran == []
    assert str(stopped.value) == (
        f"2026-11 was not re-run after {PERIOD} ({PERIOD} is done): its inbox folder {inbox / '2026-11'} is gone; "
        f"2026-11, 2026-12 still reflect {PERIOD} as it was before this run: run 2026-11 again once its folder is "
        f"back (the later periods follow it)")


def test_a_later_period_stored_and_published_whose_step_after_failed_stops_the_cascade_after_it(tmp_path,
                                                                                                monkeypatch):
    """November's re-run stored and published it, then its Prefect artifacts failed (`PartlyDone`:
    its line says so and what still reflects November as it was). The line said November 'was not
    re-run' and still reflected October as before, with November's own line inside: the cascade
    stops after November with November's line, October said done."""
    said = ("2026-11 is stored and published in out/2026-11, but announce, the step after, failed: "
            "ConnectionError (details: the flow run log); 2026-12 still reflects 2026-11 as it was before this run: "
            "run 2026-12 again")
    inbox, wh, ran = _three_periods_run(tmp_path, monkeypatch, {"2026-11": flows.PartlyDone(said)})
    with pytest.raises(flows.CascadeStopped) as stopped:
        flows.rerun_later_periods(str(inbox), str(tmp_path / "out"), wh, None, [], PERIOD, None)
    assert ran == ["2026-11"]
    assert str(stopped.value) == f"{PERIOD} is done; {said}"


def test_a_cascade_that_cannot_list_the_later_periods_says_the_period_is_done(tmp_path, monkeypatch):
    """The warehouse fails (an I/O error) while the cascade reads which later periods to re-run.
    Only the command said that the period is done (exit 4); a scheduled run and a province county
    got the bare error, the county counted failed. The cascade says it itself, as a stop."""
    import duckdb

    inbox, wh, ran = _three_periods_run(tmp_path, monkeypatch)

    def fails(*a):
        raise duckdb.IOException("IO Error: Could not read from file")
    monkeypatch.setattr(flows.warehouse, "later_periods", fails)
    with pytest.raises(flows.CascadeStopped) as stopped:
        flows.rerun_later_periods(str(inbox), str(tmp_path / "out"), wh, None, [], PERIOD, None)
    assert ran == []
    said = str(stopped.value)
    assert said.startswith(f"{PERIOD} is done, but re-running the later periods already run failed: ") and (
        "IOException" in said and "Could not read" not in said), said
    assert said.endswith(f"they still reflect {PERIOD} as it was before this run: run them again, in order")


def _published_then_killed(tmp_path, before: str | None, commit: bool, later: str | None = None,
                           cascade: bool = False):
    """October published (`before`: the text its folder holds; None: never published) and stored,
    then a re-run (a later period run after October, `later`; `cascade`: the re-run marked as one
    re-running it after, `flows.cascading`) that stores its October and swaps its folder in as
    `publish` does, and is killed: before its COMMIT, or (`commit`) after it, before it drops the
    folder it replaced and records its end. -> (out, warehouse, re-run id)."""
    from adapters import outputs, warehouse

    wh, out = tmp_path / "warehouse.duckdb", tmp_path / "out"
    con = warehouse.connect(wh)
    if before is not None:
        (out / PERIOD).mkdir(parents=True)
        (out / PERIOD / "which.txt").write_text(before)
        run = warehouse.begin_run(con, PERIOD, "x")
        with warehouse.replacing_period(con, PERIOD, {"warnings": pl.DataFrame({"warning_id": ["published"]})}):
            warehouse.mark_stored(con, run)
        warehouse.finish_run(con, run, "ok")
    if later is not None:
        warehouse.finish_run(con, warehouse.begin_run(con, later, "x"), "ok")
    if cascade:
        warehouse.mark_cascade(con, PERIOD)
    rerun = warehouse.begin_run(con, PERIOD, "x")
    stage = outputs.new_staging_dir(out / PERIOD)
    (stage / "which.txt").write_text("re-run")
    storing = warehouse.replacing_period(con, PERIOD, {"warnings": pl.DataFrame({"warning_id": ["re-run"]})})
    storing.__enter__()
    warehouse.mark_stored(con, rerun)
    outputs.swap_in(stage, out / PERIOD, rerun)
    if commit:
        storing.__exit__(None, None, None)
    con.close()  # killed: an open transaction never commits
    return out, wh, rerun


def _stored(wh) -> tuple[list, list]:
    """The warnings the warehouse holds, and its runs' status, in order."""
    from adapters import warehouse

    con = duckdb.connect(str(wh), read_only=True)
    try:
        warnings = warehouse.table(con, "warnings")
        return ([] if warnings is None else warnings["warning_id"].to_list(),
                [s for (s,) in con.sql("SELECT status FROM runs ORDER BY started_at").fetchall()])
    finally:
        con.close()


@pytest.mark.parametrize("before", ["published", None])
def test_a_run_killed_after_swapping_in_its_folder_before_its_commit_leaves_the_published_folder(
        tmp_path, capsys, before):
    """October re-run with a lower M1 threshold; publish swaps the new folder in (the previous
    one moved aside) and the process is killed while DuckDB commits the period (a city's period:
    seconds). The warehouse holds October as published before; the next run's recovery removed
    the folder moved aside as 'replaced' and kept the new lists: OUT showed warnings the
    warehouse never stored (the next run dates them as never sent, the townships may already
    hold them), while the console said October is as its last complete run left it. The same
    for October's first run (`before` None): its folder stayed over a warehouse without October."""
    out, wh, _ = _published_then_killed(tmp_path, before, commit=False)
    lines = flows.recover_interrupted(out, wh)
    if before is None:
        assert not (out / PERIOD).exists()
    else:
        assert (out / PERIOD / "which.txt").read_text() == "published"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert _stored(wh) == ((["published"], ["ok", "interrupted"]) if before else ([], ["interrupted"]))
    assert any(f"{PERIOD}: its run was killed before it stored" in line for line in lines), lines
    assert any(f"{PERIOD}: its run did not finish" in line and "run it again" in line for line in lines), lines
    assert "killed before it stored" in capsys.readouterr().err


@pytest.mark.parametrize("cascade", [True, False], ids=["cascade", "no_cascade"])
def test_a_run_killed_after_its_commit_is_complete_and_names_the_later_periods_to_run_again(tmp_path, cascade):
    """The same re-run killed a moment later: after its COMMIT, before it dropped the folder it
    replaced and recorded its end. Its October is wholly stored and published: the recovery
    keeps the new folder and records the run ok instead of telling the analyst to run October
    again; November, run before, was not re-run after it (the cascade never started): that one
    is named, when the run was to re-run it (not with --no-cascade, which said so itself)."""
    out, wh, rerun = _published_then_killed(tmp_path, "published", commit=True, later="2026-11", cascade=cascade)
    lines = flows.recover_interrupted(out, wh)
    assert (out / PERIOD / "which.txt").read_text() == "re-run"
    assert not [p for p in out.iterdir() if p.name.startswith(".")]
    assert _stored(wh) == (["re-run"], ["ok", "ok", "ok"])
    assert lines == [f"removed replaced .{PERIOD}.old-{rerun}",
                     f"{PERIOD}: its run was killed after it stored and published {PERIOD}: {PERIOD} is complete"] + (
        [f"{PERIOD}: its run was killed before it re-ran the later periods already run: 2026-11 still reflects "
         f"{PERIOD} as it was before: run 2026-11 again"] if cascade else [])
    assert flows.recover_interrupted(out, wh) == []


def test_what_a_periods_published_dispatch_sent_is_read_from_its_files_old_and_new(tmp_path):
    """A re-run withdraws only the 属实 its period's published 派单 sent (not one an earlier period
    sent): read from the files, a 撤回 row sending nothing, and a file written before 派单动作 was
    (every row a send) read too, not failing the re-run of such a period."""
    folder = tmp_path / PERIOD / "county" / "派单"
    folder.mkdir(parents=True)
    (folder / f"派单_医保_{PERIOD}.csv").write_text("派单动作,预警编号\n派单,w1\n撤回（复核改为不属实）,w2\n", encoding="utf-8-sig")
    (folder / f"派单_住建局_{PERIOD}.csv").write_text("预警编号,风险类型\nw3,住房\n", encoding="utf-8-sig")
    (folder / "派单_医保_2026-09.csv").write_text("派单动作,预警编号\n派单,w4\n", encoding="utf-8-sig")
    assert sorted(flows._dispatched_before(tmp_path / PERIOD, PERIOD).to_list()) == ["w1", "w3"]
    assert flows._dispatched_before(tmp_path / "2026-11", "2026-11").is_empty()


def test_a_cascade_that_stops_says_so_even_when_its_mark_cannot_be_cleared(tmp_path, monkeypatch):
    """The warehouse fails while the cascade runs (its stop: `CascadeStopped`, the period done) and
    still when the mark is cleared after it: the stop was replaced by the bare I/O error (a
    province county counted failed, the command's exit 4 turned into 1 after it had said the
    period is done). The mark is left instead, for the next run's recovery to name what is left."""
    wh = tmp_path / "warehouse.duckdb"

    def fails(*a):
        raise duckdb.IOException("IO Error: Could not write to file")
    monkeypatch.setattr(flows.warehouse, "clear_cascade", fails)
    with pytest.raises(flows.CascadeStopped):
        with flows.cascading(wh, PERIOD):
            raise flows.CascadeStopped(f"{PERIOD} is done, but ...")
    with flows.cascading(wh, PERIOD):  # (the command: the stop said and its exit code returned inside)
        pass
    con = flows.warehouse.connect(wh)
    try:
        assert con.execute("SELECT period FROM cascades_pending").fetchall() == [(PERIOD,), (PERIOD,)]
    finally:
        con.close()


def test_an_interrupt_during_the_cascade_is_itself_not_a_stop(tmp_path, monkeypatch):
    """Ctrl-C while the later periods are re-run is not said as a stop (`CascadeStopped`, exit 4):
    it propagates, and the cascade's mark stays for the next run's recovery."""
    def interrupted(*a):
        raise KeyboardInterrupt
    monkeypatch.setattr(flows, "_rerun_later", interrupted)
    wh = tmp_path / "warehouse.duckdb"
    with pytest.raises(KeyboardInterrupt):
        with flows.cascading(wh, PERIOD):
            flows.rerun_later_periods(str(tmp_path), str(tmp_path), wh, None, [], PERIOD, None)
    con = flows.warehouse.connect(wh)
    try:
        assert con.execute("SELECT period FROM cascades_pending").fetchall() == [(PERIOD,)]
    finally:
        con.close()


def test_the_lists_may_go_out_on_the_first_day_after_the_period():
    """The first day after the period is the earliest 下发日期 (the deliveries are in): taken, in a
    31-day month, in December (the year turns) and in February; the last day of the period is not."""
    assert flows.check_dates(PERIOD, "2026-11-01") is None
    assert flows.check_dates("2026-12", "2027-01-01") is None
    assert flows.check_dates("2027-02", "2027-03-01") is None
    assert "is not after period 2027-02" in flows.check_dates("2027-02", "2027-02-28")


def test_naming_every_department_is_a_full_run():
    """--dept naming all the departments (folder names or aliases) is the whole period: a full run
    (it needs no earlier run, and is recorded as one), not a partial run of all of them."""
    from config import load_config

    cfg = load_config()
    assert flows.resolve_departments(cfg, list(cfg.departments)) == ()
    assert flows.resolve_departments(cfg, ["hr", *cfg.departments[:1]]) == tuple(
        d for d in cfg.departments if d in {cfg.folder_of("hr"), cfg.departments[0]})


def test_a_province_county_s_own_config_and_settings_win_over_the_command_s():
    """A county's `config` replaces the command's --config; its `set` comes after the command's
    --set, so that a county's own value of a key wins (load_config applies them in order)."""
    county = {"name": "县", "config": "/c/own.toml", "set": ["M1.threshold=9000"]}
    assert flows.county_settings(county, "/c/province.toml", ["M1.threshold=8000"]) == (
        "/c/own.toml", ["M1.threshold=8000", "M1.threshold=9000"])
    assert flows.county_settings({"name": "县"}, "/c/province.toml", None) == ("/c/province.toml", [])


def test_only_a_successful_full_run_of_the_period_lets_a_partial_run_go_on(tmp_path):
    """`--dept` keeps the other departments' stored results: they must come from a full run of
    the period that succeeded (not a failed one, not a partial one, not another period's)."""
    from adapters import warehouse

    wh = tmp_path / "warehouse.duckdb"
    assert not flows.full_run_done(wh, PERIOD)
    con = warehouse.connect(wh)
    try:
        warehouse.finish_run(con, warehouse.begin_run(con, "2026-09", "x"), "ok")
        warehouse.finish_run(con, warehouse.begin_run(con, PERIOD, "x"), "failed")
        warehouse.finish_run(con, warehouse.begin_run(con, PERIOD, "x", summary="partial: 医保"), "ok", "partial: 医保")
    finally:
        con.close()
    assert not flows.full_run_done(wh, PERIOD)
    con = warehouse.connect(wh)
    try:
        warehouse.finish_run(con, warehouse.begin_run(con, PERIOD, "x"), "ok")
    finally:
        con.close()
    assert flows.full_run_done(wh, PERIOD)


def test_dry_runs_of_one_warehouse_may_run_side_by_side_but_not_beside_a_writing_run(tmp_path):
    """Two analysts trying settings (`--dry-run`) at once both go ahead; a writing run waits for
    them and they for it."""
    wh = tmp_path / "warehouse.duckdb"
    with flows.warehouse_lock(wh) as held:  # (a run before: the lock file exists)
        assert held
        with flows.warehouse_lock(wh, shared=True) as dry:
            assert not dry
    with flows.warehouse_lock(wh, shared=True) as one, flows.warehouse_lock(wh, shared=True) as two:
        assert one and two
        with flows.warehouse_lock(wh) as writing:
            assert not writing


def test_a_dry_run_works_on_a_copy_of_the_warehouse_with_its_wal_and_leaves_no_scratch_behind(tmp_path):
    """A killed run leaves its last writes in the warehouse's WAL: the dry run's copy takes it too
    (the real run would read it). The scratch folder, a copy of the county's personal data, is
    removed when the run ends; the real warehouse is not written."""
    import shutil

    from adapters import warehouse

    wh = tmp_path / "out" / "warehouse.duckdb"
    wh.parent.mkdir()
    warehouse.connect(wh).close()
    wal = wh.with_name(wh.name + ".wal")
    wal.write_bytes(b"a killed run's last writes")
    paths = flows.plan_paths(str(tmp_path / "inbox"), PERIOD, str(tmp_path / "out"), None, dry_run=True)
    try:
        assert paths.real_warehouse == wh and paths.warehouse.parent == paths.scratch
        assert paths.warehouse.with_name(paths.warehouse.name + ".wal").read_bytes() == wal.read_bytes()
    finally:
        shutil.rmtree(paths.scratch)
    wal.unlink()
    before = wh.read_bytes()
    paths = flows.plan_paths(str(tmp_path / "inbox"), PERIOD, str(tmp_path / "out"), None, dry_run=True)
    con = warehouse.connect(paths.warehouse)
    try:
        run_id = warehouse.begin_run(con, PERIOD, "x")
    finally:
        con.close()
    flows._finish_run(paths, run_id, "ok")
    assert not paths.scratch.exists() and wh.read_bytes() == before


def test_a_later_period_whose_settings_were_not_recorded_is_re_run_with_this_run_s(tmp_path, monkeypatch):
    """A later period whose run was stored before runs kept their settings (overrides NULL) is
    re-run with this run's --config/--set, and the line says so; it did not stop the cascade."""
    from adapters import warehouse

    inbox, wh, ran = _three_periods_run(tmp_path, monkeypatch)
    got = []
    monkeypatch.setattr(flows, "monthly_run", lambda inbox_dir, p, out, w, config, sets, **_k: got.append((p, sets)))
    con = warehouse.connect(wh)
    try:
        con.execute("UPDATE runs SET overrides = NULL WHERE period = '2026-11'")  # (as an older version stored it)
    finally:
        con.close()
    said = flows.rerun_later_periods(str(inbox), str(tmp_path / "out"), wh, None, ["M1.threshold=8000"], PERIOD, None)
    assert got == [("2026-11", ["M1.threshold=8000"]), ("2026-12", [])]
    assert said[0].startswith("re-running 2026-11: ") and said[0].endswith("its settings were not recorded: with this run's")


def test_a_scheduled_run_recovers_a_killed_run_first_and_marks_its_cascade(prefect_harness, tmp_path, monkeypatch):
    """The 02:00 run, once it holds the lock: a run killed before it is recovered (recorded
    interrupted, said), and the period's run and the later periods' re-runs are marked as a
    cascade (a kill in between is named by the next recovery). A month not delivered yet is
    refused, touching nothing."""
    out = tmp_path / "out"
    seen: dict = {}
    monkeypatch.setattr(flows, "monthly_run", killed_run_and_what_the_run_saw(out / "warehouse.duckdb", seen))
    monkeypatch.setattr(flows, "rerun_later_periods", lambda *a: [])
    (tmp_path / "inbox" / PERIOD).mkdir(parents=True)
    with pytest.raises(flows.RunError, match="no period folder .*2026-11: the departments' deliveries are not in yet"):
        flows.scheduled_run(str(tmp_path / "inbox"), str(out), period="2026-11")
    (tmp_path / "inbox" / "2026-9").mkdir()  # (a deployment's parameter, typed by hand)
    with pytest.raises(flows.RunError, match="--period must be YYYY-MM, got '2026-9'"):
        flows.scheduled_run(str(tmp_path / "inbox"), str(out), period="2026-9")
    assert not seen and not (out / "warehouse.duckdb.lock").exists()
    flows.scheduled_run(str(tmp_path / "inbox"), str(out), period=PERIOD)
    assert seen == {"runs": [("2026-09", "interrupted")], "marked": [(PERIOD,)]}
    assert flows.recover_interrupted(out, out / "warehouse.duckdb") == []  # (the mark cleared as the cascade ended)


def test_a_scheduled_run_refused_for_a_reason_of_ours_is_logged_in_one_line_a_bug_with_its_traceback(
        prefect_harness, tmp_path, monkeypatch):
    """What `serve`'s console (the bureau's log of its monthly runs) showed when the month's
    deliveries were not in yet: Prefect's traceback of the RunError. Our own failures are logged
    as their line alone; another failure (a bug) keeps its traceback for whoever fixes it."""
    import logging

    records: list[logging.LogRecord] = []
    handler = logging.Handler(logging.ERROR)
    handler.emit = records.append
    logger = logging.getLogger("prefect.flow_runs")
    logger.addHandler(handler)
    monkeypatch.setattr(flows, "monthly_run", lambda *a, **k: {}["a bug"])
    try:
        (tmp_path / "inbox" / PERIOD).mkdir(parents=True)
        with pytest.raises(flows.RunError):
            flows.scheduled_run(str(tmp_path / "inbox"), str(tmp_path / "out"), period="2026-11")
        with pytest.raises(KeyError):
            flows.scheduled_run(str(tmp_path / "inbox"), str(tmp_path / "out"), period=PERIOD)
    finally:
        logger.removeHandler(handler)
    ours = [r for r in records if "deliveries are not in yet" in r.getMessage()]
    bug = [r for r in records if "KeyError" in r.getMessage()]
    assert ours and not any(r.exc_info for r in ours)
    assert bug and all(r.exc_info for r in bug if "Encountered exception" in r.getMessage())


def test_a_scheduled_run_works_on_the_month_before_the_day_it_was_due_in_county_time(prefect_harness, tmp_path,
                                                                                    monkeypatch):
    """Due at 02:00 on 1 November in the county (18:00 on 31 October UTC, a --cron on the 1st): the
    month before is October, not September (the machine's UTC date)."""
    from datetime import datetime, timezone

    from prefect.runtime import flow_run

    monkeypatch.setattr(flow_run, "scheduled_start_time", datetime(2026, 10, 31, 18, tzinfo=timezone.utc), raising=False)
    got = []
    monkeypatch.setattr(flows, "monthly_run", lambda inbox_dir, period, *_a, **_k: got.append(period) or {})
    monkeypatch.setattr(flows, "rerun_later_periods", lambda *a: [])
    (tmp_path / "inbox" / PERIOD).mkdir(parents=True)
    flows.scheduled_run(str(tmp_path / "inbox"), str(tmp_path / "out"))
    assert got == [PERIOD]


def test_a_partial_run_finds_again_what_lies_outside_the_departments_and_misses_only_its_own(tmp_path):
    """`--dept 医保`: a file at the period's root and an unknown folder are set aside again (every
    run finds them: the partial run's 搁置行 file replaces the full run's), another department's
    files are not read, and only a chosen department can be missing (the others are kept)."""
    from config import load_config
    from schemas.outputs import Finding

    period = tmp_path / "inbox" / PERIOD
    for folder in ("医保", "民政", "未知科室"):
        (period / folder).mkdir(parents=True)
        (period / folder / "x.csv").write_text("a,b\n", encoding="utf-8")
    (period / "root.csv").write_text("a,b\n", encoding="utf-8")

    def discover(*only):
        paths = flows.RunPaths(period_dir=period, out=tmp_path / "out", stage=tmp_path / "stage" / "_".join(only),
                               warehouse=tmp_path / "wh.duckdb", only=only)
        depts = flows.discover_inputs.fn(paths, load_config())
        missing = pl.read_parquet(paths.work / "findings_discover.parquet").filter(
            pl.col("category") == Finding.DEPT_MISSING)["dept"].to_list()
        return depts, sorted(pl.read_parquet(paths.work / "rejected__discover.parquet")["file"].to_list()), missing

    assert discover("医保") == (["医保"], ["root.csv", "未知科室/"], [])
    assert discover("医保", "住建") == (["医保"], ["root.csv", "未知科室/"], ["住建"])


def test_a_partial_run_needs_the_full_run_s_published_county_folder_too(tmp_path):
    """The flow itself (a deployment's parameters come unchecked by the command) refuses `--dept`
    when the full run's county folder is gone, though the warehouse records that run: the kept
    review queue and data-quality rows are read from it."""
    from adapters import warehouse
    from config import load_config

    wh, final = tmp_path / "warehouse.duckdb", tmp_path / "out" / PERIOD
    con = warehouse.connect(wh)
    try:
        warehouse.finish_run(con, warehouse.begin_run(con, PERIOD, "x"), "ok")
    finally:
        con.close()
    paths = flows.RunPaths(period_dir=tmp_path / "inbox" / PERIOD, out=final, stage=tmp_path / "stage", warehouse=wh,
                           final=final, only=("医保",))
    paths.work.mkdir(parents=True)
    cfg = load_config()
    with pytest.raises(flows.RunError, match="--dept needs a complete earlier run"):
        flows.keep_other_departments.fn(paths, cfg, PERIOD)
    (final / "county").mkdir(parents=True)
    assert flows.keep_other_departments.fn(paths, cfg, PERIOD) == [d for d in cfg.departments if d != "医保"]


def test_a_roster_holding_no_person_is_no_usable_roster(tmp_path):
    """A 户籍底册 of headers only, or whose every row was set aside (its 人编号 destroyed by Excel),
    was a roster: the run linked no record, warned no roster household and said nothing. It is
    refused as a missing one is, saying why; so is one most of whose rows were set aside; a roster
    with a person and no row set aside is usable."""
    from config import load_config
    from pipelines.validate import REJECTED_SCHEMA

    paths = flows.RunPaths(period_dir=tmp_path / "in", out=tmp_path / "out", stage=tmp_path / "stage",
                           warehouse=tmp_path / "wh.duckdb")
    paths.work.mkdir(parents=True)
    cfg = load_config()
    assert flows._no_roster(paths, ["med_settlement"], cfg).endswith("nothing can be linked")
    pl.DataFrame(schema={"person_id": pl.Utf8}).write_parquet(paths.work / "roster.parquet")
    assert flows._no_roster(paths, ["roster"], cfg).endswith("; 户籍底册 的文件中没有人员行 its files hold no person")
    # (each reason once, without its value, its field as the roster heads it)
    pl.DataFrame([dict(dept="户籍底册", kind="roster", file="户籍底册/a.csv", line=n, field="person_id",
                       reason=f"person_id 已被Excel截为15位有效数字: '34130210000000{n}000'") for n in (2, 3)]).select(
        [pl.col(c) if c in ("dept", "kind", "file", "line", "field", "reason") else pl.lit(None).alias(c)
         for c in REJECTED_SCHEMA]).cast(REJECTED_SCHEMA).write_parquet(paths.work / "rejected_户籍底册.parquet")
    assert flows._no_roster(paths, ["roster"], cfg).endswith(
        "nothing can be linked; 户籍底册/a.csv: 人编号 已被Excel截为15位有效数字")
    pl.DataFrame({"file": ["户籍底册/a.csv"], "line": [4], "household_id": ["H1"], "relation": ["户主"],
                  "person_id": ["P1"]}).write_parquet(paths.work / "roster.parquet")
    # (a person kept beside two set aside: too few to warn by, `reference.roster_unusable`)
    assert flows._no_roster(paths, ["roster"], cfg).startswith(
        f"roster unusable in {paths.period_dir} (户籍底册/a.csv): 2 of 3 persons (67%) set aside")
    (paths.work / "rejected_户籍底册.parquet").unlink()
    assert flows._no_roster(paths, ["roster"], cfg) is None


def test_a_later_period_run_with_a_config_file_changed_since_is_re_run_with_the_file_as_it_was(tmp_path, monkeypatch):
    """November was run with --config rules.toml; the file was edited since. The cascade re-runs
    November with the file's content as it was then (kept in `runs`), not as it is now, and says so."""
    from adapters import warehouse
    from config import DEFAULT_CONFIG

    inbox, wh, ran = _three_periods_run(tmp_path, monkeypatch)
    rules = tmp_path / "rules.toml"
    then = DEFAULT_CONFIG.read_text(encoding="utf-8") + "\n# as it was in November\n"
    con = warehouse.connect(wh)
    try:
        warehouse.finish_run(con, warehouse.begin_run(con, "2026-11", "x", config_path=str(rules), config_text=then,
                                                       overrides=[]), "ok")
    finally:
        con.close()
    rules.write_text(then.replace("as it was in November", "edited since"), encoding="utf-8")
    used = {}
    monkeypatch.setattr(flows, "monthly_run", lambda inbox_dir, p, out, w, config, *_a, **_k: used.update(
        {p: None if config is None else Path(config).read_text(encoding="utf-8")}))
    said = flows.rerun_later_periods(str(inbox), str(tmp_path / "out"), wh, None, [], PERIOD, None)
    assert used == {"2026-11": then, "2026-12": None}
    assert said[0].endswith(f"with its own --config {rules} (the file's content as it was then)"), said[0]


def test_a_rerun_set_otherwise_than_the_period_s_last_full_run_says_how_that_was_set(tmp_path):
    """The summary notes how the period was last run in full when this run's settings differ."""
    from adapters import warehouse
    from config import load_config

    wh = tmp_path / "warehouse.duckdb"
    con = warehouse.connect(wh)
    try:
        before = load_config(None, ["M1.threshold=2000"])
        warehouse.finish_run(con, warehouse.begin_run(con, PERIOD, before.fingerprint, overrides=["M1.threshold=2000"]),
                             "ok")
    finally:
        con.close()
    paths = flows.RunPaths(period_dir=tmp_path / "inbox" / PERIOD, out=tmp_path / "out" / PERIOD,
                           stage=tmp_path / "stage", warehouse=wh)
    dates = flows._begin_run(paths, PERIOD, load_config(), "2026-11-02", None, [])[1]
    assert (dates["settings_before"], dates["settings_now"]) == ("--set M1.threshold=2000", "default settings")
    assert flows._begin_run(paths, PERIOD, before, "2026-11-02", None, ["M1.threshold=2000"])[1]["settings_before"] is None


def test_a_run_with_a_copy_saved_as_gb18030_records_its_text(tmp_path):
    """load_config reads a copy saved as ANSI on Chinese Windows (GB18030); the run then read it
    again as UTF-8 to record it and failed, exit 1 'error: UnicodeDecodeError'. It records the
    text as read (a BOM left out)."""
    from adapters import warehouse
    from config import DEFAULT_CONFIG, load_config

    text = DEFAULT_CONFIG.read_text(encoding="utf-8").replace('"乡村振兴局"', '"县乡村振兴局"')
    for name, data in (("gb.toml", text.encode("gb18030")), ("bom.toml", "\ufeff".encode() + text.encode())):
        rules, wh = tmp_path / name, tmp_path / f"{name}.duckdb"
        rules.write_bytes(data)
        paths = flows.RunPaths(period_dir=tmp_path / "inbox" / PERIOD, out=tmp_path / "out" / PERIOD,
                               stage=tmp_path / "stage", warehouse=wh)
        run_id = flows._begin_run(paths, PERIOD, load_config(rules), "2026-11-02", str(rules), [])[0]
        con = warehouse.connect(wh)
        try:
            warehouse.finish_run(con, run_id, "ok")
            assert warehouse.last_run(con, PERIOD)["config_text"] == text
        finally:
            con.close()


@pytest.mark.parametrize("period, issue_date, says", [
    ("2026-9", None, "--period must be YYYY-MM, got '2026-9'"),
    (PERIOD, "2026-10-31", "--issue-date 2026-10-31 is not after period 2026-10"),
])
def test_the_monthly_flow_checks_its_own_dates_before_it_writes_anything(tmp_path, period, issue_date, says):
    """A deployment's parameters come unchecked by the command: the flow refuses them itself."""
    (tmp_path / "inbox" / period).mkdir(parents=True)
    with pytest.raises(flows.RunError, match=re.escape(says)):
        flows.monthly_run.fn(str(tmp_path / "inbox"), period, str(tmp_path / "out"), issue_date=issue_date)
    assert not (tmp_path / "out").exists()


def test_the_cascade_prints_each_later_period_s_summary(tmp_path, monkeypatch, capsys):
    """Each later period re-run prints its own summary (rows, warnings, where its files are) after
    the line saying why it is re-run, as the period's own run does."""
    inbox, wh, ran = _three_periods_run(tmp_path, monkeypatch)
    monkeypatch.setattr(flows, "monthly_run", lambda inbox_dir, p, *_a, **_k: {"period": p})
    monkeypatch.setattr(flows, "flow_result", lambda state: state)
    monkeypatch.setattr(flows.console, "summary_lines", lambda result: [f"行数核对 {result['period']}", "…"])
    flows.rerun_later_periods(str(inbox), str(tmp_path / "out"), wh, None, [], PERIOD, None)
    assert capsys.readouterr().out == "行数核对 2026-11\n…\n行数核对 2026-12\n…\n"


def test_a_partial_run_keeps_the_published_queue_s_rows_as_they_were_written(tmp_path):
    """`--dept 医保` keeps the other departments' rows of the published 人工复核队列.csv and 数据质量报告.csv.
    Those files write a number Excel would change as `="…"` (a 20-digit 残疾人证号, a full 证件号码, a
    人编号 with a leading zero) and a cell starting with - as '-…: kept as read, the rows came back
    in those forms, so the stored `review_queue` named records no answer names (a 是 for a listed
    candidate was refused), their 首次列入复核 was lost, and the queue published again showed
    '="3413…" to the analyst. They are kept as they were before the file was written."""
    from adapters import outputs, warehouse
    from config import load_config
    from matchers.review import COLUMNS, FIRST_COLUMN, IMPACT_COLUMN, listed, with_kept
    from schemas.outputs import REVIEW_ANSWER_COLUMNS

    out, wh = tmp_path / "out" / PERIOD, tmp_path / "warehouse.duckdb"
    county = out / "county"
    county.mkdir(parents=True)
    con = warehouse.connect(wh)
    try:
        warehouse.finish_run(con, warehouse.begin_run(con, PERIOD, "x"), "ok")
    finally:
        con.close()
    headers = [*COLUMNS.values(), IMPACT_COLUMN, *REVIEW_ANSWER_COLUMNS]
    headers.insert(2, FIRST_COLUMN)  # (as published: after 记录编号)
    row = {c: None for c in headers} | {
        "部门": "残联", "记录编号": "34130219900101123411", "记录姓名": "张三", "记录证件号码（部门报送原样）": "341302199001011234",
        "候选序号": "1", "人编号": "0001234", "户编号": "0012", "依据": "-1 kept", FIRST_COLUMN: "2026-09"}
    queue = pl.DataFrame([row | {"部门": "医保", "记录编号": "YB1"}, row], schema={c: pl.Utf8 for c in row})
    outputs.write_csv(queue, county / "人工复核队列.csv")
    outputs.write_csv(pl.DataFrame({"类别": ["x"], "部门": ["残联"], "文件": ["残联/a.csv"], "说明": ["=1+1 a formula typed"],
                                    "数量": ["1"]}), county / "数据质量报告.csv")
    paths = flows.RunPaths(period_dir=tmp_path / "inbox" / PERIOD, out=out, stage=tmp_path / "stage", warehouse=wh,
                           only=("医保",))
    paths.work.mkdir(parents=True)
    flows.keep_other_departments.fn(paths, load_config(), PERIOD)
    kept = pl.read_parquet(paths.work / "kept_review.parquet")
    assert kept.rows() == queue.filter(pl.col("部门") == "残联").rows()
    assert pl.read_parquet(paths.work / "kept_quality.parquet")["detail"].to_list() == ["=1+1 a formula typed"]
    assert listed(with_kept(queue.clear(), kept)).rows() == [
        ("残联", "34130219900101123411", "0001234", "341302199001011234")]
    # published again as the full run published it
    outputs.write_csv(with_kept(queue.filter(pl.col("部门") == "医保"), kept), tmp_path / "again.csv")
    assert (tmp_path / "again.csv").read_bytes() == (county / "人工复核队列.csv").read_bytes()

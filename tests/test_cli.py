"""The analysts' command line: help, partial re-runs (--dept), dry runs, exit codes, progress,
and the Prefect artifacts each run publishes (counts only, never a name or an ID number)."""

from __future__ import annotations

import hashlib
import io
import re
import shutil
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass
from pathlib import Path

import duckdb
import polars as pl
import pytest

import cli
import flows
from pipelines import console

PERIOD = "2026-10"
ID18 = re.compile(r"(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])")


def _run(inbox: Path, out: Path, *extra: str) -> int:
    return cli.main(["run", "--inbox", str(inbox), "--period", PERIOD, "--out", str(out),
                       "--issue-date", "2026-11-02", *extra])


def _tree(folder: Path) -> dict[str, str]:
    """Every file under `folder` with its sha256 (the warehouse included)."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="module")
def small_county(tmp_path_factory) -> Path:
    from sample_data.generate import generate

    county = tmp_path_factory.mktemp("cli_county")
    generate(county, seed=5, periods=(PERIOD,), households=300)
    return county


@dataclass(frozen=True)
class FullRun:
    county: Path  # the small county (inbox, truth)
    out: Path  # OUT as the full run left it (the warehouse included): read-only
    printed: str  # what the run printed on stdout ...
    progress: str  # ... and on stderr


@pytest.fixture(scope="module")
def full_run(prefect_harness, small_county, tmp_path_factory) -> FullRun:
    """One full run of the small county (its artifacts labelled 341399) and what it printed. A test
    that runs again goes on from its own copy (`_copy_out`): nothing writes here."""
    out = tmp_path_factory.mktemp("cli_out")
    printed, progress = io.StringIO(), io.StringIO()
    with redirect_stdout(printed), redirect_stderr(progress):
        code = _run(small_county / "inbox", out, "--county", "341399")
    assert code == 0, progress.getvalue()[-2000:]
    return FullRun(small_county, out, printed.getvalue(), progress.getvalue())


def _copy_out(run: FullRun, dest: Path) -> Path:
    """A private copy of the full run's OUT, to run again in."""
    shutil.copytree(run.out, dest / "out")
    return dest / "out"


def _roster_names(county: Path) -> set[str]:
    roster = pl.read_csv(next((county / "inbox" / PERIOD / "户籍底册").glob("*.csv")), infer_schema=False,
                         encoding="utf8-lossy")
    return {n for n in roster["姓名"].drop_nulls().to_list() if len(n) >= 2}


def test_help_shows_examples_and_exit_codes(capsys):
    assert cli.main(["--help"]) == 0
    text = capsys.readouterr().out
    assert "exit codes" in text and "3 busy" in text and "4 partly done" in text
    assert cli.main(["run", "--help"]) == 0
    text = capsys.readouterr().out
    for word in ("--dept", "--dry-run", "--config", "--set", "examples:"):
        assert word in text
    assert cli.main(["run", "--nonsense"]) == 2


def test_a_census_completeness_share_is_taken_as_documented(tmp_path):
    """docs/OPERATIONS.md: 'pins it with --set matching.census_completeness=0.4'. It was refused,
    'must be text, got 0.4' (the default is the word "measured"), from --set and from a file."""
    from config import DEFAULT_CONFIG, load_config
    assert load_config(None, ["matching.census_completeness=0.4"]).matching.census_completeness == 0.4
    mine = tmp_path / "my_rules.toml"
    mine.write_text(DEFAULT_CONFIG.read_text(encoding="utf-8").replace(
        'census_completeness = "measured"', "census_completeness = 0.4"), encoding="utf-8")
    assert load_config(mine).matching.census_completeness == 0.4
    assert load_config(None, ["matching.census_completeness=measured"]).matching.census_completeness == "measured"


@pytest.mark.parametrize("value", ["half", "1.5", "-0.1"])
def test_a_census_completeness_that_is_not_a_share_is_refused(value, capsys):
    args = ["run", "--inbox", "x", "--period", "2026-10", "--out", "y", "--set", f"matching.census_completeness={value}"]
    assert cli.main(args) == 2
    assert "census_completeness" in capsys.readouterr().err


@pytest.mark.parametrize("setting", ["census_completeness_z=-1", "census_completeness_z=sure", "name_m_iterations=-1",
                                     "name_m_iterations=1.5", "name_m_floor=0", "lookalike_prior=2",
                                     "lookalike_prior=often", "lookalike_strength=0", "place_hint_z=-1",
                                     "place_hint_strength=many", "prior_groups=assistance_pay",
                                     "place_hint_fields=facility", "age_prior_strength=-1",
                                     'match_threshold_by_dept={"税务"=0.999}', 'match_threshold_by_dept={"hr"=0.3}',
                                     "census_coverage=2", "census_min_coverage=-0.1", "max_snapshot_presence=1.5"])
def test_a_learning_or_doubt_setting_out_of_range_is_refused(setting, capsys):
    args = ["run", "--inbox", "x", "--period", "2026-10", "--out", "y", "--set", f"matching.{setting}"]
    assert cli.main(args) == 2
    assert setting.split("=")[0] in capsys.readouterr().err


@pytest.mark.parametrize("setting, says", [
    ("M1.threshold=abc", "rules.M1.threshold must be a number"), ("H1.grades=D", "rules.H1.grades must be a list"),
    ("M1.threshold=-1", "at least 0"), ("M1.severity=极高", "高/中/低"), ("M4.min_roster_share=2", "share from 0 to 1"),
    ("M4.shown_min_p=2", "share from 0 to 1"), ("matching.match_threshold=1.5", "match_threshold"),
    ("matching.review_threshold=0.999", "review_threshold")])
def test_a_rule_or_threshold_value_of_the_wrong_kind_or_range_is_refused_before_reading(setting, says, capsys):
    """A wrong --set is exit 2 with the key named, before any file is read (it used to fail inside
    the rules after linking, exit 1, or run silently with no link or 132 warnings)."""
    args = ["run", "--inbox", "x", "--period", "2026-10", "--out", "y", "--set", setting]
    assert cli.main(args) == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("setting, says", [
    ("M1.threshold=nan", "rules.M1.threshold"), ("M1.threshold=inf", "rules.M1.threshold"),
    ("run.suppress_days=nan", "run.suppress_days"), ("run.suppress_days=-5", "run.suppress_days"),
    ("run.verify_working_days=-2", "run.verify_working_days"), ("run.verify_working_days=0", "run.verify_working_days"),
    ("run.verify_working_days=2.5", "run.verify_working_days"), ("run.verify_working_days=nan", "run.verify_working_days"),
    ("run.escalation_factor=-1", "run.escalation_factor"), ("run.escalation_factor=nan", "run.escalation_factor"),
    ("run.max_grid_households=0", "run.max_grid_households"), ("inbox.days_after_period=-1", "inbox.days_after_period"),
    ("matching.census_coverage=nan", "matching.census_coverage"), ("matching.census_coverage=1.5", "matching.census_coverage"),
    ("matching.county_population=-1", "matching.county_population"), ("matching.birth_years=inf", "matching.birth_years"),
    ("matching.candidate_floor=-0.1", "matching.candidate_floor")])
def test_a_threshold_that_is_no_usable_number_is_refused_before_reading(setting, says, capsys):
    """An analyst tries a threshold (`--set`): `nan` or `inf` passed as a number and a rule
    number's "at least 0" (nan < 0 is false), so M1 silently warned no one (157 warnings for
    168); the repeat window and the deadline were not checked at all: `run.suppress_days=nan`
    failed after linking (exit 1, `ValueError`), `run.verify_working_days=-2` (or 0, or nan)
    put every deadline on the 下发日期 itself, 2.5 was taken as 3. Each is exit 2 naming the key."""
    args = ["run", "--inbox", "x", "--period", "2026-10", "--out", "y", "--set", setting]
    assert cli.main(args) == 2
    assert says in capsys.readouterr().err


def test_a_rule_copied_under_a_new_name_is_checked_against_the_rule_it_runs(tmp_path):
    from config import DEFAULT_CONFIG, load_config
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    good = tmp_path / "good.toml"
    good.write_text(text + '\n[rules.M1B]\nimpl = "M1"\nkind = "med_settlement"\nrisk_type = "因病"\nthreshold = 8000\n',
                    encoding="utf-8")
    assert load_config(good).rules["M1B"]["threshold"] == 8000
    bad = tmp_path / "bad.toml"
    bad.write_text(text + '\n[rules.M1B]\nimpl = "M1"\nkind = "med_settlement"\nrisk_type = "因病"\nthreshold = "8千"\n',
                   encoding="utf-8")
    with pytest.raises(ValueError, match="rules.M1B.threshold must be a number"):
        load_config(bad)


@pytest.mark.parametrize("edit, says", [
    (lambda t: "[rules.M1]\nthreshold = 8000\n", "no [folders] section"),
    (lambda t: t.replace("\nthreshold = 5000", "\nthreshhold = 5000", 1), "rules.M1.threshhold: unknown key"),
    (lambda t: t.replace("\nthreshold = 5000", "\n", 1), "rules.M1.threshold is missing"),
    (lambda t: t.replace('risk_type = "因自然灾害"\n', "", 1),
     "rules.A1.risk_type is missing (config/default.toml's rules.A1 has risk_type = '因自然灾害')"),
    (lambda t: t.replace("\nmatch_threshold = ", "\nmatch_threshhold = ", 1), "matching.match_threshhold: unknown key"),
    (lambda t: t.replace("[run]", "[run", 1), "my_rules.toml: Expected ']'"),  # a TOML slip: the file named
])
def test_a_config_file_missing_or_mistyping_a_key_is_refused_naming_it(edit, says, tmp_path, capsys):
    """A --config file holding only the changed values, or a rule key mistyped or left out, is exit 2
    naming the key before anything is read. They were a bare `'kinds'` (a KeyError's text), a
    KeyError inside issue_warnings after linking (exit 1), and a dataclass's `unexpected keyword
    argument`."""
    from config import DEFAULT_CONFIG
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    mine = tmp_path / "my_rules.toml"
    mine.write_text(edit(text), encoding="utf-8")
    assert mine.read_text(encoding="utf-8") != text
    args = ["run", "--inbox", "x", "--period", "2026-10", "--out", "y", "--config", str(mine)]
    assert cli.main(args) == 2
    assert says in capsys.readouterr().err


@pytest.mark.parametrize("period", ["2026-9", "2026-009", " 2026-10", "2026-10-01"])
def test_a_period_not_written_yyyy_mm_is_refused_as_such(period, tmp_path, capsys):
    """2026-9 was taken as a period (strptime reads one digit): with a folder 2026-9 it would be
    stored so, and sort after 2026-10 in every 'period < ?' of the history."""
    (tmp_path / period).mkdir()
    assert cli.main(["run", "--inbox", str(tmp_path), "--period", period, "--out", str(tmp_path / "o")]) == 2
    assert "--period must be YYYY-MM" in capsys.readouterr().err


@pytest.mark.parametrize("folder", ["202610", "2026年10月", "2026.10", "2026年10月份数据", "2026-10 "])
def test_a_period_folder_named_otherwise_is_asked_about(folder, tmp_path, capsys):
    """The county names the month's folder as it writes the month (202610, 2026年10月): `no period
    folder …/2026-10` alone sent it looking for a folder it has. The one naming that month is
    asked about, to be renamed; another month's is not."""
    (tmp_path / folder).mkdir()
    (tmp_path / "2026年9月").mkdir()
    assert cli.main(["run", "--inbox", str(tmp_path), "--period", "2026-10", "--out", str(tmp_path / "o")]) == 2
    said = capsys.readouterr().err
    assert "no period folder" in said and f"'{folder}'" in said and "2026年9月" not in said


@pytest.mark.parametrize("inbox", ["2026-10", "十月报送"])
def test_an_inbox_given_as_the_period_folder_itself_is_told_to_give_the_folder_above(inbox, tmp_path, capsys):
    """--inbox named the month's folder itself (its department folders inside): `no period folder
    …/2026-10/2026-10` alone did not say that the folder above it is the inbox."""
    (tmp_path / inbox / "医保").mkdir(parents=True)
    (tmp_path / inbox / "roster").mkdir()
    assert cli.main(["run", "--inbox", str(tmp_path / inbox), "--period", "2026-10", "--out", str(tmp_path / "o")]) == 2
    said = capsys.readouterr().err
    assert "no period folder" in said and f"--inbox {tmp_path}" in said and "department folders" in said


def test_an_out_that_cannot_be_written_is_one_line_not_a_traceback(tmp_path, capsys):
    (tmp_path / "2026-10").mkdir()
    blocked = tmp_path / "out_is_a_file"
    blocked.write_text("x")
    assert cli.main(["run", "--inbox", str(tmp_path), "--period", "2026-10", "--out", str(blocked / "o")]) == 1
    err = capsys.readouterr().err
    assert err.startswith("error: cannot use") and "Traceback" not in err and len(err.strip().splitlines()) == 1
    for dry in ([], ["--dry-run"]):  # --out naming a file: a dry run too says so (it worked in a scratch folder)
        assert cli.main(["run", "--inbox", str(tmp_path), "--period", "2026-10", "--out", str(blocked), *dry]) == 2
        assert capsys.readouterr().err == f"error: --out {blocked} is a file, not a folder\n"


def test_a_warehouse_that_is_no_duckdb_file_is_one_line_not_a_traceback(tmp_path, capsys):
    """--warehouse naming a file DuckDB cannot open (a wrong path, a truncated copy): it was opened
    before the run, outside its error handling, and printed duckdb's whole traceback."""
    (tmp_path / "2026-10").mkdir()
    bad = tmp_path / "warehouse.duckdb"
    bad.write_text("not a database")
    assert cli.main(["run", "--inbox", str(tmp_path), "--period", "2026-10", "--out", str(tmp_path / "o"),
                       "--warehouse", str(bad)]) == 1
    err = capsys.readouterr().err
    assert err.startswith(f"error: cannot open the warehouse {bad}") and "Traceback" not in err
    assert "not a valid DuckDB database file" in err  # (DuckDB's I/O line: it names the file only, and says why)
    assert len(err.strip().splitlines()) == 1


def test_dept_naming_a_reference_folder_says_it_is_always_read(tmp_path, capsys):
    (tmp_path / "2026-10").mkdir()
    assert cli.main(["run", "--inbox", str(tmp_path), "--period", "2026-10", "--out", str(tmp_path / "o"),
                       "--dept", "户籍底册"]) == 2
    assert "read by every run" in capsys.readouterr().err


@pytest.mark.parametrize("setting", ["block_size_sample=0", "pair_chunk=0", "block_size_sample=2.5", "age_band_years=0",
                                     "record_id_slips=9"])
def test_a_sample_or_slice_size_below_one_is_refused(setting, capsys):
    args = ["run", "--inbox", "x", "--period", "2026-10", "--out", "y", "--set", f"matching.{setting}"]
    assert cli.main(args) == 2
    assert setting.split("=")[0] in capsys.readouterr().err

def test_progress_goes_to_stderr_and_nothing_personal_is_printed(full_run):
    for step in ("discover_inputs", "ingest 医保", "link_records", "issue_warnings", "publish"):
        assert re.search(rf"\d+\.\ds  {step}", full_run.progress), step
    assert "行数核对" in full_run.printed
    queued = pl.read_csv(full_run.out / PERIOD / "county" / "人工复核队列.csv", infer_schema=False)
    n = queued.select("部门", "记录编号").n_unique()  # (records, not candidate rows) all new in a first period
    assert (f"人工复核队列 review queue: {n} records = {n} new this period (首次列入复核 {PERIOD}) + 0 waiting since an "
            "earlier period\n") in full_run.printed
    assert queued["首次列入复核"].eq(PERIOD).all() and queued.height >= n
    text = full_run.printed + full_run.progress
    assert not ID18.search(text)
    assert not [n for n in _roster_names(full_run.county) if n in text]


def test_dry_run_writes_nothing_and_says_what_it_would_write(full_run, tmp_path, capsys):
    county, out = full_run.county, _copy_out(full_run, tmp_path)
    before = _tree(out)
    capsys.readouterr()
    assert _run(county / "inbox", out, "--dry-run", "--set", "M1.threshold=8000") == 0
    said = capsys.readouterr().out
    assert _tree(out) == before
    assert "dry run" in said and f"{out / PERIOD / 'links.parquet'}" in said
    assert f"{out / 'warehouse.duckdb'}  (period {PERIOD} replaced in: " in said  # the real one, not its scratch copy
    # the tables named are those whose rows of the period a real run replaces: every one holding them
    # (census_records, roster_persons, review_queue too), no table the warehouse does not hold
    named = set(re.search(rf"\(period {PERIOD} replaced in: ([^)]*)\)", said)[1].split(", "))
    with duckdb.connect(str(out / "warehouse.duckdb"), read_only=True) as con:
        held = {t for (t,) in con.execute("SELECT table_name FROM information_schema.columns WHERE column_name = 'period' "
                                      "AND table_name NOT IN ('runs', 'cascades_pending', 'warning_status')").fetchall()
                if con.execute(f"SELECT count(*) FROM {t} WHERE period = ?", [PERIOD]).fetchone()[0]}
    assert named == {"warning_status" if t.startswith("warning_status") else t for t in held}
    fresh = tmp_path / "never"
    assert _run(county / "inbox", fresh, "--dry-run") == 0
    assert not fresh.exists()


def test_partial_rerun_keeps_the_other_departments(full_run, tmp_path, capsys):
    county, out, full = full_run.county, _copy_out(full_run, tmp_path), full_run.out / PERIOD
    queue = out / PERIOD / "county" / "人工复核队列.csv"  # as published by a version without 复核原因, 首次列入复核
    published = pl.read_csv(queue, infer_schema=False)
    assert published["复核原因"].str.len_chars().min() > 0
    published.drop("复核原因", "首次列入复核").write_csv(queue, include_bom=True)
    assert _run(county / "inbox", out, "--dept", "医保", "--dept", "hr") == 0
    said = capsys.readouterr().out
    assert "partial run: re-read 医保, 人社" in said
    # all departments' warnings, but only the re-read ones' suppressed repeats (it said 'repeats suppressed: 0'
    # on a month whose full run suppressed 10)
    assert "(repeats suppressed in the re-read 医保, 人社: " in said
    key = ["warning_id", "rule"]
    before, after = pl.read_parquet(full / "warnings.parquet"), pl.read_parquet(out / PERIOD / "warnings.parquet")
    assert after.sort(key).select(key, "household_id", "basis").equals(before.sort(key).select(key, "household_id", "basis"))
    lb, la = pl.read_parquet(full / "links.parquet"), pl.read_parquet(out / PERIOD / "links.parquet")
    others = ~pl.col("dept").is_in(["医保", "人社"])
    k = ["dept", "kind", "record_id"]
    assert la.filter(others).sort(k).equals(lb.filter(others).sort(k))  # kept exactly as they were
    d = ["dept", "kind", "record_id", "decision", "person_id"]
    assert la.select(d).sort(d).equals(lb.select(d).sort(d))
    acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv")
    assert acc["balanced"].all() and acc.height == 8
    for name in ("人工复核队列.csv", "数据质量报告.csv", "搁置行及原因.csv"):
        a = pl.read_csv(full / "county" / name, infer_schema=False)
        b = pl.read_csv(out / PERIOD / "county" / name, infer_schema=False)
        assert a.height == b.height, name
        if name != "人工复核队列.csv":  # (its 复核原因 was taken out above) the same rows, in the same order
            assert a.equals(b), name
    queue = pl.read_csv(queue, infer_schema=False)  # re-read departments say why; kept rows as published
    assert queue.filter(pl.col("部门").is_in(["医保", "人社"]))["复核原因"].str.len_chars().min() > 0
    kept = queue.filter(~pl.col("部门").is_in(["医保", "人社"]))["复核原因"]
    assert kept.len() > 0 and kept.fill_null("").eq("").all()
    assert queue.columns[:3] == ["部门", "记录编号", "首次列入复核"] and queue["首次列入复核"].eq(PERIOD).all()  # (kept rows too)
    assert sorted((out / PERIOD / "townships").iterdir()) and \
        [p.name for p in sorted((out / PERIOD / "townships").iterdir())] == [p.name for p in sorted((full / "townships").iterdir())]
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        runs = con.sql("SELECT status, summary FROM runs WHERE period = ? ORDER BY started_at", params=[PERIOD]).fetchall()
        n_links = con.sql("SELECT count(*) FROM links WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
        n_deliv = con.sql("SELECT count(DISTINCT dept) FROM deliveries WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
        superseded = con.sql("SELECT dept, count(*) AS n FROM superseded WHERE period = ? GROUP BY dept",
                             params=[PERIOD]).pl()
        dead = "SELECT record_id, person_id, change_date FROM deaths WHERE period = ? ORDER BY ALL"
        deaths = con.sql(dead, params=[PERIOD]).fetchall()
    finally:
        con.close()
    # 民政 not re-read: the persons it reported dead stay known with the period (later months read them)
    with duckdb.connect(str(full_run.out / "warehouse.duckdb"), read_only=True) as con:
        assert deaths and deaths == con.sql(dead, params=[PERIOD]).fetchall()
    assert runs[-1] == ("ok", "partial: 医保,人社")
    assert n_links == la.height
    # the rows replaced by a later delivery: the re-read departments' and the kept ones', once each
    assert dict(superseded.iter_rows()) == {r["dept"]: r["superseded"] for r in acc.iter_rows(named=True) if r["superseded"]}
    assert superseded.height >= 2
    assert n_deliv >= 10  # eight departments + roster + grid


def test_partial_rerun_without_the_enrollment_links_against_the_stored_census(full_run, tmp_path):
    """人社 alone: its records are weighed against the period's stored 参保名单 (the census), so
    its links are those of the full run, and the 参保名单's own links are kept."""
    county, out, full = full_run.county, _copy_out(full_run, tmp_path), full_run.out / PERIOD
    assert _run(county / "inbox", out, "--dept", "hr") == 0
    d = ["dept", "kind", "record_id", "decision", "person_id", "score"]
    lb, la = pl.read_parquet(full / "links.parquet"), pl.read_parquet(out / PERIOD / "links.parquet")
    assert la.select(d).sort(d[:3]).equals(lb.select(d).sort(d[:3]))
    assert la.filter(pl.col("dept") == "人社")["reason"].str.contains("census").any()
    quality = pl.read_csv(out / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
    assert quality["类别"].str.contains("参保名单完整度").sum() == 1  # the full run's line, kept once


def test_partial_rerun_refuses_without_a_full_run_and_unknown_departments(prefect_harness, small_county, tmp_path, capsys):
    assert _run(small_county / "inbox", tmp_path, "--dept", "医保") == 2
    assert "run the whole period first" in capsys.readouterr().err
    assert _run(small_county / "inbox", tmp_path, "--dept", "税务") == 2
    assert "unknown department" in capsys.readouterr().err
    assert not (tmp_path / PERIOD).exists() and not list(tmp_path.iterdir())  # no lock file left either


@pytest.mark.parametrize("issued", ["2026-10-02", "2026-10-31", "2026-09-30"])
def test_an_issue_date_not_after_the_period_is_refused(issued, tmp_path, capsys):
    (tmp_path / "inbox" / PERIOD).mkdir(parents=True)
    assert cli.main(["run", "--inbox", str(tmp_path / "inbox"), "--period", PERIOD, "--out", str(tmp_path / "out"),
                       "--issue-date", issued]) == 2
    assert f"--issue-date {issued} is not after period {PERIOD}" in capsys.readouterr().err
    assert not (tmp_path / "out").exists()


def test_busy_warehouse_exits_3(small_county, tmp_path, capsys):
    with flows.warehouse_lock(tmp_path / "warehouse.duckdb") as held:
        assert held
        assert _run(small_county / "inbox", tmp_path) == 3
    assert "another run" in capsys.readouterr().err


def test_run_failure_exits_1_with_one_line(prefect_harness, tmp_path, capsys):
    (tmp_path / "inbox" / PERIOD / "医保").mkdir(parents=True)  # no roster: nothing can be linked
    (tmp_path / "inbox" / PERIOD / "医保" / "empty.csv").write_text("结算流水号,姓名\n", encoding="utf-8")
    assert _run(tmp_path / "inbox", tmp_path / "out") == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error: ") and "roster" in err[-1]


def _roster_of(inbox: Path, destroyed: int, persons: int = 20) -> None:
    """The period's 户籍底册 alone: `persons` of one household each, the first `destroyed` of them
    with the 证件号码 Excel saved as a number (3.41302E+17)."""
    from matchers.ids import check_char

    ids = [f"3413021962{1 + i // 28:02d}{1 + i % 28:02d}{101 + 2 * i:03d}" for i in range(persons)]
    rows = [f"大店镇,李湖村,H{i},P{i},张{'一二三四五六七八九十'[i % 10]}{i},"
            f"{'3.41302E+17' if i < destroyed else d + check_char(d)},户主" for i, d in enumerate(ids)]
    (inbox / PERIOD / "户籍底册").mkdir(parents=True, exist_ok=True)
    (inbox / PERIOD / "户籍底册" / "底册.csv").write_text(
        "\n".join(["乡（镇）,行政村,户编号,人编号,姓名,证件号码,与户主关系", *rows]) + "\n", encoding="utf-8-sig")


def _period_rows(wh: Path) -> dict[str, list]:
    """Every warehouse table's rows of the period (what a run of it replaces)."""
    from adapters import warehouse

    with warehouse.reading(wh) as con:
        return {t: sorted(map(str, con.execute(f"SELECT * FROM {t} WHERE period = ?", [PERIOD]).fetchall()))
                for t in warehouse.period_tables(wh, PERIOD)}


def test_a_roster_mostly_set_aside_is_refused_and_a_few_set_aside_still_run(prefect_harness, tmp_path, capsys):
    """A roster whose 证件号码 column went through Excel (969 of 1,052 persons set aside) ran and
    published lists built on the rest, looking normal. Such a run, and its dry run, now fail (exit
    1) in one line naming the file, how many of how many, the reason with a line, no ID number, and
    what to do; the published period and the warehouse's rows of it stay as they were. A roster
    with one person of 20 set aside runs."""
    inbox, out = tmp_path / "inbox", tmp_path / "out"
    _roster_of(inbox, destroyed=1)
    assert _run(inbox, out) == 0
    published, stored = _tree(out / PERIOD), _period_rows(out / "warehouse.duckdb")
    assert stored
    _roster_of(inbox, destroyed=19)
    for extra in ((), ("--dry-run",)):
        capsys.readouterr()
        assert _run(inbox, out, *extra) == 1
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"error: roster unusable in {inbox / PERIOD} (户籍底册/底册.csv): 19 of 20 "
                                  "persons (95%) set aside"), err[-1]
        assert "证件号码 已被Excel截为15位有效数字" in err[-1] and "line 2: 证件号码 '3.4130*E+17'" in err[-1]
        assert "set its 证件号码 column as text" in err[-1] and not ID18.search("\n".join(err))
        assert _tree(out / PERIOD) == published and _period_rows(out / "warehouse.duckdb") == stored
    fresh = tmp_path / "fresh"
    assert _run(inbox, fresh) == 1 and not (fresh / PERIOD).exists()


def test_artifacts_hold_counts_and_links_only(full_run):
    from prefect import get_client
    from prefect.client.schemas.filters import ArtifactFilter, ArtifactFilterKey

    county = full_run.county
    with get_client(sync_client=True) as client:
        # (filtered by the server: a session's earlier runs can push them past a page of artifacts)
        arts = {a.key: a for a in client.read_artifacts(artifact_filter=ArtifactFilter(key=ArtifactFilterKey(like_="341399-")))
                if a.key and a.key.startswith("341399-")}
    assert {"341399-accounting", "341399-warnings", "341399-summary", "341399-townships",
            "341399-county-files"} <= set(arts)
    acc = arts["341399-accounting"].data
    acc = acc if isinstance(acc, list) else __import__("json").loads(acc)
    assert {r["dept"] for r in acc} == {"医保", "住建", "教育", "水利", "民政", "残联", "人社", "农业农村"}
    assert all(r["rows_in"] == r["copies"] + r["superseded"] + r["matched"] + r["review"] + r["unmatched"] + r["rejected"]
               for r in acc)
    assert "file://" in str(arts["341399-townships"].data)
    assert re.search(r"review queue \(records\) \| \d+: \d+ new, \d+ waiting", str(arts["341399-summary"].data))
    text = " ".join(str(a.data) + str(a.description) for a in arts.values())
    assert not ID18.search(text)
    assert not [n for n in _roster_names(county) if n in text]
    assert not re.search(r"YJ\d{6}-", text)  # no 预警编号 either


def test_first_run_on_a_fresh_machine_starts_its_own_prefect(small_county, tmp_path):
    """The README's first command on a new machine: no Prefect server, an empty PREFECT_HOME (so
    Prefect migrates its database before its temporary API answers, which outlasts Prefect's
    default 20 s wait on a loaded 2-core machine). The run must still succeed."""
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env["PREFECT_HOME"] = str(tmp_path / "prefect_home")
    out = tmp_path / "out"
    proc = subprocess.run(
        [sys.executable, str(flows.ROOT / "flows.py"), "run", "--inbox", str(small_county / "inbox"),
         "--period", PERIOD, "--out", str(out)],
        env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "OK" in proc.stdout and (out / PERIOD / "townships").is_dir()
    assert (tmp_path / "prefect_home").is_dir()


def test_a_partial_enrollment_list_calls_no_one_absent_and_says_why(prefect_harness, small_county, tmp_path):
    """医保 delivers a 参保名单 holding a third of its rows (one county's file of three, say):
    M4 warns no roster person as absent from it, only 暂停/终止 ones, and the data-quality
    report says the rule was held back."""
    inbox = tmp_path / "inbox"
    shutil.copytree(small_county / "inbox", inbox)
    path = next((inbox / PERIOD / "医保").glob("参保名单*.csv"))
    raw = path.read_bytes()
    try:
        enc, lines = "utf-8-sig", raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        enc, lines = "gb18030", raw.decode("gb18030").splitlines()
    head = next(i for i, line in enumerate(lines) if "人员编号" in line)
    kept = lines[:head + 1] + [line for i, line in enumerate(lines[head + 1:]) if i % 3 == 0]
    path.write_bytes(("\n".join(kept) + "\n").encode(enc))
    out = tmp_path / "out"
    assert _run(inbox, out) == 0
    quality = pl.read_csv(out / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
    held = quality.filter(pl.col("类别").str.contains("规则暂停"))["说明"].to_list()
    assert len(held) == 1 and held[0].startswith("M4: ") and "部分报送" in held[0], held
    m4 = pl.read_parquet(out / PERIOD / "warnings.parquet").filter(pl.col("rule") == "M4")
    assert (m4["record_ids"].list.len() > 0).all()  # only suspended/terminated enrollments, no one absent


def test_review_answers_wait_until_a_run_links_their_department_and_a_wrong_yes_asks_again(
        full_run, tmp_path, capsys):
    """Answers for 医保 and 民政 arrive after the full run. `--dept 医保` links 医保 with them and
    says 民政's wait; so must a `--dept 住建` after it, though the answers are stored by then
    (民政's links still predate them); `--dept 民政` takes them. The 是 for 医保 confirms, for a
    参保名单 record added since (x, a masked copy of y: the analyst picked the wrong record), the
    person the matcher had linked y to: y is not silently unlinked but waits in review with that
    person, in the queue like any review row, saying which answer took them; the rows balance.
    Taking the file out, a partial run says which kept links were made with answers it no longer
    holds, until a run re-reads their department."""
    inbox, out = tmp_path / "inbox", _copy_out(full_run, tmp_path)  # the full run, on a copy of its inbox
    shutil.copytree(full_run.county / "inbox", inbox)
    links = pl.read_parquet(out / PERIOD / "links.parquet")
    raw = next((inbox / PERIOD / "医保").glob("参保名单*.csv")).read_bytes()
    try:
        lines = raw.decode("utf-8-sig").splitlines()
    except UnicodeDecodeError:
        lines = raw.decode("gb18030").splitlines()
    head = next(i for i, line in enumerate(lines) if "人员编号" in line)
    rows = {line.split(",")[0]: line.split(",") for line in lines[head + 1:]}
    y = links.filter(pl.col("kind") == "med_enrollment", pl.col("decision") == "matched",
                     pl.col("reason").str.contains("(6+4) kept-agree", literal=True),
                     pl.col("record_id").is_in(list(rows))).sort("record_id").row(0, named=True)
    x = ["CB99999999", rows[y["record_id"]][1][0] + "*" * (len(rows[y["record_id"]][1]) - 1), *rows[y["record_id"]][2:]]
    (inbox / PERIOD / "医保" / "参保名单_2026-10_补报.csv").write_text(lines[head] + "\n" + ",".join(x) + "\n", encoding="utf-8")
    c = links.filter(pl.col("dept") == "民政", pl.col("decision") == "matched").sort("record_id").row(0, named=True)
    (inbox / PERIOD / "复核").mkdir()
    pl.DataFrame({"部门": ["医保", "民政"], "记录编号": ["CB99999999", c["record_id"]],
                  "人编号": [y["person_id"], c["person_id"]], "是否本人": ["是", "否"]}).write_csv(
        inbox / PERIOD / "复核" / "复核结论.csv")

    def waiting() -> int:  # records whose answers wait for a run that links their department
        quality = pl.read_csv(out / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
        line = quality.filter(pl.col("类别") == "人工复核结论 review answers")["说明"].item()
        return int(m.group(1)) if (m := re.search(r"(\d+) 条属[^；]*未重读的部门", line)) else 0

    assert _run(inbox, out, "--dept", "医保") == 0
    assert waiting() == 1
    said = pl.read_csv(out / PERIOD / "county" / "数据质量报告.csv", infer_schema=False).filter(
        pl.col("类别") == "人工复核结论 review answers")["说明"].item()
    assert "不在本期记录中" not in said, said  # (民政's record is in the period: its department was not re-read)
    d = {r["record_id"]: r for r in pl.read_parquet(out / PERIOD / "links.parquet").filter(
        pl.col("record_id").is_in(["CB99999999", y["record_id"], c["record_id"]])).iter_rows(named=True)}
    assert (d["CB99999999"]["decision"], d["CB99999999"]["person_id"]) == ("matched", y["person_id"])
    assert d[y["record_id"]]["decision"] == "review" and d[c["record_id"]]["person_id"] == c["person_id"]
    queue = pl.read_csv(out / PERIOD / "county" / "人工复核队列.csv", infer_schema=False).filter(
        pl.col("记录编号") == y["record_id"])
    assert queue["人编号"].to_list()[:1] == [y["person_id"]], queue
    assert "记录 CB99999999（复核/复核结论.csv 第 2 行，2026-10 收到）的本人" in queue["复核原因"][0], queue["复核原因"][0]
    acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv").filter(pl.col("dept") == "医保").row(0, named=True)
    assert acc["balanced"] and acc["review"] == links.filter(pl.col("dept") == "医保", pl.col("decision") == "review").height + 1

    assert _run(inbox, out, "--dept", "住建") == 0  # 民政's links are still those of the full run
    assert waiting() == 1
    assert _run(inbox, out, "--dept", "民政") == 0
    assert waiting() == 0
    now = pl.read_parquet(out / PERIOD / "links.parquet").filter(pl.col("record_id") == c["record_id"])
    assert now["person_id"].to_list() != [c["person_id"]]

    # The bureau takes the file back: 医保's and 民政's kept links were made with its answers. A
    # `--dept 住建` keeps them, and says so; a run re-reading 民政 links it without its answer.
    def withdrawn() -> int:
        quality = pl.read_csv(out / PERIOD / "county" / "数据质量报告.csv", infer_schema=False)
        line = quality.filter(pl.col("类别") == "人工复核结论 review answers")["说明"]
        return int(m.group(1)) if line.len() and (m := re.search(r"(\d+) 条记录的结论已不在 复核/ 中", line.item())) else 0

    (inbox / PERIOD / "复核" / "复核结论.csv").unlink()
    capsys.readouterr()
    assert _run(inbox, out, "--dept", "住建") == 0
    assert withdrawn() == 2 and "2 records' answers no longer in 复核/" in capsys.readouterr().out
    assert _run(inbox, out, "--dept", "民政") == 0
    assert withdrawn() == 1  # 医保's links are still those made with the 是
    now = pl.read_parquet(out / PERIOD / "links.parquet").filter(pl.col("record_id") == c["record_id"])
    assert now["person_id"].to_list() == [c["person_id"]]  # the 否 no longer applies


def test_a_run_without_cascade_names_the_later_periods_it_leaves_as_they_were(tmp_path, monkeypatch, capsys):
    """Re-running October with --no-cascade after November ran said nothing of November, whose
    sums, warning history and lists still come from the October before: the console says which
    later periods were not run again, and that running them takes the change in."""
    import argparse

    monkeypatch.setattr(cli, "monthly_run", lambda *a, **k: None)
    monkeypatch.setattr(cli, "flow_result", lambda state: {})
    monkeypatch.setattr(console, "summary_lines", lambda result: ["行数核对 …"])
    monkeypatch.setattr(cli, "_later_periods", lambda wh, period: ["2026-11", "2026-12"])
    monkeypatch.setattr(cli, "recover_interrupted", lambda out, wh: None)
    ran = []
    monkeypatch.setattr(cli, "rerun_later_periods", lambda *a: ran.append(a))
    args = argparse.Namespace(dry_run=False, no_cascade=True, period=PERIOD, inbox=str(tmp_path), out=str(tmp_path),
                              config=None, set=[], issue_date=None, county=None)
    assert cli._run_locked(args, None, tmp_path / "warehouse.duckdb", ()) == 0
    out = capsys.readouterr().out
    assert not ran and "not run again (--no-cascade): 2026-11, 2026-12" in out and "run them again" in out
    args.no_cascade = False
    assert cli._run_locked(args, None, tmp_path / "warehouse.duckdb", ()) == 0
    assert len(ran) == 1 and "--no-cascade" not in capsys.readouterr().out
    # a dry run changed nothing for them to take in: it says what a real run would leave
    args.dry_run = args.no_cascade = True
    assert cli._run_locked(args, None, tmp_path / "warehouse.duckdb", ()) == 0
    out = capsys.readouterr().out
    assert len(ran) == 1 and "run them again to take it in" not in out, out
    assert (f"note: a real run with --no-cascade would not run again 2026-11, 2026-12, already run: they would "
            f"still reflect {PERIOD} as it was before it") in out, out


def test_a_summary_that_cannot_be_made_leaves_the_done_period_done(tmp_path, monkeypatch, capsys):
    """The console's summary is made after the period is stored and published: should making it
    fail (a key a result lacks), the run does not end "failed" (exit 1, a scheduled run marked
    failed and run again) but says the summary is missing and where the row accounting is."""
    import argparse

    def broken(result):
        raise KeyError("accounting")

    monkeypatch.setattr(cli, "monthly_run", lambda *a, **k: None)
    monkeypatch.setattr(cli, "flow_result", lambda state: {"period": PERIOD, "out": f"OUT/{PERIOD}"})
    monkeypatch.setattr(console, "summary_lines", broken)
    monkeypatch.setattr(cli, "_later_periods", lambda wh, period: [])
    monkeypatch.setattr(cli, "recover_interrupted", lambda out, wh: None)
    args = argparse.Namespace(dry_run=False, no_cascade=True, period=PERIOD, inbox=str(tmp_path), out=str(tmp_path),
                              config=None, set=[], issue_date=None, county=None)
    assert cli._run_locked(args, None, tmp_path / "warehouse.duckdb", ()) == 0
    out = capsys.readouterr().out
    assert (f"note: the summary of {PERIOD} could not be made (KeyError); the run is done: its row accounting is in "
            f"OUT/{PERIOD}/county/行数核对_accounting.csv") in out, out
    assert flows.summary_text({"dry_run": True}).endswith("(KeyError); it wrote nothing")


def test_a_cascade_that_fails_before_any_later_period_says_the_period_is_done_and_exits_4(tmp_path, monkeypatch,
                                                                                          capsys):
    """The period ran and was published; reading which later periods to re-run then failed (here
    a warehouse I/O error): not exit 1 'the run failed' but 4, the period done, the later ones as
    they were and what to run. (A later period's own failure: tests/test_history.py.)"""
    import argparse

    monkeypatch.setattr(cli, "monthly_run", lambda *a, **k: None)
    monkeypatch.setattr(cli, "flow_result", lambda state: {})
    monkeypatch.setattr(console, "summary_lines", lambda result: ["行数核对 …"])
    monkeypatch.setattr(cli, "recover_interrupted", lambda out, wh: None)

    def fails(*a):
        raise duckdb.IOException("IO Error: Could not read from file")
    # (listing them is the cascade's own step: a scheduled run and a province county say it so too)
    monkeypatch.setattr(cli.warehouse, "later_periods", fails)
    args = argparse.Namespace(dry_run=False, no_cascade=False, period=PERIOD, inbox=str(tmp_path), out=str(tmp_path),
                              config=None, set=[], issue_date=None, county=None)
    assert cli._run_locked(args, None, tmp_path / "warehouse.duckdb", ()) == cli.EXIT_PARTLY
    printed = capsys.readouterr()
    assert "行数核对" in printed.out
    err = printed.err.strip().splitlines()
    assert err[-1].startswith(f"error: {PERIOD} is done, but re-running the later periods") and "IOException" in err[-1]
    assert "Could not read" not in err[-1] and f"still reflect {PERIOD} as it was before" in err[-1], err[-1]


def test_a_run_without_cascade_that_cannot_list_the_later_periods_says_the_period_is_done_and_exits_4(
        tmp_path, monkeypatch, capsys):
    """--no-cascade: the period ran and was published; reading which later periods still reflect
    it as it was (for the note) then failed, a warehouse I/O error: not exit 1 'the run failed'
    but 4, the period done, as when the cascade itself cannot list them."""
    import argparse

    from adapters import warehouse

    monkeypatch.setattr(cli, "monthly_run", lambda *a, **k: None)
    monkeypatch.setattr(cli, "flow_result", lambda state: {})
    monkeypatch.setattr(console, "summary_lines", lambda result: ["行数核对 …"])
    monkeypatch.setattr(cli, "recover_interrupted", lambda out, wh: None)
    wh = tmp_path / "warehouse.duckdb"
    warehouse.connect(wh).close()

    def fails(*a):
        raise duckdb.IOException("IO Error: Could not read from file")
    monkeypatch.setattr(cli.warehouse, "later_periods", fails)
    args = argparse.Namespace(dry_run=False, no_cascade=True, period=PERIOD, inbox=str(tmp_path), out=str(tmp_path),
                              config=None, set=[], issue_date=None, county=None)
    assert cli._run_locked(args, None, wh, ()) == cli.EXIT_PARTLY
    printed = capsys.readouterr()
    assert "行数核对" in printed.out
    err = printed.err.strip().splitlines()[-1]
    assert err.startswith(f"error: {PERIOD} is done, but ") and "IOException" in err and "Could not read" not in err, err


def test_a_dry_run_after_a_killed_run_says_its_folders_await_recovery_and_changes_nothing(tmp_path, monkeypatch,
                                                                                         capsys):
    """A run of October was killed after it swapped its folder in, before its commit: OUT holds the
    folder it put in and the one it replaced, set aside. A dry run does not recover (it writes
    nothing) and read OUT as it was without a word: the folder it read may be the one the next
    real run's recovery removes. It says which folders await recovery and that the next real run
    recovers them, and leaves them as they are."""
    import argparse

    monkeypatch.setattr(cli, "monthly_run", lambda *a, **k: None)
    monkeypatch.setattr(cli, "flow_result", lambda state: {})
    monkeypatch.setattr(console, "summary_lines", lambda result: ["would write …"])
    out = tmp_path / "out"
    left = [f".{PERIOD}.old-{PERIOD}-20261102T020000000000", f".{PERIOD}.staging-k1ll3d"]
    for name in [PERIOD, *left]:
        (out / name).mkdir(parents=True)
    args = argparse.Namespace(dry_run=True, no_cascade=False, period=PERIOD, inbox=str(tmp_path), out=str(out),
                              config=None, set=[], issue_date=None, county=None)
    assert cli._run_locked(args, None, out / "warehouse.duckdb", ()) == 0
    err = capsys.readouterr().err
    assert (f"note: a killed run left {', '.join(left)} in {out}, to be recovered: this dry run reads {out} as it is; "
            f"the next real run recovers them first") in err, err
    assert sorted(p.name for p in out.iterdir()) == sorted([PERIOD, *left])


class _Killed(BaseException):
    """The process ends here (SIGKILL, the machine switched off): nothing after it runs."""


def test_a_run_killed_between_its_period_and_the_cascade_names_the_later_periods(tmp_path, monkeypatch):
    """October re-run after November ran: October is stored, published and its run recorded ok;
    the process is killed as the cascade begins, before November's run starts: every run is
    recorded ok, none is left running. The next run's recovery says that November still
    reflects October as it was (the mark `cascading` left), once."""
    import argparse

    from adapters import warehouse

    wh, out = tmp_path / "warehouse.duckdb", tmp_path / "out"
    out.mkdir()

    def run(con, period):
        run_id = warehouse.begin_run(con, period, "x")
        with warehouse.replacing_period(con, period, {"warnings": pl.DataFrame({"warning_id": [period]})}):
            warehouse.mark_stored(con, run_id)
        warehouse.finish_run(con, run_id, "ok")

    con = warehouse.connect(wh)
    try:
        run(con, PERIOD)
        run(con, "2026-11")
    finally:
        con.close()

    def october(*args, **kwargs):  # the re-run of October: stored, published, recorded ok
        con = warehouse.connect(wh)
        try:
            run(con, PERIOD)
        finally:
            con.close()

    def killed(*args):
        raise _Killed
    monkeypatch.setattr(cli, "monthly_run", october)
    monkeypatch.setattr(cli, "flow_result", lambda state: {})
    monkeypatch.setattr(console, "summary_lines", lambda result: [])
    monkeypatch.setattr(cli, "rerun_later_periods", killed)
    args = argparse.Namespace(dry_run=False, no_cascade=False, period=PERIOD, inbox=str(tmp_path), out=str(out),
                              config=None, set=[], issue_date=None, county=None)
    with pytest.raises(_Killed):
        cli._run_locked(args, None, wh, ())
    lines = flows.recover_interrupted(out, wh)
    assert lines == [f"{PERIOD}: its run was killed before it re-ran the later periods already run: 2026-11 "
                     f"still reflects {PERIOD} as it was before: run 2026-11 again"], lines
    assert flows.recover_interrupted(out, wh) == []  # (said once)
    # a cascade that ends, or fails saying so itself, leaves no mark
    for cascade in (lambda *a: [], lambda *a: (_ for _ in ()).throw(flows.CascadeStopped("said"))):
        monkeypatch.setattr(cli, "rerun_later_periods", cascade)
        cli._run_locked(args, None, wh, ())
        assert flows.recover_interrupted(out, wh) == []


def test_a_partial_run_whose_full_run_s_folder_is_gone_is_refused_before_it_runs(tmp_path, monkeypatch, capsys):
    """`--dept` keeps the other departments' review queue and data-quality rows from the period's
    published county folder: with the warehouse recording a full run but OUT/<period>/county gone
    (another --out, the folder moved away) it is refused as bad arguments (2), before any run, as
    with no full run at all (the run itself failed later, exit 1)."""
    import argparse

    ran = []
    monkeypatch.setattr(cli, "monthly_run", lambda *a, **k: ran.append(a))
    monkeypatch.setattr(cli, "full_run_done", lambda wh, period: True)
    args = argparse.Namespace(dry_run=False, no_cascade=False, period=PERIOD, inbox=str(tmp_path), out=str(tmp_path),
                              config=None, set=[], issue_date=None, county=None, dept=["医保"])
    assert cli._run_locked(args, None, tmp_path / "warehouse.duckdb", ("医保",)) == cli.EXIT_USAGE
    assert not ran and "run the whole period first" in capsys.readouterr().err


def test_a_dry_run_without_cascade_that_cannot_list_the_later_periods_fails_it_does_not_say_done(
        tmp_path, monkeypatch, capsys):
    """A dry run changed nothing: when the later periods it would leave as they were cannot be
    read, it failed (1), with the one safe line; not 'the period is done' (4), as a real run says."""
    import argparse

    monkeypatch.setattr(cli, "monthly_run", lambda *a, **k: None)
    monkeypatch.setattr(cli, "flow_result", lambda state: {})
    monkeypatch.setattr(console, "summary_lines", lambda result: ["would write …"])

    def fails(*a):
        raise duckdb.IOException("IO Error: Could not read from file")
    monkeypatch.setattr(cli, "_later_periods", fails)
    args = argparse.Namespace(dry_run=True, no_cascade=True, period=PERIOD, inbox=str(tmp_path), out=str(tmp_path),
                              config=None, set=[], issue_date=None, county=None)
    assert cli._run_locked(args, None, tmp_path / "warehouse.duckdb", ()) == cli.EXIT_FAILED
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error: IOException") and "is done" not in err and "Could not read" not in err, err


def test_a_run_without_cascade_killed_after_its_period_leaves_no_cascade_to_recover(tmp_path, monkeypatch):
    """--no-cascade: the later periods are not to be re-run (the run says which it leaves). Killed
    after its period was stored and published, the next run's recovery named them as left by a
    cascade that never was to run (`cascading` marked it all the same)."""
    import argparse

    from adapters import warehouse

    wh, out = tmp_path / "warehouse.duckdb", tmp_path / "out"
    out.mkdir()

    def run(period):  # (a run that stored its period and is recorded ok)
        con = warehouse.connect(wh)
        try:
            run_id = warehouse.begin_run(con, period, "x")
            with warehouse.replacing_period(con, period, {"warnings": pl.DataFrame({"warning_id": [period]})}):
                warehouse.mark_stored(con, run_id)
            warehouse.finish_run(con, run_id, "ok")
        finally:
            con.close()

    run("2026-11")
    monkeypatch.setattr(cli, "monthly_run", lambda *a, **k: run(PERIOD))

    def killed(state):
        raise _Killed
    monkeypatch.setattr(cli, "flow_result", killed)
    args = argparse.Namespace(dry_run=False, no_cascade=True, period=PERIOD, inbox=str(tmp_path), out=str(out),
                              config=None, set=[], issue_date=None, county=None)
    with pytest.raises(_Killed):
        cli._run_locked(args, None, wh, ())
    assert flows.recover_interrupted(out, wh) == []


def test_an_interrupt_after_the_period_is_published_is_itself_not_partly_done(full_run, tmp_path, monkeypatch):
    """Ctrl-C while the Prefect artifacts are made (the step after the commit): the interrupt
    propagates, not said as 'partly done' (4) as a failure of that step is; the run, whose period
    is stored and published, is recorded ok."""
    out = _copy_out(full_run, tmp_path)

    def interrupted(*_a, **_k):
        raise KeyboardInterrupt
    monkeypatch.setattr(flows, "create_markdown_artifact", interrupted)
    with pytest.raises(KeyboardInterrupt):
        _run(full_run.county / "inbox", out)
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        assert con.sql("SELECT status FROM runs ORDER BY started_at").fetchall() == [("ok",), ("ok",)]
    finally:
        con.close()


def test_a_full_rerun_without_the_enrollment_list_does_not_borrow_the_stored_one(full_run, tmp_path):
    """医保 takes its 参保名单 back (a wrong file) and the period is run again in full: no record
    is weighed against the list the period's earlier run stored (only a partial run that does not
    re-read 医保 borrows it), and the period stores none."""
    inbox, out = tmp_path / "inbox", _copy_out(full_run, tmp_path)
    shutil.copytree(full_run.county / "inbox", inbox)
    for f in (inbox / PERIOD / "医保").glob("参保名单*.csv"):
        f.unlink()
    assert _run(inbox, out) == 0
    links = pl.read_parquet(out / PERIOD / "links.parquet")
    assert not links["reason"].fill_null("").str.contains("census").any()
    con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
    try:
        assert con.sql("SELECT count(*) FROM census_records WHERE period = ?", params=[PERIOD]).fetchall() == [(0,)]
    finally:
        con.close()


@pytest.mark.parametrize("source", ["file", "set"])
def test_a_config_value_refused_says_where_it_came_from_in_one_line(source, tmp_path, capsys):
    """`threshold = "high"` in an analyst's copy, or `--set M1.threshold=high`, was said
    'rules.M1.threshold must be a number' alike: the file (with its line) or the --set is named
    now, in the one line of exit 2, no traceback."""
    from config import DEFAULT_CONFIG
    text = DEFAULT_CONFIG.read_text(encoding="utf-8")
    mine = tmp_path / "my.toml"
    mine.write_text(text.replace("\nthreshold = 5000", '\nthreshold = "high"', 1) if source == "file" else text,
                    encoding="utf-8")
    line = next(n for n, s in enumerate(mine.read_text(encoding="utf-8").splitlines(), 1) if s == 'threshold = "high"'
                ) if source == "file" else None
    args = ["run", "--inbox", str(tmp_path), "--period", "2026-10", "--out", str(tmp_path / "o"), "--config", str(mine)]
    assert cli.main(args + (["--set", "M1.threshold=high"] if source == "set" else [])) == 2
    where = f"{mine}, line {line}" if source == "file" else "--set M1.threshold=high"
    assert capsys.readouterr().err == (f"error: configuration: {where}: rules.M1.threshold must be a number, "
                                       f"got 'high'\n")

"""A province run: two small generated counties in one `province-run` flow, each county's
`monthly-run` submitted concurrently through the flow's task runner; each keeps its own
inbox, outputs and warehouse."""

from __future__ import annotations

import io
from contextlib import redirect_stdout
from pathlib import Path

import duckdb
import polars as pl
import pytest

import cli
import flows
from tests.conftest import killed_run_and_what_the_run_saw

PERIOD = "2026-10"


@pytest.fixture(scope="module")
def two_counties(tmp_path_factory) -> list[dict]:
    """Two generated counties, each with its own inbox and OUT. The first also holds September,
    which no province run here runs (the earlier-month test runs it on a copy)."""
    from sample_data.generate import generate

    root = tmp_path_factory.mktemp("province")
    counties = []
    for code, seed, periods in (("341321", 21, ("2026-09", PERIOD)), ("341322", 22, (PERIOD,))):
        generate(root / code, seed=seed, periods=periods, households=300)
        counties.append({"name": f"县{code}", "code": code, "inbox": str(root / code / "inbox"),
                         "out": str(root / code / "out")})
    return counties


@pytest.fixture(scope="module")
def province_cli_run(prefect_harness, two_counties, tmp_path_factory) -> dict:
    """`flows.py province` on the two counties (each writes to its own `out`): its exit code and
    when it ran. The tests below read what it left: its outputs, its flow runs in the Prefect API
    (those started in its window: another test's province run may name a county alike)."""
    from datetime import datetime, timezone

    toml = tmp_path_factory.mktemp("province_toml") / "counties.toml"
    toml.write_text("".join(
        f'[[county]]\nname = "{c["name"]}"\ncode = "{c["code"]}"\ninbox = "{c["inbox"]}"\nout = "{c["out"]}"\n\n'
        for c in two_counties), encoding="utf-8")
    started = datetime.now(timezone.utc)
    printed = io.StringIO()
    with redirect_stdout(printed):
        code = cli.main(["province", "--counties", str(toml), "--period", PERIOD, "--issue-date", "2026-11-02",
                           "--workers", "2"])
    return {"code": code, "window": (started, datetime.now(timezone.utc)), "printed": printed.getvalue()}


def test_two_counties_in_one_province_flow(province_cli_run, two_counties):
    assert province_cli_run["code"] == 0
    # one line per county, and no later period re-run (none was run before: run_county's `later` is [])
    lines = province_cli_run["printed"].splitlines()
    assert sorted(line.split(":")[0] for line in lines) == sorted(c["name"] for c in two_counties), lines
    seen_links = []
    for c in two_counties:
        out = Path(c["out"])
        acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv")
        assert acc["balanced"].all() and acc.height == 8, c["code"]
        assert (out / "warehouse.duckdb").exists()
        con = duckdb.connect(str(out / "warehouse.duckdb"), read_only=True)
        try:
            n = con.sql("SELECT count(*) FROM links WHERE period = ?", params=[PERIOD]).fetchall()[0][0]
            runs = con.sql("SELECT status FROM runs").fetchall()
        finally:
            con.close()
        links = pl.read_parquet(out / PERIOD / "links.parquet")
        assert n == links.height and runs == [("ok",)]
        seen_links.append(set(links["record_id"]))
    # separate warehouses: each holds its own county only
    assert seen_links[0] != seen_links[1]


def test_province_flow_runs_counties_as_concurrent_subflows(province_cli_run):
    from prefect import get_client
    from prefect.task_runners import ProcessPoolTaskRunner

    assert isinstance(flows.province_run.task_runner, ProcessPoolTaskRunner)
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterName, FlowRunFilterStartTime

    wanted = ["341321-2026-10", "341322-2026-10"]
    started, finished = province_cli_run["window"]
    with get_client(sync_client=True) as client:
        runs = client.read_flow_runs(flow_run_filter=FlowRunFilter(
            name=FlowRunFilterName(any_=wanted), start_time=FlowRunFilterStartTime(after_=started, before_=finished)))
    names = {r.name for r in runs}
    assert {"341321-2026-10", "341322-2026-10"} <= names  # one monthly-run subflow per county
    sub = sorted((r for r in runs if r.name in {"341321-2026-10", "341322-2026-10"}), key=lambda r: r.start_time)
    parents = {r.parent_task_run_id for r in sub}
    assert None not in parents and len(parents) == 2
    # both are children of one province-run flow run, each executed in a worker process of its
    # task runner (threads would not do: Prefect 3.9 serialises subflows started from threads)
    from prefect.client.schemas.filters import TaskRunFilter, TaskRunFilterId

    with get_client(sync_client=True) as client:
        tasks = client.read_task_runs(task_run_filter=TaskRunFilter(id=TaskRunFilterId(any_=list(parents))))
        [province] = {t.flow_run_id for t in tasks}
        assert client.read_flow_run(province).name and client.read_flow(
            client.read_flow_run(province).flow_id).name == "province-run"
    assert flows.province_run.task_runner._max_workers >= 2


def test_a_county_setting_the_run_would_refuse_is_named_before_any_county_runs(tmp_path, capsys):
    """A county's `set`/`config` with a wrong value: exit 2 naming the county and the key, as
    `run` and `deploy` do. It ran every county and said only 'x: ValueError (details in the flow
    run's log)', exit 1."""
    (tmp_path / "inbox" / PERIOD).mkdir(parents=True)
    toml = tmp_path / "counties.toml"
    toml.write_text(f'[[county]]\nname = "测试县"\ncode = "341399"\ninbox = "{tmp_path / "inbox"}"\n'
                    f'out = "{tmp_path / "out"}"\nset = ["M1.threshold=abc"]\n', encoding="utf-8")
    assert cli.main(["province", "--counties", str(toml), "--period", PERIOD]) == 2
    err = capsys.readouterr().err
    assert "测试县" in err and "rules.M1.threshold must be a number" in err
    assert not (tmp_path / "out").exists()


def test_one_failing_county_does_not_stop_the_other(prefect_harness, two_counties, tmp_path):
    bad = {"name": "坏县", "code": "341399", "inbox": str(tmp_path / "none"), "out": str(tmp_path / "bad_out")}
    (tmp_path / "none" / PERIOD).mkdir(parents=True)  # an empty delivery: no roster, the run fails
    good = dict(two_counties[0], out=str(tmp_path / "good_out"))
    state = flows.province_run([bad, good], PERIOD, issue_date="2026-11-02", return_state=True)
    assert state.is_failed()
    assert (tmp_path / "good_out" / PERIOD / "county" / "行数核对_accounting.csv").exists()


def test_a_county_run_again_for_an_earlier_month_runs_its_later_months_again(province_cli_run, two_counties, tmp_path):
    """As `flows.py run` does: October depends on September (year-to-date sums, warning history).
    The first county's October, run by the province run (a fresh OUT: `later` was [], see above),
    on a copy; then its September."""
    import shutil

    first = two_counties[0]
    shutil.copytree(first["inbox"], tmp_path / "c" / "inbox")
    shutil.copytree(first["out"], tmp_path / "o")
    county = dict(first, inbox=str(tmp_path / "c" / "inbox"), out=str(tmp_path / "o"))
    late = flows.run_county.fn(county, "2026-09", None, None, "2026-10-09")
    assert late["later"] == ["re-running 2026-10: a later period already run, its sums and history depend on 2026-09; with its own default settings"]
    con = duckdb.connect(str(tmp_path / "o" / "warehouse.duckdb"), read_only=True)
    runs = con.sql("SELECT period, count(*) FROM runs WHERE status = 'ok' GROUP BY period ORDER BY period").fetchall()
    con.close()
    assert runs == [("2026-09", 1), (PERIOD, 2)]


def test_a_county_whose_later_months_stopped_is_partly_done_and_a_failed_county_still_fails(
        prefect_harness, tmp_path, monkeypatch, capsys):
    """A county whose October is done but whose November could not be re-run after it
    (`CascadeStopped`: `run` exits 4) was counted failed: the province exited 1, 'counties failed'.
    Counties all done or partly done: exit 4, the county's line said; a county that failed: exit 1,
    the lines of the counties done said too (they were not: the failed province run returned none)."""
    from prefect import task
    from prefect.cache_policies import NO_CACHE

    line = f"2026-11 was not re-run after {PERIOD} ({PERIOD} is done): its inbox folder is gone; ..."

    @task(cache_policy=NO_CACHE)
    def run_county(county, period, *_a):  # (the counties' runs, as they end; run in the pool's processes)
        if county["name"] == "停县":
            raise flows.CascadeStopped(line)
        if county["name"] == "坏县":
            raise flows.RunError("no usable roster")
        return {"county": county["name"], "code": county["code"], "out": county["out"], "balanced": True,
                "warnings": 3, "townships": 1, "later": ["re-running 2026-11: a later period already run"]}

    monkeypatch.setattr(flows, "run_county", run_county)

    def province(*names: str) -> int:
        toml = tmp_path / "counties.toml"
        toml.write_text("".join(f'[[county]]\nname = "{n}"\ncode = "{i}"\ninbox = "{tmp_path / n}"\n'
                                f'out = "{tmp_path / n / "out"}"\n\n' for i, n in enumerate(names)), encoding="utf-8")
        for n in names:
            (tmp_path / n / PERIOD).mkdir(parents=True, exist_ok=True)
        capsys.readouterr()
        return cli.main(["province", "--counties", str(toml), "--period", PERIOD])

    assert province("好县", "停县") == cli.EXIT_PARTLY
    printed = capsys.readouterr()
    assert printed.out.startswith("好县: 3 warnings, 1 townships") and "停县" not in printed.out
    assert "\n  re-running 2026-11: a later period already run\n" in printed.out  # (the county's later periods)
    err = printed.err.strip().splitlines()
    assert f"error: 停县: {line}" in err and err[-1] == "error: 1 of 2 counties partly done: 停县 (its line above)", err
    assert province("好县", "停县", "坏县") == cli.EXIT_FAILED
    printed = capsys.readouterr()
    err = printed.err.strip().splitlines()
    assert err[-1] == "error: 1 of 3 counties failed: 坏县; 1 partly done: 停县", err
    # the county done is said all the same, with the later periods it ran again
    assert printed.out.startswith("好县: 3 warnings, 1 townships") and "\n  re-running 2026-11: a later period" in printed.out


def test_a_counties_file_s_relative_folders_are_taken_from_its_own_folder(tmp_path, monkeypatch):
    """inbox = "341321/inbox" means beside the counties file, wherever the command is started."""
    folder = tmp_path / "province"
    folder.mkdir()
    (folder / "counties.toml").write_text('[[county]]\nname = "县"\ninbox = "341321/inbox"\nout = "/abs/out"\n'
                                          'config = "rules.toml"\n', encoding="utf-8")
    monkeypatch.chdir(tmp_path)
    [county] = cli.load_counties(Path("province") / "counties.toml")
    assert county["inbox"] == str(folder / "341321" / "inbox") and county["out"] == "/abs/out"
    assert county["config"] == str(folder / "rules.toml")


def test_a_counties_file_saved_by_notepad_or_wps_is_read_as_written(tmp_path):
    """The counties file is typed by the city's analyst like a config copy: with Notepad's BOM or
    as GB18030 (ANSI on Chinese Windows) it was 'Invalid statement' or a bare UnicodeDecodeError."""
    text = '[[county]]\nname = "埇桥区"\ninbox = "/data/埇桥区/inbox"\nout = "/data/埇桥区/out"\n'
    for encoding in ("utf-8-sig", "gb18030"):
        (tmp_path / "counties.toml").write_bytes(text.encode(encoding))
        [county] = cli.load_counties(tmp_path / "counties.toml")
        assert county["name"] == "埇桥区" and county["inbox"] == "/data/埇桥区/inbox", encoding


@pytest.mark.parametrize("period, says", [("2026-9", "--period must be YYYY-MM"), ("2026-11", "no period folder")])
def test_a_province_period_that_is_no_yyyy_mm_or_not_delivered_is_refused_before_any_county_runs(
        tmp_path, monkeypatch, capsys, period, says):
    """Bad arguments (2), said once, before the province flow starts: a period not written YYYY-MM
    (its folder there all the same), a county whose inbox has no folder of the period."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    started = []
    monkeypatch.setattr(cli, "province_run", type("Flow", (), {
        "with_options": lambda self, **k: lambda *a: started.append(a) or []})())
    (tmp_path / "inbox" / "2026-9").mkdir(parents=True)
    (tmp_path / "inbox" / PERIOD).mkdir()
    toml = tmp_path / "counties.toml"
    toml.write_text(f'[[county]]\nname = "测试县"\ninbox = "{tmp_path / "inbox"}"\nout = "{tmp_path / "out"}"\n',
                    encoding="utf-8")
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert cli.main(["province", "--counties", str(toml), "--period", period]) == 2
    assert says in capsys.readouterr().err and not started


def test_a_county_runs_under_its_lock_after_recovering_and_is_unbalanced_if_a_department_is(tmp_path, monkeypatch):
    """A province county: its own warehouse lock (a county another run is using fails, named), a
    killed run recovered first, its run and re-run later periods marked as a cascade, its
    flow run named after its code; its row balanced only if every department's rows balance."""
    out = tmp_path / "out"
    wh = out / "warehouse.duckdb"
    seen: dict = {}

    class MonthlyRun:  # (run_county names its flow run)
        __call__ = staticmethod(killed_run_and_what_the_run_saw(wh, seen))

        def with_options(self, flow_run_name):
            seen["name"] = flow_run_name
            return self

    monkeypatch.setattr(flows, "monthly_run", MonthlyRun())
    monkeypatch.setattr(flows, "flow_result", lambda state: {
        "out": str(out / PERIOD), "accounting": [{"balanced": True}, {"balanced": False}], "warnings": 3,
        "townships": ["甲镇", "乙镇"]})
    monkeypatch.setattr(flows, "rerun_later_periods", lambda *a: ["re-running 2026-11: ..."])
    county = {"name": "测试县", "code": "341399", "inbox": str(tmp_path / "inbox"), "out": str(out)}
    assert flows.run_county.fn(county, PERIOD, None, None, None) == {
        "county": "测试县", "code": "341399", "out": str(out / PERIOD), "balanced": False, "warnings": 3,
        "townships": 2, "later": ["re-running 2026-11: ..."]}
    assert seen == {"name": f"341399-{PERIOD}", "runs": [("2026-09", "interrupted")], "marked": [(PERIOD,)]}
    seen.clear()
    with flows.warehouse_lock(wh) as held:
        assert held
        with pytest.raises(flows.RunError, match=f"测试县: another run is using {wh}"):
            flows.run_county.fn(county, PERIOD, None, None, None)
    assert not seen

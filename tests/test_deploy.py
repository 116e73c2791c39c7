"""The scheduled deployments against a real Prefect server, started once for the module:
`prefect server start` on a free localhost port.
- `python flows.py serve ...` registers `monthly-scheduled/county-monthly` with the monthly cron
  (the 5th, 02:00 Asia/Shanghai); one run is triggered on a small generated county and must complete.
- `python flows.py deploy ...` registers one deployment per county on a process work pool; two
  `prefect worker start --limit 1` run one triggered run per county at the same time.
Skipped (with the server's own words) only when the server cannot start."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx
import polars as pl
import pytest

import cli
import flows

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
SERVER_START_S = 60
RUN_S = 150
POOL_RUNS_S = 240


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _stop(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()


@pytest.fixture(scope="module")
def prefect_server(tmp_path_factory):
    home = tmp_path_factory.mktemp("prefect_home")
    port = _free_port()
    url = f"http://127.0.0.1:{port}/api"
    env = {k: v for k, v in os.environ.items() if not k.startswith("PREFECT_")}
    env.update(PREFECT_HOME=str(home), PREFECT_SERVER_ANALYTICS_ENABLED="false", PREFECT_LOGGING_LEVEL="WARNING")
    log = open(home / "server.log", "w")
    server = subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "server", "start", "--host", "127.0.0.1",
         "--port", str(port), "--no-ui"],
        env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    deadline = time.monotonic() + SERVER_START_S
    up = False
    while time.monotonic() < deadline and server.poll() is None:
        try:
            up = httpx.get(f"{url}/health", timeout=2).status_code == 200
        except httpx.HTTPError:
            up = False
        if up:
            break
        time.sleep(0.5)
    if not up:
        _stop(server)
        log.close()
        tail = (home / "server.log").read_text(errors="replace")[-800:]
        pytest.skip(f"prefect server could not start within {SERVER_START_S}s on port {port}: {tail}")
    try:
        yield url, env | {"PREFECT_API_URL": url}
    finally:
        _stop(server)
        log.close()


def test_monthly_deployment_on_a_real_server(prefect_server, tmp_path, capsys):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from sample_data.generate import generate

    url, env = prefect_server
    generate(tmp_path / "county", seed=9, periods=(PERIOD,), households=300)
    inbox, out = tmp_path / "county" / "inbox", tmp_path / "out"
    serve_log = open(tmp_path / "serve.log", "w")
    serve = subprocess.Popen(
        [sys.executable, str(ROOT / "flows.py"), "serve", "--inbox", str(inbox), "--out", str(out),
         "--county", "341398"],
        cwd=ROOT, env=env, stdout=serve_log, stderr=subprocess.STDOUT, start_new_session=True,
    )
    try:
        with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
            deployment, deadline = None, time.monotonic() + 60
            while deployment is None and time.monotonic() < deadline:
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
                try:
                    deployment = client.read_deployment_by_name("monthly-scheduled/county-monthly")
                except Exception:  # noqa: BLE001 - not registered yet
                    time.sleep(1)
            assert deployment is not None, (tmp_path / "serve.log").read_text()[-2000:]
            [schedule] = deployment.schedules
            assert schedule.active
            assert schedule.schedule.cron == cli.MONTHLY_CRON == "0 2 5 * *"
            assert schedule.schedule.timezone == "Asia/Shanghai"
            assert deployment.parameters["inbox_dir"] == str(inbox.resolve())

            # "trigger a run now", as docs/OPERATIONS.md says, for a given period
            run = client.create_flow_run_from_deployment(
                deployment.id, parameters={"period": PERIOD, "issue_date": "2026-11-02"})
            deadline = time.monotonic() + RUN_S
            while time.monotonic() < deadline:
                run = client.read_flow_run(run.id)
                if run.state and run.state.is_final():
                    break
                assert serve.poll() is None, (tmp_path / "serve.log").read_text()[-2000:]
                time.sleep(1)
            assert run.state and run.state.is_completed(), (
                f"{run.state}\n{(tmp_path / 'serve.log').read_text()[-3000:]}")
            arts = {a.key for a in client.read_artifacts() if a.key}
            assert "341398-accounting" in arts
        # a second county served under the same name would take this one's schedule over: refused
        with temporary_settings(updates={PREFECT_API_URL: url}):
            assert cli.main(["serve", "--inbox", str(inbox), "--out", str(tmp_path / "other")]) == 2
            assert cli.main(["serve", "--inbox", str(inbox), "--out", str(out), "--cron", "bogus"]) == 2
        err = capsys.readouterr().err
        assert "already serves" in err and str(out.resolve()) in err and "--name" in err, err
    finally:
        _stop(serve)
        serve_log.close()
    acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv")
    assert acc["balanced"].all()
    assert (out / "warehouse.duckdb").exists()


def test_counties_deployed_on_a_work_pool_run_at_once_on_two_workers(prefect_server, tmp_path):
    from prefect.client.orchestration import get_client
    from prefect.settings import PREFECT_API_URL, temporary_settings

    from sample_data.generate import generate

    url, env = prefect_server
    codes = ("341321", "341322")
    for code, seed in zip(codes, (21, 22)):
        generate(tmp_path / code, seed=seed, periods=(PERIOD,), households=300)
    # relative paths (from the file's folder), and the second county on its machine's work queue
    (tmp_path / "suzhou.toml").write_text(
        "".join(f'[[county]]\nname = "县{c}"\ncode = "{c}"\ninbox = "{c}/inbox"\nout = "{c}/out"\n\n' for c in codes)
        + 'queue = "host-b"\n', encoding="utf-8")
    deploy = subprocess.run(
        [sys.executable, str(ROOT / "flows.py"), "deploy", "--counties", str(tmp_path / "suzhou.toml"),
         "--pool", "suzhou"], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120)
    assert deploy.returncode == 0, deploy.stderr[-2000:]
    assert deploy.stdout.splitlines()[:2] == [f"monthly-scheduled/{c}" for c in codes], deploy.stdout
    assert "prefect worker start --pool suzhou" in deploy.stdout

    worker_env = env | {"PREFECT_WORKER_QUERY_SECONDS": "1", "PREFECT_WORKER_PREFETCH_SECONDS": "1",
                        "PREFECT_LOGGING_LEVEL": "INFO"}
    logs = [tmp_path / f"worker{i}.log" for i in (1, 2)]
    log_files = [open(log, "w") for log in logs]
    # one worker per machine, each taking its machine's queue (the first county's is the pool's
    # default queue): which run each takes does not depend on who polls first on a busy host
    workers = [subprocess.Popen(
        [str(Path(sys.executable).with_name("prefect")), "worker", "start", "--pool", "suzhou", "--limit", "1",
         "--work-queue", queue, "--name", log.stem], cwd=tmp_path, env=worker_env, stdout=fh,
        stderr=subprocess.STDOUT, start_new_session=True)
        for log, fh, queue in zip(logs, log_files, ("default", "host-b"))]

    def worker_logs() -> str:
        return "\n".join(f"--- {log.name}\n{log.read_text(errors='replace')[-3000:]}" for log in logs)

    try:
        with temporary_settings(updates={PREFECT_API_URL: url}), get_client(sync_client=True) as client:
            deployments = [client.read_deployment_by_name(f"monthly-scheduled/{c}") for c in codes]
            for code, d in zip(codes, deployments):
                [schedule] = d.schedules
                assert schedule.active and schedule.schedule.cron == cli.MONTHLY_CRON
                assert schedule.schedule.timezone == flows.TIMEZONE
                assert d.work_pool_name == "suzhou" and d.parameters["county"] == code
                assert d.parameters["inbox_dir"] == str(tmp_path / code / "inbox")
                assert d.parameters["out_dir"] == str(tmp_path / code / "out")
            assert [d.work_queue_name for d in deployments] == ["default", "host-b"]

            # both workers polling before the runs exist, so neither takes both in turn
            deadline = time.monotonic() + 60
            while {w.name for w in client.read_workers_for_work_pool("suzhou")} != {"worker1", "worker2"}:
                assert time.monotonic() < deadline and all(w.poll() is None for w in workers), worker_logs()
                time.sleep(0.5)
            runs = [client.create_flow_run_from_deployment(
                d.id, parameters={"period": PERIOD, "issue_date": "2026-11-02"}) for d in deployments]
            deadline = time.monotonic() + POOL_RUNS_S
            while time.monotonic() < deadline:
                runs = [client.read_flow_run(r.id) for r in runs]
                if all(r.state and r.state.is_final() for r in runs):
                    break
                assert all(w.poll() is None for w in workers), worker_logs()
                time.sleep(1)
            assert all(r.state and r.state.is_completed() for r in runs), (
                f"{[r.state for r in runs]}\n{worker_logs()}")
            # a worker with --limit 1 holds its one slot from claiming a run (Pending) until the run
            # ends: two runs in flight at the same time were on two workers, at once
            claimed = [min(st.timestamp for st in client.read_flow_run_states(r.id) if st.is_pending())
                       for r in runs]
    finally:
        for w, fh in zip(workers, log_files):
            _stop(w)
            fh.close()
    for code in codes:
        out = tmp_path / code / "out"
        acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv")
        assert acc["balanced"].all(), code
        assert (out / "warehouse.duckdb").exists(), code
    (a, b), (claimed_a, claimed_b) = runs, claimed
    assert claimed_a < b.end_time and claimed_b < a.end_time, (
        f"in flight {claimed_a}-{a.end_time} / {claimed_b}-{b.end_time}\n{worker_logs()}")


def test_previous_period_is_the_month_before_in_county_time():
    from datetime import date

    assert flows.previous_period(date(2026, 11, 5)) == "2026-10"
    assert flows.previous_period(date(2027, 1, 5)) == "2026-12"


def test_serve_refuses_without_a_server(monkeypatch, tmp_path, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert cli.main(["serve", "--inbox", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "prefect server start" in capsys.readouterr().err


def test_deploy_refuses_without_a_server_and_with_a_bad_county_setting(tmp_path, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    toml = tmp_path / "counties.toml"
    toml.write_text('[[county]]\nname = "县"\ncode = "341321"\ninbox = "in"\nout = "out"\nset = ["Nope.x=1"]\n',
                    encoding="utf-8")
    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert cli.main(["deploy", "--counties", str(toml), "--pool", "suzhou"]) == 2
    assert "prefect server start" in capsys.readouterr().err
    # refused before the server is asked anything (nothing listens on this port)
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert cli.main(["deploy", "--counties", str(toml), "--pool", "suzhou"]) == 2
    assert "Nope.x" in capsys.readouterr().err


def test_serve_and_deploy_refuse_a_missing_folder_before_asking_the_server(tmp_path, capsys):
    """A mistyped --inbox (serve) or --source (deploy) is bad arguments (2), said before the server
    is asked anything (nothing listens on this port: asking it is a failure, 1)."""
    from prefect.settings import PREFECT_API_URL, temporary_settings

    toml = tmp_path / "counties.toml"
    toml.write_text('[[county]]\nname = "县"\ncode = "341321"\ninbox = "in"\nout = "out"\n', encoding="utf-8")
    with temporary_settings(updates={PREFECT_API_URL: "http://127.0.0.1:9/api"}):
        assert cli.main(["serve", "--inbox", str(tmp_path / "nope"), "--out", str(tmp_path)]) == 2
        assert f"no inbox folder {tmp_path / 'nope'}" in capsys.readouterr().err
        assert cli.main(["deploy", "--counties", str(toml), "--pool", "suzhou", "--source", str(tmp_path)]) == 2
        assert f"--source {tmp_path} holds no flows.py" in capsys.readouterr().err


def test_serve_under_a_name_another_county_s_folders_use_is_refused(monkeypatch):
    """A second `serve` under the same deployment name would take the first county's schedule
    over: its inbox and OUT must both be this one's (or unset) for it to go on."""
    from prefect.client import orchestration

    class Client:
        def __init__(self, parameters):
            self.parameters = parameters

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

        def read_deployment_by_name(self, name):
            return type("Deployment", (), {"parameters": self.parameters})()

    mine = {"inbox_dir": "/data/a/inbox", "out_dir": "/data/a/out"}
    for theirs, refused in [(mine, False), ({"inbox_dir": None, "out_dir": None}, False),
                            ({"inbox_dir": "/data/a/inbox", "out_dir": "/data/b/out"}, True),
                            ({"inbox_dir": "/data/b/inbox", "out_dir": "/data/a/out"}, True)]:
        monkeypatch.setattr(orchestration, "get_client", lambda sync_client, p=theirs: Client(p))
        got = cli._served_elsewhere("monthly-scheduled/county-monthly", mine)
        assert (got == f"inbox {theirs['inbox_dir']}, OUT {theirs['out_dir']}") if refused else got is None, (theirs, got)

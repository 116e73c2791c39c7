"""The scheduled deployment against a real Prefect server, once: `prefect server start` on a free
localhost port, `python flows.py serve ...` registers `monthly-scheduled/county-monthly` with
the monthly cron (the 5th, 02:00 Asia/Shanghai), one run is triggered on a small generated county
and must complete. Skipped (with the server's own words) only when the server cannot start."""

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

import flows

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
SERVER_START_S = 60
RUN_S = 150


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


def test_monthly_deployment_on_a_real_server(prefect_server, tmp_path):
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
            assert schedule.schedule.cron == flows.MONTHLY_CRON == "0 2 5 * *"
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
    finally:
        _stop(serve)
        serve_log.close()
    acc = pl.read_csv(out / PERIOD / "county" / "行数核对_accounting.csv")
    assert acc["balanced"].all()
    assert (out / "warehouse.duckdb").exists()


def test_previous_period_is_the_month_before_in_county_time():
    from datetime import date

    assert flows.previous_period(date(2026, 11, 5)) == "2026-10"
    assert flows.previous_period(date(2027, 1, 5)) == "2026-12"


def test_serve_refuses_without_a_server(monkeypatch, tmp_path, capsys):
    from prefect.settings import PREFECT_API_URL, temporary_settings

    with temporary_settings(updates={PREFECT_API_URL: None}):
        assert flows.main(["serve", "--inbox", str(tmp_path), "--out", str(tmp_path)]) == 2
    assert "prefect server start" in capsys.readouterr().err

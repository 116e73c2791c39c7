"""`python flows.py backup` and `restore`: a consistent copy of the warehouse (the county's answers,
warning history and 预警编号 key), taken and put back under the lock a writing run takes."""

from __future__ import annotations

import contextlib
import getpass
import os
import shutil
import stat
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import duckdb
import polars as pl

import cli
import flows
from adapters import outputs, warehouse


def _warehouse(wh: Path, periods=("2026-09", "2026-10")) -> str:
    """A small warehouse as runs leave it (no county run): each period stored and recorded ok, a
    township answer and the key; the last period's rows still in the WAL (the connection kept
    open, as a run's is while it writes). -> the key."""
    con = warehouse.connect(wh)
    key = warehouse.warning_key(con)
    for period in periods:
        run_id = warehouse.begin_run(con, period, "x")
        warehouse.replace_period(con, period, {
            "warnings": pl.DataFrame({"warning_id": [f"YJ{period}-1", f"YJ{period}-2"]}),
            "feedback_answers": pl.DataFrame({"warning_id": [f"YJ{period}-1"], "result": ["属实"]})})
        warehouse.mark_stored(con, run_id)
        warehouse.finish_run(con, run_id, "ok")
        if period != periods[-1]:
            con.execute("CHECKPOINT")
    _open.append(con)
    return key


_open: list[duckdb.DuckDBPyConnection] = []


def _close() -> None:
    while _open:
        _open.pop().close()


def _tables(path: Path) -> dict[str, list]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return {t: sorted(con.sql(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in warehouse.row_counts(con)}
    finally:
        con.close()


def _backup(wh: Path, to: Path, *extra: str) -> int:
    return cli.main(["backup", "--out", str(wh.parent), "--to", str(to), *extra])


def test_backup_copies_every_table_with_what_the_wal_still_holds(tmp_path, capsys):
    """The copy holds every row of every table, also the period still in the WAL (a copy of the
    file alone lacks it), is its owner's only, and the line says what it holds."""
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "backup" / "wh.duckdb"
    _warehouse(wh)
    try:
        assert _backup(wh, to) == 0, capsys.readouterr().err
    finally:
        _close()
    want = _tables(wh)
    assert _tables(to) == want and len(want["warnings"]) == 4 and want["secrets"]
    assert stat.S_IMODE(to.stat().st_mode) == 0o600
    assert [p.name for p in to.parent.iterdir()] == ["wh.duckdb"]  # (no temporary file left)
    line = capsys.readouterr().out.strip()
    assert line.startswith(f"backed up {wh} to {to}: ") and " MB, 2 periods (2026-09 to 2026-10), " in line, line
    assert line.endswith("2 township answers, 0 review answers"), line


def test_backup_while_a_run_holds_the_warehouse_exits_3_and_writes_nothing(tmp_path, capsys):
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    _warehouse(wh)
    _close()
    with flows.warehouse_lock(wh) as held:
        assert held
        assert _backup(wh, to) == 3
    assert capsys.readouterr().err.strip() == f"error: another run is using {wh}; wait for it to finish"
    assert not to.exists() and [p.name for p in tmp_path.iterdir()] == ["out"]


def test_backup_refuses_an_existing_file_unless_forced_and_a_missing_warehouse(tmp_path, capsys):
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    assert _backup(wh, to) == 2
    assert capsys.readouterr().err.strip() == f"error: no warehouse {wh} to back up"
    assert not (tmp_path / "out").exists()  # (no lock file, no OUT made)
    _warehouse(wh)
    _close()
    to.write_text("last night's")
    assert _backup(wh, to) == 2
    assert capsys.readouterr().err.strip() == f"error: {to} exists: give another --to, or --force to replace it"
    assert to.read_text() == "last night's"
    assert _backup(wh, to, "--force") == 0
    assert _tables(to) == _tables(wh)
    assert _backup(wh, tmp_path, "--force") == 2
    assert capsys.readouterr().err.strip() == f"error: --to {tmp_path} is a folder: name the file to write in it"


def test_restore_keeps_the_warehouse_before_and_puts_the_copy_in_place(tmp_path, capsys):
    """A backup of September and October restored over a warehouse that went on to November
    (or was damaged): the copy is the warehouse, with its key; the one before is kept under a
    name of its own, with the WAL a killed run left it."""
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    key = _warehouse(wh)
    _close()
    assert _backup(wh, to) == 0
    con = warehouse.connect(wh)
    run_id = warehouse.begin_run(con, "2026-11", "x")
    warehouse.finish_run(con, run_id, "ok")
    con.close()
    before, saved = _tables(wh), _tables(to)
    wal = wh.with_name(wh.name + ".wal")
    wal.write_bytes(b"a killed run's")  # (not the copy's: never to be replayed into it)
    capsys.readouterr()
    assert cli.main(["restore", "--from", str(to), "--out", str(wh.parent)]) == 0
    kept = sorted(p for p in wh.parent.iterdir() if p.name.startswith("warehouse.duckdb.before-restore-"))
    assert [p.name for p in kept] == [kept[0].name, kept[0].name + ".wal"], kept
    kept = kept[0]
    assert not wal.exists() and (kept.parent / (kept.name + ".wal")).read_bytes() == b"a killed run's"
    (kept.parent / (kept.name + ".wal")).unlink()
    assert _tables(wh) == saved and _tables(kept) == before
    con = warehouse.connect(wh)
    assert warehouse.warning_key(con) == key
    con.close()
    assert stat.S_IMODE(wh.stat().st_mode) == 0o600
    line = capsys.readouterr().out.strip()
    assert line == (f"restored {wh} from {to}: 2 periods (2026-09 to 2026-10), 2 township answers, 0 review answers; "
                    f"the warehouse before is kept as {kept}"), line


def test_restore_names_the_periods_published_after_the_backup_with_the_runs_that_take_them_in_again(tmp_path, capsys):
    """OUT still holds the lists of periods run after the backup: 2026-09 re-run (and 2026-10 by its
    cascade), 2026-11 run for the first time; 2026-08's are the backup's own. The restore names
    them with the runs to make, in order: one of 2026-09 (its cascade runs 2026-10 again), one of
    2026-11 with the 下发日期 its lists went out with (run without it, a period the warehouse never
    ran is dated today: the answers dated before are set aside as verified before the list); and
    says where the answers are read again from (the inbox; OUT holds none)."""
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    out = wh.parent
    _warehouse(wh, periods=("2026-08", "2026-09", "2026-10"))
    _close()
    assert _backup(wh, to) == 0
    for period in ("2026-08", "2026-09", "2026-10", "2026-11"):
        (out / period / "county").mkdir(parents=True)
    outputs.write_xlsx({"人工复核队列": pl.DataFrame({"记录编号": ["R1"]})}, out / "2026-11" / "county" / "人工复核队列.xlsx",
                       created=datetime(2026, 12, 4))
    (out / ".2026-10.old-2026-10-x").mkdir()  # (what a killed run left: not a published period)
    day_before = time.time() - 86400
    os.utime(out / "2026-08", (day_before, day_before))  # (published by the backup's own runs)
    capsys.readouterr()
    assert cli.main(["restore", "--from", str(to), "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    assert "3 periods (2026-08 to 2026-10), 3 township answers, 0 review answers; the warehouse before is kept as " in line
    run = f"python flows.py run --inbox INBOX --period {{}} --out {out}"
    assert line.endswith(
        "; OUT holds lists of 2026-09, 2026-10, 2026-11 that this warehouse does not hold (published after the backup, "
        f"or never run in it): run them again, in order: `{run.format('2026-09')}` (it runs 2026-10 again after it), "
        f"then `{run.format('2026-11')} --issue-date 2026-12-04` (add the --config / --set it was run with: the "
        "warehouse before holds no record of them); each run takes in again the township and review "
        "answers in its own inbox folder (INBOX/<period>/反馈/ and 复核/: a list's answers are in the next period's), "
        "none from OUT"), line
    os.utime(out / "2026-09", (day_before, day_before))
    os.utime(out / "2026-10", (day_before, day_before))
    shutil.rmtree(out / "2026-11")
    assert cli.main(["restore", "--from", str(to), "--out", str(out)]) == 0
    kept = max(out.glob("warehouse.duckdb.before-restore-*"), key=lambda p: p.stat().st_ctime_ns)
    assert capsys.readouterr().out.strip().endswith(f" 0 review answers; the warehouse before is kept as {kept}")


def test_a_second_restore_within_the_second_keeps_the_warehouse_before_under_a_name_of_its_own(tmp_path, monkeypatch,
                                                                                             capsys):
    """The warehouse a restore replaces was kept as `.before-restore-<time>`, to the second: a second
    restore within it (the wrong copy put back, then the right one) failed, exit 1, on the name
    taken. It keeps it as `-2`, and the first is left as it was."""
    from adapters import warehouse as wh_module

    class Now(datetime):
        @classmethod
        def now(cls, tz=None):
            return datetime(2026, 12, 7, 15, 1, 2)

    monkeypatch.setattr(wh_module, "datetime", Now)
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    _warehouse(wh)
    _close()
    assert _backup(wh, to) == 0
    for _ in range(2):
        assert cli.main(["restore", "--from", str(to), "--out", str(wh.parent)]) == 0, capsys.readouterr().err
    assert sorted(p.name for p in wh.parent.glob("warehouse.duckdb.before-restore-*")) == [
        "warehouse.duckdb.before-restore-20261207T150102", "warehouse.duckdb.before-restore-20261207T150102-2"]
    assert capsys.readouterr().out.strip().splitlines()[-1].endswith(
        f"the warehouse before is kept as {wh.parent / 'warehouse.duckdb.before-restore-20261207T150102-2'}")


def test_the_runs_a_restore_names_carry_the_settings_their_periods_were_run_with(tmp_path, capsys):
    """The runs a restore names to take in again the periods published after the backup were
    printed without the --config / --set the analyst ran them with: copied as they were, they ran
    with the default settings. Each carries those of its period's last run in the warehouse the
    restore replaced; a period that warehouse never ran says to add them."""
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    out = wh.parent
    _warehouse(wh, periods=("2026-09",))
    _close()
    assert _backup(wh, to) == 0
    con = warehouse.connect(wh)
    run_id = warehouse.begin_run(con, "2026-10", "y", config_path="/data/我的规则.toml",
                                 overrides=["M1.threshold=8000", 'run.holidays=["2027-01-01"]'])
    warehouse.finish_run(con, run_id, "ok")
    con.close()
    for period in ("2026-10", "2026-11"):
        (out / period / "county").mkdir(parents=True)
    capsys.readouterr()
    assert cli.main(["restore", "--from", str(to), "--out", str(out)]) == 0
    line = capsys.readouterr().out.strip()
    run = f"python flows.py run --inbox INBOX --period {{}} --out {out}"
    assert (f"`{run.format('2026-10')} --config '/data/我的规则.toml' --set M1.threshold=8000 --set "
            """'run.holidays=["2027-01-01"]' --issue-date <下发日期 of its lists>`, then """
            f"`{run.format('2026-11')} --issue-date <下发日期 of its lists>` (add the --config / --set it was run with: "
            "the warehouse before holds no record of them);") in line, line


def test_restore_refuses_a_file_that_is_no_warehouse_and_leaves_the_warehouse(tmp_path, capsys):
    wh = tmp_path / "out" / "warehouse.duckdb"
    _warehouse(wh)
    _close()
    before = wh.read_bytes()
    text, other = tmp_path / "notes.duckdb", tmp_path / "other.duckdb"
    text.write_text("not a database")
    con = duckdb.connect(str(other))
    con.execute("CREATE TABLE runs (period VARCHAR)")
    con.close()
    for given, said in [(text, "is not a warehouse: IO Error"),
                        (other, "is not a warehouse of this pipeline: it has no runs table with run_id, "
                                "started_at, finished_at, status")]:
        assert cli.main(["restore", "--from", str(given), "--out", str(wh.parent)]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith(f"error: {given} {said}") and err.endswith(f"; {wh} is unchanged"), err
        assert ".tmp" not in err, err
    assert wh.read_bytes() == before
    assert sorted(p.name for p in wh.parent.iterdir()) == ["warehouse.duckdb", "warehouse.duckdb.lock"]


def test_a_warehouse_from_before_the_key_is_backed_up_and_restored_as_a_run_takes_it(tmp_path, capsys):
    """A warehouse an older version left without `secrets` (made before the 预警编号 key) is one a
    run takes (its first run makes the key): backup copies it and restore puts it back, and the
    key is made then, as by a run of it before the restore."""
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    _warehouse(wh)
    _close()
    con = duckdb.connect(str(wh))
    con.execute("DROP TABLE secrets")
    con.close()
    assert _backup(wh, to) == 0, capsys.readouterr().err
    assert "secrets" not in _tables(to)
    assert cli.main(["restore", "--from", str(to), "--out", str(wh.parent)]) == 0, capsys.readouterr().err
    assert _tables(wh) == _tables(to)
    con = warehouse.connect(wh)
    try:
        assert len(warehouse.warning_key(con)) == 64
    finally:
        con.close()


def test_restore_while_a_run_holds_the_warehouse_exits_3(tmp_path, capsys):
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    _warehouse(wh)
    _close()
    assert _backup(wh, to) == 0
    before = wh.read_bytes()
    with flows.warehouse_lock(wh):
        assert cli.main(["restore", "--from", str(to), "--out", str(wh.parent)]) == 3
    assert capsys.readouterr().err.strip() == f"error: another run is using {wh}; wait for it to finish"
    assert wh.read_bytes() == before and not any("before-restore" in p.name for p in wh.parent.iterdir())


def test_a_copy_that_does_not_hold_every_row_is_not_written(tmp_path, monkeypatch, capsys):
    """The copy is checked before it takes the name: one lacking rows (here, a copy of an older
    warehouse, as a torn or short copy would) exits 1 and leaves neither FILE nor a temporary."""
    wh, to, older = tmp_path / "out" / "warehouse.duckdb", tmp_path / "backup" / "wh.duckdb", tmp_path / "old.duckdb"
    _warehouse(older, periods=("2026-09",))
    _warehouse(wh)
    _close()
    copy = warehouse.shutil.copyfile
    monkeypatch.setattr(warehouse.shutil, "copyfile", lambda src, dst: copy(older, dst))
    assert _backup(wh, to) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"error: the copy of {wh} does not hold what it holds (tables ") and "warnings" in err, err
    assert err.endswith(f"{to} was not written"), err
    assert list(to.parent.iterdir()) == []


@contextlib.contextmanager
def _analyst_holding(wh: Path):
    """An analyst's `duckdb` session holding the warehouse open (DuckDB's own lock of the file)
    while the block runs: the process, its PID to be named."""
    analyst = subprocess.Popen([sys.executable, "-c", "import sys, duckdb; c = duckdb.connect(sys.argv[1]); "
                                "print('open', flush=True); sys.stdin.read()", str(wh)],
                               stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True)
    try:
        assert analyst.stdout.readline() == "open\n"
        yield analyst
    finally:
        analyst.stdin.close()
        analyst.wait()


def _said_busy(err: str, wh: Path, pid: int) -> None:
    """The one busy line run, backup and restore print, naming the program holding `wh`."""
    err = err.strip()
    assert err.startswith(f"error: {wh} is open in another program (") and err.endswith(
        f", PID {pid}, user {getpass.getuser()}): ask its user to close it, then try again"), err


def test_backup_restore_and_run_while_another_program_holds_the_duckdb_file_exit_3_saying_who(tmp_path, capsys):
    """An analyst's `duckdb OUT/warehouse.duckdb` left open holds DuckDB's own lock of the file: a
    backup (its CHECKPOINT) or a run would fail on it, and a restore under it would have the
    analyst's WAL replayed into the copy. Each says so as busy (exit 3), naming the program to ask,
    and changes nothing."""
    wh, to = tmp_path / "out" / "warehouse.duckdb", tmp_path / "wh.duckdb"
    _warehouse(wh)
    _close()
    assert _backup(wh, to) == 0
    (tmp_path / "inbox" / "2026-10").mkdir(parents=True)
    before = sorted(p.name for p in wh.parent.iterdir())
    with _analyst_holding(wh) as analyst:
        capsys.readouterr()
        run = ["run", "--inbox", str(tmp_path / "inbox"), "--period", "2026-10", "--out", str(wh.parent)]
        for args in (["backup", "--out", str(wh.parent), "--to", str(tmp_path / "again.duckdb")],
                     ["restore", "--from", str(to), "--out", str(wh.parent)], run, [*run, "--dry-run"]):
            assert cli.main(args) == 3, args
            _said_busy(capsys.readouterr().err, wh, analyst.pid)
    assert sorted(p.name for p in wh.parent.iterdir()) == before and not (tmp_path / "again.duckdb").exists()


def test_a_program_opening_the_warehouse_just_after_the_busy_check_is_said_as_busy_too(tmp_path, monkeypatch, capsys):
    """A program that opened the DuckDB file between `warehouse_lock`'s look and the work (here: the
    look finds no one) made a backup or a run fail with exit 1 and DuckDB's I/O error ("Could not
    set lock on file … Conflicting lock is held in …"). It is the same busy line and exit 3, naming
    the program, and nothing is changed."""
    wh = tmp_path / "out" / "warehouse.duckdb"
    _warehouse(wh)
    _close()
    (tmp_path / "inbox" / "2026-10").mkdir(parents=True)
    before = sorted(p.name for p in wh.parent.iterdir())
    monkeypatch.setattr(warehouse, "open_elsewhere", lambda *a, **k: None)  # (it opens the file after the look)
    with _analyst_holding(wh) as analyst:
        capsys.readouterr()
        for args in (["backup", "--out", str(wh.parent), "--to", str(tmp_path / "again.duckdb")],
                     ["run", "--inbox", str(tmp_path / "inbox"), "--period", "2026-10", "--out", str(wh.parent)]):
            assert cli.main(args) == 3, (args, capsys.readouterr().err)
            _said_busy(capsys.readouterr().err, wh, analyst.pid)
    # (the lock file the commands take is all they leave)
    assert sorted(p.name for p in wh.parent.iterdir()) == [*before, "warehouse.duckdb.lock"]
    assert not (tmp_path / "again.duckdb").exists()

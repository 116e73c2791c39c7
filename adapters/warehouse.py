"""The DuckDB warehouse: one county's memory across runs (`OUT/warehouse.duckdb`).

Tables (every one carries `period`; re-running a period replaces exactly that period's rows in
one transaction, so a re-run never duplicates anything):

- `runs`          who ran which period when, with which settings (config file, its content, --set
                  overrides, sha256), 下发日期, outcome, and when it stored its period (`stored_at`,
                  committed with the period: a run killed after it stored and published its period)
- `deliveries`    every input file seen: department, path, sha256, size, duplicate_of
- `settlements`   医保 settlement rows as delivered, with their link (year-to-date rules read it)
- `roster_persons` each roster person's 人编号 and a digest of their row (what changed since a period)
- `links`         one row per department record and period: decision, person, household, score
- `warnings`      one row per warning issued (household or lead x rule)
- `deaths`        民政 records of the period saying a roster person died (linked matched): later
                  periods read them (`pipelines.rules.known_dead`)
- `rejected`      rows set aside, with file, line, field and reason
- `superseded`    rows replaced by a later delivery of the same record: file, line, and the file:line that won
- `accounting`    per department: rows read = copies + superseded + matched + review + unmatched + rejected
- `township_rows` every row written to a township list (new and carried over), as written
- `feedback_answers` every answer a township returned and the run accepted (`period` = received)
- `warning_status` the status of every warning ever issued, as of each run: a view over
                  `warning_status_log` (per period only the warnings whose status row changed since
                  the latest earlier period stored, and those gone from it) and
                  `warning_status_periods` (the periods stored)
- `review_answers` every answer to the review queue (复核/) the run accepted (`period` = received)
- `review_queue`  the candidates the period's published review queue listed for each record, with
                  the record's ID as it showed it (an answer's 人编号 copied from it: `queue_listed`)
- `aside_fits`    the records of the period that may be roster persons set aside (`pipelines.identify.
                  set_aside_fits`): a partial run keeps the other departments' for the report
- `secrets`       (no period) the county's key for the 预警编号 of households numbered by an ID
                  number and of leads (`warning_key`)

`backup` copies it whole and `restore` puts such a copy back (`python flows.py backup|restore`).
"""

from __future__ import annotations

import getpass
import os
import pwd
import re
import secrets
import shutil
import socket
from collections.abc import Sequence
from contextlib import contextmanager
from datetime import datetime, timezone
from pathlib import Path

import duckdb
import polars as pl

from adapters.outputs import atomic_path
from config import usable_cpus
from pipelines.year_to_date import RELINK_KEYS, relink_keys
from schemas.inputs import record_key_sql, respelled
from schemas.links import RosterChange, RosterDigest

# `warning_status` is stored as a log: a period's snapshot holds every warning ever issued, and most
# rows are the same as the period before (6.1M rows in a city's October, growing quadratically)
STATUS, STATUS_LOG, STATUS_PERIODS = "warning_status", "warning_status_log", "warning_status_periods"


def _run(con: duckdb.DuckDBPyConnection, sql: str, params: list | None = None) -> list[tuple]:
    """Execute and fetch to the end (DuckDB 2 refuses other work while a result is pending)."""
    return con.execute(sql, params or []).fetchall()


def connect(path: Path) -> duckdb.DuckDBPyConnection:
    if (kept := _held.get(Path(path).resolve())) is not None:  # (`held`)
        return kept.cursor()
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    existed = path.exists()
    con = duckdb.connect(str(path))
    con.execute("SET enable_progress_bar = false")  # (at a terminal it would print over the run's own lines)
    con.execute(f"SET threads = {usable_cpus()}")  # (DuckDB counts the machine's cores, not those the run may use)
    if not existed:
        os.chmod(path, 0o600)
    try:  # every table below current (the common case), asked in one statement: the checks below cost
        # ~15 ms of catalog reads an opening, and a run opens the warehouse ~15 times
        _run(con, _CURRENT)
        return con
    except duckdb.Error:
        pass
    _run(
        con,
        """CREATE TABLE IF NOT EXISTS runs (
            run_id VARCHAR PRIMARY KEY, period VARCHAR, started_at TIMESTAMP, finished_at TIMESTAMP,
            run_by VARCHAR, host VARCHAR, config_sha256 VARCHAR, status VARCHAR, summary VARCHAR)"""
    )
    _run(con, "ALTER TABLE runs ADD COLUMN IF NOT EXISTS issue_date DATE")
    # the settings as given (null `overrides`: a run recorded before settings were kept)
    _run(con, "ALTER TABLE runs ADD COLUMN IF NOT EXISTS config_path VARCHAR")
    _run(con, "ALTER TABLE runs ADD COLUMN IF NOT EXISTS config_text VARCHAR")
    _run(con, "ALTER TABLE runs ADD COLUMN IF NOT EXISTS overrides VARCHAR[]")
    # when the run stored its period (`mark_stored`; null: not stored, or a run recorded before it was kept)
    _run(con, "ALTER TABLE runs ADD COLUMN IF NOT EXISTS stored_at TIMESTAMP")
    # a re-run whose later periods are still to be re-run after it (`cascading`): a kill leaves the row
    _run(con, "CREATE TABLE IF NOT EXISTS cascades_pending (period VARCHAR, since TIMESTAMP)")
    if _table_type(con, STATUS) == "BASE TABLE":  # written before the log: full snapshots
        _status_to_log(con)
    if _has_table(con, "settlements") and not set(RELINK_KEYS) <= set(_columns(con, "settlements")):
        _settlement_keys(con)  # written before settlements carried their keys
    return con


_held: dict[Path, duckdb.DuckDBPyConnection] = {}


@contextmanager
def held(path: Path):
    """The warehouse at `path` kept open while the block runs: each `connect` (and `reading`) of it
    is then a cursor of this DuckDB, not a DuckDB opened again (~20 ms each, and a run's steps open
    it ~15 times). Readers in other processes wait for the block's end, as for any run's."""
    key = Path(path).resolve()
    con = connect(path)
    _held[key] = con
    try:
        yield
    finally:
        del _held[key]
        con.close()


@contextmanager
def reading(path: Path):
    """The warehouse at `path` opened read-only (a cursor of it while `held`, which takes no
    other opening of its file)."""
    kept = _held.get(Path(path).resolve())
    con = duckdb.connect(str(path), read_only=True) if kept is None else kept.cursor()
    try:
        yield con
    finally:
        con.close()


def open_elsewhere(path: Path, read_only: bool = False) -> str | None:
    """Who holds the DuckDB file at `path` open in another program (an analyst's `duckdb` shell or
    notebook), taking DuckDB's own lock of it, as DuckDB names them: `duckdb, PID 4242, user ana`;
    None when no one does, there is no such file, or DuckDB cannot open it for another reason (what
    opens it next says that). `read_only`: asked as a reader (a dry run's copy), whom only a program
    writing it holds off; else as a writer, whom any program holding it does."""
    if not Path(path).is_file():
        return None
    try:
        duckdb.connect(str(path), read_only=read_only).close()  # (this process's own openings share its lock)
        return None
    except duckdb.Error as exc:
        return lock_holder(exc)


def lock_holder(exc: BaseException) -> str | None:
    """The program a DuckDB error says holds the file's lock (`open_elsewhere`'s words), None when
    it says no such thing: a program that opened the warehouse after the lock was checked is
    named so, not as a DuckDB I/O error."""
    found = re.search(r"Conflicting lock is held in (.+?) \(PID (\d+)\)(?: by user (\S+))?", str(exc))
    if found is None:
        return None
    program, pid, user = found.groups()
    try:  # (DuckDB names the user only where it can look them up)
        user = user or pwd.getpwuid(os.stat(f"/proc/{pid}").st_uid).pw_name
    except (OSError, KeyError):
        pass
    return f"{Path(program).name}, PID {pid}" + (f", user {user}" if user else "")


# binds only when `connect` has nothing to add or convert: runs' added columns, cascades_pending, the
# status log (`_status_to_log`), settlements' keys (`_settlement_keys`)
_CURRENT = ("SELECT NULL FROM (SELECT issue_date, config_path, config_text, overrides, stored_at FROM runs LIMIT 0), "
            f"(SELECT * FROM cascades_pending LIMIT 0), (SELECT * FROM {STATUS_LOG} LIMIT 0), "
            "(SELECT " + ", ".join(f'"{k}"' for k in RELINK_KEYS) + " FROM settlements LIMIT 0)")


def warning_key(con: duckdb.DuckDBPyConnection) -> str:
    """The county's key for `pipelines.rules.keyed_suffix` (the 预警编号 of a household whose 户编号
    is the head's 证件号码, and of a lead, which a plain hash would give back): made at random the
    first time and kept here, beside the IDs it keeps off the lists, so every later run and re-run
    gives a household or lead the same 预警编号. A fresh warehouse, a fresh memory, makes a new one."""
    _run(con, "CREATE TABLE IF NOT EXISTS secrets (name VARCHAR PRIMARY KEY, value VARCHAR)")
    _run(con, "INSERT OR IGNORE INTO secrets VALUES ('warning_id_key', ?)", [secrets.token_hex(32)])
    return _run(con, "SELECT value FROM secrets WHERE name = 'warning_id_key'")[0][0]


def begin_run(con: duckdb.DuckDBPyConnection, period: str, config_sha: str, issue_date=None,
              config_path: str | None = None, config_text: str | None = None,
              overrides: list[str] | None = None, summary: str = "") -> str:
    """Record a run of `period` as `running`; its id. `summary`: `partial: <departments>` for a
    run of some departments (recorded from the start: a run killed after it stored its period is
    recorded ok by `mark_interrupted` as what it was)."""
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    run_id = f"{period}-{now:%Y%m%dT%H%M%S%f}"
    _run(
        con,
        "INSERT INTO runs BY NAME SELECT ? AS run_id, ? AS period, ? AS started_at, ? AS run_by, ? AS host, "
        "? AS config_sha256, 'running' AS status, ?::DATE AS issue_date, ? AS config_path, ? AS config_text, "
        "?::VARCHAR[] AS overrides, ? AS summary",
        [run_id, period, now, getpass.getuser(), socket.gethostname(), config_sha, issue_date,
         config_path, config_text, list(overrides or []), summary],
    )
    return run_id


def mark_stored(con: duckdb.DuckDBPyConnection, run_id: str) -> None:
    """Within `replacing_period`'s block: record that run `run_id` stored its period, committed
    (or rolled back) with the period's rows, so that after a kill `stored_runs` tells whether the
    period folder the run swapped in is the one the warehouse holds."""
    _run(con, "UPDATE runs SET stored_at = ? WHERE run_id = ?",
         [datetime.now(timezone.utc).replace(tzinfo=None), run_id])


def mark_cascade(con: duckdb.DuckDBPyConnection, period: str) -> None:
    """Before a run of `period` that re-runs the later periods after it (the cascade): a mark,
    removed by `clear_cascade` when the cascade ends, that a kill in between leaves for
    `stale_after_cascade`."""
    _run(con, "INSERT INTO cascades_pending VALUES (?, ?)", [period, datetime.now(timezone.utc).replace(tzinfo=None)])


def clear_cascade(con: duckdb.DuckDBPyConnection, period: str | None = None) -> None:
    """Remove `period`'s cascade marks (None: every one)."""
    _run(con, "DELETE FROM cascades_pending WHERE ? IS NULL OR period = ?", [period, period])


def stale_after_cascade(con: duckdb.DuckDBPyConnection) -> dict[str, list[str]]:
    """Period -> the later periods still to be re-run after it, for each cascade a kill cut short
    (`mark_cascade` left): the period stored by a run begun after the mark, the later periods whose
    last run of the whole period began before that one stored it. (A period whose own run did not
    store it is named by `mark_interrupted`: none.)"""
    found = _run(con, """
        SELECT c.period, max(r.stored_at) FROM cascades_pending c
        JOIN runs r ON r.period = c.period AND r.status = 'ok' AND r.started_at >= c.since AND r.stored_at IS NOT NULL
        GROUP BY c.period ORDER BY c.period""")
    out = {}
    for period, stored in found:
        stale = [p for (p,) in _run(con, """
            SELECT period FROM runs WHERE period > ? AND status = 'ok' AND coalesce(summary, '') = ''
            GROUP BY period HAVING max(started_at) < ? ORDER BY period""", [period, stored])]
        if stale:
            out[period] = stale
    return out


def stored_runs(con: duckdb.DuckDBPyConnection) -> dict[str, bool]:
    """Run id -> whether the run stored its period (`mark_stored`), for every run recorded."""
    return dict(_run(con, "SELECT run_id, stored_at IS NOT NULL FROM runs"))


def last_run(con: duckdb.DuckDBPyConnection, period: str, full: bool = False) -> dict | None:
    """The period's last successful run (`full`: of the whole period, not `--dept`), as a dict of
    `runs` columns (issue_date: the 下发日期 its lists went out with; config_path, config_text,
    overrides: its settings), or None when the period never ran."""
    rows = con.execute(
        f"""SELECT * FROM runs WHERE period = ? AND status = 'ok'
            {"AND coalesce(summary, '') = ''" if full else ""} ORDER BY started_at DESC LIMIT 1""",
        [period],
    )
    names = [d[0] for d in rows.description]
    row = rows.fetchone()
    return dict(zip(names, row)) if row else None


def latest_issue_date(con: duckdb.DuckDBPyConnection):
    """The latest 下发日期 any successful run gave its lists (None before the first run)."""
    return _run(con, "SELECT max(issue_date) FROM runs WHERE status = 'ok'")[0][0]


def first_issue_dates(con: duckdb.DuckDBPyConnection) -> dict:
    """Period -> the earliest 下发日期 a successful run gave its lists: the day a warning of the
    period could first be known to a township (`feedback.check_feedback`'s `first_out`)."""
    return dict(_run(con, "SELECT period, min(issue_date) FROM runs WHERE status = 'ok' AND issue_date IS NOT NULL "
                          "GROUP BY period"))


def later_periods(con: duckdb.DuckDBPyConnection, period: str) -> list[str]:
    """Periods after `period` already run in full and successfully, in order: their year-to-date
    sums and warning history depend on `period`."""
    return [p for (p,) in _run(
        con,
        """SELECT DISTINCT period FROM runs
           WHERE period > ? AND status = 'ok' AND coalesce(summary, '') = '' ORDER BY period""",
        [period],
    )]


def previous_period(con: duckdb.DuckDBPyConnection, period: str) -> str | None:
    """The latest period before `period` run successfully (None when there is none)."""
    return _run(con, "SELECT max(period) FROM runs WHERE period < ? AND status = 'ok'", [period])[0][0]


def finish_run(con: duckdb.DuckDBPyConnection, run_id: str, status: str, summary: str = "") -> None:
    now = datetime.now(timezone.utc).replace(tzinfo=None)
    _run(
        con,
        "UPDATE runs SET finished_at = ?, status = ?, summary = ? WHERE run_id = ?",
        [now, status, summary, run_id],
    )


def mark_interrupted(con: duckdb.DuckDBPyConnection) -> tuple[list[str], list[str]]:
    """Runs still 'running' when the lock is free again were killed: one that stored its period
    (`mark_stored`: killed after it stored and published it, before it recorded its end) is
    recorded `ok`, finished when it stored it; the others `interrupted`.
    Returns the periods of each (complete, interrupted), in order."""
    found = _run(con, "SELECT DISTINCT period, stored_at IS NOT NULL FROM runs WHERE status = 'running' "
                      "ORDER BY period")
    _run(con, "UPDATE runs SET status = CASE WHEN stored_at IS NULL THEN 'interrupted' ELSE 'ok' END, "
              "finished_at = coalesce(finished_at, stored_at) WHERE status = 'running'")
    return [p for p, stored in found if stored], [p for p, stored in found if not stored]


def period_tables(path: Path, period: str) -> set[str]:
    """The tables of the warehouse at `path` holding rows of `period` (none when there is no such
    file), read-only: what a run of the period replaces (`warning_status` for its log, the name
    queries read; `runs` and `cascades_pending` are logs a run adds to, not the period's rows)."""
    if not Path(path).exists():
        return set()
    with reading(path) as con:
        tables = [t for (t,) in _run(con, "SELECT c.table_name FROM information_schema.columns c JOIN "
                                          "information_schema.tables USING (table_name) WHERE column_name = 'period' "
                                          "AND table_type = 'BASE TABLE' AND table_name NOT IN ('runs', 'cascades_pending')")]
        held = {t for t in tables if _run(con, f"SELECT 1 FROM {t} WHERE period = ? LIMIT 1", [period])}
    return {STATUS if t in (STATUS_LOG, STATUS_PERIODS) else t for t in held}


def _has_table(con: duckdb.DuckDBPyConnection, table: str) -> bool:
    return _table_type(con, table) is not None


def _table_type(con: duckdb.DuckDBPyConnection, table: str) -> str | None:
    """'BASE TABLE', 'VIEW', or None when there is no such table."""
    rows = _run(con, "SELECT table_type FROM information_schema.tables WHERE table_name = ?", [table])
    return rows[0][0] if rows else None


def _columns(con: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    return [r[0] for r in _run(con, "SELECT column_name FROM information_schema.columns WHERE table_name = ? "
                                    "ORDER BY ordinal_position", [table])]


def replace_period(con: duckdb.DuckDBPyConnection, period: str, frames: dict[str, pl.DataFrame]) -> None:
    """Replace this period's rows of every table in `frames`, all in one transaction (a frame
    without columns only removes them: nothing of that kind this time). Rows are stored in no
    particular order (readers sort what they need): a city's period is written in about half the
    time and space."""
    with replacing_period(con, period, frames):
        pass


@contextmanager
def replacing_period(con: duckdb.DuckDBPyConnection, period: str, frames: dict[str, pl.DataFrame]):
    """`replace_period`, its transaction left open while the caller's block runs on `con` (which
    reads the period as replaced): committed when the block ends, rolled back when it raises, so
    that a run failing after it stored its period (writing or swapping in its files) leaves the
    warehouse as the files it did not replace show it."""
    _run(con, "SET preserve_insertion_order = false")
    _run(con, "BEGIN TRANSACTION")
    try:
        for table, df in frames.items():
            if table == STATUS:
                _replace_status(con, period, df)
                continue
            store_rows(con, table, period, df)
        _run(con, "RESET preserve_insertion_order")
        frames = df = None  # (stored: not held in memory while the caller's block writes the period's files)
        yield
        _run(con, "COMMIT")
    except BaseException:
        try:
            _run(con, "ROLLBACK")
        except duckdb.Error:  # (a COMMIT that failed may have ended the transaction already)
            pass
        raise
    finally:
        try:
            _run(con, "RESET preserve_insertion_order")
        except duckdb.Error:
            pass


def store_rows(con: duckdb.DuckDBPyConnection, table: str, period: str, df: pl.DataFrame) -> None:
    """Replace `period`'s rows of `table` by `df` (a frame without columns only removes them), in
    the caller's transaction (`replacing_period`'s, or its block's: the queue `flows.publish` makes
    while the period is being stored)."""
    if not df.width:
        if _has_table(con, table):
            _run(con, f"DELETE FROM {table} WHERE period = ?", [period])
        return
    df = df.with_columns(pl.lit(period).alias("period"))
    con.register("_incoming", df)
    try:
        if not _has_table(con, table):
            _run(con, f"CREATE TABLE {table} AS SELECT * FROM _incoming LIMIT 0")
        else:  # a later version of the code may add columns: keep the table in step
            _add_columns(con, table)
        _run(con, f"DELETE FROM {table} WHERE period = ?", [period])
        if df.height:
            _run(con, f"INSERT INTO {table} BY NAME SELECT * FROM _incoming")
    finally:
        con.unregister("_incoming")


def _add_columns(con: duckdb.DuckDBPyConnection, table: str) -> None:
    """Add to `table` the columns of `_incoming` it lacks (a later version of the code wrote them)."""
    have = set(_columns(con, table))
    incoming = con.sql("SELECT * FROM _incoming LIMIT 0")
    for name, dtype in zip(incoming.columns, incoming.types):
        if name not in have:
            _run(con, f'ALTER TABLE {table} ADD COLUMN "{name}" {dtype}')


def _status_view(con: duckdb.DuckDBPyConnection) -> None:
    """`warning_status`, the full snapshot of every stored period, as the log gives it: for each
    stored period P and warning, the warning's latest log row of a period <= P, unless that row
    says it is `absent` (gone from P's snapshot)."""
    _run(con, f"""CREATE OR REPLACE VIEW {STATUS} AS
        SELECT l.* EXCLUDE (absent, _until) REPLACE (p.period AS period)
        FROM (SELECT *, lead(period) OVER (PARTITION BY warning_id ORDER BY period) AS _until FROM {STATUS_LOG}) l
        JOIN {STATUS_PERIODS} p ON p.period >= l.period AND (l._until IS NULL OR p.period < l._until)
        WHERE NOT l.absent""")


def _store_status(con: duckdb.DuckDBPyConnection, period: str, snapshot: str) -> None:
    """Replace `period`'s log rows by what the table `snapshot` (the period's full snapshot, the
    log's columns but `absent`) changes from the latest row of each warning before `period`: the
    rows that differ in any column (new warnings included) and an `absent` row for each warning
    the snapshot no longer holds."""
    cols = ", ".join(f'"{c}"' for c in _columns(con, STATUS_LOG) if c not in ("period", "absent"))
    _run(con, f"DELETE FROM {STATUS_LOG} WHERE period = ?", [period])
    _run(con, f"""INSERT INTO {STATUS_LOG} BY NAME
        WITH earlier AS (SELECT * FROM {STATUS_LOG} WHERE period < $period
                         QUALIFY row_number() OVER (PARTITION BY warning_id ORDER BY period DESC) = 1)
        SELECT *, $period AS period FROM (SELECT {cols}, false AS absent FROM {snapshot}
                                          EXCEPT SELECT {cols}, absent FROM earlier)
        UNION ALL BY NAME
        SELECT warning_id, true AS absent, $period AS period FROM earlier
        WHERE NOT absent AND warning_id NOT IN (SELECT warning_id FROM {snapshot})""", {"period": period})


def _replace_status(con: duckdb.DuckDBPyConnection, period: str, df: pl.DataFrame) -> None:
    """Store `df`, `period`'s full `warning_status` snapshot, in the log (`_store_status`), inside
    `replace_period`'s transaction. The next stored period's rows were written against the
    snapshot replaced: they are written again so that its snapshot (and so every later one)
    stays as it was stored, until that period runs again."""
    con.register("_incoming", df.with_columns(pl.lit(period).alias("period")))
    if not _has_table(con, STATUS_LOG):
        _run(con, f"CREATE TABLE {STATUS_LOG} AS SELECT *, false AS absent FROM _incoming LIMIT 0")
        _run(con, f"CREATE TABLE {STATUS_PERIODS} (period VARCHAR, warnings BIGINT)")
    else:
        _add_columns(con, STATUS_LOG)
    _status_view(con)
    later = _run(con, f"SELECT min(period) FROM {STATUS_PERIODS} WHERE period > ?", [period])[0][0]
    if later is not None:
        _run(con, f"CREATE TEMP TABLE _later AS SELECT * FROM {STATUS} WHERE period = ?", [later])
    _run(con, f"CREATE TEMP TABLE _snapshot AS SELECT * EXCLUDE (absent) FROM {STATUS_LOG} LIMIT 0")
    _run(con, "INSERT INTO _snapshot BY NAME SELECT * FROM _incoming")
    con.unregister("_incoming")
    _store_status(con, period, "_snapshot")
    _run(con, f"DELETE FROM {STATUS_PERIODS} WHERE period = ?", [period])
    _run(con, f"INSERT INTO {STATUS_PERIODS} SELECT ?, count(*) FROM _snapshot", [period])
    if later is not None:
        _store_status(con, later, "_later")
        _run(con, "DROP TABLE _later")
    _run(con, "DROP TABLE _snapshot")


def _status_to_log(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse written before the log holds every period's full snapshot in the table
    `warning_status`: it becomes the log (the same snapshots, each row kept only where it differs
    from the warning's row of the period stored before, an `absent` row where a warning is gone
    from a period's snapshot) and the view takes its name. One transaction."""
    _run(con, "BEGIN TRANSACTION")
    try:
        _run(con, f"ALTER TABLE {STATUS} RENAME TO {STATUS_LOG}")
        _run(con, f"CREATE TABLE {STATUS_PERIODS} AS SELECT period, count(*) AS warnings FROM {STATUS_LOG} GROUP BY period")
        _run(con, f"ALTER TABLE {STATUS_LOG} ADD COLUMN absent BOOLEAN DEFAULT false")
        _run(con, f"""INSERT INTO {STATUS_LOG} BY NAME
            WITH p AS (SELECT period, lead(period) OVER (ORDER BY period) AS next FROM {STATUS_PERIODS})
            SELECT l.warning_id, p.next AS period, true AS absent
            FROM {STATUS_LOG} l JOIN p USING (period)
            ANTI JOIN {STATUS_LOG} n ON n.period = p.next AND n.warning_id = l.warning_id
            WHERE p.next IS NOT NULL""")
        # (a row like the warning's row before it: that one is of the period stored just before,
        # as a warning gone from a snapshot has an `absent` row in it)
        same = " AND ".join(f'"{c}" IS NOT DISTINCT FROM lag("{c}") OVER w'
                            for c in _columns(con, STATUS_LOG) if c != "period")
        _run(con, f"""DELETE FROM {STATUS_LOG} WHERE rowid IN (
            SELECT rowid FROM {STATUS_LOG} WINDOW w AS (PARTITION BY warning_id ORDER BY period)
            QUALIFY lag(period) OVER w IS NOT NULL AND {same})""")
        _status_view(con)
        _run(con, "COMMIT")
    except BaseException:
        _run(con, "ROLLBACK")
        raise


def _settlement_keys(con: duckdb.DuckDBPyConnection) -> None:
    """A warehouse written before `settlements` carried `RELINK_KEYS`: every stored settlement
    gets them (`pipelines.year_to_date.relink_keys`, as a run stores them with its period's), a
    period at a time, in one transaction."""
    have = set(_columns(con, "settlements"))
    read = "".join(f", {c}" for c in ("id_raw", "name", "decision") if c in have)
    _run(con, "BEGIN TRANSACTION")
    try:
        for key in RELINK_KEYS:
            _run(con, f'ALTER TABLE settlements ADD COLUMN IF NOT EXISTS "{key}" VARCHAR')
        for (period,) in _run(con, "SELECT DISTINCT period FROM settlements ORDER BY period"):
            rows = con.sql(f"SELECT rowid AS _rowid{read} FROM settlements WHERE period = ?", params=[period]).pl()
            con.register("_keys", rows.select("_rowid").hstack(relink_keys(rows)))
            _run(con, "UPDATE settlements SET " + ", ".join(f'"{k}" = _keys."{k}"' for k in RELINK_KEYS)
                 + " FROM _keys WHERE settlements.rowid = _keys._rowid")
            con.unregister("_keys")
        _run(con, "COMMIT")
    except BaseException:
        _run(con, "ROLLBACK")
        raise


def _year_to_date_sql(con: duckdb.DuckDBPyConnection, columns: list[str] | None) -> str:
    if columns is None:
        cols = "*"
    else:
        have = set(_columns(con, "settlements"))
        cols = ", ".join(dict.fromkeys(f'"{c}"' for c in [*columns, "period"] if c in have))
    return f"""SELECT * EXCLUDE (_rank, _settled) FROM (
                   SELECT {cols}, settle_date AS _settled,
                          row_number() OVER (PARTITION BY {record_key_sql("record_id")} ORDER BY period DESC) AS _rank
                   FROM settlements WHERE period < $period AND period >= $first)
               WHERE _rank = 1
                 AND list_contains($years::INTEGER[], coalesce(year(_settled), left(period, 4)::INTEGER))"""


def _digest(person_id: str, id_number: str, name: str) -> str:
    """The SQL of a roster person's digest (`roster_persons.digest`) from these columns."""
    return f"md5(concat_ws('|', {person_id}, coalesce({id_number}, ''), coalesce({name}, '')))"


def write_year_to_date_settlements(con: duckdb.DuckDBPyConnection, period: str, years: list[int],
                                   columns: list[str] | None, path: Path) -> int:
    """Stored settlements delivered before `period` (each 结算流水号 once, however a period spelled
    it, `schemas.inputs.record_key`: its latest delivery wins) whose 结算日期 falls in one of
    `years` (one without a date: its delivery period's year), with the `period` that delivered
    them, written to the parquet file `path` by DuckDB;
    the number of rows (0: no file). The year's sums read them (`pipelines.year_to_date`): a
    December settlement delivered in January belongs to December's year, not January's.
    `columns`: only those the table has of them, and `period` (None: all). A city's year holds
    some 20 million rows: they never pass through Python (fetched, they took three times their
    size); `settlement_rows` gives the other columns of the few rows that need them."""
    Path(path).unlink(missing_ok=True)
    if not _has_table(con, "settlements") or not years:
        return 0
    target = str(Path(path)).replace("'", "''")
    n = con.execute(f"COPY ({_year_to_date_sql(con, columns)}) TO '{target}' (FORMAT parquet)",
                    {"period": period, "first": f"{min(years)}-01", "years": years}).fetchall()[0][0]
    if not n:
        Path(path).unlink(missing_ok=True)
    return n


def settlement_rows(con: duckdb.DuckDBPyConnection, keys: pl.DataFrame) -> pl.DataFrame:
    """The stored settlements of `keys` (record_id, period: the period that delivered each), every
    column, in the order of `keys`."""
    con.register("_keys", keys.select("record_id", "period").with_row_index("_order"))
    try:
        return con.sql("SELECT s.* FROM _keys k JOIN settlements s ON s.record_id = k.record_id AND s.period = k.period "
                       "ORDER BY k._order").pl()
    finally:
        con.unregister("_keys")


def roster_digests(roster: pl.DataFrame) -> pl.DataFrame:
    """`RosterDigest` rows: each roster person's 人编号 with an md5 of what the matcher reads of
    them (人编号, 证件号码, 姓名), stored per period (table `roster_persons`) so that a later run
    can tell whose roster row is new, changed or gone since then (`roster_changes`)."""
    con = duckdb.connect()
    try:
        con.execute(f"SET threads = {usable_cpus()}")
        con.register("_roster", roster.select("person_id", "id_number", "name"))
        return RosterDigest.validate(con.sql(
            f"SELECT person_id, {_digest('person_id', 'id_number', 'name')} AS digest FROM _roster").pl())
    finally:
        con.close()


def persons_now(con: duckdb.DuckDBPyConnection, period: str, roster: pl.DataFrame, asked: pl.DataFrame,
                max_pairs: int) -> tuple[pl.DataFrame, int | None]:
    """Who the persons of `asked` (period, person_id: named by earlier warnings) are on `roster`
    (`period`'s) -> period, person_id, person_id_now. One still on it under the same 人编号 is
    themself. One whose 人编号 is gone (a member split off into a new household gets a new 户编号
    and often a new 人编号) is the person of `roster` whose 证件号码 and 姓名 give, under the old
    人编号, the digest stored for it (`roster_persons`) the last period before `period` it was on
    the roster, and who was not on that roster: the same ID number and name under a new number.
    No ID number is stored for this: the digest is tried for each gone person and each person new
    since it was last seen (mostly this month's new persons). Not found (no row): a person whose
    name or ID was corrected in the same month, one no stored roster holds (run before
    `roster_persons` existed), or one two persons of `roster` fit.
    Returns (that frame, None), or, when more than `max_pairs` (gone x new) would be tried (a
    roster renumbering most of its persons), (the persons under their own 人编号 only, the pairs)."""
    out = {"period": pl.Utf8, "person_id": pl.Utf8, "person_id_now": pl.Utf8}
    asked = asked.select("period", "person_id").unique()
    # (one the roster re-saved in Excel spells otherwise, 1023 for 0001023, is themself: `respelled`)
    same = respelled(asked.with_columns(person_id_now=pl.col("person_id")), "person_id_now", roster.select("person_id")).filter(
        pl.col("person_id_now").is_in(roster["person_id"].implode()))
    gone = asked.join(same, on=["period", "person_id"], how="anti")
    same = same.select(list(out)).cast(out)
    if gone.is_empty() or not _has_table(con, "roster_persons"):
        return same, None
    con.register("_gone", gone)
    con.register("_roster", roster.select("person_id", "id_number", "name"))
    # (new since: not on that roster however it spelled them, `record_key`: a roster re-saved in
    # Excel is not a roster of new persons to try)
    tried = f"""WITH last AS (SELECT person_id, period AS seen, digest FROM roster_persons
                        WHERE period < ? AND person_id IN (SELECT person_id FROM _gone)
                        QUALIFY row_number() OVER (PARTITION BY person_id ORDER BY period DESC) = 1),
               stored AS (SELECT period AS seen, {record_key_sql('person_id')} AS k FROM roster_persons
                          WHERE period IN (SELECT seen FROM last)),
               fresh AS (SELECT s.seen, c.* FROM (SELECT DISTINCT seen FROM last) s CROSS JOIN _roster c
                         ANTI JOIN stored ON stored.seen = s.seen AND stored.k = {record_key_sql('c.person_id')})"""
    try:
        pairs = con.sql(tried + """ SELECT coalesce(sum(g.n * f.n), 0)::BIGINT
            FROM (SELECT seen, count(*) AS n FROM last GROUP BY seen) g
            JOIN (SELECT seen, count(*) AS n FROM fresh GROUP BY seen) f USING (seen)""", params=[period]).fetchall()[0][0]
        if pairs > max_pairs:
            return same, int(pairs)
        found = con.sql(tried + f""",
               hit AS (SELECT l.person_id, any_value(f.person_id) AS person_id_now
                       FROM last l JOIN fresh f ON f.seen = l.seen
                        AND {_digest('l.person_id', 'f.id_number', 'f.name')} = l.digest
                       GROUP BY l.person_id HAVING count(*) = 1)
            SELECT g.period, g.person_id, h.person_id_now FROM _gone g JOIN hit h USING (person_id)""",
            params=[period]).pl()
    finally:
        con.unregister("_gone")
        con.unregister("_roster")
    return pl.concat([same, found.cast(out)]).sort("period", "person_id"), None


def roster_changes(con: duckdb.DuckDBPyConnection, roster: pl.DataFrame, since: list[str],
                   digests: pl.DataFrame | None = None) -> pl.DataFrame:
    """`RosterChange` rows: for each period of `since`, the persons whose roster row `roster`
    (this period's) holds differently from that period's stored one: new, 证件号码 or 姓名
    changed, or gone (on that period's roster, not on this one). A period whose roster was not
    stored (run by an older version) counts every person of `roster` as changed. `digests`:
    `roster_digests(roster)`, when the caller has them (a run stores them too)."""
    out = {"since": pl.Utf8, "person_id": pl.Utf8}
    if not since:
        return pl.DataFrame(schema=out)
    digests = roster_digests(roster) if digests is None else digests
    stored = ([p for (p,) in _run(con, "SELECT DISTINCT period FROM roster_persons WHERE list_contains(?::VARCHAR[], period)",
                                  [since])] if _has_table(con, "roster_persons") else [])
    unknown = [pl.DataFrame({"since": p, "person_id": digests["person_id"]}) for p in since if p not in stored]
    if not stored:
        return RosterChange.validate(pl.concat(unknown).cast(out) if unknown else pl.DataFrame(schema=out))
    # a person the roster spells otherwise now (re-saved in Excel: 1023 for 0001023, `record_key`) is
    # the same person: their row is compared with the stored one under the stored spelling
    con.register("_digests", digests.join(roster.select("person_id", "id_number", "name"), on="person_id", how="left"))
    try:
        changed = con.sql(
            f"""WITH d AS (SELECT *, {record_key_sql('person_id')} AS k FROM _digests)
               SELECT s.period AS since, d.person_id FROM d CROSS JOIN (SELECT unnest(?::VARCHAR[]) AS period) s
               WHERE NOT EXISTS (SELECT 1 FROM roster_persons r WHERE r.period = s.period AND r.digest = d.digest)
                 AND NOT EXISTS (SELECT 1 FROM roster_persons r WHERE r.period = s.period AND r.person_id <> d.person_id
                                 AND {record_key_sql('r.person_id')} = d.k
                                 AND r.digest = {_digest('r.person_id', 'd.id_number', 'd.name')})
               UNION ALL
               SELECT r.period AS since, r.person_id FROM roster_persons r
               WHERE list_contains(?::VARCHAR[], r.period) AND {record_key_sql('r.person_id')} NOT IN (SELECT k FROM d)""",
            params=[stored, stored]).pl()
    finally:
        con.unregister("_digests")
    return RosterChange.validate(pl.concat([changed.cast(out), *[u.cast(out) for u in unknown]]))


def records_seen(con: duckdb.DuckDBPyConnection, period: str, asked: pl.DataFrame) -> pl.DataFrame:
    """Of `asked` (dept, record_id), the records some stored period up to `period` linked, however
    `asked` spells them (`schemas.inputs.record_key`: Excel's 12345 for 0012345), as stored: a
    record stored under several spellings, the latest period's first (as the year's sums keep it)."""
    if not _has_table(con, "links") or asked.is_empty():
        return asked.clear()
    con.register("_asked", asked)
    try:
        return con.sql("SELECT a.dept, l.record_id FROM _asked a JOIN links l ON a.dept = l.dept AND "
                       f"{record_key_sql('a.record_id')} = {record_key_sql('l.record_id')} WHERE l.period <= ? "
                       "GROUP BY ALL ORDER BY max(l.period) DESC, a.dept, l.record_id", params=[period]).pl()
    finally:
        con.unregister("_asked")


def queue_listed(con: duckdb.DuckDBPyConnection, period: str, asked: pl.DataFrame) -> pl.DataFrame:
    """Of `asked` (dept, record_id: records answered), the candidates the review queues of the
    periods up to `period` listed (`review_queue`) -> record_dept, record_id, person_id, id_raw
    (the record's ID as the queue showed it); none when no queue is stored (a warehouse of a
    version that stored none)."""
    out = {"record_dept": pl.Utf8, "record_id": pl.Utf8, "person_id": pl.Utf8, "id_raw": pl.Utf8}
    if not _has_table(con, "review_queue") or asked.is_empty():
        return pl.DataFrame(schema=out)
    con.register("_asked", asked.select("dept", "record_id").unique())
    try:
        # (a queue's record however its number was spelled then, `record_key`: as the answer spells it)
        return con.sql(f"SELECT DISTINCT q.dept AS record_dept, a.record_id, q.person_id, q.id_raw FROM review_queue q "
                       f"JOIN _asked a ON q.dept = a.dept AND {record_key_sql('q.record_id')} = "
                       f"{record_key_sql('a.record_id')} WHERE q.period <= ?", params=[period]).pl().cast(out)
    finally:
        con.unregister("_asked")


def review_history(con: duckdb.DuckDBPyConnection, period: str, asked: pl.DataFrame) -> pl.DataFrame:
    """Of `asked` (dept, record_id: the records of `period`'s review queue), the periods up to
    `period` stored in `links` (or `relinked_review`: an earlier settlement a later run linked
    again and sent to review) in which each was in review -> dept, record_id, decision
    (`review`), period; one row per record and period (a record of two kinds in one period, once),
    as `asked` spells it (a period that spelled it otherwise, `schemas.inputs.record_key`, counts).
    Read after the run stored its period (`flows.publish`), these hold the period itself: a re-run
    reads its own new links, never those it replaced. A later period stored (periods run out of
    order) is not read: it cannot tell when a record was first sent to review up to `period`
    (`matchers.review.first_queued`)."""
    out = {"dept": pl.Utf8, "record_id": pl.Utf8, "decision": pl.Utf8, "period": pl.Utf8}
    tables = [t for t in ("links", "relinked_review") if _has_table(con, t)]  # (an earlier settlement linked again)
    if not tables or asked.is_empty():
        return pl.DataFrame(schema=out)
    con.register("_asked", asked.select("dept", "record_id").unique())
    try:
        return con.sql(" UNION ".join(
            f"SELECT DISTINCT a.dept, a.record_id, l.decision, l.period FROM {t} l JOIN _asked a ON a.dept = l.dept AND "
            f"{record_key_sql('a.record_id')} = {record_key_sql('l.record_id')} "
            "WHERE l.decision = 'review' AND l.period <= ?" for t in tables),
            params=[period] * len(tables)).pl().cast(out)
    finally:
        con.unregister("_asked")


def table(con: duckdb.DuckDBPyConnection, name: str, where: str = "true", params: list | None = None) -> pl.DataFrame | None:
    """Rows of a warehouse table (None when the table does not exist yet or nothing matches)."""
    if not _has_table(con, name):
        return None
    df = con.sql(f"SELECT * FROM {name} WHERE {where}", params=params or []).pl()
    return df if df.height else None


def records_linked(con: duckdb.DuckDBPyConnection, dept: str, periods: Sequence[str], keys: pl.Series) -> int:
    """How many of `keys` (one file's record numbers, as `record_key` compares them) the links of
    `periods` hold for `dept` (their runs delivered them then, however Excel or a clerk spelled
    them; each counted once; 0 without a links table). Asked only of a file dated in earlier
    months (`accounting.export_months`): it reads those months' links of one department, no more."""
    if keys.is_empty() or not periods or not _has_table(con, "links"):
        return 0
    con.register("_file_keys", pl.DataFrame({"key": keys.unique()}))
    try:
        return _run(con, f"SELECT count(*) FROM _file_keys WHERE key IN (SELECT {record_key_sql('record_id')} FROM links "
                         f"WHERE period IN ({', '.join('?' * len(periods))}) AND dept = ?)", [*periods, dept])[0][0]
    finally:
        con.unregister("_file_keys")


def status_before(con: duckdb.DuckDBPyConnection, period: str) -> pl.DataFrame | None:
    """The `warning_status` snapshot of the latest period before `period` that stored one with
    rows (the warning status the last run left; None when there is none)."""
    if not _has_table(con, STATUS_PERIODS):
        return None
    last = _run(con, f"SELECT max(period) FROM {STATUS_PERIODS} WHERE period < ? AND warnings > 0", [period])[0][0]
    return None if last is None else table(con, STATUS, "period = ?", [last])


class NotAWarehouse(ValueError):
    """A file given to `restore` that is no warehouse of this pipeline."""


# the columns of `runs` every warehouse has had (`connect` adds the others), which `restore` asks for
_FIRST_RUNS = ("run_id", "period", "started_at", "finished_at", "status")


def row_counts(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    """Each table's number of rows (views aside: they read the tables)."""
    tables = _run(con, "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE' "
                       "AND table_catalog = current_database() AND table_schema = 'main' ORDER BY table_name")
    return {t: _run(con, f'SELECT count(*) FROM "{t}"')[0][0] for (t,) in tables}


def holdings(con: duckdb.DuckDBPyConnection) -> dict:
    """What a warehouse holds, as a backup or restore says it: the periods run successfully, the
    township answers (`feedback_answers`) and review answers (`review_answers`) it keeps; and
    when its last run ended (`last_run`, UTC; None before any): a period folder published later
    is one it does not hold."""
    def count(table: str) -> int:
        return _run(con, f"SELECT count(*) FROM {table}")[0][0] if _has_table(con, table) else 0
    return {"periods": [p for (p,) in _run(con, "SELECT DISTINCT period FROM runs WHERE status = 'ok' ORDER BY period")],
            "township_answers": count("feedback_answers"), "review_answers": count("review_answers"),
            "last_run": _run(con, "SELECT max(coalesce(finished_at, stored_at, started_at)) FROM runs")[0][0]}


def run_settings(path: Path | None, periods: list[str]) -> dict[str, tuple[str | None, list[str]]]:
    """Each of `periods` -> the settings (config path, overrides) of its last successful run in the
    warehouse file at `path` (read only: the warehouse a restore replaced), as recorded; a period
    it never ran or ran before settings were kept is left out, as all are when it cannot be read."""
    if path is None or not periods:
        return {}
    try:
        with reading(path) as con:
            if not {"config_path", "overrides"} <= set(_columns(con, "runs")):
                return {}
            rows = _run(con, "SELECT period, arg_max(config_path, started_at), arg_max(overrides, started_at) FROM runs "
                             f"WHERE status = 'ok' AND period IN ({', '.join('?' * len(periods))}) GROUP BY period",
                        list(periods))
    except duckdb.Error:
        return {}
    return {p: (c, list(o)) for p, c, o in rows if o is not None}


def backup(path: Path, to: Path) -> dict:
    """Copy the warehouse at `path` to `to`, the caller holding the warehouse lock (no run writes
    it): what its WAL still holds is first written into the file (CHECKPOINT: a copy of the file
    alone lacks it), the file copied to a temporary name beside `to`, put on disk, checked (each
    table as many rows as the warehouse's) and only then renamed onto `to`, so that `to` is never
    a half copy; mode 0600 (it holds what the warehouse holds). -> `holdings` of the copy."""
    con = duckdb.connect(str(path))  # (not `connect`: the copy is the warehouse as it is, not upgraded)
    try:
        _run(con, "CHECKPOINT")
        counts = row_counts(con)
    finally:
        con.close()
    with atomic_path(to, durable=True) as tmp:
        shutil.copyfile(path, tmp)
        with reading(tmp) as copy:
            if (copied := row_counts(copy)) != counts:
                differ = sorted(t for t in counts.keys() | copied.keys() if counts.get(t) != copied.get(t))
                raise ValueError(f"the copy of {path} does not hold what it holds (tables {', '.join(differ)}); "
                                 f"{to} was not written")
            held = holdings(copy)
    return held


def restore(path: Path, source: Path) -> tuple[dict, Path | None]:
    """Put `source` (a `backup`) in place of the warehouse at `path`, the caller holding the
    warehouse lock: copied beside it, put on disk, checked to be a warehouse (its `runs` table;
    one of an older layout is upgraded by the next run's `connect`, one from before the key,
    without `secrets`, given its key by the next run, as a run of it would), then renamed onto `path`. The
    warehouse there before keeps a name of its own, `<name>.before-restore-<time>` (with the WAL
    a killed run left it), taken before the rename: never deleted, and `path` never missing.
    -> (`holdings` of the copy, the name the one before is kept under, None when there was none).
    Raises `NotAWarehouse` for a file that is not one."""
    path, kept = Path(path), None
    with atomic_path(path, durable=True) as tmp:
        shutil.copyfile(source, tmp)
        try:
            with reading(tmp) as con:
                lacks = [c for c in _FIRST_RUNS if c not in _columns(con, "runs")]
                held = holdings(con) if not lacks else None
        except duckdb.Error as exc:  # (no DuckDB file, or one of a newer DuckDB: its first line names the file)
            said = str(exc).splitlines()[0] if isinstance(exc, duckdb.IOException) else type(exc).__name__
            raise NotAWarehouse(f"{source} is not a warehouse: {said.replace(str(tmp), str(source))}") from None
        if lacks:
            raise NotAWarehouse(f"{source} is not a warehouse of this pipeline: it has no runs table"
                                + (f" with {', '.join(lacks)}" if len(lacks) < len(_FIRST_RUNS) else ""))
        if path.exists():
            stamp = f"{path.name}.before-restore-{datetime.now():%Y%m%dT%H%M%S}"
            for n in range(1, 1000):  # (a second restore within the second: -2, -3 ...)
                kept = path.with_name(stamp if n == 1 else f"{stamp}-{n}")
                try:
                    os.link(path, kept)  # (refuses an existing name: nothing is overwritten)
                    break
                except FileExistsError:
                    if n == 999:
                        raise
            wal = path.with_name(path.name + ".wal")
            if wal.exists():  # a killed run's: the old warehouse's, never to be replayed into the copy
                os.replace(wal, kept.with_name(kept.name + ".wal"))
    return held, kept

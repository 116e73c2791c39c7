"""The command line of the county early-warning pipeline (部门筛查预警): its commands, their
console output and exit codes. Run it as `python flows.py ...` (flows.py hands its arguments to
`main`); the tasks and flows it starts are flows.py's.

    python flows.py run --inbox INBOX --period 2026-10 --out OUT      one county, one period
    python flows.py serve --inbox INBOX --out OUT                       monthly schedule (needs a Prefect server)
    python flows.py province --counties counties.toml --period 2026-10  several counties at once
    python flows.py deploy --counties counties.toml --pool suzhou       one deployment per county on a work pool
    python flows.py backup --out OUT --to FILE                          a consistent copy of the warehouse
    python flows.py restore --from FILE --out OUT                       that copy put back in its place

Each says one safe line per failure on stderr (no traceback, no personal data) and exits with a
code scripts can rely on: 0 done, 1 the run failed, 2 bad arguments or configuration, 3 busy
(another run is using the warehouse, or another program holds it open), 4 partly done (the
period is stored and published, but a step after its commit or a later period it re-ran failed).
Operating it: docs/OPERATIONS.md.
"""

from __future__ import annotations

import argparse
import os
import re
import shlex
import sys
from pathlib import Path
from zoneinfo import ZoneInfo

# flows first: it sets Prefect's and polars' environment (PREFECT_HOME, the allocator) before they load
from flows import (ROOT, TIMEZONE, Busy, PartlyDone, cascading, check_dates, flow_result, full_run_done, safe_error,
                   county_settings, monthly_run, province_run, recover_interrupted, rerun_later_periods,
                   resolve_departments, scheduled_run, summary_text, warehouse_lock)

import duckdb
from adapters import outputs, warehouse
from config import Config, load_config, read_toml
from prefect.task_runners import ProcessPoolTaskRunner

# Exit codes scripts can rely on (docs/OPERATIONS.md).
EXIT_OK, EXIT_FAILED, EXIT_USAGE, EXIT_BUSY, EXIT_PARTLY = 0, 1, 2, 3, 4
MONTHLY_CRON = "0 2 5 * *"  # 02:00 on the 5th of every month, county time


HELP = """\
县级防返贫部门筛查预警 · county early-warning pipeline.

commands:
  run       one county, one period: inbox -> township lists, county files, warehouse
  serve     register the monthly schedule (5th of the month, 02:00 Asia/Shanghai) on a Prefect
            server and run it from this process (needs PREFECT_API_URL)
  province  several counties, one period, run concurrently (counties listed in a TOML file)
  deploy    register one monthly deployment per county (same TOML file) on a process work pool,
            run by `prefect worker start --pool POOL` on the machines (needs PREFECT_API_URL)
  backup    copy the warehouse (the county's memory: answers, warning history, the 预警编号 key)
            to a file, consistently, under the run's lock
  restore   put such a copy back as the warehouse; the one there before is kept beside it

exit codes:
  0 done   1 the run failed (one-line message on stderr)   2 bad arguments or configuration
  3 busy: another run is using the same warehouse, or another program holds it open (named):
    try again later
  4 partly done: the period was run and published, but a step after it (the Prefect artifacts)
    or a later period re-run after it failed (one line names it, why, and what to run)
"""

RUN_EXAMPLES = """\
examples:
  # the month, in full
  python flows.py run --inbox /data/inbox --period 2026-10 --out /data/out
  # 医保 and 民政 re-delivered corrections: re-read only them, keep the other departments' results
  python flows.py run --inbox /data/inbox --period 2026-10 --out /data/out --dept 医保 --dept 民政
  # try a stricter M1 threshold without writing anything
  python flows.py run --inbox /data/inbox --period 2026-10 --out /data/out --set M1.threshold=8000 --dry-run
  # an analyst's own rules file
  python flows.py run --inbox /data/inbox --period 2026-10 --out /tmp/try --config my_rules.toml
  # the review queue answered (是否本人 filled in OUT/2026-10/county/人工复核队列.xlsx, saved into
  # /data/inbox/2026-10/复核/): run the month again; its later months follow
  python flows.py run --inbox /data/inbox --period 2026-10 --out /data/out

Progress goes to stderr (one line per finished step with its seconds); the summary to stdout.
Neither ever shows a name or an ID number.
"""


def _parser() -> argparse.ArgumentParser:
    fmt = argparse.RawDescriptionHelpFormatter
    parser = argparse.ArgumentParser(prog="flows.py", description=HELP, formatter_class=fmt,
                                     epilog="details: docs/OPERATIONS.md")
    sub = parser.add_subparsers(dest="command", required=True)

    def common(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", help="rule/threshold file (default config/default.toml)")
        p.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                       help="override one setting, e.g. --set M1.threshold=8000 (repeatable)")

    run = sub.add_parser("run", help="run one period: inbox -> township lists", formatter_class=fmt,
                         description="Run one county's period.", epilog=RUN_EXAMPLES)
    run.add_argument("--inbox", required=True, help="inbox folder holding YYYY-MM period folders")
    run.add_argument("--period", required=True, help="reporting period, YYYY-MM")
    run.add_argument("--out", required=True, help="output folder (OUT/YYYY-MM/ is written)")
    run.add_argument("--warehouse", help="DuckDB warehouse file (default OUT/warehouse.duckdb)")
    common(run)
    run.add_argument("--issue-date", help="下发日期 to print on the lists, YYYY-MM-DD (default: the one the period's "
                     "lists went out with if it was run before, else today)")
    run.add_argument("--dept", action="append", default=[], metavar="DEPT",
                     help="re-read, link and warn only this department (repeatable; Chinese folder name or "
                          "English alias). The period must have been run in full before; the other "
                          "departments' results are kept")
    run.add_argument("--dry-run", action="store_true",
                     help="do everything in a scratch folder, print what would be written; change nothing")
    run.add_argument("--county", help="label for the run's Prefect artifacts, e.g. the county code 341302")
    run.add_argument("--no-cascade", action="store_true",
                     help="do not re-run later periods already run (by default they are run again, in order, "
                          "because their year-to-date sums and warning history depend on this period)")

    serve = sub.add_parser("serve", formatter_class=fmt, help="serve the monthly schedule (needs a Prefect server)",
                           description="Create/update the deployment `monthly-scheduled/<name>` with its cron "
                                       "schedule and run its flow runs from this process until stopped. Each run "
                                       "works on the previous month (county time).",
                           epilog="example:\n  PREFECT_API_URL=http://127.0.0.1:4200/api python flows.py serve "
                                  "--inbox /data/inbox --out /data/out --county 341302")
    serve.add_argument("--inbox", required=True)
    serve.add_argument("--out", required=True)
    serve.add_argument("--warehouse")
    common(serve)
    serve.add_argument("--name", default="county-monthly",
                       help="deployment name (default county-monthly; one name per county on a server)")
    serve.add_argument("--cron", default=MONTHLY_CRON, help=f"cron schedule (default '{MONTHLY_CRON}')")
    serve.add_argument("--timezone", default=TIMEZONE, help=f"schedule time zone (default {TIMEZONE})")
    serve.add_argument("--county", help="label for the runs' artifacts, e.g. 341302")

    prov = sub.add_parser("province", formatter_class=fmt, help="run several counties at once",
                          description="Run one period for every county listed in a TOML file, concurrently.",
                          epilog='counties file:\n  [[county]]\n  name = "埇桥区"\n  code = "341302"\n'
                                 '  inbox = "/data/341302/inbox"\n  out = "/data/341302/out"\n'
                                 '  # warehouse = ..., config = ..., set = ["M1.threshold=8000"] (optional)\n\n'
                                 "example:\n  python flows.py province --counties suzhou.toml --period 2026-10")
    prov.add_argument("--counties", required=True, help="TOML file with one [[county]] table per county")
    prov.add_argument("--period", required=True)
    common(prov)
    prov.add_argument("--issue-date")
    prov.add_argument("--workers", type=int, default=2, help="counties run at the same time (default 2)")

    dep = sub.add_parser("deploy", formatter_class=fmt, help="one monthly deployment per county on a work pool",
                         description="Create the process work pool if missing and create/update the deployment "
                                     "`monthly-scheduled/<code>` of every county in the TOML file, with its "
                                     "parameters and the monthly cron. Workers on the counties' machines run them.",
                         epilog="example:\n  PREFECT_API_URL=http://city-server:4200/api python flows.py deploy "
                                "--counties suzhou.toml --pool suzhou\n  # then, on each machine:\n"
                                "  PREFECT_API_URL=http://city-server:4200/api prefect worker start --pool suzhou "
                                "--limit 1\n\ncounties file: as for `province` (+ optional queue = \"host-a\": "
                                "the pool's work queue of the machine holding the county's data)")
    dep.add_argument("--counties", required=True, help="TOML file with one [[county]] table per county")
    dep.add_argument("--pool", required=True, help="process work pool (created if missing)")
    common(dep)
    dep.add_argument("--cron", default=MONTHLY_CRON, help=f"cron schedule (default '{MONTHLY_CRON}')")
    dep.add_argument("--timezone", default=TIMEZONE, help=f"schedule time zone (default {TIMEZONE})")
    dep.add_argument("--source", default=str(ROOT),
                     help="project folder holding flows.py, at the same path on every worker machine "
                          "(default this one)")

    bk = sub.add_parser("backup", formatter_class=fmt, help="copy the warehouse to a file, safely",
                        description="Copy the warehouse to FILE under the lock a writing run takes (never a copy "
                                    "torn by a run writing it), check the copy holds every row, and say what it "
                                    "holds. FILE is readable by its owner only.",
                        epilog="example (nightly, kept 30 days: docs/OPERATIONS.md):\n  python flows.py backup "
                               "--out /data/out --to /backup/fanpin/warehouse-$(date +%F).duckdb")
    bk.add_argument("--out", required=True, help="output folder holding warehouse.duckdb")
    bk.add_argument("--warehouse", help="DuckDB warehouse file (default OUT/warehouse.duckdb)")
    bk.add_argument("--to", required=True, metavar="FILE", help="the copy to write (refused if it exists)")
    bk.add_argument("--force", action="store_true", help="replace FILE when it exists")

    rs = sub.add_parser("restore", formatter_class=fmt, help="put a backup back as the warehouse",
                        description="Under the warehouse lock, check that FILE is a warehouse of this pipeline and "
                                    "put a copy of it in place of the warehouse. The warehouse there before is kept "
                                    "as warehouse.duckdb.before-restore-<time>, never deleted. Its line names the periods "
                                    "OUT holds lists of that the copy does not hold (run after the backup), with the runs "
                                    "that take them in again.",
                        epilog="example:\n  python flows.py restore --from /backup/fanpin/warehouse-2026-11-04.duckdb "
                               "--out /data/out")
    rs.add_argument("--from", dest="source", required=True, metavar="FILE", help="a copy `backup` wrote")
    rs.add_argument("--out", required=True, help="output folder holding warehouse.duckdb")
    rs.add_argument("--warehouse", help="DuckDB warehouse file (default OUT/warehouse.duckdb)")
    return parser


def _named_otherwise(inbox: Path, period: str, cfg: Config | None = None) -> str:
    """What to add to `no period folder`: the inbox's folders naming the period otherwise (202610,
    2026年10月, 2026.10), to be renamed; or, when the inbox holds department folders, that it is
    the period's folder itself (the inbox is the folder above it: folders named as `cfg`, else the
    default configuration, names them); empty when neither."""
    year, month = period.split("-")
    try:
        folders = [p for p in sorted(inbox.iterdir()) if p.is_dir()]
    except OSError:
        return ""
    found = [p.name for p in folders if re.findall(r"\d+", p.name)[:2] in ([year, month], [year, str(int(month))], [year + month])]
    shown = ", ".join(f"'{f}'" for f in found)
    if found:
        return f" (the month's deliveries in {shown}? rename it {period})"
    if any((cfg or load_config()).folder_of(p.name) for p in folders):
        rename = "" if inbox.name == period else f", and name this folder {period}"
        return (f" ({inbox} holds the department folders: it is the period's folder itself; the inbox is the folder above "
                f"it, --inbox {inbox.parent}{rename})")
    return ""


def _err(message: str, code: int) -> int:
    print(f"error: {message}", file=sys.stderr)
    return code


def main(argv: list[str] | None = None) -> int:
    # (a writing run holds umask 077 with the warehouse's lock: `warehouse_lock`)
    try:
        args = _parser().parse_args(argv)
    except SystemExit as exc:  # argparse: --help (0) or a usage error (2)
        return int(exc.code or 0)
    if args.command in ("backup", "restore"):  # (no settings: the warehouse is copied as it is)
        return _backup(args) if args.command == "backup" else _restore(args)
    try:
        cfg = load_config(args.config, args.set)
    except (OSError, ValueError, KeyError, TypeError) as exc:  # (a file's: `read_toml` names it)
        return _err(f"configuration: {exc}", EXIT_USAGE)
    if args.command == "serve":
        return _serve(args)
    if args.command == "province":
        return _province(args)
    if args.command == "deploy":
        return _deploy(args)

    if (bad := check_dates(args.period, args.issue_date)) is not None:
        return _err(bad, EXIT_USAGE)
    period_dir = Path(args.inbox) / args.period
    if not period_dir.is_dir():
        return _err(f"no period folder {period_dir}{_named_otherwise(Path(args.inbox), args.period, cfg)}", EXIT_USAGE)
    if Path(args.out).exists() and not Path(args.out).is_dir():  # (a dry run would not find out)
        return _err(f"--out {args.out} is a file, not a folder", EXIT_USAGE)
    try:
        only = resolve_departments(cfg, args.dept)
    except ValueError as exc:
        return _err(str(exc), EXIT_USAGE)
    wh = _warehouse_path(args)
    if only and not wh.exists():  # refused before the lock file (and OUT) would be created
        return _err(_no_full_run(args, wh), EXIT_USAGE)
    try:
        return _run_locked(args, cfg, wh, only)
    except (OSError, duckdb.Error) as exc:
        return _failed(exc, wh)


def _warehouse_path(args) -> Path:
    """The warehouse a command works on: --warehouse, else OUT/warehouse.duckdb (SPEC §5)."""
    return Path(args.warehouse) if args.warehouse else Path(args.out) / "warehouse.duckdb"


def _busy(held: Busy) -> str:
    """What a command says when it cannot hold the warehouse (exit 3): who has it (`warehouse_lock`)."""
    return f"{held}; wait for it to finish" if held.holder is None else f"{held}, then try again"


def _failed(exc: BaseException, wh: Path) -> int:
    """Exit for an error before or around a run (or a backup): 3, said as `_busy` says it, when
    DuckDB found the warehouse held by another program (opened after `warehouse_lock` looked: it
    was a DuckDB I/O error and exit 1); else 1 with `_cannot`'s line."""
    if isinstance(exc, duckdb.Error) and (holder := warehouse.lock_holder(exc)):
        return _err(_busy(Busy(wh, holder)), EXIT_BUSY)
    return _err(_cannot(exc, wh), EXIT_FAILED)


def _cannot(exc: OSError | duckdb.Error, wh: Path) -> str:
    """What an OS or DuckDB error before or around a run (or a backup) says, in one line."""
    if isinstance(exc, OSError):  # OUT or the warehouse's folder not writable, a disk full before the run began
        return f"cannot use {exc.filename or wh}: {exc.strerror or exc}"
    # opened before the run: a --warehouse that is no DuckDB file (a wrong path, a truncated copy)
    # or one of another DuckDB version; its I/O message names the file only
    said = str(exc).splitlines()[0] if isinstance(exc, duckdb.IOException) else type(exc).__name__
    return f"cannot open the warehouse {wh}: {said}"


def _holds(held: dict) -> str:
    """`warehouse.holdings` in words."""
    def n(count: int, what: str) -> str:
        return f"{count} {what}{'s' * (count != 1)}"
    periods = held["periods"]
    return (n(len(periods), "period")
            + (f" ({periods[0]} to {periods[-1]})" if len(periods) > 1 else f" ({periods[0]})" if periods else "")
            + f", {n(held['township_answers'], 'township answer')}, {n(held['review_answers'], 'review answer')}")


def _backup(args) -> int:
    wh = _warehouse_path(args)
    to = Path(args.to)
    if not wh.is_file():  # refused before the lock file (and OUT) would be created
        return _err(f"no warehouse {wh} to back up", EXIT_USAGE)
    if to.is_dir():
        return _err(f"--to {to} is a folder: name the file to write in it", EXIT_USAGE)
    if to.exists() and not args.force:
        return _err(f"{to} exists: give another --to, or --force to replace it", EXIT_USAGE)
    try:
        with warehouse_lock(wh) as held:
            if not held:
                return _err(_busy(held), EXIT_BUSY)
            holds = warehouse.backup(wh, to)
    except ValueError as exc:  # the copy checked holds other rows: not written
        return _err(str(exc), EXIT_FAILED)
    except (OSError, duckdb.Error) as exc:
        return _failed(exc, wh)
    print(f"backed up {wh} to {to}: {to.stat().st_size / 1e6:.1f} MB, {_holds(holds)}")
    return EXIT_OK


def _restore(args) -> int:
    wh = _warehouse_path(args)
    source = Path(args.source)
    if not source.is_file():
        return _err(f"no file {source} to restore", EXIT_USAGE)
    try:
        with warehouse_lock(wh) as held:
            if not held:
                return _err(_busy(held), EXIT_BUSY)
            holds, kept = warehouse.restore(wh, source)
    except warehouse.NotAWarehouse as exc:
        return _err(f"{exc}; {wh} is unchanged", EXIT_USAGE)
    except (OSError, duckdb.Error) as exc:
        return _failed(exc, wh)
    print(f"restored {wh} from {source}: {_holds(holds)}; "
          + (f"the warehouse before is kept as {kept}" if kept else "there was no warehouse before")
          + _run_again_after_restore(args, holds, kept))
    return EXIT_OK


def _run_again_after_restore(args, held: dict, before: Path | None = None) -> str:
    """What a restore adds to its line: the periods whose lists OUT holds and the warehouse put
    back does not (published after its last run, or never run in it), and the runs that make it
    hold them again, in order (empty when there are none). The first one's cascade re-runs the
    later periods the warehouse holds; a period it never ran is given the 下发日期 its lists went
    out with (else its run dates them today, and the answers the townships dated before that are
    set aside as verified before the list). Answers are read from the inbox, never from OUT:
    township answers from INBOX/<period>/反馈/ (the period after the list's), review answers from
    INBOX/<period>/复核/, each by the run of the period whose folder holds them. Each run carries
    the --config / --set of the period's last run in the warehouse before (`before`: the one the
    restore replaced), or says to add them where that warehouse holds none (its cascade re-runs
    the later periods with their own, as the copy holds them)."""
    published = outputs.published_periods(Path(args.out))
    ran, last = held["periods"], held["last_run"]
    after = [p for p, at in published.items() if p not in ran or last is None or at > last]
    if not after:
        return ""
    settings = warehouse.run_settings(before, after)

    def command(period: str) -> str:
        issued = None if period in ran else outputs.issued_on(Path(args.out) / period) or "<下发日期 of its lists>"
        config, overrides = settings.get(period, (None, []))
        return (f"`python flows.py run --inbox INBOX --period {period} --out {args.out}"
                + (f" --warehouse {args.warehouse}" if args.warehouse else "")
                + (f" --config {shlex.quote(config)}" if config else "")
                + "".join(f" --set {shlex.quote(o)}" for o in overrides)
                + (f" --issue-date {issued}" if issued else "") + "`"
                + ("" if period in settings else " (add the --config / --set it was run with: the warehouse before "
                                                 "holds no record of them)"))

    cascaded = [p for p in ran if p > after[0]]  # (the first run's cascade runs them again)
    runs = [command(after[0]) + (f" (it runs {', '.join(cascaded)} again after it)" if cascaded else ""),
            *[command(p) for p in after[1:] if p not in ran]]
    return (f"; OUT holds lists of {', '.join(after)} that this warehouse does not hold (published after the backup, "
            f"or never run in it): run {'it again' if len(after) == 1 else 'them again, in order'}: {', then '.join(runs)}; "
            f"each run takes in again the township and review answers in its own inbox folder (INBOX/<period>/反馈/ "
            f"and 复核/: a list's answers are in the next period's), none from OUT")


def _no_full_run(args, wh: Path) -> str:
    return (f"--dept re-runs part of a period that was run in full before, but {args.period} has no complete run "
            f"in {wh} with its folder {Path(args.out) / args.period}; run the whole period first (without --dept)")


def _run_locked(args, cfg: Config, wh: Path, only: tuple[str, ...]) -> int:
    """`run`, under the warehouse lock: recover an interrupted run, run the period, re-run the
    later ones (cascade). Exit code."""
    with warehouse_lock(wh, shared=args.dry_run) as held:
        if not held:
            return _err(_busy(held), EXIT_BUSY)
        if not args.dry_run:
            recover_interrupted(Path(args.out), wh)
        elif left := outputs.left_by_killed_runs(Path(args.out)):  # (a dry run writes nothing: said, not done)
            print(f"note: a killed run left {', '.join(left)} in {args.out}, to be recovered: this dry run reads "
                  f"{args.out} as it is; the next real run recovers them first", file=sys.stderr)
        if only and not (full_run_done(wh, args.period) and (Path(args.out) / args.period / "county").is_dir()):
            return _err(_no_full_run(args, wh), EXIT_USAGE)
        print(f"run {args.period}{' (dry run)' if args.dry_run else ''}"
              f"{': departments ' + ', '.join(only) if only else ''} ...", file=sys.stderr, flush=True)
        with cascading(wh, args.period, on=not (args.dry_run or args.no_cascade)):
            return _run_and_cascade(args, wh, only)


def _run_and_cascade(args, wh: Path, only: tuple[str, ...]) -> int:
    """The period's run and its summary, then the later periods' (cascade). Exit code."""
    try:
        result = flow_result(monthly_run(args.inbox, args.period, args.out, str(wh), args.config, args.set,
                                       args.issue_date, departments=list(only) or None, dry_run=args.dry_run,
                                       county=args.county, return_state=True))
        print(summary_text(result))
        if args.dry_run and not args.no_cascade and (later := _later_periods(wh, args.period)):
            print(f"  then, as they depend on {args.period}, a real run would run again: {', '.join(later)}")
    except PartlyDone as exc:  # stored and published, the step after failed: 4, as below
        return _err(str(exc), EXIT_PARTLY)
    except duckdb.Error as exc:  # (held by a program that opened it after the lock was taken: exit 3, nothing done)
        return _failed(exc, wh) if warehouse.lock_holder(exc) else _err(safe_error(exc), EXIT_FAILED)
    except Exception as exc:  # noqa: BLE001 - every other failure becomes one safe line and exit 1
        return _err(safe_error(exc), EXIT_FAILED)
    if args.no_cascade:
        try:
            later = _later_periods(wh, args.period)
        except Exception as exc:  # noqa: BLE001 - a real run's period is done all the same: exit 4, not 1
            if args.dry_run:
                return _err(safe_error(exc), EXIT_FAILED)
            return _err(f"{args.period} is done, but which later periods already run still reflect it as it was "
                        f"before this run could not be read: {safe_error(exc)}; run them again, in order", EXIT_PARTLY)
        if later and args.dry_run:  # (it changed nothing: what a real run would leave)
            print(f"note: a real run with --no-cascade would not run again {', '.join(later)}, already run: they would "
                  f"still reflect {args.period} as it was before it")
        elif later:  # (their sums, history and lists were made from this period as it was before: said, not left to memory)
            print(f"note: not run again (--no-cascade): {', '.join(later)}, already run, still reflect "
                  f"{args.period} as it was before this run; run them again to take it in")
    if args.dry_run or args.no_cascade:
        return EXIT_OK
    try:
        rerun_later_periods(args.inbox, args.out, wh, args.config, args.set, args.period, args.county)
    except PartlyDone as exc:  # the period is done all the same: exit 4, not 1
        return _err(str(exc), EXIT_PARTLY)
    return EXIT_OK


def _later_periods(warehouse_path: Path, period: str) -> list[str]:
    """The periods after `period` a real run would run again (`rerun_later_periods`), read
    without writing to the warehouse (for a dry run)."""
    import duckdb

    if not Path(warehouse_path).exists():
        return []
    con = duckdb.connect(str(warehouse_path), read_only=True)
    try:
        return warehouse.later_periods(con, period)  # (every warehouse file has `runs`)
    finally:
        con.close()


def _server_error(exc: BaseException) -> str:
    """A Prefect server's refusal or absence, in one line (`serve`, `deploy`)."""
    return f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


def _serve(args) -> int:
    from prefect.schedules import Cron
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():
        return _err("serve needs a running Prefect server: start `prefect server start` and set "
                    "PREFECT_API_URL (docs/OPERATIONS.md)", EXIT_USAGE)
    if not Path(args.inbox).is_dir():
        return _err(f"no inbox folder {args.inbox}", EXIT_USAGE)
    try:
        ZoneInfo(args.timezone)
        schedule = Cron(args.cron, timezone=args.timezone)
    except (ValueError, KeyError) as exc:
        return _err(f"serve: {exc}", EXIT_USAGE)
    params = {"inbox_dir": str(Path(args.inbox).resolve()), "out_dir": str(Path(args.out).resolve()),
              "warehouse_path": str(Path(args.warehouse).resolve()) if args.warehouse else None,
              "config_path": str(Path(args.config).resolve()) if args.config else None,
              "overrides": list(args.set), "county": args.county}
    try:
        other = _served_elsewhere(f"{scheduled_run.name}/{args.name}", params)
    except Exception as exc:  # noqa: BLE001 - the server unreachable: one line
        return _err(f"serve on {PREFECT_API_URL.value()}: {_server_error(exc)}", EXIT_FAILED)
    if other is not None:
        return _err(f"the deployment {scheduled_run.name}/{args.name} already serves {other}; serving this county "
                    f"under the same name would take its schedule over: give it its own --name", EXIT_USAGE)
    # The runner ships the flow to each run's subprocess by reference to its module: the
    # importable `flows` module's (flows.py run as a script defines none: see its top).
    scheduled_run.serve(
        name=args.name, schedule=schedule, parameters=params,
        tags=["fanpin", *( [args.county] if args.county else [])], limit=1, pause_on_shutdown=False,
        description="县级防返贫部门筛查预警: monthly run on the previous month's deliveries",
    )
    return EXIT_OK


def _served_elsewhere(name: str, params: dict) -> str | None:
    """The inbox and OUT of deployment `name` when it exists for another county's folders (a
    second `serve` under the same name replaces its parameters: the first county would silently
    stop running); None when it is new or the same county's."""
    from prefect.client.orchestration import get_client
    from prefect.exceptions import ObjectNotFound

    with get_client(sync_client=True) as client:
        try:
            got = client.read_deployment_by_name(name).parameters or {}
        except ObjectNotFound:
            return None
    keys = ("inbox_dir", "out_dir")
    if all(got.get(k) in (None, params[k]) for k in keys):
        return None
    return f"inbox {got.get('inbox_dir')}, OUT {got.get('out_dir')}"


def load_counties(path: Path) -> list[dict]:
    """The province's counties file: `[[county]]` tables with name, inbox, out (+ code, warehouse,
    config, set). Relative paths are taken from the file's folder."""
    raw = read_toml(path)  # (saved by Notepad or WPS: a BOM, GB18030)
    counties = raw.get("county", [])
    if not counties:
        raise ValueError(f"{path}: no [[county]] tables")
    base = Path(path).resolve().parent
    out = []
    for c in counties:
        missing = [k for k in ("name", "inbox", "out") if not c.get(k)]
        if missing:
            raise ValueError(f"{path}: a county lacks {', '.join(missing)}")
        c = dict(c)
        for k in ("inbox", "out", "warehouse", "config"):
            if c.get(k):
                c[k] = str((base / c[k]).resolve())
        out.append(c)
    return out


def _province(args) -> int:
    if (bad := check_dates(args.period, args.issue_date)) is not None:
        return _err(bad, EXIT_USAGE)
    try:
        counties = load_counties(Path(args.counties))
    except (OSError, ValueError) as exc:
        return _err(f"counties file: {exc}", EXIT_USAGE)
    for c in counties:
        if not (Path(c["inbox"]) / args.period).is_dir():
            return _err(f"{c['name']}: no period folder {Path(c['inbox']) / args.period}"
                        f"{_named_otherwise(Path(c['inbox']), args.period)}", EXIT_USAGE)
        try:  # a bad setting is named now (as `run` and `deploy` do), not told as a ValueError per county
            load_config(*county_settings(c, args.config, args.set))
        except (OSError, ValueError, KeyError, TypeError) as exc:
            return _err(f"{c['name']}: configuration: {exc}", EXIT_USAGE)
    # Worker processes import the tasks by module name: the importable `flows` module's (flows.py
    # run as a script defines none: see its top).
    from prefect.settings import PREFECT_API_URL

    if not PREFECT_API_URL.value():  # one temporary API for this process and its county workers
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()
        server.start()
        os.environ["PREFECT_API_URL"] = server.api_url

    flow_ = province_run.with_options(task_runner=ProcessPoolTaskRunner(max_workers=max(1, args.workers)))
    try:
        results = flow_(counties, args.period, args.config, args.set, args.issue_date)
    except Exception as exc:  # noqa: BLE001
        return _err(safe_error(exc), EXIT_FAILED)
    if partly := [r["county"] for r in results if r.get("partly")]:
        return _err(f"{len(partly)} of {len(results)} counties partly done: {', '.join(partly)} "
                    f"({'its line' if len(partly) == 1 else 'their lines'} above)", EXIT_PARTLY)
    return EXIT_OK


def _deploy(args) -> int:
    """One deployment of `scheduled_run` per county on a process work pool; workers run them."""
    from prefect.client.orchestration import get_client
    from prefect.client.schemas.actions import WorkPoolCreate
    from prefect.exceptions import ObjectAlreadyExists
    from prefect.schedules import Cron
    from prefect.settings import PREFECT_API_URL
    from prefect.workers.process import ProcessWorker

    if not (url := PREFECT_API_URL.value()):
        return _err("deploy needs a running Prefect server: start `prefect server start` and set "
                    "PREFECT_API_URL (docs/OPERATIONS.md)", EXIT_USAGE)
    try:
        counties = load_counties(Path(args.counties))
        for c in counties:  # a bad per-county setting fails now, not on the 5th at 02:00
            load_config(*county_settings(c, args.config, args.set))
        ZoneInfo(args.timezone)
        schedule = Cron(args.cron, timezone=args.timezone)
    except (OSError, ValueError, KeyError, TypeError) as exc:
        return _err(f"deploy: {exc}", EXIT_USAGE)
    source = Path(args.source).resolve()
    if not (source / "flows.py").is_file():
        return _err(f"--source {source} holds no flows.py", EXIT_USAGE)
    config = str(Path(args.config).resolve()) if args.config else None
    try:
        with get_client(sync_client=True) as client:
            try:
                client.create_work_pool(WorkPoolCreate(
                    name=args.pool, type="process", base_job_template=ProcessWorker.get_default_base_job_template()))
            except ObjectAlreadyExists:
                pass
        # The workers load flows.py from `source` (a process pool runs it in that folder); the
        # paths are the ones on the machine whose worker picks the run up. `to_deployment().apply()`
        # is what `Flow.deploy` does for a pool without an image, minus its console tables.
        flow_ = scheduled_run.from_source(source=str(source), entrypoint="flows.py:scheduled_run")
        for c in counties:
            label = str(c.get("code") or c["name"])
            config_path, overrides = county_settings(c, config, args.set)
            params = {"inbox_dir": c["inbox"], "out_dir": c["out"], "warehouse_path": c.get("warehouse"),
                      "config_path": config_path, "overrides": overrides, "county": label}
            flow_.to_deployment(
                name=label, parameters=params, schedule=schedule, tags=["fanpin", label],
                work_queue_name=c.get("queue"), description=f"县级防返贫部门筛查预警: {c['name']}, monthly",
            ).apply(work_pool_name=args.pool)
            print(f"{flow_.name}/{label}")
    except Exception as exc:  # noqa: BLE001 - server unreachable, refused names: one line
        return _err(f"deploy on {url}: {_server_error(exc)}", EXIT_FAILED)
    start = f"PREFECT_API_URL={url} prefect worker start --pool {args.pool} --limit 1"
    queues = sorted({str(c["queue"]) for c in counties if c.get("queue")})
    if not queues:
        print(f"start a worker on each machine: {start}")
    for q in queues:  # a worker without --work-queue would take every queue's runs
        print(f"on the machine of queue {q}: {start} --work-queue {q}")
    if queues and any(not c.get("queue") for c in counties):
        print(f"for the counties without a queue: {start} --work-queue default")
    return EXIT_OK

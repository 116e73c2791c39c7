"""What the townships are sent, against the truth: the monthly run on several generated counties,
its warnings scored per rule against the generator's (`truth/warnings.csv`).

    python -m benchmarks.warning_accuracy [--profile hard|standard] [--households 3000]
                                          [--seeds 3 5 7 11] [--work DIR] [--set KEY=VALUE ...]

Each county is generated once into WORK/<profile>_<households>_<seed>/ (the same folders as
`benchmarks.linkage_accuracy`, kept for re-runs) and run as the bureau runs it (`flows.py run`,
a fresh warehouse in WORK/out_<county>/ each time, so that nothing is suppressed as a repeat),
with any `--set` overrides (`--set M4.shown_min_p=0.2`: to weigh a setting), then scored with
`matchers.evaluate.evaluate_warnings`: per rule, the expected warnings the run issued (recall: a
missed one is a family nobody visits; `waiting` of them cite a record the review queue holds,
which an answer raises) and the issued ones that were expected (precision:
an extra one sends a grid worker to a family for nothing). The links' accuracy is
`linkage_accuracy`'s; this is what it comes to. Not part of the test suite (~25 s a county).
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

import polars as pl

from matchers.evaluate import WARNING_COUNTS, evaluate_warnings, warning_rates, warning_totals
from sample_data.generate import generate

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"


def run_county(county: Path, out: Path, period: str = PERIOD, overrides: list[str] = ()) -> None:
    """`flows.py run` on the county's inbox into a fresh `out` (with `--set` `overrides`); raises
    with the run's own message when it fails."""
    shutil.rmtree(out, ignore_errors=True)
    env = dict(os.environ, PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.setdefault("PREFECT_HOME", str(ROOT / ".prefect"))
    done = subprocess.run([sys.executable, str(ROOT / "flows.py"), "run", "--inbox", str(county / "inbox"),
                           "--period", period, "--out", str(out), *(a for o in overrides for a in ("--set", o))],
                          cwd=ROOT, env=env, capture_output=True, text=True)
    if done.returncode not in (0, 4):  # 4: done, with something to look at
        raise SystemExit(f"{county.name}: the run failed (exit {done.returncode}):\n{done.stdout[-2000:]}{done.stderr[-2000:]}")


def score(county: Path, out: Path, period: str = PERIOD) -> pl.DataFrame:
    """`evaluate_warnings` of one county's run."""
    truth = pl.read_csv(county / "truth" / "warnings.csv", infer_schema=False).filter(pl.col("period") == period)
    return evaluate_warnings(pl.read_parquet(out / period / "warnings.parquet"), truth,
                             pl.read_parquet(out / period / "links.parquet"))


def pooled(tables: list[pl.DataFrame]) -> pl.DataFrame:
    """Several `evaluate_warnings` tables summed per rule, with their rates again."""
    return warning_rates(pl.concat(tables).group_by("rule").agg(pl.col(*WARNING_COUNTS).sum()).sort("rule"))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="hard", choices=["standard", "hard"])
    ap.add_argument("--households", type=int, default=3000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 7, 11])
    ap.add_argument("--work", type=Path, help="where the counties are generated (kept for re-runs)")
    ap.add_argument("--set", action="append", default=[], metavar="KEY=VALUE",
                    help="a setting every run takes, as `flows.py run --set` (repeatable)")
    a = ap.parse_args(argv)
    work = a.work or Path(tempfile.mkdtemp(prefix="bench_warnings_"))
    tables = []
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, float_precision=4):
        for seed in a.seeds:
            county = work / f"{a.profile}_{a.households}_{seed}"
            if not (county / "truth" / "warnings.csv").exists():
                generate(county, seed=seed, periods=(PERIOD,), profile=a.profile, households=a.households)
            out = work / f"out_{county.name}"
            run_county(county, out, overrides=a.set)
            tables.append(score(county, out))
            print(f"\n== {county.name}\n{tables[-1]}")
        total = pooled(tables)
        print(f"\n== pooled over seeds {', '.join(map(str, a.seeds))}\n{total}")
        n = warning_totals(total)
        print(f"all rules: recall {n['recall']:.4f} ({n['missed']} missed, {n['waiting']} of them "
              f"waiting in review), precision {n['precision']:.4f} ({n['extra']} extra)\n"
              "recall = expected warnings issued (a household, or a lead citing one of its records); precision = issued "
              "warnings expected; waiting = missed ones citing a record in the review queue (an answer raises them)")


if __name__ == "__main__":
    main()

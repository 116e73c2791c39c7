"""Linkage accuracy over several generated counties, against the targets per department
(precision of `matched` >= 0.999, recall of linkable records >= 0.98, review <= 2% of records).

    python -m benchmarks.linkage_accuracy [--profile hard|standard|spec-moderate|spec-heavy|spec-dirty]
                                          [--households 3000] [--seeds 3 5 7 11]
                                          [--work DIR] [--precision 0.999 --recall 0.98 --review 0.02]
                                          [--by-kind] [--local-clinic 0.6]

Each county is generated once into WORK/<profile>_<households>_<seed>/ (kept for re-runs), read
and linked as the flow does, and scored with `matchers.evaluate`. Printed: each county's table,
then every department pooled over the counties with its lower 95% bounds and which targets it
meets (`--by-kind`: per extract, e.g. 医保's settlements and enrollment list apart;
`--local-clinic`: counties whose 普通门诊 patients visit their own township 卫生院 that often,
so that the learned place hints can show what they gain). A small department has 40-70 linkable records per county: one county shows its rates,
only several together say much about them. Not part of the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import polars as pl

from benchmarks.linkage_vs_splink import PROFILES, load_county
from config import load_config
from matchers.evaluate import calibration, evaluate, format_calibration, format_table, indistinguishable
from matchers.link import link


def county(work: Path, profile: str, households: int, seed: int,
           local_clinic: float | None = None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame]:
    """(links, truth, twins) of one generated county, record ids prefixed with the seed so that
    several counties can be pooled; twins: `indistinguishable`."""
    name = f"{profile}_{households}_{seed}" + (f"_clinic{local_clinic}" if local_clinic else "")
    records, roster, truth, population = load_county(work / name, profile, households, seed, local_clinic)
    matching = load_config().matching
    links, _ = link(records, roster, dataclasses.replace(matching, county_population=population))
    twins = indistinguishable(records, roster, truth, matching)
    tag = pl.lit(f"{seed}:") + pl.col("record_id")
    return links.with_columns(record_id=tag), truth.with_columns(record_id=tag), twins.with_columns(record_id=tag)


def verdict(table: pl.DataFrame, precision: float, recall: float, review: float) -> pl.DataFrame:
    """The person-level rows of an `evaluate` frame with one flag per target (null when there
    is nothing to judge)."""
    return table.filter(pl.col("linkable") > 0).select(
        pl.col(pl.String), "n", "linkable", "precision", "precision_low", "recall", "recall_low", "ambiguous",
        "ambiguous_matched", "recall_resolvable", "review_rate", P_met=pl.col("precision") >= precision, R_met=pl.col("recall") >= recall,
        R_resolvable_met=pl.col("recall_resolvable") >= recall, review_met=pl.col("review_rate") <= review)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="hard", choices=PROFILES,
                    help="spec-*: counties generated from SPEC.md alone (benchmarks.spec_county; --households ignored)")
    ap.add_argument("--households", type=int, default=3000)
    ap.add_argument("--seeds", type=int, nargs="+", default=[3, 5, 7, 11])
    ap.add_argument("--work", type=Path, help="where the counties are generated (kept for re-runs)")
    ap.add_argument("--precision", type=float, default=0.999)
    ap.add_argument("--recall", type=float, default=0.98)
    ap.add_argument("--review", type=float, default=0.02)
    ap.add_argument("--by-kind", action="store_true", help="one row per extract, not per department")
    ap.add_argument("--local-clinic", type=float, help="share of 普通门诊 visits at the patient's township 卫生院")
    a = ap.parse_args(argv)
    work = a.work or Path(tempfile.mkdtemp(prefix="bench_accuracy_"))
    links, truth, twins = [], [], []
    for seed in a.seeds:
        lk, tr, tw = county(work, a.profile, a.households, seed, a.local_clinic)
        print(f"\n== {a.profile}, {a.households} households, seed {seed}\n"
              f"{format_table(evaluate(lk, tr, by_kind=a.by_kind, twins=tw))}")
        links.append(lk)
        truth.append(tr)
        twins.append(tw)
    pooled = evaluate(pl.concat(links), pl.concat(truth, how="diagonal_relaxed"), by_kind=a.by_kind,
                      twins=pl.concat(twins))
    print(f"\n== pooled over seeds {', '.join(map(str, a.seeds))}\n{format_table(pooled)}")
    print("\n" + format_calibration(calibration(pl.concat(links), pl.concat(truth, how="diagonal_relaxed"))))
    with pl.Config(tbl_rows=-1, tbl_cols=-1, tbl_width_chars=200, float_precision=4):
        print(f"\ntargets: precision >= {a.precision}, recall >= {a.recall}, review <= {a.review:.0%} "
              "(R_resolvable: the recall of the records no other roster person fits as well)")
        print(verdict(pooled, a.precision, a.recall, a.review))


if __name__ == "__main__":
    main()

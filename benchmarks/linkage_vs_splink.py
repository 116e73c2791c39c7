"""Linkage accuracy and speed: our matcher (matchers.link) vs Splink (DuckDB backend) on one
generated county.

    pip install -e '.[bench]'            # splink>=4, not a runtime dependency
    python -m benchmarks.linkage_vs_splink [--profile standard|hard] [--households 3000] [--seed 7]
                                           [--out DIR] [--no-census]

Both see the same person records (read, validated, superseded, as the flow does) and the same
roster. Splink gets the same fields, made comparable column by column: the kept ID segments
(first 3 / first 6 / birth date / last 4, null where masked), the normalised name and its
toneless pinyin, surname, township and village. Blocking: region+last 4, first 3+last 4,
birth date+surname, birth date+first 6, surname+village. u from random sampling, m by EM on
two blocking rules, the prior from the roster's share of the population (as ours). Decisions
use the same thresholds as ours (`[matching]`: match / review / ambiguity ratio). Not part of
the test suite.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import logging
import tempfile
import time
from pathlib import Path

import polars as pl
from pypinyin import lazy_pinyin

from adapters.inbox import read_linkable
from config import MatchingConfig, load_config
from matchers.evaluate import evaluate, totals
from matchers.ids import normalize_ids
from matchers.link import link
from matchers.names import normalize_name
from matchers.places import normalize_place
from sample_data.generate import generate

PERIOD = "2026-10"


# our generator's two profiles, and the held-out styles of `benchmarks.spec_county`
PROFILES = ["standard", "hard", "spec-moderate", "spec-heavy", "spec-dirty"]


def load_county(out: Path, profile: str, households: int, seed: int,
                local_clinic: float | None = None) -> tuple[pl.DataFrame, pl.DataFrame, pl.DataFrame, int]:
    if not (out / "truth" / "links.csv").exists():
        if profile.startswith("spec-"):  # a county generated from SPEC.md alone (its own size)
            from benchmarks.spec_county import generate as generate_spec

            generate_spec(out, profile.removeprefix("spec-"), seed)
        else:
            generate(out, seed=seed, periods=(PERIOD,), profile=profile, households=households,
                     local_clinic=local_clinic)
    cfg = load_config()
    records, roster = read_linkable(out / "inbox" / PERIOD, cfg)
    truth = pl.read_csv(out / "truth" / "links.csv", infer_schema_length=0)
    population = json.loads((out / "truth" / "population.json").read_text())["county_population"]
    return records, roster, truth, population


# --- Splink ------------------------------------------------------------------------------------
def _pinyin(names: pl.Series) -> pl.Series:
    uniq = names.drop_nulls().unique().to_list()
    mapping = {n: " ".join(c if c in "*·" else lazy_pinyin(c)[0] for c in n) for n in uniq}
    return names.replace_strict(mapping, default=None, return_dtype=pl.Utf8)


def _features(df: pl.DataFrame, id_col: str, name: pl.Expr, town: pl.Expr, village: pl.Expr) -> pl.DataFrame:
    """Comparable columns: kept ID segments (null where any char is masked), name, place."""
    seg = lambda a, n: pl.when(~pl.col("id_norm").str.slice(a, n).str.contains(r"\*")).then(  # noqa: E731
        pl.col("id_norm").str.slice(a, n))
    out = df.with_columns(id_norm=pl.col(id_col)).select(
        "unique_id", "id_norm",
        p3=seg(0, 3), region=seg(0, 6), birth=seg(6, 8), last4=seg(14, 4),
        name=name, township=town, village=village,
    ).with_columns(
        surname=pl.when(~pl.col("name").str.starts_with("*")).then(pl.col("name").str.slice(0, 1)),
    )
    return out.with_columns(name_py=_pinyin(out["name"])).drop("id_norm")


def splink_link(records: pl.DataFrame, roster: pl.DataFrame, m: MatchingConfig, population: int) -> pl.DataFrame:
    import splink.comparison_library as cl
    from splink import Linker, SettingsCreator, block_on
    from splink.backends.duckdb import DuckDBAPI

    logging.getLogger("splink").setLevel(logging.WARNING)
    cols = records.columns
    rec = normalize_ids(records.with_row_index("rid").with_columns(unique_id=pl.format("r{}", "rid")))
    rec = _features(
        rec, "id_norm", normalize_name(pl.col("name")),
        normalize_place(pl.col("township"), "township") if "township" in cols else pl.lit(None, pl.Utf8),
        normalize_place(pl.col("village")) if "village" in cols else pl.lit(None, pl.Utf8),
    )
    ros = roster.with_columns(unique_id=pl.col("person_id"))
    ros = _features(ros, "id_number", normalize_name(pl.col("name")),
                    normalize_place(pl.col("township"), "township"), normalize_place(pl.col("village")))
    settings = SettingsCreator(
        link_type="link_only",
        unique_id_column_name="unique_id",
        probability_two_random_records_match=(roster.height / population) / roster.height,
        blocking_rules_to_generate_predictions=[
            block_on("region", "last4"), block_on("p3", "last4"), block_on("birth", "surname"),
            block_on("birth", "region"), block_on("surname", "village"),
        ],
        comparisons=[
            cl.ExactMatch("p3"), cl.ExactMatch("region"), cl.ExactMatch("birth"), cl.ExactMatch("last4"),
            cl.JaroWinklerAtThresholds("name_py", [0.95, 0.85]),
            cl.ExactMatch("surname"),
            cl.ExactMatch("township"), cl.ExactMatch("village"),
        ],
        retain_intermediate_calculation_columns=False,
    )
    db = DuckDBAPI()
    left = db.register(rec.to_arrow(), table_name="records")
    right = db.register(ros.to_arrow(), table_name="roster")
    linker = Linker([left, right], settings, log_level=logging.WARNING)
    linker.training.estimate_u_using_random_sampling(max_pairs=2e6, seed=1)
    rules = (block_on("birth", "surname"), block_on("region", "last4"), block_on("last4", "name_py"),
             block_on("birth", "name_py"))
    for rule in rules:
        try:  # EM can drive an m-probability to underflow on small/hard counties; keep what trained
            linker.training.estimate_parameters_using_expectation_maximisation(rule)
        except ValueError as e:
            print(f"splink EM on {rule.get_blocking_rule('duckdb').blocking_rule_sql} skipped: "
                  f"{str(e).splitlines()[0][:100]}")
    pred = linker.inference.predict(threshold_match_probability=0.001).as_duckdbpyrelation().pl()
    pred = pred.with_columns(
        rec_id=pl.when(pl.col("unique_id_l").str.starts_with("r")).then("unique_id_l").otherwise("unique_id_r"),
        pid=pl.when(pl.col("unique_id_l").str.starts_with("r")).then("unique_id_r").otherwise("unique_id_l"),
    )
    best = (
        pred.sort("match_probability", descending=True)
        .group_by("rec_id", maintain_order=True)
        .agg(p1=pl.col("match_probability").first(), pid=pl.col("pid").first(),
             p2=pl.col("match_probability").get(1, null_on_oob=True).fill_null(0.0))
    )
    hh = roster.select(pid="person_id", household_id="household_id")
    out = (
        records.with_row_index("rid").with_columns(rec_id=pl.format("r{}", "rid"))
        .join(best, on="rec_id", how="left").join(hh, on="pid", how="left")
    )
    ambiguous = pl.col("p2") >= m.ambiguity_ratio * pl.col("p1")
    decision = (
        pl.when((pl.col("p1") >= m.match_threshold) & ~ambiguous).then(pl.lit("matched"))
        .when(pl.col("p1") >= m.review_threshold).then(pl.lit("review"))
        .otherwise(pl.lit("unmatched"))
    )
    return out.with_columns(decision=decision.fill_null("unmatched")).select(
        "dept", "kind", "record_id", "decision",
        person_id=pl.when(decision == "matched").then("pid"),
        household_id=pl.when(decision == "matched").then("household_id"),
        score="p1",
    )


# --- report ------------------------------------------------------------------------------------
def summary(name: str, links: pl.DataFrame, truth: pl.DataFrame, seconds: float) -> dict:
    table = evaluate(links, truth)
    t = totals(table)
    worst = table.filter(pl.col("linkable") > 0).sort("recall").row(0, named=True)
    return dict(matcher=name, seconds=seconds, precision=t["precision"], recall=t["recall"],
                review=t["review_rate"], false=t["false_link"] + t["wrong_person"],
                worst=f"{worst['dept']} P={worst['precision']:.3f} R={worst['recall']:.3f}", table=table)


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--profile", default="standard", choices=PROFILES)
    ap.add_argument("--households", type=int, default=3000)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--out", type=Path, help="county directory (generated there if empty)")
    ap.add_argument("--no-census", action="store_true", help="also run ours without the 参保名单 census (census_coverage=0)")
    a = ap.parse_args(argv)
    out = a.out or Path(tempfile.mkdtemp(prefix="bench_county_"))
    records, roster, truth, population = load_county(out, a.profile, a.households, a.seed)
    m = dataclasses.replace(load_config().matching, county_population=population)
    rows = []
    t0 = time.perf_counter()
    ours, _ = link(records, roster, m)
    rows.append(summary("ours (matchers.link)", ours, truth, time.perf_counter() - t0))
    if a.no_census:
        t0 = time.perf_counter()
        ours_n, _ = link(records, roster, dataclasses.replace(m, census_coverage=0.0))
        rows.append(summary("ours, no census", ours_n, truth, time.perf_counter() - t0))
    t0 = time.perf_counter()
    theirs = splink_link(records, roster, m, population)
    rows.append(summary("splink (duckdb)", theirs, truth, time.perf_counter() - t0))
    print(f"county: {a.profile}, {a.households} households, seed {a.seed}; {records.height} person records, "
          f"{roster.height} roster persons")
    print(f"{'matcher':<22} {'precision':>9} {'recall':>7} {'review%':>8} {'false links':>11} {'wall s':>7}  worst dept")
    for r in rows:
        print(f"{r['matcher']:<22} {r['precision']:>9.4f} {r['recall']:>7.4f} {100 * r['review']:>8.2f} "
              f"{r['false']:>11} {r['seconds']:>7.1f}  {r['worst']}")


if __name__ == "__main__":
    main()

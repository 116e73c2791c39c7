"""Measure links against ground truth, per department.

`python -m matchers.evaluate --links links.parquet --truth truth/links.csv` prints the table.
"""

from __future__ import annotations

import argparse

import polars as pl

DECISIONS = ("matched", "review", "unmatched", "rejected")


def evaluate(links: pl.DataFrame, truth: pl.DataFrame) -> pl.DataFrame:
    """Per dept: n, linkable (truth on roster), matched, correct_matched, precision
    (correct / matched), recall (correct / linkable), review_rate, wrong_person (matched to
    another roster person), false_link (matched, truth off roster), and a confusion of
    decision x truth: `<decision>_on` / `<decision>_off` counts.

    Truth rows whose `expect` is not `record` (duplicates, rejected rows) are left out when the
    column exists; place-level rows (水利: no person on either side) count as on-roster when
    matched is what they should be, i.e. they are reported but carry no person precision."""
    t = truth
    if "expect" in t.columns:
        t = t.filter(pl.col("expect") == "record")
    t = t.select("dept", "record_id", true_pid=pl.col("person_id").cast(pl.Utf8)).unique(
        ["dept", "record_id"], keep="last")
    df = links.join(t, on=["dept", "record_id"], how="inner").with_columns(
        on=pl.col("true_pid").is_not_null(),
        ok=(pl.col("decision") == "matched") & (pl.col("person_id") == pl.col("true_pid")),
    )
    agg = [
        pl.len().alias("n"),
        pl.col("on").sum().alias("linkable"),
        (pl.col("decision") == "matched").sum().alias("matched"),
        pl.col("ok").fill_null(False).sum().alias("correct_matched"),
        ((pl.col("decision") == "matched") & pl.col("on") & ~pl.col("ok").fill_null(False)).sum().alias("wrong_person"),
        ((pl.col("decision") == "matched") & ~pl.col("on") & pl.col("person_id").is_not_null()).sum().alias("false_link"),
        (pl.col("decision") == "review").mean().alias("review_rate"),
    ]
    for d in DECISIONS:
        for side, cond in (("on", pl.col("on")), ("off", ~pl.col("on"))):
            agg.append(((pl.col("decision") == d) & cond).sum().alias(f"{d}_{side}"))
    out = df.group_by("dept").agg(agg).sort("dept")
    person_matched = pl.col("correct_matched") + pl.col("wrong_person") + pl.col("false_link")
    return out.with_columns(
        precision=pl.when(person_matched > 0).then(pl.col("correct_matched") / person_matched),
        recall=pl.when(pl.col("linkable") > 0).then(pl.col("correct_matched") / pl.col("linkable")),
    ).select("dept", "n", "linkable", "matched", "correct_matched", "precision", "recall", "review_rate",
             "wrong_person", "false_link", *[f"{d}_{s}" for d in DECISIONS for s in ("on", "off")])


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--links", required=True, help="links.parquet")
    ap.add_argument("--truth", required=True, help="truth/links.csv")
    a = ap.parse_args(argv)
    truth = pl.read_csv(a.truth, infer_schema_length=0)
    table = evaluate(pl.read_parquet(a.links), truth)
    with pl.Config(tbl_rows=100, tbl_cols=30, tbl_width_chars=250):
        print(table)


if __name__ == "__main__":
    main()

"""Rows nobody can identify: a person-level record whose ID number is missing or destroyed
(Excel's `3.41302E+17`, trailing 000) and whose name is missing or fully masked cannot be linked
to anyone, so it is set aside with its reason (SPEC §3: a destroyed ID is a bad row) instead of
being counted as an unmatched person. With a usable name it stays: name and place may still
identify one person."""

from __future__ import annotations

import polars as pl

from matchers.ids import normalize_ids
from pipelines.validate import REJECTED_SCHEMA


def set_aside_unidentifiable(valid: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    """(kept rows, Rejected rows) for one validated person-level extract (has `id_raw`, `name`)."""
    if "id_raw" not in valid.columns or "name" not in valid.columns or valid.is_empty():
        return valid, pl.DataFrame(schema=REJECTED_SCHEMA)
    no_name = ~valid["name"].str.contains(r"[^\s*＊·•.]").fill_null(False)  # nothing but blanks and masks
    bad = no_name
    if no_name.any():  # only nameless rows need their ID looked at
        nameless = valid.filter(no_name).select("id_raw")
        no_id = normalize_ids(nameless)["id_status"].is_in(["missing", "destroyed"])
        bad = no_name.scatter(no_name.arg_true(), no_id)
    rejected = valid.filter(bad).select(
        "dept", "kind", "file", pl.col("line").cast(pl.Int64), "record_id",
        pl.lit("id_raw").alias("field"),
        pl.col("id_raw").str.slice(0, 6).alias("value"),
        pl.lit("证件号码缺失或已损坏且无姓名，无法识别 ID missing/destroyed and no name: cannot be identified").alias("reason"),
    )
    return valid.filter(~bad), rejected.cast(REJECTED_SCHEMA)

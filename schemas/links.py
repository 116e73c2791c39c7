"""Models of the matcher's output (matchers/ -> pipelines/ and links.parquet)."""

from __future__ import annotations

import pandera.polars as pa

__all__ = ["Link", "ReviewCandidate", "DECISIONS"]

DECISIONS = ["matched", "review", "unmatched", "rejected"]


class Link(pa.DataFrameModel):
    """One row per department record: the decision about which roster person it is.

    `score` is the posterior probability (0-1) that the linked/best candidate is the record's
    person; `reason` says in short words why (ID positions agreeing, name level, place level).
    For 水利 (place-level) records `matched` means the village was found; ids are null.
    """

    dept: str
    kind: str
    record_id: str
    decision: str = pa.Field(isin=DECISIONS)
    person_id: str = pa.Field(nullable=True)
    household_id: str = pa.Field(nullable=True)
    score: float = pa.Field(nullable=True, ge=0, le=1)
    reason: str = pa.Field(nullable=True)
    n_candidates: int = pa.Field(ge=0)


class ReviewCandidate(pa.DataFrameModel):
    """Candidates of records not linked automatically: one row per (record, candidate roster
    person), best first. Rows of `review` records are the human-review queue, shown side by
    side with why each fits; `unmatched` records keep only candidates still plausible.

    `cause` says why the record was not linked automatically (the same for all its rows):
    `ambiguous` (a second candidate fits within `ambiguity_ratio` of the best), `rival` (another
    record of a one-record-per-person snapshot, e.g. 参保名单, fits the same person), `weak` (the
    best candidate's probability is below `match_threshold`). `rivals`: for a rival, the other
    records claiming the same person (record numbers joined by 、)."""

    dept: str
    kind: str
    record_id: str
    decision: str = pa.Field(isin=["review", "unmatched"])
    rank: int = pa.Field(ge=1)
    person_id: str
    household_id: str
    score: float = pa.Field(ge=0, le=1)
    reason: str
    cause: str = pa.Field(isin=["ambiguous", "rival", "weak"])
    rivals: str = pa.Field(nullable=True)

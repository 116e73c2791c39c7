"""Models of the matcher's output (matchers/ -> pipelines/ and links.parquet)."""

from __future__ import annotations

import pandera.polars as pa
import polars as pl

__all__ = ["Link", "ReviewCandidate", "ReviewDecision", "Twins", "LabelSample", "RosterDigest", "RosterChange", "RelinkKeys",
           "DECISIONS"]

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
    best candidate's probability is below `match_threshold`), `name` (it reaches the threshold but
    the name compares at one of `no_link_name_levels`, e.g. disagree, and the ID is not whole),
    `taken` (its best candidate was confirmed by a review answer as the person of another record
    of its one-record-per-person list: the answer may be the mistake).
    `rivals`: for a rival, the other records claiming the same person (record numbers joined by
    、); for taken, the record answered 是 for them, with the answer (file, line, period received)."""

    dept: str
    kind: str
    record_id: str
    decision: str = pa.Field(isin=["review", "unmatched"])
    rank: int = pa.Field(ge=1)
    person_id: str
    household_id: str
    score: float = pa.Field(ge=0, le=1)
    reason: str
    cause: str = pa.Field(isin=["ambiguous", "rival", "weak", "name", "taken"])
    rivals: str = pa.Field(nullable=True)


class ReviewDecision(pa.DataFrameModel):
    """What the analysts' answers to the review queue say of one record, as of a run
    (`pipelines.review_answers.answers_in_effect` over every `ReviewAnswer` received up to its
    period -> `apply_answers`): `person_id` the person it is (the latest 是; null when none), `excluded`
    the persons it is not (their latest answer is 否); `file`, `line`, `period` (received) of the
    answer that decided, which the link's reason cites."""

    record_dept: str
    record_id: str
    person_id: str = pa.Field(nullable=True)
    excluded: pl.List(pl.Utf8)
    file: str
    line: int
    period: str


class Twins(pa.DataFrameModel):
    """One row per linkable record of a truth file (`matchers.evaluate.indistinguishable` ->
    `evaluate(twins=...)`): how many other roster persons fit what the record shows (kept ID
    characters, the name as far as shown, place, head) at least as well as its true person.
    twins > 0: no matcher can tell who the record is from the record itself; it belongs in
    review, and the evaluation's `recall*` leaves it out. census_twins: the same for off-roster
    people as the 参保名单 shows them (their records there show all of it T agrees with)."""

    dept: str
    record_id: str
    twins: int = pa.Field(ge=0)
    census_twins: int = pa.Field(ge=0)


class LabelSample(pa.DataFrameModel):
    """A sample of a run's person records to label by hand (`python -m matchers.evaluate
    --draw N`, `matchers.evaluate.draw_sample`): per department N records drawn at random
    whatever the decision, one row each. The labeller fills in `true_person_id` (the roster
    人编号, or 无 when the record is about no roster person; blank = not labelled) and passes
    the file back as `--truth`. 姓名, 证件号码, 乡镇, 村 are what the record shows (as the
    department sent them), decision / person_id / score / reason what the run made of it."""

    dept: str
    kind: str
    record_id: str
    true_person_id: str = pa.Field(nullable=True)
    decision: str = pa.Field(isin=DECISIONS)
    person_id: str = pa.Field(nullable=True)
    score: float = pa.Field(nullable=True, ge=0, le=1)
    reason: str = pa.Field(nullable=True)


class RosterDigest(pa.DataFrameModel):
    """One row per roster person of a period (`adapters.warehouse.roster_digests`, stored as
    warehouse table `roster_persons`): the 人编号 and an md5 of what the matcher reads of the
    person (人编号, 证件号码, 姓名), so that no ID number is stored twice."""

    person_id: str
    digest: str = pa.Field(str_length=32)


class RosterChange(pa.DataFrameModel):
    """A person whose roster row differs from the one stored for period `since`
    (`adapters.warehouse.roster_changes` -> `pipelines.year_to_date.to_relink`): new on this
    period's roster, 证件号码 or 姓名 changed, or gone from it (a split household's member has a
    new 人编号 and the old one is gone)."""

    since: str
    person_id: str


class RelinkKeys(pa.DataFrameModel):
    """What `pipelines.year_to_date.to_relink` reads of a settlement's ID and name, one row per
    settlement (`pipelines.year_to_date.relink_keys`, stored with it in the warehouse table
    `settlements`): the last 4 and the birth date its ID shows whole (`L1234`, `B19520808`) and
    the toneless pinyin of its name's first character; null where not shown."""

    key_last4: str = pa.Field(nullable=True, str_startswith="L", str_length=5)
    key_birth: str = pa.Field(nullable=True, str_startswith="B", str_length=9)
    first_py: str = pa.Field(nullable=True)

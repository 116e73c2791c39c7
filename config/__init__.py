"""One typed configuration, loaded at the edge (flows.py / CLI) and passed into pure functions.

`load_config()` reads `default.toml` beside this file, or an analyst's copy, and applies
`--set dotted.key=value` overrides. Nothing in pipelines/ or matchers/ reads files or constants:
everything tunable arrives through a `Config`.
"""

from __future__ import annotations

import copy
import dataclasses
import functools
import hashlib
import json
import math
import os
import re
import tomllib
import unicodedata
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from chinese_calendar.solar_terms import SolarTerms

DEFAULT_CONFIG = Path(__file__).with_name("default.toml")


@dataclass(frozen=True)
class KindSpec:
    """One extract kind: its folder, the headers that identify it, its header aliases, and the
    other spellings of its code values (`codes`: field -> {as delivered: the SPEC's value},
    compared after NFKC and without spaces), and the values a code field allows besides the
    SPEC's list (`values`: field -> values, e.g. a pastoral county's 灾害类型 雪灾).
    `snapshot_year`: the field naming the year a snapshot's row is about (参保名单's 参保年度): of
    one record's rows in a delivery, the row of the period's year is the record's, else the
    latest year's (a list exported over two 参保年度 in the autumn holds each person twice)."""

    name: str
    folder: str
    record_id: str
    required: tuple[str, ...]
    fields: dict[str, tuple[str, ...]]
    codes: dict[str, dict[str, str]] = field(default_factory=dict)
    values: dict[str, tuple[str, ...]] = field(default_factory=dict)
    blank_unreadable: tuple[str, ...] = ()  # fields whose bad value is left empty, its row kept
    snapshot_year: str = ""


PEOPLES = ("蒙古族", "回族", "藏族", "维吾尔族", "苗族", "彝族", "壮族", "布依族", "朝鲜族", "满族", "侗族", "瑶族", "白族",
           "土家族", "哈尼族", "哈萨克族", "傣族", "黎族", "傈僳族", "佤族", "畲族", "高山族", "拉祜族", "水族", "东乡族",
           "纳西族", "景颇族", "柯尔克孜族", "土族", "达斡尔族", "仫佬族", "羌族", "布朗族", "撒拉族", "毛南族", "仡佬族",
           "锡伯族", "阿昌族", "普米族", "塔吉克族", "怒族", "乌孜别克族", "俄罗斯族", "鄂温克族", "德昂族", "保安族",
           "裕固族", "京族", "塔塔尔族", "独龙族", "鄂伦春族", "赫哲族", "门巴族", "珞巴族", "基诺族", "民族")


@dataclass(frozen=True)
class PlaceNames:
    """The units a place's name is compared without (`matchers.places.place_key`: 王庄 / 王庄村 /
    王庄村委会), per level, and the county-level units a place may be written under (埇桥区大店镇).
    `peoples`: a 民族乡's people, cut with its unit (竹核彝族乡 = 竹核乡 = 竹核)."""

    county: tuple[str, ...] = ("省", "市", "县", "区", "旗")
    township: tuple[str, ...] = ("人民政府", "街道办事处", "办事处", "街道", "苏木", "镇", "乡")
    village: tuple[str, ...] = ("社区居民委员会", "居民委员会", "村民委员会", "社区居委会", "村委会", "居委会", "村委", "居委", "社区",
                                "行政村", "嘎查", "村")
    group: tuple[str, ...] = ("村民小组", "村民组", "小组", "组", "队", "屯", "社")
    peoples: tuple[str, ...] = PEOPLES


@dataclass(frozen=True)
class MatchingConfig:
    county_population: int = 0
    roster_share: float = 0.11
    match_threshold: float = 0.99
    review_threshold: float = 0.5
    ambiguity_ratio: float = 0.2
    birth_years: int = 80
    birth_day_crowding: float = 3.0
    birth_day_strength: float = 20.0
    min_kept_for_id_block: int = 7
    id_block_name_key_above: float = 8.0
    pair_chunk: int = 2_000_000
    block_size_sample: int = 20_000
    typo_min_kept: int = 4
    typo_name_key_below: int = 10
    typo_rate: float = 0.001
    typo_strength: float = 200.0
    review_max_candidates: int = 5
    candidate_floor: float = 0.05
    absentee_max_share: float = 0.2
    one_record_per_person_kinds: tuple[str, ...] = ("med_enrollment",)
    answer_max_id_differences: int = 2
    lookalike_prior: float = 0.01
    lookalike_strength: float = 10.0
    complete_snapshot_kinds: tuple[str, ...] = ("med_enrollment",)
    max_snapshot_presence: float = 0.99
    census_coverage: float = 0.95
    census_min_kept: int = 3
    census_completeness: float | str = "measured"
    census_completeness_kinds: tuple[str, ...] = ("med_settlement",)
    census_completeness_min: float = 20.0
    census_completeness_z: float = 1.645
    census_min_coverage: float = 0.05
    estimate_prior: bool = True
    prior_iterations: int = 10
    prior_strength: float = 10.0
    max_roster_prior: float = 0.9
    name_m_iterations: int = 3
    name_m_strength: float = 200.0
    name_m_floor: float = 0.1
    id_levels: dict[str, float] = field(default_factory=lambda: {
        "kept-agree": 0.985, "one-differs": 0.01, "two-differ": 0.002, "disagree": 0.003})
    id_levels_check_failed: dict[str, float] = field(default_factory=lambda: {
        "kept-agree": 0.05, "one-differs": 0.9, "two-differ": 0.05, "disagree": 0.05})
    id_levels_roster_check_failed: dict[str, float] = field(default_factory=lambda: {
        "one-differs": 0.9, "two-differ": 0.05, "disagree": 0.05})
    name_levels: dict[str, float] = field(default_factory=lambda: {
        "exact": 0.90, "masked-agree": 0.90, "homophone": 0.03, "swapped": 0.01, "dropped": 0.01, "added": 0.005, "one-char": 0.02,
        "one-part": 0.01, "surname-only": 0.015, "disagree": 0.01})
    no_link_name_levels: tuple[str, ...] = ("disagree",)
    place_levels: dict[str, float] = field(default_factory=lambda: {
        "village": 0.90, "township": 0.07, "disagree": 0.03})
    id_in_record_id_kinds: tuple[str, ...] = ("education",)
    head_kinds: tuple[str, ...] = ("housing", "agri")
    head_relations: tuple[str, ...] = ("户主", "本人", "户主本人")
    role_levels: dict[str, float] = field(default_factory=lambda: {"head": 0.95, "member": 0.05})
    prior_groups: dict[str, str] = field(default_factory=lambda: {"assistance_pay": "医疗救助"})
    place_hint_fields: tuple[str, ...] = ("facility", "school")
    whole_village_groups: tuple[str, ...] = ("全村", "全部", "全组", "各组", "所有组", "全村各组", "整村", "无", "-", "—", "/", "全嘎查",
                                             "全社区", "全居")
    place_hint_strength: float = 50.0
    place_hint_z: float = 1.645
    age_prior_strength: float = 30.0
    age_band_years: int = 10
    record_id_slips: int = 2
    match_threshold_by_dept: dict[str, float] = field(default_factory=dict)
    name_readings: dict[str, list[str]] = field(default_factory=dict)
    name_readings_max_keys: int = 16
    places: PlaceNames = field(default_factory=PlaceNames)

    def __post_init__(self) -> None:
        for ch, readings in self.name_readings.items():
            if len(ch) != 1 or not isinstance(readings, list | tuple) or not all(
                    isinstance(r, str) and re.fullmatch("[a-z]+", r) for r in readings):
                raise ValueError(f"matching.name_readings.{ch}: one character = a list of toneless pinyin "
                                 f"readings such as [\"du\"], got {readings!r}")
        if unknown := set(self.no_link_name_levels) - set(self.name_levels):
            raise ValueError(f"matching.no_link_name_levels: {sorted(unknown)} are not name levels ({', '.join(self.name_levels)})")
        if not (0 < self.review_threshold <= self.match_threshold <= 1):
            raise ValueError("matching.review_threshold and match_threshold must be probabilities with 0 < "
                             f"review_threshold <= match_threshold <= 1, got {self.review_threshold!r}, "
                             f"{self.match_threshold!r}")
        c = self.census_completeness
        if c != "measured" and not (isinstance(c, int | float) and 0 <= c <= 1):
            raise ValueError(f"matching.census_completeness must be \"measured\" or a share from 0 to 1, got {c!r}")
        if not (isinstance(self.name_m_iterations, int) and self.name_m_iterations >= 0
                and self.name_m_strength >= 0 and 0 < self.name_m_floor <= 1):
            raise ValueError("matching.name_m_iterations must be a whole number of at least 0, name_m_strength at least 0 "
                             f"and name_m_floor in (0, 1], got {self.name_m_iterations!r}, {self.name_m_strength!r}, "
                             f"{self.name_m_floor!r}")
        num = lambda x: isinstance(x, int | float) and not isinstance(x, bool)  # noqa: E731
        if not (num(self.typo_rate) and 0 <= self.typo_rate < 1 / 17 and num(self.typo_strength) and self.typo_strength > 0):
            raise ValueError("matching.typo_rate must be a rate per ID character from 0 to 1/17 and typo_strength above 0, "
                             f"got {self.typo_rate!r}, {self.typo_strength!r}")
        if not (num(self.lookalike_prior) and 0 <= self.lookalike_prior <= 1
                and num(self.lookalike_strength) and self.lookalike_strength > 0):
            raise ValueError("matching.lookalike_prior must be a share from 0 to 1 and lookalike_strength above 0, "
                             f"got {self.lookalike_prior!r}, {self.lookalike_strength!r}")
        z = self.census_completeness_z
        if not (isinstance(z, int | float) and not isinstance(z, bool) and z >= 0):
            raise ValueError(f"matching.census_completeness_z must be a number of at least 0, got {z!r}")
        if not (isinstance(self.prior_groups, dict)
                and all(isinstance(k, str) and isinstance(v, str) and v for k, v in self.prior_groups.items())):
            raise ValueError(f"matching.prior_groups must map column names to group names, got {self.prior_groups!r}")
        if isinstance(self.place_hint_fields, str) or not all(isinstance(f, str) for f in self.place_hint_fields):
            raise ValueError(f"matching.place_hint_fields must be a list of column names, got {self.place_hint_fields!r}")
        if not (num(self.place_hint_strength) and self.place_hint_strength >= 0
                and num(self.place_hint_z) and self.place_hint_z >= 0):
            raise ValueError("matching.place_hint_strength and place_hint_z must be numbers of at least 0, "
                             f"got {self.place_hint_strength!r}, {self.place_hint_z!r}")
        for f in dataclasses.fields(self):  # (a level left out was read as m = 1, a place level's as a KeyError)
            if f.name.endswith("_levels") and isinstance(levels := getattr(self, f.name), dict) and (
                    set(levels) != set(f.default_factory()) or not all(num(v) and 0 < v <= 1 for v in levels.values())):
                raise ValueError(f"matching.{f.name} must give {', '.join(f.default_factory())} each a share in (0, 1], "
                                 f"got {levels!r}")
        if not (isinstance(self.match_threshold_by_dept, dict) and all(
                isinstance(k, str) and num(v) and self.review_threshold < v <= 1
                for k, v in self.match_threshold_by_dept.items())):
            raise ValueError("matching.match_threshold_by_dept must map department names to thresholds above "
                             f"review_threshold and at most 1, got {self.match_threshold_by_dept!r}")
        if not (num(self.age_prior_strength) and self.age_prior_strength >= 0):
            raise ValueError(f"matching.age_prior_strength must be a number of at least 0, got {self.age_prior_strength!r}")
        if not (isinstance(self.record_id_slips, int) and 0 <= self.record_id_slips <= 4):
            raise ValueError(f"matching.record_id_slips must be a whole number from 0 to 4, got {self.record_id_slips!r}")
        # counts: a fraction is no setting of them (range(2.5) iterations failed after the records were read)
        # (county_population counts people: 12345.5 was taken; 6e6, a whole number written as TOML's float, is one)
        _at_least("matching.county_population", self.county_population, 0, True)
        for name, least in (("block_size_sample", 1), ("pair_chunk", 1), ("age_band_years", 1),
                            ("prior_iterations", 0), ("review_max_candidates", 0), ("answer_max_id_differences", 0),
                            ("name_readings_max_keys", 0),
                            ("min_kept_for_id_block", 0), ("typo_min_kept", 0), ("typo_name_key_below", 0),
                            ("census_min_kept", 0)):
            if not (isinstance(getattr(self, name), int) and getattr(self, name) >= least):
                raise ValueError(f"matching.{name} must be a whole number of at least {least}, got {getattr(self, name)!r}")


@dataclass(frozen=True)
class RuleConfig:
    """A warning rule: the kind it reads, its risk type, label, severity and free parameters."""

    name: str
    kind: str
    risk_type: str
    label: str
    severity: str
    lead: bool = False
    # A fact about the persons it names (a member not insured, a pupil out of school), not about
    # their household: a member split off into a new household who was warned under the old one
    # is not warned again for it under the new one (`pipelines.rules.assign_warnings`).
    per_person: bool = False
    # A fact a person's death explains (no longer insured, no longer paying in): not warned for a
    # person 民政 reported dead (`run.death_change_types`) by the period's end
    # (`pipelines.rules.for_the_living`). Only of a rule about persons.
    explained_by_death: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


_SOLAR_TERMS = frozenset(term.value[1] for term in SolarTerms)  # (清明 …: the names get_solar_terms gives)


def _statutory_rule(rule: object) -> bool:
    """A `run.fixed_holidays` entry of the lunar calendar (农历MM-DD, 农历除夕) or a solar term."""
    if not isinstance(rule, str):
        return False
    if rule in _SOLAR_TERMS or rule == "农历除夕":
        return True
    m = re.fullmatch(r"农历(\d\d)-(\d\d)", rule)
    return bool(m) and 1 <= int(m[1]) <= 12 and 1 <= int(m[2]) <= 30


def usable_cpus() -> int:
    """The cores this process may run on (`taskset`, a container's cpuset), not the machine's:
    a run given one core of two reads with one thread, not two taking turns on that core; its
    DuckDB connections too (DuckDB counts the machine's)."""
    try:
        return len(os.sched_getaffinity(0)) or 1
    except AttributeError:  # (no affinity on this system)
        return os.cpu_count() or 1


POLARS_ENGINES = ("in-memory", "auto", "streaming")


@dataclass(frozen=True)
class RunConfig:
    verify_working_days: int = 3
    suppress_days: int = 90
    escalation_factor: float = 2.0
    # whom `adapters.warehouse.persons_now` may try as a split-off member: pairs of a warned person
    # gone from the roster x a person new on it (each an md5); above, none is recognised and it is said
    split_search_max_pairs: int = 20_000_000
    # the memory DuckDB may hold summing the year's off-roster settlements by ID text and name
    # (`pipelines.year_to_date.lead_sums`; beyond it, it spills to disk): a city's December sums 13M
    year_sum_memory: str = "1GB"
    max_grid_households: int = 100
    busy_wait_minutes: float = 30.0
    # polars' engine for the run's lazy queries (`flows.monthly_run` sets it): a county's are small
    polars_engine: str = "in-memory"
    # a roster whose persons (or households) the run can use are fewer than this share of those it
    # holds is refused (`pipelines.reference.roster_unusable`): its lists would leave most unwarned
    roster_min_usable_share: float = 0.9
    # 民政 变动类型 that say the person died: the run knows them dead from then on
    # (`pipelines.rules.deaths`), and rules `explained_by_death` warn them no more
    death_change_types: tuple[str, ...] = ("死亡注销",)
    # a year's 部分节假日安排 (YYYY-MM-DD), for years chinese_calendar does not know, and the
    # statutory holidays a year neither knows is counted without (`pipelines.calendar.statutory_days`)
    holidays: tuple[str, ...] = ()
    workdays: tuple[str, ...] = ()
    fixed_holidays: tuple[str, ...] = ("01-01", "农历除夕", "农历01-01", "农历01-02", "农历01-03", "清明", "05-01",
                                       "05-02", "农历05-05", "农历08-15", "10-01", "10-02", "10-03")

    def __post_init__(self) -> None:
        for name, fmt in (("holidays", "%Y-%m-%d"), ("workdays", "%Y-%m-%d"), ("fixed_holidays", "%m-%d")):
            for day in getattr(self, name):
                if name == "fixed_holidays" and _statutory_rule(day):
                    continue
                try:
                    ok = datetime.strptime(f"2000-{day}" if fmt == "%m-%d" else day, "%Y-%m-%d").strftime(fmt) == day
                except (TypeError, ValueError):
                    ok = False
                if not ok:
                    raise ValueError(f"run.{name} must list dates as {fmt.replace('%Y', 'YYYY').replace('%m', 'MM').replace('%d', 'DD')}"
                                     + (", 农历MM-DD, 农历除夕 or a solar term (清明)" if name == "fixed_holidays" else "")
                                     + f", got {day!r}")
        if self.polars_engine not in POLARS_ENGINES:
            raise ValueError(f"run.polars_engine must be one of {', '.join(POLARS_ENGINES)}, got {self.polars_engine!r}")
        if set(self.holidays) & set(self.workdays):
            raise ValueError(f"run.holidays and run.workdays share {sorted(set(self.holidays) & set(self.workdays))}")
        # (a number a `--set` gives: nan and inf are numbers to TOML, and nan passes every "at least")
        # (DuckDB reads it only in a month with earlier settlements: 很多 or 1,5GB failed that run after linking)
        if not (_memory_amount(self.year_sum_memory) if isinstance(self.year_sum_memory, str)
                else _memory_amount.__wrapped__(self.year_sum_memory)):
            raise ValueError(f"run.year_sum_memory must be an amount of memory such as \"1GB\", \"512MB\" or \"80%\", "
                             f"got {self.year_sum_memory!r}")
        # (days are counted whole: suppress_days = 90.5 was taken and counted as 90)
        for name, least, whole in (("verify_working_days", 1, True), ("suppress_days", 0, True),
                                   ("escalation_factor", 1, False), ("max_grid_households", 1, True),
                                   ("split_search_max_pairs", 0, True), ("busy_wait_minutes", 0, False)):
            _at_least(f"run.{name}", getattr(self, name), least, whole)
        _at_least("run.roster_min_usable_share", self.roster_min_usable_share, 0, False)
        if self.roster_min_usable_share > 1:
            raise ValueError(f"run.roster_min_usable_share must be a share from 0 to 1, got {self.roster_min_usable_share!r}")


@functools.lru_cache(maxsize=64)
def _memory_amount(value: Any) -> bool:
    """DuckDB takes `value` as its memory_limit. Asked once per value: a DuckDB opened to ask
    costs ~25 ms, and a run makes its settings several times (the command, the flow, each re-run)."""
    import duckdb

    try:
        with duckdb.connect() as con:
            con.execute("SET memory_limit = ?", [value])
    except duckdb.Error:
        return False
    return True


def _at_least(key: str, v: Any, least: float, whole: bool) -> None:
    """A setting that must be a finite number (a whole one when `whole`) of at least `least`."""
    ok = (isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v) and v >= least
          and (not whole or float(v).is_integer()))
    if not ok:
        raise ValueError(f"{key} must be a {'whole ' if whole else ''}number of at least {least:g}, got {v!r}")


@dataclass(frozen=True)
class InboxConfig:
    """Reading the inbox: words in a file's name that say it was delivered after the files
    without them (a correction), for deciding which delivery of a record is the latest; how many
    days after its period's last day a department record's date may fall (a later one cannot
    have happened when the extract was made: a mistyped year); when a department file is taken
    for an earlier month's extract exported again, not read (`pipelines.accounting.export_months`,
    `earlier_records_share`), and the files read all the same (`read_again`) or whose records
    state what still holds until it changes (`standing_kinds`)."""

    later_marks: tuple[str, ...] = ("更正", "修正", "补充", "补报", "重报", "重发", "corrected", "correction")
    days_after_period: int = 61
    planned_date_fields: tuple[str, ...] = ("resolved_date",)
    snapshot_kinds: tuple[str, ...] = ("roster", "grid", "med_enrollment")
    summary_sheets: tuple[str, ...] = ("汇总", "统计", "合计")
    earlier_dates_share: float = 0.95
    earlier_records_share: float = 0.95
    earlier_months: int = 3
    read_again: tuple[str, ...] = ()
    standing_kinds: tuple[str, ...] = ("housing", "water")

    def __post_init__(self) -> None:
        _at_least("inbox.days_after_period", self.days_after_period, 0, True)
        _at_least("inbox.earlier_months", self.earlier_months, 1, True)
        # (a word is looked for in a name: "" is in every one, every sheet a summary, every file a correction)
        for key in ("later_marks", "summary_sheets"):
            if any(not str(w).strip() for w in getattr(self, key)):
                raise ValueError(f"inbox.{key}: an empty word is in every name (each must be a word, not \"\" or "
                                 f"spaces), got {list(getattr(self, key))!r}")


@dataclass(frozen=True)
class FeedbackConfig:
    """Township feedback loop: the office that gets verified warnings of a risk type missing from
    `[dispatch]`. (A returned row's or file's township is compared as places are:
    `MatchingConfig.places`.)"""

    unmapped_department: str = "乡村振兴局"


# Settings a config copied before may still hold that are no longer read: accepted and left
# aside, so that such a copy, and a period's stored settings when it is run again, still load.
# feedback.township_suffixes: township names are compared as every place is ([matching.places]).
RETIRED = {"feedback": frozenset({"township_suffixes"})}


@dataclass(frozen=True)
class Config:
    run: RunConfig
    folders: dict[str, tuple[str, ...]]
    kinds: dict[str, KindSpec]
    matching: MatchingConfig
    rules: dict[str, RuleConfig]
    raw: dict[str, Any]
    # 风险类型 -> responsible department for verified warnings (`[dispatch]`).
    dispatch: dict[str, str] = field(default_factory=dict)
    feedback: FeedbackConfig = field(default_factory=FeedbackConfig)
    inbox: InboxConfig = field(default_factory=InboxConfig)

    @property
    def fingerprint(self) -> str:
        """sha256 of the effective configuration, recorded with every run."""
        blob = json.dumps(self.raw, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()

    def folder_of(self, name: str) -> str | None:
        """Canonical department folder for a folder name or its English alias."""
        return _folder_of(self.folders, name)

    def kinds_in(self, folder: str) -> list[KindSpec]:
        return [k for k in self.kinds.values() if k.folder == folder]

    # Kinds that are not department extracts: the roster and grid (read in full by every run,
    # also a partial one) and the answers people return (townships' 反馈, the county's 复核).
    # Of the answers none replaces another on delivery: every returned row is history.
    REFERENCE_KINDS = ("roster", "grid", "feedback", "review_answer")
    ANSWER_KINDS = ("feedback", "review_answer")

    @property
    def reference_folders(self) -> list[str]:
        return [self.kinds[k].folder for k in self.REFERENCE_KINDS]

    @property
    def departments(self) -> list[str]:
        """The eight department folders (everything that is not a reference folder)."""
        return [f for f in self.folders if f not in self.reference_folders]


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        pass
    # a number typed in an input method's full-width mode (８０００, ０．４): it looks like 8000 in the
    # message 'must be a number, got ...'; text stays as typed (a label's （）)
    try:
        number = tomllib.loads(f"v = {unicodedata.normalize('NFKC', text)}")["v"]
    except tomllib.TOMLDecodeError:
        return text
    return number if isinstance(number, int | float) and not isinstance(number, bool) else text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """`["rules.M1.threshold=8000"]` -> a copy of raw with that value replaced.

    A key may omit the leading `rules.` (`M1.threshold=8000`). Unknown keys are an error,
    so a typo never silently does nothing.
    """
    raw = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        # (a part as TOML quotes it, dispatch."因病", or spaced, M1 . threshold: the key it names)
        parts = [part.strip().strip('"').strip("'") for part in key.strip().split(".")]
        if parts[0] not in raw and parts[0] in raw.get("rules", {}):
            parts = ["rules", *parts]
        node = raw
        for p in parts[:-1]:
            if p not in node or not isinstance(node[p], dict):
                raise ValueError(f"--set: unknown key {key!r}")
            node = node[p]
        if parts[-1] not in node and not _entries(parts[:-1]):
            raise ValueError(f"--set: unknown key {key!r}")
        node[parts[-1]] = _parse_value(value.strip())
    return raw


# Tables whose keys are the county's data, not setting names (a character's readings, a risk type's
# department, a code's spelling): `--set matching.name_readings.翟=["zhai"]` adds an entry. (Only
# the whole table could be set, `name_readings={翟=["zhai"]}`, silently dropping the default's 22.)
_ENTRY_TABLES = (("matching", "name_readings"), ("matching", "match_threshold_by_dept"), ("matching", "prior_groups"),
                 ("dispatch",), ("kinds", "*", "codes", "*"), ("rules", "*", "risk_type_by_disaster"))


def _entries(path: list[str]) -> bool:
    """Whether `path` (dotted key parts) names one of `_ENTRY_TABLES`."""
    return any(len(t) == len(path) and all(a in ("*", b) for a, b in zip(t, path)) for t in _ENTRY_TABLES)


def _folder_key(name: object) -> str:
    """A folder's name as folders are compared: NFKC, without spaces, ignoring case."""
    return "".join(unicodedata.normalize("NFKC", str(name)).split()).lower()


def _folder_of(folders: dict[str, Any], name: str) -> str | None:
    """The canonical folder (its key in `folders`) named `name` or one of its aliases (English,
    or the department's own name: 医保局), as `_folder_key` compares them."""
    name = _folder_key(name)
    for canon, aliases in folders.items():
        if name == _folder_key(canon) or name in {_folder_key(a) for a in aliases}:
            return canon
    return None


def _matching(raw: dict[str, Any], folders: dict[str, list[str]]) -> MatchingConfig:
    """[matching], with the departments of match_threshold_by_dept named by their folder or an
    English alias (人社 or hr) and stored under the folder name the links carry."""
    by_dept = raw.get("match_threshold_by_dept", {})
    if isinstance(by_dept, dict):
        canon = {}
        for name, value in by_dept.items():
            folder = _folder_of(folders, str(name))
            if folder is None:
                raise ValueError(f"matching.match_threshold_by_dept: unknown department {name!r}")
            canon[folder] = value
        raw = dict(raw, match_threshold_by_dept=canon)
    if isinstance(raw.get("name_levels"), dict):  # (a copy made before a level existed: the default's m)
        raw = dict(raw, name_levels={**MatchingConfig().name_levels, **raw["name_levels"]})
    if isinstance(raw.get("places"), dict):
        if unknown := sorted(set(raw["places"]) - {f.name for f in dataclasses.fields(PlaceNames)}):
            raise ValueError(f"matching.places.{unknown[0]}: unknown key (its levels are "
                             f"{', '.join(f.name for f in dataclasses.fields(PlaceNames))})")
        raw = dict(raw, places=PlaceNames(**{k: tuple(v) for k, v in raw["places"].items()}))
    return MatchingConfig(**raw)


def _check_codes(kinds: dict[str, KindSpec]) -> None:
    """A kind's fields are its model's, its record_id, required and blank_unreadable among them,
    a required one with a header. Every `[kinds.<kind>.codes]` spelling leads to a value the field allows (SPEC's lists, in
    `schemas.inputs`, and the kind's `values`): a mistyped one would set aside every row spelled
    so. `[kinds.<kind>.values]` name fields with a list of values; a `snapshot_year`, a field of
    whole numbers."""
    from schemas.inputs import EXTRACT_MODELS

    for spec in kinds.values():
        columns = EXTRACT_MODELS[spec.name].to_schema().columns if spec.name in EXTRACT_MODELS else {}
        # (a record_id or required field of no [fields] failed the run after reading: ColumnNotFoundError,
        # KeyError; a field the kind has not, or a blank_unreadable one mistyped, was read for nothing)
        own = [c for c in columns if c not in ("dept", "kind", "file", "line")]  # (where a row was read)
        if unknown := sorted(set(spec.fields) - set(own)) if own else []:
            raise ValueError(f"kinds.{spec.name}.fields.{unknown[0]}: not a field of {spec.name} ({', '.join(own)})")
        for key, names in (("record_id", [spec.record_id]), ("required", spec.required),
                           ("blank_unreadable", spec.blank_unreadable)):
            if wrong := [f for f in names if f not in spec.fields]:
                raise ValueError(f"kinds.{spec.name}.{key}: {wrong} are not fields of kinds.{spec.name}.fields "
                                 f"({', '.join(spec.fields)})")
        if empty := [f for f in spec.required if not spec.fields[f]]:
            raise ValueError(f"kinds.{spec.name}.fields.{empty[0]}: a required field needs a header to be read from, got []")
        if spec.snapshot_year and (spec.snapshot_year not in columns
                                   or not columns[spec.snapshot_year].dtype.type.is_integer()):
            raise ValueError(f"kinds.{spec.name}.snapshot_year: {spec.snapshot_year!r} is not a field of whole numbers")

        def spec_values(table: str, field_name: str) -> list[str]:
            isin = [c for c in columns[field_name].checks if c.name == "isin"] if field_name in columns else []
            if not isin:
                raise ValueError(f"kinds.{spec.name}.{table}.{field_name}: not a field with a list of values")
            return list(isin[0].statistics["allowed_values"])

        for field_name in spec.values:
            spec_values("values", field_name)
        for field_name, spellings in spec.codes.items():
            allowed = spec_values("codes", field_name) + list(spec.values.get(field_name, ()))
            if wrong := sorted(set(spellings.values()) - set(allowed)):
                raise ValueError(f"kinds.{spec.name}.codes.{field_name}: {wrong} are not among its values "
                                 f"({'、'.join(allowed)})")


# a rule's lists of a code field's values (pipelines.rules reads them with is_in): parameter -> field
_RULE_VALUE_FIELDS = {"bad_status": "status", "grades": "grade", "high_grades": "grade", "done_status": "renovation",
                      "stages": "stage", "statuses": "status", "change_types": "change_type", "categories": "category",
                      "cert_types": "cert_type", "severe_levels": "level", "event_types": "event_type"}


def _check_death_types(run: RunConfig, kinds: dict[str, KindSpec]) -> None:
    """`run.death_change_types` holds only 民政 变动类型 records are read as: 死亡 for 死亡注销 would
    know no one dead, and every rule `explained_by_death` warn the dead again, unseen."""
    from schemas.inputs import EXTRACT_MODELS

    columns = EXTRACT_MODELS["civil"].to_schema().columns if "civil" in kinds else {}
    isin = [c for c in columns["change_type"].checks if c.name == "isin"] if "change_type" in columns else []
    if not isin:
        return
    allowed = list(isin[0].statistics["allowed_values"]) + list(kinds["civil"].values.get("change_type", ()))
    if wrong := [v for v in run.death_change_types if v not in allowed]:
        raise ValueError(f"run.death_change_types: {wrong} are not among the 变动类型 records are read as "
                         f"({'、'.join(allowed)})")


def _check_rule_values(rules: dict[str, RuleConfig], kinds: dict[str, KindSpec]) -> None:
    """A rule's list of code values (H1's grades, M4's bad_status) holds only values its kind's
    field can hold (the SPEC's list and the kind's `values`): records are read as those (C级 as C,
    暂停 as 暂停参保), so grades = ["c", "d"] or bad_status = ["暂停"] matched no record and the
    rule never fired, exit 0."""
    from schemas.inputs import EXTRACT_MODELS

    for name, rc in rules.items():
        columns = EXTRACT_MODELS[rc.kind].to_schema().columns if rc.kind in EXTRACT_MODELS else {}
        for key, field_name in _RULE_VALUE_FIELDS.items():
            isin = [c for c in columns[field_name].checks if c.name == "isin"] if field_name in columns else []
            if key not in rc.params or not isin:
                continue
            allowed = list(isin[0].statistics["allowed_values"]) + list(kinds[rc.kind].values.get(field_name, ()))
            if wrong := [v for v in rc.params[key] if v not in allowed]:
                raise ValueError(f"rules.{name}.{key}: {wrong} are not among the values records are read as "
                                 f"({'、'.join(allowed)})")


def build_config(raw: dict[str, Any], defaults: dict[str, Any] | None = None) -> Config:
    """The typed config of `raw`. `defaults` (the default config's raw): a rule that does not say
    `per_person` takes it from the default rule it runs (a copy of the config made before the
    key existed keeps M4 a fact about persons)."""
    kinds = {
        name: KindSpec(
            name=name,
            folder=k["folder"],
            record_id=k["record_id"],
            required=tuple(k["required"]),
            fields={f: tuple(a) for f, a in k["fields"].items()},
            codes={f: {unicodedata.normalize("NFKC", str(v)).replace(" ", ""): str(c) for v, c in m.items()}
                   for f, m in k.get("codes", {}).items()},
            values={f: tuple(unicodedata.normalize("NFKC", str(v)).replace(" ", "") for v in vs)
                    for f, vs in k.get("values", {}).items()},
            # (a config copied before the key existed takes the default's)
            blank_unreadable=tuple(k.get("blank_unreadable", (defaults or {}).get("kinds", {}).get(name, {})
                                         .get("blank_unreadable", ()))),
            snapshot_year=str(k.get("snapshot_year", (defaults or {}).get("kinds", {}).get(name, {}).get("snapshot_year", ""))),
        )
        for name, k in raw["kinds"].items()
    }
    _check_codes(kinds)
    rules = {}
    base = (defaults or {}).get("rules", {})
    for name, r in raw["rules"].items():
        params = {k: v for k, v in r.items() if k not in {"kind", "risk_type", "label", "severity", "lead", "per_person",
                                                          "explained_by_death"}}
        of_base = base.get(r.get("impl", name), base.get(name, {}))
        per_person = r.get("per_person", of_base.get("per_person", False))
        # (a copy made before the key existed takes the default rule's, as per_person)
        by_death = r.get("explained_by_death", of_base.get("explained_by_death", False))
        if by_death and not per_person:
            raise ValueError(f"rules.{name}.explained_by_death: only a rule about persons (per_person = true) can be "
                             f"explained by one person's death; {name} is about the household")
        rules[name] = RuleConfig(
            name=name,
            kind=r["kind"],
            risk_type=r["risk_type"],
            label=r.get("label", name),
            severity=r.get("severity", "中"),
            lead=bool(r.get("lead", False)),
            per_person=bool(per_person),
            explained_by_death=bool(by_death),
            params=params,
        )
    _check_rule_values(rules, kinds)
    run = RunConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.get("run", {}).items()})
    _check_death_types(run, kinds)
    return Config(
        run=run,
        folders={k: tuple(v) for k, v in raw["folders"].items()},
        kinds=kinds,
        matching=_matching(raw.get("matching", {}), raw["folders"]),
        rules=rules,
        raw=raw,
        dispatch={str(k): str(v) for k, v in raw.get("dispatch", {}).items()},
        feedback=FeedbackConfig(**{
            k: tuple(v) if isinstance(v, list) else v for k, v in raw.get("feedback", {}).items()
            if k not in RETIRED["feedback"]}),
        inbox=InboxConfig(**{k: tuple(v) if isinstance(v, list) else v for k, v in raw.get("inbox", {}).items()}),
    )


SEVERITIES = ("高", "中", "低")
# settings whose default is a word but that take a number too ("measured", or a share from 0 to 1)
_EITHER_SHAPE = {"matching.census_completeness": ("text", "a number")}
# settings that are shares (or probabilities): at most 1
_SHARES = {"run": frozenset({"roster_min_usable_share"}),
           "inbox": frozenset({"earlier_dates_share", "earlier_records_share"}),
           "matching": frozenset({"roster_share", "ambiguity_ratio", "candidate_floor", "max_snapshot_presence",
                                  "census_coverage", "census_min_coverage", "max_roster_prior",
                                  "absentee_max_share"})}
# rule parameters that are shares: at most 1
_RULE_SHARES = frozenset({"min_roster_share", "min_township_share", "share_of_income", "shown_min_p"})
# settings naming records' fields (columns), a list or a table's keys
_FIELD_LISTS = frozenset({"matching.prior_groups", "matching.place_hint_fields", "inbox.planned_date_fields"})
# what a rule may leave out: its description and flags (defaults in build_config) and the
# parameters the rules read with a default (`RuleConfig.get`): every other key of the default rule is read
_RULE_OPTIONAL = frozenset({"label", "severity", "lead", "per_person", "explained_by_death", "impl", "high_threshold", "high_grades",
                            "min_roster_share", "min_township_share", "township_z", "shown_min_p",
                            "risk_type_by_disaster"})


def _shape(v: Any) -> str:
    """What a config value is, as a reader would say it: number, text, yes/no, list, table."""
    if isinstance(v, bool):
        return "true/false"
    if isinstance(v, int | float):
        return "a number"
    return {str: "text", list: "a list", dict: "a table"}.get(type(v), type(v).__name__)


def check_values(raw: dict[str, Any], default: dict[str, Any]) -> None:
    """Every value of `raw` (a config file with its --set overrides applied) against the default
    config: its tables are the default's, a key the default has must hold the same kind of value
    (a number where a number is, a list where a list is, of the same kind of items, a table where
    a table is), a kind is one of the default's, with its keys, in a folder of [folders]; a rule
    runs a rule of the default (its own name, or `impl = "M1"` under a new name: checked against
    the rule it runs) on a kind of [kinds], its numbers are at least 0, its severity one of
    高/中/低; a list of kinds names kinds. Raises ValueError naming the key, so a bad `--set` or
    file is exit 2 before anything is read, not a failure inside the rules after linking."""
    def check(key: str, v: Any, d: Any) -> None:
        if key in _EITHER_SHAPE and _shape(v) in _EITHER_SHAPE[key]:
            return  # (its own check, in its dataclass, says what it may be)
        if _shape(v) != _shape(d):
            percent = isinstance(v, str) and v.strip().endswith(("%", "％")) and _shape(d) == "a number"
            raise ValueError(f"{key} must be {_shape(d)}{' (40% is written 0.4)' if percent else ''}, got {v!r}")
        if isinstance(d, list) and d and any(_shape(x) != _shape(d[0]) for x in v):
            raise ValueError(f"{key} must be a list of {_shape(d[0])} items, got {v!r}")
        if isinstance(d, dict):
            for k, x in v.items():
                if k in d:
                    check(f"{key}.{k}", x, d[k])

    for section in ("folders", "kinds", "rules"):
        if not isinstance(raw.get(section), dict):
            raise ValueError(f"no [{section}] section: a --config file is a whole copy of config/default.toml "
                             f"with your changes (to change single values, --set KEY=VALUE)")
    if unknown := sorted(set(raw) - set(default)):
        raise ValueError(f"{unknown[0]}: unknown table (a typo? config/default.toml has no such table)")
    for section in ("folders", "dispatch", "kinds"):  # (every kind is one the pipeline reads: no new one)
        check(section, raw.get(section, {}), default[section])
    # a name (folder or alias) under two folders: a folder so named was read as the first's alone
    named: dict[str, str] = {}
    for canon, aliases in raw["folders"].items():
        for n in {_folder_key(a) for a in [canon, *aliases]}:
            if named.setdefault(n, canon) != canon:
                raise ValueError(f"folders.{canon}: {n!r} also names folders.{named[n]} (a folder so named would be "
                                 f"read as {named[n]} only)")
    for name, k in raw["kinds"].items():
        if name not in default["kinds"]:
            raise ValueError(f"kinds.{name}: unknown kind (config/default.toml's are {', '.join(default['kinds'])})")
        if unknown := sorted(set(k) - ({f.name for f in dataclasses.fields(KindSpec)} - {"name"})):
            raise ValueError(f"kinds.{name}.{unknown[0]}: unknown key (a typo? no kind of config/default.toml has it)")
        if missing := [f for f in ("folder", "record_id", "required", "fields") if f not in k]:
            raise ValueError(f"kinds.{name}.{missing[0]} is missing")
        if k["folder"] not in raw["folders"]:
            raise ValueError(f"kinds.{name}.folder: {k['folder']!r} is not a folder of [folders]")
    settings = {"run": RunConfig, "inbox": InboxConfig, "matching": MatchingConfig, "feedback": FeedbackConfig}
    fields = {f for k in raw["kinds"].values() if isinstance(k.get("fields"), dict) for f in k["fields"]}
    for section, cls in settings.items():
        if section in raw:
            check(section, raw[section], default.get(section, {}))
            known = {f.name for f in dataclasses.fields(cls)} | set(default.get(section, {})) | RETIRED.get(section, set())
            if unknown := sorted(set(raw[section]) - known):
                raise ValueError(f"{section}.{unknown[0]}: unknown key (a typo? config/default.toml's [{section}] "
                                 f"has no such setting)")
            for k, v in raw[section].items():  # (every default number is one of at least 0; nan passes any "at least")
                if _shape(v) == "a number" and _shape(default.get(section, {}).get(k)) == "a number":
                    if not (math.isfinite(v) and v >= 0):
                        raise ValueError(f"{section}.{k} must be a number of at least 0, got {v!r}")
                    if k in _SHARES.get(section, ()) and v > 1:
                        raise ValueError(f"{section}.{k} must be a share from 0 to 1, got {v!r}")
                if k.endswith("_kinds") and (wrong := sorted(set(v) - set(raw["kinds"]))):  # (a list, checked above)
                    raise ValueError(f"{section}.{k}: {wrong} are not kinds of [kinds]")
                # (a column mistyped, assistance_py, was read nowhere: the setting silently did nothing)
                if f"{section}.{k}" in _FIELD_LISTS and (wrong := sorted(set(v) - fields)):
                    raise ValueError(f"{section}.{k}: {wrong} are not fields of any kind's [kinds.*.fields]")
    defaults = default.get("rules", {})
    any_rule_key = {k for r in defaults.values() if isinstance(r, dict) for k in r} | {"impl"}
    for name, rule in raw.get("rules", {}).items():
        if not isinstance(rule, dict):
            raise ValueError(f"rules.{name} must be a table")
        if rule.get("impl", name) not in defaults:
            raise ValueError(f"rules.{name}: no rule of config/default.toml is called {rule.get('impl', name)!r} (a rule of "
                             f"your own runs one of {', '.join(defaults)}: impl = \"M1\" and its keys)")
        base = defaults[rule.get("impl", name)]
        if unknown := sorted(set(rule) - any_rule_key):
            raise ValueError(f"rules.{name}.{unknown[0]}: unknown key (a typo? no rule of config/default.toml has it)")
        if missing := [k for k in base if k not in rule and k not in _RULE_OPTIONAL]:
            raise ValueError(f"rules.{name}.{missing[0]} is missing (config/default.toml's rules."
                             f"{rule.get('impl', name)} has {missing[0]} = {base[missing[0]]!r})")
        for k, v in rule.items():
            if k in base or k in ("lead", "per_person", "explained_by_death"):  # (a flag the rule it runs leaves out is false)
                check(f"rules.{name}.{k}", v, base.get(k, False))
            if _shape(v) == "a number" and not (math.isfinite(v) and v >= 0):  # (nan >= 0 is false too)
                raise ValueError(f"rules.{name}.{k} must be a number of at least 0, got {v!r}")
            # (a share of the roster, of the family's income: 40 for 40% made M2 and A1 never fire)
            if k in _RULE_SHARES and _shape(v) == "a number" and v > 1:
                raise ValueError(f"rules.{name}.{k} must be a share from 0 to 1 (40% = 0.4), got {v!r}")
        if rule.get("kind") not in raw["kinds"]:
            raise ValueError(f"rules.{name}.kind: {rule.get('kind')!r} is not a kind of [kinds]")
        if rule.get("severity", "中") not in SEVERITIES:
            raise ValueError(f"rules.{name}.severity must be one of {'/'.join(SEVERITIES)}, got {rule['severity']!r}")
        # (0 months unpaid is everyone's: R1 warned the whole 人社 extract; an extract counts whole months)
        if _shape(rule.get("months_unpaid")) == "a number":
            _at_least(f"rules.{name}.months_unpaid", rule["months_unpaid"], 1, True)
        # (ages are read in whole years: max_age = 17.5 was taken and read as 17, min_age = 60.5 as 61)
        for k in ("min_age", "max_age"):
            if _shape(rule.get(k)) == "a number":
                _at_least(f"rules.{name}.{k}", rule[k], 0, True)
        if (_shape(rule.get("high_threshold")) == _shape(rule.get("threshold")) == "a number"
                and rule["high_threshold"] < rule["threshold"]):
            raise ValueError(f"rules.{name}.high_threshold must be at least threshold (below it every warning is 高), "
                             f"got {rule['high_threshold']!r} < {rule['threshold']!r}")
        if _shape(rule.get("min_age")) == _shape(rule.get("max_age")) == "a number" and rule["min_age"] > rule["max_age"]:
            raise ValueError(f"rules.{name}.min_age must be at most max_age (no age lies between), got "
                             f"{rule['min_age']!r} > {rule['max_age']!r}")
    # a verified warning of a risk type [dispatch] lacks goes to feedback.unmapped_department: a key no
    # rule can give (因病 with a space, 因残疾) is a typo that sent that risk type's warnings there
    risks = {r.get("risk_type") for r in [*raw["rules"].values(), *defaults.values()] if isinstance(r, dict)}
    risks |= {v for r in raw["rules"].values() if isinstance(r, dict)
              for v in (r.get("risk_type_by_disaster") or {}).values()} | set(default.get("dispatch", {}))
    if unknown := sorted(set(raw.get("dispatch", {})) - risks):
        raise ValueError(f"dispatch.{unknown[0]!r}: no rule gives this risk type (风险类型); the rules' are "
                         f"{'、'.join(sorted(r for r in risks if isinstance(r, str)))}")


# what a Chinese input method types where TOML needs ASCII: `，` in a list, `“高”`, `＝`, a full-width space
_WIDE_PUNCTUATION = "，：“”‘’＝［］｛｝＂＇。；\u3000"


def read_text(path: str | Path) -> str:
    """A config file's text as an analyst's editor saved it: UTF-8 with or without Notepad's BOM,
    or GB18030 (ANSI on Chinese Windows); else a ValueError naming the file (not a codec's byte
    position). The run records this text (`flows._begin_run`) and compares a later period's file with it."""
    data = Path(path).read_bytes()
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            return data.decode(encoding)
        except UnicodeDecodeError:
            continue
    raise ValueError(f"{path}: 不是 UTF-8 或 GB18030 文本，请另存为 UTF-8 not UTF-8 or GB18030 text: save it as UTF-8")


def read_toml(path: str | Path) -> dict[str, Any]:
    """A config file (`read_text`; the province's counties file too) as TOML; one TOML cannot parse is a ValueError naming the file
    (and, for a line typed with a Chinese input method, the key and the character), not a
    parser's column alone."""
    text = read_text(path)
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        lines, where = text.splitlines(), re.search(r"at line (\d+)", str(exc))
        at = int(where[1]) - 1 if where and int(where[1]) <= len(lines) else None
        line = lines[at].split("#", 1)[0] if at is not None else ""
        wide = ["全角空格" if c == "\u3000" else c for c in _WIDE_PUNCTUATION if c in line]
        # a number written as on paper: 5,000 or 40% (TOML: 5000 or 5_000, 0.4)
        paper = re.search(r"[=＝]\s*[-+]?\d[\d,]*(\.\d+)?\s*[%％]?\s*$", line) and re.search(r"\d,\d|[%％]\s*$", line)
        if not wide and not paper:
            raise ValueError(f"{path}: {exc}") from None
        key = re.split("[=＝]", line, maxsplit=1)[0].strip(" \u3000")
        table = next((t.strip().strip("[]") for t in reversed(lines[:at]) if t.strip().startswith("[")), "")
        key = f"{table}.{key}" if table and not line.strip().startswith("[") else key
        if not wide:
            raise ValueError(f"{path}: {exc}: {key} 的数值请写成 5000 或 0.4（不带千位逗号或 %） the number of {key!r} is "
                             f"written 5000 or 0.4 (no thousands comma, no %)") from None
        raise ValueError(f"{path}: {exc}: {key} 一行有中文标点 {' '.join(wide)}，请改为英文标点（, : \" = [ ]） the line of "
                         f"{key!r} holds Chinese punctuation {' '.join(wide)}: type it with ASCII , : \" = [ ]") from None


def _with_defaults_left_out(raw: dict[str, Any], default: dict[str, Any]) -> dict[str, Any]:
    """`raw` with the default's kinds every run reads (`Config.REFERENCE_KINDS`) that a copy made
    before they existed lacks (复核's review_answer, 反馈's feedback), and their folders: without
    them such a copy was taken and the run failed on its first step (KeyError 'review_answer').
    A copy without [dispatch] or matching.name_readings takes the default's too."""
    # (a [dispatch] or name_readings left out was none: every verified warning went to
    # feedback.unmapped_department, no name read by its surname's reading; the other settings
    # left out are the dataclasses' defaults, the same as default.toml's)
    if "dispatch" not in raw:
        raw = dict(raw, dispatch=copy.deepcopy(default["dispatch"]))
    if isinstance(raw.get("matching"), dict) and "name_readings" not in raw["matching"]:
        raw = dict(raw, matching=dict(raw["matching"], name_readings=copy.deepcopy(default["matching"]["name_readings"])))
    elif "matching" not in raw:
        raw = dict(raw, matching={"name_readings": copy.deepcopy(default["matching"]["name_readings"])})
    if not (isinstance(raw.get("kinds"), dict) and isinstance(raw.get("folders"), dict)):
        return raw  # (check_values says which section is missing)
    missing = [k for k in Config.REFERENCE_KINDS if k not in raw["kinds"]]
    if not missing:
        return raw
    raw = dict(raw, kinds=dict(raw["kinds"]), folders=dict(raw["folders"]))
    for name in missing:
        spec = raw["kinds"][name] = copy.deepcopy(default["kinds"][name])
        if _folder_of(raw["folders"], spec["folder"]) is None:
            raw["folders"][spec["folder"]] = list(default["folders"][spec["folder"]])
    return raw


def rules_left_out(cfg: Config) -> list[tuple[str, str]]:
    """The rules of config/default.toml `cfg` does not run (name, label): no `[rules.X]` of
    theirs, and no rule of its own running them (`impl`). Leaving a table out is how a bureau
    turns a rule off; each run says so, since a copy's missing table is not seen month to month."""
    with open(DEFAULT_CONFIG, "rb") as fh:
        default = tomllib.load(fh)["rules"]
    running = {r.get("impl", n) for n, r in cfg.rules.items()}
    return [(n, r.get("label", n)) for n, r in default.items() if n not in running]


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    """The config file `path` (None: config/default.toml) with the `--set KEY=VALUE` `overrides`
    applied, checked. A value refused is a ValueError that names where it came from (the file and
    its line, or the `--set`: `_refused_in`), so an analyst editing a copy finds it."""
    with open(DEFAULT_CONFIG, "rb") as fh:
        default = tomllib.load(fh)
    given = _with_defaults_left_out(read_toml(path or DEFAULT_CONFIG), default)
    raw = apply_overrides(given, overrides or [])
    try:
        return _checked(raw, default)
    except (ValueError, KeyError, TypeError) as exc:
        said = _said(exc)
        raise ValueError(f"{_refused_in(given, overrides or [], default, path or DEFAULT_CONFIG, said)}: {said}") from None


def _checked(raw: dict[str, Any], default: dict[str, Any]) -> Config:
    check_values(raw, default)
    return build_config(raw, default)


def _said(exc: BaseException) -> str:
    """A refusal's text (a KeyError's is its key quoted: said as the key missing)."""
    return f"{exc.args[0]} is missing" if isinstance(exc, KeyError) and exc.args else str(exc)


def _toml_key(text: str) -> list[str]:
    """A TOML key as written (dotted, parts bare or quoted) -> its parts."""
    return [m[1] if m[1] is not None else m[2] if m[2] is not None else m[3].strip()
            for m in re.finditer(r'\s*(?:"([^"]*)"|\'([^\']*)\'|([^.]+))\s*(?:\.|$)', text.strip())]


def _line_of(text: str, key: str) -> int | None:
    """The line (from 1) of a config file's `text` that defines the dotted `key` a refusal names
    (`rules.M1.threshold`: `threshold = ...` under `[rules.M1]`, or `[rules.M9]` for a table),
    or the key-value line holding it (an inline table, `fields = {x = [...]}`); None when no line
    does (a value the file leaves to the default, a key the refusal quotes otherwise)."""
    want, table, best = _toml_key(key.replace("'", '"')), [], (0, None)
    for n, line in enumerate(text.splitlines(), 1):
        bare = line.strip()
        if header := re.match(r"\[\[?([^\[\]]+)\]\]?\s*(#.*)?$", bare):
            table = _toml_key(header[1])
            if table == want:
                return n
            continue
        pair = re.match(r'((?:"[^"]*"|\'[^\']*\'|[^=#"\'\[])+?)\s*=', bare)
        if not pair:  # (a comment, a list's next line)
            continue
        full = table + _toml_key(pair[1])
        if full == want:
            return n
        if len(full) > max(best[0], 1) and want[:len(full)] == full:
            best = (len(full), n)
    return best[1]


def _refused_in(given: dict[str, Any], overrides: list[str], default: dict[str, Any], path: str | Path,
                said: str) -> str:
    """Where the value `said` refuses came from: the file (`path`, at the line defining the key
    the refusal names, `_line_of`, when one does) if it alone is refused so, else the first
    `--set` after which the settings are (applied in their order: a --set may mend the file's
    value, or refuse a pair of values the file's agreed)."""
    for n in range(len(overrides) + 1):
        try:
            _checked(apply_overrides(given, overrides[:n]), default)
        except (ValueError, KeyError, TypeError) as exc:
            if _said(exc) == said:
                if n:
                    return f"--set {overrides[n - 1]}"
                break
    try:
        line = _line_of(read_text(path), said.split(" ", 1)[0].rstrip(":"))
    except (OSError, ValueError):
        line = None
    return f"{path}" + (f", line {line}" if line else "")

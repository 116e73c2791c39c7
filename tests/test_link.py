import dataclasses
import datetime
import random

import polars as pl
import pytest

from config import MatchingConfig
from matchers.ids import check_char
from matchers.link import (_block, _census_members, _complete_snapshots, _held_by_others, _keep_top, _near_ids,
                           _prepare_records, _prepare_roster, link, slip_findings, slip_rates)
from schemas.outputs import Finding

SURNAMES = "王李张刘陈杨赵黄周吴徐孙胡朱高林何郭马罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"
SURNAME_HOMOPHONE = {"王": "汪", "李": "理", "张": "章", "刘": "流", "陈": "晨", "杨": "阳", "赵": "照", "黄": "皇",
                     "周": "舟", "吴": "无", "徐": "许", "孙": "荪", "胡": "湖", "朱": "珠", "高": "糕", "林": "临",
                     "何": "河", "郭": "锅", "马": "玛", "罗": "萝"}
VILLAGES = [f"{'东西南北中'[k % 5]}{'王李张刘陈杨赵黄周吴'[k // 5]}庄村" for k in range(50)]
CFG = MatchingConfig(county_population=20000)


def make_id(rng, region="341302", birth=None):
    birth = birth or f"{rng.randint(1940, 2015)}{rng.randint(1, 12):02d}{rng.randint(1, 28):02d}"
    id17 = f"{region}{birth}{rng.randint(0, 999):03d}"
    return id17 + check_char(id17)


@pytest.fixture(scope="module")
def roster():
    rng = random.Random(3)
    rows = []
    for i in range(300):
        rows.append(dict(township=rng.choice(["大店镇", "时村乡"]), village=VILLAGES[rng.randrange(50)],
                         household_id=f"H{i // 3:04d}", person_id=f"H{i // 3:04d}-{i % 3 + 1:02d}",
                         name=rng.choice(SURNAMES) + rng.choice(GIVEN) + rng.choice(GIVEN),
                         id_number=make_id(rng, rng.choice(["341302", "342201"]))))
    # twins: same birth date, same surname, given names differ in the last char only
    rows.append(dict(township="大店镇", village="东庄村", household_id="HT", person_id="HT-01", name="欧晓明",
                     id_number="34130219900101" + "0011"[:3] + check_char("34130219900101001")))
    rows.append(dict(township="大店镇", village="东庄村", household_id="HT", person_id="HT-02", name="欧晓亮",
                     id_number="34130219900101" + "003" + check_char("34130219900101003")))
    return pl.DataFrame(rows)


def records(rows):
    cols = ["dept", "kind", "record_id", "name", "id_raw", "township", "village"]
    return pl.DataFrame([{c: r.get(c) for c in cols} | {"dept": "医保", "kind": "med_settlement"} for r in rows],
                        schema={c: pl.Utf8 for c in cols})


def run(roster, rows, cfg=CFG):
    links, review = link(records(rows), roster, cfg)
    return links, review, {r["record_id"]: r for r in links.iter_rows(named=True)}


def mask64(i):
    return i[:6] + "*" * 8 + i[14:]


def test_mask_styles_and_dirt_match_the_right_person(roster):
    p = roster.row(5, named=True)
    i, name = p["id_number"], p["name"]
    rows = [
        dict(record_id="6+4", name=name, id_raw=mask64(i)),
        dict(record_id="fw", name=name[0] + "*" + name[2], id_raw="'" + i[:6] + "＊" * 8 + i[14:]),
        dict(record_id="14+0", name=name, id_raw=i[:14] + "****"),
        dict(record_id="full", name=name, id_raw=i),
        dict(record_id="typo", name=name, id_raw=i[:8] + str((int(i[8]) + 1) % 10) + i[9:]),
        dict(record_id="noid", name=name, id_raw=None, township=p["township"], village=p["village"][:-1]),
        # an ID Excel turned into a number (first 14 kept) with a year digit mistyped: the typo pass's too
        dict(record_id="excel typo", name=name, id_raw=f"{i[0]}.{i[1:9]}{(int(i[9]) + 1) % 10}{i[10:15]}E+17"),
    ]
    links, _, d = run(roster, rows)
    assert links.height == len(rows)
    for rid in d:
        assert d[rid]["decision"] == "matched", (rid, d[rid]["reason"])
        assert d[rid]["person_id"] == p["person_id"]
        assert d[rid]["household_id"] == p["household_id"]
    assert "6+4" in d["6+4"]["reason"] and "exact" in d["6+4"]["reason"]
    assert "typo pass" in d["typo"]["reason"]
    assert "ID 14/18 kept (14) one-differs [typo pass]" in d["excel typo"]["reason"], d["excel typo"]["reason"]
    assert d["noid"]["reason"].startswith("ID missing [name+place pass]; name "), d["noid"]["reason"]
    assert d["full"]["score"] > 0.999


def test_a_roster_id_written_with_a_lower_case_x_links_the_record_showing_it(roster):
    """A roster typed with 身份证号 ending in a lower-case x (and padded with spaces) holds the
    same ID as a record showing it with X: the record is linked on the whole ID."""
    p = roster.filter(pl.col("id_number").str.ends_with("X")).row(0, named=True)
    ros = roster.with_columns(pl.when(pl.col("person_id") == p["person_id"])
                              .then(" " + pl.col("id_number").str.to_lowercase()).otherwise("id_number").alias("id_number"))
    _, _, d = run(ros, [dict(record_id="full", name=p["name"], id_raw=p["id_number"])])
    assert d["full"]["decision"] == "matched" and d["full"]["person_id"] == p["person_id"], d["full"]["reason"]
    assert "18/18 kept (18) kept-agree" in d["full"]["reason"], d["full"]["reason"]


def test_an_old_15_digit_id_showing_only_its_birth_date_is_compared_like_a_birth_date_mask(roster):
    """An old 15-digit ID masked to its birth date (`******620111***`) shows the same as a new
    ID's birth-date mask (`******19620111****`): an old ID's holder was born in the 1900s. Read
    with the century, it is blocked and weighed as that mask is (before, its six kept characters
    were below `min_kept_for_id_block`: only a name + place or whole-name road could find its
    person, weighed on less than the record shows; under a surname-only name and no place, none)."""
    p = roster.filter(pl.col("id_number").str.slice(6, 2) == "19").row(0, named=True)
    i, name = p["id_number"], p["name"]
    rows = [dict(record_id="old", name=name, id_raw="*" * 6 + i[8:14] + "***"),
            dict(record_id="new", name=name, id_raw="*" * 6 + i[6:14] + "****")]
    links, cands, d = run(roster, rows)
    assert d["old"]["decision"] == d["new"]["decision"] != "unmatched", (d["old"]["reason"], d["new"]["reason"])
    assert d["old"]["score"] == pytest.approx(d["new"]["score"])
    assert d["old"]["reason"].startswith("ID 8/18 kept (8)"), d["old"]["reason"]


def test_every_old_15_digit_reading_is_described_as_one_counting_what_the_record_shows():
    """An old 15-digit ID masked in any SPEC style among its department's 18-character masks is read
    at the old ID's positions (`normalize_ids`), and its reason says so, counting the characters the
    record shows: first 6 + last 4, first 4 + last 4, first 3 + last 4, and first 11 of its 15
    kept (the old ID's 'first 14 kept, last 4 masked'). One showing its whole birth date is read
    with the century 19 its holder was born in and described as the new ID's mask it then reads
    as (the birth-date mask); the region alone is not keyed on region + century. A style keeping
    only the year's first digit (3413026********) is an old ID's reading too."""
    from matchers.ids import normalize_ids
    from matchers.link import _describe

    raw = ["341302*****1273", "3413*******1273", "341********1273", "34130262011****", "******620111***",
           "341302*********", "3413026********"]
    others = [f"341302********{i:04d}" for i in range(20)]  # (its department's masks: 18 characters)
    read = normalize_ids(pl.DataFrame({"id_raw": raw + others, "dept": "民政"})).head(len(raw))
    assert read["id_norm"].to_list() == ["341302*******1273*", "3413*********1273*", "341**********1273*",
                                         "341302**62011*****", "******19620111****", "341302************",
                                         "341302**6*********"]
    assert [_describe(k) for k in read["kept"]] == [
        "10/18 kept (6+4, an old 15-digit ID)", "8/18 kept (4+4, an old 15-digit ID)",
        "7/18 kept (3+4, an old 15-digit ID)", "11/18 kept (6+5, an old 15-digit ID)", "8/18 kept (8)", "6/18 kept (6)",
        "7/18 kept (6+1, an old 15-digit ID)"]


def test_a_masked_old_15_digit_id_links_its_person(roster):
    """A department still holding a person's old 15-digit ID sends it masked 6+4
    (341302*****1273): among its 18-character masks it is read at the old ID's positions and
    links the person (read as a new ID with too few stars, its tail was compared with the
    wrong digits and no one fitted)."""
    p = roster.filter(pl.col("id_number").str.slice(6, 2) == "19").row(0, named=True)
    i, name = p["id_number"], p["name"]
    old = i[:6] + i[8:17]
    others = roster.filter(pl.col("person_id") != p["person_id"]).head(5)
    rows = [dict(record_id="old", name=name, id_raw=old[:6] + "*" * 5 + old[11:])] + [
        dict(record_id=f"r{k}", name=o["name"], id_raw=mask64(o["id_number"])) for k, o in enumerate(others.iter_rows(named=True))]
    _, _, d = run(roster, rows)
    assert d["old"]["decision"] == "matched", d["old"]["reason"]
    assert d["old"]["person_id"] == p["person_id"]
    assert "ID 10/18 kept (6+4, an old 15-digit ID) kept-agree" in d["old"]["reason"], d["old"]["reason"]
    # a department whose system writes five stars for any ID (all its masks 15 characters long):
    # its kept 4 are a new ID's last 4
    fixed = [dict(record_id=f"f{k}", name=o["name"], id_raw=o["id_number"][:6] + "*" * 5 + o["id_number"][14:])
             for k, o in enumerate(others.iter_rows(named=True))]
    links, _, d = run(roster, fixed)
    assert [(d[f"f{k}"]["decision"], d[f"f{k}"]["person_id"]) for k in range(5)] == [
        ("matched", o) for o in others["person_id"]]


def test_a_17_digit_disability_certificate_made_from_an_old_id_links_its_person(roster):
    """残联 gave a person still holding an old 15-digit ID a 17-digit 残疾人证号 (the old ID, type
    and level): it links the roster person whose ID the old one became, as a 20-character one
    links its (it read as no ID: the record was left to name and place). Masked as the township
    lists mask it (341302******27341), its kept characters stand at the old ID's places: the
    person they fit is its candidate."""
    p = roster.filter(pl.col("id_number").str.slice(6, 2) == "19").row(0, named=True)
    i = p["id_number"]
    cert = i[:6] + i[8:17] + "41"
    others = roster.filter(pl.col("person_id") != p["person_id"]).head(3)
    name = p["name"]
    rows = [(cert, name, cert), ("masked", name[0] + "*" + name[-1], cert[:6] + "*" * 6 + cert[12:])] + [
        (o + "23", n, o + "23") for o, n in others.select("id_number", "name").rows()]
    recs = pl.DataFrame(rows, schema=["record_id", "name", "id_raw"], orient="row").with_columns(
        dept=pl.lit("残联"), kind=pl.lit("disability"), township=pl.lit(None, pl.Utf8), village=pl.lit(None, pl.Utf8))
    links, _ = link(recs, roster, CFG)
    d = {r["record_id"]: r for r in links.iter_rows(named=True)}
    assert (d[cert]["decision"], d[cert]["person_id"]) == ("matched", p["person_id"]), d[cert]["reason"]
    assert "ID 18/18" in d[cert]["reason"], d[cert]["reason"]
    assert d["masked"]["person_id"] == p["person_id"], d["masked"]["reason"]
    assert "9/18 kept (6+3, an old 15-digit ID)" in d["masked"]["reason"], d["masked"]["reason"]


def test_a_department_may_ask_for_a_stricter_threshold(roster):
    """match_threshold_by_dept: a 4+4 record showing a name's first and last characters links at
    the default 0.99 (p below 0.999); with 医保 asking for 0.999 the same record waits in
    review, and another department's threshold leaves it alone."""
    p = roster.row(7, named=True)
    i, name = p["id_number"], p["name"]
    rows = [dict(record_id="t", name=name[0] + "*" + name[-1], id_raw=i[:4] + "*" * 10 + i[14:])]
    _, _, base = run(roster, rows)
    assert base["t"]["decision"] == "matched" and base["t"]["score"] < 0.999, base["t"]["reason"]
    _, _, strict = run(roster, rows, dataclasses.replace(CFG, match_threshold_by_dept={"医保": 0.999}))
    assert strict["t"]["decision"] == "review" and strict["t"]["score"] == base["t"]["score"], strict["t"]["reason"]
    _, _, other = run(roster, rows, dataclasses.replace(CFG, match_threshold_by_dept={"人社": 0.999}))
    assert other["t"]["decision"] == "matched"


def test_a_record_whose_p_is_just_the_threshold_reaches_it(roster):
    """match_threshold is the probability an automatic link needs: a department whose threshold
    is the record's p to the bit has it linked, not sent to review."""
    p = roster.row(7, named=True)
    i, name = p["id_number"], p["name"]
    rows = [dict(record_id="t", name=name[0] + "*" + name[-1], id_raw=i[:4] + "*" * 10 + i[14:])]
    score = run(roster, rows)[2]["t"]["score"]
    _, _, at = run(roster, rows, dataclasses.replace(CFG, match_threshold_by_dept={"医保": score}))
    assert at["t"]["decision"] == "matched" and at["t"]["score"] == score, at["t"]["reason"]


def test_twins_go_to_review_never_a_guess(roster):
    rows = [dict(record_id="t", name="欧晓*", id_raw="******19900101****")]
    links, review, d = run(roster, rows)
    assert d["t"]["decision"] == "review"
    assert d["t"]["person_id"] is None
    assert set(review["person_id"]) == {"HT-01", "HT-02"}
    # equal fits are ambiguous at any ambiguity_ratio (1: only ties), under any threshold their p reach
    cfg = dataclasses.replace(CFG, match_threshold=0.3, review_threshold=0.2, ambiguity_ratio=1.0)
    _, review, d = run(roster, rows, cfg)
    assert d["t"]["decision"] == "review" and review["score"].n_unique() == 1 and d["t"]["score"] >= 0.3, d["t"]
    assert review["rank"].to_list() == [1, 2]
    assert review["cause"].to_list() == ["ambiguous"] * 2 and review["rivals"].is_null().all()
    # equal fits are ranked in 人编号 order, as the roster is read: the same data, the same queue
    assert review.sort("rank")["person_id"].to_list() == ["HT-01", "HT-02"]
    # each under review_threshold, together just reaching it: still asked about
    both = review["score"].sum()
    _, review, d = run(roster, rows, dataclasses.replace(CFG, review_threshold=both, match_threshold=max(both, 0.99)))
    assert d["t"]["decision"] == "review" and review["score"].sum() == both > d["t"]["score"], d["t"]


@pytest.mark.parametrize("shown", [0, 1])
def test_twins_are_no_guess_however_few_candidates_the_queue_shows(roster, shown):
    """The second best is weighed (ambiguity_ratio) even where the queue shows one candidate or
    none (review_max_candidates): equal twins still go to review, neither linked."""
    cfg = dataclasses.replace(CFG, match_threshold=0.3, review_threshold=0.2, ambiguity_ratio=1.0,
                              review_max_candidates=shown)
    _, _, d = run(roster, [dict(record_id="t", name="欧晓*", id_raw="******19900101****")], cfg)
    assert d["t"]["decision"] == "review" and d["t"]["person_id"] is None, d["t"]


def test_non_roster_lookalikes_are_not_matched(roster):
    p = roster.row(7, named=True)
    i = p["id_number"]
    other_tail = i[:14] + ("1234" if i[14:] != "1234" else "5678")
    rows = [
        dict(record_id="nobody", name="司马懿", id_raw="110105194912310021"),
        dict(record_id="wrong-name", name="司马光", id_raw=mask64(i)),
        dict(record_id="other-tail", name=p["name"], id_raw=mask64(other_tail)),
    ]
    links, _, d = run(roster, rows)
    assert d["nobody"]["decision"] == "unmatched" and d["nobody"]["n_candidates"] == 0
    assert d["wrong-name"]["decision"] != "matched"
    assert d["other-tail"]["decision"] != "matched"


def test_one_row_per_record_and_thresholds_from_config(roster):
    p = roster.row(1, named=True)
    rows = [dict(record_id="a", name=p["name"], id_raw=mask64(p["id_number"]))] * 3 + [dict(record_id="b")]
    links, _, _ = run(roster, rows)
    assert links.height == 4 and links["decision"].to_list()[:3] == ["matched"] * 3
    assert links["reason"][3] == "ID missing; no name/place candidate"
    strict = dataclasses.replace(CFG, match_threshold=1.0, review_threshold=1.0)
    links, review, _ = run(roster, rows, strict)
    assert links["decision"].to_list() == ["unmatched"] * 4 and review.filter(pl.col("decision") == "review").height == 0


def test_snapshot_kind_never_gives_one_person_to_two_records(roster):
    p = roster.row(9, named=True)
    rows = [dict(record_id=r, name=p["name"], id_raw=mask64(p["id_number"])) for r in ("x", "y")]
    recs = records(rows).with_columns(kind=pl.lit("med_enrollment"))
    links, _ = link(recs, roster, CFG)
    assert links["decision"].to_list() == ["review", "review"]


def test_a_snapshot_record_keeping_its_person_links_only_if_its_share_reaches_the_threshold(roster):
    """x (x's exact name) and y (x's surname) of the 参保名单 both fit x: x keeps her, y loses her.
    x holds 99% of her (p 0.990): linked at the 0.99 threshold, but a department asking 0.995 has
    it wait in review (it is not linked below its threshold because it leads)."""
    x = roster.row(12, named=True)
    rows = [dict(record_id="x", name=x["name"], id_raw=mask64(x["id_number"])),
            dict(record_id="y", name=x["name"][0] + "*", id_raw=mask64(x["id_number"]))]
    recs = records(rows).with_columns(kind=pl.lit("med_enrollment"))
    for cfg, decision in ((CFG, "matched"), (dataclasses.replace(CFG, match_threshold_by_dept={"医保": 0.995}), "review")):
        d = {r["record_id"]: r for r in link(recs, roster, cfg)[0].iter_rows(named=True)}
        assert (d["x"]["decision"], d["y"]["decision"]) == (decision, "unmatched"), (d["x"]["reason"], d["y"]["reason"])
        assert 0.99 <= d["x"]["score"] < 0.995 and "holds 99% of the person" in d["x"]["reason"], d["x"]["reason"]


def test_a_snapshot_claimant_as_strong_as_the_strongest_is_close_and_the_strongest_keeps_its_person(roster):
    """ambiguity_ratio 1 (only ties are close): x, the strongest claimant of x, is within it of
    itself, the only one close, and keeps her; y, weaker, loses her."""
    x = roster.row(12, named=True)
    rows = [dict(record_id="x", name=x["name"], id_raw=mask64(x["id_number"])),
            dict(record_id="y", name=x["name"][0] + "*", id_raw=mask64(x["id_number"]))]
    recs = records(rows).with_columns(kind=pl.lit("med_enrollment"))
    links, _ = link(recs, roster, dataclasses.replace(CFG, ambiguity_ratio=1.0))
    d = {r["record_id"]: r for r in links.iter_rows(named=True)}
    assert (d["x"]["decision"], d["x"]["person_id"], d["y"]["decision"]) == ("matched", x["person_id"], "unmatched"), (
        d["x"]["reason"], d["y"]["reason"])


def test_a_record_in_review_lists_all_its_best_candidates_however_weak(roster):
    """Review asks which of them: every one of its best candidates is listed, also one far below
    candidate_floor (a person sharing the kept ID characters under another name)."""
    x = roster.row(12, named=True)
    other = _same_kept_id(x["id_number"], set(roster["id_number"]))
    ros = pl.concat([roster, pl.DataFrame([dict(township="时村乡", village="南王庄村", household_id="HX", person_id="HX-01",
                                                 name="周丽平", id_number=other)])])
    rows = [dict(record_id="x", name=x["name"], id_raw=mask64(x["id_number"]))]
    _, cands, d = run(ros, rows, dataclasses.replace(CFG, match_threshold=0.999999))
    assert d["x"]["decision"] == "review", d["x"]
    assert cands.select("rank", "person_id", "decision").rows() == [(1, x["person_id"], "review"), (2, "HX-01", "review")]
    assert cands["score"][1] < CFG.candidate_floor


def test_sole_fit_in_a_complete_snapshot_is_linked(roster):
    """参保名单 holds (nearly) every roster person once: a weak record that is the only one
    fitting a roster person is that person; the same record in a settlement extract is not."""
    cfg = dataclasses.replace(CFG, estimate_prior=False)
    x = roster.row(11, named=True)
    rows = [dict(record_id=p["person_id"], name=p["name"], id_raw=mask64(p["id_number"]))
            for p in roster.iter_rows(named=True) if p["person_id"] != x["person_id"]]
    weak = dict(record_id="weak", name=x["name"][0] + "*", id_raw=mask64(x["id_number"]))
    links, _, d = run(roster, [weak], cfg)
    assert d["weak"]["decision"] == "review", d["weak"]["reason"]
    recs = records(rows + [weak]).with_columns(kind=pl.lit("med_enrollment"))
    links, _ = link(recs, roster, cfg)
    w = links.filter(pl.col("record_id") == "weak").row(0, named=True)
    assert w["decision"] == "matched" and w["person_id"] == x["person_id"], w["reason"]
    assert "the snapshot's record of this person" in w["reason"]


def test_a_snapshot_record_outweighing_the_others_fitting_a_person_is_that_person(roster):
    """Beside the weak record of roster person x (surname and 6+4 ID), the 参保名单 lists someone
    off the roster with x's kept ID characters and surname but another given name: x's own
    record fits far better, so it is x's nearly as surely as if it fitted alone (the other
    could still be x's record under a changed given name, 1.5% of records: review, p > 0.97),
    and the other is no one's. (With the configured name m: `name_m_iterations = 0`.)"""
    cfg = dataclasses.replace(CFG, estimate_prior=False, name_m_iterations=0)
    x = roster.row(11, named=True)
    rows = [dict(record_id=p["person_id"], name=p["name"], id_raw=mask64(p["id_number"]))
            for p in roster.iter_rows(named=True) if p["person_id"] != x["person_id"]]
    weak = dict(record_id="weak", name=x["name"][0] + "*", id_raw=mask64(x["id_number"]))
    other = dict(record_id="other", name=x["name"][0] + "丰收", id_raw=mask64(_same_kept_id(x["id_number"], set(roster["id_number"]))))
    links, review = link(records(rows + [weak, other]).with_columns(kind=pl.lit("med_enrollment")), roster, cfg)
    d = {r["record_id"]: r for r in links.iter_rows(named=True)}
    assert d["other"]["decision"] == "unmatched" and d["other"]["score"] >= cfg.candidate_floor, d["other"]["reason"]
    assert d["weak"]["score"] > 0.97 and "the snapshot's record of this person" in d["weak"]["reason"], d["weak"]["reason"]
    assert d["weak"]["decision"] == "review" and d["weak"]["score"] < cfg.match_threshold  # its share falls short
    top = review.filter(pl.col("record_id") == "weak", pl.col("rank") == 1)
    assert top["person_id"].to_list() == [x["person_id"]]
    alone, _ = link(records(rows + [weak]).with_columns(kind=pl.lit("med_enrollment")), roster, cfg)
    assert alone.filter(pl.col("record_id") == "weak")["decision"].to_list() == ["matched"]


def test_the_name_levels_m_are_learned_from_the_run(roster):
    """The configured m of a name level is where learning starts. Every person this 参保名单
    lists shows their whole name, unchanged: the run learns that a record sharing only the
    surname is seldom one of its persons renamed, so x's weak record beside such a stranger is
    surer than with the configured m kept (`name_m_iterations = 0`), unless no m may fall below
    the configured one (`name_m_floor` 1); the stranger is no one's either way."""
    cfg = dataclasses.replace(CFG, estimate_prior=False)
    x = roster.row(11, named=True)
    rows = [dict(record_id=p["person_id"], name=p["name"], id_raw=mask64(p["id_number"]))
            for p in roster.iter_rows(named=True) if p["person_id"] != x["person_id"]]
    weak = dict(record_id="weak", name=x["name"][0] + "*", id_raw=mask64(x["id_number"]))
    other = dict(record_id="other", name=x["name"][0] + "丰收", id_raw=mask64(_same_kept_id(x["id_number"], set(roster["id_number"]))))
    recs = records(rows + [weak, other]).with_columns(kind=pl.lit("med_enrollment"))

    def decide(**kw):
        links, _ = link(recs, roster, dataclasses.replace(cfg, **kw))
        return {r["record_id"]: r for r in links.iter_rows(named=True)}

    learned, kept = decide(), decide(name_m_iterations=0)
    assert learned["weak"]["score"] > kept["weak"]["score"] + 0.005, (learned["weak"]["reason"], kept["weak"]["reason"])
    # no level's m falls below `name_m_floor` x its configured m: at 1, the stranger weighs as configured
    floored = decide(name_m_floor=1.0)
    assert floored["weak"]["score"] == pytest.approx(kept["weak"]["score"], rel=1e-6), floored["weak"]["reason"]
    assert learned["other"]["decision"] == kept["other"]["decision"] == "unmatched"
    # the persons' own records are unmoved by it
    assert learned[rows[0]["record_id"]]["person_id"] == kept[rows[0]["record_id"]]["person_id"] == rows[0]["record_id"]


def test_typo_pass_runs_when_an_id_compatible_stranger_exists(roster):
    """A mistyped kept digit can land on another roster person's kept digits; the right
    person (same name, one digit off) must still be found."""
    a = roster.row(4, named=True)
    i = a["id_number"]
    other = i[:6] + "19991231" + i[14] + str((int(i[15]) + 1) % 10) + i[16:]
    stranger = dict(township="大店镇", village="东王庄村", household_id="HX", person_id="HX-01", name="司马光",
                    id_number=other)
    ros = pl.concat([roster, pl.DataFrame([stranger])])
    _, review, d = run(ros, [dict(record_id="t", name=a["name"], id_raw=mask64(other))])
    assert d["t"]["person_id"] in (None, a["person_id"])
    assert review.filter(pl.col("rank") == 1)["person_id"].to_list() == [a["person_id"]]
    assert "typo pass" in review.filter(pl.col("rank") == 1)["reason"][0]


def test_a_record_an_id_compatible_person_fits_as_far_as_its_name_shows_is_not_looked_up_as_a_typo(roster):
    """The typo pass is for records no ID-compatible person fits. A 6+4 record under a name
    hiding the surname (*明) that an ID-compatible roster person's name ends alike (李明), or one
    showing no name at all, has its person: the roster person whose last 4 are its last 4 with two
    digits swapped is not paired with it (a record no one fits would be: the swap join)."""
    x = roster.row(60, named=True)["id_number"]
    taken = set(roster["id_number"])
    fits = dict(roster.row(60, named=True), person_id="F-1", household_id="F", name="李明",
                id_number=_same_kept_id(x, taken))
    swapped = x[14:16][::-1] + x[16:]
    assert swapped != x[14:]
    slip = next(o for k in range(1, 4000) if check_char(o := f"{x[:6]}{1950 + k % 60}{k % 12 + 1:02d}{k % 28 + 1:02d}"
                                                                   + swapped[:3]) == swapped[3] and o + swapped[3] not in taken)
    typo = dict(fits, person_id="T-1", household_id="T", name="张明", id_number=slip + swapped[3])
    ros = pl.concat([roster.filter(pl.col("id_number") != x), pl.DataFrame([fits, typo], schema=roster.schema)])
    rows = [dict(record_id="hidden", name="*明", id_raw=mask64(x)), dict(record_id="none", name=None, id_raw=mask64(x)),
            dict(record_id="other", name="*强", id_raw=mask64(x))]
    prepared = _prepare_records(records(rows), CFG)
    pairs = _block(prepared, _prepare_roster(ros, CFG), _near_ids(prepared), CFG)
    who = {r: sorted(ros["person_id"].gather(pairs.filter(pl.col("rid") == r)["pidx"]).to_list()) for r in range(3)}
    assert who == {0: ["F-1"], 1: ["F-1"], 2: ["F-1", "T-1"]}, who


def _off_roster_ids(rng, n, roster_ids):
    out = []
    while len(out) < n:
        i = make_id(rng, "341302")
        if i not in roster_ids:
            out.append(i)
    return out


def test_scoring_in_slices_gives_the_same_links(roster):
    """Pairs are scored `pair_chunk` at a time (a city holds millions): any slice size, even one
    that cuts the pair list every few rows, gives the same links and review candidates."""
    rng = random.Random(11)
    people = roster.sample(60, seed=4).iter_rows(named=True)
    rows = [dict(record_id=f"r{k}", name=p["name"] if k % 3 else p["name"][0] + "*",
                 id_raw=p["id_number"][:3] + "*" * 11 + p["id_number"][14:] if k % 2 else mask64(p["id_number"]),
                 village=p["village"] if rng.random() < 0.5 else None)
            for k, p in enumerate(people)]
    rows.append(dict(record_id="twin", name="欧晓*", id_raw="******19900101****"))
    whole = link(records(rows), roster, CFG)
    sliced = link(records(rows), roster, dataclasses.replace(CFG, pair_chunk=3))
    assert whole[0]["n_candidates"].max() > 1 and whole[1].height > 0  # several candidates, a review
    for a, b in zip(whole, sliced):
        assert a.equals(b)


def test_weak_masks_in_a_large_roster_also_block_on_name_pinyin(roster):
    """When a mask pattern leaves more than `id_block_name_key_above` roster persons per record
    (3+4 kept in a city), the ID block also needs the first name character's pinyin: a
    homophone surname (章 for 张) still meets its person, another surname no longer pairs. A name
    hiding its first character meets on the last one's pinyin instead, and a record without a
    name on the ID alone: neither loses its person to the name key."""
    p = roster.row(7, named=True)
    rid = p["id_number"]
    other = dict(p, person_id="X-01", household_id="X", name="欧" + p["name"][1:],
                 id_number=rid[:3] + "99999999999" + rid[14:])
    bigger = pl.concat([roster, pl.DataFrame([other], schema=roster.schema)])
    row = dict(record_id="w", name=SURNAME_HOMOPHONE[p["name"][0]] + p["name"][1:], id_raw=rid[:3] + "*" * 11 + rid[14:])
    by_id, _, _ = run(bigger, [row])
    keyed, _, _ = run(bigger, [row], dataclasses.replace(CFG, id_block_name_key_above=0))
    assert by_id["n_candidates"][0] >= 2  # both share the kept characters
    assert keyed["n_candidates"][0] == by_id["n_candidates"][0] - 1  # 欧 (ou) no longer pairs
    assert keyed["decision"][0] != "matched" or keyed["person_id"][0] == p["person_id"]
    cfg = dataclasses.replace(CFG, id_block_name_key_above=0)
    rows = [row, dict(row, record_id="h", name="*" + p["name"][1:]), dict(row, record_id="n", name=None)]
    prepared = _prepare_records(records(rows), cfg)
    pairs = _block(prepared, _prepare_roster(bigger, cfg), _near_ids(prepared), cfg)
    who = [set(bigger["person_id"].gather(pairs.filter(pl.col("rid") == r)["pidx"])) for r in (1, 2)]
    assert {p["person_id"], "X-01"} <= who[0], who  # (欧 hidden: its last character is p's)
    assert len(who[1]) == by_id["n_candidates"][0] and p["person_id"] in who[1], who


def test_a_pattern_still_weak_with_the_first_character_also_needs_the_last(roster):
    """3+4 kept in a province-sized roster: even persons sharing the first name character's
    pinyin are too many, so a shown last character's pinyin must agree too."""
    from pypinyin import lazy_pinyin

    p = roster.row(7, named=True)
    rid = p["id_number"]
    last = "龙" if lazy_pinyin(p["name"][-1])[0] != "long" else "虎"
    other = dict(p, person_id="X-01", household_id="X", name="欧" + p["name"][1:],
                 id_number=rid[:3] + "99999999999" + rid[14:])
    namesake = dict(p, person_id="X-02", household_id="X2", name=p["name"][:-1] + last,
                    id_number=rid[:3] + "88888888888" + rid[14:])
    bigger = pl.concat([roster, pl.DataFrame([other, namesake], schema=roster.schema)])
    row = dict(record_id="w", name=p["name"], id_raw=rid[:3] + "*" * 11 + rid[14:])
    first_only, _, _ = run(bigger, [row], dataclasses.replace(CFG, id_block_name_key_above=2))
    both, _, _ = run(bigger, [row], dataclasses.replace(CFG, id_block_name_key_above=1))
    assert first_only["n_candidates"][0] == 2  # the person and the namesake (欧 no longer pairs)
    assert both["n_candidates"][0] == 1  # the namesake's last character differs
    assert both["person_id"][0] == p["person_id"] or both["decision"][0] != "matched"


def test_block_sizes_estimated_on_a_sample_block_as_the_exact_count_does(roster):
    """A pattern's roster persons per record (over the records that have any) are estimated on
    an even sample of at most `block_size_sample` of its records (a city has millions): on
    records alike, the sample takes the decision counting them all does, on either side of the
    threshold; records no roster ID fits do not dilute it."""
    taken = {i[:3] + i[14:] for i in roster["id_number"]}
    rows = []
    for k, p in enumerate(roster.head(60).iter_rows(named=True)):
        i = p["id_number"]  # each record's ID fits its person; its surname (欧, ou) no roster person's
        rows.append(dict(record_id=f"r{k}", name="欧" + p["name"][1:], id_raw=i[:3] + "*" * 11 + i[14:]))
        alone = next(f"{n:03d}1" for n in range(1000) if i[:3] + f"{n:03d}1" not in taken)
        rows.append(dict(record_id=f"x{k}", name="欧" + p["name"][1:], id_raw=i[:3] + "*" * 11 + alone))
    rec, ros = _prepare_records(records(rows), CFG), _prepare_roster(roster, CFG)
    blocks = {}
    for above in (0.75, 50):  # 1 person per record that has any: keyed by name above 0.75, not 50
        for sample in (1000, 7):
            blocks[above, sample] = _block(rec, ros, _near_ids(rec), dataclasses.replace(CFG, id_block_name_key_above=above,
                                                                        block_size_sample=sample))
        assert blocks[above, 1000].equals(blocks[above, 7])
    assert blocks[50, 7].filter(pl.col("pass") == "id").height >= 60
    assert blocks[0.75, 7].filter(pl.col("pass") == "id").is_empty()


def _same_kept_id(i: str, taken: set[str]) -> str:
    """Another person's ID with i's region, sequence and check character (another birth date)."""
    for k in range(1, 4000):
        b = f"{1950 + k % 60}{k % 12 + 1:02d}{k % 28 + 1:02d}"
        other = i[:6] + b + i[14:17]
        if check_char(other) == i[17] and other + i[17] not in taken:
            return other + i[17]
    raise AssertionError("no look-alike ID")


def _enrollment_list(roster, rng, strangers=300):
    """A county's 参保名单: every roster person and `strangers` insured off-roster people, 6+4 masked."""
    enrolled = [dict(record_id=f"CB{q['person_id']}", name=q["name"], id_raw=mask64(q["id_number"]))
                for q in roster.iter_rows(named=True)]
    others = [dict(record_id=f"CBs{j}", name=rng.choice(SURNAMES) + rng.choice(GIVEN), id_raw=mask64(x))
              for j, x in enumerate(_off_roster_ids(rng, strangers, set(roster["id_number"])))]
    return enrolled, others


def test_the_enrollment_census_counts_who_else_a_masked_record_could_be(roster):
    """参保名单 lists every insured resident once. A weak masked settlement record (6+4, surname
    only) that no insured off-roster person fits is its roster candidate's; one that an insured
    off-roster person fits as well goes to review; without the census it stays in between."""
    rng = random.Random(8)
    p = roster.row(20, named=True)
    ids = set(roster["id_number"])
    enrolled, strangers = _enrollment_list(roster, rng)
    look = dict(record_id="CBlook", name=p["name"][0] + "子" + "墨", id_raw=mask64(_same_kept_id(p["id_number"], ids)))
    target = dict(record_id="t", name=p["name"][0] + "*", id_raw=mask64(p["id_number"]))

    def decide(census, cfg=CFG):
        recs = pl.concat([records([target]), records(census).with_columns(kind=pl.lit("med_enrollment"))])
        links, _ = link(recs, roster, cfg)
        return links.filter(pl.col("record_id") == "t").row(0, named=True)

    alone = decide([])
    assert alone["decision"] == "review", alone["reason"]
    clean = decide(enrolled + strangers)
    assert clean["decision"] == "matched" and clean["person_id"] == p["person_id"], clean["reason"]
    assert clean["score"] > alone["score"] and "no insured off-roster person fits" in clean["reason"]
    seen = decide(enrolled + strangers + [look])
    assert seen["decision"] != "matched" and seen["score"] < 0.7, seen["reason"]
    assert "1 insured off-roster person(s) fit too" in seen["reason"]
    off = decide(enrolled + strangers + [look], dataclasses.replace(CFG, census_coverage=0.0))
    assert off["score"] == pytest.approx(alone["score"], rel=1e-9)


def test_a_listed_look_alike_whose_name_shows_other_characters_still_counts(roster):
    """A record showing only the end of its name (*明) and an insured off-roster person listed
    with only the surname (张**) share no visible character, yet both could be 张晓明: the
    census counts that person as fitting, and the record goes to review, not to its candidate."""
    rng = random.Random(8)
    p = roster.row(20, named=True)
    enrolled, strangers = _enrollment_list(roster, rng)
    # listed with a full ID (another birth date): no roster person's, so surely off the roster
    look = dict(record_id="CBlook", name=p["name"][0] + "**", id_raw=_same_kept_id(p["id_number"], set(roster["id_number"])))
    target = dict(record_id="t", name="*" + p["name"][-1], id_raw=mask64(p["id_number"]))

    def decide(census):
        recs = pl.concat([records([target]), records(census).with_columns(kind=pl.lit("med_enrollment"))])
        return link(recs, roster, CFG)[0].filter(pl.col("record_id") == "t").row(0, named=True)

    clean = decide(enrolled + strangers)
    assert clean["decision"] == "matched", clean["reason"]
    seen = decide(enrolled + strangers + [look])
    assert seen["decision"] != "matched" and "1 insured off-roster person(s) fit too" in seen["reason"], seen["reason"]


def test_a_masked_look_alike_counts_by_what_the_record_shows_not_by_what_it_hides(roster):
    """The record shows its name as 王* (its surname). An insured off-roster person listed as 王*墨
    fits it as much as one listed as 王*: the 墨 sits where the record shows nothing, so
    it was not compared and must not weigh as if it agreed (it did: a 王*墨 pushed the record
    4,000 times further from its roster candidate here)."""
    rng = random.Random(8)
    p = roster.row(20, named=True)
    enrolled, strangers = _enrollment_list(roster, rng)
    other = mask64(_same_kept_id(p["id_number"], set(roster["id_number"])))
    target = dict(record_id="t", name=p["name"][0] + "*", id_raw=mask64(p["id_number"]))

    def decide(look_name):
        look = dict(record_id="CBlook", name=look_name, id_raw=other)
        recs = pl.concat([records([target]), records(enrolled + strangers + [look]).with_columns(kind=pl.lit("med_enrollment"))])
        return link(recs, roster, CFG)[0].filter(pl.col("record_id") == "t").row(0, named=True)

    short, longer = decide(p["name"][0] + "*"), decide(p["name"][0] + "*墨")
    assert "1 insured off-roster person(s) fit too" in longer["reason"], longer["reason"]
    # (not to the bit: 刘*墨 fits fewer roster persons than 刘*, so it is a little surer to be off the roster)
    assert longer["score"] == pytest.approx(short["score"], rel=0.05), (short["reason"], longer["reason"])


def test_a_masked_look_alike_whose_surname_reads_alike_counts_by_what_the_record_shows(roster):
    """As above, at the homophone level: the record shows 刘*, and an insured off-roster person
    listed as 柳*墨 reads as it as much as one listed as 柳*伟; the last character, which the record
    hides, was not compared, so how common it is does not weigh (it did: 伟 is a common given-name
    character here and 墨 an unseen one, and the 柳*墨 weighed as a look-alike hundreds of times
    rarer). Both last characters differ from the roster candidate's alike, so each look-alike is as
    sure to be off the roster."""
    rng = random.Random(8)
    p = roster.row(20, named=True)
    assert p["name"][0] == "刘" and p["name"][-1] not in "伟墨"
    enrolled, strangers = _enrollment_list(roster, rng)
    other = mask64(_same_kept_id(p["id_number"], set(roster["id_number"])))
    target = dict(record_id="t", name="刘*", id_raw=mask64(p["id_number"]))

    def decide(look_name):
        look = dict(record_id="CBlook", name=look_name, id_raw=other)
        recs = pl.concat([records([target]), records(enrolled + strangers + [look]).with_columns(kind=pl.lit("med_enrollment"))])
        return link(recs, roster, CFG)[0].filter(pl.col("record_id") == "t").row(0, named=True)

    common, rare = decide("柳*伟"), decide("柳*墨")
    assert "census (参保名单)" in rare["reason"], rare["reason"]
    assert rare["score"] == pytest.approx(common["score"], rel=0.05), (common["reason"], rare["reason"])


def test_a_look_alike_listed_under_a_masked_name_counts_for_a_record_without_a_name(roster):
    """A record without a name shows its masked ID alone: an insured off-roster person sharing its
    kept characters fits it as much listed as 刘* as listed as 刘德华 (nothing of the names was
    compared). The masked one compared as `disagree` (its 刘 against the record's nothing) and
    counted a hundredth, so the record read as its roster candidate's all the more."""
    rng = random.Random(8)
    p = roster.row(20, named=True)
    enrolled, strangers = _enrollment_list(roster, rng)
    other = mask64(_same_kept_id(p["id_number"], set(roster["id_number"])))
    target = dict(record_id="t", name=None, id_raw=mask64(p["id_number"]))

    def decide(look_name):
        look = dict(record_id="CBlook", name=look_name, id_raw=other)
        recs = pl.concat([records([target]), records(enrolled + strangers + [look]).with_columns(kind=pl.lit("med_enrollment"))])
        return link(recs, roster, CFG)[0].filter(pl.col("record_id") == "t").row(0, named=True)

    whole, masked = decide("刘德华"), decide("刘*")
    assert masked["score"] == pytest.approx(whole["score"], rel=0.05), (whole["reason"], masked["reason"])


@pytest.mark.parametrize("listed", ["mistyped", "old_id"])
def test_a_look_alike_listed_under_a_mistyped_or_old_id_still_counts(roster, listed):
    """The list's own dirt does not hide an insured look-alike: listed with a whole ID one of
    whose birth digits was mistyped (it fails its check, its other characters stand), or under
    the old 15-digit ID masked 6+4 (it shows the sequence the record's last 4 begin with: three
    characters beside the region), it still fits the record, which goes to review."""
    rng = random.Random(8)
    p = roster.row(20, named=True)
    enrolled, strangers = _enrollment_list(roster, rng)
    other = _same_kept_id(p["id_number"], set(roster["id_number"]))
    if listed == "mistyped":
        shown = other[:8] + str((int(other[8]) + 1) % 10) + other[9:]
        assert check_char(shown[:17]) != shown[17]
    else:
        other = next(x for x in (other[:6] + f"19{y}" + other[10:] for y in range(50, 80)) if x not in set(roster["id_number"]))
        old = other[:6] + other[8:17]
        shown = old[:6] + "*****" + old[11:]
    look = dict(record_id="CBlook", name=p["name"][0] + "**", id_raw=shown)
    target = dict(record_id="t", name="*" + p["name"][-1], id_raw=mask64(p["id_number"]))

    def decide(census):
        recs = pl.concat([records([target]), records(census).with_columns(kind=pl.lit("med_enrollment"))])
        return link(recs, roster, CFG)[0].filter(pl.col("record_id") == "t").row(0, named=True)

    assert decide(enrolled + strangers)["decision"] == "matched"
    seen = decide(enrolled + strangers + [look])
    assert seen["decision"] != "matched" and "1 insured off-roster person(s) fit too" in seen["reason"], seen["reason"]


def test_the_census_does_not_vouch_for_a_record_whose_kept_digits_may_hold_a_typo(roster):
    """A record found only by the typo pass (a kept digit differs) could be an insured person
    whose own census row the typo hides: the census adds no confidence to it. An insured
    stranger listed under its kept characters and name does fit it, and the reason says so."""
    p = roster.row(21, named=True)
    i = p["id_number"]
    typo = i[:15] + str((int(i[15]) + 1) % 10) + i[16:]
    rng = random.Random(9)
    enrolled, strangers = _enrollment_list(roster, rng)
    target = dict(record_id="t", name=p["name"], id_raw=mask64(typo))
    look = dict(record_id="CBlook", name=p["name"], id_raw=mask64(_same_kept_id(typo, set(roster["id_number"]))))
    scores = []
    for census in ([], enrolled + strangers, enrolled + strangers + [look]):
        recs = pl.concat([records([target]), records(census).with_columns(kind=pl.lit("med_enrollment"))])
        links, review = link(recs, roster, CFG)
        scores.append(links.filter(pl.col("record_id") == "t")["score"][0])
    assert scores[1] <= scores[0] * (1 + 1e-9)
    assert scores[2] < scores[1], scores
    assert "census (参保名单): 1 insured off-roster person(s) fit too" in links["reason"][0], links["reason"][0]


def test_a_stranger_of_another_name_sharing_a_typo_records_kept_digits_does_not_make_the_census_vouch_for_it(roster):
    """As above, and the roster also holds a person of another surname who shares the record's
    kept characters (no fit: the typo pass still looks). The record, its person's only by the
    typo pass, may still be an insured person whose census row the typo hides: the census adds
    nothing to it. (It did: that stranger agreeing on the kept characters made it vouch, 0.64 to
    0.99. In a county's roster a 6+4 record's kept characters are often someone else's too.)"""
    p = roster.row(21, named=True)
    i = p["id_number"]
    typo = i[:15] + str((int(i[15]) + 1) % 10) + i[16:]
    other = "欧" if p["name"][0] != "欧" else "司"
    ros = pl.concat([roster, pl.DataFrame([dict(township="时村乡", village="南王庄村", household_id="HX", person_id="HX-01",
                                                 name=other + "丰收", id_number=_same_kept_id(typo, set(roster["id_number"])))])])
    listed = [dict(record_id=f"CB{j}", name="王" + "伟芳娜敏静"[j % 5], id_raw=mask64(x))
              for j, x in enumerate(_off_roster_ids(random.Random(9), 20, set(roster["id_number"])))]
    got = []
    for census in ([], listed):
        recs = pl.concat([records([dict(record_id="t", name=p["name"], id_raw=mask64(typo))]),
                          records(census).with_columns(kind=pl.lit("med_enrollment"))])
        got.append(link(recs, ros, CFG)[0].row(0, named=True))
    assert "[typo pass]" in got[0]["reason"] and "2 candidate(s)" in got[0]["reason"], got[0]["reason"]
    assert got[1]["score"] <= got[0]["score"] * (1 + 1e-9), (got[0]["score"], got[1]["reason"])
    assert "census" not in got[1]["reason"], got[1]["reason"]


def test_a_department_whose_full_ids_fail_the_check_is_trusted_to_mistype_kept_digits(roster):
    """The slip rate per ID character is read off the department's own full IDs: of 60, none
    failing the check, or 8 (a slip in one of 17 digits fails it 10 times in 11). A masked
    record one kept digit off its person is the likelier a slip the more its department slips.
    A school's failing 证件号码 are its slips even where the 学籍号 held the valid ID it was linked on.
    So is an ID Excel turned into a number (destroyed: first 14 kept) with a kept digit mistyped."""
    p = roster.row(21, named=True)
    i = p["id_number"]
    target = dict(record_id="t", name=p["name"], id_raw=mask64(i[:15] + str((int(i[15]) + 1) % 10) + i[16:]))
    rng = random.Random(4)
    fulls = _off_roster_ids(rng, 60, set(roster["id_number"]))
    failing = lambda k: [x[:17] + ("0" if x[17] != "0" else "1") if n < k else x for n, x in enumerate(fulls)]  # noqa: E731
    excel = dict(record_id="e", name=p["name"], id_raw=f"{i[0]}.{i[1:9]}{(int(i[9]) + 1) % 10}{i[10:15]}E+17")
    scores, destroyed = [], []
    for bad in (0, 8):
        rows = [target, excel] + [dict(record_id=f"f{n}", name="某某", id_raw=x) for n, x in enumerate(failing(bad))]
        links, review, d = run(roster, rows)
        assert d["t"]["n_candidates"] == 1 and "one-differs [typo pass]" in d["t"]["reason"]
        assert "ID 14/18 kept (14) one-differs [typo pass]" in d["e"]["reason"], d["e"]["reason"]
        scores.append(d["t"]["score"])
        destroyed.append(d["e"]["score"])
    assert scores[1] > scores[0] * 1.01, scores
    assert destroyed[1] > destroyed[0] * 1.01, destroyed
    school = []
    for bad in (0, 8):
        rows = [target] + [dict(record_id="G" + x, name="某某", id_raw=f) for x, f in zip(fulls, failing(bad))]
        links, _ = link(records(rows).with_columns(kind=pl.lit("education")), roster, CFG)
        school.append(links.row(0, named=True))
        assert "one-differs [typo pass]" in school[-1]["reason"], school[-1]["reason"]
    assert school[1]["score"] > school[0]["score"] * 1.01, school
    # the same with no full ID at all: the configured rate
    _, _, d = run(roster, [target])
    none = d["t"]["score"]
    _, _, d = run(roster, [target], dataclasses.replace(CFG, typo_rate=0.003))
    assert d["t"]["score"] > none


def test_slip_rates_per_department_are_read_off_its_full_ids():
    """For the data-quality report: 2 of 4 full IDs failing the check (the masked one is not a
    full ID), against none of 3: the first department's clerks slip more, the configured rate
    shrinking both towards it."""
    good = "341302199001011234"[:17]
    good += check_char(good)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    recs = pl.DataFrame({"dept": ["甲"] * 5 + ["乙"] * 3, "kind": ["k1"] * 5 + ["k2"] * 3,
                         "record_id": [str(i) for i in range(8)],
                         "id_raw": [good, good, bad, bad, mask64(good), good, good, good]})
    rates = {r["dept"]: r for r in slip_rates(recs, CFG).iter_rows(named=True)}
    assert (rates["甲"]["full"], rates["甲"]["failed"], rates["乙"]["full"], rates["乙"]["failed"]) == (4, 2, 3, 0)
    assert rates["甲"]["slip_rate"] > CFG.typo_rate > rates["乙"]["slip_rate"] > 0
    # a department whose IDs all show a mask (full-width too) or none is still listed, with no full ID
    masked = pl.DataFrame({"dept": ["丙"] * 3, "kind": ["k3"] * 3, "record_id": ["8", "9", "10"],
                           "id_raw": [mask64(good), good[:6] + "＊" * 8 + good[14:], None]})
    row = slip_rates(pl.concat([recs, masked]), CFG).filter(pl.col("dept") == "丙").row(0, named=True)
    assert (row["full"], row["failed"]) == (0, 0)


def test_typo_pass_drops_the_region_only_when_no_roster_id_shares_it(roster):
    """A region code no roster ID has is surely mistyped: the record is found on the rest of
    its ID, however far it is from the roster's codes (351309: two characters apart from any). One that
    roster IDs share is taken as typed right, so a record is not paired with every namesake
    sharing its last 4 (in a city, dozens each). A name hiding its surname is found on its last
    character instead, beside records of its mask pattern that show one. Dropping the region
    leaves the last 4: a roster person sharing them under another name is not paired."""
    p = next(q for q in roster.iter_rows(named=True) if q["id_number"].startswith("341302"))
    i = p["id_number"]
    rows = [dict(record_id="bad-region", name=p["name"], id_raw="341312" + "*" * 8 + i[14:]),
            dict(record_id="other-region", name=p["name"], id_raw="342201" + "*" * 8 + i[14:]),
            dict(record_id="far-region", name=p["name"], id_raw="351309" + "*" * 8 + i[14:]),
            dict(record_id="no-surname", name="*" + p["name"][1:], id_raw="351309" + "*" * 8 + i[14:])]
    last4 = dict(p, person_id="S-1", household_id="S", name="欧阳修", id_number=_same_kept_id(i, set(roster["id_number"])))
    _, review, d = run(pl.concat([roster, pl.DataFrame([last4], schema=roster.schema)]), rows)
    for r in ("bad-region", "far-region", "no-surname"):
        bad = review.filter(pl.col("record_id") == r, pl.col("rank") == 1)
        assert d[r]["person_id"] == p["person_id"] or bad["person_id"].to_list() == [p["person_id"]], d[r]
        assert "typo pass" in (d[r]["reason"] or "") and d[r]["n_candidates"] == 1, d[r]
    assert d["other-region"]["n_candidates"] == 0, d["other-region"]["reason"]


def test_a_birth_date_mask_with_a_typo_is_looked_up_by_name_not_by_region_and_year(roster):
    """A first-14-kept record whose month-day holds a typo: dropping the month-day leaves region
    + year, which a whole cohort shares (no sequence digit kept), so the name must read alike
    too: the person is found, their region's others born that year are not paired."""
    p = roster.row(9, named=True)
    i = p["id_number"]
    rng = random.Random(12)
    cohort = [dict(p, person_id=f"C-{k}", household_id=f"C{k}", name=f"欧阳{GIVEN[k]}",
                   id_number=make_id(rng, i[:6], f"{i[6:10]}{k + 1:02d}{k + 1:02d}")) for k in range(3)]
    ros = pl.concat([roster, pl.DataFrame(cohort, schema=roster.schema)])
    typo = i[:13] + str((int(i[13]) + 1) % 10) + "****"  # the day's last digit
    _, _, d = run(ros, [dict(record_id="t", name=p["name"], id_raw=typo)])
    assert "one-differs [typo pass]" in d["t"]["reason"] and d["t"]["n_candidates"] == 1, d["t"]["reason"]


HOMOPHONE = {"芳": "方", "伟": "玮", "静": "靖", "娜": "那", "丽": "莉", "军": "君", "杰": "洁", "明": "鸣"}


def test_typo_pass_takes_a_known_region_as_mistyped_only_when_the_name_reads_alike(roster):
    """A region code the roster knows may still be another of the county's codes mistyped
    (342201 as 342202): the person whose region is one slip away is found when the record's
    name reads like theirs (here a homophone), not when it shows the surname alone, nor when
    the region is further off (341302). A record whose region nobody has and whose name shows both
    ends (李*静) is found on its birth date with a typo-free name: surname and last character. Two
    adjacent region digits swapped (342210 for 342201, a code the roster also knows) are one slip too.
    A region one slip from the person's that the roster does not know (342211) is dropped as any
    unknown region is, and under a homophone surname (which shares no surname character) is still
    found by the name read alike, whatever other records of the run show."""
    p = next(q for q in roster.iter_rows(named=True) if q["id_number"].startswith("342201") and q["name"][-1] in HOMOPHONE)
    i, name = p["id_number"], p["name"]
    other = dict(p, person_id="X-01", household_id="X", name="欧阳修", id_number=make_id(random.Random(9), "342202"))
    swapped = dict(p, person_id="X-02", household_id="X2", name="欧阳询", id_number=make_id(random.Random(10), "342210"))
    ros = pl.concat([roster, pl.DataFrame([other, swapped], schema=roster.schema)])
    alike = name[:-1] + HOMOPHONE[name[-1]]
    q = next(q for q in roster.iter_rows(named=True) if q["id_number"].startswith("341302") and len(q["name"]) == 3)
    rows = [dict(record_id="alike", name=alike, id_raw="342202" + "*" * 8 + i[14:]),
            dict(record_id="surname", name=name[0] + "**", id_raw="342202" + "*" * 8 + i[14:]),
            dict(record_id="far", name=alike, id_raw="341302" + "*" * 8 + i[14:]),
            dict(record_id="transposed", name=alike, id_raw="342210" + "*" * 8 + i[14:]),
            dict(record_id="unknown", name=SURNAME_HOMOPHONE[name[0]] + name[1:], id_raw="342211" + "*" * 8 + i[14:]),
            dict(record_id="both-ends", name=q["name"][0] + "*" + q["name"][2], id_raw="341312" + q["id_number"][6:14] + "****")]
    _, review, d = run(ros, rows)
    top = {r["record_id"]: r["person_id"] for r in review.filter(pl.col("rank") == 1).iter_rows(named=True)}
    found = lambda rid, pid: (d[rid]["person_id"] or top.get(rid)) == pid  # noqa: E731
    assert found("alike", p["person_id"]) and "typo pass" in d["alike"]["reason"], d["alike"]["reason"]
    assert "homophone" in d["alike"]["reason"], d["alike"]["reason"]
    assert found("transposed", p["person_id"]) and "typo pass" in d["transposed"]["reason"], d["transposed"]["reason"]
    assert d["surname"]["n_candidates"] == 0, d["surname"]["reason"]
    assert d["far"]["n_candidates"] == 0, d["far"]["reason"]
    assert found("both-ends", q["person_id"]) and "typo pass" in d["both-ends"]["reason"], d["both-ends"]["reason"]
    assert found("unknown", p["person_id"]) and "homophone" in d["unknown"]["reason"], d["unknown"]["reason"]
    # alone: no record of its mask pattern has a region the roster knows
    _, review, d = run(ros, [r for r in rows if r["record_id"] == "unknown"])
    top = {r["record_id"]: r["person_id"] for r in review.filter(pl.col("rank") == 1).iter_rows(named=True)}
    assert found("unknown", p["person_id"]) and "homophone" in d["unknown"]["reason"], d["unknown"]["reason"]


@pytest.mark.parametrize("typo", ["one digit", "adjacent swap"])
def test_typo_pass_on_the_last_4_finds_the_person_not_every_namesake(roster, typo):
    """A 6+4 record whose last 4 hold a typo: dropping them would leave the region alone, a
    namesake search over the whole area (in a city, dozens each, growing with its square). All
    but one of them, or all but two adjacent ones, must still agree: the person one digit (or
    one swap) off is found, namesakes sharing only the region are not paired. Beside the region
    alone a name showing both ends (李*静, hundreds share them in a city's area) is not enough: such
    a record one digit off finds no one; one with two digits swapped is joined on every kept
    character, as any name is. A namesake two adjacent digits off that are not a swap (3305 for
    3382) is two slips away: not paired."""
    p = roster.row(13, named=True)
    i = p["id_number"]
    seq = i[14:18]
    wrong = (seq[0] + str((int(seq[1]) + 5) % 10) + seq[2:] if typo == "one digit"
             else seq[1] + seq[0] + seq[2:] if seq[0] != seq[1] else seq[0] + seq[2] + seq[1] + seq[3])
    namesakes = [dict(p, person_id=f"N-{k}", household_id=f"N{k}",
                      id_number=(n17 := i[:14] + "".join(str((int(c) + 1 + k) % 10) for c in i[14:17])) + check_char(n17))
                 for k in range(5)]
    two_off = next(n17 + wrong[3] for a in range(1, 10) for b in range(1, 10)
                   if (n17 := i[:14] + str((int(wrong[0]) + a) % 10) + str((int(wrong[1]) + b) % 10) + wrong[2])
                   and check_char(n17) == wrong[3] and n17[14:16] != wrong[1] + wrong[0])
    namesakes.append(dict(p, person_id="N-two", household_id="N5", id_number=two_off))
    ros = pl.concat([roster, pl.DataFrame(namesakes, schema=roster.schema)])
    assert wrong != seq and not any(q[14:] == wrong and q[:6] == i[:6] for q in ros["id_number"])
    rec = records([dict(record_id="t", name=p["name"], id_raw=mask64(i[:14] + wrong))])
    prepared = _prepare_records(rec, CFG)
    pairs = _block(prepared, _prepare_roster(ros, CFG), _near_ids(prepared), CFG)
    assert ros[pairs["pidx"].to_list()]["person_id"].to_list() == [p["person_id"]]  # none of the namesakes
    assert pairs["pass"].to_list() == ["typo"]
    ends = dict(record_id="ends", name=p["name"][0] + "*" + p["name"][-1], id_raw=mask64(i[:14] + wrong))
    _, _, d = run(ros, [dict(record_id="t", name=p["name"], id_raw=mask64(i[:14] + wrong)), ends])
    assert d["t"]["n_candidates"] == 1 and "one-differs [typo pass]" in d["t"]["reason"]
    assert d["ends"]["n_candidates"] == (0 if typo == "one digit" else 1), d["ends"]["reason"]


@pytest.mark.parametrize("weak", [False, True])
def test_two_swapped_digits_in_the_last_4_are_found_under_a_masked_name(roster, weak):
    """A 6+4 record whose last 4 hold two adjacent digits swapped and whose name shows only the
    surname (no whole name to search the region by): the swap is joined order-free on every
    kept character, so the person is a candidate (one slip: one-differs), not 'no ID-compatible
    roster person'. Where the pattern is weak (a city: many share its kept characters), the swap
    joins with the pattern's name pinyin too, as its ID pass does: a stranger sharing p's kept
    characters under another surname is then not paired."""
    p = roster.row(13, named=True)
    i = p["id_number"]
    j = next(k for k in (14, 15, 16) if i[k] != i[k + 1])
    wrong = i[:j] + i[j + 1] + i[j] + i[j + 2:]
    assert not any(q[14:] == wrong[14:] and q[:6] == i[:6] for q in roster["id_number"])
    other = next(s for s in SURNAMES if s != p["name"][0] and s not in "王黄")  # another surname's pinyin
    stranger = dict(p, person_id="S-1", household_id="S", name=other + p["name"][1:],
                    id_number=_same_kept_id(i, set(roster["id_number"])))
    ros = pl.concat([roster, pl.DataFrame([stranger], schema=roster.schema)])
    # (the pattern's block holds one person per record: weak above 0; a block of exactly
    # `id_block_name_key_above` persons is not weak)
    cfg = dataclasses.replace(CFG, id_block_name_key_above=0.0 if weak else 1.0)
    row = dict(record_id="t", name=p["name"][0] + "*" * (len(p["name"]) - 1), id_raw=mask64(wrong))
    q = roster.row(30, named=True)  # another record of the pattern, so that its block size is measured
    prepared = _prepare_records(records([row, dict(record_id="q", name=q["name"], id_raw=mask64(q["id_number"]))]), cfg)
    pairs = _block(prepared, _prepare_roster(ros, cfg), _near_ids(prepared), cfg).filter(pl.col("rid") == 0)
    assert sorted(ros[pairs["pidx"].to_list()]["person_id"].to_list()) == ([p["person_id"]] if weak else [p["person_id"], "S-1"])
    _, _, d = run(roster, [row])
    assert "one-differs [typo pass]" in d["t"]["reason"] and d["t"]["n_candidates"] == 1, d["t"]


def test_id_levels_count_differing_kept_characters_a_swap_of_two_as_one_slip():
    """The ID level of a pair: a swap of two adjacent different characters (3382 for 3832) is one
    slip (one-differs), as one changed character is; two changed apart are two-differ, also where
    both IDs repeat a digit elsewhere (the 99 of 1990: not a swap); a masked position never
    differs; more is disagree; nothing kept is missing."""
    from matchers.link import _compare_ids

    a = "341302199001011234"
    cases = [(a, a, "kept-agree"), (a[:14] + "2134", a, "one-differs"), (a[:15] + "5" + a[16:], a, "one-differs"),
             (a[:15] + "5" + a[16] + "9", a, "two-differ"), (a[:6] + "*" * 8 + "1239", a, "one-differs"),
             (a[:13] + "999" + a[16:], a, "disagree"), (a[:12] + "9999" + a[16:], a, "disagree"), ("*" * 18, a, "missing")]
    pairs = pl.DataFrame({"pass": "typo", "id_norm": [c[0] for c in cases], "id_number": [c[1] for c in cases],
                          "k": [18 - c[0].count("*") for c in cases]})
    assert _compare_ids(pairs).to_list() == [c[2] for c in cases]
    assert _compare_ids(pairs.with_columns(pl.lit("id").alias("pass")).head(1)).to_list() == ["kept-agree"]


def test_a_record_whose_name_disagrees_is_never_linked_unseen(roster):
    """A record whose masked ID and village agree with roster person p but whose name shows
    another surname: however high its p (here a county whose departments often write another
    name), it waits in review, saying why; with `no_link_name_levels` emptied it would link. A
    record showing p's whole ID is p's, whatever its name reads; one keeping 17 of its characters
    is not."""
    p = roster.row(20, named=True)
    other = next(s for s in SURNAMES if s != p["name"][0])
    row = dict(record_id="t", name=other + "*", id_raw=mask64(p["id_number"]), township=p["township"], village=p["village"])
    cfg = dataclasses.replace(CFG, name_levels={**CFG.name_levels, "disagree": 0.5}, name_m_iterations=0, county_population=3000)
    _, review, d = run(roster, [row], cfg)
    assert d["t"]["decision"] == "review" and d["t"]["score"] >= CFG.match_threshold, d["t"]
    assert d["t"]["reason"].startswith("the name is not the candidate's") and "disagree" in d["t"]["reason"]
    assert review.filter(pl.col("record_id") == "t")["cause"].to_list()[:1] == ["name"]
    # under a threshold its p does not reach, its evidence is short before its name is another's
    _, review, d = run(roster, [row], dataclasses.replace(cfg, match_threshold=0.9999999))
    assert d["t"]["decision"] == "review" and d["t"]["reason"].startswith("ID 10/18 kept (6+4)"), d["t"]["reason"]
    assert review.filter(pl.col("record_id") == "t")["cause"].to_list()[:1] == ["weak"]
    _, _, d = run(roster, [row], dataclasses.replace(cfg, no_link_name_levels=()))
    assert d["t"]["decision"] == "matched" and d["t"]["person_id"] == p["person_id"]
    _, _, d = run(roster, [dict(row, id_raw=p["id_number"])], cfg)
    assert d["t"]["decision"] == "matched" and d["t"]["person_id"] == p["person_id"], d["t"]
    # 17 characters kept (the check character masked) are not the whole ID: the name still rules
    _, _, d = run(roster, [dict(row, id_raw=p["id_number"][:17] + "*")], cfg)
    assert d["t"]["decision"] == "review" and d["t"]["reason"].startswith("the name is not the candidate's"), d["t"]


def _equal_fits(roster, n):
    """A roster of `n` persons 王.. sharing roster person 30's kept 6+4 ID characters, and that ID."""
    i, taken = roster.row(30, named=True)["id_number"], set(roster["id_number"])
    rows = []
    for k in range(n):
        other = _same_kept_id(i, taken)
        taken.add(other)
        rows.append(dict(township="大店镇", village="东王庄村", household_id=f"HM{k}", person_id=f"HM{k}-01",
                         name="王" + GIVEN[k % len(GIVEN)] + GIVEN[(k + 1) % len(GIVEN)], id_number=other))
    return pl.DataFrame(rows), i


def test_the_reason_says_which_id_positions_name_and_place_agreed(roster):
    """A record without a name: its ID's kept positions and level, the name shown as -, beside the
    candidate's, its level, and the place's level: the village agrees when the township does too
    or the record names none (a village of that name in another township disagrees)."""
    q = roster.row(50, named=True)
    row = dict(record_id="nn", name=None, id_raw=mask64(q["id_number"]), township=q["township"], village=q["village"])
    elsewhere = next(t for t in ("大店镇", "时村乡") if t != q["township"])
    _, _, d = run(roster, [row])
    assert d["nn"]["decision"] == "review", d["nn"]  # (a name would have told more)
    assert d["nn"]["reason"].startswith(f"ID 10/18 kept (6+4) kept-agree; name -~{q['name']} missing; place village; "), d["nn"]
    other = next(v for v in VILLAGES if v != q["village"])
    _, _, d = run(roster, [dict(row, record_id="village only", township=None), dict(row, record_id="elsewhere", township=elsewhere),
                           dict(row, record_id="township only", village=None), dict(row, record_id="other village", village=other),
                           dict(row, record_id="no place", township=None, village=None)])
    for r, level in (("village only", "village"), ("elsewhere", "disagree"), ("township only", "township"),
                     ("other village", "township")):
        assert f"; place {level};" in d[r]["reason"], d[r]["reason"]
    # a township alone is what anyone living there shows (their village untold); beside another village, less
    assert d["township only"]["score"] > d["other village"]["score"], (d["township only"], d["other village"])
    # a village alone agrees as often by chance as that village name is found in any township, a
    # township as its share of the roster: evidence both
    assert d["village only"]["score"] > d["no place"]["score"], (d["village only"], d["no place"])
    assert d["township only"]["score"] > d["no place"]["score"], (d["township only"], d["no place"])


def test_a_usable_masked_id_no_one_fits_is_not_looked_up_by_name_alone(roster):
    """The name pass takes records no ID pass found that keep fewer than min_kept_for_id_block
    characters or show a place: a 3+4 record (7 kept) whose kept digits fit no roster person
    and that shows no place finds no one by its name alone."""
    q = roster.row(50, named=True)
    i = q["id_number"]
    bad = i[:3] + "*" * 11 + "".join(str((int(c) + 3) % 10) for c in i[14:17]) + i[17]
    _, _, d = run(roster, [dict(record_id="k7", name=q["name"], id_raw=bad)])
    assert (d["k7"]["decision"], d["k7"]["n_candidates"], d["k7"]["reason"]) == (
        "unmatched", 0, "no ID-compatible roster person"), d["k7"]


def test_a_record_without_an_id_is_looked_up_by_name_within_the_place_it_names(roster):
    """A record with no ID is searched by name within the place it shows: a village alone (no
    township) is searched in every village of that name; a township alone by surname and the
    last character's pinyin (a township holds thousands: surname alone would pair hundreds), or
    by the whole name read alike (皇 for 黄: a homophone surname shares no character); a
    village the roster does not hold is not widened to its township or the county (the place
    shown keeps a name search small)."""
    p = roster.row(70, named=True)
    name, town, village = p["name"], p["township"], p["village"]
    rows = [dict(record_id="village only", name=name, village=village),
            dict(record_id="township only", name=name, township=town),
            dict(record_id="unknown village", name=name, township=town, village="不存在村"),
            dict(record_id="homophone", name={"黄": "皇"}[name[0]] + name[1:], township=town)]
    _, _, d = run(roster, rows)
    assert d["village only"]["person_id"] == p["person_id"] and "name+place pass" in d["village only"]["reason"], d
    alike = roster.filter(pl.col("township") == town, pl.col("name").str.slice(0, 1) == name[0],
                          pl.col("name").str.slice(-1) == name[-1])
    surname = roster.filter(pl.col("township") == town, pl.col("name").str.slice(0, 1) == name[0])
    assert d["township only"]["n_candidates"] == alike.height < surname.height, (d["township only"], alike, surname)
    assert d["unknown village"]["n_candidates"] == 0, d["unknown village"]["reason"]
    assert f"[name+township pass]; name 皇{name[1:]}~{name} homophone" in d["homophone"]["reason"], d["homophone"]["reason"]


def test_a_record_fitting_many_persons_lists_the_best_and_weighs_them_all(roster):
    """Only a record's best candidates are kept once scored, but its p are shares of the
    evidence of all of them: each of 25 equal fits holds under 1/25. Of 8 alike, together likely
    the record's, the review queue shows `review_max_candidates`."""
    ros, i = _equal_fits(roster, 25)
    _, _, d = run(ros, [dict(record_id="w", name="王*", id_raw=mask64(i))])
    assert d["w"]["n_candidates"] == 25 and d["w"]["decision"] != "matched"
    assert d["w"]["score"] * 25 <= 1 + 1e-9, d["w"]["reason"]
    assert "25 candidate(s)" in d["w"]["reason"]
    ros, i = _equal_fits(roster, 8)  # 8 alike (each under candidate_floor of the evidence here): 5 shown
    _, review, d = run(ros, [dict(record_id="w", name="王*", id_raw=mask64(i))], dataclasses.replace(CFG, candidate_floor=0.2))
    assert d["w"]["decision"] == "review" and review.height == CFG.review_max_candidates == 5, (d["w"], review)


def test_a_record_likely_one_of_the_persons_it_would_be_shown_with_is_asked_about(roster):
    """王* fitting 6 persons alike (p 0.13 each): none is likely alone, but the record is more
    likely than not one of the 5 the queue would show (0.67 together): it waits in review, called
    ambiguous, not left unmatched (as it was: only the best two were summed, 0.27). SPEC §1: two or
    more roster persons fitting equally well go to human review."""
    ros, i = _equal_fits(roster, 6)
    _, cands, d = run(ros, [dict(record_id="w", name="王*", id_raw=mask64(i))])
    assert d["w"]["decision"] == "review" and d["w"]["reason"].startswith("ambiguous: "), d["w"]["reason"]
    assert cands["rank"].to_list() == [1, 2, 3, 4, 5] and 0.5 <= cands["score"].sum() < 1


@pytest.mark.parametrize("own_records,decision", [(True, "unmatched"), (False, "review")])
def test_a_list_row_fitting_persons_alike_each_holding_their_own_row_is_none_of_them(roster, own_records, decision):
    """参保名单 (one row per person) holds every roster person under their whole ID, and a 王* row
    fitting 7 of them alike (p 0.17 each): it is none of them (each has their own row), someone off
    the roster, as a row whose best candidate holds review_threshold is when that candidate is
    another row's (`_rival_shares`). It waited in review, the queue asking the analyst to pick
    among persons linked to their own rows, a 是 taking one from it. Without their own rows it
    may well be one of them: asked."""
    hm, i = _equal_fits(roster, 6)
    ros = pl.concat([roster, hm], how="diagonal")
    rows = [dict(record_id=f"r{k}", name=p["name"], id_raw=p["id_number"]) for k, p in enumerate(ros.iter_rows(named=True))
            if own_records or not p["person_id"].startswith("HM")]
    links, cands = link(records(rows + [dict(record_id="w", name="王*", id_raw=mask64(i))]).with_columns(
        kind=pl.lit("med_enrollment")), ros, CFG)
    d = {r["record_id"]: r for r in links.iter_rows(named=True)}
    assert d["w"]["decision"] == decision, d["w"]["reason"]
    assert links.filter(pl.col("record_id") != "w")["decision"].unique().to_list() == ["matched"]
    if own_records:  # (its candidates still listed: none of them is called absent from the list)
        assert cands.filter(pl.col("record_id") == "w")["decision"].unique().to_list() == ["unmatched"]


def test_an_unmatched_record_lists_its_candidates_that_may_be_it_and_is_not_called_ambiguous(roster):
    """王* fitting 10 persons alike (p 0.09 each, the 5 the queue could show under review_threshold
    together) is unmatched, not sent to review: its reason does not say `ambiguous:` (no one is
    asked to choose), but its candidates holding candidate_floor are listed, as many as
    review_max_candidates allows, so that none is called absent from the extract."""
    ros, i = _equal_fits(roster, 10)
    rows = [dict(record_id="w", name="王*", id_raw=mask64(i))]
    _, cands, d = run(ros, rows)
    assert d["w"]["decision"] == "unmatched" and d["w"]["reason"].startswith("ID 10/18 kept (6+4)"), d["w"]["reason"]
    assert cands["rank"].to_list() == [1, 2, 3, 4, 5] and set(cands["decision"]) == {"unmatched"}
    assert (cands["score"] >= CFG.candidate_floor).all()
    # a candidate holding just candidate_floor holds it: listed
    floor = cands["score"][4]
    _, at, _ = run(ros, rows, dataclasses.replace(CFG, candidate_floor=floor))
    assert at["rank"].to_list() == [1, 2, 3, 4, 5] and at["score"][4] == floor
    _, cands, _ = run(ros, rows, dataclasses.replace(CFG, review_max_candidates=2))
    assert cands["rank"].to_list() == [1, 2]


def test_candidates_past_those_the_queue_shows_are_kept_while_they_may_reach_the_floor():
    """Scoring keeps a record's review_max_candidates best (at least 2) and any other whose w is
    candidate_floor of its candidates' Σ w (p can reach the floor: a complete snapshot's claims
    read it); the rest are dropped, their w still in W."""
    pairs = pl.DataFrame({"rid": [0] * 5, "pidx": [1, 2, 3, 4, 5], "w": [10.0, 5.0, 3.0, 1.0, 0.5],
                          "id_level": ["kept-agree"] * 5, "pass": ["id"] * 5}, schema_overrides={"rid": pl.UInt32})
    kept = _keep_top(pairs, dataclasses.replace(CFG, review_max_candidates=1, candidate_floor=0.05))
    assert kept["pidx"].to_list() == [1, 2, 3, 4] and kept["W"].unique().to_list() == [19.5]
    assert kept["n_cand"].unique().to_list() == [5]
    # a candidate holding just candidate_floor of Σ w holds it: kept
    at = _keep_top(pairs.with_columns(w=pl.Series([10.0, 5.0, 3.0, 1.0, 1.0])),
                   dataclasses.replace(CFG, review_max_candidates=1, candidate_floor=0.05))
    assert at["pidx"].to_list() == [1, 2, 3, 4, 5]


def test_whether_the_census_may_vouch_for_a_record_is_read_off_its_best_candidate():
    """`agree` (the census may vouch for the record's kept characters) is its best candidate's:
    a typo-pass candidate outweighing a stranger who agrees on the kept characters leaves the
    record unvouched; a candidate agreeing and outweighing a typo-pass one vouches for it."""
    pairs = pl.DataFrame({"rid": [0, 0, 1, 1], "pidx": [1, 2, 1, 2], "w": [100.0, 0.01, 1.0, 100.0],
                          "id_level": ["one-differs", "kept-agree"] * 2, "pass": ["typo", "id"] * 2},
                         schema_overrides={"rid": pl.UInt32})
    kept = _keep_top(pairs, CFG)
    assert dict(kept.select("rid", "agree").unique().iter_rows()) == {0: False, 1: True}


def test_a_list_record_asked_about_keeps_its_place_in_review_while_its_free_candidates_hold_the_threshold():
    """w (参保名单) waits in review only as one of A, B, C together (0.25 each); B is record b's,
    matched. A and C, free, hold 0.5: just review_threshold, so w is still asked about, not
    called someone else."""
    out = pl.DataFrame({"rid": [0, 1], "decision": ["review", "matched"], "p1": [0.25, 0.999], "asked": [False] * 2,
                        "rival": [False] * 2, "taken": [False] * 2, "person_id": ["A", "B"]},
                       schema_overrides={"rid": pl.UInt32})
    top = pl.DataFrame({"rid": [0, 0, 0, 1], "pidx": [0, 1, 2, 1], "p": [0.25, 0.25, 0.25, 0.999]},
                       schema_overrides={"rid": pl.UInt32, "pidx": pl.UInt32})
    ros = pl.DataFrame({"pidx": [0, 1, 2], "person_id": ["A", "B", "C"]}, schema_overrides={"pidx": pl.UInt32})
    recs = pl.DataFrame({"kind": ["med_enrollment"] * 2})
    assert _held_by_others(out, top, recs, ros, CFG)["decision"].to_list() == ["review", "matched"]
    less = top.with_columns(p=pl.when(pl.col("pidx") == 2).then(0.2).otherwise("p"))
    assert _held_by_others(out, less, recs, ros, CFG)["decision"].to_list() == ["unmatched", "matched"]
    # a record an analyst answered 否 for one candidate is asked about the ones left, whatever they hold
    asked = out.with_columns(asked=pl.Series([True, False]))
    assert _held_by_others(asked, less, recs, ros, CFG)["decision"].to_list() == ["review", "matched"]
    # B matched in another one-record-per-person list is still free in w's
    two = dataclasses.replace(CFG, one_record_per_person_kinds=("med_enrollment", "other_list"))
    apart = pl.DataFrame({"kind": ["med_enrollment", "other_list"]})
    assert _held_by_others(out, less, apart, ros, two)["decision"].to_list() == ["review", "matched"]
    assert _held_by_others(out, less, recs, ros, two)["decision"].to_list() == ["unmatched", "matched"]


def test_list_completeness_measures_the_share_of_insured_off_roster_persons_the_list_holds(roster):
    """Everyone a settlement pays is insured: of the off-roster settlement persons showing a full
    ID, a complete 参保名单 holds all, showing the same full ID for the share of its records that
    show one. Half of them listed (and the list showing full IDs on half its records) measures
    about 0.5, counted up by what chance could leave out (100 found of 200: 0.59); 90% listed is
    within chance of complete; the roster's own persons (on both) are no evidence; too few to
    measure gives None (fewer than `census_completeness_min` expected; exactly that many is
    measured). The list's rows showing no usable ID are not rows hiding a full one, and a roster
    ID written with a lower-case x is the roster person's all the same."""
    from matchers.link import list_completeness

    rng = random.Random(11)
    off = _off_roster_ids(rng, 400, set(roster["id_number"]))
    paid = [dict(record_id=f"JS{j}", name="王*", id_raw=x) for j, x in enumerate(off)]
    on = [dict(record_id=f"JSr{j}", name=q["name"], id_raw=q["id_number"]) for j, q in enumerate(roster.head(100).iter_rows(named=True))]
    listed = off[:200]  # half of the insured off-roster persons: 100 with full IDs, 100 masked
    enrolled = [dict(record_id=f"CB{j}", name="王*", id_raw=x if j % 2 else mask64(x)) for j, x in enumerate(listed)]
    enrolled += [dict(record_id=f"CBr{j}", name=q["name"], id_raw=q["id_number"] if j % 2 else mask64(q["id_number"]))
                 for j, q in enumerate(roster.iter_rows(named=True))]
    recs = pl.concat([records(paid + on), records(enrolled).with_columns(kind=pl.lit("med_enrollment"))])
    got = list_completeness(recs, roster, CFG)
    assert got.probes == 400 and got.found == 100 and got.share_full == pytest.approx(0.5, abs=0.01)
    assert round(got.value, 3) == 0.589  # (100 + z²/2 + z·sqrt(100 + z²/4)) / 200, z = 1.645
    blanks = records([dict(record_id=f"CBn{j}", name="王*", id_raw=None) for j in range(300)])
    assert list_completeness(pl.concat([recs, blanks.with_columns(kind=pl.lit("med_enrollment"))]), roster, CFG) == got
    assert roster.head(100)["id_number"].str.ends_with("X").any()  # (settlements show roster IDs ending in X)
    assert list_completeness(recs, roster.with_columns(pl.col("id_number").str.to_lowercase()), CFG) == got
    most = off[:360]  # 90%: 180 found where a complete list shows 200 is a shortfall chance explains
    near = [dict(record_id=f"CB{j}", name="王*", id_raw=x if j % 2 else mask64(x)) for j, x in enumerate(most)]
    near = pl.concat([records(paid + on), records(near + enrolled[len(listed):]).with_columns(kind=pl.lit("med_enrollment"))])
    assert list_completeness(near, roster, CFG).value == 1.0
    every = pl.concat([recs, records([dict(record_id=f"CBx{j}", name="王*", id_raw=x) for j, x in enumerate(off[200:])])
                       .with_columns(kind=pl.lit("med_enrollment"))])
    assert list_completeness(every, roster, CFG).value == 1.0
    few = recs.filter(~pl.col("record_id").str.starts_with("JS") | pl.col("record_id").is_in([f"JS{j}" for j in range(30)]))
    assert list_completeness(few, roster, CFG).value is None  # 30 probes x 0.5 shown < 20 expected
    forty = recs.filter(~pl.col("record_id").str.starts_with("JS") | pl.col("record_id").is_in([f"JS{j}" for j in range(40)]))
    assert list_completeness(forty, roster, CFG).value == 1.0  # 40 x 0.5 = 20 expected: measured, all found


def test_a_partial_list_weighs_off_roster_people_by_its_measured_completeness(roster):
    """A record no listed off-roster person fits is its candidate's only as far as the list is
    complete: the same record and census give a lower p when the list is measured to hold a
    tenth of the insured than when it is taken as complete."""
    p = roster.row(20, named=True)
    enrolled, strangers = _enrollment_list(roster, random.Random(8))
    target = dict(record_id="t", name=p["name"][0] + "*", id_raw=mask64(p["id_number"]))
    recs = pl.concat([records([target]), records(enrolled + strangers).with_columns(kind=pl.lit("med_enrollment"))])
    score = lambda c: link(recs, roster, dataclasses.replace(CFG, census_completeness=c))[0].filter(  # noqa: E731
        pl.col("record_id") == "t")["score"][0]
    assert score(0.1) < score(1.0)
    assert score("measured") == pytest.approx(score(1.0), rel=1e-12)  # no settlement shows a full ID: taken as complete


def test_a_settlement_is_weighed_against_the_list_of_the_insured(roster):
    """Everyone a settlement pays is insured, so a complete 参保名单 holds whoever is behind a
    settlement, not only `census_coverage` of the residents: the same masked record that no
    listed off-roster person fits is its candidate's more surely as a settlement than as a 人社
    record (whose person may be among the uninsured). A list measured partial lowers both. A list
    taken as complete holds a settlement's person at most `max_snapshot_presence`: the list's
    silence about a look-alike never makes a masked record certain."""
    from matchers.link import census_coverage

    assert census_coverage(CFG, None, insured=True) == census_coverage(CFG, 1.0, insured=True) == CFG.max_snapshot_presence
    assert census_coverage(CFG, 0.5, insured=True) == 0.5 and census_coverage(CFG, 0.5) == 0.5 * CFG.census_coverage
    p = roster.row(20, named=True)
    enrolled, strangers = _enrollment_list(roster, random.Random(8))
    target = dict(record_id="t", name=p["name"][0] + "*", id_raw=mask64(p["id_number"]))
    listed = records(enrolled + strangers).with_columns(kind=pl.lit("med_enrollment"))

    def p_of(kind, **kw):
        recs = pl.concat([records([target]).with_columns(kind=pl.lit(kind)), listed])
        return link(recs, roster, dataclasses.replace(CFG, **kw))[0].filter(pl.col("record_id") == "t")["score"][0]

    paid, hr = p_of("med_settlement"), p_of("hr")
    assert paid > hr
    # other weight: 1 - 0.99 of the insured unlisted vs 1 - 0.95 of the residents (the mass of the
    # few listed strangers sharing kept characters aside): about a fifth of the doubt
    assert (1 - paid) < 0.4 * (1 - hr)
    assert p_of("med_settlement", census_completeness=0.5) < paid
    assert p_of("med_settlement", census_coverage=0.0) == pytest.approx(p_of("hr", census_coverage=0.0), rel=1e-12)
    # a settlement showing the whole ID is weighed against the list too (no listed stranger fits it)
    full = link(pl.concat([records([dict(target, id_raw=p["id_number"])]), listed]), roster, CFG)[0].row(0, named=True)
    assert full["person_id"] == p["person_id"] and "census (参保名单): no insured off-roster person fits" in full["reason"], full


def test_a_list_holding_almost_none_of_the_residents_is_not_weighed(roster):
    """A 参保名单 counted to hold under `census_min_coverage` of the residents (coverage x
    completeness) could barely move a record's odds: the links are those without any list (one at
    exactly the minimum is weighed)."""
    p = roster.row(20, named=True)
    enrolled, strangers = _enrollment_list(roster, random.Random(8))
    target = dict(record_id="t", name=p["name"][0] + "*", id_raw=mask64(p["id_number"]))
    recs = pl.concat([records([target]), records(enrolled + strangers).with_columns(kind=pl.lit("med_enrollment"))])
    score = lambda **kw: link(recs, roster, dataclasses.replace(CFG, **kw))[0].filter(  # noqa: E731
        pl.col("record_id") == "t")["score"][0]
    from matchers.link import census_coverage

    off = score(census_coverage=0.0)
    assert census_coverage(dataclasses.replace(CFG, census_coverage=0.5), 0.1) == 0.05 == CFG.census_min_coverage
    assert score(census_completeness=0.1) != pytest.approx(off, rel=1e-9)  # 0.095 of the residents: weighed
    assert score(census_completeness=0.05) == pytest.approx(off, rel=1e-12)  # 0.0475: not



def test_a_record_naming_the_household_head_prefers_the_roster_head(roster):
    """住建 and 农业农村 send 户主姓名: of two namesakes in one village, the one the roster calls
    户主 is that record's person, and the reason says so. A settlement (anyone in the
    household) stays ambiguous between them, and so does a roster that does not say who heads.
    A blank 与户主关系 does not say either (it is not "not the head"): the one the roster calls 之子
    still weighs less."""
    head, member = roster.row(30, named=True), roster.row(31, named=True)
    two = pl.DataFrame([
        dict(head, person_id="HX-01", household_id="HX", name="欧阳奋发", relation="户主",
             id_number=make_id(random.Random(5), "341302")),
        dict(member, person_id="HY-02", household_id="HY", name="欧阳奋发", village=head["village"],
             township=head["township"], relation="之子", id_number=make_id(random.Random(6), "341302")),
    ])
    ros = pl.concat([roster.with_columns(relation=pl.when(pl.col("person_id").str.ends_with("-01"))
                                         .then(pl.lit("户主")).otherwise(pl.lit("之女"))), two])
    rec = dict(record_id="t", name="欧阳奋发", id_raw="3.41302E+17", township=head["township"], village=head["village"])

    def decide(kind, ros):
        links, review = link(records([rec]).with_columns(kind=pl.lit(kind)), ros, CFG)
        return links.row(0, named=True), {r["person_id"]: r["score"] for r in review.iter_rows(named=True)}

    housing, cands = decide("housing", ros)
    # a third of the roster heads: a head weighs 0.95 / (1/3), one who is not 0.05 / (2/3), ~38 times less
    assert housing["person_id"] == "HX-01" or cands["HX-01"] > 30 * cands.get("HY-02", 0.0), (housing, cands)
    assert "户主 (head) agrees" in housing["reason"] and not housing["reason"].startswith("ambiguous"), housing["reason"]
    settlement, _ = decide("med_settlement", ros)
    assert settlement["decision"] == "review" and settlement["reason"].startswith("ambiguous"), settlement["reason"]
    unknown, _ = decide("housing", ros.drop("relation"))
    assert unknown["decision"] == "review" and unknown["reason"].startswith("ambiguous"), unknown["reason"]
    blank, cands = decide("housing", ros.with_columns(
        relation=pl.when(pl.col("person_id") == "HX-01").then(pl.lit(" ")).otherwise("relation")))
    assert blank["person_id"] == "HX-01" or cands["HX-01"] > 10 * cands.get("HY-02", 0.0), (blank, cands)
    assert not blank["reason"].startswith("ambiguous") and "not the 户主" not in blank["reason"], blank["reason"]


@pytest.mark.parametrize("lookalikes,idless", [(True, False), (False, False), (False, True)])
def test_an_exact_name_outweighs_a_masked_rival_only_while_the_list_shows_no_look_alikes(roster, lookalikes, idless):
    """Two 参保名单 records fit roster person y with the same kept ID characters: one masked (y's
    surname only), one showing y's exact name. If strangers with a roster person's exact name
    and kept ID characters are rare, the exact one is y's. When the list itself shows such
    look-alikes (here 8 pairs of whole names, half of the losing ones exact), the exact name is
    no longer proof: both go to review, and the reason names the rivalry. Records without an ID
    that lose a person to the person's own record while showing the person's name (`idless`:
    namesakes, the name is all they have) are no such look-alikes."""
    ids = set(roster["id_number"])
    xs, y = list(roster.head(8).iter_rows(named=True)), roster.row(40, named=True)
    rows = [dict(record_id=f"CB{q['person_id']}", name=q["name"], id_raw=mask64(q["id_number"]))
            for q in roster.iter_rows(named=True) if q["person_id"] != y["person_id"]]
    for j, x in enumerate(xs):  # a stranger beside x: x's exact name, or x's name with another last character
        name = x["name"] if lookalikes and j % 2 == 0 else x["name"][:-1] + "荣"
        rows.append(dict(record_id=f"CBs{j}", name=name, id_raw=mask64(_same_kept_id(x["id_number"], ids))))
        if idless:
            rows.append(dict(record_id=f"CBn{j}", name=x["name"], id_raw=None))
    z = roster.row(41, named=True)  # listed with her whole ID: no look-alike shares that
    rows = [r for r in rows if r["record_id"] != f"CB{z['person_id']}"]
    rows += [dict(record_id="own", name=y["name"][0] + "*" * (len(y["name"]) - 1), id_raw=mask64(y["id_number"])),
             dict(record_id="look", name=y["name"], id_raw=mask64(_same_kept_id(y["id_number"], ids))),
             dict(record_id="full", name=z["name"], id_raw=z["id_number"]),
             dict(record_id="zlook", name=z["name"][0] + "*" * (len(z["name"]) - 1),
                  id_raw=mask64(_same_kept_id(z["id_number"], ids)))]
    links, cands = link(records(rows).with_columns(kind=pl.lit("med_enrollment")), roster, CFG)
    d = {r["record_id"]: r for r in links.iter_rows(named=True)}
    assert d["full"]["decision"] == "matched" and d["full"]["person_id"] == z["person_id"], d["full"]["reason"]
    if lookalikes:
        assert d["look"]["decision"] == "review" and d["own"]["decision"] == "review", (d["look"], d["own"])
        assert d["look"]["score"] < CFG.match_threshold
        assert d["look"]["reason"].startswith("another record of this snapshot fits the same person"), d["look"]["reason"]
        assert "% of the person among the snapshot's records fitting them" in d["look"]["reason"], d["look"]["reason"]
        # the review queue names each one's rival
        why = {r["record_id"]: (r["cause"], r["rivals"]) for r in cands.filter(pl.col("rank") == 1).iter_rows(named=True)}
        assert why["look"] == ("rival", "own") and why["own"] == ("rival", "look"), why
    else:
        assert d["look"]["decision"] == "matched" and d["look"]["person_id"] == y["person_id"], d["look"]["reason"]
    if idless:  # they lost their person (to x's own record; but a name two roster persons share)
        lost = links.filter(pl.col("record_id").str.starts_with("CBn"))
        assert lost["reason"].str.starts_with("another record").sum() >= 6, lost["reason"].to_list()


def test_a_record_without_a_name_shows_no_whole_name():
    """A record with no name is read as one showing no whole name (`masked`), as 王** is: a
    snapshot claimant without a name that loses its person is no look-alike showing a whole
    name other than the person's (`_rival_shares`' r_x), and no name level is learned from it."""
    rec = _prepare_records(records([dict(record_id="a", name=None, id_raw="341302********1234"),
                                    dict(record_id="b", name="王**", id_raw=None), dict(record_id="c", name="王华明")]), CFG)
    assert rec["masked"].to_list() == [True, True, False]
    assert rec["surname"].to_list() == [None, "王", "王"]


def test_a_student_number_holding_the_id_links_on_it(roster):
    """学籍号 may be G + the student's ID (SPEC §1). A 教育 record whose 证件号码 keeps only the
    birth date and whose name shows only the surname is linked on the 学籍号's ID, and says so;
    one whose 证件号码 has a kept digit mistyped is linked on the 学籍号's valid ID all the same;
    one whose 学籍号 ID disagrees with the kept birth date is linked on its 证件号码 alone, and a
    record of another kind never reads an ID out of its record number. Two kept digits swapped
    (`record_id_slips`: 2) are the 证件号码's slip too; a whole valid 证件号码 is never replaced by
    the 学籍号's (a sibling's, mistyped into it), nor one failing its check but far from it; a
    学籍号 holding an ID failing its check is no ID to link on."""
    p, q = roster.row(50, named=True), roster.row(51, named=True)
    i = p["id_number"]
    birth_only = "*" * 6 + i[6:14] + "*" * 4
    other = i[:6] + "19000101" + i[14:]  # another birth date: the kept characters disagree
    slip = birth_only[:9] + str((int(birth_only[9]) + 1) % 10) + birth_only[10:]  # the year's last digit
    k = next(k for k in range(6, 13) if i[k] != i[k + 1])  # two different kept digits, swapped
    swap = birth_only[:k] + i[k + 1] + i[k] + birth_only[k + 2:]
    failing = i[:17] + next(c for c in "0123456789X" if c != i[17])
    rows = [dict(record_id="G" + i, name=p["name"][0] + "*", id_raw=birth_only),
            dict(record_id="G" + other[:17] + check_char(other[:17]), name=p["name"][0] + "*", id_raw=birth_only),
            dict(record_id="G" + i + " ", name=p["name"][0] + "*", id_raw=slip),
            dict(record_id="G" + i + "  ", name=p["name"][0] + "*", id_raw=swap),
            dict(record_id="G" + q["id_number"], name=p["name"], id_raw=i),
            dict(record_id="G" + q["id_number"] + " ", name=p["name"], id_raw=failing),
            dict(record_id="G" + failing, name=p["name"][0] + "*", id_raw=birth_only)]
    links, _ = link(records(rows).with_columns(kind=pl.lit("education")), roster, CFG)
    hit, odd, typo, swapped, own, own_failing, number_failing = (links.row(n, named=True) for n in range(7))
    for r in (hit, typo, swapped):
        assert r["decision"] == "matched" and r["person_id"] == p["person_id"], r["reason"]
        assert "ID 18/18 kept (18) kept-agree (the ID in the record number)" in r["reason"], r["reason"]
    for r in (odd, number_failing):
        assert "record number" not in r["reason"] and "8/18" in r["reason"], r["reason"]
    for r in (own, own_failing):
        assert r["decision"] == "matched" and r["person_id"] == p["person_id"], r["reason"]
        assert "record number" not in r["reason"], r["reason"]
    settlement, _ = link(records(rows[:1]), roster, CFG)
    assert "record number" not in settlement["reason"][0], settlement["reason"][0]


def test_the_census_counts_a_list_record_showing_the_whole_id_as_its_person_not_a_stranger(roster):
    """参保名单: u's own record shows u's whole ID; a second record with u's kept ID characters
    and a name one character off claims u too and loses them. The first is u's, so it is no
    insured off-roster person fitting u's settlement (region + birth date, u's exact name),
    which is linked (counted as half a stranger, it kept the settlement from u)."""
    rng = random.Random(12)
    ids = set(roster["id_number"])
    u = roster.row(44, named=True)
    enrolled, strangers = _enrollment_list(roster, rng)
    rows = [r for r in enrolled if r["record_id"] != f"CB{u['person_id']}"] + strangers
    rows += [dict(record_id="own", name=u["name"], id_raw=u["id_number"]),
             dict(record_id="other", name=u["name"][:-1] + "荣", id_raw=mask64(_same_kept_id(u["id_number"], ids)))]
    recs = pl.concat([records(rows).with_columns(kind=pl.lit("med_enrollment")),
                      records([dict(record_id="js", name=u["name"], id_raw=u["id_number"][:14] + "****")])])
    links, _ = link(recs, roster, CFG)
    d = {r["record_id"]: r for r in links.iter_rows(named=True)}
    assert d["own"]["decision"] == "matched" and d["other"]["decision"] == "unmatched", (d["own"], d["other"])
    assert "another record" in d["other"]["reason"], d["other"]["reason"]
    assert d["js"]["decision"] == "matched" and d["js"]["person_id"] == u["person_id"], d["js"]["reason"]
    assert "fit too" not in d["js"]["reason"], d["js"]["reason"]


def test_a_departments_age_structure_weighs_its_candidates(roster):
    """人社's records are about working-age people. 孔* with region and last 4 kept fits an adult
    and a child of the roster alike; the run's other 人社 records (full IDs) are all of people
    born in the 1980s, so the adult is the far likelier one, and the reason says why. Without
    the age prior it is a toss-up ("ambiguous"); a record showing the birth decade is weighed as
    before (whoever else fits it was born then too)."""
    rng = random.Random(5)
    adult = make_id(rng, "341302", "19850317")
    child = next(c for d in range(1, 28) if (c := adult[:6] + f"201604{d:02d}" + adult[14:17] + check_char(
        adult[:6] + f"201604{d:02d}" + adult[14:17]))[17] == adult[17])
    extra = pl.DataFrame([dict(township="大店镇", village="东王庄村", household_id=h, person_id=h + "-01", name=n, id_number=i)
                          for h, n, i in (("HA", "孔德明", adult), ("HC", "孔子轩", child))])
    ros = pl.concat([roster, extra])
    workers = [r for r in ros.iter_rows(named=True) if r["id_number"][6:9] == "198"][:40]
    assert len(workers) >= 15
    rows = [dict(record_id="k", name="孔*", id_raw=adult[:3] + "*" * 11 + adult[14:])]
    rows += [dict(record_id=f"w{j}", name=r["name"], id_raw=r["id_number"]) for j, r in enumerate(workers)]
    hr = lambda f: f.with_columns(dept=pl.lit("人社"), kind=pl.lit("hr"))  # noqa: E731

    def decide(cfg, id_raw=None):
        recs = hr(records([dict(rows[0], id_raw=id_raw or rows[0]["id_raw"])] + rows[1:]))
        links, cands = link(recs, ros, cfg)
        p = dict(cands.filter(pl.col("record_id") == "k").select("person_id", "score").iter_rows())
        return links.row(0, named=True), p

    plain, p0 = decide(dataclasses.replace(CFG, age_prior_strength=0.0))
    assert plain["reason"].startswith("ambiguous") and p0["HA-01"] == pytest.approx(p0["HC-01"]), plain["reason"]
    aged, p1 = decide(CFG)
    assert not aged["reason"].startswith("ambiguous") and p1["HA-01"] > 5 * p1["HC-01"], (aged["reason"], p1)
    assert "孔德明" in aged["reason"] and "birth cohort have such records x" in aged["reason"], aged["reason"]
    shown, _ = decide(CFG, id_raw="*" * 6 + adult[6:14] + "*" * 4)  # the birth decade shown: nothing to weigh
    assert "孔德明" in shown["reason"] and "birth cohort" not in shown["reason"], shown["reason"]


def test_a_list_record_spread_over_two_persons_who_have_their_own_counts_off_the_roster():
    """参保名单 record 2 (陈*, 6+4) fits roster persons a and b about equally (p 0.49 / 0.48). a's
    own record shows a's whole ID, so record 2 is not a's; b's own record claims b. Record 2 is
    then b's or no roster person's: about half off the roster (q 0.52), not 0.03, so the census
    counts it among the insured people who could be behind a masked record of another kind."""
    pairs = pl.DataFrame({"rid": [0, 1, 2, 2], "pidx": [0, 1, 0, 1], "p": [0.999, 0.99, 0.49, 0.48],
                          "w": [1e9, 5e3, 60.0, 58.0], "id_level": ["kept-agree"] * 4,
                          "name_level": ["exact", "exact", "masked-agree", "masked-agree"]},
                         schema_overrides={"rid": pl.UInt32, "pidx": pl.UInt32})
    snap_rec = pl.DataFrame({
        "rid": [0, 1, 2], "kind": ["med_enrollment"] * 3, "k": [18, 10, 10], "masked": [False, False, True],
        "id_status": ["full_valid", "masked", "masked"],
        "id_norm": ["34130219660214696X", "341302********696X", "341302********696X"],
        "kept": ["1" * 18, "111111000000001111", "111111000000001111"], "rname": ["陈红花", "陈丽佳", "陈*"],
        "first_py": ["chen"] * 3, "last_py": ["hua", "jia", None], "confirmed": [False] * 3},
        schema_overrides={"rid": pl.UInt32})
    q = dict(_census_members(pairs, snap_rec, CFG).select("rid", "q").iter_rows())
    assert q[2] == pytest.approx(0.52), q
    assert 0 not in q  # a's own record: surely a's


@pytest.mark.parametrize("k", [5, 9, 13, 16])
def test_a_full_id_with_a_swap_across_id_segments_finds_its_person(roster, k):
    """A full ID with two adjacent digits swapped where region, year, month-day and sequence
    meet: the check fails, and the person one slip away is found on the whole ID (no name
    needed to find them) and linked; a stranger's ID with the same slip finds no one."""
    p = next(r for r in roster.iter_rows(named=True) if r["id_number"][k] != r["id_number"][k + 1])
    i = p["id_number"]
    typo = i[:k] + i[k + 1] + i[k] + i[k + 2:]
    assert check_char(typo[:17]) != typo[17]
    _, _, d = run(roster, [dict(record_id="t", name=p["name"][0] + "*", id_raw=typo)])
    assert d["t"]["decision"] == "matched" and d["t"]["person_id"] == p["person_id"], d["t"]["reason"]
    assert "one-differs [typo pass]" in d["t"]["reason"]


def _roster_slip(i: str, slip: str) -> str:
    """i as the roster's typist may have typed it: a sequence digit mistyped, or two adjacent
    sequence digits transposed (the check character then fails)."""
    if slip == "transposed":
        k = next(k for k in (15, 14, 13) if i[k] != i[k + 1])
        out = i[:k] + i[k + 1] + i[k] + i[k + 2:]
    else:
        out = i[:15] + str((int(i[15]) + 3) % 10) + i[16:]
    assert check_char(out[:17]) != out[17]
    return out


def _with_id(roster, person_id: str, id_number: str) -> pl.DataFrame:
    return roster.with_columns(id_number=pl.when(pl.col("person_id") == person_id).then(pl.lit(id_number))
                               .otherwise("id_number"))


@pytest.mark.parametrize("slip", ["transposed", "one digit"])
def test_a_roster_id_failing_its_check_links_the_records_showing_the_right_id(roster, slip):
    """A roster person whose own 身份证号 fails its check (the roster's typist slipped): a record
    showing their right, valid ID is one slip from it, one of the ~19 valid IDs the roster's
    could have been. It is joined to them (roster-slip pass) and linked, the reason naming the
    roster's slip. So is a 6+4 record whose kept last 4 hold the slipped position (it does not
    ID-join the roster's ID either; the typo pass, which takes the slip for the record's, left
    it in review or, under a masked name, found no one). (A 6+4 record showing the surname alone
    waits in review: it is one of the roster ID's ~19 neighbours, each as likely.)"""
    p = roster.row(5, named=True)
    i = p["id_number"]
    ros = _with_id(roster, p["person_id"], _roster_slip(i, slip))
    name = p["name"]
    rows = [dict(record_id="full", name=name, id_raw=i),
            dict(record_id="6+4", name=name, id_raw=mask64(i)),
            dict(record_id="6+4 masked name", name=name[0] + "*" * (len(name) - 2) + name[-1], id_raw=mask64(i))]
    _, _, d = run(ros, rows)
    for r in d.values():
        assert r["decision"] == "matched" and r["person_id"] == p["person_id"], r
        assert "one-differs from the roster's 身份证号, which fails its check character: the roster's slip" in r["reason"]
        assert "[roster-slip pass]" in r["reason"] and r["n_candidates"] == 1, r["reason"]
    # the pair is weighed as one of the roster ID's few valid neighbours: a full ID is as sure as
    # one the typo pass finds on the record's side
    assert d["full"]["score"] > 0.999


@pytest.mark.parametrize("slip", ["transposed", "one digit"])
def test_a_record_showing_the_roster_s_own_failing_id_links_to_that_person(roster, slip):
    """A department whose copy of the ID holds the same slip as the roster's (one source typed
    once): the record's full ID fails its check and equals the roster person's character for
    character. It is that person's, not a guess among the valid IDs one slip from either."""
    p = roster.row(7, named=True)
    wrong = _roster_slip(p["id_number"], slip)
    ros = _with_id(roster, p["person_id"], wrong)
    _, _, d = run(ros, [dict(record_id="same", name=p["name"], id_raw=wrong)])
    r = d["same"]
    assert r["decision"] == "matched" and r["person_id"] == p["person_id"], r
    assert r["reason"].startswith("ID 18/18 kept") and "kept-agree" in r["reason"], r["reason"]


def test_the_census_vouches_for_a_record_whose_kept_digits_fit_a_roster_slip(roster):
    """A 6+4 record under a masked name whose kept last 4 differ from its roster person's ID
    only by the roster's own slip (the roster ID fails its check): its kept characters are
    whole, so an insured off-roster person behind it would show them on 参保名单 too. The
    census counts who fits them, as for a record agreeing on every kept character: none does,
    and the record is the more surely the person's (unlike a record whose kept digits may hold
    its own typo, which the census cannot vouch for)."""
    rng = random.Random(8)
    p = roster.row(20, named=True)
    i = p["id_number"]
    enrolled, strangers = _enrollment_list(roster, rng)  # each person listed under their right ID
    ros = _with_id(roster, p["person_id"], _roster_slip(i, "transposed"))
    target = dict(record_id="t", name=p["name"][0] + "*", id_raw=mask64(i))
    got = []
    for census in ([], enrolled + strangers):
        recs = pl.concat([records([target]), records(census).with_columns(kind=pl.lit("med_enrollment"))])
        links, _ = link(recs, ros, CFG)
        got.append(links.filter(pl.col("record_id") == "t").row(0, named=True))
    alone, counted = got
    assert counted["decision"] == "matched" and counted["person_id"] == p["person_id"], got
    assert "[roster-slip pass]" in counted["reason"] and "[roster-slip pass]" in alone["reason"], got
    assert counted["score"] > alone["score"] and "no insured off-roster person fits" in counted["reason"], got


def test_a_record_one_slip_from_a_roster_id_passing_its_check_is_not_pulled_in(roster):
    """The roster-slip pass starts from roster IDs failing the check only. A valid roster ID has
    no valid ID one slip away (MOD 11-2 catches every changed character and every adjacent swap,
    the check character's too), so a record showing a whole valid ID is never paired with a
    passing roster person as a slip; a 6+4 record whose kept last 4 are one digit off a passing
    roster ID is the typo pass's (the record's slip, at the department's slip rate), not taken
    for the roster's. The failing roster ID's own record in the same run is the pass's."""
    from matchers.ids import one_edit_ids
    assert one_edit_ids(roster["id_number"]).is_empty()
    q, p = roster.row(13, named=True), roster.row(5, named=True)
    j = q["id_number"]
    off = j[:15] + str((int(j[15]) + 5) % 10) + j[16:]
    ros = _with_id(roster, p["person_id"], _roster_slip(p["id_number"], "one digit"))
    rows = [dict(record_id="q", name=q["name"], id_raw=mask64(off)), dict(record_id="p", name=p["name"], id_raw=p["id_number"])]
    prepared = _prepare_records(records(rows), CFG)
    pairs = _block(prepared, _prepare_roster(ros, CFG), _near_ids(prepared), CFG)
    who = pairs.with_columns(person_id=ros["person_id"].gather(pairs["pidx"]))
    assert who.filter(pl.col("rid") == 0).select("person_id", "pass").rows() == [(q["person_id"], "typo")], who
    assert who.filter(pl.col("rid") == 1).select("person_id", "pass").rows() == [(p["person_id"], "roster-slip")], who
    _, _, d = run(ros, rows)
    assert "roster" not in (d["q"]["reason"] or "") and d["q"]["decision"] != "matched", d["q"]
    assert d["p"]["decision"] == "matched" and d["p"]["person_id"] == p["person_id"], d["p"]


def test_an_off_roster_record_one_slip_from_a_failing_roster_id_under_another_name_is_not_linked(roster):
    """Another valid ID one slip from a failing roster ID is someone else's as likely as the
    person's (the roster's ID could have been any of ~19): a record showing it under another name
    is paired with the roster person (roster-slip pass) and weighed, but not linked (a name that
    disagrees never is); one under the person's surname with another given name is not linked
    either (it may wait in review: the ID says much). The person's own record in the same run is.
    A whole valid ID that is none of those, under the person's name and village (found by name and
    place), disagrees with an ID the roster is known to have mistyped: weighed at the roster-slip
    levels, and the reason says whose ID failed."""
    p = roster.row(5, named=True)
    bad = _roster_slip(p["id_number"], "one digit")
    ros = _with_id(roster, p["person_id"], bad)
    from matchers.ids import one_edit_ids
    near = [x for x in one_edit_ids(pl.Series([bad]))["id_number"].to_list() if x != p["id_number"]]
    assert len(near) >= 2 and not set(near) & set(ros["id_number"])
    given = next(g for g in GIVEN if g not in p["name"])
    rows = [dict(record_id="other", name="司马懿", id_raw=near[0]),
            dict(record_id="same surname", name=p["name"][0] + given, id_raw=near[1]),
            dict(record_id="own", name=p["name"], id_raw=p["id_number"])]
    prepared = _prepare_records(records(rows), CFG)
    pairs = _block(prepared, _prepare_roster(ros, CFG), _near_ids(prepared), CFG)
    assert pairs.filter(pl.col("pass") == "roster-slip")["rid"].sort().to_list() == [0, 1, 2], pairs
    elsewhere = _off_roster_ids(random.Random(4), 1, set(ros["id_number"]) | set(near) | {p["id_number"]})[0]
    rows.append(dict(record_id="elsewhere", name=p["name"], id_raw=elsewhere, township=p["township"], village=p["village"]))
    _, review, d = run(ros, rows)
    assert d["own"]["decision"] == "matched" and d["own"]["person_id"] == p["person_id"], d["own"]
    for r in ("other", "same surname"):
        assert d[r]["decision"] != "matched" and d[r]["person_id"] is None, d[r]
    # weighed as the roster-side slip it might be (review at most: an analyst may look), never linked
    assert "[roster-slip pass]" in d["other"]["reason"] and "disagree" in d["other"]["reason"], d["other"]
    assert d["elsewhere"]["decision"] != "matched", d["elsewhere"]
    assert ("disagree from the roster's 身份证号, which fails its check character [name+place pass]"
            in d["elsewhere"]["reason"]), d["elsewhere"]["reason"]


def test_a_records_roster_share_is_its_kinds_others_share():
    """π, the chance that a record of a dept/kind is about a roster person, is re-estimated from
    the kind's records, each leaving itself out: of two records that surely fit someone, each is
    weighed at π = (1 + 10·π0) / (1 + 10), the other's evidence shrunk towards the roster's
    population share π0 = 300/20,000 by `prior_strength` 10; a lone record keeps π0."""
    import numpy as np

    from matchers.link import _other_weight, _Run

    run = _Run.of(pl.DataFrame({"dept": ["甲", "甲", "乙"], "kind": ["k", "k", "k"]}), 300, 20000.0)
    other = _other_weight(np.arange(3), np.array([1e12, 1e12, 1e12]), run, CFG)
    pi0, pi = 300 / 20000, (1 + 10 * 300 / 20000) / 11
    assert other == pytest.approx([300 * (1 - pi) / pi] * 2 + [300 * (1 - pi0) / pi0], rel=1e-6)


def test_a_person_two_list_records_fit_counts_once_in_how_much_of_the_roster_the_list_holds():
    """`present` is Σ best p per roster person: a list whose 600 records each fit one of 300
    persons (p 0.6, two records each) is seen to hold 18% of a 1,000-person roster, not 36% as
    one whose 600 records each fit their own person is, so a record fitting person 0 alone is
    less surely theirs beside it (their record is the likelier missing)."""
    def sole_fit(per_person):
        n = 600
        pairs = pl.DataFrame({"rid": range(n + 1), "pidx": [0] + [1 + k // per_person for k in range(n)],
                              "p": [0.5] + [0.6] * n, "w": [2e4] + [1e9] * n, "pass": "id"},
                             schema={"rid": pl.UInt32, "pidx": pl.UInt32, "p": pl.Float64, "w": pl.Float64,
                                     "pass": pl.Utf8})
        recs = pl.DataFrame({"kind": ["med_enrollment"] * (n + 1 + 2000)})
        return _complete_snapshots(pairs, recs, 1000, CFG).filter(pl.col("rid") == 0)["p"].item()
    twice, once = sole_fit(2), sole_fit(1)
    assert 0.5 < twice < once, (twice, once)


@pytest.mark.parametrize("strangers", [0, 9000])
def test_a_sole_fit_is_weighed_against_the_snapshots_strangers_not_all_its_records(strangers):
    """Record 0 is the only 参保名单 record fitting roster person 0 (w 2000). Either it is theirs,
    or their record is missing and a stranger fits them by chance: the strangers are the list's
    records about no roster person. Beside 900 records each surely their own person's, it is
    person 0's (p >= 0.99); among 9,000 more records no roster person fits, it may be a stranger."""
    n_roster, own = 1000, 900
    pairs = pl.DataFrame({"rid": range(own + 1), "pidx": range(own + 1), "p": [0.5] + [1.0] * own,
                          "w": [2000.0] + [1e9] * own, "pass": "id"},
                         schema={"rid": pl.UInt32, "pidx": pl.UInt32, "p": pl.Float64, "w": pl.Float64, "pass": pl.Utf8})
    recs = pl.DataFrame({"kind": ["med_enrollment"] * (own + 1 + strangers)})
    p = _complete_snapshots(pairs, recs, n_roster, CFG).filter(pl.col("rid") == 0)["p"].item()
    assert (p >= CFG.match_threshold) if not strangers else (p < 0.9), p


def test_a_list_record_alone_on_its_candidate_has_no_rival():
    """In a one-record-per-person list, a record in review that no other record claims keeps its
    own cause: it is not told 'another record of this snapshot fits the same person'. Of two
    claiming B, the one outweighed 10,000 to 1 loses B, and the other keeps B (its p scaled by its
    share still reaches the threshold)."""
    from matchers.link import _one_record_per_person

    out = pl.DataFrame({"rid": [0, 1, 2], "person_id": ["A", "B", "B"], "p1": [0.8, 0.995, 0.6], "w1": [1e3, 1e6, 1e2],
                        "k": [10] * 3, "id1": ["kept-agree"] * 3, "name1": ["masked-agree", "exact", "one-char"],
                        "masked": [True, False, False], "confirmed": [False] * 3, "decision": ["review", "matched", "review"],
                        "thr": [0.99] * 3}, schema_overrides={"rid": pl.UInt32})
    recs = pl.DataFrame({"kind": ["med_enrollment"] * 3, "record_id": ["a", "b", "c"]})
    got = _one_record_per_person(out, recs, CFG)
    assert got.select("decision", "rival").rows() == [("review", False), ("matched", False), ("unmatched", True)], got
    # a threshold its scaled p is to the bit reaches it: still kept
    at = _one_record_per_person(out.with_columns(thr=pl.lit(got["p1"][1])), recs, CFG)
    assert at["decision"][1] == "matched" and at["p1"][1] == got["p1"][1] < 0.995, at


def test_a_masked_claimant_beside_an_exact_name_holds_the_share_look_alikes_are_seen_to_hold():
    """Of the list's claimants showing a whole name and their person's kept ID characters that
    lose the person (here two, under other names: no exact look-alike seen), with 10
    pseudo-records at `lookalike_prior` 1%: r_x = 0.1 / 12. A masked claimant beside a lead
    showing the exact name holds at least r_x (x: share r_x / (1 + r_x)); claimants showing no
    whole name are not counted among those look-alikes (z). Beside a lead whose name is not exact
    (w) the masked one holds only its own evidence (w_c / w_lead = 1e-6). A claimant showing the
    person's whole ID keeps them alone, however close the other's evidence (f)."""
    from matchers.link import _rival_shares

    def claim(rid, person, w1, name1, masked, k=10):
        return dict(rid=rid, kind="med_enrollment", record_id=str(rid), person_id=person, p1=0.9, w1=w1, k=k,
                    id1="kept-agree", name1=name1, masked=masked, confirmed=False)
    cl = pl.DataFrame([claim(0, "x", 1e6, "exact", False), claim(1, "x", 1e3, "masked-agree", True),
                       claim(2, "y", 1e6, "exact", False), claim(3, "y", 10.0, "one-char", False),
                       claim(4, "z", 1e6, "exact", False), claim(5, "z", 1.0, "masked-agree", True),
                       claim(6, "w", 1e6, "one-char", False), claim(7, "w", 1.0, "masked-agree", True),
                       claim(8, "f", 1e6, "one-char", False, k=18), claim(9, "f", 1e6, "one-char", False)])
    got = _rival_shares(cl, CFG)
    share = dict(got.select("rid", "share").iter_rows())
    r_x = 0.1 / 12
    assert share[1] == pytest.approx(r_x / (1 + r_x), rel=1e-9) == share[5], share
    assert share[7] == pytest.approx(1e-6 / (1 + 1e-6), rel=1e-9), share
    assert got.filter(pl.col("rid") >= 8).select("share", "alone", "lost").rows() == [(1.0, True, False), (0.0, False, True)]


def test_a_list_record_with_a_close_rival_is_not_linked_however_low_its_threshold():
    """Two list records claim B, the weaker with a quarter of the stronger's evidence (close:
    ambiguity_ratio 0.2). The stronger's share (0.8) reaches a department's 0.75 threshold, yet
    neither is linked: a close rival is ambiguity, asked about, never a guess."""
    from matchers.link import _one_record_per_person

    out = pl.DataFrame({"rid": [0, 1], "person_id": ["B", "B"], "p1": [0.999, 0.999], "w1": [4e6, 1e6], "k": [10] * 2,
                        "id1": ["kept-agree"] * 2, "name1": ["exact", "one-char"], "masked": [False] * 2,
                        "confirmed": [False] * 2, "decision": ["matched", "matched"], "thr": [0.75] * 2},
                       schema_overrides={"rid": pl.UInt32})
    recs = pl.DataFrame({"kind": ["med_enrollment"] * 2, "record_id": ["a", "b"]})
    got = _one_record_per_person(out, recs, CFG)
    assert got["p1"].to_list() == pytest.approx([0.999 * 0.8, 0.999 * 0.2])
    assert got.select("decision", "rival").rows() == [("review", True), ("review", True)], got


def test_a_claimant_an_analyst_confirmed_keeps_its_person_however_weak_its_evidence():
    """Of two list records claiming x, an analyst answered 是 for the one with the weaker
    evidence: it keeps x alone (share 1), and the other, stronger, is taken from them. Records
    whose best candidate holds just review_threshold claim them as those above it do."""
    from matchers.link import _rival_shares

    def claim(rid, w1, confirmed, p1=0.9):
        return dict(rid=rid, kind="med_enrollment", record_id=str(rid), person_id="x", p1=p1, w1=w1, k=10,
                    id1="kept-agree", name1="one-char", masked=False, confirmed=confirmed)
    got = _rival_shares(pl.DataFrame([claim(0, 10.0, True), claim(1, 1e6, False)]), CFG).sort("rid")
    assert got.select("share", "sure", "lost", "alone", "taken").rows() == [(1.0, True, False, True, False),
                                                                            (0.0, True, True, False, True)], got
    at = [claim(0, 1e6, False, CFG.review_threshold), claim(1, 1e3, False, CFG.review_threshold)]
    assert _rival_shares(pl.DataFrame(at), CFG)["n"].to_list() == [2, 2]


@pytest.mark.parametrize("p0, pass_", [(0.5, "id"), (CFG.candidate_floor, "id"), (0.01, "absentee"), (0.01, "id")])
def test_a_sole_fit_is_a_stranger_only_if_the_persons_own_record_is_missing_or_unrecognisable(p0, pass_):
    """The person's own 参保名单 record fits them unless its ID or name disagrees outright: a
    mistyped kept digit still pairs it with them (typo pass). So beside a list holding 99% of
    the roster, a record fitting person 0 alone at w 8,000 (a one-digit slip under the exact
    name weighs about that) is theirs, against the list's 3,000 strangers (p 0.9914). A pair
    under `candidate_floor` is no claim on its person (a stranger fitting them by chance), unless
    the absentee pass found it looking for that person (`_absentees`); one holding just the floor is."""
    n_roster, own = 1000, 999
    pairs = pl.DataFrame({"rid": range(own + 1), "pidx": range(own + 1), "p": [p0] + [0.995] * own,
                          "w": [8000.0] + [1e9] * own, "pass": [pass_] + ["id"] * own},
                         schema={"rid": pl.UInt32, "pidx": pl.UInt32, "p": pl.Float64, "w": pl.Float64, "pass": pl.Utf8})
    recs = pl.DataFrame({"kind": ["med_enrollment"] * (own + 1 + 3000)})
    out = _complete_snapshots(pairs, recs, n_roster, CFG)
    p = out.filter(pl.col("rid") == 0)["p"].item()
    if p0 < CFG.candidate_floor and pass_ != "absentee":
        assert p == p0 and out["snapshot"].to_list() == [False] * (own + 1)
        return
    # present: 0.99 at most (`max_snapshot_presence`); the own record fits unless its ID (0.3%) or
    # name (1%) disagrees: odds = 8000·0.99 / ((1 - 0.99·0.997·0.99)·3005.5)
    assert p == pytest.approx(0.99141, abs=1e-4), p
    # only the raised p is the snapshot's doing: the persons' own records (0.995 already) say nothing of it
    assert out["snapshot"].to_list() == [True] + [False] * own


def test_a_list_record_showing_the_whole_id_keeps_its_person_whatever_its_name(roster):
    """Two 参保名单 records fit roster person u: one shows u's whole ID under a name that lost a
    character (u's record), one shows u's exact name under a 6+4 ID a stranger shares (a look-
    alike). The exact name weighs more, but no look-alike shares a whole ID: the first is u's,
    and the look-alike loses u."""
    ids = set(roster["id_number"])
    u = roster.row(42, named=True)
    rows = [dict(record_id=f"CB{q['person_id']}", name=q["name"], id_raw=mask64(q["id_number"]))
            for q in roster.iter_rows(named=True) if q["person_id"] != u["person_id"]]
    rows += [dict(record_id="own", name=u["name"][0] + u["name"][2], id_raw=u["id_number"]),
             dict(record_id="look", name=u["name"], id_raw=mask64(_same_kept_id(u["id_number"], ids)))]
    links, _ = link(records(rows).with_columns(kind=pl.lit("med_enrollment")), roster, CFG)
    d = {r["record_id"]: r for r in links.iter_rows(named=True)}
    assert d["own"]["decision"] == "matched" and d["own"]["person_id"] == u["person_id"], d["own"]["reason"]
    assert d["look"]["decision"] == "unmatched", d["look"]["reason"]


def test_a_place_hint_names_the_longest_roster_township_it_holds():
    """就诊机构 大店北镇卫生院 is in 大店北, not 大店 (whose stem it also holds); a hint copied with
    compatibility characters (⼤, the Kangxi radical, for 大) names its township all the same; the
    first hint field given (就诊机构 before 学校名称) is read; one naming no roster township names none."""
    from matchers.link import _hint_towns

    ros = _prepare_roster(pl.DataFrame({
        "person_id": ["a", "b", "c"], "household_id": ["h", "h", "h"], "id_number": ["1", "2", "3"],
        "name": ["王伟", "李强", "张敏"], "township": ["大店镇", "大店北镇", "时村乡"], "village": ["东村", "西村", "南村"]}), CFG)
    recs = pl.DataFrame({"facility": ["大店北镇卫生院", "⼤店镇卫生院", None, "大店镇卫生院", "埇桥区人民医院"],
                         "school": [None, None, "时村乡中学", "时村乡中学", None]})
    assert _hint_towns(recs, ros, CFG).to_list() == ["大店北", "大店", "时村", "大店", None]


@pytest.mark.parametrize("informative", [True, False, 0.6])
def test_a_facility_naming_a_township_counts_as_far_as_the_run_shows_it_does(roster, informative):
    """Settlements whose 就诊机构 is the patient's township 卫生院 (a real county's 普通门诊)
    teach the run that the hint tells where a person lives: a record fitting two namesakes born
    the same day in different townships then leans to the one whose township it names. Where
    facilities are chosen regardless of home, the run learns nothing and the two stay tied. Where
    6 in 10 are the home township's, it leans a little, and each candidate's reason says by how much."""
    rng = random.Random(11)
    towns = sorted(set(roster["township"]))
    x = dict(roster.row(0, named=True), person_id="HX-01", household_id="HX", name="欧晓明", township=towns[0],
             id_number=make_id(rng, "341302", "19800303"))
    y = dict(x, person_id="HY-01", household_id="HY", name="欧晓亮", township=towns[1],
             id_number=make_id(rng, "341302", "19800303"))
    ros = pl.concat([roster, pl.DataFrame([x, y], schema=roster.schema)])
    rows, clinics = [], []
    for k, p in enumerate(roster.iter_rows(named=True)):
        rows.append(dict(record_id=f"s{k}", name=p["name"], id_raw=p["id_number"]))
        if informative is False:
            town = rng.choice(towns)
        elif informative is True or k % 10 < 10 * informative:
            town = p["township"]
        else:  # the other township
            town = next(t for t in towns if t != p["township"])
        clinics.append(f"{town}卫生院")
    rows.append(dict(record_id="t", name="欧*", id_raw="******19800303****"))
    clinics.append(f"{x['township']}卫生院")
    recs = records(rows).with_columns(facility=pl.Series(clinics))
    _, cands = link(recs, ros, CFG)
    p = {r["person_id"]: r for r in cands.filter(pl.col("record_id") == "t").iter_rows(named=True)}
    if informative is True:
        assert p["HX-01"]["score"] > 3 * p["HY-01"]["score"], p
        assert "就诊机构/学校 names their township" in p["HX-01"]["reason"], p["HX-01"]["reason"]
    elif informative:
        assert p["HY-01"]["score"] < p["HX-01"]["score"] < 1.5 * p["HY-01"]["score"], p
        assert "; 就诊机构/学校 names their township (x1.1);" in p["HX-01"]["reason"], p["HX-01"]["reason"]
        assert "; 就诊机构/学校 names another township (x0.92);" in p["HY-01"]["reason"], p["HY-01"]["reason"]
    else:
        assert p["HX-01"]["score"] == pytest.approx(p["HY-01"]["score"], rel=1e-9), p
        assert "就诊机构" not in p["HX-01"]["reason"]


@pytest.mark.parametrize("informative", [True, False])
def test_a_settlement_medical_assistance_paid_for_is_weighed_with_its_own_roster_share(roster, informative):
    """Settlements are counted apart by prior_group (医疗救助 paid): where assistance goes to
    roster persons, a weak record with assistance is more surely its roster candidate than the
    same record without; where it goes to anyone, the two weigh the same."""
    rng = random.Random(4)
    ids = set(roster["id_number"])
    rows, groups = [], []
    for k, p in enumerate(roster.head(120).iter_rows(named=True)):
        rows.append(dict(record_id=f"r{k}", name=p["name"], id_raw=p["id_number"]))
        groups.append("医疗救助" if informative or k % 2 else None)
    for k in range(120):
        i = next(i for i in iter(lambda: make_id(rng), None) if i not in ids)
        rows.append(dict(record_id=f"s{k}", name=rng.choice(SURNAMES) + rng.choice(GIVEN), id_raw=i))
        groups.append(None if informative or k % 2 else "医疗救助")
    x = roster.row(200, named=True)
    weak = x["id_number"][:3] + "*" * 11 + x["id_number"][14:]
    rows += [dict(record_id=t, name=x["name"][0] + "*", id_raw=weak) for t in ("with", "without")]
    groups += ["医疗救助", None]
    links, _ = link(records(rows).with_columns(prior_group=pl.Series(groups, dtype=pl.Utf8)), roster, CFG)
    p = {r["record_id"]: r["score"] for r in links.filter(pl.col("record_id").is_in(["with", "without"])).iter_rows(named=True)}
    odds = {k: v / (1 - v) for k, v in p.items()}
    if informative:
        assert odds["with"] > 5 * odds["without"], p
    else:
        assert odds["with"] == pytest.approx(odds["without"], rel=0.3), p


def _answers(rows):
    """ReviewDecision rows: (record_id, person answered 是 or None, persons answered 否)."""
    return pl.DataFrame([dict(record_dept="医保", record_id=r, person_id=yes, excluded=no, file="复核/q.csv", line=n + 2,
                              period="2026-10") for n, (r, yes, no) in enumerate(rows)],
                        schema={"record_dept": pl.Utf8, "record_id": pl.Utf8, "person_id": pl.Utf8,
                                "excluded": pl.List(pl.Utf8), "file": pl.Utf8, "line": pl.Int64, "period": pl.Utf8})


def test_an_answer_is_weighed_before_anything_is_decided(roster):
    """Twins a masked record fits equally wait in review; 否 for one leaves the other as the only
    fit, linked on the record's own evidence (never the ruled-out one, not even as a candidate);
    是 for one links that one."""
    rows = [dict(record_id="t", name="欧晓*", id_raw="******19900101****")]
    links, review = link(records(rows), roster, CFG)
    assert links["decision"].to_list() == ["review"] and set(review["person_id"]) == {"HT-01", "HT-02"}
    links, review = link(records(rows), roster, CFG, _answers([("t", None, ["HT-01"])]))
    assert links.select("decision", "person_id").rows() == [("matched", "HT-02")] and review.is_empty()
    assert links["score"].item() >= CFG.match_threshold
    links, review = link(records(rows), roster, CFG, _answers([("t", "HT-01", [])]))
    assert links.select("decision", "person_id").rows() == [("matched", "HT-01")] and 1 >= links["score"].item() > 0.999999
    # an answer about another record, or another department's record of the same number, changes nothing
    other = link(records(rows), roster, CFG, _answers([("u", None, ["HT-01"])]))[0]
    assert other["decision"].to_list() == ["review"]
    elsewhere = _answers([("t", None, ["HT-01"])]).with_columns(record_dept=pl.lit("民政"))
    assert link(records(rows), roster, CFG, elsewhere)[0]["decision"].to_list() == ["review"]


def test_a_list_record_answered_yes_sends_the_lists_record_claiming_that_person_back_to_review(roster):
    """A 参保名单 record the matcher links on its own (y: whole name, 6+4) and a weaker one (x)
    fitting the same person: x answered 是 is that person's, and y, which no longer may be, is
    not silently unlinked: it waits in review with them as its candidate, naming x and the
    answer (the 是 may be the mistake), and the queue lists it so. So for rivals alike, and
    for an x blocking did not pair with the person (the answer does). In a kind where one
    person has many records (settlements), the other record keeps them."""
    from matchers.review import review_queue

    p = roster.row(9, named=True)
    i = p["id_number"]
    y = dict(record_id="y", name=p["name"], id_raw=mask64(i))
    for x in (dict(record_id="x", name=p["name"][0] + "**", id_raw=mask64(i)), {**y, "record_id": "x"},
              dict(record_id="x", name=p["name"][0] + "*" + p["name"][2], id_raw="*" * 14 + i[14:])):
        recs = records([y, x]).with_columns(kind=pl.lit("med_enrollment"))
        before = {r["record_id"]: r["decision"] for r in link(recs, roster, CFG)[0].iter_rows(named=True)}
        assert before["y"] in ("matched", "review") and before["x"] != "matched", (x, before)
        links, review = link(recs, roster, CFG, _answers([("x", p["person_id"], [])]))
        d = {r["record_id"]: r for r in links.iter_rows(named=True)}
        assert (d["x"]["decision"], d["x"]["person_id"]) == ("matched", p["person_id"]), x
        assert (d["y"]["decision"], d["y"]["person_id"]) == ("review", None), x
        assert "confirmed by a review answer as that of record x（复核/q.csv 第 2 行，2026-10 收到）" in d["y"]["reason"]
        assert review.select("record_id", "rank", "person_id", "cause").rows() == [("y", 1, p["person_id"], "taken")], x
        # y's link shows the score its queue row shows (its own evidence), not the 0 of a share the answer took
        assert d["y"]["score"] == review["score"].item() >= CFG.review_threshold, (d["y"], review["score"])
        assert "holds" not in d["y"]["reason"], x
        queue = review_queue(review, recs, roster.with_columns(group=pl.lit(None, pl.Utf8)), CFG.match_threshold,
                             linked=links.filter(pl.col("decision") == "matched"))
        # the link, the candidate and the queue show one probability, cut to 4 places
        assert d["y"]["reason"].endswith(f"p={queue['概率'].item()}"), (d["y"]["reason"], queue["概率"].item())
        assert review["reason"].item().endswith(f"p={queue['概率'].item()}"), review["reason"].item()
    assert queue.select("记录编号", "人编号").rows() == [("y", p["person_id"])]
    assert queue["复核原因"].item().startswith(
        "复核结论已确认候选人1是同一名单中记录 x（复核/q.csv 第 2 行，2026-10 收到）的本人（一人只应有一条）"), queue["复核原因"].item()
    assert "已自动关联" not in queue["复核原因"].item()  # (x is named once, as the answer's)
    # in a kind where one person has many records (settlements), the other record keeps them
    links, _ = link(records([y, {**y, "record_id": "x"}]), roster, CFG, _answers([("x", p["person_id"], [])]))
    assert links.select("decision", "person_id").rows() == [("matched", p["person_id"])] * 2


def test_a_record_answered_no_for_one_candidate_still_asks_about_the_others(roster):
    """A record waiting between twins, each too weak alone (a county of millions could hold
    another 欧 born that day): after 否 for one, the other holds less than the review threshold,
    yet the record stays in the queue with it (an analyst is on it), not silently unmatched; an
    answer ruling out everyone it fits says so instead of "no ID-compatible roster person"."""
    cfg = dataclasses.replace(CFG, county_population=6e6)
    rows = [dict(record_id="t", name="欧**", id_raw="******19900101****")]
    links, review = link(records(rows), roster, cfg)
    assert links["decision"].to_list() == ["review"] and review.height == 2 and links["score"].item() < cfg.review_threshold
    links, review = link(records(rows), roster, cfg, _answers([("t", None, ["HT-01"])]))
    assert links["decision"].to_list() == ["review"] and review["person_id"].to_list() == ["HT-02"]
    assert cfg.candidate_floor <= links["score"].item() < cfg.review_threshold
    links, review = link(records(rows), roster, cfg, _answers([("t", None, ["HT-01", "HT-02"])]))
    assert links.select("decision", "reason").rows() == [("unmatched", "no candidate left by the review answers")]


def test_a_shown_probability_is_cut_never_rounded_up(roster):
    """The p in a link's and a candidate's reason is the score cut to 4 places, as the review
    queue's 概率: 0.99996 shows as 0.9999, not 1.0, and a record waiting under a 0.99 threshold
    never shows p=0.99."""
    rows = []
    for k, p in enumerate(roster.head(60).iter_rows(named=True)):
        i, n = p["id_number"], p["name"]
        rows += [dict(record_id=f"a{k}", name=n[0] + "*" * (len(n) - 1), id_raw=i[:3] + "*" * 11 + i[14:]),
                 dict(record_id=f"b{k}", name=n, id_raw=mask64(i)),
                 dict(record_id=f"c{k}", name=n[0] + "*" + n[-1], id_raw="*" * 6 + i[6:14] + "****")]
    links, review = link(records(rows), roster, CFG)
    shown = pl.concat([links.filter(pl.col("score").is_not_null()).select("decision", "score", "reason"),
                       review.select("decision", "score", "reason")])
    p = shown.with_columns(p=pl.col("reason").str.extract(r"; p=([0-9.e-]+)$").cast(pl.Float64))
    assert p["p"].null_count() == 0, p.filter(pl.col("p").is_null())
    assert p.filter((pl.col("p") > pl.col("score")) | (pl.col("p") <= pl.col("score") - 1e-4)).is_empty(), \
        p.filter(pl.col("p") > pl.col("score"))
    assert p.filter(pl.col("decision") != "matched", pl.col("p") >= CFG.match_threshold).is_empty()
    assert p.filter(pl.col("p") != pl.col("p").round(4)).is_empty()


def test_a_name_without_its_middle_dot_finds_its_person_when_nothing_else_can(roster):
    """A record with no ID and no place is looked for by its whole name alone: 阿依古丽买买提
    (the dot left out, or a space that the spaces went with) found no 阿依古丽·买买提."""
    rng = random.Random(11)
    ros = pl.concat([roster, pl.DataFrame([dict(township="大店镇", village="东庄村", household_id="HU", person_id="HU-01",
                                                name="阿依古丽·买买提", id_number=make_id(rng))])])
    _, _, by = run(ros, [dict(record_id=r, name=n) for r, n in
                              (("r1", "阿依古丽买买提"), ("r2", "阿依古丽 买买提"), ("dotted", "阿依古丽·买买提"))])
    for r in ("r1", "r2"):
        assert "[name pass]" in by[r]["reason"] and "name 阿依古丽买买提~阿依古丽·买买提 exact" in by[r]["reason"]
        assert (by[r]["decision"], by[r]["score"]) == (by["dotted"]["decision"], by["dotted"]["score"])
    assert [by[r]["person_id"] for r in ("r1", "r2", "dotted")] == ["HU-01"] * 3


def test_a_record_showing_ones_own_name_without_the_fathers_is_linked_on_a_whole_id(roster):
    """艾尔肯 for 艾尔肯·阿不都拉 was weighed as a record sharing only the first character
    (surname-only, its u every name starting with 艾: in a small county a record showing the whole
    ID waited in review at p 0.98); it is now `one-part`, its u the names having that part."""
    rng = random.Random(12)
    uy = [dict(township="大店镇", village="东庄村", household_id=f"HU{i}", person_id=f"HU{i}-01", name=n, id_number=make_id(rng))
          for i, n in enumerate(["艾尔肯·阿不都拉", "艾力·买买提", "阿依古丽·艾力", "艾尔肯·买买提"])]
    ros = pl.concat([roster, pl.DataFrame(uy)])
    _, _, by = run(ros, [dict(record_id="r1", name="艾尔肯", id_raw=uy[0]["id_number"]),
                         dict(record_id="r2", name="艾力", id_raw=mask64(uy[1]["id_number"]))])
    assert (by["r1"]["decision"], by["r1"]["person_id"]) == ("matched", "HU0-01") and by["r2"]["score"] > 0.95
    assert all(" one-part;" in by[r]["reason"] for r in ("r1", "r2"))


def test_a_strangers_chance_of_showing_a_records_kept_characters_follows_what_they_are(roster):
    """u_id, the chance that a random person's ID shows a record's kept characters: a whole ID's
    check character adds nothing (it follows from the 17 digits); kept beside a mask it is one of
    11 (0-9, X); a region no roster ID has is rare, not impossible; part of a birth date (an
    old ID's 3413026********: the year's first digit) is as common as the roster's IDs show it,
    the 1960s more than the 1930s, which no roster person was born in."""
    from matchers.link import _id_u

    i = roster.row(3, named=True)["id_number"]
    raw = [i, i[:17] + "*", mask64(i), mask64(i)[:17] + "*", "351309" + mask64(i)[6:], "3413026********", "3413023********"]
    rec = _prepare_records(records([dict(record_id=str(k), id_raw=r) for k, r in enumerate(raw)]), CFG)
    u = _id_u(rec, _prepare_roster(roster, CFG), CFG).sort("rid")["u_id"].to_list()
    assert u[0] == pytest.approx(u[1], rel=1e-12)
    assert u[2] == pytest.approx(u[3] / 11, rel=1e-12)
    assert 0 < u[4] < u[2]
    assert u[5] > 10 * u[6] > 0
    assert not roster["id_number"].str.slice(6, 3).is_in(["193", "203"]).any()


def test_a_birth_day_the_roster_crowds_is_weighed_as_crowded(roster):
    """Where a person's birthday was not known, IDs say 01-01 (Tibet, Xinjiang: in some counties
    one elderly person in two). The matcher took every birth date as one in 80 x 365: a record
    keeping only a 01-01 birth date and a common name was linked to the one roster person of
    that name born that day, though strangers share it as often as the roster says. The
    month-days the roster crowds (`birth_day_crowding` times chance or more) are weighed so."""
    rng = random.Random(13)
    crowd = [dict(township="大店镇", village=VILLAGES[i % 50], household_id=f"HB{i:03d}", person_id=f"HB{i:03d}-01",
                  name=rng.choice(SURNAMES) + rng.choice(GIVEN), id_number=make_id(rng, birth=f"{rng.randint(1940, 1975)}0101"))
             for i in range(400)]
    ros = pl.concat([roster, pl.DataFrame(crowd)])
    target = crowd[7]
    rec = dict(record_id="r", name=target["name"], id_raw="*" * 6 + target["id_number"][6:14] + "*" * 4)
    _, _, by = run(ros, [rec])
    _, _, off = run(ros, [rec], dataclasses.replace(CFG, birth_day_crowding=0))
    assert off["r"]["decision"] == "matched" and by["r"]["decision"] != "matched", (by["r"]["reason"], off["r"]["reason"])
    assert by["r"]["score"] < off["r"]["score"]
    # a day the roster does not crowd is weighed as before
    plain = roster.row(5, named=True)
    rec = dict(record_id="p", name=plain["name"], id_raw="*" * 6 + plain["id_number"][6:14] + "*" * 4)
    assert run(ros, [rec])[2]["p"]["score"] == run(ros, [rec], dataclasses.replace(CFG, birth_day_crowding=0))[2]["p"]["score"]


def test_names_read_as_names_are_read_link_a_transliteration_and_a_surname_s_homophone(roster):
    """阿卜杜热合曼·买买提 is 阿不都热合曼·买买提 written with other characters for the same sounds (都
    read du), 增国强 a typist's 曾国强 (the surname 曾 read zeng): with `name_readings` their names
    compare as homophones and the records, masked 6+4 in their village, link; read with each
    character's usual reading alone (都 dou, 曾 ceng) the first shares only its first character
    with its person's and 增国强's disagrees: it waits in review."""
    from config import load_config

    rng = random.Random(9)
    extra = pl.DataFrame([dict(township="大店镇", village="东王庄村", household_id="HU", person_id="HU-01",
                               name="阿不都热合曼·买买提", id_number=make_id(rng)),
                          dict(township="时村乡", village="西李庄村", household_id="HZ", person_id="HZ-01",
                               name="曾国强", id_number=make_id(rng))])
    ros = pl.concat([roster, extra])
    rows = [dict(record_id=r, name=n, id_raw=mask64(p["id_number"]), township=p["township"], village=p["village"])
            for r, n, p in (("u", "阿卜杜热合曼·买买提", extra.row(0, named=True)), ("z", "增国强", extra.row(1, named=True)))]
    readings = load_config().matching.name_readings
    _, _, d = run(ros, rows, dataclasses.replace(CFG, name_readings=readings))
    assert [(d[r]["decision"], d[r]["person_id"]) for r in "uz"] == [("matched", "HU-01"), ("matched", "HZ-01")]
    assert all("homophone" in d[r]["reason"] for r in "uz")
    _, _, d = run(ros, rows)
    assert "surname-only" in d["u"]["reason"]  # (its ID and village carry it)
    assert d["z"]["decision"] == "review" and "disagree" in d["z"]["reason"]  # a name disagreeing is never linked unseen


def test_a_name_read_its_own_way_meets_its_homophone_in_blocking(roster):
    """增国强 is a typist's 曾国强 (the surname 曾 read zeng: `name_readings`), 单丽 one's 山丽 (单
    read shan). The pair compares as a homophone, but blocking read each character its usual
    way alone (曾 ceng, 单 dan): a record whose ID is missing or destroyed (its village searched
    by surname character) or whose last 4 hold a typo (its region searched by the whole name's
    pinyin, `TYPO_WHOLE`) never met its person. Every way of reading a name is a key now, on
    either side (the roster's 曾, the record's 单), and the person is found; a name holding no
    such character gains no candidate. Found, the records link as any homophone does: in their
    village; by a 6+4 ID one digit off and no place, to review (weak: p below the threshold)."""
    from config import load_config

    rng = random.Random(21)
    extra = pl.DataFrame([dict(township="时村乡", village="西李庄村", household_id="HZ", person_id="HZ-01",
                               name="曾国强", id_number=make_id(rng)),
                          dict(township="大店镇", village="北赵庄村", household_id="HS", person_id="HS-01",
                               name="山丽", id_number=make_id(rng))])
    ros = pl.concat([roster, extra])
    z, s = extra.row(0, named=True), extra.row(1, named=True)
    i = z["id_number"]
    slip = i[:15] + str((int(i[15]) + 5) % 10) + i[16:]
    assert not any(q[:6] == i[:6] and q[14:] == slip[14:] for q in ros["id_number"])
    place = dict(township=z["township"], village=z["village"])
    rows = [dict(record_id="none", name="增国强", id_raw=None, **place),
            dict(record_id="gone", name="增国强", id_raw=f"{i[0]}.{i[1:7]}E+17", **place),  # (Excel: the region kept)
            dict(record_id="slip", name="增国强", id_raw=mask64(slip)),
            dict(record_id="shan", name="单丽", id_raw=None, township=s["township"], village=s["village"]),
            dict(record_id="other", name=(o := roster.row(5, named=True))["name"], id_raw=None,
                 township=o["township"], village=o["village"])]
    readings = dataclasses.replace(CFG, name_readings=load_config().matching.name_readings)

    def candidates(cfg):
        prepared = _prepare_records(records(rows), cfg)
        pairs = _block(prepared, _prepare_roster(ros, cfg), _near_ids(prepared), cfg)
        return {r["record_id"]: set(ros["person_id"].gather(pairs.filter(pl.col("rid") == k)["pidx"]))
                for k, r in enumerate(rows)}

    usual, every = candidates(CFG), candidates(readings)
    person = {"none": "HZ-01", "gone": "HZ-01", "slip": "HZ-01", "shan": "HS-01"}
    assert all(p not in usual[r] and p in every[r] for r, p in person.items()), (usual, every)
    assert every["other"] == usual["other"] and o["person_id"] in usual["other"]
    assert every["none"] - usual["none"] == {"HZ-01"}
    _, review, d = run(ros, rows, readings)
    assert all("homophone" in d[r]["reason"] for r in person), d
    assert [(d[r]["decision"], d[r]["person_id"]) for r in ("none", "gone", "shan")] == [
        ("matched", "HZ-01"), ("matched", "HZ-01"), ("matched", "HS-01")]
    assert d["slip"]["decision"] == "review" and review.filter(pl.col("record_id") == "slip")["person_id"].to_list() == ["HZ-01"]


def test_a_name_read_two_ways_does_not_make_an_id_block_look_twice_as_big():
    """`_block` registers the roster and the records with a row per reading of a name
    (`_read_every_way`), and `_mean_block` (count(*) / count(DISTINCT rid)) then counts a person
    named 曾 twice (ceng, zeng), and a record named 曾 twice over. Five persons share region and
    last 4 with the record (a 6+4 pattern, `id_block_name_key_above` = 8: a strong key, joined
    by ID alone); counted 10, the pattern is taken as weak and the name's first pinyin must agree
    too, so 曹国强 (a slip of 曾's surname) gets no pair at all. Without `name_readings` (what
    the pairs were before) the ID pass pairs it with all five."""
    import dataclasses

    from config import load_config
    from matchers import link as L
    from matchers.ids import check_char

    cfg = load_config().matching
    ids, day = [], datetime.date(1960, 1, 1)
    while len(ids) < 5:  # five persons whose IDs end 1273 (sequence 127, check 3)
        body = "341302" + day.strftime("%Y%m%d") + "127"
        if check_char(body) == "3":
            ids.append(body + "3")
        day += datetime.timedelta(days=37)
    roster = pl.DataFrame({"person_id": [f"P{i}" for i in range(5)], "household_id": [f"H{i}" for i in range(5)],
                           "name": ["曾国强", "曾国华", "曾建国", "曾小明", "曾玉兰"], "id_number": ids,
                           "township": ["大店镇"] * 5, "village": ["甲村"] * 5, "relation": ["户主"] * 5})
    records = pl.DataFrame({"dept": ["人社"], "kind": ["hr"], "record_id": ["R1"], "name": ["曹国强"],
                            "id_raw": ["341302********1273"], "township": [None], "village": [None]},
                           schema_overrides={"township": pl.Utf8, "village": pl.Utf8})

    def pairs(c):
        ros = L._prepare_roster(roster, c)
        rec = L._prepare_records(records, c).with_columns(L._hint_towns(records, ros, c))
        return L._block(rec, ros, L._near_ids(rec), c)

    assert cfg.id_block_name_key_above == 8
    assert pairs(dataclasses.replace(cfg, name_readings={})).height == 5
    assert pairs(cfg).height == 5


@pytest.mark.parametrize("slip", ["changed", "swapped"])
def test_a_snapshot_record_one_slip_from_a_person_it_lists_nowhere_else_is_theirs_to_ask(roster, slip):
    """参保名单 lists every roster person but x, whose record shows only the surname (王*) and a
    kept digit of the last 4 mistyped (or two swapped): the typo pass pairs such a key with whole names only, so x
    fitted no record and would be called absent from the list (M4). Looked for as the one person
    the list lacks (`_absentees`), the record is x's candidate, held at more than
    `candidate_floor` (M4 then reads x as maybe listed); the same record in a settlement
    extract, about someone who need not be on any list, is left as it was, and so is the list's
    when more than `absentee_max_share` of the roster is missing from it."""
    cfg = dataclasses.replace(CFG, estimate_prior=False)
    x = roster.row(11, named=True)
    rows = [dict(record_id=p["person_id"], name=p["name"], id_raw=mask64(p["id_number"]))
            for p in roster.iter_rows(named=True) if p["person_id"] != x["person_id"]]
    i = x["id_number"]
    assert i[15] != i[16]
    slipped = i[:15] + (str((int(i[15]) + 1) % 10) + i[16] if slip == "changed" else i[16] + i[15]) + i[17:]
    assert not any(mask64(p) == mask64(slipped) for p in roster["id_number"])
    weak = dict(record_id="weak", name=x["name"][0] + "*", id_raw=mask64(slipped))
    recs = records(rows + [weak]).with_columns(kind=pl.lit("med_enrollment"))
    links, cands = link(recs, roster, cfg)
    w = links.filter(pl.col("record_id") == "weak").row(0, named=True)
    assert "[absentee pass]" in w["reason"] and "one-differs" in w["reason"], w["reason"]
    # a list lacking more than `absentee_max_share` of the roster is partial: no one is looked for
    partial, _ = link(recs, roster, dataclasses.replace(cfg, absentee_max_share=0.5 / roster.height))
    assert "absentee" not in partial.filter(pl.col("record_id") == "weak")["reason"].item()
    assert w["decision"] != "matched" and w["score"] >= cfg.candidate_floor
    assert x["person_id"] in cands.filter(pl.col("record_id") == "weak")["person_id"].to_list()
    # every other person's own record is theirs, none of them is offered the slipped one
    assert links.filter(pl.col("record_id") != "weak")["decision"].unique().to_list() == ["matched"]
    assert cands.filter(pl.col("record_id") == "weak")["person_id"].to_list() == [x["person_id"]]
    _, _, d = run(roster, [weak], cfg)
    assert d["weak"]["decision"] == "unmatched" and "absentee" not in d["weak"]["reason"], d["weak"]["reason"]
    assert (d["weak"]["score"] or 0.0) < cfg.candidate_floor  # (a swap in the last 4: the typo pass's, weak)


def test_the_same_records_and_roster_in_another_row_order_link_the_same(roster):
    """Departments export rows in no promised order, and a 底册 exported again lists its persons
    in another: links, reasons and candidates (ties between equal candidates included) are those
    of the data, not of its row order; scores too, but for the last bits of a sum over records
    (the shares learned from the whole delivery add in the records' order)."""
    twin1, twin2 = (roster.filter(pl.col("household_id") == "HT").row(k, named=True) for k in (0, 1))
    ps = [roster.row(k, named=True) for k in (5, 17, 42, 99, 150)]
    rows = [
        dict(record_id="tie", name="欧晓*", id_raw=twin1["id_number"][:14] + "****"),  # the twins fit alike
        dict(record_id="weak", name=ps[0]["name"][0] + "*", id_raw=ps[0]["id_number"][:3] + "*" * 11 + "****"),
        *(dict(record_id=f"m{k}", name=p["name"], id_raw=mask64(p["id_number"]), township=p["township"])
          for k, p in enumerate(ps)),
        dict(record_id="noid", name=ps[1]["name"], id_raw=None, township=ps[1]["township"], village=ps[1]["village"]),
    ]
    recs = records(rows)
    by = ["record_id", "person_id"]
    def same(frame):
        return frame.with_columns(pl.col("score").round(12)).sort(by)

    links, cands = link(recs, roster, CFG)
    assert {twin1["person_id"], twin2["person_id"]} <= set(cands.filter(pl.col("record_id") == "tie")["person_id"])
    for r, ros in ((recs.reverse(), roster), (recs, roster.reverse()), (recs.sample(fraction=1.0, shuffle=True, seed=1),
                                                                         roster.sample(fraction=1.0, shuffle=True, seed=2))):
        links2, cands2 = link(r, ros, CFG)
        assert same(links2).equals(same(links)), "links"
        assert same(cands2).equals(same(cands)), "candidates"


def test_slip_findings_name_each_department_whose_full_ids_fail_the_check():
    """The report's line per department whose clerks mistype IDs: 2 of 4 full IDs failing, with
    the slip rate the matcher then allows for; a department none of whose IDs fail is not named."""
    good = "341302199001011234"[:17]
    good += check_char(good)
    bad = good[:17] + ("0" if good[17] != "0" else "1")
    recs = pl.DataFrame({"dept": ["甲"] * 4 + ["乙"] * 2, "kind": ["k1"] * 4 + ["k2"] * 2,
                         "record_id": [str(i) for i in range(6)], "id_raw": [good, good, bad, bad, good, good]})
    got = slip_findings(recs, CFG)
    assert got.select("dept", "count").rows() == [("甲", 2)]
    rate = slip_rates(recs, CFG).filter(pl.col("dept") == "甲")["slip_rate"].item()
    assert got["detail"].item().startswith(f"k1：完整身份证号 4 个中 2 个校验位不符，估计每录入一位出错约 {round(rate * 100, 2)}%")


def test_the_measured_completeness_weighs_the_list_and_says_so(roster):
    """The list holding half the insured off-roster persons: the config weighs it at what was
    measured, and the report's line (of the list's department) says how many were found of how
    many; of the records the insured kinds alone are read as insured (the list's own, given with
    them, counted once). Too few to measure: taken as complete, and said so."""
    from matchers.link import list_completeness, measured_completeness

    rng = random.Random(11)
    off = _off_roster_ids(rng, 400, set(roster["id_number"]))
    paid = records([dict(record_id=f"JS{j}", name="王*", id_raw=x) for j, x in enumerate(off)])
    listed = records([dict(record_id=f"CB{j}", name="王*", id_raw=x if j % 2 else mask64(x))
                      for j, x in enumerate(off[:200])]).with_columns(kind=pl.lit("med_enrollment"), dept=pl.lit("医保参保"))
    other = paid.with_columns(kind=pl.lit("education"))
    matching, said = measured_completeness(pl.concat([paid, other, listed]), listed, roster, CFG)  # (all the records)
    value = list_completeness(pl.concat([paid, listed]), roster, CFG).value
    assert matching.census_completeness == value < 1
    assert said.select("category", "dept", "count").rows() == [(Finding.CENSUS, "医保参保", 100)]
    assert f"完整度 {value:.0%}：400 名结算人员" in said["detail"].item()
    matching, said = measured_completeness(paid.head(3), listed, roster, CFG)
    assert matching.census_completeness == 1.0 and "taken as complete" in said["detail"].item()


def test_a_partial_run_links_against_the_census_its_full_run_stored_keeping_that_run_s_census_links(roster):
    """A partial run that does not re-read the 参保名单 links its records against the census the
    period's full run stored (`link_with_census`): the census weighs them as it did then (the weak
    masked settlement no insured off-roster person fits is its candidate's, not sent to review as
    without one); the census records' own links and candidates are that run's, kept: none here.
    `census_of`: the records of the complete snapshot kinds."""
    from matchers.link import census_of, link_with_census

    rng = random.Random(8)
    p = roster.row(20, named=True)
    enrolled, strangers = _enrollment_list(roster, rng)
    target = records([dict(record_id="t", name=p["name"][0] + "*", id_raw=mask64(p["id_number"]))])
    census = records(enrolled + strangers).with_columns(kind=pl.lit("med_enrollment"))
    assert census_of(pl.concat([target, census]), CFG).equals(census)
    links, candidates = link_with_census(target, census, roster, CFG)
    assert links.select("record_id", "decision", "person_id").rows() == [("t", "matched", p["person_id"])]
    assert candidates.filter(pl.col("kind") == "med_enrollment").is_empty()
    alone, _ = link(target, roster, CFG)
    assert alone["decision"].to_list() == ["review"]

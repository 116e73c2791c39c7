"""Sample-county generator: determinism, valid roster IDs, planted rules, complete truth."""

import csv
import json
from collections import Counter, defaultdict
from pathlib import Path

import openpyxl
import polars as pl
import pytest

from sample_data.dirt import check_char, dirty_id, mask, valid_id
from sample_data.generate import generate
from tests.conftest import read_rows

RULES = ["M1", "M2", "M3", "M4", "H1", "E1", "E2", "W1", "C1", "C2", "D1", "R1", "A1"]
PERIODS = ("2026-09", "2026-10")


@pytest.fixture(scope="module")
def county(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("county")
    generate(out, seed=3, periods=PERIODS, households=300)
    return out


def truth(county: Path, name: str) -> list[dict]:
    with open(county / "truth" / name, encoding="utf-8", newline="") as fh:
        return list(csv.DictReader(fh))


def test_check_char_and_masks():
    assert check_char("11010519491231002") == "X"
    assert valid_id("11010519491231002X") and not valid_id("11010519491231003X")
    i = "341302199001011234"
    assert mask(i, "6+4") == "341302********1234"
    assert mask(i, "3+4") == "341***********1234"
    assert mask(i, "14+0") == "34130219900101****"
    assert mask(i, "birth") == "******19900101****"


def test_same_seed_gives_identical_files(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    generate(a, seed=11, households=200)
    generate(b, seed=11, households=200)
    files_a = sorted(p.relative_to(a) for p in a.rglob("*") if p.is_file())
    assert files_a == sorted(p.relative_to(b) for p in b.rglob("*") if p.is_file())
    assert any(str(f).endswith(".xlsx") for f in files_a)
    for f in files_a:
        assert (a / f).read_bytes() == (b / f).read_bytes(), f
    generate(tmp_path / "c", seed=12, households=200)
    assert (tmp_path / "c/truth/links.csv").read_bytes() != (a / "truth/links.csv").read_bytes()


def test_roster_ids_valid_and_sex_consistent(county):
    for period in PERIODS:
        rows = read_rows(next((county / "inbox" / period / "户籍底册").glob("*.csv")))
        head, body = rows[0], rows[1:]
        idc, sexc = head.index("证件号码"), head.index("性别")
        assert len(body) > 600
        assert all(valid_id(r[idc]) for r in body)
        assert all((int(r[idc][16]) % 2 == 1) == (r[sexc] == "男") for r in body)
        assert len({r[idc] for r in body}) == len(body)


def test_grid_covers_households_with_one_oversized(county):
    rows = read_rows(county / "inbox/2026-10/网格/网格划分.csv")
    roster = read_rows(next((county / "inbox/2026-10/户籍底册").glob("*.csv")))
    assert {r[-1] for r in rows[1:]} == {r[4] for r in roster[1:]}
    sizes = Counter(r[0] for r in rows[1:])
    assert sum(n > 100 for n in sizes.values()) == 1


def test_truth_covers_every_data_row(county):
    by_file = defaultdict(dict)
    for t in truth(county, "links.csv"):
        by_file[(t["period"], t["file"])][int(t["line"])] = t
    on_disk = {(p.parts[-3], f"{p.parts[-2]}/{p.name}") for p in (county / "inbox").glob("*/*/*")
               if p.parts[-2] not in ("户籍底册", "网格")}
    assert set(by_file) == on_disk
    for (period, f), lines in by_file.items():
        rows = read_rows(county / "inbox" / period / f)
        header = min(lines) - 1
        body = [i + 1 for i in range(header, len(rows)) if rows[i] and rows[i][0] != "合计"]
        assert sorted(body) == sorted(lines), f
        for ln, t in lines.items():
            assert t["record_id"] in rows[ln - 1], (f, ln)


def test_every_rule_planted_and_near_misses_do_not_fire(county):
    warns = truth(county, "warnings.csv")
    last = Counter(w["rule"] for w in warns if w["period"] == "2026-10")
    assert all(last[r] >= 1 for r in RULES), last
    fired = {rid for w in warns for rid in w["record_ids"].split(";")}
    links = truth(county, "links.csv")
    record_level = ("H1", "E1", "E2", "C1", "C2", "D1", "R1", "A1")
    plants = [t for t in links if any(f"plant={r}" in t["dirt"].split(";") for r in record_level)]
    nears = [t for t in links if any(f"near={r}" in t["dirt"].split(";") for r in record_level + ("W1",))]
    assert plants and nears
    assert all(t["record_id"] in fired for t in plants)
    assert not any(t["record_id"] in fired for t in nears)
    leads = [w for w in warns if w["household_id"] == ""]
    assert {w["rule"] for w in leads} == {"M3", "C2", "D1"}
    assert all(w["household_id"] for w in warns if w["rule"] not in ("M3", "C2", "D1"))


def test_dirt_variety_and_expectations(county):
    links = truth(county, "links.csv")
    tags = Counter(t for row in links for t in row["dirt"].split(";"))
    for m in ("6+4", "4+4", "3+4", "14+0", "birth", "full"):
        assert tags[f"mask={m}"] > 0, m
    for enc in ("utf-8", "utf-8-sig", "gb18030", "xlsx"):
        assert tags[f"enc={enc}"] > 0, enc
    for t in ("name=homophone", "name=traditional", "id=fw_star", "id=apostrophe", "dup=corrected", "dup=identical"):
        assert tags[t] > 0, t
    expect = Counter(t["expect"] for t in links)
    assert expect["duplicate"] > 0 and expect["rejected"] >= 8 * len(PERIODS) - 1
    assert all(t["person_id"] == "" for t in links if t["dept"] == "水利")
    assert any(t["file"].startswith("hr/") for t in links)
    assert not (county / "inbox/2026-09/水利").exists()
    pop = json.loads((county / "truth/population.json").read_text(encoding="utf-8"))
    assert pop["county_population"] == round(pop["roster_persons"] / 0.11)


def test_dirty_id_keeps_true_characters():
    import random

    rng = random.Random(1)
    i = "34220119561203251X"
    probs = dict.fromkeys(["mistype", "transpose", "id15", "destroy", "kept_wrong", "fw_star", "lower_x",
                           "fw_digits", "apostrophe", "space"], 0.0)
    s, tags = dirty_id(rng, i, "6+4", probs, False)
    assert s == "342201********251X" and tags == ["mask=6+4"]
    s, tags = dirty_id(rng, i, "full", dict(probs, mistype=1.0), False)
    assert len(s) == 18 and s != i and not valid_id(s) and "id=mistyped" in tags


def test_hard_profile_masks_more(tmp_path):
    def share(out):
        tags = Counter(t for row in truth(out, "links.csv") for t in row["dirt"].split(";"))
        masked = tags["mask=3+4"] + tags["mask=birth"]
        return masked / sum(v for k, v in tags.items() if k.startswith("mask=")), tags["name=homophone"]

    generate(tmp_path / "s", seed=5, households=200)
    generate(tmp_path / "h", seed=5, households=200, profile="hard")
    (s_mask, s_typo), (h_mask, h_typo) = share(tmp_path / "s"), share(tmp_path / "h")
    assert h_mask > 1.5 * s_mask and h_typo > s_typo
    wb = openpyxl.load_workbook(next((tmp_path / "h/inbox/2026-10/住建").glob("*.xlsx")), read_only=True)
    assert [r[0] for r in wb.active.iter_rows(max_row=4, values_only=True)][3] == "鉴定编号"


def test_local_clinics_send_outpatients_to_their_township_and_change_nothing_else(tmp_path):
    """`local_clinic`: that share of 普通门诊 visits (55% of settlements) at the patient's own
    township 卫生院, to measure what the matcher's place hints gain. The county is otherwise
    the same; by default facilities are picked at random."""
    from adapters.inbox import read_linkable
    from config import load_config

    generate(tmp_path / "base", seed=3, households=150)
    generate(tmp_path / "local", seed=3, households=150, local_clinic=1.0)
    cfg = load_config()
    (base, roster), (local, _) = (read_linkable(tmp_path / c / "inbox/2026-10", cfg) for c in ("base", "local"))
    # (as sets of rows: files put in within one second are read in name order, else in time order,
    # so two generations' rows may come in another order: 参保名单 before or after 结算明细_第一批)
    assert base.drop("facility").sort(pl.all()).equals(local.drop("facility").sort(pl.all()))
    home = dict(zip(roster["person_id"], roster["township"]))
    people = {r["record_id"]: home[r["person_id"]] for r in truth(tmp_path / "base", "links.csv")
              if r["kind"] == "med_settlement" and r["person_id"]}

    def at_home(records):
        rows = [r for r in records.filter(records["kind"] == "med_settlement").to_dicts() if r["record_id"] in people]
        return sum(r["facility"] == f"{people[r['record_id']]}卫生院" for r in rows) / len(rows)

    assert at_home(base) < 0.15 and at_home(local) > 0.3  # the planted 住院 cases stay where they were


def test_every_non_roster_person_with_a_settlement_is_on_the_enrollment_list():
    """SPEC §3: the 参保名单 lists the county's insured residents, and whoever the county's 医保
    settled is insured: every non-roster person of the settlements is listed. Residents who are
    not insured still exist among the others (`uninsured_p`), such as 人社's look-alikes."""
    from config import load_config
    from sample_data.generate import PeriodBuilder, setup_world
    from sample_data.world import World

    w, cfg = World(3, "hard", 300), load_config()
    setup_world(w, cfg, 3, ["2026-10"])
    built = PeriodBuilder(w, cfg, 3, "hard", "2026-10", 0)
    built.build(set())
    keys = lambda kind: {r.person.key for r in built.recs[kind] if r.person and not r.person.pid}  # noqa: E731
    settled, listed = keys("med_settlement"), keys("med_enrollment")
    assert len(settled) > 100 and settled <= listed
    assert {o.key for o in w.outsiders} - settled - listed

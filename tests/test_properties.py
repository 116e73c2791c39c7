"""Property-based tests: whatever a department sends, ID normalisation, mask parsing, date and
amount parsing and row validation give a value or a reason, never an exception, and never lose
a row."""

from __future__ import annotations

import random
import string
from datetime import date, timedelta

import polars as pl
import pytest
from hypothesis import HealthCheck, assume, example, given, settings, strategies as st

from config import load_config
from matchers.ids import check_char, normalize_ids
from pipelines.standardize import standardize
from pipelines.validate import MAX_FIELD_CHARS, PLAIN, _field_exprs, parse_date, parse_float, parse_int, validate

CFG = load_config()
FAST = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
STATUSES = {"full_valid", "full_check_failed", "masked", "destroyed", "missing"}

# Characters real deliveries are made of, plus hostile ones: full-width digits and stars, Excel
# exponents, quotes, whitespace of every kind, combining marks, NUL, emoji, RTL marks.
ID_ALPHABET = "0123456789Xx*＊０１２３４５６７８９ＸE+.-'‘’\"` \t\u3000\u00a0\u200b\u202e\x00GＧ·é\u0301😀"
id_like = st.one_of(
    st.text(alphabet=ID_ALPHABET, max_size=24),
    st.text(max_size=24),  # any unicode at all
    st.from_regex(r"\A[0-9*]{0,20}[0-9Xx*]?\Z"),
    st.from_regex(r"\A\d\.\d{1,8}E\+?\d{1,2}\Z"),
    st.none(),
)


@st.composite
def valid_ids(draw) -> str:
    region = draw(st.sampled_from(["341302", "341321", "341322", "341323", "341324", "342201", "342221"]))
    born = draw(st.dates(min_value=date(1920, 1, 1), max_value=date(2025, 12, 31)))
    seq = draw(st.integers(0, 999))
    body = f"{region}{born:%Y%m%d}{seq:03d}"
    return body + check_char(body)


def _norm(values: list[str | None]) -> pl.DataFrame:
    return normalize_ids(pl.DataFrame({"id_raw": values}, schema={"id_raw": pl.Utf8}))


@FAST
@given(st.lists(id_like, max_size=30))
@example(["0000000000000000000*0", "1234567890123456789**12345", "XXXXXX****1234", "34X302********123X", "3413021962011127X4", "1.0E+17", "3.41302E+17", "", "*", "E+17",
          "000000000000000000", "G000000000000000000", "341302196201112000", "100000000000000000"])
def test_normalize_ids_never_raises_and_always_answers(values):
    out = _norm(values)
    assert out.height == len(values)
    for raw, norm, kept, status in out.select("id_raw", "id_norm", "kept", "id_status").iter_rows():
        assert status in STATUSES
        assert len(norm) == 18 and len(kept) == 18
        assert kept == "".join("0" if c == "*" else "1" for c in norm)
        # only digits in the first 17 positions, digit or X in the last: nothing else is "kept"
        assert all(c in "0123456789*" for c in norm[:17]), (raw, norm)
        assert norm[17] in "0123456789X*", (raw, norm)
        if status == "full_valid":
            assert check_char(norm[:17]) == norm[17]
        if status == "missing":
            assert norm == "*" * 18
        if status == "destroyed":  # Excel keeps at most 15 significant digits
            assert kept.count("1") <= 15, (raw, norm)


@FAST
@given(valid_ids(), st.sampled_from(["none", "apostrophe", "spaces", "fullwidth", "lower", "nbsp"]))
def test_dirty_forms_of_a_valid_id_normalise_to_it(id18, dirt):
    assume(not id18.endswith("000"))  # by design taken as Excel-destroyed (matchers/ids.py)
    raw = {
        "none": id18, "apostrophe": "'" + id18, "spaces": f" {id18[:6]} {id18[6:]} ",
        "fullwidth": id18.translate(str.maketrans("0123456789X", "０１２３４５６７８９Ｘ")),
        "lower": id18.lower(), "nbsp": "\u00a0" + id18 + "\u3000",
    }[dirt]
    row = _norm([raw]).row(0, named=True)
    assert (row["id_norm"], row["id_status"]) == (id18, "full_valid")


@FAST
@given(valid_ids(), st.sampled_from(["6+4", "4+4", "3+4", "14+0", "birth", "random"]), st.randoms(use_true_random=False),
       st.sampled_from(["*", "＊"]))
def test_any_mask_is_compatible_with_the_id_it_masks(id18, style, rnd, star):
    keep = {
        "6+4": set(range(6)) | set(range(14, 18)), "4+4": set(range(4)) | set(range(14, 18)),
        "3+4": set(range(3)) | set(range(14, 18)), "14+0": set(range(14)), "birth": set(range(6, 14)),
        "random": {i for i in range(18) if rnd.random() < 0.5},
    }[style]
    assume(keep and len(keep) < 18)
    masked = "".join(c if i in keep else star for i, c in enumerate(id18))
    row = _norm([masked]).row(0, named=True)
    assert row["id_status"] == "masked"
    # every kept character equals the person's; nothing is invented
    assert all(n == "*" or n == c for n, c in zip(row["id_norm"], id18)), (masked, row["id_norm"])
    assert {i for i, n in enumerate(row["id_norm"]) if n != "*"} == keep


@FAST
@given(valid_ids(), st.integers(0, 17), st.integers(1, 9))
def test_one_mistyped_digit_is_never_full_valid_under_the_true_id(id18, pos, delta):
    assume(id18[pos] != "X")
    typo = id18[:pos] + str((int(id18[pos]) + delta) % 10) + id18[pos + 1:]
    row = _norm([typo]).row(0, named=True)
    assert row["id_norm"] != id18 or row["id_status"] != "full_valid"
    assert row["id_status"] in ("full_check_failed", "destroyed", "full_valid")  # a typo may hit another valid ID


@FAST
@given(valid_ids())
def test_old_15_digit_ids_and_cert_numbers_give_the_18_digit_id(id18):
    assume(id18[6:8] == "19" and not id18.endswith("000"))
    old15 = id18[:6] + id18[8:17]
    assert _norm([old15]).row(0, named=True)["id_norm"] == id18
    assert _norm([id18 + "12"]).row(0, named=True)["id_norm"] == id18  # 残疾人证号
    assert _norm(["G" + id18]).row(0, named=True)["id_norm"] == id18  # 学籍号


# ---------------------------------------------------------------------------------------------
# Dates and amounts

any_text = st.one_of(st.text(max_size=30), st.text(alphabet="0123456789-/.年月日 :T+eE,，¥元万-", max_size=25), st.none())


def _apply(fn, values):
    return pl.DataFrame({"v": values}, schema={"v": pl.Utf8}).select(fn("v").alias("out"))["out"]


@FAST
@given(st.lists(any_text, max_size=30))
def test_parse_functions_never_raise(values):
    dates = _apply(parse_date, values)
    floats = _apply(parse_float, values)
    ints = _apply(parse_int, values)
    assert dates.dtype == pl.Date and floats.dtype == pl.Float64 and ints.dtype == pl.Int64
    assert len(dates) == len(floats) == len(ints) == len(values)
    for f in floats.drop_nulls():
        assert f == f and abs(f) != float("inf"), f  # no NaN, no infinity ever passes for an amount
    for v, i in zip(values, ints):
        if i is not None:
            assert float(i) == _apply(parse_float, [v])[0]


@FAST
@given(st.dates(min_value=date(1900, 1, 1), max_value=date(2099, 12, 31)),
       st.sampled_from(["%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y%m%d", "%Y年%m月%d日", "%Y-%m-%d %H:%M:%S", "serial"]))
def test_dates_in_every_delivered_format_round_trip(d, fmt):
    text = str((d - date(1899, 12, 30)).days) if fmt == "serial" else d.strftime(fmt)
    if fmt == "serial":
        assume(10000 <= int(text) <= 99999)
    assert _apply(parse_date, [text])[0] == d


@FAST
@given(st.floats(min_value=0, max_value=1e9, allow_nan=False), st.sampled_from(["plain", "comma", "yuan", "fullwidth"]))
def test_amounts_round_trip(x, style):
    x = round(x, 2)
    text = {"plain": f"{x:.2f}", "comma": f"{x:,.2f}", "yuan": f"¥{x:.2f}元",
            "fullwidth": f"{x:.2f}".translate(str.maketrans("0123456789.", "０１２３４５６７８９．"))}[style]
    assert _apply(parse_float, [text])[0] == pytest.approx(x)


@FAST
@given(st.sampled_from([("admit_date", pl.Date, r"\A[0-9]{4}-[0-9]{2}-[0-9]{2}\Z"),
                        ("total_cost", pl.Float64, r"\A-?[0-9]{1,15}(\.[0-9]{1,6})?\Z"),
                        ("household_size", pl.Int64, r"\A-?[0-9]{1,15}\Z"),
                        ("months_unpaid", pl.Int64, r"\A-?[0-9]{1,15}\Z")]).flatmap(
    lambda f: st.tuples(st.just(f[:2]), st.lists(st.from_regex(f[2]), min_size=1, max_size=20))),
       st.sampled_from([None, date(2026, 11, 10)]))
def test_a_plain_value_reads_by_its_one_cast_as_the_full_parser_reads_it(case, latest):
    # every table's plain dates and numbers skip the full parser (`PLAIN`): 2026-02-30, 007, -0.5
    # and 999999999999999 must read, or fail, exactly as the parser would have them
    (name, dtype), values = case
    df = pl.DataFrame({name: values})
    value, fail, _ = _field_exprs(name, dtype, set(), None, latest, True)
    full = df.select(value.alias("v"), fail.alias("f"))
    pattern, cast = PLAIN[dtype]
    assert df[name].str.contains(pattern).all()
    fast = df.select(cast(pl.col(name)).alias("v"))["v"]
    assert fast.to_list() == full["v"].to_list()
    assert fast.is_null().to_list() == full["f"].to_list()


def test_non_finite_amounts_are_not_amounts():
    assert _apply(parse_float, ["1e999", "-1e999", "nan", "inf", "1e308"]).to_list()[:4] == [None] * 4


# ---------------------------------------------------------------------------------------------
# validate() on random frames: every row ends valid or rejected-with-reason, exactly once

KINDS = [k for k in CFG.kinds if k != "feedback"]
cell = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(["", " ", "0", "-1", "1e999", "2026-02-30", "NaN", "合计", "＊"]),
    st.sampled_from(["住院", "正常参保", "C", "未改造", "初中", "辍学", "有管无水", "特困", "新增", "一级", "新办",
                     "失业登记", "洪涝", "2026-10-05", "12.5", "341302196201112734", "341302********2734"]),
)


@st.composite
def raw_frames(draw):
    kind = draw(st.sampled_from(KINDS))
    spec = CFG.kinds[kind]
    n = draw(st.integers(0, 8))
    # header as delivered: any alias of each field (some fields dropped, unless required)
    cols = {}
    for field, aliases in spec.fields.items():
        if field in spec.required or draw(st.booleans()):
            cols[draw(st.sampled_from(aliases))] = [draw(cell) for _ in range(n)]
    if n and draw(st.booleans()):  # one over-long value somewhere
        col = draw(st.sampled_from(sorted(cols)))
        cols[col][draw(st.integers(0, n - 1))] = "张" * (MAX_FIELD_CHARS + draw(st.integers(1, 5000)))
    lines = sorted(draw(st.sets(st.integers(1, 10_000), min_size=n, max_size=n)))
    df = pl.DataFrame({**cols, "line": lines}, schema={**{c: pl.Utf8 for c in cols}, "line": pl.Int64})
    return spec, df


@settings(max_examples=80, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(raw_frames())
def test_validate_never_raises_and_conserves_rows(frame):
    spec, raw = frame
    valid, rejected = validate(standardize(raw, spec), spec, spec.folder, f"{spec.folder}/x.csv")
    assert valid.height + rejected.height == raw.height
    assert set(valid["line"].to_list()).isdisjoint(rejected["line"].to_list())
    assert sorted(valid["line"].to_list() + rejected["line"].to_list()) == raw["line"].to_list()
    assert rejected["reason"].is_not_null().all() and (rejected["reason"].str.len_chars() > 0).all()
    assert rejected["file"].is_not_null().all()
    # nothing huge is echoed back into the reports
    for col in ("value", "record_id"):
        assert (rejected[col].str.len_chars().fill_null(0) <= 200).all(), col
    for reason in rejected["reason"].to_list():
        assert len(reason) <= 200 * (reason.count("；") + 1), reason[:300]
    # no full ID number with a valid check digit is echoed back either
    for v in rejected["value"].drop_nulls().to_list() + rejected["record_id"].drop_nulls().to_list():
        for i in range(len(v) - 17):
            chunk = v[i:i + 18].upper()
            assert not (chunk[:17].isdigit() and check_char(chunk) == chunk[17]), v
    # typed columns really are typed
    for field, dtype in valid.schema.items():
        if dtype == pl.Float64:
            assert valid[field].is_finite().fill_null(True).all()
        if dtype == pl.Utf8 and valid.height:
            assert (valid[field].str.len_chars().fill_null(0) <= MAX_FIELD_CHARS).all(), field


def test_validate_on_a_random_big_frame_is_fast_and_total():
    """One seeded 2,000-row frame of junk for every kind (hypothesis explores small frames)."""
    rnd = random.Random(20261128)
    junk = ["", None, "1e999", "-5", "2026-13-01", "x" * 600, "'341302196201112734", "341302********2734"] + [
        "".join(rnd.choice(string.printable + "张王李＊年月日") for _ in range(rnd.randint(1, 15))) for _ in range(50)
    ]
    for kind in KINDS:
        spec = CFG.kinds[kind]
        n = 2000
        df = pl.DataFrame(
            {**{a[0]: [rnd.choice(junk) for _ in range(n)] for a in spec.fields.values()}, "line": list(range(2, n + 2))},
            schema={**{a[0]: pl.Utf8 for a in spec.fields.values()}, "line": pl.Int64},
        )
        valid, rejected = validate(standardize(df, spec), spec, spec.folder, "x.csv")
        assert valid.height + rejected.height == n, kind


def test_dates_near_the_edges_do_not_raise():
    vals = ["99999", "00000", "0000-00-00", "9999-12-31", "10000-01-01", "2026-02-29", "2024-02-29 25:61:61",
            "46300.9999", "1.5e4", "２０２６年１０月５日", str(date.max), str(date.min + timedelta(days=1))]
    out = _apply(parse_date, vals).to_list()
    assert out[5] is None and out[6] == date(2024, 2, 29) and out[9] == date(2026, 10, 5)

"""Chinese names: normalisation, per-name chance agreement (u) from roster frequencies, and
pairwise comparison levels (exact, masked-agree, homophone, swapped, dropped, added, one-char,
surname-only, disagree).

Level m-probabilities are data (`MatchingConfig.name_levels`); u-probabilities are estimated
from the roster's surname / given-name character / pinyin frequencies.
"""

from __future__ import annotations

import opencc
import polars as pl
from pypinyin import lazy_pinyin
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

_T2S = opencc.OpenCC("t2s")


def _t2s_batch(s: pl.Series) -> pl.Series:
    uniq = s.drop_nulls().unique()
    uniq = uniq.filter(~uniq.str.contains("\n")).to_list()
    # one conversion of all distinct names, a line each (OpenCC is C++; a call per name is not)
    done = _T2S.convert("\n".join(uniq)).split("\n") if uniq else []
    if len(done) != len(uniq):  # a line break the converter did not keep: one name at a time
        done = [_T2S.convert(v) for v in uniq]
    mapping = dict(zip(uniq, done))
    return s.replace_strict(mapping, default=s, return_dtype=pl.Utf8) if mapping else s


def normalize_name(expr: pl.Expr) -> pl.Expr:
    """Strip spaces, NFKC, `＊`->`*`, middle dots `·•.・` -> `·`, traditional -> simplified.
    Empty or all-punctuation names become null."""
    e = (
        expr.cast(pl.Utf8).str.replace_all(r"\s", "").str.replace_all(r"[·•・.．‧∙⋅]", "·")
        .str.normalize("NFKC").str.replace_all(r"[·•・.．‧∙⋅]", "·").str.strip_chars("·")
    )
    e = e.map_batches(_t2s_batch, return_dtype=pl.Utf8)
    return pl.when(e.str.len_chars() > 0).then(e)


def _pinyin_map(chars: list[str]) -> dict[str, str]:
    return {c: (lazy_pinyin(c)[0] if c not in "*·" else c) for c in chars}


def edge_pinyin(names: pl.Series) -> pl.DataFrame:
    """Per normalised name: `first_py` / `last_py`, the toneless pinyin of its first / last
    character (null when that character is masked or the name is missing). Blocking keys that
    survive homophones and traditional forms."""
    first, last = names.str.slice(0, 1), names.str.slice(-1, 1)
    py = _pinyin_map(pl.concat([first, last]).drop_nulls().unique().to_list())
    py["*"] = None
    conv = lambda s: s.replace_strict(py, default=None, return_dtype=pl.Utf8)  # noqa: E731
    return pl.DataFrame({"first_py": conv(first), "last_py": conv(last)})


def _chars(df: pl.DataFrame, col: str) -> pl.DataFrame:
    """One row per (name, position, char)."""
    return (
        df.select(pl.col(col).alias("name")).drop_nulls().unique()
        .with_columns(ch=pl.col("name").str.split(""))
        .with_columns(pos=pl.int_ranges(pl.col("ch").list.len()))
        .explode("ch", "pos")
        .with_columns(slot=pl.when(pl.col("pos") == 0).then(pl.lit("s")).otherwise(pl.lit("g")))
    )


def name_stats(roster_names: pl.Series) -> dict[str, pl.DataFrame]:
    """Frequency tables from normalised roster names: length, and per slot (s = surname,
    g = given-name char) the share of each char and of each toneless pinyin syllable."""
    names = pl.DataFrame({"name": roster_names}).drop_nulls()
    n = max(names.height, 1)
    ch = (
        names.with_columns(ch=pl.col("name").str.split(""))
        .with_columns(pos=pl.int_ranges(pl.col("ch").list.len())).explode("ch", "pos")
        .with_columns(slot=pl.when(pl.col("pos") == 0).then(pl.lit("s")).otherwise(pl.lit("g")))
    )
    py = _pinyin_map(ch["ch"].unique().to_list())
    ch = ch.with_columns(py=pl.col("ch").replace_strict(py, return_dtype=pl.Utf8))
    slot_n = ch.group_by("slot").len("slot_n")

    def freq(key: str) -> pl.DataFrame:
        return (
            ch.group_by("slot", key).len().join(slot_n, on="slot")
            .with_columns(f=(pl.col("len") + 1) / (pl.col("slot_n") + 100)).drop("len")
        )

    length = (
        names.group_by(rlen=pl.col("name").str.len_chars()).len().sort("rlen", descending=True)
        .with_columns(p_len=(pl.col("len") + 1) / (n + 10), p_len_ge=(pl.col("len").cum_sum() + 1) / (n + 10))
        .drop("len")
    )
    shape = names.group_by(
        first=pl.col("name").str.slice(0, 1), last=pl.col("name").str.slice(-1, 1), clen=pl.col("name").str.len_chars()
    ).len("cnt")
    return {"char": freq("ch"), "py": freq("py"), "len": length, "pinyin": pl.DataFrame(
        {"ch": list(py), "py": list(py.values())}, schema={"ch": pl.Utf8, "py": pl.Utf8}),
        "exact": names.group_by("name").len("cnt"), "shape": shape, "n": pl.DataFrame({"n": [n]})}


def _empirical_u(names: pl.DataFrame, stats: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Share of roster names agreeing with each name's visible characters: the exact name, or
    for a mask showing at most one char before and after the stars, first/last char and length.
    The matching roster person itself is not counted. A floor under the character-product
    model, which misses that names cluster."""
    n = stats["n"]["n"][0]
    masked = names.filter(pl.col("name").str.contains(r"\*")).with_columns(
        pre=pl.col("name").str.extract(r"^([^*]*)", 1), suf=pl.col("name").str.extract(r"([^*]*)$", 1),
        rlen=pl.col("name").str.len_chars(),
    ).filter(pl.col("pre").str.len_chars() <= 1, pl.col("suf").str.len_chars() <= 1)
    sh = stats["shape"]
    hits = pl.concat([
        masked.filter(pl.col("pre") != "").join(sh, left_on="pre", right_on="first").with_columns(first=pl.col("pre")),
        masked.filter(pl.col("pre") == "").join(sh, left_on="suf", right_on="last").with_columns(last=pl.col("suf")),
    ], how="diagonal")
    cnt = hits.filter(
        ((pl.col("pre") == "") | (pl.col("first") == pl.col("pre")))
        & ((pl.col("suf") == "") | (pl.col("last") == pl.col("suf")))
        & (pl.col("clen") >= pl.col("rlen"))
    ).group_by("name").agg(pl.col("cnt").sum())
    exact = names.join(stats["exact"], on="name", how="inner")
    return pl.concat([cnt.select("name", "cnt"), exact.select("name", "cnt")]).select(
        "name", u_emp=(pl.col("cnt") - 1) / n)


def name_u(names: pl.Series, stats: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per distinct normalised (possibly masked) name: chance that a random person's name
    compares at each level: u_exact (visible chars agree), u_homophone, u_swapped, u_dropped,
    u_added, u_one_char, u_surname."""
    ch = _chars(pl.DataFrame({"name": names}), "name")
    py = stats["pinyin"]
    missing = ch.filter(~pl.col("ch").is_in(py["ch"].implode()))["ch"].unique().to_list()
    py = pl.concat([py, pl.DataFrame({"ch": missing, "py": list(_pinyin_map(missing).values())},
                                     schema=py.schema)])
    floor = 1e-4  # unseen char / syllable: rare
    ch = (
        ch.filter(pl.col("ch") != "*")
        .join(py, on="ch", how="left")
        .join(stats["char"].select("slot", "ch", f_ch="f"), on=["slot", "ch"], how="left")
        .join(stats["py"].select("slot", "py", f_py="f"), on=["slot", "py"], how="left")
        .with_columns(pl.col("f_ch").fill_null(floor), pl.col("f_py").fill_null(floor))
    )
    per = ch.group_by("name").agg(
        lf=pl.col("f_ch").log().sum(),
        lp=pl.col("f_py").log().sum(),
        inv=(1 / pl.col("f_ch")).sum(),
        inv_g=(1 / pl.col("f_ch")).filter(pl.col("pos") > 0).sum(),
        f_s=pl.col("f_ch").filter(pl.col("pos") == 0).first(),
    )
    out = (
        pl.DataFrame({"name": names}).drop_nulls().unique()
        .with_columns(rlen=pl.col("name").str.len_chars())
        .join(per, on="name", how="left")
        .join(stats["len"], on="rlen", how="left")
        .join(stats["len"].select(rlen=pl.col("rlen") - 1, p_up="p_len"), on="rlen", how="left")
        .join(stats["len"].select(rlen=pl.col("rlen") + 1, p_down="p_len"), on="rlen", how="left")
        .with_columns(pl.col("lf", "lp", "inv", "inv_g").fill_null(0), pl.col("p_up", "p_down").fill_null(1e-3))
        .with_columns(
            p_len=pl.when(pl.col("name").str.contains(r"\*")).then(pl.col("p_len_ge")).otherwise("p_len").fill_null(1e-3),
        )
    )
    out = out.join(_empirical_u(out.select("name"), stats), on="name", how="left")
    u_exact = pl.max_horizontal(pl.col("p_len") * pl.col("lf").exp(), pl.col("u_emp").fill_null(0))
    return out.select(
        "name",
        u_exact=u_exact,
        u_homophone=pl.max_horizontal(pl.col("p_len") * pl.col("lp").exp() - u_exact, u_exact),
        u_swapped=u_exact * pl.col("rlen"),
        u_dropped=pl.min_horizontal(u_exact * pl.col("p_up") / pl.col("p_len") * pl.col("rlen"), 1.0),
        u_added=pl.min_horizontal(u_exact * pl.col("p_down") / pl.col("p_len") * pl.col("inv"), 1.0),
        u_one_char=pl.min_horizontal(u_exact * (pl.col("inv_g") + 1), 1.0),
        u_surname=pl.col("f_s").fill_null(1.0),
    )


def compare_names(rec: pl.Series, ros: pl.Series) -> pl.Series:
    """Level label per pair of normalised names (see `_compare_names`); each distinct pair
    is compared once, identical unmasked names are `exact` without comparison."""
    df = pl.DataFrame({"r": rec, "c": ros}, schema={"r": pl.Utf8, "c": pl.Utf8})
    same = (df["r"] == df["c"]).fill_null(False) & ~df["r"].str.contains(r"\*").fill_null(True)
    uniq = df.filter(~same).unique()
    levels = uniq.with_columns(name_level=_compare_names(uniq["r"], uniq["c"]))
    out = df.join(levels, on=["r", "c"], how="left", nulls_equal=True, maintain_order="left")
    return out.select(pl.when(same.alias("s")).then(pl.lit("exact")).otherwise(pl.col("name_level"))
                      .alias("name_level"))["name_level"]


def _compare_names(rec: pl.Series, ros: pl.Series) -> pl.Series:
    """Level label per pair of normalised names: exact, masked-agree, homophone, swapped
    (two adjacent chars), dropped (record lacks one char), added (record has one extra),
    one-char (one char differs), surname-only, disagree, or missing (nothing visible).

    A masked record name (`张*明`, `张**`, `张*`, `*明`) shows a prefix and a suffix; it agrees
    with a roster name that starts and ends with them and is at least as long."""
    df = pl.DataFrame({"r": rec, "c": ros}, schema={"r": pl.Utf8, "c": pl.Utf8})
    if df.height == 0:
        return pl.Series("name_level", [], pl.Utf8)
    chars = set("".join(df["r"].drop_nulls().unique().to_list() + df["c"].drop_nulls().unique().to_list()))
    py = _pinyin_map(sorted(chars))
    r, c = pl.col("r").fill_null(""), pl.col("c").fill_null("")
    masked = r.str.contains(r"\*")
    df = df.with_columns(
        masked=masked,
        pre=pl.when(masked).then(r.str.extract(r"^([^*]*)", 1).str.len_chars()).otherwise(r.str.len_chars()),
        suf=pl.when(masked).then(r.str.extract(r"([^*]*)$", 1).str.len_chars()).otherwise(0),
    )
    wp = int(df["pre"].max() or 0)
    ws = int(df["suf"].max() or 0)
    pyx = lambda e: e.replace_strict(py, default=e)  # noqa: E731
    eq, pyeq = [], []
    for i in range(wp):
        ri, ci, v = r.str.slice(i, 1), c.str.slice(i, 1), pl.col("pre") > i
        eq.append((v & (ri == ci)).cast(pl.Int32))
        pyeq.append((v & (pyx(ri) == pyx(ci))).cast(pl.Int32))
    for j in range(1, ws + 1):
        ri, ci, v = r.str.slice(-j, 1), c.str.slice(-j, 1), pl.col("suf") >= j
        eq.append((v & (ri == ci)).cast(pl.Int32))
        pyeq.append((v & (pyx(ri) == pyx(ci))).cast(pl.Int32))
    zero = pl.lit(0, pl.Int32)
    n_vis = pl.col("pre") + pl.col("suf")
    df = df.with_columns(
        n_eq=pl.sum_horizontal(eq) if eq else zero,
        n_py=pl.sum_horizontal(pyeq) if pyeq else zero,
        len_ok=pl.when(masked).then(c.str.len_chars() >= r.str.len_chars())
        .otherwise(c.str.len_chars() == r.str.len_chars()),
        sur=(pl.col("pre") > 0) & (r.str.slice(0, 1) == c.str.slice(0, 1)),
        sur_hidden=r.str.starts_with("*"),
    )
    # Edit distances, for unmasked names only (a masked one is compared position by position).
    # OSA counts an adjacent swap as one edit, Levenshtein as two: OSA 1 with Levenshtein 2 at
    # equal length is a swap, not a changed character.
    df = df.with_row_index("_i")
    plain = df.filter(~pl.col("masked"))
    rs, cs = plain["r"].fill_null("").to_list(), plain["c"].fill_null("").to_list()
    dist = plain.select("_i").with_columns(
        osa=pl.Series(process.cpdist(rs, cs, scorer=OSA.distance, workers=-1), dtype=pl.Int64),
        lev=pl.Series(process.cpdist(rs, cs, scorer=Levenshtein.distance, workers=-1), dtype=pl.Int64))
    df = df.join(dist, on="_i", how="left", maintain_order="left").drop("_i")
    m, ok = pl.col("masked"), pl.col("len_ok")
    one = ~m & (pl.col("osa") == 1)
    rl, cl = r.str.len_chars(), c.str.len_chars()
    lvl = (
        pl.when(n_vis == 0).then(pl.lit("missing"))
        .when(~m & (pl.col("r") == pl.col("c"))).then(pl.lit("exact"))
        .when(m & ok & (pl.col("n_eq") == n_vis)).then(pl.lit("masked-agree"))
        .when(ok & (pl.col("n_py") == n_vis)).then(pl.lit("homophone"))
        .when(one & (rl == cl) & (pl.col("lev") == 2)).then(pl.lit("swapped"))
        .when(one & (rl + 1 == cl)).then(pl.lit("dropped"))
        .when(one & (rl == cl + 1)).then(pl.lit("added"))
        .when((pl.col("sur") | pl.col("sur_hidden")) & (
            (one & (rl == cl)) | (m & ok & (pl.col("n_eq") == n_vis - 1) & (n_vis >= 2))
        )).then(pl.lit("one-char"))
        .when(pl.col("sur")).then(pl.lit("surname-only"))
        .otherwise(pl.lit("disagree"))
    )
    return df.select(name_level=lvl)["name_level"]

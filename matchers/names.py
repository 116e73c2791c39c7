"""Chinese names: normalisation, per-name chance agreement (u) from roster frequencies, and
pairwise comparison levels (exact, masked-agree, homophone, swapped, dropped, added, one-char,
one-part, surname-only, disagree).

Level m-probabilities are data (`MatchingConfig.name_levels`); u-probabilities are estimated
from the roster's surname / given-name character / pinyin frequencies.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from itertools import product

import numpy as np
import opencc
import polars as pl
from pypinyin import lazy_pinyin
from rapidfuzz import process
from rapidfuzz.distance import OSA, Levenshtein

from matchers.ids import OTHER_MASKS

_T2S = opencc.OpenCC("t2s")
# the middle dots a name written in parts is written with (阿依古丽·买买提, •, ., ・ ..., or a
# hyphen where a system had no dot to type: 阿依古丽-买买提), read as ·
DOTS = r"[·•・.．‧∙⋅\-‐‑－]"


def _t2s_batch(s: pl.Series) -> pl.Series:
    uniq = s.drop_nulls().unique()
    uniq = uniq.filter(~uniq.str.contains("\n")).to_list()
    # one conversion of all distinct names, a line each (OpenCC is C++; a call per name is not)
    done = _T2S.convert("\n".join(uniq)).split("\n") if uniq else []
    if len(done) != len(uniq):  # a line break the converter did not keep: one name at a time
        done = [_T2S.convert(v) for v in uniq]
    changed = pl.DataFrame({"old": uniq, "new": done}, schema={"old": pl.Utf8, "new": pl.Utf8}).filter(
        pl.col("old") != pl.col("new"))  # most names are simplified already
    return s.replace(changed["old"], changed["new"]) if changed.height else s


# a clerk's note in brackets after a name (张桂霞（已故）, 卢强明(残), 李四【户主】): no name holds brackets
NOTE = r"[(\[【〔][^()\[\]【】〔〕]*[)\]】〕]"


def normalize_name(expr: pl.Expr) -> pl.Expr:
    """Strip spaces, NFKC, a note in brackets (`NOTE`), `＊` and other mask characters
    (`matchers.ids.MASKS`: 张●明) -> `*`, middle dots `·•.・` -> `·`, traditional -> simplified.
    Empty or all-punctuation names become null."""
    e = (
        expr.cast(pl.Utf8).str.replace_all(r"\s", "").str.replace_all(DOTS, "·")
        .str.normalize("NFKC").str.replace_all(NOTE, "").str.replace_all(DOTS, "·").str.strip_chars("·")
        .str.replace_all(OTHER_MASKS, "*")
    )
    e = e.map_batches(_t2s_batch, return_dtype=pl.Utf8)
    return pl.when(e.str.len_chars() > 0).then(e)


def _bare(name: pl.Expr) -> pl.Expr:
    """A name without its middle dots, as two whole names are compared (`compare_codes`)."""
    return name.str.replace_all("·", "", literal=True)


def _shown_len(name: pl.Expr) -> pl.Expr:
    """The fewest characters a name can have: its length; for a masked name written in parts
    (买买**·塔依尔, 艾力**·买买提) its shown characters, as systems mask a part with a fixed `**`
    whatever it hides (买买提's 提, or nothing of 艾力)."""
    parts_masked = name.str.contains("·", literal=True) & name.str.contains("*", literal=True)
    return pl.when(parts_masked).then(name.str.replace_all("*", "", literal=True).str.len_chars()).otherwise(
        name.str.len_chars())


def _pinyin_map(chars: list[str]) -> dict[str, str]:
    return {c: (lazy_pinyin(c)[0] if c not in "*·" else c) for c in chars}


def _readings(chars: list[str], more: Mapping[str, Sequence[str]]) -> dict[str, list[str]]:
    """Each character's toneless readings: its usual one (`_pinyin_map`'s) first, then those
    `more` gives it (`MatchingConfig.name_readings`: in a name 都 reads du, 阿不都 = 阿卜杜; 曾
    zeng; 甫 pu, 玉素甫 = 玉素普). Not every reading a dictionary knows: 王 and 于 share a rare
    one, and would read alike."""
    first = _pinyin_map(chars)
    return {c: list(dict.fromkeys([first[c], *more.get(c, ())])) for c in chars}


def edge_pinyin(names: pl.Series) -> pl.DataFrame:
    """Per normalised name: `first_py` / `last_py`, the toneless pinyin of its first / last
    character (null when that character is masked or the name is missing). Blocking keys that
    survive homophones and traditional forms."""
    first, last = names.str.slice(0, 1), names.str.slice(-1, 1)
    py = _pinyin_map(pl.concat([first, last]).drop_nulls().unique().to_list())
    py["*"] = None
    conv = lambda s: s.replace_strict(py, default=None, return_dtype=pl.Utf8)  # noqa: E731
    return pl.DataFrame({"first_py": conv(first), "last_py": conv(last)})


def full_pinyin(names: pl.Series) -> pl.Series:
    """Per normalised name: the toneless pinyin of every character, space-separated (null when
    a character is masked or the name is missing). A whole-name key that survives homophones
    and traditional forms (宋锋军 and 宋峰军 both read song feng jun), and middle dots (阿依古丽·买买提
    and 阿依古丽买买提 read alike)."""
    whole = names.filter(~names.str.contains("*", literal=True)).drop_nulls().unique()
    bare = whole.str.replace_all("·", "", literal=True)  # (`_bare`)
    py = _pinyin_map(bare.str.split("").explode().unique().to_list())
    read = bare.str.split("").list.eval(pl.element().replace_strict(py, default=None, return_dtype=pl.Utf8)).list.join(" ")
    return names.replace_strict(whole, read, default=None, return_dtype=pl.Utf8)


def other_readings(names: pl.Series, readings: Mapping[str, Sequence[str]], max_keys: int = 16) -> pl.DataFrame:
    """(name, first_py, last_py, fpy): each distinct normalised name holding a character
    `readings` gives more readings than its usual one (`MatchingConfig.name_readings`), read
    every other way (`_readings`: the characters' readings combined position by position), as
    `edge_pinyin` and `full_pinyin` read it: 曾国强, usually ceng guo qiang, also zeng / qiang /
    zeng guo qiang. A row per reading that gives other keys than the usual one; names without
    such a character (most) have none. Blocking joins on these rows besides the usual ones, so
    that two names `compare_codes` calls homophones (each character sharing a reading with the
    other's) share a key: 增国强 meets 曾国强. A name read more than `max_keys` ways (an address
    pasted into 姓名, every character one `readings` lists: their product grows as 2^n) has none."""
    schema = {"name": pl.Utf8, "first_py": pl.Utf8, "last_py": pl.Utf8, "fpy": pl.Utf8}
    some = names.drop_nulls().unique(maintain_order=True)
    some = some.filter(some.str.contains_any(list(readings))) if readings else some.clear()
    bares = some.str.replace_all("·", "", literal=True)  # (`_bare`)
    rd = _readings(bares.str.split("").explode().unique().to_list(), readings)

    def keys(way: Sequence[str]) -> tuple[str | None, str | None, str | None]:
        """first_py, last_py, fpy of a name read `way` (a masked character reads `*`: no key)."""
        return (way[0] if way[0] != "*" else None, way[-1] if way[-1] != "*" else None,
                " ".join(way) if "*" not in way else None)

    rows = []
    for name, bare in zip(some.to_list(), bares.to_list()):
        if math.prod(len(rd[c]) for c in bare) > max_keys:
            continue
        usual = keys([rd[c][0] for c in bare])
        rows += [(name, *k) for k in dict.fromkeys(map(keys, product(*(rd[c] for c in bare)))) if k != usual]
    return pl.DataFrame(rows, schema=schema, orient="row")


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
        "exact": names.group_by(bare=_bare(pl.col("name"))).len("cnt"), "shape": shape, "n": pl.DataFrame({"n": [n]}),
        "parts": _parts(names).group_by("part").agg(cnt=pl.col("name").n_unique())}


def _parts(names: pl.DataFrame) -> pl.DataFrame:
    """name, part: each part of a name written in parts (阿不都热合曼·买买提: 阿不都热合曼, 买买提)."""
    return (names.filter(pl.col("name").str.contains("·", literal=True))
            .with_columns(part=pl.col("name").str.split("·")).explode("part").filter(pl.col("part") != "")
            .select("name", "part"))


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
    exact = names.with_columns(bare=_bare(pl.col("name"))).join(stats["exact"], on="bare", how="inner")
    return pl.concat([cnt.select("name", "cnt"), exact.select("name", "cnt")]).select(
        "name", u_emp=(pl.col("cnt") - 1) / n)


def name_u(names: pl.Series, stats: dict[str, pl.DataFrame]) -> pl.DataFrame:
    """Per distinct normalised (possibly masked) name: chance that a random person's name
    compares at each level: u_exact (visible chars agree), u_homophone, u_swapped, u_dropped,
    u_added, u_one_char, u_one_part (the share of roster names of which it is a part, or that are
    one of its parts: 艾尔肯 against 艾尔肯·阿不都拉; at least u_exact), u_surname."""
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
    shown = pl.DataFrame({"name": names}).drop_nulls().unique().with_columns(rlen=_shown_len(pl.col("name")))
    # (a masked name: the share of names at least as long, though none be just that long)
    ge = shown.select("rlen").unique().sort("rlen").join_asof(
        stats["len"].select("rlen", "p_len_ge").sort("rlen"), on="rlen", strategy="forward")
    out = (
        shown
        .join(per, on="name", how="left")
        .join(stats["len"].drop("p_len_ge"), on="rlen", how="left")
        .join(ge, on="rlen", how="left")
        .join(stats["len"].select(rlen=pl.col("rlen") - 1, p_up="p_len"), on="rlen", how="left")
        .join(stats["len"].select(rlen=pl.col("rlen") + 1, p_down="p_len"), on="rlen", how="left")
        .with_columns(pl.col("lf", "lp", "inv", "inv_g").fill_null(0), pl.col("p_up", "p_down").fill_null(1e-3))
        .with_columns(
            p_len=pl.when(pl.col("name").str.contains(r"\*")).then(pl.col("p_len_ge")).otherwise("p_len").fill_null(1e-3),
        )
    )
    out = out.join(_empirical_u(out.select("name"), stats), on="name", how="left")
    n = stats["n"]["n"][0]
    whole = out.filter(~pl.col("name").str.contains("*", literal=True)).select("name")
    as_part = whole.join(stats["parts"], left_on="name", right_on="part").select("name", c1="cnt")
    of_parts = (_parts(whole).join(stats["exact"], left_on="part", right_on="bare")
                .group_by("name").agg(c2=pl.col("cnt").sum()))
    out = out.join(as_part, on="name", how="left").join(of_parts, on="name", how="left")
    u_exact = pl.max_horizontal(pl.col("p_len") * pl.col("lf").exp(), pl.col("u_emp").fill_null(0))
    return out.select(
        "name",
        u_exact=u_exact,
        u_homophone=pl.max_horizontal(pl.col("p_len") * pl.col("lp").exp() - u_exact, u_exact),
        u_swapped=u_exact * pl.col("rlen"),
        u_dropped=pl.min_horizontal(u_exact * pl.col("p_up") / pl.col("p_len") * pl.col("rlen"), 1.0),
        u_added=pl.min_horizontal(u_exact * pl.col("p_down") / pl.col("p_len") * pl.col("inv"), 1.0),
        u_one_char=pl.min_horizontal(u_exact * (pl.col("inv_g") + 1), 1.0),
        u_one_part=pl.min_horizontal(pl.max_horizontal((pl.col("c1").fill_null(0) + pl.col("c2").fill_null(0)) / n, u_exact), 1.0),
        u_surname=pl.col("f_s").fill_null(1.0),
    )


LEVELS = ("missing", "exact", "masked-agree", "homophone", "swapped", "dropped", "added", "one-char",
          "one-part", "surname-only", "disagree")


@dataclass(frozen=True)
class NameCodes:
    """Distinct normalised names as integer codes (a null name is ""), with each name's
    characters (Unicode code points) and their toneless-pinyin ids laid end to end: name i's
    characters are `chars[offsets[i]:offsets[i + 1]]`. Pairs of names are then compared as
    arrays of codes, never as strings."""
    names: pl.Series
    text: np.ndarray    # the same names as Python strings, without their middle dots (for rapidfuzz), built once
    parts: np.ndarray   # a name written in parts (阿不都热合曼·买买提): its parts, as a set; else None
    bare: np.ndarray    # the lengths of `text` (阿不都热合曼·买买提: 9)
    shown: np.ndarray   # the fewest characters a name can have (`_shown_len`)
    offsets: np.ndarray
    chars: np.ndarray
    pinyin: np.ndarray  # each character's usual reading (an id)
    sounds: np.ndarray  # each character's readings (`_readings`; ids, -1 where it has fewer)
    length: np.ndarray
    pre: np.ndarray     # visible characters before the first `*` (all of them when unmasked)
    suf: np.ndarray     # visible characters after the last `*` (0 when unmasked)
    masked: np.ndarray

    @classmethod
    def of(cls, *series: pl.Series, readings: Mapping[str, Sequence[str]] | None = None) -> "NameCodes":
        """`readings`: characters' readings besides their usual one (`_readings`)."""
        names = pl.concat([s.cast(pl.Utf8).fill_null("") for s in series]).unique().sort()
        length = names.str.len_chars().to_numpy().astype(np.int64)
        chars = np.frombuffer("".join(names.to_list()).encode("utf-32-le"), dtype=np.uint32)
        cps = np.unique(chars)
        rd = _readings([chr(c) for c in cps], readings or {})
        py_id = {v: i for i, v in enumerate(sorted({r for rs in rd.values() for r in rs}))}
        sounds = np.full((len(cps), max(map(len, rd.values()), default=1)), -1, dtype=np.int64)
        for i, c in enumerate(cps):
            ids = [py_id[r] for r in rd[chr(c)]]
            sounds[i, :len(ids)] = ids
        at = np.searchsorted(cps, chars)
        masked = names.str.contains(r"\*", literal=False)
        bare = names.str.replace_all("·", "", literal=True)
        return cls(
            names=names, text=np.asarray(bare.to_list(), dtype=object),
            parts=np.asarray([frozenset(p for p in n.split("·") if p) if "·" in n else None for n in names.to_list()],
                             dtype=object),
            bare=bare.str.len_chars().to_numpy().astype(np.int64),
            shown=pl.select(_shown_len(pl.lit(names))).to_series().to_numpy().astype(np.int64),
            offsets=np.concatenate([[0], np.cumsum(length)]), chars=chars,
            pinyin=sounds[at, 0], sounds=sounds[at],
            length=length,
            pre=pl.select(pl.when(masked).then(names.str.extract(r"^([^*]*)", 1).str.len_chars())
                          .otherwise(names.str.len_chars())).to_series().to_numpy().astype(np.int64),
            suf=pl.select(pl.when(masked).then(names.str.extract(r"([^*]*)$", 1).str.len_chars())
                          .otherwise(0)).to_series().to_numpy().astype(np.int64),
            masked=masked.to_numpy(),
        )

    def code(self, s: pl.Series | pl.Expr) -> pl.Series | pl.Expr:
        """Each name's code (a name not among `names` is an error)."""
        return s.cast(pl.Utf8).fill_null("").cast(pl.Enum(self.names)).to_physical().cast(pl.UInt32)


def compare_names(rec: pl.Series, ros: pl.Series, readings: Mapping[str, Sequence[str]] | None = None) -> pl.Series:
    """Level label per pair of normalised names (see `compare_codes`; `readings` as `NameCodes.of`)."""
    codes = NameCodes.of(rec, ros, readings=readings)
    return compare_codes(codes.code(rec), codes.code(ros), codes)


def compare_codes(rec: pl.Series, ros: pl.Series, codes: NameCodes) -> pl.Series:
    """Level label per pair of coded names: exact, masked-agree, homophone (each shown
    character reads as the other's, one of its readings in `codes.sounds`), swapped (two
    adjacent chars), dropped (record lacks one char), added (record has one extra), one-char
    (one char differs), one-part (one whole name is a part of the other, written in parts: a
    Uyghur's own name without the father's, 艾尔肯 for 艾尔肯·阿不都拉), surname-only, disagree, or
    missing (nothing visible).

    A masked record name (`张*明`, `张**`, `张*`, `*明`) shows a prefix and a suffix; it agrees
    with a roster name that starts and ends with them and is at least as long (a name written
    in parts, as long as its shown characters: 买买**·塔依尔 is 买买提·塔依尔, 艾力**·买买提 is
    艾力·买买提, their `**` a fixed mask). A masked name on
    the right is compared the same way round (its visible characters against the left name);
    two masked names agree when every character both show agrees (`*` hides any number), and
    are `missing` (nothing compared) when they show no position in common (张* and *明). Two
    whole names are compared without their middle dots: 阿不都热合曼买买提 (or 阿不都热合曼 买买提)
    is 阿不都热合曼·买买提 exactly, the dot being how the parts are written apart, not a character
    the record dropped."""
    r, c = rec.to_numpy().astype(np.int64), ros.to_numpy().astype(np.int64)
    turn = ~codes.masked[r] & codes.masked[c]
    r, c = np.where(turn, c, r), np.where(turn, r, c)
    off, ch, py, snd = codes.offsets, codes.chars, codes.pinyin, codes.sounds
    many = snd[:, 1] >= 0 if snd.shape[1] > 1 else np.zeros(len(ch), bool)  # characters of several readings
    rl, cl, pre, suf, m = codes.length[r], codes.length[c], codes.pre[r], codes.suf[r], codes.masked[r]
    both = m & codes.masked[c]  # a `*` on the right hides what the left shows there
    star, star_py = ord("*"), py[np.flatnonzero(ch == ord("*"))[:1]]
    star_py = star_py[0] if len(star_py) else -1
    n_eq, n_py, n_both = (np.zeros(len(r), np.int64) for _ in range(3))

    def tally(sel: np.ndarray, a: np.ndarray, b: np.ndarray, ok: np.ndarray, hid: np.ndarray) -> None:
        """Left characters `a` against right ones `b` (where the right name is long enough), or
        against a right `*` where it does not show that position from the same end (`hid`)."""
        b = np.where(ok, b, 0)
        n_eq[sel] += hid | ok & ((ch[a] == ch[b]) | (ch[b] == star))
        alike = hid | (py[a] == py[b]) | (py[b] == star_py)
        # another reading of either (都 du ~ 杜 du), where their usual ones differ
        other = np.flatnonzero(~alike & (many[a] | many[b]))
        sa, sb = snd[a[other]], snd[b[other]]
        alike[other] = ((sa[:, :, None] == sb[:, None, :]) & (sa[:, :, None] >= 0)).any(axis=(1, 2))
        n_py[sel] += hid | ok & alike
        n_both[sel] += ~hid & ok & (ch[b] != star)

    # visible characters, position by position from the start, then from the end; when both are
    # masked, only against what the right name shows from the same end (its `*` hides any
    # number: 艾力**·买买提's 力 is not 艾*'s `*`, nor 张三*'s 三 *明's 明)
    for i in range(int(pre.max(initial=0))):
        sel = np.flatnonzero(pre > i)
        tally(sel, off[r[sel]] + i, off[c[sel]] + i, cl[sel] > i, both[sel] & (codes.pre[c[sel]] <= i))
    for j in range(1, int(suf.max(initial=0)) + 1):
        sel = np.flatnonzero(suf >= j)
        tally(sel, off[r[sel] + 1] - j, off[c[sel] + 1] - j, cl[sel] >= j, both[sel] & (codes.suf[c[sel]] < j))
    n_vis = pre + suf
    same = r == c
    len_ok = np.where(m, (cl >= codes.shown[r]) | both, cl == rl)
    first_r, first_c = ch[np.minimum(off[r], len(ch) - 1)], ch[np.minimum(off[c], len(ch) - 1)]
    sur = (pre > 0) & (cl > 0) & (first_r == first_c)
    sur_hidden = (rl > 0) & (pre == 0)
    # Edit distances, for distinct unmasked pairs only (a masked name is compared position by
    # position), without middle dots. OSA counts an adjacent swap as one edit, Levenshtein as
    # two: OSA 1 with Levenshtein 2 at equal length is a swap, not a changed character.
    osa, lev, part = np.full(len(r), 99), np.full(len(r), 99), np.zeros(len(r), bool)
    todo = np.flatnonzero(~m & ~same)
    if len(todo):
        key = r[todo] * len(codes.length) + c[todo]
        uniq, back = np.unique(key, return_inverse=True)
        rs, cs = codes.text[uniq // len(codes.length)], codes.text[uniq % len(codes.length)]
        d = np.asarray(process.cpdist(rs.tolist(), cs.tolist(), scorer=OSA.distance, workers=-1))
        osa[todo] = d[back]
        # Levenshtein tells a swap from a changed character: needed only at OSA 1, equal length
        ask = np.flatnonzero(d == 1)
        ask = ask[codes.bare[uniq[ask] // len(codes.length)] == codes.bare[uniq[ask] % len(codes.length)]]
        dl = np.full(len(uniq), 99)
        dl[ask] = process.cpdist(rs[ask].tolist(), cs[ask].tolist(), scorer=Levenshtein.distance, workers=-1)
        lev[todo] = dl[back]
        # one whole name a part of the other (only names written in parts have parts)
        ri, ci = uniq // len(codes.length), uniq % len(codes.length)
        pr, pc = codes.parts[ri], codes.parts[ci]
        some = np.flatnonzero(np.not_equal(pr, None) | np.not_equal(pc, None))
        hit = np.zeros(len(uniq), bool)
        hit[some] = [(b is not None and codes.text[i] in b) or (a is not None and codes.text[j] in a)
                     for i, j, a, b in zip(ri[some], ci[some], pr[some], pc[some])]
        part[todo] = hit[back]
    one = ~m & (osa == 1)
    br, bc = codes.bare[r], codes.bare[c]
    agree = len_ok & (n_eq == n_vis)
    level = np.select(
        [(n_vis == 0) | (cl == 0) | (both & agree & (n_both == 0)), ~m & (same | (osa == 0)), m & agree, len_ok & (n_py == n_vis),
         one & (br == bc) & (lev == 2), one & (br + 1 == bc), one & (br == bc + 1),
         (sur | sur_hidden) & ((one & (br == bc)) | (m & len_ok & (n_eq == n_vis - 1) & (n_vis >= 2))),
         ~m & part,
         sur],
        list(range(10)), default=10,
    )
    return pl.Series("name_level", LEVELS, pl.Utf8).gather(pl.Series(level, dtype=pl.UInt32))

"""City-scale benchmark of the monthly run (issue "City scale on one machine"). Not a test.

    python -m benchmarks.city_scale [--scale 1] [--scales 0.1,0.3,1] [--work /tmp/city_bench]
                                    [--gen-only] [--timeout 1800]

Generates (vectorised numpy/polars, cached under WORK/inbox_<scale>/) an inbox with the
contract of `sample_data.generate` but city-sized: at scale 1 a roster of 1,000,000 persons
(valid GB 11643 IDs, legacy 3422xx region codes for many people born before 1999) and a grid,
and 3,000,000 department rows over all eight departments (2,000,000 医保 settlements, a
医保 enrollment snapshot holding 86% of the roster, and the six smaller extracts plus
水利). Person-level records are ~11% roster persons (enrollment: 86% of the roster, so M4 fires for the other 14%); IDs are
masked in the SPEC styles (6+4, 4+4, 3+4, 14+0, birth date only, full) with dirt (apostrophe,
lower-case x, full-width digits and ＊, 15-digit IDs, Excel-destroyed, a mistyped digit);
names carry masks and typos (homophone, traditional, dropped, swapped, spaces). CSVs come in
UTF-8, UTF-8-BOM and GB18030 (some CRLF, title lines, 合计 rows); 住建/教育 come as XLSX.

Then runs `python flows.py run` in a child process and prints per stage: wall seconds (the
flow's own progress lines), rows/s and peak RSS (sampled every 0.2 s over the child's process
tree), plus the whole run's peak (getrusage) and its ratio to reading the same files with
polars alone (CSV: decode + `pl.read_csv`; XLSX: `pl.read_excel`).
"""

from __future__ import annotations

import argparse
import json
import os
import re
import resource
import signal
import subprocess
import sys
import threading
import time
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import polars as pl

ROOT = Path(__file__).resolve().parents[1]
PERIOD = "2026-10"
COUNTIES = [("埇桥区", "341302", 37), ("砀山县", "341321", 16), ("萧县", "341322", 23),
            ("灵璧县", "341323", 20), ("泗县", "341324", 26)]  # name, code, townships (122)
LEGACY = {"341302": "342201", "341321": "342221", "341322": "342222", "341323": "342224", "341324": "342225"}
# Beyond 1x the area grows, not its counties (a county of 宿州 already holds 0.7-1.8M people):
# the next cities' county-level units, 122 townships each, with their legacy codes (阜阳地区 3421xx).
MORE_CITIES = [
    [("颍州区", "341202", 15), ("颍东区", "341203", 12), ("颍泉区", "341204", 10), ("临泉县", "341221", 28),
     ("太和县", "341222", 21), ("阜南县", "341225", 16), ("颍上县", "341226", 12), ("界首市", "341282", 8)],
    [("龙子湖区", "340302", 10), ("蚌山区", "340303", 8), ("禹会区", "340304", 12), ("淮上区", "340311", 10),
     ("怀远县", "340321", 30), ("五河县", "340322", 24), ("固镇县", "340323", 28)],
]
LEGACY |= {"341202": "342101", "341203": "342101", "341204": "342101", "341221": "342122", "341222": "342123",
           "341225": "342125", "341226": "342126", "341282": "342127"} | {c: c for _, c, _ in MORE_CITIES[1]}
W17 = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.frombuffer(b"10X98765432", dtype=np.uint8)
SURNAMES = list("王李张刘陈杨赵黄周吴徐孙胡朱高马郭何郑罗宋谢韩唐许曹冯邓程董魏田杜梁林于苏吕蒋丁沈姜范任贾袁彭蔡潘余叶卢汪戴崔姚方夏石孟秦薛侯白武牛郝孔邵史毛常段雷阎钱施洪龚康")
SUR_W = np.array([71, 70, 67, 54, 46, 31, 23, 22, 17, 20, 17, 15, 13, 13, 10, 12, 12, 10, 9, 7, 8, 6, 6, 5, 6, 6, 5,
                  4, 5, 5, 5, 5, 5, 6, 8, 4, 4, 4, 4, 4, 3, 4, 4, 4, 4, 4, 4, 4, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,
                  3, 3, 3, 3, 3, 3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 1, 1, 1, 1, 1], dtype=float)
GIVEN_M = list("建国德永福贵山明强军华伟平文志海林春金宝成刚庆学发忠良全友贤义磊勇杰涛超辉鹏飞亮波俊峰东龙斌浩宇凯鑫子轩博涵晨睿泽豪旭阳天一瑞思嘉铭航")
GIVEN_F = list("秀英兰芳桂玉凤珍梅霞红琴云荣翠花莲素敏丽静娟艳燕玲婷雪娜莉琳慧倩欣怡梓雨萱佳诗悦琪可馨妍梦晓语彤颖")
HOMO = {"明": "铭", "伟": "炜", "静": "婧", "丽": "莉", "华": "化", "军": "君", "英": "瑛", "兰": "岚", "芳": "方",
        "玉": "钰", "红": "虹", "霞": "侠", "杰": "洁", "浩": "皓", "宇": "雨", "涵": "晗", "鑫": "新", "婷": "庭",
        "云": "芸", "琴": "勤", "平": "萍", "文": "雯", "志": "智", "林": "琳", "金": "锦", "成": "诚", "刚": "钢"}
TRAD = {"张": "張", "陈": "陳", "刘": "劉", "杨": "楊", "赵": "趙", "黄": "黃", "孙": "孫", "吴": "吳", "郑": "鄭",
        "许": "許", "冯": "馮", "邓": "鄧", "韩": "韓", "罗": "羅", "谢": "謝", "马": "馬", "龙": "龍", "华": "華"}
PLACE_CHARS = list("大小东西南北前后王李张刘陈杨赵周吴孙朱高马郭何宋韩唐曹许冯董程魏田梁林苏蒋丁沈姜范任袁彭潘叶汪姚夏孟秦侯白黄桥集庄楼圩湖营洼口台店寨湾岗园河沟山岭塘坝桥湖")
MASKS = ["6+4", "4+4", "3+4", "14+0", "birth", "full"]
WIDE = str.maketrans("0123456789", "０１２３４５６７８９")

# Department rows at scale 1 (3,000,000 in all).
ROWS = {"med_settlement": 2_000_000, "med_enrollment": 880_000, "housing": 12_000, "education": 20_000,
        "water": 5_000, "civil": 20_000, "disability": 10_000, "hr": 38_000, "agri": 15_000}


# ------------------------------------------------------------------------------------------
# Generation


def month_days(period: str) -> int:
    y, m = int(period[:4]), int(period[5:7])
    return int((np.datetime64(f"{y + m // 12}-{m % 12 + 1:02d}-01") - np.datetime64(f"{period}-01")).astype(int))


class Gen:
    def __init__(self, scale: float, seed: int = 11, period: str = PERIOD):
        self.scale = scale
        self.period = period  # record numbers and dates of the extracts (not the roster's ages)
        self.rng = np.random.default_rng(seed)
        self.sur_p = SUR_W / SUR_W.sum()
        self._places()

    # places: 122 townships, ~20 villages each at scale 1 (fewer at smaller scales); beyond 1x the
    # next cities' counties (`MORE_CITIES`), 20 villages a township, as many as the scale needs
    def _places(self):
        rng, rows, used = self.rng, [], set()
        per_town_v = max(4, round(20 * min(self.scale, 1.0)))
        extra = [c for city in MORE_CITIES[:max(0, int(np.ceil(self.scale)) - 1)] for c in city]
        self.counties = COUNTIES + extra
        for cname, code, nt in self.counties:
            for _ in range(nt):
                while True:
                    t = "".join(rng.choice(PLACE_CHARS, 2)) + rng.choice(["镇", "乡"])
                    if t not in used:
                        used.add(t)
                        break
                vs = set()
                while len(vs) < per_town_v:
                    vs.add("".join(rng.choice(PLACE_CHARS, 2)) + "村")
                for v in sorted(vs):
                    rows.append((cname, code, t, v))
        self.places = pl.DataFrame(rows, schema=["county", "code", "township", "village"], orient="row")

    def names(self, n: int, sex: np.ndarray, surname: np.ndarray | None = None) -> np.ndarray:
        rng = self.rng
        sur = surname if surname is not None else np.array(SURNAMES)[rng.choice(len(SURNAMES), n, p=self.sur_p)]
        gm, gf = np.array(GIVEN_M), np.array(GIVEN_F)
        g1 = np.where(sex == 1, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
        g2 = np.where(sex == 1, gm[rng.integers(0, len(gm), n)], gf[rng.integers(0, len(gf), n)])
        two = rng.random(n) < 0.75
        return np.char.add(np.char.add(sur, g1), np.where(two, g2, ""))

    def ids(self, place_code: np.ndarray, birth: np.ndarray, sex: np.ndarray) -> np.ndarray:
        """Valid 18-character IDs (S18): region (legacy for many born before 1999), birth, seq, check."""
        rng, n = self.rng, len(birth)
        years = birth.astype("datetime64[Y]").astype(int) + 1970
        legacy = (years < 1999) & (rng.random(n) < 0.6)
        region = np.where(legacy, np.vectorize(LEGACY.get)(place_code) if n else place_code, place_code)
        seq = rng.integers(0, 50, n) * 10 + rng.integers(0, 5, n) * 2 + sex  # last digit odd for men
        ymd = np.char.replace(np.datetime_as_string(birth, unit="D").astype("U10"), "-", "")
        body = np.char.add(np.char.add(region.astype("U6"), ymd), np.char.zfill(seq.astype("U3"), 3))
        digits = np.frombuffer(body.astype("S17").tobytes(), dtype=np.uint8).reshape(n, 17) - 48
        chk = CHECK[(digits * W17).sum(1) % 11]
        out = np.empty((n, 18), dtype=np.uint8)
        out[:, :17] = digits + 48
        out[:, 17] = chk
        return out.view("S18").ravel()

    def people(self, n: int, min_age=0, max_age=95) -> pl.DataFrame:
        rng = self.rng
        sex = rng.integers(0, 2, n)
        age_days = rng.integers(min_age * 365, max_age * 365, n)
        birth = np.datetime64("2026-10-01") - age_days.astype("timedelta64[D]")
        pidx = rng.integers(0, self.places.height, n)
        pl_ = self.places[pidx]
        ids = self.ids(pl_["code"].to_numpy().astype("U6"), birth, sex)
        return pl_.with_columns(
            name=pl.Series(self.names(n, sex)), id18=pl.Series(ids.astype("U18")),
            sex=pl.Series(np.where(sex == 1, "男", "女")), birth=pl.Series(birth),
        )

    def roster(self) -> tuple[pl.DataFrame, pl.DataFrame]:
        rng = self.rng
        n = int(1_000_000 * self.scale)
        sizes = rng.choice([1, 2, 3, 4, 5, 6], int(n / 2.5) + 10, p=[.15, .25, .22, .2, .12, .06])
        sizes = sizes[: np.searchsorted(np.cumsum(sizes), n) + 1]
        sizes[-1] -= sizes.sum() - n
        nh = len(sizes)
        hh = np.repeat(np.arange(nh), sizes)
        member = np.arange(n) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        hp = rng.integers(0, self.places.height, nh)
        pl_ = self.places[hp[hh]]
        sex = np.where(member == 0, (rng.random(n) < 0.85).astype(int), rng.integers(0, 2, n))
        sex = np.where(member == 1, 1 - sex[np.maximum(np.arange(n) - 1, 0)], sex)
        age = np.where(member <= 1, rng.integers(28, 88, n), rng.integers(0, 60, n))
        birth = np.datetime64("2026-10-01") - (age * 365 + rng.integers(0, 365, n)).astype("timedelta64[D]")
        hsur = np.array(SURNAMES)[rng.choice(len(SURNAMES), nh, p=self.sur_p)]
        sur = np.where(member == 1, np.array(SURNAMES)[rng.choice(len(SURNAMES), n, p=self.sur_p)], hsur[hh])
        ids = self.ids(pl_["code"].to_numpy().astype("U6"), birth, sex).astype("U18")
        income = rng.integers(5000, 30000, nh)
        htype = np.where(rng.random(nh) < 0.8, "脱贫户", "监测户")
        cat = np.where(htype == "监测户", rng.choice(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"], nh), "")
        rel = np.select([member == 0, member == 1], ["户主", "配偶"], "子女")
        hid = np.char.add("H", np.char.zfill(np.arange(nh).astype("U8"), 8))
        grp = rng.integers(1, 10, nh)
        roster = pl.DataFrame({
            "县（市、区）": pl_["county"], "乡（镇）": pl_["township"], "行政村": pl_["village"],
            "村民小组": pl.Series(np.char.add(grp[hh].astype("U2"), "组")),
            "户编号": hid[hh], "人编号": np.char.add(np.char.add(hid[hh], "-"), np.char.zfill((member + 1).astype("U2"), 2)),
            "姓名": self.names(n, sex, sur), "证件号码": ids, "性别": np.where(sex == 1, "男", "女"),
            "与户主关系": rel, "家庭人口数": sizes[hh].astype("U1"), "户类型": htype[hh], "监测对象类别": cat[hh],
            "风险是否已消除": np.where(htype[hh] == "监测户", "否", ""), "年人均纯收入（元）": income[hh].astype("U6"),
            "联系电话": np.char.add("138", np.char.zfill(rng.integers(0, 10**8, n).astype("U8"), 8)),
        })
        # grid: villages' households in chunks of ~90 (a few over 100: a quality finding)
        hdf = roster.filter(pl.col("与户主关系") == "户主").select("乡（镇）", "行政村", "村民小组", "户编号")
        hdf = hdf.sort("乡（镇）", "行政村").with_columns(
            k=(pl.int_range(pl.len()).over("乡（镇）", "行政村") // 90))
        gid = hdf.select("乡（镇）", "行政村", "k").unique(maintain_order=True).with_row_index("g")
        grid = hdf.join(gid, on=["乡（镇）", "行政村", "k"]).select(
            pl.format("WG{}", pl.col("g").cast(pl.String).str.zfill(6)).alias("网格编号"), "乡（镇）", "行政村", "村民小组",
            pl.format("网格长{}", "g").alias("网格长"), pl.lit("13900000000").alias("网格长电话"),
            pl.format("网格员{}", "g").alias("网格员"), pl.lit("13700000000").alias("网格员电话"), "户编号")
        return roster, grid

    # --- dirt -------------------------------------------------------------------------------
    def mask_ids(self, ids: np.ndarray, weights=(0.45, 0.15, 0.08, 0.08, 0.04, 0.20)) -> np.ndarray:
        rng, n = self.rng, len(ids)
        a = np.frombuffer(ids.astype("S18").tobytes(), dtype=np.uint8).reshape(n, 18).copy()
        typo = rng.random(n) < 0.006
        pos = rng.integers(0, 17, n)
        a[typo, pos[typo]] = 48 + (a[typo, pos[typo]] - 48 + 1) % 10
        style = rng.choice(len(MASKS), n, p=np.array(weights) / sum(weights))
        keep = np.zeros((len(MASKS), 18), dtype=bool)
        keep[0, :6] = keep[0, 14:] = True
        keep[1, :4] = keep[1, 14:] = True
        keep[2, :3] = keep[2, 14:] = True
        keep[3, :14] = True
        keep[4, 6:14] = True
        keep[5, :] = True
        a = np.where(keep[style], a, ord("*")).astype(np.uint8)
        out = a.view("S18").ravel().astype("U18")
        u = rng.random(n)
        out = np.where(u < 0.02, np.char.add("'", out), out)
        out = np.where((u >= 0.02) & (u < 0.03), np.char.lower(out), out)
        s = pl.Series(out)
        full = style == 5
        fifteen = full & (u >= 0.035) & (u < 0.04)
        destroyed = (u >= 0.04) & (u < 0.044)
        wide = (u >= 0.044) & (u < 0.05)
        star = (u >= 0.05) & (u < 0.07)
        df = pl.DataFrame({"s": s, "f": fifteen, "d": destroyed, "w": wide, "st": star})
        df = df.with_columns(s=pl.when("f").then(pl.col("s").str.slice(0, 6) + pl.col("s").str.slice(8, 9))
                             .when("d").then(pl.col("s").str.slice(0, 1) + pl.lit(".") + pl.col("s").str.slice(1, 5) + pl.lit("E+17"))
                             .when("st").then(pl.col("s").str.replace_all("*", "＊", literal=True))
                             .otherwise("s"))
        out = df["s"].to_numpy().astype(object)
        wi = np.flatnonzero(wide)
        out[wi] = [v.translate(WIDE) for v in out[wi]]
        return out

    def dirty_names(self, names: pl.Series, mask_share: float) -> pl.Series:
        rng, n = self.rng, len(names)
        u = rng.random(n)
        kind = np.select([u < mask_share * 0.5, u < mask_share * 0.8, u < mask_share * 0.9, u < mask_share,
                          u < mask_share + 0.015, u < mask_share + 0.02, u < mask_share + 0.025,
                          u < mask_share + 0.03, u < mask_share + 0.035], list(range(1, 10)), 0)
        s, L = pl.col("n"), pl.col("n").str.len_chars()
        last = s.str.slice(-1)
        expr = (
            pl.when(pl.col("k") == 1).then(s.str.slice(0, 1) + pl.when(L == 3).then(pl.lit("*") + last).otherwise(pl.lit("*")))
            .when(pl.col("k") == 2).then(s.str.slice(0, 1) + pl.lit("*") + pl.when(L == 3).then(pl.lit("*")).otherwise(pl.lit("")))
            .when(pl.col("k") == 3).then(pl.lit("*") + last)
            .when(pl.col("k") == 4).then(s.str.slice(0, 1) + pl.lit("*"))
            .when(pl.col("k") == 5).then(s.str.slice(0, L - 1) + last.replace(HOMO))
            .when(pl.col("k") == 6).then(s.str.slice(0, 1).replace(TRAD) + s.str.slice(1))
            .when((pl.col("k") == 7) & (L == 3)).then(s.str.slice(0, 2))
            .when((pl.col("k") == 8) & (L == 3)).then(s.str.slice(0, 1) + s.str.slice(2, 1) + s.str.slice(1, 1))
            .when(pl.col("k") == 9).then(s.str.slice(0, 1) + pl.lit(" ") + s.str.slice(1))
            .otherwise(s)
        )
        return pl.DataFrame({"n": names, "k": kind}).select(expr)["n"]

    def enrollment(self, roster: pl.DataFrame, m: int) -> pl.DataFrame:
        """医保 enrollment: ~86% of the roster + off-roster insured."""
        rng = self.rng
        k = min(int(roster.height * 0.86), m - 1)
        on = roster[rng.permutation(roster.height)[:k]].select(name="姓名", id18="证件号码")
        off = self.people(m - k).select("name", "id18")
        w = pl.concat([on, off])[rng.permutation(m)]
        return pl.DataFrame({
            "人员编号": np.char.add("CB", np.char.zfill(np.arange(m).astype("U9"), 9)),
            "姓名": self.dirty_names(w["name"], 0.2), "证件号码": self.mask_ids(w["id18"].to_numpy(), (0.6, 0.1, 0.05, 0.05, 0, 0.2)),
            "参保状态": rng.choice(["正常参保", "暂停参保", "终止参保"], m, p=[.97, .02, .01]), "参保年度": "2026",
        })

    def who(self, roster: pl.DataFrame, n: int, share: float, min_age=0, max_age=95) -> pl.DataFrame:
        """n record persons: `share` drawn from the roster, the rest off-roster (some repeat)."""
        rng = self.rng
        k = int(round(n * share))
        on = roster[rng.integers(0, roster.height, k)].select(
            township="乡（镇）", village="行政村", name="姓名", id18="证件号码", on=pl.lit(True))
        pool = self.people(max(1, int((n - k) / 1.3)), min_age, max_age)
        off = pool[rng.integers(0, pool.height, n - k)].select("township", "village", "name", "id18", on=pl.lit(False))
        both = pl.concat([on, off])
        return both[rng.permutation(n)]

    def dates(self, n: int, bad: float = 0.0) -> np.ndarray:
        start, days = np.datetime64(f"{self.period}-01"), month_days(self.period)
        d = (start + self.rng.integers(0, days, n).astype("timedelta64[D]")).astype("U10")
        if bad:
            d = np.where(self.rng.random(n) < bad, "2026-13-45", d)
        return d

    def money(self, x: np.ndarray) -> np.ndarray:
        return np.char.mod("%.2f", np.round(x, 2))

    def extracts(self, roster: pl.DataFrame, year: "YearWorld | None" = None) -> dict[str, pl.DataFrame]:
        """The period's department extracts. `year` (a month of `--year`): settlements' off-roster
        persons come from the city's one population (`YearWorld.pool`), so a person settles in
        several months, at costs of a whole year's scale; the 参保名单 is the world's (re-delivered
        each month, not made here)."""
        rng, sc = self.rng, self.scale
        n = {k: max(50, int(v * sc)) for k, v in ROWS.items()}
        out = {}
        P = self.period.replace("-", "")

        def rid(prefix, m):
            return np.char.add(f"{prefix}{P}", np.char.zfill(np.arange(m).astype("U9"), 9))

        # 医保 settlements
        m = n["med_settlement"]
        w = self.who(roster, m, 0.11) if year is None else year.who(rng, roster, m, 0.11)
        total = np.exp(rng.normal(7.5 if year is None else YEAR_COST_MU, 1.2, m))
        fund = total * rng.uniform(0.4, 0.8, m)
        oop = total - fund
        out["med_settlement"] = pl.DataFrame({
            "结算流水号": rid("JS", m), "姓名": self.dirty_names(w["name"], 0.4), "证件号码": self.mask_ids(w["id18"].to_numpy()),
            "参保地": w["township"], "就诊机构": rng.choice(["宿州市立医院", "县人民医院", "乡镇卫生院", "县中医院"], m),
            "就诊类型": rng.choice(["住院", "门诊慢特病", "普通门诊"], m, p=[.3, .2, .5]),
            "入院日期": self.dates(m), "结算日期": self.dates(m, 0.001), "医疗总费用": self.money(total),
            "统筹支付": self.money(fund), "大病保险支付": "0.00", "医疗救助支付": "0.00",
            "个人自付": np.where(rng.random(m) < 0.0005, "-12.00", self.money(oop)),
        })
        if year is None:
            out["med_enrollment"] = self.enrollment(roster, n["med_enrollment"])
        # 住建
        m = n["housing"]
        w = self.who(roster, m, 0.11, 25)
        out["housing"] = pl.DataFrame({
            "鉴定编号": rid("ZJ", m), "户主姓名": self.dirty_names(w["name"], 0.1), "证件号码": self.mask_ids(w["id18"].to_numpy()),
            "乡（镇）": w["township"], "行政村": w["village"], "村民小组": np.char.add(rng.integers(1, 10, m).astype("U1"), "组"),
            "鉴定等级": rng.choice(list("ABCD"), m, p=[.5, .3, .15, .05]), "鉴定日期": self.dates(m, 0.002),
            "改造状态": rng.choice(["未改造", "改造中", "已改造"], m),
        })
        # 教育
        m = n["education"]
        w = self.who(roster, m, 0.11, 4, 22)
        out["education"] = pl.DataFrame({
            "学籍号": np.char.add("G", w["id18"].to_numpy().astype("U18")), "学生姓名": self.dirty_names(w["name"], 0.2),
            "证件号码": self.mask_ids(w["id18"].to_numpy()), "学校名称": rng.choice(["第一小学", "第二中学", "职业学校", "实验中学"], m),
            "学段": rng.choice(["学前", "小学", "初中", "高中", "中职", "高校"], m),
            "学籍状态": rng.choice(["在读", "休学", "辍学", "转出", "毕业"], m, p=[.6, .05, .03, .2, .12]),
            "异动日期": self.dates(m), "本学年个人负担费用": self.money(rng.uniform(0, 20000, m)),
        })
        # 水利 (places, no person)
        m = n["water"]
        pidx = rng.integers(0, self.places.height, m)
        pl_ = self.places[pidx]
        out["water"] = pl.DataFrame({
            "工单编号": rid("GS", m), "乡（镇）": pl_["township"], "行政村": pl_["village"],
            "村民小组": np.where(rng.random(m) < 0.5, "", np.char.add(rng.integers(1, 10, m).astype("U1"), "组")),
            "问题类型": rng.choice(["有管无水", "频繁停水断水", "水质较差", "高价买水", "其他"], m),
            "发现日期": self.dates(m), "解决日期": np.where(rng.random(m) < 0.7, self.dates(m), ""),
            "影响户数": rng.integers(1, 40, m).astype("U3"),
        })
        # 民政
        m = n["civil"]
        w = self.who(roster, m, 0.11)
        out["civil"] = pl.DataFrame({
            "记录编号": rid("MZ", m), "姓名": self.dirty_names(w["name"], 0.1), "公民身份号码": self.mask_ids(w["id18"].to_numpy()),
            "乡（镇）": w["township"], "行政村": w["village"], "救助类别": rng.choice(["低保", "特困", "临时救助", "孤儿"], m),
            "变动类型": rng.choice(["新增", "停发", "调整", "死亡注销"], m, p=[.4, .2, .3, .1]),
            "变动日期": self.dates(m), "月救助金额": rng.integers(100, 1200, m).astype("U5"),
        })
        # 残联 (cert number = full ID + type + level)
        m = n["disability"]
        w = self.who(roster, m, 0.11)
        level = rng.integers(1, 5, m)
        out["disability"] = pl.DataFrame({
            "残疾人证号": np.char.add(np.char.add(w["id18"].to_numpy().astype("U18"), rng.integers(1, 8, m).astype("U1")), level.astype("U1")),
            "姓名": self.dirty_names(w["name"], 0.3), "残疾类别": rng.choice(["视力", "听力", "肢体", "智力", "精神"], m),
            "残疾等级": np.array(["一级", "二级", "三级", "四级"])[level - 1], "办证类型": rng.choice(["新办", "换领", "注销"], m),
            "发证日期": self.dates(m), "乡（镇）": w["township"],
        })
        # 人社
        m = n["hr"]
        w = self.who(roster, m, 0.11, 16, 65)
        out["hr"] = pl.DataFrame({
            "记录编号": rid("RS", m), "姓名": self.dirty_names(w["name"], 0.3), "身份证号码": self.mask_ids(w["id18"].to_numpy()),
            "事件类型": rng.choice(["失业登记", "停止缴费", "就业登记", "返乡登记"], m), "事件日期": self.dates(m, 0.002),
            "连续未缴费月数": rng.integers(0, 8, m).astype("U1"),
        })
        # 农业农村
        m = n["agri"]
        w = self.who(roster, m, 0.11, 25)
        out["agri"] = pl.DataFrame({
            "报案编号": rid("NY", m), "户主姓名": self.dirty_names(w["name"], 0.1), "证件号码": self.mask_ids(w["id18"].to_numpy()),
            "乡（镇）": w["township"], "行政村": w["village"],
            "灾害类型": rng.choice(["洪涝", "干旱", "冰雹", "风灾", "病虫害", "畜禽疫病", "产业项目失败"], m),
            "损失金额（元）": self.money(np.exp(rng.normal(8, 1, m))), "发生日期": self.dates(m),
        })
        return out


def write_csv(path: Path, df: pl.DataFrame, encoding="utf-8", title: str | None = None, total=False, crlf=False):
    path.parent.mkdir(parents=True, exist_ok=True)
    text = df.write_csv(line_terminator="\r\n" if crlf else "\n")
    nl = "\r\n" if crlf else "\n"
    if title:
        text = title + "," * (df.width - 1) + nl + text
    if total:
        text += f"合计,共{df.height}条" + "," * (df.width - 2) + nl
    path.write_bytes(text.encode(encoding))


def write_xlsx(path: Path, df: pl.DataFrame, title: str | None = None):
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("Sheet1")
    r = 0
    if title:
        ws.write_row(r, 0, [title])
        r += 2
    ws.write_row(r, 0, df.columns)
    for row in df.iter_rows():
        r += 1
        ws.write_row(r, 0, row)
    wb.close()


ENCS = ["gb18030", "utf-8", "utf-8-sig"]


def write_period(pdir: Path, period: str, g: Gen, roster: pl.DataFrame, grid: pl.DataFrame,
                 ex: dict[str, pl.DataFrame], enrollment_files: list[Path] | None = None) -> None:
    """One period's inbox folder. `enrollment_files`: the 参保名单 as already written (a snapshot
    re-delivered every month), hard-linked under this period's names instead of written again."""
    write_csv(pdir / "户籍底册" / "防返贫监测对象.csv", roster, "utf-8-sig")
    write_csv(pdir / "网格" / "网格划分.csv", grid, "gb18030")
    encs = ENCS
    # settlements: per county, two batches; enrollment per county
    st = ex["med_settlement"].with_row_index("_i")
    county_of = dict(zip(g.places["township"], g.places["county"]))
    st = st.with_columns(_c=pl.col("参保地").replace_strict(county_of, default="埇桥区"))
    for ci, (cname, _, _) in enumerate(g.counties):
        part = st.filter(pl.col("_c") == cname).drop("_i", "_c")
        half = part.height // 2
        for b, sub in enumerate([part[:half], part[half:]]):
            enc = encs[(ci * 2 + b) % 3]
            write_csv(pdir / "医保" / f"结算明细_{period}_{cname}_第{b + 1}批.csv", sub, enc,
                      title=f"宿州市医疗保障局{period}结算明细" if b == 0 else None, total=(b == 1), crlf=(ci == 3))
    if enrollment_files is not None:
        for ci, src in enumerate(enrollment_files):
            dst = pdir / "医保" / f"参保名单_{period}_{ci + 1}.csv"
            dst.unlink(missing_ok=True)
            os.link(src, dst)
    else:
        en = ex["med_enrollment"]
        k = len(g.counties)
        for ci in range(k):
            write_csv(pdir / "医保" / f"参保名单_{period}_{ci + 1}.csv", en[ci * en.height // k:(ci + 1) * en.height // k],
                      encs[ci % 3])
    write_xlsx(pdir / "住建" / f"住房安全鉴定_{period}.xlsx", ex["housing"], title="宿州市住房和城乡建设局 农村住房安全鉴定")
    write_xlsx(pdir / "教育" / f"学籍异动_{period}.xlsx", ex["education"])
    write_csv(pdir / "水利" / f"农村供水问题台账_{period}.csv", ex["water"], "utf-8-sig")
    write_csv(pdir / "民政" / f"救助变动_{period}.csv", ex["civil"], "utf-8-sig", total=True)
    write_csv(pdir / "残联" / f"残疾人证_{period}.csv", ex["disability"], "gb18030", crlf=True)
    write_csv(pdir / "人社" / f"就业社保变动_{period}.csv", ex["hr"], "gb18030", title="宿州市人力资源和社会保障局")
    write_csv(pdir / "农业农村" / f"灾情损失_{period}.csv", ex["agri"], "utf-8", crlf=True)
    (pdir / "农业农村" / f"灾情损失_{period}(1).csv").write_bytes((pdir / "农业农村" / f"灾情损失_{period}.csv").read_bytes())


def generate(inbox: Path, scale: float) -> dict:
    t0 = time.perf_counter()
    g = Gen(scale)
    roster, grid = g.roster()
    ex = g.extracts(roster)
    write_period(inbox / PERIOD, PERIOD, g, roster, grid, ex)
    meta = {"scale": scale, "roster": roster.height, "grid": grid.height,
            "rows": {k: v.height for k, v in ex.items()}, "dept_rows": sum(v.height for v in ex.values()),
            "seconds": round(time.perf_counter() - t0, 1)}
    (inbox / "meta.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    return meta


# ------------------------------------------------------------------------------------------
# A year of months (`--year`): the same city every month, its warehouse growing


YEAR_COST_MU = 6.2  # ln 元 of a settlement's total cost in a year's months (~1,000 元 mean, ~400 自付):
#                     the single period's 7.5 (~3,700) summed over twelve months would put most
#                     of the city over M3's 20,000 元
POOL = 4_300_000  # off-roster insured persons per 1x: 宿州's ~5.3M residents less the roster
CHURN = {"add_households": 400, "rename": 100, "split": 100, "remove": 300}  # roster changes a month, per 1x


class YearWorld:
    """The city of a year of months: the roster and grid of the single-period benchmark (same
    seed), the city's off-roster insured (`pool`, each with a weight: some settle every month,
    most once or twice a year) and one 参保名单 snapshot re-delivered every month. Each month
    after the first changes the roster a little (`CHURN` per 1x): households added (persons of
    the pool, so their earlier settlements become theirs), names corrected, a member split into
    a household of their own (a new 户编号 and 人编号), members removed. Deterministic: month m is
    seeded (11, year, m)."""

    def __init__(self, scale: float, base: Path):
        t0 = time.perf_counter()
        self.scale = scale
        g = Gen(scale)
        self.places, self.counties = g.places, g.counties
        cached = base / "roster.parquet"
        if cached.exists():
            self.roster0 = pl.read_parquet(cached)
            self.grid0 = pl.read_parquet(base / "grid.parquet")
            self.pool = pl.read_parquet(base / "pool.parquet")
        else:
            self.roster0, self.grid0 = g.roster()
            g.rng = np.random.default_rng([11, 0xB001])
            n = max(1000, int(POOL * scale))
            self.pool = g.people(n).with_columns(w=pl.Series(g.rng.lognormal(0.0, 1.0, n)))
            base.mkdir(parents=True, exist_ok=True)
            self.roster0.write_parquet(cached)
            self.grid0.write_parquet(base / "grid.parquet")
            self.pool.write_parquet(base / "pool.parquet")
        self.p = (self.pool["w"] / self.pool["w"].sum()).to_numpy()
        self.enrollment_files = sorted((base / "医保").glob("参保名单_*.csv"))
        if not self.enrollment_files:
            g.rng = np.random.default_rng([11, 0xE001])
            en = g.enrollment(self.roster0, max(50, int(ROWS["med_enrollment"] * scale)))
            k = len(self.counties)
            for ci in range(k):
                write_csv(base / "医保" / f"参保名单_{ci + 1}.csv", en[ci * en.height // k:(ci + 1) * en.height // k], ENCS[ci % 3])
            self.enrollment_files = sorted((base / "医保").glob("参保名单_*.csv"))
        self.seconds = time.perf_counter() - t0

    def who(self, rng, roster: pl.DataFrame, n: int, share: float) -> pl.DataFrame:
        """Settlements' persons: `share` from this month's roster, the rest from the pool by weight."""
        k = int(round(n * share))
        on = roster[rng.integers(0, roster.height, k)].select(
            township="乡（镇）", village="行政村", name="姓名", id18="证件号码", on=pl.lit(True))
        off = self.pool[rng.choice(self.pool.height, n - k, p=self.p)].select(
            "township", "village", "name", "id18", on=pl.lit(False))
        return pl.concat([on, off])[rng.permutation(n)]

    def roster(self, year: int, month: int) -> tuple[pl.DataFrame, pl.DataFrame, dict]:
        """Month `month`'s roster and grid: the first month's, changed by every month since."""
        roster, grid, said = self.roster0, self.grid0, {}
        taken: set[int] = set()
        for m in range(2, month + 1):
            roster, grid, said = self._change(roster, grid, year, m, taken)
        return roster, grid, said

    def _change(self, roster, grid, year, m, taken):
        rng = np.random.default_rng([11, year, m, 0xC4])
        c = {k: max(1, int(v * self.scale)) for k, v in CHURN.items()}
        cols = roster.columns
        # members removed (not heads: the household stays)
        members = np.flatnonzero((roster["与户主关系"] != "户主").to_numpy())
        gone = rng.choice(members, c["remove"] + c["rename"] + c["split"], replace=False)
        rm, rn, sp = np.split(gone, [c["remove"], c["remove"] + c["rename"]])
        # names corrected: the last character replaced
        given = np.array(GIVEN_M + GIVEN_F)[rng.integers(0, len(GIVEN_M) + len(GIVEN_F), len(rn))]
        fix = pl.DataFrame({"_r": rn, "_n": given})
        roster = roster.with_row_index("_r").join(fix, on="_r", how="left").with_columns(
            姓名=pl.when(pl.col("_n").is_not_null()).then(pl.col("姓名").str.slice(0, 1) + pl.col("_n")).otherwise("姓名"))
        # a member split off into a household of their own (same village)
        hid = np.char.add(f"H9{m:02d}", np.char.zfill(np.arange(len(sp)).astype("U5"), 5))
        split = roster.filter(pl.col("_r").is_in(sp.tolist())).with_columns(
            户编号=pl.Series(hid), 与户主关系=pl.lit("户主"), 家庭人口数=pl.lit("1")).with_columns(
            人编号=pl.col("户编号") + "-01")
        roster = pl.concat([roster.filter(~pl.col("_r").is_in(np.concatenate([rm, sp]).tolist())), split]).select(cols)
        # households added: persons of the pool (their earlier settlements are theirs)
        sizes = rng.choice([1, 2, 3, 4, 5], c["add_households"], p=[.2, .3, .25, .15, .1])
        free = np.setdiff1d(rng.choice(self.pool.height, sizes.sum() * 2, replace=False), list(taken))[: sizes.sum()]
        free = rng.permutation(free)[: sizes.sum()]
        sizes[-1] -= sizes.sum() - len(free)
        taken.update(free.tolist())
        who = self.pool[free]
        h = np.repeat(np.arange(len(sizes)), sizes)
        member = np.arange(len(free)) - np.repeat(np.cumsum(sizes) - sizes, sizes)
        head = who[np.repeat(np.cumsum(sizes) - sizes, sizes)]
        hids = np.char.add(f"H9{m:02d}", np.char.zfill((h + len(sp)).astype("U5"), 5))
        county_of = dict(zip(self.places["township"], self.places["county"]))
        added = pl.DataFrame({
            "县（市、区）": head["township"].replace_strict(county_of), "乡（镇）": head["township"], "行政村": head["village"],
            "村民小组": np.char.add(rng.integers(1, 10, len(sizes))[h].astype("U1"), "组"), "户编号": hids,
            "人编号": np.char.add(np.char.add(hids, "-"), np.char.zfill((member + 1).astype("U2"), 2)),
            "姓名": who["name"], "证件号码": who["id18"], "性别": who["sex"],
            "与户主关系": np.select([member == 0, member == 1], ["户主", "配偶"], "子女"),
            "家庭人口数": sizes[h].astype("U1"), "户类型": "监测户",
            "监测对象类别": rng.choice(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"], len(sizes))[h],
            "风险是否已消除": "否", "年人均纯收入（元）": rng.integers(5000, 30000, len(sizes))[h].astype("U6"),
            "联系电话": np.char.add("138", np.char.zfill(rng.integers(0, 10**8, len(free)).astype("U8"), 8)),
        })
        roster = pl.concat([roster, added.select(cols)])
        # the grid lists the new households in their village's first grid
        new_h = pl.concat([split.select(cols), added.select(cols)]).filter(pl.col("与户主关系") == "户主").select("乡（镇）", "行政村", "村民小组", "户编号")
        first = grid.group_by("乡（镇）", "行政村", maintain_order=True).first().drop("村民小组", "户编号")
        grid = pl.concat([grid, new_h.join(first, on=["乡（镇）", "行政村"]).select(grid.columns)])
        return roster, grid, {"removed": len(rm), "renamed": len(rn), "split": len(sp), "added": len(free)}


def generate_month(root: Path, world: YearWorld, period: str) -> dict:
    """root/<period>/ for one month of the year (cached: root/meta_<period>.json)."""
    if (root / f"meta_{period}.json").exists():
        return json.loads((root / f"meta_{period}.json").read_text())
    t0 = time.perf_counter()
    y, m = int(period[:4]), int(period[5:7])
    roster, grid, churn = world.roster(y, m)
    g = Gen(world.scale, seed=11, period=period)
    g.rng = np.random.default_rng([11, y, m])
    ex = g.extracts(roster, year=world)
    pdir = root / period
    if pdir.exists():
        import shutil

        shutil.rmtree(pdir)
    write_period(pdir, period, g, roster, grid, ex, world.enrollment_files)
    en_rows = sum(max(0, sum(1 for _ in open(f, "rb")) - 1) for f in world.enrollment_files)
    rows = {k: v.height for k, v in ex.items()} | {"med_enrollment": en_rows}
    meta = {"scale": world.scale, "period": period, "roster": roster.height, "grid": grid.height, "rows": rows,
            "dept_rows": sum(rows.values()), "roster_changes": churn, "seconds": round(time.perf_counter() - t0, 1)}
    (root / f"meta_{period}.json").write_text(json.dumps(meta, ensure_ascii=False, indent=1))
    return meta


# ------------------------------------------------------------------------------------------
# Measuring


def polars_read_all(pdir: Path) -> float:
    """Seconds to read every file with polars alone (no validation): the floor for ingest."""
    t0 = time.perf_counter()
    for p in sorted(pdir.rglob("*")):
        if p.suffix == ".csv":
            data = p.read_bytes()
            try:
                text = data.decode("utf-8-sig")
            except UnicodeDecodeError:
                text = data.decode("gb18030")
            pl.read_csv(text.encode(), infer_schema=False, truncate_ragged_lines=True)
        elif p.suffix == ".xlsx":
            pl.read_excel(p)
    return time.perf_counter() - t0


def _tree_rss(pid: int) -> int:
    """RSS (bytes) of pid and its descendants, from /proc."""
    kids: dict[int, list[int]] = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                with open(f"/proc/{d}/stat") as fh:
                    ppid = int(fh.read().rsplit(")", 1)[1].split()[1])
                kids.setdefault(ppid, []).append(int(d))
            except OSError:
                pass
    total, todo = 0, [pid]
    while todo:
        p = todo.pop()
        todo += kids.get(p, [])
        try:
            with open(f"/proc/{p}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
        except OSError:
            pass
    return total


STEP = re.compile(r"\[(\d\d:\d\d:\d\d)\]\s+([\d.]+)s\s+(.+?)\s*(FAILED)?\s*(?=\[\d\d:\d\d:\d\d\]|$)")


def run_flow(inbox: Path, out: Path, timeout: float, max_rss: float, period: str = PERIOD,
             issue_date: str = "2026-11-03", root: Path = ROOT) -> dict:
    env = dict(os.environ, PREFECT_LOGGING_LEVEL="WARNING", PREFECT_SERVER_ANALYTICS_ENABLED="false")
    env.setdefault("PREFECT_HOME", str(out.parent / ".prefect"))
    # This 参保名单 holds 86% of the roster and 20,000 others per 1x, none of them a settlement's
    # person: the run measures it holds none of the insured off-roster people (数据质量报告).
    cmd = [sys.executable, str(root / "flows.py"), "run", "--inbox", str(inbox), "--period", period,
           "--out", str(out), "--issue-date", issue_date]
    samples: list[tuple[float, int]] = []
    cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    t0 = time.time()
    # its own process group: a kill also ends the temporary Prefect server the run started
    proc = subprocess.Popen(cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                            start_new_session=True)
    kill = lambda: os.killpg(proc.pid, signal.SIGKILL)  # noqa: E731
    stop = threading.Event()

    killed = []

    def sample():
        while not stop.is_set():
            samples.append((time.time(), _tree_rss(proc.pid)))
            if samples[-1][1] > max_rss:  # a shared machine: never let the run push others into swap/OOM
                killed.append(samples[-1][1])
                kill()
                break
            stop.wait(0.2)

    th = threading.Thread(target=sample, daemon=True)
    th.start()
    steps, err_lines = [], []

    def read_err():
        for line in proc.stderr:
            err_lines.append(line.rstrip())
            for m in STEP.finditer(line.strip()):
                steps.append({"name": m.group(3), "s": float(m.group(2)), "end": time.time(), "ok": not m.group(4)})
                print(f"    {m.group(0).strip()}", file=sys.stderr, flush=True)

    te = threading.Thread(target=read_err, daemon=True)
    te.start()
    out_chunks: list[str] = []
    to = threading.Thread(target=lambda: out_chunks.append(proc.stdout.read()), daemon=True)
    to.start()
    try:
        rc = proc.wait(timeout=timeout)  # not communicate(): the stderr thread alone reads stderr
    except subprocess.TimeoutExpired:
        kill()
        proc.wait()
        rc = f"timeout after {timeout:.0f} s"
    to.join(5)
    stdout = "".join(out_chunks)
    wall = time.time() - t0
    if killed:
        rc = f"killed: RSS {killed[0] / 2**30:.1f} GiB over the --max-rss-gib limit"
    stop.set()
    th.join()
    te.join(5)
    cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
    ru = cpu1.ru_maxrss * 1024
    for s in steps:
        start = s["end"] - s["s"]
        inside = [r for t, r in samples if start - 0.2 <= t <= s["end"] + 0.2]
        s["peak"] = max(inside) if inside else None
    return {"rc": rc, "wall": wall, "steps": steps, "peak_tree": max((r for _, r in samples), default=0),
            "maxrss_child": ru, "stdout": stdout[-2000:], "stderr_tail": err_lines[-15:],
            # CPU seconds of the run (user + system, with the processes it waited for): unlike wall
            # time, not stretched by a shared host's slow disk or busy neighbours
            "cpu": (cpu1.ru_utime - cpu0.ru_utime) + (cpu1.ru_stime - cpu0.ru_stime)}


def stage_rows(name: str, meta: dict) -> int | None:
    r = meta["rows"]
    if name.startswith("ingest "):
        d = name.split(" ", 1)[1]
        return {"医保": r["med_settlement"] + r["med_enrollment"], "户籍底册": meta["roster"], "网格": meta["grid"],
                "住建": r["housing"], "教育": r["education"], "水利": r["water"], "民政": r["civil"],
                "残联": r["disability"], "人社": r["hr"], "农业农村": r["agri"] * 2}.get(d)
    if name in ("collect_records", "link_records"):
        return meta["dept_rows"] - r["water"]
    return meta["dept_rows"]


def bench(scale: float, work: Path, timeout: float, gen_only: bool, max_rss: float) -> dict | None:
    inbox = work / f"inbox_{scale:g}"
    if (inbox / "meta.json").exists():
        meta = json.loads((inbox / "meta.json").read_text())
        print(f"scale {scale:g}: cached inbox {inbox}", file=sys.stderr)
    else:
        print(f"scale {scale:g}: generating {inbox} ...", file=sys.stderr, flush=True)
        meta = generate(inbox, scale)
        print(f"  generated in {meta['seconds']} s: roster {meta['roster']:,}, dept rows {meta['dept_rows']:,}", file=sys.stderr)
    if gen_only:
        return None
    base = polars_read_all(inbox / PERIOD)
    out = work / f"out_{scale:g}_{datetime.now():%H%M%S}"
    print(f"scale {scale:g}: polars-only read {base:.1f} s; running the flow -> {out}", file=sys.stderr, flush=True)
    res = run_flow(inbox, out, timeout, max_rss)
    res |= {"scale": scale, "meta": meta, "polars_read": base, "started": f"{datetime.now():%Y-%m-%d %H:%M} (local)"}
    return res


def span(steps: list[dict]) -> float:
    """Seconds covered by the steps' intervals (departments are ingested side by side, so their
    times overlap: this is the wall time they took together)."""
    total, reach = 0.0, float("-inf")
    for lo, hi in sorted((st["end"] - st["s"], st["end"]) for st in steps):
        if hi > reach:
            total += hi - max(lo, reach)
            reach = hi
    return total


def gib(b) -> str:
    return f"{b / 2**30:.2f}" if b else "-"


def report(results: list[dict]) -> None:
    for r in results:
        m = r["meta"]
        print(f"\n### scale {r['scale']:g}: roster {m['roster']:,}, department rows {m['dept_rows']:,} "
              f"— exit {r['rc']}, wall {r['wall']:.1f} s, CPU {r.get('cpu', 0):.1f} s, peak RSS {gib(r['peak_tree'])} GiB "
              f"(getrusage max child {gib(r['maxrss_child'])} GiB), polars-only read {r['polars_read']:.1f} s, "
              f"run/read ratio {r['wall'] / max(r['polars_read'], 1e-9):.1f}x\n")
        print("| stage | wall s | rows/s | peak RSS GiB |\n|---|---:|---:|---:|")
        for s in r["steps"]:
            n = stage_rows(s["name"], m)
            rate = f"{n / s['s']:,.0f}" if n and s["s"] > 0.05 else "-"
            print(f"| {s['name']}{'' if s['ok'] else ' FAILED'} | {s['s']:.1f} | {rate} | {gib(s['peak'])} |")
        ingest = [s for s in r["steps"] if s["name"].startswith("ingest")]
        print(f"| all ingests, side by side (wall) | {span(ingest):.1f} | | |")
        print(f"| (startup, Prefect, between stages) | {r['wall'] - span(r['steps']):.1f} | | |")
        if r["rc"] != 0:
            print("\nstderr tail:\n```\n" + "\n".join(r["stderr_tail"]) + "\n```")
    if len(results) > 1:
        print("\n| scale | roster | rows | wall s | CPU s | peak GiB | rows/s | ingest s | link s | warn+write s | other s |")
        print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
        for r in results:
            m, st = r["meta"], r["steps"]
            ing = span([s for s in st if s["name"].startswith("ingest")])
            lnk = sum(s["s"] for s in st if s["name"] in ("collect_records", "link_records"))
            rest = span(st) - ing - lnk
            print(f"| {r['scale']:g} | {m['roster']:,} | {m['dept_rows']:,} | {r['wall']:.1f} | {r.get('cpu', 0):.1f} | "
                  f"{gib(r['peak_tree'])} | "
                  f"{m['dept_rows'] / r['wall']:,.0f} | {ing:.1f} | {lnk:.1f} | {rest:.1f} | {r['wall'] - span(st):.1f} |")


def year_periods(spec: str) -> list[str]:
    """'2026-01..2026-12' or '2026-01,2026-02,2026-12'."""
    if ".." in spec:
        a, b = spec.split("..")
        y, m = int(a[:4]), int(a[5:7])
        out = []
        while f"{y}-{m:02d}" <= b:
            out.append(f"{y}-{m:02d}")
            y, m = (y + 1, 1) if m == 12 else (y, m + 1)
        return out
    return [p.strip() for p in spec.split(",") if p.strip()]


def issue_date_of(period: str) -> str:
    """The lists go out on the first weekday from the 3rd of the next month."""
    y, m = int(period[:4]), int(period[5:7])
    d = datetime(y + m // 12, m % 12 + 1, 3)
    while d.weekday() >= 5:
        d = d.replace(day=d.day + 1)
    return d.date().isoformat()


def township_answers(prev: Path, dst: Path, share: float, answered_on: str) -> int:
    """Townships return last month's lists (`prev` = OUT/<previous period>) into `dst` (反馈/ of
    this period), each file whole, with `share` of its rows answered (by the hash of 预警编号 and
    the month: deterministic, and a row left unanswered one month has the same chance the next):
    属实 for three in ten (是否纳入监测 是), else 不属实. Returns rows answered."""
    n = 0
    dst.mkdir(parents=True, exist_ok=True)
    for f in sorted(prev.glob("townships/*/*_预警清单.csv")):
        df = pl.read_csv(f, infer_schema=False, encoding="utf8-lossy")
        h = (df["预警编号"] + prev.name).hash(seed=7)
        answer = ((h % 1000) < int(share * 1000)) & ~df["状态"].str.starts_with("撤回").fill_null(False)
        true = (h // 1000 % 10) < 3
        df = df.with_columns(
            核实结果=pl.when(answer).then(pl.when(true).then(pl.lit("属实")).otherwise(pl.lit("不属实"))),
            是否纳入监测=pl.when(answer).then(pl.when(true).then(pl.lit("是")).otherwise(pl.lit("否"))),
            核实人=pl.when(answer).then(pl.col("网格员")),
            核实日期=pl.when(answer).then(pl.lit(answered_on)),
        )
        write_csv(dst / f.name.replace("_预警清单.csv", "_预警清单_已核实.csv"), df, "utf-8-sig")
        n += int(answer.sum())
    return n


def _du(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file()) if path.is_dir() else (
        path.stat().st_size if path.exists() else 0)


def _warehouse_rows(wh: Path) -> dict:
    import duckdb

    con = duckdb.connect(str(wh), read_only=True)
    try:
        names = [t for (t,) in con.execute(  # (stored rows: not the view `warning_status`)
            "SELECT table_name FROM information_schema.tables WHERE table_type = 'BASE TABLE'").fetchall()]
        return {t: con.execute(f"SELECT count(*) FROM {t}").fetchall()[0][0] for t in sorted(names)}
    finally:
        con.close()


def year_bench(scale: float, work: Path, periods: list[str], timeout: float, max_rss: float, gen_only: bool,
               answer_share: float, tag: str, code: Path = ROOT) -> list[dict]:
    """Generate the months (cached under WORK/year_<scale>/inbox/) and run them in order into one
    OUT (WORK/year_<scale>/out_<tag>/, its warehouse growing), townships answering `answer_share`
    of each month's list in the next month's 反馈/. One result per month, also appended to
    WORK/year_<scale>/results_<tag>.json as each month ends."""
    root = work / f"year_{scale:g}"
    gen = root / "inbox"
    world = None
    metas = {}
    for p in periods:
        if not (gen / f"meta_{p}.json").exists():
            if world is None:
                print(f"scale {scale:g}: the city of the year (roster, pool, 参保名单) ...", file=sys.stderr, flush=True)
                world = YearWorld(scale, gen / "_base")
                print(f"  {world.seconds:.1f} s", file=sys.stderr, flush=True)
            print(f"scale {scale:g}: generating {p} ...", file=sys.stderr, flush=True)
        metas[p] = generate_month(gen, world, p) if world is not None else json.loads((gen / f"meta_{p}.json").read_text())
        print(f"  {p}: roster {metas[p]['roster']:,}, dept rows {metas[p]['dept_rows']:,} "
              f"({metas[p]['seconds']} s to generate) {metas[p].get('roster_changes') or ''}", file=sys.stderr, flush=True)
    if gen_only:
        return []
    out = root / f"out_{tag}"
    run_inbox = root / f"run_inbox_{tag}"
    results, log = [], root / f"results_{tag}.json"
    for i, p in enumerate(periods):
        # the run's inbox: the month's files hard-linked, and the townships' answers to last month
        pdir = run_inbox / p
        if pdir.exists():
            import shutil

            shutil.rmtree(pdir)
        for f in (gen / p).rglob("*"):
            if f.is_file():
                (pdir / f.relative_to(gen / p)).parent.mkdir(parents=True, exist_ok=True)
                os.link(f, pdir / f.relative_to(gen / p))
        answered = 0
        if i and answer_share > 0 and (out / periods[i - 1]).is_dir():
            answered = township_answers(out / periods[i - 1], pdir / "反馈", answer_share,
                                        (datetime.fromisoformat(issue_date_of(periods[i - 1])) + timedelta(days=1)).date().isoformat())
        issued = issue_date_of(p)
        print(f"\n{p}: running into {out} (issue date {issued}, {answered:,} answers in 反馈/) ...", file=sys.stderr, flush=True)
        res = run_flow(run_inbox, out, timeout, max_rss, period=p, issue_date=issued, root=code)
        res |= {"scale": scale, "period": p, "meta": metas[p], "answers_given": answered, "polars_read": 0.0,
                "warehouse_bytes": _du(out / "warehouse.duckdb"), "out_bytes": _du(out / p),
                "inbox_bytes": _du(pdir), "started": f"{datetime.now():%Y-%m-%d %H:%M} (local)",
                "load": os.getloadavg()[0]}
        try:
            res["warehouse_rows"] = _warehouse_rows(out / "warehouse.duckdb")
        except Exception as exc:  # noqa: BLE001 - a benchmark: say it and go on
            res["warehouse_rows"] = {"error": str(exc)}
        results.append(res)
        print(f"  {p}: exit {res['rc']}, wall {res['wall']:.1f} s, CPU {res['cpu']:.1f} s, peak {gib(res['peak_tree'])} GiB, "
              f"warehouse {res['warehouse_bytes'] / 2**20:.0f} MiB, OUT/{p} {res['out_bytes'] / 2**20:.0f} MiB",
              file=sys.stderr, flush=True)
        old = json.loads(log.read_text()) if log.exists() and i else []
        log.write_text(json.dumps(old + [res], ensure_ascii=False, indent=1, default=str))
        if res["rc"] != 0:
            print("\n".join(res["stderr_tail"]), file=sys.stderr)
            break
    return results


YEAR_STAGES = ["link_records", "earlier_settlements", "year_to_date", "take_feedback", "issue_warnings",
               "prepare_lists", "publish"]


def year_report(results: list[dict]) -> None:
    print("\n| period | wall s | CPU s | peak RSS GiB | ingest s | " + " | ".join(f"{s} s" for s in YEAR_STAGES)
          + " | warehouse MiB | OUT/period MiB | answers in |")
    print("|---|" + "---:|" * (8 + len(YEAR_STAGES)))
    for r in results:
        st = r["steps"]
        by = {s["name"]: s["s"] for s in st}
        ing = span([s for s in st if s["name"].startswith("ingest")])
        print(f"| {r['period']} | {r['wall']:.1f} | {r['cpu']:.1f} | {gib(r['peak_tree'])} | {ing:.1f} | "
              + " | ".join(f"{by.get(s, float('nan')):.1f}" for s in YEAR_STAGES)
              + f" | {r['warehouse_bytes'] / 2**20:.0f} | {r['out_bytes'] / 2**20:.0f} | {r['answers_given']:,} |")


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--scales", help="comma-separated scales, e.g. 0.1,0.3,1 (overrides --scale)")
    ap.add_argument("--work", default="/tmp/city_bench")
    ap.add_argument("--timeout", type=float, default=1800)
    ap.add_argument("--max-rss-gib", type=float, default=12, help="kill the run above this RSS (shared machine)")
    ap.add_argument("--gen-only", action="store_true", help="only generate (cache) the inboxes")
    ap.add_argument("--json", help="also write the raw results here")
    ap.add_argument("--year", metavar="PERIODS",
                    help="a year of months run in order into one OUT, e.g. 2026-01..2026-12 (generated under "
                         "WORK/year_<scale>/inbox, run into WORK/year_<scale>/out_<tag>)")
    ap.add_argument("--answer-share", type=float, default=0.8,
                    help="--year: share of each month's township rows answered in the next month's 反馈/")
    ap.add_argument("--tag", default=None, help="--year: name of the OUT (default: the time)")
    ap.add_argument("--code", default=str(ROOT), help="the checkout whose flows.py runs (another version, to compare)")
    ap.add_argument("--prefect-server", action="store_true",
                    help="start one Prefect API first and point the runs at it (PREFECT_API_URL), as a "
                         "bureau that schedules runs has; by default each run starts its own temporary one")
    a = ap.parse_args(argv)
    scales = [float(s) for s in a.scales.split(",")] if a.scales else [a.scale]
    work = Path(a.work)
    work.mkdir(parents=True, exist_ok=True)
    if a.year:
        tag = a.tag or f"{datetime.now():%m%d%H%M}"
        for sc in scales:
            res = year_bench(sc, work, year_periods(a.year), a.timeout, a.max_rss_gib * 2**30, a.gen_only,
                             a.answer_share, tag, Path(a.code))
            if res:
                print(f"\nscale {sc:g}, measured {datetime.now():%Y-%m-%d %H:%M} local, {os.cpu_count()} cores")
                year_report(res)
        return 0
    server = None
    if a.prefect_server and not a.gen_only and not os.environ.get("PREFECT_API_URL"):
        os.environ.setdefault("PREFECT_HOME", str(work / ".prefect"))
        os.environ.setdefault("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
        from prefect.server.api.server import SubprocessASGIServer

        server = SubprocessASGIServer()
        server.start(timeout=180)
        os.environ["PREFECT_API_URL"] = server.api_url
    try:
        results = [r for s in scales if (r := bench(s, work, a.timeout, a.gen_only, a.max_rss_gib * 2**30)) is not None]
    finally:
        if server is not None:
            server.stop()
    if results:
        api = f"Prefect API {os.environ['PREFECT_API_URL']}" if os.environ.get("PREFECT_API_URL") else "a temporary Prefect API per run"
        print(f"\nmeasured {datetime.now():%Y-%m-%d %H:%M} local, {os.cpu_count()} cores, load {os.getloadavg()[0]:.1f}, {api}")
        report(results)
        if a.json:
            Path(a.json).write_text(json.dumps(results, ensure_ascii=False, indent=1, default=str))
    return 0


if __name__ == "__main__":
    sys.exit(main())

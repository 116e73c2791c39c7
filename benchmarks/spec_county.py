"""A county generated from SPEC.md alone, as held-out evidence for the matcher.

    python -m benchmarks.spec_county --style moderate|heavy|dirty [--seed N] --out DIR
    python -m benchmarks.linkage_accuracy --profile spec-heavy --seeds 22 55   (scored per department)

Written in the twelfth session by a helper who read only ../shared/SPEC.md and the example inbox,
never `sample_data/` or `matchers/`: its population, masks, dirt and proportions are its own
reading of the contract, so what the matcher does here is what it does on a delivery it was not
tuned on (docs/ACCURACY.md, "A county we never generated"). Three styles: `moderate` (灵璧县 341323, half
6+4 masks, 30% masked names), `heavy` (泗县 341324, masks spread over every style, 70% masked
names, ten surnames for a third of the county, Excel date cells), `dirty` (埇桥区 341302, two
legacy region codes, 12% ID dirt, minority names, English folder names, numeric 人编号, mostly
XLSX). ~30,000 people, ~11% of them on the roster, whole households.

Writes DIR/inbox/2026-10/... and DIR/truth/links.csv (one row per data row: the roster 人编号 of
the person it is about, empty when off the roster; 水利's village rows are left out), plus
DIR/truth/population.json and two side files naming every person behind every row.
"""
import argparse
import json
import csv, datetime as dt, io, os, random
import numpy as np
import openpyxl

PERIOD = "2026-10"
W = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
CHK = "10X98765432"


def check_char(s17):
    return CHK[sum(int(c) * w for c, w in zip(s17, W)) % 11]


VARIANTS = {
    # moderate: 灵璧县, Anhui-like surnames
    "moderate": dict(seed=11, county="灵璧县", code="341323", legacy=["342224"], legacy_share=0.55,
               surnames="anhui", one_char_given=0.25, persons=30000,
               masks={"6+4": .50, "4+4": .10, "3+4": .10, "14": .05, "birth": .05, "full": .20},
               name_mask=.30, name_typo=.08, id_dirt=.05, xlsx_depts={"住建", "教育"},
               aliases=False, pid_style="alpha", minority=0.0, dates_as_cells=False),
    # heavy masking, concentrated surnames, 泗县
    "heavy": dict(seed=22, county="泗县", code="341324", legacy=["342225"], legacy_share=0.6,
               surnames="concentrated", one_char_given=0.45, persons=30000,
               masks={"6+4": .25, "4+4": .20, "3+4": .20, "14": .10, "birth": .20, "full": .05},
               name_mask=.70, name_typo=.10, id_dirt=.05, xlsx_depts={"住建", "民政", "农业农村"},
               aliases=False, pid_style="alpha2", minority=0.0, dates_as_cells=True),
    # dirty: 埇桥区 with two legacy codes, minority names, GBK, English folder names, numeric ids
    "dirty": dict(seed=33, county="埇桥区", code="341302", legacy=["342201", "342223"], legacy_share=0.5,
               surnames="anhui", one_char_given=0.3, persons=32000,
               masks={"6+4": .45, "4+4": .10, "3+4": .10, "14": .10, "birth": .05, "full": .20},
               name_mask=.35, name_typo=.12, id_dirt=.12, xlsx_depts={"医保", "教育", "残联", "人社"},
               aliases=True, pid_style="numeric", minority=0.006, dates_as_cells=True),
}

SUR_ANHUI = ("王 李 张 刘 陈 杨 赵 黄 周 吴 徐 孙 胡 朱 高 林 何 郭 马 罗 梁 宋 郑 谢 韩 唐 冯 于 董 萧 "
             "程 曹 袁 邓 许 傅 沈 曾 彭 吕 苏 卢 蒋 蔡 贾 丁 魏 薛 叶 阎 余 潘 杜 戴 夏 钟 汪 田 任 姜 "
             "范 方 石 姚 谭 廖 邹 熊 金 陆 郝 孔 白 崔 康 毛 邱 秦 江 史 顾 侯 邵 孟 龙 万 段 雷 钱 汤 "
             "尹 黎 易 常 武 乔 贺 赖 龚 文 葛 闫 褚 单 桑 满 耿 解").split()
MALE = list("伟强磊军洋勇杰涛明超刚平辉鹏华飞鑫波斌宇浩凯健俊帆帅旭宁龙林欢阳建国志海峰亮成东文晨博")
FEMALE = list("芳娜敏静丽艳娟霞秀英华慧巧美娇玲桂兰梅琴云莲真环雪荣爱妹香月莺媛红凤洁琳素萍燕彩春菊")
HOMO = {"明": "铭", "伟": "玮", "丽": "莉", "军": "君", "英": "瑛", "红": "宏", "娟": "鹃", "芳": "方",
        "杰": "洁", "峰": "锋", "涛": "韬", "霞": "侠", "玲": "琳", "刚": "钢", "平": "萍", "建": "健",
        "静": "婧", "华": "桦", "辉": "晖", "梅": "玫", "兰": "岚", "燕": "艳", "东": "冬", "波": "博"}
TRAD = {"张": "張", "刘": "劉", "陈": "陳", "赵": "趙", "孙": "孫", "杨": "楊", "黄": "黃", "吴": "吳",
        "郑": "鄭", "马": "馬", "华": "華", "军": "軍", "国": "國", "东": "東", "红": "紅", "伟": "偉",
        "丽": "麗", "兰": "蘭", "凤": "鳳", "龙": "龍", "强": "強", "刚": "剛", "涛": "濤", "娟": "娟",
        "艳": "艷", "凯": "凱", "鹏": "鵬", "辉": "輝", "飞": "飛", "宁": "寧", "阳": "陽", "贾": "賈",
        "许": "許", "冯": "馮", "韩": "韓", "邓": "鄧", "萧": "蕭", "卢": "盧", "蒋": "蔣", "钱": "錢"}
MINORITY = ["阿依古丽·买买提", "艾力·吐尔逊", "买买提·艾力", "古丽娜尔·阿不都", "热依汗·库尔班",
            "努尔·艾合买提", "阿布都·热合曼", "迪丽拜尔·司马义"]
PLACE_SUFFIX = list("庄圩集楼湖湾店营桥寨园口洼沟郢岗")
OUTSIDE = ["411422", "320324", "341321", "340321", "370828", "411424"]  # in-married spouses
HOSP = ["县人民医院", "县中医院", "宿州市立医院", "宿州市第一人民医院", "乡镇卫生院", "安医大一附院", "县妇幼保健院"]


class G:
    def __init__(self, vname, seed=None):
        self.v = dict(VARIANTS[vname], **({} if seed is None else {"seed": seed}))
        self.vname = vname
        self.rng = random.Random(self.v["seed"])
        self.np = np.random.default_rng(self.v["seed"])
        self.used_ids = set()

    # ---------------- population ----------------
    def surname_weights(self):
        n = len(SUR_ANHUI)
        if self.v["surnames"] == "concentrated":
            w = np.array([1.0 / (i + 1) ** 1.6 for i in range(n)])
        else:
            w = np.array([1.0 / (i + 1) ** 0.9 for i in range(n)])
        return w / w.sum()

    def pick_sur(self):
        return SUR_ANHUI[self.np.choice(len(SUR_ANHUI), p=self.sw)]

    def given(self, male, share=None):
        pool = MALE if male else FEMALE
        k = 1 if self.rng.random() < self.v["one_char_given"] else 2
        return "".join(self.rng.choice(pool) for _ in range(k))

    def make_id(self, region, birth, male, seq=None):
        for _ in range(200):
            s = seq if seq is not None else self.rng.randrange(0, 1000)
            if (s % 2 == 1) != male:
                s = (s + 1) % 1000
            s17 = f"{region}{birth:%Y%m%d}{s:03d}"
            full = s17 + check_char(s17)
            if full not in self.used_ids:
                self.used_ids.add(full)
                return full, s
            seq = None
        raise RuntimeError

    def region_for(self, birth, outside=False):
        if outside:
            return self.rng.choice(OUTSIDE)
        if birth.year < 1999 and self.rng.random() < self.v["legacy_share"]:
            return self.rng.choice(self.v["legacy"])
        return self.v["code"]

    def rand_birth(self, a0, a1):
        ref = dt.date(2026, 10, 1)
        age = self.rng.uniform(a0, a1)
        return ref - dt.timedelta(days=int(age * 365.25))

    def person(self, sur, male, birth, rel, outside=False, name=None):
        full, _ = self.make_id(self.region_for(birth, outside), birth, male)
        if name is None:
            if self.v["minority"] and self.rng.random() < self.v["minority"]:
                name = self.rng.choice(MINORITY)
            else:
                name = sur + self.given(male)
        return dict(name=name, id=full, male=male, birth=birth, rel=rel)

    def build(self):
        v = self.v
        self.sw = self.surname_weights()
        tw_names = ["朝阳", "渔沟", "尹集", "黄湾", "冯庙", "向阳", "禅堂", "下楼", "游集", "娄庄", "杨疃", "浍沟",
                    "韦集", "高楼", "虞姬", "大路"]
        self.rng.shuffle(tw_names)
        towns = [(t + ("乡" if i % 4 == 3 else "镇")) for i, t in enumerate(tw_names[:12])]
        villages = []  # (town, village)
        for t in towns:
            names = set()
            while len(names) < 14:
                names.add(self.pick_sur() + self.rng.choice(PLACE_SUFFIX) + "村")
            for vn in sorted(names):
                villages.append((t, vn))
        self.towns = towns
        self.villages = villages
        persons = []
        hh = []
        hcount = 0
        while len(persons) < v["persons"]:
            town, vil = self.rng.choice(villages)
            grp = f"{self.rng.randint(1, 9)}组"
            sur = self.pick_sur()
            members = []
            head_age = self.rng.uniform(28, 82)
            hmale = self.rng.random() < 0.85
            head = self.person(sur, hmale, self.rand_birth(head_age, head_age), "户主")
            members.append(head)
            if self.rng.random() < 0.78:
                sa = head_age + self.rng.uniform(-4, 3)
                members.append(self.person(self.pick_sur(), not hmale, self.rand_birth(sa, sa), "配偶",
                                           outside=self.rng.random() < 0.06))
            nk = 0
            if head_age < 60:
                nk = self.np.choice([0, 1, 2, 3], p=[.15, .35, .38, .12])
            kids_age_max = max(0.5, head_age - 20)
            twins_done = False
            for k in range(nk):
                km = self.rng.random() < 0.52
                ka = self.rng.uniform(0.5, min(kids_age_max, 30))
                kb = self.rand_birth(ka, ka)
                kid = self.person(sur, km, kb, "子" if km else "女")
                members.append(kid)
                if not twins_done and ka < 20 and self.rng.random() < 0.03:
                    twins_done = True
                    tm = km if self.rng.random() < 0.7 else not km
                    seq0 = int(kid["id"][14:17])
                    full, _ = self.make_id(kid["id"][:6], kb, tm, seq=(seq0 + 1) % 1000)
                    g0 = kid["name"][len(sur):]
                    tname = sur + (g0[0] + self.rng.choice(MALE if tm else FEMALE) if len(g0) == 2
                                   else self.rng.choice(MALE if tm else FEMALE))
                    members.append(dict(name=tname, id=full, male=tm, birth=kb, rel="子" if tm else "女",
                                        twin_of=kid["id"]))
                    kid["twin_of"] = full
            if head_age > 55 and self.rng.random() < 0.25:
                # grandchildren living with grandparents (left-behind children)
                for _ in range(self.rng.randint(1, 2)):
                    gm = self.rng.random() < 0.5
                    members.append(self.person(sur, gm, self.rand_birth(1, 15), "孙子" if gm else "孙女"))
            if head_age < 50 and self.rng.random() < 0.2:
                pa = head_age + self.rng.uniform(24, 32)
                if pa < 95:
                    pm = self.rng.random() < 0.4
                    members.append(self.person(sur if pm else self.pick_sur(), pm, self.rand_birth(pa, pa),
                                               "父亲" if pm else "母亲"))
            hid = hcount
            hcount += 1
            hh.append(dict(idx=hid, town=town, vil=vil, grp=grp, members=[]))
            for m in members:
                m.update(town=town, vil=vil, grp=grp, hidx=hid, pidx=len(persons))
                hh[-1]["members"].append(m["pidx"])
                persons.append(m)
        # same-name people in one village: copy names
        byvil = {}
        for p in persons:
            byvil.setdefault((p["town"], p["vil"]), []).append(p)
        for p in persons:
            if self.rng.random() < 0.03 and "·" not in p["name"]:
                cands = [q for q in byvil[(p["town"], p["vil"])] if q["male"] == p["male"] and q is not p]
                if cands:
                    p["name"] = self.rng.choice(cands)["name"]
                    p["samename"] = True
        self.persons, self.hh = persons, hh
        # roster ~11% of persons, by whole households, skewed to older / single-headed
        order = list(range(len(hh)))
        self.rng.shuffle(order)
        target = int(0.11 * len(persons))
        n = 0
        roster_h = []
        for i in order:
            h = hh[i]
            head = persons[h["members"][0]]
            age = 2026 - head["birth"].year
            p = 0.07 + (0.10 if age > 60 else 0) + (0.06 if len(h["members"]) <= 2 else 0)
            if self.rng.random() < p:
                roster_h.append(i)
                n += len(h["members"])
                if n >= target:
                    break
        self.roster_h = sorted(roster_h)
        self.roster = []
        for k, i in enumerate(self.roster_h):
            h = hh[i]
            if v["pid_style"] == "numeric":
                hid = f"{v['code']}{self.towns.index(h['town'])+1:02d}{k+1:06d}"
            elif v["pid_style"] == "alpha2":
                hid = f"SX{k+1:06d}"
            else:
                hid = f"H{v['code'][-2:]}-{k+1:05d}"
            h["hid"] = hid
            h["type"] = "脱贫户" if self.rng.random() < 0.85 else "监测户"
            h["income"] = self.rng.randint(8000, 22000) if h["type"] == "脱贫户" else self.rng.randint(4500, 12000)
            h["phone"] = "1" + str(self.rng.choice([3, 5, 8, 9])) + "".join(str(self.rng.randint(0, 9)) for _ in range(9))
            for j, pi in enumerate(h["members"]):
                p = persons[pi]
                p["pid"] = f"{hid}{j+1:02d}" if v["pid_style"] == "numeric" else f"{hid}-{j+1:02d}"
                p["hid"] = hid
                self.roster.append(p)
        self.nonroster = [p for p in persons if "pid" not in p]

    # ---------------- dirt ----------------
    def choose(self, d):
        ks = list(d)
        return self.np.choice(ks, p=np.array([d[k] for k in ks]) / sum(d.values()))

    def mask_id(self, full, style):
        if style == "6+4":
            s = full[:6] + "*" * 8 + full[-4:]
        elif style == "4+4":
            s = full[:4] + "*" * 10 + full[-4:]
        elif style == "3+4":
            s = full[:3] + "*" * 11 + full[-4:]
        elif style == "14":
            s = full[:14] + "****"
        elif style == "birth":
            s = "*" * 6 + full[6:14] + "****"
        else:
            s = full
        return s

    def dirty_id(self, p, masks, allow_excel=True):
        """returns (string, dirt tags, bad?)"""
        full = p["id"]
        tags = []
        style = str(self.choose(masks))
        r = self.rng.random()
        if r < self.v["id_dirt"]:
            kind = self.rng.choice(["typo", "transpose", "apostrophe", "space", "fullwidth", "lowerx",
                                    "old15", "excel", "missing", "typo"])
        else:
            kind = None
        if kind == "old15" and p["birth"].year < 2000:
            style = "full"
            s = full[:6] + full[8:17]
            tags.append("id=15digit")
            return s, tags, False
        if kind in ("excel", "missing") and allow_excel:
            if kind == "missing":
                tags.append("id=missing")
                return "", tags, True
            if self.rng.random() < 0.5:
                s = f"{int(full[:6])/1e5:.5f}E+17"
                tags.append("id=excel_sci")
            else:
                s = full[:15] + "000"
                tags.append("id=excel_zeros")
            return s, tags, True
        s = self.mask_id(full, style)
        tags.append("mask=" + style)
        if kind in ("typo", "transpose"):
            kept = [i for i, c in enumerate(s) if c != "*" and i < 17]
            if kind == "typo" and kept:
                i = self.rng.choice(kept)
                s = s[:i] + str((int(s[i]) + self.rng.randint(1, 9)) % 10) + s[i + 1:]
                tags.append(f"id=typo@{i+1}")
            elif kind == "transpose":
                pairs = [i for i in kept if i + 1 in kept and s[i] != s[i + 1]]
                if pairs:
                    i = self.rng.choice(pairs)
                    s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
                    tags.append(f"id=transpose@{i+1}")
        if "*" in s and self.rng.random() < 0.1:
            s = s.replace("*", "＊")
            tags.append("maskchar=fullwidth")
        if kind == "apostrophe":
            s = "'" + s
            tags.append("id=apostrophe")
        elif kind == "space":
            s = self.rng.choice([" " + s, s + " ", s[:6] + " " + s[6:]])
            tags.append("id=space")
        elif kind == "fullwidth":
            s = "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in s)
            tags.append("id=fullwidth_digits")
        elif kind == "lowerx" and s.endswith("X"):
            s = s[:-1] + "x"
            tags.append("id=lower_x")
        return s, tags, False

    def dirty_name(self, name, mask_share=None):
        tags = []
        ms = self.v["name_mask"] if mask_share is None else mask_share
        r = self.rng.random()
        dot = "·" in name
        if r < self.v["name_typo"]:
            kind = self.rng.choice(["homophone", "trad", "drop", "swap", "space", "homophone"])
            if dot:
                kind = "dot"
            if kind == "dot":
                name = name.replace("·", self.rng.choice(["•", ".", "．"]))
                tags.append("name=dot_variant")
            elif kind == "homophone":
                idx = [i for i, c in enumerate(name) if c in HOMO and i > 0]
                if idx:
                    i = self.rng.choice(idx)
                    name = name[:i] + HOMO[name[i]] + name[i + 1:]
                    tags.append("name=homophone")
            elif kind == "trad":
                if any(c in TRAD for c in name):
                    name = "".join(TRAD.get(c, c) for c in name)
                    tags.append("name=traditional")
            elif kind == "drop" and len(name) == 3:
                name = name[:2] if self.rng.random() < .5 else name[0] + name[2]
                tags.append("name=dropped_char")
            elif kind == "swap" and len(name) == 3:
                name = name[0] + name[2] + name[1]
                tags.append("name=swapped")
            elif kind == "space":
                name = self.rng.choice([name[0] + " " + name[1:], name + " ", " " + name])
                tags.append("name=space")
        if self.rng.random() < ms and not dot:
            n = name.strip()
            if len(n) >= 3:
                st = self.rng.choice(["a*c", "a*", "*c", "a**", "a*c"])
            else:
                st = self.rng.choice(["a*", "*c", "a*"])
            if st == "a*c":
                name = n[0] + "*" * (len(n) - 2) + n[-1]
            elif st == "a*":
                name = n[0] + "*"
            elif st == "*c":
                name = "*" + n[-1]
            else:
                name = n[0] + "*" * (len(n) - 1)
            tags.append("namemask=" + st)
        return name, tags

    def place(self, p):
        t = p["town"]
        v = p["vil"]
        tags = []
        r = self.rng.random()
        if r < 0.2:
            t = t[:-1]
            tags.append("town=nosuffix")
        r = self.rng.random()
        if r < 0.25:
            v = v[:-1]
            tags.append("vil=nosuffix")
        elif r < 0.35:
            v = v + "委会"
            tags.append("vil=村委会")
        return t, v, tags

    def rdate(self, a=1, b=31):
        return dt.date(2026, 10, self.rng.randint(a, b))

    def pick(self, roster_share, filt=None, k=1):
        out = []
        for _ in range(k):
            pool = self.roster if self.rng.random() < roster_share else self.nonroster
            for _ in range(200):
                p = self.rng.choice(pool)
                if filt is None or filt(p):
                    break
            out.append(p)
        return out

    def age(self, p):
        return (dt.date(2026, 10, 1) - p["birth"]).days / 365.25

    # ---------------- writing ----------------
    def hdr_variants(self, h):
        if h in ("乡（镇）",):
            h = self.rng.choice(["乡（镇）", "乡(镇)", "乡镇"])
        if h.endswith("（元）") and self.rng.random() < 0.4:
            h = self.rng.choice([h[:-3], h[:-3] + "(元)"])
        if self.rng.random() < 0.08:
            h = self.rng.choice([" " + h, h + " "])
        return h

    def id_header(self):
        return self.rng.choice(["证件号码", "身份证号", "身份证号码", "公民身份号码"])

    def write(self, dept, fname, header, rows, metas, fmt=None, title=None, total_row=None, extra=True,
              enc=None):
        """header: list of canonical names; rows: list of dicts; metas: list of truth dicts or None."""
        folder_name = dept
        if self.v["aliases"]:
            folder_name = {"医保": "medical", "住建": "housing", "教育": "education", "水利": "water",
                           "民政": "civil", "残联": "disability", "人社": "hr", "农业农村": "agri",
                           "户籍底册": "roster", "网格": "grid"}.get(dept, dept)
        d = os.path.join(self.inbox, folder_name)
        os.makedirs(d, exist_ok=True)
        cols = list(header)
        if extra and self.rng.random() < 0.5:
            cols = cols + [self.rng.choice(["备注", "经办人", "数据来源"])]
        first = cols[0]
        rest = cols[1:]
        if self.rng.random() < 0.5:
            self.rng.shuffle(rest)
        cols = [first] + rest
        if extra and self.rng.random() < 0.3:
            cols = ["序号"] + cols
        shown = []
        for c in cols:
            if c in ("证件号码",):
                shown.append(self.id_header())
            else:
                shown.append(self.hdr_variants(c))
        if fmt is None:
            fmt = "xlsx" if dept in self.v["xlsx_depts"] else "csv"
        path = os.path.join(d, fname + "." + fmt)
        rel = os.path.relpath(path, self.inbox)
        lines = []
        if fmt == "csv":
            enc = enc or self.rng.choice(["utf-8", "utf-8-sig", "gb18030"])
            buf = io.StringIO()
            w = csv.writer(buf, lineterminator="\r\n" if self.rng.random() < .5 else "\n")
            ln = 0
            if title:
                w.writerow([title] + [""] * (len(cols) - 1)); ln += 1
            w.writerow(shown); ln += 1
            for i, r in enumerate(rows):
                w.writerow([i + 1 if c == "序号" else r.get(c, "") for c in cols])
                ln += 1
                lines.append(ln)
            if total_row:
                w.writerow([total_row.get(c, "") for c in cols]); ln += 1
            with open(path, "w", encoding=enc, newline="") as f:
                f.write(buf.getvalue())
        else:
            wb = openpyxl.Workbook()
            ws = wb.active
            ws.title = "Sheet1"
            ln = 0
            ntitle = self.rng.randint(1, 4) if title else 0
            for k in range(ntitle):
                ws.append([title if k == 0 else ("制表单位：" + self.v["county"] + "  制表日期：2026-11-03")]); ln += 1
            ws.append(shown); ln += 1
            for i, r in enumerate(rows):
                vals = []
                for c in cols:
                    x = i + 1 if c == "序号" else r.get(c, "")
                    if self.v["dates_as_cells"] and isinstance(x, str) and len(x) == 10 and x[4] == "-" and x[7] == "-":
                        try:
                            x = dt.datetime.strptime(x, "%Y-%m-%d")
                        except ValueError:
                            pass
                    if c in ("医疗总费用", "统筹支付", "大病保险支付", "医疗救助支付", "个人自付", "月救助金额",
                             "损失金额（元）", "本学年个人负担费用", "影响户数", "连续未缴费月数") and isinstance(x, str):
                        try:
                            x = float(x) if "." in x else int(x)
                        except ValueError:
                            pass
                    vals.append(x)
                ws.append(vals); ln += 1
                lines.append(ln)
            if total_row:
                ws.append([total_row.get(c, "") for c in cols]); ln += 1
            wb.save(path)
        for ln, m in zip(lines, metas):
            if m is not None:
                m = dict(m)
                m["file"] = rel
                m["line"] = ln
                self.truth.append(m)
        return path, rel

    def tmeta(self, dept, kind, rid, p, tags):
        return dict(pidx=p["pidx"], period=PERIOD, dept=dept, kind=kind, record_id=rid,
                    person_id=p.get("pid", ""), household_id=p.get("hid", ""),
                    expect="record", dirt=";".join(tags) + (";twin" if p.get("twin_of") else "")
                    + (";samename_in_village" if p.get("samename") else "")
                    + ("" if p.get("pid") else ";nonroster"))

    # ---------------- extracts ----------------
    def gen(self, out):
        self.inbox = os.path.join(out, "inbox", PERIOD)
        self.truth = []
        self.build()
        v = self.v
        rng = self.rng
        # roster
        rows = []
        for p in self.roster:
            h = self.hh[p["hidx"]]
            rows.append({"县（市、区）": v["county"], "乡（镇）": p["town"], "行政村": p["vil"], "村民小组": p["grp"],
                         "户编号": h["hid"], "人编号": p["pid"], "姓名": p["name"], "证件号码": p["id"],
                         "性别": "男" if p["male"] else "女", "与户主关系": p["rel"], "家庭人口数": len(h["members"]),
                         "户类型": h["type"],
                         "监测对象类别": (rng.choice(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"]) if h["type"] == "监测户" else ""),
                         "风险是否已消除": (rng.choice(["是", "否"]) if h["type"] == "监测户" else ""),
                         "年人均纯收入（元）": h["income"], "联系电话": h["phone"]})
        hdr = list(rows[0])
        self.write("户籍底册", "防返贫监测对象_" + v["county"], hdr, rows, [None] * len(rows), fmt="csv", extra=False,
                   enc="utf-8-sig")
        # grid
        rows = []
        gid = 0
        byvil = {}
        for i in self.roster_h:
            h = self.hh[i]
            byvil.setdefault((h["town"], h["vil"]), []).append(h)
        for (t, vn), hs in sorted(byvil.items()):
            gid += 1
            for h in hs:
                rows.append({"网格编号": f"WG{v['code']}{gid:04d}", "乡（镇）": t, "行政村": vn, "村民小组": h["grp"],
                             "网格长": vn + "书记", "网格长电话": "139" + f"{gid:08d}", "网格员": f"网格员{gid}",
                             "网格员电话": "137" + f"{gid:08d}", "户编号": h["hid"]})
        self.write("网格", "网格划分", list(rows[0]), rows, [None] * len(rows), fmt="csv", extra=False)
        self.gen_medical()
        self.gen_housing()
        self.gen_edu()
        self.gen_water()
        self.gen_civil()
        self.gen_disab()
        self.gen_hr()
        self.gen_agri()
        os.makedirs(os.path.join(out, "truth"), exist_ok=True)
        with open(os.path.join(out, "truth", "links.csv"), "w", encoding="utf-8", newline="") as f:
            w = csv.DictWriter(f, fieldnames=["period", "dept", "kind", "file", "line", "record_id", "person_id",
                                              "household_id", "expect", "dirt"], extrasaction="ignore")
            w.writeheader()
            for m in self.truth:
                w.writerow(m)
        with open(os.path.join(out, "truth", "side_pidx.csv"), "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f); w.writerow(["file", "line", "pidx"])
            for m in self.truth: w.writerow([m["file"], m["line"], m["pidx"]])
        with open(os.path.join(out, "truth", "side_persons.csv"), "w", encoding="utf-8", newline="") as f:
            w = csv.writer(f); w.writerow(["pidx", "name", "id", "town", "vil", "grp", "hidx", "rel", "pid", "twin_of"])
            for p in self.persons:
                w.writerow([p["pidx"], p["name"], p["id"], p["town"], p["vil"], p["grp"], p["hidx"], p["rel"], p.get("pid", ""), p.get("twin_of", "")])
        with open(os.path.join(out, "truth", "population.json"), "w", encoding="utf-8") as f:
            json.dump({"county_population": len(self.persons)}, f)
        print(self.vname, "persons", len(self.persons), "roster", len(self.roster), "households",
              len(self.roster_h), "truth rows", len(self.truth))

    def gen_medical(self):
        v, rng = self.v, self.rng
        # settlements
        n = int(len(self.persons) * 0.18)
        recs = []
        for i in range(n):
            (p,) = self.pick(0.25)
            idv, tags, bad = self.dirty_id(p, v["masks"])
            nm, nt = self.dirty_name(p["name"])
            typ = self.choose({"住院": .3, "门诊慢特病": .3, "普通门诊": .4})
            d1 = self.rdate(1, 28)
            d2 = d1 + dt.timedelta(days=rng.randint(0, 12) if typ == "住院" else 0)
            if d2.month != 10:
                d2 = dt.date(2026, 10, 31)
            tot = round(rng.lognormvariate(7.5 if typ != "住院" else 9.2, 0.8), 2)
            pool = round(tot * rng.uniform(0.45, 0.75), 2)
            big = round(tot * 0.1, 2) if tot > 30000 else 0.0
            aid = round(tot * rng.uniform(0, 0.1), 2) if p.get("pid") else 0.0
            own = round(tot - pool - big - aid, 2)
            r = {"结算流水号": f"YB{v['code']}202610{i+1:07d}", "姓名": nm, "证件号码": idv, "参保地": v["county"],
                 "就诊机构": rng.choice(HOSP), "就诊类型": typ, "入院日期": d1.isoformat(), "结算日期": d2.isoformat(),
                 "医疗总费用": f"{tot:.2f}", "统筹支付": f"{pool:.2f}", "大病保险支付": f"{big:.2f}",
                 "医疗救助支付": f"{aid:.2f}", "个人自付": f"{own:.2f}"}
            badtags = ["bad=destroyed_id"] if bad and idv else []
            x = rng.random()
            if x < 0.003:
                r["结算日期"] = "2026-10-32"; badtags.append("bad=date")
            elif x < 0.006:
                r["个人自付"] = "-" + r["个人自付"]; badtags.append("bad=negative_amount")
            elif x < 0.008:
                r["就诊类型"] = "急诊留观"; badtags.append("bad=unknown_code")
            recs.append((r, self.tmeta("医保", "settlements", r["结算流水号"], p, tags + nt + badtags), p))
        hdr = list(recs[0][0])
        third = len(recs) // 2
        a, b = recs[:third], recs[third:]
        title = f"宿州市{v['county']}医疗保障局 2026年10月结算明细"
        tot = {hdr[0]: "合计", "个人自付": f"{sum(float(r[0]['个人自付'].lstrip('-')) for r in a):.2f}"}
        _, rel = self.write("医保", "结算明细_2026-10_第一批", hdr, [r for r, _, _ in a], [m for _, m, _ in a],
                            title=title, total_row=tot)
        self.write("医保", "结算明细_2026-10_第二批", hdr, [r for r, _, _ in b], [m for _, m, _ in b], title=title)
        # same file delivered twice
        src = os.path.join(self.inbox, rel)
        dup = src.replace("第一批", "第一批(1)")
        with open(src, "rb") as f, open(dup, "wb") as g:
            g.write(f.read())
        for m in [t for t in self.truth if t["file"] == rel]:
            m2 = dict(m); m2["file"] = os.path.relpath(dup, self.inbox); m2["dirt"] += ";dup_file"
            self.truth.append(m2)
        # correction: 补报 re-delivers 40 records with corrected amounts / unmasked ID
        corr = rng.sample(recs, 40)
        rows, metas = [], []
        for r, m, p in corr:
            r = dict(r)
            r["个人自付"] = f"{abs(float(r['个人自付'])) + 100:.2f}"
            r["结算日期"] = r["入院日期"] if r["结算日期"] == "2026-10-32" else r["结算日期"]
            if r["就诊类型"] == "急诊留观":
                r["就诊类型"] = "普通门诊"
            idv, tags, bad = self.dirty_id(p, {"6+4": 1.0})
            r["证件号码"] = idv
            m = self.tmeta("医保", "settlements", r["结算流水号"], p, tags + ["correction"])
            rows.append(r); metas.append(m)
        self.write("医保", "结算明细_2026-10_补报", hdr, rows, metas, fmt="csv", enc="utf-8-sig")
        # enrollment: full snapshot of the county's insured residents
        rows, metas = [], []
        enr_masks = {"6+4": .7, "4+4": .1, "full": .1, "14": .1} if self.vname != "heavy" else v["masks"]
        k = 0
        for p in self.persons:
            if self.rng.random() < (0.04 if p.get("pid") else 0.05):
                continue
            k += 1
            idv, tags, bad = self.dirty_id(p, enr_masks)
            nm, nt = self.dirty_name(p["name"])
            st = self.choose({"正常参保": .95, "暂停参保": .03, "终止参保": .02})
            r = {"人员编号": f"CB{v['code']}{k:08d}", "姓名": nm, "证件号码": idv, "参保状态": st, "参保年度": "2026"}
            rows.append(r)
            metas.append(self.tmeta("医保", "enrollment", r["人员编号"], p, tags + nt + (["bad=destroyed_id"] if bad and idv else [])))
        self.write("医保", "参保名单_2026-10", list(rows[0]), rows, metas, fmt="csv", enc="gb18030")

    def gen_housing(self):
        v, rng = self.v, self.rng
        rows, metas = [], []
        heads = [self.persons[h["members"][0]] for h in self.hh]
        rh = [self.persons[self.hh[i]["members"][0]] for i in self.roster_h]
        for i in range(320):
            p = rng.choice(rh) if rng.random() < 0.4 else rng.choice(heads)
            idv, tags, bad = self.dirty_id(p, v["masks"])
            nm, nt = self.dirty_name(p["name"])
            t, vn, pt = self.place(p)
            r = {"鉴定编号": f"JD{v['code']}2610{i+1:05d}", "户主姓名": nm, "证件号码": idv, "乡（镇）": t, "行政村": vn,
                 "村民小组": p["grp"], "鉴定等级": self.choose({"A": .4, "B": .3, "C": .2, "D": .1}),
                 "鉴定日期": self.rdate().isoformat(), "改造状态": self.choose({"未改造": .5, "改造中": .3, "已改造": .2})}
            bt = []
            if rng.random() < 0.01:
                r["鉴定等级"] = "E"; bt.append("bad=unknown_code")
            rows.append(r)
            metas.append(self.tmeta("住建", "", r["鉴定编号"], p, tags + nt + pt + bt + (["bad=destroyed_id"] if bad and idv else [])))
        self.write("住建", "农村住房安全鉴定", list(rows[0]), rows, metas,
                   title=f"{v['county']}住房和城乡建设局 农村低收入群体住房安全鉴定台账")

    def gen_edu(self):
        v, rng = self.v, self.rng
        rows, metas = [], []
        young = lambda p: 3 <= self.age(p) <= 23
        twins = [p for p in self.roster if p.get("twin_of")]
        for i in range(420):
            if twins and rng.random() < 0.05:
                p = rng.choice(twins)
            else:
                (p,) = self.pick(0.22, young)
            a = self.age(p)
            stage = ("学前" if a < 6 else "小学" if a < 12 else "初中" if a < 15 else "高中" if a < 18 else
                     ("高校" if rng.random() < .6 else "中职"))
            masks = {"full": .5, **{k: x * .5 for k, x in v["masks"].items()}}
            idv, tags, bad = self.dirty_id(p, masks)
            nm, nt = self.dirty_name(p["name"], mask_share=v["name_mask"] * .5)
            if rng.random() < 0.5:
                xj = "G" + p["id"]; tags.append("xjh=G+id")
            else:
                xj = f"XJ{v['code']}{i+1:08d}"
            fee = rng.randint(0, 3000) if stage in ("学前", "小学", "初中") else rng.randint(2000, 18000)
            r = {"学籍号": xj, "学生姓名": nm, "证件号码": idv, "学校名称": rng.choice(["第一中学", "实验小学", "城关中学", "职业教育中心", "安徽农业大学", "中心幼儿园"]),
                 "学段": stage, "学籍状态": self.choose({"在读": .5, "休学": .1, "辍学": .1, "转出": .15, "毕业": .15}),
                 "异动日期": self.rdate().isoformat(), "本学年个人负担费用": str(fee)}
            rows.append(r)
            metas.append(self.tmeta("教育", "", xj, p, tags + nt + (["bad=destroyed_id"] if bad and idv else [])))
        self.write("教育", "学籍异动", list(rows[0]), rows, metas, title="学生学籍异动名单")

    def gen_water(self):
        v, rng = self.v, self.rng
        rows = []
        for i in range(30):
            t, vn = rng.choice(self.villages)
            if rng.random() < .3:
                vn = vn[:-1]
            rows.append({"工单编号": f"GS{v['code']}2610{i+1:04d}", "乡（镇）": t, "行政村": vn,
                         "村民小组": rng.choice(["", "", f"{rng.randint(1, 9)}组"]),
                         "问题类型": rng.choice(["有管无水", "频繁停水断水", "水质较差", "未通自来水且自行取水困难", "高价买水", "其他"]),
                         "发现日期": self.rdate(1, 15).isoformat(),
                         "解决日期": rng.choice(["", self.rdate(16, 31).isoformat()]), "影响户数": str(rng.randint(3, 60))})
        self.write("水利", "农村供水问题台账", list(rows[0]), rows, [None] * len(rows))

    def gen_civil(self):
        v, rng = self.v, self.rng
        rows, metas = [], []
        masks = {"full": .3, **{k: x * .7 for k, x in v["masks"].items()}}
        for i in range(300):
            (p,) = self.pick(0.4)
            idv, tags, bad = self.dirty_id(p, masks)
            nm, nt = self.dirty_name(p["name"])
            t, vn, pt = self.place(p)
            r = {"记录编号": f"MZ{v['code']}2610{i+1:05d}", "姓名": nm, "证件号码": idv, "乡（镇）": t, "行政村": vn,
                 "救助类别": self.choose({"低保": .55, "特困": .15, "临时救助": .25, "孤儿": .05}),
                 "变动类型": self.choose({"新增": .4, "停发": .2, "调整": .3, "死亡注销": .1}),
                 "变动日期": self.rdate().isoformat(), "月救助金额": str(rng.randint(200, 1200))}
            bt = []
            if rng.random() < .01:
                r["变动日期"] = "2026年10月"; bt.append("bad=date")
            rows.append(r)
            metas.append(self.tmeta("民政", "", r["记录编号"], p, tags + nt + pt + bt + (["bad=destroyed_id"] if bad and idv else [])))
        self.write("民政", "救助变动", list(rows[0]), rows, metas, title=f"{v['county']}民政局 2026年10月救助对象变动")

    def gen_disab(self):
        v, rng = self.v, self.rng
        rows, metas = [], []
        seen = set()
        for i in range(160):
            (p,) = self.pick(0.3)
            typ = rng.randint(1, 7)
            lvl = rng.randint(1, 4)
            cert = p["id"] + f"{typ}{lvl}"
            if cert in seen:
                continue
            seen.add(cert)
            tags = []
            if rng.random() < 0.12:
                cert = cert[:6] + "*" * 8 + cert[14:]; tags.append("mask=6+4(+2)")
            else:
                tags.append("mask=full")
            if rng.random() < v["id_dirt"] / 2 and "*" not in cert:
                j = rng.randrange(6, 17)
                cert = cert[:j] + str((int(cert[j]) + 1) % 10) + cert[j + 1:]; tags.append(f"id=typo@{j+1}")
            nm, nt = self.dirty_name(p["name"])
            t, _, pt = self.place(p)
            r = {"残疾人证号": cert, "姓名": nm,
                 "残疾类别": ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"][typ - 1],
                 "残疾等级": ["一级", "二级", "三级", "四级"][lvl - 1],
                 "办证类型": self.choose({"新办": .5, "换领": .35, "注销": .15}), "发证日期": self.rdate().isoformat(),
                 "乡（镇）": t}
            rows.append(r)
            metas.append(self.tmeta("残联", "", cert, p, tags + nt + [x for x in pt if x.startswith("town")]))
        self.write("残联", "残疾人证", list(rows[0]), rows, metas, enc="gb18030" if self.vname != "heavy" else None)

    def gen_hr(self):
        v, rng = self.v, self.rng
        rows, metas = [], []
        work = lambda p: 16 <= self.age(p) <= 62
        for i in range(400):
            (p,) = self.pick(0.2, work)
            idv, tags, bad = self.dirty_id(p, v["masks"])
            nm, nt = self.dirty_name(p["name"])
            ev = self.choose({"失业登记": .2, "停止缴费": .3, "就业登记": .3, "返乡登记": .2})
            r = {"记录编号": f"RS{v['code']}2610{i+1:05d}", "姓名": nm, "证件号码": idv, "事件类型": ev,
                 "事件日期": self.rdate().isoformat(), "连续未缴费月数": str(rng.randint(1, 8) if ev == "停止缴费" else 0)}
            rows.append(r)
            metas.append(self.tmeta("人社", "", r["记录编号"], p, tags + nt + (["bad=destroyed_id"] if bad and idv else [])))
        self.write("人社", "就业社保变动", list(rows[0]), rows, metas)

    def gen_agri(self):
        v, rng = self.v, self.rng
        rows, metas = [], []
        heads = [self.persons[h["members"][0]] for h in self.hh]
        rh = [self.persons[self.hh[i]["members"][0]] for i in self.roster_h]
        for i in range(220):
            p = rng.choice(rh) if rng.random() < 0.3 else rng.choice(heads)
            idv, tags, bad = self.dirty_id(p, v["masks"])
            nm, nt = self.dirty_name(p["name"])
            t, vn, pt = self.place(p)
            r = {"报案编号": f"BA{v['code']}2610{i+1:05d}", "户主姓名": nm, "证件号码": idv, "乡（镇）": t, "行政村": vn,
                 "灾害类型": rng.choice(["洪涝", "干旱", "冰雹", "风灾", "病虫害", "畜禽疫病", "产业项目失败"]),
                 "损失金额（元）": str(rng.randint(500, 30000)), "发生日期": self.rdate().isoformat()}
            bt = []
            if rng.random() < .01:
                r["损失金额（元）"] = "-" + r["损失金额（元）"]; bt.append("bad=negative_amount")
            rows.append(r)
            metas.append(self.tmeta("农业农村", "", r["报案编号"], p, tags + nt + pt + bt + (["bad=destroyed_id"] if bad and idv else [])))
        self.write("农业农村", "灾情损失", list(rows[0]), rows, metas)


def generate(out, style: str, seed: int | None = None) -> None:
    """Write one county of `style` (VARIANTS) to `out`; `seed` replaces the style's own."""
    G(style, seed).gen(str(out))


if __name__ == "__main__":
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--style", choices=sorted(VARIANTS), required=True)
    ap.add_argument("--seed", type=int, help="the style's own seed when not given")
    ap.add_argument("--out", required=True)
    a = ap.parse_args()
    generate(a.out, a.style, a.seed)

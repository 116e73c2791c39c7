"""Deterministic sample county inbox (SPEC §1-§3) with ground truth in `truth/`.

    python -m sample_data.generate --out DIR [--seed 7] [--periods 2026-08,2026-09,2026-10]
                                   [--profile standard|hard] [--households 3000]

Writes DIR/inbox/<period>/<folder>/... and DIR/truth/{links.csv, warnings.csv, water.csv,
population.json}. Same arguments => byte-identical files.

Truth conventions:
- links.csv: one row per department data row of every file (duplicates and bad rows included).
  `expect`: record | duplicate (a later delivery of an already delivered record_id: 补报 repeats,
  the corrected rows `dup=corrected` whose content is the truth, the repeated row in the 住建 XLSX,
  every row of the byte-identical `_重发` file) | rejected (deliberately bad, `bad=<fields>`).
  person_id/household_id: the true roster person, empty for non-roster people and 水利.
  `dirt` tags: mask=, id=, name=, village=, township=, dup=, bad=, enc=, plant=<rule> (planted
  signal), near=<rule> (near miss), lookalike (non-roster person whose ID keeps a roster person's
  region + last 4 and who has that person's surname, half the time the full name).
- warnings.csv: SPEC §4 over the true, de-duplicated (last delivery wins), non-rejected content,
  without the repeat-suppression clause. M1/M2/M3 fire in a period for persons/households with a
  settlement in that period whose year-to-date sum (all generated periods of that year up to it)
  reaches the threshold; record_ids are all year-to-date settlements summed. M4: roster persons
  absent from the period's 参保名单 (record_ids empty) or 暂停/终止. W1: every roster household of
  the (township, village[, group]) of an unresolved order. Leads have an empty household_id.
"""

from __future__ import annotations

import argparse
import calendar
import csv
import io
import json
import random
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from pathlib import Path

import xlsxwriter

from config import Config, load_config
from sample_data.dirt import MASKS, dirty_id, dirty_name, township_variant, village_variant
from sample_data.world import Person, World, age_on, phone

COLS = {
    "med_settlement": [("record_id", "结算流水号"), ("name", "姓名"), ("id_raw", "证件号码"), ("insured_place", "参保地"),
                       ("facility", "就诊机构"), ("visit_type", "就诊类型"), ("admit_date", "入院日期"),
                       ("settle_date", "结算日期"), ("total_cost", "医疗总费用"), ("pooled_pay", "统筹支付"),
                       ("critical_pay", "大病保险支付"), ("assistance_pay", "医疗救助支付"), ("out_of_pocket", "个人自付")],
    "med_enrollment": [("record_id", "人员编号"), ("name", "姓名"), ("id_raw", "证件号码"), ("status", "参保状态"),
                       ("year", "参保年度")],
    "housing": [("record_id", "鉴定编号"), ("name", "户主姓名"), ("id_raw", "证件号码"), ("township", "乡（镇）"),
                ("village", "行政村"), ("group", "村民小组"), ("grade", "鉴定等级"), ("assess_date", "鉴定日期"),
                ("renovation", "改造状态")],
    "education": [("record_id", "学籍号"), ("name", "学生姓名"), ("id_raw", "证件号码"), ("school", "学校名称"),
                  ("stage", "学段"), ("status", "学籍状态"), ("change_date", "异动日期"), ("annual_cost", "本学年个人负担费用")],
    "water": [("record_id", "工单编号"), ("township", "乡（镇）"), ("village", "行政村"), ("group", "村民小组"),
              ("problem_type", "问题类型"), ("found_date", "发现日期"), ("resolved_date", "解决日期"),
              ("households_affected", "影响户数")],
    "civil": [("record_id", "记录编号"), ("name", "姓名"), ("id_raw", "证件号码"), ("township", "乡（镇）"),
              ("village", "行政村"), ("category", "救助类别"), ("change_type", "变动类型"), ("change_date", "变动日期"),
              ("monthly_amount", "月救助金额")],
    "disability": [("record_id", "残疾人证号"), ("name", "姓名"), ("disability_type", "残疾类别"), ("level", "残疾等级"),
                   ("cert_type", "办证类型"), ("issue_date", "发证日期"), ("township", "乡（镇）")],
    "hr": [("record_id", "记录编号"), ("name", "姓名"), ("id_raw", "证件号码"), ("event_type", "事件类型"),
           ("event_date", "事件日期"), ("months_unpaid", "连续未缴费月数")],
    "agri": [("record_id", "报案编号"), ("name", "户主姓名"), ("id_raw", "证件号码"), ("township", "乡（镇）"),
             ("village", "行政村"), ("disaster_type", "灾害类型"), ("loss_amount", "损失金额（元）"), ("occur_date", "发生日期")],
}
DEPT_OF = {"med_settlement": "医保", "med_enrollment": "医保", "housing": "住建", "education": "教育", "water": "水利",
           "civil": "民政", "disability": "残联", "hr": "人社", "agri": "农业农村"}
# mask-style weights (order of MASKS: 6+4, 4+4, 3+4, 14+0, birth, full) and name-mask share per kind
MASK_W = {
    "med_settlement": ([45, 10, 8, 12, 5, 20], 0.45),
    "med_enrollment": ([85, 0, 0, 0, 0, 15], 0.05),
    "housing": ([30, 10, 0, 10, 0, 50], 0.1),
    "education": ([20, 0, 0, 0, 10, 70], 0.05),
    "civil": ([30, 0, 10, 10, 0, 50], 0.05),
    "disability": ([0, 0, 0, 0, 0, 100], 0.3),
    "hr": ([40, 20, 30, 0, 0, 10], 0.3),
    "agri": ([40, 20, 0, 0, 0, 40], 0.05),
}
ID_P = dict(mistype=0.012, transpose=0.012, id15=0.02, destroy=0.012, kept_wrong=0.012, fw_star=0.12,
            lower_x=0.4, fw_digits=0.01, apostrophe=0.03, space=0.03)
NAME_P = dict(homophone=0.03, traditional=0.02, drop=0.01, swap=0.01, space=0.015)
PLACE_KINDS = {"housing", "civil", "agri"}
FACILITIES = ["宿州市立医院", "宿州市第一人民医院", "埇桥区人民医院", "宿州市中医医院", "大店镇卫生院", "曹村镇卫生院",
              "芦岭镇卫生院", "安徽医科大学第一附属医院", "皖北煤电集团总医院"]
SCHOOLS = {"学前": ["大店镇中心幼儿园", "曹村镇中心幼儿园"], "小学": ["大店镇中心小学", "时村乡中心小学", "芦岭镇第一小学"],
           "初中": ["大营镇中学", "夹沟镇中学", "苗庵乡初级中学"], "高中": ["宿州市第二中学", "埇桥区第一中学"],
           "中职": ["宿州工业学校", "宿州逸夫师范学校"], "高校": ["宿州学院", "安徽大学", "合肥工业大学"]}
DIS_TYPES = ["视力", "听力", "言语", "肢体", "智力", "精神", "多重"]
LEVELS = ["一级", "二级", "三级", "四级"]
FIXED_TIME = datetime(2026, 11, 1, 8, 0, 0)
DATE_OF = {"med_settlement": "settle_date", "housing": "assess_date", "education": "change_date", "water": "found_date",
           "civil": "change_date", "hr": "event_date", "agri": "occur_date"}


@dataclass
class Rec:
    """One department row: true content `f`, true person, what was written (`shown`)."""

    period: str
    kind: str
    rid: str
    person: Person | None
    f: dict
    expect: str = "record"
    dirt: list = field(default_factory=list)
    valid: bool = True
    shown: dict = field(default_factory=dict)
    file: str = ""
    line: int = 0

    @property
    def dept(self) -> str:
        return DEPT_OF[self.kind]


@dataclass
class OutFile:
    folder: str
    name: str
    kind: str
    rows: list
    fmt: str = "csv"  # csv | xlsx
    encoding: str = "utf-8"
    titles: list = field(default_factory=list)
    total: bool = False
    headers: dict = field(default_factory=dict)  # field -> header override
    extras: list = field(default_factory=list)  # (header, fn(rec) -> str)
    shuffle: bool = False
    crlf: bool = False
    copy_of: str | None = None


def month_days(period: str) -> tuple[date, date]:
    y, m = map(int, period.split("-"))
    return date(y, m, 1), date(y, m, calendar.monthrange(y, m)[1])


def day_in(rng: random.Random, period: str) -> date:
    a, b = month_days(period)
    return a + timedelta(days=rng.randrange((b - a).days + 1))


def fmt(v) -> str:
    if v is None:
        return ""
    if isinstance(v, float):
        return f"{v:.2f}"
    if isinstance(v, date):
        return v.isoformat()
    return str(v)


class PeriodBuilder:
    """Builds one period's department records: background, planted signals, near-misses, bad rows."""

    def __init__(self, world: World, cfg: Config, seed: int, profile: str, period: str, idx: int):
        self.w, self.cfg, self.period, self.idx = world, cfg, period, idx
        self.seed, self.profile = seed, profile
        self.start, self.end = month_days(period)
        self.mid = self.start + timedelta(days=14)
        self.ym = period.replace("-", "")
        self.H = len(world.households)
        self.scale = max(1, round(self.H / 1000))
        self.recs: dict[str, list[Rec]] = {}
        self.seq = Counter()

    def rng(self, name: str) -> random.Random:
        return random.Random(f"{self.seed}:{self.period}:{name}")

    def rid(self, prefix: str) -> str:
        self.seq[prefix] += 1
        return f"{prefix}{self.ym}{self.seq[prefix]:06d}"

    def roster(self, rng: random.Random, pred=lambda p: True, heads=False) -> Person:
        ok = lambda p: (not heads or p.relation == "户主") and pred(p)
        for _ in range(2000):
            p = rng.choice(self.w.persons)
            if ok(p):
                return p
        return rng.choice([p for p in self.w.persons if ok(p)])

    def age(self, p: Person, on: date | None = None) -> int:
        return age_on(p.birth, on or self.mid)

    def someone(self, rng: random.Random, share: float, heads=False, min_age=0, max_age=95) -> Person:
        if rng.random() < share:
            return self.roster(rng, lambda p: min_age <= self.age(p) <= max_age, heads)
        return self.w.outsider(rng, self.mid, min_age, max_age)

    # --- rendering ------------------------------------------------------------------------------
    def render(self, rng: random.Random, r: Rec, bad: dict | None = None) -> Rec:
        boost, dirt = self.w.p["mask_boost"], self.w.p["dirt"]
        cols = dict(COLS[r.kind])
        for fld in cols:
            r.shown[fld] = fmt(r.f.get(fld))
        p = r.person
        if p is not None and "id_raw" in cols:
            w, _ = MASK_W[r.kind]
            w = [x * (boost if m in ("3+4", "birth", "4+4") else 1) for x, m in zip(w, MASKS)]
            style = rng.choices(MASKS, w)[0]
            d = dirt * (0.2 if r.kind == "med_enrollment" else 1)  # enrollment comes from a clean system
            probs = {k: (v * d if k not in ("lower_x", "fw_star") else v) for k, v in ID_P.items()}
            r.shown["id_raw"], tags = dirty_id(rng, p.id18, style, probs, r.kind in PLACE_KINDS)
            r.dirt += tags
        if p is not None and "name" in cols:
            _, nm = MASK_W[r.kind]
            r.shown["name"], tags = dirty_name(rng, p.name, min(0.9, nm * self.w.p["name_mask"]),
                                               {k: v * dirt for k, v in NAME_P.items()})
            r.dirt += tags
        if r.shown.get("village"):
            r.shown["village"], tags = village_variant(rng, r.shown["village"])
            r.dirt += tags
        if r.shown.get("township"):
            r.shown["township"], tags = township_variant(rng, r.shown["township"])
            r.dirt += tags
        if bad:
            r.expect, r.valid = "rejected", False
            for k, v in bad.items():
                r.shown[k] = v
            r.dirt.append("bad=" + "+".join(sorted(bad)))
        return r

    def add(self, rng: random.Random, kind: str, rid: str, person: Person | None, f: dict,
            bad: dict | None = None, tag: str | None = None) -> Rec:
        r = Rec(self.period, kind, rid, person, {"record_id": rid, **f})
        if tag:
            r.dirt.append(tag)
        self.recs.setdefault(kind, []).append(self.render(rng, r, bad))
        return r

    @staticmethod
    def place(p: Person, group=False) -> dict:
        d = {"township": p.township, "village": p.village}
        if group:
            d["group"] = p.group
        return d

    # --- 医保 ---------------------------------------------------------------------------------
    def settlement(self, rng, p: Person, oop: float, visit: str | None = None, tag=None, bad=None) -> Rec:
        if not p.pid:
            self.w.settled.add(p.key)
        visit = visit or rng.choices(["普通门诊", "门诊慢特病", "住院"], [55, 25, 20])[0]
        share = rng.uniform(0.25, 0.5)
        total = round(oop / share, 2)
        critical = round(total * 0.1, 2) if total > 30000 else 0.0
        assist = round(total * 0.05, 2) if p.pid and rng.random() < 0.5 else 0.0
        pooled = round(total - oop - critical - assist, 2)
        settle = day_in(rng, self.period)
        admit = settle - timedelta(days=rng.randint(1, 20)) if visit == "住院" else settle
        insured, facility = rng.choice(["埇桥区", "宿州市埇桥区"]), rng.choice(FACILITIES)
        # `local_clinic_p` of 普通门诊 visits at the patient's own township 卫生院 (0 in both
        # profiles: facilities at random). A coin of its own, so the county is otherwise the same.
        if visit == "普通门诊" and random.Random(f"{self.seed}:clinic:{p.key}:{settle}").random() < self.w.p["local_clinic_p"]:
            facility = f"{p.township}卫生院"
        f = dict(name=p.name, insured_place=insured, facility=facility,
                 visit_type=visit, admit_date=admit, settle_date=settle, total_cost=total, pooled_pay=pooled,
                 critical_pay=critical, assistance_pay=assist, out_of_pocket=round(oop, 2))
        return self.add(rng, "med_settlement", self.rid("JS"), p, f, bad, tag)

    def medical(self):
        rng, w = self.rng("医保"), self.w
        n = max(60, int(0.9 * self.H))
        for _ in range(n):
            tag = None
            if rng.random() < w.p["lookalike_p"]:
                p, tag = w.lookalike(rng, rng.choice(w.persons), self.mid), "lookalike"
            elif rng.random() < 0.3:
                p = rng.choice(w.frequent)
            else:
                p = self.someone(rng, 0.42)
            self.settlement(rng, p, min(rng.lognormvariate(5.5, 1.0), 4000), tag=tag)
        for p, amount in w.chronic:  # crosses a threshold only year-to-date, over several periods
            self.settlement(rng, p, amount * rng.uniform(0.98, 1.02), "门诊慢特病", "plant=chronic")
        thr = self.cfg.rules["M1"]["threshold"]
        fresh = lambda p: p.pid not in w.used
        for _ in range(3 * self.scale):  # M1
            p = self.roster(rng, fresh)
            w.used.add(p.pid)
            t = rng.uniform(thr * 1.02, thr * 1.8)
            self.settlement(rng, p, t * 0.6, "住院", "plant=M1")
            self.settlement(rng, p, t * 0.4, "门诊慢特病", "plant=M1")
        for _ in range(2 * self.scale):  # M1 near miss
            p = self.roster(rng, fresh)
            w.used.add(p.pid)
            self.settlement(rng, p, rng.uniform(thr * 0.95, thr - 5), "住院", "near=M1")
        share = self.cfg.rules["M2"]["share_of_income"]
        for k in range(3 * self.scale):  # M2 (two members, each under M1), last one a near miss
            hh = rng.choice([h for h in w.households if h.size >= 2 and share * h.annual_income < 1.8 * thr
                             and all(m.pid not in w.used for m in h.members)])
            w.used.update(m.pid for m in hh.members)
            target = share * hh.annual_income * (rng.uniform(1.02, 1.2) if k % 3 else 0.92)
            tag = "plant=M2" if k % 3 else "near=M2"
            self.settlement(rng, hh.members[0], target * 0.55, "住院", tag)
            self.settlement(rng, hh.members[1], target * 0.45, None, tag)
        m3 = self.cfg.rules["M3"]["threshold"]
        for k in range(3 * self.scale):  # M3 leads, last one a near miss
            p = w.outsider(rng, self.mid, 20, 80)
            amt = rng.uniform(m3 * 1.05, m3 * 1.6) if k % 3 else rng.uniform(m3 * 0.96, m3 - 10)
            self.settlement(rng, p, amt, "住院", "plant=M3" if k % 3 else "near=M3")
        for _ in range(2):  # bad rows
            self.settlement(rng, self.someone(rng, 0.3), 300.0, bad={"settle_date": "2026-13-45"})
            self.settlement(rng, self.someone(rng, 0.3), 120.5, bad={"out_of_pocket": "-120.50"})
        self.settlement(rng, self.someone(rng, 0.3), 200.0, bad={"id_raw": "3.41302E+17", "name": "*"})

    def enrollment(self):
        """参保名单, the county's insured residents (SPEC §3): all roster persons but the M4 ones,
        and every non-roster resident met so far (those of this period's other extracts too)
        but an uninsured `uninsured_p` share (none of them with a settlement)."""
        er, w = self.rng("参保"), self.w
        for p in w.persons + [o for o in w.outsiders if w.insured_of(o)]:
            status = w.m4.get(p.pid, "正常参保") if p.pid else ("终止参保" if er.random() < 0.01 else "正常参保")
            if status is None:
                continue
            tag = "plant=M4" if p.pid in w.m4 else None
            self.add(er, "med_enrollment", w.enroll_no(p), p, dict(name=p.name, status=status,
                                                                  year=self.start.year), tag=tag)
        for _ in range(2):
            p = w.outsider(er, self.mid)
            self.add(er, "med_enrollment", f"CB{er.randrange(10**8):08d}", p,
                     dict(name=p.name, status="正常参保", year=self.start.year), bad={"status": "参保中"})

    # --- other departments ---------------------------------------------------------------------
    def housing(self):
        rng = self.rng("住建")

        def rec(p, grade, reno, tag=None, bad=None):
            f = dict(name=p.name, **self.place(p, True), grade=grade, assess_date=day_in(rng, self.period),
                     renovation=reno)
            return self.add(rng, "housing", self.rid("JD"), p, f, bad, tag)

        for _ in range(max(20, int(0.05 * self.H))):
            p = self.someone(rng, 0.25, heads=True, min_age=25)
            g = rng.choices("ABCD", [40, 35, 15, 10])[0]
            reno = rng.choices(["未改造", "改造中", "已改造"], [2, 2, 6] if g in "CD" else [8, 1, 1])[0]
            rec(p, g, reno)
        for _ in range(3 * self.scale):
            rec(self.roster(rng, heads=True), rng.choice("CD"), rng.choice(["未改造", "改造中"]), "plant=H1")
        rec(self.roster(rng, heads=True), "C", "已改造", "near=H1")
        rec(self.roster(rng, heads=True), "B", "未改造", "near=H1")
        rec(self.someone(rng, 0.3, True, 25), "E", "未改造", bad={"grade": "E"})
        rec(self.someone(rng, 0.3, True, 25), "B", "已改造", bad={"assess_date": "2026-13-45"})
        rec(self.someone(rng, 0.0, True, 25), "A", "未改造", bad={"id_raw": "", "name": ""})

    def education(self):
        rng = self.rng("教育")
        stage_of = lambda a: ("学前" if a < 6 else "小学" if a < 12 else "初中" if a < 15 else
                              rng.choice(["高中", "中职"]) if a < 18 else "高校")
        cost = {"学前": (2000, 5000), "小学": (0, 1500), "初中": (0, 1500), "高中": (2000, 8000),
                "中职": (1000, 6000), "高校": (5000, 9800)}

        def rec(p, stage, status, c=None, tag=None, bad=None):
            rid = self.rid("XJ")
            if rng.random() < 0.5 and ("G" + p.id18) not in self.w.used:
                rid = "G" + p.id18
                self.w.used.add(rid)
            c = c if c is not None else round(rng.uniform(*cost[stage]), 0)
            f = dict(name=p.name, school=rng.choice(SCHOOLS[stage]), stage=stage, status=status,
                     change_date=day_in(rng, self.period), annual_cost=c)
            return self.add(rng, "education", rid, p, f, bad, tag)

        kid = lambda lo, hi: (lambda p: lo <= self.age(p) <= hi)
        for _ in range(max(20, int(0.05 * self.H))):
            p = self.someone(rng, 0.3, min_age=4, max_age=21)
            rec(p, stage_of(self.age(p)), rng.choices(["在读", "转出", "毕业", "休学", "辍学"], [55, 20, 15, 6, 4])[0])
        for _ in range(2 * self.scale):
            p = self.roster(rng, kid(7, 14))
            rec(p, stage_of(self.age(p)), rng.choice(["辍学", "休学"]), tag="plant=E1")
            p = self.roster(rng, kid(15, 21))
            rec(p, stage_of(self.age(p)), "在读", float(rng.randint(10000, 16000)), tag="plant=E2")
        thr = self.cfg.rules["E2"]["threshold"]
        rec(self.roster(rng, kid(18, 21)), "高校", "在读", float(thr - rng.randint(1, 200)), tag="near=E2")
        rec(self.roster(rng, kid(15, 17)), "高中", "辍学", tag="near=E1")
        rec(self.roster(rng, kid(12, 14)), "初中", "转出", tag="near=E1")
        rec(self.someone(rng, 0.3, min_age=8, max_age=12), "小学", "在读", bad={"stage": "大学"})
        rec(self.someone(rng, 0.3, min_age=8, max_age=12), "小学", "在读", bad={"change_date": "2026-13-45"})

    def water(self):
        rng = self.rng("水利")
        types = ["有管无水", "频繁停水断水", "水质较差", "未通自来水且自行取水困难", "高价买水", "其他"]
        hh_at = Counter((h.village.township, h.village.name, h.group) for h in self.w.households)

        def rec(v, group, resolved, tag=None, bad=None):
            found = day_in(rng, self.period)
            res = min(found + timedelta(days=rng.randint(1, 10)), self.end) if resolved else None
            n = hh_at[(v.township, v.name, group)] if group else sum(
                c for (t, vn, _), c in hh_at.items() if (t, vn) == (v.township, v.name))
            f = dict(township=v.township, village=v.name, group=group, problem_type=rng.choice(types),
                     found_date=found, resolved_date=res, households_affected=n + rng.randint(3, 40))
            return self.add(rng, "water", self.rid("GS"), None, f, bad, tag)

        vs = self.w.villages
        for _ in range(max(6, self.H // 150)):
            v = rng.choice(vs)
            rec(v, rng.choice([None, f"{rng.randint(1, v.groups)}组"]), True, "near=W1")
        for _ in range(2):
            h = rng.choice(self.w.households)
            rec(h.village, h.group, False, "plant=W1")
        small = min(vs, key=lambda v: (sum(1 for h in self.w.households if h.village is v) or 99, rng.random()))
        rec(small, None, False, "plant=W1")
        rec(rng.choice(vs), None, True, bad={"problem_type": "停电"})
        rec(rng.choice(vs), "3组", True, bad={"found_date": "2026-13-45"})

    def civil(self):
        rng = self.rng("民政")
        amount = {"低保": (400, 800), "特困": (600, 1000), "临时救助": (1000, 3000), "孤儿": (1200, 1200)}

        def rec(p, cat, change, tag=None, bad=None):
            f = dict(name=p.name, **self.place(p), category=cat, change_type=change,
                     change_date=day_in(rng, self.period), monthly_amount=float(rng.randint(*amount[cat])))
            return self.add(rng, "civil", self.rid("MZ"), p, f, bad, tag)

        for _ in range(max(20, int(0.04 * self.H))):
            change = rng.choices(["新增", "调整", "停发", "死亡注销"], [20, 45, 25, 10])[0]
            p = self.someone(rng, 0.4, min_age=66 if change == "死亡注销" else 0)
            cat = "孤儿" if self.age(p) < 16 and rng.random() < 0.5 else rng.choices(["低保", "临时救助", "特困"], [60, 15, 15])[0]
            rec(p, cat, change)
        c1 = self.cfg.rules["C1"]
        for _ in range(2 * self.scale):
            rec(self.roster(rng, lambda p: c1["min_age"] + 1 <= self.age(p) <= c1["max_age"] - 1), "低保", "死亡注销", "plant=C1")
            rec(self.roster(rng), rng.choice(["临时救助", "特困"]), "新增", "plant=C2")
            rec(self.w.outsider(rng, self.mid, 20, 80), rng.choice(["临时救助", "特困"]), "新增", "plant=C2lead")
        rec(self.roster(rng, lambda p: c1["max_age"] + 2 <= self.age(p) <= c1["max_age"] + 5), "低保", "死亡注销", "near=C1")
        rec(self.roster(rng), "低保", "新增", "near=C2")
        rec(self.roster(rng), "临时救助", "调整", "near=C2")
        rec(self.someone(rng, 0.4), "低保", "调整", bad={"monthly_amount": "-500"})
        rec(self.someone(rng, 0.4), "低保", "新增", bad={"category": "五保"})
        rec(self.someone(rng, 0.0), "低保", "调整", bad={"id_raw": "3.42201E+17", "name": "*"})

    def disability(self):
        rng, used = self.rng("残联"), self.w.used

        def rec(p, level, cert, tag=None, bad=None):
            t = rng.randrange(len(DIS_TYPES))
            rid = f"{p.id18}{t + 1}{LEVELS.index(level) + 1 if level in LEVELS else 5}"
            used.add(rid[:18])
            f = dict(name=p.name, disability_type=DIS_TYPES[t], level=level, cert_type=cert,
                     issue_date=day_in(rng, self.period), township=p.township if rng.random() < 0.9 else None)
            return self.add(rng, "disability", rid, p, f, bad, tag)

        def who(share, **kw):
            while True:
                p = self.someone(rng, share, **kw)
                if p.id18 not in used:
                    return p

        for _ in range(max(15, int(0.03 * self.H))):
            rec(who(0.3), rng.choice(LEVELS), rng.choices(["新办", "换领", "注销"], [40, 50, 10])[0])
        for _ in range(2 * self.scale):
            rec(who(1.0), rng.choice(LEVELS), "新办", "plant=D1")
            rec(who(0.0), rng.choice(["一级", "二级"]), "新办", "plant=D1lead")
        rec(who(0.0), "三级", "新办", "near=D1")
        rec(who(1.0), "一级", "换领", "near=D1")
        rec(who(0.3), "五级", "新办", bad={"level": "五级"})
        rec(who(0.3), "三级", "新办", bad={"issue_date": "2026-13-45"})

    def hr(self):
        rng = self.rng("人社")
        r1 = self.cfg.rules["R1"]

        def rec(p, ev, months, tag=None, bad=None):
            f = dict(name=p.name, event_type=ev, event_date=day_in(rng, self.period), months_unpaid=months)
            return self.add(rng, "hr", self.rid("RS"), p, f, bad, tag)

        for _ in range(max(20, int(0.06 * self.H))):
            ev = rng.choices(["失业登记", "停止缴费", "就业登记", "返乡登记"], [15, 30, 40, 15])[0]
            tag, p = None, self.someone(rng, 0.25, min_age=16, max_age=70)
            if rng.random() < self.w.p["lookalike_p"] * 3:
                tag, p = "lookalike", self.w.lookalike(rng, self.roster(rng, lambda q: 18 <= self.age(q) <= 60), self.mid)
            rec(p, ev, rng.randint(1, 6) if ev == "停止缴费" else 0, tag)
        working = lambda p: r1["min_age"] + 1 <= self.age(p) <= r1["max_age"] - 1
        for ev, m in [("失业登记", 0), ("返乡登记", 0), ("停止缴费", r1["months_unpaid"] + 1)] * self.scale:
            rec(self.roster(rng, working), ev, m, "plant=R1")
        rec(self.roster(rng, working), "停止缴费", r1["months_unpaid"] - 1, "near=R1")
        rec(self.roster(rng, lambda p: r1["max_age"] + 2 <= self.age(p) <= r1["max_age"] + 8), "失业登记", 0, "near=R1")
        rec(self.roster(rng, working), "就业登记", 0, "near=R1")
        rec(self.someone(rng, 0.25, min_age=20, max_age=50), "停止缴费", 2, bad={"months_unpaid": "-1"})
        rec(self.someone(rng, 0.25, min_age=20, max_age=50), "待业登记", 0, bad={"event_type": "待业登记"})
        rec(self.someone(rng, 0.0, min_age=20, max_age=50), "就业登记", 0, bad={"event_date": "2026-13-45", "name": ""})

    def agri(self):
        rng = self.rng("农业农村")
        types = ["洪涝", "干旱", "冰雹", "风灾", "病虫害", "畜禽疫病", "产业项目失败"]
        a1 = self.cfg.rules["A1"]

        def rec(p, loss, dtype=None, tag=None, bad=None):
            f = dict(name=p.name, **self.place(p), disaster_type=dtype or rng.choice(types),
                     loss_amount=round(loss, 2), occur_date=day_in(rng, self.period))
            return self.add(rng, "agri", self.rid("NY"), p, f, bad, tag)

        for _ in range(max(20, int(0.04 * self.H))):
            rec(self.someone(rng, 0.3, heads=True, min_age=25), rng.uniform(300, 6000))
        hh = lambda p: self.w.by_hid[p.hid]
        for _ in range(2 * self.scale):
            rec(self.roster(rng, heads=True), rng.uniform(a1["threshold"], 3 * a1["threshold"]), tag="plant=A1")
        poor = lambda p: a1["share_of_income"] * hh(p).annual_income < a1["threshold"] * 0.9
        p = self.roster(rng, poor, heads=True)
        rec(p, hh(p).annual_income * a1["share_of_income"] * 1.05, "产业项目失败", "plant=A1")
        p = self.roster(rng, poor, heads=True)
        rec(p, hh(p).annual_income * a1["share_of_income"] * 0.93, "冰雹", "near=A1")
        rec(self.someone(rng, 0.3, True, 25), 800.0, bad={"loss_amount": "-800.00"})
        rec(self.someone(rng, 0.3, True, 25), 800.0, bad={"disaster_type": "地震"})

    def build(self, skip: set[str]) -> list[OutFile]:
        for name in ["medical", "housing", "education", "water", "civil", "disability", "hr", "agri", "enrollment"]:
            if DEPT_OF[{"medical": "med_settlement", "enrollment": "med_enrollment"}.get(name, name)] not in skip:
                getattr(self, name)()
        return self.files(skip)

    # --- files ----------------------------------------------------------------------------------
    def renumber(self, rng: random.Random) -> None:
        """Record numbers follow the event date (as in real exports), so planted rows do not cluster."""
        for kind, recs in self.recs.items():
            if kind in DATE_OF:
                keyed = [(r.f[DATE_OF[kind]], rng.random(), r) for r in recs]
                for i, (_, _, r) in enumerate(sorted(keyed, key=lambda x: x[:2]), start=1):
                    if not r.rid.startswith("G"):
                        r.rid = r.f["record_id"] = r.shown["record_id"] = f"{r.rid[:2]}{self.ym}{i:06d}"

    def files(self, skip: set[str]) -> list[OutFile]:
        rng, P = self.rng("files"), self.period
        self.renumber(rng)
        out: list[OutFile] = []
        R = lambda k: sorted(self.recs.get(k, []), key=lambda r: r.rid)
        if "医保" not in skip:
            s = R("med_settlement")
            n1, n2 = int(len(s) * 0.55), int(len(s) * 0.85)
            first, second, late = s[:n1], s[n1:n2], s[n2:]
            late_ok = [r for r in first + second if r.expect == "record"]
            reps = [self.repeat(r) for r in rng.sample(late_ok, max(3, len(late_ok) // 20))]
            corr = [self.correct(rng, r) for r in rng.sample(late_ok, max(2, len(late_ok) // 60))]
            bu = sorted(late + reps + corr, key=lambda r: (r.rid, r.expect))
            cols = len(COLS["med_settlement"])
            out += [
                OutFile("医保", f"结算明细_{P}_第一批.csv", "med_settlement", first, encoding="gb18030",
                        titles=[[f"宿州市医疗保障局{P}结算明细"] + [""] * (cols - 1)], total=True),
                OutFile("医保", f"结算明细_{P}_第二批.csv", "med_settlement", second, headers={"id_raw": "身份证号"}),
                OutFile("医保", f"结算明细_{P}_补报.csv", "med_settlement", bu, encoding="utf-8-sig",
                        headers={"id_raw": "公民身份号码", "out_of_pocket": "个人负担"}),
                OutFile("医保", f"参保名单_{P}.csv", "med_enrollment", R("med_enrollment"), encoding="gb18030"),
            ]
        if "住建" not in skip:
            rows = R("housing")
            i = rng.choice([k for k, r in enumerate(rows) if r.valid])
            rows.insert(i + 1, self.repeat(rows[i]))
            out.append(OutFile("住建", f"住房安全鉴定_{P}.xlsx", "housing", rows, fmt="xlsx",
                               titles=[["埇桥区农村住房安全性鉴定台账"], [f"填报单位：区住建局    统计期：{P}"]]
                               + ([["单位：户"]] if self.profile == "hard" else []), total=True,
                               headers={"id_raw": "身份证号", "township": "乡(镇)", "name": " 户主姓名"},
                               extras=[("联系电话", lambda r: phone(random.Random(r.rid)))]))
        if "教育" not in skip:
            out.append(OutFile("教育", f"学籍异动_{P}.xlsx", "education", R("education"), fmt="xlsx",
                               titles=[[f"埇桥区学生学籍异动名单（{P}）"]], total=True, shuffle=True,
                               extras=[("备注", lambda r: "")]))
        if "水利" not in skip:
            out.append(OutFile("水利", f"农村供水问题台账_{P}.csv", "water", R("water"), encoding="utf-8-sig",
                               headers={"township": "乡镇"}))
        if "民政" not in skip:
            out.append(OutFile("民政", f"救助变动_{P}.csv", "civil", R("civil"), encoding="utf-8-sig",
                               headers={"id_raw": "公民身份号码", "township": "乡镇"},
                               extras=[("经办人", lambda r: "民政办")]))
        if "残联" not in skip:
            out.append(OutFile("残联", f"残疾人证_{P}.csv", "disability", R("disability"), encoding="gb18030", crlf=True))
        if "人社" not in skip:
            out.append(OutFile("hr", f"就业社保变动_{P}.csv", "hr", R("hr"), encoding="gb18030",
                               headers={"id_raw": "身份证号码", "name": " 姓名 ", "event_type": "事件类型 "}))
        if "农业农村" not in skip:
            rows = R("agri")
            h = {"loss_amount": "损失金额", "township": "乡(镇)"}
            out.append(OutFile("农业农村", f"灾情损失_{P}.csv", "agri", rows, crlf=True, headers=h))
            out.append(OutFile("农业农村", f"灾情损失_{P}_重发.csv", "agri", [self.repeat(r) for r in rows], crlf=True,
                               headers=h, copy_of=f"灾情损失_{P}.csv"))
        return out

    @staticmethod
    def repeat(r: Rec) -> Rec:
        return Rec(r.period, r.kind, r.rid, r.person, dict(r.f), "duplicate", r.dirt + ["dup=identical"], r.valid,
                   dict(r.shown))

    def correct(self, rng: random.Random, r: Rec) -> Rec:
        c = self.repeat(r)
        c.dirt[-1] = "dup=corrected"
        oop = round(r.f["out_of_pocket"] * rng.choice([0.5, 0.8, 1.3, 2.5]), 2)
        c.f.update(out_of_pocket=oop, total_cost=round(r.f["total_cost"] - r.f["out_of_pocket"] + oop, 2))
        c.shown.update(out_of_pocket=fmt(oop), total_cost=fmt(c.f["total_cost"]))
        return c


# --- writing ------------------------------------------------------------------------------------
NUMERIC = {"total_cost", "pooled_pay", "critical_pay", "assistance_pay", "out_of_pocket", "annual_cost",
           "loss_amount", "monthly_amount", "months_unpaid", "households_affected", "year"}


def table(of: OutFile) -> tuple[list[str], list[list[str]], list[str]]:
    """Headers, data rows and field names (in file column order) of an OutFile."""
    cols = COLS[of.kind]
    fields = [f for f, _ in cols] + [None] * len(of.extras)
    headers = [of.headers.get(f, h) for f, h in cols] + [h for h, _ in of.extras]
    rows = [[r.shown[f] for f, _ in cols] + [fn(r) for _, fn in of.extras] for r in of.rows]
    order = list(range(len(headers)))
    if of.shuffle:
        random.Random(of.name).shuffle(order)
    pick = lambda row: [row[i] for i in order]
    return pick(headers), [pick(r) for r in rows], pick(fields)


def write_csv(path: Path, headers, rows, titles=(), total=False, encoding="utf-8", crlf=False) -> None:
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n" if crlf else "\n")
    w.writerows(titles)
    w.writerow(headers)
    w.writerows(rows)
    if total:
        w.writerow(["合计", f"共{len(rows)}条"] + [""] * (len(headers) - 2))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(buf.getvalue().encode(encoding))


def write_xlsx(path: Path, headers, rows, fields, titles=(), total=False) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties({"created": FIXED_TIME, "author": "埇桥区"})
    ws = wb.add_worksheet("Sheet1")
    sci = wb.add_format({"num_format": "0.00000E+00"})
    r0 = 0
    for t in titles:
        ws.write_string(r0, 0, t[0])
        r0 += 1
    for c, h in enumerate(headers):
        ws.write_string(r0, c, h)
    for i, row in enumerate(rows, start=r0 + 1):
        for c, v in enumerate(row):
            if fields[c] == "id_raw" and "E+" in v:
                ws.write_number(i, c, float(v), sci)
            elif fields[c] in NUMERIC and v.lstrip("-").replace(".", "", 1).isdigit():
                ws.write_number(i, c, float(v))
            elif v != "":
                ws.write_string(i, c, v)
    if total:
        ws.write_string(r0 + 1 + len(rows), 0, "合计")
        ws.write_string(r0 + 1 + len(rows), 1, f"共{len(rows)}条")
    wb.close()


def write_outfile(pdir: Path, of: OutFile) -> None:
    headers, rows, fields = table(of)
    path = pdir / of.folder / of.name
    if of.copy_of:
        path.write_bytes((pdir / of.folder / of.copy_of).read_bytes())
    elif of.fmt == "xlsx":
        write_xlsx(path, headers, rows, fields, of.titles, of.total)
    else:
        write_csv(path, headers, rows, of.titles, of.total, of.encoding, of.crlf)
    for i, r in enumerate(of.rows):
        r.file, r.line = f"{of.folder}/{of.name}", len(of.titles) + 2 + i
        r.dirt.append("enc=" + ("xlsx" if of.fmt == "xlsx" else of.encoding))


def write_roster(pdir: Path, w: World, idx: int) -> None:
    head = ["县（市、区）", "乡（镇）" if idx % 2 == 0 else "乡(镇)", "行政村", "村民小组", "户编号", "人编号", "姓名", "证件号码",
            "性别", "与户主关系", "家庭人口数", "户类型", "监测对象类别", "风险是否已消除",
            "年人均纯收入（元）" if idx % 2 == 0 else "年人均纯收入", "联系电话"]
    rows = [["埇桥区", h.village.township, h.village.name, h.group, h.hid, p.pid, p.name, p.id18, p.sex, p.relation,
             str(h.size), h.htype, h.category, h.cleared, str(h.income), h.phone]
            for h in w.households for p in h.members]
    write_csv(pdir / "户籍底册" / "防返贫监测对象.csv", head, rows, encoding="utf-8-sig")
    grids = []
    big: list = []
    by_village: dict = {}
    for h in sorted(w.households, key=lambda h: (h.village.township, h.village.name, h.group, h.hid)):
        by_village.setdefault((h.village.township, h.village.name), []).append(h)
    for key, hs in by_village.items():  # one deliberately oversized grid: whole villages until > 100
        if len(big) <= 100 and len(w.households) > 120:
            big += hs
        else:
            grids += [hs[i:i + 60] for i in range(0, len(hs), 60)]
    rows = []
    for g, hs in enumerate(([big] if big else []) + grids, start=1):
        leader, worker = w.grid_names[g % len(w.grid_names)], w.grid_names[(g * 7 + 3) % len(w.grid_names)]
        for h in hs:
            rows.append([f"WG{g:05d}", h.village.township, h.village.name, h.group, leader, f"139{g:08d}",
                         worker, f"137{g:08d}", h.hid])
    write_csv(pdir / "网格" / "网格划分.csv", ["网格编号", "乡（镇）", "行政村", "村民小组", "网格长", "网格长电话", "网格员",
                                          "网格员电话", "户编号"], rows)


# --- ground-truth warnings (SPEC §4, straightforward, over true content) -------------------------
def truth_warnings(w: World, cfg: Config, by_period: dict[str, list[OutFile]]) -> list[dict]:
    rules = cfg.rules
    out: dict[tuple, dict] = {}
    ytd: dict[str, dict] = {}
    died: dict[str, date] = {}  # roster person -> the 变动日期 of their 民政 死亡注销, this period or before

    def warn(P, rule, hid, r: Rec | None, township, risk=None, lead_key=None):
        key = (P, rule, hid or f"lead:{lead_key}", risk or rules[rule].risk_type)
        row = out.setdefault(key, dict(period=P, rule=rule, risk_type=key[3], household_id=hid or "",
                                       township=township or "", record_ids=set()))
        if r is not None:
            row["record_ids"].add(r.rid)

    for P, files in by_period.items():
        eff: dict[tuple, Rec] = {}
        for of in files:
            for r in of.rows:
                eff[(r.kind, r.rid)] = r
        recs: dict[str, list[Rec]] = {}
        for r in eff.values():
            if r.valid:
                recs.setdefault(r.kind, []).append(r)
        hh = lambda p: w.by_hid[p.hid]
        for r in recs.get("civil", []):
            if r.person.pid and r.f["change_type"] in cfg.run.death_change_types:
                died.setdefault(r.person.pid, r.f["change_date"])
        end = month_days(P)[1]
        # a rule a person's death explains (M4, R1) does not warn them once dead (`rules.for_the_living`)
        alive = lambda rule, p: not (rules[rule].explained_by_death and p.pid in died and died[p.pid] <= end)  # noqa: E731
        # 医保 settlements, year to date
        year = ytd.setdefault(P[:4], {})
        year.update({r.rid: r for r in recs.get("med_settlement", [])})
        now = {r.person.key for r in recs.get("med_settlement", [])}
        per: dict[int, list[Rec]] = {}
        for r in year.values():
            per.setdefault(r.person.key, []).append(r)
        oop = lambda rs: sum(r.f["out_of_pocket"] for r in rs)
        m2h: dict[str, list[Rec]] = {}
        for k, rs in per.items():
            p = rs[0].person
            if p.hid:
                m2h.setdefault(p.hid, []).extend(rs)
            if k not in now:
                continue
            if p.hid and oop(rs) >= rules["M1"]["threshold"]:
                for r in rs:
                    warn(P, "M1", p.hid, r, p.township)
            if not p.hid and oop(rs) >= rules["M3"]["threshold"]:
                for r in rs:
                    warn(P, "M3", None, r, None, lead_key=k)
        for hid, rs in m2h.items():
            h = w.by_hid[hid]
            if any(r.person.key in now for r in rs) and oop(rs) >= rules["M2"]["share_of_income"] * h.annual_income:
                for r in rs:
                    warn(P, "M2", hid, r, h.village.township)
        if "med_enrollment" in recs or any(of.kind == "med_enrollment" for of in files):
            status = {r.person.key: r for r in recs.get("med_enrollment", [])}
            for p in w.persons:
                r = status.get(p.key)
                if alive("M4", p) and (r is None or r.f["status"] in rules["M4"]["bad_status"]):
                    warn(P, "M4", p.hid, r, hh(p).village.township)
        for r in recs.get("housing", []):
            if r.person.hid and r.f["grade"] in rules["H1"]["grades"] and r.f["renovation"] not in rules["H1"]["done_status"]:
                warn(P, "H1", r.person.hid, r, hh(r.person).village.township)
        for r in recs.get("education", []):
            p = r.person
            if not p.hid:
                continue
            if r.f["stage"] in rules["E1"]["stages"] and r.f["status"] in rules["E1"]["statuses"]:
                warn(P, "E1", p.hid, r, hh(p).village.township)
            if r.f["stage"] in rules["E2"]["stages"] and r.f["annual_cost"] >= rules["E2"]["threshold"]:
                warn(P, "E2", p.hid, r, hh(p).village.township)
        for r in recs.get("water", []):
            if r.f["resolved_date"] is None:
                for h in w.households:
                    if (h.village.township, h.village.name) == (r.f["township"], r.f["village"]) and \
                            r.f["group"] in (None, h.group):
                        warn(P, "W1", h.hid, r, h.village.township)
        c1, c2 = rules["C1"], rules["C2"]
        for r in recs.get("civil", []):
            p = r.person
            if p.hid and r.f["change_type"] in c1["change_types"] and \
                    c1["min_age"] <= age_on(p.birth, r.f["change_date"]) <= c1["max_age"]:
                warn(P, "C1", p.hid, r, hh(p).village.township)
            if r.f["change_type"] in c2["change_types"] and r.f["category"] in c2["categories"]:
                if p.hid:
                    warn(P, "C2", p.hid, r, hh(p).village.township)
                else:
                    warn(P, "C2", None, r, r.f.get("township"), lead_key=p.key)
        d1 = rules["D1"]
        for r in recs.get("disability", []):
            p = r.person
            if r.f["cert_type"] in d1["cert_types"]:
                if p.hid:
                    warn(P, "D1", p.hid, r, hh(p).village.township)
                elif r.f["level"] in d1["severe_levels"]:
                    warn(P, "D1", None, r, r.f.get("township"), lead_key=p.key)
        r1 = rules["R1"]
        for r in recs.get("hr", []):
            p = r.person
            if p.hid and alive("R1", p) and r1["min_age"] <= age_on(p.birth, r.f["event_date"]) <= r1["max_age"] and (
                    r.f["event_type"] in r1["event_types"] or r.f["months_unpaid"] >= r1["months_unpaid"]):
                warn(P, "R1", p.hid, r, hh(p).village.township)
        a1 = rules["A1"]
        for r in recs.get("agri", []):
            p = r.person
            if p.hid and (r.f["loss_amount"] >= a1["threshold"]
                          or r.f["loss_amount"] >= a1["share_of_income"] * hh(p).annual_income):
                risk = a1["risk_type_by_disaster"].get(r.f["disaster_type"], rules["A1"].risk_type)
                warn(P, "A1", p.hid, r, hh(p).village.township, risk)
    rows = [dict(v, record_ids=";".join(sorted(v["record_ids"]))) for v in out.values()]
    return sorted(rows, key=lambda d: (d["period"], d["rule"], d["household_id"], d["record_ids"]))


# --- entry point --------------------------------------------------------------------------------
def setup_world(w: World, cfg: Config, seed: int, periods: list[str]) -> None:
    """Period-independent cast: frequent patients, chronic year-to-date cases, M4 persons, insured."""
    rng = random.Random(f"{seed}:setup")
    on = month_days(periods[0])[0]
    scale = max(1, round(len(w.households) / 1000))
    w.used = set()
    w.frequent = [w.outsider(rng, on, 30, 85) for _ in range(max(20, len(w.households) // 30))]
    w.chronic = [(rng.choice(w.persons), cfg.rules["M1"]["threshold"] * 0.36) for _ in range(2 * scale)]
    w.chronic.append((w.outsider(rng, on, 40, 80), cfg.rules["M3"]["threshold"] * 0.36))
    w.used.update(p.pid for p, _ in w.chronic if p.pid)
    w.m4 = {}
    for status, n in [(None, 3), ("暂停参保", 2), ("终止参保", 2)]:
        for _ in range(n * scale):
            p = rng.choice([p for p in w.persons if p.pid not in w.used])
            w.m4[p.pid] = status
            w.used.add(p.pid)
    w.insured = [w.outsider(rng, on) for _ in range(len(w.persons))]
    nums = rng.sample(range(10**7, 10**8), len(w.persons) + len(w.insured))
    w.enroll_id = {p.key: f"CB{n:08d}" for p, n in zip(w.persons + w.insured, nums)}
    w.grid_names = [w.person(rng, w.villages[i % len(w.villages)], "1组", rng.choice("男女"), rng.randint(1965, 1995),
                             copy_name=False).name for i in range(60)]


def generate(out: Path, seed: int = 7, periods=("2026-10",), profile: str = "standard", households: int = 3000,
             local_clinic: float | None = None) -> dict:
    """Write the sample inbox and truth under `out`; return summary counts. `local_clinic`: the
    share of 普通门诊 visits at the patient's own township 卫生院 (the profile's, 0, if None)."""
    out, periods = Path(out), list(periods)
    months = [datetime.strptime(p, "%Y-%m") for p in periods]
    if any((b.year * 12 + b.month) - (a.year * 12 + a.month) != 1 for a, b in zip(months, months[1:])):
        raise ValueError(f"periods must be consecutive YYYY-MM: {periods}")
    cfg = load_config()
    w = World(seed, profile, households)
    if local_clinic is not None:
        w.p = dict(w.p, local_clinic_p=local_clinic)
    setup_world(w, cfg, seed, periods)
    by_period: dict[str, list[OutFile]] = {}
    for i, P in enumerate(periods):
        skip = {"水利"} if len(periods) >= 2 and i == len(periods) - 2 else set()
        pdir = out / "inbox" / P
        write_roster(pdir, w, i)
        files = PeriodBuilder(w, cfg, seed, profile, P, i).build(skip)
        for of in files:
            write_outfile(pdir, of)
        by_period[P] = files
    return write_truth(out, w, cfg, by_period, dict(seed=seed, profile=profile, periods=periods))


def write_truth(out: Path, w: World, cfg: Config, by_period: dict, meta: dict) -> dict:
    tdir = out / "truth"
    tdir.mkdir(parents=True, exist_ok=True)
    links, water, dirt, expect = [], [], Counter(), Counter()
    rows_per: Counter = Counter()
    on_roster: Counter = Counter()
    for P, files in by_period.items():
        for of in files:
            for r in of.rows:
                p = r.person
                links.append([P, r.dept, r.kind, r.file, r.line, r.rid, (p.pid or "") if p else "",
                              (p.hid or "") if p else "", r.expect, ";".join(r.dirt)])
                rows_per[r.kind] += 1
                on_roster[r.kind] += bool(p and p.pid)
                expect[r.expect] += 1
                dirt.update(t for t in r.dirt if not t.startswith(("plant=", "near=")))
                if r.kind == "water":
                    water.append([P, r.rid, r.f["township"], r.f["village"], r.f["group"] or ""])
    write_csv(tdir / "links.csv", ["period", "dept", "kind", "file", "line", "record_id", "person_id", "household_id",
                                   "expect", "dirt"], [[str(x) for x in row] for row in links])
    write_csv(tdir / "water.csv", ["period", "record_id", "township", "village", "group"], water)
    warns = truth_warnings(w, cfg, by_period)
    keys = ["period", "rule", "risk_type", "household_id", "township", "record_ids"]
    write_csv(tdir / "warnings.csv", keys, [[d[k] for k in keys] for d in warns])
    n = len(w.persons)
    names = Counter((p.township, p.village, p.name) for p in w.persons)
    heads = Counter((h.village.township, h.village.name, h.members[0].name) for h in w.households)
    twins = Counter((p.hid, p.birth) for p in w.persons if p.relation in ("子女", "孙子女"))
    summary = dict(
        meta, county_population=round(n / cfg.matching.roster_share), roster_persons=n,
        roster_households=len(w.households), non_roster_persons_generated=len(w.outsiders),
        same_name_in_village=sum(c > 1 for c in names.values()), shared_head_name=sum(c > 1 for c in heads.values()),
        twin_pairs=sum(c > 1 for c in twins.values()), expect=dict(sorted(expect.items())),
        rows_per_kind=dict(sorted(rows_per.items())),
        on_roster_share={d: round(on_roster[d] / rows_per[d], 3) for d in sorted(rows_per)},
        warnings_per_rule=dict(sorted(Counter(d["rule"] for d in warns).items())),
        dirt=dict(sorted(dirt.items())),
    )
    (tdir / "population.json").write_text(json.dumps(summary, ensure_ascii=False, indent=1, sort_keys=True) + "\n",
                                          encoding="utf-8")
    return summary


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--out", required=True, type=Path)
    ap.add_argument("--seed", type=int, default=7)
    ap.add_argument("--periods", default="2026-10", help="comma list of consecutive YYYY-MM")
    ap.add_argument("--profile", choices=["standard", "hard"], default="standard")
    ap.add_argument("--households", type=int, default=3000)
    ap.add_argument("--local-clinic", type=float, help="share of 普通门诊 visits at the patient's own township 卫生院 "
                    "(default 0: facilities at random)")
    a = ap.parse_args(argv)
    s = generate(a.out, a.seed, [p.strip() for p in a.periods.split(",") if p.strip()], a.profile, a.households,
                 a.local_clinic)
    print(json.dumps({k: s[k] for k in ("county_population", "roster_persons", "rows_per_kind", "warnings_per_rule")},
                     ensure_ascii=False))


if __name__ == "__main__":
    main()

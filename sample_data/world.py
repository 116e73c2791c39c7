"""The sample county's people: roster households (脱贫户/监测户) and the non-roster population."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import date, timedelta

from sample_data.dirt import check_char, make_id
from sample_data.names import MINORITY, TOWNSHIPS, VILLAGE_SUFFIX, SurnamePicker, generation, given_name, surname_of

PROFILES = {
    "standard": dict(top_surnames=None, dominant_p=0.4, dominant_share=(0.3, 0.55), twin_p=0.04,
                     same_name_p=0.02, shared_head_p=0.03, minority_p=0.004, lookalike_p=0.01, uninsured_p=0.03,
                     mask_boost=1.0, dirt=1.0, name_mask=1.0, local_clinic_p=0.0),
    "hard": dict(top_surnames=25, dominant_p=0.75, dominant_share=(0.45, 0.75), twin_p=0.1,
                 same_name_p=0.06, shared_head_p=0.08, minority_p=0.006, lookalike_p=0.03, uninsured_p=0.03,
                 mask_boost=3.0, dirt=2.5, name_mask=1.6, local_clinic_p=0.0),
}
LEGACY = (["342201", "342223", "342221", "342222", "342224", "342225"], [45, 40, 4, 4, 4, 3])
REF_YEAR = 2026


def age_on(birth: date, on: date) -> int:
    return on.year - birth.year - ((on.month, on.day) < (birth.month, birth.day))


@dataclass
class Person:
    key: int
    name: str
    id18: str
    birth: date
    sex: str
    township: str
    village: str
    group: str
    pid: str | None = None
    hid: str | None = None
    relation: str | None = None


@dataclass
class Village:
    township: str
    name: str
    groups: int
    weight: float
    dominant: str | None
    share: float
    names: dict = field(default_factory=dict)  # (sex, generation) -> [names]
    heads: list = field(default_factory=list)


@dataclass
class Household:
    hid: str
    village: Village
    group: str
    members: list
    htype: str
    category: str
    cleared: str
    income: int
    phone: str

    @property
    def size(self) -> int:
        return len(self.members)

    @property
    def annual_income(self) -> int:
        return self.income * self.size


def phone(rng: random.Random) -> str:
    return rng.choice(["13", "15", "18", "17"]) + str(rng.randrange(0, 10)) + f"{rng.randrange(10**8):08d}"


class World:
    """Roster households plus on-demand non-roster people, all from the same distributions."""

    def __init__(self, seed: int, profile: str, households: int):
        self.p, self.seed = PROFILES[profile], seed
        self.enroll_id: dict[int, str] = {}
        self.settled: set[int] = set()  # non-roster persons with a settlement: insured (SPEC §3)
        self._enroll_taken: set[str] | None = None
        self.rng = rng = random.Random(f"{seed}:world")
        self.surnames = SurnamePicker(self.p["top_surnames"])
        self.ids: set[str] = set()
        self.persons: list[Person] = []  # roster persons
        self.outsiders: list[Person] = []
        self.villages: list[Village] = []
        for t in TOWNSHIPS:
            seen: set[str] = set()
            for _ in range(rng.randint(6, 10)):
                while True:
                    s = self.surnames.pick(rng)
                    v = s + rng.choice(VILLAGE_SUFFIX) + "村"
                    if v not in seen:
                        break
                seen.add(v)
                dom = s if rng.random() < self.p["dominant_p"] else None
                self.villages.append(Village(t, v, rng.randint(6, 10), rng.uniform(0.5, 1.5), dom,
                                             rng.uniform(*self.p["dominant_share"])))
        # one village name used in two townships (place disambiguation)
        twin = self.villages[1]
        other = next(v for v in self.villages if v.township == TOWNSHIPS[1])
        other.name = twin.name
        self.households: list[Household] = []
        vw = [v.weight for v in self.villages]
        for i in range(households):
            v = rng.choices(self.villages, vw)[0]
            self.households.append(self._household(f"H{i:07d}", v))
        self.by_hid = {h.hid: h for h in self.households}

    # --- people -------------------------------------------------------------------------------
    def surname(self, rng: random.Random, v: Village) -> str:
        if v.dominant and rng.random() < v.share:
            return v.dominant
        return self.surnames.pick(rng)

    def _id(self, rng: random.Random, birth: date, sex: str) -> str:
        if birth.year >= 1999 or rng.random() < 0.35:
            region = "341302"
        else:
            region = rng.choices(*LEGACY)[0]
        while True:
            i = make_id(rng, region, birth, sex == "男")
            if i not in self.ids:
                self.ids.add(i)
                return i

    def person(self, rng: random.Random, v: Village, group: str, sex: str, year: int,
               surname: str | None = None, first: str | None = None, birth: date | None = None,
               copy_name: bool = True) -> Person:
        birth = birth or date(year, 1, 1) + timedelta(days=rng.randrange(365))
        key = (sex, generation(birth.year))
        same = v.names.get(key, [])
        if copy_name and same and rng.random() < self.p["same_name_p"]:
            name = rng.choice(same)
        elif rng.random() < self.p["minority_p"] and not first:
            name = rng.choice(MINORITY)
        else:
            name = (surname or self.surname(rng, v)) + given_name(rng, sex, birth.year, first)
        v.names.setdefault(key, []).append(name)
        return Person(0, name, self._id(rng, birth, sex), birth, sex, v.township, v.name, group)

    def outsider(self, rng: random.Random, on: date, min_age: int = 0, max_age: int = 90) -> Person:
        """A county resident not on the roster, same name/ID distributions as the roster."""
        v = rng.choices(self.villages, [x.weight for x in self.villages])[0]
        year = on.year - rng.randint(min_age + 1, max(max_age, min_age + 1))
        p = self.person(rng, v, f"{rng.randint(1, v.groups)}组", rng.choice("男女"), year)
        p.key = -1 - len(self.outsiders)
        self.outsiders.append(p)
        return p

    def insured_of(self, p: Person) -> bool:
        """Is non-roster person `p` on the county's 参保名单? Decided once per person: all of the
        insured cast (`enroll_id`), everyone with a settlement (the county's 医保 settled it: they
        are insured here), and all others but an `uninsured_p` share."""
        return (p.key in self.enroll_id or p.key in self.settled
                or random.Random(f"{self.seed}:insured:{p.key}").random() >= self.p["uninsured_p"])

    def enroll_no(self, p: Person) -> str:
        """The person's 人员编号 on the 参保名单, the same in every period."""
        if p.key not in self.enroll_id:
            if self._enroll_taken is None:  # the numbers given so far (the cast's are set before any of these)
                self._enroll_taken = set(self.enroll_id.values())
            rng = random.Random(f"{self.seed}:cb:{p.key}")
            while (no := f"CB{rng.randrange(10**7, 10**8)}") in self._enroll_taken:
                pass
            self.enroll_id[p.key] = no
            self._enroll_taken.add(no)
        return self.enroll_id[p.key]

    def lookalike(self, rng: random.Random, t: Person, on: date) -> Person:
        """A non-roster person whose ID keeps the same region and last 4 as roster person `t`
        (other birth date), with t's surname and, half the time, t's full name."""
        for _ in range(400):
            birth = t.birth + timedelta(days=rng.randint(-3650, 3650))
            id18 = f"{t.id18[:6]}{birth:%Y%m%d}{t.id18[14:17]}"
            id18 += check_char(id18)
            if birth < on and id18[17] == t.id18[17] and id18 not in self.ids:
                break
        else:
            return self.outsider(rng, on)
        self.ids.add(id18)
        v = rng.choice(self.villages)
        name = t.name if rng.random() < 0.5 else surname_of(t.name) + given_name(rng, t.sex, birth.year)
        p = Person(-1 - len(self.outsiders), name, id18, birth, t.sex, v.township, v.name, f"{rng.randint(1, v.groups)}组")
        self.outsiders.append(p)
        return p

    def _household(self, hid: str, v: Village) -> Household:
        rng = self.rng
        group = f"{rng.randint(1, v.groups)}组"
        size = rng.choices([2, 3, 4, 5, 6], [26, 25, 24, 15, 10])[0]
        head_age = int(rng.triangular(28, 86, 64))
        hy = REF_YEAR - head_age
        hsex = "男" if rng.random() < 0.85 else "女"
        sur = self.surname(rng, v)
        plan = [("户主", hsex, hy, sur)]
        if rng.random() < 0.88:
            plan.append(("配偶", "女" if hsex == "男" else "男", hy + rng.randint(-4, 4), None))
        left = size - len(plan)
        kids: list[int] = []
        if head_age >= 58:
            nc = min(left, rng.choice([1, 1, 2]))
            for _ in range(nc):
                plan.append(("子女", rng.choice("男女"), min(hy + rng.randint(22, 34), 2004), sur))
            cy = max(y for r, _, y, _ in plan if r == "子女") if nc else hy + 28
            for _ in range(left - nc):
                plan.append(("孙子女", rng.choice("男女"), min(cy + rng.randint(22, 30), 2025), sur))
                kids.append(len(plan) - 1)
        else:
            if left >= 2 and rng.random() < 0.35 and head_age <= 65:
                plan.append(("父母", rng.choice("男女"), hy - rng.randint(22, 30), sur))
                left -= 1
            for _ in range(left):
                plan.append(("子女", rng.choice("男女"), min(hy + rng.randint(20, 34), 2025), sur))
                kids.append(len(plan) - 1)
        members: list[Person] = []
        twin_of: Person | None = None
        for k, (rel, sex, year, s) in enumerate(plan):
            if rel == "户主" and v.heads and rng.random() < self.p["shared_head_p"]:
                src = rng.choice(v.heads)
                p = self.person(rng, v, group, src.sex, src.birth.year + rng.randint(-3, 3), copy_name=False)
                p.name = src.name
            elif twin_of is not None and k in kids:
                first = twin_of.name[len(surname_of(twin_of.name))] if len(twin_of.name) - len(surname_of(twin_of.name)) == 2 else None
                p = self.person(rng, v, group, sex, year, surname=surname_of(twin_of.name), first=first,
                                birth=twin_of.birth, copy_name=False)
                twin_of = None
            else:
                p = self.person(rng, v, group, sex, year, surname=s)
                if k in kids and len(kids) >= 2 and k == kids[0] and rng.random() < self.p["twin_p"]:
                    twin_of = p
            p.key = len(self.persons)
            p.pid, p.hid, p.relation = f"{hid}-{k + 1:02d}", hid, rel
            self.persons.append(p)
            members.append(p)
        v.heads.append(members[0])
        monitored = rng.random() < 0.22
        if monitored:
            cat = rng.choices(["脱贫不稳定户", "边缘易致贫户", "突发严重困难户"], [4, 4, 2])[0]
            income = rng.randint(3800, 9000)
        else:
            cat = "脱贫不稳定户" if rng.random() < 0.08 else ""
            income = rng.randint(7000, 26000)
        cleared = (rng.choice(["是", "否", "否"]) if cat else "")
        return Household(hid, v, group, members, "监测户" if monitored else "脱贫户", cat, cleared, income, phone(rng))

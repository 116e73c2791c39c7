"""ID numbers (GB 11643) and the dirt departments put on IDs, names and place names.

Every `dirty_*` function takes the rng and returns (shown_string, [dirt tags])."""

from __future__ import annotations

import random
from datetime import date

from sample_data.names import DOT_VARIANTS, HOMOPHONES, traditional

WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
MASKS = ("6+4", "4+4", "3+4", "14+0", "birth", "full")


def check_char(id17: str) -> str:
    """ISO 7064 MOD 11-2 check character of the first 17 digits."""
    return "10X98765432"[sum(int(c) * w for c, w in zip(id17, WEIGHTS)) % 11]


def valid_id(id18: str) -> bool:
    return len(id18) == 18 and id18[:17].isdigit() and check_char(id18[:17]) == id18[17]


def make_id(rng: random.Random, region: str, birth: date, male: bool) -> str:
    seq = rng.randrange(0, 100) * 10 + rng.choice([1, 3, 5, 7, 9] if male else [0, 2, 4, 6, 8])
    seq = seq or 2
    id17 = f"{region}{birth:%Y%m%d}{seq:03d}"
    return id17 + check_char(id17)


def mask(id18: str, style: str) -> str:
    if style == "6+4":
        return id18[:6] + "*" * 8 + id18[14:]
    if style == "4+4":
        return id18[:4] + "*" * 10 + id18[14:]
    if style == "3+4":
        return id18[:3] + "*" * 11 + id18[14:]
    if style == "14+0":
        return id18[:14] + "****"
    if style == "birth":
        return "*" * 6 + id18[6:14] + "****"
    return id18


def mask_old(id15: str, style: str) -> str:
    """A 15-digit old ID masked by a system that keeps the same characters as `mask` does of a
    new one: the first 6, 4 or 3 and the last 4, all but the last 4, or the birth date."""
    if style == "14+0":
        return id15[:11] + "****"
    if style == "birth":
        return "*" * 6 + id15[6:12] + "***"
    keep = {"6+4": 6, "4+4": 4, "3+4": 3}.get(style)
    return id15 if keep is None else id15[:keep] + "*" * (11 - keep) + id15[11:]


def fullwidth(s: str) -> str:
    return "".join(chr(ord(c) + 0xFEE0) if c.isdigit() else c for c in s)


def _other_digit(rng: random.Random, d: str) -> str:
    return rng.choice([x for x in "0123456789" if x != d])


def dirty_id(rng: random.Random, id18: str, style: str, p: dict, allow_destroy: bool) -> tuple[str, list[str]]:
    """Mask `id18` with `style` and maybe add one ID defect; `p` holds per-defect probabilities."""
    tags = [f"mask={style}"]
    s = mask(id18, style)
    r = rng.random()
    if style == "full":
        if r < p["mistype"]:
            i = rng.randrange(6, 17)
            s = s[:i] + _other_digit(rng, s[i]) + s[i + 1:]
            tags.append("id=mistyped")
        elif r < p["mistype"] + p["transpose"]:
            cand = [i for i in range(6, 16) if s[i] != s[i + 1]]
            if cand:
                i = rng.choice(cand)
                s = s[:i] + s[i + 1] + s[i] + s[i + 2:]
                tags.append("id=transposed")
        elif r < p["mistype"] + p["transpose"] + p["id15"] and id18[6:8] == "19" and id18[6:10] < "1980":
            s = id18[:6] + id18[8:17]
            tags.append("id=15digit")
        elif allow_destroy and r < p["mistype"] + p["transpose"] + p["id15"] + p["destroy"]:
            if id18[17] != "X" and rng.random() < 0.6:
                s = f"{id18[0]}.{id18[1:6]}".rstrip("0").rstrip(".") + "E+17"
                tags.append("id=excel_sci")
            else:
                s = id18[:15] + "000"
                tags.append("id=excel_000")
        elif allow_destroy and r < p["mistype"] + p["transpose"] + p["id15"] + 2 * p["destroy"]:
            s = ""
            tags.append("id=empty")
    elif r < p["kept_wrong"]:
        kept = [i for i, c in enumerate(s) if c != "*" and c.isdigit() and i < 17]
        i = rng.choice(kept)
        s = s[:i] + _other_digit(rng, s[i]) + s[i + 1:]
        tags.append("id=kept_wrong")
    elif r < p["kept_wrong"] + p["id15"] and id18[6:8] == "19" and id18[6:10] < "1980":
        s = mask_old(id18[:6] + id18[8:17], style)  # a department still holding the old ID masks it
        tags.append("id=15digit_masked")
    if not s or tags[-1].startswith(("id=excel", "id=empty")):
        return s, tags
    if "*" in s and rng.random() < p["fw_star"]:
        s = s.replace("*", "＊")
        tags.append("id=fw_star")
    if s.endswith("X") and rng.random() < p["lower_x"]:
        s = s[:-1] + "x"
        tags.append("id=lower_x")
    elif "id=15digit_masked" in tags and mask(id18, style).endswith("X"):
        rng.random()  # (the draw its new ID's X took: the rest of the county stays as it was)
    if s and "E+" not in s and rng.random() < p["fw_digits"]:
        s = fullwidth(s)
        tags.append("id=fw_digits")
    if s and rng.random() < p["apostrophe"]:
        s = "'" + s
        tags.append("id=apostrophe")
    if s and rng.random() < p["space"]:
        s = rng.choice([" " + s, s + " ", s[:6] + " " + s[6:]])
        tags.append("id=space")
    return s, tags


def mask_name(rng: random.Random, name: str) -> tuple[str, str]:
    if "·" in name:
        return name.split("·")[0][:1] + "*" * 3, "name=masked"
    sur = 2 if name[:2] in ("欧阳", "司马", "诸葛") else 1
    given = name[sur:]
    if len(given) >= 2:
        style = rng.choice(["x*y", "x**", "*y", "x*"])
    else:
        style = rng.choice(["x*", "x*", "*y"])
    return {
        "x*y": name[:sur] + "*" * (len(given) - 1) + given[-1:],
        "x**": name[:sur] + "*" * len(given),
        "*y": "*" + given[-1:],
        "x*": name[:sur] + "*",
    }[style], f"name=mask:{style}"


def dirty_name(rng: random.Random, name: str, mask_p: float, p: dict) -> tuple[str, list[str]]:
    """Mask the name (probability `mask_p`) or add one typo; minority dots vary."""
    tags: list[str] = []
    if "·" in name and rng.random() < 0.5:
        name = name.replace("·", rng.choice(DOT_VARIANTS))
        tags.append("name=dot_variant")
    if rng.random() < mask_p:
        s, t = mask_name(rng, name.replace("•", "·").replace(".", "·").replace("・", "·"))
        return s, tags + [t]
    r = rng.random()
    cut = 0.0
    for kind in ("homophone", "traditional", "drop", "swap", "space"):
        cut += p[kind]
        if r < cut:
            break
    else:
        return name, tags
    if kind == "homophone":
        idx = [i for i in range(1, len(name)) if name[i] in HOMOPHONES]
        if not idx:
            return name, tags
        i = rng.choice(idx)
        return name[:i] + HOMOPHONES[name[i]] + name[i + 1:], tags + ["name=homophone"]
    if kind == "traditional":
        t = traditional(name)
        return (t, tags + ["name=traditional"]) if t != name else (name, tags)
    if kind == "drop" and len(name) >= 3 and "·" not in name:
        i = rng.randrange(1, len(name))
        return name[:i] + name[i + 1:], tags + ["name=dropped"]
    if kind == "swap" and len(name) >= 3 and "·" not in name:
        return name[0] + name[2] + name[1] + name[3:], tags + ["name=swapped"]
    if kind == "space" and len(name) >= 2:
        i = rng.randrange(1, len(name))
        return name[:i] + rng.choice([" ", "  ", "\u3000"]) + name[i:], tags + ["name=space"]
    return name, tags


def village_variant(rng: random.Random, village: str) -> tuple[str, list[str]]:
    r = rng.random()
    if r < 0.25:
        return village.removesuffix("村"), ["village=no_suffix"]
    if r < 0.35:
        return village + "委会", ["village=cwh"]
    return village, []


def township_variant(rng: random.Random, township: str) -> tuple[str, list[str]]:
    if rng.random() < 0.05:
        return township[:-1], ["township=no_suffix"]
    return township, []

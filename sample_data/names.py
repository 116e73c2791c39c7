"""Name and place material for the sample county: surname frequencies, given-name characters,
homophones, traditional forms, minority names, townships and village-name parts."""

from __future__ import annotations

import random

import opencc

# Surname weights (per mille, roughly national / northern-Anhui frequency; heavy-tailed).
SURNAMES: list[tuple[str, float]] = [
    ("王", 71), ("李", 70), ("张", 67), ("刘", 54), ("陈", 46), ("杨", 31), ("赵", 23), ("黄", 22),
    ("周", 17), ("吴", 20), ("徐", 17), ("孙", 15), ("胡", 13), ("朱", 13), ("高", 10), ("马", 12),
    ("郭", 12), ("何", 10), ("郑", 9), ("罗", 7), ("宋", 8), ("谢", 6), ("韩", 6), ("唐", 5),
    ("许", 6), ("曹", 6), ("冯", 5), ("邓", 4), ("程", 5), ("董", 5), ("魏", 5), ("田", 5),
    ("杜", 5), ("梁", 6), ("林", 8), ("于", 4), ("苏", 4), ("吕", 4), ("蒋", 4), ("丁", 4),
    ("沈", 3), ("姜", 4), ("范", 4), ("任", 4), ("贾", 4), ("袁", 4), ("彭", 4), ("蔡", 4),
    ("潘", 3), ("余", 3), ("叶", 3), ("卢", 3), ("汪", 3), ("戴", 3), ("崔", 3), ("姚", 3),
    ("方", 3), ("夏", 3), ("石", 3), ("孟", 3), ("秦", 3), ("薛", 3), ("侯", 3), ("白", 3),
    ("武", 3), ("牛", 2), ("郝", 2), ("孔", 2), ("邵", 2), ("史", 2), ("毛", 2), ("常", 2),
    ("段", 2), ("雷", 2), ("阎", 2), ("钱", 1), ("施", 1), ("洪", 1), ("龚", 1), ("康", 1),
    ("贺", 1), ("严", 1), ("尹", 1), ("廖", 1), ("谭", 1), ("邱", 2), ("金", 2), ("陆", 2),
    ("欧阳", 0.3), ("司马", 0.1), ("诸葛", 0.1),
]

GIVEN = {  # (sex, generation) -> characters; generation: old (<1970), mid (1970-1994), young
    ("男", "old"): "建国德永福贵山明强军华伟平文志海林春金宝成刚庆学发忠良全友贤义",
    ("男", "mid"): "伟强磊军勇杰涛明超辉鹏飞亮波刚俊峰东华龙斌浩宇凯鑫",
    ("男", "young"): "子浩宇轩博涵俊杰鑫磊晨睿泽凯豪旭阳天一文瑞鹏思嘉铭航",
    ("女", "old"): "秀英兰芳桂玉凤珍梅霞红琴云荣翠花莲素敏",
    ("女", "mid"): "丽静娟敏艳芳燕红霞玲婷雪梅娜莉琳慧倩",
    ("女", "young"): "欣怡梓涵雨萱佳诗悦婷静丽雪琪可馨妍梦晓思语彤颖",
}

HOMOPHONES = {
    "明": "铭", "铭": "明", "伟": "炜", "炜": "伟", "静": "婧", "婧": "静", "丽": "莉", "莉": "丽",
    "华": "化", "军": "君", "英": "瑛", "兰": "岚", "芳": "方", "玉": "钰", "红": "虹", "霞": "侠",
    "杰": "洁", "浩": "皓", "宇": "雨", "轩": "萱", "涵": "晗", "鑫": "新", "婷": "庭", "云": "芸",
    "琴": "勤", "平": "萍", "文": "雯", "志": "智", "林": "琳", "金": "锦", "成": "诚", "刚": "钢",
    "庆": "青", "学": "雪", "秀": "绣", "珍": "贞", "敏": "民", "峰": "锋", "磊": "垒", "辉": "晖",
}

MINORITY = ["阿依古丽·买买提", "买买提·艾力", "古丽娜尔·吐尔逊", "艾尔肯·热合曼", "迪丽努尔·阿不都",
            "努尔艾力·托合提", "热依拉·艾买提"]
DOT_VARIANTS = ["•", ".", "・"]

TOWNSHIPS = ["大店镇", "大营镇", "时村乡", "曹村镇", "芦岭镇", "桃沟乡", "永镇镇", "苗庵乡", "夹沟镇", "褚兰乡"]
VILLAGE_SUFFIX = "庄楼圩集湖营洼口台桥店寨湾套岗园"

_T = opencc.OpenCC("s2t")


def traditional(name: str) -> str:
    """Traditional-character form of a name (張, 陳 ...)."""
    return _T.convert(name)


def surname_of(name: str) -> str:
    for s in ("欧阳", "司马", "诸葛"):
        if name.startswith(s):
            return s
    return name[0]


def generation(year: int) -> str:
    return "old" if year < 1970 else "mid" if year < 1995 else "young"


def _char(rng: random.Random, pool: str) -> str:
    """Zipf-like draw: the first characters of a pool are the popular ones (伟, 秀, 子 ...)."""
    return rng.choices(pool, _ZIPF[: len(pool)])[0]


_ZIPF = [1 / (i + 1) ** 0.8 for i in range(64)]


def given_name(rng: random.Random, sex: str, year: int, first: str | None = None) -> str:
    """1-2 characters; `first` fixes the first character (used for twins/siblings)."""
    pool = GIVEN[(sex, generation(year))]
    one = rng.random() < (0.45 if year < 1970 else 0.25)
    if first:
        return first + _char(rng, pool)
    return _char(rng, pool) if one else _char(rng, pool) + _char(rng, pool)


class SurnamePicker:
    """Weighted surname draws; `top` limits the pool (profile hard = fewer distinct surnames)."""

    def __init__(self, top: int | None = None):
        pool = sorted(SURNAMES, key=lambda s: -s[1])[: top or len(SURNAMES)]
        self.names = [s for s, _ in pool]
        self.weights = [w for _, w in pool]

    def pick(self, rng: random.Random) -> str:
        return rng.choices(self.names, self.weights)[0]

"""One typed configuration, loaded at the edge (flows.py / CLI) and passed into pure functions.

`load_config()` reads `default.toml` beside this file, or an analyst's copy, and applies
`--set dotted.key=value` overrides. Nothing in pipelines/ or matchers/ reads files or constants:
everything tunable arrives through a `Config`.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

DEFAULT_CONFIG = Path(__file__).with_name("default.toml")


@dataclass(frozen=True)
class KindSpec:
    """One extract kind: its folder, the headers that identify it, and its header aliases."""

    name: str
    folder: str
    record_id: str
    required: tuple[str, ...]
    fields: dict[str, tuple[str, ...]]


@dataclass(frozen=True)
class MatchingConfig:
    county_population: int = 0
    roster_share: float = 0.11
    match_threshold: float = 0.99
    review_threshold: float = 0.5
    ambiguity_ratio: float = 0.2


@dataclass(frozen=True)
class RuleConfig:
    """A warning rule: the kind it reads, its risk type, label, severity and free parameters."""

    name: str
    kind: str
    risk_type: str
    label: str
    severity: str
    lead: bool = False
    params: dict[str, Any] = field(default_factory=dict)

    def __getitem__(self, key: str) -> Any:
        return self.params[key]

    def get(self, key: str, default: Any = None) -> Any:
        return self.params.get(key, default)


@dataclass(frozen=True)
class RunConfig:
    verify_working_days: int = 3
    suppress_days: int = 90
    escalation_factor: float = 2.0
    max_grid_households: int = 100


@dataclass(frozen=True)
class Config:
    run: RunConfig
    folders: dict[str, tuple[str, ...]]
    kinds: dict[str, KindSpec]
    matching: MatchingConfig
    rules: dict[str, RuleConfig]
    raw: dict[str, Any]

    @property
    def fingerprint(self) -> str:
        """sha256 of the effective configuration, recorded with every run."""
        blob = json.dumps(self.raw, sort_keys=True, ensure_ascii=False).encode()
        return hashlib.sha256(blob).hexdigest()

    def folder_of(self, name: str) -> str | None:
        """Canonical department folder for a folder name or its English alias."""
        for canon, aliases in self.folders.items():
            if name == canon or name.lower() in {a.lower() for a in aliases}:
                return canon
        return None

    def kinds_in(self, folder: str) -> list[KindSpec]:
        return [k for k in self.kinds.values() if k.folder == folder]

    @property
    def departments(self) -> list[str]:
        """The eight department folders (everything that is not roster, grid or feedback)."""
        special = {self.kinds[k].folder for k in ("roster", "grid", "feedback")}
        return [f for f in self.folders if f not in special]


def _parse_value(text: str) -> Any:
    try:
        return tomllib.loads(f"v = {text}")["v"]
    except tomllib.TOMLDecodeError:
        return text


def apply_overrides(raw: dict[str, Any], overrides: list[str]) -> dict[str, Any]:
    """`["rules.M1.threshold=8000"]` -> a copy of raw with that value replaced.

    A key may omit the leading `rules.` (`M1.threshold=8000`). Unknown keys are an error,
    so a typo never silently does nothing.
    """
    raw = copy.deepcopy(raw)
    for item in overrides:
        if "=" not in item:
            raise ValueError(f"--set expects KEY=VALUE, got {item!r}")
        key, value = item.split("=", 1)
        parts = key.strip().split(".")
        if parts[0] not in raw and parts[0] in raw.get("rules", {}):
            parts = ["rules", *parts]
        node = raw
        for p in parts[:-1]:
            if p not in node or not isinstance(node[p], dict):
                raise ValueError(f"--set: unknown key {key!r}")
            node = node[p]
        if parts[-1] not in node:
            raise ValueError(f"--set: unknown key {key!r}")
        node[parts[-1]] = _parse_value(value.strip())
    return raw


def build_config(raw: dict[str, Any]) -> Config:
    kinds = {
        name: KindSpec(
            name=name,
            folder=k["folder"],
            record_id=k["record_id"],
            required=tuple(k["required"]),
            fields={f: tuple(a) for f, a in k["fields"].items()},
        )
        for name, k in raw["kinds"].items()
    }
    rules = {}
    for name, r in raw["rules"].items():
        params = {k: v for k, v in r.items() if k not in {"kind", "risk_type", "label", "severity", "lead"}}
        rules[name] = RuleConfig(
            name=name,
            kind=r["kind"],
            risk_type=r["risk_type"],
            label=r.get("label", name),
            severity=r.get("severity", "中"),
            lead=bool(r.get("lead", False)),
            params=params,
        )
    return Config(
        run=RunConfig(**raw.get("run", {})),
        folders={k: tuple(v) for k, v in raw["folders"].items()},
        kinds=kinds,
        matching=MatchingConfig(**raw.get("matching", {})),
        rules=rules,
        raw=raw,
    )


def load_config(path: str | Path | None = None, overrides: list[str] | None = None) -> Config:
    with open(path or DEFAULT_CONFIG, "rb") as fh:
        raw = tomllib.load(fh)
    return build_config(apply_overrides(raw, overrides or []))

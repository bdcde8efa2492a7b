"""Hardware targets are data (targets.toml beside this file): adding one is one TOML table."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError

TARGETS_FILE = Path(__file__).with_name("targets.toml")


@dataclass(frozen=True)
class HardwareTarget:
    name: str
    description: str
    providers: tuple[str, ...]
    kind: str  # "cpu" | "gpu"
    spec: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.spec.get(key, default)


def load_targets(path: Path = TARGETS_FILE) -> dict[str, HardwareTarget]:
    data = tomllib.loads(path.read_text())
    return {name: HardwareTarget(name=name, description=t.get("description", ""),
                                 providers=tuple(t["providers"]), kind=t["kind"], spec=t)
            for name, t in data.items()}


def get_targets(names: list[str]) -> list[HardwareTarget]:
    from harness.suites import did_you_mean

    known = load_targets()
    out = []
    for n in names:
        if n not in known:
            raise UserError(f"unknown hardware target {n!r}{did_you_mean(n, list(known))}")
        out.append(known[n])
    return out

"""Hardware targets are data (targets.toml beside this file): adding one is one TOML table."""

from __future__ import annotations

import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.registry import Registry

TARGETS_FILE = Path(__file__).with_name("targets.toml")


@dataclass(frozen=True)
class HardwareTarget:
    name: str
    description: str
    providers: tuple[str, ...]
    kind: str  # "cpu" | "gpu" | "browser" (measured by harness/latency/browser/, never projected)
    spec: dict[str, Any] = field(default_factory=dict)

    def get(self, key: str, default: Any = None) -> Any:
        return self.spec.get(key, default)


def hardware_matches(row_hardware: str, target: str) -> bool:
    """A row measured on `target`: the same name, or the name plus the version it ran on, as the browser
    target writes it (`browser:chromium-150.0.7871.100` is a `browser` row)."""
    return row_hardware == target or row_hardware.startswith(f"{target}:")


def load_targets(path: Path = TARGETS_FILE) -> Registry[HardwareTarget]:
    data = tomllib.loads(path.read_text())
    targets: Registry[HardwareTarget] = Registry("hardware target")
    for name, t in data.items():
        targets.register(name, HardwareTarget(name=name, description=t.get("description", ""),
                                              providers=tuple(t["providers"]), kind=t["kind"], spec=t))
    return targets


def get_targets(names: list[str]) -> list[HardwareTarget]:
    known = load_targets()
    return [known.get(n) for n in names]

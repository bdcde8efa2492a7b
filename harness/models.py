"""The model registry folder: one folder per release, holding ONNX controllers and a release.json.

Layout: `<models>/<task>/<name>/release.json` + `model.onnx` (FP32) [+ `model.int8.onnx`].
`<models>` is `$DAWG_BENCH_MODELS`, else `<cache>/models`. release.json:
`{"name", "task", "version", "created_at", "features", "params": [spec names in order],
  "files": {"fp32": ..., "int8": ...}, "fixture": false, "card": {...}}`.
A release marked `fixture: true` was built by the tests (random weights): it exercises the
ONNX path and latency, and is never reported as a release.
"""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.paths import home
from harness.registry import Registry

PRECISIONS = ("fp32", "int8")


def models_dir() -> Path:
    if env := os.environ.get("DAWG_BENCH_MODELS"):
        return Path(env)
    return home() / "models"


@dataclass(frozen=True)
class Release:
    name: str
    task: str
    version: int
    folder: str
    features: str
    params: tuple[str, ...]
    files: dict[str, str]
    created_at: str = ""
    fixture: bool = False
    card: dict[str, Any] = field(default_factory=dict)

    def path(self, precision: str) -> Path:
        if precision not in self.files:
            raise UserError(f"release {self.name} has no {precision} model (has: {', '.join(self.files)})")
        return Path(self.folder) / self.files[precision]

    @property
    def precisions(self) -> tuple[str, ...]:
        return tuple(p for p in PRECISIONS if p in self.files)

    def identity(self, precision: str) -> dict[str, str]:
        """What a score of this release stands for: sha256 of release.json and of the precision's ONNX file."""
        import hashlib

        def sha256(path: Path) -> str:
            try:
                return hashlib.sha256(path.read_bytes()).hexdigest()
            except OSError as exc:
                return f"unreadable: {exc.strerror or exc}"

        return {"release.json": sha256(Path(self.folder) / "release.json"),
                self.files[precision]: sha256(self.path(precision))}

    def candidate_name(self, precision: str) -> str:
        return f"model:{self.name}@{precision}"


def load_release(folder: Path) -> Release:
    meta_path = folder / "release.json"
    try:
        meta = json.loads(meta_path.read_text())
        return Release(name=meta["name"], task=meta["task"], version=int(meta["version"]), folder=str(folder),
                       features=meta["features"], params=tuple(meta["params"]), files=dict(meta["files"]),
                       created_at=meta.get("created_at", ""), fixture=bool(meta.get("fixture", False)),
                       card=meta.get("card", {}))
    except FileNotFoundError:
        raise UserError(f"{meta_path}: missing release.json") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{meta_path}: invalid release.json ({type(exc).__name__}: {exc})") from None


def discover_releases(root: Path | None = None) -> list[Release]:
    root = root or models_dir()
    if not root.exists():
        return []
    return sorted((load_release(p.parent) for p in root.glob("*/*/release.json")),
                  key=lambda r: (r.task, r.version, r.name))


def find_release(name: str, root: Path | None = None) -> Release:
    releases: Registry[Release] = Registry("model release")
    for r in discover_releases(root):
        if r.name not in releases:  # the same name under two tasks: the first (by task) wins
            releases.register(r.name, r)
    if not releases:
        raise UserError(f"unknown model release {name!r} (no releases in {root or models_dir()})")
    return releases.get(name)


def newest_per_task(root: Path | None = None) -> dict[str, Release]:
    out: dict[str, Release] = {}
    for r in discover_releases(root):
        out[r.task] = r  # sorted by version, so the last one wins
    return out

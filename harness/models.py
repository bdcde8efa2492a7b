"""The model registry folder: one folder per release, holding ONNX controllers and a release.json.

Layout: `<models>/<task>/<name>/release.json` + `model.onnx` (FP32) [+ `model.int8.onnx`].
`<models>` is `$DAWG_BENCH_MODELS`, else `<cache>/models`. release.json:
`{"name", "task", "version", "created_at", "features", "params": [spec names in order],
  "files": {"fp32": ..., "int8": ...}, "fixture": false, "card": {...}, "loudness": "predicted"|"measured"}`.
A release marked `fixture: true` was built by the tests (random weights): it exercises the
ONNX path and latency, and is never reported as a release.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.paths import home
from harness.registry import Registry

PRECISIONS = ("fp32", "int8")
LOUDNESS_MODES = ("predicted", "measured")
# Release names become candidate names (`model:<name>@<precision>`) and folder names: no `@`, `/`,
# spaces or leading dots.
NAME_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def models_dir() -> Path:
    """The registry folder: `$DAWG_BENCH_MODELS`, else `<cache>/models`. An `s3://bucket/prefix` registry is
    read from its mirror in the cache (harness/s3_registry.py; the CLI pulls it before each command)."""
    if env := os.environ.get("DAWG_BENCH_MODELS"):
        if env.startswith("s3://"):
            from harness.s3_registry import mirror_dir

            return mirror_dir(env)
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
    # "predicted": the controller's parameters are used as they are; "measured": after the controller,
    # the chain's makeup is set by measuring its output against the loudness target (tasks with one).
    loudness: str = "predicted"

    def path(self, precision: str) -> Path:
        if precision not in self.files:
            raise UserError(f"release {self.name} has no {precision} model (has: {', '.join(self.files)})")
        return _inside(Path(self.folder), self.files[precision], Path(self.folder) / "release.json", precision)

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

    def download_file(self) -> tuple[str, Path]:
        """The precision and file a browser downloads, for the CDN's bytes: INT8 where the release has it
        (the smaller file), else FP32."""
        precision = "int8" if "int8" in self.files else "fp32"
        return precision, self.path(precision)


def load_release(folder: Path) -> Release:
    meta_path = folder / "release.json"
    try:
        meta = json.loads(meta_path.read_text())
        release = Release(name=meta["name"], task=meta["task"], version=int(meta["version"]), folder=str(folder),
                          features=meta["features"], params=tuple(meta["params"]), files=dict(meta["files"]),
                          created_at=meta.get("created_at", ""), fixture=bool(meta.get("fixture", False)),
                          card=meta.get("card", {}), loudness=meta.get("loudness", "predicted"))
    except FileNotFoundError:
        raise UserError(f"{meta_path}: missing release.json") from None
    except UnicodeDecodeError:
        raise UserError(f"{meta_path}: not UTF-8 text") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise UserError(f"{meta_path}: invalid release.json ({type(exc).__name__}: {exc})") from None
    if not isinstance(release.name, str) or not NAME_RE.match(release.name):
        raise UserError(f"{meta_path}: invalid release name {release.name!r} (letters, digits, '.', '_' and '-'; "
                        "no '@', '/' or spaces)")
    if release.loudness not in LOUDNESS_MODES:
        raise UserError(f"{meta_path}: loudness must be one of {', '.join(LOUDNESS_MODES)} (got {release.loudness!r})")
    unknown = sorted(set(release.files) - set(PRECISIONS))
    if unknown or not release.files:
        raise UserError(f"{meta_path}: files must map {' and/or '.join(PRECISIONS)} to ONNX files "
                        f"(got {', '.join(unknown) or 'none'})")
    for precision, rel in release.files.items():
        _inside(folder, rel, meta_path, precision)
    return release


def _inside(folder: Path, rel: Any, meta_path: Path, precision: str) -> Path:
    """A release's model file must stay in its folder: no absolute path, no `..`, no symlink out."""
    if not isinstance(rel, str) or not rel:
        raise UserError(f"{meta_path}: files.{precision} must be a file name")
    if os.path.isabs(rel) or ".." in Path(rel).parts:
        raise UserError(f"{meta_path}: files.{precision} = {rel!r} leaves the release folder (absolute or '..')")
    resolved = (folder / rel).resolve()
    if not resolved.is_relative_to(folder.resolve()):
        raise UserError(f"{meta_path}: files.{precision} = {rel!r} is a link that leaves the release folder "
                        f"(to {resolved})")
    return resolved


def scan_releases(root: Path | None = None) -> tuple[list[Release], list[tuple[str, str]]]:
    """Every release under the registry folder, and the bad ones as (path, reason): one bad release
    is reported, never blocks the others."""
    root = root or models_dir()
    if not root.exists():
        return [], []
    good, bad, seen = [], [], set()
    for meta in sorted(root.glob("*/*/release.json")):
        try:
            release = load_release(meta.parent)
        except UserError as exc:
            bad.append((str(meta), str(exc)))
            continue
        if release.name in seen:
            bad.append((str(meta), f"{meta}: release name {release.name!r} is used twice"))
            continue
        seen.add(release.name)
        good.append(release)
    return sorted(good, key=lambda r: (r.task, r.version, r.name)), bad


def _declared_name(meta_path: Path) -> str | None:
    try:
        return json.loads(meta_path.read_text()).get("name")
    except (OSError, ValueError, AttributeError):
        return None


def discover_releases(root: Path | None = None) -> list[Release]:
    return scan_releases(root)[0]


def bad_releases(root: Path | None = None) -> list[tuple[str, str]]:
    return scan_releases(root)[1]


def find_release(name: str, root: Path | None = None) -> Release:
    releases: Registry[Release] = Registry("model release")
    good, bad = scan_releases(root)
    for r in good:
        releases.register(r.name, r)
    for path, reason in bad:  # a bad release named by the user: say why it is unusable
        if name in (Path(path).parent.name, _declared_name(Path(path))):
            raise UserError(reason)
    if not releases:
        raise UserError(f"unknown model release {name!r} (no releases in {root or models_dir()})")
    return releases.get(name)


def newest_per_task(root: Path | None = None) -> dict[str, Release]:
    out: dict[str, Release] = {}
    for r in discover_releases(root):
        out[r.task] = r  # sorted by version, so the last one wins
    return out

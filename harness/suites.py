"""Suites are data: TOML files under suites/ with `include = [...]` for shared defaults.

`load_suite(name_or_path)` resolves includes (tables merge key by key, other values replace;
`[[extra_bars]]` appends to the included `[[bars]]`),
validates the result into a typed `Suite` (schema: `harness.suite_schema`), and checks every name
it uses against the registries (tasks, candidates, metrics, hardware targets, genres), each unknown
name a one-line error with a "did you mean" suggestion. Nothing imports this module for a utility:
the registries do not import suites back.
"""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from harness.errors import UserError
from harness.registry import Registry, UnknownName, did_you_mean
from harness.suite_schema import Suite


def suites_dir() -> Path:
    """`$DAWG_BENCH_SUITES`, else the `suites/` folder of this checkout."""
    if env := os.environ.get("DAWG_BENCH_SUITES"):
        return Path(env)
    return Path(__file__).resolve().parents[1] / "suites"


def suite_registry() -> Registry[Path]:
    """The suites in `suites_dir()` by name (files starting with `_` are shared includes, not suites)."""
    registry: Registry[Path] = Registry("suite", describe=lambda path: str(path))
    for path in sorted(suites_dir().glob("*.toml")):
        if not path.stem.startswith("_"):
            registry.register(path.stem, path)
    return registry


def available_suites() -> list[str]:
    return sorted(suite_registry())


def resolve_suite_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" or "/" in name_or_path or p.is_absolute():  # a path, not a suite name
        if p.is_dir():
            raise UserError(f"{p}: is a directory, not a suite file")
        if not p.exists():
            raise UserError(f"{p}: suite file not found (names: {', '.join(available_suites())})")
        return p
    return suite_registry().get(name_or_path)


def load_suite(name_or_path: str) -> Suite:
    path = resolve_suite_path(name_or_path)
    raw = _load_with_includes(path, seen=())
    raw.pop("include", None)
    try:
        suite = Suite(name=path.stem, path=str(path), **raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(x) for x in first["loc"])
        raise UserError(f"{path}: {where}: {first['msg']}") from None
    _check_names(suite, path)
    return suite


def _load_with_includes(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise UserError(f"{path}: include cycle ({' -> '.join(p.name for p in (*seen, path))})")
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise UserError(f"{path}: included file not found") from None
    except IsADirectoryError:
        raise UserError(f"{path}: is a directory, not a suite file") from None
    except UnicodeDecodeError as exc:
        raise UserError(f"{path}: not UTF-8 text (byte {exc.start}); TOML files are UTF-8") from None
    except PermissionError:
        raise UserError(f"{path}: permission denied") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}") from None
    includes = data.get("include", [])
    if not isinstance(includes, list) or not all(isinstance(i, str) for i in includes):
        raise UserError(f"{path}: include must be a list of file names, e.g. include = [\"_base.toml\"] "
                        f"(got {includes!r})")
    merged: dict[str, Any] = {}
    for inc in includes:
        merged = _merge(merged, _load_with_includes(path.parent / inc, (*seen, path)))
    # `[[bars]]` replaces the included list (lists replace); `[[extra_bars]]` appends to it, so a suite can
    # add one bar without copying the shared ones.
    extra = data.get("extra_bars", [])
    if not isinstance(extra, list):
        raise UserError(f"{path}: extra_bars must be an array of tables ([[extra_bars]]), got {extra!r}")
    merged = _merge(merged, {k: v for k, v in data.items() if k != "extra_bars"})
    if extra:
        merged["bars"] = [*merged.get("bars", []), *extra]
    return merged


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _check_names(suite: Suite, path: Path) -> None:
    """Every name the suite uses must be registered; the first unknown one is the error."""
    from harness.candidates import CANDIDATES
    from harness.corpus.synth import GENRES
    from harness.latency.targets import load_targets
    from harness.metrics import REGISTRY as METRICS
    from harness.tasks import TASKS
    from harness.tasks.base import resolve_params

    def check(registry: Registry[Any], names: list[str], where: str = "") -> None:
        try:
            registry.check(names, f"{path}{where}")
        except UnknownName as exc:
            raise UserError(str(exc)) from None

    def check_in(kind: str, names: list[str], known: list[str], where: str) -> None:
        for name in names:
            if name not in known:
                raise UserError(f"{path}{where}: unknown {kind} {name!r}{did_you_mean(name, known)}")

    check(GENRES, suite.corpus.genres)
    check(CANDIDATES, [c for c in suite.candidates.names if not c.startswith(("model:", "vst3:"))])
    check(TASKS, list(suite.tasks))
    distances = [spec.name for spec in METRICS.values() if spec.kind == "distance"]
    meters = [spec.name for spec in METRICS.values() if spec.kind == "meter"]
    for task_name, task in suite.tasks.items():
        where = f": task {task_name!r}"
        spec = TASKS[task_name]
        check_in("distance metric", task.metrics, distances, where)
        check_in("output meter", task.output_meters, meters, where)
        check_in("variant", task.variants, spec.variant_names(), where)
        try:
            resolve_params(spec.defaults, task.degradation, task_name)
        except ValueError as exc:
            raise UserError(f"{path}: {exc}") from None
    targets = load_targets()
    check(targets, suite.hardware.targets)
    from harness.bars import BAR_KINDS

    for bar in suite.bars:
        where = f": bar {bar.name!r}"
        check(BAR_KINDS, [bar.kind], where)
        kind = BAR_KINDS[bar.kind]
        if not kind.has_needs(bar):
            raise UserError(f"{path}{where}: a {bar.kind!r} bar needs {kind.needs}")
        if bar.task is not None:
            check_in("task", [bar.task], list(suite.tasks), where)
        if bar.hardware is not None:
            check(targets, [bar.hardware], where)
        if bar.metric is not None:
            outputs = [f"output.{m}" for t in suite.tasks.values() for m in t.output_meters]
            check_in("metric", [bar.metric], distances + outputs, where)

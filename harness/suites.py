"""Suites are data: TOML files under suites/ with `include = [...]` for shared defaults.

`load_suite(name_or_path)` resolves includes (tables merge key by key, other values replace),
validates the result into a typed `Suite`, and turns every unknown name into a UserError with a
"did you mean" suggestion.
"""

from __future__ import annotations

import difflib
import os
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from harness.errors import UserError

KNOWN_VARIANTS = ("reference_free", "reference_based")


def suites_dir() -> Path:
    """`$DAWG_BENCH_SUITES`, else the `suites/` folder of this checkout."""
    if env := os.environ.get("DAWG_BENCH_SUITES"):
        return Path(env)
    return Path(__file__).resolve().parents[1] / "suites"


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CorpusConfig(_Strict):
    source: Literal["generated", "folder"] = "generated"
    sample_rate: int = Field(48_000, ge=8_000, le=192_000)
    clip_seconds: float = Field(10.0, gt=0.5, le=120)
    seed: int = 0
    clips: int = Field(60, ge=1)
    genres: list[str] = Field(default_factory=lambda: ["pop"])
    split: dict[str, float] = Field(default_factory=lambda: {"train": 0.7, "validation": 0.15, "test": 0.15})
    target_lufs: float = Field(-14.0, ge=-40, le=0)
    ceiling_dbtp: float = Field(-1.0, ge=-12, le=0)

    @field_validator("split")
    @classmethod
    def _split(cls, v: dict[str, float]) -> dict[str, float]:
        if set(v) != {"train", "validation", "test"}:
            raise ValueError(f"split needs exactly train, validation and test, got {sorted(v)}")
        if any(f < 0 for f in v.values()) or abs(sum(v.values()) - 1) > 1e-9:
            raise ValueError(f"split fractions must be ≥ 0 and sum to 1, got {v}")
        return v


class TaskConfig(_Strict):
    description: str = ""
    primary_metric: str
    metrics: list[str]
    degradation: dict[str, Any] = Field(default_factory=dict)
    target_lufs: float | None = None
    ceiling_dbtp: float | None = None
    variants: list[str] = Field(default_factory=list)
    output_meters: list[str] = Field(default_factory=list)  # meters on the output, stored as "output.<name>"

    @model_validator(mode="after")
    def _primary_is_measured(self) -> TaskConfig:
        if self.primary_metric not in self.metrics:
            raise ValueError(f"primary_metric {self.primary_metric!r} must be one of its metrics {self.metrics}")
        return self


class CandidatesConfig(_Strict):
    names: list[str] = Field(default_factory=list)


class HardwareConfig(_Strict):
    targets: list[str] = Field(default_factory=lambda: ["cpu"])


BarKind = Literal["absolute", "harm", "vs_best_baseline", "vs_previous", "latency", "int8_parity"]


class Bar(_Strict):
    """One pass bar of the release gate. Missing data always fails it (fail closed)."""

    name: str
    kind: BarKind
    task: str | None = None  # None: every task of the gated release
    metric: str | None = None  # default: the task's primary metric
    statistic: Literal["median", "mean", "max", "p95"] = "median"
    max: float | None = None
    min: float | None = None
    tolerance: float = 0.0  # vs_previous / int8_parity: allowed relative regression
    hardware: str | None = None  # latency
    scope: Literal["controller", "end_to_end"] = "end_to_end"
    percentile: Literal["p50_ms", "p90_ms", "p95_ms", "p99_ms"] = "p95_ms"


class Suite(_Strict):
    name: str
    path: str
    description: str = ""
    corpus: CorpusConfig = CorpusConfig()
    tasks: dict[str, TaskConfig]
    candidates: CandidatesConfig = CandidatesConfig()
    hardware: HardwareConfig = HardwareConfig()
    bars: list[Bar] = Field(default_factory=list)


def available_suites() -> list[str]:
    return sorted(p.stem for p in suites_dir().glob("*.toml") if not p.stem.startswith("_"))


def resolve_suite_path(name_or_path: str) -> Path:
    p = Path(name_or_path)
    if p.suffix == ".toml" and p.exists():
        return p
    candidate = suites_dir() / f"{name_or_path}.toml"
    if candidate.exists():
        return candidate
    raise UserError(f"unknown suite {name_or_path!r}{did_you_mean(name_or_path, available_suites())}")


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


def did_you_mean(name: str, choices: list[str] | tuple[str, ...]) -> str:
    close = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    return f"{hint} (known: {', '.join(sorted(choices))})"


def _load_with_includes(path: Path, seen: tuple[Path, ...]) -> dict[str, Any]:
    path = path.resolve()
    if path in seen:
        raise UserError(f"{path}: include cycle ({' -> '.join(p.name for p in (*seen, path))})")
    try:
        data = tomllib.loads(path.read_text())
    except FileNotFoundError:
        raise UserError(f"{path}: included file not found") from None
    except tomllib.TOMLDecodeError as exc:
        raise UserError(f"{path}: invalid TOML: {exc}") from None
    merged: dict[str, Any] = {}
    for inc in data.get("include", []):
        merged = _merge(merged, _load_with_includes(path.parent / inc, (*seen, path)))
    return _merge(merged, data)


def _merge(base: dict[str, Any], override: dict[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def _check_names(suite: Suite, path: Path) -> None:
    from harness.corpus.synth import STYLES
    from harness.metrics import REGISTRY
    from harness.tasks import TASKS
    from harness.tasks.base import resolve_params

    def check(kind: str, names: list[str], known: list[str] | tuple[str, ...]) -> None:
        for name in names:
            if name not in known:
                raise UserError(f"{path}: unknown {kind} {name!r}{did_you_mean(name, known)}")

    check("genre", suite.corpus.genres, list(STYLES))
    from harness.candidates import REGISTRY as CANDIDATES

    check("candidate", [c for c in suite.candidates.names if not c.startswith(("model:", "vst3:"))], list(CANDIDATES))
    check("task", list(suite.tasks), list(TASKS))
    distances = [name for name, spec in REGISTRY.items() if spec.kind == "distance"]
    meters = [name for name, spec in REGISTRY.items() if spec.kind == "meter"]
    for task_name, task in suite.tasks.items():
        check(f"metric in task {task_name!r}", task.metrics, distances)
        check(f"output meter in task {task_name!r}", task.output_meters, meters)
        check(f"variant in task {task_name!r}", task.variants, KNOWN_VARIANTS)
        try:
            resolve_params(TASKS[task_name].DEFAULTS, task.degradation, task_name)
        except ValueError as exc:
            raise UserError(f"{path}: {exc}") from None
    from harness.latency.targets import load_targets

    check("hardware target", suite.hardware.targets, list(load_targets()))
    for bar in suite.bars:
        if bar.task is not None:
            check(f"task in bar {bar.name!r}", [bar.task], list(suite.tasks))
        if bar.hardware is not None:
            check(f"hardware in bar {bar.name!r}", [bar.hardware], list(load_targets()))
        if bar.metric is not None:
            outputs = [f"output.{m}" for t in suite.tasks.values() for m in t.output_meters]
            check(f"metric in bar {bar.name!r}", [bar.metric], distances + outputs)

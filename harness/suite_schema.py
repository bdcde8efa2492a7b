"""The suite schema: what a suite file may say, as typed pydantic models. Data only.

Loading (includes) and name checks against the registries live in `harness.suites`; this module
imports nothing from the project but the loudness defaults, so the corpus, tasks, runner and gate
can take a `Suite` without pulling in the registries that validation needs.
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from harness.loudness_target import DEFAULT_CEILING_DBTP, DEFAULT_TARGET_LUFS


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
    target_lufs: float = Field(DEFAULT_TARGET_LUFS, ge=-40, le=0)
    ceiling_dbtp: float = Field(DEFAULT_CEILING_DBTP, ge=-12, le=0)
    # Generated clips: each finished master's loudness and each raw mix's level are drawn from these
    # ranges (real masters and mixes spread; one fixed level would let a clip's level leak its
    # damage). finished_lufs = None: every clip finished at target_lufs.
    finished_lufs: tuple[float, float] | None = (-16.0, -8.0)
    raw_lufs: tuple[float, float] = (-26.0, -14.0)

    @field_validator("finished_lufs", "raw_lufs")
    @classmethod
    def _range(cls, v: tuple[float, float] | None) -> tuple[float, float] | None:
        if v is not None and not (-40.0 <= v[0] <= v[1] <= 0.0):
            raise ValueError(f"expected [low, high] LUFS with -40 <= low <= high <= 0, got {list(v)}")
        return v

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
    # The gate needs at least this many scored test examples of the task on the suite's own corpus
    # (the release suite sets it from the power analysis in docs/baselines.md).
    min_test_examples: int = Field(default=1, ge=1)

    @model_validator(mode="after")
    def _primary_is_measured(self) -> TaskConfig:
        if self.primary_metric not in self.metrics:
            raise ValueError(f"primary_metric {self.primary_metric!r} must be one of its metrics {self.metrics}")
        return self


class CandidatesConfig(_Strict):
    names: list[str] = Field(default_factory=list)


class HardwareConfig(_Strict):
    targets: list[str] = Field(default_factory=lambda: ["cpu"])


class Bar(_Strict):
    """One pass bar of the release gate. Missing data always fails it (fail closed).

    `kind` names an entry of harness.bars.BAR_KINDS; the fields each kind needs are checked when the
    suite loads (harness.suites), against that registry."""

    name: str
    kind: str
    task: str | None = None  # None: every task of the gated release
    metric: str | None = None  # default: the task's primary metric
    statistic: Literal["median", "mean", "max", "min", "p95"] = "median"
    max: float | None = None
    min: float | None = None
    tolerance: float = Field(default=0.0, ge=0.0)  # vs_previous / int8_parity: gap-closed points that may be lost
    hardware: str | None = None  # latency
    scope: Literal["controller", "end_to_end"] = "end_to_end"
    percentile: Literal["p50_ms", "p90_ms", "p95_ms", "p99_ms"] = "p95_ms"
    clip_seconds: float = Field(default=10.0, gt=0.0)  # latency, end to end: the audio length timed
    allow_projected: bool = False  # latency: accept a device-model projection where the hardware is absent
    first_release: bool = False  # vs_previous: pass when no previous release exists (else fail closed)


class GateConfig(_Strict):
    """What evidence the gate accepts before it looks at any bar."""

    # Manifest hashes of folder corpora (`run --corpus DIR`) the gate may judge on; by default only
    # the suite's own generated corpus (with or without --recorded test clips) counts.
    allowed_corpora: list[str] = Field(default_factory=list)
    # Test sources the evidence must cover: "recorded" makes the gate refuse a run without real music
    # (`run --recorded DIR`), where a model that helps generated clips can still hurt.
    require_sources: list[Literal["generated", "recorded"]] = Field(default_factory=list)


class Suite(_Strict):
    name: str
    path: str
    description: str = ""
    corpus: CorpusConfig = CorpusConfig()
    tasks: dict[str, TaskConfig]
    candidates: CandidatesConfig = CandidatesConfig()
    hardware: HardwareConfig = HardwareConfig()
    bars: list[Bar] = Field(default_factory=list)
    gate: GateConfig = GateConfig()

"""The Task concept: `TaskSpec` (everything the rest of the harness needs to know about a task), the
example it makes, and what a candidate sees.

A task damages a clip that is already right, in a known and sampled way. The undamaged clip is the
target; the exact inverse of the damage (where it exists) is the oracle. A candidate sees only the
`Query` — the damaged input, the reference where the task has one, the loudness target — never the
target, the oracle, the genre or the damage.

Everything else derives its task facts from the `TaskSpec` in the task registry
(`harness.tasks.TASKS`): which candidates run it, the controller's input size, latency's sample
query, which variants a suite may name. Adding a task is one module with a `SPEC` plus one
registry entry (and suite data).
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from harness.dsp.params import Processor
from harness.registry import UnknownName, did_you_mean
from harness.tasks import distributions


@dataclass(frozen=True)
class Query:
    """Everything a candidate may look at."""

    task: str
    variant: str | None
    audio: np.ndarray
    sample_rate: int
    reference: np.ndarray | None = None
    target_lufs: float | None = None
    ceiling_dbtp: float | None = None


@dataclass(frozen=True)
class Example:
    query: Query
    clip_id: str
    source: str  # "generated" | "recorded": scorecards report these separately
    target: np.ndarray
    oracle: Any  # a Processor whose render(query.audio) repairs the damage
    oracle_exact: bool
    damage: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class Variant:
    """A named way of posing a task (e.g. mastering with or without a reference)."""

    name: str
    has_reference: bool
    description: str = ""


# make_example(clip, degradation params, rng, *, partner=None, variant=..., target_lufs=..., ceiling_dbtp=...)
MakeExample = Callable[..., Example]


@dataclass(frozen=True)
class TaskSpec:
    """One task, in one place.

    - `processor`: the processor type a candidate sets for this task (its SPECS are the outputs).
    - `defaults`: the degradation distributions (suite-overridable, see `resolve_params`).
    - `variants`: named variants a suite may list; empty for a task posed one way only.
    - `reference`: whether the unnamed variant (variant None) comes with a reference.
    - `loudness_target`: whether a query carries a loudness target and true-peak ceiling.
    - `make_example(clip, params, rng, **kwargs)`: the damaged query, its target and its oracle
      (the processor that repairs the damage, carried in the `Example`).
    """

    name: str
    description: str
    processor: type[Processor]
    defaults: Mapping[str, Any]
    make_example: MakeExample
    variants: tuple[Variant, ...] = ()
    reference: bool = False
    loudness_target: bool = False

    def variant(self, name: str) -> Variant:
        for v in self.variants:
            if v.name == name:
                return v
        raise UnknownName(f"task {self.name!r}: unknown variant {name!r}{did_you_mean(name, self.variant_names())}")

    def variant_names(self) -> list[str]:
        return [v.name for v in self.variants]

    def has_reference(self, variant: str | None) -> bool:
        """Whether a query of this variant carries a reference (and so its example needs a partner clip)."""
        return self.reference if variant is None else self.variant(variant).has_reference

    @property
    def takes_reference(self) -> bool:
        """Some variant of this task carries a reference."""
        return self.reference or any(v.has_reference for v in self.variants)

    @property
    def reference_optional(self) -> bool:
        """Some variants carry a reference and others do not."""
        flags = {self.reference} if not self.variants else {v.has_reference for v in self.variants}
        return len(flags) > 1

    def controlled(self) -> Processor:
        """The processor a candidate sets, at its defaults."""
        return self.processor()


def task_rng(task: str, clip_id: str, seed: int, variant: str | None = None) -> np.random.Generator:
    """One independent, reproducible stream per (task, variant, clip, seed)."""
    digest = hashlib.sha256(f"{task}|{variant}|{clip_id}".encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def resolve_params(defaults: Mapping[str, Any], overrides: Mapping[str, Any], task: str) -> dict[str, Any]:
    """Suite overrides on top of the task's documented defaults; unknown names are errors."""
    unknown = [k for k in overrides if k not in defaults]
    if unknown:
        raise ValueError(
            f"task {task!r}: unknown degradation parameter {unknown[0]!r}{did_you_mean(unknown[0], defaults)}"
        )
    params = {**defaults, **overrides}
    for name, spec in params.items():
        distributions.validate(f"{task}.degradation.{name}", spec)
    return params


def draw(params: Mapping[str, Any], name: str, rng: np.random.Generator) -> Any:
    return distributions.sample(params[name], rng)

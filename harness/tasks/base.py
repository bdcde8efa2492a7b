"""What every task shares: the clip it starts from, the example it makes, and what a candidate sees.

A task damages a clip that is already right, in a known and sampled way. The undamaged clip is the
target; the exact inverse of the damage (where it exists) is the oracle. A candidate sees only the
`Query` — the damaged input, the reference where the task has one, the loudness target — never the
target, the oracle, the genre or the damage.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from typing import Any, Mapping

import numpy as np


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


def task_rng(task: str, clip_id: str, seed: int, variant: str | None = None) -> np.random.Generator:
    """One independent, reproducible stream per (task, variant, clip, seed)."""
    digest = hashlib.sha256(f"{task}|{variant}|{clip_id}".encode()).digest()
    return np.random.default_rng([seed, int.from_bytes(digest[:8], "little")])


def resolve_params(defaults: Mapping[str, Any], overrides: Mapping[str, Any], task: str) -> dict[str, Any]:
    """Suite overrides on top of the task's documented defaults; unknown names are errors."""
    import difflib

    unknown = [k for k in overrides if k not in defaults]
    if unknown:
        close = difflib.get_close_matches(unknown[0], list(defaults), n=1)
        hint = f"; did you mean {close[0]!r}?" if close else ""
        raise ValueError(f"task {task!r}: unknown degradation parameter {unknown[0]!r}{hint} (known: {', '.join(defaults)})")
    params = {**defaults, **overrides}
    for name, spec in params.items():
        distributions.validate(f"{task}.degradation.{name}", spec)
    return params


def draw(params: Mapping[str, Any], name: str, rng: np.random.Generator) -> Any:
    return distributions.sample(params[name], rng)

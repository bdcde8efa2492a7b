"""The candidate contract: audio (+ reference, + loudness target) → plugin parameters.

A candidate is anything the harness scores on a task: a model release, a rule-based baseline, a
peer, or a bound. It sees a `Query` only (never the target, the oracle, the genre or the damage;
the `oracle` bound is the one exception, and says so with `needs_ground_truth`). It returns the
parameters of the task's processor, which the harness renders with its own DSP — or, for a peer
with no parameters, the processed audio itself.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal, Sequence

import numpy as np

from harness.tasks.base import Example, Query

Kind = Literal["model", "baseline", "peer", "bound"]


class Unavailable(RuntimeError):
    """The candidate cannot run here (an optional package is missing); the reason is recorded."""


@dataclass(frozen=True)
class Prediction:
    """Exactly one of `params` (a Processor for the task) or `audio` (a peer's own output)."""

    params: Any = None
    audio: np.ndarray | None = None

    def render(self, query: Query) -> np.ndarray:
        if self.audio is not None:
            return self.audio
        return self.params.render(query.audio, query.sample_rate)


class Candidate:
    name: ClassVar[str] = ""
    kind: ClassVar[Kind] = "baseline"
    tasks: ClassVar[Sequence[str]] = ("eq", "compressor", "mastering")
    needs_ground_truth: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def supports(self, task: str, variant: str | None) -> bool:
        return task in self.tasks

    def check_available(self) -> None:
        """Raise Unavailable(reason) when an optional dependency is missing."""

    def fit(self, train: Sequence[Example]) -> None:
        """Learn from the training split (e.g. a target curve). Never sees the test split."""

    def predict(self, query: Query) -> Prediction:  # pragma: no cover - interface
        raise NotImplementedError

    def predict_example(self, example: Example) -> Prediction:
        """What the runner calls: only bounds that declare it receive the ground truth."""
        return self.predict(example.query)

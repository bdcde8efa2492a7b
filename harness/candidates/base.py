"""The candidate contract: audio (+ reference, + loudness target) → plugin parameters.

A candidate is anything the harness scores on a task: a model release, a rule-based baseline, a
peer, or a bound. It sees a `Query` only (never the target, the oracle, the genre or the damage;
the `oracle` bound is the one exception, and says so with `needs_ground_truth`). It returns the
parameters of the task's processor, which the harness renders with its own DSP — or, for a peer
with no parameters, the processed audio itself.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

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
    tasks: ClassVar[Sequence[str] | None] = None  # the tasks it runs; None = every registered task
    needs_ground_truth: ClassVar[bool] = False
    description: ClassVar[str] = ""

    def runs_task(self, task: str) -> bool:
        return self.tasks is None or task in self.tasks

    def supports(self, task: str, variant: str | None) -> bool:
        """Whether it scores this (task, variant); a peer may take only some variants."""
        return self.runs_task(task)

    def identity(self) -> dict[str, Any]:
        """What this candidate's scores stand for, part of a run's identity. Code candidates are
        covered by the code fingerprint; a model adds the hashes of its files."""
        return {"name": self.name}

    def check_available(self) -> None:
        """Raise Unavailable(reason) when an optional dependency is missing."""

    def check_test_clips(self, test_sha256: set[str]) -> None:
        """Raise Unavailable(reason) when scoring on these test clips would not measure skill (a model
        trained on some of them)."""

    def fit(self, train: Sequence[Example]) -> None:
        """Learn from the training split (e.g. a target curve). Never sees the test split."""

    # A fit in rounds, for a run with workers to spare: one fit is one job, and on many cores the
    # longest one holds every worker up. Round r maps `fit_round(r, chunk)` over chunks of the
    # training split in workers (each returns something small and picklable), then
    # `fit_merge(r, parts)` folds the parts, in the chunks' order, into this candidate in the
    # parent; round r + 1's workers get the merged candidate. The result must equal `fit`'s
    # (tested); the simplest way is a `fit` made of one round per chunk of everything.
    fit_rounds: ClassVar[int] = 0

    def fit_round(self, round_index: int, train: Sequence[Example]) -> Any:  # pragma: no cover - interface
        raise NotImplementedError

    def fit_merge(self, round_index: int, parts: Sequence[Any]) -> None:  # pragma: no cover - interface
        raise NotImplementedError

    def fit_in_rounds(self, train: Sequence[Example]) -> None:
        """`fit` as the rounds compute it, all in one chunk."""
        for r in range(self.fit_rounds):
            self.fit_merge(r, [self.fit_round(r, train)])

    def predict(self, query: Query) -> Prediction:  # pragma: no cover - interface
        raise NotImplementedError

    def predict_example(self, example: Example) -> Prediction:
        """What the runner calls: only bounds that declare it receive the ground truth."""
        return self.predict(example.query)


class PerTaskCandidate(Candidate):
    """A candidate with one method per task it knows (rules, match): the tasks it runs are exactly
    the keys of `predictors()`, so a newly registered task is skipped cleanly, never half-handled."""

    def predictors(self) -> Mapping[str, Callable[[Query], Prediction]]:  # pragma: no cover - interface
        raise NotImplementedError

    def runs_task(self, task: str) -> bool:
        return task in self.predictors()

    def predict(self, query: Query) -> Prediction:
        handlers = self.predictors()
        if query.task not in handlers:
            raise ValueError(f"{self.name}: unsupported task {query.task!r} (runs: {', '.join(handlers)})")
        return handlers[query.task](query)

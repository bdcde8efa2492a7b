"""Fitting the candidates that learn (e.g. `match`'s target curve) on a task's training split, for the runner.

Two ways, the same result (tested):
- whole: one job builds the task's training examples and calls `fit` (a run whose workers are all busy
  anyway: the fewest examples built);
- in rounds (`Candidate.fit_rounds`): each round's `fit_round` runs over chunks of the training split in
  the workers, and `fit_merge` folds the parts in the parent. A run with more workers than fits uses
  this: a whole fit is one job, and on many cores the longest one (match's mastering fit, 11 s on the
  demo suite) held every worker up. Each round builds its chunk's examples again: more work in all,
  spread over workers that would otherwise wait.
A fit that raises is recorded and its candidate left out; the run goes on.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

from harness.candidates import Candidate
from harness.corpus.manifest import Manifest
from harness.parallel import chunks
from harness.suite_schema import Suite
from harness.tasks.examples import build_example, example_keys, task_examples


def needs_fit(cand: Candidate) -> bool:
    return type(cand).fit is not Candidate.fit


def fits_in_rounds(candidates: list[Candidate]) -> bool:
    """Every candidate of the group that learns can learn in rounds."""
    learners = [c for c in candidates if needs_fit(c)]
    return bool(learners) and all(c.fit_rounds > 0 for c in learners)


def _failure(task: str, cand: Candidate, exc: Exception) -> dict:
    return {"task": task, "candidate": cand.name, "clip": None, "error": f"fit failed: {type(exc).__name__}: {exc}"}


def fit_whole(cand: Candidate, suite: Suite, manifest: Manifest, task: str, failures: list[dict]) -> Candidate | None:
    """Candidates that learn see the training split of this task only."""
    if not needs_fit(cand):
        return cand
    try:
        cand.fit(list(task_examples(suite, manifest, task, split="train")))
    except Exception as exc:  # noqa: BLE001 - a failed fit is recorded and the candidate left out; the run goes on
        failures.append(_failure(task, cand, exc))
        return None
    return cand


def fit_task_job(job) -> tuple[list[Candidate], list[dict], float]:
    """A worker job: a task's candidates, each fitted whole; failed fits left out; the seconds it took."""
    suite, manifest, task, candidates = job
    start = time.perf_counter()
    failures: list[dict] = []
    fitted = [fit_whole(c, suite, manifest, task, failures) for c in candidates]
    return [c for c in fitted if c is not None], failures, time.perf_counter() - start


def fit_round_job(job) -> list[tuple[bool, object]]:
    """A worker job: one round over one chunk of the training split; per candidate (ok, part or error)."""
    suite, manifest, task, candidates, round_index, keys = job
    train = [build_example(suite, manifest, task, index, variant, "train") for index, variant in keys]
    out: list[tuple[bool, object]] = []
    for cand in candidates:
        if round_index >= cand.fit_rounds:  # fitted already: a fellow candidate needs more rounds
            out.append((True, None))
            continue
        try:
            out.append((True, cand.fit_round(round_index, train)))
        except Exception as exc:  # noqa: BLE001 - recorded by the parent, the candidate left out
            out.append((False, exc))
    return out


@dataclass
class RoundFit:
    """One group's fit in rounds: which round it is in, and the parts its chunks have returned."""

    suite: Suite
    manifest: Manifest
    task: str
    candidates: list[Candidate]  # those that learn; the others need nothing
    workers: int
    others: list[Candidate] = field(default_factory=list)  # the group's candidates that need no fit
    round_index: int = 0
    parts: dict[int, list[tuple[bool, object]]] = field(default_factory=dict)
    chunks: int = 0
    failures: list[dict] = field(default_factory=list)
    started: float = field(default_factory=time.perf_counter)

    def jobs(self) -> list[tuple]:
        """This round's jobs, one per chunk of the training split."""
        cut = chunks(example_keys(self.suite, self.manifest, self.task, "train"), self.workers)
        self.parts, self.chunks = {}, len(cut)
        return [(self.suite, self.manifest, self.task, self.candidates, self.round_index, keys) for keys in cut]

    def returned(self, chunk: int, result: list[tuple[bool, object]]) -> bool:
        """A chunk's result; True once the round has every chunk's."""
        self.parts[chunk] = result
        return len(self.parts) == self.chunks

    def merge(self) -> bool:
        """Fold the round's parts into the candidates (a failed one is left out); True when fitted."""
        kept = []
        for i, cand in enumerate(self.candidates):
            results = [self.parts[c][i] for c in range(self.chunks)]
            error = next((part for ok, part in results if not ok), None)
            if error is None and self.round_index < cand.fit_rounds:
                try:
                    cand.fit_merge(self.round_index, [part for _, part in results])
                except Exception as exc:  # noqa: BLE001 - as a failed fit
                    error = exc
            if error is None:
                kept.append(cand)
            else:
                self.failures.append(_failure(self.task, cand, error))  # type: ignore[arg-type]
        self.candidates = kept
        self.round_index += 1
        return not kept or self.round_index >= max(c.fit_rounds for c in kept)

    @property
    def seconds(self) -> float:
        return time.perf_counter() - self.started

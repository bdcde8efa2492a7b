"""Score every candidate on every test example of every task of a suite.

Per example: the candidate's output is compared with the target on each of the task's metrics;
gap closed = 1 − d(output, target) / d(damaged input, target) per distance (0 = no better than
bypass, 1 = perfect, < 0 = made it worse). Work is split by example across processes, in chunks;
each finished chunk is committed to the store at once, so a re-run skips it. A failing candidate or
clip is recorded and the run goes on.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import time
from dataclasses import dataclass, field

from harness.allocator import keep_freed_memory
from harness.candidates import Candidate, Unavailable, get_candidate
from harness.corpus.manifest import Manifest
from harness.environment import code_fingerprint, fingerprint
from harness.fitting import RoundFit, fit_round_job, fit_task_job, fits_in_rounds, needs_fit
from harness.metrics import Unmeasurable, get_metric, measure
from harness.metrics.distances import OutputAnalysis, distance_against
from harness.parallel import SerialPool, chunks, process_pool
from harness.progress import Progress
from harness.store import Store
from harness.suite_schema import Suite
from harness.tasks.examples import build_example, example_keys

RUNNER_VERSION = 2  # 2: loudness-matched distances, input distances stored, audibility floors


@dataclass
class RunOutcome:
    run_id: str
    resumed: bool
    examples_scored: int
    examples_skipped: int
    failures: list[dict] = field(default_factory=list)
    unavailable: dict[str, str] = field(default_factory=dict)
    started_at: float | None = None
    fit_seconds: dict[str, float] = field(default_factory=dict)  # per task: its fits' wall time, in one worker


def suite_scoring_content(suite: Suite) -> dict:
    """What in a suite changes scores: its corpus and tasks (not its file path, descriptions, bars,
    hardware or candidate list — candidates are identified one by one)."""
    tasks = {name: cfg.model_dump(exclude={"description", "min_test_examples"}) for name, cfg in suite.tasks.items()}
    return {"name": suite.name, "corpus": suite.corpus.model_dump(), "tasks": tasks}


def suite_content_hash(suite: Suite) -> str:
    return hashlib.sha256(json.dumps(suite_scoring_content(suite), sort_keys=True).encode()).hexdigest()


def run_identity(suite: Suite, manifest: Manifest, candidates: list[Candidate], *, fresh: bool = False) -> dict:
    """A run's provenance: suite scoring content, corpus manifest, code, and each candidate's identity
    (a model release's file hashes). The same identity resumes; anything else is a new run."""
    identity = {
        "suite": suite_content_hash(suite),
        "manifest": manifest.manifest_hash,
        "code": code_fingerprint(),
        "runner": RUNNER_VERSION,
        "candidates": {c.name: c.identity() for c in sorted(candidates, key=lambda c: c.name)},
    }
    if fresh:
        identity["fresh"] = time.time()  # --fresh: never resume
    return identity


def run_id_for(identity: dict) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


Against = dict  # metric name -> (output -> distance to this example's target)


def prepare_against(example, metrics: list[str]) -> Against:
    """Per example, each distance against its target, with what can be precomputed done once."""
    sr = example.query.sample_rate
    out: Against = {}
    for name in metrics:
        try:
            out[name] = distance_against(name, example.target, sr)
        except Unmeasurable:
            out[name] = None
    return out


def input_distances(example, metrics: list[str], against: Against | None = None) -> dict[str, float | None]:
    """d(damaged input, target) per metric: the bypass distance every candidate's gap is relative to."""
    against = against if against is not None else prepare_against(example, metrics)
    analysis = OutputAnalysis(example.query.audio, example.query.sample_rate)
    return {name: _distance(against.get(name), analysis) for name in metrics}


def _distance(fn, analysis: OutputAnalysis) -> float | None:
    if fn is None:
        return None
    try:
        value = float(fn(analysis))
    except Unmeasurable:
        return None
    return value if math.isfinite(value) else None


def gap_closed(d_out: float | None, d_in: float | None, floor: float | None) -> float | None:
    """1 - d_out / d_in; None when either is missing or the damage d_in is below the metric's audibility
    floor (a tiny denominator makes the ratio explode: a 0.09 dB damage once gave -9.7)."""
    if d_out is None or d_in is None or d_in <= max(floor or 0.0, 1e-12):
        return None
    return 1.0 - d_out / d_in


def score_output(output, example, metrics: list[str], d_input: dict[str, float | None] | None = None,
                 against: Against | None = None, analysis: OutputAnalysis | None = None) -> tuple[dict, dict]:
    """(metric values, gap closed per metric) for one output against the example's target.

    The values include each distance of the damaged input as `input.<metric>`, so the report can
    judge harm (worse than bypass by more than the floor) and sum distances for the aggregate gap."""
    against = against if against is not None else prepare_against(example, metrics)
    d_input = d_input if d_input is not None else input_distances(example, metrics, against)
    analysis = analysis if analysis is not None else OutputAnalysis(output, example.query.sample_rate)
    values: dict[str, float | None] = {}
    gaps: dict[str, float | None] = {}
    for name in metrics:
        d_out = _distance(against.get(name), analysis)
        values[name] = d_out
        values[f"input.{name}"] = d_input.get(name)
        gaps[name] = gap_closed(d_out, d_input.get(name), get_metric(name).audible_floor)
    return values, gaps


def output_meter(name: str, analysis: OutputAnalysis) -> float | None:
    """A meter on the output, read from its shared loudness pass where the meter is part of it."""
    spec = get_metric(name)
    if spec.shared == "loudness_stats" and spec.from_shared is not None:
        try:
            value = spec.from_shared(analysis.loudness)
        except Unmeasurable:
            return None
        return float(value) if value is not None and math.isfinite(value) else None
    return measure(name, analysis.audio, analysis.sr).value


def _score_example(job) -> list[dict]:
    suite, manifest, task, index, variant, candidates, skip = job
    try:
        example = build_example(suite, manifest, task, index, variant)
    except Exception as exc:  # noqa: BLE001 - a corrupt clip: record it for every candidate and go on
        clip_id = manifest.split("test")[index].id
        return [{"task": task, "variant": variant, "clip_id": clip_id, "source": manifest.split("test")[index].source,
                 "candidate": c.name, "error": f"could not build example: {type(exc).__name__}: {exc}"}
                for c in candidates if c.name not in skip]
    metrics = suite.tasks[task].metrics
    output_meters = suite.tasks[task].output_meters
    against = prepare_against(example, metrics)  # target-side work done once per example
    d_input = input_distances(example, metrics, against)  # shared by every candidate of this example
    rows = []
    for cand in candidates:
        if cand.name in skip or not cand.supports(task, variant):
            continue
        t0 = time.perf_counter()
        row = {"task": task, "variant": variant, "clip_id": example.clip_id, "source": example.source,
               "candidate": cand.name}
        try:
            output = cand.predict_example(example).render(example.query)
            analysis = OutputAnalysis(output, example.query.sample_rate)  # one loudness pass, shared
            row["metrics"], row["gap_closed"] = score_output(output, example, metrics, d_input, against, analysis)
            for meter in output_meters:
                row["metrics"][f"output.{meter}"] = output_meter(meter, analysis)
        except Exception as exc:  # noqa: BLE001 - a failing candidate is recorded in its row and the run goes on
            row["error"] = f"{type(exc).__name__}: {exc}"
        row["seconds"] = time.perf_counter() - t0
        rows.append(row)
    return rows


def _score_chunk(job) -> list[dict]:
    """Several examples of one task: their rows, stored together in one transaction."""
    suite, manifest, task, candidates, keys = job
    return [row for index, variant, skip in keys
            for row in _score_example((suite, manifest, task, index, variant, candidates, skip))]


def run_suite(suite: Suite, manifest: Manifest, candidate_names: list[str], store: Store, *,
              workers: int | None = None, progress: Progress | None = None, fresh: bool = False,
              pool=None) -> RunOutcome:
    """Score every available candidate on every test example, resuming a run with the same identity.

    Scheduling: a task whose candidates learn (a fit on its training split) is fitted in a worker
    while the other tasks' examples are scored; its examples follow as soon as the fit returns. The
    examples are sent in chunks that shrink towards the end (`chunk_sizes`) with the fitted
    candidates, and each chunk's rows are committed to the store in one transaction. With more
    workers than fits, fits that can go in rounds are spread over the workers (`harness/fitting.py`);
    where a fit cannot, the task's candidates that need no fit are scored meanwhile."""
    if not manifest.split("test"):
        from harness.errors import UserError

        where = manifest.recipe.get("root") or manifest.folder
        raise UserError(f"{where}: the corpus has no test clips ({len(manifest.clips)} clips in all; files are "
                        "split whole into train/validation/test, so a folder needs several usable files)")
    keep_freed_memory()  # this process scores too when it runs the jobs itself (harness/allocator.py)
    identity = run_identity(suite, manifest, [get_candidate(n) for n in candidate_names], fresh=fresh)
    run_id = run_id_for(identity)
    resumed = not store.start_run(run_id, suite.name, manifest.manifest_hash, {**fingerprint(), "identity": identity})
    outcome = RunOutcome(run_id=run_id, resumed=resumed, examples_scored=0, examples_skipped=0,
                         started_at=store.run_started_at(run_id))
    available: list[str] = []
    test_sha256 = {c.sha256 for c in manifest.split("test")}
    for name in candidate_names:
        try:
            get_candidate(name).check_available()
            get_candidate(name).check_test_clips(test_sha256)
        except Unavailable as exc:
            outcome.unavailable[name] = str(exc)
            continue
        available.append(name)
    done = store.done_keys(run_id)
    test_ids = [c.id for c in manifest.split("test")]
    keys = {task: example_keys(suite, manifest, task) for task in suite.tasks}
    total = sum(len(k) for k in keys.values())
    finished = 0
    workers = workers or min(2, os.cpu_count() or 1)

    def todo(task: str, candidates: list[Candidate]) -> list[tuple[int, str | None, frozenset[str]]]:
        """The task's examples still missing a row of some candidate that poses them."""
        out = []
        for index, variant in keys[task]:
            skip = frozenset(c.name for c in candidates if (task, variant or "", test_ids[index], c.name) in done)
            # done when every candidate that poses this variant has its row (matchering, say, has none
            # for reference-free mastering: counting it rebuilt such examples on every resume)
            if not all(c.name in skip for c in candidates if c.supports(task, variant)):
                out.append((index, variant, skip))
        return out

    # A fresh instance per task: what a candidate learns for one task must not leak into another.
    plans = {task: [c for c in (get_candidate(name) for name in available) if c.runs_task(task)]
             for task in suite.tasks}
    remaining = {task: todo(task, cands) for task, cands in plans.items()}
    work = sum(map(len, remaining.values()))
    fit_tasks = [t for t, cands in plans.items() if remaining[t] and any(needs_fit(c) for c in cands)]
    # With more workers than fits, the workers the fits would leave idle are put to work: a fit that can
    # go in rounds is spread over them (harness/fitting.py); a task with a fit that cannot has its other
    # candidates scored meanwhile, in a group of their own, whose examples are then built a second
    # time. With no workers to spare (the fits keep every one busy) both only add work.
    spare = workers > len(fit_tasks)
    groups = {t: ([[c for c in cands if not needs_fit(c)], [c for c in cands if needs_fit(c)]]
                  if spare and t in fit_tasks and not fits_in_rounds(cands) else [cands])
              for t, cands in plans.items()}  # [cands] itself, when whole: its remaining work is known
    # An example is finished when every group of its task has scored (or skipped) it.
    parts_left = {(t, key): len(groups[t]) for t in plans for key in keys[t]}
    scored_any: set = set()

    def settle(task: str, examples: list[tuple[int, str | None]], *, scored: bool) -> None:
        nonlocal finished
        for key in examples:
            if scored:
                scored_any.add((task, key))
            parts_left[(task, key)] -= 1
            if parts_left[(task, key)] == 0:
                finished += 1
                if (task, key) in scored_any:
                    outcome.examples_scored += 1
                else:
                    outcome.examples_skipped += 1
        if progress and examples:
            progress(finished, total)

    if progress:
        progress(0, total)
    if work > 1 and workers > 1:
        from harness.warmup import ensure_kernels_cached

        ensure_kernels_cached()  # one compile into the on-disk cache; every worker then only loads the kernels
    if pool is not None:  # the caller's (e.g. a SimulatedPool: the scaling benchmark's many-worker projection)
        runner_pool = contextlib.nullcontext(pool)
    elif work > 1 and workers > 1:
        runner_pool = process_pool(workers)
    else:
        runner_pool = contextlib.nullcontext(SerialPool())
    with runner_pool as pool:
        pending: dict = {}

        def submit_examples(task: str, candidates: list[Candidate]) -> None:
            """One group's examples of a task, in chunks; the examples it has nothing to do for are settled."""
            if candidates is plans[task]:
                examples = remaining[task]
            else:
                examples = todo(task, candidates) if candidates else []
            sent = {(index, variant) for index, variant, _ in examples}
            settle(task, [key for key in keys[task] if key not in sent], scored=False)
            for chunk in chunks(examples, workers):
                pending[pool.submit(_score_chunk, (suite, manifest, task, candidates, chunk))] = (
                    task, [(index, variant) for index, variant, _ in chunk])  # what a chunk settles

        def submit_round(fit: RoundFit) -> None:
            for chunk, job in enumerate(fit.jobs()):
                pending[pool.submit(fit_round_job, job)] = (fit.task, ("round", fit, chunk))

        def fitted(task: str, group: list[Candidate], failures: list[dict], seconds: float) -> None:
            outcome.failures.extend(failures)
            outcome.fit_seconds[task] = max(outcome.fit_seconds.get(task, 0.0), seconds)
            submit_examples(task, group)  # a failed fit no longer poses its rows

        for task in plans:
            for group in groups[task]:
                if task not in fit_tasks or not any(needs_fit(c) for c in group):
                    submit_examples(task, group)
                elif spare and fits_in_rounds(group):  # workers to spare: the fit itself spread over them
                    submit_round(RoundFit(suite, manifest, task, [c for c in group if needs_fit(c)], workers,
                                          others=[c for c in group if not needs_fit(c)]))
                else:
                    pending[pool.submit(fit_task_job, (suite, manifest, task, group))] = (task, ("fit",))
        while pending:
            for future in pool.next_done(pending):
                task, what = pending.pop(future)
                if what[0] == "fit":  # a whole fit came back: its group's examples can go
                    group, failures, seconds = future.result()
                    fitted(task, group, failures, seconds)
                elif what[0] == "round":
                    _, fit, chunk = what
                    if fit.returned(chunk, future.result()):
                        if fit.merge():
                            fitted(task, fit.others + fit.candidates, fit.failures, fit.seconds)
                        else:
                            submit_round(fit)
                else:
                    store.add_clip_results(run_id, future.result())
                    settle(task, what, scored=True)
    return outcome

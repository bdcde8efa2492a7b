"""How a run hands out its work: fits in workers beside scoring, examples in chunks, a serial pool
that schedules like a parallel one, and the same scores whatever the worker count."""

from __future__ import annotations

import pytest

from harness.candidates import CANDIDATES
from harness.candidates.base import Candidate, Prediction
from harness.parallel import SerialPool, chunk_sizes
from harness.runner import run_suite
from harness.store import Store
from harness.suites import load_suite
from harness.tasks.examples import example_keys


class FitFails(Candidate):
    """Learns from the training split and fails: its failure is recorded, the other candidates run."""

    name = "fit-fails"
    tasks = ("eq",)

    def fit(self, train) -> None:
        raise RuntimeError(f"no curve from {len(train)} examples")

    def predict(self, query) -> Prediction:  # pragma: no cover - never fitted
        return Prediction(audio=query.audio)


class RoundFitFails(Candidate):
    """Learns in rounds (Candidate.fit_rounds) and fails in the first: whole, or on a chunk of the
    training split when a run spreads its fit over spare workers; the message says how many it saw."""

    name = "round-fit-fails"
    tasks = ("compressor",)
    fit_rounds = 1

    def fit(self, train) -> None:
        self.fit_in_rounds(train)

    def fit_round(self, round_index, train):
        raise RuntimeError(f"no part from {len(train)} examples")

    def predict(self, query) -> Prediction:  # pragma: no cover - never fitted
        return Prediction(audio=query.audio)


def test_chunks_shrink_to_single_examples_and_stay_small():
    assert chunk_sizes(5, 1) == [1] * 5  # one worker: nothing to send, one example at a time
    assert chunk_sizes(0, 4) == []
    assert chunk_sizes(3, 16) == [1, 1, 1]
    assert chunk_sizes(24, 2) == [3, 3, 3, 2, 2, 2, 2, 1, 1, 1, 1, 1, 1, 1]  # left / 8, rounded up
    big = chunk_sizes(480, 2)
    assert big[:10] == [8] * 10  # capped: an interrupted run loses at most 8 examples per worker
    assert big[-8:] == [1] * 8  # the end balances: both workers finish within one example of each other
    for jobs in range(1, 200):
        for workers in (2, 3, 4, 8, 16):
            sizes = chunk_sizes(jobs, workers)
            assert sum(sizes) == jobs and all(1 <= s <= 8 for s in sizes)
            assert sizes == sorted(sizes, reverse=True)
            assert len(sizes) >= min(jobs, workers)  # never fewer submissions than busy workers
            assert sizes[-min(jobs, workers):] == [1] * min(jobs, workers)


def test_a_warm_kernel_cache_is_not_warmed_again(tmp_path, monkeypatch):
    from harness import warmup

    monkeypatch.setenv("NUMBA_CACHE_DIR", str(tmp_path))
    compiles = []
    monkeypatch.setattr(warmup, "compile_kernels", lambda: compiles.append(1) or 0.25)
    assert warmup.ensure_kernels_cached() == 0.25
    assert warmup.ensure_kernels_cached() is None  # the stamp for this code says the cache is full
    assert len(compiles) == 1 and len(list(tmp_path.glob("warm-*"))) == 1
    monkeypatch.setattr("harness.environment.code_fingerprint", lambda: "0" * 64)  # the code changed
    assert warmup.ensure_kernels_cached() == 0.25 and len(compiles) == 2


def test_simulated_pool_lays_timed_jobs_out_on_workers_with_a_fake_clock():
    """SimulatedPool (the scaling benchmark's many-worker projection): FIFO on the first free worker,
    and a job released by another's result starts no earlier than that result."""
    from harness.parallel import SimulatedPool

    now = [0.0]

    def job(seconds: float, name: str) -> str:
        now[0] += seconds  # the job "takes" its seconds on the fake clock
        return name

    pool = SimulatedPool(2, clock=lambda: now[0])
    pending = {pool.submit(job, d, n): n for d, n in ((2.0, "a"), (1.0, "b"), (1.0, "c"))}
    order = []
    while pending:
        (future,) = pool.next_done(pending)
        order.append(pending.pop(future))
        if future.result() == "b":  # b's result releases d
            pending[pool.submit(job, 3.0, "d")] = "d"
    # a: 0-2 on one worker; b: 0-1 and c: 1-2 on the other; d released at 1, starts when a worker is
    # free (2), ends at 5
    assert order == ["b", "a", "c", "d"] or order == ["b", "c", "a", "d"]
    assert pool.makespan == 5.0 and pool.work == 7.0
    one = SimulatedPool(1, clock=lambda: now[0])
    for d in (1.0, 2.0, 3.0):
        one.submit(job, d, "x")
    assert one.makespan == 6.0 == one.work  # one worker: the sum


def test_serial_pool_runs_jobs_in_order_when_asked_and_delivers_errors():
    ran: list[int] = []

    def job(i: int) -> int:
        ran.append(i)
        if i == 2:
            raise ValueError("two")
        return i * 10

    pool = SerialPool()
    futures = [pool.submit(job, i) for i in range(4)]
    assert ran == []  # nothing runs until a result is asked for: each result is stored before the next job
    results = []
    pending = set(futures)
    while pending:
        for future in pool.next_done(pending):
            pending.discard(future)
            results.append(future.exception() or future.result())
    assert ran == [0, 1, 2, 3]
    assert [r if isinstance(r, int) else str(r) for r in results] == [0, 10, "two", 30]


def _scores(store: Store, run_id: str) -> dict:
    return {(r["task"], r["variant"], r["clip_id"], r["candidate"]): (r["metrics"], r["error"])
            for r in store.clip_results(run_id)}


@pytest.mark.slow(seconds=60)  # three runs of the smoke suite with a fitted candidate
def test_workers_score_exactly_what_one_does_with_fits_in_workers(smoke_home, smoke_corpus, tmp_path):
    """1 worker; 2 (the three tasks' fits keep both busy: each task's candidates go together once its
    fits return, fitted whole); 4 (more workers than fits: fits that can go in rounds are spread over
    the workers; where one cannot, eq's fit-fails, that task's candidates that need no fit are scored
    meanwhile, in a group of their own)."""
    with CANDIDATES.registered(FitFails.name, FitFails), CANDIDATES.registered(RoundFitFails.name, RoundFitFails):
        outcomes, scores = _run_with_workers(smoke_corpus, tmp_path, (1, 2, 4))
    serial = scores[0]
    # The same rows whatever the scheduling. Not bit for bit: workers run BLAS on one thread and this
    # process on several, which sums some of match's products in another order (1e-9 relative seen).
    for parallel in scores[1:]:
        assert serial.keys() == parallel.keys()
        for key, (metrics, error) in serial.items():
            assert error == parallel[key][1] and metrics.keys() == parallel[key][0].keys(), key
            for name, value in metrics.items():
                other = parallel[key][0][name]
                assert (value is None and other is None) or value == pytest.approx(other, rel=1e-7, abs=1e-12), (
                    key, name)
    assert {k[3] for k in serial} == {"bypass", "match", "oracle"}  # match was fitted (in a worker, for 2 and 4)
    train = len(example_keys(load_suite("smoke"), smoke_corpus, "compressor", "train"))
    for workers, outcome in zip((1, 2, 4), outcomes):
        failures = {f["candidate"]: f["error"] for f in outcome.failures}
        assert failures.keys() == {FitFails.name, RoundFitFails.name}
        assert failures[FitFails.name].startswith("fit failed: RuntimeError: no curve")  # whole, every time
        seen = chunk_sizes(train, workers)[0] if workers == 4 else train  # in rounds only with workers to spare
        assert failures[RoundFitFails.name] == f"fit failed: RuntimeError: no part from {seen} examples"
    assert chunk_sizes(train, 4)[0] < train


def _run_with_workers(smoke_corpus, tmp_path, counts):
    suite = load_suite("smoke")
    names = ["bypass", "match", "oracle", FitFails.name, RoundFitFails.name]
    outcomes, scores = [], []
    for workers in counts:
        store = Store(tmp_path / f"w{workers}.db")
        ticks: list[tuple[int, int]] = []
        outcome = run_suite(suite, smoke_corpus, names, store, workers=workers, fresh=True,
                            progress=lambda done, total, ticks=ticks: ticks.append((done, total)))
        outcomes.append(outcome)
        scores.append(_scores(store, outcome.run_id))
        total = ticks[-1][1]
        assert ticks[-1] == (total, total) and [d for d, _ in ticks] == sorted(d for d, _ in ticks)
        assert outcome.examples_scored == total  # every example of every task, in chunks
        store.close()
    return outcomes, scores


def test_scoring_workers_start_without_the_training_stack(tmp_path):
    """What a scoring worker imports (the runner, its job's candidates) and the warm-up leave torch, onnx,
    music21 and scipy.signal out: each would add seconds (scipy.signal, with the scipy.stats it pulls in,
    0.7 s) to every worker's start-up."""
    import subprocess
    import sys

    code = ("import sys, harness.runner, harness.candidates.match, harness.warmup as w; w.compile_kernels(); "
            "print(sorted(m for m in ('torch', 'onnx', 'onnxruntime', 'music21', 'pandas', 'scipy.signal', "
            "'scipy.stats') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True)
    assert out.stdout.strip() == "[]", out.stdout


WORKER_EXIT = """
import sys
from harness.parallel import process_pool

def job():
    print("written by a worker, never flushed by it")  # a pipe: block-buffered
    import atexit
    atexit.register(lambda: print("a library's exit handler ran"))
    return 7

if __name__ == "__main__":
    with process_pool(1) as pool:
        assert pool.submit(job).result() == 7
        processes = list(pool.executor._processes.values())
    print("codes", [p.exitcode for p in processes])
"""


def test_workers_leave_without_teardown_but_flush_and_run_exit_handlers(tmp_path):
    """A worker exits with os._exit after the other exit handlers (its interpreter teardown took up to
    0.8 s per pool shutdown): what it printed still arrives, libraries' exit handlers still run, and its
    exit status is 0."""
    import subprocess
    import sys

    script = tmp_path / "worker_exit.py"
    script.write_text(WORKER_EXIT)
    out = subprocess.run([sys.executable, str(script)], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert "written by a worker, never flushed by it" in out.stdout
    assert "a library's exit handler ran" in out.stdout
    assert "codes [0]" in out.stdout


def test_workers_run_their_libraries_on_one_thread(monkeypatch):
    """One process per core: BLAS/OpenMP pools inside each worker would only oversubscribe the cores."""
    import os

    from harness.parallel import process_pool

    monkeypatch.delenv("OPENBLAS_NUM_THREADS", raising=False)
    monkeypatch.setenv("OMP_NUM_THREADS", "3")  # an explicit setting wins
    with process_pool(1) as pool:
        seen = pool.submit(os.getenv, "OPENBLAS_NUM_THREADS").result(), pool.submit(os.getenv, "OMP_NUM_THREADS").result()
    assert seen == ("1", "3")
    assert "OPENBLAS_NUM_THREADS" not in os.environ and os.environ["OMP_NUM_THREADS"] == "3"  # the parent's restored


def test_numba_kernels_are_cached_in_the_cache_folder_unless_told_otherwise(tmp_path):
    """Workers find the warm-up's compiled kernels in `<cache>/numba`; an explicit NUMBA_CACHE_DIR wins."""
    import os
    import subprocess
    import sys

    code = "import numba, harness; from numba.core import config; print(config.CACHE_DIR)"
    env = {k: v for k, v in os.environ.items() if k != "NUMBA_CACHE_DIR"}
    env["DAWG_BENCH_HOME"] = str(tmp_path / "home")
    default = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert default.stdout.strip() == str(tmp_path / "home" / "numba")  # numba imported first: re-read
    env["NUMBA_CACHE_DIR"] = str(tmp_path / "mine")
    explicit = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert explicit.stdout.strip() == str(tmp_path / "mine")


class CountsInRounds(Candidate):
    """Learns how many training examples it saw, in `rounds` rounds (each round counts them again)."""

    name = "counts-in-rounds"
    tasks = ("eq",)

    def __init__(self, rounds: int = 1) -> None:
        self.fit_rounds = rounds
        self.seen: list[int] = []

    def fit(self, train) -> None:
        self.fit_in_rounds(train)

    def fit_round(self, round_index, train):
        assert round_index < self.fit_rounds  # never asked for a round it does not have
        return len(train)

    def fit_merge(self, round_index, parts) -> None:
        self.seen.append(sum(parts))

    def predict(self, query) -> Prediction:  # pragma: no cover - not scored here
        return Prediction(audio=query.audio)


def test_a_group_in_rounds_stops_each_candidate_after_its_own_last_round(smoke_corpus):
    from harness.fitting import RoundFit, fit_round_job

    suite = load_suite("smoke")
    one, two = CountsInRounds(1), CountsInRounds(2)
    fit = RoundFit(suite, smoke_corpus, "eq", [one, two], workers=4)
    done = False
    while not done:
        for chunk, job in enumerate(fit.jobs()):
            fit.returned(chunk, fit_round_job(job))
        done = fit.merge()
    train = len(example_keys(suite, smoke_corpus, "eq", "train"))
    assert fit.failures == [] and fit.candidates == [one, two]
    assert one.seen == [train] and two.seen == [train, train]

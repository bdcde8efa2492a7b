"""How a run scales across cores: serial time, per-worker start-up, the fitted serial fraction, parallel
efficiency, and each worker's peak memory.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_scaling.py --benchmark-enable -n 0 -p no:randomly

Each configuration runs `run_suite` on the demo suite (192 examples of 5 s: 48 eq, 48 compressor, 96
mastering; `DAWG_BENCH_SCALING_SUITE=smoke` for a 24-example check) with bypass, rules, match (fitted on
the training split) and oracle, in a child process of its own, so its time and memory are its own: the child's wall time of `run_suite` (`fresh`, so
nothing is resumed), its own peak RSS and its workers' (RUSAGE_CHILDREN: the largest worker).

- serial time: 1 worker (in the child's process, no pool);
- start-up: a fresh spawned worker until it has imported the scoring path and loaded its kernels (the
  warm-up's own work on its noise, timed again in the warmed worker, taken off), and the pool's
  shutdown once it is done;
- fitted serial fraction s (Amdahl): T(2) = T(1) (s + (1 - s) / 2), so s = 2 T(2) / T(1) - 1;
- efficiency on p workers: T(1) / (p T(p)), measured for 2 and, on a machine with more cores, for
  all of them; for 16 it is projected from s unless the machine has 16 cores, and labelled so;
- beside it, 16 workers **simulated**: the run's jobs timed one by one here and laid out on 16 simulated
  workers as the pool would (`harness.parallel.SimulatedPool`), plus one worker's measured start-up; the
  parent's own handling of the results (its wall time less the jobs') bounds it from below.
  Amdahl's fit from 1 and 2 workers cannot see a critical path that 2 workers hide (a long fit that
  holds 15 workers up); the simulation does, and it runs the scheduling 16 workers get (the
  candidates that need no fit scored during the fits, fits spread over workers in rounds).

Without --benchmark-enable (the test suite) only the start-up probe and the fit arithmetic run.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

import pytest

PROJECTED_WORKERS = 16
# Large enough that the fits of `match` (the serial part of a run) weigh as in a real one: on the smoke
# suite's 24 examples they made the serial fraction read 0.24.
SUITE = os.environ.get("DAWG_BENCH_SCALING_SUITE", "demo")
CANDIDATES = ["bypass", "rules", "match", "oracle"]

CHILD = """
import json, resource, sys, time
from harness.corpus.build import build_corpus
from harness.runner import run_suite
from harness.store import Store
from harness.suites import load_suite

def main():
    suite = load_suite(sys.argv[4])
    manifest = build_corpus(suite)
    store = Store(sys.argv[2])
    simulated = sys.argv[1].startswith("sim:")  # "sim:16": 16 simulated workers (SimulatedPool), in this process
    workers = int(sys.argv[1].removeprefix("sim:"))
    pool = None
    if simulated:
        from harness.parallel import SimulatedPool
        pool = SimulatedPool(workers)
    start = time.perf_counter()
    outcome = run_suite(suite, manifest, sys.argv[3].split(","), store, workers=workers, fresh=True, pool=pool)
    wall = time.perf_counter() - start
    seconds = pool.makespan if simulated else wall
    mib = lambda who: resource.getrusage(who).ru_maxrss / 1024
    json.dump({"seconds": seconds, "examples": outcome.examples_scored, "failures": len(outcome.failures),
               "parent_s": wall - pool.work if simulated else None,
               "longest_fit_s": max(outcome.fit_seconds.values(), default=0.0),
               "parent_rss_mib": mib(resource.RUSAGE_SELF), "worker_rss_mib": mib(resource.RUSAGE_CHILDREN)},
              sys.stdout)

if __name__ == "__main__":
    main()
"""

STARTUP = """
import json, time
start = time.perf_counter()
from harness.parallel import process_pool
from harness.warmup import compile_kernels
compile_kernels()  # the parent's warm-up: the cache is full, as in a run
with process_pool(1) as pool:
    begin = time.perf_counter()
    kernels = pool.submit(compile_kernels).result()  # import of the scoring path + kernel loads, in a worker
    probe = time.perf_counter() - begin
    # The warm-up also runs every kernel on 3.5 s of noise: work, not start-up. Timed again in the same
    # worker (everything loaded now) and taken off, so start-up is spawn + imports + kernel loads.
    work = pool.submit(compile_kernels).result()
    stop = time.perf_counter()
shutdown = time.perf_counter() - stop  # the pool's shutdown: the worker's exit
print(json.dumps({"startup_s": probe - work, "probe_s": probe, "warmup_work_s": work, "kernels_s": kernels - work,
                  "shutdown_s": shutdown}))
"""


def serial_fraction(t1: float, t2: float) -> float:
    """Amdahl's serial fraction from the times on 1 and 2 workers: T(2) = T(1) (s + (1 - s) / 2)."""
    return min(max(2.0 * t2 / t1 - 1.0, 0.0), 1.0)


def projected_efficiency(s: float, workers: int) -> float:
    """Amdahl's law: speed-up 1 / (s + (1 - s) / p), divided by p."""
    return 1.0 / (s + (1.0 - s) / workers) / workers




def _child(code: str, *args: str, env: dict) -> dict:
    out = subprocess.run([sys.executable, "-c", code, *args], capture_output=True, text=True, env=env, timeout=900)
    assert out.returncode == 0, out.stderr[-2000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_amdahl_fit_recovers_the_serial_fraction():
    for s in (0.0, 0.1, 0.35, 1.0):
        t1 = 100.0
        t2 = t1 * (s + (1 - s) / 2)
        assert serial_fraction(t1, t2) == pytest.approx(s)
        assert projected_efficiency(serial_fraction(t1, t2), 2) == pytest.approx(t1 / (2 * t2))
    assert projected_efficiency(0.0, PROJECTED_WORKERS) == pytest.approx(1.0)
    assert projected_efficiency(0.05, 16) == pytest.approx(1 / (0.05 + 0.95 / 16) / 16)


def test_worker_startup(benchmark, smoke_home):
    env = {**os.environ, "DAWG_BENCH_HOME": str(smoke_home)}
    probe = benchmark.pedantic(lambda: _child(STARTUP, env=env), rounds=1, iterations=1)
    assert 0 < probe["warmup_work_s"] < probe["probe_s"] and 0 < probe["kernels_s"] < probe["startup_s"]
    benchmark.extra_info.update(startup_s=round(probe["startup_s"], 3), kernel_loads_s=round(probe["kernels_s"], 3),
                                warmup_work_s=round(probe["warmup_work_s"], 3), shutdown_s=round(probe["shutdown_s"], 3))


@pytest.mark.slow(seconds=5)
@pytest.mark.timeout(1800)  # timed: four runs of the demo suite (the previous code took over 5 minutes)
def test_run_scaling(benchmark, benchmarking, smoke_home, smoke_corpus, tmp_path):
    if not benchmarking:
        pytest.skip("a scaling measurement: run with --benchmark-enable -n 0")
    # the smoke corpus is shared; another suite's is built (once) in this test's cache folder
    env = {**os.environ, "DAWG_BENCH_HOME": str(smoke_home)}
    counts = sorted({1, 2, os.cpu_count() or 1})

    def run(workers: int, suite: str = SUITE) -> dict:
        return _child(CHILD, str(workers), str(tmp_path / f"w{workers}-{time.time_ns()}.db"), ",".join(CANDIDATES),
                      suite, env=env)

    run(2, "smoke")  # kernel cache and OS caches warm before anything is timed (a corpus is built untimed)
    startup = _child(STARTUP, env=env)["startup_s"]
    results = {}
    for workers in counts:
        result = benchmark.pedantic(run, args=(workers,), rounds=1, iterations=1) if workers == 1 else run(workers)
        assert result["examples"] > 0 and result["failures"] == 0, result
        results[workers] = result
    t1, t2 = results[1]["seconds"], results[2]["seconds"]
    s = serial_fraction(t1, t2)
    info = {
        "serial_s": round(t1, 2),
        "two_workers_s": round(t2, 2),
        "serial_fraction": round(s, 3),
        "efficiency_2": round(t1 / (2 * t2), 3),
        "longest_fit_s": round(results[1]["longest_fit_s"], 2),
        "peak_rss_serial_mib": round(results[1]["parent_rss_mib"], 1),
        "peak_rss_per_worker_mib": round(results[2]["worker_rss_mib"], 1),
        "cores": os.cpu_count(),
        "suite": SUITE,
        "examples": results[1]["examples"],
    }
    if max(counts) > 2:
        p = max(counts)
        info[f"efficiency_{p}_measured"] = round(t1 / (p * results[p]["seconds"]), 3)
    if max(counts) >= PROJECTED_WORKERS:
        info[f"efficiency_{PROJECTED_WORKERS}"] = "measured above" if max(counts) == PROJECTED_WORKERS else None
    else:
        info[f"efficiency_{PROJECTED_WORKERS}_projected"] = round(projected_efficiency(s, PROJECTED_WORKERS), 3)
        sim = _child(CHILD, f"sim:{PROJECTED_WORKERS}", str(tmp_path / f"sim-{time.time_ns()}.db"),
                     ",".join(CANDIDATES), SUITE, env=env)
        assert sim["examples"] == results[1]["examples"] and sim["failures"] == 0, sim
        # The parent handles every result itself (the store, progress) while the workers compute: were
        # that longer than the jobs' makespan, the parent would set the pace. Its seconds in the simulated
        # run (its wall time less the jobs') are the bound.
        t_sim = max(sim["seconds"], sim["parent_s"]) + startup
        info[f"parent_handling_{PROJECTED_WORKERS}_s"] = round(sim["parent_s"], 2)
        info[f"time_{PROJECTED_WORKERS}_simulated_s"] = round(t_sim, 2)
        info[f"efficiency_{PROJECTED_WORKERS}_simulated"] = round(t1 / (PROJECTED_WORKERS * t_sim), 3)
        info["worker_startup_s"] = round(startup, 3)
    benchmark.extra_info.update(info)
    print(json.dumps(info, indent=1))

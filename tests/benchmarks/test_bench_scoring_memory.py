"""Memory of scoring one example, in copies of its clip: bounded, whatever the clip's length.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_scoring_memory.py --benchmark-enable -n 0

Per task, one example is scored the way a worker does (target-side preparation once, the damaged
input's distances, then one candidate's render and every distance), under tracemalloc, which sees
numpy's buffers. The peak of memory allocated during scoring, divided by the bytes of the stereo
float32 query, is the number of clip-sized copies it holds. That number must not grow with the
clip: a 2x longer clip may cost at most 10 % more copies (the assert; fixed-size buffers make short
clips read slightly higher). The benchmark run reports the copies on 10 s and 30 s clips per task;
the test suite checks the bound on 2 s and 4 s.
"""

from __future__ import annotations

import gc
import tracemalloc

import pytest

from harness.candidates import get_candidate
from harness.corpus.synth import STYLES, render_arrangement
from harness.finishing import finish_mix
from harness.metrics.distances import OutputAnalysis
from harness.runner import input_distances, output_meter, prepare_against, score_output
from harness.suites import load_suite
from harness.tasks import get_task
from harness.tasks.base import resolve_params, task_rng

SR = 48000
GROWTH_ALLOWED = 1.10


def _example(task: str, seconds: float):
    mod = get_task(task)
    clips = [finish_mix(f"m{i}", render_arrangement(500 + i, STYLES[g], seconds, SR), SR, genre=g)[0]
             for i, g in enumerate(["pop", "rock"])]
    return mod.make_example(clips[0], resolve_params(mod.defaults, {}, task), task_rng(task, "m0", 0),
                            partner=clips[1])


def _copies_held(task: str, seconds: float) -> float:
    cfg = load_suite("release").tasks[task]
    example = _example(task, seconds)
    candidate = get_candidate("rules")
    score_once = lambda: _score(example, cfg, candidate)
    score_once()  # kernels compiled and caches filled outside the measurement
    gc.collect()  # the warm-up's prepared target sits in a reference cycle: freed now, not during the measurement
    tracemalloc.start()
    try:
        score_once()
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return peak / example.query.audio.astype("float32").nbytes


def _score(example, cfg, candidate) -> None:
    against = prepare_against(example, cfg.metrics)
    d_input = input_distances(example, cfg.metrics, against)
    output = candidate.predict_example(example).render(example.query)
    analysis = OutputAnalysis(output, example.query.sample_rate)
    score_output(output, example, cfg.metrics, d_input, against, analysis)
    for meter in cfg.output_meters:
        output_meter(meter, analysis)


@pytest.mark.parametrize("task", ["eq", "compressor", "mastering"])
def test_scoring_holds_a_bounded_number_of_copies(benchmark, benchmarking, task):
    short, long = (10.0, 30.0) if benchmarking else (2.0, 4.0)
    copies = {}

    def measure() -> None:
        copies.update({s: _copies_held(task, s) for s in (short, long)})

    benchmark.pedantic(measure, rounds=1, iterations=1)
    benchmark.extra_info.update({f"copies_{s:g}s": round(c, 1) for s, c in copies.items()})
    assert copies[long] <= GROWTH_ALLOWED * copies[short], copies

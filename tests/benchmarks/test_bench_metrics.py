"""Speed of every meter and distance on 60 s of stereo 48 kHz programme, as x real time.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_metrics.py --benchmark-enable
pyloudnorm's integrated loudness and auraloss's MR-STFT are measured here too, for comparison.
Each test stores ``x_realtime`` (audio seconds per compute second) in benchmark.extra_info;
with the project's default --benchmark-disable the function runs once and no stats exist,
so the figure is then taken from that single timed call.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

import harness.metrics as metrics
from harness.metrics import list_distances, list_meters, loudness_stats, measure_all

SR = 48000
SECONDS = 60.0


def _programme(seed: int) -> np.ndarray:
    """60 s stereo float32: tones with tremolo, pulsing noise and a level ramp (not stationary)."""
    rng = np.random.default_rng(seed)
    n = int(SECONDS * SR)
    t = np.arange(n) / SR
    x = np.zeros((2, n))
    for _ in range(8):
        freq = rng.uniform(40, 6000)
        env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 4.0) * t + rng.uniform(0, 6))
        for c in range(2):
            x[c] += rng.uniform(0.02, 0.15) * env * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6))
    x += 0.05 * rng.standard_normal((2, n)) * (1.1 + np.sin(2 * np.pi * 2.0 * t)) ** 3
    x *= np.linspace(0.4, 1.0, n)
    return (x / np.abs(x).max() * 0.9).astype(np.float32)


@pytest.fixture(scope="module")
def audio() -> np.ndarray:
    return _programme(1)


@pytest.fixture(scope="module")
def target() -> np.ndarray:
    return _programme(2)


def _run(benchmark, fn, *args):
    fn(*args)  # compile numba kernels / warm caches outside the timing
    start = time.perf_counter()
    result = benchmark(fn, *args)
    single = time.perf_counter() - start
    stats = getattr(benchmark, "stats", None)
    inner = getattr(stats, "stats", None)
    seconds = getattr(inner, "mean", None) or single
    benchmark.extra_info["x_realtime"] = round(SECONDS / seconds, 1)
    benchmark.extra_info["seconds_per_call"] = seconds
    return result


@pytest.mark.parametrize("name", sorted(s.name for s in list_meters()))
def test_meter_speed(benchmark, audio, name):
    _run(benchmark, getattr(metrics, name), audio, SR)


@pytest.mark.parametrize("name", sorted(s.name for s in list_distances()))
def test_distance_speed(benchmark, audio, target, name):
    _run(benchmark, getattr(metrics, name), audio, target, SR)


def test_loudness_stats_one_pass_speed(benchmark, audio):
    """Integrated, LRA, max M/S, true/sample peak, crest, PLR: one K-weighting pass + one true-peak pass."""
    _run(benchmark, loudness_stats, audio, SR)


def test_measure_all_speed(benchmark, audio):
    _run(benchmark, measure_all, audio, SR)


def test_reference_pyloudnorm_integrated_speed(benchmark, audio):
    pyloudnorm = pytest.importorskip("pyloudnorm")
    meter = pyloudnorm.Meter(SR)
    data = np.ascontiguousarray(audio.T, dtype=np.float64)
    _run(benchmark, meter.integrated_loudness, data)


def test_reference_auraloss_mrstft_speed(benchmark, audio, target):
    torch = pytest.importorskip("torch")
    auraloss = pytest.importorskip("auraloss")
    loss = auraloss.freq.MultiResolutionSTFTLoss()
    out = torch.from_numpy(audio[None])
    tgt = torch.from_numpy(target[None])

    def run():
        with torch.no_grad():
            return float(loss(out, tgt))

    _run(benchmark, run)

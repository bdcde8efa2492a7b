"""Speed of every meter and distance on 60 s of stereo 48 kHz programme, as x real time.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_metrics.py --benchmark-enable -n 0
pyloudnorm's integrated loudness and auraloss's MR-STFT are timed here too, for comparison.
Each test stores ``x_realtime`` (audio seconds per compute second) in benchmark.extra_info.
With the project's default --benchmark-disable (or under xdist) each test is a smoke test: the
function runs once on 4 s of programme, its result is checked (finite, equal to the registry's
Measurement, the references agree with ours) and the reference libraries are not timed.
"""

from __future__ import annotations

import time

import numpy as np
import pytest

from harness.metrics import get_metric, list_distances, list_meters, loudness_stats, measure, measure_all

SR = 48000
SECONDS = 60.0
SMOKE_SECONDS = 4.0  # whole 100 ms steps, and long enough for short-term loudness and LRA (3 s)


def _programme(seed: int, seconds: float) -> np.ndarray:
    """Stereo float32: tones with tremolo, pulsing noise and a level ramp (not stationary)."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
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
def seconds(benchmarking) -> float:
    return SECONDS if benchmarking else SMOKE_SECONDS


@pytest.fixture(scope="module")
def audio(seconds) -> np.ndarray:
    return _programme(1, seconds)


@pytest.fixture(scope="module")
def target(seconds) -> np.ndarray:
    return _programme(2, seconds)


def _run(benchmark, benchmarking, seconds, fn, *args):
    if benchmarking:
        fn(*args)  # compile numba kernels / warm caches outside the timing
    start = time.perf_counter()
    result = benchmark(fn, *args)
    single = time.perf_counter() - start
    stats = getattr(benchmark, "stats", None)
    inner = getattr(stats, "stats", None)
    per_call = getattr(inner, "mean", None) or single
    benchmark.extra_info["x_realtime"] = round(seconds / per_call, 1)
    benchmark.extra_info["seconds_per_call"] = per_call
    return result


def _finite_values(value) -> np.ndarray:
    values = np.atleast_1d(np.asarray(getattr(value, "levels_db", value), dtype=np.float64))
    assert values.size and np.all(np.isfinite(values)), value
    return values


@pytest.mark.parametrize("name", sorted(s.name for s in list_meters()))
def test_meter_speed(benchmark, benchmarking, seconds, audio, name):
    result = _run(benchmark, benchmarking, seconds, get_metric(name).fn, audio, SR)
    expected = measure(name, audio, SR)
    assert expected.ok, expected.reason
    np.testing.assert_allclose(_finite_values(result), _finite_values(expected.value), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(s.name for s in list_distances()))
def test_distance_speed(benchmark, benchmarking, seconds, audio, target, name):
    result = _run(benchmark, benchmarking, seconds, get_metric(name).fn, audio, target, SR)
    assert np.isfinite(result) and result > 0, result  # two different programmes
    assert result == measure(name, audio, target, SR).value


def test_loudness_stats_one_pass_speed(benchmark, benchmarking, seconds, audio):
    """Integrated, LRA, max M/S, true/sample peak, crest, PLR: one K-weighting pass + one true-peak pass."""
    stats = _run(benchmark, benchmarking, seconds, loudness_stats, audio, SR)
    assert stats.integrated_lufs == pytest.approx(measure("integrated_lufs", audio, SR).value, abs=1e-9)
    assert stats.true_peak_dbtp == pytest.approx(measure("true_peak_dbtp", audio, SR).value, abs=1e-9)
    assert stats.true_peak_dbtp >= stats.sample_peak_dbfs and stats.loudness_range_lu > 0


def test_measure_all_speed(benchmark, benchmarking, seconds, audio):
    every = _run(benchmark, benchmarking, seconds, measure_all, audio, SR)
    assert set(every) == {s.name for s in list_meters()}
    for name, m in every.items():
        assert m.ok, (name, m.reason)
        _finite_values(m.value)


def test_reference_pyloudnorm_integrated_speed(benchmark, benchmarking, seconds, audio):
    """pyloudnorm with BS.1770's own K-weighting ('DeMan') on whole 100 ms steps: the same number as ours."""
    pyloudnorm = pytest.importorskip("pyloudnorm")
    meter = pyloudnorm.Meter(SR, filter_class="DeMan")
    data = np.ascontiguousarray(audio.T, dtype=np.float64)
    theirs = _run(benchmark, benchmarking, seconds, meter.integrated_loudness, data)
    assert theirs == pytest.approx(measure("integrated_lufs", audio, SR).value, abs=1e-6)


def test_reference_auraloss_mrstft_speed(benchmark, benchmarking, seconds, audio, target):
    """auraloss's default MR-STFT loss agrees with ours within float32 error (both compute float32 STFTs;
    ~1e-5 relative on seconds of audio, tests/test_metrics_distances.py; it grows with length)."""
    torch = pytest.importorskip("torch")
    auraloss = pytest.importorskip("auraloss")
    loss = auraloss.freq.MultiResolutionSTFTLoss()
    out = torch.from_numpy(audio[None])
    tgt = torch.from_numpy(target[None])

    def run():
        with torch.no_grad():
            return float(loss(out, tgt))

    theirs = _run(benchmark, benchmarking, seconds, run)
    assert theirs == pytest.approx(measure("mrstft_distance", audio, target, SR).value, rel=5e-4)

"""Speed of each renderer and of the mastering chain on 60 s of stereo 48 kHz float32, as x real time.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_dsp.py --benchmark-enable -n 0 -p no:randomly
Goal: the full chain (EQ -> compressor -> true-peak limiter) at >= 1000x real time on one core.
Absolute speeds depend on the machine, so the goal is a ratio measured in one run: a pedalboard
chain (6 JUCE biquads -> Compressor -> Gain -> Limiter, ~260x real time on the reference VM) is
timed beside ours, and 1000x there is GOAL_RATIO_VS_PEDALBOARD = 1000 / 260 ~ 3.8 times faster.
The test asserts MIN_RATIO_VS_PEDALBOARD (now the goal itself, held with margin), so a
regression fails; ``meets_goal`` in extra_info says whether this run reached the goal.
Each test stores ``x_realtime`` (audio seconds per compute second of the mean call) in
benchmark.extra_info, the chain also ``x_vs_pedalboard``. Under the project's default
--benchmark-disable (or under xdist) each test is a smoke test: the function runs once on 2 s of
audio and its output is checked (the EQ against scipy's sosfilt, the limiter and the chain against
their ceiling); pedalboard is not timed.
"""

from __future__ import annotations

import time

import numpy as np
import pytest
from scipy.signal import sosfilt

from harness.dsp import EQ, Compressor, HighShelf, LowShelf, MasteringChain, Peak, TruePeakLimiter

SR = 48000
SECONDS = 60.0
SMOKE_SECONDS = 2.0
GOAL_X_REALTIME = 1000.0
GOAL_RATIO_VS_PEDALBOARD = 3.8
MIN_RATIO_VS_PEDALBOARD = GOAL_RATIO_VS_PEDALBOARD  # held: 4.7-4.8 measured (was 3.0 asserted, ~3.7 held)

EQ_SETTINGS = EQ(
    low_shelf=LowShelf(100.0, 3.0),
    peak1=Peak(250.0, -2.0, 1.2),
    peak2=Peak(1000.0, 1.5, 0.8),
    peak3=Peak(3000.0, -3.0, 2.0),
    peak4=Peak(8000.0, 2.0, 1.0),
    high_shelf=HighShelf(12000.0, 2.0),
)
COMPRESSOR = Compressor(threshold_db=-20.0, ratio=3.0, knee_db=6.0, attack_ms=5.0, release_ms=80.0, makeup_db=2.0)
LIMITER = TruePeakLimiter(ceiling_dbtp=-1.0, release_ms=50.0, lookahead_ms=2.0)
CHAIN = MasteringChain(eq=EQ_SETTINGS, compressor=COMPRESSOR, limiter=LIMITER)


def _music(seed: int, seconds: float) -> np.ndarray:
    """Noise-like music: stereo pink noise with a 2 Hz pulse and a slow swell, peaks at +3 dBFS,
    so the compressor and the limiter both work all the time."""
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[1]), 1))[None, :]
    x = np.fft.irfft(spectrum, n, axis=1)
    t = np.arange(n) / SR
    x *= (1.2 + np.sin(2 * np.pi * 2.0 * t) ** 2) * (0.6 + 0.4 * np.sin(2 * np.pi * t / 20.0))
    return (x / np.abs(x).max() * 1.4).astype(np.float32)


@pytest.fixture(scope="module")
def audio(benchmarking) -> np.ndarray:
    return _music(1, SECONDS if benchmarking else SMOKE_SECONDS)


def _run(benchmark, fn, audio):
    seconds = audio.shape[1] / SR
    fn(np.ascontiguousarray(audio[:, :SR]), SR)  # compile / load the numba kernels outside the timing
    start = time.perf_counter()
    result = benchmark(fn, audio, SR)
    single = time.perf_counter() - start
    stats = getattr(benchmark, "stats", None)
    inner = getattr(stats, "stats", None)
    mean = getattr(inner, "mean", None) or single
    benchmark.extra_info["x_realtime"] = round(seconds / mean, 1)
    benchmark.extra_info["seconds_per_call"] = mean
    if inner is not None:
        benchmark.extra_info["x_realtime_best"] = round(seconds / inner.min, 1)
    return result, inner


def _rendered(out: np.ndarray, audio: np.ndarray) -> np.ndarray:
    assert out.shape == audio.shape and out.dtype == audio.dtype
    assert np.all(np.isfinite(out))
    return out


def _block_levels_db(x: np.ndarray) -> np.ndarray:
    n = SR // 10
    blocks = x[:, : x.shape[1] // n * n].astype(np.float64).reshape(x.shape[0], -1, n)
    return 10 * np.log10(np.mean(blocks**2, axis=(0, 2)))


def _true_peak_dbtp(x: np.ndarray) -> float:
    from harness.metrics import measure

    return measure("true_peak_dbtp", x, SR).value


def test_eq_speed(benchmark, audio):
    out = _rendered(_run(benchmark, EQ_SETTINGS.render, audio)[0], audio)
    # The same six biquads run by scipy (sections are [b0, b1, b2, a1, a2]; scipy wants a0 = 1 too).
    sections = EQ_SETTINGS.sections(SR)
    sos = np.hstack([sections[:, :3], np.ones((len(sections), 1)), sections[:, 3:]])
    np.testing.assert_allclose(out, sosfilt(sos, audio.astype(np.float64), axis=1), rtol=0, atol=1e-5)


def test_compressor_speed(benchmark, audio):
    out = _rendered(_run(benchmark, COMPRESSOR.render, audio)[0], audio)
    # It compresses: 100 ms levels spread much less, and the gain never exceeds the make-up gain.
    assert np.std(_block_levels_db(out)) < 0.75 * np.std(_block_levels_db(audio))
    assert COMPRESSOR.gain_db(audio, SR).max() <= COMPRESSOR.makeup_db + 1e-6


def test_limiter_speed(benchmark, audio):
    out = _rendered(_run(benchmark, LIMITER.render, audio)[0], audio)
    assert np.abs(out).max() <= 10 ** (LIMITER.ceiling_dbtp / 20)
    assert _true_peak_dbtp(out) <= LIMITER.ceiling_dbtp + 0.1


def test_mastering_chain_speed(benchmark, benchmarking, audio):
    out, inner = _run(benchmark, CHAIN.render, audio)
    _rendered(out, audio)
    assert _true_peak_dbtp(out) <= LIMITER.ceiling_dbtp + 0.1
    if not benchmarking:  # a smoke run: no timing claims, pedalboard not timed
        return
    board = _pedalboard_chain()
    board(audio, SR)
    theirs = min(_timed(board, audio) for _ in range(3))
    ratio = theirs / inner.min
    benchmark.extra_info["x_vs_pedalboard"] = round(ratio, 2)
    benchmark.extra_info["meets_goal"] = bool(ratio >= GOAL_RATIO_VS_PEDALBOARD)
    assert ratio >= MIN_RATIO_VS_PEDALBOARD, f"chain only {ratio:.2f}x pedalboard's speed in this run"


def _timed(fn, audio) -> float:
    start = time.perf_counter()
    fn(audio, SR)
    return time.perf_counter() - start


def _pedalboard_chain():
    pedalboard = pytest.importorskip("pedalboard", reason="pedalboard (the '.[peers]' extra) is not installed")
    return pedalboard.Pedalboard(
        [
            pedalboard.LowShelfFilter(cutoff_frequency_hz=100.0, gain_db=3.0, q=2**-0.5),
            pedalboard.PeakFilter(cutoff_frequency_hz=250.0, gain_db=-2.0, q=1.2),
            pedalboard.PeakFilter(cutoff_frequency_hz=1000.0, gain_db=1.5, q=0.8),
            pedalboard.PeakFilter(cutoff_frequency_hz=3000.0, gain_db=-3.0, q=2.0),
            pedalboard.PeakFilter(cutoff_frequency_hz=8000.0, gain_db=2.0, q=1.0),
            pedalboard.HighShelfFilter(cutoff_frequency_hz=12000.0, gain_db=2.0, q=2**-0.5),
            pedalboard.Compressor(threshold_db=-20.0, ratio=3.0, attack_ms=5.0, release_ms=80.0),
            pedalboard.Gain(gain_db=2.0),
            pedalboard.Limiter(threshold_db=-1.0, release_ms=50.0),
        ]
    )


def test_pedalboard_chain_speed(benchmark, audio):
    """Same settings in pedalboard for comparison (its compressor and limiter are not the same
    algorithms: JUCE's ballistics, and a sample-peak limiter without true-peak detection)."""
    board = _pedalboard_chain()

    def render(x, sr):
        return board(x, sr)

    out = _rendered(_run(benchmark, render, audio)[0], audio)
    assert np.abs(out).max() < np.abs(audio).max() and np.abs(out).max() <= 1.0  # its limiter worked

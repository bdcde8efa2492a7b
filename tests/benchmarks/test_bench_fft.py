"""The MR-STFT's FFTs: the lane FFT (harness/metrics/lane_fft.py, 64 frames per SIMD loop) against scipy's
pocketfft (what it replaced), both float32, every frame of a 10 s stereo clip at auraloss's three resolutions.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_fft.py --benchmark-enable -n 0
The lane FFT is timed from the signal (windowing and the powers included); pocketfft from frames already
windowed and zero-padded, spectra only, so the comparison flatters pocketfft. Each stores ``x_realtime``.
Without --benchmark-enable each runs once on 1 s and the two agree within float32 rounding.
"""

from __future__ import annotations

import numpy as np
import pytest
import scipy.fft

from harness.corpus.synth import STYLES, render_arrangement
from harness.metrics.distances import AURALOSS_RESOLUTIONS
from harness.metrics.lane_fft import LANES, block_count, block_powers, frame_plan

SR = 48000


@pytest.fixture(scope="module")
def seconds(benchmarking) -> float:
    return 10.0 if benchmarking else 1.0


@pytest.fixture(scope="module")
def clip(seconds) -> np.ndarray:
    return render_arrangement(301, STYLES["rock"], seconds, SR)


def _lane_powers(clip: np.ndarray) -> list[np.ndarray]:
    out = []
    for resolution in AURALOSS_RESOLUTIONS:
        plan = frame_plan(*resolution)
        frames = plan.frame_count(clip.shape[1])
        re = np.empty((plan.fft_size // 2, LANES), dtype=np.float32)
        im = np.empty_like(re)
        for channel in clip:
            powers = np.empty((block_count(frames), plan.bins, LANES), dtype=np.float32)
            for b in range(block_count(frames)):
                block_powers(channel, b * LANES, min(LANES, frames - b * LANES), *plan.kernel_args(), re, im, powers[b])
            out.append(powers)
    return out


def _windowed_frames(clip: np.ndarray) -> list[np.ndarray]:
    """torch.stft's frames, windowed (float32) and zero-padded at the end: pocketfft's input."""
    out = []
    for fft, hop, win in AURALOSS_RESOLUTIONS:
        window = np.zeros(fft, dtype=np.float32)
        window[:win] = frame_plan(fft, hop, win).window
        for channel in clip:
            padded = np.pad(channel.astype(np.float32), fft // 2, mode="reflect")[(fft - win) // 2 :]
            frames = np.lib.stride_tricks.sliding_window_view(padded, fft)[::hop][: 1 + clip.shape[1] // hop]
            out.append(frames * window)
    return out


def _pocketfft(frames: list[np.ndarray]) -> list[np.ndarray]:
    return [scipy.fft.rfft(f, axis=1, workers=1) for f in frames]


@pytest.mark.parametrize("engine", ["lane", "pocketfft"])
def test_mrstft_fft_speed(benchmark, benchmarking, seconds, clip, engine):
    if engine == "lane":
        fn, arg = _lane_powers, clip
    else:
        fn, arg = _pocketfft, _windowed_frames(clip)
    result = benchmark.pedantic(fn, args=(arg,), rounds=20 if benchmarking else 1, warmup_rounds=1)
    stats = getattr(getattr(benchmark, "stats", None), "stats", None)
    if stats is not None:
        benchmark.extra_info["x_realtime"] = round(seconds / stats.mean, 1)
    if engine == "lane":  # the lane powers are pocketfft's, within float32 rounding (per frame, of its largest bin)
        for lanes, spectra in zip(result, _pocketfft(_windowed_frames(clip))):
            powers = lanes.transpose(0, 2, 1).reshape(-1, lanes.shape[1])[: len(spectra)]
            expected = np.abs(spectra.astype(np.complex128)) ** 2
            error = np.abs(powers - expected).max(axis=1) / np.maximum(expected.max(axis=1), 1e-30)
            assert error.max() < 1e-5

"""The lane FFT behind the MR-STFT (harness/metrics/lane_fft.py): torch.stft's framing (reflect padding done on
the fly, the window's samples split by parity into the complex half-length frame, the zeros after them
known to the transform instead of written) and float32 powers within
float32 rounding of a float64 FFT, for every transform shape the kernels take (a power of 4 and not, odd
windows, a last block with few frames)."""

from __future__ import annotations

import numpy as np
import pytest

from harness.metrics.lane_fft import LANES, block_count, block_powers, frame_plan, load_frames

# (fft, hop, win): auraloss's three (half lengths 512 = 2 * 4^4, 1024 = 4^5, 256 = 4^4), the smallest plans
# of each kind, an odd window, a window filling the frame.
PLANS = [(1024, 120, 600), (2048, 240, 1200), (512, 50, 240), (8, 1, 8), (16, 3, 9), (32, 5, 32), (64, 7, 33)]


def _torch_frames(x: np.ndarray, fft: int, hop: int, win: int) -> np.ndarray:
    """torch.stft(center=True, pad_mode="reflect") frames, windowed (float32 products), window centred."""
    padded = np.pad(x.astype(np.float32), fft // 2, mode="reflect")
    window = frame_plan(fft, hop, win).window
    first = (fft - win) // 2
    frames = 1 + len(x) // hop
    return np.stack([padded[first + f * hop : first + f * hop + win] * window for f in range(frames)])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("fft, hop, win", PLANS[:3] + [(16, 3, 9)])
def test_frames_are_the_reflect_padded_windowed_samples_split_by_parity(dtype, fft, hop, win):
    x = np.random.default_rng(2).standard_normal(5000).astype(dtype)
    expected = _torch_frames(x, fft, hop, win)
    plan = frame_plan(fft, hop, win)
    re = np.full((fft // 2, LANES), np.nan, dtype=np.float32)
    im = re.copy()
    for start in (0, len(expected) - 5):  # the first block (reflected starts) and a short last one
        rows = min(LANES, len(expected) - start)
        load_frames(x, plan.first, hop, start, rows, plan.window, re, im)
        interleaved = np.empty((fft, LANES), dtype=np.float32)
        interleaved[0::2], interleaved[1::2] = re, im
        np.testing.assert_array_equal(interleaved[:win, :rows].T, expected[start : start + rows])  # same products
        assert not interleaved[:win, rows:].any()  # silence in the lanes past the last frame
        # The points after the window are zeros the transform never reads; they are left as they were.
        assert np.isnan(interleaved[2 * ((win + 1) // 2) :]).all()


@pytest.mark.parametrize("fft, hop, win", PLANS)
def test_powers_equal_a_float64_fft_within_float32_rounding(fft, hop, win):
    x = np.random.default_rng(fft + win).standard_normal(6000) * np.linspace(0.01, 1.0, 6000)
    frames = _torch_frames(x, fft, hop, win).astype(np.float64)
    expected = np.abs(np.fft.rfft(frames, n=fft, axis=1)) ** 2
    plan = frame_plan(fft, hop, win)
    re = np.empty((fft // 2, LANES), dtype=np.float32)
    im = np.empty_like(re)
    powers = np.empty((plan.bins, LANES), dtype=np.float32)
    got = np.empty_like(expected)
    assert block_count(len(frames)) == -(-len(frames) // LANES)
    for b in range(block_count(len(frames))):
        rows = min(LANES, len(frames) - b * LANES)
        block_powers(x, b * LANES, rows, *plan.kernel_args(), re, im, powers)
        got[b * LANES : b * LANES + rows] = powers[:, :rows].T
        assert not powers[:, rows:].any()  # lanes past the last frame transform silence
    # Per frame, relative to its largest power: float32 rounding of a log2(fft)-stage transform (scipy's
    # float32 pocketfft: 1.0e-7 to 2.2e-7 on the same frames; measured here up to 2.9e-7).
    error = np.abs(got - expected).max(axis=1) / expected.max(axis=1)
    assert error.max() < 1e-6


def test_plans_reject_what_the_kernels_cannot_transform():
    for bad in [(1000, 100, 500), (4, 1, 4), (512, 0, 240), (512, 50, 0), (512, 50, 513)]:
        with pytest.raises(ValueError, match="bad STFT resolution"):
            frame_plan(*bad)

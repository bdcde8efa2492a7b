"""Blocked STFT-magnitude comparison: the sums behind spectral convergence and log-magnitude L1.

Framing reproduces ``torch.stft(x, n_fft, hop, win_length, hann_window(win_length),
center=True, pad_mode="reflect")`` as auraloss 0.4.0 calls it: the signal is
reflect-padded by n_fft // 2 on both sides, frame f starts at f * hop, there are
1 + T // hop frames, and the periodic Hann window of win_length sits centred in
the n_fft frame. Only magnitudes are compared, so each frame is FFT'd as the
win_length windowed samples zero-padded at the end: a circular shift of torch's
centred frame, which changes phases only.

Frames are processed in blocks that stay in cache, both signals at once, and a
numba kernel reduces each block to three sums without ever forming the phase.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
from numba import njit

__all__ = ["MagnitudeSums", "periodic_hann", "stft_frame_count", "multi_resolution_magnitude_sums", "TargetPowers",
           "target_powers", "magnitude_sums_against"]

_BLOCK_BINS = 1 << 16  # frames per block * bins per frame: ~1 MiB of complex128 per signal, cache-sized
# numpy >= 2 can write an FFT into a preallocated array, saving an allocation per block.
_RFFT_HAS_OUT = np.lib.NumpyVersion(np.__version__) >= "2.0.0"


def _rfft_rows(frames: np.ndarray, out: np.ndarray) -> np.ndarray:
    if _RFFT_HAS_OUT:
        return np.fft.rfft(frames, axis=1, out=out)
    return scipy.fft.rfft(frames, axis=1)


@lru_cache(maxsize=16)
def periodic_hann(length: int) -> np.ndarray:
    """torch.hann_window(length) (periodic=True): 0.5 - 0.5 cos(2 pi n / length)."""
    n = np.arange(length)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)
    window.setflags(write=False)
    return window


def stft_frame_count(n_samples: int, hop: int) -> int:
    """Frames torch.stft(center=True) yields for an even n_fft."""
    return 1 + n_samples // hop


@dataclass(frozen=True)
class MagnitudeSums:
    """Sums over every channel, frame and bin of magnitudes m = sqrt(max(|X|^2, eps))."""

    squared_difference: float  # sum (m_out - m_target)^2
    squared_target: float  # sum m_target^2
    abs_log_difference: float  # sum |log m_out - log m_target|
    count: int  # number of (channel, frame, bin) elements

    @property
    def spectral_convergence(self) -> float:
        return float(np.sqrt(self.squared_difference) / np.sqrt(self.squared_target))

    @property
    def log_magnitude_l1(self) -> float:
        return self.abs_log_difference / self.count


@njit(cache=True, error_model="numpy", fastmath=True)
def _block_sums_against_power(spec_out, p_target, eps, log_ratio_buf):
    # spec_out: complex spectra viewed as interleaved float64 (re, im); p_target: max(|X_t|^2, eps).
    # |log m_o - log m_t| = 0.5 * log(max(p_o/p_t, p_t/p_o)); the ratios go to a buffer for
    # numpy's SIMD log (numba has no vector log without SVML).
    rows = spec_out.shape[0]
    bins = spec_out.shape[1] // 2
    squared_difference = 0.0
    squared_target = 0.0
    for r in range(rows):
        for k in range(bins):
            o_re = spec_out[r, 2 * k]
            o_im = spec_out[r, 2 * k + 1]
            p_o = max(o_re * o_re + o_im * o_im, eps)
            p_t = p_target[r, k]
            d = np.sqrt(p_o) - np.sqrt(p_t)
            squared_difference += d * d
            squared_target += p_t
            log_ratio_buf[r, k] = max(p_o / p_t, p_t / p_o)
    return squared_difference, squared_target


@njit(cache=True, error_model="numpy", fastmath=True)
def _block_sums(spec_out, spec_target, eps, log_ratio_buf, power_buf):
    # spec_* are complex spectra viewed as interleaved float64 (re, im) pairs. The target's clamped
    # power goes to a cache-sized buffer; the comparison itself is _block_sums_against_power's.
    rows = spec_target.shape[0]
    bins = spec_target.shape[1] // 2
    for r in range(rows):
        for k in range(bins):
            t_re = spec_target[r, 2 * k]
            t_im = spec_target[r, 2 * k + 1]
            power_buf[r, k] = max(t_re * t_re + t_im * t_im, eps)
    return _block_sums_against_power(spec_out, power_buf[:rows], eps, log_ratio_buf)


def _reflect_padded(x: np.ndarray, pad: int) -> np.ndarray:
    """float64 copy of x with ``pad`` reflected samples each side (numpy/torch "reflect")."""
    n = x.shape[0]
    out = np.empty(n + 2 * pad)
    out[pad : pad + n] = x
    out[:pad] = x[pad:0:-1]
    out[pad + n :] = x[-2::-1][:pad]
    return out


def multi_resolution_magnitude_sums(
    output: np.ndarray,
    target: np.ndarray,
    resolutions: tuple[tuple[int, int, int], ...],
    eps: float = 1e-8,
) -> list[MagnitudeSums]:
    """Magnitude-comparison sums of two (channels, samples) signals, one per (fft, hop, win).

    Needs samples > max(fft) // 2 (reflect padding), as torch.stft does.
    """
    if output.shape != target.shape:
        raise ValueError(f"output {output.shape} and target {target.shape} differ in shape")
    for fft_size, hop, win_length in resolutions:
        if fft_size % 2 or not 0 < win_length <= fft_size or hop < 1:
            raise ValueError(f"bad STFT resolution (fft={fft_size}, hop={hop}, win={win_length})")
    channels, n = output.shape
    max_pad = max(fft for fft, _, _ in resolutions) // 2
    if n <= max_pad:
        raise ValueError(f"{n} samples is too short for fft_size {2 * max_pad} (needs > {max_pad})")

    totals = [[0.0, 0.0, 0.0] for _ in resolutions]
    for c in range(channels):
        # One padded float64 copy per signal and channel serves every resolution.
        padded_out = _reflect_padded(output[c], max_pad)
        padded_target = _reflect_padded(target[c], max_pad)
        for r, (fft_size, hop, win_length) in enumerate(resolutions):
            # torch's frame f starts at f*hop in a signal padded by fft_size//2; the
            # window starts (fft_size - win_length)//2 further in.
            first = max_pad - fft_size // 2 + (fft_size - win_length) // 2
            sums = _channel_sums(padded_out[first:], padded_target[first:], n, fft_size, hop, win_length, eps)
            for i in range(3):
                totals[r][i] += sums[i]
    return [
        MagnitudeSums(d, t, log_diff, channels * stft_frame_count(n, hop) * (fft_size // 2 + 1))
        for (d, t, log_diff), (fft_size, hop, _) in zip(totals, resolutions)
    ]


def _channel_sums(padded_out, padded_target, n, fft_size, hop, win_length, eps):
    frames = stft_frame_count(n, hop)
    bins = fft_size // 2 + 1
    window = periodic_hann(win_length)
    block = max(1, _BLOCK_BINS // bins)
    frames_out = np.lib.stride_tricks.sliding_window_view(padded_out, win_length)[::hop][:frames]
    frames_target = np.lib.stride_tricks.sliding_window_view(padded_target, win_length)[::hop][:frames]
    # Full-length frames with a zero tail written once: rfft then needs no padding copy.
    windowed_out = np.zeros((block, fft_size))
    windowed_target = np.zeros((block, fft_size))
    log_ratio = np.empty((block, bins))
    power_target = np.empty((block, bins))
    spectrum_out = np.empty((block, bins), dtype=np.complex128)
    spectrum_target = np.empty((block, bins), dtype=np.complex128)
    squared_difference = squared_target = abs_log_difference = 0.0
    for start in range(0, frames, block):
        rows = min(block, frames - start)
        np.multiply(frames_out[start : start + rows], window, out=windowed_out[:rows, :win_length])
        np.multiply(frames_target[start : start + rows], window, out=windowed_target[:rows, :win_length])
        spec_out = _rfft_rows(windowed_out[:rows], spectrum_out[:rows])
        spec_target = _rfft_rows(windowed_target[:rows], spectrum_target[:rows])
        d, t = _block_sums(spec_out.view(np.float64), spec_target.view(np.float64), eps, log_ratio[:rows],
                           power_target)
        squared_difference += d
        squared_target += t
        ratios = log_ratio[:rows]
        np.log(ratios, out=ratios)
        abs_log_difference += 0.5 * float(ratios.sum())
    return squared_difference, squared_target, abs_log_difference


# --------------------------------------------------------------------------- a target compared many times
# The harness compares several candidates' outputs with the same target: its clamped STFT powers
# are computed once and reused, which halves the FFT work per comparison.


def _frames(padded: np.ndarray, n: int, fft_size: int, hop: int, win_length: int):
    """Yield (start, spectrum block) over the torch-compatible frames of one padded channel."""
    frames = stft_frame_count(n, hop)
    bins = fft_size // 2 + 1
    window = periodic_hann(win_length)
    block = max(1, _BLOCK_BINS // bins)
    framed = np.lib.stride_tricks.sliding_window_view(padded, win_length)[::hop][:frames]
    windowed = np.zeros((block, fft_size))
    spectrum = np.empty((block, bins), dtype=np.complex128)
    for start in range(0, frames, block):
        rows = min(block, frames - start)
        np.multiply(framed[start : start + rows], window, out=windowed[:rows, :win_length])
        yield start, _rfft_rows(windowed[:rows], spectrum[:rows])


@dataclass(frozen=True)
class TargetPowers:
    """max(|STFT|^2, eps) of a target, per channel and resolution, ready for repeated comparisons."""

    shape: tuple[int, int]
    resolutions: tuple[tuple[int, int, int], ...]
    eps: float
    powers: tuple[tuple[np.ndarray, ...], ...]  # [channel][resolution] -> (frames, bins)


def target_powers(target: np.ndarray, resolutions: tuple[tuple[int, int, int], ...], eps: float = 1e-8) -> TargetPowers:
    channels, n = target.shape
    max_pad = max(fft for fft, _, _ in resolutions) // 2
    if n <= max_pad:
        raise ValueError(f"{n} samples is too short for fft_size {2 * max_pad} (needs > {max_pad})")
    per_channel = []
    for c in range(channels):
        padded = _reflect_padded(target[c], max_pad)
        per_res = []
        for fft_size, hop, win_length in resolutions:
            first = max_pad - fft_size // 2 + (fft_size - win_length) // 2
            power = np.empty((stft_frame_count(n, hop), fft_size // 2 + 1))
            for start, spec in _frames(padded[first:], n, fft_size, hop, win_length):
                block = power[start : start + spec.shape[0]]
                np.maximum(spec.real**2 + spec.imag**2, eps, out=block)
            per_res.append(power)
        per_channel.append(tuple(per_res))
    return TargetPowers(shape=(channels, n), resolutions=tuple(resolutions), eps=eps, powers=tuple(per_channel))


def magnitude_sums_against(output: np.ndarray, target: TargetPowers) -> list[MagnitudeSums]:
    """The same sums as multi_resolution_magnitude_sums(output, target_signal, ...), target precomputed."""
    if output.shape != target.shape:
        raise ValueError(f"output {output.shape} and target {target.shape} differ in shape")
    channels, n = output.shape
    max_pad = max(fft for fft, _, _ in target.resolutions) // 2
    totals = [[0.0, 0.0, 0.0] for _ in target.resolutions]
    for c in range(channels):
        padded = _reflect_padded(output[c], max_pad)
        for r, (fft_size, hop, win_length) in enumerate(target.resolutions):
            first = max_pad - fft_size // 2 + (fft_size - win_length) // 2
            log_ratio = np.empty((max(1, _BLOCK_BINS // (fft_size // 2 + 1)), fft_size // 2 + 1))
            p_t = target.powers[c][r]
            for start, spec in _frames(padded[first:], n, fft_size, hop, win_length):
                rows = spec.shape[0]
                d, t = _block_sums_against_power(spec.view(np.float64), p_t[start : start + rows], target.eps,
                                                 log_ratio[:rows])
                ratios = log_ratio[:rows]
                np.log(ratios, out=ratios)
                totals[r][0] += d
                totals[r][1] += t
                totals[r][2] += 0.5 * float(ratios.sum())
    return [
        MagnitudeSums(d, t, log_diff, channels * stft_frame_count(n, hop) * (fft_size // 2 + 1))
        for (d, t, log_diff), (fft_size, hop, _) in zip(totals, target.resolutions)
    ]

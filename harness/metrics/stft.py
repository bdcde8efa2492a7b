"""Blocked STFT-magnitude comparison in float32: the sums behind spectral convergence and log-magnitude L1.

Framing reproduces ``torch.stft(x, n_fft, hop, win_length, hann_window(win_length),
center=True, pad_mode="reflect")`` as auraloss 0.4.0 calls it: the signal is
reflect-padded by n_fft // 2 on both sides, frame f starts at f * hop, there are
1 + T // hop frames, and the periodic Hann window of win_length sits centred in
the n_fft frame. Only magnitudes are compared, so each frame is FFT'd as the
win_length windowed samples zero-padded at the end: a circular shift of torch's
centred frame, which changes phases only.

Precision: the FFTs run in float32 (scipy.fft, one worker), as auraloss's default torch.stft does;
that halves the dominant cost. Each bin's power, ratio and logarithm is float32, every sum float64.
docs/metrics.md states the measured agreement with the float64 computation and with auraloss.

One target, many outputs, several gains: the target's clamped powers are computed once
(`target_powers`), and one FFT pass over an output yields the sums for every power gain G asked
for, i.e. for the outputs sqrt(G) * output: |STFT(g x)|^2 = g^2 |STFT(x)|^2, and the 1e-8 clamp is
applied after the gain. The loudness-matched and the raw distance so share one output STFT.

Only the target's magnitudes are kept (the log of a ratio needs no target log, and the rare rows with
a clamped output bin take the target's log there and then). The frames are windowed by a numba kernel
straight from the signal (the reflect padding of the edge frames done on the fly) into the FFT's input
buffer. The comparison is two vectorised loops per frame: magnitudes, differences and ratios, then the
logs of the ratios - split, each keeps its values in registers, at ~0.7 ns per bin instead of ~1.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
from llvmlite import ir as llvm_ir
from numba import njit, types
from numba.extending import intrinsic

__all__ = ["MagnitudeSums", "periodic_hann", "stft_frame_count", "multi_resolution_magnitude_sums", "magnitude_sums",
           "TargetPowers", "target_powers", "magnitude_sums_against"]

_BLOCK_BINS = 1 << 17  # frames per block * bins per frame: ~1 MiB of complex64, L2-sized
# Reassociation lets the sums vectorise. No contraction (FMA), approximate reciprocals or functions:
# the target's and the output's powers must be the same arithmetic, so identical signals compare equal.
_FAST = {"reassoc", "nsz", "nnan", "ninf"}


@lru_cache(maxsize=16)
def periodic_hann(length: int) -> np.ndarray:
    """torch.hann_window(length) (periodic=True): 0.5 - 0.5 cos(2 pi n / length)."""
    n = np.arange(length)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)
    window.setflags(write=False)
    return window


@lru_cache(maxsize=16)
def _periodic_hann32(length: int) -> np.ndarray:
    window = periodic_hann(length).astype(np.float32)
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


def _check_resolutions(resolutions: tuple[tuple[int, int, int], ...], n: int) -> int:
    """The reflect padding every resolution's frames need (max fft // 2); it must be shorter than the signal."""
    for fft_size, hop, win_length in resolutions:
        if fft_size % 2 or not 0 < win_length <= fft_size or hop < 1:
            raise ValueError(f"bad STFT resolution (fft={fft_size}, hop={hop}, win={win_length})")
    max_pad = max(fft for fft, _, _ in resolutions) // 2
    if n <= max_pad:
        raise ValueError(f"{n} samples is too short for fft_size {2 * max_pad} (needs > {max_pad})")
    return max_pad


@njit(cache=True, error_model="numpy")
def _window_frames(x, first, hop, start, window, out):
    # out[r, :win] = float32(x[i]) * window, i = first + (start + r) * hop + j: frame start + r's windowed
    # samples, those outside the signal reflected into it (numpy/torch "reflect"; |first| < len(x)).
    # The same arithmetic as windowing a float32 reflect-padded copy.
    n = x.shape[0]
    win = window.shape[0]
    for r in range(out.shape[0]):
        base = first + (start + r) * hop
        if base >= 0 and base + win <= n:
            for j in range(win):
                out[r, j] = np.float32(x[base + j]) * window[j]
        else:
            for j in range(win):
                i = base + j
                if i < 0:
                    i = -i
                elif i >= n:
                    i = 2 * (n - 1) - i
                out[r, j] = np.float32(x[i]) * window[j]


def _spectrum_blocks(x: np.ndarray, resolution: tuple[int, int, int]):
    """Yield (first frame, complex64 spectra) over the torch-compatible frames of one channel."""
    fft_size, hop, win_length = resolution
    n = x.shape[0]
    # torch's frame f starts at f*hop in a signal padded by fft_size//2; the window starts
    # (fft_size - win_length)//2 further in.
    first = (fft_size - win_length) // 2 - fft_size // 2
    frames = stft_frame_count(n, hop)
    window = _periodic_hann32(win_length)
    block = max(1, _BLOCK_BINS // (fft_size // 2 + 1))
    # Full-length frames with a zero tail written once: rfft then needs no padding copy.
    windowed = np.zeros((min(block, frames), fft_size), dtype=np.float32)
    for start in range(0, frames, block):
        rows = min(block, frames - start)
        _window_frames(x, first, hop, start, window, windowed[:rows])
        yield start, scipy.fft.rfft(windowed[:rows], axis=1, workers=1)


# --------------------------------------------------------------------------- the target, once


@dataclass(frozen=True)
class TargetPowers:
    """A target's float32 STFT magnitudes sqrt(max(|X|^2, eps)) per channel and resolution, ready for
    repeated comparisons (float32: 4 bytes per bin, ~52 MB per 10 s stereo clip at 48 kHz)."""

    shape: tuple[int, int]
    resolutions: tuple[tuple[int, int, int], ...]
    eps: float
    magnitudes: tuple[tuple[np.ndarray, ...], ...]  # [channel][resolution] -> (frames, bins)
    power_totals: tuple[float, ...]  # [resolution] -> sum of max(|X|^2, eps) over channels, frames, bins


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def _clamped_magnitudes(spec, eps, out):
    # spec: complex64 spectra viewed as interleaved float32 (re, im); out: float32 sqrt(max(|X|^2, eps)).
    # The same arithmetic as _compare_block's output magnitude, so identical signals compare equal.
    rows = out.shape[0]
    bins = out.shape[1]
    total = 0.0
    for r in range(rows):
        for k in range(bins):
            re = spec[r, 2 * k]
            im = spec[r, 2 * k + 1]
            p = max(re * re + im * im, eps)
            m = np.sqrt(p)
            out[r, k] = m
            total += np.float64(p)
    return total


def target_powers(target: np.ndarray, resolutions: tuple[tuple[int, int, int], ...], eps: float = 1e-8) -> TargetPowers:
    channels, n = target.shape
    resolutions = tuple(tuple(r) for r in resolutions)
    _check_resolutions(resolutions, n)
    eps32 = np.float32(eps)
    magnitudes = []
    totals = [0.0] * len(resolutions)
    for c in range(channels):
        per_res = []
        for r, resolution in enumerate(resolutions):
            m = np.empty((stft_frame_count(n, resolution[1]), resolution[0] // 2 + 1), dtype=np.float32)
            for start, spec in _spectrum_blocks(target[c], resolution):
                totals[r] += _clamped_magnitudes(spec.view(np.float32), eps32, m[start : start + spec.shape[0]])
            per_res.append(m)
        magnitudes.append(tuple(per_res))
    return TargetPowers((channels, n), resolutions, float(eps32), tuple(magnitudes), tuple(totals))


# --------------------------------------------------------------------------- an output against it


@intrinsic
def _log_split(typingctx, x):
    """(k, m) with x = m * 2^k, m in [sqrt(1/2), sqrt(2)), of a positive normal float32, k as a float32:
    the bit manipulation in 32-bit integers (numba would widen them to 64 bits, halving the vectors)."""
    if x != types.float32:
        return None

    def codegen(context, builder, signature, args):
        i32 = llvm_ir.IntType(32)
        # Adding 1 - sqrt(1/2) (in bits) carries into the exponent exactly when the mantissa >= sqrt(1/2).
        bits = builder.add(builder.bitcast(args[0], i32), llvm_ir.Constant(i32, 0x3F800000 - 0x3F3504F3))
        k = builder.sub(builder.ashr(bits, llvm_ir.Constant(i32, 23)), llvm_ir.Constant(i32, 0x7F))
        m = builder.add(builder.and_(bits, llvm_ir.Constant(i32, 0x007FFFFF)), llvm_ir.Constant(i32, 0x3F3504F3))
        parts = (builder.sitofp(k, llvm_ir.FloatType()), builder.bitcast(m, llvm_ir.FloatType()))
        return context.make_tuple(builder, signature.return_type, parts)

    return types.UniTuple(types.float32, 2)(types.float32), codegen


# Cephes logf: log(1 + f) = f - f^2/2 + f^3 P(f) on sqrt(1/2) - 1 <= f < sqrt(2) - 1, about 1 ulp in float32.
_LOG_P = (7.0376836292e-2, -1.1514610310e-1, 1.1676998740e-1, -1.2420140846e-1, 1.4249322787e-1,
          -1.6668057665e-1, 2.0000714765e-1, -2.4999993993e-1, 3.3333331174e-1)
_LN2_HI = 0.693359375  # ln 2 split so that k * _LN2_HI is exact for the exponents of float32
_LN2_LO = -2.12194440e-4


@njit(cache=True, error_model="numpy", fastmath=_FAST | {"contract"})
def _log32(x):
    # Natural log of a positive, normal float32, branch-free so that the loop around it vectorises
    # (numba calls libm's scalar log otherwise, and the buffer round trip to numpy's costs more).
    # The polynomial in Estrin's form (a shorter dependency chain than Horner's): < 2 ulp, 1.51 measured (tested).
    k, m = _log_split(x)
    f = m - np.float32(1.0)
    z = f * f
    z2 = z * z
    p01 = np.float32(_LOG_P[0]) * f + np.float32(_LOG_P[1])
    p23 = np.float32(_LOG_P[2]) * f + np.float32(_LOG_P[3])
    p45 = np.float32(_LOG_P[4]) * f + np.float32(_LOG_P[5])
    p67 = np.float32(_LOG_P[6]) * f + np.float32(_LOG_P[7])
    y = ((p01 * z + p23) * z2 + (p45 * z + p67)) * f + np.float32(_LOG_P[8])
    y = y * f * z + k * np.float32(_LN2_LO) - np.float32(0.5) * z
    return f + y + k * np.float32(_LN2_HI)


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def _compare_block(spec, m_t, magnitude_gains, clamp_magnitudes, low_clamp, sums):
    # spec: the output's complex64 spectra as interleaved float32; m_t: the target's magnitudes. For the
    # two gains v (power gain G = g^2; the second may repeat the first), with root = sqrt(max(p, low)),
    # low = min over gains of eps / G, and floor_v = sqrt(eps / G):
    #   m_out = sqrt(max(G p, eps)) = g * max(root, floor_v)                       (one sqrt for both)
    #   log m_out - log m_t = log g + (log floor_v - log m_t if root <= floor_v else log(root / m_t))
    # The log of a ratio, not a difference of logs, where it counts: near-equal magnitudes keep
    # float32's relative precision; the difference only decides clamped bins, where the values are large.
    # A clamped bin takes the difference of logs whichever gains are compared alongside, so that a
    # distance does not depend on the other one computed in the same pass.
    # sums += (sum d0^2, sum d1^2, sum |log ratio 0|, sum |log ratio 1|), d = m_out - m_t.
    #
    # Two loops per frame, each vectorised: the first computes the differences and, per bin, the one
    # number whose log the second needs: root / m_t, or -m_t where the bin is clamped for both gains
    # (music often has such bins in most frames: nothing near Nyquist). A frame with a bin clamped for
    # one gain only (between the two floors) takes a third loop that computes both logs of every bin.
    rows = m_t.shape[0]
    bins = m_t.shape[1]
    g0 = np.float32(magnitude_gains[0])
    g1 = np.float32(magnitude_gains[1])
    floor0 = clamp_magnitudes[0]
    floor1 = clamp_magnitudes[1]
    low_floor = min(floor0, floor1)
    high_floor = max(floor0, floor1)
    log_floor0 = _log32(floor0)
    log_floor1 = _log32(floor1)
    lg0 = np.float32(np.log(magnitude_gains[0]))
    lg1 = np.float32(np.log(magnitude_gains[1]))
    log_args = np.empty(bins, dtype=np.float32)  # one frame's root / m_t or -m_t, from the first loop on
    terms0 = np.empty(bins, dtype=np.float32)  # and its |log m_out - log m_t| per gain
    terms1 = np.empty(bins, dtype=np.float32)
    roots = np.empty(bins, dtype=np.float32)
    sd0 = sd1 = al0 = al1 = 0.0
    for r in range(rows):
        # float32 within a row (at most 1025 bins, split over the vector lanes), float64 across rows.
        row_sd0 = row_sd1 = between = np.float32(0.0)
        for k in range(bins):
            re = spec[r, 2 * k]
            im = spec[r, 2 * k + 1]
            root = np.sqrt(max(re * re + im * im, low_clamp))
            target = m_t[r, k]
            d0 = g0 * max(root, floor0) - target
            d1 = g1 * max(root, floor1) - target
            row_sd0 += d0 * d0
            row_sd1 += d1 * d1
            log_args[k] = -target if root <= low_floor else root / target
            roots[k] = root
            between += np.float32(1.0) if low_floor < root <= high_floor else np.float32(0.0)
        # Each bin's two terms, by whichever loop, then summed by one loop: the same association, so a
        # distance does not depend on which loop its frame took (nor on the gain computed alongside).
        if between == 0.0:
            for k in range(bins):
                arg = log_args[k]
                log_arg = _log32(abs(arg))  # log m_t where clamped (arg < 0), else log(root / m_t)
                terms0[k] = abs(lg0 + (log_floor0 - log_arg) if arg < 0 else lg0 + log_arg)
                terms1[k] = abs(lg1 + (log_floor1 - log_arg) if arg < 0 else lg1 + log_arg)
        else:
            for k in range(bins):
                root = roots[k]
                log_arg = _log32(abs(log_args[k]))
                log_target = _log32(m_t[r, k])
                terms0[k] = abs(lg0 + (log_floor0 - log_target) if root <= floor0 else lg0 + log_arg)
                terms1[k] = abs(lg1 + (log_floor1 - log_target) if root <= floor1 else lg1 + log_arg)
        row_al0 = row_al1 = np.float32(0.0)
        for k in range(bins):
            row_al0 += terms0[k]
            row_al1 += terms1[k]
        sd0 += row_sd0
        sd1 += row_sd1
        al0 += row_al0
        al1 += row_al1
    sums[0] += sd0
    sums[1] += sd1
    sums[2] += al0
    sums[3] += al1


def _gain_parameters(power_gains: tuple[float, ...], eps: float):
    """_compare_block's gain arguments: (g per gain, sqrt(eps / G) per gain, min eps / G), two gains."""
    if not 1 <= len(power_gains) <= 2 or not all(math.isfinite(g) and g > 0 for g in power_gains):
        raise ValueError(f"one or two positive, finite power gains: {power_gains}")
    gains = np.asarray((*power_gains, power_gains[-1])[:2], dtype=np.float64)  # the kernel takes two
    clamp_magnitudes = np.sqrt(np.float32(eps) / gains).astype(np.float32)
    return np.sqrt(gains), clamp_magnitudes, np.float32(min(eps / g for g in power_gains))


def _results(sums: np.ndarray, power_totals, n_gains: int, channels: int, n: int,
             resolutions) -> list[list[MagnitudeSums]]:
    counts = [channels * stft_frame_count(n, hop) * (fft_size // 2 + 1) for fft_size, hop, _ in resolutions]
    return [
        [
            MagnitudeSums(float(sums[r, v]), power_totals[r], float(sums[r, 2 + v]), counts[r])
            for r in range(len(resolutions))
        ]
        for v in range(n_gains)
    ]


def magnitude_sums_against(
    output: np.ndarray, target: TargetPowers, power_gains: tuple[float, ...] = (1.0,)
) -> list[list[MagnitudeSums]]:
    """[gain][resolution] sums comparing sqrt(G) * output with the target, for each of one or two power
    gains G, from one STFT of the output. Equal to magnitude_sums(output, target_signal, ...)."""
    if output.shape != target.shape:
        raise ValueError(f"output {output.shape} and target {target.shape} differ in shape")
    channels, n = output.shape
    _check_resolutions(target.resolutions, n)
    gain_parameters = _gain_parameters(power_gains, target.eps)
    sums = np.zeros((len(target.resolutions), 4))
    for c in range(channels):
        for r, resolution in enumerate(target.resolutions):
            m_t = target.magnitudes[c][r]
            for start, spec in _spectrum_blocks(output[c], resolution):
                _compare_block(spec.view(np.float32), m_t[start : start + spec.shape[0]], *gain_parameters, sums[r])
    return _results(sums, target.power_totals, len(power_gains), channels, n, target.resolutions)


def magnitude_sums(
    output: np.ndarray,
    target: np.ndarray,
    resolutions: tuple[tuple[int, int, int], ...],
    eps: float = 1e-8,
    power_gains: tuple[float, ...] = (1.0,),
) -> list[list[MagnitudeSums]]:
    """magnitude_sums_against(output, target_powers(target, ...), power_gains) without keeping the target's
    spectra: both signals are transformed block by block (a one-off comparison needs no more memory
    than a cache-sized block). The same arithmetic in the same order, so the same numbers."""
    if output.shape != target.shape:
        raise ValueError(f"output {output.shape} and target {target.shape} differ in shape")
    channels, n = output.shape
    resolutions = tuple(tuple(r) for r in resolutions)
    _check_resolutions(resolutions, n)
    eps32 = np.float32(eps)
    gain_parameters = _gain_parameters(power_gains, float(eps32))
    sums = np.zeros((len(resolutions), 4))
    totals = [0.0] * len(resolutions)
    for c in range(channels):
        for r, resolution in enumerate(resolutions):
            bins = resolution[0] // 2 + 1
            m_t = np.empty((max(1, _BLOCK_BINS // bins), bins), dtype=np.float32)
            blocks = zip(_spectrum_blocks(target[c], resolution), _spectrum_blocks(output[c], resolution))
            for (_, spec_target), (_, spec_out) in blocks:
                rows = spec_target.shape[0]
                totals[r] += _clamped_magnitudes(spec_target.view(np.float32), eps32, m_t[:rows])
                _compare_block(spec_out.view(np.float32), m_t[:rows], *gain_parameters, sums[r])
    return _results(sums, totals, len(power_gains), channels, n, resolutions)


def multi_resolution_magnitude_sums(
    output: np.ndarray,
    target: np.ndarray,
    resolutions: tuple[tuple[int, int, int], ...],
    eps: float = 1e-8,
) -> list[MagnitudeSums]:
    """Magnitude-comparison sums of two (channels, samples) signals, one per (fft, hop, win).

    Needs samples > max(fft) // 2 (reflect padding), as torch.stft does.
    """
    return magnitude_sums(output, target, resolutions, eps)[0]

"""Blocked STFT-magnitude comparison in float32: the sums behind spectral convergence and log-magnitude L1.

Framing reproduces ``torch.stft(x, n_fft, hop, win_length, hann_window(win_length),
center=True, pad_mode="reflect")`` as auraloss 0.4.0 calls it (harness/metrics/lane_fft.py): the signal is
reflect-padded by n_fft // 2 on both sides, frame f starts at f * hop, there are 1 + T // hop frames, and
the periodic Hann window of win_length sits centred in the n_fft frame. Only magnitudes are compared.

Precision: the FFTs run in float32, as auraloss's default torch.stft does; each bin's power, ratio and
logarithm is float32, the sums float32 over runs of 32 bins of a frame and float64 beyond. docs/metrics.md states the
measured agreement with the float64 computation and with auraloss.

Blocks: ``LANES`` frames at a time, each in its own SIMD lane (lane_fft: the frames' powers as a
(bins, LANES) array), compared by kernels that loop over the lanes innermost, so that every loop
vectorises at the machine's full width and no spectrum is transposed.

One target, many outputs, several gains: the target's clamped magnitudes are computed once
(`target_powers`), and one FFT pass over an output yields the sums for every power gain G asked
for, i.e. for the outputs sqrt(G) * output: |STFT(g x)|^2 = g^2 |STFT(x)|^2, and the 1e-8 clamp is
applied after the gain. The loudness-matched and the raw distance so share one output STFT.

Only the target's magnitudes are kept (the log of a ratio needs no target log, and the rare blocks with
a bin clamped for one gain only take the target's log there and then). The comparison is two vectorised
loops per block: magnitudes, differences and ratios, then the logs of the ratios - split, each keeps its
values in registers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from llvmlite import ir as llvm_ir
from numba import njit, types
from numba.extending import intrinsic

from .lane_fft import LANES, FramePlan, block_count, block_powers, frame_plan, periodic_hann

__all__ = ["MagnitudeSums", "periodic_hann", "multi_resolution_magnitude_sums", "magnitude_sums",
           "TargetPowers", "target_powers", "magnitude_sums_against"]

# Reassociation lets the sums vectorise. No contraction (FMA), approximate reciprocals or functions:
# the comparison's arithmetic is the target's, so identical signals compare equal.
_FAST = {"reassoc", "nsz", "nnan", "ninf"}
_RUN = 32  # bins summed in float32 before a float64 sum (see _compare_block)


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


def _samples32(channel: np.ndarray) -> np.ndarray:
    """One channel as contiguous float32: the kernels round every sample to float32 anyway (the same
    conversion), and one array type means one compiled variant of each kernel (a cold compile costs ~2 s each)."""
    return np.ascontiguousarray(channel, dtype=np.float32)


def _plans(resolutions: tuple[tuple[int, int, int], ...], n: int) -> tuple[FramePlan, ...]:
    """Each resolution's frame plan; the reflect padding (max fft // 2) must be shorter than the signal."""
    plans = tuple(frame_plan(*resolution) for resolution in resolutions)
    max_pad = max(plan.fft_size for plan in plans) // 2
    if n <= max_pad:
        raise ValueError(f"{n} samples is too short for fft_size {2 * max_pad} (needs > {max_pad})")
    return plans


# --------------------------------------------------------------------------- the target, once


@dataclass(frozen=True)
class TargetPowers:
    """A target's float32 STFT magnitudes sqrt(max(|X|^2, eps)) per channel and resolution, ready for
    repeated comparisons (float32: 4 bytes per bin, ~52 MB per 10 s stereo clip at 48 kHz)."""

    shape: tuple[int, int]
    resolutions: tuple[tuple[int, int, int], ...]
    eps: float
    # [channel][resolution] -> (blocks, bins, LANES): frame b * LANES + f in [b, :, f]; the lanes past the
    # last frame hold a silent frame's sqrt(eps) and are never summed.
    magnitudes: tuple[tuple[np.ndarray, ...], ...]
    power_totals: tuple[float, ...]  # [resolution] -> sum of max(|X|^2, eps) over channels, frames, bins


@njit(cache=True, error_model="numpy", fastmath=_FAST)
def _clamped_magnitudes(powers, rows, eps, out):
    # out[k, f] = sqrt(max(p, eps)) in every lane (the lanes past rows too: finite ratios there); returns the
    # sum of max(p, eps) over the first rows lanes. The same arithmetic as _compare_block's output magnitude.
    lane_totals = np.zeros(LANES)
    for k in range(powers.shape[0]):
        for f in range(LANES):
            p = max(powers[k, f], eps)
            out[k, f] = np.sqrt(p)
            lane_totals[f] += np.float64(p)
    total = 0.0
    for f in range(rows):
        total += lane_totals[f]
    return total


def target_powers(target: np.ndarray, resolutions: tuple[tuple[int, int, int], ...], eps: float = 1e-8) -> TargetPowers:
    channels, n = target.shape
    resolutions = tuple(tuple(r) for r in resolutions)
    plans = _plans(resolutions, n)
    eps32 = np.float32(eps)
    magnitudes = []
    totals = [0.0] * len(resolutions)
    for c in range(channels):
        samples = _samples32(target[c])
        per_res = []
        for r, plan in enumerate(plans):
            frames = plan.frame_count(n)
            m = np.empty((block_count(frames), plan.bins, LANES), dtype=np.float32)
            totals[r] += _blocks_pass(_NOTHING, samples, frames, *plan.kernel_args(), eps32, *_NO_GAINS, m, _NO_SUMS)
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
def _compare_block(powers, m_t, rows, magnitude_gains, clamp_magnitudes, low_clamp, log_args, sums):
    # powers: the output's |X|^2 per (bin, lane); m_t: the target's magnitudes, same layout; the first rows
    # lanes are frames. For the two gains v (power gain G = g^2; the second may repeat the first), with
    # root = sqrt(max(p, low)), low = min over gains of eps / G, and floor_v = sqrt(eps / G):
    #   m_out = sqrt(max(G p, eps)) = g * max(root, floor_v)                       (one sqrt for both)
    #   log m_out - log m_t = log g + (log floor_v - log m_t if root <= floor_v else log(root / m_t))
    # The log of a ratio, not a difference of logs, where it counts: near-equal magnitudes keep
    # float32's relative precision; the difference only decides clamped bins, where the values are large.
    # A clamped bin takes the difference of logs whichever gains are compared alongside, so that a
    # distance does not depend on the other one computed in the same pass.
    # sums += (sum d0^2, sum d1^2, sum |log ratio 0|, sum |log ratio 1|), d = m_out - m_t.
    #
    # Two loops, each vectorised across the lanes: the first computes the differences and, per bin, the one
    # number whose log the second needs: root / m_t, or -m_t where the bin is clamped for both gains
    # (music often has such bins in most frames: nothing near Nyquist). A block with a bin clamped for
    # one gain only (between the two floors) takes a second-loop variant that computes both logs of every
    # bin; per bin it gives the same terms, so a distance does not depend on which variant its block took.
    bins = powers.shape[0]
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
    # Per lane (frame): float32 over runs of _RUN bins, float64 across runs and frames. One float32 sum over
    # a whole frame's 1025 bins, in order, is biased where the terms are alike (a gain change: every bin's
    # log term is log g), by up to ~1e-7 of the distance; runs of 32 keep that below 1e-9.
    sd0 = np.zeros(LANES)
    sd1 = np.zeros(LANES)
    run_sd0 = np.zeros(LANES, dtype=np.float32)
    run_sd1 = np.zeros(LANES, dtype=np.float32)
    between = np.zeros(LANES, dtype=np.float32)
    for k0 in range(0, bins, _RUN):
        run_sd0[:] = 0.0
        run_sd1[:] = 0.0
        for k in range(k0, min(k0 + _RUN, bins)):
            for f in range(LANES):
                root = np.sqrt(max(powers[k, f], low_clamp))
                target = m_t[k, f]
                d0 = g0 * max(root, floor0) - target
                d1 = g1 * max(root, floor1) - target
                run_sd0[f] += d0 * d0
                run_sd1[f] += d1 * d1
                log_args[k, f] = -target if root <= low_floor else root / target
                between[f] += np.float32(1.0) if low_floor < root <= high_floor else np.float32(0.0)
        for f in range(LANES):
            sd0[f] += run_sd0[f]
            sd1[f] += run_sd1[f]
    mixed = False
    for f in range(rows):
        mixed = mixed or between[f] != 0.0
    al0 = np.zeros(LANES)
    al1 = np.zeros(LANES)
    run_al0 = run_sd0  # reused
    run_al1 = run_sd1
    for k0 in range(0, bins, _RUN):
        run_al0[:] = 0.0
        run_al1[:] = 0.0
        if not mixed:
            for k in range(k0, min(k0 + _RUN, bins)):
                for f in range(LANES):
                    arg = log_args[k, f]
                    log_arg = _log32(abs(arg))  # log m_t where clamped (arg < 0), else log(root / m_t)
                    run_al0[f] += abs(lg0 + (log_floor0 - log_arg) if arg < 0 else lg0 + log_arg)
                    run_al1[f] += abs(lg1 + (log_floor1 - log_arg) if arg < 0 else lg1 + log_arg)
        else:
            for k in range(k0, min(k0 + _RUN, bins)):
                for f in range(LANES):
                    root = np.sqrt(max(powers[k, f], low_clamp))  # as in the first loop
                    log_arg = _log32(abs(log_args[k, f]))
                    log_target = _log32(m_t[k, f])
                    run_al0[f] += abs(lg0 + (log_floor0 - log_target) if root <= floor0 else lg0 + log_arg)
                    run_al1[f] += abs(lg1 + (log_floor1 - log_target) if root <= floor1 else lg1 + log_arg)
        for f in range(LANES):
            al0[f] += run_al0[f]
            al1[f] += run_al1[f]
    for f in range(rows):
        sums[0] += sd0[f]
        sums[1] += sd1[f]
        sums[2] += al0[f]
        sums[3] += al1[f]


_NOTHING = np.empty(0, dtype=np.float32)  # a side _blocks_pass does not transform


@njit(cache=True, error_model="numpy")
def _blocks_pass(x, target, frames, first, hop, window, twiddle_re, twiddle_im, split_re, split_im, bit_reversed,
                 eps, magnitude_gains, clamp_magnitudes, low_clamp, magnitudes, sums):
    # Block by block: where `target` has samples, its magnitudes into magnitudes[b % len(magnitudes)] (every
    # block kept, or one reused); where `x` has samples, its powers compared with them into sums. Returns the
    # target's clamped-power total. One kernel for the three uses (target_powers, magnitude_sums_against,
    # magnitude_sums): each kernel that inlines the FFT costs seconds to compile on a fresh machine.
    points = twiddle_re.shape[0]
    re = np.empty((points, LANES), dtype=np.float32)
    im = np.empty_like(re)
    powers = np.empty((points + 1, LANES), dtype=np.float32)
    log_args = np.empty_like(powers)
    total = 0.0
    for b in range(block_count(frames)):
        rows = min(LANES, frames - b * LANES)
        m_t = magnitudes[b % magnitudes.shape[0]]
        if target.shape[0]:
            block_powers(target, b * LANES, rows, first, hop, window, twiddle_re, twiddle_im, split_re, split_im,
                         bit_reversed, re, im, powers)
            total += _clamped_magnitudes(powers, rows, eps, m_t)
        if x.shape[0]:
            block_powers(x, b * LANES, rows, first, hop, window, twiddle_re, twiddle_im, split_re, split_im,
                         bit_reversed, re, im, powers)
            _compare_block(powers, m_t, rows, magnitude_gains, clamp_magnitudes, low_clamp, log_args, sums)
    return total


def _gain_parameters(power_gains: tuple[float, ...], eps: float):
    """_compare_block's gain arguments: (g per gain, sqrt(eps / G) per gain, min eps / G), two gains."""
    if not 1 <= len(power_gains) <= 2 or not all(math.isfinite(g) and g > 0 for g in power_gains):
        raise ValueError(f"one or two positive, finite power gains: {power_gains}")
    gains = np.asarray((*power_gains, power_gains[-1])[:2], dtype=np.float64)  # the kernel takes two
    clamp_magnitudes = np.sqrt(np.float32(eps) / gains).astype(np.float32)
    return np.sqrt(gains), clamp_magnitudes, np.float32(min(eps / g for g in power_gains))


_NO_GAINS = _gain_parameters((1.0,), 1e-8)  # for a pass that compares nothing (the kernel's types)
_NO_SUMS = np.zeros(4)


def _results(sums: np.ndarray, power_totals, n_gains: int, channels: int, n: int,
             plans: tuple[FramePlan, ...]) -> list[list[MagnitudeSums]]:
    counts = [channels * plan.frame_count(n) * plan.bins for plan in plans]
    return [
        [
            MagnitudeSums(float(sums[r, v]), power_totals[r], float(sums[r, 2 + v]), counts[r])
            for r in range(len(plans))
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
    plans = _plans(target.resolutions, n)
    gain_parameters = _gain_parameters(power_gains, target.eps)
    sums = np.zeros((len(plans), 4))
    for c in range(channels):
        samples = _samples32(output[c])
        for r, plan in enumerate(plans):
            _blocks_pass(samples, _NOTHING, plan.frame_count(n), *plan.kernel_args(), np.float32(target.eps),
                         *gain_parameters, target.magnitudes[c][r], sums[r])
    return _results(sums, target.power_totals, len(power_gains), channels, n, plans)


def magnitude_sums(
    output: np.ndarray,
    target: np.ndarray,
    resolutions: tuple[tuple[int, int, int], ...],
    eps: float = 1e-8,
    power_gains: tuple[float, ...] = (1.0,),
) -> list[list[MagnitudeSums]]:
    """magnitude_sums_against(output, target_powers(target, ...), power_gains) without keeping the target's
    spectra: both signals are transformed block by block (a one-off comparison needs no more memory
    than a block). The same arithmetic in the same order, so the same numbers."""
    if output.shape != target.shape:
        raise ValueError(f"output {output.shape} and target {target.shape} differ in shape")
    channels, n = output.shape
    resolutions = tuple(tuple(r) for r in resolutions)
    plans = _plans(resolutions, n)
    eps32 = np.float32(eps)
    gain_parameters = _gain_parameters(power_gains, float(eps32))
    sums = np.zeros((len(plans), 4))
    totals = [0.0] * len(plans)
    for c in range(channels):
        samples, target_samples = _samples32(output[c]), _samples32(target[c])
        for r, plan in enumerate(plans):
            scratch = np.empty((1, plan.bins, LANES), dtype=np.float32)  # one block of the target at a time
            totals[r] += _blocks_pass(samples, target_samples, plan.frame_count(n), *plan.kernel_args(), eps32,
                                      *gain_parameters, scratch, sums[r])
    return _results(sums, totals, len(power_gains), channels, n, plans)


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

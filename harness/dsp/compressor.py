"""Feed-forward, stereo-linked compressor after Giannoulis, Massberg & Reiss (2012).

D. Giannoulis, M. Massberg, J. D. Reiss, "Digital Dynamic Range Compressor Design - A Tutorial
and Analysis", JAES 60(6), 2012: log-domain gain computer with a quadratic soft knee (eq. 4),
followed by the smooth branching peak detector placed in the log domain after the gain
computer (eq. 17 applied to the gain reduction, their Fig. 7 design).

Per sample n, with T = threshold_db, R = ratio, W = knee_db, M = makeup_db:

    x_G[n] = 20 log10(max_c |x_c[n]|)                    stereo link: one detector for all channels
    y_G    = x_G                                         if 2 (x_G - T) <  -W
           = x_G + (1/R - 1) (x_G - T + W/2)^2 / (2W)    if 2 |x_G - T| <= W   (only when W > 0)
           = T + (x_G - T) / R                           if 2 (x_G - T) >   W
    x_L[n] = x_G[n] - y_G[n]                             gain reduction wanted, >= 0 dB
    y_L[n] = a_A y_L[n-1] + (1 - a_A) x_L[n]             if x_L[n] > y_L[n-1]   (attack)
           = a_R y_L[n-1] + (1 - a_R) x_L[n]             otherwise              (release)
    a_A = exp(-1 / (attack_ms/1000 * sr)),  a_R = exp(-1 / (release_ms/1000 * sr)),  y_L[-1] = 0
    y_c[n] = x_c[n] * 10^((M - y_L[n]) / 20)             same gain on every channel

Time constant: after a step in x_L, y_L covers 1 - 1/e of the step in attack_ms (rising gain
reduction) or release_ms (falling), to within one sample: 1 - a^n >= 1 - 1/e at n = tau * sr.

The kernel evaluates log2/exp2 with polynomials (error < 1e-7 dB) instead of libm per sample,
and clamps the detector level at 1e-30 (-600 dBFS) so digital silence stays finite.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from .biquad import _fma
from .params import ParamSpec, Processor, check_audio

_DB_PER_LOG2 = 20.0 * math.log10(2.0)  # 6.0206 dB per octave of amplitude
_LEVEL_FLOOR = 1e-30  # -600 dBFS: digital silence stays finite and far below any threshold
_BLOCK = 1024


def gain_computer_db(level_db: np.ndarray, threshold_db: float, ratio: float, knee_db: float) -> np.ndarray:
    """Static curve y_G(x_G) of GMR 2012 eq. 4 (vectorised reference, same branches as the kernel)."""
    x = np.asarray(level_db, dtype=np.float64)
    over = x - threshold_db
    compressed = threshold_db + over / ratio
    if knee_db <= 0.0:
        return np.where(over > 0.0, compressed, x)
    knee = x + (1.0 / ratio - 1.0) * (over + knee_db / 2.0) ** 2 / (2.0 * knee_db)
    return np.where(2.0 * over < -knee_db, x, np.where(2.0 * over > knee_db, compressed, knee))


def smoothing_coefficient(time_ms: float, sr: float) -> float:
    """One-pole coefficient exp(-1/(tau*sr)): the step response reaches 1 - 1/e after tau."""
    return math.exp(-1.0 / (time_ms * 1e-3 * sr))


@dataclass(frozen=True)
class Compressor(Processor):
    """Feed-forward soft-knee compressor, log-domain smooth branching detector, stereo-linked."""

    threshold_db: float = -18.0
    ratio: float = 4.0
    knee_db: float = 6.0
    attack_ms: float = 10.0
    release_ms: float = 100.0
    makeup_db: float = 0.0
    KIND: ClassVar[str] = "compressor"
    SPECS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("threshold_db", -60.0, 0.0, -18.0, "lin", "dBFS", "level where compression starts (knee centre)"),
        ParamSpec("ratio", 1.0, 20.0, 4.0, "log", ":1", "input dB over threshold per output dB"),
        ParamSpec("knee_db", 0.0, 24.0, 6.0, "lin", "dB", "width W of the quadratic soft knee; 0 = hard"),
        ParamSpec("attack_ms", 0.1, 200.0, 10.0, "log", "ms", "time constant of rising gain reduction"),
        ParamSpec("release_ms", 1.0, 3000.0, 100.0, "log", "ms", "time constant of falling gain reduction"),
        ParamSpec("makeup_db", -12.0, 24.0, 0.0, "lin", "dB", "gain added after compression"),
    )

    def gain_db(self, audio: np.ndarray, sr: float) -> np.ndarray:
        """Per-sample gain M - y_L[n] in dB that ``render`` applies to every channel."""
        check_audio(audio, sr)
        gains = np.empty(audio.shape[1], dtype=np.float64)
        _compress(np.ascontiguousarray(audio), *self._kernel_args(sr), np.empty((0, 0)), gains, False)
        return gains

    def render(self, audio: np.ndarray, sr: float) -> np.ndarray:
        check_audio(audio, sr)
        out = np.empty(audio.shape, dtype=audio.dtype)  # the kernel rounds once, on store
        self.render_into(audio, sr, out)
        return out

    def render_into(self, audio: np.ndarray, sr: float, out: np.ndarray) -> None:
        """``render`` writing into ``out`` (same shape and dtype; may be ``audio`` itself: each
        block's detector reads it before the block is overwritten)."""
        check_audio(audio, sr)
        if out.shape != audio.shape or out.dtype != audio.dtype or not out.flags.c_contiguous:
            raise ValueError("out must be a C-contiguous array with the input's shape and dtype")
        _compress(np.ascontiguousarray(audio), *self._kernel_args(sr), out, np.empty(0), True)

    def _kernel_args(self, sr: float) -> tuple[float, ...]:
        return (
            self.threshold_db,
            self.ratio,
            self.knee_db,
            smoothing_coefficient(self.attack_ms, sr),
            smoothing_coefficient(self.release_ms, sr),
            self.makeup_db,
        )


# -- kernel -------------------------------------------------------------------------------------


_MANTISSA = 0x000FFFFFFFFFFFFF
_EXPONENT_ONE = 0x3FF0000000000000  # bit pattern of 1.0
_SQRT2 = 1.4142135623730951
_LN2 = 0.6931471805599453


@njit(cache=True, error_model="numpy")
def _log2_block(x, m, scratch_bits, out):  # pragma: no cover - compiled
    # Bit-level split x = mant * 2^e (no libm call, so the loop vectorises), then
    # ln(mant) = 2 atanh(s), s = (mant-1)/(mant+1), |s| < 0.172 once mant is folded into
    # [sqrt(1/2), sqrt(2)): the odd series to s^9 leaves < 1e-9 relative error.
    bits = x.view(np.int64)
    for i in range(m):
        scratch_bits[i] = (bits[i] & _MANTISSA) | _EXPONENT_ONE
    mant_all = scratch_bits.view(np.float64)
    for i in range(m):
        e = np.float64((bits[i] >> 52) - 1023)
        mant = mant_all[i]
        if mant > _SQRT2:
            mant *= 0.5
            e += 1.0
        s = (mant - 1.0) / (mant + 1.0)
        s2 = s * s
        ln_mant = 2.0 * s * (1.0 + s2 * (1.0 / 3.0 + s2 * (1.0 / 5.0 + s2 * (1.0 / 7.0 + s2 * (1.0 / 9.0)))))
        out[i] = e + ln_mant * 1.4426950408889634


@njit(cache=True, error_model="numpy")
def _exp2_block(y, m, scratch_bits, out):  # pragma: no cover - compiled
    # 2^y = 2^k * e^(f ln2) with k = round(y), f in [-0.5, 0.5]: Taylor to degree 8 leaves
    # < 3e-10 relative error; 2^k is built from its bit pattern.
    for i in range(m):
        v = min(max(y[i], -1000.0), 1000.0)
        k = np.floor(v + 0.5)
        scratch_bits[i] = (np.int64(k) + 1023) << 52
        u = (v - k) * _LN2
        out[i] = 1.0 + u * (1.0 + u * (0.5 + u * (1.0 / 6.0 + u * (1.0 / 24.0 + u * (1.0 / 120.0 + u * (
            1.0 / 720.0 + u * (1.0 / 5040.0 + u * (1.0 / 40320.0))))))))
    scale = scratch_bits.view(np.float64)
    for i in range(m):
        out[i] *= scale[i]


@njit(cache=True, error_model="numpy")
def _compress(x, threshold, ratio, knee, a_attack, a_release, makeup, out, gains_db, apply):  # pragma: no cover
    n_channels, n = x.shape
    slope = 1.0 / ratio - 1.0
    half_knee = 0.5 * knee
    level = np.empty(_BLOCK)
    reduction = np.empty(_BLOCK)
    bits = np.empty(_BLOCK, dtype=np.int64)
    y_l = 0.0
    for start in range(0, n, _BLOCK):
        m = min(_BLOCK, n - start)
        # stereo link: one detector on the loudest channel. The loops index 1-D row slices:
        # numba's 2-D indexing keeps LLVM from vectorising them (about 6x slower).
        first = x[0, start:start + m]
        for i in range(m):
            v = abs(np.float64(first[i]))
            level[i] = _LEVEL_FLOOR if _LEVEL_FLOOR > v else v  # max(v, floor), NaN kept
        for c in range(1, n_channels):
            row = x[c, start:start + m]
            for i in range(m):
                v = abs(np.float64(row[i]))
                level[i] = v if v > level[i] else level[i]
        _log2_block(level, m, bits, reduction)
        # gain computer (static curve) as gain reduction x_L = x_G - y_G >= 0
        for i in range(m):
            over = reduction[i] * _DB_PER_LOG2 - threshold
            if knee > 0.0 and 2.0 * abs(over) <= knee:
                t = over + half_knee
                reduction[i] = -slope * t * t / (2.0 * knee)
            elif over > half_knee:
                reduction[i] = -slope * over
            else:
                reduction[i] = 0.0
        # smooth branching peak detector on the gain reduction: the only serial part
        # (both candidates are formed, then one is picked: the loop-carried chain is one
        # fused multiply-add and a select; the (1 - a) x_L terms lie off it)
        for i in range(m):
            target = reduction[i]
            attacked = _fma(a_attack, y_l, (1.0 - a_attack) * target)
            released = _fma(a_release, y_l, (1.0 - a_release) * target)
            y_l = attacked if target > y_l else released
            reduction[i] = makeup - y_l  # now the gain in dB
        if gains_db.shape[0] > 0:
            for i in range(m):
                gains_db[start + i] = reduction[i]
        if apply:
            for i in range(m):
                reduction[i] *= 1.0 / _DB_PER_LOG2
            _exp2_block(reduction, m, bits, level)
            for c in range(n_channels):
                row = x[c, start:start + m]
                target_row = out[c, start:start + m]
                for i in range(m):
                    target_row[i] = np.float64(row[i]) * level[i]


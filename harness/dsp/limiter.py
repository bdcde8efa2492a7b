"""Look-ahead true-peak limiter (ITU-R BS.1770-4 Annex 2 style 4x detection), stereo-linked.

Per sample n (all channels share one gain):

1. Detect. For each interval [n, n+1) and channel, interpolate x at n + 1/4, 1/2, 3/4 with a
   24-tap Kaiser-windowed sinc per phase (beta 5, unit DC gain; the n + 0 point is x[n]), and
   refine every local maximum of |.| on that 4x grid with the parabola through it and its two
   neighbours: height b + (c - a)^2 / (8 (2b - a - c)), capped at (2b - a - c)/8. The parabola
   recovers what the grid misses between points (up to 0.69 dB at Nyquist, < 0.08 dB after).
   The four points of the BS.1770-4 Annex 2 48-tap interpolator that fall in the interval are
   included too, so the limiter also satisfies the standard meter, whose passband ripple
   reads tones near fs/4 up to 0.22 dB hot. peak[n] = max over all of these and the channels.
2. Required gain r[n] = min(1, c / peak[n]), c = 10^((ceiling_dbtp - MARGIN_DB)/20).
3. Hold: h[n] = min r over [n - HOLD, n + L - 1 + HOLD] (van Herk / Gil-Werman, O(1) per sample),
   L = D - HOLD + 1 the attack length, D the look-ahead in samples. HOLD = 12 is the
   interpolator's half-length, so the gain is flat wherever a peak's interpolation looks.
4. Release: e[n] = min(h[n], a_R e[n-1] + (1 - a_R) h[n]), a_R = exp(-1/(release_s * sr)), e = 1 before
   (falls at once with h, recovers towards it exponentially).
5. Attack: g[n] = mean(e[n-L+1 .. n]) (a linear ramp over L samples). Every e[j] in that window
   is <= r[k] for all k in [n - HOLD, n + HOLD], hence g[n] <= r[n]: the gain reaches each
   peak's requirement before the peak and stays there while the interpolator sees it.
6. Output y[n] = g[n] x[n], aligned with the input (the signal is taken as silent outside the
   clip). A streaming plugin needs the look-ahead as latency and outputs y[n - D] at time n;
   ``render(..., aligned=False)`` returns exactly that.

MARGIN_DB absorbs the detector's residual under-read and the gain's change inside the
interpolator window. Tests measure the output with an independent 16x oversampler
(scipy.signal.resample_poly) and the harness BS.1770 meter.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
from numba import njit

from harness.metrics.peaks import TRUE_PEAK_TAPS

from .params import ParamSpec, Processor, check_audio

TAPS = 24  # per polyphase branch; the detector's loops spell 24 and 12 as literals so they unroll
HOLD = TAPS // 2
MARGIN_DB = 0.05
KAISER_BETA = 5.0
_BLOCK = 2048  # detection block (intervals)
_RESUM = 64  # van Herk blocks between exact re-sums of the attack average

# BS.1770-4 Annex 2 interpolator (one definition, in the meter): y[4m + p] = sum_k BS1770_TAPS[p, k] * x[m - k];
# its points lie in the interval [m - 6, m - 5).
BS1770_TAPS = TRUE_PEAK_TAPS


def interpolator_taps() -> np.ndarray:
    """(3, TAPS) float64: row p-1 estimates x(n + p/4) from x[n - 11 .. n + 12]."""
    k = np.arange(-TAPS // 2 + 1, TAPS // 2 + 1, dtype=np.float64)
    rows = []
    for p in (1, 2, 3):
        d = k - p / 4.0
        window = np.i0(KAISER_BETA * np.sqrt(np.clip(1.0 - (d / (TAPS / 2)) ** 2, 0.0, None))) / np.i0(KAISER_BETA)
        h = np.sinc(d) * window
        rows.append(h / h.sum())  # unit DC gain: DC reads as itself
    return np.array(rows)


# Forward-indexed float32 copies for the kernel: sinc rows act on x[n - 11 + j], the Annex rows
# (reversed) on x[n - 5 + j].
_SINC32 = np.ascontiguousarray(interpolator_taps(), dtype=np.float32)
_ANNEX32 = np.ascontiguousarray(BS1770_TAPS[:, ::-1], dtype=np.float32)

# Upper bound on the detector's output per unit of max |x| over the taps' window: an
# interpolated point is at most sum |h| times that (a sample at most 1), the parabola lifts a
# local maximum m by at most min(d^2/(8 den), den/8) <= |d|/8 <= m/4, and the Annex points
# are read unrefined. The 1e-3 covers float32 rounding in the sums many times over. Where the
# bound is below the ceiling the required gain is exactly 1 whatever the precise peak, so the
# limiter skips detection there (most of a mastered programme) without changing its output.
PEAK_BOUND_GAIN = max(
    1.25 * max(float(np.abs(_SINC32.astype(np.float64)).sum(axis=1).max()), 1.0),
    float(np.abs(_ANNEX32.astype(np.float64)).sum(axis=1).max()),
) * (1.0 + 1e-3)
_RUN = 64  # intervals per skip decision: short enough to skip between a programme's peaks


def interval_true_peaks(audio: np.ndarray) -> np.ndarray:
    """Detector output (float32): peak of |x| over [n, n+1) for n in [-HOLD, N + HOLD), max over channels."""
    x = np.ascontiguousarray(audio)
    peaks = np.zeros(x.shape[1] + 2 * HOLD, dtype=np.float32)
    _detect(x, _SINC32, _ANNEX32, peaks, 0, -1.0)
    return peaks


@dataclass(frozen=True)
class TruePeakLimiter(Processor):
    """Brick-wall true-peak limiter with look-ahead; ``render`` output is aligned with its input."""

    ceiling_dbtp: float = -1.0
    release_ms: float = 50.0
    lookahead_ms: float = 2.0
    KIND: ClassVar[str] = "limiter"
    SPECS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("ceiling_dbtp", -20.0, 0.0, -1.0, "lin", "dBTP", "maximum true peak of the output"),
        ParamSpec("release_ms", 1.0, 1000.0, 50.0, "log", "ms", "time constant of gain recovery"),
        ParamSpec("lookahead_ms", 0.5, 10.0, 2.0, "log", "ms", "latency; the gain ramps down over it"),
    )

    def latency_samples(self, sr: float) -> int:
        """Look-ahead D in samples (at least HOLD): the delay a streaming implementation adds."""
        return max(int(round(self.lookahead_ms * 1e-3 * sr)), HOLD)

    def gain(self, audio: np.ndarray, sr: float) -> np.ndarray:
        """Per-sample linear gain g[n] (aligned) that ``render`` applies to every channel."""
        check_audio(audio, sr)
        gains = np.empty(audio.shape[1], dtype=np.float64)
        self._run(audio, sr, 0, np.empty((0, 0), dtype=audio.dtype), gains)
        return gains

    def render(self, audio: np.ndarray, sr: float, *, aligned: bool = True) -> np.ndarray:
        """Limited audio, same shape and dtype. ``aligned=False``: delayed by ``latency_samples``
        like the streaming plugin (first D samples silent, the last D samples' output cut)."""
        check_audio(audio, sr)
        out = np.empty(audio.shape, dtype=audio.dtype)
        delay = 0 if aligned else min(self.latency_samples(sr), audio.shape[1])
        self._run(audio, sr, delay, out, np.empty(0))
        return out

    def render_into(self, audio: np.ndarray, sr: float, out: np.ndarray) -> None:
        """Aligned ``render`` writing into ``out`` (same shape and dtype; may be ``audio`` itself:
        detection reads everything first, then each sample is read before it is overwritten)."""
        check_audio(audio, sr)
        if out.shape != audio.shape or out.dtype != audio.dtype or not out.flags.c_contiguous:
            raise ValueError("out must be a C-contiguous array with the input's shape and dtype")
        self._run(audio, sr, 0, out, np.empty(0))

    def _run(self, audio: np.ndarray, sr: float, delay: int, out: np.ndarray, gains: np.ndarray) -> None:
        x = np.ascontiguousarray(audio)
        attack = self.latency_samples(sr) - HOLD + 1
        # required[q] is the gain needed at sample q - (HOLD + attack - 1): room for the ramp
        # that precedes sample 0 and for the van Herk block after the last sample.
        window = attack + 2 * HOLD
        steps = x.shape[1] + attack - 1
        size = (-(-steps // window) + 1) * window
        required = np.zeros(size, dtype=np.float32)
        ceiling = 10.0 ** ((self.ceiling_dbtp - MARGIN_DB) / 20.0)
        _detect(x, _SINC32, _ANNEX32, required, attack - 1, ceiling / PEAK_BOUND_GAIN)
        release = math.exp(-1.0 / (self.release_ms * 1e-3 * sr))
        _limit(x, required, ceiling, attack, release, delay, out, gains)


# -- kernels ------------------------------------------------------------------------------------


@njit(cache=True, error_model="numpy", inline="always")
def _refined(a, b, c):  # pragma: no cover - compiled
    # Height of the parabola through (-1, a), (0, b), (1, c) when |b| is a local maximum of |.|;
    # selects instead of branches so the loop vectorises (float32: 16 lanes).
    m = abs(b)
    sign = np.float32(1.0) if b >= 0 else np.float32(-1.0)
    den = np.float32(2.0) * m - sign * (a + c)  # >= 0 at a local maximum
    d = c - a
    corr = d * d / (np.float32(8.0) * den) if den > 0 else np.float32(0.0)
    corr = min(corr, np.float32(0.125) * den)  # the vertex never lies beyond the neighbours
    local_max = (m >= abs(a)) & (m >= abs(c))
    return m + corr if local_max else m


@njit(cache=True, error_model="numpy")
def _detect(x, sinc, annex, peaks, offset, quiet_level):  # pragma: no cover - compiled
    # peaks[offset + j] = max(peaks[...], peak of interval j - HOLD) for j in [0, n + 2 HOLD),
    # except that a channel's run of _RUN intervals whose every input sample is <= quiet_level
    # (whose peak therefore cannot exceed quiet_level * PEAK_BOUND_GAIN) is not evaluated and
    # contributes 0. Pass a negative quiet_level for the exact peaks everywhere.
    n_channels, n = x.shape
    count = n + 2 * HOLD
    seg = np.zeros(_BLOCK + 1 + 2 * TAPS, dtype=np.float32)
    g1 = np.empty(_BLOCK + 1, dtype=np.float32)
    g2 = np.empty(_BLOCK + 1, dtype=np.float32)
    g3 = np.empty(_BLOCK + 1, dtype=np.float32)
    best = np.empty(_BLOCK, dtype=np.float32)
    h1 = sinc[0].copy()  # 1-D contiguous rows let LLVM keep the taps in registers
    h2 = sinc[1].copy()
    h3 = sinc[2].copy()
    q0 = annex[0].copy()
    q1 = annex[1].copy()
    q2 = annex[2].copy()
    q3 = annex[3].copy()
    for j0 in range(0, count, _BLOCK):
        m = min(_BLOCK, count - j0)
        for i in range(m):
            best[i] = 0.0
        # seg[k] = x[s0 - 1 - 11 + k] (zero outside the clip), s0 = j0 - HOLD the first interval
        first = j0 - HOLD - 1 - (HOLD - 1)
        span = m + 1 + TAPS
        lo = max(0, -first)
        hi = min(span, n - first)
        for c in range(n_channels):
            for k in range(span):
                seg[k] = 0.0
            if hi > lo:
                row = x[c, first + lo:first + hi]  # a 1-D slice: 2-D indexing would not vectorise
                for k in range(hi - lo):
                    seg[lo + k] = row[k]
            # consecutive runs that need evaluating go to _detect_run together (long loops
            # vectorise better); quiet runs end such a stretch
            loud_from = 0
            for r0 in range(0, m, _RUN):
                r1 = min(r0 + _RUN, m)
                # intervals r0 .. r1-1 read seg[r0 .. r1 + 23] (see _detect_run)
                quiet = 0
                for k in range(r0, r1 + TAPS):
                    quiet += np.float64(abs(seg[k])) <= quiet_level
                if quiet == r1 + TAPS - r0:
                    if r0 > loud_from:
                        _detect_run(seg[loud_from:r0 + 1 + TAPS], r0 - loud_from, h1, h2, h3, q0, q1, q2, q3,
                                    g1, g2, g3, best[loud_from:r0])
                    loud_from = r1
            if m > loud_from:
                _detect_run(seg[loud_from:m + 1 + TAPS], m - loud_from, h1, h2, h3, q0, q1, q2, q3,
                            g1, g2, g3, best[loud_from:m])
        for i in range(m):
            peaks[offset + j0 + i] = max(peaks[offset + j0 + i], best[i])


@njit(cache=True, error_model="numpy")
def _detect_run(seg, m, h1, h2, h3, q0, q1, q2, q3, g1, g2, g3, best):  # pragma: no cover - compiled
    # One channel's peaks of m intervals into best (max with what it holds); seg[k] = x[s0 - 12 + k],
    # s0 the first interval. A function of its own, with loops from 0: LLVM vectorises these
    # loops there (inside _detect's skip loop it did not, 10x slower).
    # sinc phases of intervals s0+r0-1 .. s0+r1-1 (one extra on the left for the refinement)
    for i in range(m + 1):
        a1 = np.float32(0.0)
        a2 = np.float32(0.0)
        a3 = np.float32(0.0)
        for k in range(24):
            v = seg[i + k]
            a1 += h1[k] * v
            a2 += h2[k] * v
            a3 += h3[k] * v
        g1[i] = a1
        g2[i] = a2
        g3[i] = a3
    for i in range(m):
        # interval s0+i: x[s] = seg[i + 12], x[s+1] = seg[i + 13]
        xs = seg[i + HOLD]
        xn = seg[i + HOLD + 1]
        p0 = _refined(g3[i], xs, g1[i + 1])
        p1 = _refined(xs, g1[i + 1], g2[i + 1])
        p2 = _refined(g1[i + 1], g2[i + 1], g3[i + 1])
        p3 = _refined(g2[i + 1], g3[i + 1], xn)
        best[i] = max(best[i], max(max(p0, p1), max(p2, p3)))
    for i in range(m):
        # Annex points of interval s0+i read x[s - 5 .. s + 6] = seg[i + 7 .. i + 18]
        b0 = np.float32(0.0)
        b1 = np.float32(0.0)
        b2 = np.float32(0.0)
        b3 = np.float32(0.0)
        for k in range(12):
            v = seg[i + 7 + k]
            b0 += q0[k] * v
            b1 += q1[k] * v
            b2 += q2[k] * v
            b3 += q3[k] * v
        best[i] = max(best[i], max(max(abs(b0), abs(b1)), max(abs(b2), abs(b3))))


@njit(cache=True, error_model="numpy")
def _limit(x, required, ceiling, attack, a_release, delay, out, gains):  # pragma: no cover - compiled
    # required holds peaks on entry (0 = silent). Streams van Herk blocks of `window` samples:
    # block B's output needs block B's suffix minima and block B+1's prefix minima.
    n_channels, n = x.shape
    window = attack + 2 * HOLD
    steps = n + attack - 1
    size = required.shape[0]
    required_bits = required.view(np.int32)
    for q in range(size):
        p = np.float64(required[q])
        r = ceiling / p if p > ceiling else 1.0
        r32 = np.float32(r)
        required[q] = r32
        # round the stored requirement down, never up, so g <= c / peak holds exactly
        # (a positive float32's bit pattern minus one is the next float32 towards zero)
        required_bits[q] -= np.int32(1) if r32 > r else np.int32(0)
    suffix = np.empty(window)
    env = np.ones(2 * window)  # [previous block | current block]
    block_gain = np.empty(window)
    e = 1.0
    total = np.float64(attack)  # sum of the last `attack` envelope values
    n_blocks = size // window - 1
    for b in range(n_blocks):
        base = b * window
        run = np.float64(required[base + window - 1])
        for k in range(window - 1, -1, -1):
            run = min(run, np.float64(required[base + k]))
            suffix[k] = run
        # held(t) = min(required[t .. t + window - 1]) = min(suffix[k], next block's prefix[k - 1])
        for k in range(window):
            env[k] = env[window + k]
        # the next block's prefix minimum is built in the same loop: two independent chains
        nxt = base + window
        run = np.float64(required[nxt])
        for k in range(window):
            held = min(suffix[k], run) if k > 0 else suffix[0]
            run = min(run, np.float64(required[nxt + k]))
            e = min(held, a_release * e + (1.0 - a_release) * held)
            env[window + k] = e
            total += e - env[window + k - attack]
            block_gain[k] = total
        for k in range(window):  # the division, off the serial loop so it vectorises
            g = block_gain[k] / attack
            block_gain[k] = g if g < 1.0 else 1.0
        if b % _RESUM == _RESUM - 1:
            total = 0.0  # re-sum exactly now and then so rounding cannot drift
            for k in range(2 * window - attack, 2 * window):
                total += env[k]
        # step t = base + k drives sample i = t - (attack - 1)
        i0 = base - (attack - 1)
        k_lo = max(0, -i0)
        k_hi = min(window, steps - base)
        if gains.shape[0] > 0:
            for k in range(k_lo, k_hi):
                gains[i0 + k] = block_gain[k]
        else:
            k_hi = min(k_hi, n - delay - i0)
            for c in range(n_channels):
                if k_hi > k_lo:  # 1-D slices: 2-D indexing would not vectorise
                    row = x[c, i0 + k_lo:i0 + k_hi]
                    target_row = out[c, i0 + k_lo + delay:i0 + k_hi + delay]
                    for k in range(k_hi - k_lo):
                        target_row[k] = np.float64(row[k]) * block_gain[k_lo + k]
    if gains.shape[0] == 0:
        for c in range(n_channels):
            for i in range(min(delay, n)):
                out[c, i] = 0.0

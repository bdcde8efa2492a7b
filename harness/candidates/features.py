"""Analysis helpers the rule-based and matching baselines share.

Everything here is a pure function of the audio a candidate is allowed to see. Meters come from
`harness.metrics`; a meter that cannot measure (silence, too short) yields None here, so every
baseline degrades to a neutral setting instead of raising.

Contents:
- safe meters (`loudness_db`, `crest_db`, `centroid_hz`) and `curve()` (1/3-octave
  tonal balance with a level reference removed);
- `EqFitter`: regularised Levenberg-Marquardt/Gauss-Newton fit of the 6-band EQ to a dB curve,
  evaluated as band power averages so it predicts what `tonal_balance_db` will read;
- `vocal_presence()`: the detector behind the rules baseline's vocal rule;
- `to_loudness()`: makeup gain + true-peak limiter iterated onto a loudness target;
- `clip_processor()`: any processor's parameters clipped into the renderer's ranges.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Callable, Sequence

import numpy as np
import scipy.signal

from harness.dsp import EQ, Compressor, HighShelf, LowShelf, MasteringChain, Peak, TruePeakLimiter
from harness.metrics import (
    Unmeasurable,
    crest_factor_db,
    integrated_loudness_lufs,
    spectral_centroid_hz,
    tonal_balance_db,
)

# Bands the curves are compared over: below 31.5 Hz little music lives and the Welch bins are
# coarse; 16 kHz is the top band that exists at 44.1 kHz too.
CURVE_LO_HZ = 31.5
CURVE_HI_HZ = 16000.0
CURVE_RANGE_DB = 60.0  # bands more than this below the loudest band are not fitted (as tonal_balance_error_db)
NEUTRAL_SILENCE_DB = -150.0


# -- safe meters ------------------------------------------------------------------------------


def finite_audio(audio: np.ndarray) -> np.ndarray:
    """float64 (ch, n) copy with NaN/Inf replaced by 0, so meters and renderers never see them."""
    x = np.asarray(audio, dtype=np.float64)
    if x.ndim == 1:
        x = x[None, :]
    return np.nan_to_num(x, nan=0.0, posinf=0.0, neginf=0.0)


def _try(fn: Callable[[], float]) -> float | None:
    try:
        v = float(fn())
    except Unmeasurable:
        return None
    return v if math.isfinite(v) else None


def loudness_db(audio: np.ndarray, sr: float) -> float | None:
    """Integrated loudness (LUFS); for clips under 0.4 s or below the -70 LUFS gate, an
    un-gated, un-weighted mean-square level on the same scale (-0.691 + 10 log10 sum of channel
    mean squares) so very short or very quiet clips still get a level; None for digital silence."""
    x = finite_audio(audio)
    v = _try(lambda: integrated_loudness_lufs(x, sr))
    if v is not None:
        return v
    if x.shape[1] == 0:
        return None
    power = float(np.sum(np.mean(x**2, axis=1)))
    if power <= 1e-20:
        return None
    return -0.691 + 10.0 * math.log10(power)


def crest_db(audio: np.ndarray, sr: float) -> float | None:
    x = finite_audio(audio)
    return _try(lambda: crest_factor_db(x, sr)) if x.shape[1] else None


def centroid_hz(audio: np.ndarray, sr: float) -> float | None:
    x = finite_audio(audio)
    return _try(lambda: spectral_centroid_hz(x, sr))


@dataclass(frozen=True)
class Curve:
    """A 1/3-octave tonal balance with its level reference removed, and which bands count."""

    centres_hz: np.ndarray
    levels_db: np.ndarray  # level minus the clip's mean level over `valid`
    valid: np.ndarray  # bool: band has content (within CURVE_RANGE_DB of the loudest) and is in range


def curve(audio: np.ndarray, sr: float) -> Curve | None:
    """Loudness-normalised 1/3-octave tonal balance (mean over valid bands subtracted); None if unmeasurable."""
    x = finite_audio(audio)
    try:
        bands = tonal_balance_db(x, sr)
    except Unmeasurable:
        return None
    levels = np.asarray(bands.levels_db, dtype=np.float64)
    centres = np.asarray(bands.centres_hz, dtype=np.float64)
    valid = (centres >= CURVE_LO_HZ) & (centres <= CURVE_HI_HZ) & (levels >= levels.max() - CURVE_RANGE_DB)
    if valid.sum() < 3:
        return None
    return Curve(centres, levels - levels[valid].mean(), valid)


def band_level_db(c: Curve, lo_hz: float, hi_hz: float) -> float | None:
    """Power sum (dB, on the curve's normalised scale) of the valid bands with centres in [lo, hi]."""
    sel = c.valid & (c.centres_hz >= lo_hz) & (c.centres_hz <= hi_hz)
    if not sel.any():
        return None
    return float(10.0 * np.log10(np.sum(10.0 ** (c.levels_db[sel] / 10.0))))


# -- range clipping ---------------------------------------------------------------------------


def clip_processor(proc: Any) -> Any:
    """The same processor type with every parameter clipped into its SPECS range (NaN -> default)."""
    flat = proc.to_dict()
    out = {}
    for s in proc.SPECS:
        v = flat[s.name]
        out[s.name] = s.default if not math.isfinite(v) else s.clip(v)
    return type(proc).from_dict(out)


# -- EQ fitting -------------------------------------------------------------------------------

_BAND_NAMES = ("low_shelf", "peak1", "peak2", "peak3", "peak4", "high_shelf")
_POINTS_PER_BAND = 7  # log-spaced evaluation points inside each 1/3-octave band
_FIT_Q_RANGE = (0.3, 6.0)  # the 1/3-octave analysis cannot resolve narrower bells
_SHELF_LO_RANGE = (30.0, 600.0)
_SHELF_HI_RANGE = (1000.0, 16000.0)
_PEAK_RANGE = (35.0, 15000.0)
_MAX_FIT_GAIN_DB = 12.0


class EqFitter:
    """Fit EQ band parameters so the EQ's band-averaged response approximates a desired dB curve.

    Desired curve `want_db` per 1/3-octave band (positive = boost there), weights per band. Model
    of one band's reading: 10 log10 of the mean power gain over log-spaced points inside the band
    (music is roughly pink, i.e. equal power per log-frequency, so this is what the tonal-balance
    meter reads after the EQ). Objective: sum_b w_b (r_b(p) - want_b)^2 + ridge * sum gains^2.

    1. Start: shelves at fixed corners, gains by linear least squares (dB response ~ linear in
       gain); then up to four peaks placed greedily at the largest remaining residual (Q
       from the residual lobe's width, no two within 1/3 octave), gains re-solved jointly after each.
    2. Refine: 5 Levenberg-Marquardt (damped Gauss-Newton) steps on gains, log-frequencies and
       log-Qs with a finite-difference Jacobian; parameters kept inside fit ranges.
    3. Gains below `min_gain_db` in magnitude are zeroed (a flat band is a pass-through).
    """

    def __init__(self, centres_hz: np.ndarray, sr: float, ridge: float = 0.02, min_gain_db: float = 0.3) -> None:
        self.centres = np.asarray(centres_hz, dtype=np.float64)
        self.sr = float(sr)
        self.ridge = ridge
        self.min_gain_db = min_gain_db
        half = 10.0 ** (1.0 / 20.0)
        fr = np.geomspace(1.0 / half, half, _POINTS_PER_BAND)
        self.points = np.minimum((self.centres[:, None] * fr[None, :]).ravel(), 0.499 * self.sr)

    # response of a parameter vector p = [ls_f, ls_g, (pk_f, pk_g, pk_q) x4, hs_f, hs_g] (log f, log q)
    def _eq(self, p: np.ndarray) -> EQ:
        nyq = 0.49 * self.sr

        def f(v: float) -> float:
            return float(min(math.exp(v), nyq))

        def g(v: float) -> float:
            return float(np.clip(v, -18.0, 18.0))

        def q(v: float) -> float:
            return float(np.clip(math.exp(v), 0.1, 18.0))

        return EQ(
            low_shelf=LowShelf(f(p[0]), g(p[1])),
            peak1=Peak(f(p[2]), g(p[3]), q(p[4])),
            peak2=Peak(f(p[5]), g(p[6]), q(p[7])),
            peak3=Peak(f(p[8]), g(p[9]), q(p[10])),
            peak4=Peak(f(p[11]), g(p[12]), q(p[13])),
            high_shelf=HighShelf(f(p[14]), g(p[15])),
        )

    def band_response_db(self, eq: EQ) -> np.ndarray:
        h = eq.response_db(self.points, self.sr).reshape(len(self.centres), _POINTS_PER_BAND)
        return 10.0 * np.log10(np.mean(10.0 ** (h / 10.0), axis=1))

    def _response(self, p: np.ndarray) -> np.ndarray:
        return self.band_response_db(self._eq(p))

    @staticmethod
    def _gain_idx() -> list[int]:
        return [1, 3, 6, 9, 12, 15]

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lf = np.log
        nyq = 0.45 * self.sr
        lo = np.array([lf(_SHELF_LO_RANGE[0]), -_MAX_FIT_GAIN_DB] + [lf(_PEAK_RANGE[0]), -_MAX_FIT_GAIN_DB, lf(_FIT_Q_RANGE[0])] * 4
                      + [lf(_SHELF_HI_RANGE[0]), -_MAX_FIT_GAIN_DB])
        hi = np.array([lf(_SHELF_LO_RANGE[1]), _MAX_FIT_GAIN_DB]
                      + [lf(min(_PEAK_RANGE[1], nyq)), _MAX_FIT_GAIN_DB, lf(_FIT_Q_RANGE[1])] * 4
                      + [lf(min(_SHELF_HI_RANGE[1], nyq)), _MAX_FIT_GAIN_DB])
        return lo, hi

    def _solve_gains(self, p: np.ndarray, want: np.ndarray, w: np.ndarray, active: Sequence[int]) -> np.ndarray:
        """Linear ridge least squares for the gains of `active` bands (unit-gain responses as columns)."""
        p = p.copy()
        gi = self._gain_idx()
        cols = []
        for b in active:
            unit = p.copy()
            for k in gi:
                unit[k] = 0.0
            unit[gi[b]] = 1.0
            cols.append(self._response(unit))
        if not cols:
            return p
        a = np.stack(cols, axis=1)
        sw = np.sqrt(w)
        lhs = (a * sw[:, None]).T @ (a * sw[:, None]) + self.ridge * np.eye(len(active))
        rhs = (a * sw[:, None]).T @ (want * sw)
        gains = np.clip(np.linalg.solve(lhs, rhs), -_MAX_FIT_GAIN_DB, _MAX_FIT_GAIN_DB)
        for k in gi:
            p[k] = 0.0
        for b, gval in zip(active, gains):
            p[gi[b]] = gval
        return p

    def _cost(self, p: np.ndarray, want: np.ndarray, w: np.ndarray) -> float:
        r = self._response(p) - want
        return float(np.sum(w * r * r) + self.ridge * np.sum(p[self._gain_idx()] ** 2))

    def fit(self, want_db: np.ndarray, weights: np.ndarray, *, shelf_lo_hz: float = 100.0,
            shelf_hi_hz: float = 8000.0, n_peaks: int = 4, iterations: int = 5) -> EQ:
        want = np.asarray(want_db, dtype=np.float64)
        w = np.asarray(weights, dtype=np.float64)
        if not np.any(w > 0) or not np.all(np.isfinite(want)):
            return EQ()
        lf = math.log
        defaults = [(200.0, 1.0), (800.0, 1.0), (3000.0, 1.0), (8000.0, 1.0)]
        p = np.array([lf(shelf_lo_hz), 0.0] + sum(([lf(f), 0.0, lf(q)] for f, q in defaults), [])
                     + [lf(min(shelf_hi_hz, 0.4 * self.sr)), 0.0])
        active: list[int] = [0, 5]
        p = self._solve_gains(p, want, w, active)
        # greedy peaks at the largest weighted residual
        for slot in range(1, 1 + n_peaks):
            resid = (want - self._response(p)) * (w > 0)
            inside = (self.centres >= _PEAK_RANGE[0]) & (self.centres <= min(_PEAK_RANGE[1], 0.45 * self.sr))
            for b in active:  # one bell per region: not within 1/3 octave of an existing one
                if b not in (0, 5):
                    inside &= np.abs(np.log2(self.centres / math.exp(p[2 + 3 * (b - 1)]))) > 0.4
            score = np.abs(resid) * inside
            k = int(np.argmax(score))
            if score[k] < 0.5:
                break
            # width of the residual lobe around k (bands of the same sign above half its size) -> Q
            lobe = 1
            for step in (-1, 1):
                j = k + step
                while 0 <= j < len(resid) and resid[j] * resid[k] > 0 and abs(resid[j]) >= 0.5 * abs(resid[k]):
                    lobe += 1
                    j += step
            octaves = lobe / 3.0
            q0 = math.sqrt(2.0**octaves) / (2.0**octaves - 1.0)
            base = 2 + 3 * (slot - 1)
            p[base] = lf(self.centres[k])
            p[base + 2] = lf(float(np.clip(q0, 0.5, 4.0)))
            active.append(slot)
            p = self._solve_gains(p, want, w, active)
        # Levenberg-Marquardt refinement over every parameter of the active bands
        lo, hi = self._bounds()
        idx = []
        for b in active:
            if b == 0:
                idx += [0, 1]
            elif b == 5:
                idx += [14, 15]
            else:
                base = 2 + 3 * (b - 1)
                idx += [base, base + 1, base + 2]
        idx_arr = np.array(sorted(idx))
        p = np.clip(p, lo, hi)
        cost = self._cost(p, want, w)
        damping = 1e-2
        sw = np.sqrt(w)
        ridge_mask = np.isin(idx_arr, self._gain_idx()).astype(float)
        for _ in range(iterations):
            r0 = self._response(p)
            jac = np.empty((len(want), len(idx_arr)))
            for j, k in enumerate(idx_arr):
                step = 0.05 if k not in self._gain_idx() else 0.1
                q = p.copy()
                q[k] += step
                jac[:, j] = (self._response(q) - r0) / step
            resid = (r0 - want) * sw
            jw = jac * sw[:, None]
            grad = jw.T @ resid + self.ridge * ridge_mask * p[idx_arr]
            hess = jw.T @ jw + self.ridge * np.diag(ridge_mask)
            improved = False
            for _ in range(6):
                delta = np.linalg.solve(hess + damping * np.diag(np.diag(hess) + 1e-6), -grad)
                trial = p.copy()
                trial[idx_arr] += delta
                trial = np.clip(trial, lo, hi)
                c = self._cost(trial, want, w)
                if c < cost:
                    p, cost, damping, improved = trial, c, damping * 0.3, True
                    break
                damping *= 10.0
            if not improved:
                break
        gi = self._gain_idx()
        for k in gi:
            if abs(p[k]) < self.min_gain_db:
                p[k] = 0.0
        return clip_processor(self._eq(p))


# -- vocal detector ---------------------------------------------------------------------------

VOCAL_BAND_HZ = (300.0, 3400.0)  # the telephone speech band: a voice's harmonics and formants 1-3


@dataclass(frozen=True)
class VocalEvidence:
    band_share: float  # share of the mix's power in the vocal band
    harmonicity: float  # median over the loudest half of frames of the normalised autocorrelation peak
    present: bool


def vocal_presence(audio: np.ndarray, sr: float, *, band_share_min: float = 0.5,
                   harmonicity_min: float = 0.7) -> VocalEvidence | None:
    """Is a voice likely prominent in this mix? None when unmeasurable (silence, under 0.5 s).

    Two cues, both required (a documented heuristic, not a classifier):
    - band share: >= 50 % of the mono mix's power lies in 300-3400 Hz, where a voice's
      harmonics and first three formants sit (drums, bass and hats put theirs elsewhere);
    - voicing: over the loudest half of 40 ms frames of that band, the median normalised
      autocorrelation peak at 1-12.5 ms lags (80-1000 Hz pitch) is >= 0.7 (a sustained,
      strongly periodic source dominates the band).
    A syllable-rate cue (2-8 Hz envelope modulation, Scheirer & Slaney 1997) was tried and
    dropped: sung notes are held for beats, and drums modulate at the same rates.
    Known false positive: sustained harmonic pads filling the midrange (ambient mixes).
    """
    x = finite_audio(audio)
    n = x.shape[1]
    if n < int(0.5 * sr) or not np.any(x):
        return None
    mono = x.mean(axis=0)
    total = float(np.mean(mono**2))
    if total <= 1e-20:
        return None
    hi = min(VOCAL_BAND_HZ[1], 0.45 * sr)
    sos = scipy.signal.butter(4, [VOCAL_BAND_HZ[0], hi], btype="band", fs=sr, output="sos")
    band = scipy.signal.sosfilt(sos, mono)
    band_share = float(np.mean(band**2) / total)
    flen = int(0.04 * sr)
    nfr = len(band) // flen
    harmonicity = 0.0
    if nfr >= 2:
        fr = band[: nfr * flen].reshape(nfr, flen)
        fr = fr - fr.mean(axis=1, keepdims=True)
        energy = np.sum(fr**2, axis=1)
        loud = fr[(energy >= np.median(energy)) & (energy > 0)]
        if len(loud):
            lag_lo, lag_hi = int(sr / 1000.0), min(int(sr / 80.0), flen - 1)
            acf = np.fft.irfft(np.abs(np.fft.rfft(loud, 2 * flen, axis=1)) ** 2, axis=1)[:, :flen]
            harmonicity = float(np.median(np.max(acf[:, lag_lo:lag_hi], axis=1) / acf[:, 0]))
    present = band_share >= band_share_min and harmonicity >= harmonicity_min
    return VocalEvidence(band_share, harmonicity, present)


# -- loudness targeting -----------------------------------------------------------------------


def to_loudness(render_with_gain: Callable[[float], np.ndarray], sr: float, target_lufs: float, start_gain_db: float,
                gain_range: tuple[float, float], *, refinements: int = 6, tolerance_lu: float = 0.05) -> float:
    """Gain (dB, inside `gain_range`) for which `render_with_gain(gain)` measures `target_lufs`.

    Starts from `start_gain_db` and corrects by the measured error after each render: the first
    correction assumes 1 LU per dB; later ones use the slope measured between the last two renders
    (secant), because a limiter after the gain makes loudness grow slower than gain. At most
    `refinements` corrections, stopping within `tolerance_lu` or when the range is exhausted.
    """
    lo, hi = gain_range
    gain = float(np.clip(start_gain_db, lo, hi))
    prev: tuple[float, float] | None = None
    for _ in range(refinements):
        level = loudness_db(render_with_gain(gain), sr)
        if level is None:
            break
        err = target_lufs - level
        if abs(err) <= tolerance_lu:
            break
        slope = 1.0
        if prev is not None and gain != prev[0]:
            slope = float(np.clip((level - prev[1]) / (gain - prev[0]), 0.1, 1.5))
        new = float(np.clip(gain + err / slope, lo, hi))
        if new == gain:
            break
        prev = (gain, level)
        gain = new
    return gain


def flat_mastering(makeup_db: float, ceiling_dbtp: float) -> MasteringChain:
    """Loudness normalisation as a MasteringChain: flat EQ, ratio-1 compressor holding the gain, limiter."""
    return clip_processor(MasteringChain(
        eq=EQ(),
        compressor=Compressor(threshold_db=0.0, ratio=1.0, knee_db=0.0, attack_ms=10.0, release_ms=100.0,
                              makeup_db=float(np.clip(makeup_db, -12.0, 24.0))),
        limiter=TruePeakLimiter(ceiling_dbtp=float(np.clip(ceiling_dbtp, -20.0, 0.0))),
    ))

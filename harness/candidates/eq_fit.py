"""`EqFitter`: the six-band EQ whose band-averaged response best matches a desired 1/3-octave dB curve."""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from harness.dsp import EQ, HighShelf, LowShelf, Peak, biquad

_BAND_NAMES = ("low_shelf", "peak1", "peak2", "peak3", "peak4", "high_shelf")
_POINTS_PER_BAND = 7  # log-spaced evaluation points inside each 1/3-octave band
_FIT_Q_RANGE = (0.3, 6.0)  # the 1/3-octave analysis cannot resolve narrower bells
_SHELF_LO_RANGE = (30.0, 600.0)
_SHELF_HI_RANGE = (1000.0, 16000.0)
_PEAK_RANGE = (35.0, 15000.0)
_MAX_FIT_GAIN_DB = 12.0
# p = [ls_f, ls_g, (pk_f, pk_g, pk_q) x4, hs_f, hs_g]: where each band's parameters start, which band
# each parameter moves, and the specs EQ checks each band's values against
_PARAM_START = (0, 2, 5, 8, 11, 14)
_BAND_OF_PARAM = (0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3, 4, 4, 4, 5, 5)
_SPECS = (LowShelf.SPECS, Peak.SPECS, Peak.SPECS, Peak.SPECS, Peak.SPECS, HighShelf.SPECS)


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
        # z^-1 at the points, as biquad.frequency_response computes it: the fit evaluates thousands of
        # responses at these same points.
        self._z1 = np.exp(-2j * np.pi * np.asarray(self.points, dtype=np.float64) / self.sr)

    # response of a parameter vector p = [ls_f, ls_g, (pk_f, pk_g, pk_q) x4, hs_f, hs_g] (log f, log q)
    def eq_of(self, p: np.ndarray) -> EQ:
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
        return self._band_average(h)

    def _band_average(self, h_db: np.ndarray) -> np.ndarray:
        h = h_db.reshape(len(self.centres), _POINTS_PER_BAND)
        return 10.0 * np.log10(np.mean(10.0 ** (h / 10.0), axis=1))

    def response(self, p: np.ndarray) -> np.ndarray:
        return self.response_of_terms(self.band_terms(p))

    # The fit's inner loop (some 25,000 responses per mastering fit) skips building EQ objects: each
    # band's complex response ("term") comes from the same biquad coefficients and is multiplied in the
    # same order as EQ.response_db multiplies them, so every number is the same (tested), and a Jacobian
    # column recomputes only the band whose parameter it moves.
    def _band_values(self, p: np.ndarray, band: int) -> tuple[float, ...]:
        """(freq, gain[, q]) of one band, as eq_of clamps them."""
        i = _PARAM_START[band]
        f = float(min(math.exp(p[i]), 0.49 * self.sr))
        g = float(np.clip(p[i + 1], -18.0, 18.0))
        if band in (0, 5):
            return f, g
        return f, g, float(np.clip(math.exp(p[i + 2]), 0.1, 18.0))

    def band_term(self, p: np.ndarray, band: int) -> np.ndarray:
        values = self._band_values(p, band)
        if not all(spec.min <= v <= spec.max for spec, v in zip(_SPECS[band], values)):
            self.eq_of(p)  # raises what EQ raises for a value out of its range
        if band == 0:
            coefficients = biquad.lowshelf(values[0], values[1], self.sr)
        elif band == 5:
            coefficients = biquad.highshelf(values[0], values[1], self.sr)
        else:
            coefficients = biquad.peaking(values[0], values[1], values[2], self.sr)
        b0, b1, b2, a1, a2 = np.asarray(coefficients, dtype=np.float64)
        z1 = self._z1
        return (b0 + (b1 + b2 * z1) * z1) / (1.0 + (a1 + a2 * z1) * z1)

    def band_terms(self, p: np.ndarray) -> list[np.ndarray]:
        return [self.band_term(p, band) for band in range(len(_BAND_NAMES))]

    def response_of_terms(self, terms: list[np.ndarray]) -> np.ndarray:
        h = np.ones_like(self._z1)
        for term in terms:
            h *= term
        return self._band_average(20.0 * np.log10(np.abs(h)))

    @staticmethod
    def _gain_idx() -> list[int]:
        return [1, 3, 6, 9, 12, 15]

    def _bounds(self) -> tuple[np.ndarray, np.ndarray]:
        lf = np.log
        nyq = 0.45 * self.sr
        lo = np.array([lf(_SHELF_LO_RANGE[0]), -_MAX_FIT_GAIN_DB]
                      + [lf(_PEAK_RANGE[0]), -_MAX_FIT_GAIN_DB, lf(_FIT_Q_RANGE[0])] * 4
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
            cols.append(self.response(unit))
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
        r = self.response(p) - want
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
            resid = (want - self.response(p)) * (w > 0)
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
            terms = self.band_terms(p)
            r0 = self.response_of_terms(terms)
            jac = np.empty((len(want), len(idx_arr)))
            for j, k in enumerate(idx_arr):
                step = 0.05 if k not in self._gain_idx() else 0.1
                q = p.copy()
                q[k] += step
                moved = list(terms)
                moved[_BAND_OF_PARAM[k]] = self.band_term(q, _BAND_OF_PARAM[k])
                jac[:, j] = (self.response_of_terms(moved) - r0) / step
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
        return self.eq_of(p).clipped()

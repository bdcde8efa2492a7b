"""Meters the baselines may call on any audio: None instead of an exception when a meter cannot measure.

Everything here is a pure function of the audio a candidate is allowed to see. Meters come from
`harness.metrics`; a meter that cannot measure (silence, too short) yields None here, so every
baseline degrades to a neutral setting instead of raising. `curve()` is the 1/3-octave tonal
balance with its level reference removed, the shape the EQ baselines compare.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from harness.metrics import (
    Unmeasurable,
    crest_factor_db,
    integrated_lufs,
    tonal_balance_db,
)

# Bands the curves are compared over: below 31.5 Hz little music lives and the Welch bins are
# coarse; 16 kHz is the top band that exists at 44.1 kHz too.
CURVE_LO_HZ = 31.5
CURVE_HI_HZ = 16000.0
CURVE_RANGE_DB = 60.0  # bands more than this below the loudest band are not fitted (as tonal_balance_error_db)



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
    v = _try(lambda: integrated_lufs(x, sr))
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

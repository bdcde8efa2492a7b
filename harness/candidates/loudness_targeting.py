"""Bring a rendered output onto a loudness target: gain iterated through a true-peak limiter."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from harness.candidates.safe_meters import loudness_db
from harness.dsp import EQ, Compressor, MasteringChain, TruePeakLimiter

# Gain is applied as the compressor's makeup, so its range is the makeup parameter's.
MAKEUP_RANGE_DB = (Compressor.spec("makeup_db").min, Compressor.spec("makeup_db").max)


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
    return MasteringChain(
        eq=EQ(),
        compressor=Compressor(threshold_db=0.0, ratio=1.0, knee_db=0.0, attack_ms=10.0, release_ms=100.0,
                              makeup_db=Compressor.spec("makeup_db").clip(makeup_db)),
        limiter=TruePeakLimiter(ceiling_dbtp=TruePeakLimiter.spec("ceiling_dbtp").clip(ceiling_dbtp)),
    ).clipped()

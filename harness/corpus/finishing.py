"""Finish a mix as a "pro" reference: glue compression, then loudness and true-peak targets.

Gain and limiting interact (limiting lowers loudness), so the gain is refined from the measured
result until the integrated loudness is within `tolerance_lu` of the target.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.dsp import Compressor, TruePeakLimiter
from harness.metrics import integrated_loudness_lufs, true_peak_dbtp


# The glue compressor every "pro" clip went through; the mastering oracle replays it.
GLUE = Compressor(threshold_db=-16.0, ratio=2.0, knee_db=6.0, attack_ms=20.0, release_ms=150.0)
GLUE_LEVEL_LUFS = -20.0


@dataclass(frozen=True)
class Finished:
    audio: np.ndarray
    lufs: float
    true_peak_dbtp: float
    pre_gain_db: float  # brings the mix to GLUE_LEVEL_LUFS before the glue compressor
    gain_db: float  # after the glue compressor, before the limiter


def master_to_target(
    mix: np.ndarray,
    sr: int,
    *,
    target_lufs: float = -14.0,
    ceiling_dbtp: float = -1.0,
    glue: Compressor | None = None,
    tolerance_lu: float = 0.05,
    max_iterations: int = 6,
) -> Finished:
    """Glue-compress `mix`, then gain + true-peak-limit it to `target_lufs` / `ceiling_dbtp`."""
    x = np.asarray(mix, dtype=np.float64)
    # Bring the mix to a known level first so the glue compressor's threshold means the same thing for every clip.
    pre_gain_db = GLUE_LEVEL_LUFS - integrated_loudness_lufs(x, sr)
    x = (glue or GLUE).render(x * 10 ** (pre_gain_db / 20), sr)
    limiter = TruePeakLimiter(ceiling_dbtp=ceiling_dbtp)
    gain_db = target_lufs - integrated_loudness_lufs(x, sr)
    for _ in range(max_iterations):
        y = limiter.render(x * 10 ** (gain_db / 20), sr)
        lufs = integrated_loudness_lufs(y, sr)
        if abs(lufs - target_lufs) <= tolerance_lu:
            break
        gain_db += target_lufs - lufs
    return Finished(audio=y, lufs=lufs, true_peak_dbtp=true_peak_dbtp(y, sr), pre_gain_db=pre_gain_db, gain_db=gain_db)

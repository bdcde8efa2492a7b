"""The "pro" finishing recipe: glue compression, then gain and a true-peak limiter onto a loudness target.

The corpus finishes every generated mix with it (`finish_mix`), and the mastering task replays it
for its target and oracle, so it lives here, outside both. Gain and limiting interact (limiting
lowers loudness), so the gain is refined from the measured result until the integrated loudness is
within `tolerance_lu` of the target. Stored clips are rounded through float32, because that is what
the corpus stores: an oracle computed from a fresh clip then repairs exactly what later runs load.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from harness.dsp import Compressor, TruePeakLimiter
from harness.loudness_target import DEFAULT_CEILING_DBTP, DEFAULT_TARGET_LUFS
from harness.metrics import integrated_lufs, true_peak_dbtp
from harness.source_clip import SourceClip

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
    target_lufs: float = DEFAULT_TARGET_LUFS,
    ceiling_dbtp: float = DEFAULT_CEILING_DBTP,
    glue: Compressor | None = None,
    tolerance_lu: float = 0.05,
    max_iterations: int = 6,
) -> Finished:
    """Glue-compress `mix`, then gain + true-peak-limit it to `target_lufs` / `ceiling_dbtp`."""
    x = np.asarray(mix, dtype=np.float64)
    # Bring the mix to a known level first so the glue compressor's threshold means the same thing for every clip.
    pre_gain_db = GLUE_LEVEL_LUFS - integrated_lufs(x, sr)
    x = (glue or GLUE).render(x * 10 ** (pre_gain_db / 20), sr)
    limiter = TruePeakLimiter(ceiling_dbtp=ceiling_dbtp)
    gain_db = target_lufs - integrated_lufs(x, sr)
    for _ in range(max_iterations):
        y = limiter.render(x * 10 ** (gain_db / 20), sr)
        lufs = integrated_lufs(y, sr)
        if abs(lufs - target_lufs) <= tolerance_lu:
            break
        gain_db += target_lufs - lufs
    return Finished(audio=y, lufs=lufs, true_peak_dbtp=true_peak_dbtp(y, sr), pre_gain_db=pre_gain_db, gain_db=gain_db)


def finish_mix(clip_id: str, mix: np.ndarray, sr: int, *, genre: str | None = None,
               target_lufs: float = DEFAULT_TARGET_LUFS, ceiling_dbtp: float = DEFAULT_CEILING_DBTP,
               raw_lufs: float = GLUE_LEVEL_LUFS) -> tuple[SourceClip, float, float]:
    """(clip, measured LUFS, measured dBTP of the finished target). The raw mix is stored at
    `raw_lufs`; the finishing chain brings it to the glue level first, so the master does not depend on it."""
    raw = mix * 10 ** ((raw_lufs - integrated_lufs(mix, sr)) / 20)
    raw = raw.astype(np.float32).astype(np.float64)
    done = master_to_target(raw, sr, target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp)
    finish = {"pre_gain_db": done.pre_gain_db, "gain_db": done.gain_db, "target_lufs": target_lufs,
              "ceiling_dbtp": ceiling_dbtp}
    target = done.audio.astype(np.float32).astype(np.float64)
    clip = SourceClip(id=clip_id, sample_rate=sr, target=target, raw=raw, genre=genre, finish=finish)
    return clip, done.lufs, done.true_peak_dbtp

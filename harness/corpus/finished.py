"""A generated mix made into a corpus clip: the raw mix at the glue level and its finished "pro" master.

Both are rounded through float32 because that is what the corpus stores, so an oracle computed
from this clip repairs exactly what later runs load from disk.
"""

from __future__ import annotations

import numpy as np

from harness.corpus.finishing import GLUE_LEVEL_LUFS, master_to_target
from harness.metrics import integrated_loudness_lufs
from harness.tasks.base import SourceClip


def finish_mix(clip_id: str, mix: np.ndarray, sr: int, *, genre: str | None = None, target_lufs: float = -14.0,
               ceiling_dbtp: float = -1.0) -> tuple[SourceClip, float, float]:
    """(clip, measured LUFS, measured dBTP of the finished target)."""
    raw = mix * 10 ** ((GLUE_LEVEL_LUFS - integrated_loudness_lufs(mix, sr)) / 20)
    raw = raw.astype(np.float32).astype(np.float64)
    done = master_to_target(raw, sr, target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp)
    finish = {"pre_gain_db": done.pre_gain_db, "gain_db": done.gain_db, "target_lufs": target_lufs,
              "ceiling_dbtp": ceiling_dbtp}
    target = done.audio.astype(np.float32).astype(np.float64)
    clip = SourceClip(id=clip_id, sample_rate=sr, target=target, raw=raw, genre=genre, finish=finish)
    return clip, done.lufs, done.true_peak_dbtp

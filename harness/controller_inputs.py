"""What a model controller sees: a fixed-length feature vector per query, shared by trainers and harness.

`tonal-v1`: for the input (and the reference, where the task has one) the loudness-normalised
1/3-octave tonal balance (ISO bands 31.5 Hz–16 kHz, dB minus their mean, /12) plus integrated
loudness (/30), crest factor (/20), loudness range (/20) and PLR (/20); a task with a loudness target
adds the target (/30) and the ceiling (/10), and one whose reference is optional a has-reference flag
(mastering has both). Unmeasurable values read 0 with a flag. Which parts a task gets derives from
its TaskSpec, so a new task needs no edit here.
"""

from __future__ import annotations

import numpy as np

from harness.loudness_target import LoudnessTarget
from harness.metrics import Unmeasurable, loudness_stats, tonal_balance_db
from harness.tasks import get_task

FEATURES = "tonal-v1"
BAND_CENTRES_HZ = (31.5, 40, 50, 63, 80, 100, 125, 160, 200, 250, 315, 400, 500, 630, 800, 1000, 1250, 1600,
                   2000, 2500, 3150, 4000, 5000, 6300, 8000, 10000, 12500, 16000)
CLIP_FEATURES = len(BAND_CENTRES_HZ) + 5


def clip_features(audio: np.ndarray, sr: int) -> np.ndarray:
    out = np.zeros(CLIP_FEATURES, dtype=np.float32)
    try:
        bands = tonal_balance_db(audio, sr)
        levels = dict(zip(np.round(bands.centres_hz, 1), bands.levels_db))
        v = np.array([levels.get(round(c, 1), np.nan) for c in BAND_CENTRES_HZ], dtype=np.float64)
        finite = np.isfinite(v)
        if finite.any():
            v[finite] -= v[finite].mean()
        out[: len(BAND_CENTRES_HZ)] = np.where(finite, v / 12.0, 0.0)
    except Unmeasurable:
        pass
    stats = loudness_stats(audio, sr)
    scaled = [(stats.integrated_lufs, 30.0), (stats.crest_factor_db, 20.0), (stats.loudness_range_lu, 20.0),
              (stats.plr_db, 20.0)]
    for i, (value, scale) in enumerate(scaled):
        out[len(BAND_CENTRES_HZ) + i] = 0.0 if value is None else value / scale
    out[-1] = 1.0 if stats.integrated_lufs is None else 0.0  # "unmeasurable" flag (silence / too short)
    return out


def feature_size(task: str) -> int:
    """Length of a task's controller input vector, derived from its TaskSpec (see `query_features`)."""
    spec = get_task(task)
    size = CLIP_FEATURES
    if spec.takes_reference:
        size += CLIP_FEATURES
    if spec.loudness_target:
        size += 2
    if spec.reference_optional:
        size += 1
    return size


def query_features(query) -> np.ndarray:
    """(1, feature_size(task)) float32 for a harness Query, in this order: the input's clip features;
    the reference's (zeros when absent) if the task takes one; the loudness target (/30) and ceiling
    (/10) if the task has them; a has-reference flag if only some of its variants carry a reference."""
    spec = get_task(query.task)
    parts = [clip_features(query.audio, query.sample_rate)]
    if spec.takes_reference:
        ref = query.reference
        parts.append(clip_features(ref, query.sample_rate) if ref is not None else np.zeros(CLIP_FEATURES, np.float32))
    if spec.loudness_target:
        target = LoudnessTarget.of(query)
        parts.append(np.array([target.lufs / 30.0, target.ceiling_dbtp / 10.0], dtype=np.float32))
    if spec.reference_optional:
        parts.append(np.array([float(query.reference is not None)], dtype=np.float32))
    return np.concatenate(parts)[None, :].astype(np.float32)

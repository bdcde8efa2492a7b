"""`mastering`: turn an unmastered-sounding clip into a finished one at a loudness target.

Input = the clip's raw mix (unmastered: less dense, stray peaks) with a sampled level drop and
tonal tilt; target = the raw mix finished by the corpus's chain (glue compressor → gain →
true-peak limiter) at the task's target (default −14 LUFS / −1 dBTP; e.g. −9 club, −16 podcast);
oracle = inverse tilt → the same glue compressor with its threshold and makeup shifted by the
known level drop and gain → the same limiter — exact, because a compressor on k·x with threshold
T equals one on x with threshold T − 20·log10(k) followed by gain k.

Variants:
- `reference_free`: the loudness target only; the target is the clip finished at the task's target.
- `reference_based`: the reference is another finished clip (the next of the same split, same genre
  where possible), and it is *informative*: the target is this clip mastered toward the reference —
  half of the reference's broad tonal difference (low < 250 Hz, mid, high > 2 kHz, as three Q 0.7
  bells at 100 Hz, 1 kHz and 8 kHz, at most ±4 dB) applied before the same finishing chain, at the
  reference's integrated loudness (which the query's `target_lufs` then states). The oracle adds
  those bells to the inverse damage (EQ bands in series), so it stays exact. A candidate that
  ignores the reference cannot know that move.
Folder clips have no raw mix: the clip brought to −20 LUFS stands in.

Defaults (overridable in `[tasks.mastering.degradation]`):
level_drop_db 3–12 · tilt_db ±(0–4) on shelves at low 100–300 Hz / high 2–6 kHz (log-uniform) ·
mud_probability 0.3 (+2…+5 dB at 200–400 Hz, Q 1).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

import numpy as np

from harness.dsp import EQ, Compressor, HighShelf, LowShelf, MasteringChain, Peak, TruePeakLimiter
from harness.finishing import GLUE, master_to_target
from harness.loudness_target import DEFAULT_CEILING_DBTP, DEFAULT_TARGET_LUFS
from harness.source_clip import SourceClip
from harness.tasks.base import Example, Query, TaskSpec, Variant, draw
from harness.tasks.compressor import raw_of
from harness.tasks.eq import inverse

NAME = "mastering"
MAKEUP = Compressor.spec("makeup_db")  # the oracle's makeup must fit the compressor's range
DEFAULTS: dict[str, Any] = {
    "level_drop_db": {"uniform": [3.0, 12.0]},
    "tilt_db": {"uniform": [0.0, 4.0]},
    "tilt_low_hz": {"loguniform": [100, 300]},
    "tilt_high_hz": {"loguniform": [2000, 6000]},
    "mud_probability": 0.3,
    "mud_hz": {"loguniform": [200, 400]},
    "mud_db": {"uniform": [2.0, 5.0]},
}


def finished_target(clip: SourceClip, target_lufs: float, ceiling_dbtp: float) -> tuple[np.ndarray, float, float]:
    """(target audio, pre-glue gain dB, post-glue gain dB), reusing the corpus's finish when it matches."""
    f = clip.finish or {}
    if clip.raw is not None and f.get("target_lufs") == target_lufs and f.get("ceiling_dbtp") == ceiling_dbtp:
        return clip.target, float(f["pre_gain_db"]), float(f["gain_db"])
    done = master_to_target(raw_of(clip), clip.sample_rate, target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp)
    return done.audio, done.pre_gain_db, done.gain_db


REFERENCE_SHARE = 0.5  # how far toward the reference's tonal balance the target moves
REFERENCE_MAX_DB = 4.0
REFERENCE_REGIONS = ((31.5, 250.0, 100.0), (250.0, 2000.0, 1000.0), (2000.0, 16000.0, 8000.0))  # lo, hi, bell


def toward_reference(clip_master: np.ndarray, reference: np.ndarray, sr: float) -> dict[str, Peak]:
    """Three broad bells (peak2-4) moving `clip_master`'s tonal balance halfway to the reference's."""
    from harness.metrics import Unmeasurable, tonal_balance_db

    try:
        mine, theirs = tonal_balance_db(clip_master, sr), tonal_balance_db(reference, sr)
    except Unmeasurable:
        return {}
    centres = np.asarray(mine.centres_hz)
    diff = np.asarray(theirs.levels_db) - np.asarray(mine.levels_db)
    region = []
    for lo, hi, _ in REFERENCE_REGIONS:
        sel = (centres >= lo) & (centres < hi) & np.isfinite(diff)
        region.append(float(np.mean(diff[sel])) if sel.any() else 0.0)
    region = np.asarray(region) - np.mean(region)  # a level difference is the loudness target's job
    gains = np.clip(REFERENCE_SHARE * region, -REFERENCE_MAX_DB, REFERENCE_MAX_DB)
    bells = [region_spec[2] for region_spec in REFERENCE_REGIONS]
    return {f"peak{2 + i}": Peak(bell, float(g), 0.7)
            for i, (bell, g) in enumerate(zip(bells, gains)) if abs(g) >= 0.05}


def make_example(clip: SourceClip, params: Mapping[str, Any], rng: np.random.Generator, *,
                 variant: str = "reference_free", partner: SourceClip | None = None,
                 target_lufs: float = DEFAULT_TARGET_LUFS, ceiling_dbtp: float = DEFAULT_CEILING_DBTP,
                 **_: Any) -> Example:
    sr = clip.sample_rate
    reference = None
    move: dict[str, Peak] = {}
    if variant == "reference_based":
        if partner is None:
            raise ValueError("the reference-based mastering variant needs a partner clip")
        reference = partner.target  # the partner as finished in the corpus, at its own loudness
        from harness.metrics import Unmeasurable, integrated_lufs

        try:
            target_lufs = float(integrated_lufs(reference, sr))
        except Unmeasurable:
            pass  # a silent reference: the task's target stands
        move = toward_reference(finished_target(clip, target_lufs, ceiling_dbtp)[0], reference, sr)
    if move:
        done = master_to_target(EQ(**move).render(raw_of(clip), sr), sr, target_lufs=target_lufs,
                                ceiling_dbtp=ceiling_dbtp)
        target, pre_gain_db, gain_db = done.audio, done.pre_gain_db, done.gain_db
    else:
        target, pre_gain_db, gain_db = finished_target(clip, target_lufs, ceiling_dbtp)
    drop = draw(params, "level_drop_db", rng)
    exact = True
    room = MAKEUP.max - (pre_gain_db + gain_db)
    if drop > room:  # keep the oracle's makeup inside the compressor's range
        drop = max(room, 0.0)
        exact = room >= 0
    tilt = draw(params, "tilt_db", rng) * (1 if rng.random() < 0.5 else -1)
    bands: dict[str, Any] = {
        "low_shelf": LowShelf(draw(params, "tilt_low_hz", rng), tilt / 2),
        "high_shelf": HighShelf(draw(params, "tilt_high_hz", rng), -tilt / 2),
    }
    if rng.random() < draw(params, "mud_probability", rng):
        bands["peak1"] = Peak(draw(params, "mud_hz", rng), draw(params, "mud_db", rng), 1.0)
    damage = EQ(**bands)
    damaged = damage.render(raw_of(clip), sr) * 10 ** (-drop / 20)
    shift = drop + pre_gain_db
    undo = inverse(damage)
    repair = replace(undo, **move)  # the move's bells (peak2-4) in series with the inverse damage (shelves, peak1)
    oracle = MasteringChain(
        eq=repair,
        compressor=Compressor(
            threshold_db=GLUE.threshold_db - shift, ratio=GLUE.ratio, knee_db=GLUE.knee_db,
            attack_ms=GLUE.attack_ms, release_ms=GLUE.release_ms,
            makeup_db=MAKEUP.clip(shift + gain_db),
        ),
        limiter=TruePeakLimiter(ceiling_dbtp=ceiling_dbtp),
    )
    return Example(
        query=Query(task=NAME, variant=variant, audio=damaged, sample_rate=sr, reference=reference,
                    target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp),
        clip_id=clip.id, source=clip.source, target=target, oracle=oracle,
        oracle_exact=exact and MAKEUP.min <= shift + gain_db <= MAKEUP.max,
        damage={"level_drop_db": drop, "eq": damage.to_dict(),
                "reference_clip": partner.id if reference is not None else None,
                "toward_reference": {k: v.gain_db for k, v in move.items()}},
    )


SPEC = TaskSpec(
    name=NAME,
    description="mastering to a loudness target, reference-free and reference-based",
    processor=MasteringChain,
    defaults=DEFAULTS,
    make_example=make_example,
    variants=(
        Variant("reference_free", has_reference=False, description="the loudness target only"),
        Variant("reference_based", has_reference=True, description="also another finished clip as reference"),
    ),
    loudness_target=True,
)

"""`mastering`: turn an unmastered-sounding clip into a finished one at a loudness target.

Input = the clip's raw mix (unmastered: less dense, stray peaks) with a sampled level drop and
tonal tilt; target = the raw mix finished by the corpus's chain (glue compressor → gain →
true-peak limiter) at the task's target (default −14 LUFS / −1 dBTP; e.g. −9 club, −16 podcast);
oracle = inverse tilt → the same glue compressor with its threshold and makeup shifted by the
known level drop and gain → the same limiter — exact, because a compressor on k·x with threshold
T equals one on x with threshold T − 20·log10(k) followed by gain k.

Variants: `reference_free` (target loudness only) and `reference_based` (also another finished clip
of the same genre as reference). Folder clips have no raw mix: the clip brought to −20 LUFS stands in.

Defaults (overridable in `[tasks.mastering.degradation]`):
level_drop_db 3–12 · tilt_db ±(0–4) on shelves at low 100–300 Hz / high 2–6 kHz (log-uniform) ·
mud_probability 0.3 (+2…+5 dB at 200–400 Hz, Q 1).
"""

from __future__ import annotations

from collections.abc import Mapping
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


def make_example(clip: SourceClip, params: Mapping[str, Any], rng: np.random.Generator, *,
                 variant: str = "reference_free", partner: SourceClip | None = None,
                 target_lufs: float = DEFAULT_TARGET_LUFS, ceiling_dbtp: float = DEFAULT_CEILING_DBTP,
                 **_: Any) -> Example:
    sr = clip.sample_rate
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
    oracle = MasteringChain(
        eq=inverse(damage),
        compressor=Compressor(
            threshold_db=GLUE.threshold_db - shift, ratio=GLUE.ratio, knee_db=GLUE.knee_db,
            attack_ms=GLUE.attack_ms, release_ms=GLUE.release_ms,
            makeup_db=MAKEUP.clip(shift + gain_db),
        ),
        limiter=TruePeakLimiter(ceiling_dbtp=ceiling_dbtp),
    )
    reference = None
    if variant == "reference_based":
        if partner is None:
            raise ValueError("the reference-based mastering variant needs a partner clip")
        reference = finished_target(partner, target_lufs, ceiling_dbtp)[0]
    return Example(
        query=Query(task=NAME, variant=variant, audio=damaged, sample_rate=sr, reference=reference,
                    target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp),
        clip_id=clip.id, source=clip.source, target=target, oracle=oracle,
        oracle_exact=exact and MAKEUP.min <= shift + gain_db <= MAKEUP.max,
        damage={"level_drop_db": drop, "eq": damage.to_dict(),
                "reference_clip": partner.id if reference is not None else None},
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

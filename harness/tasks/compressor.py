"""`compressor`: style transfer, as DeepAFx-ST trains it.

Input = raw segment A; reference = another segment B processed with hidden settings p*;
target = A processed with p*; oracle = p* (exact: the same renderer, the same settings).
Raw segments are unmastered mixes at -20 LUFS (folder clips: the clip normalised to -20 LUFS).
B is the next clip of the same split, preferring the same genre; the harness picks it.

Defaults (overridable in `[tasks.compressor.degradation]`):
threshold_db −40…−12 (uniform) · ratio 1.5–10 (log-uniform) · knee_db 0–12 · attack_ms 0.5–50 (log) ·
release_ms 30–600 (log) · makeup_db 0–8.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.dsp import Compressor
from harness.source_clip import SourceClip
from harness.tasks.base import Example, Query, TaskSpec, draw

NAME = "compressor"
RAW_LUFS = -20.0
DEFAULTS: dict[str, Any] = {
    "threshold_db": {"uniform": [-40.0, -12.0]},
    "ratio": {"loguniform": [1.5, 10.0]},
    "knee_db": {"uniform": [0.0, 12.0]},
    "attack_ms": {"loguniform": [0.5, 50.0]},
    "release_ms": {"loguniform": [30.0, 600.0]},
    "makeup_db": {"uniform": [0.0, 8.0]},
}


def raw_of(clip: SourceClip) -> np.ndarray:
    """The unmastered version: the stored raw mix, else the clip brought to -20 LUFS."""
    if clip.raw is not None:
        return clip.raw
    from harness.metrics import Unmeasurable, integrated_lufs

    try:
        gain_db = RAW_LUFS - integrated_lufs(clip.target, clip.sample_rate)
    except Unmeasurable:
        gain_db = 0.0
    return clip.target * 10 ** (gain_db / 20)


def sample_settings(params: Mapping[str, Any], rng: np.random.Generator) -> Compressor:
    return Compressor(**{name: draw(params, name, rng) for name in DEFAULTS})


def make_example(clip: SourceClip, params: Mapping[str, Any], rng: np.random.Generator, *,
                 partner: SourceClip | None = None, **_: Any) -> Example:
    if partner is None:
        raise ValueError("the compressor task needs a partner clip for the reference")
    hidden = sample_settings(params, rng)
    sr = clip.sample_rate
    a = raw_of(clip)
    reference = hidden.render(raw_of(partner), sr)
    return Example(
        query=Query(task=NAME, variant=None, audio=a, sample_rate=sr, reference=reference),
        clip_id=clip.id, source=clip.source, target=hidden.render(a, sr),
        oracle=hidden, oracle_exact=True,
        damage={"hidden": hidden.to_dict(), "reference_clip": partner.id},
    )


SPEC = TaskSpec(
    name=NAME,
    description="compressor style transfer: match a reference processed with hidden settings",
    processor=Compressor,
    defaults=DEFAULTS,
    make_example=make_example,
    reference=True,
)

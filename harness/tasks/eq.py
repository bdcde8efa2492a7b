"""`eq`: reference-free auto-EQ. Undo sampled tonal damage; the oracle is the exact inverse EQ.

Damage = 1–3 distinct "moves" a bad mix typically has, drawn without conflicts over the six EQ
bands (the shelves hold tilt / boom / dull, the peaks hold mud / harsh / resonance). RBJ biquads
with gain −G exactly undo +G at the same frequency and Q, so the oracle is exact.

Defaults (each overridable in a suite's `[tasks.eq.degradation]`):

| move | band | frequency | gain | Q |
|---|---|---|---|---|
| tilt | both shelves | low 150–400 Hz, high 1.5–4 kHz (log-uniform) | ±(1.5–5) dB, opposite signs | — |
| boom | low shelf | 60–150 Hz | +3…+8 dB | — |
| dull | high shelf | 4–10 kHz | −8…−3 dB | — |
| mud | peak | 180–450 Hz | +3…+7 dB | 0.7–1.5 |
| harsh | peak | 2–5 kHz | +3…+7 dB | 1–3 |
| resonance | peak | 100 Hz–8 kHz | +5…+10 dB | 4–10 |
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from harness.dsp import EQ, HighShelf, LowShelf, Peak
from harness.source_clip import SourceClip
from harness.tasks.base import Example, Query, TaskSpec, draw

NAME = "eq"
PEAK_MOVES = ("mud", "harsh", "resonance")
MOVES = ("tilt", "boom", "dull", "mud", "harsh", "resonance")
DEFAULTS: dict[str, Any] = {
    "moves": {"randint": [1, 3]},
    "tilt_db": {"uniform": [1.5, 5.0]},
    "tilt_low_hz": {"loguniform": [150, 400]},
    "tilt_high_hz": {"loguniform": [1500, 4000]},
    "boom_hz": {"loguniform": [60, 150]},
    "boom_db": {"uniform": [3.0, 8.0]},
    "dull_hz": {"loguniform": [4000, 10000]},
    "dull_db": {"uniform": [-8.0, -3.0]},
    "mud_hz": {"loguniform": [180, 450]},
    "mud_db": {"uniform": [3.0, 7.0]},
    "mud_q": {"uniform": [0.7, 1.5]},
    "harsh_hz": {"loguniform": [2000, 5000]},
    "harsh_db": {"uniform": [3.0, 7.0]},
    "harsh_q": {"uniform": [1.0, 3.0]},
    "resonance_hz": {"loguniform": [100, 8000]},
    "resonance_db": {"uniform": [5.0, 10.0]},
    "resonance_q": {"uniform": [4.0, 10.0]},
}


def sample_damage(params: Mapping[str, Any], rng: np.random.Generator) -> tuple[EQ, list[str]]:
    """A damaging EQ and the moves it makes."""
    wanted = int(draw(params, "moves", rng))
    bands: dict[str, Any] = {}
    chosen: list[str] = []
    for move in rng.permutation(MOVES):
        if len(chosen) == wanted:
            break
        if move == "tilt" and {"low_shelf", "high_shelf"} & set(bands):
            continue
        if move == "boom" and "low_shelf" in bands or move == "dull" and "high_shelf" in bands:
            continue
        if move == "tilt":
            tilt = draw(params, "tilt_db", rng) * (1 if rng.random() < 0.5 else -1)
            bands["low_shelf"] = LowShelf(draw(params, "tilt_low_hz", rng), tilt / 2)
            bands["high_shelf"] = HighShelf(draw(params, "tilt_high_hz", rng), -tilt / 2)
        elif move == "boom":
            bands["low_shelf"] = LowShelf(draw(params, "boom_hz", rng), draw(params, "boom_db", rng))
        elif move == "dull":
            bands["high_shelf"] = HighShelf(draw(params, "dull_hz", rng), draw(params, "dull_db", rng))
        else:
            slot = f"peak{1 + sum(m in PEAK_MOVES for m in chosen)}"
            bands[slot] = Peak(draw(params, f"{move}_hz", rng), draw(params, f"{move}_db", rng),
                               draw(params, f"{move}_q", rng))
        chosen.append(str(move))
    return EQ(**bands), chosen


def inverse(eq: EQ) -> EQ:
    """The same bands with negated gains: RBJ's exact inverse."""
    flat = eq.to_dict()
    return EQ.from_dict({k: (-v if k.endswith("gain_db") else v) for k, v in flat.items()})


def make_example(clip: SourceClip, params: Mapping[str, Any], rng: np.random.Generator, **_: Any) -> Example:
    damage, moves = sample_damage(params, rng)
    damaged = damage.render(clip.target, clip.sample_rate)
    return Example(
        query=Query(task=NAME, variant=None, audio=damaged, sample_rate=clip.sample_rate),
        clip_id=clip.id, source=clip.source, target=clip.target,
        oracle=inverse(damage), oracle_exact=True,
        damage={"moves": moves, "eq": damage.to_dict()},
    )


SPEC = TaskSpec(
    name=NAME,
    description="reference-free auto-EQ: undo 1-3 sampled tonal moves; the oracle is the exact inverse EQ",
    processor=EQ,
    defaults=DEFAULTS,
    make_example=make_example,
)

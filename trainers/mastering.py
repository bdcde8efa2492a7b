"""The mastering controller trainer: parameter regression on the task's own examples and exact oracles.

Each example is drawn with the task's own generator (harness/tasks/mastering.py `make_example`, fresh damage
and both variants, the reference-based one with the harness's partner rule) on a train clip; its inputs are
`query_features(example.query)` — exactly what the harness feeds a controller — and its target is the
oracle chain's unit parameters (inverse tilt and mud, the glue compressor shifted by the level drop, the
limiter at the ceiling; plus the reference's bells in the reference-based variant). Examples whose oracle
is not exact (makeup out of range) are left out. Rendering an example costs ~0.2 s, so the pool is drawn
once; the audio-domain loss through the twins is the next step (Trainers issue).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from harness.controller_inputs import query_features
from harness.dsp import MasteringChain
from harness.tasks import get_task
from harness.tasks.examples import partner_of
from trainers.common.checkpoint import Checkpointer
from trainers.common.regression import RegressionProfile as Profile
from trainers.common.regression import Regressor, fit

SPECS = MasteringChain.SPECS
# INT8 release: weights int8, activations int16. With int8 activations the controller's compressor
# threshold and makeup moved by about 0.25 dB (unit error 0.004-0.006 on 160 validation examples,
# 3x the int16 figure) and recorded music's paired gap closed fell up to 0.027 below FP32's; int16
# activations cost no file size (the weights are the bytes). Measured in the Trainers issue's note.
INT8_ACTIVATION_BITS = 16
# ...and quantization-aware fine-tuning (trainers/common/qat.py): the released FP32 weights lie on the INT8
# grid, so INT8 differs from FP32 only by the int16 activations' rounding. Without it, INT8 moved the
# compressor threshold by ~0.1 dB, and recorded music (10-20 dB of makeup into the limiter) is that sensitive:
# its paired gap closed was 0.020 [0.012, 0.026] below FP32's (mastering-v2 and -v3); with QAT (mastering-v4)
# INT8 − FP32 is +0.0000 [−0.0000, +0.0001]. QAT moves the FP32 model itself, though: on recorded music v4's
# FP32 closes 0.029 [0.008, 0.088] less than v3's float one (seeds 1 and 2: −0.040 and +0.009), while seeds
# alone move its median by 0.05-0.15.
QAT_FRACTION = 0.1
VARIANTS = ("reference_free", "reference_based")


PROFILES = {
    "quick": Profile("quick", examples_per_clip=1, steps=3000, batch=128, hidden=128, learning_rate=1e-3,
                     validate_every=250, qat_fraction=QAT_FRACTION, qat_learning_rate=1e-4),
    "full": Profile("full", examples_per_clip=16, steps=30000, batch=512, hidden=256, learning_rate=1e-3,
                    validate_every=1000, qat_fraction=QAT_FRACTION, qat_learning_rate=1e-4),
}


@dataclass
class ExamplePool:
    features: torch.Tensor  # (examples, F)
    units: torch.Tensor  # (examples, P) the oracle chain's unit parameters
    sha256: list[str]


def build_pool(sources: list, sha256: list[str], params: dict, draws_per_clip: int, seed: int, *,
               target_lufs: float, ceiling_dbtp: float,
               progress: Callable[[int, int], None] | None = None) -> ExamplePool:
    spec = get_task("mastering")
    rng = np.random.default_rng(seed)
    feats, units = [], []
    total, done = len(sources) * len(VARIANTS) * draws_per_clip, 0
    for i, clip in enumerate(sources):
        partner = partner_of(sources, i)
        for variant in VARIANTS:
            for _ in range(draws_per_clip):
                done += 1
                if variant == "reference_based" and partner is None:
                    continue
                example = spec.make_example(clip, params, rng, variant=variant, partner=partner,
                                            target_lufs=target_lufs, ceiling_dbtp=ceiling_dbtp)
                if not example.oracle_exact:
                    continue
                feats.append(query_features(example.query)[0])
                units.append(example.oracle.to_unit_vector())
                if progress:
                    progress(done, total)
    return ExamplePool(torch.from_numpy(np.stack(feats)).float(), torch.from_numpy(np.stack(units)).float(), sha256)


def train(train_pool: ExamplePool, val_pool: ExamplePool, *, profile: Profile, seed: int,
          progress: Callable[[int, int, float, float | None], None] | None = None,
          checkpoint: Checkpointer | None = None, log: Callable[[str], None] | None = None,
          device: str = "cpu") -> tuple[Regressor, dict]:
    def sample(rng: np.random.Generator, n: int) -> tuple[torch.Tensor, torch.Tensor]:
        idx = torch.from_numpy(rng.integers(0, len(train_pool.units), n))
        return train_pool.features[idx], train_pool.units[idx]

    weights = torch.ones(len(SPECS))
    return fit(sample, val_pool.features, val_pool.units, weights, steps=profile.steps, batch=profile.batch,
               hidden=profile.hidden, learning_rate=profile.learning_rate, validate_every=profile.validate_every,
               seed=seed, mean_y=train_pool.units.mean(0), progress=progress, checkpoint=checkpoint, log=log,
               device=device, qat_steps=profile.qat_steps, qat_learning_rate=profile.qat_learning_rate)


__all__ = ["PROFILES", "ExamplePool", "build_pool", "train"]

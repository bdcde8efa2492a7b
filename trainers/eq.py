"""The EQ controller trainer: reference-free auto-EQ, trained in the frequency domain.

Data: the suite corpus's train split (validation split for model selection), never its test clips.
Each step draws fresh damage with the task's own sampler (harness.tasks.eq.sample_damage), applies
it to each clean clip's Welch power spectrum as |H_damage|², computes the controller inputs the
harness would compute on the damaged audio (trainers/common/spectral_features.py), predicts the 18
EQ parameters in [0, 1], applies the predicted EQ as |H_pred|² (the differentiable twin,
trainers/common/render.py) and minimises the loudness-normalised 1/3-octave error against the
clean clip: the tonal part of the harness's primary metric, which an EQ can change.

Why shrinkage matters (Trainers issue): songs differ tonally more than typical damage does, so the
controller is also trained on undamaged clips (a share of each batch), where the right answer is a
flat EQ; and its gains pass through a learned strength in [0, 1].
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np
import torch

from harness.dsp.eq import EQ
from harness.tasks import get_task
from harness.tasks.base import resolve_params
from harness.tasks.eq import sample_damage
from trainers.common import loop
from trainers.common.checkpoint import Checkpointer
from trainers.common.render import eq_power_response, eq_sections, unit_to_params
from trainers.common.spectral_features import N_BANDS, FeatureMaker, SpectralClip

SPECS = EQ.SPECS
GAIN_INDEX = [i for i, s in enumerate(SPECS) if s.name.endswith("gain_db")]


@dataclass(frozen=True)
class Profile:
    name: str
    steps: int
    batch: int
    hidden: int
    learning_rate: float
    undamaged_share: float  # share of each batch left undamaged: the right answer there is a flat EQ
    validate_every: int
    augment_db: float = 3.0  # gentle random tonal variation of the clean clip (a new "finished" song each time)


PROFILES = {
    # quick: ~18 ms a step on one core, so about 75 s of training within the 3-minute budget (data included)
    "quick": Profile("quick", steps=4000, batch=64, hidden=128, learning_rate=2e-3, undamaged_share=0.2,
                     validate_every=250),
    "full": Profile("full", steps=30000, batch=256, hidden=256, learning_rate=1e-3, undamaged_share=0.2,
                    validate_every=1000),
}


class Controller(torch.nn.Module):
    """features → 18 EQ parameters in [0, 1]; gains scaled by a learned strength (0 = flat)."""

    def __init__(self, n_in: int, hidden: int):
        super().__init__()
        self.body = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.GELU(),
                                        torch.nn.Linear(hidden, hidden), torch.nn.GELU())
        self.head = torch.nn.Linear(hidden, len(SPECS))
        self.strength = torch.nn.Linear(hidden, 1)
        with torch.no_grad():  # start flat: every gain at 0 dB (unit 0.5), strength small
            defaults = torch.tensor([s.to_unit(s.default) for s in SPECS], dtype=torch.float32).clamp(0.02, 0.98)
            self.head.weight.mul_(0.1)
            self.head.bias.copy_(torch.log(defaults / (1 - defaults)))
            self.strength.bias.fill_(-2.0)
        self.register_buffer("gain_mask", torch.zeros(len(SPECS)))
        self.gain_mask[GAIN_INDEX] = 1.0

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        h = self.body(features)
        unit = torch.sigmoid(self.head(h))
        strength = torch.sigmoid(self.strength(h))
        # Gains move from flat (0.5) toward the prediction by the strength; freqs and Qs are as predicted.
        return unit * (1 - self.gain_mask) + (0.5 + (unit - 0.5) * strength) * self.gain_mask


@dataclass
class SpectralSet:
    clips: list[SpectralClip]
    power: torch.Tensor  # (clips, bins)
    stats: torch.Tensor  # (clips, 4): LUFS, crest, LRA, true peak (NaN where unmeasurable)
    sha256: list[str] = field(default_factory=list)

    @classmethod
    def of(cls, clips: list[SpectralClip], sha256: list[str], maker: FeatureMaker) -> SpectralSet:
        power = maker.pool(torch.from_numpy(np.stack([c.power for c in clips]).astype(np.float32)))
        stats = torch.tensor([[np.nan if v is None else v for v in (c.integrated_lufs, c.crest_factor_db,
                                                                     c.loudness_range_lu, c.true_peak_dbtp)]
                              for c in clips], dtype=torch.float32)
        return cls(clips, power, stats, sha256)


def damage_power(params: dict, rng: np.random.Generator, n: int, undamaged_share: float,
                 freqs_hz: np.ndarray, sr: float) -> torch.Tensor:
    """(n, bins) |H|² of n freshly drawn damaging EQs (flat for the undamaged share)."""
    units = []
    for _ in range(n):
        if rng.random() < undamaged_share:
            units.append(EQ().to_unit_vector())
        else:
            units.append(sample_damage(params, rng)[0].to_unit_vector())
    unit = torch.from_numpy(np.stack(units).astype(np.float64))
    sections = eq_sections(unit_to_params(unit, SPECS), sr)
    return eq_power_response(sections, freqs_hz, sr).to(torch.float32)


def augmentation_power(rng: np.random.Generator, n: int, depth_db: float, freqs_hz: np.ndarray,
                       sr: float) -> torch.Tensor:
    """(n, bins) |H|² of gentle broad EQs (shelves at 100 Hz / 8 kHz, two wide bells, each within ±depth_db).

    Why: the train split has a few hundred songs, and a controller that sees each many times learns the
    songs rather than the damage (validation got worse after ~750 steps). Finished songs differ tonally
    by a few dB in broad strokes, so a broad, gentle EQ of a clean clip is another plausible clean clip;
    the damage is drawn on top of it and the target is the augmented clip."""
    params = np.zeros((n, len(SPECS)))
    names = [s.name for s in SPECS]
    defaults = {s.name: s.default for s in SPECS}
    for i, name in enumerate(names):
        params[:, i] = defaults[name]
    col = {name: i for i, name in enumerate(names)}
    params[:, col["low_shelf.freq_hz"]] = 100.0
    params[:, col["high_shelf.freq_hz"]] = 8000.0
    params[:, col["low_shelf.gain_db"]] = rng.uniform(-depth_db, depth_db, n)
    params[:, col["high_shelf.gain_db"]] = rng.uniform(-depth_db, depth_db, n)
    for band in ("peak2", "peak3"):
        params[:, col[f"{band}.freq_hz"]] = np.exp(rng.uniform(np.log(150.0), np.log(6000.0), n))
        params[:, col[f"{band}.gain_db"]] = rng.uniform(-depth_db, depth_db, n)
        params[:, col[f"{band}.q"]] = rng.uniform(0.4, 0.9, n)
    sections = eq_sections(torch.from_numpy(params), sr)
    return eq_power_response(sections, freqs_hz, sr).to(torch.float32)


def loss_fn(maker: FeatureMaker, clean: torch.Tensor, damaged: torch.Tensor, unit: torch.Tensor,
            freqs_hz: np.ndarray, sr: float) -> torch.Tensor:
    """Mean squared loudness-normalised 1/3-octave error (dB²) of the corrected clip against the clean one."""
    sections = eq_sections(unit_to_params(unit.to(torch.float64), SPECS), sr)
    corrected = damaged * eq_power_response(sections, freqs_hz, sr).to(torch.float32)
    err = maker.tonal(corrected) - maker.tonal(clean)
    return (err ** 2).sum(dim=1).mean() / float(maker.valid.sum())


def train(train_set: SpectralSet, val_set: SpectralSet, maker: FeatureMaker, *,
          profile: Profile, seed: int, progress: Callable[[int, int, float, float | None], None] | None = None,
          suite_params: dict | None = None, checkpoint: Checkpointer | None = None,
          log: Callable[[str], None] | None = None, device: str = "cpu") -> tuple[Controller, dict]:
    """Train; return the best controller (by validation loss, on the CPU) and its metrics. Damage is drawn
    on the CPU (numpy) and moved to `device`, where features, the renderer and the loss run."""
    torch.manual_seed(seed)
    params = resolve_params(get_task("eq").defaults, suite_params or {}, "eq")
    freqs_hz, sr = maker.freqs_hz, maker.sr
    n_in = N_BANDS + 5
    model = Controller(n_in, profile.hidden).to(device)
    maker.to(device)
    power, stats = train_set.power.to(device), train_set.stats.to(device)
    # A fixed validation draw: the same damage on every evaluation, so the metric is comparable across steps.
    val_rng = np.random.default_rng(seed + 1)
    val_index = np.arange(len(val_set.clips)).repeat(4)
    val_damage = damage_power(params, val_rng, len(val_index), profile.undamaged_share, freqs_hz, sr).to(device)
    val_clean = val_set.power[val_index].to(device)
    val_damaged = val_clean * val_damage
    val_features = maker.features(val_clean, val_damage, val_set.stats[val_index].to(device))
    flat = torch.tensor(EQ().to_unit_vector(), dtype=torch.float32, device=device).expand(len(val_index), -1)
    with torch.no_grad():
        bypass = loss_fn(maker, val_clean, val_damaged, flat, freqs_hz, sr).item()

    def batch_loss(net: torch.nn.Module, rng: np.random.Generator) -> torch.Tensor:
        idx = torch.from_numpy(rng.integers(0, len(train_set.clips), profile.batch)).to(device)
        clean = power[idx]
        if profile.augment_db > 0:
            clean = clean * augmentation_power(rng, profile.batch, profile.augment_db, freqs_hz, sr).to(device)
        damage = damage_power(params, rng, profile.batch, profile.undamaged_share, freqs_hz, sr).to(device)
        features = maker.features(clean, damage, stats[idx])
        return loss_fn(maker, clean, clean * damage, net(features), freqs_hz, sr)

    def validate(net: torch.nn.Module) -> float:
        return loss_fn(maker, val_clean, val_damaged, net(val_features), freqs_hz, sr).item()

    result = loop.run(model, batch_loss, validate,
                      loop.LoopSettings(steps=profile.steps, validate_every=profile.validate_every,
                                        learning_rate=profile.learning_rate, seed=seed, clip_grad_norm=1.0),
                      checkpoint=checkpoint, progress=progress, log=log)
    best = {"val_loss": result["val_loss"], "step": result["best_step"]}
    model.cpu()
    maker.to("cpu")
    metrics = {"val_tonal_mse_db2": best["val_loss"], "val_bypass_tonal_mse_db2": bypass,
               "val_gap_closed_tonal": 1.0 - best["val_loss"] / bypass if bypass else None,
               "best_step": best["step"], "steps": profile.steps, "train_seconds": result["train_seconds"],
               "resumed_from_step": result["resumed_from"]}
    return model, metrics


__all__ = ["Controller", "PROFILES", "Profile", "SpectralSet", "train", "damage_power", "loss_fn"]

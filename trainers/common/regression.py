"""Parameter regression: a small MLP from controller inputs to unit parameters, fitted against the
oracle's parameters. Shared by the trainers whose examples come with exact oracles (compressor, mastering)."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from trainers.common import loop, qat
from trainers.common.checkpoint import Checkpointer


@dataclass(frozen=True)
class RegressionProfile:
    """How long and how wide a parameter-regression trainer trains (compressor, mastering)."""

    name: str
    examples_per_clip: int  # compressor: rendered references per clip; mastering: draws per clip and variant
    steps: int
    batch: int
    hidden: int
    learning_rate: float
    validate_every: int
    asymmetry: float = 1.0  # cost of an error on a parameter's costly side, against 1 on the other
    # quantization-aware fine-tuning (trainers/common/qat.py) after the main phase: this share of `steps`
    # more steps through int8-grid weights, at `qat_learning_rate`; 0 = none
    qat_fraction: float = 0.0
    qat_learning_rate: float = 1e-4

    @property
    def qat_steps(self) -> int:
        return round(self.qat_fraction * self.steps)


class Regressor(torch.nn.Module):
    def __init__(self, n_in: int, n_out: int, hidden: int):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, hidden),
                                       torch.nn.GELU(), torch.nn.Linear(hidden, n_out), torch.nn.Sigmoid())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor,
                 costly_side: torch.Tensor | None = None, asymmetry: float = 1.0) -> torch.Tensor:
    """Squared error weighted per parameter; where `costly_side` is +1 (-1) an error above (below) the target
    costs `asymmetry` times as much (0: symmetric). The costly side of a compressor parameter is the one
    that compresses harder than asked: there the output gets worse than doing nothing."""
    err = (pred - target) ** 2 * weights
    if costly_side is not None and asymmetry != 1.0:
        costly = torch.sign(pred - target) == costly_side
        err = torch.where(costly & (costly_side != 0), err * asymmetry, err)
    return err.sum(dim=1).mean() / weights.sum()


def fit(sample: Callable[[np.random.Generator, int], tuple[torch.Tensor, torch.Tensor]], val_x: torch.Tensor,
        val_y: torch.Tensor, weights: torch.Tensor, *, steps: int, batch: int, hidden: int, learning_rate: float,
        validate_every: int, seed: int, mean_y: torch.Tensor,
        progress: Callable[[int, int, float, float | None], None] | None = None,
        checkpoint: Checkpointer | None = None, log: Callable[[str], None] | None = None,
        device: str = "cpu", costly_side: torch.Tensor | None = None,
        asymmetry: float = 1.0, qat_steps: int = 0, qat_learning_rate: float = 1e-4) -> tuple[Regressor, dict]:
    """Fit with the shared loop (AdamW, cosine schedule, checkpoints); keep the best validation weights.
    With `qat_steps`, then fine-tune through int8-grid weights and snap them (trainers/common/qat.py); the
    validation figures are then the snapped model's, the one released.
    Batches are drawn on the CPU and moved to `device`; the model comes back on the CPU (for export)."""
    torch.manual_seed(seed)
    model = Regressor(val_x.shape[1], val_y.shape[1], hidden).to(device)
    val_x, val_y, weights, mean_y = (t.to(device) for t in (val_x, val_y, weights, mean_y))
    side = costly_side.to(device) if costly_side is not None else None

    def loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        return weighted_mse(pred, target, weights, side, asymmetry)

    with torch.no_grad():  # the "bypass" of regression: predicting the train mean every time
        mean_loss = loss(mean_y.expand_as(val_y), val_y).item()

    def batch_loss(net: torch.nn.Module, rng: np.random.Generator) -> torch.Tensor:
        x, y = sample(rng, batch)
        return loss(net(x.to(device)), y.to(device))

    def validate(net: torch.nn.Module) -> float:
        return loss(net(val_x), val_y).item()

    total = steps + qat_steps

    def shown(offset: int):  # one progress bar over both phases
        return None if progress is None else lambda step, _, loss, val: progress(offset + step, total, loss, val)

    result = loop.run(model, batch_loss, validate,
                      loop.LoopSettings(steps=steps, validate_every=validate_every, learning_rate=learning_rate,
                                        seed=seed), checkpoint=checkpoint, progress=shown(0), log=log)
    best = result["val_loss"]
    metrics = {"val_param_mse": best, "val_mean_predictor_mse": mean_loss, "best_step": result["best_step"],
               "steps": steps, "train_seconds": result["train_seconds"], "resumed_from_step": result["resumed_from"]}
    if qat_steps:
        tuned = qat.finetune(model, batch_loss, validate, steps=qat_steps,
                             validate_every=max(1, min(validate_every, qat_steps // 5)),
                             learning_rate=qat_learning_rate, seed=seed + 1, progress=shown(steps), log=log)
        metrics["qat"] = {**tuned, "val_param_mse_before": best}
        best = metrics["val_param_mse"] = tuned["val_loss"]
        metrics["train_seconds"] += tuned["train_seconds"]
    metrics["val_param_error_explained"] = 1.0 - best / mean_loss if mean_loss else None
    return model.cpu(), metrics

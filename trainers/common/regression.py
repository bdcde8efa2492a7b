"""Parameter regression: a small MLP from controller inputs to unit parameters, fitted against the
oracle's parameters. Shared by the trainers whose examples come with exact oracles (compressor, mastering)."""

from __future__ import annotations

import time
from collections.abc import Callable

import numpy as np
import torch


class Regressor(torch.nn.Module):
    def __init__(self, n_in: int, n_out: int, hidden: int):
        super().__init__()
        self.net = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.GELU(), torch.nn.Linear(hidden, hidden),
                                       torch.nn.GELU(), torch.nn.Linear(hidden, n_out), torch.nn.Sigmoid())

    def forward(self, features: torch.Tensor) -> torch.Tensor:
        return self.net(features)


def weighted_mse(pred: torch.Tensor, target: torch.Tensor, weights: torch.Tensor) -> torch.Tensor:
    return (((pred - target) ** 2) * weights).sum(dim=1).mean() / weights.sum()


def fit(sample: Callable[[np.random.Generator, int], tuple[torch.Tensor, torch.Tensor]], val_x: torch.Tensor,
        val_y: torch.Tensor, weights: torch.Tensor, *, steps: int, batch: int, hidden: int, learning_rate: float,
        validate_every: int, seed: int, mean_y: torch.Tensor,
        progress: Callable[[int, int, float, float | None], None] | None = None) -> tuple[Regressor, dict]:
    """Fit with AdamW and a cosine schedule; keep the weights with the best validation loss."""
    torch.manual_seed(seed)
    rng = np.random.default_rng(seed)
    model = Regressor(val_x.shape[1], val_y.shape[1], hidden)
    opt = torch.optim.AdamW(model.parameters(), lr=learning_rate, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=steps)
    with torch.no_grad():  # the "bypass" of regression: predicting the train mean every time
        mean_loss = weighted_mse(mean_y.expand_as(val_y), val_y, weights).item()
    best = {"val_loss": float("inf"), "step": 0, "state": None}
    started = time.perf_counter()
    for step in range(1, steps + 1):
        x, y = sample(rng, batch)
        loss = weighted_mse(model(x), y, weights)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        val = None
        if step % validate_every == 0 or step == steps:
            with torch.no_grad():
                model.eval()
                val = weighted_mse(model(val_x), val_y, weights).item()
                model.train()
            if val < best["val_loss"]:
                best = {"val_loss": val, "step": step,
                        "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
        if progress:
            progress(step, steps, float(loss.item()), val)
    model.load_state_dict(best["state"])
    model.eval()
    return model, {"val_param_mse": best["val_loss"], "val_mean_predictor_mse": mean_loss,
                   "val_param_error_explained": 1.0 - best["val_loss"] / mean_loss if mean_loss else None,
                   "best_step": best["step"], "steps": steps, "train_seconds": time.perf_counter() - started}

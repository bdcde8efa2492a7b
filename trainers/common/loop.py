"""The training loop every trainer shares: steps, validation, best-weights selection, checkpoints,
divergence checks and data-parallel training.

A trainer supplies what differs: `batch_loss(model, rng)` (draw a batch, return its loss) and
`validate(model)` (the validation loss; lower is better). The loop owns the rest:
- AdamW + cosine schedule, optional gradient clipping;
- validation every `validate_every` steps and at the end, keeping the best weights;
- a checkpoint at every validation (trainers/common/checkpoint.py), resumed on the next start;
- a non-finite loss stops training with one line and writes no release;
- under `torchrun` (trainers/common/distributed.py) the model is wrapped in PyTorch's
  DistributedDataParallel, each rank draws its own batches, gradients are averaged by DDP, and
  rank 0 alone writes checkpoints.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch

from harness.errors import UserError
from trainers.common import distributed
from trainers.common.checkpoint import Checkpointer

Progress = Callable[[int, int, float, float | None], None]


class TrainingDiverged(UserError):
    """The loss became NaN or infinite: nothing is released."""


@dataclass(frozen=True)
class LoopSettings:
    steps: int
    validate_every: int
    learning_rate: float
    seed: int
    weight_decay: float = 1e-4
    clip_grad_norm: float | None = None


def run(model: torch.nn.Module, batch_loss: Callable[[torch.nn.Module, np.random.Generator], torch.Tensor],
        validate: Callable[[torch.nn.Module], float], settings: LoopSettings, *,
        checkpoint: Checkpointer | None = None, progress: Progress | None = None,
        log: Callable[[str], None] | None = None) -> dict:
    """Train `model` in place; load the best validation weights into it; return
    {"val_loss", "best_step", "steps", "train_seconds", "resumed_from"}."""
    rank, world = distributed.rank_and_world()
    # Each rank draws different batches (that is the point of data parallelism); validation is the same
    # fixed draw everywhere, so every rank picks the same best step.
    rng = np.random.default_rng(settings.seed + 1000 * rank)
    opt = torch.optim.AdamW(model.parameters(), lr=settings.learning_rate, weight_decay=settings.weight_decay)
    sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=settings.steps)
    best = {"val_loss": float("inf"), "step": 0, "state": None}
    start_step = 0
    state = checkpoint.load() if checkpoint else None
    if state is not None:
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["optimizer"])
        sched.load_state_dict(state["scheduler"])
        rng.bit_generator.state = state["numpy_rng"][rank] if world > 1 else state["numpy_rng"][0]
        torch.set_rng_state(state["torch_rng"])
        best = {"val_loss": state["best_val_loss"], "step": state["best_step"], "state": state["best_model"]}
        start_step = int(state["step"])
        if log and rank == 0:
            log(f"resuming from step {start_step} of {settings.steps} ({checkpoint.path})")
    trained = distributed.wrap(model)
    started = time.perf_counter()
    for step in range(start_step + 1, settings.steps + 1):
        loss = batch_loss(trained, rng)
        if not torch.isfinite(loss):
            raise TrainingDiverged(f"training diverged: the loss is {loss.item()} at step {step} of {settings.steps} "
                                   f"(learning rate {settings.learning_rate:g}, seed {settings.seed}); no release "
                                   "written" + (f"; last good checkpoint {checkpoint.path}" if checkpoint and
                                                checkpoint.path.exists() else ""))
        opt.zero_grad()
        loss.backward()
        if settings.clip_grad_norm:
            torch.nn.utils.clip_grad_norm_(model.parameters(), settings.clip_grad_norm)
        opt.step()
        sched.step()
        val = None
        if step % settings.validate_every == 0 or step == settings.steps:
            with torch.no_grad():
                model.eval()
                val = float(validate(model))
                model.train()
            if not np.isfinite(val):
                raise TrainingDiverged(f"training diverged: the validation loss is {val} at step {step}; "
                                       "no release written")
            if val < best["val_loss"]:
                best = {"val_loss": val, "step": step,
                        "state": {k: v.detach().clone() for k, v in model.state_dict().items()}}
            if checkpoint and rank == 0:
                checkpoint.save({"model": model.state_dict(), "optimizer": opt.state_dict(),
                                 "scheduler": sched.state_dict(), "step": step,
                                 "numpy_rng": distributed.gather_objects(rng.bit_generator.state),
                                 "torch_rng": torch.get_rng_state(), "best_val_loss": best["val_loss"],
                                 "best_step": best["step"], "best_model": best["state"]})
            elif world > 1:
                distributed.gather_objects(rng.bit_generator.state)  # every rank joins the gather
        if progress and rank == 0:
            progress(step, settings.steps, float(loss.item()), val)
    model.load_state_dict(best["state"])
    model.eval()
    return {"val_loss": best["val_loss"], "best_step": best["step"], "steps": settings.steps,
            "train_seconds": time.perf_counter() - started, "resumed_from": start_step}

"""Quantization-aware fine-tuning: put a controller's weights on the INT8 grid its release will use.

The INT8 release (trainers/common/quantize.py) quantizes the weights of the weight-bearing operators
(Gemm/MatMul/Conv, i.e. `torch.nn.Linear` and `Conv*d`) per output channel, symmetric, int8 in [-127, 127]
with scale max|w|/127: ONNX Runtime's static quantizer with `per_channel=True`, `QInt8` weights and its
defaults (symmetric weights, no reduced range). Without QAT the INT8 model's weights differ from the FP32
model's by up to half a grid step, and on the mastering controller that weight rounding was most of the
INT8 error (16-bit activations alone follow FP32 about 5x more closely).

A short last phase of training therefore runs the forward pass through fake-quantized weights (rounded to
that grid, straight-through gradients to the float weights), keeps the best such model by validation,
and finally snaps the float weights onto the grid. The exported FP32 ONNX then carries grid weights; ORT's
quantizer, recomputing max|w|/127 from them, finds the same scales and integers, so INT8 differs from FP32
only by the activations' rounding (tests/test_trainer_qat.py). Biases stay float, as in the INT8 file.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from trainers.common import loop

QMAX = 127  # symmetric int8: ORT's symmetric QInt8 range is [-127, 127]
QUANTIZED_MODULES = (torch.nn.Linear, torch.nn.Conv1d, torch.nn.Conv2d)
SCHEME = "weights on the int8 grid (per output channel, symmetric, scale max|w|/127, as ORT's quantizer)"


def weight_scales(weight: torch.Tensor) -> torch.Tensor:
    """One scale per output channel (dim 0 of a torch Linear/Conv weight: the Gemm's rows with transB=1,
    the MatMul's last axis, the Conv's output channels), as ORT computes it: max|w| / 127 in float64,
    stored as float32; an all-zero channel gets scale 1."""
    absmax = weight.detach().abs().reshape(weight.shape[0], -1).amax(dim=1)
    scale = (absmax.double() / QMAX).to(weight.dtype)
    return torch.where(scale < torch.finfo(weight.dtype).tiny, torch.ones_like(scale), scale)


def snap(weight: torch.Tensor) -> torch.Tensor:
    """The weight rounded to its int8 grid (round half to even, as ONNX QuantizeLinear), dequantized."""
    scale = weight_scales(weight).reshape(-1, *([1] * (weight.dim() - 1)))
    return torch.clamp(torch.round(weight / scale), -QMAX, QMAX) * scale


def fake_quant(weight: torch.Tensor) -> torch.Tensor:
    """Forward: `snap(weight)`; backward: the identity (straight-through estimator)."""
    return weight + (snap(weight) - weight).detach()


def quantized_weight_names(model: torch.nn.Module) -> list[str]:
    """The parameters the INT8 release quantizes: the weights of Linear and Conv modules."""
    return [f"{name}.weight" if name else "weight" for name, module in model.named_modules()
            if isinstance(module, QUANTIZED_MODULES)]


class FakeQuant(torch.nn.Module):
    """`model` run with fake-quantized weights; its parameters (and state dict keys, under `model.`) are
    `model`'s own, so training this trains `model`."""

    def __init__(self, model: torch.nn.Module):
        super().__init__()
        self.model = model
        self.names = quantized_weight_names(model)

    def forward(self, *args: torch.Tensor) -> torch.Tensor:
        params = dict(self.model.named_parameters())
        return torch.func.functional_call(self.model, {n: fake_quant(params[n]) for n in self.names}, args)


def snap_(model: torch.nn.Module) -> None:
    """Snap `model`'s quantized weights onto their grid, in place."""
    params = dict(model.named_parameters())
    with torch.no_grad():
        for name in quantized_weight_names(model):
            params[name].copy_(snap(params[name]))


def grid_distance(model: torch.nn.Module) -> float:
    """The largest |w - snap(w)| over the quantized weights, relative to that channel's scale (0: on the
    grid; up to 0.5 for weights that never saw QAT)."""
    params = dict(model.named_parameters())
    worst = 0.0
    with torch.no_grad():
        for name in quantized_weight_names(model):
            w = params[name]
            scale = weight_scales(w).reshape(-1, *([1] * (w.dim() - 1)))
            worst = max(worst, float(((w - snap(w)).abs() / scale).max()))
    return worst


def finetune(model: torch.nn.Module, batch_loss: Callable[[torch.nn.Module, np.random.Generator], torch.Tensor],
             validate: Callable[[torch.nn.Module], float], *, steps: int, validate_every: int, learning_rate: float,
             seed: int, progress: loop.Progress | None = None, log: Callable[[str], None] | None = None) -> dict:
    """Fine-tune `model` (trained, best weights loaded) through fake-quantized weights for `steps` steps with
    the shared loop; keep the best fake-quantized validation, counting the snapped start as step 0; snap the
    weights in place. Not checkpointed: it is a tenth of the training, and resumes by starting over (the
    main phase's final checkpoint makes that start the same)."""
    view = FakeQuant(model)
    with torch.no_grad():
        model.eval()
        start_loss = float(validate(view))
    start_state = {k: v.detach().clone() for k, v in model.state_dict().items()}
    model.train()
    result = loop.run(view, batch_loss, validate,
                      loop.LoopSettings(steps=steps, validate_every=validate_every, learning_rate=learning_rate,
                                        seed=seed), progress=progress, log=log)
    best_loss, best_step = result["val_loss"], result["best_step"]
    if start_loss <= best_loss:
        model.load_state_dict(start_state)
        best_loss, best_step = start_loss, 0
    snap_(model)
    model.eval()
    if log:
        log(f"QAT: {steps} steps, validation {start_loss:.4g} snapped → {best_loss:.4g} (step {best_step})")
    return {"scheme": SCHEME, "steps": steps, "learning_rate": learning_rate, "val_loss_snapped_start": start_loss,
            "val_loss": best_loss, "best_step": best_step, "train_seconds": result["train_seconds"],
            "grid_distance": grid_distance(model)}

"""Parity: onnxruntime-web's outputs against native onnxruntime's on the same inputs.

The inputs are the controller's features of a real clip (the query the latency is timed on) and
seeded random vectors around them, one query each. The bar is an absolute difference of 1e-4 on every
output (unit parameters in 0..1), for FP32 and INT8 alike: both runtimes execute the same graph,
so a larger difference means the browser would set different parameters.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from harness.onnx_session import make_session

TOLERANCE = 1e-4
RANDOM_INPUTS = 7


def parity_inputs(features: np.ndarray, seed: int = 0) -> np.ndarray:
    """(1 + RANDOM_INPUTS, n) float32: the real features first, then random vectors of their scale."""
    real = np.asarray(features, dtype=np.float32).reshape(1, -1)
    scale = float(np.std(real)) or 1.0
    noise = np.random.default_rng(seed).normal(0.0, scale, size=(RANDOM_INPUTS, real.shape[1]))
    return np.concatenate([real, (real + noise).astype(np.float32)])


def native_outputs(model: Path, inputs: np.ndarray) -> np.ndarray:
    """Native onnxruntime (CPU, one thread), one query per input as the browser runs them."""
    session = make_session(model, threads=1)
    name = session.get_inputs()[0].name
    return np.concatenate([session.run(None, {name: x[None, :]})[0].reshape(1, -1) for x in inputs])


@dataclass(frozen=True)
class Parity:
    max_abs_diff: float | None
    inputs: int
    ok: bool
    detail: str


def compare(browser: list[list[float]], native: np.ndarray, tolerance: float = TOLERANCE) -> Parity:
    got = np.asarray(browser, dtype=np.float64)
    if got.shape != native.shape:
        return Parity(None, len(native), False, f"parity: browser gave outputs of shape {got.shape}, "
                                                f"native {native.shape}")
    diff = float(np.max(np.abs(got - native)))
    ok = diff <= tolerance
    return Parity(diff, len(native), ok, f"parity: max |browser - native| = {diff:.2g} on {len(native)} inputs "
                                         f"({'within' if ok else 'OVER'} {tolerance:g})")


__all__ = ["RANDOM_INPUTS", "TOLERANCE", "Parity", "compare", "native_outputs", "parity_inputs"]

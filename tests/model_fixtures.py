"""Tiny ONNX controllers with random weights, built by the tests themselves.

They exercise the model path (features → ONNX → parameters), INT8 handling and latency. Every
release they write says `"fixture": true`: a test fixture, never a release.
"""

import json
from pathlib import Path

import numpy as np
import torch

from harness.controller_inputs import FEATURES, feature_size
from harness.tasks import get_task
from trainers.common.export import export_controller
from trainers.common.quantize import quantize_int8


def build_fixture_release(root: Path, task: str = "eq", name: str | None = None, version: int = 1,
                          seed: int = 0, hidden: int = 64) -> Path:
    name = name or f"fixture-{task}-v{version}"
    folder = Path(root) / task / name
    specs = type(get_task(task).controlled()).SPECS
    n_in = feature_size(task)
    torch.manual_seed(seed)
    model = torch.nn.Sequential(torch.nn.Linear(n_in, hidden), torch.nn.ReLU(),
                                torch.nn.Linear(hidden, len(specs)), torch.nn.Sigmoid())
    with torch.no_grad():  # start near the spec defaults, so outputs are plausible settings
        model[2].weight.mul_(0.05)
        defaults = np.array([s.to_unit(s.default) for s in specs]).clip(0.02, 0.98)
        model[2].bias.copy_(torch.from_numpy(np.log(defaults / (1 - defaults))).float())
    export_controller(model, n_in, folder / "model.onnx")
    calibration = np.random.default_rng(seed).normal(0, 0.5, size=(64, n_in)).astype(np.float32)
    quantize_int8(folder / "model.onnx", folder / "model.int8.onnx", calibration)
    (folder / "release.json").write_text(json.dumps({
        "name": name, "task": task, "version": version, "created_at": "test", "features": FEATURES,
        "params": [s.name for s in specs], "files": {"fp32": "model.onnx", "int8": "model.int8.onnx"},
        "fixture": True, "card": {"note": "random weights: a test fixture, not a trained model"},
    }))
    return folder

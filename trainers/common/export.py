"""PyTorch controller → ONNX (FP32). torch 2.13's exporter is the dynamo one: it needs onnxscript,
a `dynamic_shapes` spec for the batch axis, and `external_data=False` to keep one self-contained file."""

from __future__ import annotations

from pathlib import Path

import torch


def export_controller(model: torch.nn.Module, n_features: int, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    example = (torch.zeros(2, n_features),)
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.onnx.export(model, example, str(path), input_names=["features"], output_names=["unit_params"],
                      dynamic_shapes=({0: batch},), external_data=False, dynamo=True, verbose=False)
    return path

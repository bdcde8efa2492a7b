"""PyTorch controller → ONNX (FP32). torch 2.13's exporter is the dynamo one: it needs onnxscript,
a `dynamic_shapes` spec for the batch axis, and `external_data=False` to keep one self-contained file."""

from __future__ import annotations

from pathlib import Path

import torch


def strip_debug_info(path: str | Path) -> Path:
    """Drop what only a debugger reads: per-node metadata (the exporter writes each node's Python stack
    trace, with this machine's file paths), node names, doc strings and intermediate shape annotations. On a small
    controller that is a third of the file; the graph and its weights are untouched."""
    import onnx

    path = Path(path)
    model = onnx.load(str(path))
    for node in model.graph.node:
        del node.metadata_props[:]
        node.doc_string = ""
        node.name = ""  # optional in ONNX; tensor names, which the graph is wired by, stay
    del model.graph.value_info[:]
    model.doc_string = ""
    onnx.save(model, str(path))
    return path


def export_controller(model: torch.nn.Module, n_features: int, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    model = model.eval()
    example = (torch.zeros(2, n_features),)
    batch = torch.export.Dim("batch", min=1, max=4096)
    torch.onnx.export(model, example, str(path), input_names=["features"], output_names=["unit_params"],
                      dynamic_shapes=({0: batch},), external_data=False, dynamo=True, verbose=False)
    return strip_debug_info(path)

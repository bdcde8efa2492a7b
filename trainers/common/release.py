"""Write a trained controller as a model release: ONNX FP32 (+ parity check), static-QDQ INT8, release.json
and card.json, in the model registry folder. Written to a temporary folder and renamed into place, so a
failed export never leaves (or overwrites) a release."""

from __future__ import annotations

import hashlib
import json
import os
import platform
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import numpy as np
import torch

from harness.controller_inputs import FEATURES
from harness.errors import UserError
from harness.models import discover_releases, models_dir
from trainers.common.export import export_controller
from trainers.common.quantize import quantize_int8

PARITY_MAX_ABS = 1e-4  # ONNX FP32 vs torch, on the calibration features


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], cwd=Path(__file__).resolve().parent, capture_output=True,
                             text=True, timeout=5, check=False)
        return out.stdout.strip() or None
    except OSError:
        return None


def _weight_bytes(path: Path) -> int:
    import onnx

    model = onnx.load(str(path))
    return sum(len(t.raw_data) or int(np.prod(t.dims)) * 4 for t in model.graph.initializer)


def int8_weight_grid_error(fp32_path: Path, int8_path: Path) -> float:
    """The largest |FP32 weight − INT8 weight dequantized|, in grid steps (that channel's scale), over the
    quantized weights: about 0.5 for weights trained in float, ~0 (float rounding) after QAT
    (trainers/common/qat.py)."""
    import onnx
    from onnx import numpy_helper

    fp32 = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(fp32_path)).graph.initializer}
    model = onnx.load(str(int8_path))
    int8 = {t.name: numpy_helper.to_array(t) for t in model.graph.initializer}
    worst = 0.0
    for node in model.graph.node:
        if node.op_type != "DequantizeLinear" or node.input[0] not in int8:
            continue
        q = int8[node.input[0]].astype(np.float64)
        base = node.input[0].removesuffix("_quantized")
        if base not in fp32 or fp32[base].shape != q.shape:
            raise ValueError(f"{int8_path}: {node.input[0]} has no FP32 weight of its shape in {fp32_path}")
        scale = int8[node.input[1]].astype(np.float64)
        zero = int8[node.input[2]].astype(np.float64) if len(node.input) > 2 else np.zeros_like(scale)
        if scale.ndim:  # per channel, along the node's axis (ONNX's default 1)
            axis = next((a.i for a in node.attribute if a.name == "axis"), 1) % q.ndim
            shape = [1] * q.ndim
            shape[axis] = -1
            scale, zero = scale.reshape(shape), zero.reshape(shape)
        worst = max(worst, float((np.abs((q - zero) * scale - fp32[base]) / scale).max()))
    return worst


QAT_GRID_TOLERANCE = 1e-3  # grid steps: float rounding of the scale, nothing more


def next_version(task: str, root: Path) -> int:
    return 1 + max((r.version for r in discover_releases(root) if r.task == task), default=0)


def write_release(model: torch.nn.Module, task: str, param_names: list[str], calibration: np.ndarray, card: dict,
                  *, root: Path | None = None, name_prefix: str = "", loudness: str = "predicted",
                  int8_activation_bits: int = 8) -> Path:
    """Export, check parity, quantize, describe; returns the release folder."""
    import onnxruntime as ort

    root = Path(root or models_dir())
    version = next_version(task, root)
    name = f"{name_prefix or task}-v{version}"
    final = root / task / name
    if final.exists():
        raise UserError(f"{final}: exists; a release is never overwritten")
    final.parent.mkdir(parents=True, exist_ok=True)
    tmp = Path(tempfile.mkdtemp(prefix=f".{name}.", dir=final.parent))
    try:
        fp32 = export_controller(model, calibration.shape[1], tmp / "model.onnx")
        sess = ort.InferenceSession(str(fp32), providers=["CPUExecutionProvider"])
        with torch.no_grad():
            expected = model(torch.from_numpy(calibration)).numpy()
        got = sess.run(None, {sess.get_inputs()[0].name: calibration})[0]
        if not (np.isfinite(expected).all() and np.isfinite(got).all()):
            raise UserError(f"{fp32}: the controller's outputs are not finite (NaN or Inf: a diverged training?); "
                            "not released")
        parity = float(np.abs(got - expected).max())
        if parity > PARITY_MAX_ABS:
            raise UserError(f"{fp32}: ONNX differs from torch by {parity:.2e} (> {PARITY_MAX_ABS:g}); not released")
        int8 = quantize_int8(fp32, tmp / "model.int8.onnx", calibration, activation_bits=int8_activation_bits)
        grid_error = int8_weight_grid_error(fp32, int8)
        qat = card.get("qat")
        if qat and grid_error > QAT_GRID_TOLERANCE:  # the quantizer chose another grid than QAT trained on
            raise UserError(f"{int8}: trained on the int8 grid (QAT) but the INT8 weights differ from the FP32 ones "
                            f"by {grid_error:.3g} grid steps (> {QAT_GRID_TOLERANCE:g}); not released")
        files = {"fp32": fp32.name, "int8": int8.name}
        sizes = {p: (tmp / f).stat().st_size for p, f in files.items()}
        full_card = {
            **card, "task": task, "version": version, "name": name, "features": FEATURES, "params": param_names,
            "git_sha": _git_sha(), "torch": torch.__version__, "onnxruntime": ort.__version__,
            "python": platform.python_version(), "onnx_parity_max_abs": parity,
            "files": {p: {"file": f, "bytes": sizes[p], "sha256": _sha256(tmp / f)} for p, f in files.items()},
            "int8_size_ratio": sizes["fp32"] / sizes["int8"],
            "int8_scheme": f"QDQ: weights int8 per channel, activations int{int8_activation_bits}, biases float"
                           + ("; FP32 weights on the same int8 grid (QAT)" if qat else ""),
            # the INT8 weights' distance from the FP32 ones, in grid steps: ~0.5 without QAT, ~0 with it
            "int8_weight_grid_error": grid_error,
            # weights alone: on a small controller the graph itself (names, Q/DQ nodes) is much of the file
            "int8_weight_bytes_ratio": _weight_bytes(tmp / files["fp32"]) / _weight_bytes(tmp / files["int8"]),
        }
        (tmp / "card.json").write_text(json.dumps(full_card, indent=1, sort_keys=True))
        (tmp / "release.json").write_text(json.dumps({
            "name": name, "task": task, "version": version, "created_at": time.strftime("%Y-%m-%dT%H:%M:%SZ",
                                                                                      time.gmtime()),
            "features": FEATURES, "params": param_names, "files": files, "fixture": False, "loudness": loudness,
            "card": {k: full_card[k] for k in ("profile", "seed", "corpus_manifest", "validation") if k in full_card},
        }, indent=1))
        os.chmod(tmp, 0o755)
        os.rename(tmp, final)  # atomic: the release appears whole or not at all
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    return final

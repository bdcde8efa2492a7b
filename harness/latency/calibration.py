"""Fit the CPU device model (projection.py) to this machine, and say how well it fits.

Why: the projection's CPU figures (efficiency, per-node and per-run overheads) were typical values,
and its method check (projection vs measurement of the same model) was +224 % to +345 % off. A fit
to measurements on this machine makes the CPU projection a calibrated model, so that its remaining
error on models it was not fitted to is an honest band for the projected GPU figures.

Method (documented in docs/latency.md#cpu-device-model-fit):
  1. A calibration family of controllers built here with onnx.helper — MLPs and 1-D conv stacks over
     a range of widths and depths, each FP32 and static-QDQ INT8 (the trainers' quantizer) — spans
     the sizes a controller can have (≤ 1 M parameters).
  2. Each is measured single-stream on one thread (loadgen p50).
  3. The device model's free constants are fitted by least squares on relative error:
     FP32: compute_efficiency and bandwidth_efficiency on a grid, per-node and per-run overhead by
     non-negative least squares at each grid point; INT8: its own compute efficiency and per-node
     overhead (ONNX Runtime fuses Q/DQ pairs, so a QDQ graph's nodes cost less each), the per-run
     overhead and bandwidth shared.
  4. The error is reported in-sample and leave-one-out (each model projected by a fit without it).
"""

from __future__ import annotations

import platform
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np

from harness.latency.loadgen import Settings, run_single_stream
from harness.latency.projection import cpu_peak_gflops, node_costs
from harness.latency.targets import HardwareTarget

INPUT_NAME = "features"  # the trainers' quantizer feeds calibration rows to this input
COMPUTE_GRID = np.geomspace(0.01, 1.0, 41)  # share of the datasheet peak a kernel reaches
# Share of DRAM bandwidth: above 1 when a controller's weights stay in cache between runs (they do:
# a ≤ 1 M-parameter model fits in L2/L3), so the fitted figure is an effective cache bandwidth.
BANDWIDTH_GRID = np.geomspace(0.05, 50.0, 61)

# (kind, inputs, width, depth): from a fixture-sized MLP to a ~1 M-parameter controller.
FAMILY: tuple[tuple[str, int, int, int], ...] = (
    ("mlp", 64, 32, 1), ("mlp", 64, 64, 2), ("mlp", 96, 128, 2), ("mlp", 96, 256, 3),
    ("mlp", 128, 512, 2), ("mlp", 128, 512, 4), ("mlp", 256, 1024, 2), ("mlp", 128, 64, 8),
    ("mlp", 256, 768, 3), ("mlp", 96, 32, 6),
    ("conv", 256, 8, 2), ("conv", 256, 16, 3), ("conv", 512, 16, 4), ("conv", 512, 32, 3),
    ("conv", 1024, 32, 4), ("conv", 512, 64, 2), ("conv", 1024, 8, 6), ("conv", 2048, 16, 3),
)


@dataclass(frozen=True)
class Sample:
    """One calibration model: its device-model costs and its measured p50."""
    name: str
    precision: str
    flops: np.ndarray   # per node
    bytes: np.ndarray   # per node
    int8: np.ndarray    # per node: runs on the INT8 peak
    measured_ms: float

    @property
    def nodes(self) -> int:
        return len(self.flops)


@dataclass
class CpuFit:
    compute_efficiency: float
    bandwidth_efficiency: float
    per_node_overhead_us: float
    per_run_overhead_us: float
    int8_compute_efficiency: float
    int8_per_node_overhead_us: float
    peak_gflops: float
    peak_int8_gflops: float
    memory_bandwidth_gbs: float
    errors: dict = field(default_factory=dict)  # relative errors, in-sample and leave-one-out
    machine: dict = field(default_factory=dict)

    def target_values(self) -> dict:
        """The constants to write into targets.toml's [cpu] entry."""
        return {k: round(getattr(self, k), 4) for k in (
            "compute_efficiency", "bandwidth_efficiency", "per_node_overhead_us", "per_run_overhead_us",
            "int8_compute_efficiency", "int8_per_node_overhead_us")}

    def to_json(self) -> dict:
        return asdict(self)


def build_model(kind: str, inputs: int, width: int, depth: int, seed: int = 0):
    """An FP32 controller-shaped ONNX model: [1, inputs] → ... → [1, 8] sigmoid."""
    from onnx import TensorProto, helper, numpy_helper

    rng = np.random.default_rng(seed)
    nodes, inits = [], []

    def weight(name: str, shape: tuple[int, ...]) -> str:
        fan_in = int(np.prod(shape[1:])) if len(shape) > 2 else shape[0]
        inits.append(numpy_helper.from_array((rng.standard_normal(shape) / np.sqrt(fan_in)).astype(np.float32), name))
        return name

    x = INPUT_NAME
    if kind == "mlp":
        dims = [inputs] + [width] * depth
        for i in range(depth):
            w, b = weight(f"w{i}", (dims[i], dims[i + 1])), weight(f"b{i}", (dims[i + 1],))
            nodes += [helper.make_node("MatMul", [x, w], [f"m{i}"]), helper.make_node("Add", [f"m{i}", b], [f"a{i}"]),
                      helper.make_node("Relu", [f"a{i}"], [f"h{i}"])]
            x = f"h{i}"
        last = width
    elif kind == "conv":
        inits.append(numpy_helper.from_array(np.array([1, 1, inputs], dtype=np.int64), "shape"))
        nodes.append(helper.make_node("Reshape", [x, "shape"], ["r"]))
        x, channels = "r", 1
        for i in range(depth):
            w, b = weight(f"w{i}", (width, channels, 5)), weight(f"b{i}", (width,))
            nodes += [helper.make_node("Conv", [x, w, b], [f"c{i}"], pads=[2, 2], strides=[2]),
                      helper.make_node("Relu", [f"c{i}"], [f"h{i}"])]
            x, channels = f"h{i}", width
        nodes.append(helper.make_node("GlobalAveragePool", [x], ["g"]))
        inits.append(numpy_helper.from_array(np.array([1, width], dtype=np.int64), "flat"))
        nodes.append(helper.make_node("Reshape", ["g", "flat"], ["f"]))
        x, last = "f", width
    else:
        raise ValueError(f"unknown calibration model kind {kind!r} (mlp, conv)")
    w, b = weight("w_out", (last, 8)), weight("b_out", (8,))
    nodes += [helper.make_node("MatMul", [x, w], ["mo"]), helper.make_node("Add", ["mo", b], ["ao"]),
              helper.make_node("Sigmoid", ["ao"], ["params"])]
    graph = helper.make_graph(nodes, f"{kind}-{inputs}-{width}x{depth}",
                              [helper.make_tensor_value_info(INPUT_NAME, TensorProto.FLOAT, [1, inputs])],
                              [helper.make_tensor_value_info("params", TensorProto.FLOAT, [1, 8])], inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 17)])
    model.ir_version = 8
    return model


def build_family(folder: Path, family=FAMILY) -> list[tuple[str, str, Path]]:
    """Write every calibration model, FP32 and INT8: (name, precision, path)."""
    import onnx

    from trainers.common.quantize import quantize_int8

    folder.mkdir(parents=True, exist_ok=True)
    out = []
    for kind, inputs, width, depth in family:
        name = f"{kind}-{inputs}-{width}x{depth}"
        fp32 = folder / f"{name}.onnx"
        onnx.save(build_model(kind, inputs, width, depth), str(fp32))
        int8 = quantize_int8(fp32, folder / f"{name}.int8.onnx",
                             np.random.default_rng(1).normal(0, 0.5, size=(32, inputs)).astype(np.float32))
        out += [(name, "fp32", fp32), (name, "int8", int8)]
    return out


def measure_p50_ms(path: Path, settings: Settings) -> float:
    from harness.onnx_session import make_session

    sess = make_session(path, threads=1)
    inp = sess.get_inputs()[0]
    x = np.random.default_rng(0).normal(0, 0.5, size=[d if isinstance(d, int) else 1 for d in inp.shape])
    feed = {inp.name: x.astype(np.float32)}
    return float(run_single_stream(lambda i: sess.run(None, feed), settings).p50_ms)


def sample_of(name: str, precision: str, path: Path, measured_ms: float) -> Sample:
    costs, _ = node_costs(path, qdq_fused=True)
    return Sample(name, precision, np.array([c.flops for c in costs]), np.array([c.bytes for c in costs]),
                  np.array([c.int8 for c in costs]), measured_ms)


def _roofline_s(s: Sample, peak: float, peak8: float, bw: float) -> float:
    compute = s.flops / np.where(s.int8, peak8, peak)
    return float(np.maximum(compute, s.bytes / bw).sum())


def _overheads(samples: list[Sample], roofline: np.ndarray,
               fixed_run_s: float | None = None) -> tuple[float, float, float]:
    """Non-negative (per-run, per-node) seconds minimising Σ ((measured − model) / measured)²."""
    from scipy.optimize import nnls

    t = np.array([s.measured_ms * 1e-3 for s in samples])
    n = np.array([s.nodes for s in samples], dtype=float)
    resid = t - roofline
    if fixed_run_s is None:
        a_mat = np.stack([np.ones_like(n), n], axis=1) / t[:, None]
        (run_s, node_s), _ = nnls(a_mat, resid / t)
    else:
        a_mat = (n / t)[:, None]
        (node_s,), _ = nnls(a_mat, (resid - fixed_run_s) / t)
        run_s = fixed_run_s
    model = roofline + run_s + node_s * n
    return float(run_s), float(node_s), float(np.sum(((model - t) / t) ** 2))


def fit(samples: list[Sample], target: HardwareTarget) -> CpuFit:
    fp32 = [s for s in samples if s.precision == "fp32"]
    int8 = [s for s in samples if s.precision == "int8"]
    if len(fp32) < 3 or len(int8) < 2:
        raise ValueError("a CPU fit needs at least 3 FP32 and 2 INT8 calibration models")
    peak = cpu_peak_gflops(target, 1) * 1e9
    peak8 = cpu_peak_gflops(target, 1, int8=True) * 1e9
    bw_peak = target.get("memory_bandwidth_gbs", 20.0) * 1e9
    best = None
    for eff_c in COMPUTE_GRID:
        for eff_b in BANDWIDTH_GRID:
            roof = np.array([_roofline_s(s, peak * eff_c, peak8 * eff_c, bw_peak * eff_b) for s in fp32])
            run_s, node_s, loss = _overheads(fp32, roof)
            if best is None or loss < best[0]:
                best = (loss, eff_c, eff_b, run_s, node_s)
    _, eff_c, eff_b, run_s, node_s = best
    best8 = None
    for eff_8 in COMPUTE_GRID:
        roof = np.array([_roofline_s(s, peak * eff_c, peak8 * eff_8, bw_peak * eff_b) for s in int8])
        _, node8_s, loss = _overheads(int8, roof, fixed_run_s=run_s)
        if best8 is None or loss < best8[0]:
            best8 = (loss, eff_8, node8_s)
    _, eff_8, node8_s = best8
    return CpuFit(compute_efficiency=float(eff_c), bandwidth_efficiency=float(eff_b),
                  per_node_overhead_us=node_s * 1e6, per_run_overhead_us=run_s * 1e6,
                  int8_compute_efficiency=float(eff_8), int8_per_node_overhead_us=node8_s * 1e6,
                  peak_gflops=peak / 1e9, peak_int8_gflops=peak8 / 1e9,
                  memory_bandwidth_gbs=bw_peak / 1e9)


def predict_ms(s: Sample, f: CpuFit) -> float:
    int8 = s.precision == "int8"
    roof = _roofline_s(s, f.peak_gflops * 1e9 * f.compute_efficiency,
                       f.peak_int8_gflops * 1e9 * f.int8_compute_efficiency,
                       f.memory_bandwidth_gbs * 1e9 * f.bandwidth_efficiency)
    node_us = f.int8_per_node_overhead_us if int8 else f.per_node_overhead_us
    return (roof + f.per_run_overhead_us * 1e-6 + node_us * 1e-6 * s.nodes) * 1e3


def error_summary(errors: list[float]) -> dict:
    a = np.abs(np.array(errors))
    return {"n": len(errors), "median_abs": float(np.median(a)), "max_abs": float(a.max()),
            "min": float(min(errors)), "max": float(max(errors))}


def calibrate(samples: list[Sample], target: HardwareTarget) -> CpuFit:
    """The fit on every sample, with its in-sample and leave-one-out relative errors."""
    result = fit(samples, target)
    in_sample = {f"{s.name}/{s.precision}": predict_ms(s, result) / s.measured_ms - 1 for s in samples}
    loo = {}
    for i, s in enumerate(samples):
        others = samples[:i] + samples[i + 1:]
        loo[f"{s.name}/{s.precision}"] = predict_ms(s, fit(others, target)) / s.measured_ms - 1
    result.errors = {"in_sample": error_summary(list(in_sample.values())),
                     "leave_one_out": error_summary(list(loo.values())),
                     "per_model": {k: {"measured_ms": s.measured_ms, "in_sample": in_sample[k], "leave_one_out": loo[k]}
                                   for k, s in zip(in_sample, samples, strict=True)}}
    return result


def run_calibration(folder: Path, target: HardwareTarget, settings: Settings = Settings(min_query_count=200,
                    required_percentiles=(50,)), progress=None, family=FAMILY) -> CpuFit:
    """Build the family, measure it on this machine, fit. `progress(done, total)` after each model."""
    import onnxruntime

    from harness.environment import fingerprint

    models = build_family(folder, family)
    samples = []
    for i, (name, precision, path) in enumerate(models):
        samples.append(sample_of(name, precision, path, measure_p50_ms(path, settings)))
        if progress:
            progress(i + 1, len(models))
    result = calibrate(samples, target)
    result.machine = {"cpu": fingerprint()["cpu"], "python": platform.python_version(),
                      "onnxruntime": onnxruntime.__version__, "threads": 1, "models": len(samples)}
    return result


__all__ = ["CpuFit", "Sample", "FAMILY", "build_model", "build_family", "calibrate", "fit", "predict_ms",
           "run_calibration"]

"""The CPU device-model fit (harness/latency/calibration.py): it recovers constants it is given,
costs QDQ graphs the way ONNX Runtime's CPU provider runs them, and runs end to end."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from harness.latency.calibration import (
    BANDWIDTH_GRID,
    COMPUTE_GRID,
    CpuFit,
    build_family,
    build_model,
    calibrate,
    predict_ms,
    run_calibration,
    sample_of,
)
from harness.latency.loadgen import Settings
from harness.latency.projection import node_costs, project
from harness.latency.targets import load_targets

SMALL_FAMILY = (("mlp", 64, 32, 1), ("mlp", 128, 256, 2), ("conv", 256, 8, 2), ("mlp", 96, 64, 4))


@pytest.fixture(scope="module")
def family(tmp_path_factory) -> list[tuple[str, str, Path]]:
    return build_family(tmp_path_factory.mktemp("calibration"), SMALL_FAMILY)


def test_fit_recovers_the_constants_that_made_the_times(family):
    """Times made by the device model with known constants (on the fit's grid) come back exactly."""
    target = load_targets()["cpu"]
    truth = CpuFit(compute_efficiency=COMPUTE_GRID[30], bandwidth_efficiency=BANDWIDTH_GRID[40],
                   per_node_overhead_us=0.3, per_run_overhead_us=4.0, int8_compute_efficiency=COMPUTE_GRID[20], int8_per_node_overhead_us=1.2, peak_gflops=0, peak_int8_gflops=0,
                   memory_bandwidth_gbs=target.get("memory_bandwidth_gbs"))
    from harness.latency.projection import cpu_peak_gflops

    truth.peak_gflops = cpu_peak_gflops(target, 1)
    truth.peak_int8_gflops = cpu_peak_gflops(target, 1, int8=True)
    samples = [sample_of(name, precision, path, 1.0) for name, precision, path in family]
    samples = [replace(s, measured_ms=predict_ms(s, truth)) for s in samples]
    got = calibrate(samples, target)
    assert got.errors["in_sample"]["max_abs"] < 1e-6
    assert got.per_run_overhead_us == pytest.approx(4.0, rel=1e-6)
    assert got.per_node_overhead_us == pytest.approx(0.3, rel=1e-6)
    assert got.int8_per_node_overhead_us == pytest.approx(1.2, rel=1e-6)
    assert got.compute_efficiency == pytest.approx(COMPUTE_GRID[30], rel=1e-6)
    assert got.int8_compute_efficiency == pytest.approx(COMPUTE_GRID[20], rel=1e-6)


def test_qdq_graph_costs_int8_kernels_and_no_qdq_nodes(family):
    int8 = next(path for name, precision, path in family if name == "mlp-128-256x2" and precision == "int8")
    fp32 = next(path for name, precision, path in family if name == "mlp-128-256x2" and precision == "fp32")
    fused, _ = node_costs(int8, qdq_fused=True)
    unfused, _ = node_costs(int8)
    plain, _ = node_costs(fp32)
    assert not any(c.op in ("QuantizeLinear", "DequantizeLinear") for c in fused)
    assert any(c.op == "DequantizeLinear" for c in unfused)
    matmuls = [c for c in fused if c.op in ("MatMul", "Gemm")]  # quant_pre_process fuses MatMul + Add
    assert matmuls and all(c.int8 for c in matmuls)
    # The 128x256 and 256x256 weights are read as int8: about a quarter of the FP32 bytes.
    fused_bytes = sum(c.bytes for c in matmuls)
    plain_bytes = sum(c.bytes for c in plain if c.op in ("MatMul", "Add"))
    assert 0.2 < fused_bytes / plain_bytes < 0.35
    # The CPU projection costs the fused graph; a GPU projection runs every Q/DQ node.
    targets = load_targets()
    assert project(int8, targets["cpu"]).nodes == len(fused)
    assert project(int8, targets["t4"]).nodes == len(unfused)


def test_build_model_rejects_an_unknown_kind():
    with pytest.raises(ValueError, match="unknown calibration model kind"):
        build_model("transformer", 64, 32, 1)


@pytest.mark.slow(seconds=15)
def test_calibration_runs_end_to_end(tmp_path):
    seen = []
    fit = run_calibration(tmp_path, load_targets()["cpu"],
                          Settings(warmup_queries=2, min_query_count=20, min_duration_s=0.0, required_percentiles=(50,)),
                          progress=lambda done, total: seen.append((done, total)), family=SMALL_FAMILY)
    assert seen[-1] == (8, 8)
    assert fit.errors["in_sample"]["n"] == 8 and np.isfinite(fit.errors["leave_one_out"]["max_abs"])
    assert fit.machine["models"] == 8
    assert set(fit.target_values()) <= set(load_targets()["cpu"].spec)  # the fit names keys targets.toml has


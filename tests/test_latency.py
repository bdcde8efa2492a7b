"""Latency: load generator percentiles and validity, measured vs projected labelling everywhere,
repeatability, and the projection's cost model on a graph whose FLOPs are known."""

import json
import sqlite3

import numpy as np
import pytest

from harness.cli import main
from harness.latency.loadgen import Settings, run_single_stream
from harness.latency.measure import measure_release
from harness.latency.projection import node_costs, project
from harness.latency.targets import get_targets, load_targets
from harness.models import discover_releases, load_release
from tests.fake_clock import FakeClock
from tests.hardware import expected_gpu_source
from tests.model_fixtures import build_fixture_release


def test_single_stream_percentiles_are_nearest_rank():
    clock = FakeClock([(k + 1) * 1_000_000 for k in range(1000)])  # 1..1000 ms, cycling
    res = run_single_stream(clock.sut, Settings(warmup_queries=0, min_query_count=1000, min_duration_s=0.0,
                                                max_duration_s=1e9), clock=clock)
    assert res.queries == 1000 and res.valid
    assert (res.p50_ms, res.p90_ms, res.p95_ms, res.p99_ms) == (500.0, 900.0, 950.0, 990.0)


def test_too_few_queries_in_the_time_limit_is_invalid_with_reason():
    clock = FakeClock([400_000_000])  # 400 ms per query
    res = run_single_stream(clock.sut, Settings(warmup_queries=1, min_query_count=100, min_duration_s=0.5,
                                                max_duration_s=2.0), clock=clock)
    assert not res.valid and "only 5 queries" in res.reason and "minimum 100" in res.reason


def test_projection_counts_gemm_flops(tmp_path):
    import torch

    from trainers.common.export import export_controller

    model = torch.nn.Sequential(torch.nn.Linear(33, 64), torch.nn.ReLU(), torch.nn.Linear(64, 16))
    path = export_controller(model, 33, tmp_path / "m.onnx")
    costs, io_bytes = node_costs(path, batch=1)
    matmul = sorted(c.flops for c in costs if c.op in ("Gemm", "MatMul"))
    assert matmul == [2 * 64 * 16, 2 * 33 * 64]
    assert io_bytes == (33 + 16) * 4
    t4, a10g = load_targets()["t4"], load_targets()["a10g"]
    p4, pa = project(path, t4), project(path, a10g)
    assert 0 < pa.latency_ms < p4.latency_ms  # the faster card projects faster
    assert "pcie_ms" in p4.assumptions and p4.assumptions["source"].startswith("NVIDIA T4")


@pytest.fixture(scope="module")
def release(tmp_path_factory):
    root = tmp_path_factory.mktemp("models")
    build_fixture_release(root, "eq")
    return load_release(root / "eq" / "fixture-eq-v1"), root


QUICK = Settings(warmup_queries=20, min_query_count=300, min_duration_s=0.3, max_duration_s=5.0, offline_batch=32)


def test_rows_are_labelled_measured_or_projected(release):
    rel, _ = release
    rows = measure_release(rel, get_targets(["cpu", "t4", "a10g"]), clip_seconds=2.0, settings=QUICK,
                           thread_counts=(1,))
    by = {(r["hardware"], r["source"], r["scope"], r["precision"]) for r in rows}
    for precision in ("fp32", "int8"):
        assert ("cpu", "measured", "controller", precision) in by
        assert ("cpu", "measured", "end_to_end", precision) in by
        assert ("cpu", "projected", "controller", precision) in by  # the method check
        for gpu in ("t4", "a10g"):
            # measured only on a CUDA GPU whose name matches the target, else projected, never both
            source = expected_gpu_source(gpu)
            other = {"measured": "projected", "projected": "measured"}[source]
            assert (gpu, source, "controller", precision) in by
            assert (gpu, other, "controller", precision) not in by
    for r in rows:
        assert r["source"] in ("measured", "projected")
        assert r["fixture"] is True
        if r["source"] == "projected":
            assert r["assumptions"], "a projected figure must carry its assumptions"
        for k in ("model", "task", "precision", "hardware", "scope", "rtf", "clip_seconds"):
            assert r[k] is not None
        if r["source"] == "measured":
            assert r["p50_ms"] is not None and (r["p95_ms"] is not None or not r["valid"])
        else:  # one projected figure, never copied into percentiles
            assert r["projected_ms"] is not None and r["p95_ms"] is None and r["p99_ms"] is None
    cpu_check = [r for r in rows if r["hardware"] == "cpu" and r["source"] == "projected"]
    assert all(np.isfinite(r["projection_error"]) for r in cpu_check)


@pytest.mark.slow(seconds=4)
def test_same_model_timed_twice_gives_p50_within_20_percent(release):
    rel, _ = release
    settings = Settings(warmup_queries=200, min_query_count=3000, min_duration_s=0.5, max_duration_s=5.0)
    p50 = []
    for _ in range(5):
        rows = measure_release(rel, get_targets(["cpu"]), clip_seconds=1.0, settings=settings, thread_counts=(1,),
                               precisions=("fp32",))
        p50.append(next(r["p50_ms"] for r in rows if r["scope"] == "controller" and r["source"] == "measured"))
    # Another test running on the other core can only slow a measurement down (seen: 6.2 vs 9.9 µs under
    # xdist, and two of three slowed on a busy VM), so the two quickest of five must agree; a method that
    # is unstable by itself still fails.
    fastest = sorted(p50)[:2]
    assert (fastest[1] - fastest[0]) / fastest[0] < 0.20, p50


def test_cli_labels_projection_in_table_json_and_database(release, tmp_path, monkeypatch, capsys):
    _, root = release
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(root))
    db = tmp_path / "r.db"
    args = ["latency", "--min-queries", "50", "--min-duration", "0.05", "--clip-seconds", "1", "--db", str(db)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert "PROJECTED" in out and "MEASURED" in out and "(fixture)" in out
    assert main(args + ["--json", "--hardware", "t4"]) == 0
    rows = json.loads(capsys.readouterr().out)["latency"]
    assert {r["source"] for r in rows if r["hardware"] == "t4"} == {expected_gpu_source("t4")}
    with sqlite3.connect(db) as c:
        sources = dict(c.execute("SELECT hardware, GROUP_CONCAT(DISTINCT source) FROM latencies GROUP BY hardware"))
    assert sources["t4"] == expected_gpu_source("t4") and sources["a10g"] == expected_gpu_source("a10g")
    assert set(sources["cpu"].split(",")) == {"measured", "projected"}


def test_cli_bad_input(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "none"))
    # No release: nothing to measure, not bad input (README's CI workflow goes on to the gate).
    assert main(["latency", "--db", str(tmp_path / "r.db")]) == 0
    assert "nothing to measure" in capsys.readouterr().out
    assert main(["latency", "--hardware", "t5", "--db", str(tmp_path / "r.db")]) == 2
    assert "did you mean 't4'" in capsys.readouterr().err
    assert discover_releases(tmp_path / "none") == []


def test_profile_summarises_operators_and_fallbacks(release):
    from harness.latency.measure import profile_release

    rel, _ = release
    prof = profile_release(rel, "fp32", ["CPUExecutionProvider"], queries=20)
    assert prof["top_ops"] and abs(sum(op["share"] for op in prof["top_ops"]) - 1.0) < 1e-6
    assert any("Gemm" in op["op"] or "MatMul" in op["op"] for op in prof["top_ops"])  # ORT may fuse (FusedGemm)
    assert prof["cpu_fallback_nodes"] == []  # CPU asked for: nothing "fell back"

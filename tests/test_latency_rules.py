"""Latency by MLPerf rules (docs/latency.md): a percentile only with the queries its early-stopping
bound needs, projected rows carry one figure and a band but no percentiles, a GPU is measured once."""

import math

import numpy as np
import pytest
import scipy.stats

from harness.latency.loadgen import (
    Settings,
    early_stopping_bound,
    min_queries_for,
    run_single_stream,
)
from tests.fake_clock import FakeClock


def test_minimum_queries_follow_the_binomial_bound():
    for q, n in ((50, 7), (90, 44), (95, 90), (99, 459)):
        assert min_queries_for(q) == n
        p = q / 100
        assert p**n <= 0.01 < p ** (n - 1)  # the smallest N with p^N <= 1 - c


def test_early_stopping_bound_covers_the_true_quantile_at_99_percent():
    rng = np.random.default_rng(3)
    true_p99 = -math.log(0.01)  # exponential(1)
    misses = sum(early_stopping_bound(list(rng.exponential(1.0, 600)), 99) < true_p99 for _ in range(400))
    assert misses / 400 <= 0.03  # nominal 1 %
    x = list(range(1, 1001))
    k = int(scipy.stats.binom.ppf(0.99, 1000, 0.99)) + 1
    assert early_stopping_bound(x, 99) == float(k)


def _run(durations_ms, queries, required=(50, 90, 95, 99)):
    clock = FakeClock([d * 1_000_000 for d in durations_ms])
    settings = Settings(warmup_queries=0, min_query_count=queries, min_duration_s=0.0, max_duration_s=1e9,
                        required_percentiles=required)
    return run_single_stream(clock.sut, settings, clock=clock)


def test_p99_is_not_reported_from_100_queries_and_the_row_is_invalid_if_it_was_required():
    res = _run(range(1, 101), 100)
    assert (res.p50_ms, res.p90_ms, res.p95_ms) == (50.0, 90.0, 95.0)
    assert res.p99_ms is None and res.p99_bound_ms is None
    assert not res.valid and "p99 needs 459 queries" in res.reason


def test_a_percentile_that_is_not_required_is_left_out_without_invalidating_the_row():
    res = _run(range(1, 101), 100, required=(50, 90, 95))
    assert res.valid and res.p99_ms is None and "p99 not reported" in res.reason
    res = _run(range(1, 501), 500)
    assert res.valid and res.p99_ms == 495.0 and res.p99_bound_ms >= res.p99_ms


def test_too_few_queries_for_p95_is_invalid_even_when_the_minimum_count_is_lower():
    res = _run([5], 20, required=(50, 90, 95))
    assert not res.valid and "p90 needs 44 queries" in res.reason and "p95 needs 90 queries" in res.reason


@pytest.fixture
def release(tmp_path, monkeypatch):
    from harness.models import find_release
    from tests.model_fixtures import build_fixture_release

    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "models"))
    build_fixture_release(tmp_path / "models", "eq")
    return find_release("fixture-eq-v1")


def test_projected_rows_carry_one_figure_and_a_band_and_no_percentiles(release):
    from harness.latency.measure import measure_release
    from harness.latency.targets import get_targets

    rows = measure_release(release, get_targets(["cpu", "t4"]), clip_seconds=1.0, thread_counts=(1,),
                           settings=Settings(warmup_queries=2, min_duration_s=0.05, max_duration_s=5.0))
    projected = [r for r in rows if r["source"] == "projected"]
    assert projected
    for r in projected:
        assert r["p50_ms"] is None and r["p95_ms"] is None and r["p99_ms"] is None
        assert r["projected_ms"] > 0 and r["projected_low_ms"] <= r["projected_ms"] <= r["projected_high_ms"]
    for r in rows:
        assert r["clip_seconds"] == 1.0 and "valid" in r and "threads" in r
        if r["source"] == "measured" and r["scope"] == "end_to_end":
            assert r["queries"] >= min_queries_for(95) or not r["valid"]
            assert r["p99_ms"] is None or r["queries"] >= 459


def test_a_projection_whose_band_comes_from_an_invalid_measurement_is_invalid(release):
    """Trust: projected rows stayed valid when the CPU measurement behind their band was INVALID."""
    from harness.latency.measure import measure_release
    from harness.latency.targets import get_targets

    starved = Settings(warmup_queries=1, min_query_count=5, min_duration_s=0.0, max_duration_s=0.001)
    rows = measure_release(release, get_targets(["cpu", "t4"]), clip_seconds=1.0, thread_counts=(1,),
                           precisions=("fp32",), settings=starved)
    cpu = [r for r in rows if r["hardware"] == "cpu" and r["source"] == "measured" and r["scope"] == "controller"]
    assert cpu and not cpu[0]["valid"]
    projected = [r for r in rows if r["source"] == "projected"]
    assert projected and not any(r["valid"] for r in projected)


def test_a_bar_on_a_target_reads_the_rows_measured_on_its_versions():
    """The browser target writes `browser:chromium-<version>`; a bar or the ship rule naming `browser`
    reads those rows, and never another target's whose name merely starts the same."""
    from harness.bars import latency_rows
    from harness.latency.targets import hardware_matches

    assert hardware_matches("browser:chromium-150.0.7871.100", "browser")
    assert hardware_matches("cpu", "cpu") and not hardware_matches("browserx", "browser")
    assert not hardware_matches("browser:chromium-150", "cpu")
    row = {"model": "eq-v1", "hardware": "browser:chromium-150", "scope": "controller", "precision": "fp32",
           "threads": 1}
    other = {**row, "hardware": "cpu"}
    assert latency_rows([row, other], "eq-v1", "browser", "controller", "fp32", None) == [row]

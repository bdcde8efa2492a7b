"""Speed of the pricing models: fleet capacity (Erlang C sizing of every target, with its seeded M/M/c
simulation cross-check) and a 10,000-draw ROI Monte Carlo.

Run: .venv/bin/python -m pytest tests/benchmarks/test_pricing_speed.py --benchmark-enable -n 0
Goal: each finishes in well under a second on one core, so the `cost` command can run them every time.
Each test stores ``seconds_per_call`` in benchmark.extra_info; there are no timed asserts. Under the
project's default --benchmark-disable (or under xdist) each test is a smoke test: it runs once (the
simulation on fewer customers, the Monte Carlo on 10,000 draws either way) and its result is checked.
"""

from __future__ import annotations

import time
from decimal import Decimal

import pytest

from pricing.capacity import capacity_report, mmc_wait_quantile
from pricing.roi import load_roi, monte_carlo, roi_report

DRAWS = 10_000
ROWS = [  # one measured CPU row and projected GPU rows, shaped like the results store's
    {"model": "m", "task": "eq", "precision": "fp32", "hardware": "cpu", "source": "measured", "scope": "end_to_end",
     "threads": 1, "p50_ms": 40.0, "p95_ms": 46.0, "valid": 1, "clip_seconds": 10.0, "recorded_at": 1.0},
    *[{"model": "m", "task": "eq", "precision": "fp32", "hardware": hw, "source": "projected", "scope": "end_to_end",
       "threads": None, "projected_ms": 41.0, "projected_high_ms": 45.0, "valid": 1, "clip_seconds": 10.0,
       "recorded_at": 1.0} for hw in ("t4", "a10g")],
]


def _run(benchmark, fn, *args, **kwargs):
    start = time.perf_counter()
    result = benchmark(fn, *args, **kwargs)
    single = time.perf_counter() - start
    inner = getattr(getattr(benchmark, "stats", None), "stats", None)
    benchmark.extra_info["seconds_per_call"] = getattr(inner, "mean", None) or single
    return result


@pytest.fixture(scope="module")
def sim_customers(benchmarking) -> int:
    return 200_000 if benchmarking else 20_000


def test_capacity_speed(benchmark, sim_customers):
    """Both profiles, every target, each fleet cross-checked by the event simulation."""
    def both():
        return [capacity_report("controller", ROWS, model_bytes=4_000_000, sim_customers=sim_customers),
                capacity_report("heavy", sim_customers=sim_customers)]

    controller, heavy = _run(benchmark, both)
    assert controller["cheapest_meeting_slo"] == "browser"
    (t4,) = heavy["targets"]
    assert t4["instances"] == 24
    sim = t4["simulation"]
    assert sim["customers"] == sim_customers
    assert sim["erlang_c_wait_p95_s"] == pytest.approx(mmc_wait_quantile(24, t4["arrival_rate_per_s"], 1 / 20, 0.95))


def test_monte_carlo_10k_draws_speed(benchmark):
    plan = load_roi("plan")
    mc = _run(benchmark, monte_carlo, plan, draws=DRAWS, seed=0)
    assert mc["draws"] == DRAWS and mc == monte_carlo(plan, draws=DRAWS, seed=0)
    assert mc["net_roi"]["p10"] <= mc["net_roi"]["p50"] <= mc["net_roi"]["p90"]


def test_roi_report_speed(benchmark):
    """The whole ROI report: Decimal cash flow, 10k-draw Monte Carlo and the tornado."""
    report = _run(benchmark, roi_report, "plan", draws=DRAWS, seed=0)
    assert report["monte_carlo"]["draws"] == DRAWS and report["tornado"]
    assert Decimal(report["gross_roi_multiple"]) - Decimal(report["net_roi_multiple"]) == 1


def test_audit_capacity_and_monte_carlo_together(benchmark):
    """The Pricing issue's goal: the plan audit, capacity and a 10 k-draw Monte Carlo together (< 2 s)."""
    from pricing.audit import audit_report

    def together():
        return (audit_report(), capacity_report("heavy", sim_customers=20_000),
                monte_carlo(load_roi("plan"), draws=DRAWS, seed=0))

    audit, heavy, _ = _run(benchmark, together)
    assert len(audit) == 158 and heavy["targets"][0]["instances"] == 24

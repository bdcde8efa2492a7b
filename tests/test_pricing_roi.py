"""ROI: the cash flow by hand, gross and net kept apart, the plan's own ratio, a Monte Carlo reproducible
from its seed whose sampler draws what harness.tasks.distributions draws, the tornado, and inputs as data."""

from __future__ import annotations

import json
from decimal import Decimal

import numpy as np
import pytest

from harness.errors import UserError
from harness.tasks import distributions
from pricing.capacity import capacity_report
from pricing.roi import (
    RoiInputs,
    break_even_month,
    cash_flow,
    load_roi,
    monte_carlo,
    plan_style_multiple,
    quantile,
    roi_multiple,
    roi_report,
    sample_many,
    tornado,
    validate_distribution,
    with_capacity_cost,
)


def _inputs(**kw) -> RoiInputs:
    base = dict(months=12, users=1000, price_usd_per_user_month="10", uplift=0.1, ramp_months=1, churn=0.0,
                monthly_cost_usd="300", one_time_cost_usd="1000")
    return RoiInputs(**{**base, **kw})


def test_cash_flow_by_hand():
    flow = cash_flow(_inputs())
    # 100 added users × $10 = $1,000 a month; cost $300 a month + $1,000 in month 1.
    assert flow[0]["revenue_usd"] == Decimal(1000) and flow[0]["cost_usd"] == Decimal(1300)
    assert flow[0]["cumulative_usd"] == Decimal(-300) and flow[1]["cumulative_usd"] == Decimal(400)
    assert break_even_month(flow) == 2
    roi = roi_multiple(flow)
    assert roi["gross"] == Decimal(12000) / Decimal(4600)  # Σ revenue / Σ cost
    assert roi["net"] == (Decimal(12000) - Decimal(4600)) / Decimal(4600)
    assert roi["gross"] - roi["net"] == 1
    assert all(isinstance(r["revenue_usd"], Decimal) for r in flow)


def test_ramp_and_churn():
    flow = cash_flow(_inputs(ramp_months=2, churn=0.5, one_time_cost_usd="0"))
    assert [r["added_users"] for r in flow[:3]] == [Decimal(50), Decimal(75), Decimal("37.5")]
    assert break_even_month(cash_flow(_inputs(uplift=0.0))) is None  # never within the horizon


def test_plan_figures():
    plan = load_roi("plan")
    # The plan's ROI: $40,000 / $673 = 59x — a gross ratio of one month's full uplift revenue to cost.
    assert plan_style_multiple(plan) == Decimal(40000) / Decimal(673)
    assert round(plan_style_multiple(plan), 1) == Decimal("59.4")
    report = roi_report(plan, draws=2000)
    assert Decimal(report["gross_roi_multiple"]) - Decimal(report["net_roi_multiple"]) == 1
    assert Decimal(report["gross_roi_multiple"]) < Decimal(report["plan_style_multiple"])  # ramp, churn, one-time
    json.dumps(report)


def test_monte_carlo_reproducible_from_its_seed():
    plan = load_roi("plan")
    a = monte_carlo(plan, draws=5000, seed=3)
    assert a == monte_carlo(plan, draws=5000, seed=3)
    assert a != monte_carlo(plan, draws=5000, seed=4)
    assert a["net_roi"]["p10"] <= a["net_roi"]["p50"] <= a["net_roi"]["p90"]
    assert a["gross_roi"]["p50"] - a["net_roi"]["p50"] == pytest.approx(1.0)


def test_monte_carlo_with_constants_is_the_cash_flow():
    inputs = _inputs(ramp_months=3, churn=0.05, uncertain={"uplift": 0.1, "churn": 0.05})
    mc = monte_carlo(inputs, draws=10)
    flow = cash_flow(inputs)
    assert mc["net_roi"]["p50"] == pytest.approx(float(roi_multiple(flow)["net"]), rel=1e-12)
    assert mc["break_even_month"]["p50"] == break_even_month(flow)
    assert float(mc["cumulative_usd"]["p50"]) == pytest.approx(float(flow[-1]["cumulative_usd"]), abs=0.01)


@pytest.mark.parametrize("spec", [3.5, {"uniform": [1.0, 2.0]}, {"loguniform": [0.01, 1.0]}, {"randint": [2, 9]},
                                  {"choice": [10, 15, 20]}])
def test_vectorised_sampler_draws_what_harness_sample_draws(spec):
    ours = sample_many(spec, np.random.default_rng(11), 50)
    rng = np.random.default_rng(11)
    theirs = [float(distributions.sample(spec, rng)) for _ in range(50)]
    np.testing.assert_allclose(ours, theirs, rtol=1e-12)


@pytest.mark.parametrize("spec", [{"uniform": [1.0, 3.0]}, {"triangular": [0.0, 0.1, 0.25]},
                                  {"normal": [5.0, 2.0]}, {"loguniform": [0.1, 10.0]}])
def test_quantiles_match_sampled_quantiles(spec):
    x = sample_many(spec, np.random.default_rng(0), 200_000)
    for q in (0.1, 0.5, 0.9):
        assert quantile(spec, q) == pytest.approx(np.quantile(x, q), rel=0.02, abs=1e-3)
    assert quantile({"randint": [3, 12]}, 0.1) == 3 and quantile({"choice": [20, 10, 15]}, 0.9) == 20


@pytest.mark.parametrize(("spec", "match"), [({"triangular": [1, 0, 2]}, "triangular needs"),
                                             ({"normal": [1, 0]}, "normal needs"),
                                             ({"gamma": [1, 2]}, "unknown distribution"),
                                             ({"choice": ["a", "b"]}, "must list numbers")])
def test_bad_distributions_name_the_input(spec, match):
    with pytest.raises(ValueError, match=match):
        validate_distribution("uplift", spec)


def test_bad_inputs_name_the_file(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[roi]\nusers = 10\nprice_usd_per_user_month = "5"\nuplift = 0.1\nmonthly_cost_usd = "1"\n'
                   '[roi.uncertain]\nplugins = {uniform = [1, 2]}\n')
    with pytest.raises(UserError, match=r"bad\.toml: uncertain\.plugins: not an ROI input"):
        load_roi(bad)
    bad.write_text('[roi]\nusers = 10\nprice_usd_per_user_month = "5"\nuplift = 0.1\nmonthly_cost_usd = "1"\n'
                   'churn = 1.5\n')
    with pytest.raises(UserError, match=r"bad\.toml: churn"):
        load_roi(bad)


def test_tornado_each_input_at_p10_and_p90_others_at_base():
    plan = load_roi("plan")
    rows = tornado(plan)
    assert {r["input"] for r in rows} == set(plan.uncertain)
    swings = [r["swing_net_roi"] for r in rows]
    assert swings == sorted(swings, reverse=True)
    cost = next(r for r in rows if r["input"] == "monthly_cost_usd")
    assert cost["low"] == pytest.approx(673 + 0.1 * (2404.5 - 673)) and cost["net_roi_at_low"] > cost["net_roi_at_high"]
    again = roi_multiple(cash_flow(plan.replaced(monthly_cost_usd=cost["high"])))["net"]
    assert cost["net_roi_at_high"] == again


def test_monthly_cost_from_a_capacity_report():
    capacity = capacity_report("heavy", simulate=False)
    inputs = with_capacity_cost(load_roi("plan"), capacity, other_monthly_cost_usd=Decimal("16"))
    assert inputs.monthly_cost_usd == Decimal("9231.52")  # 24 T4 instances + the plan's $16 load balancer
    assert "monthly_cost_usd" not in inputs.uncertain and "uplift" in inputs.uncertain
    report = roi_report("plan", capacity=capacity, other_monthly_cost_usd=Decimal("16"), draws=1000)
    assert report["inputs"]["monthly_cost_usd"] == "9231.52" and "heavy" in report["monthly_cost_from"]
    with pytest.raises(UserError, match="no sized target"):
        with_capacity_cost(load_roi("plan"), capacity, target="a10g")

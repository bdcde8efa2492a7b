"""Fleet capacity: Erlang C against an independent formula and published values, the M/M/c waiting-time
quantile against a seeded event simulation, sizing rules, profiles as data, and an integration run that
sizes a fleet from the rows a real `dawg-bench latency` run wrote."""

from __future__ import annotations

import json
import math
from decimal import Decimal
from fractions import Fraction

import pytest

from harness.errors import UserError
from pricing.capacity import (
    LoadProfile,
    ServiceTime,
    capacity_report,
    cheapest_target,
    erlang_b,
    erlang_c,
    lognormal_mean_s,
    mmc_response_quantile,
    mmc_wait_quantile,
    profile_names,
    service_time_from_rows,
    simulate_mmc,
    size_fleet,
)
from pricing.capacity import load_profile as load


def erlang_c_by_sum(c: int, a: Fraction) -> Fraction:
    """The textbook closed form, exactly in rationals: (A^c/c!)·c/(c−A) / (Σ_{k<c} A^k/k! + (A^c/c!)·c/(c−A))."""
    top = a**c / math.factorial(c) * c / (c - a)
    return top / (sum(a**k / math.factorial(k) for k in range(c)) + top)


@pytest.mark.parametrize(("c", "a"), [(1, Fraction(1, 2)), (2, Fraction(6, 5)), (3, Fraction(2)), (4, Fraction(3)),
                                      (10, Fraction(6)), (11, Fraction(10)), (24, Fraction(19)),
                                      (55, Fraction(48)), (120, Fraction(100))])
def test_erlang_c_matches_the_closed_form_exactly(c, a):
    assert erlang_c(c, float(a)) == pytest.approx(float(erlang_c_by_sum(c, a)), rel=1e-12)


def test_erlang_c_is_the_erlang_b_identity():
    # C = c·B / (c − A(1 − B)), with B from the recursion; M/M/1: C = ρ.
    for c, a in [(5, 2.5), (30, 25.0), (200, 180.0)]:
        b = erlang_b(c, a)
        assert erlang_c(c, a) == pytest.approx(c * b / (c - a * (1 - b)), rel=1e-14)
    assert erlang_c(1, 0.7) == pytest.approx(0.7, rel=1e-14)
    # Erlang B against the standard traffic tables (e.g. the Erlang B table in any teletraffic handbook):
    # 10 circuits carry 4.46 Erlangs at 1 % blocking and 5.08 Erlangs at 2 %.
    assert erlang_b(10, 4.46) == pytest.approx(0.01, abs=2e-4)
    assert erlang_b(10, 5.08) == pytest.approx(0.02, abs=2e-4)


def test_erlang_c_against_published_examples():
    # Call Centre Helper, "Erlang C Formula – Made Simple With an Easy Worked Example": 100 calls per half hour,
    # 180 s handling time → A = 10 Erlangs; N = 11 agents → P(wait) = 0.6821 (68.21 %); mean wait (ASA)
    # = C·AHT/(N − A) = 122.8 s.
    p = erlang_c(11, 10.0)
    assert p == pytest.approx(0.6821, abs=5e-5)
    assert p * 180 / (11 - 10) == pytest.approx(122.8, abs=0.05)
    # Textbook example (quoted in the Math StackExchange question "probability of a customer joining a queue
    # via Erlang C curve"): 120 customers an hour, 3 min each, 10 servers (A = 6) → "about 0.10".
    assert erlang_c(10, 6.0) == pytest.approx(0.10, abs=0.005)


def test_erlang_c_edges():
    assert erlang_c(3, 0.0) == 0.0 and erlang_c(3, 3.0) == 1.0 and erlang_c(3, 5.0) == 1.0
    with pytest.raises(ValueError):
        erlang_c(0, 1.0)
    assert 0 < erlang_c(5000, 4900.0) < 1  # no factorial overflow


def test_wait_quantile_is_the_closed_form():
    c, lam, mu = 4, 3.0, 1.0
    t = mmc_wait_quantile(c, lam, mu, 0.95)
    assert erlang_c(c, 3.0) * math.exp(-(c * mu - lam) * t) == pytest.approx(0.05, rel=1e-12)
    assert mmc_wait_quantile(10, 2.0, 1.0, 0.95) == 0.0  # P(wait) < 5 %: most arrivals never wait
    assert mmc_wait_quantile(2, 3.0, 1.0, 0.95) == math.inf
    # M/M/1 response time is exponential with rate μ − λ: its p95 is ln(20)/(μ − λ).
    assert mmc_response_quantile(1, 0.5, 1.0, 0.95) == pytest.approx(math.log(20) / 0.5, rel=1e-9)


@pytest.mark.parametrize(("c", "lam", "mu"), [(1, 0.8, 1.0), (4, 3.0, 1.0), (10, 6.0, 1.0),
                                              (24, 0.9512937595129376, 0.05)])
def test_simulation_within_10_percent_of_erlang_c_p95_wait(c, lam, mu):
    sim = simulate_mmc(c, lam, mu, customers=500_000, seed=0)
    expected = mmc_wait_quantile(c, lam, mu, 0.95)
    assert abs(sim.wait_p95_s / expected - 1) < 0.10, (sim, expected)
    assert sim.p_wait == pytest.approx(erlang_c(c, lam / mu), abs=0.02)


def test_simulation_is_reproducible_and_deterministic_service_waits_less():
    a = simulate_mmc(3, 2.4, 1.0, customers=20_000, seed=7)
    assert a == simulate_mmc(3, 2.4, 1.0, customers=20_000, seed=7)
    assert a != simulate_mmc(3, 2.4, 1.0, customers=20_000, seed=8)
    md = simulate_mmc(3, 2.4, 1.0, customers=200_000, seed=1, service="deterministic")
    assert md.mean_wait_s < simulate_mmc(3, 2.4, 1.0, customers=200_000, seed=1).mean_wait_s


def _profile(**kw) -> LoadProfile:
    base = dict(name="t", users=1000, requests_per_user_per_day=100, peak_factor=2.0, slo_ms=100.0,
                audio_seconds_per_request=10.0)
    return LoadProfile(**{**base, **kw})


def test_size_fleet_smallest_c_meeting_utilisation_and_slo():
    profile = _profile()
    lam = profile.peak_rate_per_s
    fleet = size_fleet(profile, ServiceTime("cpu", 0.04, 0.06, "measured", "MEASURED", "test"), Decimal("0.17"))
    assert fleet["utilisation"] <= profile.max_utilisation and fleet["meets_slo"] and fleet["latency_p95_s"] <= 0.1
    service = ServiceTime("cpu", 0.5, 0.06, "measured", "MEASURED", "test")  # long mean, short p95: the SLO binds
    fleet = size_fleet(profile, service, Decimal("0.17"))
    c = fleet["instances"]
    assert mmc_wait_quantile(c, lam, 2.0, 0.95) + 0.06 <= 0.1 < mmc_wait_quantile(c - 1, lam, 2.0, 0.95) + 0.06
    assert fleet["monthly_usd"] == Decimal(c) * 730 * Decimal("0.17")
    per_1000 = fleet["monthly_usd"] / Decimal(repr(profile.requests_per_month)) * 1000
    assert fleet["usd_per_1000_inferences"] == per_1000
    with pytest.raises(TypeError):
        size_fleet(profile, service, 0.17)


def test_size_fleet_says_when_no_fleet_meets_the_slo():
    fleet = size_fleet(_profile(), ServiceTime("t4", 0.2, 0.3, "profile", "PROFILE", "test"), Decimal("1"))
    assert not fleet["meets_slo"] and "alone exceeds the SLO" in fleet["reason"]
    assert fleet["utilisation"] <= 0.8


def test_profiles_load_and_bad_data_names_the_file(tmp_path):
    assert {"controller", "heavy"} <= set(profile_names())
    heavy = load("heavy")
    assert heavy.requests_per_month == 1_000_000 and heavy.service_times["t4"].mean_s == 20
    assert load("controller").requests_per_month == pytest.approx(10_000 * 20 * 730 / 24)
    bad = tmp_path / "bad.toml"
    bad.write_text("[profile]\nusers = 10\npeak_factor = 0.5\nslo_ms = 1\naudio_seconds_per_request = 1\n"
                   "requests_per_month = 5\n")
    with pytest.raises(UserError, match=r"bad\.toml: peak_factor"):
        load(bad)
    bad.write_text("[profile]\nusers = 10\npeak_factor = 1\nslo_ms = 1\naudio_seconds_per_request = 1\n")
    with pytest.raises(UserError, match="exactly one of"):
        load(bad)
    with pytest.raises(UserError, match="known: controller"):
        load("nope")


def test_heavy_profile_at_one_million_requests_needs_far_more_than_the_plans_four():
    report = capacity_report("heavy")
    (t4,) = report["targets"]
    assert report["requests_per_month"] == 1_000_000 and report["cheapest_meeting_slo"] == "t4"
    assert t4["instances"] == 24 and t4["meets_slo"] and t4["at_average_load"]["instances"] == 10
    check = report["plan_check"]["targets"]["t4"]
    assert report["plan_check"]["plan_instances"] == 4
    assert not check["stable"] and check["utilisation_at_average"] == pytest.approx(1.9026, abs=1e-4)
    assert t4["monthly_usd"] == "9215.52"  # 24 × 730 h × $0.526
    sim = t4["simulation"]
    assert abs(sim["wait_p95_s"] / sim["erlang_c_wait_p95_s"] - 1) < 0.10
    json.dumps(report)  # JSON-ready
    doubled = capacity_report(load("heavy").with_requests_per_month(2_000_000), simulate=False)
    assert doubled["requests_per_month"] == 2_000_000 and doubled["targets"][0]["instances"] > 24


def _rows(**over) -> list[dict]:
    measured = dict(model="m", task="eq", precision="fp32", hardware="cpu", source="measured", scope="end_to_end",
                    threads=1, p50_ms=4.0, p95_ms=5.0, valid=1, clip_seconds=10.0, recorded_at=1.0)
    return [measured,
            {**measured, "threads": 2, "p50_ms": 3.0, "p95_ms": 9.0, "recorded_at": 2.0},
            {**measured, "recorded_at": 3.0, "valid": 0, "p95_ms": 99.0},
            {**measured, "hardware": "t4", "source": "projected", "threads": None, "p50_ms": None, "p95_ms": None,
             "projected_ms": 2.0, "projected_high_ms": 2.5},
            {**measured, "hardware": "a10g", "source": "projected", "threads": None, "p50_ms": None, "p95_ms": None,
             "projected_ms": 2.0, "projected_high_ms": 2.5, "valid": 0}]


def test_service_time_prefers_valid_measured_single_stream_then_projected():
    rows = _rows()
    cpu = service_time_from_rows(rows, "cpu")
    assert cpu.label == "MEASURED" and cpu.p95_s == 0.005 and cpu.row["threads"] == 1
    assert cpu.mean_s == pytest.approx(lognormal_mean_s(0.004, 0.005)) and 0.004 < cpu.mean_s < 0.005
    t4 = service_time_from_rows(rows, "t4", audio_seconds=20.0)
    assert t4.label == "PROJECTED" and t4.mean_s == pytest.approx(0.004) and t4.p95_s == pytest.approx(0.005)
    assert "PROJECTED" in t4.how and "scaled linearly" in t4.how
    with pytest.raises(UserError, match="no valid end_to_end latency row .* on a10g"):
        service_time_from_rows(rows, "a10g")
    assert lognormal_mean_s(0.004, 0.004) == 0.004


def test_cheapest_target_and_unavailable_targets():
    profile = _profile(targets=["browser", "cpu", "t4", "a10g"])
    report = capacity_report(profile, _rows(), model_bytes=50_000_000, simulate=False)
    assert set(report["unavailable"]) == {"a10g"}
    by = {t["target"]: t for t in report["targets"]}
    assert by["browser"]["monthly_usd"] == "4.25"  # 50 MB × 1,000 downloads = 50 GB × $0.085/GB
    assert report["cheapest_meeting_slo"] == "browser"
    assert cheapest_target([{"target": "x", "meets_slo": False, "monthly_usd": Decimal(1)},
                            {"target": "y", "meets_slo": True, "monthly_usd": Decimal(5)}]) == "y"
    priced = capacity_report(profile, _rows(), targets=["cpu", "t4"], prices={"cpu": Decimal("10")}, simulate=False)
    assert priced["cheapest_meeting_slo"] == "t4" and priced["targets"][0]["price_source"] == "given by the caller"
    with pytest.raises(UserError, match="no target could be sized"):
        capacity_report(profile, [], targets=["cpu"])


@pytest.mark.slow(seconds=15)
def test_capacity_reads_the_rows_a_latency_run_wrote(tmp_path, monkeypatch):
    from harness.cli import main
    from harness.store import Store
    from tests.model_fixtures import build_fixture_release

    root = tmp_path / "models"
    release = build_fixture_release(root, "eq")
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(root))
    db = str(tmp_path / "r.db")
    assert main(["latency", "--min-queries", "50", "--min-duration", "0.05", "--clip-seconds", "1",
                 "--hardware", "cpu,t4,a10g", "--db", db]) == 0
    store = Store(db)
    try:
        rows = store.latencies()
    finally:
        store.close()
    report = capacity_report("controller", rows, model="fixture-eq-v1", precision="fp32",
                             model_bytes=(release / "model.onnx").stat().st_size)
    by = {t["target"]: t for t in report["targets"]}
    assert set(by) == {"browser", "cpu", "t4", "a10g"} and not report["unavailable"]
    cpu_row = next(r for r in rows if r["hardware"] == "cpu" and r["scope"] == "end_to_end"
                   and r["source"] == "measured" and r["threads"] == 1 and r["precision"] == "fp32")
    assert by["cpu"]["service_time"]["label"] == "MEASURED"
    assert by["cpu"]["service_p95_s"] == pytest.approx(cpu_row["p95_ms"] / 1000 * 10)  # 1 s clips → 10 s requests
    if by["t4"]["service_time"]["source"] == "projected":  # measured only on a machine with a T4
        assert by["t4"]["service_time"]["label"] == "PROJECTED"
    for t in report["targets"]:
        assert t["instances"] >= (1 if t["kind"] == "server" else 0)
        assert Decimal(t["monthly_usd"]) >= 0 and Decimal(t["usd_per_1000_inferences"]) >= 0
    assert report["cheapest_meeting_slo"] in by
    json.dumps(report)

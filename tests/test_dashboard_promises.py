"""dashboards/promises.py on small hand-built tables: each claim's verdict rule, every verdict it can give,
and that a proxy never decides one. No store, no Streamlit: fast."""

from decimal import Decimal
from types import SimpleNamespace

import pandas as pd
import pytest

from dashboards import promises as pr
from dashboards.promises import Verdict

PLAN = "\n".join([
    "# plan",
    "- AI mastering: 70-85% of pro quality",
    "- Your heuristics: 50-60% of pro quality",
    "**Overall: 6.5/10 → 9.2/10 (+2.7 points)**",
    "2. Quantize to INT8 (4x smaller, 4x faster)",
    "- ROI: $40,000 / $673 = **59x return**",
    "**Budget:** $650",
    "- 70% of users prefer ML version",
    "- < 100ms inference latency",
    "**Monthly Budget:** $1,800",
])
METRIC = "matched_mrstft_distance"


def _agg(rows):
    """Aggregates rows: (task, candidate, source, gap_median, gap_ci_lo, gap_ci_hi[, worse, n])."""
    out = []
    for r in rows:
        task, cand, source, med, lo, hi, *rest = r
        worse, n = (rest + [0.1, 100])[:2] if rest else (0.1, 100)
        out.append({"task": task, "candidate": cand, "source": source, "metric": METRIC, "gap_median": med,
                    "gap_ci_lo": lo, "gap_ci_hi": hi, "worse_than_bypass": worse, "n": n})
    return pd.DataFrame(out)


def _mastering(gen, rec, model="model:m-v1@fp32"):
    return _agg([
        ("mastering", model, "all", gen[0], gen[1], gen[2]),
        ("mastering", model, "generated", *gen),
        ("mastering", model, "recorded", *rec),
        ("mastering", "rules", "all", 0.55, 0.5, 0.6),
        ("mastering", "rules", "generated", 0.55, 0.5, 0.6),
        ("mastering", "rules", "recorded", 0.52, 0.45, 0.6),
        ("mastering", "bypass", "all", 0.0, 0.0, 0.0),
    ])


# ─── plan lines ───────────────────────────────────────────────────────────────────────────────


def test_every_claim_finds_its_lines_in_the_real_plan():
    from pricing.audit import PLAN_PATH

    text = PLAN_PATH.read_text(encoding="utf-8")
    found = {key: pr.plan_source(text, needles) for key, _, needles in pr.CLAIMS}
    assert len(found) == 7
    assert found["mastering-quality"][0] == (126, 127)
    assert found["roi"][0] == (613,)
    assert found["budgets"][0] == (620, 651)
    assert found["latency"][0] == (630,) and found["preference"][0] == (629,)
    assert all(lines for lines, _ in found.values())
    assert found["int8"][1] == "Quantize to INT8 (4x smaller, 4x faster)"  # the list marker "2. " dropped
    assert found["roi"][1] == "ROI: $40,000 / $673 = 59x return"  # the plan's bold marks dropped


def test_plan_source_skips_a_needle_the_plan_no_longer_has():
    assert pr.plan_source("a\nb", ["b", "zzz"]) == ((2,), "b")


# ─── best model and the comparison table ──────────────────────────────────────────────────────


def test_best_model_is_the_highest_gap_closed_over_all_clips():
    agg = _agg([
        ("eq", "model:a@fp32", "all", 0.30, 0.2, 0.4), ("eq", "model:a@int8", "all", 0.35, 0.2, 0.4),
        ("eq", "model:a@fp32", "generated", 0.90, 0.8, 1.0),  # best on one source only: not the choice
        ("eq", "rules", "all", 0.80, 0.7, 0.9),  # a baseline is never the best *model*
    ])
    assert pr.best_model(agg, "eq", METRIC) == "model:a@int8"
    assert pr.best_model(agg, "eq", "other_metric") is None
    assert pr.best_model(agg[agg["candidate"] == "rules"], "eq", METRIC) is None


def test_comparison_keeps_best_model_baselines_and_peers_per_source_not_bounds():
    agg = _agg([
        ("eq", "model:a@fp32", "all", 0.3, 0.2, 0.4), ("eq", "model:a@fp32", "generated", 0.3, 0.2, 0.4),
        ("eq", "model:a@fp32", "recorded", 0.1, 0.0, 0.2), ("eq", "model:b@fp32", "generated", 0.1, 0.0, 0.2),
        ("eq", "rules", "generated", -0.2, -0.3, -0.1), ("eq", "matchering", "generated", -0.5, -0.6, -0.4),
        ("eq", "bypass", "generated", 0.0, 0.0, 0.0), ("eq", "oracle", "generated", 1.0, 1.0, 1.0),
    ])
    table = pr.comparison(agg, "eq", METRIC, "model:a@fp32", {"matchering": "peer"})
    assert set(table["source"]) == {"generated", "recorded"}  # 'all' left out when the sources are split
    gen = table[table["source"] == "generated"]
    assert list(gen["candidate"]) == ["model:a@fp32", "rules", "matchering"]
    assert list(gen["role"]) == ["best model", "baseline", "peer"]


# ─── 1. mastering ─────────────────────────────────────────────────────────────────────────────


@pytest.mark.parametrize(("gen", "rec", "verdict"), [
    ((0.78, 0.72, 0.84), (0.75, 0.71, 0.80), Verdict.HOLDS),
    ((0.78, 0.72, 0.84), (0.40, 0.30, 0.50), Verdict.FAILS),  # one source below the bar fails it
    ((0.78, 0.72, 0.84), (0.72, 0.60, 0.85), Verdict.NOT_MEASURABLE),  # CI contains 70 %: undecided
])
def test_mastering_verdicts(gen, rec, verdict):
    p = pr.mastering_quality(PLAN, _mastering(gen, rec), METRIC)
    assert p.verdict == verdict
    assert p.plan_lines == (2, 3)
    assert "model:m-v1@fp32" in p.measured and "rules 55 %" in p.measured
    assert "heuristics" in p.why and "inside" in p.why  # rules at 55 %: inside the plan's 50-60 %


def test_mastering_without_a_model_is_not_measurable():
    agg = _mastering((0.8, 0.75, 0.85), (0.8, 0.75, 0.85))
    p = pr.mastering_quality(PLAN, agg[agg["candidate"] == "rules"], METRIC)
    assert p.verdict == Verdict.NOT_MEASURABLE and "no model" in p.measured
    assert pr.mastering_quality(PLAN, agg, None).verdict == Verdict.NOT_MEASURABLE


# ─── 2, 5. claims only people can measure: proxies shown, never the verdict ──────────────────


def test_quality_score_is_never_measurable_and_labels_its_proxy():
    p = pr.quality_score(PLAN, {"eq": ("model:a@fp32", 0.99)})
    assert p.verdict == Verdict.NOT_MEASURABLE and "listening test" in p.why
    assert p.proxy.startswith("proxy") and "eq 99 %" in p.proxy
    assert pr.quality_score(PLAN, {}).proxy == ""


def test_paired_share_counts_clips_where_the_model_is_closer():
    values = pd.DataFrame({"variant": [""] * 7, "clip_id": ["a", "a", "b", "b", "c", "c", "d"],
                           "candidate": ["model:x", "rules"] * 3 + ["model:x"],
                           "value": [0.1, 0.2, 0.3, 0.2, 0.5, 0.5, 0.1]})  # d: rules missing, left out
    share = pr.paired_share(values, "eq", "model:x", "rules", "lower")
    assert (share.wins, share.ties, share.n) == (1, 1, 3)
    assert pr.paired_share(values, "eq", "model:x", "rules", "higher").wins == 1
    assert pr.paired_share(values, "eq", "model:x", "absent").n == 0


def test_preference_stays_not_measurable_even_when_the_proxy_beats_70_percent():
    share = pr.PairedShare("eq", "model:x", "rules", wins=95, ties=0, n=100)
    p = pr.preference(PLAN, [share])
    assert p.verdict == Verdict.NOT_MEASURABLE
    assert "proxy, not a preference" in p.proxy and "95 %" in p.proxy


# ─── 3. INT8 ──────────────────────────────────────────────────────────────────────────────────


def _lat(rows):
    """Latency rows: (model, precision, hardware, source, scope, threads, p50, p95[, projected_high, recorded])."""
    out = []
    for i, r in enumerate(rows):
        model, precision, hardware, source, scope, threads, p50, p95, *rest = r
        high, recorded = (rest + [None, float(i)])[:2] if rest else (None, float(i))
        out.append({"recorded_at": recorded, "model": model, "task": "eq", "precision": precision,
                    "hardware": hardware, "source": source, "scope": scope, "threads": threads, "p50_ms": p50,
                    "p95_ms": p95, "valid": 1, "assumptions": None, "projected_ms": high,
                    "projected_high_ms": high})
    return pd.DataFrame(out)


def test_int8_speedups_pair_measured_rows_only_and_keep_the_newest():
    lat = _lat([
        ("m", "fp32", "cpu", "measured", "controller", 1, 4.0, 5.0, None, 1.0),
        ("m", "int8", "cpu", "measured", "controller", 1, 3.0, 4.0, None, 1.0),
        ("m", "int8", "cpu", "measured", "controller", 1, 1.0, 1.5, None, 2.0),  # newer: this one counts
        ("m", "fp32", "t4", "projected", "controller", None, None, None, 0.2),
        ("m", "int8", "t4", "projected", "controller", None, None, None, 0.05),
    ])
    speed = pr.int8_speedups(lat)
    assert list(speed["hardware"]) == ["cpu"]
    assert speed["speedup"].iloc[0] == pytest.approx(4.0)


@pytest.mark.parametrize(("fp32_bytes", "int8_bytes", "fp32_ms", "int8_ms", "verdict"), [
    (400, 100, 4.0, 1.0, Verdict.HOLDS),
    (400, 110, 4.0, 1.1, Verdict.HOLDS),  # 3.6x rounds to the plan's "4x"
    (300, 100, 4.0, 1.0, Verdict.FAILS),  # 3x smaller: does not hold even though it is 4x faster
    (400, 100, 1.0, 2.0, Verdict.FAILS),  # INT8 slower
])
def test_int8_verdicts(fp32_bytes, int8_bytes, fp32_ms, int8_ms, verdict):
    sizes = [pr.ModelSize("m", fp32_bytes, int8_bytes, "test")]
    lat = _lat([("m", "fp32", "cpu", "measured", "controller", 1, fp32_ms, 2 * fp32_ms),
                ("m", "int8", "cpu", "measured", "controller", 1, int8_ms, 2 * int8_ms)])
    assert pr.int8_claim(PLAN, sizes, pr.int8_speedups(lat)).verdict == verdict


def test_int8_without_files_or_pairs_is_not_measurable():
    p = pr.int8_claim(PLAN, [], pr.int8_speedups(_lat([])))
    assert p.verdict == Verdict.NOT_MEASURABLE and "not on this machine" in p.why


def test_int8_speed_verdict_rests_on_the_controller_scope():
    sizes = [pr.ModelSize("m", 400, 100, "test")]
    lat = _lat([("m", "fp32", "cpu", "measured", "controller", 1, 4.0, 5.0),
                ("m", "int8", "cpu", "measured", "controller", 1, 1.0, 1.2),
                ("m", "fp32", "cpu", "measured", "end_to_end", 1, 50.0, 60.0),  # DSP dominates: ~1x
                ("m", "int8", "cpu", "measured", "end_to_end", 1, 47.0, 58.0)])
    assert pr.int8_claim(PLAN, sizes, pr.int8_speedups(lat)).verdict == Verdict.HOLDS


def test_sizes_from_browser_rows_and_from_release_files(tmp_path):
    lat = _lat([("m", "fp32", "browser:x", "measured", "controller", 1, 0.1, 0.2),
                ("m", "int8", "browser:x", "measured", "controller", 1, 0.1, 0.2)])
    lat["assumptions"] = [{"browser": {"model_bytes": {"raw": 400}}}, {"browser": {"model_bytes": {"raw": 100}}}]
    assert [(s.release, s.ratio) for s in pr.sizes_from_latencies(lat)] == [("m", 4.0)]
    (tmp_path / "model.onnx").write_bytes(b"x" * 300)
    (tmp_path / "model.int8.onnx").write_bytes(b"x" * 100)
    files = {"fp32": "model.onnx", "int8": "model.int8.onnx"}
    release = SimpleNamespace(name="m", folder=str(tmp_path), files=files, path=lambda p: tmp_path / files[p])
    gone = SimpleNamespace(name="g", folder=str(tmp_path), files=files, path=lambda p: tmp_path / "absent")
    sizes = pr.sizes_from_releases([release, gone])
    assert [(s.release, s.ratio) for s in sizes] == [("m", 3.0)]
    assert pr.sizes_from_releases([release], names=["other"]) == []


# ─── 4. latency ───────────────────────────────────────────────────────────────────────────────


def test_latency_cells_use_each_models_fastest_configuration_and_drop_method_checks():
    lat = _lat([
        ("a", "fp32", "cpu", "measured", "end_to_end", 1, 80.0, 120.0),
        ("a", "fp32", "cpu", "measured", "end_to_end", 2, 70.0, 90.0),  # a's fastest: 90
        ("b", "fp32", "cpu", "measured", "end_to_end", 1, 10.0, 20.0),
        ("a", "fp32", "cpu", "projected", "end_to_end", 1, None, None, 5.0),  # CPU was measured: dropped
        ("a", "fp32", "t4", "projected", "end_to_end", None, None, None, 150.0),
    ])
    cells = pr.latency_cells(lat)
    cpu = cells[cells["hardware"] == "cpu"].iloc[0]
    assert (cpu["source"], cpu["p95_ms"], cpu["model"], cpu["models"]) == ("measured", 90.0, "a", 2)
    assert list(cells["hardware"]) == ["cpu", "t4"]


@pytest.mark.parametrize(("rows", "verdict"), [
    ([("a", "fp32", "cpu", "measured", "controller", 1, 1.0, 50.0)], Verdict.HOLDS),
    ([("a", "fp32", "cpu", "measured", "controller", 1, 1.0, 150.0)], Verdict.FAILS),
    ([("a", "fp32", "t4", "projected", "controller", None, None, None, 40.0)], Verdict.HOLDS_PROJECTED),
    ([("a", "fp32", "t4", "projected", "controller", None, None, None, 140.0)], Verdict.FAILS_PROJECTED),
    ([("a", "fp32", "cpu", "measured", "controller", 1, 1.0, 50.0),  # measured decides; projection noted
      ("a", "fp32", "t4", "projected", "controller", None, None, None, 140.0)], Verdict.HOLDS),
    ([], Verdict.NOT_MEASURABLE),
])
def test_latency_verdicts(rows, verdict):
    p = pr.latency_claim(PLAN, pr.latency_cells(_lat(rows)))
    assert p.verdict == verdict
    if verdict == Verdict.HOLDS and len(rows) == 2:
        assert "over the bar as projected" in p.why and "PROJECTED" in p.measured


def test_an_invalid_latency_row_does_not_count():
    lat = _lat([("a", "fp32", "cpu", "measured", "controller", 1, 1.0, 500.0)])
    lat["valid"] = 0
    assert pr.latency_claim(PLAN, pr.latency_cells(lat)).verdict == Verdict.NOT_MEASURABLE


# ─── 6. ROI ───────────────────────────────────────────────────────────────────────────────────


def test_roi_is_not_measurable_and_reports_the_modelled_band():
    report = {"inputs": {"months": 24, "ramp_months": 6, "churn": 0.03, "uplift": 0.2},
              "plan_style_multiple": "59.4354", "gross_roi_multiple": "37.7", "net_roi_multiple": "36.7",
              "monte_carlo": {"draws": 100, "seed": 0, "gross_roi": {"p10": 2.0, "p50": 5.0, "p90": 13.0}}}
    p = pr.roi_claim(PLAN, report, {"verdict": "wrong premise", "reason": "gross, not net"})
    assert p.verdict == Verdict.NOT_MEASURABLE
    assert "59.4x" in p.measured and "P90 13.0x" in p.measured
    assert "below 59x" in p.why and "wrong premise" in p.why
    assert "below 59x" not in pr.roi_claim(PLAN, {**report, "monte_carlo": None}).why


def test_roi_from_the_real_inputs_matches_the_cost_command():
    from pricing.roi import roi_report

    p = pr.roi_claim(PLAN, roi_report("plan", draws=200))
    assert "59.4x" in p.measured  # $40,000 / $673, as `dawg-bench cost roi` prints plan_style_multiple


# ─── 7. budgets ───────────────────────────────────────────────────────────────────────────────


def _check(budget, *costs):
    return pr.BudgetCheck("b", Decimal(budget), "month",
                          tuple(pr.PresetCost("p", label, Decimal(usd), tuple(unpriced))
                                for label, usd, unpriced in costs))


@pytest.mark.parametrize(("check", "verdict"), [
    (_check(650, ("On-Demand", "600", ())), Verdict.HOLDS),
    (_check(650, ("On-Demand", "720.11", ("transfer",))), Verdict.FAILS),  # over before the unpriced part
    (_check(650, ("On-Demand", "600", ("transfer",))), Verdict.NOT_MEASURABLE),
    (_check(1800, ("On-Demand", "2008.81", ()), ("1-year Savings Plan", "1439.41", ())), Verdict.HOLDS),
    (_check(1800), Verdict.NOT_MEASURABLE),
])
def test_budget_verdicts(check, verdict):
    assert pr.budget_verdict(check)[0] == verdict


def test_budgets_claim_fails_when_one_budget_fails():
    p = pr.budgets_claim(PLAN, [_check(650, ("On-Demand", "720.11", ())), _check(1800, ("On-Demand", "100", ()))])
    assert p.verdict == Verdict.FAILS
    assert "$70.11 over $650.00" in p.why and p.plan_lines == (7, 10)


def test_savings_plan_variant_prices_the_real_production_preset_lower():
    from pricing import breakdown, load_catalog, load_preset

    catalog, preset = load_catalog(), load_preset("option-3-production")
    saving = pr.with_savings_plan(catalog, preset)
    assert saving is not None
    on_demand, committed = breakdown(catalog, preset), breakdown(catalog, saving)
    assert committed.total_usd < on_demand.total_usd
    assert {line.sku for line in committed.lines} - {line.sku for line in on_demand.lines} == \
        {"ec2.g4dn.xlarge.savings-plan-1yr"}
    assert pr.preset_cost(on_demand).unpriced == tuple(
        f"{line.resource}/{line.component}" for line in on_demand.depends_on_usage)


# ─── verdict combination and the table ────────────────────────────────────────────────────────


def test_combine():
    assert pr.combine([Verdict.HOLDS, Verdict.HOLDS]) == Verdict.HOLDS
    assert pr.combine([Verdict.HOLDS, Verdict.NOT_MEASURABLE]) == Verdict.NOT_MEASURABLE
    assert pr.combine([Verdict.NOT_MEASURABLE, Verdict.FAILS]) == Verdict.FAILS
    assert pr.combine([Verdict.HOLDS, Verdict.HOLDS_PROJECTED]) == Verdict.HOLDS_PROJECTED
    assert pr.combine([]) == Verdict.NOT_MEASURABLE


def test_every_verdict_has_a_colour_and_the_colours_follow_the_legend():
    assert set(pr.VERDICT_COLOUR) == set(Verdict)
    assert pr.VERDICT_COLOUR[Verdict.HOLDS] == "green" and pr.VERDICT_COLOUR[Verdict.FAILS] == "red"
    assert pr.VERDICT_COLOUR[Verdict.NOT_MEASURABLE] == "gray"


def test_summary_table_has_one_row_per_promise():
    promises = [pr.quality_score(PLAN, {}), pr.preference(PLAN, [])]
    table = pr.summary_table(promises)
    assert list(table["claim"]) == ["Quality 6.5/10 → 9.2/10", "70 % of users prefer the ML version"]
    assert list(table["plan line"]) == ["4", "8"]

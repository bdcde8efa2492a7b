"""The Cost & ROI page on a real small run: its breakdown equals `pricing.breakdown`, its capacity is sized from
the store's own latency rows (read here with plain sqlite3) with projected rows labelled, the sliders move the
figures as the pricing functions do, and the audit table has one row per figure of the plan."""

import shutil
import sqlite3
from contextlib import closing
from decimal import Decimal

import pytest

from pricing import HOURS_PER_MONTH, breakdown, load_catalog, load_preset, preset_registry, price, usd_text
from pricing.audit import run_audit
from pricing.capacity import capacity_report, load_profile, load_targets
from pricing.roi import load_roi, roi_report
from tests.dashboard_pages import exceptions, open_page, page_text

pytestmark = pytest.mark.slow(seconds=15)


def _metric(at, label_start: str) -> str:
    (value,) = [m.value for m in at.metric if m.label.startswith(label_start)]
    return value


def _table(at, column: str):
    """The first table on the page with `column`."""
    return next(d.value for d in at.dataframe if column in d.value.columns)


def _store_rows(db) -> list[dict]:
    with closing(sqlite3.connect(db)) as c:
        c.row_factory = sqlite3.Row
        return [dict(r) for r in c.execute("SELECT * FROM latencies ORDER BY recorded_at")]


def _catalogue_prices() -> dict[str, Decimal]:
    catalog = load_catalog()
    return {name: price(catalog, spec["catalog_sku"]).first_usd for name, spec in load_targets().items()
            if "catalog_sku" in spec}


def _expected_capacity(db, **overrides) -> dict:
    """capacity_report on the store's rows and the catalogue's prices, as `dawg-bench cost capacity` runs it."""
    profile = load_profile("controller")
    if overrides:
        profile = profile.model_validate({**profile.model_dump(by_alias=True), **overrides})
    return capacity_report(profile, _store_rows(db), prices=_catalogue_prices(), simulate=False)


def _assert_capacity_matches(at, expected: dict) -> None:
    table = _table(at, "instances").set_index("target")
    sized = {t["target"]: t for t in expected["targets"]}
    assert set(table.index) == set(sized)
    for target, t in sized.items():
        assert table.loc[target, "instances"] == t["instances"], target
        assert table.loc[target, "monthly (USD)"] == pytest.approx(float(t["monthly_usd"])), target


def test_breakdown_of_every_preset_equals_pricing(dashboard_store):
    at = open_page(dashboard_store, "cost")
    assert exceptions(at) == []
    catalog = load_catalog()
    for name in preset_registry():
        at.selectbox(key="preset").set_value(name).run()
        assert exceptions(at) == [], name
        expected = breakdown(catalog, load_preset(name))
        assert _metric(at, "breakdown total") == usd_text(expected.total_usd), name
        lines = _table(at, "unit price")
        assert len(lines) == len(expected.lines), name
        assert list(lines["price as of"]) == [line.price_as_of.isoformat() for line in expected.lines], name


def test_a_savings_plan_reprices_the_gpu_hours(dashboard_store):
    at = open_page(dashboard_store, "cost")  # option-2-hybrid: 2 always-on g4dn.xlarge
    on_demand = breakdown(load_catalog(), load_preset("option-2-hybrid")).total_usd
    catalog = load_catalog()
    saving = 2 * HOURS_PER_MONTH * (price(catalog, "ec2.g4dn.xlarge").usd
                                    - price(catalog, "ec2.g4dn.xlarge.savings-plan-1yr").usd)
    at.selectbox(key="savings_plan").set_value("1-year savings plan, no upfront").run()
    assert exceptions(at) == []
    assert _metric(at, "breakdown total") == usd_text(on_demand - saving)
    assert "ec2.g4dn.xlarge.savings-plan-1yr" in set(_table(at, "unit price")["sku"])


def test_capacity_is_sized_from_the_store_latency_rows(dashboard_store):
    rows = _store_rows(dashboard_store)
    end_to_end = [r for r in rows if r["scope"] == "end_to_end" and r["valid"]]
    measured_cpu = max((r for r in end_to_end if r["hardware"] == "cpu" and r["source"] == "measured"
                        and r["threads"] in (None, 1)), key=lambda r: r["recorded_at"])
    at = open_page(dashboard_store, "cost")
    assert exceptions(at) == []
    table = _table(at, "instances").set_index("target")
    assert table.loc["cpu", "latency from"] == "MEASURED"
    assert table.loc["cpu", "service p95 (ms)"] == pytest.approx(measured_cpu["p95_ms"])  # 10 s clips, 10 s audio
    for hardware in ("t4", "a10g"):  # no T4 or A10G here: their rows are the device model's projections
        projected = max((r for r in end_to_end if r["hardware"] == hardware), key=lambda r: r["recorded_at"])
        assert projected["source"] == "projected"
        assert table.loc[hardware, "latency from"] == "PROJECTED"
        assert table.loc[hardware, "service p95 (ms)"] == pytest.approx(projected["projected_high_ms"])
    _assert_capacity_matches(at, _expected_capacity(dashboard_store))
    assert "PROJECTED" in page_text(at)


def test_sliders_move_capacity_and_roi_as_the_pricing_functions_do(dashboard_store):
    at = open_page(dashboard_store, "cost")
    users = at.slider(key="users_controller").value
    requests = int(_metric(at, "requests a month").replace(",", ""))
    before = _table(at, "instances").set_index("target")["monthly (USD)"].sum()
    at.slider(key="users_controller").set_value(50_000).run()
    assert exceptions(at) == []
    _assert_capacity_matches(at, _expected_capacity(dashboard_store, users=50_000))
    # the load scales with the users; the fleet's cost never falls (whether it rises depends on the measured latency)
    assert int(_metric(at, "requests a month").replace(",", "")) == pytest.approx(requests * 50_000 / users, rel=1e-6)
    assert _table(at, "instances").set_index("target")["monthly (USD)"].sum() >= before
    roi = roi_report(load_roi("plan").replaced(users=50_000.0), draws=10_000, seed=0)
    assert _metric(at, "gross ROI multiple") == f"{float(roi['gross_roi_multiple']):.2f}x"
    bands = _table(at, "p50").set_index("figure")
    assert bands.filter(like="net ROI", axis=0)["p50"].iloc[0] == f"{roi['monte_carlo']['net_roi']['p50']:.2f}x"

    at.number_input(key="requests_per_month_controller").set_value(1_000_000).run()
    at.slider(key="slo_ms_controller").set_value(40.0).run()
    assert exceptions(at) == []
    assert _metric(at, "requests a month") == "1,000,000"
    assert _metric(at, "p95 SLO (ms)") == "40"
    _assert_capacity_matches(at, _expected_capacity(dashboard_store, users=50_000, requests_per_month=1_000_000,
                                                    requests_per_user_per_day=None, slo_ms=40.0))


def test_monte_carlo_bands_and_draw_count(dashboard_store):
    at = open_page(dashboard_store, "cost")
    roi = roi_report("plan", draws=10_000, seed=0)  # the page's users default to the plan's 10,000
    assert _metric(at, "break-even month") == f"month {roi['break_even_month']}"
    bands = _table(at, "p50").set_index("figure")
    for key, label in (("gross_roi", "gross ROI"), ("net_roi", "net ROI")):
        row = bands.filter(like=label, axis=0).iloc[0]
        assert [row[p] for p in ("p10", "p50", "p90")] == [f"{roi['monte_carlo'][key][p]:.2f}x"
                                                           for p in ("p10", "p50", "p90")]
    assert "10,000 draws (seed 0" in page_text(at)


def test_audit_table_has_every_figure_and_marks_the_findings(dashboard_store):
    audit = run_audit()
    findings = [r for r in audit.rows if r["verdict"] not in ("ok", "not a cost")]
    at = open_page(dashboard_store, "cost")
    table = _table(at, "verdict")
    assert len(table) == len(audit.rows)
    assert list(table["verdict"]) == [r["verdict"] for r in audit.rows]
    assert int(table["finding"].sum()) == len(findings) and _metric(at, "findings") == str(len(findings))
    at.toggle(key="audit_findings_only").set_value(True).run()
    assert len(_table(at, "verdict")) == len(findings)


def test_an_empty_latency_table_says_how_to_fill_it_and_keeps_the_plan_figures(dashboard_store, tmp_path):
    db = tmp_path / "results.db"
    shutil.copy(dashboard_store, db)  # the shared store is read-only: empty a copy
    with closing(sqlite3.connect(db)) as c, c:
        c.execute("DELETE FROM latencies")
    at = open_page(db, "cost")
    assert exceptions(at) == []
    text = page_text(at)
    assert "No latency rows: run `dawg-bench latency`" in text
    assert not any("instances" in d.value.columns for d in at.dataframe)
    assert _metric(at, "breakdown total") == usd_text(breakdown(load_catalog(), load_preset("option-2-hybrid"))
                                                      .total_usd)
    assert _metric(at, "figures in the plan") == str(len(run_audit().rows))

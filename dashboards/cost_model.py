"""The Cost & ROI page's figures, without Streamlit: the pricing package wired the way `dawg-bench cost` wires it.

Nothing here prices anything itself. The breakdown is `pricing.breakdown`, capacity is
`pricing.capacity.capacity_report`, ROI is `pricing.roi.roi_report`, the audit is `pricing.audit.run_audit`;
this module only turns the page's choices into their inputs (a load profile with the sliders' values, the
catalogue's per-target prices, a preset whose on-demand instance hours are swapped for a savings-plan SKU)
and their outputs into tables.

Savings plans: the CLI has no savings-plan option. The catalogue holds savings-plan prices as their own SKUs
(`<on-demand sku>.savings-plan-1yr` / `-3yr`, today for ec2.g4dn.xlarge only), so choosing a plan swaps each
on-demand EC2 instance-hour SKU that has such a twin and names every one that has none (priced on-demand).
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import pandas as pd

from harness.errors import UserError
from pricing import Breakdown, Catalog, Preset, breakdown, price
from pricing.audit_cli import format_value
from pricing.capacity import LoadProfile, capacity_report, load_profile, load_targets
from pricing.roi import RoiInputs, load_roi, roi_report

# what the page offers → the suffix of the catalogue's savings-plan SKUs (None: on-demand list prices)
SAVINGS_PLANS: dict[str, str | None] = {
    "on-demand (no commitment)": None,
    "1-year savings plan, no upfront": "savings-plan-1yr",
    "3-year savings plan, no upfront": "savings-plan-3yr",
}
ON_DEMAND = next(iter(SAVINGS_PLANS))
# Savings plans cover compute billed by the hour; a load balancer's hours are not eligible.
SAVINGS_PLAN_SERVICES = ("AmazonEC2", "AmazonSageMaker")
DEFAULT_PRESET = "option-2-hybrid"  # `dawg-bench cost`'s default
DEFAULT_PROFILE = "controller"  # `dawg-bench cost capacity`'s default
ROI_INPUTS = "plan"  # `dawg-bench cost roi`'s default
MC_DRAWS = 10_000  # `dawg-bench cost roi`'s default: the whole Monte Carlo takes a few ms (vectorised)
MC_SEED = 0
QUIET_VERDICTS = ("ok", "not a cost")  # the audit's non-findings (pricing/audit_cli.py)


# ─── savings plans ──────────────────────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class SavingsPlanSwap:
    """Which SKUs a savings plan replaced, and which eligible ones the catalogue has no plan price for."""
    swapped: tuple[tuple[str, str], ...] = ()  # (on-demand sku, savings-plan sku)
    missing: tuple[str, ...] = ()  # eligible on-demand SKUs priced on-demand for lack of a plan price
    note: str = ""


def savings_plan_sku(catalog: Catalog, sku: str, suffix: str | None) -> str | None:
    """The catalogue's savings-plan twin of an on-demand hourly compute SKU, or None."""
    if suffix is None:
        return None
    twin = f"{sku}.{suffix}"
    return twin if twin in catalog.items else None


def _eligible(catalog: Catalog, sku: str) -> bool:
    item = catalog.items.get(sku)
    return (item is not None and item.pricing_model == "on-demand" and item.unit == "hours"
            and item.service in SAVINGS_PLAN_SERVICES)


def with_savings_plan(catalog: Catalog, preset: Preset, plan: str) -> tuple[Preset, SavingsPlanSwap]:
    """The preset with each eligible on-demand instance-hour SKU replaced by its savings-plan twin (the
    quantity and its source kept, the source saying why the SKU changed)."""
    suffix = SAVINGS_PLANS[plan]
    if suffix is None:
        return preset, SavingsPlanSwap()
    if preset.period != "month":
        return preset, SavingsPlanSwap(note=f"a savings plan is a 1- or 3-year commitment: not applied to the "
                                            f"one-time {preset.name} setup")
    data = preset.model_dump()
    swapped, missing = [], []
    for resource in data["resources"]:
        for component in resource["components"]:
            sku = component["sku"]
            if not _eligible(catalog, sku):
                continue
            twin = savings_plan_sku(catalog, sku, suffix)
            if twin is None:
                missing.append(sku)
                continue
            swapped.append((sku, twin))
            component["sku"] = twin
            component["source"] += f"; priced with {twin} instead of on-demand {sku} (page: {plan})"
    return Preset(**data), SavingsPlanSwap(tuple(swapped), tuple(dict.fromkeys(missing)))


# ─── breakdown ──────────────────────────────────────────────────────────────────────────────────


def preset_breakdown(catalog: Catalog, preset: Preset, plan: str = ON_DEMAND) -> tuple[Breakdown, SavingsPlanSwap]:
    chosen, swap = with_savings_plan(catalog, preset, plan)
    return breakdown(catalog, chosen), swap


def _number(value: Decimal) -> str:
    """1460 → '1,460'; 0.5 → '0.5' (exact, grouped), as `dawg-bench cost` prints quantities."""
    return f"{value.normalize():,f}" if value == value.to_integral_value() else f"{value:,f}"


def breakdown_table(result: Breakdown) -> pd.DataFrame:
    """One row per line item: quantity and its basis and source, the unit price and its source and as-of."""
    rows = []
    for line in result.lines:
        free = f"{_number(line.free_quantity)} {line.unit} {line.free_kind}" if line.free_kind else ""
        rows.append({
            "resource": line.resource, "component": line.component,
            "quantity": "—" if line.quantity is None else f"{_number(line.quantity)} {line.unit}",
            "quantity basis": line.quantity_basis,
            "unit price": line.price_text, "cost": line.cost_text(), "free allowance": free,
            "sku": line.sku, "pricing model": line.pricing_model, "price source kind": line.price_source_kind,
            "price as of": line.price_as_of.isoformat(), "price source": line.price_source,
            "quantity source": (f"{line.quantity_text}; " if line.quantity_text else "") + line.quantity_source,
        })
    return pd.DataFrame(rows)


# ─── capacity ───────────────────────────────────────────────────────────────────────────────────


def profile_with(name: str, *, users: int | None = None, requests_per_month: float | None = None,
                 slo_ms: float | None = None) -> LoadProfile:
    """The load profile with the page's overrides, as `dawg-bench cost capacity --users --requests-per-month
    --slo-ms` applies them (a monthly request count replaces the per-user daily rate)."""
    return load_profile(name).with_overrides(users=users, requests_per_month=requests_per_month, slo_ms=slo_ms)


@dataclass(frozen=True)
class TargetPrice:
    usd: Decimal  # per instance-hour; per GB for the browser's CDN
    sku: str
    source: str  # "official · 2026-12-01 · <url>"


def target_prices(catalog: Catalog, plan: str = ON_DEMAND) -> tuple[dict[str, TargetPrice], list[str]]:
    """Each target's catalogue price (first tier), as `dawg-bench cost capacity` takes it, with the chosen
    savings plan's SKU where the catalogue has one; and the eligible SKUs it has none for."""
    suffix = SAVINGS_PLANS[plan]
    out, missing = {}, []
    for name, spec in load_targets().items():
        sku = spec.get("catalog_sku")
        if not sku:
            continue
        if suffix and _eligible(catalog, sku):
            twin = savings_plan_sku(catalog, sku, suffix)
            if twin is None:
                missing.append(sku)
            sku = twin or sku
        item = price(catalog, sku)
        usd = item.usd if item.usd is not None else item.tiers[0].usd
        out[name] = TargetPrice(usd, sku, f"{item.source_kind} · {item.as_of} · {item.source}")
    return out, missing


def latency_records(frame: pd.DataFrame) -> list[dict]:
    """The store's latency rows as `Store.latencies()` gives them (dicts, None for SQL NULL): pandas' NaN is
    truthy, and `service_time_from_rows` tests missing figures by truthiness."""
    if frame.empty:
        return []
    columns = [c for c in frame.columns if c != "recorded"]
    clean = frame[columns].astype(object).where(frame[columns].notna(), None)
    return clean.to_dict("records")


def model_bytes(model: str | None, rows: list[dict]) -> tuple[int | None, str]:
    """The shipped model's size for the browser's CDN cost, and where it comes from: the release file, as
    `dawg-bench cost capacity` reads it (the named release, else the newest row's), else the size a browser
    latency row recorded for that model (its `assumptions.browser.model_bytes.raw`, INT8 first)."""
    name = model or next((r["model"] for r in reversed(rows)), None)
    if name is None:
        return None, "no latency row names a model"
    from harness.models import find_release

    try:
        release = find_release(name)
    except UserError:
        release = None
    if release is not None:
        precision, path = release.download_file()
        return path.stat().st_size, f"{name} {precision.upper()} release file ({path})"
    recorded = [r for r in rows if r.get("model") == name and str(r.get("hardware", "")).startswith("browser")
                and isinstance(r.get("assumptions"), dict)
                and ((r["assumptions"].get("browser") or {}).get("model_bytes") or {}).get("raw")]
    if recorded:
        best = max(recorded, key=lambda r: (r.get("precision") == "int8", r.get("recorded_at") or 0))
        size = int(best["assumptions"]["browser"]["model_bytes"]["raw"])
        return size, (f"{name} {str(best.get('precision')).upper()} file size recorded by the browser latency run "
                      f"(release files not found here)")
    return None, f"{name}: no release file found here and no browser latency row records its size"


def capacity(profile: LoadProfile, rows: list[dict], *, model: str | None, prices: dict[str, TargetPrice],
             size_bytes: int | None) -> dict:
    """`capacity_report` on the store's rows with the catalogue's prices (UserError when no target can be sized).
    Without its event-loop cross-check (`simulate`): the fleet sizes are Erlang C's either way, and the
    simulation of 200,000 customers per target would make every slider move take most of a second."""
    return capacity_report(profile, rows, model=model, prices={k: v.usd for k, v in prices.items()},
                           model_bytes=size_bytes, simulate=False)


def _ms(seconds: Any) -> float | None:
    return None if seconds is None else float(seconds) * 1000


def latency_label(target: dict) -> str:
    """MEASURED / PROJECTED / PROFILE, as the CLI labels it; the browser's is the CPU row used as a proxy."""
    label = (target.get("service_time") or {}).get("label", "—")
    if target.get("kind") == "browser":
        source = (target.get("service_time") or {}).get("target", "cpu")
        return f"{label} on {source}, as browser proxy (not measured in a browser)"
    return label


def capacity_table(report: dict, prices: dict[str, TargetPrice]) -> pd.DataFrame:
    rows = []
    for t in report["targets"]:
        row = t.get("service_time", {}).get("row") or {}
        tp = prices.get(t["target"])
        rows.append({
            "target": t["target"], "instance": t.get("aws_instance") or ("CDN" if t["kind"] == "browser" else "—"),
            "latency from": latency_label(t),
            "latency row": " ".join(str(row.get(k)) for k in ("model", "precision", "hardware") if row.get(k)) or "—",
            "instances": t.get("instances"), "utilisation": t.get("utilisation"),
            "service p95 (ms)": _ms(t.get("service_p95_s")), "p95 latency (ms)": _ms(t.get("latency_p95_s")),
            "SLO (ms)": t.get("slo_ms"), "meets SLO": bool(t.get("meets_slo")),
            "monthly (USD)": float(t["monthly_usd"]),
            "per 1k inferences (USD)": float(t["usd_per_1000_inferences"]),
            "per audio-hour (USD)": float(t["usd_per_audio_hour"]),
            "price": (f"{tp.sku}: ${tp.usd}/{'GB' if t['kind'] == 'browser' else 'h'} ({tp.source})"
                      if tp else t.get("price_source", "")),
            "why not": t.get("reason") or "",
        })
    return pd.DataFrame(rows)


# ─── ROI ────────────────────────────────────────────────────────────────────────────────────────


COST_FROM_INPUTS = "the ROI inputs (pricing/roi/plan.toml)"
COST_FROM_CAPACITY = "capacity: the cheapest target meeting the SLO"
COST_FROM_PRESET = "the chosen preset's breakdown total"


def roi_inputs(users: int, monthly_cost_usd: Decimal | None = None) -> RoiInputs:
    """The plan's ROI inputs with the page's users (and a fixed monthly cost, whose own range then no longer
    applies, as `with_capacity_cost` does for a capacity report's cost)."""
    inputs = load_roi(ROI_INPUTS).replaced(users=float(users))
    if monthly_cost_usd is None:
        return inputs
    uncertain = {k: v for k, v in inputs.uncertain.items() if k != "monthly_cost_usd"}
    return inputs.replaced(monthly_cost_usd=monthly_cost_usd, uncertain=uncertain)


def roi(users: int, cost_from: str = COST_FROM_INPUTS, *, preset_total_usd: Decimal | None = None,
        capacity_result: dict | None = None, other_monthly_usd: Decimal = Decimal(0), draws: int = MC_DRAWS,
        seed: int = MC_SEED) -> dict:
    """`roi_report` on the plan's ROI inputs with the page's users and the monthly cost from `cost_from`
    (a capacity report's cost: its cheapest target meeting the SLO + `other_monthly_usd`)."""
    if cost_from == COST_FROM_CAPACITY:
        if capacity_result is None:
            raise UserError("no capacity report to take the monthly cost from")
        return roi_report(roi_inputs(users), capacity=capacity_result, other_monthly_cost_usd=other_monthly_usd,
                          draws=draws, seed=seed)
    fixed = preset_total_usd if cost_from == COST_FROM_PRESET else None
    report = roi_report(roi_inputs(users, fixed), draws=draws, seed=seed)
    if fixed is not None:
        report["monthly_cost_from"] = "the chosen preset's breakdown total"
    return report


def monte_carlo_table(mc: dict) -> pd.DataFrame:
    """P10 / P50 / P90 of what `monte_carlo` reports (None = never within the horizon, for break-even)."""
    rows = []
    for key, label in (("gross_roi", "gross ROI multiple (Σ revenue / Σ cost)"),
                       ("net_roi", "net ROI multiple ((Σ revenue − Σ cost) / Σ cost)"),
                       ("cumulative_usd", "cumulative cash at the horizon, USD (undiscounted)"),
                       ("break_even_month", "break-even month")):
        bands = mc[key]
        rows.append({"figure": label, **{p: _band(bands.get(p), key) for p in ("p10", "p50", "p90")}})
    return pd.DataFrame(rows)


def distribution_text(name: str, spec: Any) -> str:
    """'uplift: triangular 0, 0.1, 0.25' for an ROI input's distribution as the ROI file writes it."""
    if isinstance(spec, dict) and len(spec) == 1:
        ((kind, args),) = spec.items()
        return f"{name}: {kind} {', '.join(f'{a:g}' for a in args)}"
    return f"{name}: {spec}"


def _band(value: Any, key: str) -> str:
    if value is None:
        return "never (not within the horizon)" if key == "break_even_month" else "—"
    if key == "cumulative_usd":
        return f"${Decimal(value):,.2f}"
    if key == "break_even_month":
        return f"month {value}"
    return f"{float(value):.2f}x"


# ─── audit ──────────────────────────────────────────────────────────────────────────────────────


def audit_table(rows: list[dict]) -> pd.DataFrame:
    """The audit as `dawg-bench cost seed` prints it: one row per figure of the plan, values formatted by
    the CLI's own `format_value`; `finding` marks every verdict other than ok / not a cost."""
    return pd.DataFrame([{
        "line": r["line"], "section": r["section"], "claim": r["claim"],
        "plan": format_value(r["seed_value"], r["kind"]),
        "recomputed": format_value(r["recomputed_value"], r["kind"]),
        "catalogue": format_value(r["catalogue_value"], r["kind"]),
        "difference": format_value(r["difference"], r["kind"], signed=True),
        "verdict": r["verdict"], "finding": r["verdict"] not in QUIET_VERDICTS, "reason": r["reason"],
        "expression": r.get("expression") or "",
    } for r in rows])

"""Cost & ROI: what the plan's setups cost, the fleet each hardware target needs for a load, what the ML features
return, and the plan's own arithmetic audited. Every figure comes from the pricing package (docs/pricing.md,
docs/capacity-roi.md), wired as `dawg-bench cost`, `cost capacity`, `cost roi` and `cost seed` wire it.

Only capacity reads the results store (its latency rows). The breakdown, ROI and audit are the plan's figures
priced from the catalogue, useful before any run, so this page does not stop on an empty or unreadable store
(`require_store` would): the capacity section alone says what the store lacks and how to fill it.
"""

from __future__ import annotations

import sqlite3
from decimal import Decimal

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import cost_model as cm
from dashboards.common import db_path, read, stamp
from harness.errors import UserError
from pricing import load_catalog, load_preset, preset_registry, usd_text
from pricing.audit import VERDICTS, run_audit, summary
from pricing.capacity import load_profile, profile_names

FINDING_STYLE = "background-color: rgba(255, 75, 75, 0.15)"
PROJECTED_STYLE = "background-color: rgba(255, 170, 0, 0.18)"


# ─── cached computations (each keyed on the inputs it depends on) ───────────────────────────────


@st.cache_resource(show_spinner=False)
def catalog():
    return load_catalog()  # the newest snapshot, as the CLI's default


@st.cache_data(show_spinner=False, max_entries=32)
def priced_preset(preset_name: str, plan: str):
    return cm.preset_breakdown(catalog(), load_preset(preset_name), plan)


@st.cache_data(show_spinner=False, max_entries=64)
def sized_fleet(path: str, store_stamp: tuple, profile_name: str, users: int, requests_per_month: float | None,
                slo_ms: float, plan: str, model: str | None, _rows: list[dict]):
    """(report, prices, SKUs without a savings-plan price, model size and its source); the store is keyed by
    its path and modification stamp, so `_rows` (unhashed) is always the rows of that version."""
    profile = cm.profile_with(profile_name, users=users, requests_per_month=requests_per_month, slo_ms=slo_ms)
    prices, missing = cm.target_prices(catalog(), plan)
    size, size_from = cm.model_bytes(model, _rows)
    report = cm.capacity(profile, _rows, model=model, prices=prices, size_bytes=size)
    return report, prices, missing, size_from


@st.cache_data(show_spinner=False, max_entries=64)
def roi_figures(users: int, cost_from: str, preset_total_usd: Decimal | None, capacity_report: dict | None,
                other_monthly_usd: Decimal):
    return cm.roi(users, cost_from, preset_total_usd=preset_total_usd, capacity_result=capacity_report,
                  other_monthly_usd=other_monthly_usd)


@st.cache_data(show_spinner=False)
def plan_audit():
    audit = run_audit()
    return audit.rows, audit.catalogue, len(audit.unaudited), len(audit.stale)


# ─── page ───────────────────────────────────────────────────────────────────────────────────────

st.title("Cost & ROI")
snapshot = catalog().snapshot
st.caption(f"Prices: the catalogue snapshot of {snapshot.as_of} ({snapshot.region}; {snapshot.note}); each line "
           "says its price's source kind (official · secondary · assumed) and as-of date. Quantities: the usage "
           "preset (the plan's figures, labelled by basis). A month is 730 hours. Same figures as "
           "`dawg-bench cost`, `cost capacity`, `cost roi` and `cost seed`.")

st.subheader("Presets and sliders")
presets = list(preset_registry())
profiles = profile_names()
left, right = st.columns(2)
preset_name = left.selectbox("usage preset (the breakdown)", presets, key="preset",
                             index=presets.index(cm.DEFAULT_PRESET) if cm.DEFAULT_PRESET in presets else 0)
plan = left.selectbox("savings plan", list(cm.SAVINGS_PLANS), key="savings_plan",
                      help="Swaps on-demand EC2 instance hours for the catalogue's savings-plan SKU where it has "
                           "one (a 1- or 3-year commitment; monthly setups only). `dawg-bench cost` has no such "
                           "option: this is the catalogue's savings-plan price, priced by the same model.")
profile_name = right.selectbox("load profile (capacity)", profiles, key="profile",
                               index=profiles.index(cm.DEFAULT_PROFILE) if cm.DEFAULT_PROFILE in profiles else 0)
base = load_profile(profile_name)
# keys carry the profile: each profile keeps its own defaults (the heavy SLO is 60 s, the controller's 100 ms)
users = right.slider("users", min_value=1_000, max_value=200_000, value=base.users, step=1_000,
                     key=f"users_{profile_name}", help="the load profile's users and the ROI's subscriber base")
requests_per_month = right.number_input(
    "requests per month", min_value=1.0, value=None, step=100_000.0, format="%.0f",
    key=f"requests_per_month_{profile_name}",
    placeholder=(f"from the profile: {base.requests_per_user_per_day:g} a user a day"
                 if base.requests_per_user_per_day else f"from the profile: {base.requests_per_month:,.0f}"),
    help="empty: the profile's rate (per user a day scales with users); a number replaces it, as "
         "`dawg-bench cost capacity --requests-per-month` does")
slo_ms = right.slider("p95 latency SLO (ms)", min_value=float(base.slo_ms) / 10, max_value=float(base.slo_ms) * 10,
                      value=float(base.slo_ms), step=float(base.slo_ms) / 100, format="%.0f",
                      key=f"slo_ms_{profile_name}")

# ─── breakdown ──────────────────────────────────────────────────────────────────────────────────

st.header("Cost breakdown")
preset = load_preset(preset_name)
result, swap = priced_preset(preset_name, plan)
st.markdown(f"**{preset.name}**: {preset.description}")
if preset.plan_ref:
    st.caption(f"plan: {preset.plan_ref}")
per = "a month" if result.period == "month" else "one-time"
a, b, c = st.columns(3)
a.metric(f"breakdown total ({per})", usd_text(result.total_usd))
b.metric("components not in the total (depend on usage)", len(result.depends_on_usage))
c.metric("price catalogue", str(result.catalog_as_of))
st.dataframe(cm.breakdown_table(result), hide_index=True, width="stretch")
for line in result.depends_on_usage:
    st.caption(f"not in the total: {line.resource}/{line.component}: {line.cost_text()} ({line.quantity_source})")
for old, new in swap.swapped:
    st.caption(f"savings plan: {old} priced as {new} ({catalog().items[new].source_kind} price, "
               f"{catalog().items[new].note or catalog().items[new].source})")
if swap.missing:
    st.warning(f"No savings-plan price in the catalogue for {', '.join(swap.missing)}: priced on-demand.")
if swap.note:
    st.info(swap.note)
priced = pd.DataFrame([{"resource": line.resource, "component": line.component, "cost (USD)": float(line.cost_usd),
                        "price source kind": line.price_source_kind}
                       for line in result.lines if line.cost_usd is not None])
if not priced.empty:
    st.altair_chart(alt.Chart(priced).mark_bar().encode(
        x=alt.X("sum(cost (USD)):Q", title=f"USD ({per})"), y=alt.Y("resource:N", sort="-x"),
        color=alt.Color("price source kind:N"), tooltip=["resource", "component", "cost (USD)", "price source kind"],
    ), width="stretch")
st.caption("The preset's quantities are the plan's assumptions and do not move with the sliders; users, "
           "requests and the SLO size the fleet below from the measured latency.")

# ─── capacity ───────────────────────────────────────────────────────────────────────────────────

st.header("Capacity per hardware target")
st.caption(f"Load profile **{base.name}**: {base.description}. M/M/c (Erlang C) at the peak rate; p95 latency = "
           "p95 wait + p95 service; fleet always on (730 h a month); prices from the catalogue "
           "(docs/capacity-roi.md). The seeded simulation that cross-checks Erlang C is left to "
           "`dawg-bench cost capacity --json`.")
state = read("inspect_store")
latency_rows: list[dict] = []
if state.readable:
    try:
        latency_rows = cm.latency_records(read("latencies"))
    except sqlite3.Error:  # an empty store may not have its tables yet
        latency_rows = []
fleet = None
if state.kind == "missing":
    st.info(f"**Capacity: not measured yet.** {state.message}. Capacity needs the store's latency rows; the "
            "breakdown, ROI and audit above and below need no store.")
    st.code(f"dawg-bench demo --db {state.path}", language="bash")
elif not state.readable:
    st.error(f"**This store cannot be shown.** {state.message}. Capacity needs its latency rows; the "
             "breakdown, ROI and audit above and below need no store.")
elif not latency_rows:
    st.info("**Capacity: not measured yet.** No latency rows: run `dawg-bench latency` (or `dawg-bench demo`, "
            "which measures latency too) to size a fleet from measured service times.")
    if state.kind != "ok":
        st.info(f"**No results yet.** {state.message}.")
        st.code(f"dawg-bench demo --db {state.path}", language="bash")
else:
    models = sorted({r["model"] for r in latency_rows if r.get("scope") == "end_to_end" and r.get("valid")})
    any_release = "newest rows of any release"
    model_choice = st.selectbox("release whose latency rows are used", [any_release, *models], key="capacity_model")
    model = None if model_choice == any_release else model_choice
    path = db_path()
    try:
        fleet = sized_fleet(str(path), stamp(path), profile_name, users, requests_per_month, slo_ms, plan, model,
                            latency_rows)
    except UserError as exc:
        st.warning(f"**Capacity: no target could be sized.** {exc}")
if fleet is not None:
    report, prices, no_plan_price, size_from = fleet
    a, b, c, d = st.columns(4)
    a.metric("requests a month", f"{report['requests_per_month']:,.0f}")
    b.metric("peak rate (requests/s)", f"{report['peak_rate_per_s']:.3g}")
    c.metric("p95 SLO (ms)", f"{report['slo_ms']:g}")
    d.metric("cheapest meeting the SLO", report.get("cheapest_meeting_slo") or "none")
    table = cm.capacity_table(report, prices)
    st.dataframe(table.style.apply(
        lambda row: [PROJECTED_STYLE if "PROJECTED" in row["latency from"] else ""] * len(row), axis=1),
        hide_index=True, width="stretch",
        column_config={"utilisation": st.column_config.NumberColumn(format="percent"),
                       "service p95 (ms)": st.column_config.NumberColumn(format="%.1f"),
                       "p95 latency (ms)": st.column_config.NumberColumn(format="%.1f"),
                       "monthly (USD)": st.column_config.NumberColumn(format="dollar"),
                       "per 1k inferences (USD)": st.column_config.NumberColumn(format="%.6f"),
                       "per audio-hour (USD)": st.column_config.NumberColumn(format="%.6f")})
    st.caption("latency from: **MEASURED** = a valid measured end-to-end row on that hardware; **PROJECTED** "
               "(shaded) = the device model's figure, not a measurement (docs/latency.md), p95 = its high band "
               "edge; **PROFILE** = the load profile's stated service time (an assumption).")
    chart = table.assign(source=[label.split(" ")[0] for label in table["latency from"]])
    st.altair_chart(alt.Chart(chart).mark_bar().encode(
        x=alt.X("monthly (USD):Q", title="USD a month (always on)"), y=alt.Y("target:N", sort="-x"),
        color=alt.Color("source:N", title="latency",
                        scale=alt.Scale(domain=["MEASURED", "PROJECTED", "PROFILE"],
                                        range=["#2e7d32", "#f9a825", "#6a1b9a"])),
        tooltip=["target", "instance", "instances", "latency from", "monthly (USD)", "meets SLO"],
    ), width="stretch")
    for t in report["targets"]:
        how = (t.get("service_time") or {}).get("how")
        if how:
            st.caption(f"{t['target']}: {how}")
    if any(t["kind"] == "browser" for t in report["targets"]):
        st.caption(f"browser: CDN delivery of the model to every user ({size_from}); the browser rows in the store "
                   "time the controller alone, so the client latency is the CPU end-to-end row, as "
                   "`dawg-bench cost capacity` takes it.")
    for name, why in (report.get("unavailable") or {}).items():
        st.warning(f"{name}: not sized: {why}" + (f" ({size_from})" if name == "browser" else ""))
    if no_plan_price:
        st.caption(f"savings plan: no savings-plan price in the catalogue for {', '.join(no_plan_price)}: "
                   "those targets are priced on-demand.")
    check = report.get("plan_check")
    for target, fit in ((check or {}).get("targets") or {}).items():
        stability = "stable" if fit["stable"] else "unstable: the queue grows without bound"
        st.warning(f"The plan's fleet for this load: {check['plan_instances']} × {target} at the average rate runs at "
                   f"{fit['utilisation_at_average']:.0%} utilisation ({stability}); the load needs "
                   f"{fit['instances_needed_at_average']} at the average and {fit['instances_needed_at_peak']} at "
                   "the peak.")

# ─── ROI ────────────────────────────────────────────────────────────────────────────────────────

st.header("Break-even and ROI")
cost_from = st.radio("monthly ML cost from", [cm.COST_FROM_INPUTS, cm.COST_FROM_CAPACITY, cm.COST_FROM_PRESET],
                     key="roi_cost_from", horizontal=True)
other = Decimal(0)
if cost_from == cm.COST_FROM_CAPACITY and fleet is None:
    st.warning("No capacity report (see above): the ROI uses the ROI inputs' monthly cost.")
    cost_from = cm.COST_FROM_INPUTS
elif cost_from == cm.COST_FROM_CAPACITY:
    other = Decimal(str(st.number_input("other monthly items (USD): load balancer, storage, transfer", min_value=0.0,
                                        value=0.0, step=10.0, key="roi_other_monthly_usd")))
if cost_from == cm.COST_FROM_PRESET and result.period != "month":
    st.warning(f"{preset.name} is a one-time cost, not a monthly one: the ROI uses the ROI inputs' monthly cost.")
    cost_from = cm.COST_FROM_INPUTS
figures = roi_figures(users, cost_from, result.total_usd if cost_from == cm.COST_FROM_PRESET else None,
                      fleet[0] if fleet is not None and cost_from == cm.COST_FROM_CAPACITY else None, other)
inputs = figures["inputs"]
st.caption(f"ROI inputs: {figures['description']}. Users: {inputs['users']:,.0f}; monthly cost "
           f"${Decimal(inputs['monthly_cost_usd']):,.2f} (from {figures['monthly_cost_from']}); one-time "
           f"${Decimal(inputs['one_time_cost_usd']):,.2f}; horizon {inputs['months']} months.")
a, b, c, d = st.columns(4)
be = figures["break_even_month"]
a.metric("break-even month", f"month {be}" if be is not None else "not within the horizon")
b.metric("gross ROI multiple", f"{float(figures['gross_roi_multiple']):.2f}x"
         if figures["gross_roi_multiple"] is not None else "—")
c.metric("net ROI multiple", f"{float(figures['net_roi_multiple']):.2f}x"
         if figures["net_roi_multiple"] is not None else "—")
d.metric("plan-style multiple", f"{float(figures['plan_style_multiple']):.2f}x"
         if figures["plan_style_multiple"] is not None else "—")
st.caption(" · ".join(f"{k}: {v}" for k, v in figures["roi_definitions"].items()))
mc = figures["monte_carlo"]
if mc is None:
    st.info("Monte Carlo: no uncertain inputs left (the ROI inputs give only point figures).")
else:
    st.subheader("Monte Carlo bands")
    st.dataframe(cm.monte_carlo_table(mc), hide_index=True, width="stretch")
    a, b = st.columns(2)
    a.metric("P(net ROI > 0)", f"{mc['p_net_roi_positive']:.0%}")
    b.metric("P(break-even within the horizon)", f"{mc['p_break_even_within_horizon']:.0%}")
    st.caption(f"{mc['draws']:,} draws (seed {mc['seed']}, as `dawg-bench cost roi`; a few ms) over the uncertain "
               f"inputs {'; '.join(cm.distribution_text(k, v) for k, v in mc['uncertain'].items())}"
               + (f"; clipped draws: {mc['clipped_draws']}" if mc["clipped_draws"] else "")
               + ". No NPV: the package does not discount (docs/capacity-roi.md, Not modelled), so cash is "
                 "undiscounted.")
flow = pd.DataFrame([{"month": r["month"], "cumulative cash (USD)": float(r["cumulative_usd"])}
                     for r in figures["cash_flow"]])
zero = alt.Chart(pd.DataFrame({"y": [0]})).mark_rule(strokeDash=[4, 4]).encode(y="y:Q")
st.altair_chart(alt.Chart(flow).mark_line(point=True).encode(
    x=alt.X("month:Q"), y=alt.Y("cumulative cash (USD):Q"), tooltip=["month", "cumulative cash (USD)"]) + zero,
    width="stretch")
with st.expander("tornado: each uncertain input at its P10 and P90, the others at their base"):
    st.dataframe(pd.DataFrame(figures["tornado"]), hide_index=True, width="stretch")

# ─── audit ──────────────────────────────────────────────────────────────────────────────────────

st.header("The plan's arithmetic, audited")
audit_rows, audit_catalogue, unaudited, stale = plan_audit()
counts = summary(audit_rows)
findings = sum(n for v, n in counts["verdict"].items() if v not in cm.QUIET_VERDICTS)
a, b, c = st.columns(3)
a.metric("figures in the plan", len(audit_rows))
b.metric("findings", findings)
c.metric("ok", counts["verdict"].get("ok", 0))
st.caption("Every $, % and x figure of dawg-ml-plan.md recomputed from the plan's own unit prices (with the "
           f"one correction its verdict names) and from the catalogue ({audit_catalogue}), as `dawg-bench cost "
           "seed` prints it. Verdicts: " + ", ".join(f"{count} {verdict}" for verdict, count in
                                                     sorted(counts["verdict"].items(), key=lambda kv: -kv[1])))
if unaudited or stale:
    st.warning(f"The audit spec misses {unaudited} figure(s) of the plan and has {stale} stale entr(ies): "
               "run `dawg-bench cost seed` for the list.")
only_findings = st.toggle("findings only", key="audit_findings_only")
audit_table = cm.audit_table(audit_rows)
if only_findings:
    audit_table = audit_table[audit_table["finding"]]
st.dataframe(audit_table.style.apply(lambda row: [FINDING_STYLE if row["finding"] else ""] * len(row), axis=1),
             hide_index=True, width="stretch")
with st.expander("what the verdicts mean"):
    st.markdown("\n".join(f"- **{verdict}**: {meaning}" for verdict, meaning in VERDICTS.items()))

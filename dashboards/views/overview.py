"""Overview: the release verdict gate by gate, the best model against every baseline per task (gap closed,
generated and recorded clips apart), and the owner's plan's promises beside what the harness measured.

The verdict rules live in dashboards/promises.py (pure, unit-tested); this page reads the store, calls them
and draws the result. Pricing (ROI, budgets) does not depend on the store: it is computed once per process.
"""

from __future__ import annotations

import re
from contextlib import closing

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import promises as pr
from dashboards.common import db_path, pick_run, read, require_store, stamp
from dashboards.store_view import connect

ROLE_COLOUR = {"best model": "#1f6fb4", "baseline": "#757575", "peer": "#8e44ad"}
SOURCE_NOTE = {"generated": "generated clips (synthetic, with a known target)",
               "recorded": "recorded clips (real music)", "all": "all clips"}


def md(text: object, *, code: bool = False) -> str:
    """Text from the store or pricing, safe inside st.markdown: no emphasis, links, LaTeX or colour directives
    (`code`: keep backticks, for this project's own sentences that name commands)."""
    special = r"([\\*_\[\]$<>#|~:])" if code else r"([\\`*_\[\]$<>#|~:])"
    return re.sub(special, r"\\\1", str(text))


def when(seconds: float) -> str:
    return f"{pd.Timestamp(seconds, unit='s', tz='UTC'):%Y-%m-%d %H:%M} UTC"


# ─── reads this page adds (cached like common.read: keyed by the store's modification times) ─────


@st.cache_data(show_spinner=False, max_entries=32)
def _primary_values(path: str, key: tuple, run_id: str, task: str, metric: str,
                    candidates: tuple[str, ...]) -> pd.DataFrame:
    """One metric of a few candidates per clip, read in SQL: the preference proxy needs two numbers per clip,
    not every metric of every candidate (store_view.clip_results parses them all)."""
    marks = ", ".join("?" * len(candidates))
    with closing(connect(path)) as c:
        rows = c.execute(f"SELECT variant, clip_id, candidate, json_extract(metrics, ?) FROM clip_results "
                         f"WHERE run_id = ? AND task = ? AND candidate IN ({marks})",
                         (f'$."{metric}"', run_id, task, *candidates)).fetchall()
    frame = pd.DataFrame([tuple(r) for r in rows], columns=["variant", "clip_id", "candidate", "value"])
    frame["value"] = pd.to_numeric(frame["value"], errors="coerce")
    return frame


def primary_values(run_id: str, task: str, metric: str, candidates: tuple[str, ...]) -> pd.DataFrame:
    path = db_path()
    return _primary_values(str(path), stamp(path), run_id, task, metric, candidates)


@st.cache_data(show_spinner=False, ttl=60)
def registry_sizes(names: tuple[str, ...]) -> tuple[list[pr.ModelSize], str]:
    """FP32/INT8 file sizes of the named releases in this machine's model registry, and where it is."""
    from harness.models import discover_releases, models_dir

    try:
        return pr.sizes_from_releases(discover_releases(), names), str(models_dir())
    except Exception as exc:  # noqa: BLE001 — a broken registry must not take the page down; say why instead
        return [], f"unreadable ({exc})"


@st.cache_data(show_spinner=False)
def plan_text() -> str:
    from pricing.audit import PLAN_PATH

    return PLAN_PATH.read_text(encoding="utf-8")


@st.cache_data(show_spinner=False)
def pricing_promises(plan: str) -> tuple[pr.Promise, pr.Promise, dict, pd.DataFrame]:
    """The ROI and budget promises, the ROI report and the budget table. Pricing data are files in the
    repository, not the store: computed once per process."""
    from harness.errors import UserError

    try:
        from pricing import breakdown, load_catalog, load_preset
        from pricing.audit import run_audit
        from pricing.roi import roi_report

        report = roi_report("plan")
        audit = next((r for r in run_audit().rows if r["text"] == "59x"), None)
        roi = pr.roi_claim(plan, report, audit)
        catalog = load_catalog()
        checks, rows = [], []
        for label, budget, period, name in (pr.POC_BUDGET, pr.PRODUCTION_BUDGET):
            preset = load_preset(name)
            costs = [pr.preset_cost(breakdown(catalog, preset))]
            if (saving := pr.with_savings_plan(catalog, preset)) is not None:
                costs.append(pr.preset_cost(breakdown(catalog, saving), "1-year Savings Plan"))
            checks.append(pr.BudgetCheck(label, budget, period, tuple(costs)))
            rows += [{"budget": f"{label}: {pr.usd(budget)} {'a month' if period == 'month' else 'one-time'}",
                      "preset": c.preset, "pricing": c.pricing, "priced lines": pr.usd(c.priced_usd),
                      "depends on usage": ", ".join(c.unpriced) or "—",
                      "priced lines within budget": c.priced_usd <= budget} for c in costs]
        budgets = pr.budgets_claim(plan, checks, f"catalogue {catalog.snapshot.as_of}")
        return roi, budgets, report, pd.DataFrame(rows)
    except (UserError, OSError, ValueError) as exc:
        why = f"pricing data could not be read: {exc}"
        roi = pr.promise("roi", plan, measured="—", method="pricing.roi", verdict=pr.Verdict.NOT_MEASURABLE, why=why)
        budgets = pr.promise("budgets", plan, measured="—", method="pricing.breakdown",
                             verdict=pr.Verdict.NOT_MEASURABLE, why=why)
        return roi, budgets, {}, pd.DataFrame()


# ─── 1. release verdict ────────────────────────────────────────────────────────────────────────


def release_verdicts() -> None:
    st.header("Release verdict")
    gates = read("latest_gates")
    if gates.empty:
        st.info("No release has been gated yet: `dawg-bench gate <suite>` checks each model release against the "
                "suite's pass bars and records the verdicts here.")
        return
    gates = gates.assign(candidate=gates["candidate"].fillna("(whole suite)"))
    groups = sorted(gates.groupby(["suite", "candidate"]), key=lambda kv: -kv[1]["recorded_at"].max())
    shipping = sum(bool(g["passed"].all()) for _, g in groups)
    st.caption(f"The newest gate run of each release: {len(groups)} release(s) gated, {shipping} pass every gate, "
               f"{len(groups) - shipping} fail. A release ships only when every gate passes.")
    for (suite, candidate), group in groups:
        failed = group[~group["passed"]]
        passed = int(group["passed"].sum())
        run_ids = [r for r in group["run_id"].dropna().unique()]
        with st.container(border=True):
            left, right = st.columns([1, 3])
            left.metric(f"release {candidate}", "PASS" if failed.empty else "FAIL",
                        delta=f"{passed} of {len(group)} gates passed", delta_color="off", delta_arrow="off")
            right.markdown(f"**{passed} passed · {len(failed)} failed** of {len(group)} gates · suite "
                           f"**{md(suite)}** · gated {when(group['recorded_at'].max())}"
                           + (f" · evidence: run `{run_ids[0][:8]}`" if run_ids else ""))
            for row in failed.itertuples():
                right.markdown(f":red[✗ **{md(row.gate)}**] — {md(row.detail or 'no detail recorded')}")
            if failed.empty:
                right.markdown(":green[✓ every gate passed]")
            with st.expander(f"all {len(group)} gates of {candidate}"):
                st.dataframe(pd.DataFrame({"gate": group["gate"], "passed": group["passed"],
                                           "detail": group["detail"]}), hide_index=True, width="stretch")


# ─── 2. best model against every baseline ─────────────────────────────────────────────────────────


def gap_chart(table: pd.DataFrame) -> alt.LayerChart:
    """Gap closed median (point) and 95 % CI (rule) per candidate, on one source's clips."""
    base = alt.Chart(table).encode(
        y=alt.Y("candidate:N", sort=None, title=None, axis=alt.Axis(labelLimit=260)),
        color=alt.Color("role:N", title=None, legend=alt.Legend(orient="bottom"),
                        scale=alt.Scale(domain=list(ROLE_COLOUR), range=list(ROLE_COLOUR.values()))))
    ci = base.mark_rule(strokeWidth=3).encode(
        x=alt.X("gap_ci_lo:Q", title="gap closed (0 = bypass, 100 % = oracle)", axis=alt.Axis(format="%")),
        x2="gap_ci_hi:Q")
    point = base.mark_point(filled=True, size=90).encode(
        x="gap_median:Q",
        tooltip=[alt.Tooltip("candidate:N"), alt.Tooltip("source:N"), alt.Tooltip("gap_median:Q", format=".1%"),
                 alt.Tooltip("gap_ci_lo:Q", title="CI low", format=".1%"),
                 alt.Tooltip("gap_ci_hi:Q", title="CI high", format=".1%"),
                 alt.Tooltip("worse_than_bypass:Q", title="worse than bypass", format=".0%"), alt.Tooltip("n:Q")])
    zero = alt.Chart(table).mark_rule(strokeDash=[4, 4], color="#999").encode(x=alt.datum(0))
    return alt.layer(ci, point, zero)


def task_comparison(task: str, aggregates: pd.DataFrame, info: dict) -> tuple[str, float] | None:
    """One task's block; returns (best model, its gap closed over all clips) for the promises."""
    metric, direction = info.get("primary_metric"), info.get("direction", "lower")
    st.subheader(task)
    if not metric:
        st.caption("The run's report names no primary metric for this task: nothing to rank by.")
        return None
    kinds = {name: c.get("kind", "") for name, c in (info.get("candidates") or {}).items()}
    best = pr.best_model(aggregates, task, metric)
    st.caption(f"primary metric `{metric}` ({direction} is better). Gap closed = how much of the distance from "
               "bypass (the damaged input, 0 %) to the oracle (the target, 100 %) a candidate closes; median over "
               "clips with its 95 % CI. Best model = the model candidate with the highest median gap closed over "
               "all clips of this run.")
    if best is None:
        st.info(f"No model scored on {task} in this run: the table shows the baselines only. Train one with "
                f"`dawg-bench train {task}` and score it with `dawg-bench run`.")
    table = pr.comparison(aggregates, task, metric, best or "", kinds)
    if table.empty:
        st.caption("No gap-closed aggregates for this task in this run.")
        return None
    if best is not None:
        best_rows = table[table["role"] == "best model"]
        columns = st.columns(max(len(best_rows), 1))
        for column, row in zip(columns, best_rows.itertuples(), strict=False):
            column.metric(f"{best} · {SOURCE_NOTE.get(row.source, row.source)}", pr.percent(row.gap_median),
                          delta=f"CI {pr.percent(row.gap_ci_lo, 0)} to {pr.percent(row.gap_ci_hi, 0)} · worse than "
                                f"bypass on {pr.percent(row.worse_than_bypass, 0)} of {row.n} clips",
                          delta_color="off", delta_arrow="off")
        missing = {"generated", "recorded"} - set(table["source"])
        if missing and not table["source"].eq("all").all():
            st.caption(f"{' and '.join(sorted(missing))} clips: not in this run (its suite has none).")
    sources = list(dict.fromkeys(table["source"]))
    for column, source in zip(st.columns(len(sources)), sources, strict=True):
        column.caption(SOURCE_NOTE.get(source, source))
        column.altair_chart(gap_chart(table[table["source"] == source]), width="stretch")
    st.dataframe(table, hide_index=True, width="stretch", column_config={
        "gap_median": st.column_config.NumberColumn("gap closed (median)", format="percent"),
        "gap_ci_lo": st.column_config.NumberColumn("CI low", format="percent"),
        "gap_ci_hi": st.column_config.NumberColumn("CI high", format="percent"),
        "worse_than_bypass": st.column_config.NumberColumn("worse than bypass (share of clips)", format="percent"),
        "n": st.column_config.NumberColumn("clips"),
    })
    if best is None:
        return None
    overall = aggregates[(aggregates["task"] == task) & (aggregates["metric"] == metric)
                         & (aggregates["candidate"] == best)]
    overall = overall[overall["source"] == "all"] if overall["source"].eq("all").any() else overall
    return best, float(overall["gap_median"].iloc[0])


# ─── 3. promises vs measurements ───────────────────────────────────────────────────────────────


def verdict_style(value: str) -> str:
    colour = pr.VERDICT_COLOUR.get(pr.Verdict(value)) if value in set(pr.Verdict) else None
    return f"color: {pr.VERDICT_HEX[colour]}; font-weight: bold" if colour else ""


def show_promise(promise: pr.Promise, evidence: dict) -> None:
    with st.container(border=True):
        st.markdown(f"**{md(promise.claim)}** &nbsp; :{promise.colour}-badge[{promise.verdict}]")
        if promise.plan_lines:
            lines = ", ".join(str(n) for n in promise.plan_lines)
            st.caption(f"the plan, line {lines}: “{md(promise.plan_text)}”")
        st.markdown(f"**Measured:** {md(promise.measured)}")
        st.markdown(f"**Why:** {md(promise.why, code=True)}")
        st.markdown(f"**Method:** {md(promise.method, code=True)}")
        if promise.proxy:
            st.markdown(f":gray[**Proxy** (shown for context; the verdict does not rest on it): {md(promise.proxy)}]")
        tables = [(title, t) for title, t in evidence.get(promise.key, []) if not t.empty]
        if tables:
            with st.expander("evidence"):
                for title, table in tables:
                    st.caption(title)
                    st.dataframe(table, hide_index=True, width="stretch")


def promises_section(run_id: str, aggregates: pd.DataFrame, report: dict, best_gaps: dict) -> None:
    st.header("Promises vs measurements")
    st.caption("Each claim of the owner's plan (dawg-ml-plan.md) beside what DAWG Bench measured. Verdicts: "
               ":green-badge[holds] and :red-badge[does not hold] rest on measurements; :orange-badge[holds "
               "(projected)] / :orange-badge[does not hold (projected)] only on projections; :gray-badge[not "
               "measurable yet] says why. A proxy is labelled as one and never decides a verdict.")
    plan = plan_text()
    tasks = report.get("tasks") or {}
    metric_of = {task: info.get("primary_metric") for task, info in tasks.items()}
    run_models = sorted({r for r in map(pr.release_of, aggregates["candidate"].unique()) if r})
    latencies = read("latencies")
    scoped = latencies[latencies["model"].isin(run_models)] if run_models else latencies
    scope_note = (f"this run's models ({', '.join(run_models)})" if run_models else "every model in the store "
                  "(this run scored none)")

    sizes, registry = registry_sizes(tuple(run_models))
    if not sizes:
        sizes = pr.sizes_from_latencies(scoped)
    speedups = pr.int8_speedups(scoped)
    cells = pr.latency_cells(scoped)

    shares = []
    for task, (model, _) in sorted(best_gaps.items()):
        if metric_of.get(task) and "rules" in set(aggregates.loc[aggregates["task"] == task, "candidate"]):
            values = primary_values(run_id, task, metric_of[task], (model, "rules"))
            shares.append(pr.paired_share(values, task, model, "rules", tasks[task].get("direction", "lower")))

    roi, budgets, roi_report, budget_table = pricing_promises(plan)
    promises = [
        pr.mastering_quality(plan, aggregates, metric_of.get("mastering")),
        pr.quality_score(plan, best_gaps),
        pr.int8_claim(plan, sizes, speedups),
        pr.latency_claim(plan, cells),
        pr.preference(plan, shares),
        roi,
        budgets,
    ]
    table = pr.summary_table(promises)
    st.dataframe(table.style.map(verdict_style, subset=["verdict"]), hide_index=True, width="stretch",
                 key="overview_promises", column_config={
                     "claim": st.column_config.TextColumn(width="medium"),
                     "plan line": st.column_config.TextColumn(width="small"),
                     "verdict": st.column_config.TextColumn(width="medium"),  # "does not hold (projected)" whole
                     "measured": st.column_config.TextColumn(width="large"),
                     "why": st.column_config.TextColumn(width="large")})
    st.caption(f"Quality claims: run `{run_id[:8]}` (chosen above). Latency and INT8: the newest valid latency "
               f"rows of {scope_note}. Model files: registry {registry}.")

    evidence: dict[str, list[tuple[str, pd.DataFrame]]] = {
        "int8": [
            ("file sizes (bytes)", pd.DataFrame([{"release": s.release, "FP32 bytes": s.fp32_bytes,
                                                  "INT8 bytes": s.int8_bytes, "FP32 / INT8": s.ratio,
                                                  "from": s.source} for s in sizes])),
            ("p50 latency, measured rows only (ms)", speedups.rename(columns={
                "fp32_p50_ms": "FP32 p50 (ms)", "int8_p50_ms": "INT8 p50 (ms)", "speedup": "FP32 / INT8"})),
        ],
        "latency": [("p95 per hardware target and scope: MEASURED rows decide, PROJECTED rows show the upper edge "
                     "of their band", cells.assign(basis=cells["source"].str.upper()).drop(columns=["source"]))],
        "preference": [("proxy: clips where the model's output is closer to the target than the rules'",
                        pd.DataFrame([{"task": s.task, "model": s.model, "rival": s.rival, "model closer": s.wins,
                                       "ties": s.ties, "clips": s.n, "share": s.share} for s in shares]))],
        "budgets": [("presets priced on the catalogue", budget_table)],
    }
    mc = (roi_report or {}).get("monte_carlo") or {}
    if mc:
        evidence["roi"] = [(f"Monte Carlo, {mc.get('draws', 0):,} draws (seed {mc.get('seed')})", pd.DataFrame(
            [{"figure": name, **mc[name]} for name in ("gross_roi", "net_roi", "break_even_month") if name in mc]))]
    for promise in promises:
        show_promise(promise, evidence)


# ─── the page ────────────────────────────────────────────────────────────────────────────────


st.title("Overview")
require_store()
release_verdicts()

runs = read("runs")
st.subheader("Evidence run")
run_id = pick_run(runs, key="overview_run")
run = runs[runs["run_id"] == run_id].iloc[0]
st.caption(f"Run `{run_id}`: suite **{md(run['suite'])}**, finished {run['finished']:%Y-%m-%d %H:%M} UTC, "
           f"{run['clips']} clips, corpus `{str(run['manifest_hash'])[:12]}`. The promises and the comparison below "
           "read this run.")
report = read("run_report", run_id)
aggregates = read("aggregates", run_id)
# leadership reads the promises first; they need each task's best model, found while drawing the comparison
promises_slot = st.container()
st.header("Best model against every baseline")
best_gaps: dict[str, tuple[str, float]] = {}
task_info = report.get("tasks") or {}
for task in sorted(set(aggregates["task"]) | set(task_info)):
    found = task_comparison(task, aggregates, task_info.get(task, {}))
    if found is not None:
        best_gaps[task] = found

with promises_slot:
    promises_section(run_id, aggregates, report, best_gaps)

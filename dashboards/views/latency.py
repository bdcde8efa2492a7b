"""Latency page: p50/p95/p99 per release and hardware target, MEASURED and PROJECTED told apart by colour
and by label, projections with their band and assumptions, FP32 against INT8, and the browser target.

A latency is MEASURED only where `dawg-bench latency` timed it on that hardware; every other target is
PROJECTED by the device model (harness/latency/projection.py): one figure and a band, never percentiles.
The page shows the newest row of each (release, precision, hardware, scope, threads, source); older
measurements are on the History page. An INVALID row never shows a figure: it shows why it is invalid.
"""

from __future__ import annotations

import json
import math
import numbers

import altair as alt
import pandas as pd
import streamlit as st

from dashboards.common import read, require_store

MEASURED, PROJECTED = "MEASURED", "PROJECTED"
SOURCE_LABEL = {"measured": MEASURED, "projected": PROJECTED}
# blue for what ran on the hardware, orange for what a model says it would do: distinct for colour-blind readers
SOURCE_COLOUR = {MEASURED: "#1f6fb4", PROJECTED: "#e8820c"}
INVALID_COLOUR = "#c62828"
# one latency figure per combination of these: the newest row of each is the one shown
NEWEST_KEY = ["model", "precision", "hardware", "scope", "threads", "source"]
FIGURE_COLUMNS = ["p50_ms", "p95_ms", "p99_ms", "projected_ms", "projected_low_ms", "projected_high_ms"]
BROWSER_COMMAND = "dawg-bench latency --hardware browser"
SCOPE_TITLE = {"controller": "Controller: the ONNX model alone, on one clip's features",
               "end_to_end": "End to end: features + model + the task's DSP over one clip"}


def newest_rows(latencies: pd.DataFrame) -> pd.DataFrame:
    """The newest row of each (release, precision, hardware, scope, threads, source); NaN threads group together."""
    return (latencies.sort_values("recorded_at", kind="stable")
            .drop_duplicates(NEWEST_KEY, keep="last").reset_index(drop=True))


def is_browser(hardware: pd.Series) -> pd.Series:
    # the browser target records its engine and version: `browser:chromium-<version>`
    return hardware.astype(str).str.startswith("browser")


def with_labels(rows: pd.DataFrame) -> pd.DataFrame:
    """Adds `label` (MEASURED / PROJECTED), `is_valid`, and blanks every figure of an INVALID row."""
    out = rows.copy()
    out["label"] = out["source"].map(SOURCE_LABEL).fillna(out["source"].astype(str).str.upper())
    out["is_valid"] = out["valid"].fillna(0).astype(int).astype(bool)
    out.loc[~out["is_valid"], FIGURE_COLUMNS] = float("nan")
    out["threads"] = out["threads"].astype("Int64")
    return out


def latency_table(rows: pd.DataFrame) -> pd.DataFrame:
    """The rows as the page tables them: units in the names, the status and its reason in words."""
    status = rows["is_valid"].map({True: "valid", False: "INVALID"})
    return pd.DataFrame({
        "release": rows["model"], "task": rows["task"], "precision": rows["precision"].str.upper(),
        "hardware": rows["hardware"], "source": rows["label"], "scope": rows["scope"], "threads": rows["threads"],
        "p50 (ms)": rows["p50_ms"], "p95 (ms)": rows["p95_ms"], "p99 (ms)": rows["p99_ms"],
        "projected (ms)": rows["projected_ms"], "band low (ms)": rows["projected_low_ms"],
        "band high (ms)": rows["projected_high_ms"], "status": status, "reason": rows["reason"].fillna(""),
        "recorded (UTC)": rows["recorded"].dt.strftime("%Y-%m-%d %H:%M"),
    }).reset_index(drop=True)


def styled(table: pd.DataFrame):
    """Colour the source label (and INVALID) so MEASURED and PROJECTED differ at a glance, not only in words."""
    def source_colour(value):
        colour = SOURCE_COLOUR.get(value)
        return f"background-color: {colour}; color: white; font-weight: 600" if colour else ""

    def status_colour(value):
        return f"color: {INVALID_COLOUR}; font-weight: 700" if value == "INVALID" else ""

    ms = [c for c in table.columns if c.endswith("(ms)")]
    return (table.style.map(source_colour, subset=["source"]).map(status_colour, subset=["status"])
            .format("{:.4g}", subset=ms, na_rep="—"))


def show_table(table: pd.DataFrame, key: str) -> None:
    st.dataframe(styled(table), hide_index=True, key=key, width="stretch")


def chart_rows(rows: pd.DataFrame) -> pd.DataFrame:
    """One chart row per valid latency row: the typical figure (measured p50 or the projected figure),
    the span drawn behind it (p50 to the highest reported percentile, or the projection's band)."""
    valid = rows[rows["is_valid"]].copy()
    measured = valid["source"] == "measured"
    valid["typical_ms"] = valid["p50_ms"].where(measured, valid["projected_ms"])
    valid["span_low_ms"] = valid["p50_ms"].where(measured, valid["projected_low_ms"])
    valid["span_high_ms"] = valid["p99_ms"].fillna(valid["p95_ms"]).where(measured, valid["projected_high_ms"])
    threads = pd.Series([f" · {t} thr" if pd.notna(t) else "" for t in valid["threads"]], index=valid.index,
                        dtype=object)
    # `browser:chromium-<version>` would crowd the axis: the version is in the tooltip and the table
    hardware = valid["hardware"].where(~is_browser(valid["hardware"]), "browser")
    valid["row"] = (valid["model"] + " · " + valid["precision"].str.upper() + " · " + hardware + threads
                    + " · " + valid["label"])
    valid = valid[valid["typical_ms"] > 0]  # a log axis has no place for zero or a missing figure
    keep = ["row", "model", "precision", "hardware", "threads", "label", "typical_ms", "span_low_ms", "span_high_ms",
            "p50_ms", "p95_ms", "p99_ms", "projected_ms", "projected_low_ms", "projected_high_ms", "reason"]
    out = valid[keep].sort_values(["model", "precision", "hardware", "label", "threads"])
    out["threads"] = out["threads"].astype("float")  # vega-lite takes plain numbers
    return out


def latency_chart(data: pd.DataFrame) -> alt.Chart:
    colour = alt.Color("label:N", title="source", scale=alt.Scale(domain=list(SOURCE_COLOUR),
                                                                    range=list(SOURCE_COLOUR.values())))
    y = alt.Y("row:N", title=None, sort=list(data["row"]), axis=alt.Axis(labelLimit=420))
    tooltip = [alt.Tooltip(c, format=".4g") if c.endswith("_ms") else c
               for c in ["label", "model", "precision", "hardware", "threads", "p50_ms", "p95_ms", "p99_ms",
                         "projected_ms", "projected_low_ms", "projected_high_ms", "reason"]]
    base = alt.Chart(data).encode(y=y, color=colour, tooltip=tooltip)
    x = alt.X("typical_ms:Q", title="latency (ms, log scale): ● p50 · | p95 · ┃ p99 · ◆ projection with its band",
              scale=alt.Scale(type="log"))
    span = base.mark_rule(strokeWidth=3, opacity=0.55).encode(x=alt.X("span_low_ms:Q"), x2="span_high_ms:Q")
    typical = base.mark_point(filled=True, size=90).encode(
        x=x, shape=alt.Shape("label:N", title="source", scale=alt.Scale(domain=[MEASURED, PROJECTED],
                                                                         range=["circle", "diamond"])))
    p95 = base.mark_tick(thickness=2, size=12).encode(x="p95_ms:Q")
    p99 = base.mark_tick(thickness=4, size=16).encode(x="p99_ms:Q")
    return alt.layer(span, typical, p95, p99).properties(height=alt.Step(22))


def precision_comparison(measured: pd.DataFrame) -> pd.DataFrame:
    """FP32 against INT8 where both were measured on the same hardware, scope and threads: the speed-up is
    FP32 ÷ INT8 (above 1: INT8 is faster). A pair with an INVALID side gets no ratio, and says why."""
    key = ["model", "task", "hardware", "scope", "threads"]
    fp32 = measured[measured["precision"] == "fp32"].set_index(key)
    int8 = measured[measured["precision"] == "int8"].set_index(key)
    both = fp32.merge(int8, left_index=True, right_index=True, suffixes=("_fp32", "_int8"))
    if both.empty:
        return pd.DataFrame()
    note = pd.Series("", index=both.index)
    for side in ("fp32", "int8"):
        bad = ~both[f"is_valid_{side}"]
        note[bad] = note[bad] + f"{side.upper()} INVALID: " + both.loc[bad, f"reason_{side}"].fillna("") + " "
    out = pd.DataFrame({
        "FP32 p50 (ms)": both["p50_ms_fp32"], "INT8 p50 (ms)": both["p50_ms_int8"],
        "INT8 speed-up at p50 (×)": both["p50_ms_fp32"] / both["p50_ms_int8"],
        "FP32 p95 (ms)": both["p95_ms_fp32"], "INT8 p95 (ms)": both["p95_ms_int8"],
        "INT8 speed-up at p95 (×)": both["p95_ms_fp32"] / both["p95_ms_int8"],
        "note": note.str.strip(),
    }).reset_index().rename(columns={"model": "release"})
    return out


def assumption_text(value) -> str:
    """An assumption as text: its values mix numbers, words and nested dicts, which one table column cannot."""
    if isinstance(value, str):
        return value
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, numbers.Number):
        return "" if math.isnan(value) else f"{value:.6g}"  # NaN: this row lacks the assumption
    return json.dumps(value, default=str)


def show_assumptions(projected: pd.DataFrame) -> None:
    """Per projected hardware target, an expander: what every projection there assumed (device model,
    efficiencies, datasheet), then what differs between its rows."""
    for hardware, rows in projected.groupby("hardware", sort=True):
        with st.expander(f"{PROJECTED} on {hardware}: the device model's assumptions ({len(rows)} rows)"):
            dicts = [a if isinstance(a, dict) else {} for a in rows["assumptions"]]
            flat = pd.json_normalize(dicts) if any(dicts) else pd.DataFrame(index=range(len(rows)))
            shared = {c: flat[c].iloc[0] for c in flat.columns
                      if flat[c].map(assumption_text).nunique(dropna=False) == 1}
            if shared:
                st.dataframe(pd.DataFrame({"assumption": list(shared),
                                           "value": [assumption_text(v) for v in shared.values()]}),
                             hide_index=True, width="stretch", key=f"latency_assumptions_{hardware}")
            else:
                st.caption("These rows carry no assumptions.")
            varying = flat[[c for c in flat.columns if c not in shared]].map(assumption_text)
            figures = pd.DataFrame({
                "release": rows["model"].to_numpy(), "precision": rows["precision"].str.upper().to_numpy(),
                "scope": rows["scope"].to_numpy(), "projected (ms)": rows["projected_ms"].to_numpy(),
                "band low (ms)": rows["projected_low_ms"].to_numpy(),
                "band high (ms)": rows["projected_high_ms"].to_numpy(), "reason": rows["reason"].fillna("").to_numpy(),
            })
            st.dataframe(pd.concat([figures, varying.reset_index(drop=True)], axis=1), hide_index=True,
                         width="stretch", key=f"latency_projected_rows_{hardware}")


def browser_details(rows: pd.DataFrame) -> pd.DataFrame:
    """What the browser measurement adds to its percentiles: cold start, download size, parity, memory."""
    details = [(a.get("browser") or {}) if isinstance(a, dict) else {} for a in rows["assumptions"]]

    def pick(d: dict, *path):
        for part in path:
            d = d.get(part) if isinstance(d, dict) else None
        return d

    return pd.DataFrame({
        "cold start (ms)": [pick(d, "cold_start_ms") for d in details],
        "model brotli (KiB)": [(pick(d, "model_bytes", "brotli") or float("nan")) / 1024 for d in details],
        "runtime gzip (MiB)": [(pick(d, "runtime_bytes", "gzip") or float("nan")) / 2**20 for d in details],
        "parity max |browser − native|": [pick(d, "parity_max_abs_diff") for d in details],
        "memory (MiB)": [(pick(d, "memory_bytes") or float("nan")) / 2**20 for d in details],
    }, dtype="float")


st.title("Latency")
require_store()
everything = read("latencies")
if everything.empty:
    st.info("**No latency rows yet.** `dawg-bench latency` times the newest release of each task on this machine's "
            "CPU and projects the T4 and A10G; `dawg-bench demo` does it too.")
    st.code("dawg-bench latency\n" + BROWSER_COMMAND, language="bash")
    st.stop()

newest = with_labels(newest_rows(everything))
older = len(everything) - len(newest)

# Releases: by default the newest of each task (the one a release decision is about); any other on request.
last_seen = newest.groupby("model")["recorded_at"].max()
newest_per_task = newest.assign(seen=newest["model"].map(last_seen)).sort_values("seen").groupby("task")["model"].last()
all_models = sorted(newest["model"].unique())
chosen = st.multiselect("releases", all_models, default=sorted(newest_per_task.unique()), key="latency_releases")
shown = newest[newest["model"].isin(chosen)]

st.caption(f"**{MEASURED}** (blue): timed on that hardware by `dawg-bench latency` — p50, p95 and p99, each "
           "reported only with enough queries behind it. "
           f"**{PROJECTED}** (orange): that hardware is not here, so the device model gives one figure with an "
           "uncertainty band (the error of the same model's projection against this machine's measured CPU); "
           "no percentiles, and its assumptions are listed below.")
note = f"Newest row of each release, precision, hardware, scope, threads and source ({len(newest)} rows)."
if older:
    note += f" {older} older row(s) of the same combinations are on the **History** page."
st.caption(note)

invalid = shown[~shown["is_valid"]]
if not invalid.empty:
    st.warning(f"**{len(invalid)} row(s) INVALID** — shown without figures, never as a passing latency:\n\n"
               + "\n".join(f"- {r.model} {r.precision.upper()} on {r.hardware} ({r.scope}, {r.label}): {r.reason}"
                           for r in invalid.itertuples()))

if shown.empty:
    st.info("Choose a release above.")
    st.stop()

st.subheader("Per release and hardware target")
for scope, rows in shown.groupby("scope", sort=True):
    st.markdown(f"**{SCOPE_TITLE.get(scope, scope)}**")
    data = chart_rows(rows)
    if data.empty:
        st.caption("No valid figure to plot in this scope.")
    else:
        st.altair_chart(latency_chart(data), width="stretch")
show_table(latency_table(shown), key="latency_table")

projected = shown[shown["source"] == "projected"]
if not projected.empty:
    st.subheader("Projections: their assumptions")
    st.caption("Each projection is one figure from a roofline device model per ONNX node plus overheads; the band "
               "is ± the error of the same projection against this machine's measured CPU p50 (the method check).")
    show_assumptions(projected)

st.subheader("FP32 against INT8")
measured = shown[shown["source"] == "measured"]
comparison = precision_comparison(measured)
if comparison.empty:
    st.info("No release was measured in both FP32 and INT8 on the same hardware, scope and threads yet: "
            "`dawg-bench latency` measures every precision a release ships.")
else:
    st.caption("Both precisions MEASURED on the same hardware, scope and thread count. Speed-up = FP32 ÷ INT8: "
               "above 1, INT8 is faster (the plan promised 4×).")
    st.dataframe(comparison.style.format("{:.4g}", subset=[c for c in comparison.columns if "(" in c], na_rep="—"),
                 hide_index=True, key="latency_precision", width="stretch")

st.subheader("Browser target")
browser = shown[is_browser(shown["hardware"])]
if browser.empty:
    st.info(f"browser not measured yet: `{BROWSER_COMMAND}`")
    st.caption("It runs each release in ONNX Runtime Web inside headless Chromium (`dawg-bench latency "
               "--setup-browser` installs the assets once).")
else:
    scopes = {a.get("scope") for a in browser["assumptions"] if isinstance(a, dict) and a.get("scope")}
    st.caption(" ".join(sorted(scopes)) or "ONNX Runtime Web in headless Chromium.")
    table = pd.concat([latency_table(browser).drop(columns=["projected (ms)", "band low (ms)", "band high (ms)"]),
                       browser_details(browser).reset_index(drop=True)], axis=1)
    st.dataframe(styled(table).format("{:.3g}", subset=["parity max |browser − native|"], na_rep="—")
                 .format("{:.4g}", subset=["cold start (ms)", "model brotli (KiB)", "runtime gzip (MiB)",
                                           "memory (MiB)"], na_rep="—"),
                 hide_index=True, key="latency_browser", width="stretch")

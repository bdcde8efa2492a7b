"""History page: every finished run with the corpus it scored (manifest hash) and the code that scored it
(code fingerprint, git sha); each task's gap closed per candidate across runs; measured latency over time.

It reads the runs, the aggregates and the latency rows only — never the per-clip results — so it stays fast
however many clips the runs scored. Two runs' figures compare only where their corpus hashes match: the
runs table says where the corpus or the code changed.
"""

from __future__ import annotations

from contextlib import closing

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import store_view
from dashboards.common import db_path, read, require_store, stamp

EVERY_SUITE = "every suite"
PRIMARY = "each task's primary metric"
# bypass closes none of the gap and the oracle all of it, by definition: they set the scale, not news
SCALE_CANDIDATES = {"bypass", "oracle"}
HASH_CHARS = 12
SHA_CHARS = 10
# candidate and series names are long: the default legend would cut them
LEGEND = alt.Legend(labelLimit=340)
SCOPES = {"end_to_end": "end to end (features + model + DSP)", "controller": "controller (the ONNX model alone)"}


# run times are UTC in the store; vega-lite would otherwise draw them in the browser's time zone
UTC_TIME_AXIS = {"axis": alt.Axis(format="%Y-%m-%d %H:%M", formatType="utc", labelAngle=-30),
                 "scale": alt.Scale(type="utc")}


@st.cache_data(show_spinner=False, max_entries=8)
def _primary_metrics(path: str, key: tuple) -> pd.DataFrame:
    # SQLite reads the two fields out of each run's report JSON: no report is loaded into Python
    query = ("SELECT r.run_id, t.key AS task, json_extract(t.value, '$.primary_metric') AS metric,"
             " json_extract(t.value, '$.direction') AS direction"
             " FROM runs r, json_each(r.report, '$.tasks') t WHERE r.status = 'complete' AND json_valid(r.report)")
    with closing(store_view.connect(path)) as c:
        rows = c.execute(query).fetchall()
    return pd.DataFrame([tuple(r) for r in rows], columns=["run_id", "task", "metric", "direction"])


def primary_metrics() -> pd.DataFrame:
    """Per run and task, the primary metric its suite named and whether lower or higher is better."""
    path = db_path()
    return _primary_metrics(str(path), stamp(path))


def short(value, chars: int) -> str:
    return str(value)[:chars] if isinstance(value, str) and value else "—"


def runs_table(runs: pd.DataFrame) -> pd.DataFrame:
    """The runs, newest first, with what changed since the suite's previous run: its corpus, its code."""
    ordered = runs.sort_values(["finished_at", "started_at"], kind="stable")
    by_suite = ordered.groupby("suite", sort=False)
    corpus_changed = ordered["manifest_hash"].ne(by_suite["manifest_hash"].shift()) & by_suite.cumcount().gt(0)
    code_changed = ordered["code"].ne(by_suite["code"].shift()) & by_suite.cumcount().gt(0)
    changes = [", ".join(what for what, hit in (("corpus", c), ("code", k)) if hit) or ("first run" if first else "")
               for c, k, first in zip(corpus_changed, code_changed, by_suite.cumcount().eq(0), strict=True)]
    table = pd.DataFrame({
        "finished (UTC)": ordered["finished"].dt.strftime("%Y-%m-%d %H:%M"), "suite": ordered["suite"],
        "clips": ordered["clips"], "corpus hash": ordered["manifest_hash"].map(lambda h: short(h, HASH_CHARS)),
        "code fingerprint": ordered["code"].map(lambda h: short(h, HASH_CHARS)),
        "git sha": ordered["git_sha"].map(lambda h: short(h, SHA_CHARS)),
        "changed since the suite's previous run": changes, "run": ordered["run_id"],
    })
    return table.iloc[::-1].reset_index(drop=True)


def run_label(runs: pd.DataFrame) -> pd.Series:
    return pd.Series([f"{r.finished:%Y-%m-%d %H:%M} · {r.run_id[:8]}" for r in runs.itertuples()],
                     index=runs["run_id"])


def gap_rows(aggregates: pd.DataFrame, runs: pd.DataFrame, metric: str, source: str) -> pd.DataFrame:
    """Gap closed (median and CI) per run, task and candidate on `metric` (or each task's primary metric)."""
    rows = aggregates[aggregates["source"] == source]
    if metric == PRIMARY:
        rows = rows.merge(primary_metrics(), on=["run_id", "task", "metric"], how="inner")
    else:
        rows = rows[rows["metric"] == metric]
    rows = rows[~rows["candidate"].isin(SCALE_CANDIDATES)]
    info = runs.set_index("run_id")
    rows = rows.assign(finished=rows["run_id"].map(info["finished"]), run=rows["run_id"].map(run_label(runs)),
                       corpus=rows["run_id"].map(info["manifest_hash"].map(lambda h: short(h, HASH_CHARS))))
    return rows.sort_values(["task", "candidate", "finished"]).reset_index(drop=True)


def gap_chart(rows: pd.DataFrame) -> alt.LayerChart:
    data = rows[["finished", "run", "suite", "corpus", "candidate", "metric", "gap_median", "gap_ci_lo", "gap_ci_hi",
                 "n"]].copy()
    x = alt.X("finished:T", title="run finished (UTC)", **UTC_TIME_AXIS)
    colour = alt.Color("candidate:N", title="candidate", legend=LEGEND)
    tooltip = ["run", "suite", "corpus", "candidate", "metric", alt.Tooltip("gap_median:Q", format=".3f"),
               alt.Tooltip("gap_ci_lo:Q", format=".3f"), alt.Tooltip("gap_ci_hi:Q", format=".3f"), "n"]
    base = alt.Chart(data).encode(x=x, color=colour, tooltip=tooltip)
    line = base.mark_line(point=alt.OverlayMarkDef(filled=True, size=70)).encode(
        y=alt.Y("gap_median:Q", title="gap closed (median)"))
    ci = base.mark_rule(opacity=0.45, strokeWidth=2).encode(y="gap_ci_lo:Q", y2="gap_ci_hi:Q")
    zero = alt.Chart(pd.DataFrame({"y": [0.0]})).mark_rule(color="grey", strokeDash=[4, 4]).encode(y="y:Q")
    layers = [zero, ci, line]
    # where the corpus changed, the figures on either side scored different clips: mark it
    runs = data.drop_duplicates("run").sort_values("finished")
    changed = runs[runs["corpus"].ne(runs["corpus"].shift()) & (runs["finished"] > runs["finished"].min())]
    if not changed.empty:
        layers.insert(0, alt.Chart(changed).mark_rule(color="#9e9e9e", strokeDash=[2, 3]).encode(
            x="finished:T", tooltip=[alt.Tooltip("corpus:N", title="corpus changed to"), "run"]))
    return alt.layer(*layers).properties(height=260)


def gap_table(rows: pd.DataFrame) -> pd.DataFrame:
    """Long form, newest run first: what the charts plot, one row per run, task and candidate."""
    table = pd.DataFrame({
        "run": rows["run"], "suite": rows["suite"], "corpus hash": rows["corpus"], "task": rows["task"],
        "candidate": rows["candidate"], "metric": rows["metric"], "gap closed median": rows["gap_median"],
        "gap CI low": rows["gap_ci_lo"], "gap CI high": rows["gap_ci_hi"],
        "worse than bypass (share)": rows["worse_than_bypass"], "metric median": rows["median"],
        "examples (n)": rows["n"], "finished": rows["finished"],
    })
    return table.sort_values(["finished", "task", "candidate"], ascending=[False, True, True]).drop(
        columns="finished").reset_index(drop=True)


def latency_series(latencies: pd.DataFrame) -> pd.DataFrame:
    """Valid MEASURED rows as one p50 and one p95 point each, labelled by release, precision, hardware, threads."""
    rows = latencies[(latencies["source"] == "measured") & (latencies["valid"].fillna(0).astype(int) == 1)].copy()
    threads = pd.Series([f" · {int(t)} thr" if pd.notna(t) else "" for t in rows["threads"]], index=rows.index,
                        dtype=object)
    rows["series"] = rows["model"] + " · " + rows["precision"].str.upper() + " · " + rows["hardware"] + threads
    long = rows.melt(id_vars=["recorded", "series", "model", "scope", "hardware", "reason"],
                     value_vars=["p50_ms", "p95_ms"], var_name="percentile", value_name="ms")
    long["percentile"] = long["percentile"].str.removesuffix("_ms")
    return long[long["ms"] > 0]  # a log axis has no place for zero or a missing percentile


def latency_chart(data: pd.DataFrame) -> alt.Chart:
    return alt.Chart(data).mark_line(point=True).encode(
        x=alt.X("recorded:T", title="measured (UTC)", **UTC_TIME_AXIS),
        y=alt.Y("ms:Q", title="MEASURED latency (ms, log scale)", scale=alt.Scale(type="log")),
        color=alt.Color("series:N", title="release · precision · hardware · threads", legend=LEGEND),
        strokeDash=alt.StrokeDash("percentile:N", title="percentile", sort=["p50", "p95"]),
        detail="percentile:N",
        tooltip=["series", "percentile", alt.Tooltip("ms:Q", format=".4g"), "recorded:T", "reason"],
    ).properties(height=320)


st.title("History")
require_store()
runs = read("runs")

st.subheader("Runs")
st.caption("**Corpus hash**: the manifest hash of the clips a run scored — figures compare across runs only where "
           "it matches. **Code fingerprint**: the hash of the harness code that scored them; **git sha**: the "
           "checkout it ran from.")
st.dataframe(runs_table(runs), hide_index=True, key="history_runs", width="stretch")

st.subheader("Gap closed across runs")
aggregates = read("aggregates")
suites = list(dict.fromkeys(runs["suite"]))  # newest run's suite first
suite = st.selectbox("suite", [*suites, EVERY_SUITE], key="history_suite",
                     help="Runs of one suite score the same kind of corpus; across suites, compare with care.")
left, right = st.columns(2)
sources = [s for s in ("all", "generated", "recorded") if s in set(aggregates["source"])] or ["all"]
source = left.radio("clips", sources, horizontal=True, key="history_source",
                    help="all clips, or only the generated or the recorded ones")
metric = right.selectbox("metric", [PRIMARY, *sorted(aggregates["metric"].unique())], key="history_metric")

in_suite = runs if suite == EVERY_SUITE else runs[runs["suite"] == suite]
gaps = gap_rows(aggregates[aggregates["run_id"].isin(in_suite["run_id"])], in_suite, metric, source)
if gaps.empty and metric == PRIMARY and not aggregates.empty and primary_metrics().empty:
    st.info("These runs' reports name no primary metric: choose a metric above.")
elif gaps.empty:
    st.info(f"No gap closed on {metric} for {source} clips in these runs: a run stores it per metric and source "
            "it scored.")
else:
    st.caption(f"Median gap closed per candidate on {metric} ({source} clips), with its bootstrap CI, per run "
               f"({len(in_suite)} run(s)). 0 = no better than bypass, 1 = as good as the oracle; bypass and oracle "
               "are left out. Each model release and precision is its own candidate. A dotted vertical line marks a "
               "run whose corpus differs from the run before it: across it, the clips differ.")
    for task, rows in gaps.groupby("task", sort=True):
        st.markdown(f"**{task}** · {', '.join(sorted(rows['metric'].unique()))}")
        st.altair_chart(gap_chart(rows), width="stretch")
    with st.expander(f"The figures behind the charts ({len(gaps)} rows)"):
        st.dataframe(gap_table(gaps), hide_index=True, key="history_gaps", width="stretch")

st.subheader("Latency over time")
latencies = read("latencies")
if latencies.empty:
    st.info("No latency rows yet: `dawg-bench latency` measures the newest release of each task.")
    st.stop()
series = latency_series(latencies)
projected = int((latencies["source"] == "projected").sum())
invalid = int(((latencies["source"] == "measured") & (latencies["valid"].fillna(0).astype(int) == 0)).sum())
st.caption(f"MEASURED rows only, p50 solid and p95 dashed. Left out: {projected} PROJECTED row(s) — not "
           f"measurements (the Latency page shows the newest, labelled) — and {invalid} INVALID measured row(s).")
if series.empty:
    st.info("No valid measured latency yet: `dawg-bench latency` measures on this machine's CPU.")
else:
    left, right = st.columns(2)
    scopes = [s for s in SCOPES if s in set(series["scope"])] + sorted(set(series["scope"]) - set(SCOPES))
    scope = left.selectbox("scope", scopes, format_func=lambda s: SCOPES.get(s, s), key="history_scope")
    hardware_options = sorted(series.loc[series["scope"] == scope, "hardware"].unique())
    hardware = right.multiselect("hardware", hardware_options, default=hardware_options[:1],
                                 key=f"history_hardware_{scope}")
    picked = series[(series["scope"] == scope) & series["hardware"].isin(hardware)]
    if picked.empty:
        st.caption("Choose a hardware target.")
    else:
        st.altair_chart(latency_chart(picked), width="stretch")

with st.expander(f"Every latency row ({len(latencies)}), newest first: MEASURED and PROJECTED, valid or not"):
    every = latencies.iloc[::-1]
    st.dataframe(pd.DataFrame({
        "recorded (UTC)": every["recorded"].dt.strftime("%Y-%m-%d %H:%M:%S"), "release": every["model"],
        "precision": every["precision"].str.upper(), "hardware": every["hardware"],
        "source": every["source"].str.upper(), "scope": every["scope"], "threads": every["threads"].astype("Int64"),
        "p50 (ms)": every["p50_ms"].where(every["valid"] == 1), "p95 (ms)": every["p95_ms"].where(every["valid"] == 1),
        "projected (ms)": every["projected_ms"].where(every["valid"] == 1),
        "status": every["valid"].map({1: "valid"}).fillna("INVALID"), "reason": every["reason"],
    }), hide_index=True, key="history_latencies", width="stretch")

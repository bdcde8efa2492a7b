"""Quality: per task and metric, how each candidate's scores spread over the run's clips, by source; then one
clip's evidence — its stored scores and, on request, its audio rebuilt and loudness-matched for listening.

Only the chosen task's clip rows are read. The box plot is drawn from quantiles computed here (one box per
candidate and source, whatever the clip count); the points beyond the whiskers are drawn too, sampled when
there are many, and the page says so.
"""

from __future__ import annotations

import math
from pathlib import Path

import altair as alt
import pandas as pd
import streamlit as st

from dashboards import excerpts
from dashboards.common import db_path, pick_run, read, require_store

SOURCES = ("generated", "recorded")
ALL_VARIANTS = "all variants"
OUTLIERS_PER_BOX = 150  # drawn points beyond the whiskers per candidate and source; more are sampled
WHISKER_IQR = 1.5  # Tukey's whiskers: the furthest clip within 1.5 interquartile ranges of the box
TRACK_COLUMNS = 3  # audio players per row


def metric_names(task_report: dict, rows: pd.DataFrame) -> list[str]:
    """The task's metrics as the report lists them, primary first; only those with stored values."""
    names = [task_report.get("primary_metric")]
    for cand in task_report.get("candidates", {}).values():
        names += list(cand.get("metrics", {}))
    ordered = [n for n in dict.fromkeys(names) if n and not n.startswith("input.") and f"metric:{n}" in rows]
    return ordered or [c.removeprefix("metric:") for c in rows.columns
                       if c.startswith("metric:") and not c.startswith("metric:input.")]


def metric_direction(name: str, task_report: dict) -> str | None:
    """'lower' or 'higher' is better for a distance; None for a meter (a reading, not a score). The primary
    metric's is in the report; the metric registry (a second to import, once) is asked only for the others."""
    if name == task_report.get("primary_metric") and task_report.get("direction"):
        return task_report["direction"]
    from harness.metrics import get_metric

    try:
        return get_metric(name.removeprefix("output.")).direction
    except Exception:  # noqa: BLE001 - a metric renamed since the run: drawn without a direction
        return None


def candidate_order(task_report: dict, rows: pd.DataFrame) -> list[str]:
    """The report's ranking, then any candidate it does not rank (failed everywhere) by name."""
    present = set(rows["candidate"])
    ranked = [c for c in task_report.get("ranking", []) if c in present]
    return ranked + sorted(present - set(ranked))


def box_stats(values: pd.DataFrame, column: str) -> pd.DataFrame:
    """Per candidate and source: n, quartiles, median and Tukey whiskers of `column` (NaN left out)."""
    groups = values.groupby(["candidate", "source"], observed=True)[column]
    stats = groups.quantile([0.25, 0.5, 0.75]).unstack()
    stats.columns = ["q1", "median", "q3"]
    stats["n"] = groups.count()
    joined = values.join(stats[["q1", "q3"]], on=["candidate", "source"])
    reach = WHISKER_IQR * (joined["q3"] - joined["q1"])
    inside = joined[(joined[column] >= joined["q1"] - reach) & (joined[column] <= joined["q3"] + reach)]
    whiskers = inside.groupby(["candidate", "source"], observed=True)[column].agg(low="min", high="max")
    return stats.join(whiskers).reset_index()


def outliers(values: pd.DataFrame, stats: pd.DataFrame, column: str) -> tuple[pd.DataFrame, bool]:
    """The clips beyond the whiskers, at most OUTLIERS_PER_BOX per box (a seeded sample); and whether sampled."""
    joined = values.join(stats.set_index(["candidate", "source"])[["low", "high"]], on=["candidate", "source"])
    out = joined[(joined[column] < joined["low"]) | (joined[column] > joined["high"])]
    sampled = bool((out.groupby(["candidate", "source"], observed=True).size() > OUTLIERS_PER_BOX).any())
    if sampled:  # a seeded shuffle, then the first OUTLIERS_PER_BOX of each box
        out = out.sample(frac=1.0, random_state=0)
        out = out[out.groupby(["candidate", "source"], observed=True).cumcount() < OUTLIERS_PER_BOX]
    return out[["candidate", "source", "clip_id", column]].rename(columns={column: "value"}), sampled


def median_table(values: pd.DataFrame, column: str, order: list[str], failed: pd.Series) -> pd.DataFrame:
    """Median and n per candidate for each source and for all clips together, in ranking order."""
    table = pd.DataFrame(index=pd.Index(order, name="candidate"))
    sources = [s for s in SOURCES if s in set(values["source"])] + sorted(set(values["source"]) - set(SOURCES))
    for source in [*sources, "all"]:
        part = values if source == "all" else values[values["source"] == source]
        groups = part.groupby("candidate")[column]
        table[f"median ({source})"] = groups.median()
        table[f"n ({source})"] = groups.count().reindex(order).fillna(0).astype(int)
    table["failed rows"] = failed.reindex(order).fillna(0).astype(int)
    return table


def box_chart(stats: pd.DataFrame, points: pd.DataFrame, label: str, order: list[str], gap: bool) -> alt.LayerChart:
    y = alt.Y("candidate:N", sort=order, title=None, axis=alt.Axis(labelLimit=320))
    offset = alt.YOffset("source:N", sort=list(SOURCES))
    colour = alt.Color("source:N", sort=list(SOURCES), title="source")
    x = alt.X("low:Q", title=label, scale=alt.Scale(zero=False))
    tooltip = ["candidate", "source", "n", alt.Tooltip("median:Q", format=".4g"), alt.Tooltip("q1:Q", format=".4g"),
               alt.Tooltip("q3:Q", format=".4g"), alt.Tooltip("low:Q", format=".4g"),
               alt.Tooltip("high:Q", format=".4g")]
    base = alt.Chart(stats).encode(y=y, yOffset=offset)
    whisker = base.mark_rule().encode(x=x, x2="high:Q", color=colour)
    box = base.mark_bar(opacity=0.45, height={"band": 0.8}).encode(x="q1:Q", x2="q3:Q", color=colour, tooltip=tooltip)
    median = base.mark_tick(thickness=2, height={"band": 0.8}, color="black").encode(x="median:Q", tooltip=tooltip)
    layers = [whisker, box, median]
    if not points.empty:
        layers.append(alt.Chart(points).mark_point(size=18, opacity=0.7).encode(
            x="value:Q", y=y, yOffset=offset, color=colour,
            tooltip=["candidate", "source", "clip_id", alt.Tooltip("value:Q", format=".4g")]))
    if gap:  # gap closed: 0 is bypass, 1 the target itself
        marks = pd.DataFrame({"x": [0.0, 1.0], "what": ["bypass (0)", "perfect (1)"]})
        layers.append(alt.Chart(marks).mark_rule(strokeDash=[4, 4], color="gray").encode(x="x:Q", tooltip=["what"]))
    rows_drawn = len(order) * max(1, stats["source"].nunique())
    return alt.layer(*layers).properties(height=max(160, 34 * rows_drawn))


def clip_table(rows: pd.DataFrame, metrics: list[str], order: list[str]) -> pd.DataFrame:
    """One clip's stored row per candidate: each metric's value and its gap closed, and any error."""
    table = pd.DataFrame(index=pd.Index([c for c in order if c in set(rows["candidate"])], name="candidate"))
    by_cand = rows.set_index("candidate")
    for name in metrics:
        table[name] = by_cand[f"metric:{name}"]
        if f"gap:{name}" in by_cand:
            table[f"gap closed: {name}"] = by_cand[f"gap:{name}"]
    table["error"] = by_cand["error"]
    return table


def number_columns(table: pd.DataFrame) -> dict:
    """Four significant digits for every numeric column (a distance of 1e-14 stays readable)."""
    return {c: st.column_config.NumberColumn(format="%.4g") for c in table.columns
            if pd.api.types.is_float_dtype(table[c])}


def _finite(value) -> float | None:
    try:
        value = float(value)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _fmt(value) -> str:
    return "—" if _finite(value) is None else f"{float(value):.5g}"


# --------------------------------------------------------------------------------------------------- page

st.title("Quality")
require_store()
runs = read("runs")
run_id = pick_run(runs, key="quality_run")
report = read("run_report", run_id)
task_reports: dict = report.get("tasks", {})
if not task_reports:
    st.info("This run has no task results to show (its report lists no task).")
    st.stop()

left, middle, right = st.columns(3)
task = left.selectbox("task", list(task_reports), key="quality_task")
task_report = task_reports[task]
rows = read("clip_results", run_id, task)
if rows.empty:
    st.info(f"No clip rows for {task} in this run.")
    st.stop()
rows = rows.assign(variant=rows["variant"].fillna(""))
metrics = metric_names(task_report, rows)
primary = task_report.get("primary_metric")
metric = middle.selectbox("metric", metrics, key="quality_metric", index=metrics.index(primary)
                          if primary in metrics else 0, format_func=lambda m: f"{m} (primary)" if m == primary else m)
has_gap = f"gap:{metric}" in rows and rows[f"gap:{metric}"].notna().any()
measure = right.radio("show", ["gap closed", "value"] if has_gap else ["value"], key="quality_measure",
                      horizontal=True, help="gap closed = 1 − d(output, target) / d(damaged input, target): 0 is no "
                                            "better than bypass, 1 is the target; value = the metric itself")
variants = sorted(v for v in rows["variant"].unique() if v)
variant_shown = ALL_VARIANTS
if variants:
    variant_shown = st.selectbox("variant", [ALL_VARIANTS, *variants], key="quality_variant")

# ---- distribution
column = f"gap:{metric}" if measure == "gap closed" else f"metric:{metric}"
order = candidate_order(task_report, rows)
shown = rows if variant_shown == ALL_VARIANTS else rows[rows["variant"] == variant_shown]
shown_order = [c for c in order if c in set(shown["candidate"])]  # a peer may take only some variants
failed = shown[shown["error"].notna()].groupby("candidate").size()
values = shown.loc[shown[column].notna(), ["candidate", "source", "clip_id", column]]
direction = "higher" if measure == "gap closed" else metric_direction(metric, task_report)
label = f"gap closed · {metric}" if measure == "gap closed" else metric
st.subheader(f"{task}: {label}")
if values.empty:
    st.info(f"No clip of {task} has a value of {label} in this run"
            + (" (gap closed is left out where the damage is below the metric's audible floor)." if has_gap else "."))
else:
    stats = box_stats(values, column)
    points, sampled = outliers(values, stats, column)
    st.altair_chart(box_chart(stats, points, label, shown_order, measure == "gap closed"), width="stretch")
    better = {"lower": "lower is better", "higher": "higher is better"}.get(direction or "", "a reading, not a score")
    st.caption(f"{better}. Boxes: quartiles with the median (black tick), whiskers to the furthest clip within "
               f"{WHISKER_IQR} interquartile ranges, clips beyond them as points. "
               f"{len(values):,} clip rows of {shown['clip_id'].nunique():,} clips"
               + (f" ({variant_shown})" if variant_shown != ALL_VARIANTS else "") + ".")
    if sampled:
        st.caption(f"Points beyond the whiskers are sampled: at most {OUTLIERS_PER_BOX} per box (the box and "
                   "whiskers use every clip).")
    if has_gap and measure == "gap closed":
        st.caption("Clips whose damage is below the metric's audible floor have no gap closed and are left out, as "
                   "in the report.")
    medians = median_table(values, column, shown_order, failed)
    st.dataframe(medians, key="quality_medians", column_config=number_columns(medians))
if len(failed):
    st.warning(f"{int(failed.sum())} clip rows failed and are not drawn: "
               + ", ".join(f"{c} ({n})" for c, n in failed.items()) + ". The run's report lists why.")

# ---- one clip
st.subheader("One clip")
clips = rows.drop_duplicates("clip_id").set_index("clip_id")["source"].sort_index()
pick_left, pick_right = st.columns(2)
clip_id = pick_left.selectbox("clip", list(clips.index), key="quality_clip",
                              format_func=lambda c: f"{c} ({clips[c]})")
clip_variant = ""
if variants:
    clip_variant = pick_right.selectbox("variant of this clip", variants, key="quality_clip_variant")
clip_rows = rows[(rows["clip_id"] == clip_id) & (rows["variant"] == clip_variant)]
if clip_rows.empty:
    st.info(f"No stored rows for {clip_id}" + (f" ({clip_variant})" if clip_variant else "") + ".")
    st.stop()
stored_table = clip_table(clip_rows, metrics, order)
st.dataframe(stored_table, key="quality_clip_table", column_config=number_columns(stored_table))
input_distances = {m: clip_rows[f"metric:input.{m}"].iloc[0] for m in metrics if f"metric:input.{m}" in clip_rows}
if input_distances:
    st.caption("The damaged input's own distances (bypass): "
               + ", ".join(f"{m} {_fmt(v)}" for m, v in input_distances.items()) + ".")

st.markdown("**Listen.** The store keeps scores, not audio: the clip is rebuilt from the run's corpus, each "
            f"candidate run again, and the first {excerpts.EXCERPT_SECONDS:g} s of each written to the cache at one "
            "loudness, with the primary metric recomputed to check that it is the audio that was scored.")
found = excerpts.cached_clip(run_id, task, clip_id, clip_variant or None)
if st.button("Render excerpts", key="quality_render"):
    # the check recomputes one distance: the primary metric (what the ranking uses), else the first distance
    check_metric = primary if primary in metrics else next((m for m in metrics if not m.startswith("output.")), metric)
    stored_row = clip_rows.set_index("candidate")
    with st.spinner(f"rebuilding {clip_id} …"):
        try:
            found = excerpts.render_clip(
                excerpts.run_source(db_path(), run_id), task, clip_id, clip_variant or None,
                [c for c in order if c in stored_row.index],
                {c: _finite(v) for c, v in stored_row[f"metric:{check_metric}"].items()}, check_metric,
                _finite(input_distances.get(check_metric)))
        except excerpts.RebuildError as exc:
            found = None
            st.warning(f"Not rebuilt: {exc}.")
        except Exception as exc:  # noqa: BLE001 - one line on the page, never a traceback
            found = None
            st.error(f"Rebuilding failed: {type(exc).__name__}: {exc}")

if found is None:
    st.caption("Press **Render excerpts** to rebuild this clip (a few seconds; needs the run's corpus in the cache).")
    st.stop()

# ---- the rebuilt clip
st.caption(f"Excerpts: the first {found.seconds:g} s, each at {found.listening_lufs:.1f} LUFS integrated (BS.1770)"
           + (" — lowered from the usual " f"{excerpts.LISTENING_LUFS:g} LUFS so that no excerpt clips"
              if found.listening_lufs < excerpts.LISTENING_LUFS - 1e-6 else "")
           + f"; cached in `{found.folder}`.")
for note in found.notes:
    st.warning(note)
checked = [t for t in found.tracks if t.check]
differs = [t for t in checked if t.check == "differs"]
if differs:
    st.warning(f"{len(differs)} of {len(checked)} rebuilt scores differ from the stored ones ({found.metric}): "
               + ", ".join(f"{t.name} stored {_fmt(t.stored)}, rebuilt {_fmt(t.rebuilt)}" for t in differs) + ".")
elif checked:
    st.success(f"Every rebuilt signal matches the stored score ({found.metric}, {len(checked)} checked).")

grid = st.columns(TRACK_COLUMNS)
for i, track in enumerate(found.tracks):
    with grid[i % TRACK_COLUMNS]:
        st.markdown(f"**{track.name}**")
        if track.file and Path(track.file).is_file():
            st.audio(Path(track.file).read_bytes(), format="audio/wav")
        gain = f"gain {track.gain_db:+.1f} dB" if track.gain_db is not None else ""
        check = {"matches": "matches the stored score", "differs": "differs from the stored score"}.get(track.check, "")
        st.caption(" · ".join(p for p in (track.note, gain, check) if p) or " ")

check_table = pd.DataFrame([{"signal": t.name, f"stored {found.metric}": t.stored,
                             f"rebuilt {found.metric}": t.rebuilt, "check": t.check or (t.note or "—")}
                            for t in found.tracks if t.kind in ("input", "candidate")])
st.dataframe(check_table, hide_index=True, key="quality_check_table", column_config=number_columns(check_table))

legend = alt.selection_point(fields=["track"], bind="legend")
track_order = [t.name for t in found.tracks]
spectra = pd.DataFrame(found.spectra)
curves = pd.DataFrame(found.loudness)
if not spectra.empty:
    st.altair_chart(alt.Chart(spectra, title="1/3-octave spectrum (after loudness matching)").mark_line().encode(
        x=alt.X("frequency_hz:Q", scale=alt.Scale(type="log", domain=[20, 20000], nice=False), title="frequency (Hz)"),
        y=alt.Y("level_db:Q", title="band level (dB re full-scale sine)", scale=alt.Scale(zero=False)),
        color=alt.Color("track:N", sort=track_order, title=None),
        opacity=alt.condition(legend, alt.value(1.0), alt.value(0.12)),
        tooltip=["track", "frequency_hz", alt.Tooltip("level_db:Q", format=".1f")]).add_params(legend),
        width="stretch")
if not curves.empty:
    st.altair_chart(alt.Chart(curves, title="momentary loudness (400 ms windows)").mark_line().encode(
        x=alt.X("time_s:Q", title="time (s, end of window)"),
        y=alt.Y("lufs:Q", title="LUFS", scale=alt.Scale(zero=False)),
        color=alt.Color("track:N", sort=track_order, title=None),
        opacity=alt.condition(legend, alt.value(1.0), alt.value(0.12)),
        tooltip=["track", "time_s", alt.Tooltip("lufs:Q", format=".1f")]).add_params(legend),
        width="stretch")

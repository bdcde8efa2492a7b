"""The owner's plan (dawg-ml-plan.md) claim by claim, beside what DAWG Bench measured: one `Promise` each,
with the method and a verdict. Pure functions over the store's tables and pricing's results: no Streamlit,
no file reads except the model files' sizes, so each verdict rule is unit-tested on hand-built inputs.

Verdicts (one colour each, the same everywhere on the dashboard):

- holds / does not hold: measured by the harness on this run's clips or on real hardware;
- holds (projected) / does not hold (projected): only a projection (a device model for a GPU that is not
  here) speaks to it; a projection is never reported as a measurement;
- not measurable yet: nothing the harness runs can measure it (a listening test, a preference study,
  real revenue), or the measurement cannot decide (a CI that contains the bar); `why` says which.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

import pandas as pd

MODEL_PREFIX = "model:"
BOUNDS = ("bypass", "oracle")
# The plan's bars
MASTERING_PRO_SHARE = (0.70, 0.85)  # "AI mastering: 70-85% of pro quality"
HEURISTICS_PRO_SHARE = (0.50, 0.60)  # "Your heuristics: 50-60% of pro quality"
INT8_CLAIMED_RATIO = 4.0  # "4x smaller, 4x faster"
# A claimed "4x" is written to one digit: a measured ratio that rounds to 4 (≥ 3.5) meets it.
RATIO_ROUNDING = 0.5
LATENCY_BAR_MS = 100.0  # "< 100ms inference latency"
PREFERENCE_SHARE = 0.70  # "70% of users prefer ML version"
ROI_CLAIMED = 59.0  # "ROI: $40,000 / $673 = 59x return"
# The plan's budgets and the presets (pricing/presets/) that price the same setups.
POC_BUDGET = ("proof of concept", Decimal(650), "one-time", "poc")
PRODUCTION_BUDGET = ("full production", Decimal(1800), "month", "option-3-production")
SAVINGS_PLAN_SUFFIX = ".savings-plan-1yr"


class Verdict(StrEnum):
    HOLDS = "holds"
    HOLDS_PROJECTED = "holds (projected)"
    FAILS = "does not hold"
    FAILS_PROJECTED = "does not hold (projected)"
    NOT_MEASURABLE = "not measurable yet"


# Streamlit's named colours (markdown `:green[...]`, badges) and the same as hex for tables and charts.
VERDICT_COLOUR = {Verdict.HOLDS: "green", Verdict.HOLDS_PROJECTED: "orange", Verdict.FAILS: "red",
                  Verdict.FAILS_PROJECTED: "orange", Verdict.NOT_MEASURABLE: "gray"}
VERDICT_HEX = {"green": "#2e7d32", "orange": "#ef6c00", "red": "#c62828", "gray": "#757575"}


@dataclass(frozen=True)
class Promise:
    """One claim of the plan. `proxy` is a stand-in measurement shown for context, labelled as such: a
    verdict never rests on it."""
    key: str
    claim: str
    plan_lines: tuple[int, ...]
    plan_text: str
    measured: str
    method: str
    verdict: Verdict
    why: str
    proxy: str = ""

    @property
    def colour(self) -> str:
        return VERDICT_COLOUR[self.verdict]


# The seven claims, in the order: key, the claim in short, the plan's own words (to find its lines).
CLAIMS: tuple[tuple[str, str, tuple[str, ...]], ...] = (
    ("mastering-quality", "AI mastering: 70–85 % of pro quality; heuristics: 50–60 %",
     ("AI mastering: 70-85% of pro quality", "Your heuristics: 50-60% of pro quality")),
    ("quality-score", "Quality 6.5/10 → 9.2/10", ("Overall: 6.5/10 → 9.2/10",)),
    ("int8", "INT8: 4x smaller, 4x faster", ("Quantize to INT8 (4x smaller, 4x faster)",)),
    ("latency", "< 100 ms inference latency", ("< 100ms inference latency",)),
    ("preference", "70 % of users prefer the ML version", ("70% of users prefer ML version",)),
    ("roi", "ROI 59x", ("= **59x return**",)),
    ("budgets", "Budgets: $650 (proof of concept) and $1,800 a month (production)",
     ("**Budget:** $650", "**Monthly Budget:** $1,800")),
)
LIST_MARK = re.compile(r"^(?:[-*+]\s+|\d+\.\s+)")  # a Markdown list item's marker, not the plan's words
CLAIM = {key: (claim, needles) for key, claim, needles in CLAIMS}


def plan_source(plan_text: str, needles: Sequence[str]) -> tuple[tuple[int, ...], str]:
    """The 1-based line of each needle's first occurrence in the plan, and those lines' words (without the list
    marker and bold marks; joined by ' · '); a needle the plan no longer has is skipped."""
    lines = plan_text.splitlines()
    found = []
    for needle in needles:
        hit = next((i for i, line in enumerate(lines) if needle in line), None)
        if hit is not None:
            found.append((hit + 1, LIST_MARK.sub("", lines[hit].strip()).replace("**", "")))
    return tuple(n for n, _ in found), " · ".join(text for _, text in found)


def promise(key: str, plan_text: str, *, measured: str, method: str, verdict: Verdict, why: str,
            proxy: str = "") -> Promise:
    claim, needles = CLAIM[key]
    lines, text = plan_source(plan_text, needles)
    return Promise(key, claim, lines, text, measured, method, verdict, why, proxy)


# ─── formatting ─────────────────────────────────────────────────────────────────────────────────


def percent(share: float | None, digits: int = 1) -> str:
    """A share (0.352) as '35.2 %'; None or NaN as '—'."""
    if share is None or (isinstance(share, float) and math.isnan(share)):
        return "—"
    return f"{share * 100:.{digits}f} %"


def gap_text(median: float, lo: float, hi: float) -> str:
    """'35 % [24, 39]': a gap-closed median and its 95 % CI, in percent."""
    if any(pd.isna(x) for x in (lo, hi)):
        return f"{percent(median, 0)} [CI —]"
    return f"{percent(median, 0)} [{lo * 100:.0f}, {hi * 100:.0f}]"


def usd(value: Decimal | float) -> str:
    """'$1,439.41': to the cent, half up (as pricing.model.usd_text rounds)."""
    return f"${Decimal(str(value)).quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,}"


def combine(verdicts: Iterable[Verdict]) -> Verdict:
    """Several parts of one claim: any part that fails fails it; it holds only when every part holds."""
    verdicts = list(verdicts)
    for v in (Verdict.FAILS, Verdict.FAILS_PROJECTED):
        if v in verdicts:
            return v
    if verdicts and all(v == Verdict.HOLDS for v in verdicts):
        return Verdict.HOLDS
    if verdicts and all(v in (Verdict.HOLDS, Verdict.HOLDS_PROJECTED) for v in verdicts):
        return Verdict.HOLDS_PROJECTED
    return Verdict.NOT_MEASURABLE


# ─── quality: best model per task, the comparison table ───────────────────────────────────────────


def candidate_kind(name: str, kinds: Mapping[str, str] | None = None) -> str:
    """model · baseline · peer · bound: the run report's kind, else read from the name."""
    if kinds and name in kinds:
        return kinds[name]
    if name.startswith(MODEL_PREFIX):
        return "model"
    return "bound" if name in BOUNDS else "baseline"


def release_of(candidate: str) -> str | None:
    """'model:eq-v1@int8' → 'eq-v1'."""
    if not candidate.startswith(MODEL_PREFIX):
        return None
    return candidate[len(MODEL_PREFIX):].rsplit("@", 1)[0]


def _primary_rows(aggregates: pd.DataFrame, task: str, metric: str) -> pd.DataFrame:
    return aggregates[(aggregates["task"] == task) & (aggregates["metric"] == metric)]


def _overall_source(rows: pd.DataFrame) -> str | None:
    """'all' when the run aggregated over every source, else the source with the most clips."""
    if rows.empty:
        return None
    if (rows["source"] == "all").any():
        return "all"
    return str(rows.groupby("source")["n"].max().idxmax())


def best_model(aggregates: pd.DataFrame, task: str, metric: str) -> str | None:
    """The model candidate (`model:<release>@<precision>`) with the highest median gap closed on the task's
    primary metric over all clips of the run (source 'all'); ties go to the first name. None: no model."""
    rows = _primary_rows(aggregates, task, metric)
    rows = rows[rows["candidate"].str.startswith(MODEL_PREFIX) & rows["gap_median"].notna()]
    source = _overall_source(rows)
    if source is None:
        return None
    rows = rows[rows["source"] == source].sort_values(["gap_median", "candidate"], ascending=[False, True])
    return str(rows["candidate"].iloc[0])


def comparison(aggregates: pd.DataFrame, task: str, metric: str, best: str,
               kinds: Mapping[str, str] | None = None) -> pd.DataFrame:
    """The best model and every baseline and peer on the task's primary metric, per source (generated and
    recorded apart; 'all' only when the run has neither): gap closed median and CI, share worse than bypass.
    Bypass and oracle are left out: they close 0 and 1 of the gap by definition."""
    rows = _primary_rows(aggregates, task, metric).copy()
    rows["kind"] = [candidate_kind(c, kinds) for c in rows["candidate"]]
    rows = rows[(rows["candidate"] == best) | rows["kind"].isin(["baseline", "peer"])]
    split = rows[rows["source"].isin(["generated", "recorded"])]
    rows = split if not split.empty else rows
    rows["role"] = ["best model" if c == best else k for c, k in zip(rows["candidate"], rows["kind"], strict=True)]
    order = {"best model": 0, "baseline": 1, "peer": 2}
    rows = rows.assign(_o=rows["role"].map(order)).sort_values(["source", "_o", "gap_median"],
                                                               ascending=[True, True, False])
    return rows[["source", "candidate", "role", "gap_median", "gap_ci_lo", "gap_ci_hi", "worse_than_bypass",
                 "n"]].reset_index(drop=True)


def _source_row(aggregates: pd.DataFrame, task: str, metric: str, candidate: str, source: str) -> pd.Series | None:
    rows = _primary_rows(aggregates, task, metric)
    rows = rows[(rows["candidate"] == candidate) & (rows["source"] == source)]
    return None if rows.empty else rows.iloc[0]


def _scored_sources(aggregates: pd.DataFrame, task: str, metric: str, candidate: str) -> list[str]:
    rows = _primary_rows(aggregates, task, metric)
    have = set(rows.loc[rows["candidate"] == candidate, "source"])
    split = [s for s in ("generated", "recorded") if s in have]
    return split or sorted(have)


# ─── 1. mastering: 70-85 % of pro quality ─────────────────────────────────────────────────────────


def mastering_quality(plan_text: str, aggregates: pd.DataFrame, metric: str | None, task: str = "mastering"
                      ) -> Promise:
    """Gap closed on the mastering task, oracle (the reference master) = pro quality = 100 %, bypass = 0 %.
    Holds when, on every source the run scored (generated, recorded), the best model's 95 % CI lies at or
    above 70 %; does not hold when on some source it lies entirely below; otherwise the run cannot decide."""
    low, high = MASTERING_PRO_SHARE
    method = (f"gap closed on the {task} task's primary metric ({metric or '—'}): 0 % = bypass (the input as it "
              "is), 100 % = oracle (the reference master, standing for 'pro quality'); per-clip median with its "
              f"95 % CI, generated and recorded clips apart. Holds when every source's CI lies at or above "
              f"{low:.0%}; the best model is the model candidate with the highest median over all clips.")
    best = best_model(aggregates, task, metric) if metric else None
    if best is None:
        return promise("mastering-quality", plan_text, measured=f"no model scored on the {task} task in this run",
                       method=method, verdict=Verdict.NOT_MEASURABLE,
                       why=f"this run has no {task} model (train one with `dawg-bench train {task}` and score it "
                           "with `dawg-bench run`)")
    parts, verdicts, reasons, medians = [], [], [], []
    for source in _scored_sources(aggregates, task, metric, best):
        row = _source_row(aggregates, task, metric, best, source)
        rules = _source_row(aggregates, task, metric, "rules", source)
        rules_text = f"; rules {percent(rules['gap_median'], 0)}" if rules is not None else ""
        parts.append(f"{source}: {gap_text(row['gap_median'], row['gap_ci_lo'], row['gap_ci_hi'])}{rules_text}")
        medians.append(row["gap_median"])
        lo, hi = row["gap_ci_lo"], row["gap_ci_hi"]
        if pd.notna(lo) and lo >= low:
            verdicts.append(Verdict.HOLDS)
        elif pd.notna(hi) and hi < low:
            verdicts.append(Verdict.FAILS)
            reasons.append(f"on {source} clips the CI lies below {low:.0%} (upper end {percent(hi, 0)})")
        else:
            verdicts.append(Verdict.NOT_MEASURABLE)
            reasons.append(f"on {source} clips the CI contains {low:.0%}: more clips are needed to decide")
    verdict = combine(verdicts)
    why = "; ".join(reasons) if reasons else f"at or above {low:.0%} on every source"
    if verdict == Verdict.HOLDS and min(medians) > high:
        why += f" (above the plan's {high:.0%} too: better than promised)"
    overall = _overall_source(_primary_rows(aggregates, task, metric))
    rules_all = _source_row(aggregates, task, metric, "rules", overall) if overall else None
    if rules_all is not None:  # the plan's second figure: context, not part of the verdict
        h_lo, h_hi = HEURISTICS_PRO_SHARE
        inside = h_lo <= rules_all["gap_median"] <= h_hi
        why += (f". The plan's heuristics figure ({h_lo:.0%}–{h_hi:.0%}): the rules close "
                f"{percent(rules_all['gap_median'], 0)} over all clips ({'inside' if inside else 'outside'} it)")
    return promise("mastering-quality", plan_text, measured=f"{best}: " + " · ".join(parts), method=method,
                   verdict=verdict, why=why)


# ─── 2. quality 6.5/10 → 9.2/10 ───────────────────────────────────────────────────────────────────


def quality_score(plan_text: str, best_gaps: Mapping[str, tuple[str, float]]) -> Promise:
    """Always 'not measurable yet': a 1-10 quality score needs people rating audio. `best_gaps` (task →
    (best model, its median gap closed over all clips)) is shown as a proxy, labelled as one."""
    proxy = ""
    if best_gaps:
        per_task = [f"{task} {percent(gap, 0)} ({model})" for task, (model, gap) in sorted(best_gaps.items())]
        proxy = "proxy, not a 1–10 score: median gap closed of the best model per task — " + " · ".join(per_task)
    return promise("quality-score", plan_text, measured="no listening test has been run",
                   method="a score out of 10 needs a listening test (listeners rating the plugins' outputs, e.g. "
                          "MUSHRA); the harness measures distances to a target, and no validated mapping turns "
                          "them into a 1–10 rating",
                   verdict=Verdict.NOT_MEASURABLE,
                   why="needs a listening test with people; the plan's 6.5 and 9.2 are themselves estimates, "
                       "not measurements", proxy=proxy)


# ─── 3. INT8: 4x smaller, 4x faster ──────────────────────────────────────────────────────────────


@dataclass(frozen=True)
class ModelSize:
    release: str
    fp32_bytes: int
    int8_bytes: int
    source: str  # where the sizes come from: the registry's files, or the browser latency rows

    @property
    def ratio(self) -> float:
        return self.fp32_bytes / self.int8_bytes


def sizes_from_releases(releases: Iterable[Any], names: Iterable[str] | None = None) -> list[ModelSize]:
    """FP32 and INT8 file sizes of registry releases (harness.models.Release) that have both files on this
    machine; `names` limits them to the releases a run scored."""
    wanted = set(names) if names is not None else None
    out = []
    for release in releases:
        if wanted is not None and release.name not in wanted:
            continue
        if not {"fp32", "int8"} <= set(release.files):
            continue
        try:
            fp32 = Path(release.path("fp32")).stat().st_size
            int8 = Path(release.path("int8")).stat().st_size
        except OSError:
            continue
        if int8 > 0:
            out.append(ModelSize(release.name, fp32, int8, f"registry files ({Path(release.folder).name})"))
    return out


def sizes_from_latencies(latencies: pd.DataFrame) -> list[ModelSize]:
    """The model file sizes the browser latency rows recorded when they served each file (`model_bytes.raw`)."""
    found: dict[tuple[str, str], int] = {}
    for row in latencies.itertuples():
        info = row.assumptions if isinstance(row.assumptions, dict) else {}
        raw = ((info.get("browser") or {}).get("model_bytes") or {}).get("raw")
        if isinstance(raw, int | float) and raw > 0:
            found[(row.model, row.precision)] = int(raw)
    return [ModelSize(model, found[(model, "fp32")], found[(model, "int8")], "browser latency rows (model_bytes)")
            for model in sorted({m for m, _ in found}) if (model, "fp32") in found and (model, "int8") in found]


def latest_latencies(latencies: pd.DataFrame) -> pd.DataFrame:
    """Valid rows only, the newest of each (model, precision, hardware, source, scope, threads)."""
    if latencies.empty:
        return latencies
    rows = latencies[latencies["valid"].fillna(0).astype(int) == 1]
    keys = ["model", "precision", "hardware", "source", "scope", "threads"]
    rows = rows.assign(threads=rows["threads"].fillna(-1)).sort_values("recorded_at")
    rows = rows.drop_duplicates(keys, keep="last")
    return rows.assign(threads=rows["threads"].where(rows["threads"] >= 0)).reset_index(drop=True)


def int8_speedups(latencies: pd.DataFrame) -> pd.DataFrame:
    """FP32 p50 / INT8 p50 for every (model, hardware, scope, threads) measured at both precisions; measured
    rows only (a projection of INT8 is not a measurement of it)."""
    columns = ["model", "hardware", "scope", "threads", "fp32_p50_ms", "int8_p50_ms", "speedup"]
    rows = latest_latencies(latencies)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    rows = rows[(rows["source"] == "measured") & rows["p50_ms"].notna() & (rows["p50_ms"] > 0)]
    rows = rows.assign(threads=rows["threads"].fillna(-1))
    keys = ["model", "hardware", "scope", "threads"]
    fp32 = rows[rows["precision"] == "fp32"][keys + ["p50_ms"]].rename(columns={"p50_ms": "fp32_p50_ms"})
    int8 = rows[rows["precision"] == "int8"][keys + ["p50_ms"]].rename(columns={"p50_ms": "int8_p50_ms"})
    pairs = fp32.merge(int8, on=keys)
    pairs["speedup"] = pairs["fp32_p50_ms"] / pairs["int8_p50_ms"]
    pairs["threads"] = pairs["threads"].where(pairs["threads"] >= 0)
    return pairs[columns].sort_values(keys).reset_index(drop=True)


def _ratio_verdict(ratios: Sequence[float]) -> Verdict:
    """The median ratio against the claimed 4x, as the plan rounds: ≥ 3.5 holds."""
    if not len(ratios):
        return Verdict.NOT_MEASURABLE
    median = float(pd.Series(ratios).median())
    return Verdict.HOLDS if median >= INT8_CLAIMED_RATIO - RATIO_ROUNDING else Verdict.FAILS


def _range(ratios: Sequence[float]) -> str:
    s = pd.Series(ratios)
    return f"median {s.median():.2f}x (range {s.min():.2f}–{s.max():.2f}x, {len(s)})"


def int8_claim(plan_text: str, sizes: Sequence[ModelSize], speedups: pd.DataFrame) -> Promise:
    """Smaller: FP32 / INT8 file size per release. Faster: FP32 / INT8 p50 of measured rows at the same
    hardware, scope and threads; the verdict rests on the controller scope (the model alone, what
    quantisation changes: features and DSP around it run the same at either precision) when it was measured."""
    measured, verdicts, why = [], [], []
    if sizes:
        size_verdict = _ratio_verdict([s.ratio for s in sizes])
        measured.append("smaller: " + _range([s.ratio for s in sizes]) + " — "
                        + ", ".join(f"{s.release} {s.fp32_bytes / 1024:.0f} → {s.int8_bytes / 1024:.0f} KiB"
                                    for s in sizes))
        why.append(f"size {size_verdict}: " + ("the files shrink about 4x" if size_verdict == Verdict.HOLDS else
                   "INT8 weights are 4x smaller, but the graph, biases and quantisation scales are not"))
    else:
        size_verdict = Verdict.NOT_MEASURABLE
        measured.append("smaller: not measured here (no release with both files in this machine's model "
                        "registry, and no browser latency rows recording the files' sizes)")
        why.append("size not measurable yet: the model files are not on this machine")
    verdicts.append(size_verdict)
    basis = speedups[speedups["scope"] == "controller"] if (speedups["scope"] == "controller").any() else speedups
    speed_verdict = _ratio_verdict(list(basis["speedup"]))
    if len(basis):
        parts = []
        for hardware, group in basis.groupby("hardware"):
            parts.append(f"{hardware} {_range(list(group['speedup']))}")
        scope = basis["scope"].iloc[0] if basis["scope"].nunique() == 1 else "every"
        measured.append(f"faster ({scope} scope, p50 FP32 / INT8): " + "; ".join(parts))
        slower = (basis["speedup"] < 1).mean()
        why.append(f"speed {speed_verdict}" + (f": INT8 is slower than FP32 in {slower:.0%} of the measured pairs"
                                               if slower > 0 else ""))
    else:
        measured.append("faster: no model measured at both precisions on the same hardware")
        why.append("speed not measurable yet: `dawg-bench latency` measures FP32 and INT8")
    verdicts.append(speed_verdict)
    method = ("file size FP32 / INT8 per release; speed: p50 latency FP32 / INT8 from measured rows only (the "
              "same model, hardware, scope and threads), the verdict on the controller scope (the ONNX model "
              f"alone); the median ratio meets '4x' when it rounds to 4 (≥ {INT8_CLAIMED_RATIO - RATIO_ROUNDING}x)")
    return promise("int8", plan_text, measured=" · ".join(measured), method=method, verdict=combine(verdicts),
                   why="; ".join(why))


# ─── 4. < 100 ms inference latency ───────────────────────────────────────────────────────────────


def latency_cells(latencies: pd.DataFrame) -> pd.DataFrame:
    """p95 per hardware target and scope, measured and projected apart. Each model counts in its fastest
    measured configuration (precision, threads: what a release would ship with); the cell shows the slowest
    model. A projected row has no percentiles: its band's upper edge stands for p95 (as the release gate
    reads it), and it is dropped where the same target and scope were measured (a method check, not a target)."""
    columns = ["hardware", "scope", "source", "p95_ms", "model", "precision", "threads", "models", "under_bar"]
    rows = latest_latencies(latencies)
    if rows.empty:
        return pd.DataFrame(columns=columns)
    high = rows["projected_high_ms"].fillna(rows["projected_ms"]) if "projected_high_ms" in rows else None
    value = rows["p95_ms"].where(rows["source"] == "measured", high)
    rows = rows.assign(value=value)
    rows = rows[rows["value"].notna()]
    measured = set(zip(rows.loc[rows["source"] == "measured", "hardware"],
                       rows.loc[rows["source"] == "measured", "scope"], strict=True))
    keep = [(s == "measured") or ((h, sc) not in measured)
            for h, sc, s in zip(rows["hardware"], rows["scope"], rows["source"], strict=True)]
    rows = rows[keep]
    if rows.empty:
        return pd.DataFrame(columns=columns)
    fastest = rows.loc[rows.groupby(["hardware", "scope", "source", "model"])["value"].idxmin()]
    worst = fastest.loc[fastest.groupby(["hardware", "scope", "source"])["value"].idxmax()]
    counts = fastest.groupby(["hardware", "scope", "source"])["model"].nunique()
    out = worst.assign(models=[counts[(h, sc, s)] for h, sc, s in zip(worst["hardware"], worst["scope"],
                                                                       worst["source"], strict=True)],
                       p95_ms=worst["value"], under_bar=worst["value"] < LATENCY_BAR_MS)
    return out[columns].sort_values(["source", "hardware", "scope"]).reset_index(drop=True)


def _cell(row: Any) -> str:
    label = "MEASURED" if row.source == "measured" else "PROJECTED"
    return f"{row.hardware} {row.scope} {row.p95_ms:.3g} ms ({label}, {row.model})"


def latency_claim(plan_text: str, cells: pd.DataFrame) -> Promise:
    """Holds where measured: every measured cell's p95 under 100 ms. With no measured cell, the projected
    cells give 'holds (projected)' / 'does not hold (projected)'. One measured cell over the bar fails it."""
    method = ("p95 per hardware target and scope from the latency rows; each model in its fastest measured "
              "configuration, the slowest model shown; measured rows are the verdict's basis, projected rows "
              "(a device model for hardware that is not here; the band's upper edge) only where nothing was "
              f"measured. Bar: p95 < {LATENCY_BAR_MS:.0f} ms")
    if cells.empty:
        return promise("latency", plan_text, measured="no latency rows for these models", method=method,
                       verdict=Verdict.NOT_MEASURABLE, why="not measured yet: run `dawg-bench latency`")
    measured = cells[cells["source"] == "measured"]
    projected = cells[cells["source"] == "projected"]
    text = " · ".join(_cell(r) for r in cells.itertuples())
    over_measured = measured[~measured["under_bar"].astype(bool)]
    over_projected = projected[~projected["under_bar"].astype(bool)]
    projected_note = ""
    if not projected.empty:
        over = ", ".join(_cell(r) for r in over_projected.itertuples())
        projected_note = (f"; projected only on {', '.join(sorted(set(projected['hardware'])))}: "
                          + (f"over the bar as projected on {over}" if over else "under the bar as projected"))
    if not over_measured.empty:
        verdict = Verdict.FAILS
        why = "measured over 100 ms on " + ", ".join(_cell(r) for r in over_measured.itertuples()) + projected_note
    elif not measured.empty:
        verdict = Verdict.HOLDS
        why = ("measured under 100 ms on " + ", ".join(sorted(set(measured["hardware"])))) + projected_note
    elif not over_projected.empty:
        verdict = Verdict.FAILS_PROJECTED
        why = "nothing measured; the projections exceed 100 ms" + projected_note
    else:
        verdict = Verdict.HOLDS_PROJECTED
        why = "nothing measured on these targets; the projections stay under 100 ms" + projected_note
    return promise("latency", plan_text, measured=text, method=method, verdict=verdict, why=why)


# ─── 5. 70 % of users prefer the ML version ───────────────────────────────────────────────────────


@dataclass(frozen=True)
class PairedShare:
    task: str
    model: str
    rival: str
    wins: int  # clips where the model's output is closer to the target than the rival's
    ties: int
    n: int  # clips both scored

    @property
    def share(self) -> float:
        return self.wins / self.n if self.n else float("nan")


def paired_share(values: pd.DataFrame, task: str, model: str, rival: str, direction: str = "lower") -> PairedShare:
    """Per clip (variant, clip_id), is the model's primary metric better than the rival's? `values` has
    columns variant, clip_id, candidate, value; clips where either failed (NaN) are left out."""
    both = values[values["candidate"].isin([model, rival])].dropna(subset=["value"])
    wide = both.pivot_table(index=["variant", "clip_id"], columns="candidate", values="value", aggfunc="first")
    if model not in wide or rival not in wide:
        return PairedShare(task, model, rival, 0, 0, 0)
    wide = wide.dropna(subset=[model, rival])
    better = wide[model] < wide[rival] if direction == "lower" else wide[model] > wide[rival]
    ties = int((wide[model] == wide[rival]).sum())
    return PairedShare(task, model, rival, int(better.sum()), ties, len(wide))


def preference(plan_text: str, shares: Sequence[PairedShare]) -> Promise:
    """Always 'not measurable yet': a preference needs listeners. The paired per-clip share is a proxy."""
    shares = [s for s in shares if s.n]
    proxy = ""
    if shares:
        proxy = ("proxy, not a preference: share of clips where the best model's output is closer to the target "
                 "than the rules' (primary metric, paired per clip) — "
                 + " · ".join(f"{s.task} {percent(s.share, 0)} of {s.n} ({s.model})" for s in shares)
                 + f"; the plan's bar is {PREFERENCE_SHARE:.0%} of users")
    return promise("preference", plan_text, measured="no preference study (A/B test with users) has been run",
                   method="a share of users preferring one version needs an A/B test or a listening study; "
                          "closer to a target is not the same as preferred",
                   verdict=Verdict.NOT_MEASURABLE,
                   why="needs users (the plan's Phase 1 A/B test with 1,000 users)", proxy=proxy)


# ─── 6. ROI 59x ─────────────────────────────────────────────────────────────────────────────────


def _x(value: Any) -> str:
    return "—" if value is None else f"{float(value):.1f}x"


def roi_claim(plan_text: str, report: Mapping[str, Any], audit_row: Mapping[str, Any] | None = None) -> Promise:
    """`report` is pricing.roi.roi_report(...) (what `dawg-bench cost roi` prints). Not measurable yet: the
    multiple rests on an assumed +20 % user growth, which no benchmark measures; the modelled figures are shown."""
    inputs = report.get("inputs", {})
    mc = report.get("monte_carlo") or {}
    gross = mc.get("gross_roi") or {}
    measured = (f"the plan's arithmetic (one month of full uplift revenue / monthly cost): "
                f"{_x(report.get('plan_style_multiple'))}; over {inputs.get('months', '—')} months with a "
                f"{inputs.get('ramp_months', '—')}-month ramp, {percent(inputs.get('churn'), 0)} monthly churn and "
                f"the one-time cost: {_x(report.get('gross_roi_multiple'))} gross, "
                f"{_x(report.get('net_roi_multiple'))} net")
    if gross:
        measured += (f"; Monte Carlo ({mc.get('draws', 0):,} draws, seed {mc.get('seed')}) gross ROI P10 "
                     f"{_x(gross.get('p10'))} · P50 {_x(gross.get('p50'))} · P90 {_x(gross.get('p90'))}")
    why = (f"an ROI needs measured revenue: the {percent(inputs.get('uplift'), 0)} user growth it rests on is "
           "assumed, not measured")
    p90 = gross.get("p90")
    if p90 is not None and float(p90) < ROI_CLAIMED:
        why += f"; even the modelled P90 ({_x(p90)}) is below {ROI_CLAIMED:.0f}x"
    if audit_row:
        why += f"; plan audit: {audit_row.get('verdict')} — {audit_row.get('reason')}"
    return promise("roi", plan_text, measured=measured,
                   method="pricing.roi (`dawg-bench cost roi`, inputs pricing/roi/plan.toml: the plan's figures, "
                          "ramp, churn and uncertainty ranges as data) and the plan audit (`dawg-bench cost seed`)",
                   verdict=Verdict.NOT_MEASURABLE, why=why)


# ─── 7. budgets: $650 and $1,800 a month ──────────────────────────────────────────────────────────


@dataclass(frozen=True)
class PresetCost:
    preset: str
    pricing: str  # "On-Demand" or "1-year Savings Plan"
    priced_usd: Decimal  # every line with a quantity
    unpriced: tuple[str, ...]  # components whose usage the preset does not give ("depends on usage")


@dataclass(frozen=True)
class BudgetCheck:
    label: str
    budget_usd: Decimal
    period: str  # month | one-time
    costs: tuple[PresetCost, ...]


def preset_cost(breakdown: Any, pricing: str = "On-Demand") -> PresetCost:
    """A pricing.model.Breakdown summed: the priced lines, and the components that depend on usage."""
    return PresetCost(breakdown.preset, pricing, breakdown.total_usd,
                      tuple(f"{line.resource}/{line.component}" for line in breakdown.depends_on_usage))


def with_savings_plan(catalog: Any, preset: Any) -> Any | None:
    """The preset with each On-Demand item that has a 1-year Savings Plan price in the catalogue
    (`<sku>.savings-plan-1yr`) priced at it instead (the plan budgets with Savings Plans); None: none has one."""
    swapped = False
    resources = []
    for resource in preset.resources:
        components = []
        for usage in resource.components:
            plan_sku = usage.sku + SAVINGS_PLAN_SUFFIX
            if plan_sku in catalog.items:
                usage = usage.model_copy(update={"sku": plan_sku})
                swapped = True
            components.append(usage)
        resources.append(resource.model_copy(update={"components": tuple(components)}))
    return preset.model_copy(update={"resources": tuple(resources)}) if swapped else None


def budget_verdict(check: BudgetCheck) -> tuple[Verdict, str]:
    """The cheapest pricing decides: over the budget on its priced lines alone → does not hold; within it with
    every component priced → holds; within it but with components the plan gives no usage for → not measurable."""
    if not check.costs:
        return Verdict.NOT_MEASURABLE, f"{check.label}: no preset prices it"
    cheapest = min(check.costs, key=lambda c: c.priced_usd)
    if cheapest.priced_usd > check.budget_usd:
        over = cheapest.priced_usd - check.budget_usd
        return Verdict.FAILS, (f"{check.label}: {cheapest.preset} ({cheapest.pricing}) costs "
                               f"{usd(cheapest.priced_usd)} on its priced lines alone, {usd(over)} over "
                               f"{usd(check.budget_usd)}")
    if not cheapest.unpriced:
        return Verdict.HOLDS, (f"{check.label}: {cheapest.preset} ({cheapest.pricing}) {usd(cheapest.priced_usd)} "
                               f"within {usd(check.budget_usd)}")
    left = check.budget_usd - cheapest.priced_usd
    return Verdict.NOT_MEASURABLE, (f"{check.label}: {cheapest.preset} ({cheapest.pricing}) {usd(cheapest.priced_usd)}"
                                    f" leaves {usd(left)} of {usd(check.budget_usd)} for "
                                    f"{len(cheapest.unpriced)} component(s) whose usage the plan does not give "
                                    f"({', '.join(cheapest.unpriced)})")


def budgets_claim(plan_text: str, checks: Sequence[BudgetCheck], catalogue: str = "") -> Promise:
    verdicts, reasons, measured = [], [], []
    for check in checks:
        verdict, reason = budget_verdict(check)
        verdicts.append(verdict)
        reasons.append(f"{verdict}: {reason}")
        per = "a month" if check.period == "month" else "one-time"
        costs = "; ".join(f"{c.preset} {c.pricing} {usd(c.priced_usd)}"
                          + (f" + {len(c.unpriced)} depending on usage" if c.unpriced else "") for c in check.costs)
        measured.append(f"{check.label} ({usd(check.budget_usd)} {per}): {costs or 'not priced'}")
    method = ("pricing.breakdown(load_catalog(), load_preset(...))" + (f" on {catalogue}" if catalogue else "")
              + f": {POC_BUDGET[0]} = preset {POC_BUDGET[3]}, {PRODUCTION_BUDGET[0]} = preset {PRODUCTION_BUDGET[3]}"
              " (the plan's Option 3); On-Demand, and with a 1-year Savings Plan where the catalogue has one (the "
              "plan budgets with Savings Plans). The cheapest decides; a component without a usage figure is never "
              "counted as $0")
    return promise("budgets", plan_text, measured=" · ".join(measured), method=method, verdict=combine(verdicts),
                   why="; ".join(reasons))


def summary_table(promises: Sequence[Promise]) -> pd.DataFrame:
    """One row per claim: what the Overview's promises table shows."""
    return pd.DataFrame({
        "claim": [p.claim for p in promises],
        "plan line": [", ".join(str(n) for n in p.plan_lines) or "—" for p in promises],
        "verdict": [str(p.verdict) for p in promises],
        "measured": [p.measured for p in promises],
        "why": [p.why for p in promises],
    })

"""The gate's bar kinds: one function each, in one registry (adding a kind is one entry).

Every kind fails closed: missing data is a failing verdict that says what is missing. Each kind
declares the fields a bar of it needs; the suite schema checks them when the suite loads. Kinds
that compare candidates read the metric's direction from the metric registry, and their
statistics resample clusters (clips sharing source material), as the report does.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.metrics import get_metric
from harness.registry import Registry
from harness.stats import bootstrap_ci, paired_difference_ci, percentile_nearest_rank
from harness.verdict import Gated, Verdict


@dataclass(frozen=True)
class Evidence:
    """What a bar judges: one task of one gated candidate, in one complete run."""

    suite: Any  # harness.suite_schema.Suite
    task: str
    gated: Gated
    run_id: str
    rows: list[dict]  # every clip result of the run
    report: dict
    latencies: list[dict]  # every stored latency row, oldest first
    previous: Gated | None = None

    @property
    def primary(self) -> str:
        return self.suite.tasks[self.task].primary_metric

    def values(self, candidate: str, metric: str, source: str | None = None) -> dict[tuple, float]:
        """(clip, variant) → value, for rows that scored without error."""
        return {(r["clip_id"], r["variant"]): r["metrics"][metric] for r in self.rows
                if r["candidate"] == candidate and r["task"] == self.task and not r["error"]
                and (source is None or r.get("source") == source)
                and r["metrics"] and r["metrics"].get(metric) is not None}

    def gaps(self, candidate: str, metric: str) -> dict[tuple, float]:
        """(clip, variant) → gap closed (None below the audibility floor is left out)."""
        return {(r["clip_id"], r["variant"]): r["gap_closed"][metric] for r in self.rows
                if r["candidate"] == candidate and r["task"] == self.task and not r["error"]
                and r.get("gap_closed") and r["gap_closed"].get(metric) is not None}

    def sources(self, candidate: str) -> list[str]:
        return sorted({r.get("source") or "generated" for r in self.rows
                       if r["candidate"] == candidate and r["task"] == self.task and not r["error"]})

    def cluster_of(self, key: tuple) -> Any:
        return self.report.get("corpus", {}).get("clusters", {}).get(key[0], key[0])


Check = Callable[[Evidence, Any], tuple[bool, str]]  # (evidence, bar) → (passed, detail)


@dataclass(frozen=True)
class BarKind:
    name: str
    check: Check
    needs: str  # the fields a bar of this kind must set, in words
    has_needs: Callable[[Any], bool]
    doc: str


BAR_KINDS: Registry[BarKind] = Registry("bar kind", describe=lambda k: k.doc)


def bar_kind(name: str, *, needs: str = "", has_needs: Callable[[Any], bool] = lambda bar: True, doc: str):
    def wrap(fn: Check) -> Check:
        BAR_KINDS.register(name, BarKind(name, fn, needs, has_needs, doc))
        return fn
    return wrap


def judge(evidence: Evidence, bar: Any) -> Verdict:
    passed, detail = BAR_KINDS.get(bar.kind).check(evidence, bar)
    return Verdict(bar.name, evidence.task, bool(passed), detail)


def _better(lo: float, hi: float, direction: str) -> bool:
    """The CI of (mine − theirs) lies entirely on the better side of 0."""
    return hi < 0 if direction == "lower" else lo > 0


def _statistic(values: list[float], statistic: str) -> float:
    x = np.asarray(values, dtype=np.float64)
    return {"median": lambda: float(np.median(x)), "mean": lambda: float(np.mean(x)), "max": lambda: float(np.max(x)),
            "min": lambda: float(np.min(x)), "p95": lambda: percentile_nearest_rank(x, 95)}[statistic]()


@bar_kind("absolute", needs="max or min", has_needs=lambda bar: bar.max is not None or bar.min is not None,
          doc="a per-clip statistic of one metric against a limit")
def absolute(ev: Evidence, bar) -> tuple[bool, str]:
    metric = bar.metric or ev.primary
    vals = list(ev.values(ev.gated.candidate, metric).values())
    if not vals:
        return False, f"missing data: no {metric} values for {ev.gated.candidate} on {ev.task}"
    v = _statistic(vals, bar.statistic)
    ok = (bar.max is None or v <= bar.max) and (bar.min is None or v >= bar.min)
    limit = " and ".join(x for x in (f"≤ {bar.max:g}" if bar.max is not None else "",
                                     f"≥ {bar.min:g}" if bar.min is not None else "") if x)
    return ok, f"{bar.statistic} {metric} = {v:.4g} (bar {limit}, n={len(vals)})"


@bar_kind("harm", needs="max", has_needs=lambda bar: bar.max is not None,
          doc="share of examples made worse than bypass by more than the metric's audible floor")
def harm(ev: Evidence, bar) -> tuple[bool, str]:
    cand = ev.report.get("tasks", {}).get(ev.task, {}).get("candidates", {}).get(ev.gated.candidate)
    gap = (cand or {}).get("gap_closed")
    if not gap:
        return False, f"missing data: no gap-closed figures for {ev.gated.candidate} on {ev.task}"
    return (gap["worse_than_bypass"] <= bar.max,
            f"worse than bypass on {gap['worse_than_bypass']:.0%} of {gap['n']} examples (bar ≤ {bar.max:.0%})")


@bar_kind("vs_baselines", doc="beats every baseline and bypass on the primary metric: an intersection-union "
                              "test, each cluster-bootstrap 95 % CI of the paired difference on the better side "
                              "of 0; generated and recorded examples separately")
def vs_baselines(ev: Evidence, bar) -> tuple[bool, str]:
    metric = bar.metric or ev.primary
    direction = get_metric(metric).direction or "lower"
    cands = ev.report.get("tasks", {}).get(ev.task, {}).get("candidates", {})
    baselines = sorted(n for n, b in cands.items() if b.get("kind") == "baseline")
    if not baselines or "bypass" not in cands:
        return False, f"missing data: no baseline or no bypass was scored on {ev.task}"
    # `gate --candidate rules` races the other baselines and bypass, never itself.
    rivals = [r for r in baselines if r != ev.gated.candidate] + ["bypass"]
    parts, ok = [], True
    for source in ev.sources(ev.gated.candidate) or ["generated"]:
        mine = ev.values(ev.gated.candidate, metric, source)
        for rival in rivals:
            theirs = ev.values(rival, metric, source)
            keys = sorted(set(mine) & set(theirs))
            if len(keys) < 2:
                ok = False
                parts.append(f"{source} vs {rival}: missing data ({len(keys)} paired examples)")
                continue
            med, (lo, hi) = paired_difference_ci([mine[k] for k in keys], [theirs[k] for k in keys],
                                                 clusters=[ev.cluster_of(k) for k in keys])
            beats = _better(lo, hi, direction)
            ok &= beats
            clusters = len({ev.cluster_of(k) for k in keys})
            parts.append(f"{source} vs {rival}: {med:+.3g} [{lo:+.3g}, {hi:+.3g}] n={len(keys)} ({clusters} clusters)"
                         + ("" if beats else " ✗"))
    better = "below" if direction == "lower" else "above"
    return ok, f"{metric}, candidate − rival, median [95 % CI]: " + "; ".join(parts) + \
        f" (bar: every CI entirely {better} 0)"


def _paired_gap(ev: Evidence, mine: str, theirs: str, metric: str) -> tuple[float, float, float, int] | None:
    """Median and cluster-bootstrap CI of (gap closed of `mine` − of `theirs`), paired by example."""
    a, b = ev.gaps(mine, metric), ev.gaps(theirs, metric)
    keys = sorted(set(a) & set(b))
    if len(keys) < 2:
        return None
    d = np.array([a[k] - b[k] for k in keys])
    lo, hi = bootstrap_ci(d, clusters=[ev.cluster_of(k) for k in keys])
    return float(np.median(d)), lo, hi, len(keys)


@bar_kind("vs_previous", doc="no regression against the previous release: paired gap closed on the same corpus, "
                             "lower CI bound ≥ −tolerance (points); fails closed without a previous release "
                             "unless first_release")
def vs_previous(ev: Evidence, bar) -> tuple[bool, str]:
    if ev.previous is None:
        if bar.first_release:
            return True, "no previous release of this task, and the bar allows a first release"
        return False, ("missing data: no previous release to compare with (set first_release = true on this bar "
                       "for a task's first release)")
    metric = bar.metric or ev.primary
    if not ev.values(ev.previous.candidate, metric):
        return False, (f"missing data: previous release {ev.previous.label} was not scored in run {ev.run_id} "
                       f"(same corpus); `dawg-bench run {ev.suite.name}` scores every release in the registry")
    paired = _paired_gap(ev, ev.gated.candidate, ev.previous.candidate, metric)
    if paired is None:
        return False, f"missing data: no paired gap-closed values with {ev.previous.label}"
    med, lo, hi, n = paired
    return lo >= -bar.tolerance, (f"gap closed − {ev.previous.label}: {med:+.3f} [{lo:+.3f}, {hi:+.3f}] over {n} "
                                  f"examples (bar: lower bound ≥ −{bar.tolerance:g})")


@bar_kind("int8_parity", doc="INT8 loses at most `tolerance` gap-closed points against FP32: paired, lower CI "
                             "bound of (INT8 − FP32) ≥ −tolerance")
def int8_parity(ev: Evidence, bar) -> tuple[bool, str]:
    if ev.gated.release is None or not ev.gated.candidate.endswith("@int8"):
        return True, f"ships FP32: parity not applicable ({ev.gated.ships or 'no INT8 model'})"
    metric = bar.metric or ev.primary
    paired = _paired_gap(ev, ev.gated.candidate, ev.gated.fp32, metric)
    if paired is None:
        return False, "missing data: INT8 and FP32 were not both scored"
    med, lo, hi, n = paired
    return lo >= -bar.tolerance, (f"gap closed INT8 − FP32: {med:+.3f} [{lo:+.3f}, {hi:+.3f}] over {n} examples "
                                  f"(bar: lower bound ≥ −{bar.tolerance:g})")


def latency_rows(latencies: list[dict], model: str, hardware: str, scope: str, precision: str,
                 clip_seconds: float | None) -> list[dict]:
    """The rows a latency bar may use, oldest first: this model, hardware, scope and precision, one
    thread (or a GPU), and — end to end — the bar's clip length."""
    from harness.latency.targets import hardware_matches

    return [r for r in latencies if r["model"] == model and hardware_matches(r["hardware"], hardware)
            and r["scope"] == scope
            and r["precision"] == precision and r["threads"] in (None, 1)
            and (scope != "end_to_end" or clip_seconds is None or r.get("clip_seconds") is None
                 or abs(float(r["clip_seconds"]) - clip_seconds) < 1e-9)]


@bar_kind("latency", needs="max and hardware", has_needs=lambda bar: bar.max is not None and bar.hardware is not None,
          doc="a percentile on a named target from the newest VALID measured row; a projection counts only "
              "where the bar allows it (its upper band edge is checked)")
def latency(ev: Evidence, bar) -> tuple[bool, str]:
    release = ev.gated.release
    if release is None:
        return False, "missing data: latency bars apply to model releases"
    from harness.ship import ship_precision

    precision, _ = ship_precision(release, bar.hardware, ev.latencies)
    rows = latency_rows(ev.latencies, release.name, bar.hardware, bar.scope, precision, bar.clip_seconds)
    what = f"{bar.scope} {precision} on {bar.hardware}" + (f" ({bar.clip_seconds:g} s clip)"
                                                           if bar.scope == "end_to_end" else "")
    measured = [r for r in rows if r["source"] == "measured"]
    valid = [r for r in measured if r["valid"] and r.get(bar.percentile) is not None]
    if valid:
        row = valid[-1]
        v = row[bar.percentile]
        return v <= bar.max, (f"{bar.percentile} {v:.3f} ms, {what}, MEASURED over {row.get('queries')} queries "
                              f"(bar ≤ {bar.max:g} ms)")
    if measured:
        row = measured[-1]
        return False, (f"no valid measurement of {what}: {bar.percentile} not reported "
                       f"({row.get('reason') or 'too few queries'})")
    projected = [r for r in rows if r["source"] == "projected"]
    if not projected:
        return False, f"missing data: no {what} latency; run `dawg-bench latency {release.name}`"
    if not bar.allow_projected:
        return False, (f"{what} was only PROJECTED (no such hardware here) and this bar needs a measurement "
                       "(allow_projected = true to accept the device model)")
    row = projected[-1]
    if not row["valid"]:
        return False, f"the {what} projection is INVALID: {row.get('reason')}"
    v = row.get("projected_high_ms") or row.get("projected_ms")
    edge = "upper edge of its band" if row.get("projected_high_ms") else "no band"
    return v <= bar.max, f"PROJECTED {v:.3f} ms ({edge}), {what} (bar ≤ {bar.max:g} ms)"


__all__ = ["BAR_KINDS", "BarKind", "Evidence", "bar_kind", "judge", "latency_rows"]

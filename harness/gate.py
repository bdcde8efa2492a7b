"""The release gate: check a candidate against a suite's bars, from stored runs and latencies.

Missing data fails a bar (fail closed). Bars: absolute (a per-clip statistic against a limit),
harm (share of clips made worse than bypass), vs_best_baseline (the 95 % CI of the paired
difference on the primary metric must lie below 0), vs_previous (no regression beyond a
tolerance against the previous release), latency (a percentile on a named target; its source —
measured or projected — is shown), int8_parity (INT8 within a tolerance of FP32).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import numpy as np

from harness.errors import UserError
from harness.models import Release
from harness.stats import paired_difference_ci, percentile_nearest_rank
from harness.store import Store
from harness.suite_schema import Bar, Suite


@dataclass(frozen=True)
class Verdict:
    gate: str
    task: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"gate": self.gate, "task": self.task, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Gated:
    """What is gated: a release (ships INT8 when it has one) or any named candidate."""

    label: str
    task: str | None
    candidate: str  # the candidate name whose rows are checked
    release: Release | None = None
    fp32: str | None = None  # for INT8 parity


def gated_release(release: Release) -> Gated:
    ship = "int8" if "int8" in release.files else "fp32"
    return Gated(label=release.name, task=release.task, candidate=release.candidate_name(ship), release=release,
                 fp32=release.candidate_name("fp32"))


GateResult = tuple[str, str, list[Verdict]]  # (label, run id, verdicts)


def previous_release(release: Release, releases: list[Release]) -> Release | None:
    """The release of the same task just before this one (by version), or None for a first release."""
    older = [r for r in releases if r.task == release.task and r.version < release.version]
    return older[-1] if older else None


def gate_all(suite: Suite, targets: list[Gated], store: Store, releases: list[Release], *,
             against: Release | None = None) -> list[GateResult]:
    """Gate each target against the suite's bars and record the verdicts: what `gate` and `demo` share.

    The regression bar compares a release with `against`, else with the release before it."""
    results: list[GateResult] = []
    for gated in targets:
        previous = None
        if gated.release is not None:
            before = against or previous_release(gated.release, releases)
            previous = gated_release(before) if before is not None else None
        run_id, verdicts = evaluate(suite, gated, store, previous=previous)
        store.add_gates(suite.name, gated.label, [v.to_json() for v in verdicts], run_id)
        results.append((gated.label, run_id, verdicts))
    return results


def latest_run_with(store: Store, suite: str, candidate: str) -> tuple[str, list[dict], dict]:
    for run in store.runs(suite):
        rows = [r for r in store.clip_results(run["run_id"])]
        if any(r["candidate"] == candidate for r in rows):
            return run["run_id"], rows, json.loads(run["report"] or "{}")
    raise UserError(f"no complete run of suite {suite!r} scored {candidate!r}; run `dawg-bench run {suite}` first")


def _values(rows: list[dict], candidate: str, task: str, metric: str) -> dict[tuple, float]:
    return {(r["clip_id"], r["variant"]): r["metrics"][metric] for r in rows
            if r["candidate"] == candidate and r["task"] == task and not r["error"]
            and r["metrics"] and r["metrics"].get(metric) is not None}


def _stat(values: list[float], statistic: str) -> float:
    x = np.asarray(values, dtype=np.float64)
    return {"median": lambda: float(np.median(x)), "mean": lambda: float(np.mean(x)), "max": lambda: float(np.max(x)),
            "p95": lambda: percentile_nearest_rank(x, 95)}[statistic]()


def evidence_matches_files(gated: Gated, run_id: str, store: Store) -> Verdict | None:
    """For a release: do the files scored in `run_id` hash to the files in the release folder now?"""
    if gated.release is None:
        return None
    scored = store.run_identity(run_id).get("candidates", {})
    stale = []
    for name in {gated.candidate, gated.fp32} - {None}:
        precision = name.rsplit("@", 1)[-1]
        if precision not in gated.release.files:
            continue
        recorded = (scored.get(name) or {}).get("files")
        if recorded != gated.release.identity(precision):
            stale.append(f"{precision}: {'never hashed' if recorded is None else 'files changed since'}")
    task = gated.task or "all"
    if stale:
        return Verdict("evidence is for these model files", task, False,
                       f"run {run_id} did not score the files in {gated.release.folder} ({'; '.join(stale)}); "
                       f"run `dawg-bench run` again")
    return Verdict("evidence is for these model files", task, True, f"sha256 of release.json and ONNX files match "
                                                                    f"run {run_id}")


def evaluate(suite: Suite, gated: Gated, store: Store, *, previous: Gated | None = None) -> tuple[str, list[Verdict]]:
    run_id, rows, report = latest_run_with(store, suite.name, gated.candidate)
    tasks = [gated.task] if gated.task else sorted({r["task"] for r in rows if r["candidate"] == gated.candidate})
    verdicts: list[Verdict] = []
    evidence = evidence_matches_files(gated, run_id, store)
    if evidence is not None:  # checked before any bar: a bar on stale evidence proves nothing
        verdicts.append(evidence)
    for task in tasks:
        bars = [bar for bar in suite.bars if not bar.task or bar.task == task]
        if not bars:  # a gate that checks nothing must not pass
            verdicts.append(Verdict("nothing checked", task, False, f"suite {suite.name} has no bar for task {task}"))
        for bar in bars:
            verdicts.append(_check(bar, task, suite, gated, rows, report, store, previous))
    return run_id, verdicts


def _check(bar: Bar, task: str, suite: Suite, gated: Gated, rows: list[dict], report: dict, store: Store,
           previous: Gated | None) -> Verdict:
    primary = suite.tasks[task].primary_metric
    metric = bar.metric or primary

    def verdict(passed: bool, detail: str) -> Verdict:
        return Verdict(bar.name, task, bool(passed), detail)

    if bar.kind == "absolute":
        vals = list(_values(rows, gated.candidate, task, metric).values())
        if not vals:
            return verdict(False, f"missing data: no {metric} values for {gated.candidate} on {task}")
        v = _stat(vals, bar.statistic)
        ok = (bar.max is None or v <= bar.max) and (bar.min is None or v >= bar.min)
        limit = " and ".join(x for x in (f"≤ {bar.max:g}" if bar.max is not None else "",
                                         f"≥ {bar.min:g}" if bar.min is not None else "") if x)
        return verdict(ok, f"{bar.statistic} {metric} = {v:.4g} (bar {limit}, n={len(vals)})")
    if bar.kind == "harm":
        cand = report.get("tasks", {}).get(task, {}).get("candidates", {}).get(gated.candidate)
        gap = (cand or {}).get("gap_closed")
        if not gap:
            return verdict(False, f"missing data: no gap-closed figures for {gated.candidate} on {task}")
        return verdict(gap["worse_than_bypass"] <= (bar.max if bar.max is not None else 0.2),
                       f"worse than bypass on {gap['worse_than_bypass']:.0%} of {gap['n']} clips (bar ≤ {bar.max:.0%})")
    if bar.kind == "vs_best_baseline":
        best = report.get("tasks", {}).get(task, {}).get("best_baseline")
        if not best:
            return verdict(False, f"missing data: no baseline was scored on {task}")
        mine = _values(rows, gated.candidate, task, metric)
        theirs = _values(rows, best, task, metric)
        keys = sorted(set(mine) & set(theirs))
        if not keys:
            return verdict(False, f"missing data: no paired clips with {best} on {task}")
        clusters = report.get("corpus", {}).get("clusters", {})  # resample clusters, not clips
        med, (lo, hi) = paired_difference_ci([mine[k] for k in keys], [theirs[k] for k in keys],
                                             clusters=[clusters.get(k[0], k[0]) for k in keys])
        return verdict(hi < 0, f"{metric} − {best}: median {med:+.4g}, 95% CI [{lo:+.4g}, {hi:+.4g}] over {len(keys)} "
                               "clips (bar: CI entirely below 0)")
    if bar.kind == "vs_previous":
        if previous is None:
            if bar.first_release:
                return verdict(True, "no previous release of this task, and the bar allows a first release")
            return verdict(False, "missing data: no previous release to compare with (set first_release = true "
                                  "on this bar for a task's first release)")
        mine = list(_values(rows, gated.candidate, task, metric).values())
        try:
            _, prev_rows, _ = latest_run_with(store, suite.name, previous.candidate)
        except UserError:
            return verdict(False, f"missing data: previous release {previous.label} has no run of {suite.name}")
        prev = list(_values(prev_rows, previous.candidate, task, metric).values())
        if not mine or not prev:
            return verdict(False, f"missing data: {metric} for {gated.label} or {previous.label}")
        a, b = float(np.median(mine)), float(np.median(prev))
        return verdict(a <= b * (1 + bar.tolerance) + 1e-12,
                       f"median {metric} {a:.4g} vs {previous.label} {b:.4g} (bar ≤ +{bar.tolerance:.0%})")
    if bar.kind == "int8_parity":
        if gated.release is None or "int8" not in gated.release.files:
            return verdict(True, "ships FP32 (no INT8 model): parity not applicable")
        q = _values(rows, gated.candidate, task, metric)
        f = _values(rows, gated.fp32, task, metric)
        keys = sorted(set(q) & set(f))
        if not keys:
            return verdict(False, "missing data: INT8 and FP32 were not both scored")
        a, b = float(np.median([q[k] for k in keys])), float(np.median([f[k] for k in keys]))
        rel = (a - b) / abs(b) if b else (0.0 if a == b else float("inf"))
        return verdict(abs(rel) <= bar.tolerance,
                       f"INT8 median {metric} {a:.4g} vs FP32 {b:.4g} ({rel:+.1%}; bar ±{bar.tolerance:.0%})")
    if bar.kind == "latency":
        if gated.release is None:
            return verdict(False, "missing data: latency bars apply to model releases")
        precision = gated.candidate.rsplit("@", 1)[-1]
        found = [r for r in store.latencies() if r["model"] == gated.release.name and r["hardware"] == bar.hardware
                 and r["scope"] == bar.scope and r["precision"] == precision and r["threads"] in (None, 1)]
        if not found:
            return verdict(False, f"missing data: no {bar.scope} latency on {bar.hardware} for {gated.release.name} "
                                  f"{precision}; run `dawg-bench latency {gated.release.name}`")
        measured = [r for r in found if r["source"] == "measured"]
        row = (measured or found)[-1]
        if row["source"] == "measured":
            v, what = row[bar.percentile], bar.percentile
            if v is None:
                return verdict(False, f"missing data: {bar.percentile} not reported on {bar.hardware} "
                                      f"({row.get('reason') or 'too few queries'})")
        else:  # a projection is one figure (no percentiles); its upper band edge is what is checked
            v = row.get("projected_high_ms") or row.get("projected_ms") or row.get(bar.percentile)
            what = "projected (upper edge of its band)" if row.get("projected_high_ms") else "projected"
            if v is None:
                return verdict(False, f"missing data: no projected figure on {bar.hardware}")
        return verdict(v <= bar.max, f"{what} {v:.3f} ms on {bar.hardware} ({row['source'].upper()}) "
                                     f"(bar ≤ {bar.max:g} ms)")
    raise UserError(f"unknown bar kind {bar.kind!r}")  # pragma: no cover - the suite schema forbids it


def junit_xml(suite: str, label: str, verdicts: list[Verdict]) -> str:
    import xml.etree.ElementTree as ET

    failures = sum(not v.passed for v in verdicts)
    root = ET.Element("testsuites", tests=str(len(verdicts)), failures=str(failures))
    ts = ET.SubElement(root, "testsuite", name=f"dawg-bench gate {suite} {label}", tests=str(len(verdicts)),
                       failures=str(failures))
    for v in verdicts:
        tc = ET.SubElement(ts, "testcase", classname=f"gate.{suite}.{v.task}", name=v.gate)
        if v.passed:
            ET.SubElement(tc, "system-out").text = v.detail
        else:
            ET.SubElement(tc, "failure", message=v.detail).text = v.detail
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def markdown_summary(suite: str, results: list[tuple[str, str, list[Verdict]]]) -> str:
    ok = all(v.passed for _, _, vs in results for v in vs)
    lines = [f"## DAWG Bench gate `{suite}`: {'✅ PASS' if ok else '❌ FAIL'}", ""]
    for label, run_id, verdicts in results:
        lines += [f"**{label}** (run `{run_id}`)", "", "| | gate | task | detail |", "|---|---|---|---|"]
        lines += [f"| {'✅' if v.passed else '❌'} | {v.gate} | {v.task} | {v.detail} |" for v in verdicts]
        lines.append("")
    lines.append("Latency figures say MEASURED (ran on that hardware) or PROJECTED (device model).")
    return "\n".join(lines) + "\n"

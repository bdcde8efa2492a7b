"""From per-clip rows to the run report: aggregates with bootstrap CIs, gap closed, harm share,
paired comparison with the best baseline, rankings and verdicts. Its JSON form is versioned
(`schema`) and documented in docs/run-schema.json."""

from __future__ import annotations

import math
from collections import defaultdict
from typing import Any

import numpy as np

from harness.candidates import CANDIDATES
from harness.corpus.manifest import Manifest, clip_clusters
from harness.environment import fingerprint
from harness.metrics import get_metric
from harness.stats import bootstrap_ci, paired_difference_ci, summarise
from harness.suite_schema import Suite

SCHEMA_VERSION = 1


def _finite(values) -> list[float]:
    return [v for v in values if v is not None and math.isfinite(v)]


def _gap_summary(rows: list[dict], metric: str) -> dict[str, Any] | None:
    """Gap closed on one metric: the per-clip median with its cluster-bootstrap CI, the aggregate as a
    ratio of sums (1 - sum d_out / sum d_in, which a single tiny denominator cannot blow up), how
    many examples had damage below the metric's audibility floor (left out), and the harm share:
    examples made worse than bypass by more than that floor."""
    floor = get_metric(metric).audible_floor or 0.0
    scored = [r for r in rows if r["gap_closed"].get(metric) is not None and math.isfinite(r["gap_closed"][metric])]
    paired = [(r["metrics"].get(metric), r["metrics"].get(f"input.{metric}")) for r in rows]
    paired = [(o, i) for o, i in paired if o is not None and i is not None]
    below = sum(1 for _, i in paired if i <= floor)
    if not scored:
        return None
    g = [r["gap_closed"][metric] for r in scored]
    lo, hi = bootstrap_ci(g, clusters=[r["cluster"] for r in scored])
    sums = [(r["metrics"].get(metric), r["metrics"].get(f"input.{metric}")) for r in scored]
    sums = [(o, i) for o, i in sums if o is not None and i is not None]
    d_out, d_in = sum(o for o, _ in sums), sum(i for _, i in sums)
    harm = [o - i > floor for o, i in paired] if paired else [x < 0 for x in g]
    return {"median": float(np.median(g)), "ci95": [lo, hi], "n": len(g),
            "clusters": len({r["cluster"] for r in scored}),
            "ratio_of_sums": 1.0 - d_out / d_in if d_in > 0 else None,
            "below_floor": below, "audible_floor": floor,
            "worse_than_bypass": float(np.mean(harm))}


def _candidate_block(rows: list[dict], metrics: list[str], primary: str, extra: list[str] = ()) -> dict[str, Any]:
    block: dict[str, Any] = {"metrics": {}, "n_clips": len(rows)}
    for m in [*metrics, *extra]:
        values = [r["metrics"].get(m) for r in rows]
        if _finite(values):
            block["metrics"][m] = summarise(values, clusters=[r["cluster"] for r in rows]).to_json()
    block["gap_closed"] = _gap_summary(rows, primary)
    block["gap_closed_by_metric"] = {m: _gap_summary(rows, m) for m in metrics}
    return block


def build_report(suite: Suite, manifest: Manifest, run_id: str, rows: list[dict], *,
                 failures: list[dict] | None = None, unavailable: dict[str, str] | None = None,
                 latency: list[dict] | None = None) -> dict[str, Any]:
    # Rows carry their cluster (clips sharing source material, one clip's variants): the statistics
    # resample clusters, not rows.
    clusters = clip_clusters(manifest.clips)
    ok = [{**r, "cluster": clusters.get(r["clip_id"], r["clip_id"])} for r in rows if not r.get("error")]
    tasks: dict[str, Any] = {}
    for task, cfg in suite.tasks.items():
        primary = cfg.primary_metric
        direction = get_metric(primary).direction or "lower"
        by_cand: dict[str, list[dict]] = defaultdict(list)
        for r in ok:
            if r["task"] == task:
                by_cand[r["candidate"]].append(r)
        cands: dict[str, Any] = {}
        for name, crows in by_cand.items():
            kind = CANDIDATES[name].kind if name in CANDIDATES else "model"
            extra = [f"output.{m}" for m in cfg.output_meters]
            block = {"kind": kind, **_candidate_block(crows, cfg.metrics, primary, extra)}
            sources = sorted({r["source"] for r in crows})
            block["by_source"] = {s: _candidate_block([r for r in crows if r["source"] == s], cfg.metrics, primary)
                                  for s in sources}
            variants = sorted({r["variant"] for r in crows if r["variant"]})
            if variants:
                block["by_variant"] = {
                    v: _candidate_block([r for r in crows if r["variant"] == v], cfg.metrics, primary)
                    for v in variants
                }
            cands[name] = block
        best = _best_baseline(cands, primary, direction)
        for name, block in cands.items():
            if block["kind"] in ("model", "peer") and best and name != best:
                block["vs_best_baseline"] = _paired(by_cand[name], by_cand[best], primary, best)
            block["verdict"] = _verdict(block, direction)
        ranking = sorted((n for n in cands if primary in cands[n]["metrics"]),
                         key=lambda n: cands[n]["metrics"][primary]["median"] * (1 if direction == "lower" else -1))
        tasks[task] = {"primary_metric": primary, "direction": direction, "best_baseline": best,
                       "ranking": ranking, "candidates": cands}
    fails = [{"task": r["task"], "candidate": r["candidate"], "clip": r["clip_id"], "error": r["error"]}
             for r in rows if r.get("error")]
    fails += list(failures or [])
    sources = sorted({c.source for c in manifest.split("test")})
    return {
        "schema": SCHEMA_VERSION,
        "run_id": run_id,
        "suite": suite.name,
        "corpus": {"source": manifest.recipe.get("kind"), "recipe": manifest.recipe, "clips": len(manifest.clips),
                   "test_clips": len(manifest.split("test")), "test_sources": sources,
                   "manifest_hash": manifest.manifest_hash,
                   "clusters": {c.id: clusters[c.id] for c in manifest.split("test")}},
        "tasks": tasks,
        "latency": list(latency or []),
        "failures": fails,
        "skipped": [{"candidate": name, "reason": why} for name, why in (unavailable or {}).items()],
        "environment": fingerprint(),
    }


def _best_baseline(cands: dict[str, Any], primary: str, direction: str) -> str | None:
    scored = [(b["metrics"][primary]["median"], n) for n, b in cands.items()
              if b["kind"] == "baseline" and primary in b["metrics"]]
    if not scored:
        return None
    return (min(scored) if direction == "lower" else max(scored))[1]


def _paired(rows: list[dict], base_rows: list[dict], primary: str, base: str) -> dict[str, Any] | None:
    base_by_clip = {(r["clip_id"], r["variant"]): r["metrics"].get(primary) for r in base_rows}
    pairs = [(r["metrics"].get(primary), base_by_clip.get((r["clip_id"], r["variant"])), r["cluster"]) for r in rows]
    pairs = [(a, b, c) for a, b, c in pairs if a is not None and b is not None]
    if not pairs:
        return None
    med, (lo, hi) = paired_difference_ci([a for a, _, _ in pairs], [b for _, b, _ in pairs],
                                         clusters=[c for _, _, c in pairs])
    return {"baseline": base, "metric": primary, "median_difference": med, "ci95": [lo, hi], "n": len(pairs),
            "clusters": len({c for _, _, c in pairs})}


def _verdict(block: dict[str, Any], direction: str) -> str:
    if block["kind"] == "bound":
        return "bound"
    gap = block.get("gap_closed")
    if not gap:
        return "no data"
    harm = f"; worse than bypass on {gap['worse_than_bypass']:.0%} of clips" if gap["worse_than_bypass"] > 0 else ""
    vs = block.get("vs_best_baseline")
    if vs:
        lo, hi = vs["ci95"]
        better = hi < 0 if direction == "lower" else lo > 0
        worse = lo > 0 if direction == "lower" else hi < 0
        rel = "beats" if better else "worse than" if worse else "not separable from"
        return f"{rel} best baseline ({vs['baseline']}){harm}"
    lo, hi = gap["ci95"]
    state = "improves on bypass" if lo > 0 else "worse than bypass" if hi < 0 else "not separable from bypass"
    return state + harm


def aggregate_rows(report: dict[str, Any]) -> list[dict]:
    """Flatten the report into rows for the store's aggregates table."""
    out = []
    for task, t in report["tasks"].items():
        for cand, block in t["candidates"].items():
            for source, b in [("all", block), *block.get("by_source", {}).items()]:
                for metric, s in b["metrics"].items():
                    gap = b["gap_closed_by_metric"].get(metric) or {}
                    out.append({"task": task, "candidate": cand, "source": source, "metric": metric,
                                "mean": s["mean"], "median": s["median"], "ci_lo": s["ci95"][0], "ci_hi": s["ci95"][1],
                                "n": s["n"], "gap_median": gap.get("median"),
                                "gap_ci_lo": (gap.get("ci95") or [None, None])[0],
                                "gap_ci_hi": (gap.get("ci95") or [None, None])[1],
                                "worse_than_bypass": gap.get("worse_than_bypass")})
    return out

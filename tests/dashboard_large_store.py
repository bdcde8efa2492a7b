"""A large results store for the dashboard's benchmark: 20 runs of 1,000 clips, grown from a real small run.

Each run copies the real run's per-clip rows onto 1,000 clip ids (the real clips' rows in turn, their
metrics scaled by a run- and clip-dependent factor near 1, so distributions and history vary), with its
own run id, corpus hash, code fingerprint and finish time, the real run's aggregates (shifted the same
way), and the real latency and gate rows repeated per run. Written in one transaction per run.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np

from harness.store import Store


def build_large_store(source: Path, path: Path, *, runs: int = 20, clips: int = 1000, seed: int = 0) -> Path:
    rng = np.random.default_rng(seed)
    with closing(sqlite3.connect(f"{Path(source).resolve().as_uri()}?mode=ro", uri=True)) as src:
        src.row_factory = sqlite3.Row
        run = dict(src.execute("SELECT * FROM runs WHERE status = 'complete' LIMIT 1").fetchone())
        rows = [dict(r) for r in src.execute("SELECT * FROM clip_results WHERE run_id = ?", (run["run_id"],))]
        aggs = [dict(r) for r in src.execute("SELECT * FROM aggregates WHERE run_id = ?", (run["run_id"],))]
        lats = [dict(r) for r in src.execute("SELECT * FROM latencies")]
        gates = [dict(r) for r in src.execute("SELECT * FROM gates")]
    by_clip: dict[str, list[dict]] = {}
    for r in rows:
        by_clip.setdefault(r["clip_id"], []).append(r)
    real = sorted(by_clip)
    Store(path).close()  # a current-schema store
    env = json.loads(run["environment"])
    with closing(sqlite3.connect(path)) as c:
        for i in range(runs):
            run_id = f"{i:04d}{run['run_id'][4:]}"
            finished = run["finished_at"] - (runs - i) * 86400.0
            shift = 1.0 + 0.02 * (i - runs / 2) / runs
            env["identity"] = {**env.get("identity", {}), "code": f"{i:02d}" + "c0de" * 15, "manifest": f"m{i}"}
            with c:
                c.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?)",
                          (run_id, run["suite"], f"{i:02x}" + run["manifest_hash"][2:], finished - 600.0, finished,
                           "complete", json.dumps(env), run["report"]))
                out = []
                for k in range(clips):
                    clip = f"{real[k % len(real)]}-x{k:04d}"
                    factor = shift * float(rng.normal(1.0, 0.05))
                    for r in by_clip[real[k % len(real)]]:
                        metrics = json.loads(r["metrics"]) if r["metrics"] else None
                        if metrics:
                            metrics = {m: (v * factor if isinstance(v, float) and not m.startswith("input.") else v)
                                       for m, v in metrics.items()}
                        out.append((run_id, r["task"], r["variant"], clip, r["source"], r["candidate"],
                                    json.dumps(metrics), r["gap_closed"], r["error"], r["seconds"]))
                c.executemany("INSERT INTO clip_results VALUES (?,?,?,?,?,?,?,?,?,?)", out)
                c.executemany(f"INSERT INTO aggregates VALUES ({','.join('?' * 14)})",
                              [(run_id, a["task"], a["candidate"], a["source"], a["metric"],
                                *[(a[k] * shift if a[k] is not None else None)
                                  for k in ("mean", "median", "ci_lo", "ci_hi")], a["n"] * clips // len(real),
                                *[a[k] for k in ("gap_median", "gap_ci_lo", "gap_ci_hi", "worse_than_bypass")])
                               for a in aggs])
                for lat in lats:
                    c.execute(f"INSERT INTO latencies ({','.join(lat)}) VALUES ({','.join('?' * len(lat))})",
                              [finished if k == "recorded_at" else v for k, v in lat.items()])
                for g in gates:
                    c.execute(f"INSERT INTO gates ({','.join(g)}) VALUES ({','.join('?' * len(g))})",
                              [finished if k == "recorded_at" else (run_id if k == "run_id" else v)
                               for k, v in g.items()])
        c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    return path

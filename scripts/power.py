"""Power of a run for a gap-closed difference (docs/baselines.md#power).

`python scripts/power.py RESULTS.db REPORT.json [--delta 0.05]`: for each task and pair of baselines,
the cluster-bootstrap 95 % CI of the paired gap-closed difference (the statistic the gate's bars
use), the difference detectable at 80 % power (z_.975 + z_.8 = 2.80 half-widths) and the number of
independent clusters that 0.05 would need (half-width scales as 1/sqrt(clusters)).
"""

import argparse
import collections
import json
import sqlite3

import numpy as np
from scipy.stats import norm

from harness.stats import bootstrap_ci


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("db")
    ap.add_argument("report")
    ap.add_argument("--delta", type=float, default=0.05)
    ap.add_argument("--metric", default="matched_mrstft_distance")
    args = ap.parse_args()
    report = json.load(open(args.report))
    clusters = report["corpus"]["clusters"]
    run_id = report["run_id"]
    rows = sqlite3.connect(args.db).execute(
        "SELECT task, variant, clip_id, source, candidate, gap_closed FROM clip_results "
        "WHERE run_id = ? AND error IS NULL", (run_id,)).fetchall()
    gaps: dict = collections.defaultdict(dict)
    for task, variant, clip, source, cand, gap in rows:
        v = json.loads(gap or "{}").get(args.metric)
        if v is not None:
            gaps[(task, source, cand)][(clip, variant)] = v
    k = norm.ppf(0.975) + norm.ppf(0.8)
    print("| source | task | pair | median difference [95 % CI] | n (clusters) | detectable at 80 % | "
          f"clusters for {args.delta:g} |")
    print("|---|---|---|---|---|---|---|")
    for source in ("generated", "recorded"):
        for task in report["tasks"]:
            names = sorted({c for (t, s, c) in gaps if t == task and s == source} & {"rules", "match"})
            for i, a in enumerate(names):
                for b in names[i + 1:]:
                    keys = sorted(set(gaps[(task, source, a)]) & set(gaps[(task, source, b)]))
                    d = np.array([gaps[(task, source, a)][key] - gaps[(task, source, b)][key] for key in keys])
                    cl = [clusters.get(key[0], key[0]) for key in keys]
                    lo, hi = bootstrap_ci(d, clusters=cl)
                    half, g = (hi - lo) / 2, len(set(cl))
                    need = int(np.ceil(g * (half / (args.delta / k)) ** 2))
                    print(f"| {source} | {task} | {a} − {b} | {np.median(d):+.3f} [{lo:+.3f}, {hi:+.3f}] | "
                          f"{len(d)} ({g}) | {k * half:.3f} | {need} |")


if __name__ == "__main__":
    main()

"""Markdown tables of docs/baselines.md from a run report: `python scripts/baselines_table.py release.json`."""

import json
import sys

ORDER = ["bypass", "oracle", "rules", "rules-plan", "match", "matchering"]


def main(path: str) -> None:
    report = json.load(open(path))
    for source in ("generated", "recorded"):
        print(f"\n**{source}**\n")
        print("| task | candidate | gap closed, median [95 % CI] | Σ gap | harmed | n (clusters) | below floor |")
        print("|---|---|---|---|---|---|---|")
        for task, t in report["tasks"].items():
            for name in ORDER:
                block = t["candidates"].get(name, {}).get("by_source", {}).get(source)
                if not block:
                    continue
                g = block["gap_closed"]
                if not g:
                    print(f"| {task} | {name} | — | — | — | — | — |")
                    continue
                print(f"| {task} | {name} | {g['median']:+.2f} [{g['ci95'][0]:+.2f}, {g['ci95'][1]:+.2f}] | "
                      f"{g['ratio_of_sums']:+.2f} | {g['worse_than_bypass']:.0%} | {g['n']} ({g['clusters']}) | "
                      f"{g['below_floor']} |")


if __name__ == "__main__":
    main(sys.argv[1])

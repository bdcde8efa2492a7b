"""The scorecard people read at the end of a run: per task, candidates ranked by the primary metric."""

from __future__ import annotations

from typing import Any

from rich import box
from rich.console import Console
from rich.markup import escape
from rich.table import Table


def print_scorecards(report: dict[str, Any], console: Console | None = None) -> None:
    console = console or wide_console()
    corpus = report["corpus"]
    console.print(f"[bold]Suite {report['suite']}[/] · run {report['run_id']} · corpus {corpus['source']} "
                  f"{corpus['manifest_hash'][:12]} · {corpus['test_clips']} test clips "
                  f"({', '.join(corpus['test_sources'])})")
    for task, t in report["tasks"].items():
        primary = t["primary_metric"]
        unit = _unit(primary)
        sources = sorted({s for b in t["candidates"].values() for s in b.get("by_source", {})})
        n = max((b["n_clips"] for b in t["candidates"].values()), default=0)
        # Fits 100 columns (CI logs): the verdicts go below the table, one line per candidate.
        table = Table(title=f"{task}: ranked by {primary} ({t['direction']} is better), up to {n} examples",
                      title_justify="left", box=box.SIMPLE_HEAD, pad_edge=False)
        for col in ("#", "candidate", "n", f"{_short(primary)} [95% CI]", "gap closed [95% CI]", "Σ gap", "harmed"):
            table.add_column(col, justify="right" if col in ("#", "n", "Σ gap", "harmed") else "left")
        for rank, name in enumerate(t["ranking"], 1):
            b = t["candidates"][name]
            m = b["metrics"][primary]
            gap = b["gap_closed"]
            table.add_row(
                str(rank), escape(name), str(m["n"]),  # per candidate: a peer may cover only some examples
                f"{m['median']:.3g} [{m['ci95'][0]:.3g}, {m['ci95'][1]:.3g}] {unit}".rstrip(),
                f"{gap['median']:+.2f} [{gap['ci95'][0]:+.2f}, {gap['ci95'][1]:+.2f}]" if gap else "—",
                f"{gap['ratio_of_sums']:+.2f}" if gap and gap.get("ratio_of_sums") is not None else "—",
                f"{gap['worse_than_bypass']:.0%}" if gap else "—",
            )
        console.print(table)
        for name in t["ranking"]:
            b = t["candidates"][name]
            if b["kind"] != "bound":
                console.print(f"  {escape(name)} ({b['kind']}): {escape(b['verdict'])}", highlight=False)
        gaps = [b["gap_closed"] for b in t["candidates"].values() if b.get("gap_closed")]
        below = max((g.get("below_floor", 0) for g in gaps), default=0)
        if gaps and "audible_floor" in gaps[0]:
            floor = gaps[0]["audible_floor"]
            console.print(f"  gap closed per clip (median, cluster-bootstrap CI) and Σ gap = 1 − Σd_out/Σd_in "
                          f"leave out {below} example(s) whose damage is below the {floor:g} audibility floor; "
                          "harmed = worse than bypass by more than that floor")
        if len(sources) > 1:
            for src in sources:
                line = ", ".join(
                    f"{n} {t['candidates'][n]['by_source'][src]['gap_closed']['median']:+.2f}"
                    for n in t["ranking"]
                    if src in t["candidates"][n].get("by_source", {})
                    and t["candidates"][n]["by_source"][src]["gap_closed"]
                )
                console.print(f"  gap closed on {src} clips: {line}")
    for s in report.get("skipped", []):
        console.print(f"[yellow]skipped[/] {escape(s['candidate'])}: {escape(s['reason'])}")
    if report["failures"]:
        console.print(f"[yellow]{len(report['failures'])} failure(s) recorded[/] (see the JSON report's `failures`):")
        for f in report["failures"][:10]:
            where = " / ".join(str(x) for x in (f["task"], f["candidate"], f["clip"]) if x)
            console.print(f"  • {escape(where)}: {escape(f['error'])}")


def wide_console(**kwargs) -> Console:
    """Rich wraps at 80 columns when output is not a terminal (CI logs); the tables are laid out for 100."""
    console = Console(**kwargs)
    if not console.is_terminal:
        console = Console(width=100, **kwargs)
    return console


def _short(metric: str) -> str:
    """Column titles stay narrow: `matched_mrstft_distance` → `matched MR-STFT`."""
    return metric.replace("matched_mrstft_distance", "matched MR-STFT").replace("mrstft_distance", "MR-STFT")


def _unit(metric: str) -> str:
    from harness.metrics import get_metric

    return get_metric(metric).unit

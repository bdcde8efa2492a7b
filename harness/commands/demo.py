"""`dawg-bench demo`: the main job on the embedded default — no AWS, no GPU, no downloads at run time."""

from __future__ import annotations

import argparse
import time
from pathlib import Path

HELP = "run the main job on the embedded default: corpus, every candidate, latency, gate, scorecard"
EXAMPLES = """examples:
  dawg-bench demo                       # the demo suite on generated music (CPU only, ~2 min cold)
  dawg-bench demo --suite smoke         # the 1-minute version
  dawg-bench demo --suite release       # the powered release suite (800 clips; ~30 min cold on 2 cores)
  DAWG_BENCH_HOME=/tmp/dawg dawg-bench demo      # keep its cache somewhere else

Steps: build (or reuse) the suite's generated corpus; train a quick model for each task that has a
trainer and no release yet (eq, compressor, mastering; --no-train to skip); score every candidate that exists (bounds,
rules, match, matchering if installed, and every model release in the registry folder, FP32 and
INT8); measure CPU latency and project T4/A10G for each release; gate the newest releases; print
the scorecards and the verdict. A second run reuses the cached corpus and finished results.
exit codes: the gate's — 0 every release passed, 1 a gate failed or nothing to ship · 2 bad input
"""

NOT_BUILT = (
    "the browser target in this demo: `dawg-bench latency --hardware browser` measures it (the demo skips Chromium)",
)


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("demo", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--suite", default="demo", help="suite to run (default: demo)")
    p.add_argument("--recorded", metavar="DIR",
                   help="also score a folder of real recordings as a separate test set "
                        "(e.g. /usr/share/hyperrogue/music)")
    p.add_argument("--db", metavar="PATH", help="results database (default: <cache>/results.db)")
    p.add_argument("--no-train", action="store_true",
                   help="do not train quick models for tasks that have no release yet (default: train them)")
    p.add_argument("--json", metavar="PATH", help="write the run report with latency and gate verdicts "
                                                  "(default: <cache>/reports/demo-<suite>.json)")
    p.set_defaults(handler=run)


def _train_missing(suite, console) -> None:
    """Quick models for the tasks that have a trainer and no release yet (on the suite's train split)."""
    from harness.commands.train import training_progress
    from harness.models import models_dir, newest_per_task
    from harness.progress import reporting
    from trainers.pipeline import TRAINED_TASKS, train_task

    have = newest_per_task()
    for task in [t for t in TRAINED_TASKS if t in suite.tasks and t not in have]:
        with reporting(console, f"training a quick {task} model") as progress:
            folder = train_task(task, suite, profile="quick", models_root=models_dir(),
                                progress=training_progress(progress),
                                log=lambda line: console.print(f"  {line}", highlight=False))
        console.print(f"trained {folder.name} ({task}, quick profile) → {folder}", highlight=False)


def run(args: argparse.Namespace) -> int:
    from rich.markup import escape

    from harness.atomic import check_destination, write_json_atomic
    from harness.commands.gate import print_verdicts
    from harness.commands.latency import print_latency
    from harness.gate import gate_all, gated_release, nothing_to_ship
    from harness.latency.loadgen import Settings
    from harness.latency.measure import measure_release
    from harness.latency.targets import get_targets
    from harness.models import discover_releases, models_dir, newest_per_task
    from harness.paths import subdir
    from harness.pipeline import run_pipeline
    from harness.scorecard import print_scorecards, wide_console
    from harness.store import Store
    from harness.suites import load_suite

    check_destination(args.json, "--json")
    console = wide_console()
    started = time.perf_counter()
    suite = load_suite(args.suite)
    console.rule(f"DAWG Bench demo · suite {suite.name}")
    if not args.no_train:
        _train_missing(suite, console)
    report = run_pipeline(suite.name, recorded=args.recorded, db=args.db, console=console, quiet=True)
    releases = newest_per_task()
    latency_rows: list[dict] = []
    store = Store(args.db)
    try:
        if releases:
            targets = get_targets(list(suite.hardware.targets))
            with console.status("measuring latency"):
                for release in releases.values():
                    # one thread: the rows the gate and the ship rule read (`dawg-bench latency` adds the
                    # machine's other thread counts); it halves the demo's latency time
                    latency_rows += measure_release(release, targets, settings=Settings(min_duration_s=0.5),
                                                    thread_counts=(1,))
            store.add_latencies(latency_rows)
        print_scorecards(report, console)
        if latency_rows:
            print_latency(latency_rows, console)
        console.rule("gate")
        results = []
        if releases:
            latencies = store.latencies()
            results = gate_all(suite, [gated_release(r, latencies) for r in releases.values()], store,
                               discover_releases())
        else:
            results = [nothing_to_ship(str(models_dir()))]
        print_verdicts(suite.name, results, console)
    finally:
        store.close()
    report["latency"] = latency_rows
    report["gates"] = [{"candidate": label, "run_id": run_id, "verdicts": [v.to_json() for v in verdicts]}
                       for label, run_id, verdicts in results]
    out = Path(args.json) if args.json else subdir("reports") / f"demo-{suite.name}.json"
    write_json_atomic(out, report)
    console.rule("summary")
    console.print(f"demo finished in {time.perf_counter() - started:.0f} s · run {report['run_id']} · corpus "
                  f"{report['corpus']['manifest_hash'][:12]} · {len(report['failures'])} failure(s) · "
                  f"report {escape(str(out))}")
    console.print("[bold yellow]Not built yet[/] — skipped by this demo:")
    for item in NOT_BUILT:
        console.print(f"  • {item}")
    console.print("AWS cost, fleet size and ROI are their own command: `dawg-bench cost`, `cost capacity` (it reads "
                  "the latency rows this demo stored), `cost roi`, `cost seed` (the plan audited).", highlight=False)
    db = f" --db {args.db}" if args.db else ""
    console.print(f"See it all in the leadership dashboard: `dawg-bench dashboard{db}` (http://127.0.0.1:8501).",
                  highlight=False)
    return 0 if all(v.passed for _, _, vs in results for v in vs) else 1  # the gate's exit code

"""Suite → corpus → run → report → store: the flow `run` and `demo` share."""

from __future__ import annotations

import time
from pathlib import Path

from rich.console import Console
from rich.markup import escape

from harness.atomic import write_json_atomic
from harness.candidates import get_candidate, model_candidates
from harness.corpus.build import build_corpus
from harness.progress import reporting
from harness.report import aggregate_rows, build_report
from harness.runner import run_suite
from harness.scorecard import print_scorecards, wide_console
from harness.store import Store
from harness.suites import load_suite


def run_pipeline(suite_name: str, *, corpus: str | None = None, recorded: str | None = None, seed: int | None = None,
                 candidates: list[str] | None = None, json_path: str | None = None, db: str | None = None,
                 workers: int | None = None, console: Console | None = None, quiet: bool = False,
                 fresh: bool = False) -> dict:
    console = console or wide_console()
    suite = load_suite(suite_name)
    # Default: the suite's candidates plus every model release (FP32 and INT8) in the registry folder.
    names = candidates or list(suite.candidates.names) + model_candidates()
    if not candidates:
        from harness.models import bad_releases

        for _, why in bad_releases():  # listed, never blocking the other candidates
            console.print(f"[yellow]skipped a bad model release[/]: {escape(why)}")
    for name in names:
        get_candidate(name)  # unknown names fail now, with a suggestion, before any work
    with reporting(console, f"corpus {suite.name}") as progress:
        manifest = build_corpus(suite, seed=seed, folder=corpus, recorded=recorded, workers=workers,
                                progress=progress)
    for r in manifest.rejected:
        console.print(f"[yellow]skipped[/] {escape(r['file'])}: {escape(r['reason'])}")
    store = Store(db)
    try:
        with reporting(console, "scoring") as progress:
            outcome = run_suite(suite, manifest, names, store, workers=workers, fresh=fresh, progress=progress)
        if outcome.resumed and outcome.examples_skipped:
            when = time.strftime("%Y-%m-%d %H:%M", time.localtime(outcome.started_at)) if outcome.started_at else "?"
            console.print(f"resumed run {outcome.run_id} (started {when}; same suite content, corpus, code and "
                          f"candidate files): {outcome.examples_skipped} finished examples reused; --fresh to re-score")
        report = build_report(suite, manifest, outcome.run_id, store.clip_results(outcome.run_id),
                              failures=outcome.failures, unavailable=outcome.unavailable)
        store.finish_run(outcome.run_id, report, aggregate_rows(report))
    finally:
        store.close()
    if json_path:
        write_json_atomic(Path(json_path), report)
    if not quiet:
        print_scorecards(report, console)
        if json_path:
            console.print(f"report written to {json_path}")
    return report


__all__ = ["run_pipeline"]

"""`dawg-bench gate SUITE`: may this model release ship? Exit 0 pass, 1 a gate failed, 2 invalid input."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

HELP = "check a model release against the suite's pass bars (CI quality gate)"
EXAMPLES = """examples:
  dawg-bench gate release                                   # newest release of each task
  dawg-bench gate release --candidate eq-v3 --against eq-v2 --junit gate.xml --markdown gate.md
  dawg-bench gate smoke --candidate rules                   # any scored candidate, e.g. today's rules

Needs a finished `dawg-bench run SUITE` that scored the candidate (and `dawg-bench latency` for
latency bars). Missing evidence, or no release to ship, fails the gate (exit 1, files written).
`eq-v3`/`eq-v2` above are illustrative release names: `ls $DAWG_BENCH_MODELS/*/` lists yours.
exit codes: 0 every gate passed · 1 a gate failed or nothing to ship · 2 invalid input (unknown suite,
candidate or --against, unreadable database)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("gate", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("suite", metavar="SUITE")
    p.add_argument("--candidate", metavar="RELEASE", help="release (or candidate) to gate (default: newest per task)")
    p.add_argument("--against", metavar="RELEASE",
                   help="previous release for the regression bar (default: the one before)")
    p.add_argument("--junit", metavar="PATH", help="write JUnit XML, one testcase per gate")
    p.add_argument("--markdown", metavar="PATH", help="write a Markdown summary for a pull-request comment")
    p.add_argument("--db", metavar="PATH", help="results database (default: <cache>/results.db)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.atomic import check_destination, write_text_atomic
    from harness.errors import UserError
    from harness.gate import Gated, gate_all, gated_release, junit_xml, markdown_summary, nothing_to_ship
    from harness.models import discover_releases, find_release, models_dir, newest_per_task
    from harness.store import Store
    from harness.suites import load_suite

    check_destination(args.junit, "--junit")
    check_destination(args.markdown, "--markdown")
    suite = load_suite(args.suite)
    if not suite.bars:
        raise UserError(f"{suite.path}: the suite defines no [[bars]] to gate on")
    from harness.models import bad_releases

    releases = discover_releases()
    for _, why in bad_releases():  # listed, never blocking the other candidates
        print(f"skipped a bad model release: {why}", file=sys.stderr)
    store = Store(args.db)
    try:
        latencies = store.latencies()
    finally:
        store.close()
    if args.candidate:
        names = {r.name for r in releases}
        if args.candidate in names:
            targets = [gated_release(find_release(args.candidate), latencies)]
        else:
            from harness.candidates import get_candidate

            get_candidate(args.candidate)  # unknown → UserError with a suggestion
            targets = [Gated(label=args.candidate, task=None, candidate=args.candidate)]
    else:
        targets = [gated_release(r, latencies) for r in newest_per_task().values()]
    against = find_release(args.against) if args.against else None
    if against is not None:
        for t in targets:
            if t.release is None or t.release.task != against.task or t.release.name == against.name:
                raise UserError(f"--against {against.name} ({against.task}) must be another release of the same "
                                f"task as {t.label}")
    if targets:
        store = Store(args.db)
        try:
            results = gate_all(suite, targets, store, releases, against=against)
        finally:
            store.close()
    else:
        results = [nothing_to_ship(str(models_dir()))]
    print_verdicts(suite.name, results)
    if args.junit:
        if len(results) == 1:
            label, run_id, verdicts = results[0]
            xml = junit_xml(suite.name, label, verdicts, run_id)
        else:
            xml = _merge_junit(suite.name, results)
        write_text_atomic(Path(args.junit), xml)
    if args.markdown:
        write_text_atomic(Path(args.markdown), markdown_summary(suite.name, results))
    return 0 if all(v.passed for _, _, vs in results for v in vs) else 1


def _merge_junit(suite: str, results) -> str:
    import xml.etree.ElementTree as ET

    from harness.gate import junit_xml

    root = ET.Element("testsuites")
    total = failures = 0
    for label, run_id, verdicts in results:
        inner = ET.fromstring(junit_xml(suite, label, verdicts, run_id).split("?>", 1)[1])
        for ts in inner:
            root.append(ts)
        total += len(verdicts)
        failures += sum(not v.passed for v in verdicts)
    root.set("tests", str(total))
    root.set("failures", str(failures))
    return ET.tostring(root, encoding="unicode", xml_declaration=True)


def print_verdicts(suite: str, results, console=None) -> None:
    from rich.table import Table

    from harness.scorecard import wide_console

    console = console or wide_console()
    ok = all(v.passed for _, _, vs in results for v in vs)
    for label, run_id, verdicts in results:
        t = Table(title=f"gate {suite} · {label} · run {run_id}", title_justify="left")
        for col in ("", "gate", "task", "detail"):
            t.add_column(col)
        for v in verdicts:
            t.add_row("[green]PASS[/]" if v.passed else "[red]FAIL[/]", v.gate, v.task, v.detail)
        console.print(t)
    console.print(f"[bold]GATE {'PASS' if ok else 'FAIL'}[/]", style="green" if ok else "red")
    sys.stdout.flush()

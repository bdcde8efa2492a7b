"""`dawg-bench run SUITE`: score every candidate on the suite's test clips; scorecard + JSON + store."""

from __future__ import annotations

import argparse

HELP = "score candidates on a suite: per-clip metrics, gap closed, CIs, scorecard"
EXAMPLES = """examples:
  dawg-bench run smoke
  dawg-bench run release --json results/release.json
  dawg-bench run smoke --candidates bypass oracle rules
  dawg-bench run release --corpus ~/Music/finished-mixes --db /tmp/results.db
  dawg-bench run release --recorded /usr/share/hyperrogue/music   # generated + a recorded test set

A re-run with the same suite, corpus and candidates resumes: finished clips are not redone.
exit codes: 0 all scored · 1 some clips or candidates failed (recorded; the rest finished) · 2 bad input
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("run", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("suite", metavar="SUITE", help="suite name (dawg-bench suites list) or .toml path")
    p.add_argument("--corpus", metavar="DIR", help="use clips cut from this folder instead of generated music")
    p.add_argument("--recorded", metavar="DIR", help="add clips of this folder of real audio as a separate test set")
    p.add_argument("--seed", type=int, help="override the suite's corpus seed")
    p.add_argument("--candidates", nargs="+", metavar="NAME", help="score only these (default: the suite's list)")
    p.add_argument("--json", metavar="PATH", help="write the run report (schema: docs/run-schema.json)")
    p.add_argument("--db", metavar="PATH", help="results database (default: <cache>/results.db)")
    p.add_argument("--workers", type=int, help="processes (default: up to 2)")
    p.add_argument("--fresh", action="store_true",
                   help="score everything again instead of resuming a run with the same identity")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.errors import UserError
    from harness.pipeline import run_pipeline

    if args.workers is not None and args.workers < 1:
        raise UserError("--workers must be ≥ 1")
    from harness.atomic import check_destination

    check_destination(args.json, "--json")
    report = run_pipeline(args.suite, corpus=args.corpus, recorded=args.recorded, seed=args.seed,
                          candidates=args.candidates, json_path=args.json, db=args.db, workers=args.workers,
                          fresh=args.fresh)
    return 1 if report["failures"] else 0

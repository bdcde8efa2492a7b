"""`dawg-bench suites list|validate|show`: suites are data; check them before a run needs them."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "list, validate or show the benchmark suites (suites/*.toml)"
EXAMPLES = """examples:
  dawg-bench suites list
  dawg-bench suites validate              # every suite; exit 1 if any is invalid
  dawg-bench suites validate smoke my_suite.toml
  dawg-bench suites show release --json
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("suites", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    raw = argparse.RawDescriptionHelpFormatter
    verbs.add_parser("list", help="names and descriptions of the suites", formatter_class=raw,
                     epilog="examples:\n  dawg-bench suites list\n\nAn invalid suite is listed as INVALID "
                            "with its reason (exit 1); the others still print.")
    v = verbs.add_parser("validate", help="check suites: schema, includes, and that every name resolves",
                         formatter_class=raw,
                         epilog="examples:\n  dawg-bench suites validate              # every suite\n"
                                "  dawg-bench suites validate smoke my_suite.toml\n\n"
                                "exit codes: 0 all valid · 1 some invalid (each listed with its reason)")
    v.add_argument("suites", nargs="*", metavar="SUITE", help="names or .toml paths (default: all)")
    s = verbs.add_parser("show", help="the fully resolved suite, includes merged", formatter_class=raw,
                         epilog="examples:\n  dawg-bench suites show release\n  dawg-bench suites show smoke --json")
    s.add_argument("suite", metavar="SUITE")
    s.add_argument("--json", action="store_true")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.errors import UserError
    from harness.suites import available_suites, load_suite

    if args.verb == "list":
        bad = 0
        for name in available_suites():
            try:
                suite = load_suite(name)
            except UserError as exc:
                bad += 1
                print(f"{name:10s} INVALID: {exc}")
                continue
            print(f"{name:10s} {suite.corpus.clips:5d} clips × {suite.corpus.clip_seconds:g} s  {suite.description}")
        return 1 if bad else 0
    if args.verb == "show":
        suite = load_suite(args.suite)
        if args.json:
            print(json.dumps(suite.model_dump(), indent=2))
        else:
            from rich.pretty import pprint

            pprint(suite.model_dump(), expand_all=True)
        return 0
    names = args.suites or available_suites()
    bad = 0
    for name in names:
        try:
            suite = load_suite(name)
            print(f"ok       {name}  ({len(suite.tasks)} tasks, {suite.corpus.clips} clips)")
        except UserError as exc:
            bad += 1
            print(f"INVALID  {exc}", file=sys.stderr)
    return 1 if bad else 0

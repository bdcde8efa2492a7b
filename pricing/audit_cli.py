"""`dawg-bench cost seed [--json]`: the plan's every dollar figure, percentage and multiple, recomputed
(pricing/audit.py, spec pricing/audit/plan_audit.toml). The cost command owns the verb and calls
`register_seed(verbs)` and `run_seed(args)`; `python -m pricing.audit_cli [--json]` runs it alone.

Exit codes: 0 every figure audited · 1 the plan has figures the spec does not cover, or the spec
keys figures the plan no longer has (e.g. `--plan` points at an edited plan) · 2 bad input.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

HELP = "audit the plan: every $, % and x figure recomputed from its own prices and the catalogue"
EPILOG = """examples:
  dawg-bench cost seed                      # the table: claim, plan, recomputed, catalogue, diff, verdict, reason
  dawg-bench cost seed --findings           # only the figures that are not ok
  dawg-bench cost seed --json               # a list of objects: claim, line, seed_value, recomputed_value, ...
  dawg-bench cost seed --plan my-plan.md    # another version of the plan (exit 1 lists what the spec misses)

recomputed: the figure redone on the plan's own unit prices, with the one correction its verdict names;
catalogue: the same expression on the price catalogue (--catalog DATE|PATH, default the newest snapshot).
Verdicts: ok · arithmetic slip · different unit · missing component · wrong premise · unverifiable claim ·
not a cost. The findings are summarised in docs/plan-audit.md.
exit codes: 0 every figure audited · 1 figures without an audit entry (or entries without a figure) · 2 bad input
"""
_QUIET = {"ok", "not a cost"}


def _add_options(p: argparse.ArgumentParser, *, nested: bool) -> None:
    # Nested under `cost`, the parent may already define --json/--catalog: SUPPRESS keeps a value given
    # before the verb instead of resetting it (argparse applies a subparser's defaults over the parent's).
    default = argparse.SUPPRESS if nested else None
    p.add_argument("--json", action="store_true", default=argparse.SUPPRESS if nested else False,
                   help="print the audit as a JSON list")
    p.add_argument("--catalog", metavar="DATE|PATH", default=default,
                   help="price catalogue for the cross-check (default: newest snapshot)")
    p.add_argument("--plan", metavar="PATH", default=None, help="the plan to audit (default: the audited copy, "
                   "pricing/audit/dawg-ml-plan.md)")
    p.add_argument("--findings", action="store_true", help="table: only figures whose verdict is not ok / not a cost")


def register_seed(verbs: argparse._SubParsersAction) -> argparse.ArgumentParser:
    """Add the `seed` verb to the cost command's sub-parsers; it dispatches through `cost_verb`."""
    v = verbs.add_parser("seed", help=HELP.replace("%", "%%"), description=HELP, epilog=EPILOG,
                         formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_options(v, nested=True)
    v.set_defaults(cost_verb=run_seed)
    return v


def run_seed(args: argparse.Namespace) -> int:
    from pricing.audit import run_audit, summary

    audit = run_audit(getattr(args, "plan", None), catalog=getattr(args, "catalog", None))
    if getattr(args, "json", False):
        print(json.dumps(audit.rows, indent=1, ensure_ascii=False))
    else:
        rows = [r for r in audit.rows if not getattr(args, "findings", False) or r["verdict"] not in _QUIET]
        _print_table(rows, audit.catalogue)
        counts = summary(audit.rows)
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(counts["kind"].items()))
        verdicts = ", ".join(f"{n} {v}" for v, n in sorted(counts["verdict"].items(), key=lambda kv: -kv[1]))
        print(f"\n{len(audit.rows)} figures ({kinds}): {verdicts}. Catalogue: {audit.catalogue}.")
    for fig in audit.unaudited:
        print(f"unaudited: line {fig.line} {fig.text!r}: {fig.claim}", file=sys.stderr)
    for line, text, nth in audit.stale:
        print(f"stale audit entry: line {line} {text!r} (nth {nth}) matches no figure in the plan", file=sys.stderr)
    return 1 if audit.unaudited or audit.stale else 0


# ─── formatting ──────────────────────────────────────────────────────────────────────────────────


def _one(value: float | int, kind: str, *, signed: bool = False) -> str:
    if signed and value == 0:
        return "0"
    sign = ("+" if value > 0 else "−") if signed else ("−" if value < 0 else "")
    v = Decimal(str(abs(value)))
    if kind == "dollar":
        if v >= 100:
            text = f"{v:,.2f}".removesuffix(".00")
        else:  # unit prices keep their digits ($0.0125, $14.688), at least cents
            text = f"{v.quantize(Decimal('0.0001')).normalize():,f}"
            decimals = len(text.split(".")[1]) if "." in text else 0
            text = f"{v:,.2f}" if decimals < 2 else text
        return f"{sign}${text}"
    text = f"{v:,.2f}".rstrip("0").rstrip(".")
    if kind == "percent":
        return f"{sign}{text}{' pp' if signed else ' %'}"
    return f"{sign}{text}x"


def format_value(value: Any, kind: str, *, signed: bool = False) -> str:
    """'$1,836', '$0.023', '40.03 %', '58.39x'; a range 'a – b'; None '—'. `signed` for differences
    (percentages then in percentage points)."""
    if value is None:
        return "—"
    if isinstance(value, list):
        return " – ".join(_one(v, kind, signed=signed) for v in value)
    return _one(value, kind, signed=signed)


def _shorten(text: str, width: int = 48) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def _print_table(rows: Sequence[dict[str, Any]], catalogue: str) -> None:
    from rich.console import Console
    from rich.table import Table

    colour = {"ok": "green", "not a cost": "dim", "unverifiable claim": "yellow", "unaudited": "bold red"}
    table = Table(title="The plan, audited (dawg-ml-plan.md)", expand=True)
    number = {"justify": "right", "no_wrap": True}
    for name, opts in (("line", number), ("claim", {"ratio": 2}), ("plan", number), ("recomputed", number),
                       ("catalogue", number), ("diff", number), ("verdict", {"no_wrap": True}),
                       ("reason", {"ratio": 3})):
        table.add_column(name, **opts)
    for r in rows:
        style = colour.get(r["verdict"], "red")
        table.add_row(str(r["line"]), _shorten(r["claim"]), format_value(r["seed_value"], r["kind"]),
                      format_value(r["recomputed_value"], r["kind"]), format_value(r["catalogue_value"], r["kind"]),
                      format_value(r["difference"], r["kind"], signed=True), f"[{style}]{r['verdict']}[/]",
                      r["reason"])
    console = Console(width=max(Console().width, 160))
    console.print(table)
    if catalogue.startswith("catalogue:"):
        console.print(f"[dim]{catalogue}[/]")


def main(argv: Sequence[str] | None = None) -> int:
    from harness.errors import UserError

    parser = argparse.ArgumentParser(prog="python -m pricing.audit_cli", description=HELP, epilog=EPILOG,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    _add_options(parser, nested=False)
    args = parser.parse_args(argv)
    try:
        return run_seed(args)
    except UserError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


if __name__ == "__main__":
    sys.exit(main())

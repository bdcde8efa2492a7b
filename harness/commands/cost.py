"""`dawg-bench cost`: what the plan's AWS setups cost, line by line, from dated prices and usage presets.

The bare command is the breakdown; sub-verbs sit beside it (`presets`, `prices`, `refresh`). To add
one (`capacity`, `roi`, `seed`): a `_register_<verb>(verbs)` that adds its parser with
`set_defaults(cost_verb=_run_<verb>)`, a `_run_<verb>(args)`, and a call in `register`. Options
shared with the breakdown (`--catalog`, `--json`) are accepted before or after the verb.
"""

from __future__ import annotations

import argparse
import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

HELP = "AWS cost breakdown of the plan's setups from a dated price catalogue and usage presets"
DEFAULT_PRESET = "option-2-hybrid"
EXAMPLES = f"""examples:
  dawg-bench cost                                  # the {DEFAULT_PRESET} preset, newest catalogue
  dawg-bench cost --preset poc --json
  dawg-bench cost --preset option-3-production --catalog 2026-12-01
  dawg-bench cost --preset my-usage.toml --catalog pricing/catalog/2026-12-01.toml
  dawg-bench cost presets                          # the presets and their totals
  dawg-bench cost prices                           # every price item: price, source kind, as-of
  dawg-bench cost refresh --out /tmp/prices.json   # live prices via boto3 (needs AWS credentials)
  dawg-bench cost capacity --users 10000 --slo-ms 100   # fleet size from the stored latency rows
  dawg-bench cost roi                              # cash flow, break-even, gross and net ROI, P10/P50/P90
  dawg-bench cost seed                             # the owner's plan, every figure audited

Prices are catalogue data (each line says official, secondary or assumed, and its as-of date);
quantities come from the preset and are labelled assumption, projection or measurement. A component
without a quantity prints "depends on usage: $X per unit" and is left out of the total, which says so.
A month is 730 hours; each TB → GB conversion states 1,000 or 1,024 (docs/pricing.md).
exit codes: 0 ok · 2 bad input (unknown preset, catalogue or SKU; bad data; no AWS credentials or network)
"""


def register(sub: argparse._SubParsersAction) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("cost", help=HELP, description=HELP, epilog=EXAMPLES, formatter_class=raw)
    p.add_argument("--preset", default=DEFAULT_PRESET, metavar="NAME",
                   help=f"usage preset name (pricing/presets/) or .toml path (default: {DEFAULT_PRESET})")
    _catalog_options(p, top=True)
    _load_options(p, top=True)
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    _register_presets(verbs, raw)
    _register_prices(verbs, raw)
    _register_refresh(verbs, raw)
    _register_capacity(verbs, raw)
    _register_roi(verbs, raw)
    from pricing.audit_cli import register_seed

    register_seed(verbs)
    p.set_defaults(handler=run, cost_verb=_run_breakdown)


def run(args: argparse.Namespace) -> int:
    handler: Callable[[argparse.Namespace], int] = args.cost_verb
    return handler(args)


def _load_options(p: argparse.ArgumentParser, top: bool) -> None:
    """Load overrides, accepted by the bare command (breakdown + capacity) and by `capacity`."""
    default = None if top else argparse.SUPPRESS
    p.add_argument("--users", type=int, default=default, help="override the load profile's users")
    p.add_argument("--requests-per-user", type=float, default=default, help="override requests per user per day")
    p.add_argument("--requests-per-month", type=float, default=default, help="override the monthly request count")
    p.add_argument("--slo-ms", type=float, default=default, help="override the p95 latency SLO")
    p.add_argument("--db", metavar="PATH", default=default,
                   help="results database with the latency rows (default: <cache>/results.db)")


def _catalog_options(p: argparse.ArgumentParser, top: bool) -> None:
    # A verb's copy must not reset what was given before the verb: argparse applies a subparser's
    # defaults over the parent's values, so the verbs' copies have no default at all (SUPPRESS).
    default = None if top else argparse.SUPPRESS
    p.add_argument("--catalog", metavar="DATE|PATH", default=default,
                   help="price catalogue: a snapshot date (YYYY-MM-DD) or a file (default: newest snapshot)")
    p.add_argument("--json", action="store_true", default=False if top else argparse.SUPPRESS,
                   help="print JSON (Decimals as strings)")


# ─── breakdown (the bare command) ──────────────────────────────────────────────────────────────


def _run_breakdown(args: argparse.Namespace) -> int:
    from pricing.catalogs import load_catalog
    from pricing.model import breakdown
    from pricing.presets import load_preset

    catalog = load_catalog(args.catalog)
    preset = load_preset(args.preset)
    result = breakdown(catalog, preset)
    if args.json:
        data = result.to_json()
        data["catalog_note"] = catalog.snapshot.note
        print(json.dumps(data, indent=1))
        return 0
    print(f"cost: {preset.name} — {preset.description}")
    if preset.plan_ref:
        print(f"plan: {preset.plan_ref}")
    print(f"catalogue: {catalog.path} (snapshot {catalog.snapshot.as_of}: {catalog.snapshot.note})")
    free = "12-month free tier applied (account in its first year)" if preset.free_tier_12_month \
        else "12-month free tier not applied; always-free allowances applied"
    print(f"prices: catalogue data, labelled by source kind · quantities: preset, labelled by basis · {free}")
    print()
    sources: dict[str, int] = {}
    rows = []
    for line in result.lines:
        ref = sources.setdefault(line.price_source, len(sources) + 1)
        quantity = "—" if line.quantity is None else f"{_number(line.quantity)} {line.unit}"
        cost = line.cost_text()
        if line.free_kind:
            cost += f" ({_number(line.free_quantity)} {line.unit} {line.free_kind})"
        rows.append([line.resource, line.component, quantity, line.quantity_basis, line.price_text, cost,
                     f"{line.price_source_kind} [{ref}]", str(line.price_as_of)])
    header = ["resource", "component", "quantity", "basis", "unit price", "cost", "price source", "as-of"]
    _print_table(header, rows)
    print()
    print(f"total: {result.total_text()}")
    for line in result.depends_on_usage:
        print(f"  not in the total: {line.resource}/{line.component}: {line.cost_text()}")
    print()
    print("quantities (where each comes from):")
    for line in result.lines:
        how = f"{line.quantity_text}; " if line.quantity_text else ""
        print(f"  {line.resource}/{line.component}: {how}{line.quantity_source}")
    print("price sources:")
    for source, ref in sources.items():
        print(f"  [{ref}] {source}")
    if any(getattr(args, k, None) is not None for k in ("users", "requests_per_user", "requests_per_month", "slo_ms")):
        print()
        return _run_capacity(args)  # the load given: the fleet it needs, from the stored latency rows
    return 0


# ─── capacity and ROI ───────────────────────────────────────────────────────────────────────────


CAPACITY_EXAMPLES = """examples:
  dawg-bench cost capacity                              # the controller profile, newest latency rows
  dawg-bench cost capacity --profile heavy --requests-per-month 1000000
  dawg-bench cost capacity --users 50000 --requests-per-user 30 --slo-ms 100 --json

Service times come from the results store's latency rows (`dawg-bench latency` writes them): the newest
VALID measured end-to-end row per target, else a projection, labelled PROJECTED. Prices per instance-hour
(and per CDN GB for the browser) come from the price catalogue. M/M/c (Erlang C) sizing, cross-checked by
a seeded simulation (docs/capacity-roi.md)."""


def _register_capacity(verbs: argparse._SubParsersAction, raw: type[argparse.HelpFormatter]) -> None:
    v = verbs.add_parser("capacity", help="fleet size, utilisation, p95 latency and cost per target from measured "
                                          "latency", epilog=CAPACITY_EXAMPLES, formatter_class=raw)
    v.add_argument("--profile", default="controller", help="load profile (pricing/profiles/; default controller)")
    _load_options(v, top=False)
    v.add_argument("--model", help="release whose latency rows are used (default: the newest rows of any)")
    _catalog_options(v, top=False)
    v.set_defaults(cost_verb=_run_capacity)


def _capacity(args: argparse.Namespace) -> dict:
    from harness.errors import UserError
    from harness.store import Store
    from pricing.capacity import capacity_report, load_profile, load_targets
    from pricing.catalogs import load_catalog, price

    profile = load_profile(getattr(args, "profile", "controller"))
    users, per_user, per_month, slo_ms = (getattr(args, k, None) for k in ("users", "requests_per_user",
                                                                           "requests_per_month", "slo_ms"))
    if any(v is not None and v <= 0 for v in (users, per_user, per_month, slo_ms)):
        raise UserError("--users, --requests-per-user, --requests-per-month and --slo-ms must be > 0")
    profile = profile.with_overrides(users=users, requests_per_user_per_day=per_user, requests_per_month=per_month,
                                     slo_ms=slo_ms)
    catalog = load_catalog(getattr(args, "catalog", None))
    prices = {}
    for name, spec in load_targets().items():
        if "catalog_sku" in spec:
            item = price(catalog, spec["catalog_sku"])
            prices[name] = item.usd if item.usd is not None else item.tiers[0].usd
    store = Store(getattr(args, "db", None))
    try:
        rows = store.latencies()
    finally:
        store.close()
    model = getattr(args, "model", None)
    report = capacity_report(profile, rows, model=model, prices=prices, model_bytes=_model_bytes(model, rows))
    report["prices_from"] = f"catalogue {catalog.path} (snapshot {catalog.snapshot.as_of})"
    return report


def _model_bytes(model: str | None, rows: list[dict]) -> int | None:
    """The shipped file's size for the browser target's CDN cost: the named release, else the newest row's."""
    from harness.errors import UserError
    from harness.models import find_release

    name = model or next((r["model"] for r in reversed(rows)), None)
    if name is None:
        return None
    try:
        release = find_release(name)
    except UserError:
        return None
    return release.download_file()[1].stat().st_size


def _run_capacity(args: argparse.Namespace) -> int:
    report = _capacity(args)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return 0
    print(f"capacity: profile {report.get('profile')} · {report.get('prices_from')}")
    header = ["target", "latency from", "instances", "utilisation", "p95 latency", "SLO", "monthly", "per 1k",
              "per audio-h"]
    rows = []
    for r in report.get("targets", []):
        label = (r.get("service_time") or {}).get("label", "—")
        if r.get("kind") == "browser":  # no browser is measured here (Browser issue): the client proxy is the CPU row
            label = f"{label} cpu as proxy"
        p95 = r.get("latency_p95_s")
        rows.append([str(r.get("target")), label, str(r.get("instances", "—")), _fmt(r.get("utilisation")),
                     _fmt(p95 * 1000 if isinstance(p95, (int, float)) else None, " ms"),
                     "meets" if r.get("meets_slo") else "misses", f"${r.get('monthly_usd')}",
                     f"${r.get('usd_per_1000_inferences')}", f"${r.get('usd_per_audio_hour')}"])
    _print_table(header, rows)
    print("  latency from: MEASURED = a valid measured row on that hardware; PROJECTED = the device model "
          "(docs/latency.md); PROFILE = the load profile's stated service time (an assumption); prices: the "
          "catalogue")
    for name, why in (report.get("unavailable") or {}).items():
        print(f"  {name}: unavailable — {why}")
    if report.get("cheapest_meeting_slo"):
        print(f"cheapest target meeting the SLO: {report['cheapest_meeting_slo']}")
    if report.get("plan_check"):
        print(f"plan check: {report['plan_check']}")
    return 0


def _fmt(value: Any, unit: str = "") -> str:
    if value is None:
        return "—"
    try:
        return f"{float(value):.3g}{unit}"
    except (TypeError, ValueError):
        return str(value)


def _register_roi(verbs: argparse._SubParsersAction, raw: type[argparse.HelpFormatter]) -> None:
    v = verbs.add_parser("roi", help="monthly cash flow, break-even, gross and net ROI, Monte Carlo P10/P50/P90, "
                                     "tornado", formatter_class=raw,
                         epilog="examples:\n  dawg-bench cost roi\n  dawg-bench cost roi --draws 50000 --seed 7 "
                                "--json\n\nInputs: pricing/roi/plan.toml (distributions as data, seeded).")
    v.add_argument("--inputs", default="plan", help="ROI inputs (pricing/roi/; default plan)")
    v.add_argument("--draws", type=int, default=10_000, help="Monte Carlo draws (default 10000)")
    v.add_argument("--seed", type=int, default=0)
    _catalog_options(v, top=False)
    v.set_defaults(cost_verb=_run_roi)


def _run_roi(args: argparse.Namespace) -> int:
    from harness.errors import UserError
    from pricing.roi import roi_report

    if args.draws < 1:
        raise UserError("--draws must be ≥ 1")
    report = roi_report(args.inputs, draws=args.draws, seed=args.seed)
    if args.json:
        print(json.dumps(report, indent=1, default=str))
        return 0
    print(json.dumps({k: v for k, v in report.items() if k not in ("cash_flow", "monte_carlo_draws")}, indent=1,
                     default=str))
    return 0


# ─── presets ───────────────────────────────────────────────────────────────────────────────────


def _register_presets(verbs: argparse._SubParsersAction, raw: type[argparse.HelpFormatter]) -> None:
    v = verbs.add_parser("presets", help="list the usage presets with their totals", formatter_class=raw,
                         epilog="examples:\n  dawg-bench cost presets\n  dawg-bench cost presets --json\n\n"
                                "A preset is a TOML file in pricing/presets/ (docs/pricing.md).")
    _catalog_options(v, top=False)
    v.set_defaults(cost_verb=_run_presets)


def _run_presets(args: argparse.Namespace) -> int:
    from pricing.catalogs import load_catalog
    from pricing.model import breakdown
    from pricing.presets import load_preset, preset_registry

    catalog = load_catalog(args.catalog)
    rows = []
    for name in preset_registry():
        preset = load_preset(name)
        result = breakdown(catalog, preset)
        rows.append({"name": name, "period": preset.period, "description": preset.description,
                     "total_usd": f"{result.total_usd:f}", "total_text": result.total_text(),
                     "depends_on_usage": len(result.depends_on_usage)})
    if args.json:
        print(json.dumps({"catalog": catalog.path, "presets": rows}, indent=1))
        return 0
    _print_table(["preset", "period", "total", "description"],
                 [[r["name"], r["period"], r["total_text"], r["description"]] for r in rows])
    print(f"\nprices from {catalog.path}; details: dawg-bench cost --preset NAME")
    return 0


# ─── prices ────────────────────────────────────────────────────────────────────────────────────


def _register_prices(verbs: argparse._SubParsersAction, raw: type[argparse.HelpFormatter]) -> None:
    v = verbs.add_parser("prices", help="list the catalogue's price items", formatter_class=raw,
                         epilog="examples:\n  dawg-bench cost prices\n  dawg-bench cost prices --catalog 2026-12-01 "
                                "--json\n\nplan variants are the plan's figures, kept beside the public price.")
    _catalog_options(v, top=False)
    v.set_defaults(cost_verb=_run_prices)


def _run_prices(args: argparse.Namespace) -> int:
    from pricing.catalogs import catalog_to_json, load_catalog

    catalog = load_catalog(args.catalog)
    if args.json:
        print(catalog_to_json(catalog), end="")
        return 0
    rows = [[item.id, item.price_text(), item.pricing_model + ("" if item.commitment == "none"
                                                                else f" {item.commitment}"),
             item.source_kind + (" (plan)" if item.variant == "plan" else ""), str(item.as_of)]
            for item in catalog.items.values()]
    _print_table(["sku", "price", "model", "source kind", "as-of"], rows)
    print(f"\n{catalog.path}: {catalog.snapshot.note}")
    return 0


# ─── refresh ───────────────────────────────────────────────────────────────────────────────────


def _register_refresh(verbs: argparse._SubParsersAction, raw: type[argparse.HelpFormatter]) -> None:
    v = verbs.add_parser(
        "refresh", help="fetch live AWS prices (boto3) into a new dated catalogue", formatter_class=raw,
        epilog="examples:\n  dawg-bench cost refresh                        # writes pricing/catalog/<today>.json\n"
               "  dawg-bench cost refresh --out /tmp/prices.json\n"
               "  dawg-bench cost refresh --only ec2.g4dn.xlarge,sagemaker.training.ml.g5.12xlarge\n\n"
               "Queries the AWS Price List API (pricing.get_products, us-east-1) and EC2 spot price history\n"
               "for the items that carry a refresh spec; the others are carried over with their own labels.\n"
               "Uses the default AWS credential chain (AWS_PROFILE, AWS_ACCESS_KEY_ID, ...); without\n"
               "credentials or network it says so in one line (exit 2) and writes nothing.")
    v.add_argument("--out", metavar="PATH", help="where to write (default: pricing/catalog/<today>.json)")
    v.add_argument("--only", metavar="SKU[,SKU]", help="refresh just these items")
    _catalog_options(v, top=False)
    v.set_defaults(cost_verb=_run_refresh)


def _run_refresh(args: argparse.Namespace) -> int:
    import datetime as dt

    from harness.atomic import check_destination
    from pricing import refresh
    from pricing.catalogs import load_catalog

    check_destination(args.out, "--out")
    base = load_catalog(args.catalog)
    only = [s.strip() for s in args.only.split(",") if s.strip()] if args.only else None
    pricing_client, ec2_client = refresh.make_clients(base.snapshot.region)
    fresh = refresh.refresh_catalog(base, pricing_client, ec2_client, today=dt.date.today(), only=only)
    path = refresh.write_refreshed(fresh, args.out)
    changed = [sku for sku, item in fresh.items.items() if item.as_of == fresh.snapshot.as_of
               and item.source != base.items[sku].source]
    if args.json:
        print(json.dumps({"written": str(path), "refreshed": changed}, indent=1))
        return 0
    for sku in changed:
        print(f"{sku:45s} {base.items[sku].price_text():>32s} → {fresh.items[sku].price_text()}")
    print(f"wrote {path} ({len(changed)} item(s) fetched; review it, then commit it as a new snapshot)")
    return 0


# ─── formatting ────────────────────────────────────────────────────────────────────────────────


def _number(value: Decimal) -> str:
    """1460 → '1,460'; 0.5 → '0.5' (exact, grouped, no exponent)."""
    return f"{value.normalize():,f}" if value == value.to_integral_value() else f"{value:,f}"


def _print_table(header: list[str], rows: list[list[Any]]) -> None:
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *rows)]
    for row in [header, *rows]:
        print("  ".join(str(cell).ljust(width) for cell, width in zip(row, widths)).rstrip())

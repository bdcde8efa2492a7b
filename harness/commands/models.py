"""`dawg-bench models [show NAME]`: the releases in the model registry folder, with their cards."""

from __future__ import annotations

import argparse
import json

HELP = "list the model releases in the registry folder, or show one release's card"
EXAMPLES = """examples:
  dawg-bench models                       # every release: task, version, profile, sizes, validation
  dawg-bench models show compressor-v1    # its card: provenance, clips, files, validation metrics
  dawg-bench models show compressor-v1 --json
  DAWG_BENCH_MODELS=/shared/models dawg-bench models

The registry folder is $DAWG_BENCH_MODELS, else <cache>/models. A release that cannot be read is
listed as INVALID with its reason (exit 1); the others still print.
exit codes: 0 ok · 1 some release is invalid · 2 bad input (unknown release)
"""


def register(sub: argparse._SubParsersAction) -> None:
    raw = argparse.RawDescriptionHelpFormatter
    p = sub.add_parser("models", help=HELP, description=HELP, epilog=EXAMPLES, formatter_class=raw)
    p.add_argument("--json", action="store_true", help="print the listing as JSON")
    verbs = p.add_subparsers(dest="verb", metavar="VERB")
    s = verbs.add_parser("show", help="one release's card (card.json, else release.json's summary)",
                         formatter_class=raw, epilog="examples:\n  dawg-bench models show eq-v2\n"
                                                     "  dawg-bench models show eq-v2 --json")
    s.add_argument("name", metavar="NAME")
    s.add_argument("--json", action="store_true", help="print the whole card as JSON")
    p.set_defaults(handler=run)


def card_of(release) -> dict:
    """The full card.json a trainer wrote, else the summary release.json carries (fixtures have only that)."""
    from pathlib import Path

    path = Path(release.folder) / "card.json"
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return dict(release.card)
    except (OSError, ValueError) as exc:
        from harness.errors import UserError

        raise UserError(f"{path}: unreadable card ({exc})") from None


def _headline(card: dict) -> str:
    """The one validation figure each trainer reports, named."""
    val = card.get("validation") or {}
    for key in ("val_gap_closed_tonal", "val_param_error_explained"):
        if isinstance(val.get(key), (int, float)):
            return f"{key.removeprefix('val_')} {val[key]:+.3f}"
    return "—"


def _size(card: dict, precision: str) -> str:
    entry = (card.get("files") or {}).get(precision) or {}
    return f"{entry['bytes'] / 1024:.0f} KiB" if isinstance(entry.get("bytes"), int) else "—"


def run(args: argparse.Namespace) -> int:
    from harness.models import find_release, models_dir, scan_releases

    if args.verb == "show":
        release = find_release(args.name)
        card = card_of(release)
        if args.json:
            print(json.dumps({"release": release.name, "folder": release.folder, "fixture": release.fixture,
                              "card": card}, indent=1, sort_keys=True))
            return 0
        print(f"{release.name}  ({release.task} v{release.version}{', test fixture' if release.fixture else ''})")
        print(f"  folder      {release.folder}")
        print(f"  created     {release.created_at or '—'}")
        for key in ("profile", "seed", "device", "suite", "corpus_manifest", "git_sha", "torch", "onnxruntime",
                    "wall_seconds", "int8_size_ratio", "onnx_parity_max_abs"):
            if key in card:
                value = card[key]
                print(f"  {key:<20s}{value:.4g}" if isinstance(value, float) else f"  {key:<20s}{value}")
        for split in ("train", "validation"):
            hashes = card.get(f"{split}_clip_sha256")
            if hashes is not None:
                print(f"  {split + ' clips':<20s}{len(hashes)}")
        for precision, entry in (card.get("files") or {}).items():
            print(f"  {precision:<20s}{entry.get('file')}  {entry.get('bytes')} B  "
                  f"sha256 {str(entry.get('sha256'))[:12]}")
        for key, value in (card.get("validation") or {}).items():
            label = "val " + key.removeprefix("val_")
            print(f"  {label:<30s}{value:.6g}" if isinstance(value, float) else f"  {label:<30s}{value}")
        return 0
    good, bad = scan_releases()
    if args.json:
        print(json.dumps({"folder": str(models_dir()),
                          "releases": [{"name": r.name, "task": r.task, "version": r.version, "fixture": r.fixture,
                                        "created_at": r.created_at, "folder": r.folder, "card": card_of(r)}
                                       for r in good],
                          "invalid": [{"path": p, "reason": why} for p, why in bad]}, indent=1, sort_keys=True))
        return 1 if bad else 0
    if not good and not bad:
        print(f"no model releases in {models_dir()} (train one: dawg-bench train eq)")
        return 0
    print(f"releases in {models_dir()}:")
    print(f"  {'name':<24s}{'task':<12s}{'profile':<9s}{'seed':>5s}  {'fp32':>8s}{'int8':>8s}  validation")
    for r in good:
        card = card_of(r)
        name = r.name + (" (fixture)" if r.fixture else "")
        print(f"  {name:<24s}{r.task:<12s}{str(card.get('profile', '—')):<9s}{str(card.get('seed', '—')):>5s}  "
              f"{_size(card, 'fp32'):>8s}{_size(card, 'int8'):>8s}  {_headline(card)}")
    for _path, reason in bad:
        print(f"  INVALID {reason}")
    return 1 if bad else 0

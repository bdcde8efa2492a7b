"""`dawg-bench corpus build|show SUITE`: the clips a suite scores, built once and cached by recipe."""

from __future__ import annotations

import argparse
import json
import sys

HELP = "build (or find cached) a suite's corpus and summarise it"
EXAMPLES = """examples:
  dawg-bench corpus build smoke
  dawg-bench corpus build release --seed 7 --json
  dawg-bench corpus build smoke --corpus ~/Music/finished-mixes   # your own audio instead of generated
  dawg-bench corpus show release

--corpus DIR: every readable file under DIR (recursive), resampled to the suite's rate; the loudest
non-overlapping clip-length windows (at most 3 per file, none below -60 dBFS) become clips; files,
not clips, are split into train/validation/test; unreadable files are listed with their reason.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("corpus", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    verbs = p.add_subparsers(dest="verb", metavar="VERB", required=True)
    verb_examples = {
        "build": "  dawg-bench corpus build smoke\n  dawg-bench corpus build release --json\n"
                 "  dawg-bench corpus build smoke --corpus ~/Music/finished-mixes   # illustrative folder\n\n"
                 "exit codes: 0 built · 1 built, but some files were rejected (listed) · 2 bad input",
        "show": "  dawg-bench corpus show release\n  dawg-bench corpus show smoke --json",
    }
    for verb, text in (("build", "build or reuse the corpus; print a summary"),
                       ("show", "counts, durations, loudness and genre statistics")):
        v = verbs.add_parser(verb, help=text, epilog="examples:\n" + verb_examples[verb],
                             formatter_class=argparse.RawDescriptionHelpFormatter)
        v.add_argument("suite", metavar="SUITE", help="suite name (see `dawg-bench suites list`) or .toml path")
        v.add_argument("--seed", type=int, help="override the suite's corpus seed")
        v.add_argument("--corpus", metavar="DIR", help="cut clips from this folder of audio instead of generating")
        v.add_argument("--recorded", metavar="DIR", help="add this folder's clips as a recorded test set")
        v.add_argument("--json", action="store_true", help="print a JSON object instead of a table")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.corpus.build import build_corpus
    from harness.progress import reporting
    from harness.suites import load_suite

    suite = load_suite(args.suite)
    err = Console(stderr=True)
    with reporting(err, f"corpus {suite.name}") as progress:
        manifest = build_corpus(suite, seed=args.seed, folder=args.corpus, recorded=args.recorded, progress=progress)
    summary = summarise(manifest)
    if args.json:
        json.dump(summary, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print(summary, verbose=args.verb == "show")
    for r in manifest.rejected:
        print(f"dawg-bench corpus: skipped {r['file']}: {r['reason']}", file=sys.stderr)
    return 1 if manifest.rejected else 0  # built, but not everything given was used


def summarise(manifest) -> dict:
    import numpy as np

    clips = manifest.clips
    lufs = [c.lufs for c in clips if c.lufs is not None]
    tp = [c.true_peak_dbtp for c in clips if c.true_peak_dbtp is not None]
    genres: dict[str, int] = {}
    for c in clips:
        genres[c.genre or "(none)"] = genres.get(c.genre or "(none)", 0) + 1
    return {
        "suite": manifest.suite,
        "manifest_hash": manifest.manifest_hash,
        "source": manifest.recipe.get("kind"),
        "folder": manifest.folder,
        "clips": len(clips),
        "splits": manifest.split_counts(),
        "duration_s": round(sum(c.duration_s for c in clips), 3),
        "sample_rate": clips[0].sample_rate if clips else None,
        "lufs": {"min": min(lufs), "median": float(np.median(lufs)), "max": max(lufs)} if lufs else None,
        "true_peak_dbtp_max": max(tp) if tp else None,
        "genres": genres,
        "sources": manifest.recipe.get("sources"),
        "rejected": list(manifest.rejected),
    }


def _print(s: dict, verbose: bool) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    t = Table(title=f"corpus for suite {s['suite']}", show_header=False, title_justify="left")
    t.add_row("manifest hash", s["manifest_hash"][:16] + "…")
    t.add_row("source", escape(f"{s['source']}  ({s['folder']})"))
    t.add_row("clips", f"{s['clips']}  = " + ", ".join(f"{k} {v}" for k, v in s["splits"].items()))
    t.add_row("audio", f"{s['duration_s'] / 60:.1f} min at {s['sample_rate']} Hz")
    if s["lufs"]:
        t.add_row("loudness",
                  f"{s['lufs']['min']:.2f} … {s['lufs']['max']:.2f} LUFS (median {s['lufs']['median']:.2f})")
    if s["true_peak_dbtp_max"] is not None:
        t.add_row("true peak", f"max {s['true_peak_dbtp_max']:.2f} dBTP")
    t.add_row("genres", ", ".join(f"{g} {n}" for g, n in s["genres"].items()))
    if verbose and s["sources"]:
        t.add_row("sources", ", ".join(f"{k}: {v}" for k, v in s["sources"].items()))
    t.add_row("rejected", str(len(s["rejected"])))
    console.print(t)

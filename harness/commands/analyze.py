"""`dawg-bench analyze FILE... [--json]`: standard meters for each file; bad files don't stop the rest.

Files are read block by block (harness/streaming_analysis.py): memory stays flat however long the file.
"""

from __future__ import annotations

import argparse
import json
import sys

from harness.audio import AudioError

HELP = "measure loudness, peaks, dynamics and tonal balance of audio files"
EXAMPLES = """examples:
  dawg-bench analyze mix.wav
  dawg-bench analyze --json album/*.flac > loudness.json

Files are read in blocks, so memory stays well under 1 GB even for hours of audio.

exit codes: 0 every file analysed · 1 some files could not be read (the rest are still reported)
            · 2 usage error, or some file does not exist (the rest are still reported)
"""

# audio_info's words for a path with nothing at it: bad input (a typo), not a bad file.
MISSING_FILE_PROBLEM = "file not found"


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "analyze", help=HELP, description=HELP, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("files", nargs="+", metavar="FILE", help="WAV/FLAC/OGG/MP3/AIFF, 8–192 kHz, mono or stereo")
    p.add_argument("--json", action="store_true", help="print a JSON list, one object per analysed file")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from harness.streaming_analysis import analyze_file

    reports, failed, missing = [], 0, 0
    for path in args.files:
        try:
            reports.append(analyze_file(path))
        except AudioError as exc:
            failed += 1
            missing += exc.problem == MISSING_FILE_PROBLEM
            print(f"dawg-bench analyze: {exc}", file=sys.stderr)
    if args.json:
        json.dump(reports, sys.stdout, indent=2)
        sys.stdout.write("\n")
    else:
        _print_tables(reports)
    if missing:
        return 2
    return 1 if failed else 0


def _fmt(value, unit: str, digits: int = 1) -> str:
    return "—" if value is None else f"{value:.{digits}f} {unit}"


def _print_tables(reports: list[dict]) -> None:
    from rich.console import Console
    from rich.markup import escape
    from rich.table import Table

    console = Console()
    for r in reports:
        t = Table(title=f"{escape(r['file'])}  ({r['sample_rate']} Hz, {r['channels']} ch, {r['duration_s']:.2f} s)",
                  title_justify="left", show_header=True)
        t.add_column("meter")
        t.add_column("value", justify="right")
        t.add_column("note", style="dim")
        rows = [
            ("integrated loudness", "integrated_lufs", "LUFS"),
            ("loudness range", "loudness_range_lu", "LU"),
            ("true peak", "true_peak_dbtp", "dBTP"),
            ("sample peak", "sample_peak_dbfs", "dBFS"),
            ("crest factor", "crest_factor_db", "dB"),
            ("peak-to-loudness ratio", "plr_db", "dB"),
            ("spectral centroid", "spectral_centroid_hz", "Hz"),
        ]
        for label, key, unit in rows:
            t.add_row(label, _fmt(r[key], unit, 0 if unit == "Hz" else 1), escape(r["unmeasurable"].get(key, "")))
        bands = r["tonal_balance_db"]
        if bands:
            shown = [b for b in bands if b["centre_hz"] in (31.5, 63, 125, 250, 500, 1000, 2000, 4000, 8000, 16000)]
            t.add_row("tonal balance (1/3 oct)",
                      "  ".join(f"{_hz(b['centre_hz'])}:{b['level_db']:.0f}" for b in shown), "dB per band, selected")
        console.print(t)


def _hz(f: float) -> str:
    return f"{f / 1000:g}k" if f >= 1000 else f"{f:g}"

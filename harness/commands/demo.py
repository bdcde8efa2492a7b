"""`dawg-bench demo`: the main job on the embedded default — no AWS, no GPU, no downloads."""

from __future__ import annotations

import argparse
import time

HELP = "run the main job on the embedded default (generated music, CPU only)"
EXAMPLES = """examples:
  dawg-bench demo
  dawg-bench demo --clips 3 --seconds 5
  DAWG_BENCH_HOME=/tmp/dawg dawg-bench demo      # keep its files somewhere else

What it does today: generates seeded music clips (one per genre), meters them
(BS.1770-4 loudness, EBU R128 LRA, true peak, crest), masters each through the
plugin chain (glue compressor → gain → true-peak limiter) to -14 LUFS / -1 dBTP,
meters the result, and prints what is not built yet.
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser(
        "demo", help=HELP, description=HELP, epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--clips", type=int, default=6, help="how many clips to generate (default: 6, one per genre)")
    p.add_argument("--seconds", type=float, default=10.0, help="clip length in seconds (default: 10)")
    p.add_argument("--seed", type=int, default=0, help="generator seed (default: 0)")
    p.set_defaults(handler=run)


NOT_BUILT = (
    "benchmark corpus with degradations and oracles, suites (issue: Benchmark data)",
    "bypass / oracle / rules / match / matchering reference points (issue: Reference points)",
    "runner, scorecards, latency on CPU/T4/A10G, results store, CI gates (issue: Harness)",
    "trainers, pricing and the leadership dashboard (later issues)",
)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import Progress
    from rich.table import Table

    from harness.audio import write_wav
    from harness.corpus.finishing import master_to_target
    from harness.corpus.synth import STYLES, render_arrangement
    from harness.errors import UserError
    from harness.metrics import loudness_stats
    from harness.paths import subdir

    if args.clips < 1 or args.seconds < 1:
        raise UserError("--clips must be ≥ 1 and --seconds ≥ 1")
    console = Console()
    sr = 48_000
    out_dir = subdir("demo")
    styles = list(STYLES.values())
    table = Table(title=f"Generated clips → mastered to -14 LUFS / -1 dBTP ({args.seconds:g} s, {sr} Hz)")
    for col in ("#", "genre", "raw LUFS", "raw dBTP", "raw LRA", "LUFS", "dBTP", "LRA"):
        table.add_column(col, justify="left" if col == "genre" else "right")
    started = time.perf_counter()
    with Progress(console=console, transient=True) as progress:
        task = progress.add_task("generating and mastering", total=args.clips)
        for i in range(args.clips):
            style = styles[i % len(styles)]
            mix = render_arrangement(args.seed * 1000 + i, style, args.seconds, sr)
            raw = loudness_stats(mix, sr)
            done = master_to_target(mix, sr)
            after = loudness_stats(done.audio, sr)
            name = f"demo_{i:02d}_{style.name}.wav"
            write_wav(out_dir / name, done.audio.astype("float32"), sr)
            table.add_row(
                str(i), style.name, _f(raw.integrated_lufs), _f(raw.true_peak_dbtp), _f(raw.loudness_range_lu),
                _f(after.integrated_lufs), _f(after.true_peak_dbtp), _f(after.loudness_range_lu),
            )
            progress.advance(task)
    console.print(table)
    console.print(f"Raw mix → mastered (glue compressor → gain → true-peak limiter). "
                  f"Clips written to [bold]{out_dir}[/] in {time.perf_counter() - started:.1f} s.")
    console.print("\n[bold yellow]Not built yet[/] — the demo will run these as they land:")
    for item in NOT_BUILT:
        console.print(f"  • {item}")
    return 0


def _f(value) -> str:
    return "—" if value is None else f"{value:.1f}"

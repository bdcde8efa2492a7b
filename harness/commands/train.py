"""`dawg-bench train TASK`: train a controller on a suite's train split and write a model release."""

from __future__ import annotations

import argparse

HELP = "train a controller (train/validation splits only) and write a model release (ONNX FP32 + INT8)"
EXAMPLES = """examples:
  dawg-bench train eq                          # quick profile on the release suite's train split
  dawg-bench train eq --suite demo --seed 3
  dawg-bench train eq --profile full           # longer; same data, more steps

Trainers: eq (frequency-domain damage, 1/3-octave loss), compressor (parameter regression on rendered
references) and mastering (parameter regression on the task's own examples and exact oracles);
docs/trainers.md. A release is written whole or not at all, never over another.
exit codes: 0 a release was written · 2 bad input (unknown task or profile, no train clips)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", metavar="TASK")
    p.add_argument("--suite", default="release", help="suite whose corpus supplies the train split (default release)")
    p.add_argument("--profile", default="quick", help="quick (CPU, minutes) or full (default quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu (default)")
    p.set_defaults(handler=run)


def run(args: argparse.Namespace) -> int:
    from rich.console import Console

    from harness.models import models_dir
    from harness.progress import reporting
    from harness.suites import load_suite
    from harness.tasks import get_task
    from trainers.pipeline import train_task

    get_task(args.task)  # unknown → one line with a suggestion
    suite = load_suite(args.suite)
    console = Console(stderr=True)
    with reporting(console, f"train {args.task} ({args.profile})") as progress:
        folder = train_task(args.task, suite, profile=args.profile, seed=args.seed, device=args.device,
                            models_root=models_dir(), progress=lambda step, total, loss, val: progress(step, total),
                            log=lambda line: console.print(line, highlight=False))
    print(f"release written: {folder}")
    return 0

"""`dawg-bench train TASK`: train a controller on a suite's train split and write a model release."""

from __future__ import annotations

import argparse
from pathlib import Path

HELP = "train a controller (train/validation splits only) and write a model release (ONNX FP32 + INT8)"
EXAMPLES = """examples:
  dawg-bench train eq                          # quick profile on the release suite's train split
  dawg-bench train eq --suite demo --seed 3
  dawg-bench train eq --profile full           # longer; same data, more steps
  dawg-bench train compressor --steps 200      # a short run (smoke checks)
  torchrun --nproc_per_node 2 -m harness.cli train compressor   # data-parallel (gloo on CPU)

An interrupted training resumes from its last checkpoint (<cache>/checkpoints, one per task, suite
corpus, profile, seed and step count; written at every validation). --fresh starts over.

Trainers: eq (frequency-domain damage, 1/3-octave loss), compressor (parameter regression on rendered
references) and mastering (parameter regression on the task's own examples and exact oracles);
docs/trainers.md. A release is written whole or not at all, never over another.
exit codes: 0 a release was written · 2 bad input (unknown task or profile, no train clips, corrupt
checkpoint, diverged training)
"""


def register(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("train", help=HELP, description=HELP, epilog=EXAMPLES,
                       formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("task", metavar="TASK")
    p.add_argument("--suite", default="release", help="suite whose corpus supplies the train split (default release)")
    p.add_argument("--profile", default="quick", help="quick (CPU, minutes) or full (default quick)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--device", default="cpu", help="cpu (default)")
    p.add_argument("--steps", type=int, help="override the profile's number of steps")
    p.add_argument("--fresh", action="store_true", help="discard this training's checkpoint instead of resuming")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="checkpoint folder (default <cache>/checkpoints)")
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
                            models_root=models_dir(), progress=training_progress(progress),
                            log=lambda line: console.print(line, highlight=False), steps=args.steps,
                            fresh=args.fresh, checkpoint_dir=Path(args.checkpoint_dir) if args.checkpoint_dir else None)
    if folder is not None:  # under torchrun only rank 0 writes
        print(f"release written: {folder}")
    return 0


def training_progress(progress):
    """A trainer's (step, steps, loss, validation) callback shown as progress with a loss/validation note."""
    last_val: list[float | None] = [None]

    def show(step: int, total: int, loss: float, val: float | None) -> None:
        if val is not None:
            last_val[0] = val
        note = f"loss {loss:.4g}" + (f", validation {last_val[0]:.4g}" if last_val[0] is not None else "")
        progress(step, total, note)

    return show

"""`dawg-bench train TASK`: train a controller on a suite's train split and write a model release."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

HELP = "train a controller (train/validation splits only) and write a model release (ONNX FP32 + INT8)"
EXAMPLES = """examples:
  dawg-bench train eq                          # quick profile on the release suite's train split
  dawg-bench train eq --suite demo --seed 3
  dawg-bench train eq --profile full           # longer; same data, more steps
  dawg-bench train compressor --steps 200      # a short run (smoke checks)
  torchrun --nproc_per_node 2 -m harness.cli train compressor   # data-parallel (gloo on CPU)
  dawg-bench train eq --profile full --sagemaker --instance-type ml.g5.12xlarge --spot --dry-run
  dawg-bench train eq --profile full --sagemaker --s3 s3://my-bucket/dawg --role arn:aws:iam::111122223333:role/X

--sagemaker builds a SageMaker CreateTrainingJob request (PyTorch image, torchrun over the instance's GPUs;
--spot: managed spot with checkpoints in S3). --dry-run prints it, validated offline against botocore's
service model, with a cost estimate from the pricing catalogue, and sends nothing (docs/trainers.md).

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
    p.add_argument("--train-clips", type=int, metavar="N",
                   help="train on a seeded subset of N train clips (learning curves; default: all)")
    p.add_argument("--fresh", action="store_true", help="discard this training's checkpoint instead of resuming")
    p.add_argument("--checkpoint-dir", metavar="DIR", help="checkpoint folder (default <cache>/checkpoints)")
    sm = p.add_argument_group("SageMaker")
    sm.add_argument("--sagemaker", action="store_true", help="run the training as a SageMaker training job")
    sm.add_argument("--instance-type", default="ml.g5.12xlarge", help="default ml.g5.12xlarge (4× A10G)")
    sm.add_argument("--instance-count", type=int, default=1)
    sm.add_argument("--spot", action="store_true", help="managed spot training, checkpoints to S3")
    sm.add_argument("--dry-run", action="store_true", help="print the request and its cost estimate; send nothing")
    sm.add_argument("--s3", metavar="URI", help="s3://bucket/prefix for code, corpus, checkpoints and the release "
                                                "(default $DAWG_BENCH_S3)")
    sm.add_argument("--role", metavar="ARN", help="SageMaker execution role (default $DAWG_BENCH_SAGEMAKER_ROLE)")
    sm.add_argument("--region", default=None, help="AWS region (default: the session's, else us-east-1)")
    sm.add_argument("--max-hours", type=float, default=None, help="stop the job after this long (default: "
                                                                   "1 for quick, 8 for full)")
    sm.add_argument("--image", help="training image URI (default: AWS's PyTorch training container)")
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
    if args.sagemaker:
        return sagemaker_job(args, suite)
    console = Console(stderr=True)
    with reporting(console, f"train {args.task} ({args.profile})") as progress:
        folder = train_task(args.task, suite, profile=args.profile, seed=args.seed, device=args.device,
                            models_root=models_dir(), progress=training_progress(progress),
                            log=lambda line: console.print(line, highlight=False), steps=args.steps,
                            fresh=args.fresh, checkpoint_dir=Path(args.checkpoint_dir) if args.checkpoint_dir else None,
                            train_clips=args.train_clips)
    if folder is not None:  # under torchrun only rank 0 writes
        print(f"release written: {folder}")
        uri = os.environ.get("DAWG_BENCH_MODELS", "")
        if uri.startswith("s3://"):
            from harness.s3_registry import push

            print(f"release uploaded: {push(folder, uri)} files to {uri}/{folder.parent.name}/{folder.name}")
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


# Stand-ins a dry run prints when no bucket or role is configured: visibly not real.
EXAMPLE_S3 = "s3://EXAMPLE-BUCKET/dawg-bench"
EXAMPLE_ROLE = "arn:aws:iam::123456789012:role/EXAMPLE-DAWGBenchSageMaker"


def sagemaker_job(args: argparse.Namespace, suite) -> int:
    import json
    import os

    from harness.aws_errors import NO_CREDENTIALS
    from harness.corpus.build import cache_folder, generated_recipe
    from harness.errors import UserError
    from trainers import sagemaker

    if suite.corpus.source != "generated":
        raise UserError(f"--sagemaker: suite {suite.name} cuts its corpus from a local folder; ship generated "
                        "suites (a folder corpus would be uploaded as is: not yet supported)")
    s3 = args.s3 or os.environ.get("DAWG_BENCH_S3")
    role = args.role or os.environ.get("DAWG_BENCH_SAGEMAKER_ROLE")
    if not args.dry_run and not (s3 and role):
        raise UserError("--sagemaker needs --s3 s3://bucket/prefix and --role ARN (or DAWG_BENCH_S3 and "
                        "DAWG_BENCH_SAGEMAKER_ROLE); --dry-run prints the request without them")
    region = args.region or _session_region() or "us-east-1"
    hours = args.max_hours or (8.0 if args.profile == "full" else 1.0)
    spec = sagemaker.JobSpec(task=args.task, suite=suite.name, profile=args.profile, seed=args.seed,
                             instance_type=args.instance_type, instance_count=args.instance_count, spot=args.spot,
                             bucket_prefix=s3 or EXAMPLE_S3, role_arn=role or EXAMPLE_ROLE, region=region,
                             max_hours=hours, image=args.image)
    corpus = cache_folder(generated_recipe(suite.corpus))
    request = sagemaker.training_job_request(spec, corpus.name)
    cost = sagemaker.cost_estimate(args.instance_type, hours, spot=args.spot, instance_count=args.instance_count)
    if args.dry_run:
        print(json.dumps({"CreateTrainingJob": request, "cost_estimate": cost,
                          "validated_against": "botocore service model sagemaker/CreateTrainingJob (offline)",
                          "placeholders": [v for v, real in ((EXAMPLE_S3, s3), (EXAMPLE_ROLE, role)) if not real]},
                         indent=1))
        if cost.get("usd") is not None:
            print(f"dry run: nothing sent. At most ${cost['usd']} ({hours:g} h × ${cost['usd_per_hour']}/h "
                  f"{cost['sku']}, catalogue {cost['catalog']}, {cost['source_kind']} price).", file=sys.stderr)
        else:
            print(f"dry run: nothing sent. No cost estimate: {cost['reason']}.", file=sys.stderr)
        return 0
    if not sagemaker.have_credentials():
        raise UserError(f"{NO_CREDENTIALS}; --dry-run prints the request without them")
    import boto3

    from harness.corpus.build import build_corpus

    manifest = build_corpus(suite)
    repo = Path(__file__).resolve().parents[2]
    session = boto3.session.Session(region_name=region)
    arn = sagemaker.submit(request, code=sagemaker.code_tarball(repo), corpus_folder=Path(manifest.folder),
                           sagemaker_client=session.client("sagemaker"), s3_client=session.client("s3"))
    print(f"training job created: {arn}")
    return 0


def _session_region() -> str | None:
    import boto3

    return boto3.session.Session().region_name

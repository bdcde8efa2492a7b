"""`dawg-bench train TASK --sagemaker`: the same training as a SageMaker training job, built with boto3.

What the job is:
- **Image**: an AWS Deep Learning Container for PyTorch training (`--image`; default below). Our code
  goes in as a `code` input channel (a tarball of this checkout's tracked files) and the suite's
  corpus as a `home` channel (the cache folder the local build wrote), so the job trains on exactly
  the clips a local run would, and its card records the same corpus hash.
- **Entry**: `trainers/sagemaker_entry.sh` unpacks the code, installs it without touching the
  image's torch, and runs `torchrun --nproc_per_node <GPUs> -m harness.cli train TASK --device cuda`
  (NCCL between the instance's GPUs), writing the release to /opt/ml/model (SageMaker uploads it).
- **Spot** (`--spot`): managed spot training with checkpoints in /opt/ml/checkpoints, which SageMaker
  copies to S3 and back after an interruption; the trainer resumes from them (trainers/common/checkpoint.py).
  This is the plan's mitigation for spot interruptions.

`--dry-run` prints the CreateTrainingJob request, validated offline against botocore's own service
model (the same check boto3 runs before sending), and a cost estimate from the pricing catalogue.
Nothing is uploaded and no AWS call is made. Without credentials a real submission stops with one
line. Tests use botocore's Stubber, never AWS.
"""

from __future__ import annotations

import io
import subprocess
import tarfile
import time
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

from harness.errors import UserError

# The PyTorch training DLC of us-east-1 (AWS's account for DLCs); a team pins its own with --image.
DEFAULT_IMAGE = ("763104351884.dkr.ecr.{region}.amazonaws.com/"
                 "pytorch-training:2.8.0-gpu-py312-cu129-ubuntu22.04-sagemaker")
CODE_CHANNEL, HOME_CHANNEL = "code", "home"
CHECKPOINT_LOCAL = "/opt/ml/checkpoints"
ENTRY = "trainers/sagemaker_entry.sh"
# GPUs per instance type, for torchrun's --nproc_per_node and the cost estimate's description.
GPUS = {"ml.g5.xlarge": 1, "ml.g5.2xlarge": 1, "ml.g5.12xlarge": 4, "ml.g5.48xlarge": 8, "ml.p3.2xlarge": 1,
        "ml.p3.8xlarge": 4, "ml.p3.16xlarge": 8, "ml.g4dn.xlarge": 1, "ml.g4dn.12xlarge": 4}


@dataclass(frozen=True)
class JobSpec:
    task: str
    suite: str
    profile: str
    seed: int
    instance_type: str
    bucket_prefix: str  # s3://bucket/prefix: where code, corpus, checkpoints and the release go
    role_arn: str
    region: str = "us-east-1"
    instance_count: int = 1
    spot: bool = False
    max_hours: float = 8.0
    image: str | None = None
    job_name: str | None = None


def _s3(prefix: str, *parts: str) -> str:
    if not prefix.startswith("s3://") or len(prefix) <= 5:
        raise UserError(f"--s3 {prefix!r}: must be an s3://bucket[/prefix] URI")
    return "/".join([prefix.rstrip("/"), *parts])


def job_name(spec: JobSpec, now: float | None = None) -> str:
    stamp = time.strftime("%Y%m%d-%H%M%S", time.gmtime(now if now is not None else time.time()))
    return spec.job_name or f"dawg-bench-{spec.task}-{spec.profile}-s{spec.seed}-{stamp}"[:63]


def training_job_request(spec: JobSpec, corpus_key: str, *, now: float | None = None) -> dict[str, Any]:
    """The CreateTrainingJob parameters for `spec`; `corpus_key` is the corpus folder's name in the cache."""
    name = job_name(spec, now)
    gpus = GPUS.get(spec.instance_type, 1)
    seconds = int(spec.max_hours * 3600)
    request: dict[str, Any] = {
        "TrainingJobName": name,
        "RoleArn": spec.role_arn,
        "AlgorithmSpecification": {
            "TrainingImage": (spec.image or DEFAULT_IMAGE).format(region=spec.region),
            "TrainingInputMode": "File",
            "ContainerEntrypoint": ["bash", f"/opt/ml/input/data/{CODE_CHANNEL}/sagemaker_entry.sh"],
            "MetricDefinitions": [{"Name": "validation", "Regex": r"validation ([0-9.eE+-]+)"},
                                  {"Name": "loss", "Regex": r"loss ([0-9.eE+-]+)"}],
        },
        "HyperParameters": {"task": spec.task, "suite": spec.suite, "profile": spec.profile, "seed": str(spec.seed),
                            "nproc_per_node": str(gpus)},
        "InputDataConfig": [
            {"ChannelName": CODE_CHANNEL, "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": _s3(spec.bucket_prefix, name, "code"),
                "S3DataDistributionType": "FullyReplicated"}}},
            {"ChannelName": HOME_CHANNEL, "DataSource": {"S3DataSource": {
                "S3DataType": "S3Prefix", "S3Uri": _s3(spec.bucket_prefix, "corpus", corpus_key),
                "S3DataDistributionType": "FullyReplicated"}}},
        ],
        "OutputDataConfig": {"S3OutputPath": _s3(spec.bucket_prefix, "releases")},
        "ResourceConfig": {"InstanceType": spec.instance_type, "InstanceCount": spec.instance_count,
                           "VolumeSizeInGB": 50},
        "StoppingCondition": {"MaxRuntimeInSeconds": seconds},
        "Environment": {"DAWG_BENCH_CORPUS_KEY": corpus_key},
        "Tags": [{"Key": "project", "Value": "dawg-bench"}, {"Key": "task", "Value": spec.task}],
    }
    if spec.spot:
        request["EnableManagedSpotTraining"] = True
        # wait for spot capacity up to as long again as the run itself
        request["StoppingCondition"]["MaxWaitTimeInSeconds"] = 2 * seconds
        request["CheckpointConfig"] = {"S3Uri": _s3(spec.bucket_prefix, name, "checkpoints"),
                                       "LocalPath": CHECKPOINT_LOCAL}
    validate_request(request)
    return request


def validate_request(request: dict[str, Any]) -> None:
    """Check `request` against botocore's SageMaker service model, offline: first the check boto3 itself
    runs before sending (types, required members, minimum lengths), then the model's string constraints
    that only the service would otherwise enforce (enums such as the instance type, maximum lengths and
    patterns such as the job name's)."""
    import botocore.session
    from botocore.validate import ParamValidator

    shape = botocore.session.get_session().get_service_model("sagemaker").operation_model("CreateTrainingJob")
    report = ParamValidator().validate(request, shape.input_shape)
    if report.has_errors():
        first = report.generate_report().splitlines()[1:2] or [report.generate_report()]
        raise UserError(f"SageMaker CreateTrainingJob request is invalid: {first[0].strip()}")
    problem = _string_constraints(request, shape.input_shape, "")
    if problem:
        raise UserError(f"SageMaker CreateTrainingJob request is invalid: {problem}")


def _string_constraints(value: Any, shape: Any, path: str) -> str | None:
    """The first string in `value` that breaks its shape's enum, max length or pattern, described."""
    import re

    if shape.type_name == "structure" and isinstance(value, dict):
        for name, member in value.items():
            found = _string_constraints(member, shape.members[name], f"{path}.{name}" if path else name)
            if found:
                return found
    elif shape.type_name == "list" and isinstance(value, list):
        for i, item in enumerate(value):
            found = _string_constraints(item, shape.member, f"{path}[{i}]")
            if found:
                return found
    elif shape.type_name == "map" and isinstance(value, dict):
        for key, item in value.items():
            found = (_string_constraints(key, shape.key, f"{path} key {key!r}")
                     or _string_constraints(item, shape.value, f"{path}[{key!r}]"))
            if found:
                return found
    elif shape.type_name == "string" and isinstance(value, str):
        if shape.enum and value not in shape.enum:
            return f"{path} = {value!r} is not one of the service's {len(shape.enum)} values"
        if "max" in shape.metadata and len(value) > shape.metadata["max"]:
            return f"{path} is {len(value)} characters (at most {shape.metadata['max']})"
        pattern = shape.metadata.get("pattern")
        try:
            if pattern and not re.fullmatch(pattern, value):
                return f"{path} = {value!r} does not match the service's pattern {pattern}"
        except re.error:
            pass  # a Java-only construct (\p{...}): the service checks it; Python's re cannot
    return None


def cost_estimate(instance_type: str, hours: float, *, spot: bool, instance_count: int = 1,
                  catalog_ref: str | None = None) -> dict[str, Any]:
    """Upper bound of the job's cost (`hours` at the catalogue's hourly price), with the price's source."""
    from pricing.catalogs import load_catalog

    catalog = load_catalog(catalog_ref)
    sku = f"sagemaker.training{'-spot' if spot else ''}.{instance_type}"
    item = catalog.items.get(sku)
    if item is None or item.usd is None:
        return {"sku": sku, "usd": None, "catalog": catalog.snapshot.as_of.isoformat(),
                "reason": f"no price for {sku} in the {catalog.snapshot.as_of} catalogue (dawg-bench cost prices)"}
    usd = item.usd * Decimal(str(hours)) * instance_count
    return {"sku": sku, "usd_per_hour": str(item.usd), "hours": hours, "instances": instance_count,
            "usd": str(usd.quantize(Decimal("0.01"))), "catalog": catalog.snapshot.as_of.isoformat(),
            "source": item.source, "source_kind": item.source_kind, "as_of": item.as_of.isoformat(),
            "note": item.note}


def code_tarball(repo: Path) -> bytes:
    """This checkout's tracked files plus the entry script at the top level, as a gzip tarball."""
    try:
        files = subprocess.run(["git", "ls-files", "-z"], cwd=repo, capture_output=True, check=True,
                               timeout=30).stdout.decode().split("\0")
    except (OSError, subprocess.SubprocessError) as exc:
        raise UserError(f"{repo}: cannot list the code to ship (git ls-files: {exc})") from None
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for rel in filter(None, files):
            if (repo / rel).is_file():
                tar.add(repo / rel, arcname=f"dawg-bench/{rel}")
        tar.add(repo / ENTRY, arcname="sagemaker_entry.sh")
    return buf.getvalue()


def _split_s3(uri: str) -> tuple[str, str]:
    bucket, _, key = uri.removeprefix("s3://").partition("/")
    return bucket, key


def submit(request: dict[str, Any], *, code: bytes, corpus_folder: Path, sagemaker_client: Any,
           s3_client: Any, log=print) -> str:
    """Upload the code and the corpus, then create the job; returns its ARN."""
    from harness.aws_errors import one_line_aws_errors

    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    with one_line_aws_errors(hint="--dry-run prints the request without them"):
        bucket, key = _split_s3(channels[CODE_CHANNEL])
        s3_client.put_object(Bucket=bucket, Key=f"{key}/code.tar.gz", Body=code)
        bucket, key = _split_s3(channels[HOME_CHANNEL])
        files = sorted(p for p in corpus_folder.rglob("*") if p.is_file())
        for i, path in enumerate(files, 1):
            s3_client.put_object(Bucket=bucket, Key=f"{key}/{path.relative_to(corpus_folder).as_posix()}",
                                 Body=path.read_bytes())
            if i % 100 == 0 or i == len(files):
                log(f"corpus upload: {i}/{len(files)} files")
        return sagemaker_client.create_training_job(**request)["TrainingJobArn"]


def have_credentials() -> bool:
    import boto3

    return boto3.session.Session().get_credentials() is not None

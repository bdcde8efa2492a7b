"""`dawg-bench train --sagemaker`: the CreateTrainingJob request is valid against botocore's own service
model, spot jobs checkpoint to S3, the cost estimate comes from the pricing catalogue, a real submission
without credentials is one line, and submission goes through boto3 (botocore's Stubber: never AWS)."""

import io
import json
import tarfile
from decimal import Decimal
from pathlib import Path

import boto3
import pytest
from botocore.stub import Stubber

from harness.cli import main
from harness.errors import UserError
from pricing.catalogs import load_catalog
from trainers import sagemaker

SPEC = sagemaker.JobSpec(task="eq", suite="release", profile="full", seed=3, instance_type="ml.g5.12xlarge",
                         bucket_prefix="s3://team-bucket/dawg", role_arn="arn:aws:iam::111122223333:role/Train",
                         spot=True, max_hours=6.0)


@pytest.fixture
def no_aws_credentials(monkeypatch, tmp_path):
    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


def test_a_spot_request_checkpoints_to_s3_and_validates():
    request = sagemaker.training_job_request(SPEC, "abc123", now=0)
    assert request["TrainingJobName"] == "dawg-bench-eq-full-s3-19700101-000000"
    assert request["EnableManagedSpotTraining"] is True
    assert request["CheckpointConfig"] == {"S3Uri": "s3://team-bucket/dawg/dawg-bench-eq-full-s3-19700101-000000/"
                                                    "checkpoints", "LocalPath": "/opt/ml/checkpoints"}
    stop = request["StoppingCondition"]
    assert stop["MaxRuntimeInSeconds"] == 6 * 3600 and stop["MaxWaitTimeInSeconds"] >= stop["MaxRuntimeInSeconds"]
    assert request["HyperParameters"]["nproc_per_node"] == "4"  # 4 A10G: one torchrun rank each
    channels = {c["ChannelName"]: c["DataSource"]["S3DataSource"]["S3Uri"] for c in request["InputDataConfig"]}
    assert channels["home"] == "s3://team-bucket/dawg/corpus/abc123"


@pytest.mark.parametrize("change, words", [
    (dict(instance_type="ml.notreal.huge"), "InstanceType"),
    (dict(job_name="has spaces and is invalid"), "TrainingJobName"),
    (dict(role_arn="x"), "RoleArn"),
])
def test_an_invalid_request_is_caught_offline_by_the_service_model(change, words):
    from dataclasses import replace

    with pytest.raises(UserError, match="request is invalid") as info:
        sagemaker.training_job_request(replace(SPEC, **change), "abc123")
    assert words in str(info.value) and "\n" not in str(info.value)


def test_the_cost_estimate_is_the_catalogue_price_times_the_hours():
    catalog = load_catalog()
    spot = sagemaker.cost_estimate("ml.g5.12xlarge", 6.0, spot=True)
    on_demand = sagemaker.cost_estimate("ml.g5.12xlarge", 6.0, spot=False, instance_count=2)
    assert Decimal(spot["usd"]) == (catalog.items["sagemaker.training-spot.ml.g5.12xlarge"].usd * 6).quantize(
        Decimal("0.01"))
    assert Decimal(on_demand["usd"]) == (catalog.items["sagemaker.training.ml.g5.12xlarge"].usd * 12).quantize(
        Decimal("0.01"))
    assert spot["source_kind"] == "assumed"  # derived spot price: the estimate says so
    missing = sagemaker.cost_estimate("ml.c5.xlarge", 1.0, spot=False)
    assert missing["usd"] is None and "no price" in missing["reason"]


def test_dry_run_prints_the_request_and_cost_and_sends_nothing(no_aws_credentials, capsys):
    code = main(["train", "eq", "--profile", "full", "--sagemaker", "--instance-type", "ml.g5.12xlarge", "--spot",
                 "--dry-run"])
    captured = capsys.readouterr()
    assert code == 0, captured.err
    shown = json.loads(captured.out)
    assert shown["CreateTrainingJob"]["ResourceConfig"]["InstanceType"] == "ml.g5.12xlarge"
    assert shown["CreateTrainingJob"]["EnableManagedSpotTraining"] is True
    assert shown["cost_estimate"]["sku"] == "sagemaker.training-spot.ml.g5.12xlarge"
    assert len(shown["placeholders"]) == 2  # no bucket or role configured: visibly example values
    assert "nothing sent" in captured.err and "$" in captured.err


def test_a_real_submission_without_credentials_is_one_line(no_aws_credentials, capsys):
    code = main(["train", "eq", "--sagemaker", "--s3", "s3://b/p", "--role", "arn:aws:iam::111122223333:role/T"])
    err = capsys.readouterr().err
    assert code == 2 and "no AWS credentials found" in err and "Traceback" not in err


def test_a_submission_without_bucket_or_role_says_which(no_aws_credentials, capsys):
    assert main(["train", "eq", "--sagemaker"]) == 2
    assert "--s3" in capsys.readouterr().err


def test_submit_uploads_code_and_corpus_then_creates_the_job(tmp_path):
    corpus = tmp_path / "corpus"
    (corpus / "clips").mkdir(parents=True)
    for name in ("manifest.json", "clips/a.flac", "clips/b.flac"):
        (corpus / name).write_bytes(name.encode())
    request = sagemaker.training_job_request(SPEC, "abc123", now=0)
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    sm = boto3.client("sagemaker", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(s3) as s3_stub, Stubber(sm) as sm_stub:
        s3_stub.add_response("put_object", {}, {"Bucket": "team-bucket", "Body": b"CODE",
                                                "Key": "dawg/dawg-bench-eq-full-s3-19700101-000000/code/code.tar.gz"})
        for name in ("clips/a.flac", "clips/b.flac", "manifest.json"):
            s3_stub.add_response("put_object", {}, {"Bucket": "team-bucket", "Key": f"dawg/corpus/abc123/{name}",
                                                    "Body": name.encode()})
        arn = "arn:aws:sagemaker:us-east-1:111122223333:training-job/dawg-bench-eq"
        sm_stub.add_response("create_training_job", {"TrainingJobArn": arn}, request)
        got = sagemaker.submit(request, code=b"CODE", corpus_folder=corpus, sagemaker_client=sm, s3_client=s3,
                               log=lambda line: None)
        s3_stub.assert_no_pending_responses()
        sm_stub.assert_no_pending_responses()
    assert got == arn


def test_an_aws_refusal_is_one_line(tmp_path):
    request = sagemaker.training_job_request(SPEC, "abc123", now=0)
    s3 = boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")
    with Stubber(s3) as stub:
        stub.add_client_error("put_object", "AccessDenied", "Access Denied")
        with pytest.raises(UserError, match="AWS refused PutObject: AccessDenied: Access Denied"):
            sagemaker.submit(request, code=b"x", corpus_folder=tmp_path, sagemaker_client=None, s3_client=s3)


def test_the_code_tarball_holds_the_tracked_code_and_the_entry_script():
    repo = Path(__file__).resolve().parents[1]
    with tarfile.open(fileobj=io.BytesIO(sagemaker.code_tarball(repo)), mode="r:gz") as tar:
        names = set(tar.getnames())
    assert {"sagemaker_entry.sh", "dawg-bench/pyproject.toml", "dawg-bench/trainers/pipeline.py"} <= names
    assert not any("/.venv/" in n or n.endswith(".onnx") for n in names)

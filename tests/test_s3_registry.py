"""DAWG_BENCH_MODELS=s3://bucket/prefix: releases are mirrored from S3 before a command reads them and a
trained release is uploaded with release.json last; AWS failures are one line (botocore's Stubber, never AWS)."""

import io

import boto3
import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber

from harness.errors import UserError
from harness.models import discover_releases, models_dir
from harness.s3_registry import mirror_dir, pull, push
from tests.model_fixtures import build_fixture_release

URI = "s3://team-models/dawg"


def _client():
    return boto3.client("s3", region_name="us-east-1", aws_access_key_id="x", aws_secret_access_key="x")


def _body(data: bytes) -> StreamingBody:
    return StreamingBody(io.BytesIO(data), len(data))


def test_push_then_pull_round_trips_a_release(tmp_path, monkeypatch):
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "home"))
    folder = build_fixture_release(tmp_path / "local", "eq", name="eq-v1")
    files = sorted(p.name for p in folder.iterdir() if p.is_file())
    s3 = _client()
    with Stubber(s3) as stub:
        for name in [f for f in files if f != "release.json"] + ["release.json"]:  # release.json last
            stub.add_response("put_object", {}, {"Bucket": "team-models", "Key": f"dawg/eq/eq-v1/{name}",
                                                 "Body": (folder / name).read_bytes()})
        assert push(folder, URI, client=s3) == len(files)
        stub.assert_no_pending_responses()

    listing = {"Contents": [{"Key": f"dawg/eq/eq-v1/{n}", "Size": (folder / n).stat().st_size, "ETag": f'"{n}"'}
                            for n in files] + [{"Key": "dawg/notes.txt", "Size": 3, "ETag": '"n"'}],
               "IsTruncated": False}
    with Stubber(s3) as stub:
        stub.add_response("list_objects_v2", listing, {"Bucket": "team-models", "Prefix": "dawg/"})
        for n in files:
            stub.add_response("get_object", {"Body": _body((folder / n).read_bytes())},
                              {"Bucket": "team-models", "Key": f"dawg/eq/eq-v1/{n}"})
        root, fetched = pull(URI, client=s3)
        stub.assert_no_pending_responses()
    assert fetched == len(files) and root == mirror_dir(URI)
    monkeypatch.setenv("DAWG_BENCH_MODELS", URI)
    assert models_dir() == root
    assert [r.name for r in discover_releases()] == ["eq-v1"]

    with Stubber(s3) as stub:  # a second pull finds everything mirrored: no download
        stub.add_response("list_objects_v2", listing, {"Bucket": "team-models", "Prefix": "dawg/"})
        assert pull(URI, client=s3)[1] == 0


@pytest.mark.parametrize("code, words", [("AccessDenied", "AWS refused ListObjectsV2: AccessDenied"),
                                         ("NoSuchBucket", "AWS refused ListObjectsV2: NoSuchBucket")])
def test_aws_failures_are_one_line(tmp_path, monkeypatch, code, words):
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path))
    s3 = _client()
    with Stubber(s3) as stub:
        stub.add_client_error("list_objects_v2", code, "nope")
        with pytest.raises(UserError, match=words) as info:
            pull(URI, client=s3)
    assert URI in str(info.value) and "\n" not in str(info.value)


def test_the_cli_says_when_there_are_no_credentials(tmp_path, monkeypatch, capsys):
    from harness.cli import main

    for var in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "none"))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAWG_BENCH_MODELS", URI)
    assert main(["models"]) == 2
    err = capsys.readouterr().err
    assert "no AWS credentials found" in err and "Traceback" not in err

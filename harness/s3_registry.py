"""A model registry in S3 for teams: `DAWG_BENCH_MODELS=s3://bucket/prefix`.

The harness reads releases from a folder, so an S3 registry is mirrored into the cache
(`<cache>/models-s3/<bucket>/<prefix>`): `pull` brings down what is missing or changed before a
command reads releases, and `push` uploads a release a training wrote. Releases are immutable
(a version is never overwritten), so a file already mirrored with the same size and ETag is kept.
`push` uploads release.json last: a reader listing the bucket never finds a release.json whose
model files are not there yet. Every AWS failure is one line (no credentials, access denied, no
such bucket), never a traceback. Tests use botocore's Stubber.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

from harness.aws_errors import one_line_aws_errors
from harness.errors import UserError
from harness.paths import home

RELEASE_FILES = ("release.json", "card.json", ".onnx")


def is_s3(uri: str | None) -> bool:
    return bool(uri) and str(uri).startswith("s3://")


def split_uri(uri: str) -> tuple[str, str]:
    bucket, _, prefix = uri.removeprefix("s3://").partition("/")
    if not bucket:
        raise UserError(f"{uri}: an S3 registry is s3://bucket[/prefix]")
    return bucket, prefix.strip("/")


def mirror_dir(uri: str) -> Path:
    bucket, prefix = split_uri(uri)
    return home() / "models-s3" / bucket / prefix


def _client(client: Any | None) -> Any:
    if client is not None:
        return client
    import boto3

    return boto3.session.Session().client("s3")


def pull(uri: str, *, client: Any | None = None) -> tuple[Path, int]:
    """Mirror the registry's release files; returns (mirror folder, files downloaded)."""
    bucket, prefix = split_uri(uri)
    root = mirror_dir(uri)
    s3 = _client(client)
    fetched = 0
    with one_line_aws_errors(uri):
        token = None
        while True:
            page = s3.list_objects_v2(Bucket=bucket, Prefix=f"{prefix}/" if prefix else "",
                                      **({"ContinuationToken": token} if token else {}))
            for obj in page.get("Contents", []):
                rel = obj["Key"][len(prefix) + 1:] if prefix else obj["Key"]
                if not rel.endswith(RELEASE_FILES) or ".." in Path(rel).parts:
                    continue
                local = root / rel
                stamp = local.with_name(f".{local.name}.etag")
                if local.exists() and local.stat().st_size == obj["Size"] and stamp.exists() \
                        and stamp.read_text() == obj.get("ETag", ""):
                    continue
                body = s3.get_object(Bucket=bucket, Key=obj["Key"])["Body"].read()
                _write_atomic(local, body)
                stamp.write_text(obj.get("ETag", ""))
                fetched += 1
            if not page.get("IsTruncated"):
                break
            token = page.get("NextContinuationToken")
    return root, fetched


def push(release_folder: Path, uri: str, *, client: Any | None = None) -> int:
    """Upload one release folder (`<task>/<name>/...`), release.json last; returns files uploaded."""
    bucket, prefix = split_uri(uri)
    folder = Path(release_folder)
    task, name = folder.parent.name, folder.name
    files = sorted((p for p in folder.iterdir() if p.is_file() and not p.name.startswith(".")),
                   key=lambda p: (p.name == "release.json", p.name))
    s3 = _client(client)
    with one_line_aws_errors(uri):
        for path in files:
            key = "/".join(part for part in (prefix, task, name, path.name) if part)
            s3.put_object(Bucket=bucket, Key=key, Body=path.read_bytes())
    return len(files)


def _write_atomic(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as fh:
            fh.write(data)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise

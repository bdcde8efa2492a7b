"""Trust: model files stay in their release folder, names are validated, and one bad release is
listed as bad without blocking anything else."""

import json
import shutil
import sqlite3

import pytest

from harness.cli import main
from harness.errors import UserError
from harness.models import bad_releases, discover_releases, find_release
from tests.model_fixtures import build_fixture_release


def _release(root, name, files, task="eq", version=1):
    folder = root / task / name
    folder.mkdir(parents=True)
    (folder / "release.json").write_text(json.dumps({
        "name": name, "task": task, "version": version, "features": "tonal-v1", "params": [], "files": files}))
    (folder / "model.onnx").write_bytes(b"weights")
    return folder


@pytest.mark.parametrize("files,words", [
    ({"fp32": "../../secret.onnx"}, "leaves the release folder (absolute or '..')"),
    ({"fp32": "/etc/passwd"}, "leaves the release folder (absolute or '..')"),
    ({"fp32": "link.onnx"}, "is a link that leaves the release folder"),
    ({"fp16": "model.onnx"}, "files must map fp32 and/or int8"),
    ({}, "files must map"),
])
def test_model_files_must_stay_in_their_folder(tmp_path, files, words):
    (tmp_path / "secret.onnx").write_bytes(b"not yours")
    folder = _release(tmp_path / "models", "bad-v1", files)
    (folder / "link.onnx").symlink_to(tmp_path / "secret.onnx")
    _release(tmp_path / "models", "good-v1", {"fp32": "model.onnx"}, version=2)
    assert [r.name for r in discover_releases(tmp_path / "models")] == ["good-v1"]
    (bad,) = bad_releases(tmp_path / "models")
    assert words in bad[1]
    with pytest.raises(UserError, match="leaves the release folder|files must map"):
        find_release("bad-v1", tmp_path / "models")


def test_a_link_inside_the_folder_is_fine(tmp_path):
    folder = _release(tmp_path / "models", "ok-v1", {"fp32": "current.onnx"})
    (folder / "current.onnx").symlink_to(folder / "model.onnx")
    assert find_release("ok-v1", tmp_path / "models").path("fp32") == (folder / "model.onnx").resolve()


@pytest.mark.parametrize("name", ["evil@int8", "a/b", " spaced", ".hidden", ""])
def test_release_names_are_validated(tmp_path, name):
    folder = tmp_path / "models" / "eq" / "x"
    folder.mkdir(parents=True)
    (folder / "release.json").write_text(json.dumps({"name": name, "task": "eq", "version": 1, "features": "f",
                                                     "params": [], "files": {"fp32": "model.onnx"}}))
    assert discover_releases(tmp_path / "models") == []
    assert "invalid release name" in bad_releases(tmp_path / "models")[0][1]


def test_one_malformed_release_does_not_block_gating_another_candidate(tmp_path, monkeypatch, capsys):
    models = tmp_path / "models" / "eq" / "broken"
    models.mkdir(parents=True)
    (models / "release.json").write_text("{ not json")
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "models"))
    code = main(["gate", "smoke", "--candidate", "rules", "--db", str(tmp_path / "r.db")])
    err = capsys.readouterr().err
    assert code == 1 and "skipped a bad model release" in err and "invalid release.json" in err  # no run: a verdict
    assert "Traceback" not in err


@pytest.mark.slow(seconds=20)
def test_latency_keeps_the_good_release_when_another_is_bad(tmp_path, monkeypatch, capsys):
    models = tmp_path / "models"
    good = build_fixture_release(models, "eq", name="good-v1")
    bad = models / "compressor" / "bad-v1"
    shutil.copytree(good, bad)
    meta = json.loads((bad / "release.json").read_text())
    (bad / "release.json").write_text(json.dumps({**meta, "name": "bad-v1", "task": "compressor"}))
    (bad / "model.onnx").write_bytes(b"random bytes, not a model")
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(models))
    db = tmp_path / "r.db"
    code = main(["latency", "bad-v1", "good-v1", "--hardware", "cpu", "--min-queries", "50", "--min-duration", "0",
                 "--db", str(db)])
    err = capsys.readouterr().err
    assert code == 1 and "bad-v1: cannot measure" in err and "Traceback" not in err
    with sqlite3.connect(db) as c:
        assert {r[0] for r in c.execute("SELECT model FROM latencies")} == {"good-v1"}

"""Run provenance (Trust): a run's identity is the suite's scoring content, the corpus manifest, the
code and each candidate's identity — a model release's file hashes. Same identity resumes; a changed
model, changed code or a different suite with the same file name is a new run."""

import pytest

from harness.candidates import get_candidate
from harness.corpus.manifest import ClipRecord, Manifest
from harness.runner import run_id_for, run_identity
from harness.suites import load_suite


@pytest.fixture
def setup(tmp_path, monkeypatch):
    from tests.model_fixtures import build_fixture_release

    models = tmp_path / "models"
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(models))
    folder = build_fixture_release(models, "eq")
    clips = (ClipRecord(id="c0", source="generated", origin="", genre="pop", offset_s=0, duration_s=5,
                        sample_rate=48000, split="test", sha256="0" * 64, target_file=""),)
    return folder, load_suite("smoke"), Manifest(suite="smoke", recipe={"kind": "generated"}, clips=clips)


def _id(suite, manifest, names=("bypass", "model:fixture-eq-v1@fp32"), **kw):
    return run_id_for(run_identity(suite, manifest, [get_candidate(n) for n in names], **kw))


def test_same_everything_same_run(setup):
    _, suite, manifest = setup
    assert _id(suite, manifest) == _id(suite, manifest)


def test_changed_model_bytes_change_the_run(setup):
    folder, suite, manifest = setup
    before = _id(suite, manifest)
    (folder / "model.onnx").write_bytes((folder / "model.onnx").read_bytes() + b"\0")
    assert _id(suite, manifest) != before


def test_changed_code_changes_the_run(setup, monkeypatch):
    _, suite, manifest = setup
    before = _id(suite, manifest)
    monkeypatch.setattr("harness.runner.code_fingerprint", lambda: "edited")
    assert _id(suite, manifest) != before


def test_suite_content_counts_and_bar_text_does_not(setup):
    _, suite, manifest = setup
    before = _id(suite, manifest)
    other_damage = suite.model_copy(update={"tasks": {**suite.tasks, "eq": suite.tasks["eq"].model_copy(
        update={"degradation": {"moves": 1}})}})
    assert _id(other_damage, manifest) != before  # another smoke.toml with other damage is not this run
    renamed_bars = suite.model_copy(update={"bars": [b.model_copy(update={"name": b.name + "!"}) for b in suite.bars]})
    assert _id(renamed_bars, manifest) == before


def test_fresh_never_resumes(setup):
    _, suite, manifest = setup
    assert _id(suite, manifest, fresh=True) != _id(suite, manifest)

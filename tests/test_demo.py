"""`dawg-bench demo` end to end on the smoke suite, with a fixture release so latency and gate run.

Both read the shared prebuilt smoke corpus (conftest `smoke_home`); everything else they write is their own."""

import json
from pathlib import Path

import jsonschema
import pytest

from harness.cli import main
from tests.hardware import expected_gpu_source
from tests.model_fixtures import build_fixture_release

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "run-schema.json").read_text())

pytestmark = pytest.mark.slow(seconds=60)


def test_demo_with_a_fixture_release(smoke_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "models"))
    build_fixture_release(tmp_path / "models", "eq")
    out = tmp_path / "demo.json"
    # A fixture release never ships: the demo exits with the gate's code, 1.
    assert main(["demo", "--suite", "smoke", "--json", str(out), "--db", str(tmp_path / "r.db"), "--no-train"]) == 1
    text = capsys.readouterr().out
    for words in ("eq: ranked by", "compressor: ranked by", "mastering: ranked by", "PROJECTED", "MEASURED",
                  "GATE FAIL", "Not built yet"):
        assert words in text, words
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    assert "model:fixture-eq-v1@int8" in report["tasks"]["eq"]["candidates"]
    for gpu in ("t4", "a10g"):  # measured only on a CUDA GPU whose name matches, else projected
        assert {r["source"] for r in report["latency"] if r["hardware"] == gpu} == {expected_gpu_source(gpu)}
    (gate,) = report["gates"]
    assert gate["candidate"] == "fixture-eq-v1" and any(not v["passed"] for v in gate["verdicts"])
    assert {"not a test fixture": False}.items() <= {v["gate"]: v["passed"] for v in gate["verdicts"]}.items()


def test_demo_without_releases_fails_the_gate_closed(smoke_home, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "none"))
    out = tmp_path / "demo.json"
    assert main(["demo", "--suite", "smoke", "--db", str(tmp_path / "r.db"), "--json", str(out), "--no-train"]) == 1
    text = capsys.readouterr().out
    assert "GATE FAIL" in text and "no model release in" in text and "mastering: ranked by" in text
    (gate,) = json.loads(out.read_text())["gates"]
    assert gate["candidate"] == "(no release)" and gate["verdicts"][0]["passed"] is False


def test_demo_trains_the_missing_quick_models_and_gates_them(smoke_home, tmp_path, monkeypatch, capsys):
    """On a cold cache the demo trains a model for each task with a trainer (tiny profiles here, to keep
    the test short), then scores, times and gates them like any release."""
    from dataclasses import replace

    from trainers import compressor, eq, mastering

    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr(eq, "PROFILES", {"quick": replace(eq.PROFILES["quick"], steps=30, validate_every=10)})
    monkeypatch.setattr(compressor, "PROFILES", {"quick": replace(compressor.PROFILES["quick"], steps=30,
                                                                  examples_per_clip=2, validate_every=10)})
    monkeypatch.setattr(mastering, "PROFILES", {"quick": replace(mastering.PROFILES["quick"], steps=30,
                                                                 validate_every=10)})
    out = tmp_path / "demo.json"
    assert main(["demo", "--suite", "smoke", "--json", str(out), "--db", str(tmp_path / "r.db")]) == 1
    text = capsys.readouterr().out
    assert "trained eq-v1" in text and "trained compressor-v1" in text and "trained mastering-v1" in text
    report = json.loads(out.read_text())
    assert "model:eq-v1@fp32" in report["tasks"]["eq"]["candidates"]
    assert "model:compressor-v1@fp32" in report["tasks"]["compressor"]["candidates"]
    assert {g["candidate"] for g in report["gates"]} == {"eq-v1", "compressor-v1", "mastering-v1"}

"""`dawg-bench demo` end to end on the smoke suite, with a fixture release so latency and gate run."""

import json
from pathlib import Path

import jsonschema

from harness.cli import main
from tests.model_fixtures import build_fixture_release

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "run-schema.json").read_text())


def test_demo_with_a_fixture_release(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "models"))
    build_fixture_release(tmp_path / "models", "eq")
    out = tmp_path / "demo.json"
    assert main(["demo", "--suite", "smoke", "--json", str(out), "--db", str(tmp_path / "r.db")]) == 0
    text = capsys.readouterr().out
    for words in ("eq: ranked by", "compressor: ranked by", "mastering: ranked by", "PROJECTED", "MEASURED",
                  "GATE FAIL", "Not built yet"):
        assert words in text, words
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    assert "model:fixture-eq-v1@int8" in report["tasks"]["eq"]["candidates"]
    assert {r["source"] for r in report["latency"] if r["hardware"] in ("t4", "a10g")} == {"projected"}
    (gate,) = report["gates"]
    assert gate["candidate"] == "fixture-eq-v1" and any(not v["passed"] for v in gate["verdicts"])


def test_demo_without_releases_fails_the_gate_closed(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "none"))
    assert main(["demo", "--suite", "smoke", "--db", str(tmp_path / "r.db")]) == 0
    text = capsys.readouterr().out
    assert "GATE FAIL (fail closed): no model release" in text and "mastering: ranked by" in text

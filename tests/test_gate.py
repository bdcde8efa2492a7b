"""Release gate: every kind of bar passes and fails on purpose, missing data fails, exit codes, JUnit XML."""

import json
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from harness.cli import main
from harness.corpus.manifest import ClipRecord, Manifest
from harness.report import aggregate_rows, build_report
from harness.store import Store
from harness.suites import load_suite

N = 20
SUITE = """
include = ["{base}"]
[corpus]
clips = 12
[[bars]]
name = "abs"
kind = "absolute"
task = "eq"
metric = "tonal_balance_error_db"
statistic = "p95"
max = 2.0
[[bars]]
name = "harm"
kind = "harm"
max = 0.2
[[bars]]
name = "baseline"
kind = "vs_best_baseline"
[[bars]]
name = "previous"
kind = "vs_previous"
tolerance = 0.02
[[bars]]
name = "int8"
kind = "int8_parity"
tolerance = 0.05
[[bars]]
name = "latency"
kind = "latency"
hardware = "t4"
percentile = "p95_ms"
max = 100.0
"""


def _release(root, name, version):
    folder = root / "eq" / name
    folder.mkdir(parents=True)
    (folder / "release.json").write_text(json.dumps({
        "name": name, "task": "eq", "version": version, "features": "tonal-v1",
        "params": [], "files": {"fp32": "model.onnx", "int8": "model.int8.onnx"}, "fixture": True}))
    (folder / "model.onnx").write_bytes(f"{name} fp32 weights".encode())  # stand-ins: only their hashes matter here
    (folder / "model.int8.onnx").write_bytes(f"{name} int8 weights".encode())


def _scored_identity():
    """What `run` records for the releases it scored: each candidate's file hashes."""
    from harness.candidates import get_candidate

    names = ["model:eq-v2@int8", "model:eq-v2@fp32", "model:eq-v1@int8"]
    return {"candidates": {n: get_candidate(n).identity() for n in names}}


def _populate(db, suite, *, model=0.5, int8=0.5, prev=0.5, rules=0.8, worse=0, tonal=1.0, latency_ms=50.0):
    """A finished run with chosen medians: bypass 1.0, rules `rules`, the model `model` (lower is better)."""
    rng = np.random.default_rng(0)
    clips = tuple(ClipRecord(id=f"c{i}", source="generated", origin="", genre="pop", offset_s=0, duration_s=5,
                             sample_rate=48000, split="test", sha256="0" * 64, target_file="") for i in range(N))
    manifest = Manifest(suite="g", recipe={"kind": "generated"}, clips=clips)
    rows = []
    for cand, level in [("bypass", 1.0), ("rules", rules), ("model:eq-v2@int8", int8), ("model:eq-v2@fp32", model),
                        ("model:eq-v1@int8", prev)]:
        for i in range(N):
            d = level * (1 + 0.01 * rng.standard_normal())
            if cand == "model:eq-v2@int8" and i < worse:
                d = 1.5
            if cand == "bypass":
                d = 1.0
            rows.append({"task": "eq", "variant": None, "clip_id": f"c{i}", "source": "generated", "candidate": cand,
                         "metrics": {"matched_mrstft_distance": d, "tonal_balance_error_db": tonal, "loudness_error_lu": 0.1},
                         "gap_closed": {"matched_mrstft_distance": 1 - d, "tonal_balance_error_db": 0.0,
                                        "loudness_error_lu": 0.0}, "error": None})
    store = Store(db)
    store.start_run("r1", suite.name, manifest.manifest_hash, {"identity": _scored_identity()})
    store.add_clip_results("r1", rows)
    report = build_report(suite, manifest, "r1", store.clip_results("r1"))
    store.finish_run("r1", report, aggregate_rows(report))
    if latency_ms is not None:
        store.add_latencies([{"model": "eq-v2", "task": "eq", "precision": "int8", "hardware": "t4",
                              "source": "projected", "scope": "end_to_end", "threads": None, "p50_ms": latency_ms / 2,
                              "p90_ms": latency_ms, "p95_ms": latency_ms, "p99_ms": latency_ms, "rtf": 0.01,
                              "valid": True, "reason": "", "assumptions": {"x": 1}}])
    store.close()


@pytest.fixture()
def setup(tmp_path, monkeypatch):
    from harness.suites import suites_dir

    models = tmp_path / "models"
    _release(models, "eq-v1", 1)
    _release(models, "eq-v2", 2)
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(models))
    suite_path = tmp_path / "g.toml"
    suite_path.write_text(SUITE.format(base=(suites_dir() / "_base.toml").as_posix()))
    return tmp_path, str(suite_path), load_suite(str(suite_path))


def _gate(tmp_path, suite_path, *extra):
    junit, md = tmp_path / "g.xml", tmp_path / "g.md"
    code = main(["gate", suite_path, "--db", str(tmp_path / "r.db"), "--junit", str(junit), "--markdown", str(md),
                 *extra])
    cases = {tc.get("name"): tc.find("failure") is None for tc in ET.parse(junit).getroot().iter("testcase")}
    return code, cases, md.read_text()


def test_all_bars_pass(setup):
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite)
    code, cases, md = _gate(tmp_path, path)
    assert code == 0 and cases == {name: True for name in cases}
    assert {"abs", "harm", "baseline", "previous", "int8", "latency"} <= set(cases)
    assert "✅ PASS" in md and "PROJECTED" in md


@pytest.mark.parametrize("change,failing", [
    ({"tonal": 3.0}, "abs"),
    ({"worse": 8}, "harm"),
    ({"model": 0.9, "int8": 0.9, "prev": 0.9}, "baseline"),
    ({"prev": 0.3}, "previous"),
    ({"int8": 0.6}, "int8"),
    ({"latency_ms": 150.0}, "latency"),
    ({"latency_ms": None}, "latency"),  # missing data fails closed
])
def test_each_bar_fails_on_purpose(setup, change, failing):
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite, **change)
    code, cases, md = _gate(tmp_path, path)
    assert code == 1 and cases[failing] is False, cases
    assert "❌ FAIL" in md


def test_a_release_whose_files_changed_after_scoring_fails_the_gate(setup):
    """Trust: the random-bytes release. The run scored eq-v2's files; replacing the INT8 model with
    random bytes afterwards must fail the gate, whatever its bars say."""
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite)
    (tmp_path / "models" / "eq" / "eq-v2" / "model.int8.onnx").write_bytes(np.random.default_rng(0).bytes(256))
    code, cases, md = _gate(tmp_path, path)
    assert code == 1 and cases["evidence is for these model files"] is False
    assert "files changed since" in md


def test_no_runs_unknown_suite_or_candidate_exit_2(setup, capsys):
    tmp_path, path, _ = setup
    assert main(["gate", path, "--db", str(tmp_path / "empty.db")]) == 2
    assert "no complete run" in capsys.readouterr().err
    assert main(["gate", "smok", "--db", str(tmp_path / "empty.db")]) == 2
    assert main(["gate", path, "--candidate", "eq-v9", "--db", str(tmp_path / "empty.db")]) == 2
    assert "unknown candidate" in capsys.readouterr().err


def test_a_bar_missing_its_required_fields_fails_when_the_suite_loads(tmp_path):
    from harness.errors import UserError
    from harness.suites import suites_dir

    path = tmp_path / "nomax.toml"
    path.write_text(f'include = ["{(suites_dir() / "_base.toml").as_posix()}"]\n'
                    '[[bars]]\nname = "harm without a limit"\nkind = "harm"\n')
    with pytest.raises(UserError, match=r"nomax\.toml: bars\.0: .*a 'harm' bar needs max"):
        load_suite(str(path))


def test_a_suite_with_no_bar_for_the_task_fails_nothing_checked(setup):
    tmp_path, _, suite = setup
    from harness.suites import suites_dir

    path = tmp_path / "other-task-only.toml"
    path.write_text(f'include = ["{(suites_dir() / "_base.toml").as_posix()}"]\n'
                    '[[bars]]\nname = "mastering only"\nkind = "harm"\ntask = "mastering"\nmax = 0.2\n')
    _populate(tmp_path / "r.db", load_suite(str(path)))
    code, cases, md = _gate(tmp_path, str(path))
    assert code == 1 and cases["nothing checked"] is False


def test_vs_previous_fails_closed_without_a_previous_release(setup):
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite)
    code, cases, md = _gate(tmp_path, path, "--candidate", "eq-v1")
    assert code == 1 and cases["previous"] is False and "no previous release" in md

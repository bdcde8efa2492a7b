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
kind = "vs_baselines"
[[bars]]
name = "previous"
kind = "vs_previous"
tolerance = 0.02
[[bars]]
name = "int8"
kind = "int8_parity"
tolerance = 0.02
[[bars]]
name = "latency"
kind = "latency"
hardware = "t4"
percentile = "p95_ms"
allow_projected = true
max = 100.0
"""


def _release(root, name, version, fixture=False):
    folder = root / "eq" / name
    folder.mkdir(parents=True)
    (folder / "release.json").write_text(json.dumps({
        "name": name, "task": "eq", "version": version, "features": "tonal-v1",
        "params": [], "files": {"fp32": "model.onnx", "int8": "model.int8.onnx"}, "fixture": fixture}))
    (folder / "model.onnx").write_bytes(f"{name} fp32 weights".encode())  # stand-ins: only their hashes matter here
    (folder / "model.int8.onnx").write_bytes(f"{name} int8 weights".encode())


SCORED = ["model:eq-v2@int8", "model:eq-v2@fp32", "model:eq-v1@fp32"]


def _scored_identity(suite, scored=SCORED):
    """What `run` records: the suite's scoring content and each candidate's file hashes."""
    from harness.candidates import get_candidate
    from harness.runner import suite_content_hash

    return {"suite": suite_content_hash(suite), "candidates": {n: get_candidate(n).identity() for n in scored}}


def _latency(model, precision, hardware, source, scope, ms, *, valid=True, clip_seconds=10.0, threads=None):
    return {"model": model, "task": "eq", "precision": precision, "hardware": hardware, "source": source,
            "scope": scope, "threads": threads, "clip_seconds": clip_seconds,
            "p50_ms": ms / 2 if source == "measured" else None, "p90_ms": ms if source == "measured" else None,
            "p95_ms": ms if source == "measured" else None, "p99_ms": None, "projected_ms": ms * 0.8,
            "projected_low_ms": ms * 0.6, "projected_high_ms": ms if source == "projected" else None,
            "rtf": 0.01, "valid": valid, "reason": "" if valid else "too few queries", "assumptions": {"x": 1}}


def _populate(db, suite, *, model=0.5, int8=0.5, prev=0.5, rules=0.8, worse=0, tonal=1.0, latency_ms=50.0,
              recipe=None, errors=0, run_id="r1", identity=None, int8_faster=True):
    """A finished run with chosen medians: bypass 1.0, rules `rules`, the model `model` (lower is better)."""
    rng = np.random.default_rng(0)
    clips = tuple(ClipRecord(id=f"c{i}", source="generated", origin="", genre="pop", offset_s=0, duration_s=5,
                             sample_rate=48000, split="test", sha256="0" * 64, target_file="") for i in range(N))
    recipe = recipe or {"kind": "generated", "corpus": suite.corpus.model_dump()}
    manifest = Manifest(suite="g", recipe=recipe, clips=clips)
    rows = []
    for cand, level in [("bypass", 1.0), ("rules", rules), ("model:eq-v2@int8", int8), ("model:eq-v2@fp32", model),
                        ("model:eq-v1@fp32", prev)]:
        for i in range(N):
            d = level * (1 + 0.01 * rng.standard_normal())
            if cand == "model:eq-v2@int8" and i < worse:
                d = 1.5
            if cand == "bypass":
                d = 1.0
            error = "boom: decoder failed" if cand == "model:eq-v2@int8" and i < errors else None
            rows.append({"task": "eq", "variant": None, "clip_id": f"c{i}", "source": "generated", "candidate": cand,
                         "metrics": None if error else
                         {"matched_mrstft_distance": d, "tonal_balance_error_db": tonal, "loudness_error_lu": 0.1},
                         "gap_closed": None if error else
                         {"matched_mrstft_distance": 1 - d, "tonal_balance_error_db": 0.0, "loudness_error_lu": 0.0},
                         "error": error})
    store = Store(db)
    store.start_run(run_id, suite.name, manifest.manifest_hash, {"identity": identity or _scored_identity(suite)})
    store.add_clip_results(run_id, rows)
    report = build_report(suite, manifest, run_id, store.clip_results(run_id))
    store.finish_run(run_id, report, aggregate_rows(report))
    # INT8 ships where it was measured faster: here on the CPU (the quality target).
    store.add_latencies([_latency("eq-v2", "int8", "cpu", "measured", "controller", 0.02 if int8_faster else 0.09),
                         _latency("eq-v2", "fp32", "cpu", "measured", "controller", 0.05)])
    if latency_ms is not None:
        store.add_latencies([_latency("eq-v2", "fp32", "t4", "projected", "end_to_end", latency_ms)])
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


def _variant(tmp_path, path, extra="", replace=("", "")) -> str:
    """The same suite (same name, same scoring content) with other gate settings, in another folder."""
    folder = tmp_path / "variant"
    folder.mkdir(exist_ok=True)
    out = folder / "g.toml"
    out.write_text(open(path).read().replace(*replace) + extra)
    return str(out)


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


def test_no_run_is_a_failing_verdict_with_files_and_bad_names_exit_2(setup, capsys):
    """No evidence is a verdict (exit 1, JUnit and Markdown written); bad input is exit 2."""
    tmp_path, path, _ = setup
    code, cases, md = _gate(tmp_path, path)
    assert code == 1 and cases == {"evidence exists": False} and "no complete run" in md
    assert main(["gate", "smok", "--db", str(tmp_path / "empty.db")]) == 2
    assert main(["gate", path, "--candidate", "eq-v9", "--db", str(tmp_path / "empty.db")]) == 2
    assert "unknown candidate" in capsys.readouterr().err


def test_a_bar_missing_its_required_fields_fails_when_the_suite_loads(tmp_path):
    from harness.errors import UserError
    from harness.suites import suites_dir

    path = tmp_path / "nomax.toml"
    path.write_text(f'include = ["{(suites_dir() / "_base.toml").as_posix()}"]\n'
                    '[[bars]]\nname = "harm without a limit"\nkind = "harm"\n')
    with pytest.raises(UserError, match=r"nomax\.toml: bar 'harm without a limit': a 'harm' bar needs max"):
        load_suite(str(path))


def test_an_unknown_bar_kind_is_named_with_a_suggestion(tmp_path):
    from harness.errors import UserError
    from harness.suites import suites_dir

    path = tmp_path / "typo.toml"
    path.write_text(f'include = ["{(suites_dir() / "_base.toml").as_posix()}"]\n'
                    '[[bars]]\nname = "t"\nkind = "vs_baseline"\n')
    with pytest.raises(UserError, match=r"unknown bar kind 'vs_baseline'.*vs_baselines"):
        load_suite(str(path))


def test_a_fixture_release_never_ships(setup):
    tmp_path, path, suite = setup
    meta = tmp_path / "models" / "eq" / "eq-v2" / "release.json"
    meta.write_text(meta.read_text().replace('"fixture": false', '"fixture": true'))
    _populate(tmp_path / "r.db", suite)  # scored after the edit: the files match
    code, cases, md = _gate(tmp_path, path)
    assert code == 1 and cases["not a test fixture"] is False and "fixture" in md
    assert cases["evidence is for these model files"] is True


def test_too_few_test_examples_fail_the_gate(setup):
    """Trust: the one-clip corpus. The suite's floor on examples is checked before any bar."""
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite)
    strict = _variant(tmp_path, path, "\n[tasks.eq]\nmin_test_examples = 50\n")
    code, cases, md = _gate(tmp_path, strict)
    assert code == 1 and cases["enough test examples"] is False and f"{N} scored test examples" in md


def test_a_folder_corpus_counts_only_when_the_suite_allows_it(setup):
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite, recipe={"kind": "folder", "root": "/somewhere"})
    code, cases, md = _gate(tmp_path, path)
    assert code == 1 and cases["evidence is on the suite's own corpus"] is False and "allowed_corpora" in md
    manifest_hash = json.loads(Store(tmp_path / "r.db").runs()[0]["report"])["corpus"]["manifest_hash"]
    allowed = _variant(tmp_path, path, f'\n[gate]\nallowed_corpora = ["{manifest_hash}"]\n')
    code, cases, _ = _gate(tmp_path, allowed)
    assert cases["evidence is on the suite's own corpus"] is True and code == 0


def test_another_seed_is_not_the_suites_corpus(setup):
    tmp_path, path, suite = setup
    corpus = {**suite.corpus.model_dump(), "seed": 7}
    _populate(tmp_path / "r.db", suite, recipe={"kind": "generated", "corpus": corpus})
    code, cases, md = _gate(tmp_path, path)
    assert code == 1 and cases["evidence is on the suite's own corpus"] is False and "seed" in md


def test_a_run_of_another_file_with_the_same_suite_name_is_not_evidence(setup):
    """Trust: another file named like the suite, with other content, was scored; the gate must not use it."""
    tmp_path, path, suite = setup
    other_dir = tmp_path / "elsewhere"
    other_dir.mkdir()
    other = other_dir / "g.toml"  # same name "g", other scoring content
    other.write_text(open(path).read().replace("clips = 12", "clips = 13"))
    other_suite = load_suite(str(other))
    assert other_suite.name == suite.name
    _populate(tmp_path / "r.db", other_suite, identity=_scored_identity(other_suite))
    code, cases, md = _gate(tmp_path, path)
    assert code == 1 and cases == {"evidence exists": False} and "other scoring content" in md


def test_failed_examples_of_the_candidate_fail_the_gate(setup):
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite, errors=3)
    code, cases, md = _gate(tmp_path, path)
    assert code == 1 and cases["no failed examples"] is False and "3 example(s)" in md and "decoder failed" in md


def test_int8_ships_only_where_measured_faster(setup):
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite, int8=0.9, int8_faster=False)  # a bad INT8 that is also slower
    code, cases, md = _gate(tmp_path, path)
    assert code == 0, md  # FP32 ships: INT8's quality does not matter
    assert "ships FP32" in md and "INT8 not faster on cpu" in md


def test_latency_uses_the_newest_valid_measurement_at_the_bars_clip_length(setup):
    """Trust: a `latency --clip-seconds 0.6` run must not move the gate's figure; an INVALID row
    never counts, and a projection counts only where the bar allows it."""
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite, latency_ms=None)
    store = Store(tmp_path / "r.db")
    store.add_latencies([_latency("eq-v2", "fp32", "t4", "measured", "end_to_end", 120.0),
                         _latency("eq-v2", "fp32", "t4", "measured", "end_to_end", 20.0, clip_seconds=0.6),
                         _latency("eq-v2", "fp32", "t4", "measured", "end_to_end", 10.0, valid=False)])
    store.close()
    code, cases, md = _gate(tmp_path, path)
    assert cases["latency"] is False and "120.000 ms" in md and "MEASURED" in md
    strict = _variant(tmp_path, path, replace=("allow_projected = true", "allow_projected = false"))
    _populate(tmp_path / "p.db", suite)  # only a projection on t4
    code = main(["gate", strict, "--db", str(tmp_path / "p.db"), "--markdown", str(tmp_path / "p.md")])
    assert code == 1 and "only PROJECTED" in (tmp_path / "p.md").read_text()


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


def test_nothing_to_ship_is_a_verdict_with_files(tmp_path, monkeypatch):
    """Trust: "no release" has one meaning — the gate exits 1 and still writes JUnit and Markdown."""
    from harness.suites import suites_dir

    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "none"))
    code, cases, md = _gate(tmp_path, str(suites_dir() / "smoke.toml"))
    assert code == 1 and cases == {"something to ship": False} and "no model release" in md


def test_against_must_be_another_release_of_the_same_task(setup, capsys):
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite)
    assert main(["gate", path, "--db", str(tmp_path / "r.db"), "--against", "eq-v9"]) == 2
    assert "eq-v9" in capsys.readouterr().err
    assert main(["gate", path, "--db", str(tmp_path / "r.db"), "--candidate", "eq-v2", "--against", "eq-v2"]) == 2
    assert "another release of the same task" in capsys.readouterr().err
    code, cases, md = _gate(tmp_path, path, "--against", "eq-v1")
    assert code == 0 and "eq-v1" in md


def test_a_baseline_gated_by_name_is_not_compared_with_itself(setup):
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite, identity={**_scored_identity(suite, SCORED + ["rules"])})
    code, cases, md = _gate(tmp_path, path, "--candidate", "rules")
    assert "vs rules" not in md and "vs bypass" in md


def test_markdown_cells_escape_pipes():
    from harness.gate import Verdict, markdown_summary

    md = markdown_summary("s", [("r", "run", [Verdict("a|b", "eq", False, "x | y\nz")])])
    row = [line for line in md.splitlines() if line.startswith("| ❌")][0]
    assert row.count("|") - row.count("\\|") == 5 and "x \\| y z" in row


def test_files_the_gate_writes_honour_the_umask(setup):
    """Trust: report, JUnit and manifest files got mode 0600 whatever the umask (mkstemp's default)."""
    import os
    import stat

    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite)
    old = os.umask(0o022)
    try:
        _gate(tmp_path, path)
    finally:
        os.umask(old)
    for name in ("g.xml", "g.md"):
        assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o644
    assert 'name="run_id" value="r1"' in (tmp_path / "g.xml").read_text()


def test_a_suite_can_require_recorded_evidence(setup):
    """The release suite requires real music: a model that helps generated clips can still hurt it."""
    tmp_path, path, suite = setup
    _populate(tmp_path / "r.db", suite)  # generated examples only
    strict = _variant(tmp_path, path, '\n[gate]\nrequire_sources = ["generated", "recorded"]\n')
    code, cases, md = _gate(tmp_path, strict)
    assert code == 1 and cases["evidence covers the required sources"] is False and "--recorded" in md
    assert load_suite("release").gate.require_sources == ["generated", "recorded"]

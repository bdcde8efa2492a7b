"""Trust: the hostile-user probes of the Trust issue, as one table, so none of them comes back.

Each row runs one probe through the CLI and asserts its exit code, the words of its one-line
message, that no traceback is printed and that nothing given to it was damaged. Probes that need a
scored run, a model or a killed process live in their own tests, listed in COVERED_ELSEWHERE (and
checked to exist).
"""

import json
import os
import sqlite3
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from harness.cli import main
from harness.suites import suites_dir

BASE = (suites_dir() / "_base.toml").as_posix()


def _suite(tmp: Path, body: str, name: str = "probe") -> str:
    path = tmp / f"{name}.toml"
    path.write_text(f'include = ["{BASE}"]\n' + body)
    return str(path)


def _song(path: Path, seconds: float = 12.0) -> None:
    t = np.arange(int(48000 * seconds)) / 48000
    x = 0.3 * np.sin(2 * np.pi * 220 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.7 * t))
    sf.write(path, np.stack([x, x * 0.9]).T.astype("float32"), 48000)


def _setup(kind: str, tmp: Path) -> list[str]:
    """Build the probe's input in `tmp`; return its argv."""
    db = ["--db", str(tmp / "r.db")]
    if kind == "harm bar without max":
        return ["suites", "validate", _suite(tmp, '[[bars]]\nname = "h"\nkind = "harm"\n')]
    if kind == "bounds [1, 'x']":
        return ["suites", "validate", _suite(tmp, '[tasks.eq.degradation]\ntilt_db = {uniform = [1, "x"]}\n'), "smoke"]
    if kind == "bounds ['a', 'b']":
        return ["suites", "validate", _suite(tmp, '[tasks.eq.degradation]\ntilt_db = {uniform = ["a", "b"]}\n')]
    if kind == "bounds [0, inf]":
        return ["suites", "validate", _suite(tmp, "[tasks.eq.degradation]\ntilt_db = {uniform = [0, inf]}\n")]
    if kind == "non-UTF-8 suite":
        (tmp / "latin1.toml").write_bytes('description = "caf\xe9"\n'.encode("latin-1"))
        return ["suites", "validate", str(tmp / "latin1.toml")]
    if kind == "directory include":
        (tmp / "adir").mkdir()
        (tmp / "dirinc.toml").write_text('include = ["adir"]\n')
        return ["suites", "validate", str(tmp / "dirinc.toml")]
    if kind == "include = 'x'":
        (tmp / "strinc.toml").write_text('include = "x"\n')
        return ["suites", "validate", str(tmp / "strinc.toml")]
    if kind == "unknown bar kind":
        return ["suites", "validate", _suite(tmp, '[[bars]]\nname = "t"\nkind = "vs_best_baselin"\n')]
    if kind == "suite path that does not exist":
        return ["run", str(tmp / "elsewhere" / "mine.toml"), *db]
    if kind == "--db is a directory":
        return ["gate", "smoke", "--db", str(tmp)]
    if kind == "--db under a file":
        (tmp / "afile").write_text("x")
        return ["gate", "smoke", "--db", str(tmp / "afile" / "r.db")]
    if kind == "--db is not a database":
        (tmp / "notes.db").write_text("my notes\n" * 50)
        return ["gate", "smoke", "--db", str(tmp / "notes.db")]
    if kind == "--db is another app's SQLite":
        with sqlite3.connect(tmp / "app.db") as c:
            c.execute("CREATE TABLE customers (id INTEGER)")
        return ["gate", "smoke", "--db", str(tmp / "app.db")]
    if kind == "--json names a directory":
        (tmp / "out").mkdir()
        return ["run", "smoke", "--json", str(tmp / "out"), *db]
    if kind == "--recorded folder missing":
        return ["run", "smoke", "--recorded", str(tmp / "missing"), *db]
    if kind == "--corpus with no test clips":
        (tmp / "one").mkdir()
        _song(tmp / "one" / "a.wav")
        return ["run", "smoke", "--corpus", str(tmp / "one"), *db]
    if kind == "gate with no run":
        return ["gate", "smoke", "--candidate", "rules", "--junit", str(tmp / "g.xml"), *db]
    if kind == "gate with nothing to ship":
        return ["gate", "smoke", "--junit", str(tmp / "g.xml"), "--markdown", str(tmp / "g.md"), *db]
    if kind == "latency with no release":
        return ["latency", *db]
    if kind == "gate --against unknown":
        return ["gate", "smoke", "--against", "eq-v0", *db]
    if kind == "malformed release.json beside gating rules":
        bad = tmp / "models" / "eq" / "broken"
        bad.mkdir(parents=True)
        (bad / "release.json").write_text("{ not json")
        return ["gate", "smoke", "--candidate", "rules", *db]
    if kind == "release with '..' in files":
        folder = tmp / "models" / "eq" / "escape"
        folder.mkdir(parents=True)
        (folder / "release.json").write_text(json.dumps({"name": "escape-v1", "task": "eq", "version": 1,
                                                         "features": "f", "params": [],
                                                         "files": {"fp32": "../../../etc/passwd"}}))
        return ["latency", "escape-v1", *db]
    if kind == "release named evil@int8":
        folder = tmp / "models" / "eq" / "evil"
        folder.mkdir(parents=True)
        (folder / "release.json").write_text(json.dumps({"name": "evil@int8", "task": "eq", "version": 1,
                                                         "features": "f", "params": [],
                                                         "files": {"fp32": "model.onnx"}}))
        return ["latency", "evil", *db]
    if kind == "corpus build with a FIFO and a bad file":
        (tmp / "music").mkdir()
        for i in range(6):
            _song(tmp / "music" / f"song{i}.wav")
        os.mkfifo(tmp / "music" / "pipe.wav")
        (tmp / "music" / "text.wav").write_text("not audio")
        return ["corpus", "build", "smoke", "--corpus", str(tmp / "music")]
    if kind == "analyze a FIFO":
        os.mkfifo(tmp / "pipe.wav")
        return ["analyze", str(tmp / "pipe.wav")]
    raise AssertionError(kind)


# (probe, exit code, words in the output, stream)
PROBES = [
    ("harm bar without max", 1, "a 'harm' bar needs max", "err"),
    ("bounds [1, 'x']", 1, "two finite numbers", "err"),
    ("bounds ['a', 'b']", 1, "two finite numbers", "err"),
    ("bounds [0, inf]", 1, "two finite numbers", "err"),
    ("non-UTF-8 suite", 1, "not UTF-8", "err"),
    ("directory include", 1, "is a directory, not a suite file", "err"),
    ("include = 'x'", 1, "include must be a list", "err"),
    ("unknown bar kind", 1, "did you mean 'vs_baselines'", "err"),
    ("suite path that does not exist", 2, "suite file not found", "err"),
    ("--db is a directory", 2, "is a directory", "err"),
    ("--db under a file", 2, "is a file, not a folder", "err"),
    ("--db is not a database", 2, "not a SQLite database", "err"),
    ("--db is another app's SQLite", 2, "not a DAWG Bench results store", "err"),
    ("--json names a directory", 2, "is a directory", "err"),
    ("--recorded folder missing", 2, "--recorded", "err"),
    ("--corpus with no test clips", 2, "has no test clips", "err"),
    ("gate with no run", 1, "no complete run", "out"),
    ("gate with nothing to ship", 1, "no model release", "out"),
    ("latency with no release", 0, "nothing to measure", "out"),
    ("gate --against unknown", 2, "eq-v0", "err"),
    ("malformed release.json beside gating rules", 1, "skipped a bad model release", "err"),
    ("release with '..' in files", 2, "leaves the release folder", "err"),
    ("release named evil@int8", 2, "invalid release name", "err"),
    ("corpus build with a FIFO and a bad file", 1, "not a regular file", "err"),
    ("analyze a FIFO", 1, "not a regular file", "err"),
]


@pytest.mark.parametrize("probe,code,words,stream", PROBES, ids=[p[0] for p in PROBES])
def test_probe(probe, code, words, stream, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "home"))
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "models"))
    argv = _setup(probe, tmp_path)
    before = {p: p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and p.suffix in (".db", ".toml")}
    assert main(argv) == code
    out, err = capsys.readouterr()
    assert words in (out if stream == "out" else err), (out, err)
    assert "Traceback" not in out + err
    if code == 2:
        assert len(err.strip().splitlines()) == 1, err
    for path, data in before.items():  # nothing the probe was given was changed
        assert path.read_bytes() == data, path


COVERED_ELSEWHERE = {
    "random-bytes release passes the gate": "tests/test_gate.py::test_a_release_whose_files_changed_after_scoring_fails_the_gate",
    "gate passes on one clip of another corpus": "tests/test_gate.py::test_too_few_test_examples_fail_the_gate",
    "another corpus": "tests/test_gate.py::test_a_folder_corpus_counts_only_when_the_suite_allows_it",
    "empty gate passes": "tests/test_gate.py::test_a_suite_with_no_bar_for_the_task_fails_nothing_checked",
    "runs matched by suite file name": "tests/test_gate.py::test_a_run_of_another_file_with_the_same_suite_name_is_not_evidence",
    "latency bar takes the last row": "tests/test_gate.py::test_latency_uses_the_newest_valid_measurement_at_the_bars_clip_length",
    "vs_previous passes without a previous release": "tests/test_gate.py::test_vs_previous_fails_closed_without_a_previous_release",
    "INT8 ships whenever it exists": "tests/test_gate.py::test_int8_ships_only_where_measured_faster",
    "fixture release gated like a real one": "tests/test_gate.py::test_a_fixture_release_never_ships",
    "gate --candidate rules compares rules with itself": "tests/test_gate.py::test_a_baseline_gated_by_name_is_not_compared_with_itself",
    "locked database": "tests/test_store_errors.py::test_a_locked_database_waits_visibly_then_fails_clearly",
    "read-only database": "tests/test_store_errors.py::test_a_read_only_database_is_one_line",
    "full disk": "tests/test_store_errors.py::test_a_full_disk_names_the_path_and_leaves_no_partial_file",
    "older store": "tests/test_store_errors.py::test_an_older_store_is_migrated_and_keeps_its_rows",
    "workers leak on SIGKILL/SIGTERM": "tests/test_clean_shutdown.py::test_no_worker_survives_its_parent",
    "latency good bad loses the good rows": "tests/test_release_safety.py::test_latency_keeps_the_good_release_when_another_is_bad",
    "symlink out of the release folder": "tests/test_release_safety.py::test_model_files_must_stay_in_their_folder",
    "no progress when output is not a terminal": "tests/test_progress.py",
}


def test_the_probes_covered_elsewhere_still_have_their_tests():
    root = Path(__file__).resolve().parents[1]
    for probe, where in COVERED_ELSEWHERE.items():
        file, _, name = where.partition("::")
        text = (root / file).read_text()
        assert not name or f"def {name}(" in text, f"{probe}: {where} is gone"


@pytest.mark.parametrize("argv", [["suites", "list"], ["suites", "validate"], ["suites", "show"],
                                  ["corpus", "build"], ["corpus", "show"], ["latency"], ["gate"], ["run"],
                                  ["demo"], ["analyze"], ["corpus"], ["suites"]])
def test_every_command_and_sub_verb_help_has_examples(argv, capsys):
    """Trust: sub-verbs (`suites list|validate|show`, `corpus build|show`) had no examples in --help."""
    with pytest.raises(SystemExit) as exit_:
        main([*argv, "--help"])
    assert exit_.value.code == 0
    assert "examples:" in capsys.readouterr().out

"""Runner: scores, JSON schema, failures recorded while the rest finishes, resume after a kill, store safety."""

import json
import multiprocessing
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import jsonschema
import numpy as np
import pytest

from harness.audio import write_wav
from harness.candidates import CANDIDATES
from harness.candidates.base import Candidate
from harness.cli import main
from harness.corpus.build import build_corpus
from harness.corpus.synth import STYLES, render_arrangement
from harness.finishing import master_to_target
from harness.store import Store
from harness.suites import load_suite

SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "run-schema.json").read_text())


@pytest.fixture(scope="module")
def music(tmp_path_factory):
    """Six finished 'songs' of 11 s: a folder corpus the smoke suite cuts into 5 s clips."""
    root = tmp_path_factory.mktemp("music")
    for i, genre in enumerate(["pop", "rock", "electronic", "hiphop", "ambient", "acoustic"]):
        done = master_to_target(render_arrangement(40 + i, STYLES[genre], 11.0, 48000), 48000)
        write_wav(root / f"{genre}.wav", done.audio.astype(np.float32), 48000)
    return root


@pytest.mark.slow(seconds=7)  # an end-to-end run
def test_run_scores_bounds_and_writes_a_valid_report(music, tmp_path, capsys):
    out = tmp_path / "run.json"
    code = main(["run", "smoke", "--corpus", str(music), "--candidates", "bypass", "oracle",
                 "--json", str(out), "--db", str(tmp_path / "r.db"), "--workers", "1"])
    assert code == 0
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    for task in ("eq", "compressor", "mastering"):
        cands = report["tasks"][task]["candidates"]
        assert abs(cands["bypass"]["gap_closed"]["median"]) < 1e-9
        assert cands["oracle"]["gap_closed"]["median"] > 0.99
        assert report["tasks"][task]["ranking"][0] == "oracle"
    assert report["failures"] == [] and report["corpus"]["source"] == "folder"
    assert "mastering: ranked by matched_mrstft_distance" in capsys.readouterr().out
    with sqlite3.connect(tmp_path / "r.db") as db:
        assert db.execute("SELECT status FROM runs").fetchone()[0] == "complete"
        assert db.execute("SELECT COUNT(*) FROM aggregates").fetchone()[0] > 0


class Broken(Candidate):
    name = "broken"
    kind = "baseline"

    def predict(self, query):
        raise RuntimeError("deliberately broken")


@pytest.fixture
def broken_candidate():
    with CANDIDATES.registered("broken", Broken):
        yield Broken


@pytest.mark.slow(seconds=4)  # an end-to-end run
def test_failing_candidate_and_corrupt_clip_are_recorded_and_the_rest_finishes(music, tmp_path, monkeypatch,
                                                                                broken_candidate):
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "home"))  # this test corrupts its corpus cache
    suite = load_suite("smoke")
    manifest = build_corpus(suite, folder=music)
    victim = manifest.split("test")[0]
    (Path(manifest.folder) / victim.target_file).write_bytes(b"RIFF....garbage")
    out = tmp_path / "run.json"
    code = main(["run", "smoke", "--corpus", str(music), "--candidates", "bypass", "oracle", "broken",
                 "--json", str(out), "--db", str(tmp_path / "r.db"), "--workers", "1"])
    assert code == 1
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    errors = report["failures"]
    assert any(f["candidate"] == "broken" and "deliberately broken" in f["error"] for f in errors)
    assert any(f["clip"] == victim.id and victim.target_file.split("/")[-1] in f["error"] for f in errors)
    # The healthy clips were still scored.
    assert report["tasks"]["eq"]["candidates"]["oracle"]["gap_closed"]["n"] >= 1


@pytest.mark.slow(seconds=10)  # two end-to-end runs
def test_killed_run_resumes_without_redoing_finished_clips(music, tmp_path):
    db = tmp_path / "r.db"
    env = {**os.environ, "DAWG_BENCH_HOME": str(tmp_path / "home")}
    # Three candidates, one worker: 8 examples x 3 rows leaves a wide window to kill the run midway.
    cmd = [sys.executable, "-m", "harness.cli", "run", "smoke", "--corpus", str(music),
           "--candidates", "bypass", "oracle", "rules", "--db", str(db), "--workers", "1"]
    proc = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    done_before = 0
    while time.time() < deadline and proc.poll() is None:
        if db.exists():
            try:
                with sqlite3.connect(db, timeout=5) as c:
                    done_before = c.execute("SELECT COUNT(*) FROM clip_results").fetchone()[0]
            except sqlite3.OperationalError:
                done_before = 0
            if done_before >= 4:
                break
        time.sleep(0.05)
    assert proc.poll() is None, "the run finished before it could be killed; make the corpus larger"
    proc.send_signal(signal.SIGKILL)
    proc.wait()
    with sqlite3.connect(db) as c:
        before = dict(c.execute("SELECT task || variant || clip_id || candidate, seconds FROM clip_results").fetchall())
        assert c.execute("SELECT status FROM runs").fetchone()[0] == "running"
        assert c.execute("SELECT COUNT(*) FROM aggregates").fetchone()[0] == 0  # no half-written aggregates
    assert len(before) >= 4
    second = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "finished examples reused" in second.stdout
    with sqlite3.connect(db) as c:
        after = dict(c.execute("SELECT task || variant || clip_id || candidate, seconds FROM clip_results").fetchall())
        assert c.execute("SELECT status FROM runs").fetchone()[0] == "complete"
    assert all(after[k] == v for k, v in before.items()), "finished clips were redone"
    assert len(after) > len(before)


def _writer(path, worker):
    store = Store(path)
    store.start_run(f"run{worker}", "smoke", "0" * 64, {})
    for i in range(40):
        store.add_clip_results(f"run{worker}", [{"task": "eq", "variant": None, "clip_id": f"c{i}",
                                                 "source": "generated", "candidate": "bypass",
                                                 "metrics": {"x": i}, "gap_closed": {"x": 0.0}}])
    store.close()


def test_two_processes_write_the_store_at_once(tmp_path):
    path = tmp_path / "shared.db"
    Store(path).close()
    ctx = multiprocessing.get_context("spawn")
    procs = [ctx.Process(target=_writer, args=(path, w)) for w in range(2)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    with sqlite3.connect(path) as c:
        assert c.execute("SELECT COUNT(*) FROM clip_results").fetchone()[0] == 80


def test_unknown_suite_and_candidate_exit_2(tmp_path, capsys):
    assert main(["run", "smok", "--db", str(tmp_path / "r.db")]) == 2
    assert "did you mean 'smoke'" in capsys.readouterr().err
    assert main(["run", "smoke", "--candidates", "bypas", "--db", str(tmp_path / "r.db")]) == 2
    assert "did you mean 'bypass'" in capsys.readouterr().err


@pytest.mark.slow(seconds=5)  # an end-to-end run
def test_unavailable_optional_peer_is_skipped_with_reason_not_failed(music, tmp_path, monkeypatch, capsys):
    from harness.candidates.base import Unavailable
    from harness.candidates.matchering_peer import Matchering

    def missing(self):
        raise Unavailable("matchering not installed: pip install '.[peers]'")

    monkeypatch.setattr(Matchering, "check_available", missing)
    out = tmp_path / "run.json"
    code = main(["run", "smoke", "--corpus", str(music), "--candidates", "bypass", "matchering",
                 "--json", str(out), "--db", str(tmp_path / "r.db"), "--workers", "1"])
    assert code == 0
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["failures"] == []
    assert report["skipped"] == [{"candidate": "matchering", "reason": "matchering not installed: pip install '.[peers]'"}]
    assert "pip install '.[peers]'" in capsys.readouterr().out  # not eaten as console markup


class ReferenceOnly(Candidate):
    """Takes only reference-based mastering, as matchering does."""

    name = "reference-only"
    kind = "baseline"
    tasks = ("mastering",)

    def supports(self, task, variant):
        return task == "mastering" and variant == "reference_based"

    def predict(self, query):
        from harness.candidates.bypass import Bypass

        return Bypass().predict(query)


@pytest.mark.slow(seconds=8)  # two end-to-end runs
def test_a_rerun_reuses_examples_a_candidate_does_not_pose(music, tmp_path, capsys):
    """A finished example is one whose every candidate that poses it has a row: a candidate without the
    variant (matchering on reference-free mastering) must not make a warm rerun rebuild it."""
    with CANDIDATES.registered("reference-only", ReferenceOnly):
        args = ["run", "smoke", "--corpus", str(music), "--candidates", "bypass", "reference-only",
                "--db", str(tmp_path / "r.db"), "--workers", "1"]
        assert main(args) == 0
        capsys.readouterr()
        assert main(args) == 0
    out = capsys.readouterr().out
    with sqlite3.connect(tmp_path / "r.db") as c:
        rows = c.execute("SELECT COUNT(*) FROM clip_results").fetchone()[0]
    reused = int(re.search(r"(\d+) finished examples reused", out).group(1))
    assert reused == len({k for k in _example_keys(tmp_path / "r.db")}), out
    assert rows > reused


def _example_keys(db):
    with sqlite3.connect(db) as c:
        return c.execute("SELECT DISTINCT task, variant, clip_id FROM clip_results").fetchall()

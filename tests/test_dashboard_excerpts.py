"""Rebuilding a clip for listening (dashboards/excerpts.py), on the dashboard's fixture store and the shared
smoke corpus: the excerpts are short, at one measured loudness, written atomically to the dashboard's cache;
each rebuilt candidate's score equals the stored one; a machine without the corpus gets one clear sentence."""

import json
import math
import sqlite3
from contextlib import closing
from pathlib import Path

import numpy as np
import pytest

import harness.atomic
from dashboards import excerpts
from dashboards.excerpts import RebuildError, Track
from harness.audio import read_audio
from harness.metrics.loudness import integrated_lufs

pytestmark = pytest.mark.slow(seconds=15)

METRIC = "matched_mrstft_distance"


def stored(db, task: str, variant: str = "") -> tuple[str, str, dict[str, float], float]:
    """(run id, first clip, candidate -> stored METRIC, the damaged input's stored METRIC), by plain sqlite3."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        run_id = c.execute("SELECT run_id FROM runs WHERE status = 'complete' ORDER BY finished_at DESC").fetchone()[0]
        clip = c.execute("SELECT min(clip_id) FROM clip_results WHERE run_id = ? AND task = ? AND variant = ?",
                         (run_id, task, variant)).fetchone()[0]
        rows = c.execute("SELECT candidate, metrics FROM clip_results WHERE run_id = ? AND task = ? AND variant = ? "
                         "AND clip_id = ?", (run_id, task, variant, clip)).fetchall()
    values = {cand: json.loads(m)[METRIC] for cand, m in rows}
    return run_id, clip, values, json.loads(rows[0][1])[f"input.{METRIC}"]


@pytest.fixture()
def models(dashboard_store, monkeypatch):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(dashboard_store.parent / "models"))  # the fixture's eq release


def test_excerpts_are_short_loudness_matched_atomic_and_match_the_stored_scores(dashboard_store, smoke_home, models,
                                                                                 monkeypatch):
    written = []
    real_atomic_path = harness.atomic.atomic_path

    def recording_atomic_path(path, *args, **kwargs):
        written.append(Path(path))
        return real_atomic_path(path, *args, **kwargs)

    monkeypatch.setattr(harness.atomic, "atomic_path", recording_atomic_path)
    run_id, clip, values, input_value = stored(dashboard_store, "eq")
    source = excerpts.run_source(dashboard_store, run_id)
    result = excerpts.render_clip(source, "eq", clip, None, sorted(values), values, METRIC, input_value)

    folder = Path(result.folder)
    assert folder.is_relative_to(smoke_home / "dashboard"), "excerpts live in the dashboard's cache folder"
    files = sorted(p for p in folder.iterdir())
    assert files and all(not p.name.startswith(".") for p in files), "no temporary file left behind"
    assert set(files) <= set(written), "every file went through harness/atomic.py"
    assert (folder / excerpts.SUMMARY).is_file()

    tracks = {t.name: t for t in result.tracks}
    assert set(tracks) == {"damaged input", "target", *values}
    assert result.listening_lufs <= excerpts.LISTENING_LUFS
    heard = [t for t in result.tracks if t.file]
    assert len(heard) >= 6
    for track in heard:
        audio = read_audio(track.file)
        assert audio.samples.shape[1] / audio.sample_rate <= excerpts.EXCERPT_SECONDS + 1e-9, track.name
        lufs = integrated_lufs(audio.samples.astype(np.float64), audio.sample_rate)
        assert abs(lufs - result.listening_lufs) < 0.05, (track.name, lufs)  # measured, after 16-bit rounding
        assert np.max(np.abs(audio.samples)) <= 10 ** (excerpts.PEAK_CEILING_DBFS / 20) + 1e-4, track.name
    assert {r["track"] for r in result.spectra} == {t.name for t in heard}
    assert {r["track"] for r in result.loudness} == {t.name for t in heard}

    # the evidence is the scored audio: each rebuilt candidate's metric equals the stored one
    for name, value in values.items():
        track = tracks[name]
        if name == "match":
            assert track.note == excerpts.NEEDS_FIT_NOTE and track.file is None and track.rebuilt is None
            continue
        assert track.check == "matches", (name, track)
        assert math.isclose(track.rebuilt, value, rel_tol=1e-4, abs_tol=1e-6), (name, track.rebuilt, value)
    assert tracks["damaged input"].check == "matches"
    assert any(n.startswith("model:") and tracks[n].check == "matches" for n in values), "a model release rebuilt"
    assert not result.notes, "nothing changed since the fixture's run"

    again = excerpts.cached_clip(run_id, "eq", clip, None)
    assert again is not None and again.to_json() == result.to_json()
    Path(heard[0].file).unlink()
    assert excerpts.cached_clip(run_id, "eq", clip, None) is None, "a folder missing a file is not a cache hit"


def test_a_wrong_stored_score_is_reported_as_different(dashboard_store, smoke_home, models):
    run_id, clip, values, input_value = stored(dashboard_store, "compressor")
    source = excerpts.run_source(dashboard_store, run_id)
    result = excerpts.render_clip(source, "compressor", clip, None, ["rules", "oracle"],
                                  {"rules": values["rules"] * 1.01, "oracle": values["oracle"]}, METRIC, input_value)
    checks = {t.name: t.check for t in result.tracks}
    assert checks["rules"] == "differs" and checks["oracle"] == "matches"


def test_a_task_with_a_reference_adds_it(dashboard_store, smoke_home, models):
    run_id, clip, values, input_value = stored(dashboard_store, "mastering", "reference_based")
    source = excerpts.run_source(dashboard_store, run_id)
    result = excerpts.render_clip(source, "mastering", clip, "reference_based", ["bypass", "rules"], values, METRIC,
                                  input_value)
    kinds = {t.kind for t in result.tracks if t.file}
    assert kinds == {"input", "candidate", "target", "reference"}
    assert all(t.check == "matches" for t in result.tracks if t.kind in ("input", "candidate"))


def test_a_missing_corpus_is_one_clear_sentence(dashboard_store):
    """This test's cache (conftest's isolated DAWG_BENCH_HOME) holds no corpus; nothing is built."""
    run_id, clip, values, input_value = stored(dashboard_store, "eq")
    source = excerpts.run_source(dashboard_store, run_id)
    with pytest.raises(RebuildError) as caught:
        excerpts.render_clip(source, "eq", clip, None, ["bypass"], values, METRIC, input_value)
    message = str(caught.value)
    assert "not on this machine" in message and "does not build corpora" in message
    assert "`dawg-bench corpus build smoke`" in message
    assert not list(excerpts.corpus_home().glob("*/manifest.json"))


def test_a_corpus_with_other_clips_is_refused(dashboard_store, smoke_home):
    run_id, *_ = stored(dashboard_store, "eq")
    source = excerpts.run_source(dashboard_store, run_id)
    other = excerpts.RunSource(run_id, source.suite, "0" * 64, source.corpus_recipe, source.identity)
    with pytest.raises(RebuildError, match="other clips than this run's"):
        excerpts.find_corpus(other)


def test_loudness_matching_guards_silence_short_and_loud_excerpts():
    sr = 48000
    t = np.arange(2 * sr) / sr
    quiet = np.tile(0.01 * np.sin(2 * np.pi * 1000 * t), (2, 1))
    peaky = np.zeros((2, 2 * sr))
    peaky[:, ::4800] = 1.0  # clicks: full-scale peaks at a low loudness, so matching would clip them
    peaky += quiet * 0.1
    tracks = [(Track("quiet", "candidate"), quiet), (Track("peaky", "candidate"), peaky),
              (Track("silent", "candidate"), np.zeros((2, sr))), (Track("short", "candidate"), quiet[:, : sr // 10]),
              (Track("absent", "candidate"), None)]
    level = excerpts.match_loudness(tracks, sr)
    by_name = {track.name: (track, x) for track, x in tracks}
    assert level < excerpts.LISTENING_LUFS, "lowered together so that the peaky excerpt does not clip"
    for name in ("quiet", "peaky"):
        track, x = by_name[name]
        y = x * 10 ** (track.gain_db / 20)
        assert abs(integrated_lufs(y, sr) - level) < 1e-6
        assert 20 * np.log10(np.max(np.abs(y))) <= excerpts.PEAK_CEILING_DBFS + 1e-9
    for name in ("silent", "short"):
        track, _ = by_name[name]
        assert track.source_lufs is None and "played at its own level" in track.note and track.gain_db <= 0.0
    assert by_name["absent"][0].gain_db is None

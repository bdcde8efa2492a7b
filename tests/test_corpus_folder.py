"""--corpus DIR: good files become clips, bad ones are listed with reasons, splits are by source file."""

import json

import numpy as np
import pytest
import soundfile as sf

from harness.cli import main
from harness.corpus.build import build_corpus
from harness.corpus.folder import loudest_windows
from harness.errors import UserError
from harness.suites import load_suite
from tests.bad_audio import make_bad_files


def _song(seconds, sr, seed):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((2, int(seconds * sr))) * 0.05
    x[:, int(3 * sr): int(6 * sr)] *= 4  # a loud chorus the cutter should find
    return x


@pytest.fixture()
def music_folder(tmp_path):
    root = tmp_path / "music"
    (root / "album").mkdir(parents=True)
    for i in range(8):
        sf.write(root / "album" / f"song{i}.flac", _song(14, 44100, i).T, 44100)
    sf.write(root / "silent.wav", np.zeros((48000 * 12, 2)), 48000)
    sf.write(root / "short.wav", _song(2, 48000, 99).T, 48000)
    bad = make_bad_files(root / "broken")
    del bad["a_folder.wav"]  # a folder named like audio is walked into, not read
    return root, bad


def test_folder_corpus_clips_rejects_and_splits(music_folder):
    root, bad = music_folder
    manifest = build_corpus(load_suite("smoke"), folder=root)
    assert manifest.recipe["kind"] == "folder"
    rejected = {r["file"].split("/")[-1]: r["reason"] for r in manifest.rejected}
    assert "silence" in rejected["silent.wav"] and "too short" in rejected["short.wav"]
    for name, words in bad.items():
        assert words in rejected[name], (name, rejected.get(name))
    origins = {c.origin.split("/")[-1] for c in manifest.clips}
    assert origins == {f"song{i}.flac" for i in range(8)}
    assert all(c.sample_rate == 48000 and abs(c.duration_s - 5.0) < 1e-9 for c in manifest.clips)
    split_of: dict[str, set] = {}
    for c in manifest.clips:
        split_of.setdefault(c.origin, set()).add(c.split)
    assert all(len(s) == 1 for s in split_of.values()), "a source file leaked across splits"
    assert {s for (s,) in split_of.values()} == {"train", "validation", "test"}


def test_folder_corpus_is_deterministic_and_cached(music_folder, tmp_path, monkeypatch):
    root, _ = music_folder
    first = build_corpus(load_suite("smoke"), folder=root)
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "other-cache"))
    second = build_corpus(load_suite("smoke"), folder=root)
    assert first.manifest_hash == second.manifest_hash and first.folder != second.folder


def test_loudest_window_finds_the_chorus():
    sr = 8000
    x = _song(14, sr, 0)
    starts = loudest_windows(x, sr, 5.0, limit=1)
    assert starts == [2 * sr] or starts == [sr * 3] or starts == [sr]  # window covering 3–6 s
    assert starts[0] <= 3 * sr and starts[0] + 5 * sr >= 6 * sr


def test_cli_json_and_missing_folder(music_folder, capsys):
    root, bad = music_folder
    # Rejected files: built, but exit 1 (not everything given was used), each listed with its reason.
    assert main(["corpus", "build", "smoke", "--corpus", str(root), "--json"]) == 1
    captured = capsys.readouterr()
    out = json.loads(captured.out)
    assert {"manifest_hash", "clips", "splits", "rejected"} <= set(out)
    assert len(out["rejected"]) == len(bad) + 2 and "Traceback" not in captured.err
    assert all({"file", "reason"} == set(r) for r in out["rejected"])
    assert main(["corpus", "build", "smoke", "--corpus", str(root / "nope")]) == 2
    assert "--corpus " in (err := capsys.readouterr().err) and "nope: folder not found" in err


def test_folder_with_nothing_usable_is_a_clear_error(tmp_path):
    make_bad_files(tmp_path / "junk")
    with pytest.raises(UserError, match="no usable audio"):
        build_corpus(load_suite("smoke"), folder=tmp_path / "junk")


def test_fifos_devices_and_link_loops_are_rejected_with_a_reason(tmp_path):
    """Trust: they were silently left out (and a FIFO would block a reader forever)."""
    import os

    from harness.audio import find_audio_files

    root = tmp_path / "music"
    root.mkdir()
    sf.write(root / "good.wav", _song(14, 48000, 1).T, 48000)
    os.mkfifo(root / "pipe.wav")
    (root / "loop.wav").symlink_to(root / "loop.wav")
    (root / "gone.flac").symlink_to(tmp_path / "missing.flac")
    (root / "subdir").mkdir()
    (root / "subdir" / "back").symlink_to(root, target_is_directory=True)  # a directory loop
    found = {p.name for p in find_audio_files(root)}
    assert found == {"good.wav", "pipe.wav", "loop.wav", "gone.flac"}
    manifest = build_corpus(load_suite("smoke"), folder=root)
    reasons = {os.path.basename(r["file"]): r["reason"] for r in manifest.rejected}
    assert "not a regular file" in reasons["pipe.wav"]
    assert "broken or looping" in reasons["loop.wav"] and "broken or looping" in reasons["gone.flac"]

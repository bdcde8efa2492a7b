"""The generated corpus: reproducible from its seed, identified by its hash, finished to its targets."""

import filecmp
from pathlib import Path

import pytest

from harness.audio import read_audio
from harness.cli import main
from harness.corpus.build import build_corpus
from harness.metrics import integrated_lufs, true_peak_dbtp
from harness.suites import load_suite

pytestmark = pytest.mark.slow(seconds=3)  # builds three corpora


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    from harness.suites import suites_dir

    path = tmp_path_factory.mktemp("suites") / "tiny.toml"
    path.write_text(f'include = ["{(suites_dir() / "_base.toml").as_posix()}"]\n'
                    "[corpus]\nclips = 6\nclip_seconds = 4.0\n")
    return load_suite(str(path))


@pytest.fixture(scope="module")
def first(suite, tmp_path_factory):
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAWG_BENCH_HOME", str(tmp_path_factory.mktemp("home-a")))
        return build_corpus(suite, workers=2)


def test_same_seed_same_hash_and_bytes(suite, first, tmp_path, monkeypatch):
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "home-b"))
    again = build_corpus(suite, workers=1)
    assert again.manifest_hash == first.manifest_hash
    assert again.folder != first.folder
    for a, b in zip(first.clips, again.clips):
        assert a.sha256 == b.sha256
        assert filecmp.cmp(Path(first.folder) / a.target_file, Path(again.folder) / b.target_file, shallow=False)
        assert filecmp.cmp(Path(first.folder) / a.raw_file, Path(again.folder) / b.raw_file, shallow=False)


def test_other_seed_other_hash(suite, first, tmp_path, monkeypatch):
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "home-c"))
    other = build_corpus(suite, seed=1, workers=2)
    assert other.manifest_hash != first.manifest_hash
    assert {c.sha256 for c in other.clips}.isdisjoint({c.sha256 for c in first.clips})


def test_pro_clips_meet_their_targets_by_our_meter(first):
    """Benchmark-data acceptance: each master within 0.5 LU of its own drawn loudness (spread over
    the suite's finished_lufs, -16…-8 by default) and ≤ -1 dBTP true peak."""
    for rec in first.clips:
        audio = read_audio(Path(first.folder) / rec.target_file)
        assert audio.channels == 2 and audio.sample_rate == 48000
        assert -16.0 <= rec.finish["target_lufs"] <= -8.0, rec.id
        assert abs(integrated_lufs(audio.samples, 48000) - rec.finish["target_lufs"]) <= 0.5, rec.id
        assert true_peak_dbtp(audio.samples, 48000) <= -1.0, rec.id
        assert rec.layers, "every clip says what it was made of"


def test_splits_and_genres_cover_the_suite(first, suite):
    counts = first.split_counts()
    assert sum(counts.values()) == 6 and all(counts[s] >= 1 for s in counts)
    assert [c.genre for c in first.clips] == [suite.corpus.genres[i % 6] for i in range(6)]


def test_cached_build_is_reused_and_resumes(suite, first, tmp_path, monkeypatch):
    import os
    import shutil

    # This test deletes files from the cache: it works on a copy, since the other tests read `first`.
    first_home = Path(first.folder).parents[1]
    home = Path(shutil.copytree(first_home, tmp_path / "home"))
    folder = home / Path(first.folder).relative_to(first_home)
    monkeypatch.setenv("DAWG_BENCH_HOME", str(home))
    reused = build_corpus(suite)
    assert reused.manifest_hash == first.manifest_hash and Path(reused.folder) == folder  # manifest reused
    (folder / "manifest.json").unlink()
    victim = folder / first.clips[2].target_file
    victim.unlink()
    (folder / "records" / f"{first.clips[2].id}.json").unlink()
    mtimes = {c.id: os.stat(folder / c.target_file).st_mtime_ns for c in first.clips if c.id != first.clips[2].id}
    rebuilt = build_corpus(suite, workers=1)
    assert rebuilt.manifest_hash == first.manifest_hash and victim.exists()
    for cid, mtime in mtimes.items():  # finished clips were not regenerated
        rec = next(c for c in rebuilt.clips if c.id == cid)
        assert os.stat(folder / rec.target_file).st_mtime_ns == mtime


def test_cli_json_summary(suite, first, monkeypatch, capsys):
    import json

    monkeypatch.setenv("DAWG_BENCH_HOME", str(Path(first.folder).parents[1]))
    assert main(["corpus", "build", suite.path, "--json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["manifest_hash"] == first.manifest_hash and out["clips"] == 6
    assert set(out["splits"]) == {"train", "validation", "test"} and out["rejected"] == []
    assert main(["corpus", "show", suite.path]) == 0
    assert "manifest hash" in capsys.readouterr().out

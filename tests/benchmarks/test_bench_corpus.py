"""Corpus generation speed. Goal (benchmark-data issue): 200 generated 10 s clips in under 60 s on
the 2-core dev machine, i.e. ≥ 33 s of finished stereo 48 kHz audio per second of wall time.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_corpus.py --benchmark-enable -n 0
With benchmarking disabled (the default test run, or under xdist) it builds 3 clips of 1 s into a
fresh cache as a smoke test, without the warm-up, and checks what it built.
The figure is recorded in extra_info (`clips`, `seconds`, `x_realtime`), not asserted: wall time
on a shared machine is not a pass/fail fact.
"""

import time
from pathlib import Path

import pytest

from harness.audio import read_audio
from harness.corpus.build import build_corpus
from harness.corpus.manifest import audio_sha256
from harness.metrics import measure
from harness.suites import load_suite, suites_dir


def test_generate_200_clips(benchmark, benchmarking, request, tmp_path, monkeypatch):
    clips, seconds = (200, 10.0) if benchmarking else (3, 1.0)
    path = tmp_path / "bench.toml"
    path.write_text(f'include = ["{(suites_dir() / "_base.toml").as_posix()}"]\n'
                    f"[corpus]\nclips = {clips}\nclip_seconds = {seconds}\n")
    suite = load_suite(str(path))
    if benchmarking:
        request.getfixturevalue("smoke_corpus")  # warm caches (numba, renders) outside the timing
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "fresh"))
    workers = 2 if benchmarking else 1  # smoke: no process-pool start-up (test_corpus_generated covers the pool)
    start = time.perf_counter()
    manifest = benchmark.pedantic(build_corpus, args=(suite,), kwargs={"workers": workers}, rounds=1, iterations=1)
    wall = time.perf_counter() - start
    assert len(manifest.clips) == clips
    assert Path(manifest.folder).is_relative_to(tmp_path / "fresh")
    assert all(n >= 1 for n in manifest.split_counts().values())
    if not benchmarking:  # check the clips the smoke run made: the files are what their records say
        sr = suite.corpus.sample_rate
        for rec in manifest.clips:
            audio = read_audio(Path(manifest.folder) / rec.target_file)
            assert audio.samples.shape == (2, round(seconds * sr)) and audio.sample_rate == sr
            assert audio_sha256(audio.samples) == rec.sha256
            assert measure("integrated_lufs", audio.samples, sr).value == pytest.approx(rec.lufs, abs=0.01)
            assert measure("true_peak_dbtp", audio.samples, sr).value <= suite.corpus.ceiling_dbtp + 0.01
    benchmark.extra_info.update(clips=clips, seconds=round(wall, 2), x_realtime=round(clips * seconds / wall, 1))

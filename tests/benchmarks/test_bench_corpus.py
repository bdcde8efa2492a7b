"""Corpus generation speed. Goal (benchmark-data issue): 200 generated 10 s clips in under 60 s on
the 2-core dev machine, i.e. ≥ 33 s of finished stereo 48 kHz audio per second of wall time.

Run: .venv/bin/python -m pytest tests/benchmarks/test_bench_corpus.py --benchmark-enable
With benchmarking disabled (the default test run) it builds 4 short clips as a smoke test.
The figure is recorded in extra_info (`clips`, `seconds`, `x_realtime`), not asserted: wall time
on a shared machine is not a pass/fail fact.
"""

import time

from harness.corpus.build import build_corpus
from harness.suites import load_suite, suites_dir


def test_generate_200_clips(benchmark, tmp_path, monkeypatch):
    enabled = not benchmark.disabled
    clips, seconds = (200, 10.0) if enabled else (4, 2.0)
    path = tmp_path / "bench.toml"
    path.write_text(f'include = ["{(suites_dir() / "_base.toml").as_posix()}"]\n'
                    f"[corpus]\nclips = {clips}\nclip_seconds = {seconds}\n")
    suite = load_suite(str(path))
    build_corpus(load_suite("smoke"), workers=2)  # warm caches (numba, renders) outside the timing
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "fresh"))
    start = time.perf_counter()
    manifest = benchmark.pedantic(build_corpus, args=(suite,), kwargs={"workers": 2}, rounds=1, iterations=1)
    wall = time.perf_counter() - start
    assert len(manifest.clips) == clips
    benchmark.extra_info.update(clips=clips, seconds=round(wall, 2), x_realtime=round(clips * seconds / wall, 1))

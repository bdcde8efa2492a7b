"""Peak memory of `dawg-bench analyze` against file length: flat for the streaming path (the command),
growing with the file for the whole-file path (`analyze_audio(read_audio(path))`, the reference).

Run: .venv/bin/python -m pytest tests/benchmarks/test_analyze_rss.py --benchmark-enable -n 0
Each test analyses a generated stereo 48 kHz float32 WAV of 1, 5 and 20 minutes in a child process
and stores its peak RSS (`peak_rss_mib`, from os.wait4), the file's size and the wall time in
benchmark.extra_info. Nothing is asserted about them: memory and time on a shared machine are figures
to read, not pass/fail facts (the pass/fail bound is tests/test_analyze_streaming.py's 1 GB test).
With the project's default --benchmark-disable (or under xdist) each test is a smoke test on 3 s.
"""

from __future__ import annotations

import json
import sys
import time

import pytest

from tests.test_analyze_streaming import child_peak_rss_bytes, write_long_wav

pytestmark = pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units and os.wait4 as on Linux")

MINUTES = (1.0, 5.0, 20.0)
SMOKE_MINUTES = 0.05
# The pre-streaming path, in a child process of its own so its memory is measured alone.
WHOLE_FILE = ("import json, sys; from harness.analysis import analyze_audio; from harness.audio import read_audio; "
              "json.dump([analyze_audio(read_audio(sys.argv[1]))], sys.stdout)")
PATHS = {
    "streaming": lambda wav: [sys.executable, "-m", "harness.cli", "analyze", "--json", str(wav)],
    "whole_file": lambda wav: [sys.executable, "-c", WHOLE_FILE, str(wav)],
}


@pytest.mark.parametrize("path_kind", sorted(PATHS))
@pytest.mark.parametrize("index", range(len(MINUTES)), ids=[f"{m:g}min" for m in MINUTES])
def test_analyze_peak_rss(benchmark, benchmarking, tmp_path, path_kind, index):
    if not benchmarking and index:
        pytest.skip("smoke run: one length is enough")
    minutes = MINUTES[index] if benchmarking else SMOKE_MINUTES
    wav = write_long_wav(tmp_path / "programme.wav", minutes)
    file_mib = wav.stat().st_size / 2**20
    out = tmp_path / "out.json"

    def run() -> tuple[int, int]:
        return child_peak_rss_bytes(PATHS[path_kind](wav), out)

    try:
        start = time.perf_counter()
        code, rss = benchmark.pedantic(run, rounds=1, iterations=1)
        wall = time.perf_counter() - start
    finally:
        wav.unlink()  # up to 461 MB: not left in pytest's kept tmp folders
    assert code == 0, out.with_suffix(".err").read_text()
    (report,) = json.loads(out.read_text())
    assert report["duration_s"] == pytest.approx(minutes * 60)
    benchmark.extra_info.update(path=path_kind, minutes=minutes, file_mib=round(file_mib, 1),
                                peak_rss_mib=round(rss / 2**20, 1), wall_s=round(wall, 2))

"""`dawg-bench analyze` reads files block by block: the same report as the whole-file path, in bounded memory.

The whole-file path (`analyze_audio(read_audio(path))`) is the reference: every figure streamed from
blocks must equal it - the block size is chosen so that blocks never divide the clip, and some are
smaller than one Welch segment or one 10 ms granule. Tolerances asserted (1e-6 dB/LU, 1e-6 Hz) are far
inside the task's (0.01 LU/dB, 1 Hz); the sums only differ in rounding (observed <= ~1e-11).
"""

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import soundfile as sf

from harness.analysis import analyze_audio
from harness.audio import AudioError, read_audio
from harness.audio_blocks import AudioBlocks, iter_blocks
from harness.cli import main
from harness.metrics import spectral_centroid_hz, tonal_balance_db
from harness.streaming_analysis import analyze_file
from tests.bad_audio import make_bad_files
from tests.conftest import sine

LEVEL_TOL_DB = 1e-6  # LU, dB, dBTP, dBFS: the task allows 0.01
CENTROID_TOL_HZ = 1e-6  # the task allows 1 Hz
RSS_LIMIT_BYTES = 1 << 30


def programme(seconds: float, sr: int, channels: int = 2, seed: int = 0) -> np.ndarray:
    """Music-like float32 (channels, n): tones with tremolo, pulsing noise, a level ramp; not stationary."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    x = np.zeros((channels, n))
    for _ in range(6):
        freq = rng.uniform(40, 6000)
        env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 4.0) * t + rng.uniform(0, 6))
        for c in range(channels):
            x[c] += rng.uniform(0.02, 0.15) * env * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6))
    x += 0.05 * rng.standard_normal((channels, n)) * (1.1 + np.sin(2 * np.pi * 2.0 * t)) ** 3
    x *= np.linspace(0.3, 1.0, n)
    return (x / np.abs(x).max() * 0.8).astype(np.float32)


def write(path: Path, x: np.ndarray, sr: int, subtype: str = "FLOAT") -> Path:
    sf.write(path, x.T, sr, subtype=subtype)
    return path


def assert_same_report(streamed: dict, whole: dict) -> None:
    assert list(streamed) == list(whole)  # same keys, same order
    for key in ("file", "sample_rate", "channels", "duration_s", "unmeasurable"):
        assert streamed[key] == whole[key], key
    for key, tol in [("integrated_lufs", LEVEL_TOL_DB), ("loudness_range_lu", LEVEL_TOL_DB),
                     ("true_peak_dbtp", LEVEL_TOL_DB), ("sample_peak_dbfs", LEVEL_TOL_DB),
                     ("crest_factor_db", LEVEL_TOL_DB), ("plr_db", LEVEL_TOL_DB),
                     ("spectral_centroid_hz", CENTROID_TOL_HZ)]:
        if whole[key] is None:
            assert streamed[key] is None, key
        else:
            assert streamed[key] == pytest.approx(whole[key], abs=tol), key
    if whole["tonal_balance_db"] is None:
        assert streamed["tonal_balance_db"] is None
    else:
        assert [b["centre_hz"] for b in streamed["tonal_balance_db"]] == [b["centre_hz"] for b in whole["tonal_balance_db"]]
        levels = np.array([b["level_db"] for b in streamed["tonal_balance_db"]])
        np.testing.assert_allclose(levels, [b["level_db"] for b in whole["tonal_balance_db"]], rtol=0, atol=LEVEL_TOL_DB)


def whole_file_report(path: Path) -> dict:
    """The reference, checked against the public meters so the refactored report cannot hide a change."""
    audio = read_audio(path)
    report = analyze_audio(audio)
    x, sr = audio.samples, audio.sample_rate
    if report["spectral_centroid_hz"] is not None:
        assert report["spectral_centroid_hz"] == spectral_centroid_hz(x, sr)
        assert [b["level_db"] for b in report["tonal_balance_db"]] == list(tonal_balance_db(x, sr).levels_db)
    return report


# (name, sample rate, channels, seconds, block frames). Blocks never divide the clip.
CASES = [
    ("stereo-48k-10s", 48000, 2, 10.0, 30011),
    ("mono-44k1-10s", 44100, 1, 10.0, 7777),
    ("stereo-44k1-1s", 44100, 2, 1.0, 10007),
    ("stereo-48k-1s-one-block", 48000, 2, 1.0, 1 << 18),
    ("stereo-48k-0.3s", 48000, 2, 0.3, 1001),
    ("mono-44k1-0.3s", 44100, 1, 0.3, 4099),
    ("stereo-22k05-4.03s", 22050, 2, 4.03, 997),  # granule edges floor(g * 220.5): uneven granules
    ("stereo-192k-1s", 192000, 2, 1.0, 65537),  # 2x true-peak oversampling, 131072-sample Welch segments
]


@pytest.mark.parametrize("name,sr,channels,seconds,block", CASES, ids=[c[0] for c in CASES])
def test_streamed_report_equals_whole_file(tmp_path, name, sr, channels, seconds, block):
    """ITU-R BS.1770-4 integrated loudness (cl. 2.6-2.8: 400 ms blocks, 75 % overlap, -70 LUFS and -10 LU
    gates), EBU Tech 3342 LRA (3 s blocks at 10 Hz), BS.1770-4 Annex 2 true peak, sample peak, crest, PLR
    and the mono Welch spectrum's centroid and 1/3-octave bands: streamed equals whole-file. The 0.3 s
    clips are shorter than one 400 ms block: loudness and LRA are null with the same reasons."""
    path = write(tmp_path / f"{name}.wav", programme(seconds, sr, channels, seed=len(name)), sr)
    whole = whole_file_report(path)
    streamed = analyze_file(path, block_frames=block)
    assert_same_report(streamed, whole)
    assert streamed["channels"] == channels
    if seconds < 0.4:
        assert streamed["integrated_lufs"] is None and "too short" in streamed["unmeasurable"]["integrated_lufs"]
        assert streamed["true_peak_dbtp"] is not None and streamed["tonal_balance_db"] is not None
    else:
        assert streamed["integrated_lufs"] is not None


def test_silence_then_sound_gates_like_the_whole_file(tmp_path):
    """BS.1770-4 cl. 2.7-2.8 and EBU Tech 3342 cl. 5: 6 s of digital silence then 6 s of programme. The silent
    blocks fall below the -70 LUFS absolute gate; the gated figures (and the blocks straddling the step)
    match the whole-file path."""
    sr = 48000
    x = np.concatenate([np.zeros((2, 6 * sr), np.float32), programme(6.0, sr, seed=3)], axis=1)
    path = write(tmp_path / "silence_then_sound.wav", x, sr)
    whole = whole_file_report(path)
    streamed = analyze_file(path, block_frames=12345)
    assert_same_report(streamed, whole)
    # Gating matters here: the ungated mean over 12 s would read ~3 dB lower than the gated one.
    assert streamed["integrated_lufs"] > -30 and streamed["loudness_range_lu"] is not None


def test_digital_silence_is_unmeasurable_with_the_same_reasons(tmp_path):
    """BS.1770-4: with every block below the -70 LUFS absolute gate there is no integrated loudness."""
    path = write(tmp_path / "silence.wav", np.zeros((2, 5 * 48000), np.float32), 48000)
    whole = whole_file_report(path)
    streamed = analyze_file(path, block_frames=40000)
    assert_same_report(streamed, whole)
    assert set(streamed["unmeasurable"]) == {"integrated_lufs", "loudness_range_lu", "true_peak_dbtp",
                                             "sample_peak_dbfs", "crest_factor_db", "plr_db",
                                             "spectral_centroid_hz", "tonal_balance_db"}


@pytest.mark.parametrize("sr", [44100, 48000])
def test_inter_sample_peak_across_a_block_boundary(tmp_path, sr):
    """BS.1770-4 Annex 2 true peak: a burst of fs/4 sine at 45 deg phase has samples at +-0.99 but a waveform
    peak at 0.99*sqrt(2) (+2.9 dBTP). The burst straddles a block boundary, so the 4x interpolator needs
    the previous block's last 11 samples; the streamed true peak equals the whole-file one."""
    block = 4096
    x = 0.01 * programme(1.0, sr, seed=5)
    centre = 3 * block
    k = np.arange(centre - 40, centre + 40)
    x[:, k] = 0.99 * np.sqrt(2) * np.sin(np.pi / 2 * k + np.pi / 4)
    path = write(tmp_path / "isp.wav", x, sr)
    whole = whole_file_report(path)
    streamed = analyze_file(path, block_frames=block)
    assert_same_report(streamed, whole)
    assert streamed["sample_peak_dbfs"] == pytest.approx(20 * np.log10(0.99), abs=1e-3)
    assert streamed["true_peak_dbtp"] > streamed["sample_peak_dbfs"] + 2.5


# --------------------------------------------------------------------------- block reader


@pytest.mark.parametrize("ext,fmt,subtype", [
    ("wav", "WAV", "PCM_16"), ("wav", "WAV", "PCM_24"), ("wav", "WAV", "FLOAT"), ("flac", "FLAC", "PCM_24"),
    ("aiff", "AIFF", "PCM_16"), ("ogg", "OGG", "VORBIS"), ("mp3", "MP3", "MPEG_LAYER_III"),
])
def test_blocks_concatenate_to_read_audio(tmp_path, ext, fmt, subtype):
    """Block by block, every format decodes to read_audio's samples exactly (lossy decoders included)."""
    sr = 44100
    path = tmp_path / f"x.{ext}"
    sf.write(path, programme(1.0, sr, seed=1).T, sr, format=fmt, subtype=subtype)
    blocks = list(iter_blocks(path, block_frames=3001))
    assert all(b.dtype == np.float32 and b.shape[0] == 2 for b in blocks)
    assert [b.shape[1] for b in blocks[:-1]] == [3001] * (len(blocks) - 1)
    np.testing.assert_array_equal(np.concatenate(blocks, axis=1), read_audio(path).samples)


def test_mono_stays_mono(tmp_path):
    path = write(tmp_path / "mono.wav", sine(440, 0.5, 48000, channels=1), 48000)
    reader = AudioBlocks(path, block_frames=5000)
    assert reader.channels == 1 and reader.sample_rate == 48000
    assert all(b.shape[0] == 1 for b in reader) and reader.frames_read == 24000


def _error(fn) -> str:
    with pytest.raises(AudioError) as e:
        fn()
    return str(e.value)


def test_bad_files_get_read_audios_message(tmp_path):
    """Every broken input (header, data, NaN/Inf, truncation, zero length, 3 channels) is refused with the
    very message read_audio gives."""
    expected = make_bad_files(tmp_path / "bad")
    paths = [tmp_path / "bad" / name for name in expected]
    sf.write(tmp_path / "three.wav", np.zeros((4800, 3)), 48000)
    paths += [tmp_path / "three.wav", tmp_path / "missing.wav"]
    for path in paths:
        message = _error(lambda path=path: read_audio(path))
        assert _error(lambda path=path: list(iter_blocks(path, block_frames=1000))) == message
        assert _error(lambda path=path: analyze_file(path)) == message


# --------------------------------------------------------------------------- the command


def test_missing_file_exits_2_after_reporting_the_rest(tmp_path, capsys):
    good = write(tmp_path / "good.wav", programme(2.0, 48000), 48000)
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    missing = tmp_path / "missing.wav"
    assert main(["analyze", "--json", str(good), str(missing), str(bad)]) == 2
    out = capsys.readouterr()
    assert [r["file"] for r in json.loads(out.out)] == [str(good)]
    assert "missing.wav: file not found" in out.err and "bad.wav: not a readable audio file" in out.err
    # An unreadable file alone stays exit 1; a missing one alone is 2.
    assert main(["analyze", "--json", str(good), str(bad)]) == 1
    assert main(["analyze", str(missing)]) == 2
    assert "Traceback" not in capsys.readouterr().err


def test_help_names_the_exit_codes(capsys):
    with pytest.raises(SystemExit):
        main(["analyze", "--help"])
    text = " ".join(capsys.readouterr().out.split())
    assert "1 some files could not be read" in text and "some file does not exist" in text


def test_the_command_never_reads_a_whole_file(tmp_path, monkeypatch, capsys):
    def whole_file_read(*args, **kwargs):
        raise AssertionError("analyze must stream")

    monkeypatch.setattr("harness.audio.read_audio", whole_file_read)
    monkeypatch.setattr("harness.commands.analyze.read_audio", whole_file_read, raising=False)  # if imported by name
    path = write(tmp_path / "x.wav", programme(1.0, 48000), 48000)
    assert main(["analyze", "--json", str(path)]) == 0
    assert json.loads(capsys.readouterr().out)[0]["duration_s"] == 1.0


# --------------------------------------------------------------------------- memory


def write_long_wav(path: Path, minutes: float, sr: int = 48000, seed: int = 0) -> Path:
    """A stereo float32 WAV of programme, written 10 s at a time (the writer never holds the file)."""
    chunk = programme(10.0, sr, seed=seed)
    rng = np.random.default_rng(seed)
    frames = int(round(minutes * 60 * sr))
    with sf.SoundFile(path, "w", sr, 2, subtype="FLOAT", format="WAV") as f:
        for start in range(0, frames, chunk.shape[1]):
            n = min(chunk.shape[1], frames - start)
            f.write((chunk[:, :n] * rng.uniform(0.2, 1.0)).T)  # a level per 10 s: a loudness range
    return path


# Forked from a fresh interpreter, not from this (possibly large) pytest worker: Linux carries a
# process's max RSS across fork and exec, so a child forked from a 1 GB worker "peaks" at 1 GB.
LAUNCHER = """
import os, subprocess, sys
out, err, report = sys.argv[1:4]
with open(out, "wb") as o, open(err, "wb") as e:
    proc = subprocess.Popen(sys.argv[4:], stdout=o, stderr=e)
    _, status, usage = os.wait4(proc.pid, 0)
open(report, "w").write(f"{os.waitstatus_to_exitcode(status)} {usage.ru_maxrss}")
"""


def child_peak_rss_bytes(cmd: list[str], stdout_path: Path) -> tuple[int, int]:
    """(exit code, peak RSS in bytes) of a child process: os.wait4 gives this child's own rusage, which
    RUSAGE_CHILDREN (the max over every child this process ever waited for) cannot."""
    report = stdout_path.with_suffix(".rss")
    subprocess.run([sys.executable, "-c", LAUNCHER, str(stdout_path), str(stdout_path.with_suffix(".err")),
                    str(report), *cmd], check=True)
    code, kib = report.read_text().split()
    return int(code), int(kib) * 1024  # Linux: kilobytes


linux_only = pytest.mark.skipif(sys.platform != "linux", reason="ru_maxrss units and os.wait4 as on Linux")


@linux_only
def test_the_rss_probe_sees_a_gigabyte(tmp_path):
    """The memory test below can fail: the same probe reads > 1 GB for a child that touches 1.2 GB."""
    code, rss = child_peak_rss_bytes(
        [sys.executable, "-c", "x = b'1' * 1_200_000_000; print(len(x))"], tmp_path / "out.txt")
    assert code == 0 and rss > RSS_LIMIT_BYTES


@linux_only
@pytest.mark.slow(seconds=10)  # ~5 s on the 2-core dev machine: 461 MB written, then analysed
def test_analyze_20_minutes_under_1_gb(tmp_path):
    """20 minutes of stereo 48 kHz float32 (461 MB on disk; the whole-file path peaked at ~2.8 GB on it):
    `dawg-bench analyze` in a real process stays below 1 GB peak RSS."""
    path = write_long_wav(tmp_path / "long.wav", 20.0)
    try:
        code, rss = child_peak_rss_bytes([sys.executable, "-m", "harness.cli", "analyze", "--json", str(path)],
                                         tmp_path / "out.json")
    finally:
        path.unlink()  # pytest keeps recent tmp folders; don't leave 461 MB behind
    assert code == 0, (tmp_path / "out.err").read_text()
    (report,) = json.loads((tmp_path / "out.json").read_text())
    assert report["duration_s"] == 1200.0 and report["integrated_lufs"] is not None
    assert rss < RSS_LIMIT_BYTES, f"peak RSS {rss / 2**20:.0f} MiB"

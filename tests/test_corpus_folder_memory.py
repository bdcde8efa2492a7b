"""`--corpus DIR` cuts clips in bounded memory: the same clips as resampling each file whole, without holding it.

The reference is the whole-file path as it was (FOLDER_VERSION 1): `read_audio` (decode, duplicate mono,
resample with soxr VHQ), `_v1_loudest_windows` (copied verbatim) and slicing. The streamed path chooses
the same windows (its levels are v1's sums, in the same order, bit for bit), and its clips are:
- at the suite's rate: the same samples, exactly (decoded from the same frames, nothing else done);
- at another rate: resampled from an excerpt with a 1 s margin, not from the whole file. soxr's filter has
  died away within the margin, so what differs is float32 rounding inside the resampler: measured at most
  ~3e-8 (a quarter of float32's step at full scale, 2**-23) on these clips, RMS over 170 dB below the
  clip; 0 at 44.1 kHz. Asserted: 2.4e-7 (2**-22: two steps at full scale, 1/128 of a 16-bit LSB) and 130 dB.
Windows at another rate are chosen on the stream-resampled signal, which is the one-shot one sample for
sample (test_stream_resampling_equals_whole_resampling), so they are v1's windows there too.
"""

import json
import sys

import numpy as np
import pytest
import soundfile as sf

from harness.audio import read_audio, resample
from harness.audio_blocks import iter_blocks, read_spans, resample_blocks
from harness.corpus.build import build_corpus
from harness.corpus.folder import FOLDER_VERSION, SILENCE_DBFS, _cut_windows, _GridPower
from harness.suite_schema import CorpusConfig
from harness.suites import load_suite
from tests.test_analyze_streaming import child_peak_rss_bytes, linux_only, programme, write_long_wav

RESAMPLED_MAX_ABS = 2.0**-22
RESAMPLED_BELOW_CLIP_DB = 130.0
RSS_LIMIT_BYTES = 1 << 30
CFG = CorpusConfig(sample_rate=48000, clip_seconds=5.0)


def _v1_loudest_windows(samples: np.ndarray, sr: int, clip_seconds: float, limit: int = 3) -> list[int]:
    """harness/corpus/folder.py's loudest_windows at FOLDER_VERSION 1, verbatim: the whole-file reference."""
    n = samples.shape[1]
    length = int(round(clip_seconds * sr))
    if n < length:
        raise ValueError(f"too short: {n / sr:.2f} s, clips are {clip_seconds:g} s")
    power = np.cumsum(np.concatenate([[0.0], np.mean(samples.astype(np.float64) ** 2, axis=0)]))
    starts = np.arange(0, n - length + 1, sr)
    level_db = 10 * np.log10((power[starts + length] - power[starts]) / length + 1e-20)
    chosen: list[int] = []
    for idx in np.argsort(-level_db, kind="stable"):
        if level_db[idx] < SILENCE_DBFS or len(chosen) == limit:
            break
        s = int(starts[idx])
        if all(abs(s - c) >= length for c in chosen):
            chosen.append(s)
    if not chosen:
        raise ValueError(f"silence: no {clip_seconds:g} s window above {SILENCE_DBFS:g} dBFS")
    return sorted(chosen)


def _v1_clips(path, cfg: CorpusConfig) -> list[tuple[int, np.ndarray]]:
    sr, length = cfg.sample_rate, int(round(cfg.clip_seconds * cfg.sample_rate))
    x = read_audio(path, sample_rate=sr, stereo=True).samples
    return [(s, x[:, s : s + length].astype(np.float32)) for s in _v1_loudest_windows(x, sr, cfg.clip_seconds)]


def _silence_then_music(seconds: float, sr: int) -> np.ndarray:
    x = programme(seconds, sr, seed=4)
    x[:, : int(0.6 * x.shape[1])] = 0  # the loud end is where the windows go, up to the last frame
    return x


# (name, file rate, audio (channels, n) at that rate, file name). WAVs are float32, so the reference and the
# streamed path decode the very samples generated; the OGG one is lossy, cut where its seek goes wrong.
CASES = [
    ("stereo-48k", 48000, lambda: programme(31.3, 48000, seed=1), "x.wav"),
    ("stereo-44k1-resampled", 44100, lambda: programme(31.3, 44100, seed=2), "x.wav"),
    ("mono-48k", 48000, lambda: programme(23.0, 48000, channels=1, seed=3), "x.wav"),
    ("mono-44k1-resampled", 44100, lambda: programme(23.0, 44100, channels=1, seed=3), "x.wav"),
    ("stereo-96k-resampled-down", 96000, lambda: programme(19.0, 96000, seed=5), "x.wav"),
    ("silence-then-music-48k", 48000, lambda: _silence_then_music(30.0, 48000), "x.wav"),
    ("silence-then-music-44k1", 44100, lambda: _silence_then_music(30.0, 44100), "x.wav"),
    ("silence-then-music-48k-ogg", 48000, lambda: _silence_then_music(30.0, 48000), "x.ogg"),
]


def _difference(clip: np.ndarray, ref: np.ndarray) -> tuple[float, float]:
    """(max abs difference, RMS difference in dB below the reference clip's RMS)."""
    d = clip.astype(np.float64) - ref
    rms_d = np.sqrt(np.mean(d**2))
    below_db = np.inf if rms_d == 0 else 20 * np.log10(np.sqrt(np.mean(ref.astype(np.float64) ** 2)) / rms_d)
    return float(np.abs(d).max()), float(below_db)


@pytest.mark.parametrize("name,sr,make,filename", CASES, ids=[c[0] for c in CASES])
def test_streamed_clips_equal_the_whole_file_ones(tmp_path, name, sr, make, filename):
    path = tmp_path / filename
    sf.write(path, make().T, sr, **({"subtype": "FLOAT"} if filename.endswith(".wav") else {}))
    want = _v1_clips(path, CFG)
    got = _cut_windows(path, CFG)
    assert [s for s, _ in got] == [s for s, _ in want]  # the same windows
    for (start, clip), (_, ref) in zip(got, want):
        assert clip.dtype == np.float32 and clip.shape == ref.shape == (2, 5 * 48000)
        if sr == CFG.sample_rate:
            np.testing.assert_array_equal(clip, ref)
        else:
            max_abs, below_db = _difference(clip, ref)
            print(f"{name} window {start / 48000:g} s: max abs {max_abs:.3g}, RMS {below_db:.1f} dB below the clip")
            assert max_abs <= RESAMPLED_MAX_ABS and below_db >= RESAMPLED_BELOW_CLIP_DB
    if name.startswith("silence"):
        assert got[-1][0] == 25 * 48000  # the last window ends on the file's last frame


def test_too_short_and_silent_files_get_the_same_reasons(tmp_path):
    for name, sr, x in [("short.wav", 44100, programme(4.2, 44100)), ("silent.wav", 48000, np.zeros((2, 9 * 48000)))]:
        path = tmp_path / name
        sf.write(path, x.T, sr, subtype="FLOAT")
        with pytest.raises(ValueError) as old:
            _v1_clips(path, CFG)
        with pytest.raises(ValueError) as new:
            _cut_windows(path, CFG)
        assert str(new.value) == str(old.value) and str(new.value).startswith(("too short", "silence"))


def test_levels_are_the_whole_signal_ones_bit_for_bit():
    """Blocks of odd sizes, empty ones among them, and a clip length off the 1 s grid (2.5 s): every window's
    level is v1's to the bit (so near-ties rank the same), and so is the choice."""
    sr, clip_seconds = 8000, 2.5
    x = programme(40.0, sr, seed=6)
    x[:, 8000:16000] *= 3.0
    grid = _GridPower(sr, clip_seconds)
    edges = [0, 0, 1, 1, 7999, 8000, 8001, 30011, 30011, 123457, x.shape[1]]
    for a, b in zip(edges[:-1], edges[1:]):
        grid.add(x[:, a:b])
    length = int(round(clip_seconds * sr))
    power = np.cumsum(np.concatenate([[0.0], np.mean(x.astype(np.float64) ** 2, axis=0)]))  # v1's sums
    v1_starts = np.arange(0, x.shape[1] - length + 1, sr)
    starts, level_db = grid.levels_db()
    np.testing.assert_array_equal(starts, v1_starts)
    np.testing.assert_array_equal(level_db, 10 * np.log10((power[v1_starts + length] - power[v1_starts]) / length
                                                          + 1e-20))
    for limit in (1, 3, 10):
        assert grid.loudest(limit) == _v1_loudest_windows(x, sr, clip_seconds, limit)


@pytest.mark.parametrize("sr_in,channels", [(44100, 2), (44100, 1), (22050, 2), (96000, 2), (32000, 1)])
def test_stream_resampling_equals_whole_resampling(sr_in, channels):
    """The windows are chosen on the stream-resampled signal; it is sample for sample the one-shot one."""
    x = programme(7.3, sr_in, channels=channels, seed=7)
    blocks = [x[:, a : a + 30011] for a in range(0, x.shape[1], 30011)]
    streamed = np.concatenate(list(resample_blocks(iter(blocks), sr_in, 48000)), axis=1)
    np.testing.assert_array_equal(streamed, resample(x, sr_in, 48000))


@pytest.mark.parametrize("ext,fmt,subtype", [("wav", "WAV", "PCM_16"), ("wav", "WAV", "FLOAT"), ("flac", "FLAC", "PCM_24"),
                                             ("aiff", "AIFF", "PCM_16"), ("ogg", "OGG", "VORBIS"),
                                             ("opus", "OGG", "OPUS"), ("mp3", "MP3", "MPEG_LAYER_III")])
def test_read_spans_gives_the_frames_a_full_decode_has(tmp_path, ext, fmt, subtype):
    """Pass 2 reads the windows alone. libsndfile's Vorbis and Opus seeks land off the frame (Vorbis near
    the end, Opus anywhere), so those are decoded from the start; the rest seek. Spans overlap, end at or
    past the file's end, and one is empty."""
    sr = 48000 if subtype == "OPUS" else 44100
    path = tmp_path / f"x.{ext}"
    sf.write(path, programme(30.0, sr, seed=8).T, sr, format=fmt, subtype=subtype)
    whole = np.concatenate(list(iter_blocks(path)), axis=1)
    n = whole.shape[1]
    spans = [(0, 20000), (sr, 3 * sr), (2 * sr, 4 * sr + 3), (1_170_754 - 20000, 1_170_754), (n - 1000, n),
             (n - 527, n + 100), (5, 5)]
    for (start, end), got in zip(spans, read_spans(path, spans), strict=True):
        np.testing.assert_array_equal(got, whole[:, start:end], err_msg=f"{start}-{end}")


def test_the_corpus_holds_the_whole_file_clips(tmp_path):
    """End to end: the clip files written, their offsets and the manifest."""
    root = tmp_path / "music"
    root.mkdir()
    sf.write(root / "a.wav", programme(21.0, 44100, seed=9).T, 44100, subtype="PCM_16")
    sf.write(root / "b.flac", programme(18.0, 48000, channels=1, seed=10).T, 48000)
    manifest = build_corpus(load_suite("smoke"), folder=root)
    assert manifest.recipe["folder_version"] == FOLDER_VERSION == 2
    cfg = load_suite("smoke").corpus
    for name in ("a.wav", "b.flac"):
        want = _v1_clips(root / name, cfg)
        got = sorted((c for c in manifest.clips if c.origin == name), key=lambda c: c.offset_s)
        assert [round(c.offset_s * cfg.sample_rate) for c in got] == [s for s, _ in want]
        for rec, (_, ref) in zip(got, want):
            clip, sr = sf.read(f"{manifest.folder}/{rec.target_file}", dtype="float32", always_2d=True)
            assert sr == cfg.sample_rate
            max_abs, _ = _difference(clip.T, ref)
            assert max_abs == 0.0 if name == "b.flac" else max_abs <= RESAMPLED_MAX_ABS


@linux_only
@pytest.mark.slow(seconds=15)  # ~5 s on the 2-core dev machine: 423 MB written, then cut
def test_corpus_build_on_20_minutes_stays_under_1_gb(tmp_path, monkeypatch):
    """20 minutes of stereo 44.1 kHz float32 (423 MB; it needs resampling to the suite's 48 kHz): the
    whole-file path peaked at 1.9 GiB on it (measured: 236 MiB now); `dawg-bench corpus build` in a real
    process stays below 1 GB."""
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "home"))  # the child inherits it: a cold cache
    root = tmp_path / "music"
    root.mkdir()
    path = write_long_wav(root / "long.wav", 20.0, sr=44100)
    try:
        code, rss = child_peak_rss_bytes(
            [sys.executable, "-m", "harness.cli", "corpus", "build", "smoke", "--corpus", str(root), "--json"],
            tmp_path / "out.json")
    finally:
        path.unlink()  # pytest keeps recent tmp folders; don't leave 423 MB behind
    assert code == 0, (tmp_path / "out.err").read_text()
    summary = json.loads((tmp_path / "out.json").read_text())
    assert summary["clips"] == 3 and summary["sample_rate"] == 48000 and not summary["rejected"]
    assert summary["folder"].startswith(str(tmp_path / "home"))
    assert rss < RSS_LIMIT_BYTES, f"peak RSS {rss / 2**20:.0f} MiB"

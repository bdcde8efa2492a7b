"""Audio I/O: every supported format, rate and width reads back faithfully; bad files raise AudioError."""

import numpy as np
import pytest
import soundfile as sf

from harness.audio import AudioError, find_audio_files, read_audio, resample, write_wav
from tests.conftest import sine


@pytest.mark.parametrize(
    "ext,fmt,subtype,tol",
    [
        ("wav", "WAV", "PCM_16", 1e-4),
        ("wav", "WAV", "PCM_24", 1e-6),
        ("wav", "WAV", "PCM_32", 1e-6),
        ("wav", "WAV", "FLOAT", 0.0),
        ("wav", "WAV", "DOUBLE", 1e-7),
        ("flac", "FLAC", "PCM_16", 1e-4),
        ("flac", "FLAC", "PCM_24", 1e-6),
        ("aiff", "AIFF", "PCM_24", 1e-6),
    ],
)
def test_lossless_formats_round_trip(tmp_path, ext, fmt, subtype, tol):
    x = sine(997, 0.5, 48000, 0.5)
    p = tmp_path / f"x_{subtype}.{ext}"
    sf.write(p, x.T, 48000, format=fmt, subtype=subtype)
    a = read_audio(p)
    assert a.sample_rate == 48000 and a.channels == 2 and a.samples.dtype == np.float32
    assert np.max(np.abs(a.samples - x)) <= tol + 1e-7


@pytest.mark.parametrize("ext,fmt,subtype", [("ogg", "OGG", "VORBIS"), ("mp3", "MP3", "MPEG_LAYER_III")])
def test_lossy_formats_read(tmp_path, ext, fmt, subtype):
    x = sine(440, 1.0, 44100, 0.5)
    p = tmp_path / f"x.{ext}"
    sf.write(p, x.T, 44100, format=fmt, subtype=subtype)
    a = read_audio(p)
    assert a.sample_rate == 44100 and a.channels == 2
    # Lossy codecs delay and smear, but the level survives: RMS within 0.5 dB.
    rms = np.sqrt(np.mean(a.samples[:, 5000:-5000] ** 2))
    assert abs(20 * np.log10(rms / (0.5 / np.sqrt(2)))) < 0.5


@pytest.mark.parametrize("sr", [8000, 11025, 16000, 22050, 32000, 44100, 48000, 88200, 96000, 176400, 192000])
def test_every_rate_from_8_to_192k(tmp_path, sr):
    p = tmp_path / "x.wav"
    sf.write(p, sine(100, 0.1, sr, channels=1).T, sr, subtype="PCM_24")
    a = read_audio(p)
    assert a.sample_rate == sr and a.channels == 1


def test_rates_outside_range_are_refused(tmp_path):
    p = tmp_path / "low.wav"
    sf.write(p, np.zeros(400), 4000)
    with pytest.raises(AudioError, match="outside 8000"):
        read_audio(p)


def test_mono_to_stereo_and_multichannel_refused(tmp_path):
    p = tmp_path / "mono.wav"
    sf.write(p, sine(100, 0.1, 48000, channels=1).T, 48000)
    assert read_audio(p, stereo=True).channels == 2
    q = tmp_path / "six.wav"
    sf.write(q, np.zeros((4800, 6)), 48000)
    with pytest.raises(AudioError, match="6 channels") as e:
        read_audio(q)
    assert "six.wav" in str(e.value)


def test_resample_is_band_limited():
    """A 1 kHz tone survives 44.1→48 kHz cleanly; a 20 kHz tone is removed going to 16 kHz, not aliased."""
    x = sine(1000, 1.0, 44100, 0.5, channels=1)
    y = resample(x, 44100, 48000)
    assert y.shape == (1, 48000)
    ref = sine(1000, 1.0, 48000, 0.5, channels=1)
    mid = slice(2000, -2000)
    assert np.max(np.abs(y[:, mid] - ref[:, mid])) < 1e-4
    hi = sine(20000, 1.0, 48000, 0.5, channels=1)
    z = resample(hi, 48000, 16000)
    assert np.sqrt(np.mean(z[:, 2000:-2000] ** 2)) < 1e-4  # > 70 dB down


def test_read_resamples_to_requested_rate(tmp_path):
    p = tmp_path / "x.wav"
    sf.write(p, sine(1000, 0.5, 44100).T, 44100, subtype="FLOAT")
    a = read_audio(p, sample_rate=48000)
    assert a.sample_rate == 48000 and a.samples.shape == (2, 24000)


def test_write_wav_is_atomic_and_round_trips(tmp_path):
    x = sine(440, 0.2, 48000).astype(np.float32)
    p = write_wav(tmp_path / "sub" / "out.wav", x, 48000)
    assert np.array_equal(read_audio(p).samples, x)
    assert [f.name for f in p.parent.iterdir()] == ["out.wav"]  # no temp file left behind


def test_find_audio_files_recursive(tmp_path):
    (tmp_path / "a" / "b").mkdir(parents=True)
    for name in ["a/x.wav", "a/b/y.FLAC", "a/readme.txt", "z.mp3"]:
        (tmp_path / name).write_bytes(b"")
    assert [f.relative_to(tmp_path).as_posix() for f in find_audio_files(tmp_path)] == ["a/b/y.FLAC", "a/x.wav", "z.mp3"]


@pytest.mark.parametrize("subtype,tol", [("FLOAT", 0.0), ("PCM_24", 2 ** -23), ("PCM_16", 2 ** -15)])
def test_write_wav_subtypes_read_back_and_are_deterministic(tmp_path, subtype, tol):
    x = (sine(440, 0.1, 44100, 0.9, channels=2) * np.array([[1.0], [-0.5]])).astype(np.float32)
    a = write_wav(tmp_path / "a.wav", x, 44100, subtype=subtype)
    b = write_wav(tmp_path / "b.wav", x, 44100, subtype=subtype)
    assert a.read_bytes() == b.read_bytes()  # no timestamps: the same audio gives the same bytes
    back, sr = sf.read(a, dtype="float64", always_2d=True)
    assert sr == 44100 and back.shape == (x.shape[1], 2)
    assert np.max(np.abs(back.T - x)) <= tol
    assert sf.info(a).subtype == subtype

"""Spectral meters: 1/3-octave tonal balance (ISO 266 / IEC 61260-1 bands) and spectral centroid."""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.metrics import (
    Unmeasurable,
    mono_power_spectrum,
    spectral_centroid_hz,
    third_octave_bands,
    tonal_balance_db,
)
from harness.metrics.spectral import BAND_FLOOR_DB, ISO_266_THIRD_OCTAVE_HZ


def pink_noise(sr, seconds, seed=0):
    """Exactly 1/f power in expectation: white noise shaped by 1/sqrt(f) in the frequency domain."""
    rng = np.random.default_rng(seed)
    n = int(sr * seconds)
    spectrum = np.fft.rfft(rng.standard_normal(n))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    spectrum[1:] /= np.sqrt(freqs[1:])
    spectrum[0] = 0
    x = np.fft.irfft(spectrum, n)
    return (x / np.abs(x).max() * 0.5)[None, :]


def tone(sr, freq, amplitude=1.0, seconds=5.0, channels=2):
    t = np.arange(int(sr * seconds)) / sr
    return np.tile(amplitude * np.sin(2 * np.pi * freq * t), (channels, 1))


@pytest.mark.parametrize("sr", [44100, 48000])
def test_pink_noise_is_flat_in_third_octaves(sr):
    """Pink noise has equal power per 1/3 octave: every band 50 Hz - 16 kHz within +-1 dB of their mean."""
    bands = tonal_balance_db(pink_noise(sr, 20.0), sr)
    selected = (bands.centres_hz >= 50) & (bands.centres_hz <= 16000)
    levels = bands.levels_db[selected]
    assert selected.sum() == 26
    assert np.all(np.abs(levels - levels.mean()) <= 1.0)


def test_sine_peaks_in_its_band_at_its_level():
    """A full-scale 1 kHz sine reads 0 dB (re full-scale sine) in the 1 kHz band, far less elsewhere."""
    sr = 48000
    bands = tonal_balance_db(tone(sr, 1000.0, amplitude=0.5), sr)
    k = int(np.argmax(bands.levels_db))
    assert bands.centres_hz[k] == 1000.0
    assert bands.levels_db[k] == pytest.approx(20 * math.log10(0.5), abs=0.05)
    others = np.delete(bands.levels_db, k)
    assert others.max() < bands.levels_db[k] - 40


def test_band_levels_are_finite_and_floored():
    bands = tonal_balance_db(tone(48000, 1000.0), 48000)
    assert np.isfinite(bands.levels_db).all()
    assert bands.levels_db.min() >= BAND_FLOOR_DB


def test_band_powers_sum_to_the_mean_square():
    """Parseval: white noise band powers add up to its in-band mean square (bands tile 22.4 Hz - 22.4 kHz)."""
    sr = 48000
    rng = np.random.default_rng(3)
    x = rng.standard_normal((1, sr * 10)) * 0.1
    bands = tonal_balance_db(x, sr)
    band_power = np.sum(10 ** ((bands.levels_db - 10 * math.log10(2)) / 10))
    covered = (22387.2 - 22.387) / (sr / 2)  # white noise is uniform in frequency
    assert band_power == pytest.approx(np.mean(x**2) * covered, rel=0.02)


@pytest.mark.parametrize(
    "sr, top",
    [(48000, 20000.0), (44100, 16000.0), (8000, 3150.0), (96000, 20000.0)],
)
def test_bands_are_the_iso_266_centres_whose_upper_edge_fits_below_nyquist(sr, top):
    centres, lower, upper = third_octave_bands(sr)
    assert centres[0] == 25.0 and centres[-1] == top
    assert set(centres) <= set(ISO_266_THIRD_OCTAVE_HZ)
    assert upper.max() <= sr / 2
    np.testing.assert_allclose(upper / lower, 10 ** 0.1)


@pytest.mark.parametrize("sr", [44100, 48000])
def test_centroid_of_a_1khz_sine_is_1khz(sr):
    """Magnitude-weighted mean frequency of a pure tone is its frequency (+-2 %, float32 input)."""
    x = tone(sr, 1000.0, amplitude=0.5).astype(np.float32)
    assert spectral_centroid_hz(x, sr) == pytest.approx(1000.0, rel=0.02)


def test_centroid_of_white_noise_is_a_quarter_of_the_rate():
    sr = 48000
    rng = np.random.default_rng(0)
    assert spectral_centroid_hz(rng.standard_normal((2, sr * 5)), sr) == pytest.approx(sr / 4, rel=0.02)


def test_centroid_rises_when_treble_is_added():
    sr = 48000
    low = tone(sr, 200.0, 0.5)
    assert spectral_centroid_hz(low + tone(sr, 8000.0, 0.2), sr) > spectral_centroid_hz(low, sr) + 1000


def test_short_clips_use_one_segment_and_tiny_ones_are_unmeasurable():
    sr = 48000
    assert spectral_centroid_hz(tone(sr, 1000.0, seconds=0.1), sr) == pytest.approx(1000.0, rel=0.05)
    with pytest.raises(Unmeasurable, match=r"^too short: 100 samples < 256$"):
        tonal_balance_db(np.ones((1, 100)), sr)


@pytest.mark.parametrize("fn", [tonal_balance_db, spectral_centroid_hz])
def test_silence_and_cancelling_channels_are_unmeasurable(fn):
    """The meters read the mono downmix; anti-phase stereo cancels to silence (documented)."""
    sr = 48000
    with pytest.raises(Unmeasurable, match="silence"):
        fn(np.zeros((2, sr)), sr)
    x = tone(sr, 1000.0, seconds=1.0)
    x[1] *= -1
    with pytest.raises(Unmeasurable, match="silence"):
        fn(x, sr)


def test_spectrum_is_of_the_channel_mean():
    sr = 48000
    stereo = tone(sr, 1000.0, seconds=2.0)
    a = mono_power_spectrum(stereo, sr)
    b = mono_power_spectrum(stereo[:1], sr)
    np.testing.assert_allclose(a.power, b.power, rtol=1e-12, atol=1e-30)
    assert a.power.sum() == pytest.approx(0.5, rel=1e-3)  # mean square of a unit sine

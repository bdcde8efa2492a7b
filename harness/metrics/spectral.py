"""Spectral meters on the averaged power spectrum of the mono downmix: 1/3-octave
tonal balance and spectral centroid.

The spectrum is Welch's average (Hann window, 50 % overlap, no detrending) of
the channel *mean* (mono downmix at unity gain, so identical channels read like
one). Segments are as long as it takes for ~1.5 Hz bins (32768 samples at
44.1/48 kHz), so even the 25 Hz third-octave band (5.8 Hz wide) spans several
bins; a clip shorter than one segment is analysed as a single Hann segment.
Note that a downmix cancels anti-phase channel content by design.

The meters' spectrum (`mono_power_spectrum`) is float64. The tonal-balance *distance* reads a float32
variant (`mono_power_spectrum32`, ~4x faster): the downmix is scaled to a unit peak in float64 before
its float32 FFTs, so a gain change of the input leaves the float32 samples (almost always) identical
and the distance gain-invariant; docs/metrics.md states its measured bound against the float64 one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from functools import lru_cache

import numpy as np
import scipy.fft
from numba import njit

from .registry import (
    NON_FINITE_REASON,
    Unmeasurable,
    as_audio,
    check_sample_rate,
    register,
    register_shared_analysis,
)

__all__ = [
    "ISO_266_THIRD_OCTAVE_HZ",
    "BAND_FLOOR_DB",
    "BandLevels",
    "Spectrum",
    "mono_power_spectrum",
    "mono_power_spectrum32",
    "third_octave_bands",
    "band_levels",
    "tonal_balance_db",
    "spectral_centroid_hz",
]

# ISO 266 preferred (nominal) 1/3-octave centre frequencies, 25 Hz - 20 kHz.
ISO_266_THIRD_OCTAVE_HZ = (
    25.0, 31.5, 40.0, 50.0, 63.0, 80.0, 100.0, 125.0, 160.0, 200.0, 250.0, 315.0, 400.0, 500.0, 630.0,
    800.0, 1000.0, 1250.0, 1600.0, 2000.0, 2500.0, 3150.0, 4000.0, 5000.0, 6300.0, 8000.0, 10000.0,
    12500.0, 16000.0, 20000.0,
)
# Exact base-10 centres (IEC 61260-1: 1000 * 10^(k/10)) for the band edges.
_EXACT_CENTRES_HZ = tuple(1000.0 * 10.0 ** (k / 10.0) for k in range(-16, 14))
_HALF_BAND = 10.0 ** (1.0 / 20.0)  # edge = centre * 10^(+-1/20)
# Band levels are floored here so an empty band is finite; ~6 dB below 24-bit
# quantisation noise, so no real content is clipped.
BAND_FLOOR_DB = -150.0
_FULL_SCALE_SINE_DB = 10.0 * math.log10(2.0)  # a full-scale sine has mean square 1/2
_TARGET_BIN_HZ = 1.5
_CENTROID_BIN_HZ = 24.0  # ~2048-point resolution at 48 kHz, see spectral_centroid_hz
MIN_SAMPLES = 256
_SEGMENTS_PER_FFT = 4  # float32 path: 4 segments of 32768 samples, 512 KiB in and out of each FFT call

SILENT_SPECTRUM_REASON = "silence: the mono downmix has no power"


@dataclass(frozen=True)
class Spectrum:
    """One-sided averaged power spectrum: ``power[k]`` is the mean-square in bin k."""

    freqs_hz: np.ndarray
    power: np.ndarray  # sum(power) == mean square of the downmix (Parseval)
    bin_hz: float
    sample_rate: float


@dataclass(frozen=True)
class BandLevels:
    """Per-band levels: ``levels_db[i]`` is measured in the band centred at ``centres_hz[i]``."""

    centres_hz: np.ndarray  # ISO 266 nominal
    levels_db: np.ndarray  # dB re a full-scale sine's mean square, floored at BAND_FLOOR_DB


def _segment_length(sr: float) -> int:
    return 1 << int(math.ceil(math.log2(sr / _TARGET_BIN_HZ)))


def mono_power_spectrum(audio: np.ndarray, sr: float) -> Spectrum:
    """Welch-averaged power spectrum of the mono downmix (channel mean), float64.

    Raises Unmeasurable for clips under MIN_SAMPLES samples, non-finite samples,
    and a downmix with no power.
    """
    x = as_audio(audio)
    rate = check_sample_rate(sr)
    if x.shape[1] < MIN_SAMPLES:
        raise Unmeasurable(f"too short: {x.shape[1]} samples < {MIN_SAMPLES}")
    mono = x.mean(axis=0, dtype=np.float64)
    if not np.any(mono):
        raise Unmeasurable(SILENT_SPECTRUM_REASON)
    nperseg = min(_segment_length(rate), mono.shape[0])
    bin_hz = rate / nperseg
    power = _welch_density(mono, rate, nperseg) * bin_hz
    if not power.any():
        raise Unmeasurable(SILENT_SPECTRUM_REASON)
    return Spectrum(scipy.fft.rfftfreq(nperseg, 1.0 / rate), power, bin_hz, rate)


@lru_cache(maxsize=8)
def _hann(nperseg: int) -> tuple[np.ndarray, float]:
    """(scipy.signal.get_window("hann", nperseg) (periodic), the sum of its squares), once per length.
    (The sum as window @ window, cached: the BLAS call alone cost ~1-8 ms per spectrum.)

    Computed as scipy computes it (general_cosine over M + 1 points, the last dropped), so it is equal
    bit for bit (tested), without importing scipy.signal: that import (0.7 s, it pulls in scipy.stats)
    was half of every spawned worker's start-up."""
    if nperseg <= 1:  # scipy's length guard
        window = np.ones(nperseg)
    else:
        fac = np.linspace(-np.pi, np.pi, nperseg + 1)
        window = np.zeros(nperseg + 1)
        window += 0.5 * np.cos(0 * fac)
        window += 0.5 * np.cos(1 * fac)
        window = window[:nperseg]
    window.setflags(write=False)
    return window, float(window @ window)


def _welch_density(mono: np.ndarray, rate: float, nperseg: int) -> np.ndarray:
    """scipy.signal.welch(mono, rate, "hann", nperseg, nperseg // 2, detrend=False, scaling="density")[1],
    computed directly (equal to ~1e-14 relative, tested): scipy's general path costs about twice as much.

    Whole segments of nperseg samples every nperseg - nperseg // 2, a periodic Hann window, each
    segment's |rfft|^2 averaged, scaled to a one-sided density (x 1 / (fs sum w^2), x 2 except at DC
    and, for an even nperseg, Nyquist).
    """
    window, window_power = _hann(nperseg)
    step = nperseg - nperseg // 2
    segments = np.lib.stride_tricks.sliding_window_view(mono, nperseg)[::step]
    spectra = scipy.fft.rfft(segments * window, axis=-1, workers=1)
    density = np.einsum("ij,ij->j", spectra.real, spectra.real) + np.einsum("ij,ij->j", spectra.imag, spectra.imag)
    return _one_sided(density / (len(segments) * rate * window_power), nperseg)


def _one_sided(density: np.ndarray, nperseg: int) -> np.ndarray:
    if nperseg % 2:
        density[1:] *= 2.0
    else:
        density[1:-1] *= 2.0
    return density


# --------------------------------------------------------------------------- float32, for the distance


@njit(cache=True, error_model="numpy")
def _window_segments(x, first, step, scale, window, out):
    # out[r] = float32(sum over channels of x[:, s + j] * (scale / channels) * window[j]), s = (first + r) * step:
    # segment first + r of the downmix, scaled and windowed in float64 and rounded once to float32.
    channels = x.shape[0]
    factor = scale / channels
    for r in range(out.shape[0]):
        start = (first + r) * step
        if channels == 1:  # the common layouts get loops that vectorise
            for j in range(out.shape[1]):
                out[r, j] = np.float32(np.float64(x[0, start + j]) * factor * window[j])
        elif channels == 2:
            for j in range(out.shape[1]):
                m = np.float64(x[0, start + j]) + np.float64(x[1, start + j])
                out[r, j] = np.float32(m * factor * window[j])
        else:
            for j in range(out.shape[1]):
                m = 0.0
                for c in range(channels):
                    m += np.float64(x[c, start + j])
                out[r, j] = np.float32(m * factor * window[j])


@njit(cache=True, error_model="numpy")
def _add_powers(spec, acc):
    # acc[k] += sum over rows of |spec[r, k]|^2 in float64; spec: complex64 as interleaved float32.
    for r in range(spec.shape[0]):
        for k in range(acc.shape[0]):
            re = np.float64(spec[r, 2 * k])
            im = np.float64(spec[r, 2 * k + 1])
            acc[k] += re * re + im * im


def _welch_density32(x: np.ndarray, rate: float, nperseg: int, peak: float) -> np.ndarray:
    """_welch_density of x's downmix with the FFTs in float32: the downmix scaled by 1 / peak (x's largest
    |sample|), windowed, rounded to float32 and transformed in blocks of segments; the powers summed in
    float64 and scaled back."""
    window, window_power = _hann(nperseg)
    step = nperseg - nperseg // 2
    segments = (x.shape[1] - nperseg) // step + 1
    block = np.empty((min(_SEGMENTS_PER_FFT, segments), nperseg), dtype=np.float32)
    acc = np.zeros(nperseg // 2 + 1)
    for first in range(0, segments, _SEGMENTS_PER_FFT):
        rows = block[: min(_SEGMENTS_PER_FFT, segments - first)]
        _window_segments(x, first, step, 1.0 / peak, window, rows)
        _add_powers(scipy.fft.rfft(rows, axis=-1, workers=1).view(np.float32), acc)
    return _one_sided(acc * (peak * peak / (segments * rate * window_power)), nperseg)


def mono_power_spectrum32(audio: np.ndarray, sr: float) -> Spectrum:
    """mono_power_spectrum with float32 FFTs, for the tonal-balance distance: the same checks and reasons,
    the powers within the bound docs/metrics.md states (measured ~1e-5 dB on band levels)."""
    x = as_audio(audio, check_finite=False)  # the peak below is not finite for a non-finite sample
    rate = check_sample_rate(sr)
    peak = max(float(x.max()), -float(x.min())) if x.size else 0.0
    if not math.isfinite(peak):
        raise Unmeasurable(NON_FINITE_REASON)
    if x.shape[1] < MIN_SAMPLES:
        raise Unmeasurable(f"too short: {x.shape[1]} samples < {MIN_SAMPLES}")
    if peak == 0.0:  # a downmix that cancels to zero is caught by the power check below
        raise Unmeasurable(SILENT_SPECTRUM_REASON)
    nperseg = min(_segment_length(rate), x.shape[1])
    bin_hz = rate / nperseg
    power = _welch_density32(x, rate, nperseg, peak) * bin_hz
    if not power.any():
        raise Unmeasurable(SILENT_SPECTRUM_REASON)
    return Spectrum(scipy.fft.rfftfreq(nperseg, 1.0 / rate), power, bin_hz, rate)


def third_octave_bands(sr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(nominal centres, lower edges, upper edges) of the ISO 266 bands that fit below Nyquist.

    A band is kept only when its upper edge is at or below Nyquist, so every
    reported band is complete (at 44.1 kHz the 20 kHz band, 17.8-22.4 kHz, is dropped).
    """
    nominal = np.asarray(ISO_266_THIRD_OCTAVE_HZ)
    exact = np.asarray(_EXACT_CENTRES_HZ)
    keep = exact * _HALF_BAND <= sr / 2.0
    return nominal[keep], exact[keep] / _HALF_BAND, exact[keep] * _HALF_BAND


def _band_powers(spectrum: Spectrum, lower: np.ndarray, upper: np.ndarray) -> np.ndarray:
    # Bin k stands for [f_k - df/2, f_k + df/2); a bin straddling an edge contributes
    # the fraction inside the band. Direct sums (no cumulative-sum differences)
    # keep quiet bands exact next to loud ones.
    df = spectrum.bin_hz
    power = spectrum.power
    out = np.empty(len(lower))
    for i, (lo, hi) in enumerate(zip(lower, upper)):
        lo_pos = lo / df + 0.5  # in units of bins, bin k spans [k, k+1)
        hi_pos = min(hi / df + 0.5, float(len(power)))
        k0 = int(math.floor(lo_pos))
        k1 = int(math.floor(hi_pos))
        if k0 >= len(power):
            out[i] = 0.0
        elif k0 == k1:
            out[i] = power[k0] * (hi_pos - lo_pos)
        else:
            total = power[k0] * (k0 + 1 - lo_pos)
            total += power[k0 + 1 : k1].sum()
            if k1 < len(power):
                total += power[k1] * (hi_pos - k1)
            out[i] = total
    return out


def band_levels(spectrum: Spectrum) -> BandLevels:
    """1/3-octave band levels of a spectrum (see tonal_balance_db)."""
    centres, lower, upper = third_octave_bands(spectrum.sample_rate)
    powers = _band_powers(spectrum, lower, upper)
    with np.errstate(divide="ignore"):
        levels = 10.0 * np.log10(powers) + _FULL_SCALE_SINE_DB
    return BandLevels(centres, np.maximum(levels, BAND_FLOOR_DB))


def _centroid(spectrum: Spectrum) -> float:
    # Pool the fine bins into ~24 Hz bins before weighting by magnitude: with
    # magnitude (not power) weights, thousands of fine noise-floor bins would
    # otherwise pull the centroid up (1.5 % for a float32 1 kHz sine at 1.5 Hz bins).
    group = max(1, int(round(_CENTROID_BIN_HZ / spectrum.bin_hz)))
    n_groups = -(-len(spectrum.power) // group)
    padded = n_groups * group - len(spectrum.power)  # the top group may be short
    fine_power = np.concatenate([spectrum.power, np.zeros(padded)]).reshape(n_groups, group)
    fine_freqs = np.concatenate([spectrum.freqs_hz, np.full(padded, spectrum.freqs_hz[-1])]).reshape(n_groups, group)
    power = fine_power.sum(axis=1)
    # Each pooled bin sits at its power-weighted frequency, so pooling moves no energy.
    with np.errstate(invalid="ignore", divide="ignore"):
        freqs = np.where(power > 0, (fine_freqs * fine_power).sum(axis=1) / power, fine_freqs.mean(axis=1))
    magnitude = np.sqrt(power)
    total = magnitude.sum()
    if total <= 0.0:
        raise Unmeasurable(SILENT_SPECTRUM_REASON)
    return float((freqs * magnitude).sum() / total)


register_shared_analysis("mono_power_spectrum", mono_power_spectrum)


@register(
    "tonal_balance_db",
    unit="dB",
    direction=None,
    kind="meter",
    reference="ISO 266 / IEC 61260-1 band centres and edges; pink noise flat +-1 dB, sine in its band (tested)",
    doc="1/3-octave band levels (25 Hz-20 kHz within Nyquist) of the mono downmix, dB re full-scale sine.",
    shared="mono_power_spectrum",
    from_shared=band_levels,
)
def tonal_balance_db(audio: np.ndarray, sr: float) -> BandLevels:
    """1/3-octave band levels of the mono downmix.

    Bands: ISO 266 nominal centres 25 Hz - 20 kHz whose upper edge
    (centre * 10^(1/20), base-10 exact centres) is within Nyquist. Level = band
    mean-square power of the averaged spectrum in dB re a full-scale sine (a
    full-scale 1 kHz sine reads ~0 dB in the 1 kHz band), floored at -150 dB.
    Raises Unmeasurable for silence and clips under 256 samples.
    """
    return band_levels(mono_power_spectrum(audio, sr))


@register(
    "spectral_centroid_hz",
    unit="Hz",
    direction=None,
    kind="meter",
    reference="definition: magnitude-weighted mean frequency; 1 kHz sine reads 1 kHz +-2 % (tested)",
    doc="Magnitude-weighted mean frequency of the averaged power spectrum of the mono downmix.",
    shared="mono_power_spectrum",
    from_shared=_centroid,
)
def spectral_centroid_hz(audio: np.ndarray, sr: float) -> float:
    """Spectral centroid sum(f * |X(f)|) / sum(|X(f)|) in Hz.

    |X| is the square root of the Welch-averaged power of the mono downmix,
    pooled into ~24 Hz bins first (a magnitude-weighted centroid over 1.5 Hz bins
    lets the noise floor's many bins dominate). DC counts with f = 0.
    """
    return _centroid(mono_power_spectrum(audio, sr))

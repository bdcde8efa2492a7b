"""Controller inputs computed from a clip's power spectrum, so EQ damage can be drawn in the frequency domain.

Why: an EQ multiplies the averaged power spectrum by |H|² (exact for the Welch average up to the
filter's transient and spectral leakage, ~0.04 dB per 1/3-octave band on music), so a trainer can
draw fresh damage every step without rendering audio: 30–110 steps/s on 2 cores instead of a few.

The tonal part equals harness.controller_inputs.clip_features on the damaged audio (same Welch
spectrum, same band edges, same mean removal and scaling). The loudness part is the clean clip's
statistics with integrated loudness (and PLR) moved by the K-weighted power ratio of the EQ; crest
factor and loudness range are the clean clip's, which an EQ changes little (documented approximation).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import torch

from harness.controller_inputs import BAND_CENTRES_HZ
from harness.metrics import loudness_stats
from harness.metrics.kweighting import kweighting_sos
from harness.metrics.spectral import _FULL_SCALE_SINE_DB, mono_power_spectrum, third_octave_bands

N_BANDS = len(BAND_CENTRES_HZ)


SUB_BINS_PER_BAND = 16  # 1/48 octave: a bell of Q 18 (1/12.5 octave wide) spans about four of them


def overlap_matrix(lower_hz: np.ndarray, upper_hz: np.ndarray, bins: int, bin_hz: float) -> np.ndarray:
    """(ranges, bins) weights: range power = M @ bin power, as spectral._band_powers sums it
    (bin k covers [k - 1/2, k + 1/2) bins; a bin straddling an edge counts by the fraction inside)."""
    edges = np.arange(bins + 1, dtype=np.float64)  # bin k spans [k, k+1) in "position" units
    lo_pos = lower_hz[:, None] / bin_hz + 0.5
    hi_pos = np.minimum(upper_hz[:, None] / bin_hz + 0.5, float(bins))
    return np.clip(np.minimum(edges[None, 1:], hi_pos) - np.maximum(edges[None, :-1], lo_pos), 0.0, None)


def sub_bins(sr: float) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(lower, upper, band of each) sub-bins: every 1/3-octave band the harness reports at this rate split
    into SUB_BINS_PER_BAND geometric slices (band -1: outside the bands, kept for loudness)."""
    nominal, lower, upper = third_octave_bands(sr)
    index = {round(float(c), 1): i for i, c in enumerate(nominal)}
    rows = [index[round(float(c), 1)] for c in BAND_CENTRES_HZ if round(float(c), 1) in index]
    lo, hi, band = [0.0], [lower[rows[0]]], [-1]
    for row, i in enumerate(rows):
        e = np.geomspace(lower[i], upper[i], SUB_BINS_PER_BAND + 1)
        lo += list(e[:-1])
        hi += list(e[1:])
        band += [row] * SUB_BINS_PER_BAND
    e = np.geomspace(upper[rows[-1]], sr / 2.0, 5)
    lo += list(e[:-1])
    hi += list(e[1:])
    band += [-1] * 4
    return np.array(lo), np.array(hi), np.array(band)


def kweighting_power(freqs_hz: np.ndarray, sr: float) -> np.ndarray:
    """|K(f)|² of BS.1770's K-weighting at these frequencies."""
    from scipy.signal import sosfreqz

    _, h = sosfreqz(kweighting_sos(sr), worN=freqs_hz, fs=sr)
    return np.abs(h) ** 2


@dataclass
class SpectralClip:
    """What a trainer keeps of a clean clip: its Welch power spectrum and its loudness statistics."""

    clip_id: str
    power: np.ndarray  # (bins,) mean-square per bin of the mono downmix
    integrated_lufs: float | None
    crest_factor_db: float | None
    loudness_range_lu: float | None
    true_peak_dbtp: float | None


def spectral_clip(clip_id: str, audio: np.ndarray, sr: int) -> tuple[SpectralClip, np.ndarray, float]:
    """The clip's SpectralClip, its bin frequencies and bin width."""
    spectrum = mono_power_spectrum(audio, sr)
    stats = loudness_stats(audio, sr)
    clip = SpectralClip(clip_id, spectrum.power.astype(np.float64), stats.integrated_lufs, stats.crest_factor_db,
                        stats.loudness_range_lu, stats.true_peak_dbtp)
    return clip, spectrum.freqs_hz, spectrum.bin_hz


class FeatureMaker:
    """Batched, differentiable `tonal-v1` clip features from (clean power × EQ power response).

    The clip's fine Welch spectrum is pooled once into 1/48-octave sub-bins aligned with the 1/3-octave
    bands (band powers stay exact sums); an EQ's |H|² is evaluated at each sub-bin's geometric centre,
    which is what makes a step cheap (~470 frequencies instead of 16 385). The error of that is the EQ's
    variation within 1/48 octave."""

    def __init__(self, freqs_hz: np.ndarray, bin_hz: float, sr: float):
        self.sr = sr
        lo, hi, band = sub_bins(sr)
        self.pool_matrix = torch.from_numpy(overlap_matrix(lo, hi, len(freqs_hz), bin_hz).T.astype(np.float32))
        self.freqs_hz = np.sqrt(np.maximum(lo, hi / 2.0) * hi)  # geometric centre (the first bin: from hi/2)
        w = np.zeros((N_BANDS, len(band)))
        for s_index, b in enumerate(band):
            if b >= 0:
                w[b, s_index] = 1.0
        self.w = torch.from_numpy(w.T.astype(np.float32))  # (sub-bins, bands)
        self.valid = torch.from_numpy(w.sum(axis=1) > 0)
        self.k2 = torch.from_numpy(kweighting_power(self.freqs_hz, sr).astype(np.float32))

    def to(self, device: str | torch.device) -> FeatureMaker:
        """Move the maker's matrices to `device` (in place; returns self)."""
        for name in ("pool_matrix", "w", "valid", "k2"):
            setattr(self, name, getattr(self, name).to(device))
        return self

    def pool(self, fine_power: torch.Tensor) -> torch.Tensor:
        """(..., fine bins) → (..., sub-bins)."""
        return fine_power @ self.pool_matrix

    def band_db(self, power: torch.Tensor) -> torch.Tensor:
        """(B, bins) power → (B, N_BANDS) levels in dB re full-scale sine (as tonal_balance_db)."""
        return 10.0 * torch.log10(power @ self.w + 1e-30) + _FULL_SCALE_SINE_DB

    def tonal(self, power: torch.Tensor) -> torch.Tensor:
        """Mean-removed band levels over the bands that exist at this rate (dB)."""
        levels = self.band_db(power)
        valid = self.valid.to(levels.dtype)
        mean = (levels * valid).sum(dim=1, keepdim=True) / valid.sum()
        return (levels - mean) * valid

    def features(self, clean: torch.Tensor, eq_power: torch.Tensor, stats: torch.Tensor) -> torch.Tensor:
        """(B, N_BANDS + 5) as clip_features would compute on the EQ'd audio.

        `stats`: (B, 4) clean integrated LUFS, crest dB, LRA LU, true peak dBTP (NaN where unmeasurable)."""
        power = clean * eq_power
        tonal = self.tonal(power) / 12.0
        shift_db = 10.0 * torch.log10((power @ self.k2[:, None] + 1e-30) / (clean @ self.k2[:, None] + 1e-30))
        lufs = stats[:, :1] + shift_db
        plr = stats[:, 3:4] - stats[:, :1]  # peak and loudness move together under a broadband change: PLR kept
        scalars = torch.cat([lufs / 30.0, stats[:, 1:2] / 20.0, stats[:, 2:3] / 20.0, plr / 20.0], dim=1)
        unmeasurable = torch.isnan(stats[:, :1])
        scalars = torch.where(torch.isnan(scalars), torch.zeros_like(scalars), scalars)
        return torch.cat([tonal, scalars, unmeasurable.to(tonal.dtype)], dim=1)


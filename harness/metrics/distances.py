"""Distances between a model's output and its target: (output, target, sr) -> float, lower is better.

Every distance is 0 for identical signals. An Unmeasurable side is reported as
"output: <reason>" or "target: <reason>".
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TypeVar

import numpy as np

from .loudness import integrated_lufs, loudness_range_lu, loudness_stats
from .registry import Unmeasurable, as_audio, check_sample_rate, register
from .spectral import band_levels, mono_power_spectrum
from .stft import magnitude_sums_against, multi_resolution_magnitude_sums, target_powers

__all__ = [
    "AURALOSS_RESOLUTIONS",
    "TONAL_BALANCE_RANGE_DB",
    "mrstft_distance",
    "tonal_balance_error_db",
    "loudness_error_lu",
    "loudness_range_error_lu",
    "dynamics_error_db",
    "MrstftAgainst",
    "distance_against",
]

# auraloss.freq.MultiResolutionSTFTLoss defaults: (fft_size, hop_size, win_length).
AURALOSS_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
_AURALOSS_EPS = 1e-8
# Bands more than this far below the target's loudest band are not compared:
# nothing audible is decided there and their levels are mostly noise.
TONAL_BALANCE_RANGE_DB = 60.0

T = TypeVar("T")


def _side(label: str, fn: Callable[..., T], *args) -> T:
    try:
        return fn(*args)
    except Unmeasurable as exc:
        raise Unmeasurable(f"{label}: {exc.reason}") from None


def _pair(output: np.ndarray, target: np.ndarray, sr: float) -> tuple[np.ndarray, np.ndarray, float]:
    out = _side("output", as_audio, output)
    tgt = _side("target", as_audio, target)
    return out, tgt, check_sample_rate(sr)


@register(
    "mrstft_distance",
    unit="",
    direction="lower",
    kind="distance",
    reference="auraloss 0.4.0 freq.MultiResolutionSTFTLoss() defaults (tested < 1e-4 relative, stereo)",
    doc="auraloss multi-resolution STFT loss: spectral convergence + log-magnitude L1, mean of 3 resolutions.",
)
def mrstft_distance(output: np.ndarray, target: np.ndarray, sr: float) -> float:
    """auraloss's MultiResolutionSTFTLoss()(output, target) with default settings, in numpy/numba.

    Per resolution (fft, hop, win) in ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240)):
    ||M_t - M_o||_F / ||M_t||_F + mean|log M_o - log M_t|, M = sqrt(max(|STFT|^2, 1e-8)),
    norms and means over all channels, frames and bins (auraloss folds channels
    into the batch). The loss is the mean over resolutions. ``sr`` is unused (the
    auraloss defaults are in samples) but kept for the distance signature.
    Shapes must match; clips of <= 1024 samples (the 2048-point frame's reflect
    padding) raise Unmeasurable.
    """
    out, tgt, _ = _pair(output, target, sr)
    if out.shape != tgt.shape:
        raise ValueError(f"output {out.shape} and target {tgt.shape} must have the same (channels, samples)")
    longest = max(fft for fft, _, _ in AURALOSS_RESOLUTIONS)
    if out.shape[1] <= longest // 2:
        raise Unmeasurable(f"too short: {out.shape[1]} samples <= {longest // 2} (the {longest}-point STFT)")
    per_resolution = multi_resolution_magnitude_sums(out, tgt, AURALOSS_RESOLUTIONS, _AURALOSS_EPS)
    return sum(s.spectral_convergence + s.log_magnitude_l1 for s in per_resolution) / len(per_resolution)


@register(
    "tonal_balance_error_db",
    unit="dB",
    direction="lower",
    kind="distance",
    reference="own definition on tonal_balance_db; gain-invariant and 0 on identical signals (tested)",
    doc="RMS difference of mean-removed 1/3-octave band levels, over bands within 60 dB of the target's loudest.",
)
def tonal_balance_error_db(output: np.ndarray, target: np.ndarray, sr: float) -> float:
    """RMS over bands of the difference between output and target 1/3-octave levels, in dB.

    Loudness matching: each signal's mean band level (over the compared bands)
    is subtracted first, so a pure gain change scores 0 - this measures balance,
    not level (see loudness_error_lu for level). Compared bands: those where the
    target is within TONAL_BALANCE_RANGE_DB (60 dB) of its loudest band; the
    output's levels are floored at that same threshold, so a band the output
    lost costs at most the range instead of ~150 dB.
    """
    out, tgt, rate = _pair(output, target, sr)
    out_levels = _side("output", lambda: band_levels(mono_power_spectrum(out, rate)).levels_db)
    tgt_levels = _side("target", lambda: band_levels(mono_power_spectrum(tgt, rate)).levels_db)
    floor = tgt_levels.max() - TONAL_BALANCE_RANGE_DB
    compared = tgt_levels >= floor
    a = np.maximum(out_levels[compared], floor)
    b = tgt_levels[compared]
    difference = (a - a.mean()) - (b - b.mean())
    return float(np.sqrt(np.mean(difference**2)))


@register(
    "loudness_error_lu",
    unit="LU",
    direction="lower",
    kind="distance",
    reference="|integrated_lufs(output) - integrated_lufs(target)| (BS.1770-4)",
    doc="Absolute difference of BS.1770-4 integrated loudness, output vs target.",
)
def loudness_error_lu(output: np.ndarray, target: np.ndarray, sr: float) -> float:
    """|LUFS(output) - LUFS(target)| in LU (BS.1770-4 integrated loudness)."""
    out, tgt, rate = _pair(output, target, sr)
    return abs(
        _side("output", integrated_lufs, out, rate) - _side("target", integrated_lufs, tgt, rate)
    )


@register(
    "loudness_range_error_lu",
    unit="LU",
    direction="lower",
    kind="distance",
    reference="|loudness_range_lu(output) - loudness_range_lu(target)| (EBU Tech 3342)",
    doc="Absolute difference of EBU Tech 3342 loudness range (macro-dynamics), output vs target.",
)
def loudness_range_error_lu(output: np.ndarray, target: np.ndarray, sr: float) -> float:
    """|LRA(output) - LRA(target)| in LU: how far the output's macro-dynamics moved. Needs >= 3 s."""
    out, tgt, rate = _pair(output, target, sr)
    return abs(_side("output", loudness_range_lu, out, rate) - _side("target", loudness_range_lu, tgt, rate))


@register(
    "dynamics_error_db",
    unit="dB",
    direction="lower",
    kind="distance",
    reference="|plr_db(output) - plr_db(target)|; PLR = true peak dBTP - integrated LUFS",
    doc="Absolute difference of peak-to-loudness ratio (true peak minus integrated loudness), output vs target.",
)
def dynamics_error_db(output: np.ndarray, target: np.ndarray, sr: float) -> float:
    """|PLR(output) - PLR(target)| in dB, PLR = true peak (dBTP) - integrated loudness (LUFS).

    PLR rather than crest factor: its loudness is K-weighted and gated, so
    silences and sub-bass do not swing it, and its peak is the true peak a
    limiter controls. It is gain-invariant, so a level error does not count
    twice (loudness_error_lu measures level). Needs >= 0.4 s of non-silent audio.
    """
    out, tgt, rate = _pair(output, target, sr)
    out_plr = _side("output", lambda: loudness_stats(out, rate).require("plr_db"))
    tgt_plr = _side("target", lambda: loudness_stats(tgt, rate).require("plr_db"))
    return abs(out_plr - tgt_plr)


class MrstftAgainst:
    """mrstft_distance(output, target, sr) for many outputs against one target: its spectra are computed once."""

    def __init__(self, target: np.ndarray, sr: float):
        tgt = _side("target", as_audio, target)
        check_sample_rate(sr)
        longest = max(fft for fft, _, _ in AURALOSS_RESOLUTIONS)
        if tgt.shape[1] <= longest // 2:
            raise Unmeasurable(f"too short: {tgt.shape[1]} samples <= {longest // 2} (the {longest}-point STFT)")
        self._powers = target_powers(tgt, AURALOSS_RESOLUTIONS, _AURALOSS_EPS)

    def __call__(self, output: np.ndarray) -> float:
        out = _side("output", as_audio, output)
        if out.shape != self._powers.shape:
            raise ValueError(
                f"output {out.shape} and target {self._powers.shape} must have the same (channels, samples)"
            )
        per_resolution = magnitude_sums_against(out, self._powers)
        return sum(s.spectral_convergence + s.log_magnitude_l1 for s in per_resolution) / len(per_resolution)


# Distances with a faster form when one target is compared with many outputs.
_AGAINST: dict[str, Callable[[np.ndarray, float], Callable[[np.ndarray], float]]] = {
    "mrstft_distance": MrstftAgainst,
}


def distance_against(name: str, target: np.ndarray, sr: float) -> Callable[[np.ndarray], float]:
    """`output -> distance(output, target, sr)` for a registered distance, precomputing what it can."""
    from .registry import get_metric

    if name in _AGAINST:
        return _AGAINST[name](target, sr)
    fn = get_metric(name).fn
    return lambda output: fn(output, target, sr)

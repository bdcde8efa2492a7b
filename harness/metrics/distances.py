"""Distances between a model's output and its target: (output, target, sr) -> float, lower is better.

Every distance is 0 for identical signals. An Unmeasurable side is reported as
"output: <reason>" or "target: <reason>".
"""

from __future__ import annotations

import weakref
from collections.abc import Callable
from typing import TypeVar

import numpy as np

from .loudness import LoudnessStats, integrated_lufs, loudness_range_lu, loudness_stats
from .registry import Unmeasurable, as_audio, check_sample_rate, register
from .spectral import BandLevels, band_levels, mono_power_spectrum32
from .stft import MagnitudeSums, TargetPowers, magnitude_sums, magnitude_sums_against, target_powers

__all__ = [
    "AURALOSS_RESOLUTIONS",
    "TONAL_BALANCE_RANGE_DB",
    "mrstft_distance",
    "matched_mrstft_distance",
    "tonal_balance_error_db",
    "loudness_error_lu",
    "loudness_range_error_lu",
    "dynamics_error_db",
    "MrstftAgainst",
    "OutputAnalysis",
    "distance_against",
]

# auraloss.freq.MultiResolutionSTFTLoss defaults: (fft_size, hop_size, win_length).
AURALOSS_RESOLUTIONS = ((1024, 120, 600), (2048, 240, 1200), (512, 50, 240))
_AURALOSS_EPS = 1e-8
# Audibility floors (`audible_floor` of each distance), in the metric's units:
# - tonal balance 0.2 dB and loudness 0.1 LU: below the smallest level differences listeners
#   reliably hear on music (broad spectral changes of ~0.5-1 dB; loudness steps of ~0.5-1 LU), with margin;
# - MR-STFT 0.04: measured on release-corpus clips, a +-0.5 dB tilt (0.19 dB tonal error) leaves
#   0.042-0.050 and a 1 dB bell at 1 kHz, Q 1, 0.046-0.082 (loudness-matched); so below 0.04 the
#   damage is under the tonal floor. Raw MR-STFT: 0.1 dB of gain alone reads 0.022.
# - PLR 0.2 dB: a change of the peak-to-loudness ratio below any audible change of density.
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
    audible_floor=0.04,
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
    _check_shapes(out.shape, tgt.shape)
    _check_length(tgt)
    return _mrstft_loss(magnitude_sums(out, tgt, AURALOSS_RESOLUTIONS, _AURALOSS_EPS)[0])


def _check_shapes(output_shape: tuple[int, ...], target_shape: tuple[int, ...]) -> None:
    if output_shape != target_shape:
        raise ValueError(f"output {output_shape} and target {target_shape} must have the same (channels, samples)")


def _check_length(tgt: np.ndarray) -> None:
    longest = max(fft for fft, _, _ in AURALOSS_RESOLUTIONS)
    if tgt.shape[1] <= longest // 2:
        raise Unmeasurable(f"too short: {tgt.shape[1]} samples <= {longest // 2} (the {longest}-point STFT)")


def _auraloss_target_powers(tgt: np.ndarray) -> TargetPowers:
    _check_length(tgt)
    return target_powers(tgt, AURALOSS_RESOLUTIONS, _AURALOSS_EPS)


def _mrstft_loss(per_resolution: list[MagnitudeSums]) -> float:
    return sum(s.spectral_convergence + s.log_magnitude_l1 for s in per_resolution) / len(per_resolution)


def _matching_gain(output_lufs: float | None, target_lufs: float | None) -> float:
    """Linear gain that brings the output to the target's integrated loudness; 1 when either is unmeasurable."""
    if output_lufs is None or target_lufs is None:
        return 1.0
    return float(10.0 ** ((target_lufs - output_lufs) / 20.0))


def _lufs_or_none(audio: np.ndarray, sr: float) -> float | None:
    try:
        return integrated_lufs(audio, sr)
    except Unmeasurable:
        return None


@register(
    "matched_mrstft_distance",
    unit="",
    direction="lower",
    kind="distance",
    reference="mrstft_distance(g * output, target) with g matching BS.1770-4 integrated loudness (tested)",
    doc="MR-STFT after the output is gain-matched to the target's integrated loudness: processing, not level.",
    audible_floor=0.04,
)
def matched_mrstft_distance(output: np.ndarray, target: np.ndarray, sr: float) -> float:
    """auraloss's MR-STFT loss after scaling the output to the target's integrated loudness.

    On raw levels MR-STFT is dominated by level: a gain-only "compressor" closed 0.81 of the
    compressor task's gap. Matching loudness first makes the distance measure what processing
    did to spectrum and dynamics; level is judged by its own metrics (loudness_error_lu, the true
    peak). A pure gain change of the output scores exactly what the unscaled output scores. When
    either side has no integrated loudness (silence, < 0.4 s) no gain is applied.
    """
    out, tgt, rate = _pair(output, target, sr)
    _check_shapes(out.shape, tgt.shape)
    gain = _matching_gain(_lufs_or_none(out, rate), _lufs_or_none(tgt, rate))
    _check_length(tgt)
    # The gain scales the output's STFT powers (g^2), as the shared-analysis path does: the same numbers.
    return _mrstft_loss(magnitude_sums(out, tgt, AURALOSS_RESOLUTIONS, _AURALOSS_EPS, (gain * gain,))[0])


@register(
    "tonal_balance_error_db",
    unit="dB",
    direction="lower",
    kind="distance",
    reference="own definition on tonal_balance_db; gain-invariant and 0 on identical signals (tested)",
    doc="RMS difference of mean-removed 1/3-octave band levels, over bands within 60 dB of the target's loudest.",
    audible_floor=0.2,
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
    return _tonal_balance_error(_band_levels("output", out, rate), _band_levels("target", tgt, rate))


def _band_levels(label: str, audio: np.ndarray, sr: float) -> BandLevels:
    # The float32 spectrum (within 1e-3 dB of the meters' float64 one, tested; docs/metrics.md).
    return _side(label, lambda: band_levels(mono_power_spectrum32(audio, sr)))


def _tonal_balance_error(output: BandLevels, target: BandLevels) -> float:
    out_levels, tgt_levels = output.levels_db, target.levels_db
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
    audible_floor=0.1,
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
    audible_floor=0.1,
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
    audible_floor=0.2,
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


class OutputAnalysis:
    """One output's analyses, computed once and shared by every distance that needs them: one loudness
    pass serves loudness matching, loudness error and PLR; one STFT serves the raw and the matched
    MR-STFT against a target; one spectrum serves tonal balance."""

    def __init__(self, output: np.ndarray, sr: float):
        self.audio = _side("output", as_audio, output)
        self.sr = check_sample_rate(sr)
        self._loudness: LoudnessStats | None = None
        self._band_levels: BandLevels | None = None
        self._per_target: dict[int, tuple[object, object]] = {}

    @property
    def loudness(self) -> LoudnessStats:
        if self._loudness is None:
            self._loudness = loudness_stats(self.audio, self.sr)
        return self._loudness

    @property
    def band_levels(self) -> BandLevels:
        """1/3-octave levels of the output's mono spectrum; raises Unmeasurable labelled "output"."""
        if self._band_levels is None:
            self._band_levels = _band_levels("output", self.audio, self.sr)
        return self._band_levels

    def against(self, owner: object, compute: Callable[[OutputAnalysis], T]) -> T:
        """compute(self), once per target-side owner for as long as this analysis lives."""
        key = id(owner)
        if key not in self._per_target:
            # The owner is kept with its result, so its id cannot be reused for another owner meanwhile.
            self._per_target[key] = (owner, compute(self))
        return self._per_target[key][1]


Against = Callable[[OutputAnalysis], float]


def _analysis(output: np.ndarray | OutputAnalysis, sr: float) -> OutputAnalysis:
    return output if isinstance(output, OutputAnalysis) else OutputAnalysis(output, sr)


class _MrstftTarget:
    """One target's STFT powers, shared by its raw and its matched MR-STFT distance. Each output is
    compared once, for every variant asked for so far: matching only scales the output's powers, so
    one STFT of the output serves both (it is the dominant cost of scoring)."""

    def __init__(self, target: np.ndarray, sr: float):
        self.rate = check_sample_rate(sr)
        self.target = target
        self.powers = _auraloss_target_powers(_side("target", as_audio, target))
        self.variants: set[bool] = set()  # matched or not
        self._target_lufs: list[float | None] = []  # measured when a matched variant first needs it

    @property
    def target_lufs(self) -> float | None:
        if not self._target_lufs:
            self._target_lufs.append(_lufs_or_none(_side("target", as_audio, self.target), self.rate))
        return self._target_lufs[0]

    def distance(self, analysis: OutputAnalysis, matched: bool) -> float:
        if matched not in self.variants:
            raise ValueError("ask for a variant through MrstftAgainst")
        distances = analysis.against(self, self._distances)
        if matched not in distances:  # a variant asked for after this output was compared
            distances.update(self._distances(analysis))
        return distances[matched]

    def _distances(self, analysis: OutputAnalysis) -> dict[bool, float]:
        _check_shapes(analysis.audio.shape, self.powers.shape)
        power_gains = {}
        for matched in sorted(self.variants):
            gain = _matching_gain(analysis.loudness.integrated_lufs, self.target_lufs) if matched else 1.0
            power_gains[matched] = gain * gain
        distinct = tuple(sorted(set(power_gains.values())))
        per_gain = magnitude_sums_against(analysis.audio, self.powers, distinct)
        return {matched: _mrstft_loss(per_gain[distinct.index(g)]) for matched, g in power_gains.items()}


# Targets whose STFT powers are in use, so that distance_against for the raw and the matched
# MR-STFT of one target share them (and each output's STFT). Keyed by the target array's id: an
# entry lives while a MrstftAgainst holds it, and it holds the array, so the id is not reused meanwhile.
_MRSTFT_TARGETS: weakref.WeakValueDictionary[tuple[int, float], _MrstftTarget] = weakref.WeakValueDictionary()


def _shared_mrstft_target(target: np.ndarray, sr: float) -> _MrstftTarget:
    key = (id(target), float(sr))
    shared = _MRSTFT_TARGETS.get(key)
    if shared is not None and shared.target is target:
        return shared
    shared = _MrstftTarget(target, sr)
    _MRSTFT_TARGETS[key] = shared
    return shared


class MrstftAgainst:
    """mrstft_distance(output, target, sr) for many outputs against one target: its spectra are computed
    once. `matched=True` is matched_mrstft_distance: each output is first gain-matched to the target's
    integrated loudness, read from the output's shared analysis. The raw and the matched distance of
    one target (the same array) share the target's spectra and each output's STFT."""

    def __init__(self, target: np.ndarray, sr: float, *, matched: bool = False):
        self._shared = _shared_mrstft_target(target, sr)
        self._shared.variants.add(matched)
        self._rate = self._shared.rate
        self._matched = matched

    def __call__(self, output: np.ndarray | OutputAnalysis) -> float:
        return self._shared.distance(_analysis(output, self._rate), self._matched)


class _TonalBalanceAgainst:
    """tonal_balance_error_db(output, target, sr), the target's band levels measured once."""

    def __init__(self, target: np.ndarray, sr: float):
        self._rate = check_sample_rate(sr)
        self._target = _band_levels("target", _side("target", as_audio, target), self._rate)

    def __call__(self, output: np.ndarray | OutputAnalysis) -> float:
        return _tonal_balance_error(_analysis(output, self._rate).band_levels, self._target)


class _StatAgainst:
    """|stat(output) - stat(target)| for one loudness_stats field, the target's measured once."""

    def __init__(self, field: str, target: np.ndarray, sr: float):
        tgt = _side("target", as_audio, target)
        self._field = field
        self._rate = check_sample_rate(sr)
        self._target = _side("target", lambda: loudness_stats(tgt, self._rate).require(field))

    def __call__(self, output: np.ndarray | OutputAnalysis) -> float:
        analysis = _analysis(output, self._rate)
        return abs(_side("output", lambda: analysis.loudness.require(self._field)) - self._target)


# Distances with a faster form when one target is compared with many outputs. Each takes an
# OutputAnalysis, so analyses of one output are shared across distances.
_AGAINST: dict[str, Callable[[np.ndarray, float], Against]] = {
    "mrstft_distance": MrstftAgainst,
    "matched_mrstft_distance": lambda target, sr: MrstftAgainst(target, sr, matched=True),
    "tonal_balance_error_db": _TonalBalanceAgainst,
    "loudness_error_lu": lambda target, sr: _StatAgainst("integrated_lufs", target, sr),
    "dynamics_error_db": lambda target, sr: _StatAgainst("plr_db", target, sr),
}


def distance_against(name: str, target: np.ndarray, sr: float) -> Against:
    """`OutputAnalysis -> distance(output, target, sr)` for a registered distance, precomputing what it can."""
    from .registry import get_metric

    if name in _AGAINST:
        return _AGAINST[name](target, sr)
    fn = get_metric(name).fn
    return lambda output: fn(_analysis(output, sr).audio, target, sr)

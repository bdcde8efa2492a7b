"""Loudness meters: ITU-R BS.1770-4 integrated loudness, EBU Tech 3341 momentary and
short-term loudness, EBU Tech 3342 loudness range, and the one-pass ``loudness_stats``.

How it is computed, once per clip: a numba kernel K-weights every channel and
stores the K-weighted sum of squares of each 10 ms *granule*. Every BS.1770 /
Tech 3341 window is a whole number of granules - a 400 ms block is 40, a 3 s
short-term window 300, the 100 ms gating hop 10 - so all windows are sums of
granules, and the meters cost one filter pass plus a few thousand additions.
Block j of the gated measurement covers samples [floor(j*0.1*sr), floor(j*0.1*sr + 0.4*sr)),
only complete blocks count: that is pyloudnorm's placement (tested equal) for
clips whose length is a whole number of 100 ms; pyloudnorm additionally counts a
final *partial* block (divided by the full block length) when the remainder is
>= 50 ms, which BS.1770-4 does not ask for and we do not do.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field

import numpy as np
from numba import njit

from .kweighting import kweighting_sos
from .peaks import (
    SILENT_PEAK_REASON,
    PeakStats,
    amplitude_db,
    channel_peak_sums,
    crest_factor_from,
    peak_stats_from_sums,
)
from .registry import (
    NON_FINITE_REASON,
    Unmeasurable,
    as_audio,
    check_sample_rate,
    register,
    register_shared_analysis,
)

__all__ = [
    "CHANNEL_WEIGHTS",
    "LOUDNESS_FLOOR_LUFS",
    "LoudnessStats",
    "loudness_stats",
    "integrated_lufs",
    "momentary_loudness_lufs",
    "short_term_loudness_lufs",
    "max_momentary_lufs",
    "max_short_term_lufs",
    "loudness_range_lu",
    "plr_db",
    "loudness_target_error_lu",
]

# BS.1770-4 Table 3, channel order L, R, C, Ls, Rs (LFE is not measured).
CHANNEL_WEIGHTS = (1.0, 1.0, 1.0, 1.41, 1.41)
GRANULES_PER_SECOND = 100  # 10 ms granules
MOMENTARY_GRANULES = 40  # 400 ms (BS.1770-4 T_g; Tech 3341 momentary)
SHORT_TERM_GRANULES = 300  # 3 s (Tech 3341 short-term; Tech 3342 LRA input)
GATING_HOP_GRANULES = 10  # 100 ms: 75 % overlap of 400 ms blocks (BS.1770-4 cl. 2.6)
LRA_HOP_GRANULES = 10  # 10 Hz short-term rate (Tech 3342: "at least 10 Hz")
MAX_HOP_GRANULES = 1  # max M/S are searched at 100 Hz, 10x Tech 3341's minimum rate
ABSOLUTE_GATE_LUFS = -70.0
INTEGRATED_RELATIVE_GATE_LU = -10.0
LRA_RELATIVE_GATE_LU = -20.0
LRA_LOW_PERCENTILE = 10
LRA_HIGH_PERCENTILE = 95
# A block of digital silence has no loudness; series report this instead of -inf.
LOUDNESS_FLOOR_LUFS = -200.0
_LOUDNESS_OFFSET = -0.691  # BS.1770-4 eq. 2

SILENCE_REASON = "silence: all blocks below the -70 LUFS absolute gate"


# --------------------------------------------------------------------------- kernel


@njit(cache=True, error_model="numpy")
def _kweight_pair(x0, x1, edges, sos, out0, out1):
    # Two channels in one loop: each biquad is a serial dependency chain, so
    # interleaving two independent chains keeps the FPU busy (~1.4x faster).
    b0, b1, b2, a1, a2 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    c0, c1, c2, d1, d2 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    s1 = s2 = t1 = t2 = 0.0
    u1 = u2 = w1 = w2 = 0.0
    for g in range(edges.shape[0] - 1):
        e0 = 0.0
        e1 = 0.0
        for i in range(edges[g], edges[g + 1]):
            v = np.float64(x0[i])
            y = b0 * v + s1
            s1 = b1 * v - a1 * y + s2
            s2 = b2 * v - a2 * y
            z = c0 * y + t1
            t1 = c1 * y - d1 * z + t2
            t2 = c2 * y - d2 * z
            e0 += z * z
            v = np.float64(x1[i])
            y = b0 * v + u1
            u1 = b1 * v - a1 * y + u2
            u2 = b2 * v - a2 * y
            z = c0 * y + w1
            w1 = c1 * y - d1 * z + w2
            w2 = c2 * y - d2 * z
            e1 += z * z
        out0[g] = e0
        out1[g] = e1


@njit(cache=True, error_model="numpy")
def _kweight_single(x0, edges, sos, out0):
    b0, b1, b2, a1, a2 = sos[0, 0], sos[0, 1], sos[0, 2], sos[0, 4], sos[0, 5]
    c0, c1, c2, d1, d2 = sos[1, 0], sos[1, 1], sos[1, 2], sos[1, 4], sos[1, 5]
    s1 = s2 = t1 = t2 = 0.0
    for g in range(edges.shape[0] - 1):
        e0 = 0.0
        for i in range(edges[g], edges[g + 1]):
            v = np.float64(x0[i])
            y = b0 * v + s1
            s1 = b1 * v - a1 * y + s2
            s2 = b2 * v - a2 * y
            z = c0 * y + t1
            t1 = c1 * y - d1 * z + t2
            t2 = c2 * y - d2 * z
            e0 += z * z
        out0[g] = e0


@njit(cache=True, error_model="numpy")
def _window_sums(values, width, hop):
    # Direct sums, not a cumulative-sum difference: after loud passages a
    # cumsum difference would lose the quiet blocks to cancellation.
    count = (values.shape[0] - width) // hop + 1
    out = np.empty(max(count, 0))
    for j in range(count):
        s = 0.0
        base = j * hop
        for k in range(width):
            s += values[base + k]
        out[j] = s
    return out


# --------------------------------------------------------------------------- granules


def _granule_edges(n_samples: int, sr: float) -> np.ndarray:
    """Sample index where each 10 ms granule starts, plus the end of the last whole one."""
    if float(sr).is_integer():
        rate = int(sr)
        count = n_samples * GRANULES_PER_SECOND // rate
        return np.arange(count + 1, dtype=np.int64) * rate // GRANULES_PER_SECOND
    count = int(math.floor(n_samples * GRANULES_PER_SECOND / sr))
    edges = np.floor(np.arange(count + 1) * (sr / GRANULES_PER_SECOND)).astype(np.int64)
    return edges[edges <= n_samples]


@dataclass(frozen=True)
class _Granules:
    power: np.ndarray  # channel-weighted K-weighted sum of squares per granule
    edges: np.ndarray
    duration_s: float


def _channel_weights(n_channels: int) -> np.ndarray:
    if n_channels > len(CHANNEL_WEIGHTS):
        raise ValueError(
            f"loudness supports 1-{len(CHANNEL_WEIGHTS)} channels (L, R, C, Ls, Rs), got {n_channels}; drop the LFE"
        )
    return np.asarray(CHANNEL_WEIGHTS[:n_channels])


def _kweighted_granules(x: np.ndarray, sr: float) -> _Granules:
    weights = _channel_weights(x.shape[0])
    edges = _granule_edges(x.shape[1], sr)
    sos = kweighting_sos(sr)
    energies = np.zeros((x.shape[0], max(edges.shape[0] - 1, 0)))
    c = 0
    while c < x.shape[0]:
        if c + 1 < x.shape[0]:
            _kweight_pair(x[c], x[c + 1], edges, sos, energies[c], energies[c + 1])
            c += 2
        else:
            _kweight_single(x[c], edges, sos, energies[c])
            c += 1
    power = weights @ energies
    if not np.isfinite(power).all():
        raise Unmeasurable(NON_FINITE_REASON)
    return _Granules(power, edges, x.shape[1] / sr)


def _block_energies(granules: _Granules, width: int, hop: int) -> np.ndarray:
    """Channel-weighted mean square of each window of ``width`` granules at ``hop``."""
    sums = _window_sums(granules.power, width, hop)
    starts = granules.edges[0 : len(sums) * hop : hop]
    lengths = granules.edges[np.arange(len(sums)) * hop + width] - starts
    return sums / lengths


def _energy_to_lufs(energy: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore"):
        lufs = _LOUDNESS_OFFSET + 10.0 * np.log10(energy)
    return np.maximum(lufs, LOUDNESS_FLOOR_LUFS)


def _too_short(granules: _Granules, width: int) -> Unmeasurable | None:
    if len(granules.power) >= width:
        return None
    return Unmeasurable(f"too short: {granules.duration_s:.3f} s < {width / GRANULES_PER_SECOND:g} s")


# --------------------------------------------------------------------------- measures


def _integrated(granules: _Granules) -> float:
    """BS.1770-4 clause 2.6-2.8: two-stage gated mean of 400 ms blocks at 75 % overlap."""
    short = _too_short(granules, MOMENTARY_GRANULES)
    if short:
        raise short
    energy = _block_energies(granules, MOMENTARY_GRANULES, GATING_HOP_GRANULES)
    lufs = _energy_to_lufs(energy)
    above_absolute = lufs > ABSOLUTE_GATE_LUFS
    if not above_absolute.any():
        raise Unmeasurable(SILENCE_REASON)
    relative_gate = _LOUDNESS_OFFSET + 10.0 * math.log10(energy[above_absolute].mean()) + INTEGRATED_RELATIVE_GATE_LU
    gated = above_absolute & (lufs > relative_gate)
    return _LOUDNESS_OFFSET + 10.0 * math.log10(energy[gated].mean())


def _loudness_range(granules: _Granules) -> float:
    """EBU Tech 3342 (V4) clause 5: 10th-95th percentile spread of gated short-term loudness."""
    short = _too_short(granules, SHORT_TERM_GRANULES)
    if short:
        raise short
    energy = _block_energies(granules, SHORT_TERM_GRANULES, LRA_HOP_GRANULES)
    lufs = _energy_to_lufs(energy)
    above_absolute = lufs >= ABSOLUTE_GATE_LUFS
    if not above_absolute.any():
        raise Unmeasurable("silence: all short-term blocks below the -70 LUFS absolute gate")
    relative_gate = _LOUDNESS_OFFSET + 10.0 * math.log10(energy[above_absolute].mean()) + LRA_RELATIVE_GATE_LU
    gated = np.sort(lufs[above_absolute & (lufs >= relative_gate)])
    return float(_matlab_percentile(gated, LRA_HIGH_PERCENTILE) - _matlab_percentile(gated, LRA_LOW_PERCENTILE))


def _matlab_percentile(sorted_values: np.ndarray, percent: int) -> float:
    # Tech 3342's reference code: stl_sorted_vec(round((n-1)*PRC/100 + 1)), MATLAB
    # round = half away from zero; in integers, 0-based index = ((n-1)*p + 50) // 100.
    n = len(sorted_values)
    return float(sorted_values[((n - 1) * percent + 50) // 100])


def _max_window_lufs(granules: _Granules, width: int) -> float:
    short = _too_short(granules, width)
    if short:
        raise short
    best = float(_energy_to_lufs(_block_energies(granules, width, MAX_HOP_GRANULES)).max())
    if best <= ABSOLUTE_GATE_LUFS:
        raise Unmeasurable(SILENCE_REASON)
    return best


def _prepare(audio: np.ndarray, sr: float) -> tuple[np.ndarray, float]:
    x = as_audio(audio, check_finite=False)  # the kernel's sums reveal NaN/Inf
    rate = check_sample_rate(sr)
    _channel_weights(x.shape[0])
    return x, rate


def _series(audio: np.ndarray, sr: float, width: int, hop_s: float) -> np.ndarray:
    hop = int(round(hop_s * GRANULES_PER_SECOND))
    if hop < 1 or abs(hop - hop_s * GRANULES_PER_SECOND) > 1e-9:
        raise ValueError(f"hop_s must be a positive multiple of 0.01 s, got {hop_s}")
    granules = _kweighted_granules(*_prepare(audio, sr))
    short = _too_short(granules, width)
    if short:
        raise short
    return _energy_to_lufs(_block_energies(granules, width, hop))


def momentary_loudness_lufs(audio: np.ndarray, sr: float, *, hop_s: float = 0.1) -> np.ndarray:
    """EBU Tech 3341 momentary loudness (400 ms, ungated) every ``hop_s`` seconds.

    Element j covers [j*hop_s, j*hop_s + 0.4) s. ``hop_s`` is a multiple of 0.01 s;
    the default 0.1 s is Tech 3341's minimum 10 Hz rate. Blocks of digital
    silence read LOUDNESS_FLOOR_LUFS (-200) rather than -inf. A clip shorter than
    0.4 s raises Unmeasurable.
    """
    return _series(audio, sr, MOMENTARY_GRANULES, hop_s)


def short_term_loudness_lufs(audio: np.ndarray, sr: float, *, hop_s: float = 0.1) -> np.ndarray:
    """EBU Tech 3341 short-term loudness (3 s, ungated) every ``hop_s`` seconds.

    Element j covers [j*hop_s, j*hop_s + 3) s; see momentary_loudness_lufs.
    """
    return _series(audio, sr, SHORT_TERM_GRANULES, hop_s)


# --------------------------------------------------------------------------- one pass


_STAT_UNITS = {
    "integrated_lufs": "LUFS",
    "loudness_range_lu": "LU",
    "max_momentary_lufs": "LUFS",
    "max_short_term_lufs": "LUFS",
    "true_peak_dbtp": "dBTP",
    "sample_peak_dbfs": "dBFS",
    "crest_factor_db": "dB",
    "plr_db": "dB",
}


@dataclass(frozen=True)
class LoudnessStats:
    """Everything one pass over a clip yields. A None field has its reason in ``unmeasurable``."""

    integrated_lufs: float | None
    loudness_range_lu: float | None
    max_momentary_lufs: float | None
    max_short_term_lufs: float | None
    true_peak_dbtp: float | None
    sample_peak_dbfs: float | None
    crest_factor_db: float | None
    plr_db: float | None
    unmeasurable: Mapping[str, str] = field(default_factory=dict)

    def require(self, name: str) -> float:
        """The field's value, or raise Unmeasurable with its reason."""
        value = getattr(self, name)
        if value is None:
            raise Unmeasurable(self.unmeasurable[name])
        return value

    def as_dict(self) -> dict[str, float | None]:
        return {name: getattr(self, name) for name in _STAT_UNITS}


def _attempt(compute, name: str, values: dict, reasons: dict) -> None:
    try:
        values[name] = float(compute())
    except Unmeasurable as exc:
        values[name] = None
        reasons[name] = exc.reason


def loudness_stats(audio: np.ndarray, sr: float) -> LoudnessStats:
    """Integrated loudness, LRA, max momentary/short-term, true/sample peak, crest, PLR in one pass.

    One K-weighting pass and one true-peak pass over the samples; every figure
    equals its standalone function's. Fields that cannot be measured are None
    with their reason in ``unmeasurable`` (NaN/Inf samples: every field). It
    never raises Unmeasurable; a wrong shape or > 5 channels raises ValueError.
    """
    x, rate = _prepare(audio, sr)

    def parts() -> tuple[PeakStats | None, np.ndarray]:
        sums = channel_peak_sums(x, rate, want_true_peak=True)
        return (peak_stats_from_sums(sums, x.shape[1], True) if x.shape[1] else None), _kweighted_granules(x, rate)

    return stats_from_parts(parts, x)


def stats_from_parts(parts: Callable[[], tuple[PeakStats | None, np.ndarray]],
                     samples: np.ndarray | None) -> LoudnessStats:
    """Every LoudnessStats field from the two analyses it needs: peak statistics and K-weighted
    granule energies. Shared by the whole-signal pass above and the block-streamed one
    (harness/streaming_analysis.py), so both give the same fields with the same reasons.
    `parts` raises Unmeasurable for NaN/Inf samples; `samples` (or None when streamed) lets the crest
    factor re-read the signal in the underflow case only."""
    try:
        peaks, granules = parts()
    except Unmeasurable as exc:  # NaN/Inf samples: nothing is measurable
        return LoudnessStats(**{name: None for name in _STAT_UNITS}, unmeasurable={n: exc.reason for n in _STAT_UNITS})
    values: dict[str, float | None] = {}
    reasons: dict[str, str] = {}
    _attempt(lambda: _integrated(granules), "integrated_lufs", values, reasons)
    _attempt(lambda: _loudness_range(granules), "loudness_range_lu", values, reasons)
    _attempt(lambda: _max_window_lufs(granules, MOMENTARY_GRANULES), "max_momentary_lufs", values, reasons)
    _attempt(lambda: _max_window_lufs(granules, SHORT_TERM_GRANULES), "max_short_term_lufs", values, reasons)

    def need_peaks() -> PeakStats:
        if peaks is None:
            raise Unmeasurable("too short: the clip has no samples")
        return peaks

    _attempt(lambda: amplitude_db(need_peaks().true_peak), "true_peak_dbtp", values, reasons)
    _attempt(lambda: amplitude_db(need_peaks().sample_peak), "sample_peak_dbfs", values, reasons)
    _attempt(lambda: crest_factor_from(need_peaks(), samples), "crest_factor_db", values, reasons)

    def plr() -> float:
        for name in ("true_peak_dbtp", "integrated_lufs"):
            if values[name] is None:
                raise Unmeasurable(reasons[name])
        return values["true_peak_dbtp"] - values["integrated_lufs"]

    _attempt(plr, "plr_db", values, reasons)
    return LoudnessStats(**values, unmeasurable=reasons)


register_shared_analysis("loudness_stats", loudness_stats)


def _from_stats(name: str):
    return lambda stats: stats.require(name)


# --------------------------------------------------------------------------- registered


@register(
    "integrated_lufs",
    unit="LUFS",
    direction=None,
    kind="meter",
    reference="ITU-R BS.1770-4; EBU Tech 3341 cases 1-6; pyloudnorm 0.2 Meter(filter_class='DeMan')",
    doc="BS.1770-4 gated programme loudness (400 ms blocks, -70 LUFS and -10 LU gates).",
    shared="loudness_stats",
    from_shared=_from_stats("integrated_lufs"),
)
def integrated_lufs(audio: np.ndarray, sr: float) -> float:
    """ITU-R BS.1770-4 integrated (gated) loudness in LUFS.

    K-weighting at any sample rate, 400 ms blocks at 100 ms hops, -70 LUFS
    absolute and -10 LU relative gates, channel weights 1.0 (L, R, C) and 1.41
    (Ls, Rs); 1-5 channels. Raises Unmeasurable for clips under 0.4 s and for
    silence (every block below -70 LUFS).
    """
    return _integrated(_kweighted_granules(*_prepare(audio, sr)))


@register(
    "max_momentary_lufs",
    unit="LUFS",
    direction=None,
    kind="meter",
    reference="EBU Tech 3341 momentary loudness (case 12); own granule sums vs scipy K-weighting",
    doc="Largest 400 ms (momentary) loudness, searched every 10 ms.",
    shared="loudness_stats",
    from_shared=_from_stats("max_momentary_lufs"),
)
def max_momentary_lufs(audio: np.ndarray, sr: float) -> float:
    """Maximum momentary loudness (Tech 3341, 400 ms window) over 10 ms steps."""
    return _max_window_lufs(_kweighted_granules(*_prepare(audio, sr)), MOMENTARY_GRANULES)


@register(
    "max_short_term_lufs",
    unit="LUFS",
    direction=None,
    kind="meter",
    reference="EBU Tech 3341 short-term loudness (case 9); own granule sums vs scipy K-weighting",
    doc="Largest 3 s (short-term) loudness, searched every 10 ms.",
    shared="loudness_stats",
    from_shared=_from_stats("max_short_term_lufs"),
)
def max_short_term_lufs(audio: np.ndarray, sr: float) -> float:
    """Maximum short-term loudness (Tech 3341, 3 s window) over 10 ms steps."""
    return _max_window_lufs(_kweighted_granules(*_prepare(audio, sr)), SHORT_TERM_GRANULES)


@register(
    "loudness_range_lu",
    unit="LU",
    direction=None,
    kind="meter",
    reference="EBU Tech 3342 V4 cases 1-4 (MATLAB reference percentile rule)",
    doc="EBU Tech 3342 loudness range: 95th minus 10th percentile of gated 3 s loudness at 10 Hz.",
    shared="loudness_stats",
    from_shared=_from_stats("loudness_range_lu"),
)
def loudness_range_lu(audio: np.ndarray, sr: float) -> float:
    """EBU Tech 3342 loudness range in LU.

    Short-term (3 s) loudness every 100 ms, absolute gate >= -70 LUFS, relative
    gate >= -20 LU below the power mean of the absolute-gated values, then
    95th minus 10th percentile with Tech 3342's index rule. No trailing silence
    is appended (pyloudnorm appends 1.5 s and hops 90 ms, so it differs slightly).
    Raises Unmeasurable under 3 s and for silence.
    """
    return _loudness_range(_kweighted_granules(*_prepare(audio, sr)))


@register(
    "plr_db",
    unit="dB",
    direction=None,
    kind="meter",
    reference="definition: true_peak_dbtp - integrated_lufs (AES TD1008 PLR)",
    doc="Peak-to-loudness ratio: true peak (dBTP) minus integrated loudness (LUFS).",
    shared="loudness_stats",
    from_shared=_from_stats("plr_db"),
)
def plr_db(audio: np.ndarray, sr: float) -> float:
    """Peak-to-loudness ratio = true peak dBTP - integrated LUFS, in dB."""
    return loudness_stats(audio, sr).require("plr_db")


def loudness_target_error_lu(audio: np.ndarray, sr: float, target_lufs: float) -> float:
    """|integrated loudness - target_lufs| in LU, e.g. a master against -14 LUFS."""
    if not math.isfinite(target_lufs):
        raise ValueError(f"target_lufs must be finite, got {target_lufs}")
    return abs(integrated_lufs(audio, sr) - float(target_lufs))


__all__ += ["SILENCE_REASON", "SILENT_PEAK_REASON"]

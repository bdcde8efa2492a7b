"""Meters and distances: pure functions plus one registry (unit, direction, reference).

Meters take (audio, sr), distances (output, target, sr); audio is (channels, samples)
float32/float64 at nominal full scale +-1.0. A pure function raises
``Unmeasurable(reason)`` for silence or a clip shorter than its window;
``measure(name, ...)`` / ``measure_all(audio, sr)`` turn that into
``Measurement(value=None, reason=...)``. See docs/metrics.md.
"""

from .distances import (
    dynamics_error_db,
    loudness_error_lu,
    loudness_range_error_lu,
    matched_mrstft_distance,
    mrstft_distance,
    tonal_balance_error_db,
)
from .kweighting import apply_kweighting, kweighting_coefficients, kweighting_sos
from .loudness import (
    LoudnessStats,
    integrated_lufs,
    loudness_range_lu,
    loudness_stats,
    loudness_target_error_lu,
    max_momentary_lufs,
    max_short_term_lufs,
    momentary_loudness_lufs,
    plr_db,
    short_term_loudness_lufs,
)
from .peaks import PeakStats, crest_factor_db, peak_stats, sample_peak_dbfs, true_peak_dbtp
from .registry import (
    REGISTRY,
    Measurement,
    MetricSpec,
    Unmeasurable,
    get_metric,
    list_distances,
    list_meters,
    measure,
    measure_all,
    register,
)
from .spectral import BandLevels, mono_power_spectrum, spectral_centroid_hz, third_octave_bands, tonal_balance_db

__all__ = [
    "REGISTRY",
    "Measurement",
    "MetricSpec",
    "Unmeasurable",
    "get_metric",
    "list_distances",
    "list_meters",
    "measure",
    "measure_all",
    "register",
    "apply_kweighting",
    "kweighting_coefficients",
    "kweighting_sos",
    "PeakStats",
    "peak_stats",
    "true_peak_dbtp",
    "sample_peak_dbfs",
    "crest_factor_db",
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
    "BandLevels",
    "mono_power_spectrum",
    "third_octave_bands",
    "tonal_balance_db",
    "spectral_centroid_hz",
    "mrstft_distance",
    "matched_mrstft_distance",
    "tonal_balance_error_db",
    "loudness_error_lu",
    "loudness_range_error_lu",
    "dynamics_error_db",
]

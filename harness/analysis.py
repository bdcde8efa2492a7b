"""What `dawg-bench analyze` reports about one file: the standard meters, nulls with reasons.

The report is built from two analyses, each one pass over the samples: `loudness_stats` (loudness,
LRA, peaks, crest, PLR) and the mono Welch `Spectrum` (centroid, tonal balance). `analyze_audio`
computes them from samples in memory; harness/streaming_analysis.py computes the same two from a
file's blocks, and both hand them to `report_from_analyses`, so the two reports cannot drift apart.
"""

from __future__ import annotations

from typing import Any

from harness.audio import Audio
from harness.metrics import LoudnessStats, Unmeasurable, get_metric, loudness_stats, mono_power_spectrum
from harness.metrics.spectral import Spectrum

# Report field -> LoudnessStats field (one fused pass gives all of these).
LOUDNESS_FIELDS = {
    "integrated_lufs": "integrated_lufs",
    "loudness_range_lu": "loudness_range_lu",
    "true_peak_dbtp": "true_peak_dbtp",
    "sample_peak_dbfs": "sample_peak_dbfs",
    "crest_factor_db": "crest_factor_db",
    "plr_db": "plr_db",
}


def analyze_audio(audio: Audio) -> dict[str, Any]:
    """One JSON-ready object: file facts, each meter's value (None where unmeasurable) and why."""
    x, sr = audio.samples, audio.sample_rate
    try:
        spectrum: Spectrum | Unmeasurable = mono_power_spectrum(x, sr)
    except Unmeasurable as exc:
        spectrum = exc
    return report_from_analyses(
        path=audio.path, sample_rate=sr, channels=audio.channels, frames=x.shape[1],
        stats=loudness_stats(x, sr), spectrum=spectrum,
    )


def report_from_analyses(
    *, path: str | None, sample_rate: int, channels: int, frames: int, stats: LoudnessStats,
    spectrum: Spectrum | Unmeasurable,
) -> dict[str, Any]:
    """The report for a clip whose loudness stats and mono spectrum (or why it has none) are known."""
    report: dict[str, Any] = {
        "file": path,
        "sample_rate": sample_rate,
        "channels": channels,
        "duration_s": round(frames / sample_rate, 6),
    }
    unmeasurable: dict[str, str] = {}
    for field, stat in LOUDNESS_FIELDS.items():
        report[field] = getattr(stats, stat)
        if report[field] is None:
            unmeasurable[field] = stats.unmeasurable[stat]
    centroid, reason = _from_spectrum("spectral_centroid_hz", spectrum)
    report["spectral_centroid_hz"] = centroid
    if reason is not None:
        unmeasurable["spectral_centroid_hz"] = reason
    bands, reason = _from_spectrum("tonal_balance_db", spectrum)
    report["tonal_balance_db"] = None if bands is None else [
        {"centre_hz": float(f), "level_db": float(v)} for f, v in zip(bands.centres_hz, bands.levels_db)
    ]
    if reason is not None:
        unmeasurable["tonal_balance_db"] = reason
    report["unmeasurable"] = unmeasurable
    return report


def _from_spectrum(name: str, spectrum: Spectrum | Unmeasurable) -> tuple[Any, str | None]:
    """(value, None) or (None, reason). The registry's extractor is the meter minus its spectrum pass:
    spectral_centroid_hz(x, sr) == from_shared(mono_power_spectrum(x, sr)), likewise tonal_balance_db."""
    if isinstance(spectrum, Unmeasurable):
        return None, spectrum.reason
    try:
        return get_metric(name).from_shared(spectrum), None
    except Unmeasurable as exc:
        return None, exc.reason

"""What `dawg-bench analyze` reports about one file: the standard meters, nulls with reasons."""

from __future__ import annotations

from typing import Any

from harness.audio import Audio
from harness.metrics import Unmeasurable, loudness_stats, spectral_centroid_hz, tonal_balance_db

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
    report: dict[str, Any] = {
        "file": audio.path,
        "sample_rate": sr,
        "channels": audio.channels,
        "duration_s": round(audio.duration_s, 6),
    }
    unmeasurable: dict[str, str] = {}
    stats = loudness_stats(x, sr)
    for field, stat in LOUDNESS_FIELDS.items():
        report[field] = getattr(stats, stat)
        if report[field] is None:
            unmeasurable[field] = stats.unmeasurable[stat]
    try:
        report["spectral_centroid_hz"] = spectral_centroid_hz(x, sr)
    except Unmeasurable as exc:
        report["spectral_centroid_hz"] = None
        unmeasurable["spectral_centroid_hz"] = exc.reason
    try:
        bands = tonal_balance_db(x, sr)
        report["tonal_balance_db"] = [
            {"centre_hz": float(f), "level_db": float(v)} for f, v in zip(bands.centres_hz, bands.levels_db)
        ]
    except Unmeasurable as exc:
        report["tonal_balance_db"] = None
        unmeasurable["tonal_balance_db"] = exc.reason
    report["unmeasurable"] = unmeasurable
    return report

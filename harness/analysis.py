"""What `dawg-bench analyze` reports about one file: the standard meters, nulls with reasons."""

from __future__ import annotations

from typing import Any

from harness.audio import Audio
from harness.metrics import measure, tonal_balance_db
from harness.metrics.registry import Unmeasurable

# Report field -> registered meter. The report names follow the JSON contract.
SCALAR_FIELDS = {
    "lufs_integrated": "integrated_loudness_lufs",
    "loudness_range_lu": "loudness_range_lu",
    "true_peak_dbtp": "true_peak_dbtp",
    "sample_peak_dbfs": "sample_peak_dbfs",
    "crest_factor_db": "crest_factor_db",
    "plr_db": "plr_db",
    "spectral_centroid_hz": "spectral_centroid_hz",
}


def analyze_audio(audio: Audio) -> dict[str, Any]:
    """One JSON-ready object: file facts, each meter's value (None where unmeasurable) and why."""
    report: dict[str, Any] = {
        "file": audio.path,
        "sample_rate": audio.sample_rate,
        "channels": audio.channels,
        "duration_s": round(audio.duration_s, 6),
    }
    unmeasurable: dict[str, str] = {}
    for field, meter in SCALAR_FIELDS.items():
        m = measure(meter, audio.samples, audio.sample_rate)
        report[field] = m.value
        if m.value is None:
            unmeasurable[field] = m.reason
    try:
        bands = tonal_balance_db(audio.samples, audio.sample_rate)
        report["tonal_balance_db"] = [
            {"centre_hz": float(f), "level_db": float(v)} for f, v in zip(bands.centres_hz, bands.levels_db)
        ]
    except Unmeasurable as exc:
        report["tonal_balance_db"] = None
        unmeasurable["tonal_balance_db"] = str(exc)
    report["unmeasurable"] = unmeasurable
    return report

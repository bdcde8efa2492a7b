"""Which precision of a release ships on a hardware target: measured latency at equal quality.

INT8 ships on a target only where it was MEASURED faster than FP32 there (controller p50, one
thread or a GPU, valid rows). Dynamic quantization made conv nets ~3× slower on CPU and QDQ INT8
ran 2× slower than FP32 on an H200 through the CUDA provider, so "INT8 exists" is not a reason to
ship it. Quality is the gate's INT8-parity bar, judged on the precision chosen here.
"""

from __future__ import annotations

from harness.models import Release

QUALITY_TARGET = "cpu"  # browser-first: the precision scored by the quality bars is the CPU's choice


def _p50(latencies: list[dict], model: str, hardware: str, precision: str) -> float | None:
    from harness.latency.targets import hardware_matches

    rows = [r for r in latencies if r["model"] == model and hardware_matches(r["hardware"], hardware)
            and r["precision"] == precision
            and r["scope"] == "controller" and r["source"] == "measured" and r["threads"] in (None, 1)
            and r["valid"] and r.get("p50_ms") is not None]
    return rows[-1]["p50_ms"] if rows else None


def ship_precision(release: Release, hardware: str, latencies: list[dict]) -> tuple[str, str]:
    """(precision, why) for this release on this hardware target."""
    if "int8" not in release.files:
        return "fp32", "no INT8 model"
    if "fp32" not in release.files:
        return "int8", "no FP32 model"
    q, f = _p50(latencies, release.name, hardware, "int8"), _p50(latencies, release.name, hardware, "fp32")
    if q is None or f is None:
        return "fp32", f"INT8 not measured beside FP32 on {hardware}"
    if q < f:
        return "int8", f"INT8 measured faster on {hardware} ({q:.3f} vs {f:.3f} ms p50)"
    return "fp32", f"INT8 not faster on {hardware} ({q:.3f} vs {f:.3f} ms p50)"


__all__ = ["ship_precision", "QUALITY_TARGET"]

"""Summary statistics the scorecards and gates rely on: percentiles and bootstrap confidence intervals.

Percentiles use the nearest-rank definition on sorted samples (MLPerf LoadGen reports latency
that way: p99 is a latency that 99 % of queries did not exceed). Confidence intervals are the
percentile bootstrap with a fixed seed, so the same data always gives the same interval.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import numpy as np

BOOTSTRAP_RESAMPLES = 2000
BOOTSTRAP_SEED = 20261125


def percentile_nearest_rank(values: Sequence[float], q: float) -> float:
    """The smallest value with at least q % of the samples at or below it (q in (0, 100])."""
    x = np.sort(np.asarray(values, dtype=np.float64))
    if x.size == 0:
        raise ValueError("percentile of no samples")
    if not 0 < q <= 100:
        raise ValueError(f"q must be in (0, 100], got {q}")
    rank = max(1, math.ceil(q / 100 * x.size))
    return float(x[rank - 1])


def bootstrap_ci(
    values: Sequence[float],
    statistic: Callable[[np.ndarray], np.ndarray] = np.median,
    *,
    confidence: float = 0.95,
    resamples: int = BOOTSTRAP_RESAMPLES,
    seed: int = BOOTSTRAP_SEED,
) -> tuple[float, float]:
    """Percentile-bootstrap CI of `statistic` (vectorised over axis=-1). One value: a zero-width interval."""
    x = np.asarray(values, dtype=np.float64)
    if x.size == 0:
        raise ValueError("confidence interval of no samples")
    if x.size == 1:
        return float(x[0]), float(x[0])
    rng = np.random.default_rng(seed)
    idx = rng.integers(0, x.size, size=(resamples, x.size))
    stats = statistic(x[idx], axis=-1)
    alpha = (1 - confidence) / 2
    lo, hi = np.quantile(stats, [alpha, 1 - alpha])
    return float(lo), float(hi)


@dataclass(frozen=True)
class Summary:
    mean: float
    median: float
    ci95: tuple[float, float]  # of the median
    n: int

    def to_json(self) -> dict:
        return {"mean": self.mean, "median": self.median, "ci95": list(self.ci95), "n": self.n}


def summarise(values: Sequence[float]) -> Summary:
    x = np.asarray([v for v in values if v is not None and math.isfinite(v)], dtype=np.float64)
    if x.size == 0:
        raise ValueError("no finite values to summarise")
    return Summary(float(np.mean(x)), float(np.median(x)), bootstrap_ci(x), int(x.size))


def paired_difference_ci(a: Sequence[float], b: Sequence[float]) -> tuple[float, tuple[float, float]]:
    """Median of (a − b) over paired samples and its bootstrap 95 % CI."""
    d = np.asarray(a, dtype=np.float64) - np.asarray(b, dtype=np.float64)
    return float(np.median(d)), bootstrap_ci(d)

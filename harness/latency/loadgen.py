"""A load generator in the MLPerf LoadGen manner: the system under test (SUT) is a callable that
handles one query (or a batch); the load generator knows nothing else about it.

Single stream: queries are issued one after another, each waiting for the previous to finish;
latency percentiles use the nearest-rank definition. A percentile is reported only when the run has
the samples to back it — the early-stopping bound MLPerf LoadGen uses: with N queries, the k-th
smallest latency bounds the true p-quantile from above at confidence c when
P(Binomial(N, p) >= k) <= 1 - c, and such a k exists only if p^N <= 1 - c. At c = 99 % that asks
p50 >= 7, p90 >= 44, p95 >= 90 and p99 >= 459 queries (`min_queries_for`). Fewer: the percentile
is None, never a number from too few samples. A result is VALID only when, after the warm-up, at
least `min_query_count` queries AND `min_duration_s` seconds were observed within `max_duration_s`,
and every percentile in `required_percentiles` could be reported; otherwise INVALID with the
reason. Offline: batches back to back, throughput.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable
from dataclasses import dataclass

import scipy.stats

from harness.stats import percentile_nearest_rank

EARLY_STOPPING_CONFIDENCE = 0.99
PERCENTILES = (50, 90, 95, 99)


def min_queries_for(percentile: float, confidence: float = EARLY_STOPPING_CONFIDENCE) -> int:
    """Fewest queries for which the early-stopping bound of `percentile` exists: p^N <= 1 - c."""
    p = percentile / 100.0
    return math.ceil(math.log(1.0 - confidence) / math.log(p))


def early_stopping_bound(latencies: list[float], percentile: float,
                         confidence: float = EARLY_STOPPING_CONFIDENCE) -> float | None:
    """The smallest order statistic that bounds the true percentile from above at `confidence`
    (None when there are too few samples): k = min{k : P(Binomial(N, p) >= k) <= 1 - c}."""
    x = sorted(latencies)
    n, p = len(x), percentile / 100.0
    if n < min_queries_for(percentile, confidence):
        return None
    k = int(scipy.stats.binom.ppf(confidence, n, p)) + 1  # smallest k with P(X <= k - 1) >= c
    return float(x[min(k, n) - 1])


@dataclass(frozen=True)
class Settings:
    warmup_queries: int = 10
    min_query_count: int = 500  # p99 needs 459 (early-stopping bound at 99 %)
    min_duration_s: float = 1.0
    max_duration_s: float = 10.0
    offline_batch: int = 64
    required_percentiles: tuple[int, ...] = PERCENTILES  # INVALID unless each of these can be reported


@dataclass(frozen=True)
class SingleStream:
    """Nearest-rank percentiles (None where the run is too short to back them), the early-stopping
    upper bound of p99 where it exists, validity and the reason."""

    queries: int
    duration_s: float
    p50_ms: float | None
    p90_ms: float | None
    p95_ms: float | None
    p99_ms: float | None
    mean_ms: float
    valid: bool
    reason: str
    p99_bound_ms: float | None = None
    rule: str = (f"percentile reported only with enough queries for its early-stopping bound at "
                 f"{EARLY_STOPPING_CONFIDENCE:.0%} confidence: " +
                 ", ".join(f"p{q} >= {min_queries_for(q)}" for q in PERCENTILES))


@dataclass(frozen=True)
class Offline:
    queries: int
    duration_s: float
    throughput_qps: float


def run_single_stream(sut: Callable[[int], object], settings: Settings = Settings(),
                      clock: Callable[[], int] = time.perf_counter_ns) -> SingleStream:
    for i in range(settings.warmup_queries):
        sut(i)
    latencies_ns: list[int] = []
    start = clock()
    max_ns = int(settings.max_duration_s * 1e9)
    min_ns = int(settings.min_duration_s * 1e9)
    i = 0
    while True:
        t0 = clock()
        sut(i)
        t1 = clock()
        latencies_ns.append(t1 - t0)
        i += 1
        elapsed = t1 - start
        if (len(latencies_ns) >= settings.min_query_count and elapsed >= min_ns) or elapsed >= max_ns:
            break
    elapsed_s = (clock() - start) / 1e9
    return single_stream_result([x / 1e6 for x in latencies_ns], elapsed_s, settings)


def single_stream_result(ms: list[float], elapsed_s: float, settings: Settings) -> SingleStream:
    """The rules applied to a finished single-stream run: `ms` are its latencies after the warm-up,
    `elapsed_s` its duration. Shared by every target, including those whose queries were timed
    elsewhere (the browser's Web Worker runs this module's loop itself and hands back its latencies)."""
    problems = []
    if len(ms) < settings.min_query_count:
        problems.append(f"only {len(ms)} queries in {settings.max_duration_s:g} s (minimum {settings.min_query_count})")
    if elapsed_s < settings.min_duration_s:
        problems.append(f"ran {elapsed_s:.2f} s (minimum {settings.min_duration_s:g} s)")
    pct = {q: percentile_nearest_rank(ms, q) if len(ms) >= min_queries_for(q) else None for q in PERCENTILES}
    missing = [q for q in settings.required_percentiles if pct[q] is None]
    if missing:
        problems.append(", ".join(f"p{q} needs {min_queries_for(q)} queries" for q in missing) +
                        f" (early-stopping bound at {EARLY_STOPPING_CONFIDENCE:.0%}); got {len(ms)}")
    unreported = [q for q in PERCENTILES if pct[q] is None and q not in missing]
    note = f"; p{', p'.join(map(str, unreported))} not reported (too few queries)" if unreported else ""
    return SingleStream(
        queries=len(ms), duration_s=elapsed_s,
        p50_ms=pct[50], p90_ms=pct[90], p95_ms=pct[95], p99_ms=pct[99],
        mean_ms=sum(ms) / len(ms), valid=not problems,
        reason="; ".join(problems) if problems else f"{len(ms)} queries over {elapsed_s:.2f} s{note}",
        p99_bound_ms=early_stopping_bound(ms, 99),
    )


def run_offline(sut_batch: Callable[[int], object], settings: Settings = Settings(),
                clock: Callable[[], int] = time.perf_counter_ns) -> Offline:
    sut_batch(settings.offline_batch)  # warm-up
    done = 0
    start = clock()
    while True:
        sut_batch(settings.offline_batch)
        done += settings.offline_batch
        elapsed = (clock() - start) / 1e9
        if elapsed >= settings.min_duration_s or elapsed >= settings.max_duration_s:
            break
    return Offline(queries=done, duration_s=elapsed, throughput_qps=done / elapsed)

"""A load generator in the MLPerf LoadGen manner: the system under test (SUT) is a callable that
handles one query (or a batch); the load generator knows nothing else about it.

Single stream: queries are issued one after another, each waiting for the previous to finish;
latency percentiles use the nearest-rank definition. A result is VALID only when, after the
warm-up, at least `min_query_count` queries AND `min_duration_s` seconds were observed within
`max_duration_s`; otherwise INVALID with the reason. Offline: batches back to back, throughput.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass

from harness.stats import percentile_nearest_rank


@dataclass(frozen=True)
class Settings:
    warmup_queries: int = 10
    min_query_count: int = 100
    min_duration_s: float = 1.0
    max_duration_s: float = 10.0
    offline_batch: int = 64


@dataclass(frozen=True)
class SingleStream:
    queries: int
    duration_s: float
    p50_ms: float
    p90_ms: float
    p95_ms: float
    p99_ms: float
    mean_ms: float
    valid: bool
    reason: str


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
    ms = [x / 1e6 for x in latencies_ns]
    problems = []
    if len(ms) < settings.min_query_count:
        problems.append(f"only {len(ms)} queries in {settings.max_duration_s:g} s (minimum {settings.min_query_count})")
    if elapsed_s < settings.min_duration_s:
        problems.append(f"ran {elapsed_s:.2f} s (minimum {settings.min_duration_s:g} s)")
    return SingleStream(
        queries=len(ms), duration_s=elapsed_s,
        p50_ms=percentile_nearest_rank(ms, 50), p90_ms=percentile_nearest_rank(ms, 90),
        p95_ms=percentile_nearest_rank(ms, 95), p99_ms=percentile_nearest_rank(ms, 99),
        mean_ms=sum(ms) / len(ms), valid=not problems,
        reason="; ".join(problems) if problems else f"{len(ms)} queries over {elapsed_s:.2f} s",
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

// Single-stream load generator, run inside the Web Worker: harness/latency/loadgen.py's loop (warm-up,
// then queries one after another until the minimum count AND duration are met, or the maximum
// duration passes), timed with performance.now(). It knows nothing of what a query does. It only
// collects latencies: Python applies the same percentile and validity rules as on every target.
export async function singleStream(sut, settings) {
  for (let i = 0; i < settings.warmup_queries; i++) await sut(i);
  const minMs = settings.min_duration_s * 1000;
  const maxMs = settings.max_duration_s * 1000;
  const latencies = [];
  const start = performance.now();
  for (let i = 0; ; i++) {
    const t0 = performance.now();
    await sut(i);
    const t1 = performance.now();
    latencies.push(t1 - t0);
    const elapsed = t1 - start;
    if ((latencies.length >= settings.min_query_count && elapsed >= minMs) || elapsed >= maxMs) break;
  }
  return { latencies_ms: latencies, duration_s: (performance.now() - start) / 1000 };
}

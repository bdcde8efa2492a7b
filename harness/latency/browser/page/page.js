// The page's side of one measurement: start a fresh Web Worker, time its cold start from the
// worker's creation to its first inference (what a user waits for on first use), collect its
// latencies and outputs, and read memory while the worker is still alive. Called by Python
// through Playwright as `window.measureInWorker(job)`.

const MEMORY_WAIT_MS = 3000;

async function memoryBytes() {
  // Needs cross-origin isolation. Chromium reports the page and its workers, WASM memories included;
  // WASM memory never shrinks, so after the run it holds the run's peak WASM use.
  if (!self.crossOriginIsolated || !performance.measureUserAgentSpecificMemory) {
    return { bytes: null, how: "not reported: performance.measureUserAgentSpecificMemory is unavailable here" };
  }
  // Never let a late answer stall the run.
  const late = new Promise((resolve) => setTimeout(() => resolve(null), MEMORY_WAIT_MS));
  const m = await Promise.race([performance.measureUserAgentSpecificMemory(), late]);
  if (m === null) {
    return { bytes: null, how: `not reported: measureUserAgentSpecificMemory gave no answer within ${MEMORY_WAIT_MS / 1000} s` };
  }
  return { bytes: m.bytes, how: "performance.measureUserAgentSpecificMemory() after the run: page + worker, JS heaps and WASM memory" };
}

window.measureInWorker = (job) => new Promise((resolve) => {
  const created = performance.now();
  const worker = new Worker("./worker.js", { type: "module" });
  let cold = null;
  const finish = async (result) => {
    clearTimeout(timer);
    if (result.phase === "done" && job.threads > 1) {
      // The runtime's idle pool threads sit in Atomics.wait, and Chromium's answer waits for them
      // (about 60 s here): no figure rather than a stalled run.
      result.memory = { bytes: null, how: "not reported: with WASM threads Chromium's memory measurement waits for the idle thread pool" };
    } else if (result.phase === "done") {
      try {
        result.memory = await memoryBytes();
      } catch (e) {
        result.memory = { bytes: null, how: `not reported: ${String((e && e.message) || e)}` };
      }
    }
    worker.terminate();
    resolve({ ...result, cold, page_isolated: self.crossOriginIsolated });
  };
  const timer = setTimeout(() => finish({ phase: "error", error: `no answer within ${job.timeout_s} s` }), job.timeout_s * 1000);
  worker.onmessage = ({ data }) => {
    if (data.phase === "cold") cold = { ...data, cold_start_ms: performance.now() - created };
    else finish(data);
  };
  worker.onerror = (e) => finish({ phase: "error", error: `worker: ${e.message || "failed to start"}` });
  worker.postMessage(job);
});

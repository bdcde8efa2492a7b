// One measurement in a dedicated Web Worker, where DAWG would run its models: load the ONNX file with
// ONNX Runtime Web's WASM backend, run it once (the end of the cold start), time single-stream
// queries, then run the parity inputs. Messages to the page: {phase: "cold"}, then {phase: "done"}
// or {phase: "error"}. Imported lazily so that the cold start includes loading the runtime itself.
import { singleStream } from "./loadgen.js";

self.onmessage = async ({ data: job }) => {
  try {
    await measure(job);
  } catch (e) {
    self.postMessage({ phase: "error", error: String((e && e.message) || e) });
  }
};

function tensor(ort, values) {
  return new ort.Tensor("float32", Float32Array.from(values), [1, values.length]);
}

async function measure(job) {
  if (job.threads > 1 && !self.crossOriginIsolated) {
    // The runtime would silently use one thread: refuse rather than label a 1-thread figure as N.
    throw new Error(`${job.threads} WASM threads need cross-origin isolation (SharedArrayBuffer); this worker is not isolated`);
  }
  const t0 = performance.now();
  const ort = await import(job.runtime_url);
  ort.env.logLevel = "error";
  ort.env.wasm.wasmPaths = job.wasm_prefix;
  ort.env.wasm.numThreads = job.threads;
  ort.env.wasm.proxy = false; // already off the main thread
  const t1 = performance.now();
  const response = await fetch(job.model_url, { cache: "no-store" });
  if (!response.ok) throw new Error(`model fetch: HTTP ${response.status}`);
  const modelBytes = new Uint8Array(await response.arrayBuffer());
  const t2 = performance.now();
  const session = await ort.InferenceSession.create(modelBytes, { executionProviders: ["wasm"] });
  const t3 = performance.now();
  const input = session.inputNames[0];
  const output = session.outputNames[0];
  const query = { [input]: tensor(ort, job.inputs[0]) };
  await session.run(query);
  const t4 = performance.now();
  self.postMessage({
    phase: "cold",
    runtime_import_ms: t1 - t0, model_fetch_ms: t2 - t1, session_create_ms: t3 - t2, first_run_ms: t4 - t3,
  });

  const timing = await singleStream(() => session.run(query), job.settings);

  const outputs = [];
  for (const values of job.inputs) {
    const result = await session.run({ [input]: tensor(ort, values) });
    outputs.push(Array.from(result[output].data));
  }
  await session.release();
  self.postMessage({
    phase: "done", ...timing, outputs,
    isolated: self.crossOriginIsolated, hardware_concurrency: navigator.hardwareConcurrency,
    runtime_version: ort.env.versions.web,
  });
}

"""The browser target's latency rows: every release × precision × WASM thread count, measured in
headless Chromium, labelled `measured` with hardware `browser:chromium-<version>`.

Each row carries single-stream percentiles under the same rules as every target (loadgen's
`single_stream_result`), and in its `browser` field: cold start, model and runtime wire bytes,
parity against native onnxruntime, memory where Chromium reports it, backend and runtime version.
The same figures are kept in `assumptions`, the column the results store keeps for a row's context.

What cannot run gives INVALID rows that say why, never figures: no Chromium, no onnxruntime-web
assets, a browser that will not start, a model the runtime cannot load, outputs that disagree with
native onnxruntime beyond the tolerance, or threads without cross-origin isolation.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np

from harness.controller_inputs import query_features
from harness.errors import UserError
from harness.latency.browser import parity
from harness.latency.browser.assets import Assets, AssetsMissing, chromium_executable, chromium_version, locate
from harness.latency.browser.runner import BrowserFailed, BrowserRunner, WorkerResult, open_browser
from harness.latency.browser.wire_bytes import sizes
from harness.latency.loadgen import Settings, single_stream_result
from harness.latency.measure import latency_row, sample_query
from harness.models import Release
from harness.onnx_session import model_load_errors

BACKEND = "wasm"
SCOPE = ("controller only: the ONNX model on controller inputs computed in Python (harness/controller_inputs.py); "
         "the feature extraction is not ported to the page, so the in-browser end-to-end path is not measured")
COLD_START = ("cold start = Web Worker creation → onnxruntime-web import → WASM fetch and compile → model fetch → "
              "session creation → first inference, served from 127.0.0.1 with caching off: it has no network "
              "transfer time (add wire bytes / bandwidth for a CDN)")
CLOCK = "performance.now() in the Web Worker; Chromium rounds it to 5 µs steps when cross-origin isolated"
NO_CHROMIUM = "Chromium not found on PATH (Debian: apt-get install chromium; scripts/install-system-deps.sh)"

Progress = Callable[..., None]


def measure_in_browser(releases: list[Release], *, settings: Settings = Settings(), clip_seconds: float = 10.0,
                       thread_counts: tuple[int, ...] | None = None, precisions: tuple[str, ...] | None = None,
                       assets_folder: Path | None = None, progress: Progress | None = None) -> list[dict]:
    thread_counts = thread_counts or tuple(sorted({1, os.cpu_count() or 1}))
    jobs = [(release, precision, threads) for release in releases
            for precision in (precisions or release.precisions) if precision in release.files
            for threads in thread_counts]
    executable = chromium_executable()
    if executable is None:
        return [_invalid(r, p, t, "browser", NO_CHROMIUM, clip_seconds) for r, p, t in jobs]
    label = f"browser:chromium-{chromium_version(executable) or 'unknown'}"
    try:
        assets = locate(assets_folder)
    except AssetsMissing as exc:
        return [_invalid(r, p, t, label, str(exc), clip_seconds) for r, p, t in jobs]
    rows: list[dict] = []
    try:
        with open_browser(executable, assets) as runner:
            label = f"browser:chromium-{runner.version}"
            for release in releases:
                for row in _measure_release(runner, assets, label, release, [j for j in jobs if j[0] is release],
                                            settings, clip_seconds):
                    rows.append(row)
                    if progress:
                        progress(len(rows), len(jobs), f"{release.name} {row['precision']} {row['threads']} thr")
    except BrowserFailed as exc:
        done = {(r["model"], r["precision"], r["threads"]) for r in rows}
        rows += [_invalid(r, p, t, label, str(exc), clip_seconds) for r, p, t in jobs
                 if (r.name, p, t) not in done]
    if progress:
        progress(len(jobs), len(jobs))
    return rows


def _measure_release(runner: BrowserRunner, assets: Assets, label: str, release: Release, jobs: list[tuple],
                     settings: Settings, clip_seconds: float) -> Iterator[dict]:
    inputs = parity.parity_inputs(query_features(sample_query(release.task, clip_seconds)))
    for _, precision, threads in jobs:
        try:
            model = release.path(precision)
            model_bytes = model.read_bytes()
        except (UserError, OSError) as exc:  # a broken release: its rows say so, the others are measured
            yield _invalid(release, precision, threads, label, f"cannot read the model: {exc}", clip_seconds)
            continue
        try:
            native = parity.native_outputs(model, inputs)
        except model_load_errors() as exc:  # the browser is still asked: its own error is the row's reason
            native = f"native onnxruntime cannot run it either ({type(exc).__name__})"
        try:
            result = runner.run(model, inputs.tolist(), settings, threads)
        except BrowserFailed as exc:
            yield _invalid(release, precision, threads, label, str(exc), clip_seconds)
            continue
        yield _row(release, precision, threads, label, assets, result, native, settings, clip_seconds, model_bytes)


def _row(release: Release, precision: str, threads: int, label: str, assets: Assets, result: WorkerResult,
         native: np.ndarray | str, settings: Settings, clip_seconds: float, model_bytes: bytes) -> dict:
    figures = {"backend": BACKEND, "runtime": f"onnxruntime-web {assets.version}", "threads": threads,
               "cross_origin_isolated": result.isolated, "model_bytes": sizes(model_bytes),
               "runtime_bytes": assets.runtime_bytes}
    if result.error is not None:
        return _invalid(release, precision, threads, label,
                        # its message spans lines and names its build paths: one line for the table
                        f"onnxruntime-web could not load or run the model: {' '.join(result.error.split())}",
                        clip_seconds, figures)
    cold = result.cold or {}
    check = (parity.compare(result.outputs, native) if isinstance(native, np.ndarray)
             else parity.Parity(None, len(result.outputs), False, f"parity: not checked, {native}"))
    memory = result.memory or {"bytes": None, "how": "not reported"}
    figures.update(cold_start_ms=cold.get("cold_start_ms"),
                   cold_start_parts={k: v for k, v in cold.items() if k.endswith("_ms") and k != "cold_start_ms"},
                   parity_max_abs_diff=check.max_abs_diff, parity_tolerance=parity.TOLERANCE,
                   parity_inputs=check.inputs, parity_ok=check.ok,
                   memory_bytes=memory.get("bytes"), memory_how=memory.get("how"))
    stream = single_stream_result(result.latencies_ms, result.duration_s, settings)
    # Chromium's clock moves in 5 µs steps, so a µs-sized model's percentiles are coarse; the mean is
    # not, but it also carries the rare long queries (p99 runs at 3-7x p50 here). Both are kept.
    figures["mean_ms"] = stream.mean_ms
    problems = [] if stream.valid else [stream.reason]
    if not check.ok:
        problems.append(check.detail)  # a fast answer that differs from native is not the model being timed
    p = {"p50_ms": stream.p50_ms, "p90_ms": stream.p90_ms, "p95_ms": stream.p95_ms, "p99_ms": stream.p99_ms,
         "p99_bound_ms": stream.p99_bound_ms, "queries": stream.queries, "rule": stream.rule, "valid": not problems,
         "reason": "; ".join(problems) if problems else f"{stream.reason}; {check.detail}"}
    return latency_row(release, precision, label, "measured", "controller", threads, p, clip_seconds,
                       provider=f"onnxruntime-web {BACKEND}", browser=figures,
                       assumptions={"scope": SCOPE, "cold_start": COLD_START, "clock": CLOCK, "browser": figures})


def _invalid(release: Release, precision: str, threads: int, label: str, reason: str, clip_seconds: float,
             figures: dict | None = None) -> dict:
    """A row that says why nothing was timed: no latency figures (the model's bytes, where known)."""
    return latency_row(release, precision, label, "measured", "controller", threads, {"valid": False, "reason": reason},
                       clip_seconds, provider=f"onnxruntime-web {BACKEND}", browser=figures or {},
                       assumptions={"scope": SCOPE, "browser": figures or {}})


__all__ = ["measure_in_browser", "SCOPE"]

"""Latency of model releases per hardware target, precision, scope and thread count.

`controller` scope: the ONNX controller alone, on features of a real clip. `end_to_end` scope:
features + controller + rendering the task's processor over a clip of `clip_seconds`. Targets whose
providers exist here are MEASURED (a CUDA GPU counts for t4/a10g only when its name matches; any
other CUDA GPU is measured under its own name); every other target is PROJECTED by the device model
in projection.py, with its assumptions attached. The CPU is also projected, to check the method.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import replace
from pathlib import Path

import numpy as np

from harness.candidates.onnx_model import OnnxController
from harness.controller_inputs import query_features
from harness.environment import fingerprint, gpu_name
from harness.latency.loadgen import Settings, min_queries_for, run_offline, run_single_stream
from harness.latency.projection import project
from harness.latency.targets import HardwareTarget
from harness.loudness_target import LoudnessTarget
from harness.models import Release
from harness.onnx_session import available_providers, make_session
from harness.tasks import get_task
from harness.tasks.base import Query


def sample_query(task: str, clip_seconds: float, sr: int = 48_000) -> Query:
    """A realistic query: generated music, with a reference and a loudness target where the task
    takes them (its heaviest variant: a task whose reference is optional is timed with one)."""
    from harness.corpus.synth import STYLES, render_arrangement

    spec = get_task(task)
    audio = render_arrangement(7, STYLES["pop"], clip_seconds, sr) * 0.3
    ref = render_arrangement(8, STYLES["pop"], clip_seconds, sr) * 0.3 if spec.takes_reference else None
    target = LoudnessTarget() if spec.loudness_target else None
    return Query(task=task, variant=None, audio=audio, sample_rate=sr, reference=ref,
                 target_lufs=target.lufs if target else None, ceiling_dbtp=target.ceiling_dbtp if target else None)


def latency_row(release: Release, precision: str, hardware: str, source: str, scope: str, threads: int | None,
                p: dict, clip_seconds: float, **extra) -> dict:
    """One latency row. Measured rows carry percentiles (None where too few queries back them);
    projected rows carry one figure, `projected_ms`, with its band, and no percentiles."""
    typical = p.get("p50_ms") if source == "measured" else p.get("projected_ms")
    return {"model": release.name, "task": release.task, "precision": precision, "hardware": hardware,
            "source": source, "scope": scope, "threads": threads, "clip_seconds": clip_seconds,
            "p50_ms": p.get("p50_ms"), "p90_ms": p.get("p90_ms"), "p95_ms": p.get("p95_ms"), "p99_ms": p.get("p99_ms"),
            "p99_bound_ms": p.get("p99_bound_ms"), "queries": p.get("queries"),
            "projected_ms": p.get("projected_ms"), "projected_low_ms": p.get("projected_low_ms"),
            "projected_high_ms": p.get("projected_high_ms"),
            "rtf": typical / 1000.0 / clip_seconds if typical is not None else None,
            "throughput_qps": p.get("throughput_qps"), "valid": p.get("valid", True), "reason": p.get("reason", ""),
            "rule": p.get("rule", ""), "fixture": release.fixture, **extra}


def _measured(sut: Callable[[int], object], batch_sut: Callable[[int], object] | None, settings: Settings) -> dict:
    s = run_single_stream(sut, settings)
    out = {"p50_ms": s.p50_ms, "p90_ms": s.p90_ms, "p95_ms": s.p95_ms, "p99_ms": s.p99_ms,
           "p99_bound_ms": s.p99_bound_ms, "valid": s.valid, "reason": s.reason, "queries": s.queries, "rule": s.rule}
    if batch_sut is not None:
        out["throughput_qps"] = run_offline(batch_sut, settings).throughput_qps
    return out


def _projected(ms: float, relative_error: float | None, reason: str, valid: bool = True) -> dict:
    """One projected figure and its band: +-|error| of the method check (projection vs measurement on
    this machine's CPU, same model), or no band when there is no check."""
    spread = 1.0 + abs(relative_error) if relative_error is not None else None
    return {"projected_ms": ms, "projected_low_ms": ms / spread if spread else None,
            "projected_high_ms": ms * spread if spread else None, "reason": reason, "valid": valid,
            "rule": "projected: one figure from the device model; no percentiles"}


def end_to_end_settings(settings: Settings) -> Settings:
    """End-to-end queries cost a clip's features and rendering (tens of ms), so they run enough
    queries for p50/p90/p95 (90 by the early-stopping bound) and report p99 only if they get 459."""
    return replace(settings, warmup_queries=settings.warmup_queries // 5 + 1,
                   min_query_count=min_queries_for(95), required_percentiles=(50, 90, 95))


def measure_release(release: Release, targets: list[HardwareTarget], *, clip_seconds: float = 10.0,
                    settings: Settings = Settings(), thread_counts: tuple[int, ...] | None = None,
                    precisions: tuple[str, ...] | None = None) -> list[dict]:
    thread_counts = thread_counts or tuple(sorted({1, os.cpu_count() or 1}))
    # The browser is measured by harness/latency/browser/ (one Chromium for every release), never projected.
    targets = [t for t in targets if t.kind != "browser"]
    # A projected GPU end-to-end figure needs this machine's measured CPU time for features and DSP,
    # so the CPU is always measured first.
    if not any(t.kind == "cpu" for t in targets):
        from harness.latency.targets import load_targets

        targets = [load_targets()["cpu"], *targets]
    targets = sorted(targets, key=lambda t: t.kind != "cpu")
    precisions = precisions or release.precisions
    query = sample_query(release.task, clip_seconds)
    feats = query_features(query)
    gpu = gpu_name()
    cuda_here = "CUDAExecutionProvider" in available_providers() and gpu is not None
    # A GPU here is measured once: under the target whose name it matches, else under its own name.
    matches_a_target = cuda_here and any(t.kind == "gpu" and t.get("gpu_name_contains", "\0") in gpu for t in targets)
    rows: list[dict] = []
    for precision in precisions:
        path = release.path(precision)
        method_error: float | None = None
        cpu_ctrl: dict | None = None
        cpu_e2e: dict | None = None
        for target in targets:
            if target.kind == "cpu":
                for threads in thread_counts:
                    sess = make_session(path, threads=threads)
                    name = sess.get_inputs()[0].name
                    batch = np.repeat(feats, settings.offline_batch, axis=0)
                    ctrl = _measured(lambda i, sess=sess, name=name: sess.run(None, {name: feats}),
                                     lambda n, sess=sess, name=name, batch=batch: sess.run(None, {name: batch}),
                                     settings)
                    rows.append(latency_row(release, precision, "cpu", "measured", "controller", threads, ctrl,
                                            clip_seconds, provider="CPUExecutionProvider", cpu=fingerprint()["cpu"]))
                    cand = OnnxController(release, precision, threads=threads)
                    e2e = _measured(lambda i, cand=cand: cand.predict(query).render(query), None,
                                    end_to_end_settings(settings))
                    rows.append(latency_row(release, precision, "cpu", "measured", "end_to_end", threads, e2e,
                                            clip_seconds, provider="CPUExecutionProvider", cpu=fingerprint()["cpu"]))
                    if threads == 1 or cpu_ctrl is None:
                        cpu_ctrl, cpu_e2e = ctrl, e2e
                proj = project(path, target, threads=1)
                measured_ms = cpu_ctrl["p50_ms"] if cpu_ctrl else None
                check_valid = bool(cpu_ctrl and cpu_ctrl["valid"])  # a band from an INVALID measurement is INVALID
                method_error = proj.latency_ms / measured_ms - 1.0 if measured_ms else None
                check = (f"method check: projection error vs measured p50 {method_error:+.0%}"
                         if method_error is not None else "method check: no measured p50")
                rows.append(latency_row(release, precision, "cpu", "projected", "controller", 1,
                                 _projected(proj.latency_ms, method_error, check, valid=check_valid), clip_seconds,
                                 assumptions=proj.assumptions, projection_error=method_error))
            elif cuda_here and target.get("gpu_name_contains", "\0") in gpu:
                rows += _measure_cuda(release, precision, target.name, path, feats, settings, clip_seconds, gpu)
            else:
                proj = project(path, target)
                band = ("band: the CPU method check's error" if check_valid
                        else "INVALID: no method check from a valid CPU measurement")
                rows.append(latency_row(release, precision, target.name, "projected", "controller", None,
                                 _projected(proj.latency_ms, method_error, f"projected: no {target.name} here; {band}",
                                            valid=check_valid),  # unchecked by a valid CPU measurement: INVALID
                                 clip_seconds, assumptions=proj.assumptions))
                # End to end: features and DSP run on the instance's CPU; assume this machine's per-core speed.
                if cpu_e2e and cpu_ctrl and cpu_e2e.get("p50_ms") is not None and cpu_ctrl.get("p50_ms") is not None:
                    host_ms = max(cpu_e2e["p50_ms"] - cpu_ctrl["p50_ms"], 0.0)
                    e = _projected(host_ms + proj.latency_ms, None,
                                   "projected: device model for the controller + measured CPU p50 for features and DSP",
                                   valid=bool(cpu_e2e["valid"] and cpu_ctrl["valid"]))
                    if method_error is not None:  # the band applies to the device-model part only
                        e["projected_low_ms"] = host_ms + proj.latency_ms / (1 + abs(method_error))
                        e["projected_high_ms"] = host_ms + proj.latency_ms * (1 + abs(method_error))
                    rows.append(latency_row(release, precision, target.name, "projected", "end_to_end", None, e,
                                            clip_seconds,
                                            assumptions={**proj.assumptions, "host_ms_from_cpu_measurement": host_ms,
                                                         "host": "features and rendering on the instance CPU "
                                                                 "at this machine's per-core speed"}))
        if cuda_here and not matches_a_target and any(t.kind == "gpu" for t in targets):
            rows += _measure_cuda(release, precision, f"cuda:{gpu}", path, feats, settings, clip_seconds, gpu)
    return rows


def _measure_cuda(release, precision, hardware, path, feats, settings, clip_seconds, gpu) -> list[dict]:
    sess = make_session(path, providers=["CUDAExecutionProvider"])
    name = sess.get_inputs()[0].name
    batch = np.repeat(feats, settings.offline_batch, axis=0)
    ctrl = _measured(lambda i: sess.run(None, {name: feats}), lambda n: sess.run(None, {name: batch}), settings)
    return [latency_row(release, precision, hardware, "measured", "controller", None, ctrl, clip_seconds,
                 provider=sess.get_providers()[0], gpu=gpu)]


def profile_release(release: Release, precision: str, providers: list[str], queries: int = 200) -> dict:
    """ONNX Runtime's per-node profile: top operators by time, and nodes that ran on the CPU
    although a GPU provider was asked for (fallbacks)."""
    feats = query_features(sample_query(release.task, 5.0))
    with tempfile.TemporaryDirectory() as tmp:
        sess = make_session(release.path(precision), providers=providers, profile_prefix=str(Path(tmp) / "ort"))
        name = sess.get_inputs()[0].name
        for _ in range(queries):
            sess.run(None, {name: feats})
        events = json.loads(Path(sess.end_profiling()).read_text())
    by_op: dict[str, float] = defaultdict(float)
    node_provider: dict[str, str] = {}
    for ev in events:
        args = ev.get("args", {})
        if ev.get("cat") == "Node" and "op_name" in args:
            by_op[args["op_name"]] += ev.get("dur", 0) / 1000.0
            node_provider[ev["name"].rsplit("_kernel_time", 1)[0]] = args.get("provider", "")
    total = sum(by_op.values()) or 1.0
    top = sorted(by_op.items(), key=lambda kv: -kv[1])[:10]
    wants_gpu = any(p != "CPUExecutionProvider" for p in providers)
    fallbacks = sorted(n for n, p in node_provider.items() if wants_gpu and p == "CPUExecutionProvider")
    return {"model": release.name, "precision": precision, "providers": sess.get_providers(),
            "queries": queries,
            "top_ops": [{"op": op, "ms_total": ms, "share": ms / total} for op, ms in top],
            "cpu_fallback_nodes": fallbacks}

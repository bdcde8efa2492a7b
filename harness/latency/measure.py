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
from pathlib import Path

import numpy as np

from harness.candidates.onnx_model import OnnxController
from harness.controller_inputs import query_features
from harness.environment import fingerprint, gpu_name
from harness.latency.loadgen import Settings, run_offline, run_single_stream
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


def _row(release: Release, precision: str, hardware: str, source: str, scope: str, threads: int | None,
         p: dict, clip_seconds: float, **extra) -> dict:
    return {"model": release.name, "task": release.task, "precision": precision, "hardware": hardware,
            "source": source, "scope": scope, "threads": threads, "clip_seconds": clip_seconds,
            "p50_ms": p["p50_ms"], "p90_ms": p.get("p90_ms"), "p95_ms": p["p95_ms"], "p99_ms": p["p99_ms"],
            "rtf": p["p50_ms"] / 1000.0 / clip_seconds, "throughput_qps": p.get("throughput_qps"),
            "valid": p.get("valid", True), "reason": p.get("reason", ""), "fixture": release.fixture, **extra}


def _measured(sut: Callable[[int], object], batch_sut: Callable[[int], object] | None, settings: Settings) -> dict:
    s = run_single_stream(sut, settings)
    out = {"p50_ms": s.p50_ms, "p90_ms": s.p90_ms, "p95_ms": s.p95_ms, "p99_ms": s.p99_ms,
           "valid": s.valid, "reason": s.reason, "queries": s.queries}
    if batch_sut is not None:
        out["throughput_qps"] = run_offline(batch_sut, settings).throughput_qps
    return out


def measure_release(release: Release, targets: list[HardwareTarget], *, clip_seconds: float = 10.0,
                    settings: Settings = Settings(), thread_counts: tuple[int, ...] | None = None,
                    precisions: tuple[str, ...] | None = None) -> list[dict]:
    thread_counts = thread_counts or tuple(sorted({1, os.cpu_count() or 1}))
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
    rows: list[dict] = []
    for precision in precisions:
        path = release.path(precision)
        for target in targets:
            cuda_here = "CUDAExecutionProvider" in available_providers() and gpu is not None
            if target.kind == "cpu":
                cpu_rows = {}
                for threads in thread_counts:
                    sess = make_session(path, threads=threads)
                    name = sess.get_inputs()[0].name
                    batch = np.repeat(feats, settings.offline_batch, axis=0)
                    ctrl = _measured(lambda i, sess=sess, name=name: sess.run(None, {name: feats}),
                                     lambda n, sess=sess, name=name, batch=batch: sess.run(None, {name: batch}),
                                     settings)
                    rows.append(_row(release, precision, "cpu", "measured", "controller", threads, ctrl, clip_seconds,
                                     provider="CPUExecutionProvider", cpu=fingerprint()["cpu"]))
                    cpu_rows[threads] = ctrl
                    cand = OnnxController(release, precision, threads=threads)
                    e2e = _measured(lambda i, cand=cand: cand.predict(query).render(query), None,
                                    Settings(settings.warmup_queries // 5 + 1, max(10, settings.min_query_count // 10),
                                             settings.min_duration_s, settings.max_duration_s))
                    rows.append(_row(release, precision, "cpu", "measured", "end_to_end", threads, e2e, clip_seconds,
                                     provider="CPUExecutionProvider", cpu=fingerprint()["cpu"]))
                proj = project(path, target, threads=1)
                measured = cpu_rows.get(1) or next(iter(cpu_rows.values()))
                error = proj.latency_ms / measured["p50_ms"] - 1.0
                rows.append(_row(release, precision, "cpu", "projected", "controller", 1,
                                 {"p50_ms": proj.latency_ms, "p95_ms": proj.latency_ms, "p99_ms": proj.latency_ms,
                                  "reason": f"method check: projection error vs measured p50 {error:+.0%}"},
                                 clip_seconds, assumptions=proj.assumptions, projection_error=error))
            elif cuda_here and (target.get("gpu_name_contains", "\0") in gpu):
                rows += _measure_cuda(release, precision, target.name, path, feats, settings, clip_seconds, gpu)
            else:
                proj = project(path, target)
                p = {"p50_ms": proj.latency_ms, "p95_ms": proj.latency_ms, "p99_ms": proj.latency_ms,
                     "reason": "projected: no " + target.name + " here"}
                rows.append(_row(release, precision, target.name, "projected", "controller", None, p, clip_seconds,
                                 assumptions=proj.assumptions))
                # End to end: features and DSP run on the instance's CPU; assume this machine's per-core speed.
                cpu_e2e = [r for r in rows if r["hardware"] == "cpu" and r["scope"] == "end_to_end"
                           and r["precision"] == precision and r["threads"] == 1 and r["source"] == "measured"]
                cpu_ctrl = [r for r in rows if r["hardware"] == "cpu" and r["scope"] == "controller"
                            and r["precision"] == precision and r["threads"] == 1 and r["source"] == "measured"]
                if cpu_e2e and cpu_ctrl:
                    host_ms = max(cpu_e2e[0]["p50_ms"] - cpu_ctrl[0]["p50_ms"], 0.0)
                    e = {k: host_ms + proj.latency_ms for k in ("p50_ms", "p95_ms", "p99_ms")}
                    e["reason"] = "projected: device model for the controller + measured CPU time for features and DSP"
                    rows.append(_row(release, precision, target.name, "projected", "end_to_end", None, e, clip_seconds,
                                     assumptions={**proj.assumptions, "host_ms_from_cpu_measurement": host_ms,
                                                  "host": "features and rendering on the instance CPU "
                                                          "at this machine's per-core speed"}))
            if cuda_here and target.kind == "gpu" and not any(r["hardware"].startswith("cuda:") for r in rows
                                                              if r["precision"] == precision):
                if target.get("gpu_name_contains", "\0") not in gpu:
                    rows += _measure_cuda(release, precision, f"cuda:{gpu}", path, feats, settings, clip_seconds, gpu)
    return rows


def _measure_cuda(release, precision, hardware, path, feats, settings, clip_seconds, gpu) -> list[dict]:
    sess = make_session(path, providers=["CUDAExecutionProvider"])
    name = sess.get_inputs()[0].name
    batch = np.repeat(feats, settings.offline_batch, axis=0)
    ctrl = _measured(lambda i: sess.run(None, {name: feats}), lambda n: sess.run(None, {name: batch}), settings)
    return [_row(release, precision, hardware, "measured", "controller", None, ctrl, clip_seconds,
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

"""ONNX Runtime sessions with providers detected at run time (onnxruntime or onnxruntime-gpu)."""

from __future__ import annotations

from pathlib import Path


def available_providers() -> list[str]:
    import onnxruntime as ort

    return list(ort.get_available_providers())


def make_session(path: str | Path, *, providers: list[str] | None = None, threads: int | None = None,
                 profile_prefix: str | None = None):
    """A session on the first of `providers` that this onnxruntime build has (CPU is always last)."""
    import onnxruntime as ort

    wanted = providers or ["CPUExecutionProvider"]
    have = available_providers()
    chosen = [p for p in wanted if p in have] or ["CPUExecutionProvider"]
    if "CPUExecutionProvider" not in chosen:
        chosen.append("CPUExecutionProvider")
    opts = ort.SessionOptions()
    opts.log_severity_level = 3
    if threads:
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
    if profile_prefix:
        opts.enable_profiling = True
        opts.profile_file_prefix = profile_prefix
    return ort.InferenceSession(str(path), sess_options=opts, providers=chosen)


def model_load_errors() -> tuple[type[BaseException], ...]:
    """What onnxruntime raises for a model file it cannot load or run (its own Exception subclasses)."""
    from onnxruntime.capi import onnxruntime_pybind11_state as state

    names = ("InvalidProtobuf", "Fail", "InvalidGraph", "NoSuchFile", "InvalidArgument", "RuntimeException",
             "NotImplemented")
    return tuple(getattr(state, n) for n in names if hasattr(state, n))

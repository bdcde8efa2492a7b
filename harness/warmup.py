"""Compile (or load from the on-disk cache) every numba kernel the scoring path calls, once.

A numba kernel is compiled the first time it is called with a new type signature, and the result is
kept in the cache folder (`NUMBA_CACHE_DIR`, set in `harness/__init__.py`). On a fresh machine the
cache is empty: each spawned worker that meets an uncompiled kernel compiles it itself, about 5 s
of CPU per worker. Calling the kernels once in the parent before workers start fills the cache, so
every worker only loads (about 0.3 s). On a warm cache this costs the parent that same load.

The warm-up drives the public renderers and metrics with the types a run uses (stereo float32
audio, float64 inside the meters), so it stays right when a kernel's internals change.
"""

from __future__ import annotations

import time

import numpy as np

WARMUP_SECONDS = 3.5  # longer than every meter's window (the loudness range needs 3 s)


def compile_kernels(sr: int = 48000) -> float:
    """Run the chain, every meter and every distance once on short stereo noise; returns seconds taken."""
    from harness.dsp import MasteringChain
    from harness.metrics import Unmeasurable, list_distances, list_meters, measure
    from harness.metrics.distances import OutputAnalysis, distance_against

    start = time.perf_counter()
    rng = np.random.default_rng(0)
    audio = (0.3 * rng.standard_normal((2, int(WARMUP_SECONDS * sr)))).astype(np.float32)
    output = MasteringChain().render(audio, sr)
    for spec in list_meters():
        measure(spec.name, output, sr)
    analysis = OutputAnalysis(output, sr)
    for spec in list_distances():
        measure(spec.name, output, audio, sr)
        try:
            distance_against(spec.name, audio, sr)(analysis)
        except Unmeasurable:  # noise has everything these meters need; a future one may not
            pass
    return time.perf_counter() - start

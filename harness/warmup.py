"""Compile (or load from the on-disk cache) every numba kernel the scoring path calls, once.

A numba kernel is compiled the first time it is called with a new type signature, and the result is
kept in the cache folder (`NUMBA_CACHE_DIR`, set in `harness/__init__.py`). On a fresh machine the
cache is empty: each spawned worker that meets an uncompiled kernel compiles it itself, about 14 s
of CPU per worker (`compile_kernels` on an empty cache; 6 s of it the MR-STFT's lane FFT). Calling
the kernels once in the parent before workers start fills the cache, so every worker only loads
(about 0.25 s). A stamp per version of the code (`ensure_kernels_cached`)
saves the parent even that load once the cache is known to be full.

The warm-up drives the public renderers and metrics with the types a run uses (stereo float32
audio, float64 inside the meters), so it stays right when a kernel's internals change.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import numpy as np

from harness.paths import home

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


def _stamp() -> Path:
    """A file that says: the kernels of this exact code were compiled into this cache folder. Keyed by the
    harness's sources and the numba and numpy versions, which are what numba's own cache keys on."""
    import numba

    from harness.environment import code_fingerprint

    folder = Path(os.environ.get("NUMBA_CACHE_DIR") or home() / "numba")
    return folder / f"warm-{code_fingerprint()[:16]}-numba{numba.__version__}-numpy{np.__version__}"


def ensure_kernels_cached() -> float | None:
    """`compile_kernels` once per version of the code: a parallel run's parent only fills the cache for its
    workers (it scores nothing itself), so once the stamp says the cache is full the 0.5 s of kernel loads
    it would cost are skipped. Returns the seconds spent, None when skipped. A stamp whose cache was
    deleted costs only speed: each worker then compiles what it meets."""
    stamp = _stamp()
    if stamp.exists():
        return None
    seconds = compile_kernels()
    try:  # an empty file: only its existence is read, so a torn write cannot mislead
        stamp.parent.mkdir(parents=True, exist_ok=True)
        stamp.touch()
    except OSError:  # a read-only cache folder: the next run compiles (loads) again
        pass
    return seconds

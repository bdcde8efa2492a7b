"""Worker processes for corpus building and scoring.

Workers are spawned, not forked: a forked child inherits every lock that some thread of the parent
held at that moment (ONNX Runtime, torch and BLAS thread pools, FluidSynth's glib), and a child
that then loads a soundfont waits forever. A spawned worker starts clean; the price is importing
the harness once per worker (about a second), paid once per pool.
"""

from __future__ import annotations

import multiprocessing
from concurrent.futures import ProcessPoolExecutor


def process_pool(workers: int) -> ProcessPoolExecutor:
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))

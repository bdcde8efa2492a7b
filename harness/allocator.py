"""Keep freed memory for reuse in a process that scores: glibc malloc's mmap and trim thresholds.

Why. By default glibc serves an allocation above its mmap threshold (128 KiB, raised as such blocks are
freed, to at most 32 MiB) with a fresh mapping from the kernel, and gives the top of the heap back to the
kernel once a little of it is free. Scoring allocates and frees arrays of megabytes per example (a 10 s
stereo clip in float64 is 7.7 MiB; STFT blocks, filter states, the limiter's oversampled copies), so it
kept getting fresh pages that the kernel zero-fills on first touch, and a process that had done other
work first (a fit in rounds) did so more often than one that had not. With large blocks served from the
heap and freed memory kept for the next example, on the demo suite (2 vCPU, this repository's machine):

- a process that fits `match` on the mastering training split in two rounds, then scores 40 mastering
  examples: fit 16.5–18.1 s and scoring 19.8–21.2 s before, 14.2–14.7 s and 15.5–15.7 s after;
- a 2-worker run (bypass, rules, match, oracle): 54.0 and 53.7 s before, 48.9 and 51.8 s after, with the
  same peak RSS per worker (1,312–1,315 MiB).

The peak memory is unchanged: what is kept is reused, not added. A process may hold up to
`TRIM_THRESHOLD_BYTES` of freed heap until it exits. Only glibc has these knobs; elsewhere this does
nothing. `run_suite` calls it in the process that scores in-process, `harness.parallel` in every worker.
"""

from __future__ import annotations

import ctypes
import platform
import sys

MMAP_THRESHOLD_BYTES = 256 * 1024 * 1024  # above every array a run allocates: all of them come from the heap
TRIM_THRESHOLD_BYTES = 1024 * 1024 * 1024  # free heap kept for reuse instead of returned to the kernel
_M_TRIM_THRESHOLD = -1  # <malloc.h>
_M_MMAP_THRESHOLD = -3

_applied: bool | None = None


def keep_freed_memory() -> bool:
    """Set this process's malloc thresholds once; True where they are set (Linux with glibc)."""
    global _applied
    if _applied is None:
        _applied = False
        if sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc":
            try:
                libc = ctypes.CDLL(None)
                _applied = bool(libc.mallopt(_M_MMAP_THRESHOLD, MMAP_THRESHOLD_BYTES)
                                and libc.mallopt(_M_TRIM_THRESHOLD, TRIM_THRESHOLD_BYTES))
            except (OSError, AttributeError):  # no mallopt in this C library
                _applied = False
    return _applied

"""DAWG Bench harness: audio I/O, plugin DSP, meters, suites, candidates, runner, latency, gates."""

import os as _os
import sys as _sys

__version__ = "0.1.0"


def _numba_cache_in_our_folder() -> None:
    # numba's compiled kernels go to DAWG Bench's cache folder (<home>/numba) rather than beside the
    # sources, so they survive a read-only install and every worker of a run finds them
    # (harness/warmup.py). An explicit NUMBA_CACHE_DIR wins. numba reads it when a kernel is
    # declared, so an already imported numba re-reads its configuration.
    if "NUMBA_CACHE_DIR" in _os.environ:
        return
    from harness.paths import home

    _os.environ["NUMBA_CACHE_DIR"] = str(home() / "numba")
    if "numba" in _sys.modules:
        from numba.core import config

        config.reload_config()


_numba_cache_in_our_folder()

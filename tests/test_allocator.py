"""harness/allocator.py: a scoring process keeps freed memory for reuse (glibc's malloc thresholds).

Each case runs in a fresh interpreter, so the thresholds it sets are its own."""

import json
import platform
import subprocess
import sys

import pytest

PROBE = """
import json, sys
import numpy as np
from harness.allocator import keep_freed_memory

def rss_mib():
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * 4096 / 2**20

applied = keep_freed_memory() if sys.argv[1] == "keep" else None
a = np.ones(64 * 2**20 // 8)  # 64 MiB, touched: above glibc's default mmap threshold
with_block = rss_mib()
del a
after_free = rss_mib()
b = np.ones(64 * 2**20 // 8)  # the same size again
again = rss_mib()
print(json.dumps({"applied": applied, "with": with_block, "freed": after_free, "again": again,
                  "second_call": keep_freed_memory() if applied else None}))
"""

pytestmark = pytest.mark.skipif(not (sys.platform.startswith("linux") and platform.libc_ver()[0] == "glibc"),
                                reason="the thresholds are glibc's")


def _probe(mode: str) -> dict:
    out = subprocess.run([sys.executable, "-c", PROBE, mode], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    return json.loads(out.stdout)


def test_freed_memory_is_kept_for_the_next_block_of_the_same_size():
    default, kept = _probe("default"), _probe("keep")
    # by default a 64 MiB block is a mapping of its own, returned to the kernel when freed
    assert default["with"] - default["freed"] > 48
    # kept: the block came from the heap and stays there, and the next one reuses it (no growth)
    assert kept["applied"] is True and kept["second_call"] is True
    assert kept["with"] - kept["freed"] < 8
    assert kept["again"] - kept["with"] < 8

"""What the latency tests expect of this machine: which targets can be MEASURED here, not projected.

The rule (README, "Latency: measured or projected"): the CPU is always measured; a GPU target
(t4, a10g) is measured only when onnxruntime has the CUDA provider and a CUDA GPU whose name
contains the target's `gpu_name_contains` is present. Everywhere else its rows are projected. On
a CPU-only machine every t4/a10g row must therefore say "projected"; on a T4 box t4's rows must say
"measured" and a10g's "projected".
"""

from __future__ import annotations

from functools import cache

from harness.environment import gpu_name
from harness.latency.targets import load_targets


@cache
def measurable_here(target: str) -> bool:
    spec = load_targets()[target]
    if spec.kind == "cpu":
        return True
    import onnxruntime

    gpu = gpu_name()
    if gpu is None or "CUDAExecutionProvider" not in onnxruntime.get_available_providers():
        return False
    needle = spec.get("gpu_name_contains")
    return bool(needle) and needle in gpu


def expected_gpu_source(target: str) -> str:
    """"measured" or "projected": what every controller row of GPU target `target` must say here."""
    return "measured" if measurable_here(target) else "projected"

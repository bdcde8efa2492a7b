"""Sampling distributions written as data: `{uniform = [lo, hi]}`, `{loguniform = [lo, hi]}`,
`{randint = [lo, hi]}` (inclusive), `{choice = [a, b, ...]}`, or a plain number (constant)."""

from __future__ import annotations

import math
from typing import Any

import numpy as np

KINDS = ("uniform", "loguniform", "randint", "choice")


def validate(name: str, spec: Any) -> None:
    """Raise ValueError naming the parameter when `spec` is not a distribution this module samples."""
    if isinstance(spec, (int, float)) and not isinstance(spec, bool):
        if not math.isfinite(spec):
            raise ValueError(f"{name}: expected a finite number, got {spec!r}")
        return
    if not isinstance(spec, dict) or len(spec) != 1:
        raise ValueError(f"{name}: expected a number or one of {{{', '.join(KINDS)} = [...]}}, got {spec!r}")
    ((kind, args),) = spec.items()
    if kind not in KINDS:
        raise ValueError(f"{name}: unknown distribution {kind!r} (known: {', '.join(KINDS)})")
    if not isinstance(args, list) or not args:
        raise ValueError(f"{name}: {kind} needs a list of values, got {args!r}")
    if kind != "choice":
        if len(args) != 2 or not all(_finite_number(a) for a in args) or not args[0] <= args[1]:
            raise ValueError(f"{name}: {kind} needs [low, high], two finite numbers with low ≤ high, got {args!r}")
        if kind == "randint" and not all(isinstance(a, int) for a in args):
            raise ValueError(f"{name}: randint needs two integers, got {args!r}")
        if kind == "loguniform" and args[0] <= 0:
            raise ValueError(f"{name}: loguniform needs positive bounds, got {args!r}")


def _finite_number(x: Any) -> bool:
    return isinstance(x, (int, float)) and not isinstance(x, bool) and math.isfinite(x)


def sample(spec: Any, rng: np.random.Generator) -> Any:
    if isinstance(spec, (int, float)):
        return spec
    ((kind, args),) = spec.items()
    if kind == "uniform":
        return float(rng.uniform(args[0], args[1]))
    if kind == "loguniform":
        return float(math.exp(rng.uniform(math.log(args[0]), math.log(args[1]))))
    if kind == "randint":
        return int(rng.integers(args[0], args[1] + 1))
    return args[int(rng.integers(len(args)))]

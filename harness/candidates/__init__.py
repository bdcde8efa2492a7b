"""Candidates by name: bounds, baselines, peers. Adding one = one module plus one line here."""

from __future__ import annotations

from typing import Callable

from harness.candidates.base import Candidate, Prediction, Unavailable
from harness.candidates.bypass import Bypass
from harness.candidates.oracle import Oracle

REGISTRY: dict[str, Callable[[], Candidate]] = {
    Bypass.name: Bypass,
    Oracle.name: Oracle,
}


def get_candidate(name: str) -> Candidate:
    from harness.errors import UserError
    from harness.suites import did_you_mean

    try:
        return REGISTRY[name]()
    except KeyError:
        raise UserError(f"unknown candidate {name!r}{did_you_mean(name, list(REGISTRY))}") from None


__all__ = ["Candidate", "Prediction", "Unavailable", "REGISTRY", "get_candidate"]

"""Candidates by name: bounds, baselines, peers. Adding one = one module plus one line here."""

from __future__ import annotations

from harness.candidates.base import Candidate, Prediction, Unavailable
from harness.candidates.bypass import Bypass
from harness.candidates.match import Match
from harness.candidates.matchering_peer import Matchering
from harness.candidates.oracle import Oracle
from harness.candidates.rules import Rules, RulesPlan
from harness.registry import Registry

CANDIDATES: Registry[type[Candidate]] = Registry("candidate")
for _cls in (Bypass, Oracle, Rules, RulesPlan, Match, Matchering):
    CANDIDATES.register(_cls.name, _cls)


def get_candidate(name: str) -> Candidate:
    """A registered candidate by name, or `model:<release>@<fp32|int8>` from the model registry folder."""
    if name.startswith("model:"):
        from harness.candidates.onnx_model import OnnxController
        from harness.models import find_release

        release_name, _, precision = name[len("model:"):].partition("@")
        release = find_release(release_name)
        precision = precision or "fp32"
        release.path(precision)  # fails clearly when that precision was not exported
        return OnnxController(release, precision)
    if name.startswith("vst3:"):
        from harness.candidates.vst3 import from_name

        return from_name(name)  # "vst3:/path/P.vst3?param=value&..." pins parameters
    return CANDIDATES.get(name)()


def model_candidates() -> list[str]:
    """Every precision of every release in the model registry folder (test fixtures included, labelled)."""
    from harness.models import discover_releases

    return [r.candidate_name(p) for r in discover_releases() for p in r.precisions]


__all__ = ["Candidate", "Prediction", "Unavailable", "CANDIDATES", "get_candidate", "model_candidates"]

"""What the gate judges (`Gated`) and what it says (`Verdict`): shared by the bar kinds and the gate."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from harness.models import Release


@dataclass(frozen=True)
class Verdict:
    gate: str
    task: str
    passed: bool
    detail: str

    def to_json(self) -> dict[str, Any]:
        return {"gate": self.gate, "task": self.task, "passed": self.passed, "detail": self.detail}


@dataclass(frozen=True)
class Gated:
    """What is gated: a model release at the precision it would ship, or any named candidate."""

    label: str
    task: str | None
    candidate: str  # the candidate name whose rows are checked
    release: Release | None = None
    fp32: str | None = None  # for INT8 parity
    ships: str = ""  # why this precision ships


__all__ = ["Verdict", "Gated"]

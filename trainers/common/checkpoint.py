"""Resumable training state: written atomically at every validation, read back on the next start.

A checkpoint holds everything the next step depends on (weights, optimiser and schedule state, the
numpy and torch random states, the step and the best weights so far), so a resumed run continues the
exact sequence an uninterrupted one would have taken: same seed, same validation metric (tested).
Its file name is a digest of the training's identity (task, suite corpus, profile, seed, steps), and
that identity is stored inside too: a checkpoint is never resumed into a different training.
On SageMaker managed spot, the folder is the job's checkpoint folder (/opt/ml/checkpoints), which
SageMaker copies to S3 and back after an interruption.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import torch

from harness.errors import UserError
from harness.paths import home

FORMAT = 1


def default_folder() -> Path:
    return home() / "checkpoints"


def identity_key(identity: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(identity, sort_keys=True).encode()).hexdigest()[:16]


@dataclass(frozen=True)
class Checkpointer:
    path: Path
    identity: dict[str, Any]

    @classmethod
    def for_training(cls, identity: dict[str, Any], folder: Path | None = None) -> Checkpointer:
        folder = Path(folder or default_folder())
        return cls(folder / f"{identity.get('task', 'train')}-{identity_key(identity)}.pt", identity)

    def load(self) -> dict[str, Any] | None:
        """The saved state, or None when there is none. A file that cannot be read as this training's
        checkpoint stops with one line: resuming from garbage, or silently starting over, both lose work."""
        if not self.path.exists():
            return None
        try:
            state = torch.load(self.path, map_location="cpu", weights_only=True)
        except Exception as exc:  # noqa: BLE001 - torch raises many types (pickle, zip, runtime) for a damaged file
            reason = (str(exc).splitlines() or [""])[0][:120]
            raise UserError(f"{self.path}: corrupt checkpoint ({type(exc).__name__}: {reason}); "
                            "delete it or train with --fresh") from None
        if not isinstance(state, dict) or state.get("format") != FORMAT or "step" not in state:
            raise UserError(f"{self.path}: not a DAWG Bench checkpoint (format {FORMAT}); "
                            "delete it or train with --fresh")
        if state.get("identity") != self.identity:
            raise UserError(f"{self.path}: a checkpoint of another training ({state.get('identity')}); "
                            "delete it or train with --fresh")
        return state

    def save(self, state: dict[str, Any]) -> None:
        """Atomic: a crash mid-write leaves the previous checkpoint, never half of a new one."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{self.path.name}.", dir=self.path.parent)
        try:
            with os.fdopen(fd, "wb") as fh:
                torch.save({**state, "format": FORMAT, "identity": self.identity}, fh)
                fh.flush()
                os.fsync(fh.fileno())
            os.replace(tmp, self.path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def discard(self) -> None:
        self.path.unlink(missing_ok=True)

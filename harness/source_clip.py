"""The clip a task starts from: a corpus clip that is already right, with its unmastered mix where known.

Its own module because both the corpus (which makes clips) and the tasks (which damage them) use it,
and neither should import the other to get it.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np


@dataclass(frozen=True)
class SourceClip:
    """A corpus clip as tasks use it. `raw` is the unmastered mix at -20 LUFS where the source has one."""

    id: str
    sample_rate: int
    target: np.ndarray
    raw: np.ndarray | None = None
    genre: str | None = None
    source: str = "generated"
    finish: Mapping[str, Any] | None = None

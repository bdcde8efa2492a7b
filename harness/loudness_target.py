"""The loudness target and true-peak ceiling a mastered output must meet: the one home of their defaults.

-14 LUFS integrated is the level the main streaming services normalise to, and -1 dBTP the ceiling
their loudness guidance asks for (lossy encoding adds overshoot). Suites override both per corpus
and per task (e.g. -9 LUFS for club, -16 for podcasts); everything else reads the defaults here.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

DEFAULT_TARGET_LUFS = -14.0
DEFAULT_CEILING_DBTP = -1.0


@dataclass(frozen=True)
class LoudnessTarget:
    lufs: float = DEFAULT_TARGET_LUFS
    ceiling_dbtp: float = DEFAULT_CEILING_DBTP

    @classmethod
    def of(cls, query: Any) -> LoudnessTarget:
        """A query's target, with the defaults for whatever it leaves unset."""
        lufs = getattr(query, "target_lufs", None)
        ceiling = getattr(query, "ceiling_dbtp", None)
        return cls(DEFAULT_TARGET_LUFS if lufs is None else float(lufs),
                   DEFAULT_CEILING_DBTP if ceiling is None else float(ceiling))

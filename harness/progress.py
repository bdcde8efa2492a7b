"""How long work reports progress: a callback `(done, total)` that knows nothing of how it is shown."""

from __future__ import annotations

from collections.abc import Callable

Progress = Callable[[int, int], None]

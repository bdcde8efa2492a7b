"""Where DAWG Bench keeps what it generates: one folder, overridable, never committed."""

from __future__ import annotations

import os
from pathlib import Path


def home() -> Path:
    """`$DAWG_BENCH_HOME`, else `$XDG_CACHE_HOME/dawg-bench`, else `~/.cache/dawg-bench`."""
    if env := os.environ.get("DAWG_BENCH_HOME"):
        return Path(env).expanduser()
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg).expanduser() if xdg else Path.home() / ".cache"
    return base / "dawg-bench"


def subdir(name: str) -> Path:
    path = home() / name
    path.mkdir(parents=True, exist_ok=True)
    return path

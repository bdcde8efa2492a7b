"""What every page shares: which store it reads, cached reads of it, and the page shown when it cannot be read.

The store's path comes from `st.session_state["db"]` (tests set it), else `$DAWG_BENCH_DASHBOARD_DB`
(`dawg-bench dashboard --db` sets it), else the default store. Reads are cached by Streamlit and keyed by
the file's modification times, so a page re-reads the store only after something wrote to it.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from dashboards import store_view
from dashboards.store_view import DB_ENV, StoreState


def db_path() -> Path:
    if chosen := st.session_state.get("db"):
        return Path(chosen)
    if env := os.environ.get(DB_ENV):
        return Path(env)
    from harness.store import default_db_path

    return default_db_path()


def stamp(path: Path) -> tuple[int, ...]:
    """Modification times of the database and its WAL: the cache key that changes when the store does."""
    out = []
    for p in (path, path.with_name(path.name + "-wal")):
        try:
            out.append(p.stat().st_mtime_ns)
        except OSError:
            out.append(0)
    return tuple(out)


@st.cache_data(show_spinner=False, max_entries=16)
def _cached(name: str, path: str, key: tuple, *args):
    return getattr(store_view, name)(path, *args)


def read(name: str, *args):
    """`store_view.<name>(path, *args)`, cached until the store changes."""
    path = db_path()
    return _cached(name, str(path), stamp(path), *args)


def require_store() -> StoreState:
    """The store's state; when it has nothing to show, draw the page that says why and how to fill it,
    and stop the page there."""
    state = read("inspect_store")
    if state.kind == "ok":
        return state
    if state.kind in ("missing", "empty"):
        st.info(f"**No results yet.** {state.message}.")
        st.markdown("Fill it with one command (CPU only, no AWS, a few minutes):")
        st.code(f"dawg-bench demo --db {state.path}", language="bash")
        st.caption("Then reload this page. `dawg-bench demo --help` lists the suites; `dawg-bench gate` adds "
                   "release verdicts and `dawg-bench latency` latency rows.")
    else:
        st.error(f"**This store cannot be shown.** {state.message}.")
    st.stop()
    raise AssertionError("unreachable: st.stop() ends the page")  # for type checkers; st.stop raises


def pick_run(runs: pd.DataFrame, *, key: str, label: str = "run") -> str:
    """A run chooser (newest first), labelled by suite, time and corpus; returns the run id."""
    options = list(runs["run_id"])
    names = {r.run_id: f"{r.suite} · {r.finished:%Y-%m-%d %H:%M} · {r.clips} clips · run {r.run_id[:8]}"
             for r in runs.itertuples()}
    return st.selectbox(label, options, format_func=names.get, key=key)

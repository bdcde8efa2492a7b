"""Read the results store for the dashboard: read-only, without Streamlit, as pandas tables.

The dashboard never writes: it opens the file with SQLite's `mode=ro`, so looking at a store can
neither create one where none exists nor migrate an older one (`Store` does both on open). Before
reading, `inspect_store` says what the file is — missing, empty, not ours, older, newer, unreadable
or fine — so every page can show one clear sentence instead of a traceback.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pandas as pd

from harness.store import STORE_VERSION, classify, has_missing_columns

# what a page says to do with a store that has no runs yet
FILL_HINT = "dawg-bench demo"
# how `dawg-bench dashboard --db` tells the Streamlit process which store to read
DB_ENV = "DAWG_BENCH_DASHBOARD_DB"


@dataclass(frozen=True)
class StoreState:
    """What the file at `path` is. `kind`: ok · missing · empty · foreign · older · newer · unreadable."""
    path: Path
    kind: str
    message: str
    version: int | None = None
    runs: int = 0

    @property
    def readable(self) -> bool:
        return self.kind in ("ok", "empty")


def connect(path: str | Path) -> sqlite3.Connection:
    """A read-only connection (`mode=ro`): reading never creates, migrates or locks the file for writing."""
    conn = sqlite3.connect(f"{Path(path).resolve().as_uri()}?mode=ro", uri=True, timeout=5.0)
    conn.row_factory = sqlite3.Row
    return conn


def inspect_store(path: str | Path) -> StoreState:
    path = Path(path)
    if not path.exists():
        return StoreState(path, "missing", f"{path}: no results store here yet; fill it with `{FILL_HINT} --db "
                                           f"{path}` (or run `{FILL_HINT}` for the default store)")
    if path.is_dir():
        return StoreState(path, "unreadable", f"{path}: is a folder; --db names a results database file")
    try:
        with closing(connect(path)) as c:
            tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
            app_id = c.execute("PRAGMA application_id").fetchone()[0]
            version = c.execute("PRAGMA user_version").fetchone()[0]
            kind = classify(tables, app_id, version)
            if kind == "foreign":
                return StoreState(path, "foreign", f"{path}: a SQLite database that is not a DAWG Bench results "
                                                   f"store (tables: {', '.join(sorted(tables)) or 'none'}); "
                                                   "point --db at a store written by dawg-bench")
            if kind == "unused":
                return StoreState(path, "empty", f"{path}: an empty results store; fill it with `{FILL_HINT} "
                                                 f"--db {path}`")
            if kind == "newer":
                return StoreState(path, "newer", f"{path}: written by a newer DAWG Bench (store version {version},"
                                                 f" this one reads {STORE_VERSION}); upgrade dawg-bench", version)
            if kind == "older" or has_missing_columns(c):
                return StoreState(path, "older", f"{path}: written by an older DAWG Bench (store version "
                                                 f"{version}, this one reads {STORE_VERSION}); upgrade it in "
                                                 f"place with `dawg-bench dashboard --db {path} --upgrade` "
                                                 "(it keeps every row)", version)
            runs = c.execute("SELECT count(*) FROM runs WHERE status = 'complete'").fetchone()[0]
    except sqlite3.DatabaseError as exc:
        text = str(exc)
        if "file is not a database" in text:
            return StoreState(path, "foreign", f"{path}: not a SQLite database, so not a DAWG Bench results store")
        return StoreState(path, "unreadable", f"{path}: cannot be read: {text}")
    except OSError as exc:
        return StoreState(path, "unreadable", f"{path}: cannot be read: {exc.strerror or exc}")
    if runs == 0:
        return StoreState(path, "empty", f"{path}: no finished run yet; fill it with `{FILL_HINT} --db {path}`",
                          version)
    return StoreState(path, "ok", f"{path}: {runs} finished run(s)", version, runs)


def _frame(path: str | Path, query: str, args: tuple = ()) -> pd.DataFrame:
    with closing(connect(path)) as c:
        cursor = c.execute(query, args)
        rows = cursor.fetchall()
        columns = [d[0] for d in cursor.description]
    return pd.DataFrame([tuple(r) for r in rows], columns=columns)


def runs(path: str | Path) -> pd.DataFrame:
    """Finished runs, newest first: suite, corpus hash, code fingerprint, git sha, times, clip count."""
    frame = _frame(path, "SELECT r.run_id, r.suite, r.manifest_hash, r.started_at, r.finished_at, r.environment,"
                         " (SELECT count(DISTINCT clip_id) FROM clip_results c WHERE c.run_id = r.run_id) AS clips"
                         " FROM runs r WHERE r.status = 'complete' ORDER BY r.finished_at DESC, r.started_at DESC")
    env = [json.loads(e) if e else {} for e in frame.pop("environment")]
    frame["code"] = [e.get("identity", {}).get("code") for e in env]
    frame["git_sha"] = [e.get("git_sha") for e in env]
    frame["cpu"] = [e.get("cpu") for e in env]
    frame["finished"] = pd.to_datetime(frame["finished_at"], unit="s", utc=True)
    return frame


def run_report(path: str | Path, run_id: str) -> dict[str, Any]:
    """The run's report (the run JSON without latency and gates): tasks, rankings, CIs, corpus, environment."""
    with closing(connect(path)) as c:
        row = c.execute("SELECT report FROM runs WHERE run_id = ?", (run_id,)).fetchone()
    return json.loads(row[0]) if row and row[0] else {}


def aggregates(path: str | Path, run_id: str | None = None) -> pd.DataFrame:
    """Per run, task, candidate, source (generated · recorded · all) and metric: mean, median, CI, n, gap closed
    (median and CI) and the share of clips made worse than bypass."""
    query = ("SELECT a.*, r.suite, r.finished_at FROM aggregates a JOIN runs r USING (run_id)"
             " WHERE r.status = 'complete'")
    return _frame(path, query + (" AND a.run_id = ?" if run_id else ""), (run_id,) if run_id else ())


def clip_results(path: str | Path, run_id: str, task: str | None = None) -> pd.DataFrame:
    """One row per clip and candidate: `metrics` and `gap_closed` flattened to `metric:<name>` and
    `gap:<name>` columns (NaN where a candidate failed; `error` says why)."""
    query = "SELECT task, variant, clip_id, source, candidate, metrics, gap_closed, error, seconds FROM clip_results"
    query += " WHERE run_id = ?" + (" AND task = ?" if task else "")
    frame = _frame(path, query, (run_id, task) if task else (run_id,))
    metrics = pd.DataFrame([json.loads(m) if m else {} for m in frame.pop("metrics")], index=frame.index)
    gaps = pd.DataFrame([json.loads(g) if g else {} for g in frame.pop("gap_closed")], index=frame.index)
    return pd.concat([frame, metrics.add_prefix("metric:"), gaps.add_prefix("gap:")], axis=1)


def latencies(path: str | Path) -> pd.DataFrame:
    """Every latency row, oldest first, with `assumptions` parsed (a dict for projected rows)."""
    frame = _frame(path, "SELECT * FROM latencies ORDER BY recorded_at")
    frame["assumptions"] = [json.loads(a) if isinstance(a, str) and a.startswith("{") else a
                            for a in frame["assumptions"]]
    frame["recorded"] = pd.to_datetime(frame["recorded_at"], unit="s", utc=True)
    return frame


def gates(path: str | Path) -> pd.DataFrame:
    """Every gate verdict, oldest first (`passed` as bool)."""
    frame = _frame(path, "SELECT * FROM gates ORDER BY recorded_at")
    frame["passed"] = frame["passed"].astype(bool)
    frame["recorded"] = pd.to_datetime(frame["recorded_at"], unit="s", utc=True)
    return frame


def latest_gates(path: str | Path) -> pd.DataFrame:
    """The newest verdicts of each (suite, candidate): the last gate run of each release."""
    frame = gates(path)
    if frame.empty:
        return frame
    last = frame.groupby(["suite", "candidate"], dropna=False)["recorded_at"].transform("max")
    # one gate run writes its verdicts in one transaction, a fraction of a second apart at most
    return frame[frame["recorded_at"] >= last - 1.0].reset_index(drop=True)

"""Stores of other shapes, written by the tests themselves."""

import sqlite3
from contextlib import closing
from pathlib import Path


def write_version1_store(path: Path) -> Path:
    """A version-1 store: our tables without the mark (application_id, user_version), latencies without the
    columns added later, and one finished run 'r0' of the smoke suite."""
    with closing(sqlite3.connect(path)) as c, c:
        c.execute("CREATE TABLE runs (run_id TEXT PRIMARY KEY, suite TEXT NOT NULL, manifest_hash TEXT NOT NULL, "
                  "started_at REAL NOT NULL, finished_at REAL, status TEXT NOT NULL, environment TEXT NOT NULL, "
                  "report TEXT)")
        c.execute("CREATE TABLE clip_results (run_id TEXT, task TEXT, variant TEXT, clip_id TEXT, source TEXT, "
                  "candidate TEXT, metrics TEXT, gap_closed TEXT, error TEXT, seconds REAL)")
        c.execute("CREATE TABLE latencies (recorded_at REAL NOT NULL, model TEXT NOT NULL, task TEXT NOT NULL, "
                  "precision TEXT NOT NULL, hardware TEXT NOT NULL, source TEXT NOT NULL, scope TEXT NOT NULL, "
                  "threads INTEGER, p50_ms REAL, p90_ms REAL, p95_ms REAL, p99_ms REAL, rtf REAL, "
                  "throughput_qps REAL, valid INTEGER, reason TEXT, assumptions TEXT, environment TEXT)")
        c.execute("INSERT INTO runs VALUES ('r0', 'smoke', 'h', 1.0, 2.0, 'complete', '{}', '{}')")
    return path

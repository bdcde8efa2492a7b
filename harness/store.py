"""The results store: SQLite (default `<cache>/results.db`, `--db PATH` to change).

Runs, their environment fingerprint, per-clip results, aggregates, latencies and gate verdicts.
WAL journal + busy timeout make two processes writing at once safe; every write is one
transaction, and a run's aggregates land in the same transaction that marks it complete — an
interrupted run leaves per-clip rows (so it resumes) but never half-written aggregates.
"""

from __future__ import annotations

import json
import sqlite3
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

from harness.errors import UserError
from harness.paths import home

SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    suite TEXT NOT NULL,
    manifest_hash TEXT NOT NULL,
    started_at REAL NOT NULL,
    finished_at REAL,
    status TEXT NOT NULL CHECK (status IN ('running', 'complete')),
    environment TEXT NOT NULL,
    report TEXT
);
CREATE TABLE IF NOT EXISTS clip_results (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    task TEXT NOT NULL,
    variant TEXT NOT NULL,
    clip_id TEXT NOT NULL,
    source TEXT NOT NULL,
    candidate TEXT NOT NULL,
    metrics TEXT,
    gap_closed TEXT,
    error TEXT,
    seconds REAL,
    PRIMARY KEY (run_id, task, variant, clip_id, candidate)
);
CREATE TABLE IF NOT EXISTS aggregates (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    task TEXT NOT NULL,
    candidate TEXT NOT NULL,
    source TEXT NOT NULL,
    metric TEXT NOT NULL,
    mean REAL, median REAL, ci_lo REAL, ci_hi REAL, n INTEGER,
    gap_median REAL, gap_ci_lo REAL, gap_ci_hi REAL, worse_than_bypass REAL,
    PRIMARY KEY (run_id, task, candidate, source, metric)
);
CREATE TABLE IF NOT EXISTS latencies (
    recorded_at REAL NOT NULL,
    model TEXT NOT NULL, task TEXT NOT NULL, precision TEXT NOT NULL, hardware TEXT NOT NULL,
    source TEXT NOT NULL CHECK (source IN ('measured', 'projected')),
    scope TEXT NOT NULL, threads INTEGER,
    p50_ms REAL, p90_ms REAL, p95_ms REAL, p99_ms REAL, rtf REAL, throughput_qps REAL,
    valid INTEGER, reason TEXT, assumptions TEXT, environment TEXT,
    clip_seconds REAL, queries INTEGER, p99_bound_ms REAL, rule TEXT,
    projected_ms REAL, projected_low_ms REAL, projected_high_ms REAL
);
CREATE TABLE IF NOT EXISTS gates (
    recorded_at REAL NOT NULL, suite TEXT NOT NULL, candidate TEXT, gate TEXT NOT NULL,
    passed INTEGER NOT NULL, detail TEXT, run_id TEXT
);
"""


# Columns added after a table was first created: an older store gains them on open (NULL in old rows).
ADDED_COLUMNS = {
    "latencies": {"clip_seconds": "REAL", "queries": "INTEGER", "p99_bound_ms": "REAL", "rule": "TEXT",
                  "projected_ms": "REAL", "projected_low_ms": "REAL", "projected_high_ms": "REAL"},
}


def _add_missing_columns(c: sqlite3.Connection) -> None:
    for table, columns in ADDED_COLUMNS.items():
        have = {row[1] for row in c.execute(f"PRAGMA table_info({table})")}
        for name, kind in columns.items():
            if name not in have:
                c.execute(f"ALTER TABLE {table} ADD COLUMN {name} {kind}")


def has_missing_columns(c: sqlite3.Connection) -> bool:
    """True when a table lacks a column added after it was first created (ADDED_COLUMNS)."""
    return any(name not in {row[1] for row in c.execute(f"PRAGMA table_info({table})")}
               for table, cols in ADDED_COLUMNS.items() for name in cols)


def default_db_path() -> Path:
    return home() / "results.db"


APPLICATION_ID = 0x44415747  # "DAWG": marks a SQLite file as a DAWG Bench results store
STORE_VERSION = 2  # 1: tables without the mark (migrated on open); 2: application_id + user_version
OUR_TABLES = {"runs", "clip_results", "aggregates", "latencies", "gates"}
LOCK_WAIT_S = 30.0


def classify(tables: set[str], application_id: int, version: int) -> str:
    """What a SQLite file is to DAWG Bench, from its tables and marks: 'foreign' (another program's),
    'unused' (no tables, unmarked), 'newer' (a later store version), 'current' (this version, every table;
    columns may still be missing) or 'older' (ours, to migrate). The writer and the dashboard both ask."""
    if application_id not in (0, APPLICATION_ID) or (
            application_id == 0 and tables and not tables >= {"runs", "clip_results"}):
        return "foreign"
    if application_id == 0 and not tables:
        return "unused"
    if version > STORE_VERSION:
        return "newer"
    if application_id == APPLICATION_ID and version == STORE_VERSION and tables >= OUR_TABLES:
        return "current"
    return "older"


class StoreError(UserError):
    """The results database cannot be used: one line naming the file and the problem (exit 2)."""


class Store:
    def __init__(self, path: str | Path | None = None, *, lock_wait_s: float = LOCK_WAIT_S):
        self.path = Path(path) if path else default_db_path()
        self._lock_wait_s = lock_wait_s
        self._check_path()
        try:
            self._conn = sqlite3.connect(self.path, timeout=0.5, isolation_level=None)  # reads wait briefly
        except sqlite3.Error as exc:
            raise self._error(exc) from None
        self._conn.row_factory = sqlite3.Row
        try:
            self._open()
        except sqlite3.Error as exc:
            self._conn.close()
            raise self._error(exc) from None
        except BaseException:
            self._conn.close()
            raise

    def _check_path(self) -> None:
        if self.path.is_dir():
            raise StoreError(f"{self.path}: is a directory; --db names a database file (e.g. {self.path}/results.db)")
        for parent in self.path.parents:
            if parent.exists():
                if not parent.is_dir():
                    raise StoreError(f"{self.path}: {parent} is a file, not a folder")
                break
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(f"{self.path}: cannot create its folder: {exc.strerror}") from None

    def _open(self) -> None:
        """Recognise the file before writing anything to it: ours (any version), empty, or refuse."""
        c = self._conn
        tables = {r[0] for r in c.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
        app_id = c.execute("PRAGMA application_id").fetchone()[0]
        version = c.execute("PRAGMA user_version").fetchone()[0]
        kind = classify(tables, app_id, version)
        if kind == "foreign":
            raise StoreError(f"{self.path}: a SQLite database that is not a DAWG Bench results store "
                             f"(tables: {', '.join(sorted(tables)) or 'none'}); refusing to write to it — "
                             "pass --db a new path")
        if kind == "newer":
            raise StoreError(f"{self.path}: written by a newer DAWG Bench (store version {version} > "
                             f"{STORE_VERSION}); upgrade dawg-bench or pass --db a new path")
        c.execute("PRAGMA journal_mode=WAL")
        c.execute("PRAGMA foreign_keys=ON")
        if kind == "current":
            self._migrate_columns_only()
            return
        with self.transaction() as t:  # new store, or an older one: create and migrate in one transaction
            for statement in SCHEMA.split(";"):
                if statement.strip():
                    t.execute(statement)
            _add_missing_columns(t)
            t.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            t.execute(f"PRAGMA user_version = {STORE_VERSION}")

    def _migrate_columns_only(self) -> None:
        if has_missing_columns(self._conn):
            with self.transaction() as t:
                _add_missing_columns(t)

    def _error(self, exc: sqlite3.Error) -> StoreError:
        text = str(exc)
        if "file is not a database" in text:
            return StoreError(f"{self.path}: not a SQLite database (not a DAWG Bench results store); "
                              "pass --db a new path")
        if "readonly" in text or "read-only" in text:
            return StoreError(f"{self.path}: read-only (permission denied); pass --db a writable path")
        if "disk is full" in text or "disk I/O" in text:
            return StoreError(f"{self.path}: the disk is full (or failing); nothing was written — free space "
                              "and run again")
        if "unable to open" in text:
            return StoreError(f"{self.path}: cannot open the database (permission denied or a bad path)")
        if "locked" in text or "busy" in text:
            return StoreError(f"{self.path}: locked by another process for {self._lock_wait_s:.0f} s; "
                              "try again when it finishes")
        return StoreError(f"{self.path}: database error: {text}")

    def close(self) -> None:
        self._conn.close()

    @contextmanager
    def transaction(self) -> Iterator[sqlite3.Connection]:
        # BEGIN IMMEDIATE takes the write lock up front, so two writers queue instead of deadlocking.
        # While another process holds it we wait (saying so once), then fail with one clear line.
        self._begin()
        try:
            yield self._conn
        except sqlite3.Error as exc:
            self._rollback()
            raise self._error(exc) from None
        except BaseException:
            self._rollback()
            raise
        try:
            self._conn.execute("COMMIT")
        except sqlite3.Error as exc:
            self._rollback()
            raise self._error(exc) from None

    def _begin(self) -> None:
        deadline, told = time.monotonic() + self._lock_wait_s, False
        while True:
            try:
                self._conn.execute("BEGIN IMMEDIATE")
                return
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise self._error(exc) from None
                if not told:
                    print(f"waiting for {self.path}: another dawg-bench is writing to it "
                          f"(up to {self._lock_wait_s:.0f} s)", file=sys.stderr, flush=True)
                    told = True
                if time.monotonic() >= deadline:
                    raise self._error(exc) from None
                time.sleep(0.05)

    def _rollback(self) -> None:
        if self._conn.in_transaction:
            with suppress(sqlite3.Error):
                self._conn.execute("ROLLBACK")

    # -- runs ------------------------------------------------------------------------------

    def start_run(self, run_id: str, suite: str, manifest_hash: str, environment: dict) -> bool:
        """Register a run; returns False when it already exists (a resume)."""
        with self.transaction() as c:
            row = c.execute("SELECT status FROM runs WHERE run_id = ?", (run_id,)).fetchone()
            if row:
                return False
            c.execute(
                "INSERT INTO runs (run_id, suite, manifest_hash, started_at, status, environment) VALUES (?,?,?,?,?,?)",
                (run_id, suite, manifest_hash, time.time(), "running", json.dumps(environment)),
            )
            return True

    def run_started_at(self, run_id: str) -> float | None:
        row = self._conn.execute("SELECT started_at FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return float(row[0]) if row else None

    def run_identity(self, run_id: str) -> dict:
        """The provenance a run was started with (empty for runs recorded before provenance existed)."""
        row = self._conn.execute("SELECT environment FROM runs WHERE run_id = ?", (run_id,)).fetchone()
        return json.loads(row[0]).get("identity", {}) if row and row[0] else {}

    def runs(self, suite: str | None = None, complete_only: bool = True) -> list[sqlite3.Row]:
        q = "SELECT * FROM runs WHERE 1=1"
        args: list[Any] = []
        if suite:
            q += " AND suite = ?"
            args.append(suite)
        if complete_only:
            q += " AND status = 'complete'"
        return self._conn.execute(q + " ORDER BY finished_at DESC, started_at DESC", args).fetchall()

    # -- per-clip results ------------------------------------------------------------------

    def done_keys(self, run_id: str) -> set[tuple[str, str, str, str]]:
        rows = self._conn.execute(
            "SELECT task, variant, clip_id, candidate FROM clip_results WHERE run_id = ?", (run_id,)
        ).fetchall()
        return {tuple(r) for r in rows}

    def add_clip_results(self, run_id: str, rows: list[dict]) -> None:
        with self.transaction() as c:
            c.executemany(
                "INSERT OR REPLACE INTO clip_results (run_id, task, variant, clip_id, source, candidate, metrics,"
                " gap_closed, error, seconds) VALUES (?,?,?,?,?,?,?,?,?,?)",
                [(run_id, r["task"], r["variant"] or "", r["clip_id"], r["source"], r["candidate"],
                  json.dumps(r.get("metrics")), json.dumps(r.get("gap_closed")), r.get("error"), r.get("seconds"))
                 for r in rows],
            )

    def clip_results(self, run_id: str) -> list[dict]:
        rows = self._conn.execute(
            "SELECT * FROM clip_results WHERE run_id = ? ORDER BY task, variant, clip_id, candidate", (run_id,)
        ).fetchall()
        out = []
        for r in rows:
            d = dict(r)
            d["metrics"] = json.loads(d["metrics"]) if d["metrics"] else None
            d["gap_closed"] = json.loads(d["gap_closed"]) if d["gap_closed"] else None
            d["variant"] = d["variant"] or None
            out.append(d)
        return out

    def finish_run(self, run_id: str, report: dict, aggregate_rows: list[dict]) -> None:
        """Aggregates and the complete status in one transaction: all or nothing."""
        with self.transaction() as c:
            c.execute("DELETE FROM aggregates WHERE run_id = ?", (run_id,))
            c.executemany(
                "INSERT INTO aggregates (run_id, task, candidate, source, metric, mean, median, ci_lo, ci_hi, n,"
                " gap_median, gap_ci_lo, gap_ci_hi, worse_than_bypass) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                [(run_id, a["task"], a["candidate"], a["source"], a["metric"], a["mean"], a["median"], a["ci_lo"],
                  a["ci_hi"], a["n"], a.get("gap_median"), a.get("gap_ci_lo"), a.get("gap_ci_hi"),
                  a.get("worse_than_bypass")) for a in aggregate_rows],
            )
            c.execute("UPDATE runs SET status = 'complete', finished_at = ?, report = ? WHERE run_id = ?",
                      (time.time(), json.dumps(report), run_id))

    # -- latency and gates -----------------------------------------------------------------

    def add_latencies(self, rows: list[dict]) -> None:
        cols = ("model", "task", "precision", "hardware", "source", "scope", "threads", "p50_ms", "p90_ms", "p95_ms",
                "p99_ms", "rtf", "throughput_qps", "valid", "reason", "assumptions", "environment", "clip_seconds",
                "queries", "p99_bound_ms", "rule", "projected_ms", "projected_low_ms", "projected_high_ms")
        with self.transaction() as c:
            c.executemany(
                f"INSERT INTO latencies (recorded_at, {', '.join(cols)}) VALUES ({', '.join('?' * (len(cols) + 1))})",
                [(time.time(), *[json.dumps(r[k]) if isinstance(r.get(k), (dict, list)) else r.get(k) for k in cols])
                 for r in rows],
            )

    def latencies(self) -> list[dict]:
        return [dict(r) for r in self._conn.execute("SELECT * FROM latencies ORDER BY recorded_at")]

    def add_gates(self, suite: str, candidate: str | None, verdicts: list[dict], run_id: str | None) -> None:
        with self.transaction() as c:
            c.executemany(
                "INSERT INTO gates (recorded_at, suite, candidate, gate, passed, detail, run_id) "
                "VALUES (?,?,?,?,?,?,?)",
                [(time.time(), suite, candidate, v["gate"], int(v["passed"]), v.get("detail"), run_id)
                 for v in verdicts],
            )

"""The History page on a store filled by a real small run, then on a copy with a second run (another code
fingerprint, changed aggregates): every run listed with its corpus hash and code fingerprint, and the gap-closed
medians it tables are the store's aggregates on each task's primary metric."""

import json
import sqlite3
from contextlib import closing

import pytest

from tests.dashboard_pages import exceptions, open_page

pytestmark = pytest.mark.slow(seconds=15)


def store_runs(db) -> list[dict]:
    """Finished runs with their corpus hash, code fingerprint and each task's primary metric, straight from SQLite."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        rows = c.execute("SELECT run_id, manifest_hash, environment, report FROM runs WHERE status = 'complete'")
        return [{"run_id": run_id, "manifest_hash": manifest, "code": json.loads(env)["identity"]["code"],
                 "primary": {task: block["primary_metric"] for task, block in json.loads(report)["tasks"].items()}}
                for run_id, manifest, env, report in rows]


def store_gap(db, run_id: str, task: str, candidate: str, metric: str) -> float:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return c.execute("SELECT gap_median FROM aggregates WHERE run_id = ? AND task = ? AND candidate = ? "
                         "AND source = 'all' AND metric = ?", (run_id, task, candidate, metric)).fetchone()[0]


def table_with(at, *columns):
    tables = [d.value for d in at.dataframe if set(columns) <= set(d.value.columns)]
    assert tables, f"no table with columns {columns}"
    return tables[0]


def shown_gap(gaps, run_id: str, task: str, candidate: str) -> float:
    hit = gaps[gaps["run"].str.endswith(run_id[:8]) & (gaps["task"] == task) & (gaps["candidate"] == candidate)]
    assert len(hit) == 1, f"expected one gap row for {run_id} {task} {candidate}, found {len(hit)}"
    return float(hit["gap closed median"].iloc[0])


def assert_runs_listed(at, runs: list[dict]) -> None:
    table = table_with(at, "run", "corpus hash", "code fingerprint")
    assert sorted(table["run"]) == sorted(r["run_id"] for r in runs)
    for r in runs:
        row = table[table["run"] == r["run_id"]].iloc[0]
        assert r["manifest_hash"].startswith(row["corpus hash"]) and len(row["corpus hash"]) >= 8
        assert r["code"].startswith(row["code fingerprint"]) and len(row["code fingerprint"]) >= 8


def test_history_page_lists_the_run_and_its_gap_medians(dashboard_store):
    at = open_page(dashboard_store, "history")
    assert exceptions(at) == []
    runs = store_runs(dashboard_store)
    assert len(runs) == 1
    assert_runs_listed(at, runs)
    gaps = table_with(at, "run", "task", "candidate", "gap closed median")
    run = runs[0]
    for task, metric in run["primary"].items():
        for candidate in set(gaps.loc[gaps["task"] == task, "candidate"]):
            assert shown_gap(gaps, run["run_id"], task, candidate) == pytest.approx(
                store_gap(dashboard_store, run["run_id"], task, candidate, metric), rel=1e-12)
    assert set(gaps["metric"]) == set(run["primary"].values())
    assert not {"bypass", "oracle"} & set(gaps["candidate"]), "the scale's ends are left out"


def test_history_page_with_two_runs(dashboard_store, tmp_path):
    db = tmp_path / "results.db"
    with closing(sqlite3.connect(f"file:{dashboard_store}?mode=ro", uri=True)) as src, \
            closing(sqlite3.connect(db)) as dst:
        src.backup(dst)
    first = store_runs(dashboard_store)[0]["run_id"]
    second = "feedbeef" + first[8:]
    with closing(sqlite3.connect(db)) as c, c:
        run_id, suite, manifest, started, finished, status, env, report = c.execute(
            "SELECT * FROM runs WHERE run_id = ?", (first,)).fetchone()
        env = json.loads(env)
        env["identity"]["code"] = "c0de" * 16  # a later harness scored it
        c.execute("INSERT INTO runs VALUES (?,?,?,?,?,?,?,?)",
                  (second, suite, manifest, started + 3600, finished + 3600, status, json.dumps(env), report))
        c.execute("INSERT INTO aggregates SELECT ?, task, candidate, source, metric, mean, median, ci_lo, ci_hi, n,"
                  " gap_median + 0.25, gap_ci_lo + 0.25, gap_ci_hi + 0.25, worse_than_bypass"
                  " FROM aggregates WHERE run_id = ?", (second, first))
    runs = store_runs(db)
    assert {r["run_id"] for r in runs} == {first, second}

    at = open_page(db, "history")
    assert exceptions(at) == []
    assert_runs_listed(at, runs)
    table = table_with(at, "run", "changed since the suite's previous run")
    assert table.iloc[0]["run"] == second, "newest first"
    assert table.iloc[0]["changed since the suite's previous run"] == "code"

    gaps = table_with(at, "run", "task", "candidate", "gap closed median")
    task, metric = next(iter(runs[0]["primary"].items()))
    candidate = sorted(c for c in gaps.loc[gaps["task"] == task, "candidate"] if c.startswith("model:") or c == "rules")[0]
    for run_id in (first, second):
        assert shown_gap(gaps, run_id, task, candidate) == pytest.approx(
            store_gap(db, run_id, task, candidate, metric), rel=1e-12)
    assert shown_gap(gaps, second, task, candidate) == pytest.approx(shown_gap(gaps, first, task, candidate) + 0.25)

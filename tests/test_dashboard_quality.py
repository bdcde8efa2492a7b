"""The Quality page on a store filled by a real small run: the candidates and medians it shows, and one clip's
stored scores, equal the store's clip rows (read here with plain sqlite3 and json, not through the page's
code); its excerpts rebuild the clip and match the stored scores; a machine without the corpus says so."""

import json
import math
import os
import sqlite3
import statistics
from contextlib import closing
from pathlib import Path

import pandas as pd
import pytest

from tests.dashboard_pages import exceptions, open_page, page_text

pytestmark = pytest.mark.slow(seconds=15)


def newest_run(db) -> tuple[str, dict]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        run_id, report = c.execute("SELECT run_id, report FROM runs WHERE status = 'complete' "
                                   "ORDER BY finished_at DESC, started_at DESC LIMIT 1").fetchone()
    return run_id, json.loads(report)


def stored_rows(db, run_id: str, task: str) -> list[dict]:
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        rows = c.execute("SELECT variant, clip_id, source, candidate, metrics, gap_closed, error FROM clip_results "
                         "WHERE run_id = ? AND task = ?", (run_id, task)).fetchall()
    return [{"variant": v, "clip": clip, "source": s, "candidate": cand, "metrics": json.loads(m or "{}"),
             "gap": json.loads(g or "{}"), "error": e} for v, clip, s, cand, m, g, e in rows]


def expected_medians(rows: list[dict], field: str, metric: str) -> dict[tuple[str, str], float]:
    """(candidate, source or 'all') -> median of the stored values, missing ones left out."""
    groups: dict[tuple[str, str], list[float]] = {}
    for r in rows:
        value = r[field].get(metric)
        if value is None:
            continue
        for source in (r["source"], "all"):
            groups.setdefault((r["candidate"], source), []).append(value)
    return {key: statistics.median(values) for key, values in groups.items()}


def frame_with(at, column: str) -> pd.DataFrame:
    found = [d.value for d in at.dataframe if column in d.value.columns]
    assert found, f"no table with a {column!r} column on the page"
    return found[0]


def assert_medians_shown(at, rows: list[dict], field: str, metric: str) -> None:
    table = frame_with(at, "median (all)")
    expected = expected_medians(rows, field, metric)
    assert set(table.index) == {r["candidate"] for r in rows}, "the page's candidates are the task's candidates"
    for (cand, source), median in expected.items():
        shown = table.loc[cand, f"median ({source})"]
        assert math.isclose(shown, median, rel_tol=1e-12, abs_tol=1e-15), (cand, source, shown, median)
        n = sum(1 for r in rows if r["candidate"] == cand and r[field].get(metric) is not None
                and source in (r["source"], "all"))
        assert table.loc[cand, f"n ({source})"] == n


def assert_clip_table(at, rows: list[dict], clip: str, variant: str, metrics: list[str]) -> None:
    table = frame_with(at, "error")
    mine = {r["candidate"]: r for r in rows if r["clip"] == clip and r["variant"] == variant}
    assert set(table.index) == set(mine)
    for cand, row in mine.items():
        for metric in metrics:
            stored = row["metrics"].get(metric)
            shown = table.loc[cand, metric]
            assert (stored is None and pd.isna(shown)) or math.isclose(shown, stored, rel_tol=1e-12, abs_tol=1e-15)
            if metric in row["gap"]:
                gap = row["gap"][metric]
                shown_gap = table.loc[cand, f"gap closed: {metric}"]
                assert (gap is None and pd.isna(shown_gap)) or math.isclose(shown_gap, gap, rel_tol=1e-12,
                                                                             abs_tol=1e-15)


def test_quality_page_shows_the_stores_distributions_and_clip_rows(dashboard_store):
    run_id, report = newest_run(dashboard_store)
    at = open_page(dashboard_store, "quality")
    assert not exceptions(at), exceptions(at)
    text = page_text(at)
    assert "Quality" in text

    task = next(iter(report["tasks"]))  # the page opens on the report's first task and its primary metric
    primary = report["tasks"][task]["primary_metric"]
    assert at.selectbox(key="quality_task").value == task
    assert at.selectbox(key="quality_metric").value == primary
    rows = stored_rows(dashboard_store, run_id, task)
    assert_medians_shown(at, rows, "gap", primary)  # gap closed by default
    assert f"{task}: gap closed · {primary}" in page_text(at)

    at.radio(key="quality_measure").set_value("value").run()
    assert not exceptions(at), exceptions(at)
    assert_medians_shown(at, rows, "metrics", primary)

    metrics = [m for m in report["tasks"][task]["candidates"][rows[0]["candidate"]]["metrics"]]
    clips = sorted({r["clip"] for r in rows})
    assert at.selectbox(key="quality_clip").value == clips[0]
    assert_clip_table(at, rows, clips[0], "", metrics)
    at.selectbox(key="quality_clip").set_value(clips[-1]).run()
    assert_clip_table(at, rows, clips[-1], "", metrics)


def test_quality_page_with_variants_and_another_metric(dashboard_store):
    run_id, report = newest_run(dashboard_store)
    task = next(t for t in report["tasks"] if any(r["variant"] for r in stored_rows(dashboard_store, run_id, t)))
    rows = stored_rows(dashboard_store, run_id, task)
    variant = sorted({r["variant"] for r in rows})[-1]
    other = [m for m in report["tasks"][task]["candidates"][rows[0]["candidate"]]["metrics"]
             if m != report["tasks"][task]["primary_metric"] and not m.startswith("output.")][0]

    at = open_page(dashboard_store, "quality")
    at.selectbox(key="quality_task").set_value(task).run()
    at.selectbox(key="quality_metric").set_value(other).run()
    at.selectbox(key="quality_variant").set_value(variant).run()
    assert not exceptions(at), exceptions(at)
    assert_medians_shown(at, [r for r in rows if r["variant"] == variant], "gap", other)

    at.selectbox(key="quality_clip_variant").set_value(variant).run()
    assert not exceptions(at), exceptions(at)
    clip = at.selectbox(key="quality_clip").value
    metrics = list(report["tasks"][task]["candidates"][rows[0]["candidate"]]["metrics"])
    assert_clip_table(at, rows, clip, variant, metrics)


def test_render_excerpts_rebuilds_the_clip_and_matches_the_stored_scores(dashboard_store, smoke_home, monkeypatch):
    """One click from the evidence: the clip's audio is rebuilt from the shared smoke corpus, the candidates
    that need no fit are run again, and each rebuilt primary metric matches the stored one."""
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(dashboard_store.parent / "models"))  # the fixture's eq release
    at = open_page(dashboard_store, "quality")
    assert "Press **Render excerpts**" in page_text(at)
    at.button(key="quality_render").click().run()
    assert not exceptions(at), exceptions(at)
    text = page_text(at)
    assert "Every rebuilt signal matches the stored score" in text, text
    assert "needs its fit on the training split; not rebuilt here" in text  # match is not re-fitted
    checks = frame_with(at, "check")
    rebuilt = checks[checks["check"] == "matches"]["signal"]
    assert {"damaged input", "bypass", "oracle", "rules"} <= set(rebuilt)
    assert any(s.startswith("model:") for s in rebuilt), "the fixture release is rebuilt too"
    assert len(at.get("audio")) == len(rebuilt) + 1  # each rebuilt signal and the target
    cache = smoke_home / "dashboard" / "excerpts"
    assert sorted(p.name for p in cache.rglob("*.wav"))

    # the excerpts are cached: the page shows them again without a click
    at.run()
    assert "Every rebuilt signal matches the stored score" in page_text(at)


def test_render_without_the_corpus_says_so(dashboard_store):
    """This test's own cache (conftest's isolated DAWG_BENCH_HOME) has no corpus: the page says so and how to
    build it, and builds nothing."""
    home = Path(os.environ["DAWG_BENCH_HOME"])
    assert not list(home.glob("corpus/*/manifest.json"))
    at = open_page(dashboard_store, "quality")
    at.button(key="quality_render").click().run()
    assert not exceptions(at), exceptions(at)
    warnings = " ".join(w.value for w in at.warning)
    assert "is not on this machine" in warnings and "dawg-bench corpus build smoke" in warnings, warnings
    assert not list(home.glob("corpus/*/manifest.json"))

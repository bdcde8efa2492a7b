"""The Overview page on a store filled by a real small run: no exception; the gate verdicts, the best model's
gap closed and the INT8 speed it shows equal what the store holds (read here with plain sqlite3 and json,
not with the page's code); the promises table has the plan's seven claims."""

import json
import sqlite3
import statistics
from contextlib import closing

import pytest

from dashboards.promises import Verdict
from tests.dashboard_pages import exceptions, open_page, page_text

pytestmark = pytest.mark.slow(seconds=15)

CLAIMS = ["AI mastering: 70–85 % of pro quality; heuristics: 50–60 %", "Quality 6.5/10 → 9.2/10",
          "INT8: 4x smaller, 4x faster", "< 100 ms inference latency", "70 % of users prefer the ML version",
          "ROI 59x", "Budgets: $650 (proof of concept) and $1,800 a month (production)"]


def _rows(db, query, args=()):
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        return c.execute(query, args).fetchall()


def _latest_gates(db) -> dict[str, list[tuple[str, bool]]]:
    """(candidate) → [(gate, passed)] of the newest gate run of each (suite, candidate)."""
    out = {}
    for suite, candidate, newest in _rows(db, "SELECT suite, candidate, max(recorded_at) FROM gates "
                                               "GROUP BY suite, candidate"):
        out[candidate] = [(g, bool(p)) for g, p in _rows(
            db, "SELECT gate, passed FROM gates WHERE suite = ? AND candidate = ? AND recorded_at >= ?",
            (suite, candidate, newest - 1.0))]
    return out


@pytest.fixture(scope="module")
def page(dashboard_store):
    at = open_page(dashboard_store, "overview")
    return at, page_text(at)


def test_overview_renders_without_exception(page):
    at, text = page
    assert exceptions(at) == []
    for header in ("Release verdict", "Best model against every baseline", "Promises vs measurements"):
        assert header in text


def test_gate_verdicts_equal_the_stores_latest_gates(page, dashboard_store):
    at, text = page
    gates = _latest_gates(dashboard_store)
    assert gates, "the fixture run gates its release"
    metrics = {m.label: m.value for m in at.metric}
    for candidate, rows in gates.items():
        passed = sum(p for _, p in rows)
        failed = [g for g, p in rows if not p]
        assert metrics[f"release {candidate}"] == ("FAIL" if failed else "PASS")
        assert f"**{passed} passed · {len(failed)} failed** of {len(rows)} gates" in text
        shown = [m.value for m in at.markdown if m.value.startswith(":red[✗")]
        assert len(shown) == len(failed)
        for gate in failed:
            assert any(f"**{gate}**" in line for line in shown), gate


def test_best_models_gap_closed_equals_the_aggregates_row(page, dashboard_store):
    at, _ = page
    (run_id, report), = _rows(dashboard_store, "SELECT run_id, report FROM runs WHERE status = 'complete' "
                                               "ORDER BY finished_at DESC LIMIT 1")
    tasks = json.loads(report)["tasks"]
    metrics = {m.label: m.value for m in at.metric}
    checked = 0
    for task, info in tasks.items():
        rows = _rows(dashboard_store, "SELECT candidate, gap_median FROM aggregates WHERE run_id = ? AND task = ? "
                                      "AND metric = ? AND source = 'all' AND candidate LIKE 'model:%' "
                                      "AND gap_median IS NOT NULL ORDER BY gap_median DESC, candidate",
                     (run_id, task, info["primary_metric"]))
        if not rows:
            assert not any(label.startswith("model:") and task in label for label in metrics)
            continue
        best = rows[0][0]
        for source, gap in _rows(dashboard_store, "SELECT source, gap_median FROM aggregates WHERE run_id = ? AND "
                                                  "task = ? AND metric = ? AND candidate = ? AND source != 'all'",
                                 (run_id, task, info["primary_metric"], best)):
            label = next(label for label in metrics if label.startswith(f"{best} · {source}"))
            assert metrics[label] == f"{gap * 100:.1f} %"
            checked += 1
    assert checked >= 1, "the fixture run scores an eq model"


def test_promises_table_has_all_seven_claims(page):
    at, _ = page
    table = next(d.value for d in at.dataframe if "claim" in d.value.columns)
    assert list(table["claim"]) == CLAIMS
    assert set(table["verdict"]) <= {str(v) for v in Verdict}
    # only people can measure these two: the page must not pretend otherwise
    verdict = dict(zip(table["claim"], table["verdict"], strict=True))
    assert verdict["Quality 6.5/10 → 9.2/10"] == Verdict.NOT_MEASURABLE
    assert verdict["70 % of users prefer the ML version"] == Verdict.NOT_MEASURABLE


def test_int8_speed_shown_equals_the_measured_latency_rows(page, dashboard_store):
    at, _ = page
    rows = _rows(dashboard_store, "SELECT model, hardware, threads, precision, p50_ms, recorded_at FROM latencies "
                                  "WHERE source = 'measured' AND scope = 'controller' AND valid = 1 "
                                  "ORDER BY recorded_at")
    newest = {}
    for model, hardware, threads, precision, p50, _ in rows:
        newest[(model, hardware, threads, precision)] = p50
    ratios: dict[str, list[float]] = {}
    for (m, h, t, p), p50 in newest.items():
        if p == "int8" and (m, h, t, "fp32") in newest:
            ratios.setdefault(h, []).append(newest[(m, h, t, "fp32")] / p50)
    assert ratios, "the fixture's release is measured on CPU at both precisions"
    table = next(d.value for d in at.dataframe if "claim" in d.value.columns)
    measured = table.loc[table["claim"] == "INT8: 4x smaller, 4x faster", "measured"].iloc[0]
    for hardware, values in ratios.items():
        assert f"{hardware} median {statistics.median(values):.2f}x" in measured

"""The Latency page on a store filled by a real small run: its figures are the store's newest rows, MEASURED and
PROJECTED are labelled (table and chart legend), projections show their band and assumptions, the browser says
it was not measured yet; on a copy with an INVALID, an older and a browser row, each is shown as what it is."""

import json
import sqlite3
from contextlib import closing

import pytest

from tests.dashboard_pages import exceptions, open_page, page_text

pytestmark = pytest.mark.slow(seconds=15)

KEY = ("model", "precision", "hardware", "scope", "threads", "source")


def newest_rows(db) -> list[dict]:
    """The newest latency row of each (model, precision, hardware, scope, threads, source), straight from SQLite."""
    with closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True)) as c:
        c.row_factory = sqlite3.Row
        rows = [dict(r) for r in c.execute("SELECT * FROM latencies ORDER BY recorded_at")]
    newest = {}
    for r in rows:
        newest[tuple(r[k] for k in KEY)] = r
    return list(newest.values())


def main_table(at):
    """The page's table of every shown row (it has both the percentile and the projection columns)."""
    tables = [d.value for d in at.dataframe if {"p50 (ms)", "projected (ms)", "source"} <= set(d.value.columns)]
    assert tables, "the latency table is missing"
    return tables[0]


def table_row(table, **where):
    hit = table
    for column, value in where.items():
        hit = hit[hit[column].isna()] if value is None else hit[hit[column] == value]
    assert len(hit) == 1, f"expected one table row for {where}, found {len(hit)}"
    return hit.iloc[0]


def chart_specs(at) -> list[dict]:
    def walk(node):
        for child in getattr(node, "children", {}).values():
            yield child
            yield from walk(child)

    return [json.loads(e.proto.spec) for e in walk(at.main) if getattr(e, "type", "") == "vega_lite_chart"]


def test_latency_page_shows_the_stores_figures(dashboard_store):
    at = open_page(dashboard_store, "latency")
    assert exceptions(at) == []
    table = main_table(at)
    rows = newest_rows(dashboard_store)

    measured_cpu = [r for r in rows if r["source"] == "measured" and r["hardware"] == "cpu"]
    assert measured_cpu, "the fixture store has measured CPU rows"
    for r in measured_cpu:
        shown = table_row(table, release=r["model"], precision=r["precision"].upper(), hardware="cpu",
                          source="MEASURED", scope=r["scope"], threads=r["threads"])
        assert shown["p50 (ms)"] == pytest.approx(r["p50_ms"], rel=1e-12)
        assert shown["p95 (ms)"] == pytest.approx(r["p95_ms"], rel=1e-12)
        assert shown["status"] == "valid"

    t4 = [r for r in rows if r["hardware"] == "t4"]
    assert t4 and all(r["source"] == "projected" for r in t4), "no T4 here: its rows are projected"
    for r in t4:
        shown = table_row(table, release=r["model"], precision=r["precision"].upper(), hardware="t4",
                          scope=r["scope"], threads=None)
        assert shown["source"] == "PROJECTED"
        assert shown["projected (ms)"] == pytest.approx(r["projected_ms"], rel=1e-12)
        assert shown["band low (ms)"] == pytest.approx(r["projected_low_ms"], rel=1e-12)
        assert shown["band high (ms)"] == pytest.approx(r["projected_high_ms"], rel=1e-12)
        assert shown[["p50 (ms)", "p95 (ms)", "p99 (ms)"]].isna().all(), "a projection has no percentiles"

    assert set(table["source"]) == {"MEASURED", "PROJECTED"}
    text = page_text(at)
    assert "MEASURED" in text and "PROJECTED" in text
    # the chart's legend names both, in two different colours
    colours = [layer["encoding"]["color"]["scale"] for spec in chart_specs(at) for layer in spec.get("layer", [])
               if "color" in layer.get("encoding", {})]
    assert colours and all(s["domain"] == ["MEASURED", "PROJECTED"] and len(set(s["range"])) == 2 for s in colours)

    # the assumptions of the T4 projection: its datasheet and its efficiencies, as the store has them
    t4_assumptions = json.loads(t4[0]["assumptions"])
    assumption_tables = [d.value for d in at.dataframe if list(d.value.columns) == ["assumption", "value"]]
    shown_assumptions = {(row.assumption, row.value) for t in assumption_tables for row in t.itertuples()}
    assert ("source", t4_assumptions["source"]) in shown_assumptions
    assert ("compute_efficiency", f"{t4_assumptions['compute_efficiency']:.6g}") in shown_assumptions
    assert any(e.label.startswith("PROJECTED on t4") for e in at.expander)

    # FP32 against INT8: measured on the same hardware, scope and threads, and the ratio of their p50
    comparison = [d.value for d in at.dataframe if "INT8 speed-up at p50 (×)" in d.value.columns][0]
    fp32 = next(r for r in measured_cpu if r["precision"] == "fp32" and r["scope"] == "controller")
    int8 = next(r for r in measured_cpu if r["precision"] == "int8" and r["scope"] == "controller"
                and r["threads"] == fp32["threads"] and r["model"] == fp32["model"])
    pair = table_row(comparison, release=fp32["model"], hardware="cpu", scope="controller", threads=fp32["threads"])
    assert pair["INT8 speed-up at p50 (×)"] == pytest.approx(fp32["p50_ms"] / int8["p50_ms"], rel=1e-12)

    assert not any(r["hardware"].startswith("browser") for r in rows)
    assert "browser not measured yet: `dawg-bench latency --hardware browser`" in text


def test_invalid_older_and_browser_rows(dashboard_store, tmp_path):
    """A copy of the store gains an older row, an INVALID newest row and a browser row: the page shows the newest
    row only (counting the older one), the INVALID one with its reason and no figure, and the browser figures."""
    db = tmp_path / "results.db"
    with closing(sqlite3.connect(f"file:{dashboard_store}?mode=ro", uri=True)) as src, \
            closing(sqlite3.connect(db)) as dst:
        src.backup(dst)
    with closing(sqlite3.connect(db)) as c, c:
        c.row_factory = sqlite3.Row
        target = dict(c.execute("SELECT * FROM latencies WHERE source = 'measured' AND hardware = 'cpu' "
                                "AND scope = 'controller' AND precision = 'fp32' ORDER BY threads LIMIT 1").fetchone())
        columns = list(target)

        def insert(**change):
            row = {**target, **change}
            c.execute(f"INSERT INTO latencies ({', '.join(columns)}) VALUES ({', '.join('?' * len(columns))})",
                      [row[k] for k in columns])

        insert(recorded_at=target["recorded_at"] - 3600, p50_ms=123.0, p95_ms=456.0)  # older: not shown
        insert(recorded_at=target["recorded_at"] + 60, valid=0, p50_ms=0.001, p95_ms=0.002,
               reason="too few queries for p50 (test)")  # newest, INVALID
        insert(recorded_at=target["recorded_at"] + 60, hardware="browser:chromium-test", p50_ms=0.25, p95_ms=0.5,
               p99_ms=0.75, reason="1000 queries over 1.00 s (test)")
    at = open_page(db, "latency")
    assert exceptions(at) == []
    table = main_table(at)
    shown = table_row(table, release=target["model"], precision="FP32", hardware="cpu", source="MEASURED",
                      scope="controller", threads=target["threads"])
    assert shown["status"] == "INVALID" and shown["reason"] == "too few queries for p50 (test)"
    assert shown[["p50 (ms)", "p95 (ms)", "p99 (ms)"]].isna().all(), "an INVALID row shows no figure"
    assert 123.0 not in set(table["p50 (ms)"]), "the older row is not the one shown"
    text = page_text(at)
    assert "2 older row(s)" in text  # the replaced valid row and the older one
    assert "INVALID" in text and "too few queries for p50 (test)" in text
    assert "browser not measured yet" not in text
    browser = [d.value for d in at.dataframe if "cold start (ms)" in d.value.columns][0]
    row = table_row(browser, hardware="browser:chromium-test")
    assert (row["p50 (ms)"], row["p95 (ms)"], row["p99 (ms)"]) == (0.25, 0.5, 0.75)
    assert row["source"] == "MEASURED"

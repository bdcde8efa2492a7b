"""Golden files for the three outputs people and CI read: the run scorecard (harness/scorecard.py),
the gate's Markdown summary and its JUnit XML (harness/gate.py).

The inputs are fixed here, so a mismatch means the output changed: read the diff, and when the
change is wanted regenerate the files and commit them with it (tests/golden/README.md):

    DAWG_BENCH_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py
"""

from __future__ import annotations

import difflib
import io
import json
import os
from pathlib import Path

import jsonschema
from rich.console import Console

from harness.gate import Verdict, junit_xml, markdown_summary
from harness.scorecard import print_scorecards

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("DAWG_BENCH_UPDATE_GOLDEN") == "1"
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "run-schema.json").read_text())


def check_golden(name: str, actual: str, *, readable=lambda text: text) -> None:
    """Compare `actual` with tests/golden/`name` byte for byte; DAWG_BENCH_UPDATE_GOLDEN=1 rewrites it.
    `readable` only reshapes both sides for the diff shown on failure (e.g. one XML element a line)."""
    __tracebackhide__ = True
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8", newline="")
    assert path.exists(), f"{path} is missing: regenerate with DAWG_BENCH_UPDATE_GOLDEN=1 (tests/golden/README.md)"
    with open(path, encoding="utf-8", newline="") as f:  # exact bytes: no newline translation
        expected = f.read()
    if actual != expected:
        diff = "".join(difflib.unified_diff(readable(expected).splitlines(keepends=True),
                                            readable(actual).splitlines(keepends=True),
                                            fromfile=f"golden/{name}", tofile="actual"))
        raise AssertionError(f"{name} changed. If the change is intended, regenerate with "
                             f"DAWG_BENCH_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_golden.py "
                             f"and commit the golden file.\n{diff or repr(actual)}")


# -- a fixed run report ---------------------------------------------------------------------------


def _gap(median, lo, hi, worse, n=6):
    return {"median": median, "ci95": [lo, hi], "n": n, "worse_than_bypass": worse}


def _block(primary, median, lo, hi, gap, n=6):
    return {"metrics": {primary: {"mean": median, "median": median, "ci95": [lo, hi], "n": n}},
            "gap_closed": gap, "gap_closed_by_metric": {primary: gap}, "n_clips": n}


def _candidate(kind, verdict, primary, median, lo, hi, gap, by_source=None):
    out = {"kind": kind, "verdict": verdict, **_block(primary, median, lo, hi, gap)}
    if by_source is not None:
        out["by_source"] = {src: _block(primary, median, lo, hi, g, n=3) for src, g in by_source.items()}
    return out


def fixed_report() -> dict:
    """A run of two tasks on generated + recorded clips: bounds, baselines, a model, a skipped peer and
    recorded failures (with text rich would read as markup), so every part of the scorecard prints."""
    p = "mrstft_distance"
    eq = {
        "primary_metric": p, "direction": "lower", "best_baseline": "match",
        "ranking": ["oracle", "model:eq-v2@int8", "match", "rules", "bypass"],
        "candidates": {
            "oracle": _candidate("bound", "bound", p, 0.0012, 0.0009, 0.0015, _gap(1.0, 0.99, 1.0, 0.0),
                                 {"generated": _gap(1.0, 0.99, 1.0, 0.0), "recorded": _gap(0.998, 0.99, 1.0, 0.0)}),
            "model:eq-v2@int8": _candidate("model", "beats best baseline (match); worse than bypass on 17% of clips",
                                           p, 0.41, 0.35, 0.47, _gap(0.62, 0.48, 0.71, 1 / 6),
                                           {"generated": _gap(0.66, 0.5, 0.75, 0.0),
                                            "recorded": _gap(0.55, 0.31, 0.7, 1 / 3)}),
            "match": _candidate("baseline", "improves on bypass", p, 0.58, 0.51, 0.66, _gap(0.31, 0.22, 0.4, 0.0),
                                {"generated": _gap(0.33, 0.2, 0.41, 0.0), "recorded": _gap(0.29, 0.1, 0.4, 0.0)}),
            "rules": _candidate("baseline", "not separable from bypass", p, 0.83, 0.7, 1.02,
                                _gap(0.04, -0.1, 0.18, 0.5),
                                {"generated": _gap(0.06, -0.1, 0.2, 1 / 3), "recorded": _gap(-0.02, -0.2, 0.1, 2 / 3)}),
            "bypass": _candidate("bound", "bound", p, 0.86, 0.78, 0.95, _gap(0.0, 0.0, 0.0, 0.0),
                                 {"generated": _gap(0.0, 0.0, 0.0, 0.0), "recorded": _gap(0.0, 0.0, 0.0, 0.0)}),
        },
    }
    # eq's gaps carry what a current run adds (aggregate Σ gap, the audibility floor and the examples
    # left out below it); mastering's do not, as in a report written before them: "—", no floor note.
    for name, ratio in {"oracle": 0.999, "model:eq-v2@int8": 0.58, "match": 0.27, "rules": -0.03}.items():
        eq["candidates"][name]["gap_closed"].update(ratio_of_sums=ratio, below_floor=1, audible_floor=0.04)
    eq["candidates"]["bypass"]["gap_closed"].update(ratio_of_sums=None, below_floor=1, audible_floor=0.04)
    lu = "loudness_error_lu"
    mastering = {
        "primary_metric": lu, "direction": "lower", "best_baseline": "rules",
        "ranking": ["oracle", "rules", "bypass", "vst3"],
        "candidates": {
            "oracle": _candidate("bound", "bound", lu, 0.01, 0.0, 0.02, _gap(0.99, 0.98, 1.0, 0.0)),
            "rules": _candidate("baseline", "improves on bypass", lu, 0.72, 0.5, 0.93, _gap(0.81, 0.7, 0.88, 0.0)),
            "bypass": _candidate("bound", "bound", lu, 4.1, 3.2, 5.6, _gap(0.0, 0.0, 0.0, 0.0)),
            "vst3": _candidate("peer", "no data", lu, 12.5, 11.0, 14.25, None),
        },
    }
    return {
        "schema": 1, "run_id": "smoke-20250101T000000Z-0001", "suite": "smoke",
        "corpus": {"source": "generated+recorded", "clips": 20, "test_clips": 10,
                   "test_sources": ["generated", "recorded"], "manifest_hash": "0123456789abcdef" * 4},
        "tasks": {"eq": eq, "mastering": mastering},
        "latency": [],
        "failures": [{"task": "eq", "candidate": "rules", "clip": "gen-00003-rock",
                      "error": "RuntimeError: deliberately broken [bold]not markup[/bold]"},
                     {"task": None, "candidate": None, "clip": "rec-00001",
                      "error": "clips/rec-00001.wav: corrupt or truncated audio"}],
        "skipped": [{"candidate": "matchering", "reason": "matchering not installed: pip install '.[peers]'"}],
        "environment": {"cpu": "fixed", "python": "3.11", "libraries": {}},
    }


def test_fixed_report_is_a_valid_run_report():
    jsonschema.validate(fixed_report(), SCHEMA)


def test_scorecard_golden():
    console = Console(record=True, width=100, color_system=None, force_terminal=False, file=io.StringIO(),
                      legacy_windows=False)
    print_scorecards(fixed_report(), console)
    text = console.export_text()
    assert "[bold]" in text and "'.[peers]'" in text  # markup in data is printed, not interpreted
    check_golden("scorecard.txt", text)


# -- fixed gate verdicts ----------------------------------------------------------------------------

FAILING = [
    Verdict("abs", "eq", True, "p95 tonal_balance_error_db = 1.23 (bar ≤ 2, n=20)"),
    Verdict("harm", "eq", False, "worse than bypass on 40% of 20 clips (bar ≤ 20%)"),
    Verdict("baseline", "eq", False, "mrstft_distance − match: median +0.0312, 95% CI [+0.0101, +0.0533] over 20 "
                                     "clips (bar: CI entirely below 0)"),
    Verdict("previous", "eq", True, "median mrstft_distance 0.5 vs eq-v1 0.5 (bar ≤ +2%)"),
    Verdict("int8", "eq", True, "INT8 median mrstft_distance 0.501 vs FP32 0.5 (+0.2%; bar ±5%)"),
    Verdict("latency", "eq", False, "missing data: no end_to_end latency on t4 for eq-v2 int8; "
                                    "run `dawg-bench latency eq-v2`"),
]
PASSING = [
    Verdict("harm", "mastering", True, "worse than bypass on 0% of 20 clips (bar ≤ 20%)"),
    Verdict("latency", "mastering", True, "p95_ms 12.345 ms on t4 (PROJECTED) (bar ≤ 100 ms)"),
]


def test_gate_markdown_golden():
    text = markdown_summary("release", [("eq-v2", "release-run-1", FAILING),
                                        ("mastering-v1", "release-run-2", PASSING)])
    assert text.startswith("## DAWG Bench gate `release`: ❌ FAIL")
    check_golden("gate-summary.md", text)


def test_gate_junit_golden():
    xml = junit_xml("release", "eq-v2", FAILING, "0123456789abcdef")
    assert 'tests="6" failures="3"' in xml
    check_golden("gate-junit.xml", xml, readable=lambda text: text.replace("><", ">\n<"))


def test_scorecard_fits_100_columns():
    """Trust: tables wrapped badly at 80 columns in CI logs; the scorecard is laid out for 100."""
    text = (GOLDEN / "scorecard.txt").read_text()
    assert max(len(line.rstrip()) for line in text.splitlines()) <= 100

"""The plan, audited (pricing/audit.py, pricing/audit/plan_audit.toml, `dawg-bench cost seed`).

- Coverage: every `$`, `%` and `Nx` in the plan, found by an independent naive scan of the raw text,
  lies inside exactly one audited figure with a verdict.
- Golden file: the recomputed values (plan prices) are pinned in tests/golden/plan-audit.json;
  when a wanted change moves them, regenerate and commit it with the change:

      DAWG_BENCH_UPDATE_GOLDEN=1 .venv/bin/python -m pytest tests/test_pricing_audit.py -n 0

- The evaluator does arithmetic and nothing else; a few figures are recomputed by hand below.
"""

from __future__ import annotations

import argparse
import difflib
import hashlib
import json
import os
import re
from decimal import Decimal
from pathlib import Path

import pytest

from pricing import audit
from pricing.audit import (
    PLAN_PATH,
    VERDICTS,
    ExpressionError,
    evaluate,
    extract_figures,
    load_spec,
    run_audit,
    tolerance,
)
from pricing.audit_cli import format_value, main, register_seed, run_seed

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("DAWG_BENCH_UPDATE_GOLDEN") == "1"
SHARED_PLAN = Path(__file__).resolve().parents[1].parent / "shared" / "seed" / "dawg-ml-plan.md"
REQUIRED = {"claim", "line", "seed_value", "recomputed_value", "catalogue_value", "difference", "verdict", "reason"}


@pytest.fixture(scope="module")
def result() -> audit.Audit:
    return run_audit(use_catalogue=False)


@pytest.fixture(scope="module")
def rows(result) -> dict[tuple[int, str], list[dict]]:
    out: dict[tuple[int, str], list[dict]] = {}
    for row in result.rows:
        out.setdefault((row["line"], row["text"]), []).append(row)
    return out


def row(rows, line: int, text: str, nth: int = 1) -> dict:
    return rows[(line, text)][nth - 1]


def D(value) -> Decimal:  # noqa: N802 - reads like a literal
    return Decimal(str(value))


# ─── coverage: the acceptance test ───────────────────────────────────────────────────────────────


def naive_marks(text: str) -> dict[str, list[tuple[int, int]]]:
    """(line, column) of every '$', every '%' and every multiple ('4x', '59x', the '16x' of '2x-16x'),
    by the simplest scan there is: independent of pricing.audit's patterns."""
    marks: dict[str, list[tuple[int, int]]] = {"dollar": [], "percent": [], "multiple": []}
    for number, line in enumerate(text.splitlines(), start=1):
        marks["dollar"] += [(number, m.start()) for m in re.finditer(r"\$", line)]
        marks["percent"] += [(number, m.start()) for m in re.finditer(r"%", line)]
        marks["multiple"] += [(number, m.start()) for m in re.finditer(r"\d+x\b", line)]
    return marks


def test_every_dollar_percent_and_multiple_is_audited_with_a_verdict(result):
    text = PLAN_PATH.read_text(encoding="utf-8")
    marks = naive_marks(text)
    # The plan as of 2025-10-19: 116 dollar signs, 29 percent signs, 14 multiples (2x-16x is one figure).
    assert {k: len(v) for k, v in marks.items()} == {"dollar": 116, "percent": 29, "multiple": 14}
    spans = [(r["line"], r["column"] - 1, r["column"] - 1 + len(r["text"]), r) for r in result.rows]
    for kind, positions in marks.items():
        for line, col in positions:
            covering = [r for n, start, end, r in spans if n == line and start <= col < end]
            assert len(covering) == 1, f"line {line} col {col + 1} ({kind}) is covered by {len(covering)} figures"
            assert covering[0]["kind"] == kind
            assert covering[0]["verdict"] in VERDICTS and covering[0]["verdict"] != "unaudited"
            assert covering[0]["reason"]
    by_kind = {k: [r for r in result.rows if r["kind"] == k] for k in marks}
    assert len(by_kind["dollar"]) == len(marks["dollar"])  # one '$' per dollar figure, ranges included
    assert len(by_kind["percent"]) == len(marks["percent"])
    assert sum(len(re.findall(r"\d+x\b", r["text"])) for r in by_kind["multiple"]) == len(marks["multiple"])
    assert len(result.rows) == 158
    assert result.unaudited == [] and result.stale == []


def test_each_row_has_the_required_fields(result):
    for r in result.rows:
        assert REQUIRED <= set(r), r
        json.dumps(r)  # JSON-ready


def test_audited_plan_is_the_owners_plan():
    spec = load_spec()
    assert hashlib.sha256(PLAN_PATH.read_bytes()).hexdigest() == spec.plan_sha256
    if not SHARED_PLAN.exists():
        pytest.skip(f"{SHARED_PLAN} not in this checkout")
    assert SHARED_PLAN.read_bytes() == PLAN_PATH.read_bytes(), "the plan changed: update the copy, the spec and sha"


# ─── verdicts agree with the numbers ─────────────────────────────────────────────────────────────


def _figures():
    return {f.key: f for f in extract_figures(PLAN_PATH.read_text(encoding="utf-8"))}


def test_ok_means_within_rounding_and_a_slip_means_outside(result):
    figures = _figures()
    checked = 0
    for r in result.rows:
        if r["recomputed_value"] is None or r["verdict"] not in ("ok", "arithmetic slip"):
            continue
        fig = next(f for f in figures.values() if f.line == r["line"] and f.col == r["column"] - 1)
        tol = tolerance(fig)
        lo, hi = fig.low, fig.high if fig.high is not None else fig.low
        rec = r["recomputed_value"] if isinstance(r["recomputed_value"], list) else [r["recomputed_value"]]
        if r["verdict"] == "ok":  # the true values lie within the plan's figure or range, up to its rounding
            assert all(lo - tol <= D(v) <= hi + tol for v in rec), (r["line"], r["text"], rec)
        elif len(rec) == 2:  # a range with a slip: an end the prices do not give (40-55 % where both are 40 %)
            assert abs(D(rec[0]) - lo) > tol or abs(D(rec[1]) - hi) > tol, (r["line"], r["text"], rec)
        else:
            assert not lo - tol <= D(rec[0]) <= hi + tol, (r["line"], r["text"], rec)
        checked += 1
    assert checked > 80


def test_verdicts_and_reasons_are_complete():
    spec = load_spec()
    for entry in spec.entries:
        assert entry.verdict in VERDICTS and entry.verdict != "unaudited"
        assert entry.reason.endswith(".") and len(entry.reason) < 260, entry.reason
        if entry.verdict in ("ok", "arithmetic slip", "different unit", "missing component"):
            assert entry.expressions, f"{entry.locations}: a {entry.verdict!r} verdict must show its arithmetic"


# ─── golden file ─────────────────────────────────────────────────────────────────────────────────


def check_golden(name: str, actual: str) -> None:
    """Byte-for-byte against tests/golden/`name` (tests/test_golden.py's convention)."""
    __tracebackhide__ = True
    path = GOLDEN / name
    if UPDATE:
        path.write_text(actual, encoding="utf-8", newline="")
    assert path.exists(), f"{path} is missing: regenerate with DAWG_BENCH_UPDATE_GOLDEN=1"
    expected = path.read_text(encoding="utf-8")
    if actual != expected:
        diff = "".join(difflib.unified_diff(expected.splitlines(keepends=True), actual.splitlines(keepends=True),
                                            fromfile=f"golden/{name}", tofile="actual"))
        raise AssertionError(f"{name} changed; if intended: DAWG_BENCH_UPDATE_GOLDEN=1 .venv/bin/python -m pytest "
                             f"tests/test_pricing_audit.py -n 0, and commit it.\n{diff}")


def test_recomputed_values_match_the_golden_file(result):
    # Plan-side values only: the catalogue side moves with every new snapshot (tested below on a dated one).
    keep = ("line", "text", "kind", "seed_value", "recomputed_value", "difference", "verdict", "expression")
    pinned = [{k: r[k] for k in keep} for r in result.rows]
    text = "[\n" + ",\n".join(json.dumps(p, ensure_ascii=False) for p in pinned) + "\n]\n"  # a figure a line
    check_golden("plan-audit.json", text)


# ─── hand-checked recomputations ─────────────────────────────────────────────────────────────────


def test_production_budget_1800_is_option_3_with_its_savings_plan(rows):
    # Option 3 On-Demand: 4 × $0.526 × 730 h = $1,535.92 EC2 + $25 ALB + $3.50 API + 5,000 GB × $0.085 = $425
    # CloudFront + 5,000 GB × $0.023 = $115 S3 + $300 transfer = $2,404.42 (the plan: $2,404.50).
    assert D(row(rows, 575, "$2,404.50")["recomputed_value"]) == D("2404.42")
    # With the 1-year Savings Plan: $2,404.42 − $1,535.92 + 4 × $230 = $1,788.50 ≈ the $1,800/month budget.
    for line, text in ((651, "$1,800"), (736, "$1,800/month"), (755, "$1,800/month")):
        r = row(rows, line, text)
        assert D(r["recomputed_value"]) == D("1788.5") and r["verdict"] == "ok"
    # The plan heads that line "3-Year Savings Plan" but uses the 1-year $230: at its own 3-year $153,
    # EC2 is 4 × $153 = $612, not $920.
    assert D(row(rows, 580, "$920")["recomputed_value"]) == 612
    assert row(rows, 580, "$920")["verdict"] == "wrong premise"


def test_roi_59x_is_gross_revenue_over_cost(rows):
    cost = D(row(rows, 599, "$673")["recomputed_value"])  # $981.465 − 2 × $383.98 + 2 × $230 = $673.505
    assert cost == D("673.505")
    new_revenue = D(2000) * 20  # +2,000 users × $20 = $40,000 a month
    gross = new_revenue / cost  # 59.39x: the plan's "59x" divides revenue by cost
    net = (new_revenue - cost) / cost  # 58.39x: a return nets the cost out
    assert round(gross, 2) == D("59.39") and round(net, 2) == D("58.39")
    r = row(rows, 613, "59x")
    assert D(r["recomputed_value"]) == round(net, 4) and r["verdict"] == "wrong premise"


def test_arithmetic_slips(rows):
    # Baseline: 2 × $0.526 × 730 h = $767.96, not $753.
    assert D(row(rows, 412, "$753/month")["recomputed_value"]) == D("767.96")
    # g5 Savings Plan: 1 − $4.25 / $7.09 = 40.06 %, not 55 %.
    assert D(row(rows, 299, "55%")["recomputed_value"]) == D("40.0564")
    # Spot one-time total: $95.50 + 150 × $3.67 + ($13.60 + $0.046) + $50 = $709.646, not $559.15.
    assert D(row(rows, 515, "$559.15")["recomputed_value"]) == D("709.646")
    # "Savings: ~$100-200/month" from $920 − $850 = $70: $30 below the range.
    r = row(rows, 495, "$100-200/month")
    assert r["recomputed_value"] == 70 and r["difference"] == -30


def test_one_models_poc_and_the_year_one_total(rows):
    # "$550" of Spot is 150 h for three models; Auto EQ alone: 48 h × $3.67 = $176.16.
    assert D(row(rows, 623, "$550")["recomputed_value"]) == D("176.16")
    # PoC: $95.50 data + $176.16 + $13.646 export + $50 testing + 2 × $85.83 browser-only = $506.966.
    assert D(row(rows, 620, "$650")["recomputed_value"]) == D("506.966")
    # Year 1 on the plan's own timeline: $650 + $2,500 + 6 × $1,800 (production in months 7-12) = $13,950.
    assert row(rows, 738, "$24,250")["recomputed_value"] == 13950
    assert row(rows, 740, "$21,600")["recomputed_value"] == 10800


def test_savings_plan_training_is_a_wrong_premise(rows):
    # $637.50 = 150 h × $4.25 needs a 1-year commitment; a one-off job pays 150 × $7.09 = $1,063.50.
    for line in (299, 301, 507):
        r = row(rows, line, "$637.50")
        assert D(r["recomputed_value"]) == D("1063.5") and r["verdict"] == "wrong premise"
    # so the one-time total is $95.50 + $1,063.50 + $13.646 + $50 = $1,222.646, not $796.65.
    assert D(row(rows, 510, "$796.65")["recomputed_value"]) == D("1222.646")


# ─── extraction ──────────────────────────────────────────────────────────────────────────────────


def test_extraction_reads_units_ranges_and_suffixes():
    text = ("S3: 500GB × $0.023/GB/month = $11.50/month\n"
            "Savings: ~$100-200/month, Annual: $2.4M\n"
            "- User retention: +15-25% and 80%+ and (40% savings)\n"
            "ml.p3.8xlarge (4x V100 GPUs), 2x-16x, ROI: 50-100x, 4x smaller, 4x faster\n")
    figs = [(f.line, f.kind, f.text, f.low, f.high, f.nth) for f in extract_figures(text)]
    assert figs == [
        (1, "dollar", "$0.023/GB/month", D("0.023"), None, 1),
        (1, "dollar", "$11.50/month", D("11.50"), None, 1),
        (2, "dollar", "$100-200/month", 100, 200, 1),
        (2, "dollar", "$2.4M", 2_400_000, None, 1),
        (3, "percent", "+15-25%", 15, 25, 1),
        (3, "percent", "80%+", 80, None, 1),
        (3, "percent", "40%", 40, None, 1),
        (4, "multiple", "4x", 4, None, 1),
        (4, "multiple", "2x-16x", 2, 16, 1),
        (4, "multiple", "50-100x", 50, 100, 1),
        (4, "multiple", "4x", 4, None, 2),
        (4, "multiple", "4x", 4, None, 3),
    ]
    assert extract_figures(text) == extract_figures(text)  # deterministic


# ─── the evaluator ───────────────────────────────────────────────────────────────────────────────


def test_evaluator_does_exact_decimal_arithmetic():
    assert evaluate("0.1 + 0.2", {}) == D("0.3")  # exact, unlike floats
    assert evaluate("(g4dn_hourly * 730) * 2", {"g4dn_hourly": D("0.526")}) == D("767.96")
    assert evaluate("max(1, min(a, 3)) - -1", {"a": D(2)}) == 3
    assert evaluate("1 / 8", {}) == D("0.125")


@pytest.mark.parametrize("expr", [
    "__import__('os').system('true')", "a.b", "2 ** 10", "7 // 2", "7 % 2", "1 if a else 2", "[1, 2]",
    "lambda: 1", "open('x')", "min(*a)", "max(a, key=b)", "'text'", "a == 1", "a and b", "~a", "x := 1",
    "True", "1j",
])
def test_evaluator_refuses_anything_but_arithmetic(expr):
    with pytest.raises(ExpressionError):
        evaluate(expr, {"a": D(1), "b": D(2), "x": D(3)})


def test_evaluator_names_unknown_names_and_division_by_zero():
    with pytest.raises(ExpressionError, match="unknown name 'nope'"):
        evaluate("nope * 2", {})
    with pytest.raises(ExpressionError, match="division by zero"):
        evaluate("1 / (a - a)", {"a": D(1)})


def test_spec_refuses_non_arithmetic_and_unknown_names(tmp_path):
    bad = tmp_path / "bad.toml"
    bad.write_text('[quantities]\nx = { value = "1" }\n[[figure]]\nline = 1\ntext = "$1"\n'
                   'expr = "__import__(\'os\')"\nverdict = "ok"\nreason = "r."\n')
    with pytest.raises(ExpressionError, match="Call is not allowed"):
        load_spec(bad)
    bad.write_text('[[figure]]\nline = 1\ntext = "$1"\nexpr = "y * 2"\nverdict = "ok"\nreason = "r."\n')
    with pytest.raises(ExpressionError, match="undefined name"):
        load_spec(bad)
    bad.write_text('[[figure]]\nline = 1\ntext = "$1"\nverdict = "fine"\nreason = "r."\n')
    with pytest.raises(audit.UserError, match="verdict 'fine'"):
        load_spec(bad)


# ─── the catalogue cross-check ───────────────────────────────────────────────────────────────────


def test_catalogue_not_wired_is_said_not_failed(monkeypatch):
    monkeypatch.setattr(audit, "_catalog_module", lambda: None)
    assert audit.catalog_prices(["ec2.g4dn.xlarge"]) is None
    got = run_audit()
    assert got.catalogue == audit.NOT_WIRED
    assert all(r["catalogue_value"] is None for r in got.rows)


def test_a_broken_default_catalogue_still_audits_the_plan(monkeypatch):
    def broken(names, catalog=None):
        raise audit.UserError("pricing/catalog/x.toml: not valid TOML")

    monkeypatch.setattr(audit, "catalog_prices", broken)
    got = run_audit()
    assert got.catalogue.startswith("catalogue: unavailable (") and len(got.rows) == 158
    with pytest.raises(audit.UserError):  # a catalogue asked for by name must load
        run_audit(catalog="2026-12-01")


def test_catalogue_cross_check_on_the_2026_12_01_snapshot():
    if audit.catalog_prices([]) is None:
        pytest.skip("no price catalogue module yet")
    catalogs = Path(audit.__file__).with_name("catalog")
    if not (catalogs / "2026-12-01.toml").exists() and not (catalogs / "2026-12-01.json").exists():
        pytest.skip("catalogue snapshot 2026-12-01 not present")
    spec = load_spec()
    prices = audit.catalog_prices([q.sku for q in spec.quantities.values() if q.sku], "2026-12-01")
    assert prices is not None and len(prices) == len({q.sku for q in spec.quantities.values() if q.sku})
    got = {(r["line"], r["text"]): r for r in run_audit(catalog="2026-12-01").rows}
    # SageMaker's ml.p3.8xlarge is $14.688/h, not EC2's $12.24: 150 h = $2,203.20.
    assert D(got[(294, "$1,836")]["catalogue_value"]) == D("2203.2")
    assert D(got[(247, "$11.50/month")]["catalogue_value"]) == D("11.5")  # 500 GB × $0.023: agrees
    assert got[(595, "$200,000/month")]["catalogue_value"] is None  # no price in it
    assert got[(595, "$200,000/month")]["catalogue"] == "no catalogue price in this figure"


# ─── the CLI ─────────────────────────────────────────────────────────────────────────────────────


def test_json_output_is_the_list(capsys):
    assert main(["--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert isinstance(data, list) and len(data) == 158 and REQUIRED <= set(data[0])


def test_table_output(capsys):
    assert main(["--findings"]) == 0
    out = capsys.readouterr().out
    assert "wrong premise" in out and "$1,063.50" in out and "158 figures" in out
    assert "│ ok " not in out and "│ not a cost" not in out  # --findings hides them


def test_registered_under_the_cost_command(capsys):
    parser = argparse.ArgumentParser(prog="cost")
    parser.add_argument("--json", action="store_true", default=False)
    verbs = parser.add_subparsers(dest="verb")
    register_seed(verbs)
    args = parser.parse_args(["--json", "seed"])  # --json before the verb survives
    assert args.cost_verb is run_seed and args.json is True
    assert args.cost_verb(args) == 0
    assert json.loads(capsys.readouterr().out)[0]["line"] == 34


def test_a_changed_plan_exits_1_and_names_what_is_missing(tmp_path, capsys):
    plan = tmp_path / "plan.md"
    plan.write_text(PLAN_PATH.read_text(encoding="utf-8") + "New line: $5/month extra\n", encoding="utf-8")
    assert main(["--plan", str(plan), "--json"]) == 1
    assert "unaudited: line 760 '$5/month'" in capsys.readouterr().err
    assert main(["--plan", str(tmp_path / "missing.md")]) == 2


def test_value_formatting():
    assert format_value(14.688, "dollar") == "$14.688"
    assert format_value(1063.5, "dollar") == "$1,063.50"
    assert format_value([2, 16], "multiple") == "2x – 16x"
    assert format_value(-14.9436, "percent", signed=True) == "−14.94 pp"
    assert format_value(None, "dollar") == "—"

"""`dawg-bench cost capacity | roi | seed` through the CLI: they read the store's latency rows, the catalogue's
prices and the plan, and bad input is one line."""

import json

from harness.cli import main
from harness.store import Store


def _row(hardware, source, p50, p95, **extra):
    return {"model": "eq-v1", "task": "eq", "precision": "fp32", "hardware": hardware, "source": source,
            "scope": "end_to_end", "threads": 1 if source == "measured" else None, "clip_seconds": 10.0,
            "p50_ms": p50, "p95_ms": p95, "valid": True, "reason": "", **extra}


def test_capacity_reads_latency_rows_and_catalogue_prices(tmp_path, capsys, monkeypatch):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "none"))
    db = tmp_path / "r.db"
    store = Store(db)
    store.add_latencies([_row("cpu", "measured", 20.0, 22.0),
                         _row("t4", "projected", None, None, projected_ms=25.0, projected_low_ms=20.0,
                              projected_high_ms=30.0)])
    store.close()
    assert main(["cost", "capacity", "--db", str(db), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    by_target = {t["target"]: t for t in report["targets"]}
    assert by_target["cpu"]["service_time"]["label"] == "MEASURED"
    assert by_target["t4"]["service_time"]["label"] == "PROJECTED"
    assert by_target["cpu"]["usd_per_hour"].startswith("0.1785")  # ec2.c7i.xlarge from the 2026-12-01 catalogue
    assert "catalogue" in report["prices_from"]
    assert main(["cost", "capacity", "--db", str(db), "--users", "100000"]) == 0
    assert "MEASURED" in capsys.readouterr().out


def test_capacity_without_latency_rows_is_one_line(tmp_path, capsys):
    assert main(["cost", "capacity", "--db", str(tmp_path / "empty.db")]) == 2
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "dawg-bench latency" in err and "Traceback" not in err
    assert main(["cost", "capacity", "--db", str(tmp_path / "empty.db"), "--slo-ms", "-5"]) == 2


def test_roi_and_seed_verbs(capsys):
    assert main(["cost", "roi", "--draws", "500", "--json"]) == 0
    roi = json.loads(capsys.readouterr().out)
    assert roi["gross_roi_multiple"] != roi["net_roi_multiple"]  # kept apart
    assert main(["cost", "seed", "--json"]) == 0
    audit = json.loads(capsys.readouterr().out)
    assert len(audit) == 158 and {"claim", "seed_value", "recomputed_value", "verdict", "reason"} <= set(audit[0])


def test_the_bare_command_with_a_load_adds_the_fleet(tmp_path, capsys, monkeypatch):
    """`dawg-bench cost --users N --slo-ms N`: the preset's breakdown, then the fleet that load needs."""
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "none"))
    db = tmp_path / "r.db"
    store = Store(db)
    store.add_latencies([_row("cpu", "measured", 20.0, 22.0)])
    store.close()
    assert main(["cost", "--users", "20000", "--slo-ms", "100", "--db", str(db)]) == 0
    out = capsys.readouterr().out
    assert "total:" in out and "capacity: profile controller" in out and "MEASURED" in out


def test_cost_help_prints_the_seed_line_as_written(capsys):
    """argparse formats help with %: a bare % in it once printed the parser's own dict instead."""
    import pytest

    for argv in (["cost", "--help"], ["cost", "seed", "--help"]):
        with pytest.raises(SystemExit):
            main(argv)
        out = capsys.readouterr().out
        assert "every $, % and x figure" in " ".join(out.split()) and "option_strings" not in out, argv

"""The browser target (issue 14): ONNX Runtime Web in a Web Worker in headless Chromium.

One `dawg-bench latency --hardware browser` run on fixture releases (module fixture) gives the rows
the tests read: measured, labelled with Chromium's version, backend and threads, p50/p95 under the
load generator's rules, cold start, wire bytes, memory, and parity with native onnxruntime within
1e-4 for FP32 and INT8. A model onnxruntime-web cannot load, missing Chromium and missing assets
give INVALID rows with the reason while other targets are still measured. The asset server binds
127.0.0.1, sends the cross-origin isolation headers and leaves no listener behind.
"""

import contextlib
import io
import json
import socket
import sqlite3
import urllib.error
import urllib.request
from pathlib import Path

import pytest

from harness.cli import main
from harness.latency.browser import measure as browser_measure
from harness.latency.browser import runner as browser_runner
from harness.latency.browser import server as browser_server
from harness.latency.browser.measure import measure_in_browser
from harness.latency.loadgen import Settings, min_queries_for, single_stream_result
from harness.models import find_release
from tests.browser_fixtures import build_unloadable_release, link_assets, shared_browser_assets
from tests.model_fixtures import build_fixture_release

QUICK = ["--min-queries", "500", "--min-duration", "0.2", "--clip-seconds", "1"]


def _listening(base_url: str) -> bool:
    host, port = base_url.removeprefix("http://").split(":")
    with contextlib.suppress(OSError), socket.create_connection((host, int(port)), timeout=1):
        return True
    return False


@pytest.fixture(scope="module")
def assets(tmp_path_factory):
    return shared_browser_assets(tmp_path_factory)


@pytest.fixture(scope="module")
def cli_run(assets, tmp_path_factory):
    """`dawg-bench latency --hardware browser --json` on a fixture release (FP32 + INT8) and an
    unloadable one, 1 and 2 WASM threads; the base URL of every server it started."""
    home = tmp_path_factory.mktemp("browser-home")
    models = home / "models"
    build_fixture_release(models, "eq")
    build_unloadable_release(models)
    link_assets(home, assets)
    served: list[str] = []
    real_serve = browser_runner.serve

    @contextlib.contextmanager
    def recording_serve(mounts):
        with real_serve(mounts) as base_url:
            served.append(base_url)
            assert _listening(base_url)
            yield base_url

    with pytest.MonkeyPatch.context() as mp, contextlib.redirect_stdout(stdout := io.StringIO()):
        mp.setenv("DAWG_BENCH_HOME", str(home))
        mp.setenv("DAWG_BENCH_MODELS", str(models))
        mp.setattr(browser_runner, "serve", recording_serve)
        mp.setattr(browser_measure.os, "cpu_count", lambda: 2)  # threads 1 and 2 on any machine
        code = main(["latency", "fixture-eq-v1", "fixture-unloadable-v1", "--hardware", "browser", "--json",
                     "--db", str(home / "r.db"), *QUICK])
    return code, json.loads(stdout.getvalue())["latency"], served, home / "r.db"


@pytest.mark.slow(seconds=14)  # the module's browser run (cli_run): Chromium, 6 measurements
def test_rows_for_every_release_precision_and_thread_count(cli_run):
    code, rows, _, _ = cli_run
    assert code == 1  # the unloadable release's row is INVALID
    keys = {(r["model"], r["precision"], r["threads"]) for r in rows}
    assert keys == {("fixture-eq-v1", p, t) for p in ("fp32", "int8") for t in (1, 2)} | \
                   {("fixture-unloadable-v1", "fp32", t) for t in (1, 2)}
    for r in rows:
        assert r["source"] == "measured" and r["scope"] == "controller"
        assert r["hardware"].startswith("browser:chromium-") and r["hardware"][len("browser:chromium-"):][0].isdigit()
        assert r["provider"] == "onnxruntime-web wasm"
        assert "controller only" in r["assumptions"]["scope"]  # the scope is said on every row


@pytest.mark.slow(seconds=0)  # shares the module's browser run
def test_measured_rows_have_percentiles_cold_start_bytes_memory_and_parity(cli_run):
    _, rows, _, _ = cli_run
    good = [r for r in rows if r["model"] == "fixture-eq-v1"]
    model_dir = find_release("fixture-eq-v1", cli_run[3].parent / "models").folder
    for r in good:
        b = r["browser"]
        assert r["valid"], r["reason"]
        assert r["queries"] >= 500 and 0 < r["p50_ms"] <= r["p95_ms"] <= r["p99_ms"]
        assert b["backend"] == "wasm" and b["runtime"] == "onnxruntime-web 1.30.0" and b["threads"] == r["threads"]
        assert b["cross_origin_isolated"] is True
        parts = b["cold_start_parts"]
        assert b["cold_start_ms"] > parts["session_create_ms"] > 0 and parts["first_run_ms"] > 0
        file = "model.onnx" if r["precision"] == "fp32" else "model.int8.onnx"
        size = b["model_bytes"]
        assert size["raw"] == (Path(model_dir) / file).stat().st_size
        assert 0 < size["gzip"] and size["brotli"] is not None and 0 < size["brotli"]
        assert b["runtime_bytes"]["raw"] > 1_000_000 and b["runtime_bytes"]["gzip"] < b["runtime_bytes"]["raw"]
        # Parity with native onnxruntime, FP32 and INT8 alike.
        assert b["parity_ok"] and b["parity_max_abs_diff"] <= 1e-4 and b["parity_inputs"] == 8
        if r["threads"] == 1 and b["memory_bytes"] is not None:
            assert b["memory_bytes"] > 1_000_000 and "measureUserAgentSpecificMemory" in b["memory_how"]
        else:  # with WASM threads (or a late answer) no figure, and it says so
            assert b["memory_bytes"] is None and b["memory_how"].startswith("not reported")
    assert any(r["browser"]["memory_bytes"] for r in good if r["threads"] == 1)


@pytest.mark.slow(seconds=0)  # shares the module's browser run
def test_unloadable_model_is_invalid_with_the_runtimes_reason(cli_run):
    _, rows, _, _ = cli_run
    bad = [r for r in rows if r["model"] == "fixture-unloadable-v1"]
    for r in bad:
        assert not r["valid"] and "onnxruntime-web could not load or run the model" in r["reason"]
        assert "NoSuchOp" in r["reason"]
        assert r["p50_ms"] is None and r["p95_ms"] is None and r["queries"] is None  # no figure, never faked


@pytest.mark.slow(seconds=0)  # shares the module's browser run
def test_rows_are_stored_like_every_other_row(cli_run):
    _, rows, _, db = cli_run
    with sqlite3.connect(db) as c:
        stored = c.execute("SELECT model, precision, hardware, source, threads, valid, p95_ms, assumptions "
                           "FROM latencies").fetchall()
    assert len(stored) == len(rows)
    for model, _, hardware, source, _, valid, p95, assumptions in stored:
        assert hardware.startswith("browser:chromium-") and source == "measured"
        assert bool(valid) == (model == "fixture-eq-v1") and (p95 is not None) == bool(valid)
        if valid:  # the browser's own figures are kept with the row
            assert json.loads(assumptions)["browser"]["cold_start_ms"] > 0


@pytest.mark.slow(seconds=0)  # shares the module's browser run
def test_the_server_is_gone_when_the_measurement_ends(cli_run):
    _, _, served, _ = cli_run
    assert served and all(url.startswith("http://127.0.0.1:") for url in served)
    assert not any(_listening(url) for url in served)


@pytest.mark.slow(seconds=0)  # shares the module's browser run
def test_percentiles_follow_the_load_generators_rules(cli_run):
    """The worker only times queries; percentiles and validity are loadgen's, as on every target."""
    _, rows, _, _ = cli_run
    r = next(r for r in rows if r["valid"])
    assert r["rule"] == single_stream_result([1.0] * 10, 1.0, Settings()).rule
    assert r["queries"] >= min_queries_for(99)


def test_server_sends_isolation_headers_serves_only_its_files_and_binds_loopback(tmp_path):
    (tmp_path / "a.js").write_text("export {}")
    (tmp_path / ".hidden").write_text("no")
    with browser_server.serve({"/x/": tmp_path}) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        with urllib.request.urlopen(f"{base_url}/x/a.js") as response:
            headers = response.headers
        assert headers["Cross-Origin-Opener-Policy"] == "same-origin"
        assert headers["Cross-Origin-Embedder-Policy"] == "require-corp"
        assert headers["Cache-Control"] == "no-store" and headers["Content-Type"] == "text/javascript"
        for path in ("/x/.hidden", "/x/../x/a.js", "/y/a.js", "/x/"):
            with pytest.raises(urllib.error.HTTPError) as err:
                urllib.request.urlopen(base_url + path)
            assert err.value.code == 404
    assert not _listening(base_url)


@pytest.mark.slow(seconds=4)
def test_threads_without_cross_origin_isolation_are_invalid_not_relabelled(assets, tmp_path, monkeypatch):
    """Without COOP/COEP the runtime would quietly run one thread: the row must say INVALID."""
    build_fixture_release(tmp_path, "eq")
    monkeypatch.setattr(browser_server, "ISOLATION_HEADERS", {"Cache-Control": "no-store"})
    rows = measure_in_browser([find_release("fixture-eq-v1", tmp_path)], thread_counts=(2,), precisions=("fp32",),
                              clip_seconds=1.0, assets_folder=assets.dist.parents[2],
                              settings=Settings(min_duration_s=0.1))
    assert len(rows) == 1 and not rows[0]["valid"]
    assert "cross-origin isolation" in rows[0]["reason"] and rows[0]["p50_ms"] is None


@pytest.mark.slow(seconds=5)
def test_no_chromium_gives_invalid_rows_and_the_cpu_is_still_measured(tmp_path, monkeypatch, capsys):
    build_fixture_release(tmp_path / "models", "eq")
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "models"))
    monkeypatch.setattr(browser_measure, "chromium_executable", lambda: None)
    db = tmp_path / "r.db"
    code = main(["latency", "--hardware", "cpu,browser", "--json", "--db", str(db), "--min-queries", "50",
                 "--min-duration", "0.05", "--clip-seconds", "1"])
    rows = json.loads(capsys.readouterr().out)["latency"]
    assert code == 1
    browser = [r for r in rows if r["hardware"].startswith("browser")]
    assert {(r["precision"], r["valid"]) for r in browser} >= {("fp32", False), ("int8", False)}
    assert all("Chromium not found" in r["reason"] and r["p50_ms"] is None for r in browser)
    cpu = [r for r in rows if r["hardware"] == "cpu" and r["source"] == "measured"]
    assert cpu and all(r["valid"] for r in cpu)
    with sqlite3.connect(db) as c:
        assert c.execute("SELECT COUNT(*) FROM latencies WHERE hardware = 'browser' AND valid = 0").fetchone()[0] \
            == len(browser)


def test_missing_assets_give_invalid_rows_that_say_how_to_install(tmp_path):
    build_fixture_release(tmp_path, "eq")
    rows = measure_in_browser([find_release("fixture-eq-v1", tmp_path)], thread_counts=(1,),
                              assets_folder=tmp_path / "nothing-here")
    assert len(rows) == 2 and not any(r["valid"] for r in rows)
    assert all("--setup-browser" in r["reason"] and r["p50_ms"] is None for r in rows)
    assert all(r["hardware"].startswith("browser:chromium-") or r["hardware"] == "browser" for r in rows)


def test_setup_browser_is_idempotent_and_names_chromium(assets, tmp_path, monkeypatch, capsys):
    home = tmp_path / "home"
    link_assets(home, assets)
    monkeypatch.setenv("DAWG_BENCH_HOME", str(home))
    assert main(["latency", "--setup-browser"]) == 0
    out = capsys.readouterr().out
    assert "onnxruntime-web 1.30.0" in out and "Chromium: " in out

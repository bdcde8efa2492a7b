"""The dashboard in a real browser: `dawg-bench dashboard` serving a store filled by a real run, every page
opened in Debian's Chromium (driven by Playwright, never `playwright install`), no Streamlit exception box
on any, one screenshot per page, and no listener left once the server is stopped.

Screenshots go to `artifacts/dashboard-screenshots/` at the repository root (README names it; git ignores
it), or to `$DAWG_BENCH_SCREENSHOTS` when set."""

import os
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from harness.latency.browser.assets import chromium_executable
from tests.dashboard_pages import PAGES

pytestmark = pytest.mark.slow(seconds=40)

ROOT = Path(__file__).resolve().parents[1]


def screenshot_dir() -> Path:
    folder = Path(os.environ.get("DAWG_BENCH_SCREENSHOTS") or ROOT / "artifacts" / "dashboard-screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _listening(port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex(("127.0.0.1", port)) == 0


def _wait_healthy(port: int, server: subprocess.Popen, timeout_s: float = 60.0) -> None:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise AssertionError(f"the dashboard exited with {server.returncode}: {server.stdout.read()}")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=2) as r:
                if r.read() == b"ok":
                    return
        except OSError:
            time.sleep(0.2)
    raise AssertionError(f"the dashboard did not answer on port {port} within {timeout_s:.0f} s")


@pytest.fixture()
def server(dashboard_store, tmp_path):
    port = _free_port()
    env = {**os.environ, "DAWG_BENCH_HOME": str(tmp_path / "home")}
    proc = subprocess.Popen([sys.executable, "-m", "harness.cli", "dashboard", "--db", str(dashboard_store),
                             "--port", str(port)], cwd=ROOT, env=env, stdout=subprocess.PIPE,
                            stderr=subprocess.STDOUT, text=True)
    try:
        _wait_healthy(port, proc)
        yield port, proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)  # what Ctrl-C sends: Streamlit shuts its server down
            try:
                proc.wait(timeout=20)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def test_every_page_renders_in_chromium_without_an_exception(server):
    if chromium_executable() is None:
        pytest.skip("Chromium is not installed (scripts/install-system-deps.sh installs it)")
    from playwright.sync_api import sync_playwright

    port, proc = server
    shots = screenshot_dir()
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=chromium_executable(), args=["--no-sandbox"])
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1000})
            for name in PAGES:  # st.navigation serves a page at its file's name; the default one at /
                url_path = "" if name == "overview" else name
                page.goto(f"http://127.0.0.1:{port}/{url_path}", wait_until="domcontentloaded")
                # the page's script ran to its end: its title is drawn and Streamlit reports it is not running
                page.wait_for_selector("[data-testid='stApp'][data-test-script-state='notRunning']", timeout=60_000)
                page.wait_for_selector("h1", timeout=30_000)
                assert page.locator("[data-testid='stException']").count() == 0, (name, page.inner_text("body"))
                assert "Traceback" not in page.inner_text("body"), name
                page.screenshot(path=str(shots / f"{name}.png"), full_page=True)
                assert (shots / f"{name}.png").stat().st_size > 10_000, name
        finally:
            browser.close()
    proc.send_signal(signal.SIGINT)
    assert proc.wait(timeout=20) in (0, -signal.SIGINT, 130)
    assert not _listening(port), "the dashboard's port is still open after it stopped"

"""Drive headless Chromium (Debian's, through Playwright) to run one ONNX model in a Web Worker.

One `BrowserRunner` holds the asset server and the browser for a series of measurements. Each
measurement gets a new browser context, page and worker, and the server forbids caching, so each
cold start fetches and compiles the runtime and the model afresh. What runs in the page is in
`page/` beside this file: `measure.html` + `page.js` (cold start, memory), `worker.js` (the model),
`loadgen.js` (the single-stream loop).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from harness.latency.browser.assets import Assets
from harness.latency.browser.server import serve
from harness.latency.loadgen import Settings

PAGE_DIR = Path(__file__).with_name("page")
# Chromium otherwise delays measureUserAgentSpecificMemory() until its next garbage collection
# (up to 20 s); this resolves it at once.
CHROMIUM_ARGS = ("--enable-blink-features=ForceEagerMeasureMemory",)
ANSWER_MARGIN_S = 60.0  # beyond the load generator's maximum duration: runtime and model load, parity runs


class BrowserFailed(RuntimeError):
    """Chromium could not start, or a page could not be driven (not a model's fault)."""


@dataclass(frozen=True)
class WorkerResult:
    """What one worker reported. `error` is set when the model could not be loaded or run."""

    error: str | None
    cold: dict | None  # cold_start_ms (page view, worker creation → first inference) and its parts
    latencies_ms: list[float]
    duration_s: float
    outputs: list[list[float]]
    memory: dict | None  # {"bytes": int | None, "how": str}
    isolated: bool
    runtime_version: str | None


class BrowserRunner:
    def __init__(self, browser, base_url: str, mounts: dict[str, Path]):
        self._browser = browser
        self._base_url = base_url
        self._mounts = mounts  # the server reads this dict per request: models are added as they come
        self._ids = itertools.count()

    @property
    def version(self) -> str:
        return self._browser.version

    def run(self, model: Path, inputs: list[list[float]], settings: Settings, threads: int) -> WorkerResult:
        """Load `model` in a fresh worker with `threads` WASM threads; time single-stream queries on
        inputs[0]; return the outputs for every input (parity)."""
        prefix = f"/models/{next(self._ids)}/"
        self._mounts[prefix] = model.parent
        timeout_s = settings.max_duration_s + ANSWER_MARGIN_S
        job = {"model_url": prefix + model.name, "runtime_url": "/ort/ort.wasm.min.mjs", "wasm_prefix": "/ort/",
               "threads": threads, "inputs": inputs, "timeout_s": timeout_s,
               "settings": {"warmup_queries": settings.warmup_queries, "min_query_count": settings.min_query_count,
                            "min_duration_s": settings.min_duration_s, "max_duration_s": settings.max_duration_s}}
        context = self._browser.new_context()
        try:
            page = context.new_page()
            page.goto(f"{self._base_url}/page/measure.html")
            page.wait_for_function("typeof window.measureInWorker === 'function'")
            raw = page.evaluate("job => window.measureInWorker(job)", job)
        except Exception as exc:  # noqa: BLE001 (Playwright raises its own Error for any page failure)
            raise BrowserFailed(f"Chromium could not run the page: {str(exc).splitlines()[0]}") from None
        finally:
            context.close()
            del self._mounts[prefix]
        return WorkerResult(error=raw.get("error") if raw.get("phase") != "done" else None, cold=raw.get("cold"),
                            latencies_ms=list(raw.get("latencies_ms") or []), duration_s=raw.get("duration_s") or 0.0,
                            outputs=raw.get("outputs") or [], memory=raw.get("memory"),
                            isolated=bool(raw.get("isolated", raw.get("page_isolated"))),
                            runtime_version=raw.get("runtime_version"))


@contextlib.contextmanager
def open_browser(executable: str, assets: Assets) -> Iterator[BrowserRunner]:
    """Start the asset server and headless Chromium; both are stopped when the block ends."""
    try:
        from playwright.sync_api import Error as PlaywrightError
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise BrowserFailed("Python's playwright is not installed (pip install -e '.[browser]')") from None
    mounts = {"/page/": PAGE_DIR, "/ort/": assets.dist}
    with serve(mounts) as base_url, sync_playwright() as playwright:
        try:
            browser = playwright.chromium.launch(executable_path=executable, args=list(CHROMIUM_ARGS))
        except PlaywrightError as exc:
            raise BrowserFailed(f"cannot start {executable}: {str(exc).splitlines()[0]}") from None
        try:
            yield BrowserRunner(browser, base_url, mounts)
        finally:
            browser.close()


__all__ = ["BrowserFailed", "BrowserRunner", "WorkerResult", "open_browser"]

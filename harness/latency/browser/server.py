"""A static file server for the measurement pages: 127.0.0.1 only, cross-origin isolated, stopped on exit.

Cross-origin isolation (COOP `same-origin` + COEP `require-corp` on every response) is what lets
a page use SharedArrayBuffer, which ONNX Runtime Web's WASM threads need; without it the runtime
quietly falls back to one thread. `Cache-Control: no-store` keeps Chromium from caching the WASM
runtime (and its compiled code) between measurements, so every cold start compiles it again.

Only the files it was given are served (a URL maps to one folder's direct children); anything else is 404.
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote, urlsplit

HOST = "127.0.0.1"
ISOLATION_HEADERS = {
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Embedder-Policy": "require-corp",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Cache-Control": "no-store",
}
CONTENT_TYPES = {".html": "text/html; charset=utf-8", ".js": "text/javascript", ".mjs": "text/javascript",
                 ".wasm": "application/wasm", ".onnx": "application/octet-stream", ".json": "application/json"}


def _handler(mounts: dict[str, Path]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # http.server's name for it
            path = self._resolve(unquote(urlsplit(self.path).path))
            if path is None:
                self.send_error(HTTPStatus.NOT_FOUND)
                return
            body = path.read_bytes()
            self.send_response(HTTPStatus.OK)
            self.send_header("Content-Type", CONTENT_TYPES.get(path.suffix, "application/octet-stream"))
            self.send_header("Content-Length", str(len(body)))
            for name, value in ISOLATION_HEADERS.items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(body)

        def _resolve(self, url_path: str) -> Path | None:
            prefix, _, name = url_path.rpartition("/")
            folder = mounts.get(prefix + "/")
            if folder is None or not name or name.startswith("."):
                return None
            path = folder / name
            return path if path.is_file() else None

        def log_message(self, format: str, *args) -> None:
            pass  # one line per request would drown the progress lines

    return Handler


@contextlib.contextmanager
def serve(mounts: dict[str, Path]) -> Iterator[str]:
    """Serve `mounts` (URL folder such as "/ort/" → local folder) on 127.0.0.1 at a free port; yields
    the base URL. The listening socket is closed when the block ends, even on an error."""
    server = ThreadingHTTPServer((HOST, 0), _handler(mounts))
    server.daemon_threads = True
    thread = threading.Thread(target=server.serve_forever, name="browser-assets-server", daemon=True)
    thread.start()
    try:
        yield f"http://{HOST}:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join()


__all__ = ["HOST", "ISOLATION_HEADERS", "serve"]

"""What the browser target needs besides this package: Debian's Chromium, and ONNX Runtime Web's
JS and WASM files from npm.

The npm package is installed at install time (`dawg-bench latency --setup-browser`) into the cache
folder, `<cache>/browser/onnxruntime-web-<version>`, never into git: its WASM build alone is 14 MB
and it is the runtime DAWG's pages would load from a CDN. The version is pinned so every figure
names the exact runtime it measured. Nothing is fetched at measurement time.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path

from harness.atomic import write_json_atomic
from harness.errors import UserError
from harness.latency.browser.wire_bytes import sizes
from harness.paths import home

ORT_WEB_PACKAGE = "onnxruntime-web"
ORT_WEB_VERSION = "1.30.0"  # pinned: a figure names the runtime it measured (npm `latest` on 2026-12-01)
# The files a page loads for the plain WASM backend (SIMD, threads when cross-origin isolated).
# 1.30 ships one WASM build, SIMD + threads; with numThreads = 1 it starts no extra thread.
RUNTIME_FILES = ("ort.wasm.min.mjs", "ort-wasm-simd-threaded.mjs", "ort-wasm-simd-threaded.wasm")
MANIFEST = "dawg-bench-assets.json"


@dataclass(frozen=True)
class Assets:
    """An installed onnxruntime-web: its `dist` folder holds RUNTIME_FILES. `runtime_bytes`: what a
    page downloads for the runtime (raw and gzip, measured once at install; wire_bytes.py)."""

    version: str
    dist: Path
    runtime_bytes: dict


class AssetsMissing(UserError):
    """The browser target cannot run here; the message says what is missing and how to install it."""


def assets_dir() -> Path:
    return home() / "browser" / f"{ORT_WEB_PACKAGE}-{ORT_WEB_VERSION}"


def chromium_executable() -> str | None:
    """Debian's `chromium` on PATH (never a browser build that Playwright downloads)."""
    return shutil.which("chromium")


def chromium_version(executable: str) -> str | None:
    """`chromium --version`'s version number (e.g. 150.0.7871.100), without starting a browser."""
    try:
        out = subprocess.run([executable, "--version"], capture_output=True, text=True, timeout=30).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    found = re.search(r"\b(\d+(?:\.\d+){1,3})\b", out)
    return found.group(1) if found else None


def locate(folder: Path | None = None) -> Assets:
    """The installed assets, or AssetsMissing saying how to install them."""
    folder = folder or assets_dir()
    dist = folder / "node_modules" / ORT_WEB_PACKAGE / "dist"
    manifest = folder / MANIFEST
    how = "run `dawg-bench latency --setup-browser` (npm install into the cache folder)"
    if not manifest.is_file():
        raise AssetsMissing(f"{ORT_WEB_PACKAGE} {ORT_WEB_VERSION} is not installed in {folder}: {how}")
    missing = [name for name in RUNTIME_FILES if not (dist / name).is_file()]
    if missing:
        raise AssetsMissing(f"{ORT_WEB_PACKAGE} in {folder} lacks {', '.join(missing)}: {how}")
    try:
        meta = json.loads(manifest.read_text())
        return Assets(version=meta["version"], dist=dist, runtime_bytes=meta["runtime_bytes"])
    except (ValueError, KeyError, TypeError):
        raise AssetsMissing(f"{manifest} is unreadable (an interrupted install?): {how}") from None


def install(folder: Path | None = None, *, log=print) -> Assets:
    """npm-install the pinned onnxruntime-web into `folder` (idempotent: an installed folder is kept).

    The manifest is written last, so a folder without it is an unfinished install and is redone."""
    folder = folder or assets_dir()
    try:
        return locate(folder)
    except AssetsMissing:
        pass
    npm = shutil.which("npm")
    if npm is None:
        raise AssetsMissing("npm is not installed (Debian: apt-get install nodejs npm); it installs onnxruntime-web")
    folder.mkdir(parents=True, exist_ok=True)
    # A package.json of our own keeps npm from walking up to some other project's.
    write_json_atomic(folder / "package.json", {"name": "dawg-bench-browser-assets", "private": True})
    log(f"browser assets: npm install {ORT_WEB_PACKAGE}@{ORT_WEB_VERSION} into {folder}")
    cmd = [npm, "install", "--no-audit", "--no-fund", "--ignore-scripts", "--prefer-offline", "--omit=dev",
           "--save-exact", f"{ORT_WEB_PACKAGE}@{ORT_WEB_VERSION}"]
    done = subprocess.run(cmd, cwd=folder, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "npm_config_update_notifier": "false"})
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["(no output)"])[-1]
        raise AssetsMissing(f"npm install {ORT_WEB_PACKAGE}@{ORT_WEB_VERSION} failed (exit {done.returncode}): {last}")
    installed = json.loads((folder / "node_modules" / ORT_WEB_PACKAGE / "package.json").read_text())["version"]
    if installed != ORT_WEB_VERSION:
        raise AssetsMissing(f"npm installed {ORT_WEB_PACKAGE} {installed}, not the pinned {ORT_WEB_VERSION}")
    write_json_atomic(folder / MANIFEST, {"package": ORT_WEB_PACKAGE, "version": installed, "files": RUNTIME_FILES,
                                          "runtime_bytes": _runtime_bytes(folder / "node_modules" / ORT_WEB_PACKAGE
                                                                          / "dist")})
    return locate(folder)


def _runtime_bytes(dist: Path) -> dict:
    """The runtime files' wire bytes, each compressed on its own as a CDN serves them."""
    each = [sizes((dist / name).read_bytes(), with_brotli=False) for name in RUNTIME_FILES if (dist / name).is_file()]
    return {"raw": sum(s["raw"] for s in each), "gzip": sum(s["gzip"] for s in each), "brotli": None,
            "note": each[0]["note"] if each else ""}


__all__ = ["ORT_WEB_VERSION", "RUNTIME_FILES", "Assets", "AssetsMissing", "assets_dir", "chromium_executable",
           "chromium_version", "install", "locate"]

"""An environment fingerprint stored with every run and latency: what ran, where, with what."""

from __future__ import annotations

import importlib.metadata
import os
import platform
import subprocess
from functools import lru_cache
from pathlib import Path

LIBRARIES = (
    "numpy", "scipy", "numba", "torch", "onnxruntime", "onnxruntime-gpu", "pyloudnorm", "auraloss", "soundfile"
)


@lru_cache(maxsize=1)
def fingerprint() -> dict:
    return {
        "cpu": cpu_model(),
        "cores": os.cpu_count(),
        "gpu": gpu_name(),
        "python": platform.python_version(),
        "platform": platform.platform(),
        "libraries": {name: _version(name) for name in LIBRARIES if _version(name)},
        "git_sha": git_sha(),
    }


@lru_cache(maxsize=1)
def code_fingerprint() -> str:
    """sha256 of the harness's own sources (path and bytes of every .py under harness/, sorted) plus
    the package version: the code part of a run's identity. Editing any scoring code changes it."""
    import hashlib

    from harness import __version__

    root = Path(__file__).resolve().parent
    digest = hashlib.sha256(f"dawg-bench {__version__}".encode())
    for path in sorted(root.rglob("*.py")):
        digest.update(str(path.relative_to(root)).encode() + b"\0" + path.read_bytes() + b"\0")
    return digest.hexdigest()


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()


def gpu_name() -> str | None:
    try:
        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"],
                             capture_output=True, text=True, timeout=10)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip().splitlines()[0] if out.returncode == 0 and out.stdout.strip() else None


def git_sha() -> str | None:
    try:
        out = subprocess.run(["git", "rev-parse", "HEAD"], capture_output=True, text=True, timeout=5,
                             cwd=Path(__file__).resolve().parent)
    except (OSError, subprocess.TimeoutExpired):
        return None
    return out.stdout.strip() if out.returncode == 0 else None


def _version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None

"""Shared fixtures. Caches (DAWG_BENCH_HOME) and parallel runs (pytest-xdist):

- Every test gets this process's cache folder, `<basetemp>/dawg-home`: under xdist each worker has
  its own basetemp, so workers never write the same cache. Tests in one worker run one at a time;
  what they add there (MIDI parses, corpora) is keyed by its recipe and written atomically.
- A test that damages a corpus or model folder, or must start cold, sets DAWG_BENCH_HOME to its own
  tmp_path first.
- `smoke_corpus` is the one cache shared by all workers: the smoke suite's generated corpus, built
  once per run under a file lock and only read afterwards (its files are hashed at the end of the
  session; any change fails the run). Tests reach it through `smoke_home`.
"""

import hashlib
import os
import tempfile
from pathlib import Path

# numba's compiled kernels go to the cache folder (harness/__init__.py); tests keep them out of the
# user's, in one folder per machine that every session and subprocess shares (compiling them all
# takes a few seconds per process). Set before anything imports harness.
os.environ.setdefault("NUMBA_CACHE_DIR", str(Path(tempfile.gettempdir()) / "dawg-bench-test-numba"))

import numpy as np
import pytest


def pytest_collection_modifyitems(config, items):
    """Longest modules first, each module's tests still together and in their order. A module's
    length is the sum of its tests' `slow(seconds=N)` estimates (a bare `slow` counts 5 s; other
    tests 0). xdist (--dist loadscope --no-loadscope-reorder) hands out modules in this order, so the
    long ones start at once and the short ones fill in at the end, instead of one worker idling
    while the other finishes a long module it picked up last. The order is the same on every run."""
    def module(item) -> str:
        return item.nodeid.split("::", 1)[0]

    def seconds(item) -> float:
        mark = item.get_closest_marker("slow")
        return 0.0 if mark is None else float(mark.kwargs.get("seconds", 5))

    cost: dict[str, float] = {}
    for item in items:
        cost[module(item)] = cost.get(module(item), 0.0) + seconds(item)
    first_seen = {name: i for i, name in enumerate(dict.fromkeys(module(item) for item in items))}
    items.sort(key=lambda item: (-cost[module(item)], first_seen[module(item)]))


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the user's cache folder."""
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path_factory.getbasetemp() / "dawg-home"))


def shared_tmp_root(tmp_path_factory) -> Path:
    """A folder every xdist worker of this run shares (a worker's basetemp is a child of it)."""
    base = tmp_path_factory.getbasetemp()
    return base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base


def _fingerprint(folder: Path) -> dict[str, str]:
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


@pytest.fixture(scope="session")
def smoke_corpus(tmp_path_factory):
    """The smoke suite's generated corpus (the Manifest), shared read-only by every test and worker.

    The first worker to get here builds it while holding a file lock; the others wait and then find
    the finished manifest (build_corpus reuses a complete cache folder). Nothing may write into it.
    """
    from filelock import FileLock

    from harness.corpus.build import build_corpus
    from harness.suites import load_suite

    root = shared_tmp_root(tmp_path_factory)
    with FileLock(str(root / "shared-dawg-home.lock")), pytest.MonkeyPatch.context() as mp:
        mp.setenv("DAWG_BENCH_HOME", str(root / "shared-dawg-home"))
        manifest = build_corpus(load_suite("smoke"), workers=2)
    folder = Path(manifest.folder)
    before = _fingerprint(folder)
    yield manifest
    assert _fingerprint(folder) == before, f"a test wrote into the shared smoke corpus {folder}"


@pytest.fixture()
def smoke_home(smoke_corpus, tmp_path, monkeypatch) -> Path:
    """A private DAWG_BENCH_HOME whose smoke-suite corpus is the shared one (a symlink): the test reads
    the prebuilt corpus, and whatever else it writes (results, reports, other corpora) stays its own."""
    home = tmp_path / "dawg-home"
    shared = Path(smoke_corpus.folder)
    link = home / shared.parent.name / shared.name  # <home>/corpus/<recipe key>
    link.parent.mkdir(parents=True)
    link.symlink_to(shared, target_is_directory=True)
    monkeypatch.setenv("DAWG_BENCH_HOME", str(home))
    return home


def sine(freq_hz: float, seconds: float, sr: int, amplitude: float = 0.5, channels: int = 2) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    x = amplitude * np.sin(2 * np.pi * freq_hz * t)
    return np.tile(x, (channels, 1))


@pytest.fixture(scope="session")
def dashboard_store(smoke_corpus, tmp_path_factory) -> Path:
    """A results store filled by a real small run, shared read-only by the dashboard's tests: `dawg-bench
    demo --suite smoke --no-train` with a fixture eq release (every candidate scored on the smoke corpus,
    CPU latency measured and T4/A10G projected, the release gated). Built once per test session under a
    file lock, like `smoke_corpus`; its file is hashed at the end and any write fails the run."""
    from filelock import FileLock

    from harness.cli import main
    from tests.model_fixtures import build_fixture_release

    root = shared_tmp_root(tmp_path_factory)
    folder = root / "dashboard-store"
    db = folder / "results.db"
    with FileLock(str(root / "dashboard-store.lock")), pytest.MonkeyPatch.context() as mp:
        if not (folder / "done").exists():
            mp.setenv("DAWG_BENCH_HOME", str(root / "shared-dawg-home"))
            mp.setenv("DAWG_BENCH_MODELS", str(folder / "models"))
            build_fixture_release(folder / "models", "eq")
            code = main(["demo", "--suite", "smoke", "--db", str(db), "--json", str(folder / "demo.json"),
                         "--no-train"])
            assert code == 1, "a fixture release never ships: the demo's gate fails"
            import sqlite3

            with sqlite3.connect(db) as c:  # fold the WAL in: readers then need no write access
                c.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            (folder / "done").write_text("ok")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    yield db
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before, f"a test wrote into the shared store {db}"

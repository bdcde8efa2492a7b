import pytest


@pytest.fixture(scope="session")
def benchmarking(request) -> bool:
    """True when this run times the benchmarks: `--benchmark-enable` with xdist off (`-n 0`;
    pytest-benchmark disables itself under xdist). Otherwise every benchmark is a smoke test: it
    runs once, on short audio, and checks its result; the reference libraries are not timed."""
    session = getattr(request.config, "_benchmarksession", None)
    if session is not None:
        return not session.disabled
    return not request.config.getoption("benchmark_disable", True)

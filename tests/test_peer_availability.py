"""An optional peer says why it cannot run: not installed, or installed but broken (the two need
different fixes, so they must never read the same)."""

import sys

import pytest

from harness.candidates.base import Unavailable
from harness.candidates.matchering_peer import INSTALL_HINT, Matchering


@pytest.fixture
def no_cached_matchering(monkeypatch):
    for name in [m for m in sys.modules if m == "matchering" or m.startswith("matchering.")]:
        monkeypatch.delitem(sys.modules, name)


def test_missing_matchering_gives_the_install_hint(monkeypatch, no_cached_matchering):
    monkeypatch.setitem(sys.modules, "matchering", None)  # import now raises ModuleNotFoundError('matchering')
    with pytest.raises(Unavailable) as info:
        Matchering().check_available()
    assert str(info.value) == INSTALL_HINT


def test_broken_matchering_is_not_reported_as_missing(monkeypatch, tmp_path, no_cached_matchering):
    fake = tmp_path / "matchering"
    fake.mkdir()
    (fake / "__init__.py").write_text("import dawg_bench_missing_dependency_xyz\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    with pytest.raises(Unavailable) as info:
        Matchering().check_available()
    message = str(info.value)
    assert "installed but cannot be imported" in message
    assert "dawg_bench_missing_dependency_xyz" in message
    assert message != INSTALL_HINT

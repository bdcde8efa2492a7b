import numpy as np
import pytest


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Tests never touch the user's cache folder."""
    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path_factory.getbasetemp() / "dawg-home"))


def sine(freq_hz: float, seconds: float, sr: int, amplitude: float = 0.5, channels: int = 2) -> np.ndarray:
    t = np.arange(int(round(seconds * sr))) / sr
    x = amplitude * np.sin(2 * np.pi * freq_hz * t)
    return np.tile(x, (channels, 1))

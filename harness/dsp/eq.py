"""Six-band parametric EQ: low shelf, four peaking bands, high shelf (Web Audio biquads in series)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from . import biquad
from .params import ParamSpec, Processor, check_audio, nested_specs

FREQ_RANGE_HZ = (20.0, 20000.0)
GAIN_RANGE_DB = (-18.0, 18.0)
Q_RANGE = (0.1, 18.0)


def _freq(default: float, doc: str) -> ParamSpec:
    return ParamSpec("freq_hz", *FREQ_RANGE_HZ, default, "log", "Hz", doc + "; clamped to Nyquist")


def _gain() -> ParamSpec:
    return ParamSpec("gain_db", *GAIN_RANGE_DB, 0.0, "lin", "dB", "boost (+) or cut (-)")


class _Band(Processor):
    """A single biquad band; usable alone as a one-band EQ."""

    def coefficients(self, sr: float) -> np.ndarray:
        raise NotImplementedError

    def sections(self, sr: float) -> np.ndarray:
        return self.coefficients(sr)[None, :]

    def response_db(self, freqs_hz: np.ndarray, sr: float) -> np.ndarray:
        return biquad.magnitude_db(self.sections(sr), freqs_hz, sr)

    def render(self, audio: np.ndarray, sr: float) -> np.ndarray:
        return biquad.filter_sections(check_audio(audio, sr), self.sections(sr))


@dataclass(frozen=True)
class LowShelf(_Band):
    """Web Audio "lowshelf": gain G below freq_hz, slope S = 1 (Q = 1/sqrt(2) in JUCE/pedalboard terms)."""

    freq_hz: float = 100.0
    gain_db: float = 0.0
    KIND: ClassVar[str] = "low_shelf"
    SPECS: ClassVar[tuple[ParamSpec, ...]] = (_freq(100.0, "shelf midpoint (gain G/2 there)"), _gain())

    def coefficients(self, sr: float) -> np.ndarray:
        return biquad.lowshelf(self.freq_hz, self.gain_db, sr)


@dataclass(frozen=True)
class Peak(_Band):
    """Web Audio "peaking": bell of gain G at freq_hz, bandwidth set by q."""

    freq_hz: float = 1000.0
    gain_db: float = 0.0
    q: float = 1.0
    KIND: ClassVar[str] = "peak"
    SPECS: ClassVar[tuple[ParamSpec, ...]] = (
        _freq(1000.0, "bell centre"),
        _gain(),
        ParamSpec("q", *Q_RANGE, 1.0, "log", "", "quality factor: alpha = sin(w0)/(2Q)"),
    )

    def coefficients(self, sr: float) -> np.ndarray:
        return biquad.peaking(self.freq_hz, self.gain_db, self.q, sr)


@dataclass(frozen=True)
class HighShelf(_Band):
    """Web Audio "highshelf": gain G above freq_hz, slope S = 1."""

    freq_hz: float = 10000.0
    gain_db: float = 0.0
    KIND: ClassVar[str] = "high_shelf"
    SPECS: ClassVar[tuple[ParamSpec, ...]] = (_freq(10000.0, "shelf midpoint (gain G/2 there)"), _gain())

    def coefficients(self, sr: float) -> np.ndarray:
        return biquad.highshelf(self.freq_hz, self.gain_db, sr)


# Defaults spread over the spectrum, all flat (0 dB), so EQ() is an exact pass-through.
_DEFAULT_BANDS: dict[str, _Band] = {
    "low_shelf": LowShelf(80.0),
    "peak1": Peak(200.0),
    "peak2": Peak(800.0),
    "peak3": Peak(3000.0),
    "peak4": Peak(8000.0),
    "high_shelf": HighShelf(12000.0),
}


@dataclass(frozen=True)
class EQ(Processor):
    """Low shelf -> peak1..peak4 -> high shelf, each a Web Audio BiquadFilterNode, applied per channel."""

    low_shelf: LowShelf = _DEFAULT_BANDS["low_shelf"]  # type: ignore[assignment]
    peak1: Peak = _DEFAULT_BANDS["peak1"]  # type: ignore[assignment]
    peak2: Peak = _DEFAULT_BANDS["peak2"]  # type: ignore[assignment]
    peak3: Peak = _DEFAULT_BANDS["peak3"]  # type: ignore[assignment]
    peak4: Peak = _DEFAULT_BANDS["peak4"]  # type: ignore[assignment]
    high_shelf: HighShelf = _DEFAULT_BANDS["high_shelf"]  # type: ignore[assignment]
    KIND: ClassVar[str] = "eq"
    SPECS: ClassVar[tuple[ParamSpec, ...]] = nested_specs(_DEFAULT_BANDS)

    def __post_init__(self) -> None:
        expected = {name: type(band) for name, band in _DEFAULT_BANDS.items()}
        for name, kind in expected.items():
            if not isinstance(getattr(self, name), kind):
                raise TypeError(f"EQ.{name} must be a {kind.__name__}, got {type(getattr(self, name)).__name__}")

    @property
    def bands(self) -> tuple[_Band, ...]:
        return (self.low_shelf, self.peak1, self.peak2, self.peak3, self.peak4, self.high_shelf)

    def sections(self, sr: float) -> np.ndarray:
        """(6, 5) normalised biquads ``[b0, b1, b2, a1, a2]`` in processing order."""
        return np.stack([band.coefficients(sr) for band in self.bands])

    def response_db(self, freqs_hz: np.ndarray, sr: float) -> np.ndarray:
        """Analytic magnitude of the whole EQ: sum over bands of 20*log10|H_band(e^{jw})|."""
        return biquad.magnitude_db(self.sections(sr), freqs_hz, sr)

    def render(self, audio: np.ndarray, sr: float) -> np.ndarray:
        return biquad.filter_sections(check_audio(audio, sr), self.sections(sr))

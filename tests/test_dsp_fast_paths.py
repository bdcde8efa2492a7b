"""The speed-ups keep the results: the fused multiply-add EQ against an independent float64
reference, and the limiter's skipped detection (where a bound proves the gain is 1) against
full detection, bit for bit."""

from __future__ import annotations

import numpy as np
import pytest
from numba import njit
from scipy.signal import sosfilt

from harness.dsp import EQ, HighShelf, LowShelf, MasteringChain, Peak, TruePeakLimiter, biquad, interval_true_peaks
from harness.dsp import limiter as limiter_module
from harness.dsp.biquad import _cascade, _fma

SR = 48000
EQ_SETTINGS = EQ(
    low_shelf=LowShelf(100.0, 3.0),
    peak1=Peak(250.0, -2.0, 1.2),
    peak2=Peak(1000.0, 1.5, 0.8),
    peak3=Peak(30.0, -12.0, 18.0),
    peak4=Peak(8000.0, 2.0, 1.0),
    high_shelf=HighShelf(12000.0, 18.0),
)


def _pink(seed: int, n: int, peak: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[1]), 1))[None, :]
    x = np.fft.irfft(spectrum, n, axis=1)
    return x / np.abs(x).max() * peak


def _scipy_eq(audio: np.ndarray) -> np.ndarray:
    sections = EQ_SETTINGS.sections(SR)
    sos = np.hstack([sections[:, :3], np.ones((len(sections), 1)), sections[:, 3:]])
    return sosfilt(sos, audio.astype(np.float64), axis=1)


def test_eq_float64_matches_scipy_to_rounding():
    x = _pink(1, 3 * SR, 1.0)
    # measured 8e-12 on a 2.1 peak (a Q 18 bell at 30 Hz and +18 dB of shelf amplify rounding)
    np.testing.assert_allclose(EQ_SETTINGS.render(x, SR), _scipy_eq(x), rtol=0, atol=1e-10)


def test_eq_float32_within_one_rounding_of_scipy():
    x = _pink(2, 3 * SR, 1.0).astype(np.float32)
    out = EQ_SETTINGS.render(x, SR)
    reference = _scipy_eq(x)
    # what is left is the final rounding to float32: at most half an ulp of the output's peak
    # (measured 8.5e-8 on a 2.1 peak), plus the float64 path's error
    half_ulp = 0.5 * float(np.spacing(np.float32(np.abs(reference).max())))
    assert np.max(np.abs(out - reference)) <= half_ulp + 1e-10


@njit(error_model="numpy")
def _scalar_cascade(x, sections, gain, out):  # pragma: no cover - compiled
    # the section-by-section TDF-II loop (the kernel before the wavefront): the same operations
    n_channels, n = x.shape
    for c in range(n_channels):
        state = np.zeros((sections.shape[0], 2))
        for i in range(n):
            v = np.float64(x[c, i])
            for k in range(sections.shape[0]):
                y = v + state[k, 0]
                state[k, 0] = _fma(sections[k, 0], v, _fma(-sections[k, 2], y, state[k, 1]))
                state[k, 1] = _fma(sections[k, 1], v, -sections[k, 3] * y)
                v = y
            out[c, i] = v * gain


@pytest.mark.parametrize("k_sections", [1, 2, 3, 5, 6, 7, 12, 13])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_wavefront_cascade_is_bit_identical_to_the_scalar_loop(k_sections, dtype):
    rng = np.random.default_rng(k_sections)
    makers = [lambda: biquad.peaking(rng.uniform(20, 20000), rng.uniform(-18, 18), rng.uniform(0.1, 18), SR),
              lambda: biquad.lowshelf(rng.uniform(20, 20000), rng.uniform(-18, 18), SR),
              lambda: biquad.highshelf(rng.uniform(20, 20000), rng.uniform(-18, 18), SR)]
    sections = np.array([makers[k % 3]() for k in range(k_sections)])
    monic = sections[:, 1:] / np.column_stack([sections[:, :2], np.ones((k_sections, 2))])[:, [0, 0, 2, 3]]
    for n_channels, n in [(1, 700), (2, 1), (2, 4), (3, 2000)]:
        x = (rng.standard_normal((n_channels, n)) * 0.5).astype(dtype)
        x[:, n // 2] = -0.0
        ours, ref = np.empty_like(x), np.empty_like(x)
        _cascade(x, monic, 0.7, ours)
        _scalar_cascade(x, monic, 0.7, ref)
        assert ours.tobytes() == ref.tobytes()


def test_peak_bound_gain_bounds_the_detector():
    rng = np.random.default_rng(3)
    signals = [rng.uniform(-1, 1, (2, 4000)), np.sign(rng.standard_normal((1, 4000))),
               ((-1.0) ** np.arange(4000))[None, :], np.sign(np.sinc(np.arange(-50, 50) + 0.5))[None, :]]
    for x in signals:
        peaks = interval_true_peaks(x.astype(np.float32))
        assert peaks.max() <= limiter_module.PEAK_BOUND_GAIN / (1 + 1e-3) * np.abs(x).max()


@pytest.mark.parametrize("peak", [0.05, 0.3, 0.9, 1.4, 6.0])
@pytest.mark.parametrize("ceiling_dbtp", [-6.0, -1.0, 0.0])
def test_limiter_skipping_detection_changes_nothing(monkeypatch, peak, ceiling_dbtp):
    x = _pink(4, SR, peak).astype(np.float32)
    x[:, SR // 3] = np.float32(peak)  # a lone peak amid quieter material
    limiter = TruePeakLimiter(ceiling_dbtp=ceiling_dbtp, release_ms=20.0, lookahead_ms=1.0)
    skipped = limiter.render(x, SR)
    gains = limiter.gain(x, SR)
    monkeypatch.setattr(limiter_module, "PEAK_BOUND_GAIN", -1.0)  # negative quiet level: evaluate all
    np.testing.assert_array_equal(skipped, limiter.render(x, SR))
    np.testing.assert_array_equal(gains, limiter.gain(x, SR))


def test_chain_output_within_stated_tolerance_of_exact_float64():
    # The chain on float32 audio against the same chain run in float64 (the float64 EQ differs from
    # scipy only by rounding): the float32 output differs by float32 roundings only.
    x = _pink(5, 2 * SR, 1.4).astype(np.float32)
    chain = MasteringChain(eq=EQ_SETTINGS)
    out = chain.render(x, SR)
    assert np.max(np.abs(out - chain.render(x.astype(np.float64), SR))) <= 1e-6

"""Parametric EQ: Web Audio BiquadFilterNode / RBJ Audio-EQ-Cookbook biquads.

The reference here is written from the cookbook text (R. Bristow-Johnson, "Cookbook formulae
for audio EQ biquad filter coefficients") with the W3C Web Audio choice S = 1 for shelves,
evaluated unnormalised as H(e^jw) = B(e^-jw) / A(e^-jw) with numpy.polyval, independent of
harness.dsp.biquad.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.dsp import EQ, HighShelf, LowShelf, Peak

RATES = (44100, 48000)
IMPULSE_LEN = 1 << 18  # 5.4 s at 48 kHz: the slowest band here (30 Hz, Q 5) decays > 100 dB
TOL_DB = 0.01


def cookbook_ba(kind: str, f0: float, gain_db: float, sr: float, q: float = 1.0) -> tuple[list, list]:
    """Unnormalised (b, a) from the cookbook; shelves use S = 1."""
    a_lin = 10 ** (gain_db / 40)
    w0 = 2 * math.pi * f0 / sr
    cw, sw = math.cos(w0), math.sin(w0)
    if kind == "peak":
        alpha = sw / (2 * q)
        return [1 + alpha * a_lin, -2 * cw, 1 - alpha * a_lin], [1 + alpha / a_lin, -2 * cw, 1 - alpha / a_lin]
    slope = 1.0
    alpha = sw / 2 * math.sqrt((a_lin + 1 / a_lin) * (1 / slope - 1) + 2)
    two_sqrt_a_alpha = 2 * math.sqrt(a_lin) * alpha
    ap, am = a_lin + 1, a_lin - 1
    s = two_sqrt_a_alpha
    if kind == "low":
        b = [a_lin * (ap - am * cw + s), 2 * a_lin * (am - ap * cw), a_lin * (ap - am * cw - s)]
        a = [ap + am * cw + s, -2 * (am + ap * cw), ap + am * cw - s]
    else:
        b = [a_lin * (ap + am * cw + s), -2 * a_lin * (am + ap * cw), a_lin * (ap + am * cw - s)]
        a = [ap - am * cw + s, 2 * (am - ap * cw), ap - am * cw - s]
    return b, a


def cookbook_db(kind: str, f0: float, gain_db: float, sr: float, freqs: np.ndarray, q: float = 1.0) -> np.ndarray:
    b, a = cookbook_ba(kind, f0, gain_db, sr, q)
    zinv = np.exp(-2j * np.pi * freqs / sr)
    # polyval wants highest power first: b0 + b1 z^-1 + b2 z^-2 = polyval([b2, b1, b0], z^-1)
    return 20 * np.log10(np.abs(np.polyval(b[::-1], zinv) / np.polyval(a[::-1], zinv)))


def make_band(kind: str, f0: float, gain_db: float, q: float):
    return {"low": LowShelf(f0, gain_db), "high": HighShelf(f0, gain_db), "peak": Peak(f0, gain_db, q)}[kind]


BANDS = [
    ("low", 30.0, 12.0, 1.0),
    ("low", 100.0, -18.0, 1.0),
    ("low", 1000.0, 6.0, 1.0),
    ("low", 8000.0, -9.0, 1.0),
    ("high", 200.0, -6.0, 1.0),
    ("high", 5000.0, 12.0, 1.0),
    ("high", 15000.0, -18.0, 1.0),
    ("peak", 30.0, 18.0, 5.0),
    ("peak", 100.0, -12.0, 0.3),
    ("peak", 1000.0, 6.0, 1.0),
    ("peak", 5000.0, -18.0, 18.0),
    ("peak", 15000.0, 9.0, 2.0),
    ("peak", 19000.0, -3.0, 0.1),
]


def fft_grid(sr: float) -> tuple[np.ndarray, np.ndarray]:
    freqs = np.fft.rfftfreq(IMPULSE_LEN, 1 / sr)
    sel = (freqs >= 20.0) & (freqs <= 20000.0)
    return freqs, sel


def rendered_db(processor, sr: float) -> np.ndarray:
    impulse = np.zeros((1, IMPULSE_LEN))
    impulse[0, 0] = 1.0
    response = processor.render(impulse, sr)[0]
    return 20 * np.log10(np.abs(np.fft.rfft(response)))


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("kind,f0,gain_db,q", BANDS)
def test_band_matches_cookbook_analytically_and_rendered(kind, f0, gain_db, q, sr):
    """|H| from the coefficients and from a rendered float64 impulse (FFT) both equal the
    cookbook within 0.01 dB from 20 Hz to 20 kHz."""
    band = make_band(kind, f0, gain_db, q)
    freqs, sel = fft_grid(sr)
    expected = cookbook_db(kind, f0, gain_db, sr, freqs[sel], q)
    analytic = band.response_db(freqs[sel], sr)
    np.testing.assert_allclose(analytic, expected, atol=TOL_DB, rtol=0)
    np.testing.assert_allclose(rendered_db(band, sr)[sel], expected, atol=TOL_DB, rtol=0)


@pytest.mark.parametrize("sr", RATES)
def test_full_eq_is_product_of_its_six_bands(sr):
    """EQ response (analytic and rendered) = sum in dB of the six cookbook bands."""
    eq = EQ(
        low_shelf=LowShelf(90.0, 4.0),
        peak1=Peak(180.0, -6.0, 2.0),
        peak2=Peak(700.0, 3.0, 0.7),
        peak3=Peak(2500.0, -9.0, 4.0),
        peak4=Peak(9000.0, 5.0, 1.5),
        high_shelf=HighShelf(12000.0, -4.0),
    )
    freqs, sel = fft_grid(sr)
    f = freqs[sel]
    expected = (
        cookbook_db("low", 90.0, 4.0, sr, f)
        + cookbook_db("peak", 180.0, -6.0, sr, f, 2.0)
        + cookbook_db("peak", 700.0, 3.0, sr, f, 0.7)
        + cookbook_db("peak", 2500.0, -9.0, sr, f, 4.0)
        + cookbook_db("peak", 9000.0, 5.0, sr, f, 1.5)
        + cookbook_db("high", 12000.0, -4.0, sr, f)
    )
    np.testing.assert_allclose(eq.response_db(f, sr), expected, atol=TOL_DB, rtol=0)
    np.testing.assert_allclose(rendered_db(eq, sr)[sel], expected, atol=TOL_DB, rtol=0)


@pytest.mark.parametrize("kind,f0,gain_db,q", BANDS)
def test_minus_gain_exactly_undoes_plus_gain(kind, f0, gain_db, q):
    """With S fixed the cookbook gives H(z; -G) = 1/H(z; G): the cascade is 0 dB and
    rendering +G then -G returns the input."""
    sr = 48000
    plus, minus = make_band(kind, f0, gain_db, q), make_band(kind, f0, -gain_db, q)
    freqs = np.geomspace(20.0, 20000.0, 500)
    cascade = plus.response_db(freqs, sr) + minus.response_db(freqs, sr)
    np.testing.assert_allclose(cascade, 0.0, atol=TOL_DB)
    x = np.random.default_rng(1).uniform(-1, 1, (2, 48000))
    np.testing.assert_allclose(minus.render(plus.render(x, sr), sr), x, atol=1e-4, rtol=0)


def test_minus_gain_eq_undoes_eq():
    sr = 44100
    eq = EQ.from_dict({**EQ.defaults(), "low_shelf.gain_db": 9.0, "peak2.gain_db": -12.0, "peak4.q": 7.0,
                       "peak4.gain_db": 18.0, "high_shelf.gain_db": -18.0})
    inverse = EQ.from_dict({k: (-v if k.endswith("gain_db") else v) for k, v in eq.to_dict().items()})
    x = np.random.default_rng(2).uniform(-1, 1, (2, sr))
    np.testing.assert_allclose(inverse.render(eq.render(x, sr), sr), x, atol=1e-4, rtol=0)
    freqs = np.geomspace(20.0, 20000.0, 300)
    np.testing.assert_allclose(eq.response_db(freqs, sr) + inverse.response_db(freqs, sr), 0.0, atol=TOL_DB)


def test_frequency_at_or_above_nyquist_follows_web_audio():
    """Web Audio clamps the frequency to [0, Nyquist]; at Nyquist a peak is 1, a low shelf is
    the constant gain A^2 = 10^(G/20) and a high shelf is 1 (Chromium Biquad.cpp)."""
    sr = 16000  # 20 kHz is above Nyquist
    x = np.random.default_rng(3).uniform(-1, 1, (1, 4000))
    np.testing.assert_array_equal(Peak(20000.0, 12.0, 2.0).render(x, sr), x)
    np.testing.assert_array_equal(HighShelf(20000.0, 12.0).render(x, sr), x)
    np.testing.assert_allclose(LowShelf(20000.0, 12.0).render(x, sr), x * 10 ** (12 / 20), rtol=1e-12)


def test_flat_eq_is_exact_passthrough_and_dtype_is_kept():
    x = np.random.default_rng(4).uniform(-1, 1, (2, 1000)).astype(np.float32)
    y = EQ().render(x, 48000)
    assert y.dtype == np.float32 and y is not x
    np.testing.assert_array_equal(y, x)


def test_render_keeps_dtype_and_never_writes_its_input():
    x = np.random.default_rng(5).uniform(-1, 1, (2, 2000)).astype(np.float32)
    before = x.copy()
    eq = EQ(peak2=Peak(800.0, 6.0, 1.0))
    y = eq.render(x, 48000)
    np.testing.assert_array_equal(x, before)
    assert y.dtype == np.float32 and y.shape == x.shape
    # float32 in, float64 state inside: equals the float64 render rounded once
    np.testing.assert_array_equal(y, eq.render(x.astype(np.float64), 48000).astype(np.float32))


def test_channels_are_filtered_independently():
    x = np.random.default_rng(6).uniform(-1, 1, (3, 3000))
    eq = EQ(peak3=Peak(3000.0, -9.0, 3.0), low_shelf=LowShelf(120.0, 6.0))
    y = eq.render(x, 48000)
    for c in range(3):
        np.testing.assert_array_equal(y[c], eq.render(x[c:c + 1], 48000)[0])


# Pedalboard (JUCE IIR) processes in float32. Measured: identical to < 0.002 dB for bands whose
# bandwidth f0/Q is >= 10 Hz, but 0.05 dB at (60 Hz, Q 4) and 0.33 dB at (30 Hz, Q 18), where
# float32 coefficients cannot place the poles. Those are pedalboard precision limits, so the
# comparison below keeps f0/Q >= 10 Hz.
PEDALBOARD_CASES = [
    ("low", 100.0, 12.0, 1.0),
    ("low", 1000.0, -9.0, 1.0),
    ("high", 5000.0, 6.0, 1.0),
    ("high", 12000.0, -12.0, 1.0),
    ("peak", 1000.0, 6.0, 1.0),
    ("peak", 200.0, -12.0, 2.0),
    ("peak", 10000.0, 9.0, 0.5),
    ("peak", 3000.0, -18.0, 8.0),
]


@pytest.mark.parametrize("kind,f0,gain_db,q", PEDALBOARD_CASES)
def test_pedalboard_filters_agree(kind, f0, gain_db, q):
    """pedalboard LowShelfFilter/HighShelfFilter with q = 1/sqrt(2) (JUCE's shelf Q; equals
    S = 1) and PeakFilter agree within 0.1 dB, measured from a rendered impulse."""
    pedalboard = pytest.importorskip("pedalboard")
    sr = 48000
    cls = {"low": pedalboard.LowShelfFilter, "high": pedalboard.HighShelfFilter, "peak": pedalboard.PeakFilter}[kind]
    theirs = cls(cutoff_frequency_hz=f0, gain_db=gain_db, q=q if kind == "peak" else 1 / math.sqrt(2))
    n = 1 << 17
    impulse = np.zeros((1, n), dtype=np.float32)
    impulse[0, 0] = 1.0
    measured = 20 * np.log10(np.abs(np.fft.rfft(theirs(impulse, sr)[0].astype(np.float64))))
    freqs = np.fft.rfftfreq(n, 1 / sr)
    sel = (freqs >= 20.0) & (freqs <= 20000.0)
    ours = make_band(kind, f0, gain_db, q).response_db(freqs[sel], sr)
    np.testing.assert_allclose(measured[sel], ours, atol=0.1, rtol=0)

"""Compressor: Giannoulis, Massberg & Reiss (2012), JAES 60(6) - gain computer eq. 4 (soft knee),
smooth branching peak detector eq. 17 in the log domain after the gain computer.

Test signals are square waves (sign of a 1 kHz sine, never zero) times an envelope, so
max|x| per sample IS the envelope and the detector input is known exactly.
"""

from __future__ import annotations

import math

import numpy as np
import pytest

from harness.dsp import Compressor, gain_computer_db

SR = 48000


def square(n: int, sr: int = SR, freq: float = 1000.0) -> np.ndarray:
    t = np.arange(n) / sr
    return np.where(np.sin(2 * np.pi * freq * t + 0.3) >= 0, 1.0, -1.0)


def reference_static_db(level_db: float, t: float, r: float, w: float) -> float:
    """GMR 2012 eq. 4, one level at a time."""
    if 2 * (level_db - t) < -w:
        return level_db
    if 2 * abs(level_db - t) <= w and w > 0:
        return level_db + (1 / r - 1) * (level_db - t + w / 2) ** 2 / (2 * w)
    return t + (level_db - t) / r


CURVES = [(-20.0, 4.0, 0.0), (-30.0, 2.0, 6.0), (-24.0, 8.0, 12.0), (-12.0, 20.0, 24.0), (-40.0, 1.5, 3.0)]


@pytest.mark.parametrize("t,r,w", CURVES)
def test_gain_computer_is_eq4(t, r, w):
    levels = np.linspace(-80.0, 10.0, 901)
    expected = [reference_static_db(v, t, r, w) for v in levels]
    np.testing.assert_allclose(gain_computer_db(levels, t, r, w), expected, atol=1e-12)


@pytest.mark.parametrize("t,r,w", CURVES)
def test_static_curve_from_slow_ramp(t, r, w):
    """A -60 -> 0 dBFS ramp over 20 s (3 dB/s) with 1 ms attack/release: the measured gain
    20 log10|y/x| equals eq. 4 + makeup within 0.25 dB across the knee (the detector's lag,
    tau * slope, is ~0.003 dB)."""
    makeup = 3.0
    comp = Compressor(threshold_db=t, ratio=r, knee_db=w, attack_ms=1.0, release_ms=1.0, makeup_db=makeup)
    n = 20 * SR
    level_db = np.linspace(-60.0, 0.0, n)
    x = (square(n) * 10 ** (level_db / 20))[None, :]
    y = comp.render(x, SR)
    measured = 20 * np.log10(np.abs(y[0] / x[0]))
    expected = gain_computer_db(level_db, t, r, w) - level_db + makeup
    settled = slice(SR // 10, None)
    assert np.max(np.abs(measured[settled] - expected[settled])) < 0.25
    # and the knee region specifically was exercised
    in_knee = np.abs(level_db - t) <= max(w, 1.0) / 2
    assert in_knee.sum() > 1000


def step_response(comp: Compressor, low_db: float, high_db: float, rising: bool) -> tuple[np.ndarray, int]:
    """Gain reduction y_L (dB) around a level step at n0 = 1 s, and n0."""
    n, n0 = 3 * SR, SR
    level = np.where(np.arange(n) < n0, low_db if rising else high_db, high_db if rising else low_db)
    x = (square(n) * 10 ** (level / 20))[None, :]
    reduction = comp.makeup_db - comp.gain_db(x, SR)
    return reduction, n0


def time_to_fraction(reduction: np.ndarray, n0: int, fraction: float) -> float:
    before, after = reduction[n0 - 1], reduction[-1]
    target = before + fraction * (after - before)
    crossed = (reduction[n0:] >= target) if after > before else (reduction[n0:] <= target)
    return (int(np.argmax(crossed)) + 1) / SR


@pytest.mark.parametrize("attack_ms", [1.0, 5.0, 20.0, 80.0])
def test_attack_time_constant(attack_ms):
    """Definition: after a step up in level, the gain reduction in dB covers 1 - 1/e of its
    change in attack_ms (GMR eq. 17 step response 1 - a^n, a = exp(-1/(tau sr))). A 20 dB step
    from -40 to -20 dBFS, threshold -50, ratio 4, hard knee: y_L goes 7.5 -> 22.5 dB."""
    comp = Compressor(threshold_db=-50.0, ratio=4.0, knee_db=0.0, attack_ms=attack_ms, release_ms=500.0)
    reduction, n0 = step_response(comp, -40.0, -20.0, rising=True)
    assert reduction[n0 - 1] == pytest.approx(7.5, abs=1e-3)
    assert reduction[-1] == pytest.approx(22.5, abs=1e-3)
    tau = time_to_fraction(reduction, n0, 1 - 1 / math.e)
    assert tau == pytest.approx(attack_ms / 1000, rel=0.10)
    # and the whole curve is the exponential 1 - exp(-t/tau)
    t = np.arange(1, SR // 2) / SR
    expected = 7.5 + 15.0 * (1 - np.exp(-t / (attack_ms / 1000)))
    np.testing.assert_allclose(reduction[n0:n0 + SR // 2 - 1], expected, atol=0.02)


@pytest.mark.parametrize("release_ms", [20.0, 100.0, 400.0])
def test_release_time_constant(release_ms):
    """Same definition for a 20 dB step down: y_L falls from 22.5 to 7.5 dB, covering
    1 - 1/e of the change in release_ms."""
    comp = Compressor(threshold_db=-50.0, ratio=4.0, knee_db=0.0, attack_ms=1.0, release_ms=release_ms)
    reduction, n0 = step_response(comp, -40.0, -20.0, rising=False)
    assert reduction[n0 - 1] == pytest.approx(22.5, abs=1e-3)
    tau = time_to_fraction(reduction, n0, 1 - 1 / math.e)
    assert tau == pytest.approx(release_ms / 1000, rel=0.10)


def test_stereo_link_one_loud_channel_reduces_both():
    """Detector on max_c |x_c|: a loud left channel sets the gain of a quiet right channel."""
    n = SR
    loud = square(n) * 10 ** (-6 / 20)
    quiet = square(n, freq=440.0) * 10 ** (-40 / 20)
    comp = Compressor(threshold_db=-30.0, ratio=4.0, knee_db=0.0, attack_ms=1.0, release_ms=50.0)
    y = comp.render(np.stack([loud, quiet]), SR)
    gain_left, gain_right = y[0] / loud, y[1] / quiet
    np.testing.assert_allclose(gain_right, gain_left, rtol=1e-12)
    settled = 20 * np.log10(gain_right[SR // 2:])
    np.testing.assert_allclose(settled, -(24.0 * 0.75), atol=1e-3)  # 24 dB over, ratio 4
    # alone, the quiet channel (below threshold) would pass untouched
    np.testing.assert_allclose(comp.render(quiet[None, :], SR)[0], quiet, rtol=1e-9)
    # and the link is symmetric
    y_swapped = comp.render(np.stack([quiet, loud]), SR)
    np.testing.assert_array_equal(y_swapped[0], y[1])


def test_makeup_gain():
    """Below threshold the output is the input times 10^(M/20); above, eq. 4 shifted by M."""
    x = (square(SR) * 10 ** (-50 / 20))[None, :]
    for makeup in (-12.0, 0.0, 6.0, 24.0):
        comp = Compressor(threshold_db=-20.0, ratio=4.0, knee_db=6.0, makeup_db=makeup)
        np.testing.assert_allclose(comp.render(x, SR), x * 10 ** (makeup / 20), rtol=1e-9)
    loud = (square(SR) * 10 ** (-4 / 20))[None, :]
    g0 = Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=1.0, makeup_db=0.0).gain_db(loud, SR)
    g6 = Compressor(threshold_db=-20.0, ratio=4.0, attack_ms=1.0, makeup_db=6.0).gain_db(loud, SR)
    np.testing.assert_allclose(g6 - g0, 6.0, atol=1e-12)
    assert g0[-1] == pytest.approx(-12.0, abs=1e-6)  # 16 dB over at ratio 4


def test_silence_and_dtype():
    comp = Compressor()
    z = np.zeros((2, 1000), dtype=np.float32)
    y = comp.render(z, SR)
    assert y.dtype == np.float32 and np.all(y == 0)
    x = (np.random.default_rng(0).uniform(-1, 1, (2, 5000))).astype(np.float32)
    before = x.copy()
    y = comp.render(x, SR)
    np.testing.assert_array_equal(x, before)
    assert y.dtype == np.float32
    np.testing.assert_array_equal(y, comp.render(x.astype(np.float64), SR).astype(np.float32))


def test_polynomial_log_exp_match_libm():
    """The kernel's log2/exp2 polynomials: gain within 1e-6 dB of the exact formulas
    (computed here with numpy log10/power and the same recursion)."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((2, 20000)) * 10 ** (rng.uniform(-60, 6, 20000) / 20)
    comp = Compressor(threshold_db=-30.0, ratio=3.0, knee_db=8.0, attack_ms=2.0, release_ms=40.0, makeup_db=2.0)
    level = 20 * np.log10(np.maximum(np.abs(x).max(axis=0), 1e-30))
    target = level - gain_computer_db(level, -30.0, 3.0, 8.0)
    a_att, a_rel = math.exp(-1 / (0.002 * SR)), math.exp(-1 / (0.040 * SR))
    y_l, expected = 0.0, np.empty_like(target)
    for i, v in enumerate(target):
        a = a_att if v > y_l else a_rel
        y_l = a * y_l + (1 - a) * v
        expected[i] = 2.0 - y_l
    np.testing.assert_allclose(comp.gain_db(x, SR), expected, atol=1e-6)
    np.testing.assert_allclose(comp.render(x, SR), x * 10 ** (expected / 20), rtol=1e-6)

"""True-peak limiter: output true peak <= ceiling (ITU-R BS.1770-4 Annex 2 notion of true peak).

The independent reference is scipy.signal.resample_poly at 16x (its own Kaiser-windowed
sinc, 20 taps per input sample), four times denser than the limiter's 4x detector; the
harness BS.1770 meter is checked too when available.
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy.signal import chirp, resample_poly

from harness.dsp import TruePeakLimiter, interval_true_peaks
from harness.dsp.limiter import BS1770_TAPS, HOLD, MARGIN_DB, interpolator_taps

TOLERANCE_DB = 0.1


def reference_true_peak_db(audio: np.ndarray) -> float:
    peak = float(np.max(np.abs(resample_poly(audio, 16, 1, axis=-1))))
    return 20 * math.log10(peak) if peak > 0 else -math.inf


# -- adversarial signals ------------------------------------------------------------------------


def _sine(rng, sr, n, freq, phase=None, amp=None):
    t = np.arange(n) / sr
    amp = rng.uniform(0.7, 4.0) if amp is None else amp
    phase = rng.uniform(0, 2 * np.pi) if phase is None else phase
    return amp * np.sin(2 * np.pi * freq * t + phase)[None, :]


def _pink(rng, n, channels=2):
    white = rng.standard_normal((channels, n))
    spectrum = np.fft.rfft(white, axis=1)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[1]), 1))[None, :]
    x = np.fft.irfft(spectrum, n, axis=1)
    return x / np.max(np.abs(x))


def _square(rng, sr, n):
    return np.sign(_sine(rng, sr, n, rng.uniform(50, 12000), amp=1.0) + 1e-9)


def _sinc_signs(rng, sr, n):
    # x[k] = sign(sinc(k - 1/2)): the sequence whose reconstruction peaks highest between two
    # samples for its sample peak (grows like log of its length)
    x = np.zeros((1, n))
    k = np.arange(-16, 16)
    x[0, n // 2 - 16:n // 2 + 16] = np.sign(np.sinc(k + 0.5)) * rng.uniform(0.5, 2.0)
    return x


SIGNALS = {
    "fs4_sine_45deg": lambda rng, sr, n: _sine(rng, sr, n, sr / 4, phase=np.pi / 4),
    "fs4_sine_any_phase": lambda rng, sr, n: _sine(rng, sr, n, sr / 4),
    "near_nyquist_sine": lambda rng, sr, n: _sine(rng, sr, n, rng.uniform(0.40, 0.49) * sr),
    "high_sine_20k": lambda rng, sr, n: _sine(rng, sr, n, 20000.0),
    "square_wave": lambda rng, sr, n: rng.uniform(0.8, 3.0) * _square(rng, sr, n),
    "noise_bursts": lambda rng, sr, n: _bursts(rng, n),
    "impulses": lambda rng, sr, n: _impulses(rng, n),
    "sinc_sign_pattern": _sinc_signs,
    "dc": lambda rng, sr, n: np.full((2, n), rng.choice([-1.0, 1.0]) * rng.uniform(0.5, 4.0)),
    "full_scale_noise": lambda rng, sr, n: rng.uniform(-1.0, 1.0, (2, n)),
    "loud_gaussian_noise": lambda rng, sr, n: rng.standard_normal((2, n)) * rng.uniform(0.5, 2.0),
    "clipped_audio": lambda rng, sr, n: np.clip(_pink(rng, n) * rng.uniform(1.5, 4.0), -1.0, 1.0),
    "plus_20db_music": lambda rng, sr, n: _pink(rng, n) * 10.0,
    "chirp": lambda rng, sr, n: rng.uniform(0.7, 3.0) * chirp(np.arange(n) / sr, 20, n / sr, 20000, "log")[None, :],
    "two_tones_near_fs4": lambda rng, sr, n: _sine(rng, sr, n, sr / 4 - 300, amp=1.0)
    + _sine(rng, sr, n, sr / 4 + 170, amp=1.0),
    "gated_sine": lambda rng, sr, n: _sine(rng, sr, n, rng.uniform(100, 15000)) * (np.arange(n) % 2000 < 700),
    "one_loud_channel": lambda rng, sr, n: np.vstack([_pink(rng, n, 1) * 4.0, _pink(rng, n, 1) * 0.1]),
    "silence_then_full_scale_step": lambda rng, sr, n: (np.arange(n) >= n // 2)[None, :] * rng.uniform(1, 3),
    "alternating_full_scale": lambda rng, sr, n: ((-1.0) ** np.arange(n) * rng.uniform(0.5, 2.0))[None, :],
    "sparse_clicks_in_quiet_music": lambda rng, sr, n: _pink(rng, n) * 0.05 + _impulses(rng, n),
}
SEEDS = range(6)


def _bursts(rng, n):
    x = np.zeros((2, n))
    for _ in range(20):
        start, length = rng.integers(0, n - 500), rng.integers(5, 400)
        x[rng.integers(0, 2), start:start + length] += rng.standard_normal(length) * rng.uniform(0.5, 5.0)
    return x


def _impulses(rng, n):
    x = np.zeros((2, n))
    where = rng.integers(0, n, 40)
    x[0, where] = rng.uniform(-5, 5, 40)
    x[1, where[::-1]] = rng.uniform(-5, 5, 40)
    return x


def adversarial_case(kind: str, seed: int):
    rng = np.random.default_rng(1000 * seed + sorted(SIGNALS).index(kind))
    sr = int(rng.choice([44100, 48000]))
    audio = SIGNALS[kind](rng, sr, sr // 4)
    limiter = TruePeakLimiter(
        ceiling_dbtp=float(rng.choice([-0.1, -1.0, -2.0, -6.0, -12.0])),
        release_ms=float(rng.choice([1.0, 10.0, 50.0, 300.0, 1000.0])),
        lookahead_ms=float(rng.choice([0.5, 1.5, 2.0, 5.0, 10.0])),
    )
    return audio, sr, limiter


CASES = [(kind, seed) for kind in sorted(SIGNALS) for seed in SEEDS]


def test_there_are_at_least_100_adversarial_signals():
    assert len(CASES) >= 100


@pytest.mark.parametrize("kind,seed", CASES)
def test_output_true_peak_never_exceeds_ceiling(kind, seed):
    """16x resample_poly true peak of the output <= ceiling + 0.1 dB; sample peak <= ceiling."""
    audio, sr, limiter = adversarial_case(kind, seed)
    out = limiter.render(audio, sr)
    assert np.all(np.isfinite(out))
    assert reference_true_peak_db(out) <= limiter.ceiling_dbtp + TOLERANCE_DB
    assert np.max(np.abs(out)) <= 10 ** (limiter.ceiling_dbtp / 20)


@pytest.mark.parametrize("kind,seed", CASES)
def test_output_passes_the_harness_bs1770_meter(kind, seed):
    """Same set measured by harness.metrics.true_peak_dbtp (BS.1770-4 Annex 2 meter)."""
    metrics = pytest.importorskip("harness.metrics")
    true_peak_dbtp = getattr(metrics, "true_peak_dbtp", None)
    if true_peak_dbtp is None:
        pytest.skip("harness.metrics has no true_peak_dbtp yet")
    audio, sr, limiter = adversarial_case(kind, seed)
    out = limiter.render(audio, sr)
    if not np.any(out):
        return
    assert true_peak_dbtp(out, sr) <= limiter.ceiling_dbtp + TOLERANCE_DB


# ITU-R BS.1770-4 Annex 2, the 48-tap interpolating FIR as the standard prints it (phase p holds
# coefficients p, p + 4, ..., p + 44), written out here rather than read from the code under test.
ANNEX2_PUBLISHED = [
    [0.0017089843750, 0.0109863281250, -0.0196533203125, 0.0332031250000, -0.0594482421875, 0.1373291015625,
     0.9721679687500, -0.1022949218750, 0.0476074218750, -0.0266113281250, 0.0148925781250, -0.0083007812500],
    [-0.0291748046875, 0.0292968750000, -0.0517578125000, 0.0891113281250, -0.1665039062500, 0.4650878906250,
     0.7797851562500, -0.2003173828125, 0.1015625000000, -0.0582275390625, 0.0330810546875, -0.0189208984375],
    [-0.0189208984375, 0.0330810546875, -0.0582275390625, 0.1015625000000, -0.2003173828125, 0.7797851562500,
     0.4650878906250, -0.1665039062500, 0.0891113281250, -0.0517578125000, 0.0292968750000, -0.0291748046875],
    [-0.0083007812500, 0.0148925781250, -0.0266113281250, 0.0476074218750, -0.1022949218750, 0.9721679687500,
     0.1373291015625, -0.0594482421875, 0.0332031250000, -0.0196533203125, 0.0109863281250, 0.0017089843750],
]


def test_annex_taps_are_the_published_bs1770_4_coefficients():
    taps = np.asarray(BS1770_TAPS)
    np.testing.assert_array_equal(taps, np.array(ANNEX2_PUBLISHED))
    # Structure of the published filter: linear phase (phases 3 and 2 mirror 0 and 1), 2^-13 fixed point.
    np.testing.assert_array_equal(taps[3], taps[0][::-1])
    np.testing.assert_array_equal(taps[2], taps[1][::-1])
    np.testing.assert_array_equal(taps * 2**13, np.round(taps * 2**13))


@pytest.mark.parametrize("freq_fraction", [0.2, 0.25 - 500 / 48000, 0.25 - 100 / 48000, 0.25, 0.25 + 100 / 48000,
                                           0.25 + 700 / 48000, 0.3])
def test_detector_reads_at_least_the_bs1770_meter(freq_fraction):
    """The limiter's detector includes the Annex interpolator's points, so it never reads a tone lower
    than the standard meter does. Near fs/4 the Annex's ripple reads ~0.1 dB hotter than the limiter's
    own sinc interpolator, so without those points this fails."""
    from harness.metrics import true_peak_dbtp

    sr = 48000
    t = np.arange(sr // 10) / sr
    for phase in np.linspace(0.0, np.pi / 2, 7):
        x = 0.5 * np.sin(2 * np.pi * freq_fraction * sr * t + phase)[None, :]
        detected_db = 20 * np.log10(float(interval_true_peaks(x).max()))
        assert detected_db >= true_peak_dbtp(x, sr) - 1e-5, (freq_fraction, phase)  # float32 detector


# -- transparency, alignment, timing --------------------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_quiet_signal_passes_through_unchanged(dtype):
    sr = 48000
    x = (_pink(np.random.default_rng(1), sr) * 10 ** (-8 / 20)).astype(dtype)  # true peak < -3 dBTP
    assert reference_true_peak_db(x.astype(np.float64)) < -3.0
    y = TruePeakLimiter(ceiling_dbtp=-1.0).render(x, sr)
    assert y.dtype == dtype
    np.testing.assert_allclose(y, x, atol=1e-6, rtol=0)
    np.testing.assert_array_equal(y, x)  # the gain is exactly 1.0 there


def test_output_is_aligned_and_delayed_variant_is_the_plugin_latency():
    sr = 48000
    rng = np.random.default_rng(2)
    x = _pink(rng, sr) * 0.05
    x[:, 20000] = [3.0, -2.0]
    limiter = TruePeakLimiter(ceiling_dbtp=-1.0, lookahead_ms=3.0)
    y = limiter.render(x, sr)
    assert int(np.argmax(np.abs(y[0]))) == 20000  # the reduced peak stays where it was
    g = limiter.gain(x, sr)
    np.testing.assert_array_equal(y, x * g)
    d = limiter.latency_samples(sr)
    assert d == round(3.0e-3 * sr)
    delayed = limiter.render(x, sr, aligned=False)
    np.testing.assert_array_equal(delayed[:, :d], 0.0)
    np.testing.assert_array_equal(delayed[:, d:], y[:, :-d])


def test_latency_samples():
    assert TruePeakLimiter(lookahead_ms=2.0).latency_samples(48000) == 96
    assert TruePeakLimiter(lookahead_ms=5.0).latency_samples(44100) == 220
    assert TruePeakLimiter(lookahead_ms=0.5).latency_samples(8000) == HOLD  # floor: the hold


def test_gain_is_at_most_the_requirement_around_every_sample():
    """The invariant the design rests on: g[n] <= c / peak[k] for every k in [n - HOLD, n + HOLD]."""
    sr = 44100
    rng = np.random.default_rng(3)
    x = _pink(rng, sr // 2) * 3.0
    x[:, 5000:5003] = [[4.0, -4.0, 4.0], [1.0, 1.0, 1.0]]
    limiter = TruePeakLimiter(ceiling_dbtp=-2.0, release_ms=30.0, lookahead_ms=1.0)
    g = limiter.gain(x, sr)
    peaks = interval_true_peaks(x).astype(np.float64)  # interval n at index n + HOLD
    c = 10 ** ((limiter.ceiling_dbtp - MARGIN_DB) / 20)
    required = np.minimum(1.0, c / np.maximum(peaks, 1e-30))
    n = x.shape[1]
    worst = np.full(n, np.inf)
    for shift in range(0, 2 * HOLD + 1):  # k = n - HOLD + shift  ->  index n + shift
        worst = np.minimum(worst, required[shift:shift + n])
    assert np.all(g <= worst * (1 + 1e-12))
    assert np.all((g > 0) & (g <= 1.0))


def test_dc_settles_exactly_at_the_ceiling_minus_margin():
    """No over-limiting: steady DC at +6 dBFS comes out where the BS.1770 Annex interpolator
    (DC gain 1.0016, so it reads DC 0.014 dB hot) puts it at ceiling - MARGIN_DB."""
    sr = 48000
    x = np.full((2, 2 * sr), 2.0)
    y = TruePeakLimiter(ceiling_dbtp=-1.0, release_ms=50.0).render(x, sr)
    steady = 20 * np.log10(np.abs(y[:, sr:3 * sr // 2]))
    annex_dc_db = 20 * np.log10(BS1770_TAPS.sum(axis=1).max())
    np.testing.assert_allclose(steady, -1.0 - MARGIN_DB - annex_dc_db, atol=1e-4)


def test_release_time_constant():
    """After the hold, 1 - g decays as a^n with a = exp(-1/(release_s sr)): over release_ms
    it shrinks by 1/e."""
    sr = 48000
    release_ms = 40.0
    x = np.zeros((1, sr))
    x[0, 1000] = 4.0
    x[0, 1001:] = 0.01
    limiter = TruePeakLimiter(ceiling_dbtp=-1.0, release_ms=release_ms, lookahead_ms=2.0)
    g = limiter.gain(x, sr)
    start = 1000 + 2 * limiter.latency_samples(sr) + 10  # ramp over
    tau = int(round(release_ms * 1e-3 * sr))
    ratio = (1 - g[start + tau]) / (1 - g[start])
    assert ratio == pytest.approx(math.exp(-1), rel=1e-3)


def test_square_and_dc_do_not_break_it_and_input_is_untouched():
    sr = 44100
    x = np.vstack([np.full(sr // 2, 3.0), np.sign(np.sin(np.arange(sr // 2) * 0.05) + 1e-9) * 3.0]).astype(np.float32)
    before = x.copy()
    y = TruePeakLimiter(ceiling_dbtp=-0.5, release_ms=1.0, lookahead_ms=0.5).render(x, sr)
    np.testing.assert_array_equal(x, before)
    assert y.dtype == np.float32 and y.shape == x.shape and np.all(np.isfinite(y))
    assert reference_true_peak_db(y.astype(np.float64)) <= -0.5 + TOLERANCE_DB


def test_interpolator_design():
    """Each sinc phase has unit DC gain and stays within -0.02/+0.05 dB up to 0.42 fs."""
    h = interpolator_taps()
    np.testing.assert_allclose(h.sum(axis=1), 1.0, rtol=1e-12)
    k = np.arange(-HOLD + 1, HOLD + 1)
    f = np.linspace(0, 0.42, 500)
    response = np.abs(np.exp(-2j * np.pi * f[:, None] * k[None, :]) @ h.T)
    db = 20 * np.log10(response)
    assert db.min() > -0.02 and db.max() < 0.05

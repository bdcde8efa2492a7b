"""The rules baseline reads spectra as DAWG's Web Audio plugins do: an AnalyserNode per the W3C spec
(https://www.w3.org/TR/webaudio/#AnalyserNode: Blackman window, 1/N-scaled FFT, smoothing over time,
byte scaling between minDecibels and maxDecibels). `rules-plan` runs only the plan's quoted rules."""

import math

import numpy as np
import pytest

from harness.candidates import get_candidate
from harness.candidates import web_audio_analyser as wa
from harness.candidates.rules import EQ_RULE_SOURCES, eq_rules
from harness.tasks.base import Query

SR = 48000
N = wa.FFT_SIZE


def test_blackman_window_is_the_specs():
    w = wa.blackman()
    i = np.arange(N)
    spec = 0.42 - 0.5 * np.cos(2 * np.pi * i / N) + 0.08 * np.cos(4 * np.pi * i / N)
    assert np.array_equal(w, spec)
    assert w[0] == pytest.approx(0.0, abs=1e-15) and w[N // 2] == pytest.approx(1.0)


def test_byte_value_of_a_steady_sine_follows_the_spec_formula():
    """A sine of amplitude A on bin k0: |X[k0]| = (A/2) * mean(window) = 0.21 A once smoothing has
    settled; Y = 20 log10(0.21 A) dB; byte = floor(255 / 70 * (Y + 100))."""
    k0, amplitude = 64, 1e-3
    t = np.arange(N * 60) / SR
    x = amplitude * np.sin(2 * np.pi * (k0 * SR / N) * t)
    frames = wa.byte_frequency_frames(np.stack([x, x]))
    expected = math.floor(255 / 70 * (20 * math.log10(0.21 * amplitude) + 100))
    assert frames[-1, k0] == expected  # 96 for A = 1e-3
    assert frames[0, k0] < expected  # the first reading is smoothed from zero: 0.2 |X|
    assert frames[-1, k0 + 6] == 0  # Blackman sidelobes (-58 dB) fall below minDecibels here


def test_centroid_of_a_quiet_sine_is_its_frequency_and_anti_phase_stereo_is_silence():
    f0 = 100 * SR / N
    t = np.arange(N * 20) / SR
    x = 1e-3 * np.sin(2 * np.pi * f0 * t)
    assert wa.spectral_centroid_hz(np.stack([x, x]), SR) == pytest.approx(f0, rel=0.01)
    assert wa.spectral_centroid_hz(np.stack([x, -x]), SR) is None  # the mono down-mix cancels
    assert wa.spectral_centroid_hz(np.zeros((2, 1000)), SR) is None  # shorter than one reading


def test_rules_plan_fires_only_the_plans_rules():
    rng = np.random.default_rng(0)
    # Dark and boomy: pink-ish noise low-passed hard, so 'dark' and 'boom' (added rules) fire in `rules`.
    white = rng.standard_normal((2, SR * 3))
    spectrum = np.fft.rfft(white, axis=1)
    f = np.fft.rfftfreq(white.shape[1], 1 / SR)
    shaped = np.fft.irfft(spectrum / np.maximum(f, 20.0) ** 2.5, n=white.shape[1], axis=1)
    shaped *= 0.05 / np.sqrt(np.mean(shaped**2))
    _, fired_all = eq_rules(shaped, SR)
    _, fired_plan = eq_rules(shaped, SR, plan_only=True)
    assert {"dark", "boom"} <= set(fired_all)
    assert set(fired_plan) <= {r for r, src in EQ_RULE_SOURCES.items() if src == "plan"}
    plan = get_candidate("rules-plan")
    assert plan.runs_task("eq") and not plan.runs_task("compressor") and not plan.runs_task("mastering")
    eq = plan.predict(Query(task="eq", variant=None, audio=shaped, sample_rate=SR)).params
    assert eq.low_shelf.gain_db == 0.0  # no 'boom' shelf: that rule is not the plan's


def test_bright_rule_fires_on_typical_music_through_the_analyser():
    """Byte spectra are dB-scaled, so their centroid sits high: E1 (> 3 kHz) fires on ordinary mixes."""
    from harness.corpus.synth import STYLES, render_arrangement

    mix = render_arrangement(3, STYLES["pop"], 4.0, SR) * 0.3
    assert wa.spectral_centroid_hz(mix, SR) > 3000
    assert "bright" in eq_rules(mix, SR)[1]

"""Loudness meters against ITU-R BS.1770-4, EBU Tech 3341 (V4) and Tech 3342 (V4), and pyloudnorm.

Test signals are generated here as the EBU test set describes them (1 kHz sines
at given dBFS per channel), at 44.1 and 48 kHz.
"""

from __future__ import annotations

import math

import numpy as np
import pyloudnorm
import pytest

from harness.metrics import (
    Unmeasurable,
    apply_kweighting,
    integrated_lufs,
    kweighting_coefficients,
    loudness_range_lu,
    loudness_stats,
    loudness_target_error_lu,
    max_momentary_lufs,
    max_short_term_lufs,
    momentary_loudness_lufs,
    plr_db,
    short_term_loudness_lufs,
    true_peak_dbtp,
)
from harness.metrics.kweighting import BS1770_48K_HIGHPASS, BS1770_48K_SHELF
from harness.metrics.loudness import LOUDNESS_FLOOR_LUFS

RATES = (44100, 48000)


def tone_segments(segments, sr, channels=2, freq=1000.0, levels_per_channel=None):
    """Concatenated 1 kHz sine segments [(dBFS, seconds), ...], phase-continuous, (channels, n)."""
    pieces = []
    start = 0
    for level_db, seconds in segments:
        n = int(round(seconds * sr))
        t = (start + np.arange(n)) / sr
        pieces.append(10.0 ** (level_db / 20.0) * np.sin(2 * np.pi * freq * t))
        start += n
    mono = np.concatenate(pieces)
    out = np.tile(mono, (channels, 1))
    if levels_per_channel is not None:  # per-channel offsets in dB
        out *= 10.0 ** (np.asarray(levels_per_channel)[:, None] / 20.0)
    return out


def music_like(sr, seconds, channels=2, seed=0):
    """Deterministic stand-in for programme: drifting tones, pulsing noise, a level ramp."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    x = np.zeros((channels, n))
    for _ in range(6):
        freq = rng.uniform(50, 4000)
        env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.05, 0.5) * t + rng.uniform(0, 6))
        for c in range(channels):
            x[c] += rng.uniform(0.03, 0.2) * env * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6))
    x += 0.03 * rng.standard_normal((channels, n)) * (1.2 + np.sin(2 * np.pi * 0.7 * t)) ** 2
    return x * np.linspace(0.3, 1.0, n)


# --------------------------------------------------------------------------- K-weighting


def test_kweighting_at_48k_equals_bs1770_tables_1_and_2():
    """BS.1770-4 clause 2.1, Tables 1-2: the derived 48 kHz coefficients are the published ones."""
    (sb, sa), (hb, ha) = kweighting_coefficients(48000)
    np.testing.assert_allclose(sb, BS1770_48K_SHELF[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(sa, BS1770_48K_SHELF[1], rtol=0, atol=1e-10)
    np.testing.assert_allclose(hb, BS1770_48K_HIGHPASS[0], rtol=0, atol=1e-10)
    np.testing.assert_allclose(ha, BS1770_48K_HIGHPASS[1], rtol=0, atol=1e-10)


def _kweighting_response_db(rate, freqs):
    import scipy.signal

    total = np.zeros(len(freqs))
    for b, a in kweighting_coefficients(rate):
        _, h = scipy.signal.freqz(b, a, worN=freqs, fs=rate)
        total += 20 * np.log10(np.abs(h))
    return total


@pytest.mark.parametrize("sr, tolerance_db", [(32000, 0.05), (44100, 0.01), (96000, 0.05), (192000, 0.05)])
def test_kweighting_response_at_other_rates_matches_the_48k_standard(sr, tolerance_db):
    """BS.1770-4 defines K-weighting at 48 kHz only; the derived filter keeps its response elsewhere.

    20 Hz - 3 kHz, against the published 48 kHz filter. Like libebur128 and pyloudnorm
    'DeMan', stage 2 keeps the standard's (1, -2, 1) numerator at every rate, so its
    passband gain drifts slightly with rate (measured: +0.004 dB at 44.1 kHz, -0.03 dB at 192 kHz).
    """
    freqs = np.array([20.0, 40.0, 100.0, 1000.0, 2000.0, 3000.0])
    np.testing.assert_allclose(_kweighting_response_db(sr, freqs), _kweighting_response_db(48000, freqs), atol=tolerance_db)


@pytest.mark.parametrize("sr", [8000, 16000])
def test_kweighting_at_low_rates_deviates_by_a_documented_bound(sr):
    """At 8 and 16 kHz the same derivation reads up to 0.22 dB hot at low frequencies and 0.43 dB
    at 2 kHz (bilinear warping near Nyquist) - shared with libebur128/pyloudnorm; see docs/metrics.md.
    Tech 3341 case 1 still reads within its +-0.1 LU (measured +0.02 LU at 8 kHz, +0.05 at 16 kHz)."""
    freqs = np.array([20.0, 100.0, 1000.0, 2000.0])
    deviation = np.abs(_kweighting_response_db(sr, freqs) - _kweighting_response_db(48000, freqs))
    assert deviation.max() < 0.45
    case1 = tone_segments([(-23.0, 20.0)], sr)
    assert integrated_lufs(case1, sr) == pytest.approx(-23.0, abs=0.1)


def test_fused_kernel_matches_scipy_kweighting_block_energies():
    """The numba granule kernel equals scipy.signal.sosfilt K-weighting + BS.1770 eq. 1-4 to 1e-9 LU."""
    sr = 44100
    x = music_like(sr, 7.0, seed=3)
    y = apply_kweighting(x, sr)
    block, hop = int(0.4 * sr), int(0.1 * sr)
    count = (y.shape[1] - block) // hop + 1
    z = np.array([[np.mean(y[c, j * hop : j * hop + block] ** 2) for j in range(count)] for c in range(2)])
    expected = -0.691 + 10 * np.log10(z.sum(axis=0))
    np.testing.assert_allclose(momentary_loudness_lufs(x, sr), expected, rtol=0, atol=1e-9)


# --------------------------------------------------------------------------- Tech 3341 integrated


TECH_3341_INTEGRATED = {
    # case: (segments [(dBFS, s)], expected LUFS) - EBU Tech 3341 V4 Table 1
    1: ([(-23.0, 20.0)], -23.0),
    2: ([(-33.0, 20.0)], -33.0),
    3: ([(-36.0, 10.0), (-23.0, 60.0), (-36.0, 10.0)], -23.0),
    4: ([(-72.0, 10.0), (-36.0, 10.0), (-23.0, 20.0), (-36.0, 10.0), (-72.0, 10.0)], -23.0),
    5: ([(-26.0, 20.1), (-20.0, 20.0), (-26.0, 20.1)], -23.0),
}


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("case", sorted(TECH_3341_INTEGRATED))
def test_tech3341_integrated_cases_1_to_5(case, sr):
    """EBU Tech 3341 V4 Table 1 cases 1-5 (stereo 1 kHz sines): integrated loudness within +-0.1 LU.

    Case 3 and 4 exercise the relative (-10 LU) and absolute (-70 LUFS) gates of
    BS.1770-4 clause 2.8; case 5 the gating of a level step.
    """
    segments, expected = TECH_3341_INTEGRATED[case]
    measured = integrated_lufs(tone_segments(segments, sr), sr)
    assert measured == pytest.approx(expected, abs=0.1)
    # Measured: cases 1, 2, 5 +0.007/+0.009 LU, case 3 -0.014, case 4 -0.055 (the six 400 ms
    # blocks straddling the -36/-23 steps pass the relative gate; pyloudnorm 'DeMan' agrees to 1e-12).
    assert measured == pytest.approx(expected, abs=0.06)


@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case_6_five_channels(sr):
    """EBU Tech 3341 case 6: 5.0, 1 kHz at L,R -28 / C -24 / Ls,Rs -30 dBFS for 20 s -> -23.0 +-0.1 LUFS.

    Exercises the BS.1770-4 Table 3 weights (1.41 on the surrounds).
    """
    x = tone_segments([(0.0, 20.0)], sr, channels=5, levels_per_channel=[-28, -28, -24, -30, -30])
    assert integrated_lufs(x, sr) == pytest.approx(-23.0, abs=0.1)


def test_more_than_five_channels_is_an_error():
    with pytest.raises(ValueError, match="1-5 channels"):
        integrated_lufs(np.zeros((6, 48000)), 48000)


def test_mono_reads_3_db_below_the_same_signal_on_two_channels():
    """BS.1770-4 eq. 2 sums channel powers: dual mono is +3.01 LU over mono."""
    sr = 48000
    stereo = tone_segments([(-20.0, 5.0)], sr)
    mono = stereo[:1]
    diff = integrated_lufs(stereo, sr) - integrated_lufs(mono, sr)
    assert diff == pytest.approx(10 * math.log10(2), abs=1e-9)
    assert integrated_lufs(mono[0], sr) == integrated_lufs(mono, sr)  # 1-D is mono


# --------------------------------------------------------------------------- Tech 3341 M and S


@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case_9_short_term_constant(sr):
    """EBU Tech 3341 case 9: 20 x (1.34 s at -20, 1.66 s at -30 dBFS): S = -23.0 +-0.1 LUFS throughout."""
    x = tone_segments([(-20.0, 1.34), (-30.0, 1.66)] * 20, sr)
    series = short_term_loudness_lufs(x, sr)
    assert len(series) == int((60.0 - 3.0) / 0.1) + 1
    assert np.all(np.abs(series - (-23.0)) <= 0.1)


@pytest.mark.parametrize("sr", RATES)
def test_tech3341_case_12_momentary_constant(sr):
    """EBU Tech 3341 case 12: 25 x (0.18 s at -20, 0.22 s at -30 dBFS): M = -23.0 +-0.1 LUFS after 1 s.

    Checked at the 10 Hz minimum rate and at 100 Hz.
    """
    x = tone_segments([(-20.0, 0.18), (-30.0, 0.22)] * 25, sr)
    for hop in (0.1, 0.01):
        series = momentary_loudness_lufs(x, sr, hop_s=hop)
        ends = np.arange(len(series)) * hop + 0.4
        assert np.all(np.abs(series[ends >= 1.0 - 1e-9] - (-23.0)) <= 0.1)


def test_max_momentary_and_short_term_find_a_burst_between_10hz_ticks():
    """Max M/S are searched every 10 ms, so a 400 ms burst off the 100 ms grid reads its level (Tech 3341 cases 13-14 idea)."""
    sr = 48000
    x = tone_segments([(-60.0, 5.03), (-20.0, 0.4), (-60.0, 5.0)], sr)
    assert max_momentary_lufs(x, sr) == pytest.approx(-20.0, abs=0.1)
    y = tone_segments([(-60.0, 5.03), (-20.0, 3.0), (-60.0, 5.0)], sr)
    assert max_short_term_lufs(y, sr) == pytest.approx(-20.0, abs=0.1)


# --------------------------------------------------------------------------- Tech 3342 LRA


TECH_3342_LRA = {
    # case: (segments, expected LU) - EBU Tech 3342 V4 Table 1 (stereo 1 kHz sines)
    1: ([(-20.0, 20.0), (-30.0, 20.0)], 10.0),
    2: ([(-20.0, 20.0), (-15.0, 20.0)], 5.0),
    3: ([(-40.0, 20.0), (-20.0, 20.0)], 20.0),
    4: ([(-50.0, 20.0), (-35.0, 20.0), (-20.0, 20.0), (-35.0, 20.0), (-50.0, 20.0)], 15.0),
}


@pytest.mark.parametrize("sr", RATES)
@pytest.mark.parametrize("case", sorted(TECH_3342_LRA))
def test_tech3342_lra_cases_1_to_4(case, sr):
    """EBU Tech 3342 V4 cases 1-4: LRA within the standard's +-1 LU, and in fact within 0.1 LU."""
    segments, expected = TECH_3342_LRA[case]
    measured = loudness_range_lu(tone_segments(segments, sr), sr)
    assert measured == pytest.approx(expected, abs=1.0)
    assert measured == pytest.approx(expected, abs=0.1)


def test_lra_of_a_level_ramp_is_85_percent_of_its_span():
    """Tech 3342 percentiles on a known distribution: a 1 kHz tone ramping -40 -> -20 dBFS over 60 s.

    Short-term values are uniform over [-39.5, -20.5] (3 s windows), so LRA = (0.95 - 0.10) * 19 = 16.15 LU.
    """
    sr = 48000
    t = np.arange(60 * sr) / sr
    level_db = -40.0 + 20.0 * t / 60.0
    x = np.tile(10 ** (level_db / 20) * np.sin(2 * np.pi * 1000 * t), (2, 1))
    assert loudness_range_lu(x, sr) == pytest.approx(16.15, abs=0.1)


def test_lra_is_close_to_pyloudnorm_despite_its_padding_and_90ms_hop():
    """pyloudnorm appends 1.5 s of silence and hops 90 ms; on programme the two agree within 0.3 LU."""
    sr = 48000
    x = music_like(sr, 40.0, seed=11)
    ours = loudness_range_lu(x, sr)
    theirs = pyloudnorm.Meter(sr, filter_class="DeMan").loudness_range(x.T)
    assert ours == pytest.approx(theirs, abs=0.3)


# --------------------------------------------------------------------------- pyloudnorm


@pytest.mark.parametrize("sr", [8000, 22050, 44100, 48000, 96000])
@pytest.mark.parametrize("seconds", [5.0, 12.3])
def test_integrated_equals_pyloudnorm_with_the_standards_filter(sr, seconds):
    """Same K-weighting (De Man's BS.1770 prototype), same blocks: pyloudnorm 'DeMan' agrees to 1e-6 LU.

    Measured: < 2e-12 LU at every rate. Lengths are whole 100 ms steps plus less than 50 ms
    (pyloudnorm would add a partial final block at >= 50 ms; BS.1770-4 counts whole blocks).
    """
    x = music_like(sr, seconds, seed=sr)
    ours = integrated_lufs(x, sr)
    theirs = pyloudnorm.Meter(sr, filter_class="DeMan").integrated_loudness(x.T)
    assert ours == pytest.approx(theirs, abs=1e-6)


def test_pyloudnorm_default_filter_differs_by_a_bounded_amount_and_the_standard_wins():
    """pyloudnorm's default RBJ-cookbook K-weighting is not BS.1770's: ~0.04 LU at 44.1/48 kHz.

    On Tech 3341 case 1 (-23.0 expected) the standard's filter is the closer one.
    """
    for sr in RATES:
        x = music_like(sr, 10.0, seed=7)
        diff = integrated_lufs(x, sr) - pyloudnorm.Meter(sr).integrated_loudness(x.T)
        assert 0.02 < diff < 0.06
        case1 = tone_segments([(-23.0, 20.0)], sr)
        ours = integrated_lufs(case1, sr)
        theirs = pyloudnorm.Meter(sr).integrated_loudness(case1.T)
        assert abs(ours + 23.0) < abs(theirs + 23.0)


def test_silence_and_short_clips_are_unmeasurable_where_pyloudnorm_gives_minus_inf_or_raises():
    """pyloudnorm returns -inf on silence and raises under 0.4 s; we raise Unmeasurable with a reason."""
    sr = 48000
    silence = np.zeros((2, sr * 2))
    assert pyloudnorm.Meter(sr).integrated_loudness(silence.T) == -np.inf
    with pytest.raises(Unmeasurable, match=r"^silence: all blocks below the -70 LUFS absolute gate$"):
        integrated_lufs(silence, sr)

    short = tone_segments([(-20.0, 0.1)], sr)
    with pytest.raises(ValueError):
        pyloudnorm.Meter(sr).integrated_loudness(short.T)
    with pytest.raises(Unmeasurable, match=r"^too short: 0\.100 s < 0\.4 s$"):
        integrated_lufs(short, sr)


def test_below_absolute_gate_is_silence_but_just_above_is_measured():
    """BS.1770-4 clause 2.8: blocks at or below -70 LUFS never count."""
    sr = 48000
    with pytest.raises(Unmeasurable, match="silence"):
        integrated_lufs(tone_segments([(-75.0, 2.0)], sr), sr)
    assert integrated_lufs(tone_segments([(-65.0, 2.0)], sr), sr) == pytest.approx(-65.0, abs=0.05)


@pytest.mark.parametrize(
    "fn, reason",
    [
        (loudness_range_lu, r"^too short: 2\.000 s < 3 s$"),
        (max_short_term_lufs, r"^too short: 2\.000 s < 3 s$"),
    ],
)
def test_three_second_meters_need_three_seconds(fn, reason):
    with pytest.raises(Unmeasurable, match=reason):
        fn(tone_segments([(-20.0, 2.0)], 48000), 48000)


def test_lra_of_silence_is_unmeasurable():
    with pytest.raises(Unmeasurable, match="silence"):
        loudness_range_lu(np.zeros((2, 48000 * 5)), 48000)


def test_series_floor_silent_blocks_instead_of_minus_inf():
    sr = 48000
    x = np.concatenate([np.zeros((2, sr)), tone_segments([(-20.0, 1.0)], sr)], axis=1)
    series = momentary_loudness_lufs(x, sr)
    assert np.isfinite(series).all()
    assert series[0] == LOUDNESS_FLOOR_LUFS
    with pytest.raises(ValueError, match="multiple of 0.01"):
        momentary_loudness_lufs(x, sr, hop_s=0.015)


def test_non_finite_samples_are_unmeasurable():
    x = tone_segments([(-20.0, 1.0)], 48000)
    x[1, 1000] = np.nan
    with pytest.raises(Unmeasurable, match="non-finite"):
        integrated_lufs(x, 48000)
    x[1, 1000] = np.inf
    stats = loudness_stats(x, 48000)  # never raises: every field None with the reason
    assert all(v is None for v in stats.as_dict().values())
    assert set(stats.unmeasurable.values()) == {"non-finite samples: audio contains NaN or Inf"}


# --------------------------------------------------------------------------- one pass, purity


def test_loudness_stats_equals_the_standalone_meters():
    sr = 48000
    x = music_like(sr, 8.0, seed=5).astype(np.float32)
    stats = loudness_stats(x, sr)
    assert stats.integrated_lufs == integrated_lufs(x, sr)
    assert stats.loudness_range_lu == loudness_range_lu(x, sr)
    assert stats.max_momentary_lufs == max_momentary_lufs(x, sr)
    assert stats.max_short_term_lufs == max_short_term_lufs(x, sr)
    assert stats.true_peak_dbtp == true_peak_dbtp(x, sr)
    assert stats.plr_db == pytest.approx(plr_db(x, sr), abs=0)
    assert stats.plr_db == pytest.approx(stats.true_peak_dbtp - stats.integrated_lufs, abs=1e-12)
    assert stats.unmeasurable == {}


def test_loudness_stats_reports_reasons_per_field():
    stats = loudness_stats(tone_segments([(-20.0, 1.0)], 48000), 48000)
    assert stats.integrated_lufs is not None
    assert stats.loudness_range_lu is None
    assert stats.unmeasurable["loudness_range_lu"].startswith("too short")
    with pytest.raises(Unmeasurable, match="too short"):
        stats.require("loudness_range_lu")


def test_input_is_not_modified_and_float32_matches_float64():
    sr = 44100
    x64 = music_like(sr, 4.0, seed=9)
    x32 = x64.astype(np.float32)
    before = x32.copy()
    a = integrated_lufs(x32, sr)
    loudness_stats(x32, sr)
    np.testing.assert_array_equal(x32, before)
    assert a == pytest.approx(integrated_lufs(x32.astype(np.float64), sr), abs=1e-12)
    assert a == pytest.approx(integrated_lufs(x64, sr), abs=1e-5)


def test_non_contiguous_input_gives_the_same_result():
    sr = 48000
    x = music_like(sr, 3.0, seed=1)
    interleaved = np.ascontiguousarray(x.T).T  # (channels, samples) view of a (samples, channels) buffer
    assert integrated_lufs(interleaved, sr) == integrated_lufs(x, sr)


def test_loudness_target_error():
    x = tone_segments([(-23.0, 5.0)], 48000)
    assert loudness_target_error_lu(x, 48000, -14.0) == pytest.approx(9.0, abs=0.02)

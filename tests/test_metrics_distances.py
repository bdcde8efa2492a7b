"""Distances (output, target, sr): MR-STFT against auraloss 0.4.0, tonal balance, loudness, dynamics."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.signal
import torch
from auraloss.freq import MultiResolutionSTFTLoss

from harness.metrics import (
    Unmeasurable,
    dynamics_error_db,
    loudness_error_lu,
    loudness_range_error_lu,
    mrstft_distance,
    tonal_balance_error_db,
)

SR = 48000


def music_like(seconds, channels=2, seed=0, sr=SR):
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    t = np.arange(n) / sr
    x = np.zeros((channels, n))
    for _ in range(6):
        freq = rng.uniform(50, 4000)
        env = 0.5 + 0.5 * np.sin(2 * np.pi * rng.uniform(0.2, 2.0) * t + rng.uniform(0, 6))
        for c in range(channels):
            x[c] += rng.uniform(0.03, 0.2) * env * np.sin(2 * np.pi * freq * t + rng.uniform(0, 6))
    x += 0.03 * rng.standard_normal((channels, n)) * (1.2 + np.sin(2 * np.pi * 3.0 * t)) ** 2
    return x


def equalised(x, gain_db=6.0, corner_hz=3000.0):
    """A crude treble boost: x + (g - 1) * highpass(x)."""
    sos = scipy.signal.butter(2, corner_hz, "highpass", fs=SR, output="sos")
    return x + (10 ** (gain_db / 20) - 1) * scipy.signal.sosfilt(sos, x, axis=-1)


def compressed(x, threshold=0.05, ratio=4.0):
    """Static sample-wise compression: shrinks peaks relative to loudness."""
    mag = np.abs(x)
    over = mag > threshold
    out = x.copy()
    out[over] = np.sign(x[over]) * (threshold + (mag[over] - threshold) / ratio)
    return out


def auraloss_mrstft(output, target, double):
    loss = MultiResolutionSTFTLoss()
    dtype = torch.float64 if double else torch.float32
    if double:  # auraloss keeps its windows as plain float32 attributes
        for stft_loss in loss.stft_losses:
            stft_loss.window = stft_loss.window.to(dtype)
    with torch.no_grad():
        return float(loss(torch.tensor(output[None], dtype=dtype), torch.tensor(target[None], dtype=dtype)))


def signal_pairs():
    rng = np.random.default_rng(42)
    x = music_like(2.0, seed=1)
    noise = rng.standard_normal((2, 30011)) * 0.1
    quiet_right = music_like(1.0, seed=2)
    quiet_right[1] *= 1e-3
    return {
        "music_vs_eq": (equalised(x), x),
        "noise_vs_scaled_plus_noise": (noise * 0.5 + 0.01 * rng.standard_normal(noise.shape), noise),
        "odd_length_quiet_channel": (quiet_right * 0.8, compressed(quiet_right)),
        "shortest_allowed": (noise[:, :1025], noise[:, 5000:6025]),
    }


@pytest.mark.parametrize("name", sorted(signal_pairs()))
def test_mrstft_equals_auraloss(name):
    """auraloss 0.4.0 MultiResolutionSTFTLoss() defaults on stereo (batch 1, 2 channels, time).

    Against auraloss in float64 the match is numerical (< 1e-7 relative; measured 3.5e-10 - 9.0e-9,
    the largest where bins sit at the 1e-8 power clamp);
    against auraloss's default float32 it is < 1e-4 (measured ~1e-5), float32's own error.
    """
    output, target = signal_pairs()[name]
    ours = mrstft_distance(output, target, SR)
    assert ours == pytest.approx(auraloss_mrstft(output, target, double=True), rel=1e-7)
    assert ours == pytest.approx(auraloss_mrstft(output, target, double=False), rel=1e-4)


def test_mrstft_accepts_float32_and_is_zero_for_identical_signals():
    x = music_like(1.0, seed=4).astype(np.float32)
    assert mrstft_distance(x, x, SR) == 0.0
    assert mrstft_distance(x * 0.5, x, SR) == pytest.approx(
        mrstft_distance(x.astype(np.float64) * 0.5, x.astype(np.float64), SR), rel=1e-6
    )


def test_mrstft_needs_matching_shapes_and_enough_samples():
    x = music_like(1.0, seed=5)
    with pytest.raises(ValueError, match="same"):
        mrstft_distance(x, x[:, :-1], SR)
    with pytest.raises(Unmeasurable, match=r"^too short: 1024 samples <= 1024"):
        mrstft_distance(x[:, :1024], x[:, :1024], SR)


def test_tonal_balance_error_is_zero_for_identical_and_invariant_to_gain():
    x = music_like(3.0, seed=6)
    assert tonal_balance_error_db(x, x, SR) == 0.0
    assert tonal_balance_error_db(x * 0.1, x, SR) == pytest.approx(0.0, abs=1e-9)
    assert tonal_balance_error_db(x, x * 3.0, SR) == pytest.approx(0.0, abs=1e-9)


def test_tonal_balance_error_sees_an_eq_change():
    x = music_like(3.0, seed=7)
    small = tonal_balance_error_db(equalised(x, 1.0), x, SR)
    large = tonal_balance_error_db(equalised(x, 6.0), x, SR)
    assert 0.1 < small < large
    assert 1.0 < large < 6.0


def test_tonal_balance_error_caps_a_lost_band_at_the_range():
    """A band the output lost costs at most TONAL_BALANCE_RANGE_DB, not 150 dB."""
    rng = np.random.default_rng(8)
    target = rng.standard_normal((1, SR * 3)) * 0.1
    sos = scipy.signal.butter(8, 1000, "lowpass", fs=SR, output="sos")
    output = scipy.signal.sosfilt(sos, target)
    assert 5.0 < tonal_balance_error_db(output, target, SR) < 60.0


def test_loudness_error_is_the_gain_change_in_lu():
    """BS.1770 loudness is linear in power: -6.02 dB of gain is 6.02 LU."""
    x = music_like(3.0, seed=9)
    assert loudness_error_lu(x, x, SR) == 0.0
    assert loudness_error_lu(x * 0.5, x, SR) == pytest.approx(20 * np.log10(2), abs=1e-9)


def test_dynamics_error_ignores_gain_and_sees_compression():
    """PLR difference: a gain change keeps PLR; compression lowers it."""
    x = music_like(4.0, seed=10)
    assert dynamics_error_db(x, x, SR) == 0.0
    assert dynamics_error_db(x * 0.3, x, SR) == pytest.approx(0.0, abs=1e-9)
    assert dynamics_error_db(compressed(x), x, SR) > 1.0


def test_loudness_range_error():
    x = music_like(6.0, seed=11)
    ramp = x * np.linspace(0.1, 1.0, x.shape[1])
    assert loudness_range_error_lu(x, x, SR) == 0.0
    assert loudness_range_error_lu(ramp, x, SR) > 5.0


def test_unmeasurable_side_is_named():
    x = music_like(3.0, seed=12)
    with pytest.raises(Unmeasurable, match=r"^output: silence"):
        loudness_error_lu(np.zeros_like(x), x, SR)
    with pytest.raises(Unmeasurable, match=r"^target: silence"):
        tonal_balance_error_db(x, np.zeros_like(x), SR)
    bad = x.copy()
    bad[0, 0] = np.nan
    with pytest.raises(Unmeasurable, match=r"^output: non-finite"):
        dynamics_error_db(bad, x, SR)
    with pytest.raises(Unmeasurable, match=r"^target: too short"):
        loudness_range_error_lu(x, x[:, : SR * 2], SR)


def test_mrstft_against_a_precomputed_target_equals_the_plain_distance():
    """The harness's per-target fast path must give exactly what mrstft_distance gives."""
    from harness.metrics.distances import MrstftAgainst, distance_against, mrstft_distance

    rng = np.random.default_rng(5)
    target = rng.standard_normal((2, 30_000)) * 0.1
    against = MrstftAgainst(target, 44100)
    for scale in (0.0, 0.01, 0.5):
        output = target + scale * rng.standard_normal(target.shape)
        assert abs(against(output) - mrstft_distance(output, target, 44100)) <= 1e-12 * max(1.0, against(output))
    loud = distance_against("loudness_error_lu", target, 44100)
    assert loud(target * 2) > 5.9

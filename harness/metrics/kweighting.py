"""K-weighting: the ITU-R BS.1770-4 loudness pre-filter, at any sample rate.

BS.1770-4 (clause 2.1, Tables 1 and 2) publishes the two biquads only at 48 kHz:
a high shelf (stage 1, the acoustic effect of the head) and a high pass (stage 2,
the "RLB" revised low-frequency B curve). Other rates need the analog prototype
behind those numbers. Brecht De Man fitted it (f0, gain, Q, and the shelf's mid
gain exponent) so that a bilinear transform at 48 kHz reproduces the published
coefficients to ~1e-12; libebur128 and pyloudnorm's ``filter_class="DeMan"`` use
the same constants, so those are the references this module is tested against.

pyloudnorm's *default* ``"K-weighting"`` instead builds RBJ-cookbook filters from
rounded parameters (4 dB shelf at 1500 Hz, 38 Hz high pass, Q 0.5), which is not
the standard's filter: it reads ~0.03-0.05 LU away from it on ordinary material.
"""

from __future__ import annotations

import math
from functools import lru_cache

import numpy as np

__all__ = [
    "BS1770_48K_SHELF",
    "BS1770_48K_HIGHPASS",
    "kweighting_coefficients",
    "kweighting_sos",
    "apply_kweighting",
]

# BS.1770-4 Table 1 (stage 1, shelf) and Table 2 (stage 2, RLB high pass), 48 kHz: (b, a).
BS1770_48K_SHELF = (
    (1.53512485958697, -2.69169618940638, 1.19839281085285),
    (1.0, -1.69065929318241, 0.73248077421585),
)
BS1770_48K_HIGHPASS = (
    (1.0, -2.0, 1.0),
    (1.0, -1.99004745483398, 0.99007225036621),
)

# Analog prototype of the two stages (De Man's fit, as in libebur128's ebur128.c).
_SHELF_F0_HZ = 1681.974450955533
_SHELF_GAIN_DB = 3.999843853973347
_SHELF_Q = 0.7071752369554196
_SHELF_MID_GAIN_EXPONENT = 0.4996667741545416
_HIGHPASS_F0_HZ = 38.13547087602444
_HIGHPASS_Q = 0.5003270373238773


@lru_cache(maxsize=64)
def kweighting_coefficients(sample_rate: float) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """((b, a) shelf, (b, a) high pass) of the K-weighting filter at ``sample_rate``.

    Each ``a`` is normalised so a[0] == 1. At 48 kHz the result equals
    BS.1770-4 Tables 1-2 to ~1e-12 (tested).
    """
    sr = float(sample_rate)
    if not sr > 2.0 * _SHELF_F0_HZ:
        raise ValueError(f"sample rate {sample_rate} Hz is too low for K-weighting (shelf at {_SHELF_F0_HZ:.0f} Hz)")

    k = math.tan(math.pi * _SHELF_F0_HZ / sr)
    vh = 10.0 ** (_SHELF_GAIN_DB / 20.0)
    vb = vh**_SHELF_MID_GAIN_EXPONENT
    a0 = 1.0 + k / _SHELF_Q + k * k
    shelf_b = np.array([
        (vh + vb * k / _SHELF_Q + k * k) / a0,
        2.0 * (k * k - vh) / a0,
        (vh - vb * k / _SHELF_Q + k * k) / a0,
    ])
    shelf_a = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _SHELF_Q + k * k) / a0])

    k = math.tan(math.pi * _HIGHPASS_F0_HZ / sr)
    a0 = 1.0 + k / _HIGHPASS_Q + k * k
    # The standard's stage 2 numerator is exactly (1, -2, 1): its passband gain is
    # not renormalised to 1, and neither is ours, so 48 kHz matches Table 2.
    highpass_b = np.array([1.0, -2.0, 1.0])
    highpass_a = np.array([1.0, 2.0 * (k * k - 1.0) / a0, (1.0 - k / _HIGHPASS_Q + k * k) / a0])
    for arr in (shelf_b, shelf_a, highpass_b, highpass_a):
        arr.setflags(write=False)
    return (shelf_b, shelf_a), (highpass_b, highpass_a)


def kweighting_sos(sample_rate: float) -> np.ndarray:
    """The two K-weighting stages as a (2, 6) second-order-sections array (scipy layout)."""
    (sb, sa), (hb, ha) = kweighting_coefficients(sample_rate)
    return np.array([np.concatenate([sb, sa]), np.concatenate([hb, ha])])


def apply_kweighting(audio: np.ndarray, sample_rate: float) -> np.ndarray:
    """K-weighted copy of ``audio`` (channels, samples) in float64, zero initial state.

    A plain scipy reference path; the meters use the fused numba kernel in
    ``loudness.py``, which is tested to agree with this to ~1e-12.
    """
    import scipy.signal  # here, not at import: it costs a spawned worker 0.7 s, and the meters never call this

    x = np.asarray(audio, dtype=np.float64)
    return scipy.signal.sosfilt(kweighting_sos(sample_rate), x, axis=-1)

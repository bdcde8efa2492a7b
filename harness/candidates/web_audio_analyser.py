"""The spectrum DAWG's plugins see: a Web Audio `AnalyserNode`, modelled as the specification defines it.

DAWG runs in the browser, so its rule-based "AI" reads spectra from an AnalyserNode, not from a
Welch periodogram. The W3C Web Audio API spec (section "AnalyserNode", "FFT windowing and smoothing
over time", https://www.w3.org/TR/webaudio/#AnalyserNode) defines what `getByteFrequencyData`
returns; the defaults used here are the node's own:

1. the input is down-mixed to mono (stereo: (L + R) / 2, the "speakers" down-mix);
2. the most recent `fftSize` (2048) samples are multiplied by a Blackman window
   (alpha 0.16: a0 = 0.42, a1 = 0.5, a2 = 0.08);
3. X[k] = (1/N) sum_n x[n] e^(-2 pi i k n / N) for k < N/2 (`frequencyBinCount` = 1024 bins);
4. smoothing over time: X_hat[k] = tau X_hat_prev[k] + (1 - tau) |X[k]|, tau = `smoothingTimeConstant` 0.8;
5. Y[k] = 20 log10 X_hat[k]; byte b[k] = floor(255 / (maxDecibels - minDecibels) (Y[k] - minDecibels)),
   clipped to 0..255, with minDecibels -100 and maxDecibels -30.

How a plugin reads it: once per `fftSize` samples (a reading per analysis block; the smoothing state
carries over from reading to reading, as it does between calls on a live node), the spectral
centroid of the bytes, sum f_k b_k / sum b_k with f_k = k sr / N, and the plugin's figure is the
mean over the readings that have any non-zero byte. That is `spectral_centroid_hz` below.
"""

from __future__ import annotations

import numpy as np

FFT_SIZE = 2048
SMOOTHING_TIME_CONSTANT = 0.8
MIN_DECIBELS = -100.0
MAX_DECIBELS = -30.0


def blackman(n: int = FFT_SIZE, alpha: float = 0.16) -> np.ndarray:
    """The Web Audio spec's Blackman window: a0 - a1 cos(2 pi i / N) + a2 cos(4 pi i / N), i < N."""
    a0, a1, a2 = (1 - alpha) / 2, 0.5, alpha / 2
    i = np.arange(n)
    return a0 - a1 * np.cos(2 * np.pi * i / n) + a2 * np.cos(4 * np.pi * i / n)


def byte_frequency_frames(audio: np.ndarray, *, fft_size: int = FFT_SIZE,
                          smoothing: float = SMOOTHING_TIME_CONSTANT, min_db: float = MIN_DECIBELS,
                          max_db: float = MAX_DECIBELS) -> np.ndarray:
    """(readings, fft_size // 2) uint8: what getByteFrequencyData returns, read once per fft_size samples."""
    x = np.asarray(audio, dtype=np.float64)
    mono = x.mean(axis=0) if x.ndim == 2 else x
    readings = mono.size // fft_size
    if readings == 0:
        return np.zeros((0, fft_size // 2), dtype=np.uint8)
    frames = mono[: readings * fft_size].reshape(readings, fft_size) * blackman(fft_size)
    magnitude = np.abs(np.fft.rfft(frames, axis=1)[:, : fft_size // 2]) / fft_size
    smoothed = np.empty_like(magnitude)
    state = np.zeros(fft_size // 2)
    for r in range(readings):  # the node's smoothing is a recursion over successive readings
        state = smoothing * state + (1.0 - smoothing) * magnitude[r]
        smoothed[r] = state
    with np.errstate(divide="ignore"):
        db = 20.0 * np.log10(smoothed)
    scaled = np.floor(255.0 / (max_db - min_db) * (db - min_db))
    return np.clip(np.nan_to_num(scaled, nan=0.0, neginf=0.0), 0, 255).astype(np.uint8)


def spectral_centroid_hz(audio: np.ndarray, sr: float, *, fft_size: int = FFT_SIZE) -> float | None:
    """Mean over readings of the byte-spectrum centroid; None when every reading is all zeros (silence)."""
    frames = byte_frequency_frames(audio, fft_size=fft_size).astype(np.float64)
    freqs = np.arange(fft_size // 2) * sr / fft_size
    totals = frames.sum(axis=1)
    live = totals > 0
    if not live.any():
        return None
    return float(np.mean((frames[live] @ freqs) / totals[live]))

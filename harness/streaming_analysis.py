"""`dawg-bench analyze` in one pass over a file's blocks: memory does not grow with the file's length.

`analyze_file(path)` returns exactly the object `analyze_audio(read_audio(path))` returns (same keys,
values, rounding and `unmeasurable` reasons) without ever holding the file's samples. Each meter keeps
the state that crosses a block boundary:

- loudness (BS.1770-4, Tech 3341/3342): the K-weighting biquads' state per channel, and the K-weighted
  sum of squares of every 10 ms granule - loudness.py's own unit: every 400 ms gating block (100 ms
  hop) and 3 s short-term block is a sum of whole granules. 100 granules/s x 8 bytes x channels: 5.8 MB
  for an hour of stereo. From the granules, loudness.py's own gating and LRA code runs unchanged.
- true peak (BS.1770-4 Annex 2): the last 11 samples per channel, the interpolation filter's history,
  so peaks.py's own kernel evaluates every interpolated point with its full 12-sample window.
- sample peak and sum of squares (crest factor): a running max and sum per channel.
- Welch spectrum of the mono downmix: the samples from the next segment's start, and the sum of the
  segments' periodograms; segments start at multiples of the hop from the first sample, as in
  scipy.signal.welch on the whole clip.

Rounding: sums are accumulated in a different order than the whole-file kernels (granule and block
sums, the Welch periodograms' sum), so results agree to ~1e-12 relative, not bit for bit
(tests/test_analyze_streaming.py).
"""

from __future__ import annotations

import os
from typing import Any

import numpy as np
import scipy.fft
import scipy.signal
from numpy.lib.stride_tricks import sliding_window_view

from harness.analysis import report_from_analyses
from harness.audio_blocks import DEFAULT_BLOCK_FRAMES, AudioBlocks
from harness.metrics import LoudnessStats, Unmeasurable
from harness.metrics.kweighting import kweighting_sos

# loudness.py's internals: its granule container, its gating/LRA/max-window measures and the
# helper that turns a measure's Unmeasurable into a null. Reusing them (rather than re-deriving
# BS.1770-4 cl. 2.6-2.8 and Tech 3342 cl. 5 here) is what makes the streamed figures the same.
from harness.metrics.loudness import (
    CHANNEL_WEIGHTS,
    GRANULES_PER_SECOND,
    _granule_edges,
    _Granules,
    stats_from_parts,
)
from harness.metrics.peaks import (
    _HISTORY,
    _INTERPOLATION_GAIN_BOUND,
    TRUE_PEAK_TAPS,
    PeakStats,
    _channel_peaks,
    peak_stats_from_sums,
    true_peak_oversampling,
)
from harness.metrics.registry import NON_FINITE_REASON
from harness.metrics.spectral import SILENT_SPECTRUM_REASON, Spectrum, _segment_length, mono_power_spectrum

__all__ = ["analyze_file"]


def analyze_file(path: str | os.PathLike, *, block_frames: int = DEFAULT_BLOCK_FRAMES) -> dict[str, Any]:
    """`analyze_audio(read_audio(path))`, computed block by block. Bad files raise AudioError."""
    blocks = AudioBlocks(path, block_frames=block_frames)
    sr, channels = blocks.sample_rate, blocks.channels
    granules = _GranuleEnergies(sr, channels)
    peaks = _PeakSums(sr, channels)
    welch = _WelchSum(sr)
    for block in blocks:
        granules.feed(block)
        peaks.feed(block)
        welch.feed(block)
    frames = blocks.frames_read
    try:
        spectrum: Spectrum | Unmeasurable = welch.spectrum()
    except Unmeasurable as exc:
        spectrum = exc
    return report_from_analyses(
        path=str(blocks.path), sample_rate=sr, channels=channels, frames=frames,
        stats=_loudness_stats(granules, peaks.sums, frames), spectrum=spectrum,
    )


# --------------------------------------------------------------------------- loudness


class _GranuleEnergies:
    """K-weighted sum of squares per channel of each 10 ms granule, fed block by block.

    Granule g spans samples [floor(g*sr/100), floor((g+1)*sr/100)) - loudness._granule_edges - so
    granules straddle blocks; the open granule's partial sum is carried. K-weighting (BS.1770-4
    cl. 2.1, loudness.py's coefficients) is scipy's sosfilt, whose state carries across blocks.
    """

    def __init__(self, sample_rate: int, channels: int):
        self.rate = int(sample_rate)
        self.sos = kweighting_sos(float(sample_rate))
        self.state = np.zeros((self.sos.shape[0], channels, 2))  # zero initial state, like the kernel
        self.weights = np.asarray(CHANNEL_WEIGHTS[:channels])
        self.block_start = 0  # sample index of the next block's first sample
        self.open_granule = 0  # index of the granule that the next sample falls in
        self.partial = np.zeros(channels)  # its sum of squares so far
        self.finished: list[np.ndarray] = []  # (channels, k) sums of whole granules, in order

    def feed(self, block: np.ndarray) -> None:
        n = block.shape[1]
        if n == 0:
            return
        y, self.state = scipy.signal.sosfilt(self.sos, block.astype(np.float64), axis=-1, zi=self.state)
        y *= y
        end = self.block_start + n
        # Granules ending inside this block: g with floor(g*sr/100) <= end, i.e. g*sr < 100*(end+1).
        last = (GRANULES_PER_SECOND * (end + 1) - 1) // self.rate
        ends = np.arange(self.open_granule + 1, last + 1, dtype=np.int64) * self.rate // GRANULES_PER_SECOND
        ends -= self.block_start
        starts = np.concatenate(([0], ends[ends < n]))
        sums = np.add.reduceat(y, starts, axis=1)
        if len(ends):
            done = sums[:, : len(ends)].copy()
            done[:, 0] += self.partial
            self.finished.append(done)
            self.partial = sums[:, len(ends)] if ends[-1] < n else np.zeros_like(self.partial)
        else:
            self.partial = self.partial + sums[:, 0]
        self.open_granule = last
        self.block_start = end

    def granules(self, frames: int) -> _Granules:
        """loudness._Granules of the whole clip, as loudness._kweighted_granules builds it."""
        edges = _granule_edges(frames, self.rate)
        count = len(edges) - 1
        channels = len(self.weights)
        energies = np.concatenate(self.finished, axis=1) if self.finished else np.zeros((channels, 0))
        # A granule counts only when its exact end (g+1)/100 s is within the clip; a floor-rounded
        # edge can close one a sample earlier (e.g. at 22.05 kHz), so there may be one too many here.
        energies = energies[:, :count]
        if energies.shape[1] != count:
            raise AssertionError(f"{energies.shape[1]} granules streamed, {count} expected")  # a bug, not bad input
        power = self.weights @ energies
        if not np.isfinite(power).all():
            raise Unmeasurable(NON_FINITE_REASON)
        return _Granules(power, edges, frames / self.rate)


# --------------------------------------------------------------------------- peaks


class _PeakSums:
    """[sample peak, true peak, sum of squares] per channel, as peaks.channel_peak_sums returns them.

    True peak (BS.1770-4 Annex 2, 4x; 2x from 176.4 kHz) is peaks.py's kernel run on each block with
    the previous 11 samples in front: the kernel evaluates a point only where its 12-sample window
    lies in its input, so every point of the clip is evaluated exactly once, with the whole-file
    window, and none before the clip's 12th sample (the whole-file rule). Sample peak and sum of
    squares are taken here, over the block alone (the kernel's would count the history twice).
    """

    def __init__(self, sample_rate: int, channels: int):
        self.two_x_only = true_peak_oversampling(float(sample_rate)) == 2
        self.history = np.zeros((channels, 0), dtype=np.float32)
        self.sums = np.zeros((channels, 3))
        self._kernel_out = np.empty(3)

    def feed(self, block: np.ndarray) -> None:
        if block.shape[1] == 0:
            return
        ext = np.concatenate([self.history, block], axis=1)  # float32 C-contiguous: the whole-file kernel's types
        for c in range(block.shape[0]):
            x = block[c].astype(np.float64)
            s = self.sums[c]
            block_peak = float(np.abs(x).max())
            s[0] = max(s[0], block_peak)
            s[2] += float(np.einsum("i,i->", x, x))  # not np.dot: BLAS threads cost 30x more here on a busy box
            # The kernel's own skip test, across blocks: no interpolated point exceeds its window's max |x|
            # times the largest phase gain, so when that is <= the running true peak, skipping is exact.
            window_peak = max(block_peak, float(np.abs(self.history[c]).max(initial=0.0)))
            if window_peak * _INTERPOLATION_GAIN_BOUND <= s[1]:
                continue
            _channel_peaks(ext[c], TRUE_PEAK_TAPS, self.two_x_only, True, _INTERPOLATION_GAIN_BOUND, self._kernel_out)
            s[1] = max(s[1], self._kernel_out[1])  # its max(true peak, sample peak of ext): ext is all clip samples
        self.history = ext[:, -_HISTORY:].copy()


def _loudness_stats(granules: _GranuleEnergies, peak_sums: np.ndarray, frames: int) -> LoudnessStats:
    """loudness.loudness_stats's fields, on streamed granules and peak sums (the same assembly)."""

    def parts() -> tuple[PeakStats | None, np.ndarray]:
        return (peak_stats_from_sums(peak_sums, frames, True) if frames else None), granules.granules(frames)

    # crest_factor_from re-reads the samples only if the mean square is below 1e-280 (its squares may
    # have underflowed). Decoded float32 cannot get there: its smallest non-zero |x| is 1.4e-45, so a
    # clip that is not silent has mean square >= 2e-90 / frames. So no samples are handed to it.
    return stats_from_parts(parts, None)


# --------------------------------------------------------------------------- spectrum


class _WelchSum:
    """spectral.mono_power_spectrum, fed block by block.

    Welch's method (P. D. Welch, IEEE Trans. Audio Electroacoust. 15(2), 1967) as scipy.signal.welch
    computes it with spectral.py's arguments: the channel mean, segments of nperseg samples starting
    every nperseg/2 (50 % overlap) from the first sample - only whole segments, a shorter remainder
    is dropped - a periodic Hann window, no detrending, each segment's |rfft|^2 averaged and scaled
    to a one-sided density (x 1 / (fs * sum(w^2)), x 2 except DC and Nyquist). nperseg is the ~1.5 Hz
    segment length, or the clip's length when shorter: until one segment's worth of frames has
    arrived the blocks are kept (at most 2**17 frames, at 192 kHz), and a clip that ends sooner goes
    to mono_power_spectrum whole. After that only the samples from the next segment's start are kept.
    """

    def __init__(self, sample_rate: int):
        self.rate = float(sample_rate)
        self.nperseg = _segment_length(self.rate)  # a power of two, so the spectrum has a Nyquist bin
        self.hop = self.nperseg - self.nperseg // 2
        self.window = scipy.signal.get_window("hann", self.nperseg)  # periodic, as welch's "hann"
        self.head: list[np.ndarray] = []  # blocks, until nperseg frames have arrived
        self.head_frames = 0
        self.tail: np.ndarray | None = None  # mono downmix from the next segment's start
        self.any_nonzero = False
        self.periodogram_sum = np.zeros(self.nperseg // 2 + 1)
        self.segments = 0

    def feed(self, block: np.ndarray) -> None:
        if self.tail is None:
            self.head.append(block)
            self.head_frames += block.shape[1]
            if self.head_frames < self.nperseg:
                return
            block = np.concatenate(self.head, axis=1)
            self.head = []
            self.tail = np.zeros(0)
        mono = block.mean(axis=0, dtype=np.float64)  # the same downmix arithmetic as spectral.py
        self.any_nonzero = self.any_nonzero or bool(np.any(mono))
        buf = np.concatenate([self.tail, mono])
        count = (len(buf) - self.nperseg) // self.hop + 1 if len(buf) >= self.nperseg else 0
        if count:
            segments = sliding_window_view(buf, self.nperseg)[:: self.hop][:count]
            spectra = scipy.fft.rfft(segments * self.window, axis=-1)
            self.periodogram_sum += (spectra.real**2 + spectra.imag**2).sum(axis=0)
            self.segments += count
        self.tail = buf[count * self.hop :].copy()

    def spectrum(self) -> Spectrum:
        """The clip's Spectrum, or Unmeasurable with mono_power_spectrum's reason."""
        if self.tail is None:  # shorter than one segment: the whole (short) clip is here
            return mono_power_spectrum(np.concatenate(self.head, axis=1), self.rate)
        if not self.any_nonzero:
            raise Unmeasurable(SILENT_SPECTRUM_REASON)
        density = self.periodogram_sum / (self.segments * self.rate * float((self.window**2).sum()))
        density[1:-1] *= 2.0  # one-sided: the negative frequencies' power, except at DC and Nyquist
        bin_hz = self.rate / self.nperseg
        power = density * bin_hz
        if not power.any():
            raise Unmeasurable(SILENT_SPECTRUM_REASON)
        return Spectrum(scipy.fft.rfftfreq(self.nperseg, 1.0 / self.rate), power, bin_hz, self.rate)

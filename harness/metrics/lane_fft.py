"""Float32 power spectra of many STFT frames at once, one frame per SIMD lane.

scipy's pocketfft transforms one frame at a time with 4-wide SSE vectors (the width its wheels are built
for); numba compiles for the machine it runs on (AVX2, AVX-512). Here ``LANES`` frames are transformed
together, each butterfly a loop over the frames, which LLVM vectorises at full width. On this project's
AVX-512 VM the three auraloss resolutions of a 10 s stereo clip take ~1.25x less time than pocketfft's
spectra alone, windowing and powers included (tests/benchmarks/test_bench_fft.py): the MR-STFT's
dominant cost. The first stage skips the zeros after the window.

Layout: a block holds ``LANES`` frames as ``(points, LANES)`` float32 arrays (real, imaginary), frame f in
column f. The real frame of ``fft_size`` samples is transformed as a complex one of half the length
(even samples real, odd imaginary), radix-4 decimation in frequency (one radix-2 stage first where the
half length is not a power of 4), in place, the result in bit-reversed order; the split into the real
frame's bins reads it through the bit-reversal table. Only powers |X_k|^2 leave this module: the MR-STFT
compares magnitudes, so the phase (and the circular shift of torch's centred frame) never matters.

Framing reproduces ``torch.stft(x, n_fft, hop, win_length, hann_window(win_length), center=True,
pad_mode="reflect")``: frame f's window starts at ``f * hop + (n_fft - win_length) // 2 - n_fft // 2`` in
the signal, samples before its start or past its end reflected into it (the reflect padding done on the
fly), and the windowed samples sit at the start of the frame, zeros after them (a circular shift of
torch's centred frame: the same magnitudes).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

import numpy as np
from numba import njit

__all__ = ["LANES", "FramePlan", "frame_plan", "block_count", "block_powers", "load_frames", "periodic_hann"]

LANES = 64  # frames per block: 64 float32 = four AVX-512 vectors a butterfly; a 2048-point block is 512 KiB
# Contraction (FMA) allowed: the target's and the output's powers come from this same code, so identical
# signals still give identical powers. No approximate functions are used.
_FFT_FAST = {"reassoc", "nsz", "nnan", "ninf", "contract"}


@lru_cache(maxsize=16)
def periodic_hann(length: int) -> np.ndarray:
    """torch.hann_window(length) (periodic=True): 0.5 - 0.5 cos(2 pi n / length)."""
    n = np.arange(length)
    window = 0.5 - 0.5 * np.cos(2.0 * np.pi * n / length)
    window.setflags(write=False)
    return window


@dataclass(frozen=True)
class FramePlan:
    """Everything the kernels need for one (fft_size, hop, win_length): the float32 window, the complex
    transform's twiddles w^j = exp(-2 pi i j / points), the real split's exp(-2 pi i k / fft_size) for
    k = 0..points, and the bit-reversal table (tables computed in float64, rounded once)."""

    fft_size: int
    hop: int
    win_length: int
    first: int  # where frame 0's window starts in the signal (negative: reflected)
    window: np.ndarray
    twiddle_re: np.ndarray
    twiddle_im: np.ndarray
    split_re: np.ndarray
    split_im: np.ndarray
    bit_reversed: np.ndarray

    @property
    def bins(self) -> int:
        return self.fft_size // 2 + 1

    def frame_count(self, n_samples: int) -> int:
        """Frames torch.stft(center=True) yields for an even n_fft."""
        return 1 + n_samples // self.hop

    def kernel_args(self):
        return (self.first, self.hop, self.window, self.twiddle_re, self.twiddle_im, self.split_re,
                self.split_im, self.bit_reversed)


def _frozen(a: np.ndarray) -> np.ndarray:
    a = np.ascontiguousarray(a)
    a.setflags(write=False)
    return a


@lru_cache(maxsize=16)
def frame_plan(fft_size: int, hop: int, win_length: int) -> FramePlan:
    if fft_size < 8 or fft_size & (fft_size - 1) or not 0 < win_length <= fft_size or hop < 1:
        raise ValueError(f"bad STFT resolution (fft={fft_size}, hop={hop}, win={win_length}): "
                         "fft a power of 2 >= 8, 0 < win <= fft, hop >= 1")
    points = fft_size // 2
    bits = points.bit_length() - 1
    twiddle = np.exp(-2j * np.pi * np.arange(points) / points)
    split = np.exp(-2j * np.pi * np.arange(points + 1) / fft_size)
    reversed_ = np.array([int(format(i, f"0{bits}b")[::-1], 2) if bits else 0 for i in range(points)], dtype=np.int64)
    return FramePlan(
        fft_size, hop, win_length, (fft_size - win_length) // 2 - fft_size // 2,
        _frozen(periodic_hann(win_length).astype(np.float32)),
        _frozen(twiddle.real.astype(np.float32)), _frozen(twiddle.imag.astype(np.float32)),
        _frozen(split.real.astype(np.float32)), _frozen(split.imag.astype(np.float32)),
        _frozen(reversed_),
    )


@njit(cache=True)
def block_count(frames):
    """Blocks of LANES frames that hold `frames` (the last one may be short); callable from the kernels too."""
    return (frames + LANES - 1) // LANES


@njit(cache=True, error_model="numpy")
def load_frames(x, first, hop, start, rows, window, re, im):
    # Lanes f < rows: frame start + f's windowed samples float32(x[i]) * window[j], i = first + (start + f) * hop
    # + j reflected into the signal (|first| < len(x)), sample j to (re, im)[j // 2, f] by its parity; zeros in
    # the lanes past rows. Points from (win + 1) // 2 on are not written: they are zeros that the transform's
    # first stage knows of and never reads. Frame by frame (contiguous reads; the writes stay in cache).
    n = x.shape[0]
    win = window.shape[0]
    half = (win + 1) // 2
    for f in range(LANES):
        if f >= rows:
            for p in range(half):
                re[p, f] = 0.0
                im[p, f] = 0.0
            continue
        base = first + (start + f) * hop
        if base >= 0 and base + win <= n:
            for p in range(win // 2):
                re[p, f] = np.float32(x[base + 2 * p]) * window[2 * p]
                im[p, f] = np.float32(x[base + 2 * p + 1]) * window[2 * p + 1]
            if win % 2:
                re[win // 2, f] = np.float32(x[base + win - 1]) * window[win - 1]
        else:
            for j in range(win):
                i = base + j
                if i < 0:
                    i = -i
                elif i >= n:
                    i = 2 * (n - 1) - i
                v = np.float32(x[i]) * window[j]
                if j % 2 == 0:
                    re[j // 2, f] = v
                else:
                    im[j // 2, f] = v
        if win % 2:
            im[win // 2, f] = 0.0


@njit(cache=True, error_model="numpy", fastmath=_FFT_FAST, inline="always")
def _radix4_outputs(re, im, a, b, c, d, f, s0r, s0i, s1r, s1i, s2r, s2i, s3r, s3i, w1r, w1i, w2r, w2i, w3r, w3i):
    # A radix-4 DIF butterfly's outputs from its sums s0 = a + c, s1 = a - c, s2 = b + d, s3 = b - d:
    # y0 = s0 + s2, y2 = (s0 - s2) w^2j, y1 = (s1 - i s3) w^j, y3 = (s1 + i s3) w^3j, written to the quarters
    # in the order y0, y2, y1, y3, which keeps the overall result in base-2 bit-reversed order.
    re[a, f] = s0r + s2r
    im[a, f] = s0i + s2i
    tr = s0r - s2r
    ti = s0i - s2i
    re[b, f] = tr * w2r - ti * w2i
    im[b, f] = tr * w2i + ti * w2r
    ur = s1r + s3i
    ui = s1i - s3r
    re[c, f] = ur * w1r - ui * w1i
    im[c, f] = ur * w1i + ui * w1r
    vr = s1r - s3i
    vi = s1i + s3r
    re[d, f] = vr * w3r - vi * w3i
    im[d, f] = vr * w3i + vi * w3r


@njit(cache=True, error_model="numpy", fastmath=_FFT_FAST)
def _transform(re, im, twiddle_re, twiddle_im, live):
    # In-place complex DFT of every lane, decimation in frequency, output in bit-reversed order. Points from
    # `live` on are zeros and are not read: the first stage takes the butterflies whose upper inputs are all
    # zero by shorter paths (a window fills 47-59 % of auraloss's frames; adding a zero is exact, so the
    # result is the full transform's bit for bit).
    points = re.shape[0]
    span = points // 2
    if (points & 0x55555555) == 0:  # not a power of 4: one radix-2 stage, then radix 4 on each half
        for j in range(span):
            wr = twiddle_re[j]
            wi = twiddle_im[j]
            a = j
            b = j + span
            if b < live:
                for f in range(LANES):
                    ar = re[a, f]
                    ai = im[a, f]
                    br = re[b, f]
                    bi = im[b, f]
                    re[a, f] = ar + br
                    im[a, f] = ai + bi
                    dr = ar - br
                    di = ai - bi
                    re[b, f] = dr * wr - di * wi
                    im[b, f] = dr * wi + di * wr
            elif a < live:  # b is zero: a stays, b = a w^j
                for f in range(LANES):
                    ar = re[a, f]
                    ai = im[a, f]
                    re[b, f] = ar * wr - ai * wi
                    im[b, f] = ar * wi + ai * wr
            else:
                for f in range(LANES):
                    re[a, f] = 0.0
                    im[a, f] = 0.0
                    re[b, f] = 0.0
                    im[b, f] = 0.0
        size = span
        live = points  # every point is written now
    else:
        size = points
    while size >= 4:
        quarter = size // 4
        step = points // size
        for start in range(0, points, size):
            for j in range(quarter):
                w1r = twiddle_re[j * step]
                w1i = twiddle_im[j * step]
                w2r = twiddle_re[2 * j * step]
                w2i = twiddle_im[2 * j * step]
                w3r = twiddle_re[3 * j * step]
                w3i = twiddle_im[3 * j * step]
                a = start + j
                b = a + quarter
                c = b + quarter
                d = c + quarter
                if d < live:
                    for f in range(LANES):
                        ar = re[a, f]
                        ai = im[a, f]
                        br = re[b, f]
                        bi = im[b, f]
                        cr = re[c, f]
                        ci = im[c, f]
                        dr = re[d, f]
                        di = im[d, f]
                        _radix4_outputs(re, im, a, b, c, d, f, ar + cr, ai + ci, ar - cr, ai - ci, br + dr, bi + di,
                                        br - dr, bi - di, w1r, w1i, w2r, w2i, w3r, w3i)
                elif c < live:  # d is zero
                    for f in range(LANES):
                        ar = re[a, f]
                        ai = im[a, f]
                        br = re[b, f]
                        bi = im[b, f]
                        cr = re[c, f]
                        ci = im[c, f]
                        _radix4_outputs(re, im, a, b, c, d, f, ar + cr, ai + ci, ar - cr, ai - ci, br, bi, br, bi,
                                        w1r, w1i, w2r, w2i, w3r, w3i)
                elif b < live:  # c and d are zero
                    for f in range(LANES):
                        ar = re[a, f]
                        ai = im[a, f]
                        br = re[b, f]
                        bi = im[b, f]
                        _radix4_outputs(re, im, a, b, c, d, f, ar, ai, ar, ai, br, bi, br, bi,
                                        w1r, w1i, w2r, w2i, w3r, w3i)
                elif a < live:  # only a
                    for f in range(LANES):
                        ar = re[a, f]
                        ai = im[a, f]
                        _radix4_outputs(re, im, a, b, c, d, f, ar, ai, ar, ai, np.float32(0.0), np.float32(0.0),
                                        np.float32(0.0), np.float32(0.0), w1r, w1i, w2r, w2i, w3r, w3i)
                else:
                    for f in range(LANES):
                        re[a, f] = 0.0
                        im[a, f] = 0.0
                        re[b, f] = 0.0
                        im[b, f] = 0.0
                        re[c, f] = 0.0
                        im[c, f] = 0.0
                        re[d, f] = 0.0
                        im[d, f] = 0.0
        size = quarter
        live = points


@njit(cache=True, error_model="numpy", fastmath=_FFT_FAST)
def _split_powers(re, im, split_re, split_im, bit_reversed, powers):
    # The real frame's bins from the half-length transform Z (bit-reversed): with Z' = conj(Z[points - k]),
    # X_k = (Z_k + Z')/2 + W^k (Z_k - Z')/(2i), W = exp(-2 pi i / fft_size), k = 0..points; powers[k, f] = |X_k|^2.
    points = re.shape[0]
    for k in range(points + 1):
        i1 = bit_reversed[k % points]
        i2 = bit_reversed[(points - k) % points]
        wr = split_re[k]
        wi = split_im[k]
        for f in range(LANES):
            zr = re[i1, f]
            zi = im[i1, f]
            cr = re[i2, f]
            ci = -im[i2, f]
            er = np.float32(0.5) * (zr + cr)
            ei = np.float32(0.5) * (zi + ci)
            odr = np.float32(0.5) * (zi - ci)
            odi = np.float32(0.5) * (cr - zr)
            xr = er + (odr * wr - odi * wi)
            xi = ei + (odr * wi + odi * wr)
            powers[k, f] = xr * xr + xi * xi


@njit(cache=True, error_model="numpy")
def block_powers(x, start, rows, first, hop, window, twiddle_re, twiddle_im, split_re, split_im, bit_reversed,
                 re, im, powers):
    """powers[k, f] = |X_k|^2 of frame start + f for f < rows (lanes past rows: a zero frame's, 0)."""
    load_frames(x, first, hop, start, rows, window, re, im)
    _transform(re, im, twiddle_re, twiddle_im, (window.shape[0] + 1) // 2)
    _split_powers(re, im, split_re, split_im, bit_reversed, powers)

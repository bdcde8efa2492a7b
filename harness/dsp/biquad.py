"""Biquad coefficients exactly as the Web Audio API's BiquadFilterNode computes them, and the filter.

Formulas: W3C Web Audio API, "BiquadFilterNode" (the RBJ Audio-EQ-Cookbook with the shelf slope
fixed at S = 1), including the spec's edge cases, which Chromium's Biquad.cpp implements:
the frequency is clamped to [0, Nyquist]; at 0 or Nyquist a band degenerates to a constant
gain (1 or A^2). With f0 the clamped frequency, w0 = 2*pi*f0/sr, A = 10^(G/40):

- peaking:   alpha = sin(w0)/(2Q);  b = [1 + alpha*A, -2cos w0, 1 - alpha*A],
             a = [1 + alpha/A, -2cos w0, 1 - alpha/A]
- lowshelf:  alpha = sin(w0)/2 * sqrt(2)  (S = 1),  k = cos w0,  s = 2*sqrt(A)*alpha
             b = [A((A+1) - (A-1)k + s), 2A((A-1) - (A+1)k), A((A+1) - (A-1)k - s)]
             a = [(A+1) + (A-1)k + s, -2((A-1) + (A+1)k), (A+1) + (A-1)k - s]
- highshelf: b = [A((A+1) + (A-1)k + s), -2A((A-1) + (A+1)k), A((A+1) + (A-1)k - s)]
             a = [(A+1) - (A-1)k + s, 2((A-1) - (A+1)k), (A+1) - (A-1)k - s]

A section is stored normalised by a0 as ``[b0, b1, b2, a1, a2]`` (float64). With S fixed, the
+G and -G sections of any band are exact reciprocals: H(z; -G) = 1 / H(z; G).
"""

from __future__ import annotations

import math

import numpy as np
from llvmlite import ir
from numba import njit, types
from numba.core import cgutils
from numba.extending import intrinsic
from numba.np.arrayobj import make_array

IDENTITY = np.array([1.0, 0.0, 0.0, 0.0, 0.0])


def _normalised(b0: float, b1: float, b2: float, a0: float, a1: float, a2: float) -> np.ndarray:
    return np.array([b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0], dtype=np.float64)


def _nyquist_fraction(freq_hz: float, sr: float) -> float:
    # Web Audio clamps the (detuned) frequency to [0, Nyquist].
    return min(max(freq_hz / (0.5 * sr), 0.0), 1.0)


def peaking(freq_hz: float, gain_db: float, q: float, sr: float) -> np.ndarray:
    f = _nyquist_fraction(freq_hz, sr)
    a = 10.0 ** (gain_db / 40.0)
    if not 0.0 < f < 1.0:
        return IDENTITY.copy()
    if q <= 0.0:
        return np.array([a * a, 0.0, 0.0, 0.0, 0.0])
    w0 = math.pi * f
    alpha = math.sin(w0) / (2.0 * q)
    k = math.cos(w0)
    return _normalised(1.0 + alpha * a, -2.0 * k, 1.0 - alpha * a, 1.0 + alpha / a, -2.0 * k, 1.0 - alpha / a)


def _shelf_terms(f: float, a: float) -> tuple[float, float]:
    w0 = math.pi * f
    alpha = 0.5 * math.sin(w0) * math.sqrt(2.0)  # S = 1: sqrt((A + 1/A)(1/S - 1) + 2) = sqrt(2)
    return math.cos(w0), 2.0 * math.sqrt(a) * alpha


def lowshelf(freq_hz: float, gain_db: float, sr: float) -> np.ndarray:
    f = _nyquist_fraction(freq_hz, sr)
    a = 10.0 ** (gain_db / 40.0)
    if f == 1.0:
        return np.array([a * a, 0.0, 0.0, 0.0, 0.0])
    if f == 0.0:
        return IDENTITY.copy()
    k, s = _shelf_terms(f, a)
    return _normalised(
        a * ((a + 1) - (a - 1) * k + s),
        2 * a * ((a - 1) - (a + 1) * k),
        a * ((a + 1) - (a - 1) * k - s),
        (a + 1) + (a - 1) * k + s,
        -2 * ((a - 1) + (a + 1) * k),
        (a + 1) + (a - 1) * k - s,
    )


def highshelf(freq_hz: float, gain_db: float, sr: float) -> np.ndarray:
    f = _nyquist_fraction(freq_hz, sr)
    a = 10.0 ** (gain_db / 40.0)
    if f == 1.0:
        return IDENTITY.copy()
    if f == 0.0:
        return np.array([a * a, 0.0, 0.0, 0.0, 0.0])
    k, s = _shelf_terms(f, a)
    return _normalised(
        a * ((a + 1) + (a - 1) * k + s),
        -2 * a * ((a - 1) + (a + 1) * k),
        a * ((a + 1) + (a - 1) * k - s),
        (a + 1) - (a - 1) * k + s,
        2 * ((a - 1) - (a + 1) * k),
        (a + 1) - (a - 1) * k - s,
    )


def frequency_response(sections: np.ndarray, freqs_hz: np.ndarray, sr: float) -> np.ndarray:
    """Complex response of the cascade at ``freqs_hz``: product of (b0 + b1 z^-1 + b2 z^-2)/(1 + a1 z^-1 + a2 z^-2)."""
    sections = np.atleast_2d(np.asarray(sections, dtype=np.float64))
    z1 = np.exp(-2j * np.pi * np.asarray(freqs_hz, dtype=np.float64) / sr)
    h = np.ones_like(z1)
    for b0, b1, b2, a1, a2 in sections:
        h *= (b0 + (b1 + b2 * z1) * z1) / (1.0 + (a1 + a2 * z1) * z1)
    return h


def magnitude_db(sections: np.ndarray, freqs_hz: np.ndarray, sr: float) -> np.ndarray:
    return 20.0 * np.log10(np.abs(frequency_response(sections, freqs_hz, sr)))


def is_identity(section: np.ndarray) -> bool:
    """True for a 0 dB band: b == a exactly, so the section passes samples through bit-exactly."""
    b0, b1, b2, a1, a2 = section
    return b0 == 1.0 and b1 == a1 and b2 == a2


def filter_sections(audio: np.ndarray, sections: np.ndarray) -> np.ndarray:
    """Run ``audio`` (channels, samples) through the cascade; float64 state, output in the input dtype."""
    active = np.array([s for s in np.atleast_2d(sections) if not is_identity(s)], dtype=np.float64)
    if active.shape[0] == 0:
        return audio.copy()
    out = np.empty(audio.shape, dtype=audio.dtype)  # the kernel rounds once, on store
    b0 = active[:, 0]
    if np.any(b0 == 0.0):
        out[...] = 0.0
        return out
    # Each section runs with a monic numerator (b / b0) and the b0s are applied once at the end:
    # one multiply per section-sample less, the same transfer function.
    monic = active[:, 1:] / np.column_stack([b0, b0, np.ones_like(b0), np.ones_like(b0)])
    _cascade(np.ascontiguousarray(audio), np.ascontiguousarray(monic), float(np.prod(b0)), out)
    return out


@intrinsic
def _fma(typingctx, a, b, c):  # pragma: no cover - compiled
    """a * b + c rounded once (llvm.fma: the same result on every CPU, in hardware where it has FMA)."""
    signature = types.float64(types.float64, types.float64, types.float64)

    def codegen(context, builder, sig, args):
        return builder.fma(*args)

    return signature, codegen


# -- the cascade kernel ----------------------------------------------------------------------------
#
# Time-skewed ("wavefront") Transposed Direct Form II: at step t, section k of a pair of channels
# works on sample t - k, so all sections of one step are independent and run in SIMD lanes:
# 4-lane float64 vectors, each holding two sections of both channels ([k c0, k c1, k+1 c0,
# k+1 c1]); section k's input at step t is section k-1's output from step t-1, one lane shuffle.
# Every lane does exactly the scalar recursion's operations (same fused multiply-adds, same
# order), so the output is bit-identical to running the sections one after another; the only
# loop-carried chains are each section's own state. numba neither exposes vector types nor (with
# its default NUMBA_SLP_VECTORIZE=0) packs scalar code into lanes, so the loop is written as LLVM
# IR (llvmlite) in an intrinsic, one per number of sections (up to _WAVE_SECTIONS); longer
# cascades run in chunks through a float64 buffer.

_WAVE_SECTIONS = 6
_F64 = ir.DoubleType()
_V4 = ir.VectorType(_F64, 4)
_I64 = ir.IntType(64)
_I32 = ir.IntType(32)


def _wavefront(k_sections: int):
    """Intrinsic ``(x0, x1, out0, out1, coef, gain)``: channels x0, x1 (1-D, C-contiguous) through
    ``k_sections`` monic sections; ``coef`` from ``_wave_coefficients``; out = y * gain, rounded to
    out's dtype. ``out`` may be ``x`` itself (sample t is written at step t + k_sections - 1)."""
    quads = (k_sections + 1) // 2  # an odd count leaves a dummy section (zero coefficients, ignored)
    delay = k_sections - 1
    out_quad, out_lane = (k_sections - 1) // 2, 2 * ((k_sections - 1) % 2)

    @intrinsic
    def kernel(typingctx, x0, x1, out0, out1, coef, gain):  # pragma: no cover - compiled
        for a in (x0, x1, out0, out1, coef):
            if not isinstance(a, types.Array) or a.ndim != 1 or a.layout != "C":
                return None
        if coef.dtype != types.float64:
            return None

        def codegen(context, builder, sig, args):
            ax0, ax1, ao0, ao1, acoef = (make_array(t)(context, builder, v) for t, v in zip(sig.args[:5], args[:5]))
            n = builder.extract_value(ax0.shape, 0)
            cp = builder.bitcast(acoef.data, _V4.as_pointer())
            c = [builder.load(builder.gep(cp, [ir.Constant(_I64, j)]), align=8) for j in range(4 * quads)]
            b1, b2, na1, na2 = c[:quads], c[quads:2 * quads], c[2 * quads:3 * quads], c[3 * quads:]
            fma = cgutils.get_or_insert_function(builder.module, ir.FunctionType(_V4, [_V4] * 3), "llvm.fma.v4f64")
            pre = builder.block
            fn = builder.function
            head, body, store, latch, done = (fn.append_basic_block(f"wave.{b}") for b in
                                              ("head", "body", "store", "latch", "done"))
            builder.cbranch(builder.icmp_signed(">", n, ir.Constant(_I64, 0)), head, done)
            builder.position_at_end(head)
            t = builder.phi(_I64)
            ys = [builder.phi(_V4) for _ in range(quads)]  # each section's output of the last step
            s0 = [builder.phi(_V4) for _ in range(quads)]
            s1 = [builder.phi(_V4) for _ in range(quads)]
            t.add_incoming(ir.Constant(_I64, 0), pre)
            for p in ys + s0 + s1:
                p.add_incoming(ir.Constant(_V4, [0.0] * 4), pre)
            builder.cbranch(builder.icmp_signed("<", t, builder.add(n, ir.Constant(_I64, delay))), body, done)
            builder.position_at_end(body)
            inside = builder.icmp_signed("<", t, n)  # past the end the first section reads zeros
            idx = builder.select(inside, t, builder.sub(n, ir.Constant(_I64, 1)))
            ab = ir.Constant(_V4, ir.Undefined)
            for lane, a in enumerate((ax0, ax1)):
                v = builder.load(builder.gep(a.data, [idx]))
                if v.type != _F64:
                    v = builder.fpext(v, _F64)
                v = builder.select(inside, v, ir.Constant(_F64, 0.0))
                ab = builder.insert_element(ab, v, ir.Constant(_I32, lane))
            mask = ir.Constant(ir.VectorType(_I32, 4), [0, 1, 4, 5])
            shift = ir.Constant(ir.VectorType(_I32, 4), [2, 3, 4, 5])
            us = [builder.shuffle_vector(ab, ys[0], mask)]
            us += [builder.shuffle_vector(ys[j - 1], ys[j], shift) for j in range(1, quads)]
            ny, ns0, ns1 = [], [], []
            for j, u in enumerate(us):  # the scalar kernel's recursion, lane by lane
                y = builder.fadd(u, s0[j])
                ns0.append(builder.call(fma, [b1[j], u, builder.call(fma, [na1[j], y, s1[j]])]))
                ns1.append(builder.call(fma, [b2[j], u, builder.fmul(na2[j], y)]))
                ny.append(y)
            builder.cbranch(builder.icmp_signed(">=", t, ir.Constant(_I64, delay)), store, latch)
            builder.position_at_end(store)
            o = builder.sub(t, ir.Constant(_I64, delay))
            for lane, a in ((out_lane, ao0), (out_lane + 1, ao1)):
                v = builder.fmul(builder.extract_element(ny[out_quad], ir.Constant(_I32, lane)), args[5])
                ptr = builder.gep(a.data, [o])
                if ptr.type.pointee != _F64:
                    v = builder.fptrunc(v, ptr.type.pointee)
                builder.store(v, ptr)
            builder.branch(latch)
            builder.position_at_end(latch)
            t.add_incoming(builder.add(t, ir.Constant(_I64, 1)), latch)
            for p, v in zip(ys + s0 + s1, ny + ns0 + ns1):
                p.add_incoming(v, latch)
            builder.branch(head)
            builder.position_at_end(done)
            return context.get_dummy_value()

        return types.void(x0, x1, out0, out1, coef, gain), codegen

    return kernel


_wave1, _wave2, _wave3, _wave4, _wave5, _wave6 = (_wavefront(k) for k in range(1, _WAVE_SECTIONS + 1))


@njit(cache=True, error_model="numpy")
def _wave_coefficients(sections):  # pragma: no cover - compiled
    # [b1 | b2 | -a1 | -a2] of monic sections, each as `quads` 4-lane vectors [k, k, k+1, k+1]
    k_sections = sections.shape[0]
    quads = (k_sections + 1) // 2
    coef = np.zeros(16 * quads)
    for k in range(k_sections):
        for j in range(4):
            v = sections[k, j] if j < 2 else -sections[k, j]
            at = 4 * (j * quads + k // 2) + 2 * (k % 2)
            coef[at] = v
            coef[at + 1] = v
    return coef


@njit(cache=True, error_model="numpy")
def _wave(x0, x1, out0, out1, sections, gain):  # pragma: no cover - compiled
    coef = _wave_coefficients(sections)
    k = sections.shape[0]
    if k == 1:
        _wave1(x0, x1, out0, out1, coef, gain)
    elif k == 2:
        _wave2(x0, x1, out0, out1, coef, gain)
    elif k == 3:
        _wave3(x0, x1, out0, out1, coef, gain)
    elif k == 4:
        _wave4(x0, x1, out0, out1, coef, gain)
    elif k == 5:
        _wave5(x0, x1, out0, out1, coef, gain)
    else:
        _wave6(x0, x1, out0, out1, coef, gain)


@njit(cache=True, error_model="numpy")
def _cascade(x, sections, gain, out):  # pragma: no cover - compiled
    # Monic sections ([b1/b0, b2/b0, a1, a2] each), channels in pairs (an odd last channel is
    # paired with itself); more than _WAVE_SECTIONS sections go in chunks through float64 rows.
    n_channels, n = x.shape
    k_sections = sections.shape[0]
    for c0 in range(0, n_channels, 2):
        c1 = min(c0 + 1, n_channels - 1)
        if k_sections <= _WAVE_SECTIONS:
            _wave(x[c0], x[c1], out[c0], out[c1], sections, gain)
            continue
        t0 = np.empty(n)
        t1 = np.empty(n)
        _wave(x[c0], x[c1], t0, t1, sections[:_WAVE_SECTIONS], 1.0)
        for k0 in range(_WAVE_SECTIONS, k_sections - _WAVE_SECTIONS, _WAVE_SECTIONS):
            _wave(t0, t1, t0, t1, sections[k0:k0 + _WAVE_SECTIONS], 1.0)
        last = (k_sections - 1) // _WAVE_SECTIONS * _WAVE_SECTIONS
        _wave(t0, t1, out[c0], out[c1], sections[last:], gain)

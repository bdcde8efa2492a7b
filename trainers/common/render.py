"""Differentiable torch twins of the harness DSP (`harness.dsp`), for trainers that learn through the renderer.

Parameters travel in the harness's own order and units (`EQ.SPECS`, `Compressor.SPECS`); the layout is read
from those specs at import, never copied. docs/trainers.md ("Differentiable renderers") gives the parity
figures measured against the harness and the approximations; in short:

- `unit_to_params` / `params_to_unit`: `ParamSpec.from_unit` / `to_unit` for a whole vector, in torch.
- EQ: `eq_sections` computes the six Web Audio biquads exactly as `harness.dsp.biquad` does (Nyquist clamp and
  its degenerate bands included); `eq_response_db` / `eq_frequency_response` evaluate the cascade like
  `biquad.frequency_response`; `apply_eq_to_power` multiplies a power spectrum by |H|^2 (feature-domain
  training); `render_eq` filters audio by frequency sampling: the IIR's exact complex response (magnitude
  and phase) on an FFT grid long enough that the cyclic wrap of the decaying impulse response is negligible.
- Compressor: `compressor_gain_db` / `render_compressor` are `Compressor.gain_db` / `render` in torch. The
  serial one-pole smoother runs in a numba kernel inside a custom autograd Function whose backward is the
  reverse-time adjoint recursion.

Everything differentiable is plain torch except that smoother; coefficients and responses are computed in
float64 whatever the input dtype (a float32 biquad at 20 Hz loses the response to cancellation) and cast
on the way out.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import torch
from numba import njit
from scipy.fft import next_fast_len

from harness.dsp.compressor import Compressor
from harness.dsp.eq import EQ
from harness.dsp.params import ParamSpec

Tensor = torch.Tensor

# -- parameter mapping ---------------------------------------------------------------------------------------


def _spec_table(specs: Sequence[ParamSpec], like: Tensor) -> tuple[Tensor, Tensor, Tensor, Tensor]:
    kw = {"dtype": like.dtype if like.is_floating_point() else torch.float64, "device": like.device}
    lo = torch.tensor([s.min for s in specs], **kw)
    hi = torch.tensor([s.max for s in specs], **kw)
    log_ratio = torch.tensor([math.log(s.max / s.min) if s.scale == "log" else 0.0 for s in specs], **kw)
    is_log = torch.tensor([s.scale == "log" for s in specs], device=like.device)
    return lo, hi, log_ratio, is_log


def _check_width(x: Tensor, specs: Sequence[ParamSpec], what: str) -> None:
    if x.shape[-1:] != (len(specs),):
        raise ValueError(f"{what}: expected a last dimension of {len(specs)} (one per spec), "
                         f"got shape {tuple(x.shape)}")


def unit_to_params(unit: Tensor, specs: Sequence[ParamSpec]) -> Tensor:
    """`ParamSpec.from_unit` per spec along the last axis: [0, 1] -> physical units (geometric for log specs).

    Same formula and clamp as the harness: 0 and 1 land exactly on min and max and the result never leaves
    them (the gradient is zero where it clamps; a sigmoid head never gets there)."""
    specs = tuple(specs)
    _check_width(unit, specs, "unit_to_params")
    lo, hi, log_ratio, is_log = _spec_table(specs, unit)
    v = torch.where(is_log, lo * torch.exp(unit * log_ratio), lo + unit * (hi - lo))
    return torch.where(unit >= 1.0, hi, torch.clamp(v, lo, hi))


def params_to_unit(params: Tensor, specs: Sequence[ParamSpec]) -> Tensor:
    """`ParamSpec.to_unit` per spec along the last axis (no clamping, like the harness)."""
    specs = tuple(specs)
    _check_width(params, specs, "params_to_unit")
    lo, hi, log_ratio, is_log = _spec_table(specs, params)
    safe = torch.where(is_log, params, torch.ones_like(params))  # log of a lin spec's value is never used
    return torch.where(is_log, torch.log(safe / lo) / torch.where(is_log, log_ratio, 1.0), (params - lo) / (hi - lo))


# -- EQ ------------------------------------------------------------------------------------------------------

EQ_BANDS: tuple[tuple[str, str], ...] = (
    ("low_shelf", "lowshelf"),
    ("peak1", "peaking"),
    ("peak2", "peaking"),
    ("peak3", "peaking"),
    ("peak4", "peaking"),
    ("high_shelf", "highshelf"),
)
EQ_NAMES: tuple[str, ...] = EQ.names()
COMPRESSOR_NAMES: tuple[str, ...] = Compressor.names()


def _index(names: Sequence[str], name: str) -> int:
    return list(names).index(name)


def _band_constant(c: Tensor) -> Tensor:
    z = torch.zeros_like(c)
    return torch.stack([c, z, z, z, z], dim=-1)


def _normalised(b0: Tensor, b1: Tensor, b2: Tensor, a0: Tensor, a1: Tensor, a2: Tensor) -> Tensor:
    return torch.stack([b0 / a0, b1 / a0, b2 / a0, a1 / a0, a2 / a0], dim=-1)


def _peaking(f: Tensor, gain_db: Tensor, q: Tensor) -> Tensor:
    a = 10.0 ** (gain_db / 40.0)
    q_safe = torch.where(q > 0.0, q, torch.ones_like(q))  # keeps the unused branch finite (and its grads)
    w0 = math.pi * f
    alpha = torch.sin(w0) / (2.0 * q_safe)
    k = torch.cos(w0)
    sec = _normalised(1.0 + alpha * a, -2.0 * k, 1.0 - alpha * a, 1.0 + alpha / a, -2.0 * k, 1.0 - alpha / a)
    identity = _band_constant(torch.ones_like(a))
    sec = torch.where((q > 0.0)[..., None], sec, _band_constant(a * a))
    return torch.where(((f > 0.0) & (f < 1.0))[..., None], sec, identity)


def _shelf(f: Tensor, gain_db: Tensor, high: bool) -> Tensor:
    a = 10.0 ** (gain_db / 40.0)
    w0 = math.pi * f
    alpha = 0.5 * torch.sin(w0) * math.sqrt(2.0)
    k = torch.cos(w0)
    s = 2.0 * torch.sqrt(a) * alpha
    if high:
        sec = _normalised(
            a * ((a + 1) + (a - 1) * k + s),
            -2 * a * ((a - 1) + (a + 1) * k),
            a * ((a + 1) + (a - 1) * k - s),
            (a + 1) - (a - 1) * k + s,
            2 * ((a - 1) - (a + 1) * k),
            (a + 1) - (a - 1) * k - s,
        )
        at_nyquist, at_dc = _band_constant(torch.ones_like(a)), _band_constant(a * a)
    else:
        sec = _normalised(
            a * ((a + 1) - (a - 1) * k + s),
            2 * a * ((a - 1) - (a + 1) * k),
            a * ((a + 1) - (a - 1) * k - s),
            (a + 1) + (a - 1) * k + s,
            -2 * ((a - 1) + (a + 1) * k),
            (a + 1) + (a - 1) * k - s,
        )
        at_nyquist, at_dc = _band_constant(a * a), _band_constant(torch.ones_like(a))
    sec = torch.where((f == 0.0)[..., None], at_dc, sec)
    return torch.where((f == 1.0)[..., None], at_nyquist, sec)


def eq_sections(params: Tensor, sr: float) -> Tensor:
    """(..., 16) EQ parameters in physical units, `EQ.SPECS` order -> (..., 6, 5) float64 biquads
    `[b0, b1, b2, a1, a2]` (normalised by a0), low shelf -> peak1..4 -> high shelf: `EQ.sections(sr)`."""
    _check_width(params, EQ.SPECS, "eq_sections")
    p = params.to(torch.float64)
    out = []
    for band, kind in EQ_BANDS:
        freq = p[..., _index(EQ_NAMES, f"{band}.freq_hz")]
        gain = p[..., _index(EQ_NAMES, f"{band}.gain_db")]
        f = torch.clamp(freq / (0.5 * sr), 0.0, 1.0)  # Web Audio clamps the frequency to [0, Nyquist]
        if kind == "peaking":
            out.append(_peaking(f, gain, p[..., _index(EQ_NAMES, f"{band}.q")]))
        else:
            out.append(_shelf(f, gain, high=kind == "highshelf"))
    return torch.stack(out, dim=-2)


def _response_at(sections: Tensor, w: Tensor) -> Tensor:
    """Complex response of the cascade at angular frequencies ``w`` (rad/sample): (..., K, 5) -> (..., F)."""
    sections = sections.to(torch.float64)
    z1 = torch.polar(torch.ones_like(w), -w)  # e^{-jw}
    h = None
    for k in range(sections.shape[-2]):
        b0, b1, b2, a1, a2 = (sections[..., k, i, None] for i in range(5))
        sec = (b0 + (b1 + b2 * z1) * z1) / (1.0 + (a1 + a2 * z1) * z1)
        h = sec if h is None else h * sec
    return h


def _freqs(freqs_hz: Tensor | np.ndarray | Sequence[float], like: Tensor) -> Tensor:
    return torch.as_tensor(freqs_hz, dtype=torch.float64, device=like.device)


def eq_frequency_response(sections: Tensor, freqs_hz: Tensor | np.ndarray | Sequence[float], sr: float) -> Tensor:
    """Complex128 response (..., F) of the (..., K, 5) cascade: `biquad.frequency_response`."""
    return _response_at(sections, 2.0 * math.pi * _freqs(freqs_hz, sections) / sr)


def eq_power_response(sections: Tensor, freqs_hz: Tensor | np.ndarray | Sequence[float], sr: float) -> Tensor:
    """|H|^2 (..., F), float64."""
    h = eq_frequency_response(sections, freqs_hz, sr)
    return h.real * h.real + h.imag * h.imag


def eq_response_db(sections: Tensor, freqs_hz: Tensor | np.ndarray | Sequence[float], sr: float) -> Tensor:
    """Magnitude in dB (..., F), float64: `biquad.magnitude_db` / `EQ.response_db`."""
    return 10.0 * torch.log10(eq_power_response(sections, freqs_hz, sr))


def apply_eq_to_power(power: Tensor, params: Tensor, freqs_hz: Tensor | np.ndarray | Sequence[float],
                      sr: float) -> Tensor:
    """A power spectrum (..., F) sampled at ``freqs_hz`` through the EQ of ``params`` (..., 16): power * |H|^2,
    in ``power``'s dtype. Exact for a stationary signal's expected power; what a feature-domain trainer uses."""
    return power * eq_power_response(eq_sections(params, sr), freqs_hz, sr).to(power.dtype)


def _max_pole_radius(sections: Tensor) -> float:
    a = sections.detach().to(torch.float64).cpu().numpy().reshape(-1, 5)
    a1, a2 = a[:, 3], a[:, 4]
    disc = a1 * a1 - 4.0 * a2
    root = np.sqrt(np.abs(disc))
    real_r = np.maximum(np.abs(-a1 + root), np.abs(-a1 - root)) / 2.0  # real poles
    complex_r = np.sqrt(np.abs(a2))  # a conjugate pair: |p|^2 = a2
    r = np.where(disc >= 0.0, real_r, complex_r)
    return float(r.max()) if r.size else 0.0


def eq_fft_length(sections: Tensor, n_samples: int, tail_db: float = -120.0) -> int:
    """FFT length for `render_eq`: ``n_samples`` plus the tail after which the slowest pole's envelope r^m has
    decayed by ``tail_db``, rounded up to a fast (5-smooth) size. r = 1 (never for these stable biquads)
    raises."""
    r = _max_pole_radius(sections)
    if r >= 1.0:
        raise ValueError(f"EQ has a pole on or outside the unit circle (|p| = {r}); it cannot be frequency-sampled")
    tail = 0 if r == 0.0 else int(math.ceil(tail_db / 20.0 * math.log(10.0) / math.log(r)))
    return int(next_fast_len(n_samples + max(tail, 1), real=True))


def render_eq(audio: Tensor, params: Tensor, sr: float, *, n_fft: int | None = None,
              tail_db: float = -120.0) -> Tensor:
    """`EQ.render` by frequency sampling: audio (..., C, N), params (..., 16) physical units -> (..., C, N).

    The spectrum of the zero-padded audio is multiplied by the IIR cascade's exact complex response on the
    FFT grid, which is the DFT of the impulse response wrapped modulo ``n_fft``: the output is the IIR's
    output plus the wrapped tail (lags >= n_fft - N + 1). The default ``n_fft`` (`eq_fft_length`) makes that
    tail ``tail_db`` below the slowest pole's starting envelope; pass ``n_fft`` to fix it (e.g. to bound the
    cost: a +18 dB Q=18 bell at 20 Hz rings for ~12 s at -120 dB). Differentiable in audio and params; the
    choice of ``n_fft`` is not (it is a length)."""
    n = audio.shape[-1]
    sections = eq_sections(params, sr)
    if n_fft is None:
        n_fft = eq_fft_length(sections, n, tail_db)
    if n_fft < n:
        raise ValueError(f"n_fft={n_fft} is shorter than the audio ({n} samples)")
    w = 2.0 * math.pi * torch.arange(n_fft // 2 + 1, dtype=torch.float64, device=audio.device) / n_fft
    h = _response_at(sections, w)  # (..., F) complex128
    spectrum = torch.fft.rfft(audio, n=n_fft)
    complex_dtype = spectrum.dtype
    y = torch.fft.irfft(spectrum * h[..., None, :].to(complex_dtype), n=n_fft)
    return y[..., :n]


# -- compressor ----------------------------------------------------------------------------------------------

_LEVEL_FLOOR = 1e-30  # harness.dsp.compressor: -600 dBFS, digital silence stays finite


@njit(cache=True, error_model="numpy")
def _smooth_forward(x, a_attack, a_release, y, attack):  # pragma: no cover - compiled
    # the harness kernel's recursion, same operations in the same order (harness/dsp/compressor.py)
    n_rows, n = x.shape
    for b in range(n_rows):
        aa = a_attack[b]
        ar = a_release[b]
        y_l = 0.0
        for i in range(n):
            target = x[b, i]
            if target > y_l:
                y_l = aa * y_l + (1.0 - aa) * target
                attack[b, i] = True
            else:
                y_l = ar * y_l + (1.0 - ar) * target
                attack[b, i] = False
            y[b, i] = y_l


@njit(cache=True, error_model="numpy")
def _smooth_backward(g, x, y, attack, a_attack, a_release, gx, ga):  # pragma: no cover - compiled
    # adjoint of y[i] = a[i] y[i-1] + (1 - a[i]) x[i], y[-1] = 0, in reverse time:
    # lam[i] = g[i] + a[i+1] lam[i+1];  dL/dx[i] = (1 - a[i]) lam[i];  dL/da[i] = lam[i] (y[i-1] - x[i])
    n_rows, n = x.shape
    for b in range(n_rows):
        aa = a_attack[b]
        ar = a_release[b]
        carry = 0.0
        sum_a = 0.0
        sum_r = 0.0
        for i in range(n - 1, -1, -1):
            lam = g[b, i] + carry
            y_prev = y[b, i - 1] if i > 0 else 0.0
            a = aa if attack[b, i] else ar
            gx[b, i] = (1.0 - a) * lam
            d = lam * (y_prev - x[b, i])
            if attack[b, i]:
                sum_a += d
            else:
                sum_r += d
            carry = a * lam
        ga[b, 0] = sum_a
        ga[b, 1] = sum_r


def _numpy64(t: Tensor) -> np.ndarray:
    return np.ascontiguousarray(t.detach().to(device="cpu", dtype=torch.float64).numpy())


class BranchingSmoother(torch.autograd.Function):
    """y_L[n] = a[n] y_L[n-1] + (1 - a[n]) x_L[n], a[n] = a_A if x_L[n] > y_L[n-1] else a_R, y_L[-1] = 0.

    ``x_l`` (B, N), ``a_attack`` and ``a_release`` (B,). Forward: numba, float64. Backward: the reverse-time
    adjoint with the branch taken as fixed. That is the exact gradient wherever it exists: the two branches
    agree on the switching surface x_L[n] = y_L[n-1] (both give y_L[n] = y_L[n-1]), so a perturbation that
    flips a branch changes the output only to second order; only at an exact tie is the derivative one-sided.
    The backward then takes the release branch's, as the forward does (``>`` is strict). The one tie that
    happens in practice is x_L = y_L = 0 before any gain reduction, where x_L comes from the gain computer's
    flat part and carries no gradient anyway.
    """

    @staticmethod
    def forward(ctx, x_l: Tensor, a_attack: Tensor, a_release: Tensor) -> Tensor:
        x = _numpy64(x_l)
        aa, ar = _numpy64(a_attack), _numpy64(a_release)
        y = np.empty_like(x)
        attack = np.empty(x.shape, dtype=np.bool_)
        _smooth_forward(x, aa, ar, y, attack)
        ctx.arrays = (x, y, attack, aa, ar)
        return torch.from_numpy(y).to(device=x_l.device, dtype=x_l.dtype)

    @staticmethod
    @torch.autograd.function.once_differentiable
    def backward(ctx, grad: Tensor) -> tuple[Tensor | None, Tensor | None, Tensor | None]:
        x, y, attack, aa, ar = ctx.arrays
        gx = np.empty_like(x)
        ga = np.empty((x.shape[0], 2))
        _smooth_backward(_numpy64(grad), x, y, attack, aa, ar, gx, ga)
        dev = grad.device
        grad_x = torch.from_numpy(gx).to(device=dev, dtype=grad.dtype) if ctx.needs_input_grad[0] else None
        grad_a = torch.from_numpy(ga[:, 0]).to(device=dev, dtype=grad.dtype) if ctx.needs_input_grad[1] else None
        grad_r = torch.from_numpy(ga[:, 1]).to(device=dev, dtype=grad.dtype) if ctx.needs_input_grad[2] else None
        return grad_x, grad_a, grad_r


def branching_smoother(x_l: Tensor, a_attack: Tensor, a_release: Tensor) -> Tensor:
    """`BranchingSmoother` on (..., N) with coefficients broadcast to the leading shape."""
    lead, n = x_l.shape[:-1], x_l.shape[-1]
    flat = x_l.reshape(-1, n)
    aa = torch.broadcast_to(a_attack, lead).reshape(-1)
    ar = torch.broadcast_to(a_release, lead).reshape(-1)
    return BranchingSmoother.apply(flat, aa, ar).reshape(*lead, n)


def smoothing_coefficient(time_ms: Tensor, sr: float) -> Tensor:
    """exp(-1 / (tau sr)): `harness.dsp.compressor.smoothing_coefficient` in torch."""
    return torch.exp(-1.0 / (time_ms * 1e-3 * sr))


def gain_reduction_db(level_db: Tensor, threshold_db: Tensor, ratio: Tensor, knee_db: Tensor) -> Tensor:
    """x_L = x_G - y_G >= 0 (GMR 2012 eq. 4 with a quadratic soft knee), branches as the harness kernel;
    the parameters broadcast against ``level_db``."""
    over = level_db - threshold_db
    slope = 1.0 / ratio - 1.0
    soft = knee_db > 0.0
    knee_safe = torch.where(soft, knee_db, torch.ones_like(knee_db))
    t = over + 0.5 * knee_db
    in_knee = soft & (2.0 * torch.abs(over) <= knee_db)
    above = -slope * over
    return torch.where(in_knee, -slope * t * t / (2.0 * knee_safe),
                       torch.where(over > 0.5 * knee_db, above, torch.zeros_like(above)))


def compressor_gain_db(audio: Tensor, params: Tensor, sr: float) -> Tensor:
    """The per-sample gain M - y_L[n] in dB (..., N) that `render_compressor` applies to every channel:
    `Compressor.gain_db`. audio (..., C, N); params (..., 6) in `Compressor.SPECS` order, physical units.

    The gain path runs in float64 whatever the audio dtype (float64 result): in float32, 1 - a_R for a 3 s
    release at 48 kHz (6.9e-6) would carry a 1 % error, and with it the release time."""
    _check_width(params, Compressor.SPECS, "compressor_gain_db")
    p = params.to(torch.float64)

    def col(name: str) -> Tensor:
        return p[..., _index(COMPRESSOR_NAMES, name), None]

    level = torch.clamp_min(torch.amax(torch.abs(audio), dim=-2).to(torch.float64), _LEVEL_FLOOR)  # stereo link
    x_l = gain_reduction_db(20.0 * torch.log10(level), col("threshold_db"), col("ratio"), col("knee_db"))
    a_attack = smoothing_coefficient(col("attack_ms")[..., 0], sr)
    a_release = smoothing_coefficient(col("release_ms")[..., 0], sr)
    y_l = branching_smoother(x_l, a_attack, a_release)
    return col("makeup_db") - y_l


def render_compressor(audio: Tensor, params: Tensor, sr: float) -> Tensor:
    """`Compressor.render`: audio (..., C, N) times 10^(gain_db/20), the same gain on every channel."""
    gain = compressor_gain_db(audio, params, sr)
    return audio * torch.pow(10.0, gain / 20.0).to(audio.dtype)[..., None, :]

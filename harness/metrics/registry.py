"""The metric contract: Unmeasurable, Measurement, the audio convention, and the registry.

Metrics follow the torchmetrics split: a pure function does the maths and raises
``Unmeasurable(reason)`` when the input cannot be measured (silence, a clip shorter
than the meter's window, non-finite samples); the registry wraps it so callers
get a ``Measurement`` whose value is a finite float or ``None`` with the reason.
``-inf``/``nan`` never leave through the registry.

Meters take ``(audio, sr)``; distances take ``(output, target, sr)``.
Audio is a numpy array (channels, samples), float32 or float64, nominal full
scale +-1.0; a 1-D array is read as mono. Inputs are never modified.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from harness.registry import Registry

__all__ = [
    "Unmeasurable",
    "Measurement",
    "MetricSpec",
    "REGISTRY",
    "register",
    "get_metric",
    "list_meters",
    "list_distances",
    "measure",
    "measure_all",
    "as_audio",
    "check_sample_rate",
    "register_shared_analysis",
    "NON_FINITE_REASON",
    "MAX_CHANNELS_HINT",
]

Direction = Literal["lower", "higher"] | None
Kind = Literal["meter", "distance"]

NON_FINITE_REASON = "non-finite samples: audio contains NaN or Inf"

# More "channels" than this almost always means a (samples, channels) array.
MAX_CHANNELS_HINT = 64


class Unmeasurable(ValueError):
    """The input is valid but this metric has no value for it (silence, too short, ...).

    ``reason`` is a short human sentence, e.g.
    "silence: all blocks below the -70 LUFS absolute gate".
    """

    def __init__(self, reason: str):
        super().__init__(reason)
        self.reason = reason


@dataclass(frozen=True)
class Measurement:
    """A metric's result: a finite value, or None and the reason there is none.

    ``value`` is a float, or a tuple of floats for vector meters (then ``axis``
    holds what each element is measured at, e.g. band centre frequencies in Hz).
    """

    value: float | tuple[float, ...] | None
    unit: str
    reason: str | None = None
    axis: tuple[float, ...] | None = None

    def __post_init__(self):
        if (self.value is None) == (self.reason is None):
            raise ValueError("a Measurement has exactly one of value and reason")

    @property
    def ok(self) -> bool:
        return self.value is not None

    def to_json(self) -> dict[str, Any]:
        """{"value": 1.5, "unit": "LU", "reason": null} / {"value": null, ..., "reason": "..."}."""
        out: dict[str, Any] = {
            "value": list(self.value) if isinstance(self.value, tuple) else self.value,
            "unit": self.unit,
            "reason": self.reason,
        }
        if self.axis is not None:
            out["axis"] = list(self.axis)
        return out


@dataclass(frozen=True)
class MetricSpec:
    """One registered metric.

    ``shared`` names an analysis several meters can read from (e.g. one
    ``loudness_stats`` pass); ``from_shared`` pulls this meter's value out of it.
    ``measure_all`` computes each shared analysis once per call.
    """

    name: str
    unit: str
    direction: Direction
    kind: Kind
    reference: str
    doc: str
    fn: Callable[..., Any]
    axis: Callable[..., tuple[float, ...]] | None = None
    shared: str | None = None
    from_shared: Callable[[Any], Any] | None = field(default=None, repr=False)
    # Distances: the smallest difference a listener could hear (metric units). Examples whose damage
    # is below it are left out of gap-closed statistics, and "harm" means worse than bypass by more.
    audible_floor: float | None = None


REGISTRY: Registry[MetricSpec] = Registry(
    "metric", describe=lambda spec: f"{spec.kind}, {spec.unit or '-'}: {spec.doc}"
)
_SHARED_ANALYSES: dict[str, Callable[[np.ndarray, float], Any]] = {}


def register(
    name: str,
    *,
    unit: str,
    direction: Direction,
    kind: Kind,
    reference: str,
    doc: str,
    shared: str | None = None,
    from_shared: Callable[[Any], Any] | None = None,
    audible_floor: float | None = None,
):
    """Decorator: register the pure function under ``name`` and return it unchanged."""
    if direction not in ("lower", "higher", None):
        raise ValueError(f"direction must be 'lower', 'higher' or None, not {direction!r}")
    if kind not in ("meter", "distance"):
        raise ValueError(f"kind must be 'meter' or 'distance', not {kind!r}")
    if kind == "distance" and direction != "lower":
        raise ValueError("a distance is always 'lower' is better")

    def wrap(fn: Callable[..., Any]) -> Callable[..., Any]:
        if name in REGISTRY and REGISTRY[name].fn is not fn:
            raise ValueError(f"metric {name!r} is already registered")
        REGISTRY.unregister(name)  # re-registering the same function (a module reload) replaces its spec
        REGISTRY.register(name, MetricSpec(name, unit, direction, kind, reference, doc, fn, None, shared, from_shared,
                                           audible_floor))
        return fn

    return wrap


def register_shared_analysis(name: str, analysis: Callable[[np.ndarray, float], Any]) -> None:
    """Name a single-pass analysis that ``from_shared`` extractors read (see MetricSpec)."""
    _SHARED_ANALYSES[name] = analysis


def get_metric(name: str) -> MetricSpec:
    """The metric's spec; an unknown name raises UnknownName (a KeyError and a UserError) with a suggestion."""
    return REGISTRY.get(name)


def list_meters() -> list[MetricSpec]:
    return [s for s in REGISTRY.values() if s.kind == "meter"]


def list_distances() -> list[MetricSpec]:
    return [s for s in REGISTRY.values() if s.kind == "distance"]


def _to_measurement(spec: MetricSpec, compute: Callable[[], Any]) -> Measurement:
    try:
        raw = compute()
    except Unmeasurable as exc:
        return Measurement(None, spec.unit, exc.reason)
    return _finite_measurement(spec, raw)


def _finite_measurement(spec: MetricSpec, raw: Any) -> Measurement:
    axis = None
    if hasattr(raw, "levels_db") and hasattr(raw, "centres_hz"):  # a band-level vector
        axis = tuple(float(c) for c in raw.centres_hz)
        raw = raw.levels_db
    if np.ndim(raw) == 0:
        value: float | tuple[float, ...] = float(raw)
        finite = math.isfinite(value)
    else:
        value = tuple(float(v) for v in np.asarray(raw, dtype=np.float64).ravel())
        finite = all(math.isfinite(v) for v in value)
    if not finite:
        # A pure function must raise Unmeasurable instead; this is the last fence.
        return Measurement(None, spec.unit, f"internal: {spec.name} produced a non-finite value")
    return Measurement(value, spec.unit, None, axis)


def measure(name: str, *args: Any, **kwargs: Any) -> Measurement:
    """Run metric ``name`` (meter: audio, sr; distance: output, target, sr) as a Measurement."""
    spec = get_metric(name)
    return _to_measurement(spec, lambda: spec.fn(*args, **kwargs))


def measure_all(audio: np.ndarray, sr: float) -> dict[str, Measurement]:
    """Every registered meter on ``audio``; shared analyses (one loudness pass) run once."""
    shared_results: dict[str, tuple[Any, Unmeasurable | None]] = {}
    out: dict[str, Measurement] = {}
    for spec in list_meters():
        if spec.shared is not None and spec.from_shared is not None and spec.shared in _SHARED_ANALYSES:
            if spec.shared not in shared_results:
                try:
                    shared_results[spec.shared] = (_SHARED_ANALYSES[spec.shared](audio, sr), None)
                except Unmeasurable as exc:
                    shared_results[spec.shared] = (None, exc)
            result, failure = shared_results[spec.shared]
            if failure is not None:
                out[spec.name] = Measurement(None, spec.unit, failure.reason)
            else:
                out[spec.name] = _to_measurement(spec, lambda spec=spec, result=result: spec.from_shared(result))
        else:
            out[spec.name] = _to_measurement(spec, lambda spec=spec: spec.fn(audio, sr))
    return out


def as_audio(audio: Any, *, max_channels: int = MAX_CHANNELS_HINT, check_finite: bool = True) -> np.ndarray:
    """Validate the (channels, samples) convention and return a read-only float view/copy.

    Raises ValueError for a wrong shape or dtype (a programming error); raises
    Unmeasurable for NaN/Inf samples, which a model under test can legitimately
    emit. Kernels that see every sample anyway pass ``check_finite=False`` and
    check their own sums, saving a pass over the audio.
    """
    x = np.asarray(audio)
    if x.ndim == 1:
        x = x[np.newaxis, :]
    if x.ndim != 2:
        raise ValueError(f"audio must be (channels, samples), got shape {x.shape}")
    if x.shape[0] == 0:
        raise ValueError("audio has no channels")
    if x.shape[0] > max_channels:
        raise ValueError(
            f"audio has {x.shape[0]} channels; expected (channels, samples) - is it (samples, channels)? transpose it"
        )
    if x.dtype not in (np.float32, np.float64):
        if x.dtype == np.float16:
            x = x.astype(np.float32)
        elif np.issubdtype(x.dtype, np.integer):
            # Integer PCM has no agreed full scale here (16/24/32-bit): refusing beats
            # silently reading 90 dB too loud.
            raise ValueError(f"audio must be float (nominal full scale +-1.0), got integer {x.dtype}; scale it first")
        else:
            raise ValueError(f"audio must be real float32/float64, got {x.dtype}")
    if check_finite and x.size and not np.isfinite(x).all():
        raise Unmeasurable(NON_FINITE_REASON)
    return x


def check_sample_rate(sr: Any) -> float:
    rate = float(sr)
    if not (math.isfinite(rate) and rate > 0):
        raise ValueError(f"sample rate must be a positive number, got {sr!r}")
    return rate

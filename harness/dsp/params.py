"""Typed parameter specs and the processor contract every effect follows.

A processor is a frozen dataclass whose float fields are described, in order, by
``SPECS``. Nested processors (the EQ's bands, a chain's stages) flatten to
dotted names such as ``"peak1.freq_hz"``. Trainers map a model's output vector
onto ``from_vector`` (plain units) or ``from_unit_vector`` ([0, 1] per spec).
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Literal, TypeVar

import numpy as np

Scale = Literal["lin", "log"]
P = TypeVar("P", bound="Processor")


@dataclass(frozen=True)
class ParamSpec:
    """One parameter: name (with unit suffix), range, default and mapping scale."""

    name: str
    min: float
    max: float
    default: float
    scale: Scale = "lin"
    unit: str = ""
    doc: str = ""

    def __post_init__(self) -> None:
        if not self.min < self.max:
            raise ValueError(f"{self.name}: min {self.min} must be below max {self.max}")
        if self.scale not in ("lin", "log"):
            raise ValueError(f"{self.name}: scale must be 'lin' or 'log', got {self.scale!r}")
        if self.scale == "log" and self.min <= 0:
            raise ValueError(f"{self.name}: a log-scaled range must be positive, min is {self.min}")
        if not self.min <= self.default <= self.max:
            raise ValueError(f"{self.name}: default {self.default} outside [{self.min}, {self.max}]")

    def to_unit(self, value: Any) -> Any:
        """Map a value in [min, max] to [0, 1] (geometrically for log scale)."""
        v = np.asarray(value, dtype=np.float64)
        if self.scale == "log":
            u = np.log(v / self.min) / math.log(self.max / self.min)
        else:
            u = (v - self.min) / (self.max - self.min)
        return float(u) if u.ndim == 0 else u

    def from_unit(self, u: Any) -> Any:
        """Inverse of ``to_unit``; 0 and 1 land exactly on min and max, the result never leaves them."""
        w = np.asarray(u, dtype=np.float64)
        if self.scale == "log":
            v = self.min * np.exp(w * math.log(self.max / self.min))
        else:
            v = self.min + w * (self.max - self.min)
        v = np.where(w >= 1.0, self.max, np.clip(v, self.min, self.max))
        return float(v) if v.ndim == 0 else v

    def clip(self, value: Any) -> Any:
        v = np.clip(np.asarray(value, dtype=np.float64), self.min, self.max)
        return float(v) if v.ndim == 0 else v

    def check(self, value: Any) -> float:
        """Return ``value`` as a float or raise ValueError naming the parameter, value and range."""
        try:
            v = float(value)
        except (TypeError, ValueError):
            raise ValueError(f"{self.name}: expected a number, got {value!r}") from None
        if not math.isfinite(v) or not self.min <= v <= self.max:
            raise ValueError(
                f"{self.name}={v!r} is outside its range [{self.min}, {self.max}]"
                + (f" {self.unit}" if self.unit else "")
            )
        return v

    def prefixed(self, prefix: str, default: float | None = None) -> ParamSpec:
        return dataclasses.replace(
            self, name=f"{prefix}.{self.name}", default=self.default if default is None else default
        )


def nested_specs(parts: Mapping[str, Processor]) -> tuple[ParamSpec, ...]:
    """Specs of a processor made of named sub-processors; each part's values become the defaults."""
    out: list[ParamSpec] = []
    for prefix, part in parts.items():
        values = part.to_dict()
        out.extend(s.prefixed(prefix, values[s.name]) for s in part.SPECS)
    return tuple(out)


class Processor:
    """Mixin for frozen-dataclass effects: validation and flat dict/vector I/O from ``SPECS``.

    Float fields are checked against the spec of the same name at construction.
    Fields holding another Processor nest under ``"<field>."``; such fields must
    have a Processor default so the parts can be rebuilt from a flat dict.
    """

    SPECS: ClassVar[tuple[ParamSpec, ...]] = ()
    KIND: ClassVar[str] = ""  # default stage name in a Chain

    def __post_init__(self) -> None:
        specs = {s.name: s for s in self.SPECS}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Processor):
                continue
            object.__setattr__(self, f.name, specs[f.name].check(value))

    # -- flat views ---------------------------------------------------------------------------

    def to_dict(self) -> dict[str, float]:
        flat: dict[str, float] = {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if isinstance(value, Processor):
                flat.update({f"{f.name}.{k}": v for k, v in value.to_dict().items()})
            else:
                flat[f.name] = float(value)
        return {s.name: flat[s.name] for s in self.SPECS}

    def to_vector(self) -> np.ndarray:
        """Values in ``SPECS`` order (float64)."""
        return np.array(list(self.to_dict().values()), dtype=np.float64)

    def to_unit_vector(self) -> np.ndarray:
        return np.array([s.to_unit(v) for s, v in zip(self.SPECS, self.to_vector())], dtype=np.float64)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(s.name for s in cls.SPECS)

    @classmethod
    def defaults(cls) -> dict[str, float]:
        return {s.name: s.default for s in cls.SPECS}

    @classmethod
    def spec(cls, name: str) -> ParamSpec:
        """The spec of one (flat) parameter: the one home of its range, so callers never copy it."""
        for s in cls.SPECS:
            if s.name == name:
                return s
        raise KeyError(f"{cls.__name__} has no parameter {name!r} (known: {', '.join(cls.names())})")

    def clipped(self: P) -> P:
        """The same processor with every parameter clipped into its range (NaN -> the default)."""
        flat = self.to_dict()
        return type(self).from_dict({s.name: s.default if not math.isfinite(flat[s.name]) else s.clip(flat[s.name])
                                     for s in self.SPECS})

    @classmethod
    def from_dict(cls: type[P], params: Mapping[str, Any]) -> P:
        """Build from a complete flat dict; unknown, missing or out-of-range values raise ValueError."""
        check_keys(cls.__name__, cls.names(), params)
        return cls._build({s.name: s.check(params[s.name]) for s in cls.SPECS})

    @classmethod
    def from_vector(cls: type[P], vector: Sequence[float] | np.ndarray) -> P:
        """Build from plain-unit values in ``SPECS`` order."""
        v = _as_vector(cls.__name__, vector, len(cls.SPECS))
        return cls.from_dict(dict(zip(cls.names(), v)))

    @classmethod
    def from_unit_vector(cls: type[P], unit: Sequence[float] | np.ndarray) -> P:
        """Build from values in [0, 1] per spec (the natural target of a sigmoid head)."""
        u = _as_vector(cls.__name__, unit, len(cls.SPECS))
        bad = [f"{n}={x!r}" for n, x in zip(cls.names(), u) if not 0.0 <= x <= 1.0]
        if bad:
            raise ValueError(f"{cls.__name__}: unit values outside [0, 1]: {', '.join(bad)}")
        return cls.from_dict({s.name: s.from_unit(x) for s, x in zip(cls.SPECS, u)})

    @classmethod
    def _build(cls: type[P], flat: Mapping[str, float]) -> P:
        kwargs: dict[str, Any] = {}
        for f in dataclasses.fields(cls):  # type: ignore[arg-type]
            if isinstance(f.default, Processor):
                prefix = f.name + "."
                sub = {k[len(prefix):]: v for k, v in flat.items() if k.startswith(prefix)}
                kwargs[f.name] = type(f.default)._build(sub)  # noqa: SLF001 - a nested Processor's own builder
            else:
                kwargs[f.name] = flat[f.name]
        return cls(**kwargs)

    # -- rendering contract -------------------------------------------------------------------

    def latency_samples(self, sr: float) -> int:
        """Delay a real-time (streaming) implementation adds; ``render`` output is always aligned."""
        return 0

    def render(self, audio: np.ndarray, sr: float) -> np.ndarray:  # pragma: no cover - interface
        raise NotImplementedError


def check_keys(owner: str, names: Sequence[str], params: Mapping[str, Any]) -> None:
    known = set(names)
    unknown = [k for k in params if k not in known]
    missing = [n for n in names if n not in params]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown parameter(s) {unknown}")
        if missing:
            parts.append(f"missing parameter(s) {missing}")
        raise ValueError(f"{owner}: " + "; ".join(parts))


def _as_vector(owner: str, vector: Any, size: int) -> np.ndarray:
    v = np.asarray(vector, dtype=np.float64)
    if v.ndim != 1 or v.shape[0] != size:
        raise ValueError(f"{owner}: expected a vector of {size} values, got shape {v.shape}")
    return v


def check_audio(audio: np.ndarray, sr: float) -> np.ndarray:
    """Validate the project audio convention: (channels, samples), float32/float64, positive sr."""
    if not isinstance(audio, np.ndarray):
        raise TypeError(f"audio must be a numpy array, got {type(audio).__name__}")
    if audio.ndim != 2 or audio.shape[0] < 1:
        raise ValueError(f"audio must have shape (channels, samples), got {audio.shape}")
    if audio.dtype not in (np.float32, np.float64):
        raise ValueError(f"audio must be float32 or float64, got {audio.dtype}")
    if not (isinstance(sr, (int, float, np.integer, np.floating)) and math.isfinite(sr) and sr > 0):
        raise ValueError(f"sample rate must be a positive number, got {sr!r}")
    return audio

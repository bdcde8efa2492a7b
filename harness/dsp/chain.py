"""Processors in series, with one flat parameter namespace; the standard mastering chain."""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from .compressor import Compressor
from .eq import EQ
from .limiter import TruePeakLimiter
from .params import ParamSpec, Processor, _as_vector, check_audio, check_keys, nested_specs


@dataclass(frozen=True, init=False)
class Chain:
    """Any processors applied in order; parameter names are ``"<stage name>.<param>"``.

    Stage names default to each processor's ``KIND`` ("eq", "compressor", "limiter", "gain"),
    numbered from the second repeat on ("gain", "gain_2").
    """

    processors: tuple[Processor, ...]
    names: tuple[str, ...]

    def __init__(self, processors: Iterable[Processor], names: Sequence[str] | None = None) -> None:
        procs = tuple(processors)
        for p in procs:
            if not isinstance(p, Processor):
                raise TypeError(f"Chain stages must be processors, got {type(p).__name__}")
        if names is None:
            names = _default_names(procs)
        names = tuple(names)
        if len(names) != len(procs):
            raise ValueError(f"Chain: {len(procs)} processors but {len(names)} names")
        if len(set(names)) != len(names) or any(not n or "." in n for n in names):
            raise ValueError(f"Chain: stage names must be unique, non-empty and dot-free, got {names}")
        object.__setattr__(self, "processors", procs)
        object.__setattr__(self, "names", names)

    @property
    def SPECS(self) -> tuple[ParamSpec, ...]:  # noqa: N802 - same name as the processors' class attribute
        return nested_specs(dict(zip(self.names, self.processors)))

    def render(self, audio: np.ndarray, sr: float) -> np.ndarray:
        check_audio(audio, sr)
        out = audio
        for p in self.processors:
            out = p.render(out, sr)
        return out.copy() if out is audio else out

    def latency_samples(self, sr: float) -> int:
        return sum(p.latency_samples(sr) for p in self.processors)

    def to_dict(self) -> dict[str, float]:
        return {f"{name}.{k}": v for name, p in zip(self.names, self.processors) for k, v in p.to_dict().items()}

    def to_vector(self) -> np.ndarray:
        return np.array(list(self.to_dict().values()), dtype=np.float64)

    def to_unit_vector(self) -> np.ndarray:
        return np.array([s.to_unit(v) for s, v in zip(self.SPECS, self.to_vector())], dtype=np.float64)

    def with_dict(self, params: Mapping[str, Any]) -> Chain:
        """Same stages, new parameters from a complete flat dict (validated like ``from_dict``)."""
        check_keys("Chain", [s.name for s in self.SPECS], params)
        stages = []
        for name, p in zip(self.names, self.processors):
            prefix = name + "."
            stages.append(type(p).from_dict({k[len(prefix):]: v for k, v in params.items() if k.startswith(prefix)}))
        return Chain(stages, self.names)

    def with_vector(self, vector: Sequence[float] | np.ndarray) -> Chain:
        specs = self.SPECS
        v = _as_vector("Chain", vector, len(specs))
        return self.with_dict({s.name: x for s, x in zip(specs, v)})

    def with_unit_vector(self, unit: Sequence[float] | np.ndarray) -> Chain:
        specs = self.SPECS
        u = _as_vector("Chain", unit, len(specs))
        bad = [f"{s.name}={x!r}" for s, x in zip(specs, u) if not 0.0 <= x <= 1.0]
        if bad:
            raise ValueError(f"Chain: unit values outside [0, 1]: {', '.join(bad)}")
        return self.with_dict({s.name: s.from_unit(x) for s, x in zip(specs, u)})


def _default_names(procs: Sequence[Processor]) -> tuple[str, ...]:
    names: list[str] = []
    for p in procs:
        base = type(p).KIND or type(p).__name__.lower()
        name, k = base, 1
        while name in names:
            k += 1
            name = f"{base}_{k}"
        names.append(name)
    return tuple(names)


_MASTERING_PARTS: dict[str, Processor] = {
    "eq": EQ(),
    "compressor": Compressor(),
    "limiter": TruePeakLimiter(),
}


@dataclass(frozen=True)
class MasteringChain(Processor):
    """The chain the mastering model controls: EQ -> Compressor -> TruePeakLimiter.

    Flat names: ``eq.<band>.<param>``, ``compressor.<param>``, ``limiter.<param>``.
    """

    eq: EQ = _MASTERING_PARTS["eq"]  # type: ignore[assignment]
    compressor: Compressor = _MASTERING_PARTS["compressor"]  # type: ignore[assignment]
    limiter: TruePeakLimiter = _MASTERING_PARTS["limiter"]  # type: ignore[assignment]
    KIND: ClassVar[str] = "mastering"
    SPECS: ClassVar[tuple[ParamSpec, ...]] = nested_specs(_MASTERING_PARTS)

    def __post_init__(self) -> None:
        for name, part in _MASTERING_PARTS.items():
            if not isinstance(getattr(self, name), type(part)):
                raise TypeError(f"MasteringChain.{name} must be a {type(part).__name__}")

    def as_chain(self) -> Chain:
        return Chain([self.eq, self.compressor, self.limiter], ["eq", "compressor", "limiter"])

    def latency_samples(self, sr: float) -> int:
        return self.limiter.latency_samples(sr)

    def render(self, audio: np.ndarray, sr: float) -> np.ndarray:
        """Same result as rendering the three stages in turn; compressor and limiter work in place
        on the EQ's fresh output, sparing two full-size buffers."""
        check_audio(audio, sr)
        out = self.eq.render(audio, sr)
        self.compressor.render_into(out, sr, out)
        self.limiter.render_into(out, sr, out)
        return out

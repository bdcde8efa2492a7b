"""`vst3:PATH`: any VST3 (or AU) plugin as a peer, through Spotify's pedalboard; returns audio.

Optional: ``pip install '.[peers]'`` (pedalboard is GPL-3). The candidate name is
``vst3:<path to the .vst3 bundle>``; `from_name("vst3:/path/Plugin.vst3")` builds it (the registry
resolves such names through it). Parameters can be fixed with ``vst3:PATH?name=value&name=value``
(pedalboard's `load_plugin(parameter_values=...)`; values parsed as numbers or booleans when they
look like one, else kept as strings), which is how an "auto" plugin's mode or a preset's settings
are pinned for a run.

The class also accepts any pedalboard plugin object (`pedalboard.Compressor(...)`,
`pedalboard.Pedalboard([...])`, an `ExternalPlugin` loaded elsewhere) or any callable with
pedalboard's signature ``plugin(audio_float32 (ch, n), sample_rate, reset=True) -> (ch, n)``; the
tests use pedalboard's built-in plugins since no VST3 ships here.

Processing: float32 in, as plugins run; state reset for every clip (``reset=True``); pedalboard
compensates the latency a plugin reports, so the output is aligned; returned as float64 (ch, n),
trimmed or zero-padded to the input's length if a plugin changes it; a mono input to a plugin that
rejects mono runs as identical stereo channels and is folded back. A peer sees the audio only:
it is not told the loudness target or the reference (tasks with those still score it on the same
targets, which is the comparison a user makes). By default it is offered every task; pass `tasks`
to restrict it.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl

import numpy as np

from harness.candidates.base import Candidate, Prediction, Unavailable
from harness.tasks.base import Query

PREFIX = "vst3:"
INSTALL_HINT = "pedalboard not installed: pip install '.[peers]'"


def _parse_value(text: str) -> str | float | bool:
    low = text.strip().lower()
    if low in ("true", "false"):
        return low == "true"
    try:
        v = float(text)
    except ValueError:
        return text
    return v if math.isfinite(v) else text


def parse_name(name: str) -> tuple[str, dict[str, Any]]:
    """``"vst3:PATH?a=1&b=x"`` -> (PATH, {"a": 1.0, "b": "x"})."""
    if not name.startswith(PREFIX):
        raise ValueError(f"a VST3 candidate name starts with {PREFIX!r}, got {name!r}")
    body = name[len(PREFIX):]
    path, _, query = body.partition("?")
    if not path:
        raise ValueError(f"{name!r}: no plugin path after {PREFIX!r}")
    return path, {k: _parse_value(v) for k, v in parse_qsl(query, keep_blank_values=True)}


class Vst3Peer(Candidate):
    name = "vst3"
    kind = "peer"
    description = "a VST3/AU plugin (or any pedalboard plugin) run through pedalboard; returns audio"

    def __init__(self, plugin: str | Path | Callable[..., np.ndarray], *, parameters: Mapping[str, Any] | None = None,
                 tasks: Sequence[str] | None = None, label: str | None = None) -> None:
        self.tasks = tuple(tasks) if tasks is not None else None
        self.parameters = dict(parameters or {})
        if isinstance(plugin, (str, Path)):
            self.path: str | None = str(plugin)
            self._plugin: Callable[..., np.ndarray] | None = None
            self.name = label or f"{PREFIX}{self.path}"
        else:
            if not callable(plugin):
                raise TypeError(f"plugin must be a path or a pedalboard plugin, got {type(plugin).__name__}")
            self.path = None
            self._plugin = plugin
            self.name = label or f"{PREFIX}{type(plugin).__name__}"

    def identity(self) -> dict:
        return {"name": self.name, "path": self.path, "parameters": self.parameters}

    def check_available(self) -> None:
        self.plugin()

    def plugin(self) -> Callable[..., np.ndarray]:
        """The plugin object, loading it from `path` on first use (Unavailable when it cannot be)."""
        if self._plugin is not None:
            return self._plugin
        try:
            import pedalboard
        except ImportError:
            raise Unavailable(INSTALL_HINT) from None
        assert self.path is not None
        if not Path(self.path).exists():
            raise Unavailable(f"VST3 plugin not found: {self.path}")
        try:
            self._plugin = pedalboard.load_plugin(self.path, parameter_values=self.parameters)
        except Exception as exc:  # noqa: BLE001 - pedalboard raises ImportError/RuntimeError/ValueError by plugin
            raise Unavailable(f"cannot load VST3 plugin {self.path}: {exc}") from None
        return self._plugin

    def _run(self, audio: np.ndarray, sr: float) -> np.ndarray:
        plugin = self.plugin()
        x = np.ascontiguousarray(audio, dtype=np.float32)
        try:
            return np.asarray(plugin(x, float(sr), reset=True))
        except (ValueError, RuntimeError):
            if x.shape[0] != 1:
                raise
            y = np.asarray(plugin(np.repeat(x, 2, axis=0), float(sr), reset=True))
            return y.mean(axis=0, keepdims=True)

    def predict(self, query: Query) -> Prediction:
        x = np.nan_to_num(np.asarray(query.audio, dtype=np.float64))
        if x.ndim != 2:
            raise ValueError(f"audio must be (channels, samples), got {x.shape}")
        n = x.shape[1]
        if n == 0:
            return Prediction(audio=x.copy())
        y = self._run(x, query.sample_rate)
        if y.ndim == 1:
            y = y[None, :]
        if y.shape[0] != x.shape[0]:
            y = np.repeat(y, x.shape[0], axis=0) if y.shape[0] == 1 else y[: x.shape[0]]
        out = np.zeros(x.shape, dtype=np.float64)
        m = min(n, y.shape[1])
        out[:, :m] = y[:, :m]
        return Prediction(audio=out)


def from_name(name: str) -> Vst3Peer:
    """Build the candidate for ``vst3:PATH[?param=value&...]``."""
    path, parameters = parse_name(name)
    return Vst3Peer(path, parameters=parameters, label=name)

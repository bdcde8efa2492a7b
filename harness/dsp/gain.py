"""Static gain in dB."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from .params import ParamSpec, Processor, check_audio


@dataclass(frozen=True)
class Gain(Processor):
    """y = x * 10^(gain_db / 20) on every channel."""

    gain_db: float = 0.0
    KIND: ClassVar[str] = "gain"
    SPECS: ClassVar[tuple[ParamSpec, ...]] = (
        ParamSpec("gain_db", -60.0, 24.0, 0.0, "lin", "dB", "static gain"),
    )

    def render(self, audio: np.ndarray, sr: float) -> np.ndarray:
        check_audio(audio, sr)
        if self.gain_db == 0.0:
            return audio.copy()
        # computed in float64 and rounded once, like the other processors
        return (audio.astype(np.float64) * 10.0 ** (self.gain_db / 20.0)).astype(audio.dtype, copy=False)

"""The plugins DAWG's models control, as pure renderers: ``render(audio, sr) -> audio``.

Audio is (channels, samples) float32/float64; output has the input's shape and dtype and is
aligned with it sample by sample. Each processor is a frozen dataclass with typed ``SPECS``
and flat dict / vector I/O (see ``params``). Formulas and ranges: docs/dsp.md.
"""

from .biquad import frequency_response, highshelf, lowshelf, magnitude_db, peaking
from .chain import Chain, MasteringChain
from .compressor import Compressor, gain_computer_db
from .eq import EQ, HighShelf, LowShelf, Peak
from .gain import Gain
from .limiter import TruePeakLimiter, interval_true_peaks
from .params import ParamSpec, Processor, check_audio

__all__ = [
    "ParamSpec",
    "Processor",
    "check_audio",
    "EQ",
    "LowShelf",
    "Peak",
    "HighShelf",
    "Compressor",
    "gain_computer_db",
    "TruePeakLimiter",
    "interval_true_peaks",
    "Gain",
    "Chain",
    "MasteringChain",
    "peaking",
    "lowshelf",
    "highshelf",
    "frequency_response",
    "magnitude_db",
]

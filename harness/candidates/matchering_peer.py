"""`matchering`: the open-source reference-mastering tool (Matchering 2, sergree/matchering) as a peer.

Optional and GPL-3: install with ``pip install '.[peers]'``; without it the candidate reports
Unavailable and the harness records why. Only the `mastering` task's `reference_based` variant:
Matchering needs a reference and produces audio, not DAWG parameters.

How it runs: Matchering's own pipeline (`matchering.stages.main`: level matching on the loudest
pieces, mid/side FIR matching EQ, RMS correction, its "Hyrax" brickwall limiter) on
`query.audio` with `query.reference`, in memory (no temp files; the file loader and its checks are
skipped, the same conditions are handled here):
- at the query's sample rate (Config.internal_sample_rate = sr: its parameters are in ms and Hz,
  so nothing is resampled and the output stays sample-aligned with the input);
- mono input is processed as identical stereo channels and folded back to one; other channel
  counts raise ValueError (Matchering is stereo-only);
- Matchering's output lags its input by exactly one sample (an even-length FIR centred by
  ``fftconvolve(..., "same")``); the output is advanced by that sample, so it is aligned;
- `allow_equality=True`, so a reference identical to the input is not an error;
- minimum length: Matchering rejects clips of <= fft_size (4096) samples (85 ms at 48 kHz). A
  shorter input or reference is looped (tiled) to MIN_SAMPLES = 4097 samples for the analysis
  and the output is cut back to the input's length; a clip this short is documented as
  out of scope for a mastering peer rather than refused;
- digital silence (input or reference) returns the input unchanged: there is nothing to match.
The output is what Matchering delivers: level-matched to the reference's RMS and limited near
0 dBFS sample peak by its own limiter. It is not told `target_lufs` / `ceiling_dbtp` (Matchering
has no such settings), so its loudness lands where the reference's is, and its peaks may exceed
the task's true-peak ceiling: that is the tool as users get it.
Importing matchering triggers one scipy DeprecationWarning (``scipy.ndimage.filters``); that
warning, and only it, is filtered.
"""

from __future__ import annotations

import warnings

import numpy as np

from harness.candidates.base import Candidate, Prediction, Unavailable
from harness.tasks.base import Query

INSTALL_HINT = "matchering not installed: pip install '.[peers]'"
FFT_SIZE = 4096  # matchering.Config default
MIN_SAMPLES = FFT_SIZE + 1
# Matchering's matching FIR is ifftshift(irfft(.)) of even length (peak at fft_size/2) applied with
# fftconvolve(..., "same") (centre at fft_size/2 - 1): its output lags the input by one sample.
DELAY_SAMPLES = 1


def _import_matchering():
    """(matchering, matchering.stages), or Unavailable saying whether it is missing or installed but broken."""
    try:
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*scipy\.ndimage\.filters.*")
            import matchering
            from matchering import stages
    except ModuleNotFoundError as exc:
        if exc.name == "matchering":
            raise Unavailable(INSTALL_HINT) from None
        raise Unavailable(f"matchering is installed but cannot be imported: {exc}") from None
    except Exception as exc:  # noqa: BLE001 - any failure inside a broken install is reported, not raised
        raise Unavailable(f"matchering is installed but cannot be imported: {type(exc).__name__}: {exc}") from None
    return matchering, stages


def _tile(x: np.ndarray, n: int) -> np.ndarray:
    reps = -(-n // x.shape[1])
    return np.tile(x, (1, reps))[:, : max(n, x.shape[1])]


class Matchering(Candidate):
    name = "matchering"
    kind = "peer"
    tasks = ("mastering",)
    description = "Matchering 2 (GPL-3, optional): reference-based matching EQ, level and limiter; returns audio"

    def supports(self, task: str, variant: str | None) -> bool:
        return task == "mastering" and variant == "reference_based"

    def check_available(self) -> None:
        _import_matchering()

    def predict(self, query: Query) -> Prediction:
        if query.reference is None:
            raise ValueError("matchering needs a reference (the mastering task's reference_based variant)")
        matchering, stages = _import_matchering()
        x = np.nan_to_num(np.asarray(query.audio, dtype=np.float64))
        ref = np.nan_to_num(np.asarray(query.reference, dtype=np.float64))
        if x.ndim != 2 or x.shape[0] not in (1, 2) or ref.ndim != 2 or ref.shape[0] not in (1, 2):
            raise ValueError(
                f"matchering handles mono or stereo (channels, samples) audio, got {x.shape} / {ref.shape}"
            )
        n_channels, n = x.shape
        if n == 0 or not np.any(x) or not np.any(ref):
            return Prediction(audio=np.asarray(query.audio, dtype=np.float64).copy())
        stereo = np.repeat(x, 2, axis=0) if n_channels == 1 else x
        ref2 = np.repeat(ref, 2, axis=0) if ref.shape[0] == 1 else ref
        # one trailing sample so the delay compensation below still yields n samples
        stereo = np.concatenate([stereo, np.zeros((2, DELAY_SAMPLES))], axis=1)
        stereo, ref2 = _tile(stereo, MIN_SAMPLES), _tile(ref2, MIN_SAMPLES)
        config = matchering.Config(internal_sample_rate=int(query.sample_rate), allow_equality=True, fft_size=FFT_SIZE)
        with warnings.catch_warnings():
            warnings.filterwarnings("ignore", category=DeprecationWarning, message=r".*scipy\.ndimage\.filters.*")
            result, _, _ = stages.main(np.ascontiguousarray(stereo.T), np.ascontiguousarray(ref2.T), config,
                                       need_default=True)
        out = np.asarray(result, dtype=np.float64).T[:, DELAY_SAMPLES : DELAY_SAMPLES + n]
        if n_channels == 1:
            out = out.mean(axis=0, keepdims=True)
        return Prediction(audio=np.ascontiguousarray(out))

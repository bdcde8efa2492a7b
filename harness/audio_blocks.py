"""Reading an audio file block by block, with `read_audio`'s checks, so a long file never sits in memory whole.

`read_audio` decodes a file into one array: 1.4 GB of float32 for an hour of stereo 48 kHz, before any
meter runs. Meters that carry their state from block to block (harness/streaming_analysis.py) read it
here instead, a few MB at a time. Same validation (`audio_info` for the header), same messages.
Blocks are float32 (channels, frames) at the file's own rate; mono stays mono.

One difference in *when* a problem is reported: a file with more than two channels is refused before
decoding (read_audio decodes it first), and NaN/Inf is refused at the block that holds it; so a file
with two problems at once (say, truncated and 3-channel) may be refused for the other one.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import soundfile as sf

# The private helpers keep the block reader's messages word for word those of read_audio.
from harness.audio import MAX_CHANNELS, AudioError, _libsndfile_reason, _quiet_c_stderr, audio_info

# 2**18 frames: ~5.5 s at 48 kHz, 2 MiB of float32 stereo. Large enough that per-block overhead
# (Python calls, numba dispatch, one Welch batch) is small; small enough to be noise next to the interpreter.
DEFAULT_BLOCK_FRAMES = 1 << 18


class AudioBlocks:
    """A validated audio file: header facts now (`sample_rate`, `channels`), samples on iteration.

    Iterating decodes the file once, yielding float32 (channels, frames) blocks of `block_frames`
    (the last may be shorter); afterwards `frames_read` is the number of frames decoded. Every
    problem is an AudioError: a bad header at construction, the rest while iterating (corrupt data,
    NaN/Inf samples, and - after the last block - truncation and zero length).
    """

    def __init__(self, path: str | os.PathLike, *, block_frames: int = DEFAULT_BLOCK_FRAMES):
        if block_frames < 1:
            raise ValueError(f"block_frames must be >= 1, got {block_frames}")
        self.path = Path(path)
        self.block_frames = int(block_frames)
        info = audio_info(self.path)
        self.sample_rate = int(info.samplerate)
        self.channels = int(info.channels)
        self.header_frames = int(info.frames)
        self.frames_read = 0
        if self.channels > MAX_CHANNELS:
            # Refused before decoding: analysing a downmix would change the loudness being measured.
            raise AudioError(
                self.path,
                f"{self.channels} channels; DAWG Bench reads mono or stereo "
                "(downmix first, e.g. `sox in.wav -c 2 out.wav`)",
            )

    def __iter__(self) -> Iterator[np.ndarray]:
        p = self.path
        self.frames_read = 0
        try:
            with _quiet_c_stderr():
                f = sf.SoundFile(str(p))
        except (sf.LibsndfileError, RuntimeError) as exc:
            raise AudioError(p, f"corrupt or truncated audio ({_libsndfile_reason(exc)})") from None
        with f:
            while True:
                try:
                    with _quiet_c_stderr():  # only around the read: the consumer's stderr stays its own
                        data = f.read(self.block_frames, dtype="float32", always_2d=True)
                except (sf.LibsndfileError, RuntimeError) as exc:
                    raise AudioError(p, f"corrupt or truncated audio ({_libsndfile_reason(exc)})") from None
                if data.shape[0] == 0:
                    break
                if not np.isfinite(data).all():
                    raise AudioError(p, "contains NaN or Inf samples")
                self.frames_read += data.shape[0]
                yield np.ascontiguousarray(data.T)
                if data.shape[0] < self.block_frames:
                    # A short read is the end of what the decoder can give: read_audio's single read
                    # stops there too, so later data (a decoder resync) is not counted either.
                    break
        if self.header_frames > 0 and self.frames_read < 0.99 * self.header_frames:
            raise AudioError(
                p, f"truncated: header promises {self.header_frames} frames, only {self.frames_read} decoded"
            )
        if self.frames_read == 0:
            raise AudioError(p, "zero length: the file holds no audio samples")


def iter_blocks(path: str | os.PathLike, *, block_frames: int = DEFAULT_BLOCK_FRAMES) -> Iterator[np.ndarray]:
    """float32 (channels, frames) blocks of a file; the header is checked now (AudioError), the data as read."""
    return iter(AudioBlocks(path, block_frames=block_frames))

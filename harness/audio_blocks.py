"""Reading an audio file block by block, with `read_audio`'s checks, so a long file never sits in memory whole.

`read_audio` decodes a file into one array: 1.4 GB of float32 for an hour of stereo 48 kHz, before any
meter runs. Meters that carry their state from block to block (harness/streaming_analysis.py) read it
here instead, a few MB at a time. Same validation (`audio_info` for the header), same messages.
Blocks are float32 (channels, frames) at the file's own rate; mono stays mono.

One difference in *when* a problem is reported: a file with more than two channels is refused before
decoding (read_audio decodes it first), and NaN/Inf is refused at the block that holds it; so a file
with two problems at once (say, truncated and 3-channel) may be refused for the other one.

Also here: `resample_blocks` (a block stream resampled as one signal) and `read_spans` (parts of a file,
by seeking where that is exact), so a tool can choose what it needs in one streaming pass, then read just that.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
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


def resample_blocks(blocks: Iterable[np.ndarray], sr_in: int, sr_out: int) -> Iterator[np.ndarray]:
    """`blocks` (channels, frames) resampled from `sr_in` to `sr_out` as one continuous signal.

    soxr's streaming resampler with `harness.audio.resample`'s settings (VHQ): the concatenated output
    equals resampling the whole signal at once, sample for sample (tests/test_corpus_folder_memory.py
    checks it), so a long file can be resampled without holding it. Output blocks vary in length (the
    filter's delay holds some back until the end); the same rate in and out passes blocks through."""
    import soxr

    if sr_in == sr_out:
        yield from blocks
        return
    stream = None
    for block in blocks:
        if stream is None:
            stream = soxr.ResampleStream(sr_in, sr_out, block.shape[0], dtype=block.dtype, quality="VHQ")
            channels, dtype = block.shape[0], block.dtype
        yield np.ascontiguousarray(stream.resample_chunk(np.ascontiguousarray(block.T)).T)
    if stream is not None:  # flush what the filter still holds
        yield np.ascontiguousarray(stream.resample_chunk(np.zeros((0, channels), dtype), last=True).T)


# Subtypes whose frames libsndfile seeks to exactly: fixed-size frames, found by arithmetic. FLAC seeks
# exactly too (libFLAC decodes the frame that holds the sample). Vorbis and Opus land off the frame near
# the end or anywhere (measured with libsndfile 1.2.2), so lossy files are decoded from the start instead.
EXACT_SEEK_SUBTYPES = frozenset({"PCM_S8", "PCM_U8", "PCM_16", "PCM_24", "PCM_32", "FLOAT", "DOUBLE", "ULAW", "ALAW"})


def read_spans(path: str | os.PathLike, spans: list[tuple[int, int]]) -> list[np.ndarray]:
    """float32 (channels, n) frames [start, end) of a file for each (start, end) in `spans`, decoding only
    those where the format can seek exactly (else one pass from the start up to the last span's end).

    For a file already read through once (so its checks passed): n is smaller than end - start only where
    the file ends first. Problems are AudioErrors with read_audio's messages, as above."""
    p = Path(path)
    info = audio_info(p)
    if info.format == "FLAC" or info.subtype in EXACT_SEEK_SUBTYPES:
        return [_read_at(p, start, end - start) for start, end in spans]
    parts: list[list[np.ndarray]] = [[] for _ in spans]
    last = max((end for _, end in spans), default=0)
    pos = 0
    for block in iter_blocks(p):
        n = block.shape[1]
        for part, (start, end) in zip(parts, spans):
            if max(start, pos) < min(end, pos + n):
                part.append(block[:, max(start, pos) - pos : min(end, pos + n) - pos])
        pos += n
        if pos >= last:
            break
    return [np.concatenate(part, axis=1) if part else np.zeros((info.channels, 0), np.float32) for part in parts]


def _read_at(p: Path, start_frame: int, frames: int) -> np.ndarray:
    try:
        with _quiet_c_stderr():
            with sf.SoundFile(str(p)) as f:
                f.seek(start_frame)
                data = f.read(frames, dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(p, f"corrupt or truncated audio ({_libsndfile_reason(exc)})") from None
    if not np.isfinite(data).all():
        raise AudioError(p, "contains NaN or Inf samples")
    return np.ascontiguousarray(data.T)

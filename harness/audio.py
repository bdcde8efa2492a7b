"""Reading, resampling and writing audio safely.

Every problem with an input file becomes one `AudioError` whose message names the file and the
problem, so commands can print one line per bad file and go on with the rest.

Audio in DAWG Bench is a float array shaped (channels, samples), nominal full scale ±1.0.
"""

from __future__ import annotations

import contextlib
import os
import stat
import struct
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import soundfile as sf

from harness.atomic import write_bytes_atomic

MIN_SAMPLE_RATE = 8_000
MAX_SAMPLE_RATE = 192_000
MAX_CHANNELS = 2
AUDIO_EXTENSIONS = (".wav", ".wave", ".flac", ".ogg", ".oga", ".opus", ".mp3", ".aif", ".aiff")


class AudioError(ValueError):
    """A file that cannot be used as audio. `str(err)` is '<path>: <problem>'."""

    def __init__(self, path: str | os.PathLike, problem: str):
        self.path = str(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}")


@dataclass(frozen=True)
class Audio:
    samples: np.ndarray  # (channels, samples) float32
    sample_rate: int
    path: str | None = None

    @property
    def channels(self) -> int:
        return self.samples.shape[0]

    @property
    def duration_s(self) -> float:
        return self.samples.shape[1] / self.sample_rate


def read_audio(
    path: str | os.PathLike,
    *,
    sample_rate: int | None = None,
    stereo: bool = False,
) -> Audio:
    """Read WAV/FLAC/OGG/MP3/AIFF (8–192 kHz, mono or stereo, int or float).

    `sample_rate` resamples to that rate (band-limited, soxr VHQ); `stereo=True` duplicates mono
    into two channels. Files with more than two channels are refused rather than silently
    downmixed, because a downmix changes loudness and the harness compares loudness.
    Raises AudioError for anything that is not usable audio.
    """
    p = Path(path)
    info = audio_info(p)
    try:
        with _quiet_c_stderr():
            data, sr = sf.read(str(p), dtype="float32", always_2d=True)
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(p, f"corrupt or truncated audio ({_libsndfile_reason(exc)})") from None
    if info.frames > 0 and data.shape[0] < 0.99 * info.frames:
        raise AudioError(
            p, f"truncated: header promises {info.frames} frames, only {data.shape[0]} decoded"
        )
    if data.shape[0] == 0:
        raise AudioError(p, "zero length: the file holds no audio samples")
    if not MIN_SAMPLE_RATE <= sr <= MAX_SAMPLE_RATE:
        raise AudioError(p, f"sample rate {sr} Hz is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz")
    if data.shape[1] > MAX_CHANNELS:
        raise AudioError(
            p,
            f"{data.shape[1]} channels; DAWG Bench reads mono or stereo "
            "(downmix first, e.g. `sox in.wav -c 2 out.wav`)",
        )
    if not np.isfinite(data).all():
        raise AudioError(p, "contains NaN or Inf samples")
    samples = np.ascontiguousarray(data.T)
    if stereo and samples.shape[0] == 1:
        samples = np.repeat(samples, 2, axis=0)
    if sample_rate is not None and sample_rate != sr:
        samples = resample(samples, sr, sample_rate)
        sr = sample_rate
    return Audio(samples=samples, sample_rate=int(sr), path=str(p))


def audio_info(path: str | os.PathLike):
    """libsndfile's header info for a file that can be decoded, else AudioError with the reason.

    Checks what would otherwise hang (a FIFO), mislead ("System error" for a permission problem) or
    pass silently (a truncated WAV). Shared by whole-file and block-wise readers."""
    p = Path(path)
    if p.is_symlink() and not p.exists():
        raise AudioError(p, "broken or looping symbolic link")
    if not p.exists():
        raise AudioError(p, "file not found")
    if p.is_dir():
        raise AudioError(p, "is a directory, not an audio file")
    mode = p.stat().st_mode
    if not stat.S_ISREG(mode):
        raise AudioError(p, "not a regular file (a FIFO, socket or device); DAWG Bench reads files")
    if not os.access(p, os.R_OK):
        raise AudioError(p, "permission denied")
    if p.stat().st_size == 0:
        raise AudioError(p, "empty file (0 bytes)")
    try:
        with _quiet_c_stderr():
            info = sf.info(str(p))
    except (sf.LibsndfileError, RuntimeError) as exc:
        raise AudioError(p, f"not a readable audio file ({_libsndfile_reason(exc)})") from None
    _check_truncated_wav(p, info)
    if not MIN_SAMPLE_RATE <= info.samplerate <= MAX_SAMPLE_RATE:
        raise AudioError(p, f"sample rate {info.samplerate} Hz is outside {MIN_SAMPLE_RATE}–{MAX_SAMPLE_RATE} Hz")
    return info


def resample(samples: np.ndarray, sr_in: int, sr_out: int) -> np.ndarray:
    """Band-limited resampling (soxr, very high quality: linear phase, >140 dB stopband)."""
    import soxr

    if sr_in == sr_out:
        return samples
    out = soxr.resample(np.ascontiguousarray(samples.T), sr_in, sr_out, quality="VHQ")
    return np.ascontiguousarray(np.asarray(out, dtype=samples.dtype).T)


def write_wav(path: str | os.PathLike, samples: np.ndarray, sample_rate: int, subtype: str = "FLOAT") -> Path:
    """Write (channels, samples) audio as WAV atomically: a reader never sees a half-written file.

    The bytes depend on the audio alone (libsndfile would add a PEAK chunk with a timestamp), so
    the same clip always gives a byte-identical file. `subtype`: FLOAT (32-bit), PCM_16 or PCM_24.
    """
    x = np.asarray(samples)
    if x.ndim == 1:
        x = x[None, :]
    interleaved = np.ascontiguousarray(x.T)
    if subtype == "FLOAT":
        fmt_tag, width, data = 3, 4, interleaved.astype("<f4").tobytes()
    elif subtype in ("PCM_16", "PCM_24"):
        bits = 16 if subtype == "PCM_16" else 24
        scale = 2 ** (bits - 1)
        ints = np.clip(np.round(interleaved.astype(np.float64) * scale), -scale, scale - 1).astype("<i4")
        fmt_tag, width = 1, bits // 8
        data = ints.astype("<i2").tobytes() if bits == 16 else ints.view(np.uint8).reshape(-1, 4)[:, :3].tobytes()
    else:
        raise ValueError(f"unsupported WAV subtype {subtype!r} (FLOAT, PCM_16, PCM_24)")
    channels = x.shape[0]
    fmt = struct.pack("<HHIIHH", fmt_tag, channels, sample_rate, sample_rate * channels * width, channels * width,
                      width * 8)
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(data)) + data
    return write_bytes_atomic(path, b"RIFF" + struct.pack("<I", len(body)) + body)


def find_audio_files(root: str | os.PathLike) -> list[Path]:
    """Every entry under `root` (recursively, not following directory links, so a link loop cannot
    recurse) whose name has a supported audio extension, sorted. Entries that are not readable
    regular files (FIFOs, devices, broken or looping links) are included, so the reader rejects
    them with a reason instead of silently leaving them out."""
    root = Path(root)
    found = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        for name in files:  # a folder named like audio is walked into, not read
            if Path(name).suffix.lower() in AUDIO_EXTENSIONS:
                found.append(Path(folder) / name)
    return sorted(found)


# libsndfile's words for problems it does not name plainly.
LIBSNDFILE_PLAIN = {"SF_INFO struct incomplete": "invalid header: a sample rate or channel count of 0",
                    "System error": "the system refused to read it (permissions or an I/O error)"}


def _libsndfile_reason(exc: Exception) -> str:
    msg = str(exc)
    # libsndfile prefixes "Error opening '<path>': " — the path is already in our message.
    if ": " in msg and msg.startswith("Error opening"):
        msg = msg.split(": ", 1)[1]
    msg = msg.strip().rstrip(".")
    for words, plain in LIBSNDFILE_PLAIN.items():
        if words in msg:
            return plain
    return msg or type(exc).__name__


def _check_truncated_wav(p: Path, info) -> None:
    """libsndfile silently shortens a truncated WAV; compare the data chunk's size with the file."""
    if info.format != "WAV":
        return
    size = p.stat().st_size
    with p.open("rb") as f:
        if f.read(4) != b"RIFF":
            return
        f.read(4)
        if f.read(4) != b"WAVE":
            return
        pos = 12
        while pos + 8 <= size:
            f.seek(pos)
            header = f.read(8)
            if len(header) < 8:
                return
            chunk_id, chunk_size = header[:4], struct.unpack("<I", header[4:])[0]
            if chunk_id == b"data":
                available = size - pos - 8
                if chunk_size != 0xFFFFFFFF and chunk_size > available:
                    raise AudioError(
                        p, f"truncated: data chunk declares {chunk_size} bytes, only {available} present"
                    )
                return
            pos += 8 + chunk_size + (chunk_size & 1)


@contextlib.contextmanager
def _quiet_c_stderr():
    """mpg123 inside libsndfile prints resync chatter straight to fd 2; keep the user's terminal clean."""
    try:
        saved = os.dup(2)
    except OSError:
        yield
        return
    with open(os.devnull, "wb") as devnull:
        os.dup2(devnull.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)

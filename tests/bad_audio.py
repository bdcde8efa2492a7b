"""A folder of broken inputs, one per failure mode that audio I/O must name (shared by several tests)."""

from pathlib import Path

import numpy as np
import soundfile as sf

from tests.conftest import sine


def make_bad_files(folder: Path) -> dict[str, str]:
    """Write one file per failure mode; return {file name: words the error message must contain}."""
    folder.mkdir(parents=True, exist_ok=True)
    x = sine(440, 1.0, 48000, 0.5)
    expected: dict[str, str] = {}

    (folder / "not_audio.wav").write_text("this is a text file pretending to be audio\n")
    expected["not_audio.wav"] = "not a readable audio file"

    (folder / "empty.wav").write_bytes(b"")
    expected["empty.wav"] = "empty file"

    sf.write(folder / "zero_frames.wav", np.zeros((0, 2)), 48000)
    expected["zero_frames.wav"] = "zero length"

    sf.write(folder / "full.wav", x.T, 48000, subtype="PCM_16")
    data = (folder / "full.wav").read_bytes()
    (folder / "truncated.wav").write_bytes(data[: len(data) // 2])
    expected["truncated.wav"] = "truncated"
    (folder / "full.wav").unlink()

    sf.write(folder / "full.flac", x.T, 48000)
    data = (folder / "full.flac").read_bytes()
    (folder / "truncated.flac").write_bytes(data[: len(data) // 2])
    expected["truncated.flac"] = "truncated"
    (folder / "full.flac").unlink()

    (folder / "header_only.wav").write_bytes(data[:0] + b"RIFF\x24\x00\x00\x00WAVEfmt ")
    expected["header_only.wav"] = "not a readable audio file"

    y = x.copy()
    y[0, 100] = np.nan
    sf.write(folder / "nan.wav", y.T, 48000, subtype="FLOAT")
    expected["nan.wav"] = "NaN or Inf"

    y = x.copy()
    y[1, 5] = np.inf
    sf.write(folder / "inf.wav", y.T, 48000, subtype="FLOAT")
    expected["inf.wav"] = "NaN or Inf"

    import struct

    fmt = struct.pack("<HHIIHH", 1, 2, 0, 0, 4, 16)  # PCM, 2 channels, sample rate 0
    pcm = np.zeros(400, dtype="<i2").tobytes()
    body = b"WAVE" + b"fmt " + struct.pack("<I", len(fmt)) + fmt + b"data" + struct.pack("<I", len(pcm)) + pcm
    (folder / "rate_zero.wav").write_bytes(b"RIFF" + struct.pack("<I", len(body)) + body)
    expected["rate_zero.wav"] = "sample rate"

    (folder / "a_folder.wav").mkdir()
    expected["a_folder.wav"] = "is a directory"

    return expected

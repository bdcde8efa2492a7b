"""Clips from a folder of the user's audio.

Rule (documented in README): every readable file (recursive; any format harness.audio reads) is
resampled to the suite's rate as stereo; its loudest non-overlapping windows of `clip_seconds`
(window starts on a 1 s grid, level = mean power) become clips, at most CLIPS_PER_FILE per file,
skipping windows below SILENCE_DBFS. Files are split into train/validation/test as whole files —
never by clip, so no song leaks across splits. Unusable files are listed with their reason.

Memory: a file is never held whole (an hour of stereo once took 5.6 GB). One pass decodes it in blocks,
resampled as a stream, keeping only the running power at the 1 s grid, which is all the choice needs; then
each chosen window is read back alone (plus a margin for the resampler) and cut. The clips are those of
resampling the whole file: the same samples at the suite's rate, float32 rounding apart at others.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from harness.atomic import write_json_atomic
from harness.audio import AudioError, find_audio_files, resample, write_wav
from harness.audio_blocks import AudioBlocks, read_spans, resample_blocks
from harness.corpus.manifest import ClipRecord, Manifest, assign_splits, audio_sha256
from harness.errors import UserError
from harness.paths import subdir
from harness.progress import Progress
from harness.suite_schema import CorpusConfig

CLIPS_PER_FILE = 3
SILENCE_DBFS = -60.0
# 2: clips cut in bounded memory (see the module's docstring). A file at the suite's rate gives the same
# clips as version 1; one at another rate has each window resampled from an excerpt instead of the whole
# file, which can move samples by float32 rounding (~1e-8) - different bytes, so a different cache key.
FOLDER_VERSION = 2
# Real signal resampled either side of a window, then cut off: soxr VHQ's filter response is spent well
# within it, so the window matches the whole file resampled. Whole seconds because the excerpt must start
# where the input and output sample grids meet, as the window does (both rates fit a second exactly).
RESAMPLE_MARGIN_S = 1


def _size_and_mtime(path: Path) -> tuple[int, int]:
    """For the cache key; a broken link has none (the reader rejects it with its reason)."""
    try:
        st = path.stat()
    except OSError:
        return -1, 0
    return st.st_size, st.st_mtime_ns


def build_folder_corpus(suite_name: str, cfg: CorpusConfig, root: Path, *, progress: Progress | None = None,
                        test_only: bool = False) -> Manifest:
    """Clips from `root`; `test_only` puts every file in the test split (a recorded test set, never trained on)."""
    if not root.exists():
        raise UserError(f"{root}: corpus folder not found")
    if not root.is_dir():
        raise UserError(f"{root}: --corpus needs a folder, this is a file")
    files = find_audio_files(root)
    listing = [(f.relative_to(root).as_posix(), *_size_and_mtime(f)) for f in files]
    recipe = {"kind": "folder", "folder_version": FOLDER_VERSION, "root": str(root.resolve()),
              "files": listing, "corpus": cfg.model_dump(), "test_only": test_only}
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    out = subdir("corpus") / key
    if (out / "manifest.json").exists():
        try:
            return Manifest.from_json(json.loads((out / "manifest.json").read_text()), str(out))
        except (ValueError, KeyError, TypeError):
            pass
    clips: list[ClipRecord] = []
    rejected: list[dict[str, str]] = []
    for n, path in enumerate(files):
        rel = path.relative_to(root).as_posix()
        try:
            windows = _cut_windows(path, cfg)  # every window read before any is written: a bad file adds none
        except AudioError as exc:
            rejected.append({"file": str(path), "reason": exc.problem})
        except ValueError as exc:
            rejected.append({"file": str(path), "reason": str(exc)})
        else:
            for start, clip in windows:
                clips.append(_write_clip(out, clip, cfg, rel, start))
        if progress:
            progress(n + 1, len(files))
    if not clips:
        reasons = "; ".join(f"{Path(r['file']).name}: {r['reason']}" for r in rejected[:5])
        raise UserError(f"{root}: no usable audio ({len(files)} audio files found{'; ' + reasons if reasons else ''})")
    # Split whole usable files (never clips), so no song leaks across splits.
    usable = sorted({c.origin for c in clips})
    splits = ["test"] * len(usable) if test_only else assign_splits(len(usable), cfg.split, cfg.seed)
    split_of = dict(zip(usable, splits))
    clips = [replace(c, split=split_of[c.origin]) for c in clips]
    for c in clips:
        write_json_atomic(out / "records" / f"{c.id}.json", asdict(c))
    manifest = Manifest(suite=suite_name, recipe=recipe, clips=tuple(clips), rejected=tuple(rejected), folder=str(out))
    write_json_atomic(out / "manifest.json", manifest.to_json())
    return manifest


def _cut_windows(path: Path, cfg: CorpusConfig) -> list[tuple[int, np.ndarray]]:
    """(start frame, stereo float32 clip) at the suite's rate for each of the file's loudest windows, as
    if the whole file were resampled and sliced. AudioError (read_audio's messages) or ValueError (too
    short, silence) for a file that gives none."""
    sr = cfg.sample_rate
    reader = AudioBlocks(path)
    grid = _GridPower(sr, cfg.clip_seconds)
    for block in resample_blocks(reader, reader.sample_rate, sr):  # resampled as a stream: see its docstring
        grid.add(block)
    starts = grid.loudest(CLIPS_PER_FILE)
    file_sr, length = reader.sample_rate, grid.length
    if file_sr == sr:
        clips = read_spans(path, [(start, start + length) for start in starts])
    else:
        # Each window from an excerpt that starts RESAMPLE_MARGIN_S before it (on a whole second, where the
        # sample grids meet) and ends as much after it, both clamped to the file.
        firsts_s = [max(0, start // sr - RESAMPLE_MARGIN_S) for start in starts]
        ends = [min(reader.frames_read, -(-(start + length) * file_sr // sr) + RESAMPLE_MARGIN_S * file_sr)
                for start in starts]  # -(-a // b): a / b rounded up
        excerpts = read_spans(path, [(first_s * file_sr, end) for first_s, end in zip(firsts_s, ends)])
        clips = []
        for excerpt, start, first_s in zip(excerpts, starts, firsts_s):
            skip = start - first_s * sr  # the margin before the window, at the suite's rate
            clips.append(resample(excerpt, file_sr, sr)[:, skip : skip + length])
    for start, clip in zip(starts, clips):
        if clip.shape[1] != length:  # the first pass read these frames: the file changed since
            raise AudioError(path, f"changed while being read: {clip.shape[1]} of {length} frames at {start / sr:g} s")
    return [(start, np.repeat(clip, 2, axis=0) if clip.shape[0] == 1 else clip) for start, clip in zip(starts, clips)]


def loudest_windows(samples: np.ndarray, sr: int, clip_seconds: float, limit: int = CLIPS_PER_FILE) -> list[int]:
    """Start samples of the loudest non-overlapping windows on a 1 s grid; ValueError if none is usable."""
    grid = _GridPower(sr, clip_seconds)
    grid.add(samples)
    return grid.loudest(limit)


class _GridPower:
    """The running sum of power (per frame, mean over channels) where a window on the 1 s grid starts or ends.

    Fed block by block, it keeps two numbers per second of audio, where a running sum over the whole
    signal would be 8 bytes a frame. np.cumsum adds one frame at a time, carried on from the previous
    block's total, so every sum - and so every window's level - is the whole-signal one bit for bit.
    A mono block gives the power of the duplicated stereo signal: (x**2 + x**2) / 2 == x**2 exactly."""

    def __init__(self, sr: int, clip_seconds: float):
        self.sr, self.clip_seconds = sr, clip_seconds
        self.length = int(round(clip_seconds * sr))  # frames in a window
        self.frames = 0
        self.total = 0.0
        self.before_start: list[float] = []  # sum over frames [0, k * sr), k = 0, 1, ...
        self.before_end: list[float] = []  # sum over frames [0, k * sr + length)

    def add(self, block: np.ndarray) -> None:
        power = np.mean(block.astype(np.float64) ** 2, axis=0)
        running = np.concatenate([[self.total], power]).cumsum()  # running[i]: sum before frame self.frames + i
        n = power.shape[0]
        self.before_start.extend(running[self._grid_indices(0, n)].tolist())
        self.before_end.extend(running[self._grid_indices(self.length, n)].tolist())
        self.total = float(running[-1])
        self.frames += n

    def _grid_indices(self, offset: int, n: int) -> np.ndarray:
        """Indices i < n of this block's frames where (self.frames + i - offset) is a multiple of sr >= 0;
        the sum at the block's end (i == n) is the next block's i == 0, or added by `loudest`."""
        first = max(self.frames, offset)
        first += -(first - offset) % self.sr
        return np.arange(first - self.frames, n, self.sr)

    def levels_db(self) -> tuple[np.ndarray, np.ndarray]:
        """(start frames, mean power in dB) of every window on the grid that fits; ValueError if none does."""
        n, sr, length = self.frames, self.sr, self.length
        if n < length:
            raise ValueError(f"too short: {n / sr:.2f} s, clips are {self.clip_seconds:g} s")
        before_start, before_end = list(self.before_start), list(self.before_end)
        if n % sr == 0:  # the sum over all frames, if a window starts or ends there
            before_start.append(self.total)
        if (n - length) % sr == 0:
            before_end.append(self.total)
        count = (n - length) // sr + 1
        sums = np.array(before_end[:count]) - np.array(before_start[:count])
        return np.arange(count) * sr, 10 * np.log10(sums / length + 1e-20)

    def loudest(self, limit: int) -> list[int]:
        """Start frames of the loudest non-overlapping windows, at most `limit`, none below SILENCE_DBFS, in
        order; ValueError if none is usable."""
        starts, level_db = self.levels_db()
        length = self.length
        chosen: list[int] = []
        for idx in np.argsort(-level_db, kind="stable"):
            if level_db[idx] < SILENCE_DBFS or len(chosen) == limit:
                break
            s = int(starts[idx])
            if all(abs(s - c) >= length for c in chosen):
                chosen.append(s)
        if not chosen:
            raise ValueError(f"silence: no {self.clip_seconds:g} s window above {SILENCE_DBFS:g} dBFS")
        return sorted(chosen)


def _write_clip(out: Path, clip: np.ndarray, cfg: CorpusConfig, rel: str, start: int) -> ClipRecord:
    from harness.metrics import integrated_lufs, true_peak_dbtp

    sr = cfg.sample_rate
    clip_id = f"rec-{hashlib.sha256(rel.encode()).hexdigest()[:10]}-{start // sr:05d}"
    write_wav(out / "clips" / f"{clip_id}.wav", clip, sr)
    try:
        lufs = round(integrated_lufs(clip, sr), 4)
    except ValueError:
        lufs = None
    rec = ClipRecord(
        id=clip_id, source="recorded", origin=rel, genre=None, offset_s=start / sr, duration_s=clip.shape[1] / sr,
        sample_rate=sr, split="", sha256=audio_sha256(clip), target_file=f"clips/{clip_id}.wav",
        lufs=lufs, true_peak_dbtp=round(true_peak_dbtp(clip, sr), 4),
    )
    return rec

"""Clips from a folder of the user's audio.

Rule (documented in README): every readable file (recursive; any format harness.audio reads) is
resampled to the suite's rate as stereo; its loudest non-overlapping windows of `clip_seconds`
(window starts on a 1 s grid, level = mean power) become clips, at most CLIPS_PER_FILE per file,
skipping windows below SILENCE_DBFS. Files are split into train/validation/test as whole files —
never by clip, so no song leaks across splits. Unusable files are listed with their reason.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from harness.atomic import write_json_atomic
from harness.audio import AudioError, find_audio_files, read_audio, write_wav
from harness.corpus.manifest import ClipRecord, Manifest, assign_splits, audio_sha256
from harness.errors import UserError
from harness.paths import subdir
from harness.progress import Progress
from harness.suite_schema import CorpusConfig

CLIPS_PER_FILE = 3
SILENCE_DBFS = -60.0
FOLDER_VERSION = 1


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
            audio = read_audio(path, sample_rate=cfg.sample_rate, stereo=True)
            starts = loudest_windows(audio.samples, cfg.sample_rate, cfg.clip_seconds)
        except AudioError as exc:
            rejected.append({"file": str(path), "reason": exc.problem})
        except ValueError as exc:
            rejected.append({"file": str(path), "reason": str(exc)})
        else:
            for start in starts:
                clips.append(_write_clip(out, audio.samples, cfg, rel, start))
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


def loudest_windows(samples: np.ndarray, sr: int, clip_seconds: float, limit: int = CLIPS_PER_FILE) -> list[int]:
    """Start samples of the loudest non-overlapping windows on a 1 s grid; ValueError if none is usable."""
    n = samples.shape[1]
    length = int(round(clip_seconds * sr))
    if n < length:
        raise ValueError(f"too short: {n / sr:.2f} s, clips are {clip_seconds:g} s")
    power = np.cumsum(np.concatenate([[0.0], np.mean(samples.astype(np.float64) ** 2, axis=0)]))
    starts = np.arange(0, n - length + 1, sr)
    level_db = 10 * np.log10((power[starts + length] - power[starts]) / length + 1e-20)
    chosen: list[int] = []
    for idx in np.argsort(-level_db, kind="stable"):
        if level_db[idx] < SILENCE_DBFS or len(chosen) == limit:
            break
        s = int(starts[idx])
        if all(abs(s - c) >= length for c in chosen):
            chosen.append(s)
    if not chosen:
        raise ValueError(f"silence: no {clip_seconds:g} s window above {SILENCE_DBFS:g} dBFS")
    return sorted(chosen)


def _write_clip(out: Path, samples: np.ndarray, cfg: CorpusConfig, rel: str, start: int) -> ClipRecord:
    from harness.metrics import integrated_lufs, true_peak_dbtp

    sr = cfg.sample_rate
    clip = samples[:, start : start + int(round(cfg.clip_seconds * sr))].astype(np.float32)
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

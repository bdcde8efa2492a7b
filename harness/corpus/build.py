"""Build (or find cached) the clips a suite scores: generated music or a folder of the user's audio.

The cache folder is keyed by the recipe (suite corpus settings, seed, generator version, folder
listing), each clip is written atomically with its own record, and the manifest last — so an
interrupted build resumes where it stopped and a finished one is reused as is.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import asdict, replace
from pathlib import Path

import numpy as np

from harness.atomic import write_json_atomic
from harness.audio import write_wav
from harness.corpus.manifest import SPLITS, ClipRecord, Manifest, assign_splits, audio_sha256, material_split
from harness.parallel import process_pool
from harness.paths import subdir
from harness.progress import Progress
from harness.suite_schema import CorpusConfig, Suite

GENERATOR_VERSION = 2  # 2: split hygiene (material per split), spread finished and raw loudness

def build_corpus(
    suite: Suite,
    *,
    seed: int | None = None,
    folder: str | os.PathLike | None = None,
    recorded: str | os.PathLike | None = None,
    workers: int | None = None,
    progress: Progress | None = None,
) -> Manifest:
    """The suite's corpus: generated (default) or cut from `folder`; `recorded` adds a folder of real
    audio as extra test clips (never training data) beside the generated ones. Cached; resumable."""
    from harness.corpus.folder import build_folder_corpus

    if folder is not None and recorded is not None:
        from harness.errors import UserError

        raise UserError("--corpus replaces the generated clips; --recorded adds test clips to them: use one")
    for option, value in (("--corpus", folder), ("--recorded", recorded)):  # before any generating
        if value is not None and not Path(value).is_dir():
            from harness.errors import UserError

            what = "is a file, not a folder" if Path(value).exists() else "folder not found"
            raise UserError(f"{option} {value}: {what}")
    cfg = suite.corpus if seed is None else suite.corpus.model_copy(update={"seed": seed})
    if folder is not None:
        return build_folder_corpus(suite.name, cfg, Path(folder), progress=progress)
    generated = _build_generated(suite.name, cfg, workers=workers, progress=progress)
    if recorded is None:
        return generated
    rec = build_folder_corpus(suite.name, cfg, Path(recorded), progress=progress, test_only=True)
    clips = generated.clips + tuple(replace(c, root=rec.folder) for c in rec.clips)
    return Manifest(suite=suite.name, recipe={"kind": "generated+recorded", "generated": generated.recipe,
                                              "recorded": rec.recipe},
                    clips=clips, rejected=rec.rejected, folder=generated.folder)


def generated_recipe(cfg: CorpusConfig) -> dict:
    from harness.corpus.arrangement import available_sources

    return {
        "kind": "generated",
        "generator_version": GENERATOR_VERSION,
        "corpus": cfg.model_dump(),
        # Which optional sources were installed changes the audio, so it is part of the recipe.
        "sources": available_sources(),
    }


def cache_folder(recipe: dict) -> Path:
    key = hashlib.sha256(json.dumps(recipe, sort_keys=True).encode()).hexdigest()[:16]
    return subdir("corpus") / key


def clip_seed(seed: int, index: int) -> int:
    return int(np.random.SeedSequence([seed, index]).generate_state(1)[0])


def _build_generated(suite_name: str, cfg: CorpusConfig, *, workers: int | None, progress: Progress | None) -> Manifest:
    recipe = generated_recipe(cfg)
    folder = cache_folder(recipe)
    done = _load_manifest(folder)
    if done is not None:
        return done
    splits = assign_splits(cfg.clips, cfg.split, cfg.seed)
    jobs = [(folder, cfg, i, splits[i]) for i in range(cfg.clips)]
    records: list[ClipRecord | None] = [_existing_record(folder, _clip_id(cfg, i)) for i in range(cfg.clips)]
    todo = [job for job, rec in zip(jobs, records) if rec is None]
    finished = cfg.clips - len(todo)
    if progress:
        progress(finished, cfg.clips)
    workers = workers or min(2, os.cpu_count() or 1)
    if todo and workers > 1 and len(todo) > 1:
        with process_pool(workers) as pool:
            for rec in pool.map(_generate_clip, todo, chunksize=1):
                records[int(rec.id.split("-")[1])] = rec
                finished += 1
                if progress:
                    progress(finished, cfg.clips)
    else:
        for job in todo:
            rec = _generate_clip(job)
            records[int(rec.id.split("-")[1])] = rec
            finished += 1
            if progress:
                progress(finished, cfg.clips)
    manifest = Manifest(suite=suite_name, recipe=recipe, clips=tuple(records), folder=str(folder))
    write_json_atomic(folder / "manifest.json", manifest.to_json())
    return manifest


def _clip_id(cfg: CorpusConfig, i: int) -> str:
    return f"gen-{i:05d}-{cfg.genres[i % len(cfg.genres)]}"


def _generate_clip(job: tuple[Path, CorpusConfig, int, str]) -> ClipRecord:
    from harness.corpus.arrangement import arrange
    from harness.corpus.synth import STYLES
    from harness.finishing import finish_mix

    folder, cfg, i, split = job
    clip_id = _clip_id(cfg, i)
    genre = cfg.genres[i % len(cfg.genres)]
    seed = clip_seed(cfg.seed, i)
    sr = cfg.sample_rate

    def own_split(key: str) -> bool:  # split hygiene: only this split's pieces and loops
        return material_split(key, cfg.split, cfg.seed) == split

    arrangement = arrange(seed, STYLES[genre], cfg.clip_seconds, sr, allowed=own_split)
    levels = np.random.default_rng([seed, 0x1E7E1])
    finished = round(float(levels.uniform(*cfg.finished_lufs)), 1) if cfg.finished_lufs else cfg.target_lufs
    raw_level = round(float(levels.uniform(*cfg.raw_lufs)), 1)
    clip, lufs, tp = finish_mix(clip_id, arrangement.mix, sr, genre=genre, target_lufs=finished,
                                ceiling_dbtp=cfg.ceiling_dbtp, raw_lufs=raw_level)
    target = clip.target.astype(np.float32)
    write_wav(folder / "raw" / f"{clip_id}.wav", clip.raw.astype(np.float32), sr)
    write_wav(folder / "clips" / f"{clip_id}.wav", target, sr)
    rec = ClipRecord(
        id=clip_id, source="generated", origin=f"seed={seed} genre={genre}", genre=genre,
        offset_s=0.0, duration_s=target.shape[1] / sr, sample_rate=sr, split=split,
        sha256=audio_sha256(target), target_file=f"clips/{clip_id}.wav", raw_file=f"raw/{clip_id}.wav",
        layers=tuple(arrangement.layers), lufs=round(lufs, 4), true_peak_dbtp=round(tp, 4), finish=clip.finish,
    )
    write_json_atomic(folder / "records" / f"{clip_id}.json", asdict(rec))
    return rec


def _existing_record(folder: Path, clip_id: str) -> ClipRecord | None:
    path = folder / "records" / f"{clip_id}.json"
    if not path.exists():
        return None
    try:
        data = json.loads(path.read_text())
        rec = ClipRecord(**{**data, "layers": tuple(data.get("layers", ()))})
    except (ValueError, TypeError):
        return None
    files = [rec.target_file] + ([rec.raw_file] if rec.raw_file else [])
    return rec if all((folder / f).exists() for f in files) else None


def _load_manifest(folder: Path) -> Manifest | None:
    path = folder / "manifest.json"
    if not path.exists():
        return None
    try:
        return Manifest.from_json(json.loads(path.read_text()), str(folder))
    except (ValueError, KeyError, TypeError):
        return None  # damaged: rebuild (finished clips are reused through their records)


__all__ = ["build_corpus", "assign_splits", "SPLITS"]

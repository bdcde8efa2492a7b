"""Suite → train/validation clips → a trained controller → a model release: what `dawg-bench train` runs.

Only the train and validation splits are read; the card records their clip hashes so the harness can
refuse to score a release on a clip it trained on."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np

from harness.errors import UserError

TRAINED_TASKS = ("eq", "compressor", "mastering")


def train_task(task: str, suite, *, profile: str = "quick", seed: int = 0,
               models_root: Path | None = None, device: str = "cpu",
               progress: Callable[[int, int, float, float | None], None] | None = None,
               log: Callable[[str], None] = print, steps: int | None = None, fresh: bool = False,
               checkpoint_dir: Path | None = None, train_clips: int | None = None) -> Path | None:
    """Train `task` on `suite`'s train split and write a release; returns its folder (None on the ranks
    other than 0 under torchrun: rank 0 alone writes). `steps` overrides the profile's step count;
    `fresh` discards a checkpoint of the same training instead of resuming from it; `train_clips` trains on a
    seeded subset of that many train clips (learning curves: what more data buys)."""
    from trainers.common import distributed

    with distributed.process_group(device):
        return _train_task(task, suite, profile=profile, seed=seed, models_root=models_root, device=device,
                           progress=progress, log=log, steps=steps, fresh=fresh, checkpoint_dir=checkpoint_dir,
                           train_clips=train_clips)


def _corpus(suite, log: Callable[[str], None]):
    """The suite's corpus; under torchrun rank 0 builds it first and the others then read the cache."""
    from harness.corpus.build import build_corpus
    from trainers.common import distributed

    rank, _ = distributed.rank_and_world()
    if rank == 0:
        manifest = build_corpus(suite)
    distributed.barrier()
    if rank != 0:
        manifest = build_corpus(suite)
    return manifest


def _checkpointer(task: str, suite, manifest, profile: str, seed: int, steps: int, fresh: bool,
                  folder: Path | None, train_clips: int | None = None):
    from trainers.common import distributed
    from trainers.common.checkpoint import Checkpointer

    rank, world = distributed.rank_and_world()
    checkpoint = Checkpointer.for_training({"task": task, "suite": suite.name, "corpus": manifest.manifest_hash,
                                            "profile": profile, "seed": seed, "steps": steps, "world": world,
                                            "train_clips": train_clips},
                                           folder)
    if fresh and rank == 0:
        checkpoint.discard()
    distributed.barrier()
    return checkpoint


def _finish(model, checkpoint, write: Callable[[], Path]) -> Path | None:
    """Rank 0 writes the release and drops the checkpoint; under torchrun every rank logs its parameter
    digest (equal digests: DDP kept the ranks in step)."""
    from trainers.common import distributed

    rank, world = distributed.rank_and_world()
    if world > 1:  # every rank says it (not through `log`, which only rank 0 speaks through)
        print(f"rank {rank}/{world}: parameters sha256 {distributed.parameter_digest(model)}", file=sys.stderr,
              flush=True)
    folder = write() if rank == 0 else None
    if rank == 0:
        checkpoint.discard()  # the release holds the result now; a rerun starts a new version
    distributed.barrier()
    return folder


def _train_task(task: str, suite, *, profile: str, seed: int, models_root: Path | None, device: str,
                progress, log: Callable[[str], None], steps: int | None, fresh: bool,
                checkpoint_dir: Path | None, train_clips: int | None) -> Path | None:
    import torch

    from harness.tasks.examples import load_source_clip
    from trainers.common import distributed

    if distributed.rank_and_world()[0] != 0:
        log = _silent
    if steps is not None and steps < 1:
        raise UserError(f"--steps must be ≥ 1 (got {steps})")
    if train_clips is not None and train_clips < 2:
        raise UserError(f"--train-clips must be ≥ 2 (got {train_clips})")
    if task not in TRAINED_TASKS:
        raise UserError(f"no trainer for task {task!r} yet (trained: {', '.join(TRAINED_TASKS)}); "
                        "the mastering trainer is open work (Trainers issue)")
    device = _resolve_device(device)
    if task in ("compressor", "mastering"):
        return _train_regression(task, suite, profile=profile, seed=seed, models_root=models_root, device=device,
                                 progress=progress, log=log, steps=steps, fresh=fresh, checkpoint_dir=checkpoint_dir,
                           train_clips=train_clips)
    from trainers import eq as trainer
    from trainers.common.spectral_features import spectral_clip

    chosen, started, manifest, checkpoint = _setup(task, trainer, suite, profile, seed, steps, fresh, checkpoint_dir,
                                                   train_clips, log)
    sets, maker = {}, None
    for split in ("train", "validation"):
        records = _subset(manifest.split(split), train_clips if split == "train" else None, seed)
        if not records:
            raise UserError(f"suite {suite.name}: the corpus has no {split} clips to train on")
        clips, hashes = [], []
        for rec in records:
            source = load_source_clip(manifest, rec)
            clip, freqs, bin_hz = spectral_clip(rec.id, source.target, source.sample_rate)
            maker = maker or trainer.FeatureMaker(freqs, bin_hz, source.sample_rate)
            clips.append(clip)
            hashes.append(rec.sha256)
        sets[split] = trainer.SpectralSet.of(clips, hashes, maker)
        log(f"{split}: {len(clips)} clips from corpus {manifest.manifest_hash[:12]}")
    model, metrics = trainer.train(sets["train"], sets["validation"], maker,
                                   profile=chosen, seed=seed, progress=progress,
                                   suite_params=suite.tasks[task].degradation if task in suite.tasks else None,
                                   checkpoint=checkpoint, log=log, device=device)
    freqs, sr = maker.freqs_hz, maker.sr
    rng = np.random.default_rng(seed + 2)
    idx = rng.integers(0, len(sets["train"].clips), 256)
    from harness.tasks import get_task
    from harness.tasks.base import resolve_params

    # calibration inputs drawn like the training ones: the suite's own damage distributions
    params = resolve_params(get_task(task).defaults, suite.tasks[task].degradation if task in suite.tasks else {},
                            task)
    damage = trainer.damage_power(params, rng, len(idx), 0.2, freqs, sr)
    with torch.no_grad():
        calibration = maker.features(sets["train"].power[idx], damage, sets["train"].stats[idx]).numpy()
    return _finish(model, checkpoint, lambda: _release(
        model, task, trainer.SPECS, calibration.astype(np.float32), metrics, suite=suite, manifest=manifest,
        train_sha256=sets["train"].sha256, val_sha256=sets["validation"].sha256, profile=profile, seed=seed,
        device=device, started=started, models_root=models_root))


def _setup(task: str, trainer, suite, profile: str, seed: int, steps: int | None, fresh: bool,
           checkpoint_dir: Path | None, train_clips: int | None, log: Callable[[str], None]):
    """What every trainer does first: the profile (with --steps), deterministic one-thread torch, the
    corpus and the checkpointer. Returns (profile, start time, manifest, checkpoint)."""
    import torch

    if profile not in trainer.PROFILES:
        raise UserError(f"unknown profile {profile!r} (known: {', '.join(trainer.PROFILES)})")
    chosen = _with_steps(trainer.PROFILES[profile], steps)
    torch.use_deterministic_algorithms(True)
    torch.set_num_threads(1)  # same seed, same result: one thread makes the float sums' order fixed
    started = time.perf_counter()
    manifest = _corpus(suite, log)  # the suite (harness.suite_schema.Suite) is loaded by the command
    checkpoint = _checkpointer(task, suite, manifest, profile, seed, chosen.steps, fresh, checkpoint_dir, train_clips)
    return chosen, started, manifest, checkpoint


def _release(model, task: str, specs, calibration: np.ndarray, metrics: dict, *, suite, manifest,
             train_sha256: list[str], val_sha256: list[str], profile: str, seed: int, device: str, started: float,
             models_root: Path | None, int8_activation_bits: int = 8) -> Path:
    """The card every trainer writes (provenance, the clips it saw, validation) and the release itself."""
    from trainers.common import distributed
    from trainers.common.release import write_release

    card = {"profile": profile, "seed": seed, "device": device, "ranks": distributed.rank_and_world()[1],
            "suite": suite.name, "parameters_sha256": distributed.parameter_digest(model),
            "corpus_manifest": manifest.manifest_hash, "train_clip_sha256": sorted(train_sha256),
            "validation_clip_sha256": sorted(val_sha256), "validation": metrics,
            "wall_seconds": time.perf_counter() - started,
            "param_spec": [{"name": s.name, "min": s.min, "max": s.max, "scale": s.scale, "unit": s.unit}
                           for s in specs]}
    if metrics.get("qat"):  # quantization-aware fine-tuning: the FP32 weights lie on the INT8 grid
        card["qat"] = {k: metrics["qat"][k] for k in ("scheme", "steps", "learning_rate")}
    # mastering: the controller chooses tone and dynamics, the level is measured and set after it
    # (harness/candidates/onnx_model.py measured_loudness), as today's rules set theirs
    loudness = "measured" if task == "mastering" else "predicted"
    return write_release(model, task, [s.name for s in specs], calibration, card, root=models_root,
                         loudness=loudness, int8_activation_bits=int8_activation_bits)


def _train_regression(task: str, suite, *, profile: str, seed: int, models_root: Path | None, device: str,
                      progress: Callable[[int, int, float, float | None], None] | None,
                      log: Callable[[str], None], steps: int | None, fresh: bool,
                      checkpoint_dir: Path | None, train_clips: int | None) -> Path | None:
    """The trainers whose examples carry exact oracles: parameter regression on a pool drawn once."""
    from harness.loudness_target import DEFAULT_CEILING_DBTP, DEFAULT_TARGET_LUFS
    from harness.tasks import get_task
    from harness.tasks.base import resolve_params
    from harness.tasks.examples import load_source_clip
    from trainers import compressor, mastering

    trainer = compressor if task == "compressor" else mastering
    chosen, started, manifest, checkpoint = _setup(task, trainer, suite, profile, seed, steps, fresh, checkpoint_dir,
                                                   train_clips, log)
    params = resolve_params(get_task(task).defaults, suite.tasks[task].degradation if task in suite.tasks else {},
                            task)
    cfg = suite.tasks.get(task)
    pools = {}
    for offset, split in enumerate(("train", "validation")):
        records = _subset(manifest.split(split), train_clips if split == "train" else None, seed)
        if len(records) < 2:
            raise UserError(f"suite {suite.name}: the corpus has fewer than 2 {split} clips (a reference needs "
                            "another clip)")
        sources = [load_source_clip(manifest, rec) for rec in records]
        hashes = [r.sha256 for r in records]
        if task == "compressor":
            pools[split] = compressor.build_pool(sources, hashes, params, chosen.examples_per_clip, seed + 10 * offset)
            size = len(pools[split].ref_clip)
        else:
            pools[split] = mastering.build_pool(
                sources, hashes, params, chosen.examples_per_clip, seed + 10 * offset,
                target_lufs=cfg.target_lufs if cfg and cfg.target_lufs is not None else DEFAULT_TARGET_LUFS,
                ceiling_dbtp=cfg.ceiling_dbtp if cfg and cfg.ceiling_dbtp is not None else DEFAULT_CEILING_DBTP)
            size = len(pools[split].units)
        log(f"{split}: {len(sources)} clips, {size} examples")
    model, metrics = trainer.train(pools["train"], pools["validation"], profile=chosen, seed=seed, progress=progress,
                                   checkpoint=checkpoint, log=log, device=device)
    if task == "compressor":
        calibration = compressor.sample_batch(pools["train"], np.random.default_rng(seed + 2), 256)[0].numpy()
    else:
        calibration = pools["train"].features[:256].numpy()
    return _finish(model, checkpoint, lambda: _release(
        model, task, trainer.SPECS, calibration, metrics, suite=suite, manifest=manifest,
        train_sha256=pools["train"].sha256, val_sha256=pools["validation"].sha256, profile=profile, seed=seed,
        device=device, started=started, models_root=models_root,
        int8_activation_bits=getattr(trainer, "INT8_ACTIVATION_BITS", 8)))


def _subset(records: list, n: int | None, seed: int) -> list:
    """`n` of the records, drawn with the seed (all of them when n is None or not smaller)."""
    if n is None or n >= len(records):
        return records
    keep = sorted(np.random.default_rng(seed + 7).choice(len(records), n, replace=False))
    return [records[i] for i in keep]


def _resolve_device(device: str) -> str:
    """"cpu", or "cuda" → this rank's GPU (torchrun's LOCAL_RANK); one line when there is none."""
    import os

    import torch

    if device == "cpu":
        return device
    if device != "cuda":
        raise UserError(f"--device {device}: use cpu or cuda")
    if not torch.cuda.is_available():
        raise UserError(f"--device cuda: no CUDA device here (torch {torch.__version__}); train on the CPU or on a "
                        "GPU instance (--sagemaker)")
    os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")  # deterministic cuBLAS, as on the CPU
    local = int(os.environ.get("LOCAL_RANK", "0"))
    torch.cuda.set_device(local)
    return f"cuda:{local}"


def _with_steps(profile, steps: int | None):
    """The profile with `steps` steps, validated (and checkpointed) at least ten times on the way."""
    import dataclasses

    if not steps:
        return profile
    return dataclasses.replace(profile, steps=steps, validate_every=max(1, min(profile.validate_every, steps // 10)))


def _silent(line: str) -> None:
    """Ranks other than 0 keep quiet, so a torchrun log reads like a single process's."""

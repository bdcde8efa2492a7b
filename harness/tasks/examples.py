"""Turn a suite's corpus split into task examples: deterministic, one per (task, variant, clip)."""

from __future__ import annotations

from pathlib import Path
from typing import Iterator

from harness.audio import read_audio
from harness.corpus.manifest import ClipRecord, Manifest
from harness.suites import Suite
from harness.tasks import get_task
from harness.tasks.base import Example, SourceClip, resolve_params, task_rng


def load_source_clip(manifest: Manifest, rec: ClipRecord) -> SourceClip:
    folder = Path(manifest.folder)
    target = read_audio(folder / rec.target_file).samples.astype("float64")
    raw = read_audio(folder / rec.raw_file).samples.astype("float64") if rec.raw_file else None
    return SourceClip(id=rec.id, sample_rate=rec.sample_rate, target=target, raw=raw, genre=rec.genre,
                      source=rec.source, finish=rec.finish)


def partner_of(records: list[ClipRecord], index: int) -> ClipRecord | None:
    """The next clip of the same split, preferring the same genre; None when the split has one clip."""
    n = len(records)
    if n < 2:
        return None
    order = [records[(index + k) % n] for k in range(1, n)]
    same = [r for r in order if r.genre is not None and r.genre == records[index].genre]
    return (same or order)[0]


def task_examples(suite: Suite, manifest: Manifest, task_name: str, split: str = "test") -> Iterator[Example]:
    """Every example of one task over one split (variants expanded)."""
    task = get_task(task_name)
    cfg = suite.tasks[task_name]
    params = resolve_params(task.DEFAULTS, cfg.degradation, task_name)
    records = manifest.split(split)
    cache: dict[str, SourceClip] = {}

    def clip(rec: ClipRecord) -> SourceClip:
        if rec.id not in cache:
            cache[rec.id] = load_source_clip(manifest, rec)
        return cache[rec.id]

    variants = cfg.variants or [None]
    extra = {}
    if cfg.target_lufs is not None:
        extra["target_lufs"] = cfg.target_lufs
    if cfg.ceiling_dbtp is not None:
        extra["ceiling_dbtp"] = cfg.ceiling_dbtp
    for i, rec in enumerate(records):
        partner_rec = partner_of(records, i)
        for variant in variants:
            rng = task_rng(task_name, rec.id, suite.corpus.seed, variant)
            kwargs = dict(extra, partner=clip(partner_rec) if partner_rec else None)
            if variant is not None:
                kwargs["variant"] = variant
            yield task.make_example(clip(rec), params, rng, **kwargs)

"""Turn a suite's corpus split into task examples: deterministic, addressable by (clip, variant)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from harness.audio import read_audio
from harness.corpus.manifest import ClipRecord, Manifest
from harness.source_clip import SourceClip
from harness.suite_schema import Suite
from harness.tasks import get_task
from harness.tasks.base import Example, resolve_params, task_rng


def load_source_clip(manifest: Manifest, rec: ClipRecord) -> SourceClip:
    root = Path(rec.root or manifest.folder)
    target = read_audio(root / rec.target_file).samples.astype("float64")
    raw = read_audio(root / rec.raw_file).samples.astype("float64") if rec.raw_file else None
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


def example_keys(suite: Suite, manifest: Manifest, task_name: str, split: str = "test") -> list[tuple[int, str | None]]:
    """(clip index within the split, variant) for every example of a task."""
    variants = suite.tasks[task_name].variants or [None]
    return [(i, v) for i in range(len(manifest.split(split))) for v in variants]


def build_example(suite: Suite, manifest: Manifest, task_name: str, index: int, variant: str | None,
                  split: str = "test") -> Example:
    task = get_task(task_name)
    cfg = suite.tasks[task_name]
    params = resolve_params(task.defaults, cfg.degradation, task_name)
    records = manifest.split(split)
    rec = records[index]
    partner = partner_of(records, index)
    needs_partner = task.has_reference(variant)
    kwargs: dict = {"partner": load_source_clip(manifest, partner) if partner and needs_partner else None}
    if cfg.target_lufs is not None:
        kwargs["target_lufs"] = cfg.target_lufs
    if cfg.ceiling_dbtp is not None:
        kwargs["ceiling_dbtp"] = cfg.ceiling_dbtp
    if variant is not None:
        kwargs["variant"] = variant
    rng = task_rng(task_name, rec.id, suite.corpus.seed, variant)
    return task.make_example(load_source_clip(manifest, rec), params, rng, **kwargs)


def task_examples(suite: Suite, manifest: Manifest, task_name: str, split: str = "test") -> Iterator[Example]:
    for index, variant in example_keys(suite, manifest, task_name, split):
        yield build_example(suite, manifest, task_name, index, variant, split)

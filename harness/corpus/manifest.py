"""The corpus manifest: which clips, from where, in which split, with what content hash.

`manifest_hash` is computed from the clip records alone (ids, source, origin, offsets, rate,
split, content hashes), so the same hash means the same clips — whatever machine built them.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

SCHEMA = 1
SPLITS = ("train", "validation", "test")


@dataclass(frozen=True)
class ClipRecord:
    id: str
    source: str  # "generated" | "recorded" (a folder of real audio)
    origin: str  # generator recipe, or the source file relative to the corpus folder
    genre: str | None
    offset_s: float
    duration_s: float
    sample_rate: int
    split: str
    sha256: str  # of the target audio as little-endian float32 (channels, samples)
    target_file: str  # relative to the manifest's folder
    raw_file: str | None = None  # the unmastered mix, where the source has one
    layers: tuple[str, ...] = ()
    lufs: float | None = None
    true_peak_dbtp: float | None = None
    finish: dict[str, Any] | None = None  # the exact chain that turned raw into target, where known
    root: str = ""  # folder the files are relative to, when not the manifest's own (merged corpora)

    def hashed_fields(self) -> dict[str, Any]:
        return {k: getattr(self, k) for k in ("id", "source", "origin", "offset_s", "sample_rate", "split", "sha256")}


@dataclass(frozen=True)
class Manifest:
    suite: str
    recipe: dict[str, Any]
    clips: tuple[ClipRecord, ...]
    rejected: tuple[dict[str, str], ...] = ()
    folder: str = ""  # where the clip files live; not part of the hash
    schema: int = SCHEMA
    manifest_hash: str = field(default="")

    def __post_init__(self) -> None:
        object.__setattr__(self, "manifest_hash", hash_records(self.clips))

    def split(self, name: str) -> list[ClipRecord]:
        return [c for c in self.clips if c.split == name]

    def split_counts(self) -> dict[str, int]:
        return {s: len(self.split(s)) for s in SPLITS}

    def to_json(self) -> dict[str, Any]:
        d = asdict(self)
        d.pop("folder")
        return d

    @classmethod
    def from_json(cls, data: dict[str, Any], folder: str) -> Manifest:
        clips = tuple(ClipRecord(**{**c, "layers": tuple(c.get("layers", ()))}) for c in data["clips"])
        m = cls(suite=data["suite"], recipe=data["recipe"], clips=clips,
                rejected=tuple(data.get("rejected", ())), folder=folder)
        if data.get("manifest_hash") and data["manifest_hash"] != m.manifest_hash:
            raise ValueError(f"{folder}/manifest.json: manifest_hash does not match its clips (edited or corrupt)")
        return m


def hash_records(clips: tuple[ClipRecord, ...] | list[ClipRecord]) -> str:
    payload = json.dumps([c.hashed_fields() for c in clips], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(payload.encode()).hexdigest()


def audio_sha256(samples: np.ndarray) -> str:
    return hashlib.sha256(np.ascontiguousarray(samples, dtype="<f4").tobytes()).hexdigest()


def assign_splits(n: int, split: dict[str, float], seed: int) -> list[str]:
    """Seeded shuffle, then contiguous train/validation/test blocks; every split gets ≥1 clip when n ≥ 3."""
    counts = {s: int(round(split[s] * n)) for s in ("validation", "test")}
    if n >= 3:
        counts = {s: max(1, c) if split[s] > 0 else 0 for s, c in counts.items()}
    counts["train"] = n - counts["validation"] - counts["test"]
    order = np.random.default_rng([seed, 7]).permutation(n)
    labels = ["train"] * counts["train"] + ["validation"] * counts["validation"] + ["test"] * counts["test"]
    out = [""] * n
    for rank, idx in enumerate(order):
        out[idx] = labels[rank]
    return out


# Generated clips share source material through these layers (a MIDI piece, a drum loop); one-shot
# hits, textures and synthesised voices are generic and shared by everything, so they do not link.
SHARED_MATERIAL_PREFIXES = ("midi:", "loop:")


def material_split(key: str, split: dict[str, float], seed: int) -> str:
    """The one split a piece of source material (e.g. "midi:bach/bwv416", "loop:loop_mika") may be
    used in: a seeded hash of the key, cut by the split fractions. Clips of one split draw only on
    that split's material, so no piece or loop is heard in training and test."""
    u = int.from_bytes(hashlib.sha256(f"{seed}|{key}".encode()).digest()[:8], "little") / 2.0**64
    edge = 0.0
    for name in SPLITS:
        edge += split.get(name, 0.0)
        if u < edge:
            return name
    return SPLITS[-1]


def material_keys(rec: ClipRecord) -> set[str]:
    """What source material a clip is made of: its file for folder clips, its piece and loop for generated ones."""
    if rec.source != "generated":
        return {f"file:{rec.origin}"}
    keys = set()
    for layer in rec.layers:
        if layer.startswith(SHARED_MATERIAL_PREFIXES):
            kind, _, rest = layer.partition(":")
            keys.add(f"{kind}:{rest.split(':', 1)[0].split('@', 1)[0]}")
    return keys


def clip_clusters(clips: list[ClipRecord] | tuple[ClipRecord, ...]) -> dict[str, str]:
    """Clip id -> cluster: clips that share any source material (transitively) form one cluster, the
    unit the statistics resample (rows of one song, or one clip's variants, are not independent).
    A cluster is named by its first clip in id order."""
    parent = {c.id: c.id for c in clips}

    def find(a: str) -> str:
        while parent[a] != a:
            parent[a] = parent[parent[a]]
            a = parent[a]
        return a

    owner: dict[str, str] = {}
    for c in sorted(clips, key=lambda r: r.id):
        for key in sorted(material_keys(c)):
            if key in owner:
                ra, rb = find(owner[key]), find(c.id)
                if ra != rb:
                    parent[max(ra, rb)] = min(ra, rb)
            else:
                owner[key] = c.id
    return {c.id: find(c.id) for c in clips}

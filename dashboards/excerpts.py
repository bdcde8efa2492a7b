"""Rebuild one clip of a run for listening: the damaged input, each candidate's output and the target.

The store keeps scores, not audio, so the Quality page's drill-down rebuilds a clip on request, the way
the runner scored it (`harness/runner.py` `_score_example`): the run's suite and corpus (found in the
cache by the run's recipe and checked against its manifest hash; never built here), the test example
`build_example(suite, manifest, task, index, variant)`, then each candidate's `predict_example(...)
.render(query)`. Each signal's first `EXCERPT_SECONDS` is written as 16-bit WAV to the cache
(`<cache>/dashboard/excerpts/...`, atomically via `harness.audio.write_wav`), every excerpt at the same
integrated loudness (`LISTENING_LUFS`, lowered together where a peak would clip) so that none sounds
better for being louder. With them: 1/3-octave spectra, momentary-loudness curves and, per candidate,
its primary metric recomputed on the rebuilt output beside the stored one — the evidence behind a
score, checked to be the same audio.

Candidates that learn on the training split (`match`) are not re-fitted here: a fit takes minutes on
a real corpus, and a quick refit would be a different candidate than the one scored. No Streamlit:
the page calls `render_clip` and `cached_clip` and draws what they return.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from harness import paths

EXCERPT_SECONDS = 5.0
# EBU R128 programme loudness: low enough that most excerpts keep headroom at a common level
LISTENING_LUFS = -23.0
# no excerpt's sample peak above this after matching; where one would be, every excerpt is lowered together
PEAK_CEILING_DBFS = -1.0
# momentary loudness (EBU Tech 3341, 400 ms) every 50 ms: a 5 s excerpt is too short for 3 s short-term windows
LOUDNESS_HOP_S = 0.05
LOUDNESS_CURVE_FLOOR_LUFS = -70.0  # BS.1770's absolute gate: quieter blocks are not drawn
# a rebuilt score equal to the stored one within this (relative, absolute): same audio, same arithmetic
MATCH_REL_TOL = 1e-4
MATCH_ABS_TOL = 1e-6
CACHE_VERSION = 1  # part of the cache path: a change to what is written starts a new folder
SUMMARY = "summary.json"  # written last: a folder with it is complete

NEEDS_FIT_NOTE = "needs its fit on the training split; not rebuilt here"


class RebuildError(Exception):
    """Why a clip cannot be rebuilt on this machine, as one plain sentence for the page."""


@dataclass(frozen=True)
class RunSource:
    """What a run's clips are rebuilt from: its suite, its corpus (recipe and manifest hash) and its identity
    (suite content hash, code fingerprint and each candidate's files) to tell what changed since."""
    run_id: str
    suite: str
    manifest_hash: str
    corpus_recipe: dict[str, Any]
    identity: dict[str, Any] = field(default_factory=dict)


@dataclass
class Track:
    """One excerpt: the damaged input, the target, the reference (tasks with one) or a candidate's output."""
    name: str
    kind: str  # input · target · reference · candidate
    file: str | None = None  # the WAV in the cache; None when not rebuilt (`note` says why)
    source_lufs: float | None = None  # the excerpt's integrated loudness before matching
    gain_db: float | None = None  # applied to it for listening
    note: str = ""
    stored: float | None = None  # the stored value of the primary metric for this clip
    rebuilt: float | None = None  # the same metric on the rebuilt audio (whole clip, as scored)
    check: str = ""  # "matches" · "differs" · "" (nothing to compare)


@dataclass
class ClipExcerpts:
    folder: str
    run_id: str
    task: str
    clip_id: str
    variant: str | None
    metric: str  # the primary metric recomputed for the check
    listening_lufs: float  # the loudness every measurable excerpt was matched to
    seconds: float  # excerpt length
    tracks: list[Track]
    notes: list[str]  # what changed since the run (code, suite, a model's files), and other caveats
    spectra: list[dict[str, Any]]  # rows: track, frequency_hz, level_db
    loudness: list[dict[str, Any]]  # rows: track, time_s, lufs

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> ClipExcerpts:
        return cls(**{**data, "tracks": [Track(**t) for t in data["tracks"]]})


# ------------------------------------------------------------------------------------------------ locating


def run_source(db_path: str | Path, run_id: str) -> RunSource:
    """The run's suite, corpus recipe and identity, read from the store (read-only)."""
    from contextlib import closing

    from dashboards.store_view import connect

    with closing(connect(db_path)) as c:
        row = c.execute("SELECT suite, manifest_hash, environment, report FROM runs WHERE run_id = ?",
                        (run_id,)).fetchone()
    if row is None:
        raise RebuildError(f"run {run_id} is not in the store")
    environment = json.loads(row["environment"]) if row["environment"] else {}
    report = json.loads(row["report"]) if row["report"] else {}
    return RunSource(run_id, row["suite"], row["manifest_hash"], report.get("corpus", {}).get("recipe") or {},
                     environment.get("identity") or {})


def corpus_home() -> Path:
    """Where corpora are cached (`<cache>/corpus`); looked in, never created."""
    return paths.home() / "corpus"


def find_corpus(source: RunSource, suite_seed: int | None = None):
    """The run's corpus Manifest from the cache, found by the run's recipe (the key the corpus builder
    files it under) and checked against the run's manifest hash. RebuildError, saying what to run, when it
    is not on this machine: the dashboard reads corpora, it never builds one. `suite_seed`: the suite's own
    corpus seed, so the command given names `--seed` only where the run used another."""
    from harness.corpus.build import cache_folder

    recipe = source.corpus_recipe
    if recipe.get("kind") == "generated+recorded":
        manifest = _merged(source, _load(cache_folder(recipe["generated"])), _load(cache_folder(recipe["recorded"])))
    else:
        manifest = _load(cache_folder(recipe)) if recipe else None
    if manifest is None or manifest.manifest_hash != source.manifest_hash:
        manifest = _scan(source.manifest_hash) or manifest
    if manifest is None:
        raise RebuildError(f"the corpus of this run (suite {source.suite}, manifest {source.manifest_hash[:12]}) is "
                           f"not on this machine (looked in {corpus_home()}); the dashboard does not build "
                           f"corpora: {_build_hint(source, suite_seed)} builds it")
    if manifest.manifest_hash != source.manifest_hash:
        raise RebuildError(f"the corpus at {manifest.folder} has other clips than this run's (manifest "
                           f"{manifest.manifest_hash[:12]}, the run's {source.manifest_hash[:12]}): not rebuilt")
    return manifest


def _load(folder: Path):
    from harness.corpus.manifest import Manifest

    path = folder / "manifest.json"
    try:
        return Manifest.from_json(json.loads(path.read_text()), str(folder))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _merged(source: RunSource, generated, recorded):
    """Generated clips plus a recorded test set, merged as `build_corpus` merges them."""
    from dataclasses import replace

    from harness.corpus.manifest import Manifest

    if generated is None or recorded is None:
        return None
    clips = generated.clips + tuple(replace(c, root=recorded.folder) for c in recorded.clips)
    return Manifest(suite=source.suite, recipe=source.corpus_recipe, clips=clips, folder=generated.folder)


def _scan(manifest_hash: str):
    """A cached single-folder corpus with this hash, whatever its recipe (a report without one)."""
    home = corpus_home()
    for path in sorted(home.glob("*/manifest.json")) if home.is_dir() else ():
        manifest = _load(path.parent)
        if manifest is not None and manifest.manifest_hash == manifest_hash:
            return manifest
    return None


def _build_hint(source: RunSource, suite_seed: int | None) -> str:
    recipe = source.corpus_recipe
    kind = recipe.get("kind")
    if kind == "folder":
        return f"`dawg-bench corpus build {source.suite} --corpus {recipe.get('root', 'DIR')}`"
    if kind == "generated+recorded":
        root = recipe.get("recorded", {}).get("root", "DIR")
        return f"`dawg-bench corpus build {source.suite} --recorded {root}`"
    seed = recipe.get("corpus", {}).get("seed")
    return f"`dawg-bench corpus build {source.suite}" + (f" --seed {seed}`" if seed != suite_seed else "`")


# ------------------------------------------------------------------------------------------------ cache


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", text).strip("_") or "_"


def excerpt_folder(run_id: str, task: str, clip_id: str, variant: str | None) -> Path:
    """`<cache>/dashboard/excerpts/v<N>/<run>/<task>/<variant or ->/<clip>/` (not created here)."""
    return (paths.home() / "dashboard" / "excerpts" / f"v{CACHE_VERSION}" / _slug(run_id) / _slug(task)
            / _slug(variant or "-") / _slug(clip_id))


def cached_clip(run_id: str, task: str, clip_id: str, variant: str | None) -> ClipExcerpts | None:
    """The excerpts rendered earlier for this clip, when all their files are still there."""
    folder = excerpt_folder(run_id, task, clip_id, variant)
    try:
        found = ClipExcerpts.from_json(json.loads((folder / SUMMARY).read_text()))
    except (OSError, ValueError, KeyError, TypeError):
        return None
    if any(t.file and not Path(t.file).is_file() for t in found.tracks):
        return None
    return found


# ------------------------------------------------------------------------------------------------ rebuilding


def render_clip(source: RunSource, task: str, clip_id: str, variant: str | None, candidates: list[str],
                stored: dict[str, float | None], metric: str, stored_input: float | None = None) -> ClipExcerpts:
    """Rebuild one clip of the run, write its excerpts to the cache and return what the page shows.

    `candidates`: the run's candidates for this task; `stored`: each one's stored value of `metric` for
    this clip (checked against the rebuilt output), `stored_input` the stored distance of the damaged input.
    RebuildError when the clip cannot be rebuilt at all (corpus, suite or clip missing); a candidate that
    cannot be rebuilt gets a track with a note instead."""
    from harness.atomic import write_json_atomic
    from harness.environment import code_fingerprint
    from harness.runner import input_distances, prepare_against, score_output, suite_content_hash
    from harness.tasks.examples import build_example

    suite = _load_suite(source.suite)
    if task not in suite.tasks:
        raise RebuildError(f"the suite {source.suite} has no task {task} any more: not rebuilt")
    manifest = find_corpus(source, suite.corpus.seed)
    test = manifest.split("test")
    index = next((i for i, rec in enumerate(test) if rec.id == clip_id), None)
    if index is None:
        raise RebuildError(f"clip {clip_id} is not in the test split of this run's corpus")
    notes = []
    if source.identity.get("code") and source.identity["code"] != code_fingerprint():
        notes.append("the harness code changed since this run: a rebuilt score may differ from the stored one")
    if source.identity.get("suite") and source.identity["suite"] != suite_content_hash(suite):
        notes.append(f"the suite {source.suite} changed since this run: a rebuilt score may differ")
    try:
        example = build_example(suite, manifest, task, index, variant or None)
    except Exception as exc:  # noqa: BLE001 - a corrupt clip: one sentence on the page, not a traceback
        raise RebuildError(f"clip {clip_id} could not be rebuilt: {type(exc).__name__}: {exc}") from None
    sr = example.query.sample_rate
    against = prepare_against(example, [metric])
    d_input = input_distances(example, [metric], against)

    signals: list[tuple[Track, np.ndarray | None]] = [
        (Track("damaged input", "input", stored=stored_input, rebuilt=d_input.get(metric)), example.query.audio)]
    for name in candidates:
        track = Track(name, "candidate", stored=stored.get(name))
        output = None
        try:
            output = _rebuild_output(name, example, task, variant or None, source, notes)
            values, _ = score_output(output, example, [metric], d_input, against)
            track.rebuilt = values.get(metric)
        except _NotRebuilt as why:
            track.note = str(why)
        except Exception as exc:  # noqa: BLE001 - a failing candidate is noted on its track; the others go on
            track.note = f"failed when rebuilt: {type(exc).__name__}: {exc}"
        signals.append((track, output))
    signals.append((Track("target", "target"), example.target))
    if example.query.reference is not None:
        signals.append((Track("reference", "reference"), example.query.reference))
    for track, _ in signals:
        track.check = _check(track.stored, track.rebuilt)

    folder = excerpt_folder(source.run_id, task, clip_id, variant)
    n = int(round(EXCERPT_SECONDS * sr))
    cut = [(t, None if x is None else np.atleast_2d(np.asarray(x, dtype=np.float64))[:, :n]) for t, x in signals]
    listening = match_loudness(cut, sr)
    spectra: list[dict[str, Any]] = []
    curves: list[dict[str, Any]] = []
    for i, (track, x) in enumerate(cut):
        if x is None:
            continue
        y = x * 10.0 ** ((track.gain_db or 0.0) / 20.0)
        track.file = str(_write_excerpt(folder / f"{i:02d}-{_slug(track.name)}.wav", y, sr))
        spectra += [{"track": track.name, "frequency_hz": f, "level_db": v} for f, v in _spectrum(y, sr)]
        curves += [{"track": track.name, "time_s": t, "lufs": v} for t, v in _loudness_curve(y, sr)]
    result = ClipExcerpts(str(folder), source.run_id, task, clip_id, variant or None, metric, listening,
                          min(EXCERPT_SECONDS, example.query.audio.shape[-1] / sr), [t for t, _ in signals],
                          notes, spectra, curves)
    write_json_atomic(folder / SUMMARY, result.to_json())  # last: marks the folder complete
    return result


class _NotRebuilt(Exception):
    """A candidate this machine does not rebuild (a fit, a missing release or package), with the reason."""


def _load_suite(name: str):
    from harness.suites import load_suite

    try:
        return load_suite(name)
    except Exception as exc:  # noqa: BLE001 - a suite renamed or broken since the run: say so
        raise RebuildError(f"the suite {name} cannot be loaded here: {exc}") from None


def _rebuild_output(name: str, example, task: str, variant: str | None, source: RunSource,
                    notes: list[str]) -> np.ndarray:
    from harness.candidates import Unavailable, get_candidate
    from harness.fitting import needs_fit

    try:
        cand = get_candidate(name)
    except Exception as exc:  # noqa: BLE001 - a model release not in this machine's registry folder, an old name
        where = " (the model registry folder, $DAWG_BENCH_MODELS)" if name.startswith("model:") else ""
        raise _NotRebuilt(f"not available here{where}: {exc}") from None
    if needs_fit(cand):
        raise _NotRebuilt(NEEDS_FIT_NOTE)
    if not cand.supports(task, variant):
        raise _NotRebuilt(f"does not take this task ({task}{' · ' + variant if variant else ''})")
    try:
        cand.check_available()
    except Unavailable as exc:
        raise _NotRebuilt(f"not available here: {exc}") from None
    stored_identity = source.identity.get("candidates", {}).get(name)
    if stored_identity and stored_identity != cand.identity():
        notes.append(f"{name}: its files changed since this run: its rebuilt score may differ")
    return np.asarray(cand.predict_example(example).render(example.query))


def _check(stored: float | None, rebuilt: float | None) -> str:
    if stored is None or rebuilt is None or not math.isfinite(stored) or not math.isfinite(rebuilt):
        return ""
    return "matches" if math.isclose(stored, rebuilt, rel_tol=MATCH_REL_TOL, abs_tol=MATCH_ABS_TOL) else "differs"


# ------------------------------------------------------------------------------------------------ listening


def match_loudness(excerpts: list[tuple[Track, np.ndarray | None]], sr: int) -> float:
    """Set each track's gain so every measurable excerpt reads the same integrated loudness; return it.

    The level is LISTENING_LUFS, lowered for all together where an excerpt's sample peak would pass
    PEAK_CEILING_DBFS (equal loudness matters more than the exact level). Silence and excerpts under
    400 ms have no integrated loudness: they keep their level (lowered only to avoid clipping), noted."""
    from harness.metrics import Unmeasurable
    from harness.metrics.loudness import integrated_lufs

    level = LISTENING_LUFS
    for track, x in excerpts:
        if x is None:
            continue
        try:
            track.source_lufs = float(integrated_lufs(x, sr))
        except Unmeasurable as exc:
            track.note = (track.note + "; " if track.note else "") + f"played at its own level ({exc})"
            continue
        headroom = PEAK_CEILING_DBFS - (_peak_db(x) + (LISTENING_LUFS - track.source_lufs))
        level = min(level, LISTENING_LUFS + headroom)
    for track, x in excerpts:
        if x is None:
            continue
        if track.source_lufs is not None:
            track.gain_db = level - track.source_lufs
        else:
            track.gain_db = min(0.0, PEAK_CEILING_DBFS - _peak_db(x))
    return level


def _peak_db(x: np.ndarray) -> float:
    peak = float(np.max(np.abs(x))) if x.size else 0.0
    return 20.0 * math.log10(peak) if peak > 0 else -math.inf


def _write_excerpt(path: Path, audio: np.ndarray, sr: int) -> Path:
    from harness.audio import write_wav

    return write_wav(path, np.clip(audio, -1.0, 1.0), sr, subtype="PCM_16")  # atomic (harness/atomic.py)


def _spectrum(audio: np.ndarray, sr: int) -> list[tuple[float, float]]:
    """1/3-octave band levels (dB re full-scale sine) of the mono downmix; none for silence."""
    from harness.metrics import Unmeasurable
    from harness.metrics.spectral import BAND_FLOOR_DB, tonal_balance_db

    try:
        bands = tonal_balance_db(audio, sr)
    except Unmeasurable:
        return []
    return [(float(f), float(v)) for f, v in zip(bands.centres_hz, bands.levels_db) if v > BAND_FLOOR_DB]


def _loudness_curve(audio: np.ndarray, sr: int) -> list[tuple[float, float]]:
    """Momentary loudness (400 ms) at the end of each window, LUFS; quieter than the -70 LUFS gate left out."""
    from harness.metrics import Unmeasurable
    from harness.metrics.loudness import momentary_loudness_lufs

    try:
        series = momentary_loudness_lufs(audio, sr, hop_s=LOUDNESS_HOP_S)
    except Unmeasurable:
        return []
    return [(round(0.4 + j * LOUDNESS_HOP_S, 3), float(v)) for j, v in enumerate(series)
            if math.isfinite(v) and v > LOUDNESS_CURVE_FLOOR_LUFS]

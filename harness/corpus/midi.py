"""Real compositions, rendered: music21's bundled corpus played through FluidSynth's GM soundfont.

A seed picks a piece with three or more parts (Bach chorales, Haydn/Mozart/Beethoven quartets and
other classical scores, Monteverdi madrigals), a transposition, a tempo and a bar-aligned
segment; the genre picks General MIDI programs per role (melody = top part, inner parts,
bass = lowest part, an octave down where the instrument reaches) plus optional doubling layers
(a sustained pad under the inner parts, sung "oohs" on the melody) and, for groove genres,
re-articulates long notes as repeated eighths so a chorale can sit on a drum loop.

Speed. Parsing a score with music21 costs 0.05–1 s and loading the 140 MB soundfont ~0.15 s, so:

* the corpus index (paths, part counts, metres) and every parsed piece are cached as JSON in
  `subdir("midi")`, keyed by the music21 version;
* the soundfont is loaded once per process into a "keeper" synth (libfluidsynth through ctypes,
  no Python binding needed), and every render gets a *fresh* synth that borrows that soundfont
  (`fluid_synth_add_sfont`, ~0.5 ms). A fresh synth per render is what makes renders
  byte-identical: a reused synth keeps voice/filter state across `system_reset` (measured:
  0.0004 differences). FluidSynth's own reverb and chorus are off; arrangement.py adds space.

Only the 10 s that a clip needs are synthesized (~20–80 ms for 4–6 parts at 48 kHz).
"""

from __future__ import annotations

import ctypes
import ctypes.util
import hashlib
import importlib.util
import json
import os
import threading
import zlib
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import numpy as np

from harness.atomic import write_text_atomic
from harness.paths import subdir

SOUNDFONT_CANDIDATES = (
    "/usr/share/sounds/sf2/FluidR3_GM.sf2",
    "/usr/share/soundfonts/FluidR3_GM.sf2",
    "/usr/share/sounds/sf2/default-GM.sf2",
)
INDEX_VERSION = 3  # bump when the filter below changes
PIECE_VERSION = 2  # bump when _parse changes

# Corpus folders by texture. Homophonic chorales groove best; polyphony suits pads and strings.
GROUPS = {
    "chorale": ("bach",),
    "classical": (
        "haydn", "mozart", "beethoven", "schumann_robert", "schumann_clara", "schubert", "weber",
        "handel", "corelli", "beach", "johnson_j_r",
    ),
    "polyphony": ("monteverdi",),
}
# Left out on purpose: their encodings carry usage terms that audio derived from them may break:
# palestrina ("Rights to all derivative electronic formats reserved", OSU Humdrum licence),
# trecento (edition copyright), josquin (encoder's copyright), essenFolksong (non-commercial,
# and single-line anyway). See docs/corpus-sources.md.
EXCLUDED_FOLDERS = ("palestrina", "trecento", "josquin", "essenFolksong")
GENRE_GROUPS = {
    "pop": {"chorale": 0.6, "classical": 0.3, "polyphony": 0.1},
    "rock": {"chorale": 0.8, "classical": 0.2},
    "electronic": {"chorale": 0.5, "classical": 0.2, "polyphony": 0.3},
    "hiphop": {"chorale": 0.6, "classical": 0.4},
    "ambient": {"chorale": 0.3, "classical": 0.2, "polyphony": 0.5},
    "acoustic": {"chorale": 0.4, "classical": 0.3, "polyphony": 0.3},
}
GROOVE_METRES = {"4/4", "2/2", "2/4", "4/2"}  # beats per bar divide four: drum loops fit

# General MIDI programs (0-based) per role and genre.
PROGRAMS = {
    "pop": {
        "melody": (0, 4, 73, 65, 11, 53, 27),
        "inner": (0, 4, 5, 48, 25, 27, 89),
        "bass": (33, 34, 38, 32),
        "pad": (48, 49, 89, 50),
        "vox": (52, 53),
    },
    "rock": {
        "melody": (29, 30, 27, 18, 26),
        "inner": (29, 30, 27, 18, 16, 25),
        "bass": (34, 33),
        "pad": (18, 16, 48),
        "vox": (53,),
    },
    "electronic": {
        "melody": (80, 81, 90, 98, 100, 54, 84),
        "inner": (90, 88, 81, 50, 95, 62, 4),
        "bass": (38, 39, 87),
        "pad": (89, 90, 94, 95, 50),
        "vox": (54, 91),
    },
    "hiphop": {
        "melody": (4, 5, 11, 65, 0, 73, 26),
        "inner": (4, 5, 0, 48, 26, 11),
        "bass": (38, 33, 39, 35),
        "pad": (48, 89, 49),
        "vox": (53, 54),
    },
    "ambient": {
        "melody": (88, 94, 73, 11, 46, 98, 75, 52),
        "inner": (89, 91, 92, 49, 50, 52, 95, 99, 48),
        "bass": (89, 49, 42, 43, 92),
        "pad": (89, 92, 94, 95, 88),
        "vox": (52, 91),
    },
    "acoustic": {
        "melody": (73, 40, 71, 68, 24, 25, 74, 0),
        "inner": (24, 25, 0, 41, 42, 46, 45, 48),
        "bass": (32, 42, 43),
        "pad": (48, 49, 19),
        "vox": (52, 53),
    },
}
# Lowest playable MIDI note per bass program (an octave-down bass only where it fits).
BASS_FLOOR = {32: 28, 33: 28, 34: 28, 35: 28, 38: 24, 39: 24, 87: 24, 42: 36, 43: 28, 49: 28, 89: 24, 92: 24}
# How each genre plays the chorale: probability of re-articulating long notes as eighths.
RHYTHMIZE = {"pop": 0.5, "rock": 0.8, "electronic": 0.7, "hiphop": 0.3, "ambient": 0.0, "acoustic": 0.4}
PAD_PROB = {"pop": 0.5, "rock": 0.25, "electronic": 0.7, "hiphop": 0.5, "ambient": 0.9, "acoustic": 0.3}
VOX_PROB = {"pop": 0.35, "rock": 0.1, "electronic": 0.2, "hiphop": 0.15, "ambient": 0.3, "acoustic": 0.3}
ROLE_GROUPS = ("melody", "inner", "bass", "double")
# Bowed, sung and pad programs: never re-articulated (long releases would pile up voices).
SUSTAINED = frozenset({*range(40, 45), *range(48, 56), *range(88, 96), 19, 99})


# ---------------------------------------------------------------------------------------------
# availability


def soundfont_path() -> Path | None:
    if env := os.environ.get("DAWG_BENCH_SOUNDFONT"):
        return Path(env) if Path(env).is_file() else None
    return next((Path(p) for p in SOUNDFONT_CANDIDATES if Path(p).is_file()), None)


def library_name() -> str | None:
    name = ctypes.util.find_library("fluidsynth")
    if name:
        return name
    for candidate in ("libfluidsynth.so.3", "libfluidsynth.so.2", "libfluidsynth.dylib"):
        try:
            ctypes.CDLL(candidate)
            return candidate
        except OSError:
            continue
    return None


def unavailable_reason() -> str | None:
    """None when MIDI rendering works here, else why not (short, for layer names and the CLI)."""
    if importlib.util.find_spec("music21") is None:
        return "music21 not installed"
    if library_name() is None:
        return "fluidsynth not installed"
    if soundfont_path() is None:
        return "GM soundfont not installed"
    return None


def fluidsynth_version() -> str:
    lib = _lib()
    major, minor, micro = ctypes.c_int(), ctypes.c_int(), ctypes.c_int()
    lib.fluid_version(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(micro))
    return f"{major.value}.{minor.value}.{micro.value}"


def music21_version() -> str:
    from importlib.metadata import version

    return version("music21")


# ---------------------------------------------------------------------------------------------
# corpus index and parsed pieces


@dataclass(frozen=True)
class Piece:
    key: str  # corpus path, e.g. "bach/bwv66.6.mxl"
    metre: str
    bar_q: float  # bar length in quarter notes
    beat_q: float  # beat length in quarter notes
    downbeat_q: float  # offset of the first full bar (after any pickup)
    length_q: float
    parts: tuple[np.ndarray, ...] = field(repr=False)  # per part, top first: (k, 3) start_q, dur_q, midi


def _cache_dir() -> Path:
    return subdir("midi")


@lru_cache(maxsize=4)
def corpus_index() -> list[dict]:
    """Candidate pieces (3–6 parts, 60–1600 notes: bigger scores take seconds to parse) from music21's metadata;
    cached as JSON.
    """
    path = _cache_dir() / f"index-m21-{music21_version()}-v{INDEX_VERSION}.json"
    if path.exists():
        return json.loads(path.read_text())
    from music21 import corpus

    bundle = corpus.corpora.CoreCorpus().metadataBundle
    folder_group = {d: g for g, dirs in GROUPS.items() for d in dirs}
    rows = []
    # the bundle's public indexing rebuilds its entry list on every item, so iterate the entries directly
    for entry in bundle._metadataEntries.values():  # noqa: SLF001 - no linear public iteration in music21
        md = entry.metadata
        parts = getattr(md, "numberOfParts", None)
        source = str(entry.sourcePath)
        group = folder_group.get(source.split("/")[0])
        if group is None or entry.number is not None or not parts or not 3 <= parts <= 6:
            continue
        notes = getattr(md, "noteCount", None) or 0
        if not 60 <= notes <= 1600:
            continue
        rows.append({"path": source, "group": group, "parts": parts, "metre": md.timeSignatureFirst or "4/4"})
    rows.sort(key=lambda r: r["path"])
    write_text_atomic(path, json.dumps(rows))
    return rows


@lru_cache(maxsize=512)
def load_piece(key: str) -> Piece | None:
    """Parse (or read from the cache) one corpus piece; None when it has fewer than 3 voiced parts."""
    digest = hashlib.sha1(key.encode()).hexdigest()[:16]
    path = _cache_dir() / "pieces" / f"{digest}-m21-{music21_version()}-v{PIECE_VERSION}.json"
    if path.exists():
        data = json.loads(path.read_text())
    else:
        data = _parse(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        write_text_atomic(path, json.dumps(data))
    if data is None:
        return None
    return Piece(
        key=key,
        metre=data["metre"],
        bar_q=data["bar_q"],
        beat_q=data["beat_q"],
        downbeat_q=data["downbeat_q"],
        length_q=data["length_q"],
        parts=tuple(_frozen(np.asarray(p, dtype=np.float64).reshape(-1, 3)) for p in data["parts"]),
    )


def _parse(key: str) -> dict | None:
    from music21 import corpus, meter, stream

    try:
        score = corpus.parse(key)
    except Exception:  # noqa: BLE001 - a corpus piece music21 cannot parse is skipped
        return None
    parts = []
    for part in score.parts:
        notes = _part_notes(part)
        if notes:
            notes.sort()
            parts.append(notes)
    if len(parts) < 3:
        return None
    parts.sort(key=lambda ns: -float(np.mean([n[2] for n in ns])))  # top voice first, bass last
    ts = score.recurse().getElementsByClass(meter.TimeSignature).first() or meter.TimeSignature("4/4")
    bar_q, beat_q = float(ts.barDuration.quarterLength), float(ts.beatDuration.quarterLength)
    measures = list(score.parts[0].getElementsByClass(stream.Measure))
    downbeat = 0.0
    if len(measures) > 1 and float(measures[0].duration.quarterLength) < bar_q - 1e-6:
        downbeat = float(measures[1].offset)
    length = max(n[0] + n[1] for ns in parts for n in ns)
    return {
        "metre": ts.ratioString,
        "bar_q": bar_q,
        "beat_q": beat_q,
        "downbeat_q": downbeat,
        "length_q": float(length),
        "parts": parts,
    }


def _part_notes(part) -> list[tuple[float, float, int]]:
    """(offset, duration, midi) per sounding note, tied notes merged (like stripTies, 10x faster)."""
    notes: list[tuple[float, float, int]] = []
    open_ties: dict[int, int] = {}
    for el in part.flatten().notes:
        dur = float(el.quarterLength)
        if dur <= 0:  # grace notes
            continue
        off = float(el.offset)
        for nt in el.notes if el.isChord else (el,):
            key = int(nt.pitch.midi)
            tie = nt.tie if nt.tie is not None else getattr(el, "tie", None)
            kind = tie.type if tie is not None else None
            if kind in ("stop", "continue") and key in open_ties:
                i = open_ties[key]
                start = notes[i][0]
                notes[i] = (start, max(notes[i][1], off + dur - start), key)
                if kind == "stop":
                    del open_ties[key]
                continue
            notes.append((off, dur, key))
            if kind == "start":
                open_ties[key] = len(notes) - 1
    return notes


def material_key(piece: str) -> str:
    """The piece as source material ("midi:bach/bwv416"): what split hygiene and clusters key on."""
    return f"midi:{piece.rsplit('.', 1)[0]}"


def piece_pool(genre: str, groove: bool, size: int | None = None) -> list[str]:
    """A fixed, genre-specific list of candidate pieces (bounded, so a cold cache parses few)."""
    return list(_piece_pool(genre, groove, size or int(os.environ.get("DAWG_BENCH_MIDI_POOL", "32"))))


@lru_cache(maxsize=64)
def _piece_pool(genre: str, groove: bool, size: int) -> tuple[str, ...]:
    rows = corpus_index()
    if groove:
        rows = [r for r in rows if r["metre"] in GROOVE_METRES]
    weights = GENRE_GROUPS.get(genre, GENRE_GROUPS["pop"])
    rng = np.random.default_rng(zlib.crc32(f"pool:{genre}:{groove}".encode()))
    pool: list[str] = []
    for group, weight in weights.items():
        members = [r["path"] for r in rows if r["group"] == group]
        if not members:
            continue
        take = min(len(members), max(1, int(round(weight * size))))
        pool += [members[i] for i in sorted(rng.choice(len(members), take, replace=False))]
    return tuple(pool)


# ---------------------------------------------------------------------------------------------
# arranging a segment


@dataclass(frozen=True)
class MidiPart:
    role: str  # melody | inner | bass | double
    program: int
    notes: np.ndarray  # (k, 4): start_s, dur_s, midi, velocity
    pan: float  # -1 … 1 (MIDI CC10 inside the role's stem)


@dataclass(frozen=True)
class MidiRender:
    stems: dict[str, np.ndarray]  # role -> (2, n) float32, only roles that play
    programs: dict[str, tuple[int, ...]]
    piece: str
    transpose: int
    tempo_bpm: float
    beat_s: float
    description: str


def plan_segment(
    seed: int,
    genre: str,
    seconds: float,
    *,
    tempo_bpm: float | None = None,
    tempo_range: tuple[float, float] = (90.0, 120.0),
    groove: bool = False,
    allowed: Callable[[str], bool] | None = None,
) -> tuple[Piece, list[MidiPart], dict] | None:
    """Choose piece, transposition, tempo, segment and programs for a seed; no audio yet.
    `allowed(material key)` restricts the pieces (a corpus split's own material, "midi:<piece>")."""
    rng = np.random.default_rng([seed, zlib.crc32(f"midi:{genre}".encode())])
    pool = [p for p in piece_pool(genre, groove) if allowed is None or allowed(material_key(p))]
    if not pool:
        return None
    piece = None
    start = int(rng.integers(len(pool)))
    for i in range(len(pool)):  # deterministic: first parseable piece from the seeded start
        piece = load_piece(pool[(start + i) % len(pool)])
        if piece is not None:
            break
    if piece is None:
        return None
    programs = PROGRAMS.get(genre, PROGRAMS["pop"])
    tempo = float(tempo_bpm) if tempo_bpm else float(rng.uniform(*tempo_range))
    # groove: the drum "beat" is a quarter for x/4 metres, a half for x/2 (Palestrina's tactus)
    beat_q = 2.0 if piece.metre.endswith("/2") else (piece.beat_q if not groove else 1.0)
    s_per_q = 60.0 / tempo / beat_q
    transpose = int(rng.integers(-5, 7))
    seg_q = seconds / s_per_q
    n_bars = max(1, int((piece.length_q - piece.downbeat_q - seg_q) // piece.bar_q))
    start_q = piece.downbeat_q + piece.bar_q * int(rng.integers(n_bars)) if piece.length_q > seg_q else 0.0
    rhythmize = rng.random() < RHYTHMIZE.get(genre, 0.0)
    grid_q = beat_q / 2

    def segment(notes: np.ndarray) -> np.ndarray:
        """Notes sounding in [start_q, start_q + seg_q), the piece looped if it is short."""
        out = []
        period = max(piece.length_q, piece.bar_q)
        first_rep = int(start_q // period)
        for rep in range(first_rep, first_rep + int(np.ceil(seg_q / period)) + 2):
            shifted = notes.copy()
            shifted[:, 0] += rep * period - start_q
            keep = (shifted[:, 0] + shifted[:, 1] > 0) & (shifted[:, 0] < seg_q)
            out.append(shifted[keep])
        seg = np.concatenate(out) if out else np.zeros((0, 3))
        cut = seg[:, 0] < 0  # notes already sounding when the clip starts enter at 0
        seg[cut, 1] += seg[cut, 0]
        seg[cut, 0] = 0.0
        return seg

    def articulate(seg: np.ndarray, program: int) -> np.ndarray:
        if not rhythmize or len(seg) == 0 or program in SUSTAINED:
            return seg
        rows = []
        for s, d, m in seg:
            if d > grid_q * 1.5:
                k = int(d // grid_q)
                rows += [(s + j * grid_q, grid_q * 0.9, m) for j in range(k)]
            else:
                rows.append((s, d, m))
        return np.asarray(rows)

    def to_notes(seg: np.ndarray, vel: float, spread: float, accent: bool) -> np.ndarray:
        if len(seg) == 0:
            return np.zeros((0, 4))
        t = seg[:, 0] * s_per_q + rng.normal(0, 0.004, len(seg)).clip(-0.01, 0.01) * (seg[:, 0] > 0)
        d = np.maximum(seg[:, 1] * s_per_q - 0.01, 0.03)
        v = vel + rng.normal(0, spread, len(seg))
        if accent:
            on_beat = np.isclose((seg[:, 0] + start_q - piece.downbeat_q) % beat_q, 0, atol=1e-3)
            v += 8 * on_beat
        return np.column_stack([np.maximum(t, 0), d, seg[:, 2], np.clip(v, 30, 127)])

    voices = [segment(p) for p in piece.parts]
    voices = [v for v in voices if len(v)] or [segment(piece.parts[0])]
    for v in voices:
        v[:, 2] += transpose
    melody, bass, inner = voices[0], voices[-1], voices[1:-1]
    parts: list[MidiPart] = []
    prog_melody = int(rng.choice(programs["melody"]))
    parts.append(MidiPart("melody", prog_melody, to_notes(melody, 92, 6, True), float(rng.uniform(-0.15, 0.15))))
    inner_prog = [int(rng.choice(programs["inner"])) for _ in range(2)]
    pans = np.linspace(-1, 1, len(inner) + 2)[1:-1] * rng.uniform(0.4, 0.9) if inner else []
    for i, (v, pan) in enumerate(zip(inner, pans)):
        prog = inner_prog[i % 2]
        parts.append(MidiPart("inner", prog, to_notes(articulate(v, prog), 80, 7, True), float(pan)))
    prog_bass = int(rng.choice(programs["bass"]))
    bass = articulate(bass, prog_bass) if rng.random() < 0.6 else bass.copy()
    if len(bass) and bass[:, 2].min() - 12 >= BASS_FLOOR.get(prog_bass, 28):
        bass[:, 2] -= 12
    parts.append(MidiPart("bass", prog_bass, to_notes(bass, 95, 5, True), 0.0))
    if inner and rng.random() < PAD_PROB.get(genre, 0.3):
        pad = np.concatenate(inner)
        parts.append(MidiPart("double", int(rng.choice(programs["pad"])), to_notes(pad, 70, 4, False), 0.0))
    if rng.random() < VOX_PROB.get(genre, 0.2):
        parts.append(MidiPart("double", int(rng.choice(programs["vox"])), to_notes(melody, 85, 5, False), 0.0))
    info = {"tempo_bpm": tempo, "beat_s": 60.0 / tempo, "transpose": transpose, "start_q": start_q}
    return piece, parts, info


def render_segment(
    seed: int,
    genre: str,
    seconds: float,
    sr: int,
    *,
    tempo_bpm: float | None = None,
    tempo_range: tuple[float, float] = (90.0, 120.0),
    groove: bool = False,
    allowed: Callable[[str], bool] | None = None,
) -> MidiRender | None:
    """Render the seed's segment as per-role stereo stems at `sr`; None when no piece fits."""
    plan = plan_segment(seed, genre, seconds, tempo_bpm=tempo_bpm, tempo_range=tempo_range, groove=groove,
                        allowed=allowed)
    if plan is None:
        return None
    piece, parts, info = plan
    n = int(round(seconds * sr))
    stems = render_parts(parts, n, sr)
    programs: dict[str, tuple[int, ...]] = {}
    for p in parts:
        programs.setdefault(p.role, ())
        if p.program not in programs[p.role]:
            programs[p.role] += (p.program,)
    prog_text = ",".join(f"{r}={'+'.join(map(str, ps))}" for r, ps in programs.items())
    description = (f"{material_key(piece.key)}:programs={prog_text}:transpose={info['transpose']:+d}"
                   f":tempo={info['tempo_bpm']:.1f}")
    return MidiRender(
        stems=stems,
        programs=programs,
        piece=piece.key,
        transpose=info["transpose"],
        tempo_bpm=info["tempo_bpm"],
        beat_s=info["beat_s"],
        description=description,
    )


# ---------------------------------------------------------------------------------------------
# FluidSynth through ctypes

_LOCK = threading.Lock()
GEN_VOLENVRELEASE = 38  # SoundFont 2.01 generator: volume-envelope release, timecents
RELEASE_OFFSET_TC = -1800.0  # pads and strings: release time / 2.8 (measured: ~35 % faster renders)
_STATE: dict = {}
_V = ctypes.c_void_p
_I = ctypes.c_int


def _lib():
    if "lib" in _STATE:
        return _STATE["lib"]
    name = library_name()
    if name is None:
        raise RuntimeError("fluidsynth not installed")
    lib = ctypes.CDLL(name)
    sigs = {
        "new_fluid_settings": ([], _V),
        "delete_fluid_settings": ([_V], None),
        "fluid_settings_setnum": ([_V, ctypes.c_char_p, ctypes.c_double], _I),
        "fluid_settings_setint": ([_V, ctypes.c_char_p, _I], _I),
        "new_fluid_synth": ([_V], _V),
        "delete_fluid_synth": ([_V], None),
        "fluid_synth_sfload": ([_V, ctypes.c_char_p, _I], _I),
        "fluid_synth_get_sfont_by_id": ([_V, _I], _V),
        "fluid_synth_add_sfont": ([_V, _V], _I),
        "fluid_synth_remove_sfont": ([_V, _V], _I),
        "fluid_synth_program_select": ([_V, _I, _I, _I, _I], _I),
        "fluid_synth_cc": ([_V, _I, _I, _I], _I),
        "fluid_synth_set_gen": ([_V, _I, _I, ctypes.c_float], _I),
        "fluid_synth_noteon": ([_V, _I, _I, _I], _I),
        "fluid_synth_noteoff": ([_V, _I, _I], _I),
        "fluid_synth_process": ([_V, _I, _I, _V, _I, ctypes.POINTER(ctypes.c_void_p)], _I),
        "fluid_set_log_function": ([_I, _V, _V], _V),
        "fluid_version": ([ctypes.POINTER(_I)] * 3, None),
    }
    for fn, (args, res) in sigs.items():
        f = getattr(lib, fn)
        f.argtypes, f.restype = args, res
    for level in (1, 2, 3, 4):  # ERR, WARN, INFO, DBG: keep the C library quiet; we check results
        lib.fluid_set_log_function(level, None, None)
    _STATE["lib"] = lib
    return lib


def _settings(lib, sr: int, groups: int):
    s = lib.new_fluid_settings()
    lib.fluid_settings_setnum(s, b"synth.sample-rate", float(sr))
    lib.fluid_settings_setint(s, b"synth.reverb.active", 0)
    lib.fluid_settings_setint(s, b"synth.chorus.active", 0)
    lib.fluid_settings_setint(s, b"synth.cpu-cores", 1)
    lib.fluid_settings_setint(s, b"synth.audio-channels", groups)
    lib.fluid_settings_setint(s, b"synth.audio-groups", groups)
    lib.fluid_settings_setnum(s, b"synth.gain", 0.3)
    return s


def _keeper_sfont(sr: int):
    """The process-wide loaded soundfont (its owner synth is kept alive for the process)."""
    lib = _lib()
    if "sfont" not in _STATE:
        path = soundfont_path()
        if path is None:
            raise RuntimeError("GM soundfont not installed")
        settings = _settings(lib, sr, 1)
        synth = lib.new_fluid_synth(settings)
        sfid = lib.fluid_synth_sfload(synth, str(path).encode(), 0)
        if sfid < 0:
            raise RuntimeError(f"fluidsynth could not load {path}")
        _STATE.update(sfont=lib.fluid_synth_get_sfont_by_id(synth, sfid), keeper=(settings, synth))
    return _STATE["sfont"]


def render_parts(parts: list[MidiPart], n: int, sr: int) -> dict[str, np.ndarray]:
    """Synthesize `parts` into one stereo stem per role, n samples at sr, float32, deterministic."""
    roles = [r for r in ROLE_GROUPS if any(p.role == r for p in parts)]
    group = {r: i for i, r in enumerate(roles)}
    with _LOCK:
        lib = _lib()
        sfont = _keeper_sfont(sr)
        settings = _settings(lib, sr, len(roles))
        synth = lib.new_fluid_synth(settings)
        try:
            sfid = lib.fluid_synth_add_sfont(synth, sfont)
            events = []  # (sample, kind, channel, key, velocity); note-offs sort first
            used: dict[str, int] = {}
            for part in parts:
                # FluidSynth sends MIDI channel c to output group c % groups
                chans = [c for c in range(16) if c != 9 and c % len(roles) == group[part.role]]
                chan = chans[used.get(part.role, 0) % len(chans)]
                used[part.role] = used.get(part.role, 0) + 1
                lib.fluid_synth_program_select(synth, chan, sfid, 0, part.program)
                lib.fluid_synth_cc(synth, chan, 7, 100)
                lib.fluid_synth_cc(synth, chan, 10, int(round(64 + 63 * np.clip(part.pan, -1, 1))))
                lib.fluid_synth_cc(synth, chan, 91, 0)
                lib.fluid_synth_cc(synth, chan, 93, 0)
                if part.program in SUSTAINED:  # shorter release tails: fewer overlapping voices
                    lib.fluid_synth_set_gen(synth, chan, GEN_VOLENVRELEASE, RELEASE_OFFSET_TC)
                for start, dur, key, vel in part.notes:
                    if not 0 <= key <= 127:
                        continue
                    on = int(round(start * sr))
                    off = int(round((start + dur) * sr))
                    events.append((on, 1, chan, int(key), int(vel)))
                    events.append((off, 0, chan, int(key), 0))
            events.sort()
            out = np.zeros((2 * len(roles), n), dtype=np.float32)
            ptr_type = ctypes.c_void_p * (2 * len(roles))
            base = out.ctypes.data
            row = out.strides[0]
            pos = 0
            for when, kind, chan, key, vel in events:
                when = min(when, n)
                if when > pos:
                    _process(lib, synth, out, base, row, ptr_type, pos, when)
                    pos = when
                if pos >= n:
                    break
                if kind:
                    lib.fluid_synth_noteon(synth, chan, key, vel)
                else:
                    lib.fluid_synth_noteoff(synth, chan, key)
            if pos < n:
                _process(lib, synth, out, base, row, ptr_type, pos, n)
            lib.fluid_synth_remove_sfont(synth, sfont)
        finally:
            lib.delete_fluid_synth(synth)
            lib.delete_fluid_settings(settings)
    return {r: out[2 * group[r] : 2 * group[r] + 2] for r in roles}


def _process(lib, synth, out, base, row, ptr_type, start: int, end: int) -> None:
    step = 8192
    while start < end:
        m = min(step, end - start)
        ptrs = ptr_type(*[base + c * row + 4 * start for c in range(out.shape[0])])
        lib.fluid_synth_process(synth, m, 0, None, out.shape[0], ptrs)
        start += m


def _frozen(a: np.ndarray) -> np.ndarray:
    a.setflags(write=False)
    return a

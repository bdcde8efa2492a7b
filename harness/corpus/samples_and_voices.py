"""Recorded sound as layers: Sonic Pi's CC0 drum loops and one-shots, and espeak-ng voice phrases.

* Drum loops (`loop_amen`, `loop_breakbeat`, …) are played at their own tempo, or resampled by at
  most ±8 % to the arrangement's (soxr: pitch moves with tempo, like a turntable — acceptable for
  drums), and tiled sample-exactly so they never drift against the MIDI parts.
* One-shot hits (`drum_*`, `bd_*`, `sn_*`, `elec_*`) are sequenced into genre grooves.
* Voice phrases: seeded short lyric lines spoken by espeak-ng (voice, speed, pitch by seed),
  cached as WAV in `subdir("voices")`, placed on bar lines.
* Textures: ambient beds and vinyl hiss.

Everything is deterministic for a seed; missing packages are reported by `*_unavailable_reason()`.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import soundfile as sf

from harness.atomic import atomic_path
from harness.paths import subdir

SAMPLE_DIR_CANDIDATES = (
    "/usr/share/sonic-pi/samples",
    "/usr/lib/sonic-pi/etc/samples",
    "/opt/sonic-pi/etc/samples",
    "/Applications/Sonic Pi.app/Contents/Resources/etc/samples",
)


@dataclass(frozen=True)
class Loop:
    name: str
    beats: int  # beats in one pass of the file (measured: onset grid salience, see docs)
    role: str = "drums"  # drums | perc (lighter percussion, layered under other drums)

    def bpm(self, seconds: float) -> float:
        return 60.0 * self.beats / seconds


# Beat counts measured with an onset-grid salience search over 60–190 BPM (docs/corpus-sources.md).
LOOPS = {
    "loop_amen": Loop("loop_amen", 4),  # 136.9 BPM
    "loop_amen_full": Loop("loop_amen_full", 16),  # 140.0
    "loop_breakbeat": Loop("loop_breakbeat", 4),  # 126.0
    "loop_compus": Loop("loop_compus", 16),  # 148.0
    "loop_garzul": Loop("loop_garzul", 16),  # 120.0
    "loop_mika": Loop("loop_mika", 16),  # 120.0
    "loop_safari": Loop("loop_safari", 16, "perc"),  # 119.9
    "loop_tabla": Loop("loop_tabla", 16, "perc"),  # 89.9
    "loop_industrial": Loop("loop_industrial", 2),  # 135.8
    "loop_mehackit1": Loop("loop_mehackit1", 4),  # 97.0
    "loop_mehackit2": Loop("loop_mehackit2", 4),  # 97.0
    "loop_perc1": Loop("loop_perc1", 4, "perc"),  # 97.0
    "loop_perc2": Loop("loop_perc2", 4, "perc"),  # 97.0
    "loop_electric": Loop("loop_electric", 4, "perc"),  # 97.0
}
GENRE_LOOPS = {
    "pop": ("loop_breakbeat", "loop_mika", "loop_garzul", "loop_safari", "loop_mehackit2"),
    "rock": ("loop_amen", "loop_amen_full", "loop_breakbeat"),
    "electronic": ("loop_industrial", "loop_mika", "loop_garzul", "loop_compus", "loop_electric", "loop_perc1"),
    "hiphop": ("loop_mehackit1", "loop_mehackit2", "loop_perc2", "loop_compus", "loop_amen", "loop_breakbeat"),
    "ambient": ("loop_tabla", "loop_perc2"),
    "acoustic": ("loop_tabla", "loop_safari", "loop_perc1", "loop_perc2"),
}
KITS = {
    "rock": {
        "kick": ("drum_heavy_kick", "drum_bass_hard", "bd_fat"),
        "snare": ("drum_snare_hard", "sn_dolf"),
        "hat": ("drum_cymbal_closed", "drum_cymbal_pedal"),
        "open": ("drum_cymbal_open", "drum_cymbal_soft"),
        "crash": ("drum_splash_hard", "drum_cymbal_hard"),
        "tom": ("drum_tom_hi_hard", "drum_tom_mid_hard", "drum_tom_lo_hard"),
    },
    "pop": {
        "kick": ("drum_bass_hard", "bd_haus", "bd_ada", "bd_tek"),
        "snare": ("drum_snare_soft", "sn_generic", "perc_snap", "sn_dolf"),
        "hat": ("drum_cymbal_closed", "elec_tick", "drum_cymbal_pedal"),
        "open": ("drum_cymbal_open",),
        "crash": ("drum_splash_soft", "drum_splash_hard"),
        "tom": ("drum_tom_hi_soft", "drum_tom_mid_soft", "drum_tom_lo_soft"),
    },
    "electronic": {
        "kick": ("bd_haus", "bd_klub", "bd_tek", "bd_sone", "bd_zome"),
        "snare": ("elec_snare", "elec_hi_snare", "sn_zome", "perc_snap"),
        "hat": ("drum_cymbal_closed", "elec_tick", "elec_triangle"),
        "open": ("drum_cymbal_open", "elec_cymbal"),
        "crash": ("elec_cymbal", "drum_splash_soft"),
        "tom": ("elec_fuzz_tom", "elec_bong"),
    },
    "hiphop": {
        "kick": ("bd_boom", "bd_fat", "bd_gas", "bd_808", "bd_mehackit"),
        "snare": ("sn_dub", "sn_dolf", "sn_generic", "perc_snap"),
        "hat": ("drum_cymbal_closed", "drum_cymbal_pedal"),
        "open": ("drum_cymbal_open",),
        "crash": ("drum_splash_soft",),
        "tom": ("drum_tom_mid_soft", "drum_tom_lo_soft"),
    },
    "acoustic": {
        "kick": ("drum_bass_soft",),
        "snare": ("drum_snare_soft", "perc_snap2"),
        "hat": ("drum_cymbal_pedal", "drum_cymbal_closed"),
        "open": ("drum_cymbal_soft",),
        "crash": ("drum_splash_soft",),
        "tom": ("drum_tom_mid_soft", "drum_tom_lo_soft"),
    },
}
KITS["ambient"] = KITS["acoustic"]
# 16-step bar patterns per genre: (kick, snare, hat) strings, "x" = hit, "o" = open hat.
GROOVES = {
    "rock": (
        ("x.......x.x.....", "....x.......x...", "x.x.x.x.x.x.x.x."),
        ("x......xx.x.....", "....x.......x...", "x.x.x.x.x.x.x.x."),
        ("x.....x.x.......", "....x.......x..x", "x.x.x.x.x.x.x.o."),
    ),
    "pop": (
        ("x.........x.....", "....x.......x...", "x.x.x.x.x.x.x.x."),
        ("x.....x...x.....", "....x.......x...", "xxxxxxxxxxxxxxxx"),
        ("x.......x.......", "....x.......x...", "x.x.x.x.x.x.x.o."),
    ),
    "electronic": (
        ("x...x...x...x...", "....x.......x...", "..o...o...o...o."),
        ("x...x...x...x...", "....x.......x...", "xxoxxxoxxxoxxxox"),
        ("x...x...x...x..x", "........x.......", "..x...x...x...x."),
    ),
    "hiphop": (
        ("x......x.x......", "....x.......x...", "x.x.x.x.x.x.x.x."),
        ("x.........x.x...", "....x.......x...", "x.x.x.x.x.x.x.x."),
        ("x..x......x.....", "....x.......x..x", "x.xxx.x.x.xxx.x."),
    ),
    "acoustic": (
        ("x.......x.......", "....x.......x...", "x...x...x...x..."),
        ("x.....x.........", "....x.......x...", "x.x.x.x.x.x.x.x."),
    ),
}
GROOVES["ambient"] = GROOVES["acoustic"]
TEXTURES = {
    "ambient": ("ambi_choir", "ambi_glass_hum", "ambi_haunted_hum", "ambi_lunar_land", "ambi_sauna",
                "ambi_dark_woosh", "ambi_drone", "ambi_glass_rub"),
    "hiphop": ("vinyl_hiss",),
    "electronic": ("ambi_lunar_land", "ambi_soft_buzz", "ambi_dark_woosh"),
    "acoustic": ("ambi_sauna",),
    "pop": ("ambi_swoosh",),
}
VOICES = ("en-us", "en-gb", "en-us+f3", "en-us+m3", "en-gb+f2", "en-gb-x-rp", "en-029", "en-us+f4",
          "en-gb-scotland", "en-us+klatt2")
LYRICS = (
    "hold on to the night", "we were young and running", "lights are low tonight", "take me home again",
    "city never sleeps", "all the stars are falling", "you and me forever", "dancing in the rain",
    "never let me go", "feel the summer fire", "we can make it right", "echoes in the dark",
    "turn it up now", "one more time", "heart beats slow", "call my name",
    "out on the highway", "golden afternoon", "under silver skies", "wait for the morning",
    "everybody move", "waves upon the shore", "keep it moving", "breathe in breathe out",
    "sing it louder", "no more tears", "across the water", "ride the rhythm",
    "open up the door", "higher and higher", "back to the start", "stay with me",
)


# ---------------------------------------------------------------------------------------------
# availability


def samples_dir() -> Path | None:
    if env := os.environ.get("DAWG_BENCH_SONICPI_SAMPLES"):
        return Path(env) if Path(env).is_dir() else None
    for cand in SAMPLE_DIR_CANDIDATES:
        if (Path(cand) / "loop_amen.flac").is_file():
            return Path(cand)
    return _dpkg_samples_dir()


@lru_cache(maxsize=1)
def _dpkg_samples_dir() -> Path | None:
    if shutil.which("dpkg") is None:
        return None
    try:
        out = subprocess.run(["dpkg", "-L", "sonic-pi-samples"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return None
    hits = [Path(line) for line in out.splitlines() if line.endswith("/loop_amen.flac")]
    return hits[0].parent if hits else None


def espeak_binary() -> str | None:
    """`$DAWG_BENCH_ESPEAK` (a path or command name; empty or missing = unavailable), else espeak-ng."""
    if "DAWG_BENCH_ESPEAK" in os.environ:
        return shutil.which(os.environ["DAWG_BENCH_ESPEAK"]) if os.environ["DAWG_BENCH_ESPEAK"] else None
    return shutil.which("espeak-ng")


def samples_unavailable_reason() -> str | None:
    return None if samples_dir() is not None else "sonic-pi-samples not installed"


def voice_unavailable_reason() -> str | None:
    return None if espeak_binary() is not None else "espeak-ng not installed"


def sample_names() -> list[str]:
    root = samples_dir()
    return list(_names_in(str(root))) if root else []


@lru_cache(maxsize=8)
def _names_in(root: str) -> tuple[str, ...]:
    return tuple(sorted(p.stem for p in Path(root).glob("*.flac")))


# ---------------------------------------------------------------------------------------------
# sample loading (memory cache per process: a flac read + resample costs 2–15 ms)



@lru_cache(maxsize=256)
def load_sample(name: str, sr: int) -> np.ndarray:
    """A Sonic Pi sample as (2, n) float32 at `sr` (mono duplicated). Read-only array."""
    root = samples_dir()
    if root is None:
        raise FileNotFoundError("sonic-pi-samples not installed")
    data, file_sr = sf.read(str(root / f"{name}.flac"), dtype="float64", always_2d=True)
    x = data.T
    if x.shape[0] == 1:
        x = np.repeat(x, 2, axis=0)
    x = _resample(x, file_sr, sr).astype(np.float32)
    x.setflags(write=False)
    return x


def _resample(x: np.ndarray, sr_in: float, sr_out: float) -> np.ndarray:
    if sr_in == sr_out:
        return np.ascontiguousarray(x)
    import soxr

    return np.ascontiguousarray(soxr.resample(np.ascontiguousarray(x.T), sr_in, sr_out, quality="HQ").T)


def loop_bpm(name: str) -> float:
    root = samples_dir()
    info = sf.info(str(root / f"{name}.flac"))
    return LOOPS[name].bpm(info.frames / info.samplerate)


# ---------------------------------------------------------------------------------------------
# drums


def drum_loop(name: str, tempo_bpm: float, n: int, sr: int, *, start_beat: int = 0) -> np.ndarray:
    """Tile a loop at `tempo_bpm` (resampled from its own tempo) into (2, n), sample-exact."""
    loop = LOOPS[name]
    x = load_sample(name, sr)
    period = loop.beats * 60.0 / tempo_bpm * sr  # samples per pass at the target tempo
    length = int(round(period))
    if abs(length - x.shape[1]) > 1:
        x = _resample(x, x.shape[1], length)
    x = _fit(x, length)
    fade = min(64, length // 4)
    x = x.copy()
    x[:, length - fade :] *= np.linspace(1.0, 0.0, fade)  # no click where the pass wraps
    out = np.zeros((2, n), dtype=np.float32)
    offset = -(start_beat % loop.beats) * 60.0 / tempo_bpm * sr
    k = 0
    while True:
        pos = int(round(offset + k * period))
        if pos >= n:
            break
        a, b = max(pos, 0), min(pos + length, n)
        if b > a:
            out[:, a:b] += x[:, a - pos : b - pos]
        k += 1
    return out


def _fit(x: np.ndarray, length: int) -> np.ndarray:
    if x.shape[1] >= length:
        return x[:, :length]
    return np.pad(x, ((0, 0), (0, length - x.shape[1])))


def drum_kit(
    rng: np.random.Generator,
    genre: str,
    tempo_bpm: float,
    n: int,
    sr: int,
    *,
    swing: float = 0.0,
    sparse: bool = False,
) -> tuple[np.ndarray, str]:
    """Sequence recorded one-shots into a genre groove; returns (2, n) and a description."""
    kit = KITS.get(genre, KITS["pop"])
    grooves = GROOVES.get(genre, GROOVES["pop"])
    kick_p, snare_p, hat_p = grooves[int(rng.integers(len(grooves)))]
    pick = {role: str(rng.choice(names)) for role, names in kit.items()}
    step = 60.0 / tempo_bpm / 4 * sr
    out = np.zeros((2, n + 4 * sr), dtype=np.float32)
    gains = {"kick": 1.0, "snare": 0.8, "hat": 0.35, "open": 0.3, "crash": 0.35, "tom": 0.6}
    hat_pan = rng.uniform(-0.4, 0.4)
    pans = {"kick": 0.0, "snare": rng.uniform(-0.1, 0.1), "hat": hat_pan, "open": hat_pan, "crash": -hat_pan,
            "tom": 0.0}
    steps = int(np.ceil(n / step)) + 1
    bars = steps // 16 + 1
    fill_bars = {b for b in range(bars) if b % 4 == 3 and rng.random() < 0.5}
    for i in range(steps):
        s = i % 16
        bar = i // 16
        hits = []
        if kick_p[s] == "x":
            hits.append("kick")
        if snare_p[s] == "x":
            hits.append("snare")
        if hat_p[s] in "xo" and not (sparse and s % 4):
            hits.append("open" if hat_p[s] == "o" else "hat")
        if s == 0 and bar % 4 == 0 and rng.random() < 0.35:
            hits.append("crash")
        if bar in fill_bars and s >= 12 and s % 2 == 0:
            hits = ["tom", "kick"] if s == 12 else ["tom"]
        t = i * step + (swing * step if s % 2 else 0.0) + rng.normal(0, 0.002 * sr)
        pos = max(0, int(round(t)))
        for role in hits:
            name = kit["tom"][(s // 2) % len(kit["tom"])] if role == "tom" else pick[role]
            mono = load_sample(name, sr).mean(axis=0)
            vel = gains[role] * rng.uniform(0.8, 1.0) * (1.1 if s % 4 == 0 else 1.0)
            end = min(out.shape[1], pos + len(mono))
            pan = pans[role]
            out[0, pos:end] += mono[: end - pos] * vel * np.cos((pan + 1) * np.pi / 4)
            out[1, pos:end] += mono[: end - pos] * vel * np.sin((pan + 1) * np.pi / 4)
    desc = "hits:" + "+".join(pick[r] for r in ("kick", "snare", "hat"))
    return out[:, :n], desc


# ---------------------------------------------------------------------------------------------
# voice


def espeak_phrase(text: str, voice: str, speed: int, pitch: int) -> tuple[np.ndarray, int]:
    """One spoken phrase, mono float64 at espeak's rate; cached as WAV in subdir("voices")."""
    exe = espeak_binary()
    if exe is None:
        raise FileNotFoundError("espeak-ng not installed")
    key = hashlib.sha1(f"{text}|{voice}|{speed}|{pitch}|{_espeak_version()}".encode()).hexdigest()[:20]
    path = subdir("voices") / f"{key}.wav"
    if not path.exists():
        with atomic_path(path, suffix=".tmp.wav") as tmp:
            subprocess.run(
                [exe, "-w", str(tmp), "-v", voice, "-s", str(speed), "-p", str(pitch), "-a", "120", text],
                check=True, capture_output=True, timeout=30,
            )
    data, sr = sf.read(str(path), dtype="float64")
    if data.ndim > 1:
        data = data.mean(axis=1)
    return data, sr


@lru_cache(maxsize=1)
def _espeak_version() -> str:
    try:
        out = subprocess.run([espeak_binary(), "--version"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError, TypeError):
        return "unknown"
    return out.split("Data at")[0].strip()


def voice_part(
    rng: np.random.Generator, tempo_bpm: float, n: int, sr: int, *, density: float = 0.5
) -> tuple[np.ndarray, str]:
    """Seeded lyric lines spoken on bar lines (a rap / spoken-word layer); mono (n,) and a description."""
    voice = str(rng.choice(VOICES))
    speed = int(rng.choice((135, 150, 165, 180)))
    pitch = int(rng.choice((35, 45, 55, 65)))
    beat = 60.0 / tempo_bpm * sr
    out = np.zeros(n + 8 * sr, dtype=np.float32)
    bar = 4 * beat
    t = bar * int(rng.integers(0, 2)) + beat * int(rng.choice((0, 0, 1)))
    lines = 0
    while t < n:
        text = str(rng.choice(LYRICS))
        x, vsr = espeak_phrase(text, voice, speed, pitch)
        x = _trim(x)
        x = _resample(x[None, :], vsr, sr)[0]
        pos = int(round(t))
        end = min(len(out), pos + len(x))
        out[pos:end] += x[: end - pos] / (np.sqrt(np.mean(x**2)) + 1e-9)
        lines += 1
        # next line on the next bar line after this one ends, sometimes a bar of rest
        t_end = pos + len(x)
        t = np.ceil((t_end + 0.1 * sr) / bar) * bar
        if rng.random() > density:
            t += bar
    return out[:n], f"voice:espeak-ng:{voice}:s{speed}:p{pitch}"


def _trim(x: np.ndarray, threshold: float = 1e-3) -> np.ndarray:
    idx = np.flatnonzero(np.abs(x) > threshold)
    return x[idx[0] : idx[-1] + 1] if len(idx) else x


# ---------------------------------------------------------------------------------------------
# textures


def texture(rng: np.random.Generator, genre: str, n: int, sr: int) -> tuple[np.ndarray, str] | None:
    names = [t for t in TEXTURES.get(genre, ()) if t in set(sample_names())]
    if not names:
        return None
    name = str(rng.choice(names))
    x = load_sample(name, sr)
    out = np.zeros((2, n), dtype=np.float32)
    # long beds loop with a crossfade-free restart; short ones recur every few seconds
    gap = x.shape[1] if x.shape[1] > 3 * sr else int(rng.uniform(2.0, 4.0) * sr)
    pos = -int(rng.integers(0, max(1, x.shape[1] // 2)))
    while pos < n:
        a, b = max(pos, 0), min(pos + x.shape[1], n)
        if b > a:
            out[:, a:b] += x[:, a - pos : b - pos]
        pos += max(gap, 1)
    return out, f"texture:{name}"

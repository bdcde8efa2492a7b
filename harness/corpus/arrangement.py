"""Realistic arrangements: real compositions, recorded drums and voices, mixed like finished music.

`arrange(seed, style, seconds, sr)` combines, per genre and varied by seed:

* MIDI parts of a real composition (midi.py: music21 corpus → FluidSynth GM soundfont),
* sampled drums (samples_and_voices.py: Sonic Pi CC0 loops at their own tempo, or sequenced one-shots),
* an espeak-ng voice speaking seeded lyric lines on bar lines, sampled textures,
* procedural parts from synth.py wherever a source is missing (named in `layers`, with why).

Mixing: stems are RMS-normalised, then set by per-genre role levels (± seeded balance), panned,
widened (mid/side), sent to a seeded synthetic-room reverb, and finally shaped toward the
long-term average spectrum of finished music for the genre: a pink-ish 1/3-octave balance with a
gentle fall above ~2 kHz, more low end for electronic/hip-hop, less for acoustic/ambient, plus a
seeded deviation of a few dB (real songs spread ~5 dB). The shaping is a partial (70 %) zero-phase
correction in the frequency domain, done in the same FFT pass as the reverb, so it is cheap.
The mix is not mastered (harness.finishing does that); it sits near -20 dBFS RMS.
"""

from __future__ import annotations

import subprocess
import zlib
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import scipy.fft as sfft
from scipy import signal

from harness.corpus import midi, samples_and_voices, synth
from harness.corpus.synth import MAJOR, MINOR, PROGRESSIONS, STYLES, Style

GENRES = ("pop", "rock", "electronic", "hiphop", "ambient", "acoustic")

# Stem levels in dB relative to the drums (RMS-normalised stems), per genre.
ROLE_DB = {
    "pop": {"drums": 0, "bass": -2, "melody": -3, "inner": -4, "double": -8, "voice": -2, "texture": -20},
    "rock": {"drums": 0, "bass": -2, "melody": -2, "inner": -1, "double": -9, "voice": -4, "texture": -20},
    "electronic": {"drums": 0, "bass": -1, "melody": -4, "inner": -4, "double": -5, "voice": -7, "texture": -15},
    "hiphop": {"drums": 0, "bass": 0, "melody": -7, "inner": -7, "double": -9, "voice": -1, "texture": -17},
    "ambient": {"drums": -9, "bass": -5, "melody": -2, "inner": 0, "double": -1, "voice": -7, "texture": -6},
    "acoustic": {"drums": -5, "bass": -4, "melody": -1, "inner": -1, "double": -7, "voice": -3, "texture": -18},
}
SEND = {"drums": 0.08, "bass": 0.0, "melody": 0.25, "inner": 0.3, "double": 0.45, "voice": 0.25, "texture": 0.4}
WET = {"pop": 1.0, "rock": 0.8, "electronic": 1.1, "hiphop": 0.6, "ambient": 1.6, "acoustic": 1.0}
RT60 = {"pop": (1.2, 2.2), "rock": (0.9, 1.8), "electronic": (1.2, 2.8), "hiphop": (0.6, 1.4),
        "ambient": (2.5, 5.0), "acoustic": (1.0, 2.2)}
WIDTH = {"pop": (0.8, 1.2), "rock": (0.8, 1.2), "electronic": (0.9, 1.3), "hiphop": (0.6, 1.0),
         "ambient": (0.75, 1.1), "acoustic": (0.7, 1.1)}
# Drum source: probabilities of (loop, one-shot kit, both layered).
DRUM_MODE = {"pop": (0.35, 0.45, 0.2), "rock": (0.35, 0.5, 0.15), "electronic": (0.3, 0.4, 0.3),
             "hiphop": (0.45, 0.35, 0.2), "ambient": (1.0, 0.0, 0.0), "acoustic": (0.5, 0.4, 0.1)}
DRUM_PROB = {"pop": 0.95, "acoustic": 0.6}  # else 1.0 where the style has drums at all
TEXTURE_PROB = {"pop": 0.1, "rock": 0.0, "electronic": 0.3, "hiphop": 0.5, "ambient": 0.7, "acoustic": 0.15}
VOICE_GAIN = {"hiphop": 1.3}

# Long-term average spectrum of finished music: 1/3-octave band level in dB relative to 1 kHz,
# before genre and seed adjustments. Calibrated on 16 real tracks (rock, techno, blues, ambient
# game soundtracks in Debian's xmoto-data, extremetuxracer-data and lincity-ng-data; NOT the
# hyperrogue-music test set), smoothed: a broad plateau 80-400 Hz, about -1.5 dB/octave to
# 1.6 kHz, about -5 dB/octave to 8 kHz, steeper above (lossy-codec cut-offs excluded).
TARGET_POINTS = (
    (16, -26.0), (25, -16.0), (31.5, -12.0), (40, -6.5), (50, -1.5), (63, 2.5), (80, 4.5), (100, 5.0),
    (125, 5.0), (160, 5.3), (200, 5.3), (250, 4.8), (315, 4.6), (400, 4.3), (500, 3.6), (630, 2.8),
    (800, 1.6), (1000, 0.0), (1250, -0.8), (1600, -2.3), (2000, -4.5), (2500, -6.0), (3150, -7.8),
    (4000, -9.5), (5000, -11.8), (6300, -13.8), (8000, -16.0), (10000, -18.5), (12500, -21.0),
    (16000, -26.0), (20000, -34.0), (24000, -44.0),
)
GENRE_TILT = {  # (low shelf dB below ~100 Hz, presence dB 2-5 kHz, high shelf dB above ~6 kHz)
    "pop": (0.0, 0.0, 0.0),
    "rock": (0.5, 1.0, -0.5),
    "electronic": (3.0, 0.0, 1.0),
    "hiphop": (3.5, -0.5, -1.0),
    "ambient": (-2.5, -1.0, -2.0),
    "acoustic": (-3.0, 0.5, -0.5),
}
CORRECTION = 0.8  # fraction of the distance to the target the bus EQ closes
MAX_BOOST_DB, MAX_CUT_DB = 9.0, 12.0
MIX_RMS_DBFS = -20.0


@dataclass(frozen=True)
class Arrangement:
    mix: np.ndarray  # (2, n) float64, not mastered
    layers: tuple[str, ...]
    tempo_bpm: float = 0.0
    genre: str = ""


def available_sources() -> dict[str, bool | str]:
    """What the realistic layers can use here: a detail string when present, False when missing."""
    out: dict[str, bool | str] = {}
    try:
        out["music21"] = midi.music21_version() if midi.unavailable_reason() != "music21 not installed" else False
    except Exception:  # noqa: BLE001 - an optional source that cannot report its version counts as missing
        out["music21"] = False
    lib_ok = midi.library_name() is not None
    out["fluidsynth"] = midi.fluidsynth_version() if lib_ok else False
    sf2 = midi.soundfont_path()
    out["soundfont"] = str(sf2) if sf2 else False
    root = samples_and_voices.samples_dir()
    out["sonic_pi_samples"] = str(root) if root else False
    out["espeak_ng"] = samples_and_voices.espeak_binary() or False
    out["midi_layers"] = midi.unavailable_reason() is None
    out["recorded_layers"] = samples_and_voices.samples_unavailable_reason() is None
    out["voice_layers"] = samples_and_voices.voice_unavailable_reason() is None
    return out


def arrange(seed: int, style: Style, seconds: float, sr: int,
            allowed: Callable[[str], bool] | None = None) -> Arrangement:
    """A seeded, genre-styled stereo arrangement of real and sampled parts, (2, n) float64.
    `allowed(material key)` limits the MIDI pieces and drum loops it may use (a split's own material)."""
    genre = style.name if style.name in GENRES else "pop"
    base = STYLES.get(style.name, style)
    scale = {  # a custom Style moves levels relative to the built-in of the same name
        "drums": _ratio(style.drums, base.drums), "bass": _ratio(style.bass, base.bass),
        "inner": _ratio(style.pads, base.pads), "double": _ratio(style.pads, base.pads),
        "melody": _ratio(style.lead, base.lead), "voice": _ratio(style.voice, base.voice),
    }
    rng = np.random.default_rng([int(seed) & 0xFFFFFFFF, zlib.crc32(f"arrange:{style.name}".encode())])
    n = int(round(seconds * sr))
    layers: list[str] = []
    stems: dict[str, list[tuple[np.ndarray, float]]] = {}  # role -> [(stereo audio, extra gain)]

    def add(role: str, audio: np.ndarray, gain: float = 1.0) -> None:
        stems.setdefault(role, []).append((audio, gain))

    midi_reason = midi.unavailable_reason()
    samples_reason = samples_and_voices.samples_unavailable_reason()
    voice_reason = samples_and_voices.voice_unavailable_reason()

    # --- drums first: a loop's own tempo sets the arrangement's tempo -------------------------
    tempo = float(rng.uniform(*style.tempo_bpm))
    drum_plan = None
    use_drums = style.drums > 0 and rng.random() < DRUM_PROB.get(genre, 1.0)
    if use_drums:
        if samples_reason is None:
            mode = str(rng.choice(["loop", "kit", "both"], p=DRUM_MODE[genre]))
            drum_plan = mode
            loops = [name for name in samples_and_voices.GENRE_LOOPS[genre]
                     if name in samples_and_voices.sample_names() and (allowed is None or allowed(f"loop:{name}"))]
            if mode in ("loop", "both") and not loops:
                mode = drum_plan = "kit"
            if mode in ("loop", "both"):
                loop_name = str(rng.choice(loops))
                native = samples_and_voices.loop_bpm(loop_name)
                lo, hi = style.tempo_bpm
                factor = min((0.5, 1.0, 2.0), key=lambda f: abs(np.log(native * f / np.sqrt(lo * hi))))
                ratio = float(np.clip(rng.uniform(lo, hi) / (native * factor), 0.92, 1.08))
                tempo = native * factor * ratio
                drum_plan = (mode, loop_name, factor)

    # --- harmony: MIDI of a real composition, else synth.py parts ------------------------------
    midi_render = None
    if midi_reason is None:
        try:
            midi_render = midi.render_segment(
                seed, genre, seconds, sr, tempo_bpm=tempo, groove=use_drums, allowed=allowed
            )
        except Exception as exc:  # noqa: BLE001 - a failed MIDI render falls back to the synth parts
            midi_reason = f"midi render failed: {type(exc).__name__}"
        if midi_render is None and midi_reason is None:
            midi_reason = "no corpus piece fits"
    if midi_render is not None:
        for role, audio in midi_render.stems.items():
            add(role, audio)
        layers.append(midi_render.description)
    else:
        beat = int(round(60 / tempo * sr))
        chord_len = beat * 4
        root = 36 + int(rng.integers(0, 12))
        scale_notes = MAJOR if rng.random() < 0.6 else MINOR
        prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
        roots = [root + prog[(i // chord_len) % 4] for i in range(0, n, chord_len)]
        if style.bass > 0:
            add("bass", _pan(synth.bass_part(rng, n, beat, chord_len, roots, sr, style), 0.0))
            layers.append(f"synth:bass ({midi_reason})")
        if style.pads > 0:
            left = synth.pad_part(rng, n, chord_len, roots, scale_notes, sr, style)
            right = synth.pad_part(rng, n, chord_len, roots, scale_notes, sr, style)
            add("inner", _pan(left, -0.7) + _pan(right, 0.7))
            layers.append(f"synth:pads ({midi_reason})")
        if style.lead > 0:
            lead = synth.lead_part(rng, n, beat, roots, chord_len, scale_notes, sr, style)
            add("melody", _pan(lead, float(rng.uniform(-0.3, 0.3))))
            layers.append(f"synth:lead ({midi_reason})")

    # --- drums audio ---------------------------------------------------------------------------
    if use_drums:
        if drum_plan is not None:
            mode = drum_plan[0] if isinstance(drum_plan, tuple) else drum_plan
            try:
                if isinstance(drum_plan, tuple):
                    _, loop_name, factor = drum_plan
                    loop = samples_and_voices.drum_loop(loop_name, tempo / factor, n, sr)
                    role_gain = 1.0 if samples_and_voices.LOOPS[loop_name].role == "drums" or mode == "loop" else 0.6
                    add("drums", loop, role_gain)
                    layers.append(f"loop:{loop_name}@{tempo / factor:.1f}bpm")
                if mode in ("kit", "both"):
                    kit, desc = samples_and_voices.drum_kit(rng, genre, tempo, n, sr, swing=style.swing)
                    add("drums", kit, 1.0 if mode == "kit" else 0.8)
                    layers.append(desc)
            except (OSError, RuntimeError, ValueError) as exc:  # a sample missing from this version
                stems.pop("drums", None)
                layers[:] = [layer for layer in layers if not layer.startswith(("loop:", "hits:"))]
                drum_plan, samples_reason = None, f"sonic-pi sample unreadable: {type(exc).__name__}"
        if drum_plan is None:
            beat = int(round(60 / tempo * sr))
            add("drums", _pan(synth.drum_part(rng, n, beat, sr, style), 0.0))
            layers.append(f"synth:drums ({samples_reason})")

    # --- voice -----------------------------------------------------------------------------------
    if style.voice > 0 and rng.random() < min(0.9, style.voice * 1.2):
        if voice_reason is None:
            try:
                voice, desc = samples_and_voices.voice_part(rng, tempo, n, sr, density=0.4 + 0.5 * style.voice)
                add("voice", _pan(voice, float(rng.uniform(-0.1, 0.1))), VOICE_GAIN.get(genre, 1.0))
                layers.append(desc)
            except (OSError, RuntimeError, subprocess.SubprocessError) as exc:
                voice_reason = f"espeak-ng failed: {type(exc).__name__}"
        if voice_reason is not None:
            beat = int(round(60 / tempo * sr))
            roots = [36 + int(rng.integers(0, 12))] * (n // (beat * 4) + 1)
            add("voice", _pan(synth.vowel_part(rng, n, beat, roots, beat * 4, sr), 0.0))
            layers.append(f"synth:voice ({voice_reason})")

    # --- texture ---------------------------------------------------------------------------------
    if samples_reason is None and rng.random() < TEXTURE_PROB[genre]:
        try:
            tex = samples_and_voices.texture(rng, genre, n, sr)
        except (OSError, RuntimeError, ValueError):  # an unreadable sample: no texture
            tex = None
        if tex is not None:
            add("texture", tex[0])
            layers.append(tex[1])

    mix = _mix(rng, genre, style, stems, scale, n, sr)
    return Arrangement(mix=mix, layers=tuple(layers), tempo_bpm=float(tempo), genre=genre)


# ---------------------------------------------------------------------------------------------
# mixing


def _ratio(value: float, reference: float) -> float:
    if reference <= 0:
        return 1.0 if value > 0 else 0.0
    return max(value, 0.0) / reference


def _pan(mono: np.ndarray, pan: float) -> np.ndarray:
    pan = float(np.clip(pan, -1, 1))
    return np.stack([mono * np.cos((pan + 1) * np.pi / 4), mono * np.sin((pan + 1) * np.pi / 4)])


def _rms(x: np.ndarray, stride: int = 1) -> float:
    """Root mean square; `stride` > 1 estimates it from every stride-th sample (gain staging)."""
    flat = np.ravel(x)[::stride]
    return float(np.sqrt(np.dot(flat, flat) / max(flat.size, 1)))


def _mix(rng, genre, style, stems, scale, n, sr) -> np.ndarray:
    levels = ROLE_DB[genre]
    wet_scale = WET[genre] * rng.uniform(0.6, 1.4)
    side_gain = rng.uniform(*WIDTH[genre])
    wide = np.zeros((2, n), dtype=np.float32)  # everything but the bass gets the width
    bass = np.zeros((2, n), dtype=np.float32)
    send = np.zeros((2, n), dtype=np.float32)
    for role, items in stems.items():
        if len(items) == 1:
            role_sum = np.asarray(items[0][0][:, :n], dtype=np.float32)
            r = _rms(role_sum, 3) / items[0][1]
        else:
            role_sum = np.zeros((2, n), dtype=np.float32)
            for audio, gain in items:
                audio = np.asarray(audio[:, :n], dtype=np.float32)
                r = _rms(audio, 3)
                if r > 1e-9:
                    role_sum[:, : audio.shape[1]] += audio * np.float32(gain / r)
            r = _rms(role_sum, 3)
        db = levels.get(role, -6) + rng.normal(0, 1.5)
        g = 0.1 * 10 ** (db / 20) * scale.get(role, 1.0) / max(r, 1e-9)
        if r < 1e-9 or g <= 0:
            continue
        (bass if role == "bass" else wide).__iadd__(role_sum * np.float32(g))
        s = SEND.get(role, 0.2) * wet_scale * g
        if s > 0:
            send += role_sum * np.float32(s)
    mid = 0.5 * (wide[0] + wide[1])
    side = (0.5 * side_gain) * (wide[0] - wide[1])
    dry = bass + np.stack([mid + side, mid - side])
    return _space_and_tone(rng, genre, style, dry, 0.5 * (send[0] + send[1]), sr)


def _impulse_response(rng, genre: str, sr: int) -> np.ndarray:
    """A seeded synthetic room: decorrelated stereo noise, exponential decay, darker tail."""
    rt60 = rng.uniform(*RT60[genre])
    length = int(min(rt60, 2.5) * sr)  # tails are cut at -30 dB or lower
    t = np.arange(length, dtype=np.float32) / np.float32(sr)
    noise = rng.standard_normal((2, length), dtype=np.float32)
    pole = np.exp(-2 * np.pi * 1200.0 / sr)  # one-pole lowpass at ~1.2 kHz for the late tail
    dark = signal.lfilter([1 - pole], [1, -pole], noise, axis=1).astype(np.float32)
    dark *= _rms(noise) / max(_rms(dark), 1e-12)
    env_long = np.exp(np.float32(-6.91 / rt60) * t)
    env_short = np.exp(np.float32(-6.91 / (0.35 * rt60)) * t)
    ir = dark * env_long + 0.6 * noise * env_short
    pre = int(rng.uniform(0.008, 0.03) * sr)
    ir = np.pad(ir, ((0, 0), (pre, 0)))[:, :length]
    return ir / np.sqrt(np.sum(ir**2) / 2)


def target_curve_db(
    freqs: np.ndarray, genre: str, brightness: float, deviation: tuple[float, float, float, float] = (0, 0, 0, 0)
) -> np.ndarray:
    """The genre's target 1/3-octave band level (dB, relative) at `freqs`.

    `deviation` = (low shelf dB, presence dB, high shelf dB, tilt dB/octave about 1 kHz): the
    seeded departure of one clip from its genre's average.
    """
    f = np.maximum(freqs, 1.0)
    pts_f = np.log2([p[0] for p in TARGET_POINTS])
    pts_db = np.array([p[1] for p in TARGET_POINTS])
    curve = np.interp(np.log2(f), pts_f, pts_db)
    low, presence, high = (a + b for a, b in zip(GENRE_TILT.get(genre, (0, 0, 0)), deviation[:3]))
    high += (brightness - 0.6) * 3.0
    lf = np.log2(f)
    curve += low / (1 + 2 ** ((lf - np.log2(110)) * 3))  # low shelf centred ~110 Hz
    curve += high / (1 + 2 ** (-(lf - np.log2(6000)) * 3))  # high shelf centred ~6 kHz
    curve += presence * np.exp(-0.5 * ((lf - np.log2(3200)) / 0.7) ** 2)
    curve += deviation[3] * np.clip(lf - np.log2(1000), -5, 4.3)
    return curve


def _band_edges(sr: int) -> np.ndarray:
    centres = 1000 * 2 ** (np.arange(-17, 14) / 3)  # 20 Hz … 20 kHz
    centres = centres[centres * 2 ** (1 / 6) < sr / 2]
    return centres


def _space_and_tone(rng, genre: str, style: Style, dry: np.ndarray, send: np.ndarray, sr: int) -> np.ndarray:
    n = dry.shape[1]
    ir = _impulse_response(rng, genre, sr)
    size = sfft.next_fast_len(n + ir.shape[1], real=True)
    freqs = np.fft.rfftfreq(size, 1 / sr)
    spec = sfft.rfft(dry, size, axis=1)
    wet = sfft.rfft(send, size) * sfft.rfft(ir, size, axis=1)
    send_hp = 1.0 / np.sqrt(1 + (150.0 / np.maximum(freqs, 1e-3)) ** 4)  # 2nd-order-like 150 Hz HP
    spec += wet * send_hp.astype(np.float32)
    # bus tone: measure 1/3-octave levels, move them part of the way to the genre target
    power = (np.abs(spec[0]) ** 2 + np.abs(spec[1]) ** 2).astype(np.float64)
    centres = _band_edges(sr)
    lo_edges = centres * 2 ** (-1 / 6)
    idx = np.searchsorted(freqs, np.append(lo_edges, centres[-1] * 2 ** (1 / 6)))
    band_power = np.add.reduceat(power, idx)[: len(centres)]  # total power per band
    measured = 10 * np.log10(band_power + 1e-20)
    deviation = (rng.normal(0, 2.5), rng.normal(0, 1.5), rng.normal(0, 2.5), rng.normal(0, 0.6))
    target = target_curve_db(centres, genre, style.brightness, deviation)
    valid = (centres >= 40) & (centres <= 12500)
    offset = np.median(measured[valid] - target[valid])
    corr = CORRECTION * (target + offset - measured)
    corr = np.clip(corr, -MAX_CUT_DB, MAX_BOOST_DB)
    corr = np.convolve(np.pad(corr, 1, mode="edge"), [0.25, 0.5, 0.25], mode="valid")  # smooth
    gain_db = np.interp(np.log2(np.maximum(freqs, 1.0)), np.log2(centres), corr)
    hp_hz = rng.uniform(22, 35)
    gain = 10 ** (gain_db / 20) / np.sqrt(1 + (hp_hz / np.maximum(freqs, 1e-3)) ** 8)  # 4th-order HP
    spec *= gain.astype(np.float32)
    out = sfft.irfft(spec, size, axis=1)[:, :n]
    r = _rms(out)
    return np.multiply(out, 10 ** (MIX_RMS_DBFS / 20) / max(r, 1e-12), dtype=np.float64)

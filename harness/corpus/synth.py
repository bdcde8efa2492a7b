"""Procedural music: seeded, stereo arrangements of drums, bass, pads, a lead and a voice-like part.

This is the corpus's always-available layer (pure numpy, nothing to install). Every choice —
tempo, key, progression, instrumentation, density, width, brightness — is drawn from the seed,
so the same seed gives byte-identical audio.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy import signal

from harness.registry import Registry

PROGRESSIONS = ([0, 7, 9, 5], [0, 5, 7, 5], [9, 5, 0, 7], [0, 9, 5, 7], [0, 3, 8, 10], [0, 10, 8, 7])
MAJOR = np.array([0, 2, 4, 5, 7, 9, 11])
MINOR = np.array([0, 2, 3, 5, 7, 8, 10])
VOWEL_FORMANTS_HZ = ((730, 1090, 2440), (270, 2290, 3010), (300, 870, 2240), (530, 1840, 2480), (570, 840, 2410))


@dataclass(frozen=True)
class Style:
    """What a genre changes: tempo, which parts play, how bright and how dense."""

    name: str
    tempo_bpm: tuple[float, float]
    drums: float  # level of the kit, 0 = no drums
    bass: float
    pads: float
    lead: float
    voice: float
    brightness: float  # 0 dark … 1 bright: lowpass cutoffs of synth parts
    swing: float = 0.0


STYLES = {
    "pop": Style("pop", (96, 128), 1.0, 0.8, 0.5, 0.5, 0.6, 0.7),
    "rock": Style("rock", (110, 150), 1.1, 0.9, 0.6, 0.7, 0.4, 0.8),
    "electronic": Style("electronic", (120, 132), 1.2, 1.0, 0.6, 0.5, 0.2, 0.9),
    "hiphop": Style("hiphop", (80, 98), 1.2, 1.1, 0.4, 0.3, 0.7, 0.5, swing=0.15),
    "ambient": Style("ambient", (60, 90), 0.0, 0.4, 1.0, 0.5, 0.3, 0.3),
    "acoustic": Style("acoustic", (70, 110), 0.5, 0.5, 0.8, 0.6, 0.6, 0.4),
}
# The genres a suite may name (`[corpus] genres`), looked up like every other name.
GENRES: Registry[Style] = Registry("genre", describe=lambda s: f"{s.tempo_bpm[0]:.0f}-{s.tempo_bpm[1]:.0f} BPM")
for _style in STYLES.values():
    GENRES.register(_style.name, _style)


def midi_hz(note: float) -> float:
    return 440.0 * 2 ** ((note - 69) / 12)


def render_arrangement(seed: int, style: Style, seconds: float, sr: int) -> np.ndarray:
    """A stereo (2, n) float64 mix, not yet mastered: parts summed with pans and random levels."""
    rng = np.random.default_rng(seed)
    n = int(round(seconds * sr))
    tempo = rng.uniform(*style.tempo_bpm)
    beat = int(round(60 / tempo * sr))
    root = 36 + int(rng.integers(0, 12))
    scale = MAJOR if rng.random() < 0.6 else MINOR
    prog = PROGRESSIONS[int(rng.integers(len(PROGRESSIONS)))]
    mix = np.zeros((2, n))
    width = rng.uniform(0.2, 1.0)
    vary = lambda level: level * rng.uniform(0.5, 1.5) if level > 0 else 0.0

    def add(part: np.ndarray, level: float, pan: float) -> None:
        if level <= 0:
            return
        part = part[:n] / (np.sqrt(np.mean(part[:n] ** 2)) + 1e-12) * 0.1 * level
        pan = np.clip(pan * width, -1, 1)
        mix[0, : len(part)] += part * np.cos((pan + 1) * np.pi / 4)
        mix[1, : len(part)] += part * np.sin((pan + 1) * np.pi / 4)

    add(drum_part(rng, n, beat, sr, style), vary(style.drums), 0.0)
    chord_len = beat * 4
    roots = [root + prog[(i // chord_len) % 4] for i in range(0, n, chord_len)]
    add(bass_part(rng, n, beat, chord_len, roots, sr, style), vary(style.bass), 0.0)
    pad_l, pad_r = (pad_part(rng, n, chord_len, roots, scale, sr, style) for _ in range(2))
    if style.pads > 0:
        level = vary(style.pads)
        add(pad_l, level, -0.7)
        add(pad_r, level, 0.7)
    add(lead_part(rng, n, beat, roots, chord_len, scale, sr, style), vary(style.lead), rng.uniform(-0.4, 0.4))
    add(vowel_part(rng, n, beat, roots, chord_len, sr), vary(style.voice), rng.uniform(-0.2, 0.2))
    return mix


def _place(out: np.ndarray, pos: int, part: np.ndarray) -> None:
    end = min(len(out), pos + len(part))
    if end > pos:
        out[pos:end] += part[: end - pos]


def _env(length: int, sr: int, decay_s: float) -> np.ndarray:
    return np.exp(-np.arange(length) / (decay_s * sr))


def _lowpass(x: np.ndarray, cutoff_hz: float, sr: int, order: int = 2) -> np.ndarray:
    sos = signal.butter(order, min(cutoff_hz, 0.45 * sr), btype="low", fs=sr, output="sos")
    return signal.sosfilt(sos, x)


def drum_part(rng, n, beat, sr, style) -> np.ndarray:
    out = np.zeros(n + sr)
    kick_len = int(0.35 * sr)
    t = np.arange(kick_len) / sr
    f0 = rng.uniform(45, 60)
    phase = 2 * np.pi * np.cumsum(f0 + (rng.uniform(80, 160)) * np.exp(-t / 0.03)) / sr
    kick = np.sin(phase) * _env(kick_len, sr, rng.uniform(0.12, 0.3))
    snare_len = int(0.25 * sr)
    snare = rng.standard_normal(snare_len) * _env(snare_len, sr, rng.uniform(0.05, 0.12))
    snare = signal.sosfilt(signal.butter(2, [300, 7000], btype="band", fs=sr, output="sos"), snare)
    snare += 0.5 * np.sin(2 * np.pi * 190 * np.arange(snare_len) / sr) * _env(snare_len, sr, 0.04)
    hat_len = int(0.06 * sr)
    hat = signal.sosfilt(signal.butter(2, 7000, btype="high", fs=sr, output="sos"), rng.standard_normal(hat_len))
    hat *= _env(hat_len, sr, 0.015) * (0.3 + 0.5 * style.brightness)
    pattern = int(rng.integers(3))
    for start in range(0, n, beat):
        b = (start // beat) % 4
        vel = rng.uniform(0.8, 1.0)
        if b in (0, 2) or (pattern == 1 and b == 3 and rng.random() < 0.3):
            _place(out, start, kick * vel)
        if b in (1, 3):
            _place(out, start, snare * vel * 0.8)
        for k in range(2 if pattern != 2 else 4):
            off = start + int(k * beat / (2 if pattern != 2 else 4) * (1 + style.swing * (k % 2)))
            _place(out, off, hat * rng.uniform(0.5, 1.0))
    return out[:n]


def _saw(freq_hz: float, length: int, sr: int, rng) -> np.ndarray:
    phase = (rng.random() + freq_hz * np.arange(length) / sr) % 1.0
    return 2 * phase - 1


def bass_part(rng, n, beat, chord_len, roots, sr, style) -> np.ndarray:
    out = np.zeros(n + sr)
    step = beat // (2 if rng.random() < 0.5 else 1)
    for start in range(0, n, step):
        note = roots[start // chord_len] + (12 if rng.random() < 0.15 else 0)
        length = int(step * rng.uniform(0.6, 0.95))
        tone = _saw(midi_hz(note), length, sr, rng) * _env(length, sr, rng.uniform(0.15, 0.6))
        _place(out, start, tone)
    return _lowpass(out[:n], 200 + 600 * style.brightness * rng.uniform(0.5, 1.5), sr)


def pad_part(rng, n, chord_len, roots, scale, sr, style) -> np.ndarray:
    out = np.zeros(n + sr)
    for i, start in enumerate(range(0, n, chord_len)):
        base = roots[i] + 24
        length = min(chord_len, n - start)
        attack = np.minimum(1.0, np.arange(length) / (0.2 * sr))
        for interval in (0, 4 if scale is MAJOR else 3, 7, 11 if rng.random() < 0.3 else 12):
            detune = rng.uniform(-0.1, 0.1)
            _place(out, start, _saw(midi_hz(base + interval + detune), length, sr, rng) * attack)
    return _lowpass(out[:n], 800 + 4000 * style.brightness * rng.uniform(0.5, 1.5), sr)


def lead_part(rng, n, beat, roots, chord_len, scale, sr, style) -> np.ndarray:
    out = np.zeros(n + sr)
    pos = 0
    degree = int(rng.integers(7))
    while pos < n:
        length = int(beat * rng.choice([0.5, 1, 1, 2]))
        degree = int(np.clip(degree + rng.integers(-2, 3), 0, 13))
        note = roots[min(pos // chord_len, len(roots) - 1)] + 36 + scale[degree % 7] + 12 * (degree // 7)
        t = np.arange(length) / sr
        vib = 0.2 * np.sin(2 * np.pi * 5.5 * t) * np.minimum(1, t / 0.3)
        ph = 2 * np.pi * np.cumsum(midi_hz(note + vib)) / sr
        tone = sum(np.sin(k * ph) / k ** (1.5 - style.brightness) for k in range(1, 6))
        _place(out, pos, tone * np.minimum(1, t / 0.01) * _env(length, sr, 0.8) * (rng.random() > 0.15))
        pos += length
    return out[:n]


def vowel_part(rng, n, beat, roots, chord_len, sr) -> np.ndarray:
    """A sung-vowel stand-in: a glottal pulse train through three formant resonators."""
    out = np.zeros(n + sr)
    pos = int(beat * rng.integers(0, 4))
    while pos < n:
        length = int(beat * rng.choice([1, 2, 2, 3]))
        note = roots[min(pos // chord_len, len(roots) - 1)] + 24 + int(rng.choice([0, 4, 7, 12]))
        t = np.arange(length) / sr
        f = midi_hz(note) * (1 + 0.01 * np.sin(2 * np.pi * 5 * t))
        pulse = np.diff(np.floor(np.cumsum(f) / sr), prepend=0.0)
        pulse = _lowpass(pulse, 3000, sr, order=1)
        tone = np.zeros(length)
        for k, formant in enumerate(VOWEL_FORMANTS_HZ[int(rng.integers(5))]):
            b, a = signal.iirpeak(formant, Q=formant / 80, fs=sr)
            tone += signal.lfilter(b, a, pulse) / (k + 1)
        tone *= np.minimum(1, t / 0.04) * np.minimum(1, (length / sr - t) / 0.08)
        _place(out, pos, tone)
        pos += length + int(beat * rng.choice([0, 1, 2]))
    return out[:n]

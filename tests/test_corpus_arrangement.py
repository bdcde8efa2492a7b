"""Realistic arrangements (harness/corpus/arrangement.py, midi.py, samples_and_voices.py).

Short clips at 22.05 kHz keep the file fast; the optional sources (music21, fluidsynth + GM
soundfont, sonic-pi-samples, espeak-ng) are exercised when installed
(scripts/install-system-deps.sh) and simulated as missing by monkeypatching their checks.
"""

from __future__ import annotations

import numpy as np
import pytest

from harness.corpus import arrangement, midi, samples_and_voices
from harness.corpus.arrangement import Arrangement, arrange, available_sources
from harness.corpus.synth import STYLES

SR = 22050
SECONDS = 2.5
GENRES = tuple(STYLES)
HAVE_MIDI = midi.unavailable_reason() is None
HAVE_SAMPLES = samples_and_voices.samples_unavailable_reason() is None
HAVE_VOICE = samples_and_voices.voice_unavailable_reason() is None
needs_midi = pytest.mark.skipif(not HAVE_MIDI, reason=f"{midi.unavailable_reason()}")
needs_samples = pytest.mark.skipif(not HAVE_SAMPLES, reason="sonic-pi-samples not installed")


def _missing(monkeypatch, *, midi_off=False, samples_off=False, voice_off=False):
    if midi_off:
        monkeypatch.setattr(midi, "unavailable_reason", lambda: "fluidsynth not installed")
    if samples_off:
        monkeypatch.setattr(samples_and_voices, "samples_unavailable_reason", lambda: "sonic-pi-samples not installed")
    if voice_off:
        monkeypatch.setattr(samples_and_voices, "voice_unavailable_reason", lambda: "espeak-ng not installed")


def test_same_seed_is_byte_identical():
    a = arrange(11, STYLES["pop"], SECONDS, SR)
    b = arrange(11, STYLES["pop"], SECONDS, SR)
    assert a.layers == b.layers
    assert a.mix.tobytes() == b.mix.tobytes()


def test_different_seeds_differ():
    a = arrange(1, STYLES["rock"], SECONDS, SR)
    b = arrange(2, STYLES["rock"], SECONDS, SR)
    assert a.mix.shape == b.mix.shape
    assert not np.allclose(a.mix, b.mix)


@pytest.mark.parametrize("genre", GENRES)
def test_every_genre_gives_finite_stereo_audio_of_the_right_length(genre):
    arr = arrange(3, STYLES[genre], SECONDS, SR)
    assert isinstance(arr, Arrangement)
    assert arr.mix.dtype == np.float64
    assert arr.mix.shape == (2, int(round(SECONDS * SR)))
    assert np.isfinite(arr.mix).all()
    rms_db = 20 * np.log10(np.sqrt(np.mean(arr.mix**2)))
    assert -30 < rms_db < -10  # unmastered, near -20 dBFS RMS
    assert arr.layers and all(isinstance(layer, str) and ":" in layer for layer in arr.layers)


def test_odd_rates_and_short_clips():
    arr = arrange(4, STYLES["electronic"], 0.37, 44100)
    assert arr.mix.shape == (2, int(round(0.37 * 44100)))
    assert np.isfinite(arr.mix).all()


def test_all_sources_missing_falls_back_to_synth(monkeypatch):
    _missing(monkeypatch, midi_off=True, samples_off=True, voice_off=True)
    for genre in ("pop", "hiphop", "ambient"):
        arr = arrange(5, STYLES[genre], SECONDS, SR)
        assert np.isfinite(arr.mix).all() and np.abs(arr.mix).max() > 0
        assert all(layer.startswith("synth:") for layer in arr.layers), arr.layers
        assert any("fluidsynth not installed" in layer for layer in arr.layers)
    pop = arrange(5, STYLES["pop"], SECONDS, SR)
    assert any(layer.startswith("synth:drums (sonic-pi-samples not installed)") for layer in pop.layers)


@pytest.mark.parametrize("off", ["midi_off", "samples_off", "voice_off"])
def test_each_missing_source_is_replaced_and_named(monkeypatch, off):
    _missing(monkeypatch, **{off: True})
    reason = {"midi_off": "fluidsynth", "samples_off": "sonic-pi-samples", "voice_off": "espeak-ng"}[off]
    prefix = {"midi_off": "midi:", "samples_off": ("loop:", "hits:", "texture:"), "voice_off": "voice:"}[off]
    seen_fallback = False
    for seed in range(6):  # the voice layer is drawn by seed; one of these seeds has it
        arr = arrange(seed, STYLES["hiphop"], SECONDS, SR)
        assert np.isfinite(arr.mix).all()
        assert not any(layer.startswith(prefix) for layer in arr.layers), arr.layers
        seen_fallback |= any(layer.startswith("synth:") and reason in layer for layer in arr.layers)
    assert seen_fallback


@needs_samples
def test_an_unreadable_sample_falls_back_to_synth_drums(monkeypatch):
    def broken(name, sr):
        raise FileNotFoundError(name)

    monkeypatch.setattr(samples_and_voices, "load_sample", broken)
    arr = arrange(3, STYLES["rock"], SECONDS, SR)
    assert np.isfinite(arr.mix).all()
    assert not any(layer.startswith(("loop:", "hits:")) for layer in arr.layers)
    assert any(layer.startswith("synth:drums (sonic-pi sample unreadable") for layer in arr.layers)


def test_a_failing_midi_render_falls_back_to_synth_parts(monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("fluidsynth exploded")

    monkeypatch.setattr(midi, "unavailable_reason", lambda: None)
    monkeypatch.setattr(midi, "render_segment", broken)
    arr = arrange(3, STYLES["pop"], SECONDS, SR)
    assert np.isfinite(arr.mix).all()
    assert any(layer == "synth:lead (midi render failed: RuntimeError)" for layer in arr.layers)


@needs_midi
@needs_samples
@pytest.mark.parametrize("genre", ["pop", "rock", "electronic", "hiphop", "acoustic"])
def test_installed_sources_give_midi_and_recorded_layers(genre):
    recorded_drums = 0
    for seed in (21, 22, 23, 24, 25):
        arr = arrange(seed, STYLES[genre], SECONDS, SR)
        assert any(layer.startswith("midi:") for layer in arr.layers), arr.layers
        assert not any(layer.startswith("synth:") for layer in arr.layers), arr.layers
        recorded_drums += any(layer.startswith(("loop:", "hits:")) for layer in arr.layers)
    assert recorded_drums >= (2 if genre == "acoustic" else 4)  # acoustic is sometimes unplugged


@needs_midi
def test_ambient_uses_a_real_composition_and_no_drums():
    arr = arrange(21, STYLES["ambient"], SECONDS, SR)
    assert any(layer.startswith("midi:") for layer in arr.layers)
    assert not any(layer.startswith(("loop:", "hits:", "synth:drums")) for layer in arr.layers)


@pytest.mark.skipif(not HAVE_VOICE, reason="espeak-ng not installed")
def test_voice_layer_appears_for_some_seeds():
    layers = [layer for seed in range(8) for layer in arrange(seed, STYLES["hiphop"], SECONDS, SR).layers]
    assert any(layer.startswith("voice:espeak-ng:") for layer in layers)


@needs_midi
def test_fluidsynth_render_does_not_depend_on_what_was_rendered_before():
    plan_a = midi.plan_segment(1, "ambient", 1.5)[1]
    plan_b = midi.plan_segment(2, "rock", 1.5, groove=True)[1]
    first = midi.render_parts(plan_a, int(1.5 * SR), SR)
    midi.render_parts(plan_b, int(1.5 * SR), SR)
    again = midi.render_parts(plan_a, int(1.5 * SR), SR)
    assert first.keys() == again.keys()
    for role in first:
        assert first[role].tobytes() == again[role].tobytes()
        assert np.abs(first[role]).max() > 1e-4


@needs_midi
def test_disk_caches_do_not_change_the_output():
    cold = arrange(31, STYLES["acoustic"], SECONDS, SR)
    midi.load_piece.cache_clear()  # next call reads the parsed piece back from its JSON cache
    warm = arrange(31, STYLES["acoustic"], SECONDS, SR)
    assert cold.mix.tobytes() == warm.mix.tobytes()


@needs_midi
@pytest.mark.parametrize("genre", ["pop", "rock", "electronic"])
def test_midi_plan_follows_the_genre(genre):
    for seed in range(4):
        piece, parts, info = midi.plan_segment(seed, genre, 4.0, tempo_bpm=100.0, groove=True)
        assert len(piece.parts) >= 3
        assert piece.metre in midi.GROOVE_METRES
        roles = [p.role for p in parts]
        assert roles[0] == "melody" and "bass" in roles
        table = midi.PROGRAMS[genre]
        for p in parts:
            allowed = table["pad"] + table["vox"] if p.role == "double" else table[p.role]
            assert p.program in allowed
        bass = next(p for p in parts if p.role == "bass")
        assert bass.notes[:, 2].min() >= 21  # nothing below A0
        assert -5 <= info["transpose"] <= 6
        assert info["beat_s"] == pytest.approx(0.6)
        assert (parts[0].notes[:, 0] < 4.0).all() and (parts[0].notes[:, 0] >= 0).all()


@needs_samples
def test_drum_loop_is_tiled_sample_exactly_at_the_requested_tempo():
    name = "loop_amen"
    tempo = samples_and_voices.loop_bpm(name) * 1.05
    out = samples_and_voices.drum_loop(name, tempo, 4 * SR, SR)
    period = samples_and_voices.LOOPS[name].beats * 60 / tempo * SR
    p = int(round(period))
    assert np.allclose(out[:, p : p + 2000], out[:, :2000])
    assert np.abs(out[:, :2000]).max() > 0.05


def test_tonal_balance_is_music_like():
    """Averaged over a few clips: no sub-bass excess over the mids, a falling top end."""
    from harness.metrics import tonal_balance_db

    rows = []
    for genre in ("pop", "electronic"):
        for seed in (8, 9, 10):
            bands = tonal_balance_db(arrange(seed, STYLES[genre], 4.0, 48000).mix, 48000)
            lv = dict(zip(bands.centres_hz.astype(int), bands.levels_db))  # 31.5 -> 31
            mids = 10 * np.log10(np.mean([10 ** (lv[f] / 10) for f in (250, 315, 400, 500, 630, 800, 1000)]))
            rows.append((lv[50] - mids, lv[31] - lv[100], lv[8000] - lv[1000], lv[16000] - lv[4000]))
    sub_vs_mids, deep_vs_bass, air_vs_mid, top_vs_presence = np.mean(rows, axis=0)
    assert -12 < sub_vs_mids < 3  # real music (calibration set): about -4 dB, sd 9
    assert deep_vs_bass < -8
    assert -25 < air_vs_mid < -6
    assert top_vs_presence < -6


def test_target_curve_orders_the_genres():
    f = np.array([50.0, 1000.0])
    low = {g: np.diff(arrangement.target_curve_db(f, g, STYLES[g].brightness)[::-1])[0] for g in GENRES}
    assert low["electronic"] > low["pop"] > low["acoustic"]
    assert low["hiphop"] > low["ambient"]


def test_available_sources_reports_each_source():
    info = available_sources()
    for key in ("music21", "fluidsynth", "soundfont", "sonic_pi_samples", "espeak_ng"):
        assert key in info and isinstance(info[key], (bool, str))
        assert info[key] is False or (isinstance(info[key], str) and info[key]), (key, info[key])
    # Each layer is on exactly when what it needs was found: MIDI needs all three of its parts.
    assert info["midi_layers"] == bool(info["music21"] and info["fluidsynth"] and info["soundfont"])
    assert info["recorded_layers"] == bool(info["sonic_pi_samples"])
    assert info["voice_layers"] == bool(info["espeak_ng"])


def test_available_sources_reports_missing_sources(monkeypatch):
    monkeypatch.setattr(midi, "soundfont_path", lambda: None)
    monkeypatch.setattr(samples_and_voices, "samples_dir", lambda: None)
    monkeypatch.setattr(samples_and_voices, "espeak_binary", lambda: None)
    info = available_sources()
    assert info["soundfont"] is False and info["sonic_pi_samples"] is False and info["espeak_ng"] is False
    assert info["midi_layers"] is False and info["recorded_layers"] is False and info["voice_layers"] is False

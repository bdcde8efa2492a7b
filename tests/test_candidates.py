"""Reference-point candidates: rules, match (baselines), matchering and vst3 (peers).

1. Properties (hypothesis): on any audio — noise, silence, DC, mono, clipped, -70 dBFS, short —
   every baseline returns the task's processor with every parameter inside the renderer's
   ranges, surviving a from_dict(to_dict()) round trip, and its render has no NaN.
2. Unit checks of each rule, the EQ fitter and the peers' plumbing.
3. Quality on generated clips (6 genres, 4 s): gap closed = 1 - d(out, target) / d(input, target)
   per clip with MR-STFT and tonal balance; the bounds must read 0 and ~1, the baselines must give
   finite figures, mastering must land on its loudness target. `pytest -s` prints the medians.
"""

from __future__ import annotations

import math
import warnings

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from harness.candidates.base import Prediction, Unavailable
from harness.candidates.bypass import Bypass
from harness.candidates.eq_fit import EqFitter
from harness.candidates.match import Match, TargetCurve, generic_curve_db, match_eq
from harness.candidates.oracle import Oracle
from harness.candidates.rules import PRESETS, Rules, compressor_rules, eq_rules
from harness.candidates.safe_meters import curve
from harness.candidates.vocal_detector import vocal_presence
from harness.corpus.synth import STYLES, render_arrangement
from harness.dsp import EQ, Compressor, HighShelf, LowShelf, MasteringChain, Peak
from harness.metrics import integrated_lufs, mrstft_distance, tonal_balance_error_db, true_peak_dbtp
from harness.source_clip import SourceClip
from harness.tasks import get_task
from harness.tasks.base import Query, resolve_params, task_rng

SR = 48000
CASES = [("eq", None), ("compressor", None), ("mastering", "reference_free"), ("mastering", "reference_based")]
CONTROLLED = {"eq": EQ, "compressor": Compressor, "mastering": MasteringChain}


# -- 1. properties ----------------------------------------------------------------------------

KINDS = ("noise", "music", "silence", "dc", "mono", "dual_mono", "antiphase", "clipped", "quiet", "short", "impulse")


def make_audio(kind: str, seed: int, seconds: float) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    if kind == "short":
        return rng.standard_normal((2, int(rng.integers(1, 3000)))) * 0.1
    if kind == "silence":
        return np.zeros((2, n))
    if kind == "dc":
        return np.full((2, n), float(rng.uniform(-0.9, 0.9)))
    if kind == "impulse":
        x = np.zeros((2, n))
        x[:, n // 2] = 0.9
        return x
    if kind == "music":
        x = render_arrangement(seed, STYLES[list(STYLES)[seed % len(STYLES)]], seconds, SR)
        return x / np.max(np.abs(x)) * 0.5
    x = rng.standard_normal((2, n)) * 0.1
    if kind == "mono":
        return x[:1]
    if kind == "dual_mono":  # mono as stereo: identical channels
        return np.repeat(x[:1], 2, axis=0)
    if kind == "antiphase":  # the mono downmix is silent: spectral meters cannot measure it
        return np.stack([x[0], -x[0]])
    if kind == "clipped":
        return np.clip(x * 30.0, -1.0, 1.0)
    if kind == "quiet":
        return x / np.sqrt(np.mean(x**2)) * 10 ** (-70 / 20)
    return x


def check_params(params, task: str) -> None:
    kind = CONTROLLED[task]
    assert type(params) is kind, f"{task}: expected {kind.__name__}, got {type(params).__name__}"
    flat = params.to_dict()
    for spec in params.SPECS:
        v = flat[spec.name]
        assert math.isfinite(v) and spec.min <= v <= spec.max, (spec.name, v)
    assert kind.from_dict(flat) == params


@pytest.fixture(scope="module")
def fitted_match():
    """Match fitted on a few generated targets (the eq and mastering curves)."""
    m = Match()
    train = []
    for name, variant in (("eq", None), ("mastering", "reference_free")):
        train += _examples(_clips(900, 3, 2.0), name, variant)
    m.fit(train)
    assert {"eq", "mastering"} <= set(m.curves)
    return m


@pytest.mark.parametrize("name,variant", CASES)
@pytest.mark.parametrize("which", ["rules", "match", "match_fitted"])
def test_params_in_range_on_any_audio(which, name, variant, fitted_match):
    candidate = {"rules": Rules(), "match": Match(), "match_fitted": fitted_match}[which]

    @settings(max_examples=12, deadline=None, derandomize=True,
              suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture])
    @given(kind=st.sampled_from(KINDS), ref_kind=st.sampled_from(KINDS), seed=st.integers(0, 2**16),
           seconds=st.sampled_from([0.3, 0.6]), target=st.sampled_from([-14.0, -9.0, -23.0]))
    def run(kind, ref_kind, seed, seconds, target):
        audio = make_audio(kind, seed, seconds)
        reference = make_audio(ref_kind, seed + 1, seconds) if name == "compressor" or variant == "reference_based" else None
        q = Query(task=name, variant=variant, audio=audio, sample_rate=SR, reference=reference,
                  target_lufs=target if name == "mastering" else None, ceiling_dbtp=-1.0 if name == "mastering" else None)
        pred = candidate.predict(q)
        assert pred.audio is None
        check_params(pred.params, name)
        out = pred.render(q)
        assert out.shape == audio.shape and np.all(np.isfinite(out))

    run()


def test_every_kind_is_exercised():
    """The strategies above cover the edge cases by construction (not left to chance)."""
    q = lambda a: Query("eq", None, a, SR)
    for kind in KINDS:
        a = make_audio(kind, 1, 0.3)
        for cand in (Rules(), Match()):
            check_params(cand.predict(q(a)).params, "eq")
    assert make_audio("mono", 0, 0.1).shape[0] == 1
    assert np.max(np.abs(make_audio("clipped", 0, 0.1))) == 1.0


# -- 2. units ---------------------------------------------------------------------------------


def _noise(seed: int = 0, seconds: float = 2.0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((2, int(seconds * SR))) * 0.05


def test_rules_bright_and_dark():
    bright = _noise()  # white: centroid ~ 12 kHz
    eq, fired = eq_rules(bright, SR)
    assert "bright" in fired and eq.high_shelf == HighShelf(6000.0, -2.0)
    import scipy.signal

    sos = scipy.signal.butter(4, 800, fs=SR, output="sos")
    dark = scipy.signal.sosfilt(sos, bright, axis=1)
    eq, fired = eq_rules(dark, SR)
    assert "dark" in fired and eq.high_shelf == HighShelf(6000.0, 2.0)


def test_rules_vocal_rule_follows_the_detector():
    t = np.arange(2 * SR) / SR
    # a sustained 220 Hz "voice" with strong harmonics in the vocal band
    voice = sum(np.sin(2 * np.pi * 220 * k * t) / k for k in range(2, 12))
    audio = np.stack([voice, voice]) * 0.05
    ev = vocal_presence(audio, SR)
    assert ev is not None and ev.present
    eq, fired = eq_rules(audio, SR)
    assert "vocal" in fired
    assert eq.peak1 == Peak(350.0, -3.0, 1.0) and eq.peak3 == Peak(3000.0, 2.5, 1.0)
    assert not vocal_presence(_noise(), SR).present


@pytest.mark.parametrize("sr", [44100, 48000, 48000.0, 96000])
def test_vocal_band_filter_equals_scipy_bit_for_bit(sr):
    """The detector's own sosfilt and its written-out 48 kHz design (kept so that workers need not import
    scipy.signal) compute what scipy.signal.butter + sosfilt compute, on float32 and float64 input."""
    import scipy.signal

    from harness.candidates.vocal_detector import VOCAL_BAND_HZ, band_sos, sosfilt

    design = scipy.signal.butter(4, [VOCAL_BAND_HZ[0], min(VOCAL_BAND_HZ[1], 0.45 * sr)], btype="band", fs=sr,
                                 output="sos")
    assert np.array_equal(band_sos(sr), design)
    x = np.random.default_rng(3).standard_normal(2 * SR).astype(np.float32)
    assert np.array_equal(sosfilt(band_sos(sr), x.astype(np.float64)), scipy.signal.sosfilt(design, x))


def test_rules_compressor_presets_follow_the_crest_gap():
    x = render_arrangement(7, STYLES["rock"], 3.0, SR)
    x = x * 10 ** ((-20 - integrated_lufs(x, SR)) / 20)
    same, name = compressor_rules(x, x, SR)
    assert name == "gentle" and abs(same.makeup_db - (-integrated_lufs(PRESETS["gentle"].render(x, SR), SR) - 20)) < 0.05
    squashed = np.clip(x * 8.0, -0.3, 0.3)  # a far denser reference: crest several dB below the input's
    heavy, name = compressor_rules(x, squashed, SR)
    assert name == "heavy" and heavy.ratio == 8.0
    out = heavy.render(x, SR)
    assert abs(integrated_lufs(out, SR) - integrated_lufs(squashed, SR)) < 0.1


@pytest.mark.parametrize("target", [-14.0, -9.0])
def test_rules_mastering_is_loudness_normalisation(target):
    x = render_arrangement(3, STYLES["pop"], 3.0, SR) * 0.5  # ~ -23 LUFS: -9 LUFS needs ~20 dB of the 24 dB range
    q = Query("mastering", "reference_free", x, SR, target_lufs=target, ceiling_dbtp=-1.0)
    chain = Rules().predict(q).params
    assert chain.eq == EQ() and chain.compressor.ratio == 1.0 and chain.limiter.ceiling_dbtp == -1.0
    out = chain.render(x, SR)
    assert abs(integrated_lufs(out, SR) - target) < 0.1
    assert true_peak_dbtp(out, SR) <= -1.0 + 0.1


def test_eq_fitter_recovers_a_known_curve():
    """Fed the band response of a known EQ, the fit reproduces it (it is not just shrinking to flat)."""
    centres = curve(_noise(), SR).centres_hz
    fitter = EqFitter(centres, SR)
    truth = EQ(low_shelf=LowShelf(120.0, 4.0), peak1=Peak(400.0, -5.0, 1.2), peak2=Peak(2500.0, 3.0, 2.0),
               high_shelf=HighShelf(7000.0, -4.0))
    want = fitter.band_response_db(truth)
    keep = (centres >= 31.5) & (centres <= 16000)
    fitted = fitter.fit(want, keep.astype(float))
    err = fitter.band_response_db(fitted) - want
    assert np.sqrt(np.mean(err[keep] ** 2)) < 0.3, err


def test_match_eq_undoes_damage_against_the_true_curve():
    """With the clip's own undamaged curve as target (and no spread), match EQ repairs a damage."""
    x = render_arrangement(11, STYLES["pop"], 3.0, SR)
    damage = EQ(low_shelf=LowShelf(100.0, 6.0), peak2=Peak(3000.0, 5.0, 1.5))
    damaged = damage.render(x, SR)
    c = curve(x, SR)
    target = TargetCurve(c.centres_hz[c.valid], c.levels_db[c.valid], np.zeros(c.valid.sum()), 1)
    eq = match_eq(damaged, SR, target)
    before = tonal_balance_error_db(damaged, x, SR)
    after = tonal_balance_error_db(eq.render(damaged, SR), x, SR)
    assert after < 0.35 * before, (before, after)
    # and the spread shrinks it: a wide natural spread leaves the clip alone
    wide = TargetCurve(target.centres_hz, target.mean_db, np.full(len(target.mean_db), 20.0), 1)
    assert match_eq(damaged, SR, wide) == EQ()


def test_match_unfitted_uses_the_generic_curve():
    m = Match()
    tc = m.target_curve("eq")
    assert tc.count == 0 and abs(tc.mean_db.mean()) < 1e-9
    g = generic_curve_db(np.array([1000.0, 4000.0, 30.0]))
    assert g[0] == 0.0 and g[1] == pytest.approx(-3.0) and g[2] == pytest.approx(-3.0)


def test_match_compressor_tracks_the_reference_density():
    x = render_arrangement(5, STYLES["electronic"], 3.0, SR)
    x = x * 10 ** ((-20 - integrated_lufs(x, SR)) / 20)
    hidden = Compressor(threshold_db=-30, ratio=6, knee_db=6, attack_ms=10, release_ms=100, makeup_db=6)
    q = Query("compressor", None, x, SR, reference=hidden.render(x, SR))
    comp = Match().predict(q).params
    out = comp.render(x, SR)
    target = hidden.render(x, SR)
    assert mrstft_distance(out, target, SR) < 0.3 * mrstft_distance(x, target, SR)


# -- peers --------------------------------------------------------------------------------------


def test_matchering_supports_only_reference_based():
    from harness.candidates.matchering_peer import Matchering

    m = Matchering()
    assert m.kind == "peer"
    assert m.supports("mastering", "reference_based")
    assert not m.supports("mastering", "reference_free") and not m.supports("eq", None)


# Missing vs installed-but-broken matchering: tests/test_peer_availability.py.


def test_matchering_output_is_aligned_and_handles_edge_cases():
    pytest.importorskip("matchering")
    from harness.candidates.matchering_peer import Matchering

    m = Matchering()
    m.check_available()
    x = render_arrangement(2, STYLES["pop"], 2.0, SR) * 0.2
    with warnings.catch_warnings():
        warnings.simplefilter("error", DeprecationWarning)
        y = m.predict(Query("mastering", "reference_based", x, SR, reference=2.0 * x)).audio
    assert y.shape == x.shape and y.dtype == np.float64
    # a reference that is the input at twice the level: the output is that, sample-aligned
    core = slice(5000, -5000)
    rel = np.sqrt(np.mean((y[:, core] - 2 * x[:, core]) ** 2) / np.mean((2 * x[:, core]) ** 2))
    assert rel < 0.05, rel
    for audio in (x[:1], x[:, :1000], np.zeros_like(x)):
        out = m.predict(Query("mastering", "reference_based", audio, SR, reference=x)).audio
        assert out.shape == audio.shape and np.all(np.isfinite(out))


def test_vst3_peer_runs_pedalboard_plugins():
    pedalboard = pytest.importorskip("pedalboard")
    from harness.candidates.vst3 import Vst3Peer, from_name, parse_name

    x = render_arrangement(4, STYLES["rock"], 1.0, SR) * 0.3
    gain = Vst3Peer(pedalboard.Gain(gain_db=-6.0))
    y = gain.predict(Query("eq", None, x, SR)).audio
    assert y.shape == x.shape and y.dtype == np.float64
    assert np.allclose(y, x * 10 ** (-6 / 20), atol=1e-6)  # aligned, sample for sample
    comp = pedalboard.Compressor(threshold_db=-30, ratio=4)
    board = Vst3Peer(pedalboard.Pedalboard([comp, pedalboard.Gain(gain_db=3.0)]), tasks=("compressor",))
    assert board.supports("compressor", None) and not board.supports("eq", None)
    out = board.predict(Query("compressor", None, x, SR)).audio
    expected = pedalboard.Pedalboard([comp, pedalboard.Gain(gain_db=3.0)])(x.astype(np.float32), SR)
    assert np.allclose(out, expected, atol=1e-6)
    mono = board.predict(Query("compressor", None, x[:1], SR)).audio
    assert mono.shape == (1, x.shape[1])
    assert parse_name("vst3:/p/A.vst3?mix=0.5&bypass=false&mode=auto") == ("/p/A.vst3", {"mix": 0.5, "bypass": False, "mode": "auto"})
    missing = from_name("vst3:/nonexistent/Plugin.vst3")
    assert missing.name == "vst3:/nonexistent/Plugin.vst3"
    with pytest.raises(Unavailable, match="not found"):
        missing.check_available()


# -- 3. quality on generated clips ------------------------------------------------------------

GENRES = ["pop", "rock", "electronic", "hiphop", "ambient", "acoustic"]


def _clips(seed0: int, n: int, seconds: float) -> list[SourceClip]:
    from harness.finishing import finish_mix

    genres = [GENRES[i % len(GENRES)] for i in range(n)]
    return [finish_mix(f"q{seed0}_{i}", render_arrangement(seed0 + i, STYLES[g], seconds, SR), SR, genre=g)[0]
            for i, g in enumerate(genres)]


def _examples(clips, name, variant=None, seed=0):
    task = get_task(name)
    params = resolve_params(task.defaults, {}, name)
    kw = {"variant": variant} if variant else {}
    return [task.make_example(c, params, task_rng(name, c.id, seed, variant), partner=clips[(i + 1) % len(clips)], **kw)
            for i, c in enumerate(clips)]


@pytest.fixture(scope="module")
def quality():
    """Gap closed per (case, candidate): {"mr": [...], "tb": [...], "lufs": [...], "tp": [...]}."""
    test_clips = _clips(100, 6, 4.0)
    train_clips = _clips(500, 6, 4.0)
    candidates = [Bypass(), Oracle(), Rules(), Match()]
    try:
        from harness.candidates.matchering_peer import Matchering

        Matchering().check_available()
        candidates.append(Matchering())
    except Unavailable:
        pass
    results: dict = {}
    for name, variant in CASES:
        train, test = _examples(train_clips, name, variant), _examples(test_clips, name, variant)
        for cand in candidates:
            if not cand.supports(name, variant):
                continue
            cand.fit(train)
            row = results.setdefault((name, variant, cand.name), {"mr": [], "tb": [], "lufs": [], "tp": []})
            for ex in test:
                pred: Prediction = cand.predict_example(ex)
                out = pred.render(ex.query)
                assert out.shape == ex.query.audio.shape
                row["mr"].append(1 - mrstft_distance(out, ex.target, SR) / mrstft_distance(ex.query.audio, ex.target, SR))
                t0 = tonal_balance_error_db(ex.query.audio, ex.target, SR)
                row["tb"].append(1 - tonal_balance_error_db(out, ex.target, SR) / t0)
                row["lufs"].append(integrated_lufs(out, SR))
                row["tp"].append(true_peak_dbtp(out, SR))
    print("\ngap closed (median; share of clips worse than bypass) — MR-STFT | tonal balance")
    for (name, variant, cand), row in results.items():
        mr, tb = np.array(row["mr"]), np.array(row["tb"])
        print(f"  {name:10s} {str(variant or ''):15s} {cand:10s} MR {np.median(mr):+.3f} ({np.mean(mr < 0):.0%} worse)"
              f" | TB {np.median(tb):+.3f} ({np.mean(tb < 0):.0%} worse)")
    return results


@pytest.mark.slow(seconds=4)  # the five share the `quality` fixture (~15 s)
def test_bounds_read_zero_and_one(quality):
    for name, variant in CASES:
        for metric in ("mr", "tb"):
            assert np.max(np.abs(quality[(name, variant, "bypass")][metric])) < 1e-9
    for name in ("eq", "compressor"):
        assert min(quality[(name, None, "oracle")]["mr"]) >= 0.95
    assert min(quality[("eq", None, "oracle")]["tb"]) >= 0.95


@pytest.mark.slow(seconds=4)  # the five share the `quality` fixture (~15 s)
def test_baselines_give_finite_figures(quality):
    for name, variant in CASES:
        for cand in ("rules", "match"):
            row = quality[(name, variant, cand)]
            assert len(row["mr"]) == 6 and np.all(np.isfinite(row["mr"])) and np.all(np.isfinite(row["tb"]))


@pytest.mark.slow(seconds=4)  # the five share the `quality` fixture (~15 s)
def test_baselines_close_the_dynamics_and_loudness_gaps(quality):
    """Regression guards with wide margins (measured medians: compressor ~0.6, mastering ~0.9)."""
    for cand in ("rules", "match"):
        assert np.median(quality[("compressor", None, cand)]["mr"]) > 0.3
        for variant in ("reference_free", "reference_based"):
            assert np.median(quality[("mastering", variant, cand)]["mr"]) > 0.6
    # match EQ shrinks toward flat where songs differ naturally: on the median it must not hurt
    assert np.median(quality[("eq", None, "match")]["mr"]) > -0.05


@pytest.mark.slow(seconds=4)  # the five share the `quality` fixture (~15 s)
def test_mastering_lands_on_target(quality):
    for variant in ("reference_free", "reference_based"):
        for cand in ("rules", "match"):
            row = quality[("mastering", variant, cand)]
            assert np.max(np.abs(np.array(row["lufs"]) + 14.0)) < 0.5, row["lufs"]
            assert np.max(row["tp"]) <= -1.0 + 0.1, row["tp"]


@pytest.mark.slow(seconds=4)  # the five share the `quality` fixture (~15 s)
def test_matchering_quality_when_installed(quality):
    key = ("mastering", "reference_based", "matchering")
    if key not in quality:
        pytest.skip("matchering not installed")
    row = quality[key]
    assert np.all(np.isfinite(row["mr"])) and np.median(row["mr"]) > 0.0


def test_eq_fitter_fast_responses_equal_the_eq_objects_bit_for_bit():
    """The fitter's inner loop skips EQ objects and recomputes only the moved band for a Jacobian column;
    every response must still be exactly what EQ.response_db gives (so fits are unchanged), and a value
    outside EQ's ranges must still raise EQ's error."""
    from harness.candidates.eq_fit import _BAND_OF_PARAM, EqFitter
    from harness.metrics.spectral import ISO_266_THIRD_OCTAVE_HZ

    fitter = EqFitter(np.asarray(ISO_266_THIRD_OCTAVE_HZ), SR)
    rng = np.random.default_rng(5)
    centre = np.array([np.log(100), 0] + [np.log(1000), 0, 0] * 4 + [np.log(8000), 0])
    freqs, gains, qs = [0, 2, 5, 8, 11, 14], [1, 3, 6, 9, 12, 15], [4, 7, 10, 13]
    for _ in range(50):
        p = np.empty(16)
        p[freqs] = rng.uniform(np.log(30.0), np.log(15000.0), 6)
        p[gains] = rng.uniform(-15.0, 15.0, 6)
        p[qs] = rng.uniform(np.log(0.2), np.log(10.0), 4)
        reference = fitter.band_response_db(fitter.eq_of(p))
        terms = fitter.band_terms(p)
        assert np.array_equal(fitter.response_of_terms(terms), reference)
        k = int(rng.integers(16))
        q = p.copy()
        q[k] += 0.05
        moved = list(terms)
        moved[_BAND_OF_PARAM[k]] = fitter.band_term(q, _BAND_OF_PARAM[k])
        assert np.array_equal(fitter.response_of_terms(moved), fitter.band_response_db(fitter.eq_of(q)))
    too_low = centre.copy()
    too_low[2] = np.log(5.0)  # a 5 Hz bell: under EQ's 20 Hz
    with pytest.raises(ValueError, match="freq_hz"):
        fitter.response(too_low)

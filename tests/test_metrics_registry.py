"""The metric contract: registry entries, Measurement/Unmeasurable, measure and measure_all never leak -inf/nan."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import harness.metrics as metrics
from harness.metrics import (
    REGISTRY,
    Measurement,
    Unmeasurable,
    get_metric,
    list_distances,
    list_meters,
    measure,
    measure_all,
    register,
)

SR = 48000
EXPECTED_METERS = {
    "integrated_lufs",
    "max_momentary_lufs",
    "max_short_term_lufs",
    "loudness_range_lu",
    "true_peak_dbtp",
    "sample_peak_dbfs",
    "crest_factor_db",
    "plr_db",
    "spectral_centroid_hz",
    "tonal_balance_db",
}
EXPECTED_DISTANCES = {
    "mrstft_distance",
    "matched_mrstft_distance",
    "tonal_balance_error_db",
    "loudness_error_lu",
    "loudness_range_error_lu",
    "dynamics_error_db",
}


def programme(seconds=4.0, channels=2, seed=0):
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    t = np.arange(n) / SR
    tone = 0.2 * np.sin(2 * np.pi * 440 * t) * (0.6 + 0.4 * np.sin(2 * np.pi * 0.5 * t))
    return np.tile(tone, (channels, 1)) + 0.02 * rng.standard_normal((channels, n))


def assert_clean(results: dict[str, Measurement]):
    for name, m in results.items():
        assert isinstance(m, Measurement)
        if m.value is None:
            assert m.reason, name
        else:
            values = m.value if isinstance(m.value, tuple) else (m.value,)
            assert all(isinstance(v, float) and math.isfinite(v) for v in values), (name, m)
        json.dumps(m.to_json(), allow_nan=False)


def test_registry_holds_every_meter_and_distance_with_complete_entries():
    assert {s.name for s in list_meters()} == EXPECTED_METERS
    assert {s.name for s in list_distances()} == EXPECTED_DISTANCES
    for spec in REGISTRY.values():
        assert spec.unit is not None and spec.reference and spec.doc and "\n" not in spec.doc
        assert spec.kind in ("meter", "distance")
        assert spec.direction in ("lower", "higher", None)
        assert callable(spec.fn)
        assert getattr(metrics, spec.name) is spec.fn  # re-exported under its registry name
    assert all(s.direction == "lower" for s in list_distances())
    assert all(s.direction is None for s in list_meters())  # descriptive meters


def test_unknown_metric_names_the_known_ones():
    with pytest.raises(KeyError, match="integrated_lufs"):
        get_metric("lufs")


def test_register_rejects_bad_entries():
    with pytest.raises(ValueError, match="direction"):
        register("x", unit="", direction="up", kind="meter", reference="r", doc="d")
    with pytest.raises(ValueError, match="lower"):
        register("x", unit="", direction="higher", kind="distance", reference="r", doc="d")
    with pytest.raises(ValueError, match="already registered"):
        register("loudness_error_lu", unit="LU", direction="lower", kind="distance", reference="r", doc="d")(
            lambda o, t, sr: 0.0
        )


def test_unmeasurable_is_a_value_error_with_a_reason():
    exc = Unmeasurable("silence: nothing")
    assert isinstance(exc, ValueError)
    assert exc.reason == "silence: nothing" == str(exc)


def test_measurement_json_and_invariants():
    ok = Measurement(-23.0, "LUFS")
    assert ok.ok and ok.to_json() == {"value": -23.0, "unit": "LUFS", "reason": None}
    missing = Measurement(None, "LUFS", "silence: all blocks below the -70 LUFS absolute gate")
    assert not missing.ok
    assert missing.to_json() == {
        "value": None,
        "unit": "LUFS",
        "reason": "silence: all blocks below the -70 LUFS absolute gate",
    }
    assert json.loads(json.dumps(missing.to_json()))["value"] is None
    with pytest.raises(ValueError, match="exactly one of value and reason"):
        Measurement(None, "LU")
    with pytest.raises(ValueError, match="exactly one of value and reason"):
        Measurement(1.0, "LU", "both")
    with pytest.raises(dataclasses.FrozenInstanceError, match="cannot assign to field 'value'"):
        ok.value = 3.0  # frozen
    assert ok.value == -23.0


def test_measure_wraps_values_and_unmeasurable():
    x = programme()
    m = measure("integrated_lufs", x, SR)
    assert m.value == metrics.integrated_lufs(x, SR) and m.unit == "LUFS"
    silent = measure("integrated_lufs", np.zeros((2, SR)), SR)
    assert silent == Measurement(None, "LUFS", "silence: all blocks below the -70 LUFS absolute gate")
    short = measure("integrated_lufs", x[:, : SR // 10], SR)
    assert short.value is None and short.reason == "too short: 0.100 s < 0.4 s"
    d = measure("loudness_error_lu", x * 0.5, x, SR)
    assert d.value == pytest.approx(6.0206, abs=1e-3) and d.unit == "LU"


def test_measure_lets_programming_errors_raise():
    with pytest.raises(ValueError, match="same"):
        measure("mrstft_distance", programme(), programme()[:, :-5], SR)
    with pytest.raises(ValueError, match="integer"):
        measure("sample_peak_dbfs", np.zeros((2, 100), dtype=np.int16), SR)


def test_vector_meter_carries_its_axis():
    m = measure("tonal_balance_db", programme(), SR)
    assert isinstance(m.value, tuple) and len(m.value) == len(m.axis) == 30
    assert m.axis[0] == 25.0 and m.axis[-1] == 20000.0
    assert m.to_json()["axis"][16] == 1000.0


def test_measure_all_equals_each_meter_alone():
    """measure_all shares one loudness pass and one spectrum; values must equal the standalone functions."""
    x = programme(seconds=5.0).astype(np.float32)
    everything = measure_all(x, SR)
    assert set(everything) == EXPECTED_METERS
    for name, m in everything.items():
        alone = measure(name, x, SR)
        if isinstance(m.value, tuple):
            np.testing.assert_allclose(m.value, alone.value, rtol=0, atol=0)
        else:
            assert m.value == pytest.approx(alone.value, rel=1e-12, abs=1e-12), name
        assert m.unit == alone.unit


EDGE_CASES = {
    "silence": np.zeros((2, SR)),
    "dc": np.full((2, SR), 0.5),
    "0.1 s clip": programme()[:, : SR // 10],
    "single nonzero sample": np.eye(1, SR, SR // 2)[[0, 0]],
    "one sample": np.full((2, 1), 0.3),
    "empty": np.zeros((2, 0)),
    "nan": np.full((2, SR), np.nan),
    "mono inf": np.concatenate([np.zeros((1, 100)), np.full((1, 1), np.inf)], axis=1),
    "denormal": np.full((1, SR), 1e-310),
}


@pytest.mark.parametrize("case", sorted(EDGE_CASES))
def test_measure_all_never_leaks_inf_or_nan(case):
    """Silence, DC, 0.1 s clips, a lone sample, NaN: every meter is a finite value or None + reason."""
    results = measure_all(EDGE_CASES[case], SR)
    assert_clean(results)
    if case in ("silence", "nan", "empty"):
        assert all(m.value is None for m in results.values())


def test_edge_case_reasons_are_specific():
    silence = measure_all(EDGE_CASES["silence"], SR)
    assert silence["integrated_lufs"].reason == "silence: all blocks below the -70 LUFS absolute gate"
    assert silence["true_peak_dbtp"].reason == "silence: every sample is zero"
    assert silence["loudness_range_lu"].reason == "too short: 1.000 s < 3 s"
    nan = measure_all(EDGE_CASES["nan"], SR)
    assert all(m.reason == "non-finite samples: audio contains NaN or Inf" for m in nan.values())
    dc = measure_all(EDGE_CASES["dc"], SR)
    # K-weighting blocks DC; what it measures is the onset step's transient in the first blocks.
    assert dc["integrated_lufs"].value < -25.0
    assert dc["crest_factor_db"].value == pytest.approx(0.0, abs=1e-12)


@pytest.mark.parametrize("case", ["silence", "dc", "0.1 s clip", "single nonzero sample", "nan"])
def test_distances_never_leak_inf_or_nan(case):
    x = EDGE_CASES[case]
    reference = programme(seconds=x.shape[1] / SR)
    for spec in list_distances():
        for output, target in ((x, reference), (reference, x), (x, x)):
            assert_clean({spec.name: measure(spec.name, output, target, SR)})


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    channels=st.integers(1, 2),
    n=st.integers(0, 30000),
    scale=st.sampled_from([0.0, 1e-300, 1e-9, 1e-3, 1.0, 1e3]),
    seed=st.integers(0, 2**16),
    sparse=st.booleans(),
)
def test_measure_all_is_clean_on_arbitrary_audio(channels, n, scale, seed, sparse):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((channels, n)) * scale
    if sparse:
        x[rng.random(x.shape) < 0.99] = 0.0
    before = x.copy()
    assert_clean(measure_all(x, SR))
    np.testing.assert_array_equal(x, before)

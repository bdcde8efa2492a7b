"""Chains and the parameter contract: flat dict / vector round trips, validation, specs."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from harness.dsp import (
    EQ,
    Chain,
    Compressor,
    Gain,
    HighShelf,
    LowShelf,
    MasteringChain,
    ParamSpec,
    Peak,
    TruePeakLimiter,
)

PROCESSORS = [EQ, LowShelf, Peak, HighShelf, Compressor, TruePeakLimiter, Gain, MasteringChain]
SR = 48000


def music(seconds: float = 1.0, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    n = int(seconds * SR)
    spectrum = np.fft.rfft(rng.standard_normal((2, n)), axis=1)
    spectrum /= np.sqrt(np.maximum(np.arange(spectrum.shape[1]), 1))[None, :]
    x = np.fft.irfft(spectrum, n, axis=1)
    return (1.5 * x / np.abs(x).max()).astype(np.float32)


def some_mastering() -> MasteringChain:
    rng = np.random.default_rng(11)
    return MasteringChain.from_unit_vector(rng.uniform(0, 1, len(MasteringChain.SPECS)))


# -- specs --------------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", PROCESSORS)
def test_specs_are_consistent_with_defaults(cls):
    names = [s.name for s in cls.SPECS]
    assert len(names) == len(set(names))
    assert cls().to_dict() == cls.defaults()
    assert list(cls().to_dict()) == names
    for s in cls.SPECS:
        assert s.scale in ("lin", "log") and s.min < s.max


def test_flat_names_have_units_and_prefixes():
    names = MasteringChain.names()
    assert "eq.low_shelf.gain_db" in names and "eq.peak1.freq_hz" in names and "eq.peak4.q" in names
    assert "compressor.threshold_db" in names and "limiter.ceiling_dbtp" in names
    assert len(names) == 2 + 4 * 3 + 2 + 6 + 3


lin_specs = st.builds(
    lambda lo, width, frac: ParamSpec("x_db", lo, lo + width, lo + frac * width, "lin"),
    st.floats(-1e4, 1e4), st.floats(1e-3, 1e4), st.floats(0, 1),
)
log_specs = st.builds(
    lambda lo, ratio, frac: ParamSpec("x_hz", lo, lo * ratio, lo * ratio**frac, "log"),
    st.floats(1e-3, 1e3), st.floats(1.01, 1e4), st.floats(0, 1),
)


@settings(max_examples=300, deadline=None)
@given(spec=st.one_of(lin_specs, log_specs), frac=st.floats(0, 1))
def test_unit_mapping_round_trips(spec, frac):
    """from_unit(to_unit(v)) == v and to_unit(from_unit(u)) == u; log scale maps geometrically."""
    u = frac
    v = spec.from_unit(u)
    assert spec.min <= v <= spec.max
    assert spec.to_unit(v) == pytest.approx(u, abs=1e-9)
    assert spec.from_unit(spec.to_unit(v)) == pytest.approx(v, rel=1e-9, abs=1e-9 * (spec.max - spec.min))
    assert spec.from_unit(0.0) == spec.min and spec.from_unit(1.0) == spec.max
    if spec.scale == "log":
        assert spec.from_unit(0.5) == pytest.approx(math.sqrt(spec.min * spec.max), rel=1e-9)


def test_unit_mapping_examples_and_clip():
    freq = ParamSpec("freq_hz", 20.0, 20000.0, 1000.0, "log", "Hz")
    assert freq.to_unit(632.455532) == pytest.approx(0.5, abs=1e-6)
    assert freq.to_unit(200.0) == pytest.approx(1 / 3)
    gain = ParamSpec("gain_db", -18.0, 18.0, 0.0)
    assert gain.to_unit(0.0) == 0.5 and gain.from_unit(0.25) == -9.0
    assert gain.clip(30.0) == 18.0 and gain.clip(-30.0) == -18.0
    np.testing.assert_allclose(freq.from_unit(np.array([0.0, 1.0])), [20.0, 20000.0])
    with pytest.raises(ValueError):
        ParamSpec("bad_hz", 0.0, 10.0, 1.0, "log")
    with pytest.raises(ValueError):
        ParamSpec("bad_db", 0.0, 10.0, 11.0)


# -- round trips --------------------------------------------------------------------------------


@pytest.mark.parametrize("cls", PROCESSORS)
def test_dict_vector_unit_round_trips(cls):
    rng = np.random.default_rng(5)
    p = cls.from_unit_vector(rng.uniform(0, 1, len(cls.SPECS)))
    assert cls.from_dict(p.to_dict()) == p
    assert cls.from_vector(p.to_vector()) == p
    np.testing.assert_allclose(cls.from_unit_vector(p.to_unit_vector()).to_vector(), p.to_vector(), rtol=1e-12)
    assert p.to_vector().dtype == np.float64 and p.to_vector().shape == (len(cls.SPECS),)


def test_vector_is_in_spec_order_and_builds_nested_parts():
    v = MasteringChain().to_vector().copy()
    names = MasteringChain.names()
    v[names.index("eq.peak2.gain_db")] = -7.5
    v[names.index("compressor.ratio")] = 6.0
    v[names.index("limiter.lookahead_ms")] = 4.0
    m = MasteringChain.from_vector(v)
    assert m.eq.peak2 == Peak(800.0, -7.5, 1.0)
    assert m.compressor.ratio == 6.0 and m.limiter.lookahead_ms == 4.0


def test_generic_chain_round_trips_and_names():
    chain = Chain([Gain(-3.0), EQ(peak1=Peak(200.0, 4.0, 2.0)), Compressor(), Gain(2.0), TruePeakLimiter()])
    assert chain.names == ("gain", "eq", "compressor", "gain_2", "limiter")
    d = chain.to_dict()
    assert d["gain.gain_db"] == -3.0 and d["gain_2.gain_db"] == 2.0 and d["eq.peak1.gain_db"] == 4.0
    assert list(d) == [s.name for s in chain.SPECS]
    assert chain.with_dict(d) == chain
    assert chain.with_vector(chain.to_vector()) == chain
    np.testing.assert_allclose(chain.with_unit_vector(chain.to_unit_vector()).to_vector(), chain.to_vector())
    d["compressor.ratio"] = 2.0
    assert chain.with_dict(d).processors[2].ratio == 2.0


# -- validation ---------------------------------------------------------------------------------


def test_unknown_and_missing_keys_are_named():
    d = MasteringChain().to_dict()
    d["eq.peak9.gain_db"] = 1.0
    with pytest.raises(ValueError, match=r"eq\.peak9\.gain_db"):
        MasteringChain.from_dict(d)
    d = MasteringChain().to_dict()
    del d["limiter.release_ms"]
    with pytest.raises(ValueError, match=r"missing.*limiter\.release_ms"):
        MasteringChain.from_dict(d)
    chain = Chain([Gain(), Compressor()])
    with pytest.raises(ValueError, match=r"gain\.gian_db"):
        chain.with_dict({**chain.to_dict(), "gain.gian_db": 0.0})


@pytest.mark.parametrize(
    "key,value",
    [("eq.peak3.q", 50.0), ("eq.low_shelf.freq_hz", 5.0), ("compressor.ratio", 0.5),
     ("limiter.ceiling_dbtp", 1.0), ("eq.high_shelf.gain_db", float("nan"))],
)
def test_out_of_range_names_param_value_and_range(key, value):
    d = {**MasteringChain().to_dict(), key: value}
    with pytest.raises(ValueError) as err:
        MasteringChain.from_dict(d)
    message = str(err.value)
    spec = {s.name: s for s in MasteringChain.SPECS}[key]
    assert key in message and repr(float(value)) in message
    assert str(spec.min) in message and str(spec.max) in message


def test_direct_construction_and_vectors_are_validated():
    with pytest.raises(ValueError, match="threshold_db"):
        Compressor(threshold_db=10.0)
    with pytest.raises(ValueError, match="expected a vector of 3"):
        TruePeakLimiter.from_vector([1.0, 2.0])
    with pytest.raises(ValueError, match=r"outside \[0, 1\]"):
        Compressor.from_unit_vector([0.5, 0.5, 1.5, 0.5, 0.5, 0.5])
    with pytest.raises(TypeError):
        EQ(peak1=LowShelf())  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="unique"):
        Chain([Gain(), Gain()], names=["a", "a"])


# -- rendering ----------------------------------------------------------------------------------


def test_chain_equals_applying_processors_in_sequence():
    x = music()
    m = some_mastering()
    expected = m.limiter.render(m.compressor.render(m.eq.render(x, SR), SR), SR)
    np.testing.assert_array_equal(m.render(x, SR), expected)
    np.testing.assert_array_equal(m.as_chain().render(x, SR), expected)
    g = Chain([Gain(-6.0), m.eq])
    np.testing.assert_array_equal(g.render(x, SR), m.eq.render(Gain(-6.0).render(x, SR), SR))


def test_chain_render_contract():
    x = music(0.5)
    before = x.copy()
    m = some_mastering()
    y = m.render(x, SR)
    np.testing.assert_array_equal(x, before)
    assert y.dtype == x.dtype and y.shape == x.shape
    assert m.latency_samples(SR) == m.limiter.latency_samples(SR) == m.as_chain().latency_samples(SR)
    empty = Chain([])
    z = empty.render(x, SR)
    assert z is not x
    np.testing.assert_array_equal(z, x)
    with pytest.raises(ValueError):
        m.render(x[0], SR)  # mono must be (1, n)
    with pytest.raises(ValueError):
        m.render(x.astype(np.int16), SR)


def test_gain():
    x = music(0.1)
    np.testing.assert_allclose(Gain(-6.0).render(x, SR), x * 10 ** (-6 / 20), rtol=1e-6)
    assert Gain(-6.0).render(x, SR).dtype == np.float32
    np.testing.assert_array_equal(Gain().render(x, SR), x)

"""Tasks: deterministic damage, candidates never see the answer, and the oracle repairs the damage."""

import numpy as np
import pytest

from harness.corpus.synth import STYLES, render_arrangement
from harness.errors import UserError
from harness.finishing import finish_mix
from harness.metrics import integrated_lufs, mrstft_distance
from harness.tasks import TASKS, get_task
from harness.tasks.base import Query, resolve_params, task_rng

SR = 48000


@pytest.fixture(scope="module")
def clips():
    return [finish_mix(f"c{i}", render_arrangement(100 + i, STYLES[genre], 4.0, SR), SR, genre=genre)[0]
            for i, genre in enumerate(["pop", "rock", "electronic"])]


def _examples(clips, name, variant=None, seed=0, **extra):
    task = get_task(name)
    params = resolve_params(task.defaults, {}, name)
    kw = dict(extra)
    if variant:
        kw["variant"] = variant
    return [task.make_example(c, params, task_rng(name, c.id, seed, variant), partner=clips[(i + 1) % len(clips)], **kw)
            for i, c in enumerate(clips)]


CASES = [("eq", None), ("compressor", None), ("mastering", "reference_free"), ("mastering", "reference_based")]


@pytest.mark.parametrize("name,variant", CASES)
def test_oracle_repairs_damage(clips, name, variant):
    """Benchmark-data acceptance: oracle MR-STFT distance < 1 % of the damaged distance; mastering within 0.5 LU."""
    for ex in _examples(clips, name, variant):
        damaged = mrstft_distance(ex.query.audio, ex.target, SR)
        repaired = mrstft_distance(ex.oracle.render(ex.query.audio, SR), ex.target, SR)
        assert damaged > 0.05, "the damage should be audible"
        assert repaired < 0.01 * damaged, (ex.clip_id, damaged, repaired)
        assert ex.oracle_exact
        if name == "mastering":
            out = ex.oracle.render(ex.query.audio, SR)
            assert abs(integrated_lufs(out, SR) - (-14.0)) < 0.5


@pytest.mark.parametrize("name,variant", CASES)
def test_damage_is_deterministic_and_seeded(clips, name, variant):
    a, b = _examples(clips, name, variant), _examples(clips, name, variant)
    for x, y in zip(a, b):
        assert np.array_equal(x.query.audio, y.query.audio) and x.damage == y.damage
    other = _examples(clips, name, variant, seed=1)
    assert any(x.damage != y.damage for x, y in zip(a, other))


def test_query_hides_the_answer(clips):
    fields = set(Query.__dataclass_fields__)
    assert fields == {"task", "variant", "audio", "sample_rate", "reference", "target_lufs", "ceiling_dbtp"}
    for ex in _examples(clips, "compressor"):
        assert ex.query.reference is not None and not np.array_equal(ex.query.reference, ex.target)


def test_mastering_at_another_loudness_target(clips):
    """A club target (-9 LUFS) re-finishes the target; the oracle still lands on it."""
    for ex in _examples(clips[:1], "mastering", "reference_free", target_lufs=-9.0, ceiling_dbtp=-1.0):
        out = ex.oracle.render(ex.query.audio, SR)
        assert abs(integrated_lufs(ex.target, SR) + 9.0) < 0.1
        assert abs(integrated_lufs(out, SR) + 9.0) < 0.5


def test_eq_moves_stay_in_range_and_invert(clips):
    from harness.tasks.eq import inverse, sample_damage

    params = resolve_params(TASKS["eq"].defaults, {}, "eq")
    rng = np.random.default_rng(0)
    freqs = np.geomspace(20, 20000, 200)
    for _ in range(200):
        damage, moves = sample_damage(params, rng)
        assert 1 <= len(moves) <= 3 and len(set(moves)) == len(moves)
        total = damage.response_db(freqs, SR) + inverse(damage).response_db(freqs, SR)
        assert np.max(np.abs(total)) < 1e-6


def test_unknown_degradation_parameter_suggests():
    with pytest.raises(ValueError, match="did you mean 'tilt_db'"):
        resolve_params(TASKS["eq"].defaults, {"tilt_dB": {"uniform": [1, 2]}}, "eq")
    with pytest.raises(ValueError, match="low ≤ high"):
        resolve_params(TASKS["eq"].defaults, {"tilt_db": {"uniform": [3, 1]}}, "eq")
    with pytest.raises(UserError, match="did you mean 'mastering'"):
        get_task("masterin")

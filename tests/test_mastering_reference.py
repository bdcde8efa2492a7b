"""Reference-based mastering means what it says (Methods): the reference is informative about the
target — the target is this clip mastered toward the reference's tonal balance and loudness — and
the oracle still repairs it exactly."""

import numpy as np
import pytest

from harness.corpus.synth import STYLES, render_arrangement
from harness.finishing import finish_mix
from harness.metrics import integrated_lufs, matched_mrstft_distance, tonal_balance_error_db
from harness.tasks import get_task
from harness.tasks.base import resolve_params, task_rng

SR = 48000


@pytest.fixture(scope="module")
def clips():
    # the reference (clip 1) is finished louder than the clip (clip 0), as real references are
    return [finish_mix("quiet", render_arrangement(100, STYLES["pop"], 4.0, SR), SR, genre="pop", target_lufs=-16.0)[0],
            finish_mix("loud", render_arrangement(101, STYLES["ambient"], 4.0, SR), SR, genre="pop", target_lufs=-10.0)[0]]


def _example(clips, variant):
    spec = get_task("mastering")
    params = resolve_params(spec.defaults, {}, "mastering")
    return spec.make_example(clips[0], params, task_rng("mastering", "quiet", 0, variant), partner=clips[1],
                             variant=variant, target_lufs=-14.0)


def test_the_reference_based_target_moves_toward_the_reference(clips):
    free, based = _example(clips, "reference_free"), _example(clips, "reference_based")
    reference = based.query.reference
    assert tonal_balance_error_db(based.target, reference, SR) < tonal_balance_error_db(free.target, reference, SR) - 0.3
    assert based.damage["toward_reference"]  # the move is recorded with the example
    # its loudness is the reference's, and the query says so
    assert integrated_lufs(based.target, SR) == pytest.approx(integrated_lufs(reference, SR), abs=0.1)
    assert based.query.target_lufs == pytest.approx(integrated_lufs(reference, SR), abs=1e-9)
    assert free.query.target_lufs == -14.0


def test_the_oracle_still_repairs_the_reference_based_example_exactly(clips):
    ex = _example(clips, "reference_based")
    repaired = ex.oracle.render(ex.query.audio, SR)
    assert ex.oracle_exact
    assert matched_mrstft_distance(repaired, ex.target, SR) < 1e-3 * matched_mrstft_distance(ex.query.audio, ex.target, SR)
    assert np.max(np.abs(repaired - ex.target)) < 1e-4

"""Scores that measure skill, not level (Methods issue): loudness-matched MR-STFT, gap closed with an
audibility floor, harm beyond the floor, and a gain-only compressor that must close almost nothing."""

import numpy as np
import pytest

from harness.corpus.synth import STYLES, render_arrangement
from harness.dsp import Compressor
from harness.finishing import finish_mix
from harness.metrics import get_metric, integrated_lufs, matched_mrstft_distance, mrstft_distance
from harness.metrics.distances import OutputAnalysis, distance_against
from harness.runner import gap_closed, input_distances, prepare_against, score_output
from harness.tasks import get_task
from harness.tasks.base import resolve_params, task_rng

SR = 48000


def music(seed: int, seconds: float = 3.0) -> np.ndarray:
    return render_arrangement(seed, STYLES["pop"], seconds, SR) * 0.3


def test_matched_mrstft_ignores_output_level_and_equals_the_raw_distance_after_matching():
    target, output = music(1), music(1) * 0.5 + 0.01 * music(2)
    assert matched_mrstft_distance(target, target, SR) == 0.0
    # float32 spectra (docs/metrics.md): a pure gain reads 1e-5 where float64 read 0, 1/4000 of the 0.04 floor
    assert matched_mrstft_distance(target * 0.3, target, SR) == pytest.approx(0.0, abs=5e-5)
    assert mrstft_distance(target * 0.3, target, SR) > 0.5  # the raw distance is mostly level
    gain = 10 ** ((integrated_lufs(target, SR) - integrated_lufs(output, SR)) / 20)
    expected = mrstft_distance(output * gain, target, SR)
    assert matched_mrstft_distance(output, target, SR) == pytest.approx(expected, rel=1e-6)
    assert matched_mrstft_distance(output * 4.0, target, SR) == pytest.approx(expected, rel=1e-6)


@pytest.mark.parametrize("name", ["matched_mrstft_distance", "mrstft_distance", "loudness_error_lu",
                                  "dynamics_error_db", "tonal_balance_error_db"])
def test_fast_paths_with_a_shared_analysis_equal_the_pure_functions(name):
    target = music(3)
    fast = distance_against(name, target, SR)
    pure = get_metric(name).fn
    for output in (music(3) * 0.7, music(4), target):
        analysis = OutputAnalysis(output, SR)
        assert fast(analysis) == pytest.approx(pure(output, target, SR), rel=1e-12, abs=1e-12)


def test_gap_closed_leaves_out_damage_below_the_floor():
    assert gap_closed(0.5, 1.0, 0.04) == 0.5
    assert gap_closed(0.01, 0.03, 0.04) is None  # damage 0.03 is below the 0.04 floor: no ratio
    assert gap_closed(None, 1.0, 0.04) is None
    assert gap_closed(0.0, 1e-13, None) is None


class GainOnly:
    """Test fixture: a "compressor" that only matches the reference's loudness (ratio 1). On raw
    MR-STFT it closed 0.81 of the compressor gap; on the primary metric it must close <= 0.1."""

    def predict(self, query) -> Compressor:
        makeup = integrated_lufs(query.reference, query.sample_rate) - integrated_lufs(query.audio, query.sample_rate)
        return Compressor(threshold_db=0.0, ratio=1.0, makeup_db=float(np.clip(makeup, -12.0, 24.0)))


@pytest.fixture(scope="module")
def compressor_examples():
    spec = get_task("compressor")
    params = resolve_params(spec.defaults, {}, "compressor")
    clips = [finish_mix(f"m{i}", render_arrangement(500 + i, STYLES[g], 4.0, SR), SR, genre=g)[0]
             for i, g in enumerate(["pop", "rock", "electronic", "hiphop", "acoustic", "ambient"])]
    return [spec.make_example(c, params, task_rng("compressor", c.id, 0), partner=clips[(i + 1) % len(clips)])
            for i, c in enumerate(clips)]


def test_gain_only_compressor_closes_at_most_a_tenth_of_the_primary_gap(compressor_examples):
    primary, raw = "matched_mrstft_distance", "mrstft_distance"
    primary_gaps, raw_gaps = [], []
    for ex in compressor_examples:
        metrics = [primary, raw]
        against = prepare_against(ex, metrics)
        d_in = input_distances(ex, metrics, against)
        output = GainOnly().predict(ex.query).render(ex.query.audio, SR)
        _, gaps = score_output(output, ex, metrics, d_in, against)
        primary_gaps.append(gaps[primary])
        raw_gaps.append(gaps[raw])
    assert np.median([g for g in primary_gaps if g is not None]) <= 0.1
    assert np.median([g for g in raw_gaps if g is not None]) > 0.3  # level alone closes much of the raw gap


def test_input_distances_are_stored_beside_the_output_ones(compressor_examples):
    ex = compressor_examples[0]
    values, _ = score_output(ex.query.audio, ex, ["matched_mrstft_distance"])
    assert values["matched_mrstft_distance"] == values["input.matched_mrstft_distance"]

"""The compressor trainer: references rendered by the harness compressor and measured with the harness's
own inputs, pairs that never reference the input's own clip, and a seeded, reproducible fit."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from harness.controller_inputs import feature_size
from harness.corpus.synth import STYLES, render_arrangement
from harness.source_clip import SourceClip
from harness.tasks import get_task
from harness.tasks.base import resolve_params
from trainers import compressor as trainer

SR = 48_000


@pytest.fixture(scope="module")
def pools():
    params = resolve_params(get_task("compressor").defaults, {}, "compressor")
    clips = [SourceClip(id=f"c{i}", sample_rate=SR, target=render_arrangement(i, STYLES["rock"], 2.0, SR) * 0.3)
             for i in range(6)]
    train = trainer.build_pool(clips[:4], ["t"] * 4, params, 3, seed=0)
    val = trainer.build_pool(clips[4:], ["v"] * 2, params, 3, seed=1)
    return train, val


def test_inputs_have_the_harness_layout(pools):
    train, _ = pools
    x, y = trainer.sample_batch(train, np.random.default_rng(0), 32)
    assert x.shape == (32, feature_size("compressor")) and y.shape == (32, len(trainer.SPECS))
    assert float(y.min()) >= 0.0 and float(y.max()) <= 1.0


def test_an_input_is_never_paired_with_its_own_reference_clip(pools):
    train, _ = pools
    rng = np.random.default_rng(3)
    for _ in range(20):
        refs = torch.from_numpy(rng.integers(0, len(train.ref_clip), 64))
        a = torch.from_numpy(rng.integers(0, len(train.clip_features) - 1, 64))
        a = a + (a >= train.ref_clip[refs]).long()
        assert not bool((a == train.ref_clip[refs]).any())
        assert int(a.max()) < len(train.clip_features)


TINY = trainer.Profile("tiny", examples_per_clip=3, steps=40, batch=32, hidden=16, learning_rate=2e-3,
                       validate_every=10)


def test_same_seed_same_validation_metric(pools):
    torch.set_num_threads(1)
    train, val = pools
    _, a = trainer.train(train, val, profile=TINY, seed=2)
    _, b = trainer.train(train, val, profile=TINY, seed=2)
    assert abs(a["val_param_mse"] - b["val_param_mse"]) <= 1e-6


def test_training_fits_the_train_pool(pools):
    train, _ = pools
    model, _ = trainer.train(train, train, profile=replace(TINY, steps=300, validate_every=100), seed=0)
    x, y = trainer.sample_batch(train, np.random.default_rng(9), 256)
    with torch.no_grad():
        fitted = trainer.loss_fn(model(x), y).item()
    mean = trainer.loss_fn(train.ref_units.mean(0).expand_as(y), y).item()
    assert fitted < mean


def test_a_model_sees_only_the_audio_the_reference_and_the_loudness_target(tmp_path):
    """Trainers issue: at inference a controller sees only the audio, the reference where its task has
    one, and the loudness target. Its inputs are `query_features(query)` of a Query, which carries nothing
    else (no target, no oracle, no damage); and a change of anything but those leaves its output alone."""
    import dataclasses

    from harness.candidates.onnx_model import OnnxController
    from harness.models import load_release
    from harness.tasks.base import Query
    from tests.model_fixtures import build_fixture_release

    assert {f.name for f in dataclasses.fields(Query)} == {"task", "variant", "audio", "sample_rate", "reference",
                                                           "target_lufs", "ceiling_dbtp"}
    release = load_release(build_fixture_release(tmp_path, "compressor"))
    model = OnnxController(release)
    audio = render_arrangement(1, STYLES["pop"], 2.0, SR) * 0.3
    ref = render_arrangement(2, STYLES["pop"], 2.0, SR) * 0.3
    base = Query(task="compressor", variant=None, audio=audio, sample_rate=SR, reference=ref)
    same = model.predict(dataclasses.replace(base, variant="anything")).params.to_unit_vector()
    assert np.array_equal(model.predict(base).params.to_unit_vector(), same)
    other_ref = model.predict(dataclasses.replace(base, reference=audio)).params.to_unit_vector()
    assert not np.array_equal(same, other_ref)  # the reference is an input


def test_compressing_harder_than_asked_costs_more():
    """The costly side: a lower threshold or a higher ratio than the reference's costs `asymmetry` times as
    much as the same error on the other side; the other parameters stay symmetric."""
    from trainers.common.regression import weighted_mse

    names = [s.name for s in trainer.SPECS]
    side, weights = trainer.costly_side(), torch.ones(len(names))
    target = torch.full((1, len(names)), 0.5)
    for name, harder in (("threshold_db", -0.1), ("ratio", +0.1)):
        i = names.index(name)
        over, under = target.clone(), target.clone()
        over[0, i] += harder
        under[0, i] -= harder
        assert weighted_mse(over, target, weights, side, 3.0) == pytest.approx(3 * weighted_mse(under, target, weights,
                                                                                                 side, 3.0))
    i = names.index("knee_db")
    up, down = target.clone(), target.clone()
    up[0, i] += 0.1
    down[0, i] -= 0.1
    assert weighted_mse(up, target, weights, side, 3.0) == pytest.approx(weighted_mse(down, target, weights, side, 3.0))

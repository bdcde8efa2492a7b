"""The mastering trainer: examples from the task's own generator (both variants), inputs exactly the
harness's, targets the exact oracle's parameters, and a seeded, reproducible fit."""

from dataclasses import replace

import numpy as np
import pytest
import torch

from harness.controller_inputs import feature_size
from harness.corpus.synth import STYLES, render_arrangement
from harness.dsp import MasteringChain
from harness.source_clip import SourceClip
from harness.tasks import get_task
from harness.tasks.base import resolve_params
from trainers import mastering as trainer

SR = 48_000


@pytest.fixture(scope="module")
def pools():
    params = resolve_params(get_task("mastering").defaults, {}, "mastering")
    clips = [SourceClip(id=f"c{i}", sample_rate=SR, genre="pop",
                        target=render_arrangement(i, STYLES["pop"], 2.0, SR) * 0.3) for i in range(5)]
    train = trainer.build_pool(clips[:3], ["t"] * 3, params, 1, seed=0, target_lufs=-14.0, ceiling_dbtp=-1.0)
    val = trainer.build_pool(clips[3:], ["v"] * 2, params, 1, seed=1, target_lufs=-14.0, ceiling_dbtp=-1.0)
    return train, val


def test_pool_has_the_harness_layout_and_both_variants(pools):
    train, _ = pools
    assert train.features.shape[1] == feature_size("mastering")
    assert train.units.shape[1] == len(MasteringChain.SPECS)
    has_reference = train.features[:, -1]  # the has-reference flag is the last input
    assert set(has_reference.tolist()) == {0.0, 1.0}


TINY = trainer.Profile("tiny", examples_per_clip=1, steps=40, batch=8, hidden=16, learning_rate=2e-3, validate_every=10)


def test_same_seed_same_validation_metric(pools):
    torch.set_num_threads(1)
    train, val = pools
    _, a = trainer.train(train, val, profile=TINY, seed=4)
    _, b = trainer.train(train, val, profile=TINY, seed=4)
    assert abs(a["val_param_mse"] - b["val_param_mse"]) <= 1e-6


def test_training_fits_the_train_pool(pools):
    train, _ = pools
    model, metrics = trainer.train(train, train, profile=replace(TINY, steps=300, validate_every=100), seed=0)
    assert metrics["val_param_mse"] < metrics["val_mean_predictor_mse"]
    with torch.no_grad():
        assert np.isfinite(model(train.features).numpy()).all()

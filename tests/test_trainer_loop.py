"""The shared training loop (trainers/common/loop.py): an interrupted training resumes to the same result,
a bad checkpoint or a diverged loss stops with one line and writes no release, and the CLI says so."""

from __future__ import annotations

import errno

import numpy as np
import pytest
import torch

from harness.cli import main
from harness.errors import UserError
from trainers.common import loop
from trainers.common.checkpoint import Checkpointer
from trainers.common.regression import fit

N_IN, N_OUT = 6, 3


def _problem(seed: int = 0):
    """A small regression with a known answer: y = sigmoid(x @ W)."""
    w = torch.from_numpy(np.random.default_rng(seed).normal(0, 1, (N_IN, N_OUT))).float()

    def sample(rng: np.random.Generator, n: int):
        x = torch.from_numpy(rng.normal(0, 1, (n, N_IN))).float()
        return x, torch.sigmoid(x @ w)

    val_x, val_y = sample(np.random.default_rng(99), 128)
    return sample, val_x, val_y


def _fit(sample, val_x, val_y, **kw):
    torch.set_num_threads(1)
    return fit(sample, val_x, val_y, torch.ones(N_OUT), steps=60, batch=32, hidden=16, learning_rate=3e-3,
               validate_every=10, seed=4, mean_y=val_y.mean(0), **kw)


class Interrupt(Exception):
    pass


def test_an_interrupted_training_resumes_to_the_same_result(tmp_path):
    sample, val_x, val_y = _problem()
    straight, straight_metrics = _fit(sample, val_x, val_y)
    checkpoint = Checkpointer.for_training({"task": "t", "seed": 4}, tmp_path)

    def stop_at_35(step, total, loss, val):
        if step == 35:
            raise Interrupt  # as a kill would: after the step-30 checkpoint, before step 40's
    with pytest.raises(Interrupt):
        _fit(sample, val_x, val_y, checkpoint=checkpoint, progress=stop_at_35)
    assert checkpoint.path.exists()
    lines = []
    resumed, metrics = _fit(sample, val_x, val_y, checkpoint=checkpoint, log=lines.append)
    assert metrics["resumed_from_step"] == 30 and "resuming from step 30 of 60" in lines[0]
    assert abs(metrics["val_param_mse"] - straight_metrics["val_param_mse"]) <= 1e-6
    assert metrics["best_step"] == straight_metrics["best_step"]
    for (name, a), (_, b) in zip(straight.state_dict().items(), resumed.state_dict().items(), strict=True):
        assert torch.equal(a, b), name


@pytest.mark.parametrize("content", [b"", b"not a checkpoint at all", b"PK\x03\x04 truncated zip"])
def test_a_corrupt_checkpoint_is_one_line(tmp_path, content):
    checkpoint = Checkpointer.for_training({"task": "t"}, tmp_path)
    checkpoint.path.parent.mkdir(parents=True, exist_ok=True)
    checkpoint.path.write_bytes(content)
    with pytest.raises(UserError, match="corrupt checkpoint") as info:
        checkpoint.load()
    assert "\n" not in str(info.value) and str(checkpoint.path) in str(info.value)


def test_a_checkpoint_of_another_training_is_refused(tmp_path):
    mine = Checkpointer.for_training({"task": "t", "seed": 1}, tmp_path)
    theirs = Checkpointer(mine.path, {"task": "t", "seed": 2})
    theirs.save({"step": 3})
    with pytest.raises(UserError, match="another training"):
        mine.load()


def test_a_nan_loss_stops_training(tmp_path):
    sample, val_x, val_y = _problem()

    def poisoned(rng, n):
        x, y = sample(rng, n)
        if rng.random() < 0.3:
            x[0, 0] = float("nan")
        return x, y

    with pytest.raises(loop.TrainingDiverged, match="training diverged: the loss is nan at step"):
        _fit(poisoned, val_x, val_y)


def test_a_checkpoint_write_on_a_full_disk_keeps_the_previous_one(tmp_path, monkeypatch):
    checkpoint = Checkpointer.for_training({"task": "t"}, tmp_path)
    checkpoint.save({"step": 1})

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(torch, "save", full)
    with pytest.raises(OSError, match="No space left"):
        checkpoint.save({"step": 2})
    monkeypatch.undo()
    assert checkpoint.load()["step"] == 1
    assert [p.name for p in tmp_path.iterdir()] == [checkpoint.path.name]  # no temporary left behind


# ---- through the CLI, on the smoke suite (8 train clips) ----

@pytest.mark.slow(seconds=20)
def test_cli_bad_checkpoint_diverged_training_and_resume(smoke_home, tmp_path, monkeypatch, capsys):
    from harness.models import discover_releases
    from trainers import compressor

    models = tmp_path / "models"
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(models))
    ckpts = tmp_path / "ckpt"
    args = ["train", "compressor", "--suite", "smoke", "--steps", "30", "--checkpoint-dir", str(ckpts)]
    assert main(args) == 0
    first = discover_releases(models)
    assert [r.name for r in first] == ["compressor-v1"] and not list(ckpts.glob("*.pt"))  # done: dropped
    capsys.readouterr()

    # a NaN loss: one line, exit 2, no new release, the old one untouched
    before = (models / "compressor" / "compressor-v1" / "model.onnx").read_bytes()
    real = compressor.sample_batch

    calls = []

    def nan_batch(pool, rng, n):  # call 1 draws the validation set: diverges at step 11, after step 9's checkpoint
        calls.append(1)
        x, y = real(pool, rng, n)
        return (x * float("nan") if len(calls) >= 12 else x), y

    monkeypatch.setattr(compressor, "sample_batch", nan_batch)
    assert main(args) == 2
    err = capsys.readouterr().err
    errors = [line for line in err.splitlines() if "error:" in line]
    assert len(errors) == 1 and "Traceback" not in err, err
    assert "training diverged: the loss is nan at step 11 of 30" in errors[0] and "last good checkpoint" in errors[0]
    monkeypatch.setattr(compressor, "sample_batch", real)
    assert [r.name for r in discover_releases(models)] == ["compressor-v1"]
    assert (models / "compressor" / "compressor-v1" / "model.onnx").read_bytes() == before

    # a corrupt checkpoint of this very training: one line, no release; --fresh starts over
    monkeypatch.setattr(compressor, "sample_batch", real)
    leftover = list(ckpts.glob("*.pt"))
    assert len(leftover) == 1, "the diverged run keeps its last good checkpoint"
    leftover[0].write_bytes(b"\x00garbage")
    assert main(args) == 2
    err = capsys.readouterr().err
    assert "corrupt checkpoint" in err and "Traceback" not in err, err
    assert [r.name for r in discover_releases(models)] == ["compressor-v1"]
    assert main([*args, "--fresh"]) == 0
    assert [r.name for r in discover_releases(models)] == ["compressor-v1", "compressor-v2"]


def test_a_train_subset_is_seeded_and_keeps_order():
    from trainers.pipeline import _subset

    records = list(range(100))
    a, b = _subset(records, 30, seed=0), _subset(records, 30, seed=0)
    assert a == b and len(a) == 30 and a == sorted(a)
    assert _subset(records, 30, seed=1) != a
    assert _subset(records, None, 0) == records and _subset(records, 500, 0) == records


def test_too_few_train_clips_is_one_line(capsys):
    assert main(["train", "eq", "--train-clips", "1"]) == 2
    assert "--train-clips must be ≥ 2" in capsys.readouterr().err

"""Quantization-aware fine-tuning (trainers/common/qat.py): its grid is the one ONNX Runtime's quantizer
picks, so after QAT the FP32 release's weights equal the INT8 release's dequantized weights and INT8
differs from FP32 only by the activations' rounding; seeded and reproducible; recorded on the card; and a
release that claims QAT with weights off the grid is refused."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from harness.errors import UserError
from trainers import mastering
from trainers.common import qat
from trainers.common.regression import Regressor, fit
from trainers.common.release import int8_weight_grid_error, write_release

N_IN, N_OUT = 12, 5


def _problem(seed: int = 0, n_out: int = N_OUT):
    """y = sigmoid(tanh(x A) B): a small regression that needs the hidden layer."""
    rng = np.random.default_rng(seed)
    a = torch.from_numpy(rng.normal(0, 0.6, (N_IN, 24))).float()
    b = torch.from_numpy(rng.normal(0, 0.6, (24, n_out))).float()

    def sample(rng: np.random.Generator, n: int):
        x = torch.from_numpy(rng.normal(0, 1, (n, N_IN))).float()
        return x, torch.sigmoid(torch.tanh(x @ a) @ b)

    val_x, val_y = sample(np.random.default_rng(99), 256)
    return sample, val_x, val_y


def _fit(qat_steps: int, seed: int = 3, **kw):
    torch.set_num_threads(1)
    sample, val_x, val_y = _problem()
    return fit(sample, val_x, val_y, torch.ones(N_OUT), steps=300, batch=64, hidden=32, learning_rate=3e-3,
               validate_every=50, seed=seed, mean_y=val_y.mean(0), qat_steps=qat_steps, qat_learning_rate=3e-4, **kw)


def _outputs(folder, x: np.ndarray) -> dict[str, np.ndarray]:
    import onnxruntime as ort

    card = json.loads((folder / "card.json").read_text())
    out = {}
    for precision in ("fp32", "int8"):
        session = ort.InferenceSession(str(folder / card["files"][precision]["file"]),
                                       providers=["CPUExecutionProvider"])
        out[precision] = session.run(None, {session.get_inputs()[0].name: x})[0]
    return out


@pytest.mark.slow(seconds=8)
def test_the_grid_is_the_one_onnx_runtime_quantizes_to(tmp_path):
    """Untrained weights through ORT's static quantizer (the release's settings): its per-channel scales and
    integers, dequantized, are exactly qat.snap's; snapped weights are a fixed point of the quantizer."""
    import onnx
    from onnx import numpy_helper

    from trainers.common.export import export_controller
    from trainers.common.quantize import quantize_int8

    torch.manual_seed(0)
    model = Regressor(N_IN, N_OUT, 32)
    with torch.no_grad():
        model.net[2].weight[3].zero_()  # an all-zero channel: ORT gives it scale 1
    calibration = np.random.default_rng(0).normal(0, 1, (64, N_IN)).astype(np.float32)
    fp32 = export_controller(model, N_IN, tmp_path / "model.onnx")
    int8 = quantize_int8(fp32, tmp_path / "model.int8.onnx", calibration, activation_bits=16)
    init = {t.name: numpy_helper.to_array(t) for t in onnx.load(str(int8)).graph.initializer}
    names = qat.quantized_weight_names(model)
    assert names == ["net.0.weight", "net.2.weight", "net.4.weight"]
    params = dict(model.named_parameters())
    for name in names:
        w = params[name].detach()
        assert np.array_equal(init[f"{name}_scale"], qat.weight_scales(w).numpy()), name
        assert not init[f"{name}_zero_point"].any()
        dequantized = init[f"{name}_quantized"].astype(np.float32) * init[f"{name}_scale"][:, None]
        assert np.array_equal(dequantized, qat.snap(w).numpy()), name
    assert 0.45 < int8_weight_grid_error(fp32, int8) <= 0.5  # float weights: up to half a step off

    qat.snap_(model)
    assert qat.grid_distance(model) == 0.0
    fp32 = export_controller(model, N_IN, tmp_path / "snapped.onnx")
    int8 = quantize_int8(fp32, tmp_path / "snapped.int8.onnx", calibration, activation_bits=16)
    assert int8_weight_grid_error(fp32, int8) < 1e-4


def test_fake_quant_rounds_forward_and_passes_gradients_straight_through():
    w = torch.tensor([[0.5, -0.013, 0.2], [1e-3, 2e-3, -4e-3]], requires_grad=True)
    out = qat.fake_quant(w)
    assert torch.equal(out.detach(), qat.snap(w.detach()))
    # each channel's largest weight is on its grid (127 steps), up to the float rounding of its scale
    assert out[0, 0].item() == pytest.approx(0.5, rel=1e-6) and out[1, 2].item() == pytest.approx(-4e-3, rel=1e-6)
    assert not torch.equal(out.detach(), w.detach())
    (out * torch.arange(6.0).reshape(2, 3)).sum().backward()
    assert torch.equal(w.grad, torch.arange(6.0).reshape(2, 3))


def test_qat_puts_the_weights_on_the_grid_and_reports_the_snapped_model():
    seen = []
    model, metrics = _fit(60, progress=lambda step, total, loss, val: seen.append((step, total)))
    assert qat.grid_distance(model) == 0.0
    assert metrics["qat"]["steps"] == 60 and metrics["qat"]["grid_distance"] == 0.0
    assert metrics["val_param_mse"] == metrics["qat"]["val_loss"] <= metrics["qat"]["val_loss_snapped_start"]
    sample, val_x, val_y = _problem()
    with torch.no_grad():  # the reported validation is the released (snapped) model's own
        assert float(((model(val_x) - val_y) ** 2).mean()) == pytest.approx(metrics["val_param_mse"], rel=1e-5)
    assert [s for s, _ in seen] == list(range(1, 361)) and {t for _, t in seen} == {360}  # one bar, both phases
    _, plain = _fit(0)
    assert "qat" not in plain and plain["val_param_mse"] == metrics["qat"]["val_param_mse_before"]


def test_qat_is_reproducible_from_the_seed():
    from trainers.common.distributed import parameter_digest

    a, ma = _fit(40)
    b, mb = _fit(40)
    assert parameter_digest(a) == parameter_digest(b) and ma["val_param_mse"] == mb["val_param_mse"]
    c, _ = _fit(40, seed=4)
    assert parameter_digest(c) != parameter_digest(a)


@pytest.mark.slow(seconds=8)
def test_after_qat_int8_equals_fp32_weights_and_follows_its_outputs_far_closer(tmp_path):
    """The release path mastering uses (int16 activations): with QAT the INT8 file's dequantized weights are
    the FP32 file's, and INT8 outputs stay 10x closer to FP32 than without QAT."""
    sample, val_x, _ = _problem()
    calibration = sample(np.random.default_rng(5), 256)[0].numpy()
    inputs = (1.5 * val_x).numpy()  # past the calibration range a little, as recorded music is
    names = [f"p{i}" for i in range(N_OUT)]
    errors, cards = {}, {}
    for with_qat in (False, True):
        model, metrics = _fit(60 if with_qat else 0)
        card = {"qat": {"steps": 60}} if with_qat else {}
        folder = write_release(model, "mastering", names, calibration, card, root=tmp_path / str(with_qat),
                               int8_activation_bits=16)
        cards[with_qat] = json.loads((folder / "card.json").read_text())
        out = _outputs(folder, inputs)
        errors[with_qat] = float(np.abs(out["int8"] - out["fp32"]).mean())
    assert cards[True]["int8_weight_grid_error"] < 1e-3 < 0.4 < cards[False]["int8_weight_grid_error"]
    assert cards[True]["int8_scheme"].endswith("(QAT)") and "QAT" not in cards[False]["int8_scheme"]
    assert cards[True]["qat"] == {"steps": 60}
    assert cards[True]["int8_size_ratio"] >= 0.95 * cards[False]["int8_size_ratio"]
    assert errors[True] < 0.1 * errors[False], errors


def test_a_release_claiming_qat_with_weights_off_the_grid_is_refused(tmp_path):
    model, _ = _fit(0)
    calibration = _problem()[1].numpy()
    with pytest.raises(UserError, match="grid steps"):
        write_release(model, "mastering", [f"p{i}" for i in range(N_OUT)], calibration, {"qat": {"steps": 1}},
                      root=tmp_path, int8_activation_bits=16)
    assert not list((tmp_path / "mastering").iterdir())  # nothing left behind


@pytest.mark.slow(seconds=15)
def test_dawg_bench_train_mastering_ends_with_qat_and_its_card_says_so(smoke_home, tmp_path, monkeypatch):
    """Both mastering profiles end with QAT (a tenth of their steps); a trained release's card records it
    and its INT8 weights are its FP32 weights."""
    from harness.cli import main

    for profile in mastering.PROFILES.values():
        assert profile.qat_steps == round(0.1 * profile.steps) > 0
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "models"))
    assert main(["train", "mastering", "--suite", "smoke", "--steps", "20", "--checkpoint-dir",
                 str(tmp_path / "ck")]) == 0
    card = json.loads((tmp_path / "models" / "mastering" / "mastering-v1" / "card.json").read_text())
    assert card["qat"] == {"scheme": qat.SCHEME, "steps": 2, "learning_rate": 1e-4}
    assert card["validation"]["qat"]["grid_distance"] == 0.0
    assert card["int8_weight_grid_error"] < 1e-3 and card["int8_scheme"].endswith("(QAT)")
    assert "activations int16" in card["int8_scheme"] and card["int8_size_ratio"] >= 3


@pytest.mark.slow(seconds=6)
def test_the_mastering_trainer_with_qat_is_reproducible():
    from trainers.common.distributed import parameter_digest

    torch.set_num_threads(1)
    sample, val_x, val_y = _problem(n_out=len(mastering.SPECS))
    x, y = sample(np.random.default_rng(1), 200)
    pool = mastering.ExamplePool(x, y, ["t"])
    val = mastering.ExamplePool(val_x, val_y, ["v"])
    tiny = mastering.Profile("tiny", examples_per_clip=1, steps=40, batch=8, hidden=16, learning_rate=2e-3,
                             validate_every=10, qat_fraction=0.25)
    a, ma = mastering.train(pool, val, profile=tiny, seed=4)
    b, mb = mastering.train(pool, val, profile=tiny, seed=4)
    assert ma["qat"]["steps"] == 10 and qat.grid_distance(a) == 0.0
    assert parameter_digest(a) == parameter_digest(b) and ma["val_param_mse"] == mb["val_param_mse"]


def test_a_training_interrupted_in_its_qat_phase_resumes_to_the_same_release(tmp_path):
    """QAT is not checkpointed: the main phase resumes from its last checkpoint (step 300 of 300, nothing
    left to do) and QAT runs again from the same start, to the same weights."""
    from trainers.common.checkpoint import Checkpointer
    from trainers.common.distributed import parameter_digest

    straight, _ = _fit(40)
    checkpoint = Checkpointer.for_training({"task": "t", "seed": 3}, tmp_path)

    class Interrupt(Exception):
        pass

    def stop_in_qat(step, total, loss, val):
        if step == 320:
            raise Interrupt

    with pytest.raises(Interrupt):
        _fit(40, checkpoint=checkpoint, progress=stop_in_qat)
    resumed, metrics = _fit(40, checkpoint=checkpoint)
    assert metrics["resumed_from_step"] == 300
    assert parameter_digest(resumed) == parameter_digest(straight)

"""The EQ trainer: its frequency-domain inputs equal the harness's on really damaged audio, training is
reproducible from its seed, and a release is written whole, never over another."""

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
import torch

from harness.cli import main
from harness.controller_inputs import clip_features
from harness.corpus.synth import STYLES, render_arrangement
from harness.errors import UserError
from harness.tasks import get_task
from harness.tasks.base import resolve_params
from harness.tasks.eq import sample_damage
from trainers import eq as trainer
from trainers.common.render import eq_power_response, eq_sections, unit_to_params
from trainers.common.spectral_features import FeatureMaker, spectral_clip

SR = 48_000


def _clips(n: int, seconds: float = 3.0):
    out = []
    for seed in range(n):
        audio = render_arrangement(seed, STYLES[("pop", "rock", "ambient")[seed % 3]], seconds, SR) * 0.3
        out.append(spectral_clip(f"c{seed}", audio, SR) + (audio,))
    return out


@pytest.fixture(scope="module")
def clips():
    return _clips(6)


def test_tonal_inputs_match_the_harness_on_really_damaged_audio(clips):
    """The premise of frequency-domain training: features from (clean spectrum × |H|²) equal
    harness.controller_inputs.clip_features on the EQ-rendered audio — tonal bands within 0.1 dB."""
    rng = np.random.default_rng(3)
    params = resolve_params(get_task("eq").defaults, {}, "eq")
    worst_tonal_db, worst_lufs = 0.0, 0.0
    for clip, freqs, bin_hz, audio in clips:
        maker = FeatureMaker(freqs, bin_hz, SR)
        spectral = trainer.SpectralSet.of([clip], ["x"], maker)
        damage, _ = sample_damage(params, rng)
        truth = clip_features(damage.render(audio, SR), SR)
        unit = torch.from_numpy(damage.to_unit_vector()[None])
        h2 = eq_power_response(eq_sections(unit_to_params(unit, trainer.SPECS), SR), maker.freqs_hz, SR).float()
        got = maker.features(spectral.power, h2, spectral.stats)[0].numpy()
        worst_tonal_db = max(worst_tonal_db, float(np.abs(got[:28] - truth[:28]).max() * 12))
        worst_lufs = max(worst_lufs, float(abs(got[28] - truth[28]) * 30))
    assert worst_tonal_db < 0.1, worst_tonal_db
    assert worst_lufs < 0.3, worst_lufs  # loudness moved by the K-weighted power ratio (ungated): an approximation


TINY = trainer.Profile("tiny", steps=30, batch=8, hidden=16, learning_rate=2e-3, undamaged_share=0.2,
                       validate_every=10)


def _sets(clips):
    maker = FeatureMaker(clips[0][1], clips[0][2], SR)
    train = trainer.SpectralSet.of([c[0] for c in clips[:4]], ["t"] * 4, maker)
    val = trainer.SpectralSet.of([c[0] for c in clips[4:]], ["v"] * 2, maker)
    return train, val, maker


def test_same_seed_same_validation_metric(clips):
    torch.set_num_threads(1)
    train, val, maker = _sets(clips)
    _, a = trainer.train(train, val, maker, profile=TINY, seed=5)
    _, b = trainer.train(train, val, maker, profile=TINY, seed=5)
    _, c = trainer.train(train, val, maker, profile=TINY, seed=6)
    assert abs(a["val_tonal_mse_db2"] - b["val_tonal_mse_db2"]) <= 1e-6
    assert a["val_tonal_mse_db2"] != c["val_tonal_mse_db2"]


def test_training_improves_on_the_flat_start(clips):
    train, val, maker = _sets(clips)
    _, metrics = trainer.train(train, val, maker, profile=replace(TINY, steps=120, validate_every=40), seed=0)
    assert metrics["val_tonal_mse_db2"] < metrics["val_bypass_tonal_mse_db2"]


@pytest.mark.slow(seconds=15)
def test_a_release_is_written_whole_and_never_over_another(clips, tmp_path):
    from harness.models import find_release
    from trainers.common.release import write_release

    train, val, maker = _sets(clips)
    model, metrics = trainer.train(train, val, maker, profile=TINY, seed=0)
    calibration = np.random.default_rng(0).normal(0, 0.3, (32, 33)).astype(np.float32)
    names = [s.name for s in trainer.SPECS]
    first = write_release(model, "eq", names, calibration, {"profile": "tiny", "validation": metrics}, root=tmp_path)
    second = write_release(model, "eq", names, calibration, {"profile": "tiny"}, root=tmp_path)
    assert (first.name, second.name) == ("eq-v1", "eq-v2")
    release = find_release("eq-v1", tmp_path)
    assert not release.fixture and release.params == tuple(names) and set(release.files) == {"fp32", "int8"}
    assert [p.name for p in tmp_path.joinpath("eq").iterdir() if p.name.startswith(".")] == []  # no leftovers

    class Broken(torch.nn.Module):
        def forward(self, x):
            return torch.full((x.shape[0], len(names)), float("nan"))

    with pytest.raises(UserError, match="not finite"):  # a NaN model (a NaN loss) is never released
        write_release(Broken(), "eq", names, calibration, {}, root=tmp_path)
    assert sorted(p.name for p in tmp_path.joinpath("eq").iterdir()) == ["eq-v1", "eq-v2"]


@pytest.mark.slow(seconds=10)
def test_int16_activations_keep_the_int8_file_size_and_follow_fp32_closer(clips, tmp_path):
    """The mastering release's INT8 keeps int8 weights and quantizes activations to 16 bits
    (trainers/mastering.py INT8_ACTIVATION_BITS): as small a file, and closer to FP32."""
    import json

    import onnxruntime as ort

    from trainers.common.release import write_release

    train, val, maker = _sets(clips)
    model, _ = trainer.train(train, val, maker, profile=TINY, seed=0)
    calibration = np.random.default_rng(0).normal(0, 0.3, (64, 33)).astype(np.float32)
    names = [s.name for s in trainer.SPECS]
    errors, sizes = {}, {}
    for bits in (8, 16):
        folder = write_release(model, "eq", names, calibration, {}, root=tmp_path / f"a{bits}",
                               int8_activation_bits=bits)
        card = json.loads((folder / "card.json").read_text())
        assert f"activations int{bits}" in card["int8_scheme"]
        outputs = {}
        for precision in ("fp32", "int8"):
            path = folder / card["files"][precision]["file"]
            session = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
            outputs[precision] = session.run(None, {session.get_inputs()[0].name: calibration})[0]
        errors[bits] = float(np.abs(outputs["int8"] - outputs["fp32"]).mean())
        sizes[bits] = card["files"]["int8"]["bytes"]
    assert errors[16] < 0.5 * errors[8], errors
    assert sizes[16] <= 1.05 * sizes[8], sizes
    with pytest.raises(ValueError, match="8 or 16"):
        write_release(model, "eq", names, calibration, {}, root=tmp_path / "a4", int8_activation_bits=4)


def test_unknown_tasks_and_profiles_are_one_line(smoke_home, capsys):
    assert main(["train", "eq", "--suite", "smoke", "--profile", "huge"]) == 2
    assert "unknown profile 'huge'" in capsys.readouterr().err
    assert main(["train", "eqq"]) == 2
    assert "did you mean 'eq'" in capsys.readouterr().err


def test_the_eq_trainer_reads_only_train_and_validation(smoke_home, monkeypatch, tmp_path):
    """A release's card lists the clips it trained on; none is a test clip (checked on the smoke corpus)."""
    import json

    from harness.suites import load_suite
    from trainers.pipeline import train_task

    monkeypatch.setattr(trainer, "PROFILES", {"quick": TINY})
    suite = load_suite("smoke")
    folder = train_task("eq", suite, profile="quick", seed=0, models_root=tmp_path / "models", log=lambda line: None)
    card = json.loads((Path(folder) / "card.json").read_text())
    from harness.corpus.build import build_corpus

    manifest = build_corpus(suite)
    test_hashes = {c.sha256 for c in manifest.split("test")}
    assert card["train_clip_sha256"] and not test_hashes & set(card["train_clip_sha256"])
    assert not test_hashes & set(card["validation_clip_sha256"])


@pytest.mark.slow(seconds=20)
def test_the_harness_refuses_to_score_a_release_on_its_own_train_clips(smoke_home, smoke_corpus, tmp_path,
                                                                       monkeypatch, capsys):
    import json

    from tests.model_fixtures import build_fixture_release

    models = tmp_path / "models"
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(models))
    folder = build_fixture_release(models, "eq", name="leaky-v1")
    test_clip = smoke_corpus.split("test")[0]
    (folder / "card.json").write_text(json.dumps({"train_clip_sha256": [test_clip.sha256]}))
    clean = build_fixture_release(models, "eq", name="clean-v2", version=2)
    (clean / "card.json").write_text(json.dumps({"train_clip_sha256": ["0" * 64]}))
    out = tmp_path / "r.json"
    main(["run", "smoke", "--candidates", "bypass", "model:leaky-v1@fp32", "model:clean-v2@fp32",
          "--json", str(out), "--db", str(tmp_path / "r.db")])
    report = json.loads(out.read_text())
    skipped = {s["candidate"]: s["reason"] for s in report["skipped"]}
    assert "trained or selected on 1 of this corpus's test clips" in skipped["model:leaky-v1@fp32"]
    assert "model:clean-v2@fp32" in report["tasks"]["eq"]["candidates"]


def test_a_full_disk_during_release_writing_leaves_no_release(clips, tmp_path, monkeypatch):
    """Bad input (Trainers issue): a full disk stops with one line and overwrites no release."""
    import errno

    from trainers.common import release as release_module
    from trainers.common.release import write_release

    train, val, maker = _sets(clips)
    model, _ = trainer.train(train, val, maker, profile=TINY, seed=0)
    calibration = np.random.default_rng(0).normal(0, 0.3, (32, 33)).astype(np.float32)
    names = [s.name for s in trainer.SPECS]

    def full(*args, **kwargs):
        raise OSError(errno.ENOSPC, "No space left on device", "model.int8.onnx")

    monkeypatch.setattr(release_module, "quantize_int8", full)
    with pytest.raises(OSError, match="No space left"):
        write_release(model, "eq", names, calibration, {}, root=tmp_path)
    assert not (tmp_path / "eq").exists() or list((tmp_path / "eq").iterdir()) == []


def test_a_suite_without_train_clips_is_one_line(tmp_path, monkeypatch, capsys):
    """A 'missing corpus' for training: a folder corpus whose files all went to test is one line."""
    import soundfile as sf

    from harness.suites import suites_dir

    monkeypatch.setenv("DAWG_BENCH_HOME", str(tmp_path / "home"))
    music = tmp_path / "music"
    music.mkdir()
    t = np.arange(48000 * 6) / 48000
    sf.write(music / "a.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype("float32"), 48000)
    suite = tmp_path / "folder.toml"
    suite.write_text(f'include = ["{(suites_dir() / "_base.toml").as_posix()}"]\\n[corpus]\\nsource = "folder"\\n'
                     'clip_seconds = 5.0\\nsplit = { train = 0.0, validation = 0.0, test = 1.0 }\\n')
    code = main(["train", "eq", "--suite", str(suite)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err, err

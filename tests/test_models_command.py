"""`dawg-bench models [show NAME]`: every release with its card; a bad release is listed with its reason."""

import json

from harness.cli import main
from tests.model_fixtures import build_fixture_release


def test_models_lists_releases_and_shows_a_card(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path))
    folder = build_fixture_release(tmp_path, "compressor", name="comp-v1")
    card = {"profile": "quick", "seed": 7, "validation": {"val_param_error_explained": 0.25},
            "files": {"fp32": {"file": "model.onnx", "bytes": 4096, "sha256": "ab" * 32}},
            "train_clip_sha256": ["a", "b", "c"]}
    (folder / "card.json").write_text(json.dumps(card))
    assert main(["models"]) == 0
    out = capsys.readouterr().out
    row = next(line for line in out.splitlines() if "comp-v1" in line)
    assert "compressor" in row and "quick" in row and "7" in row and "4 KiB" in row
    assert "param_error_explained +0.250" in row

    assert main(["models", "show", "comp-v1"]) == 0
    out = capsys.readouterr().out
    assert "train clips" in out and "3" in out and "val param_error_explained" in out

    assert main(["models", "show", "comp-v1", "--json"]) == 0
    shown = json.loads(capsys.readouterr().out)
    assert shown["card"] == card and shown["release"] == "comp-v1"


def test_a_bad_release_is_listed_with_its_reason_and_unknown_names_suggest(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path))
    build_fixture_release(tmp_path, "eq", name="eq-v1")
    broken = tmp_path / "eq" / "eq-v2"
    broken.mkdir()
    (broken / "release.json").write_text("{not json")
    assert main(["models"]) == 1
    captured = capsys.readouterr()
    assert "eq-v1" in captured.out and "INVALID" in captured.out and "invalid release.json" in captured.out
    assert main(["models", "show", "eq-v0"]) == 2
    err = capsys.readouterr().err
    assert "did you mean 'eq-v1'" in err and "Traceback" not in err


def test_an_empty_registry_says_how_to_fill_it(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(tmp_path / "none"))
    assert main(["models"]) == 0
    assert "dawg-bench train" in capsys.readouterr().out

"""A mastering release marked `"loudness": "measured"`: after the controller, the chain's makeup is set by
measuring the output against the loudness target (BS.1770 integrated loudness, as the task scores it), so
the model lands on the target the way `rules` does; the controller's tone and dynamics are kept."""

import json

import pytest

from harness.candidates.onnx_model import OnnxController
from harness.corpus.synth import STYLES, render_arrangement
from harness.errors import UserError
from harness.metrics import integrated_lufs, true_peak_dbtp
from harness.models import load_release
from harness.tasks.base import Query
from tests.model_fixtures import build_fixture_release

SR = 48_000


def _release(tmp_path, loudness):
    folder = build_fixture_release(tmp_path, "mastering", name=f"m-{loudness}")
    meta = json.loads((folder / "release.json").read_text())
    (folder / "release.json").write_text(json.dumps({**meta, "loudness": loudness}))
    return load_release(folder)


@pytest.mark.parametrize("target", [-14.0, -9.0])
def test_measured_loudness_lands_on_the_target_and_keeps_the_rest(tmp_path, target):
    audio = render_arrangement(3, STYLES["rock"], 4.0, SR) * 0.3  # an unmastered mix, under the target
    query = Query("mastering", "reference_free", audio, SR, target_lufs=target, ceiling_dbtp=-1.0)
    measured = OnnxController(_release(tmp_path, "measured")).predict(query).params
    predicted = OnnxController(_release(tmp_path, "predicted")).predict(query).params
    assert abs(integrated_lufs(measured.render(audio, SR), SR) - target) <= 0.1
    assert abs(integrated_lufs(predicted.render(audio, SR), SR) - target) > 1.0  # the fixture guesses
    assert measured.limiter.ceiling_dbtp == -1.0  # the query's ceiling, not a prediction
    assert true_peak_dbtp(measured.render(audio, SR), SR) <= -1.0 + 0.1
    assert measured.eq == predicted.eq and measured.limiter.release_ms == predicted.limiter.release_ms
    assert measured.compressor.threshold_db == predicted.compressor.threshold_db


def test_an_unknown_loudness_mode_is_one_line(tmp_path):
    with pytest.raises(UserError, match="loudness must be one of predicted, measured"):
        _release(tmp_path, "guessed")

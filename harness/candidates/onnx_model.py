"""A model release as a candidate: features → ONNX controller → [0, 1] per parameter → the task's processor."""

from __future__ import annotations

import numpy as np

from harness.candidates.base import Candidate, Prediction
from harness.controller_inputs import FEATURES, query_features
from harness.models import Release
from harness.onnx_session import make_session
from harness.tasks import get_task
from harness.tasks.base import Query


class OnnxController(Candidate):
    kind = "model"

    def __init__(self, release: Release, precision: str = "fp32", *, threads: int = 1):
        if release.features != FEATURES:
            from harness.errors import UserError

            raise UserError(
                f"{release.folder}: features {release.features!r} unknown to this harness (has {FEATURES!r})"
            )
        self.release = release
        self.precision = precision
        self.threads = threads
        self.name = release.candidate_name(precision)
        self.tasks = (release.task,)
        self.description = (f"ONNX controller {release.name} ({precision})"
                            + (" — TEST FIXTURE" if release.fixture else ""))
        self._session = None

    def check_test_clips(self, test_sha256: set[str]) -> None:
        """A release's card lists the clips it trained and selected on; scoring it on one of them would
        measure memory, not skill, so the harness refuses (Trainers issue)."""
        import json
        from pathlib import Path

        from harness.candidates.base import Unavailable

        card_path = Path(self.release.folder) / "card.json"
        if not card_path.exists():
            return
        try:
            card = json.loads(card_path.read_text())
        except (OSError, ValueError) as exc:
            raise Unavailable(f"{card_path}: unreadable card ({exc})") from None
        seen = set(card.get("train_clip_sha256", [])) | set(card.get("validation_clip_sha256", []))
        overlap = seen & test_sha256
        if overlap:
            raise Unavailable(f"{self.release.name} trained or selected on {len(overlap)} of this corpus's test "
                              f"clips ({card_path}); scoring it here would measure memory, not skill")

    def identity(self) -> dict:
        return {"name": self.name, "files": self.release.identity(self.precision)}

    def __getstate__(self):  # sessions don't pickle; each worker process opens its own
        return {**self.__dict__, "_session": None}

    @property
    def session(self):
        if self._session is None:
            self._session = make_session(self.release.path(self.precision), threads=self.threads)
        return self._session

    def controller(self, features: np.ndarray) -> np.ndarray:
        name = self.session.get_inputs()[0].name
        return self.session.run(None, {name: features})[0]

    def predict(self, query: Query) -> Prediction:
        unit = np.clip(np.asarray(self.controller(query_features(query)), dtype=np.float64).reshape(-1), 0.0, 1.0)
        processor = get_task(self.release.task).processor
        names = [s.name for s in processor.SPECS]
        if tuple(names) != self.release.params:
            raise ValueError(f"{self.release.folder}: parameter list does not match the {processor.__name__} spec")
        params = processor.from_unit_vector(unit)
        if self.release.loudness == "measured" and get_task(self.release.task).loudness_target:
            params = measured_loudness(params, query)
        return Prediction(params=params)


def measured_loudness(chain, query: Query):
    """The controller's mastering chain with its limiter at the query's ceiling and its compressor makeup set
    by measurement: the chain is rendered and the makeup refined until the output reads the loudness target,
    as `rules` does for its flat chain.

    Why (Trainers issue): a controller that predicts the makeup from features misses the target by a
    median 0.6 LU, since the limiter's loudness loss depends on the audio, not on summary features. The
    controller keeps the tone and dynamics it chose; DSP measures and sets the level. The DAW runs the
    same loop after the model (it is part of the release, declared by `"loudness": "measured"`)."""
    from dataclasses import replace

    from harness.candidates.loudness_targeting import MAKEUP_RANGE_DB, to_loudness
    from harness.candidates.safe_meters import finite_audio
    from harness.loudness_target import LoudnessTarget

    target = LoudnessTarget.of(query)
    audio = finite_audio(query.audio)

    # The ceiling is the user's, given with the query like the target: set, not predicted (a predicted
    # -0.53 dBTP once let the output pass the -1 dBTP ceiling the task asked for).
    limiter = replace(chain.limiter, ceiling_dbtp=target.ceiling_dbtp)

    def with_makeup(gain_db: float):
        return replace(chain, compressor=replace(chain.compressor, makeup_db=gain_db), limiter=limiter).clipped()

    gain = to_loudness(lambda g: with_makeup(g).render(audio, query.sample_rate), query.sample_rate, target.lufs,
                       chain.compressor.makeup_db, MAKEUP_RANGE_DB)
    return with_makeup(gain)

"""Adding a task is one TaskSpec plus one registry entry: a toy task registered here, and nowhere else,
runs end to end through `dawg-bench run` (suite validation, examples, candidates, scoring, report).

If this test needs a change outside this file to pass, a task fact has leaked out of TaskSpec again.
"""

import json
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from harness.audio import write_wav
from harness.cli import main
from harness.controller_inputs import CLIP_FEATURES, feature_size, query_features
from harness.corpus.synth import STYLES, render_arrangement
from harness.dsp import Gain
from harness.finishing import master_to_target
from harness.latency.measure import sample_query
from harness.source_clip import SourceClip
from harness.tasks import TASKS
from harness.tasks.base import Example, Query, TaskSpec, draw

TOY = "toy_gain"
SR = 48_000


def make_toy_example(clip: SourceClip, params: Mapping[str, Any], rng: np.random.Generator, **_: Any) -> Example:
    """Damage: a sampled gain change. Oracle: the opposite gain (exact)."""
    gain_db = float(draw(params, "gain_db", rng))
    damaged = Gain(gain_db).render(clip.target, clip.sample_rate)
    return Example(query=Query(task=TOY, variant=None, audio=damaged, sample_rate=clip.sample_rate),
                   clip_id=clip.id, source=clip.source, target=clip.target, oracle=Gain(-gain_db),
                   oracle_exact=True, damage={"gain_db": gain_db})


TOY_SPEC = TaskSpec(name=TOY, description="toy: undo a sampled gain change", processor=Gain,
                    defaults={"gain_db": {"uniform": [-9.0, -3.0]}}, make_example=make_toy_example)

SUITE = f"""
description = "a suite with only the toy task"

[corpus]
source = "folder"
clip_seconds = 2.0
split = {{ train = 0.34, validation = 0.0, test = 0.66 }}

[tasks.{TOY}]
primary_metric = "mrstft_distance"
metrics = ["mrstft_distance", "loudness_error_lu"]
degradation = {{ gain_db = {{ uniform = [-8.0, -4.0] }} }}

[candidates]
names = ["bypass", "oracle", "rules", "match"]

[hardware]
targets = ["cpu"]
"""


@pytest.fixture
def toy_task():
    with TASKS.registered(TOY, TOY_SPEC):
        yield TOY_SPEC


@pytest.fixture
def music(tmp_path):
    root = tmp_path / "music"
    for i, genre in enumerate(["pop", "rock", "acoustic"]):
        done = master_to_target(render_arrangement(70 + i, STYLES[genre], 4.5, SR), SR)
        write_wav(root / f"{genre}.wav", done.audio.astype(np.float32), SR)
    return root


def test_a_task_registered_in_a_test_runs_end_to_end(toy_task, music, tmp_path):
    suite_path = tmp_path / "toy.toml"
    suite_path.write_text(SUITE)
    out = tmp_path / "toy.json"
    code = main(["run", str(suite_path), "--corpus", str(music), "--json", str(out),
                 "--db", str(tmp_path / "toy.db"), "--workers", "1"])
    report = json.loads(out.read_text())
    assert code == 0, report["failures"]
    assert list(report["tasks"]) == [TOY]
    scored = report["tasks"][TOY]["candidates"]
    # Bounds run every registered task; rules and match know only their own tasks and skip it cleanly.
    assert set(scored) == {"bypass", "oracle"}
    assert abs(scored["bypass"]["gap_closed"]["median"]) < 1e-9
    assert scored["oracle"]["gap_closed"]["median"] > 0.999
    assert report["failures"] == []


def test_task_facts_derive_from_the_spec(toy_task):
    assert feature_size(TOY) == CLIP_FEATURES  # no reference, no loudness target
    query = sample_query(TOY, clip_seconds=1.0)
    assert query.reference is None and query.target_lufs is None
    assert query_features(query).shape == (1, CLIP_FEATURES)


def test_the_toy_task_is_gone_after_the_test():
    assert TOY not in TASKS

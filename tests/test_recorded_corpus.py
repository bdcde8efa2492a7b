"""`--corpus DIR` on real recordings: Debian's hyperrogue-music (finished game soundtracks, OGG).

The recorded test set is never used for training; here a few tracks run through the whole
pipeline and every scorecard reports them as their own source kind.
"""

import json
import shutil
from pathlib import Path

import jsonschema
import pytest

from harness.cli import main

MUSIC = Path("/usr/share/hyperrogue/music")
SCHEMA = json.loads((Path(__file__).resolve().parents[1] / "docs" / "run-schema.json").read_text())

pytestmark = pytest.mark.slow(seconds=12)


@pytest.fixture(scope="module")
def recordings(tmp_path_factory):
    tracks = sorted(MUSIC.glob("*.ogg"))[:4] if MUSIC.exists() else []
    if len(tracks) < 4:
        pytest.skip("hyperrogue-music is not installed (scripts/install-system-deps.sh installs it)")
    root = tmp_path_factory.mktemp("recorded")
    for t in tracks:
        shutil.copy(t, root / t.name)
    return root


def test_run_on_real_recordings(recordings, tmp_path):
    out = tmp_path / "run.json"
    code = main(["run", "smoke", "--corpus", str(recordings), "--candidates", "bypass", "oracle", "rules",
                 "--json", str(out), "--db", str(tmp_path / "r.db")])
    assert code == 0
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["corpus"]["source"] == "folder" and report["corpus"]["test_sources"] == ["recorded"]
    for task in ("eq", "compressor", "mastering"):
        cands = report["tasks"][task]["candidates"]
        assert cands["oracle"]["gap_closed"]["median"] > 0.95
        assert "recorded" in cands["rules"]["by_source"]


def test_generated_plus_recorded_test_set_reported_separately(recordings, smoke_home, tmp_path):
    from tests.bad_audio import make_bad_files

    recordings = Path(shutil.copytree(recordings, tmp_path / "recorded"))  # the module's copy stays clean
    bad = make_bad_files(recordings / "broken")
    del bad["a_folder.wav"]  # walked into, not read
    out = tmp_path / "run.json"
    code = main(["run", "smoke", "--recorded", str(recordings), "--candidates", "bypass", "oracle", "rules",
                 "--json", str(out), "--db", str(tmp_path / "r.db")])
    assert code == 0
    report = json.loads(out.read_text())
    jsonschema.validate(report, SCHEMA)
    assert report["corpus"]["source"] == "generated+recorded"
    assert report["corpus"]["test_sources"] == ["generated", "recorded"]
    for task in ("eq", "compressor", "mastering"):
        by_source = report["tasks"][task]["candidates"]["rules"]["by_source"]
        assert set(by_source) == {"generated", "recorded"}
    assert main(["corpus", "build", "smoke", "--recorded", str(recordings), "--corpus", str(recordings)]) == 2

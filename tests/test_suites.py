"""Suites are data: includes merge, every shipped suite validates, unknown names get 'did you mean'."""

import pytest

from harness.cli import main
from harness.errors import UserError
from harness.suites import available_suites, load_suite, suites_dir


def test_shipped_suites_validate():
    assert {"smoke", "release", "full"} <= set(available_suites())
    for name in available_suites():
        suite = load_suite(name)
        assert set(suite.tasks) == {"eq", "compressor", "mastering"}
        for task in suite.tasks.values():
            assert task.primary_metric in task.metrics


def test_include_merges_tables_and_overrides_values():
    full, release, smoke = load_suite("full"), load_suite("release"), load_suite("smoke")
    assert full.corpus.clips == 1600 and release.corpus.clips == 800 and smoke.corpus.clips == 16
    assert smoke.corpus.clip_seconds == 5.0 and release.corpus.clip_seconds == 5.0
    assert full.corpus.split == release.corpus.split  # inherited
    assert release.tasks["eq"].min_test_examples == 450 and release.tasks["eq"].primary_metric  # merged key by key
    assert smoke.tasks["eq"].min_test_examples == 1
    assert full.corpus.genres == release.corpus.genres  # inherited through two includes
    assert smoke.tasks["mastering"].target_lufs == -14.0
    # [[extra_bars]] appends to the included bars (and full, including release, inherits them all)
    base_bars = [b.name for b in smoke.bars]
    assert [b.name for b in release.bars] == [*base_bars, "controller p95 under 100 ms in the browser"]
    assert [b.name for b in full.bars] == [b.name for b in release.bars]


def _write(tmp_path, body):
    (tmp_path / "_base.toml").write_text((suites_dir() / "_base.toml").read_text())
    p = tmp_path / "mine.toml"
    p.write_text('include = ["_base.toml"]\n' + body)
    return str(p)


@pytest.mark.parametrize(
    "body,words",
    [
        ('[corpus]\ngenres = ["popp"]\n', "did you mean 'pop'"),
        ('[tasks.eq]\nprimary_metric = "mrstft_distanc"\nmetrics = ["mrstft_distanc"]\n', "did you mean 'mrstft_distance'"),
        ('[tasks.eqq]\nprimary_metric = "mrstft_distance"\nmetrics = ["mrstft_distance"]\n', "did you mean 'eq'"),
        ('[corpus]\nclip_secs = 3\n', "corpus.clip_secs"),
        ('[corpus]\nsplit = { train = 0.9, validation = 0.2, test = 0.1 }\n', "sum to 1"),
        ('[tasks.eq]\nprimary_metric = "dynamics_error_db"\n', "must be one of its metrics"),
        ('[corpus\n', "invalid TOML"),
        ('extra_bars = 3\n', "extra_bars must be an array of tables"),
    ],
)
def test_bad_suites_name_file_and_problem(tmp_path, body, words):
    path = _write(tmp_path, body)
    with pytest.raises(UserError) as e:
        load_suite(path)
    assert words in str(e.value) and "mine.toml" in str(e.value)


def test_unknown_suite_suggests(capsys):
    with pytest.raises(UserError, match="did you mean 'smoke'"):
        load_suite("smok")
    assert main(["suites", "validate", "smok"]) == 1
    assert "did you mean 'smoke'" in capsys.readouterr().err


def test_include_cycle(tmp_path):
    (tmp_path / "a.toml").write_text('include = ["b.toml"]\n')
    (tmp_path / "b.toml").write_text('include = ["a.toml"]\n')
    with pytest.raises(UserError, match="include cycle"):
        load_suite(str(tmp_path / "a.toml"))


def test_cli_validate_and_list(capsys):
    assert main(["suites", "validate"]) == 0
    assert main(["suites", "list"]) == 0
    out = capsys.readouterr().out
    assert "ok       smoke" in out and "release" in out


def test_unknown_candidate_in_a_suite_suggests(tmp_path):
    path = _write(tmp_path, '[candidates]\nnames = ["bypass", "matchering", "rule"]\n')
    with pytest.raises(UserError, match="unknown candidate 'rule'; did you mean 'rules'"):
        load_suite(path)

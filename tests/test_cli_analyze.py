"""`dawg-bench analyze`: JSON contract, exit codes, and one clear line per bad file (no traceback)."""

import json
import subprocess
import sys

import numpy as np
import pytest
import soundfile as sf

from harness.cli import main
from tests.bad_audio import make_bad_files
from tests.conftest import sine

FIELDS = {
    "file", "sample_rate", "channels", "duration_s", "integrated_lufs", "loudness_range_lu",
    "true_peak_dbtp", "sample_peak_dbfs", "crest_factor_db", "plr_db", "spectral_centroid_hz",
    "tonal_balance_db",
}


@pytest.fixture()
def good_wav(tmp_path):
    p = tmp_path / "good.wav"
    # EBU Tech 3341 case 1: stereo 1 kHz at -23 dBFS reads -23.0 LUFS.
    sf.write(p, sine(1000, 5.0, 48000, 10 ** (-23 / 20)).T, 48000, subtype="FLOAT")
    return p


def test_json_contract(good_wav, capsys):
    assert main(["analyze", "--json", str(good_wav)]) == 0
    (report,) = json.loads(capsys.readouterr().out)
    assert FIELDS <= set(report)
    assert report["file"] == str(good_wav) and report["sample_rate"] == 48000 and report["channels"] == 2
    assert abs(report["duration_s"] - 5.0) < 1e-9
    assert abs(report["integrated_lufs"] - (-23.0)) < 0.1
    assert abs(report["sample_peak_dbfs"] - (-23 + 20 * np.log10(1.0))) < 0.01
    assert abs(report["crest_factor_db"] - 3.01) < 0.05
    assert abs(report["spectral_centroid_hz"] - 1000) < 20
    loudest = max(report["tonal_balance_db"], key=lambda b: b["level_db"])
    assert loudest["centre_hz"] == 1000


def test_table_output(good_wav, capsys):
    assert main(["analyze", str(good_wav)]) == 0
    out = capsys.readouterr().out
    assert "good.wav" in out and "-23.0 LUFS" in out


def test_silence_and_short_clips_are_nulls_with_reasons(tmp_path, capsys):
    sf.write(tmp_path / "silence.wav", np.zeros((48000 * 2, 2)), 48000)
    sf.write(tmp_path / "short.wav", sine(1000, 0.2, 48000).T, 48000)
    assert main(["analyze", "--json", str(tmp_path / "silence.wav"), str(tmp_path / "short.wav")]) == 0
    silence, short = json.loads(capsys.readouterr().out)
    assert silence["integrated_lufs"] is None and "silence" in silence["unmeasurable"]["integrated_lufs"]
    assert short["integrated_lufs"] is None and "short" in short["unmeasurable"]["integrated_lufs"]
    assert short["sample_peak_dbfs"] is not None
    text = json.dumps([silence, short])
    assert "Infinity" not in text and "NaN" not in text


def test_each_bad_file_is_named_and_the_rest_still_reported(tmp_path, good_wav, capsys):
    expected = make_bad_files(tmp_path / "bad")
    paths = [str(tmp_path / "bad" / name) for name in expected] + [str(good_wav), str(tmp_path / "missing.wav")]
    # A file that does not exist is bad input (exit 2, as README says); the others are still reported.
    assert main(["analyze", "--json", *paths]) == 2
    captured = capsys.readouterr()
    reports = json.loads(captured.out)
    assert [r["file"] for r in reports] == [str(good_wav)]
    lines = captured.err.strip().splitlines()
    assert len(lines) == len(expected) + 1
    for name, words in expected.items():
        (line,) = [ln for ln in lines if f"/{name}:" in ln]
        assert words in line, line
    assert any("missing.wav: file not found" in ln for ln in lines)
    assert "Traceback" not in captured.err


def test_real_process_exit_codes_and_no_traceback(tmp_path, good_wav):
    expected = make_bad_files(tmp_path / "bad")
    cmd = [sys.executable, "-m", "harness.cli", "analyze"]
    bad = subprocess.run(cmd + [str(tmp_path / "bad" / n) for n in expected], capture_output=True, text=True)
    assert bad.returncode == 1
    assert "Traceback" not in bad.stderr and len(bad.stderr.strip().splitlines()) == len(expected)
    usage = subprocess.run(cmd, capture_output=True, text=True)
    assert usage.returncode == 2 and "Traceback" not in usage.stderr
    ok = subprocess.run(cmd + [str(good_wav)], capture_output=True, text=True)
    assert ok.returncode == 0, ok.stderr


def test_help_has_examples(capsys):
    with pytest.raises(SystemExit) as e:
        main(["analyze", "--help"])
    assert e.value.code == 0
    assert "examples:" in capsys.readouterr().out


def test_unreadable_files_without_a_missing_one_exit_1(tmp_path, good_wav, capsys):
    expected = make_bad_files(tmp_path / "bad")
    assert main(["analyze", "--json", str(good_wav), *[str(tmp_path / "bad" / n) for n in expected]]) == 1

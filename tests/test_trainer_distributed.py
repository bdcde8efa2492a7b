"""Trainers issue, Distributed: `torchrun --nproc_per_node 2` on CPU (gloo) runs two steps of a real trainer,
and both ranks end with identical parameters. A single process with the same seed ends elsewhere: the
second rank's batches reached the update, so DDP averaged gradients rather than each rank going alone."""

import json
import re
import subprocess
import sys

import pytest

from harness.cli import main


@pytest.mark.slow(seconds=25)
def test_torchrun_two_ranks_end_with_identical_parameters(smoke_home, tmp_path, monkeypatch, capsys):
    models = tmp_path / "models"
    monkeypatch.setenv("DAWG_BENCH_MODELS", str(models))
    args = ["train", "compressor", "--suite", "smoke", "--steps", "2", "--checkpoint-dir", str(tmp_path / "ck")]
    run = subprocess.run([sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node", "2",
                          "-m", "harness.cli", *args], capture_output=True, text=True, timeout=240, check=False)
    assert run.returncode == 0, run.stderr[-3000:]
    digests = dict(re.findall(r"rank (\d)/2: parameters sha256 ([0-9a-f]{64})", run.stderr))
    assert set(digests) == {"0", "1"}, run.stderr[-3000:]
    assert digests["0"] == digests["1"]
    card = json.loads((models / "compressor" / "compressor-v1" / "card.json").read_text())
    assert card["ranks"] == 2 and card["parameters_sha256"] == digests["0"]

    assert main(args) == 0  # the same training in one process
    single = json.loads((models / "compressor" / "compressor-v2" / "card.json").read_text())
    assert single["ranks"] == 1 and single["parameters_sha256"] != digests["0"]

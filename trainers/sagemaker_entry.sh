#!/usr/bin/env bash
# Entry point of a DAWG Bench SageMaker training job (trainers/sagemaker.py builds the job).
# Channels: /opt/ml/input/data/code (this script + code.tar.gz) and /opt/ml/input/data/home (the corpus).
# The image's torch is kept: the package is installed without dependencies, then its other
# dependencies (everything but torch) are installed.
set -euo pipefail
HP=/opt/ml/input/config/hyperparameters.json
hp() { python3 -c "import json,sys; print(json.load(open('$HP'))['$1'])"; }
work=$(mktemp -d)
tar -xzf /opt/ml/input/data/code/code.tar.gz -C "$work"
cd "$work/dawg-bench"
# the same system packages as a local build: they are part of the corpus recipe (and of its hash)
bash scripts/install-system-deps.sh
python3 -m pip install -q --no-deps -e .
python3 - <<'PY' | xargs -r python3 -m pip install -q
import tomllib
deps = tomllib.load(open("pyproject.toml", "rb"))["project"]["dependencies"]
print(" ".join(d for d in deps if not d.startswith("torch")))
PY
# the corpus channel holds <corpus key>/...; the harness finds it under $DAWG_BENCH_HOME/corpus/
export DAWG_BENCH_HOME="$work/home" DAWG_BENCH_MODELS=/opt/ml/model
mkdir -p "$DAWG_BENCH_HOME/corpus"
ln -s /opt/ml/input/data/home "$DAWG_BENCH_HOME/corpus/$DAWG_BENCH_CORPUS_KEY"
exec torchrun --standalone --nproc_per_node "$(hp nproc_per_node)" -m harness.cli train "$(hp task)" \
  --suite "$(hp suite)" --profile "$(hp profile)" --seed "$(hp seed)" --device cuda \
  --checkpoint-dir /opt/ml/checkpoints

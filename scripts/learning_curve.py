"""Learning curve: held-out gap closed against the number of training clips, generated and recorded.

    python scripts/learning_curve.py compressor --sizes 30,60,120,240 --out docs/learning-curves/compressor.json

For each size N it trains the task's quick model on a seeded subset of N of the suite's train clips
(`train_task(..., train_clips=N)`: the card records which), then scores it with the harness's own
scoring (`runner.score_output`, the primary metric) on a fixed, seeded sample of the suite's generated
test examples and on every recorded test example (`--recorded`, default hyperrogue-music). Reported per
size and source: median gap closed with a cluster-bootstrap 95 % CI (clusters as the gate uses them) and
the share of examples made worse than bypass by more than the metric's audible floor.

It answers the owner's question "what does more data buy?" on the same clips every size sees. It is a
script, not a gate: the release gate scores every test example with `dawg-bench run`.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))


def _examples(suite, manifest, task: str, generated: int, seed: int) -> list[tuple[int, str | None]]:
    """The example keys scored at every size: a seeded sample of generated test examples, all recorded ones.
    Examples are rebuilt when scored (a few MB of audio and analysis each: 500 held at once run out of memory)."""
    from harness.tasks.examples import example_keys

    test = manifest.split("test")
    keys = example_keys(suite, manifest, task)
    gen = [k for k in keys if test[k[0]].source == "generated"]
    rec = [k for k in keys if test[k[0]].source == "recorded"]
    rng = np.random.default_rng(seed)
    return [gen[i] for i in sorted(rng.choice(len(gen), min(generated, len(gen)), replace=False))] + rec


def _score(release_folder: Path, suite, manifest, task: str, metric: str, keys, clusters: dict) -> list[dict]:
    from harness.candidates.onnx_model import OnnxController
    from harness.metrics import get_metric
    from harness.models import load_release
    from harness.runner import input_distances, prepare_against, score_output
    from harness.tasks.examples import build_example

    model = OnnxController(load_release(release_folder))
    floor = get_metric(metric).audible_floor or 0.0
    test = manifest.split("test")
    rows = []
    for i, (index, variant) in enumerate(keys, 1):
        example = build_example(suite, manifest, task, index, variant)
        against = prepare_against(example, [metric])
        output = model.predict_example(example).render(example.query)
        values, gaps = score_output(output, example, [metric], input_distances(example, [metric], against), against)
        d_in, d_out = values[f"input.{metric}"], values[metric]
        record = test[index]
        rows.append({"source": example.source, "cluster": clusters.get(record.id, record.id), "gap": gaps[metric],
                     "harm": None if d_in is None or d_out is None else bool(d_out > d_in + floor)})
        if i % 100 == 0 or i == len(keys):
            print(f"scored {i}/{len(keys)}", file=sys.stderr, flush=True)
    return rows


def _summary(rows: list[dict]) -> dict:
    from harness.stats import bootstrap_ci

    gaps = [r for r in rows if r["gap"] is not None]
    harms = [r["harm"] for r in rows if r["harm"] is not None]
    if not gaps:
        return {"n": 0}
    lo, hi = bootstrap_ci([r["gap"] for r in gaps], clusters=[r["cluster"] for r in gaps])
    return {"n": len(gaps), "clusters": len({r["cluster"] for r in gaps}),
            "median_gap_closed": float(np.median([r["gap"] for r in gaps])), "ci95": [lo, hi],
            "harm_share": float(np.mean(harms)) if harms else None}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                     formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("task")
    parser.add_argument("--suite", default="release")
    parser.add_argument("--sizes", default="30,60,120,240", help="numbers of train clips (default 30,60,120,240)")
    parser.add_argument("--generated", type=int, default=160, help="generated test examples scored (default 160)")
    parser.add_argument("--recorded", default="/usr/share/hyperrogue/music", help="recorded test set folder ('' none)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--profile", default="quick", help="training profile (default quick)")
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args(argv)

    from harness.corpus.build import build_corpus
    from harness.corpus.manifest import clip_clusters
    from harness.suites import load_suite
    from trainers.pipeline import train_task

    suite = load_suite(args.suite)
    manifest = build_corpus(suite, recorded=args.recorded or None)
    metric = suite.tasks[args.task].primary_metric
    examples = _examples(suite, manifest, args.task, args.generated, args.seed)
    clusters = clip_clusters(manifest.clips)
    curve = []
    with tempfile.TemporaryDirectory() as tmp:
        for n in [int(x) for x in args.sizes.split(",")]:
            started = time.perf_counter()
            folder = train_task(args.task, suite, profile=args.profile, seed=args.seed, models_root=Path(tmp),
                                train_clips=n,
                                checkpoint_dir=Path(tmp) / "ckpt", log=lambda line: print(line, file=sys.stderr))
            trained = time.perf_counter() - started
            rows = _score(folder, suite, manifest, args.task, metric, examples, clusters)
            card = json.loads((folder / "card.json").read_text())
            point = {"train_clips": len(card["train_clip_sha256"]), "train_seconds": round(trained, 1),
                     "validation": card["validation"],
                     "generated": _summary([r for r in rows if r["source"] == "generated"]),
                     "recorded": _summary([r for r in rows if r["source"] == "recorded"])}
            curve.append(point)
            print(json.dumps(point), file=sys.stderr, flush=True)
    result = {"task": args.task, "suite": args.suite, "corpus": manifest.manifest_hash, "metric": metric,
              "profile": args.profile, "seed": args.seed, "generated_examples": args.generated,
              "recorded": args.recorded, "points": curve,
              "command": "python scripts/learning_curve.py " + " ".join(argv or sys.argv[1:])}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1))
    print(f"{'clips':>6s}  {'generated':>28s}  {'recorded':>28s}")
    for p in curve:
        cells = []
        for source in ("generated", "recorded"):
            s = p[source]
            cells.append(f"{s['median_gap_closed']:+.2f} [{s['ci95'][0]:+.2f}, {s['ci95'][1]:+.2f}] "
                         f"harms {s['harm_share']:.0%}" if s.get("n") else "—")
        print(f"{p['train_clips']:6d}  {cells[0]:>28s}  {cells[1]:>28s}")
    return 0


if __name__ == "__main__":
    sys.exit(main())

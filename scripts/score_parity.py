"""Per-clip scores of one code version, and their agreement with another's: the check that a speed-up
left results unchanged.

    # in a checkout of the previous implementation, then in this one
    python scripts/score_parity.py score --suite release --per-task 40 --out before.json
    python scripts/score_parity.py score --suite release --per-task 40 --out after.json
    python scripts/score_parity.py compare before.json after.json

`score` scores the first N test examples of every task of the suite's (cached) corpus with each
candidate, the way `dawg-bench run` does (render, then every distance and output meter of the
task), and writes {task|variant|clip|candidate: {metric: value}}. It uses only the runner's
public functions, so it runs unchanged on older code. `compare` prints, per metric, the largest
relative and absolute difference between two such files, and exits 1 when a key or a value is
missing from one side.
"""

from __future__ import annotations

import argparse
import json
import math
import sys
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run as a script from any checkout


def score(args: argparse.Namespace) -> int:
    from harness.candidates import get_candidate
    from harness.corpus.build import build_corpus
    from harness.metrics.distances import OutputAnalysis
    from harness.runner import input_distances, output_meter, prepare_against, score_output
    from harness.suites import load_suite
    from harness.tasks.examples import build_example, example_keys

    suite = load_suite(args.suite)
    manifest = build_corpus(suite)
    results: dict[str, dict[str, float | None]] = {}
    for task, cfg in suite.tasks.items():
        candidates = [get_candidate(name) for name in args.candidates]
        for index, variant in example_keys(suite, manifest, task)[: args.per_task]:
            example = build_example(suite, manifest, task, index, variant)
            against = prepare_against(example, cfg.metrics)
            d_input = input_distances(example, cfg.metrics, against)
            for cand in candidates:
                if not cand.supports(task, variant):
                    continue
                output = cand.predict_example(example).render(example.query)
                analysis = OutputAnalysis(output, example.query.sample_rate)
                values, _ = score_output(output, example, cfg.metrics, d_input, against, analysis)
                for meter in cfg.output_meters:
                    values[f"output.{meter}"] = output_meter(meter, analysis)
                results[f"{task}|{variant or ''}|{example.clip_id}|{cand.name}"] = values
        print(f"{task}: {sum(k.startswith(task + '|') for k in results)} scored", flush=True)
    Path(args.out).write_text(json.dumps(results, indent=1, sort_keys=True))
    return 0


def _scores(path: str) -> dict:
    try:
        return json.loads(Path(path).read_text())
    except (OSError, ValueError) as exc:
        raise SystemExit(f"{path}: not a score file ({type(exc).__name__}: {exc})") from None


def compare(args: argparse.Namespace) -> int:
    before = _scores(args.before)
    after = _scores(args.after)
    problems = [f"missing in {args.after}: {k}" for k in before if k not in after]
    problems += [f"missing in {args.before}: {k}" for k in after if k not in before]
    worst_rel: dict[str, float] = defaultdict(float)
    worst_abs: dict[str, float] = defaultdict(float)
    counted: dict[str, int] = defaultdict(int)
    for key in sorted(set(before) & set(after)):
        for metric, old in before[key].items():
            new = after[key].get(metric)
            if (old is None) != (new is None):
                problems.append(f"{key} {metric}: {old} before, {new} after")
                continue
            if old is None or not (math.isfinite(old) and math.isfinite(new)):
                continue
            diff = abs(new - old)
            worst_abs[metric] = max(worst_abs[metric], diff)
            worst_rel[metric] = max(worst_rel[metric], diff / max(abs(old), 1e-300))
            counted[metric] += 1
    print(f"{len(set(before) & set(after))} scored outputs compared")
    for metric in sorted(counted):
        print(f"  {metric:40s} n={counted[metric]:5d}  max rel {worst_rel[metric]:.2e}"
              f"  max abs {worst_abs[metric]:.2e}")
    for line in problems[:20]:
        print("PROBLEM", line)
    return 1 if problems else 0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    s = sub.add_parser("score", help="score the first N test examples per task")
    s.add_argument("--suite", default="release")
    s.add_argument("--per-task", type=int, default=40)
    s.add_argument("--candidates", nargs="+", default=["bypass", "rules", "match", "oracle"])
    s.add_argument("--out", required=True)
    c = sub.add_parser("compare", help="largest differences between two score files")
    c.add_argument("before")
    c.add_argument("after")
    args = parser.parse_args(argv)
    return score(args) if args.command == "score" else compare(args)


if __name__ == "__main__":
    sys.exit(main())

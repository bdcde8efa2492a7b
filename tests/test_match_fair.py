"""`match` is a fair baseline (Methods): it learns only from the training split and never uses the
corpus generator's hidden settings (the finishing recipe's glue compressor)."""

import ast
from pathlib import Path

import numpy as np

from harness.candidates.match import SHRINK_CHOICES, Match, choose_shrink, learn_curve
from harness.candidates.safe_meters import curve
from harness.corpus.synth import STYLES, render_arrangement
from harness.tasks.base import Example, Query

SR = 48000


def test_match_imports_nothing_from_the_generator_or_its_finishing_recipe():
    tree = ast.parse(Path("harness/candidates/match.py").read_text())
    imported = {n.module for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) and n.module}
    imported |= {a.name for n in ast.walk(tree) if isinstance(n, ast.Import) for a in n.names}
    assert not {m for m in imported if m.startswith(("harness.finishing", "harness.corpus"))}


def _examples(damaged: bool) -> list[Example]:
    out = []
    for i, genre in enumerate(["pop", "rock", "acoustic", "electronic"]):
        target = render_arrangement(600 + i, STYLES[genre], 3.0, SR) * 0.3
        audio = target * np.array([[1.0], [1.0]]) if not damaged else target
        out.append(Example(query=Query(task="eq", variant=None, audio=audio, sample_rate=SR), clip_id=f"t{i}",
                           source="generated", target=target, oracle=None, oracle_exact=False))
    return out


def test_shrinkage_is_chosen_on_training_examples():
    train = _examples(damaged=False)
    learned = learn_curve([curve(ex.target, SR) for ex in train])
    # Undamaged training inputs: any correction only hurts, so the most cautious shrinkage wins.
    assert choose_shrink(train, learned) == max(SHRINK_CHOICES)
    m = Match()
    m.fit(train)
    assert m.shrink["eq"] in SHRINK_CHOICES and "eq" in m.crest_db

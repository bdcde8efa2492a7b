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


def test_shrinkage_scores_equal_the_plain_per_example_computation():
    """choose_shrink measures each input's curve and each target's side of the tonal distance once (five
    shrinkages per clip made the fit a run's critical path); its errors must be exactly those of
    match_eq + tonal_balance_error_db computed from scratch."""
    from harness.candidates.match import match_eq
    from harness.metrics import tonal_balance_error_db

    train = _examples(damaged=False)
    for ex, gain in zip(train, (1.0, 0.5, 2.0, 1.0)):  # tilt the inputs so that the shrinkage matters
        ex.query.audio[0] *= gain
    learned = learn_curve([curve(ex.target, SR) for ex in train])
    plain = {}
    for shrink in SHRINK_CHOICES:
        errors = [tonal_balance_error_db(match_eq(ex.query.audio, SR, learned, shrink=shrink).render(ex.query.audio, SR),
                                         ex.target, SR) for ex in train]
        plain[shrink] = float(np.median(errors))
    best = min(plain.values())
    assert choose_shrink(train, learned) == max(s for s, e in plain.items() if e == best)
    for ex in train:
        x_curve = curve(ex.query.audio, SR)
        for shrink in SHRINK_CHOICES:
            assert match_eq(ex.query.audio, SR, learned, shrink=shrink, audio_curve=x_curve) == match_eq(
                ex.query.audio, SR, learned, shrink=shrink)


def test_a_fit_in_rounds_over_chunks_equals_the_whole_fit():
    """A run with workers to spare fits match in rounds over chunks of the training split
    (harness/fitting.py); the fitted state must be exactly the whole fit's."""
    train = _examples(damaged=False)
    for ex, gain in zip(train, (1.0, 0.5, 2.0, 1.0)):
        ex.query.audio[0] *= gain
    whole = Match()
    whole.fit(train)
    rounds = Match()
    chunks = [train[:1], train[1:3], train[3:]]
    for r in range(rounds.fit_rounds):
        rounds.fit_merge(r, [rounds.fit_round(r, chunk) for chunk in chunks])
    assert rounds.shrink == whole.shrink and rounds.crest_db == whole.crest_db
    assert rounds.curves.keys() == whole.curves.keys()
    for task, learned in whole.curves.items():
        other = rounds.curves[task]
        assert np.array_equal(other.mean_db, learned.mean_db) and np.array_equal(other.spread_db, learned.spread_db)
        assert np.array_equal(other.centres_hz, learned.centres_hz) and other.count == learned.count

"""Percentiles and bootstrap CIs against known distributions."""

import numpy as np
import pytest

from harness.stats import bootstrap_ci, paired_difference_ci, percentile_nearest_rank, summarise


def test_nearest_rank_percentiles_on_known_data():
    x = list(range(1, 101))  # 1..100
    assert percentile_nearest_rank(x, 50) == 50
    assert percentile_nearest_rank(x, 90) == 90
    assert percentile_nearest_rank(x, 99) == 99
    assert percentile_nearest_rank(x, 100) == 100
    assert percentile_nearest_rank([7.0], 99) == 7.0
    with pytest.raises(ValueError):
        percentile_nearest_rank([], 50)


def test_percentiles_of_an_exponential_match_its_quantile_function():
    rng = np.random.default_rng(1)
    x = rng.exponential(scale=2.0, size=200_000)
    for q in (50, 90, 95, 99):
        expected = -2.0 * np.log(1 - q / 100)
        assert abs(percentile_nearest_rank(x, q) - expected) / expected < 0.02


def test_bootstrap_ci_covers_the_true_median_at_about_95_percent():
    """Coverage over 300 normal samples of n=40: a 95 % interval should cover ~95 % of the time."""
    rng = np.random.default_rng(2)
    covered = 0
    for i in range(300):
        lo, hi = bootstrap_ci(rng.normal(3.0, 1.0, size=40), resamples=1000, seed=i)
        covered += lo <= 3.0 <= hi
    assert 0.90 <= covered / 300 <= 0.99


def test_bootstrap_ci_width_shrinks_with_n_like_one_over_sqrt_n():
    rng = np.random.default_rng(3)
    w = []
    for n in (100, 1600):
        lo, hi = bootstrap_ci(rng.normal(size=n), statistic=np.mean)
        w.append(hi - lo)
    # Theory: width = 2 * 1.96 / sqrt(n): 0.392 and 0.098; ratio 4.
    assert abs(w[0] - 0.392) < 0.06 and 3.0 < w[0] / w[1] < 5.3


def test_summary_ignores_non_finite_and_is_deterministic():
    s = summarise([1.0, 2.0, 3.0, float("nan"), None])
    assert s.n == 3 and s.median == 2.0 and s.mean == 2.0
    assert summarise([1, 2, 3, 4]).ci95 == summarise([1, 2, 3, 4]).ci95


def test_paired_difference():
    a = np.arange(50.0) + 1.0
    med, (lo, hi) = paired_difference_ci(a, a - 0.5)
    assert med == 0.5 and lo == 0.5 and hi == 0.5


def _clustered(rng, clusters, rows, rho):
    """Rows with intra-cluster correlation rho, unit variance, true median 0."""
    shared = rng.normal(0.0, np.sqrt(rho), clusters)
    own = rng.normal(0.0, np.sqrt(1.0 - rho), (clusters, rows))
    return (shared[:, None] + own).ravel(), np.repeat(np.arange(clusters), rows)


def _false_beats_rate(trials: int, clustered: bool) -> float:
    rng = np.random.default_rng(11)
    beats = 0
    for _ in range(trials):
        d, labels = _clustered(rng, 6, 3, 0.7)
        _, (lo, hi) = paired_difference_ci(d, np.zeros_like(d), clusters=labels if clustered else None)
        beats += hi < 0  # "the model's distance is lower than the baseline's" with no true difference
    return beats / trials


def test_clustered_bootstrap_keeps_the_false_beats_rate_near_nominal():
    """6 clusters x 3 rows, rho = 0.7, no true difference: the one-sided 'beats' rate of a 95 % CI
    should be 2.5 %; row-by-row resampling gives about 9 %, cluster resampling must stay <= 3 %."""
    assert _false_beats_rate(1500, clustered=True) <= 0.03
    assert _false_beats_rate(1500, clustered=False) >= 0.06  # the test can tell the two apart


def test_clustered_median_of_each_resample_is_numpys_median():
    from harness.stats import _weighted_statistic

    rng = np.random.default_rng(5)
    x = rng.normal(size=17)
    cid = rng.integers(0, 5, size=17)
    counts = rng.integers(0, 4, size=(40, 5))
    counts[:, 0] += 1  # every resample holds at least one row
    fast = _weighted_statistic(np.median, x, cid, counts)
    slow = [np.median(np.repeat(x, row[cid])) for row in counts]
    assert np.allclose(fast, slow, rtol=0, atol=1e-15)
    assert np.allclose(_weighted_statistic(np.mean, x, cid, counts), [np.mean(np.repeat(x, r[cid])) for r in counts])


def test_one_cluster_gives_a_zero_width_interval_and_labels_must_match():
    assert bootstrap_ci([1.0, 2.0, 3.0], clusters=["a", "a", "a"]) == (2.0, 2.0)
    with pytest.raises(ValueError):
        bootstrap_ci([1.0, 2.0], clusters=["a"])

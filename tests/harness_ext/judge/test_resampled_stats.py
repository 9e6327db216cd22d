"""The generic statistics of the judge diagnostics against published values and direct (loop) definitions."""

from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import spearmanr
from sklearn.metrics import cohen_kappa_score

from nativeval.harness_ext.core.stats import Resampler, bootstrap_counts, with_full_sample
from nativeval.harness_ext.core.stats import bootstrap_estimate as estimate
from nativeval.harness_ext.judge.resampled_stats import (
    exact_and_within_one,
    group_means,
    krippendorff_alpha_interval,
    quadratic_kappa,
    spearman,
    spearman_rows,
)

NA = np.nan
# Krippendorff (2011), "Computing Krippendorff's Alpha-Reliability", the 4-coder x 12-unit example:
# interval 0.849.
KRIPPENDORFF_EXAMPLE = np.array(
    [
        [1, 2, 3, 3, 2, 1, 4, 1, 2, NA, NA, NA],
        [1, 2, 3, 3, 2, 2, 4, 1, 2, 5, NA, 3],
        [NA, 3, 3, 3, 2, 3, 4, 2, 2, 5, 1, NA],
        [1, 2, 3, 3, 2, 4, 4, 1, 2, 5, 1, NA],
    ]
)


def full(n: int) -> Resampler:
    """No resampling: every unit once."""
    return Resampler(np.ones((1, n)), np.arange(n))


def alpha_by_pairs(ratings: np.ndarray) -> float:
    """Krippendorff's interval alpha straight from its definition, pair by pair."""
    units = [[v for v in ratings[:, u] if np.isfinite(v)] for u in range(ratings.shape[1])]
    units = [u for u in units if len(u) >= 2]
    n = sum(len(u) for u in units)
    observed = (
        sum(
            sum((a - b) ** 2 for i, a in enumerate(u) for j, b in enumerate(u) if i != j) / (len(u) - 1)
            for u in units
        )
        / n
    )
    values = [v for u in units for v in u]
    expected = sum((a - b) ** 2 for i, a in enumerate(values) for j, b in enumerate(values) if i != j) / (
        n * (n - 1)
    )
    return 1 - observed / expected


def test_krippendorff_alpha_matches_the_published_example_and_the_definition():
    assert krippendorff_alpha_interval(full(12), KRIPPENDORFF_EXAMPLE)[0] == pytest.approx(0.849, abs=5e-4)
    rng = np.random.default_rng(3)
    ratings = rng.integers(1, 6, size=(5, 40)).astype(float)
    ratings[rng.random(ratings.shape) < 0.3] = np.nan
    assert krippendorff_alpha_interval(full(40), ratings)[0] == pytest.approx(alpha_by_pairs(ratings))


def test_quadratic_kappa_matches_scikit_learn():
    rng = np.random.default_rng(0)
    x = rng.integers(1, 6, 300)
    for y in (np.clip(x + rng.integers(-1, 2, 300), 1, 5), rng.integers(1, 6, 300), 6 - x):
        ours = quadratic_kappa(full(300), x.astype(float), y.astype(float))[0]
        assert ours == pytest.approx(cohen_kappa_score(x, y, weights="quadratic"))


def test_weights_are_resamples_a_bootstrap_row_equals_the_statistic_on_the_resampled_data():
    rng = np.random.default_rng(1)
    x, y = rng.integers(1, 6, 50).astype(float), rng.integers(1, 6, 50).astype(float)
    counts = bootstrap_counts(50, 3, rng)
    assert counts.shape == (3, 50) and (counts.sum(axis=1) == 50).all()
    for row in counts:
        index = np.repeat(np.arange(50), row.astype(int))
        resampled = Resampler(row, np.arange(50))
        assert quadratic_kappa(resampled, x, y)[0] == pytest.approx(
            cohen_kappa_score(x[index], y[index], weights="quadratic")
        )
        exact, within = exact_and_within_one(resampled, x, y)
        assert exact[0] == pytest.approx(np.mean(x[index] == y[index]))
        assert within[0] == pytest.approx(np.mean(np.abs(x[index] - y[index]) <= 1))


def test_spearman_agrees_with_scipy():
    rng = np.random.default_rng(2)
    x = rng.normal(size=80)
    y = x + rng.normal(size=80)
    assert spearman(full(80), x, y)[0] == pytest.approx(spearmanr(x, y).statistic)
    a, b = rng.normal(size=(4, 12)), rng.normal(size=(4, 12))
    expected = [spearmanr(a[i], b[i]).statistic for i in range(4)]
    assert spearman_rows(a, b) == pytest.approx(expected)
    assert np.isnan(spearman_rows(a[:, :2], b[:, :2])).all()  # fewer than three systems: undefined


def test_group_means_and_estimates():
    values = np.array([1.0, 2.0, 3.0, 5.0])
    groups = np.array([0, 0, 1, 1])
    assert group_means(full(4), values, groups, 2)[0] == pytest.approx([1.5, 4.0])
    assert np.isnan(group_means(full(4), values, groups, 2, mask=np.array([1, 1, 0, 0]))[0, 1])
    e = estimate(0.5, np.linspace(0, 1, 1001), 10)
    assert (e.ci_low, e.ci_high) == pytest.approx((0.025, 0.975)) and e.excludes(-0.1) and not e.excludes(0.5)
    assert estimate(np.nan, np.ones(10), 0).value is None
    assert with_full_sample(np.zeros((2, 3)))[0].tolist() == [1, 1, 1]


def test_bootstrap_interval_covers_the_truth_for_independent_raters():
    """Two independent uniform raters: kappa 0 lies inside the interval (the unbiased case is not flagged)."""
    rng = np.random.default_rng(5)
    x, y = rng.integers(1, 6, 400).astype(float), rng.integers(1, 6, 400).astype(float)
    kappa = quadratic_kappa(Resampler.units(400, 500, rng), x, y)
    e = estimate(kappa[0], kappa[1:], 400)
    assert e.ci_low < 0 < e.ci_high and e.ci_high - e.ci_low < 0.3


def test_clusters_are_drawn_whole():
    """Units of one cluster (all models' answers to a question) enter every resample together."""
    rng = np.random.default_rng(4)
    cluster = np.array([0, 0, 1, 1, 2, 2])
    r = Resampler.bootstrap(cluster, 3, 200, rng)
    sums = r.sums(np.array([1.0, 0, 0, 0, 0, 0]), np.array([0, 1.0, 0, 0, 0, 0]))
    assert (sums[:, 0] == sums[:, 1]).all() and sums[0].tolist() == [1, 1] and sums[1:, 0].max() >= 2
    restricted = r.restrict(np.array([0, 4]))
    assert restricted.sums(np.ones(2))[0, 0] == 2 and restricted.n == 2


@pytest.mark.parametrize("seed", range(3))
def test_krippendorff_alpha_matches_the_krippendorff_package_on_random_ratings(seed):
    import krippendorff

    rng = np.random.default_rng(seed)
    truth = rng.integers(1, 6, 60)
    ratings = np.clip(truth + rng.integers(-1, 2, (4, 60)), 1, 5).astype(float)
    ratings[rng.random(ratings.shape) < 0.25] = np.nan
    expected = krippendorff.alpha(reliability_data=ratings, level_of_measurement="interval")
    assert krippendorff_alpha_interval(full(60), ratings)[0] == pytest.approx(expected, rel=1e-9)


def test_an_estimate_from_one_question_has_no_interval():
    """All answers to one question: one cluster, so the bootstrap says nothing about uncertainty."""
    rng = np.random.default_rng(0)
    r = Resampler.bootstrap(np.zeros(30, dtype=np.int64), 1, 100, rng)
    x, y = rng.integers(1, 6, 30).astype(float), rng.integers(1, 6, 30).astype(float)
    kappa = quadratic_kappa(r, x, y)
    e = estimate(kappa[0], kappa[1:], 30, r.n_clusters)
    assert e.value == pytest.approx(kappa[0]) and e.ci is None and e.note == "n/a: one cluster"

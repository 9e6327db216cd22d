"""Planted nulls and effects: false-positive rates and interval coverage of the statistics core by simulation.

Kept fast: few resamples, vectorised data. Rates are compared with bands around the nominal 5% / 95% that a
correct method stays inside with overwhelming probability at these simulation counts (binomial SE ~0.7-1.5%).
"""

from __future__ import annotations

import numpy as np
import pytest

from nativeval.harness_ext.core.stats import (
    CLUSTER_T,
    bootstrap_means,
    mean_estimate,
    paired_arrays_difference,
    pairwise,
    percentile_ci,
)


def clustered_null(rng, n_clusters: int, binary: bool) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """Two systems on items in clusters of unequal size, with no difference in expectation (a true null);
    items of one cluster share its difficulty (binary scores) or a cluster-level
    difference (continuous scores)."""
    sizes = rng.integers(3, 15, n_clusters)
    groups = np.repeat(np.arange(n_clusters), sizes)
    if binary:
        difficulty = rng.random(n_clusters)[groups]
        a = (rng.random(groups.size) < difficulty).astype(float)
        b = (rng.random(groups.size) < difficulty).astype(float)
    else:
        b = rng.normal(0, 1, groups.size)
        a = b + rng.normal(0, 1, n_clusters)[groups] + rng.normal(0, 1, groups.size)
    return a, b, [f"c{g}" for g in groups]


def percentile_bootstrap_rejects(d: np.ndarray, labels: list[str], resamples: int, rng) -> bool:
    """The rule the core replaced below 20 clusters: a plain percentile cluster bootstrap."""
    _, index = np.unique(labels, return_inverse=True)
    g = index.max() + 1
    sums, sizes = np.bincount(index, d, g), np.bincount(index, minlength=g).astype(float)
    draws = rng.integers(0, g, (resamples, g))
    boot = sums[draws].sum(axis=1) / sizes[draws].sum(axis=1)
    low, high = percentile_ci(boot)
    return bool(low > 0 or high < 0)


@pytest.mark.parametrize("binary", [False, True])
@pytest.mark.parametrize("n_clusters", [5, 10])
def test_few_clusters_keep_false_positives_near_5_percent(n_clusters, binary):
    rng = np.random.default_rng(100 * n_clusters + binary)
    sims = 800
    ours = old = 0
    for trial in range(sims):
        a, b, labels = clustered_null(rng, n_clusters, binary)
        estimate = paired_arrays_difference(a, b, labels, seed=trial)
        assert estimate.method == CLUSTER_T and estimate.n_clusters == n_clusters
        ours += estimate.excludes(0.0)
        assert (estimate.p_value < 0.05) == estimate.excludes(0.0)
        old += percentile_bootstrap_rejects(a - b, labels, 200, rng)
    assert 0.025 <= ours / sims <= 0.075
    if n_clusters == 5:  # what the t(G-1) rule fixes: the bootstrap over 5 clusters is overconfident
        assert old / sims > 0.10


def test_pairwise_few_shared_clusters_keep_false_positives_near_5_percent():
    rng = np.random.default_rng(7)
    rejections, tests = 0, 0
    for trial in range(300):
        groups = np.repeat(np.arange(8), rng.integers(3, 10, 8))
        difficulty = rng.random(8)[groups]
        values = (rng.random((3, groups.size)) < difficulty).astype(float)  # three exchangeable models
        mask = np.ones_like(values, dtype=bool)
        boot = bootstrap_means(values, mask, groups, 50, seed=trial)
        for estimate in pairwise(values, mask, groups, boot).estimates:
            if estimate.has_inference:
                tests += 1
                rejections += estimate.excludes(0.0)
    assert tests > 800 and 0.02 <= rejections / tests <= 0.08


def test_many_clusters_bootstrap_covers_the_mean_95_percent():
    rng = np.random.default_rng(3)
    covered, sims = 0, 300
    for trial in range(sims):
        groups = np.repeat(np.arange(40), rng.integers(2, 10, 40))
        y = rng.normal(0, 1, 40)[groups] + rng.normal(0, 1, groups.size)  # true mean 0
        estimate = mean_estimate(y, [f"c{g}" for g in groups], resamples=400, seed=trial)
        assert estimate.method == "cluster bootstrap"
        covered += estimate.ci_low <= 0.0 <= estimate.ci_high
    assert 0.90 <= covered / sims <= 0.985


@pytest.mark.parametrize("n_clusters", [6, 40])
def test_a_planted_difference_is_found(n_clusters):
    rng = np.random.default_rng(n_clusters)
    found, covered, sims = 0, 0, 100
    for trial in range(sims):
        groups = np.repeat(np.arange(n_clusters), 10)
        b = rng.normal(0, 1, n_clusters)[groups] + rng.normal(0, 1, groups.size)
        a = b + 0.8 + rng.normal(0, 0.5, n_clusters)[groups]  # true gap 0.8 with cluster-level variation
        estimate = paired_arrays_difference(a, b, [f"c{g}" for g in groups], resamples=300, seed=trial)
        found += estimate.ci_low > 0
        covered += estimate.ci_low <= 0.8 <= estimate.ci_high
    assert found / sims > 0.8 and covered / sims >= 0.88

"""Known-answer tests for the leaderboard statistics."""

from __future__ import annotations

import numpy as np
import pytest

from harness_ext.leaderboard.stats import bootstrap_mean_ci, holm, pair_items, paired_bootstrap, pearson_r


def test_paired_bootstrap_ci_contains_true_difference():
    rng = np.random.default_rng(7)
    hits = 0
    for trial in range(20):
        n = 400
        b = rng.binomial(1, 0.45, n).astype(float)
        a = np.where(rng.random(n) < 0.15, 1.0, b)  # a = b plus extra successes: true diff 0.15 * 0.55
        true_diff = 0.15 * 0.55
        result = paired_bootstrap(a, b, resamples=2000, seed=trial)
        assert result.n == n
        assert result.ci_low <= result.diff <= result.ci_high
        hits += result.ci_low <= true_diff <= result.ci_high
    assert hits >= 16  # nominal 95%: 19 of 20 expected


def test_paired_bootstrap_detects_a_real_gap_and_not_a_null_one():
    rng = np.random.default_rng(1)
    b = rng.binomial(1, 0.4, 500).astype(float)
    a = np.maximum(b, rng.binomial(1, 0.3, 500))
    assert paired_bootstrap(a, b, resamples=2000, seed=0).p_value < 0.001
    same = paired_bootstrap(b, b, resamples=500, seed=0)
    assert same.diff == 0 and same.p_value == 1.0


def test_p_values_roughly_uniform_under_the_null():
    rng = np.random.default_rng(2024)
    p_values = []
    for trial in range(200):
        item_difficulty = rng.random(60)
        scores = np.clip(item_difficulty + rng.normal(0, 0.2, (2, 60)), 0, 1)  # F1-like, exchangeable systems
        p_values.append(paired_bootstrap(scores[0], scores[1], resamples=400, seed=trial).p_value)
    p = np.sort(np.asarray(p_values))
    ks = float(np.max(np.abs(np.arange(1, p.size + 1) / p.size - p)))
    assert ks < 0.12  # 5% critical value for n=200 is ~0.096
    assert 0.01 <= float(np.mean(p < 0.05)) <= 0.10
    assert 0.4 <= float(np.mean(p)) <= 0.6


def test_binary_scores_keep_false_positives_at_most_nominal():
    rng = np.random.default_rng(5)
    p_values = []
    for trial in range(200):
        scores = rng.binomial(1, 0.5, (2, 80)).astype(float)
        p_values.append(paired_bootstrap(scores[0], scores[1], resamples=400, seed=trial).p_value)
    assert float(np.mean(np.asarray(p_values) < 0.05)) <= 0.09


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_pearson_r_equals_numpy(seed):
    rng = np.random.default_rng(seed)
    x = rng.normal(size=12)
    y = 0.5 * x + rng.normal(size=12)
    assert pearson_r(x, y) == pytest.approx(np.corrcoef(x, y)[0, 1], abs=1e-12)


def test_pearson_r_undefined_cases():
    assert pearson_r([1, 2], [3, 4]) is None
    assert pearson_r([1, 1, 1], [1, 2, 3]) is None
    with pytest.raises(ValueError):
        pearson_r([1, 2, 3], [1, 2])


def test_holm_known_answer():
    assert holm([0.01, 0.04, 0.03, 0.005]) == pytest.approx([0.03, 0.06, 0.06, 0.02])
    assert holm([0.5, 0.9]) == pytest.approx([1.0, 1.0])
    assert holm([]) == []


def test_bootstrap_mean_ci_and_pairing():
    low, high = bootstrap_mean_ci([0.0, 1.0] * 50, resamples=1000, seed=0)
    assert low < 0.5 < high
    assert pair_items({"a": 1.0, "b": 0.0, "c": 1.0}, {"b": 1.0, "c": 1.0, "d": 0.0}) == ([0.0, 1.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 2.0])

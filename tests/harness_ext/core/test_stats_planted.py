"""Known-answer and planted-effect tests for the statistics the leaderboard uses
(nativeval.harness_ext.core.stats)."""

from __future__ import annotations

from math import comb

import numpy as np
import pytest

from nativeval.harness_ext.core.stats import (
    bootstrap_means,
    cluster_index,
    clustered_se,
    holm,
    kendall_tau,
    mcnemar_exact,
    mean_estimate,
    minimum_detectable_effect,
    naive_se,
    paired_arrays_difference,
    paired_difference,
    pairwise,
    pearson_r,
    sign_flip_exact,
)


def paired_test(a, b, clusters=None, resamples=10_000, seed=0):
    return paired_arrays_difference(
        np.asarray(a, float), np.asarray(b, float), clusters, resamples=resamples, seed=seed
    )


def paired_bootstrap(a, b, resamples=10_000, seed=0):
    """The bootstrap interval and p (no McNemar) of a - b on aligned lists."""
    return paired_arrays_difference(
        np.asarray(a, float), np.asarray(b, float), binary=False, resamples=resamples, seed=seed
    )


# --- McNemar -------------------------------------------------------------------------------------------
def test_mcnemar_p_equals_a_hand_computed_exact_binomial():
    # 2x2 of A and B on 40 items: both right 20, only A right 9, only B right 2, both wrong 9
    a = np.array([1] * 20 + [1] * 9 + [0] * 2 + [0] * 9, dtype=float)
    b = np.array([1] * 20 + [0] * 9 + [1] * 2 + [0] * 9, dtype=float)
    hand = 2 * sum(comb(11, k) for k in range(0, 3)) / 2**11  # two-sided: P(X <= 2) doubled, X ~ Bin(11, 1/2)
    assert hand == pytest.approx(0.06543, abs=1e-5)
    assert float(mcnemar_exact(9, 2)) == pytest.approx(hand, rel=1e-12)
    result = paired_test(a, b, resamples=500)
    assert result.method == "McNemar exact" and result.p_value == pytest.approx(hand, rel=1e-12)
    assert result.value == pytest.approx(7 / 40)


def test_mcnemar_edge_cases():
    assert float(mcnemar_exact(0, 0)) == 1.0
    assert float(mcnemar_exact(5, 5)) == 1.0
    assert float(mcnemar_exact(10, 0)) == pytest.approx(2 / 2**10)


def test_pairwise_uses_mcnemar_for_unclustered_binary_and_matches_the_two_model_test():
    rng = np.random.default_rng(3)
    values = rng.binomial(1, [[0.8], [0.5], [0.45]], size=(3, 300)).astype(float)
    mask = np.ones_like(values, dtype=bool)
    index = cluster_index(None, 300)
    boot = bootstrap_means(values, mask, index, 2000, seed=1)
    result = pairwise(values, mask, index, boot)
    assert result.pairs == [(0, 1), (0, 2), (1, 2)]
    for (i, j), estimate in zip(result.pairs, result.estimates, strict=True):
        alone = paired_test(values[i], values[j], resamples=2000, seed=1)
        assert estimate.method == "McNemar exact"
        assert estimate.p_value == pytest.approx(alone.p_value, rel=1e-12)
        assert estimate.value == pytest.approx(alone.value)
    assert result.estimates[0].p_value < 1e-6  # planted: 0.8 vs 0.5
    assert result.estimates[2].p_value > 0.01 or abs(result.estimates[2].value) < 0.1


# --- clustered uncertainty ------------------------------------------------------------------------------
def passages(rng, n_passages: int, per_passage: int, correlated: bool) -> tuple[np.ndarray, list[str]]:
    """Binary scores of questions in passages: correlated ones share their passage's difficulty."""
    if correlated:
        difficulty = np.repeat(rng.random(n_passages), per_passage)
        scores = (rng.random(n_passages * per_passage) < difficulty).astype(float)
    else:
        scores = rng.binomial(1, 0.5, n_passages * per_passage).astype(float)
    return scores, [f"p{i // per_passage}" for i in range(n_passages * per_passage)]


def test_cluster_bootstrap_is_wider_than_naive_when_answers_are_correlated_within_passages():
    rng = np.random.default_rng(0)
    ratios = []
    for trial in range(10):
        scores, clusters = passages(rng, 40, 5, correlated=True)
        clustered = mean_estimate(scores, clusters, resamples=2000, seed=trial)
        naive = mean_estimate(scores, None, resamples=2000, seed=trial)
        ratios.append((clustered.ci_high - clustered.ci_low) / (naive.ci_high - naive.ci_low))
        assert clustered.se > clustered.se_naive
    assert min(ratios) > 1.2  # design effect 1 + (m - 1) * ICC with ICC ~ 1/3 and m = 5: ~1.5 in width


def test_cluster_bootstrap_equals_naive_in_expectation_when_answers_are_independent():
    rng = np.random.default_rng(1)
    ratios, se_ratios = [], []
    for trial in range(30):
        scores, clusters = passages(rng, 40, 5, correlated=False)
        clustered = mean_estimate(scores, clusters, resamples=1000, seed=trial)
        naive = mean_estimate(scores, None, resamples=1000, seed=trial)
        ratios.append((clustered.ci_high - clustered.ci_low) / (naive.ci_high - naive.ci_low))
        se_ratios.append(clustered.se / clustered.se_naive)
    assert 0.9 < float(np.mean(ratios)) < 1.1
    assert 0.9 < float(np.mean(se_ratios)) < 1.1


def test_clustered_se_known_answer():
    values = np.array([1.0, 1.0, 0.0, 0.0])
    index = np.array([0, 0, 1, 1])
    # residual sums per cluster: +1, -1; sqrt(k/(k-1) * 2) / n = sqrt(4) / 4
    assert clustered_se(values, index) == pytest.approx(0.5)
    assert naive_se(values) == pytest.approx(np.std(values, ddof=1) / 2)


def test_shared_resamples_pair_models():
    rng = np.random.default_rng(4)
    base = rng.random(200)
    values = np.vstack([base, base + 0.01])  # B is A plus a constant: the paired difference has no spread
    boot = bootstrap_means(values, np.ones_like(values, dtype=bool), cluster_index(None, 200), 500, seed=0)
    assert np.allclose(boot[:, 1] - boot[:, 0], 0.01, atol=1e-5)


# --- paired bootstrap ----------------------------------------------------------------------------------
def test_paired_bootstrap_ci_contains_true_difference():
    rng = np.random.default_rng(7)
    hits = 0
    for trial in range(20):
        n = 400
        b = rng.binomial(1, 0.45, n).astype(float)
        a = np.where(rng.random(n) < 0.15, 1.0, b)  # a = b plus extra successes: true diff 0.15 * 0.55
        result = paired_bootstrap(a, b, resamples=2000, seed=trial)
        assert result.n == n and result.ci_low <= result.value <= result.ci_high
        hits += result.ci_low <= 0.15 * 0.55 <= result.ci_high
    assert hits >= 16  # nominal 95%: 19 of 20 expected


def test_paired_bootstrap_detects_a_real_gap_and_not_a_null_one():
    rng = np.random.default_rng(1)
    b = rng.binomial(1, 0.4, 500).astype(float)
    a = np.maximum(b, rng.binomial(1, 0.3, 500))
    assert paired_bootstrap(a, b, resamples=2000, seed=0).p_value < 0.001
    same = paired_bootstrap(b, b, resamples=500, seed=0)
    assert same.value == 0 and same.p_value == 1.0


def test_p_values_roughly_uniform_under_the_null():
    rng = np.random.default_rng(2024)
    p_values = []
    for trial in range(200):
        item_difficulty = rng.random(60)
        scores = np.clip(item_difficulty + rng.normal(0, 0.2, (2, 60)), 0, 1)  # F1-like, exchangeable systems
        p_values.append(paired_bootstrap(scores[0], scores[1], resamples=400, seed=trial).p_value)
    p = np.sort(np.asarray(p_values))
    ks = float(np.max(np.abs(np.arange(1, p.size + 1) / p.size - p)))
    assert ks < 0.12
    assert 0.01 <= float(np.mean(p < 0.05)) <= 0.10


def test_binary_scores_keep_false_positives_at_most_nominal():
    rng = np.random.default_rng(5)
    p_values = [
        paired_test(*rng.binomial(1, 0.5, (2, 80)).astype(float), resamples=200, seed=t).p_value
        for t in range(200)
    ]
    assert float(np.mean(np.asarray(p_values) < 0.05)) <= 0.07  # exact test: at most nominal


# --- rankings and small helpers ------------------------------------------------------------------------
def test_kendall_tau_known_answers():
    assert kendall_tau([1, 2, 3, 4], [1, 2, 3, 4]) == pytest.approx(1.0)
    assert kendall_tau([1, 2, 3, 4], [4, 3, 2, 1]) == pytest.approx(-1.0)
    # one discordant pair of six: (6 - 2 * 1) / 6
    assert kendall_tau([1, 2, 3, 4], [1, 2, 4, 3]) == pytest.approx(4 / 6)
    # tau-b with a tie in y: concordant 2, discordant 0, pairs untied in x 3, in y 2 -> 2 / sqrt(3 * 2)
    assert kendall_tau([1, 2, 3], [1, 2, 2]) == pytest.approx(2 / np.sqrt(6))
    assert kendall_tau([1], [2]) is None and kendall_tau([1, 1], [1, 2]) is None


def test_minimum_detectable_effect_is_2_8_standard_errors():
    assert minimum_detectable_effect(1.0) == pytest.approx(1.959964 + 0.841621, abs=1e-5)
    assert minimum_detectable_effect(2.0) == pytest.approx(2 * minimum_detectable_effect(1.0))


def test_sign_flip_exact_known_answers():
    assert sign_flip_exact([1.0, 1.0, 1.0]) == pytest.approx(2 / 8)  # all-plus and all-minus are as extreme
    assert sign_flip_exact([1.0, -1.0]) == pytest.approx(1.0)
    assert sign_flip_exact([]) is None


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


def test_mean_interval_and_pairing_by_item_id():
    estimate = mean_estimate([0.0, 1.0] * 50, resamples=1000, seed=0)
    assert estimate.ci_low < 0.5 < estimate.ci_high
    # only the items both were scored on: b (0 vs 1) and c (1 vs 1)
    paired = paired_difference({"a": 1.0, "b": 0.0, "c": 1.0}, {"b": 1.0, "c": 1.0, "d": 0.0}, resamples=100)
    assert paired.n_items == 2 and paired.value == pytest.approx(-0.5)
    with pytest.raises(ValueError):
        paired_bootstrap([1.0], [1.0, 2.0])


def test_a_pair_without_inference_is_never_called_different():
    """One shared cluster gives no p-value; Holm leaves it out of the family (None), never p = 0.0005
    evidence, and the leaderboard calls a pair different only where ``adjusted is not None
    and adjusted < 0.05``."""
    values = np.array([[1.0, 1.0, 0.0], [0.0, 0.0, 1.0]])
    index = np.array([0, 0, 0])
    mask = np.ones_like(values, dtype=bool)
    (estimate,) = pairwise(values, mask, index, bootstrap_means(values, mask, index, 100)).estimates
    assert estimate.p_value is None and estimate.ci is None
    assert holm([estimate.p_value, 0.001]) == [None, 0.001]  # and it is not a test: the family is one

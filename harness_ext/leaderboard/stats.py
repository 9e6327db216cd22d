"""The leaderboard's statistics: the shared core (:mod:`harness_ext.core.stats`) under the names the leaderboard
has always imported. New code imports ``harness_ext.core.stats`` directly."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from harness_ext.core import stats as _core
from harness_ext.core.stats import (  # noqa: F401  (re-exported)
    BOOTSTRAP,
    CHUNK_CELLS,
    CLUSTER_BOOTSTRAP,
    CLUSTER_T,
    CONFIDENCE,
    FEW_CLUSTERS,
    INCONCLUSIVE,
    MCNEMAR,
    NO_DIFFERENCE,
    ONE_CLUSTER,
    SEPARATES,
    T_OVER_CELLS,
    PairwiseResult,
    bootstrap_means,
    bootstrap_p,
    cells_difference,
    cluster_counts,
    cluster_index,
    clustered_se,
    contrast_estimate,
    independent_difference,
    is_binary,
    kendall_tau,
    mcnemar_exact,
    mean_estimate,
    minimum_detectable_effect,
    model_estimates,
    naive_se,
    paired_arrays_difference,
    paired_difference,
    pairwise,
    pearson_r,
    percentile_ci,
    sign_flip_exact,
    t_interval,
    units_needed,
    verdict,
    wilcoxon_signed_rank,
)


class Estimate(_core.Estimate):
    """The core :class:`~harness_ext.core.stats.Estimate` with the leaderboard's older spellings (``n=`` when
    constructing, ``.mean``, ``.empty``) for ``analyses.py`` and ``tests/tasks/test_include_global_mmlu.py``
    until they use ``n_items`` / ``value``; delete then. No behaviour of its own."""

    def __init__(self, value, ci_low=None, ci_high=None, se=None, p_value=None, n_items=0, n_clusters=0,
                 method="", note="", se_naive=None, df=None, *, n=None):
        super().__init__(value, ci_low, ci_high, se, p_value, n_items if n is None else int(n),
                         int(n_clusters or 0), method, note, se_naive, df)

    @classmethod
    def of(cls, estimate: _core.Estimate) -> Estimate:
        return cls(**estimate.to_dict())

    @property
    def mean(self) -> float | None:
        return self.value

    @property
    def empty(self) -> bool:
        return self.n_items == 0


def paired_bootstrap(a: Sequence[float], b: Sequence[float], resamples: int = 10_000,
                     confidence: float = CONFIDENCE, seed: int = 0,
                     clusters: Sequence[str] | None = None) -> _core.Estimate:
    """Mean of a - b over the same items (aligned lists): :func:`paired_arrays_difference` without McNemar."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("paired_bootstrap needs two equally long, non-empty score lists")
    return paired_arrays_difference(x, y, clusters, binary=False, resamples=resamples, seed=seed,
                                    confidence=confidence)


def paired_test(a: Sequence[float], b: Sequence[float], clusters: Sequence[str] | None = None,
                resamples: int = 10_000, seed: int = 0, confidence: float = CONFIDENCE) -> _core.Estimate:
    """a - b on the same items (aligned lists): :func:`paired_arrays_difference` (McNemar p for unclustered
    binary scores)."""
    x, y = np.asarray(a, dtype=float), np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("paired_test needs two equally long, non-empty score lists")
    return paired_arrays_difference(x, y, clusters, resamples=resamples, seed=seed, confidence=confidence)


def bootstrap_mean_ci(values: Sequence[float], resamples: int = 10_000, confidence: float = CONFIDENCE,
                      seed: int = 0, clusters: Sequence[str] | None = None) -> tuple[float | None, float | None]:
    estimate = mean_estimate(values, clusters, resamples=resamples, seed=seed, confidence=confidence)
    return estimate.ci_low, estimate.ci_high


def pair_items(a: dict[str, float], b: dict[str, float]) -> tuple[list[float], list[float]]:
    """Scores of the items both systems were scored on, in the same order."""
    common = sorted(set(a) & set(b))
    return [a[k] for k in common], [b[k] for k in common]


def holm(p_values: Sequence[float | None]) -> list[float]:
    """:func:`harness_ext.core.stats.holm` for callers that compare every adjusted p with alpha
    (``analyses.py`` today): a pair without inference (None: one cluster) is adjusted to 1.0, "not
    distinguished". New code uses the core's, which keeps None."""
    return [1.0 if p is None else p for p in _core.holm(p_values)]

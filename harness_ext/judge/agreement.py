"""Statistics for judge diagnostics: bootstrap confidence intervals by resampling weights, quadratic-weighted
Cohen's kappa, Krippendorff's alpha (interval), Spearman's rho and weighted correlations.

Every statistic here is written in terms of weighted sums, so one ``(resamples, n)`` matrix of bootstrap
counts turns each of them into a few matrix products instead of a Python loop over resamples:
the point estimate is the same formula with all weights 1.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import rankdata

CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A point estimate with a percentile bootstrap interval; ``n`` is the number of units it rests on."""

    value: float | None
    low: float | None
    high: float | None
    n: int

    def excludes(self, reference: float) -> bool:
        """True when the whole interval lies on one side of ``reference``."""
        if self.low is None or self.high is None:
            return False
        return self.low > reference or self.high < reference

    def above(self, reference: float) -> bool:
        return self.low is not None and self.low > reference


def _finite(value: float) -> float | None:
    return float(value) if np.isfinite(value) else None


def estimate(point: float, replicates: np.ndarray, n: int, confidence: float = CONFIDENCE) -> Estimate:
    """``point`` with the percentile interval of the finite bootstrap ``replicates``."""
    finite = replicates[np.isfinite(replicates)]
    if not np.isfinite(point) or finite.size < 2:
        return Estimate(_finite(point), None, None, n)
    tail = (1 - confidence) / 2 * 100
    low, high = np.percentile(finite, [tail, 100 - tail])
    return Estimate(float(point), float(low), float(high), n)


def bootstrap_counts(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(resamples, n)`` float counts: how often each unit is drawn in each resample (rows sum to ``n``)."""
    if n == 0 or resamples == 0:
        return np.zeros((resamples, n))
    draws = rng.integers(0, n, size=(resamples, n)) + (np.arange(resamples) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n).astype(np.float64)


def with_full_sample(counts: np.ndarray) -> np.ndarray:
    """The resampling weights with an all-ones row 0 on top: row 0 gives the point estimate."""
    return np.vstack([np.ones((1, counts.shape[1])), counts])


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


# --- agreement ----------------------------------------------------------------------------------------
def quadratic_kappa(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Quadratic-weighted Cohen's kappa of two raters' scores ``x``, ``y`` under each row of ``weights``.

    With weights (i - j)^2 the chance disagreement of independent marginals is Var x + Var y + (mean x - mean y)^2,
    so kappa = 1 - mean((x - y)^2) / that; the usual (i - j)^2 / (k - 1)^2 scaling cancels.
    """
    w = np.atleast_2d(weights)
    total = w.sum(axis=1)
    sums = w @ np.column_stack([x, y, x * x, y * y, (x - y) ** 2])
    mx, my, mxx, myy, observed = (_divide(sums[:, k], total) for k in range(5))
    expected = (mxx - mx**2) + (myy - my**2) + (mx - my) ** 2
    return 1 - _divide(observed, expected)


def krippendorff_alpha_interval(weights: np.ndarray, ratings: np.ndarray) -> np.ndarray:
    """Krippendorff's alpha (interval metric) of ``ratings`` (raters x units, NaN = not rated), per weight row.

    Units rated fewer than twice are not pairable and drop out. With m values in a unit, the sum of squared
    differences over its ordered value pairs is 2 (m * sum v^2 - (sum v)^2), which makes alpha a ratio of
    weighted unit sums.
    """
    rated = np.isfinite(ratings)
    m = rated.sum(axis=0).astype(np.float64)
    values = np.where(rated, ratings, 0.0)
    s1, s2 = values.sum(axis=0), (values**2).sum(axis=0)
    pairable = m >= 2
    within = np.where(pairable, 2 * (m * s2 - s1**2) / np.where(pairable, m - 1, 1), 0.0)
    w = np.atleast_2d(weights) * pairable
    sums = w @ np.column_stack([m, s1, s2, within])
    n, t1, t2, w_sum = sums.T
    observed = _divide(w_sum, n)
    expected = _divide(2 * (n * t2 - t1**2), n * (n - 1))
    return 1 - _divide(observed, expected)


def exact_and_within_one(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Shares of items where two raters agree exactly, and within one point (after rounding repeat means)."""
    w = np.atleast_2d(weights)
    gap = np.abs(np.round(x) - np.round(y))
    total = w.sum(axis=1)
    hits = w @ np.column_stack([gap == 0, gap <= 1]).astype(np.float64)
    return _divide(hits[:, 0], total), _divide(hits[:, 1], total)


# --- correlation -------------------------------------------------------------------------------------
def weighted_pearson(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r of ``x`` and ``y`` under each row of ``weights`` (NaN when either is constant)."""
    w = np.atleast_2d(weights)
    total = w.sum(axis=1)
    sums = w @ np.column_stack([x, y, x * x, y * y, x * y])
    mx, my, mxx, myy, mxy = (_divide(sums[:, k], total) for k in range(5))
    var_x, var_y = mxx - mx**2, myy - my**2
    with np.errstate(invalid="ignore"):
        return _divide(mxy - mx * my, np.sqrt(np.clip(var_x, 0, None) * np.clip(var_y, 0, None)))


def spearman_weighted(weights: np.ndarray, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho as Pearson's r of the full sample's mid-ranks, under each weight row.

    Ranks are taken once: the bootstrap resamples (rank, rank) pairs, which for hundreds of items is the
    Spearman bootstrap without re-ranking every resample.
    """
    return weighted_pearson(weights, rankdata(x), rankdata(y))


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho between matching rows of ``a`` and ``b`` (resamples x systems); NaN-free columns only."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    keep = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    if keep.sum() < 3:
        return np.full(a.shape[0], np.nan)
    ra, rb = rankdata(a[:, keep], axis=1), rankdata(b[:, keep], axis=1)
    ra -= ra.mean(axis=1, keepdims=True)
    rb -= rb.mean(axis=1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (ra * rb).sum(axis=1) / np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1))


def weighted_mean(weights: np.ndarray, values: np.ndarray) -> np.ndarray:
    w = np.atleast_2d(weights)
    return _divide(w @ values, w.sum(axis=1))


def group_means(weights: np.ndarray, values: np.ndarray, groups: np.ndarray, n_groups: int) -> np.ndarray:
    """``(rows of weights, n_groups)`` weighted means of ``values`` within each group code."""
    onehot = np.zeros((values.size, n_groups))
    onehot[np.arange(values.size), groups] = 1.0
    w = np.atleast_2d(weights)
    return _divide(w @ (onehot * values[:, None]), w @ onehot)

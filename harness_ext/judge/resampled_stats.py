"""Statistics for judge diagnostics: bootstrap confidence intervals by resampling weights, quadratic-weighted
Cohen's kappa, Krippendorff's alpha (interval), Spearman's rho and weighted means.

Every statistic here is a function of weighted sums of per-unit columns. The core's
:class:`~nativeval.harness_ext.core.stats.Resampler` holds one matrix of bootstrap counts over clusters (row 0
all ones: the point estimate) and turns "sum this column" into one small matrix product for all resamples at
once. No Python loop over resamples; results are the core's
:class:`~nativeval.harness_ext.core.stats.Estimate`.
"""

from __future__ import annotations

import numpy as np
from scipy.stats import rankdata

from nativeval.harness_ext.core.stats import Resampler


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _mask(r: Resampler, mask: np.ndarray | None) -> np.ndarray:
    return np.ones(r.n) if mask is None else np.asarray(mask, dtype=np.float64)


# --- agreement ----------------------------------------------------------------------------------------
def quadratic_kappa(r: Resampler, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Quadratic-weighted Cohen's kappa of two raters' scores ``x``, ``y`` (units where ``mask``), per row.

    With weights (i - j)^2 the chance disagreement of independent marginals is
    Var x + Var y + (mean x - mean y)^2, so kappa = 1 - mean((x - y)^2) / that; the usual
    (i - j)^2 / (k - 1)^2 scaling cancels.
    """
    m = _mask(r, mask)
    x, y = np.where(m > 0, x, 0.0), np.where(m > 0, y, 0.0)
    sums = r.sums(m, x, y, x * x, y * y, (x - y) ** 2)
    total = sums[:, 0]
    mx, my, mxx, myy, observed = (_divide(sums[:, k], total) for k in range(1, 6))
    expected = (mxx - mx**2) + (myy - my**2) + (mx - my) ** 2
    return 1 - _divide(observed, expected)


def exact_and_within_one(
    r: Resampler, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Shares of units where two raters agree exactly, and within one point (repeat means rounded first)."""
    m = _mask(r, mask)
    gap = np.abs(np.round(np.where(m > 0, x, 0.0)) - np.round(np.where(m > 0, y, 0.0)))
    sums = r.sums(m, m * (gap == 0), m * (gap <= 1))
    return _divide(sums[:, 1], sums[:, 0]), _divide(sums[:, 2], sums[:, 0])


def krippendorff_alpha_interval(r: Resampler, ratings: np.ndarray) -> np.ndarray:
    """Krippendorff's alpha (interval metric) of ``ratings`` (raters x units, NaN = not rated), per row.

    Units rated fewer than twice are not pairable and drop out. With m values in a unit, the sum of squared
    differences over its ordered value pairs is 2 (m * sum v^2 - (sum v)^2), which makes alpha a ratio of
    weighted unit sums.
    """
    rated = np.isfinite(ratings)
    m = rated.sum(axis=0).astype(np.float64)
    values = np.where(rated, ratings, 0.0)
    s1, s2 = values.sum(axis=0), (values**2).sum(axis=0)
    pairable = (m >= 2).astype(np.float64)
    within = np.where(pairable > 0, 2 * (m * s2 - s1**2) / np.where(pairable > 0, m - 1, 1), 0.0)
    n, t1, t2, w_sum = r.sums(pairable * m, pairable * s1, pairable * s2, within).T
    observed = _divide(w_sum, n)
    expected = _divide(2 * (n * t2 - t1**2), n * (n - 1))
    return 1 - _divide(observed, expected)


# --- correlation and means ---------------------------------------------------------------------------
def weighted_pearson(r: Resampler, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Pearson's r of ``x`` and ``y`` per row (NaN when either is constant)."""
    sums = r.sums(np.ones(r.n), x, y, x * x, y * y, x * y)
    total = sums[:, 0]
    mx, my, mxx, myy, mxy = (_divide(sums[:, k], total) for k in range(1, 6))
    var_x, var_y = np.clip(mxx - mx**2, 0, None), np.clip(myy - my**2, 0, None)
    return _divide(mxy - mx * my, np.sqrt(var_x * var_y))


def spearman(r: Resampler, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    """Spearman's rho as Pearson's r of the full sample's mid-ranks, per row.

    Ranks are taken once: the bootstrap resamples (rank, rank) pairs, which for hundreds of items is the
    Spearman bootstrap without re-ranking every resample.
    """
    return weighted_pearson(r, rankdata(x), rankdata(y))


def centred_ranks(a: np.ndarray) -> np.ndarray:
    """Mid-ranks within each row, minus the row's mean rank (the half of a row-wise Spearman that can be
    reused)."""
    ranks = rankdata(np.atleast_2d(a), axis=1)
    return ranks - ranks.mean(axis=1, keepdims=True)


def pearson_of_centred(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    return _divide((ra * rb).sum(axis=1), np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1)))


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho between matching rows of ``a`` and ``b`` (resamples x systems); NaN-free columns
    only."""
    a, b = np.atleast_2d(a), np.atleast_2d(b)
    keep = np.isfinite(a).all(axis=0) & np.isfinite(b).all(axis=0)
    if keep.sum() < 3:
        return np.full(a.shape[0], np.nan)
    return pearson_of_centred(centred_ranks(a[:, keep]), centred_ranks(b[:, keep]))


def weighted_mean(r: Resampler, values: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    m = _mask(r, mask)
    sums = r.sums(m, m * np.where(m > 0, values, 0.0))
    return _divide(sums[:, 1], sums[:, 0])


def group_sums(r: Resampler, groups: np.ndarray, n_groups: int, *values: np.ndarray) -> list[np.ndarray]:
    """Per value column, ``(rows, n_groups)`` weighted sums within each group code (first: the counts)."""
    onehot = np.zeros((r.n, n_groups))
    onehot[np.arange(r.n), groups] = 1.0
    sums = r.sums(onehot, *[onehot * v[:, None] for v in values])
    return [sums[:, k * n_groups : (k + 1) * n_groups] for k in range(1 + len(values))]


def group_means(
    r: Resampler, values: np.ndarray, groups: np.ndarray, n_groups: int, mask: np.ndarray | None = None
) -> np.ndarray:
    """``(rows, n_groups)`` weighted means of ``values`` within each group code (units where ``mask``)."""
    m = _mask(r, mask)
    onehot = np.zeros((r.n, n_groups))
    onehot[np.arange(r.n), groups] = m
    sums = r.sums(onehot, onehot * np.where(m > 0, values, 0.0)[:, None])
    return _divide(sums[:, n_groups:], sums[:, :n_groups])

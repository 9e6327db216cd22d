"""Statistics for judge diagnostics: bootstrap confidence intervals by resampling weights, quadratic-weighted
Cohen's kappa, Krippendorff's alpha (interval), Spearman's rho and weighted means.

Every statistic here is a function of weighted sums of per-unit columns. A :class:`Resampler` holds one
matrix of bootstrap counts over clusters (row 0 all ones: the point estimate) and turns "sum this column"
into one small matrix product for all resamples at once: columns are first summed within clusters, so the
cost of a resample does not grow with the number of answers in a cluster. No Python loop over resamples.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix
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


def estimates(points: np.ndarray, replicates: np.ndarray, n: int, confidence: float = CONFIDENCE) -> list[Estimate]:
    """:func:`estimate` for many statistics at once: ``points`` (k,), ``replicates`` (resamples, k)."""
    if replicates.shape[0] < 2 or not np.isfinite(replicates).all():
        return [estimate(points[k], replicates[:, k], n, confidence) for k in range(points.size)]
    tail = (1 - confidence) / 2 * 100
    lows, highs = np.percentile(replicates, [tail, 100 - tail], axis=0)
    return [Estimate(float(p), float(lo), float(hi), n) if np.isfinite(p) else Estimate(None, None, None, n)
            for p, lo, hi in zip(points, lows, highs, strict=True)]


def bootstrap_counts(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(resamples, n)`` float counts: how often each unit is drawn in each resample (rows sum to ``n``)."""
    if n == 0 or resamples == 0:
        return np.zeros((resamples, n))
    draws = rng.integers(0, n, size=(resamples, n)) + (np.arange(resamples) * n)[:, None]
    return np.bincount(draws.ravel(), minlength=resamples * n).reshape(resamples, n).astype(np.float64)


def with_full_sample(counts: np.ndarray) -> np.ndarray:
    """The resampling weights with an all-ones row 0 on top: row 0 gives the point estimate."""
    return np.vstack([np.ones((1, counts.shape[1])), counts])


class Resampler:
    """Weighted sums of per-unit columns: row 0 over the full sample, then one row per bootstrap resample.

    ``weights`` is (1 + resamples, clusters); ``cluster`` gives each unit's cluster. Units of one cluster
    (the answers of all models to one question) are drawn together.
    """

    def __init__(self, weights: np.ndarray, cluster: np.ndarray):
        self.weights = np.atleast_2d(weights)
        self.cluster = np.asarray(cluster, dtype=np.int64)
        n_clusters = self.weights.shape[1]
        self._by_cluster = csr_matrix((np.ones(self.cluster.size), (self.cluster, np.arange(self.cluster.size))),
                                      shape=(n_clusters, self.cluster.size))

    @classmethod
    def bootstrap(cls, cluster: np.ndarray, n_clusters: int, resamples: int, rng: np.random.Generator) -> Resampler:
        return cls(with_full_sample(bootstrap_counts(n_clusters, resamples, rng)), cluster)

    @classmethod
    def units(cls, n: int, resamples: int, rng: np.random.Generator) -> Resampler:
        """Every unit its own cluster."""
        return cls.bootstrap(np.arange(n), n, resamples, rng)

    def restrict(self, index: np.ndarray) -> Resampler:
        """The same resamples over a subset of the units (``index`` into them)."""
        return Resampler(self.weights, self.cluster[index])

    @property
    def n(self) -> int:
        return int(self.cluster.size)

    def sums(self, *columns: np.ndarray) -> np.ndarray:
        """``(1 + resamples, len(columns))``: each column's weighted sum under every row of weights."""
        if self.n == 0:  # nothing to sum (a subset with no unit, e.g. no answer whose language is known)
            return np.zeros((self.weights.shape[0], len(columns)))
        matrix = np.column_stack([np.asarray(c, dtype=np.float64).reshape(self.n, -1) for c in columns])
        return self.weights @ (self._by_cluster @ matrix)


def _divide(num: np.ndarray, den: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(den > 0, num / np.where(den > 0, den, 1.0), np.nan)


def _mask(r: Resampler, mask: np.ndarray | None) -> np.ndarray:
    return np.ones(r.n) if mask is None else np.asarray(mask, dtype=np.float64)


# --- agreement ----------------------------------------------------------------------------------------
def quadratic_kappa(r: Resampler, x: np.ndarray, y: np.ndarray, mask: np.ndarray | None = None) -> np.ndarray:
    """Quadratic-weighted Cohen's kappa of two raters' scores ``x``, ``y`` (units where ``mask``), per row.

    With weights (i - j)^2 the chance disagreement of independent marginals is Var x + Var y + (mean x - mean y)^2,
    so kappa = 1 - mean((x - y)^2) / that; the usual (i - j)^2 / (k - 1)^2 scaling cancels.
    """
    m = _mask(r, mask)
    x, y = np.where(m > 0, x, 0.0), np.where(m > 0, y, 0.0)
    sums = r.sums(m, x, y, x * x, y * y, (x - y) ** 2)
    total = sums[:, 0]
    mx, my, mxx, myy, observed = (_divide(sums[:, k], total) for k in range(1, 6))
    expected = (mxx - mx**2) + (myy - my**2) + (mx - my) ** 2
    return 1 - _divide(observed, expected)


def exact_and_within_one(r: Resampler, x: np.ndarray, y: np.ndarray,
                         mask: np.ndarray | None = None) -> tuple[np.ndarray, np.ndarray]:
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
    """Mid-ranks within each row, minus the row's mean rank (the half of a row-wise Spearman that can be reused)."""
    ranks = rankdata(np.atleast_2d(a), axis=1)
    return ranks - ranks.mean(axis=1, keepdims=True)


def pearson_of_centred(ra: np.ndarray, rb: np.ndarray) -> np.ndarray:
    return _divide((ra * rb).sum(axis=1), np.sqrt((ra**2).sum(axis=1) * (rb**2).sum(axis=1)))


def spearman_rows(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Spearman's rho between matching rows of ``a`` and ``b`` (resamples x systems); NaN-free columns only."""
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
    return [sums[:, k * n_groups:(k + 1) * n_groups] for k in range(1 + len(values))]


def group_means(r: Resampler, values: np.ndarray, groups: np.ndarray, n_groups: int,
                mask: np.ndarray | None = None) -> np.ndarray:
    """``(rows, n_groups)`` weighted means of ``values`` within each group code (units where ``mask``)."""
    m = _mask(r, mask)
    onehot = np.zeros((r.n, n_groups))
    onehot[np.arange(r.n), groups] = m
    sums = r.sums(onehot, onehot * np.where(m > 0, values, 0.0)[:, None])
    return _divide(sums[:, n_groups:], sums[:, :n_groups])

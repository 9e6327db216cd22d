"""The leaderboard's statistics: one result type, small functions, resamples shared across models and pairs.

* Bootstrap: a resample draws clusters (the catalogue's ``cluster_unit``: XQuAD/TyDi passage, MMLU-style
  subject; each item its own cluster otherwise) with replacement; item weights = their cluster's count.
  One weight matrix per test set serves every model on it, so pairwise differences are paired for free
  (Miller 2024, "Adding Error Bars to Evals", arXiv 2411.00640: cluster on the unit that was sampled).
* Pairwise tests: exact McNemar (two-sided binomial on the discordant pairs) for binary per-item scores with
  no clustering; otherwise the paired (cluster) bootstrap, p = share of centred resampled differences at
  least as extreme as the observed one. Holm within a test set.
* Standard errors: naive (sd / sqrt n) and cluster-robust (sqrt(sum_c (sum_i in c (x_i - mean))^2) / n).
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np
from scipy.stats import binom, norm

CONFIDENCE = 0.95
CHUNK_CELLS = 20_000_000  # resamples x items per weight block: bounds memory (~80 MB of float32)


@dataclass(frozen=True)
class Estimate:
    """A number with its uncertainty: the one result type of this module."""

    value: float
    ci_low: float | None = None
    ci_high: float | None = None
    p_value: float | None = None
    se: float | None = None  # clustered where clusters exist
    se_naive: float | None = None
    n: int | None = None
    n_clusters: int | None = None
    method: str = ""

    @property
    def ci(self) -> tuple[float, float] | None:
        return None if self.ci_low is None or self.ci_high is None else (self.ci_low, self.ci_high)

    def to_dict(self) -> dict:
        return asdict(self)


# --- resampling ------------------------------------------------------------------------------------------
def cluster_index(clusters: Sequence[str] | None, n: int) -> np.ndarray:
    """Integer cluster id per item (every item its own cluster when ``clusters`` is None)."""
    if clusters is None:
        return np.arange(n)
    _, index = np.unique(np.asarray(clusters, dtype=object).astype(str), return_inverse=True)
    return index.astype(np.int64)


def cluster_counts(n_clusters: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """How often each cluster is drawn in each of ``draws`` resamples of ``n_clusters`` clusters."""
    picks = rng.integers(0, n_clusters, size=(draws, n_clusters), dtype=np.int32)
    picks += (np.arange(draws, dtype=np.int32) * n_clusters)[:, None]
    return np.bincount(picks.ravel(), minlength=draws * n_clusters).reshape(draws, n_clusters)


def bootstrap_means(values: np.ndarray, mask: np.ndarray, clusters: np.ndarray, resamples: int,
                    seed: int = 0) -> np.ndarray:
    """Resampled means, shape (resamples, models), of ``values`` (models x items; ``mask`` marks scored items).

    Every model shares the same cluster draws, so column differences are paired bootstrap differences.
    Work is per cluster: a resample's mean is (counts @ cluster sums) / (counts @ cluster sizes)."""
    n_clusters = int(clusters.max()) + 1 if clusters.size else 0
    onehot = np.zeros((clusters.size, n_clusters), dtype=np.float64)
    onehot[np.arange(clusters.size), clusters] = 1.0
    sums = (np.where(mask, values, 0.0) @ onehot).T.astype(np.float32)  # clusters x models
    sizes = (mask.astype(np.float64) @ onehot).T.astype(np.float32)
    rng = np.random.default_rng(seed)
    out = np.empty((resamples, values.shape[0]))
    step = max(1, CHUNK_CELLS // max(1, n_clusters))
    for start in range(0, resamples, step):
        stop = min(resamples, start + step)
        counts = cluster_counts(n_clusters, stop - start, rng).astype(np.float32)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:stop] = (counts @ sums) / (counts @ sizes)
    return out


def percentile_ci(samples: np.ndarray, confidence: float = CONFIDENCE,
                  axis: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along ``axis`` (NaN resamples, e.g. one without a model's items, ignored)."""
    alpha = (1 - confidence) / 2
    quantile = np.quantile if np.isfinite(samples).all() else np.nanquantile
    low, high = quantile(samples, [alpha, 1 - alpha], axis=axis)
    return low, high


def bootstrap_p(samples: np.ndarray, observed: np.ndarray, axis: int = 0) -> np.ndarray:
    """Two-sided p of ``observed`` against zero: share of centred resamples at least as far out (+1 smoothing)."""
    observed = np.expand_dims(observed, axis)
    centred = np.abs(samples - observed)
    extreme = (centred >= np.abs(observed) - 1e-6).sum(axis=axis)
    valid = np.isfinite(samples).sum(axis=axis)
    return np.minimum(1.0, (extreme + 1) / (valid + 1))


# --- standard errors -------------------------------------------------------------------------------------
def naive_se(values: np.ndarray) -> float | None:
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else None


def clustered_se(values: np.ndarray, clusters: np.ndarray) -> float | None:
    """Cluster-robust standard error of the mean (equals ~naive when every item is its own cluster)."""
    n = values.size
    k = int(clusters.max()) + 1 if n else 0
    if n < 2 or k < 2:
        return None
    residual_sums = np.bincount(clusters, weights=values - values.mean(), minlength=k)
    return float(math.sqrt(k / (k - 1) * float((residual_sums**2).sum())) / n)


def mean_estimate(values: Sequence[float], clusters: Sequence[str] | None = None, resamples: int = 10_000,
                  seed: int = 0, confidence: float = CONFIDENCE) -> Estimate:
    """The mean of per-item scores with its (cluster) bootstrap CI and both standard errors."""
    x = np.asarray(values, dtype=float)
    if x.size == 0:
        raise ValueError("no values")
    index = cluster_index(clusters, x.size)
    boot = bootstrap_means(x[None, :], np.ones((1, x.size), bool), index, resamples, seed)[:, 0]
    low, high = percentile_ci(boot, confidence)
    k = int(index.max()) + 1
    return Estimate(float(x.mean()), float(low), float(high), se=clustered_se(x, index) if clusters else
                    naive_se(x), se_naive=naive_se(x), n=int(x.size), n_clusters=k,
                    method="cluster bootstrap" if clusters is not None else "bootstrap")


def bootstrap_mean_ci(values: Sequence[float], resamples: int = 10_000, confidence: float = CONFIDENCE,
                      seed: int = 0, clusters: Sequence[str] | None = None) -> tuple[float, float]:
    estimate = mean_estimate(values, clusters, resamples, seed, confidence)
    return estimate.ci_low, estimate.ci_high  # type: ignore[return-value]


# --- paired tests ----------------------------------------------------------------------------------------
def mcnemar_exact(b: np.ndarray | int, c: np.ndarray | int) -> np.ndarray:
    """Exact two-sided McNemar p-value from the discordant counts (b: only A right, c: only B right)."""
    b = np.asarray(b)
    c = np.asarray(c)
    n = b + c
    p = 2.0 * binom.cdf(np.minimum(b, c), n, 0.5)
    return np.where(n == 0, 1.0, np.minimum(1.0, p))


def is_binary(values: np.ndarray, mask: np.ndarray) -> bool:
    scored = values[mask]
    if scored.size == 0:
        return False
    top = scored.max()
    return bool(top > 0 and np.all((scored == 0) | (scored == top)))


@dataclass(frozen=True)
class PairwiseResult:
    """Every pair (i < j) of models on one test set: differences (row i minus row j) as Estimates."""

    pairs: list[tuple[int, int]]
    estimates: list[Estimate]


def pairwise(values: np.ndarray, mask: np.ndarray, clusters: np.ndarray, boot: np.ndarray,
             confidence: float = CONFIDENCE) -> PairwiseResult:
    """All pairwise comparisons on the items both models were scored on, from shared resampled means."""
    m = values.shape[0]
    if m < 2:
        return PairwiseResult([], [])
    i_idx, j_idx = np.triu_indices(m, k=1)
    both = mask[i_idx] & mask[j_idx]  # pairs x items
    n_common = both.sum(axis=1)
    diffs = np.where(both, values[i_idx] - values[j_idx], 0.0)
    observed = diffs.sum(axis=1) / np.maximum(n_common, 1)
    spread = np.maximum(n_common - 1, 1)
    sd = np.sqrt(np.maximum(((diffs - observed[:, None]) ** 2 * both).sum(axis=1) / spread, 0.0))
    se_naive = np.where(n_common > 1, sd / np.sqrt(np.maximum(n_common, 1)), np.nan)
    n_clusters = int(clusters.max()) + 1
    onehot = np.zeros((clusters.size, n_clusters), dtype=np.float32)
    onehot[np.arange(clusters.size), clusters] = 1.0
    pair_clusters = ((both.astype(np.float32) @ onehot) > 0).sum(axis=1)
    by_model = boot.T.astype(np.float32)  # models x resamples, contiguous: row gathers are cheap
    boot_diff = by_model[i_idx] - by_model[j_idx]  # pairs x resamples
    low, high = percentile_ci(boot_diff, confidence, axis=1)
    se_boot = boot_diff.std(axis=1, ddof=1)
    clustered = n_clusters < clusters.size
    binary = is_binary(values, mask) and not clustered
    if binary:
        top = values[mask].max()
        wins = (both & (values[i_idx] == top) & (values[j_idx] != top)).sum(axis=1)
        losses = (both & (values[j_idx] == top) & (values[i_idx] != top)).sum(axis=1)
        p_values = mcnemar_exact(wins, losses)
        method = "exact McNemar"
    else:
        p_values = bootstrap_p(boot_diff, observed.astype(np.float32), axis=1)
        method = "paired cluster bootstrap" if clustered else "paired bootstrap"
    estimates = [Estimate(float(observed[k]), float(low[k]), float(high[k]), float(p_values[k]),
                          se=float(se_boot[k]), se_naive=None if np.isnan(se_naive[k]) else float(se_naive[k]),
                          n=int(n_common[k]), n_clusters=int(pair_clusters[k]), method=method)
                 for k in range(len(i_idx))]
    return PairwiseResult(list(zip(i_idx.tolist(), j_idx.tolist(), strict=True)), estimates)


def paired_bootstrap(a: Sequence[float], b: Sequence[float], resamples: int = 10_000,
                     confidence: float = CONFIDENCE, seed: int = 0,
                     clusters: Sequence[str] | None = None) -> Estimate:
    """Mean of a - b over the same items with its (cluster) bootstrap CI and two-sided bootstrap p-value."""
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("paired_bootstrap needs two equally long, non-empty score lists")
    values = np.vstack([x, y])
    mask = np.ones_like(values, dtype=bool)
    index = cluster_index(clusters, x.size)
    boot = bootstrap_means(values, mask, index, resamples, seed)
    diff = boot[:, 0] - boot[:, 1]
    observed = float((x - y).mean())
    low, high = percentile_ci(diff, confidence)
    p = float(bootstrap_p(diff[:, None], np.array([observed]))[0])
    return Estimate(observed, float(low), float(high), p, se=float(diff.std(ddof=1)), se_naive=naive_se(x - y),
                    n=int(x.size), n_clusters=int(index.max()) + 1,
                    method="paired cluster bootstrap" if clusters is not None else "paired bootstrap")


def pair_items(a: dict[str, float], b: dict[str, float]) -> tuple[list[float], list[float]]:
    """Scores of the items both systems were scored on, in the same order."""
    common = sorted(set(a) & set(b))
    return [a[k] for k in common], [b[k] for k in common]


def holm(p_values: Sequence[float]) -> list[float]:
    """Holm–Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order."""
    m = len(p_values)
    order = sorted(range(m), key=lambda i: p_values[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))
        adjusted[i] = running
    return adjusted


# --- rankings and effects ---------------------------------------------------------------------------------
def kendall_tau(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Kendall's tau-b between two score lists of the same models (None with fewer than 2 or no variation)."""
    a = np.asarray(x, dtype=float)
    b = np.asarray(y, dtype=float)
    if a.size != b.size:
        raise ValueError("x and y differ in length")
    if a.size < 2:
        return None
    i, j = np.triu_indices(a.size, k=1)
    sa = np.sign(a[i] - a[j])
    sb = np.sign(b[i] - b[j])
    denominator = math.sqrt(float(np.count_nonzero(sa)) * float(np.count_nonzero(sb)))
    return None if denominator == 0 else float((sa * sb).sum() / denominator)


def minimum_detectable_effect(se_difference: float, alpha: float = 0.05, power: float = 0.8) -> float:
    """The smallest true difference a two-sided test at ``alpha`` finds with probability ``power``."""
    return float((norm.ppf(1 - alpha / 2) + norm.ppf(power)) * se_difference)


def sign_flip_exact(values: Sequence[float]) -> float | None:
    """Exact two-sided sign-flip p-value that the mean of ``values`` is 0 (units exchangeable; up to 16)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0 or x.size > 16:
        return None
    signs = (((np.arange(2**x.size)[:, None] >> np.arange(x.size)) & 1) * 2 - 1).astype(float)
    null = np.abs(signs @ x) / x.size
    return float(np.mean(null >= abs(x.mean()) - 1e-12))


def t_interval(values: Sequence[float], confidence: float = CONFIDENCE) -> tuple[float, float] | None:
    from scipy.stats import t

    x = np.asarray(values, dtype=float)
    if x.size < 2:
        return None
    half = float(t.ppf(1 - (1 - confidence) / 2, x.size - 1) * x.std(ddof=1) / math.sqrt(x.size))
    return float(x.mean()) - half, float(x.mean()) + half


def pearson_r(x: Sequence[float], y: Sequence[float]) -> float | None:
    """Pearson correlation; None with fewer than 3 points or a constant series."""
    xs = np.asarray(x, dtype=float)
    ys = np.asarray(y, dtype=float)
    if xs.size != ys.size:
        raise ValueError("x and y differ in length")
    if xs.size < 3:
        return None
    dx = xs - xs.mean()
    dy = ys - ys.mean()
    denom = math.sqrt(float((dx * dx).sum()) * float((dy * dy).sum()))
    if denom == 0:
        return None
    return float((dx * dy).sum() / denom)


def paired_test(a: Sequence[float], b: Sequence[float], clusters: Sequence[str] | None = None,
                resamples: int = 10_000, seed: int = 0, confidence: float = CONFIDENCE) -> Estimate:
    """a - b on the same items: bootstrap CI; exact McNemar p for unclustered binary scores, else bootstrap p."""
    estimate = paired_bootstrap(a, b, resamples, confidence, seed, clusters)
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    both = np.vstack([x, y])
    if clusters is None and is_binary(both, np.ones_like(both, dtype=bool)):
        top = both.max()
        p = float(mcnemar_exact(int(((x == top) & (y != top)).sum()), int(((y == top) & (x != top)).sum())))
        return Estimate(**{**estimate.to_dict(), "p_value": p, "method": "exact McNemar"})
    return estimate

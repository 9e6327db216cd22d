"""Statistics of evaluation scores: one result type (:class:`Estimate`), one cluster bootstrap, paired tests.

In the spirit of sacrebleu's ``significance.py``: every function returns an :class:`Estimate` whose value,
interval and p-value come from the same items. The rules, in one place:

* **Clusters** are counted from the items actually scored (the catalogue's ``cluster_unit``: a passage, a
  subject; each item its own cluster otherwise). A model scored on 2 of 10 passages has 2 clusters.
* **One cluster**: no inference. The value is shown; CI, SE and p are None; ``note`` says "n/a: one cluster".
* **Few clusters** (G < :data:`FEW_CLUSTERS`): the cluster-robust (CR1) standard error with a t(G-1)
  interval and p-value (a bootstrap over 5 clusters rejects a true null about 15% of the time at 5%).
* **Enough clusters**: the cluster bootstrap. A mean gets the percentile interval (p by inverting it, so "CI
  excludes 0" and "p < 0.05" say the same thing) with the CR1 SE beside it; a difference gets the SE of its
  resampled values with a normal interval and p (the same rule for one pair and for all pairs of a board,
  where the SE comes from the covariance of the shared resampled means: no sort per pair).
* **Differences** are paired over the items both systems were scored on (the intersection) - value, CI and p
  alike. Exact McNemar for binary scores on unclustered items only; other scores (1-5 ratings, F1) use the
  paired (cluster) bootstrap or t; :func:`wilcoxon_signed_rank` is the rank alternative.
* **Without items** (published reference rows): :func:`cells_difference` - a t-interval over cells;
  :func:`independent_difference` - the difference of two independent estimates (Welch-Satterthwaite).
* **Other statistics** (kappa, alpha, correlations: judge diagnostics): :class:`Resampler` weights and
  :func:`bootstrap_estimate` - the percentile interval, none from one cluster, a note below FEW_CLUSTERS.
* **MDE** is None without variance; :func:`units_needed` says how many clusters would detect an effect;
  :func:`verdict` turns an estimate and an MDE into "separates" / "no_difference" / "inconclusive".

The board-wide path (:func:`bootstrap_means`, :func:`model_estimates`, :func:`pairwise`) draws clusters once
per test set and shares the draws across models, so pairs come for free where two models scored the same items
(Miller 2024, "Adding Error Bars to Evals", arXiv 2411.00640: cluster on the unit that was sampled).
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, replace
from functools import cached_property

import numpy as np
from scipy.sparse import csr_matrix
from scipy.stats import binom, norm
from scipy.stats import t as student_t

CONFIDENCE = 0.95
FEW_CLUSTERS = 20  # below this many clusters: t(G-1) on the cluster-robust SE instead of the bootstrap
CHUNK_CELLS = 20_000_000  # resamples x clusters per block of bootstrap counts: bounds memory (~80 MB float32)

SEPARATES, NO_DIFFERENCE, INCONCLUSIVE = "separates", "no_difference", "inconclusive"
ONE_CLUSTER = "n/a: one cluster"
NO_ITEMS = "n/a: no items"
NO_VARIANCE = "no variance: every cluster gives the same value"
CLUSTER_T = "cluster-robust t(G-1)"
CLUSTER_BOOTSTRAP = "cluster bootstrap"
BOOTSTRAP = "bootstrap"
T_OVER_CELLS = "t over cells"
MCNEMAR = "McNemar exact"  # the p-value; its interval follows the cluster rules (bootstrap or t)


# --- the result type ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Estimate:
    """A number with its uncertainty; ``ci_low``/``ci_high``/``se``/``p_value`` are None without inference.

    ``p_value`` tests "the value is 0" (for a difference: no difference); ``n_clusters`` is the number of
    independent units the inference rests on (items when every item is its own cluster)."""

    value: float | None
    ci_low: float | None
    ci_high: float | None
    se: float | None = None
    p_value: float | None = None
    n_items: int = 0
    n_clusters: int = 0
    method: str = ""  # "cluster bootstrap", "cluster-robust t(G-1)", "t over cells", "McNemar exact", ...
    note: str = ""  # "n/a: one cluster", "few clusters (5): t(4) interval", ...
    se_naive: float | None = None  # items treated as independent, shown beside a clustered SE
    df: float | None = None  # degrees of freedom of a t-based interval (None: normal or percentile)

    @property
    def has_inference(self) -> bool:
        return self.value is not None and self.ci_low is not None and self.ci_high is not None

    @property
    def ci(self) -> tuple[float, float] | None:
        return (self.ci_low, self.ci_high) if self.has_inference else None  # type: ignore[return-value]

    @property
    def n(self) -> int:
        """Alias of ``n_items`` (the leaderboard's older name)."""
        return self.n_items

    def excludes(self, reference: float) -> bool:
        """True when the whole interval lies on one side of ``reference``."""
        return self.has_inference and (self.ci_low > reference or self.ci_high < reference)  # type: ignore[operator]

    def to_dict(self) -> dict:
        return asdict(self)


def no_inference(value: float | None, n_items: int, n_clusters: int, note: str, method: str = "") -> Estimate:
    return Estimate(value, None, None, n_items=n_items, n_clusters=n_clusters, method=method, note=note)


def few_clusters_note(n_clusters: int) -> str:
    return f"few clusters ({n_clusters}): t({n_clusters - 1}) interval"


# --- clusters and bootstrap draws ---------------------------------------------------------------------
def cluster_index(clusters: Sequence[str] | None, n: int) -> np.ndarray:
    """Integer cluster id per item (every item its own cluster when ``clusters`` is None). Labels are numbered
    in sorted order; an integer array is taken as ids already in that order (renumbered densely)."""
    if clusters is None:
        return np.arange(n)
    if isinstance(clusters, np.ndarray) and clusters.dtype.kind in "iu":
        return np.unique(clusters, return_inverse=True)[1].astype(np.int64)
    _, index = np.unique(np.asarray(clusters, dtype=object).astype(str), return_inverse=True)
    return index.astype(np.int64)


def count_clusters(index: np.ndarray) -> int:
    """How many distinct clusters ``index`` (the scored items' cluster ids) holds."""
    return int(np.unique(index).size)


def cluster_counts(n_clusters: int, draws: int, rng: np.random.Generator) -> np.ndarray:
    """How often each cluster is drawn in each of ``draws`` resamples of ``n_clusters`` clusters."""
    picks = rng.integers(0, n_clusters, size=(draws, n_clusters), dtype=np.int64)
    picks += (np.arange(draws, dtype=np.int64) * n_clusters)[:, None]
    return np.bincount(picks.ravel(), minlength=draws * n_clusters).reshape(draws, n_clusters)


class _KeptDraws:
    """The first ``rows`` resamples of cluster counts per (clusters, seed), within a byte budget."""

    def __init__(self, rows: int, budget_bytes: int):
        self.rows, self.budget = rows, budget_bytes
        self.kept: dict[tuple[int, int], np.ndarray] = {}

    def get(self, n_clusters: int, seed: int, resamples: int) -> np.ndarray | None:
        counts = self.kept.get((n_clusters, seed))
        return counts[:resamples] if counts is not None and counts.shape[0] >= resamples else None

    def keep(self, n_clusters: int, seed: int, counts: np.ndarray) -> None:
        first = counts[: self.rows]
        if (
            (n_clusters, seed) not in self.kept
            and first.shape[0] == self.rows
            and first.nbytes <= self.budget
        ):
            self.kept[(n_clusters, seed)] = first.copy()
            self.budget -= first.nbytes


_kept_draws: _KeptDraws | None = None


@contextmanager
def shared_draws(rows: int, budget_bytes: int = 256 * 2**20):
    """Within this block, the first ``rows`` resamples of cluster counts drawn for a (clusters, seed) are kept
    and served to every later request of at most ``rows`` resamples with the same clusters and seed, instead
    of drawn again. The draws depend on nothing else, and a shorter request's draws are the first rows of a
    longer one's, so results are the same as without the block: the leaderboard draws a test set's clusters
    once for its per-model statistics (10,000 resamples) and its findings
    (the first 2,000) read the same counts."""
    global _kept_draws
    outer, _kept_draws = _kept_draws, _KeptDraws(rows, budget_bytes)
    try:
        yield
    finally:
        _kept_draws = outer


def count_blocks(n_clusters: int, resamples: int, seed: int):
    """(start, stop, counts) blocks of bootstrap counts; the same seed gives the same draws in any caller."""
    kept = _kept_draws
    counts = kept.get(n_clusters, seed, resamples) if kept is not None else None
    if counts is not None:
        yield 0, resamples, counts
        return
    rng = np.random.default_rng(seed)
    step = max(1, CHUNK_CELLS // max(1, n_clusters))
    for start in range(0, resamples, step):
        stop = min(resamples, start + step)
        counts = cluster_counts(n_clusters, stop - start, rng).astype(np.float32)
        if kept is not None and start == 0:
            kept.keep(n_clusters, seed, counts)
        yield start, stop, counts


def onehot_clusters(index: np.ndarray, n_clusters: int | None = None) -> csr_matrix:
    """Items x clusters indicator (sparse)."""
    k = int(index.max()) + 1 if n_clusters is None and index.size else (n_clusters or 0)
    return csr_matrix((np.ones(index.size), (np.arange(index.size), index)), shape=(index.size, k))


def resampled_ratios(sums: np.ndarray, sizes: np.ndarray, resamples: int, seed: int) -> np.ndarray:
    """(resamples, k): (counts @ sums) / (counts @ sizes) for per-cluster ``sums`` and
    ``sizes`` (clusters x k)."""
    n_clusters = sums.shape[0]
    out = np.empty((resamples, sums.shape[1]))
    sums32, sizes32 = sums.astype(np.float32), sizes.astype(np.float32)
    for start, stop, counts in count_blocks(n_clusters, resamples, seed):
        with np.errstate(invalid="ignore", divide="ignore"):
            out[start:stop] = (counts @ sums32) / (counts @ sizes32)
    return out


def bootstrap_means(
    values: np.ndarray, mask: np.ndarray, clusters: np.ndarray, resamples: int, seed: int = 0
) -> np.ndarray:
    """Resampled means, shape (resamples, models), of ``values`` (models x items;
    ``mask`` marks scored items).

    Every model shares the same cluster draws, so column differences are paired bootstrap differences where
    two models scored the same items. A resample's mean is (counts @ cluster sums) / (counts @ cluster sizes);
    a resample that draws none of a model's clusters gives NaN for it."""
    onehot = onehot_clusters(clusters)
    sums = np.asarray(onehot.T @ np.where(mask, values, 0.0).T)  # clusters x models
    sizes = np.asarray(onehot.T @ mask.astype(np.float64).T)
    return resampled_ratios(sums, sizes, resamples, seed)


class Resampler:
    """Weighted sums of per-unit columns: row 0 over the full sample, then one row per bootstrap resample.

    ``weights`` is (1 + resamples, clusters); ``cluster`` gives each unit's cluster, so units of one cluster
    (the answers of all models to one question) are drawn together. For statistics that are functions of
    weighted sums (kappa, alpha, correlations), a whole bootstrap is one small matrix product."""

    def __init__(self, weights: np.ndarray, cluster: np.ndarray):
        self.weights = np.atleast_2d(np.asarray(weights, dtype=np.float64))
        self.cluster = np.asarray(cluster, dtype=np.int64)
        n_clusters = self.weights.shape[1]
        self._by_cluster = csr_matrix(
            (np.ones(self.cluster.size), (self.cluster, np.arange(self.cluster.size))),
            shape=(n_clusters, self.cluster.size),
        )

    @classmethod
    def bootstrap(
        cls, cluster: np.ndarray, n_clusters: int, resamples: int, rng: np.random.Generator
    ) -> Resampler:
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

    @cached_property
    def n_clusters(self) -> int:
        """Clusters among these units (not the width of the weight matrix, which a restriction keeps)."""
        return count_clusters(self.cluster)

    def clusters_among(self, index: np.ndarray) -> int:
        """Clusters among a subset of the units (``index`` into them), without building a restriction."""
        return count_clusters(self.cluster[index])

    def sums(self, *columns: np.ndarray) -> np.ndarray:
        """``(1 + resamples, len(columns))``: each column's weighted sum under every row of weights."""
        if self.n == 0:  # nothing to sum (a subset with no unit)
            return np.zeros((self.weights.shape[0], len(columns)))
        matrix = np.column_stack([np.asarray(c, dtype=np.float64).reshape(self.n, -1) for c in columns])
        return self.weights @ (self._by_cluster @ matrix)


def bootstrap_counts(n: int, resamples: int, rng: np.random.Generator) -> np.ndarray:
    """``(resamples, n)`` float counts: how often each unit is drawn in each resample (rows sum to ``n``)."""
    if n == 0 or resamples == 0:
        return np.zeros((resamples, n))
    return cluster_counts(n, resamples, rng).astype(np.float64)


def with_full_sample(counts: np.ndarray) -> np.ndarray:
    """The resampling weights with an all-ones row 0 on top: row 0 gives the point estimate."""
    return np.vstack([np.ones((1, counts.shape[1])), counts])


# --- intervals and p-values from resamples ---------------------------------------------------------------
def percentile_ci(
    samples: np.ndarray, confidence: float = CONFIDENCE, axis: int = 0
) -> tuple[np.ndarray, np.ndarray]:
    """Percentile interval along ``axis`` (NaN resamples, e.g. one without a model's items, ignored)."""
    alpha = (1 - confidence) / 2
    quantile = np.quantile if np.isfinite(samples).all() else np.nanquantile
    low, high = quantile(samples, [alpha, 1 - alpha], axis=axis)
    return low, high


def bootstrap_p(samples: np.ndarray, observed: np.ndarray | None = None, axis: int = 0) -> np.ndarray:
    """Two-sided p-value that the statistic is 0, by inverting the percentile interval: twice the smaller
    share of resamples on either side of 0 (+1 smoothing), so p < 1 - confidence exactly when the percentile
    CI excludes 0. (``observed`` is accepted for the older signature and not needed.)"""
    finite = np.isfinite(samples)
    valid = finite.sum(axis=axis)
    below = (finite & (samples <= 0)).sum(axis=axis)
    above = (finite & (samples >= 0)).sum(axis=axis)
    return np.minimum(1.0, 2 * (np.minimum(below, above) + 1) / (valid + 1))


def bootstrap_estimate(
    point: float,
    replicates: np.ndarray,
    n_items: int,
    n_clusters: int | None = None,
    confidence: float = CONFIDENCE,
    method: str = CLUSTER_BOOTSTRAP,
) -> Estimate:
    """Any statistic (kappa, alpha, a correlation, a ratio) with the percentile interval of its finite
    bootstrap ``replicates``; SE = their SD, p by inverting the interval. No inference from one cluster; with
    fewer than FEW_CLUSTERS a note says the interval may be too narrow
    (a statistic that is not a mean has no t rule)."""
    g = n_items if n_clusters is None else n_clusters
    replicates = np.asarray(replicates, dtype=float)
    finite = replicates[np.isfinite(replicates)]
    if not np.isfinite(point):
        return no_inference(None, n_items, g, "n/a: undefined on this sample", method)
    if g < 2:
        return no_inference(float(point), n_items, g, ONE_CLUSTER if g == 1 else NO_ITEMS, method)
    if finite.size < 2:
        return no_inference(float(point), n_items, g, "n/a: undefined on the resamples", method)
    low, high = percentile_ci(finite, confidence)
    note = f"few clusters ({g}): bootstrap interval, may be too narrow" if g < FEW_CLUSTERS else ""
    return Estimate(
        float(point),
        float(low),
        float(high),
        float(finite.std(ddof=1)),
        float(bootstrap_p(finite)),
        n_items,
        g,
        method,
        note,
    )


def bootstrap_estimates(
    points: np.ndarray,
    replicates: np.ndarray,
    n_items: int,
    n_clusters: int | None = None,
    confidence: float = CONFIDENCE,
) -> list[Estimate]:
    """:func:`bootstrap_estimate` for many statistics at once: ``points`` (k,),
    ``replicates`` (resamples, k)."""
    points, replicates = np.asarray(points, dtype=float), np.asarray(replicates, dtype=float)
    g = n_items if n_clusters is None else n_clusters
    if g < 2 or replicates.shape[0] < 2 or not np.isfinite(replicates).all() or not np.isfinite(points).all():
        return [
            bootstrap_estimate(points[k], replicates[:, k], n_items, n_clusters, confidence)
            for k in range(points.size)
        ]
    low, high = percentile_ci(replicates, confidence)
    se, p = replicates.std(axis=0, ddof=1), bootstrap_p(replicates, axis=0)
    note = f"few clusters ({g}): bootstrap interval, may be too narrow" if g < FEW_CLUSTERS else ""
    return [
        Estimate(
            float(points[k]),
            float(low[k]),
            float(high[k]),
            float(se[k]),
            float(p[k]),
            n_items,
            g,
            CLUSTER_BOOTSTRAP,
            note,
        )
        for k in range(points.size)
    ]


def wilcoxon_signed_rank(differences: Sequence[float]) -> float | None:
    """Two-sided Wilcoxon signed-rank p-value of paired differences (zeros dropped, ties mid-ranked, normal
    approximation with the tie correction and no continuity correction: scipy's ``wilcoxon(...,
    method="approx")``). For ratings on a 1-5 scale, where a mean difference is not the only summary."""
    from scipy.stats import rankdata

    d = np.asarray(differences, dtype=float)
    d = d[d != 0]
    n = d.size
    if n == 0:
        return None
    ranks = rankdata(np.abs(d))
    r_plus = float(ranks[d > 0].sum())
    mean = n * (n + 1) / 4
    _, ties = np.unique(ranks, return_counts=True)
    var = n * (n + 1) * (2 * n + 1) / 24 - float((ties**3 - ties).sum()) / 48
    if var <= 0:
        return None
    z = (r_plus - mean) / math.sqrt(var)
    return float(2 * norm.sf(abs(z)))


def mcnemar_exact(b: np.ndarray | int, c: np.ndarray | int) -> np.ndarray:
    """Exact two-sided McNemar p-value from the discordant counts (b: only A right, c: only B right)."""
    b = np.asarray(b)
    c = np.asarray(c)
    n = b + c
    p = 2.0 * binom.cdf(np.minimum(b, c), n, 0.5)
    return np.where(n == 0, 1.0, np.minimum(1.0, p))


def is_binary(values: np.ndarray, mask: np.ndarray | None = None) -> bool:
    """Scores are binary: every scored value is 0 or the one top value (1, or 100 on a percent scale)."""
    scored = np.asarray(values)[mask] if mask is not None else np.asarray(values).ravel()
    if scored.size == 0:
        return False
    top = scored.max()
    return bool(top > 0 and np.all((scored == 0) | (scored == top)))


# --- standard errors ---------------------------------------------------------------------------------------
def naive_se(values: np.ndarray) -> float | None:
    values = np.asarray(values, dtype=float)
    return float(values.std(ddof=1) / math.sqrt(values.size)) if values.size > 1 else None


def clustered_se(values: np.ndarray, clusters: np.ndarray) -> float | None:
    """Cluster-robust (CR1) standard error of the mean, with G the clusters among these items (statsmodels'
    OLS on a constant with ``cov_type='cluster'``); None with fewer than two clusters."""
    values = np.asarray(values, dtype=float)
    _, local = np.unique(np.asarray(clusters), return_inverse=True)
    return cluster_robust_se((values - values.mean()) / max(values.size, 1), local)


def cluster_robust_se(influence: np.ndarray, clusters: np.ndarray) -> float | None:
    """CR1 standard error of a linear statistic from per-item influence values (e.g. (x - mean) / n):
    sqrt(G / (G - 1) * sum over clusters of the cluster's summed influence, squared)."""
    _, local = np.unique(np.asarray(clusters), return_inverse=True)
    g = int(local.max()) + 1 if local.size else 0
    if g < 2:
        return None
    sums = np.bincount(local, weights=influence, minlength=g)
    return float(math.sqrt(g / (g - 1) * float((sums**2).sum())))


def constant_p(value: float, n_clusters: int) -> float:
    """The p-value when every cluster gives the same value (no variance): the exact sign-flip test over the
    clusters, 2 / 2^G of the sign patterns as extreme (1 when the value is 0)."""
    return 1.0 if value == 0 else float(min(1.0, 2.0 ** (1 - n_clusters)))


def t_quantile(confidence: float, df: float | None) -> float:
    q = 1 - (1 - confidence) / 2
    return float(norm.ppf(q) if df is None or not np.isfinite(df) else student_t.ppf(q, df))


def t_p_value(value: float, se: float, df: float | None) -> float:
    z = abs(value) / se
    return float(2 * (norm.sf(z) if df is None or not np.isfinite(df) else student_t.sf(z, df)))


# --- one estimate from items ----------------------------------------------------------------------------
def linear_estimate(
    values: np.ndarray,
    masks: np.ndarray,
    coef: Sequence[float],
    clusters: np.ndarray,
    *,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    bootstrap_method: str = CLUSTER_BOOTSTRAP,
    interval: str = "percentile",
    boot: np.ndarray | None = None,
) -> Estimate:
    """sum_r coef[r] * (mean of values[r] over masks[r]): a mean, a paired difference (one row of
    differences), or a contrast of two subsets sharing clusters (rows masked by subset, coef (1, -1)).

    The engine behind every item-level estimate here: G = clusters among the items in any mask; G < 2 no
    inference; G < FEW_CLUSTERS the CR1 SE with t(G-1); else the cluster bootstrap: ``interval="percentile"``
    (means: the percentile CI, p by inverting it, the CR1 SE beside it) or ``"normal"`` (differences: the SE
    of the resampled values with a normal interval and p, as :func:`pairwise` computes them for every pair).
    ``boot``: the statistic's resampled values when already drawn (the same draws this call would make), as
    :func:`paired_arrays_differences` shares them."""
    values = np.atleast_2d(np.asarray(values, dtype=float))
    masks = np.atleast_2d(np.asarray(masks, dtype=bool))
    coef = np.asarray(coef, dtype=float)
    used = masks.any(axis=0)
    n_items = int(used.sum())
    sizes = masks.sum(axis=1)
    if n_items == 0 or (sizes == 0).any():
        return no_inference(None, n_items, 0, NO_ITEMS)
    means = np.where(masks, values, 0.0).sum(axis=1) / sizes
    value = float(coef @ means)
    _, local = np.unique(np.asarray(clusters)[used], return_inverse=True)
    g = int(local.max()) + 1
    if g < 2:
        return no_inference(value, n_items, g, ONE_CLUSTER)
    influence = (coef[:, None] * np.where(masks, values - means[:, None], 0.0) / sizes[:, None]).sum(axis=0)[
        used
    ]
    se = cluster_robust_se(influence, local)
    naive = float(math.sqrt(n_items / (n_items - 1) * float((influence**2).sum()))) if n_items > 1 else None
    if se == 0.0:
        return Estimate(
            value,
            value,
            value,
            0.0,
            constant_p(value, g),
            n_items,
            g,
            CLUSTER_T if g < FEW_CLUSTERS else bootstrap_method,
            NO_VARIANCE,
            naive,
        )
    if g < FEW_CLUSTERS:
        half = t_quantile(confidence, g - 1) * se
        return Estimate(
            value,
            value - half,
            value + half,
            se,
            t_p_value(value, se, g - 1),
            n_items,
            g,
            CLUSTER_T,
            few_clusters_note(g),
            naive,
            float(g - 1),
        )
    index = local  # items x clusters over the used items
    used_values, used_masks = values[:, used], masks[:, used]
    if boot is None:
        boot = bootstrap_means(used_values, used_masks, index, resamples, seed) @ coef
    if interval == "normal":
        se_boot = float(np.nanstd(boot, ddof=1))
        return normal_estimate(value, se_boot, n_items, g, bootstrap_method, naive, confidence)
    low, high = percentile_ci(boot[:, None], confidence)
    p = float(bootstrap_p(boot[:, None])[0])
    return Estimate(value, float(low[0]), float(high[0]), se, p, n_items, g, bootstrap_method, "", naive)


def normal_estimate(
    value: float,
    se: float,
    n_items: int,
    n_clusters: int,
    method: str,
    se_naive: float | None = None,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """value +- z * se with the matching two-sided p-value (a bootstrap SE of a difference)."""
    if not np.isfinite(se) or se <= 0:
        return Estimate(
            value,
            value,
            value,
            0.0,
            constant_p(value, n_clusters),
            n_items,
            n_clusters,
            method,
            NO_VARIANCE,
            se_naive,
        )
    half = t_quantile(confidence, None) * se
    return Estimate(
        value,
        value - half,
        value + half,
        se,
        t_p_value(value, se, None),
        n_items,
        n_clusters,
        method,
        "",
        se_naive,
    )


def mean_estimate(
    values: Sequence[float],
    clusters: Sequence[str] | None = None,
    *,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """The mean of per-item scores with its interval (``clusters``: each item's cluster label, or None)."""
    x = np.asarray(values, dtype=float)
    if x.ndim != 1:
        raise ValueError("mean_estimate needs a flat list of per-item scores")
    index = cluster_index(clusters, x.size)
    method = CLUSTER_BOOTSTRAP if clusters is not None else BOOTSTRAP
    return linear_estimate(
        x,
        np.ones(x.size, bool),
        [1.0],
        index,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
        bootstrap_method=method,
    )


def paired_arrays(
    a: Mapping[str, float], b: Mapping[str, float], clusters: Mapping[str, str] | None
) -> tuple[list[str], np.ndarray, np.ndarray, list[str] | None]:
    common = sorted(set(a) & set(b))
    x = np.array([float(a[k]) for k in common])
    y = np.array([float(b[k]) for k in common])
    labels = None
    if clusters is not None:
        labels = [str(clusters[k]) if k in clusters else f"item:{k}" for k in common]
    return common, x, y, labels


def paired_difference(
    a: Mapping[str, float],
    b: Mapping[str, float],
    clusters: Mapping[str, str] | None = None,
    *,
    binary: bool | None = None,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """a - b over the item ids both were scored on: value, CI and p from those paired items alone.

    ``clusters`` maps item id -> cluster label (an item it lacks is its own cluster). ``binary`` (detected
    when None) with unclustered items gives the exact McNemar p-value;
    the interval follows the cluster rules."""
    _, x, y, labels = paired_arrays(a, b, clusters)
    return paired_arrays_difference(
        x, y, labels, binary=binary, resamples=resamples, seed=seed, confidence=confidence
    )


def paired_arrays_difference(
    x: np.ndarray,
    y: np.ndarray,
    clusters: Sequence[str] | None = None,
    *,
    binary: bool | None = None,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
    boot: np.ndarray | None = None,
) -> Estimate:
    """:func:`paired_difference` on aligned arrays (item k of ``x`` is item k of ``y``); ``boot``: the
    resampled mean differences when already drawn (:func:`paired_arrays_differences`)."""
    x, y = np.asarray(x, dtype=float), np.asarray(y, dtype=float)
    if x.shape != y.shape or x.ndim != 1:
        raise ValueError("a paired difference needs two equally long score lists")
    index = cluster_index(clusters, x.size)
    clustered = count_clusters(index) < x.size
    method = "paired cluster bootstrap" if clustered else "paired bootstrap"
    estimate = linear_estimate(
        x - y,
        np.ones(x.size, bool),
        [1.0],
        index,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
        bootstrap_method=method,
        interval="normal",
        boot=boot,
    )
    if binary is None:
        binary = is_binary(np.concatenate([x, y]))
    if binary and not clustered and estimate.value is not None and x.size:
        top = max(x.max(), y.max())
        p = float(mcnemar_exact(int(((x == top) & (y != top)).sum()), int(((y == top) & (x != top)).sum())))
        return replace(estimate, p_value=p, method=MCNEMAR)
    return estimate


def paired_arrays_differences(
    x: np.ndarray,
    others: Sequence[np.ndarray],
    clusters: np.ndarray,
    *,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> list[Estimate | None]:
    """:func:`paired_arrays_difference` of ``x`` minus each of ``others`` over the units both scored (NaN: not
    scored; None where none), from ONE set of cluster draws: every comparison whose units span all the
    clusters of ``x``'s units gets the draws a call of its own would make (same clusters, same numbering, same
    seed), so the results equal separate calls up to float rounding; the rest are drawn alone.

    ``clusters``: integer cluster id per unit, numbered in sorted cluster-label order (dense)."""
    x = np.asarray(x, dtype=float)
    index = np.asarray(clusters, dtype=np.int64)
    scored = ~np.isnan(x)
    g_all = count_clusters(index[scored])
    masks = [scored & ~np.isnan(np.asarray(y, dtype=float)) for y in others]
    together = [j for j, m in enumerate(masks) if m.any() and count_clusters(index[m]) == g_all]
    boots: dict[int, np.ndarray] = {}
    if len(together) > 1 and g_all >= FEW_CLUSTERS:
        _, dense = np.unique(index[scored], return_inverse=True)
        diffs = np.vstack(
            [np.where(masks[j], x - np.asarray(others[j], dtype=float), 0.0)[scored] for j in together]
        )
        shared = bootstrap_means(
            diffs, np.vstack([masks[j][scored] for j in together]), dense, resamples, seed
        )
        boots = {j: shared[:, k] for k, j in enumerate(together)}
    out: list[Estimate | None] = []
    for j, (y, mask) in enumerate(zip(others, masks, strict=True)):
        if not mask.any():
            out.append(None)
            continue
        out.append(
            paired_arrays_difference(
                x[mask],
                np.asarray(y, dtype=float)[mask],
                index[mask],
                resamples=resamples,
                seed=seed,
                confidence=confidence,
                boot=boots.get(j),
            )
        )
    return out


def contrast_estimate(
    values: Sequence[float],
    in_a: Sequence[bool],
    in_b: Sequence[bool],
    clusters: Sequence[str] | None = None,
    *,
    resamples: int = 10_000,
    seed: int = 0,
    confidence: float = CONFIDENCE,
) -> Estimate:
    """Mean over the items in ``in_a`` minus the mean over those in ``in_b`` (two parts of one test set, e.g.
    culturally sensitive vs agnostic items), resampling clusters jointly: parts that share a subject are not
    treated as independent."""
    x = np.asarray(values, dtype=float)
    masks = np.vstack([np.asarray(in_a, bool), np.asarray(in_b, bool)])
    index = cluster_index(clusters, x.size)
    method = CLUSTER_BOOTSTRAP if clusters is not None else BOOTSTRAP
    return linear_estimate(
        np.vstack([x, x]),
        masks,
        [1.0, -1.0],
        index,
        resamples=resamples,
        seed=seed,
        confidence=confidence,
        bootstrap_method=method,
    )


# --- without items ----------------------------------------------------------------------------------------
def cells_difference(differences: Sequence[float], confidence: float = CONFIDENCE) -> Estimate:
    """Mean of per-cell differences (e.g. model x language cells of published rows) with a t-interval over the
    cells (df = cells - 1) and the one-sample t-test p-value."""
    d = np.asarray([v for v in differences if v is not None and np.isfinite(v)], dtype=float)
    if d.size == 0:
        return no_inference(None, 0, 0, "n/a: no cells", T_OVER_CELLS)
    value = float(d.mean())
    if d.size < 2:
        return no_inference(value, 1, 1, "n/a: one cell", T_OVER_CELLS)
    se = float(d.std(ddof=1) / math.sqrt(d.size))
    if se == 0:
        return Estimate(
            value,
            value,
            value,
            0.0,
            constant_p(value, int(d.size)),
            int(d.size),
            int(d.size),
            T_OVER_CELLS,
            "no variance: every cell gives the same value",
        )
    half = t_quantile(confidence, d.size - 1) * se
    return Estimate(
        value,
        value - half,
        value + half,
        se,
        t_p_value(value, se, d.size - 1),
        int(d.size),
        int(d.size),
        T_OVER_CELLS,
        f"{d.size} cells: t({d.size - 1}) interval",
        df=float(d.size - 1),
    )


def degrees_of_freedom(estimate: Estimate) -> float | None:
    """The df behind an estimate's interval: its ``df`` (t-based), else None (normal, percentile)."""
    return estimate.df


def independent_difference(a: Estimate, b: Estimate, confidence: float = CONFIDENCE) -> Estimate:
    """a - b for estimates from independent samples (e.g. "gap on free-form minus gap on constrained"):
    SE = sqrt(se_a^2 + se_b^2), a t-interval with Welch-Satterthwaite df where either side is t-based."""
    value = None if a.value is None or b.value is None else a.value - b.value
    n_items, n_clusters = a.n_items + b.n_items, a.n_clusters + b.n_clusters
    method = f"difference of independent estimates ({a.method or '?'}; {b.method or '?'})"
    if value is None or a.se is None or b.se is None or not (a.has_inference and b.has_inference):
        missing = [name for name, e in (("first", a), ("second", b)) if e.se is None or not e.has_inference]
        return no_inference(
            value, n_items, n_clusters, f"n/a: no inference on the {' and '.join(missing)}", method
        )
    se = math.sqrt(a.se**2 + b.se**2)
    if se == 0:
        return Estimate(
            value, value, value, 0.0, 1.0 if value == 0 else None, n_items, n_clusters, method, "no variance"
        )
    dfs = [degrees_of_freedom(a), degrees_of_freedom(b)]
    df = None
    if any(d is not None for d in dfs):
        terms = [(e.se**4 / d) if d else 0.0 for e, d in zip((a, b), dfs, strict=True)]  # type: ignore[operator]
        df = se**4 / sum(terms) if sum(terms) > 0 else None
    half = t_quantile(confidence, df) * se
    note = f"Welch-Satterthwaite t({df:.1f})" if df is not None else "normal interval"
    return Estimate(
        value,
        value - half,
        value + half,
        se,
        t_p_value(value, se, df),
        n_items,
        n_clusters,
        method,
        note,
        df=df,
    )


# --- power and verdicts ---------------------------------------------------------------------------------
def _se_and_df(estimate_or_se: Estimate | float | None) -> tuple[float | None, float | None]:
    if isinstance(estimate_or_se, Estimate):
        return estimate_or_se.se, degrees_of_freedom(estimate_or_se)
    return (None if estimate_or_se is None else float(estimate_or_se)), None


def _multiplier(alpha: float, power: float, df: float | None) -> float:
    if df is None:
        return float(norm.ppf(1 - alpha / 2) + norm.ppf(power))
    return float(student_t.ppf(1 - alpha / 2, df) + student_t.ppf(power, df))


def minimum_detectable_effect(
    estimate_or_se: Estimate | float | None, alpha: float = 0.05, power: float = 0.8
) -> float | None:
    """The smallest true difference a two-sided test at ``alpha`` finds with probability ``power``:
    (z_{1-alpha/2} + z_power) * SE (t quantiles with G-1 df for a t-based estimate). None without variance."""
    se, df = _se_and_df(estimate_or_se)
    if se is None or not np.isfinite(se) or se <= 0:
        return None
    return _multiplier(alpha, power, df) * se


def units_needed(estimate: Estimate, effect: float, alpha: float = 0.05, power: float = 0.8) -> int | None:
    """How many clusters (items, where every item is its own cluster) would detect a true ``effect`` with this
    estimate's per-cluster variance: the SE scales as 1 / sqrt(G). None without variance or units."""
    if estimate.se is None or estimate.se <= 0 or estimate.n_clusters < 2 or not effect:
        return None
    spread = estimate.se * math.sqrt(estimate.n_clusters)
    g = max(2, math.ceil((_multiplier(alpha, power, None) * spread / abs(effect)) ** 2))
    while g < 10**9:  # few clusters: t quantiles grow, so step up until the t-based MDE fits
        df = g - 1 if g < FEW_CLUSTERS else None
        if _multiplier(alpha, power, df) * spread / math.sqrt(g) <= abs(effect):
            return g
        g += 1 if g < FEW_CLUSTERS else max(1, g // 100)
    return None


def verdict(estimate: Estimate, mde: float | None) -> str:
    """ "separates" (the CI excludes 0), "no_difference" (the CI lies inside +-MDE), else "inconclusive" (also
    when no inference is possible or the MDE is unknown)."""
    if not estimate.has_inference:
        return INCONCLUSIVE
    if estimate.excludes(0.0):
        return SEPARATES
    if mde is not None and -mde <= estimate.ci_low and estimate.ci_high <= mde:  # type: ignore[operator]
        return NO_DIFFERENCE
    return INCONCLUSIVE


# --- board-wide: shared draws per test set --------------------------------------------------------------
def model_estimates(
    values: np.ndarray,
    mask: np.ndarray,
    clusters: np.ndarray,
    boot: np.ndarray,
    confidence: float = CONFIDENCE,
) -> list[Estimate]:
    """Each model's mean score on one test set (rows of ``values``, scored where ``mask``), with the cluster
    rules applied to its own items: clusters counted among them, t(G-1) with few, the shared bootstrap
    ``boot`` (from :func:`bootstrap_means`) with enough."""
    low, high = percentile_ci(boot, confidence)
    p_values = bootstrap_p(boot, axis=0)
    out = []
    clustered = count_clusters(clusters) < clusters.size
    method = CLUSTER_BOOTSTRAP if clustered else BOOTSTRAP
    for row in range(values.shape[0]):
        x, ids = values[row][mask[row]], clusters[mask[row]]
        if x.size == 0:
            out.append(no_inference(None, 0, 0, NO_ITEMS))
            continue
        estimate = (
            linear_estimate(
                x,
                np.ones(x.size, bool),
                [1.0],
                ids,
                resamples=0,
                confidence=confidence,
                bootstrap_method=method,
            )
            if count_clusters(ids) < FEW_CLUSTERS
            else None
        )
        if estimate is None:
            se = clustered_se(x, ids)
            estimate = Estimate(
                float(x.mean()),
                float(low[row]),
                float(high[row]),
                se,
                float(p_values[row]),
                int(x.size),
                count_clusters(ids),
                method,
                "",
                naive_se(x),
            )
        out.append(estimate)
    return out


@dataclass(frozen=True)
class PairwiseResult:
    """Every pair (i < j) of models on one test set: differences (row i minus row j) as Estimates."""

    pairs: list[tuple[int, int]]
    estimates: list[Estimate]


def _same_items_pairs(values, scored, clusters, clustered, i_idx, j_idx, top):
    """Pair statistics when all models scored the same items: the CR1 variance of x_i - x_j is
    |R_i|^2 + |R_j|^2 - 2 R_i.R_j over per-cluster residual sums R, so one m x m product serves every pair."""
    x = values[:, scored]
    n = x.shape[1]
    means = x.mean(axis=1)
    residual = (x - means[:, None]) / n
    ids = clusters[scored]
    g = count_clusters(ids)
    per_cluster = (
        np.asarray((onehot_clusters(np.unique(ids, return_inverse=True)[1]).T @ residual.T).T)
        if clustered
        else residual
    )

    def pair_norms(rows: np.ndarray) -> np.ndarray:
        gram = rows @ rows.T
        return np.maximum(gram[i_idx, i_idx] + gram[j_idx, j_idx] - 2 * gram[i_idx, j_idx], 0.0)

    n_pairs = i_idx.size
    se = np.sqrt(g / max(g - 1, 1) * pair_norms(per_cluster))
    naive = np.sqrt(n / max(n - 1, 1) * pair_norms(residual))
    wins = losses = None
    if top:
        right = (x == top).astype(np.float64)
        wins_matrix = right @ (1.0 - right).T  # [i, j]: items only i got right
        wins, losses = wins_matrix[i_idx, j_idx], wins_matrix[j_idx, i_idx]
    return (
        means[i_idx] - means[j_idx],
        np.full(n_pairs, n),
        np.full(n_pairs, g),
        se,
        naive,
        wins,
        losses,
        None,
        None,
    )


def _paired_items_pairs(values, mask, clusters, clustered, i_idx, j_idx, top):
    """Pair statistics over each pair's shared items (models scored different items)."""
    both = mask[i_idx] & mask[j_idx]  # pairs x items
    n_common = both.sum(axis=1)
    diffs = np.where(both, values[i_idx] - values[j_idx], 0.0)
    observed = diffs.sum(axis=1) / np.maximum(n_common, 1)
    residual = np.where(both, diffs - observed[:, None], 0.0) / np.maximum(n_common, 1)[:, None]
    if clustered:
        onehot = onehot_clusters(clusters)
        cluster_resid = np.asarray((onehot.T @ residual.T).T)  # pairs x clusters
        g = np.asarray((onehot.T @ both.T.astype(np.float64)).T > 0).sum(axis=1)
    else:
        cluster_resid, g = residual, n_common
    with np.errstate(invalid="ignore", divide="ignore"):
        se = np.sqrt(g / np.maximum(g - 1, 1) * (cluster_resid**2).sum(axis=1))
        naive = np.sqrt(n_common / np.maximum(n_common - 1, 1) * (residual**2).sum(axis=1))
    wins = losses = None
    if top:
        wins = (both & (values[i_idx] == top) & (values[j_idx] != top)).sum(axis=1)
        losses = (both & (values[j_idx] == top) & (values[i_idx] != top)).sum(axis=1)
    return observed, n_common, g, se, naive, wins, losses, diffs, both


def pairwise(
    values: np.ndarray,
    mask: np.ndarray,
    clusters: np.ndarray,
    boot: np.ndarray,
    confidence: float = CONFIDENCE,
    *,
    seed: int = 0,
) -> PairwiseResult:
    """All pairwise differences on one test set, each over the items both models were scored on (value, CI and
    p alike), with the rules of :func:`paired_difference`: McNemar p for unclustered binary scores, t(G-1)
    with few shared clusters, else the paired cluster bootstrap. Pairs of models that scored the same items
    take their resampled difference from the shared ``boot``; the others are resampled
    over their shared items."""
    m = values.shape[0]
    if m < 2:
        return PairwiseResult([], [])
    i_idx, j_idx = np.triu_indices(m, k=1)
    n_pairs = i_idx.size
    clustered = count_clusters(clusters) < clusters.size
    binary = is_binary(values, mask) and not clustered
    top = values[mask].max() if binary else 0.0
    same_items = bool((mask == mask[0]).all())
    if same_items:  # every model scored the same items: pairs from m x m Gram matrices
        observed, n_common, g, se, naive, wins, losses, diffs, both = _same_items_pairs(
            values, mask[0], clusters, clustered, i_idx, j_idx, top
        )
    else:
        observed, n_common, g, se, naive, wins, losses, diffs, both = _paired_items_pairs(
            values, mask, clusters, clustered, i_idx, j_idx, top
        )
    if binary:
        mcnemar = mcnemar_exact(wins, losses)
    boot_method = "paired cluster bootstrap" if clustered else "paired bootstrap"
    resampled = np.flatnonzero((g >= FEW_CLUSTERS) & (se > 0))
    se_boot = np.full(n_pairs, np.nan)
    if resampled.size:
        same = (
            np.ones(resampled.size, bool)
            if same_items
            else (mask[i_idx[resampled]] == mask[j_idx[resampled]]).all(axis=1)
        )
        fast, slow = resampled[same], resampled[~same]
        if fast.size:  # same items: Var(m_i - m_j) from the covariance of the shared resampled means
            finite = np.isfinite(boot).all(axis=1)
            cov = np.atleast_2d(np.cov(boot[finite].T))
            a, b = i_idx[fast], j_idx[fast]
            se_boot[fast] = np.sqrt(np.maximum(cov[a, a] + cov[b, b] - 2 * cov[a, b], 0.0))
        if slow.size:  # models scored different items: resample the differences over the shared items
            onehot = onehot_clusters(clusters)
            sums = np.asarray(onehot.T @ diffs[slow].T)
            sizes = np.asarray(onehot.T @ both[slow].T.astype(np.float64))
            se_boot[slow] = np.nanstd(resampled_ratios(sums, sizes, boot.shape[0], seed), axis=0, ddof=1)
    # every pair's interval at once: t(G-1) on the CR1 SE with few shared clusters, the bootstrap SE otherwise
    few = g < FEW_CLUSTERS
    spread = np.where(few, se, se_boot)
    df = np.maximum(g - 1, 1).astype(float)
    q = 1 - (1 - confidence) / 2
    with np.errstate(invalid="ignore", divide="ignore"):
        half = np.where(few, student_t.ppf(q, df), norm.ppf(q)) * spread
        z = np.abs(observed) / spread
        p_values = 2 * np.where(few, student_t.sf(z, df), norm.sf(z))
    if binary:
        p_values = mcnemar
    estimates = []
    for k in range(n_pairs):
        value, n_k, g_k = float(observed[k]), int(n_common[k]), int(g[k])
        if n_k == 0:
            estimates.append(no_inference(None, 0, 0, NO_ITEMS))
            continue
        if g_k < 2:
            estimates.append(no_inference(value, n_k, g_k, ONE_CLUSTER))
            continue
        method = MCNEMAR if binary else CLUSTER_T if few[k] else boot_method
        spread_k, naive_k = float(spread[k]), float(naive[k])
        if not spread_k > 0:
            p = float(mcnemar[k]) if binary else constant_p(value, g_k)
            estimates.append(Estimate(value, value, value, 0.0, p, n_k, g_k, method, NO_VARIANCE, naive_k))
            continue
        estimates.append(
            Estimate(
                value,
                value - float(half[k]),
                value + float(half[k]),
                spread_k,
                float(p_values[k]),
                n_k,
                g_k,
                method,
                few_clusters_note(g_k) if few[k] else "",
                naive_k,
                float(g_k - 1) if few[k] else None,
            )
        )
    return PairwiseResult(list(zip(i_idx.tolist(), j_idx.tolist(), strict=True)), estimates)


# --- multiple testing, rankings, correlations ---------------------------------------------------------
def holm(p_values: Sequence[float | None]) -> list[float | None]:
    """Holm-Bonferroni adjusted p-values (step-down, monotone, capped at 1), in the input order. A None (no
    inference, e.g. one cluster) is not a test: it stays None and does not count in the family."""
    tested = [i for i, p in enumerate(p_values) if p is not None]
    m = len(tested)
    order = sorted(tested, key=lambda i: p_values[i])  # type: ignore[arg-type, return-value]
    adjusted: list[float | None] = [None] * len(p_values)
    running = 0.0
    for rank, i in enumerate(order):
        running = max(running, min(1.0, (m - rank) * p_values[i]))  # type: ignore[operator]
        adjusted[i] = running
    return adjusted


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


def sign_flip_exact(values: Sequence[float]) -> float | None:
    """Exact two-sided sign-flip p-value that the mean of ``values`` is 0 (units exchangeable; up to 16)."""
    x = np.asarray(values, dtype=float)
    if x.size == 0 or x.size > 16:
        return None
    signs = (((np.arange(2**x.size)[:, None] >> np.arange(x.size)) & 1) * 2 - 1).astype(float)
    null = np.abs(signs @ x) / x.size
    return float(np.mean(null >= abs(x.mean()) - 1e-12))

"""Statistics for paired comparisons over the same test items: bootstrap CIs, p-values, Pearson r, Holm."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import asdict, dataclass

import numpy as np

CHUNK = 512  # bootstrap replicates drawn at once; bounds memory at CHUNK x n items


@dataclass
class PairedResult:
    """Mean difference a - b over common items, its bootstrap CI and a two-sided p-value."""

    n: int
    diff: float
    ci_low: float
    ci_high: float
    p_value: float
    confidence: float
    resamples: int
    method: str = "paired bootstrap CI (percentile); sign-flip randomization p-value"

    def to_dict(self) -> dict:
        return asdict(self)


def _bootstrap_means(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = values.size
    means = np.empty(resamples)
    for start in range(0, resamples, CHUNK):
        stop = min(start + CHUNK, resamples)
        idx = rng.integers(0, n, size=(stop - start, n))
        means[start:stop] = values[idx].mean(axis=1)
    return means


def _sign_flip_means(values: np.ndarray, resamples: int, rng: np.random.Generator) -> np.ndarray:
    n = values.size
    means = np.empty(resamples)
    for start in range(0, resamples, CHUNK):
        stop = min(start + CHUNK, resamples)
        signs = rng.integers(0, 2, size=(stop - start, n)) * 2 - 1
        means[start:stop] = (signs * values).mean(axis=1)
    return means


def bootstrap_mean_ci(
    values: Sequence[float], resamples: int = 10_000, confidence: float = 0.95, seed: int = 0
) -> tuple[float, float]:
    """Percentile bootstrap CI of the mean of ``values``."""
    arr = np.asarray(values, dtype=float)
    if arr.size == 0:
        raise ValueError("no values")
    means = _bootstrap_means(arr, resamples, np.random.default_rng(seed))
    alpha = (1 - confidence) / 2
    low, high = np.quantile(means, [alpha, 1 - alpha])
    return float(low), float(high)


def paired_bootstrap(
    a: Sequence[float],
    b: Sequence[float],
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> PairedResult:
    """Compare two systems scored on the same items (``a[i]`` and ``b[i]`` belong to item i).

    The CI resamples items with replacement; the p-value randomly swaps each pair (sign flip of the
    per-item difference), which is exact under the null that the two systems are exchangeable.
    """
    x = np.asarray(a, dtype=float)
    y = np.asarray(b, dtype=float)
    if x.shape != y.shape or x.ndim != 1 or x.size == 0:
        raise ValueError("paired_bootstrap needs two equally long, non-empty score lists")
    d = x - y
    observed = float(d.mean())
    rng = np.random.default_rng(seed)
    boot = _bootstrap_means(d, resamples, rng)
    alpha = (1 - confidence) / 2
    low, high = np.quantile(boot, [alpha, 1 - alpha])
    null = _sign_flip_means(d, resamples, rng)
    extreme = int(np.count_nonzero(np.abs(null) >= abs(observed) - 1e-12))
    p_value = (extreme + 1) / (resamples + 1)
    return PairedResult(d.size, observed, float(low), float(high), min(1.0, p_value), confidence, resamples)


def pair_items(a: dict[str, float], b: dict[str, float]) -> tuple[list[float], list[float]]:
    """Scores of the items both systems were scored on, in the same order."""
    common = sorted(set(a) & set(b))
    return [a[k] for k in common], [b[k] for k in common]


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

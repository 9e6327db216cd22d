"""TEMPORARY stand-in for harness_ext.core.stats (the stats branch); deleted once it is merged."""

from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass
from statistics import mean, stdev

from scipy import stats as sps


@dataclass(frozen=True)
class Estimate:
    value: float
    ci_low: float | None
    ci_high: float | None
    se: float | None
    p_value: float | None
    n_items: int
    n_clusters: int
    method: str = ""
    note: str = ""

    @property
    def has_inference(self) -> bool:
        return self.ci_low is not None and self.se is not None and self.se > 0


def _t(values, n_items, n_clusters, method, confidence):
    m = mean(values)
    if len(values) < 2 or stdev(values) == 0:
        return Estimate(m, None, None, None, None, n_items, n_clusters, method, "n/a: no variance")
    se = stdev(values) / math.sqrt(len(values))
    t = sps.t.ppf(0.5 + confidence / 2, len(values) - 1)
    p = 2 * sps.t.sf(abs(m / se), len(values) - 1)
    return Estimate(m, m - t * se, m + t * se, se, p, n_items, n_clusters, method, "")


def mean_estimate(values, clusters=None, *, resamples=1000, seed=0, confidence=0.95):
    keys = list(values)
    if clusters:
        by = defaultdict(list)
        for k in keys:
            by[clusters.get(k, k)].append(values[k])
        return _t([mean(v) for v in by.values()], len(keys), len(by), "shim", confidence)
    return _t([values[k] for k in keys], len(keys), len(keys), "shim", confidence)


def paired_difference(a, b, clusters=None, *, binary=None, resamples=1000, seed=0, confidence=0.95):
    shared = sorted(set(a) & set(b))
    return mean_estimate({k: a[k] - b[k] for k in shared}, clusters, resamples=resamples, seed=seed,
                         confidence=confidence)


def cells_difference(differences, confidence=0.95):
    values = list(differences)
    return _t(values, len(values), len(values), "t interval over cells", confidence)


def independent_difference(a, b, confidence=0.95):
    value = a.value - b.value
    if not (a.has_inference and b.has_inference):
        return Estimate(value, None, None, None, None, a.n_items + b.n_items, a.n_clusters + b.n_clusters,
                        "shim", "n/a")
    se = math.hypot(a.se, b.se)
    z = sps.norm.ppf(0.5 + confidence / 2)
    return Estimate(value, value - z * se, value + z * se, se, 2 * sps.norm.sf(abs(value / se)),
                    a.n_items + b.n_items, a.n_clusters + b.n_clusters, "shim", "")


def minimum_detectable_effect(estimate_or_se, alpha=0.05, power=0.8):
    se = estimate_or_se.se if isinstance(estimate_or_se, Estimate) else estimate_or_se
    if se is None or se <= 0:
        return None
    return (sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)) * se


def units_needed(estimate, effect, alpha=0.05, power=0.8):
    if not estimate.has_inference or not effect:
        return None
    units = max(estimate.n_clusters, 1)
    sd = estimate.se * math.sqrt(units)
    return math.ceil(((sps.norm.ppf(1 - alpha / 2) + sps.norm.ppf(power)) * sd / effect) ** 2)


def verdict(estimate, mde):
    if not estimate.has_inference:
        return "inconclusive"
    if estimate.ci_low > 0 or estimate.ci_high < 0:
        return "separates"
    if mde is not None and -mde <= estimate.ci_low and estimate.ci_high <= mde:
        return "no_difference"
    return "inconclusive"

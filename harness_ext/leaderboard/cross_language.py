"""The cross-language view: per language, does the translated benchmark rank models as the native one does?

One row per language: every model's native score (mean over that language's native test sets) and translated
score (mean over its human- or machine-translated test sets; round-trip test sets are their own origin and
stay out), the native-minus-translated difference with a CI, and Kendall's tau-b between the two rankings of
the models with a CI. Only headline, percent-scale test sets without a judge enter (judge ratings are on
another scale); a model counts where it has every test set of both sides.

Intervals (statistics from :mod:`nativeval.harness_ext.core.stats`):

* the difference: a t-interval over models of the per-model differences (``stats.cells_difference``); with one
  model, its items (native and translated items are different items: ``stats.independent_difference`` of the
  two sides' means);
* tau: with per-item scores for every model, a bootstrap over *items* (clusters kept, each test set drawn
  independently, ``stats.bootstrap_means``): the models are the user's own, fixed; what is uncertain is how
  the test sets' items ranked them. Without items (published numbers), a bootstrap over *models*
  (``stats.cluster_counts``): the rows are then a sample of configurations, and resampling them asks how
  stable the agreement is across such rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from statistics import fmean as mean
from typing import Any

import numpy as np

from nativeval.harness_ext.core import stats
from nativeval.harness_ext.leaderboard.findings import (
    CONFIDENCE,
    MEASURED,
    REFERENCE,
    TRANSLATED_ORIGINS,
    MeasuredScore,
    TestSet,
    Training,
    reference_test_set,
)
from nativeval.harness_ext.leaderboard.reference import ReferenceCell

TAU_RESAMPLES = 2000


@dataclass(frozen=True)
class LanguageRow:
    language: str
    native_score: float | None
    translated_score: float | None
    gap: float | None
    ci_low: float | None
    ci_high: float | None
    gap_method: str
    n_models: int
    tau: float | None
    tau_ci_low: float | None
    tau_ci_high: float | None
    tau_method: str
    discordant_pairs: int | None  # model pairs the two rankings order differently
    native_sets: tuple[str, ...]
    translated_sets: tuple[str, ...]
    kind: str = MEASURED
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


def _model_label(training: Training, judge: str | None = None) -> str:
    return " · ".join(
        p
        for p in (
            training.base_model,
            training.train_data,
            training.lr,
            training.tuning,
            training.method,
            judge or "",
        )
        if p
    )


def _set_name(ts: TestSet) -> str:
    return ts.task or f"{ts.title or ts.benchmark} {ts.language}"


def _side(ts: TestSet) -> str | None:
    if ts.origin == "native":
        return "native"
    return "translated" if ts.origin in TRANSLATED_ORIGINS else None


def _eligible(ts: TestSet, judge: str | None) -> bool:
    return ts.percent and ts.headline and judge is None and _side(ts) is not None


def cross_language(
    scores: Sequence[MeasuredScore], *, resamples: int = TAU_RESAMPLES, seed: int = 0, kind: str = MEASURED
) -> list[LanguageRow]:
    """One :class:`LanguageRow` per language that has a native or translated test set among ``scores``."""
    table: dict[str, dict[TestSet, dict[str, MeasuredScore]]] = defaultdict(lambda: defaultdict(dict))
    for score in scores:
        if _eligible(score.test_set, score.judge):
            table[score.test_set.language][score.test_set][_model_label(score.training, score.judge)] = score
    return [
        _language_row(language, sets, resamples=resamples, seed=seed, kind=kind)
        for language, sets in sorted(table.items())
    ]


def reference_cross_language(cells: Sequence[ReferenceCell]) -> list[LanguageRow]:
    """The same view over published per-language cells (no items: intervals over model rows)."""
    scores = []
    for cell in cells:
        ts = reference_test_set(cell, cell.lang)
        if ts is not None:
            scores.append(
                MeasuredScore(
                    ts,
                    Training(cell.base_model, cell.train_data, cell.lr, cell.tuning),
                    cell.score,
                    judge=cell.judge,
                )
            )
    return cross_language(scores, kind=REFERENCE)


def _language_row(
    language: str, sets: dict[TestSet, dict[str, MeasuredScore]], *, resamples: int, seed: int, kind: str
) -> LanguageRow:
    sides = {
        "native": sorted(ts for ts in sets if _side(ts) == "native"),
        "translated": sorted(ts for ts in sets if _side(ts) == "translated"),
    }
    names = {s: tuple(_set_name(ts) for ts in sides[s]) for s in sides}
    empty = [s for s in sides if not sides[s]]
    models = sorted(set.intersection(*(set(sets[ts]) for ts in sides["native"] + sides["translated"])))
    if empty or not models:
        note = (
            f"no {' and no '.join(empty)} test set in {language}"
            if empty
            else "no model has every native and translated test set"
        )
        return LanguageRow(
            language,
            None,
            None,
            None,
            None,
            None,
            "",
            0,
            None,
            None,
            None,
            "",
            None,
            names["native"],
            names["translated"],
            kind,
            note,
        )
    native = [mean(sets[ts][m].value for ts in sides["native"]) for m in models]
    translated = [mean(sets[ts][m].value for ts in sides["translated"]) for m in models]
    by_items = all(sets[ts][m].items for ts in sides["native"] + sides["translated"] for m in models)
    gap = _gap(native, translated, sets, sides, models, by_items, resamples=resamples, seed=seed)
    tau = stats.kendall_tau(native, translated)
    if by_items:
        low, high = _tau_ci_items(sets, sides, models, resamples=resamples, seed=seed)
        tau_method = "bootstrap over items (clusters kept), models fixed"
    else:
        low, high = _tau_ci_models(native, translated, resamples=resamples, seed=seed)
        tau_method = "bootstrap over models"
    notes = [f"gap: {gap.note}"] if gap.note else []
    if tau is None:
        notes.append("tau undefined: fewer than 2 models, or one ranking has no variation")
    return LanguageRow(
        language,
        mean(native),
        mean(translated),
        _f(gap.value),
        _f(gap.ci_low),
        _f(gap.ci_high),
        gap.method,
        len(models),
        tau,
        low,
        high,
        tau_method if low is not None else "",
        _discordant(native, translated),
        names["native"],
        names["translated"],
        kind,
        "; ".join(notes),
    )


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def _gap(
    native: list[float],
    translated: list[float],
    sets,
    sides,
    models,
    by_items: bool,
    *,
    resamples: int,
    seed: int,
) -> stats.Estimate:
    if len(models) >= 2 or not by_items:
        return stats.cells_difference([n - t for n, t in zip(native, translated, strict=True)], CONFIDENCE)
    (model,) = models
    estimates = []
    for side in ("native", "translated"):
        values, clusters = [], []
        for ts in sides[side]:
            score = sets[ts][model]
            for item, value in score.items.items():
                values.append(float(value))
                clusters.append(f"{_set_name(ts)}|{(score.clusters or {}).get(item, item)}")
        estimates.append(
            stats.mean_estimate(values, clusters, resamples=resamples, seed=seed, confidence=CONFIDENCE)
        )
    return stats.independent_difference(estimates[0], estimates[1], CONFIDENCE)


def _discordant(x: list[float], y: list[float]) -> int | None:
    if len(x) < 2:
        return None
    i, j = np.triu_indices(len(x), k=1)
    a, b = np.asarray(x), np.asarray(y)
    return int((np.sign(a[i] - a[j]) * np.sign(b[i] - b[j]) < 0).sum())


def _taus(native: np.ndarray, translated: np.ndarray) -> np.ndarray:
    """tau-b per resample row (NaN where undefined)."""
    out = np.full(native.shape[0], np.nan)
    for r in range(native.shape[0]):
        if np.isfinite(native[r]).all() and np.isfinite(translated[r]).all():
            tau = stats.kendall_tau(native[r], translated[r])
            out[r] = np.nan if tau is None else tau
    return out


def _interval(taus: np.ndarray) -> tuple[float | None, float | None]:
    if np.isfinite(taus).sum() < 0.9 * taus.size:
        return None, None  # too many resamples without a ranking (few models, ties)
    low, high = stats.percentile_ci(taus, CONFIDENCE)
    return float(low), float(high)


def _tau_ci_items(sets, sides, models, *, resamples: int, seed: int) -> tuple[float | None, float | None]:
    if len(models) < 3:
        return None, None
    boots = {}
    for k, ts in enumerate(sides["native"] + sides["translated"]):
        items = sorted(set().union(*(sets[ts][m].items for m in models)))
        values = np.array([[sets[ts][m].items.get(i, np.nan) for i in items] for m in models], dtype=float)
        mask = np.isfinite(values)
        labels = [str((sets[ts][models[0]].clusters or {}).get(i, i)) for i in items]
        boots[ts] = stats.bootstrap_means(
            np.nan_to_num(values), mask, stats.cluster_index(labels, len(items)), resamples, seed + k
        )
    native = np.mean([boots[ts] for ts in sides["native"]], axis=0)
    translated = np.mean([boots[ts] for ts in sides["translated"]], axis=0)
    return _interval(_taus(native, translated))


def _tau_ci_models(
    native: list[float], translated: list[float], *, resamples: int, seed: int
) -> tuple[float | None, float | None]:
    n = len(native)
    if n < 4:
        return None, None
    counts = stats.cluster_counts(n, resamples, np.random.default_rng(seed))
    picks = [np.repeat(np.arange(n), row) for row in counts]
    x, y = np.asarray(native), np.asarray(translated)
    return _interval(_taus(np.array([x[p] for p in picks]), np.array([y[p] for p in picks])))

"""Findings: for every test set, the training-data gap (native- minus translated-trained) with a CI and a
verdict.

A test set is (task, language, origin): a round-trip ``rtt_*`` or machine-translated ``mt_*`` user task is a
test set of its own origin. For each test set and training configuration (learning rate, tuning, method) and
judge, the gap is native-trained minus translated-trained, per translator (each translated variant, e.g.
``cohere``, ``google``) and pooled (minus the mean of the translators). Round-trip training data
(``rtt_*``) is not translated data: it is compared in the claims (:mod:`claims`), not pooled here.

How the CI is made (all statistics from :mod:`nativeval.harness_ext.core.stats`):

* measured rows with per-item scores: a paired difference over the items both rows scored, clusters by the
  catalogue's unit. Several base models of one configuration are one sample: an item of model m is the unit
  ``m|item`` and its cluster is the item's cluster (or the item), so one item scored by several models is
  resampled as one;
* rows without items (the study's published numbers, or measured rows without ``--log_samples``): a t-interval
  over the model × language cells of per-cell differences (``stats.cells_difference``).

Verdict (``stats.verdict``): *separates* (the CI excludes 0), *no_difference* (the CI lies inside ±MDE, the
minimum effect detectable at alpha 0.05 with power 0.8), else *inconclusive*, with the number of items,
clusters or cells that would be needed to separate a gap of the size seen.

Findings are grouped by test-set origin × answer form (the catalogue's ``answer_form``). The study's claim
is an interaction, computed per configuration (:func:`interactions`): "gap on free-form minus gap on
constrained, among translated test sets" and "gap on native minus gap on translated test sets".
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field, replace
from functools import cached_property
from math import fsum
from statistics import fmean as mean
from typing import Any

import numpy as np

from nativeval.harness_ext.core import stats
from nativeval.harness_ext.leaderboard.reference import ReferenceCell

CONFIDENCE = stats.CONFIDENCE
ALPHA = 0.05
POWER = 0.8
POOLED = "pooled"  # the translator label of native minus the mean of every translator
ALL_LANGUAGES = "all"  # a reference test set pooled over its languages' cells
NATIVE_DATA = "native"
ORIGIN_ORDER = (
    "native",
    "human_translated",
    "machine_translated_post_edited",
    "machine_translated",
    "round_trip_translated",
    "unknown",
)
ANSWER_FORM_ORDER = ("free_form", "constrained", None)
MEASURED, REFERENCE = "measured", "reference"
TRANSLATED_ORIGINS = ("human_translated", "machine_translated", "machine_translated_post_edited")


def training_origin(train_data: str, baseline: str = NATIVE_DATA) -> str:
    """Origin of a training-data variant: native, round_trip (``rtt_*``) or translated (any other variant)."""
    name = train_data.lower()
    if name in (baseline.lower(), NATIVE_DATA):
        return "native"
    if name.startswith(("rtt", "round_trip", "roundtrip")):
        return "round_trip"
    return "translated"


def judge_name(judge: str, prompt: str | None) -> str:
    """How the page names the judge(s) of a rating: ``gpt-4-turbo (prompt single_v2)``; judges ``a+b`` with
    prompts ``x+y``: ``a (prompt x) + b (prompt y)``."""
    judges = judge.split("+")
    prompts = (prompt or "").split("+") + [""] * len(judges)
    return " + ".join(f"{j} (prompt {p})" if p else j for j, p in zip(judges, prompts, strict=False))


def _variant(train_data: str) -> str:
    return NATIVE_DATA if training_origin(train_data) == "native" else train_data


# --- inputs ------------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class TestSet:
    """One test set by identity. ``language`` is ``all`` for a reference test set pooled over languages."""

    __test__ = False  # not a pytest class

    benchmark: str
    language: str
    origin: str
    metric: str
    answer_form: str | None = None  # catalogue: free_form | constrained
    percent: bool = False  # scores on a 0-100 (or 0-1) scale that several benchmarks share
    headline: bool = True  # the catalogue's headline metric of the benchmark
    task: str = ""  # the lm-eval task (rtt_zh_xquad), where there is one
    title: str = ""  # the catalogue's title, for display

    @property
    def group(self) -> tuple[str, str | None]:
        return self.origin, self.answer_form


@dataclass(frozen=True, order=True)
class Training:
    """A model row's fine-tuning: base model, training-data variant, learning rate, tuning mode, method."""

    base_model: str
    train_data: str
    lr: str = ""
    tuning: str = ""
    method: str = ""

    @property
    def origin(self) -> str:
        return training_origin(self.train_data)


@dataclass(frozen=True)
class MeasuredScore:
    """One measured row's score on one test set (``items``: per-item scores on the headline's scale)."""

    test_set: TestSet
    training: Training
    value: float
    judge: str | None = None
    items: Mapping[str, float] | None = None
    # item -> cluster (catalogue cluster_unit); None: items are units
    clusters: Mapping[str, str] | None = None
    # the judge's prompt version (judges "a+b": "v1+v2"); ratings of two differ
    judge_prompt: str | None = None


# --- outputs -----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Finding:
    benchmark: str
    language: str
    origin: str
    answer_form: str | None
    metric: str
    lr: str
    tuning: str
    judge: str | None
    translator: str
    gap: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    mde: float | None
    verdict: str
    n_items: int | None
    n_clusters: int | None
    n_cells: int
    positive_cells: int
    native_score: float
    translated_score: float
    kind: str = MEASURED
    method: str = ""
    task: str = ""
    title: str = ""
    headline: bool = True  # the benchmark's headline metric (XQuAD's exact_match, not include)
    note: str = ""
    judge_prompt: str | None = None  # the judge's prompt version, where the judge results record it

    @property
    def group(self) -> tuple[str, str | None]:
        return self.origin, self.answer_form

    def to_json(self) -> dict[str, Any]:
        record = asdict(self)
        record["group"] = {"origin": self.origin, "answer_form": self.answer_form}
        return record


@dataclass(frozen=True)
class Interaction:
    """Gap on one family of test sets minus the gap on another, with its CI (one training configuration)."""

    name: str  # free_form_minus_constrained | native_minus_translated
    title: str
    kind: str
    lr: str
    tuning: str
    method: str
    value: float
    ci_low: float | None
    ci_high: float | None
    p_value: float | None
    verdict: str
    left_gap: float
    right_gap: float
    left_sets: tuple[str, ...]
    right_sets: tuple[str, ...]
    n_units: int
    unit: str  # base models | items
    how: str
    note: str = ""

    def to_json(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class FindingsReport:
    findings: list[Finding] = field(default_factory=list)
    interactions: list[Interaction] = field(default_factory=list)
    not_shown: list[str] = field(default_factory=list)  # one line each: what was left out and why


# --- the shared shape: one test set x configuration, its native and translated values per unit ------------
Unit = tuple[str, ...]  # (base_model, language) for cells; (base_model, item) for items


@dataclass
class Aligned:
    """A by-items GapData as arrays over the native variant's units, in key order (``model|item``), built once
    per test set: every finding and interaction of it reads these instead of the per-unit dicts."""

    scores: dict[str, np.ndarray]  # variant -> score per unit, NaN where the variant did not score it
    cluster: np.ndarray  # cluster id per unit, ids numbered in sorted cluster-label order
    cluster_names: np.ndarray  # the labels of the ids, sorted
    model: np.ndarray  # index into ``models`` per unit
    models: list[str]

    @property
    def n_clusters(self) -> int:  # ids in use are below this
        return int(self.cluster_names.size)

    def other(self, translators: Sequence[str], translator: str) -> np.ndarray:
        """One variant's scores, or (``pooled``) the per-unit mean of every translator (NaN unless all
        scored)."""
        if translator != POOLED:
            return self.scores.get(translator, np.full(self.cluster.size, np.nan))
        return np.vstack([self.scores[n] for n in translators]).mean(axis=0)

    def shared(self, other: np.ndarray) -> np.ndarray:
        return ~np.isnan(self.scores[NATIVE_DATA]) & ~np.isnan(other)


@dataclass
class GapData:
    """Everything needed for one test set's gaps under one configuration and judge."""

    kind: str
    test_set: TestSet
    lr: str
    tuning: str
    method: str
    judge: str | None
    by_items: bool  # units are items (paired) or cells (t-interval over cells)
    _variants: dict[str, dict[Unit, float]] = field(default_factory=dict)  # train_data -> unit -> score
    _clusters: dict[Unit, str] = field(default_factory=dict)
    headline: dict[tuple[str, str], dict[str, float]] = field(
        default_factory=dict
    )  # (model, lang) -> variant
    judge_prompt: str | None = None
    # a by-items test set pooled over languages: the per-language GapData it is made of. Its arrays are joined
    # from theirs; its per-unit dicts (``variants``, ``clusters``: only the claims read them) built on demand.
    parts: tuple[GapData, ...] = ()

    @property
    def variants(self) -> dict[str, dict[Unit, float]]:
        self._join_parts()
        return self._variants

    @property
    def clusters(self) -> dict[Unit, str]:
        self._join_parts()
        return self._clusters

    @cached_property
    def variant_names(self) -> frozenset[str]:
        if self.parts:
            return frozenset(n for p in self.parts for n in p.variant_names)
        return frozenset(self._variants)

    @property
    def has_native(self) -> bool:
        if self.parts:
            return any(p.has_native for p in self.parts)
        return bool(self._variants.get(NATIVE_DATA))

    @property
    def has_clusters(self) -> bool:
        return any(p.has_clusters for p in self.parts) if self.parts else bool(self._clusters)

    def _join_parts(self) -> None:
        """Items keep their language (``zh|q1``) and their cluster within it."""
        if not self.parts or self._variants:
            return
        for m in self.parts:
            lang = m.test_set.language
            for variant, units in m.variants.items():
                target = self._variants.setdefault(variant, {})
                for (model, item), value in units.items():
                    unit = (model, f"{lang}|{item}")
                    target[unit] = value
                    self._clusters[unit] = f"{lang}|{m.clusters.get((model, item), item)}"

    @property
    def config(self) -> tuple[str, str, str]:
        return self.lr, self.tuning, self.method

    @property
    def native(self) -> dict[Unit, float]:
        return self.variants.get(NATIVE_DATA, {})

    def translators(self, origin: str = "translated") -> list[str]:
        return sorted(v for v in self.variant_names if training_origin(v) == origin)

    def other(self, translator: str) -> dict[Unit, float]:
        """Scores of one variant, or (``pooled``) the per-unit mean of every translator that has the unit's
        model (a unit is kept only where all of them scored it)."""
        if translator != POOLED:
            return self.variants.get(translator, {})
        names = self.translators()
        out: dict[Unit, float] = {}
        for unit in self.native:
            values = [self.variants[n][unit] for n in names if unit in self.variants[n]]
            if values and len(values) == len(names):
                out[unit] = mean(values)
        return out

    def differences(self, translator: str) -> dict[Unit, float]:
        other = self.other(translator)
        return {u: self.native[u] - other[u] for u in self.native if u in other}

    @cached_property
    def aligned(self) -> Aligned:
        """The by-items variants as arrays (see :class:`Aligned`)."""
        if self.parts:
            return _joined(self.parts)
        units = sorted(self.native, key=_key)
        scores = {
            name: np.array([values.get(u, np.nan) for u in units], dtype=float)
            for name, values in self.variants.items()
        }
        clusters = self._clusters
        labels = np.array([str(clusters.get(u, u[-1])) for u in units], dtype=str)
        names, cluster = (
            np.unique(labels, return_inverse=True) if units else (np.array([], str), np.zeros(0, int))
        )
        models, model = (
            np.unique(np.array([u[0] for u in units], dtype=str), return_inverse=True)
            if units
            else (np.array([]), np.zeros(0, int))
        )
        return Aligned(scores, cluster.astype(np.int64), names, model, [str(m) for m in models])


def _joined(parts: Sequence[GapData]) -> Aligned:
    """A test set pooled over languages from its languages' arrays: units part after part (the order changes
    only float rounding), clusters ``lang|cluster`` renumbered in sorted label order (the draws follow it)."""
    arrays = [(p.test_set.language, p.aligned) for p in parts]
    labels = np.concatenate([np.char.add(f"{lang}|", a.cluster_names.astype(str)) for lang, a in arrays])
    names, renumber = np.unique(labels, return_inverse=True)
    clusters, offset = [], 0
    for _, a in arrays:
        clusters.append(renumber[offset + a.cluster])
        offset += a.n_clusters
    models = sorted({m for _, a in arrays for m in a.models})
    model = np.concatenate(
        [
            np.searchsorted(models, np.asarray(a.models, dtype=str))[a.model] if a.models else a.model
            for _, a in arrays
        ]
    )
    variants = sorted({v for _, a in arrays for v in a.scores})
    scores = {
        v: np.concatenate([a.scores.get(v, np.full(a.cluster.size, np.nan)) for _, a in arrays])
        for v in variants
    }
    return Aligned(scores, np.concatenate(clusters).astype(np.int64), names, model.astype(np.int64), models)


def _key(unit: Unit) -> str:
    return "|".join(unit)


def gap_estimates(
    data: GapData, translators: Sequence[str], *, resamples: int, seed: int
) -> list[stats.Estimate | None]:
    """Each translator's (or ``pooled``) gap; by items, all from one shared set of cluster draws."""
    if not data.by_items:
        return [gap_estimate(data, t, resamples=resamples, seed=seed) for t in translators]
    aligned = data.aligned
    names = data.translators()
    return stats.paired_arrays_differences(
        aligned.scores[NATIVE_DATA],
        [aligned.other(names, t) for t in translators],
        aligned.cluster,
        resamples=resamples,
        seed=seed,
        confidence=CONFIDENCE,
    )


def gap_estimate(data: GapData, translator: str, *, resamples: int, seed: int) -> stats.Estimate | None:
    """The gap's estimate from the same units (paired items, or cells)."""
    if data.by_items:
        aligned = data.aligned
        other_scores = aligned.other(data.translators(), translator)
        shared = aligned.shared(other_scores)
        if not shared.any():
            return None
        # the units both scored, in key order, clusters as ids in label order: stats.paired_difference's
        # arrays
        return stats.paired_arrays_difference(
            aligned.scores[NATIVE_DATA][shared],
            other_scores[shared],
            aligned.cluster[shared],
            resamples=resamples,
            seed=seed,
            confidence=CONFIDENCE,
        )
    native, other = data.native, data.other(translator)
    shared = [u for u in native if u in other]
    if not shared:
        return None
    return stats.cells_difference([native[u] - other[u] for u in shared], confidence=CONFIDENCE)


def _f(value: Any) -> float | None:
    return None if value is None else float(value)


def judge_verdict(estimate: stats.Estimate, unit: str) -> tuple[str, float | None, str]:
    """(verdict, MDE, note): how many units would separate a gap of the size seen, when inconclusive."""
    mde = stats.minimum_detectable_effect(estimate, ALPHA, POWER) if estimate.has_inference else None
    verdict = stats.verdict(estimate, mde)
    note = estimate.note or ""
    if verdict == "inconclusive" and estimate.has_inference and estimate.value:
        needed = stats.units_needed(estimate, abs(estimate.value), ALPHA, POWER)
        if needed:
            note = "; ".join(
                p
                for p in (
                    note,
                    f"about {needed} {unit} would separate a gap of this size (have {estimate.n_clusters})",
                )
                if p
            )
    return verdict, _f(mde), note


def _finding(data: GapData, translator: str, estimate: stats.Estimate | None) -> Finding | None:
    if estimate is None:
        return None
    unit = "cells" if not data.by_items else ("clusters" if data.has_clusters else "items")
    verdict, mde, note = judge_verdict(estimate, unit)
    if data.by_items:
        aligned = data.aligned
        other_scores = aligned.other(data.translators(), translator)
        shared = aligned.shared(other_scores)
        native_values, other_values = aligned.scores[NATIVE_DATA][shared], other_scores[shared]
        models = {aligned.models[i] for i in np.unique(aligned.model[shared])}
        cells = {c for c in data.headline if c[0] in models}
        per_cell = [
            data.headline[c][NATIVE_DATA] - _other_headline(data, c, translator)
            for c in sorted(cells)
            if c in data.headline
            and NATIVE_DATA in data.headline[c]
            and _other_headline(data, c, translator) is not None
        ]
    else:
        diffs = data.differences(translator)
        other = data.other(translator)
        cells = {(u[0], u[1]) for u in diffs}
        per_cell = list(diffs.values())
        native_values, other_values = [data.native[u] for u in diffs], [other[u] for u in diffs]
    ts = data.test_set
    return Finding(
        benchmark=ts.benchmark,
        language=ts.language,
        origin=ts.origin,
        answer_form=ts.answer_form,
        metric=ts.metric,
        lr=data.lr,
        tuning=data.tuning,
        judge=data.judge,
        translator=translator,
        gap=float(estimate.value),
        ci_low=_f(estimate.ci_low),
        ci_high=_f(estimate.ci_high),
        p_value=_f(estimate.p_value),
        mde=mde,
        verdict=verdict,
        n_items=estimate.n_items if data.by_items else None,
        n_clusters=estimate.n_clusters if data.by_items else None,
        n_cells=len(cells),
        positive_cells=sum(1 for d in per_cell if d > 0),
        native_score=_mean_of(native_values),
        translated_score=_mean_of(other_values),
        kind=data.kind,
        method=estimate.method,
        task=ts.task,
        title=ts.title,
        headline=ts.headline,
        note=note,
        judge_prompt=data.judge_prompt,
    )


def _mean_of(values: Sequence[float] | np.ndarray) -> float:
    """statistics.fmean's value (an exactly rounded sum), fast on an array."""
    as_list = np.asarray(values, dtype=float).tolist()
    return fsum(as_list) / len(as_list)


def _other_headline(data: GapData, cell: tuple[str, str], translator: str) -> float | None:
    scores = data.headline.get(cell, {})
    names = data.translators() if translator == POOLED else [translator]
    values = [scores[n] for n in names if n in scores]
    return mean(values) if values and len(values) == len(names) else None


def findings_of(series: Iterable[GapData], *, resamples: int = 2000, seed: int = 0) -> list[Finding]:
    out = []
    for data in series:
        translators = data.translators()
        if not data.has_native or not translators:
            continue
        compared = [*translators, POOLED] if len(translators) > 1 else translators
        estimates = gap_estimates(data, compared, resamples=resamples, seed=seed)
        for translator, estimate in zip(compared, estimates, strict=True):
            finding = _finding(data, translator, estimate)
            if finding is not None:
                out.append(finding)
    return sorted(out, key=finding_order)


def finding_order(f: Finding) -> tuple:
    return (
        f.kind != MEASURED,
        _rank(ORIGIN_ORDER, f.origin),
        _rank(ANSWER_FORM_ORDER, f.answer_form),
        f.benchmark,
        f.metric,
        f.language != ALL_LANGUAGES,
        f.language,
        f.judge or "",
        f.lr,
        f.tuning,
        f.translator != POOLED,
        f.translator,
    )


def _rank(order: Sequence, value: Any) -> int:
    return order.index(value) if value in order else len(order)


# --- reference cells ---------------------------------------------------------------------------------------
def reference_test_set(cell: ReferenceCell, language: str) -> TestSet | None:
    bench = cell.catalogue_benchmark
    if bench is None:
        return None
    headline = bench.headline is not None and cell.metric in (
        bench.headline.metric,
        f"sum_{bench.headline.metric}",
    )
    return TestSet(
        benchmark=bench.name,
        language=language,
        origin=bench.origin,
        metric=cell.metric,
        answer_form=bench.answer_form,
        percent=bench.percent,
        headline=headline,
        title=bench.raw.get("short_title", bench.title),
    )


def reference_series(cells: Sequence[ReferenceCell]) -> tuple[list[GapData], list[str]]:
    """GapData per reference test set (per language, and pooled over languages where there are several),
    configuration and judge; and one line per benchmark the catalogue doesn't know."""
    series: dict[tuple, GapData] = {}
    unknown: dict[str, int] = defaultdict(int)
    languages: dict[tuple, set[str]] = defaultdict(set)
    for cell in cells:
        if cell.catalogue_benchmark is None:
            unknown[cell.benchmark] += 1
            continue
        languages[(cell.benchmark, cell.metric)].add(cell.lang)
    for cell in cells:
        if cell.catalogue_benchmark is None:
            continue
        scopes = [cell.lang] + ([ALL_LANGUAGES] if len(languages[(cell.benchmark, cell.metric)]) > 1 else [])
        for scope in scopes:
            ts = reference_test_set(cell, scope)
            key = (ts, cell.lr, cell.tuning, cell.judge)
            data = series.setdefault(
                key, GapData(REFERENCE, ts, cell.lr, cell.tuning, "", cell.judge, by_items=False)
            )
            variant = _variant(cell.train_data)
            data.variants.setdefault(variant, {})[(cell.base_model, cell.lang)] = cell.score
            data.headline.setdefault((cell.base_model, cell.lang), {})[variant] = cell.score
    not_shown = [
        f"not shown: reference benchmark {name!r} ({n} cells) is not in the catalogue "
        f"(no catalogue benchmark has reference_key {name!r})"
        for name, n in sorted(unknown.items())
    ]
    return list(series.values()), not_shown


# --- measured rows -----------------------------------------------------------------------------------------
def measured_series(scores: Sequence[MeasuredScore]) -> list[GapData]:
    """GapData per measured test set, configuration and judge: paired items where every row has them."""
    grouped: dict[tuple, list[MeasuredScore]] = defaultdict(list)
    for score in scores:
        t = score.training
        if not t.train_data:
            continue  # a row without a training-data variant (no manifest) takes no part in a gap
        grouped[(score.test_set, t.lr, t.tuning, t.method, score.judge, score.judge_prompt)].append(score)
    out = []
    for (ts, lr, tuning, method, judge, prompt), members in grouped.items():
        by_items = all(s.items for s in members)
        data = GapData(MEASURED, ts, lr, tuning, method, judge, by_items=by_items, judge_prompt=prompt)
        clusters = data.clusters
        for s in members:
            cell = (s.training.base_model, ts.language)
            variant = _variant(s.training.train_data)
            data.headline.setdefault(cell, {})[variant] = s.value
            target = data.variants.setdefault(variant, {})
            if by_items:
                for item, value in (s.items or {}).items():
                    unit = (s.training.base_model, str(item))
                    target[unit] = float(value)
                    if s.clusters and item in s.clusters:
                        clusters[unit] = str(s.clusters[item])
            else:
                target[cell] = s.value
        out.append(data)
    return out + pooled_over_languages(out)


def pooled_over_languages(series: Sequence[GapData]) -> list[GapData]:
    """One test set per benchmark × origin over its languages (``language = all``), as the study's tables pool
    model × language cells: items keep their language (``zh|q1``) and their cluster within it."""
    groups: dict[tuple, list[GapData]] = defaultdict(list)
    for data in series:
        pooled_set = replace(data.test_set, language=ALL_LANGUAGES, task="")
        groups[(pooled_set, data.lr, data.tuning, data.method, data.judge, data.judge_prompt)].append(data)
    out = []
    for (ts, lr, tuning, method, judge, prompt), members in groups.items():
        languages = [m.test_set.language for m in members]
        if len(set(languages)) < 2 or len(set(languages)) < len(languages):
            continue
        by_items = all(m.by_items for m in members)
        pooled = GapData(
            MEASURED,
            ts,
            lr,
            tuning,
            method,
            judge,
            by_items=by_items,
            judge_prompt=prompt,
            parts=tuple(sorted(members, key=lambda m: m.test_set.language)) if by_items else (),
        )
        for m in members:
            for cell, scores in m.headline.items():
                pooled.headline.setdefault(cell, {}).update(scores)
                if not by_items:
                    for variant, value in scores.items():
                        pooled.variants.setdefault(variant, {})[cell] = value
        out.append(pooled)
    return out


# --- interactions ------------------------------------------------------------------------------------------
INTERACTIONS = {
    "free_form_minus_constrained": (
        "gap on free-form minus gap on constrained answers, among translated test sets"
    ),
    "native_minus_translated": "gap on native minus gap on translated test sets",
}


def _sides(name: str, ts: TestSet) -> str | None:
    if name == "free_form_minus_constrained":
        if ts.origin not in TRANSLATED_ORIGINS or ts.answer_form is None:
            return None
        return "left" if ts.answer_form == "free_form" else "right"
    if ts.origin == "native":
        return "left"
    return "right" if ts.origin in TRANSLATED_ORIGINS else None


def _set_name(ts: TestSet) -> str:
    return ts.task or f"{ts.benchmark} {ts.metric}"


def interactions(series: Sequence[GapData], *, resamples: int = 2000, seed: int = 0) -> list[Interaction]:
    """Each interaction per (kind, configuration), over the headline, percent-scale test sets (judge ratings
    and sums are on scales that don't mix with percentages and are left out).

    Reference cells: per base model, the mean pooled gap over its cells on one side minus the same on the
    other; a t-interval over base models (``stats.cells_difference``). The base model is the unit the two
    sides share (the same fine-tuned models are scored on both), so pairing by it removes model-to-model
    variation; languages cannot pair (native TyDi QA is ru only, CMMLU zh only).
    Measured items: each side's pooled per-item gaps as one sample (items weigh equally, clusters kept apart
    per test set; ``stats.mean_estimate``), then ``stats.independent_difference``: the two sides share no
    items.
    """
    eligible = [
        d
        for d in series
        if d.test_set.percent
        and d.test_set.headline
        and d.judge is None
        and d.test_set.language != ALL_LANGUAGES
        and d.native
        and d.translators()
    ]
    by_config: dict[tuple, list[GapData]] = defaultdict(list)
    for data in eligible:
        by_config[(data.kind, data.config)].append(data)
    out = []
    for (kind, (lr, tuning, method)), members in sorted(by_config.items()):
        for name, title in INTERACTIONS.items():
            sides: dict[str, list[GapData]] = {"left": [], "right": []}
            for data in members:
                side = _sides(name, data.test_set)
                if side:
                    sides[side].append(data)
            if not sides["left"] or not sides["right"]:
                continue
            result = _interaction(
                kind, name, title, lr, tuning, method, sides, resamples=resamples, seed=seed
            )
            if result is not None:
                out.append(result)
    return out


def _interaction(
    kind: str,
    name: str,
    title: str,
    lr: str,
    tuning: str,
    method: str,
    sides: dict[str, list[GapData]],
    *,
    resamples: int,
    seed: int,
) -> Interaction | None:
    names = {s: tuple(sorted({_set_name(d.test_set) for d in sides[s]})) for s in sides}
    if all(d.by_items for d in sides["left"] + sides["right"]):
        estimates = {}
        for side, members in sides.items():
            # per-item gaps keyed "<set>|<language>|<model>|<item>" in key order, clusters kept apart per test
            # set: members in prefix order, each one's units and cluster ids (offset past the previous) in
            # order
            values, clusters, offset = [], [], 0
            for d in sorted(members, key=lambda d: f"{_set_name(d.test_set)}|{d.test_set.language}|"):
                aligned = d.aligned
                other = aligned.other(d.translators(), POOLED)
                shared = aligned.shared(other)
                values.append(aligned.scores[NATIVE_DATA][shared] - other[shared])
                clusters.append(aligned.cluster[shared] + offset)
                offset += aligned.n_clusters
            estimates[side] = stats.mean_estimate(
                np.concatenate(values),
                np.concatenate(clusters),
                resamples=resamples,
                seed=seed,
                confidence=CONFIDENCE,
            )
        estimate = stats.independent_difference(estimates["left"], estimates["right"], confidence=CONFIDENCE)
        left, right = estimates["left"].value, estimates["right"].value
        n_units, unit, how = estimate.n_items, "items", "per-item gaps per side; independent difference"
    else:
        per_model: dict[str, dict[str, list[float]]] = {"left": defaultdict(list), "right": defaultdict(list)}
        for side, members in sides.items():
            for d in members:
                for cell in d.headline:
                    native = d.headline[cell].get(NATIVE_DATA)
                    other = _other_headline(d, cell, POOLED)
                    if native is not None and other is not None:
                        per_model[side][cell[0]].append(native - other)
        models = sorted(set(per_model["left"]) & set(per_model["right"]))
        if not models:
            return None
        diffs = [mean(per_model["left"][m]) - mean(per_model["right"][m]) for m in models]
        estimate = stats.cells_difference(diffs, confidence=CONFIDENCE)
        left = mean(mean(per_model["left"][m]) for m in models)
        right = mean(mean(per_model["right"][m]) for m in models)
        n_units, unit, how = (
            len(models),
            "base models",
            "per base model: mean gap left minus right; t over models",
        )
    verdict, _, note = judge_verdict(estimate, unit)
    return Interaction(
        name=name,
        title=title,
        kind=kind,
        lr=lr,
        tuning=tuning,
        method=method,
        value=float(estimate.value),
        ci_low=_f(estimate.ci_low),
        ci_high=_f(estimate.ci_high),
        p_value=_f(estimate.p_value),
        verdict=verdict,
        left_gap=float(left),
        right_gap=float(right),
        left_sets=names["left"],
        right_sets=names["right"],
        n_units=n_units,
        unit=unit,
        how=how,
        note=note,
    )


# --- entry points ------------------------------------------------------------------------------------------
def reference_findings(cells: Sequence[ReferenceCell]) -> FindingsReport:
    """Findings and interactions from published cells (``reference.load_reference``)."""
    series, not_shown = reference_series(cells)
    return FindingsReport(findings_of(series), interactions(series), not_shown)


def measured_findings(
    scores: Sequence[MeasuredScore], *, resamples: int = 2000, seed: int = 0
) -> FindingsReport:
    """Findings and interactions from measured rows (one :class:`MeasuredScore` per row × test set)."""
    series = measured_series(scores)
    return FindingsReport(
        findings_of(series, resamples=resamples, seed=seed),
        interactions(series, resamples=resamples, seed=seed),
    )

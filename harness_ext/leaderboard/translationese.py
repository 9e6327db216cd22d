"""Translationese sensitivity: score(source) - score(translation) on the same items, with a paired CI.

A translated task made by `nativeval translate-task` names its source in ``metadata.provenance.source_task``
and keeps the source's documents (same order; an extractive-QA item whose answer span was lost is left out).
Items are paired by the document's own ``id`` when the rows carry one, else by lm-eval's ``doc_id``, and per
subject for group tasks, so an excluded item never shifts the pairing.

* :func:`translationese_sensitivity` is the pure computation (per-item scores in, one result out), paired and
  clustered by the catalogue's ``cluster_unit`` (items of one passage or subject are one unit of evidence).
* :func:`pairs_in_results` is the adapter: it finds source/translation pairs in lm-eval results directories
  (``results_*.json`` + ``samples_*.jsonl`` of ``--log_samples``) and computes one result per model and pair.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any

from nativeval.harness_ext.catalogue.model import builtin_catalogue
from nativeval.harness_ext.core.io import iter_jsonl
from nativeval.harness_ext.core.stats import Estimate, paired_difference
from nativeval.harness_ext.leaderboard.samples import cluster_of, item_key
from nativeval.harness_ext.report.naming import row_key_of


@dataclass(frozen=True)
class Sensitivity:
    """Mean per-item score of the source and of its translation over the items both were scored on, and their
    paired difference (an :class:`~nativeval.harness_ext.core.stats.Estimate`: clustered by the catalogue's
    unit)."""

    n: int
    source_score: float
    translation_score: float
    estimate: Estimate  # source - translation
    confidence: float
    source_only: int  # items scored on the source but not on the translation (e.g. excluded spans)
    translation_only: int

    @property
    def sensitivity(self) -> float:
        return self.estimate.value  # type: ignore[return-value]

    @property
    def ci_low(self) -> float | None:
        return self.estimate.ci_low

    @property
    def ci_high(self) -> float | None:
        return self.estimate.ci_high

    @property
    def p_value(self) -> float | None:
        return self.estimate.p_value

    @property
    def significant(self) -> bool:
        return self.estimate.excludes(0.0)

    def to_dict(self) -> dict[str, Any]:
        e = self.estimate
        return {
            "n": self.n,
            "source_score": self.source_score,
            "translation_score": self.translation_score,
            "sensitivity": e.value,
            "ci_low": e.ci_low,
            "ci_high": e.ci_high,
            "p_value": e.p_value,
            "se": e.se,
            "n_clusters": e.n_clusters,
            "method": e.method,
            "note": e.note,
            "confidence": self.confidence,
            "source_only": self.source_only,
            "translation_only": self.translation_only,
            "significant": self.significant,
        }


def translationese_sensitivity(
    source: Mapping[str, float],
    translation: Mapping[str, float],
    clusters: Mapping[str, str] | None = None,
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> Sensitivity:
    """Paired comparison of per-item scores keyed by document id (the keys both share are compared);
    ``clusters`` maps an item to its sampling cluster (the catalogue's ``cluster_unit``: a passage, a
    subject), so items of one passage count as one unit of evidence."""
    common = sorted(set(source) & set(translation))
    if not common:
        raise ValueError("the source and the translation share no scored item")
    a = [float(source[k]) for k in common]
    b = [float(translation[k]) for k in common]
    estimate = paired_difference(
        source, translation, clusters, resamples=resamples, seed=seed, confidence=confidence
    )
    return Sensitivity(
        n=len(common),
        source_score=sum(a) / len(a),
        translation_score=sum(b) / len(b),
        estimate=estimate,
        confidence=confidence,
        source_only=len(set(source) - set(translation)),
        translation_only=len(set(translation) - set(source)),
    )


# --- the adapter over lm-eval output files ------------------------------------------------------------------
@dataclass(frozen=True)
class TranslationPair:
    model: str
    benchmark: str
    language: str  # the translation's language
    origin: str  # machine_translated | round_trip_translated
    source_task: str
    translated_task: str
    metric: str
    filter: str
    result: Sensitivity

    def to_dict(self) -> dict[str, Any]:
        return {**{k: v for k, v in asdict(self).items() if k != "result"}, **self.result.to_dict()}


@dataclass(frozen=True)
class TaskProvenance:
    """A task's ``metadata.provenance`` as `nativeval translate-task` (or the catalogue) writes it; values
    as found (None where absent)."""

    task: Any = None
    subtask: Any = None
    source_task: Any = None  # a translation: the task it was translated from
    benchmark: Any = None
    language: Any = None
    origin: Any = None
    metrics: Any = None

    @classmethod
    def from_json(cls, record: Mapping[str, Any]) -> TaskProvenance:
        return cls(**{f.name: record.get(f.name) for f in fields(cls)})


MetricChooser = Callable[[str, TaskProvenance], tuple[str, str]]


def default_metric(benchmark: str, provenance: TaskProvenance) -> tuple[str, str]:
    """The catalogue's headline (metric, filter) of ``benchmark`` when it has one, else its first metric."""
    for task in builtin_catalogue().tasks:
        headline = task.benchmark.raw.get("headline") if task.benchmark.name == benchmark else None
        if headline:
            return headline["metric"], headline.get("filter", "none")
    metrics = provenance.metrics or ["acc"]
    return metrics[0], "none"


def cluster_unit(benchmark: str) -> str | None:
    """The catalogue's item-cluster unit of ``benchmark`` (a doc field such as ``context``, or
    ``subject``)."""
    return next(
        (t.benchmark.cluster_unit for t in builtin_catalogue().tasks if t.benchmark.name == benchmark), None
    )


def item_scores(samples: Path, metric: str, filt: str, prefix: str = "") -> dict[str, float]:
    """Per-item ``metric`` under ``filt`` of one samples file, keyed by :func:`item_key`."""
    scores: dict[str, float] = {}
    for row in iter_jsonl(samples):
        if row.get("filter", filt) != filt:
            continue
        value = row.get(metric)
        if isinstance(value, (int, float)) and not isinstance(value, bool):
            scores[prefix + item_key(row)] = float(value)
    return scores


def item_clusters(samples: Path, unit: str | None, subject: str | None, prefix: str = "") -> dict[str, str]:
    """Each item's sampling cluster in one samples file (the source's: a translated passage is the same
    passage), keyed by :func:`item_key`; empty when the benchmark has no cluster unit."""
    if unit is None:
        return {}
    found: dict[str, str] = {}
    for row in iter_jsonl(samples):
        cluster = cluster_of(row, unit, subject)
        if cluster is not None:
            found[prefix + item_key(row)] = f"{prefix}{cluster}"
    return found


@dataclass
class _TaskRun:
    model: str
    name: str
    provenance: TaskProvenance
    samples: Path | None


def run_label(data: Mapping[str, Any], results_dir: Path) -> str:
    """The model a results file is paired under: the one naming rule
    (:mod:`nativeval.harness_ext.report.naming`)."""
    return row_key_of(dict(data), results_dir).label


def _task_runs(paths: Iterable[str | Path]) -> list[_TaskRun]:
    runs = []
    files = []
    for path in map(Path, paths):
        files += sorted(path.rglob("results_*.json")) if path.is_dir() else [path]
    for results in files:
        try:
            data = json.loads(results.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        stamp = results.stem.removeprefix("results_")
        model = run_label(data, results.parent)
        for name, config in (data.get("configs") or {}).items():
            provenance = ((config or {}).get("metadata") or {}).get("provenance")
            if isinstance(provenance, dict):
                samples = results.parent / f"samples_{name}_{stamp}.jsonl"
                record = TaskProvenance.from_json(provenance)
                runs.append(_TaskRun(model, name, record, samples if samples.is_file() else None))
    return runs


def pairs_in_results(
    paths: Iterable[str | Path],
    metric_for: MetricChooser = default_metric,
    *,
    resamples: int = 10_000,
    confidence: float = 0.95,
    seed: int = 0,
) -> list[TranslationPair]:
    """Every (model, translated task) whose source task was also run by that model, compared item by item."""
    runs = _task_runs(paths)
    # a judge's results file repeats the run's configs but has no samples of its own: the lm-eval run is the
    # one
    by_task = {(r.model, r.provenance.task, r.provenance.subtask): r for r in runs if r.samples}
    groups: dict[tuple[str, str], list[tuple[_TaskRun, _TaskRun]]] = {}
    for run in runs:
        source_name = run.provenance.source_task
        if not source_name or run.samples is None:
            continue
        source = by_task.get((run.model, source_name, run.provenance.subtask))
        if source is None or source.samples is None:
            continue
        groups.setdefault((run.model, str(run.provenance.task)), []).append((source, run))
    pairs = []
    for (model, translated), members in sorted(groups.items()):
        provenance = members[0][1].provenance
        metric, filt = metric_for(str(provenance.benchmark), provenance)
        compared: dict[tuple[str, str], tuple[dict[str, float], dict[str, float]]] = {}
        unit = cluster_unit(str(provenance.benchmark))
        clusters: dict[str, str] = {}
        for source, translation in members:
            subtask = translation.provenance.subtask
            prefix = f"{subtask}:" if subtask else ""
            clusters.update(item_clusters(source.samples, unit, subtask, prefix))
            if (
                metric == JUDGE_RATING
            ):  # scored by the judges: one comparison per judge, from its judgments files
                source_by_judge, translation_by_judge = (
                    judged_items(source, prefix),
                    judged_items(translation, prefix),
                )
                for judge in set(source_by_judge) & set(translation_by_judge):
                    both = compared.setdefault((f"{JUDGE_RATING},{judge}", "none"), ({}, {}))
                    both[0].update(source_by_judge[judge])
                    both[1].update(translation_by_judge[judge])
            else:
                both = compared.setdefault((metric, filt), ({}, {}))
                both[0].update(item_scores(source.samples, metric, filt, prefix))
                both[1].update(item_scores(translation.samples, metric, filt, prefix))
        for (name, name_filter), (source_items, translation_items) in sorted(compared.items()):
            if not set(source_items) & set(translation_items):
                continue
            result = translationese_sensitivity(
                source_items,
                translation_items,
                clusters or None,
                resamples=resamples,
                confidence=confidence,
                seed=seed,
            )
            pairs.append(
                TranslationPair(
                    model,
                    str(provenance.benchmark),
                    str(provenance.language),
                    str(provenance.origin),
                    str(provenance.source_task),
                    translated,
                    name,
                    name_filter,
                    result,
                )
            )
    return pairs


# the headline of judged benchmarks (open QA): in the judge's files, not lm-eval's samples
JUDGE_RATING = "rating"


def judged_items(run: _TaskRun, prefix: str = "") -> dict[str, dict[str, float]]:
    """Per judge, the rating of each item of ``run``: the ``judgments_<task>_<judge>_<date>.jsonl`` rows that
    `nativeval judge` wrote beside the samples file (keyed by lm-eval's doc_id, the same in a translation)."""
    if run.samples is None:
        return {}
    stamp = run.samples.stem.removeprefix(f"samples_{run.name}_")
    found: dict[str, dict[str, float]] = {}
    for path in sorted(run.samples.parent.glob(f"judgments_{run.name}_*_{stamp}.jsonl")):
        for row in iter_jsonl(path):
            rating = row.get("rating")
            if (
                row.get("task") == run.name
                and isinstance(rating, (int, float))
                and not isinstance(rating, bool)
            ):
                found.setdefault(str(row.get("judge")), {})[f"{prefix}{row.get('doc_id')}"] = float(rating)
    return found

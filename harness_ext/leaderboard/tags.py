"""Scores split by an item tag (Global-MMLU cultural sensitivity, INCLUDE regional feature), with CIs.

Pure functions over per-item scores that carry their tags (lm-eval's ``samples_*.jsonl`` rows keep the whole
``doc``, so the catalogue's ``item_tags`` fields are in every row):

* :func:`items_from_samples` - sample rows -> :class:`TaggedItem` (id, score, tags, sampling cluster);
* :func:`split_by_tag` - one model's score on every value of a tag (CS vs CA), each with a bootstrap CI,
  and the difference between two values with its CI (:attr:`TagSplit.contrast`);
* :func:`gap_by_tag` - for a variant study, the native-minus-translated training gap on each value, paired
  over the items both runs scored, and how much larger the gap is on one value than on another, with a CI
  ("the translated-data penalty is 4.2 points larger on CS items [1.0, 7.5]").

A value outside the catalogue's vocabulary for the tag is counted under ``"other"`` (one warning per value,
never dropped); a value with no items (a ``--limit`` run) is reported as empty (``n == 0``, ``mean is None``),
never as 0 %. With ``cluster`` set on the items (the catalogue's ``cluster_unit``), clusters are the unit of
inference (:mod:`nativeval.harness_ext.core.stats`: t(G-1) with few, the cluster bootstrap with many, none
with one), and a contrast resamples both parts together, so items of one subject are not treated as
independent.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.core import stats
from nativeval.harness_ext.core.stats import Estimate

log = logging.getLogger(__name__)

OTHER = "other"
UNLABELLED = "(none)"  # how an empty tag value ("" on Global-MMLU rows nobody annotated) is shown
DEFAULT_RESAMPLES = 2000


@dataclass(frozen=True)
class TaggedItem:
    item_id: str
    score: float
    tags: Mapping[str, str]
    cluster: str | None = None


def estimate_text(estimate: Estimate, scale: float = 100.0, unit: str = "%") -> str:
    """ "61.0% [55.2, 66.8] (n=300)"; "empty (no items)"; without an interval, the value and why."""
    if estimate.value is None:
        return "empty (no items)"
    if not estimate.has_inference:
        return f"{estimate.value * scale:.1f}{unit} (n={estimate.n_items}; {estimate.note})"
    return (
        f"{estimate.value * scale:.1f}{unit} [{estimate.ci_low * scale:.1f}, {estimate.ci_high * scale:.1f}] "
        f"(n={estimate.n_items})"
    )


@dataclass(frozen=True)
class TagSplit:
    tag: str
    subsets: dict[str, Estimate]
    contrast: Estimate | None = None  # subsets[a] - subsets[b] for the pair asked for
    pair: tuple[str, str] | None = None
    warnings: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "subsets": {k: asdict(v) for k, v in self.subsets.items()},
            "contrast": asdict(self.contrast) if self.contrast else None,
            "pair": self.pair,
            "warnings": list(self.warnings),
        }


@dataclass(frozen=True)
class GapSplit:
    """Native-minus-translated gap per tag value and the gap's difference between two values."""

    tag: str
    gaps: dict[str, Estimate]
    pair: tuple[str, str] | None = None
    gap_difference: Estimate | None = None
    warnings: tuple[str, ...] = ()
    unpaired: int = 0  # items scored by only one of the two runs (left out of every gap)

    def sentence(self, scale: float = 100.0) -> str:
        if self.pair is None or self.gap_difference is None:
            return ""
        a, b = self.pair
        diff = self.gap_difference
        if diff.value is None:
            return (
                f"the translated-data penalty cannot be compared on {a} and {b} items: one of them is empty"
            )
        word = "larger" if diff.value >= 0 else "smaller"
        interval = (
            f"[{diff.ci_low * scale:.1f}, {diff.ci_high * scale:.1f}]"
            if diff.has_inference
            else f"({diff.note})"
        )
        return (
            f"the translated-data penalty is {abs(diff.value) * scale:.1f} points {word} on {a} items "
            f"than on {b} items {interval}"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "tag": self.tag,
            "gaps": {k: asdict(v) for k, v in self.gaps.items()},
            "pair": self.pair,
            "gap_difference": asdict(self.gap_difference) if self.gap_difference else None,
            "sentence": self.sentence(),
            "warnings": list(self.warnings),
            "unpaired": self.unpaired,
        }


@dataclass
class _Normalizer:
    vocabulary: tuple[str, ...] | None
    tag: str
    warnings: list[str] = field(default_factory=list)
    _warned: set[str] = field(default_factory=set)

    def __call__(self, raw: Any) -> str:
        value = "" if raw is None else str(raw)
        if self.vocabulary is None or value in self.vocabulary:
            return value or UNLABELLED
        if value not in self._warned:
            self._warned.add(value)
            message = (
                f"tag {self.tag}: value {value!r} is not in the catalogue's vocabulary "
                f"({', '.join(repr(v) for v in self.vocabulary)}); counted under {OTHER!r}"
            )
            self.warnings.append(message)
            log.warning(message)
        return OTHER


def subset_names(vocabulary: Sequence[str] | None) -> list[str]:
    """The names a tag's values are reported under (empty value -> UNLABELLED), vocabulary order."""
    return [v or UNLABELLED for v in vocabulary] if vocabulary is not None else []


def items_from_samples(
    rows: Iterable[Mapping[str, Any]],
    metric: str,
    tags: Sequence[str],
    *,
    filter_name: str | None = None,
    cluster_field: str | None = None,
    prefix: str = "",
    member_tags: Mapping[str, str] | None = None,
    default_cluster: str | None = None,
) -> list[TaggedItem]:
    """lm-eval ``samples_*.jsonl`` rows -> tagged items (keyed ``<prefix><doc_id>``, as the leaderboard keys
    items). Rows of another filter and rows without a numeric ``metric`` are skipped. ``member_tags`` are the
    tags every row of the file shares (CMMLU / C-Eval subject categories: the task's
    ``metadata.provenance.member_tags``); a doc field of the same name wins. Items whose doc lacks
    ``cluster_field`` fall in ``default_cluster`` (a subject task's member name), else in their own."""
    items = []
    for row in rows:
        if filter_name is not None and row.get("filter", filter_name) != filter_name:
            continue
        value = row.get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        doc = {**(member_tags or {}), **(row.get("doc") or {})}
        item_tags = {tag: "" if doc.get(tag) is None else str(doc.get(tag)) for tag in tags}
        cluster = default_cluster
        if cluster_field is not None and doc.get(cluster_field) is not None:
            cluster = str(doc[cluster_field])
        items.append(TaggedItem(f"{prefix}{row.get('doc_id')}", float(value), item_tags, cluster))
    return items


def _groups(
    items: Sequence[TaggedItem], tag: str, vocabulary: Sequence[str] | None, normalize: _Normalizer
) -> dict[str, list[TaggedItem]]:
    groups: dict[str, list[TaggedItem]] = {name: [] for name in subset_names(vocabulary)}
    for item in items:
        groups.setdefault(normalize(item.tags.get(tag)), []).append(item)
    return groups


def _cluster_labels(items: Sequence[TaggedItem]) -> list[str] | None:
    """Each item's sampling cluster (an item without one is its own); None when no item has one."""
    if all(item.cluster is None for item in items):
        return None
    return [item.cluster if item.cluster is not None else f"item:{item.item_id}" for item in items]


def _empty() -> Estimate:
    return Estimate(None, None, None, n_items=0, note=stats.NO_ITEMS)


def split_by_tag(
    items: Sequence[TaggedItem],
    tag: str,
    vocabulary: Sequence[str] | None = None,
    *,
    pair: tuple[str, str] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> TagSplit:
    """One model's score on each value of ``tag`` (every vocabulary value is listed, empty ones as empty),
    and ``pair[0] - pair[1]`` with its CI when ``pair`` is given (e.g. ("CS", "CA"))."""
    normalize = _Normalizer(tuple(vocabulary) if vocabulary is not None else None, tag)
    groups = _groups(items, tag, vocabulary, normalize)
    estimates = {
        name: stats.mean_estimate(
            [i.score for i in members],
            _cluster_labels(members),
            resamples=resamples,
            seed=seed,
            confidence=confidence,
        )
        if members
        else _empty()
        for name, members in groups.items()
    }
    contrast = None
    if pair is not None:
        first, second = groups.get(pair[0], []), groups.get(pair[1], [])
        both = [*first, *second]
        if not first or not second:
            contrast = Estimate(None, None, None, n_items=len(both), note=stats.NO_ITEMS)
        else:  # one resampling of the clusters for both parts: a subject holding both is not independent
            in_first = [k < len(first) for k in range(len(both))]
            contrast = stats.contrast_estimate(
                [i.score for i in both],
                in_first,
                [not f for f in in_first],
                _cluster_labels(both),
                resamples=resamples,
                seed=seed,
                confidence=confidence,
            )
    return TagSplit(tag, estimates, contrast, pair, tuple(normalize.warnings))


def gap_by_tag(
    native: Sequence[TaggedItem],
    translated: Sequence[TaggedItem],
    tag: str,
    vocabulary: Sequence[str] | None = None,
    *,
    pair: tuple[str, str] | None = None,
    resamples: int = DEFAULT_RESAMPLES,
    confidence: float = 0.95,
    seed: int = 0,
) -> GapSplit:
    """The training-data gap (model tuned on native data minus model tuned on translated data, same test
    items) on each value of ``tag``, paired per item, and ``gap[pair[0]] - gap[pair[1]]`` with its CI."""
    by_id = {item.item_id: item for item in translated}
    paired = [
        TaggedItem(item.item_id, item.score - by_id[item.item_id].score, item.tags, item.cluster)
        for item in native
        if item.item_id in by_id
    ]
    unpaired = len(native) + len(translated) - 2 * len(paired)
    split = split_by_tag(
        paired, tag, vocabulary, pair=pair, resamples=resamples, confidence=confidence, seed=seed
    )
    return GapSplit(tag, split.subsets, pair, split.contrast, split.warnings, unpaired)


def tag_report_lines(split: TagSplit, scale: float = 100.0) -> list[str]:
    """Plain lines for a page or a terminal: one per value, then the contrast."""
    lines = [
        f"{split.tag} = {name}: {estimate_text(estimate, scale)}" for name, estimate in split.subsets.items()
    ]
    if split.pair and split.contrast is not None:
        a, b = split.pair
        lines.append(f"{a} - {b}: {estimate_text(split.contrast, scale, unit=' points')}")
    return lines


def task_items(
    rows: Iterable[Mapping[str, Any]],
    record: Mapping[str, Any],
    metric: str,
    *,
    filter_name: str | None = None,
    prefix: str = "",
) -> list[TaggedItem]:
    """The tagged items of one task's samples, with the tags, cluster unit and member tags its
    ``metadata.provenance`` record (``record``) and the catalogue name."""
    bench = next(
        (t.benchmark for t in catalogue().tasks if t.benchmark.name == record.get("benchmark")), None
    )
    tags = list(record.get("item_tags") or (bench.item_tags if bench else ()))
    cluster = bench.raw.get("cluster_unit") if bench else None
    return items_from_samples(
        rows,
        metric,
        tags,
        filter_name=filter_name,
        prefix=prefix,
        cluster_field=cluster,
        default_cluster=record.get("subtask"),
        member_tags=record.get("member_tags"),
    )


def tag_vocabulary(benchmark: str, tag: str) -> tuple[str, ...] | None:
    """The catalogue's known values of ``tag`` on ``benchmark`` (None: open values)."""
    bench = next((t.benchmark for t in catalogue().tasks if t.benchmark.name == benchmark), None)
    return bench.tag_vocabulary(tag) if bench else None


SUBSET_TAG = "subset"


def with_subset_tag(
    items: Sequence[TaggedItem], subsets: Sequence[tuple[str, str, Sequence[str]]]
) -> list[TaggedItem]:
    """Add the tag ``subset``: the name of the first (name, field, values) subset an item's tag matches, else
    "" - the catalogue's ``subsets`` group tag values (INCLUDE's regional = region explicit, region
    implicit, culture), so ``split_by_tag(items, SUBSET_TAG, subset_vocabulary(subsets), pair=...)`` contrasts
    them."""
    out = []
    for item in items:
        name = next((n for n, tag, values in subsets if item.tags.get(tag, "") in set(values)), "")
        out.append(TaggedItem(item.item_id, item.score, {**item.tags, SUBSET_TAG: name}, item.cluster))
    return out


def subset_vocabulary(subsets: Sequence[tuple[str, str, Sequence[str]]]) -> tuple[str, ...]:
    return (*[name for name, _, _ in subsets], "")


def catalogue_subsets(benchmark: str) -> list[tuple[str, str, tuple[str, ...]]]:
    """The catalogue's tag subsets of ``benchmark`` as (name, field, values)."""
    seen: dict[str, tuple[str, str, tuple[str, ...]]] = {}
    for task in catalogue().tasks:
        if task.benchmark.name == benchmark and task.subset is not None:
            seen.setdefault(task.subset.name, (task.subset.name, task.subset.field, task.subset.values))
    return list(seen.values())

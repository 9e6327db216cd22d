"""A leaderboard column: one test set (a benchmark in one language from one test-set origin, one metric).

What a column is titled, its scale and its sampling unit come from the catalogue only
(``harness_ext/catalogue/data/*.yaml``: ``title``, ``short_title``, ``origin``, ``headline``, ``percent``,
``cluster_unit``, ``metric_titles``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cache

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.model import Benchmark


@cache
def benchmark_entry(benchmark: str, origin: str | None = None) -> Benchmark | None:
    """The catalogue benchmark of that name (and test-set origin, where one name has two, e.g. open QA)."""
    matches = {
        t.benchmark.source_file: t.benchmark for t in catalogue().tasks if t.benchmark.name == benchmark
    }
    candidates = list(matches.values())
    if origin is not None and len(candidates) > 1:
        candidates = [b for b in candidates if b.origin_group == provenance_of(origin)] or candidates
    return candidates[0] if candidates else None


# Test-set origin groups of the leaderboard: a round trip (X -> pivot -> X) keeps the source's items and
# knowledge with translation noise added, so it is neither native nor translated and never joins either mean.
ORIGIN_GROUP_ORDER = ("native", "translated", "round_trip", "unknown")
ORIGIN_TITLES = {
    "native": "native",
    "human_translated": "human-translated",
    "machine_translated": "machine-translated",
    "machine_translated_post_edited": "machine-translated, post-edited",
    "round_trip_translated": "round trip",
    "translated": "translated",
    "unknown": "origin unknown",
}


METRIC_TITLES = {
    "acc": "accuracy",
    "acc_norm": "accuracy (normalised)",
    "exact_match": "exact match",
    "f1": "F1",
    "include": "answer included",
    "rating": "judge rating",
}


def provenance_of(origin: str) -> str:
    """The origin group of a test-set origin: native, translated, round_trip or unknown."""
    if origin == "native":
        return "native"
    if origin == "round_trip_translated":
        return "round_trip"
    return "unknown" if origin in ("unknown", "") else "translated"


@cache
def benchmark_has_both_origins(benchmark: str) -> bool:
    return len({t.benchmark.origin_group for t in catalogue().tasks if t.benchmark.name == benchmark}) > 1


@dataclass(frozen=True, order=True)
class ColumnKey:
    """One test set: a benchmark in one language from one test-set origin, scored by one metric."""

    benchmark: str
    language: str
    metric: str
    # native | human_translated | machine_translated | machine_translated_post_edited | round_trip_translated
    # | unknown
    origin: str = "unknown"
    task: str = ""  # the lm-eval task of a user-made test set (rtt_*, mt_*): a test set of its own
    judge: str = ""  # published ratings of one judge (measured ratings pool their judges: "")

    @property
    def provenance(self) -> str:
        """The origin group: native, translated, round_trip or unknown (see ORIGIN_GROUP_ORDER)."""
        return provenance_of(self.origin)

    @property
    def user_made(self) -> bool:
        """A `nativeval translate-task` test set: derived from another, it joins no origin mean."""
        return bool(self.task)

    @property
    def info(self) -> Benchmark | None:
        return benchmark_entry(self.benchmark, self.origin)

    @property
    def percent(self) -> bool:
        info = self.info
        return bool(info.percent) if info else False

    @property
    def display(self) -> str:
        info = self.info
        title = info.raw.get("short_title", info.title) if info else self.benchmark
        label = f"{title} {self.language}" if self.language != "?" else title
        if self.user_made:  # rtt_zh_xquad: "XQuAD zh (round trip)"
            label += f" ({ORIGIN_TITLES.get(self.origin, self.origin)})"
        elif benchmark_has_both_origins(self.benchmark) and self.origin != "unknown":
            label += f" ({self.provenance})"  # one benchmark with native and translated test sets: open QA
        if self.judge:
            label += f", judged by {self.judge}"
        return label

    @property
    def short_title(self) -> str:
        """The catalogue's short title, without language or origin (the findings name those beside it)."""
        info = self.info
        return str(info.raw.get("short_title", info.title)) if info else self.benchmark

    @property
    def origin_title(self) -> str:
        return ORIGIN_TITLES.get(self.origin, self.origin)

    @property
    def slug(self) -> str:
        """A name unique per test set (file names, table ids): the task for user-made ones, else the
        origin."""
        identity = self.task or f"{self.benchmark}_{self.language}_{self.origin}"
        judge = f"_{self.judge}" if self.judge else ""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{identity}_{self.metric}{judge}")

    @property
    def metric_title(self) -> str:
        """The headline metric in words (the catalogue's title where it gives one), never a results key."""
        info = self.info
        titles = (info.raw.get("metric_titles") or {}) if info else {}
        return str(titles.get(self.metric) or METRIC_TITLES.get(self.metric, self.metric.replace("_", " ")))

    @property
    def unit(self) -> str:
        return "%" if self.percent else ("rating 1-5" if self.metric == "rating" else "")

    @property
    def cluster_unit(self) -> str | None:
        info = self.info
        return info.cluster_unit if info else None

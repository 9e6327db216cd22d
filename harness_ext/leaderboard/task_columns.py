"""Which column a task of a results file goes to, and which of its metrics is the headline.

1. a nativeval task: the catalogue's task (or group member) of that name;
2. otherwise a task whose ``metadata.provenance`` names a catalogue benchmark;
3. otherwise (a plain lm-eval task, e.g. ``arc_easy``): its own column, named by the task. Its headline is
   the first metric of the task's own ``metric_list`` under its first filter (lm-eval's order, never an
   alphabetical pick), shown as reported (0-1 unless the task reports otherwise); test-set origin
   "unknown" unless its metadata says, language from a trailing ``_<code>`` the registry knows.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.model import Benchmark, CatalogueTask
from nativeval.harness_ext.core.languages import codes as language_codes
from nativeval.harness_ext.leaderboard.columns import ColumnKey, benchmark_entry

TASK_NAME = re.compile(r"^(?P<provenance>native|translated)_(?P<language>[a-z]{2,3})_(?P<benchmark>.+)$")


@lru_cache(maxsize=1)
def catalogue_tasks_by_name() -> dict[str, tuple[CatalogueTask, str | None]]:
    """Every catalogue task and group member by lm-eval task name -> (task, member subject or None)."""
    found: dict[str, tuple[CatalogueTask, str | None]] = {}
    for task in catalogue().tasks:
        found[task.name] = (task, None)
        if task.is_group:
            for leaf in task.leaves:
                found[leaf.name] = (task, leaf.member)
    return found


@dataclass(frozen=True)
class TaskColumn:
    """Where a results task goes: its column identity and how its headline is read."""

    benchmark: str
    language: str
    origin: str
    metric: str
    filter: str | None
    percent: bool
    cluster_unit: str | None
    subject: str | None
    known: bool
    item_tags: tuple[str, ...] = ()
    user_task: str = ""  # a user-made test set (`nativeval translate-task`): its task name
    source_task: str = ""  # and the task it was translated from

    def key(self) -> ColumnKey:
        return ColumnKey(self.benchmark, self.language, self.metric, self.origin, self.user_task)


def item_tag_fields(bench: Benchmark) -> tuple[str, ...]:
    """The catalogue's ``item_tags``: doc fields whose values split a test set into parts (issue 14)."""
    tags = getattr(bench, "item_tags", None) or bench.raw.get("item_tags") or ()
    return tuple(str(t) for t in tags)


def parse_task_name(task: str) -> tuple[str, str, str] | None:
    """(provenance, language, benchmark) from a ``<provenance>_<lang>_<benchmark>`` name, else None."""
    match = TASK_NAME.match(task)
    if not match:
        return None
    return match["provenance"], match["language"], match["benchmark"]


def _trailing_language(task: str) -> str:
    tail = task.rsplit("_", 1)[-1] if "_" in task else ""
    return tail if tail in language_codes() else "?"


def _lm_eval_first_metric(config: dict) -> tuple[str | None, str | None]:
    metrics = config.get("metric_list") or []
    metric = metrics[0].get("metric") if metrics and isinstance(metrics[0], dict) else None
    filters = config.get("filter_list") or []
    filt = filters[0].get("name") if filters and isinstance(filters[0], dict) else "none"
    return (metric if isinstance(metric, str) else None), filt


def task_column(task: str, config: dict | None) -> TaskColumn:
    """The column a results task belongs to (see the module docstring for the rules)."""
    config = config if isinstance(config, dict) else {}
    hit = catalogue_tasks_by_name().get(task)
    meta = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
    record = meta.get("provenance") if isinstance(meta.get("provenance"), dict) else meta
    if hit:
        ctask, subject = hit
        bench = ctask.benchmark
        headline = bench.headline
        user = ctask.extra.get("provenance") if ctask.extra.get("user_made") else None
        return TaskColumn(
            bench.name,
            ctask.language,
            ctask.origin,
            headline.metric if headline else "",
            headline.filter if headline else None,
            bench.percent,
            bench.cluster_unit,
            subject,
            True,
            item_tag_fields(bench),
            ctask.name if user is not None else "",
            str((user or {}).get("source_task") or ""),
        )
    user_task = ""
    if record.get("user_made") or record.get("source_task"):
        user_task = str(record.get("task") or task)
    parsed = parse_task_name(task)
    benchmark = str(record.get("benchmark") or "")
    origin = str(record.get("origin") or (parsed[0] if parsed else "") or "")
    language = str(record.get("language") or (parsed[1] if parsed else "") or _trailing_language(task))
    bench = benchmark_entry(benchmark, origin or None) if benchmark else None
    if bench is not None:
        headline = bench.headline
        if origin in ("", "translated") and bench.origin != "native":
            origin = bench.origin
        return TaskColumn(
            bench.name,
            language,
            origin or bench.origin,
            headline.metric if headline else "",
            headline.filter if headline else None,
            bench.percent,
            bench.cluster_unit,
            str(record.get("subtask")) if user_task and record.get("subtask") else None,
            True,
            item_tag_fields(bench),
            user_task,
            str(record.get("source_task") or ""),
        )
    metric, filt = _lm_eval_first_metric(config)
    return TaskColumn(task, language, origin or "unknown", metric or "", filt, False, None, None, False)


def headline_key(column: TaskColumn, task_results: dict[str, Any]) -> str | None:
    """The ``metric,filter`` key of the headline among a task's results, or None when it is absent."""
    for key, value in task_results.items():
        if (
            "," not in key
            or "_stderr" in key
            or isinstance(value, bool)
            or not isinstance(value, (int, float))
        ):
            continue
        metric, filt = key.split(",", 1)
        if metric == column.metric and (column.filter is None or filt == column.filter):
            return key
    return None

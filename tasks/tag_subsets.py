"""Shared by the task folders' utils.py: per-member filters, tag-subset filters and the per-field shot task.

Everything is derived from the catalogue (harness_ext/catalogue/data/<benchmark>.yaml): a group member
``<name>`` keeps the docs whose ``field`` names it (lm-eval's own rule: ``"Arts & Humanities"`` is member
``arts_humanities``), a subset ``<name>`` keeps the docs whose tag field takes one of the subset's values.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from functools import partial
from typing import Any

import datasets
from lm_eval.api.task import ConfigurableTask

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.eval.partition import member_rows
from nativeval.harness_ext.eval.runtime import quiet_filter


def member_slug(value: Any) -> str:
    """lm-eval's task-name form of a category (tasks/include/*/utils.py): lower case, " & " and " " -> "_"."""
    return str(value).lower().replace(" & ", "_").replace(" ", "_")


def task_of_source(benchmark: str, member: str) -> Callable[[str], str | None]:
    """The task whose member is missing, told apart by the dataset config in the data source's path."""

    def task_of(source: str) -> str | None:
        names = [
            leaf.name
            for task, leaf in catalogue().leaves()
            if task.benchmark.name == benchmark
            and leaf.member == member
            and f"/{leaf.config}/" in source.replace("\\", "/")
        ]
        return names[0] if len(names) == 1 else None

    return task_of


def keep_member(dataset: datasets.Dataset, field: str, member: str, benchmark: str = "") -> datasets.Dataset:
    """The member's rows, from one partition of the split shared by every member
    (nativeval.harness_ext.eval.partition)."""
    return member_rows(
        dataset, field, member, member_slug, task_of_source(benchmark, member) if benchmark else None
    )


def keep_values(dataset: datasets.Dataset, field: str, values: tuple[str, ...]) -> datasets.Dataset:
    wanted = set(values)
    return quiet_filter(dataset, lambda doc: str(doc[field] if doc[field] is not None else "") in wanted)


def all_docs(dataset: datasets.Dataset) -> datasets.Dataset:
    """A tag subset's few-shot split is not tag-filtered: shots are those of the full task."""
    return dataset


def register_domain_filters(namespace: dict[str, Any], benchmark: str, field: str) -> None:
    for task in catalogue().tasks:
        if task.benchmark.name == benchmark and task.is_group:
            for leaf in task.leaves:
                namespace[f"process_{leaf.member}"] = partial(
                    keep_member, field=field, member=leaf.member, benchmark=benchmark
                )


def register_subset_filters(namespace: dict[str, Any], benchmark: str) -> None:
    for task in catalogue().tasks:
        if task.benchmark.name == benchmark and task.subset is not None:
            subset = task.subset
            namespace[f"subset_{subset.name}"] = partial(
                keep_values, field=subset.field, values=subset.values
            )


class SameFieldShotsTask(ConfigurableTask):
    """A task over many members whose shots come, per doc, from the few-shot rows sharing the doc's
    ``shot_field`` (first_n order) - the prompt the doc gets in its per-member task. lm-eval's samplers never
    see the doc when the few-shot split is not the test split, so the pool is switched before each prompt."""

    shot_field = "subject"

    def __init__(self, config: dict | None = None, **kwargs: Any) -> None:
        super().__init__(config={k: v for k, v in (config or {}).items() if k != "class"}, **kwargs)
        self._shot_pools: dict[str, list[dict]] | None = None

    def _pool(self, doc: dict) -> list[dict]:
        if self._shot_pools is None:
            pools: dict[str, list[dict]] = defaultdict(list)
            for shot in self.fewshot_docs() or ():
                pools[str(shot[self.shot_field])].append(shot)
            self._shot_pools = dict(pools)
        return self._shot_pools.get(str(doc[self.shot_field]), [])

    def fewshot_context(self, doc: dict, num_fewshot: int, *args: Any, **kwargs: Any):
        if num_fewshot > 0:
            self.sampler.replace_df(self._pool(doc))
        return super().fewshot_context(doc, num_fewshot, *args, **kwargs)

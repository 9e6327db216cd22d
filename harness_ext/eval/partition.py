"""A group's members (subjects, domains) from the split they share, in one pass per split.

Global-MMLU, MMMLU and INCLUDE keep all subjects of a language in one split; lm-eval builds one task per
subject, and each task's ``process_docs`` used to filter the whole split (57 passes for a Global-MMLU
language). Here the first member to ask reads the split once (Arrow -> rows in one call) and partitions its
rows by member; every member then gets its rows as a :class:`Docs` list, which is what lm-eval does with a
split anyway (it indexes, iterates and lists docs, and reads ``features``) - without building one
``datasets.Dataset`` per member. A member with no rows is one line naming the task, the member and where the
rows came from - not lm-eval's ``IndexError: Invalid key: 0 is out of bounds``.
"""

from __future__ import annotations

from collections import OrderedDict, defaultdict
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nativeval.harness_ext.catalogue.dataset_loader import MIRROR_SOURCE
from nativeval.harness_ext.core.errors import DatasetUnavailable

if TYPE_CHECKING:
    import datasets

_MAX_SPLITS = 64
_partitions: OrderedDict[tuple[Any, ...], dict[Any, Docs]] = OrderedDict()


class Docs(list):
    """A member's docs: a list of row dicts that also carries its split's
    ``features`` (lm-eval reads them)."""

    def __init__(self, rows: list[dict[str, Any]], features: Any) -> None:
        super().__init__(rows)
        self.features = features


def _partition(dataset: datasets.Dataset, field: str, key: Callable[[Any], Any]) -> dict[Any, Docs]:
    cache_key = (getattr(dataset, "_fingerprint", None) or id(dataset), len(dataset), field, key)
    found = _partitions.get(cache_key)
    if found is None:
        groups: dict[Any, list[dict[str, Any]]] = defaultdict(list)
        for row in dataset.to_list():  # the split read once
            groups[key(row[field])].append(row)
        found = _partitions[cache_key] = {
            member: Docs(rows, dataset.features) for member, rows in groups.items()
        }
        if len(_partitions) > _MAX_SPLITS:
            _partitions.popitem(last=False)
    else:
        _partitions.move_to_end(cache_key)
    return found


def source_of(dataset: datasets.Dataset) -> str:
    """Where a split's rows came from: the mirror file, or the Hub dataset and config."""
    description = getattr(dataset.info, "description", "") or ""
    if description.startswith(MIRROR_SOURCE):
        return description[len(MIRROR_SOURCE) :]
    name = getattr(dataset.info, "dataset_name", None) or "the Hugging Face Hub"
    config = getattr(dataset.info, "config_name", None)
    return f"{name} (config {config}, split {dataset.split})" if config else str(name)


def member_rows(
    dataset: datasets.Dataset,
    field: str,
    member: Any,
    key: Callable[[Any], Any],
    task_of: Callable[[str], str] | None = None,
) -> Docs:
    """The rows of ``dataset`` whose ``key(row[field])`` is ``member`` (a fresh list each call: lm-eval may
    reorder or extend it); none is a one-line error."""
    rows = _partition(dataset, field, key).get(member)
    if not rows:
        source = source_of(dataset)
        task = task_of(source) if task_of else None
        named = f"task {task}: " if task else ""
        raise DatasetUnavailable(
            f"{named}no rows for subject {member!r} ({field}) in {source}; the data source lacks that "
            "subject - "
            f"write the mirror again (`nativeval data download`) or check its {Path(source).name or 'split'}"
        )
    return Docs(rows, rows.features)

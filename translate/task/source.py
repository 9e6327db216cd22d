"""The source task's rows and configs: which leaf's prompt a translation reuses, its evaluation and few-shot
splits, and the rows of each (as lm-eval reads them)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from nativeval.harness_ext.catalogue import dataset_loader, user_tasks
from nativeval.harness_ext.catalogue.model import CatalogueTask, Leaf, builtin_catalogue
from nativeval.harness_ext.core.lm_eval_internals import load_task_yaml
from nativeval.translate.task.units import prefix_split

Frames = dict[str, tuple[CatalogueTask, Leaf]]  # leaf name -> the (task, leaf) whose prompt it reuses


def leaf_config(task: CatalogueTask, leaf: Leaf) -> dict[str, Any]:
    """The installed leaf's lm-eval config (includes resolved, functions left as names)."""
    return load_task_yaml(user_tasks.leaf_yaml_path(task, leaf), resolve_functions=False)


def leaf_functions(task: CatalogueTask, leaf: Leaf) -> dict[str, Any]:
    """The installed leaf's lm-eval config with its ``!function`` entries imported (callables)."""
    return load_task_yaml(user_tasks.leaf_yaml_path(task, leaf), resolve_functions=True)


def frame_leaf(task: CatalogueTask, leaf: Leaf, target: str) -> tuple[CatalogueTask, Leaf]:
    """Whose prompt and scoring the translated leaf reuses: the same benchmark's task in the target language
    when the catalogue has one (e.g. translated_es_xquad for XQuAD zh->es), else the source's own."""
    if target == task.language:
        return task, leaf
    for other in builtin_catalogue().tasks:
        if (
            other.benchmark.name == task.benchmark.name
            and other.language == target
            and not other.extra.get("user_made")
        ):
            for candidate in other.leaves:
                if candidate.member == leaf.member:
                    return other, candidate
    return task, leaf


def eval_and_fewshot_splits(config: dict[str, Any], splits: tuple[str, ...]) -> tuple[str, list[str]]:
    evaluation = config.get("test_split") or config.get("validation_split")
    if evaluation not in splits:
        evaluation = splits[-1]
    return evaluation, [s for s in splits if s != evaluation]


def custom_dataset_rows(
    task: CatalogueTask, leaf: Leaf, split: str, limit: int | None
) -> list[dict[str, Any]]:
    """The rows the leaf's own ``custom_dataset`` gives lm-eval (called as lm-eval calls it), for benchmarks
    whose loader makes its rows itself (open QA samples its prompts from OASST1)."""
    config = leaf_functions(task, leaf)
    docs = config["custom_dataset"](**(config.get("metadata") or {}), **(config.get("dataset_kwargs") or {}))
    rows = [dict(row) for row in docs[split]]
    return rows[:limit] if limit is not None else rows


def row_selector(
    task: CatalogueTask, leaf: Leaf, spec: dict[str, Any], config: dict[str, Any]
) -> Callable | None:
    """``select_rows: process_docs``: the leaf's ``process_docs`` only picks its rows from a split it shares
    with its siblings (one subject or domain of a language's split), so only those rows are translated;
    lm-eval applies the same filter to the translation (its fields are copied), so doc ids stay the
    source's."""
    if spec.get("select_rows") != "process_docs" or "process_docs" not in config:
        return None
    return leaf_functions(task, leaf)["process_docs"]


def mirror_config(leaf: Leaf, spec: dict[str, Any]) -> str | None:
    """Where a leaf's translated rows go: its dataset config, or config and member when the leaf holds only
    its own rows of a shared split (``select_rows``)."""
    if spec.get("select_rows") and leaf.member is not None:
        return "-".join(str(part) for part in (leaf.config, leaf.member) if part is not None)
    return leaf.config


def source_rows(
    task: CatalogueTask, leaf: Leaf, split: str, limit: int | None, keep: Callable | None = None
) -> list[dict[str, Any]]:
    bench = task.benchmark
    dataset = dataset_loader.load_split(bench.dataset_id, leaf.config, split, bench.revision)
    prefix = (task.extra.get("dataset_filter") or {}).get("id_prefix")
    if keep is not None:
        dataset = keep(dataset)
    rows = [dict(row) for row in dataset if not prefix or str(row.get("id", "")).startswith(prefix)]
    return rows[:limit] if limit is not None else rows


def target_prefixes(
    task: CatalogueTask, leaves: list[Leaf], frames: Frames, spec: dict[str, Any]
) -> dict[str, str]:
    """For a machine translation whose prompt is the target language's task (MGSM), the answer prefix that
    task's exemplars start with ("Пошаговое решение:"), read from its own few-shot rows: its prompt cuts
    exemplar answers by that prefix's length."""
    out: dict[str, str] = {}
    for leaf in leaves[:1]:
        frame_task, frame = frames[leaf.name]
        if frame_task is task:
            continue
        _, fewshot = eval_and_fewshot_splits(leaf_config(frame_task, frame), frame_task.benchmark.splits)
        for split in fewshot:
            for row in source_rows(frame_task, frame, split, 1):
                for name in spec.get("keep_prefix", []):
                    if isinstance(row.get(name), str) and prefix_split(row[name])[0]:
                        out.setdefault(name, prefix_split(row[name])[0])
    return out


def description(config: dict[str, Any]) -> str | None:
    """A leaf's fixed ``description`` (no template), the one part of its prompt a translation translates."""
    text = config.get("description")
    return text if isinstance(text, str) and text.strip() and "{{" not in text and "{%" not in text else None

"""``translate-task`` from request to task folder: resolve, read the source rows, translate them (one leg, or
two for a round trip), report the quality and write the task."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from nativeval.harness_ext.catalogue import user_tasks
from nativeval.harness_ext.core.cache import KVCache
from nativeval.harness_ext.core.paths import inside, safe_segment
from nativeval.translate.backends.base import Backend
from nativeval.translate.task.legs import translate_parts
from nativeval.translate.task.output import TaskPlan, TranslatedRows, write_task
from nativeval.translate.task.quality_report import (
    LegReport,
    TaskQuality,
    excluded_rows,
    round_trip_chrf,
    span_recovery,
)
from nativeval.translate.task.request import ResolvedTask, TaskTranslationRequest, resolve
from nativeval.translate.task.source import (
    custom_dataset_rows,
    description,
    eval_and_fewshot_splits,
    frame_leaf,
    leaf_config,
    mirror_config,
    row_selector,
    source_rows,
    target_prefixes,
)
from nativeval.translate.task.units import Part


@dataclass
class TaskTranslation:
    name: str
    folder: Path
    quality: TaskQuality
    files: list[str]  # relative to the folder


def read_parts(source: ResolvedTask, request: TaskTranslationRequest) -> tuple[list[Part], dict[str, str]]:
    """Every split of every leaf as a part (few-shot splits after the evaluation split), and each leaf's
    evaluation split."""
    task, spec = source.task, source.spec
    parts: list[Part] = []
    eval_split_of: dict[str, str] = {}
    for leaf in source.leaves:
        config = leaf_config(task, leaf)
        if spec.get("rows") == "custom_dataset":
            evaluation = config["test_split"]
            eval_split_of[leaf.name] = evaluation
            rows = custom_dataset_rows(task, leaf, evaluation, request.limit)
            parts.append(Part(leaf.name, evaluation, rows, True))
            continue
        evaluation, fewshot = eval_and_fewshot_splits(config, task.benchmark.splits)
        eval_split_of[leaf.name] = evaluation
        keep = row_selector(task, leaf, spec, config)
        parts.append(
            Part(leaf.name, evaluation, source_rows(task, leaf, evaluation, request.limit, keep), True)
        )
        for split in fewshot:
            rows = source_rows(task, leaf, split, request.fewshot_limit, keep)
            parts.append(Part(leaf.name, split, rows, not request.keep_fewshot))
    return parts, eval_split_of


def translate_task(
    backend: Backend, request: TaskTranslationRequest, echo: Callable[[str], None] = lambda _line: None
) -> TaskTranslation:
    source = resolve(request)
    task, leaves, spec, name, target = source.task, source.leaves, source.spec, source.name, source.target
    root = Path(request.out) if request.out else user_tasks.user_tasks_dir()
    folder = inside(root, root / safe_segment(name), what="the user task folder")
    plan = TaskPlan(
        request=request,
        source=source,
        folder=folder,
        frames={leaf.name: frame_leaf(task, leaf, target) for leaf in leaves},
        mirror_configs={leaf.name: mirror_config(leaf, spec) for leaf in leaves},
    )

    parts, eval_split_of = read_parts(source, request)
    original = {(p.leaf, p.split): p.rows for p in parts}
    sizes = {(p.leaf, p.split): len(p.rows) for p in parts if p.translate}

    descriptions = {}
    if request.mode == "mt":
        for leaf in leaves:
            frame_task, frame = plan.frames[leaf.name]
            text = description(leaf_config(frame_task, frame)) if frame_task is task else None
            if text:
                descriptions[f"description|{leaf.name}"] = text

    (folder / ".work").mkdir(parents=True, exist_ok=True)
    legs: list[LegReport] = []
    with KVCache(folder / ".work" / "segments.sqlite") as cache:
        if request.mode == "rtt":
            echo(f"{task.name}: {task.language} -> {request.via} (leg 1 of 2)")
            pivot, first, _ = translate_parts(
                "forward", parts, spec, backend, task.language, request.via, cache, request
            )
            excluded_first = excluded_rows(parts, pivot, original, eval_split_of, "pivot leg")
            echo(f"{task.name}: {request.via} -> {task.language} (leg 2 of 2)")
            final, second, _ = translate_parts(
                "back", pivot, spec, backend, request.via, task.language, cache, request
            )
            excluded = excluded_first + excluded_rows(pivot, final, original, eval_split_of, "back leg")
            legs = [first, second]
        else:
            echo(f"{task.name}: {task.language} -> {target}")
            final, only, translated_descriptions = translate_parts(
                "translation",
                parts,
                spec,
                backend,
                task.language,
                target,
                cache,
                request,
                descriptions,
                target_prefixes(task, leaves, plan.frames, spec),
            )
            excluded = excluded_rows(parts, final, original, eval_split_of, "translation")
            descriptions = translated_descriptions
            legs = [only]
            pivot = None
    quality = TaskQuality(
        task=name,
        source_task=task.name,
        legs=legs,
        round_trip_chrf=round_trip_chrf(original, final, spec) if request.mode == "rtt" else None,
        span_recovery=span_recovery(sizes, final, excluded, legs[-1].span_methods or {})
        if spec["kind"] == "extractive_qa"
        else None,
    )
    written = write_task(plan, TranslatedRows(final, pivot, descriptions, excluded), backend, quality)
    user_tasks.refresh_user_dir(root)
    return TaskTranslation(name, folder, quality, written)

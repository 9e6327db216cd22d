"""What ``translate-task`` is asked for, and the source task, recipe, name and language it resolves to."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nativeval.harness_ext.catalogue import user_tasks
from nativeval.harness_ext.catalogue.model import (
    CATALOGUE_DIR,
    CatalogueTask,
    Leaf,
    builtin_catalogue,
    unknown_name_message,
)
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.core.languages import language
from nativeval.harness_ext.core.resilience import RetryPolicy

SPEC_FILE = CATALOGUE_DIR / "_translation.yaml"


@dataclass
class TaskTranslationRequest:
    task: str
    mode: str  # "rtt" | "mt"
    target: str | None = None  # mt: the target language
    via: str = "en"  # rtt: the pivot language
    out: Path | None = None  # the user task directory (default: user_tasks.user_tasks_dir())
    subjects: list[str] | None = None  # a subset of a group's members
    limit: int | None = None  # rows of the evaluation split (the first N, so doc ids stay the source's)
    fewshot_limit: int | None = None  # rows of each few-shot split
    keep_fewshot: bool = False  # few-shot splits copied untranslated
    concurrency: int | None = None
    max_cost: float | None = None
    policy: RetryPolicy | None = None
    progress: bool = True
    label: str | None = None  # a note on the translator for the README and provenance (e.g. "STAND-IN")


@dataclass
class ResolvedTask:
    """The source task, its chosen leaves, the benchmark's recipe, the new task's name and language."""

    task: CatalogueTask
    leaves: list[Leaf]
    spec: dict[str, Any]
    name: str
    target: str


def translation_spec(benchmark: str) -> dict[str, Any]:
    specs = read_yaml(SPEC_FILE)
    if benchmark not in specs:
        raise InputError(
            f"benchmark {benchmark!r} has no translation recipe yet; add one to "
            f"harness_ext/catalogue/data/{SPEC_FILE.name} ({', '.join(sorted(specs))} have one)"
        )
    return specs[benchmark]


def source_task(name: str, subjects: list[str] | None) -> tuple[CatalogueTask, list[Leaf]]:
    cat = builtin_catalogue()
    by_name = {t.name: t for t in cat.tasks}
    members = {leaf.name: (t, leaf) for t, leaf in cat.leaves() if t.is_group}
    if name in by_name:
        task, leaves = by_name[name], list(by_name[name].leaves)
    elif name in members:
        task, leaf = members[name]
        leaves = [leaf]
    else:
        raise InputError(unknown_name_message(name, [t.name for t in cat.tasks] + list(members)))
    if subjects:
        chosen = [leaf for leaf in leaves if leaf.member in subjects]
        unknown = sorted(set(subjects) - {leaf.member for leaf in chosen})
        if unknown:
            raise InputError(
                f"{name} has no subject {unknown[0]!r}; its subjects: "
                f"{', '.join(str(leaf.member) for leaf in leaves[:8])} ..."
            )
        leaves = chosen
    return task, leaves


def task_name(task: CatalogueTask, request: TaskTranslationRequest) -> tuple[str, str]:
    """The new task's name and language; unknown languages are the registry's one-line error."""
    language(task.language)
    if request.mode == "rtt":
        language(request.via)
        if request.via == task.language:
            raise InputError(
                f"--via {request.via} is the task's own language; pivot through another one (e.g. en)"
            )
        return user_tasks.translated_task_name(task, "rtt"), task.language
    if not request.target:
        raise InputError("give --to LANG (machine translation) or --round-trip --via LANG")
    language(request.target)
    if request.target == task.language:
        raise InputError(f"{task.name} is already in {task.language}; use --round-trip for a round trip")
    return user_tasks.translated_task_name(task, "mt", request.target), request.target


def resolve(request: TaskTranslationRequest) -> ResolvedTask:
    """Every bad name is a one-line InputError here, before anything is loaded or sent."""
    task, leaves = source_task(request.task, request.subjects)
    spec = translation_spec(task.benchmark.name)
    name, target = task_name(task, request)
    return ResolvedTask(task, leaves, spec, name, target)

"""The translated task's folder: the rows (and a round trip's pivot rows) in the Hub schema under ``data/``,
a task YAML per leaf (and a group YAML) with provenance, utils.py, README.md, quality.json, and last the entry
file that lists the folder as a user task."""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nativeval import __version__
from nativeval.harness_ext.catalogue import user_tasks
from nativeval.harness_ext.catalogue.dataset_loader import mirror_path
from nativeval.harness_ext.catalogue.model import Leaf
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_jsonl, atomic_write_text
from nativeval.translate.backends.base import Backend
from nativeval.translate.task.quality_report import ExcludedRow, TaskQuality, quality_lines
from nativeval.translate.task.request import ResolvedTask, TaskTranslationRequest
from nativeval.translate.task.source import Frames
from nativeval.translate.task.units import Part

USER_DATASET_PREFIX = "nativeval-user"
ORIGINS = {"rtt": "round_trip_translated", "mt": "machine_translated"}


@dataclass
class TaskPlan:
    """What is made and from what, known before anything is sent."""

    request: TaskTranslationRequest
    source: ResolvedTask
    folder: Path
    frames: Frames
    mirror_configs: dict[str, str | None]  # leaf name -> the dataset config its translated rows go under


@dataclass
class TranslatedRows:
    """What the legs gave."""

    parts: list[Part]  # the final rows of every split of every leaf
    pivot: list[Part] | None  # a round trip's pivot-language rows
    descriptions: dict[str, str]  # "description|<leaf>" -> the translated task description
    excluded: list[ExcludedRow]


def data_revision(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(path.parents[2])).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:40]  # content-addressed, so as pinned as a commit SHA


def provenance(
    plan: TaskPlan,
    backend: Backend,
    leaf: Leaf | None,
    dataset: dict[str, Any],
    excluded: list[ExcludedRow],
) -> dict[str, Any]:
    request, task, target = plan.request, plan.source.task, plan.source.target
    bench = task.benchmark
    translator = f"{backend.name} {backend.model}".strip()
    record: dict[str, Any] = {
        "benchmark": bench.name,
        "task": plan.source.name,
        "language": target,
        "origin": ORIGINS[request.mode],
        "translator": translator,
        "source_language": task.language,
        "task_type": bench.task_type,
        "num_fewshot": bench.num_fewshot,
        "metrics": list(bench.metrics),
        "dataset": dataset,
        "lm_eval_builtin": None,
        "user_made": True,
        "source_task": task.name,
        "source_dataset": {
            "id": bench.dataset_id,
            "config": leaf.config if leaf else None,
            "revision": bench.revision,
            "origin": bench.origin,
        },
        "translation": {
            "backend": backend.name,
            "model": backend.model,
            "prompt_version": backend.prompt_version or None,
            "mode": request.mode,
            "src": task.language,
            "tgt": target,
            "pivot_language": request.via if request.mode == "rtt" else None,
            "fewshot": "original" if request.keep_fewshot else "translated",
            "limit": request.limit,
            "fewshot_limit": request.fewshot_limit,
            "label": request.label,
            "nativeval_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        },
        "doc_ids": "the source task's (same order; `excluded_doc_ids` were left out)",
        "excluded_doc_ids": [e.doc_id for e in excluded if e.evaluated],
    }
    if leaf is not None and leaf.member is not None:
        record["subtask"] = leaf.member
    return record


def write_task(plan: TaskPlan, rows: TranslatedRows, backend: Backend, quality: TaskQuality) -> list[str]:
    """Write the task folder; returns its files relative to it."""
    folder, name, task = plan.folder, plan.source.name, plan.source.task
    source = f"{task.name} ({plan.request.mode})"
    dataset_id = f"{USER_DATASET_PREFIX}/{name}"
    data_dir = folder / user_tasks.DATA_SUBDIR
    files: dict[Path, str] = {}
    all_files: list[Path] = []
    entry_leaves = []
    written_splits = list(dict.fromkeys(part.split for part in rows.parts))
    for leaf in plan.source.leaves:
        leaf_name = name if not task.is_group else f"{name}_{leaf.member}"
        config = plan.mirror_configs[leaf.name]
        leaf_files = []
        splits = []
        for part in rows.parts:
            if part.leaf != leaf.name:
                continue
            path = mirror_path(data_dir, dataset_id, config, part.split)
            atomic_write_jsonl(path, part.rows)
            leaf_files.append(path)
            all_files.append(path)
            splits.append(part.split)
        for part in rows.pivot or []:
            if part.leaf == leaf.name and part.translate:
                atomic_write_jsonl(mirror_path(folder / "pivot", dataset_id, config, part.split), part.rows)
        dataset = {
            "id": dataset_id,
            "config": config,
            "revision": data_revision(leaf_files),
            "splits": splits,
            "mirror": user_tasks.DATA_SUBDIR,
        }
        leaf_excluded = [e for e in rows.excluded if e.leaf == leaf.name]
        record = provenance(
            plan, backend, leaf if task.is_group or leaf.config else None, dataset, leaf_excluded
        )
        frame_task, frame = plan.frames[leaf.name]
        files[folder / f"{leaf_name}.yaml"] = user_tasks.render_leaf_yaml(
            stub=user_tasks.stub_for(user_tasks.leaf_yaml_path(frame_task, frame)),
            task=leaf_name,
            dataset=dataset,
            provenance=record,
            version=task.benchmark.version,
            description=rows.descriptions.get(f"description|{leaf.name}"),
            source=source,
        )
        entry_leaves.append({"name": leaf_name, "member": leaf.member, "config": config})
    whole = {"id": dataset_id, "revision": None, "splits": written_splits}
    if task.is_group:
        files[folder / f"_{name}.yaml"] = user_tasks.render_group_yaml(
            name,
            [leaf["name"] for leaf in entry_leaves],
            list(task.aggregate_metrics),
            task.benchmark.version,
            provenance(plan, backend, None, dict(whole), rows.excluded),
            source=source,
        )
    files[folder / "utils.py"] = user_tasks.UTILS_PY
    entry = user_tasks.entry_for(
        name,
        plan.source.target,
        task,
        entry_leaves,
        provenance(plan, backend, None, dict(whole), rows.excluded),
        revision=data_revision(all_files),
    )
    files[folder / "README.md"] = readme(name, entry["provenance"], quality)
    for path, text in files.items():
        atomic_write_text(path, text)
    atomic_write_json(folder / "quality.json", quality.to_json())
    atomic_write_json(folder / user_tasks.ENTRY_FILE, entry)  # last: a task folder without it is not listed
    return sorted(
        str(p.relative_to(folder)) for p in [*files, folder / "quality.json", folder / user_tasks.ENTRY_FILE]
    )


def readme(name: str, provenance: dict[str, Any], quality: TaskQuality) -> str:
    t = provenance["translation"]
    how = (
        f"round trip {t['src']} -> {t['pivot_language']} -> {t['src']}"
        if t["mode"] == "rtt"
        else f"machine translation {t['src']} -> {t['tgt']}"
    )
    excluded = quality.span_recovery.excluded_items if quality.span_recovery else []
    rows = "\n".join(
        f"| {e.split} | {e.doc_id} | {e.id or ''} | {e.stage}: {e.reason} |" for e in excluded[:50]
    )
    return "\n".join(
        [
            f"# {name}",
            "",
            "User-made task, generated by `nativeval translate-task` "
            f"({how} of `{provenance['source_task']}`).",
            f"Translator: {t['backend']} `{t['model']}`"
            + (f", prompt {t['prompt_version']}" if t["prompt_version"] else "")
            + f"; few-shot exemplars: {t['fewshot']}. Origin: `{provenance['origin']}`.",
            *([f"**Translator note: {t['label']}**"] if t.get("label") else []),
            "Document ids are the source task's, in the same order, so scores pair item by item with it.",
            "",
            "## Quality",
            "",
            *[f"- {line}" for line in quality_lines(quality)],
            "",
            *(
                ["## Excluded items", "", "| split | doc_id | id | why |", "|---|---|---|---|", rows, ""]
                if excluded
                else []
            ),
            "Full figures: quality.json. Provenance: nativeval_task.json and every task YAML's metadata.",
            "",
        ]
    )

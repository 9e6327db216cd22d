"""Judge inputs read out of lm-eval's output folders: the samples files (question and response per item) and
what the results files beside them say (model header, task configs and versions).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import iter_jsonl, read_json
from nativeval.harness_ext.core.languages import codes

SAMPLES_NAME = re.compile(r"^samples_(?P<task>.+)_(?P<date>\d{4}-\d{2}-\d{2}T[\d\-.]+)\.jsonl$")
QUESTION_FIELDS = ("question", "prompt", "instruction", "text")


@dataclass
class JudgeItem:
    task: str
    doc_id: Any
    question: str
    response: str
    doc_hash: str | None = None


@dataclass
class TaskSamples:
    task: str
    path: Path
    date: str
    items: list[JudgeItem]
    language: str | None
    config: dict[str, Any] = field(default_factory=dict)
    version: Any = None


@dataclass
class RunOutputs:
    """One lm-eval output directory (one model): its sample files and what its results files say."""

    directory: Path
    tasks: dict[str, TaskSamples]
    results_header: dict[str, Any]


def question_of(sample: dict[str, Any]) -> str:
    doc = sample.get("doc")
    if isinstance(doc, dict):
        for name in QUESTION_FIELDS:
            if isinstance(doc.get(name), str) and doc[name].strip():
                return doc[name]
    args = sample.get("arguments") or {}
    first = None
    if isinstance(args, dict) and isinstance(args.get("gen_args_0"), dict):
        first = args["gen_args_0"].get("arg_0")
    elif isinstance(args, list) and args and isinstance(args[0], list) and args[0]:
        first = args[0][0]
    if isinstance(first, str):
        return first
    raise InputError(f"sample {sample.get('doc_id')} has no question field ({', '.join(QUESTION_FIELDS)})")


def response_of(sample: dict[str, Any]) -> str:
    filtered = sample.get("filtered_resps")
    if isinstance(filtered, list) and filtered:
        first = filtered[0]
        return first if isinstance(first, str) else str(first[0] if isinstance(first, list) and first else "")
    resps = sample.get("resps") or [[""]]
    if not isinstance(resps, list):
        return str(resps)
    first = resps[0]
    return str(first[0]) if isinstance(first, list) and first else str(first)


def read_samples(path: Path, task: str) -> list[JudgeItem]:
    items = []
    for lineno, sample in enumerate(iter_jsonl(path, allow_truncated_tail=True), start=1):
        if not isinstance(sample, dict) or "doc_id" not in sample:
            raise InputError(
                f"{path}:{lineno}: not an lm-eval sample (no doc_id); run lm-eval with --log_samples"
            )
        try:
            question = question_of(sample)
        except InputError as err:
            raise InputError(f"{path}:{lineno}: {err}") from None
        items.append(
            JudgeItem(
                task=task,
                doc_id=sample["doc_id"],
                question=question,
                response=response_of(sample),
                doc_hash=sample.get("doc_hash"),
            )
        )
    return items


def provenance_of(config: Any) -> dict[str, Any]:
    """A task config's ``metadata.provenance``; {} where a results file holds something else there."""
    metadata = config.get("metadata") if isinstance(config, dict) else None
    provenance = metadata.get("provenance") if isinstance(metadata, dict) else None
    return provenance if isinstance(provenance, dict) else {}


def task_language(task: str, config: dict[str, Any]) -> str | None:
    provenance = provenance_of(config)
    if isinstance(provenance.get("language"), str) and provenance["language"]:
        return provenance["language"]
    match = _language_in_name(tuple(codes())).search(task)
    return match.group(1) if match else None


@lru_cache(maxsize=4)
def _language_in_name(known: tuple[str, ...]) -> re.Pattern[str]:
    """A registry language code as one ``_``-separated part of a task name (``translated_zh_open_qa``)."""
    return re.compile(r"(?:^|_)(" + "|".join(map(re.escape, known)) + r")(?:_|$)")


def _results_header(directory: Path) -> tuple[dict[str, Any], dict[str, dict], dict[str, Any]]:
    """Model/config header, per-task configs and versions from the lm-eval results files (latest wins)."""
    header: dict[str, Any] = {}
    configs: dict[str, dict] = {}
    versions: dict[str, Any] = {}
    for path in sorted(directory.glob("results_*.json")):
        data = read_json(path)
        if not isinstance(data, dict) or "judge" in data or "pairwise" in data:
            continue  # our own outputs
        for key, into in (("configs", configs), ("versions", versions)):
            section = data.get(key) or {}
            if not isinstance(section, dict):
                raise InputError(
                    f"{path}: `{key}` is a {type(section).__name__}, not an object: not an lm-eval "
                    "results file; move it out of the run folder or restore it"
                )
            into.update(section)
        # `nativeval` carries the run's label: the judge's files keep it, so a leaderboard joins them to one
        # row
        for key in (
            "config",
            "model_name",
            "model_name_sanitized",
            "model_source",
            "git_hash",
            "date",
            "nativeval",
        ):
            if key in data:
                header[key] = data[key]
    return header, configs, versions


def is_judged_task(task: str, config: dict[str, Any]) -> bool:
    metrics = provenance_of(config).get("metrics")
    return (isinstance(metrics, list) and "judge_rating" in metrics) or task.endswith("_open_qa")


def collect_runs(paths: Sequence[str | Path], tasks: Sequence[str] = ()) -> list[RunOutputs]:
    """Group the given sample files / directories by output directory; the newest samples file per task.

    Files named explicitly are always judged; in directories, the tasks meant for a judge (open QA, or
    any whose provenance lists ``judge_rating``) or those named in ``tasks``.
    """
    chosen: dict[Path, dict[str, tuple[Path, str]]] = {}
    explicit: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            files = [path]
            explicit.add(path.resolve())
        elif path.is_dir():
            files = sorted(path.rglob("samples_*.jsonl"))
        else:
            raise InputError(f"{path}: no such file or directory")
        for file in files:
            match = SAMPLES_NAME.match(file.name)
            if not match:
                raise InputError(
                    f"{file}: not an lm-eval samples file (expected samples_<task>_<date>.jsonl)"
                )
            per_dir = chosen.setdefault(file.parent.resolve(), {})
            task, date = match["task"], match["date"]
            if task not in per_dir or date > per_dir[task][1]:
                per_dir[task] = (file, date)
    runs = []
    for directory, files in sorted(chosen.items()):
        header, configs, versions = _results_header(directory)
        per_task: dict[str, TaskSamples] = {}
        for task, (file, date) in sorted(files.items()):
            config = configs.get(task) if isinstance(configs.get(task), dict) else {}
            wanted = task in tasks if tasks else (file.resolve() in explicit or is_judged_task(task, config))
            if not wanted:
                continue
            per_task[task] = TaskSamples(
                task=task,
                path=file,
                date=date,
                items=read_samples(file, task),
                language=task_language(task, config),
                config=config,
                version=versions.get(task),
            )
        if per_task:
            runs.append(RunOutputs(directory=directory, tasks=per_task, results_header=header))
    if not runs:
        where = ", ".join(str(p) for p in paths)
        raise InputError(
            f"no samples of judged tasks (open QA) found in {where}; run lm-eval with --log_samples "
            "on *_open_qa tasks, or name samples files / --tasks explicitly"
        )
    return runs

"""One lm-eval 0.4.x results file (or a judge output of that shape) read into a :class:`Run` of scores.

An lm-eval run writes ``<out>/<model_name_sanitized>/results_<timestamp>.json`` and, with
``--log_samples``, ``samples_<task>_<timestamp>.jsonl`` beside it. Judge outputs share the results
shape (metric ``rating,<judge>``). Which column each task goes to: :mod:`task_columns`.

A known benchmark whose headline metric is missing from a results file is not shown, with the note
"not shown: no headline metric for benchmark X" (unless another file of the same row supplies it).
The row a file belongs to follows the one naming rule (:mod:`nativeval.harness_ext.report.naming`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_json
from nativeval.harness_ext.core.runs import refuse_unfinished_runs
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.samples import item_scores_for
from nativeval.harness_ext.leaderboard.task_columns import TaskColumn, headline_key, task_column
from nativeval.harness_ext.report.naming import (
    ManifestNaming,
    RowKey,
    RunName,
    candidate_dir,
    model_args_dict,
    run_name,
)

TIMESTAMP = re.compile(r"(?P<ts>\d{4}-\d{2}-\d{2}T[0-9.:-]+)\.json$")
TOY_MARKER = "nativeval_toy.json"
SUPPORTED_LM_EVAL = ("0.4.",)


@dataclass
class Score:
    """One headline number; ``items`` per-item scores (same scale) and ``clusters`` their sampling unit."""

    value: float
    stderr: float | None = None
    n: int | None = None
    items: dict[str, float] | None = None
    clusters: dict[str, str] | None = None
    tags: dict[str, dict[str, str]] | None = None  # item -> {catalogue item_tags field: value}
    source: str = ""
    metric_key: str = ""
    limited: bool = False
    judge_prompts: dict[str, str] | None = None  # ratings: judge -> the prompt version its verdicts used


def judge_prompt_of(data: dict) -> str | None:
    """The prompt version a `nativeval judge` results file records (``judge.prompt_version``)."""
    judge = data.get("judge")
    version = judge.get("prompt_version") if isinstance(judge, dict) else None
    return str(version) if version else None


@dataclass
class Run:
    """One results file."""

    path: Path
    model_name: str
    timestamp: str
    key: RowKey
    scores: dict[ColumnKey, Score] = field(default_factory=dict)
    manifest_path: Path | None = None
    is_toy: bool = False
    explicit_label: bool = False
    limit: float | None = None
    missing_headline: dict[ColumnKey, str] = field(default_factory=dict)
    sources: dict[ColumnKey, str] = field(default_factory=dict)  # a user-made test set -> its source task
    name: RunName | None = None


def looks_like_results(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("results"), dict)
        and all(isinstance(v, dict) for v in data["results"].values())
        and any(k in data for k in ("config", "configs", "versions", "n-shot", "lm_eval_version"))
    )


def find_results_files(paths: list[str | Path]) -> list[Path]:
    """Every results file under the given directories (or the files themselves), by lm-eval's own rule
    (``lm_eval.utils.get_results_filenames``: ``results_*.json``; judge outputs share it)."""
    from lm_eval.utils import get_results_filenames

    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            candidates = [
                p.as_posix() for p in sorted(path.rglob("*.json")) if p.is_file() and p.suffix == ".json"
            ]
            found.extend(Path(p) for p in get_results_filenames(candidates))
        else:
            raise InputError(f"{path}: no such file or directory; pass lm-eval --output_path directories")
    return found


def timestamp_of(path: Path, data: dict) -> str:
    match = TIMESTAMP.search(path.name)
    if match:
        return match["ts"]
    date = data.get("date")
    if isinstance(date, (int, float)):
        return datetime.fromtimestamp(date, tz=timezone.utc).strftime("%Y-%m-%dT%H-%M-%S.%f")
    return ""


def detect_toy(data: dict, args: dict[str, str], manifest: ManifestNaming | None, results_dir: Path) -> bool:
    marks = [data.get("nativeval", {}).get("toy") if isinstance(data.get("nativeval"), dict) else None]
    if manifest is not None:
        marks.append(manifest.toy)
    dirs = [args.get(k) for k in ("pretrained", "peft", "lora_local_path")]
    if manifest is not None:
        dirs.append(manifest.base_model)
    for value in filter(None, dirs):
        directory = candidate_dir(value, results_dir)
        if directory and (directory / TOY_MARKER).is_file():
            return True
    return any(bool(m) for m in marks)


def _check_version(path: Path, data: dict) -> None:
    version = data.get("lm_eval_version")
    if isinstance(version, str) and version and not version.startswith(SUPPORTED_LM_EVAL):
        raise InputError(
            f"{path}: written by lm-eval {version}; this leaderboard reads lm-eval 0.4.x results"
        )


def run_limit(config: dict) -> float | None:
    limit = config.get("limit")
    return float(limit) if isinstance(limit, (int, float)) and not isinstance(limit, bool) else None


def load_run(path: Path) -> Run:
    """One results file as a Run; raises InputError when the file is not an lm-eval results file."""
    data = read_json(path)
    if not looks_like_results(data):
        raise InputError(f"{path}: not an lm-eval results file (no 'results' table of tasks)")
    if "pairwise" in data:
        raise InputError(
            f"{path}: a pairwise judge comparison, not one model's results; left out of the table"
        )
    for section in (
        "configs",
        "n-samples",
        "versions",
        "n-shot",
        "higher_is_better",
        "groups",
        "group_subtasks",
    ):
        value = data.get(section)
        per_task = section in ("configs", "n-samples", "higher_is_better", "groups")
        if value is not None and not (
            isinstance(value, dict) and (not per_task or all(isinstance(v, dict) for v in value.values()))
        ):
            raise InputError(
                f"{path}: `{section}` is not an object{' of objects' if per_task else ''}: not an "
                "lm-eval results file (edited or cut short?); restore it or move it out"
            )
    _check_version(path, data)
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    args = model_args_dict(config)
    refuse_unfinished_runs(args, relative_to=path.parent)
    name = run_name(data, path.parent)
    run = Run(
        path=path,
        model_name=name.model_name,
        timestamp=timestamp_of(path, data),
        key=name.key,
        manifest_path=name.manifest_path,
        is_toy=detect_toy(data, args, name.manifest, path.parent),
        explicit_label=name.explicit,
        limit=run_limit(config),
        name=name,
    )
    configs = data.get("configs") or {}
    group_subtasks = data.get("group_subtasks") or {}
    # a member of a group that has a score of its own (a benchmark's subjects) is read through that group; a
    # member of a group without one (a collection such as native_zh) is a test set of its own
    scored_groups = {
        group
        for group in group_subtasks
        if headline_key(task_column(group, configs.get(group)), data["results"].get(group) or {}) is not None
    }
    member_of = {sub for group in scored_groups for sub in group_subtasks[group]}
    for task, task_results in data["results"].items():
        if task in member_of and task not in group_subtasks:
            continue
        column = task_column(task, configs.get(task))
        key = headline_key(column, task_results)
        column_key = column.key()
        if column.source_task:
            run.sources[column_key] = column.source_task
        if key is None:
            if column.known:
                run.missing_headline[column_key] = (
                    f"not shown: no headline metric for benchmark {column_key.display} "
                    f"({column.metric},{column.filter or '<judge>'}) in {path}"
                )
            continue
        add_score(run, data, task, column, column_key, key, task_results)
    return run


def add_score(
    run: Run,
    data: dict,
    task: str,
    column: TaskColumn,
    column_key: ColumnKey,
    key: str,
    task_results: dict[str, Any],
) -> None:
    metric, filt = key.split(",", 1)
    scale = 100.0 if column.percent else 1.0
    stderr = task_results.get(f"{metric}_stderr,{filt}")
    tags: dict[str, dict[str, str]] = {}
    items, clusters = item_scores_for(run.path, data, task, column, key, run.timestamp, tags)
    n_samples = (data.get("n-samples") or {}).get(task, {})
    effective = n_samples.get("effective") if isinstance(n_samples, dict) else None
    if effective is None and isinstance(task_results.get(f"n,{filt}"), int):
        effective = task_results[f"n,{filt}"]
    run.scores[column_key] = Score(
        value=float(task_results[key]) * scale,
        stderr=float(stderr) * scale if isinstance(stderr, (int, float)) else None,
        n=len(items) if items else effective,
        items={k: v * scale for k, v in items.items()} if items else None,
        clusters=clusters,
        tags=tags or None,
        source=str(run.path),
        metric_key=key,
        limited=run.limit is not None,
        judge_prompts={filt: prompt}
        if column.metric == "rating" and (prompt := judge_prompt_of(data))
        else None,
    )

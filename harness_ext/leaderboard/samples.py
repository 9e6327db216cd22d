"""Per-item scores of one results file: lm-eval's ``--log_samples`` files beside it and the judge's
``judgments_*.jsonl``, with each item's sampling cluster and its catalogue item tags."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.io import iter_jsonl
from nativeval.harness_ext.leaderboard.task_columns import TaskColumn, catalogue_tasks_by_name


def samples_file(results_path: Path, task: str, timestamp: str) -> Path | None:
    """The ``--log_samples`` file written by the same run as ``results_path``, if there is one."""
    path = results_path.parent / f"samples_{task}_{timestamp}.jsonl"
    return path if path.is_file() else None


def item_key(row: dict[str, Any]) -> str:
    """An item's identity: the document's own ``id`` when its rows carry one (a translation made by `nativeval
    translate-task` keeps it while an excluded item shifts lm-eval's ``doc_id``), else lm-eval's
    ``doc_id``."""
    doc = row.get("doc")
    if isinstance(doc, dict) and doc.get("id") not in (None, ""):
        return str(doc["id"])
    return str(row.get("doc_id"))


def cluster_of(row: dict[str, Any], unit: str | None, subject: str | None) -> str | None:
    if unit is None:
        return None
    if unit == "subject":
        return subject
    doc = row.get("doc")
    value = doc.get(unit) if isinstance(doc, dict) else None
    return None if value is None else str(value)


def read_item_scores(
    path: Path,
    metric: str,
    filt: str,
    prefix: str = "",
    unit: str | None = None,
    subject: str | None = None,
    tag_fields: tuple[str, ...] = (),
    tags: dict[str, dict[str, str]] | None = None,
    member_tags: dict[str, str] | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """Per-item scores (and sampling clusters) keyed by doc_id (prefixed by subtask for groups); the values
    of ``tag_fields`` go into ``tags`` when given (a doc field, else the subject's ``member_tags``)."""
    scores: dict[str, float] = {}
    clusters: dict[str, str] = {}
    for row in iter_jsonl(path, allow_truncated_tail=True):
        if "filter" in row and row["filter"] != filt:
            continue
        value = row.get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        key = prefix + item_key(row)
        scores[key] = float(value)
        cluster = cluster_of(row, unit, subject)
        if cluster is not None:
            clusters[key] = cluster
        if tags is not None and tag_fields:
            values = {f: cluster_of(row, f, subject) or (member_tags or {}).get(f) for f in tag_fields}
            tags[key] = {f: v for f, v in values.items() if v is not None}
    return scores, clusters


def judged_item_scores(results_path: Path, task: str, judge: str) -> dict[str, float] | None:
    """Per-item ratings from the judge's ``judgments_<task>_<judge>_<date>.jsonl`` (newest file wins).

    The glob also matches tasks whose name extends ``task`` (``..._open_qa_v2``), so rows are kept by
    their own ``task`` field (files written before it existed count as this task's)."""
    for path in sorted(results_path.parent.glob(f"judgments_{task}_*.jsonl"), reverse=True):
        rows = [r for r in iter_jsonl(path) if r.get("judge") == judge and r.get("task", task) == task]
        if rows:
            scores = {
                str(r.get("doc_id")): float(r["rating"])
                for r in rows
                if isinstance(r.get("rating"), (int, float)) and not isinstance(r.get("rating"), bool)
            }
            return scores or None
    return None


def item_scores_for(
    results_path: Path,
    data: dict,
    task: str,
    column: TaskColumn,
    key: str,
    ts: str,
    tags: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, float] | None, dict[str, str] | None]:
    metric, filt = key.split(",", 1)
    if metric == "rating":
        return judged_item_scores(results_path, task, filt), None
    subtasks = (data.get("group_subtasks") or {}).get(task) or []
    hits = catalogue_tasks_by_name()
    parts = (
        [(sub, f"{sub}:", hits[sub][1] if sub in hits else sub) for sub in subtasks]
        if subtasks
        else [(task, "", column.subject)]
    )
    items: dict[str, float] = {}
    clusters: dict[str, str] = {}
    for name, prefix, subject in parts:
        path = samples_file(results_path, name, ts)
        if path is None:
            return None, None
        metadata = ((data.get("configs") or {}).get(name) or {}).get("metadata") or {}
        provenance = metadata.get("provenance") if isinstance(metadata, dict) else None
        member_tags = provenance.get("member_tags") if isinstance(provenance, dict) else None
        scores, units = read_item_scores(
            path,
            metric,
            filt,
            prefix,
            column.cluster_unit,
            subject,
            column.item_tags,
            tags,
            member_tags if isinstance(member_tags, dict) else None,
        )
        items.update(scores)
        clusters.update(units)
    return (items or None), (clusters if items and len(clusters) == len(items) else None)

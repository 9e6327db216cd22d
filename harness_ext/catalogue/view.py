"""The catalogue as rows for people (a table, Markdown) and machines (JSON): `nativeval tasks`."""

from __future__ import annotations

from typing import Any

from harness_ext.catalogue.mirror import task_data
from harness_ext.catalogue.model import Benchmark, Catalogue, CatalogueTask

COLUMNS = ("name", "language", "provenance", "type", "shots", "metrics", "dataset", "data")


def provenance_text(task: CatalogueTask) -> str:
    if task.origin == "native":
        text = "native"
    else:
        text = f"{task.origin.replace('_', '-')} from {task.source_language} ({task.translator})"
    if task.subset is not None:
        text += f"; {task.subset.title} items of {task.subset_of}"
    if task.extra.get("variant_of"):
        text += f"; variant of {task.extra['variant_of']}"
    return f"user-made: {text}" if task.extra.get("user_made") else text


def _dataset_note(bench: Benchmark) -> str:
    notes = ["parquet export"] if bench.hub_source.via_parquet_export else []
    notes += [] if bench.revision_pinned or bench.embedded else ["unpinned"]
    return f" ({', '.join(notes)})" if notes else ""


def task_row(task: CatalogueTask) -> dict[str, Any]:
    bench = task.benchmark
    subtasks = f" ({len(task.leaves)} subjects)" if task.is_group else ""
    return {
        "name": task.name,
        "language": task.language,
        "provenance": provenance_text(task),
        "origin": task.origin,
        "translator": task.translator,
        "source_language": task.source_language,
        "type": bench.task_type + subtasks,
        "shots": task.num_fewshot,
        "metrics": ", ".join(task.aggregate_metrics or bench.metrics),
        "dataset": task.dataset_ref + _dataset_note(bench),
        "data": task_data(task).source,
        "benchmark": bench.name,
        "lm_eval_builtin": task.lm_eval_builtin,
        "collections": list(task.collections),
        "subtasks": [leaf.name for leaf in task.leaves] if task.is_group else [],
        "user_made": bool(task.extra.get("user_made")),
    }


def collection_rows(cat: Catalogue) -> list[dict[str, Any]]:
    rows = []
    for name in cat.collection_names():
        members = [t.name for t in cat.collection_members(name)]
        note = "" if members else cat.empty_notes.get(name, "no task belongs to it yet")
        rows.append({"name": name, "tasks": members, "note": note})
    return rows


def as_json(cat: Catalogue) -> dict[str, Any]:
    return {"tasks": [task_row(t) for t in cat.tasks], "collections": collection_rows(cat)}


def _collections_text(cat: Catalogue) -> list[str]:
    lines = []
    for row in collection_rows(cat):
        members = ", ".join(row["tasks"]) if row["tasks"] else f"(none: {row['note']})"
        lines.append(f"  {row['name']}: {members}")
    return lines


def _column_cells(cat: Catalogue) -> list[list[str]]:
    """Each task's COLUMNS as text; one task_row per task (each row stats every leaf's data files)."""
    return [[str(row[c]) for c in COLUMNS] for row in map(task_row, cat.tasks)]


def as_table(cat: Catalogue) -> str:
    rows = _column_cells(cat)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    line = lambda cells: "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(COLUMNS), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(out + ["", "collections:"] + _collections_text(cat))


def as_markdown(cat: Catalogue) -> str:
    header = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    rows = ["| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |" for cells in _column_cells(cat)]
    collections = [f"- `{r['name']}`: " + (", ".join(f"`{n}`" for n in r["tasks"]) or f"none: {r['note']}")
                   for r in collection_rows(cat)]
    return "\n".join([header, rule, *rows, "", "Collections:", "", *collections])

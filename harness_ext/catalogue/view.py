"""The catalogue as rows for people (a table, Markdown) and machines (JSON): `nativeval tasks`."""

from __future__ import annotations

from typing import Any

from nativeval.harness_ext.catalogue.mirror import task_data
from nativeval.harness_ext.catalogue.model import Benchmark, Catalogue, CatalogueTask
from nativeval.harness_ext.core.languages import language

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
        **{key: task.extra[key] for key in ("tier", "evidence", "verified") if key in task.extra},
    }


def collection_rows(cat: Catalogue, names: list[str] | None = None) -> list[dict[str, Any]]:
    """Each collection's tasks, and the test sets of its origin group that its language lacks."""
    rows = []
    for name in cat.collection_names() if names is None else names:
        members = [t.name for t in cat.collection_members(name)]
        note = "" if members else cat.empty_note(name)
        rows.append({"name": name, "tasks": members, "lacks": cat.lacking(name), "note": note})
    return rows


def _selection(cat: Catalogue, lang: str | None) -> tuple[list[CatalogueTask], list[str] | None]:
    """The tasks and collections shown: all, or one language's (``nativeval tasks --lang``). An unknown code
    is one line naming the nearest known codes; a registry language without tasks shows its empty
    collections."""
    if lang is None:
        return list(cat.tasks), None
    language(lang)
    return [t for t in cat.tasks if t.language == lang], [f"{group}_{lang}" for group in cat.origin_groups]


def as_json(cat: Catalogue, lang: str | None = None) -> dict[str, Any]:
    tasks, collections = _selection(cat, lang)
    return {"tasks": [task_row(t) for t in tasks], "collections": collection_rows(cat, collections)}


def _collections_text(cat: Catalogue, names: list[str] | None) -> list[str]:
    lines = []
    for row in collection_rows(cat, names):
        members = ", ".join(row["tasks"]) if row["tasks"] else f"(none: {row['note']})"
        lacks = f"  [lacks: {', '.join(row['lacks'])}]" if row["tasks"] and row["lacks"] else ""
        lines.append(f"  {row['name']}: {members}{lacks}")
    return lines


def _column_cells(tasks: list[CatalogueTask]) -> list[list[str]]:
    """Each task's COLUMNS as text; one task_row per task (each row stats every leaf's data files)."""
    return [[str(row[c]) for c in COLUMNS] for row in map(task_row, tasks)]


def as_table(cat: Catalogue, lang: str | None = None) -> str:
    tasks, collections = _selection(cat, lang)
    rows = _column_cells(tasks)
    widths = [max(len(c), *(len(r[i]) for r in rows)) for i, c in enumerate(COLUMNS)]
    line = lambda cells: "  ".join(cell.ljust(w) for cell, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = [line(COLUMNS), line(["-" * w for w in widths])] + [line(r) for r in rows]
    return "\n".join(out + ["", "collections:"] + _collections_text(cat, collections))


def as_markdown(cat: Catalogue, lang: str | None = None) -> str:
    tasks, names = _selection(cat, lang)
    header = "| " + " | ".join(COLUMNS) + " |"
    rule = "|" + "|".join("---" for _ in COLUMNS) + "|"
    rows = [
        "| " + " | ".join(cell.replace("|", "\\|") for cell in cells) + " |" for cells in _column_cells(tasks)
    ]
    collections = [
        f"- `{r['name']}`: " + (", ".join(f"`{n}`" for n in r["tasks"]) or f"none: {r['note']}")
        for r in collection_rows(cat, names)
    ]
    return "\n".join([header, rule, *rows, "", "Collections:", "", *collections])

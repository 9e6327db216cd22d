"""The published cells (:mod:`reference`) as leaderboard rows, on the measured scale."""

from __future__ import annotations

from dataclasses import dataclass, field

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.model import TASKS_DIR, Benchmark
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.reference import ReferenceCell, load_reference
from nativeval.harness_ext.report.naming import RowKey


@dataclass
class ReferenceRow:
    key: RowKey
    source: str
    scores: dict[ColumnKey, float] = field(default_factory=dict)


@dataclass
class ReferenceLoad:
    rows: list[ReferenceRow]
    cells: list[ReferenceCell]  # the canonical published cells (findings and claims read them)
    not_shown: list[str]


def items_per_reference_sum(bench: Benchmark) -> int | None:
    """How many items a published sum (open QA: sum of ratings) adds up: the catalogue's sample size, or the
    row count of the data file shipped with the benchmark."""
    tasks = [t for t in catalogue().tasks if t.benchmark is bench]
    sizes = {t.extra.get("dataset_filter", {}).get("n") for t in tasks} - {None}
    if not sizes and bench.embedded:
        folder = TASKS_DIR / bench.task_dir / bench.embedded
        sizes = {
            sum(1 for line in path.open(encoding="utf-8") if line.strip())
            for t in tasks
            for path in folder.glob(f"*_{t.language}.jsonl")
        }
    return int(sizes.pop()) if len(sizes) == 1 else None


def reference_rows(cells: list[ReferenceCell]) -> tuple[list[ReferenceRow], list[str]]:
    """Published headline cells as rows on the measured scale (open-QA sums as mean ratings); cells of a
    benchmark the catalogue does not know are listed under "not shown", one line per benchmark."""
    rows: dict[tuple[RowKey, str], ReferenceRow] = {}
    unknown: dict[str, int] = {}
    for cell in cells:
        bench = cell.catalogue_benchmark
        if bench is None or bench.headline is None:
            unknown[cell.benchmark] = unknown.get(cell.benchmark, 0) + 1
            continue
        factor = 1.0
        if cell.metric == f"sum_{bench.headline.metric}":
            items = items_per_reference_sum(bench)
            factor = 1.0 / items if items else 1.0
        elif cell.metric != bench.headline.metric:
            continue  # another metric (XQuAD's include): the findings read it, the table does not
        column = ColumnKey(bench.name, cell.lang, bench.headline.metric, bench.origin, judge=cell.judge or "")
        key = RowKey(cell.base_model, cell.train_data, cell.lr, cell.tuning)
        row = rows.setdefault((key, cell.source), ReferenceRow(key, cell.source))
        row.scores.setdefault(column, cell.score * factor)
    not_shown = [
        f"not shown: reference benchmark {name!r} ({n} published numbers): the catalogue has no such "
        "benchmark"
        for name, n in sorted(unknown.items())
    ]
    return list(rows.values()), not_shown


def load_reference_rows(spec: str) -> ReferenceLoad:
    """``paper`` (the embedded 3,120 numbers of Chen et al. 2024) or a CSV with the same columns."""
    cells = load_reference(spec)
    rows, not_shown = reference_rows(cells)
    return ReferenceLoad(rows, cells, not_shown)

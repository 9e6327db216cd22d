"""The ranking of the measured models (summary), the scores table and the per-benchmark rankings (details).

The overall score of a model is the mean over the percent-scale catalogue test sets that every ranked model
was scored on (user-made translations left out: they repeat their source's items); its CI comes from the
test sets' shared cluster-bootstrap draws (the mean of the resampled means).
"""

from __future__ import annotations

from dataclasses import dataclass
from statistics import mean

import numpy as np

from nativeval.harness_ext.core import stats
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.model import Board, Entry
from nativeval.harness_ext.leaderboard.sections.common import (
    column_group,
    column_title,
    competition_ranks,
    kind_text,
    model_cells,
    model_columns,
    ranked,
    row_tags,
    score_cell,
)
from nativeval.harness_ext.report.figures import DotPanel, Dots, Point
from nativeval.harness_ext.report.tables import Column, ScoreCell, Section, Table


@dataclass
class MacroScore:
    value: float
    ci: tuple[float, float] | None
    boot: np.ndarray | None


def macro_scores(board: Board, entries: list[Entry], columns: list[ColumnKey]) -> dict[int, MacroScore]:
    """Mean over ``columns`` per entry that has them all, with a CI where every column has resamples."""
    out: dict[int, MacroScore] = {}
    for entry in entries:
        if not columns or not all(c in entry.values for c in columns):
            continue
        i = board.index(entry)
        boots = [
            board.stats[c].boot[:, board.stats[c].members.index(i)]
            for c in columns
            if c in board.stats and i in board.stats[c].members and board.stats[c].estimates[i].has_inference
        ]
        boot = np.mean(boots, axis=0) if len(boots) == len(columns) else None
        ci = tuple(float(v) for v in stats.percentile_ci(boot)) if boot is not None else None
        out[i] = MacroScore(mean(entry.values[c] for c in columns), ci, boot)  # type: ignore[arg-type]
    return out


def ranking_columns(board: Board) -> list[ColumnKey]:
    """Percent-scale catalogue test sets measured for every measured row (else those of most rows)."""
    candidates = [c for c in board.measured_columns if c.percent and not c.user_made and c.language != "?"]
    full = [c for c in candidates if all(c in e.values for e in board.measured)]
    return full or candidates


def summary(board: Board) -> Section | None:
    entries = board.measured
    if not entries:
        return None
    columns = ranking_columns(board)
    scores = macro_scores(board, entries, columns)
    if not scores:
        return None
    ranks = competition_ranks({i: s.value for i, s in scores.items()})
    base = board.baseline_entry
    table = Table(
        "ranking",
        "",
        [
            Column("rank", "rank", "int", always=True),
            *model_columns(),
            Column("score", "mean score (%)", "score", always=True),
            Column("delta", f"Δ vs {board.baseline_model}" if base is not None else "Δ vs baseline", "score"),
        ],
    )
    for i in sorted(scores, key=lambda i: (ranks[i], board.entries[i].label)):
        entry, score = board.entries[i], scores[i]
        delta = None
        if base is not None and base in scores and i != base:
            other = scores[base]
            ci = None
            if score.boot is not None and other.boot is not None:
                low, high = stats.percentile_ci(score.boot - other.boot)
                ci = (float(low), float(high))
            delta = ScoreCell(score.value - other.value, ci)
        table.add(
            row_tags(entry),
            rank=ranks[i],
            **model_cells(entry),
            score=ScoreCell(score.value, score.ci, None, bool(entry.limited)),
            delta=delta,
        )
    sets = ", ".join(c.display for c in columns)
    return Section(
        "ranking",
        "Ranking of the models measured here",
        f"Mean over {len(columns)} test set(s) ({sets}) with its 95% cluster-bootstrap CI.",
        tables=[table],
        summary=True,
    )


def scores(board: Board) -> Section | None:
    """Every measured row's score on every test set (the wide table), and one dot chart per test set."""
    entries = board.measured
    if not entries:
        return None
    columns = board.measured_columns
    table_columns = model_columns() + [
        Column("kind", "kind", always=True),
        Column("limit", "lm-eval --limit"),
    ]
    table_columns += [Column(c.slug, column_title(c), "score", group=column_group(c)) for c in columns]
    table = Table("leaderboard", "", table_columns)
    for entry in entries:
        cells = {
            **model_cells(entry),
            "kind": kind_text(entry),
            "limit": None if entry.limit is None else f"{entry.limit:g}",
        }
        cells.update({c.slug: score_cell(board, entry, c) for c in columns})
        table.add(row_tags(entry), **cells)
    figures = []
    for column in columns:
        rows = ranked(board, column)
        points = []
        for entry in rows:
            estimate = board.estimate(entry, column)
            ci = estimate.ci if estimate else None
            points.append(
                Point(entry.label, entry.values[column], ci[0] if ci else None, ci[1] if ci else None)
            )
        figures.append(
            Dots(
                f"dots_{column.slug}",
                f"{column.display}: score per model (95% CI)",
                panels=(
                    DotPanel(
                        "",
                        tuple(points),
                        f"{column.metric_title}" + (" (%)" if column.percent else ""),
                        percent=column.percent,
                    ),
                ),
            )
        )
    return Section(
        "scores",
        "Scores per test set",
        "Score per test set (percent where the catalogue says so; "
        "open QA: mean judge rating 1-5) with its 95% CI over test items (clusters resampled where items "
        "share a passage or subject) and the item count; blank: not evaluated.",
        tables=[table],
        figures=figures,
    )


def per_benchmark(board: Board) -> Section | None:
    tables = []
    for column in board.measured_columns:
        entries = ranked(board, column)
        if len(entries) < 2:
            continue
        table = Table(
            f"ranking-{column.slug}",
            f"{column_title(column)} ({column.origin_title})",
            [
                Column("rank", "rank", "int", always=True),
                *model_columns(),
                Column("score", "score", "number", always=True),
                Column("ci", "95% CI", "ci"),
                Column("se", "SE (clustered)", "number", 2),
                Column("se_naive", "SE (naive)", "number", 2),
                Column("n", "items", "int"),
                Column("clusters", "clusters", "int"),
            ],
        )
        ranks = competition_ranks({k: e.values[column] for k, e in enumerate(entries)})
        for k, entry in enumerate(entries):
            estimate = board.estimate(entry, column)
            clustered = estimate is not None and estimate.n_clusters < estimate.n_items
            table.add(
                row_tags(entry),
                rank=ranks[k],
                **model_cells(entry),
                score=entry.values[column],
                ci=estimate.ci if estimate else None,
                se=estimate.se if clustered else None,
                se_naive=(estimate.se_naive or estimate.se) if estimate else None,
                n=entry.n.get(column),
                clusters=estimate.n_clusters if clustered else None,
            )
        tables.append(table)
    if not tables:
        return None
    return Section(
        "rankings",
        "Ranking per test set",
        "Models ordered by each test set's score, with the 95% "
        "CI and, where items share a cluster, the clustered standard error beside the naive one.",
        tables=tables,
    )

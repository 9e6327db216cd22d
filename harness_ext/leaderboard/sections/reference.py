"""Published reference rows, apart from the measured ones: their own table (one row per published model
configuration) and figures, with the source to cite and what could not be shown."""

from __future__ import annotations

from nativeval.harness_ext.leaderboard.model import Board
from nativeval.harness_ext.leaderboard.reference import PAPER_SOURCE
from nativeval.harness_ext.leaderboard.sections.common import (
    column_group,
    column_title,
    model_cells,
    model_columns,
)
from nativeval.harness_ext.leaderboard.sections.variants import bars_figure, gap_figure, native_gaps
from nativeval.harness_ext.report.tables import Column, ScoreCell, Section, Table


def build(board: Board) -> Section | None:
    entries = board.published
    if not entries and not board.reference_not_shown:
        return None
    columns = board.published_columns
    table = Table(
        "reference",
        "",
        model_columns() + [Column(c.slug, column_title(c), "score", group=column_group(c)) for c in columns],
    )
    for entry in sorted(entries, key=lambda e: (e.key.lr, e.key.tuning, e.key.base_model, e.key.variant)):
        table.add(
            ("reference",),
            **model_cells(entry),
            **{c.slug: ScoreCell(entry.values[c], reference=True) for c in columns if c in entry.values},
        )
    sources = sorted({e.source for e in entries})
    notes = [
        f"Published numbers, not measured here: {s}."
        + (" Please cite the paper when you use them." if s == PAPER_SOURCE else "")
        for s in sources
    ]
    notes.append(
        "Open-QA sums of ratings (over 50 questions) are shown as mean ratings (sum / 50); the study's "
        "averages over languages are not repeated: the findings pool the per-language cells."
    )
    notes += board.reference_not_shown
    figures = [
        f
        for f in (
            gap_figure(native_gaps(board), "reference"),
            bars_figure(
                board,
                [e for e in entries if e.key.lr == "1e-4" and e.key.tuning == "mono"] or entries,
                "reference",
            ),
        )
        if f is not None
    ]
    return Section(
        "reference",
        "Published reference numbers",
        "The study's own numbers (or the reference CSV "
        "given), in a table of their own; the findings and claims above use them.",
        tables=[table] if entries else [],
        figures=figures,
        notes=notes,
    )

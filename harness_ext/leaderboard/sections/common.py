"""Cells, columns and wording every section shares (one place for each)."""

from __future__ import annotations

from typing import Any

from nativeval.harness_ext.core.stats import Estimate
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.model import Board, Entry
from nativeval.harness_ext.report.tables import Column, ScoreCell

VERDICT_TITLES = {"separates": "separates", "no_difference": "no difference", "inconclusive": "inconclusive"}
ANSWER_FORM_TITLES = {
    "free_form": "free-form text",
    "constrained": "constrained answer",
    None: "answer form unknown",
}


def column_title(column: ColumnKey) -> str:
    """'XQuAD zh (round trip) · exact match (%)': the catalogue's title and the metric in words."""
    unit = f" ({column.unit})" if column.unit == "%" else ""
    return f"{column.display} · {column.metric_title}{unit}"


def column_group(column: ColumnKey) -> str:
    return column.provenance if column.provenance in ("native", "translated", "round_trip") else ""


def score_cell(board: Board, entry: Entry, column: ColumnKey) -> ScoreCell | None:
    if column not in entry.values:
        return None
    estimate = board.estimate(entry, column)
    return ScoreCell(
        entry.values[column],
        estimate.ci if estimate else None,
        entry.n.get(column),
        column in entry.limited,
        entry.kind == "reference",
    )


def estimate_cell(estimate: Estimate | None) -> ScoreCell | str | None:
    if estimate is None:
        return None
    if estimate.value is None:
        return "empty (no items)"
    return ScoreCell(estimate.value, estimate.ci, estimate.n_items or None)


def kind_text(entry: Entry) -> str:
    if entry.kind == "reference":
        return "published"
    return "measured (toy)" if entry.is_toy else "measured"


def row_tags(entry: Entry) -> tuple[str, ...]:
    return tuple(
        t
        for t, on in (
            ("reference", entry.kind == "reference"),
            ("toy", entry.is_toy),
            ("limited", bool(entry.limited)),
        )
        if on
    )


def model_columns() -> list[Column]:
    return [
        Column("model", "model", always=True),
        Column("variant", "training data"),
        Column("lr", "learning rate"),
        Column("tuning", "tuning"),
        Column("method", "method"),
    ]


def model_cells(entry: Entry) -> dict[str, Any]:
    return {
        "model": entry.key.base_model,
        "variant": entry.key.variant,
        "lr": entry.key.lr,
        "tuning": entry.key.tuning,
        "method": entry.key.method,
    }


def competition_ranks(scores: dict[int, float]) -> dict[int, int]:
    """1 + the number of strictly better scores: ties share a rank (1, 2, 2, 4)."""
    return {i: 1 + sum(other > value for other in scores.values()) for i, value in scores.items()}


def ranked(board: Board, column: ColumnKey, kind: str = "measured") -> list[Entry]:
    present = [e for e in board.entries if column in e.values and e.kind == kind]
    return sorted(present, key=lambda e: (-e.values[column], e.label))


def fmt_gap(value: float | None, low: float | None, high: float | None) -> str:
    if value is None:
        return "n/a"
    ci = f" [{low:+.1f}, {high:+.1f}]" if low is not None and high is not None else " (no CI)"
    return f"{value:+.1f}{ci}"

"""The report model shared by the leaderboard and `judge-report`: pages of sections of tables and figure
specs.

A :class:`Section` holds tables, figure specs (:mod:`nativeval.harness_ext.report.figures`) and notes; a
:class:`Table` holds typed :class:`Column` s and rows (dicts from column key to a cell value). Every renderer
(:mod:`nativeval.harness_ext.report.render`) walks the same objects, so none can drop a column or a section. A
column empty in every row is hidden in all outputs alike (``Table.visible_columns``). Sections are built from
data only; figures are drawn from their specs by the rendering layer, never while a section is built.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from nativeval.harness_ext.report.figures import Figure

CellKind = Literal["text", "number", "score", "ci", "p", "int"]


@dataclass(frozen=True)
class ScoreCell:
    """A score with its 95% CI and item count; ``limited``: from an lm-eval ``--limit`` run."""

    value: float
    ci: tuple[float, float] | None = None
    n: int | None = None
    limited: bool = False
    reference: bool = False


@dataclass(frozen=True)
class Column:
    key: str
    title: str
    kind: CellKind = "text"
    digits: int = 1
    group: str = ""  # "native" | "translated" | "": colours the HTML header
    always: bool = False  # shown even when empty in every row


@dataclass
class Row:
    cells: dict[str, Any]
    tags: tuple[str, ...] = ()  # "reference", "toy", "limited": styling and a marker column where it matters


@dataclass
class Table:
    id: str
    title: str
    columns: list[Column]
    rows: list[Row] = field(default_factory=list)
    caption: str = ""
    notes: list[str] = field(default_factory=list)
    sortable: bool = True

    def add(self, tags: tuple[str, ...] = (), **cells: Any) -> None:
        self.rows.append(Row(cells, tags))

    def visible_columns(self) -> list[Column]:
        return [
            c for c in self.columns if c.always or any(not is_empty(r.cells.get(c.key)) for r in self.rows)
        ]


@dataclass
class Section:
    id: str
    title: str
    description: str = ""
    tables: list[Table] = field(default_factory=list)
    figures: list[Figure] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    summary: bool = False  # shown open at the top of the page (the findings, the ranking); else collapsible
    text: list[str] = field(default_factory=list)  # short sentences shown before the tables (a verdict line)

    @property
    def empty(self) -> bool:
        return not (self.tables or self.figures or self.notes or self.text)


@dataclass
class Page:
    title: str
    banners: list[str]
    sections: list[Section]
    footer: str
    meta: dict[str, Any] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)  # said once for the whole page (at its end)
    data: dict[str, Any] = field(
        default_factory=dict
    )  # machine-readable records for the JSON (e.g. findings)

    @property
    def summary(self) -> list[Section]:
        return [s for s in self.sections if s.summary]

    @property
    def details(self) -> list[Section]:
        return [s for s in self.sections if not s.summary]


def is_empty(value: Any) -> bool:
    if isinstance(value, tuple):
        return all(is_empty(v) for v in value)
    return value is None or value == "" or (isinstance(value, float) and math.isnan(value))


# --- cell text (shared by Markdown, CSV and HTML) --------------------------------------------------------
def fmt_number(value: float | None, digits: int = 1) -> str:
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    return f"{value:.{digits}f}"


def fmt_ci(ci: tuple[float | None, float | None] | None, digits: int = 1) -> str:
    if ci is None or ci[0] is None or ci[1] is None:
        return ""
    return f"[{fmt_number(ci[0], digits)}, {fmt_number(ci[1], digits)}]"


def fmt_p(p: float | None) -> str:
    if p is None:
        return ""
    return "<0.0001" if p < 1e-4 else f"{p:.4f}"


def cell_text(column: Column, value: Any) -> str:
    """The one textual form of a cell (HTML escapes it; CSV splits score cells into fields)."""
    if is_empty(value):
        return ""
    if isinstance(value, ScoreCell):
        parts = [fmt_number(value.value, column.digits)]
        if value.ci is not None:
            parts.append(fmt_ci(value.ci, column.digits))
        elif not value.reference:
            parts.append("[CI n/a]")
        if value.n is not None:
            parts.append(f"n={value.n}{' limit' if value.limited else ''}")
        return " ".join(parts)
    if column.kind == "ci":
        return fmt_ci(value, column.digits)
    if column.kind == "p":
        return fmt_p(value)
    if column.kind == "number" and isinstance(value, (int, float)):
        return fmt_number(float(value), column.digits)
    if isinstance(value, bool):
        return "yes" if value else "no"
    return str(value)


def sort_key(value: Any) -> str:
    if isinstance(value, ScoreCell):
        return f"{value.value:.6f}"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "" if isinstance(value, float) and math.isnan(value) else f"{value:.6f}"
    if isinstance(value, tuple):
        return "" if not value or value[0] is None else f"{value[0]:.6f}"
    return "" if value is None else str(value)

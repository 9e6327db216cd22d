"""Per language: native and translated test-set scores, their difference with a CI, and how far the two
rankings of the models agree (Kendall's tau with a CI) -
:mod:`nativeval.harness_ext.leaderboard.cross_language`."""

from __future__ import annotations

from nativeval.harness_ext.core.languages import UnknownLanguage, language_name
from nativeval.harness_ext.leaderboard.cross_language import LanguageRow
from nativeval.harness_ext.leaderboard.model import Board
from nativeval.harness_ext.leaderboard.sections.common import fmt_gap
from nativeval.harness_ext.report.figures import DotPanel, Dots, Point
from nativeval.harness_ext.report.tables import Column, Section, Table

KINDS = {"measured": "measured", "reference": "published"}


def language_label(code: str) -> str:
    """``Chinese (zh)``; a code the registry doesn't know stays as it is."""
    try:
        return f"{language_name(code)} ({code})"
    except (UnknownLanguage, KeyError):
        return code


def figure(rows: list[LanguageRow]) -> Dots | None:
    """Per language: the native − translated gap and Kendall's tau, each with its CI (published rows
    hollow)."""

    def label(row: LanguageRow) -> str:
        return language_label(row.language)

    gaps = tuple(
        Point(label(r), r.gap, r.ci_low, r.ci_high, KINDS.get(r.kind, r.kind), r.kind == "reference")
        for r in rows
        if r.gap is not None
    )
    taus = tuple(
        Point(label(r), r.tau, r.tau_ci_low, r.tau_ci_high, KINDS.get(r.kind, r.kind), r.kind == "reference")
        for r in rows
        if r.tau is not None
    )
    panels = []
    if gaps:
        panels.append(
            DotPanel(
                "Native minus translated test sets, mean over models",
                gaps,
                "native − translated (points) with 95% CI",
                reference=0.0,
            )
        )
    if taus:
        panels.append(
            DotPanel(
                "Agreement of the two rankings of the models",
                taus,
                "Kendall τ with 95% CI (1: same order)",
                reference=0.0,
            )
        )
    if not panels:
        return None
    return Dots(
        "cross_language",
        "Native against translated test sets, per language",
        panels=tuple(panels),
        groups=tuple(
            g for g in KINDS.values() if any(p.group == g for panel in panels for p in panel.points)
        ),
        caption="Per language: the models' mean score on native minus translated test sets, and Kendall's "
        "τ between the rankings the two give (published rows hollow).",
    )


def build(board: Board) -> Section | None:
    if not board.cross_language:
        return None
    table = Table(
        "cross-language",
        "",
        [
            Column("language", "language", always=True),
            Column("kind", "numbers"),
            Column("native", "native sets, mean (%)", "number"),
            Column("translated", "translated sets, mean (%)", "number"),
            Column("gap", "native − translated (points) [95% CI]"),
            Column("models", "models", "int"),
            Column("tau", "Kendall τ [95% CI]"),
            Column("discordant", "pairs ordered differently", "int"),
            Column("sets", "test sets"),
            Column("note", "note"),
        ],
        sortable=False,
    )
    for row in board.cross_language:
        tau = None
        if row.tau is not None:
            tau = f"{row.tau:.2f}" + (
                f" [{row.tau_ci_low:.2f}, {row.tau_ci_high:.2f}]"
                if row.tau_ci_low is not None and row.tau_ci_high is not None
                else ""
            )
        table.add(
            (row.kind,) if row.kind == "reference" else (),
            kind="published" if row.kind == "reference" else "measured",
            language=language_label(row.language),
            native=row.native_score,
            translated=row.translated_score,
            gap=None if row.gap is None else fmt_gap(row.gap, row.ci_low, row.ci_high),
            models=row.n_models,
            tau=tau,
            discordant=row.discordant_pairs,
            sets=f"native: {', '.join(row.native_sets) or 'none'}; "
            f"translated: {', '.join(row.translated_sets) or 'none'}",
            note=row.note,
        )
    return Section(
        "cross-language",
        "Across languages",
        "For every language: the models' mean score on native "
        "and on translated test sets (headline, percent-scale, unjudged), the difference with its CI, "
        "and Kendall's τ between the two rankings of the models.",
        tables=[table],
        figures=[f for f in (figure(board.cross_language),) if f is not None],
    )

"""The page, one module per section: each ``build(board) -> Section | None`` returns tables and figure specs
from the :class:`~nativeval.harness_ext.leaderboard.model.Board` alone (no file read, no figure drawn).

``SECTIONS`` is the page order: the summary (findings, ranking) first, then every detail section, each
collapsible on the page. To add a section, write such a function and append it (or pass it to
``build.make_page(board, extra_sections=[...])``).
"""

from __future__ import annotations

from collections.abc import Callable

from nativeval.harness_ext.leaderboard.model import Board
from nativeval.harness_ext.leaderboard.sections import (
    claims,
    cross_language,
    findings,
    judge,
    origins,
    ranking,
    reference,
    significance,
    tags,
    translationese,
    variants,
)
from nativeval.harness_ext.report.tables import Section

SectionFunction = Callable[[Board], "Section | None"]

SECTIONS: list[SectionFunction] = [
    findings.summary,  # the finding first (summary)
    ranking.summary,  # the models measured here, with CIs (summary)
    findings.figure,
    findings.details,
    claims.build,
    ranking.scores,
    origins.build,
    ranking.per_benchmark,
    significance.baseline,
    significance.pairwise,
    significance.uncertainty,
    variants.build,
    tags.build,
    translationese.build,
    judge.build,
    cross_language.build,
    reference.build,
]

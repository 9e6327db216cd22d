"""Per language: native and translated test-set scores, their difference with a CI, and how far the two
rankings of the models agree (Kendall's tau with a CI) - :mod:`harness_ext.leaderboard.cross_language`."""

from __future__ import annotations

from harness_ext.leaderboard.model import Board
from harness_ext.leaderboard.sections.common import fmt_gap
from harness_ext.report.tables import Column, Section, Table


def build(board: Board) -> Section | None:
    if not board.cross_language:
        return None
    table = Table("cross-language", "", [
        Column("kind", "numbers"), Column("language", "language", always=True),
        Column("native", "native test sets", "number"), Column("translated", "translated test sets", "number"),
        Column("gap", "native − translated [95% CI]"), Column("models", "models", "int"),
        Column("tau", "Kendall τ [95% CI]"), Column("discordant", "pairs ordered differently", "int"),
        Column("sets", "test sets"), Column("note", "note")], sortable=False)
    for row in board.cross_language:
        tau = None
        if row.tau is not None:
            tau = f"{row.tau:.2f}" + (f" [{row.tau_ci_low:.2f}, {row.tau_ci_high:.2f}]"
                                      if row.tau_ci_low is not None and row.tau_ci_high is not None else "")
        table.add((row.kind,) if row.kind == "reference" else (), kind="published" if row.kind == "reference"
                  else "measured", language=row.language, native=row.native_score, translated=row.translated_score,
                  gap=None if row.gap is None else fmt_gap(row.gap, row.ci_low, row.ci_high), models=row.n_models,
                  tau=tau, discordant=row.discordant_pairs,
                  sets="native: " + ", ".join(row.native_sets) + "; translated: " + ", ".join(row.translated_sets),
                  note=row.note)
    return Section("cross-language", "Across languages", "For every language: the models' mean score on native "
                   "and on translated test sets (headline, percent-scale, unjudged), the difference with its CI, "
                   "and Kendall's τ between the two rankings of the models.", tables=[table])

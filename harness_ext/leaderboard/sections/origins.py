"""Native vs translated test sets per language: each model's mean over the language's native test sets and
over its translated ones (round trips and other user-made translations never join either), the two rankings,
Kendall's tau and the pairs whose order flips; one scatter per language."""

from __future__ import annotations

from dataclasses import dataclass

from nativeval.harness_ext.core import stats
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.model import Board
from nativeval.harness_ext.leaderboard.sections.common import (
    competition_ranks,
    model_cells,
    model_columns,
    row_tags,
)
from nativeval.harness_ext.leaderboard.sections.ranking import MacroScore, macro_scores
from nativeval.harness_ext.report.figures import XY, Scatter, ScatterPanel
from nativeval.harness_ext.report.tables import Column, Section, Table


def origin_columns(board: Board, language: str, provenance: str) -> list[ColumnKey]:
    return [
        c
        for c in board.measured_columns
        if c.language == language and c.provenance == provenance and c.percent and not c.user_made
    ]


def origin_scores(board: Board, language: str, provenance: str) -> dict[int, MacroScore]:
    """Macro mean over a language's percent-scale test sets of one origin group, per measured row that has
    all."""
    return macro_scores(board, board.measured, origin_columns(board, language, provenance))


def origin_languages(board: Board) -> list[str]:
    return sorted(
        {c.language for c in board.measured_columns if c.percent and c.language not in ("?", "all")}
    )


@dataclass
class Flip:
    above_translated: int
    above_native: int
    delta: float
    ci: tuple[float, float] | None


def rank_flips(
    board: Board, native: dict[int, MacroScore], translated: dict[int, MacroScore]
) -> tuple[float | None, list[Flip]]:
    """Kendall tau between the native and translated rankings, and every pair the two order differently."""
    models = sorted(set(native) & set(translated))
    tau = stats.kendall_tau([native[i].value for i in models], [translated[i].value for i in models])
    flips = []
    for a in models:
        for b in models:
            if translated[a].value > translated[b].value and native[b].value > native[a].value:
                boot_a, boot_b = native[a].boot, native[b].boot
                ci = None
                if boot_a is not None and boot_b is not None:
                    low, high = stats.percentile_ci(boot_b - boot_a)
                    ci = (float(low), float(high))
                flips.append(Flip(a, b, native[b].value - native[a].value, ci))
    return tau, sorted(flips, key=lambda f: -f.delta)


def build(board: Board) -> Section | None:
    tables, figures, notes = [], [], []
    for language in origin_languages(board):
        native = origin_scores(board, language, "native")
        translated = origin_scores(board, language, "translated")
        if not native and not translated:
            continue
        native_rank = competition_ranks({i: s.value for i, s in native.items()})
        translated_rank = competition_ranks({i: s.value for i, s in translated.items()})
        table = Table(
            f"origin-{language}",
            f"{language}: native and translated test sets",
            [
                *model_columns(),
                Column("native", "native test sets (%)", "number", group="native", always=True),
                Column("native_ci", "native 95% CI", "ci", group="native"),
                Column("native_rank", "native rank", "int"),
                Column("translated", "translated test sets (%)", "number", group="translated", always=True),
                Column("translated_ci", "translated 95% CI", "ci", group="translated"),
                Column("translated_rank", "translated rank", "int"),
                Column("gap", "native − translated", "number"),
            ],
        )
        described = [
            f"{origin}: " + ", ".join(c.display for c in origin_columns(board, language, origin))
            for origin, scores in (("native", native), ("translated", translated))
            if scores
        ]
        table.caption = (
            "Macro mean over the language's percent-scale test sets of each origin ("
            + "; ".join(described)
            + "); a model needs every test set of an origin to get its score."
        )
        for i in sorted(set(native) | set(translated), key=lambda i: -(native.get(i) or translated[i]).value):
            entry = board.entries[i]
            n, t = native.get(i), translated.get(i)
            table.add(
                row_tags(entry),
                **model_cells(entry),
                native=n.value if n else None,
                native_ci=n.ci if n else None,
                native_rank=native_rank.get(i),
                translated=t.value if t else None,
                translated_ci=t.ci if t else None,
                translated_rank=translated_rank.get(i),
                gap=(n.value - t.value) if n and t else None,
            )
        tables.append(table)
        tau, flips = rank_flips(board, native, translated)
        both = len(set(native) & set(translated))
        if both >= 2:
            flip_table = Table(
                f"flips-{language}",
                f"{language}: rank flips between native and translated test "
                f"sets (Kendall τ = {'n/a' if tau is None else f'{tau:.2f}'}, {both} models)",
                [
                    Column("flip", "flip", always=True),
                    Column("delta", "Δ native (B − A)", "number", always=True),
                    Column("ci", "95% CI", "ci"),
                ],
            )
            for flip in flips:
                a, b = board.entries[flip.above_translated].label, board.entries[flip.above_native].label
                flip_table.add(
                    flip=f"translated_{language} ranks {a} above {b}; native_{language} ranks {b} above {a}",
                    delta=flip.delta,
                    ci=flip.ci,
                )
            if flips:
                tables.append(flip_table)
            else:
                notes.append(
                    f"{language}: no rank flips between native and translated test sets (Kendall τ = "
                    f"{'n/a' if tau is None else f'{tau:.2f}'}, {both} models): both order the models alike"
                )
        models = sorted(set(native) & set(translated))
        if models:
            points = tuple(
                XY(
                    translated[i].value,
                    native[i].value,
                    board.entries[i].label[:40],
                    "",
                    *(translated[i].ci or (None, None)),
                    *(native[i].ci or (None, None)),
                )
                for i in models
            )
            figures.append(
                Scatter(
                    f"origin_scatter_{language}",
                    f"{language}: native vs translated test-set score",
                    panels=(
                        ScatterPanel(
                            "one point per model; dashed: equal scores",
                            points,
                            "translated test sets, mean (%)",
                            "native test sets, mean (%)",
                            diagonal=True,
                            percent=True,
                        ),
                    ),
                )
            )
    if not tables:
        return None
    return Section(
        "origins",
        "Native vs translated test sets",
        "Per language, each model's native and "
        "translated score, the models ranked by each, Kendall τ between the two rankings and the pairs "
        "whose order flips. Ratings (open QA) and user-made translations stay out of the means.",
        tables=tables,
        figures=figures,
        notes=notes,
    )

"""Translationese sensitivity: a test set minus its translation (`translate-task`, round trips included) on
the same items, paired, from the scores read once (no result directory is read again)."""

from __future__ import annotations

from dataclasses import dataclass

from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.model import Board, Entry
from nativeval.harness_ext.leaderboard.sections.common import model_cells, model_columns, row_tags
from nativeval.harness_ext.leaderboard.task_columns import task_column
from nativeval.harness_ext.leaderboard.translationese import Sensitivity, translationese_sensitivity
from nativeval.harness_ext.report.tables import Column, Section, Table


@dataclass
class TranslationPairRow:
    entry: Entry
    source: ColumnKey
    translation: ColumnKey
    source_task: str
    result: Sensitivity  # on the column's scale


def translation_pairs(board: Board) -> list[TranslationPairRow]:
    """Each row's user-made test set beside its source, item by item, from the scores read once."""
    out = []
    for entry in board.measured:
        by_slug = {c.slug: c for c in entry.items}
        for column, source_task in sorted(entry.sources.items()):
            source = by_slug.get(task_column(source_task, None).key().slug)
            if (
                source is None
                or column not in entry.items
                or not set(entry.items[column]) & set(entry.items[source])
            ):
                continue
            result = translationese_sensitivity(
                entry.items[source],
                entry.items[column],
                entry.clusters.get(source),
                resamples=board.resamples,
                seed=board.seed,
            )
            out.append(TranslationPairRow(entry, source, column, source_task, result))
    return out


def build(board: Board) -> Section | None:
    """Source minus its translation (`translate-task`, round trips included) on the same items, paired."""
    pairs = translation_pairs(board)
    if not pairs:
        return None
    table = Table(
        "translationese",
        "Translationese sensitivity",
        [
            *model_columns(),
            Column("benchmark", "test set", always=True),
            Column("origin", "translation"),
            Column("source_task", "source task"),
            Column("translated_task", "translated task"),
            Column("n", "items", "int"),
            Column("source", "source score", "number"),
            Column("translation", "translation score", "number"),
            Column("sensitivity", "source − translation", "number", 2, always=True),
            Column("ci", "95% CI", "ci", 2),
            Column("p", "p", "p"),
            Column("left_out", "items scored on one side only", "int"),
        ],
        caption="Mean per-item score of a test set and of its translation over the items both scored, "
        "and their difference with a paired bootstrap CI (percent where the catalogue says so).",
    )
    for pair in pairs:
        r = pair.result
        table.add(
            row_tags(pair.entry),
            **model_cells(pair.entry),
            benchmark=pair.source.display,
            origin=pair.translation.origin_title,
            source_task=pair.source_task,
            translated_task=pair.translation.task,
            n=r.n,
            source=r.source_score,
            translation=r.translation_score,
            sensitivity=r.sensitivity,
            ci=(r.ci_low, r.ci_high),
            p=r.p_value,
            left_out=r.source_only + r.translation_only or None,
        )
    return Section(
        "translationese",
        "Translationese sensitivity",
        "How much a test set's score moves when its "
        "items are machine-translated or round-tripped (e.g. zh -> en -> zh): a large difference means "
        "the translated test set measures the translation as well as the model.",
        tables=[table],
    )

"""Training-data variants: grouped bars of the variants per base model (the paper's Figs. 1-2) and the gap
against the native-data score (Fig. 4), for measured and published rows apart. The statistics of the gap are
the findings' (:mod:`nativeval.harness_ext.leaderboard.findings`); this section only shows the rows."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from statistics import mean

from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.findings import training_origin
from nativeval.harness_ext.leaderboard.model import Board, Entry, variant_groups
from nativeval.harness_ext.report.figures import XY, BarPanel, Bars, Figure, Scatter, ScatterPanel
from nativeval.harness_ext.report.tables import Section

MAX_PANELS = 12


@dataclass
class NativeGap:
    kind: str
    group: tuple[str, str, str, str]  # base model, lr, tuning, method
    column: ColumnKey
    native_score: float
    translated_mean: float

    @property
    def gap(self) -> float:
        return self.native_score - self.translated_mean


def native_gaps(board: Board) -> list[NativeGap]:
    """ΔS = S_native − mean of the translated variants, per base-model configuration and test set (Fig. 4)."""
    out = []
    for (kind, group), members in variant_groups(board.entries):
        base = next((e for e in members if e.key.variant == board.baseline), None)
        translated = [e for e in members if training_origin(e.key.variant, board.baseline) == "translated"]
        if base is None or not translated:
            continue
        for column in sorted({c for e in members for c in e.values}):
            scores = [e.values[column] for e in translated if column in e.values]
            if column in base.values and scores:
                out.append(NativeGap(kind, group, column, base.values[column], mean(scores)))
    return out


def gap_figure(gaps: list[NativeGap], kind: str) -> Figure | None:
    by_column: dict[ColumnKey, list[NativeGap]] = defaultdict(list)
    for gap in gaps:
        if gap.kind == kind:
            by_column[gap.column].append(gap)
    panels = []

    def free_form_first(item: tuple[ColumnKey, list[NativeGap]]) -> tuple:
        info = item[0].info
        return (
            getattr(info, "answer_form", None) != "free_form",
            item[0].provenance != "translated",
            item[0],
        )

    for column, points in sorted(by_column.items(), key=free_form_first):
        if len({p.group[0] for p in points}) < 2:
            continue  # one base model: no trend to see
        if len(panels) == MAX_PANELS:
            break
        xy = tuple(
            XY(p.native_score, p.gap, " ".join(x for x in p.group[1:] if x) or "runs", p.group[0])
            for p in points
        )
        unit = " (%)" if column.percent else ""
        gap_unit = "points" if column.percent else "rating"
        panels.append(
            ScatterPanel(
                column.display,
                xy,
                f"native-data score{unit}",
                f"gap ({gap_unit})",
                zero_line=True,
                percent=column.percent,
            )
        )
    if not panels:
        return None
    who = "published" if kind == "reference" else "measured"
    return Scatter(
        f"{kind}_gap_vs_native",
        f"Gap against the native-data score per base model ({who} rows, "
        "the paper's Fig. 4; free-form test sets first)",
        panels=tuple(panels),
        caption=f"Native-data score against the gap, one point per base model and configuration "
        f"({who} rows; at most {MAX_PANELS} test sets, free-form generation first)",
    )


def bars_figure(board: Board, entries: list[Entry], kind: str) -> Figure | None:
    panels = []
    columns = sorted({c for e in entries for c in e.values})
    for column in columns:
        configs: dict[tuple[str, str, str], dict[str, dict[str, float]]] = defaultdict(
            lambda: defaultdict(dict)
        )
        for e in entries:
            if column in e.values:
                configs[(e.key.lr, e.key.tuning, e.key.method)][e.key.base_model][e.key.variant] = e.values[
                    column
                ]
        for config, by_model in sorted(configs.items()):
            if not any(len(vs) > 1 for vs in by_model.values()):
                continue
            variants = sorted(
                {v for vs in by_model.values() for v in vs}, key=lambda v: (v != board.baseline, v)
            )
            models = tuple(sorted(by_model))
            series = tuple((v, tuple(by_model[m].get(v) for m in models)) for v in variants)
            title = f"{column.display} · {' '.join(p for p in config if p)}".strip(" ·")
            panels.append(
                BarPanel(
                    title,
                    models,
                    series,
                    column.metric_title + (" (%)" if column.percent else ""),
                    column.percent,
                )
            )
    if not panels:
        return None
    who = "published" if kind == "reference" else "measured"
    return Bars(
        f"{kind}_variant_bars",
        f"Score by training data per base model ({who} rows)",
        panels=tuple(panels[:MAX_PANELS]),
        caption=f"Score by training-data variant ({who} rows)"
        + (f"; first {MAX_PANELS} of {len(panels)} panels" if len(panels) > MAX_PANELS else ""),
    )


def build(board: Board) -> Section | None:
    entries = [e for e in board.measured if e.key.variant]
    if not entries:
        return None
    figures = [
        f
        for f in (bars_figure(board, entries, "measured"), gap_figure(native_gaps(board), "measured"))
        if f is not None
    ]
    if not figures:
        return None
    return Section(
        "variants",
        "Training-data variants",
        "Rows that differ only in their fine-tuning data (from "
        "nativeval_run.json manifests): the score of each variant, and the gap against the "
        "native-data score (Fig. 4 of the paper).",
        figures=figures,
    )

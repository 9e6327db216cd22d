"""What the leaderboard computes: entries and per-test-set statistics, then one function per page section.

Every section function takes the :class:`Leaderboard` and returns a :class:`~harness_ext.leaderboard.tables.
Section` (or None when it has nothing to show). ``SECTIONS`` is the page order; to add a section, write one
such function and append it (or pass it to ``build.write_site(board, out, extra_sections=[...])``).
"""

from __future__ import annotations

import re
import tempfile
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from statistics import mean
from typing import Any

import numpy as np

from harness_ext.catalogue.model import catalogue
from harness_ext.leaderboard import stats, tags
from harness_ext.leaderboard.results import (
    ORIGIN_GROUP_ORDER,
    PAPER_SOURCE,
    ColumnKey,
    ReferenceRow,
    RowKey,
    Run,
    item_tag_fields,
    variant_origin,
)
from harness_ext.leaderboard.tables import Column, Plot, ScoreCell, Section, Table

ALPHA = 0.05
ORIGIN_LABEL = {"native": "native", "human_translated": "translated (human)",
                "machine_translated": "translated (machine)", "translated": "translated",
                "unknown": "origin unknown"}


# --- data ------------------------------------------------------------------------------------------------
@dataclass
class Entry:
    """A leaderboard row, measured or published."""

    key: RowKey
    kind: str  # "measured" | "reference"
    values: dict[ColumnKey, float]
    items: dict[ColumnKey, dict[str, float]] = field(default_factory=dict)
    clusters: dict[ColumnKey, dict[str, str]] = field(default_factory=dict)
    tags: dict[ColumnKey, dict[str, dict[str, str]]] = field(default_factory=dict)  # item -> catalogue item_tags
    n: dict[ColumnKey, int] = field(default_factory=dict)
    limited: set[ColumnKey] = field(default_factory=set)
    source: str = ""
    is_toy: bool = False
    model_name: str = ""
    limit: float | None = None
    sources: dict[ColumnKey, str] = field(default_factory=dict)  # a user-made test set -> its source task

    @property
    def label(self) -> str:
        return self.key.label


@dataclass
class ColumnStats:
    """Per-item statistics of one test set over the measured entries that logged samples on it."""

    column: ColumnKey
    members: list[int]  # indices into Leaderboard.entries
    boot: np.ndarray  # resamples x members: resampled means with shared draws
    estimates: dict[int, stats.Estimate]
    pairs: list[tuple[int, int]] = field(default_factory=list)  # entry indices (a, b): a minus b
    pair_estimates: list[stats.Estimate] = field(default_factory=list)
    p_holm: list[float] = field(default_factory=list)
    n_items: int = 0
    n_clusters: int = 0
    binary: bool = False
    note: str = ""


@dataclass
class Leaderboard:
    title: str
    baseline: str
    entries: list[Entry]
    columns: list[ColumnKey]
    stats: dict[ColumnKey, ColumnStats]
    warnings: list[str]
    superseded: list[str]
    missing_headline: list[str]
    resamples: int
    seed: int
    reference: str | None = None
    baseline_model: str | None = None
    notes: list[str] = field(default_factory=list)
    plot_dir: Path | None = None
    inputs: list[Path] = field(default_factory=list)  # the results paths given (judge and translation sections)
    judge_labels: dict[str, str] = field(default_factory=dict)  # judge name -> label shown (e.g. a stand-in)

    @property
    def has_toy(self) -> bool:
        return any(e.is_toy for e in self.entries)

    @property
    def measured(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "measured"]

    def index(self, entry: Entry) -> int:
        positions = self.__dict__.setdefault("_positions", {})
        if len(positions) != len(self.entries):
            positions.clear()
            positions.update({id(e): i for i, e in enumerate(self.entries)})
        return positions[id(entry)]

    def estimate(self, entry: Entry, column: ColumnKey) -> stats.Estimate | None:
        col = self.stats.get(column)
        return col.estimates.get(self.index(entry)) if col else None


def entries_from_runs(runs: list[Run]) -> list[Entry]:
    entries = []
    for run in runs:
        entry = Entry(run.key, "measured", {c: s.value for c, s in run.scores.items()}, source=str(run.path),
                      is_toy=run.is_toy, model_name=run.model_name, limit=run.limit, sources=dict(run.sources))
        for column, score in run.scores.items():
            if score.items:
                entry.items[column] = score.items
                if score.clusters:
                    entry.clusters[column] = score.clusters
                if score.tags:
                    entry.tags[column] = score.tags
            if score.n is not None:
                entry.n[column] = score.n
            if score.limited:
                entry.limited.add(column)
        entries.append(entry)
    return entries


def entries_from_reference(rows: list[ReferenceRow]) -> list[Entry]:
    return [Entry(r.key, "reference", dict(r.scores), source=r.source) for r in rows]


def ordered_columns(entries: list[Entry]) -> list[ColumnKey]:
    columns = {c for e in entries for c in e.values}
    return sorted(columns, key=column_order)


def column_order(column: ColumnKey) -> tuple:
    """Native, translated, round-trip, unknown test sets; within a group by benchmark, language; a user-made
    test set right after the catalogue's test set of the same benchmark and language."""
    group = ORIGIN_GROUP_ORDER.index(column.provenance) if column.provenance in ORIGIN_GROUP_ORDER else 9
    return (group, column.benchmark, column.language, column.user_made, column.origin, column.task, column.metric)


# --- per-test-set statistics ----------------------------------------------------------------------------
def column_stats(column: ColumnKey, entries: list[Entry], resamples: int, seed: int) -> ColumnStats | None:
    members = [i for i, e in enumerate(entries) if column in e.items]
    if not members:
        return None
    item_ids = sorted({k for i in members for k in entries[i].items[column]})
    position = {k: j for j, k in enumerate(item_ids)}
    values = np.zeros((len(members), len(item_ids)))
    mask = np.zeros_like(values, dtype=bool)
    cluster_names: dict[str, str] = {}
    for row, i in enumerate(members):
        for k, v in entries[i].items[column].items():
            values[row, position[k]] = v
            mask[row, position[k]] = True
        cluster_names.update(entries[i].clusters.get(column, {}))
    clustered = bool(cluster_names) and len(cluster_names) == len(item_ids)  # a catalogue unit, or several judges
    index = stats.cluster_index([cluster_names[k] for k in item_ids] if clustered else None, len(item_ids))
    boot = stats.bootstrap_means(values, mask, index, resamples, seed)
    low, high = stats.percentile_ci(boot)
    estimates = {}
    for row, i in enumerate(members):
        x = values[row][mask[row]]
        ids = index[mask[row]]
        spread = np.unique(ids).size >= 2  # one cluster: resampling it says nothing about uncertainty
        estimates[i] = stats.Estimate(float(x.mean()), float(low[row]) if spread else None,
                                      float(high[row]) if spread else None,
                                      se=stats.clustered_se(x, ids) if clustered else stats.naive_se(x),
                                      se_naive=stats.naive_se(x), n=int(x.size), n_clusters=int(np.unique(ids).size),
                                      method="cluster bootstrap" if clustered else "bootstrap")
    result = stats.pairwise(values, mask, index, boot)
    col = ColumnStats(column, members, boot, estimates,
                      pairs=[(members[a], members[b]) for a, b in result.pairs], pair_estimates=result.estimates,
                      n_items=len(item_ids), n_clusters=int(index.max()) + 1,
                      binary=stats.is_binary(values, mask))
    col.p_holm = stats.holm([e.p_value for e in result.estimates]) if result.estimates else []
    if column.cluster_unit is not None and not clustered:
        col.note = f"{column.display}: no '{column.cluster_unit}' per item in the samples; items resampled alone"
    elif col.n_clusters < 2:
        col.note = (f"{column.display}: all {col.n_items} items share one {column.cluster_unit or 'cluster'}; "
                    "resampling one cluster gives no interval (CI n/a)")
    return col


def add_cross_language_averages(entries: list[Entry], board_stats: dict[ColumnKey, ColumnStats],
                                wanted: set[tuple[str, str, str]], resamples: int) -> list[str]:
    """Measured ``avg`` columns (the paper's "XQuAD avg") from per-language rows; returns notes on gaps."""
    notes = []
    for benchmark, metric, origin in sorted(wanted):
        languages = sorted({t.language for t in catalogue().tasks if t.benchmark.name == benchmark
                            and t.benchmark.origin == origin})
        target = ColumnKey(benchmark, "avg", metric, origin)
        boots: dict[int, list[np.ndarray]] = defaultdict(list)
        for i, entry in enumerate(entries):
            if entry.kind != "measured":
                continue
            present = [lang for lang in languages if ColumnKey(benchmark, lang, metric, origin) in entry.values]
            if not present:
                continue
            parts = [ColumnKey(benchmark, lang, metric, origin) for lang in present]
            entry.values[target] = mean(entry.values[c] for c in parts)
            entry.n[target] = sum(entry.n.get(c, 0) for c in parts)
            if any(c in entry.limited for c in parts):
                entry.limited.add(target)
            missing = [lang for lang in languages if lang not in present]
            if missing:
                notes.append(f"{entry.label}: {target.display} averages {', '.join(present)} only "
                             f"({', '.join(missing)} not measured)")
            if all(c in board_stats and i in board_stats[c].members and board_stats[c].estimates[i].ci
                   for c in parts):
                for c in parts:
                    col = board_stats[c]
                    boots[i].append(col.boot[:, col.members.index(i)])
        members = sorted(boots)
        if members:
            boot = np.column_stack([np.mean(boots[i], axis=0) for i in members])
            low, high = stats.percentile_ci(boot)
            estimates = {i: stats.Estimate(entries[i].values[target], float(low[k]), float(high[k]),
                                           se=float(np.nanstd(boot[:, k], ddof=1)), n=entries[i].n.get(target),
                                           method="mean of per-language bootstraps")
                         for k, i in enumerate(members)}
            board_stats[target] = ColumnStats(target, members, boot, estimates,
                                              n_items=max(e.n or 0 for e in estimates.values()))
    return notes


# --- cells -----------------------------------------------------------------------------------------------
def score_cell(board: Leaderboard, entry: Entry, column: ColumnKey) -> ScoreCell | None:
    if column not in entry.values:
        return None
    estimate = board.estimate(entry, column)
    return ScoreCell(entry.values[column], estimate.ci if estimate else None, entry.n.get(column),
                     column in entry.limited, entry.kind == "reference")


def kind_text(entry: Entry) -> str:
    if entry.kind == "reference":
        return "reference"
    return "measured (toy)" if entry.is_toy else "measured"


def row_tags(entry: Entry) -> tuple[str, ...]:
    return tuple(t for t, on in (("reference", entry.kind == "reference"), ("toy", entry.is_toy),
                                 ("limited", bool(entry.limited))) if on)


def column_title(column: ColumnKey) -> str:
    return f"{column.display} · {column.metric}"


def column_group(column: ColumnKey) -> str:
    return {"native": "native", "translated": "translated", "round_trip": "round_trip"}.get(column.provenance, "")


def model_columns() -> list[Column]:
    return [Column("model", "model", always=True), Column("variant", "variant"), Column("lr", "lr"),
            Column("tuning", "tuning"), Column("method", "method")]


def model_cells(entry: Entry) -> dict[str, Any]:
    return {"model": entry.key.base_model, "variant": entry.key.variant, "lr": entry.key.lr,
            "tuning": entry.key.tuning, "method": entry.key.method}


# --- sections --------------------------------------------------------------------------------------------
def scores_section(board: Leaderboard) -> Section:
    columns = model_columns() + [Column("kind", "kind", always=True), Column("limit", "lm-eval --limit")]
    columns += [Column(c.slug, column_title(c), "score", group=column_group(c)) for c in board.columns]
    table = Table("leaderboard", "", columns, caption=(
        "Score per test set (percent where the catalogue says so; open QA: mean judge rating 1-5) with its 95% "
        "bootstrap interval over test items (clusters resampled where items share a passage or subject) and "
        "the item count; 'CI n/a': no samples logged; blank: not evaluated; 'limit': an lm-eval --limit run."))
    for entry in board.entries:
        cells = {**model_cells(entry), "kind": kind_text(entry),
                 "limit": None if entry.limit is None else f"{entry.limit:g} (metrics not real)"}
        cells.update({c.slug: score_cell(board, entry, c) for c in board.columns})
        table.add(row_tags(entry), **cells)
    plots = []
    if board.plot_dir is not None:
        from harness_ext.leaderboard.plots import dot_whisker

        plots = dot_whisker(board, board.plot_dir)
    return Section("scores", "Scores", tables=[table], plots=plots)


def competition_ranks(scores: dict[int, float]) -> dict[int, int]:
    """1 + the number of strictly better scores: ties share a rank (1, 2, 2, 4)."""
    return {i: 1 + sum(other > value for other in scores.values()) for i, value in scores.items()}


def ranked(board: Leaderboard, column: ColumnKey) -> list[Entry]:
    present = [e for e in board.entries if column in e.values]
    return sorted(present, key=lambda e: (-e.values[column], e.label))


def ranking_section(board: Leaderboard) -> Section | None:
    tables = []
    for column in board.columns:
        entries = ranked(board, column)
        if len(entries) < 2:
            continue
        table = Table(f"ranking-{column.slug}", f"{column_title(column)} ({ORIGIN_LABEL.get(column.origin)})", [
            Column("rank", "rank", "int", always=True), *model_columns(), Column("kind", "kind"),
            Column("score", "score", "number", always=True), Column("ci", "95% CI", "ci"),
            Column("se", "SE (clustered)", "number", 2), Column("se_naive", "SE (naive)", "number", 2),
            Column("n", "items", "int"), Column("clusters", "clusters", "int")])
        ranks = competition_ranks({k: e.values[column] for k, e in enumerate(entries)})
        for k, entry in enumerate(entries):
            rank = ranks[k]
            estimate = board.estimate(entry, column)
            clustered = estimate is not None and estimate.method == "cluster bootstrap"
            table.add(row_tags(entry), rank=rank, **model_cells(entry), kind=kind_text(entry),
                      score=entry.values[column], ci=estimate.ci if estimate else None,
                      se=estimate.se if clustered else None, se_naive=estimate.se_naive if estimate else None,
                      n=entry.n.get(column), clusters=estimate.n_clusters if clustered else None)
        tables.append(table)
    if not tables:
        return None
    return Section("rankings", "Ranking per benchmark", "Models ordered by each test set's score, with the 95% "
                   "CI and, where items share a cluster, the clustered standard error beside the naive one.",
                   tables=tables)


@dataclass
class OriginScore:
    value: float
    ci: tuple[float, float] | None
    boot: np.ndarray | None
    columns: list[ColumnKey]


def origin_scores(board: Leaderboard, language: str, provenance: str) -> dict[int, OriginScore]:
    """Macro mean over a language's percent-scale test sets of one origin, per measured entry that has all."""
    columns = [c for c in board.columns if c.language == language and c.provenance == provenance and c.percent
               and not c.user_made]
    out: dict[int, OriginScore] = {}
    if not columns:
        return out
    for i, entry in enumerate(board.entries):
        if entry.kind != "measured" or not all(c in entry.values for c in columns):
            continue
        value = mean(entry.values[c] for c in columns)
        boots = [board.stats[c].boot[:, board.stats[c].members.index(i)] for c in columns
                 if c in board.stats and i in board.stats[c].members and board.stats[c].estimates[i].ci]
        boot = np.mean(boots, axis=0) if len(boots) == len(columns) else None
        ci = tuple(float(v) for v in stats.percentile_ci(boot)) if boot is not None else None
        out[i] = OriginScore(value, ci, boot, columns)  # type: ignore[arg-type]
    return out


def origin_languages(board: Leaderboard) -> list[str]:
    return sorted({c.language for c in board.columns if c.percent and c.language not in ("?", "avg")})


@dataclass
class Flip:
    above_translated: int
    above_native: int
    delta: float
    ci: tuple[float, float] | None


def rank_flips(board: Leaderboard, native: dict[int, OriginScore],
               translated: dict[int, OriginScore]) -> tuple[float | None, list[Flip]]:
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


def origin_section(board: Leaderboard) -> Section | None:
    tables, notes, plots = [], [], []
    for language in origin_languages(board):
        native = origin_scores(board, language, "native")
        translated = origin_scores(board, language, "translated")
        if not native and not translated:
            continue
        native_rank = competition_ranks({i: s.value for i, s in native.items()})
        translated_rank = competition_ranks({i: s.value for i, s in translated.items()})
        table = Table(f"origin-{language}", f"{language}: native and translated test sets", [
            *model_columns(), Column("native", f"native_{language} score", "number", group="native", always=True),
            Column("native_ci", "native 95% CI", "ci", group="native"),
            Column("native_rank", "native rank", "int"),
            Column("translated", f"translated_{language} score", "number", group="translated", always=True),
            Column("translated_ci", "translated 95% CI", "ci", group="translated"),
            Column("translated_rank", "translated rank", "int"),
            Column("gap", "native − translated", "number")])
        described = [f"{origin}: " + ", ".join(c.display for c in next(iter(scores.values())).columns)
                     for origin, scores in (("native", native), ("translated", translated)) if scores]
        table.caption = ("Macro mean over the language's percent-scale test sets of each origin ("
                         + "; ".join(described) + "); a model needs every test set of an origin to get its score.")
        for i in sorted(set(native) | set(translated), key=lambda i: -(native.get(i) or translated[i]).value):
            entry = board.entries[i]
            n, t = native.get(i), translated.get(i)
            table.add(row_tags(entry), **model_cells(entry), native=n.value if n else None,
                      native_ci=n.ci if n else None, native_rank=native_rank.get(i),
                      translated=t.value if t else None, translated_ci=t.ci if t else None,
                      translated_rank=translated_rank.get(i), gap=(n.value - t.value) if n and t else None)
        tables.append(table)
        tau, flips = rank_flips(board, native, translated)
        both = len(set(native) & set(translated))
        if both >= 2:
            flip_table = Table(f"flips-{language}", f"{language}: rank flips between native and translated test "
                               f"sets (Kendall τ = {'n/a' if tau is None else f'{tau:.2f}'}, {both} models)", [
                Column("flip", "flip", always=True), Column("delta", "Δ native (B − A)", "number", always=True),
                Column("ci", "95% CI", "ci")])
            for flip in flips:
                a, b = board.entries[flip.above_translated].label, board.entries[flip.above_native].label
                flip_table.add(flip=f"translated_{language} ranks {a} above {b}; native_{language} ranks {b} "
                               f"above {a}", delta=flip.delta, ci=flip.ci)
            if not flips:
                flip_table.notes.append("no rank flips: both origins order the models the same way")
            tables.append(flip_table)
        if board.plot_dir is not None and native and translated:
            from harness_ext.leaderboard.plots import origin_scatter

            plots += origin_scatter(board, language, native, translated, board.plot_dir)
    if not tables:
        return None
    notes.append("Ratings (open QA) are left out of the macro means: another scale.")
    return Section("origins", "Native vs translated test sets", "Per language, each model's native score and "
                   "translated score, the models ranked by each, Kendall τ between the two rankings and the pairs "
                   "whose order flips.", tables=tables, plots=plots, notes=notes)


def pairwise_section(board: Leaderboard) -> Section | None:
    tables = []
    for column in board.columns:
        col = board.stats.get(column)
        if col is None or not col.pairs:
            continue
        pairs = Table(f"pairs-{column.slug}", f"{column_title(column)}: pairwise differences", [
            Column("a", "A", always=True), Column("b", "B", always=True), Column("delta", "Δ (A − B)", "number", 2),
            Column("ci", "95% CI", "ci", 2), Column("p", "p", "p"), Column("p_holm", "p (Holm)", "p"),
            Column("test", "test"), Column("n", "items", "int")])
        symbol: dict[tuple[int, int], str] = {}
        for (a, b), estimate, adjusted in zip(col.pairs, col.pair_estimates, col.p_holm, strict=True):
            pairs.add(a=board.entries[a].label, b=board.entries[b].label, delta=estimate.value, ci=estimate.ci,
                      p=estimate.p_value, p_holm=adjusted, test=estimate.method, n=estimate.n)
            differ = adjusted < ALPHA
            symbol[(a, b)] = (">" if estimate.value > 0 else "<") if differ else "="
            symbol[(b, a)] = ("<" if estimate.value > 0 else ">") if differ else "="
        order = sorted(col.members, key=lambda i: -board.entries[i].values[column])
        matrix = Table(f"matrix-{column.slug}", f"{column_title(column)}: which pairs differ", [
            Column("model", "row vs column", always=True),
            *[Column(f"m{k}", board.entries[i].label, always=True) for k, i in enumerate(order)]], sortable=False,
            caption="'>' row better, '<' row worse (Holm-adjusted p < 0.05 within this test set), '=' not "
                    "distinguished.")
        for i in order:
            matrix.add(model=board.entries[i].label,
                       **{f"m{k}": ("" if i == j else symbol[(i, j)]) for k, j in enumerate(order)})
        tables += [matrix, pairs]
    if not tables:
        return None
    return Section("pairwise", "Which models differ", "Pairwise on the items both models were scored on: exact "
                   "McNemar for binary scores without clustering; paired (cluster) bootstrap otherwise; Holm over "
                   "all pairs of one test set.", tables=tables)


def uncertainty_section(board: Leaderboard) -> Section | None:
    table = Table("uncertainty", "", [
        Column("benchmark", "test set", always=True), Column("unit", "cluster unit"), Column("n", "items", "int"),
        Column("clusters", "clusters", "int"), Column("se_naive", "SE naive (median)", "number", 2),
        Column("se", "SE clustered (median)", "number", 2), Column("mde", "MDE at 80% power", "number", 1),
        Column("mde_basis", "MDE from")])
    for column in board.columns:
        col = board.stats.get(column)
        if col is None or column.language == "avg":
            continue
        estimates = list(col.estimates.values())
        se_naive = [e.se_naive for e in estimates if e.se_naive is not None]
        se = [e.se for e in estimates if e.se is not None]
        if col.pair_estimates:
            se_diff = float(np.median([e.se for e in col.pair_estimates if e.se is not None]))
            basis = f"median bootstrap SE of {len(col.pair_estimates)} paired difference(s)"
        elif se:
            se_diff = float(np.sqrt(2) * np.median(se))
            basis = "√2 × SE of the one model (independent samples)"
        else:
            continue
        clustered = estimates[0].method == "cluster bootstrap"
        unit = column.cluster_unit or "prompt (several judges)"
        table.add(benchmark=column_title(column), unit=unit if clustered else "",
                  n=col.n_items, clusters=col.n_clusters if clustered else None,
                  se_naive=float(np.median(se_naive)) if se_naive else None,
                  se=float(np.median(se)) if clustered and se else None,
                  mde=stats.minimum_detectable_effect(se_diff), mde_basis=basis)
    if not table.rows:
        return None
    notes = [c.note for c in board.stats.values() if c.note]
    return Section("uncertainty", "Uncertainty and minimum detectable effect", "Standard errors of the mean score "
                   "(naive: items independent; clustered: items sharing a passage or subject move together) and the "
                   "smallest difference between two models a two-sided test at α = 0.05 finds with 80% power on "
                   "this many items: a 'no difference' below it means too few items to tell.", tables=[table],
                   notes=notes)


# --- variant studies -----------------------------------------------------------------------------------
def group_key(key: RowKey) -> tuple[str, str, str, str]:
    """Rows that differ only in their training-data variant are compared with each other."""
    return key.base_model, key.lr, key.tuning, key.method


def group_label(group: tuple[str, ...]) -> str:
    return " · ".join(p for p in group if p)


def variant_groups(entries: list[Entry]) -> list[tuple[tuple[str, tuple[str, str, str, str]], list[Entry]]]:
    groups: dict[tuple, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.key.variant:
            groups[(entry.kind, group_key(entry.key))].append(entry)
    return sorted(groups.items())


def comparisons(board: Leaderboard) -> list[dict[str, Any]]:
    """Baseline minus every other variant, per group and column; paired tests when items exist."""
    out: list[dict[str, Any]] = []
    for (kind, group), members in variant_groups(board.entries):
        base = next((e for e in members if e.key.variant == board.baseline), None)
        if base is None:
            continue
        for other in sorted(members, key=lambda e: e.key.variant):
            if other is base:
                continue
            for column in ordered_columns([base, other]):
                if column not in base.values or column not in other.values or column.language == "avg":
                    continue
                record: dict[str, Any] = {"kind": kind, "group": group, "column": column,
                                          "variant": other.key.variant,
                                          "variant_origin": variant_origin(other.key.variant, board.baseline),
                                          "diff": base.values[column] - other.values[column], "estimate": None,
                                          "p_holm": None}
                if column in base.items and column in other.items:
                    common = sorted(set(base.items[column]) & set(other.items[column]))
                    if common:
                        units = base.clusters.get(column)
                        clusters = [units[k] for k in common] if units and all(k in units for k in common) else None
                        record["estimate"] = stats.paired_test(
                            [base.items[column][k] for k in common], [other.items[column][k] for k in common],
                            clusters, board.resamples, board.seed)
                out.append(record)
    families: dict[tuple, list[dict]] = defaultdict(list)
    for rec in out:
        if rec["estimate"] is not None:
            families[(rec["kind"], rec["group"])].append(rec)
    for family in families.values():
        for rec, adjusted in zip(family, stats.holm([r["estimate"].p_value for r in family]), strict=True):
            rec["p_holm"] = adjusted
    return out


def verdict(records: list[dict[str, Any]]) -> str:
    if all(r["p_holm"] is not None for r in records):
        significant = [r for r in records if r["p_holm"] < ALPHA]
        if len(significant) == len(records) and all(r["diff"] > 0 for r in records):
            return "native better (significant)"
        if len(significant) == len(records) and all(r["diff"] < 0 for r in records):
            return "translated better (significant)"
        return "not distinguished"
    if all(r["diff"] > 0 for r in records):
        return "native higher (untested)"
    return "translated higher (untested)" if all(r["diff"] < 0 for r in records) else "mixed (untested)"


def native_gaps(board: Leaderboard) -> list[dict[str, Any]]:
    """ΔS = S_native − mean of the translated variants, per group and column (the paper's Fig. 4)."""
    out = []
    for (kind, group), members in variant_groups(board.entries):
        base = next((e for e in members if e.key.variant == board.baseline), None)
        translated = [e for e in members if variant_origin(e.key.variant, board.baseline) == "translated"]
        if base is None or not translated:
            continue
        for column in ordered_columns(members):
            if kind == "measured" and column.language == "avg":
                continue  # derived from the per-language columns already compared
            scores = [e.values[column] for e in translated if column in e.values]
            if column not in base.values or not scores:
                continue
            out.append({"kind": kind, "group": group, "column": column, "native_score": base.values[column],
                        "translated_mean": mean(scores), "gap": base.values[column] - mean(scores),
                        "base": base, "translated": [e for e in translated if column in e.values]})
    return out


def benchmarks_with_positive_gap(gaps: list[dict[str, Any]], lr: str, tuning: str, kind: str = "reference"):
    """{benchmark: True when every base model has ΔS > 0} for one training configuration."""
    per_benchmark: dict[str, list[float]] = defaultdict(list)
    for gap in gaps:
        if gap["kind"] == kind and gap["group"][1] == lr and gap["group"][2] == tuning:
            per_benchmark[gap["column"].benchmark].append(gap["gap"])
    return {b: all(g > 0 for g in values) for b, values in sorted(per_benchmark.items())}


def gap_correlations(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pearson r between S_native and ΔS across base models, per column and training configuration."""
    series: dict[tuple, list[dict]] = defaultdict(list)
    for gap in gaps:
        series[(gap["kind"], gap["column"], gap["group"][1:])].append(gap)
    return [{"kind": kind, "column": column, "config": config, "n": len(points),
             "base_models": [p["group"][0] for p in points],
             "pearson_r": stats.pearson_r([p["native_score"] for p in points], [p["gap"] for p in points]),
             "all_gaps_positive": all(p["gap"] > 0 for p in points)}
            for (kind, column, config), points in sorted(series.items(), key=lambda kv: (kv[0][0], kv[0][1],
                                                                                          kv[0][2]))]


def _interaction_boot(board: Leaderboard, gaps: list[dict[str, Any]]) -> np.ndarray | None:
    """Resampled interaction of one group from the test sets' shared resamples (None without items)."""
    per_origin: dict[str, list[np.ndarray]] = defaultdict(list)
    for gap in gaps:
        col = board.stats.get(gap["column"])
        entries = [gap["base"], *gap["translated"]]
        if col is None or not all(board.index(e) in col.members for e in entries):
            return None
        base = col.boot[:, col.members.index(board.index(gap["base"]))]
        others = np.mean([col.boot[:, col.members.index(board.index(e))] for e in gap["translated"]], axis=0)
        per_origin[gap["column"].provenance].append(base - others)
    if set(per_origin) != {"native", "translated"}:
        return None
    return np.mean(per_origin["native"], axis=0) - np.mean(per_origin["translated"], axis=0)


def interactions(board: Leaderboard, gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The 2x2: (native − translated training data) on native test sets minus the same on translated ones."""
    by_group: dict[tuple, list[dict]] = defaultdict(list)
    for gap in gaps:
        if gap["column"].percent and gap["column"].provenance in ("native", "translated"):
            by_group[(gap["kind"], gap["group"])].append(gap)
    out = []
    for (kind, group), members in sorted(by_group.items()):
        cells = {origin: [g for g in members if g["column"].provenance == origin] for origin in ("native", "translated")}
        if not cells["native"] or not cells["translated"]:
            continue
        means = {o: (mean(g["native_score"] for g in gs), mean(g["translated_mean"] for g in gs))
                 for o, gs in cells.items()}
        value = (means["native"][0] - means["native"][1]) - (means["translated"][0] - means["translated"][1])
        boot = _interaction_boot(board, members) if kind == "measured" else None
        ci = tuple(float(v) for v in stats.percentile_ci(boot)) if boot is not None else None
        p = float(stats.bootstrap_p(boot[:, None], np.array([value]))[0]) if boot is not None else None
        out.append({"kind": kind, "group": group, "means": means, "value": value, "ci": ci, "p": p, "boot": boot,
                    "method": "cluster bootstrap over test items" if boot is not None else ""})
    pooled = []
    for kind in ("measured", "reference"):
        rows = [r for r in out if r["kind"] == kind]
        if len(rows) < 2:
            continue
        values = [r["value"] for r in rows]
        if kind == "measured" and all(r["boot"] is not None for r in rows):
            boot = np.mean([r["boot"] for r in rows], axis=0)
            ci = tuple(float(v) for v in stats.percentile_ci(boot))
            p = float(stats.bootstrap_p(boot[:, None], np.array([mean(values)]))[0])
            method = "mean over models; items resampled"
        else:
            ci = stats.t_interval(values)
            p = stats.sign_flip_exact(values)
            method = f"mean over {len(rows)} configurations; t interval, exact sign-flip p (configurations as units)"
        pooled.append({"kind": kind, "group": ("pooled",), "means": None, "value": mean(values), "ci": ci, "p": p,
                       "boot": None, "method": method})
    return out + pooled


def variant_section(board: Leaderboard) -> Section | None:
    comps = comparisons(board)
    gaps = native_gaps(board)
    if not comps and not gaps:
        return None
    tables = []
    if comps:
        table = Table("comparisons", f"{board.baseline} minus each variant", [
            Column("kind", "kind"), Column("model", "model", always=True), Column("benchmark", "test set"),
            Column("variant", "variant"), Column("delta", "Δ", "number", 2), Column("ci", "95% CI", "ci", 2),
            Column("n", "items", "int"), Column("p", "p", "p"), Column("p_holm", "p (Holm)", "p"),
            Column("test", "test")], caption="Holm over each base-model configuration's comparisons.")
        for rec in comps:
            est = rec["estimate"]
            table.add(kind=rec["kind"], model=group_label(rec["group"]), benchmark=column_title(rec["column"]),
                      variant=rec["variant"], delta=rec["diff"], ci=est.ci if est else None,
                      n=est.n if est else None, p=est.p_value if est else None, p_holm=rec["p_holm"],
                      test=est.method if est else "")
        tables.append(table)
        cells: dict[tuple, list[dict]] = defaultdict(list)
        for rec in comps:
            if rec["variant_origin"] == "translated":
                cells[(rec["kind"], rec["group"], rec["column"])].append(rec)
        verdicts = Table("verdicts", "Which benchmarks tell native from translated training data", [
            Column("kind", "kind"), Column("model", "model", always=True), Column("benchmark", "test set"),
            Column("verdict", "verdict")])
        for (kind, group, column), recs in sorted(cells.items(), key=lambda kv: (kv[0][0], kv[0][1], kv[0][2])):
            verdicts.add(kind=kind, model=group_label(group), benchmark=column_title(column), verdict=verdict(recs))
        tables.append(verdicts)
    correlations = gap_correlations(gaps)
    if correlations:
        table = Table("gap-correlations", "Gap vs native score (ΔS = S_native − mean of the translated variants)", [
            Column("kind", "kind"), Column("benchmark", "test set", always=True), Column("config", "configuration"),
            Column("n", "base models", "int"), Column("r", "Pearson r", "number", 2),
            Column("positive", "all gaps > 0"), Column("models", "base models")])
        for r in correlations:
            table.add(kind=r["kind"], benchmark=column_title(r["column"]), config=group_label(r["config"]),
                      n=r["n"], r=r["pearson_r"], positive=r["all_gaps_positive"], models=", ".join(r["base_models"]))
        tables.append(table)
    inter = interactions(board, gaps)
    if inter:
        table = Table("interaction", "Training-data origin × test-set origin (the 2×2)", [
            Column("kind", "kind"), Column("model", "model", always=True),
            Column("nn", "native data · native tests", "number"), Column("tn", "translated data · native tests",
                                                                        "number"),
            Column("nt", "native data · translated tests", "number"),
            Column("tt", "translated data · translated tests", "number"),
            Column("interaction", "interaction", "number", 2, always=True), Column("ci", "95% CI", "ci", 2),
            Column("p", "p", "p"), Column("method", "method")],
            caption="interaction = (native − translated training data) on native test sets minus the same gap on "
                    "translated test sets; macro means over percent-scale test sets. Positive: translated test sets "
                    "hide part of the native data's advantage.")
        for r in inter:
            means = r["means"] or {}
            table.add(kind=r["kind"], model=group_label(r["group"]),
                      nn=means.get("native", (None, None))[0], tn=means.get("native", (None, None))[1],
                      nt=means.get("translated", (None, None))[0], tt=means.get("translated", (None, None))[1],
                      interaction=r["value"], ci=r["ci"], p=r["p"], method=r["method"])
        tables.append(table)
    plots = []
    if board.plot_dir is not None:
        from harness_ext.leaderboard.plots import gap_scatter, variant_bars

        for kind in ("measured", "reference"):
            plots += gap_scatter(board, gaps, kind, board.plot_dir) + variant_bars(board, kind, board.plot_dir)
    return Section("variants", "Training-data variants", "Rows that differ only in their fine-tuning data "
                   "(from nativeval_run.json manifests or the reference table).", tables=tables, plots=plots)


def reference_section(board: Leaderboard) -> Section | None:
    sources = sorted({e.source for e in board.entries if e.kind == "reference"})
    if not sources:
        return None
    notes = [f"Reference rows (italic, kind 'reference') are published numbers, not measured here: {s}."
             + (" Please cite the paper when you use them." if s == PAPER_SOURCE else "") for s in sources]
    notes.append("Published cross-language averages ('avg') line up with measured 'avg' columns, the mean of the "
                 "measured languages; published open-QA sums of ratings are shown as mean ratings (sum / items).")
    return Section("reference", "Reference rows", notes=notes + board.notes)


def notes_section(board: Leaderboard) -> Section | None:
    notes = list(board.warnings) + list(board.superseded) + list(board.missing_headline)
    no_samples = sorted({f"{e.label}: {c.display}" for e in board.measured for c in e.values
                         if c not in e.items and c.language != "avg"})
    if no_samples:
        notes.append("CI n/a (no per-item samples: run lm_eval with --log_samples) for " + "; ".join(no_samples))
    limited = [e for e in board.measured if e.limit is not None]
    for entry in limited:
        notes.append(f"{entry.label}: an lm-eval --limit {entry.limit:g} run; lm-eval warns such metrics are not "
                     "real; item counts are beside every score.")
    for column in board.columns:
        col = board.stats.get(column)
        if col and col.note:
            notes.append(col.note)
    if not notes:
        return None
    return Section("notes", "Notes", notes=notes)


# --- judge diagnostics, tag splits, translationese (sections over inputs beyond the headline scores) -----
JUDGE_RESULTS = ("results_judge_*.json", "results_pairwise_*.json")
JUDGE_RESAMPLES = 1000


def judge_dirs(paths: list[Path]) -> list[Path]:
    """The given directories that hold `nativeval judge` outputs."""
    return [p for p in paths if p.is_dir() and any(next(p.rglob(pattern), None) for pattern in JUDGE_RESULTS)]


def table_id(*parts: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "-", "-".join(parts)).strip("-").lower()


def judge_section(board: Leaderboard) -> Section | None:
    """`judge-report`'s diagnostics (agreement, position, length, language, consistency) as page tables."""
    folders = judge_dirs(board.inputs)
    if not folders:
        return None
    from harness_ext.judge.report import EXPLANATIONS, leaderboard_section

    with tempfile.TemporaryDirectory() as scratch:
        site, subdir = (board.plot_dir.parent, board.plot_dir.name) if board.plot_dir else (Path(scratch), "plots")
        report = leaderboard_section(folders, site, plots_subdir=subdir, resamples=JUDGE_RESAMPLES, seed=board.seed,
                                     labels=board.judge_labels)
    tables = []
    for k, raw in enumerate(report.tables):
        table = Table(table_id("judge", raw.diagnostic, raw.stratum, str(k)), raw.title,
                      [Column(f"c{j}", title, always=True) for j, title in enumerate(raw.columns)], sortable=False)
        for row in raw.rows:
            table.add(**{f"c{j}": value for j, value in enumerate(row)})
        tables.append(table)
    plots = [Plot(f"judge_{name}", f"Judge diagnostics: {name}", (path,)) for name, path in report.plots.items()
             ] if board.plot_dir else []
    judges = [f"{j.name}: {j.label}" if j.label else j.name for j in report.report.judges]
    return Section("judge", "Judge diagnostics", "Can the judges' ratings be believed? Judges: "
                   + "; ".join(judges) + ".", tables=tables, plots=plots, notes=list(EXPLANATIONS.values()))


def tag_splits(column: ColumnKey) -> list[tuple[str, tuple[str, ...], tuple[str, str] | None, bool]]:
    """(tag, vocabulary, contrasted pair, grouped by catalogue subsets) for each closed-vocabulary item tag."""
    bench = column.info
    fields = item_tag_fields(bench) if bench else ()
    subsets = tags.catalogue_subsets(column.benchmark)
    out = []
    for tag in fields:
        vocabulary = tags.tag_vocabulary(column.benchmark, tag)
        if vocabulary is None:
            continue  # open values (a subject, a region): too many parts to contrast
        single = [values[0] for _, f, values in subsets if f == tag and len(values) == 1]
        out.append((tag, vocabulary, (single[0], single[1]) if len(single) == 2 else None, False))
    if len(subsets) >= 2 and any(len(values) > 1 for _, _, values in subsets):
        out.append((tags.SUBSET_TAG, tags.subset_vocabulary(subsets), (subsets[0][0], subsets[1][0]), True))
    return out


def tagged_items(entry: Entry, column: ColumnKey, grouped: bool) -> list[tags.TaggedItem]:
    clusters = entry.clusters.get(column, {})
    items = [tags.TaggedItem(k, v, entry.tags[column].get(k, {}), clusters.get(k))
             for k, v in entry.items.get(column, {}).items()]
    return tags.with_subset_tag(items, tags.catalogue_subsets(column.benchmark)) if grouped else items


def estimate_cell(estimate: tags.Estimate) -> ScoreCell | str:
    if estimate.mean is None:
        return "empty (no items)"
    ci = None if estimate.ci_low is None else (estimate.ci_low, estimate.ci_high)
    return ScoreCell(estimate.mean, ci, estimate.n)


def tag_section(board: Leaderboard) -> Section | None:
    """Each model's score on every value of a catalogue item tag (Global-MMLU CS / CA, INCLUDE regional /
    agnostic) with CIs, the contrast of the two values, and for variant studies the training gap per value."""
    tables, notes = [], []
    for column in board.columns:
        entries = [e for e in board.measured if e.tags.get(column)]
        if not entries:
            continue
        for tag, vocabulary, pair, grouped in tag_splits(column):
            names = tags.subset_names(vocabulary)
            splits = {board.index(e): tags.split_by_tag(tagged_items(e, column, grouped), tag, vocabulary, pair=pair,
                                                        resamples=board.resamples, seed=board.seed) for e in entries}
            extra = sorted({n for s in splits.values() for n in s.subsets} - set(names))
            names += extra
            value_columns = [Column(f"v{k}", f"{tag} = {name}", "score") for k, name in enumerate(names)]
            contrast = [Column("contrast", f"{pair[0]} − {pair[1]}", "score")] if pair else []
            table = Table(table_id("tags", column.slug, tag), f"{column_title(column)} by {tag}",
                          [*model_columns(), *value_columns, *contrast], caption=(
                              f"Score on the items of each value of the catalogue's item tag '{tag}' (95% bootstrap "
                              "CI, clusters resampled; 'empty': no items of that value were scored)."))
            for i, split in splits.items():
                cells = {f"v{k}": estimate_cell(split.subsets[n]) for k, n in enumerate(names) if n in split.subsets}
                if pair and split.contrast is not None:
                    cells["contrast"] = estimate_cell(split.contrast)
                table.add(row_tags(board.entries[i]), **model_cells(board.entries[i]), **cells)
                notes += [w for w in split.warnings if w not in notes]
            tables.append(table)
            if pair:
                gap = gap_table(board, column, tag, vocabulary, pair, grouped, names, notes)
                if gap is not None:
                    tables.append(gap)
    if not tables:
        return None
    return Section("tags", "Split by item tag", "Scores on the parts of a test set that the catalogue's item tags "
                   "name, with the difference between two parts.", tables=tables, notes=notes)


def gap_table(board: Leaderboard, column: ColumnKey, tag: str, vocabulary: tuple[str, ...], pair: tuple[str, str],
              grouped: bool, names: list[str], notes: list[str]) -> Table | None:
    """Baseline-variant minus each other variant of one base-model configuration, per tag value (paired)."""
    table = Table(table_id("tag-gap", column.slug, tag), f"{column_title(column)}: training gap by {tag}", [
        *model_columns(), Column("against", "minus variant", always=True),
        *[Column(f"v{k}", f"gap on {tag} = {name}", "score") for k, name in enumerate(names)],
        Column("difference", f"gap on {pair[0]} − gap on {pair[1]}", "score")],
        caption=f"Model tuned on '{board.baseline}' data minus the same model tuned on another variant, on the same "
                "items of each tag value (paired; 95% bootstrap CI).")
    for _, members in variant_groups([e for e in board.measured if e.tags.get(column)]):
        base = next((e for e in members if e.key.variant == board.baseline), None)
        for other in (e for e in members if base is not None and e is not base):
            gap = tags.gap_by_tag(tagged_items(base, column, grouped), tagged_items(other, column, grouped), tag,
                                  vocabulary, pair=pair, resamples=board.resamples, seed=board.seed)
            cells = {f"v{k}": estimate_cell(gap.gaps[n]) for k, n in enumerate(names) if n in gap.gaps}
            if gap.gap_difference is not None:
                cells["difference"] = estimate_cell(gap.gap_difference)
            table.add(row_tags(base), **model_cells(base), against=other.key.variant, **cells)
            notes.append(f"{base.label} vs {other.key.variant}, {column.display}: {gap.sentence(scale=1.0)}")
    return table if table.rows else None


@dataclass
class TranslationPairRow:
    entry: Entry
    source: ColumnKey
    translation: ColumnKey
    source_task: str
    result: Any  # translationese.Sensitivity, on the column's scale


def translation_pairs(board: Leaderboard) -> list[TranslationPairRow]:
    """Each row's user-made test set beside its source, item by item, from the scores read once."""
    from harness_ext.leaderboard.results import task_column
    from harness_ext.leaderboard.translationese import translationese_sensitivity

    out = []
    for entry in board.measured:
        by_slug = {c.slug: c for c in entry.items}
        for column, source_task in sorted(entry.sources.items()):
            source = by_slug.get(task_column(source_task, None).key().slug)
            if source is None or column not in entry.items or not set(entry.items[column]) & set(entry.items[source]):
                continue
            result = translationese_sensitivity(entry.items[source], entry.items[column], entry.clusters.get(source),
                                                resamples=board.resamples, seed=board.seed)
            out.append(TranslationPairRow(entry, source, column, source_task, result))
    return out


def translationese_section(board: Leaderboard) -> Section | None:
    """Source minus its translation (`translate-task`, round trips included) on the same items, paired."""
    pairs = translation_pairs(board)
    if not pairs:
        return None
    table = Table("translationese", "Translationese sensitivity", [
        *model_columns(), Column("benchmark", "test set", always=True), Column("origin", "translation"),
        Column("source_task", "source task"), Column("translated_task", "translated task"),
        Column("n", "items", "int"), Column("source", "source score", "number"),
        Column("translation", "translation score", "number"),
        Column("sensitivity", "source − translation", "number", 2, always=True), Column("ci", "95% CI", "ci", 2),
        Column("p", "p", "p"), Column("left_out", "items scored on one side only", "int")],
        caption="Mean per-item score of a test set and of its translation over the items both scored, and their "
                "difference with a paired bootstrap CI (percent where the catalogue says so).")
    for pair in pairs:
        r = pair.result
        table.add(row_tags(pair.entry), **model_cells(pair.entry), benchmark=pair.source.display,
                  origin=pair.translation.origin_title, source_task=pair.source_task,
                  translated_task=pair.translation.task, n=r.n, source=r.source_score,
                  translation=r.translation_score, sensitivity=r.sensitivity, ci=(r.ci_low, r.ci_high),
                  p=r.p_value, left_out=r.source_only + r.translation_only or None)
    return Section("translationese", "Translationese sensitivity", "How much a test set's score moves when its "
                   "items are machine-translated or round-tripped (e.g. zh -> en -> zh): a large difference means "
                   "the translated test set measures the translation as well as the model.", tables=[table])


SectionFunction = Callable[[Leaderboard], "Section | None"]
SECTIONS: list[SectionFunction] = [scores_section, origin_section, ranking_section, pairwise_section,
                                   uncertainty_section, variant_section, tag_section, translationese_section,
                                   judge_section, reference_section, notes_section]


def plot_files(sections: list[Section]) -> list[Plot]:
    return [p for s in sections for p in s.plots]


def baseline_section(board: Leaderboard) -> Section | None:
    """Every model minus ``--baseline MODEL`` per test set, from the pairwise tests (Holm over those pairs)."""
    if board.baseline_model is None:
        return None
    base = next(e for e in board.entries if e.label == board.baseline_model)
    b = board.index(base)
    table = Table("baseline", f"Each model minus {board.baseline_model}", [
        Column("model", "model", always=True), Column("benchmark", "test set", always=True),
        Column("delta", "Δ vs baseline", "number", 2, always=True), Column("ci", "95% CI", "ci", 2),
        Column("p", "p", "p"), Column("p_holm", "p (Holm)", "p"), Column("test", "test")])
    for column in board.columns:
        col = board.stats.get(column)
        rows = []
        for (i, j), estimate in zip(col.pairs if col else [], col.pair_estimates if col else [], strict=True):
            if b not in (i, j):
                continue
            sign = 1.0 if j == b else -1.0
            ci = estimate.ci and (sign * estimate.ci[0], sign * estimate.ci[1])
            rows.append((board.entries[i if j == b else j], sign * estimate.value,
                         ci and (min(ci), max(ci)), estimate.p_value, estimate.method))
        if not rows and column in base.values:
            rows = [(e, e.values[column] - base.values[column], None, None, "")
                    for e in board.entries if e is not base and column in e.values]
        adjusted = stats.holm([r[3] for r in rows]) if rows and all(r[3] is not None for r in rows) else [None] * len(rows)
        for (entry, delta, ci, p, method), p_holm in zip(rows, adjusted, strict=True):
            table.add(row_tags(entry), model=entry.label, benchmark=column_title(column), delta=delta, ci=ci, p=p,
                      p_holm=p_holm, test=method)
    if not table.rows:
        return None
    return Section("baseline", f"Against the baseline {board.baseline_model}", tables=[table])


SECTIONS.insert(1, baseline_section)

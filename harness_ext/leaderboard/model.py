"""The board: what the leaderboard knows after reading, typed, rows and columns by identity.

:func:`build_board` reads every input once (results and samples through :mod:`runs`, judge outputs through
:mod:`nativeval.harness_ext.judge.diagnostics_io`, published numbers through :mod:`reference_rows`), computes
the per-test-set statistics once (shared cluster-bootstrap draws, :mod:`nativeval.harness_ext.core.stats`) and
the findings once (:mod:`findings`, :mod:`claims`, :mod:`cross_language`). Sections (:mod:`sections`) only
look at a :class:`Board`; none reads a file or draws a figure.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nativeval.harness_ext.core import stats
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.leaderboard.claims import Claim, claims_side_by_side
from nativeval.harness_ext.leaderboard.columns import ORIGIN_GROUP_ORDER, ColumnKey
from nativeval.harness_ext.leaderboard.cross_language import (
    LanguageRow,
    cross_language,
    reference_cross_language,
)
from nativeval.harness_ext.leaderboard.findings import (
    FindingsReport,
    MeasuredScore,
    TestSet,
    Training,
    measured_findings,
    reference_findings,
)
from nativeval.harness_ext.leaderboard.reference import ReferenceCell
from nativeval.harness_ext.leaderboard.reference_rows import ReferenceLoad, ReferenceRow, load_reference_rows
from nativeval.harness_ext.leaderboard.results_files import Run
from nativeval.harness_ext.leaderboard.runs import LoadReport, load_runs
from nativeval.harness_ext.leaderboard.task_columns import task_column
from nativeval.harness_ext.report.naming import RowKey

MIN_RESAMPLES = 100
MAX_RESAMPLES = 1_000_000
ALPHA = 0.05


@dataclass(frozen=True)
class LeaderboardOptions:
    """Everything ``nativeval leaderboard`` is asked to do."""

    results: tuple[str, ...] = ()
    out_dir: str = "site"
    reference: str | None = None
    baseline: str = "native"  # the training-data variant the others are compared with
    baseline_model: str | None = None  # a row named by its variant or a substring of its label
    resamples: int = 10_000
    seed: int = 0
    title: str = "nativeval leaderboard"
    output_format: str = "site"  # site | json
    push_repo: str | None = None
    judge_labels: tuple[tuple[str, str], ...] = ()
    plots: bool = True

    def check(self) -> None:
        """Option values, before anything is read."""
        if not MIN_RESAMPLES <= self.resamples <= MAX_RESAMPLES:
            raise InputError(
                f"--bootstrap {self.resamples}: use {MIN_RESAMPLES} to {MAX_RESAMPLES:,} resamples "
                "(10000 recommended)"
            )
        if self.output_format not in ("site", "json"):
            raise InputError(f"--format {self.output_format}: use site or json")


@dataclass
class Entry:
    """A row: one model configuration, measured here or published."""

    key: RowKey
    kind: str  # "measured" | "reference"
    values: dict[ColumnKey, float]
    items: dict[ColumnKey, dict[str, float]] = field(default_factory=dict)
    clusters: dict[ColumnKey, dict[str, str]] = field(default_factory=dict)
    tags: dict[ColumnKey, dict[str, dict[str, str]]] = field(
        default_factory=dict
    )  # item -> catalogue item_tags
    n: dict[ColumnKey, int] = field(default_factory=dict)
    limited: set[ColumnKey] = field(default_factory=set)
    judges: dict[ColumnKey, str] = field(default_factory=dict)  # rating columns: the judges ("a+b")
    judge_prompts: dict[ColumnKey, dict[str, str]] = field(
        default_factory=dict
    )  # rating columns: judge -> prompt
    source: str = ""
    is_toy: bool = False
    model_name: str = ""
    limit: float | None = None
    sources: dict[ColumnKey, str] = field(default_factory=dict)  # a user-made test set -> its source task

    @property
    def label(self) -> str:
        return self.key.label

    @property
    def is_reference(self) -> bool:
        return self.kind == "reference"


@dataclass
class ColumnStats:
    """Per-item statistics of one test set over the measured entries that logged samples on it."""

    column: ColumnKey
    members: list[int]  # indices into Board.entries
    boot: np.ndarray  # resamples x members: resampled means with shared draws
    estimates: dict[int, stats.Estimate]
    pairs: list[tuple[int, int]] = field(default_factory=list)  # entry indices (a, b): a minus b
    pair_estimates: list[stats.Estimate] = field(default_factory=list)
    p_holm: list[float | None] = field(default_factory=list)
    n_items: int = 0
    n_clusters: int = 0
    clustered: bool = False
    note: str = ""


@dataclass
class Board:
    """The typed model every section reads."""

    options: LeaderboardOptions
    entries: list[Entry]  # measured rows first (in a fixed order), then published ones
    columns: list[ColumnKey]
    stats: dict[ColumnKey, ColumnStats]
    warnings: list[str]
    superseded: list[str]
    missing_headline: list[str]
    notes: list[str] = field(default_factory=list)
    reference_cells: list[ReferenceCell] = field(default_factory=list)
    reference_not_shown: list[str] = field(default_factory=list)
    findings: FindingsReport | None = None  # measured
    reference_findings: FindingsReport | None = None  # published
    claims: list[Claim] = field(default_factory=list)
    cross_language: list[LanguageRow] = field(default_factory=list)  # measured and published
    judge_report: Any = None  # judge.diagnostics.JudgeReport, when judge outputs were given
    baseline_entry: int | None = None
    _positions: dict[int, int] = field(default_factory=dict, repr=False)

    @property
    def title(self) -> str:
        return self.options.title

    @property
    def baseline(self) -> str:
        return self.options.baseline

    @property
    def baseline_model(self) -> str | None:
        return None if self.baseline_entry is None else self.entries[self.baseline_entry].label

    @property
    def resamples(self) -> int:
        return self.options.resamples

    @property
    def seed(self) -> int:
        return self.options.seed

    @property
    def reference(self) -> str | None:
        return self.options.reference

    @property
    def has_toy(self) -> bool:
        return any(e.is_toy for e in self.entries)

    @property
    def measured(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "measured"]

    @property
    def published(self) -> list[Entry]:
        return [e for e in self.entries if e.kind == "reference"]

    @property
    def measured_columns(self) -> list[ColumnKey]:
        present = {c for e in self.measured for c in e.values}
        return [c for c in self.columns if c in present]

    @property
    def published_columns(self) -> list[ColumnKey]:
        present = {c for e in self.published for c in e.values}
        return [c for c in self.columns if c in present]

    def index(self, entry: Entry) -> int:
        if len(self._positions) != len(self.entries):
            self._positions.clear()
            self._positions.update({id(e): i for i, e in enumerate(self.entries)})
        return self._positions[id(entry)]

    def estimate(self, entry: Entry, column: ColumnKey) -> stats.Estimate | None:
        col = self.stats.get(column)
        return col.estimates.get(self.index(entry)) if col else None


# --- rows ---------------------------------------------------------------------------------------------
def entries_from_runs(runs: list[Run]) -> list[Entry]:
    entries = []
    for run in runs:
        entry = Entry(
            run.key,
            "measured",
            {c: s.value for c, s in run.scores.items()},
            source=str(run.path),
            is_toy=run.is_toy,
            model_name=run.model_name,
            limit=run.limit,
            sources=dict(run.sources),
        )
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
            if column.metric == "rating" and "," in score.metric_key:
                entry.judges[column] = score.metric_key.split(",", 1)[1]
                if score.judge_prompts:
                    entry.judge_prompts[column] = score.judge_prompts
        entries.append(entry)
    return entries


def entries_from_reference(rows: list[ReferenceRow]) -> list[Entry]:
    return [Entry(r.key, "reference", dict(r.scores), source=r.source) for r in rows]


def column_order(column: ColumnKey) -> tuple:
    """Native, translated, round-trip, unknown test sets; within a group by benchmark, language; a user-made
    test set right after the catalogue's test set of the same benchmark and language."""
    group = ORIGIN_GROUP_ORDER.index(column.provenance) if column.provenance in ORIGIN_GROUP_ORDER else 9
    return (
        group,
        column.benchmark,
        column.language,
        column.user_made,
        column.origin,
        column.task,
        column.judge,
        column.metric,
    )


def ordered_columns(entries: list[Entry]) -> list[ColumnKey]:
    return sorted({c for e in entries for c in e.values}, key=column_order)


# --- per-test-set statistics ----------------------------------------------------------------------------
def column_stats(column: ColumnKey, entries: list[Entry], resamples: int, seed: int) -> ColumnStats | None:
    """One test set's estimates and pairwise differences over the entries that logged its items, from one set
    of cluster draws shared by every model (the core's board-wide path)."""
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
    clustered = bool(cluster_names) and len(cluster_names) == len(
        item_ids
    )  # a catalogue unit, or several judges
    index = stats.cluster_index([cluster_names[k] for k in item_ids] if clustered else None, len(item_ids))
    boot = stats.bootstrap_means(values, mask, index, resamples, seed)
    estimates = dict(zip(members, stats.model_estimates(values, mask, index, boot), strict=True))
    result = stats.pairwise(values, mask, index, boot, seed=seed)
    col = ColumnStats(
        column,
        members,
        boot,
        estimates,
        pairs=[(members[a], members[b]) for a, b in result.pairs],
        pair_estimates=result.estimates,
        n_items=len(item_ids),
        n_clusters=stats.count_clusters(index),
        clustered=clustered,
    )
    col.p_holm = stats.holm([e.p_value for e in result.estimates]) if result.estimates else []
    if column.cluster_unit is not None and not clustered:
        col.note = (
            f"{column.display}: no '{column.cluster_unit}' per item in the samples; items resampled alone"
        )
    elif col.n_clusters < 2:
        col.note = (
            f"{column.display}: all {col.n_items} items share one {column.cluster_unit or 'cluster'}; "
            "one cluster gives no interval (CI n/a)"
        )
    return col


# --- measured rows for the findings -----------------------------------------------------------------------
def measured_scores(board: Board) -> list[MeasuredScore]:
    """The measured rows as :class:`findings.MeasuredScore` s (items as read: no second pass over samples)."""
    out = []
    for entry in board.measured:  # rows without a training-data variant count in rankings, not in gaps
        training = Training(
            entry.key.base_model, entry.key.variant, entry.key.lr, entry.key.tuning, entry.key.method
        )
        for column, value in entry.values.items():
            info = column.info
            test_set = TestSet(
                column.benchmark,
                column.language,
                column.origin,
                column.metric,
                info.answer_form if info is not None else None,
                column.percent,
                True,
                column.task,
                column.short_title,
            )
            judges = entry.judges.get(column)
            prompts = entry.judge_prompts.get(column, {})
            out.append(
                MeasuredScore(
                    test_set,
                    training,
                    value,
                    judges or None,
                    entry.items.get(column),
                    entry.clusters.get(column),
                    "+".join(prompts.get(j, "") for j in judges.split("+")) if judges and prompts else None,
                )
            )
    return out


# --- building ---------------------------------------------------------------------------------------------
def find_baseline(entries: list[Entry], wanted: str) -> int:
    """The row ``--baseline`` names: its exact label, else the one measured row whose variant or label
    contains it (case-insensitive); one line listing the rows otherwise."""
    measured = [i for i, e in enumerate(entries) if e.kind == "measured"]
    exact = [i for i in measured if entries[i].label == wanted]
    if exact:
        return exact[0]
    needle = wanted.lower()
    by_variant = [i for i in measured if entries[i].key.variant.lower() == needle]
    hits = by_variant or [i for i in measured if needle in entries[i].label.lower()]
    if len(hits) == 1:
        return hits[0]
    labels = sorted({entries[i].label for i in measured})
    listed = ", ".join(labels[:12]) + (" ..." if len(labels) > 12 else "")
    if not hits:
        raise InputError(
            f"--baseline {wanted}: no measured row's variant or label matches; the rows are {listed}"
        )
    raise InputError(
        f"--baseline {wanted}: matches {len(hits)} rows ({', '.join(entries[i].label for i in hits[:6])}"
        "); give more of the label"
    )


def missing_sources(entries: list[Entry]) -> list[str]:
    """A user-made test set whose source test set its row did not run: shown on its own, said once per
    pair."""
    notes = []
    for entry in entries:
        present = {c.slug for c in entry.values}
        for column, source in sorted(entry.sources.items()):
            if task_column(source, None).key().slug not in present:
                notes.append(
                    f"{entry.label}: {column.display} ({column.task}) is shown on its own: its source test "
                    f"set {source} was not evaluated for this row (no translationese comparison)"
                )
    return notes


def judge_dirs(paths: list[Path]) -> list[Path]:
    """The given directories that hold `nativeval judge` outputs."""
    patterns = ("results_judge_*.json", "results_pairwise_*.json")
    return [p for p in paths if p.is_dir() and any(next(p.rglob(pattern), None) for pattern in patterns)]


JUDGE_RESAMPLES = 1000


def build_board(options: LeaderboardOptions) -> Board:
    """Read and analyse; raises InputError (exit 2) when there is nothing to show or an option is wrong."""
    options.check()
    report: LoadReport = load_runs(list(options.results)) if options.results else LoadReport([], [], [])
    # rows in a fixed order (not the order the runs happened to finish in): model, the baseline variant first
    entries = sorted(
        entries_from_runs(report.runs),
        key=lambda e: (
            e.key.base_model,
            e.key.variant != options.baseline,
            e.key.variant,
            e.key.lr,
            e.key.tuning,
            e.key.method,
        ),
    )
    published = ReferenceLoad([], [], [])
    if options.reference:
        published = load_reference_rows(options.reference)
        entries += entries_from_reference(published.rows)
    if not entries:
        skipped = (
            f" ({len(report.warnings)} file(s) skipped: {report.warnings[0]})" if report.warnings else ""
        )
        where = ", ".join(map(str, options.results)) or "(no directories given)"
        raise InputError(
            f"no lm-eval results found in {where}{skipped}; "
            "pass directories written by lm_eval --output_path (or --reference paper)"
        )
    baseline_entry = find_baseline(entries, options.baseline_model) if options.baseline_model else None
    columns = ordered_columns(entries)
    board_stats = {}
    with stats.shared_draws(findings_resamples(options.resamples)):  # the findings reuse the columns' draws
        for column in columns:
            col = column_stats(column, entries, options.resamples, options.seed)
            if col is not None:
                board_stats[column] = col
        board = Board(
            options,
            entries,
            columns,
            board_stats,
            report.warnings,
            report.superseded,
            report.missing_headline,
            missing_sources(entries),
            published.cells,
            published.not_shown,
            baseline_entry=baseline_entry,
        )
        add_findings(board)
    folders = judge_dirs([Path(p) for p in options.results])
    if folders:
        from nativeval.harness_ext.judge.report import build_report

        try:
            board.judge_report = build_report(
                folders, resamples=JUDGE_RESAMPLES, seed=options.seed, labels=dict(options.judge_labels)
            )
        except InputError as err:  # the scores stand; only the diagnostics are left out, said once
            if str(err).startswith("--judge-label"):
                raise
            board.warnings.append(f"judge diagnostics not shown: {err}")
    return board


def findings_resamples(resamples: int) -> int:
    """The findings' resamples: at most 2,000 (a gap's normal interval needs only its SE)."""
    return min(resamples, 2000)


def add_findings(board: Board) -> None:
    """Findings, claims and the cross-language view, from the rows already read (and the published cells)."""
    scores = measured_scores(board)
    resamples = findings_resamples(board.resamples)
    if scores:
        board.findings = measured_findings(scores, resamples=resamples, seed=board.seed)
        board.cross_language += cross_language(scores, resamples=min(board.resamples, 1000), seed=board.seed)
    if board.reference_cells:
        board.reference_findings = reference_findings(board.reference_cells)
        board.cross_language += reference_cross_language(board.reference_cells)
    if scores or board.reference_cells:
        board.claims = claims_side_by_side(
            board.reference_cells or None,
            scores or None,
            resamples=resamples,
            seed=board.seed,
            reference_findings=board.reference_findings.findings if board.reference_cells else None,
            measured_findings=board.findings.findings if scores else None,
        )


def variant_groups(entries: list[Entry]) -> list[tuple[tuple[str, tuple[str, str, str, str]], list[Entry]]]:
    """Rows that differ only in their training-data variant, per kind and base-model configuration."""
    groups: dict[tuple, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.key.variant:
            key = entry.key
            groups[(entry.kind, (key.base_model, key.lr, key.tuning, key.method))].append(entry)
    return sorted(groups.items())

"""Plots for the leaderboard (PNG + SVG, matplotlib's Agg backend, the Okabe-Ito colour-blind-safe palette).

* per test set, a dot-and-whisker chart of every model (95% CI whiskers where samples exist);
* per language, native score against translated score, one point per model, the diagonal drawn;
* for variant studies, grouped bars of the training-data variants and the paper's Fig.-4 gap plot.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import multiprocessing
import os
import pickle
import re
from collections import defaultdict
from collections.abc import Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from pathlib import Path
from typing import TYPE_CHECKING, Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness_ext.core.io import atomic_write_bytes  # noqa: E402
from harness_ext.leaderboard.tables import Plot  # noqa: E402

if TYPE_CHECKING:
    from harness_ext.leaderboard.analyses import Leaderboard, OriginScore

# Okabe & Ito (2008), distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]


def safe_name(text: str) -> str:
    """A filename from input-derived text: plain characters only, plus a hash so names never collide."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")[:60] or "plot"
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


def plain(text: str) -> str:
    """Input-derived text as literal characters (matplotlib reads $...$ as math)."""
    return text.replace("$", r"\$")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _render(fig: Any, paths: tuple[Path, ...]) -> None:
    fig.tight_layout()  # one layout pass for both formats (bbox_inches="tight" would redraw per format)
    for path in paths:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=path.suffix[1:], dpi=110)
        atomic_write_bytes(path, buffer.getvalue())
    plt.close(fig)


def _render_pickled(blob: bytes, paths: tuple[Path, ...]) -> None:
    _render(pickle.loads(blob), paths)


_pending: list[Future] | None = None
_pool: ProcessPoolExecutor | None = None


@contextlib.contextmanager
def rendering_in_parallel() -> Iterator[None]:
    """Within the block, figures are drawn and written by worker processes (one per core, at most 4) while the
    page goes on; leaving it waits for every file and raises the first error. Drawing is most of a page's time."""
    global _pending, _pool
    workers = min(4, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
    if workers < 2 or _pool is not None:
        yield
        return
    _pool = ProcessPoolExecutor(workers, mp_context=multiprocessing.get_context("fork"))
    _pending = []
    try:
        yield
        for future in _pending:
            future.result()
    finally:
        _pool.shutdown(wait=True, cancel_futures=True)
        _pool, _pending = None, None


def save_figure(fig: Any, out_dir: Path, name: str, title: str) -> Plot:
    """PNG and SVG, each replaced atomically (by a worker process inside ``rendering_in_parallel``)."""
    stem = safe_name(name)
    paths = tuple(out_dir / f"{stem}.{ext}" for ext in ("png", "svg"))
    if _pool is None:
        _render(fig, paths)
    else:
        _pending.append(_pool.submit(_render_pickled, pickle.dumps(fig), paths))
        plt.close(fig)
    return Plot(name=name, title=title, files=paths)


def dot_whisker(board: Leaderboard, out_dir: Path) -> list[Plot]:
    """One chart per test set: every row's score as a dot, its 95% CI as whiskers (reference rows hollow)."""
    from harness_ext.leaderboard.analyses import column_title, ranked

    plots = []
    for column in board.columns:
        everyone = ranked(board, column)
        measured = [e for e in everyone if e.kind == "measured"]
        shown = set(map(id, measured + [e for e in everyone if e.kind != "measured"][:max(0, 40 - len(measured))]))
        entries = [e for e in everyone if id(e) in shown]  # every measured row; published ones up to 40 rows
        if not entries:
            continue
        fig, ax = plt.subplots(figsize=(6.4, max(1.6, 0.32 * len(entries) + 0.9)))
        for y, entry in enumerate(reversed(entries)):
            value = entry.values[column]
            estimate = board.estimate(entry, column)
            reference = entry.kind == "reference"
            if estimate and estimate.ci:
                ax.errorbar(value, y, xerr=[[value - estimate.ci[0]], [estimate.ci[1] - value]], fmt="none",
                            ecolor=colour(0), capsize=3, linewidth=1.2)
            ax.plot(value, y, marker="o", markersize=6, color=colour(1 if reference else 0),
                    markerfacecolor="white" if reference else colour(0), linestyle="none")
        ax.set_yticks(range(len(entries)))
        ax.set_yticklabels([plain(e.label) for e in reversed(entries)], fontsize=7)
        ax.set_xlabel(f"{column.metric}{' (%)' if column.percent else ''}", fontsize=8)
        title = f"{column_title(column)}: score per model with 95% CI"
        hidden = len(everyone) - len(entries)
        subtitle = "filled: measured; hollow: published reference" if any(e.kind == "reference" for e in entries) \
            else "filled: measured"
        if hidden:
            subtitle += f"\n{hidden} lower-ranked published rows not drawn"
        ax.set_title(f"{column_title(column)}: score per model with 95% CI\n{subtitle}", fontsize=8)
        ax.grid(axis="x", color="#dddddd", linewidth=0.6)
        plots.append(save_figure(fig, out_dir, f"dots_{column.slug}", title))
    return plots


def origin_scatter(board: Leaderboard, language: str, native: dict[int, OriginScore],
                   translated: dict[int, OriginScore], out_dir: Path) -> list[Plot]:
    """x = translated score, y = native score, one point per model, the diagonal y = x drawn."""
    models = sorted(set(native) & set(translated))
    if not models:
        return []
    fig, ax = plt.subplots(figsize=(4.8, 4.4))
    bounds = [v for i in models for s in (translated[i], native[i]) for v in (s.value, *(s.ci or ()))]
    low = min(bounds) - 5
    high = max(bounds) + 5
    ax.plot([low, high], [low, high], color="#888888", linewidth=0.8, linestyle="--", label="native = translated")
    for k, i in enumerate(models):
        t, n = translated[i], native[i]
        xerr = [[t.value - t.ci[0]], [t.ci[1] - t.value]] if t.ci else None
        yerr = [[n.value - n.ci[0]], [n.ci[1] - n.value]] if n.ci else None
        ax.errorbar(t.value, n.value, xerr=xerr, yerr=yerr, fmt=MARKERS[k % len(MARKERS)], color=colour(k),
                    capsize=2, markersize=6, label=plain(board.entries[i].label[:40]))
    ax.set_xlim(low, high)
    ax.set_ylim(low, high)
    ax.set_xlabel(f"translated_{language} score (macro mean, %)", fontsize=8)
    ax.set_ylabel(f"native_{language} score (macro mean, %)", fontsize=8)
    title = f"{language}: native vs translated test-set score per model"
    ax.set_title(title, fontsize=9)
    ax.legend(fontsize=6, frameon=False, loc="best")
    return [save_figure(fig, out_dir, f"origin_scatter_{language}", title)]


def variant_bars(board: Leaderboard, kind: str, out_dir: Path) -> list[Plot]:
    """Per test set: grouped bars of the training-data variants for each base model (paper Fig. 1-2)."""
    from harness_ext.leaderboard.analyses import column_title

    plots = []
    entries = [e for e in board.entries if e.kind == kind and e.key.variant]
    for column in board.columns:
        configs: dict[tuple[str, str, str], dict[str, dict[str, float]]] = defaultdict(lambda: defaultdict(dict))
        for e in entries:
            if column in e.values:
                configs[(e.key.lr, e.key.tuning, e.key.method)][e.key.base_model][e.key.variant] = e.values[column]
        configs = {k: v for k, v in configs.items() if any(len(vs) > 1 for vs in v.values())}
        if not configs:
            continue
        fig, axes = plt.subplots(1, len(configs), figsize=(max(4.5, 3.2 * len(configs)), 3.4), squeeze=False)
        for ax, (config, by_model) in zip(axes[0], sorted(configs.items()), strict=True):
            variants = sorted({v for vs in by_model.values() for v in vs}, key=lambda v: (v != board.baseline, v))
            models = sorted(by_model)
            width = 0.8 / len(variants)
            for i, variant in enumerate(variants):
                xs = [m_i + (i - (len(variants) - 1) / 2) * width for m_i in range(len(models))]
                ys = [by_model[m].get(variant, float("nan")) for m in models]
                ax.bar(xs, ys, width, label=plain(variant), color=colour(i))
            ax.set_xticks(range(len(models)))
            ax.set_xticklabels([plain(m) for m in models], rotation=30, ha="right", fontsize=7)
            ax.set_title(" · ".join(p for p in config if p) or "runs", fontsize=8)
            ax.set_ylabel(column.metric, fontsize=8)
        axes[0][-1].legend(fontsize=7, frameon=False, title="training data", title_fontsize=7)
        title = f"{column_title(column)} ({column.provenance} test set): score by training-data variant, {kind} rows"
        fig.suptitle(title, fontsize=9)
        plots.append(save_figure(fig, out_dir, f"{kind}_bars_{column.slug}", title))
    return plots


def gap_scatter(board: Leaderboard, gaps: list[dict[str, Any]], kind: str, out_dir: Path) -> list[Plot]:
    """ΔS against the native-data score, one panel per test set, one series per configuration (Fig. 4)."""
    from harness_ext.leaderboard.analyses import column_title

    by_column: dict[Any, list[dict]] = defaultdict(list)
    for gap in gaps:
        if gap["kind"] == kind:
            by_column[gap["column"]].append(gap)
    if not by_column:
        return []
    panels = sorted(by_column.items())
    cols = min(3, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (column, points) in zip(axes.flat, panels, strict=False):
        series: dict[tuple, list[dict]] = defaultdict(list)
        for gap in points:
            series[gap["group"][1:]].append(gap)
        for i, (config, members) in enumerate(sorted(series.items())):
            ax.scatter([p["native_score"] for p in members], [p["gap"] for p in members], s=18, color=colour(i),
                       marker=MARKERS[i % len(MARKERS)], label=" ".join(p for p in config if p) or "runs")
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.set_title(f"{column_title(column)} ({column.provenance} test set)", fontsize=8)
        ax.set_xlabel("S_native", fontsize=8)
        ax.set_ylabel("ΔS = S_native − mean(translated)", fontsize=7)
        ax.legend(fontsize=6, frameon=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    title = f"Native-data gap against native-data score per base model, {kind} rows"
    fig.suptitle(title, fontsize=9)
    return [save_figure(fig, out_dir, f"{kind}_gap_vs_native", title)]

"""Plots in the style of the study's figures (PNG and SVG, matplotlib's Agg backend)."""

from __future__ import annotations

import base64
import hashlib
import io
import re
from collections import defaultdict
from pathlib import Path
from typing import TYPE_CHECKING

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from harness_ext.core.io import atomic_write_bytes  # noqa: E402

if TYPE_CHECKING:
    from harness_ext.leaderboard.build import Leaderboard

VARIANT_COLOURS = {"native": "#1b9e77", "google": "#d95f02", "cohere": "#7570b3",
                   "rtt_google": "#e6ab02", "rtt_cohere": "#66a61e"}
FALLBACK_COLOURS = ["#e7298a", "#a6761d", "#666666", "#1f78b4", "#b2df8a", "#fb9a99"]


def safe_name(text: str) -> str:
    """A filename from input-derived text: plain characters only, plus a hash so names never collide."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", text).strip("._")[:60] or "plot"
    return f"{slug}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


def colour_for(variant: str, index: int) -> str:
    return VARIANT_COLOURS.get(variant, FALLBACK_COLOURS[index % len(FALLBACK_COLOURS)])


def save_figure(fig, stem: Path) -> list[Path]:
    """PNG and SVG, each replaced atomically (``stem`` may contain dots: the extension is appended)."""
    paths = []
    for ext in ("png", "svg"):
        buffer = io.BytesIO()
        fig.savefig(buffer, format=ext, dpi=110, bbox_inches="tight")
        path = stem.parent / f"{stem.name}.{ext}"
        atomic_write_bytes(path, buffer.getvalue())
        paths.append(path)
    plt.close(fig)
    return paths


def variant_bars(board: Leaderboard, kind: str, out_dir: Path) -> list[tuple[str, list[Path]]]:
    """Per benchmark: grouped bars of the training-data variants for each base model (paper Fig. 1-2)."""
    figures = []
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
                ax.bar(xs, ys, width, label=variant, color=colour_for(variant, i))
            ax.set_xticks(range(len(models)))
            ax.set_xticklabels(models, rotation=30, ha="right", fontsize=7)
            ax.set_title(" · ".join(p for p in config if p) or "runs", fontsize=8)
            ax.set_ylabel(column.metric, fontsize=8)
        axes[0][-1].legend(fontsize=7, frameon=False)
        fig.suptitle(f"{column.display} ({column.provenance}) — {kind}", fontsize=9)
        name = f"{kind}_bars_{column.slug}"
        figures.append((name, save_figure(fig, out_dir / safe_name(name))))
    return figures


def gap_scatter(board: Leaderboard, kind: str, out_dir: Path) -> list[tuple[str, list[Path]]]:
    """ΔS against the native-data score, one panel per benchmark, Pearson r per configuration (Fig. 4)."""
    by_column: dict[tuple, list[dict]] = defaultdict(list)
    for gap in board.gaps:
        if gap["kind"] == kind:
            by_column[(gap["column"]["benchmark"], gap["column"]["language"], gap["column"]["metric"])].append(gap)
    if not by_column:
        return []
    r_lookup = {(r["kind"], r["column"]["benchmark"], r["column"]["language"], r["column"]["metric"], r["lr"],
                 r["tuning"], r["method"]): r["pearson_r"] for r in board.correlations}
    panels = sorted(by_column.items())
    cols = min(3, len(panels))
    rows = (len(panels) + cols - 1) // cols
    fig, axes = plt.subplots(rows, cols, figsize=(4.2 * cols, 3.4 * rows), squeeze=False)
    for ax, (column, gaps) in zip(axes.flat, panels, strict=False):
        series: dict[tuple, list[dict]] = defaultdict(list)
        for gap in gaps:
            series[(gap["lr"], gap["tuning"], gap["method"])].append(gap)
        for i, (config, points) in enumerate(sorted(series.items())):
            r = r_lookup.get((kind, *column, *config))
            label = " ".join(p for p in config if p) + (f" (r={r:.2f})" if r is not None else "")
            ax.scatter([p["native_score"] for p in points], [p["gap"] for p in points], s=18,
                       color=FALLBACK_COLOURS[i % len(FALLBACK_COLOURS)], label=label)
        ax.axhline(0, color="#999999", linewidth=0.8)
        ax.set_title(f"{gaps[0]['column']['display']} ({gaps[0]['column']['provenance']})", fontsize=8)
        ax.set_xlabel("S_native", fontsize=8)
        ax.set_ylabel("ΔS = S_native − mean(translated)", fontsize=7)
        ax.legend(fontsize=6, frameon=False)
    for ax in list(axes.flat)[len(panels):]:
        ax.set_visible(False)
    fig.suptitle(f"native gap vs native score — {kind}", fontsize=9)
    fig.tight_layout()
    name = f"{kind}_gap_vs_native"
    return [(name, save_figure(fig, out_dir / safe_name(name)))]


def write_plots(board: Leaderboard, out_dir: Path) -> tuple[list[Path], dict[str, str]]:
    """Every plot as PNG + SVG; returns the files and the PNGs base64-encoded for the static page."""
    files: list[Path] = []
    images: dict[str, str] = {}
    for kind in ("measured", "reference"):
        for name, paths in gap_scatter(board, kind, out_dir) + variant_bars(board, kind, out_dir):
            files += paths
            images[name] = base64.b64encode(paths[0].read_bytes()).decode("ascii")
    return files, images

"""Figure specs (pure data a section returns) and their drawing to PNG + SVG (matplotlib's Agg backend).

A section never draws: it returns :class:`Dots`, :class:`Scatter`, :class:`Bars` or :class:`Heatmap` specs,
and :func:`draw_figures` draws them into a folder (worker processes that die with their parent, so a killed
run leaves no worker holding a lock). Conventions every figure follows:

* units on the axis (``%`` for percent-scale scores); titles wrapped to the figure's width;
* legends outside the data (below the axes);
* axes from the data: a percent axis never below 0 or above 100, a constant series gets a readable span
  instead of matplotlib's ±0.04, and the colours are the Okabe-Ito palette (colour-blind safe).
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import io
import math
import multiprocessing
import os
import signal
import textwrap
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from nativeval.harness_ext.core.io import atomic_write_bytes
from nativeval.harness_ext.core.paths import safe_segment

# Okabe & Ito (2008), distinguishable with the common colour-vision deficiencies
PALETTE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]
MARKERS = ["o", "s", "^", "D", "v", "P", "X", "*"]
WIDTH_IN = 7.2  # every figure: 7.2 in at 110 dpi = 792 px, shown at most 100% wide on the page
DPI = 110


# --- specs ------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Point:
    """One labelled value with an optional interval (a model's score, a test set's gap)."""

    label: str
    value: float
    low: float | None = None
    high: float | None = None
    group: str = ""  # colour and legend entry
    hollow: bool = False  # e.g. a published reference value


@dataclass(frozen=True)
class DotPanel:
    title: str
    points: tuple[Point, ...]
    axis: str  # "gap (points)", "score (%)"
    reference: float | None = None  # a vertical line (0 for a difference)
    percent: bool = False  # a 0-100 scale: the axis stays inside it


@dataclass(frozen=True)
class XY:
    x: float
    y: float
    series: str = ""
    label: str = ""
    x_low: float | None = None
    x_high: float | None = None
    y_low: float | None = None
    y_high: float | None = None


@dataclass(frozen=True)
class ScatterPanel:
    title: str
    points: tuple[XY, ...]
    x_axis: str
    y_axis: str
    diagonal: bool = False  # y = x drawn
    zero_line: bool = False  # y = 0 drawn
    percent: bool = False


@dataclass(frozen=True)
class BarPanel:
    title: str
    categories: tuple[str, ...]
    series: tuple[tuple[str, tuple[float | None, ...]], ...]  # (name, one value per category)
    axis: str
    percent: bool = False


@dataclass(frozen=True)
class HeatPanel:
    title: str
    labels: tuple[str, ...]
    matrix: tuple[tuple[float | None, ...], ...]
    vmin: float = -1.0
    vmax: float = 1.0


@dataclass(frozen=True)
class Figure:
    name: str  # unique on the page; the file stem derives from it
    title: str
    caption: str = ""

    @property
    def stem(self) -> str:
        """A file name from data: one safe segment plus a hash, so two names never share a file."""
        return f"{safe_segment(self.name, max_length=60)}-{hashlib.sha1(self.name.encode()).hexdigest()[:6]}"

    def files(self, folder: Path) -> tuple[Path, Path]:
        return folder / f"{self.stem}.png", folder / f"{self.stem}.svg"


@dataclass(frozen=True)
class Dots(Figure):
    """Panels of labelled points with intervals (dot and whisker), coloured by group."""

    panels: tuple[DotPanel, ...] = ()
    groups: tuple[str, ...] = ()  # legend order


@dataclass(frozen=True)
class Scatter(Figure):
    panels: tuple[ScatterPanel, ...] = ()


@dataclass(frozen=True)
class Bars(Figure):
    panels: tuple[BarPanel, ...] = ()


@dataclass(frozen=True)
class Heatmap(Figure):
    panels: tuple[HeatPanel, ...] = ()
    colorbar: str = ""


# --- axes from the data -----------------------------------------------------------------------------------
def span(
    values: Sequence[float], percent: bool = False, include: Sequence[float] = ()
) -> tuple[float, float]:
    """Axis limits around ``values`` (+ ``include``, e.g. 0 for a difference) with 6% padding; a constant
    series gets a span of 10% of its size (at least 1 point on a percent axis, 0.5 otherwise); a percent axis
    never leaves [0, 100] where the data do not."""
    finite = [v for v in [*values, *include] if v is not None and math.isfinite(v)]
    if not finite:
        return (0.0, 100.0) if percent else (0.0, 1.0)
    low, high = min(finite), max(finite)
    if high - low < 1e-9:
        half = max(abs(low) * 0.1, 5.0 if percent else 0.5)
        low, high = low - half, high + half
    pad = (high - low) * 0.06
    low, high = low - pad, high + pad
    if percent:  # a sliver beyond 0 and 100 keeps points on the edge visible, no negative tick
        edge = (high - low) * 0.015
        low = max(low, -edge) if min(finite) >= 0 else low
        high = min(high, 100.0 + edge) if max(finite) <= 100 else high
    return low, high


def wrap(text: str, width_in: float, size: float) -> str:
    """Wrap a title to the figure width (about 1.9 characters per inch per point of size 9)."""
    return "\n".join(textwrap.wrap(plain(text), max(20, int(width_in * 15 * 9 / size)))) or ""


def plain(text: str) -> str:
    """Input-derived text as literal characters (matplotlib reads $...$ as math)."""
    return str(text).replace("$", r"\$")


def colour(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


# --- drawing ----------------------------------------------------------------------------------------------
def _pyplot():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


def _legend(fig, handles, labels, title: str = "") -> None:
    if handles:
        widest = max(len(label) for label in labels) + 6  # characters per legend entry, marker included
        columns = max(1, min(len(labels), 120 // widest))
        fig.legend(
            handles,
            [plain(label) for label in labels],
            loc="lower center",
            ncol=columns,
            frameon=False,
            fontsize=7,
            title=title or None,
            title_fontsize=7,
            bbox_to_anchor=(0.5, 0.02 / fig.get_figheight()),
        )


def _dots(spec: Dots):
    plt = _pyplot()
    heights = [0.24 * max(1, len(p.points)) + 0.9 for p in spec.panels]  # inches per panel: rows + axis
    fig, axes = plt.subplots(
        len(spec.panels),
        1,
        figsize=(WIDTH_IN, min(16.0, sum(heights) + 0.9)),
        squeeze=False,
        gridspec_kw={"height_ratios": heights},
    )
    groups = list(spec.groups) or sorted({p.group for panel in spec.panels for p in panel.points})
    handles: dict[str, object] = {}
    for ax, panel in zip(axes[:, 0], spec.panels, strict=True):
        ys = list(range(len(panel.points)))[::-1]
        for y, point in zip(ys, panel.points, strict=True):
            c = colour(groups.index(point.group)) if point.group in groups else colour(0)
            if point.low is not None and point.high is not None:
                ax.plot([point.low, point.high], [y, y], color=c, linewidth=1.6, solid_capstyle="butt")
            (handle,) = ax.plot(
                [point.value],
                [y],
                marker="o",
                markersize=5.5,
                linestyle="none",
                color=c,
                markerfacecolor="white" if point.hollow else c,
            )
            if point.group:
                handles.setdefault(point.group, handle)
        bounds = [v for p in panel.points for v in (p.value, p.low, p.high) if v is not None]
        ax.set_xlim(*span(bounds, panel.percent, () if panel.reference is None else (panel.reference,)))
        if panel.reference is not None:
            ax.axvline(panel.reference, color="#888888", linewidth=0.8, linestyle="--")
        ax.set_ylim(-0.7, len(panel.points) - 0.3)
        ax.set_yticks(ys)
        ax.set_yticklabels([plain(p.label) for p in panel.points], fontsize=7)
        ax.set_xlabel(plain(panel.axis), fontsize=8)
        ax.tick_params(axis="x", labelsize=7)
        ax.grid(axis="x", color="#e4e4e4", linewidth=0.6)
        if panel.title:
            ax.set_title(wrap(panel.title, WIDTH_IN, 8), fontsize=8)
    labelled = [g for g in groups if g in handles and g]
    _legend(fig, [handles[g] for g in labelled], labelled)
    return fig, bool(labelled)


def _scatter(spec: Scatter):
    plt = _pyplot()
    cols = min(2, len(spec.panels))
    rows = math.ceil(len(spec.panels) / cols)
    size = min(WIDTH_IN / cols, 4.6)
    fig, axes = plt.subplots(rows, cols, figsize=(size * cols, size * 0.9 * rows + 0.9), squeeze=False)
    series = sorted({p.series for panel in spec.panels for p in panel.points})
    handles: dict[str, object] = {}
    for ax, panel in zip(axes.flat, spec.panels, strict=False):
        for point in panel.points:
            k = series.index(point.series)
            xerr = None if point.x_low is None else [[point.x - point.x_low], [point.x_high - point.x]]
            yerr = None if point.y_low is None else [[point.y - point.y_low], [point.y_high - point.y]]
            handle = ax.errorbar(
                point.x,
                point.y,
                xerr=xerr,
                yerr=yerr,
                fmt=MARKERS[k % len(MARKERS)],
                color=colour(k),
                capsize=2,
                markersize=5,
            )
            handles.setdefault(point.series, handle)
        xs = [v for p in panel.points for v in (p.x, p.x_low, p.x_high) if v is not None]
        ys = [v for p in panel.points for v in (p.y, p.y_low, p.y_high) if v is not None]
        if panel.diagonal:
            both = span(xs + ys, panel.percent)
            ax.plot(both, both, color="#888888", linewidth=0.8, linestyle="--")
            ax.set_xlim(*both)
            ax.set_ylim(*both)
        else:
            ax.set_xlim(*span(xs, panel.percent))
            ax.set_ylim(*span(ys, False, (0.0,) if panel.zero_line else ()))
        if panel.zero_line:
            ax.axhline(0, color="#888888", linewidth=0.8)
        ax.set_xlabel(plain(panel.x_axis), fontsize=8)
        ax.set_ylabel(plain(panel.y_axis), fontsize=8)
        ax.tick_params(labelsize=7)
        ax.set_title(wrap(panel.title, size, 8), fontsize=8)
    for ax in list(axes.flat)[len(spec.panels) :]:
        ax.set_visible(False)
    labelled = [s for s in series if s]
    _legend(fig, [handles[s] for s in labelled], labelled)
    return fig, bool(labelled)


def _bars(spec: Bars):
    plt = _pyplot()
    cols = min(2, len(spec.panels))
    rows = math.ceil(len(spec.panels) / cols)
    fig, axes = plt.subplots(rows, cols, figsize=(WIDTH_IN, 3.0 * rows + 0.6), squeeze=False)
    names = list(dict.fromkeys(name for panel in spec.panels for name, _ in panel.series))
    handles: dict[str, object] = {}
    for ax, panel in zip(axes.flat, spec.panels, strict=False):
        width = 0.8 / max(1, len(panel.series))
        values = []
        for i, (name, ys) in enumerate(panel.series):
            xs = [c + (i - (len(panel.series) - 1) / 2) * width for c in range(len(panel.categories))]
            heights = [float("nan") if y is None else y for y in ys]
            values += [y for y in ys if y is not None]
            handles.setdefault(name, ax.bar(xs, heights, width, color=colour(names.index(name))))
        ax.set_xticks(range(len(panel.categories)))
        ax.set_xticklabels([plain(c) for c in panel.categories], rotation=20, ha="right", fontsize=7)
        low, high = span(values, panel.percent, (0.0,))
        ax.set_ylim(min(0.0, low), high)
        ax.set_ylabel(plain(panel.axis), fontsize=8)
        ax.tick_params(axis="y", labelsize=7)
        ax.set_title(wrap(panel.title, WIDTH_IN / cols, 8), fontsize=8)
    for ax in list(axes.flat)[len(spec.panels) :]:
        ax.set_visible(False)
    _legend(fig, [handles[n] for n in names], names)
    return fig, bool(names)


def _heatmap(spec: Heatmap):
    import numpy as np

    plt = _pyplot()
    cols = min(2, len(spec.panels))
    rows = math.ceil(len(spec.panels) / cols)
    size = max(len(p.labels) for p in spec.panels)
    fig, axes = plt.subplots(
        rows, cols, figsize=(WIDTH_IN, (WIDTH_IN / cols) * 0.85 * rows + 0.3 * size / 4), squeeze=False
    )
    image = None
    for ax, panel in zip(axes.flat, spec.panels, strict=False):
        matrix = np.array([[np.nan if v is None else v for v in row] for row in panel.matrix], dtype=float)
        image = ax.imshow(matrix, vmin=panel.vmin, vmax=panel.vmax, cmap="RdBu")
        for i in range(matrix.shape[0]):
            for j in range(matrix.shape[1]):
                if np.isfinite(matrix[i, j]):
                    ax.text(
                        j,
                        i,
                        f"{matrix[i, j]:.2f}",
                        ha="center",
                        va="center",
                        fontsize=7,
                        color="white" if abs(matrix[i, j]) > 0.6 else "black",
                    )
        ax.set_xticks(range(len(panel.labels)))
        ax.set_xticklabels([plain(x) for x in panel.labels], rotation=45, ha="right", fontsize=7)
        ax.set_yticks(range(len(panel.labels)))
        ax.set_yticklabels([plain(x) for x in panel.labels], fontsize=7)
        ax.set_title(wrap(panel.title, WIDTH_IN / cols, 8), fontsize=8)
    for ax in list(axes.flat)[len(spec.panels) :]:
        ax.set_visible(False)
    if image is not None:
        fig.colorbar(image, ax=[a for a in axes.flat if a.get_visible()], shrink=0.8, label=spec.colorbar)
    return fig, False


DRAW = {Dots: _dots, Scatter: _scatter, Bars: _bars, Heatmap: _heatmap}


def draw(spec: Figure, folder: Path) -> tuple[Path, Path]:
    """Draw one spec and write its PNG and SVG (each replaced atomically)."""
    plt = _pyplot()
    fig, has_legend = DRAW[type(spec)](spec)
    fig.suptitle(wrap(spec.title, WIDTH_IN, 9), fontsize=9, y=1 - 0.06 / fig.get_figheight(), va="top")
    lines = fig._suptitle.get_text().count("\n") + 1
    panel_title = any(getattr(p, "title", "") for p in getattr(spec, "panels", ()))
    top = 1 - (0.12 + 0.17 * lines + (0.2 if panel_title else 0)) / fig.get_figheight()
    legend = fig.legends[0] if fig.legends else None
    rows = 0 if legend is None else math.ceil(len(legend.get_texts()) / max(1, legend._ncols))
    bottom = (0.1 + 0.2 * rows + (0.15 if has_legend else 0)) / fig.get_figheight()
    if isinstance(spec, Heatmap):
        fig.subplots_adjust(top=top, bottom=max(bottom, 0.18))
    elif isinstance(spec, Dots):  # labels on the left: room for the longest, measured in characters
        longest = max((len(p.label) for panel in spec.panels for p in panel.points), default=10)
        left = min(0.6, (0.3 + longest * 7 * 0.6 / 72) / fig.get_figwidth())
        fig.subplots_adjust(
            left=left,
            right=0.97,
            top=top,
            bottom=bottom + 0.35 / fig.get_figheight(),
            hspace=0.9 if len(spec.panels) > 1 else 0.2,
        )
    else:
        fig.tight_layout(rect=(0, bottom, 1, top))
    paths = spec.files(folder)
    for path in paths:
        buffer = io.BytesIO()
        fig.savefig(buffer, format=path.suffix[1:], dpi=DPI)
        atomic_write_bytes(path, buffer.getvalue())
    plt.close(fig)
    return paths


# --- many figures: worker processes bound to their parent ------------------------------------------------
_PR_SET_PDEATHSIG = 1


def _die_with_parent(parent: int) -> None:
    """Worker initializer: the kernel kills this worker when its parent dies (Linux prctl), so a kill -9 of
    the leaderboard leaves no worker holding its step lock or writing into the site."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _draw_job(spec: Figure, folder: str) -> None:
    draw(spec, Path(folder))


def draw_figures(specs: Sequence[Figure], folder: Path, workers: int | None = None) -> list[Path]:
    """Every spec's PNG and SVG under ``folder``; several figures are drawn by worker processes (one per core,
    at most 4) that die with this process. Returns the files written."""
    folder.mkdir(parents=True, exist_ok=True)
    specs = list(specs)
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
    workers = min(4, cores, len(specs)) if workers is None else workers
    if workers < 2:
        for spec in specs:
            draw(spec, folder)
    else:
        context = multiprocessing.get_context("fork")
        with ProcessPoolExecutor(
            workers, mp_context=context, initializer=_die_with_parent, initargs=(os.getpid(),)
        ) as pool:
            for future in [pool.submit(_draw_job, spec, str(folder)) for spec in specs]:
                future.result()
    return [path for spec in specs for path in spec.files(folder)]

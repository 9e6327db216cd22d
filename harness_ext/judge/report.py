"""``nativeval judge-report``: the judge diagnostics as JSON, Markdown tables and one plot per diagnostic.

For the leaderboard page: :func:`leaderboard_section` returns the same report as typed data, ready-made
tables (:class:`ReportTable`), a Markdown section and the plot files, written under a folder it is given.
"""

from __future__ import annotations

import html
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from harness_ext.core.errors import InputError
from harness_ext.core.io import atomic_write_json, atomic_write_text
from harness_ext.core.stats import Estimate
from harness_ext.judge.diagnostics import (
    DEFAULT_RESAMPLES,
    TOP_DISAGREEMENTS,
    JudgeReport,
    Stratum,
    judge_report,
)
from harness_ext.judge.diagnostics_io import load_judge_outputs

JSON_NAME, MARKDOWN_NAME, PLOTS_DIR = "judge_report.json", "judge_report.md", "plots"
DIAGNOSTICS = ("agreement", "position", "length", "language", "consistency")
_TEXT_LIMIT = 240

# One sentence per number: the README's judging section and the page's notes say the same.
EXPLANATIONS = {
    "kappa": "Quadratic-weighted Cohen's kappa: agreement of two judges' ratings on the same answers beyond what "
             "their rating distributions give by chance (1 identical, 0 chance level).",
    "alpha": "Krippendorff's alpha (interval): the same chance-corrected agreement over three or more judges.",
    "exact": "Exact / within-1: share of answers the two judges rate identically / at most one point apart.",
    "system_spearman": "System Spearman: rank correlation of the two judges' per-model mean ratings "
                       "(do they rank the models the same way?).",
    "swap_consistency": "Swap consistency: share of pairwise comparisons with the same winner when the two "
                        "answers trade places (1 = no position effect).",
    "first_slot_share": "First-slot share: share of decisive pairwise verdicts that chose the answer shown first "
                        "(0.5 = no position bias).",
    "length_correlation": "Length correlation: Spearman's rho of rating with answer length (characters for "
                          "Chinese, words otherwise, from the language registry).",
    "length_controlled": "Length-controlled rating: the model's rating at zero length difference to the other "
                         "models' answers to the same question (rating regressed on model and normalised length "
                         "difference, as AlpacaEval LC does); when the length slope is significant, 'ranking changes' "
                         "lists model pairs whose order flips, or whose gap halves and stops being significant.",
    "off_language_rate": "Off-language rate: share of a model's answers confidently detected in another "
                         "language than the task's.",
    "off_minus_on": "Off − on: the judge's mean rating of off-language answers minus on-language ones "
                    "(above 0: the judge rewards answering in the wrong language).",
    "self_consistency": "Self-consistency: mean standard deviation of the K ratings of one answer (`--repeats K`) "
                        "and the share of answers whose K ratings agree; ratings use their mean.",
    "ci": "Brackets: 95% bootstrap intervals, resampling questions (all models' answers to one question together).",
}


@dataclass
class ReportTable:
    """A plain table for the leaderboard's table model (or any writer). Strings are raw text (from results
    files, clipped to one line): the writer escapes them, as :func:`cell` does for Markdown."""

    diagnostic: str  # one of DIAGNOSTICS, or "disagreements"
    stratum: str  # "zh / native"
    title: str
    columns: list[str]
    rows: list[list[str]]


@dataclass
class ReportSection:
    report: JudgeReport
    tables: list[ReportTable]
    plots: dict[str, Path]  # diagnostic -> PNG
    markdown: str


# --- formatting --------------------------------------------------------------------------------------
def fmt(value: float | None, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def fmt_estimate(e: Estimate | None, digits: int = 2) -> str:
    if e is None or e.value is None:
        return "n/a"
    if not e.has_inference:
        return fmt(e.value, digits)
    return f"{e.value:.{digits}f} [{e.ci_low:.{digits}f}, {e.ci_high:.{digits}f}]"


def clip(text: Any, limit: int = _TEXT_LIMIT) -> str:
    """One line of at most ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 1] + "…"


def cell(text: Any, limit: int = 100_000) -> str:
    """Text from results files made safe for Markdown (a table cell) and for HTML rendered from it."""
    return html.escape(clip(text, limit), quote=True).replace("|", "\\|")


def judge_title(report: JudgeReport, name: str) -> str:
    info = next((j for j in report.judges if j.name == name), None)
    return f"{name} ({info.label})" if info and info.label else name


def _tables_for(report: JudgeReport, s: Stratum) -> list[ReportTable]:
    name, tables = s.name, []
    jt = lambda n: clip(judge_title(report, n))  # noqa: E731
    if s.agreement:
        a = s.agreement
        rows = [[jt(p.judge_a), jt(p.judge_b), str(p.n_items), fmt_estimate(p.kappa), fmt_estimate(p.exact),
                 fmt_estimate(p.within_one), fmt_estimate(p.system_spearman)] for p in a.pairs]
        if a.alpha is not None:
            rows.append(["all judges", f"({len(a.judges)})", str(a.alpha.n_items), f"alpha {fmt_estimate(a.alpha)}", "", "", ""])
        tables.append(ReportTable("agreement", name, f"Agreement between judges, {name}",
                                  ["judge", "judge", "items", "kappa (quadratic)", "exact", "within 1",
                                   "system Spearman"], rows))
        if a.disagreements:
            tables.append(ReportTable("disagreements", name, f"Largest disagreements, {name}",
                                      ["model", "task / doc", "question", "answer", "high", "its explanation",
                                       "low", "its explanation"],
                                      [[clip(d.model), clip(f"{d.task} / {d.doc_id}"), clip(d.question, 120),
                                        clip(d.response, 160), f"{jt(d.high_judge)}: {fmt(d.high_rating, 1)}",
                                        clip(d.high_explanation), f"{jt(d.low_judge)}: {fmt(d.low_rating, 1)}",
                                        clip(d.low_explanation)] for d in a.disagreements]))
    if s.position:
        tables.append(ReportTable("position", name, f"Position bias (pairwise), {name}",
                                  ["judge", "comparisons", "pairs", "swap consistency", "first-slot share", "biased"],
                                  [[jt(p.judge), clip("; ".join(p.comparisons)), str(p.n_pairs),
                                    fmt_estimate(p.swap_consistency), fmt_estimate(p.first_slot_share),
                                    "yes" if p.biased else "no"] for p in s.position]))
    for lb in s.length:
        rows = [[clip(m.model), str(m.n), fmt(m.mean_length, 0), fmt_estimate(m.raw), fmt_estimate(m.length_controlled)]
                for m in lb.models]
        tables.append(ReportTable(
            "length", name,
            f"Length bias, {name}, judge {judge_title(report, lb.judge)}: rho(rating, {lb.unit}) "
            f"{fmt_estimate(lb.correlation)}; slope {fmt_estimate(lb.slope)} per SD; ranking changes: "
            + ("; ".join(lb.changes) if lb.changes else "none"),
            ["model", "answers", f"mean length ({lb.unit})", "rating", "length-controlled"], rows))
    for lc in s.language_checks:
        tables.append(ReportTable(
            "language", name,
            f"Language checks, {name}, judge {judge_title(report, lc.judge)}: off − on "
            f"{fmt_estimate(lc.off_minus_on)} ({lc.n_off} off-language, {lc.n_on} on-language answers)"
            + ("; the judge favours off-language answers" if lc.favours_off_language else ""),
            ["model", "answers", "off-language rate", "mean rating on-language", "mean rating off-language"],
            [[clip(m.model), str(m.n), fmt(m.off_language_rate), fmt(m.on_language_mean), fmt(m.off_language_mean)]
             for m in lc.models]))
    if s.consistency:
        tables.append(ReportTable("consistency", name, f"Self-consistency (repeats), {name}",
                                  ["judge", "repeats", "items", "mean within-item SD", "identical share"],
                                  [[jt(c.judge), str(c.repeats), str(c.n_items), fmt_estimate(c.mean_sd),
                                    fmt_estimate(c.identical_share)] for c in s.consistency]))
    return tables


def report_tables(report: JudgeReport) -> list[ReportTable]:
    return [t for s in report.strata for t in _tables_for(report, s)]


def _markdown_table(table: ReportTable) -> str:
    lines = ["| " + " | ".join(cell(c) for c in table.columns) + " |", "|" + "---|" * len(table.columns)]
    lines += ["| " + " | ".join(cell(c) for c in row) + " |" for row in table.rows]
    return "\n".join(lines)


def report_markdown(report: JudgeReport, plots: dict[str, str] | None = None, heading_level: int = 2,
                    title: str = "Judge diagnostics") -> str:
    """The report as one Markdown section; ``plots`` maps diagnostic -> image path relative to the page."""
    h = "#" * heading_level
    judges = ", ".join(cell(judge_title(report, j.name)) + f" (`{cell(j.model)}`"
                       + (f", prompt {cell(', '.join(j.prompts))}" if j.prompts else "") + ")" for j in report.judges)
    parts = [f"{h} {title}", f"Judges: {judges}. {report.resamples} bootstrap resamples, seed {report.seed}."]
    parts += ["", *[f"- {text}" for text in EXPLANATIONS.values()]]
    for s in report.strata:
        parts += ["", f"{h}# {cell(s.name)}"]
        tables = _tables_for(report, s)
        if s.agreement is None and not s.position:
            parts.append("Agreement needs two judges on the same answers; one judge here.")
        for table in tables:
            parts += ["", f"**{cell(table.title)}**", "", _markdown_table(table)]
    for diagnostic, path in (plots or {}).items():
        parts += ["", f"![{diagnostic}]({path})"]
    return "\n".join(parts) + "\n"


def report_json(report: JudgeReport) -> dict[str, Any]:
    data = asdict(report)
    for raw, stratum in zip(data["strata"], report.strata, strict=True):
        raw["name"] = stratum.name
    data["explanations"] = EXPLANATIONS
    return data


# --- plots -------------------------------------------------------------------------------------------
def _interval_panel(ax, labels: list[str], estimates: list[Estimate], reference: float | None, xlabel: str) -> None:
    ys = list(range(len(labels)))[::-1]
    for y, e in zip(ys, estimates, strict=True):
        if e.value is None:
            continue
        if e.has_inference:
            ax.plot([e.ci_low, e.ci_high], [y, y], color="tab:blue", lw=2)
        ax.plot([e.value], [y], "o", color="tab:blue")
    if reference is not None:
        ax.axvline(reference, color="grey", ls="--", lw=1)
    ax.set_yticks(ys)
    ax.set_yticklabels(labels, fontsize=7)
    ax.set_xlabel(xlabel)


def _figure(rows: int, cols: int = 1):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, cols, figsize=(6.5 * cols, max(2.0, 0.3 * rows + 1.2)), squeeze=False)
    return plt, fig, axes[0]


def _save(plt, fig, path: Path, title: str) -> Path:
    fig.suptitle(title, fontsize=9)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png")
    plt.close(fig)
    tmp.replace(path)
    return path


def _plot_agreement(report: JudgeReport, path: Path) -> Path | None:
    """One heatmap of pairwise kappa per stratum (alpha in its title): readable for any number of judges."""
    import numpy as np

    panels = [s for s in report.strata if s.agreement]
    if not panels:
        return None
    size = max(len(s.agreement.judges) for s in panels)
    plt, fig, axes = _figure(0, len(panels))
    fig.set_size_inches(max(5.0, 0.55 * size + 3.5) * len(panels), max(3.5, 0.45 * size + 2))
    fig.subplots_adjust(wspace=0.55)
    for ax, s in zip(axes, panels, strict=True):
        names = s.agreement.judges
        matrix = np.eye(len(names))
        for p in s.agreement.pairs:
            i, j = names.index(p.judge_a), names.index(p.judge_b)
            matrix[i, j] = matrix[j, i] = np.nan if p.kappa.value is None else p.kappa.value
        image = ax.imshow(matrix, vmin=-1, vmax=1, cmap="RdBu")
        for i in range(len(names)):
            for j in range(len(names)):
                if i != j and np.isfinite(matrix[i, j]):
                    ax.text(j, i, f"{matrix[i, j]:.2f}", ha="center", va="center", fontsize=7,
                            color="white" if abs(matrix[i, j]) > 0.6 else "black")
        ax.set_xticks(range(len(names)))
        ax.set_xticklabels(names, rotation=60, ha="right", fontsize=7)
        ax.set_yticks(range(len(names)))
        ax.set_yticklabels(names, fontsize=7)
        alpha = f"; alpha {fmt_estimate(s.agreement.alpha)}" if s.agreement.alpha is not None else ""
        ax.set_title(f"{s.name}{alpha}", fontsize=8)
    fig.colorbar(image, ax=list(axes), shrink=0.8, label="quadratic-weighted kappa")
    fig.suptitle("Agreement between judges (intervals in the tables)", fontsize=9)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    fig.savefig(tmp, dpi=110, format="png", bbox_inches="tight")
    plt.close(fig)
    tmp.replace(path)
    return path


def _plot_position(report: JudgeReport, path: Path) -> Path | None:
    items = [(f"{s.name}: {p.judge}", p) for s in report.strata for p in s.position]
    if not items:
        return None
    plt, fig, axes = _figure(len(items), 2)
    labels = [label for label, _ in items]
    _interval_panel(axes[0], labels, [p.swap_consistency for _, p in items], 1.0, "swap consistency")
    _interval_panel(axes[1], labels, [p.first_slot_share for _, p in items], 0.5, "share preferring the first slot")
    return _save(plt, fig, path, "Position bias in pairwise verdicts (95% CI)")


def _plot_length(report: JudgeReport, path: Path) -> Path | None:
    items = [(f"{s.name}: {lb.judge}", lb) for s in report.strata for lb in s.length]
    if not items:
        return None
    plt, fig, axes = _figure(len(items), 2)
    _interval_panel(axes[0], [label for label, _ in items], [lb.correlation for _, lb in items], 0.0,
                    "Spearman rho(rating, length)")
    ax = axes[1]
    for _, lb in items:
        xs = [m.raw.value for m in lb.models if m.raw.value is not None and m.length_controlled.value is not None]
        ys = [m.length_controlled.value for m in lb.models if m.raw.value is not None and m.length_controlled.value is not None]
        ax.plot(xs, ys, "o", color="tab:red" if lb.ranking_changed else "tab:blue", alpha=0.7)
    lo, hi = ax.get_xlim()
    ax.plot([lo, hi], [lo, hi], color="grey", ls="--", lw=1)
    ax.set_xlabel("rating per model")
    ax.set_ylabel("length-controlled rating (red: ranking changes)")
    return _save(plt, fig, path, "Length bias and length-controlled ratings")


def off_language_rates(s: Stratum) -> dict[str, float]:
    """Per model: the answers' off-language rate (the same under every judge that saw them)."""
    rates: dict[str, float] = {}
    for check in s.language_checks:
        for m in check.models:
            rates.setdefault(m.model, m.off_language_rate)
    return dict(sorted(rates.items()))


def _plot_language(report: JudgeReport, path: Path) -> Path | None:
    items = [(f"{s.name}: {lc.judge}", lc) for s in report.strata for lc in s.language_checks]
    if not items:
        return None
    rates = [(f"{s.name}: {model}", rate) for s in report.strata for model, rate in off_language_rates(s).items()]
    plt, fig, axes = _figure(max(len(items), len(rates)), 2)
    ys = list(range(len(rates)))[::-1]
    axes[0].barh(ys, [r for _, r in rates], color="tab:blue")
    axes[0].set_yticks(ys)
    axes[0].set_yticklabels([label for label, _ in rates], fontsize=7)
    axes[0].set_xlabel("off-language rate")
    axes[0].set_xlim(0, 1)
    _interval_panel(axes[1], [label for label, _ in items], [lc.off_minus_on for _, lc in items], 0.0,
                    "mean rating off-language − on-language")
    return _save(plt, fig, path, "Language checks")


def _plot_consistency(report: JudgeReport, path: Path) -> Path | None:
    items = [(f"{s.name}: {c.judge} (K={c.repeats})", c) for s in report.strata for c in s.consistency]
    if not items:
        return None
    plt, fig, (ax,) = _figure(len(items))
    _interval_panel(ax, [label for label, _ in items], [c.mean_sd for _, c in items], 0.0,
                    "mean within-item SD of repeated ratings")
    return _save(plt, fig, path, "Self-consistency (95% CI)")


PLOTTERS: dict[str, Callable[[JudgeReport, Path], Path | None]] = {
    "agreement": _plot_agreement, "position": _plot_position, "length": _plot_length,
    "language": _plot_language, "consistency": _plot_consistency,
}


def write_plots(report: JudgeReport, folder: Path, prefix: str = "judge_") -> dict[str, Path]:
    """One PNG per diagnostic that has data: ``folder/<prefix><diagnostic>.png``."""
    written = {}
    for name, plot in PLOTTERS.items():
        path = plot(report, folder / f"{prefix}{name}.png")
        if path is not None:
            written[name] = path
    return written


# --- entry points ------------------------------------------------------------------------------------
def build_report(paths: Sequence[str | Path], *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                 top: int = TOP_DISAGREEMENTS, labels: dict[str, str] | None = None) -> JudgeReport:
    if resamples < 0:
        raise InputError("--bootstrap must be zero or more resamples")
    return judge_report(load_judge_outputs(paths, labels), resamples=resamples, seed=seed, top=top)


def leaderboard_section(judge_dirs: Sequence[str | Path], site_dir: str | Path, *, plots_subdir: str = "plots",
                        resamples: int = DEFAULT_RESAMPLES, seed: int = 0, labels: dict[str, str] | None = None,
                        heading_level: int = 2) -> ReportSection:
    """The judge diagnostics for a leaderboard page in ``site_dir``: plots under ``site_dir/plots_subdir``."""
    report = build_report(judge_dirs, resamples=resamples, seed=seed, labels=labels)
    plots = write_plots(report, Path(site_dir) / plots_subdir)
    relative = {name: f"{plots_subdir}/{path.name}" for name, path in plots.items()}
    return ReportSection(report, report_tables(report), plots, report_markdown(report, relative, heading_level))


def write_report(report: JudgeReport, out: str | Path) -> list[Path]:
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {folder}: exists and is not a directory")
    plots = write_plots(report, folder / PLOTS_DIR)
    relative = {name: f"{PLOTS_DIR}/{path.name}" for name, path in plots.items()}
    atomic_write_json(folder / JSON_NAME, report_json(report))
    atomic_write_text(folder / MARKDOWN_NAME, report_markdown(report, relative, heading_level=1))
    return [folder / JSON_NAME, folder / MARKDOWN_NAME, *plots.values()]


def parse_labels(pairs: Sequence[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip() or not text.strip():
            raise InputError(f"--judge-label {pair!r}: expected JUDGE=TEXT")
        labels[name.strip()] = text.strip()
    return labels


def run_judge_report(paths: Sequence[str], out: str, *, resamples: int = DEFAULT_RESAMPLES, seed: int = 0,
                     top: int = TOP_DISAGREEMENTS, labels: Sequence[str] = (),
                     echo: Callable[[str], None] = print) -> list[Path]:
    """The ``judge-report`` command: everything is computed before anything is written."""
    if not paths:
        raise InputError("give at least one directory written by `nativeval judge`")
    report = build_report(paths, resamples=resamples, seed=seed, top=top, labels=parse_labels(labels))
    written = write_report(report, out)
    for s in report.strata:
        flags = [f"length ranking changes ({lb.judge})" for lb in s.length if lb.ranking_changed]
        flags += [f"favours off-language answers ({lc.judge})" for lc in s.language_checks if lc.favours_off_language]
        flags += [f"position bias ({p.judge})" for p in s.position if p.biased]
        agreement = ""
        if s.agreement and s.agreement.alpha is not None:
            agreement = f"; alpha {fmt_estimate(s.agreement.alpha)} over {len(s.agreement.judges)} judges"
        elif s.agreement:
            agreement = f"; kappa {fmt_estimate(s.agreement.pairs[0].kappa)}"
        echo(f"{s.name}: {s.n_items} answers{agreement}"
             + (f"; flags: {', '.join(flags)}" if flags else ""))
    for path in written:
        echo(f"wrote {path}")
    return written

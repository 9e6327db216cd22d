"""``nativeval judge-report``: the judge diagnostics as JSON, Markdown, HTML and one figure per diagnostic.

The report is laid out once as a :class:`~nativeval.harness_ext.report.tables.Section` (tables and figure
specs, :func:`report_section`) and rendered by the shared layer (:mod:`nativeval.harness_ext.report`), the
leaderboard's too: the leaderboard shows the same section on its page.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nativeval import __version__
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_text
from nativeval.harness_ext.core.paths import safe_segment
from nativeval.harness_ext.core.stats import Estimate
from nativeval.harness_ext.judge.diagnostics import (
    DEFAULT_RESAMPLES,
    TOP_DISAGREEMENTS,
    JudgeReport,
    Stratum,
    judge_report,
)
from nativeval.harness_ext.judge.diagnostics_io import load_judge_outputs
from nativeval.harness_ext.report.figures import (
    XY,
    DotPanel,
    Dots,
    Figure,
    Heatmap,
    HeatPanel,
    Point,
    Scatter,
    ScatterPanel,
    draw_figures,
)
from nativeval.harness_ext.report.render import render_html, render_markdown
from nativeval.harness_ext.report.tables import Column, Page, Section, Table

JSON_NAME, MARKDOWN_NAME, HTML_NAME, PLOTS_DIR = (
    "judge_report.json",
    "judge_report.md",
    "judge_report.html",
    "plots",
)
_TEXT_LIMIT = 240

# One sentence per number: the README's judging section and the page's notes say the same.
EXPLANATIONS = {
    "kappa": "Quadratic-weighted Cohen's kappa: agreement of two judges' ratings on the same answers beyond "
    "what their rating distributions give by chance (1 identical, 0 chance level).",
    "alpha": "Krippendorff's alpha (interval): the same chance-corrected agreement over three or more "
    "judges.",
    "exact": "Exact / within-1: share of answers the two judges rate identically / at most one point apart.",
    "system_spearman": "System Spearman: rank correlation of the two judges' per-model mean ratings "
    "(do they rank the models the same way?).",
    "swap_consistency": "Swap consistency: share of pairwise comparisons with the same winner when the two "
    "answers trade places (1 = no position effect).",
    "first_slot_share": "First-slot share: share of decisive pairwise verdicts that chose the answer shown "
    "first (0.5 = no position bias).",
    "length_correlation": "Length correlation: Spearman's rho of rating with answer length (characters for "
    "Chinese, words otherwise, from the language registry).",
    "length_controlled": "Length-controlled rating: the model's rating at zero length difference to the "
    "other models' answers to the same question (rating regressed on model and normalised length "
    "difference, as AlpacaEval LC does); when the length slope is significant, 'ranking changes' "
    "lists model pairs whose order flips, or whose gap halves and stops being significant.",
    "off_language_rate": "Off-language rate: share of a model's answers confidently detected in another "
    "language than the task's.",
    "off_minus_on": "Off − on: the judge's mean rating of off-language answers minus on-language ones "
    "(above 0: the judge rewards answering in the wrong language).",
    "self_consistency": "Self-consistency: mean standard deviation of the K ratings of one answer "
    "(`--repeats K`) and the share of answers whose K ratings agree; ratings use their mean.",
    "ci": "Brackets: 95% bootstrap intervals, resampling questions (all models' answers to one question "
    "together).",
}


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


def judge_title(report: JudgeReport, name: str) -> str:
    info = next((j for j in report.judges if j.name == name), None)
    return f"{name} ({info.label})" if info and info.label else name


@dataclass
class _Raw:
    diagnostic: str
    stratum: str
    title: str
    columns: list[str]
    rows: list[list[str]]


def _tables_for(report: JudgeReport, s: Stratum) -> list[_Raw]:
    name, tables = s.name, []
    jt = lambda n: clip(judge_title(report, n))  # noqa: E731
    if s.agreement:
        a = s.agreement
        rows = [
            [
                jt(p.judge_a),
                jt(p.judge_b),
                str(p.n_items),
                fmt_estimate(p.kappa),
                fmt_estimate(p.exact),
                fmt_estimate(p.within_one),
                fmt_estimate(p.system_spearman),
            ]
            for p in a.pairs
        ]
        if a.alpha is not None:
            rows.append(
                [
                    "all judges",
                    f"({len(a.judges)})",
                    str(a.alpha.n_items),
                    f"alpha {fmt_estimate(a.alpha)}",
                    "",
                    "",
                    "",
                ]
            )
        tables.append(
            _Raw(
                "agreement",
                name,
                f"Agreement between judges, {name}",
                ["judge", "judge", "items", "kappa (quadratic)", "exact", "within 1", "system Spearman"],
                rows,
            )
        )
        if a.disagreements:
            tables.append(
                _Raw(
                    "disagreements",
                    name,
                    f"Largest disagreements, {name}",
                    [
                        "model",
                        "task / doc",
                        "question",
                        "answer",
                        "high",
                        "its explanation",
                        "low",
                        "its explanation",
                    ],
                    [
                        [
                            clip(d.model),
                            clip(f"{d.task} / {d.doc_id}"),
                            clip(d.question, 120),
                            clip(d.response, 160),
                            f"{jt(d.high_judge)}: {fmt(d.high_rating, 1)}",
                            clip(d.high_explanation),
                            f"{jt(d.low_judge)}: {fmt(d.low_rating, 1)}",
                            clip(d.low_explanation),
                        ]
                        for d in a.disagreements
                    ],
                )
            )
    if s.position:
        tables.append(
            _Raw(
                "position",
                name,
                f"Position bias (pairwise), {name}",
                ["judge", "comparisons", "pairs", "swap consistency", "first-slot share", "biased"],
                [
                    [
                        jt(p.judge),
                        clip("; ".join(p.comparisons)),
                        str(p.n_pairs),
                        fmt_estimate(p.swap_consistency),
                        fmt_estimate(p.first_slot_share),
                        "yes" if p.biased else "no",
                    ]
                    for p in s.position
                ],
            )
        )
    for lb in s.length:
        rows = [
            [
                clip(m.model),
                str(m.n),
                fmt(m.mean_length, 0),
                fmt_estimate(m.raw),
                fmt_estimate(m.length_controlled),
            ]
            for m in lb.models
        ]
        tables.append(
            _Raw(
                "length",
                name,
                f"Length bias, {name}, judge {judge_title(report, lb.judge)}: rho(rating, {lb.unit}) "
                f"{fmt_estimate(lb.correlation)}; slope {fmt_estimate(lb.slope)} per SD; ranking changes: "
                + ("; ".join(lb.changes) if lb.changes else "none"),
                ["model", "answers", f"mean length ({lb.unit})", "rating", "length-controlled"],
                rows,
            )
        )
    for lc in s.language_checks:
        tables.append(
            _Raw(
                "language",
                name,
                f"Language checks, {name}, judge {judge_title(report, lc.judge)}: off − on "
                f"{fmt_estimate(lc.off_minus_on)} ({lc.n_off} off-language, {lc.n_on} on-language answers)"
                + ("; the judge favours off-language answers" if lc.favours_off_language else ""),
                [
                    "model",
                    "answers",
                    "off-language rate",
                    "mean rating on-language",
                    "mean rating off-language",
                ],
                [
                    [
                        clip(m.model),
                        str(m.n),
                        fmt(m.off_language_rate),
                        fmt(m.on_language_mean),
                        fmt(m.off_language_mean),
                    ]
                    for m in lc.models
                ],
            )
        )
    if s.consistency:
        tables.append(
            _Raw(
                "consistency",
                name,
                f"Self-consistency (repeats), {name}",
                ["judge", "repeats", "items", "mean within-item SD", "identical share"],
                [
                    [
                        jt(c.judge),
                        str(c.repeats),
                        str(c.n_items),
                        fmt_estimate(c.mean_sd),
                        fmt_estimate(c.identical_share),
                    ]
                    for c in s.consistency
                ],
            )
        )
    return tables


def report_tables(report: JudgeReport) -> list[Table]:
    """Every diagnostic table of every stratum (cells are raw text: each renderer escapes it)."""
    tables = []
    for s in report.strata:
        for k, raw in enumerate(_tables_for(report, s)):
            table = Table(
                safe_segment(f"judge-{raw.diagnostic}-{raw.stratum}-{k}").lower(),
                raw.title,
                [Column(f"c{j}", title, always=True) for j, title in enumerate(raw.columns)],
                sortable=False,
            )
            for row in raw.rows:
                table.add(**{f"c{j}": value for j, value in enumerate(row)})
            tables.append(table)
    return tables


def report_section(
    report: JudgeReport, section_id: str = "judge", title: str = "Judge diagnostics"
) -> Section:
    """The report as one section of tables, figure specs and the explanations (said once)."""
    judges = "; ".join(
        f"{judge_title(report, j.name)} ({j.model}"
        + (f", prompt {', '.join(j.prompts)}" if j.prompts else "")
        + ")"
        for j in report.judges
    )
    one_judge = [s.name for s in report.strata if s.agreement is None and not s.position]
    notes = list(EXPLANATIONS.values())
    if one_judge:
        notes.append(
            "Agreement needs two judges on the same answers; one judge for " + ", ".join(one_judge) + "."
        )
    return Section(
        section_id,
        title,
        f"Can the judges' ratings be believed? Judges: {judges}. "
        f"{report.resamples} bootstrap resamples, seed {report.seed}.",
        tables=report_tables(report),
        figures=report_figures(report),
        notes=notes,
    )


def report_json(report: JudgeReport) -> dict[str, Any]:
    data = asdict(report)
    for raw, stratum in zip(data["strata"], report.strata, strict=True):
        raw["name"] = stratum.name
    data["explanations"] = EXPLANATIONS
    return data


# --- figures (specs; the shared layer draws them) --------------------------------------------------------
def _points(items: list[tuple[str, Estimate | None]]) -> tuple[Point, ...]:
    return tuple(
        Point(label, e.value, e.ci_low, e.ci_high)
        for label, e in items
        if e is not None and e.value is not None
    )


def _dots(name: str, title: str, panels: list[DotPanel]) -> Figure | None:
    panels = [p for p in panels if p.points]  # never an empty panel
    return Dots(f"judge_{name}", title, panels=tuple(panels)) if panels else None


def off_language_rates(s: Stratum) -> dict[str, float]:
    """Per model: the answers' off-language rate (the same under every judge that saw them)."""
    rates: dict[str, float] = {}
    for check in s.language_checks:
        for m in check.models:
            rates.setdefault(m.model, m.off_language_rate)
    return dict(sorted(rates.items()))


def report_figures(report: JudgeReport) -> list[Figure]:
    """One figure per diagnostic that has data (agreement, position, length, language, consistency)."""
    figures: list[Figure | None] = []
    agreement = [s for s in report.strata if s.agreement]
    if agreement:
        panels = []
        for s in agreement:
            names = s.agreement.judges
            matrix = [[1.0 if i == j else None for j in range(len(names))] for i in range(len(names))]
            for p in s.agreement.pairs:
                i, j = names.index(p.judge_a), names.index(p.judge_b)
                matrix[i][j] = matrix[j][i] = p.kappa.value
            alpha = f"; alpha {fmt_estimate(s.agreement.alpha)}" if s.agreement.alpha is not None else ""
            panels.append(HeatPanel(f"{s.name}{alpha}", tuple(names), tuple(tuple(r) for r in matrix)))
        figures.append(
            Heatmap(
                "judge_agreement",
                "Agreement between judges (quadratic-weighted kappa)",
                panels=tuple(panels),
                colorbar="kappa",
            )
        )
    position = [(f"{s.name}: {p.judge}", p) for s in report.strata for p in s.position]
    figures.append(
        _dots(
            "position",
            "Position bias in pairwise verdicts (95% CI)",
            [
                DotPanel(
                    "swap consistency (1 = no position effect)",
                    _points([(n, p.swap_consistency) for n, p in position]),
                    "share of comparisons with the same winner after swapping",
                    reference=1.0,
                ),
                DotPanel(
                    "first-slot share (0.5 = no bias)",
                    _points([(n, p.first_slot_share) for n, p in position]),
                    "share of decisive verdicts for the first answer",
                    reference=0.5,
                ),
            ],
        )
    )
    length = [(f"{s.name}: {lb.judge}", lb) for s in report.strata for lb in s.length]
    figures.append(
        _dots(
            "length",
            "Length bias: rating vs answer length (95% CI)",
            [
                DotPanel(
                    "",
                    _points([(n, lb.correlation) for n, lb in length]),
                    "Spearman rho(rating, length)",
                    reference=0.0,
                )
            ],
        )
    )
    controlled = [
        XY(m.raw.value, m.length_controlled.value, f"{s.name}: {lb.judge}")
        for s in report.strata
        for lb in s.length
        for m in lb.models
        if m.raw.value is not None and m.length_controlled.value is not None
    ]
    if controlled:
        figures.append(
            Scatter(
                "judge_length_controlled",
                "Rating per model, raw and length-controlled",
                panels=(
                    ScatterPanel(
                        "one point per model; dashed: unchanged",
                        tuple(controlled),
                        "rating (1-5)",
                        "length-controlled rating (1-5)",
                        diagonal=True,
                    ),
                ),
            )
        )
    checks = [(f"{s.name}: {lc.judge}", lc) for s in report.strata for lc in s.language_checks]
    rates = [
        Point(f"{s.name}: {model}", rate)
        for s in report.strata
        for model, rate in off_language_rates(s).items()
        if rate is not None
    ]
    figures.append(
        _dots(
            "language",
            "Language checks",
            [
                DotPanel("answers in another language", tuple(rates), "off-language rate (share of answers)"),
                DotPanel(
                    "judge's rating of off- minus on-language answers (95% CI)",
                    _points([(n, lc.off_minus_on) for n, lc in checks]),
                    "mean rating difference",
                    reference=0.0,
                ),
            ],
        )
    )
    consistency = [(f"{s.name}: {c.judge} (K={c.repeats})", c) for s in report.strata for c in s.consistency]
    figures.append(
        _dots(
            "consistency",
            "Self-consistency of repeated ratings (95% CI)",
            [
                DotPanel(
                    "",
                    _points([(n, c.mean_sd) for n, c in consistency]),
                    "mean within-item SD of repeated ratings",
                    reference=0.0,
                )
            ],
        )
    )
    return [f for f in figures if f is not None]


# --- entry points ------------------------------------------------------------------------------------
def build_report(
    paths: Sequence[str | Path],
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    top: int = TOP_DISAGREEMENTS,
    labels: dict[str, str] | None = None,
) -> JudgeReport:
    if resamples < 0:
        raise InputError("--bootstrap must be zero or more resamples")
    return judge_report(load_judge_outputs(paths, labels), resamples=resamples, seed=seed, top=top)


def write_report(report: JudgeReport, out: str | Path) -> list[Path]:
    """judge_report.json, judge_report.md, judge_report.html and the figures (PNG + SVG) under ``out``."""
    folder = Path(out)
    if folder.exists() and not folder.is_dir():
        raise InputError(f"--out {folder}: exists and is not a directory")
    section = report_section(report)
    page = Page("Judge diagnostics", [], [section], f"nativeval {__version__}")
    written = draw_figures(section.figures, folder / PLOTS_DIR)
    atomic_write_json(folder / JSON_NAME, report_json(report))
    atomic_write_text(folder / MARKDOWN_NAME, render_markdown(page))
    atomic_write_text(folder / HTML_NAME, render_html(page, folder / PLOTS_DIR))
    return [folder / JSON_NAME, folder / MARKDOWN_NAME, folder / HTML_NAME, *written]


def parse_labels(pairs: Sequence[str]) -> dict[str, str]:
    labels = {}
    for pair in pairs:
        name, sep, text = pair.partition("=")
        if not sep or not name.strip() or not text.strip():
            raise InputError(f"--judge-label {pair!r}: expected JUDGE=TEXT")
        labels[name.strip()] = text.strip()
    return labels


def run_judge_report(
    paths: Sequence[str],
    out: str,
    *,
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = 0,
    top: int = TOP_DISAGREEMENTS,
    labels: Sequence[str] = (),
    echo: Callable[[str], None] = print,
) -> list[Path]:
    """The ``judge-report`` command: everything is computed before anything is written."""
    if not paths:
        raise InputError("give at least one directory written by `nativeval judge`")
    report = build_report(paths, resamples=resamples, seed=seed, top=top, labels=parse_labels(labels))
    written = write_report(report, out)
    for s in report.strata:
        flags = [f"length ranking changes ({lb.judge})" for lb in s.length if lb.ranking_changed]
        flags += [
            f"favours off-language answers ({lc.judge})"
            for lc in s.language_checks
            if lc.favours_off_language
        ]
        flags += [f"position bias ({p.judge})" for p in s.position if p.biased]
        agreement = ""
        if s.agreement and s.agreement.alpha is not None:
            agreement = f"; alpha {fmt_estimate(s.agreement.alpha)} over {len(s.agreement.judges)} judges"
        elif s.agreement:
            agreement = f"; kappa {fmt_estimate(s.agreement.pairs[0].kappa)}"
        echo(f"{s.name}: {s.n_items} answers{agreement}" + (f"; flags: {', '.join(flags)}" if flags else ""))
    for path in written:
        echo(f"wrote {path}")
    return written

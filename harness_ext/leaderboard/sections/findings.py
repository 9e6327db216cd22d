"""The finding first: per test set, native-trained minus translated-trained with a 95% CI and a verdict.

``summary`` is the page's opening (the interactions in one sentence each, then the pooled headline gaps of
the main training configuration, grouped by test-set origin x answer form); ``details`` holds every finding
(per translator, per configuration and judge), the interactions table and the figure.
"""

from __future__ import annotations

from collections.abc import Sequence

from nativeval.harness_ext.leaderboard.columns import benchmark_has_both_origins
from nativeval.harness_ext.leaderboard.findings import ALL_LANGUAGES, POOLED, Finding, Interaction, judge_name
from nativeval.harness_ext.leaderboard.model import Board
from nativeval.harness_ext.leaderboard.sections.common import ANSWER_FORM_TITLES, VERDICT_TITLES, fmt_gap
from nativeval.harness_ext.report.figures import DotPanel, Dots, Point
from nativeval.harness_ext.report.tables import Column, Section, Table

ORIGIN_TITLES = {
    "native": "native",
    "human_translated": "human-translated",
    "machine_translated": "machine-translated",
    "machine_translated_post_edited": "MT, post-edited",
    "round_trip_translated": "round trip",
    "unknown": "origin unknown",
}
SUMMARY_ROWS = 14  # the summary fits one 1400x900 screen; the rest is in "All findings"
KIND_TITLES = {"measured": "measured here", "reference": "published numbers"}


def group_title(f: Finding) -> str:
    return f"{ORIGIN_TITLES.get(f.origin, f.origin)} · {ANSWER_FORM_TITLES.get(f.answer_form, f.answer_form)}"


def set_title(f: Finding) -> str:
    language = " (all languages)" if f.language == ALL_LANGUAGES else f" {f.language}"
    judge = f", judged by {judge_name(f.judge, f.judge_prompt)}" if f.judge else ""
    scale = " (sum of ratings)" if f.metric.startswith("sum_") else ""
    metric = "" if f.headline else f" · {f.metric.replace('_', ' ')}"
    return f"{f.title or f.benchmark}{both_origins(f)}{language}{judge}{scale}{metric}"


def config_title(lr: str, tuning: str) -> str:
    return " · ".join(p for p in (lr, tuning) if p) or "as run"


def reports(board: Board) -> list:
    return [r for r in (board.findings, board.reference_findings) if r is not None]


def all_findings(board: Board) -> list[Finding]:
    return [f for r in reports(board) for f in r.findings]


def all_interactions(board: Board) -> list[Interaction]:
    return [i for r in reports(board) for i in r.interactions]


def main_config(findings: Sequence[Finding]) -> tuple[str, str] | None:
    """The configuration the summary shows: the study's recipe (1e-4, mono) when present, else the most
    common."""
    configs = [(f.lr, f.tuning) for f in findings]
    if not configs:
        return None
    if ("1e-4", "mono") in configs:
        return "1e-4", "mono"
    return max(set(configs), key=lambda c: (configs.count(c), c))


def headline_pooled(findings: Sequence[Finding]) -> list[Finding]:
    """Pooled over translators, the headline metric, one row per test set (pooled over languages where the
    findings give that, else per language)."""
    chosen = [f for f in findings if f.translator == POOLED and f.headline]
    pooled_sets = {(f.benchmark, f.origin, f.judge) for f in chosen if f.language == ALL_LANGUAGES}
    return [
        f
        for f in chosen
        if f.language == ALL_LANGUAGES or (f.benchmark, f.origin, f.judge) not in pooled_sets
    ]


def summary_findings(board: Board) -> list[Finding]:
    out = []
    for report in reports(board):
        config = main_config(report.findings)
        out += [f for f in headline_pooled(report.findings) if config and (f.lr, f.tuning) == config]
    return out


def evidence(f: Finding) -> str:
    if f.n_items:
        units = f"{f.n_items} items" + (
            f", {f.n_clusters} {'cluster' if f.n_clusters == 1 else 'clusters'}"
            if f.n_clusters and f.n_clusters != f.n_items
            else ""
        )
    else:
        units = f"{f.n_cells} cells ({f.positive_cells} positive)"
    mde = f"; MDE {f.mde:.1f}" if f.mde is not None else "; MDE n/a"
    return units + mde


def findings_table(
    table_id: str, findings: Sequence[Finding], with_config: bool, with_translator: bool
) -> Table:
    with_kind = len({f.kind for f in findings}) > 1
    columns = [Column("kind", "numbers")] if with_kind else []
    columns += [
        Column("group", "origin · answer form", always=True),
        Column("test_set", "test set", always=True),
    ]
    columns += [Column("config", "learning rate · tuning")] if with_config else []
    columns += [Column("translator", "translated data")] if with_translator else []
    columns += [
        Column("gap", "gap, points [95% CI]", "number", always=True),
        Column("verdict", "verdict", always=True),
        Column("evidence", "evidence"),
    ]
    table = Table(table_id, "", columns, sortable=False)
    for f in findings:
        cells = {
            "group": group_title(f),
            "test_set": set_title(f),
            "gap": fmt_gap(f.gap, f.ci_low, f.ci_high),
            "verdict": VERDICT_TITLES.get(f.verdict, f.verdict),
            "evidence": evidence(f) + (f"; {f.note}" if f.note else ""),
        }
        if with_kind:
            cells["kind"] = KIND_TITLES.get(f.kind, f.kind)
        if with_config:
            cells["config"] = config_title(f.lr, f.tuning)
        if with_translator:
            cells["translator"] = "mean of translators" if f.translator == POOLED else f.translator
        table.add(**cells)
    return table


def interaction_sentence(i: Interaction) -> str:
    where = f"{KIND_TITLES.get(i.kind, i.kind)}, {config_title(i.lr, i.tuning)}"
    value = fmt_gap(i.value, i.ci_low, i.ci_high)
    return (
        f"{i.title[:1].upper()}{i.title[1:]} ({where}): {value} points — "
        f"{VERDICT_TITLES.get(i.verdict, i.verdict)} ({i.n_units} {i.unit})."
    )


def summary(board: Board) -> Section | None:
    rows = summary_findings(board)
    if not rows and not all_interactions(board):
        return None
    lines = []
    for report in reports(board):
        config = main_config(report.findings)
        lines += [
            interaction_sentence(i) for i in report.interactions if config and (i.lr, i.tuning) == config
        ]
    shown = rows[:SUMMARY_ROWS]
    table = findings_table(
        "findings", shown, with_config=len({(f.lr, f.tuning) for f in shown}) > 1, with_translator=False
    )
    configs = sorted({(f.kind, f.lr, f.tuning) for f in shown})
    table.caption = (
        "Shown: "
        + "; ".join(f"{KIND_TITLES.get(k, k)} at {config_title(lr, t)}" for k, lr, t in configs)
        + (". Other learning rates, tuning modes and each translator: 'All findings' below.")
    )
    notes = []
    if len(rows) > len(shown):
        notes.append(f"{len(rows) - len(shown)} more test sets in 'All findings' below.")
    return Section(
        "findings",
        "Findings: does the test set tell native from translated training data?",
        "Gap = score of the model tuned on native data minus the same model tuned on translated data "
        "(mean of the translators), per test set, with a 95% CI. Separates: the CI excludes 0; no "
        "difference: the CI lies within ± the minimum detectable effect (MDE); inconclusive: too few "
        "items or cells to tell.",
        tables=[table] if shown else [],
        text=lines,
        notes=notes,
        summary=True,
    )


def details(board: Board) -> Section | None:
    findings = all_findings(board)
    if not findings:
        return None
    tables = []
    by_config: dict[tuple[str, str, str], list[Finding]] = {}
    for f in findings:  # in display order within each configuration
        by_config.setdefault((f.kind, f.lr, f.tuning), []).append(f)
    for k, ((kind, lr, tuning), members) in enumerate(
        sorted(by_config.items(), key=lambda c: (c[0][0] != "measured", c[0][1:]))
    ):
        table = findings_table(f"findings-all-{k}", members, with_config=False, with_translator=True)
        table.title = (
            f"{KIND_TITLES.get(kind, kind).capitalize()}, {config_title(lr, tuning)}: {len(members)} findings"
        )
        tables.append(table)
    interactions = all_interactions(board)
    if interactions:
        table = Table(
            "interactions",
            "Interactions: where the gap shows and where it hides",
            [
                Column("kind", "numbers"),
                Column("what", "comparison", always=True),
                Column("config", "learning rate · tuning"),
                Column("value", "difference of gaps [95% CI]", always=True),
                Column("verdict", "verdict"),
                Column("left", "first family"),
                Column("right", "second family"),
                Column("how", "how"),
            ],
            sortable=False,
        )
        for i in interactions:
            table.add(
                kind=KIND_TITLES.get(i.kind, i.kind),
                what=i.title,
                config=config_title(i.lr, i.tuning),
                value=fmt_gap(i.value, i.ci_low, i.ci_high),
                verdict=VERDICT_TITLES.get(i.verdict, i.verdict),
                left=", ".join(i.left_sets),
                right=", ".join(i.right_sets),
                how=f"{i.how}; {i.note}".strip("; "),
            )
        tables.append(table)
    not_shown = [line for r in reports(board) for line in r.not_shown]
    return Section(
        "findings-all",
        "All findings",
        "Every test set and translator (and the mean of the "
        "translators), one table per training configuration.",
        tables=tables,
        notes=not_shown,
    )


def figure(board: Board) -> Section | None:
    if not summary_findings(board):
        return None
    return Section(
        "findings-figure",
        "The findings in one figure",
        "The summary's gaps with their 95% CIs, coloured by test-set origin × answer form.",
        figures=[findings_figure(board)],
    )


def both_origins(f: Finding) -> str:
    """' (native questions)' where one benchmark has native and translated test sets (open QA)."""
    if not benchmark_has_both_origins(f.benchmark):
        return ""
    return " (native questions)" if f.origin == "native" else " (translated questions)"


def figure_label(f: Finding) -> str:
    language = "" if f.language == ALL_LANGUAGES else f" {f.language}"
    return f"{f.title or f.benchmark}{both_origins(f)}{language}" + (
        f" · {judge_name(f.judge, f.judge_prompt)}" if f.judge else ""
    )


def findings_figure(board: Board) -> Dots:
    """Gap with its CI per test set, coloured by origin x answer form; one panel per kind of numbers and scale
    (judge ratings apart from percent-scale scores)."""
    panels = []
    groups: list[str] = []
    for kind in ("measured", "reference"):
        rows = [f for f in summary_findings(board) if f.kind == kind]
        config = main_config(rows)
        for rated in (False, True):
            chosen = [f for f in rows if (f.metric.startswith("sum_") or f.metric == "rating") == rated]
            if not chosen:
                continue
            points = []
            for f in chosen:
                group = group_title(f)
                if group not in groups:
                    groups.append(group)
                points.append(Point(figure_label(f), f.gap, f.ci_low, f.ci_high, group))
            sums = any(f.metric.startswith("sum_") for f in chosen)
            axis = (
                ("gap in judge rating" + (" (sum over the questions)" if sums else " (1-5)"))
                if rated
                else "gap in score (percentage points)"
            )
            title = f"{KIND_TITLES[kind]}, {config_title(*config) if config else ''}"
            panels.append(
                DotPanel(title + (": judged test sets" if rated else ""), tuple(points), axis, reference=0.0)
            )
    return Dots(
        "findings_gap",
        "Native-trained minus translated-trained, per test set (95% CI)",
        caption="Gap per test set with its 95% CI; a CI clear of the dashed zero line separates native "
        "from translated training data.",
        panels=tuple(panels),
        groups=tuple(groups),
    )


def records(board: Board) -> list[dict]:
    """leaderboard.json's ``findings``: every finding as data (the issue's fields first)."""
    out = []
    for f in all_findings(board):
        record = f.to_json()
        out.append(
            {
                k: record.get(k)
                for k in (
                    "benchmark",
                    "language",
                    "metric",
                    "lr",
                    "tuning",
                    "judge",
                    "gap",
                    "ci_low",
                    "ci_high",
                    "verdict",
                )
            }
            | record
        )
    return out

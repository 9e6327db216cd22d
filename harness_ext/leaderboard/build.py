"""Leaderboards that expose the native-translated gap: analysis, Markdown, CSV, HTML, JSON, plots."""

from __future__ import annotations

import base64
import csv
import hashlib
import html
import io
import logging
import os
import re
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime, timezone
from importlib import resources
from pathlib import Path
from statistics import mean
from typing import Any

from harness_ext import __version__
from harness_ext.core.errors import InputError, NativevalError
from harness_ext.core.io import atomic_write_json, atomic_write_text
from harness_ext.leaderboard.results import (
    ColumnKey,
    LoadReport,
    ReferenceRow,
    RowKey,
    Run,
    load_reference,
    load_runs,
    percent_scale,
    variant_origin,
)
from harness_ext.leaderboard.stats import bootstrap_mean_ci, holm, pair_items, paired_bootstrap, pearson_r

log = logging.getLogger(__name__)

ALPHA = 0.05
ORIGIN_LABEL = {
    "native": "native",
    "human_translated": "translated (human)",
    "machine_translated": "translated (machine)",
    "translated": "translated",
    "unknown": "provenance unknown",
}


@dataclass
class Entry:
    """A leaderboard row, measured or published."""

    key: RowKey
    kind: str  # "measured" | "reference"
    values: dict[ColumnKey, float]
    items: dict[ColumnKey, dict[str, float]] = field(default_factory=dict)
    cis: dict[ColumnKey, tuple[float, float]] = field(default_factory=dict)
    source: str = ""
    is_toy: bool = False
    model_name: str = ""

    @property
    def label(self) -> str:
        return self.key.label


def entries_from_runs(runs: list[Run], resamples: int, seed: int) -> list[Entry]:
    entries = []
    for run in runs:
        entry = Entry(run.key, "measured", {c: s.value for c, s in run.scores.items()}, source=str(run.path),
                      is_toy=run.is_toy, model_name=run.model_name)
        for column, score in run.scores.items():
            if score.items:
                entry.items[column] = score.items
                entry.cis[column] = bootstrap_mean_ci(list(score.items.values()), resamples, seed=seed)
        entries.append(entry)
    return entries


def entries_from_reference(rows: list[ReferenceRow]) -> list[Entry]:
    return [Entry(r.key, "reference", dict(r.scores), source=r.source) for r in rows]


def ordered_columns(entries: list[Entry]) -> list[ColumnKey]:
    columns = {c for e in entries for c in e.values}
    return sorted(columns, key=lambda c: (not c.is_native, c.benchmark, c.language, c.metric, c.origin))


def group_key(key: RowKey) -> tuple[str, str, str, str]:
    """Rows that differ only in their training-data variant are compared with each other."""
    return key.base_model, key.lr, key.tuning, key.method


def group_label(group: tuple[str, str, str, str]) -> str:
    return " · ".join(p for p in group if p)


def variant_groups(entries: list[Entry]) -> list[tuple[tuple[str, tuple[str, str, str, str]], list[Entry]]]:
    """Rows with a training-data variant, grouped by (kind, group_key), in sorted order."""
    groups: dict[tuple, list[Entry]] = defaultdict(list)
    for entry in entries:
        if entry.key.variant:
            groups[(entry.kind, group_key(entry.key))].append(entry)
    return sorted(groups.items())


def group_fields(kind: str, group: tuple[str, str, str, str]) -> dict[str, Any]:
    """The fields that say which kind and configuration a comparison, verdict or gap record is about."""
    return {"kind": kind, "group": list(group), "base_model": group[0], "lr": group[1], "tuning": group[2],
            "method": group[3]}


# --- analysis -------------------------------------------------------------------------------------------
def comparisons(entries: list[Entry], baseline: str, resamples: int, seed: int) -> list[dict[str, Any]]:
    """Baseline minus every other variant, per group and column; paired bootstrap when items exist."""
    out: list[dict[str, Any]] = []
    for (kind, group), members in variant_groups(entries):
        base = next((e for e in members if e.key.variant == baseline), None)
        if base is None:
            continue
        for other in sorted(members, key=lambda e: e.key.variant):
            if other is base:
                continue
            for column in ordered_columns([base, other]):
                if column not in base.values or column not in other.values:
                    continue
                record: dict[str, Any] = {
                    **group_fields(kind, group), "column": column_dict(column),
                    "baseline": baseline, "variant": other.key.variant,
                    "variant_origin": variant_origin(other.key.variant, baseline),
                    "diff": base.values[column] - other.values[column],
                    "n": None, "ci_low": None, "ci_high": None, "p_value": None, "p_holm": None,
                    "test": None,
                }
                if column in base.items and column in other.items:
                    a, b = pair_items(base.items[column], other.items[column])
                    if a:
                        result = paired_bootstrap(a, b, resamples=resamples, seed=seed)
                        record.update(n=result.n, ci_low=result.ci_low, ci_high=result.ci_high,
                                      p_value=result.p_value, test=result.method, paired_diff=result.diff)
                out.append(record)
    apply_holm(out)
    return out


def apply_holm(records: list[dict[str, Any]]) -> None:
    """Holm over every tested comparison of one base-model configuration (its family of benchmarks)."""
    families: dict[tuple, list[dict]] = defaultdict(list)
    for rec in records:
        if rec["p_value"] is not None:
            families[(rec["kind"], tuple(rec["group"]))].append(rec)
    for family in families.values():
        for rec, adjusted in zip(family, holm([r["p_value"] for r in family]), strict=True):
            rec["p_holm"] = adjusted
            rec["family_size"] = len(family)


def column_dict(column: ColumnKey) -> dict[str, str]:
    return {"benchmark": column.benchmark, "language": column.language, "metric": column.metric,
            "origin": column.origin, "provenance": column.provenance, "display": column.display}


def column_id(column: dict[str, str] | ColumnKey) -> tuple:
    if isinstance(column, ColumnKey):
        return column.benchmark, column.language, column.metric
    return column["benchmark"], column["language"], column["metric"]


def verdicts(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Per group and column: does this benchmark tell native from translated training data?"""
    cells: dict[tuple, list[dict]] = defaultdict(list)
    for rec in records:
        if rec["variant_origin"] == "translated":
            cells[(rec["kind"], tuple(rec["group"]), column_id(rec["column"]))].append(rec)
    out = []
    for (kind, group, _), recs in sorted(cells.items()):
        tested = all(r["p_holm"] is not None for r in recs)
        if tested:
            significant = [r for r in recs if r["p_holm"] < ALPHA]
            if len(significant) == len(recs) and all(r["diff"] > 0 for r in recs):
                verdict = "native better (significant)"
            elif len(significant) == len(recs) and all(r["diff"] < 0 for r in recs):
                verdict = "translated better (significant)"
            else:
                verdict = "not distinguished"
        else:
            verdict = ("native higher (untested)" if all(r["diff"] > 0 for r in recs)
                       else "translated higher (untested)" if all(r["diff"] < 0 for r in recs) else "mixed (untested)")
        out.append({**group_fields(kind, group), "column": recs[0]["column"],
                    "variants": [r["variant"] for r in recs], "verdict": verdict, "tested": tested})
    return out


def native_gaps(entries: list[Entry], baseline: str) -> list[dict[str, Any]]:
    """ΔS = S_native − mean of the translated variants, per group and column (the paper's Fig. 4)."""
    out = []
    for (kind, group), members in variant_groups(entries):
        base = next((e for e in members if e.key.variant == baseline), None)
        translated = [e for e in members if variant_origin(e.key.variant, baseline) == "translated"]
        if base is None or not translated:
            continue
        for column in ordered_columns(members):
            scores = [e.values[column] for e in translated if column in e.values]
            if column not in base.values or not scores:
                continue
            out.append({**group_fields(kind, group), "column": column_dict(column),
                        "native_score": base.values[column], "translated_mean": mean(scores),
                        "translated_variants": sorted(e.key.variant for e in translated if column in e.values),
                        "gap": base.values[column] - mean(scores)})
    return out


def gap_correlations(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Pearson r between S_native and ΔS across base models, per column and training configuration."""
    series: dict[tuple, list[dict]] = defaultdict(list)
    for gap in gaps:
        series[(gap["kind"], column_id(gap["column"]), gap["lr"], gap["tuning"], gap["method"])].append(gap)
    out = []
    for (kind, _, lr, tuning, method), points in sorted(series.items()):
        x = [p["native_score"] for p in points]
        y = [p["gap"] for p in points]
        out.append({"kind": kind, "column": points[0]["column"], "lr": lr, "tuning": tuning, "method": method,
                    "n": len(points), "pearson_r": pearson_r(x, y),
                    "base_models": [p["base_model"] for p in points],
                    "all_gaps_positive": all(v > 0 for v in y)})
    return out


def origin_table(gaps: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The 2x2 of training-data origin x test-set origin: mean scores, per kind and configuration."""
    cells: dict[tuple, dict[str, list[float]]] = defaultdict(lambda: defaultdict(list))
    for gap in gaps:
        test_origin = gap["column"]["provenance"]
        if test_origin == "unknown" or percent_scale(gap["column"]["metric"]) != 100.0:
            continue
        bucket = cells[(gap["kind"], gap["lr"], gap["tuning"], gap["method"])]
        bucket[f"native_train|{test_origin}_test"].append(gap["native_score"])
        bucket[f"translated_train|{test_origin}_test"].append(gap["translated_mean"])
        bucket[f"gap|{test_origin}_test"].append(gap["gap"])
    out = []
    for (kind, lr, tuning, method), bucket in sorted(cells.items()):
        table = {k: {"mean": mean(v), "n": len(v)} for k, v in sorted(bucket.items())}
        out.append({"kind": kind, "lr": lr, "tuning": tuning, "method": method, "cells": table,
                    "note": "means over base models and percent-scale benchmarks where both training origins "
                            "were scored (ratings left out: another scale)"})
    return out


def benchmarks_with_positive_gap(gaps: list[dict[str, Any]], lr: str, tuning: str, kind: str = "reference"):
    """{benchmark: True when every base model has ΔS > 0} for one training configuration."""
    per_benchmark: dict[str, list[float]] = defaultdict(list)
    for gap in gaps:
        if gap["kind"] == kind and gap["lr"] == lr and gap["tuning"] == tuning:
            per_benchmark[gap["column"]["benchmark"]].append(gap["gap"])
    return {b: all(g > 0 for g in values) for b, values in sorted(per_benchmark.items())}


@dataclass
class Leaderboard:
    title: str
    baseline: str
    entries: list[Entry]
    columns: list[ColumnKey]
    comparisons: list[dict[str, Any]]
    verdicts: list[dict[str, Any]]
    gaps: list[dict[str, Any]]
    correlations: list[dict[str, Any]]
    origin_2x2: list[dict[str, Any]]
    warnings: list[str]
    superseded: list[str]
    resamples: int
    seed: int

    @property
    def has_toy(self) -> bool:
        return any(e.is_toy for e in self.entries)

    def to_json(self) -> dict[str, Any]:
        rows = []
        for entry in self.entries:
            rows.append({
                "label": entry.label, "kind": entry.kind, "base_model": entry.key.base_model,
                "variant": entry.key.variant, "lr": entry.key.lr, "tuning": entry.key.tuning,
                "method": entry.key.method, "model_name": entry.model_name, "source": entry.source,
                "toy": entry.is_toy,
                "scores": [{"column": column_dict(c), "value": v,
                            "ci_low": entry.cis[c][0] if c in entry.cis else None,
                            "ci_high": entry.cis[c][1] if c in entry.cis else None,
                            "n": len(entry.items[c]) if c in entry.items else None}
                           for c, v in entry.values.items()],
            })
        return {
            "kind": "nativeval_leaderboard", "schema_version": 1, "nativeval_version": __version__,
            "title": self.title, "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "baseline": self.baseline, "toy_data": self.has_toy,
            "statistics": {"resamples": self.resamples, "seed": self.seed, "alpha": ALPHA,
                           "confidence": 0.95, "multiple_testing": "Holm over each base-model configuration's "
                           "comparisons (all benchmarks x languages x variants)",
                           "scale": "acc, exact_match, f1 and include in percent; ratings as reported"},
            "columns": [column_dict(c) for c in self.columns], "rows": rows,
            "comparisons": self.comparisons, "verdicts": self.verdicts, "gaps": self.gaps,
            "gap_correlations": self.correlations, "origin_2x2": self.origin_2x2,
            "warnings": self.warnings, "duplicates": self.superseded,
        }


def build_leaderboard(
    results: list[str | Path],
    reference: str | None = None,
    baseline: str = "native",
    resamples: int = 10_000,
    seed: int = 0,
    title: str = "nativeval leaderboard",
) -> Leaderboard:
    report: LoadReport = load_runs(results) if results else LoadReport([], [], [])
    if resamples < 100:
        raise InputError(f"--bootstrap {resamples}: use at least 100 resamples (10000 recommended)")
    entries = entries_from_runs(report.runs, resamples, seed)
    if reference:
        entries += entries_from_reference(load_reference(reference))
    if not entries:
        skipped = f" ({len(report.warnings)} file(s) skipped: {report.warnings[0]})" if report.warnings else ""
        where = ", ".join(map(str, results)) or "(no directories given)"
        raise InputError(f"no lm-eval results found in {where}{skipped}; "
                         "pass directories written by lm_eval --output_path")
    comps = comparisons(entries, baseline, resamples, seed)
    gaps = native_gaps(entries, baseline)
    return Leaderboard(title, baseline, entries, ordered_columns(entries), comps, verdicts(comps), gaps,
                       gap_correlations(gaps), origin_table(gaps), report.warnings, report.superseded,
                       resamples, seed)


# --- rendering ------------------------------------------------------------------------------------------
def fmt(value: float | None, digits: int = 1) -> str:
    return "" if value is None else f"{value:.{digits}f}"


def fmt_ci(ci: tuple[float, float] | None) -> str:
    return "n/a" if ci is None else f"[{ci[0]:.1f}, {ci[1]:.1f}]"


def md_escape(text: str) -> str:
    """Markdown renderers pass raw HTML through: escape it, and the table's pipe."""
    return html.escape(str(text), quote=False).replace("|", "\\|").replace("\n", " ")


def csv_safe(text: str) -> str:
    """Keep spreadsheet programs from evaluating input-derived strings as formulas."""
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def md_row(cells: list[Any]) -> str:
    return "| " + " | ".join(md_escape(c) for c in cells) + " |\n"


def render_markdown(board: Leaderboard) -> str:
    out = io.StringIO()
    out.write(f"# {md_escape(board.title)}\n\n")
    if board.has_toy:
        out.write("> **Toy/demo data:** some rows come from a random-init toy model; their scores are noise.\n\n")
    header = ["model", "variant", "lr", "tuning", "method", "kind"] + [
        f"{c.display} ({ORIGIN_LABEL.get(c.origin, c.origin)}, {c.metric})" for c in board.columns]
    out.write(md_row(header))
    out.write("|" + "---|" * len(header) + "\n")
    for entry in board.entries:
        kind = "reference: " + entry.source if entry.kind == "reference" else ("toy" if entry.is_toy else "measured")
        cells = [entry.key.base_model, entry.key.variant, entry.key.lr, entry.key.tuning, entry.key.method, kind]
        for column in board.columns:
            value = entry.values.get(column)
            ci = entry.cis.get(column)
            cells.append("" if value is None else fmt(value) + (f" {fmt_ci(ci)}" if ci else ""))
        out.write(md_row(cells))
    out.write("\nCells: score, then its 95% bootstrap CI over test items when samples were logged "
              "(blank: not evaluated).\n")
    tested = [c for c in board.comparisons if c["kind"] == "measured"]
    if tested:
        out.write(f"\n## {md_escape(board.baseline)} minus each variant (paired bootstrap over the same items)\n\n")
        out.write("| model | benchmark | variant | Δ | 95% CI | n | p | p (Holm) |\n|---|---|---|---|---|---|---|---|\n")
        for c in tested:
            ci = (c["ci_low"], c["ci_high"]) if c["ci_low"] is not None else None
            cells = [group_label(tuple(c["group"])), c["column"]["display"], c["variant"], fmt(c["diff"], 2),
                     fmt_ci(ci), c["n"] or "n/a", fmt(c["p_value"], 4) or "n/a", fmt(c["p_holm"], 4) or "n/a"]
            out.write(md_row(cells))
        out.write("\np-values: sign-flip randomization test; Holm-adjusted within each base-model configuration.\n")
    if board.verdicts:
        out.write("\n## Which benchmarks tell native from translated training data\n\n")
        out.write("| kind | model | benchmark | verdict |\n|---|---|---|---|\n")
        for v in board.verdicts:
            cells = [v["kind"], group_label(tuple(v["group"])), v["column"]["display"], v["verdict"]]
            out.write(md_row(cells))
    if board.correlations:
        out.write("\n## Gap vs native score (ΔS = S_native − mean of translated variants)\n\n")
        out.write("| kind | benchmark | lr | tuning | n | Pearson r | all gaps > 0 |\n|---|---|---|---|---|---|---|\n")
        for r in board.correlations:
            cells = [r["kind"], r["column"]["display"], r["lr"], r["tuning"], r["n"],
                     fmt(r["pearson_r"], 2) or "n/a", "yes" if r["all_gaps_positive"] else "no"]
            out.write(md_row(cells))
    notes = board.warnings + board.superseded
    if notes:
        out.write("\n## Notes\n\n" + "".join(f"- {md_escape(n)}\n" for n in notes))
    return out.getvalue()


def render_csv(board: Leaderboard) -> str:
    out = io.StringIO()
    writer = csv.writer(out)
    header = ["kind", "source", "toy", "base_model", "variant", "lr", "tuning", "method"]
    for c in board.columns:
        name = f"{c.benchmark}|{c.language}|{c.metric}|{c.provenance}"
        header += [name, f"{name}|ci_low", f"{name}|ci_high", f"{name}|n"]
    writer.writerow(header)
    for entry in board.entries:
        row = [entry.kind, entry.source, "yes" if entry.is_toy else "", entry.key.base_model, entry.key.variant,
               entry.key.lr, entry.key.tuning, entry.key.method]
        row = [csv_safe(str(x)) for x in row]
        for column in board.columns:
            value = entry.values.get(column)
            ci = entry.cis.get(column)
            n = len(entry.items[column]) if column in entry.items else None
            row += [fmt(value, 4), fmt(ci[0], 4) if ci else "", fmt(ci[1], 4) if ci else "",
                    "" if n is None else str(n)]
        writer.writerow(row)
    return out.getvalue()


def esc(value: Any) -> str:
    return html.escape("" if value is None else str(value), quote=True)


def render_html(board: Leaderboard, plot_images: dict[str, str]) -> str:
    template = resources.files("harness_ext.leaderboard").joinpath("templates", "leaderboard.html").read_text(encoding="utf-8")
    head = ['<th data-type="text">model</th>', '<th data-type="text">variant</th>', '<th data-type="text">lr</th>',
            '<th data-type="text">tuning</th>', '<th data-type="text">kind</th>']
    for c in board.columns:
        cls = "native" if c.is_native else ("translated" if c.provenance == "translated" else "unknown")
        head.append(f'<th class="col-{cls}" data-type="number" title="{esc(c.metric)}">{esc(c.display)}'
                    f'<br><span class="prov">{esc(ORIGIN_LABEL.get(c.origin, c.origin))}</span>'
                    f'<br><span class="metric">{esc(c.metric)}</span></th>')
    body = []
    for entry in board.entries:
        classes = [entry.kind] + (["toy"] if entry.is_toy else [])
        kind = (f'<span class="badge ref">reference</span> {esc(entry.source)}' if entry.kind == "reference"
                else '<span class="badge toy">toy</span>' if entry.is_toy else "measured")
        cells = [f'<td data-sort="{esc(entry.key.base_model)}">{esc(entry.key.base_model)}</td>',
                 f'<td data-sort="{esc(entry.key.variant)}">{esc(entry.key.variant)}</td>',
                 f'<td data-sort="{esc(entry.key.lr)}">{esc(entry.key.lr)}</td>',
                 f'<td data-sort="{esc(entry.key.tuning)}">{esc(entry.key.tuning)}</td>',
                 f'<td data-sort="{esc(entry.kind)}">{kind}</td>']
        for column in board.columns:
            cls = "native" if column.is_native else "translated"
            value = entry.values.get(column)
            if value is None:
                cells.append(f'<td class="col-{cls} blank" data-sort=""></td>')
                continue
            ci = entry.cis.get(column)
            ci_text = f'<span class="ci">{esc(fmt_ci(ci))}</span>' if entry.kind == "measured" else ""
            cells.append(f'<td class="col-{cls}" data-sort="{value:.6f}">{esc(fmt(value))}{ci_text}</td>')
        body.append(f'<tr class="{" ".join(classes)}">' + "".join(cells) + "</tr>")
    sections = [render_comparisons_html(board), render_verdicts_html(board), render_correlations_html(board),
                render_2x2_html(board)]
    plots = "".join(f'<figure><img alt="{esc(name)}" src="data:image/png;base64,{data}"><figcaption>'
                    f"{esc(name)}</figcaption></figure>" for name, data in plot_images.items())
    notes = "".join(f"<li>{esc(n)}</li>" for n in board.warnings + board.superseded)
    toy = ('<p class="toy-banner" id="toy-banner">Toy/demo data: some rows come from a random-init toy model; '
           "their scores are noise and show only that the pipeline works.</p>") if board.has_toy else ""
    replacements = {
        "{{TITLE}}": esc(board.title), "{{TOY_BANNER}}": toy, "{{HEAD}}": "".join(head),
        "{{BODY}}": "\n".join(body), "{{SECTIONS}}": "".join(sections), "{{PLOTS}}": plots,
        "{{NOTES}}": f"<h2>Notes</h2><ul>{notes}</ul>" if notes else "",
        "{{FOOTER}}": esc(f"nativeval {__version__}; bootstrap resamples {board.resamples}, seed {board.seed}; "
                          f"baseline variant '{board.baseline}'."),
    }
    script = template.split("<script>", 1)[1].split("</script>", 1)[0]
    replacements["{{SCRIPT_HASH}}"] = "sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    return re.sub(r"\{\{[A-Z_]+\}\}", lambda m: replacements[m.group(0)], template)  # one pass: inputs stay inert


def _table(headers: list[str], rows: list[list[str]], cls: str) -> str:
    head = "".join(f'<th data-type="{"number" if i >= 2 else "text"}">{esc(h)}</th>' for i, h in enumerate(headers))
    body = "".join("<tr>" + "".join(f'<td data-sort="{esc(c)}">{esc(c)}</td>' for c in row) + "</tr>" for row in rows)
    return f'<table class="sortable {cls}"><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>'


def render_comparisons_html(board: Leaderboard) -> str:
    rows = []
    for c in board.comparisons:
        ci = (c["ci_low"], c["ci_high"]) if c["ci_low"] is not None else None
        rows.append([group_label(tuple(c["group"])), c["column"]["display"], c["variant"], fmt(c["diff"], 2),
                     fmt_ci(ci), str(c["n"] or "n/a"), fmt(c["p_value"], 4) or "n/a", fmt(c["p_holm"], 4) or "n/a",
                     c["kind"]])
    if not rows:
        return ""
    return (f"<h2>{esc(board.baseline)} minus each variant</h2><p>Paired bootstrap 95% CI over the same test "
            "items; sign-flip randomization p-value; Holm-adjusted within each base-model configuration. "
            "Reference rows have no items: CI and p are n/a.</p>"
            + _table(["model", "benchmark", "variant", "Δ", "95% CI", "n", "p", "p (Holm)", "kind"], rows, "comparisons"))


def render_verdicts_html(board: Leaderboard) -> str:
    rows = [[v["kind"], group_label(tuple(v["group"])), v["column"]["display"], v["verdict"]] for v in board.verdicts]
    if not rows:
        return ""
    return "<h2>Which benchmarks tell native from translated training data</h2>" + _table(
        ["kind", "model", "benchmark", "verdict"], rows, "verdicts")


def render_correlations_html(board: Leaderboard) -> str:
    rows = [[r["kind"], r["column"]["display"], r["lr"], r["tuning"], str(r["n"]), fmt(r["pearson_r"], 2) or "n/a",
             "yes" if r["all_gaps_positive"] else "no"] for r in board.correlations]
    if not rows:
        return ""
    return ("<h2>Gap vs native score</h2><p>ΔS = S<sub>native</sub> − mean of the translated variants; Pearson r "
            "across base models.</p>" + _table(["kind", "benchmark", "lr", "tuning", "n", "Pearson r",
                                                 "all gaps > 0"], rows, "correlations"))


def render_2x2_html(board: Leaderboard) -> str:
    parts = []
    for t in board.origin_2x2:
        cells = t["cells"]

        def cell(name: str, cells: dict = cells) -> str:
            return fmt(cells[name]["mean"]) if name in cells else ""

        rows = [["native", cell("native_train|native_test"), cell("native_train|translated_test")],
                ["translated", cell("translated_train|native_test"), cell("translated_train|translated_test")],
                ["gap (native − translated)", cell("gap|native_test"), cell("gap|translated_test")]]
        caption = f"{t['kind']} · lr {t['lr'] or '?'} · {t['tuning'] or '?'}"
        parts.append(f"<h3>{esc(caption)}</h3>" + _table(["training data", "native test sets", "translated test sets"],
                                                          rows, "origin2x2"))
    if not parts:
        return ""
    return "<h2>Training-data origin × test-set origin</h2>" + "".join(parts)


# --- output ---------------------------------------------------------------------------------------------
def write_site(board: Leaderboard, out_dir: str | Path, make_plots: bool = True) -> list[Path]:
    """Write every output into ``out_dir``; each file is replaced atomically."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    images: dict[str, str] = {}
    if make_plots:
        from harness_ext.leaderboard.plots import write_plots

        plot_files, images = write_plots(board, out / "plots")
        written += plot_files
    for name, text in (("leaderboard.md", render_markdown(board)), ("leaderboard.csv", render_csv(board)),
                       ("index.html", render_html(board, images))):
        atomic_write_text(out / name, text)
        written.append(out / name)
    atomic_write_json(out / "leaderboard.json", board.to_json())
    written.append(out / "leaderboard.json")
    return written


def push_to_hub(out_dir: str | Path, repo_id: str) -> str:
    """Upload the site folder to a Hugging Face dataset repo (needs huggingface_hub, a token, and internet)."""
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise NativevalError("--push-to-hub needs huggingface_hub: pip install huggingface_hub") from None
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise NativevalError("--push-to-hub: HF_HUB_OFFLINE is set; unset it on a machine with internet access")
    try:
        api = HfApi()
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        info = api.upload_folder(folder_path=str(out_dir), repo_id=repo_id, repo_type="dataset",
                                 commit_message="nativeval leaderboard")
    except Exception as err:  # network, auth and Hub errors all end the same way for the user
        raise NativevalError(f"--push-to-hub {repo_id}: upload failed ({type(err).__name__}: "
                             f"{str(err).splitlines()[0] if str(err) else 'no detail'})") from None
    return str(getattr(info, "commit_url", info))


def run_leaderboard(results: list[str], out_dir: str, reference: str | None, baseline: str, resamples: int,
                    seed: int, title: str, output_format: str, push_repo: str | None) -> Leaderboard:
    """What ``cli.py leaderboard`` does; nothing in ``out_dir`` is touched before the inputs are read."""
    board = build_leaderboard(results, reference, baseline, resamples, seed, title)
    if output_format == "json":
        atomic_write_json(Path(out_dir) / "leaderboard.json", board.to_json())
    else:
        write_site(board, out_dir)
    if push_repo:
        push_to_hub(out_dir, push_repo)
    return board


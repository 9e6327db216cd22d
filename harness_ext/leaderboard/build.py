"""`nativeval leaderboard`: read results, compute the analyses, render every section to every format.

Flow: ``results.load_runs`` (catalogue-driven columns, labels, duplicates) -> :class:`analyses.Leaderboard`
(entries, shared-resample statistics per test set) -> ``analyses.SECTIONS`` (each a function returning a
``tables.Section``) -> ``render`` (Markdown, CSV per table, JSON, HTML) and ``plots``.
"""

from __future__ import annotations

import contextlib
import os
from datetime import datetime, timezone
from pathlib import Path

from harness_ext import __version__
from harness_ext.core.errors import InputError, NativevalError
from harness_ext.core.io import atomic_write_json, atomic_write_text
from harness_ext.leaderboard import analyses
from harness_ext.leaderboard.analyses import (
    Entry,
    Leaderboard,
    SectionFunction,
    add_cross_language_averages,
    column_stats,
    entries_from_reference,
    entries_from_runs,
    ordered_columns,
)
from harness_ext.leaderboard.render import render_csv, render_html, render_json, render_markdown
from harness_ext.leaderboard.results import LoadReport, load_reference, load_runs, task_column
from harness_ext.leaderboard.tables import Page, Section

MIN_RESAMPLES = 100


def build_leaderboard(
    results: list[str | Path],
    reference: str | None = None,
    baseline: str = "native",
    resamples: int = 10_000,
    seed: int = 0,
    title: str = "nativeval leaderboard",
    baseline_model: str | None = None,
    judge_labels: dict[str, str] | None = None,
) -> Leaderboard:
    """Read and analyse; raises InputError (exit 2) when there is nothing to show or an option is wrong."""
    if resamples < MIN_RESAMPLES:
        raise InputError(f"--bootstrap {resamples}: use at least {MIN_RESAMPLES} resamples (10000 recommended)")
    report: LoadReport = load_runs(results) if results else LoadReport([], [], [])
    # rows in a fixed order (not the order the runs happened to finish in): model, the baseline variant first
    entries = sorted(entries_from_runs(report.runs), key=lambda e: (
        e.key.base_model, e.key.variant != baseline, e.key.variant, e.key.lr, e.key.tuning, e.key.method))
    if reference:
        entries += entries_from_reference(load_reference(reference))
    if not entries:
        skipped = f" ({len(report.warnings)} file(s) skipped: {report.warnings[0]})" if report.warnings else ""
        where = ", ".join(map(str, results)) or "(no directories given)"
        raise InputError(f"no lm-eval results found in {where}{skipped}; "
                         "pass directories written by lm_eval --output_path")
    labels = sorted({e.label for e in entries})
    if baseline_model is not None and baseline_model not in labels:
        raise InputError(f"--baseline {baseline_model}: no such model; the rows are {', '.join(labels[:12])}"
                         + (" ..." if len(labels) > 12 else ""))
    columns = ordered_columns(entries)
    board_stats = {}
    for column in columns:
        col = column_stats(column, entries, resamples, seed)
        if col is not None:
            board_stats[column] = col
    averages = {(c.benchmark, c.metric, c.origin) for e in entries if e.kind == "reference"
                for c in e.values if c.language == "avg"}
    notes = add_cross_language_averages(entries, board_stats, averages, resamples) if averages else []
    notes += missing_sources(entries)
    return Leaderboard(title, baseline, entries, ordered_columns(entries), board_stats, report.warnings,
                       report.superseded, report.missing_headline, resamples, seed, reference, baseline_model,
                       notes, inputs=[Path(p) for p in results], judge_labels=dict(judge_labels or {}))


def missing_sources(entries: list[Entry]) -> list[str]:
    """A user-made test set whose source test set its row did not run: shown on its own, said once per pair."""
    notes = []
    for entry in entries:
        present = {c.slug for c in entry.values}
        for column, source in sorted(entry.sources.items()):
            if task_column(source, None).key().slug not in present:
                notes.append(f"{entry.label}: {column.display} ({column.task}) is shown on its own: its source test "
                             f"set {source} was not evaluated for this row (no translationese comparison)")
    return notes


def banners(board: Leaderboard) -> list[str]:
    out = []
    if board.has_toy:
        out.append("Toy/demo data: some rows come from a random-init toy model; their scores are noise and show "
                   "only that the pipeline works.")
    limited = [e.label for e in board.measured if e.limit is not None]
    if limited:
        out.append(f"Runs made with lm-eval --limit ({', '.join(limited)}): lm-eval warns that such metrics are "
                   "not real; item counts are beside every score.")
    if any(e.kind == "reference" for e in board.entries):
        out.append("Rows of kind 'reference' are published numbers (see 'Reference rows'), not measured here.")
    return out


def make_page(board: Leaderboard, extra_sections: list[SectionFunction] | None = None) -> Page:
    sections: list[Section] = []
    for function in analyses.SECTIONS + list(extra_sections or []):
        section = function(board)
        if section is not None and not section.empty:
            sections.append(section)
    footer = (f"nativeval {__version__}; {board.resamples} bootstrap resamples, seed {board.seed}; 95% intervals; "
              f"Holm within a test set; baseline variant '{board.baseline}'.")
    meta = {"kind": "nativeval_leaderboard", "schema_version": 2, "nativeval_version": __version__,
            "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"), "toy_data": board.has_toy,
            "statistics": {"resamples": board.resamples, "seed": board.seed, "alpha": analyses.ALPHA,
                           "confidence": 0.95, "multiple_testing": "Holm within each test set (pairwise) and "
                           "within each base-model configuration (variants)"}}
    return Page(board.title, banners(board), sections, footer, meta)


def write_site(board: Leaderboard, out_dir: str | Path, make_plots: bool = True,
               extra_sections: list[SectionFunction] | None = None) -> list[Path]:
    """Every output into ``out_dir`` (each file replaced atomically): md, html, json, a CSV per table, plots."""
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    parallel = contextlib.nullcontext()
    if make_plots:
        from harness_ext.leaderboard.plots import rendering_in_parallel

        board.plot_dir = out / "plots"
        board.plot_dir.mkdir(exist_ok=True)
        parallel = rendering_in_parallel()
    try:
        with parallel:
            page = make_page(board, extra_sections)
    finally:
        board.plot_dir = None
    written = [f for s in page.sections for p in s.plots for f in p.files]
    outputs = {"leaderboard.md": render_markdown(page), "index.html": render_html(page)}
    for section in page.sections:
        for table in section.tables:
            name = "leaderboard.csv" if table.id == "leaderboard" else f"tables/{table.id}.csv"
            outputs[name] = render_csv(table)
    for name, text in outputs.items():
        (out / name).parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out / name, text)
        written.append(out / name)
    atomic_write_json(out / "leaderboard.json", render_json(page))
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
                    seed: int, title: str, output_format: str, push_repo: str | None,
                    baseline_model: str | None = None, judge_labels: dict[str, str] | None = None) -> Leaderboard:
    """What ``cli.py leaderboard`` does; nothing in ``out_dir`` is touched before the inputs are read."""
    board = build_leaderboard(results, reference, baseline, resamples, seed, title, baseline_model, judge_labels)
    if output_format == "json":
        Path(out_dir).mkdir(parents=True, exist_ok=True)
        atomic_write_json(Path(out_dir) / "leaderboard.json", render_json(make_page(board)))
    else:
        write_site(board, out_dir)
    if push_repo:
        push_to_hub(out_dir, push_repo)
    return board

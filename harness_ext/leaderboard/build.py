"""`nativeval leaderboard`: read once, compute once, lay out the page, render it, swap the site in whole.

Flow: :func:`model.build_board` (results, samples, judge outputs, published numbers -> a typed
:class:`~nativeval.harness_ext.leaderboard.model.Board` with statistics and findings) ->
:data:`sections.SECTIONS` (each returns tables and figure specs) -> :mod:`nativeval.harness_ext.report`
(figures drawn, Markdown, CSV, JSON, HTML).

The site is written into a sibling temporary folder and swapped in with a rename, so a reader (or a push to
the Hub) sees the old site or the new one, never a mix, and nothing stale survives a rebuild.
"""

from __future__ import annotations

import contextlib
import ctypes
import os
import shutil
from datetime import datetime, timezone
from pathlib import Path

from nativeval import __version__
from nativeval.harness_ext.core.errors import InputError, NativevalError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_text
from nativeval.harness_ext.core.paths import inside, safe_segment
from nativeval.harness_ext.core.processes import pid_alive
from nativeval.harness_ext.leaderboard import sections as page_sections
from nativeval.harness_ext.leaderboard.model import ALPHA, Board, LeaderboardOptions, build_board
from nativeval.harness_ext.leaderboard.sections import SectionFunction
from nativeval.harness_ext.leaderboard.sections import findings as findings_section
from nativeval.harness_ext.report.figures import draw_figures
from nativeval.harness_ext.report.render import (
    render_csv,
    render_html,
    render_json,
    render_markdown,
    render_records_csv,
)
from nativeval.harness_ext.report.tables import Page, Section

SITE_FILES = ("index.html", "leaderboard.json", "leaderboard.md")  # what marks a folder as a site of ours
TIDY_FIELDS = [
    "model",
    "variant",
    "lr",
    "tuning",
    "method",
    "kind",
    "benchmark",
    "task",
    "language",
    "origin",
    "metric",
    "judge",
    "value",
    "ci_low",
    "ci_high",
    "n_items",
    "n_clusters",
    "unit",
]


def build_leaderboard(
    results: list[str | Path],
    reference: str | None = None,
    baseline: str = "native",
    resamples: int = 10_000,
    seed: int = 0,
    title: str = "nativeval leaderboard",
    baseline_model: str | None = None,
    judge_labels: dict[str, str] | None = None,
) -> Board:
    """:func:`model.build_board` with keyword options (the library entry point)."""
    return build_board(
        LeaderboardOptions(
            tuple(map(str, results)),
            reference=reference,
            baseline=baseline,
            baseline_model=baseline_model,
            resamples=resamples,
            seed=seed,
            title=title,
            judge_labels=tuple((judge_labels or {}).items()),
        )
    )


def banners(board: Board) -> list[str]:
    out = []
    if board.has_toy:
        out.append(
            "Toy/demo data: some rows come from a random-init toy model; their scores are noise and show "
            "only that the pipeline works."
        )
    limited = [e.label for e in board.measured if e.limit is not None]
    if limited:
        out.append(
            f"Runs made with lm-eval --limit ({', '.join(limited)}): lm-eval warns that such metrics are "
            "not real; item counts are beside every score."
        )
    return out


def page_notes(board: Board) -> list[str]:
    """Everything the reader should know about the inputs, said once, at the page's end."""
    notes = list(board.warnings) + list(board.superseded) + list(board.missing_headline) + list(board.notes)
    no_samples = sorted(
        {f"{e.label}: {c.display}" for e in board.measured for c in e.values if c not in e.items}
    )
    if no_samples:
        notes.append(
            "CI n/a (no per-item samples: run lm_eval with --log_samples) for " + "; ".join(no_samples)
        )
    for entry in board.measured:
        if entry.limit is not None:
            notes.append(
                f"{entry.label}: an lm-eval --limit {entry.limit:g} run; lm-eval warns such metrics are "
                "not real; item counts are beside every score."
            )
    return notes


def tidy_records(board: Board) -> list[dict]:
    """One record per row x test set x metric (measured and published), for the tidy CSV."""
    records = []
    for entry in board.entries:
        for column in board.columns:
            if column not in entry.values:
                continue
            estimate = board.estimate(entry, column)
            records.append(
                {
                    "model": entry.key.base_model,
                    "variant": entry.key.variant,
                    "lr": entry.key.lr,
                    "tuning": entry.key.tuning,
                    "method": entry.key.method,
                    "kind": "published" if entry.is_reference else "measured",
                    "benchmark": column.benchmark,
                    "task": column.task,
                    "language": column.language,
                    "origin": column.origin,
                    "metric": column.metric,
                    "judge": column.judge or entry.judges.get(column, ""),
                    "value": entry.values[column],
                    "ci_low": estimate.ci_low if estimate else None,
                    "ci_high": estimate.ci_high if estimate else None,
                    "n_items": entry.n.get(column),
                    "n_clusters": estimate.n_clusters if estimate else None,
                    "unit": column.unit,
                }
            )
    return records


def make_page(board: Board, extra_sections: list[SectionFunction] | None = None) -> Page:
    sections: list[Section] = []
    for function in page_sections.SECTIONS + list(extra_sections or []):
        section = function(board)
        if section is not None and not section.empty:
            sections.append(section)
    footer = (
        f"nativeval {__version__}; {board.resamples} bootstrap resamples, seed {board.seed}; 95% intervals; "
        f"Holm within a test set; baseline training data '{board.baseline}'."
    )
    meta = {
        "kind": "nativeval_leaderboard",
        "schema_version": 3,
        "nativeval_version": __version__,
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "toy_data": board.has_toy,
        "statistics": {
            "resamples": board.resamples,
            "seed": board.seed,
            "alpha": ALPHA,
            "confidence": 0.95,
            "multiple_testing": "Holm within each test set (pairwise)",
        },
    }
    data = {
        "findings": findings_section.records(board),
        "interactions": [i.to_json() for i in findings_section.all_interactions(board)],
        "claims": [c.to_json() for c in board.claims],
        "cross_language": [r.to_json() for r in board.cross_language],
    }
    return Page(board.title, banners(board), sections, footer, meta, page_notes(board), data)


# --- the site ---------------------------------------------------------------------------------------------
def site_outputs(page: Page, board: Board, folder: Path) -> dict[str, str]:
    """Every text file of the site (figures are drawn beforehand into ``folder/plots``)."""
    details = {s.id: f"details/{safe_segment(s.id)}.md" for s in page.details}
    outputs = {
        "index.html": render_html(page, folder / "plots"),
        "leaderboard.md": render_markdown(page, page.summary, {s.title: details[s.id] for s in page.details}),
        "leaderboard_tidy.csv": render_records_csv(TIDY_FIELDS, tidy_records(board)),
    }
    for section in page.details:
        outputs[details[section.id]] = render_markdown(page, [section], plots_dir="../plots")
    for section in page.sections:
        for table in section.tables:
            name = "leaderboard.csv" if table.id == "leaderboard" else f"tables/{safe_segment(table.id)}.csv"
            outputs[name] = render_csv(table)
    return outputs


def _exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2 RENAME_EXCHANGE); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        return libc.renameat2(-100, os.fsencode(a), -100, os.fsencode(b), 2) == 0
    except (AttributeError, OSError):
        return False


def check_out_dir(out: Path) -> None:
    """Before any work: ``--out`` is a folder we may replace (absent, empty, or a site of ours)."""
    if out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    visible = [p for p in out.iterdir() if not p.name.startswith(".")] if out.is_dir() else []
    if visible and not any(
        (out / name).is_file() for name in SITE_FILES
    ):  # dot files: a study runner's records
        raise InputError(
            f"--out {out}: a non-empty folder that is not a leaderboard site; the site replaces its "
            "folder whole, so choose a new or empty folder"
        )


def write_site(
    board: Board,
    out_dir: str | Path,
    make_plots: bool = True,
    extra_sections: list[SectionFunction] | None = None,
) -> list[Path]:
    """The whole site, built in a sibling temporary folder and swapped in with a rename."""
    out = Path(out_dir).absolute()
    check_out_dir(out)
    page = make_page(board, extra_sections)
    if not make_plots:
        for section in page.sections:
            section.figures = []
    out.parent.mkdir(parents=True, exist_ok=True)
    for stale in out.parent.glob(f".{out.name}.building-*"):  # left by a killed run
        with contextlib.suppress(OSError, ValueError):
            if not pid_alive(int(stale.name.rsplit("-", 1)[1])):
                shutil.rmtree(stale, ignore_errors=True)
    staging = out.parent / f".{out.name}.building-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    try:
        draw_figures([f for s in page.sections for f in s.figures], staging / "plots")
        for name, text in site_outputs(page, board, staging).items():
            atomic_write_text(inside(staging, name, what="site file"), text)
        atomic_write_json(staging / "leaderboard.json", render_json(page))
        written = sorted(p.relative_to(staging) for p in staging.rglob("*") if p.is_file())
        for kept in out.glob(".*") if out.is_dir() else []:  # e.g. the study runner's step record stays
            if kept.is_file() and not kept.is_symlink():
                shutil.copy2(kept, staging / kept.name)
        if not out.exists():
            staging.rename(out)
        elif _exchange(staging, out):
            shutil.rmtree(staging)  # now the old site
        else:
            old = out.parent / f".{out.name}.old-{os.getpid()}"
            out.rename(old)
            staging.rename(out)
            shutil.rmtree(old)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return [out / p for p in written]


def push_to_hub(out_dir: str | Path, repo_id: str) -> str:
    """Upload the site folder to a Hugging Face dataset repo (needs huggingface_hub, a token, and
    internet)."""
    try:
        from huggingface_hub import HfApi
    except ImportError:
        raise NativevalError("--push-to-hub needs huggingface_hub: pip install huggingface_hub") from None
    if os.environ.get("HF_HUB_OFFLINE", "0") not in ("0", "", "false", "False"):
        raise NativevalError(
            "--push-to-hub: HF_HUB_OFFLINE is set; unset it on a machine with internet access"
        )
    try:
        api = HfApi()
        api.create_repo(repo_id, repo_type="dataset", exist_ok=True)
        info = api.upload_folder(
            folder_path=str(out_dir),
            repo_id=repo_id,
            repo_type="dataset",
            commit_message="nativeval leaderboard",
        )
    except Exception as err:  # network, auth and Hub errors all end the same way for the user
        raise NativevalError(
            f"--push-to-hub {repo_id}: upload failed ({type(err).__name__}: "
            f"{str(err).splitlines()[0] if str(err) else 'no detail'})"
        ) from None
    return str(getattr(info, "commit_url", info))


def run_leaderboard(options: LeaderboardOptions) -> Board:
    """What ``nativeval leaderboard`` does; nothing in ``options.out_dir`` is touched before the inputs are
    read."""
    options.check()
    out = Path(options.out_dir)
    if options.output_format == "site":
        check_out_dir(out.absolute())
    elif out.exists() and not out.is_dir():
        raise InputError(f"--out {out}: exists and is not a directory")
    board = build_board(options)
    if options.output_format == "json":
        out.mkdir(parents=True, exist_ok=True)
        atomic_write_json(out / "leaderboard.json", render_json(make_page(board)))
    else:
        write_site(board, out, make_plots=options.plots)
    if options.push_repo:
        push_to_hub(out, options.push_repo)
    return board

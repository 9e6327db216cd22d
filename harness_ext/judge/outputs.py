"""The judge's output files, lm-eval-shaped so that lm-eval's readers and the leaderboard take them.

Single-answer grading writes, per judged run, ``results_judge_<judge>_<date>.json`` (``results[task]
["rating,<judge>"]`` and friends, the task configs with provenance) and
``judgments_<task>_<judge>_<date>.jsonl`` (one row per item). Pairwise grading writes
``results_pairwise_<judge>.json`` and ``judgments_pairwise_<task>_<judge>.jsonl``.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections import Counter
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from nativeval import __version__
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_jsonl
from nativeval.harness_ext.core.paths import inside, safe_segment
from nativeval.harness_ext.core.resilience import CostLedger
from nativeval.harness_ext.judge.config import JudgeConfig, PromptTemplate
from nativeval.harness_ext.judge.lm_eval_outputs import RunOutputs
from nativeval.harness_ext.judge.scoring import PairScore, TaskScore


def _snapshots(scores: Sequence[TaskScore]) -> list[str]:
    found = {
        f"{j.model_snapshot}" + (f"/{j.system_fingerprint}" if j.system_fingerprint else "")
        for s in scores
        for j in s.judgments
        if j.model_snapshot
    }
    return sorted(found)


def results_document(
    run: RunOutputs,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    scores: Sequence[TaskScore],
    ledger: CostLedger | None = None,
    repeats: int = 1,
) -> dict[str, Any]:
    """lm-eval's results shape: ``results[task]["rating,<judge>"]`` and friends, configs with provenance."""
    name = judge.name
    results, configs, versions, n_samples, higher = {}, {}, {}, {}, {}
    for score in scores:
        samples = run.tasks[score.task]
        results[score.task] = {
            "alias": score.task,
            f"rating,{name}": score.mean,
            f"rating_stderr,{name}": score.stderr if score.stderr is not None else "N/A",
            f"sum_rating,{name}": sum(score.ratings),
            f"n,{name}": len(score.ratings),
            f"invalid,{name}": score.invalid,
            "off_language_rate,none": score.off_language_rate,
        }
        configs[score.task] = samples.config or {
            "task": score.task,
            "metadata": {"language": samples.language},
        }
        versions[score.task] = samples.version
        n_samples[score.task] = {"original": score.n_items, "effective": score.n_items - score.not_judged}
        higher[score.task] = {
            "rating": True,
            "sum_rating": True,
            "n": True,
            "invalid": False,
            "off_language_rate": False,
        }
    header = dict(run.results_header)
    header.setdefault("model_name", run.directory.name)
    return {
        "results": results,
        "group_subtasks": {t: [] for t in results},
        "configs": configs,
        "versions": versions,
        "n-shot": {t: 0 for t in results},
        "higher_is_better": higher,
        "n-samples": n_samples,
        **header,
        "judge": {
            **judge.public(),
            "prompt_version": prompt.version,
            "prompt_sha256": prompt.sha256,
            "model_snapshots": _snapshots(scores),
            "repeats": repeats,
            "cost_this_run": ledger.summary() if ledger else None,
        },
        "source_samples": {t: run.tasks[t].path.name for t in results},
        "judged_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "nativeval_version": __version__,
    }


def run_label_of(run: RunOutputs) -> str | None:
    """The ``nativeval.label`` the judged run was given (``eval --label``), kept in the judge's files."""
    section = run.results_header.get("nativeval")
    label = section.get("label") if isinstance(section, dict) else None
    return label if isinstance(label, str) and label.strip() else None


def output_folders(runs: Sequence[RunOutputs], out: Path | None) -> dict[Path, Path]:
    """Each run's output folder: the run's own, or ``out/<run folder name>`` (core.paths' safe segment,
    checked inside ``out``); runs whose folders share a name (``a/model``, ``b/model``) get their path's hash
    added."""
    if out is None:
        return {run.directory: run.directory for run in runs}
    names = {run.directory: safe_segment(run.directory.name, max_length=200) for run in runs}
    shared = Counter(name.casefold() for name in names.values())
    return {
        directory: inside(
            out,
            out
            / (
                f"{name}-{hashlib.sha1(str(directory).encode()).hexdigest()[:8]}"
                if shared[name.casefold()] > 1
                else name
            ),
            what="judge output folder",
        )
        for directory, name in names.items()
    }


def write_single_outputs(
    run: RunOutputs,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    scores: Sequence[TaskScore],
    folder: Path,
    ledger: CostLedger | None,
    partial: str | None = None,
    repeats: int = 1,
) -> Path:
    run_label = run_label_of(run)
    for score in scores:
        samples = run.tasks[score.task]
        rows = [j.row() for j in score.judgments]
        if run_label:
            rows = [{**row, "nativeval": {"label": run_label}} for row in rows]
        rows_name = f"judgments_{safe_segment(score.task)}_{safe_segment(judge.name)}_{samples.date}.jsonl"
        atomic_write_jsonl(folder / rows_name, rows)
    date = max(run.tasks[s.task].date for s in scores)
    path = folder / f"results_judge_{safe_segment(judge.name)}_{date}.json"
    document = results_document(run, judge, prompt, scores, ledger, repeats)
    if partial:  # the same name as the full file, so the rerun that finishes the items replaces it
        document["partial"] = {"reason": partial, "not_judged": {s.task: s.not_judged for s in scores}}
    atomic_write_json(path, document)
    return path


def pairwise_document(
    run_a: RunOutputs,
    run_b: RunOutputs,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    scores: Sequence[PairScore],
    ledger: CostLedger | None,
    partial: str | None = None,
) -> dict[str, Any]:
    name = judge.name
    results = {
        s.task: {
            "alias": s.task,
            f"win_rate_a,{name}": s.win_rate_a,
            f"wins_a,{name}": s.wins_a,
            f"wins_b,{name}": s.wins_b,
            f"ties,{name}": s.ties,
            f"inconsistent,{name}": s.inconsistent,
            f"invalid,{name}": s.invalid,
            f"n,{name}": s.n,
        }
        for s in scores
    }

    def side(run):
        header = {k: run.results_header[k] for k in ("model_name", "config") if k in run.results_header}
        return {"directory": str(run.directory), **header}

    return {
        "results": results,
        "group_subtasks": {t: [] for t in results},
        "configs": {s.task: run_a.tasks[s.task].config or {"task": s.task} for s in scores},
        "higher_is_better": {s.task: {"win_rate_a": True} for s in scores},
        "n-samples": {s.task: {"original": len(s.judgments), "effective": s.n} for s in scores},
        "model_name": f"{side(run_a).get('model_name', run_a.directory.name)} vs "
        f"{side(run_b).get('model_name', run_b.directory.name)}",
        "pairwise": {
            "a": side(run_a),
            "b": side(run_b),
            "both_orders": True,
            "inconsistent_counts_as": "tie",
        },
        "judge": {
            **judge.public(),
            "prompt_version": prompt.version,
            "prompt_sha256": prompt.sha256,
            "cost_this_run": ledger.summary() if ledger else None,
        },
        "judged_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "nativeval_version": __version__,
        **(
            {"partial": {"reason": partial, "not_judged": {s.task: s.not_judged for s in scores}}}
            if partial
            else {}
        ),
    }


def write_pairwise_outputs(
    out: Path,
    run_a: RunOutputs,
    run_b: RunOutputs,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    scores: Sequence[PairScore],
    ledger: CostLedger | None,
    partial: str | None = None,
) -> Path:
    for score in scores:
        rows_name = f"judgments_pairwise_{safe_segment(score.task)}_{safe_segment(judge.name)}.jsonl"
        atomic_write_jsonl(out / rows_name, [j.row() for j in score.judgments])
    path = out / f"results_pairwise_{safe_segment(judge.name)}.json"
    atomic_write_json(path, pairwise_document(run_a, run_b, judge, prompt, scores, ledger, partial))
    return path

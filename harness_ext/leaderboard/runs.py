"""Every results file under the given folders, one :class:`Run` per row.

Rows: ``"nativeval": {"label": NAME}`` in the results JSON (``nativeval eval --label``) names the row;
else the ``nativeval_run.json`` manifest of the ``peft=``/``pretrained=`` directory (base model, variant,
learning rate, tuning, method); else the model reference: a Hub id as it is, local paths by the shortest
path suffix that tells them apart. Runs of one row merge; for a (row, column) in two files the newer wins
and the superseded file is named; ratings of the same answers by another judge join the judges' column.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.leaderboard.columns import ColumnKey
from nativeval.harness_ext.leaderboard.results_files import Run, Score, find_results_files, load_run
from nativeval.harness_ext.report.naming import RowKey, RunName, label_keys


@dataclass
class LoadReport:
    runs: list[Run]
    warnings: list[str]
    superseded: list[str]
    missing_headline: list[str] = field(default_factory=list)


def label_runs(runs: list[Run]) -> None:
    """Default labels unique across all runs (explicit labels and manifest base models win)."""
    for run, key in zip(
        runs,
        label_keys([r.name or RunName(r.key, r.explicit_label, None, None, r.model_name) for r in runs]),
        strict=True,
    ):
        run.key = key


def judges_of(score: Score) -> set[str]:
    return set(score.metric_key.split(",", 1)[1].split("+")) if "," in score.metric_key else set()


def _per_judge(score: Score) -> dict[str, dict[str, float]]:
    judges = sorted(judges_of(score))
    if len(judges) == 1:
        return {judges[0]: dict(score.items or {})}
    parts: dict[str, dict[str, float]] = {j: {} for j in judges}
    for key, value in (score.items or {}).items():
        judge, _, doc = key.partition("|")
        parts.setdefault(judge, {})[doc] = value
    return parts


def combine_judges(old: Score, new: Score) -> Score:
    """Ratings of one row's answers by several judges: every (judge, prompt) an item, the prompt its cluster.

    A judge already in ``old`` is replaced by ``new``'s ratings (its newer run)."""
    parts = {**_per_judge(old), **_per_judge(new)}
    judges = sorted(parts)
    prompts = {**(old.judge_prompts or {}), **(new.judge_prompts or {})} or None
    if not all(parts.values()):  # a judge without per-item ratings: means of the judges' scores only
        values = [old.value, new.value]
        return Score(
            value=sum(values) / len(values),
            n=max(old.n or 0, new.n or 0) or None,
            source=new.source,
            metric_key=f"rating,{'+'.join(judges)}",
            limited=old.limited or new.limited,
            judge_prompts=prompts,
        )
    items = {f"{j}|{doc}": v for j in judges for doc, v in parts[j].items()}
    clusters = {key: key.partition("|")[2] for key in items}
    return Score(
        value=sum(items.values()) / len(items),
        n=len(set(clusters.values())),
        items=items,
        clusters=clusters,
        source=new.source,
        metric_key=f"rating,{'+'.join(judges)}",
        limited=old.limited or new.limited,
        judge_prompts=prompts,
    )


def merge_runs(runs: list[Run]) -> tuple[list[Run], list[str], list[str]]:
    """One Run per row; per column the newest file wins; superseded files and missing headlines noted."""
    merged: dict[RowKey, Run] = {}
    notes: list[str] = []
    missing: dict[tuple[RowKey, ColumnKey], str] = {}
    for run in sorted(runs, key=lambda r: (r.timestamp, str(r.path))):
        for column, note in run.missing_headline.items():
            missing[(run.key, column)] = note
        target = merged.get(run.key)
        if target is None:
            merged[run.key] = Run(
                **{**run.__dict__, "scores": dict(run.scores), "sources": dict(run.sources)}
            )
            continue
        for column, score in run.scores.items():
            previous = target.scores.get(column)
            if previous is not None and column.metric == "rating" and judges_of(score) - judges_of(previous):
                target.scores[column] = combine_judges(previous, score)  # another judge of the same answers
                continue
            if column in target.scores:
                notes.append(
                    f"superseded: {target.scores[column].source} ({run.key.label} / {column.display}); "
                    f"the newer {score.source} is shown"
                )
            target.scores[column] = score
        target.is_toy = target.is_toy or run.is_toy
        target.limit = run.limit if run.limit is not None else target.limit
        target.sources.update(run.sources)
        target.timestamp = run.timestamp
    unresolved = [
        note
        for (row, column), note in sorted(missing.items(), key=lambda kv: kv[1])
        if column not in merged[row].scores
    ]
    return list(merged.values()), notes, unresolved


def load_runs(paths: list[str | Path]) -> LoadReport:
    """Read every results file under ``paths``; files that are not lm-eval results become warnings."""
    runs: list[Run] = []
    warnings: list[str] = []
    for path in find_results_files(paths):
        try:
            runs.append(load_run(path))
        except InputError as err:
            warnings.append(f"skipped {err}")
    label_runs(runs)
    merged, superseded, missing = merge_runs(runs)
    return LoadReport(merged, warnings, superseded, missing)

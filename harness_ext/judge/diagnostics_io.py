"""Judge outputs read into columns for the diagnostics: ``nativeval judge`` (single) and ``--pairwise`` files.

Single-answer grading leaves, per run directory, ``results_judge_<judge>_<date>.json`` (model header, task
configs with provenance) and ``judgments_<task>_<judge>_<date>.jsonl`` (one row per item). Pairwise grading
leaves ``results_pairwise_<judge>.json`` and ``judgments_pairwise_<task>_<judge>.jsonl``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import iter_jsonl, read_json
from nativeval.harness_ext.core.languages import language
from nativeval.harness_ext.core.paths import safe_segment
from nativeval.harness_ext.judge.lm_eval_outputs import provenance_of, task_language
from nativeval.harness_ext.report.naming import RowKey, RunName, label_keys, run_name

NATIVE, TRANSLATED = "native", "translated"


@dataclass(frozen=True)
class TaskInfo:
    task: str
    language: str
    test_set: str  # "native" | "translated"


def task_info(task: str, config: dict[str, Any] | None = None) -> TaskInfo:
    """Language and test set of a task, from its provenance (else from its name)."""
    config = config if isinstance(config, dict) else {}
    provenance = provenance_of(config)
    code = task_language(task, config)
    if not code:
        raise InputError(
            f"task {task}: no language in its provenance or name; judge-report reports per language"
        )
    origin = provenance.get("origin") or (NATIVE if task.startswith("native_") else TRANSLATED)
    return TaskInfo(task, code, NATIVE if origin == NATIVE else TRANSLATED)


def response_length(text: str, unit: str) -> int:
    """Length in the language's unit: non-space characters, or whitespace-separated words."""
    return sum(not c.isspace() for c in text) if unit == "characters" else len(text.split())


class Codes:
    """Stable small-integer codes for labels, in first-seen order."""

    def __init__(self) -> None:
        self.index: dict[Any, int] = {}

    def __call__(self, label: Any) -> int:
        return self.index.setdefault(label, len(self.index))

    @property
    def labels(self) -> list[Any]:
        return list(self.index)


@dataclass
class SingleJudgments:
    """One row per (judge, model, task, doc): columns as arrays, texts as lists (for the disagreement
    table)."""

    judges: list[str]
    models: list[str]
    tasks: list[TaskInfo]
    docs: list[tuple[str, str]]  # (task, doc_id): the same question across models
    judge: np.ndarray
    model: np.ndarray
    task: np.ndarray
    doc: np.ndarray
    item: np.ndarray  # (model, task, doc_id): the same answer across judges
    rating: np.ndarray  # NaN = no valid verdict
    length: np.ndarray
    off_language: np.ndarray  # 1 off-language, 0 on-language, -1 undecided
    repeat_sd: np.ndarray  # within-item SD over repeats, NaN without repeats
    repeat_identical: np.ndarray  # 1.0 when all repeats agree, NaN without repeats
    repeats: np.ndarray
    question: list[str]
    response: list[str]
    explanation: list[str]


@dataclass
class PairJudgments:
    """One row per (judge, task, doc) of a pairwise comparison (both orders asked)."""

    judges: list[str]
    tasks: list[TaskInfo]
    comparisons: list[str]  # "model A vs model B"
    judge: np.ndarray
    task: np.ndarray
    comparison: np.ndarray
    first_slot_wins: np.ndarray  # verdicts (0-2) that chose the answer shown first
    decisive: np.ndarray  # verdicts (0-2) that chose one answer (not a tie, not invalid)
    consistent: np.ndarray  # 1 same winner in both orders, 0 not, NaN when a verdict is invalid


@dataclass
class JudgeInfo:
    name: str
    model: str
    snapshots: list[str] = field(default_factory=list)
    repeats: int = 1
    label: str | None = None
    prompts: list[str] = field(default_factory=list)  # prompt versions its verdicts were made with


def _add_prompt(info: JudgeInfo, meta: dict[str, Any]) -> None:
    if meta.get("prompt_version"):
        info.prompts = sorted({*info.prompts, str(meta["prompt_version"])})


@dataclass
class JudgeOutputs:
    single: SingleJudgments | None
    pairwise: PairJudgments | None
    judges: list[JudgeInfo]
    sources: list[str]


# --- reading -----------------------------------------------------------------------------------------
def _folders(paths: Sequence[str | Path]) -> list[Path]:
    folders: set[Path] = set()
    for raw in paths:
        path = Path(raw)
        if not path.exists():
            raise InputError(f"{path}: no such file or directory")
        if path.is_file():
            raise InputError(f"{path}: give the directories that `nativeval judge` wrote, not a file")
        for found in path.rglob("*.json"):
            if found.name.startswith(("results_judge_", "results_pairwise_")):
                folders.add(found.parent.resolve())
    return sorted(folders)


def _rating(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return np.nan
    return float(value)


def _off_language(value: Any) -> int:
    return -1 if value is None else int(bool(value))


def _repeat_stats(ratings: Any) -> tuple[float, float, int]:
    if not isinstance(ratings, list):
        return np.nan, np.nan, 1
    valid = [float(r) for r in ratings if isinstance(r, (int, float)) and not isinstance(r, bool)]
    if len(valid) < 2:
        return np.nan, np.nan, len(ratings)
    return float(np.std(valid, ddof=1)), float(len(set(valid)) == 1), len(ratings)


class _SingleBuilder:
    def __init__(self) -> None:
        self.judges, self.models, self.tasks, self.docs, self.items = (
            Codes(),
            Codes(),
            Codes(),
            Codes(),
            Codes(),
        )
        self.task_infos: dict[str, TaskInfo] = {}
        self.columns: dict[str, list] = {
            k: []
            for k in (
                "judge",
                "model",
                "task",
                "doc",
                "item",
                "rating",
                "length",
                "off_language",
                "repeat_sd",
                "repeat_identical",
                "repeats",
                "question",
                "response",
                "explanation",
            )
        }

    def add(self, rows: Iterable[dict[str, Any]], model: str, info: TaskInfo, judge: str, where: str) -> None:
        self.task_infos.setdefault(info.task, info)
        unit = language(info.language).length_unit
        j, m, t = self.judges(judge), self.models(model), self.tasks(info.task)
        c = self.columns
        for lineno, row in enumerate(rows, start=1):
            if "doc_id" not in row or not isinstance(row.get("response"), str):
                raise InputError(
                    f"{where}:{lineno}: not a judgments row (needs doc_id and response); "
                    "point judge-report at directories written by `nativeval judge`"
                )
            doc_id = str(row["doc_id"])
            sd, identical, repeats = _repeat_stats(row.get("ratings"))
            c["judge"].append(j)
            c["model"].append(m)
            c["task"].append(t)
            c["doc"].append(self.docs((info.task, doc_id)))
            c["item"].append(self.items((model, info.task, doc_id)))
            c["rating"].append(_rating(row.get("rating")))
            c["length"].append(response_length(row["response"], unit))
            c["off_language"].append(_off_language(row.get("off_language")))
            c["repeat_sd"].append(sd)
            c["repeat_identical"].append(identical)
            c["repeats"].append(repeats)
            c["question"].append(str(row.get("question", "")))
            c["response"].append(row["response"])
            c["explanation"].append(str(row.get("explanation", "")))

    def build(self) -> SingleJudgments | None:
        if not self.columns["judge"]:
            return None
        c = self.columns
        arrays = {
            k: np.asarray(c[k], dtype=np.int64) for k in ("judge", "model", "task", "doc", "item", "repeats")
        }
        arrays.update(
            {
                k: np.asarray(c[k], dtype=np.float64)
                for k in ("rating", "length", "repeat_sd", "repeat_identical")
            }
        )
        keys = arrays["judge"] * len(self.items.index) + arrays["item"]
        _, first, counts = np.unique(keys, return_index=True, return_counts=True)
        if (counts > 1).any():
            row = first[np.argmax(counts > 1)]
            model, task, doc_id = self.items.labels[arrays["item"][row]]
            raise InputError(
                f"judge {self.judges.labels[arrays['judge'][row]]} rated model {model!r} "
                f"on {task} doc {doc_id} "
                "twice (two run directories with one model name?); give each run a distinct "
                "`nativeval eval --label`, or report them separately"
            )
        return SingleJudgments(
            judges=self.judges.labels,
            models=self.models.labels,
            tasks=[self.task_infos[t] for t in self.tasks.labels],
            docs=self.docs.labels,
            off_language=np.asarray(c["off_language"], dtype=np.int8),
            question=c["question"],
            response=c["response"],
            explanation=c["explanation"],
            **arrays,
        )


def single_judgments(
    rows_by_source: Iterable[tuple[str, TaskInfo, str, Iterable[dict[str, Any]], str]],
) -> SingleJudgments | None:
    """Columns from (model, task info, judge, rows, where) groups: the loader's path, and the benchmark's."""
    builder = _SingleBuilder()
    for model, info, judge, rows, where in rows_by_source:
        builder.add(rows, model, info, judge, where)
    return builder.build()


def _newest_judgments(folder: Path) -> dict[tuple[str, str], tuple[Path, list[dict[str, Any]]]]:
    """(task, judge) -> newest single-answer judgments file in ``folder`` and its rows."""
    found: dict[tuple[str, str], tuple[Path, list[dict[str, Any]]]] = {}
    for path in sorted(folder.glob("judgments_*.jsonl"), reverse=True):
        if path.name.startswith("judgments_pairwise_"):
            continue
        rows = list(iter_jsonl(path))
        if not rows:
            continue
        for lineno, row in enumerate(rows, start=1):
            if not isinstance(row, dict):
                raise InputError(
                    f"{path}:{lineno}: not a judgments row (a {type(row).__name__}, not an object); "
                    "point judge-report at directories written by `nativeval judge`"
                )
        key = (str(rows[0].get("task", "")), str(rows[0].get("judge", "")))
        found.setdefault(key, (path, rows))  # reverse name order: the newest date first
    return found


def _first_slot(row: dict[str, Any]) -> tuple[int, int, float]:
    """(verdicts choosing the first-shown answer, decisive verdicts, consistent) of one pairwise row."""
    a_first, b_first = row.get("a_first"), row.get("b_first")
    first = int(a_first == "a") + int(b_first == "b")
    decisive = int(a_first in ("a", "b")) + int(b_first in ("a", "b"))
    consistent = np.nan if a_first is None or b_first is None else float(a_first == b_first)
    return first, decisive, consistent


def load_judge_outputs(paths: Sequence[str | Path], labels: dict[str, str] | None = None) -> JudgeOutputs:
    """Everything ``nativeval judge`` wrote under ``paths``; a one-line InputError when there is nothing."""
    folders = _folders(paths)
    single_groups: list[tuple[RunName, TaskInfo, str, list[dict[str, Any]], str]] = []
    judges: dict[str, JudgeInfo] = {}
    pair_columns: dict[str, list] = {
        k: [] for k in ("judge", "task", "comparison", "first", "decisive", "consistent")
    }
    pair_judges, pair_tasks, comparisons = Codes(), Codes(), Codes()
    pair_infos: dict[str, TaskInfo] = {}
    sources: list[str] = []
    raw_models: list[RunName] = []
    for folder in folders:
        configs: dict[str, dict] = {}
        model = RunName(RowKey(folder.name), False, None, None, folder.name)
        for path in sorted(folder.glob("results_judge_*.json")):
            doc = read_json(path)
            if not isinstance(doc, dict) or not isinstance(doc.get("judge"), dict):
                raise InputError(f"{path}: not a `nativeval judge` results file (no judge section)")
            if not isinstance(doc.get("configs") or {}, dict):
                raise InputError(
                    f"{path}: `configs` is not an object; rerun `nativeval judge` to rewrite the file"
                )
            configs.update(doc.get("configs") or {})
            model = run_name(doc, folder)  # the one rule that names a model (the leaderboard's rows too)
            meta = doc["judge"]
            name = str(meta.get("name", "?"))
            info = judges.setdefault(name, JudgeInfo(name, str(meta.get("model", "?"))))
            snapshots = meta.get("model_snapshots")
            info.snapshots = sorted(
                set(info.snapshots) | {str(s) for s in snapshots or [] if isinstance(snapshots, list)}
            )
            repeats = meta.get("repeats")
            info.repeats = max(
                info.repeats, repeats if isinstance(repeats, int) and not isinstance(repeats, bool) else 1
            )
            _add_prompt(info, meta)
        for (task, judge), (path, rows) in sorted(_newest_judgments(folder).items()):
            if not task or not judge:
                raise InputError(
                    f"{path}: judgments rows name no task or judge; rerun `nativeval judge` to rewrite them"
                )
            single_groups.append((model, task_info(task, configs.get(task)), judge, rows, str(path)))
            raw_models.append(model)
            sources.append(str(path))
        for path in sorted(folder.glob("results_pairwise_*.json")):
            doc = read_json(path)
            meta = doc.get("judge") if isinstance(doc, dict) else None
            if not isinstance(meta, dict) or "pairwise" not in doc:
                raise InputError(f"{path}: not a `nativeval judge --pairwise` results file")
            name = meta.get("name", "?")
            info = judges.setdefault(name, JudgeInfo(name, meta.get("model", "?")))
            _add_prompt(info, meta)
            comparison = comparisons(str(doc.get("model_name", folder.name)))
            for task in doc.get("results") or {}:
                rows_path = folder / f"judgments_pairwise_{safe_segment(task)}_{safe_segment(name)}.jsonl"
                if not rows_path.is_file():
                    raise InputError(f"{rows_path}: missing (named by {path}); rerun the pairwise judge")
                pair_infos.setdefault(task, task_info(task, (doc.get("configs") or {}).get(task)))
                j, t = pair_judges(name), pair_tasks(task)
                for row in iter_jsonl(rows_path):
                    first, decisive, consistent = _first_slot(row)
                    for key, value in zip(
                        pair_columns, (j, t, comparison, first, decisive, consistent), strict=True
                    ):
                        pair_columns[key].append(value)
                sources.append(str(rows_path))
    if not single_groups and not pair_columns["judge"]:
        where = ", ".join(str(p) for p in paths)
        raise InputError(
            f"no judge outputs (results_judge_*.json with judgments_*.jsonl) under {where}; "
            "run `nativeval judge` first"
        )
    short = dict(zip(map(id, raw_models), (k.label for k in label_keys(raw_models)), strict=True))
    single = single_judgments(
        (short[id(m)], info, judge, rows, where) for m, info, judge, rows, where in single_groups
    )
    pairwise = None
    if pair_columns["judge"]:
        pairwise = PairJudgments(
            judges=pair_judges.labels,
            tasks=[pair_infos[t] for t in pair_tasks.labels],
            comparisons=comparisons.labels,
            judge=np.asarray(pair_columns["judge"]),
            task=np.asarray(pair_columns["task"]),
            comparison=np.asarray(pair_columns["comparison"]),
            first_slot_wins=np.asarray(pair_columns["first"], float),
            decisive=np.asarray(pair_columns["decisive"], float),
            consistent=np.asarray(pair_columns["consistent"], float),
        )
    for name, text in (labels or {}).items():
        if name not in judges:
            raise InputError(
                f"--judge-label {name}=...: no judge {name!r} in these outputs ({', '.join(sorted(judges))})"
            )
        judges[name].label = text
    return JudgeOutputs(single, pairwise, [judges[n] for n in sorted(judges)], sources)

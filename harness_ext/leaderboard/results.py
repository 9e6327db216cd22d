"""Read lm-eval 0.4.x output directories, judge outputs and fine-tuning manifests into labelled runs.

An lm-eval run writes ``<out>/<model_name_sanitized>/results_<timestamp>.json`` and, with
``--log_samples``, ``samples_<task>_<timestamp>.jsonl`` beside it. Judge outputs share the results
shape (metric ``rating,<judge>``). A run is labelled by the ``nativeval_run.json`` manifest found in
the ``peft=`` or ``pretrained=`` directory of ``config.model_args``; without one, by the model name.
"""

from __future__ import annotations

import csv
import logging
import re
from dataclasses import dataclass, field, replace
from functools import lru_cache
from importlib import resources
from pathlib import Path
from typing import Any

from harness_ext.core.errors import InputError
from harness_ext.core.io import iter_jsonl, read_json
from harness_ext.core.models import hub_id_of
from harness_ext.core.runs import refuse_unfinished_runs

log = logging.getLogger(__name__)

TASK_NAME = re.compile(r"^(?P<provenance>native|translated)_(?P<language>[a-z]{2,3})_(?P<benchmark>.+)$")
TIMESTAMP = re.compile(r"(?P<ts>\d{4}-\d{2}-\d{2}T[0-9.:-]+)\.json$")
MANIFEST_NAME = "nativeval_run.json"
TOY_MARKER = "nativeval_toy.json"
REFERENCE_COLUMNS = ("benchmark", "metric", "lang", "base_model", "train_data", "lr", "tuning", "score")
PAPER_SOURCE = "Chen et al. 2024 (arXiv 2406.12822)"


@lru_cache(maxsize=1)
def benchmark_catalogue() -> dict[str, Any]:
    """The versioned table of known benchmarks, headline metrics and display names."""
    return read_json(Path(str(resources.files("harness_ext.leaderboard").joinpath("benchmarks.json"))))


def benchmark_info(benchmark: str) -> dict[str, Any]:
    """The catalogue's entry for one benchmark; empty for benchmarks it does not know."""
    return benchmark_catalogue()["benchmarks"].get(benchmark, {})


# --- labels --------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class RowKey:
    """What a leaderboard row stands for: one fine-tuned (or plain) model configuration."""

    base_model: str
    variant: str = ""
    lr: str = ""
    tuning: str = ""
    method: str = ""

    @property
    def label(self) -> str:
        parts = [self.base_model] + [p for p in (self.variant, self.lr, self.tuning, self.method) if p]
        return " · ".join(parts)


@dataclass(frozen=True, order=True)
class ColumnKey:
    """What a leaderboard column stands for: one benchmark in one language, with one metric."""

    benchmark: str
    language: str
    metric: str
    origin: str = "unknown"  # native | human_translated | machine_translated | translated | unknown

    @property
    def is_native(self) -> bool:
        return self.origin == "native"

    @property
    def provenance(self) -> str:
        return "native" if self.is_native else ("unknown" if self.origin == "unknown" else "translated")

    @property
    def display(self) -> str:
        info = benchmark_info(self.benchmark)
        label = f"{info.get('display', self.benchmark)} {self.language}"
        if "origin" in info and info["origin"] is None and self.origin != "unknown":
            label += f" ({self.provenance})"  # one benchmark with native and translated test sets: open QA
        return label

    @property
    def slug(self) -> str:
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{self.benchmark}_{self.language}_{self.metric}")


def format_lr(value: Any) -> str:
    """Learning rates as the paper writes them: 1e-4, 2e-5, 1e-6."""
    if value in (None, ""):
        return ""
    try:
        number = float(value)
    except (TypeError, ValueError):
        return str(value)
    mantissa, exponent = f"{number:e}".split("e")
    mantissa = mantissa.rstrip("0").rstrip(".")
    return f"{mantissa}e{int(exponent)}"


def variant_origin(variant: str, baseline: str = "native") -> str:
    """Training-data origin of a variant name: native, round_trip or translated."""
    name = variant.lower()
    if name == baseline.lower() or name == "native":
        return "native"
    if name.startswith(("rtt", "round_trip", "roundtrip")):
        return "round_trip"
    return "translated"


# --- scores ----------------------------------------------------------------------------------------------
@dataclass
class Score:
    """One headline number; ``items`` holds per-item scores (same scale) when samples were logged."""

    value: float
    stderr: float | None = None
    n: int | None = None
    items: dict[str, float] | None = None
    source: str = ""
    metric_key: str = ""


@dataclass
class Run:
    """One results file, labelled."""

    path: Path
    model_name: str
    timestamp: str
    key: RowKey
    scores: dict[ColumnKey, Score] = field(default_factory=dict)
    manifest_path: Path | None = None
    is_toy: bool = False


def parse_task_name(task: str) -> tuple[str, str, str] | None:
    """(provenance, language, benchmark) from a ``<provenance>_<lang>_<benchmark>`` name, else None."""
    match = TASK_NAME.match(task)
    if not match:
        return None
    return match["provenance"], match["language"], match["benchmark"]


def task_provenance(task: str, config: dict | None) -> tuple[str, str, str]:
    """(origin, language, benchmark) of a task: its metadata provenance record first, then its name."""
    meta = (config or {}).get("metadata") or {}
    record = meta.get("provenance") if isinstance(meta.get("provenance"), dict) else meta
    parsed = parse_task_name(task)
    origin = str(record.get("origin") or "")
    language = str(record.get("language") or "")
    benchmark = str(record.get("benchmark") or "")
    if parsed:
        provenance, name_language, name_benchmark = parsed
        origin = origin or provenance
        language = language or name_language
        benchmark = benchmark or name_benchmark
    if not benchmark:
        benchmark = task
    known_origin = benchmark_info(benchmark).get("origin")
    if origin in ("", "translated") and known_origin and known_origin != "native":
        origin = known_origin  # the catalogue says how it was translated
    return (origin or known_origin or "unknown"), (language or "?"), benchmark


def percent_scale(metric: str) -> float:
    return 100.0 if metric in benchmark_catalogue()["percent_metrics"] else 1.0


def choose_metric(benchmark: str, task_results: dict[str, Any]) -> tuple[str, str, str] | None:
    """(metric, filter, key) of the headline metric among ``"metric,filter"`` keys, or None."""
    catalogue = benchmark_catalogue()
    available: dict[str, list[str]] = {}
    for key, value in task_results.items():
        if "," not in key or "_stderr" in key or not isinstance(value, (int, float)) or isinstance(value, bool):
            continue
        metric, filt = key.split(",", 1)
        available.setdefault(metric, []).append(filt)
    if not available:
        return None
    wanted = benchmark_info(benchmark).get("metric")
    if wanted == "rating" and wanted not in available:
        return None  # a judged task before judging: the judge's results file carries its score
    order = ([wanted] if wanted else []) + catalogue["metric_preference"]
    metric = next((m for m in order if m in available), sorted(available)[0])
    filters = available[metric]
    filt = next((f for f in catalogue["filter_preference"] if f in filters), sorted(filters)[0])
    return metric, filt, f"{metric},{filt}"


# --- files -----------------------------------------------------------------------------------------------
def looks_like_results(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("results"), dict)
        and all(isinstance(v, dict) for v in data["results"].values())
        and any(k in data for k in ("config", "configs", "versions", "n-shot", "lm_eval_version"))
    )


def find_results_files(paths: list[str | Path]) -> list[Path]:
    """Every ``results*.json`` under the given directories (or the files themselves)."""
    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            found.extend(sorted(p for p in path.rglob("results*.json") if p.is_file()))
        else:
            raise InputError(f"{path}: no such file or directory; pass lm-eval --output_path directories")
    return found


def timestamp_of(path: Path, data: dict) -> str:
    match = TIMESTAMP.search(path.name)
    if match:
        return match["ts"]
    date = data.get("date")
    if isinstance(date, (int, float)):
        from datetime import datetime, timezone

        return datetime.fromtimestamp(date, tz=timezone.utc).strftime("%Y-%m-%dT%H-%M-%S.%f")
    return ""


def model_args_dict(config: dict) -> dict[str, str]:
    args = config.get("model_args")
    if isinstance(args, dict):
        return {str(k): str(v) for k, v in args.items()}
    if isinstance(args, str):
        pairs = (part.split("=", 1) for part in args.split(",") if "=" in part)
        return {k.strip(): v.strip() for k, v in pairs}
    return {}


def _candidate_dir(value: str, results_dir: Path) -> Path | None:
    for base in (Path(value), results_dir / value):
        if base.is_dir():
            return base
    return None


def find_manifest(args: dict[str, str], results_dir: Path) -> Path | None:
    for key in ("peft", "lora_local_path", "pretrained"):
        if key in args:
            directory = _candidate_dir(args[key], results_dir)
            if directory and (directory / MANIFEST_NAME).is_file():
                return directory / MANIFEST_NAME
    return None


def read_manifest(path: Path) -> dict[str, Any] | None:
    try:
        data = read_json(path)
    except InputError as err:
        log.warning("%s; labelling the run by its model name", err)
        return None
    if not isinstance(data, dict) or data.get("kind") != "nativeval_run":
        log.warning("%s: not a nativeval_run manifest; labelling the run by its model name", path)
        return None
    return data


def model_label(name: str) -> str:
    """A Hub id stays as it is; a local path is shown by its last component (``/scratch/m/Qwen1.5-7B`` -> ``Qwen1.5-7B``)."""
    name = name.rstrip("/")
    hub_id = hub_id_of(name)  # the one model-reference rule (harness_ext.core.models), by spelling alone
    return hub_id if hub_id is not None else Path(name).name or name


def row_key_for(model_name: str, manifest: dict | None) -> RowKey:
    if not manifest:
        return RowKey(base_model=model_label(model_name))
    hyper = manifest.get("hyperparameters") or {}
    languages = manifest.get("languages") or []
    tuning = str(manifest.get("tuning") or ("multi" if len(languages) > 1 else "mono" if languages else ""))
    return RowKey(
        base_model=model_label(str(manifest.get("base_model") or model_name)),
        variant=str(manifest.get("variant") or ""),
        lr=format_lr(hyper.get("lr", hyper.get("learning_rate"))),
        tuning=tuning,
        method=str(manifest.get("method") or ""),
    )


def detect_toy(data: dict, args: dict[str, str], manifest: dict | None, results_dir: Path) -> bool:
    marks = [data.get("nativeval", {}).get("toy") if isinstance(data.get("nativeval"), dict) else None]
    if manifest:
        marks += [manifest.get("toy"), manifest.get("demo")]
    dirs = [args.get(k) for k in ("pretrained", "peft", "lora_local_path")]
    if manifest:
        dirs.append(str(manifest.get("base_model") or ""))
    for value in filter(None, dirs):
        directory = _candidate_dir(value, results_dir)
        if directory and (directory / TOY_MARKER).is_file():
            return True
    return any(bool(m) for m in marks)


def samples_file(results_path: Path, task: str, timestamp: str) -> Path | None:
    """The ``--log_samples`` file written by the same run as ``results_path``, if there is one."""
    path = results_path.parent / f"samples_{task}_{timestamp}.jsonl"
    return path if path.is_file() else None


def read_item_scores(path: Path, metric: str, filt: str, prefix: str = "") -> dict[str, float]:
    """Per-item scores keyed by doc_id (prefixed by subtask for groups), for one metric and filter."""
    scores: dict[str, float] = {}
    for row in iter_jsonl(path, allow_truncated_tail=True):
        if "filter" in row and row["filter"] != filt and not metric.endswith("rating"):
            continue
        value = row.get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        scores[f"{prefix}{row.get('doc_id')}"] = float(value)
    return scores


def judged_item_scores(results_path: Path, task: str, judge: str) -> dict[str, float] | None:
    """Per-item ratings from the judge's ``judgments_<task>_<judge>_<date>.jsonl`` (newest file wins).

    The glob also matches tasks whose name extends ``task`` (``..._open_qa_v2``), so rows are kept by
    their own ``task`` field (files written before it existed count as this task's)."""
    for path in sorted(results_path.parent.glob(f"judgments_{task}_*.jsonl"), reverse=True):
        rows = [r for r in iter_jsonl(path) if r.get("judge") == judge and r.get("task", task) == task]
        if rows:
            scores = {str(r.get("doc_id")): float(r["rating"]) for r in rows
                      if isinstance(r.get("rating"), (int, float)) and not isinstance(r.get("rating"), bool)}
            return scores or None
    return None


def item_scores_for(results_path: Path, data: dict, task: str, metric: str, filt: str, ts: str) -> dict | None:
    if metric == "rating":
        return judged_item_scores(results_path, task, filt)
    subtasks = (data.get("group_subtasks") or {}).get(task) or []
    parts = [(sub, f"{sub}:") for sub in subtasks] if subtasks else [(task, "")]
    items: dict[str, float] = {}
    for name, prefix in parts:
        path = samples_file(results_path, name, ts)
        if path is None:
            return None
        items.update(read_item_scores(path, metric, filt, prefix))
    return items or None


def load_run(path: Path) -> Run:
    """One results file as a Run; raises InputError when the file is not an lm-eval results file."""
    data = read_json(path)
    if not looks_like_results(data):
        raise InputError(f"{path}: not an lm-eval results file (no 'results' table of tasks)")
    if "pairwise" in data:
        raise InputError(f"{path}: a pairwise judge comparison, not one model's results; left out of the table")
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    args = model_args_dict(config)
    refuse_unfinished_runs(args, relative_to=path.parent)
    model_name = str(data.get("model_name") or args.get("pretrained") or args.get("model") or path.parent.name)
    manifest_path = find_manifest(args, path.parent)
    manifest = read_manifest(manifest_path) if manifest_path else None
    timestamp = timestamp_of(path, data)
    run = Run(
        path=path,
        model_name=model_name,
        timestamp=timestamp,
        key=row_key_for(model_name, manifest),
        manifest_path=manifest_path if manifest else None,
        is_toy=detect_toy(data, args, manifest, path.parent),
    )
    configs = data.get("configs") or {}
    for task, task_results in data["results"].items():
        origin, language, benchmark = task_provenance(task, configs.get(task))
        chosen = choose_metric(benchmark, task_results)
        if chosen is None:
            continue
        metric, filt, key = chosen
        scale = percent_scale(metric)
        stderr = task_results.get(f"{metric}_stderr,{filt}")
        items = item_scores_for(path, data, task, metric, filt, timestamp)
        n_samples = (data.get("n-samples") or {}).get(task, {})
        run.scores[ColumnKey(benchmark, language, metric, origin)] = Score(
            value=float(task_results[key]) * scale,
            stderr=float(stderr) * scale if isinstance(stderr, (int, float)) else None,
            n=len(items) if items else (n_samples.get("effective") if isinstance(n_samples, dict) else None),
            items={k: v * scale for k, v in items.items()} if items else None,
            source=str(path),
            metric_key=key,
        )
    return run


@dataclass
class LoadReport:
    runs: list[Run]
    warnings: list[str]
    superseded: list[str]


def merge_runs(runs: list[Run]) -> tuple[list[Run], list[str]]:
    """One Run per row key; per column the newest file wins; superseded duplicates are reported."""
    merged: dict[RowKey, Run] = {}
    notes: list[str] = []
    for run in sorted(runs, key=lambda r: (r.timestamp, str(r.path))):
        target = merged.get(run.key)
        if target is None:
            merged[run.key] = replace(run, scores=dict(run.scores))
            continue
        for column, score in run.scores.items():
            if column in target.scores:
                notes.append(
                    f"duplicate run for {run.key.label} / {column.display}: {score.source} "
                    f"(newer) replaces {target.scores[column].source}"
                )
            target.scores[column] = score
        target.is_toy = target.is_toy or run.is_toy
        target.timestamp = run.timestamp
    return list(merged.values()), notes


def load_runs(paths: list[str | Path]) -> LoadReport:
    """Read every results file under ``paths``; files that are not lm-eval results become warnings."""
    runs: list[Run] = []
    warnings: list[str] = []
    for path in find_results_files(paths):
        try:
            runs.append(load_run(path))
        except InputError as err:
            warnings.append(f"skipped {err}")
    merged, superseded = merge_runs(runs)
    return LoadReport(merged, warnings, superseded)


# --- published reference rows ----------------------------------------------------------------------------
@dataclass
class ReferenceRow:
    key: RowKey
    source: str
    scores: dict[ColumnKey, float] = field(default_factory=dict)


def reference_path(spec: str) -> Path:
    """``paper`` (the embedded table of Chen et al. 2024), ``paper-excerpt``, or a CSV path."""
    embedded = {"paper": "paper_results.csv", "paper-excerpt": "paper_results_excerpt.csv"}
    if spec in embedded:
        return Path(str(resources.files("harness_ext.leaderboard").joinpath("reference", embedded[spec])))
    return Path(spec)


def load_reference(spec: str) -> list[ReferenceRow]:
    """Reference rows from a CSV with the columns of the study's paper_results.csv."""
    path = reference_path(spec)
    if not path.is_file():
        raise InputError(f"{path}: reference CSV not found; pass a CSV path or 'paper' for the built-in table")
    with open(path, encoding="utf-8", newline="") as fh:
        reader = csv.DictReader(fh)
        missing = [c for c in REFERENCE_COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise InputError(f"{path}: reference CSV lacks column(s) {', '.join(missing)}")
        records = list(reader)
    default_source = PAPER_SOURCE if spec in ("paper", "paper-excerpt") else path.name
    rows: dict[tuple[RowKey, str], ReferenceRow] = {}
    for lineno, rec in enumerate(records, start=2):
        try:
            score = float(rec["score"])
        except (TypeError, ValueError):
            raise InputError(f"{path}:{lineno}: score {rec['score']!r} is not a number") from None
        source = rec.get("source") or default_source
        key = RowKey(rec["base_model"], rec["train_data"], format_lr(rec["lr"]), rec["tuning"])
        benchmark = rec["benchmark"]
        origin = benchmark_info(benchmark).get("origin") or "unknown"
        column = ColumnKey(benchmark, rec["lang"], rec["metric"], origin)
        row = rows.setdefault((key, source), ReferenceRow(key, source))
        row.scores.setdefault(column, score)  # the same number appears in several of the paper's tables
    return list(rows.values())

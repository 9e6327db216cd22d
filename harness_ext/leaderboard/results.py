"""Read lm-eval 0.4.x output directories, judge outputs and fine-tuning manifests into labelled runs.

An lm-eval run writes ``<out>/<model_name_sanitized>/results_<timestamp>.json`` and, with
``--log_samples``, ``samples_<task>_<timestamp>.jsonl`` beside it. Judge outputs share the results
shape (metric ``rating,<judge>``).

What a results column is, and its headline score, come from the catalogue only
(``harness_ext/catalogue/data/*.yaml``: ``title``, ``origin``, ``headline``, ``percent``, ``cluster_unit``):

1. a nativeval task: the catalogue's task (or group member) of that name;
2. otherwise a task whose ``metadata.provenance`` names a catalogue benchmark;
3. otherwise (a plain lm-eval task, e.g. ``arc_easy``): its own column, named by the task. Its headline is
   the first metric of the task's own ``metric_list`` under its first filter (lm-eval's order, never an
   alphabetical pick), shown as reported (0-1 unless the task reports otherwise); test-set origin
   "unknown" unless its metadata says, language from a trailing ``_<code>`` the registry knows.

A known benchmark whose headline metric is missing from a results file is not shown, with the note
"not shown: no headline metric for benchmark X" (unless another file of the same row supplies it).

Rows: ``"nativeval": {"label": NAME}`` in the results JSON (``nativeval eval --label``) names the row;
else the ``nativeval_run.json`` manifest of the ``peft=``/``pretrained=`` directory (base model, variant,
learning rate, tuning, method); else the model reference: a Hub id as it is, local paths by the shortest
path suffix that tells them apart. Runs of one row merge; for a (row, column) in two files the newer wins
and the superseded file is named.
"""

from __future__ import annotations

import logging
import re
from dataclasses import dataclass, field
from datetime import datetime, timezone
from functools import cache, lru_cache
from pathlib import Path
from typing import Any

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.model import Benchmark, CatalogueTask
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import iter_jsonl, read_json
from nativeval.harness_ext.core.languages import codes as language_codes
from nativeval.harness_ext.core.runs import refuse_unfinished_runs
from nativeval.harness_ext.report.naming import (  # noqa: F401  (re-exported: the one rule that names a model)
    MANIFEST_NAME,
    RowKey,
    RunName,
    candidate_dir,
    find_manifest,
    format_lr,
    label_keys,
    model_args_dict,
    model_label,
    read_manifest,
    row_key_for,
    row_key_of,
    run_name,
    unique_labels,
)

log = logging.getLogger(__name__)

TASK_NAME = re.compile(r"^(?P<provenance>native|translated)_(?P<language>[a-z]{2,3})_(?P<benchmark>.+)$")
TIMESTAMP = re.compile(r"(?P<ts>\d{4}-\d{2}-\d{2}T[0-9.:-]+)\.json$")
TOY_MARKER = "nativeval_toy.json"
REFERENCE_COLUMNS = ("benchmark", "metric", "lang", "base_model", "train_data", "lr", "tuning", "score")
PAPER_SOURCE = "Chen et al. 2024, EMNLP (arXiv 2406.12822)"
SUPPORTED_LM_EVAL = ("0.4.",)


# --- catalogue look-ups ----------------------------------------------------------------------------------
@lru_cache(maxsize=1)
def _tasks_by_name() -> dict[str, tuple[CatalogueTask, str | None]]:
    """Every catalogue task and group member by lm-eval task name -> (task, member subject or None)."""
    found: dict[str, tuple[CatalogueTask, str | None]] = {}
    for task in catalogue().tasks:
        found[task.name] = (task, None)
        if task.is_group:
            for leaf in task.leaves:
                found[leaf.name] = (task, leaf.member)
    return found


def catalogue_task(name: str) -> CatalogueTask | None:
    hit = _tasks_by_name().get(name)
    return hit[0] if hit else None


@cache
def benchmark_entry(benchmark: str, origin: str | None = None) -> Benchmark | None:
    """The catalogue benchmark of that name (and test-set origin, where one name has two, e.g. open QA)."""
    matches = {
        t.benchmark.source_file: t.benchmark for t in catalogue().tasks if t.benchmark.name == benchmark
    }
    candidates = list(matches.values())
    if origin is not None and len(candidates) > 1:
        candidates = [b for b in candidates if b.origin_group == provenance_of(origin)] or candidates
    return candidates[0] if candidates else None


# Test-set origin groups of the leaderboard: a round trip (X -> pivot -> X) keeps the source's items and
# knowledge with translation noise added, so it is neither native nor translated and never joins either mean.
ORIGIN_GROUP_ORDER = ("native", "translated", "round_trip", "unknown")
ORIGIN_TITLES = {
    "native": "native",
    "human_translated": "human-translated",
    "machine_translated": "machine-translated",
    "machine_translated_post_edited": "machine-translated, post-edited",
    "round_trip_translated": "round trip",
    "translated": "translated",
    "unknown": "origin unknown",
}


METRIC_TITLES = {
    "acc": "accuracy",
    "acc_norm": "accuracy (normalised)",
    "exact_match": "exact match",
    "f1": "F1",
    "include": "answer included",
    "rating": "judge rating",
}


def provenance_of(origin: str) -> str:
    """The origin group of a test-set origin: native, translated, round_trip or unknown."""
    if origin == "native":
        return "native"
    if origin == "round_trip_translated":
        return "round_trip"
    return "unknown" if origin in ("unknown", "") else "translated"


@cache
def benchmark_has_both_origins(benchmark: str) -> bool:
    return len({t.benchmark.origin_group for t in catalogue().tasks if t.benchmark.name == benchmark}) > 1


# --- labels --------------------------------------------------------------------------------------------
@dataclass(frozen=True, order=True)
class ColumnKey:
    """One test set: a benchmark in one language from one test-set origin, scored by one metric."""

    benchmark: str
    language: str
    metric: str
    origin: str = (
        "unknown"  # native | human_translated | machine_translated | round_trip_translated | ... | unknown
    )
    task: str = ""  # the lm-eval task of a user-made test set (rtt_*, mt_*): a test set of its own
    judge: str = ""  # published ratings of one judge (measured ratings pool their judges: "")

    @property
    def is_native(self) -> bool:
        return self.origin == "native"

    @property
    def provenance(self) -> str:
        """The origin group: native, translated, round_trip or unknown (see ORIGIN_GROUP_ORDER)."""
        return provenance_of(self.origin)

    origin_group = provenance

    @property
    def user_made(self) -> bool:
        """A `nativeval translate-task` test set: derived from another, it joins no origin mean."""
        return bool(self.task)

    @property
    def info(self) -> Benchmark | None:
        return benchmark_entry(self.benchmark, self.origin)

    @property
    def percent(self) -> bool:
        info = self.info
        return bool(info.percent) if info else False

    @property
    def display(self) -> str:
        info = self.info
        title = info.raw.get("short_title", info.title) if info else self.benchmark
        label = f"{title} {self.language}" if self.language != "?" else title
        if self.user_made:
            label += (
                f" ({ORIGIN_TITLES.get(self.origin, self.origin)})"  # rtt_zh_xquad: "XQuAD zh (round trip)"
            )
        elif benchmark_has_both_origins(self.benchmark) and self.origin != "unknown":
            label += f" ({self.provenance})"  # one benchmark with native and translated test sets: open QA
        if self.judge:
            label += f", judged by {self.judge}"
        return label

    @property
    def short_title(self) -> str:
        """The catalogue's short title, without language or origin (the findings name those beside it)."""
        info = self.info
        return str(info.raw.get("short_title", info.title)) if info else self.benchmark

    @property
    def origin_title(self) -> str:
        return ORIGIN_TITLES.get(self.origin, self.origin)

    @property
    def slug(self) -> str:
        """A name unique per test set (file names, table ids): the task for user-made ones, else the origin."""
        identity = self.task or f"{self.benchmark}_{self.language}_{self.origin}"
        judge = f"_{self.judge}" if self.judge else ""
        return re.sub(r"[^A-Za-z0-9_.-]+", "_", f"{identity}_{self.metric}{judge}")

    @property
    def metric_title(self) -> str:
        """The headline metric in words (the catalogue's title where it gives one), never a results key."""
        info = self.info
        titles = (info.raw.get("metric_titles") or {}) if info else {}
        return str(titles.get(self.metric) or METRIC_TITLES.get(self.metric, self.metric.replace("_", " ")))

    @property
    def unit(self) -> str:
        return "%" if self.percent else ("rating 1-5" if self.metric == "rating" else "")

    @property
    def cluster_unit(self) -> str | None:
        info = self.info
        return info.cluster_unit if info else None


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
    """One headline number; ``items`` per-item scores (same scale) and ``clusters`` their sampling unit."""

    value: float
    stderr: float | None = None
    n: int | None = None
    items: dict[str, float] | None = None
    clusters: dict[str, str] | None = None
    tags: dict[str, dict[str, str]] | None = None  # item -> {catalogue item_tags field: value}
    source: str = ""
    metric_key: str = ""
    limited: bool = False
    judge_prompts: dict[str, str] | None = None  # ratings: judge -> the prompt version its verdicts used


def judge_prompt_of(data: dict) -> str | None:
    """The prompt version a `nativeval judge` results file records (``judge.prompt_version``)."""
    judge = data.get("judge")
    version = judge.get("prompt_version") if isinstance(judge, dict) else None
    return str(version) if version else None


@dataclass
class Run:
    """One results file."""

    path: Path
    model_name: str
    timestamp: str
    key: RowKey
    scores: dict[ColumnKey, Score] = field(default_factory=dict)
    manifest_path: Path | None = None
    is_toy: bool = False
    explicit_label: bool = False
    limit: float | None = None
    missing_headline: dict[ColumnKey, str] = field(default_factory=dict)
    sources: dict[ColumnKey, str] = field(default_factory=dict)  # a user-made test set -> its source task
    name: RunName | None = None


@dataclass(frozen=True)
class TaskColumn:
    """Where a results task goes: its column identity and how its headline is read."""

    benchmark: str
    language: str
    origin: str
    metric: str
    filter: str | None
    percent: bool
    cluster_unit: str | None
    subject: str | None
    known: bool
    item_tags: tuple[str, ...] = ()
    user_task: str = ""  # a user-made test set (`nativeval translate-task`): its task name
    source_task: str = ""  # and the task it was translated from

    def key(self) -> ColumnKey:
        return ColumnKey(self.benchmark, self.language, self.metric, self.origin, self.user_task)


def item_tag_fields(bench: Benchmark) -> tuple[str, ...]:
    """The catalogue's ``item_tags``: doc fields whose values split a test set into parts (issue 14)."""
    tags = getattr(bench, "item_tags", None) or bench.raw.get("item_tags") or ()
    return tuple(str(t) for t in tags)


def parse_task_name(task: str) -> tuple[str, str, str] | None:
    """(provenance, language, benchmark) from a ``<provenance>_<lang>_<benchmark>`` name, else None."""
    match = TASK_NAME.match(task)
    if not match:
        return None
    return match["provenance"], match["language"], match["benchmark"]


def _trailing_language(task: str) -> str:
    tail = task.rsplit("_", 1)[-1] if "_" in task else ""
    return tail if tail in language_codes() else "?"


def _lm_eval_first_metric(config: dict) -> tuple[str | None, str | None]:
    metrics = config.get("metric_list") or []
    metric = metrics[0].get("metric") if metrics and isinstance(metrics[0], dict) else None
    filters = config.get("filter_list") or []
    filt = filters[0].get("name") if filters and isinstance(filters[0], dict) else "none"
    return (metric if isinstance(metric, str) else None), filt


def task_column(task: str, config: dict | None) -> TaskColumn:
    """The column a results task belongs to (see the module docstring for the rules)."""
    config = config if isinstance(config, dict) else {}
    hit = _tasks_by_name().get(task)
    meta = config.get("metadata") if isinstance(config.get("metadata"), dict) else {}
    record = meta.get("provenance") if isinstance(meta.get("provenance"), dict) else meta
    if hit:
        ctask, subject = hit
        bench = ctask.benchmark
        headline = bench.headline
        user = ctask.extra.get("provenance") if ctask.extra.get("user_made") else None
        return TaskColumn(
            bench.name,
            ctask.language,
            ctask.origin,
            headline.metric if headline else "",
            headline.filter if headline else None,
            bench.percent,
            bench.cluster_unit,
            subject,
            True,
            item_tag_fields(bench),
            ctask.name if user is not None else "",
            str((user or {}).get("source_task") or ""),
        )
    user_task = ""
    if record.get("user_made") or record.get("source_task"):
        user_task = str(record.get("task") or task)
    parsed = parse_task_name(task)
    benchmark = str(record.get("benchmark") or "")
    origin = str(record.get("origin") or (parsed[0] if parsed else "") or "")
    language = str(record.get("language") or (parsed[1] if parsed else "") or _trailing_language(task))
    bench = benchmark_entry(benchmark, origin or None) if benchmark else None
    if bench is not None:
        headline = bench.headline
        if origin in ("", "translated") and bench.origin != "native":
            origin = bench.origin
        return TaskColumn(
            bench.name,
            language,
            origin or bench.origin,
            headline.metric if headline else "",
            headline.filter if headline else None,
            bench.percent,
            bench.cluster_unit,
            str(record.get("subtask")) if user_task and record.get("subtask") else None,
            True,
            item_tag_fields(bench),
            user_task,
            str(record.get("source_task") or ""),
        )
    metric, filt = _lm_eval_first_metric(config)
    return TaskColumn(task, language, origin or "unknown", metric or "", filt, False, None, None, False)


def task_provenance(task: str, config: dict | None) -> tuple[str, str, str]:
    """(origin, language, benchmark) of a results task."""
    column = task_column(task, config)
    return column.origin, column.language, column.benchmark


def headline_for(benchmark: str, provenance: dict[str, Any]) -> tuple[str, str]:
    """(metric, filter) the leaderboard scores ``benchmark`` by: the catalogue's headline, else the task's first."""
    bench = benchmark_entry(benchmark, str(provenance.get("origin") or "") or None) if benchmark else None
    if bench is not None and bench.headline:
        return bench.headline.metric, bench.headline.filter or "none"
    metrics = provenance.get("metrics") or ["acc"]
    return str(metrics[0]), "none"


def headline_key(column: TaskColumn, task_results: dict[str, Any]) -> str | None:
    """The ``metric,filter`` key of the headline among a task's results, or None when it is absent."""
    for key, value in task_results.items():
        if (
            "," not in key
            or "_stderr" in key
            or isinstance(value, bool)
            or not isinstance(value, (int, float))
        ):
            continue
        metric, filt = key.split(",", 1)
        if metric == column.metric and (column.filter is None or filt == column.filter):
            return key
    return None


# --- files -----------------------------------------------------------------------------------------------
def looks_like_results(data: Any) -> bool:
    return (
        isinstance(data, dict)
        and isinstance(data.get("results"), dict)
        and all(isinstance(v, dict) for v in data["results"].values())
        and any(k in data for k in ("config", "configs", "versions", "n-shot", "lm_eval_version"))
    )


def find_results_files(paths: list[str | Path]) -> list[Path]:
    """Every results file under the given directories (or the files themselves), by lm-eval's own rule
    (``lm_eval.utils.get_results_filenames``: ``results_*.json``; judge outputs share it)."""
    from lm_eval.utils import get_results_filenames

    found: list[Path] = []
    for raw in paths:
        path = Path(raw)
        if path.is_file():
            found.append(path)
        elif path.is_dir():
            candidates = [
                p.as_posix() for p in sorted(path.rglob("*.json")) if p.is_file() and p.suffix == ".json"
            ]
            found.extend(Path(p) for p in get_results_filenames(candidates))
        else:
            raise InputError(f"{path}: no such file or directory; pass lm-eval --output_path directories")
    return found


def timestamp_of(path: Path, data: dict) -> str:
    match = TIMESTAMP.search(path.name)
    if match:
        return match["ts"]
    date = data.get("date")
    if isinstance(date, (int, float)):
        return datetime.fromtimestamp(date, tz=timezone.utc).strftime("%Y-%m-%dT%H-%M-%S.%f")
    return ""


def detect_toy(data: dict, args: dict[str, str], manifest: dict | None, results_dir: Path) -> bool:
    marks = [data.get("nativeval", {}).get("toy") if isinstance(data.get("nativeval"), dict) else None]
    if manifest:
        marks += [manifest.get("toy"), manifest.get("demo")]
    dirs = [args.get(k) for k in ("pretrained", "peft", "lora_local_path")]
    if manifest:
        dirs.append(str(manifest.get("base_model") or ""))
    for value in filter(None, dirs):
        directory = candidate_dir(value, results_dir)
        if directory and (directory / TOY_MARKER).is_file():
            return True
    return any(bool(m) for m in marks)


def samples_file(results_path: Path, task: str, timestamp: str) -> Path | None:
    """The ``--log_samples`` file written by the same run as ``results_path``, if there is one."""
    path = results_path.parent / f"samples_{task}_{timestamp}.jsonl"
    return path if path.is_file() else None


def item_key(row: dict[str, Any]) -> str:
    """An item's identity: the document's own ``id`` when its rows carry one (a translation made by `nativeval
    translate-task` keeps it while an excluded item shifts lm-eval's ``doc_id``), else lm-eval's ``doc_id``."""
    doc = row.get("doc")
    if isinstance(doc, dict) and doc.get("id") not in (None, ""):
        return str(doc["id"])
    return str(row.get("doc_id"))


def cluster_of(row: dict[str, Any], unit: str | None, subject: str | None) -> str | None:
    if unit is None:
        return None
    if unit == "subject":
        return subject
    doc = row.get("doc")
    value = doc.get(unit) if isinstance(doc, dict) else None
    return None if value is None else str(value)


def read_item_scores(
    path: Path,
    metric: str,
    filt: str,
    prefix: str = "",
    unit: str | None = None,
    subject: str | None = None,
    tag_fields: tuple[str, ...] = (),
    tags: dict[str, dict[str, str]] | None = None,
    member_tags: dict[str, str] | None = None,
) -> tuple[dict[str, float], dict[str, str]]:
    """Per-item scores (and sampling clusters) keyed by doc_id (prefixed by subtask for groups); the values
    of ``tag_fields`` go into ``tags`` when given (a doc field, else the subject's ``member_tags``)."""
    scores: dict[str, float] = {}
    clusters: dict[str, str] = {}
    for row in iter_jsonl(path, allow_truncated_tail=True):
        if "filter" in row and row["filter"] != filt:
            continue
        value = row.get(metric)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            continue
        key = prefix + item_key(row)
        scores[key] = float(value)
        cluster = cluster_of(row, unit, subject)
        if cluster is not None:
            clusters[key] = cluster
        if tags is not None and tag_fields:
            values = {f: cluster_of(row, f, subject) or (member_tags or {}).get(f) for f in tag_fields}
            tags[key] = {f: v for f, v in values.items() if v is not None}
    return scores, clusters


def judged_item_scores(results_path: Path, task: str, judge: str) -> dict[str, float] | None:
    """Per-item ratings from the judge's ``judgments_<task>_<judge>_<date>.jsonl`` (newest file wins).

    The glob also matches tasks whose name extends ``task`` (``..._open_qa_v2``), so rows are kept by
    their own ``task`` field (files written before it existed count as this task's)."""
    for path in sorted(results_path.parent.glob(f"judgments_{task}_*.jsonl"), reverse=True):
        rows = [r for r in iter_jsonl(path) if r.get("judge") == judge and r.get("task", task) == task]
        if rows:
            scores = {
                str(r.get("doc_id")): float(r["rating"])
                for r in rows
                if isinstance(r.get("rating"), (int, float)) and not isinstance(r.get("rating"), bool)
            }
            return scores or None
    return None


def item_scores_for(
    results_path: Path,
    data: dict,
    task: str,
    column: TaskColumn,
    key: str,
    ts: str,
    tags: dict[str, dict[str, str]] | None = None,
) -> tuple[dict[str, float] | None, dict[str, str] | None]:
    metric, filt = key.split(",", 1)
    if metric == "rating":
        return judged_item_scores(results_path, task, filt), None
    subtasks = (data.get("group_subtasks") or {}).get(task) or []
    hits = _tasks_by_name()
    parts = (
        [(sub, f"{sub}:", hits[sub][1] if sub in hits else sub) for sub in subtasks]
        if subtasks
        else [(task, "", column.subject)]
    )
    items: dict[str, float] = {}
    clusters: dict[str, str] = {}
    for name, prefix, subject in parts:
        path = samples_file(results_path, name, ts)
        if path is None:
            return None, None
        metadata = ((data.get("configs") or {}).get(name) or {}).get("metadata") or {}
        provenance = metadata.get("provenance") if isinstance(metadata, dict) else None
        member_tags = provenance.get("member_tags") if isinstance(provenance, dict) else None
        scores, units = read_item_scores(
            path,
            metric,
            filt,
            prefix,
            column.cluster_unit,
            subject,
            column.item_tags,
            tags,
            member_tags if isinstance(member_tags, dict) else None,
        )
        items.update(scores)
        clusters.update(units)
    return (items or None), (clusters if items and len(clusters) == len(items) else None)


def _check_version(path: Path, data: dict) -> None:
    version = data.get("lm_eval_version")
    if isinstance(version, str) and version and not version.startswith(SUPPORTED_LM_EVAL):
        raise InputError(
            f"{path}: written by lm-eval {version}; this leaderboard reads lm-eval 0.4.x results"
        )


def run_limit(config: dict) -> float | None:
    limit = config.get("limit")
    return float(limit) if isinstance(limit, (int, float)) and not isinstance(limit, bool) else None


def load_run(path: Path) -> Run:
    """One results file as a Run; raises InputError when the file is not an lm-eval results file."""
    data = read_json(path)
    if not looks_like_results(data):
        raise InputError(f"{path}: not an lm-eval results file (no 'results' table of tasks)")
    if "pairwise" in data:
        raise InputError(
            f"{path}: a pairwise judge comparison, not one model's results; left out of the table"
        )
    for section in (
        "configs",
        "n-samples",
        "versions",
        "n-shot",
        "higher_is_better",
        "groups",
        "group_subtasks",
    ):
        value = data.get(section)
        per_task = section in ("configs", "n-samples", "higher_is_better", "groups")
        if value is not None and not (
            isinstance(value, dict) and (not per_task or all(isinstance(v, dict) for v in value.values()))
        ):
            raise InputError(
                f"{path}: `{section}` is not an object{' of objects' if per_task else ''}: not an "
                "lm-eval results file (edited or cut short?); restore it or move it out"
            )
    _check_version(path, data)
    config = data.get("config") if isinstance(data.get("config"), dict) else {}
    args = model_args_dict(config)
    refuse_unfinished_runs(args, relative_to=path.parent)
    name = run_name(data, path.parent)
    run = Run(
        path=path,
        model_name=name.model_name,
        timestamp=timestamp_of(path, data),
        key=name.key,
        manifest_path=name.manifest_path,
        is_toy=detect_toy(data, args, name.manifest, path.parent),
        explicit_label=name.explicit,
        limit=run_limit(config),
        name=name,
    )
    configs = data.get("configs") or {}
    groups = set(data.get("group_subtasks") or {})
    member_of = {sub for subs in (data.get("group_subtasks") or {}).values() for sub in subs}
    for task, task_results in data["results"].items():
        if task in member_of and task not in groups:
            continue  # a group's member: its items are read through the group
        column = task_column(task, configs.get(task))
        key = headline_key(column, task_results)
        column_key = column.key()
        if column.source_task:
            run.sources[column_key] = column.source_task
        if key is None:
            if column.known:
                run.missing_headline[column_key] = (
                    f"not shown: no headline metric for benchmark {column_key.display} "
                    f"({column.metric},{column.filter or '<judge>'}) in {path}"
                )
            continue
        add_score(run, data, task, column, column_key, key, task_results)
    return run


def add_score(
    run: Run,
    data: dict,
    task: str,
    column: TaskColumn,
    column_key: ColumnKey,
    key: str,
    task_results: dict[str, Any],
) -> None:
    metric, filt = key.split(",", 1)
    scale = 100.0 if column.percent else 1.0
    stderr = task_results.get(f"{metric}_stderr,{filt}")
    tags: dict[str, dict[str, str]] = {}
    items, clusters = item_scores_for(run.path, data, task, column, key, run.timestamp, tags)
    n_samples = (data.get("n-samples") or {}).get(task, {})
    effective = n_samples.get("effective") if isinstance(n_samples, dict) else None
    if effective is None and isinstance(task_results.get(f"n,{filt}"), int):
        effective = task_results[f"n,{filt}"]
    run.scores[column_key] = Score(
        value=float(task_results[key]) * scale,
        stderr=float(stderr) * scale if isinstance(stderr, (int, float)) else None,
        n=len(items) if items else effective,
        items={k: v * scale for k, v in items.items()} if items else None,
        clusters=clusters,
        tags=tags or None,
        source=str(run.path),
        metric_key=key,
        limited=run.limit is not None,
        judge_prompts={filt: prompt}
        if column.metric == "rating" and (prompt := judge_prompt_of(data))
        else None,
    )


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
            sum(values) / len(values),
            None,
            max(old.n or 0, new.n or 0) or None,
            None,
            None,
            None,
            new.source,
            f"rating,{'+'.join(judges)}",
            old.limited or new.limited,
            prompts,
        )
    items = {f"{j}|{doc}": v for j in judges for doc, v in parts[j].items()}
    clusters = {key: key.partition("|")[2] for key in items}
    return Score(
        sum(items.values()) / len(items),
        None,
        len(set(clusters.values())),
        items,
        clusters,
        None,
        new.source,
        f"rating,{'+'.join(judges)}",
        old.limited or new.limited,
        prompts,
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


# --- published reference rows ----------------------------------------------------------------------------
@dataclass
class ReferenceRow:
    key: RowKey
    source: str
    scores: dict[ColumnKey, float] = field(default_factory=dict)


@dataclass
class ReferenceLoad:
    rows: list[ReferenceRow]
    cells: list  # reference.ReferenceCell: the canonical published cells (findings and claims read them)
    not_shown: list[str]


def items_per_reference_sum(bench: Benchmark) -> int | None:
    """How many items a published sum (open QA: sum of ratings) adds up: the catalogue's sample size, or the
    row count of the data file shipped with the benchmark."""
    tasks = [t for t in catalogue().tasks if t.benchmark is bench]
    sizes = {t.extra.get("dataset_filter", {}).get("n") for t in tasks} - {None}
    if not sizes and bench.embedded:
        from nativeval.harness_ext.catalogue.model import TASKS_DIR

        folder = TASKS_DIR / bench.task_dir / bench.embedded
        sizes = {
            sum(1 for line in path.open(encoding="utf-8") if line.strip())
            for t in tasks
            for path in folder.glob(f"*_{t.language}.jsonl")
        }
    return int(sizes.pop()) if len(sizes) == 1 else None


def reference_rows(cells: list) -> tuple[list[ReferenceRow], list[str]]:
    """Published headline cells as rows on the measured scale (open-QA sums as mean ratings); cells of a
    benchmark the catalogue does not know are listed under "not shown", one line per benchmark."""
    rows: dict[tuple[RowKey, str], ReferenceRow] = {}
    unknown: dict[str, int] = {}
    for cell in cells:
        bench = cell.catalogue_benchmark
        if bench is None or bench.headline is None:
            unknown[cell.benchmark] = unknown.get(cell.benchmark, 0) + 1
            continue
        factor = 1.0
        if cell.metric == f"sum_{bench.headline.metric}":
            items = items_per_reference_sum(bench)
            factor = 1.0 / items if items else 1.0
        elif cell.metric != bench.headline.metric:
            continue  # another metric of a benchmark (XQuAD's include): the findings read it, the table does not
        column = ColumnKey(bench.name, cell.lang, bench.headline.metric, bench.origin, judge=cell.judge or "")
        key = RowKey(cell.base_model, cell.train_data, cell.lr, cell.tuning)
        row = rows.setdefault((key, cell.source), ReferenceRow(key, cell.source))
        row.scores.setdefault(column, cell.score * factor)
    not_shown = [
        f"not shown: reference benchmark {name!r} ({n} published numbers): the catalogue has no such "
        "benchmark"
        for name, n in sorted(unknown.items())
    ]
    return list(rows.values()), not_shown


def load_reference(spec: str) -> ReferenceLoad:
    """``paper`` (the embedded 3,120 numbers of Chen et al. 2024) or a CSV with the same columns."""
    from nativeval.harness_ext.leaderboard.reference import load_reference as load_cells

    cells = load_cells(spec)
    rows, not_shown = reference_rows(cells)
    return ReferenceLoad(rows, cells, not_shown)

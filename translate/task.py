"""`nativeval translate-task`: a machine-translated (``mt_<tgt>_<bench>``) or round-trip-translated
(``rtt_<lang>_<bench>``) version of a catalogue task, written as a user-made lm-eval task.

Rows are read in the Hub schema from the source task's dataset (mirror or Hub), translated field by field with
the ordinary pipeline (backends, segment cache, format protection, resume after kill -9: every finished segment
is in ``<task>/.work/segments.sqlite``), and written back in the same schema and the same order, so lm-eval's
doc ids (and each row's ``id``) are those of the source. What is translated per benchmark is the catalogue's
``data/_translation.yaml``; extractive QA projects its answer spans through the translation (translate/span.py)
and excludes, and reports, the items whose span is lost. Empty or wrong-language segments are sent once more
(without the cache) and reported if they stay so. The task folder gets a quality report (quality.json, README).
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nativeval import __version__
from nativeval.harness_ext.catalogue import dataset_loader, user_tasks
from nativeval.harness_ext.catalogue.model import (
    CATALOGUE_DIR,
    CatalogueTask,
    Leaf,
    builtin_catalogue,
    unknown_name_message,
)
from nativeval.harness_ext.core.cache import KVCache, cache_key
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_jsonl, atomic_write_text, read_yaml
from nativeval.harness_ext.core.languages import language
from nativeval.harness_ext.core.paths import inside, safe_segment
from nativeval.harness_ext.core.resilience import RetryPolicy
from nativeval.translate.backends.base import Backend
from nativeval.translate.pipeline import segment_key, translate_records
from nativeval.translate.protect import split_field
from nativeval.translate.quality import chrf_report
from nativeval.translate.span import Span, locate, mark, plan_copies, project

SPEC_FILE = CATALOGUE_DIR / "_translation.yaml"
RETRY_SCHEMA = "nativeval-translate-retry/1"
USER_DATASET_PREFIX = "nativeval-user"
ORIGINS = {"rtt": "round_trip_translated", "mt": "machine_translated"}
FLAGGED = ("empty_output", "wrong_language")


@dataclass
class TaskTranslationRequest:
    task: str
    mode: str  # "rtt" | "mt"
    target: str | None = None  # mt: the target language
    via: str = "en"  # rtt: the pivot language
    out: Path | None = None  # the user task directory (default: user_tasks.user_tasks_dir())
    subjects: list[str] | None = None  # a subset of a group's members
    limit: int | None = None  # rows of the evaluation split (the first N, so doc ids stay the source's)
    fewshot_limit: int | None = None  # rows of each few-shot split
    keep_fewshot: bool = False  # few-shot splits copied untranslated
    concurrency: int | None = None
    max_cost: float | None = None
    policy: RetryPolicy | None = None
    progress: bool = True
    label: str | None = None  # a note on the translator for the README and provenance (e.g. "STAND-IN")


@dataclass
class TaskTranslation:
    name: str
    folder: Path
    report: dict[str, Any]


# --- resolving the request -------------------------------------------------------------------------------
def translation_spec(benchmark: str) -> dict[str, Any]:
    specs = read_yaml(SPEC_FILE)
    if benchmark not in specs:
        raise InputError(
            f"benchmark {benchmark!r} has no translation recipe yet; add one to "
            f"harness_ext/catalogue/data/{SPEC_FILE.name} ({', '.join(sorted(specs))} have one)"
        )
    return specs[benchmark]


def source_task(name: str, subjects: list[str] | None) -> tuple[CatalogueTask, list[Leaf]]:
    cat = builtin_catalogue()
    by_name = {t.name: t for t in cat.tasks}
    members = {leaf.name: (t, leaf) for t, leaf in cat.leaves() if t.is_group}
    if name in by_name:
        task, leaves = by_name[name], list(by_name[name].leaves)
    elif name in members:
        task, leaf = members[name]
        leaves = [leaf]
    else:
        raise InputError(unknown_name_message(name, [t.name for t in cat.tasks] + list(members)))
    if subjects:
        chosen = [leaf for leaf in leaves if leaf.member in subjects]
        unknown = sorted(set(subjects) - {leaf.member for leaf in chosen})
        if unknown:
            raise InputError(
                f"{name} has no subject {unknown[0]!r}; its subjects: "
                f"{', '.join(str(leaf.member) for leaf in leaves[:8])} ..."
            )
        leaves = chosen
    return task, leaves


def task_name(task: CatalogueTask, request: TaskTranslationRequest) -> tuple[str, str]:
    """The new task's name and language; unknown languages are the registry's one-line error."""
    language(task.language)
    if request.mode == "rtt":
        language(request.via)
        if request.via == task.language:
            raise InputError(
                f"--via {request.via} is the task's own language; pivot through another one (e.g. en)"
            )
        return user_tasks.translated_task_name(task, "rtt"), task.language
    if not request.target:
        raise InputError("give --to LANG (machine translation) or --round-trip --via LANG")
    language(request.target)
    if request.target == task.language:
        raise InputError(f"{task.name} is already in {task.language}; use --round-trip for a round trip")
    return user_tasks.translated_task_name(task, "mt", request.target), request.target


def leaf_config(task: CatalogueTask, leaf: Leaf) -> dict[str, Any]:
    """The installed leaf's lm-eval config (includes resolved, functions left as names)."""
    from nativeval.harness_ext.core.lm_eval_internals import load_task_yaml

    return load_task_yaml(user_tasks.leaf_yaml_path(task, leaf), resolve_functions=False)


def frame_leaf(task: CatalogueTask, leaf: Leaf, target: str) -> tuple[CatalogueTask, Leaf]:
    """Whose prompt and scoring the translated leaf reuses: the same benchmark's task in the target language
    when the catalogue has one (e.g. translated_es_xquad for XQuAD zh->es), else the source's own."""
    if target == task.language:
        return task, leaf
    for other in builtin_catalogue().tasks:
        if (
            other.benchmark.name == task.benchmark.name
            and other.language == target
            and not other.extra.get("user_made")
        ):
            for candidate in other.leaves:
                if candidate.member == leaf.member:
                    return other, candidate
    return task, leaf


def target_prefixes(
    task: CatalogueTask, leaves: list[Leaf], frames: dict, spec: dict[str, Any]
) -> dict[str, str]:
    """For a machine translation whose prompt is the target language's task (MGSM), the answer prefix that
    task's exemplars start with ("Пошаговое решение:"), read from its own few-shot rows: its prompt cuts
    exemplar answers by that prefix's length."""
    out: dict[str, str] = {}
    for leaf in leaves[:1]:
        frame_task, frame = frames[leaf.name]
        if frame_task is task:
            continue
        _, fewshot = eval_and_fewshot_splits(leaf_config(frame_task, frame), frame_task.benchmark.splits)
        for split in fewshot:
            for row in source_rows(frame_task, frame, split, 1):
                for name in spec.get("keep_prefix", []):
                    if isinstance(row.get(name), str) and _prefix_split(row[name])[0]:
                        out.setdefault(name, _prefix_split(row[name])[0])
    return out


def eval_and_fewshot_splits(config: dict[str, Any], splits: tuple[str, ...]) -> tuple[str, list[str]]:
    evaluation = config.get("test_split") or config.get("validation_split")
    if evaluation not in splits:
        evaluation = splits[-1]
    return evaluation, [s for s in splits if s != evaluation]


def leaf_functions(task: CatalogueTask, leaf: Leaf) -> dict[str, Any]:
    """The installed leaf's lm-eval config with its ``!function`` entries imported (callables)."""
    from nativeval.harness_ext.core.lm_eval_internals import load_task_yaml

    return load_task_yaml(user_tasks.leaf_yaml_path(task, leaf), resolve_functions=True)


def custom_dataset_rows(
    task: CatalogueTask, leaf: Leaf, split: str, limit: int | None
) -> list[dict[str, Any]]:
    """The rows the leaf's own ``custom_dataset`` gives lm-eval (called as lm-eval calls it), for benchmarks whose
    loader makes its rows itself (open QA samples its prompts from OASST1)."""
    config = leaf_functions(task, leaf)
    docs = config["custom_dataset"](**(config.get("metadata") or {}), **(config.get("dataset_kwargs") or {}))
    rows = [dict(row) for row in docs[split]]
    return rows[:limit] if limit is not None else rows


def row_selector(
    task: CatalogueTask, leaf: Leaf, spec: dict[str, Any], config: dict[str, Any]
) -> Callable | None:
    """``select_rows: process_docs``: the leaf's ``process_docs`` only picks its rows from a split it shares with
    its siblings (one subject or domain of a language's split), so only those rows are translated; lm-eval applies
    the same filter to the translation (its fields are copied), so doc ids stay the source's."""
    if spec.get("select_rows") != "process_docs" or "process_docs" not in config:
        return None
    return leaf_functions(task, leaf)["process_docs"]


def mirror_config(leaf: Leaf, spec: dict[str, Any]) -> str | None:
    """Where a leaf's translated rows go: its dataset config, or config and member when the leaf holds only its
    own rows of a shared split (``select_rows``)."""
    if spec.get("select_rows") and leaf.member is not None:
        return "-".join(str(part) for part in (leaf.config, leaf.member) if part is not None)
    return leaf.config


def source_rows(
    task: CatalogueTask, leaf: Leaf, split: str, limit: int | None, keep: Callable | None = None
) -> list[dict[str, Any]]:
    bench = task.benchmark
    dataset = dataset_loader.load_split(bench.dataset_id, leaf.config, split, bench.revision)
    prefix = (task.extra.get("dataset_filter") or {}).get("id_prefix")
    if keep is not None:
        dataset = keep(dataset)
    rows = [dict(row) for row in dataset if not prefix or str(row.get("id", "")).startswith(prefix)]
    return rows[:limit] if limit is not None else rows


# --- one translation leg over every unit of text -----------------------------------------------------------
@dataclass
class Leg:
    src: str
    tgt: str
    report: dict[str, Any] = field(default_factory=dict)


def _retry_key(backend: Backend, src: str, tgt: str, text: str) -> str:
    return cache_key(RETRY_SCHEMA, backend.name, backend.model, backend.prompt_version, src, tgt, text)


def translate_units(
    units: dict[str, str],
    backend: Backend,
    src: str,
    tgt: str,
    cache: KVCache,
    request: TaskTranslationRequest,
) -> tuple[dict[str, str], dict[str, Any]]:
    """Translate every unit (id -> text) in one pipeline run; empty or wrong-language results are sent once
    more without the cache and kept if that fixes them. Returns translations and the leg's report."""
    records = [{"id": uid, "text": text} for uid, text in units.items()]
    options = {"concurrency": request.concurrency, "max_cost": request.max_cost, "policy": request.policy}
    run = translate_records(records, ["text"], backend, src, tgt, cache, progress=request.progress, **options)
    out = {r["id"]: r["text"] for r in run.records}
    quality = run.report["quality"]
    flagged = {i["id"] for kind in FLAGGED for i in quality["issues"][kind]}
    if quality["counts"]["empty_output"] + quality["counts"]["wrong_language"] > len(flagged):
        flagged = set(units)  # more issues than listed: check them all again
    retry = [
        uid for uid in units if uid in flagged and _retry_key(backend, src, tgt, units[uid]) not in cache
    ]
    fixed = 0
    if retry:
        fresh = KVCache(None)
        again = translate_records(
            [{"id": u, "text": units[u]} for u in retry],
            ["text"],
            backend,
            src,
            tgt,
            fresh,
            progress=False,
            **options,
        )
        still = {i["id"] for kind in FLAGGED for i in again.report["quality"]["issues"][kind]}
        for record in again.records:
            uid = record["id"]
            cache.put(_retry_key(backend, src, tgt, units[uid]), True)
            if uid in still:
                continue
            fixed += 1
            out[uid] = record["text"]
            for piece in split_field(units[uid]):
                key = segment_key(backend, src, tgt, piece.segment)
                if piece.needs_translation and fresh.get(key) is not None:
                    cache.put(key, fresh.get(key))
        fresh.close()
    retried = sum(1 for uid in flagged if _retry_key(backend, src, tgt, units[uid]) in cache)
    checked = quality["fields_checked"] or 0
    wrong = quality["counts"]["wrong_language"]
    report = {
        "src": src,
        "tgt": tgt,
        **backend.description(),
        "segments": run.report["segments"],
        "cost": run.report["cost"],
        "wrong_language_rate": round(wrong / checked, 4) if checked else 0.0,
        "empty_outputs": quality["counts"]["empty_output"],
        "untranslated_segments": quality["counts"]["untranslated"],
        "median_length_ratio": quality["median_length_ratio"],
        "length_ratio_outliers": quality["counts"]["length_ratio_outlier"],
        "format_problems": quality["counts"]["format"],
        "retried": retried,
        "retry_requests_now": len(retry),
        "fixed_by_retry": fixed,
        "issues": quality["issues"],
    }
    return out, report


# --- rows <-> units ---------------------------------------------------------------------------------------
@dataclass
class Part:
    """One split of one leaf: its rows and what became of each."""

    leaf: str
    split: str
    rows: list[dict[str, Any]]
    translate: bool
    excluded: dict[int, dict[str, Any]] = field(default_factory=dict)  # row index -> why


def _prefix_split(text: str) -> tuple[str, str]:
    for i, ch in enumerate(text):
        if ch in ":：":
            return text[: i + 1], text[i + 1 :]
    return "", text


def field_units(part: Part, spec: dict[str, Any], tag: str) -> dict[str, str]:
    units = {}
    for i, row in enumerate(part.rows):
        for name in spec.get("translate", []):
            if isinstance(row.get(name), str) and row[name].strip():
                units[f"{tag}|{i}|{name}"] = row[name]
        for name in spec.get("keep_prefix", []):
            if isinstance(row.get(name), str) and row[name].strip():
                units[f"{tag}|{i}|{name}"] = _prefix_split(row[name])[1]
    return units


def apply_field_units(
    part: Part,
    spec: dict[str, Any],
    tag: str,
    done: dict[str, str],
    tgt: str,
    prefixes: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Translated rows; a ``keep_prefix`` field keeps its own prefix, or takes ``prefixes[field]`` (the prefix
    the target language's prompt cuts off, for a machine translation into it); a ``language_field`` says ``tgt``."""
    rows = []
    for i, row in enumerate(part.rows):
        new = dict(row)
        if spec.get("language_field") in row:
            new[spec["language_field"]] = tgt
        for name in spec.get("translate", []):
            if f"{tag}|{i}|{name}" in done:
                new[name] = done[f"{tag}|{i}|{name}"]
        for name in spec.get("keep_prefix", []):
            if f"{tag}|{i}|{name}" in done:
                prefix = (prefixes or {}).get(name, _prefix_split(row[name])[0])
                new[name] = prefix + done[f"{tag}|{i}|{name}"]
        rows.append(new)
    return rows


@dataclass
class QAPlan:
    """Extractive QA of one part: marked context copies and each row's spans and copy."""

    copies: dict[str, tuple[str, dict[Span, int], dict[Span, str]]] = field(default_factory=dict)
    row_copy: dict[int, str] = field(default_factory=dict)
    row_spans: dict[int, list[Span]] = field(default_factory=dict)


def qa_units(
    part: Part, spec: dict[str, Any], tag: str, excluded: dict[int, dict[str, Any]]
) -> tuple[dict[str, str], QAPlan]:
    plan = QAPlan()
    units: dict[str, str] = {}
    by_context: dict[str, list[int]] = {}
    for i, row in enumerate(part.rows):
        answers = row[spec["answers"]]
        spans = []
        for text, start in zip(answers["text"], answers["answer_start"], strict=True):
            span = locate(row[spec["context"]], text, start)
            if span is None:
                excluded[i] = {"reason": "answer not found in the source context", "answer": text}
                break
            spans.append(span)
        if i in excluded:
            continue
        plan.row_spans[i] = list(dict.fromkeys(spans))
        by_context.setdefault(row[spec["context"]], []).append(i)
        units[f"{tag}|{i}|question"] = row[spec["question"]]
    for c, (context, members) in enumerate(by_context.items()):
        assignment = plan_copies([plan.row_spans[i] for i in members])
        for copy in sorted(set(assignment)):
            spans = [
                s for i, a in zip(members, assignment, strict=True) if a == copy for s in plan.row_spans[i]
            ]
            marked, numbers = mark(context, spans)
            uid = f"{tag}|ctx{c}.{copy}|context"
            plan.copies[uid] = (marked, numbers, {s: context[s.start : s.end] for s in numbers})
            units[uid] = marked
        for i, a in zip(members, assignment, strict=True):
            plan.row_copy[i] = f"{tag}|ctx{c}.{a}|context"
    return units, plan


def apply_qa_units(
    part: Part,
    spec: dict[str, Any],
    tag: str,
    plan: QAPlan,
    done: dict[str, str],
    excluded: dict[int, dict[str, Any]],
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    projected = {
        uid: project(done[uid], numbers, originals) for uid, (_, numbers, originals) in plan.copies.items()
    }
    methods = {"marks": 0, "verbatim": 0}
    rows = []
    for i, row in enumerate(part.rows):
        if i in excluded:
            continue
        text, recovered = projected[plan.row_copy[i]]
        lost = [s for s in plan.row_spans[i] if s not in recovered]
        if lost:
            original = row[spec["context"]]
            excluded[i] = {
                "reason": "answer span lost in translation",
                "answer": original[lost[0].start : lost[0].end],
            }
            continue
        answers = {"text": [], "answer_start": []}
        for gold, start in zip(
            row[spec["answers"]]["text"], row[spec["answers"]]["answer_start"], strict=True
        ):
            span = locate(row[spec["context"]], gold, start)
            answers["text"].append(recovered[span].text)
            answers["answer_start"].append(recovered[span].start)
        for span in plan.row_spans[i]:
            methods[recovered[span].method] += 1
        rows.append(
            {
                **row,
                spec["context"]: text,
                spec["question"]: done[f"{tag}|{i}|question"],
                spec["answers"]: answers,
            }
        )
    return rows, methods


def translate_parts(
    parts: list[Part],
    spec: dict[str, Any],
    backend: Backend,
    src: str,
    tgt: str,
    cache: KVCache,
    request: TaskTranslationRequest,
    extra_units: dict[str, str] | None = None,
    prefixes: dict[str, str] | None = None,
) -> tuple[list[Part], dict[str, Any], dict[str, str]]:
    """One leg: every part's rows translated; excluded QA rows dropped (recorded in ``excluded``)."""
    units: dict[str, str] = dict(extra_units or {})
    plans: dict[int, QAPlan] = {}
    excluded: dict[int, dict[int, dict[str, Any]]] = {n: {} for n in range(len(parts))}
    for n, part in enumerate(parts):
        if not part.translate:
            continue
        if spec["kind"] == "extractive_qa":
            part_units, plans[n] = qa_units(part, spec, f"p{n}", excluded[n])
        else:
            part_units = field_units(part, spec, f"p{n}")
        units.update(part_units)
    done, report = (
        translate_units(units, backend, src, tgt, cache, request) if units else ({}, {"src": src, "tgt": tgt})
    )
    out_parts: list[Part] = []
    methods = {"marks": 0, "verbatim": 0}
    for n, part in enumerate(parts):
        if not part.translate:
            out_parts.append(Part(part.leaf, part.split, part.rows, False))
            continue
        if spec["kind"] == "extractive_qa":
            rows, found = apply_qa_units(part, spec, f"p{n}", plans[n], done, excluded[n])
            methods = {k: methods[k] + found[k] for k in methods}
        else:
            rows = apply_field_units(part, spec, f"p{n}", done, tgt, prefixes)
        out_parts.append(Part(part.leaf, part.split, rows, True, excluded[n]))
    if spec["kind"] == "extractive_qa":
        report["span_methods"] = methods
    return out_parts, report, {k: v for k, v in done.items() if extra_units and k in extra_units}


# --- the whole task ----------------------------------------------------------------------------------------
def _description(config: dict[str, Any]) -> str | None:
    text = config.get("description")
    return text if isinstance(text, str) and text.strip() and "{{" not in text and "{%" not in text else None


def _data_revision(files: list[Path]) -> str:
    digest = hashlib.sha256()
    for path in sorted(files):
        digest.update(str(path.relative_to(path.parents[2])).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:40]  # content-addressed, so as pinned as a commit SHA


def _recovery(
    parts_before: dict[tuple[str, str], int],
    parts: list[Part],
    excluded: list[dict[str, Any]],
    methods: dict[str, int],
) -> dict[str, Any]:
    items = sum(parts_before.values())
    kept = sum(len(p.rows) for p in parts if p.translate)
    return {
        "items": items,
        "recovered": kept,
        "excluded": items - kept,
        "rate": round(kept / items, 4) if items else None,
        "methods": methods,
        "excluded_items": excluded[:200],
    }


def resolve(request: TaskTranslationRequest) -> tuple[CatalogueTask, list[Leaf], dict[str, Any], str, str]:
    """Source task, its chosen leaves, the benchmark's recipe, the new task's name and language; every bad
    name is a one-line InputError before anything is loaded or sent."""
    task, leaves = source_task(request.task, request.subjects)
    spec = translation_spec(task.benchmark.name)
    name, target = task_name(task, request)
    return task, leaves, spec, name, target


def translate_task(
    backend: Backend, request: TaskTranslationRequest, echo: Callable[[str], None] = lambda _line: None
) -> TaskTranslation:
    task, leaves, spec, name, target = resolve(request)
    root = Path(request.out) if request.out else user_tasks.user_tasks_dir()
    folder = inside(root, root / safe_segment(name), what="the user task folder")
    bench = task.benchmark

    parts: list[Part] = []
    configs: dict[str, dict[str, Any]] = {}
    eval_split_of: dict[str, str] = {}
    for leaf in leaves:
        configs[leaf.name] = leaf_config(task, leaf)
        if spec.get("rows") == "custom_dataset":
            evaluation = configs[leaf.name]["test_split"]
            eval_split_of[leaf.name] = evaluation
            parts.append(
                Part(leaf.name, evaluation, custom_dataset_rows(task, leaf, evaluation, request.limit), True)
            )
            continue
        evaluation, fewshot = eval_and_fewshot_splits(configs[leaf.name], bench.splits)
        eval_split_of[leaf.name] = evaluation
        keep = row_selector(task, leaf, spec, configs[leaf.name])
        parts.append(
            Part(leaf.name, evaluation, source_rows(task, leaf, evaluation, request.limit, keep), True)
        )
        for split in fewshot:
            rows = source_rows(task, leaf, split, request.fewshot_limit, keep)
            parts.append(Part(leaf.name, split, rows, not request.keep_fewshot))
    original = {(p.leaf, p.split): p.rows for p in parts}
    sizes = {(p.leaf, p.split): len(p.rows) for p in parts if p.translate}

    frames = {leaf.name: frame_leaf(task, leaf, target) for leaf in leaves}
    descriptions = {}
    if request.mode == "mt":
        for leaf in leaves:
            frame_task, frame = frames[leaf.name]
            text = _description(leaf_config(frame_task, frame)) if frame_task is task else None
            if text:
                descriptions[f"description|{leaf.name}"] = text

    (folder / ".work").mkdir(parents=True, exist_ok=True)
    legs: list[dict[str, Any]] = []
    with KVCache(folder / ".work" / "segments.sqlite") as cache:
        if request.mode == "rtt":
            echo(f"{task.name}: {task.language} -> {request.via} (leg 1 of 2)")
            pivot, first, _ = translate_parts(
                parts, spec, backend, task.language, request.via, cache, request
            )
            excluded_first = _excluded(parts, pivot, original, eval_split_of, "pivot leg")
            echo(f"{task.name}: {request.via} -> {task.language} (leg 2 of 2)")
            final, second, _ = translate_parts(
                pivot, spec, backend, request.via, task.language, cache, request
            )
            excluded = excluded_first + _excluded(pivot, final, original, eval_split_of, "back leg")
            legs = [{"leg": "forward", **first}, {"leg": "back", **second}]
        else:
            echo(f"{task.name}: {task.language} -> {target}")
            final, only, translated_descriptions = translate_parts(
                parts,
                spec,
                backend,
                task.language,
                target,
                cache,
                request,
                descriptions,
                target_prefixes(task, leaves, frames, spec),
            )
            excluded = _excluded(parts, final, original, eval_split_of, "translation")
            descriptions = translated_descriptions
            legs = [{"leg": "translation", **only}]
            pivot = None
    methods = legs[-1].get("span_methods", {})

    quality = {
        "task": name,
        "source_task": task.name,
        "legs": [{k: v for k, v in leg.items() if k != "issues"} for leg in legs],
        "round_trip_chrf": _round_trip_chrf(original, final, spec) if request.mode == "rtt" else None,
        "span_recovery": _recovery(sizes, final, excluded, methods)
        if spec["kind"] == "extractive_qa"
        else None,
        "issues": {leg["leg"]: leg.get("issues", {}) for leg in legs},
    }
    configs_out = {leaf.name: mirror_config(leaf, spec) for leaf in leaves}
    written = _write_task(
        folder,
        name,
        target,
        task,
        leaves,
        final,
        pivot,
        frames,
        descriptions,
        request,
        backend,
        quality,
        excluded,
        configs_out,
    )
    user_tasks.refresh_user_dir(root)
    return TaskTranslation(name, folder, {**quality, "files": written})


def _excluded(
    before: list[Part], after: list[Part], original: dict, eval_split_of: dict[str, str], where: str
) -> list[dict[str, Any]]:
    """Excluded rows as source doc ids (their index in the source split) with the reason."""
    out = []
    for part_before, part_after in zip(before, after, strict=True):
        if not part_after.excluded:
            continue
        source = original[(part_before.leaf, part_before.split)]
        index_of = {id(row): n for n, row in enumerate(source)}
        for i, why in sorted(part_after.excluded.items()):
            row = part_before.rows[i]
            doc_id = index_of.get(id(row), _source_index(source, row))
            out.append(
                {
                    "leaf": part_before.leaf,
                    "split": part_before.split,
                    "doc_id": doc_id,
                    "id": row.get("id"),
                    "stage": where,
                    "evaluated": part_before.split == eval_split_of[part_before.leaf],
                    **why,
                }
            )
    return out


def _source_index(source: list[dict[str, Any]], row: dict[str, Any]) -> int | None:
    for n, candidate in enumerate(source):
        if "id" in row and candidate.get("id") == row["id"]:
            return n
    return None


def _round_trip_chrf(original: dict, final: list[Part], spec: dict[str, Any]) -> dict[str, Any]:
    names = (
        [spec["context"], spec["question"]]
        if spec["kind"] == "extractive_qa"
        else spec.get("translate", []) + spec.get("keep_prefix", [])
    )
    out = {}
    for name in names:
        before, after = [], []
        for part in final:
            if not part.translate:
                continue
            by_key = {_row_key(r, n): r for n, r in enumerate(original[(part.leaf, part.split)])}
            for n, row in enumerate(part.rows):
                source = by_key.get(_row_key(row, n))
                if (
                    source is not None
                    and isinstance(source.get(name), str)
                    and isinstance(row.get(name), str)
                ):
                    before.append(source[name])
                    after.append(row[name])
        if before:
            out[name] = chrf_report(before, after)
    return out


def _row_key(row: dict[str, Any], index: int) -> Any:
    return row.get("id", index)


def _provenance(
    name: str,
    target: str,
    task: CatalogueTask,
    leaf: Leaf | None,
    request: TaskTranslationRequest,
    backend: Backend,
    dataset: dict[str, Any],
    excluded: list[dict[str, Any]],
) -> dict[str, Any]:
    bench = task.benchmark
    translator = f"{backend.name} {backend.model}".strip()
    record: dict[str, Any] = {
        "benchmark": bench.name,
        "task": name,
        "language": target,
        "origin": ORIGINS[request.mode],
        "translator": translator,
        "source_language": task.language,
        "task_type": bench.task_type,
        "num_fewshot": bench.num_fewshot,
        "metrics": list(bench.metrics),
        "dataset": dataset,
        "lm_eval_builtin": None,
        "user_made": True,
        "source_task": task.name,
        "source_dataset": {
            "id": bench.dataset_id,
            "config": leaf.config if leaf else None,
            "revision": bench.revision,
            "origin": bench.origin,
        },
        "translation": {
            "backend": backend.name,
            "model": backend.model,
            "prompt_version": backend.prompt_version or None,
            "mode": request.mode,
            "src": task.language,
            "tgt": target,
            "pivot_language": request.via if request.mode == "rtt" else None,
            "fewshot": "original" if request.keep_fewshot else "translated",
            "limit": request.limit,
            "fewshot_limit": request.fewshot_limit,
            "label": request.label,
            "nativeval_version": __version__,
            "created": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        },
        "doc_ids": "the source task's (same order; `excluded_doc_ids` were left out)",
        "excluded_doc_ids": [e["doc_id"] for e in excluded if e["evaluated"]],
    }
    if leaf is not None and leaf.member is not None:
        record["subtask"] = leaf.member
    return record


def _write_task(
    folder: Path,
    name: str,
    target: str,
    task: CatalogueTask,
    leaves: list[Leaf],
    parts: list[Part],
    pivot: list[Part] | None,
    frames: dict,
    descriptions: dict[str, str],
    request: TaskTranslationRequest,
    backend: Backend,
    quality: dict[str, Any],
    excluded: list[dict[str, Any]],
    configs_out: dict[str, str | None],
) -> list[str]:
    from nativeval.harness_ext.catalogue.dataset_loader import mirror_path

    dataset_id = f"{USER_DATASET_PREFIX}/{name}"
    data_dir = folder / user_tasks.DATA_SUBDIR
    files: dict[Path, str] = {}
    all_files: list[Path] = []
    entry_leaves = []
    written_splits = list(dict.fromkeys(part.split for part in parts))
    for leaf in leaves:
        leaf_name = name if not task.is_group else f"{name}_{leaf.member}"
        leaf_files = []
        splits = []
        for part in parts:
            if part.leaf != leaf.name:
                continue
            path = mirror_path(data_dir, dataset_id, configs_out[leaf.name], part.split)
            atomic_write_jsonl(path, part.rows)
            leaf_files.append(path)
            all_files.append(path)
            splits.append(part.split)
        for part in pivot or []:
            if part.leaf == leaf.name and part.translate:
                atomic_write_jsonl(
                    mirror_path(folder / "pivot", dataset_id, configs_out[leaf.name], part.split), part.rows
                )
        dataset = {
            "id": dataset_id,
            "config": configs_out[leaf.name],
            "revision": _data_revision(leaf_files),
            "splits": splits,
            "mirror": user_tasks.DATA_SUBDIR,
        }
        leaf_excluded = [e for e in excluded if e["leaf"] == leaf.name]
        record = _provenance(
            name,
            target,
            task,
            leaf if task.is_group or leaf.config else None,
            request,
            backend,
            dataset,
            leaf_excluded,
        )
        frame_task, frame = frames[leaf.name]
        files[folder / f"{leaf_name}.yaml"] = user_tasks.render_leaf_yaml(
            stub=user_tasks.stub_for(user_tasks.leaf_yaml_path(frame_task, frame)),
            task=leaf_name,
            dataset=dataset,
            provenance=record,
            version=task.benchmark.version,
            description=descriptions.get(f"description|{leaf.name}"),
            source=f"{task.name} ({request.mode})",
        )
        entry_leaves.append({"name": leaf_name, "member": leaf.member, "config": configs_out[leaf.name]})
    if task.is_group:
        files[folder / f"_{name}.yaml"] = user_tasks.render_group_yaml(
            name,
            [leaf["name"] for leaf in entry_leaves],
            list(task.aggregate_metrics),
            task.benchmark.version,
            _provenance(
                name,
                target,
                task,
                None,
                request,
                backend,
                {"id": dataset_id, "revision": None, "splits": written_splits},
                excluded,
            ),
            source=f"{task.name} ({request.mode})",
        )
    files[folder / "utils.py"] = user_tasks.UTILS_PY
    entry = user_tasks.entry_for(
        name,
        target,
        task,
        entry_leaves,
        _provenance(
            name,
            target,
            task,
            None,
            request,
            backend,
            {"id": dataset_id, "revision": None, "splits": written_splits},
            excluded,
        ),
        revision=_data_revision(all_files),
    )
    files[folder / "README.md"] = readme(name, entry["provenance"], quality)
    for path, text in files.items():
        atomic_write_text(path, text)
    atomic_write_json(folder / "quality.json", quality)
    atomic_write_json(folder / user_tasks.ENTRY_FILE, entry)  # last: a task folder without it is not listed
    return sorted(
        str(p.relative_to(folder)) for p in [*files, folder / "quality.json", folder / user_tasks.ENTRY_FILE]
    )


# --- the README's quality section ------------------------------------------------------------------------------
def quality_lines(quality: dict[str, Any]) -> list[str]:
    lines = []
    for leg in quality["legs"]:
        seg = leg.get("segments", {})
        ratio = leg.get("median_length_ratio")
        lines.append(
            f"{leg['leg']} {leg['src']}->{leg['tgt']}: wrong language {leg.get('wrong_language_rate', 0):.1%}, "
            f"empty {leg.get('empty_outputs', 0)}, untranslated {leg.get('untranslated_segments', 0)}, "
            f"median length ratio {ratio if ratio is not None else 'n/a'}, "
            f"{seg.get('unique', 0)} unique segments ({seg.get('cached', 0)} cached, {seg.get('sent', 0)} sent), "
            f"retried {leg.get('retried', 0)} (fixed {leg.get('fixed_by_retry', 0)})"
        )
    for name, chrf in (quality.get("round_trip_chrf") or {}).items():
        lines.append(
            f"round-trip chrF {name}: corpus {chrf['corpus_chrf']}, mean sentence {chrf['mean_sentence_chrf']}"
        )
    recovery = quality.get("span_recovery")
    if recovery:
        rate = f"{recovery['rate']:.1%}" if recovery["rate"] is not None else "n/a"
        lines.append(
            f"answer spans recovered: {recovery['recovered']}/{recovery['items']} items ({rate}); "
            f"excluded {recovery['excluded']}"
        )
    return lines


def readme(name: str, provenance: dict[str, Any], quality: dict[str, Any]) -> str:
    t = provenance["translation"]
    how = (
        f"round trip {t['src']} -> {t['pivot_language']} -> {t['src']}"
        if t["mode"] == "rtt"
        else f"machine translation {t['src']} -> {t['tgt']}"
    )
    excluded = (quality.get("span_recovery") or {}).get("excluded_items", [])
    rows = "\n".join(
        f"| {e['split']} | {e['doc_id']} | {e.get('id') or ''} | {e['stage']}: {e['reason']} |"
        for e in excluded[:50]
    )
    return "\n".join(
        [
            f"# {name}",
            "",
            f"User-made task, generated by `nativeval translate-task` ({how} of `{provenance['source_task']}`).",
            f"Translator: {t['backend']} `{t['model']}`"
            + (f", prompt {t['prompt_version']}" if t["prompt_version"] else "")
            + f"; few-shot exemplars: {t['fewshot']}. Origin: `{provenance['origin']}`.",
            *([f"**Translator note: {t['label']}**"] if t.get("label") else []),
            "Document ids are the source task's, in the same order, so scores pair item by item with it.",
            "",
            "## Quality",
            "",
            *[f"- {line}" for line in quality_lines(quality)],
            "",
            *(
                ["## Excluded items", "", "| split | doc_id | id | why |", "|---|---|---|---|", rows, ""]
                if excluded
                else []
            ),
            "Full figures: quality.json. Provenance: nativeval_task.json and every task YAML's metadata.",
            "",
        ]
    )


def wrong_language_summary(quality: dict[str, Any], limit: float) -> str | None:
    """A one-line summary when a leg's wrong-language rate exceeds ``limit``, else None."""
    over = [leg for leg in quality["legs"] if leg.get("wrong_language_rate", 0) > limit]
    if not over:
        return None
    worst = max(over, key=lambda leg: leg["wrong_language_rate"])
    return (
        f"wrong-language rate {worst['wrong_language_rate']:.1%} in the {worst['leg']} leg "
        f"({worst['src']}->{worst['tgt']}) exceeds --max-wrong-language {limit:.1%}; the output is kept, "
        "see the quality report"
    )

"""`nativeval eval`: lm-eval's simple_evaluate over nativeval's tasks only, with lm-eval's own output files.

lm-eval 0.4.13 builds every requested task (and so loads every dataset) before it evaluates anything, and a
dataset that fails to load aborts the whole run with a traceback. So data availability is checked up front:
a missing dataset is a one-line error naming it and the fix, or, with ``skip_missing``, the catalogue tasks
whose data is missing are left out with a warning and the others run.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_ext.catalogue.datasets import hub_offline
from harness_ext.catalogue.mirror import TaskData, check
from harness_ext.catalogue.model import TASKS_DIR, Catalogue, catalogue
from harness_ext.core.errors import DatasetUnavailable, InputError

log = logging.getLogger(__name__)


@dataclass
class EvalRequest:
    model: str
    model_args: str
    tasks: list[str]
    output_path: Path
    limit: float | None = None
    apply_chat_template: bool = False
    log_samples: bool = True
    batch_size: str = "1"
    device: str | None = None
    skip_missing: bool = False


@dataclass
class EvalOutcome:
    results: dict[str, Any]
    results_file: Path | None
    samples_files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def parse_task_list(tasks: str | Sequence[str]) -> list[str]:
    items = tasks.split(",") if isinstance(tasks, str) else [t for part in tasks for t in part.split(",")]
    names = [t.strip() for t in items if t.strip()]
    if not names:
        raise InputError("no task given: pass --tasks, e.g. --tasks native_zh,translated_zh")
    return names


def tasks_with_data(names: list[str], skip_missing: bool, cat: Catalogue) -> tuple[list[str], list[str]]:
    """The names to hand to lm-eval and the catalogue tasks left out for missing data."""
    reports = check(names, cat)
    missing = [r for r in reports if r.missing]
    if not missing:
        return names, []
    if not skip_missing:
        first = missing[0]
        more = f" (and {len(missing) - 1} more task(s))" if len(missing) > 1 else ""
        raise DatasetUnavailable(
            f"data for {first.task.name} is missing: {first.task.benchmark.dataset_id} "
            f"{', '.join(first.missing[:3])}{' ...' if len(first.missing) > 3 else ''}{more}. "
            "Fix: `nativeval data download --tasks ... --to DIR` and add DIR to NATIVEVAL_DATA_DIR, allow the "
            "Hub, or pass --skip-missing-data to run the other tasks"
        )
    skipped = [r.task.name for r in missing]
    for report in missing:
        log.warning("skipping %s: its data is missing (%s)", report.task.name, ", ".join(report.missing[:3]))
    kept = [name for r in reports if not r.missing for name in _lm_eval_names(r)]
    if not kept:
        raise DatasetUnavailable(f"no requested task has its data here (missing: {', '.join(skipped)})")
    return kept, skipped


MODEL_PATH_ARGS = ("pretrained", "peft", "lora_local_path", "tokenizer", "delta")


def check_model_paths(model_args: dict[str, Any]) -> None:
    """A model argument naming a missing local directory (or a Hub id while offline) is a one-line error,
    not a transformers traceback after the tasks were built."""
    for key in MODEL_PATH_ARGS:
        value = model_args.get(key)
        if not isinstance(value, str) or not value or Path(value).expanduser().exists():
            continue
        looks_local = value.startswith(("/", "./", "../", "~")) or value.count("/") != 1
        if looks_local:
            raise InputError(f"--model-args {key}={value}: no such directory; give an existing model directory or a Hub id")
        if hub_offline():
            raise InputError(
                f"--model-args {key}={value}: not a local directory and the Hugging Face Hub is offline "
                "(HF_HUB_OFFLINE=1); download the model first or pass its local directory"
            )


def _lm_eval_names(report: TaskData) -> list[str]:
    if len(report.sources) == len(report.task.leaves):
        return [report.task.name]
    return [leaf.name for leaf, _ in report.sources]


def _newest(folder: Path, pattern: str, since: float) -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.stat().st_mtime >= since)


def run(request: EvalRequest, after_eval: Callable[[EvalOutcome], None] | None = None) -> EvalOutcome:
    """Evaluate, write ``results_*.json`` (+ ``samples_*.jsonl``) as `lm_eval --output_path` does."""
    import time

    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager
    from lm_eval.utils import simple_parse_args_string

    cat = catalogue()
    # resolving the names here (unknown ones: a one-line error with close matches) precedes any loading
    names, skipped = tasks_with_data(parse_task_list(request.tasks), request.skip_missing, cat)

    model_args = simple_parse_args_string(request.model_args)
    check_model_paths(model_args)
    from harness_ext.catalogue.user_tasks import include_paths

    task_manager = TaskManager(include_path=[str(TASKS_DIR), *include_paths()], include_defaults=False,
                               metadata=dict(model_args))
    tracker = EvaluationTracker(output_path=str(request.output_path))
    started = time.time()
    results = simple_evaluate(
        model=request.model,
        model_args=request.model_args,
        tasks=names,
        batch_size=request.batch_size,
        device=request.device,
        limit=request.limit,
        log_samples=request.log_samples,
        apply_chat_template=request.apply_chat_template,
        evaluation_tracker=tracker,
        task_manager=task_manager,
    )
    if results is None:  # non-zero ranks of a distributed run write nothing
        return EvalOutcome(results={}, results_file=None, skipped=skipped)
    samples = results.pop("samples", None) if request.log_samples else None
    tracker.save_results_aggregated(results=results, samples=samples)
    if samples is not None:
        for task_name in results["configs"]:
            tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    out = Path(request.output_path)
    result_files = _newest(out, "results_*.json", started) if out.suffix != ".json" else []
    outcome = EvalOutcome(results=results, results_file=result_files[-1] if result_files else None,
                          samples_files=_newest(out, "samples_*.jsonl", started) if out.suffix != ".json" else [],
                          skipped=skipped)
    # --- judge hook -------------------------------------------------------------------------------------
    # A judge step (open-QA verdicts from the samples files) plugs in here through `after_eval`, so that
    # `nativeval eval --judge ...` runs it right after lm-eval wrote its files.
    if after_eval is not None:
        after_eval(outcome)
    return outcome


def summary_table(results: dict[str, Any]) -> str:
    from lm_eval.utils import make_table

    text = make_table(results)
    if results.get("groups"):
        text += "\n" + make_table(results, "groups")
    return text


def results_json(results: dict[str, Any]) -> str:
    from lm_eval.utils import handle_non_serializable

    return json.dumps(results, indent=2, default=handle_non_serializable, ensure_ascii=False)

"""Every use of lm-eval 0.4.13 internals, in one place (tests/harness_ext/core/test_lm_eval_internals.py
checks that each still exists in the installed lm-eval).

lm-eval's public API is ``simple_evaluate``, ``TaskManager``, ``EvaluationTracker`` and ``lm_eval.utils``.
What nativeval needs beyond it: the ``run`` command's parser (so that ``nativeval eval`` takes exactly its
options), its parsers for ``--seed`` and ``--cache_requests``, its task-YAML loader (``!function`` tags),
the per-document ``tqdm`` of ``lm_eval.api.task`` (one bar per phase instead of one per task), the text of
two log messages (filtered for nativeval's own tasks), and how ``EvaluationTracker`` names and fills its
files (so results can be written atomically).
"""

from __future__ import annotations

import argparse
import contextlib
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

# --- log messages nativeval filters (logger name, message start or text) ------------------------------
FEWSHOT_OVERRIDE_LOGGER = "lm_eval.evaluator"
FEWSHOT_OVERRIDE_PREFIX = "Overwriting default num_fewshot of "
CUSTOM_DATASET_LOGGER = "lm_eval.api.task"
CUSTOM_DATASET_NOTICE = "Custom kwargs can be passed to `--metadata`"


# --- the `lm_eval run` command line ---------------------------------------------------------------------
def run_parser() -> argparse.ArgumentParser:
    """lm-eval's own ``run`` sub-command parser."""
    from lm_eval._cli.run import Run

    subparsers = argparse.ArgumentParser(prog="lm-eval").add_subparsers(dest="command")
    return Run(subparsers)._parser


def run_option_strings() -> set[str]:
    """Every option string (``--model_args``, ``-a``, ...) of ``lm_eval run``, help excepted."""
    return {s for action in run_parser()._actions for s in action.option_strings if s not in ("-h", "--help")}


def parse_seed_list(value: str, defaults: str) -> list[int | None]:
    """lm-eval's ``--seed``: one integer for all four seeds, or
    ``python,numpy,torch,fewshot`` (None = unset)."""
    from lm_eval._cli.utils import _int_or_none_list_arg_type

    return _int_or_none_list_arg_type(3, 4, defaults, value)


def parse_cache_requests(value: str | None) -> dict[str, bool]:
    """lm-eval's ``--cache_requests true|refresh|delete`` as ``simple_evaluate``'s three keywords."""
    from lm_eval._cli.utils import request_caching_arg_to_dict

    try:
        return request_caching_arg_to_dict(value)
    except argparse.ArgumentTypeError as err:
        raise ValueError(str(err)) from None


# --- task YAMLs -----------------------------------------------------------------------------------------
def load_task_yaml(path: str | Path, *, resolve_functions: bool) -> dict[str, Any]:
    """A task YAML as lm-eval reads it (``include:`` resolved; ``!function`` entries
    imported or left as names)."""
    from lm_eval.tasks._yaml_loader import load_yaml

    return load_yaml(path, resolve_func=resolve_functions)


# --- progress -------------------------------------------------------------------------------------------
@contextlib.contextmanager
def per_task_document_loop(replacement: Callable[..., Any]) -> Iterator[None]:
    """``lm_eval.api.task``'s per-document ``tqdm`` (one bar per task while requests are built) replaced by
    ``replacement`` inside the block."""
    import lm_eval.api.task as lm_eval_task

    original = getattr(lm_eval_task, "tqdm", None)
    if original is None:
        yield
        return
    lm_eval_task.tqdm = replacement
    try:
        yield
    finally:
        lm_eval_task.tqdm = original


# --- results files ----------------------------------------------------------------------------------------
def tracker_results_file(tracker: Any) -> Path:
    """Where ``EvaluationTracker.save_results_aggregated`` would write (it also sets ``tracker.date_id``)."""
    from datetime import datetime

    tracker.date_id = datetime.now().isoformat().replace(":", "-")
    path = Path(tracker.output_path)
    if path.suffix == ".json":
        return path.with_name(f"{path.stem}_{tracker.date_id}.json")
    return path / str(tracker.general_config_tracker.model_name_sanitized) / f"results_{tracker.date_id}.json"


def tracker_samples_file(tracker: Any, task_name: str) -> Path:
    """Where ``EvaluationTracker.save_results_samples`` would write one task's samples."""
    path = Path(tracker.output_path)
    folder = (
        path.parent
        if path.suffix == ".json"
        else path / str(tracker.general_config_tracker.model_name_sanitized)
    )
    return folder / f"samples_{task_name}_{tracker.date_id}.jsonl"


def tracker_results_document(
    tracker: Any, results: dict[str, Any], samples: dict[str, list] | None
) -> dict[str, Any]:
    """The results document ``save_results_aggregated`` writes: task hashes and the
    run's general config added."""
    from dataclasses import asdict

    from lm_eval.utils import hash_string

    tracker.general_config_tracker.log_end_time()
    hashes = {
        task: hash_string("".join(s["doc_hash"] + s["prompt_hash"] + s["target_hash"] for s in rows))
        for task, rows in (samples or {}).items()
    }
    return {**results, "task_hashes": hashes, **asdict(tracker.general_config_tracker)}


def sanitized_sample(sample: dict[str, Any]) -> dict[str, Any]:
    """One samples-file row as ``save_results_samples`` writes it (arguments flattened, responses listed)."""
    from lm_eval.utils import sanitize_list

    row = dict(sample)
    row["arguments"] = {
        f"gen_args_{i}": {f"arg_{j}": part for j, part in enumerate(arg)}
        for i, arg in enumerate(sample["arguments"])
    }
    row["resps"] = sanitize_list(sample["resps"])
    row["filtered_resps"] = sanitize_list(sample["filtered_resps"])
    row["target"] = str(sample["target"])
    return row


def json_default(value: Any) -> Any:
    """lm-eval's fallback for values json cannot write (numpy numbers, sets, ...)."""
    from lm_eval.utils import handle_non_serializable

    return handle_non_serializable(value)


def push_outputs(
    tracker: Any, results_file: Path, samples_files: list[Path], notify: Callable[[str], None]
) -> None:
    """``--hf_hub_log_args push_results_to_hub=True,...``: upload the files written, as lm-eval's tracker does
    (a failed upload is a warning there and here: the local files are the run's record)."""
    if not (tracker.push_results_to_hub or tracker.push_samples_to_hub) or tracker.api is None:
        return
    model_name = str(tracker.general_config_tracker.model_name)
    try:
        if tracker.push_results_to_hub:
            repo_id = tracker.results_repo if tracker.public_repo else tracker.results_repo_private
            tracker.api.create_repo(
                repo_id=repo_id, repo_type="dataset", private=not tracker.public_repo, exist_ok=True
            )
            tracker.api.upload_file(
                repo_id=repo_id,
                path_or_fileobj=str(results_file),
                path_in_repo=f"{model_name}/{results_file.name}",
                repo_type="dataset",
                commit_message=f"Adding aggregated results for {model_name}",
            )
        if tracker.push_samples_to_hub and samples_files:
            repo_id = tracker.details_repo if tracker.public_repo else tracker.details_repo_private
            tracker.api.create_repo(
                repo_id=repo_id, repo_type="dataset", private=not tracker.public_repo, exist_ok=True
            )
            tracker.api.upload_folder(
                repo_id=repo_id,
                folder_path=str(samples_files[0].parent),
                path_in_repo=tracker.general_config_tracker.model_name_sanitized,
                repo_type="dataset",
                commit_message=f"Adding samples results to {model_name}",
            )
        tracker.recreate_metadata_card()
    except Exception as err:  # noqa: BLE001 - the Hub raises many types
        notify(
            "could not push the results to the Hugging Face Hub: "
            f"{str(err).splitlines()[0] if str(err) else err}"
        )

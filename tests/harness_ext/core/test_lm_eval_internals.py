"""Every lm-eval internal nativeval uses (all in nativeval.harness_ext.core.lm_eval_internals) still exists in
the installed lm-eval, and no other module reaches into them."""

from __future__ import annotations

import inspect
import logging
import re
from pathlib import Path

import lm_eval.api.task
import lm_eval.evaluator
import pytest

from nativeval.harness_ext.core import lm_eval_internals as internals

REPO = Path(__file__).resolve().parents[3]


def test_the_run_parser_and_its_value_parsers():
    options = internals.run_option_strings()
    assert {
        "--model_args",
        "--tasks",
        "--output_path",
        "--trust_remote_code",
        "--predict_only",
        "-a",
    } <= options
    assert internals.parse_seed_list("42", "0,1234,1234,1234") == [42, 42, 42, 42]
    assert internals.parse_seed_list("0,None,8,52", "0,1234,1234,1234") == [0, None, 8, 52]
    assert internals.parse_cache_requests("refresh") == {
        "cache_requests": True,
        "rewrite_requests_cache": True,
        "delete_requests_cache": False,
    }
    with pytest.raises(ValueError, match="choose from true, refresh, delete"):
        internals.parse_cache_requests("maybe")


def test_task_yaml_loader_resolves_includes_and_functions(repo_root):
    yaml_path = next((repo_root / "tasks").rglob("translated_zh_mgsm.yaml"))
    as_names = internals.load_task_yaml(yaml_path, resolve_functions=False)
    as_functions = internals.load_task_yaml(yaml_path, resolve_functions=True)
    assert as_names["task"] == "translated_zh_mgsm" and "custom_dataset" in as_names
    assert callable(as_functions["custom_dataset"]) and not callable(as_names["custom_dataset"])


def test_the_document_loop_is_replaced_and_restored():
    original = lm_eval.api.task.tqdm
    seen = []
    with internals.per_task_document_loop(lambda iterable, *a, **k: seen.append(1) or iterable):
        assert lm_eval.api.task.tqdm is not original
        lm_eval.api.task.tqdm(range(3))
    assert lm_eval.api.task.tqdm is original and seen == [1]


def test_the_filtered_log_messages_are_still_lm_evals():
    assert internals.FEWSHOT_OVERRIDE_PREFIX.strip() in inspect.getsource(lm_eval.evaluator)
    assert lm_eval.evaluator.eval_logger.name == internals.FEWSHOT_OVERRIDE_LOGGER
    assert internals.CUSTOM_DATASET_NOTICE in inspect.getsource(lm_eval.api.task)
    assert logging.getLogger(lm_eval.api.task.__name__).name == internals.CUSTOM_DATASET_LOGGER


def test_the_tracker_pieces_exist():
    from lm_eval.loggers import EvaluationTracker

    tracker = EvaluationTracker(output_path="/nonexistent/out")
    for name in (
        "general_config_tracker",
        "push_results_to_hub",
        "push_samples_to_hub",
        "api",
        "output_path",
        "recreate_metadata_card",
    ):
        assert hasattr(tracker, name), name
    general = tracker.general_config_tracker
    assert hasattr(general, "model_name_sanitized") and hasattr(general, "log_end_time")
    assert internals.tracker_results_file(tracker).name.startswith("results_")
    assert internals.tracker_samples_file(tracker, "t").name.startswith("samples_t_")
    row = internals.sanitized_sample(
        {"arguments": [("prompt", {"until": []})], "resps": [["a"]], "filtered_resps": ["a"], "target": 3}
    )
    assert (
        row["arguments"] == {"gen_args_0": {"arg_0": "prompt", "arg_1": {"until": []}}}
        and row["target"] == "3"
    )


def test_no_other_module_reaches_into_lm_eval_internals():
    private = re.compile(r"lm_eval\.(_cli|tasks\._yaml_loader)|lm_eval_task\.tqdm|api\.task\.tqdm\s*=")
    offenders = []
    for folder in ("harness_ext", "translate", "finetune", "tasks"):
        for path in (REPO / folder).rglob("*.py"):
            if path.name != "lm_eval_internals.py" and private.search(path.read_text(encoding="utf-8")):
                offenders.append(str(path.relative_to(REPO)))
    if private.search((REPO / "cli.py").read_text(encoding="utf-8")):
        offenders.append("cli.py")
    assert offenders == []

"""What `nativeval eval` drops from lm-eval's console output: per-task notices about nativeval's tasks only."""

from __future__ import annotations

import logging

import pytest

from harness_ext.catalogue.model import catalogue
from harness_ext.eval.run import quiet_phases


@pytest.mark.parametrize(("logger_name", "message", "shown"), [
    ("lm_eval.api.task", "translated_zh_xquad: Custom kwargs can be passed to `--metadata` in console", False),
    ("lm_eval.api.task", "native_zh_cmmlu_agronomy: Custom kwargs can be passed to `--metadata` in console", False),
    ("lm_eval.api.task", "ruler_niah: Custom kwargs can be passed to `--metadata` in console", True),
    ("lm_eval.evaluator", "Overwriting default num_fewshot of translated_zh_ht_mmlu_anatomy from 5 to 3", False),
    ("lm_eval.evaluator", "Overwriting default num_fewshot of mmlu_anatomy from 5 to 3", True),
    ("lm_eval.api.task", "[Task: translated_zh_mgsm] num_fewshot > 0 but fewshot_split is None.", True),
])
def test_per_task_notices_dropped_for_nativeval_tasks_only(caplog, logger_name, message, shown):
    with caplog.at_level(logging.WARNING), quiet_phases(catalogue(), (None, None)):
        logging.getLogger(logger_name).warning(message)
    assert (message in caplog.text) is shown
    caplog.clear()
    logging.getLogger(logger_name).warning(message)  # outside a run nothing is filtered
    assert message in caplog.text

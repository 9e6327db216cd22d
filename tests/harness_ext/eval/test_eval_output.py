"""What `nativeval eval` drops from lm-eval's console output: per-task notices about
nativeval's tasks only."""

from __future__ import annotations

import logging

import pytest

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.eval.run import quiet_phases


@pytest.mark.parametrize(
    ("logger_name", "message", "shown"),
    [
        (
            "lm_eval.evaluator",
            "Overwriting default num_fewshot of translated_zh_ht_mmlu_anatomy from 5 to 3",
            False,
        ),
        ("lm_eval.evaluator", "Overwriting default num_fewshot of mmlu_anatomy from 5 to 3", True),
        ("lm_eval.api.task", "[Task: translated_zh_mgsm] num_fewshot > 0 but fewshot_split is None.", True),
    ],
)
def test_per_task_notices_dropped_for_nativeval_tasks_only(caplog, logger_name, message, shown):
    with caplog.at_level(logging.WARNING), quiet_phases(catalogue(), (None, None)):
        logging.getLogger(logger_name).warning(message)
    assert (message in caplog.text) is shown
    caplog.clear()
    logging.getLogger(logger_name).warning(message)  # outside a run nothing is filtered
    assert message in caplog.text


@pytest.mark.parametrize(
    ("task", "shown"),
    [("translated_zh_xquad", False), ("native_zh_cmmlu_agronomy", False), ("ruler_niah", True)],
)
def test_the_custom_dataset_notice_is_dropped_for_our_tasks_under_plain_lm_eval_too(caplog, task, shown):
    import nativeval.harness_ext.eval.runtime  # noqa: F401  (every task's utils.py imports it or open_qa; both install it)

    message = f"{task}: Custom kwargs can be passed to `--metadata` in console"
    with caplog.at_level(logging.WARNING):
        logging.getLogger("lm_eval.api.task").warning(message)
    assert (message in caplog.text) is shown


def test_a_user_made_task_made_after_the_first_notice_is_recognised(caplog, monkeypatch, tmp_path):
    from nativeval.harness_ext.eval.notices import CustomDatasetNotice

    notice = CustomDatasetNotice()
    record = logging.makeLogRecord(
        {"msg": "mt_es_cmmlu_agronomy: Custom kwargs can be passed to `--metadata`"}
    )
    assert notice.filter(record)  # no such task yet
    monkeypatch.setattr(
        "nativeval.harness_ext.catalogue.catalogue",
        lambda: type("Cat", (), {"known_names": lambda self: ["mt_es_cmmlu_agronomy"]})(),
    )
    assert not notice.filter(record)

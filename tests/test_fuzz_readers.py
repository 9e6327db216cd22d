"""Property-based fuzzing of the readers of user files: lm-eval results files, samples files, judge outputs
and translation inputs. Any content gives a result or one NativevalError line, never another exception."""

from __future__ import annotations

import json
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nativeval.harness_ext.core.errors import NativevalError

DATE = "2024-05-01T10-00-00.000000"
FUZZ = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**6), 10**6),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=8), inner, max_size=3)
    ),
    max_leaves=8,
)


def shaped(keys: list[str], values: st.SearchStrategy = json_values) -> st.SearchStrategy[dict[str, Any]]:
    """Objects with the keys a reader looks for (each present or not), holding any JSON value."""
    return st.fixed_dictionaries({}, optional={key: values for key in keys})


TASK = "native_es_open_qa"
results_documents = st.one_of(
    json_values,
    shaped(
        [
            "results",
            "configs",
            "versions",
            "n-samples",
            "n-shot",
            "config",
            "model_name",
            "model_name_sanitized",
            "higher_is_better",
            "group_subtasks",
            "nativeval",
            "date",
            "judge",
            "pairwise",
        ]
    ),
    st.builds(
        lambda task_results, config, top: {"results": {TASK: task_results}, "configs": {TASK: config}, **top},
        shaped(["alias", "rating,gpt-4-turbo", "acc,none", "f1,none", "acc_stderr,none", "sample_len"]),
        shaped(["task", "metadata", "num_fewshot", "metric_list"]),
        shaped(["config", "model_name", "nativeval", "n-samples", "versions"]),
    ),
)
sample_rows = st.one_of(
    json_values,
    shaped(
        ["doc_id", "doc", "arguments", "resps", "filtered_resps", "target", "doc_hash", "filter", "metrics"]
    ),
    st.builds(
        lambda doc, rest: {"doc_id": 0, "doc": doc, **rest},
        shaped(["question", "prompt", "lang", "id"]),
        shaped(["resps", "filtered_resps", "arguments", "doc_hash"]),
    ),
)
judgment_rows = st.one_of(
    json_values,
    shaped(
        [
            "task",
            "doc_id",
            "doc_hash",
            "question",
            "response",
            "rating",
            "valid",
            "ratings",
            "explanation",
            "off_language",
            "judge",
            "judge_model",
            "prompt_version",
            "winner",
            "a_first",
            "b_first",
        ]
    ),
)


def lines_of(rows: list[Any]) -> str:
    return "".join(json.dumps(row) + "\n" for row in rows)


def one_line_or_result(read: Callable[[Path], Any], files: dict[str, str]) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        for name, text in files.items():
            (root / name).parent.mkdir(parents=True, exist_ok=True)
            (root / name).write_text(text, encoding="utf-8")
        try:
            read(root)
        except NativevalError as err:
            assert "\n" not in str(err) and str(err).strip()


@FUZZ
@given(results=results_documents, rows=st.lists(sample_rows, max_size=3))
def test_judge_reads_any_results_and_samples_files(results, rows):
    from nativeval.harness_ext.judge.lm_eval_outputs import collect_runs

    one_line_or_result(
        lambda root: collect_runs([root]),
        {f"run/results_{DATE}.json": json.dumps(results), f"run/samples_{TASK}_{DATE}.jsonl": lines_of(rows)},
    )


@FUZZ
@given(raw=st.text(max_size=200))
def test_judge_reads_any_samples_bytes(raw):
    from nativeval.harness_ext.judge.lm_eval_outputs import collect_runs

    one_line_or_result(lambda root: collect_runs([root]), {f"run/samples_{TASK}_{DATE}.jsonl": raw})


@FUZZ
@given(results=results_documents)
def test_leaderboard_reads_any_results_file(results):
    from nativeval.harness_ext.leaderboard.runs import load_runs

    one_line_or_result(lambda root: load_runs([root]), {f"model/results_{DATE}.json": json.dumps(results)})


@FUZZ
@given(document=results_documents, rows=st.lists(judgment_rows, max_size=3))
def test_judge_report_reads_any_judge_outputs(document, rows):
    from nativeval.harness_ext.judge.diagnostics_io import load_judge_outputs

    judge = {"name": "gpt-4-turbo", "model": "gpt-4-turbo", "prompt_version": "single_v1"}
    doc = {**document, "judge": document.get("judge", judge)} if isinstance(document, dict) else document
    one_line_or_result(
        lambda root: load_judge_outputs([root]),
        {
            f"run/results_judge_gpt-4-turbo_{DATE}.json": json.dumps(doc),
            f"run/judgments_{TASK}_gpt-4-turbo_{DATE}.jsonl": lines_of(rows),
        },
    )


@FUZZ
@given(
    records=st.one_of(
        json_values,
        st.lists(
            st.one_of(json_values, shaped(["instruction", "output", "inputs", "targets", "id"])), max_size=3
        ),
    ),
    jsonl=st.booleans(),
)
def test_translate_reads_any_input(records, jsonl):
    from nativeval.translate.dataset import read_dataset

    name = "data.jsonl" if jsonl else "data.json"
    text = lines_of(records if isinstance(records, list) else [records]) if jsonl else json.dumps(records)
    one_line_or_result(lambda root: read_dataset(str(root / name)), {name: text})

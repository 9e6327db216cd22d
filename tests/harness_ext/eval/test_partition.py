"""A group's members from one pass over their shared split; a member with no rows is one line naming the task,
the subject and the data source (not lm-eval's IndexError)."""

from __future__ import annotations

import json
import logging

import pytest

from nativeval.harness_ext.core.errors import DatasetUnavailable
from nativeval.harness_ext.eval.partition import member_rows


class CountingSplit:
    """The Dataset calls member_rows makes: a column read (counted), len, select, info."""

    def __init__(self, subjects):
        self.subjects, self.column_reads, self._fingerprint = list(subjects), 0, f"fp{id(self)}"
        self.info = type("Info", (), {"description": "nativeval mirror: /m/ds/xx/test.jsonl"})()
        self.split = "test"

    def __len__(self):
        return len(self.subjects)

    features = {"subject": "string"}

    def to_list(self):
        self.column_reads += 1
        return [{"subject": s} for s in self.subjects]


def test_every_member_comes_from_one_pass_over_the_split():
    split = CountingSplit(["a", "b", "a", "c", "b", "a"] * 100)
    parts = {m: member_rows(split, "subject", m, str) for m in ("a", "b", "c")}
    assert split.column_reads == 1
    assert {m: len(rows) for m, rows in parts.items()} == {"a": 300, "b": 200, "c": 100}
    assert {doc["subject"] for doc in parts["a"]} == {"a"} and parts["a"].features == {"subject": "string"}


def test_a_member_without_rows_is_one_line_naming_member_and_source():
    with pytest.raises(DatasetUnavailable) as caught:
        member_rows(
            CountingSplit(["a", "b"]), "subject", "anatomy", str, task_of=lambda source: "some_task_anatomy"
        )
    message = str(caught.value)
    assert "\n" not in message and "task some_task_anatomy" in message and "'anatomy'" in message
    assert "/m/ds/xx/test.jsonl" in message


def test_a_mirror_split_missing_a_subject_fails_in_one_line_naming_task_subject_and_file(
    tmp_path, monkeypatch
):
    """Global-MMLU ko in the Hub schema, every subject but anatomy: lm-eval used to raise IndexError."""
    from lm_eval.tasks import TaskManager

    from nativeval.harness_ext.catalogue import catalogue
    from nativeval.harness_ext.catalogue.model import TASKS_DIR

    subjects = [leaf.member for leaf in catalogue().task("translated_ko_global_mmlu").leaves]
    folder = tmp_path / "CohereForAI" / "Global-MMLU" / "ko"
    folder.mkdir(parents=True)
    for split, n in (("test", 1), ("dev", 5)):
        rows = [
            {
                "sample_id": f"{s}/{split}/{i}",
                "subject": s,
                "subject_category": "STEM",
                "question": f"{s} {i}?",
                "option_a": "1",
                "option_b": "2",
                "option_c": "3",
                "option_d": "4",
                "answer": "A",
                "required_knowledge": "[]",
                "time_sensitive": "[]",
                "reference": "[]",
                "culture": "[]",
                "region": "[]",
                "country": "[]",
                "cultural_sensitivity_label": "CA",
                "is_annotated": True,
            }
            for s in subjects
            if s != "anatomy"
            for i in range(n)
        ]
        (folder / f"{split}.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    logging.disable(logging.WARNING)
    try:
        manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
        with pytest.raises(DatasetUnavailable) as caught:
            loaded = manager.load(["translated_ko_global_mmlu_anatomy"])["tasks"]
            list(next(iter(loaded.values())).eval_docs)
    finally:
        logging.disable(logging.NOTSET)
    message = str(caught.value)
    assert "\n" not in message and "translated_ko_global_mmlu_anatomy" in message and "'anatomy'" in message
    assert str(folder) in message

"""What the task YAMLs' small utils.py files delegate to: data loading, document filters and scoring."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import datasets

from harness_ext.catalogue import datasets as data_layer
from harness_ext.core.errors import DatasetUnavailable
from harness_ext.eval.metrics import mgsm_scores, qa_scores


def load_docs(provenance: Mapping[str, Any] | None = None, **_ignored: Any) -> datasets.DatasetDict:
    """lm-eval ``custom_dataset``: load the splits named in the task's ``metadata.provenance``.

    lm-eval calls it with the task's metadata (which also holds the run's model arguments, such as a model
    ``revision``) and ``dataset_kwargs`` as keywords, so everything but ``provenance`` is ignored.
    """
    if not provenance or "dataset" not in provenance:
        raise DatasetUnavailable("task has no metadata.provenance.dataset: regenerate it with "
                                 "`python -m harness_ext.catalogue --write`")
    source = provenance["dataset"]
    return data_layer.load_dataset(source["id"], source.get("config"), source["splits"], source.get("revision"),
                                   source.get("loading_script"), source.get("parquet_export"))


def keep_id_prefix(dataset: datasets.Dataset, prefix: str) -> datasets.Dataset:
    return dataset.filter(lambda doc: str(doc["id"]).startswith(prefix))


def tydiqa_docs(dataset: datasets.Dataset, id_prefix: str) -> datasets.Dataset:
    """Rows of one language (by id prefix), answers flattened to their texts, as lm-eval's tydiqa does."""

    def flatten(doc: dict[str, Any]) -> dict[str, Any]:
        return {"id": doc["id"], "title": doc["title"], "context": doc["context"],
                "question": doc["question"], "answers": doc["answers"]["text"]}

    return keep_id_prefix(dataset, id_prefix).map(flatten)


def qa_results(results: list[str], golds: list[str], lang: str) -> dict[str, float]:
    return qa_scores(results[0].strip(), golds, lang)


def mgsm_results(doc: Mapping[str, Any], results: list[str], lang: str) -> dict[str, float]:
    return mgsm_scores(results[0], doc["answer_number"], lang)


def mmmlu_subject(raw_subject: Any) -> Any:
    """MMMLU's ``Subject`` sometimes embeds a CSV file name (``college_mathematics_test.csv_sw-KE.csv``)."""
    if not isinstance(raw_subject, str):
        return raw_subject
    for marker in ("_test.csv", "_test-"):
        idx = raw_subject.find(marker)
        if idx != -1:
            return raw_subject[:idx]
    return raw_subject


def keep_subject(dataset: datasets.Dataset, subject: str) -> datasets.Dataset:
    return dataset.filter(lambda doc: mmmlu_subject(doc["Subject"]) == subject)

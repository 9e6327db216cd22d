"""What the task YAMLs' small utils.py files delegate to: data loading, document filters and scoring.

Nothing here is per language: the language is an argument (a filter's ``language`` in the task YAML, or the
``<lang>`` suffix of a name that :func:`per_language` resolves), and its rules come from the registry.
"""

from __future__ import annotations

import contextlib
import re
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

import datasets
from lm_eval.api.filter import Filter
from lm_eval.api.registry import register_filter

from nativeval.harness_ext.catalogue import dataset_loader
from nativeval.harness_ext.core.errors import DatasetUnavailable
from nativeval.harness_ext.eval.metrics import (
    canonical_number,
    check_language,
    extract_answer_number,
    qa_scores,
)
from nativeval.harness_ext.eval.notices import install_notice_filter

INVALID = "[invalid]"  # what lm-eval's regex filters emit when nothing matches


# --- quiet tasks, under `nativeval eval` and plain `lm_eval` alike ------------------------------------------
install_notice_filter()  # every task's utils.py imports this module (or open_qa.py)


@contextlib.contextmanager
def no_dataset_bars() -> Iterator[None]:
    """No datasets `Filter:`/`Map:` bars inside the block (a task's row filters would show one per task)."""
    were_on = not datasets.are_progress_bars_disabled()
    datasets.disable_progress_bars()
    try:
        yield
    finally:
        if were_on:
            datasets.enable_progress_bars()


def quiet_filter(dataset: datasets.Dataset, keep: Callable[[dict[str, Any]], bool]) -> datasets.Dataset:
    with no_dataset_bars():
        return dataset.filter(keep)


def load_docs(provenance: Mapping[str, Any] | None = None, **_ignored: Any) -> datasets.DatasetDict:
    """lm-eval ``custom_dataset``: load the splits named in the task's ``metadata.provenance``.

    lm-eval calls it with the task's metadata (which also holds the run's model arguments, such as a model
    ``revision``) and ``dataset_kwargs`` as keywords, so everything but ``provenance`` is ignored.
    """
    if not provenance or "dataset" not in provenance:
        raise DatasetUnavailable(
            "task has no metadata.provenance.dataset: regenerate it with "
            "`python -m nativeval.harness_ext.catalogue --write`"
        )
    source = provenance["dataset"]
    return dataset_loader.load_dataset(
        source["id"],
        source.get("config"),
        source["splits"],
        source.get("revision"),
        source.get("loading_script"),
        source.get("parquet_export"),
    )


def keep_id_prefix(dataset: datasets.Dataset, prefix: str) -> datasets.Dataset:
    return quiet_filter(dataset, lambda doc: str(doc["id"]).startswith(prefix))


def tydiqa_docs(dataset: datasets.Dataset, id_prefix: str) -> datasets.Dataset:
    """Rows of one language (by id prefix), answers flattened to their texts, as lm-eval's tydiqa does."""

    def flatten(doc: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": doc["id"],
            "title": doc["title"],
            "context": doc["context"],
            "question": doc["question"],
            "answers": doc["answers"]["text"],
        }

    with no_dataset_bars():
        return keep_id_prefix(dataset, id_prefix).map(flatten)


def qa_results(results: list[str], golds: list[str], lang: str) -> dict[str, float]:
    return qa_scores(results[0].strip(), golds, lang)


def per_language(module_name: str, attribute: str, factories: Mapping[str, Callable[[str], Any]]) -> Any:
    """PEP 562 ``__getattr__`` for a task's utils.py: ``process_results_<lang>`` -> ``factory(lang)``.

    lm-eval resolves ``!function utils.process_results_de`` with ``getattr``, so a new language needs a
    registry entry and catalogue lines, never a new Python function.
    """
    for prefix, factory in factories.items():
        if attribute.startswith(prefix + "_"):
            return factory(check_language(attribute[len(prefix) + 1 :]))
    raise AttributeError(f"module {module_name!r} has no attribute {attribute!r}")


def qa_process_results(golds: Callable[[Mapping[str, Any]], list[str]]) -> Callable[[str], Callable]:
    """``lang -> process_results(doc, results)`` scoring extractive QA against ``golds(doc)``."""

    def for_language(lang: str) -> Callable[[Mapping[str, Any], list[str]], dict[str, float]]:
        def process_results(doc: Mapping[str, Any], results: list[str]) -> dict[str, float]:
            return qa_results(results, golds(doc), lang)

        process_results.__name__ = f"process_results_{lang}"
        return process_results

    return for_language


# --- MGSM -------------------------------------------------------------------------------------------
@register_filter("localized_number")
class LocalizedNumberFilter(Filter):
    """lm-eval filter: each response -> the canonical spelling of its answer number, or ``[invalid]``.

    ``mode: strict`` takes the number after the language's MGSM answer phrase, ``mode: flexible`` the last
    number (nativeval.harness_ext.eval.metrics.extract_answer_number). Localized numbers ("1.234,5", "1 234")
    come out canonical ("1234.5"), as does the target (:func:`mgsm_target`), so lm-eval's ``exact_match`` on
    the two strings is a numeric comparison. In a task YAML::

        filter_list:
          - name: strict-match
            filter: [{function: localized_number, language: zh, mode: strict}, {function: take_first}]
    """

    def __init__(self, language: str, mode: str = "strict") -> None:
        if mode not in ("strict", "flexible"):
            raise ValueError(f"localized_number: mode must be strict or flexible, not {mode!r}")
        self.language = check_language(language)
        self.strict = mode == "strict"

    def apply(self, resps: Iterable[Sequence[str]], docs: Sequence[Mapping[str, Any]]) -> Iterable[list[str]]:
        return [[self._canonical(resp) for resp in inst] for inst in resps]

    def _canonical(self, response: Any) -> str:
        text = response if isinstance(response, str) else ""
        return canonical_number(extract_answer_number(text, self.language, strict=self.strict)) or INVALID


# An exemplar answer starts with its language's step-by-step cue ("逐步解答：", "Respuesta paso a paso: ",
# "Пошаговое решение: "): a short run without digits up to the first colon (ASCII or full-width).
_ANSWER_CUE = re.compile(r"^[^\d:：\n]{1,40}[:：]\s*")


def exemplar_answer(answer: str) -> str:
    """An MGSM exemplar's worked answer without its cue, whatever the cue's length in characters.

    lm-eval 0.4.13 cuts a fixed ``answer[N:]`` per language, which drops the first characters of every
    Chinese exemplar (the cue is 5 characters, the slice 6).
    """
    return _ANSWER_CUE.sub("", answer, count=1)


def mgsm_target(doc: Mapping[str, Any]) -> str:
    """``doc_to_target``: an exemplar's worked answer (cue removed), or a test item's canonical number."""
    if doc.get("answer") is not None:
        return exemplar_answer(doc["answer"])
    return canonical_number(doc["answer_number"]) or str(doc["answer_number"])


def mmmlu_subject(raw_subject: Any) -> Any:
    """MMMLU's ``Subject`` sometimes embeds a CSV file name (``college_mathematics_test.csv_sw-KE.csv``)."""
    if not isinstance(raw_subject, str):
        return raw_subject
    for marker in ("_test.csv", "_test-"):
        idx = raw_subject.find(marker)
        if idx != -1:
            return raw_subject[:idx]
    return raw_subject

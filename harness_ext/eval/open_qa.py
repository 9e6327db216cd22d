"""Open-ended QA task data: native OASST1 first-turn prompts (sampled) and the embedded translated set.

Native (``native_<lang>_open_qa``): from ``OpenAssistant/oasst1`` (train + validation, at the catalogue's
pinned revision), keep first-turn prompts written in the language (role ``prompter``, no parent, ``lang``
equal to the language code, not deleted, not rejected in review), order them by ``message_id`` and draw
``n`` (50) with ``random.Random(seed)``; seed, n and the rules are the catalogue's ``dataset_filter`` and land
in every results file's provenance. A pool smaller than ``n`` is used whole, with a warning.

Translated (``translated_<lang>_open_qa``): the 50 human-translated questions embedded under
``tasks/open_qa/data/oasst_translated`` (CC BY-NC 4.0, see its README), same ids in every language; each
doc keeps the English original for reference.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import datasets

from nativeval.harness_ext.catalogue import dataset_loader
from nativeval.harness_ext.core.errors import DatasetUnavailable
from nativeval.harness_ext.core.io import read_jsonl
from nativeval.harness_ext.eval.notices import install_notice_filter

log = logging.getLogger(__name__)
install_notice_filter()  # the open-QA tasks' utils.py imports this module

TRANSLATED_DATASET_ID = "nativeval/oasst_translated"
EMBEDDED_DIR = Path(__file__).resolve().parents[2] / "tasks" / "open_qa" / "data" / "oasst_translated"
DEFAULT_RULES: dict[str, Any] = {
    "role": "prompter",
    "parent_id": None,
    "deleted": False,
    "seed": 2024,
    "n": 50,
}


def is_first_turn_prompt(row: Mapping[str, Any], lang: str) -> bool:
    return (
        row.get("role") == "prompter"
        and not row.get("parent_id")
        and row.get("lang") == lang
        and not row.get("deleted")
        and row.get("review_result") is not False
        and bool(str(row.get("text") or "").strip())
    )


def sample_first_turn_prompts(
    rows: Iterable[Mapping[str, Any]], lang: str, *, seed: int, n: int
) -> list[dict[str, Any]]:
    pool = sorted((r for r in rows if is_first_turn_prompt(r, lang)), key=lambda r: str(r["message_id"]))
    if not pool:
        raise DatasetUnavailable(
            f"OpenAssistant/oasst1 has no first-turn prompter message in language {lang!r}; "
            "check the mirror or the language code"
        )
    if len(pool) < n:
        log.warning(
            "only %d first-turn %s prompts in oasst1 (wanted %d); using all of them", len(pool), lang, n
        )
    chosen = random.Random(seed).sample(pool, min(n, len(pool)))
    return [
        {
            "id": r["message_id"],
            "question": r["text"],
            "lang": lang,
            "message_tree_id": r.get("message_tree_id"),
        }
        for r in chosen
    ]


def native_docs(provenance: Mapping[str, Any]) -> datasets.DatasetDict:
    source = provenance["dataset"]
    rules = {**DEFAULT_RULES, **(source.get("filter") or {})}
    lang = rules.get("lang") or provenance["language"]
    loaded = dataset_loader.load_dataset(
        source["id"], source.get("config"), source["splits"], source.get("revision")
    )
    rows = [row for split in source["splits"] for row in loaded[split]]
    docs = sample_first_turn_prompts(rows, lang, seed=int(rules["seed"]), n=int(rules["n"]))
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def translated_docs(lang: str, directory: Path = EMBEDDED_DIR) -> datasets.DatasetDict:
    english = {r["id"]: r["prompt"] for r in read_jsonl(directory / "test_en.jsonl")}
    rows = read_jsonl(directory / f"test_{lang}.jsonl")
    docs = [
        {"id": r["id"], "question": r["prompt"], "lang": lang, "english": english.get(r["id"], "")}
        for r in rows
    ]
    return datasets.DatasetDict({"test": datasets.Dataset.from_list(docs)})


def load_docs(provenance: Mapping[str, Any] | None = None, **_ignored: Any) -> datasets.DatasetDict:
    """lm-eval ``custom_dataset`` for every open-QA task (reads the task's ``metadata.provenance``)."""
    if not provenance or "dataset" not in provenance:
        raise DatasetUnavailable(
            "open-QA task has no metadata.provenance.dataset: regenerate it with "
            "`python -m nativeval.harness_ext.catalogue --write`"
        )
    if provenance["dataset"]["id"] == TRANSLATED_DATASET_ID:
        return translated_docs(provenance["dataset"].get("config") or provenance["language"])
    return native_docs(provenance)


def off_language(doc: Mapping[str, Any], results: list[str]) -> dict[str, float]:
    """lm-eval ``process_results``: 1.0 when the answer is confidently not in the task's language."""
    from nativeval.harness_ext.core.langid import is_language

    same = is_language(results[0], doc["lang"])
    return {"off_language_rate": 1.0 if same is False else 0.0}

"""Adding a language is data only: German for XQuAD and MGSM from a registry entry,
catalogue lines and Hub rows.

The README's recipe ("Adding a language or a benchmark"), followed in a temporary directory: no Python is
written for German, the task YAMLs are regenerated from the catalogue, and real lm-eval scores a scripted
model with known answers, which only come out right if the German articles, answer phrase and number
conventions of the registry entry are used.
"""

from __future__ import annotations

import filecmp
import json
import shutil
from pathlib import Path

import pytest
import yaml

from nativeval.harness_ext.catalogue.generate import write
from nativeval.harness_ext.catalogue.model import CATALOGUE_DIR, TASKS_DIR, load_catalogue
from nativeval.harness_ext.core.languages import TABLE, language

GERMAN = {
    "name": "German",
    "script": "Latn",
    "iso639_3": "deu",
    "google": "de",
    "nllb": "deu_Latn",
    "m2m100": "de",
    "marian": ">>deu<<",
    "langid": "de",
    "articles": ["der", "die", "das", "den", "dem", "des", "ein", "eine", "einen", "einem", "einer", "eines"],
    "segmentation": "whitespace",
    "numbers": {"decimal": ",", "thousands": ["."], "space_thousands": True},
    "mgsm": {"answer_phrases": [r"\bdie antwort lautet"]},
}

# Catalogue lines: the prompts of lm-eval 0.4.13's xquad_de and mgsm_native_cot_de.
XQUAD_DE = {
    "name": "translated_de_xquad",
    "language": "de",
    "config": "xquad.de",
    "lm_eval_builtin": "xquad_de",
    "function_fields": {"process_results": "utils.process_results_de"},
    "fields": {"doc_to_text": "Kontext: {{context}}\n\nFrage: {{question}}\n\nAntwort:"},
}
MGSM_DE = {
    "name": "translated_de_mgsm",
    "language": "de",
    "config": "de",
    "lm_eval_builtin": "mgsm_native_cot_de",
    "fields": {
        "doc_to_text": '{% if answer is not none %}{{question+"\\nSchritt-für-Schritt-Antwort:"}}{% else %}'
        '{{"Frage: "+question+"\\nSchritt-für-Schritt-Antwort:"}}{% endif %}',
        "generation_kwargs": {"do_sample": False, "until": ["Frage:", "</s>", "<|im_end|>"]},
        "filter_list": [
            {
                "name": name,
                "filter": [
                    {"function": "localized_number", "language": "de", "mode": mode},
                    {"function": "take_first"},
                ],
            }
            for name, mode in (("strict-match", "strict"), ("flexible-extract", "flexible"))
        ],
    },
}

# Rows in the Hub schema of google/xquad (config xquad.de, split validation) and juletxara/mgsm (config de).
XQUAD_ROWS = [
    {
        "id": "de-1",
        "context": "Berlin ist die Hauptstadt Deutschlands.",
        "question": "Was ist Berlin?",
        "answers": {"text": ["Hauptstadt"], "answer_start": [13]},
    },
    {
        "id": "de-2",
        "context": "Der Vertrag wurde 1990 unterzeichnet.",
        "question": "Was wurde unterzeichnet?",
        "answers": {"text": ["Der Vertrag"], "answer_start": [0]},
    },
    {
        "id": "de-3",
        "context": "Die Stadt liegt an der Isar.",
        "question": "Welche Stadt liegt an der Isar?",
        "answers": {"text": ["München"], "answer_start": [0]},
    },
]
XQUAD_REPLIES = {
    "Was ist Berlin?": "die Hauptstadt",  # right once the article "die" is dropped
    "Was wurde unterzeichnet?": "ein Vertrag",  # "ein Vertrag" and "Der Vertrag" both -> "vertrag"
    "Welche Stadt liegt an der Isar?": "Hamburg",
}

MGSM_EXEMPLARS = [
    {
        "question": f"Frage: Anna hat {a} Äpfel und kauft {b} dazu. Wie viele Äpfel hat sie?",
        "answer": f"Schritt-für-Schritt-Antwort: Anna hat {a} Äpfel und kauft {b}. {a} + {b} = {a + b}. "
        f"Die Antwort lautet {a + b}.",
        "answer_number": a + b,
        "equation_solution": f"{a} + {b} = {a + b}.",
    }
    for a, b in ((5, 2), (3, 4), (10, 1), (7, 7), (2, 9))
]
MGSM_TEST = [
    {
        "question": "Ein Haus kostet 1.000 Euro, die Reparatur 234 Euro. Was kostet alles?",
        "answer": None,
        "answer_number": 1234,
        "equation_solution": None,
    },
    {
        "question": "Tom hat 20 Bonbons und gibt 2 ab. Wie viele hat er?",
        "answer": None,
        "answer_number": 18,
        "equation_solution": None,
    },
    {
        "question": "Lisa hat 3 Stifte und bekommt 4. Wie viele hat sie?",
        "answer": None,
        "answer_number": 7,
        "equation_solution": None,
    },
]
MGSM_REPLIES = {
    "Was kostet alles?": "1.000 + 234 = 1.234. Die Antwort lautet 1.234.",  # "." groups thousands
    "Wie viele hat er?": "Die Antwort lautet: 18",
    "Wie viele hat sie?": "3 + 4 = 7.",
}  # no answer phrase: flexible only


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _without_german(catalogue_dir: Path) -> None:
    """The catalogue as it was before German: no German row in any benchmark's per-language block."""
    for path in catalogue_dir.glob("*.yaml"):
        raw = yaml.safe_load(path.read_text(encoding="utf-8"))
        rows = (raw.get("per_language") or {}).get("languages") or {}
        if "de" in rows or any(t.get("language") == "de" for t in raw.get("tasks") or ()):
            rows.pop("de", None)
            raw["tasks"] = [t for t in raw.get("tasks") or () if t.get("language") != "de"]
            path.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


def _registry_without_german_settings(path: Path) -> Path:
    """The registry as it was before German's evaluation settings: its translation codes only."""
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    table["languages"]["de"] = {
        k: v for k, v in GERMAN.items() if k not in ("articles", "segmentation", "numbers", "mgsm")
    }
    path.write_text(yaml.safe_dump(table, allow_unicode=True, sort_keys=False), encoding="utf-8")
    return path


def _add_tasks(catalogue_file: Path, *tasks: dict) -> None:
    raw = yaml.safe_load(catalogue_file.read_text(encoding="utf-8"))
    raw["tasks"].extend(tasks)
    catalogue_file.write_text(yaml.safe_dump(raw, allow_unicode=True, sort_keys=False), encoding="utf-8")


@pytest.fixture
def german(tmp_path, monkeypatch):
    """The recipe's three data edits, on copies of the registry, the catalogue and the task folder."""
    registry = tmp_path / "languages.yaml"
    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    table["languages"]["de"] = GERMAN
    registry.write_text(yaml.safe_dump(table, allow_unicode=True, sort_keys=False), encoding="utf-8")
    monkeypatch.setenv("NATIVEVAL_LANGUAGES", str(registry))

    catalogue_dir = tmp_path / "catalogue"
    shutil.copytree(CATALOGUE_DIR, catalogue_dir)
    _without_german(catalogue_dir)
    _add_tasks(catalogue_dir / "xquad.yaml", XQUAD_DE)
    _add_tasks(catalogue_dir / "mgsm.yaml", MGSM_DE)

    mirror = tmp_path / "hf_mirror"
    _write_jsonl(mirror / "google" / "xquad" / "xquad.de" / "validation.jsonl", XQUAD_ROWS)
    _write_jsonl(mirror / "juletxara" / "mgsm" / "de" / "train.jsonl", MGSM_EXEMPLARS)
    _write_jsonl(mirror / "juletxara" / "mgsm" / "de" / "test.jsonl", MGSM_TEST)
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(mirror))

    tasks_dir = tmp_path / "tasks"
    shutil.copytree(TASKS_DIR, tasks_dir, ignore=shutil.ignore_patterns("__pycache__"))
    write(load_catalogue(catalogue_dir), tasks_dir)
    return tasks_dir


def test_adding_a_language_is_data_only(german):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from nativeval.harness_ext.eval.metrics import parse_localized_number
    from nativeval.harness_ext.testing.scripted_lm import KeyedRepliesLM

    tasks_dir = german
    python_files = sorted(p.relative_to(tasks_dir) for p in tasks_dir.rglob("*.py"))
    assert python_files == sorted(p.relative_to(TASKS_DIR) for p in TASKS_DIR.rglob("*.py"))
    assert all(
        filecmp.cmp(tasks_dir / p, TASKS_DIR / p, shallow=False) for p in python_files
    )  # no German Python
    assert (tasks_dir / "translated_xquad" / "translated_de_xquad.yaml").is_file()
    assert (tasks_dir / "translated_mgsm" / "translated_de_mgsm.yaml").is_file()
    collection = yaml.safe_load(
        (tasks_dir / "collections" / "translated_de.yaml").read_text(encoding="utf-8")
    )
    assert sorted(collection["task"]) == ["translated_de_mgsm", "translated_de_xquad"]

    lm = KeyedRepliesLM({**XQUAD_REPLIES, **MGSM_REPLIES})
    out = simple_evaluate(
        model=lm,
        tasks=["translated_de"],
        task_manager=TaskManager(include_path=str(tasks_dir), include_defaults=False),
    )
    xquad, mgsm = out["results"]["translated_de_xquad"], out["results"]["translated_de_mgsm"]
    assert xquad["exact_match,none"] == pytest.approx(2 / 3)  # German articles removed
    assert xquad["include,none"] == pytest.approx(2 / 3)
    assert mgsm["exact_match,strict-match"] == pytest.approx(2 / 3)  # "Die Antwort lautet 1.234" is 1234
    assert mgsm["exact_match,flexible-extract"] == pytest.approx(1.0)
    assert out["configs"]["translated_de_mgsm"]["metadata"]["provenance"]["language"] == "de"

    mgsm_prompts = [c for c in lm.contexts if "Schritt-für-Schritt-Antwort:" in c]
    assert len(mgsm_prompts) == 3
    assert all(
        "Schritt-für-Schritt-Antwort: Anna hat" in c for c in mgsm_prompts
    )  # exemplar cue removed whole
    assert (
        parse_localized_number("1.234,5", "de") == 1234.5
    )  # the registry's number conventions, nothing else
    assert language("de").articles[:3] == ("der", "die", "das")


def test_without_the_registry_entry_german_tasks_fail_in_one_line(german, monkeypatch):
    from nativeval.harness_ext.core.errors import InputError

    # the registry before the recipe's first edit: German has codes, no evaluation settings
    monkeypatch.setenv(
        "NATIVEVAL_LANGUAGES", str(_registry_without_german_settings(german.parent / "before.yaml"))
    )
    from nativeval.harness_ext.eval.runtime import LocalizedNumberFilter

    with pytest.raises(InputError) as caught:
        LocalizedNumberFilter(language="de")
    assert "\n" not in str(caught.value) and "no evaluation settings" in str(caught.value)

"""answer_form: how a benchmark's answers are written, a catalogue fact the findings group by."""

from __future__ import annotations

import pytest

from nativeval.harness_ext.catalogue.model import ANSWER_FORMS, builtin_catalogue, load_catalogue
from nativeval.harness_ext.core.errors import InputError

EXPECTED = {
    "xquad": "free_form",
    "tydiqa": "free_form",
    "open_qa": "free_form",
    "mgsm": "constrained",
    "mt_mmlu": "constrained",
    "ht_mmlu": "constrained",
    "cmmlu": "constrained",
    "ceval": "constrained",
    "include": "constrained",
    "global_mmlu": "constrained",
}


def test_every_builtin_benchmark_declares_its_answer_form():
    forms = {t.benchmark.name: t.benchmark.answer_form for t in builtin_catalogue().tasks}
    assert set(forms.values()) <= set(ANSWER_FORMS), {b: f for b, f in forms.items() if f not in ANSWER_FORMS}
    for benchmark, form in EXPECTED.items():
        assert forms[benchmark] == form


def test_an_unknown_answer_form_is_one_line_naming_the_file(tmp_path):
    from nativeval.harness_ext.catalogue.model import CATALOGUE_DIR

    for path in CATALOGUE_DIR.glob("*.yaml"):
        text = path.read_text(encoding="utf-8")
        if path.name == "xquad.yaml":
            text = text.replace("answer_form: free_form", "answer_form: essay")
        (tmp_path / path.name).write_text(text, encoding="utf-8")
    with pytest.raises(
        InputError, match=r"xquad\.yaml: answer_form 'essay' is not one of free_form, constrained"
    ):
        load_catalogue(tmp_path)


def test_a_user_made_translation_is_answered_as_its_source_is(tmp_path):
    from nativeval.harness_ext.catalogue.user_tasks import _entry_task

    entry = {
        "name": "rtt_zh_xquad",
        "language": "zh",
        "is_group": False,
        "provenance": {},
        "leaves": [],
        "benchmark": {
            "name": "xquad",
            "title": "XQuAD (round trip)",
            "template": "_template_yaml",
            "origin": "round_trip_translated",
            "translator": "toy",
            "source_language": "zh",
            "task_type": "extractive_generation",
            "num_fewshot": 0,
            "metrics": ["exact_match"],
            "version": 1.0,
            "dataset": {"id": "nativeval-user/rtt_zh_xquad", "revision": "local", "splits": ["validation"]},
        },
    }
    assert _entry_task(entry, tmp_path).benchmark.answer_form == "free_form"
    entry["benchmark"]["name"] = "mgsm"
    assert _entry_task(entry, tmp_path).benchmark.answer_form == "constrained"

"""The language registry: one table every consumer reads; another table by
NATIVEVAL_LANGUAGES; one-line errors."""

from __future__ import annotations

import re
import subprocess
import sys

import pytest
import yaml

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.languages import (
    BACKEND_SCHEMES,
    TABLE,
    UnknownLanguage,
    backend_code,
    by_iso639_3,
    codes,
    evaluable_language,
    evaluation_languages,
    langid_codes,
    language,
)


def test_entries_are_typed_and_complete():
    zh = language("zh")
    assert (zh.segmentation, zh.length_unit, zh.numbers.decimal) == ("character", "characters", ".")
    assert language("es").articles[:2] == ("el", "la") and language("es").numbers.space_thousands
    from nativeval.harness_ext.catalogue.model import builtin_catalogue

    assert set(builtin_catalogue().languages) <= set(
        evaluation_languages()
    )  # every catalogue language scores
    assert {language(c).segmentation for c in ("ja", "th")} == {"character"}
    for code in codes():
        entry = language(code)
        assert entry.name and entry.script and len(entry.iso639_3) == 3
        assert {"google", "nllb", "marian"} <= set(entry.codes) <= set(BACKEND_SCHEMES), code


def test_iso639_3_codes_of_aya_ids_map_through_the_registry():
    assert [by_iso639_3(c) for c in ("zho", "spa", "rus", "eng", "arb", "ara", "fin", "gle", "xyz")] == [
        "zh",
        "es",
        "ru",
        "en",
        "ar",
        "ar",
        "fi",
        "ga",
        None,
    ]


@pytest.mark.parametrize("code", ["xx", "", "EN"])
def test_unknown_code_is_one_line_naming_the_registry_file(code):
    with pytest.raises(UnknownLanguage) as caught:
        language(code)
    assert (
        "\n" not in str(caught.value) and str(TABLE) in str(caught.value) and repr(code) in str(caught.value)
    )


def test_a_language_without_evaluation_settings_is_a_one_line_error(tmp_path, monkeypatch):
    table = tmp_path / "languages.yaml"
    table.write_text(
        yaml.safe_dump(
            {
                "languages": {
                    "fr": {
                        "name": "French",
                        "script": "Latn",
                        "iso639_3": "fra",
                        "google": "fr",
                        "nllb": "fra_Latn",
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("NATIVEVAL_LANGUAGES", str(table))
    with pytest.raises(UnknownLanguage, match="no evaluation settings"):
        evaluable_language("fr")


@pytest.mark.parametrize(
    ("code", "nearest"),
    [("kr", "ko"), ("korean", "ko"), ("jp", "ja"), ("kor", "ko"), ("Tagalog", "tl"), ("fil", "tl")],
)
def test_an_unknown_code_names_the_nearest_known_ones_in_one_line(code, nearest):
    with pytest.raises(UnknownLanguage) as caught:
        language(code)
    message = str(caught.value)
    assert "\n" not in message and "nearest known:" in message
    assert nearest in message.split("nearest known:")[1].split(")")[0].replace(" ", "").split(",")


def test_a_backend_without_the_language_is_one_line():
    assert "m2m100" not in language("ky").codes  # M2M100's 100 languages lack Kyrgyz
    with pytest.raises(UnknownLanguage, match="no m2m100 code") as caught:
        backend_code("ky", "m2m100")
    assert "\n" not in str(caught.value)


def test_another_table_by_environment_variable(tmp_path, monkeypatch):
    table = tmp_path / "languages.yaml"
    table.write_text(
        yaml.safe_dump(
            {
                "languages": {
                    "xx": {
                        "name": "Example",
                        "script": "Latn",
                        "iso639_3": "xxx",
                        "langid": None,
                        "google": "xx",
                        "nllb": "xxx_Latn",
                        "m2m100": "xx",
                        "marian": ">>xxx<<",
                        "segmentation": "whitespace",
                        "articles": ["le"],
                    }
                }
            }
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("NATIVEVAL_LANGUAGES", str(table))
    assert codes() == ["xx"] and language("xx").articles == ("le",) and langid_codes() == []
    with pytest.raises(UnknownLanguage, match=re.escape(str(table))):
        language("zh")


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("languages: [zh, es]\n", "expected a `languages:` mapping"),
        ("languages:\n  xx: {name: X}\n", "a language entry lacks"),
        ("languages: {xx: [\n", "malformed YAML"),
    ],
)
def test_a_broken_table_is_a_one_line_error(tmp_path, monkeypatch, content, message):
    table = tmp_path / "languages.yaml"
    table.write_text(content, encoding="utf-8")
    monkeypatch.setenv("NATIVEVAL_LANGUAGES", str(table))
    with pytest.raises(InputError) as caught:
        codes()
    assert message in str(caught.value) and "\n" not in str(caught.value)


def test_no_language_list_outside_the_registry(repo_root):
    """git grep for code lists and alternations of language codes in product Python
    (tests and bench aside)."""
    patterns = [r'"(es|en)",\s*"ru",\s*"zh"', r'"ru",\s*"zh"\s*[,)\]]', r"\b(es|ru|zh)\|(es|ru|zh)\|"]
    for pattern in patterns:
        proc = subprocess.run(
            ["git", "grep", "-nE", pattern, "--", "*.py", ":!tests", ":!bench"],
            cwd=repo_root,
            capture_output=True,
            text=True,
        )
        assert proc.returncode == 1 and proc.stdout == "", proc.stdout  # 1: no match


def test_langid_candidates_are_the_registrys(monkeypatch):
    from nativeval.harness_ext.core.langid import detect_language

    assert "de" in langid_codes() and "fr" in langid_codes()
    assert (
        detect_language("Der schnelle braune Fuchs springt über den faulen Hund und läuft davon.")[0] == "de"
    )
    assert detect_language("一二三四五六七八九十")[0] == "zh"


def test_judge_reads_a_task_names_language_from_the_registry():
    from nativeval.harness_ext.judge.lm_eval_outputs import task_language

    assert task_language("translated_zh_open_qa", {}) == "zh"
    assert task_language("native_fi_open_qa", {}) == "fi"
    assert task_language("native_xx_open_qa", {}) is None
    assert task_language("translated_zh_open_qa", {"metadata": {"provenance": {"language": "es"}}}) == "es"


def test_importing_the_registry_does_not_import_the_evaluation_stack():
    code = (
        "import sys, nativeval.harness_ext.core.languages, nativeval.harness_ext.core.langid; "
        "print('datasets' in sys.modules)"
    )
    assert (
        subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout.strip() == "False"
    )

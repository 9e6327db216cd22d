"""Every language where native and translated test sets meet: collections, Global-MMLU provenance per
language, `nativeval tasks --lang/--json`, and catalogue entries that match lm-eval's own task folders."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import yaml

from nativeval.harness_ext.catalogue import from_lmeval
from nativeval.harness_ext.catalogue.model import CATALOGUE_DIR, builtin_catalogue
from nativeval.harness_ext.core.errors import InputError

# INCLUDE (44 languages) and Global-MMLU (42) meet in these 26, plus Tagalog/Filipino (INCLUDE "Tagalog",
# Global-MMLU "fil").
INCLUDE_AND_GLOBAL_MMLU = [
    "ar",
    "bn",
    "de",
    "el",
    "es",
    "fa",
    "fr",
    "he",
    "hi",
    "id",
    "it",
    "ja",
    "ko",
    "lt",
    "ms",
    "ne",
    "nl",
    "pl",
    "pt",
    "ru",
    "sr",
    "te",
    "tr",
    "uk",
    "vi",
    "zh",
    "tl",
]

# The Global-MMLU paper's four tiers (Singh et al. 2024, §3.1/§4.1).
TIERS = {
    "gold": ("machine_translated_post_edited", "ar es fr hi"),
    "mmmlu": ("human_translated", "bn de id it ja ko pt sw yo zh"),
    "community": ("machine_translated", "fa ms ru te tr uk vi"),
    "mt": ("machine_translated", "el he lt ne nl pl sr"),
}


def _cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "cli.py", *args], capture_output=True, text=True, timeout=120)


def test_native_and_translated_collections_for_every_shared_language():
    cat = builtin_catalogue()
    for lang in INCLUDE_AND_GLOBAL_MMLU:
        native = {t.name for t in cat.collection_members(f"native_{lang}")}
        translated = {t.name for t in cat.collection_members(f"translated_{lang}")}
        assert f"native_{lang}_include" in native and f"translated_{lang}_global_mmlu" in translated, lang
        assert all(cat.task(n).origin == "native" for n in native)
        assert all(cat.task(n).origin != "native" for n in translated)
    assert len(cat.collection_members("native")) > 44 and len(cat.collection_members("translated")) > 41


@pytest.mark.parametrize("tier", sorted(TIERS))
def test_global_mmlu_provenance_follows_the_papers_tiers_with_evidence(tier):
    origin, languages = TIERS[tier]
    cat = builtin_catalogue()
    for lang in languages.split():
        task = cat.task(f"translated_{lang}_global_mmlu")
        assert (task.origin, task.extra["tier"]) == (origin, tier), lang
        assert "Singh et al. 2024" in task.extra["evidence"] and "§" in task.extra["evidence"]


def test_global_mmlu_zh_is_human_translated_ru_community_edited_es_post_edited():
    cat = builtin_catalogue()
    zh, ru, es = (cat.task(f"translated_{lang}_global_mmlu") for lang in ("zh", "ru", "es"))
    assert zh.origin == "human_translated" and "MMMLU" in zh.translator
    assert ru.origin == "machine_translated" and "community" in ru.translator
    assert es.origin == "machine_translated_post_edited" and "professional" in es.translator
    # The generated YAML carries it into every results file (lm-eval's configs[task].metadata).
    leaf = yaml.safe_load(
        (
            CATALOGUE_DIR.parents[2]
            / "tasks"
            / "translated_global_mmlu"
            / "translated_zh_global_mmlu_anatomy.yaml"
        )
        .read_text(encoding="utf-8")
        .split("\n", 1)[1]
        .replace("!function", "")
    )
    assert leaf["metadata"]["provenance"]["origin"] == "human_translated"


def test_global_mmlu_covers_lm_evals_42_languages_but_english():
    folders = {
        p.name for p in (from_lmeval.lmeval_tasks_dir() / "global_mmlu" / "full").iterdir() if p.is_dir()
    }
    configs = {
        t.leaves[0].config
        for t in builtin_catalogue().tasks
        if t.benchmark.name == "global_mmlu" and t.subset is None
    }
    assert len(folders) == 42 and configs == folders - {"en"}


def test_catalogue_files_are_what_lm_evals_task_folders_give():
    """The generated per-language blocks are up to date with the installed lm-eval (prompts cannot drift)."""
    assert from_lmeval.main(["--check"]) == 0


def test_tasks_json_lists_collections_and_provenance_for_every_task():
    run = _cli("tasks", "--json")
    assert run.returncode == 0, run.stderr
    listing = json.loads(run.stdout)
    collections = {row["name"]: row for row in listing["collections"]}
    for lang in INCLUDE_AND_GLOBAL_MMLU:
        assert collections[f"native_{lang}"]["tasks"] and collections[f"translated_{lang}"]["tasks"], lang
    assert all(row["origin"] and row["provenance"] for row in listing["tasks"])
    zh = next(row for row in listing["tasks"] if row["name"] == "translated_zh_global_mmlu")
    assert zh["origin"] == "human_translated" and zh["tier"] == "mmmlu" and zh["evidence"]


def test_tasks_for_one_language_say_which_test_sets_it_lacks():
    run = _cli("tasks", "--lang", "ko", "--json")
    assert run.returncode == 0, run.stderr
    listing = json.loads(run.stdout)
    assert {row["language"] for row in listing["tasks"]} == {"ko"}
    rows = {row["name"]: row for row in listing["collections"]}
    assert set(rows) == {"native_ko", "translated_ko"}
    assert "INCLUDE" not in rows["native_ko"]["lacks"] and "TyDi QA GoldP" not in rows["native_ko"]["lacks"]
    assert "Open-ended QA (OASST1, native prompts)" in rows["native_ko"]["lacks"]
    assert "CMMLU" not in rows["native_ko"]["lacks"]  # a one-language exam is no gap of Korean
    assert "XQuAD" in rows["translated_ko"]["lacks"] and "Global-MMLU" not in rows["translated_ko"]["lacks"]
    table = _cli("tasks", "--lang", "ko")
    assert "native_ko: native_ko_include" in table.stdout and "[lacks: Open-ended QA" in table.stdout


def test_a_collection_no_test_set_covers_names_what_is_missing():
    with pytest.raises(InputError) as caught:
        builtin_catalogue().resolve(["native_am"])  # Amharic: Global-MMLU only
    message = str(caught.value)
    assert "\n" not in message and "Amharic" in message and "INCLUDE" in message


def test_an_unknown_language_code_is_one_line_with_the_nearest_ones():
    run = _cli("tasks", "--lang", "kr")
    assert run.returncode != 0 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and "unknown language 'kr'" in lines[0] and "ko" in lines[0]

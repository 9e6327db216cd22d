"""Provenance origins, item tags and tag subsets in the catalogue: valid data loads, bad data is one line."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.model import CATALOGUE_DIR, ORIGIN_GROUPS, load_catalogue, provenance
from nativeval.harness_ext.core.errors import InputError


def copy_catalogue(tmp_path: Path, edit: dict[str, callable]) -> Path:
    folder = tmp_path / "data"
    folder.mkdir()
    for name in ("_collections.yaml", *edit):
        shutil.copy(CATALOGUE_DIR / name, folder / name)
    for name, change in edit.items():
        raw = yaml.safe_load((folder / name).read_text(encoding="utf-8"))
        change(raw)
        (folder / name).write_text(yaml.safe_dump(raw, allow_unicode=True), encoding="utf-8")
    return folder


def test_post_edited_mt_is_an_origin_of_the_translated_group():
    assert ORIGIN_GROUPS["machine_translated_post_edited"] == "translated"
    es = catalogue().task("translated_es_global_mmlu")
    assert es.origin_group == "translated" and "translated_es" in es.collections


def test_unknown_origin_is_one_line(tmp_path):
    def bad(raw):
        raw["per_language"]["languages"]["ru"]["origin"] = "machine_translated_maybe"

    with pytest.raises(InputError) as err:
        load_catalogue(copy_catalogue(tmp_path, {"global_mmlu.yaml": bad}))
    message = str(err.value)
    assert "\n" not in message and "machine_translated_maybe" in message
    assert "machine_translated_post_edited" in message and "translated_ru_global_mmlu" in message


def test_subset_on_a_field_that_is_not_an_item_tag_is_one_line(tmp_path):
    def bad(raw):
        raw["subsets"][0]["field"] = "answer"

    with pytest.raises(InputError, match="filters on 'answer', which is not listed in item_tags"):
        load_catalogue(copy_catalogue(tmp_path, {"include.yaml": bad}))


def test_subsets_are_generated_per_task_and_not_for_variants():
    names = {t.name for t in catalogue().tasks if t.subset is not None}
    expected = set()
    for task in catalogue().tasks:
        if task.subset is None and task.in_collections and task.benchmark.name == "include":
            expected |= {f"{task.name}_regional", f"{task.name}_agnostic"}
        if task.subset is None and task.benchmark.name == "global_mmlu":
            expected |= {f"{task.name}_cs", f"{task.name}_ca"}
    assert len(expected) == 2 * 44 + 2 * 41  # every INCLUDE and Global-MMLU language, no 5-shot variant
    assert names == expected


@pytest.mark.parametrize("benchmark", ["cmmlu", "ceval"])
def test_every_subject_carries_member_tags_from_the_vocabulary(benchmark):
    task = next(t for t in catalogue().tasks if t.benchmark.name == benchmark)
    bench = task.benchmark
    for leaf in task.leaves:
        assert set(leaf.member_tags) == set(bench.item_tags), leaf.name
        for tag, value in leaf.member_tags.items():
            assert value in bench.tag_vocabulary(tag), (leaf.name, tag, value)
        assert provenance(task, leaf)["member_tags"] == leaf.member_tags


def test_cmmlu_china_specific_subjects():
    task = catalogue().task("native_zh_cmmlu")
    flagged = {leaf.member for leaf in task.leaves if leaf.member_tags["china_specific"] == "yes"}
    assert {"chinese_history", "chinese_driving_rule", "traditional_chinese_medicine"} <= flagged
    assert not flagged & {"college_mathematics", "world_history", "virology"}

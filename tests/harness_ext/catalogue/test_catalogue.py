"""The catalogue is the one source of truth: names, provenance, generated YAMLs, collections, extension."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml

from nativeval.harness_ext.catalogue import catalogue, generate
from nativeval.harness_ext.catalogue.generate import out_of_date, render
from nativeval.harness_ext.catalogue.model import CATALOGUE_DIR, TASKS_DIR, load_catalogue, provenance
from nativeval.harness_ext.core.errors import InputError

EXPECTED_TASKS = {
    "native_ru_tydiqa",
    "native_zh_cmmlu",
    "native_zh_ceval",
    "translated_es_xquad",
    "translated_ru_xquad",
    "translated_zh_xquad",
    "translated_es_mgsm",
    "translated_ru_mgsm",
    "translated_zh_mgsm",
    "translated_es_mt_mmlu",
    "translated_ru_mt_mmlu",
    "translated_zh_mt_mmlu",
    "translated_es_ht_mmlu",
    "translated_zh_ht_mmlu",
}


def test_task_names_and_group_sizes():
    cat = catalogue()
    assert {t.name for t in cat.tasks} >= EXPECTED_TASKS  # other benchmarks (open QA) may join
    assert len(cat.task("native_zh_cmmlu").leaves) == 67
    assert len(cat.task("native_zh_ceval").leaves) == 52
    assert len(cat.task("translated_es_ht_mmlu").leaves) == 57


def test_generated_yamls_are_in_sync_with_the_catalogue():
    assert out_of_date(catalogue()) == [], "run `python -m nativeval.harness_ext.catalogue --write`"


def test_check_command_reports_in_sync():
    assert generate.main(["--check"]) == 0


def test_provenance_records():
    cat = catalogue()
    xquad = cat.task("translated_zh_xquad")
    record = provenance(xquad, xquad.leaves[0])
    assert record["origin"] == "human_translated" and record["source_language"] == "en"
    assert record["dataset"] == {
        "id": "google/xquad",
        "config": "xquad.zh",
        "revision": "51adfef1c1287aab1d2d91b5bead9bcfb9c68583",
        "splits": ["validation"],
    }
    tydi = cat.task("native_ru_tydiqa")
    assert provenance(tydi, tydi.leaves[0])["dataset"]["filter"] == {"id_prefix": "russian-"}
    assert cat.task("translated_es_mt_mmlu").benchmark.origin == "machine_translated"
    assert cat.task("native_zh_cmmlu").benchmark.origin == "native"


def test_yaml_metadata_carries_the_catalogue_provenance():
    cat = catalogue()
    task = cat.task("native_zh_ceval")
    leaf = task.leaves[0]
    text = (TASKS_DIR / task.benchmark.task_dir / f"{leaf.name}.yaml").read_text(encoding="utf-8")
    text = text.replace("!function", "")  # plain YAML for reading
    assert yaml.safe_load(text)["metadata"]["provenance"] == provenance(task, leaf)


def test_collections_derive_from_origin_and_language():
    cat = catalogue()
    members = {
        name: {t.name for t in cat.collection_members(name)} & EXPECTED_TASKS
        for name in cat.collection_names()
    }
    assert members["native_zh"] == {"native_zh_ceval", "native_zh_cmmlu"}
    assert members["native_ru"] == {"native_ru_tydiqa"}
    assert members["native_es"] == set()
    assert members["translated_es"] == {
        "translated_es_ht_mmlu",
        "translated_es_mgsm",
        "translated_es_mt_mmlu",
        "translated_es_xquad",
    }
    assert members["native"] | members["translated"] == EXPECTED_TASKS
    for task in cat.tasks:  # every task, whoever added it, is in exactly its two collections
        assert [c for c in cat.collection_names() if task in cat.collection_members(c)] == list(
            task.collections
        )
    on_disk = {p.stem for p in (TASKS_DIR / "collections").glob("*.yaml")}
    assert on_disk == {c for c in cat.collection_names() if cat.collection_members(c)}


def test_empty_collection_is_explained(tmp_path: Path):
    data_dir = tmp_path / "catalogue_data"
    data_dir.mkdir()
    for name in ("_collections.yaml", "cmmlu.yaml", "mgsm.yaml"):
        shutil.copy(CATALOGUE_DIR / name, data_dir / name)
    cat = load_catalogue(data_dir)
    assert cat.collection_members("native_es") == []
    assert not any(p.name == "native_es.yaml" for p in render(cat, tmp_path / "tasks"))
    with pytest.raises(
        InputError, match="collection native_es has no tasks: no native test set covers Spanish$"
    ):
        cat.resolve(["native_es"])


def test_resolve_names_and_errors():
    cat = catalogue()
    assert [t.name for t in cat.resolve(["native_zh_cmmlu", "native_zh_ceval", "native_zh_cmmlu"])] == [
        "native_zh_cmmlu",
        "native_zh_ceval",
    ]
    assert {"native_zh_ceval", "native_zh_cmmlu"} <= {t.name for t in cat.resolve(["native_zh"])}
    assert len(cat.resolve_leaves(["native_zh_cmmlu", "native_zh_cmmlu_agronomy"])) == 67
    with pytest.raises(InputError, match="did you mean native_zh"):
        cat.resolve(["natve_zh"])


def test_a_new_benchmark_file_joins_collections_without_other_edits(tmp_path: Path):
    """What H2 does for open QA: one catalogue file, one template folder, one command."""
    data_dir = tmp_path / "catalogue_data"
    shutil.copytree(CATALOGUE_DIR, data_dir)
    (data_dir / "extra_qa.yaml").write_text(
        yaml.safe_dump(
            {
                "benchmark": "extra_qa",
                "task_dir": "open_qa",
                "template": "_template_yaml",
                "origin": "native",
                "translator": None,
                "source_language": "es",
                "task_type": "open_generation",
                "num_fewshot": 0,
                "metrics": ["judge_rating"],
                "dataset": {"id": "OpenAssistant/oasst1", "revision": "main", "splits": ["validation"]},
                "tasks": [{"name": "native_es_extra_qa", "language": "es"}],
            }
        ),
        encoding="utf-8",
    )
    cat = load_catalogue(data_dir)
    files = render(cat, tmp_path / "tasks")
    native_es = yaml.safe_load(files[tmp_path / "tasks" / "collections" / "native_es.yaml"])
    assert "native_es_extra_qa" in native_es["task"]
    assert (
        "native_es_extra_qa"
        in yaml.safe_load(files[tmp_path / "tasks" / "collections" / "native.yaml"])["task"]
    )
    assert (tmp_path / "tasks" / "open_qa" / "native_es_extra_qa.yaml") in files


def test_stale_generated_files_are_removed(tmp_path: Path):
    cat = catalogue()
    tasks_dir = tmp_path / "tasks"
    generate.write(cat, tasks_dir)
    stale = tasks_dir / "native_zh_cmmlu" / "native_zh_cmmlu_gone.yaml"
    stale.write_text(f"{generate.GENERATED_HEADER} from nowhere.\ntask: x\n", encoding="utf-8")
    hand_written = tasks_dir / "native_zh_cmmlu" / "mine.yaml"
    hand_written.write_text("task: mine\n", encoding="utf-8")
    assert stale in out_of_date(cat, tasks_dir)
    generate.write(cat, tasks_dir)
    assert not stale.exists() and hand_written.exists()
    assert out_of_date(cat, tasks_dir) == []


def test_malformed_catalogue_file_is_one_line_error(tmp_path: Path):
    data_dir = tmp_path / "catalogue_data"
    shutil.copytree(CATALOGUE_DIR, data_dir)
    (data_dir / "broken.yaml").write_text("benchmark: broken\ntasks: []\n", encoding="utf-8")
    with pytest.raises(InputError, match=r"broken.yaml: missing key"):
        load_catalogue(data_dir)

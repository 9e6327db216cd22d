"""INCLUDE and Global-MMLU: prompts and loglikelihoods equal lm-eval's built-ins on the fixture docs; tag
subsets keep exactly their items with the full task's prompts; per-language provenance; tags reach the
samples; a scripted model right only on CS items scores 100 % on CS and 0 % on CA, in lm-eval's results
and in the leaderboard's tag split."""

from __future__ import annotations

import json
import logging
import os
import subprocess
import sys
from pathlib import Path

import lm_eval
import pytest
from lm_eval.api.model import LM
from lm_eval.tasks import TaskManager

from nativeval.harness_ext.catalogue import catalogue, dataset_loader
from nativeval.harness_ext.catalogue.model import TASKS_DIR
from nativeval.harness_ext.leaderboard.tags import items_from_samples, split_by_tag
from tests.tasks.test_tasks import builtin_task, requests

INCLUDE_ID, GLOBAL_MMLU_ID = "CohereForAI/include-base-44", "CohereForAI/Global-MMLU"
LANGUAGE = {"es": "Spanish", "ru": "Russian", "zh": "Chinese"}


def our_task(leaf_name: str):
    """A generated task, built the way lm-eval's factory builds it (a ``class:`` key picks the task class)."""
    from lm_eval.api.task import ConfigurableTask
    from lm_eval.tasks._yaml_loader import load_yaml

    cfg = load_yaml(next(TASKS_DIR.rglob(f"{leaf_name}.yaml")), resolve_func=True)
    return cfg.get("class", ConfigurableTask)(config=cfg)


def include_members(lang: str, task: str | None = None) -> list[str]:
    return [leaf.member for leaf in catalogue().task(task or f"native_{lang}_include").leaves]


def include_fixture(lang: str):
    return dataset_loader.load_dataset(INCLUDE_ID, LANGUAGE[lang], ["test"])


def global_mmlu_fixture(lang: str):
    return dataset_loader.load_dataset(GLOBAL_MMLU_ID, lang, ["test", "dev"])


@pytest.fixture(scope="module")
def tiny_lm(tiny_model):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_model), batch_size=16, device="cpu")


@pytest.mark.parametrize("lang", ["es", "ru", "zh"])
def test_include_default_matches_builtin_requests_for_every_domain(lang):
    fixture = include_fixture(lang)
    language = LANGUAGE[lang]
    for member in include_members(lang):
        ours = requests(our_task(f"native_{lang}_include_{member}"))
        theirs = requests(
            builtin_task(
                f"include/default/{language}/include_base_44_{language.lower()}_{member}.yaml", fixture
            )
        )
        assert ours and [r.arguments for r in ours] == [r.arguments for r in theirs], member


@pytest.mark.parametrize("lang", ["es", "ru", "zh"])
def test_include_5shot_in_language_variant_matches_builtin_few_shot_og(lang):
    fixture = include_fixture(lang)
    language = LANGUAGE[lang]
    variant = f"native_{lang}_include_5shot_{lang}_prompt"
    for member in include_members(lang, variant):
        ours = requests(our_task(f"{variant}_{member}"))
        theirs = requests(
            builtin_task(
                f"include/few_shot_og/{language}/include_base_44_{language.lower()}_{member}.yaml",
                fixture,
                num_fewshot=5,
            )
        )
        assert [r.arguments for r in ours] == [r.arguments for r in theirs], member
        assert ours[0].arguments[0].count("\nAnswer:") == 6  # five shots and the question


@pytest.mark.parametrize(
    ("lang", "subject"),
    [("es", "anatomy"), ("ru", "world_religions"), ("zh", "virology"), ("zh", "high_school_us_history")],
)
def test_global_mmlu_matches_builtin_requests_and_loglikelihoods(lang, subject, tiny_lm):
    ours = requests(our_task(f"translated_{lang}_global_mmlu_{subject}"))
    theirs = requests(
        builtin_task(
            f"global_mmlu/full/{lang}/global_mmlu_full_{lang}_{subject}.yaml",
            global_mmlu_fixture(lang),
            num_fewshot=5,
        )
    )
    assert ours and [r.arguments for r in ours] == [r.arguments for r in theirs]
    assert tiny_lm.loglikelihood(ours, disable_tqdm=True) == tiny_lm.loglikelihood(theirs, disable_tqdm=True)


def test_include_loglikelihoods_match_builtin(tiny_lm):
    ours = requests(our_task("native_es_include_stem"))
    theirs = requests(
        builtin_task("include/default/Spanish/include_base_44_spanish_stem.yaml", include_fixture("es"))
    )
    assert tiny_lm.loglikelihood(ours, disable_tqdm=True) == tiny_lm.loglikelihood(theirs, disable_tqdm=True)


def prompts_by_question(task_names: list[str]) -> dict[str, tuple]:
    found = {}
    for name in task_names:
        for inst in requests(our_task(name)):
            found.setdefault((inst.doc["question"], inst.idx), inst.arguments)
    return found


@pytest.mark.parametrize(
    ("subset", "base", "field", "values"),
    [
        ("translated_zh_global_mmlu_cs", "translated_zh_global_mmlu", "cultural_sensitivity_label", {"CS"}),
        ("translated_es_global_mmlu_ca", "translated_es_global_mmlu", "cultural_sensitivity_label", {"CA"}),
        (
            "native_ru_include_regional",
            "native_ru_include",
            "regional_feature",
            {"region explicit", "region implicit", "culture"},
        ),
        ("native_zh_include_agnostic", "native_zh_include", "regional_feature", {"region agnostic"}),
    ],
)
def test_subset_task_keeps_its_items_with_the_full_tasks_prompts(subset, base, field, values):
    task = our_task(subset)
    docs = list(task.eval_docs)
    full_docs = [d for leaf in catalogue().task(base).leaves for d in our_task(leaf.name).eval_docs]
    assert docs and sorted(d["question"] for d in docs) == sorted(
        d["question"] for d in full_docs if d[field] in values
    )
    full_prompts = prompts_by_question([leaf.name for leaf in catalogue().task(base).leaves])
    for inst in requests(task):
        assert inst.arguments == full_prompts[(inst.doc["question"], inst.idx)]


def test_global_mmlu_provenance_differs_per_language_and_subsets_stay_out_of_collections():
    cat = catalogue()
    origins = {lang: cat.task(f"translated_{lang}_global_mmlu").origin for lang in ("es", "ru", "zh")}
    # the paper's tiers: es Gold Set (post-edited), ru MT with community edits, zh OpenAI's human translation
    assert origins == {
        "es": "machine_translated_post_edited",
        "ru": "machine_translated",
        "zh": "human_translated",
    }
    assert cat.task("translated_zh_global_mmlu_cs").origin == "human_translated"
    assert [t.name for t in cat.collection_members("native_es")][0] == "native_es_include"
    members = {t.name for c in cat.collection_names() for t in cat.collection_members(c)}
    assert "translated_zh_global_mmlu" in members and "native_es_include" in members
    assert not members & {
        "translated_zh_global_mmlu_cs",
        "native_ru_include_regional",
        "native_es_include_5shot_es_prompt",
    }
    record = our_task("translated_es_global_mmlu_anatomy").config.metadata["provenance"]
    assert record["origin"] == "machine_translated_post_edited" and record["item_tags"] == [
        "cultural_sensitivity_label",
        "region",
        "subject_category",
    ]


def test_nativeval_tasks_lists_a_close_ended_native_spanish_task():
    from nativeval.harness_ext.catalogue.view import as_json

    view = as_json(catalogue())
    native_es = next(row for row in view["collections"] if row["name"] == "native_es")
    assert "native_es_include" in native_es["tasks"] and native_es["note"] == ""
    row = next(r for r in view["tasks"] if r["name"] == "native_es_include")
    assert row["type"].startswith("multiple_choice") and row["provenance"] == "native"
    ru = next(r for r in view["tasks"] if r["name"] == "translated_ru_global_mmlu")
    assert ru["provenance"].startswith("machine-translated from en")


class CulturallySensitiveOnlyLM(LM):
    """Scripted model: on Global-MMLU it puts the gold answer first exactly on CS items, a wrong one
    otherwise."""

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        out = []
        for inst in requests:
            gold = "ABCD".index(inst.doc["answer"])
            favoured = gold if inst.doc["cultural_sensitivity_label"] == "CS" else (gold + 1) % 4
            out.append((0.0 if inst.idx == favoured else -5.0, inst.idx == favoured))
        return out

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError

    def generate_until(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError


def test_scripted_cs_only_model_scores_100_on_cs_and_0_on_ca_in_results_and_tag_split(tmp_path):
    from lm_eval.evaluator import simple_evaluate

    logging.disable(logging.WARNING)
    try:
        manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
        out = simple_evaluate(
            model=CulturallySensitiveOnlyLM(),
            task_manager=manager,
            log_samples=True,
            tasks=[
                "translated_zh_global_mmlu_cs",
                "translated_zh_global_mmlu_ca",
                "translated_zh_global_mmlu",
            ],
        )
    finally:
        logging.disable(logging.NOTSET)
    assert out["results"]["translated_zh_global_mmlu_cs"]["acc,none"] == 1.0
    assert out["results"]["translated_zh_global_mmlu_ca"]["acc,none"] == 0.0
    bench = catalogue().task("translated_zh_global_mmlu").benchmark
    rows = [
        row
        for leaf in catalogue().task("translated_zh_global_mmlu").leaves
        for row in out["samples"][leaf.name]
    ]
    assert all(set(bench.item_tags) <= set(row["doc"]) for row in rows)  # the tags ride along in samples
    # through the samples file lm-eval writes, as the leaderboard reads it
    path = tmp_path / "samples.jsonl"
    path.write_text("".join(json.dumps(r, default=str) + "\n" for r in rows), encoding="utf-8")
    loaded = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    tagged = items_from_samples(loaded, "acc", bench.item_tags, cluster_field=bench.raw["cluster_unit"])
    split = split_by_tag(
        tagged,
        "cultural_sensitivity_label",
        bench.tag_vocabulary("cultural_sensitivity_label"),
        pair=("CS", "CA"),
    )
    assert split.subsets["CS"].value == 1.0 and split.subsets["CA"].value == 0.0
    assert split.contrast.value == 1.0 and not split.warnings


@pytest.mark.slow
def test_lm_eval_cli_runs_native_es_and_translated_es_offline_with_an_include_result(
    tiny_model, fixture_mirror, tmp_path
):
    env = {
        **os.environ,
        "NATIVEVAL_DATA_DIR": str(fixture_mirror),
        "HF_HUB_OFFLINE": "1",
        "HF_DATASETS_OFFLINE": "1",
    }
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lm_eval",
            "--model",
            "hf",
            "--model_args",
            f"pretrained={tiny_model}",
            "--include_path",
            str(TASKS_DIR),
            "--tasks",
            "native_es,translated_es",
            "--limit",
            "1",
            "--batch_size",
            "64",
            "--device",
            "cpu",
            "--output_path",
            str(tmp_path),
            "--log_samples",
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = tmp_path.rglob("results_*.json")
    results = json.loads(results_file.read_text())
    assert "acc,none" in results["groups"]["native_es_include"]
    assert "acc,none" in results["groups"]["translated_es_global_mmlu"]
    (samples,) = Path(results_file.parent).glob("samples_native_es_include_stem_*.jsonl")
    doc = json.loads(samples.read_text().splitlines()[0])["doc"]
    assert {"regional_feature", "level", "domain"} <= set(doc)


def test_builtin_tasks_named_in_the_catalogue_exist():
    root = Path(lm_eval.__file__).parent / "tasks"
    names = {
        leaf.lm_eval_builtin
        for t in catalogue().tasks
        if t.benchmark.name in ("include", "global_mmlu")
        for leaf in t.leaves
        if leaf.lm_eval_builtin
    }
    indexed = {
        line.split("task: ", 1)[1].strip()
        for folder in ("include", "global_mmlu/full")
        for path in (root / folder).rglob("*.yaml")
        for line in path.read_text().splitlines()
        if line.startswith("task: ")
    }
    assert names and names <= indexed

"""The task suite: every task loads its fixture docs; prompts and loglikelihoods match lm-eval's built-ins."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import lm_eval
import pytest
from lm_eval.api.task import ConfigurableTask
from lm_eval.tasks import TaskManager
from lm_eval.tasks._yaml_loader import load_yaml

from nativeval.harness_ext.catalogue import catalogue, dataset_loader
from nativeval.harness_ext.catalogue.model import TASKS_DIR, provenance
from nativeval.harness_ext.eval.runtime import exemplar_answer, load_docs

BUILTIN = Path(lm_eval.__file__).parent / "tasks"
SEED = 1234  # simple_evaluate's default few-shot seed
FIXTURE_LANGUAGES = {"es", "ru", "zh"}  # the languages tests/fixtures/hf_mirror has rows for
OWN_BENCHMARK_TASKS = {
    t.name
    for t in catalogue().tasks
    if t.benchmark.name in {"tydiqa", "cmmlu", "ceval", "xquad", "mgsm", "mt_mmlu", "ht_mmlu"}
    and t.language in FIXTURE_LANGUAGES
}


def builtin_task(rel: str, dataset, resolve: bool = True, **overrides) -> ConfigurableTask:
    """A built-in lm-eval task pointed at fixture data instead of the Hub."""
    cfg = load_yaml(BUILTIN / rel, resolve_func=resolve)
    for key in ("tag", "group"):
        cfg.pop(key, None)
    cfg["custom_dataset"] = lambda **_: dataset
    cfg.update(overrides)
    return ConfigurableTask(config=cfg)


def our_task(leaf_name: str) -> ConfigurableTask:
    path = next(TASKS_DIR.rglob(f"{leaf_name}.yaml"))
    return ConfigurableTask(config=load_yaml(path, resolve_func=True))


def requests(task: ConfigurableTask) -> list:
    task.set_fewshot_seed(seed=SEED)
    task.build_all_requests(limit=None, rank=0, world_size=1)
    return task.instances


def arguments(task: ConfigurableTask) -> list[tuple]:
    return [inst.arguments for inst in requests(task)]


MC_PAIRS = [
    ("native_zh_cmmlu_agronomy", "cmmlu/cmmlu_agronomy.yaml", "haonan-li/cmmlu", "agronomy", ["test", "dev"]),
    (
        "native_zh_cmmlu_world_history",
        "cmmlu/cmmlu_world_history.yaml",
        "haonan-li/cmmlu",
        "world_history",
        ["test", "dev"],
    ),
    (
        "native_zh_ceval_accountant",
        "ceval/ceval-valid_accountant.yaml",
        "ceval/ceval-exam",
        "accountant",
        ["val", "dev"],
    ),
    (
        "translated_es_mt_mmlu",
        "okapi/mmlu_multilingual/m_mmlu_es.yaml",
        "alexandrainst/m_mmlu",
        "es",
        ["test", "train"],
    ),
    (
        "translated_ru_mt_mmlu",
        "okapi/mmlu_multilingual/m_mmlu_ru.yaml",
        "alexandrainst/m_mmlu",
        "ru",
        ["test", "train"],
    ),
    (
        "translated_es_ht_mmlu_anatomy",
        "openai-mmmlu/default/mmmlu_es_la_anatomy.yaml",
        "openai/MMMLU",
        "ES_LA",
        ["test"],
    ),
    (
        "translated_zh_ht_mmlu_virology",
        "openai-mmmlu/default/mmmlu_zh_cn_virology.yaml",
        "openai/MMMLU",
        "ZH_CN",
        ["test"],
    ),
]


@pytest.fixture(scope="module")
def tiny_lm(tiny_model):
    from lm_eval.models.huggingface import HFLM

    return HFLM(pretrained=str(tiny_model), batch_size=16, device="cpu")


@pytest.mark.parametrize(("ours", "builtin", "dataset_id", "config", "splits"), MC_PAIRS)
def test_multiple_choice_matches_builtin_prompts_and_loglikelihoods(
    ours, builtin, dataset_id, config, splits, tiny_lm
):
    fixture = dataset_loader.load_dataset(dataset_id, config, splits)
    ours_reqs = requests(our_task(ours))
    theirs_reqs = requests(builtin_task(builtin, fixture, num_fewshot=5))
    assert ours_reqs, "no requests built"
    assert [r.arguments for r in ours_reqs] == [r.arguments for r in theirs_reqs]
    ours_ll = tiny_lm.loglikelihood(ours_reqs, disable_tqdm=True)
    theirs_ll = tiny_lm.loglikelihood(theirs_reqs, disable_tqdm=True)
    assert ours_ll == theirs_ll


@pytest.mark.parametrize("lang", ["es", "ru", "zh"])
def test_mgsm_lmeval_variants_build_the_builtins_requests_byte_for_byte(lang):
    fixture = dataset_loader.load_dataset("juletxara/mgsm", lang, ["train", "test"])
    ours = arguments(our_task(f"translated_{lang}_mgsm_lmeval"))
    theirs = arguments(builtin_task(f"mgsm/native_cot/mgsm_native_cot_{lang}.yaml", fixture, num_fewshot=5))
    assert ours == theirs and len(ours) == 3


@pytest.mark.parametrize("lang", ["es", "ru", "zh"])
def test_mgsm_default_tasks_differ_from_the_builtin_only_in_exemplar_cues_and_the_russian_cue(lang):
    fixture = dataset_loader.load_dataset("juletxara/mgsm", lang, ["train", "test"])
    ours = arguments(our_task(f"translated_{lang}_mgsm"))
    theirs = arguments(builtin_task(f"mgsm/native_cot/mgsm_native_cot_{lang}.yaml", fixture, num_fewshot=5))
    assert [gen for _, gen in ours] == [gen for _, gen in theirs]  # same stop sequences and decoding
    exemplars = list(fixture["train"])
    for (context, _), (builtin_context, _) in zip(ours, theirs, strict=True):
        for doc in exemplars:
            if doc["question"] in context:
                body = exemplar_answer(doc["answer"])
                assert f": {body}\n\n" in context  # the whole worked answer, after the cue and one space
        if lang == "ru":
            assert "Пошаговое решение:" in context and "Пошаговоерешение" not in context
            assert (
                context.replace("Пошаговое решение:", "Пошаговоерешение:") != builtin_context
            )  # and the cut
        else:
            assert context != builtin_context or lang == "es"  # es: 23 characters is exactly its cue


def test_mgsm_prompt_difference_on_real_chinese_exemplars(repo_root, monkeypatch, capsys):
    """Measured on real MGSM zh (the demo's embedded data): lm-eval's `answer[6:]` cuts every exemplar."""
    from lm_eval import simple_evaluate

    from nativeval.harness_ext.testing.scripted_lm import KeyedRepliesLM

    demo = repo_root / "configs" / "demo_data" / "hf_mirror"
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(demo))
    exemplars = list(dataset_loader.load_dataset("juletxara/mgsm", "zh", ["train"])["train"])
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    contexts = {}
    for name in ("translated_zh_mgsm", "translated_zh_mgsm_lmeval"):
        lm = KeyedRepliesLM({}, default="答案是 18。")
        simple_evaluate(model=lm, tasks=[name], task_manager=manager, limit=10)
        contexts[name] = lm.contexts
    ours, builtin = contexts["translated_zh_mgsm"], contexts["translated_zh_mgsm_lmeval"]
    assert len(ours) == len(builtin) == 10
    shown = cut = 0
    lost = set()
    for our_context, builtin_context in zip(ours, builtin, strict=True):
        for doc in exemplars:
            if doc["question"] in our_context:
                shown += 1
                body = exemplar_answer(doc["answer"])
                assert body in our_context
                if body not in builtin_context:
                    cut += 1
                    lost.add(body[0])
    differing = sum(a != b for a, b in zip(ours, builtin, strict=True))
    with capsys.disabled():
        print(
            f"\nMGSM zh, real exemplars: {differing}/10 prompts differ; {cut}/{shown} exemplar answers cut "
            f"by lm-eval's answer[6:], first characters lost: {''.join(sorted(lost))}"
        )
    assert differing == 10 and shown == 50 and cut == shown  # every prompt, every exemplar
    assert "5" in lost  # "5 个单价 3 美元的百吉饼" becomes " 个单价 3 美元的百吉饼": the arithmetic changes


def test_translated_zh_mgsm_results_use_lm_evals_metric_and_filter_names(tmp_path):
    from lm_eval import simple_evaluate

    from nativeval.harness_ext.testing.scripted_lm import KeyedRepliesLM

    test_docs = list(dataset_loader.load_dataset("juletxara/mgsm", "zh", ["test"])["test"])
    # doc 0: strict and flexible right; doc 1: only the last number right; the rest: wrong everywhere
    replies = {
        test_docs[0]["question"]: f"所以一共是 {test_docs[0]['answer_number']:,} 元。答案是 "
        f"{test_docs[0]['answer_number']:,}。",
        test_docs[1]["question"]: f"答案是 0。不对，是 {test_docs[1]['answer_number']}",
    }
    manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
    out = simple_evaluate(
        model=KeyedRepliesLM(replies, default="答案是 -1。"),
        tasks=["translated_zh_mgsm"],
        task_manager=manager,
    )
    scores = out["results"]["translated_zh_mgsm"]
    n = len(test_docs)
    assert scores["exact_match,strict-match"] == pytest.approx(1 / n)
    assert scores["exact_match,flexible-extract"] == pytest.approx(2 / n)
    assert not any(key.startswith(("exact_match_strict", "exact_match_flexible")) for key in scores)


def test_mgsm_lmeval_variants_join_no_collection():
    cat = catalogue()
    for lang in ("es", "ru", "zh"):
        members = {t.name for t in cat.collection_members(f"translated_{lang}")}
        assert f"translated_{lang}_mgsm" in members and f"translated_{lang}_mgsm_lmeval" not in members
        assert cat.task(f"translated_{lang}_mgsm_lmeval").collections == ()
    assert not any(t.name.endswith("_lmeval") for t in cat.collection_members("translated"))


def test_tydiqa_prompts_match_builtin_and_keep_only_russian():
    fixture = dataset_loader.load_dataset(
        "google-research-datasets/tydiqa", "secondary_task", ["train", "validation"]
    )
    ours_task = our_task("native_ru_tydiqa")
    theirs_task = builtin_task("tydiqa/tydiqa_goldp_ru.yaml", fixture, num_fewshot=1)
    assert arguments(ours_task) == arguments(theirs_task)
    docs = list(ours_task.eval_docs)
    assert [d["id"] for d in docs] == ["russian-901", "russian-903"]
    assert all(d["id"].startswith("russian-") for d in ours_task.fewshot_docs())


@pytest.mark.parametrize("lang", ["es", "ru", "zh"])
def test_xquad_prompts_match_builtin_yaml(lang):
    # lm-eval's xquad utils import transformers.data.metrics.squad_metrics (gone in transformers 5), so the
    # built-in is read without resolving its functions and compared at the prompt level.
    fixture = dataset_loader.load_dataset("google/xquad", f"xquad.{lang}", ["validation"])
    theirs = builtin_task(f"xquad/xquad_{lang}.yaml", fixture, resolve=False, process_results=None)
    assert arguments(our_task(f"translated_{lang}_xquad")) == arguments(theirs)


def test_xquad_scores_best_gold_and_chinese_characters_unlike_builtin():
    from lm_eval.tasks.tydiqa.utils import f1_score  # whitespace-token F1, the scheme of squad_metrics

    utils = our_task("translated_zh_xquad").config.process_results
    doc = {"answers": {"text": ["卡万·肖特", "肖特"], "answer_start": [0, 3]}}
    whitespace_f1_first_gold = f1_score("肖特 先生", doc["answers"]["text"][0], "zh")
    ours = utils(doc, ["肖特 先生"])
    assert whitespace_f1_first_gold == 0
    assert 0 < ours["f1"] < 1 and ours["exact_match"] == 0 and ours["include"] == 1
    assert (
        utils(doc, ["肖特"])["exact_match"] == 1
    )  # the second gold counts; the built-in reads only the first


def test_tydiqa_scores_agree_with_builtin_and_add_include():
    from lm_eval.tasks.tydiqa.utils import process_results_ru

    ours = our_task("native_ru_tydiqa").config.process_results
    doc = {"answers": ["1799", "в 1799 году"]}
    for prediction in ("1799", " в 1799 году.", "в году", "Пушкин родился в 1799 году"):
        builtin = process_results_ru(doc, [prediction])
        mine = ours(doc, [prediction])
        assert mine["exact_match"] == pytest.approx(float(builtin["exact_match"]))
        assert mine["f1"] == pytest.approx(builtin["f1"])
    assert ours(doc, ["Пушкин родился в 1799 году"])["include"] == 1


@pytest.mark.parametrize(
    ("lang", "output", "target", "builtin_strict_ok", "ours_strict", "ours_flexible"),
    [
        ("ru", "Всего 18 яиц. Ответ: 18.", 18, False, 1.0, 1.0),
        ("ru", "Ответ — 18", 18, True, 1.0, 1.0),
        ("es", "La respuesta es 1.234,5.", 1234.5, False, 1.0, 1.0),
        ("zh", "所以答案是 18。", 18, True, 1.0, 1.0),
        ("es", "La respuesta es 17.", 18, False, 0.0, 0.0),
    ],
)
def test_mgsm_scoring_reads_localized_numbers_unlike_builtin_regex(
    lang, output, target, builtin_strict_ok, ours_strict, ours_flexible
):
    builtin_cfg = load_yaml(BUILTIN / f"mgsm/native_cot/mgsm_native_cot_{lang}.yaml", resolve_func=False)
    pattern = builtin_cfg["filter_list"][0]["filter"][0]["regex_pattern"]
    match = re.search(pattern, output)
    builtin_hit = bool(match) and match.group(1).strip(".,") == str(target)
    assert builtin_hit == builtin_strict_ok
    task = our_task(f"translated_{lang}_mgsm")
    doc = {"question": "q", "answer": None, "answer_number": target}
    scores = {}
    for ensemble in task._filters:
        (filtered,) = [list(step(**{}).apply([[output]], [doc]))[0] for step in ensemble.filters[:1]]
        scores[ensemble.name] = float(filtered[0] == task.doc_to_target(doc))
    assert scores == {"strict-match": ours_strict, "flexible-extract": ours_flexible}


def test_every_leaf_loads_its_fixture_docs_with_provenance():
    logging.disable(logging.WARNING)
    try:
        manager = TaskManager(include_path=str(TASKS_DIR), include_defaults=False)
        loaded = manager.load(sorted(OWN_BENCHMARK_TASKS))["tasks"]
    finally:
        logging.disable(logging.NOTSET)
    cat = catalogue()
    expected = {leaf.name: (task, leaf) for task, leaf in cat.leaves() if task.name in OWN_BENCHMARK_TASKS}
    assert set(loaded) == set(expected)
    for name, task_obj in loaded.items():
        assert len(list(task_obj.eval_docs)) >= 1, name
        task, leaf = expected[name]
        assert task_obj.config.metadata["provenance"] == provenance(task, leaf)


def test_multiple_choice_targets_map_letters_to_indices():
    task = our_task("translated_zh_mt_mmlu")
    docs = list(task.eval_docs)
    # m_mmlu / MMMLU give the gold as a letter, which lm-eval looks up among the choices A-D
    assert [task.doc_to_target(d) for d in docs] == [d["answer"] for d in docs] == ["A", "B"]
    assert all(task.doc_to_choice(d) == ["A", "B", "C", "D"] for d in docs)
    cmmlu = our_task("native_zh_cmmlu_agronomy")
    docs = list(cmmlu.eval_docs)
    assert [cmmlu.doc_to_target(d) for d in docs] == ["ABCD".index(d["Answer"]) for d in docs]


def test_load_docs_ignores_model_arguments_that_share_a_name():
    record = provenance(
        catalogue().task("translated_es_xquad"), catalogue().task("translated_es_xquad").leaves[0]
    )
    loaded = load_docs(provenance=record, revision="some-model-revision", pretrained="x", config_source="y")
    assert list(loaded) == ["validation"] and len(loaded["validation"]) == 2


def test_lm_eval_validate_accepts_every_task_and_collection():
    import subprocess
    import sys

    cat = catalogue()
    # every task and collection (the collections reach every group member; 3,800 leaf names overflow argv)
    names = [n for n in cat.collection_names() if cat.collection_members(n)] + [t.name for t in cat.tasks]
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "lm_eval",
            "validate",
            "--include_path",
            str(TASKS_DIR),
            "--tasks",
            ",".join(names),
        ],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All tasks found and valid" in proc.stdout


def test_per_language_task_functions_are_resolved_from_the_registry(tmp_path, monkeypatch):
    import importlib.util

    import yaml

    from nativeval.harness_ext.core.errors import InputError
    from nativeval.harness_ext.core.languages import TABLE

    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    table["languages"]["fr"] = {
        k: v
        for k, v in table["languages"]["fr"].items()
        if k not in ("articles", "segmentation", "numbers", "mgsm")
    }
    (tmp_path / "languages.yaml").write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("NATIVEVAL_LANGUAGES", str(tmp_path / "languages.yaml"))

    spec = importlib.util.spec_from_file_location("utils", TASKS_DIR / "translated_xquad" / "utils.py")
    utils = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(utils)  # as lm-eval's `!function utils.name` does, then getattr
    doc = {"answers": {"text": ["el Prado"], "answer_start": [0]}}
    assert utils.process_results_es(doc, ["Prado"])["exact_match"] == 1.0  # Spanish articles
    assert utils.process_results_en(doc, ["Prado"])["exact_match"] == 0.0
    with pytest.raises(InputError) as caught:
        utils.process_results_fr  # noqa: B018 - in this registry, without evaluation settings
    assert "\n" not in str(caught.value) and "no evaluation settings" in str(caught.value)
    with pytest.raises(AttributeError):
        utils.something_else  # noqa: B018

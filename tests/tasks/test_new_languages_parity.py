"""Generated tasks of the new languages build the same requests as lm-eval's built-ins, sampled: one language
per benchmark (Korean INCLUDE, KMMLU, Global-MMLU, MMMLU and TyDi QA; TurkishMMLU; ArabicMMLU; Arabic XQuAD;
Thai MGSM's question prompt).

Fixture rows are written here in each dataset's Hub schema (CohereForAI/include-base-44: language, country,
domain, subject, regional_feature, level, question, option_a..d, answer index; CohereForAI/Global-MMLU: the
card's columns; openai/MMMLU: Question, A-D, Answer, Subject; google/xquad and tydiqa secondary_task: id,
context, question, answers), put under a mirror for ours and handed to the built-in directly.
"""

from __future__ import annotations

import json

import pytest

from nativeval.harness_ext.catalogue import catalogue, dataset_loader
from tests.tasks.test_tasks import builtin_task, our_task, requests


def _write(root, dataset_id, config, split, rows):
    path = root / dataset_id / config / f"{split}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")


def _options(i):
    return {f"option_{k}": f"선택 {k} {i}" for k in "abcd"}


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    cat = catalogue()
    include = cat.task("native_ko_include")
    titles = include.benchmark.raw["per_language"]["member_titles"]
    _write(
        tmp_path,
        "CohereForAI/include-base-44",
        "Korean",
        "test",
        [
            {
                "language": "Korean",
                "country": "Korea",
                "domain": titles[leaf.member],
                "subject": "s",
                "regional_feature": "region agnostic",
                "level": "1",
                "question": f"질문 {leaf.member} {i}?",
                **_options(i),
                "answer": i % 4,
            }
            for leaf in include.leaves
            for i in range(6)
        ],
    )
    subjects = [leaf.member for leaf in cat.task("translated_ko_global_mmlu").leaves][:3]
    for split, n in (("test", 2), ("dev", 5)):
        _write(
            tmp_path,
            "CohereForAI/Global-MMLU",
            "ko",
            split,
            [
                {
                    "sample_id": f"{s}/{split}/{i}",
                    "subject": s,
                    "subject_category": "STEM",
                    "question": f"{s} 질문 {i}?",
                    **_options(i),
                    "answer": "ABCD"[i % 4],
                    "required_knowledge": "[]",
                    "time_sensitive": "[]",
                    "reference": "[]",
                    "culture": "[]",
                    "region": "[]",
                    "country": "[]",
                    "cultural_sensitivity_label": "CA",
                    "is_annotated": True,
                }
                for s in subjects
                for i in range(n)
            ],
        )
    _write(
        tmp_path,
        "openai/MMMLU",
        "KO_KR",
        "test",
        [
            {
                "Unnamed: 0": i,
                "Question": f"{s} 질문 {i}?",
                "A": "가",
                "B": "나",
                "C": "다",
                "D": "라",
                "Answer": "ABCD"[i % 4],
                "Subject": s,
            }
            for s in subjects
            for i in range(6)
        ],
    )
    _write(
        tmp_path,
        "google/xquad",
        "xquad.ar",
        "validation",
        [
            {
                "id": f"ar-{i}",
                "context": f"القاهرة هي عاصمة مصر {i}.",
                "question": f"ما هي عاصمة مصر {i}؟",
                "answers": {"text": ["القاهرة"], "answer_start": [0]},
            }
            for i in range(2)
        ],
    )
    qa = [
        {
            "id": f"{prefix}-{i}",
            "title": "t",
            "context": f"서울은 수도이다 {i}.",
            "question": f"수도는 {i}?",
            "answers": {"text": ["서울"], "answer_start": [0]},
        }
        for prefix in ("korean", "russian")
        for i in range(2)
    ]
    _write(tmp_path, "google-research-datasets/tydiqa", "secondary_task", "train", qa)
    _write(tmp_path, "google-research-datasets/tydiqa", "secondary_task", "validation", qa)
    for split, n in (("test", 2), ("dev", 5)):  # HAERAE-HUB/KMMLU: question, answer 1-4, A-D, Category, ...
        _write(
            tmp_path,
            "HAERAE-HUB/KMMLU",
            "Accounting",
            split,
            [
                {
                    "question": f"회계 질문 {i}?",
                    "answer": i % 4 + 1,
                    "A": "가",
                    "B": "나",
                    "C": "다",
                    "D": "라",
                    "Category": "Accounting",
                    "Human Accuracy": 0.5,
                }
                for i in range(n)
            ],
        )
    for split, n in (("test", 2), ("dev", 5)):  # AYueksel/TurkishMMLU: question, choices (5), answer letter
        _write(
            tmp_path,
            "AYueksel/TurkishMMLU",
            "Biology",
            split,
            [
                {
                    "question": f"Biyoloji sorusu {i}?",
                    "choices": ["a", "b", "c", "d", "e"],
                    "answer": "ABCDE"[i % 5],
                    "difficulty": 50,
                }
                for i in range(n)
            ],
        )
        # MBZUAI/ArabicMMLU: ID, Source, Country, Group, Subject, Level, Question, Context, Answer Key,
        # Option 1-5
        _write(
            tmp_path,
            "MBZUAI/ArabicMMLU",
            "Accounting (University)",
            split,
            [
                {
                    "ID": i,
                    "Source": "s",
                    "Country": "Egypt" if i % 2 else None,
                    "Group": "Social Science",
                    "Subject": "Accounting",
                    "Level": "Univ" if i % 3 else None,
                    "Question": f"سؤال {i}؟",
                    "Context": None if i % 2 else "سياق",
                    "Answer Key": "ABCD"[i % 4],
                    "Option 1": "أ",
                    "Option 2": "ب",
                    "Option 3": "ج",
                    "Option 4": "د",
                    "Option 5": None,
                    "is_few_shot": int(split == "dev"),
                }
                for i in range(n)
            ],
        )
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    return subjects


def _same_requests(ours_name, builtin_rel, dataset_id, config, splits, **overrides):
    ours = requests(our_task(ours_name))
    theirs = requests(
        builtin_task(builtin_rel, dataset_loader.load_dataset(dataset_id, config, splits), **overrides)
    )
    assert ours and [r.arguments for r in ours] == [r.arguments for r in theirs], ours_name


def test_korean_include_matches_the_builtin_for_every_domain(mirror):
    for leaf in catalogue().task("native_ko_include").leaves:
        _same_requests(
            leaf.name,
            f"include/default/Korean/include_base_44_korean_{leaf.member}.yaml",
            "CohereForAI/include-base-44",
            "Korean",
            ["test"],
        )


def test_korean_global_mmlu_and_mmmlu_match_the_builtins(mirror):
    for subject in mirror:
        _same_requests(
            f"translated_ko_global_mmlu_{subject}",
            f"global_mmlu/full/ko/global_mmlu_full_ko_{subject}.yaml",
            "CohereForAI/Global-MMLU",
            "ko",
            ["test", "dev"],
            num_fewshot=5,
        )
        _same_requests(
            f"translated_ko_ht_mmlu_{subject}",
            f"openai-mmmlu/default/mmmlu_ko_kr_{subject}.yaml",
            "openai/MMMLU",
            "KO_KR",
            ["test"],
            num_fewshot=5,
        )


def test_kmmlu_a_native_korean_exam_matches_the_builtin(mirror):
    _same_requests(
        "native_ko_kmmlu_accounting",
        "kmmlu/default/kmmlu_accounting.yaml",
        "HAERAE-HUB/KMMLU",
        "Accounting",
        ["test", "dev"],
        num_fewshot=5,
    )
    task = catalogue().task("native_ko_kmmlu")
    assert task.origin == "native" and "native_ko" in task.collections and len(task.leaves) == 45


def test_turkishmmlu_and_arabicmmlu_native_exams_match_the_builtins(mirror):
    _same_requests(
        "native_tr_turkishmmlu_biology",
        "turkishmmlu/config/Biology.yaml",
        "AYueksel/TurkishMMLU",
        "Biology",
        ["test", "dev"],
        num_fewshot=5,
    )
    _same_requests(
        "native_ar_arabicmmlu_accounting_university",
        "arabicmmlu/arabicmmlu_accounting_university.yaml",
        "MBZUAI/ArabicMMLU",
        "Accounting (University)",
        ["test", "dev"],
        num_fewshot=5,
    )
    for name in ("native_tr_turkishmmlu", "native_ar_arabicmmlu"):
        task = catalogue().task(name)
        assert task.origin == "native" and f"native_{task.language}" in task.collections


def test_arabic_xquad_and_korean_tydiqa_match_the_builtin_prompts(mirror):
    # lm-eval's xquad utils import a module transformers 5 removed: compared without resolving its functions
    _same_requests(
        "translated_ar_xquad",
        "xquad/xquad_ar.yaml",
        "google/xquad",
        "xquad.ar",
        ["validation"],
        resolve=False,
        process_results=None,
    )
    ours = our_task("native_ko_tydiqa")
    theirs = builtin_task(
        "tydiqa/tydiqa_goldp_ko.yaml",
        dataset_loader.load_dataset(
            "google-research-datasets/tydiqa", "secondary_task", ["train", "validation"]
        ),
        num_fewshot=1,
    )
    assert [r.arguments for r in requests(ours)] == [r.arguments for r in requests(theirs)]
    assert [d["id"] for d in ours.eval_docs] == ["korean-0", "korean-1"]


def test_thai_mgsm_asks_the_question_as_the_builtin_does():
    from lm_eval.tasks._yaml_loader import load_yaml

    from nativeval.harness_ext.catalogue.model import TASKS_DIR
    from tests.tasks.test_tasks import BUILTIN

    ours = load_yaml(TASKS_DIR / "translated_mgsm" / "translated_th_mgsm.yaml", resolve_func=False)
    theirs = load_yaml(BUILTIN / "mgsm/native_cot/mgsm_native_cot_th.yaml", resolve_func=False)
    assert ours["doc_to_text"] == theirs["doc_to_text"]
    assert ours["generation_kwargs"]["until"] == theirs["generation_kwargs"]["until"]
    assert ours["filter_list"][0]["filter"][0] == {
        "function": "localized_number",
        "language": "th",
        "mode": "strict",
    }


@pytest.mark.parametrize("lang", ["es", "zh"])
def test_belebele_matches_the_builtin_on_the_fixture_rows(lang):
    config = catalogue().task(f"translated_{lang}_belebele").leaves[0].config
    _same_requests(
        f"translated_{lang}_belebele",
        f"belebele/belebele_{config}.yaml",
        "facebook/belebele",
        config,
        ["test"],
    )

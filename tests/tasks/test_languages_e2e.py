"""Known-answer lm-eval runs for one language per script: Latin (fr), Cyrillic (ru TyDi QA, read from a split
it shares with Korean), Arabic (ar), Devanagari (hi), Han (ja), Hangul (ko), Thai (th).

Real lm-eval (simple_evaluate) runs the generated tasks on fixture rows written here in the Hub schema of each
dataset (google/xquad: id, context, question, answers{text, answer_start}; google-research-datasets/tydiqa
secondary_task: id, title, context, question, answers; juletxara/mgsm: question, answer, answer_number,
equation_solution - answer null in test) and a scripted model with hand-picked replies, so the scores come out
right only if the language's registry settings (articles, segmentation, answer phrase, number conventions) are
the ones used.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nativeval.harness_ext.catalogue.model import TASKS_DIR


def _write_jsonl(path: Path, rows: list[dict]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(row, ensure_ascii=False) + "\n" for row in rows), encoding="utf-8")


def _qa(qid: str, context: str, question: str, answer: str) -> dict:
    return {
        "id": qid,
        "context": context,
        "question": question,
        "answers": {"text": [answer], "answer_start": [max(context.find(answer), 0)]},
    }


def _tydi(qid: str, context: str, question: str, answer: str) -> dict:
    return {
        "id": qid,
        "title": question[:8],
        **{k: v for k, v in _qa(qid, context, question, answer).items() if k != "id"},
    }


def _mgsm_exemplars(cue: str, phrase: str) -> list[dict]:
    return [
        {
            "question": f"Q{a}+{b}?",
            "answer": f"{cue} {a} + {b} = {a + b}. {phrase} {a + b}.",
            "answer_number": a + b,
            "equation_solution": f"{a} + {b} = {a + b}.",
        }
        for a, b in ((5, 2), (3, 4), (10, 1), (7, 7), (2, 9))
    ]


def _mgsm_test(*items: tuple[str, float]) -> list[dict]:
    return [{"question": q, "answer": None, "answer_number": n, "equation_solution": None} for q, n in items]


# (dataset path under the mirror, rows) per language; replies keyed by the test question's words.
MIRROR = {
    # Arabic: MLQA removes every "ال" - "القاهرة" and "قاهرة" are the same answer.
    "google/xquad/xquad.ar/validation.jsonl": [
        _qa("ar-1", "القاهرة هي عاصمة مصر.", "ما هي عاصمة مصر؟", "القاهرة"),
        _qa("ar-2", "النيل نهر طويل.", "ما هو النهر الطويل؟", "النيل"),
    ],
    # Devanagari: whitespace tokens, no articles.
    "google/xquad/xquad.hi/validation.jsonl": [
        _qa("hi-1", "नई दिल्ली भारत की राजधानी है।", "भारत की राजधानी क्या है?", "नई दिल्ली"),
        _qa("hi-2", "गंगा एक नदी है।", "गंगा क्या है?", "एक नदी"),
    ],
    # Thai: no spaces between words - per-character F1 gives partial credit.
    "google/xquad/xquad.th/validation.jsonl": [
        _qa("th-1", "กรุงเทพเป็นเมืองหลวง", "เมืองหลวงคืออะไร", "กรุงเทพ"),
        _qa("th-2", "แม่น้ำเจ้าพระยา", "แม่น้ำชื่ออะไร", "เจ้าพระยา"),
    ],
    # Hangul: TyDi QA Korean (id prefix "korean-"), 1 shot from train.
    "google-research-datasets/tydiqa/secondary_task/train.jsonl": [
        _tydi("korean-1", "부산은 항구 도시이다.", "부산은 어떤 도시인가?", "항구 도시"),
        _tydi("arabic-1", "دمشق مدينة قديمة.", "ما هي دمشق؟", "مدينة قديمة"),
        _tydi("russian-1", "Нева течёт через Петербург.", "Через какой город течёт Нева?", "Петербург"),
    ],
    "google-research-datasets/tydiqa/secondary_task/validation.jsonl": [
        _tydi("korean-2", "서울은 대한민국의 수도이다.", "대한민국의 수도는?", "서울"),
        _tydi("korean-3", "한강은 서울을 흐른다.", "서울을 흐르는 강은?", "한강"),
        _tydi("english-9", "Paris is in France.", "Where is Paris?", "France"),
        _tydi("russian-4", "Москва — столица России.", "Какой город столица России?", "Москва"),
    ],
    # Latin: French MGSM ("La réponse est", space-grouped thousands, decimal comma).
    "juletxara/mgsm/fr/train.jsonl": _mgsm_exemplars("Réponse étape par étape :", "La réponse est"),
    "juletxara/mgsm/fr/test.jsonl": _mgsm_test(
        ("Combien coûte la maison ?", 1234.5), ("Combien de pommes ?", 18)
    ),
    # Han: Japanese MGSM ("答えは…です", character segmentation elsewhere).
    "juletxara/mgsm/ja/train.jsonl": _mgsm_exemplars("ステップごとの答え:", "答えは"),
    "juletxara/mgsm/ja/test.jsonl": _mgsm_test(("りんごは何個ですか", 18), ("鉛筆は何本ですか", 7)),
    # Thai MGSM: the phrase "คำตอบคือ" and Thai digits.
    "juletxara/mgsm/th/train.jsonl": _mgsm_exemplars("คำตอบทีละขั้นตอน:", "คำตอบคือ"),
    "juletxara/mgsm/th/test.jsonl": _mgsm_test(("มีแอปเปิ้ลกี่ลูก", 18), ("มีดินสอกี่แท่ง", 7)),
}

REPLIES = {
    "ما هي عاصمة مصر؟": "قاهرة",  # right once "ال" is removed from the gold
    "ما هو النهر الطويل؟": "الفرات",
    "भारत की राजधानी क्या है?": "नई दिल्ली।",
    "गंगा क्या है?": "नदी",  # F1 2/3 (1 of 1 predicted, 1 of 2 gold tokens)
    "เมืองหลวงคืออะไร": "กรุงเทพ",
    "แม่น้ำชื่ออะไร": "แม่น้ำเจ้าพระยา",  # F1: 9 gold characters of 15 predicted -> 2*0.6*1/1.6 = 0.75
    "대한민국의 수도는?": "서울",
    "Какой город столица России?": "Москва.",
    "서울을 흐르는 강은?": "낙동강",
    "Combien coûte la maison ?": "1 000 + 234,5 = 1 234,5. La réponse est 1 234,5.",
    "Combien de pommes ?": "Il y a 18 pommes.",  # no phrase: flexible only
    "りんごは何個ですか": "10+8=18。答えは18です。",
    "鉛筆は何本ですか": "答えは8です。",
    "มีแอปเปิ้ลกี่ลูก": "10 + 8 = 18 คำตอบคือ ๑๘",  # Thai digits
    "มีดินสอกี่แท่ง": "คำตอบคือ 7",
}

TASKS = [
    "native_ru_tydiqa",
    "translated_ar_xquad",
    "translated_hi_xquad",
    "translated_th_xquad",
    "native_ko_tydiqa",
    "translated_fr_mgsm",
    "translated_ja_mgsm",
    "translated_th_mgsm",
]


@pytest.fixture(scope="module")
def results(tmp_path_factory):
    from lm_eval import simple_evaluate
    from lm_eval.tasks import TaskManager

    from nativeval.harness_ext.testing.scripted_lm import KeyedRepliesLM

    mirror = tmp_path_factory.mktemp("mirror")
    for relative, rows in MIRROR.items():
        _write_jsonl(mirror / relative, rows)
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("NATIVEVAL_DATA_DIR", str(mirror))
        out = simple_evaluate(
            model=KeyedRepliesLM(REPLIES),
            tasks=TASKS,
            task_manager=TaskManager(include_path=str(TASKS_DIR), include_defaults=False),
        )
    return out


@pytest.mark.parametrize(
    ("task", "metric", "expected"),
    [
        ("translated_ar_xquad", "exact_match,none", 0.5),  # Arabic: MLQA's "ال" rule
        ("translated_hi_xquad", "exact_match,none", 0.5),
        ("translated_hi_xquad", "f1,none", (1 + 2 / 3) / 2),
        ("translated_th_xquad", "exact_match,none", 0.5),
        ("translated_th_xquad", "f1,none", (1 + 0.75) / 2),  # per-character partial credit
        ("translated_th_xquad", "include,none", 1.0),
        ("native_ko_tydiqa", "exact_match,none", 0.5),  # only the two korean- rows of the split
        ("native_ru_tydiqa", "exact_match,none", 1.0),
        ("translated_fr_mgsm", "exact_match,strict-match", 0.5),
        ("translated_fr_mgsm", "exact_match,flexible-extract", 1.0),
        ("translated_ja_mgsm", "exact_match,strict-match", 0.5),
        ("translated_th_mgsm", "exact_match,strict-match", 1.0),
    ],
)
def test_known_answers_in_every_script(results, task, metric, expected):
    assert results["results"][task][metric] == pytest.approx(expected)


def test_each_run_carries_its_languages_provenance(results):
    for task in TASKS:
        provenance = results["configs"][task]["metadata"]["provenance"]
        assert task.split("_")[1] == provenance["language"]
        assert provenance["origin"] == ("native" if task.startswith("native_") else "human_translated")

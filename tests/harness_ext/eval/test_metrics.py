"""Known-answer tests for nativeval.harness_ext.eval.metrics: extractive QA and MGSM number
extraction, every script.

Every expected value below was worked out by hand (token counts noted beside the F1 cases).
"""

from __future__ import annotations

import re
import string
from collections import Counter

import pytest

from nativeval.harness_ext.core.errors import NativevalError
from nativeval.harness_ext.core.languages import evaluation_languages
from nativeval.harness_ext.eval.metrics import (
    UnsupportedLanguage,
    answer_tokens,
    canonical_number,
    extract_answer_number,
    normalize_answer,
    numbers_equal,
    parse_localized_number,
    qa_exact_match,
    qa_f1,
    qa_include,
    qa_scores,
)
from nativeval.harness_ext.eval.runtime import LocalizedNumberFilter, mgsm_target

EVALUABLE = evaluation_languages()

NBSP = "\u00a0"
NARROW_NBSP = "\u202f"
MINUS = "\u2212"

# --------------------------------------------------------------------------- normalization


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "The Eiffel Tower!", "eiffel tower"),
        ("en", "  an   apple, a pear  ", "apple pear"),
        ("es", "¿Cuál es la capital? ¡El París!", "cuál es capital parís"),
        (
            "es",
            "Unos perros y unas gatas, los niños y las niñas; un libro, una casa",
            "perros y gatas niños y niñas libro casa",
        ),
        ("es", "del norte al sur", "del norte al sur"),  # contractions are not articles
        ("es", "él dijo", "él dijo"),  # the pronoun "él" is not the article "el"
        ("ru", "Санкт-Петербург — город.", "санктпетербург город"),
        ("ru", "the Москва", "the москва"),  # articles are removed in en and es only
        ("zh", "「北京」是中国的首都。", "北 京 是 中 国 的 首 都"),
        ("zh", "《红楼梦》，（1949年）、？！：；", "红 楼 梦 1949 年"),
        ("zh", "iPhone 手机，2008年", "iphone 手 机 2008 年"),
        ("zh", "the 北京", "the 北 京"),
        ("en", "", ""),
        ("zh", "。，！", ""),
    ],
)
def test_normalize_answer(lang, text, expected):
    assert normalize_answer(text, lang) == expected


@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("en", "The big red barn.", ["big", "red", "barn"]),
        ("es", "La casa blanca", ["casa", "blanca"]),
        ("ru", "Красная площадь", ["красная", "площадь"]),
        ("zh", "iPhone 手机，2008年", ["iphone", "手", "机", "2008", "年"]),
        ("zh", "中华人民共和国", ["中", "华", "人", "民", "共", "和", "国"]),
        ("zh", "GPT4模型", ["gpt4", "模", "型"]),
    ],
)
def test_answer_tokens(lang, text, expected):
    assert answer_tokens(text, lang) == expected


# --------------------------------------------------------------------------- extractive QA


@pytest.mark.parametrize(
    ("lang", "prediction", "golds", "expected"),
    [
        ("en", "The Eiffel Tower", ["Eiffel Tower"], 1.0),
        ("en", "eiffel tower!", ["Louvre", "The Eiffel Tower"], 1.0),  # max over golds
        ("en", "Eiffel", ["Eiffel Tower"], 0.0),
        ("es", "La Casa Blanca", ["casa blanca"], 1.0),
        ("es", "una manzana roja", ["Manzana roja."], 1.0),
        ("es", "¿Los Ángeles?", ["Ángeles"], 1.0),
        ("es", "del norte", ["norte"], 0.0),
        ("ru", "Москва.", ["Париж", "москва"], 1.0),
        ("ru", "Москве", ["Москва"], 0.0),
        ("ru", "the Москва", ["Москва"], 0.0),
        ("zh", "「北京」。", ["北京"], 1.0),
        ("zh", "《红楼梦》", ["西游记", "红楼梦"], 1.0),
        ("zh", "（1949年）", ["1949年"], 1.0),
        ("zh", "北京市", ["北京"], 0.0),
    ],
)
def test_qa_exact_match(lang, prediction, golds, expected):
    assert qa_exact_match(prediction, golds, lang) == expected


@pytest.mark.parametrize(
    ("lang", "prediction", "golds", "expected"),
    [
        # pred {big, red, barn}; gold1 {red, barn}: P 2/3 R 1 -> 0.8;
        # gold2 {big, red, barn, house}: P 1 R 3/4 -> 6/7
        ("en", "the big red barn", ["red barn", "big red barn house"], 6 / 7),
        ("en", "The Eiffel Tower", ["Eiffel Tower"], 1.0),
        ("en", "Louvre", ["Eiffel Tower"], 0.0),
        # pred {río, amazonas, en, brasil}; gold1 2 shared: P 1/2 R 1 -> 2/3; gold2 1 shared: P 1/4 R 1 -> 0.4
        ("es", "el río Amazonas en Brasil", ["el río Amazonas", "Amazonas"], 2 / 3),
        # "del" is kept: pred {del, norte} vs {norte}: P 1/2 R 1 -> 2/3
        ("es", "del norte", ["norte"], 2 / 3),
        # articles removed before counting: {casa, blanca} == {casa, blanca}
        ("es", "la casa blanca", ["una casa blanca"], 1.0),
        # pred {в, городе, санктпетербург}; gold1 1 shared: P 1/3 R 1 -> 0.5; gold2 2 shared: P 2/3 R 1 -> 0.8
        ("ru", "в городе Санкт-Петербург", ["Санкт-Петербург", "городе Санкт-Петербург"], 0.8),
        ("ru", "Москва", ["Москва"], 1.0),
        ("ru", "Киев", ["Москва"], 0.0),
        # 3 chars vs 2 chars, 2 shared: P 2/3 R 1 -> 0.8
        ("zh", "北京市", ["北京"], 0.8),
        # 7 chars vs 5 chars, 5 shared: P 5/7 R 1 -> 5/6
        ("zh", "中华人民共和国", ["人民共和国"], 5 / 6),
        # pred {1949, 年, 10, 月}; gold1 {1949, 年}: P 1/2 R 1 -> 2/3;
        # gold2 6 tokens, 4 shared: P 1 R 2/3 -> 0.8
        ("zh", "1949年10月", ["1949年", "1949年10月1日"], 0.8),
        ("zh", "上海", ["北京"], 0.0),
    ],
)
def test_qa_f1(lang, prediction, golds, expected):
    assert qa_f1(prediction, golds, lang) == pytest.approx(expected)


@pytest.mark.parametrize(
    ("lang", "prediction", "golds", "expected"),
    [
        ("en", "It is in Paris, France.", ["Paris"], 1.0),
        ("en", "The Eiffel Tower, in fact.", ["London", "the eiffel tower"], 1.0),
        ("en", "A Parisian cafe", ["Paris"], 0.0),  # whole tokens only
        ("en", "London", ["Paris"], 0.0),
        ("es", "Creo que es la Casa Blanca.", ["la casa blanca"], 1.0),
        ("es", "Está en Madrid", ["Barcelona", "Madrid"], 1.0),
        ("es", "Madrileño", ["Madrid"], 0.0),
        ("ru", "Столица России — Москва.", ["Москва"], 1.0),
        ("ru", "Столица России — Москва.", ["Петербург"], 0.0),
        ("zh", "首都是北京。", ["北京"], 1.0),
        ("zh", "首都是北京。", ["上海", "「北京」"], 1.0),
        ("zh", "首都是北京。", ["上海"], 0.0),
        ("zh", "他在2008年出生", ["2008年"], 1.0),
        ("zh", "北京", ["北京市"], 0.0),
    ],
)
def test_qa_include(lang, prediction, golds, expected):
    assert qa_include(prediction, golds, lang) == expected


@pytest.mark.parametrize(
    ("lang", "prediction", "golds", "expected"),
    [
        ("en", "the Eiffel Tower", ["Eiffel Tower"], {"exact_match": 1.0, "f1": 1.0, "include": 1.0}),
        ("en", "Paris, France", ["Paris"], {"exact_match": 0.0, "f1": 2 / 3, "include": 1.0}),
        ("es", "la Casa Blanca", ["Casa Blanca"], {"exact_match": 1.0, "f1": 1.0, "include": 1.0}),
        ("es", "Madrid, España", ["Madrid"], {"exact_match": 0.0, "f1": 2 / 3, "include": 1.0}),
        ("ru", "Москва", ["Москва"], {"exact_match": 1.0, "f1": 1.0, "include": 1.0}),
        ("ru", "город Москва", ["Москва"], {"exact_match": 0.0, "f1": 2 / 3, "include": 1.0}),
        ("zh", "北京。", ["北京"], {"exact_match": 1.0, "f1": 1.0, "include": 1.0}),
        ("zh", "北京市", ["北京"], {"exact_match": 0.0, "f1": 0.8, "include": 1.0}),
    ],
)
def test_qa_scores(lang, prediction, golds, expected):
    scores = qa_scores(prediction, golds, lang)
    assert scores.keys() == expected.keys()
    for name, value in expected.items():
        assert scores[name] == pytest.approx(value), name


@pytest.mark.parametrize("lang", EVALUABLE)
@pytest.mark.parametrize("prediction", ["", "   ", "。", "?!"])
def test_empty_prediction_scores_zero(lang, prediction):
    assert qa_scores(prediction, ["Paris", "北京"], lang) == {"exact_match": 0.0, "f1": 0.0, "include": 0.0}


@pytest.mark.parametrize("lang", EVALUABLE)
def test_no_gold_answers_scores_zero(lang):
    assert qa_scores("Paris", [], lang) == {"exact_match": 0.0, "f1": 0.0, "include": 0.0}


@pytest.mark.parametrize(
    ("lang", "gold"), [("en", "Paris"), ("es", "Madrid"), ("ru", "Москва"), ("zh", "北京")]
)
def test_a_bare_string_is_one_gold_answer(lang, gold):
    assert qa_scores(gold, gold, lang) == {"exact_match": 1.0, "f1": 1.0, "include": 1.0}


def _squad_whitespace_f1(prediction: str, gold: str) -> float:
    """SQuAD v1.1's original F1 (what lm-eval's XQuAD uses): English normalization, whitespace tokens."""

    def normalize(text: str) -> str:
        text = "".join(ch for ch in text.lower() if ch not in set(string.punctuation))
        text = re.sub(r"\b(a|an|the)\b", " ", text)
        return " ".join(text.split())

    prediction_tokens, gold_tokens = normalize(prediction).split(), normalize(gold).split()
    same = sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())
    if same == 0:
        return 0.0
    precision, recall = same / len(prediction_tokens), same / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


@pytest.mark.parametrize(
    ("prediction", "gold", "expected_character_f1"),
    [
        ("北京市", "北京", 0.8),
        ("中华人民共和国", "人民共和国", 5 / 6),
        ("他是北京大学的教授", "北京大学", 2 * (4 / 9) / (1 + 4 / 9)),  # 9 chars vs 4, all 4 shared
    ],
)
def test_chinese_partial_overlap_gets_credit_where_whitespace_f1_gives_none(
    prediction, gold, expected_character_f1
):
    assert _squad_whitespace_f1(prediction, gold) == 0.0
    assert qa_f1(prediction, [gold], "zh") == pytest.approx(expected_character_f1)
    assert qa_f1(prediction, [gold], "zh") > 0.0


# --------------------------------------------------------------------------- MGSM

MGSM_CASES = [
    # (lang, model output, target, strict, flexible)
    ("en", "5 + 6 = 11. The answer is 11.", 11, 1.0, 1.0),
    ("en", "The answer is 1,234.", 1234, 1.0, 1.0),
    ("en", "The answer is $1,234.", 1234, 1.0, 1.0),
    ("en", "The answer is **$1,234**.", 1234, 1.0, 1.0),
    ("en", "The answer is: 18", 18, 1.0, 1.0),
    ("en", "The answer is 12.5.", 12.5, 1.0, 1.0),
    ("en", "The answer is 1,234.5 dollars.", 1234.5, 1.0, 1.0),
    ("en", "The answer is -5.", -5, 1.0, 1.0),
    ("en", f"The answer is {MINUS}5.", -5, 1.0, 1.0),
    ("en", "The answer is 18 kg.", 18, 1.0, 1.0),
    ("en", "The answer is 25%.", 25, 1.0, 1.0),
    ("en", "The answer is €5.", 5, 1.0, 1.0),
    ("en", "The answer is 5 €.", 5, 1.0, 1.0),
    ("en", f"The answer is 1{NBSP}234.", 1234, 1.0, 1.0),
    ("en", f"The answer is 1{NARROW_NBSP}234.", 1234, 1.0, 1.0),
    ("en", "THE ANSWER IS 7", 7, 1.0, 1.0),
    ("en", "The answer is 17. Wait, the answer is 18.", 18, 1.0, 1.0),  # last phrase wins
    ("en", "The answer is 18. Wait, the answer is 17.", 18, 0.0, 0.0),
    ("en", "The answer is 18 dollars, not 20.", 18, 1.0, 0.0),  # flexible takes the last number
    ("en", "She has 18 eggs left.", 18, 0.0, 1.0),  # no phrase: strict finds nothing
    ("en", "74-35 = 39", 39, 0.0, 1.0),  # "-35" is a subtraction, not a negative number
    ("en", "5 - 6 = -1", -1, 0.0, 1.0),
    ("en", "The answer is 17.", 18, 0.0, 0.0),
    ("en", "The answer is 1,234.", 1.234, 0.0, 0.0),  # en comma groups thousands
    ("en", "", 18, 0.0, 0.0),
    ("en", "I do not know.", 18, 0.0, 0.0),
    ("es", "5 + 6 = 11. La respuesta es 11.", 11, 1.0, 1.0),
    ("es", "La respuesta es 1.234,5", 1234.5, 1.0, 1.0),
    ("es", "La respuesta es 1.234.", 1234, 1.0, 1.0),  # dot + 3 digits groups thousands
    ("es", "La respuesta es 1 234.", 1234, 1.0, 1.0),
    ("es", "La respuesta es 1 234,5 euros.", 1234.5, 1.0, 1.0),
    ("es", f"La respuesta es 1{NARROW_NBSP}234,5", 1234.5, 1.0, 1.0),
    ("es", f"La respuesta es 1{NBSP}234", 1234, 1.0, 1.0),
    ("es", "La respuesta es 12,5 kg.", 12.5, 1.0, 1.0),  # comma + 1-2 digits is decimal
    ("es", "La respuesta es 1,2345", 1.2345, 1.0, 1.0),  # comma + more than 3 digits is decimal
    ("es", "La respuesta es 1,234.", 1234, 1.0, 1.0),  # comma + exactly 3 digits groups thousands
    ("es", "La respuesta es 1,234.5", 1234.5, 1.0, 1.0),
    ("es", "La respuesta es 3.5", 3.5, 1.0, 1.0),  # dot + 1 digit is decimal
    ("es", "La respuesta es 5 €.", 5, 1.0, 1.0),
    ("es", "La respuesta es €5.", 5, 1.0, 1.0),
    ("es", "La respuesta es $1.234.", 1234, 1.0, 1.0),
    ("es", "La respuesta es -5.", -5, 1.0, 1.0),
    ("es", f"La respuesta es {MINUS}5.", -5, 1.0, 1.0),
    ("es", "La respuesta es 40%.", 40, 1.0, 1.0),
    ("es", "la respuesta es 7", 7, 1.0, 1.0),
    ("es", "La respuesta es 18 dólares, no 20.", 18, 1.0, 0.0),
    ("es", "Le quedan 18 huevos.", 18, 0.0, 1.0),
    ("es", "La respuesta es 17.", 18, 0.0, 0.0),
    ("es", "La respuesta es 1.234", 1.234, 0.0, 0.0),  # es dot groups thousands: 1234, not 1.234
    ("es", "", 18, 0.0, 0.0),
    ("ru", "5 + 6 = 11. Ответ — 11.", 11, 1.0, 1.0),
    ("ru", "Ответ: 18.", 18, 1.0, 1.0),
    ("ru", "Ответ 7", 7, 1.0, 1.0),
    ("ru", "ОТВЕТ: 3", 3, 1.0, 1.0),
    ("ru", "**Ответ:** 18", 18, 1.0, 1.0),
    ("ru", "Ответ: 1 234,5", 1234.5, 1.0, 1.0),
    ("ru", "Ответ: 1 234", 1234, 1.0, 1.0),
    ("ru", f"Ответ: 1{NBSP}234 рубля.", 1234, 1.0, 1.0),
    ("ru", f"Ответ — 1{NARROW_NBSP}234,5", 1234.5, 1.0, 1.0),
    ("ru", "Ответ: 1.234,5", 1234.5, 1.0, 1.0),
    ("ru", "Ответ — 12,5.", 12.5, 1.0, 1.0),
    ("ru", "Ответ: 18 км.", 18, 1.0, 1.0),
    ("ru", "Ответ: 100 ₽", 100, 1.0, 1.0),
    ("ru", "Ответ: 50%.", 50, 1.0, 1.0),
    ("ru", "Ответ: -5", -5, 1.0, 1.0),
    ("ru", f"Ответ: {MINUS}5", -5, 1.0, 1.0),
    ("ru", "Ответ — 18, а не 20.", 18, 1.0, 0.0),
    ("ru", "Всего осталось 18 яблок.", 18, 0.0, 1.0),
    ("ru", "74 - 35 = 39. Ответ — 39.", 39, 1.0, 1.0),
    ("ru", "Ответ: 17.", 18, 0.0, 0.0),
    ("ru", "", 18, 0.0, 0.0),
    ("zh", "5 + 6 = 11。答案是 11。", 11, 1.0, 1.0),
    ("zh", "答案是 18。", 18, 1.0, 1.0),
    ("zh", "答案：18 元", 18, 1.0, 1.0),
    ("zh", "答案: 18", 18, 1.0, 1.0),
    ("zh", "答案是1,234。", 1234, 1.0, 1.0),
    ("zh", "答案是 12.5 元。", 12.5, 1.0, 1.0),
    ("zh", "答案是 ¥18。", 18, 1.0, 1.0),
    ("zh", "答案是 18 公里。", 18, 1.0, 1.0),
    ("zh", "答案是 -5。", -5, 1.0, 1.0),
    ("zh", f"答案是 {MINUS}5。", -5, 1.0, 1.0),
    ("zh", "答案是 25%。", 25, 1.0, 1.0),
    ("zh", "答案是１８。", 18, 1.0, 1.0),  # full-width digits
    ("zh", "答案是 18。不对，答案是 20。", 20, 1.0, 1.0),
    ("zh", "答案是 18。不对，答案是 20。", 18, 0.0, 0.0),
    ("zh", "所以一共有 18 个。", 18, 0.0, 1.0),
    ("zh", "答案是 17。", 18, 0.0, 0.0),
    ("zh", "", 18, 0.0, 0.0),
]


def mgsm_scores(output, target, lang):
    """lm-eval's exact_match (string equality) of the two filters' outputs against the task's target."""
    doc = {"answer": None, "answer_number": target}
    scores = {}
    for mode, name in (("strict", "strict-match"), ("flexible", "flexible-extract")):
        (filtered,) = LocalizedNumberFilter(language=lang, mode=mode).apply([[output]], [doc])
        scores[name] = float(filtered[0] == mgsm_target(doc))
    return scores


@pytest.mark.parametrize(("lang", "output", "target", "strict", "flexible"), MGSM_CASES)
def test_mgsm_filters_and_target_compare_numbers(lang, output, target, strict, flexible):
    assert mgsm_scores(output, target, lang) == {"strict-match": strict, "flexible-extract": flexible}


@pytest.mark.parametrize(("lang", "output", "target", "strict", "flexible"), MGSM_CASES)
def test_mgsm_filters_accept_string_targets(lang, output, target, strict, flexible):
    assert mgsm_scores(output, str(target), lang) == {"strict-match": strict, "flexible-extract": flexible}


def test_mgsm_filter_emits_lm_evals_invalid_marker_when_no_number():
    (filtered,) = LocalizedNumberFilter(language="zh", mode="strict").apply([["没有数字", None]], [{}])
    assert filtered == ["[invalid]", "[invalid]"]


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (18, "18"),
        (18.0, "18"),
        ("18", "18"),
        ("1,234", "1234"),
        (1234.5, "1234.5"),
        (-5, "-5"),
        (-0.0, "0"),
        (0.1 + 0.2, "0.3"),
        (18.0000004, "18"),
        (18.00001, "18.00001"),
        (None, None),
        ("eighteen", None),
        (float("nan"), None),
        (float("inf"), None),
    ],
)
def test_canonical_number_spells_equal_numbers_alike(value, expected):
    assert canonical_number(value) == expected


def test_mgsm_target_removes_exemplar_cues_of_any_length():
    assert (
        mgsm_target({"answer": "逐步解答：罗杰一开始有 5 个球。答案是 11。", "answer_number": 11})
        == "罗杰一开始有 5 个球。答案是 11。"
    )
    assert (
        mgsm_target({"answer": "Пошаговое решение: У Роджера 5 мячей.", "answer_number": 11})
        == "У Роджера 5 мячей."
    )
    assert (
        mgsm_target({"answer": "Respuesta paso a paso: Roger empezó con 5 pelotas.", "answer_number": 11})
        == "Roger empezó con 5 pelotas."
    )
    # an answer without a cue keeps its text, even with a colon later on ("10:30")
    assert mgsm_target({"answer": "At 10:30 he had 5.", "answer_number": 5}) == "At 10:30 he had 5."


@pytest.mark.parametrize(
    ("lang", "text", "strict", "flexible"),
    [
        ("en", "3 + 4 = 7. The answer is 7.", 7.0, 7.0),
        ("en", "The answer is 1,234.5 and then 6.", 1234.5, 6.0),
        ("en", "Nothing numeric here.", None, None),
        ("en", "The answer is unclear.", None, None),
        ("es", "La respuesta es 1.234,5", 1234.5, 1234.5),
        ("es", "Tengo 3 gatos y 2 perros.", None, 2.0),
        ("ru", "Ответ — 1 234,5.", 1234.5, 1234.5),
        ("ru", "В ответе 5 яблок.", None, 5.0),  # "ответе" is not the answer phrase
        ("zh", "答案：18 元", 18.0, 18.0),
        ("zh", "没有数字。", None, None),
    ],
)
def test_extract_answer_number(lang, text, strict, flexible):
    assert extract_answer_number(text, lang, strict=True) == strict
    assert extract_answer_number(text, lang, strict=False) == flexible


@pytest.mark.parametrize(
    ("token", "lang", "expected"),
    [
        ("1,234", "en", 1234.0),
        ("1,234.5", "en", 1234.5),
        ("1.234", "en", 1.234),  # en: a lone dot is a decimal point
        ("1.234,5", "en", 1234.5),
        ("1.234.567", "en", 1234567.0),
        ("18.", "en", 18.0),
        ("$1,234", "en", 1234.0),
        ("-5", "en", -5.0),
        (f"{MINUS}5", "en", -5.0),
        ("25%", "en", 25.0),
        (f"1{NBSP}234", "en", 1234.0),
        ("1 234", "en", None),  # a plain space groups thousands only in es and ru
        ("1,23", "en", None),
        ("18 kg", "en", None),  # units are extraction's business, not a number token's
        ("abc", "en", None),
        ("", "en", None),
        ("1.234", "es", 1234.0),
        ("1.234,5", "es", 1234.5),
        ("1 234,5", "es", 1234.5),
        ("1 234", "es", 1234.0),
        (f"1{NARROW_NBSP}234", "es", 1234.0),
        ("12,5", "es", 12.5),
        ("12,50", "es", 12.5),
        ("1,2345", "es", 1.2345),
        ("1,234", "es", 1234.0),
        ("1,234.5", "es", 1234.5),
        ("3.5", "es", 3.5),
        ("1.2345", "es", 1.2345),
        ("5 €", "es", 5.0),
        ("€5", "es", 5.0),
        ("1 234,5", "ru", 1234.5),
        (f"1{NBSP}234,5", "ru", 1234.5),
        ("18.", "ru", 18.0),
        (f"{MINUS}5", "ru", -5.0),
        ("1.234.567,89", "ru", 1234567.89),
        ("100 ₽", "ru", 100.0),
        ("18。", "zh", 18.0),
        ("18 元", "zh", 18.0),
        ("¥18", "zh", 18.0),
        ("１８", "zh", 18.0),
        ("1,234", "zh", 1234.0),
        ("3.5", "zh", 3.5),
        ("十八", "zh", None),
    ],
)
def test_parse_localized_number(token, lang, expected):
    assert parse_localized_number(token, lang) == expected


@pytest.mark.parametrize(
    ("a", "b", "expected"),
    [
        (18.0, 18, True),
        (18.0, "18", True),
        (18.0, " 18 ", True),
        (1234.0, "1,234", True),
        (1234.5, "1234.5", True),
        (-5.0, "-5", True),
        (0.1 + 0.2, 0.3, True),
        (18.0, 18.0000005, True),
        (18.0, 18.00001, False),
        (18.0, 17, False),
        (None, 18, False),
        (18.0, None, False),
        (None, None, False),
        (18.0, "eighteen", False),
        (float("nan"), float("nan"), False),
        (float("inf"), float("inf"), False),
    ],
)
def test_numbers_equal(a, b, expected):
    assert numbers_equal(a, b) is expected


# --------------------------------------------------------------------------- unknown language

LANGUAGE_CALLS = [
    lambda lang: normalize_answer("x", lang),
    lambda lang: answer_tokens("x", lang),
    lambda lang: qa_exact_match("x", ["x"], lang),
    lambda lang: qa_f1("x", ["x"], lang),
    lambda lang: qa_include("x", ["x"], lang),
    lambda lang: qa_scores("x", ["x"], lang),
    lambda lang: extract_answer_number("The answer is 1", lang, strict=True),
    lambda lang: extract_answer_number("1", lang, strict=False),
    lambda lang: parse_localized_number("1", lang),
    lambda lang: LocalizedNumberFilter(language=lang),
]


@pytest.mark.parametrize("call", LANGUAGE_CALLS)
@pytest.mark.parametrize("lang", ["", "EN", "zh-CN", "xx"])
def test_unknown_language_is_a_one_line_error_naming_the_registry(call, lang):
    with pytest.raises(UnsupportedLanguage) as caught:
        call(lang)
    assert isinstance(caught.value, NativevalError)
    message = str(caught.value)
    assert "\n" not in message
    assert repr(lang) in message and "languages.yaml" in message


@pytest.mark.parametrize("call", LANGUAGE_CALLS)
def test_a_registry_language_without_evaluation_settings_is_a_one_line_error(call, tmp_path, monkeypatch):
    import yaml

    from nativeval.harness_ext.core.languages import TABLE

    table = yaml.safe_load(TABLE.read_text(encoding="utf-8"))
    fr = table["languages"]["fr"]
    for key in ("articles", "segmentation", "numbers", "mgsm"):  # codes for translation and langid only
        fr.pop(key, None)
    registry = tmp_path / "languages.yaml"
    registry.write_text(yaml.safe_dump(table, allow_unicode=True), encoding="utf-8")
    monkeypatch.setenv("NATIVEVAL_LANGUAGES", str(registry))
    with pytest.raises(UnsupportedLanguage) as caught:
        call("fr")
    message = str(caught.value)
    assert "\n" not in message and "'fr'" in message and "no evaluation settings" in message
    listed = message.split("evaluable: ")[1].rstrip(")").split(", ")  # the evaluable languages it lists
    assert {"en", "es", "ru", "zh", "de"} <= set(listed) and "fr" not in listed


# --------------------------------------------------------------------------- every registry language
# QA normalization: MLQA's own rules for ar, de, vi (mlqa_evaluation_v1.py), grammar articles elsewhere, and
# per-character tokens for the scripts written without spaces (ja, th).
@pytest.mark.parametrize(
    ("lang", "text", "expected"),
    [
        ("ar", "الكتاب الأحمر", "كتاب أحمر"),  # MLQA removes every "ال"
        ("de", "Der Vertrag und ein Haus", "vertrag und haus"),
        ("vi", "Cái nhà của tôi", "nhà tôi"),  # MLQA's vi list: của, là, cái, chiếc, những
        ("fr", "La Tour Eiffel et les jardins", "tour eiffel et jardins"),
        ("it", "Il gatto e lo specchio", "gatto e specchio"),
        ("pt", "O livro e as casas", "livro e casas"),
        ("nl", "De kat en het huis", "kat en huis"),
        ("el", "Η Αθήνα και το σπίτι", "αθήνα και σπίτι"),
        ("hu", "A ház és az autó", "ház és autó"),
        ("hi", "भारत की राजधानी।", "भारत की राजधानी"),  # MLQA: Hindi has no articles
        ("ko", "서울은 수도이다.", "서울은 수도이다"),  # Hangul is written with spaces: whitespace tokens
        ("ja", "東京タワー、です。", "東 京 タ ワ ー で す"),
        ("th", "กรุงเทพ มหานคร", "ก ร ุ ง เ ท พ ม ห า น ค ร"),
        ("uk", "Київ — столиця.", "київ столиця"),
    ],
)
def test_normalize_answer_in_every_script(lang, text, expected):
    assert normalize_answer(text, lang) == expected


@pytest.mark.parametrize(
    ("lang", "prediction", "gold", "f1"),
    [
        ("ja", "東京です", "東京", 2 * (2 / 4) * 1 / (2 / 4 + 1)),  # 2 of 4 characters: P 1/2, R 1
        ("th", "ในกรุงเทพ", "กรุงเทพ", 2 * (7 / 9) / (7 / 9 + 1)),  # 7 of 9 characters
        ("ar", "في القاهرة", "القاهرة", 2 * (1 / 2) / (1 / 2 + 1)),  # "قاهرة" is one of two tokens
        ("ko", "서울 특별시", "서울", 2 * (1 / 2) / (1 / 2 + 1)),
    ],
)
def test_partial_credit_follows_the_languages_segmentation(lang, prediction, gold, f1):
    assert qa_f1(prediction, [gold], lang) == pytest.approx(f1)
    assert qa_include(prediction, [gold], lang) == 1.0 and qa_exact_match(prediction, [gold], lang) == 0.0


# MGSM: the answer phrases of lm-eval's mgsm_native_cot_<lang> exemplars, each language's number conventions
# (decimal comma, dot or space thousands) and native digits.
@pytest.mark.parametrize(
    ("lang", "output", "target", "strict", "flexible"),
    [
        ("de", "10 + 8 = 18. Die Antwort lautet 18.", 18, 1.0, 1.0),
        ("de", "Die Antwort lautet 1.234,5.", 1234.5, 1.0, 1.0),
        ("fr", "La réponse est 1 234.", 1234, 1.0, 1.0),
        ("fr", f"La réponse est 1{NARROW_NBSP}234,5 €.", 1234.5, 1.0, 1.0),
        ("ja", "10+8=18。答えは18です。", 18, 1.0, 1.0),
        ("bn", "১০ + ৮ = ১৮। উত্তর হল ১৮।", 18, 1.0, 1.0),  # Bengali digits
        ("bn", "The answer is 18.", 18, 1.0, 1.0),  # lm-eval's bn regex keeps English
        ("sw", "Jibu ni 1,234.", 1234, 1.0, 1.0),
        ("te", "సమాధానం 25.", 25, 1.0, 1.0),
        ("th", "10 + 8 = 18 คำตอบคือ 18", 18, 1.0, 1.0),
        ("th", "ดังนั้นได้ ๑๘ ลูก", 18, 0.0, 1.0),  # Thai digits, no phrase: flexible only
        ("ko", "따라서 답은 18입니다.", 18, 1.0, 1.0),
        ("ar", "الإجابة هي 18.", 18, 1.0, 1.0),
        ("ar", "الإجابة هي ١٨.", 18, 1.0, 1.0),  # Arabic-Indic digits
        ("hi", "इसलिए उत्तर है 18।", 18, 1.0, 1.0),
        ("hi", "उत्तर है १८", 18, 1.0, 1.0),  # Devanagari digits
        ("uk", "Відповідь: 1 234", 1234, 1.0, 1.0),
        ("pl", "Odpowiedź to 2,5.", 2.5, 1.0, 1.0),
        ("tr", "Cevap: 1.234", 1234, 1.0, 1.0),
        ("vi", "Câu trả lời là 18.", 18, 1.0, 1.0),
        ("de", "Die Antwort lautet 17.", 18, 0.0, 0.0),
    ],
)
def test_mgsm_phrases_and_numbers_of_every_language(lang, output, target, strict, flexible):
    assert mgsm_scores(output, target, lang) == {"strict-match": strict, "flexible-extract": flexible}


def test_every_mgsm_language_of_lm_eval_has_its_answer_phrase():
    from nativeval.harness_ext.catalogue.from_lmeval import lmeval_tasks_dir
    from nativeval.harness_ext.core.languages import language

    for path in (lmeval_tasks_dir() / "mgsm" / "native_cot").glob("mgsm_native_cot_*.yaml"):
        lang = path.stem.rsplit("_", 1)[1]
        assert language(lang).mgsm_answer_phrases, lang

"""Multilingual metrics for extractive QA (TyDi QA, XQuAD) and MGSM, for every evaluable registry language.

Everything language-specific comes from the language registry (harness_ext/core/languages.yaml): articles,
segmentation, number conventions and MGSM answer phrases. A language whose entry lacks them is a one-line
:class:`UnsupportedLanguage` error.

Extractive QA follows the MLQA evaluation script (Lewis et al. 2020), a per-language SQuAD script:

* normalization: lowercase; delete every punctuation character (ASCII ``string.punctuation`` plus
  every Unicode ``P*`` category, which covers Chinese 。，、？！：；「」《》（） and Spanish ¿¡);
  delete the language's ``articles`` (en: a, an, the; es: el, la, los, las, un, una, unos, unas; ru, zh:
  none); collapse whitespace;
* tokens: whitespace tokens for ``segmentation: whitespace``; for ``segmentation: character`` (zh) MLQA's
  mixed segmentation — every Han character is a token of its own, runs of anything else (Latin letters,
  digits) are split on whitespace;
* ``exact_match`` and ``f1`` (SQuAD's bag-of-tokens F1) take the maximum over all gold answers;
* ``include`` (the study's second XQuAD metric): 1.0 when some normalized gold answer occurs in the
  normalized prediction as a contiguous run of whole tokens ("paris" is in "it is paris", but not
  in "parisian"; for zh every character is a token, so this is plain substring containment of Han
  text).

MGSM compares the extracted number with the target numerically (absolute tolerance 1e-6):

* strict: the number right after one of the language's ``mgsm.answer_phrases`` (en "The answer is", es "La
  respuesta es", ru "Ответ" / "Ответ:" / "Ответ —", zh "答案是" / "答案：" / "答案:"), last occurrence wins;
* flexible: the last number anywhere in the output.

See :func:`parse_localized_number` for how "1,234", "1.234,5", "1 234" and friends are read.
"""

from __future__ import annotations

import math
import re
import string
import unicodedata
from collections import Counter
from collections.abc import Callable, Sequence
from functools import lru_cache

from nativeval.harness_ext.core.languages import (
    Language,
    NumberConventions,
    UnknownLanguage,
    evaluable_language,
)

NUMBER_TOLERANCE = 1e-6

UnsupportedLanguage = UnknownLanguage  # a language the registry knows nothing or too little about


def check_language(lang: str) -> str:
    """Return ``lang`` if the registry has its evaluation settings; raise
    :class:`UnsupportedLanguage` otherwise."""
    evaluable_language(lang)
    return lang


# --------------------------------------------------------------------------- extractive QA

_ASCII_PUNCTUATION = frozenset(string.punctuation)


def is_punctuation(char: str) -> bool:
    """ASCII punctuation (including symbols such as $ and +) or any Unicode punctuation category."""
    return char in _ASCII_PUNCTUATION or unicodedata.category(char).startswith("P")


# Characters of scripts written without spaces between words, each one token under ``segmentation:
# character``: Han (zh, ja kanji), Hiragana and Katakana (ja), Thai.
_HAN_CHARACTER = re.compile(
    "[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\U00020000-\U0002ebef\U00030000-\U0003134f"
    "\u3040-\u309f\u30a0-\u30ff\u31f0-\u31ff\uff66-\uff9f\u0e00-\u0e7f]"
)


@lru_cache(maxsize=64)
@lru_cache(maxsize=128)
def _article_pattern(articles: tuple[str, ...], article_regex: str | None = None) -> re.Pattern[str] | None:
    """The language's articles as words, or/and its raw MLQA-style rule (Arabic: every "ال")."""
    alternatives = ([r"\b(?:" + "|".join(map(re.escape, articles)) + r")\b"] if articles else []) + (
        [article_regex] if article_regex else []
    )
    return re.compile("|".join(alternatives)) if alternatives else None


def _mixed_segmentation(text: str) -> list[str]:
    """MLQA's Chinese segmentation: each Han character alone, other runs split on whitespace."""
    tokens: list[str] = []
    run: list[str] = []
    for char in text:
        if _HAN_CHARACTER.match(char):
            tokens.extend("".join(run).split())
            run = []
            tokens.append(char)
        else:
            run.append(char)
    tokens.extend("".join(run).split())
    return tokens


def normalize_answer(text: str, lang: str) -> str:
    """SQuAD/MLQA normalization for ``lang``; zh comes back as space-separated segmentation tokens."""
    entry = evaluable_language(lang)
    text = "".join(char for char in text.lower() if not is_punctuation(char))
    article_pattern = _article_pattern(entry.articles, entry.article_regex)
    if article_pattern is not None:
        text = article_pattern.sub(" ", text)
    tokens = _mixed_segmentation(text) if entry.segmentation == "character" else text.split()
    return " ".join(tokens)


def answer_tokens(text: str, lang: str) -> list[str]:
    """The tokens F1 counts: of the normalized text, per character (``segmentation:
    character``), else by whitespace."""
    return normalize_answer(text, lang).split()


def _as_gold_list(golds: Sequence[str] | str) -> list[str]:
    """A bare string is one gold answer, not a sequence of one-character answers."""
    return [golds] if isinstance(golds, str) else list(golds)


def _token_f1(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    if not prediction_tokens or not gold_tokens:
        return float(prediction_tokens == gold_tokens)
    overlap = sum((Counter(prediction_tokens) & Counter(gold_tokens)).values())
    if overlap == 0:
        return 0.0
    precision = overlap / len(prediction_tokens)
    recall = overlap / len(gold_tokens)
    return 2 * precision * recall / (precision + recall)


def _contains_run(haystack: list[str], needle: list[str]) -> bool:
    if not needle:
        return not haystack
    width = len(needle)
    return any(haystack[start : start + width] == needle for start in range(len(haystack) - width + 1))


def _exact(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    return float(prediction_tokens == gold_tokens)


def _include(prediction_tokens: list[str], gold_tokens: list[str]) -> float:
    return float(_contains_run(prediction_tokens, gold_tokens))


_QA_SCORERS: dict[str, Callable[[list[str], list[str]], float]] = {
    "exact_match": _exact,
    "f1": _token_f1,
    "include": _include,
}


def _best_over_golds(
    prediction: str, golds: Sequence[str] | str, lang: str, names: Sequence[str]
) -> dict[str, float]:
    """Each named score's best over all gold answers (0.0 with no gold); every text is normalized once."""
    predicted = answer_tokens(prediction, lang)
    gold_tokens = [answer_tokens(gold, lang) for gold in _as_gold_list(golds)]
    return {
        name: max((_QA_SCORERS[name](predicted, gold) for gold in gold_tokens), default=0.0) for name in names
    }


def qa_exact_match(prediction: str, golds: Sequence[str], lang: str) -> float:
    """1.0 if the normalized prediction equals some normalized gold answer; 0.0 when there is no gold."""
    return _best_over_golds(prediction, golds, lang, ["exact_match"])["exact_match"]


def qa_f1(prediction: str, golds: Sequence[str], lang: str) -> float:
    """SQuAD token F1 with per-language tokens (:func:`answer_tokens`), the best over all gold answers."""
    return _best_over_golds(prediction, golds, lang, ["f1"])["f1"]


def qa_include(prediction: str, golds: Sequence[str], lang: str) -> float:
    """1.0 if some normalized gold answer occurs, as whole consecutive tokens, in the normalized prediction.

    A gold answer that normalizes to nothing (e.g. "the") only counts for an empty prediction.
    """
    return _best_over_golds(prediction, golds, lang, ["include"])["include"]


def qa_scores(prediction: str, golds: Sequence[str], lang: str) -> dict[str, float]:
    """``exact_match``, ``f1`` and ``include`` of one prediction against its gold answers."""
    return _best_over_golds(prediction, golds, lang, list(_QA_SCORERS))


# --------------------------------------------------------------------------- MGSM numbers

# Thousands-separator spaces: no-break space, narrow no-break space and thin space everywhere;
# a plain space too where the registry says so (``numbers.space_thousands``: es, ru write "1 234").
_TYPOGRAPHIC_SPACES = "\u00a0\u202f\u2009"
_SEPARATOR_NAMES = {".": "dot", ",": "comma", "'": "apostrophe", "\u2019": "right_quote"}

# A language's number shapes, tried in this order at each position: (name, regex, thousands
# separators, decimal separator). The first that matches decides how the digits are read.
_NumberShape = tuple[str, str, str, str]


def _grouped(separator: str, decimal: str) -> str:
    """Digits grouped in threes by ``separator``, with an optional ``decimal`` fraction."""
    return rf"\d{{1,3}}(?:{separator}\d{{3}})+(?!\d)(?:{re.escape(decimal)}\d+)?"


@lru_cache(maxsize=64)
def _number_shapes(numbers: NumberConventions) -> tuple[_NumberShape, ...]:
    spaces = (" " if numbers.space_thousands else "") + _TYPOGRAPHIC_SPACES
    space_class = "[" + spaces + "]"
    own = [
        (
            f"{_SEPARATOR_NAMES.get(sep, f'sep{i}')}_thousands",
            _grouped(re.escape(sep), numbers.decimal),
            sep,
            numbers.decimal,
        )
        for i, sep in enumerate(numbers.thousands)
    ]
    space = [("space_thousands", _grouped(space_class, numbers.decimal), spaces, numbers.decimal)]
    if numbers.decimal == ",":
        # Decimal comma (es, ru): models often write English-style numbers too ("1,234" is 1234, "1,234.5").
        english = [] if "," in numbers.thousands else [("comma_thousands", _grouped(",", "."), ",", ".")]
        return tuple(
            own
            + space
            + english
            + [
                ("comma_decimal", r"\d+,\d+", "", ","),
                ("dot_decimal", r"\d+\.\d+", "", "."),
                ("integer", r"\d+", "", "."),
            ]
        )
    # Decimal point (en, zh): European shapes that cannot be read otherwise are accepted as well.
    european = (
        []
        if "." in numbers.thousands
        else [
            ("dot_thousands_comma_decimal", r"\d{1,3}(?:\.\d{3})+(?!\d),\d+", ".", ","),
            ("dot_thousands", r"\d{1,3}(?:\.\d{3}){2,}(?!\d)", ".", ","),
        ]
    )
    return tuple(
        own
        + european
        + space
        + [
            ("dot_decimal", r"\d+\.\d+", "", "."),
            ("integer", r"\d+", "", "."),
        ]
    )


# A minus sign (ASCII hyphen-minus or U+2212) counts only where it cannot be a binary minus ("74-35").
_SIGN = r"(?P<sign>(?<![\w.,])[-\u2212])?"


def _number_pattern(numbers: NumberConventions) -> str:
    alternatives = "|".join(f"(?P<{name}>{pattern})" for name, pattern, _, _ in _number_shapes(numbers))
    return rf"{_SIGN}(?<!\d)(?:{alternatives})"


_CURRENCY_SYMBOLS = "$€£¥₽₹₩"
_FULLWIDTH_TO_ASCII = str.maketrans(
    {**{chr(0xFF10 + digit): str(digit) for digit in range(10)}, "：": ":", "＄": "$", "－": "-", "＋": "+"}
)

# What may stand between an answer phrase and its number: a colon or dash, markdown bold, a currency sign.
_PHRASE_GLUE = rf"\s*(?:[:—–]|-(?!\d))?\s*\**\s*(?:[{re.escape(_CURRENCY_SYMBOLS)}]\s*)?"

# How MGSM targets (dataset fields) are written, whatever the language: "18", "1234.5", "1,234".
_DATASET_NUMBERS = NumberConventions()


@lru_cache(maxsize=64)
def _number_re(numbers: NumberConventions) -> re.Pattern[str]:
    return re.compile(_number_pattern(numbers))


@lru_cache(maxsize=64)
def _strict_re(entry: Language) -> re.Pattern[str]:
    if not entry.mgsm_answer_phrases:
        raise UnsupportedLanguage(
            f"language {entry.code!r} has no mgsm.answer_phrases in the language registry"
        )
    phrases = "(?:" + "|".join(entry.mgsm_answer_phrases) + ")"
    return re.compile(phrases + _PHRASE_GLUE + _number_pattern(entry.numbers), re.IGNORECASE)


def _value_of(match: re.Match[str], numbers: NumberConventions) -> float:
    for name, _, thousands, decimal in _number_shapes(numbers):
        digits = match.group(name)
        if digits is None:
            continue
        for separator in thousands:
            digits = digits.replace(separator, "")
        value = float(digits.replace(decimal, "."))
        return -value if match.group("sign") else value
    raise AssertionError("a number match always has one shape")


def _parse_number(token: str, numbers: NumberConventions) -> float | None:
    text = token.translate(_FULLWIDTH_TO_ASCII).strip()
    text = text.lstrip(_CURRENCY_SYMBOLS + " ")
    text = text.rstrip(_CURRENCY_SYMBOLS + "元%.。!?,，！？ ")
    match = _number_re(numbers).fullmatch(text)
    return _value_of(match, numbers) if match else None


def parse_localized_number(token: str, lang: str) -> float | None:
    """Read one number written the way ``lang`` writes numbers; None if ``token`` is not one number.

    A currency sign before or after ($ € £ ¥ ₽ ₹ ₩, 元), a percent sign, and closing sentence
    punctuation (". 。 ! ? , ，") are ignored; unit words ("18 км") are not — extraction handles those.
    A leading "-" or "−" (U+2212) makes the number negative.

    The rules follow the registry's ``numbers`` (decimal separator, thousands separators, plain-space
    grouping); for the four languages shipped:

    * en, zh: "," groups thousands and "." is the decimal point ("1,234.5"); "18." is 18, the
      period ending a sentence. European shapes that cannot be read otherwise are accepted:
      "1.234,5" is 1234.5 and "1.234.567" is 1234567, but "1.234" alone is 1.234.
    * es, ru: "." or a space groups thousands and "," is the decimal comma ("1.234,5", "1 234,5").
      A dot followed by exactly three digits groups thousands ("1.234" is 1234); followed by one,
      two or more than three digits it is a decimal point ("3.5"). A comma followed by one, two or
      more than three digits is a decimal comma ("12,5"); followed by exactly three digits it groups
      thousands, as models often write English-style numbers ("1,234" is 1234, "1,234.5" is 1234.5).
    * everywhere: when both "." and "," appear, the last one is the decimal separator; no-break
      space (U+00A0), narrow no-break space (U+202F) and thin space (U+2009) group thousands.
    """
    return _parse_number(token, evaluable_language(lang).numbers)


def extract_answer_number(text: str, lang: str, strict: bool) -> float | None:
    """The answer number of an MGSM output, or None when there is none.

    ``strict``: the number right after the last answer phrase of ``lang`` (registry ``mgsm.answer_phrases``)
    that is followed by a
    number (en "The answer is N", es "La respuesta es N", ru "Ответ: N" / "Ответ — N" / "Ответ N",
    zh "答案是 N" / "答案：N" / "答案: N"; case-insensitive; a colon, dash, "**" or currency sign may
    come between). Otherwise: the last number anywhere in ``text``. Numbers are read by
    :func:`parse_localized_number`'s rules.
    """
    entry = evaluable_language(lang)
    text = text.translate(_FULLWIDTH_TO_ASCII)
    pattern = _strict_re(entry) if strict else _number_re(entry.numbers)
    matches = list(pattern.finditer(text))
    return _value_of(matches[-1], entry.numbers) if matches else None


def numbers_equal(a: float | None, b: float | int | str | None) -> bool:
    """Whether two numbers agree within 1e-6; None, NaN, infinities and unreadable strings never do.

    A string ``b`` (an MGSM target such as "18" or "1234.5") is read with ``float`` or, failing that,
    as an English-style number ("1,234").
    """
    if a is None or b is None:
        return False
    if isinstance(b, str):
        try:
            b = float(b.strip())
        except ValueError:
            b = _parse_number(b, _DATASET_NUMBERS)
            if b is None:
                return False
    a, b = float(a), float(b)
    if not (math.isfinite(a) and math.isfinite(b)):
        return False
    return math.isclose(a, b, rel_tol=0.0, abs_tol=NUMBER_TOLERANCE)


def canonical_number(value: float | int | str | None) -> str | None:
    """One spelling per number, so that string equality is numeric equality (to 1e-6): "18", "-3", "1234.5".

    A string is read as a dataset field ("18", "1234.5", "1,234"); None, NaN, infinities and unreadable
    strings give None.
    """
    if value is None:
        return None
    if isinstance(value, str):
        try:
            value = float(value.strip())
        except ValueError:
            value = _parse_number(value, _DATASET_NUMBERS)
            if value is None:
                return None
    value = float(value)
    if not math.isfinite(value):
        return None
    rounded = round(value / NUMBER_TOLERANCE) * NUMBER_TOLERANCE
    text = f"{rounded:.6f}".rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text

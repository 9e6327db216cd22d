"""Offline language identification (langid.py, whose model ships inside the package).

Used by the judge (``off_language_rate``) and by translation quality checks (wrong target language).
"""

from __future__ import annotations

import re
from functools import lru_cache

from nativeval.harness_ext.core.languages import langid_codes, language_by_langid, registry

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")
_CODE_OR_URL = re.compile(r"```.*?```|`[^`]*`|https?://\S+|\S+@\S+", re.S)


@lru_cache(maxsize=4)
def _identifier(candidates: tuple[str, ...]):
    from langid.langid import LanguageIdentifier, model

    ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    ident.set_languages(list(candidates))
    return ident


def _han_language() -> str | None:
    """The registry language written in Simplified Han (script Hans): mostly-Han text is taken to be it."""
    return next((code for code, lang in registry().items() if lang.script == "Hans"), None)


def detect_language(text: str) -> tuple[str | None, float]:
    """(language code, confidence) of ``text``; (None, 0.0) when it has no letters to judge by."""
    text = _CODE_OR_URL.sub(" ", text or "")
    letters = _LETTER.findall(text)
    if len(letters) < 3:
        return None, 0.0
    cjk = len(_CJK.findall(text))
    if cjk / len(letters) > 0.3 and _han_language():
        return _han_language(), 1.0
    detected, prob = _identifier(tuple(langid_codes())).classify(text)
    lang = language_by_langid(detected)
    # langid confuses Russian and Ukrainian on short Cyrillic text; Russian unless it is sure of Ukrainian.
    if detected in ("ru", "uk") and len(_CYRILLIC.findall(text)) / len(letters) > 0.5:
        return "ru" if detected == "ru" or prob < 0.9 else lang, float(prob)
    return lang, float(prob)


def is_language(text: str, lang: str, min_confidence: float = 0.5) -> bool | None:
    """True if ``text`` is in ``lang``, False if confidently another, None when undecidable (too short)."""
    detected, prob = detect_language(text)
    if detected is None:
        return None
    if detected == lang:
        return True
    return False if prob >= min_confidence else None

"""Offline language identification (langid.py, whose model ships inside the package).

Used by the judge (``off_language_rate``) and by translation quality checks (wrong target language).
"""

from __future__ import annotations

import re
from functools import lru_cache

# langid reports these codes; nativeval's language codes map onto them one to one.
SUPPORTED = ("en", "es", "ru", "zh", "de", "fr", "it", "pt", "ja", "ko", "ar", "hi", "id", "sw", "te", "bn", "th", "vi", "uk", "tr")
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_CYRILLIC = re.compile(r"[\u0400-\u04ff]")
_LETTER = re.compile(r"[^\W\d_]")
_CODE_OR_URL = re.compile(r"```.*?```|`[^`]*`|https?://\S+|\S+@\S+", re.S)


@lru_cache(maxsize=1)
def _identifier():
    from langid.langid import LanguageIdentifier, model

    ident = LanguageIdentifier.from_modelstring(model, norm_probs=True)
    ident.set_languages(list(SUPPORTED))
    return ident


def detect_language(text: str) -> tuple[str | None, float]:
    """(language code, confidence) of ``text``; (None, 0.0) when it has no letters to judge by."""
    text = _CODE_OR_URL.sub(" ", text or "")
    letters = _LETTER.findall(text)
    if len(letters) < 3:
        return None, 0.0
    cjk = len(_CJK.findall(text))
    if cjk / len(letters) > 0.3:
        return "zh", 1.0
    lang, prob = _identifier().classify(text)
    if lang in ("ru", "uk") and len(_CYRILLIC.findall(text)) / len(letters) > 0.5:
        return "ru" if lang == "ru" or prob < 0.9 else lang, float(prob)
    return lang, float(prob)


def is_language(text: str, lang: str, min_confidence: float = 0.5) -> bool | None:
    """True if ``text`` is in ``lang``, False if confidently another, None when undecidable (too short)."""
    detected, prob = detect_language(text)
    if detected is None:
        return None
    if detected == lang:
        return True
    return False if prob >= min_confidence else None

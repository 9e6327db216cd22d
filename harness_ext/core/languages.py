"""The language registry (``languages.yaml`` beside this file): one entry per language, read by everything.

``language("zh").segmentation``, ``language("es").articles``, ``backend_code("zh", "nllb")``. A code that
is not in the registry is a one-line :class:`UnknownLanguage` naming the file to add it to.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from harness_ext.core.errors import InputError

TABLE = Path(__file__).with_name("languages.yaml")
BACKEND_SCHEMES = ("google", "nllb", "m2m100", "marian")


class UnknownLanguage(InputError):
    """A language code the registry does not know."""


@dataclass(frozen=True)
class NumberConventions:
    decimal: str = "."
    thousands: tuple[str, ...] = (",",)
    space_thousands: bool = False


@dataclass(frozen=True)
class Language:
    code: str
    name: str
    script: str
    iso639_3: str
    langid: str | None
    codes: dict[str, str] = field(compare=False, hash=False)  # backend scheme -> code
    articles: tuple[str, ...] = ()
    segmentation: str | None = None  # "whitespace" | "character"; None: no evaluation settings yet
    numbers: NumberConventions = NumberConventions()
    mgsm_answer_phrases: tuple[str, ...] = ()
    prompt_words: dict[str, str] = field(default_factory=dict, compare=False, hash=False)

    @property
    def evaluable(self) -> bool:
        """Whether the metrics have what they need for this language (normalization and segmentation)."""
        return self.segmentation is not None

    @property
    def length_unit(self) -> str:
        """How response length is counted: "characters" where words are not space-separated, else "words"."""
        return "characters" if self.segmentation == "character" else "words"


def _language(code: str, row: dict[str, Any]) -> Language:
    numbers = row.get("numbers") or {}
    return Language(
        code=code, name=row["name"], script=row["script"], iso639_3=row["iso639_3"], langid=row.get("langid"),
        codes={scheme: row[scheme] for scheme in BACKEND_SCHEMES if scheme in row},
        articles=tuple(row.get("articles") or ()), segmentation=row.get("segmentation"),
        numbers=NumberConventions(decimal=numbers.get("decimal", "."),
                                  thousands=tuple(numbers.get("thousands", (",",))),
                                  space_thousands=bool(numbers.get("space_thousands", False))),
        mgsm_answer_phrases=tuple((row.get("mgsm") or {}).get("answer_phrases") or ()),
        prompt_words=dict(row.get("prompt_words") or {}),
    )


@lru_cache(maxsize=8)
def registry(path: Path = TABLE) -> dict[str, Language]:
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["languages"]
    return {code: _language(code, row) for code, row in raw.items()}


def language(code: str) -> Language:
    try:
        return registry()[code]
    except KeyError:
        raise UnknownLanguage(
            f"unknown language {code!r}: add an entry for it to {TABLE} (known: {', '.join(sorted(registry()))})"
        ) from None


def codes() -> list[str]:
    return list(registry())


def evaluation_languages() -> list[str]:
    """Codes whose entries carry evaluation settings (normalization, segmentation, MGSM conventions)."""
    return [code for code, lang in registry().items() if lang.evaluable]


def language_table() -> dict[str, dict[str, str]]:
    """code -> {"name", and each backend scheme's code}; the shape translation backends read."""
    return {code: {"name": lang.name, **lang.codes} for code, lang in registry().items()}


def language_name(code: str) -> str:
    return language(code).name


def backend_code(code: str, scheme: str) -> str:
    """``code`` in a backend's ``scheme`` ("google", "nllb", "m2m100", "marian")."""
    return language(code).codes[scheme]


def by_iso639_3(code3: str) -> str | None:
    """nativeval's code for an ISO 639-3 code (Aya record ids such as aya_zho_12), or None."""
    return next((code for code, lang in registry().items() if lang.iso639_3 == code3), None)


def require_language(code: str, supported: list[str], backend: str, role: str) -> str:
    """Return ``code`` if ``supported`` lists it, else a one-line error listing what is."""
    if code not in supported:
        raise InputError(
            f"unknown {role} language code {code!r} for backend {backend}; supported: {', '.join(sorted(supported))}"
        )
    return code

"""The language registry (``languages.yaml`` beside this file): one entry per language, read by everything.

``language("zh").segmentation``, ``language("es").articles``, ``backend_code("zh", "nllb")``. A code that
is not in the registry is a one-line :class:`UnknownLanguage` naming the file to add it to.
``NATIVEVAL_LANGUAGES=<file>`` replaces the table (same schema), for a site's own languages or a test.
"""

from __future__ import annotations

import difflib
import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml

TABLE = Path(__file__).with_name("languages.yaml")
TABLE_ENV = "NATIVEVAL_LANGUAGES"
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
    iso639_3_aliases: tuple[str, ...] = ()
    articles: tuple[str, ...] = ()
    article_regex: str | None = None  # a regex removed as is (MLQA's Arabic rule), besides ``articles``
    segmentation: str | None = None  # "whitespace" | "character"; None: no evaluation settings yet
    numbers: NumberConventions = NumberConventions()
    mgsm_answer_phrases: tuple[str, ...] = ()

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
        code=code,
        name=row["name"],
        script=row["script"],
        iso639_3=row["iso639_3"],
        langid=row.get("langid"),
        iso639_3_aliases=tuple(row.get("iso639_3_aliases") or ()),
        codes={scheme: row[scheme] for scheme in BACKEND_SCHEMES if scheme in row},
        articles=tuple(row.get("articles") or ()),
        article_regex=row.get("article_regex"),
        segmentation=row.get("segmentation"),
        numbers=NumberConventions(
            decimal=numbers.get("decimal", "."),
            thousands=tuple(numbers.get("thousands", (",",))),
            space_thousands=bool(numbers.get("space_thousands", False)),
        ),
        mgsm_answer_phrases=tuple((row.get("mgsm") or {}).get("answer_phrases") or ()),
    )


def table_path() -> Path:
    """The registry file in use: ``$NATIVEVAL_LANGUAGES`` if set, else
    ``languages.yaml`` beside this module."""
    return Path(os.environ.get(TABLE_ENV) or TABLE)


@lru_cache(maxsize=8)
def _load(path: Path, mtime_ns: int) -> dict[str, Language]:
    raw = read_yaml(path).get("languages")
    if not isinstance(raw, dict):
        raise InputError(f"{path}: expected a `languages:` mapping of code -> entry")
    try:
        return {str(code): _language(str(code), row) for code, row in raw.items()}
    except (KeyError, TypeError) as err:
        raise InputError(f"{path}: a language entry lacks {err}; see the header of {TABLE}") from None


def registry(path: Path | None = None) -> dict[str, Language]:
    path = path or table_path()
    try:
        mtime_ns = path.stat().st_mtime_ns
    except FileNotFoundError:
        raise InputError(f"language registry {path} not found (set by ${TABLE_ENV}?)") from None
    return _load(path, mtime_ns)


def nearest_codes(code: str, n: int = 5) -> list[str]:
    """Registry codes nearest to ``code``: by code, by ISO 639-3 code or alias, or by English name."""
    table = registry()
    wanted = str(code).strip().lower()
    exact = [
        c
        for c, lang in table.items()
        if wanted in (c.lower(), lang.iso639_3, lang.name.lower(), *lang.iso639_3_aliases)
    ]
    by_name = {lang.name.lower(): c for c, lang in table.items()}
    close = difflib.get_close_matches(wanted, list(table), n=2 * n, cutoff=0.5)
    close.sort(key=lambda c: c[:1] != wanted[:1])  # "kr": ko, ka, kk before ur, uk
    close += [by_name[name] for name in difflib.get_close_matches(wanted, list(by_name), n=n, cutoff=0.6)]
    if not exact and not close and wanted:
        close = sorted(c for c in table if c[0] == wanted[0])
    return list(dict.fromkeys(exact + close))[:n]


def unknown_language_message(code: str) -> str:
    near = nearest_codes(code)
    hint = f"nearest known: {', '.join(near)}" if near else f"known: {', '.join(sorted(registry()))}"
    return f"unknown language {code!r} ({hint}); a new language is an entry in {table_path()}"


def language(code: str) -> Language:
    try:
        return registry()[code]
    except KeyError:
        raise UnknownLanguage(unknown_language_message(code)) from None


def evaluable_language(code: str) -> Language:
    """``language(code)`` if its entry has the evaluation settings metrics need, else a one-line error."""
    lang = language(code)
    if not lang.evaluable:
        raise UnknownLanguage(
            f"language {code!r} has no evaluation settings (articles, segmentation, numbers, mgsm) in "
            f"{table_path()}; add them (evaluable: {', '.join(evaluation_languages())})"
        )
    return lang


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
    lang = language(code)
    if scheme not in lang.codes:
        have = [c for c, entry in registry().items() if scheme in entry.codes]
        raise UnknownLanguage(
            f"{lang.name} ({code}) has no {scheme} code in {table_path()}: the {scheme} backend "
            f"does not cover it; use another backend ({scheme} has {len(have)} languages)"
        )
    return lang.codes[scheme]


def by_iso639_3(code3: str) -> str | None:
    """nativeval's code for an ISO 639-3 code (Aya record ids such as aya_zho_12), or None."""
    code3 = code3.strip().lower()
    return next(
        (
            code
            for code, lang in registry().items()
            if code3 == lang.iso639_3 or code3 in lang.iso639_3_aliases
        ),
        None,
    )


def langid_codes() -> list[str]:
    """The langid.py codes of every registry language langid can tell."""
    return sorted({lang.langid for lang in registry().values() if lang.langid})


def language_by_langid(langid_code: str) -> str | None:
    """nativeval's code for a langid.py code, or None."""
    return next((code for code, lang in registry().items() if lang.langid == langid_code), None)


def require_language(code: str, supported: list[str], backend: str, role: str) -> str:
    """Return ``code`` if ``supported`` lists it, else a one-line error listing what is."""
    if code not in supported:
        raise InputError(
            f"unknown {role} language code {code!r} for backend {backend}; supported: "
            f"{', '.join(sorted(supported))}"
        )
    return code

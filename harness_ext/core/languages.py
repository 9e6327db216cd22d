"""Language codes: nativeval's ISO 639-1 codes and what each backend calls them (languages.yaml)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from harness_ext.core.errors import InputError

TABLE = Path(__file__).with_name("languages.yaml")


@lru_cache(maxsize=1)
def language_table() -> dict[str, dict[str, str]]:
    return yaml.safe_load(TABLE.read_text(encoding="utf-8"))["languages"]


def language_name(code: str) -> str:
    return language_table()[code]["name"]


def backend_code(code: str, scheme: str) -> str:
    """``code`` in a backend's ``scheme`` ("google", "nllb", "m2m100", "marian")."""
    return language_table()[code][scheme]


def require_language(code: str, supported: list[str], backend: str, role: str) -> str:
    """Return ``code`` if ``supported`` lists it, else a one-line error listing what is."""
    if code not in supported:
        raise InputError(
            f"unknown {role} language code {code!r} for backend {backend}; supported: {', '.join(sorted(supported))}"
        )
    return code

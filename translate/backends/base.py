"""The one batch interface every translation backend implements."""

from __future__ import annotations

import math
from abc import ABC, abstractmethod
from dataclasses import dataclass
from typing import Any

from nativeval.harness_ext.core.languages import language_table, require_language
from nativeval.harness_ext.core.prices import character_prices, token_prices


@dataclass
class BatchResult:
    """Translations in input order, plus what the call was billed for."""

    texts: list[str]
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0


class Backend(ABC):
    """Translate a batch of plain-text segments from ``src`` to ``tgt`` (nativeval language codes).

    ``max_batch_segments`` / ``max_batch_chars`` bound one call; ``sort_by_length`` asks the
    pipeline to hand over segments of similar length together (local models pad batches).
    """

    name: str = "backend"
    model: str = ""
    prompt_version: str = ""
    max_batch_segments: int = 1
    max_batch_chars: int = 0
    sort_by_length: bool = False
    default_concurrency: int = 8
    price_unit: str | None = None  # "tokens" | "characters": which section of the price table bills it

    def supported_languages(self) -> list[str]:
        return sorted(language_table())

    def check_languages(self, src: str, tgt: str) -> None:
        supported = self.supported_languages()
        require_language(src, supported, self.name, "source")
        require_language(tgt, supported, self.name, "target")

    def price(self) -> dict[str, float] | None:
        """This model's entry of the price table (harness_ext/core/prices.yaml), or None if unknown."""
        if self.price_unit is None:
            return None
        return (token_prices() if self.price_unit == "tokens" else character_prices()).get(self.model)

    def worst_case(self, texts: list[str]) -> dict[str, int]:
        """Upper bound of the units a call on ``texts`` is billed for (reserved before the call)."""
        return {"characters": sum(len(t) for t in texts)}

    def expected_usage(self, texts: list[str]) -> dict[str, int]:
        """The units a call on ``texts`` is likely billed for (the dry-run estimate)."""
        return self.worst_case(texts)

    def description(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model, "prompt_version": self.prompt_version}

    @abstractmethod
    async def translate_batch(self, texts: list[str], src: str, tgt: str) -> BatchResult: ...

    async def aclose(self) -> None:  # noqa: B027 - optional hook
        pass


def estimate_tokens(text: str) -> int:
    """A deliberately generous token count (UTF-8 bytes / 3): CJK ~1 token/char, English ~4 chars/token."""
    return math.ceil(len(text.encode("utf-8")) / 3) + 1

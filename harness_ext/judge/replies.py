"""A judge's reply to one call: the verdict read out of its own words, and the record kept of it.

Only the judge's own words are parsed: anything the judge merely quotes back (the judged answer, or
the prompt with its "Rating: [[5]]" example) is cut out first, so a model answer that contains
"Rating: [[5]]" cannot set its own score.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass
from typing import Any

_MIN_QUOTE = 8


def _without_quotes(reply: str, quoted: Iterable[str]) -> str:
    for text in sorted(
        {q.strip() for q in quoted if q and len(q.strip()) >= _MIN_QUOTE}, key=len, reverse=True
    ):
        reply = reply.replace(text, " ")
    return reply


def parse_rating(reply: str, pattern: str, scale: tuple[int, int], quoted: Sequence[str] = ()) -> int | None:
    """The judge's rating: the last ``[[n]]`` in its own text, if it is an integer on the scale."""
    matches = re.findall(pattern, _without_quotes(reply or "", quoted))
    if not matches:
        return None
    try:
        value = float(matches[-1])
    except ValueError:
        return None
    if value != int(value) or not scale[0] <= value <= scale[1]:
        return None
    return int(value)


def parse_pairwise(reply: str, pattern: str, quoted: Sequence[str] = ()) -> str | None:
    """ "A", "B" or "C" (tie) from the last ``[[X]]`` in the judge's own text."""
    matches = re.findall(pattern, _without_quotes(reply or "", quoted))
    return matches[-1] if matches else None


@dataclass(frozen=True)
class Usage:
    """Tokens a call used, over all its attempts (the endpoint's counts, else estimates)."""

    prompt_tokens: int = 0
    completion_tokens: int = 0


@dataclass(frozen=True)
class JudgeReply:
    """What one call came back with; cached as one JSON object per call key (:meth:`to_json`)."""

    verdict: int | str | None  # a rating, or "A" / "B" / "C" for a pairwise prompt; None when invalid
    valid: bool
    text: str  # the last reply's text: the judge's explanation
    attempts: int
    model: str | None = None  # the snapshot the endpoint reports
    system_fingerprint: str | None = None
    usage: Usage | None = None
    judge: str | None = None
    prompt_version: str | None = None

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> JudgeReply:
        usage = data.get("usage")
        return cls(
            verdict=data["verdict"],
            valid=data["valid"],
            text=data["text"],
            attempts=data["attempts"],
            model=data.get("model"),
            system_fingerprint=data.get("system_fingerprint"),
            usage=Usage(**usage) if isinstance(usage, dict) else None,
            judge=data.get("judge"),
            prompt_version=data.get("prompt_version"),
        )

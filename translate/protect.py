"""Format protection: code, URLs, e-mail addresses and placeholders never reach a translator.

A field is split into fenced code blocks (kept verbatim, never sent) and prose. In prose, inline
code, URLs, e-mail addresses and placeholders (``{name}``, ``%s``, ``%(name)s``) are replaced by
markers ``⟦0⟧``, ``⟦1⟧``, ... that the backends are told to keep; :func:`restore` puts the originals
back and reports any marker a translator lost. Markdown structure (headings, list items, quotes,
table rows, line count) is verified, not rewritten.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

FENCED_CODE = re.compile(r"(```|~~~)[\s\S]*?(?:\1|\Z)")
PROTECTED_SPAN = re.compile(
    r"`[^`\n]+`"  # inline code
    r"|https?://[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]"  # URL (without trailing punctuation)
    r"|www\.[^\s<>\"'`]+[^\s<>\"'`.,;:!?)\]]"
    r"|[\w.+-]+@[\w-]+(?:\.[\w-]+)+"  # e-mail address
    r"|\{[A-Za-z_][A-Za-z0-9_]*\}|\{\d*\}"  # {name}, {0}, {}
    r"|%\([A-Za-z_]\w*\)[sdifr]|%[sdif]"  # %(name)s, %s
)
MARKER = re.compile(r"⟦\s*(\d+)\s*⟧")
LETTER = re.compile(r"[^\W\d_]")
STRUCTURE = {
    "headings": re.compile(r"^\s{0,3}#{1,6}\s", re.M),
    "list items": re.compile(r"^\s*(?:[-*+]|\d+[.)])\s", re.M),
    "quotes": re.compile(r"^\s*>", re.M),
    "table rows": re.compile(r"^\s*\|.*\|\s*$", re.M),
}


@dataclass
class Piece:
    """Part of a field: ``code`` is kept verbatim; ``prose`` is sent (as ``segment``) when it has words."""

    kind: str  # "code" | "prose"
    text: str
    segment: str = ""  # prose with markers, leading/trailing whitespace removed
    originals: list[str] = field(default_factory=list)
    lead: str = ""
    trail: str = ""

    @property
    def needs_translation(self) -> bool:
        return self.kind == "prose" and bool(LETTER.search(MARKER.sub("", self.segment)))


def protect_prose(text: str) -> Piece:
    originals: list[str] = []

    def mark(match: re.Match) -> str:
        originals.append(match.group(0))
        return f"⟦{len(originals) - 1}⟧"

    body = text.strip()
    lead = text[: len(text) - len(text.lstrip())]
    trail = text[len(text.rstrip()) :] if body else ""
    return Piece("prose", text, PROTECTED_SPAN.sub(mark, body), originals, lead, trail)


def split_field(text: str) -> list[Piece]:
    """Fenced code blocks and protected prose, in order; joining their ``text`` gives ``text`` back."""
    pieces: list[Piece] = []
    pos = 0
    for match in FENCED_CODE.finditer(text):
        if match.start() > pos:
            pieces.append(protect_prose(text[pos : match.start()]))
        pieces.append(Piece("code", match.group(0)))
        pos = match.end()
    if pos < len(text) or not pieces:
        pieces.append(protect_prose(text[pos:]))
    return pieces


def restore(translation: str, piece: Piece) -> tuple[str, list[str]]:
    """Put the protected originals back into ``translation``; also return problems found."""
    problems: list[str] = []
    seen: set[int] = set()

    def unmark(match: re.Match) -> str:
        index = int(match.group(1))
        if index >= len(piece.originals):
            problems.append(f"unknown marker {match.group(0)}")
            return ""
        seen.add(index)
        return piece.originals[index]

    restored = MARKER.sub(unmark, translation.strip())
    for index, original in enumerate(piece.originals):
        if index not in seen:
            problems.append(f"lost protected span {original!r}")
    problems += structure_changes(piece.segment, translation)
    return piece.lead + restored + piece.trail, problems


def structure_changes(source: str, translation: str) -> list[str]:
    changes = []
    for name, pattern in STRUCTURE.items():
        before, after = len(pattern.findall(source)), len(pattern.findall(translation))
        if before != after:
            changes.append(f"markdown {name} {before} -> {after}")
    lines_before, lines_after = source.count("\n"), translation.strip().count("\n")
    if lines_before != lines_after:
        changes.append(f"line breaks {lines_before} -> {lines_after}")
    return changes

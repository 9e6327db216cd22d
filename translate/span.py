"""Answer-span projection for extractive QA: mark the gold spans in the context, translate the marked
context, find the marks again.

Spans are wrapped in numbered marks ``⟪0⟫...⟪/0⟫`` (brackets no language writes, digits a translator keeps,
like the format markers of :mod:`translate.protect`). The marks of one text must be disjoint: spans that
overlap go to another copy of the context (:func:`plan_copies`), so most contexts are translated once.
After translation :func:`recover` removes every mark and returns each span's new offsets. A span whose marks
are lost, duplicated or swapped is not guessed at, except that an answer copied verbatim (a number, a name in
Latin script) and found exactly once in the translation is taken there (method ``verbatim``); anything else
is unrecoverable and its item is reported and excluded by the caller.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

MARK = re.compile(r"⟪\s*(/?)\s*(\d+)\s*⟫")


@dataclass(frozen=True, order=True)
class Span:
    start: int
    end: int

    def overlaps(self, other: Span) -> bool:
        return self.start < other.end and other.start < self.end


@dataclass(frozen=True)
class Recovered:
    start: int
    text: str
    method: str  # "marks" | "verbatim"


def locate(context: str, text: str, start: int | None) -> Span | None:
    """The span of ``text`` in ``context``: at ``start`` when it is there, else its only occurrence."""
    if not text:
        return None
    if start is not None and start >= 0 and context[start : start + len(text)] == text:
        return Span(start, start + len(text))
    found = context.find(text)
    if found != -1 and context.find(text, found + 1) == -1:
        return Span(found, found + len(text))
    return None


def plan_copies(span_sets: list[list[Span]]) -> list[int]:
    """For each item (its list of spans) the copy of the context it is marked in.

    Items go into the first copy where none of their spans partly overlaps a span already there (equal
    spans share one mark)."""
    copies: list[set[Span]] = []
    assignment = []
    for spans in span_sets:
        for number, taken in enumerate(copies):
            if all(s in taken or not any(s.overlaps(t) for t in taken) for s in spans):
                taken.update(spans)
                assignment.append(number)
                break
        else:
            copies.append(set(spans))
            assignment.append(len(copies) - 1)
    return assignment


def mark(context: str, spans: list[Span]) -> tuple[str, dict[Span, int]]:
    """``context`` with each (disjoint) span wrapped in numbered marks, and each span's number."""
    ordered = sorted(set(spans))
    numbers = {span: n for n, span in enumerate(ordered)}
    parts, pos = [], 0
    for span in ordered:
        parts += [
            context[pos : span.start],
            f"⟪{numbers[span]}⟫",
            context[span.start : span.end],
            f"⟪/{numbers[span]}⟫",
        ]
        pos = span.end
    parts.append(context[pos:])
    return "".join(parts), numbers


def recover(translation: str, count: int) -> tuple[str, dict[int, tuple[int, int]]]:
    """The translation without marks, and for each mark number found exactly once as a well-ordered pair
    with text between, the span it wraps in the unmarked translation (surrounding blanks trimmed)."""
    opens: dict[int, list[int]] = {}
    closes: dict[int, list[int]] = {}
    clean: list[str] = []
    length, pos = 0, 0
    for match in MARK.finditer(translation):
        piece = translation[pos : match.start()]
        clean.append(piece)
        length += len(piece)
        (closes if match.group(1) else opens).setdefault(int(match.group(2)), []).append(length)
        pos = match.end()
    clean.append(translation[pos:])
    text = "".join(clean)
    spans: dict[int, tuple[int, int]] = {}
    for number in range(count):
        starts, ends = opens.get(number, []), closes.get(number, [])
        if len(starts) != 1 or len(ends) != 1 or starts[0] >= ends[0]:
            continue
        start, end = starts[0], ends[0]
        while start < end and text[start].isspace():
            start += 1
        while end > start and text[end - 1].isspace():
            end -= 1
        if end > start:
            spans[number] = (start, end)
    return text, spans


def project(
    translation: str, numbers: dict[Span, int], originals: dict[Span, str]
) -> tuple[str, dict[Span, Recovered]]:
    """The unmarked translation and the recovered answer of every source span that could be recovered."""
    text, found = recover(translation, len(numbers))
    recovered: dict[Span, Recovered] = {}
    for span, number in numbers.items():
        if number in found:
            start, end = found[number]
            recovered[span] = Recovered(start, text[start:end], "marks")
            continue
        verbatim = locate(text, originals[span], None)
        if verbatim is not None:
            recovered[span] = Recovered(verbatim.start, originals[span], "verbatim")
    return text, recovered

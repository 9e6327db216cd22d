"""Rows <-> units of text: each split's rows become id -> text units to translate, and the translated units
become rows again in the same schema. Extractive QA marks its answer spans in the context and projects them
through the translation; a row whose span is lost is excluded (with why)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from nativeval.translate.span import Span, locate, mark, plan_copies, project


@dataclass
class Exclusion:
    """Why a row was left out."""

    reason: str
    answer: str  # the answer whose span was not found or was lost


Excluded = dict[int, Exclusion]  # row index -> why


@dataclass
class Part:
    """One split of one leaf: its rows and what became of each."""

    leaf: str
    split: str
    rows: list[dict[str, Any]]
    translate: bool
    excluded: Excluded = field(default_factory=dict)


def prefix_split(text: str) -> tuple[str, str]:
    """``"Step-by-step answer: 42"`` -> (``"Step-by-step answer:"``, ``" 42"``); no colon: (``""``, text)."""
    for i, ch in enumerate(text):
        if ch in ":：":
            return text[: i + 1], text[i + 1 :]
    return "", text


def field_units(part: Part, spec: dict[str, Any], tag: str) -> dict[str, str]:
    units = {}
    for i, row in enumerate(part.rows):
        for name in spec.get("translate", []):
            if isinstance(row.get(name), str) and row[name].strip():
                units[f"{tag}|{i}|{name}"] = row[name]
        for name in spec.get("keep_prefix", []):
            if isinstance(row.get(name), str) and row[name].strip():
                units[f"{tag}|{i}|{name}"] = prefix_split(row[name])[1]
    return units


def apply_field_units(
    part: Part,
    spec: dict[str, Any],
    tag: str,
    done: dict[str, str],
    tgt: str,
    prefixes: dict[str, str] | None = None,
) -> list[dict[str, Any]]:
    """Translated rows; a ``keep_prefix`` field keeps its own prefix, or takes ``prefixes[field]`` (the prefix
    the target language's prompt cuts off, for a machine translation into it); a ``language_field`` says
    ``tgt``."""
    rows = []
    for i, row in enumerate(part.rows):
        new = dict(row)
        if spec.get("language_field") in row:
            new[spec["language_field"]] = tgt
        for name in spec.get("translate", []):
            if f"{tag}|{i}|{name}" in done:
                new[name] = done[f"{tag}|{i}|{name}"]
        for name in spec.get("keep_prefix", []):
            if f"{tag}|{i}|{name}" in done:
                prefix = (prefixes or {}).get(name, prefix_split(row[name])[0])
                new[name] = prefix + done[f"{tag}|{i}|{name}"]
        rows.append(new)
    return rows


@dataclass
class QAPlan:
    """Extractive QA of one part: marked context copies and each row's spans and copy."""

    copies: dict[str, tuple[str, dict[Span, int], dict[Span, str]]] = field(default_factory=dict)
    row_copy: dict[int, str] = field(default_factory=dict)
    row_spans: dict[int, list[Span]] = field(default_factory=dict)


def qa_units(part: Part, spec: dict[str, Any], tag: str, excluded: Excluded) -> tuple[dict[str, str], QAPlan]:
    plan = QAPlan()
    units: dict[str, str] = {}
    by_context: dict[str, list[int]] = {}
    for i, row in enumerate(part.rows):
        answers = row[spec["answers"]]
        spans = []
        for text, start in zip(answers["text"], answers["answer_start"], strict=True):
            span = locate(row[spec["context"]], text, start)
            if span is None:
                excluded[i] = Exclusion("answer not found in the source context", text)
                break
            spans.append(span)
        if i in excluded:
            continue
        plan.row_spans[i] = list(dict.fromkeys(spans))
        by_context.setdefault(row[spec["context"]], []).append(i)
        units[f"{tag}|{i}|question"] = row[spec["question"]]
    for c, (context, members) in enumerate(by_context.items()):
        assignment = plan_copies([plan.row_spans[i] for i in members])
        for copy in sorted(set(assignment)):
            spans = [
                s for i, a in zip(members, assignment, strict=True) if a == copy for s in plan.row_spans[i]
            ]
            marked, numbers = mark(context, spans)
            uid = f"{tag}|ctx{c}.{copy}|context"
            plan.copies[uid] = (marked, numbers, {s: context[s.start : s.end] for s in numbers})
            units[uid] = marked
        for i, a in zip(members, assignment, strict=True):
            plan.row_copy[i] = f"{tag}|ctx{c}.{a}|context"
    return units, plan


def apply_qa_units(
    part: Part,
    spec: dict[str, Any],
    tag: str,
    plan: QAPlan,
    done: dict[str, str],
    excluded: Excluded,
) -> tuple[list[dict[str, Any]], dict[str, int]]:
    projected = {
        uid: project(done[uid], numbers, originals) for uid, (_, numbers, originals) in plan.copies.items()
    }
    methods = {"marks": 0, "verbatim": 0}
    rows = []
    for i, row in enumerate(part.rows):
        if i in excluded:
            continue
        text, recovered = projected[plan.row_copy[i]]
        lost = [s for s in plan.row_spans[i] if s not in recovered]
        if lost:
            original = row[spec["context"]]
            excluded[i] = Exclusion("answer span lost in translation", original[lost[0].start : lost[0].end])
            continue
        answers = {"text": [], "answer_start": []}
        for gold, start in zip(
            row[spec["answers"]]["text"], row[spec["answers"]]["answer_start"], strict=True
        ):
            span = locate(row[spec["context"]], gold, start)
            answers["text"].append(recovered[span].text)
            answers["answer_start"].append(recovered[span].start)
        for span in plan.row_spans[i]:
            methods[recovered[span].method] += 1
        rows.append(
            {
                **row,
                spec["context"]: text,
                spec["question"]: done[f"{tag}|{i}|question"],
                spec["answers"]: answers,
            }
        )
    return rows, methods

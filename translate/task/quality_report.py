"""The translated task's quality report: each leg's figures, round-trip chrF, the answer spans recovered, and
the rows left out (as source doc ids, with why); quality.json holds it, the README's lines summarise it."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

from nativeval.translate.quality import chrf_report
from nativeval.translate.run_report import SegmentCounts
from nativeval.translate.task.units import Part

Rows = dict[tuple[str, str], list[dict[str, Any]]]  # (leaf, split) -> the source rows


@dataclass
class LegFigures:
    """A leg's pipeline run: translator, segments, cost, what the quality checks found, and the retry."""

    backend: str
    model: str
    prompt_version: str | None
    segments: SegmentCounts
    cost: dict[str, Any]  # CostLedger.summary()
    wrong_language_rate: float
    empty_outputs: int
    untranslated_segments: int
    median_length_ratio: float | None
    length_ratio_outliers: int
    format_problems: int
    retried: int  # units sent once more, this run or an earlier one
    retry_requests_now: int
    fixed_by_retry: int
    issues: dict[str, list[dict[str, Any]]] = field(default_factory=dict)  # QualityCheck.issues


NOTHING_SENT = LegFigures("", "", None, SegmentCounts(0, 0, 0, 0, 0), {}, 0.0, 0, 0, None, 0, 0, 0, 0, 0)


@dataclass
class LegReport:
    leg: str  # "translation", or "forward" and "back"
    src: str
    tgt: str
    figures: LegFigures | None = None  # None when the leg had no text to translate
    span_methods: dict[str, int] | None = None  # extractive QA: answer spans found by marks / verbatim

    def to_json(self) -> dict[str, Any]:
        """As quality.json lists it (the issues are listed apart, by leg)."""
        out: dict[str, Any] = {"leg": self.leg, "src": self.src, "tgt": self.tgt}
        if self.figures is not None:
            figures = {**asdict(self.figures), "segments": self.figures.segments.to_json()}
            del figures["issues"]
            out.update(figures)
        if self.span_methods is not None:
            out["span_methods"] = self.span_methods
        return out


@dataclass
class ExcludedRow:
    """A source row left out of the translated task, and why."""

    leaf: str
    split: str
    doc_id: int | None  # its index in the source split
    id: Any  # its ``id`` field, if it has one
    stage: str  # the leg that lost it
    evaluated: bool  # from the evaluation split (not a few-shot one)
    reason: str
    answer: str


@dataclass
class SpanRecovery:
    """Extractive QA: how many items kept their answer span through the translation."""

    items: int
    recovered: int
    excluded: int
    rate: float | None
    methods: dict[str, int]
    excluded_items: list[ExcludedRow]  # the first 200


@dataclass
class TaskQuality:
    task: str
    source_task: str
    legs: list[LegReport]
    round_trip_chrf: dict[str, dict[str, Any]] | None  # round trip: chrF per field of original vs round trip
    span_recovery: SpanRecovery | None

    def to_json(self) -> dict[str, Any]:
        """quality.json."""
        return {
            "task": self.task,
            "source_task": self.source_task,
            "legs": [leg.to_json() for leg in self.legs],
            "round_trip_chrf": self.round_trip_chrf,
            "span_recovery": asdict(self.span_recovery) if self.span_recovery else None,
            "issues": {leg.leg: leg.figures.issues if leg.figures else {} for leg in self.legs},
        }


def excluded_rows(
    before: list[Part], after: list[Part], original: Rows, eval_split_of: dict[str, str], where: str
) -> list[ExcludedRow]:
    """Excluded rows as source doc ids (their index in the source split) with the reason."""
    out = []
    for part_before, part_after in zip(before, after, strict=True):
        if not part_after.excluded:
            continue
        source = original[(part_before.leaf, part_before.split)]
        index_of = {id(row): n for n, row in enumerate(source)}
        for i, why in sorted(part_after.excluded.items()):
            row = part_before.rows[i]
            doc_id = index_of.get(id(row), _source_index(source, row))
            out.append(
                ExcludedRow(
                    leaf=part_before.leaf,
                    split=part_before.split,
                    doc_id=doc_id,
                    id=row.get("id"),
                    stage=where,
                    evaluated=part_before.split == eval_split_of[part_before.leaf],
                    reason=why.reason,
                    answer=why.answer,
                )
            )
    return out


def _source_index(source: list[dict[str, Any]], row: dict[str, Any]) -> int | None:
    for n, candidate in enumerate(source):
        if "id" in row and candidate.get("id") == row["id"]:
            return n
    return None


def round_trip_chrf(original: Rows, final: list[Part], spec: dict[str, Any]) -> dict[str, Any]:
    names = (
        [spec["context"], spec["question"]]
        if spec["kind"] == "extractive_qa"
        else spec.get("translate", []) + spec.get("keep_prefix", [])
    )
    out = {}
    for name in names:
        before, after = [], []
        for part in final:
            if not part.translate:
                continue
            by_key = {_row_key(r, n): r for n, r in enumerate(original[(part.leaf, part.split)])}
            for n, row in enumerate(part.rows):
                source = by_key.get(_row_key(row, n))
                if (
                    source is not None
                    and isinstance(source.get(name), str)
                    and isinstance(row.get(name), str)
                ):
                    before.append(source[name])
                    after.append(row[name])
        if before:
            out[name] = chrf_report(before, after)
    return out


def _row_key(row: dict[str, Any], index: int) -> Any:
    return row.get("id", index)


def span_recovery(
    sizes: dict[tuple[str, str], int],
    parts: list[Part],
    excluded: list[ExcludedRow],
    methods: dict[str, int],
) -> SpanRecovery:
    """``sizes``: the rows of each translated part before translation."""
    items = sum(sizes.values())
    kept = sum(len(p.rows) for p in parts if p.translate)
    return SpanRecovery(
        items=items,
        recovered=kept,
        excluded=items - kept,
        rate=round(kept / items, 4) if items else None,
        methods=methods,
        excluded_items=excluded[:200],
    )


def quality_lines(quality: TaskQuality) -> list[str]:
    lines = []
    for leg in quality.legs:
        f = leg.figures or NOTHING_SENT
        seg = f.segments
        ratio = f.median_length_ratio
        lines.append(
            f"{leg.leg} {leg.src}->{leg.tgt}: "
            f"wrong language {f.wrong_language_rate:.1%}, "
            f"empty {f.empty_outputs}, untranslated {f.untranslated_segments}, "
            f"median length ratio {ratio if ratio is not None else 'n/a'}, "
            f"{seg.unique} unique segments ({seg.cached} cached, {seg.sent} sent), "
            f"retried {f.retried} (fixed {f.fixed_by_retry})"
        )
    for name, chrf in (quality.round_trip_chrf or {}).items():
        lines.append(
            f"round-trip chrF {name}: corpus {chrf['corpus_chrf']}, "
            f"mean sentence {chrf['mean_sentence_chrf']}"
        )
    recovery = quality.span_recovery
    if recovery:
        rate = f"{recovery.rate:.1%}" if recovery.rate is not None else "n/a"
        lines.append(
            f"answer spans recovered: {recovery.recovered}/{recovery.items} items ({rate}); "
            f"excluded {recovery.excluded}"
        )
    return lines

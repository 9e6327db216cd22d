"""The report of a translation run (``translate``, one leg of ``rtt`` or ``translate-task``) and of a round
trip, as typed records; ``to_json`` gives the report file's shape."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any

from nativeval.translate.quality import QualityCheck


@dataclass
class RecordCounts:
    input: int
    written: int
    skipped_invalid: int
    skipped: list[dict[str, Any]]  # the first 200 invalid records: id, index, field, problem


@dataclass
class SegmentCounts:
    fields_with_text: int
    empty_passthrough: int
    unique: int
    cached: int
    sent: int
    requests: int | None = None  # calls made; absent when nothing was sent

    def to_json(self) -> dict[str, Any]:
        out = asdict(self)
        if self.requests is None:
            del out["requests"]
        return out


@dataclass
class CostEstimate:
    """Expected billing of the segments not cached (the dry run's figure)."""

    usage: dict[str, int]  # the backend's billing units: characters, or input and output tokens
    usd: float
    requests: int

    def to_json(self) -> dict[str, Any]:
        return {**self.usage, "usd": self.usd, "requests": self.requests}


@dataclass
class TranslationReport:
    backend: str
    model: str
    prompt_version: str | None
    src: str
    tgt: str
    fields: list[str]
    records: RecordCounts
    segments: SegmentCounts
    estimate: CostEstimate
    cost: dict[str, Any]  # CostLedger.summary()
    quality: QualityCheck | None = None  # None on a dry run
    input: str | None = None  # set by the file job
    output: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "backend": self.backend,
            "model": self.model,
            "prompt_version": self.prompt_version,
            "src": self.src,
            "tgt": self.tgt,
            "fields": self.fields,
            "records": asdict(self.records),
            "segments": self.segments.to_json(),
            "estimate": self.estimate.to_json(),
            "cost": self.cost,
        }
        if self.quality is not None:
            out["quality"] = asdict(self.quality)
        if self.input is not None:
            out["input"] = self.input
        if self.output is not None:
            out["output"] = self.output
        return out

    def leg_quality(self, leg: str = "translation") -> dict[str, Any]:
        """The leg's headline quality: wrong-language rate, empty and untranslated outputs, length ratio."""
        quality = self.quality or QualityCheck(0, None, {}, {})
        counts = quality.counts
        checked = quality.fields_checked
        return {
            "leg": leg,
            "src": self.src,
            "tgt": self.tgt,
            "prompt_version": self.prompt_version or None,
            "fields_checked": checked,
            "wrong_language": counts.get("wrong_language", 0),
            "wrong_language_rate": round(counts.get("wrong_language", 0) / checked, 4) if checked else 0.0,
            "empty_outputs": counts.get("empty_output", 0),
            "untranslated_segments": counts.get("untranslated", 0),
            "median_length_ratio": quality.median_length_ratio,
        }

    def summary_lines(self) -> list[str]:
        seg = self.segments
        cost = self.cost
        prompt = f" (prompt {self.prompt_version})" if self.prompt_version else ""
        lines = [
            f"{self.backend} {self.model}{prompt} {self.src}->{self.tgt}: {self.records.written} records, "
            f"{seg.unique} unique segments ({seg.cached} from cache, {seg.sent} sent, "
            f"{seg.empty_passthrough} empty passed through)",
        ]
        if cost.get("characters"):
            lines.append(f"billed characters: {cost['characters']:,}; cost ${cost['spent_usd']:.4f}")
        elif cost.get("input_tokens") or cost.get("output_tokens"):
            lines.append(
                f"tokens in/out: {cost['input_tokens']:,}/{cost['output_tokens']:,}; "
                f"cost ${cost['spent_usd']:.4f}"
            )
        if self.quality:
            counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in self.quality.counts.items())
            lines.append(f"quality over {self.quality.fields_checked} fields: {counts}")
        if self.records.skipped_invalid:
            lines.append(f"skipped invalid records: {self.records.skipped_invalid} (see report)")
        return lines


@dataclass
class RoundTripReport:
    """``lang`` -> ``pivot`` -> ``lang``: both legs, the files, and chrF of original vs round trip per
    field."""

    forward: TranslationReport
    back: TranslationReport
    input: str
    output: str
    pivot_output: str
    lang: str
    pivot: str
    round_trip_chrf: dict[str, dict[str, Any]]

    @property
    def legs(self) -> list[dict[str, Any]]:
        return [self.forward.leg_quality("forward"), self.back.leg_quality("back")]

    def to_json(self) -> dict[str, Any]:
        out = {
            # both legs' quality first: a bad pivot leg must not hide behind a good back leg
            "legs": self.legs,
            "input": self.input,
            "output": self.output,
            "pivot_output": self.pivot_output,
            "lang": self.lang,
            "pivot": self.pivot,
            **self.back.to_json(),
            "forward": self.forward.to_json(),
            "back": self.back.to_json(),
            "round_trip_chrf": self.round_trip_chrf,
        }
        out["records"] = asdict(self.forward.records)
        return out

"""Quality checks of a translation run: empty outputs, wrong target language, length-ratio outliers,
untranslated (identical) segments, format problems, and chrF for round trips."""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field
from typing import Any

from nativeval.harness_ext.core.langid import detect_language

MIN_CHARS_FOR_RATIO = 20
RATIO_FACTOR = 3.0  # outlier: length ratio more than 3x away from the run's median ratio
MAX_LISTED = 50


@dataclass
class FieldOutcome:
    record_id: str
    field: str
    source: str
    translation: str
    prose_pairs: list[tuple[str, str]] = field(default_factory=list)  # (sent segment, raw translation)
    format_problems: list[str] = field(default_factory=list)


@dataclass
class QualityCheck:
    fields_checked: int
    median_length_ratio: float | None
    counts: dict[str, int]  # issue kind -> how many
    issues: dict[str, list[dict[str, Any]]]  # issue kind -> the first MAX_LISTED (id, field, details)

    def flagged(self, kinds: tuple[str, ...]) -> set[str]:
        """Record ids listed under any of ``kinds``."""
        return {issue["id"] for kind in kinds for issue in self.issues[kind]}


def check_fields(outcomes: list[FieldOutcome], src: str, tgt: str) -> QualityCheck:
    issues: dict[str, list[dict[str, Any]]] = {
        "empty_output": [],
        "wrong_language": [],
        "untranslated": [],
        "length_ratio_outlier": [],
        "format": [],
    }
    ratios: list[tuple[FieldOutcome, float]] = []
    for o in outcomes:
        where = {"id": o.record_id, "field": o.field}
        if not o.prose_pairs:
            continue
        if not o.translation.strip():
            issues["empty_output"].append(where)
            continue
        if src != tgt:
            if all(s.strip() == t.strip() for s, t in o.prose_pairs):
                issues["untranslated"].append(where)
            prose = " ".join(t for _, t in o.prose_pairs)
            detected, confidence = detect_language(prose)
            if detected is not None and detected != tgt and confidence >= 0.5:
                issues["wrong_language"].append(
                    {**where, "detected": detected, "confidence": round(confidence, 3)}
                )
        if o.format_problems:
            issues["format"].append({**where, "problems": o.format_problems})
        if len(o.source) >= MIN_CHARS_FOR_RATIO:
            ratios.append((o, len(o.translation) / len(o.source)))
    median = statistics.median(r for _, r in ratios) if ratios else None
    if median:
        for o, ratio in ratios:
            if ratio > median * RATIO_FACTOR or ratio < median / RATIO_FACTOR:
                issues["length_ratio_outlier"].append(
                    {
                        "id": o.record_id,
                        "field": o.field,
                        "ratio": round(ratio, 3),
                        "median": round(median, 3),
                    }
                )
    checked = sum(1 for o in outcomes if o.prose_pairs)
    return QualityCheck(
        fields_checked=checked,
        median_length_ratio=round(median, 3) if median else None,
        counts={name: len(found) for name, found in issues.items()},
        issues={name: found[:MAX_LISTED] for name, found in issues.items()},
    )


def chrf_report(originals: list[str], round_tripped: list[str]) -> dict[str, Any]:
    """chrF (sacrebleu) between original and round-tripped texts: corpus score and per-item mean."""
    from sacrebleu.metrics import CHRF

    pairs = [(o, r) for o, r in zip(originals, round_tripped, strict=True) if o.strip()]
    if not pairs:
        return {"corpus_chrf": None, "mean_sentence_chrf": None, "n": 0}
    metric = CHRF()
    corpus = metric.corpus_score([r for _, r in pairs], [[o for o, _ in pairs]]).score
    sentence = [metric.sentence_score(r, [o]).score for o, r in pairs]
    return {
        "corpus_chrf": round(corpus, 2),
        "mean_sentence_chrf": round(statistics.fmean(sentence), 2),
        "n": len(pairs),
    }


def wrong_language_summary(legs: list[dict[str, Any]], limit: float) -> str | None:
    """A one-line summary when a leg's wrong-language rate exceeds ``limit``, else None."""
    over = [leg for leg in legs if leg.get("wrong_language_rate", 0) > limit]
    if not over:
        return None
    worst = max(over, key=lambda leg: leg["wrong_language_rate"])
    return (
        f"wrong-language rate {worst['wrong_language_rate']:.1%} in the {worst['leg']} leg "
        f"({worst['src']}->{worst['tgt']}) exceeds --max-wrong-language {limit:.1%}; the output is kept, "
        "see the quality report"
    )

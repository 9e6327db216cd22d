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


def check_fields(outcomes: list[FieldOutcome], src: str, tgt: str) -> dict[str, Any]:
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
    return {
        "fields_checked": checked,
        "median_length_ratio": round(median, 3) if median else None,
        "counts": {name: len(found) for name, found in issues.items()},
        "issues": {name: found[:MAX_LISTED] for name, found in issues.items()},
    }


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


def leg_quality(report: dict[str, Any], leg: str = "translation") -> dict[str, Any]:
    """One translation leg's headline quality: wrong-language rate, empty and untranslated outputs, length ratio."""
    quality = report.get("quality") or {"fields_checked": 0, "counts": {}, "median_length_ratio": None}
    counts = quality["counts"]
    checked = quality["fields_checked"]
    return {
        "leg": leg,
        "src": report["src"],
        "tgt": report["tgt"],
        "prompt_version": report.get("prompt_version") or None,
        "fields_checked": checked,
        "wrong_language": counts.get("wrong_language", 0),
        "wrong_language_rate": round(counts.get("wrong_language", 0) / checked, 4) if checked else 0.0,
        "empty_outputs": counts.get("empty_output", 0),
        "untranslated_segments": counts.get("untranslated", 0),
        "median_length_ratio": quality["median_length_ratio"],
    }


def summary_lines(report: dict[str, Any]) -> list[str]:
    seg = report["segments"]
    cost = report["cost"]
    prompt = f" (prompt {report['prompt_version']})" if report.get("prompt_version") else ""
    lines = [
        f"{report['backend']} {report['model']}{prompt} {report['src']}->{report['tgt']}: {report['records']['written']} records, "
        f"{seg['unique']} unique segments ({seg['cached']} from cache, {seg['sent']} sent, "
        f"{seg['empty_passthrough']} empty passed through)",
    ]
    if cost.get("characters"):
        lines.append(f"billed characters: {cost['characters']:,}; cost ${cost['spent_usd']:.4f}")
    elif cost.get("input_tokens") or cost.get("output_tokens"):
        lines.append(
            f"tokens in/out: {cost['input_tokens']:,}/{cost['output_tokens']:,}; cost ${cost['spent_usd']:.4f}"
        )
    quality = report.get("quality")
    if quality:
        counts = ", ".join(f"{k.replace('_', ' ')} {v}" for k, v in quality["counts"].items())
        lines.append(f"quality over {quality['fields_checked']} fields: {counts}")
    if report["records"].get("skipped_invalid"):
        lines.append(f"skipped invalid records: {report['records']['skipped_invalid']} (see report)")
    return lines

"""One translation leg of a task: every unit of text of every part through the pipeline in one run, empty or
wrong-language results sent once more without the cache, and the leg's report."""

from __future__ import annotations

from typing import Any

from nativeval.harness_ext.core.cache import KVCache, cache_key
from nativeval.translate.backends.base import Backend
from nativeval.translate.pipeline import segment_key, translate_records
from nativeval.translate.protect import split_field
from nativeval.translate.task.quality_report import LegFigures, LegReport
from nativeval.translate.task.request import TaskTranslationRequest
from nativeval.translate.task.units import (
    Excluded,
    Part,
    QAPlan,
    apply_field_units,
    apply_qa_units,
    field_units,
    qa_units,
)

RETRY_SCHEMA = "nativeval-translate-retry/1"
FLAGGED = ("empty_output", "wrong_language")


def _retry_key(backend: Backend, src: str, tgt: str, text: str) -> str:
    return cache_key(RETRY_SCHEMA, backend.name, backend.model, backend.prompt_version, src, tgt, text)


def translate_units(
    units: dict[str, str],
    backend: Backend,
    src: str,
    tgt: str,
    cache: KVCache,
    request: TaskTranslationRequest,
) -> tuple[dict[str, str], LegFigures]:
    """Translate every unit (id -> text) in one pipeline run; empty or wrong-language results are sent once
    more without the cache and kept if that fixes them. Returns translations and the run's figures."""
    records = [{"id": uid, "text": text} for uid, text in units.items()]
    options = {"concurrency": request.concurrency, "max_cost": request.max_cost, "policy": request.policy}
    run = translate_records(records, ["text"], backend, src, tgt, cache, progress=request.progress, **options)
    out = {r["id"]: r["text"] for r in run.records}
    quality = run.report.quality
    flagged = quality.flagged(FLAGGED)
    if quality.counts["empty_output"] + quality.counts["wrong_language"] > len(flagged):
        flagged = set(units)  # more issues than listed: check them all again
    retry = [
        uid for uid in units if uid in flagged and _retry_key(backend, src, tgt, units[uid]) not in cache
    ]
    fixed = 0
    if retry:
        fresh = KVCache(None)
        again = translate_records(
            [{"id": u, "text": units[u]} for u in retry],
            ["text"],
            backend,
            src,
            tgt,
            fresh,
            progress=False,
            **options,
        )
        still = again.report.quality.flagged(FLAGGED)
        for record in again.records:
            uid = record["id"]
            cache.put(_retry_key(backend, src, tgt, units[uid]), True)
            if uid in still:
                continue
            fixed += 1
            out[uid] = record["text"]
            for piece in split_field(units[uid]):
                key = segment_key(backend, src, tgt, piece.segment)
                if piece.needs_translation and fresh.get(key) is not None:
                    cache.put(key, fresh.get(key))
        fresh.close()
    retried = sum(1 for uid in flagged if _retry_key(backend, src, tgt, units[uid]) in cache)
    checked = quality.fields_checked or 0
    wrong = quality.counts["wrong_language"]
    figures = LegFigures(
        **backend.description(),
        segments=run.report.segments,
        cost=run.report.cost,
        wrong_language_rate=round(wrong / checked, 4) if checked else 0.0,
        empty_outputs=quality.counts["empty_output"],
        untranslated_segments=quality.counts["untranslated"],
        median_length_ratio=quality.median_length_ratio,
        length_ratio_outliers=quality.counts["length_ratio_outlier"],
        format_problems=quality.counts["format"],
        retried=retried,
        retry_requests_now=len(retry),
        fixed_by_retry=fixed,
        issues=quality.issues,
    )
    return out, figures


def translate_parts(
    leg: str,
    parts: list[Part],
    spec: dict[str, Any],
    backend: Backend,
    src: str,
    tgt: str,
    cache: KVCache,
    request: TaskTranslationRequest,
    extra_units: dict[str, str] | None = None,
    prefixes: dict[str, str] | None = None,
) -> tuple[list[Part], LegReport, dict[str, str]]:
    """The leg named ``leg``: every part's rows translated; excluded QA rows dropped (recorded in the part's
    ``excluded``). Returns the translated parts, the leg's report and the translations of ``extra_units``."""
    units: dict[str, str] = dict(extra_units or {})
    plans: dict[int, QAPlan] = {}
    excluded: dict[int, Excluded] = {n: {} for n in range(len(parts))}
    for n, part in enumerate(parts):
        if not part.translate:
            continue
        if spec["kind"] == "extractive_qa":
            part_units, plans[n] = qa_units(part, spec, f"p{n}", excluded[n])
        else:
            part_units = field_units(part, spec, f"p{n}")
        units.update(part_units)
    report = LegReport(leg, src, tgt)
    done: dict[str, str] = {}
    if units:
        done, report.figures = translate_units(units, backend, src, tgt, cache, request)
    out_parts: list[Part] = []
    methods = {"marks": 0, "verbatim": 0}
    for n, part in enumerate(parts):
        if not part.translate:
            out_parts.append(Part(part.leaf, part.split, part.rows, False))
            continue
        if spec["kind"] == "extractive_qa":
            rows, found = apply_qa_units(part, spec, f"p{n}", plans[n], done, excluded[n])
            methods = {k: methods[k] + found[k] for k in methods}
        else:
            rows = apply_field_units(part, spec, f"p{n}", done, tgt, prefixes)
        out_parts.append(Part(part.leaf, part.split, rows, True, excluded[n]))
    if spec["kind"] == "extractive_qa":
        report.span_methods = methods
    return out_parts, report, {k: v for k, v in done.items() if extra_units and k in extra_units}

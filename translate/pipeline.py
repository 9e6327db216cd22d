"""Translate records field by field: protect formatting, reuse cached segments, send the rest in
bounded-concurrency batches (retries, cost cap), persist each segment as it lands, check quality.

Resumability comes from the segment cache: every finished batch is committed to SQLite before
the next one is handled, so after kill -9 a rerun sends only what was not finished, and the output
file (written once, atomically, from the whole input) can hold no lost or duplicated records.
When ``--max-cost`` is reached, the requests already in flight finish and are billed and cached (a rerun
does not send them again); only the ones not yet sent are left.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any

from nativeval.harness_ext.core.cache import KVCache, cache_key
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.resilience import (
    BudgetExceeded,
    CostLedger,
    RetryPolicy,
    call_with_retries,
    run_bounded,
)
from nativeval.translate.backends.base import Backend
from nativeval.translate.dataset import record_id
from nativeval.translate.protect import Piece, restore, split_field
from nativeval.translate.quality import FieldOutcome, check_fields
from nativeval.translate.run_report import (
    CostEstimate,
    RecordCounts,
    RoundTripReport,
    SegmentCounts,
    TranslationReport,
)

CACHE_SCHEMA = "nativeval-translate/1"


@dataclass
class FieldJob:
    index: int
    record_id: str
    field: str
    source: str
    pieces: list[Piece] = field(default_factory=list)


@dataclass
class RunResult:
    records: list[dict[str, Any]]
    report: TranslationReport | RoundTripReport
    dry_run: bool = False
    kept: list[int] = field(default_factory=list)  # input indices of the records written


def segment_key(backend: Backend, src: str, tgt: str, segment: str) -> str:
    return cache_key(CACHE_SCHEMA, backend.name, backend.model, backend.prompt_version, src, tgt, segment)


def validate(
    records: list[dict[str, Any]], fields: list[str], skip_invalid: bool
) -> tuple[list[int], list[dict]]:
    """Indices of valid records and a list of the invalid ones (raises unless ``skip_invalid``)."""
    valid, skipped = [], []
    for index, record in enumerate(records):
        problem = None
        for name in fields:
            if name not in record or record[name] is None:
                problem = (name, "missing")
            elif not isinstance(record[name], str):
                problem = (name, f"not a string ({type(record[name]).__name__})")
            if problem:
                break
        if problem is None:
            valid.append(index)
            continue
        rid = record_id(record, index)
        if not skip_invalid:
            raise InputError(
                f"record {rid} (#{index + 1}): field {problem[0]!r} is {problem[1]}; "
                "fix the input, choose --fields, or pass --skip-invalid"
            )
        skipped.append({"id": rid, "index": index, "field": problem[0], "problem": problem[1]})
    return valid, skipped


def batches(segments: list[str], backend: Backend) -> Iterator[list[str]]:
    if backend.sort_by_length:
        segments = sorted(segments, key=len, reverse=True)
    batch: list[str] = []
    chars = 0
    for segment in segments:
        full = len(batch) >= backend.max_batch_segments
        too_long = backend.max_batch_chars and batch and chars + len(segment) > backend.max_batch_chars
        if full or too_long:
            yield batch
            batch, chars = [], 0
        batch.append(segment)
        chars += len(segment)
    if batch:
        yield batch


def make_ledger(backend: Backend, max_cost: float | None) -> CostLedger:
    price = backend.price()
    if price is None and max_cost is not None and backend.name != "hf":
        raise InputError(
            f"no price known for {backend.name} model {backend.model!r} "
            "(harness_ext/core/prices.yaml or $NATIVEVAL_PRICES), so --max-cost cannot be enforced; "
            "add its price or drop --max-cost"
        )
    return CostLedger(prices={backend.model: price or {}}, max_cost=max_cost)


def estimate(backend: Backend, segments: list[str], ledger: CostLedger) -> CostEstimate:
    """Expected billing of sending ``segments`` (dry run)."""
    units = backend.expected_usage(segments)
    return CostEstimate(
        usage=units,
        usd=round(ledger.price(backend.model, **units), 6),
        requests=sum(1 for _ in batches(segments, backend)),
    )


async def send_segments(
    pending: list[str],
    backend: Backend,
    src: str,
    tgt: str,
    cache: KVCache,
    ledger: CostLedger,
    *,
    concurrency: int,
    policy: RetryPolicy | None = None,
    progress: str | None = None,
) -> tuple[dict[str, str], int]:
    """Translate ``pending`` segments, committing each batch to ``cache`` as it lands.

    Returns the translations by segment and the number of calls made."""

    not_sent: list[list[str]] = []

    async def work(batch: list[str]) -> list[str] | None:
        reserved = ledger.price(backend.model, **backend.worst_case(batch))
        try:
            await ledger.reserve_or_wait(reserved)
        except BudgetExceeded:  # the calls in flight still land, are billed and cached
            not_sent.append(batch)
            return None
        try:
            result = await call_with_retries(
                lambda: backend.translate_batch(batch, src, tgt),
                policy,
                describe=f"{backend.name} translation",
            )
        except BaseException:
            ledger.release(reserved)
            raise
        ledger.settle(
            reserved,
            backend.model,
            input_tokens=result.input_tokens,
            output_tokens=result.output_tokens,
            characters=result.characters,
        )
        return result.texts

    translated: dict[str, str] = {}

    def persist(batch: list[str], texts: list[str] | None) -> None:
        if texts is None:
            return
        cache.put_many(
            (segment_key(backend, src, tgt, s), {"text": t}) for s, t in zip(batch, texts, strict=True)
        )
        translated.update(zip(batch, texts, strict=True))

    work_batches = list(batches(pending, backend))
    try:
        await run_bounded(work_batches, work, concurrency=concurrency, on_result=persist, progress=progress)
    finally:
        await backend.aclose()
    if not_sent:
        segments = sum(len(b) for b in not_sent)
        raise BudgetExceeded(
            f"{ledger.cap_message()} ({segments} segment(s) in {len(not_sent)} request(s) not sent)"
        )
    return translated, len(work_batches)


def translate_records(
    records: list[dict[str, Any]],
    fields: list[str],
    backend: Backend,
    src: str,
    tgt: str,
    cache: KVCache,
    *,
    concurrency: int | None = None,
    max_cost: float | None = None,
    dry_run: bool = False,
    skip_invalid: bool = False,
    policy: RetryPolicy | None = None,
    progress: bool = True,
) -> RunResult:
    backend.check_languages(src, tgt)
    valid, skipped = validate(records, fields, skip_invalid)
    ledger = make_ledger(backend, max_cost)

    jobs: list[FieldJob] = []
    empty = 0
    for index in valid:
        for name in fields:
            text = records[index][name]
            if not text.strip():
                empty += 1
                continue
            jobs.append(FieldJob(index, record_id(records[index], index), name, text, split_field(text)))

    unique = list(dict.fromkeys(p.segment for job in jobs for p in job.pieces if p.needs_translation))
    done: dict[str, str] = {}
    for segment in unique:
        hit = cache.get(segment_key(backend, src, tgt, segment))
        if hit is not None:
            done[segment] = hit["text"]
    pending = [s for s in unique if s not in done]

    report = TranslationReport(
        **backend.description(),
        src=src,
        tgt=tgt,
        fields=fields,
        records=RecordCounts(
            input=len(records), written=len(valid), skipped_invalid=len(skipped), skipped=skipped[:200]
        ),
        segments=SegmentCounts(
            fields_with_text=len(jobs),
            empty_passthrough=empty,
            unique=len(unique),
            cached=len(done),
            sent=0 if dry_run else len(pending),
        ),
        estimate=estimate(backend, pending, ledger),
        cost=ledger.summary(),
    )
    if dry_run:
        return RunResult([], report, dry_run=True, kept=valid)

    if pending:
        label = f"translate {src}->{tgt}" if progress else None
        translated, calls = asyncio.run(
            send_segments(
                pending,
                backend,
                src,
                tgt,
                cache,
                ledger,
                concurrency=concurrency or backend.default_concurrency,
                policy=policy,
                progress=label,
            )
        )
        done.update(translated)
        report.segments.requests = calls

    out_records = [dict(records[i]) for i in valid]
    position = {index: n for n, index in enumerate(valid)}
    outcomes = []
    for job in jobs:
        parts, pairs, problems = [], [], []
        for piece in job.pieces:
            if not piece.needs_translation:
                parts.append(piece.text)
                continue
            translated, found = restore(done[piece.segment], piece)
            parts.append(translated)
            pairs.append((piece.segment, done[piece.segment]))
            problems += found
        translation = "".join(parts)
        out_records[position[job.index]][job.field] = translation
        outcomes.append(FieldOutcome(job.record_id, job.field, job.source, translation, pairs, problems))
    report.cost = ledger.summary()
    report.quality = check_fields(outcomes, src, tgt)
    return RunResult(out_records, report, kept=valid)

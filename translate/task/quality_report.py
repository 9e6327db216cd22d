"""The translated task's quality report: each leg's figures, round-trip chrF, the answer spans recovered, and
the rows left out (as source doc ids, with why); quality.json holds it, the README's lines summarise it."""

from __future__ import annotations

from typing import Any

from nativeval.translate.quality import chrf_report
from nativeval.translate.task.units import Part

Rows = dict[tuple[str, str], list[dict[str, Any]]]  # (leaf, split) -> the source rows


def excluded_rows(
    before: list[Part], after: list[Part], original: Rows, eval_split_of: dict[str, str], where: str
) -> list[dict[str, Any]]:
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
                {
                    "leaf": part_before.leaf,
                    "split": part_before.split,
                    "doc_id": doc_id,
                    "id": row.get("id"),
                    "stage": where,
                    "evaluated": part_before.split == eval_split_of[part_before.leaf],
                    **why,
                }
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
    excluded: list[dict[str, Any]],
    methods: dict[str, int],
) -> dict[str, Any]:
    """Extractive QA: how many items kept their answer span (``sizes``: rows per translated part before)."""
    items = sum(sizes.values())
    kept = sum(len(p.rows) for p in parts if p.translate)
    return {
        "items": items,
        "recovered": kept,
        "excluded": items - kept,
        "rate": round(kept / items, 4) if items else None,
        "methods": methods,
        "excluded_items": excluded[:200],
    }


def quality_lines(quality: dict[str, Any]) -> list[str]:
    lines = []
    for leg in quality["legs"]:
        seg = leg.get("segments", {})
        ratio = leg.get("median_length_ratio")
        lines.append(
            f"{leg['leg']} {leg['src']}->{leg['tgt']}: "
            f"wrong language {leg.get('wrong_language_rate', 0):.1%}, "
            f"empty {leg.get('empty_outputs', 0)}, untranslated {leg.get('untranslated_segments', 0)}, "
            f"median length ratio {ratio if ratio is not None else 'n/a'}, "
            f"{seg.get('unique', 0)} unique segments "
            f"({seg.get('cached', 0)} cached, {seg.get('sent', 0)} sent), "
            f"retried {leg.get('retried', 0)} (fixed {leg.get('fixed_by_retry', 0)})"
        )
    for name, chrf in (quality.get("round_trip_chrf") or {}).items():
        lines.append(
            f"round-trip chrF {name}: corpus {chrf['corpus_chrf']}, "
            f"mean sentence {chrf['mean_sentence_chrf']}"
        )
    recovery = quality.get("span_recovery")
    if recovery:
        rate = f"{recovery['rate']:.1%}" if recovery["rate"] is not None else "n/a"
        lines.append(
            f"answer spans recovered: {recovery['recovered']}/{recovery['items']} items ({rate}); "
            f"excluded {recovery['excluded']}"
        )
    return lines

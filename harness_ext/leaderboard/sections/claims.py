"""The study's claims, each with its evidence and a verdict, on the published numbers and on the measured rows
side by side (:mod:`nativeval.harness_ext.leaderboard.claims` computes; this section lays it out)."""

from __future__ import annotations

from nativeval.harness_ext.leaderboard.model import Board
from nativeval.harness_ext.leaderboard.sections.common import VERDICT_TITLES, fmt_gap
from nativeval.harness_ext.report.tables import Column, Section, Table

CLAIM_VERDICTS = {
    "supported": "supported",
    "partly_supported": "partly supported",
    "not_supported": "not supported",
    "not_testable": "not testable here",
}


def evidence_text(evidence) -> str:
    return (
        "—"
        if evidence is None
        else f"{CLAIM_VERDICTS.get(evidence.verdict, evidence.verdict)}: {evidence.summary}"
    )


def build(board: Board) -> Section | None:
    if not board.claims:
        return None
    overview = Table(
        "claims",
        "",
        [
            Column("claim", "claim", always=True),
            Column("source", "in the paper"),
            Column("reference", "on the published numbers"),
            Column("measured", "on the rows measured here"),
        ],
        sortable=False,
    )
    tables = [overview]
    for claim in board.claims:
        overview.add(
            claim=f"({claim.key}) {claim.text}",
            source=claim.source,
            reference=evidence_text(claim.reference),
            measured=evidence_text(claim.measured),
        )
        rows = [
            (side, row)
            for side, ev in (("published", claim.reference), ("measured", claim.measured))
            if ev is not None
            for row in ev.rows
        ]
        if not rows:
            continue
        detail = Table(
            f"claim-{claim.key}",
            f"({claim.key}) {claim.text}: evidence",
            [
                Column("side", "numbers"),
                Column("what", "evidence", always=True),
                Column("value", "value [95% CI]", always=True),
                Column("verdict", "statistic's verdict"),
                Column("agrees", "bears the claim out"),
                Column("note", "note"),
            ],
            sortable=False,
        )
        for side, row in rows:
            detail.add(
                side=side,
                what=row.label,
                value=fmt_gap(row.value, row.ci_low, row.ci_high),
                verdict=VERDICT_TITLES.get(row.verdict, row.verdict),
                agrees=None if row.agrees is None else ("yes" if row.agrees else "no"),
                note=row.note,
            )
        tables.append(detail)
    return Section(
        "claims",
        "The study's claims, checked",
        "Each claim of Chen et al. (2024) with the evidence "
        "that bears on it and a verdict, computed the same way on the published numbers and on the rows "
        "measured here.",
        tables=tables,
    )

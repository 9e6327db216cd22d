"""`judge-report`'s diagnostics (agreement, position, length, language, consistency) on the page: the judge
outputs were read once when the board was built; the same section `judge-report` renders."""

from __future__ import annotations

from nativeval.harness_ext.leaderboard.model import Board
from nativeval.harness_ext.report.tables import Section


def build(board: Board) -> Section | None:
    if board.judge_report is None:
        return None
    from nativeval.harness_ext.judge.report import report_section

    return report_section(board.judge_report)

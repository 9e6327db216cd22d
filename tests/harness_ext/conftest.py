"""Fixtures shared by the leaderboard and report tests."""

from __future__ import annotations

import re

import pytest


@pytest.fixture(scope="session")
def csv_columns():
    """The table columns behind CSV header fields (a score adds ci_low/ci_high/n fields, an interval
    low/high)."""

    def columns(header: list[str]) -> list[str]:
        found: list[str] = []
        for name in header:
            base = re.sub(r" (ci_low|ci_high|n|low|high)$", "", name)
            if base not in found:
                found.append(base)
        return found

    return columns

"""Money: what the API calls of a study's steps cost at list prices (the one price table, core/prices.py)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

from nativeval.harness_ext.core.prices import character_prices, token_prices
from nativeval.harness_ext.core.prices import table_path as price_table_path
from nativeval.harness_ext.study.kinds import KINDS
from nativeval.harness_ext.study.settings import settings
from nativeval.harness_ext.study.step import Step

_ROOT = Path(__file__).resolve().parents[2]


def price_tables() -> dict[str, dict[str, dict[str, float]]]:
    """USD per 1M units from the one price table:
    ``{"tokens": {model: {input, output}}, "characters": {model: {char}}}``."""
    return {"tokens": token_prices(), "characters": character_prices()}


@dataclass
class CostEstimate:
    translation: float = 0.0
    judging: float = 0.0
    unpriced: list[str] = field(default_factory=list)  # steps calling a model the tables do not price

    @property
    def total(self) -> float:
        return self.translation + self.judging


def estimate_costs(steps: list[Step]) -> CostEstimate:
    """Money for the API calls of ``steps`` (translation segments, judge calls) at list prices."""
    sizes = settings()["costs"]
    prices = price_tables()
    cost = CostEstimate()
    for step in steps:
        kind = KINDS[step.kind]
        if not step.api_calls or kind.bill is None:
            continue
        usd = kind.api_cost(step, prices, sizes)
        if usd is None:
            cost.unpriced.append(step.id)
        else:
            setattr(cost, kind.bill, getattr(cost, kind.bill) + usd)
    return cost


def cost_line(steps: list[Step]) -> str:
    cost = estimate_costs(steps)
    table = price_table_path()
    files = str(table.relative_to(_ROOT)) if table.is_relative_to(_ROOT) else str(table)
    line = (
        f"estimated API cost for the steps to run: ${cost.total:,.2f} (translation ${cost.translation:,.2f}, "
        f"judging ${cost.judging:,.2f}) at list prices from {files}"
    )
    if cost.unpriced:
        line += (
            f"; {len(cost.unpriced)} step(s) call a model without a listed price, not counted "
            f"(e.g. {cost.unpriced[0]})"
        )
    return line

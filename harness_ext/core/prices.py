"""The one price table (``prices.yaml`` beside this module, or ``$NATIVEVAL_PRICES``)
for the judge and translation."""

from __future__ import annotations

import math
import os
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml

TABLE = Path(__file__).with_name("prices.yaml")
TABLE_ENV = "NATIVEVAL_PRICES"
Prices = dict[str, dict[str, float]]


def table_path(path: str | os.PathLike | None = None) -> Path:
    return Path(path or os.environ.get(TABLE_ENV) or TABLE)


def _section(path: str | os.PathLike | None, key: str, shape: str) -> Prices:
    source = table_path(path)
    raw = read_yaml(source)
    section = raw.get(key, {} if key != "per_million_tokens" or "per_million_characters" in raw else raw)
    if not isinstance(section, dict):
        raise InputError(f"{source}: expected {key}: {{model: {shape}}}")
    return checked_prices(section, f"{source}: {key}", shape)


def checked_prices(section: dict, where: str, shape: str = "{input: USD, output: USD}") -> Prices:
    """``{model: {unit: USD}}`` with every price a finite number of zero or more (a negative price would turn
    a spending cap off); anything else is one InputError line naming ``where`` and the model."""
    prices: Prices = {}
    for model, entry in section.items():
        if not isinstance(entry, dict):
            continue
        try:
            prices[str(model)] = {str(unit): float(usd) for unit, usd in entry.items()}
        except (TypeError, ValueError):
            raise InputError(f"{where}: {model}: every price must be a number of USD, as {shape}") from None
        if any(not math.isfinite(usd) or usd < 0 for usd in prices[str(model)].values()) or any(
            isinstance(usd, bool) for usd in entry.values()
        ):
            raise InputError(
                f"{where}: {model}: a price must be a finite number of USD, zero or more (got {entry})"
            )
    return prices


def token_prices(path: str | os.PathLike | None = None) -> Prices:
    """model -> {"input", "output"} USD per 1M tokens. A file without sections is read as this section."""
    return _section(path, "per_million_tokens", "{input: USD, output: USD}")


def character_prices(path: str | os.PathLike | None = None) -> Prices:
    """model -> {"char"} USD per 1M characters (machine translation APIs)."""
    return _section(path, "per_million_characters", "{char: USD}")

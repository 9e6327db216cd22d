"""Fixtures shared by the translation tests."""

import pytest


@pytest.fixture
def stub_prices(tmp_path) -> dict[str, str]:
    """The loopback server's model in a price table of its own (product config prices real models only)."""
    table = tmp_path / "prices.yaml"
    table.write_text("per_million_tokens:\n  stub-model: {input: 1.0, output: 2.0}\n", encoding="utf-8")
    return {"NATIVEVAL_PRICES": str(table)}

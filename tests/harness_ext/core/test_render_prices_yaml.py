"""One prompt renderer, one price table, one YAML loader (nativeval.harness_ext.core.render,
.prices, .io.read_yaml)."""

from __future__ import annotations

import pytest

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.core.prices import TABLE, character_prices, token_prices
from nativeval.harness_ext.core.render import render_template


def test_renderer_fills_placeholders_in_one_pass():
    rendered = render_template(
        "Into {tgt_name}: {text}", {"tgt_name": "German", "text": "say {tgt_name} {x}"}
    )
    assert rendered == "Into German: say {tgt_name} {x}"
    assert render_template("{a}{b}", {"a": "{b}", "b": "B"}) == "{b}B"
    assert render_template("{unknown} }{ {}", {}) == "{unknown} }{ {}"


def test_judge_prompt_uses_the_same_renderer():
    from nativeval.harness_ext.judge.config import load_prompt

    messages = load_prompt("single_v1").render(question="Q {answer}?", answer="A {question}")
    assert "Q {answer}?" in messages[-1]["content"] and "A {question}" in messages[-1]["content"]


def test_one_price_table_versioned_with_a_source_note():
    text = TABLE.read_text(encoding="utf-8")
    assert "version:" in text and "Source:" in text
    assert token_prices()["command-r-plus"] == {"input": 3.0, "output": 15.0}  # the 04-2024 release's alias
    assert token_prices()["command-r-plus-08-2024"] == {"input": 2.5, "output": 10.0}
    assert character_prices()["nmt"] == {"char": 20.0}
    assert "stub-model" not in token_prices()


def test_another_price_table_by_environment_or_path(tmp_path, monkeypatch):
    table = tmp_path / "p.yaml"
    table.write_text("m: {input: 1, output: 2}\n", encoding="utf-8")  # no sections: token prices
    assert token_prices(table) == {"m": {"input": 1.0, "output": 2.0}} and character_prices(table) == {}
    monkeypatch.setenv("NATIVEVAL_PRICES", str(table))
    assert token_prices() == {"m": {"input": 1.0, "output": 2.0}}


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("per_million_tokens: {m: {input: lots}}\n", "every price must be a number"),
        ("per_million_tokens: [1, 2]\n", "expected per_million_tokens"),
        ("per_million_tokens: {m: [\n", "malformed YAML"),
    ],
)
def test_a_broken_price_table_is_a_one_line_error(tmp_path, content, message):
    table = tmp_path / "p.yaml"
    table.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        token_prices(table)
    assert message in str(caught.value) and "\n" not in str(caught.value) and str(table) in str(caught.value)


@pytest.mark.parametrize(
    ("content", "message"),
    [
        (None, "p.yaml: file not found"),
        ("a: [1,\n", "p.yaml:2: malformed YAML"),
        ("- a\n- b\n", "p.yaml: expected a mapping at the top level"),
    ],
)
def test_read_yaml_errors_are_one_line(tmp_path, content, message):
    path = tmp_path / "p.yaml"
    if content is not None:
        path.write_text(content, encoding="utf-8")
    with pytest.raises(InputError) as caught:
        read_yaml(path)
    assert f"{tmp_path}/{message}" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(InputError, match="^study.yaml"):
        read_yaml(path, shown="study.yaml")

"""Format preservation: code, URLs, e-mail addresses, placeholders and Markdown survive translation."""

from __future__ import annotations

import json

from translate_helpers import run_cli, write_json

from nativeval.harness_ext.testing.openai_stub import OpenAIStub
from nativeval.harness_ext.testing.translate_stubs import fake_translate, llm_translating_responder
from nativeval.translate.protect import restore, split_field

MARKDOWN_ITEM = (
    "## Finding the maximum\n\n"
    "Use `max(numbers)` as shown at https://docs.python.org/3/library/functions.html, "
    "or write to help@example.org. Hello {name}, you have %s items.\n\n"
    '```python\nnumbers = [12, 5, 7]\nprint(f"Max: {max(numbers)}")  # keep me\n```\n\n'
    "- first point\n- second point\n"
)


def test_split_field_round_trips_and_protects_spans():
    pieces = split_field(MARKDOWN_ITEM)
    assert "".join(p.text for p in pieces) == MARKDOWN_ITEM
    code = [p for p in pieces if p.kind == "code"]
    assert len(code) == 1 and code[0].text.startswith("```python") and code[0].text.endswith("```")
    prose = pieces[0]
    assert prose.originals == [
        "`max(numbers)`",
        "https://docs.python.org/3/library/functions.html",
        "help@example.org",
        "{name}",
        "%s",
    ]
    for original in prose.originals:
        assert original not in prose.segment
    assert "⟦0⟧" in prose.segment and "⟦4⟧" in prose.segment


def test_restore_reports_lost_markers_and_structure_changes():
    piece = split_field("# Title\n\nCall {name} at `f()`")[0]
    restored, problems = restore(piece.segment, piece)
    assert restored == "# Title\n\nCall {name} at `f()`" and problems == []
    mangled = piece.segment.replace("⟦1⟧", "").replace("# ", "")
    _, problems = restore(mangled, piece)
    assert any("lost protected span '`f()`'" in p for p in problems)
    assert any("headings 1 -> 0" in p for p in problems)


def test_unclosed_fence_is_kept_as_code():
    pieces = split_field("Intro text\n```\nno closing fence")
    assert [p.kind for p in pieces] == ["prose", "code"]


def test_markdown_and_code_item_comes_back_with_code_untouched(tmp_path):
    source = write_json(
        tmp_path / "in.json",
        [{"id": "md1", "instruction": "Explain this", "input": "", "output": MARKDOWN_ITEM}],
    )
    out = tmp_path / "out.json"
    with OpenAIStub(llm_translating_responder) as stub:
        result = run_cli(
            "translate",
            "--backend",
            "llm",
            "--base-url",
            stub.base_url,
            "--model",
            "stub-model",
            "--src",
            "en",
            "--tgt",
            "zh",
            "--in",
            str(source),
            "--out",
            str(out),
            env={"OPENAI_API_KEY": "sk-test"},
        )
        sent = [r["messages"][-1]["content"] for r in stub.requests]
    assert result.exit_code == 0, result.output
    translated = json.loads(out.read_text(encoding="utf-8"))[0]["output"]
    code_block = MARKDOWN_ITEM[MARKDOWN_ITEM.index("```python") : MARKDOWN_ITEM.rindex("```") + 3]
    assert code_block in translated
    for kept in (
        "`max(numbers)`",
        "https://docs.python.org/3/library/functions.html",
        "help@example.org",
        "{name}",
        "%s",
    ):
        assert kept in translated
    assert translated.startswith("## ") and translated.count("\n- ") == 2
    assert "first point" not in translated and fake_translate("first point", "zh") in translated
    # the code block and protected spans never reached the translator
    assert not any("numbers = [12" in s or "help@example.org" in s for s in sent)
    report = json.loads((tmp_path / "out.json.report.json").read_text())
    assert report["quality"]["counts"]["format"] == 0

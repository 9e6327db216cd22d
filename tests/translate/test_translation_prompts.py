"""Translation prompts: the study's own (command_r_fig6, the paper's Fig. 6) word for word, with nativeval's
format protection still holding under it; the stricter command_r_v1 still the default; the cache keyed by
prompt version; the report naming the prompt."""

from __future__ import annotations

import json
import re

from translate_helpers import run_cli, write_json

from nativeval.harness_ext.core.languages import language_name
from nativeval.harness_ext.testing.openai_stub import OpenAIStub
from nativeval.harness_ext.testing.translate_stubs import (
    fake_translate,
    llm_translating_responder,
    translation_request,
)
from nativeval.translate.backends.llm import load_prompt, render_messages
from nativeval.translate.protect import MARKER

# arXiv 2406.12822, Appendix A.1, Figure 6, verbatim from the camera-ready text
# (the study protocol notes, paper_protocol.md §2)
FIGURE_6 = (
    "Please translate from ${source_lang} to ${target_lang}. Do your best to preserve the formatting. "
    "The following content should and should only be translated. ${text}"
)
KEY_ENV = {"OPENAI_API_KEY": "sk-test-translate-prompts"}
CODE = "```python\nprint('keep me')\n```"
ROWS = [
    {
        "id": "a",
        "instruction": "Open https://example.org/docs and call `make_tea()` with {name}.",
        "output": f"Here is the code:\n\n{CODE}\n\nWrite to help@example.org if it fails.",
    },
    {"id": "b", "instruction": "Why is the sky blue?", "output": "Because of Rayleigh scattering."},
]


def translate_args(stub, src, out, *extra: str) -> tuple[str, ...]:
    return (
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
        str(src),
        "--out",
        str(out),
        *extra,
    )


def test_fig6_renders_the_papers_figure_6_word_for_word():
    text = "Keep {tgt_name} and ${text} as they are.\nSecond line."
    messages = render_messages(load_prompt("command_r_fig6"), text, "en", "zh")
    names = {"${source_lang}": language_name("en"), "${target_lang}": language_name("zh"), "${text}": text}
    paper = re.sub(r"\$\{\w+\}", lambda m: names[m.group(0)], FIGURE_6)
    assert messages == [
        {"role": "user", "content": paper}
    ]  # one user message, as the figure; values not rescanned
    assert load_prompt("command_r_fig6")["version"] == "command_r_fig6"


def test_fig6_translates_instruction_and_response_separately_and_restores_protected_spans(tmp_path):
    src, out = write_json(tmp_path / "in.json", ROWS), tmp_path / "out.json"
    with OpenAIStub(llm_translating_responder) as stub:
        result = run_cli(*translate_args(stub, src, out, "--prompt", "command_r_fig6"), env=KEY_ENV)
        sent = [r["messages"] for r in stub.requests]
    assert result.exit_code == 0, result.output
    assert all(
        len(m) == 1 and m[0]["content"].startswith(f"Please translate from English to {language_name('zh')}.")
        for m in sent
    )
    texts = [translation_request({"messages": m})[1] for m in sent]
    assert len(texts) == 5 and not any("```" in t or "example.org" in t or "`" in t for t in texts)
    assert (
        sum(t == "Why is the sky blue?" for t in texts) == 1
    )  # the instruction alone, not with its response
    got = {r["id"]: r for r in json.loads(out.read_text(encoding="utf-8"))}
    for span in ("https://example.org/docs", "`make_tea()`", "{name}", "help@example.org", CODE):
        assert span in got["a"]["instruction"] + got["a"]["output"]
    assert got["b"]["output"] == fake_translate("Because of Rayleigh scattering.", "zh")
    report = json.loads((tmp_path / "out.json.report.json").read_text(encoding="utf-8"))
    assert report["prompt_version"] == "command_r_fig6" and report["quality"]["counts"]["format"] == 0
    assert "llm stub-model (prompt command_r_fig6) en->zh" in result.output


def dropping_markers(until_reminded: bool):
    """A translator that loses every ⟦n⟧ marker, or only until the retry's system note mentions them."""

    def respond(request):
        tgt, text = translation_request(request)
        reminded = request["messages"][0]["role"] == "system" and "⟦0⟧" in request["messages"][0]["content"]
        translated = fake_translate(text, tgt)
        return translated if until_reminded and reminded else MARKER.sub("", translated)

    return respond


def test_a_lost_marker_is_asked_again_and_the_fixed_translation_kept(tmp_path):
    src, out = write_json(tmp_path / "in.json", ROWS), tmp_path / "out.json"
    with OpenAIStub(dropping_markers(until_reminded=True)) as stub:
        result = run_cli(*translate_args(stub, src, out, "--prompt", "command_r_fig6"), env=KEY_ENV)
        retried = [r["messages"] for r in stub.requests if len(r["messages"]) == 2]
        assert stub.request_count == 5 + 2  # the two segments with markers, asked twice
    assert result.exit_code == 0, result.output
    assert all(
        m[1]["content"].startswith(f"Please translate from English to {language_name('zh')}.")
        for m in retried
    )
    report = json.loads((tmp_path / "out.json.report.json").read_text(encoding="utf-8"))
    assert report["quality"]["counts"]["format"] == 0
    got = json.loads(out.read_text(encoding="utf-8"))[0]
    assert "https://example.org/docs" in got["instruction"] and "help@example.org" in got["output"]


def test_a_marker_still_lost_after_the_retry_is_flagged_in_the_report(tmp_path):
    src, out = write_json(tmp_path / "in.json", ROWS), tmp_path / "out.json"
    with OpenAIStub(dropping_markers(until_reminded=False)) as stub:
        result = run_cli(*translate_args(stub, src, out, "--prompt", "command_r_fig6"), env=KEY_ENV)
        assert stub.request_count == 5 + 2
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "out.json.report.json").read_text(encoding="utf-8"))
    flagged = {(i["id"], i["field"]): i["problems"] for i in report["quality"]["issues"]["format"]}
    assert set(flagged) == {("a", "instruction"), ("a", "output")}
    assert "lost protected span 'https://example.org/docs'" in flagged["a", "instruction"]
    assert "lost protected span 'help@example.org'" in flagged["a", "output"]


def test_segments_are_cached_per_prompt_version(tmp_path):
    src, out = write_json(tmp_path / "in.json", ROWS), tmp_path / "out.json"
    cache = ("--cache", str(tmp_path / "segments.sqlite"))
    with OpenAIStub(llm_translating_responder) as stub:
        assert (
            run_cli(*translate_args(stub, src, out, *cache), env=KEY_ENV).exit_code == 0
        )  # default: command_r_v1
        assert stub.request_count == 5 and all(r["messages"][0]["role"] == "system" for r in stub.requests)
        report = json.loads((tmp_path / "out.json.report.json").read_text(encoding="utf-8"))
        assert report["prompt_version"] == "command_r_v1"
        result = run_cli(*translate_args(stub, src, out, *cache, "--prompt", "command_r_fig6"), env=KEY_ENV)
        assert result.exit_code == 0 and stub.request_count == 10 and "0 from cache, 5 sent" in result.output
        result = run_cli(*translate_args(stub, src, out, *cache, "--prompt", "command_r_fig6"), env=KEY_ENV)
        assert result.exit_code == 0 and stub.request_count == 10 and "5 from cache, 0 sent" in result.output


def test_round_trip_report_names_the_prompt_of_each_leg(tmp_path):
    native = write_json(
        tmp_path / "zh.json", [{"id": "z", "instruction": "天空为什么是蓝色的？", "output": "瑞利散射。"}]
    )
    with OpenAIStub(llm_translating_responder) as stub:
        result = run_cli(
            "rtt",
            "--backend",
            "llm",
            "--base-url",
            stub.base_url,
            "--model",
            "stub-model",
            "--lang",
            "zh",
            "--in",
            str(native),
            "--out",
            str(tmp_path / "rtt.json"),
            "--pivot-out",
            str(tmp_path / "pivot.json"),
            "--prompt",
            "command_r_fig6",
            "--max-wrong-language",
            "1",
            env=KEY_ENV,
        )
    assert result.exit_code == 0, result.output
    report = json.loads((tmp_path / "rtt.json.report.json").read_text(encoding="utf-8"))
    assert [leg["prompt_version"] for leg in report["legs"]] == ["command_r_fig6", "command_r_fig6"]
    assert len(re.findall(r"\(prompt command_r_fig6\)", result.output)) == 2


def test_a_prompt_file_without_a_text_placeholder_is_one_line(tmp_path):
    bad = tmp_path / "mine.yaml"
    bad.write_text("version: mine\nuser: Translate please.\n", encoding="utf-8")
    src = write_json(tmp_path / "in.json", ROWS)
    result = run_cli(
        "translate",
        "--backend",
        "llm",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--src",
        "en",
        "--tgt",
        "zh",
        "--in",
        str(src),
        "--out",
        str(tmp_path / "o.json"),
        "--prompt",
        str(bad),
        env=KEY_ENV,
    )
    assert (
        result.exit_code == 2 and result.output.count("\n") == 1 and "no {text} placeholder" in result.output
    )
    assert not (tmp_path / "o.json").exists()

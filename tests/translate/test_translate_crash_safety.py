"""Translation under a cost cap with calls in flight, path clashes, and inputs with bad bytes (issue 15)."""

from __future__ import annotations

import json
import re

import pytest
from translate_helpers import run_cli, write_json

from nativeval.harness_ext.testing.openai_stub import OpenAIStub
from nativeval.harness_ext.testing.translate_stubs import GoogleTranslateStub, llm_translating_responder

KEY_ENV = {"OPENAI_API_KEY": "sk-test-crash", "GOOGLE_TRANSLATE_API_KEY": "AIza-test-crash"}


def records(n: int) -> list[dict]:
    return [
        {
            "id": f"r{i}",
            "instruction": f"Describe item {i:02d} briefly.",
            "output": f"Item {i:02d} is useful.",
        }
        for i in range(n)
    ]


def llm_args(stub, src, out, *extra):
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


def test_max_cost_lets_calls_in_flight_finish_bills_them_and_never_sends_them_again(tmp_path, stub_prices):
    src = write_json(tmp_path / "in.json", records(30))
    out = tmp_path / "out.json"
    with OpenAIStub(llm_translating_responder, latency=0.05) as stub:
        capped = run_cli(
            *llm_args(stub, src, out, "--max-cost", "0.004", "--concurrency", "8"),
            env={**KEY_ENV, **stub_prices},
        )
        answered = stub.request_count
        assert capped.exit_code == 2, capped.output
        match = re.search(
            r"spent \$[\d.]+ in (\d+) call\(s\)\); .*\((\d+) segment\(s\) in (\d+) request\(s\) not sent\)",
            capped.output,
        )
        assert match, capped.output
        billed, not_sent = int(match.group(1)), int(match.group(2))
        assert billed == answered and 0 < answered < 60 and billed + not_sent == 60
        assert not out.exists()
        done = run_cli(*llm_args(stub, src, out), env=KEY_ENV)
        assert done.exit_code == 0, done.output
        assert stub.request_count == 60  # every request answered under the cap was kept, none re-sent
    assert len(json.loads(out.read_text(encoding="utf-8"))) == 30


@pytest.mark.parametrize(
    "clash,message",
    [
        ("out=pivot", "--pivot-out {pivot} is the same file as --out; choose another path for --pivot-out"),
        ("pivot=in", "--pivot-out {src} would overwrite the input; choose another path for --pivot-out"),
        ("out=in", "--out {src} would overwrite the input; choose another path for --out"),
    ],
)
def test_round_trip_path_clashes_name_the_right_options(tmp_path, clash, message):
    src = write_json(tmp_path / "in.json", records(2))
    out, pivot = tmp_path / "rtt.json", tmp_path / "pivot.json"
    if clash == "out=pivot":
        pivot = out
    elif clash == "pivot=in":
        pivot = src
    else:
        out = src
    before = src.read_bytes()
    with GoogleTranslateStub() as g:
        result = run_cli(
            "rtt",
            "--backend",
            "google",
            "--base-url",
            g.base_url,
            "--lang",
            "en",
            "--pivot-lang",
            "ru",
            "--in",
            str(src),
            "--out",
            str(out),
            "--pivot-out",
            str(pivot),
            env=KEY_ENV,
        )
        assert g.requests == []
    assert result.exit_code == 2 and result.output.count("\n") == 1, result.output
    assert message.format(src=src, pivot=pivot) in result.output
    assert src.read_bytes() == before

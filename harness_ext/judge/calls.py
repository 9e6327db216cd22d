"""One judge call: its messages, cache key, what it may cost, and how its reply is read.

A call's key names everything its verdict depends on (judge model, prompt version and hash, the judged texts),
so a verdict is cached once and shared by every run and process that asks the same call.
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache

from nativeval.harness_ext.core.cache import cache_key
from nativeval.harness_ext.core.resilience import CostLedger
from nativeval.harness_ext.judge.config import JudgeConfig, PromptTemplate
from nativeval.harness_ext.judge.lm_eval_outputs import JudgeItem
from nativeval.harness_ext.judge.replies import parse_pairwise, parse_rating

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_MESSAGE_OVERHEAD_TOKENS = 8


@dataclass
class Call:
    """One judge request (before retries); ``quoted`` is text the judge may echo but must not be parsed."""

    judge: JudgeConfig
    prompt: PromptTemplate
    messages: list[dict[str, str]]
    quoted: list[str]
    key: str


def single_key(
    judge: JudgeConfig, prompt: PromptTemplate, question: str, response: str, repeat: int = 0
) -> str:
    """Repeat 0 is the plain call (so caches from before ``--repeats`` stay valid); each later repeat has its
    own key."""
    extra = ("repeat", repeat) if repeat else ()
    return cache_key("single", judge.model, prompt.cache_id, prompt.sha256, question, response, *extra)


def pairwise_key(judge: JudgeConfig, prompt: PromptTemplate, question: str, first: str, second: str) -> str:
    return cache_key("pairwise", judge.model, prompt.cache_id, prompt.sha256, question, first, second)


def single_call(
    judge: JudgeConfig, prompt: PromptTemplate, question: str, response: str, repeat: int = 0
) -> Call:
    messages = prompt.render(instruction=question, response=response, question=question, answer=response)
    return Call(
        judge,
        prompt,
        messages,
        quoted=[response, messages[-1]["content"], *_template_quotes(prompt)],
        key=single_key(judge, prompt, question, response, repeat),
    )


def pairwise_call(judge: JudgeConfig, prompt: PromptTemplate, question: str, first: str, second: str) -> Call:
    messages = prompt.render(question=question, answer_a=first, answer_b=second)
    return Call(
        judge,
        prompt,
        messages,
        quoted=[first, second, messages[-1]["content"], *_template_quotes(prompt)],
        key=pairwise_key(judge, prompt, question, first, second),
    )


def pairwise_calls(
    judge: JudgeConfig, prompt: PromptTemplate, pairs: Sequence[tuple[JudgeItem, JudgeItem]]
) -> list[Call]:
    calls = []
    for a, b in pairs:
        calls.append(pairwise_call(judge, prompt, a.question, a.response, b.response))
        calls.append(pairwise_call(judge, prompt, a.question, b.response, a.response))
    return calls


@cache
def _template_quotes(prompt: PromptTemplate) -> tuple[str, ...]:
    """The prompt's own instruction text (with its example verdict), which a judge may quote back."""
    texts = [prompt.system or ""] + [line for line in prompt.user.splitlines() if "{" not in line]
    examples = [
        m.group(0)
        for m in re.finditer(
            r'(["\'])[^"\'\n]*' + prompt.verdict_pattern + r'[^"\'\n]*\1', prompt.user + (prompt.system or "")
        )
    ]
    return tuple(t for t in texts + examples if t.strip())


def estimate_tokens(text: str) -> int:
    """A rough token count for --dry-run (CJK ~1.2 tokens a character, other scripts ~4 characters a
    token)."""
    cjk = len(_CJK.findall(text))
    return math.ceil(cjk * 1.2 + (len(text) - cjk) / 4)


def estimated_input_tokens(messages: list[dict[str, str]]) -> int:
    return estimate_tokens("".join(m["content"] for m in messages))


def worst_case_input_tokens(messages: list[dict[str, str]]) -> int:
    """An upper bound: a byte-level BPE token covers at least one UTF-8 byte."""
    return sum(len(m["content"].encode("utf-8")) + _MESSAGE_OVERHEAD_TOKENS for m in messages)


def worst_case_cost(ledger: CostLedger, call: Call) -> float:
    """What the ledger reserves before ``call`` is sent: the whole prompt in bytes plus ``max_tokens`` out."""
    return ledger.price(
        call.judge.model,
        input_tokens=worst_case_input_tokens(call.messages),
        output_tokens=call.judge.max_tokens,
    )


def parse_verdict(call: Call, text: str) -> int | str | None:
    if call.prompt.kind == "pairwise":
        return parse_pairwise(text, call.prompt.verdict_pattern, call.quoted)
    return parse_rating(text, call.prompt.verdict_pattern, call.prompt.scale, call.quoted)

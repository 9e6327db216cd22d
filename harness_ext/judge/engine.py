"""The judge engine: runs calls against any OpenAI-compatible endpoint, concurrent, cached, cost-capped.

- Requests go through the official ``openai`` client (``AsyncOpenAI``, ``max_retries=0``: retries,
  backoff, ``Retry-After`` and timeouts are :mod:`nativeval.harness_ext.core.resilience`'s). With aiohttp
  installed the client uses its aiohttp transport, which costs less CPU per request; the body is sent as a
  plain dict and the reply read as JSON (``client.post(..., cast_to=object)``), skipping per-call model
  validation.
- Every reply is written to the :class:`~nativeval.harness_ext.core.cache.KVCache` as it lands (key: the
  call's, :mod:`nativeval.harness_ext.judge.calls`), so a rerun makes no request and a crash or Ctrl-C loses
  nothing. Just before each request the cache is read again and a claim on the key is taken, so processes
  sharing one cache (array tasks on a cluster) send each item once.
- :class:`~nativeval.harness_ext.core.resilience.CostLedger` reserves each call's worst case (UTF-8 bytes of
  the prompt as input tokens, ``max_tokens`` as output) before it is sent, so ``--max-cost`` is never
  exceeded; a call that does not fit waits for those in flight to settle.
- A reply without a valid verdict is asked again ``invalid_retries`` times, then recorded invalid.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from nativeval.harness_ext.core.cache import KVCache
from nativeval.harness_ext.core.errors import NativevalError
from nativeval.harness_ext.core.resilience import (
    BudgetExceeded,
    CostLedger,
    TransientError,
    call_with_retries,
    run_bounded,
)
from nativeval.harness_ext.judge.calls import (
    Call,
    estimate_tokens,
    estimated_input_tokens,
    parse_verdict,
    worst_case_cost,
)
from nativeval.harness_ext.judge.config import JudgeConfig
from nativeval.harness_ext.judge.replies import JudgeReply, Usage

CLAIM_POLL_S = 0.2  # how often to look for a verdict that another process is making
CLAIMED_ELSEWHERE = object()  # a worker's answer for an item another process holds the claim on


@dataclass
class EngineStats:
    requests: int = 0
    cache_hits: int = 0
    invalid_retries: int = 0
    transport_retries: int = 0
    skipped_budget: int = 0


def _make_client(judge: JudgeConfig, api_key: str):
    from openai import AsyncOpenAI

    kwargs: dict[str, Any] = {}
    try:
        from openai import DefaultAioHttpClient

        kwargs["http_client"] = DefaultAioHttpClient(timeout=judge.timeout_s)
    except Exception:  # aiohttp extra missing (or an older openai): the default httpx transport
        pass
    return AsyncOpenAI(
        base_url=judge.base_url, api_key=api_key, max_retries=0, timeout=judge.timeout_s, **kwargs
    )


def _distinct(calls: Sequence[Call]) -> list[Call]:
    """One call per key, first occurrence kept, in order."""
    by_key: dict[str, Call] = {}
    for call in calls:
        by_key.setdefault(call.key, call)
    return list(by_key.values())


class StoppedAtCostCap(BudgetExceeded):
    """``--max-cost`` stopped the run; ``replies`` holds what was judged before (written, marked partial)."""

    def __init__(self, message: str, replies: dict[str, JudgeReply]):
        super().__init__(message)
        self.replies = replies


class JudgeEngine:
    """Runs :class:`Call` s concurrently: cache first, then the ledger, then the endpoint with retries."""

    def __init__(self, cache: KVCache, ledger: CostLedger, *, concurrency: int = 16, progress: bool = True):
        self.cache = cache
        self.ledger = ledger
        self.concurrency = concurrency
        self.progress = progress
        self.stats = EngineStats()
        self._clients: dict[str, Any] = {}
        self._keys: dict[str, str] = {}
        self._budget_error: BudgetExceeded | None = None

    def pending(self, calls: Sequence[Call]) -> list[Call]:
        """The distinct calls that the cache cannot answer."""
        return [call for call in _distinct(calls) if call.key not in self.cache]

    def run(self, calls: Sequence[Call]) -> dict[str, JudgeReply]:
        """Replies by call key. Raises :class:`StoppedAtCostCap` after the in-flight calls have landed and
        been cached."""
        return asyncio.run(self.run_async(calls))

    async def run_async(self, calls: Sequence[Call]) -> dict[str, JudgeReply]:
        replies: dict[str, JudgeReply] = {}
        todo: list[Call] = []
        for call in _distinct(calls):
            hit = self.cache.get(call.key)
            if hit is not None:
                replies[call.key] = JudgeReply.from_json(hit)
                self.stats.cache_hits += 1
            else:
                todo.append(call)
        if not todo:
            return replies
        for call in todo:  # every key is checked before any request is sent
            if call.judge.name not in self._keys:
                self._keys[call.judge.name] = call.judge.api_key()
        not_made = 0
        try:
            pending, first = todo, True
            while pending:  # later rounds: items another process was judging when this one reached them
                results = await run_bounded(
                    pending,
                    self._judge,
                    concurrency=self.concurrency,
                    progress="judging" if self.progress and first else None,
                )
                replies.update(
                    {c.key: v for c, v in zip(pending, results, strict=True) if isinstance(v, JudgeReply)}
                )
                not_made += sum(v is None for v in results)
                pending, first = (
                    [c for c, v in zip(pending, results, strict=True) if v is CLAIMED_ELSEWHERE],
                    False,
                )
                if pending and self._budget_error is not None:
                    not_made += len(pending)
                    break
                if pending:
                    await asyncio.sleep(CLAIM_POLL_S)
        except NativevalError as err:
            raise type(err)(self.redact(str(err))) from None
        finally:
            await self._close_clients()
        if self._budget_error is not None:
            self.stats.skipped_budget = not_made
            raise StoppedAtCostCap(
                f"{self.ledger.cap_message()} ({self.stats.skipped_budget} judgment(s) not made)", replies
            )
        return replies

    def redact(self, text: str) -> str:
        for key in self._keys.values():
            if key and key != "EMPTY":
                text = text.replace(key, "***")
        return text

    async def _close_clients(self) -> None:
        clients, self._clients = self._clients, {}
        for client in clients.values():
            with contextlib.suppress(Exception):  # closing a broken connection must not hide the real error
                await client.close()

    def _client(self, judge: JudgeConfig):
        client = self._clients.get(judge.name)
        if client is None:
            client = self._clients[judge.name] = _make_client(judge, self._keys[judge.name])
        return client

    async def _request(self, call: Call) -> dict[str, Any]:
        body = {
            "model": call.judge.model,
            "messages": call.messages,
            "temperature": call.judge.temperature,
            "max_tokens": call.judge.max_tokens,
        }
        self.stats.requests += 1
        data = await self._client(call.judge).post("/chat/completions", cast_to=object, body=body)
        choices = data.get("choices") if isinstance(data, dict) else None
        if not choices or not isinstance((choices[0].get("message") or {}).get("content"), str):
            raise TransientError("judge reply has no message content")
        return data

    def _on_retry(self, attempt: int, exc: BaseException, delay: float) -> None:
        self.stats.transport_retries += 1

    async def _judge(self, call: Call) -> JudgeReply | object | None:
        """The reply to ``call``: from the cache if another process wrote it meanwhile, else requested
        under this process's claim on the key (so processes sharing the cache send each item once)."""
        if not self.cache.claim(call.key):
            hit = self.cache.get(call.key)
            if hit is not None:
                self.stats.cache_hits += 1
                return JudgeReply.from_json(hit)
            return CLAIMED_ELSEWHERE  # another process is judging it: look again in the next round
        try:
            return await self._judge_claimed(call)
        finally:
            self.cache.release(call.key)  # a no-op once the verdict is written

    async def _judge_claimed(self, call: Call) -> JudgeReply | None:
        attempts = 0
        text = ""
        verdict: int | str | None = None
        data: dict[str, Any] = {}
        usage = Usage()
        worst = worst_case_cost(self.ledger, call)
        for _ in range(1 + max(0, call.judge.invalid_retries)):
            if self._budget_error is not None:
                return None
            try:
                await self.ledger.reserve_or_wait(worst)
            except BudgetExceeded as err:
                self._budget_error = err
                return None
            try:
                data = await call_with_retries(
                    lambda: self._request(call),
                    call.judge.retry_policy(),
                    describe=f"judge {call.judge.name} at {call.judge.base_url}",
                    on_retry=self._on_retry,
                )
            except BaseException:
                self.ledger.release(worst)
                raise
            text = data["choices"][0]["message"]["content"]
            counted = data.get("usage") or {}
            prompt_tokens = int(counted.get("prompt_tokens") or estimated_input_tokens(call.messages))
            completion_tokens = int(counted.get("completion_tokens") or estimate_tokens(text))
            self.ledger.settle(
                worst, call.judge.model, input_tokens=prompt_tokens, output_tokens=completion_tokens
            )
            usage = Usage(usage.prompt_tokens + prompt_tokens, usage.completion_tokens + completion_tokens)
            attempts += 1
            verdict = parse_verdict(call, text)
            if verdict is not None:
                break
            self.stats.invalid_retries += 1
        reply = JudgeReply(
            verdict=verdict,
            valid=verdict is not None,
            text=text,
            attempts=attempts,
            model=data.get("model"),
            system_fingerprint=data.get("system_fingerprint"),
            usage=usage,
            judge=call.judge.name,
            prompt_version=call.prompt.version,
        )
        self.cache.put(call.key, reply.to_json())
        return reply

"""One HTTP-resilience piece for every remote API (judges, LLM and Google translation).

- :func:`call_with_retries`: retries transient failures (429, 5xx, timeouts, connection errors,
  malformed bodies) with exponential backoff and full jitter, honouring ``Retry-After``;
  fails at once on errors that a retry cannot fix (400, 401, 403, 404).
- :func:`run_bounded`: runs an async worker over many items with bounded concurrency, a progress
  bar, and a callback per finished item (so callers persist each result as it lands).
- :class:`CostLedger`: adds up spend from usage and stops *before* a hard cap would be exceeded; under
  concurrency a reservation that does not fit waits for the calls in flight before the cap counts as reached.
"""

from __future__ import annotations

import asyncio
import email.utils
import random
import time
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from typing import Any, TypeVar

from nativeval.harness_ext.core.errors import NativevalError

T = TypeVar("T")
R = TypeVar("R")

RETRYABLE_STATUS = {408, 409, 425, 429, 500, 502, 503, 504, 520, 522, 524, 529}


class TransientError(Exception):
    """Raise from a worker for a failure worth retrying (e.g. a reply that could not be parsed)."""


class PermanentError(NativevalError):
    """A remote call failed in a way that retrying cannot fix."""


class BudgetExceeded(NativevalError):
    """The next call would take spending past ``--max-cost``."""


@dataclass
class RetryPolicy:
    max_attempts: int = 6
    base_delay: float = 0.5
    max_delay: float = 60.0
    timeout: float = 120.0


def status_of(exc: BaseException) -> int | None:
    status = getattr(exc, "status_code", None)
    if status is None and getattr(exc, "response", None) is not None:
        status = getattr(exc.response, "status_code", None)
    return status if isinstance(status, int) else None


def retry_after_seconds(exc: BaseException) -> float | None:
    """Seconds the server asked us to wait (``retry-after-ms`` or ``Retry-After``), if it said."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if not headers:
        return None
    ms = headers.get("retry-after-ms")
    if ms:
        try:
            return float(ms) / 1000.0
        except ValueError:
            pass
    value = headers.get("retry-after")
    if not value:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        parsed = email.utils.parsedate_to_datetime(value)
        return max(0.0, parsed.timestamp() - time.time()) if parsed else None


def is_transient(exc: BaseException) -> bool:
    if isinstance(exc, (TransientError, asyncio.TimeoutError, TimeoutError, ConnectionError)):
        return True
    status = status_of(exc)
    if status is not None:
        return status in RETRYABLE_STATUS
    name = type(exc).__name__
    # openai / httpx transport failures carry no status: timeouts, connection resets, bad bodies
    return any(k in name for k in ("Timeout", "Connection", "Decode", "RemoteProtocol", "ReadError"))


def backoff_delay(attempt: int, policy: RetryPolicy, exc: BaseException | None = None) -> float:
    """Delay before retry number ``attempt`` (1-based): Retry-After if given, else full jitter."""
    asked = retry_after_seconds(exc) if exc is not None else None
    if asked is not None:
        return min(asked, policy.max_delay)
    return random.uniform(0, min(policy.max_delay, policy.base_delay * 2 ** (attempt - 1)))


async def call_with_retries(
    fn: Callable[[], Awaitable[R]],
    policy: RetryPolicy | None = None,
    *,
    describe: str = "request",
    on_retry: Callable[[int, BaseException, float], None] | None = None,
) -> R:
    """Await ``fn()`` with a timeout per attempt, retrying transient failures."""
    policy = policy or RetryPolicy()
    for attempt in range(1, policy.max_attempts + 1):
        try:
            return await asyncio.wait_for(fn(), timeout=policy.timeout)
        except (KeyboardInterrupt, asyncio.CancelledError, NativevalError):
            raise
        except Exception as exc:  # classified below; anything unknown is permanent
            if not is_transient(exc):
                status = status_of(exc)
                reason = f"HTTP {status}" if status else type(exc).__name__
                first = str(exc).splitlines()[0][:200] if str(exc) else ""
                raise PermanentError(
                    f"{describe} failed ({reason}: {first}); check the endpoint, model name and API key"
                ) from None
            if attempt == policy.max_attempts:
                raise PermanentError(
                    f"{describe} still failing after {attempt} attempts ({type(exc).__name__}: "
                    f"{str(exc)[:150]}); "
                    "finished items are saved, rerun later to resume"
                ) from None
            delay = backoff_delay(attempt, policy, exc)
            if on_retry:
                on_retry(attempt, exc, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")


async def run_bounded(
    items: Iterable[T],
    worker: Callable[[T], Awaitable[R]],
    *,
    concurrency: int = 16,
    on_result: Callable[[T, R], None] | None = None,
    progress: str | None = None,
) -> list[R]:
    """Run ``worker`` over ``items`` with at most ``concurrency`` in flight; results in input order.

    ``on_result`` is called as each item finishes, so work is persisted before the next lands.
    The first exception cancels the rest and propagates (finished items were already persisted).
    """
    items = list(items)
    results: list[Any] = [None] * len(items)
    sem = asyncio.Semaphore(max(1, concurrency))
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=len(items), desc=progress, unit="item", leave=False)

    async def one(i: int, item: T):
        async with sem:
            result = await worker(item)
        results[i] = result
        if on_result:
            on_result(item, result)
        if bar:
            bar.update(1)

    tasks = [asyncio.ensure_future(one(i, item)) for i, item in enumerate(items)]
    try:
        await asyncio.gather(*tasks)
    except BaseException:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        raise
    finally:
        if bar:
            bar.close()
    return results


@dataclass
class CostLedger:
    """Spend in USD from token (or character) usage against a price table and a hard cap.

    ``prices`` maps a model name to ``{"input": usd_per_1M, "output": usd_per_1M}`` (tokens) or
    ``{"char": usd_per_1M}`` (characters). A request reserves its worst case first, so the cap is never
    exceeded. Under concurrency use :meth:`reserve_or_wait`: a reservation that does not fit waits for the
    calls in flight to settle (their true cost is usually far below their worst case) and the cap counts as
    reached only when it still does not fit with nothing in flight; from then on every reservation fails.
    """

    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    max_cost: float | None = None
    spent: float = 0.0
    reserved: float = 0.0
    input_tokens: int = 0
    output_tokens: int = 0
    characters: int = 0
    calls: int = 0
    in_flight: int = 0
    cap_reached: bool = False
    _settled: asyncio.Event | None = field(default=None, repr=False, compare=False)
    _settled_loop: Any = field(default=None, repr=False, compare=False)

    def price(
        self, model: str, *, input_tokens: int = 0, output_tokens: int = 0, characters: int = 0
    ) -> float:
        p = self.prices.get(model) or self.prices.get("default") or {}
        return (
            input_tokens * p.get("input", 0.0)
            + output_tokens * p.get("output", 0.0)
            + characters * p.get("char", 0.0)
        ) / 1e6

    def fits(self, amount: float) -> bool:
        return self.max_cost is None or self.spent + self.reserved + amount <= self.max_cost + 1e-12

    def cap_message(self) -> str:
        """Why work stopped, with the true spend so far (read when nothing is in flight, it is final)."""
        return (
            f"stopping before --max-cost ${self.max_cost:.2f} would be exceeded (spent ${self.spent:.4f} "
            f"in {self.calls} call(s)); finished items are saved, raise --max-cost and rerun to continue"
        )

    def reserve(self, amount: float) -> None:
        """Reserve at once or raise BudgetExceeded (for one call at a time)."""
        if self.cap_reached or not self.fits(amount):
            self.cap_reached = True
            raise BudgetExceeded(self.cap_message())
        self.reserved += amount
        self.in_flight += 1

    async def reserve_or_wait(self, amount: float) -> None:
        """Reserve ``amount``; while it does not fit, wait for calls in flight to settle first."""
        while not self.cap_reached and not self.fits(amount) and self.in_flight:
            loop = asyncio.get_running_loop()
            if self._settled is None or self._settled_loop is not loop:
                self._settled, self._settled_loop = asyncio.Event(), loop
            await self._settled.wait()
        self.reserve(amount)

    def _one_landed(self, reserved: float) -> None:
        self.reserved = max(0.0, self.reserved - reserved)
        self.in_flight = max(0, self.in_flight - 1)
        settled, self._settled = self._settled, None
        if settled is not None:
            settled.set()

    def release(self, reserved: float) -> None:
        """Give back a reservation whose call failed (nothing was spent)."""
        self._one_landed(reserved)

    def settle(
        self,
        reserved: float,
        model: str,
        *,
        input_tokens: int = 0,
        output_tokens: int = 0,
        characters: int = 0,
    ) -> float:
        cost = self.price(
            model, input_tokens=input_tokens, output_tokens=output_tokens, characters=characters
        )
        self.spent += cost
        self.input_tokens += input_tokens
        self.output_tokens += output_tokens
        self.characters += characters
        self.calls += 1
        self._one_landed(reserved)
        return cost

    def summary(self) -> dict[str, Any]:
        return {
            "calls": self.calls,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "characters": self.characters,
            "spent_usd": round(self.spent, 6),
            "max_cost_usd": self.max_cost,
            "cap_reached": self.cap_reached,
        }

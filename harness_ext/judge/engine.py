"""The LLM judge for open-ended answers: any OpenAI-compatible endpoint, concurrent, cached, cost-capped.

Flow: lm-eval samples files -> one chat call per (judge, question, response) -> verdict parsed from the
judge's own text -> per-item judgments beside the samples and an lm-eval-shaped results file per judge.

- Requests go through the official ``openai`` client (``AsyncOpenAI``, ``max_retries=0``: retries, backoff,
  ``Retry-After`` and timeouts are :mod:`nativeval.harness_ext.core.resilience`'s). With aiohttp installed the client uses
  its aiohttp transport, which costs less CPU per request; the body is sent as a plain dict and the reply
  read as JSON (``client.post(..., cast_to=object)``), skipping per-call model validation.
- Every verdict is written to the :class:`~nativeval.harness_ext.core.cache.KVCache` as it lands (key: judge model, prompt
  version and hash, question, response), so a rerun makes no request and a crash or Ctrl-C loses nothing.
  Just before each request the cache is read again and a claim on the key is taken, so processes sharing
  one cache (array tasks on a cluster) send each item once.
- :class:`~nativeval.harness_ext.core.resilience.CostLedger` reserves each call's worst case (UTF-8 bytes of the prompt as
  input tokens, ``max_tokens`` as output) before it is sent, so ``--max-cost`` is never exceeded; a call that
  does not fit waits for those in flight to settle. Items judged before the cap go to a results file marked
  ``"partial"``.
- A reply without a valid verdict is asked again ``invalid_retries`` times, then recorded invalid: excluded
  from the mean and counted.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import hashlib
import math
import os
import re
import statistics
import sys
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from functools import cache
from pathlib import Path
from typing import Any

from nativeval import __version__
from nativeval.harness_ext.core.cache import KVCache, cache_key
from nativeval.harness_ext.core.errors import InputError, NativevalError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_jsonl
from nativeval.harness_ext.core.paths import inside, safe_segment
from nativeval.harness_ext.core.resilience import (
    BudgetExceeded,
    CostLedger,
    TransientError,
    call_with_retries,
    run_bounded,
)
from nativeval.harness_ext.judge.config import (
    JudgeConfig,
    PromptTemplate,
    load_judge,
    load_prices,
    load_prompt,
)
from nativeval.harness_ext.judge.parse import (
    SAMPLES_NAME,
    JudgeItem,
    RunOutputs,
    TaskSamples,
    collect_runs,
    is_judged_task,
    parse_pairwise,
    parse_rating,
)

_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")
_MESSAGE_OVERHEAD_TOKENS = 8
CLAIM_POLL_S = 0.2  # how often to look for a verdict that another process is making
CLAIMED_ELSEWHERE = object()  # a worker's answer for an item another process holds the claim on


def default_cache_path() -> Path:
    root = os.environ.get("NATIVEVAL_CACHE_DIR") or Path.home() / ".cache" / "nativeval"
    return Path(root) / "judge_cache.sqlite"


# --- one call -----------------------------------------------------------------------------------------
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
    """Repeat 0 is the plain call (so caches from before ``--repeats`` stay valid); each later repeat has its own key."""
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
    """A rough token count for --dry-run (CJK ~1.2 tokens a character, other scripts ~4 characters a token)."""
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


# --- the engine ---------------------------------------------------------------------------------------
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

    def run(self, calls: Sequence[Call]) -> dict[str, dict[str, Any]]:
        """Verdicts by call key. Raises BudgetExceeded after the in-flight calls have landed and been cached."""
        return asyncio.run(self.run_async(calls))

    async def run_async(self, calls: Sequence[Call]) -> dict[str, dict[str, Any]]:
        verdicts: dict[str, dict[str, Any]] = {}
        todo: list[Call] = []
        for call in _distinct(calls):
            hit = self.cache.get(call.key)
            if hit is not None:
                verdicts[call.key] = hit
                self.stats.cache_hits += 1
            else:
                todo.append(call)
        if not todo:
            return verdicts
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
                verdicts.update(
                    {c.key: v for c, v in zip(pending, results, strict=True) if isinstance(v, dict)}
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
            stop = BudgetExceeded(
                f"{self.ledger.cap_message()} ({self.stats.skipped_budget} judgment(s) not made)"
            )
            stop.verdicts = verdicts  # what was judged before the cap, for a results file marked partial
            raise stop
        return verdicts

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

    async def _judge(self, call: Call) -> dict[str, Any] | object | None:
        """The verdict for ``call``: from the cache if another process wrote it meanwhile, else requested
        under this process's claim on the key (so processes sharing the cache send each item once)."""
        if not self.cache.claim(call.key):
            hit = self.cache.get(call.key)
            if hit is not None:
                self.stats.cache_hits += 1
                return hit
            return CLAIMED_ELSEWHERE  # another process is judging it: look again in the next round
        try:
            return await self._judge_claimed(call)
        finally:
            self.cache.release(call.key)  # a no-op once the verdict is written

    async def _judge_claimed(self, call: Call) -> dict[str, Any] | None:
        attempts = 0
        text = ""
        verdict: int | str | None = None
        data: dict[str, Any] = {}
        usage_total = {"prompt_tokens": 0, "completion_tokens": 0}
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
            usage = data.get("usage") or {}
            prompt_tokens = int(usage.get("prompt_tokens") or estimated_input_tokens(call.messages))
            completion_tokens = int(usage.get("completion_tokens") or estimate_tokens(text))
            self.ledger.settle(
                worst, call.judge.model, input_tokens=prompt_tokens, output_tokens=completion_tokens
            )
            usage_total["prompt_tokens"] += prompt_tokens
            usage_total["completion_tokens"] += completion_tokens
            attempts += 1
            verdict = parse_verdict(call, text)
            if verdict is not None:
                break
            self.stats.invalid_retries += 1
        result = {
            "verdict": verdict,
            "valid": verdict is not None,
            "text": text,
            "attempts": attempts,
            "model": data.get("model"),
            "system_fingerprint": data.get("system_fingerprint"),
            "usage": usage_total,
            "judge": call.judge.name,
            "prompt_version": call.prompt.version,
        }
        self.cache.put(call.key, result)
        return result


# --- single-answer grading: outputs -------------------------------------------------------------------
@dataclass
class TaskScore:
    task: str
    ratings: list[float]  # per item: the mean over its valid repeats
    invalid: int
    off_language: int
    n_items: int
    rows: list[dict[str, Any]] = field(default_factory=list)
    not_judged: int = 0

    @property
    def mean(self) -> float | None:
        return statistics.fmean(self.ratings) if self.ratings else None

    @property
    def stderr(self) -> float | None:
        return (
            statistics.stdev(self.ratings) / math.sqrt(len(self.ratings)) if len(self.ratings) > 1 else None
        )

    @property
    def off_language_rate(self) -> float | None:
        return self.off_language / self.n_items if self.n_items else None


def language_flags(samples: TaskSamples) -> list[bool | None]:
    """Per item: True if the response is confidently in another language than the task's."""
    if not samples.language:
        return [None] * len(samples.items)
    from nativeval.harness_ext.core.langid import is_language

    flags: list[bool | None] = []
    for item in samples.items:
        same = is_language(item.response, samples.language)
        flags.append(None if same is None else not same)
    return flags


def score_task(
    samples: TaskSamples,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    verdicts: dict[str, dict[str, Any]],
    repeats: int = 1,
) -> TaskScore:
    """Per-item rows; with ``repeats`` > 1 an item's rating is the mean of its valid repeats (all in ``ratings``)."""
    flags = language_flags(samples)
    score = TaskScore(
        samples.task,
        ratings=[],
        invalid=0,
        off_language=sum(f is True for f in flags),
        n_items=len(samples.items),
    )
    for item, off in zip(samples.items, flags, strict=True):
        asked = [
            verdicts.get(single_key(judge, prompt, item.question, item.response, r)) for r in range(repeats)
        ]
        if any(v is None for v in asked):  # not judged: the cost cap stopped the run first
            score.not_judged += 1
            continue
        valid = [int(v["verdict"]) for v in asked if v["valid"]]
        verdict = next((v for v in asked if v["valid"]), asked[0])
        rating: float | None = None
        if valid:
            rating = valid[0] if repeats == 1 else statistics.fmean(valid)
            score.ratings.append(rating)
        else:
            score.invalid += 1
        repeat_fields = (
            {"ratings": [v["verdict"] if v["valid"] else None for v in asked]} if repeats > 1 else {}
        )
        score.rows.append(
            {
                "task": samples.task,
                "doc_id": item.doc_id,
                "doc_hash": item.doc_hash,
                "question": item.question,
                "response": item.response,
                "rating": rating,
                "valid": bool(valid),
                **repeat_fields,
                "explanation": verdict["text"],
                "attempts": sum(v["attempts"] for v in asked),
                "off_language": off,
                "judge": judge.name,
                "judge_model": judge.model,
                "model_snapshot": verdict.get("model"),
                "system_fingerprint": verdict.get("system_fingerprint"),
                "prompt_version": prompt.version,
                "usage": verdict.get("usage"),
            }
        )
    return score


def _snapshots(scores: Sequence[TaskScore]) -> list[str]:
    found = {
        f"{r['model_snapshot']}" + (f"/{r['system_fingerprint']}" if r["system_fingerprint"] else "")
        for s in scores
        for r in s.rows
        if r["model_snapshot"]
    }
    return sorted(found)


def results_document(
    run: RunOutputs,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    scores: Sequence[TaskScore],
    ledger: CostLedger | None = None,
    repeats: int = 1,
) -> dict[str, Any]:
    """lm-eval's results shape: ``results[task]["rating,<judge>"]`` and friends, configs with provenance."""
    name = judge.name
    results, configs, versions, n_samples, higher = {}, {}, {}, {}, {}
    for score in scores:
        samples = run.tasks[score.task]
        results[score.task] = {
            "alias": score.task,
            f"rating,{name}": score.mean,
            f"rating_stderr,{name}": score.stderr if score.stderr is not None else "N/A",
            f"sum_rating,{name}": sum(score.ratings),
            f"n,{name}": len(score.ratings),
            f"invalid,{name}": score.invalid,
            "off_language_rate,none": score.off_language_rate,
        }
        configs[score.task] = samples.config or {
            "task": score.task,
            "metadata": {"language": samples.language},
        }
        versions[score.task] = samples.version
        n_samples[score.task] = {"original": score.n_items, "effective": score.n_items - score.not_judged}
        higher[score.task] = {
            "rating": True,
            "sum_rating": True,
            "n": True,
            "invalid": False,
            "off_language_rate": False,
        }
    header = dict(run.results_header)
    header.setdefault("model_name", run.directory.name)
    return {
        "results": results,
        "group_subtasks": {t: [] for t in results},
        "configs": configs,
        "versions": versions,
        "n-shot": {t: 0 for t in results},
        "higher_is_better": higher,
        "n-samples": n_samples,
        **header,
        "judge": {
            **judge.public(),
            "prompt_version": prompt.version,
            "prompt_sha256": prompt.sha256,
            "model_snapshots": _snapshots(scores),
            "repeats": repeats,
            "cost_this_run": ledger.summary() if ledger else None,
        },
        "source_samples": {t: run.tasks[t].path.name for t in results},
        "judged_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "nativeval_version": __version__,
    }


def run_label_of(run: RunOutputs) -> str | None:
    """The ``nativeval.label`` the judged run was given (``eval --label``), kept in the judge's files."""
    section = run.results_header.get("nativeval")
    label = section.get("label") if isinstance(section, dict) else None
    return label if isinstance(label, str) and label.strip() else None


def output_folders(runs: Sequence[RunOutputs], out: Path | None) -> dict[Path, Path]:
    """Each run's output folder: the run's own, or ``out/<run folder name>`` (core.paths' safe segment, checked
    inside ``out``); runs whose folders share a name (``a/model``, ``b/model``) get their path's hash added."""
    if out is None:
        return {run.directory: run.directory for run in runs}
    names = {run.directory: safe_segment(run.directory.name, max_length=200) for run in runs}
    shared = Counter(name.casefold() for name in names.values())
    return {
        directory: inside(
            out,
            out
            / (
                f"{name}-{hashlib.sha1(str(directory).encode()).hexdigest()[:8]}"
                if shared[name.casefold()] > 1
                else name
            ),
            what="judge output folder",
        )
        for directory, name in names.items()
    }


def write_single_outputs(
    run: RunOutputs,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    scores: Sequence[TaskScore],
    folder: Path,
    ledger: CostLedger | None,
    partial: str | None = None,
    repeats: int = 1,
) -> Path:
    run_label = run_label_of(run)
    for score in scores:
        samples = run.tasks[score.task]
        rows = [{**row, "nativeval": {"label": run_label}} for row in score.rows] if run_label else score.rows
        rows_name = f"judgments_{safe_segment(score.task)}_{safe_segment(judge.name)}_{samples.date}.jsonl"
        atomic_write_jsonl(folder / rows_name, rows)
    date = max(run.tasks[s.task].date for s in scores)
    path = folder / f"results_judge_{safe_segment(judge.name)}_{date}.json"
    document = results_document(run, judge, prompt, scores, ledger, repeats)
    if partial:  # the same name as the full file, so the rerun that finishes the items replaces it
        document["partial"] = {"reason": partial, "not_judged": {s.task: s.not_judged for s in scores}}
    atomic_write_json(path, document)
    return path


# --- pairwise ---------------------------------------------------------------------------------------
@dataclass
class PairScore:
    task: str
    wins_a: int = 0
    wins_b: int = 0
    ties: int = 0
    inconsistent: int = 0
    invalid: int = 0
    not_judged: int = 0  # pairs with an order left unasked (the cost cap stopped the run)
    rows: list[dict[str, Any]] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.wins_a + self.wins_b + self.ties

    @property
    def win_rate_a(self) -> float | None:
        return (self.wins_a + 0.5 * self.ties) / self.n if self.n else None


def _winner(verdict: dict[str, Any], a_first: bool) -> str | None:
    if not verdict["valid"]:
        return None
    letter = verdict["verdict"]
    if letter == "C":
        return "tie"
    return ("a" if letter == "A" else "b") if a_first else ("b" if letter == "A" else "a")


def pair_items(a: TaskSamples, b: TaskSamples) -> list[tuple[JudgeItem, JudgeItem]]:
    by_id = {item.doc_id: item for item in b.items}
    pairs = []
    for item in a.items:
        other = by_id.get(item.doc_id)
        if other is None:
            continue
        if other.question != item.question:
            raise InputError(
                f"task {a.task}: doc {item.doc_id} has different questions in {a.path} and {b.path}; "
                "pairwise needs runs over the same documents"
            )
        pairs.append((item, other))
    if not pairs:
        raise InputError(f"task {a.task}: {a.path} and {b.path} share no doc_id")
    return pairs


def pairwise_calls(
    judge: JudgeConfig, prompt: PromptTemplate, pairs: Sequence[tuple[JudgeItem, JudgeItem]]
) -> list[Call]:
    calls = []
    for a, b in pairs:
        calls.append(pairwise_call(judge, prompt, a.question, a.response, b.response))
        calls.append(pairwise_call(judge, prompt, a.question, b.response, a.response))
    return calls


def score_pairs(
    task: str,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    pairs: Sequence[tuple[JudgeItem, JudgeItem]],
    verdicts: dict[str, dict[str, Any]],
) -> PairScore:
    score = PairScore(task)
    for a, b in pairs:
        first = verdicts.get(pairwise_key(judge, prompt, a.question, a.response, b.response))
        second = verdicts.get(pairwise_key(judge, prompt, a.question, b.response, a.response))
        if first is None or second is None:
            score.not_judged += 1
            continue
        w1, w2 = _winner(first, a_first=True), _winner(second, a_first=False)
        if w1 is None or w2 is None:
            outcome = None
            score.invalid += 1
        elif w1 == w2:
            outcome = w1
        else:
            outcome = "tie"
            score.inconsistent += 1
        if outcome == "a":
            score.wins_a += 1
        elif outcome == "b":
            score.wins_b += 1
        elif outcome == "tie":
            score.ties += 1
        score.rows.append(
            {
                "task": task,
                "doc_id": a.doc_id,
                "question": a.question,
                "response_a": a.response,
                "response_b": b.response,
                "winner": outcome,
                "a_first": w1,
                "b_first": w2,
                "consistent": w1 == w2 if outcome else None,
                "explanation_a_first": first["text"],
                "explanation_b_first": second["text"],
                "judge": judge.name,
                "judge_model": judge.model,
                "model_snapshot": first.get("model"),
                "prompt_version": prompt.version,
            }
        )
    return score


def pairwise_document(
    run_a: RunOutputs,
    run_b: RunOutputs,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    scores: Sequence[PairScore],
    ledger: CostLedger | None,
    partial: str | None = None,
) -> dict[str, Any]:
    name = judge.name
    results = {
        s.task: {
            "alias": s.task,
            f"win_rate_a,{name}": s.win_rate_a,
            f"wins_a,{name}": s.wins_a,
            f"wins_b,{name}": s.wins_b,
            f"ties,{name}": s.ties,
            f"inconsistent,{name}": s.inconsistent,
            f"invalid,{name}": s.invalid,
            f"n,{name}": s.n,
        }
        for s in scores
    }

    def side(run):
        header = {k: run.results_header[k] for k in ("model_name", "config") if k in run.results_header}
        return {"directory": str(run.directory), **header}

    return {
        "results": results,
        "group_subtasks": {t: [] for t in results},
        "configs": {s.task: run_a.tasks[s.task].config or {"task": s.task} for s in scores},
        "higher_is_better": {s.task: {"win_rate_a": True} for s in scores},
        "n-samples": {s.task: {"original": len(s.rows), "effective": s.n} for s in scores},
        "model_name": f"{side(run_a).get('model_name', run_a.directory.name)} vs "
        f"{side(run_b).get('model_name', run_b.directory.name)}",
        "pairwise": {
            "a": side(run_a),
            "b": side(run_b),
            "both_orders": True,
            "inconsistent_counts_as": "tie",
        },
        "judge": {
            **judge.public(),
            "prompt_version": prompt.version,
            "prompt_sha256": prompt.sha256,
            "cost_this_run": ledger.summary() if ledger else None,
        },
        "judged_at": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "nativeval_version": __version__,
        **(
            {"partial": {"reason": partial, "not_judged": {s.task: s.not_judged for s in scores}}}
            if partial
            else {}
        ),
    }


# --- the command ------------------------------------------------------------------------------------
@dataclass
class JudgeOptions:
    paths: Sequence[str] = ()
    judges: Sequence[str] = ("gpt-4-turbo",)
    base_url: str | None = None
    model: str | None = None
    prompt: str | None = None
    concurrency: int = 16
    max_cost: float | None = None
    cache: str | None = None
    out: str | None = None
    dry_run: bool = False
    pairwise: tuple[str, str] | None = None
    tasks: Sequence[str] = ()
    prices: str | None = None
    progress: bool = True
    repeats: int = 1


def _judges(options: JudgeOptions) -> list[JudgeConfig]:
    judges = [load_judge(name, base_url=options.base_url, model=options.model) for name in options.judges]
    names = [j.name for j in judges]
    if len(set(names)) != len(names):
        raise InputError(f"judge named twice: {', '.join(names)}")
    return judges


def _ledger(options: JudgeOptions, judges: Sequence[JudgeConfig]) -> CostLedger:
    prices = load_prices(options.prices)
    for judge in judges:
        prices.update(judge.prices)
    if options.max_cost is not None:
        if options.max_cost < 0:
            raise InputError("--max-cost must be zero or more (USD)")
        unpriced = sorted({j.model for j in judges if j.model not in prices})
        if unpriced:
            raise InputError(
                f"no price for judge model(s) {', '.join(unpriced)}: add them to the price table "
                "(harness_ext/core/prices.yaml, --prices FILE, or `prices:` in the judge YAML) to use --max-cost"
            )
    return CostLedger(prices=prices, max_cost=options.max_cost)


def _dry_run_report(
    engine: JudgeEngine,
    ledger: CostLedger,
    calls_by_judge: Sequence[tuple[JudgeConfig, list[Call]]],
    echo: Callable[[str], None],
) -> None:
    total_expected = total_worst = 0.0
    for judge, calls in calls_by_judge:
        todo = engine.pending(calls)
        expected = sum(
            ledger.price(
                judge.model,
                input_tokens=estimated_input_tokens(c.messages),
                output_tokens=judge.expected_output_tokens,
            )
            for c in todo
        )
        worst = sum(worst_case_cost(ledger, c) for c in todo)
        priced = judge.model in ledger.prices
        total_expected += expected
        total_worst += worst
        echo(
            f"dry run: judge {judge.name} ({judge.model} at {judge.base_url}): {len(todo)} call(s) to make, "
            f"{len(set(c.key for c in calls)) - len(todo)} cached; estimated ${expected:.4f} (worst case ${worst:.4f})"
            + ("" if priced else "; model not in the price table, counted as $0")
        )
    echo(
        f"dry run: total estimated ${total_expected:.4f} (worst case ${total_worst:.4f}); "
        f"retries of invalid verdicts are not included; no request was sent"
    )


def preflight(options: JudgeOptions) -> tuple[list[JudgeConfig], CostLedger]:
    """Everything about a judge run that can be wrong before any work (`eval --judge` calls it before
    generation): option ranges, judge names, prompts, prices and the cost cap, the API keys, the cache file."""
    if options.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    if options.repeats < 1:
        raise InputError("--repeats must be at least 1")
    if options.repeats > 1 and options.pairwise:
        raise InputError("--repeats applies to single-answer grading; drop it with --pairwise")
    if options.pairwise and Path(options.pairwise[0]).resolve() == Path(options.pairwise[1]).resolve():
        raise InputError(
            f"--pairwise {options.pairwise[0]} {options.pairwise[1]}: the same run twice; give two runs"
        )
    judges = _judges(options)
    ledger = _ledger(options, judges)
    for judge in judges:
        prompt = load_prompt(options.prompt or (judge.pairwise_prompt if options.pairwise else judge.prompt))
        wanted = "pairwise" if options.pairwise else "single"
        if prompt.kind != wanted:
            raise InputError(
                f"prompt {prompt.version} is a {prompt.kind} prompt; "
                f"{'--pairwise' if options.pairwise else 'single-answer grading'} needs a {wanted} one"
            )
        if not options.dry_run:
            judge.api_key()
    cache = Path(options.cache or default_cache_path())
    if (
        cache.exists()
    ):  # a corrupt or unreadable cache is one line now; a new one is made only once inputs are read
        KVCache(cache).close()
    return judges, ledger


def run_judge(options: JudgeOptions, echo: Callable[[str], None] = print) -> list[Path]:
    """The ``cli.py judge`` command; returns the results files written (none for --dry-run)."""
    judges, ledger = preflight(options)
    if options.pairwise:
        pair = tuple(_single_run(p, options.tasks) for p in options.pairwise)
    elif not options.paths:
        raise InputError("give at least one lm-eval output directory or samples file to judge")
    else:
        runs = collect_runs(options.paths, options.tasks)  # read (and refused) before the cache file is made
    cache = KVCache(options.cache or default_cache_path())
    engine = JudgeEngine(cache, ledger, concurrency=options.concurrency, progress=options.progress)
    try:
        if options.pairwise:
            return _run_pairwise(options, pair, judges, engine, ledger, echo)
        return _run_single(options, runs, judges, engine, ledger, echo)
    finally:
        cache.close()


def _run_single(
    options: JudgeOptions,
    runs: list[RunOutputs],
    judges: Sequence[JudgeConfig],
    engine: JudgeEngine,
    ledger: CostLedger,
    echo: Callable[[str], None],
) -> list[Path]:
    folders = output_folders(runs, Path(options.out) if options.out else None)
    plan: dict[str, tuple[JudgeConfig, PromptTemplate, list[Call]]] = {}
    for judge in judges:
        prompt = load_prompt(options.prompt or judge.prompt)
        if prompt.kind != "single":
            raise InputError(
                f"prompt {prompt.version} is a {prompt.kind} prompt; single-answer grading needs a single one"
            )
        calls = [
            single_call(judge, prompt, item.question, item.response, repeat)
            for run in runs
            for samples in run.tasks.values()
            for item in samples.items
            for repeat in range(options.repeats)
        ]
        plan[judge.name] = (judge, prompt, calls)
        if options.repeats > 1 and judge.temperature == 0:
            echo(
                f"note: judge {judge.name} runs at temperature 0, so its {options.repeats} repeats may all agree; "
                "set `temperature:` in its YAML to measure self-consistency"
            )
    if options.dry_run:
        _dry_run_report(engine, ledger, [(j, c) for j, _p, c in plan.values()], echo)
        return []
    stopped: BudgetExceeded | None = None
    try:
        verdicts = engine.run([c for _j, _p, calls in plan.values() for c in calls])
    except BudgetExceeded as err:
        verdicts, stopped = getattr(err, "verdicts", {}), err
    written = []
    for run in runs:
        for judge, prompt, _calls in plan.values():
            scores = [
                score_task(samples, judge, prompt, verdicts, options.repeats)
                for samples in run.tasks.values()
            ]
            written.append(
                write_single_outputs(
                    run,
                    judge,
                    prompt,
                    scores,
                    folders[run.directory],
                    ledger,
                    partial=str(stopped) if stopped else None,
                    repeats=options.repeats,
                )
            )
            for s in scores:
                mean = f"{s.mean:.3f}" if s.mean is not None else "n/a"
                off = f"{s.off_language_rate:.2f}" if s.off_language_rate is not None else "n/a"
                echo(
                    f"{run.directory.name} {s.task} [{judge.name}]: rating {mean} (sum {sum(s.ratings)}, n {len(s.ratings)}, "
                    f"invalid {s.invalid}), off_language_rate {off}"
                )
    _summary(engine, ledger, written, echo)
    if stopped is not None:
        raise stopped
    return written


def _run_pairwise(
    options: JudgeOptions,
    pair: tuple[RunOutputs, ...],
    judges: Sequence[JudgeConfig],
    engine: JudgeEngine,
    ledger: CostLedger,
    echo: Callable[[str], None],
) -> list[Path]:
    assert options.pairwise is not None
    run_a, run_b = pair
    shared = sorted(set(run_a.tasks) & set(run_b.tasks))
    if not shared:
        raise InputError(f"{options.pairwise[0]} and {options.pairwise[1]} have no judged task in common")
    plan = []
    for judge in judges:
        prompt = load_prompt(options.prompt or judge.pairwise_prompt)
        if prompt.kind != "pairwise":
            raise InputError(
                f"prompt {prompt.version} is a {prompt.kind} prompt; --pairwise needs a pairwise one"
            )
        pairs = {t: pair_items(run_a.tasks[t], run_b.tasks[t]) for t in shared}
        plan.append(
            (judge, prompt, pairs, [c for t in shared for c in pairwise_calls(judge, prompt, pairs[t])])
        )
    if options.dry_run:
        _dry_run_report(engine, ledger, [(j, calls) for j, _p, _pairs, calls in plan], echo)
        return []
    stopped: BudgetExceeded | None = None
    try:
        verdicts = engine.run([c for *_rest, calls in plan for c in calls])
    except (
        BudgetExceeded
    ) as err:  # the pairs judged in both orders before the cap are written, marked partial
        verdicts, stopped = getattr(err, "verdicts", {}), err
    out = Path(options.out or "pairwise")
    written = []
    for judge, prompt, pairs, _calls in plan:
        scores = [score_pairs(t, judge, prompt, pairs[t], verdicts) for t in shared]
        for s in scores:
            rows_name = f"judgments_pairwise_{safe_segment(s.task)}_{safe_segment(judge.name)}.jsonl"
            atomic_write_jsonl(out / rows_name, s.rows)
            rate = f"{s.win_rate_a:.3f}" if s.win_rate_a is not None else "n/a"
            echo(
                f"{s.task} [{judge.name}]: A wins {s.wins_a}, B wins {s.wins_b}, ties {s.ties} "
                f"(inconsistent {s.inconsistent}), invalid {s.invalid}; A's win rate {rate}"
            )
        path = out / f"results_pairwise_{safe_segment(judge.name)}.json"
        atomic_write_json(
            path,
            pairwise_document(
                run_a, run_b, judge, prompt, scores, ledger, partial=str(stopped) if stopped else None
            ),
        )
        written.append(path)
    _summary(engine, ledger, written, echo)
    if stopped is not None:
        raise stopped
    return written


def _single_run(path: str, tasks: Sequence[str]) -> RunOutputs:
    runs = collect_runs([path], tasks)
    if len(runs) != 1:
        raise InputError(
            f"{path}: holds outputs of {len(runs)} runs; give one model's output directory for --pairwise"
        )
    return runs[0]


def _summary(
    engine: JudgeEngine, ledger: CostLedger, written: Sequence[Path], echo: Callable[[str], None]
) -> None:
    s = engine.stats
    cost = ledger.summary()
    echo(
        f"{s.requests} request(s) sent, {s.cache_hits} verdict(s) from the cache, {s.invalid_retries} invalid verdict(s) "
        f"re-asked, {s.transport_retries} transport retr(ies); spent ${cost['spent_usd']:.4f} "
        f"({cost['input_tokens']} input + {cost['output_tokens']} output tokens)"
    )
    for path in written:
        echo(f"wrote {path}")


def main_from_cli(**kwargs: Any) -> None:
    """Entry for cli.py: ``kwargs`` are JudgeOptions fields."""
    run_judge(JudgeOptions(**kwargs), echo=lambda line: print(line, file=sys.stdout, flush=True))


def judge_after_eval(options: JudgeOptions, echo: Callable[[str], None] = print) -> Callable[[Any], None]:
    """A ``nativeval.harness_ext.eval.run.run(after_eval=...)`` hook: judge the open-QA samples lm-eval just wrote."""

    def hook(outcome: Any) -> None:
        configs = (outcome.results or {}).get("configs") or {}
        files = []
        for path in outcome.samples_files:
            match = SAMPLES_NAME.match(Path(path).name)
            if match and is_judged_task(match["task"], configs.get(match["task"], {})):
                files.append(str(path))
        if not files:
            echo("judge: no open-QA task in this run, nothing to judge")
            return
        run_judge(replace(options, paths=files), echo=echo)

    return hook

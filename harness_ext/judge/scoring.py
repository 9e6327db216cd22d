"""Replies turned into scores: per task a mean rating (single-answer grading) or win counts (pairwise, both
orders asked), with one judgment record per item for the output files.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.judge.calls import pairwise_key, single_key
from nativeval.harness_ext.judge.config import JudgeConfig, PromptTemplate
from nativeval.harness_ext.judge.lm_eval_outputs import JudgeItem, TaskSamples
from nativeval.harness_ext.judge.replies import JudgeReply, Usage


# --- single-answer grading ----------------------------------------------------------------------------
@dataclass
class ItemJudgment:
    """One item's rating and why: a row of ``judgments_<task>_<judge>_<date>.jsonl`` (:meth:`row`)."""

    task: str
    doc_id: Any
    doc_hash: str | None
    question: str
    response: str
    rating: float | None  # the valid verdict, or the mean of the valid repeats
    valid: bool
    ratings: list[int | None] | None  # each repeat's verdict (None: invalid); None without --repeats
    explanation: str
    attempts: int
    off_language: bool | None
    judge: str
    judge_model: str
    model_snapshot: str | None
    system_fingerprint: str | None
    prompt_version: str
    usage: Usage | None

    def row(self) -> dict[str, Any]:
        row = asdict(self)
        if self.ratings is None:
            del row["ratings"]
        return row


@dataclass
class TaskScore:
    task: str
    ratings: list[float]  # per item: the mean over its valid repeats
    invalid: int
    off_language: int
    n_items: int
    judgments: list[ItemJudgment] = field(default_factory=list)
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
    replies: dict[str, JudgeReply],
    repeats: int = 1,
) -> TaskScore:
    """Per-item judgments; with ``repeats`` > 1 an item's rating is the mean of its valid repeats (all in
    ``ratings``)."""
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
            replies.get(single_key(judge, prompt, item.question, item.response, r)) for r in range(repeats)
        ]
        if any(v is None for v in asked):  # not judged: the cost cap stopped the run first
            score.not_judged += 1
            continue
        valid = [int(v.verdict) for v in asked if v.valid]
        reply = next((v for v in asked if v.valid), asked[0])
        rating: float | None = None
        if valid:
            rating = valid[0] if repeats == 1 else statistics.fmean(valid)
            score.ratings.append(rating)
        else:
            score.invalid += 1
        score.judgments.append(
            ItemJudgment(
                task=samples.task,
                doc_id=item.doc_id,
                doc_hash=item.doc_hash,
                question=item.question,
                response=item.response,
                rating=rating,
                valid=bool(valid),
                ratings=[v.verdict if v.valid else None for v in asked] if repeats > 1 else None,
                explanation=reply.text,
                attempts=sum(v.attempts for v in asked),
                off_language=off,
                judge=judge.name,
                judge_model=judge.model,
                model_snapshot=reply.model,
                system_fingerprint=reply.system_fingerprint,
                prompt_version=prompt.version,
                usage=reply.usage,
            )
        )
    return score


# --- pairwise ---------------------------------------------------------------------------------------
@dataclass
class PairJudgment:
    """One question's comparison, asked in both orders: a row of
    ``judgments_pairwise_<task>_<judge>.jsonl``."""

    task: str
    doc_id: Any
    question: str
    response_a: str
    response_b: str
    winner: str | None  # "a" | "b" | "tie"; None when a verdict is invalid
    a_first: str | None  # the winner with A's answer shown first
    b_first: str | None
    consistent: bool | None
    explanation_a_first: str
    explanation_b_first: str
    judge: str
    judge_model: str
    model_snapshot: str | None
    prompt_version: str

    def row(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class PairScore:
    task: str
    wins_a: int = 0
    wins_b: int = 0
    ties: int = 0
    inconsistent: int = 0
    invalid: int = 0
    not_judged: int = 0  # pairs with an order left unasked (the cost cap stopped the run)
    judgments: list[PairJudgment] = field(default_factory=list)

    @property
    def n(self) -> int:
        return self.wins_a + self.wins_b + self.ties

    @property
    def win_rate_a(self) -> float | None:
        return (self.wins_a + 0.5 * self.ties) / self.n if self.n else None


def _winner(reply: JudgeReply, a_first: bool) -> str | None:
    if not reply.valid:
        return None
    letter = reply.verdict
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


def score_pairs(
    task: str,
    judge: JudgeConfig,
    prompt: PromptTemplate,
    pairs: Sequence[tuple[JudgeItem, JudgeItem]],
    replies: dict[str, JudgeReply],
) -> PairScore:
    score = PairScore(task)
    for a, b in pairs:
        first = replies.get(pairwise_key(judge, prompt, a.question, a.response, b.response))
        second = replies.get(pairwise_key(judge, prompt, a.question, b.response, a.response))
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
        score.judgments.append(
            PairJudgment(
                task=task,
                doc_id=a.doc_id,
                question=a.question,
                response_a=a.response,
                response_b=b.response,
                winner=outcome,
                a_first=w1,
                b_first=w2,
                consistent=w1 == w2 if outcome else None,
                explanation_a_first=first.text,
                explanation_b_first=second.text,
                judge=judge.name,
                judge_model=judge.model,
                model_snapshot=first.model,
                prompt_version=prompt.version,
            )
        )
    return score

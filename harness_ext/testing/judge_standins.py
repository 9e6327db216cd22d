"""Stand-in judges with known behaviour, for the judge-diagnostics tests and benchmark.

Each is an :class:`~nativeval.harness_ext.testing.openai_stub.OpenAIStub` responder (request dict ->
reply text in the study's verdict format). :func:`by_model` serves several from one loopback server,
chosen by the request's ``model``, so several judge configs can point at one stub. None of them measures
anything: each plants exactly one behaviour a diagnostic must find.
"""

from __future__ import annotations

import hashlib
import random
import re
import threading
from collections.abc import Mapping
from typing import Any

from nativeval.harness_ext.core.langid import detect_language
from nativeval.harness_ext.testing.openai_stub import Responder, judged_answer

_PAIR = re.compile(
    r"\[The Start of Assistant ([AB])'s Answer\]\n(.*?)\n\[The End of Assistant \1's Answer\]", re.S
)


def _verdict(rating: int, why: str) -> str:
    return f"{why} Rating: [[{rating}]]"


def _digest(*parts: str) -> int:
    return int(hashlib.sha256("\x00".join(parts).encode("utf-8")).hexdigest(), 16)


def hash_judge(salt: str = "") -> Responder:
    """Rates 1-5 by a hash of (salt, answer): two salts are two independent judges; one agrees with itself."""

    def respond(request: dict[str, Any]) -> str:
        rating = 1 + _digest(salt, judged_answer(request)) % 5
        return _verdict(rating, f"Hash judge {salt!r}: the rating is a hash of the answer.")

    return respond


def length_judge(words_per_point: int = 6) -> Responder:
    """Rates longer answers higher: 1 + one point per ``words_per_point`` words (characters / 2 for CJK),
    at most 5."""

    def respond(request: dict[str, Any]) -> str:
        answer = judged_answer(request)
        size = len(answer.split())
        if detect_language(answer)[0] == "zh":
            size = len(answer) // 2
        return _verdict(min(5, 1 + size // words_per_point), "Length judge: longer is better.")

    return respond


def english_judge(request: dict[str, Any]) -> str:
    """Rates answers in English 5 and any other 1, whatever the question's language."""
    english = detect_language(judged_answer(request))[0] == "en"
    return _verdict(
        5 if english else 1, "English judge: " + ("in English." if english else "not in English.")
    )


def noisy_judge(seed: int = 0) -> Responder:
    """A fresh random rating on every call, as a judge sampled at a high temperature would give."""
    rng = random.Random(seed)
    lock = threading.Lock()

    def respond(request: dict[str, Any]) -> str:
        with lock:
            rating = rng.randint(1, 5)
        return _verdict(rating, "Noisy judge: a random rating each time.")

    return respond


def first_slot_judge(request: dict[str, Any]) -> str:
    """Pairwise: always prefers the answer shown first."""
    return "The first answer is better. [[A]]"


def pairwise_hash_judge(request: dict[str, Any]) -> str:
    """Pairwise, position-free: the winner is a hash of the two answers taken in sorted order."""
    answers = dict(_PAIR.findall(request["messages"][-1]["content"]))
    a, b = answers.get("A", ""), answers.get("B", "")
    if a == b:
        return "They are the same. [[C]]"
    first, second = sorted([a, b])
    winner = first if _digest(first, second) % 2 else second
    return "Order-free hash verdict. [[A]]" if winner == a else "Order-free hash verdict. [[B]]"


def by_model(responders: Mapping[str, Responder]) -> Responder:
    """One responder per judge model name (the request's ``model``)."""

    def respond(request: dict[str, Any]) -> str:
        model = request.get("model", "")
        if model not in responders:
            return f"unknown stand-in model {model!r}"  # no verdict: the engine records it invalid
        return responders[model](request)

    return respond

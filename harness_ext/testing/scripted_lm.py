"""A scripted lm-eval model: generations chosen by rule, every request recorded.

For known-answer runs of real lm-eval (``simple_evaluate(model=ScriptedLM(...))``): the reply to a request is
the value of the rule whose key occurs last in its context, so a rule keyed by a test question's words
answers that question and not a few-shot exemplar that shares the words earlier in the prompt.
"""

from __future__ import annotations

from collections.abc import Mapping

from lm_eval.api.model import LM


class ScriptedLM(LM):
    def __init__(self, replies: Mapping[str, str], default: str = "") -> None:
        super().__init__()
        self.replies = dict(replies)
        self.default = default
        self.contexts: list[str] = []  # every generation context, in request order

    def reply_to(self, context: str) -> str:
        hits = [(context.rfind(key), key) for key in self.replies if key in context]
        return self.replies[max(hits)[1]] if hits else self.default

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        out = []
        for request in requests:
            context = request.args[0]
            self.contexts.append(context)
            out.append(self.reply_to(context))
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("ScriptedLM only generates")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("ScriptedLM only generates")

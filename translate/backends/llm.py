"""Any OpenAI-compatible chat endpoint (Cohere's compatibility API, OpenAI, vLLM, ...).

One segment per request; the prompt template is versioned data (``translate/prompts/*.yaml``) and
its version is part of every cache key. Temperature 0. The API key comes from the environment.

Prompts: ``command_r_v1`` (the default: nativeval's stricter rules in a system message, the text alone as the
user message) and ``command_r_fig6`` (the study's own, the paper's Fig. 6, one user message). A prompt with a
``retry_note`` asks a segment once more, with the note as a system message, when the reply lost or invented a
format marker (``⟦n⟧``); a span still lost is flagged by the pipeline's quality report.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.core.languages import language_name
from nativeval.harness_ext.core.render import render_template
from nativeval.harness_ext.core.resilience import TransientError
from nativeval.translate.backends.base import Backend, BatchResult, estimate_tokens
from nativeval.translate.protect import MARKER

if TYPE_CHECKING:
    from openai import AsyncOpenAI

PROMPTS = Path(__file__).resolve().parents[1] / "prompts"
DEFAULT_PROMPT = "command_r_v1"


@lru_cache(maxsize=8)
def load_prompt(name_or_path: str = DEFAULT_PROMPT) -> dict[str, Any]:
    path = Path(name_or_path)
    if not path.suffix:
        path = PROMPTS / f"{name_or_path}.yaml"
    if not path.is_file():
        known = ", ".join(sorted(p.stem for p in PROMPTS.glob("*.yaml")))
        raise InputError(f"translation prompt {name_or_path!r} not found; known prompts: {known}")
    prompt = read_yaml(path)
    for key in ("version", "user"):
        if key not in prompt:
            raise InputError(f"{path}: prompt file lacks {key!r}")
    if "{text}" not in prompt["user"]:
        raise InputError(f"{path}: the prompt's `user` template has no {{text}} placeholder")
    return prompt


def render_messages(prompt: dict[str, Any], text: str, src: str, tgt: str) -> list[dict[str, str]]:
    """The chat messages for one segment: a system message only when the prompt has one."""
    names = {"src_name": language_name(src), "tgt_name": language_name(tgt)}
    user = render_template(prompt["user"], {**names, "text": text})
    system = render_template(prompt["system"], names) if prompt.get("system") else None
    return ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]


def markers_kept(source: str, translation: str) -> bool:
    """Whether ``translation`` holds exactly the format markers of ``source`` (each as often)."""
    return sorted(MARKER.findall(source)) == sorted(MARKER.findall(translation))


class LLMBackend(Backend):
    name = "llm"
    price_unit = "tokens"
    max_batch_segments = 1
    default_concurrency = 16

    def __init__(
        self,
        *,
        model: str | None = None,
        base_url: str | None = None,
        api_key_env: str = "OPENAI_API_KEY",
        prompt: str = DEFAULT_PROMPT,
        timeout: float = 120.0,
    ):
        self.prompt = load_prompt(prompt)
        self.prompt_version = str(self.prompt["version"])
        self.model = model or self.prompt.get("model") or "command-r"
        self.temperature = float(self.prompt.get("temperature", 0))
        api_key = os.environ.get(api_key_env)
        if not api_key and not base_url:
            raise InputError(f"set {api_key_env} (or --base-url for a local OpenAI-compatible server)")
        self._client_args = {"api_key": api_key or "not-needed", "base_url": base_url, "timeout": timeout}
        self._openai: AsyncOpenAI | None = None

    @property
    def _client(self):
        # made inside the running event loop, dropped by aclose(): one backend serves several runs.
        # Our retry layer (nativeval.harness_ext.core.resilience) retries; the client must not add its own.
        if self._openai is None:
            from openai import AsyncOpenAI

            self._openai = AsyncOpenAI(max_retries=0, **self._client_args)
        return self._openai

    def max_output_tokens(self, text: str) -> int:
        return 2 * estimate_tokens(text) + 64

    def worst_case(self, texts: list[str]) -> dict[str, int]:
        """Per segment: the prompt around it, and one marker retry's worth more where the prompt may ask
        one."""
        wording = (
            (self.prompt.get("system") or "") + self.prompt["user"] + (self.prompt.get("retry_note") or "")
        )
        overhead = estimate_tokens(wording) + 16
        calls = 2 if self.prompt.get("retry_note") else 1
        return {
            "input_tokens": sum(calls * (estimate_tokens(t) + overhead) for t in texts),
            "output_tokens": sum(calls * self.max_output_tokens(t) for t in texts),
        }

    def expected_usage(self, texts: list[str]) -> dict[str, int]:
        """One call per segment (a marker retry is the exception); output guessed as 1.2x the input text's
        tokens."""
        overhead = estimate_tokens((self.prompt.get("system") or "") + self.prompt["user"]) + 16
        return {
            "input_tokens": sum(estimate_tokens(t) + overhead for t in texts),
            "output_tokens": sum(int(estimate_tokens(t) * 1.2) for t in texts),
        }

    async def translate_batch(self, texts: list[str], src: str, tgt: str) -> BatchResult:
        result = BatchResult([])
        for text in texts:
            messages = render_messages(self.prompt, text, src, tgt)
            translation = await self._ask(messages, text, result)
            note = self.prompt.get("retry_note")
            if note and not markers_kept(text, translation):
                again = await self._ask([{"role": "system", "content": note}, *messages], text, result)
                if markers_kept(text, again):
                    translation = again
            result.texts.append(translation)
        return result

    async def _ask(self, messages: list[dict[str, str]], text: str, result: BatchResult) -> str:
        response = await self._client.chat.completions.create(
            model=self.model,
            messages=messages,
            temperature=self.temperature,
            max_tokens=self.max_output_tokens(text),
        )
        if not response.choices or response.choices[0].message.content is None:
            raise TransientError("the model returned no translation")
        if response.usage:
            result.input_tokens += response.usage.prompt_tokens
            result.output_tokens += response.usage.completion_tokens
        return response.choices[0].message.content.strip()

    async def aclose(self) -> None:
        if self._openai is not None:
            await self._openai.close()
            self._openai = None

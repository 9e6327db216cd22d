"""Any OpenAI-compatible chat endpoint (Cohere's compatibility API, OpenAI, vLLM, ...).

One segment per request; the prompt template is versioned data (``translate/prompts/*.yaml``) and
its version is part of every cache key. Temperature 0. The API key comes from the environment.
"""

from __future__ import annotations

import os
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from harness_ext.core.errors import InputError
from harness_ext.core.io import read_yaml
from harness_ext.core.languages import language_name
from harness_ext.core.render import render_template
from harness_ext.core.resilience import TransientError
from translate.backends.base import Backend, BatchResult, estimate_tokens

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
    for key in ("version", "system", "user"):
        if key not in prompt:
            raise InputError(f"{path}: prompt file lacks {key!r}")
    return prompt


def render_messages(prompt: dict[str, Any], text: str, src: str, tgt: str) -> list[dict[str, str]]:
    names = {"src_name": language_name(src), "tgt_name": language_name(tgt)}
    system = render_template(prompt["system"], names)
    user = render_template(prompt["user"], {**names, "text": text})
    return [{"role": "system", "content": system}, {"role": "user", "content": user}]


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
        # Our retry layer (harness_ext.core.resilience) retries; the client must not add its own.
        if self._openai is None:
            from openai import AsyncOpenAI

            self._openai = AsyncOpenAI(max_retries=0, **self._client_args)
        return self._openai

    def max_output_tokens(self, text: str) -> int:
        return 2 * estimate_tokens(text) + 64

    def worst_case(self, texts: list[str]) -> dict[str, int]:
        prompt_overhead = estimate_tokens(self.prompt["system"]) + 16
        return {
            "input_tokens": sum(estimate_tokens(t) + prompt_overhead for t in texts),
            "output_tokens": sum(self.max_output_tokens(t) for t in texts),
        }

    def expected_usage(self, texts: list[str]) -> dict[str, int]:
        """Worst-case input; output guessed as 1.2x the input text's tokens."""
        return {**self.worst_case(texts), "output_tokens": sum(int(estimate_tokens(t) * 1.2) for t in texts)}

    async def translate_batch(self, texts: list[str], src: str, tgt: str) -> BatchResult:
        result = BatchResult([])
        for text in texts:
            response = await self._client.chat.completions.create(
                model=self.model,
                messages=render_messages(self.prompt, text, src, tgt),
                temperature=self.temperature,
                max_tokens=self.max_output_tokens(text),
            )
            if not response.choices or response.choices[0].message.content is None:
                raise TransientError("the model returned no translation")
            result.texts.append(response.choices[0].message.content.strip())
            if response.usage:
                result.input_tokens += response.usage.prompt_tokens
                result.output_tokens += response.usage.completion_tokens
        return result

    async def aclose(self) -> None:
        if self._openai is not None:
            await self._openai.close()
            self._openai = None

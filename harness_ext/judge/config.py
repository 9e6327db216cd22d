"""Judge settings, prompts and prices: versioned data files under ``harness_ext/judge/configs/``.

- ``configs/<name>.yaml``: one judge (model, endpoint, key variable, prompt versions, limits).
- ``configs/prompts/<version>.yaml``: a prompt (system + user template, verdict pattern, scale). The
  default, ``single_v2``, is the study's Fig. 7; ``mtbench_single_v1`` is MT-Bench's (formerly
  ``single_v1``, an alias).
- prices: the one table, ``harness_ext/core/prices.yaml`` (``nativeval.harness_ext.core.prices``).

``--judge`` takes a built-in name or a path to a YAML file of the same shape.
"""

from __future__ import annotations

import hashlib
import logging
import os
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.core.prices import checked_prices, token_prices
from nativeval.harness_ext.core.render import render_template
from nativeval.harness_ext.core.resilience import RetryPolicy

CONFIGS_DIR = Path(__file__).resolve().parent / "configs"
PROMPTS_DIR = CONFIGS_DIR / "prompts"
_log = logging.getLogger(__name__)


@dataclass(frozen=True)
class PromptTemplate:
    version: str
    kind: str  # "single" | "pairwise"
    system: str | None
    user: str
    verdict_pattern: str
    scale: tuple[int, int] = (1, 5)
    # the name its verdicts are cached under, when that is not ``version`` (a renamed prompt)
    cache_name: str = ""

    @property
    def cache_id(self) -> str:
        return self.cache_name or self.version

    @cached_property  # part of every cache key: hashed once per prompt, not once per call
    def sha256(self) -> str:
        blob = "\x00".join([self.system or "", self.user, self.verdict_pattern])
        return hashlib.sha256(blob.encode("utf-8")).hexdigest()[:16]

    def render(self, **values: str) -> list[dict[str, str]]:
        """Chat messages with the placeholders filled in one pass (an answer's own braces stay as they are).

        Single-answer prompts name the judged pair ``{instruction}`` / ``{response}`` (the paper's Fig. 7) or
        ``{question}`` / ``{answer}`` (MT-Bench's); the engine passes both."""
        user = render_template(self.user, values)
        messages = [{"role": "system", "content": self.system}] if self.system else []
        return messages + [{"role": "user", "content": user}]


@dataclass(frozen=True)
class JudgeConfig:
    name: str
    model: str
    base_url: str
    api_key_env: str = "OPENAI_API_KEY"
    api_key_optional: bool = False
    prompt: str = "single_v2"
    pairwise_prompt: str = "pairwise_v1"
    temperature: float = 0.0
    max_tokens: int = 1024
    expected_output_tokens: int = 250
    timeout_s: float = 120.0
    max_attempts: int = 6
    retry_base_delay_s: float = 0.5
    invalid_retries: int = 1
    prices: dict[str, dict[str, float]] = field(default_factory=dict)
    source: str = ""

    def api_key(self) -> str:
        """The key from the environment (never stored); a one-line error when it is missing."""
        key = os.environ.get(self.api_key_env, "")
        if key:
            return key
        if self.api_key_optional:
            return "EMPTY"
        raise InputError(
            f"judge {self.name}: set the environment variable {self.api_key_env} to its API key "
            f"(or use --dry-run to see the calls and cost without one)"
        )

    def retry_policy(self) -> RetryPolicy:
        """Transport retries for this judge; the per-attempt limit leaves the client's own timeout room to
        fire."""
        return RetryPolicy(
            max_attempts=self.max_attempts, base_delay=self.retry_base_delay_s, timeout=self.timeout_s + 5
        )

    def public(self) -> dict[str, Any]:
        """What results files record about this judge: settings, never the key."""
        return {
            "name": self.name,
            "model": self.model,
            "base_url": self.base_url,
            "temperature": self.temperature,
            "max_tokens": self.max_tokens,
            "api_key_env": self.api_key_env,
            "config": self.source,
        }


def builtin_judges() -> list[str]:
    return sorted(p.stem for p in CONFIGS_DIR.glob("*.yaml"))


def load_judge(name_or_path: str, *, base_url: str | None = None, model: str | None = None) -> JudgeConfig:
    path = Path(name_or_path)
    if not (path.suffix in (".yaml", ".yml") and path.is_file()):
        path = CONFIGS_DIR / f"{name_or_path}.yaml"
        if not path.is_file():
            raise InputError(
                f"unknown judge {name_or_path!r}; built-in judges: {', '.join(builtin_judges())} "
                "(or pass a path to a judge YAML)"
            )
    raw = read_yaml(path)
    known = set(JudgeConfig.__dataclass_fields__) - {"source"}
    unknown = sorted(set(raw) - known)
    if unknown:
        raise InputError(f"{path}: unknown judge setting(s) {', '.join(unknown)}")
    for required in ("name", "model", "base_url"):
        if not raw.get(required):
            raise InputError(f"{path}: missing judge setting {required!r}")
    if "prices" in raw:  # the cost cap relies on them: a negative or missing number is refused here
        if not isinstance(raw["prices"], dict):
            raise InputError(f"{path}: prices: expected {{model: {{input: USD, output: USD}}}}")
        raw["prices"] = checked_prices(raw["prices"], f"{path}: prices")
    config = JudgeConfig(**raw, source=str(path.name if path.parent == CONFIGS_DIR else path))
    if base_url:
        config = replace(config, base_url=base_url)
    if model:
        config = replace(config, model=model)
    return config


def _prompt_path(version: str) -> Path | None:
    """The prompt file for a version name, a former name (``aliases:``), or a YAML path."""
    if version.endswith((".yaml", ".yml")):
        return Path(version) if Path(version).is_file() else None
    path = PROMPTS_DIR / f"{version}.yaml"
    if path.is_file():
        return path
    for candidate in sorted(PROMPTS_DIR.glob("*.yaml")):
        if version in (read_yaml(candidate).get("aliases") or []):
            _log.warning(
                "judge prompt %r is now named %r (MT-Bench's template, not the study's; the study's "
                "Fig. 7 prompt is single_v2, the default)",
                version,
                candidate.stem,
            )
            return candidate
    return None


def load_prompt(version: str) -> PromptTemplate:
    path = _prompt_path(version)
    if path is None:
        known = ", ".join(sorted(p.stem for p in PROMPTS_DIR.glob("*.yaml")))
        raise InputError(f"unknown judge prompt {version!r}; available: {known}")
    raw = read_yaml(path)
    try:
        scale = tuple(raw.get("scale") or (1, 5))
        return PromptTemplate(
            version=str(raw["version"]),
            kind=raw["kind"],
            system=raw.get("system"),
            user=raw["user"],
            verdict_pattern=raw["verdict_pattern"],
            scale=(int(scale[0]), int(scale[1])),
            cache_name=str(raw.get("cache_name") or ""),
        )
    except KeyError as err:
        raise InputError(f"{path}: missing prompt field {err.args[0]!r}") from None


def load_prices(path: str | Path | None = None) -> dict[str, dict[str, float]]:
    """Token prices of judge models: the core price table, or the ``--prices`` file given."""
    return token_prices(path)

"""Backends behind one batch interface; :func:`make_backend` builds one from CLI-style options."""

from __future__ import annotations

import os

from nativeval.harness_ext.core.errors import InputError
from nativeval.translate.backends.base import Backend, BatchResult

BACKENDS = ("google", "llm", "hf")

__all__ = ["BACKENDS", "Backend", "BatchResult", "make_backend"]


def make_backend(
    name: str,
    *,
    model: str | None = None,
    base_url: str | None = None,
    api_key_env: str | None = None,
    project: str | None = None,
    google_api: str = "auto",
    prompt: str | None = None,
    batch_size: int = 16,
    device: str | None = None,
) -> Backend:
    if name == "google":
        from nativeval.translate.backends.google import GoogleV2Backend, GoogleV3Backend, api_key_from_env

        key = api_key_from_env(api_key_env)
        if google_api == "v2" or (google_api == "auto" and key):
            if not key:
                raise InputError(
                    "Google v2 needs an API key: set GOOGLE_TRANSLATE_API_KEY (or --api-key-env NAME)"
                )
            return GoogleV2Backend(key, base_url=base_url, model=model or "nmt")
        project = project or os.environ.get("GOOGLE_CLOUD_PROJECT")
        if not project:
            raise InputError(
                "Google translation needs GOOGLE_TRANSLATE_API_KEY (v2) or a project for v3 "
                "(--project or GOOGLE_CLOUD_PROJECT, with Application Default Credentials)"
            )
        return GoogleV3Backend(project, model=model or "nmt", base_url=base_url)
    if name == "llm":
        from nativeval.translate.backends.llm import DEFAULT_PROMPT, LLMBackend

        return LLMBackend(
            model=model,
            base_url=base_url,
            api_key_env=api_key_env or "OPENAI_API_KEY",
            prompt=prompt or DEFAULT_PROMPT,
        )
    if name == "hf":
        from nativeval.translate.backends.hf import HFBackend

        if not model:
            raise InputError(
                "the hf backend needs --model (e.g. facebook/nllb-200-distilled-600M or a local directory)"
            )
        return HFBackend(model, batch_size=batch_size, device=device)
    raise InputError(f"unknown backend {name!r}; choose one of {', '.join(BACKENDS)}")

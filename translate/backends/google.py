"""Google Cloud Translation: v2 REST with an API key (httpx), v3 through google-cloud-translate (ADC).

The API key travels in the ``X-Goog-Api-Key`` header, never in a URL, so it cannot leak into an
error message, a log or a report.
"""

from __future__ import annotations

import asyncio
import os
from typing import Any

import httpx

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.languages import backend_code
from nativeval.harness_ext.core.resilience import TransientError
from nativeval.translate.backends.base import Backend, BatchResult

V2_URL = "https://translation.googleapis.com/language/translate/v2"
API_KEY_ENVS = ("GOOGLE_TRANSLATE_API_KEY", "GOOGLE_API_KEY")


def api_key_from_env(env_name: str | None = None) -> str | None:
    for name in [env_name] if env_name else API_KEY_ENVS:
        if name and os.environ.get(name):
            return os.environ[name]
    return None


class GoogleV2Backend(Backend):
    """Cloud Translation Basic (v2): POST {q: [...], source, target, format: text}."""

    name = "google"
    price_unit = "characters"
    max_batch_segments = 128  # v2 accepts at most 128 q per request
    max_batch_chars = 5000  # Google's recommended maximum per request
    default_concurrency = 8

    def __init__(
        self, api_key: str, *, base_url: str | None = None, model: str = "nmt", timeout: float = 60.0
    ):
        self.model = model
        self.url = (base_url.rstrip("/") + "/language/translate/v2") if base_url else V2_URL
        self._api_key = api_key
        self._timeout = timeout
        self._http: httpx.AsyncClient | None = None

    @property
    def _client(self) -> httpx.AsyncClient:
        # made inside the running event loop, dropped by aclose(): one backend serves several runs
        if self._http is None:
            self._http = httpx.AsyncClient(
                timeout=self._timeout,
                headers={"X-Goog-Api-Key": self._api_key},
                limits=httpx.Limits(max_connections=64),
            )
        return self._http

    async def translate_batch(self, texts: list[str], src: str, tgt: str) -> BatchResult:
        body: dict[str, Any] = {
            "q": texts,
            "source": backend_code(src, "google"),
            "target": backend_code(tgt, "google"),
            "format": "text",
        }
        if self.model not in ("nmt", ""):
            body["model"] = self.model
        response = await self._client.post(self.url, json=body)
        response.raise_for_status()
        try:
            translations = response.json()["data"]["translations"]
            out = [t["translatedText"] for t in translations]
        except (ValueError, KeyError, TypeError) as err:
            raise TransientError(f"unexpected Google v2 reply ({type(err).__name__})") from None
        if len(out) != len(texts):
            raise TransientError(f"Google v2 returned {len(out)} translations for {len(texts)} texts")
        return BatchResult(out, characters=sum(len(t) for t in texts))

    async def aclose(self) -> None:
        if self._http is not None:
            await self._http.aclose()
            self._http = None


class GoogleV3Backend(Backend):
    """Cloud Translation Advanced (v3) through google-cloud-translate (``pip install nativeval[google]``).

    Credentials: Application Default Credentials unless given. ``base_url`` (e.g. a loopback test
    server ``http://127.0.0.1:PORT``) switches to the REST transport against that host.
    """

    name = "google"
    price_unit = "characters"
    max_batch_segments = 1024  # v3 limit per request
    max_batch_chars = 30000  # v3 recommends at most 30k code points per request
    default_concurrency = 8

    def __init__(
        self,
        project: str,
        *,
        location: str = "global",
        model: str = "nmt",
        base_url: str | None = None,
        credentials: Any = None,
        client: Any = None,
    ):
        self.model = model
        self.project = project
        self.location = location
        self._client = client or self._make_client(base_url, credentials)

    @staticmethod
    def _make_client(base_url: str | None, credentials: Any):
        try:
            from google.cloud import translate_v3
        except ImportError:
            raise InputError(
                "the Google v3 backend needs google-cloud-translate: pip install 'nativeval[google]' "
                "(or set GOOGLE_TRANSLATE_API_KEY to use v2 REST)"
            ) from None
        if not base_url:
            return translate_v3.TranslationServiceClient(credentials=credentials)
        from google.cloud.translate_v3.services.translation_service.transports.rest import (
            TranslationServiceRestTransport,
        )

        scheme, _, host = base_url.partition("://")
        transport = TranslationServiceRestTransport(
            host=host.rstrip("/"), credentials=credentials, url_scheme=scheme or "https"
        )
        return translate_v3.TranslationServiceClient(transport=transport)

    def build_request(self, texts: list[str], src: str, tgt: str) -> dict[str, Any]:
        parent = f"projects/{self.project}/locations/{self.location}"
        request = {
            "parent": parent,
            "contents": texts,
            "mime_type": "text/plain",
            "source_language_code": backend_code(src, "google"),
            "target_language_code": backend_code(tgt, "google"),
        }
        if self.model not in ("nmt", ""):
            request["model"] = f"{parent}/models/{self.model}"
        return request

    async def translate_batch(self, texts: list[str], src: str, tgt: str) -> BatchResult:
        request = self.build_request(texts, src, tgt)
        response = await asyncio.to_thread(self._client.translate_text, request=request)
        out = [t.translated_text for t in response.translations]
        if len(out) != len(texts):
            raise TransientError(f"Google v3 returned {len(out)} translations for {len(texts)} texts")
        return BatchResult(out, characters=sum(len(t) for t in texts))

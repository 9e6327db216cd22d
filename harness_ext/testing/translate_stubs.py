"""Loopback stand-ins for the paid translation APIs (tests, benches, offline demos).

- :func:`fake_translate`: a deterministic, lossless "translation" that moves ASCII letters into the
  target language's script (registry ``script``: Han for Hans, Cyrillic for Cyrl), so language checks and
  round trips behave; markers, digits, punctuation and line structure are untouched. It measures nothing.
- :func:`llm_translating_responder`: an :class:`~nativeval.harness_ext.testing.openai_stub.OpenAIStub`
  responder that reads the target language and the text out of the request (either prompt of
  ``translate/prompts``) and fake-translates the text.
- :class:`GoogleTranslateStub`: the :class:`~nativeval.harness_ext.testing.openai_stub.OpenAIStub` loopback
  server speaking Cloud Translation v2 REST and v3 REST (``:translateText``) instead of chat completions.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import Callable
from typing import Any

from nativeval.harness_ext.core.languages import language_table, registry
from nativeval.harness_ext.testing.openai_stub import OpenAIStub

CJK_BASE = 0x4E00  # ASCII letter c <-> chr(CJK_BASE + ord(c))
GOOGLE_TO_CODE = {row["google"]: code for code, row in language_table().items()}


def _to_ascii(ch: str) -> str:
    o = ord(ch)
    if CJK_BASE + ord("A") <= o <= CJK_BASE + ord("z") and chr(o - CJK_BASE).isalpha():
        return chr(o - CJK_BASE)
    if 0x0430 <= o < 0x0430 + 26:
        return chr(o - 0x0430 + 97)
    if 0x0410 <= o < 0x0410 + 26:
        return chr(o - 0x0410 + 65)
    return ch


def fake_translate(text: str, tgt: str) -> str:
    plain = "".join(_to_ascii(c) for c in text)
    script = registry()[tgt].script if tgt in registry() else None
    if script == "Hans":
        return "".join(chr(CJK_BASE + ord(c)) if c.isascii() and c.isalpha() else c for c in plain)
    if script == "Cyrl":
        return "".join(
            chr(0x0430 + ord(c) - 97)
            if "a" <= c <= "z"
            else chr(0x0410 + ord(c) - 65)
            if "A" <= c <= "Z"
            else c
            for c in plain
        )
    return plain


NAME_TO_CODE = {row["name"]: code for code, row in language_table().items()}
TARGET_IN_PROMPT = re.compile(r"into ([A-Z][A-Za-z ]+?)\.")
# the study's prompt (translate/prompts/command_r_fig6.yaml): languages and text in the one user message
FIG6_REQUEST = re.compile(
    r"\APlease translate from [A-Z][A-Za-z ]*? to (?P<tgt>[A-Z][A-Za-z ]*?)\. Do your best to "
    r"preserve the formatting\. The following content should and should only be translated\. "
    r"(?P<text>.*)\Z",
    re.S,
)


def translation_request(request: dict[str, Any]) -> tuple[str, str]:
    """(target language code, text to translate) of a chat request in either prompt of translate/prompts."""
    user = request["messages"][-1]["content"]
    fig6 = FIG6_REQUEST.match(user)
    if fig6:
        return NAME_TO_CODE.get(fig6["tgt"], "en"), fig6["text"]
    match = TARGET_IN_PROMPT.search(request["messages"][0]["content"])
    return (NAME_TO_CODE.get(match.group(1), "en") if match else "en"), user


def llm_translating_responder(request: dict[str, Any]) -> str:
    tgt, text = translation_request(request)
    return fake_translate(text, tgt)


class GoogleTranslateStub(OpenAIStub):
    """``with GoogleTranslateStub() as g:`` then point a backend at ``g.base_url``.

    The loopback server, fault script, latency and request log are :class:`OpenAIStub`'s; only the
    replies differ (Google's paths and bodies, plus a ``Fault("403")``). ``requests`` holds
    ``{"path", "body"}`` per request.
    """

    def __init__(
        self, translate: Callable[[str, str], str] = fake_translate, *, latency: float = 0.0, port: int = 0
    ):
        super().__init__(latency=latency, port=port)
        self.translate = translate

    @property
    def base_url(self) -> str:
        return super().base_url.removesuffix("/v1")

    def _reply(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        path = path.split("?", 1)[0]
        if path.endswith("/language/translate/v2"):
            tgt = GOOGLE_TO_CODE.get(body.get("target", ""), body.get("target"))
            return 200, {
                "data": {"translations": [{"translatedText": self.translate(q, tgt)} for q in body["q"]]}
            }
        if path.endswith(":translateText"):
            code = body.get("targetLanguageCode") or body.get("target_language_code", "")
            tgt = GOOGLE_TO_CODE.get(code, code)
            return 200, {
                "translations": [{"translatedText": self.translate(t, tgt)} for t in body["contents"]]
            }
        return 404, {"error": {"code": 404, "message": "unknown path"}}

    async def _respond(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        try:
            body = json.loads(raw)
        except json.JSONDecodeError:
            return 400, _json({"error": {"code": 400, "message": "bad json"}}), {}
        with self._lock:
            self.requests.append({"path": path, "body": body})
            self.headers_seen.append(dict(headers))
        fault = self._next_fault()
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None:
            if fault.kind == "429":
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return (
                    429,
                    _json({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}),
                    extra,
                )
            if fault.kind == "500":
                return (
                    500,
                    _json({"error": {"code": 500, "message": "backend error", "status": "INTERNAL"}}),
                    {},
                )
            if fault.kind == "403":
                return (
                    403,
                    _json(
                        {
                            "error": {
                                "code": 403,
                                "message": "API key not valid",
                                "status": "PERMISSION_DENIED",
                            }
                        }
                    ),
                    {},
                )
            if fault.kind == "timeout":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "malformed":
                return 200, b'{"data": {"translations": [ nope', {}
        status, reply = self._reply(path, body)
        return status, _json(reply), {}


def _json(obj: Any) -> bytes:
    return json.dumps(obj, ensure_ascii=False).encode("utf-8")

"""Loopback stand-ins for the paid translation APIs (tests, benches, offline demos).

- :func:`fake_translate`: a deterministic, lossless "translation" that moves ASCII letters into the
  target language's script (CJK for zh, Cyrillic for ru/uk), so language checks and round trips
  behave; markers, digits, punctuation and line structure are untouched. It measures nothing.
- :func:`llm_translating_responder`: an :class:`harness_ext.openai_stub.OpenAIStub` responder that
  reads the target language from the system prompt and fake-translates the user message.
- :class:`GoogleTranslateStub`: real HTTP on 127.0.0.1 speaking Cloud Translation v2 REST and v3
  REST (``:translateText``), with scripted faults, latency and a request log.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

from harness_ext.openai_stub import Fault
from translate.languages import language_table

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
    if tgt == "zh":
        return "".join(chr(CJK_BASE + ord(c)) if c.isascii() and c.isalpha() else c for c in plain)
    if tgt in ("ru", "uk"):
        return "".join(
            chr(0x0430 + ord(c) - 97) if "a" <= c <= "z" else chr(0x0410 + ord(c) - 65) if "A" <= c <= "Z" else c
            for c in plain
        )
    return plain


NAME_TO_CODE = {row["name"]: code for code, row in language_table().items()}
TARGET_IN_PROMPT = re.compile(r"into ([A-Z][A-Za-z ]+?)\.")


def llm_translating_responder(request: dict[str, Any]) -> str:
    system = request["messages"][0]["content"]
    match = TARGET_IN_PROMPT.search(system)
    tgt = NAME_TO_CODE.get(match.group(1), "en") if match else "en"
    return fake_translate(request["messages"][-1]["content"], tgt)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512

    def handle_error(self, request, client_address):  # a client that hung up is not news
        pass


class GoogleTranslateStub:
    """``with GoogleTranslateStub() as g:`` then point a backend at ``g.base_url``."""

    def __init__(self, translate: Callable[[str, str], str] = fake_translate, *, latency: float = 0.0):
        self.translate = translate
        self.latency = latency
        self.faults: deque[Fault] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def add_faults(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    def __enter__(self) -> GoogleTranslateStub:
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def __exit__(self, *exc) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _reply(self, path: str, body: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        path = path.split("?", 1)[0]
        if path.endswith("/language/translate/v2"):
            tgt = GOOGLE_TO_CODE.get(body.get("target", ""), body.get("target"))
            return 200, {"data": {"translations": [{"translatedText": self.translate(q, tgt)} for q in body["q"]]}}
        if path.endswith(":translateText"):
            code = body.get("targetLanguageCode") or body.get("target_language_code", "")
            tgt = GOOGLE_TO_CODE.get(code, code)
            return 200, {"translations": [{"translatedText": self.translate(t, tgt)} for t in body["contents"]]}
        return 404, {"error": {"code": 404, "message": "unknown path"}}

    def _handler(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def _send(self, status: int, obj: Any, headers: dict[str, str] | None = None, raw: bytes | None = None):
                data = raw if raw is not None else json.dumps(obj, ensure_ascii=False).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self):
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                try:
                    body = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, {"error": {"code": 400, "message": "bad json"}})
                    return
                with stub._lock:
                    stub.requests.append({"path": self.path, "body": body})
                    stub.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                    fault = stub.faults.popleft() if stub.faults else None
                if stub.latency:
                    time.sleep(stub.latency)
                if fault is not None:
                    if fault.kind == "429":
                        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                        self._send(429, {"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}}, headers)
                        return
                    if fault.kind == "500":
                        self._send(500, {"error": {"code": 500, "message": "backend error", "status": "INTERNAL"}})
                        return
                    if fault.kind == "403":
                        self._send(403, {"error": {"code": 403, "message": "API key not valid", "status": "PERMISSION_DENIED"}})
                        return
                    if fault.kind == "timeout":
                        time.sleep(fault.seconds)
                    elif fault.kind == "malformed":
                        self._send(200, None, raw=b'{"data": {"translations": [ nope')
                        return
                status, reply = stub._reply(self.path, body)
                self._send(status, reply)

        return Handler

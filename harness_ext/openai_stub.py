"""A loopback OpenAI-compatible chat server: real HTTP on 127.0.0.1 with scripted replies and faults.

It stands in for paid APIs in tests, benchmarks and the offline demo, so the real ``openai``
client code runs end to end, failures included. Faults are scripted per request, in order:
``Fault("429", retry_after=1)``, ``Fault("500")``, ``Fault("timeout", seconds=5)``,
``Fault("malformed")`` (a 200 with a body that is not JSON), ``Fault("empty")`` (no choices).

Run standalone (the demo's stand-in judge): ``python -m harness_ext.openai_stub --port 8765``.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

Responder = Callable[[dict[str, Any]], str]


@dataclass
class Fault:
    kind: str  # "429" | "500" | "timeout" | "malformed" | "empty"
    retry_after: float | None = None
    seconds: float = 5.0


def echo_responder(request: dict[str, Any]) -> str:
    """Reply with the last user message (handy for plumbing tests)."""
    return request["messages"][-1]["content"]


def deterministic_judge(request: dict[str, Any]) -> str:
    """A stand-in judge: a stable 1-5 rating from the judged answer's length and a hash, in the
    study's verdict format. Labelled as a stand-in wherever the demo shows it; it measures nothing."""
    prompt = request["messages"][-1]["content"]
    match = re.search(r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", prompt, re.S)
    answer = (match.group(1) if match else prompt).strip()
    digest = int(hashlib.sha256(answer.encode("utf-8")).hexdigest(), 16)
    rating = 1 if not answer else min(5, 1 + len(answer) // 80 + digest % 2)
    return f"Stand-in judge (deterministic, not a real model). Rating: [[{rating}]]"


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 512  # a burst of concurrent clients must not be reset at the listen backlog

    def handle_error(self, request, client_address):  # a client that hung up is not news
        pass


class OpenAIStub:
    """Start with ``with OpenAIStub(...) as stub:``; point clients at ``stub.base_url``."""

    def __init__(
        self,
        responder: Responder = echo_responder,
        *,
        latency: float = 0.0,
        host: str = "127.0.0.1",
        port: int = 0,
        model: str = "stub-model",
    ):
        self.responder = responder
        self.latency = latency
        self.model = model
        self.faults: deque[Fault] = deque()
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._server = _Server((host, port), self._handler_class())
        self._thread: threading.Thread | None = None

    # --- scripting --------------------------------------------------------------------------------
    def add_faults(self, *faults: Fault) -> None:
        with self._lock:
            self.faults.extend(faults)

    @property
    def request_count(self) -> int:
        with self._lock:
            return len(self.requests)

    @property
    def base_url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> OpenAIStub:
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    # --- HTTP -------------------------------------------------------------------------------------
    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.popleft() if self.faults else None

    def _handler_class(self):
        stub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):  # keep test output clean
                pass

            def _send(self, status: int, body: bytes, headers: dict[str, str] | None = None):
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                for k, v in (headers or {}).items():
                    self.send_header(k, v)
                self.end_headers()
                self.wfile.write(body)

            def do_GET(self):
                if self.path.rstrip("/").endswith("/models"):
                    self._send(200, json.dumps({"object": "list", "data": [{"id": stub.model, "object": "model"}]}).encode())
                else:
                    self._send(404, b'{"error": {"message": "not found"}}')

            def do_POST(self):
                length = int(self.headers.get("Content-Length", 0))
                raw = self.rfile.read(length)
                try:
                    request = json.loads(raw)
                except json.JSONDecodeError:
                    self._send(400, b'{"error": {"message": "bad json"}}')
                    return
                with stub._lock:
                    stub.requests.append(request)
                    stub.headers_seen.append({k.lower(): v for k, v in self.headers.items()})
                if not self.path.rstrip("/").endswith("/chat/completions"):
                    self._send(404, b'{"error": {"message": "unknown path"}}')
                    return
                fault = stub._next_fault()
                if stub.latency:
                    time.sleep(stub.latency)
                if fault is not None:
                    if fault.kind == "429":
                        headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                        self._send(429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}', headers)
                        return
                    if fault.kind == "500":
                        self._send(500, b'{"error": {"message": "internal error"}}')
                        return
                    if fault.kind == "timeout":
                        time.sleep(fault.seconds)
                    elif fault.kind == "malformed":
                        self._send(200, b'{"id": "x", "choices": [ this is not json')
                        return
                    elif fault.kind == "empty":
                        self._send(200, json.dumps({"id": "x", "object": "chat.completion", "created": 0,
                                                    "model": request.get("model", stub.model), "choices": []}).encode())
                        return
                text = stub.responder(request)
                prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
                completion_tokens = len(text.split())
                body = {
                    "id": f"chatcmpl-{len(stub.requests)}",
                    "object": "chat.completion",
                    "created": int(time.time()),
                    "model": request.get("model", stub.model),
                    "system_fingerprint": "fp_stub",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": text}}],
                    "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
                              "total_tokens": prompt_tokens + completion_tokens},
                }
                self._send(200, json.dumps(body, ensure_ascii=False).encode("utf-8"))

        return Handler


RESPONDERS: dict[str, Responder] = {"echo": echo_responder, "judge": deterministic_judge}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, default=8765)
    parser.add_argument("--responder", choices=sorted(RESPONDERS), default="judge")
    parser.add_argument("--latency", type=float, default=0.0)
    args = parser.parse_args()
    stub = OpenAIStub(RESPONDERS[args.responder], latency=args.latency, port=args.port).start()
    print(f"stand-in OpenAI-compatible server on {stub.base_url}", flush=True)
    try:
        while True:
            time.sleep(3600)
    except KeyboardInterrupt:
        stub.stop()


if __name__ == "__main__":
    main()

"""A loopback OpenAI-compatible chat server: real HTTP on 127.0.0.1 with scripted replies and faults.

It stands in for paid APIs in tests, benchmarks and the offline demo, so the real ``openai``
client code runs end to end, failures included. Faults are scripted per request, in order:
``Fault("429", retry_after=1)``, ``Fault("500")``, ``Fault("timeout", seconds=5)``,
``Fault("malformed")`` (a 200 with a body that is not JSON), ``Fault("empty")`` (no choices),
``Fault("ok")`` (a normal reply: places later faults further down the sequence).

Run standalone: ``python -m nativeval.harness_ext.testing serve judge --port 8765`` (testing/entry_point.py).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

Responder = Callable[[dict[str, Any]], str]


@dataclass
class Fault:
    kind: str  # "429" | "500" | "timeout" | "malformed" | "empty" | "ok"
    retry_after: float | None = None
    seconds: float = 5.0


def echo_responder(request: dict[str, Any]) -> str:
    """Reply with the last user message (handy for plumbing tests)."""
    return request["messages"][-1]["content"]


# The judged answer in the two single-answer judge templates (harness_ext/judge/configs/prompts): the study's
# Fig. 7 (single_v2: the response is everything after the `[Response]` line) and MT-Bench's (between markers).
_FIG7_RESPONSE = re.compile(r"\n\[User Instruction\]\n.*?\n\[Response\]\n(.*)\Z", re.S)
_MTBENCH_ANSWER = re.compile(
    r"\[The Start of Assistant's Answer\]\n(.*?)\n\[The End of Assistant's Answer\]", re.S
)


def judged_answer(request: dict[str, Any]) -> str:
    """The answer a single-answer judge request asks about ("" when the prompt is neither template)."""
    prompt = request["messages"][-1]["content"]
    match = _FIG7_RESPONSE.search(prompt) or _MTBENCH_ANSWER.search(prompt)
    return match.group(1) if match else ""


def deterministic_judge(request: dict[str, Any]) -> str:
    """A stand-in judge: a stable 1-5 rating from a hash of the judged answer (1 for an empty one), in
    the study's verdict format. Labelled as a stand-in wherever the demo shows it; it measures nothing."""
    answer = judged_answer(request).strip()
    digest = int(hashlib.sha256(answer.encode("utf-8")).hexdigest(), 16)
    rating = 1 + digest % 5 if answer else 1
    return f"Stand-in judge (deterministic, not a real model). Rating: [[{rating}]]"


_REASONS = {
    200: "OK",
    400: "Bad Request",
    404: "Not Found",
    429: "Too Many Requests",
    500: "Internal Server Error",
}


class OpenAIStub:
    """Start with ``with OpenAIStub(...) as stub:``; point clients at ``stub.base_url``.

    The server is an asyncio HTTP/1.1 server (keep-alive) on its own thread and event loop, so
    simulated latency costs no thread per request and a burst of concurrent clients is served at
    the scripted latency rather than at the speed of a thread pool fighting over the GIL.
    """

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
        self.paused = False  # while True, requests are received and counted but not answered
        self.requests: list[dict[str, Any]] = []
        self.headers_seen: list[dict[str, str]] = []
        self._lock = threading.Lock()
        self._host = host
        self._port = port
        self._address: tuple[str, int] | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._server: asyncio.AbstractServer | None = None
        self._thread: threading.Thread | None = None
        self._started = threading.Event()
        self._start_error: BaseException | None = None

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
        if self._address is None:
            raise RuntimeError("OpenAIStub is not started")
        host, port = self._address
        return f"http://{host}:{port}/v1"

    # --- lifecycle --------------------------------------------------------------------------------
    def start(self) -> OpenAIStub:
        self._thread = threading.Thread(target=self._serve, name="openai-stub", daemon=True)
        self._thread.start()
        self._started.wait()
        if self._start_error is not None:
            raise self._start_error
        return self

    def stop(self) -> None:
        loop, server = self._loop, self._server
        if loop is None or server is None:
            return

        async def shutdown() -> None:
            server.close()
            for task in [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]:
                task.cancel()

        asyncio.run_coroutine_threadsafe(shutdown(), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._loop = self._server = None

    def __enter__(self) -> OpenAIStub:
        return self.start()

    def __exit__(self, *exc) -> None:
        self.stop()

    def _serve(self) -> None:
        loop = asyncio.new_event_loop()
        self._loop = loop
        try:
            self._server = loop.run_until_complete(
                asyncio.start_server(self._handle_connection, self._host, self._port, backlog=1024)
            )
            self._address = self._server.sockets[0].getsockname()[:2]
        except BaseException as err:  # e.g. port in use: re-raised in start()
            self._start_error = err
            self._started.set()
            loop.close()
            return
        self._started.set()
        try:
            loop.run_forever()
        finally:
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    # --- HTTP -------------------------------------------------------------------------------------
    def _next_fault(self) -> Fault | None:
        with self._lock:
            return self.faults.popleft() if self.faults else None

    async def _handle_connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                try:
                    head = await reader.readuntil(b"\r\n\r\n")
                except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
                    return
                lines = head.decode("latin-1").split("\r\n")
                parts = lines[0].split(" ")
                if len(parts) < 2:
                    return
                method, path = parts[0], parts[1]
                headers: dict[str, str] = {}
                for line in lines[1:]:
                    if ":" in line:
                        key, value = line.split(":", 1)
                        headers[key.strip().lower()] = value.strip()
                body = await reader.readexactly(int(headers.get("content-length", "0") or 0))
                status, payload, extra = await self._respond(method, path, headers, body)
                reply = [
                    f"HTTP/1.1 {status} {_REASONS.get(status, 'Status')}",
                    "Content-Type: application/json",
                    f"Content-Length: {len(payload)}",
                ]
                reply += [f"{k}: {v}" for k, v in extra.items()]
                writer.write(("\r\n".join(reply) + "\r\n\r\n").encode("latin-1") + payload)
                await writer.drain()
                if headers.get("connection", "").lower() == "close":
                    return
        except (ConnectionError, asyncio.IncompleteReadError, asyncio.CancelledError):
            return
        finally:
            writer.close()

    async def _respond(
        self, method: str, path: str, headers: dict[str, str], raw: bytes
    ) -> tuple[int, bytes, dict[str, str]]:
        path = path.split("?", 1)[0].rstrip("/")
        if method == "GET":
            if path.endswith("/stub/stats"):  # for benchmarks that run the stub in another process
                return 200, json.dumps({"requests": self.request_count}).encode(), {}
            if path.endswith("/models"):
                return (
                    200,
                    json.dumps({"object": "list", "data": [{"id": self.model, "object": "model"}]}).encode(),
                    {},
                )
            return 404, b'{"error": {"message": "not found"}}', {}
        try:
            request = json.loads(raw)
        except json.JSONDecodeError:
            return 400, b'{"error": {"message": "bad json"}}', {}
        with self._lock:
            self.requests.append(request)
            self.headers_seen.append(dict(headers))
            number = len(self.requests)
        if not path.endswith("/chat/completions"):
            return 404, b'{"error": {"message": "unknown path"}}', {}
        while self.paused:
            await asyncio.sleep(0.01)
        fault = self._next_fault()
        if self.latency:
            await asyncio.sleep(self.latency)
        if fault is not None:
            if fault.kind == "429":
                extra = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
                return 429, b'{"error": {"message": "rate limited", "type": "rate_limit"}}', extra
            if fault.kind == "500":
                return 500, b'{"error": {"message": "internal error"}}', {}
            if fault.kind == "timeout":
                await asyncio.sleep(fault.seconds)
            elif fault.kind == "malformed":
                return 200, b'{"id": "x", "choices": [ this is not json', {}
            elif fault.kind == "empty":
                return (
                    200,
                    json.dumps(
                        {
                            "id": "x",
                            "object": "chat.completion",
                            "created": 0,
                            "model": request.get("model", self.model),
                            "choices": [],
                        }
                    ).encode(),
                    {},
                )
        text = self.responder(request)
        prompt_tokens = sum(len(str(m.get("content", "")).split()) for m in request.get("messages", []))
        completion_tokens = len(text.split())
        body = {
            "id": f"chatcmpl-{number}",
            "object": "chat.completion",
            "created": int(time.time()),
            "model": request.get("model", self.model),
            "system_fingerprint": "fp_stub",
            "choices": [
                {"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": text}}
            ],
            "usage": {
                "prompt_tokens": prompt_tokens,
                "completion_tokens": completion_tokens,
                "total_tokens": prompt_tokens + completion_tokens,
            },
        }
        return 200, json.dumps(body, ensure_ascii=False).encode("utf-8"), {}

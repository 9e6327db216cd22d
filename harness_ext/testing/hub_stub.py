"""A loopback stand-in for the Hugging Face Hub's dataset endpoints, for the real `datasets` and
`huggingface_hub` clients (point them at it with ``HF_ENDPOINT``; set before they are imported).

It serves in-memory dataset repos at given commits and branch names, through the endpoints those clients
call when ``datasets.load_dataset(repo, config, split=..., revision=...)`` runs (logged by :attr:`requests`):

* ``GET  /api/datasets/<id>/revision/<rev>``       repo info at a revision (sha, files)
* ``GET  /api/datasets/<id>/tree/<rev>[/<path>]``  file listing (``recursive``, ``expand``)
* ``POST /api/datasets/<id>/paths-info/<rev>``     info on given paths
* ``HEAD|GET /datasets/<id>/resolve/<rev>/<path>`` file download (ETag, X-Repo-Commit, Range)

A revision is a 40-hex commit or a ref (``main``, ``refs/convert/parquet``) mapped to one; anything else
answers 404 the way the Hub does (``X-Error-Code: RevisionNotFound`` / ``EntryNotFound``).

    with HubStub() as hub:
        sha = hub.add_commit("org/data", {"README.md": b"...", "test/0000.parquet": data}, refs=["main"])
        env = {"HF_ENDPOINT": hub.endpoint}
"""

from __future__ import annotations

import hashlib
import io
import json
import threading
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, unquote, urlsplit

import pyarrow as pa
import pyarrow.parquet as pq


def parquet_bytes(rows: list[dict[str, Any]]) -> bytes:
    """Rows as one parquet file (the format of the Hub's parquet export and of most dataset repos)."""
    buffer = io.BytesIO()
    pq.write_table(pa.Table.from_pylist(rows), buffer)
    return buffer.getvalue()


@dataclass
class _Repo:
    commits: dict[str, dict[str, bytes]] = field(default_factory=dict)
    refs: dict[str, str] = field(default_factory=dict)

    def resolve(self, revision: str) -> str | None:
        if revision in self.commits:
            return revision
        return self.refs.get(revision)


class HubStub:
    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self._repos: dict[str, _Repo] = {}
        self.requests: list[tuple[str, str]] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer((host, port), self._handler_class())
        self._server.daemon_threads = True
        self._thread: threading.Thread | None = None

    # --- content -----------------------------------------------------------------------------------
    def add_commit(
        self, repo_id: str, files: dict[str, bytes], refs: tuple[str, ...] | list[str] = ()
    ) -> str:
        """Store ``files`` as one commit of ``repo_id`` that ``refs`` (branch names) point at; its sha."""
        digest = hashlib.sha1(repo_id.encode())
        for path in sorted(files):
            digest.update(path.encode() + b"\0" + files[path])
        sha = digest.hexdigest()
        with self._lock:
            repo = self._repos.setdefault(repo_id, _Repo())
            repo.commits[sha] = dict(files)
            for ref in refs:
                repo.refs[ref] = sha
        return sha

    @property
    def endpoint(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    # --- lifecycle ---------------------------------------------------------------------------------
    def start(self) -> HubStub:
        self._thread = threading.Thread(target=self._server.serve_forever, name="hub-stub", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def __enter__(self) -> HubStub:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- lookups -----------------------------------------------------------------------------------
    def _files(self, repo_id: str, revision: str) -> tuple[str, dict[str, bytes]] | None:
        with self._lock:
            repo = self._repos.get(repo_id)
            sha = repo.resolve(revision) if repo else None
            return (sha, repo.commits[sha]) if sha else None

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        stub = self

        class Handler(_Handler):
            hub = stub

        return Handler


def _entries(files: dict[str, bytes], prefix: str, recursive: bool) -> list[dict[str, Any]]:
    prefix = prefix.strip("/")
    base = f"{prefix}/" if prefix else ""
    out: dict[str, dict[str, Any]] = {}
    for path, content in sorted(files.items()):
        if not path.startswith(base):
            continue
        rest = path[len(base) :]
        if "/" in rest and not recursive:
            directory = base + rest.split("/", 1)[0]
            out.setdefault(
                directory, {"type": "directory", "path": directory, "oid": _oid(directory.encode())}
            )
            continue
        if recursive:
            parts = rest.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                directory = base + "/".join(parts[:depth])
                out.setdefault(
                    directory, {"type": "directory", "path": directory, "oid": _oid(directory.encode())}
                )
        out[path] = _file_entry(path, content)
    return list(out.values())


def _file_entry(path: str, content: bytes) -> dict[str, Any]:
    return {"type": "file", "path": path, "size": len(content), "oid": _oid(content)}


def _oid(content: bytes) -> str:
    return hashlib.sha1(b"blob %d\0" % len(content) + content).hexdigest()


class _Handler(BaseHTTPRequestHandler):
    hub: HubStub
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's signature
        return

    # routing: /api/datasets/<org>/<name>/<verb>/<rev...>  and  /datasets/<org>/<name>/resolve/<rev>/<path>
    def _route(self, method: str) -> None:
        url = urlsplit(self.path)
        path = unquote(url.path)
        with self.hub._lock:
            self.hub.requests.append((method, self.path))
        parts = path.strip("/").split("/")
        if len(parts) >= 5 and parts[0] == "api" and parts[1] == "datasets":
            repo_id, verb, rest = f"{parts[2]}/{parts[3]}", parts[4], "/".join(parts[5:])
            query = parse_qs(url.query)
            if verb == "revision" and method == "GET":
                return self._repo_info(repo_id, rest)
            if verb == "tree" and method == "GET":
                return self._tree(repo_id, rest, recursive=query.get("recursive", ["false"])[0] == "true")
            if verb == "paths-info" and method == "POST":
                return self._paths_info(repo_id, rest)
        if len(parts) >= 5 and parts[0] == "datasets" and parts[3] == "resolve":
            return self._resolve(method, f"{parts[1]}/{parts[2]}", "/".join(parts[4:]))
        self._json(404, {"error": f"not served by HubStub: {method} {path}"})

    def do_GET(self) -> None:  # noqa: N802 - BaseHTTPRequestHandler's naming
        self._route("GET")

    def do_HEAD(self) -> None:  # noqa: N802
        self._route("HEAD")

    def do_POST(self) -> None:  # noqa: N802
        self._route("POST")

    # --- answers -----------------------------------------------------------------------------------
    def _split_revision(self, repo_id: str, rest: str) -> tuple[str, str, dict[str, bytes]] | None:
        """The longest leading part of ``rest`` that is a known revision (refs contain slashes)."""
        parts = rest.split("/") if rest else []
        for cut in range(len(parts), 0, -1):
            found = self.hub._files(repo_id, "/".join(parts[:cut]))
            if found:
                return found[0], "/".join(parts[cut:]), found[1]
        return None

    def _repo_info(self, repo_id: str, revision: str) -> None:
        found = self.hub._files(repo_id, revision)
        if found is None:
            return self._not_found("RevisionNotFound", f"{repo_id}@{revision}")
        sha, files = found
        self._json(
            200,
            {
                "id": repo_id,
                "sha": sha,
                "private": False,
                "disabled": False,
                "gated": False,
                "downloads": 0,
                "likes": 0,
                "tags": [],
                "cardData": {},
                "lastModified": "2026-01-01T00:00:00.000Z",
                "createdAt": "2026-01-01T00:00:00.000Z",
                "siblings": [{"rfilename": p} for p in sorted(files)],
            },
        )

    def _tree(self, repo_id: str, rest: str, recursive: bool) -> None:
        found = self._split_revision(repo_id, rest)
        if found is None:
            return self._not_found("RevisionNotFound", f"{repo_id}@{rest}")
        _, prefix, files = found
        entries = _entries(files, prefix, recursive)
        if prefix and not entries:
            return self._not_found("EntryNotFound", f"{repo_id}/{prefix}")
        self._json(200, entries)

    def _paths_info(self, repo_id: str, revision: str) -> None:
        found = self.hub._files(repo_id, revision)
        if found is None:
            return self._not_found("RevisionNotFound", f"{repo_id}@{revision}")
        _, files = found
        length = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(length).decode()
        if "json" in (self.headers.get("Content-Type") or ""):
            paths = json.loads(body or "{}").get("paths", [])
        else:
            paths = parse_qs(body).get("paths", [])
        out = []
        for path in paths:
            if path in files:
                out.append(_file_entry(path, files[path]))
            elif any(p.startswith(path.rstrip("/") + "/") for p in files):
                out.append({"type": "directory", "path": path, "oid": _oid(path.encode())})
        self._json(200, out)

    def _resolve(self, method: str, repo_id: str, rest: str) -> None:
        found = self._split_revision(repo_id, rest)
        if found is None:
            return self._not_found("RevisionNotFound", f"{repo_id}@{rest}")
        sha, path, files = found
        if path not in files:
            return self._not_found("EntryNotFound", f"{repo_id}/{path}")
        content = files[path]
        start, end = 0, len(content)
        status = 200
        ranged = self.headers.get("Range")
        if ranged and ranged.startswith("bytes="):
            first, _, last = ranged[len("bytes=") :].partition("-")
            start = int(first or 0)
            end = min(len(content), int(last) + 1) if last else len(content)
            status = 206
        body = content[start:end]
        self.send_response(status)
        self.send_header("Content-Type", "application/octet-stream")
        self.send_header("Content-Length", str(len(body)))
        self.send_header("ETag", f'"{_oid(content)}"')
        self.send_header("X-Repo-Commit", sha)
        self.send_header("Accept-Ranges", "bytes")
        if status == 206:
            self.send_header("Content-Range", f"bytes {start}-{end - 1}/{len(content)}")
        self.end_headers()
        if method != "HEAD":
            self.wfile.write(body)

    def _not_found(self, code: str, what: str) -> None:
        self._json(404, {"error": f"{code}: {what}"}, extra={"X-Error-Code": code})

    def _json(self, status: int, payload: Any, extra: dict[str, str] | None = None) -> None:
        body = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

"""A persistent, crash-safe key-value cache shared by concurrent processes: each item is paid for once.

Keys are built from their parts (model, prompt version, text, ...) and hashed, so a rerun of the
same work reads the cache instead of calling (and paying for) a remote API again. Values are JSON.

Several processes may share one cache file — threads of one job, jobs on one machine, or array tasks on
several cluster nodes over NFS/Lustre. Two things make that safe:

- **Claims.** Before sending a request a worker takes a claim on the item's key (a row: owner, host,
  pid, expiry) in the same transaction that checks the value is still missing. Others see the claim and
  wait for the value instead of sending the request too. A claim ends when its value is written, when
  its owner releases it or closes the cache, when it expires (``claim_ttl`` seconds, for an owner on
  another host that died), or at once when its owner is a dead process on this host.
- **No WAL.** SQLite's WAL mode keeps its index in shared memory, which does not work across the hosts
  of a network file system. The cache uses the rollback journal (``journal_mode=DELETE``), which needs
  only POSIX advisory locks (NFSv4, NFSv3 with lockd, Lustre mounted with ``flock``), ``synchronous=FULL``,
  and a long busy timeout; every write is one short ``BEGIN IMMEDIATE`` transaction. Where the file
  system has no working locks (Lustre ``localflock``/``noflock``), give every process its own cache file.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import socket
import sqlite3
import threading
import time
import uuid
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError, NativevalError, WriteFailed
from nativeval.harness_ext.core.processes import pid_alive

BUSY_TIMEOUT_S = 300.0
DEFAULT_CLAIM_TTL_S = 900.0


def cache_key(*parts: Any) -> str:
    """A stable key for ``parts`` (any JSON-serialisable values)."""
    blob = json.dumps(parts, ensure_ascii=False, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(blob.encode("utf-8")).hexdigest()


def cache_error(path: Path | None, err: sqlite3.DatabaseError) -> NativevalError:
    """An SQLite failure of the cache file as one line: which file, what is wrong, what to do."""
    text = str(err)
    if "locked" in text:
        return NativevalError(
            f"{path}: the cache stayed locked by another process for {BUSY_TIMEOUT_S:.0f} s ({text}); "
            "wait for it, or give this job its own cache file"
        )
    if "full" in text or "disk I/O" in text:
        return WriteFailed(f"{path}: cannot write the cache ({text}); free space or move the cache elsewhere")
    if "unable to open" in text or "readonly" in text:
        return InputError(
            f"{path}: cannot open the cache for writing ({text}); make its folder writable or "
            "pass another cache file"
        )
    return InputError(
        f"{path}: not a usable SQLite cache ({text}); delete the file (its items are computed "
        "again) or pass another cache file"
    )


class KVCache:
    """``get``/``put`` JSON values by key in an SQLite file; ``path=None`` keeps it in memory.

    ``claim``/``release`` coordinate concurrent writers so that each missing item is computed once."""

    def __init__(self, path: str | Path | None, *, claim_ttl: float = DEFAULT_CLAIM_TTL_S):
        self.path = Path(path) if path else None
        self.claim_ttl = claim_ttl
        self.host = socket.gethostname()
        self.owner = f"{self.host}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
        if self.path:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as err:
                raise InputError(
                    f"{self.path}: cannot create the cache's folder ({err.strerror or err}); "
                    "pass another cache file"
                ) from None
        self._lock = threading.Lock()
        with self._guard():
            self._conn = sqlite3.connect(
                str(self.path) if self.path else ":memory:",
                timeout=BUSY_TIMEOUT_S,
                isolation_level=None,
                check_same_thread=False,
            )
            with self._lock:
                if self.path:
                    self._conn.execute("PRAGMA journal_mode=DELETE")
                    self._conn.execute("PRAGMA synchronous=FULL")
                with self._transaction():
                    self._conn.execute("CREATE TABLE IF NOT EXISTS kv (k TEXT PRIMARY KEY, v TEXT NOT NULL)")
                    self._conn.execute(
                        "CREATE TABLE IF NOT EXISTS claims (k TEXT PRIMARY KEY, owner TEXT NOT NULL, "
                        "host TEXT NOT NULL, pid INTEGER NOT NULL, expires REAL NOT NULL)"
                    )

    @contextlib.contextmanager
    def _guard(self):
        try:
            yield
        except sqlite3.DatabaseError as err:
            raise cache_error(self.path, err) from None

    class _Txn:
        def __init__(self, conn: sqlite3.Connection):
            self.conn = conn

        def __enter__(self):
            self.conn.execute("BEGIN IMMEDIATE")
            return self.conn

        def __exit__(self, exc_type, *exc):
            self.conn.execute("ROLLBACK" if exc_type else "COMMIT")

    def _transaction(self) -> KVCache._Txn:
        return KVCache._Txn(self._conn)

    def get(self, key: str) -> Any | None:
        with self._guard(), self._lock:
            row = self._conn.execute("SELECT v FROM kv WHERE k = ?", (key,)).fetchone()
        return json.loads(row[0]) if row else None

    def __contains__(self, key: str) -> bool:
        with self._guard(), self._lock:
            return self._conn.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone() is not None

    def put(self, key: str, value: Any) -> None:
        self.put_many([(key, value)])

    def put_many(self, items: Iterable[tuple[str, Any]]) -> None:
        """Write several values (and end their claims) in one transaction."""
        rows = [(key, json.dumps(value, ensure_ascii=False)) for key, value in items]
        if not rows:
            return
        with self._guard(), self._lock, self._transaction() as conn:
            conn.executemany("INSERT OR REPLACE INTO kv (k, v) VALUES (?, ?)", rows)
            conn.executemany("DELETE FROM claims WHERE k = ?", [(k,) for k, _ in rows])

    def claim(self, key: str) -> bool:
        """True when this cache object now owns ``key`` and should compute it; False when the value exists
        or a live owner holds the claim (then wait and look again)."""
        now = time.time()
        with self._guard(), self._lock, self._transaction() as conn:
            if conn.execute("SELECT 1 FROM kv WHERE k = ?", (key,)).fetchone():
                return False
            row = conn.execute("SELECT owner, host, pid, expires FROM claims WHERE k = ?", (key,)).fetchone()
            if (
                row
                and row[0] != self.owner
                and row[3] > now
                and not (row[1] == self.host and not pid_alive(row[2]))
            ):
                return False
            conn.execute(
                "INSERT OR REPLACE INTO claims (k, owner, host, pid, expires) VALUES (?, ?, ?, ?, ?)",
                (key, self.owner, self.host, os.getpid(), now + self.claim_ttl),
            )
            return True

    def release(self, key: str) -> None:
        """Give up a claim without a value (the work failed); another process may take it over."""
        with self._guard(), self._lock, self._transaction() as conn:
            conn.execute("DELETE FROM claims WHERE k = ? AND owner = ?", (key, self.owner))

    def __len__(self) -> int:
        with self._guard(), self._lock:
            return self._conn.execute("SELECT COUNT(*) FROM kv").fetchone()[0]

    def close(self) -> None:
        with self._guard(), self._lock:
            try:
                with self._transaction() as conn:
                    conn.execute("DELETE FROM claims WHERE owner = ?", (self.owner,))
            finally:
                self._conn.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()

"""The lock of one step: held by the runner and by the step's process, so a step never runs twice at once."""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import socket
import time
from contextlib import contextmanager
from pathlib import Path

from nativeval.harness_ext.study.processes import group_alive
from nativeval.harness_ext.study.step import Step


class StepBusy(Exception):
    def __init__(self, pid: int | None):
        self.pid = pid


class StepLock:
    """An exclusive lock on one step, held by the runner and by the step's child process.

    The lock file records the child's pid (= its process group). A step counts as running while the lock
    is held or while any process of the recorded group lives (a grandchild the kill left behind)."""

    def __init__(self, path: Path):
        self.path = path
        self._fh = open(path, "a+", encoding="utf-8")  # noqa: SIM115 - held open for as long as the lock

    def fileno(self) -> int:
        return self._fh.fileno()

    def recorded(self) -> dict:
        self._fh.seek(0)
        try:
            data = json.loads(self._fh.read() or "{}")
        except ValueError:
            return {}
        return data if isinstance(data, dict) else {}

    def acquire(self) -> None:
        try:
            fcntl.flock(self._fh, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise StepBusy(self.recorded().get("pid")) from None
        previous = self.recorded()
        pgid = previous.get("pgid")
        if isinstance(pgid, int) and previous.get("host") == socket.gethostname() and group_alive(pgid):
            fcntl.flock(self._fh, fcntl.LOCK_UN)
            raise StepBusy(previous.get("pid"))
        self._write({})

    def record(self, pid: int) -> None:
        self._write(
            {
                "pid": pid,
                "pgid": pid,
                "host": socket.gethostname(),
                "runner": os.getpid(),
                "started": time.time(),
            }
        )

    def _write(self, data: dict) -> None:
        self._fh.seek(0)
        self._fh.truncate()
        self._fh.write(json.dumps(data) if data else "")
        self._fh.flush()

    def release(self) -> None:
        with contextlib.suppress(OSError, ValueError):
            self._write({})
            fcntl.flock(self._fh, fcntl.LOCK_UN)
        self.close()

    def close(self) -> None:
        self._fh.close()


@contextmanager
def step_lock(lock_dir: Path, step: Step):
    """The step's lock, held until the block ends; a StepBusy instead when another process holds it."""
    lock_dir.mkdir(parents=True, exist_ok=True)
    lock = StepLock(lock_dir / f"{step.slug}.lock")
    try:
        lock.acquire()
    except StepBusy as busy:
        lock.close()
        yield busy
        return
    try:
        yield lock
    finally:
        lock.release()

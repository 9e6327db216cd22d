"""A step's processes: started in a group of their own, tied to the runner's life, ended as a whole.

A step's command runs as a child in its own process group; it dies with the runner (SIGTERM/SIGINT
handlers, ``PR_SET_PDEATHSIG`` for a SIGKILL), and when it ends, any process it left in its group is ended
too, so nothing of a step outlives the step. The stand-in servers (study/stand_ins.py) start the same way.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path
from typing import Protocol

Executor = Callable[[list[str], dict[str, str], Path], int]  # argv, environment, log file -> exit status


class HeldLock(Protocol):
    """A lock the child inherits (study/locks.py's StepLock): its file descriptor, and the child's pid."""

    def fileno(self) -> int: ...

    def record(self, pid: int) -> None: ...


PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 10.0  # after SIGTERM, before SIGKILL


def die_with_parent(parent: int) -> Callable[[], None]:
    """For ``preexec_fn``: on Linux the child gets SIGTERM when the runner dies, even by SIGKILL."""

    prctl = None
    if sys.platform.startswith("linux"):  # looked up here: no dynamic loading between fork and exec
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            prctl = ctypes.CDLL(None, use_errno=True).prctl

    def arm() -> None:
        if prctl is not None:
            prctl(PR_SET_PDEATHSIG, int(signal.SIGTERM))
        if os.getppid() != parent:  # the runner died before the line above took effect
            os._exit(1)

    return arm


def group_alive(pgid: int) -> bool:
    """Whether a process of group ``pgid`` still runs (zombies, already dead, do not count)."""
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    proc = Path("/proc")
    if not proc.is_dir():
        return True
    for stat in proc.glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def stop_group(pgid: int, grace: float = STOP_GRACE_S) -> None:
    """SIGTERM every process of the group, then SIGKILL what is left after ``grace`` seconds."""
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGTERM)
    deadline = time.monotonic() + grace
    while group_alive(pgid) and time.monotonic() < deadline:
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pgid, signal.SIGKILL)


class SubprocessExecutor:
    """Run a step's command as a child in its own process group; its output goes to the log (and console).

    The child holds the step lock (it inherits the locked file) and dies with the runner (SIGTERM/SIGINT
    handlers here, PR_SET_PDEATHSIG for a SIGKILL); when it ends, any process it left in its group is ended
    too, so nothing of a step outlives the step."""

    def __init__(self, show_output: bool = False):
        self.show_output = show_output
        # prefix streamed lines with the step (the runner sets it when steps run at once)
        self.name_lines = False
        self._children: set[int] = set()  # process groups of the steps running now
        self._guard = threading.Lock()
        self._stopped = False  # after stop_all, a step that starts anyway (a race) is ended at once

    def stop_all(self) -> None:
        """End every running step's process group at once (Ctrl-C, SIGTERM, --fail-fast)."""
        with self._guard:
            self._stopped = True
            groups = list(self._children)
        stoppers = [threading.Thread(target=stop_group, args=(pgid,)) for pgid in groups]
        for thread in stoppers:
            thread.start()
        for thread in stoppers:
            thread.join()

    def __call__(
        self, argv: list[str], env: dict[str, str], log: Path, lock: HeldLock | list[HeldLock] | None = None
    ) -> int:
        locks = lock if isinstance(lock, list) else [lock] if lock else []
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"$ {shlex.join(argv)}\n")
            fh.flush()
            proc = subprocess.Popen(
                argv,
                env=env,
                stdout=subprocess.PIPE if self.show_output else fh,
                stderr=subprocess.STDOUT,
                text=True,
                errors="replace",
                start_new_session=True,
                preexec_fn=die_with_parent(os.getpid()),
                pass_fds=tuple(held.fileno() for held in locks),
            )
            for held in locks:
                held.record(proc.pid)
            with self._guard:
                self._children.add(proc.pid)
                stopped = self._stopped
            if stopped:
                stop_group(proc.pid)
            prefix = f"    [{log.stem}] " if self.name_lines else "    "
            try:
                if self.show_output:
                    for line in proc.stdout:
                        fh.write(line)
                        sys.stdout.write(prefix + line)
                        sys.stdout.flush()
                return proc.wait()
            finally:  # Ctrl-C, SIGTERM or an error here: end the whole step, then let the caller see why
                if proc.poll() is None or group_alive(proc.pid):
                    stop_group(proc.pid)
                proc.wait()
                with self._guard:
                    self._children.discard(proc.pid)


def subprocess_executor(show_output: bool = False) -> Executor:
    return SubprocessExecutor(show_output)


class RunnerStopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP reached the runner: like Ctrl-C, the running step's processes are ended first."""


@contextmanager
def stop_on_signals():
    """SIGTERM ends the runner like Ctrl-C does: the step's process group is ended before it exits."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def stop(signum, frame):
        raise RunnerStopped(signal.Signals(signum).name)

    previous = {sig: signal.signal(sig, stop) for sig in (signal.SIGTERM, signal.SIGHUP)}
    try:
        yield
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)

"""The local stand-in servers a study's steps need (`serve: stub`), each a process of its own.

A server is started through harness_ext.testing's documented entry point, ``python -m
nativeval.harness_ext.testing serve judge|google --port 0``, which prints its URL on one line and serves
until it is ended. The study never imports the stand-ins: like every step, they run as processes, in a
process group of their own that dies with the runner (study/processes.py).
"""

from __future__ import annotations

import os
import subprocess
import threading
from pathlib import Path

from nativeval.harness_ext.core.errors import NativevalError
from nativeval.harness_ext.study.entry_points import TESTING_MODULE, module_argv
from nativeval.harness_ext.study.kinds import StandIn
from nativeval.harness_ext.study.processes import die_with_parent, stop_group

START_TIMEOUT_S = 60.0
STOP_GRACE_S = 5.0


class StandInFailed(NativevalError):
    """A stand-in server did not start."""


def serve_argv(stand_in: StandIn) -> list[str]:
    model = ["--model", stand_in.model] if stand_in.model else []
    return module_argv(TESTING_MODULE, "serve", stand_in.service, "--port", "0", *model)


class StandInServers:
    """The stand-ins of one run, one per ``StandIn.key``, started on first need and stopped together.

    Each server is started by a thread of its own that lives until ``stop_all``: Linux sends the parent-death
    signal when the thread that started a child ends, so the server must not be started by a step's thread."""

    def __init__(self, log_dir: Path):
        self.log_dir = log_dir
        self._running: dict[str, tuple[subprocess.Popen, str]] = {}
        self._guard = threading.Lock()
        self._release = threading.Event()  # set by stop_all: the starting threads end

    def url(self, stand_in: StandIn) -> tuple[str, bool]:
        """The URL of ``stand_in``'s server, started now if need be; and whether it was started now."""
        with self._guard:
            if stand_in.key in self._running:
                return self._running[stand_in.key][1], False
            self.log_dir.mkdir(parents=True, exist_ok=True)
            log = self.log_dir / f"stand-in-{stand_in.service}-{len(self._running)}.log"
            proc = self._start(serve_argv(stand_in), log)
            url = _first_line(proc, START_TIMEOUT_S)
            if not url.startswith("http"):
                stop_group(proc.pid, STOP_GRACE_S)
                proc.wait()
                raise StandInFailed(
                    f"the stand-in {stand_in.service} server did not start (exit {proc.returncode}); "
                    f"its log: {log}"
                )
            self._running[stand_in.key] = (proc, url)
            return url, True

    def _start(self, argv: list[str], log: Path) -> subprocess.Popen:
        started: list[subprocess.Popen | BaseException] = []
        ready = threading.Event()

        def keep() -> None:
            try:
                with open(log, "w", encoding="utf-8") as errors:
                    started.append(
                        subprocess.Popen(
                            argv,
                            stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE,
                            stderr=errors,
                            text=True,
                            start_new_session=True,
                            preexec_fn=die_with_parent(os.getpid()),
                        )
                    )
            except BaseException as err:  # noqa: BLE001 - handed to the caller, which raises it
                started.append(err)
            ready.set()
            self._release.wait()

        threading.Thread(target=keep, name="stand-in", daemon=True).start()
        ready.wait()
        if isinstance(started[0], BaseException):
            raise started[0]
        return started[0]

    def stop_all(self) -> None:
        with self._guard:
            running, self._running = list(self._running.values()), {}
            release, self._release = self._release, threading.Event()
        for proc, _ in running:
            stop_group(proc.pid, STOP_GRACE_S)
            proc.wait()
            if proc.stdout is not None:
                proc.stdout.close()
        release.set()


def _first_line(proc: subprocess.Popen, timeout: float) -> str:
    """The first line the process prints ("" when it ends or stays silent for ``timeout`` seconds)."""
    line: list[str] = []
    reader = threading.Thread(target=lambda: line.append(proc.stdout.readline()), daemon=True)
    reader.start()
    reader.join(timeout)
    return line[0].strip() if line else ""

"""Run a whole study — data, fine-tuning, evaluation, judging, leaderboard — resumably, or export it.

Each step writes into its own directory and, only after its command succeeded, writes the marker
``.nativeval_step.json`` (atomically, last) holding the step's key. A step is done when its marker's key
equals the key computed now (see ``study_plan``); anything else in its directory is a leftover of an
unfinished or outdated run and is removed before the step runs again. So a killed run resumes where
it stopped, a no-op rerun only hashes inputs, and a changed input reruns just what depends on it.

With ``--jobs N`` independent steps run at once (``scheduler.py`` decides which, and which GPUs each holds);
every step still has its own lock, log, marker and process group, so all of the above holds per step.

Also the entry point of two tiny built-in steps: ``python -m nativeval.harness_ext.study sample|toy-model ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import json
import os
import queue
import random
import shlex
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError, NativevalError
from nativeval.harness_ext.core.io import (
    atomic_write_json,
    atomic_write_jsonl,
    read_json,
    read_jsonl,
)
from nativeval.harness_ext.core.paths import strictly_inside
from nativeval.harness_ext.study.config import StudyConfig, load_study, settings, settings_lines
from nativeval.harness_ext.study.outputs import output_problem
from nativeval.harness_ext.study.plan import (
    USER_TASKS_SUBDIR,
    CommandContext,
    HashCache,
    Plan,
    Step,
    build_plan,
    check_plan,
    command_for,
    compute_keys,
    eval_group_command,
    eval_group_key,
    resumes_in_place,
)
from nativeval.harness_ext.study.scheduler import Node, Scheduler, wants_gpu

MARKER = ".nativeval_step.json"
STARTED = ".nativeval_step.started.json"
STUB_JUDGE_KEY = "stand-in-judge-needs-no-key"

Executor = Callable[[list[str], dict[str, str], Path], int]  # argv, environment, log file -> exit status


class StudyStepsFailed(NativevalError):
    """Some steps failed; the others finished and are kept."""

    exit_code = 1


# --- state --------------------------------------------------------------------------------------------
def _recorded_key(path: Path) -> str | None:
    """The ``key`` a marker file records; None when it is missing or damaged."""
    try:
        return read_json(path).get("key")
    except (InputError, OSError, ValueError):
        return None


def step_state(step: Step) -> str:
    """done (marker matches the key) | changed (marker of another key) | partial (leftovers) | todo."""
    marker = step.out / MARKER
    if marker.is_file():
        return "done" if _recorded_key(marker) == step.key else "changed"
    if step.out.exists() and any(step.out.iterdir()):
        return "partial"
    return "todo"


def load_plan(
    study_file: str | os.PathLike,
    variables: dict[str, str] | None = None,
    output_dir: str | os.PathLike | None = None,
) -> Plan:
    config = load_study(study_file, variables, output_dir)
    plan = build_plan(config)
    hashes = HashCache(config.output_dir / ".nativeval_hashes.json")
    compute_keys(plan, hashes)
    check_plan(plan)
    plan.hashes = hashes
    if config.output_dir.is_dir():
        hashes.save()
    return plan


# --- selection ----------------------------------------------------------------------------------------
def _matches(step: Step, pattern: str) -> bool:
    pattern = pattern.rstrip("/")
    return (
        step.kind == pattern
        or step.id == pattern
        or step.id.startswith(pattern + "/")
        or fnmatch.fnmatchcase(step.id, pattern)
    )


def _select(plan: Plan, patterns: list[str], option: str) -> set[str]:
    chosen: set[str] = set()
    for pattern in patterns:
        hits = {s.id for s in plan.steps.values() if _matches(s, pattern)}
        if not hits:
            example = next(iter(plan.steps))
            raise InputError(
                f"{option} {pattern!r} matches no step (give a step kind, an id such as {example!r}, "
                f"an id prefix or a glob; `--dry-run` lists them)"
            )
        chosen |= hits
    return chosen


@dataclass
class Selection:
    states: dict[str, str]
    to_run: list[Step]
    forced: set[str] = field(default_factory=set)


def select_steps(plan: Plan, only: list[str] | None = None, force: list[str] | None = None) -> Selection:
    states = {s.id: step_state(s) for s in plan.steps.values()}
    forced = plan.descendants(_select(plan, force or [], "--force"))
    scope = _select(plan, only, "--only") if only else set(plan.steps)
    to_run = [s for s in plan.steps.values() if s.id in scope and (states[s.id] != "done" or s.id in forced)]
    running = {s.id for s in to_run}
    for step in to_run:
        missing = [d for d in step.dep_ids() if d not in running and states[d] != "done"]
        if missing:
            raise InputError(
                f"step {step.id} needs {missing[0]}, which is not done; run it first "
                f"(`--only {missing[0]}`) or run without --only"
            )
    return Selection(states, to_run, forced & {s.id for s in to_run})


# --- execution ----------------------------------------------------------------------------------------
PR_SET_PDEATHSIG = 1
STOP_GRACE_S = 10.0  # after SIGTERM, before SIGKILL
BUSY_WAIT_S = 15.0  # how long a rerun waits for a step that is still running elsewhere


def _die_with_parent(parent: int) -> Callable[[], None]:
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


def cpu_threads_per_step(node: Node) -> int:
    """CPU threads for each of the steps a GPU-less node runs at once (torch reads ``OMP_NUM_THREADS``)."""
    at_once = max(1, min(node.jobs, node.limits.get("cpu", node.jobs)))
    return max(1, (os.cpu_count() or 1) // at_once)


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
        self.name_lines = (
            False  # prefix streamed lines with the step (the runner sets it when steps run at once)
        )
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
        self, argv: list[str], env: dict[str, str], log: Path, lock: StepLock | list[StepLock] | None = None
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
                preexec_fn=_die_with_parent(os.getpid()),
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
def _step_lock(plan: Plan, step: Step):
    lock_dir = plan.config.output_dir / ".locks"
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


class RunnerStopped(KeyboardInterrupt):
    """SIGTERM or SIGHUP reached the runner: like Ctrl-C, the running step's processes are ended first."""


@contextmanager
def _stop_on_signals():
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


def _outputs_problem(step: Step, log: Path) -> str | None:
    """Why a step whose command exited 0 is still not done (its promised outputs: study/outputs.py), logged."""
    problem = output_problem(step.kind, step.out)
    if problem:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"nativeval study: the command exited 0 but its outputs are not complete: {problem}\n")
    return problem


def _tail(path: Path, lines: int = 12) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


class StudyRunner:
    def __init__(
        self, plan: Plan, executor: Executor | None = None, echo: Callable[[str], None] | None = None
    ):
        self.plan = plan
        self.config: StudyConfig = plan.config
        self.executor = executor or subprocess_executor()
        say = echo or (lambda line: print(line, flush=True))
        self._echo_guard = threading.Lock()  # steps that run at once report from their own threads

        def echo_locked(line: str) -> None:
            with self._echo_guard:
                say(line)

        self.echo = echo_locked
        self.ctx = CommandContext(plan)
        self._stubs: dict[str, object] = {}
        self._stub_guard = threading.Lock()
        self._stopping = False  # Ctrl-C, SIGTERM or --fail-fast: steps ended on purpose are not failures
        self._cpu_threads: int | None = None  # set by run(): CPU threads per step when steps share the CPU

    # each step --------------------------------------------------------------------------------------
    def _env(self, step: Step, gpus: tuple[str, ...] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        if gpus is not None:  # the runner manages the node's GPUs: a step sees the ones it holds, or none
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        if self._cpu_threads and not gpus and "OMP_NUM_THREADS" not in os.environ:
            env["OMP_NUM_THREADS"] = str(
                self._cpu_threads
            )  # concurrent CPU steps share the cores, not each all
        if step.kind == "eval" and self.config.eval.data_dirs:
            env["NATIVEVAL_DATA_DIR"] = os.pathsep.join(
                [*self.config.eval.data_dirs, *filter(None, [os.environ.get("NATIVEVAL_DATA_DIR")])]
            )
        if step.kind == "judge" and step.params["serve"]:
            env["OPENAI_API_KEY"] = STUB_JUDGE_KEY  # never send a real key to the stand-in
        if step.kind in ("eval", "translate_task"):
            env["NATIVEVAL_USER_TASKS"] = str(self.config.output_dir / USER_TASKS_SUBDIR)
        if step.kind == "translate_task":
            if self.config.eval.data_dirs:
                env["NATIVEVAL_DATA_DIR"] = os.pathsep.join(
                    [*self.config.eval.data_dirs, *filter(None, [os.environ.get("NATIVEVAL_DATA_DIR")])]
                )
            if step.params["serve"]:
                env["GOOGLE_TRANSLATE_API_KEY"] = STUB_JUDGE_KEY  # never send a real key to the stand-in
        return env

    def _ensure_stub(self, step: Step) -> None:
        with self._stub_guard:
            self._ensure_stub_unlocked(step)

    def _ensure_stub_unlocked(self, step: Step) -> None:
        if step.kind == "translate_task" and step.params["serve"] and step.id not in self._stubs:
            from nativeval.harness_ext.testing.translate_stubs import GoogleTranslateStub

            self._stubs[step.id] = translator = GoogleTranslateStub().start()
            self.ctx.translator_urls[step.id] = translator.base_url
            self.echo(
                f"  started a local STAND-IN translator for {step.params['task']} at {translator.base_url} "
                f"({step.params['label'] or 'deterministic letter mapping, not a real MT system'})"
            )
        if step.kind != "judge" or not step.params["serve"] or step.params["judge"] in self._stubs:
            return
        name = step.params["judge"]
        from nativeval.harness_ext.testing.openai_stub import OpenAIStub, deterministic_judge

        stub = OpenAIStub(deterministic_judge, model=name).start()
        self._stubs[name] = stub
        self.ctx.judge_urls[name] = stub.base_url
        self.echo(
            f"  started a local STAND-IN judge for {name!r} at {stub.base_url} "
            "(deterministic, not a real model: its ratings measure nothing)"
        )

    def _stop_stubs(self) -> None:
        for stub in self._stubs.values():
            stub.stop()
        self._stubs.clear()

    def _prepare_dir(self, step: Step, forced: bool = False) -> bool:
        """Remove what an unfinished or outdated run left behind, then record that this key started.

        A command that can continue an interrupted attempt (``RESUME_FLAGS``) keeps the leftovers of an
        attempt with the same key unless the step is forced; return True when it should resume."""
        (step.out / MARKER).unlink(missing_ok=True)
        started = step.out / STARTED
        if not forced and _recorded_key(started) == step.key and resumes_in_place(step, self.config):
            return True
        strictly_inside(self.config.output_dir, step.out, what=f"the folder of step {step.id}")
        if step.out.exists():
            shutil.rmtree(step.out)
        step.out.mkdir(parents=True)
        atomic_write_json(started, {"key": step.key, "id": step.id, "started": time.time()})
        return False

    @contextmanager
    def _locked(self, step: Step):
        """The step's lock; a step still running elsewhere is waited for up to BUSY_WAIT_S (a runner killed a
        moment ago takes its step down within that time), then reported as StepBusy."""
        deadline = time.monotonic() + BUSY_WAIT_S
        told = False
        while True:
            with _step_lock(self.plan, step) as lock:
                if not isinstance(lock, StepBusy) or time.monotonic() >= deadline:
                    yield lock
                    return
            if not told:
                self.echo(
                    f"  step {step.id} is running in process {lock.pid or '?'}; waiting up to "
                    f"{BUSY_WAIT_S:.0f}s for it to end"
                )
                told = True
            time.sleep(0.2)

    def _claim(self, step: Step, lock: StepLock | StepBusy, forced: bool) -> str | None:
        """busy | skipped when the step is not this runner's to run now; None when it is."""
        if isinstance(lock, StepBusy):
            where = f"in process {lock.pid}" if lock.pid else "in another process"
            self.echo(
                f"  step {step.id} is running {where}; skipped here (rerun when it has finished"
                + (f", or end it with `kill -- -{lock.pid}`)" if lock.pid else ")")
            )
            return "busy"
        if step_state(step) == "done" and not forced:  # finished meanwhile by another process
            return "skipped"
        return None

    def run_step(self, step: Step, forced: bool, gpus: tuple[str, ...] | None = None) -> str:
        """Run one step (holding ``gpus``, if given); return done | failed | busy | skipped | stopped."""
        with self._locked(step) as lock:
            return self._claim(step, lock, forced) or self._run_locked(step, lock, forced, gpus)

    def _run_locked(self, step: Step, lock: StepLock, forced: bool, gpus: tuple[str, ...] | None) -> str:
        if self._stopping:  # --fail-fast or Ctrl-C came while this step waited for its lock
            return "stopped"
        self._ensure_stub(step)
        resume = self._prepare_dir(step, forced)
        argv = command_for(step, self.ctx, resume)
        if resume:
            self.echo(f"  {step.id}: continuing the interrupted attempt in {step.out}")
        log = self.config.output_dir / "logs" / f"{step.slug}.log"
        log.parent.mkdir(parents=True, exist_ok=True)
        log.write_text(f"# step {step.id} key {step.key}\n", encoding="utf-8")
        started = time.time()
        if gpus:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"# CUDA_VISIBLE_DEVICES={','.join(gpus)}\n")
        if isinstance(self.executor, SubprocessExecutor):
            status = self.executor(argv, self._env(step, gpus), log, lock)
        else:
            status = self.executor(argv, self._env(step, gpus), log)
        seconds = time.time() - started
        if status != 0 and self._stopping:
            return "stopped"
        if status == 0 and _outputs_problem(step, log):
            status = 1
        if status != 0:
            self._say_failed(step, status, seconds, log)
            return "failed"
        self._finish(step, argv, seconds, gpus)
        return "done"

    def _say_failed(self, step: Step, status: int, seconds: float, log: Path) -> None:
        self.echo(f"  {step.id}: FAILED (exit {status}) after {seconds:.1f}s; log: {log}")
        self.echo("\n".join("    | " + line for line in _tail(log).splitlines()))

    def _finish(
        self, step: Step, argv: list[str], seconds: float, gpus: tuple[str, ...] | None, **more: object
    ) -> None:
        """The marker, written last: from now on the step is done."""
        atomic_write_json(
            step.out / MARKER,
            {
                "key": step.key,
                "id": step.id,
                "kind": step.kind,
                "params": step.params,
                "command": argv,
                "seconds": round(seconds, 3),
                "finished": time.time(),
                **({"gpus": list(gpus)} if gpus else {}),
                **more,
            },
        )
        (step.out / STARTED).unlink(missing_ok=True)

    def run_unit(self, steps: list[Step], forced: set[str], gpus: tuple[str, ...] | None) -> dict[str, str]:
        """Run one step, or evaluations of several adapters of one base in one process (one base load)."""
        if len(steps) == 1:
            return {steps[0].id: self.run_step(steps[0], steps[0].id in forced, gpus)}
        results: dict[str, str] = {}
        with contextlib.ExitStack() as stack:
            mine: list[tuple[Step, StepLock]] = []
            for step in steps:
                lock = stack.enter_context(self._locked(step))
                claimed = self._claim(step, lock, step.id in forced)
                if claimed:
                    results[step.id] = claimed
                else:
                    mine.append((step, lock))
            if len(mine) == 1:
                step, lock = mine[0]
                results[step.id] = self._run_locked(step, lock, step.id in forced, gpus)
            elif mine:
                results.update(
                    self._run_eval_group([s for s, _ in mine], [lk for _, lk in mine], forced, gpus)
                )
        return results

    def _run_eval_group(
        self, steps: list[Step], locks: list[StepLock], forced: set[str], gpus: tuple[str, ...] | None
    ) -> dict[str, str]:
        """One `nativeval eval --peft` for these evaluations; each step's files are moved into its own folder,
        then its marker written. The process's output goes to the first step's log; the others point to it."""
        if self._stopping:
            return {s.id: "stopped" for s in steps}
        scratch = self.config.output_dir / ".groups" / steps[0].slug
        for step in steps:
            shutil.rmtree(self.config.output_dir / ".groups" / step.slug, ignore_errors=True)
            self._prepare_dir(step, step.id in forced)
        scratch.mkdir(parents=True)
        argv = eval_group_command(steps, self.ctx, scratch)
        logs = {s.id: self.config.output_dir / "logs" / f"{s.slug}.log" for s in steps}
        logs[steps[0].id].parent.mkdir(parents=True, exist_ok=True)
        together = ", ".join(s.id for s in steps)
        for step in steps:
            lines = [
                f"# step {step.id} key {step.key}",
                f"# evaluated in one process (one base load) with: {together}",
            ]
            lines += [f"# CUDA_VISIBLE_DEVICES={','.join(gpus)}"] if gpus else []
            lines += [f"# that process's output: {logs[steps[0].id]}"] if step is not steps[0] else []
            logs[step.id].write_text("\n".join(lines) + "\n", encoding="utf-8")
        started = time.time()
        env = self._env(steps[0], gpus)
        if isinstance(self.executor, SubprocessExecutor):
            status = self.executor(argv, env, logs[steps[0].id], locks)
        else:
            status = self.executor(argv, env, logs[steps[0].id])
        seconds = time.time() - started
        if status != 0 and self._stopping:
            return {s.id: "stopped" for s in steps}
        results = {}
        for step in steps:
            produced = scratch / step.slug
            if status == 0 and produced.is_dir():
                for item in produced.iterdir():
                    os.replace(item, step.out / item.name)
            if status == 0 and not _outputs_problem(step, logs[steps[0].id]):
                self._finish(step, argv, seconds, gpus, group=[s.id for s in steps])
                results[step.id] = "done"
            else:
                self._say_failed(step, status or 1, seconds, logs[steps[0].id])
                results[step.id] = "failed"
        shutil.rmtree(scratch, ignore_errors=True)
        return results

    # the whole plan ---------------------------------------------------------------------------------
    def run(
        self,
        only: list[str] | None = None,
        force: list[str] | None = None,
        fail_fast: bool = False,
        node: Node | None = None,
    ) -> dict:
        """Run the selected steps, up to ``node.jobs`` at once; return each step's outcome."""
        selection = select_steps(self.plan, only, force)
        node = node or Node()
        scheduler = Scheduler(
            self.plan,
            selection.to_run,
            node,  # a step too big for the node: one line, now
            group_key=lambda step: eval_group_key(step, self.config),
            max_group=settings()["local"]["max_adapter_group"],
        )
        total, count = len(self.plan.steps), len(selection.to_run)
        done_before = sum(1 for s in selection.states.values() if s == "done")
        at_once = f"; up to {node.jobs} at once" if node.jobs > 1 else ""
        on_gpus = f" on GPUs {','.join(node.gpus)}" if node.gpus and count else ""
        self.echo(
            f"study {self.config.name}: {total} steps, {done_before} already done, {count} to run{at_once}"
            f"{on_gpus}; output in {self.config.output_dir}"
        )
        cpu_run = [s for s in selection.to_run if wants_gpu(s) and scheduler.demands[s.id].kind == "cpu"]
        if cpu_run and not node.gpus and node.jobs > 1:
            self.echo(
                f"note: no GPU found ({node.source}); {len(cpu_run)} GPU step(s) run on the CPU, at most "
                f"{node.limits.get('cpu', node.jobs)} at once (a node's GPUs: --gpus, docs: README 'study')"
            )
        concurrent = node.jobs > 1
        if concurrent and not node.gpus:
            self._cpu_threads = cpu_threads_per_step(node)
        if concurrent and isinstance(self.executor, SubprocessExecutor):
            self.executor.name_lines = True
        outcome: dict[str, str] = {}
        events: queue.Queue = queue.Queue()
        threads: dict[str, threading.Thread] = {}
        started_at: dict[str, float] = {}
        number = 0

        def work(unit: list[Step], gpus: tuple[str, ...] | None) -> None:
            try:
                result: object = self.run_unit(unit, selection.forced, gpus)
            except BaseException as err:  # noqa: BLE001 - handed to the main thread, which raises it
                result = err
            events.put((unit[0].id, result))

        with _stop_on_signals():
            try:
                while not scheduler.finished:
                    for unit, gpus in scheduler.start_ready():
                        where = f" on GPU {','.join(gpus)}" if gpus else ""
                        for step in unit:
                            number += 1
                            started_at[step.id] = time.time()
                            self.echo(f"[{number}/{count}] {step.id}{where} ...")
                        if len(unit) > 1:
                            self.echo(f"  {len(unit)} evaluations of one base in one process (one base load)")
                        leader = unit[0].id
                        threads[leader] = threading.Thread(
                            target=work, args=(unit, gpus), name=leader, daemon=True
                        )
                        threads[leader].start()
                    if not scheduler.running:  # nothing can start: only happens if the plan is inconsistent
                        raise NativevalError(
                            f"study {self.config.name}: {scheduler.queue_summary()} but none can "
                            "start; please report this"
                        )
                    if concurrent:
                        self._progress(scheduler, started_at)
                    leader, results = self._next_event(events, scheduler, started_at, concurrent)
                    threads.pop(leader).join()
                    if isinstance(results, BaseException):
                        raise results
                    ok = True
                    for step_id, result in results.items():
                        outcome[step_id] = result
                        ok = ok and result in ("done", "skipped")
                        if result in ("done", "skipped"):
                            self.echo(f"  {step_id}: done in {time.time() - started_at[step_id]:.1f}s")
                        for blocked in scheduler.ended(step_id, result in ("done", "skipped")):
                            outcome[blocked] = "blocked"
                            self.echo(f"  {blocked}: blocked (needs {scheduler.blocked[blocked]})")
                    if not ok and fail_fast and scheduler.running:
                        self.echo(f"--fail-fast: stopping {len(scheduler.running)} running step(s)")
                        self._stop_everything(scheduler, threads)
                    elif not ok and fail_fast:
                        scheduler.stop()
                while not events.empty():  # steps stopped by --fail-fast
                    leader, results = events.get()
                    if isinstance(results, dict):
                        outcome.update(results)
                    else:
                        outcome[leader] = "failed"
            except BaseException:
                self._stop_everything(scheduler, threads)
                raise
            finally:
                self._stop_stubs()
                if self.plan.hashes is not None and self.config.output_dir.is_dir():
                    self.plan.hashes.save()
        self._report(outcome)
        return outcome

    PROGRESS_EVERY_S = 60.0

    def _next_event(
        self, events: queue.Queue, scheduler: Scheduler, started_at: dict[str, float], concurrent: bool
    ) -> tuple[str, object]:
        """The next step to end; while waiting, the running steps are shown again now and then."""
        shown = time.monotonic()
        while True:
            try:
                return events.get(timeout=1.0)
            except queue.Empty:
                if concurrent and time.monotonic() - shown >= self.PROGRESS_EVERY_S:
                    self._progress(scheduler, started_at)
                    shown = time.monotonic()

    def _stop_everything(self, scheduler: Scheduler, threads: dict[str, threading.Thread]) -> None:
        """Start nothing more, end every running step's processes and wait for their threads."""
        self._stopping = True
        scheduler.stop()
        if isinstance(self.executor, SubprocessExecutor):
            self.executor.stop_all()
        for thread in list(threads.values()):
            thread.join()
        threads.clear()
        scheduler.running.clear()
        scheduler.members.clear()

    def _progress(self, scheduler: Scheduler, started_at: dict[str, float]) -> None:
        """One line per running step (what it holds, for how long, its log), then the queue."""
        now = time.time()
        lines = [f"  running {len(scheduler.running)}; {scheduler.queue_summary()}"]
        for unit, gpus in scheduler.running.items():
            holds = f"GPU {','.join(gpus)}" if gpus else scheduler.demands[unit].kind
            for step_id in scheduler.members[unit]:
                log = self.config.output_dir / "logs" / f"{self.plan.steps[step_id].slug}.log"
                lines.append(f"    {step_id:<48} {holds:<9} {now - started_at[step_id]:6.0f}s  {log}")
        self.echo("\n".join(lines))

    def _report(self, outcome: dict[str, str]) -> None:
        counts: dict[str, int] = {}
        for result in outcome.values():
            counts[result] = counts.get(result, 0) + 1
        if outcome:
            self.echo("summary: " + ", ".join(f"{n} {k}" for k, n in sorted(counts.items())))
        site = self.plan.steps["leaderboard"].out
        if step_state(self.plan.steps["leaderboard"]) == "done":
            page = site / "index.html"
            self.echo(f"leaderboard: {page if page.is_file() else site}  (open file://{page} in a browser)")
        if any(j.serve for j in self.config.judges):
            self.echo(
                "note: judge ratings in this study come from a local deterministic STAND-IN judge, "
                "not a real model"
            )
        failed = [k for k, v in outcome.items() if v in ("failed", "busy", "stopped")]
        blocked = [k for k, v in outcome.items() if v == "blocked"]
        if failed:
            raise StudyStepsFailed(
                f"{len(failed)} step(s) did not finish ({failed[0]}{', ...' if len(failed) > 1 else ''}), "
                f"{len(blocked)} blocked; finished steps are kept — fix and rerun the same command to resume "
                f"(logs in {self.config.output_dir / 'logs'})"
            )


# --- dry run (the cluster export is in slurm.py) -----------------------------------------------------
def _hours(hours: float) -> str:
    return f"{hours:,.1f}" if hours >= 1 or hours == 0 else f"{hours:.2g}"


def describe_plan(
    plan: Plan, only: list[str] | None = None, force: list[str] | None = None, node: Node | None = None
) -> list[str]:
    selection = select_steps(plan, only, force)
    if node is not None:
        Scheduler(plan, selection.to_run, node)  # a step asking for more GPUs than the node has: one line
    run_ids = {s.id for s in selection.to_run}
    width = max(len(s) for s in plan.steps)
    lines = [
        f"study {plan.config.name}: {len(plan.steps)} steps; output in {plan.config.output_dir}",
        *settings_lines(plan.config),
        f"  {'status':<9} {'step':<{width}}  {'GPU-h':>8}  {'API calls':>9}",
    ]
    for step in plan.steps.values():
        state = selection.states[step.id]
        label = (
            (
                "forced"
                if step.id in selection.forced
                else {"todo": "to run", "partial": "resume"}.get(state, state)
            )
            if step.id in run_ids
            else ("done" if state == "done" else "skip")
        )
        gpu = f"{_hours(step.gpu_hours):>8}" if step.gpu_hours else f"{'':8}"
        api = f"{step.api_calls:9,d}" if step.api_calls else f"{'':9}"
        lines.append(f"  {label:<9} {step.id:<{width}}  {gpu}  {api}")
    todo = selection.to_run
    done = sum(1 for s in selection.states.values() if s == "done")
    translate_calls = sum(s.api_calls for s in todo if s.kind in ("translate", "rtt"))
    judge_calls = sum(s.api_calls for s in todo if s.kind == "judge")
    lines.append(f"already done: {done} of {len(plan.steps)}; to run: {len(todo)}")
    lines.append(
        f"estimated for the steps to run: {_hours(sum(s.gpu_hours for s in todo))} GPU-hours "
        f"(fine-tuning {_hours(sum(s.gpu_hours for s in todo if s.kind == 'finetune'))}, evaluation "
        f"{_hours(sum(s.gpu_hours for s in todo if s.kind == 'eval'))}); {translate_calls + judge_calls:,d} "
        f"API calls (translation segments {translate_calls:,d}, judge calls {judge_calls:,d}); rough figures "
        f"from harness_ext/study/settings.yaml"
    )
    return lines


# --- built-in steps: `python -m nativeval.harness_ext.study sample|toy-model` -----------------------------------
def sample_records(source: Path, out: Path, n: int, seed: int) -> int:
    """Write n records drawn with a seeded RNG (kept in file order) in the source's format."""
    if source.suffix == ".jsonl":
        records, jsonl = read_jsonl(source), True
    else:
        records, jsonl = read_json(source), False
    if not isinstance(records, list):
        raise InputError(f"{source}: expected a JSON list of records")
    chosen = sorted(random.Random(seed).sample(range(len(records)), min(n, len(records))))
    rows = [records[i] for i in chosen]
    if jsonl:
        atomic_write_jsonl(out, rows)
    else:
        atomic_write_json(out, rows)
    return len(rows)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m nativeval.harness_ext.study", description="built-in study steps"
    )
    sub = parser.add_subparsers(dest="command", required=True)
    sample = sub.add_parser("sample", help="draw a seeded sample of records")
    sample.add_argument("--in", dest="source", required=True)
    sample.add_argument("--out", required=True)
    sample.add_argument("--n", type=int, required=True)
    sample.add_argument("--seed", type=int, default=0)
    toy = sub.add_parser("toy-model", help="build the random-init toy model")
    toy.add_argument("--out", required=True)
    toy.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    try:
        if args.command == "sample":
            n = sample_records(Path(args.source), Path(args.out), args.n, args.seed)
            print(f"sampled {n} records into {args.out}")
        else:
            from nativeval.harness_ext.testing.toymodel import build_tiny_model

            print(
                f"toy model (random init, seed {args.seed}) in {build_tiny_model(args.out, seed=args.seed)}"
            )
    except NativevalError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

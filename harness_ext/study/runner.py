"""Run a whole study — data, fine-tuning, evaluation, judging, leaderboard — resumably, or export it.

Each step writes into its own directory and, only after its command succeeded, writes the marker
``.nativeval_step.json`` (atomically, last) holding the step's key. A step is done when its marker's key
equals the key computed now (see ``study_plan``); anything else in its directory is a leftover of an
unfinished or outdated run and is removed before the step runs again. So a killed run resumes where
it stopped, a no-op rerun only hashes inputs, and a changed input reruns just what depends on it.

Also the entry point of two tiny built-in steps: ``python -m harness_ext.study sample|toy-model ...``.
"""

from __future__ import annotations

import argparse
import contextlib
import fcntl
import fnmatch
import json
import os
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

from harness_ext.core.errors import InputError, NativevalError
from harness_ext.core.io import (
    atomic_write_json,
    atomic_write_jsonl,
    read_json,
    read_jsonl,
)
from harness_ext.core.paths import strictly_inside
from harness_ext.study.config import StudyConfig, load_study, settings_lines
from harness_ext.study.outputs import output_problem
from harness_ext.study.plan import (
    USER_TASKS_SUBDIR,
    CommandContext,
    HashCache,
    Plan,
    Step,
    build_plan,
    check_plan,
    command_for,
    compute_keys,
    resumes_in_place,
)

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


def load_plan(study_file: str | os.PathLike, variables: dict[str, str] | None = None,
              output_dir: str | os.PathLike | None = None) -> Plan:
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
    return (step.kind == pattern or step.id == pattern or step.id.startswith(pattern + "/")
            or fnmatch.fnmatchcase(step.id, pattern))


def _select(plan: Plan, patterns: list[str], option: str) -> set[str]:
    chosen: set[str] = set()
    for pattern in patterns:
        hits = {s.id for s in plan.steps.values() if _matches(s, pattern)}
        if not hits:
            example = next(iter(plan.steps))
            raise InputError(f"{option} {pattern!r} matches no step (give a step kind, an id such as {example!r}, "
                             f"an id prefix or a glob; `--dry-run` lists them)")
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
            raise InputError(f"step {step.id} needs {missing[0]}, which is not done; run it first "
                             f"(`--only {missing[0]}`) or run without --only")
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

    def __call__(self, argv: list[str], env: dict[str, str], log: Path, lock: StepLock | None = None) -> int:
        with open(log, "a", encoding="utf-8") as fh:
            fh.write(f"$ {shlex.join(argv)}\n")
            fh.flush()
            proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE if self.show_output else fh,
                                    stderr=subprocess.STDOUT, text=True, errors="replace", start_new_session=True,
                                    preexec_fn=_die_with_parent(os.getpid()),
                                    pass_fds=(lock.fileno(),) if lock else ())
            if lock:
                lock.record(proc.pid)
            try:
                if self.show_output:
                    for line in proc.stdout:
                        fh.write(line)
                        sys.stdout.write("    " + line)
                        sys.stdout.flush()
                return proc.wait()
            finally:  # Ctrl-C, SIGTERM or an error here: end the whole step, then let the caller see why
                if proc.poll() is None or group_alive(proc.pid):
                    stop_group(proc.pid)
                proc.wait()


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
        self._write({"pid": pid, "pgid": pid, "host": socket.gethostname(), "runner": os.getpid(),
                     "started": time.time()})

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
    def __init__(self, plan: Plan, executor: Executor | None = None, echo: Callable[[str], None] | None = None):
        self.plan = plan
        self.config: StudyConfig = plan.config
        self.executor = executor or subprocess_executor()
        self.echo = echo or (lambda line: print(line, flush=True))
        self.ctx = CommandContext(plan)
        self._stubs: dict[str, object] = {}

    # each step --------------------------------------------------------------------------------------
    def _env(self, step: Step) -> dict[str, str]:
        env = dict(os.environ)
        if step.kind == "eval" and self.config.eval.data_dirs:
            env["NATIVEVAL_DATA_DIR"] = os.pathsep.join([*self.config.eval.data_dirs,
                                                        *filter(None, [os.environ.get("NATIVEVAL_DATA_DIR")])])
        if step.kind == "judge" and step.params["serve"]:
            env["OPENAI_API_KEY"] = STUB_JUDGE_KEY  # never send a real key to the stand-in
        if step.kind in ("eval", "translate_task"):
            env["NATIVEVAL_USER_TASKS"] = str(self.config.output_dir / USER_TASKS_SUBDIR)
        if step.kind == "translate_task":
            if self.config.eval.data_dirs:
                env["NATIVEVAL_DATA_DIR"] = os.pathsep.join([*self.config.eval.data_dirs,
                                                            *filter(None, [os.environ.get("NATIVEVAL_DATA_DIR")])])
            if step.params["serve"]:
                env["GOOGLE_TRANSLATE_API_KEY"] = STUB_JUDGE_KEY  # never send a real key to the stand-in
        return env

    def _ensure_stub(self, step: Step) -> None:
        if step.kind == "translate_task" and step.params["serve"] and step.id not in self._stubs:
            from harness_ext.testing.translate_stubs import GoogleTranslateStub

            self._stubs[step.id] = translator = GoogleTranslateStub().start()
            self.ctx.translator_urls[step.id] = translator.base_url
            self.echo(f"  started a local STAND-IN translator for {step.params['task']} at {translator.base_url} "
                      f"({step.params['label'] or 'deterministic letter mapping, not a real MT system'})")
        if step.kind != "judge" or not step.params["serve"] or step.params["judge"] in self._stubs:
            return
        name = step.params["judge"]
        from harness_ext.testing.openai_stub import OpenAIStub, deterministic_judge

        stub = OpenAIStub(deterministic_judge, model=name).start()
        self._stubs[name] = stub
        self.ctx.judge_urls[name] = stub.base_url
        self.echo(f"  started a local STAND-IN judge for {name!r} at {stub.base_url} "
                  "(deterministic, not a real model: its ratings measure nothing)")

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
                self.echo(f"  step {step.id} is running in process {lock.pid or '?'}; waiting up to "
                          f"{BUSY_WAIT_S:.0f}s for it to end")
                told = True
            time.sleep(0.2)

    def run_step(self, step: Step, forced: bool) -> str:
        """Run one step; return done | failed | busy | skipped."""
        with self._locked(step) as lock:
            if isinstance(lock, StepBusy):
                where = f"in process {lock.pid}" if lock.pid else "in another process"
                self.echo(f"  step {step.id} is running {where}; skipped here (rerun when it has finished"
                          + (f", or end it with `kill -- -{lock.pid}`)" if lock.pid else ")"))
                return "busy"
            if step_state(step) == "done" and not forced:  # finished meanwhile by another process
                return "skipped"
            self._ensure_stub(step)
            resume = self._prepare_dir(step, forced)
            argv = command_for(step, self.ctx, resume)
            if resume:
                self.echo(f"  {step.id}: continuing the interrupted attempt in {step.out}")
            log = self.config.output_dir / "logs" / f"{step.slug}.log"
            log.parent.mkdir(parents=True, exist_ok=True)
            log.write_text(f"# step {step.id} key {step.key}\n", encoding="utf-8")
            started = time.time()
            if isinstance(self.executor, SubprocessExecutor):
                status = self.executor(argv, self._env(step), log, lock)
            else:
                status = self.executor(argv, self._env(step), log)
            seconds = time.time() - started
            if status == 0 and _outputs_problem(step, log):
                status = 1
            if status != 0:
                self.echo(f"  {step.id}: FAILED (exit {status}) after {seconds:.1f}s; log: {log}")
                self.echo("\n".join("    | " + line for line in _tail(log).splitlines()))
                return "failed"
            atomic_write_json(step.out / MARKER, {
                "key": step.key, "id": step.id, "kind": step.kind, "params": step.params, "command": argv,
                "seconds": round(seconds, 3), "finished": time.time()})
            (step.out / STARTED).unlink(missing_ok=True)
            return "done"

    # the whole plan ---------------------------------------------------------------------------------
    def run(self, only: list[str] | None = None, force: list[str] | None = None, fail_fast: bool = False) -> dict:
        selection = select_steps(self.plan, only, force)
        total = len(self.plan.steps)
        done_before = sum(1 for s in selection.states.values() if s == "done")
        self.echo(f"study {self.config.name}: {total} steps, {done_before} already done, "
                  f"{len(selection.to_run)} to run; output in {self.config.output_dir}")
        outcome: dict[str, str] = {}
        bad: set[str] = set()
        with _stop_on_signals():
            try:
                for i, step in enumerate(selection.to_run, start=1):
                    blocked_by = next((d for d in step.dep_ids() if d in bad), None)
                    if blocked_by:
                        outcome[step.id] = "blocked"
                        bad.add(step.id)
                        self.echo(f"[{i}/{len(selection.to_run)}] {step.id}: blocked (needs {blocked_by})")
                        continue
                    self.echo(f"[{i}/{len(selection.to_run)}] {step.id} ...")
                    started = time.time()
                    result = self.run_step(step, step.id in selection.forced)
                    outcome[step.id] = result
                    if result in ("done", "skipped"):
                        self.echo(f"[{i}/{len(selection.to_run)}] {step.id}: done in {time.time() - started:.1f}s")
                    else:
                        bad.add(step.id)
                        if fail_fast:
                            break
            finally:
                self._stop_stubs()
                if self.plan.hashes is not None and self.config.output_dir.is_dir():
                    self.plan.hashes.save()
        self._report(outcome)
        return outcome

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
            self.echo("note: judge ratings in this study come from a local deterministic STAND-IN judge, "
                      "not a real model")
        failed = [k for k, v in outcome.items() if v in ("failed", "busy")]
        blocked = [k for k, v in outcome.items() if v == "blocked"]
        if failed:
            raise StudyStepsFailed(
                f"{len(failed)} step(s) did not finish ({failed[0]}{', ...' if len(failed) > 1 else ''}), "
                f"{len(blocked)} blocked; finished steps are kept — fix and rerun the same command to resume "
                f"(logs in {self.config.output_dir / 'logs'})")


# --- dry run (the cluster export is in slurm.py) -----------------------------------------------------
def _hours(hours: float) -> str:
    return f"{hours:,.1f}" if hours >= 1 or hours == 0 else f"{hours:.2g}"


def describe_plan(plan: Plan, only: list[str] | None = None, force: list[str] | None = None) -> list[str]:
    selection = select_steps(plan, only, force)
    run_ids = {s.id for s in selection.to_run}
    width = max(len(s) for s in plan.steps)
    lines = [f"study {plan.config.name}: {len(plan.steps)} steps; output in {plan.config.output_dir}",
             *settings_lines(plan.config),
             f"  {'status':<9} {'step':<{width}}  {'GPU-h':>8}  {'API calls':>9}"]
    for step in plan.steps.values():
        state = selection.states[step.id]
        label = ("forced" if step.id in selection.forced else {"todo": "to run", "partial": "resume"}.get(state, state)) \
            if step.id in run_ids else ("done" if state == "done" else "skip")
        gpu = f"{_hours(step.gpu_hours):>8}" if step.gpu_hours else f"{'':8}"
        api = f"{step.api_calls:9,d}" if step.api_calls else f"{'':9}"
        lines.append(f"  {label:<9} {step.id:<{width}}  {gpu}  {api}")
    todo = selection.to_run
    done = sum(1 for s in selection.states.values() if s == "done")
    translate_calls = sum(s.api_calls for s in todo if s.kind in ("translate", "rtt"))
    judge_calls = sum(s.api_calls for s in todo if s.kind == "judge")
    lines.append(f"already done: {done} of {len(plan.steps)}; to run: {len(todo)}")
    lines.append(f"estimated for the steps to run: {_hours(sum(s.gpu_hours for s in todo))} GPU-hours "
                 f"(fine-tuning {_hours(sum(s.gpu_hours for s in todo if s.kind == 'finetune'))}, evaluation "
                 f"{_hours(sum(s.gpu_hours for s in todo if s.kind == 'eval'))}); {translate_calls + judge_calls:,d} "
                 f"API calls (translation segments {translate_calls:,d}, judge calls {judge_calls:,d}); rough figures "
                 f"from harness_ext/study/settings.yaml")
    return lines


# --- built-in steps: `python -m harness_ext.study sample|toy-model` -----------------------------------
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
    parser = argparse.ArgumentParser(prog="python -m harness_ext.study", description="built-in study steps")
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
            from harness_ext.testing.toymodel import build_tiny_model

            print(f"toy model (random init, seed {args.seed}) in {build_tiny_model(args.out, seed=args.seed)}")
    except NativevalError as err:
        print(f"error: {err}", file=sys.stderr)
        return err.exit_code
    return 0


if __name__ == "__main__":
    sys.exit(main())

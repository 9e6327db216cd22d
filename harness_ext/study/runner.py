"""Run a whole study — data, fine-tuning, evaluation, judging, leaderboard — resumably.

Each step writes into its own directory and, only after its command succeeded, writes the marker
``.nativeval_step.json`` (atomically, last) holding the step's key (study/state.py). Anything else in a
step's directory is a leftover of an unfinished or outdated run and is removed before the step runs again.
So a killed run resumes where it stopped, a no-op rerun only hashes inputs, and a changed input reruns just
what depends on it.

With ``--jobs N`` independent steps run at once (``scheduler.py`` decides which, and which GPUs each holds);
every step still has its own lock, log, marker and process group (``locks.py``, ``processes.py``), so all
of the above holds per step.
"""

from __future__ import annotations

import contextlib
import os
import queue
import shutil
import threading
import time
from collections.abc import Callable
from contextlib import contextmanager
from pathlib import Path

from nativeval.harness_ext.core.errors import NativevalError
from nativeval.harness_ext.core.io import atomic_write_json
from nativeval.harness_ext.core.paths import strictly_inside
from nativeval.harness_ext.study.commands import (
    CommandContext,
    command_for,
    group_command,
    group_key,
    resumes_in_place,
)
from nativeval.harness_ext.study.config import StudyConfig
from nativeval.harness_ext.study.kinds import KINDS, USER_TASKS_SUBDIR
from nativeval.harness_ext.study.locks import StepBusy, StepLock, step_lock
from nativeval.harness_ext.study.plan import Plan
from nativeval.harness_ext.study.processes import (
    Executor,
    SubprocessExecutor,
    stop_on_signals,
    subprocess_executor,
)
from nativeval.harness_ext.study.scheduler import Node, Scheduler, wants_gpu
from nativeval.harness_ext.study.settings import settings
from nativeval.harness_ext.study.stand_ins import StandInServers
from nativeval.harness_ext.study.state import MARKER, STARTED, recorded_key, select_steps, step_state
from nativeval.harness_ext.study.step import Step

STAND_IN_API_KEY = "stand-in-needs-no-key"  # never send a real key to a stand-in
BUSY_WAIT_S = 15.0  # how long a rerun waits for a step that is still running elsewhere


class StudyStepsFailed(NativevalError):
    """Some steps failed; the others finished and are kept."""

    exit_code = 1


def cpu_threads_per_step(node: Node) -> int:
    """CPU threads for each of the steps a GPU-less node runs at once (torch reads ``OMP_NUM_THREADS``)."""
    at_once = max(1, min(node.jobs, node.limits.get("cpu", node.jobs)))
    return max(1, (os.cpu_count() or 1) // at_once)


def _outputs_problem(step: Step, log: Path) -> str | None:
    """Why a step whose command exited 0 is still not done (its kind's promised outputs), logged."""
    problem = KINDS[step.kind].output_problem(step.out)
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
        self._stand_ins = StandInServers(self.config.output_dir / "logs")
        self._stopping = False  # Ctrl-C, SIGTERM or --fail-fast: steps ended on purpose are not failures
        self._cpu_threads: int | None = None  # set by run(): CPU threads per step when steps share the CPU

    # each step --------------------------------------------------------------------------------------
    def _env(self, step: Step, gpus: tuple[str, ...] | None = None) -> dict[str, str]:
        env = dict(os.environ)
        kind = KINDS[step.kind]
        if gpus is not None:  # the runner manages the node's GPUs: a step sees the ones it holds, or none
            env["CUDA_VISIBLE_DEVICES"] = ",".join(gpus)
        if self._cpu_threads and not gpus and "OMP_NUM_THREADS" not in os.environ:
            env["OMP_NUM_THREADS"] = str(self._cpu_threads)  # concurrent CPU steps share the cores
        if kind.runs_tasks:
            env["NATIVEVAL_USER_TASKS"] = str(self.config.output_dir / USER_TASKS_SUBDIR)
            if self.config.eval.data_dirs:
                env["NATIVEVAL_DATA_DIR"] = os.pathsep.join(
                    [*self.config.eval.data_dirs, *filter(None, [os.environ.get("NATIVEVAL_DATA_DIR")])]
                )
        stand_in = kind.stand_in(step)
        if stand_in:
            env[stand_in.api_key_env] = STAND_IN_API_KEY
        return env

    def _ensure_stand_in(self, step: Step) -> None:
        """Start the local stand-in server the step needs, if any and not yet running (study/stand_ins.py)."""
        stand_in = KINDS[step.kind].stand_in(step)
        if stand_in is None:
            return
        url, started = self._stand_ins.url(stand_in)
        self.ctx.stand_in_urls[stand_in.key] = url
        if started:
            self.echo(f"  started a local STAND-IN {stand_in.what} at {url} ({stand_in.note})")

    def _prepare_dir(self, step: Step, forced: bool = False) -> bool:
        """Remove what an unfinished or outdated run left behind, then record that this key started.

        A command that can continue an interrupted attempt (``RESUME_FLAGS``) keeps the leftovers of an
        attempt with the same key unless the step is forced; return True when it should resume."""
        (step.out / MARKER).unlink(missing_ok=True)
        started = step.out / STARTED
        if not forced and recorded_key(started) == step.key and resumes_in_place(step, self.config):
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
            with step_lock(self.config.output_dir / ".locks", step) as lock:
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
        self._ensure_stand_in(step)
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
        argv = group_command(steps, self.ctx, scratch)
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
            group_key=lambda step: group_key(step, self.config),
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

        with stop_on_signals():
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
                self._stand_ins.stop_all()
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

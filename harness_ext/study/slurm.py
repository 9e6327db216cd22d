"""The study on a Slurm cluster: export it as job arrays with per-step dependencies, and say where it stands.

``--export-slurm DIR`` writes ``steps.txt`` (line N+1: the command of step N, ``nativeval study FILE --only
STEP``), an array script that runs line ``$SLURM_ARRAY_TASK_ID + 1``, and ``submit.sh``, which submits one
array per group of steps that share a resource class (gpu, cpu, api: study/kinds.py) and
exactly the same upstream steps. Array task ids are step numbers, so a step's dependents wait for that
task alone (``afterok:JOB_N``), not for a whole stage, and ``--kill-on-invalid-dep=yes`` makes a failed
step's dependents end at once, visibly, instead of pending forever.

``--status`` reads the steps' markers and, for steps submitted by ``submit.sh`` (it records array task ids
in the output directory), ``squeue`` and, where the cluster keeps accounting, ``sacct``.
"""

from __future__ import annotations

import fcntl
import os
import shlex
import shutil
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_text
from nativeval.harness_ext.study.commands import CommandContext, command_for
from nativeval.harness_ext.study.config import SlurmResources
from nativeval.harness_ext.study.entry_points import cli_path
from nativeval.harness_ext.study.kinds import KINDS
from nativeval.harness_ext.study.plan import Plan
from nativeval.harness_ext.study.state import STARTED, select_steps, step_state
from nativeval.harness_ext.study.step import Step

JOBS_FILE = ".nativeval_slurm_jobs.tsv"  # in the output directory: "JOB_TASK<TAB>STEP" per submitted step
MAX_ARRAY_INDEX = 1000  # Slurm's default MaxArraySize is 1001


def needs_gpu(step: Step) -> bool:
    """Fine-tuning and evaluation need a GPU unless the model is the toy model or the eval runs on the CPU."""
    kind = KINDS[step.kind]
    return kind.resource_class == "gpu" and kind.runs_model(step)


def sbatch_options(resources: SlurmResources) -> list[str]:
    options = [f"--partition={resources.partition}"] if resources.partition else []
    options += [f"--time={resources.time}", f"--mem={resources.memory}", f"--cpus-per-task={resources.cpus}"]
    options += [f"--gres=gpu:{resources.gpus}"] if resources.gpus else []
    return options + list(resources.extra_args)


def job_name(plan: Plan) -> str:
    return f"nativeval-{plan.config.name}"


def _array_spec(indices: list[int]) -> str:
    """0,1,2,5 -> 0-2,5 (Slurm's --array syntax)."""
    parts, start = [], None
    for i, n in enumerate(indices):
        if start is None:
            start = n
        if i + 1 == len(indices) or indices[i + 1] != n + 1:
            parts.append(str(start) if start == n else f"{start}-{n}")
            start = None
    return ",".join(parts)


SBATCH_TEMPLATE = """#!/bin/bash
# One nativeval study step per array task: line $SLURM_ARRAY_TASK_ID + 1 of steps.txt (the task id is the
# step's number in steps.tsv). submit.sh gives each array its partition, time, memory and GPUs.
#SBATCH --output=logs/%x-%A_%a.out
set -euo pipefail
cd {workdir}
line=$(sed -n "$((SLURM_ARRAY_TASK_ID + 1))p" {steps})
echo "nativeval step $SLURM_ARRAY_TASK_ID on $(hostname): $line"
eval "$line"
"""


@dataclass
class _Group:
    resource_class: str
    upstream: tuple[int, ...]  # step numbers (in steps.txt) this group's steps wait for
    steps: list[int]


def export_slurm(
    plan: Plan,
    out_dir: str | os.PathLike,
    study_file: str,
    variables: dict[str, str],
    only: list[str] | None = None,
    force: list[str] | None = None,
    output_dir: str | None = None,
) -> list[Path]:
    """Write steps.txt, steps.tsv, commands.sh (every step in order, anywhere), nativeval_step.sbatch and
    submit.sh into ``out_dir``; run nothing. A step that needs a GPU for a config without GPUs is an error."""
    config = plan.config
    out_dir = Path(out_dir).resolve()
    selection = select_steps(plan, only, force)
    steps = selection.to_run
    if len(steps) > MAX_ARRAY_INDEX:
        raise InputError(
            f"{len(steps)} steps to export; Slurm arrays take at most {MAX_ARRAY_INDEX} by default: "
            "export part of the study (`--only KIND`) at a time"
        )
    gpu_steps = [s for s in steps if needs_gpu(s)]
    if gpu_steps and not config.slurm["gpu"].gpus:
        raise InputError(
            f"{config.path}: slurm.gpu: {len(gpu_steps)} step(s) need a GPU (e.g. {gpu_steps[0].id}) "
            "but slurm.gpu.gpus is 0 (no GPU partition): set slurm.gpu.partition and gpus for a "
            "partition with GPUs, or run the study without Slurm (`nativeval study FILE`)"
        )

    base = [sys.executable, cli_path(), "study", str(Path(study_file).resolve())]
    base += [a for k, v in sorted(variables.items()) for a in ("--var", f"{k}={v}")]
    base += ["--output-dir", str(config.output_dir)] if output_dir else []
    number = {s.id: i for i, s in enumerate(steps)}
    ctx = CommandContext(plan)
    workdir = Path.cwd()
    lines, table, commands = [], ["number\tclass\tstep\tkey\tstatus\tafter\tcommand"], []
    groups: dict[tuple[str, tuple[int, ...]], _Group] = {}
    for step in steps:
        argv = (
            base
            + ["--only", step.id, "--cache-per-step"]
            + (["--force", step.id] if step.id in selection.forced else [])
        )
        raw = shlex.join(_sharded_command(plan, step, ctx))
        upstream = _direct_upstream(plan, step, number)
        resource_class = KINDS[step.kind].resource_class
        groups.setdefault((resource_class, upstream), _Group(resource_class, upstream, [])).steps.append(
            number[step.id]
        )
        commands.append(shlex.join(argv))
        lines += [f"# {number[step.id]} {step.id}  (runs: {raw})", shlex.join(argv)]
        table.append(
            f"{number[step.id]}\t{resource_class}\t{step.id}\t{step.key}\t{selection.states[step.id]}\t"
            f"{','.join(map(str, upstream))}\t{raw}"
        )

    name = job_name(plan)
    jobs_file = config.output_dir / JOBS_FILE
    local = shlex.join(
        [
            "nativeval",
            "study",
            str(Path(study_file).resolve()),
            *[a for k, v in sorted(variables.items()) for a in ("--var", f"{k}={v}")],
            *(["--output-dir", str(config.output_dir)] if output_dir else []),
        ]
    )
    submit = [
        "#!/bin/bash",
        f"# Submit study {config.name} to Slurm: {len(steps)} steps in {len(groups)} job arrays. "
        "Array task N runs",
        "# line N+1 of steps.txt; each array waits (afterok) for exactly the steps its steps read, and",
        "# --kill-on-invalid-dep=yes ends the dependents of a failed step at once. Rerun this script after a",
        "# failure: finished steps are no-ops (their markers match), the rest run again.",
        "set -euo pipefail",
        'cd "$(dirname "$0")"',
        "if ! command -v sbatch >/dev/null 2>&1; then",
        "  echo "
        + shlex.quote(
            f"submit.sh: sbatch not found on the PATH: this script needs Slurm; to run the study "
            f"on this machine instead: {local}"
        )
        + " >&2",
        "  exit 2",
        "fi",
        f"name={shlex.quote(name)}",
        'if [ -n "$(squeue -h -u "$(id -un)" -n "$name" -t pending,running -o %i 2>/dev/null)" ]; then',
        '  echo "submit.sh: jobs of this study are still queued or running (squeue -n $name): '
        'wait for them or scancel -n $name, then rerun" >&2',
        "  exit 1",
        "fi",
        f"jobs={shlex.quote(str(jobs_file))}",
        'mkdir -p logs "$(dirname "$jobs")"',
        "submit() {  # ARRAY AFTER SBATCH-OPTIONS...: submit one array, print its job id",
        "  local array=$1 after=$2; shift 2",
        '  local id; id=$(sbatch --parsable --job-name="$name" --array="$array" '
        '${after:+--dependency=afterok:$after --kill-on-invalid-dep=yes} "$@" nativeval_step.sbatch)',
        '  echo "${id%%;*}"',
        "}",
    ]
    for g, group in enumerate(groups.values()):
        after = ":".join(f"${{j{_group_of(groups, u)}}}_{u}" for u in group.upstream)
        options = " ".join(shlex.quote(o) for o in sbatch_options(config.slurm[group.resource_class]))
        kinds = "+".join(sorted({steps[i].kind for i in group.steps}))
        submit.append(f'j{g}=$(submit {_array_spec(group.steps)} "{after}" {options})')
        submit.append(f'echo "job $j{g}: {group.resource_class} array of {len(group.steps)} ({kinds})"')
        submit += [
            f'printf "%s\\t%s\\n" "${{j{g}}}_{i}" {shlex.quote(steps[i].id)} >>"$jobs"' for i in group.steps
        ]
    submit.append("echo " + shlex.quote(f"submitted; progress: {local} --status"))

    files = {
        "steps.txt": "\n".join(commands) + "\n",
        "steps.tsv": "\n".join(table) + "\n",
        "commands.sh": "\n".join(
            [
                "#!/bin/bash",
                f"# nativeval study {config.name}: {len(steps)} steps, in order.",
                "# Each line runs one step and records it as done; rerunning a finished line is a no-op.",
                "set -euo pipefail",
                f"cd {shlex.quote(str(workdir))}",
                *lines,
            ]
        )
        + "\n",
        "nativeval_step.sbatch": SBATCH_TEMPLATE.format(
            workdir=shlex.quote(str(workdir)), steps=shlex.quote(str(out_dir / "steps.txt"))
        ),
        "submit.sh": "\n".join(submit) + "\n",
    }
    out_dir.mkdir(parents=True, exist_ok=True)
    written = []
    for file_name, text in files.items():
        atomic_write_text(out_dir / file_name, text)
        if file_name.endswith((".sh", ".sbatch")):
            os.chmod(out_dir / file_name, 0o755)
        written.append(out_dir / file_name)
    return written


def _sharded_command(plan: Plan, step: Step, ctx: CommandContext) -> list[str]:
    """The raw command the exported line runs (with --cache-per-step), for steps.tsv and commands.sh."""
    shared, plan.cache_per_step = plan.cache_per_step, True
    try:
        return command_for(step, ctx)
    finally:
        plan.cache_per_step = shared


def _direct_upstream(plan: Plan, step: Step, number: dict[str, int]) -> tuple[int, ...]:
    """The step numbers this step waits for, leaving out those another of them already waits for."""
    upstream = {d for d in step.dep_ids() if d in number}
    implied = {a for d in upstream for a in plan.ancestors(d)}
    return tuple(sorted(number[d] for d in upstream - implied))


def _group_of(groups: dict, step_number: int) -> int:
    return next(g for g, group in enumerate(groups.values()) if step_number in group.steps)


# --- status ---------------------------------------------------------------------------------------------
FAILED_STATES = {
    "FAILED",
    "CANCELLED",
    "TIMEOUT",
    "OUT_OF_MEMORY",
    "NODE_FAIL",
    "PREEMPTED",
    "BOOT_FAIL",
    "DEADLINE",
    "COMPLETED",
}  # COMPLETED without a marker: the step did not finish either


def _submitted(plan: Plan) -> dict[str, str]:
    """step id -> the array task (JOB_N) that last ran it, from submit.sh's record."""
    path = plan.config.output_dir / JOBS_FILE
    tasks: dict[str, str] = {}
    if path.is_file():
        for line in path.read_text(encoding="utf-8").splitlines():
            task, _, step_id = line.partition("\t")
            if step_id in plan.steps:
                tasks[step_id] = task
    return tasks


def _slurm_states(name: str, tasks: set[str]) -> dict[str, tuple[str, str]]:
    """JOB_N -> (state, reason) from squeue (jobs named ``name``), then sacct for what squeue forgot."""
    found: dict[str, tuple[str, str]] = {}
    jobs = sorted({t.split("_")[0] for t in tasks})
    if not jobs:
        return found
    if shutil.which("squeue"):
        result = subprocess.run(
            ["squeue", "-h", "-r", "-t", "all", "-n", name, "-o", "%i|%T|%r"], capture_output=True, text=True
        )
        whole: dict[str, tuple[str, str]] = {}  # an array's own record: the tasks that never started
        for line in result.stdout.splitlines():
            task, _, rest = line.strip().partition("|")
            state, _, reason = rest.partition("|")
            (found if "_" in task else whole)[task] = (state, reason)
        found = {
            t: found.get(t) or whole[t.split("_")[0]] for t in tasks if t in found or t.split("_")[0] in whole
        }
    missing = tasks - set(found)
    if missing and shutil.which("sacct"):
        result = subprocess.run(
            ["sacct", "-n", "-P", "-X", "-j", ",".join(jobs), "-o", "JobID,State,Reason"],
            capture_output=True,
            text=True,
        )
        if result.returncode == 0:
            for line in result.stdout.splitlines():
                task, state, reason = (line.split("|") + ["", ""])[:3]
                if task in missing:
                    found[task] = (state.split()[0] if state else "", reason)
    return found


def _locked_here(plan: Plan, step: Step) -> bool:
    """A local run holds this step's lock right now."""
    lock = plan.config.output_dir / ".locks" / f"{step.slug}.lock"
    if not lock.is_file():
        return False
    with open(lock) as fh:
        try:
            fcntl.flock(fh, fcntl.LOCK_SH | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        fcntl.flock(fh, fcntl.LOCK_UN)
    return False


def study_status(plan: Plan) -> tuple[dict[str, str], list[str]]:
    """Each step's status (done | running | queued | failed | blocked | to run) and the lines to print."""
    tasks = _submitted(plan)
    slurm = _slurm_states(job_name(plan), set(tasks.values()))
    status: dict[str, str] = {}
    notes: dict[str, str] = {}
    for step in plan.steps.values():
        state = step_state(step)
        task = tasks.get(step.id)
        slurm_state, reason = slurm.get(task, ("", "")) if task else ("", "")
        bad_upstream = next((d for d in step.dep_ids() if status.get(d) in ("failed", "blocked")), None)
        if state == "done":
            status[step.id] = "done"
        elif slurm_state in ("RUNNING", "COMPLETING", "CONFIGURING") or _locked_here(plan, step):
            status[step.id] = "running"
        elif slurm_state == "PENDING" and "DependencyNeverSatisfied" not in reason:
            status[step.id] = "blocked" if bad_upstream else "queued"
        elif bad_upstream:
            status[step.id] = "blocked"
            notes[step.id] = f"needs {bad_upstream}"
        elif slurm_state in FAILED_STATES or (step.out / STARTED).is_file() or state == "partial":
            status[step.id] = "failed"
        else:
            status[step.id] = "to run"
        if task and step.id not in notes and status[step.id] != "done":
            notes[step.id] = (
                f"job {task}"
                + (f" {slurm_state}" if slurm_state else "")
                + (f" ({reason})" if reason and reason not in ("None", "") else "")
            )
        if status[step.id] == "failed":
            log = plan.config.output_dir / "logs" / f"{step.slug}.log"
            notes[step.id] = ", ".join(
                filter(None, [notes.get(step.id), f"log: {log}" if log.is_file() else ""])
            )
    order = ("done", "running", "queued", "failed", "blocked", "to run")
    counts = {k: sum(1 for v in status.values() if v == k) for k in order}
    width = max(len(s) for s in plan.steps)
    lines = [
        f"study {plan.config.name}: {len(plan.steps)} steps: "
        + ", ".join(f"{n} {k}" for k, n in counts.items() if n)
        + f"; output in {plan.config.output_dir}"
    ]
    for step_id, value in status.items():
        note = notes.get(step_id, "")
        lines.append(f"  {value:<8} {step_id:<{width}}  {note}".rstrip())
    if tasks and not shutil.which("squeue"):
        lines.append("note: squeue not found on the PATH; Slurm job states unknown (markers only)")
    return status, lines

"""The exported demo study on a real single-node Slurm (Debian's slurm-wlm; scripts/slurm_local.sh starts it).

CI installs Slurm (.ci/run); elsewhere these tests skip when it is not installed. They submit the generated
submit.sh, wait for the queue to empty, and compare the leaderboard with a local run of the same study.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "configs" / "demo.yaml"
JOB = "nativeval-demo_zh"


def demo_step_count() -> int:
    from nativeval.harness_ext.study.load import load_plan

    return len(load_plan(DEMO).steps)


QUEUE_PATIENCE_S = 1800  # a stuck queue fails the test with the study's status instead of hanging CI

pytestmark = [
    pytest.mark.slurm,
    pytest.mark.skipif(
        not all(shutil.which(t) for t in ("sbatch", "slurmctld", "slurmd", "munged")),
        reason="Slurm is not installed (apt-get install -y slurm-wlm munge; CI installs it)",
    ),
]


@pytest.fixture(scope="module")
def slurm_cluster(tmp_path_factory):
    if os.geteuid() != 0:
        pytest.skip("scripts/slurm_local.sh needs root (slurmd runs jobs as their owner)")
    state = os.environ.get("NATIVEVAL_SLURM_DIR", "/tmp/nativeval-slurm")
    env = {**os.environ, "NATIVEVAL_SLURM_DIR": state}
    started = subprocess.run(
        ["bash", str(REPO / "scripts" / "slurm_local.sh")], env=env, capture_output=True, text=True
    )
    assert started.returncode == 0, started.stderr
    saved = os.environ.get("SLURM_CONF")
    os.environ["SLURM_CONF"] = f"{state}/slurm.conf"
    yield
    if saved is None:
        os.environ.pop("SLURM_CONF", None)
    else:
        os.environ["SLURM_CONF"] = saved


def study(*args: str, check: bool = True) -> subprocess.CompletedProcess:
    result = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "study", str(DEMO), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
    )
    if check:
        assert result.returncode == 0, result.stdout + result.stderr
    return result


def leaderboard_numbers(out: Path) -> list[str]:
    """The leaderboard's score table (every row's scores, CIs and item counts) as leaderboard.csv has it."""
    rows = (out / "site" / "leaderboard.csv").read_text(encoding="utf-8").splitlines()
    assert len(rows) > 1
    return rows


@pytest.fixture(scope="module")
def local_demo(tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("local") / "out"
    study("--output-dir", str(out))
    return out


def queue(name: str = JOB) -> list[str]:
    result = subprocess.run(
        ["squeue", "-h", "-r", "-n", name, "-t", "pending,running", "-o", "%i %T %r"],
        capture_output=True,
        text=True,
    )
    assert result.returncode == 0, result.stderr
    return result.stdout.splitlines()


def wait_for_queue(out: Path) -> None:
    deadline = time.monotonic() + QUEUE_PATIENCE_S
    while queue():
        if time.monotonic() > deadline:
            status = study("--output-dir", str(out), "--status", check=False).stdout
            subprocess.run(["scancel", "-n", JOB])
            pytest.fail(f"the queue did not empty in {QUEUE_PATIENCE_S}s:\n{status}")
        time.sleep(2)


def export_and_submit(tmp: Path) -> tuple[Path, Path]:
    out, export = tmp / "out", tmp / "slurm"
    study("--output-dir", str(out), "--export-slurm", str(export))
    submitted = subprocess.run(["bash", str(export / "submit.sh")], capture_output=True, text=True)
    assert submitted.returncode == 0, submitted.stdout + submitted.stderr
    return out, export


def markers(out: Path) -> dict[str, str]:
    return {str(p.parent.relative_to(out)): p.read_text() for p in out.rglob(".nativeval_step.json")}


def test_exported_demo_on_slurm_matches_the_local_run(slurm_cluster, local_demo, tmp_path):
    out, export = export_and_submit(tmp_path)
    wait_for_queue(out)
    status = study("--output-dir", str(out), "--status").stdout
    assert status.splitlines()[0].startswith(
        f"study demo_zh: {demo_step_count()} steps: {demo_step_count()} done"
    ), status
    assert leaderboard_numbers(out) == leaderboard_numbers(local_demo)
    # every API step wrote its own cache shard; no SQLite file is shared by concurrent jobs
    shards = sorted(
        p.relative_to(out / "cache" / "steps") for p in (out / "cache" / "steps").rglob("*.sqlite")
    )
    assert [p.name for p in shards] == ["judge.sqlite"] * 3 and len({p.parent for p in shards}) == 3
    assert not (out / "cache" / "judge.sqlite").exists()
    logs = sorted(p.name for p in (export / "logs").iterdir())
    assert len(logs) == demo_step_count() and all(name.startswith(JOB) for name in logs)


def running_tasks() -> dict[str, str]:
    """Running array task (JOB_N) -> its step number N."""
    return {line.split()[0]: line.split()[0].split("_")[1] for line in queue() if " RUNNING " in f" {line} "}


def step_process(step_out: Path) -> int | None:
    """The pid of the step's own command (not the `study --only` wrapper): the one writing into step_out."""
    for proc in Path("/proc").iterdir():
        if not proc.name.isdigit():
            continue
        try:
            argv = (proc / "cmdline").read_bytes().split(b"\0")
        except OSError:
            continue
        if b"--out" in argv and argv[argv.index(b"--out") + 1] == str(step_out).encode():
            return int(proc.name)
    return None


def test_cancelled_and_killed_steps_rerun_and_nothing_finished_is_redone(slurm_cluster, local_demo, tmp_path):
    out, export = export_and_submit(tmp_path)
    numbers = {
        line.split("\t")[2]: line.split("\t")[0]
        for line in (export / "steps.tsv").read_text().splitlines()[1:]
    }
    finetunes = [s for s in numbers if s.startswith("finetune/")]
    finetune_numbers = {numbers[s] for s in finetunes}
    # wait until two fine-tuning tasks run and their commands have started
    deadline = time.monotonic() + QUEUE_PATIENCE_S
    while True:
        running = {task: n for task, n in running_tasks().items() if n in finetune_numbers}
        pids = {
            task: step_process(
                out
                / "checkpoints"
                / "toy"
                / "zh"
                / next(s for s in finetunes if numbers[s] == n).split("/")[3]
                / "lr3e-3"
            )
            for task, n in running.items()
        }
        if len(running) >= 2 and all(pids.values()):
            break
        assert time.monotonic() < deadline and queue(), "the fine-tuning array never ran two tasks at once"
        time.sleep(0.5)
    cancelled, killed = sorted(running)[:2]
    subprocess.run(["scancel", cancelled], check=True)
    os.kill(pids[killed], signal.SIGKILL)
    wait_for_queue(out)

    status = study("--output-dir", str(out), "--status").stdout
    by_step = {line.split()[1]: line.split()[0] for line in status.splitlines()[1:]}
    hit = {s for s in finetunes if numbers[s] in (running[cancelled], running[killed])}
    assert all(by_step[s] == "failed" for s in hit), status
    # their dependents ended visibly (kill-on-invalid-dep), not pending; the rest of the study finished
    dependents = [
        s
        for s in numbers
        if s.startswith(("eval/", "judge/")) and s.split("/")[-2] in {h.split("/")[3] for h in hit}
    ]
    assert dependents and all(by_step[s] == "blocked" for s in dependents), status
    assert by_step["leaderboard"] == "blocked" and by_step["toy_model/toy"] == "done"
    untouched = [
        s
        for s in numbers
        if s.startswith(("finetune/", "eval/", "judge/")) and s not in hit and s not in dependents
    ]
    assert untouched and all(by_step[s] == "done" for s in untouched), status
    finished = markers(out)

    rerun = subprocess.run(["bash", str(export / "submit.sh")], capture_output=True, text=True)
    assert rerun.returncode == 0, rerun.stderr
    wait_for_queue(out)
    status = study("--output-dir", str(out), "--status").stdout
    assert status.splitlines()[0].startswith(
        f"study demo_zh: {demo_step_count()} steps: {demo_step_count()} done"
    ), status
    after = markers(out)
    assert {k: after[k] for k in finished} == finished  # nothing that had finished ran again
    assert leaderboard_numbers(out) == leaderboard_numbers(local_demo)
    reruns = [p for p in (export / "logs").iterdir() if "0 to run" in p.read_text()]
    assert len(reruns) == len(finished)  # the second submission found each finished step done

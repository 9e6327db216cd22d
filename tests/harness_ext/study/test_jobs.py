"""`study --jobs N --gpus IDS`: independent steps at once, GPU slots, dependencies, failures, kill -9,
resume.

A simulated node (``NATIVEVAL_GPU_COUNT``) stands in for the GPUs; step commands are replaced (the study
file's `commands`) by a tiny script that records its CUDA_VISIBLE_DEVICES and start/end times in a ledger,
and can be held at a gate, so these tests check the scheduler's promises without the real commands.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.study.load import load_plan
from nativeval.harness_ext.study.scheduler import GPU_COUNT_ENV, Node, Scheduler
from nativeval.harness_ext.study.state import MARKER, STARTED
from nativeval.harness_ext.testing.study_outputs import PROMISED_OUTPUTS, write_promised_outputs

REPO = Path(__file__).resolve().parents[3]

FAKE_STEP = textwrap.dedent("""
    import json, os, sys, time
    kind, step, out, inputs = sys.argv[1], sys.argv[2], sys.argv[3], [p for p in sys.argv[4].split(",") if p]
    ledger = os.environ["FAKE_LEDGER"]
    def record(event, **more):
        line = json.dumps({"event": event, "step": step, "time": time.time(), "pid": os.getpid(),
                           "gpus": os.environ.get("CUDA_VISIBLE_DEVICES"),
                           "threads": os.environ.get("OMP_NUM_THREADS"), **more})
        with open(ledger, "a") as fh:
            fh.write(line + "\\n")
    record("start")
    if os.environ.get("FAKE_FAIL_ON") == step:
        time.sleep(float(os.environ.get("FAKE_FAIL_SECONDS") or os.environ.get("FAKE_SECONDS", "0.3")))
        record("fail")
        sys.exit(3)
    gated = [g for g in os.environ.get("FAKE_GATE_ON", "").split(";") if g]
    if any(g == step for g in gated):
        open(os.path.join(out, "waiting.txt"), "w").write(str(os.getpid()))
        while not os.path.exists(os.environ["FAKE_GATE"]):
            time.sleep(0.05)
    time.sleep(float(os.environ.get("FAKE_SECONDS", "0.3")))
    seen = []
    for p in sorted(inputs):
        result = os.path.join(p, "result.json")
        seen.append(open(p).read() if os.path.isfile(p) else json.load(open(result)))
    json.dump({"step": step, "inputs": seen}, open(os.path.join(out, "result.json"), "w"), sort_keys=True)
    for name, doc in PROMISED[kind].items():  # what the kind promises (study/kinds.py)
        os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
        json.dump(doc, open(os.path.join(out, name), "w"))
    record("end")
""")
FAKE_STEP = f"PROMISED = {PROMISED_OUTPUTS!r}\n" + FAKE_STEP


def write_study(tmp: Path, **changes) -> Path:
    """Two Hub models (so their fine-tuning and evaluation want GPUs) x two data files: 4 fine-tunings,
    4 evaluations, one leaderboard; every command is the fake step."""
    for name in ("native", "other"):
        (tmp / f"{name}_zh.json").write_text(json.dumps([{"instruction": "q", "output": "a", "id": "0"}]))
    fake = tmp / "fake_step.py"
    fake.write_text(FAKE_STEP)
    study = {
        "study": "jobs",
        "output_dir": "out",
        "languages": ["zh"],
        "base_models": {"a": "org/model-a", "b": "org/model-b"},
        "variants": {
            "native": {"file": str(tmp / "native_{lang}.json")},
            "other": {"file": str(tmp / "other_{lang}.json")},
        },
        "finetune": {"runs": [{"models": "all", "variants": "all", "lr": [1e-4]}]},
        "eval": {"tasks": ["translated_{lang}_xquad"], "limit": 2},
        "commands": {
            kind: ["{python}", str(fake), "{kind}", "{step}", "{out}", "{inputs}"]
            for kind in ("finetune", "eval", "leaderboard")
        },
        **changes,
    }
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


@pytest.fixture()
def ledger(tmp_path, monkeypatch) -> Path:
    path = tmp_path / "ledger.jsonl"
    monkeypatch.setenv("FAKE_LEDGER", str(path))
    for name in (
        "FAKE_GATE_ON",
        "FAKE_GATE",
        "FAKE_FAIL_ON",
        "FAKE_SECONDS",
        "FAKE_FAIL_SECONDS",
        "CUDA_VISIBLE_DEVICES",
        "OMP_NUM_THREADS",
    ):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv(GPU_COUNT_ENV, "4")
    return path


def events(ledger: Path) -> list[dict]:
    return [json.loads(line) for line in ledger.read_text().splitlines()] if ledger.exists() else []


def intervals(ledger: Path) -> dict[str, tuple[float, float, str | None]]:
    """step -> (start, end, CUDA_VISIBLE_DEVICES) of the steps that finished."""
    seen = events(ledger)
    starts = {e["step"]: e for e in seen if e["event"] == "start"}
    return {e["step"]: (starts[e["step"]]["time"], e["time"], e["gpus"]) for e in seen if e["event"] == "end"}


def study(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(cli.main, ["study", *args])
    return result.exit_code, result.output


def most_at_once(spans: list[tuple[float, float]]) -> int:
    points = sorted([(start, 1) for start, _ in spans] + [(end, -1) for _, end in spans])
    running = best = 0
    for _, change in points:
        running += change
        best = max(best, running)
    return best


# --- scheduling -------------------------------------------------------------------------------------------
def test_steps_run_at_once_on_their_own_gpus_after_their_inputs(tmp_path, ledger):
    path = write_study(tmp_path)
    code, output = study(str(path), "--jobs", "3", "--gpus", "1,3")
    assert code == 0, output
    spans = intervals(ledger)
    plan = load_plan(path)
    assert set(spans) == set(plan.steps)
    for step in plan.steps.values():  # every step started after each of its inputs had ended
        assert all(spans[dep][1] <= spans[step.id][0] for dep in step.dep_ids()), step.id
    gpu_steps = {s: v for s, v in spans.items() if s != "leaderboard"}
    assert {gpus for _, _, gpus in gpu_steps.values()} == {"1", "3"}  # only the GPUs given, one per step
    for gpu in ("1", "3"):  # a GPU runs one step at a time
        assert most_at_once([(a, b) for a, b, g in gpu_steps.values() if g == gpu]) == 1
    assert most_at_once([(a, b) for a, b, _ in gpu_steps.values()]) == 2  # both GPUs were busy at once
    assert spans["leaderboard"][2] == ""  # a CPU step sees no GPU on a node whose GPUs the runner manages
    assert "on GPU 1" in output and "running 2;" in output
    marker = json.loads((tmp_path / "out/checkpoints/a/zh/native/lr1e-4" / MARKER).read_text())
    assert marker["gpus"] in (["1"], ["3"])

    ledger.unlink()
    code, output = study(str(path), "--jobs", "3", "--gpus", "1,3")  # a no-op rerun runs nothing
    assert code == 0 and "0 to run" in output and not ledger.exists()


def test_a_step_holds_as_many_gpus_as_the_study_file_gives_it(tmp_path, ledger):
    path = write_study(tmp_path, slurm={"gpu": {"gpus": 2}})
    code, output = study(str(path), "--jobs", "4")  # all 4 GPUs of the simulated node: two steps at once
    assert code == 0, output
    spans = {s: v for s, v in intervals(ledger).items() if s != "leaderboard"}
    assert {gpus for _, _, gpus in spans.values()} == {"0,1", "2,3"}
    assert most_at_once([(a, b) for a, b, _ in spans.values()]) == 2


def test_longest_path_first_and_backfill(tmp_path):
    """The scheduler alone: the step with the longest path to the end starts first; a step that does not fit
    the free GPUs lets a smaller one start."""
    plan = load_plan(write_study(tmp_path))
    steps = list(plan.steps.values())
    for step in steps:
        step.gpu_hours = 5.0 if step.id.startswith("finetune/b/") else 1.0
    scheduler = Scheduler(plan, steps, Node(gpus=("0", "1"), jobs=8))
    first = [unit[0].id for unit, _ in scheduler.start_ready()]
    assert first == ["finetune/b/zh/native/lr1e-4", "finetune/b/zh/other/lr1e-4"]
    assert scheduler.ended("finetune/b/zh/native/lr1e-4", ok=False) == [
        "eval/b/zh/native/lr1e-4-mono",
        "leaderboard",
    ]
    assert [unit[0].id for unit, _ in scheduler.start_ready()] == ["finetune/a/zh/native/lr1e-4"]


# --- failures -------------------------------------------------------------------------------------------
def test_a_failed_step_blocks_its_dependents_and_independent_steps_finish(tmp_path, ledger, monkeypatch):
    monkeypatch.setenv("FAKE_FAIL_ON", "finetune/a/zh/native/lr1e-4")
    path = write_study(tmp_path)
    code, output = study(str(path), "--jobs", "4")
    assert code == 1, output
    finished = set(intervals(ledger))
    assert "eval/a/zh/native/lr1e-4-mono" not in finished and "leaderboard" not in finished
    assert {
        "eval/a/zh/other/lr1e-4-mono",
        "eval/b/zh/native/lr1e-4-mono",
        "eval/b/zh/other/lr1e-4-mono",
    } <= finished
    assert "eval/a/zh/native/lr1e-4-mono: blocked (needs finetune/a/zh/native/lr1e-4)" in output
    assert output.strip().splitlines()[-1].startswith("error: 1 step(s) did not finish")


def test_fail_fast_stops_the_running_steps(tmp_path, ledger, monkeypatch):
    gate = tmp_path / "gate"
    monkeypatch.setenv("FAKE_GATE", str(gate))
    monkeypatch.setenv(
        "FAKE_GATE_ON", "finetune/b/zh/native/lr1e-4;eval/a/zh/other/lr1e-4-mono"
    )  # held: running
    monkeypatch.setenv("FAKE_FAIL_ON", "finetune/a/zh/native/lr1e-4")
    # the other fine-tunings end seconds after the failure: a step started in between would be the runner's
    # fault, not a race between two steps ending at the same moment
    monkeypatch.setenv("FAKE_FAIL_SECONDS", "0.5")
    monkeypatch.setenv("FAKE_SECONDS", "3")
    path = write_study(tmp_path)
    code, output = study(str(path), "--jobs", "4", "--fail-fast")
    assert code == 1 and "--fail-fast: stopping" in output, output
    held = tmp_path / "out/checkpoints/b/zh/native/lr1e-4"
    pid = int((held / "waiting.txt").read_text())
    assert wait_gone(pid), "a step stopped by --fail-fast kept running"
    assert not (held / MARKER).exists() and (held / STARTED).exists()
    seen = events(ledger)
    (failed,) = [e["time"] for e in seen if e["event"] == "fail"]
    assert all(e["time"] < failed for e in seen if e["event"] == "start")  # nothing started after the failure
    assert not any(e["event"] == "end" and e["step"].startswith("eval/") for e in seen)
    assert "leaderboard" not in {e["step"] for e in seen}


# --- kill -9 and resume ---------------------------------------------------------------------------------
# with 4 GPUs: the 4 fine-tunings start, those of model a finish, then both evaluations of model a start; the
# three held here are running when the runner is killed, three other steps have finished
HELD = ["finetune/b/zh/native/lr1e-4", "finetune/b/zh/other/lr1e-4", "eval/a/zh/native/lr1e-4-mono"]


def out_of(tmp: Path, step_id: str) -> Path:
    return load_plan(tmp / "study.yaml").steps[step_id].out


def test_kill_9_while_three_steps_run_then_rerun_loses_nothing_and_redoes_nothing(tmp_path, ledger):
    reference = tmp_path / "reference"
    reference.mkdir()
    env = {**os.environ, "FAKE_LEDGER": str(reference / "ledger.jsonl")}
    done = subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "study", str(write_study(reference)), "--jobs", "4"],
        env=env,
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    expected_board = (reference / "out/site/result.json").read_text()

    work = tmp_path / "work"
    work.mkdir()
    path = write_study(work)
    gate = tmp_path / "gate"
    env = {**os.environ, "FAKE_GATE": str(gate), "FAKE_GATE_ON": ";".join(HELD)}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "study", str(path), "--jobs", "4"],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    waiting = [out_of(work, s) / "waiting.txt" for s in HELD]
    finished_first = out_of(work, "eval/a/zh/other/lr1e-4-mono") / MARKER
    try:
        deadline = time.monotonic() + 120  # a bound on a hang, not a speed requirement
        while not (all(w.exists() and w.read_text() for w in waiting) and finished_first.exists()):
            assert proc.poll() is None and time.monotonic() < deadline, (
                "the runner never had three steps running"
            )
            time.sleep(0.05)
        code, status = study(str(path), "--status")
        assert all(f"running  {s}" in status for s in HELD), status
    finally:
        os.kill(proc.pid, signal.SIGKILL)  # the runner only: no handler runs; its steps die with it
        proc.wait()
    pids = [int(w.read_text()) for w in waiting]
    assert all(wait_gone(pid) for pid in pids), "a step outlived the killed runner"
    before = events(ledger)
    done_before = {e["step"] for e in before if e["event"] == "end"}
    assert len(done_before) == 3 and not set(HELD) & done_before

    gate.touch()
    code, output = study(str(path), "--jobs", "4")
    assert code == 0, output
    after = events(ledger)[len(before) :]
    assert not {e["step"] for e in after} & done_before  # nothing finished is done again
    ends = [e["step"] for e in events(ledger) if e["event"] == "end"]
    assert sorted(ends) == sorted(load_plan(path).steps)  # every step finished exactly once
    assert (work / "out/site/result.json").read_text() == expected_board


def wait_gone(pid: int) -> bool:
    for _ in range(600):  # a bound on a hang, not a speed requirement
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        stat = Path(f"/proc/{pid}/stat")
        if stat.exists() and stat.read_text().split(") ")[-1].startswith("Z"):
            return True
        time.sleep(0.05)
    return False


# --- bad input ------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("args", "gpu_count", "message"),
    [
        (["--jobs", "0"], "4", "--jobs 0: give at least 1"),
        (["--gpus", "0,7"], "4", "--gpus 0,7: no GPU 7 on this node (it has 0, 1, 2, 3"),
        (["--gpus", "0"], "0", "--gpus 0: no GPU 0 on this node (it has none"),
        (["--gpus", "1,1"], "4", "--gpus 1,1: a GPU id is given twice"),
        (["--gpus", "0,,1"], "4", "expected comma-separated GPU ids"),
    ],
)
def test_bad_jobs_and_gpus_are_one_line_exit_2_and_write_nothing(
    tmp_path, ledger, monkeypatch, args, gpu_count, message
):
    monkeypatch.setenv(GPU_COUNT_ENV, gpu_count)
    path = write_study(tmp_path)
    result = CliRunner().invoke(cli.main, ["study", str(path), *args])
    assert result.exit_code == 2
    assert result.output.strip().splitlines() == [result.output.strip()] and message in result.output
    assert not (tmp_path / "out").exists() and not ledger.exists()


@pytest.mark.parametrize("dry_run", [False, True])
def test_a_step_asking_for_more_gpus_than_the_node_has_is_one_line_at_plan_time(
    tmp_path, ledger, monkeypatch, dry_run
):
    path = write_study(tmp_path, slurm={"gpu": {"gpus": 3}})
    result = CliRunner().invoke(
        cli.main, ["study", str(path), "--gpus", "0,1", *(["--dry-run"] if dry_run else [])]
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        "error: step finetune/a/zh/native/lr1e-4 asks for 3 GPUs (slurm.gpu.gpus in "
        "study.yaml) but this runner has 2 (0, 1); lower slurm.gpu.gpus or give more "
        "GPUs with --gpus"
    )
    assert not ledger.exists() and not (tmp_path / "out" / "checkpoints").exists()


def test_without_gpus_gpu_steps_run_on_the_cpu_within_the_cpu_limit(tmp_path, ledger, monkeypatch):
    monkeypatch.setenv(GPU_COUNT_ENV, "0")
    path = write_study(tmp_path)
    code, output = study(str(path), "--jobs", "4")
    assert code == 0, output
    assert "note: no GPU found" in output
    spans = intervals(ledger)
    assert {gpus for _, _, gpus in spans.values()} == {None}  # not pinned: the environment is left alone
    assert most_at_once([(a, b) for a, b, _ in spans.values()]) == 2  # settings.yaml local.limits.cpu
    # two steps at once share the cores, not each a thread per core (the demo: 66.9 s -> 43.8 s)
    threads = {json.loads(line).get("threads") for line in ledger.read_text().splitlines()}
    assert threads == {str(max(1, (os.cpu_count() or 1) // 2))}


def test_one_step_at_a_time_leaves_the_cpu_threads_alone(tmp_path, ledger, monkeypatch):
    monkeypatch.setenv(GPU_COUNT_ENV, "0")
    code, output = study(str(write_study(tmp_path)))
    assert code == 0, output
    assert {json.loads(line).get("threads") for line in ledger.read_text().splitlines()} == {None}


# --- evaluations of several adapters of one base: one process, one base load --------------------------------
class RecordingExecutor:
    """Stands in for every step's process: fake outputs where the command says, and the argv of each call."""

    def __init__(self):
        self.calls: list[list[str]] = []

    def __call__(self, argv: list[str], env: dict[str, str], log: Path) -> int:
        self.calls.append(argv)
        if "eval" not in argv:
            write_promised_outputs(argv[2], argv[4])  # the fake step's argv: python, script, kind, step, out
            return 0
        out = Path(argv[argv.index("--output-path") + 1])
        peft = argv[argv.index("--peft") + 1].split(",") if "--peft" in argv else [None]
        for item in peft:
            folder = out / item.split("=")[0] / "model" if item else out / "model"
            folder.mkdir(parents=True)
            (folder / "results_2026.json").write_text(json.dumps({"results": {}, "adapter": item}))
        return 0


def test_evaluations_of_adapters_of_one_base_run_in_one_process(tmp_path, ledger, monkeypatch):
    from nativeval.harness_ext.study.runner import StudyRunner

    monkeypatch.setenv(GPU_COUNT_ENV, "1")
    path = write_study(tmp_path, base_models={"a": "org/model-7b"})
    study_file = yaml.safe_load(path.read_text())
    del study_file["commands"]["eval"]  # the built-in eval command, which can group
    path.write_text(yaml.safe_dump(study_file))
    plan = load_plan(path)
    executor = RecordingExecutor()
    outcome = StudyRunner(plan, executor, echo=lambda line: None).run(node=Node(gpus=("0",), jobs=1))
    assert set(outcome.values()) == {"done"}
    evals = [argv for argv in executor.calls if "eval" in argv]
    assert len(evals) == 1 and evals[0].index("--peft")  # both adapters in one process
    names = sorted(item.split("=")[0] for item in evals[0][evals[0].index("--peft") + 1].split(","))
    assert names == ["eval__a__zh__native__lr1e-4-mono", "eval__a__zh__other__lr1e-4-mono"]
    for step_id in ("eval/a/zh/native/lr1e-4-mono", "eval/a/zh/other/lr1e-4-mono"):
        step = plan.steps[step_id]
        marker = json.loads((step.out / MARKER).read_text())
        assert sorted(marker["group"]) == sorted(
            ["eval/a/zh/native/lr1e-4-mono", "eval/a/zh/other/lr1e-4-mono"]
        )
        assert json.loads((step.out / "model/results_2026.json").read_text())["adapter"].startswith(
            step.slug + "="
        )
    assert not any((tmp_path / "out/.groups").iterdir())
    assert StudyRunner(load_plan(path), executor, echo=lambda line: None).run() == {}  # a no-op rerun

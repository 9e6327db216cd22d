"""How well `study --jobs` keeps a node's GPUs busy: the paper's Chinese matrix on a simulated 8-GPU node.

Every step of configs/paper_zh.yaml's plan is replaced by a sleep proportional to its estimated GPU-hours
(the `--dry-run` figures; API and CPU steps take no time), scaled so that the whole plan takes seconds. The
real runner runs it (threads, locks, logs, markers; only the step's process is replaced by the sleep) with
``NATIVEVAL_GPU_COUNT`` GPUs. Printed side by side: the makespan, the sequential runner (the sum of all
steps), and the lower bound max(critical path, total GPU work / GPUs); target: makespan <= 1.15 x bound.

    python bench/study_schedule.py [--aya /path/to/aya] [--gpus 8] [--seconds 30]
    python bench/study_schedule.py --demo      # also: the demo study with --jobs 2 vs --jobs 1 (minutes)

--aya: the study's data release (record counts set the fine-tuning estimates); default ../shared/data/aya.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from nativeval.harness_ext.study.load import load_plan  # noqa: E402
from nativeval.harness_ext.study.runner import StudyRunner  # noqa: E402
from nativeval.harness_ext.study.scheduler import Node, demand, path_lengths  # noqa: E402
from nativeval.harness_ext.study.state import step_state  # noqa: E402
from nativeval.harness_ext.testing.study_outputs import write_promised_outputs  # noqa: E402


class SleepExecutor:
    """Stands in for a step's process: sleeps its scaled duration, writes an output file, records its GPUs."""

    def __init__(self, seconds: dict[str, float]):
        self.seconds = seconds
        self.spans: list[tuple[str, float, float, str]] = []
        self._guard = threading.Lock()

    def __call__(self, argv: list[str], env: dict[str, str], log: Path) -> int:
        step_id, out = argv[1], Path(argv[2])
        start = time.monotonic()
        time.sleep(self.seconds[step_id])
        write_promised_outputs(step_id.split("/")[0], out)
        with self._guard:
            self.spans.append((step_id, start, time.monotonic(), env.get("CUDA_VISIBLE_DEVICES", "")))
        return 0


def gpu_overlaps(spans: list[tuple[str, float, float, str]]) -> int:
    """Pairs of steps that held one GPU at the same time (must be 0)."""
    by_gpu: dict[str, list[tuple[float, float]]] = {}
    for _, start, end, gpus in spans:
        for gpu in filter(None, gpus.split(",")):
            by_gpu.setdefault(gpu, []).append((start, end))
    clashes = 0
    for intervals in by_gpu.values():
        intervals.sort()
        clashes += sum(
            1 for (_, end), (start, _) in zip(intervals, intervals[1:], strict=False) if start < end - 1e-6
        )
    return clashes


def schedule(aya: str, gpus: int, target_seconds: float) -> None:
    os.environ["NATIVEVAL_GPU_COUNT"] = str(gpus)
    with tempfile.TemporaryDirectory(prefix="nativeval-schedule-") as tmp:
        plan = load_plan(REPO / "configs/paper_zh.yaml", {"aya": aya}, Path(tmp) / "paper")
        node = Node(gpus=tuple(str(i) for i in range(gpus)), jobs=gpus + 8)
        held = {s.id: demand(s, plan.config, node).gpus for s in plan.steps.values()}
        work_hours = sum(s.gpu_hours * held[s.id] for s in plan.steps.values())
        scale = target_seconds * gpus / work_hours  # seconds per GPU-hour
        seconds = {s.id: s.gpu_hours * scale for s in plan.steps.values()}
        plan.config.commands = {
            kind: ("sleep-step", "{step}", "{out}") for kind in {s.kind for s in plan.steps.values()}
        }
        critical = max(path_lengths(plan, lambda s: seconds[s.id]).values())
        total_gpu = sum(seconds[s] * held[s] for s in seconds) / gpus
        bound = max(critical, total_gpu)
        sequential = sum(seconds.values())
        executor = SleepExecutor(seconds)
        started = time.monotonic()
        outcome = StudyRunner(plan, executor, echo=lambda line: None).run(node=node)
        makespan = time.monotonic() - started
        assert all(v == "done" for v in outcome.values()) and all(
            step_state(s) == "done" for s in plan.steps.values()
        )
        clashes = gpu_overlaps(executor.spans)
    print(
        f"paper_zh plan: {len(plan.steps)} steps, {work_hours:.1f} estimated GPU-hours at {scale:.2f} s per "
        "GPU-hour, "
        f"{gpus} simulated GPUs"
    )
    print(f"{'':28}{'seconds':>9}{'x bound':>9}")
    for name, value in [
        ("study --jobs (ours)", makespan),
        ("sequential (today's runner)", sequential),
        ("bound: critical path", critical),
        ("bound: GPU work / GPUs", total_gpu),
    ]:
        print(f"{name:28}{value:9.1f}{value / bound:9.2f}")
    ratio = makespan / bound
    print(
        f"makespan / bound = {ratio:.3f} (target <= 1.15: {'met' if ratio <= 1.15 else 'NOT met'}); "
        f"speed-up over sequential {sequential / makespan:.1f}x; GPU double bookings: {clashes}"
    )


def demo() -> None:
    """The demo study (configs/demo.yaml) from scratch with --jobs 1 and --jobs 2 on this machine."""
    times = {}
    for jobs in (1, 2):
        with tempfile.TemporaryDirectory(prefix="nativeval-demo-") as tmp:
            started = time.monotonic()
            proc = subprocess.run(
                [
                    sys.executable,
                    str(REPO / "cli.py"),
                    "study",
                    str(REPO / "configs/demo.yaml"),
                    "--output-dir",
                    tmp,
                    "--jobs",
                    str(jobs),
                ],
                capture_output=True,
                text=True,
            )
            times[jobs] = time.monotonic() - started
            if proc.returncode:
                sys.exit(f"demo --jobs {jobs} failed: {proc.stderr[-2000:]}")
    print(
        f"demo study on this machine ({os.cpu_count()} CPUs): --jobs 1 {times[1]:.1f}s, --jobs 2 "
        f"{times[2]:.1f}s, "
        f"ratio {times[1] / times[2]:.2f}x"
    )


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--aya", default=str(REPO.parent / "shared/data/aya"))
    parser.add_argument("--gpus", type=int, default=8)
    parser.add_argument(
        "--seconds", type=float, default=30.0, help="the GPU-work bound, scaled to this many seconds"
    )
    parser.add_argument("--demo", action="store_true", help="also time the demo with --jobs 2 vs --jobs 1")
    args = parser.parse_args()
    if not Path(args.aya).is_dir():
        sys.exit(f"--aya {args.aya}: not a directory; give the study's data release (aya_native/, ...)")
    schedule(args.aya, args.gpus, args.seconds)
    if args.demo:
        demo()


if __name__ == "__main__":
    main()

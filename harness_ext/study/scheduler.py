"""Which steps of a study run at once on one node: GPU slots, per-class limits, longest-path-first order.

Pure bookkeeping, no processes: the runner asks ``Scheduler.start_ready()`` for the steps to start now (each
with the GPU ids it holds) and reports each step that ended with ``Scheduler.ended()``. Among the ready steps
the one with the longest estimated path to the end of the study starts first (a list scheduler with
critical-path priority), and a step that does not fit the free resources lets a smaller one start
(backfilling); bench/study_schedule.py measures its makespan against the lower bound.

GPU ids are what ``CUDA_VISIBLE_DEVICES`` takes. The node's GPUs are, in this order: ``NATIVEVAL_GPU_COUNT=N``
(ids 0..N-1: a simulated node, for tests and benchmarks, or a node without nvidia-smi), the runner's own
``CUDA_VISIBLE_DEVICES`` (a Slurm allocation, say), then ``nvidia-smi``. ``--gpus`` picks some of them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Callable
from dataclasses import dataclass, field

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.study.config import StudyConfig
from nativeval.harness_ext.study.kinds import KINDS
from nativeval.harness_ext.study.plan import Plan
from nativeval.harness_ext.study.settings import settings
from nativeval.harness_ext.study.step import Step

GPU_COUNT_ENV = "NATIVEVAL_GPU_COUNT"


@dataclass(frozen=True)
class Node:
    """What one runner may use: GPU ids, how many steps at once, and per-class limits (api, cpu)."""

    gpus: tuple[str, ...] = ()
    jobs: int = 1
    limits: dict[str, int] = field(default_factory=lambda: dict(settings()["local"]["limits"]))
    source: str = ""  # where the GPU ids came from, for messages


def visible_gpus() -> tuple[tuple[str, ...], str]:
    """The node's GPU ids and where they came from (see the module docstring)."""
    count = os.environ.get(GPU_COUNT_ENV)
    if count is not None:
        if not count.strip().isdigit():
            raise InputError(f"{GPU_COUNT_ENV}={count!r}: expected a number of GPUs such as 8")
        return tuple(str(i) for i in range(int(count))), f"{GPU_COUNT_ENV}={count.strip()}"
    visible = os.environ.get("CUDA_VISIBLE_DEVICES")
    if visible is not None:
        ids = tuple(i.strip() for i in visible.split(",") if i.strip() and i.strip() != "-1")
        return ids, f"CUDA_VISIBLE_DEVICES={visible}"
    if shutil.which("nvidia-smi"):
        try:
            out = subprocess.run(
                ["nvidia-smi", "--query-gpu=index", "--format=csv,noheader"],
                capture_output=True,
                text=True,
                timeout=30,
                check=False,
            ).stdout
        except (OSError, subprocess.TimeoutExpired):
            out = ""
        return tuple(line.strip() for line in out.splitlines() if line.strip().isdigit()), "nvidia-smi"
    return (), "no nvidia-smi"


def make_node(jobs: int | None = None, gpus: str | None = None) -> Node:
    """The node for ``--jobs``/``--gpus``; every mistake is one line (exit 2) before anything runs.

    ``--jobs`` defaults to 1, or to the number of ``--gpus`` given (one step per GPU)."""
    available, source = visible_gpus()
    chosen = available
    if gpus is not None:
        ids = [g.strip() for g in gpus.split(",")]
        if not gpus.strip() or any(not g for g in ids):
            raise InputError(f"--gpus {gpus!r}: expected comma-separated GPU ids such as 0,1,2,3")
        if len(set(ids)) != len(ids):
            raise InputError(f"--gpus {gpus}: a GPU id is given twice")
        missing = [g for g in ids if g not in available]
        if missing:
            have = f"it has {', '.join(available)}" if available else "it has none"
            raise InputError(
                f"--gpus {gpus}: no GPU {missing[0]} on this node ({have}, by {source}); give ids from "
                f"that list (a simulated node: {GPU_COUNT_ENV}=N)"
            )
        chosen = tuple(ids)
    if jobs is None:
        jobs = len(chosen) if gpus is not None else 1
    if jobs < 1:
        raise InputError(f"--jobs {jobs}: give at least 1 (how many steps may run at once)")
    return Node(gpus=chosen, jobs=jobs, source=source)


@dataclass(frozen=True)
class Demand:
    """What a step holds while it runs: its class (gpu | api | cpu) and how many GPUs."""

    kind: str
    gpus: int = 0


def wants_gpu(step: Step) -> bool:
    """A step that runs a model: fine-tuning and evaluation (not of the toy model, not on the CPU), and
    translation with a local model (the `hf` backend)."""
    return KINDS[step.kind].runs_model(step)


def demand(step: Step, config: StudyConfig, node: Node) -> Demand:
    """GPU steps take ``slurm.gpu.gpus`` of the node's GPUs; on a node without GPUs they run as CPU steps
    (as the sequential runner always did: the frameworks fall back to the CPU)."""
    count = config.slurm["gpu"].gpus if "gpu" in config.slurm else 1
    if wants_gpu(step) and node.gpus and count > 0:
        return Demand("gpu", count)
    resource_class = KINDS[step.kind].resource_class
    return Demand("cpu" if resource_class == "gpu" else resource_class)


def step_hours(step: Step) -> float:
    """Estimated duration (hours) for priorities: GPU-hours, or API calls at a rough rate."""
    return step.gpu_hours or step.api_calls * settings()["local"]["api_hours_per_call"]


def path_lengths(plan: Plan, duration=step_hours) -> dict[str, float]:
    """For each step, the longest estimated duration of a chain from it to the end of the study."""
    children: dict[str, list[str]] = {s: [] for s in plan.steps}
    for step in plan.steps.values():
        for dep in step.dep_ids():
            children[dep].append(step.id)
    length: dict[str, float] = {}
    for step_id in reversed(plan.steps):  # reverse topological order
        length[step_id] = duration(plan.steps[step_id]) + max(
            (length[c] for c in children[step_id]), default=0.0
        )
    return length


class Scheduler:
    """The steps to run, their dependencies among themselves, and the node's free resources.

    Steps start in units: one step, or evaluations of one group key (``group_key``: several adapters of one
    base, run by one process) that are ready together, at most ``max_group`` of them. A unit holds one
    step's resources until its last step ended."""

    def __init__(
        self,
        plan: Plan,
        steps: list[Step],
        node: Node,
        group_key: Callable[[Step], str | None] = lambda step: None,
        max_group: int = 1,
    ):
        self.node = node
        self.demands = {s.id: demand(s, plan.config, node) for s in steps}
        too_big = next((s for s in steps if self.demands[s.id].gpus > len(node.gpus)), None)
        if too_big is not None:
            raise InputError(
                f"step {too_big.id} asks for {self.demands[too_big.id].gpus} GPUs (slurm.gpu.gpus in "
                f"{plan.config.path.name}) but this runner has {len(node.gpus)} "
                f"({', '.join(node.gpus)}); lower slurm.gpu.gpus or give more GPUs with --gpus"
            )
        self.steps = {s.id: s for s in steps}
        self.keys = {s.id: group_key(s) for s in steps} if max_group > 1 else {}
        self.max_group = max_group
        self.waiting_on = {s.id: {d for d in s.dep_ids() if d in self.steps} for s in steps}
        order = {s: i for i, s in enumerate(plan.steps)}
        length, depth = path_lengths(plan), path_lengths(plan, lambda step: 1.0)  # depth: ties of estimates
        self.pending = sorted(self.steps, key=lambda s: (-length[s], -depth[s], order[s]))  # priority order
        self.free_gpus = list(node.gpus)
        self.running: dict[str, tuple[str, ...]] = {}  # unit (its first step's id) -> the GPU ids it holds
        self.members: dict[str, list[str]] = {}  # unit -> its steps still running
        self.unit_of: dict[str, str] = {}
        self.blocked: dict[str, str] = {}  # step id -> the failed step it needed

    def _fits(self, step_id: str) -> bool:
        need = self.demands[step_id]
        if need.kind == "gpu":
            return need.gpus <= len(self.free_gpus)
        in_class = sum(1 for s in self.running if self.demands[s].kind == need.kind)
        return in_class < self.node.limits.get(need.kind, self.node.jobs)

    def ready(self) -> list[str]:
        return [s for s in self.pending if not self.waiting_on[s]]

    def start_ready(self) -> list[tuple[list[Step], tuple[str, ...] | None]]:
        """Units to start now, each with its GPU ids (None: a node whose GPUs the runner does not manage)."""
        started = []
        for step_id in self.ready():
            if len(self.running) >= self.node.jobs:
                break
            if step_id not in self.pending or not self._fits(step_id):
                continue
            key = self.keys.get(step_id)
            unit = [step_id] + (
                [s for s in self.ready() if s != step_id and self.keys.get(s) == key][: self.max_group - 1]
                if key is not None
                else []
            )
            need = self.demands[step_id]
            gpus = tuple(self.free_gpus[: need.gpus])
            del self.free_gpus[: need.gpus]
            for member in unit:
                self.pending.remove(member)
                self.unit_of[member] = step_id
            self.running[step_id] = gpus
            self.members[step_id] = list(unit)
            started.append(([self.steps[s] for s in unit], gpus if self.node.gpus else None))
        return started

    def ended(self, step_id: str, ok: bool) -> list[str]:
        """One step ended; its unit frees what it held when its last step ended. A failed step blocks its
        dependents (returned); the others go on."""
        unit = self.unit_of.pop(step_id)
        self.members[unit].remove(step_id)
        if not self.members[unit]:
            del self.members[unit]
            gpus = self.running.pop(unit)
            self.free_gpus = sorted([*self.free_gpus, *gpus], key=self.node.gpus.index)
        if ok:
            for waiting in self.waiting_on.values():
                waiting.discard(step_id)
            return []
        newly: list[str] = []
        failed = {step_id}
        changed = True  # priority order is not topological: repeat until nothing changes
        while changed:
            changed = False
            for other in list(self.pending):
                bad = self.waiting_on[other] & failed
                if bad:
                    self.pending.remove(other)
                    self.blocked[other] = next(iter(bad))
                    failed.add(other)
                    newly.append(other)
                    changed = True
        return newly

    def stop(self) -> list[str]:
        """Start nothing more (``--fail-fast``, Ctrl-C); return the steps that will not start."""
        left, self.pending = self.pending, []
        return left

    @property
    def finished(self) -> bool:
        return not self.pending and not self.running

    def queue_summary(self) -> str:
        ready = len(self.ready())
        return f"{len(self.pending)} queued ({ready} ready, {len(self.pending) - ready} waiting for inputs)"

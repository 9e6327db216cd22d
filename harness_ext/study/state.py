"""Where each step of a study stands, read from its folder, and which steps a run selects.

Each step writes into its own folder and, only after its command succeeded, the marker ``MARKER`` (atomically,
last) holding the step's key. A step is done when its marker's key equals the key computed now; anything else
in its folder is a leftover of an unfinished or outdated run.
"""

from __future__ import annotations

import fnmatch
from dataclasses import dataclass, field
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_json
from nativeval.harness_ext.study.plan import Plan
from nativeval.harness_ext.study.step import Step

MARKER = ".nativeval_step.json"
STARTED = ".nativeval_step.started.json"


def recorded_key(path: Path) -> str | None:
    """The ``key`` a marker file records; None when it is missing or damaged."""
    try:
        return read_json(path).get("key")
    except (InputError, OSError, ValueError):
        return None


def step_state(step: Step) -> str:
    """done (marker matches the key) | changed (marker of another key) | partial (leftovers) | todo."""
    marker = step.out / MARKER
    if marker.is_file():
        return "done" if recorded_key(marker) == step.key else "changed"
    if step.out.exists() and any(step.out.iterdir()):
        return "partial"
    return "todo"


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

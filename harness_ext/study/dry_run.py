"""`--dry-run`: every step with its state and estimates, and what the steps to run take in all."""

from __future__ import annotations

from nativeval.harness_ext.study.config import settings_lines
from nativeval.harness_ext.study.kinds import KINDS
from nativeval.harness_ext.study.plan import Plan
from nativeval.harness_ext.study.scheduler import Node, Scheduler
from nativeval.harness_ext.study.state import select_steps


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
    hours: dict[str, float] = {}  # by step kind
    calls: dict[str | None, int] = {}  # by bill (study/kinds.py)
    for step in todo:
        hours[step.kind] = hours.get(step.kind, 0.0) + step.gpu_hours
        bill = KINDS[step.kind].bill
        calls[bill] = calls.get(bill, 0) + step.api_calls
    translate_calls, judge_calls = calls.get("translation", 0), calls.get("judging", 0)
    lines.append(f"already done: {done} of {len(plan.steps)}; to run: {len(todo)}")
    lines.append(
        f"estimated for the steps to run: {_hours(sum(s.gpu_hours for s in todo))} GPU-hours "
        f"(fine-tuning {_hours(hours.get('finetune', 0.0))}, "
        f"evaluation {_hours(hours.get('eval', 0.0))}); "
        f"{translate_calls + judge_calls:,d} API calls (translation segments {translate_calls:,d}, "
        f"judge calls {judge_calls:,d}); rough figures from harness_ext/study/settings.yaml"
    )
    return lines

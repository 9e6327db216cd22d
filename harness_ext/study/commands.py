"""The command line of each step: its kind's command (study/kinds.py) with the plan's paths filled in, or
the study file's `commands` template for its kind; and one command for evaluations that share a base."""

from __future__ import annotations

import sys
from dataclasses import dataclass, field
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.study.config import StudyConfig
from nativeval.harness_ext.study.entry_points import cli_path
from nativeval.harness_ext.study.kinds import KINDS, CommandInputs
from nativeval.harness_ext.study.plan import Plan
from nativeval.harness_ext.study.step import Step


@dataclass
class CommandContext:
    plan: Plan
    stand_in_urls: dict[str, str] = field(default_factory=dict)  # StandIn.key -> URL, filled in at run time

    def product(self, step_id: str) -> str:
        step = self.plan.steps[step_id]
        return KINDS[step.kind].product(step)

    def ref(self, step: Step, role: str) -> list[str]:
        """The paths a step reads for one role: user files as given, upstream steps' products."""
        if role in step.inputs:
            return [step.inputs[role]]
        return [self.product(d) for d in step.deps.get(role, [])]

    def cache_dir(self, step: Step) -> Path:
        """Where a step's command writes its SQLite caches: one file per kind, shared by the steps of one
        local run; with ``plan.cache_per_step`` (the Slurm export) one folder per step, so that concurrent
        array tasks never write one SQLite file over a network file system (each has one writer: its lock)."""
        cache_dir = self.plan.config.output_dir / "cache"
        return cache_dir / "steps" / step.slug if self.plan.cache_per_step else cache_dir

    def inputs(self, step: Step) -> CommandInputs:
        stand_in = KINDS[step.kind].stand_in(step)
        return CommandInputs(
            refs={role: self.ref(step, role) for role in sorted({*step.inputs, *step.deps})},
            cache_dir=self.cache_dir(step),
            stand_in_url=self.stand_in_urls.get(stand_in.key) if stand_in else None,
        )


def resumes_in_place(step: Step, config: StudyConfig) -> bool:
    """Whether the step's command can continue an interrupted attempt of the same key in its folder."""
    return bool(KINDS[step.kind].resume_flags) and step.kind not in config.commands


def command_for(step: Step, ctx: CommandContext, resume: bool = False) -> list[str]:
    """The argv that runs ``step``: its kind's command, or the study file's `commands` template for it."""
    template = ctx.plan.config.commands.get(step.kind)
    if not template:
        kind = KINDS[step.kind]
        extra = list(kind.resume_flags) if resume else []
        return [str(a) for a in kind.command(step, ctx.inputs(step))] + extra
    fields = {
        k: (",".join(map(str, v)) if isinstance(v, list) else ("" if v is None else str(v)))
        for k, v in step.params.items()
    }
    fields.update(
        python=sys.executable,
        cli=cli_path(),
        out=str(step.out),
        step=step.id,
        kind=step.kind,
        inputs=",".join(path for role in sorted({*step.inputs, *step.deps}) for path in ctx.ref(step, role)),
    )
    try:
        return [arg.format_map(fields) for arg in template]
    except (KeyError, IndexError, ValueError) as err:
        raise InputError(
            f"{ctx.plan.config.path}: commands.{step.kind}: unknown placeholder {err} "
            f"(available: {', '.join(sorted(fields))})"
        ) from None


def group_key(step: Step, config: StudyConfig) -> str | None:
    """Steps with the same key run as one process (evaluations of several adapters of one base: one base
    load); None: the step runs on its own, as does every step of a kind the study file overrides."""
    return None if step.kind in config.commands else KINDS[step.kind].group_key(step)


def group_command(steps: list[Step], ctx: CommandContext, out: Path) -> list[str]:
    """The one command for ``steps`` of one group key; each step's files go to ``out/<step slug>``."""
    return KINDS[steps[0].kind].group_command(steps, [ctx.inputs(s) for s in steps], out)

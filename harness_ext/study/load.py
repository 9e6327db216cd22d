"""A study file as a plan ready to run: loaded, expanded, keyed by content and checked before any work."""

from __future__ import annotations

import os
from pathlib import Path

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.paths import strictly_inside
from nativeval.harness_ext.study.commands import CommandContext, command_for
from nativeval.harness_ext.study.config import load_study
from nativeval.harness_ext.study.hashing import HashCache
from nativeval.harness_ext.study.plan import Plan, build_plan, compute_keys


def load_plan(
    study_file: str | os.PathLike,
    variables: dict[str, str] | None = None,
    output_dir: str | os.PathLike | None = None,
) -> Plan:
    config = load_study(study_file, variables, output_dir)
    plan = build_plan(config)
    hashes = HashCache(config.output_dir / ".nativeval_hashes.json")
    compute_keys(plan, hashes)
    check_plan(plan)
    plan.hashes = hashes
    if config.output_dir.is_dir():
        hashes.save()
    return plan


def check_plan(plan: Plan) -> None:
    """Before any work: every step folder lies strictly inside ``output_dir`` (no symlink leads out of it),
    no two steps share a folder (also on a case-insensitive file system), and every step's command can be
    built (a `commands` override with an unknown placeholder fails here, not after hours of other steps)."""
    root = plan.config.output_dir
    owners: dict[str, str] = {}
    folders: dict[Path, str] = {}
    for step in plan.steps.values():
        folder = strictly_inside(root, step.out, what=f"the folder of step {step.id}")
        for name in (str(folder), f"slug:{step.slug}"):  # its folder, and its log and lock files
            other = owners.setdefault(name.casefold(), step.id)
            if other != step.id:
                raise InputError(
                    f"{plan.config.path}: steps {other} and {step.id} would share the folder "
                    f"{step.out} or log; rename a model, variant or judge so that the names differ "
                    "in more than case or '/' versus '__'"
                )
        folders[folder] = step.id
    for step in plan.steps.values():  # a step folder is emptied before its step runs: no input may live there
        for path in step.inputs.values():
            resolved = Path(path).resolve()
            owner = next((folders[p] for p in (resolved, *resolved.parents) if p in folders), None)
            if owner:
                raise InputError(
                    f"{plan.config.path}: {path}, an input of step {step.id}, lies in the folder of "
                    f"step {owner}, which a rerun empties; move it out of output_dir {root}"
                )
    ctx = CommandContext(plan)
    for step in plan.steps.values():
        command_for(step, ctx)

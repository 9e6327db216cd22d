"""Expand a study into steps and key each step by a content hash of its inputs.

A step's key is sha256 over: the step kind and its slice of the study file (``params``), the content hash
of every user file it reads (``inputs``), and the keys of the steps it depends on (``deps``). So a changed
file or setting changes the key of the steps that read it and of everything downstream — and nothing else.

Each step is one command line (study/kinds.py), which is what makes the cluster export a plain list of
commands. This module never imports translate or finetune: their commands run as processes.
"""

from __future__ import annotations

import hashlib
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.paths import safe_segment
from nativeval.harness_ext.core.runs import format_lr
from nativeval.harness_ext.study.config import EMBEDDED_REFERENCES, BaseModel, StudyConfig, Variant
from nativeval.harness_ext.study.hashing import HashCache
from nativeval.harness_ext.study.kinds import USER_TASKS_SUBDIR
from nativeval.harness_ext.study.settings import settings
from nativeval.harness_ext.study.step import Step

STEP_FORMAT_VERSION = 1


@dataclass
class Plan:
    config: StudyConfig
    steps: dict[str, Step]  # in topological order
    hashes: HashCache | None = None
    cache_per_step: bool = False  # each translate/rtt/judge step gets its own cache file (cluster runs)

    def descendants(self, ids: set[str]) -> set[str]:
        found = set(ids)
        for step in self.steps.values():  # topological order: one pass suffices
            if any(d in found for d in step.dep_ids()):
                found.add(step.id)
        return found

    def ancestors(self, step_id: str) -> set[str]:
        found: set[str] = set()
        stack = list(self.steps[step_id].dep_ids())
        while stack:
            dep = stack.pop()
            if dep not in found:
                found.add(dep)
                stack.extend(self.steps[dep].dep_ids())
        return found


def compute_keys(plan: Plan, hashes: HashCache) -> None:
    for step in plan.steps.values():
        payload = {
            "version": STEP_FORMAT_VERSION,
            "kind": step.kind,
            "params": step.params,
            "command_override": list(plan.config.commands.get(step.kind, ())),
            "inputs": {role: hashes.fingerprint(path) for role, path in sorted(step.inputs.items())},
            "deps": {role: [plan.steps[d].key for d in ids] for role, ids in sorted(step.deps.items())},
        }
        blob = json.dumps(payload, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
        step.key = hashlib.sha256(blob.encode("utf-8")).hexdigest()


# --- expansion ----------------------------------------------------------------------------------------
def _folder(root: Path, *names: str) -> Path:
    """``root/<name>/<name>/...``: each name (model, variant, judge, language, task) is one safe segment."""
    return root.joinpath(*(safe_segment(name) for name in names))


def count_records(path: str) -> int:
    """Number of records in a JSON list or JSONL file (for estimates); 0 when it cannot tell."""
    try:
        text = Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return 0
    try:
        data = json.loads(text)
        return len(data) if isinstance(data, list) else 0
    except json.JSONDecodeError:
        return sum(1 for line in text.splitlines() if line.strip())


class _Builder:
    def __init__(self, config: StudyConfig):
        self.config = config
        self.steps: dict[str, Step] = {}
        self.records: dict[str, int] = {}  # step id or file -> number of training records
        self.est = settings()["estimates"]

    def add(self, step: Step) -> Step:
        self.steps.setdefault(step.id, step)
        return self.steps[step.id]

    def file_records(self, path: str) -> int:
        if path not in self.records:
            self.records[path] = count_records(path)
        return self.records[path]

    # each returns (data ref for finetune: ("file", path) or ("step", id), number of records)
    def data_for(self, variant: Variant, lang: str) -> tuple[tuple[str, str], int]:
        out = self.config.output_dir
        if variant.kind == "file":
            path = variant.file.replace("{lang}", lang)
            return ("file", path), self.file_records(path)
        if variant.kind == "translate":
            source_path = variant.source.replace("{lang}", lang)
            source: tuple[str, str] = ("file", source_path)
            n = self.file_records(source_path)
            if variant.sample is not None:
                sample = self.add(
                    Step(
                        id=f"sample/{lang}/{variant.name}",
                        kind="sample",
                        out=_folder(out, "data", lang, f"{variant.name}-sample"),
                        params={"n": variant.sample, "seed": variant.seed},
                        inputs={"source": source_path},
                    )
                )
                source, n = ("step", sample.id), min(n, variant.sample)
            step = Step(
                id=f"translate/{lang}/{variant.name}",
                kind="translate",
                out=_folder(out, "data", lang, variant.name),
                params=self._translation_params(variant, lang),
                api_calls=n * len(variant.fields),
            )
        else:
            source_variant = self.config.variants.get(variant.source)
            source_path = (source_variant.file if source_variant else variant.source).replace("{lang}", lang)
            source, n = ("file", source_path), self.file_records(source_path)
            step = Step(
                id=f"rtt/{lang}/{variant.name}",
                kind="rtt",
                out=_folder(out, "data", lang, variant.name),
                params=self._translation_params(variant, lang),
                api_calls=2 * n * len(variant.fields),
            )
        if variant.prompt and variant.prompt.endswith((".yaml", ".yml")):
            step.inputs["prompt"] = (
                variant.prompt
            )  # a prompt file of the user's: its content is part of the key
        if source[0] == "file":
            step.inputs["source"] = source[1]
        else:
            step.deps["source"] = [source[1]]
        return ("step", self.add(step).id), n

    @staticmethod
    def _translation_params(variant: Variant, lang: str) -> dict[str, Any]:
        params = {
            "backend": variant.backend,
            "src": variant.src,
            "lang": lang,
            "model": variant.model,
            "base_url": variant.base_url,
            "fields": list(variant.fields),
            "extra_args": list(variant.extra_args),
        }
        if variant.prompt:  # only when set: the keys of studies that name no prompt stay what they were
            params["prompt"] = variant.prompt
        return params

    def base_model(self, model: BaseModel) -> tuple[dict[str, Any], dict[str, str], dict[str, list[str]]]:
        """(params, inputs, deps) that identify a base model."""
        if model.is_toy:
            toy = self.add(
                Step(
                    id=f"toy_model/{model.name}",
                    kind="toy_model",
                    out=_folder(self.config.output_dir, "models", model.name),
                    params={"seed": model.toy_seed},
                )
            )
            return {"base": f"toy:{model.name}"}, {}, {"base": [toy.id]}
        params = {"base": model.path, "revision": model.revision}
        inputs = {"base": model.path} if os.path.isdir(model.path) else {}
        return params, inputs, {}

    def gpu_hours(self, model: BaseModel, tokens: float, flops_per_token: float) -> float:
        return flops_per_token * model.params_b * 1e9 * tokens / (self.est["effective_tflops"] * 1e12) / 3600

    def finetune(self, model: BaseModel, variant: Variant, lr: float, tuning: str, lang: str) -> Step:
        recipe = self.config.recipe
        scope = "multi" if tuning == "multi" else lang
        step_id = f"finetune/{model.name}/{scope}/{variant.name}/lr{format_lr(lr)}"
        if step_id in self.steps:
            return self.steps[step_id]
        base_params, inputs, deps = self.base_model(model)
        if tuning == "multi":
            data_refs = [("file", f) for f in variant.multi_files]
            n = sum(self.file_records(f) for f in variant.multi_files)
        else:
            ref, n = self.data_for(variant, lang)
            data_refs = [ref]
        inputs = dict(inputs)
        deps = dict(deps)
        for i, (kind, ref) in enumerate(data_refs):
            if kind == "file":
                inputs[f"data{i}"] = ref
            else:
                deps[f"data{i}"] = [ref]
        params = {**base_params, "lang": scope, "variant": variant.name, "tuning": tuning, **recipe, "lr": lr}
        tokens = n * self.est["tokens_per_example"] * recipe["epochs"]
        step = Step(
            id=step_id,
            kind="finetune",
            out=_folder(
                self.config.output_dir, "checkpoints", model.name, scope, variant.name, f"lr{format_lr(lr)}"
            ),
            params=params,
            inputs=inputs,
            deps=deps,
            gpu_hours=self.gpu_hours(model, tokens, self.est["flops_per_param_token"][recipe["method"]]),
        )
        return self.add(step)

    def tasks_for(self, lang: str) -> list[str]:
        translated = [t.name for t in self.config.translate_tasks if t.language == lang]
        return [t.replace("{lang}", lang) for t in self.config.eval.tasks] + translated

    def translate_task_steps(self, lang: str) -> list[str]:
        """The `translate-task` steps whose task the evaluations of ``lang`` run (the user task directory)."""
        steps = []
        for t in self.config.translate_tasks:
            if t.language != lang:
                continue
            step = self.add(
                Step(
                    id=f"translate_task/{t.name}",
                    kind="translate_task",
                    out=_folder(self.config.output_dir, USER_TASKS_SUBDIR, t.name),
                    params={
                        "task": t.task,
                        "mode": t.mode,
                        "via": t.via,
                        "lang": t.language,
                        "backend": t.backend,
                        "model": t.model,
                        "base_url": None if t.serve else t.base_url,
                        "serve": t.serve,
                        "label": t.label,
                        "extra_args": list(t.extra_args),
                    },
                    inputs={f"data_dir{i}": d for i, d in enumerate(self.config.eval.data_dirs)},
                )
            )
            steps.append(step.id)
        return steps

    def eval_step(self, model: BaseModel, lang: str, suffix: str, finetune: Step | None) -> Step:
        ev = self.config.eval
        base_params, inputs, deps = self.base_model(model)
        tasks = self.tasks_for(lang)
        units = sum(self.est["tasks_per_collection"] if _is_collection(t) else 1 for t in tasks)
        if ev.limit is not None:  # a typical task has ~1000 items
            units *= min(1.0, ev.limit / 1000) if ev.limit >= 1 else ev.limit
        params = {
            **base_params,
            "lang": lang,
            "tasks": tasks,
            "limit": ev.limit,
            "batch_size": ev.batch_size,
            "apply_chat_template": ev.apply_chat_template,
            "model_args": ev.model_args,
            "device": ev.device,
            "extra_args": list(ev.extra_args),
        }
        inputs = {**inputs, **{f"data_dir{i}": d for i, d in enumerate(ev.data_dirs)}}
        deps = {**deps, **({"adapter": [finetune.id]} if finetune else {})}
        user_tasks = self.translate_task_steps(lang)
        if user_tasks:
            deps["user_tasks"] = user_tasks
        step = Step(
            id=f"eval/{model.name}/{lang}/{suffix}",
            kind="eval",
            out=_folder(self.config.output_dir, "eval", model.name, lang, *suffix.split("/")),
            params=params,
            inputs=inputs,
            deps=deps,
            gpu_hours=self.gpu_hours(model, units * self.est["eval_tokens_per_task"], 2),
        )
        step.params["open_qa_items"] = self._open_qa_items(tasks)
        return self.add(step)

    def _open_qa_items(self, tasks: list[str]) -> int:
        count = sum(
            1
            if "open_qa" in t
            else self.est["open_qa_tasks_per_collection"]
            * (len(self.config.languages) if t in ("native", "translated") else 1)
            for t in tasks
            if "open_qa" in t or _is_collection(t)
        )
        items = self.est["judge_items_per_open_qa_task"]
        limit = self.config.eval.limit
        if limit is not None:
            items = min(items, int(limit)) if limit >= 1 else int(items * limit)
        return count * items


def _is_collection(task: str) -> bool:
    parts = task.split("_")
    return parts[0] in ("native", "translated") and len(parts) <= 2


def build_plan(config: StudyConfig) -> Plan:
    """Expand the matrix: data steps, fine-tuning, evaluation, judging, one leaderboard."""
    b = _Builder(config)
    evals: list[Step] = []
    for lang in config.languages:
        if config.eval.base_models:
            evals += [b.eval_step(model, lang, "base", None) for model in config.base_models.values()]
        for group in config.runs:
            for model_name in group.models:
                for variant_name in group.variants:
                    for lr in group.lrs:
                        for tuning in group.tunings:
                            model, variant = config.base_models[model_name], config.variants[variant_name]
                            lr_value = config.recipe["lr"] if lr < 0 else lr
                            ft = b.finetune(model, variant, lr_value, tuning, lang)
                            suffix = f"{variant.name}/lr{format_lr(lr_value)}-{tuning}"
                            evals.append(b.eval_step(model, lang, suffix, ft))
    evals = list({e.id: e for e in evals}.values())
    judged: list[Step] = []
    for judge in config.judges:
        for ev in evals:
            suffix = ev.id.removeprefix("eval/")
            judged.append(
                b.add(
                    Step(
                        id=f"judge/{judge.name}/{suffix}",
                        kind="judge",
                        out=_folder(config.output_dir, "judge", judge.name, *suffix.split("/")),
                        params={
                            "judge": judge.name,
                            "base_url": None if judge.serve else judge.base_url,
                            "serve": judge.serve,
                            "label": judge.label,
                            "extra_args": list(judge.extra_args),
                        },
                        inputs={"judge_config": judge.config} if judge.config else {},
                        deps={"results": [ev.id]},
                        api_calls=ev.params["open_qa_items"],
                    )
                )
            )
    lb = config.leaderboard
    b.add(
        Step(
            id="leaderboard",
            kind="leaderboard",
            out=config.output_dir / "site",
            params={
                "title": lb["title"] or f"nativeval study {config.name}",
                "extra_args": lb["extra_args"],
                "judge_labels": [f"{j.name}={j.label}" for j in config.judges if j.label],
                **({"reference": lb["reference"]} if lb["reference"] in EMBEDDED_REFERENCES else {}),
            },
            # a built-in reference (``paper``) is part of nativeval: its name keys the step; a user's
            # CSV keys it by content
            inputs={"reference": lb["reference"]}
            if lb["reference"] and lb["reference"] not in EMBEDDED_REFERENCES
            else {},
            deps={"results": [e.id for e in evals], "judgements": [j.id for j in judged]},
        )
    )
    return Plan(config, _topological(b.steps))


def _topological(steps: dict[str, Step]) -> dict[str, Step]:
    ordered: dict[str, Step] = {}

    def visit(step: Step) -> None:
        if step.id in ordered:
            return
        for dep in step.dep_ids():
            visit(steps[dep])
        ordered[step.id] = step

    for step in steps.values():
        visit(step)
    return ordered

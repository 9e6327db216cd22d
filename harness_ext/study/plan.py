"""Expand a study into steps, key each step by a content hash of its inputs, and map steps to commands.

A step's key is sha256 over: the step kind and its slice of the study file (``params``), the content hash
of every user file it reads (``inputs``), and the keys of the steps it depends on (``deps``). So a changed
file or setting changes the key of the steps that read it and of everything downstream — and nothing else.

Every step is one command line (``COMMANDS``, one small table), which is what makes the cluster export a
plain list of commands. This module never imports translate or finetune: their commands run as processes.
"""

from __future__ import annotations

import hashlib
import importlib.util
import json
import os
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, file_sha256, read_yaml
from nativeval.harness_ext.core.paths import safe_segment, strictly_inside
from nativeval.harness_ext.core.prices import character_prices, token_prices
from nativeval.harness_ext.core.prices import table_path as price_table_path
from nativeval.harness_ext.study.config import (
    EMBEDDED_REFERENCES,
    BaseModel,
    StudyConfig,
    Variant,
    recipe_options,
    settings,
)

STEP_FORMAT_VERSION = 1
DATA_FILE = "data.json"
USER_TASKS_SUBDIR = "user_tasks"  # translate-task steps write their tasks here; eval steps read it


@dataclass
class Step:
    id: str
    kind: str
    out: Path
    params: dict[str, Any]
    inputs: dict[str, str] = field(default_factory=dict)  # role -> user file or directory, hashed by content
    deps: dict[str, list[str]] = field(default_factory=dict)  # role -> upstream step ids
    gpu_hours: float = 0.0
    api_calls: int = 0
    key: str = ""

    @property
    def slug(self) -> str:
        """The step id as one file name (its log, lock and per-step cache)."""
        return safe_segment(self.id.replace("/", "__"), max_length=200)

    def dep_ids(self) -> list[str]:
        return [d for ids in self.deps.values() for d in ids]


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


def step_class(kind: str) -> str:
    """A step kind's class of resources: gpu, api or cpu (settings.yaml `slurm.classes`)."""
    for name, kinds in settings()["slurm"]["classes"].items():
        if kind in kinds:
            return name
    raise KeyError(kind)


# --- content hashing ----------------------------------------------------------------------------------
class HashCache:
    """sha256 of files, remembered by (path, size, mtime) so that a no-op rerun reads nothing big."""

    def __init__(self, path: Path):
        self.path = path
        self._entries: dict[str, list] = {}
        self._dirty = False
        if path.is_file():
            try:
                self._entries = json.loads(path.read_text(encoding="utf-8"))
            except (json.JSONDecodeError, OSError):
                self._entries = {}  # a damaged cache is only a slower run

    def file_hash(self, path: Path) -> str:
        stat = path.stat()
        entry = self._entries.get(str(path))
        if entry and entry[0] == stat.st_size and entry[1] == stat.st_mtime_ns:
            return entry[2]
        digest = file_sha256(path)
        self._entries[str(path)] = [stat.st_size, stat.st_mtime_ns, digest]
        self._dirty = True
        return digest

    def fingerprint(self, path: str) -> str:
        """A file's content hash, or a directory's hash over its files' relative paths and content hashes."""
        p = Path(path)
        if p.is_file():
            return self.file_hash(p)
        if p.is_dir():
            digest = hashlib.sha256()
            for child in sorted(c for c in p.rglob("*") if c.is_file() and not c.name.startswith(".")):
                digest.update(f"{child.relative_to(p).as_posix()}\0{self.file_hash(child)}\n".encode())
            return digest.hexdigest()
        raise InputError(f"{path}: file not found (an input of the study)")

    def save(self) -> None:
        if self._dirty:
            atomic_write_json(self.path, self._entries, indent=None)
            self._dirty = False


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


def format_lr(lr: float) -> str:
    mantissa, exponent = f"{lr:.6e}".split("e")
    return f"{mantissa.rstrip('0').rstrip('.')}e{int(exponent)}"


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
            # a built-in reference (``paper``) is part of nativeval: its name keys the step; a user's CSV by content
            inputs={"reference": lb["reference"]}
            if lb["reference"] and lb["reference"] not in EMBEDDED_REFERENCES
            else {},
            deps={"results": [e.id for e in evals], "judgements": [j.id for j in judged]},
        )
    )
    return Plan(config, _topological(b.steps))


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


# --- commands: one small table ------------------------------------------------------------------------
def cli_path() -> str:
    spec = importlib.util.find_spec("nativeval.cli")
    if spec is None or not spec.origin:
        raise InputError("cannot find nativeval's cli module; install the project (`pip install -e .`)")
    return spec.origin


@dataclass
class CommandContext:
    plan: Plan
    judge_urls: dict[str, str] = field(default_factory=dict)  # judges served locally, filled in at run time
    translator_urls: dict[str, str] = field(default_factory=dict)  # stand-in translators, by step id

    def product(self, step_id: str) -> str:
        step = self.plan.steps[step_id]
        return str(step.out / DATA_FILE) if step.kind in ("sample", "translate", "rtt") else str(step.out)

    def ref(self, step: Step, role: str) -> list[str]:
        """The paths a step reads for one role: user files as given, upstream steps' products."""
        if role in step.inputs:
            return [step.inputs[role]]
        return [self.product(d) for d in step.deps.get(role, [])]

    def base(self, step: Step) -> str:
        return self.ref(step, "base")[0] if "base" in step.deps else step.params["base"]

    def cache(self, name: str, step: Step) -> str:
        """The SQLite cache a step's command writes: one per kind, shared by the steps of one local run;
        with ``plan.cache_per_step`` (the Slurm export) one per step, so that concurrent array tasks never
        write one SQLite file over a network file system (each shard has one writer: the step's lock)."""
        cache_dir = self.plan.config.output_dir / "cache"
        return str(cache_dir / "steps" / step.slug / name if self.plan.cache_per_step else cache_dir / name)


def _opt(flag: str, value: Any) -> list[str]:
    return [] if value in (None, "", False) else [flag, str(value)]


def _nativeval(*args: Any) -> list[str]:
    return [sys.executable, cli_path(), *map(str, args)]


def _translate_cmd(s: Step, c: CommandContext) -> list[str]:
    p = s.params
    head = (
        ["translate", "--backend", p["backend"], "--src", p["src"], "--tgt", p["lang"]]
        if s.kind == "translate"
        else ["rtt", "--backend", p["backend"], "--lang", p["lang"]]
    )
    tail = ["--pivot-out", s.out / "pivot_en.json"] if s.kind == "rtt" else []
    return _nativeval(
        *head,
        "--in",
        c.ref(s, "source")[0],
        "--out",
        s.out / DATA_FILE,
        *tail,
        "--fields",
        ",".join(p["fields"]),
        *_opt("--model", p["model"]),
        *_opt("--prompt", p.get("prompt")),
        *_opt("--base-url", p["base_url"]),
        "--cache",
        c.cache(f"{s.kind}.sqlite", s),
        *p["extra_args"],
    )


def _translate_task_cmd(s: Step, c: CommandContext) -> list[str]:
    p = s.params
    how = ["--round-trip", "--via", p["via"]] if p["mode"] == "rtt" else ["--to", p["lang"]]
    base_url = c.translator_urls.get(s.id, "http://127.0.0.1:0") if p["serve"] else p["base_url"]
    # the stand-in's letter mapping is never "in" the target language, so its wrong-language rate is no signal
    wrong_language = ["--max-wrong-language", "1"] if p["serve"] else []
    return _nativeval(
        "translate-task",
        p["task"],
        *how,
        "--backend",
        p["backend"],
        *_opt("--model", p["model"]),
        *_opt("--base-url", base_url),
        "--out",
        s.out.parent,
        *_opt("--label", p["label"]),
        *wrong_language,
        *p["extra_args"],
    )


def _finetune_cmd(s: Step, c: CommandContext) -> list[str]:
    p = s.params
    roles = sorted((r for r in {*s.inputs, *s.deps} if re.fullmatch(r"data\d+", r)), key=lambda r: int(r[4:]))
    data = [arg for role in roles for path in c.ref(s, role) for arg in ("--data", path)]
    lang = "all" if p["tuning"] == "multi" else p["lang"]  # multi: every language of the mixed files
    return _nativeval(
        "finetune",
        "--base",
        c.base(s),
        *data,
        "--lang",
        lang,
        "--variant",
        p["variant"],
        "--out",
        s.out,
        *_recipe_args(p),
        *p["extra_args"],
    )


def _recipe_args(params: dict[str, Any]) -> list[str]:
    """The recipe's values among a finetune step's params as the command's flags (in the command's order)."""
    args: list[str] = []
    for key, option in recipe_options().items():
        value = params.get(key)
        if value is None:
            continue
        if key == "method":
            value = value == "lora"  # `--lora / --full`
        if option.is_flag:
            args += (option.flags if value else option.secondary_flags)[:1]
        else:
            args += [option.flags[0], format_lr(value) if key == "lr" else str(value)]
    return args


def _eval_cmd(s: Step, c: CommandContext, adapter: bool = True, out: Path | None = None) -> list[str]:
    p = s.params
    model_args = [f"pretrained={c.base(s)}"] + ([f"revision={p['revision']}"] if p.get("revision") else [])
    model_args += [f"peft={path}" for path in c.ref(s, "adapter") if adapter]
    model_args += [p["model_args"]] if p["model_args"] else []
    limit = p["limit"]
    return _nativeval(
        "eval",
        "--model",
        "hf",
        "--model-args",
        ",".join(model_args),
        "--tasks",
        ",".join(p["tasks"]),
        "--output-path",
        out or s.out,
        *_opt("--limit", int(limit) if limit and limit >= 1 else limit),
        *_opt("--batch-size", p["batch_size"]),
        *_opt("--device", p.get("device")),
        *(["--apply-chat-template"] if p["apply_chat_template"] else []),
        *p["extra_args"],
    )


def _judge_cmd(s: Step, c: CommandContext) -> list[str]:
    p = s.params
    base_url = c.judge_urls.get(p["judge"], "http://127.0.0.1:0/v1") if p["serve"] else p["base_url"]
    return _nativeval(
        "judge",
        *c.ref(s, "results"),
        "--judge",
        s.inputs.get("judge_config", p["judge"]),
        *_opt("--base-url", base_url),
        "--cache",
        c.cache("judge.sqlite", s),
        "--out",
        s.out,
        *p["extra_args"],
    )


def _leaderboard_cmd(s: Step, c: CommandContext) -> list[str]:
    p = s.params
    return _nativeval(
        "leaderboard",
        *c.ref(s, "results"),
        *c.ref(s, "judgements"),
        "--out",
        s.out,
        "--title",
        p["title"],
        *_opt("--reference", s.inputs.get("reference", p.get("reference"))),
        *[arg for label in p.get("judge_labels", []) for arg in ("--judge-label", label)],
        *p["extra_args"],
    )


COMMANDS: dict[str, Callable[[Step, CommandContext], list[str]]] = {
    "toy_model": lambda s, c: [
        sys.executable,
        "-m",
        "nativeval.harness_ext.study",
        "toy-model",
        "--out",
        str(s.out),
        "--seed",
        str(s.params["seed"]),
    ],
    "sample": lambda s, c: [
        sys.executable,
        "-m",
        "nativeval.harness_ext.study",
        "sample",
        "--in",
        c.ref(s, "source")[0],
        "--out",
        str(s.out / DATA_FILE),
        "--n",
        str(s.params["n"]),
        "--seed",
        str(s.params["seed"]),
    ],
    "translate": _translate_cmd,
    "rtt": _translate_cmd,
    "translate_task": _translate_task_cmd,
    "finetune": _finetune_cmd,
    "eval": _eval_cmd,
    "judge": _judge_cmd,
    "leaderboard": _leaderboard_cmd,
}


def eval_group_key(step: Step, config: StudyConfig) -> str | None:
    """Evaluations with the same key differ only in their adapter: one `nativeval eval --peft` process can run
    them with one load of the base (harness_ext/eval/adapter_group.py). None: the step runs on its own."""
    if step.kind != "eval" or "adapter" not in step.deps or "eval" in config.commands:
        return None
    same = {
        "params": step.params,
        "inputs": step.inputs,
        "deps": {role: ids for role, ids in step.deps.items() if role != "adapter"},
    }
    return json.dumps(same, sort_keys=True, default=str)


def eval_group_command(steps: list[Step], ctx: CommandContext, out: Path) -> list[str]:
    """One `nativeval eval --peft` for evaluations of one key: each adapter's files go to ``out/<step slug>``."""
    argv = [str(a) for a in _eval_cmd(steps[0], ctx, adapter=False, out=out)]
    return argv + ["--peft", ",".join(f"{s.slug}={ctx.ref(s, 'adapter')[0]}" for s in steps)]


# Flags that make a kind's command continue an interrupted attempt (same key) in place instead of restarting.
RESUME_FLAGS: dict[str, list[str]] = {"finetune": ["--resume"]}


def resumes_in_place(step: Step, config: StudyConfig) -> bool:
    return step.kind in RESUME_FLAGS and step.kind not in config.commands


def command_for(step: Step, ctx: CommandContext, resume: bool = False) -> list[str]:
    """The argv that runs ``step``: the table above, or the study file's `commands` override for its kind."""
    template = ctx.plan.config.commands.get(step.kind)
    if not template:
        extra = RESUME_FLAGS.get(step.kind, []) if resume else []
        return [str(a) for a in COMMANDS[step.kind](step, ctx)] + extra
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


# --- money: the price tables --------------------------------------------------------------------------
_ROOT = Path(__file__).resolve().parents[2]
JUDGE_CONFIGS = _ROOT / "harness_ext" / "judge" / "configs"


def price_tables() -> dict[str, dict[str, dict[str, float]]]:
    """USD per 1M units from the one price table: ``{"tokens": {model: {input, output}}, "characters": {...}}``."""
    return {"tokens": token_prices(), "characters": character_prices()}


@dataclass
class CostEstimate:
    translation: float = 0.0
    judging: float = 0.0
    unpriced: list[str] = field(default_factory=list)  # steps calling a model the tables do not price

    @property
    def total(self) -> float:
        return self.translation + self.judging


def _judge_model(step: Step) -> tuple[str, int]:
    """(model, expected output tokens) of a judge step, from its judge config."""
    path = Path(step.inputs.get("judge_config") or JUDGE_CONFIGS / f"{step.params['judge']}.yaml")
    config = read_yaml(path) if path.is_file() else {}  # no config: a judge named by its model
    return str(config.get("model") or step.params["judge"]), int(config.get("expected_output_tokens") or 250)


def estimate_costs(steps: list[Step]) -> CostEstimate:
    """Money for the API calls of ``steps`` (translation segments, judge calls) at list prices."""
    sizes = settings()["costs"]
    prices = price_tables()
    cost = CostEstimate()
    for step in steps:
        if not step.api_calls:
            continue
        if step.kind in ("translate", "rtt"):
            backend, model = step.params["backend"], step.params["model"]
            if backend == "hf":
                continue  # a local model: no API bill
            if backend == "google":
                price = prices["characters"].get(model or "nmt")
                amount = price and price["char"] * step.api_calls * sizes["translation_chars_per_segment"]
            else:
                price, tokens = prices["tokens"].get(model or ""), sizes["translation_tokens_per_segment"]
                amount = price and step.api_calls * (
                    price["input"] * tokens["input"] + price["output"] * tokens["output"]
                )
            if price:
                cost.translation += amount / 1e6
            else:
                cost.unpriced.append(step.id)
        elif step.kind == "judge" and not step.params.get("serve"):
            model, output_tokens = _judge_model(step)
            price = prices["tokens"].get(model)
            if price:
                per_call = (
                    price["input"] * sizes["judge_tokens_per_call"]["input"] + price["output"] * output_tokens
                )
                cost.judging += step.api_calls * per_call / 1e6
            else:
                cost.unpriced.append(step.id)
    return cost


def cost_line(steps: list[Step]) -> str:
    cost = estimate_costs(steps)
    table = price_table_path()
    files = str(table.relative_to(_ROOT)) if table.is_relative_to(_ROOT) else str(table)
    line = (
        f"estimated API cost for the steps to run: ${cost.total:,.2f} (translation ${cost.translation:,.2f}, "
        f"judging ${cost.judging:,.2f}) at list prices from {files}"
    )
    if cost.unpriced:
        line += (
            f"; {len(cost.unpriced)} step(s) call a model without a listed price, not counted "
            f"(e.g. {cost.unpriced[0]})"
        )
    return line

"""Every kind of study step in one place: its command, what it leaves and hands on, the resources it takes,
what its API calls cost, and the local stand-in server and environment it needs.

``KINDS`` maps each kind's name (``Step.kind``, the keys of a study file's `commands`) to its class; the
planner, the runner, the scheduler, the cost estimate and the Slurm export read these and never test a
kind's name themselves. Tunable figures (estimates, prices, Slurm defaults) stay data in settings.yaml.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.study.entry_points import STUDY_MODULE, TESTING_MODULE, module_argv, nativeval_argv
from nativeval.harness_ext.study.outputs import PromisedOutput
from nativeval.harness_ext.study.recipe import recipe_args
from nativeval.harness_ext.study.step import Step

DATA_FILE = "data.json"  # what a data step (sample, translate, rtt) writes and its dependents read
USER_TASKS_SUBDIR = "user_tasks"  # translate-task steps write their tasks here; eval steps read it
JUDGE_CONFIGS = Path(__file__).resolve().parents[1] / "judge" / "configs"  # read as data, never imported
UNSERVED_URL = "http://127.0.0.1:0"  # a stand-in's address before the runner started it (plan checks)


@dataclass(frozen=True)
class StandIn:
    """A local stand-in server a step needs (`serve: stub`); steps with the same ``key`` share one per run."""

    key: str  # the judge's name, or the step's id
    service: str  # `python -m nativeval.harness_ext.testing serve SERVICE`: judge | google
    model: str | None  # the model name the stand-in answers as
    api_key_env: str  # the step's command reads its API key here: the runner sets a dummy one
    what: str  # "judge for 'NAME'": the runner says "started a local STAND-IN <what> at <url> (<note>)"
    note: str


@dataclass(frozen=True)
class CommandInputs:
    """What a step's command reads, as the plan resolved it: paths by role, its cache folder, its stand-in."""

    refs: dict[str, list[str]]  # role -> user files as given, or the products of upstream steps
    cache_dir: Path  # where the command's SQLite caches go
    stand_in_url: str | None = None

    def ref(self, role: str) -> list[str]:
        return self.refs.get(role, [])

    def base(self, step: Step) -> str:
        """The base model: a toy model's folder (an upstream step), else the reference the study gives."""
        return self.refs["base"][0] if "base" in step.deps else step.params["base"]

    def cache(self, name: str) -> str:
        return str(self.cache_dir / name)


def _opt(flag: str, value: Any) -> list[str]:
    return [] if value in (None, "", False) else [flag, str(value)]


class StepKind:
    """What the study knows of one kind of step; a subclass per kind below, one instance each in ``KINDS``."""

    name: ClassVar[str]
    resource_class: ClassVar[str]  # gpu | api | cpu: its Slurm resources and its slots on one node
    outputs: ClassVar[tuple[PromisedOutput, ...]]  # done only when these hold (study/outputs.py)
    # what its dependents read: this file of its folder (None: the folder)
    product_file: ClassVar[str | None] = None
    resume_flags: ClassVar[tuple[str, ...]] = ()  # continue an interrupted attempt (same key) in place
    runs_tasks: ClassVar[bool] = False  # builds lm-eval tasks: sees the study's data dirs and user tasks
    bill: ClassVar[str | None] = None  # which line of the cost estimate its API calls go to

    def command(self, step: Step, inputs: CommandInputs) -> list[Any]:
        raise NotImplementedError

    def product(self, step: Step) -> str:
        return str(step.out / self.product_file) if self.product_file else str(step.out)

    def runs_model(self, step: Step) -> bool:
        """Whether the step runs a model that wants a GPU: a gpu-class step, unless the model is the toy
        model or the study asks for the CPU."""
        return (
            self.resource_class == "gpu"
            and not str(step.params.get("base", "")).startswith("toy:")
            and step.params.get("device") != "cpu"
        )

    def stand_in(self, step: Step) -> StandIn | None:
        return None

    def api_cost(self, step: Step, prices: dict[str, dict], sizes: dict[str, Any]) -> float | None:
        """USD for the step's API calls at list prices; None when the tables do not price its model."""
        return 0.0

    def group_key(self, step: Step) -> str | None:
        """Steps of one key run as one process (``group_command``); None: the step runs on its own."""
        return None

    def group_command(self, steps: list[Step], inputs: list[CommandInputs], out: Path) -> list[str]:
        raise NotImplementedError(f"{self.name} steps never run as a group")

    def output_problem(self, folder: Path) -> str | None:
        """Why ``folder`` does not hold this kind's finished outputs (one line), or None when it does."""
        for promise in self.outputs:
            problem = promise.problem(folder)
            if problem:
                return problem
        return None


class ToyModel(StepKind):
    name = "toy_model"
    resource_class = "cpu"
    outputs = (PromisedOutput(("config.json",), "json", "model_type"),)

    def command(self, step: Step, inputs: CommandInputs) -> list[Any]:
        return module_argv(TESTING_MODULE, "toy-model", "--out", step.out, "--seed", step.params["seed"])


class Sample(StepKind):
    name = "sample"
    resource_class = "cpu"
    outputs = (PromisedOutput((DATA_FILE,), "records"),)
    product_file = DATA_FILE

    def command(self, step: Step, inputs: CommandInputs) -> list[Any]:
        p = step.params
        return module_argv(
            STUDY_MODULE, "sample", "--in", inputs.ref("source")[0], "--out", step.out / DATA_FILE,
            "--n", p["n"], "--seed", p["seed"],
        )  # fmt: skip


class Translate(StepKind):
    """A training-data variant translated from its source (`translate:` variants)."""

    name = "translate"
    resource_class = "api"
    outputs = (PromisedOutput((DATA_FILE,), "records"),)
    product_file = DATA_FILE
    bill = "translation"

    def head(self, params: dict[str, Any]) -> list[str]:
        return ["translate", "--backend", params["backend"], "--src", params["src"], "--tgt", params["lang"]]

    def tail(self, step: Step) -> list[Any]:
        return []

    def command(self, step: Step, inputs: CommandInputs) -> list[Any]:
        p = step.params
        return nativeval_argv(
            *self.head(p), "--in", inputs.ref("source")[0], "--out", step.out / DATA_FILE, *self.tail(step),
            "--fields", ",".join(p["fields"]), *_opt("--model", p["model"]),
            *_opt("--prompt", p.get("prompt")), *_opt("--base-url", p["base_url"]),
            "--cache", inputs.cache(f"{self.name}.sqlite"), *p["extra_args"],
        )  # fmt: skip

    def runs_model(self, step: Step) -> bool:
        return step.params.get("backend") == "hf"  # a local translation model

    def api_cost(self, step: Step, prices: dict[str, dict], sizes: dict[str, Any]) -> float | None:
        backend, model = step.params["backend"], step.params["model"]
        if backend == "hf":
            return 0.0  # a local model: no API bill
        if backend == "google":
            price = prices["characters"].get(model or "nmt")
            if not price:
                return None
            return price["char"] * step.api_calls * sizes["translation_chars_per_segment"] / 1e6
        price, tokens = prices["tokens"].get(model or ""), sizes["translation_tokens_per_segment"]
        if not price:
            return None
        return step.api_calls * (price["input"] * tokens["input"] + price["output"] * tokens["output"]) / 1e6


class RoundTrip(Translate):
    """A training-data variant translated to English and back (`round_trip:` variants)."""

    name = "rtt"

    def head(self, params: dict[str, Any]) -> list[str]:
        return ["rtt", "--backend", params["backend"], "--lang", params["lang"]]

    def tail(self, step: Step) -> list[Any]:
        return ["--pivot-out", step.out / "pivot_en.json"]


class TranslateTask(StepKind):
    """A catalogue task translated by `nativeval translate-task` into a user task (`translate_tasks:`)."""

    name = "translate_task"
    resource_class = "api"
    outputs = (PromisedOutput(("nativeval_task.json",), "json", "name"),)
    runs_tasks = True

    def command(self, step: Step, inputs: CommandInputs) -> list[Any]:
        p = step.params
        how = ["--round-trip", "--via", p["via"]] if p["mode"] == "rtt" else ["--to", p["lang"]]
        base_url = (inputs.stand_in_url or UNSERVED_URL) if p["serve"] else p["base_url"]
        # the stand-in's letter mapping is never "in" the target language: its wrong-language rate is noise
        wrong_language = ["--max-wrong-language", "1"] if p["serve"] else []
        return nativeval_argv(
            "translate-task", p["task"], *how, "--backend", p["backend"], *_opt("--model", p["model"]),
            *_opt("--base-url", base_url), "--out", step.out.parent, *_opt("--label", p["label"]),
            *wrong_language, *p["extra_args"],
        )  # fmt: skip

    def stand_in(self, step: Step) -> StandIn | None:
        if not step.params["serve"]:
            return None
        return StandIn(
            key=step.id,
            service="google",
            model=None,
            api_key_env="GOOGLE_TRANSLATE_API_KEY",
            what=f"translator for {step.params['task']}",
            note=step.params["label"] or "deterministic letter mapping, not a real MT system",
        )


class Finetune(StepKind):
    name = "finetune"
    resource_class = "gpu"
    outputs = (
        PromisedOutput(("adapter_config.json", "config.json"), "json"),
        PromisedOutput(("nativeval_run.json",), "json"),
    )
    resume_flags = ("--resume",)

    def command(self, step: Step, inputs: CommandInputs) -> list[Any]:
        p = step.params
        roles = sorted((r for r in inputs.refs if re.fullmatch(r"data\d+", r)), key=lambda r: int(r[4:]))
        data = [arg for role in roles for path in inputs.ref(role) for arg in ("--data", path)]
        lang = "all" if p["tuning"] == "multi" else p["lang"]  # multi: every language of the mixed files
        return nativeval_argv(
            "finetune", "--base", inputs.base(step), *data, "--lang", lang, "--variant", p["variant"],
            "--out", step.out, *recipe_args(p), *p["extra_args"],
        )  # fmt: skip


class Eval(StepKind):
    name = "eval"
    resource_class = "gpu"
    outputs = (PromisedOutput(("*/results_*.json", "results_*.json"), "json", "results"),)
    runs_tasks = True

    def command(
        self, step: Step, inputs: CommandInputs, adapter: bool = True, out: Path | None = None
    ) -> list[Any]:
        p = step.params
        model_args = [f"pretrained={inputs.base(step)}"] + (
            [f"revision={p['revision']}"] if p.get("revision") else []
        )
        model_args += [f"peft={path}" for path in inputs.ref("adapter") if adapter]
        model_args += [p["model_args"]] if p["model_args"] else []
        limit = p["limit"]
        return nativeval_argv(
            "eval", "--model", "hf", "--model-args", ",".join(model_args), "--tasks", ",".join(p["tasks"]),
            "--output-path", out or step.out, *_opt("--limit", int(limit) if limit and limit >= 1 else limit),
            *_opt("--batch-size", p["batch_size"]), *_opt("--device", p.get("device")),
            *(["--apply-chat-template"] if p["apply_chat_template"] else []), *p["extra_args"],
        )  # fmt: skip

    def group_key(self, step: Step) -> str | None:
        """Evaluations that differ only in their adapter: one `nativeval eval --peft` process runs them with
        one load of the base (harness_ext/eval/adapter_group.py)."""
        if "adapter" not in step.deps:
            return None
        same = {
            "params": step.params,
            "inputs": step.inputs,
            "deps": {role: ids for role, ids in step.deps.items() if role != "adapter"},
        }
        return json.dumps(same, sort_keys=True, default=str)

    def group_command(self, steps: list[Step], inputs: list[CommandInputs], out: Path) -> list[str]:
        """One `nativeval eval --peft` for the evaluations of one key; each adapter's files go to out/SLUG."""
        argv = [str(a) for a in self.command(steps[0], inputs[0], adapter=False, out=out)]
        adapters = ",".join(f"{s.slug}={i.ref('adapter')[0]}" for s, i in zip(steps, inputs, strict=True))
        return argv + ["--peft", adapters]


class Judge(StepKind):
    name = "judge"
    resource_class = "api"
    outputs = (PromisedOutput(("*/results_judge_*.json", "results_judge_*.json"), "json", "results"),)
    bill = "judging"

    def command(self, step: Step, inputs: CommandInputs) -> list[Any]:
        p = step.params
        base_url = (inputs.stand_in_url or f"{UNSERVED_URL}/v1") if p["serve"] else p["base_url"]
        return nativeval_argv(
            "judge", *inputs.ref("results"), "--judge", step.inputs.get("judge_config", p["judge"]),
            *_opt("--base-url", base_url), "--cache", inputs.cache("judge.sqlite"), "--out", step.out,
            *p["extra_args"],
        )  # fmt: skip

    def stand_in(self, step: Step) -> StandIn | None:
        if not step.params["serve"]:
            return None
        name = step.params["judge"]
        return StandIn(
            key=name,
            service="judge",
            model=name,
            api_key_env="OPENAI_API_KEY",
            what=f"judge for {name!r}",
            note="deterministic, not a real model: its ratings measure nothing",
        )

    def api_cost(self, step: Step, prices: dict[str, dict], sizes: dict[str, Any]) -> float | None:
        if step.params.get("serve"):
            return 0.0
        model, output_tokens = self.judge_model(step)
        price = prices["tokens"].get(model)
        if not price:
            return None
        input_tokens = sizes["judge_tokens_per_call"]["input"]
        return step.api_calls * (price["input"] * input_tokens + price["output"] * output_tokens) / 1e6

    @staticmethod
    def judge_model(step: Step) -> tuple[str, int]:
        """(model, expected output tokens) of a judge step, from its judge config."""
        path = Path(step.inputs.get("judge_config") or JUDGE_CONFIGS / f"{step.params['judge']}.yaml")
        config = read_yaml(path) if path.is_file() else {}  # no config: a judge named by its model
        return str(config.get("model") or step.params["judge"]), int(
            config.get("expected_output_tokens") or 250
        )


class Leaderboard(StepKind):
    name = "leaderboard"
    resource_class = "cpu"
    outputs = (PromisedOutput(("leaderboard.json",), "json"),)

    def command(self, step: Step, inputs: CommandInputs) -> list[Any]:
        p = step.params
        return nativeval_argv(
            "leaderboard", *inputs.ref("results"), *inputs.ref("judgements"), "--out", step.out,
            "--title", p["title"], *_opt("--reference", step.inputs.get("reference", p.get("reference"))),
            *[arg for label in p.get("judge_labels", []) for arg in ("--judge-label", label)],
            *p["extra_args"],
        )  # fmt: skip


KINDS: dict[str, StepKind] = {
    kind.name: kind()
    for kind in (ToyModel, Sample, Translate, RoundTrip, TranslateTask, Finetune, Eval, Judge, Leaderboard)
}

"""The study file: load, check and normalise it (every bad input is one line naming the key or file).

Schema (full reference in configs/README.md)::

    study: NAME                         # required
    output_dir: DIR                     # required; relative to the study file; `--output-dir` overrides it
    vars: {NAME: VALUE}                 # ${NAME} substitution in every string; `--var NAME=VALUE` overrides
    languages: [zh, ...]                # required; any language a catalogue task is in
    base_models: {NAME: HF_ID | LOCAL_DIR | {path, revision, params_b} | {toy: {seed}}}
    variants:                           # required; exactly one of file / translate / round_trip each
      NAME: {file: PATH}                # `{lang}` in a path is replaced per language
      NAME: {translate: {backend, source, src, model, base_url, prompt, fields, sample, seed, extra_args}}
      NAME: {round_trip: {backend, source: VARIANT_OR_PATH, model, base_url, prompt, fields, extra_args}}
      # `prompt` (llm backend): a translate/prompts version (command_r_fig6: the study's Fig. 6) or YAML path
      # any variant may add `multi_file: PATH | [PATHS]` (the data for tuning: multi)
    finetune:
      recipe: {method: lora | full, lr, epochs, ..., load_in_8bit, extra_args}   # any `nativeval finetune`
                                        # option but the per-run ones (base, data, lang, variant, out, resume)
      runs: [{models: all | [..], variants: all | [..], lr: [..], tuning: [mono, multi]}]
    eval: {tasks, limit, batch_size, apply_chat_template, base_models, model_args, device, data_dirs,
           extra_args}
    judges: [{name, base_url, config: JUDGE_YAML, serve: stub, label, extra_args}]
    translate_tasks: [{task, round_trip: {via} | to: LANG, backend, model, base_url, serve: stub, label,
                       extra_args}]     # `nativeval translate-task` steps; each eval of that language adds
                                        # the new task (rtt_<lang>_<bench> / mt_<lang>_<bench>)
    leaderboard: {title, reference, extra_args}
    commands: {STEP_KIND: [ARGV TEMPLATE]}   # replace a step kind's command (advanced; tests use it)
    slurm: {gpu | cpu | api: {partition, time, memory, cpus, gpus, extra_args}}   # --export-slurm resources

Model, variant and judge NAMEs become folders, so each must be one plain folder name (core.paths); a key given
twice anywhere is an error (core.io's YAML loader); a path starting with a ``--var`` value is relative to the
working directory, every other path to the study file's folder.
"""

from __future__ import annotations

import math
import os
import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nativeval.harness_ext.catalogue.references import EMBEDDED_REFERENCES
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.core.models import resolve_model
from nativeval.harness_ext.core.paths import is_safe_segment, safe_segment
from nativeval.harness_ext.core.prices import checked_prices
from nativeval.harness_ext.study.kinds import KINDS
from nativeval.harness_ext.study.recipe import FinetuneOption, recipe_options
from nativeval.harness_ext.study.settings import settings

TUNINGS = ("mono", "multi")
TRANSLATE_BACKENDS = ("google", "llm", "hf")
TRANSLATE_PROMPTS = (
    Path(__file__).resolve().parents[2] / "translate" / "prompts"
)  # read as data, never imported


@dataclass(frozen=True)
class BaseModel:
    name: str
    path: str  # a Hugging Face id or an absolute local directory ("" for a toy model)
    revision: str | None = None
    params_b: float = 0.0
    toy_seed: int | None = None

    @property
    def is_toy(self) -> bool:
        return self.toy_seed is not None


@dataclass(frozen=True)
class Variant:
    name: str
    kind: str  # file | translate | round_trip
    file: str | None = None  # path template ({lang})
    source: str | None = None  # translate: a path template; round_trip: a variant name or a path template
    backend: str | None = None
    model: str | None = None
    base_url: str | None = None
    src: str = "en"
    fields: tuple[str, ...] = ("instruction", "output")
    prompt: str | None = None  # llm backend: a translate/prompts version or YAML path
    sample: int | None = None
    seed: int = 0
    extra_args: tuple[str, ...] = ()
    multi_files: tuple[str, ...] = ()


@dataclass(frozen=True)
class RunGroup:
    models: tuple[str, ...]
    variants: tuple[str, ...]
    lrs: tuple[float, ...]
    tunings: tuple[str, ...]


@dataclass(frozen=True)
class Judge:
    name: str
    base_url: str | None
    serve: str | None = None  # "stub": the runner serves a local deterministic stand-in judge
    # a judge YAML (harness_ext/judge/configs shape) passed as --judge instead of the name
    config: str | None = None
    label: str | None = None
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class TranslateTask:
    """A catalogue task translated by `nativeval translate-task` into a user-made task named ``name``."""

    task: str
    name: str
    language: str  # the new task's language
    mode: str  # "rtt" | "mt"
    via: str = "en"
    backend: str = "google"
    model: str | None = None
    base_url: str | None = None
    serve: str | None = None  # "stub": the runner serves a local deterministic stand-in translator
    label: str | None = None
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class EvalSettings:
    tasks: tuple[str, ...]
    limit: float | None = None
    batch_size: str | None = None
    apply_chat_template: bool = False
    base_models: bool = False
    model_args: str | None = None
    device: str | None = None
    data_dirs: tuple[str, ...] = ()
    extra_args: tuple[str, ...] = ()


@dataclass(frozen=True)
class SlurmResources:
    """What one class of steps (gpu, cpu, api: study/kinds.py) asks Slurm for."""

    partition: str | None
    time: str
    memory: str
    cpus: int
    gpus: int
    extra_args: tuple[str, ...] = ()


@dataclass
class StudyConfig:
    path: Path
    name: str
    output_dir: Path
    languages: tuple[str, ...]
    base_models: dict[str, BaseModel]
    variants: dict[str, Variant]
    recipe: dict[str, Any]
    runs: list[RunGroup]
    eval: EvalSettings
    judges: list[Judge]
    leaderboard: dict[str, Any]
    commands: dict[str, tuple[str, ...]] = field(default_factory=dict)
    slurm: dict[str, SlurmResources] = field(default_factory=dict)
    translate_tasks: list[TranslateTask] = field(default_factory=list)

    @property
    def base_dir(self) -> Path:
        return self.path.parent


# --- small checking helpers ---------------------------------------------------------------------------
class _Where:
    """Names the place of a value in the study file for error messages: `study.yaml: finetune.runs[1].lr`."""

    def __init__(self, file: Path, key: str = ""):
        self.file, self.key = file, key

    def __truediv__(self, part: str | int) -> _Where:
        sub = f"[{part}]" if isinstance(part, int) else (f".{part}" if self.key else str(part))
        return _Where(self.file, self.key + sub)

    def error(self, message: str) -> InputError:
        return InputError(f"{self.file}: {self.key}: {message}" if self.key else f"{self.file}: {message}")


def _mapping(value: Any, where: _Where, allowed: set[str], required: set[str] = frozenset()) -> dict:
    if not isinstance(value, dict):
        raise where.error(f"expected a mapping, got {type(value).__name__}")
    unknown = sorted(set(map(str, value)) - allowed)
    if unknown:
        raise (where / unknown[0]).error(f"unknown key (known keys here: {', '.join(sorted(allowed))})")
    missing = sorted(required - set(value))
    if missing:
        raise (where / missing[0]).error("required key is missing")
    return value


def _str(value: Any, where: _Where) -> str:
    if isinstance(value, bool) or not isinstance(value, (str, int, float)) or str(value).strip() == "":
        raise where.error("expected a non-empty string")
    return value if isinstance(value, str) else str(value)  # keeps _FromCommandLine


def _folder_name(value: Any, where: _Where) -> str:
    """A model, variant or judge name: it names folders of the study (``checkpoints/<model>/...``), so it must
    be one plain file-name segment (core.paths); anything else is refused before any work, never rewritten."""
    name = _str(value, where)
    if not is_safe_segment(name):
        raise where.error(
            f"{name!r} cannot name a folder: use letters, digits and . _ + - (no '/', '\\', '..', "
            f"leading dot or dash, at most 80 characters), e.g. {safe_segment(name)!r}"
        )
    return unicodedata.normalize("NFC", name)


def _str_list(value: Any, where: _Where) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    if not isinstance(value, list) or not value:
        raise where.error("expected a string or a non-empty list of strings")
    return tuple(_str(v, where / i) for i, v in enumerate(value))


def _args(value: Any, where: _Where) -> tuple[str, ...]:
    if value is None:
        return ()
    if isinstance(value, str):
        args = tuple(value.split())
    elif isinstance(value, list):
        args = tuple(_str(v, where / i) for i, v in enumerate(value))
    else:
        raise where.error("expected a list of command-line arguments")
    _check_cost_args(args, where)
    return args


COST_OPTIONS = ("--max-cost", "--judge-max-cost")  # spending caps in USD of the commands a study runs


def _check_cost_args(args: tuple[str, ...], where: _Where) -> None:
    """A spending cap in `extra_args` must be a finite number of USD, zero or more: found now, not later."""
    for i, arg in enumerate(args):
        flag, eq, value = arg.partition("=")
        if flag not in COST_OPTIONS:
            continue
        value = value if eq else (args[i + 1] if i + 1 < len(args) else "")
        try:
            usd = float(value)
        except ValueError:
            usd = float("nan")
        if not math.isfinite(usd) or usd < 0:
            raise where.error(f"{flag} {value!r}: expected a cost in USD, zero or more")


def _number(value: Any, where: _Where, kind=float) -> Any:
    try:
        if isinstance(value, bool):
            raise ValueError
        number = kind(value)
    except (TypeError, ValueError):
        raise where.error(f"expected a number, got {value!r}") from None
    if number < 0:
        raise where.error(f"expected a non-negative number, got {value!r}")
    return number


def _positive(value: Any, where: _Where, kind=float, at_least: float | None = None) -> Any:
    """A number above zero (or at least ``at_least``): an impossible value fails before anything runs."""
    number = _number(value, where, kind)
    if at_least is not None and number < at_least:
        raise where.error(f"expected at least {at_least}, got {value!r}")
    if number <= 0:
        raise where.error(f"expected a positive number, got {value!r}")
    return number


MINIMUM_RECIPE_VALUES = {"epochs": 1, "batch_size": 1, "micro_batch_size": 1, "max_length": 8}


def _bool(value: Any, where: _Where) -> bool:
    if not isinstance(value, bool):
        raise where.error(f"expected true or false, got {value!r}")
    return value


_VAR = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")


def _substitute(
    value: Any, variables: dict[str, str], where: _Where, from_command_line: set[str] = frozenset()
) -> Any:
    if isinstance(value, str):

        def repl(match: re.Match) -> str:
            if match.group(1) not in variables:
                raise where.error(f"${{{match.group(1)}}} is not defined under `vars` (or by --var)")
            return variables[match.group(1)]

        leading = _VAR.match(value)
        text = _VAR.sub(repl, value)
        return _FromCommandLine(text) if leading and leading.group(1) in from_command_line else text
    if isinstance(value, list):
        return [_substitute(v, variables, where / i, from_command_line) for i, v in enumerate(value)]
    if isinstance(value, dict):
        return {k: _substitute(v, variables, where / str(k), from_command_line) for k, v in value.items()}
    return value


# --- loading ------------------------------------------------------------------------------------------
TOP_KEYS = {
    "study",
    "output_dir",
    "vars",
    "languages",
    "base_models",
    "variants",
    "finetune",
    "eval",
    "judges",
    "leaderboard",
    "commands",
    "slurm",
    "translate_tasks",
}


def load_study(
    path: str | os.PathLike,
    overrides: dict[str, str] | None = None,
    output_dir: str | os.PathLike | None = None,
) -> StudyConfig:
    """Read and check a study file; raise InputError (one line, naming key or file) on any problem.

    ``output_dir`` (the `--output-dir` option) replaces the file's `output_dir`; relative to the working
    directory, where the file's own value is relative to the study file."""
    shown = Path(path)
    path = shown.resolve()
    if not path.is_file():
        raise InputError(f"{shown}: study file not found")
    raw = read_yaml(path, shown=shown)
    root = _Where(shown)
    raw = _mapping(raw, root, TOP_KEYS, {"study", "output_dir", "languages", "base_models", "variants"})
    raw_vars = raw.get("vars") or {}
    if not isinstance(raw_vars, dict):
        raise (root / "vars").error("expected a mapping of names to values")
    variables = {str(k): _str(v, root / "vars" / str(k)) for k, v in raw_vars.items()}
    _check_overrides(overrides or {}, set(variables) | _referenced_vars(raw), shown)
    variables.update(overrides or {})
    raw = _substitute(raw, variables, root, set(overrides or {}))
    base_dir = path.parent

    languages = _str_list(raw["languages"], root / "languages")
    from nativeval.harness_ext.catalogue import (
        catalogue,  # here: the catalogue loads `datasets`, slow to import
    )

    known_languages = catalogue().languages  # the languages some catalogue task is in
    for i, lang in enumerate(languages):
        if lang not in known_languages:
            raise (root / "languages" / i).error(
                f"unknown language {lang!r} (supported: {', '.join(known_languages)})"
            )

    base_models = _load_base_models(raw["base_models"], root / "base_models", base_dir)
    variants = _load_variants(raw["variants"], root / "variants", base_dir)
    finetune = _mapping(raw.get("finetune") or {}, root / "finetune", {"recipe", "runs"})
    recipe = _load_recipe(finetune.get("recipe") or {}, root / "finetune" / "recipe")
    runs = _load_runs(finetune.get("runs"), root / "finetune" / "runs", base_models, variants)
    config = StudyConfig(
        path=path,
        name=_str(raw["study"], root / "study"),
        output_dir=Path(os.path.expanduser(output_dir)).resolve()
        if output_dir
        else Path(resolve_path(_str(raw["output_dir"], root / "output_dir"), base_dir)),
        languages=languages,
        base_models=base_models,
        variants=variants,
        recipe=recipe,
        runs=runs,
        eval=_load_eval(raw.get("eval") or {}, root / "eval", base_dir),
        judges=_load_judges(raw.get("judges") or [], root / "judges", base_dir),
        leaderboard=_load_leaderboard(raw.get("leaderboard") or {}, root / "leaderboard", base_dir),
        commands=_load_commands(raw.get("commands") or {}, root / "commands"),
        slurm=_load_slurm(raw.get("slurm") or {}, root / "slurm"),
        translate_tasks=_load_translate_tasks(
            raw.get("translate_tasks") or [], root / "translate_tasks", languages
        ),
    )
    _check_files(config, root)
    _check_eval_tasks(config, root)
    return config


def _referenced_vars(value: Any) -> set[str]:
    """The ``${NAME}`` names used anywhere in a study file's values."""
    if isinstance(value, str):
        return set(_VAR.findall(value))
    if isinstance(value, list):
        return set().union(*map(_referenced_vars, value)) if value else set()
    if isinstance(value, dict):
        return set().union(*map(_referenced_vars, value.values())) if value else set()
    return set()


def _check_overrides(overrides: dict[str, str], known: set[str], shown: Path) -> None:
    """A `--var` the study file neither defines nor uses is a typo: refuse it, listing the names it has."""
    for name in overrides:
        if name not in known:
            listed = ", ".join(sorted(known)) or "none"
            raise InputError(f"--var {name}: {shown} has no variable {name!r} (its variables: {listed})")


def parse_vars(items: list[str] | tuple[str, ...]) -> dict[str, str]:
    """`--var NAME=VALUE` options as a mapping; a malformed one is a one-line error."""
    variables = {}
    for item in items:
        name, sep, value = item.partition("=")
        if not sep or not _VAR.fullmatch("${" + name + "}"):
            raise InputError(f"--var {item!r}: expected NAME=VALUE")
        variables[name] = value
    return variables


class _FromCommandLine(str):
    """A study-file value that starts with a ``${NAME}`` given by ``--var``: as a path, it is relative to the
    working directory (what a path typed in the shell means), not to the study file's folder."""


def _base_for(value: str, base_dir: Path) -> Path:
    return Path.cwd() if isinstance(value, _FromCommandLine) else base_dir


def resolve_path(value: str, base_dir: Path) -> str:
    """A path of the study file: relative to its folder, or to the working directory when it starts with a
    ``--var`` value."""
    return str((_base_for(value, base_dir) / os.path.expanduser(value)).resolve())


def _params_from_name(*names: str) -> float:
    for name in names:
        match = re.search(r"(\d+(?:\.\d+)?)\s*[bB](?![a-zA-Z])", name)
        if match:
            return float(match.group(1))
    return 0.0


def _load_base_models(value: Any, where: _Where, base_dir: Path) -> dict[str, BaseModel]:
    if not isinstance(value, dict) or not value:
        raise where.error("expected a mapping of model names to Hugging Face ids or local directories")
    models = {}
    for name, spec in value.items():
        w = where / str(name)
        name = _folder_name(name, w)
        if isinstance(spec, str):
            spec = {"path": spec}
        spec = _mapping(spec, w, {"path", "revision", "params_b", "toy"})
        if "toy" in spec:
            if "path" in spec:
                raise (w / "toy").error("a toy model has no path; give either `toy` or `path`")
            toy = _mapping(spec["toy"] or {}, w / "toy", {"seed"})
            models[str(name)] = BaseModel(
                str(name), "", None, 0.0, _number(toy.get("seed", 0), w / "toy" / "seed", int)
            )
            continue
        if "path" not in spec:
            raise (w / "path").error("required key is missing (a Hugging Face id or a local directory)")
        model_path = _str(spec["path"], w / "path")
        try:  # the one model-reference rule; the eval and finetune steps check the Hub cache when they run
            model_path = resolve_model(
                model_path, model_path, base_dir=_base_for(model_path, base_dir), check_cache=False
            ).location
        except InputError as err:
            raise (w / "path").error(str(err)) from None
        params = spec.get("params_b")
        models[str(name)] = BaseModel(
            str(name),
            model_path,
            spec.get("revision") and _str(spec["revision"], w / "revision"),
            _number(params, w / "params_b")
            if params is not None
            else _params_from_name(str(name), model_path),
        )
    return models


def _load_variants(value: Any, where: _Where, base_dir: Path) -> dict[str, Variant]:
    if not isinstance(value, dict) or not value:
        raise where.error("expected a mapping of variant names to {file | translate | round_trip}")
    variants = {}
    for name, spec in value.items():
        w = where / str(name)
        name = _folder_name(name, w)
        spec = _mapping(spec, w, {"file", "translate", "round_trip", "multi_file"})
        kinds = [k for k in ("file", "translate", "round_trip") if k in spec]
        if len(kinds) != 1:
            raise w.error("give exactly one of `file`, `translate`, `round_trip`")
        kind = kinds[0]
        multi = (
            tuple(resolve_path(p, base_dir) for p in _str_list(spec["multi_file"], w / "multi_file"))
            if "multi_file" in spec
            else ()
        )
        if kind == "file":
            variants[str(name)] = Variant(
                str(name),
                "file",
                file=resolve_path(_str(spec["file"], w / "file"), base_dir),
                multi_files=multi,
            )
            continue
        ws = w / kind
        allowed = {"backend", "source", "model", "base_url", "prompt", "fields", "extra_args"}
        if kind == "translate":
            allowed |= {"src", "sample", "seed"}
        body = _mapping(spec[kind], ws, allowed, {"backend", "source"})
        backend = _str(body["backend"], ws / "backend")
        if backend not in TRANSLATE_BACKENDS:
            raise (ws / "backend").error(
                f"unknown backend {backend!r} (known: {', '.join(TRANSLATE_BACKENDS)})"
            )
        prompt = _translation_prompt(body.get("prompt"), backend, ws / "prompt", base_dir)
        source = _str(body["source"], ws / "source")
        if kind == "translate" or source not in value:
            source = resolve_path(source, base_dir)
        variants[str(name)] = Variant(
            str(name),
            kind,
            source=source,
            backend=backend,
            model=body.get("model") and _str(body["model"], ws / "model"),
            base_url=body.get("base_url") and _str(body["base_url"], ws / "base_url"),
            prompt=prompt,
            src=_str(body.get("src", "en"), ws / "src"),
            fields=_str_list(body.get("fields", ["instruction", "output"]), ws / "fields"),
            sample=_positive(body["sample"], ws / "sample", int) if body.get("sample") is not None else None,
            seed=_number(body.get("seed", 0), ws / "seed", int),
            extra_args=_args(body.get("extra_args"), ws / "extra_args"),
            multi_files=multi,
        )
    for name, variant in variants.items():
        if (
            variant.kind == "round_trip"
            and variant.source in variants
            and variants[variant.source].kind != "file"
        ):
            raise (where / name / "round_trip" / "source").error(
                f"round trip source {variant.source!r} must be a `file` variant or a path"
            )
    return variants


def _translation_prompt(value: Any, backend: str, where: _Where, base_dir: Path) -> str | None:
    """A translation prompt version (translate/prompts/NAME.yaml) or a YAML path, for the llm backend only."""
    if value is None:
        return None
    prompt = _str(value, where)
    if backend != "llm":
        raise where.error(f"a prompt applies to the llm backend, not {backend}")
    if prompt.endswith((".yaml", ".yml")):
        prompt = resolve_path(prompt, base_dir)
        if not Path(prompt).is_file():
            raise where.error(f"{prompt}: file not found")
    elif not (TRANSLATE_PROMPTS / f"{prompt}.yaml").is_file():
        known = ", ".join(sorted(p.stem for p in TRANSLATE_PROMPTS.glob("*.yaml")))
        raise where.error(f"unknown translation prompt {prompt!r} (known: {known}, or a YAML path)")
    return prompt


# --- the fine-tuning recipe: `nativeval finetune`'s options, set once for every run of the study -----------
def _option_value(option: FinetuneOption, value: Any, where: _Where) -> Any:
    """A recipe value checked as the finetune command will read it; None leaves the command's default."""
    if value is None:
        return None
    if option.is_flag:
        return _bool(value, where)
    if option.choices:
        if value not in option.choices:
            raise where.error(f"expected one of {', '.join(option.choices)}, got {value!r}")
        return value
    if option.type.startswith(("integer", "float")):
        number = _number(value, where, int if option.type.startswith("integer") else float)
        if (option.minimum is not None and number < option.minimum) or (
            option.maximum is not None and number > option.maximum
        ):
            raise where.error(f"expected a number in [{option.minimum}, {option.maximum}], got {value!r}")
        return number
    return _str(value, where)


def _load_recipe(value: Any, where: _Where) -> dict[str, Any]:
    """settings.yaml's recipe (the study's) with the study file's keys: any option of `nativeval finetune`."""
    defaults = dict(settings()["recipe"])
    options = recipe_options()
    body = _mapping(value, where, set(options) | {"extra_args"})
    recipe = {**defaults, **body}
    if recipe["method"] not in ("lora", "full"):
        raise (where / "method").error(f"expected lora or full, got {recipe['method']!r}")
    recipe["lr"] = _positive(recipe["lr"], where / "lr")
    for key, minimum in MINIMUM_RECIPE_VALUES.items():
        recipe[key] = _positive(recipe[key], where / key, int, at_least=minimum)
    recipe["seed"] = _number(recipe["seed"], where / "seed", int)
    for key in set(body) - {"method", "lr", "seed", "extra_args", *MINIMUM_RECIPE_VALUES}:
        recipe[key] = _option_value(options[key], body[key], where / key)
    if recipe.get("load_in_8bit") and recipe["method"] != "lora":
        raise (where / "load_in_8bit").error("an 8-bit base works with LoRA only (method: lora)")
    recipe["extra_args"] = list(_args(recipe.get("extra_args"), where / "extra_args"))
    return recipe


def recipe_summary(recipe: dict[str, Any]) -> str:
    """The recipe in one line, as `--dry-run` shows it."""

    def shown(value: Any) -> str:
        return (
            "true"
            if value is True
            else "false"
            if value is False
            else f"{value:g}"
            if isinstance(value, float)
            else str(value)
        )

    parts = [
        f"{key} {shown(value)}" for key, value in recipe.items() if key != "extra_args" and value is not None
    ]
    return ", ".join(parts) + (
        f"; extra args: {' '.join(recipe['extra_args'])}" if recipe.get("extra_args") else ""
    )


def settings_lines(config: StudyConfig) -> list[str]:
    """What every fine-tuning and LLM translation of the study runs with, for `--dry-run`."""
    lines = [f"fine-tuning recipe (a run group's lr replaces lr): {recipe_summary(config.recipe)}"]
    prompts = [
        f"{v.name} {v.prompt or 'the default'}" for v in config.variants.values() if v.backend == "llm"
    ]
    if prompts:
        lines.append("translation prompts (llm backend): " + ", ".join(prompts))
    return lines


def _names(value: Any, where: _Where, known: dict) -> tuple[str, ...]:
    if value in (None, "all"):
        return tuple(known)
    names = _str_list(value, where)
    for i, name in enumerate(names):
        if name not in known:
            raise (where / i).error(f"unknown name {name!r} (defined: {', '.join(known)})")
    return names


def _load_runs(value: Any, where: _Where, models: dict, variants: dict) -> list[RunGroup]:
    if value is None:
        value = [{}]
    if not isinstance(value, list) or not value:
        raise where.error("expected a non-empty list of run groups")
    groups = []
    for i, spec in enumerate(value):
        w = where / i
        spec = _mapping(spec or {}, w, {"models", "variants", "lr", "tuning"})
        lrs = spec.get("lr")
        lrs = [None] if lrs is None else (lrs if isinstance(lrs, list) else [lrs])
        tunings = _str_list(spec.get("tuning", "mono"), w / "tuning")
        for j, tuning in enumerate(tunings):
            if tuning not in TUNINGS:
                raise (w / "tuning" / j).error(f"expected mono or multi, got {tuning!r}")
        group = RunGroup(
            models=_names(spec.get("models"), w / "models", models),
            variants=_names(spec.get("variants"), w / "variants", variants),
            lrs=tuple(_positive(lr, w / "lr" / j) if lr is not None else -1.0 for j, lr in enumerate(lrs)),
            tunings=tunings,
        )
        if "multi" in group.tunings:
            for name in group.variants:
                if not variants[name].multi_files:
                    raise (w / "tuning").error(f"tuning multi needs `multi_file` on variant {name!r}")
        groups.append(group)
    return groups


def _load_eval(value: Any, where: _Where, base_dir: Path) -> EvalSettings:
    body = _mapping(
        value,
        where,
        {
            "tasks",
            "limit",
            "batch_size",
            "apply_chat_template",
            "base_models",
            "model_args",
            "device",
            "data_dirs",
            "extra_args",
        },
    )
    return EvalSettings(
        tasks=_str_list(body.get("tasks", ["native_{lang}", "translated_{lang}"]), where / "tasks"),
        limit=_positive(body["limit"], where / "limit") if body.get("limit") is not None else None,
        batch_size=body.get("batch_size") and _str(body["batch_size"], where / "batch_size"),
        apply_chat_template=_bool(body.get("apply_chat_template", False), where / "apply_chat_template"),
        base_models=_bool(body.get("base_models", False), where / "base_models"),
        model_args=body.get("model_args") and _str(body["model_args"], where / "model_args"),
        device=body.get("device") and _str(body["device"], where / "device"),
        data_dirs=tuple(resolve_path(d, base_dir) for d in _str_list(body["data_dirs"], where / "data_dirs"))
        if body.get("data_dirs")
        else (),
        extra_args=_args(body.get("extra_args"), where / "extra_args"),
    )


def _load_judges(value: Any, where: _Where, base_dir: Path) -> list[Judge]:
    if not isinstance(value, list):
        raise where.error("expected a list of judges")
    judges = []
    for i, spec in enumerate(value):
        w = where / i
        spec = _mapping(spec, w, {"name", "base_url", "serve", "config", "label", "extra_args"}, {"name"})
        serve = spec.get("serve")
        if serve not in (None, "stub"):
            raise (w / "serve").error(
                f"expected `stub` (a local deterministic stand-in judge), got {serve!r}"
            )
        if serve is None and not spec.get("base_url") and not spec.get("config"):
            raise (w / "base_url").error("required key is missing (or give `config` or `serve: stub`)")
        config = resolve_path(_str(spec["config"], w / "config"), base_dir) if spec.get("config") else None
        if config and not Path(config).is_file():
            raise (w / "config").error(f"{config}: file not found")
        if config:  # read now: a key given twice or a negative price is found before any step runs
            prices = read_yaml(config).get("prices")
            if prices is not None:
                if not isinstance(prices, dict):
                    raise (w / "config").error(
                        f"{config}: prices: expected {{model: {{input: USD, output: USD}}}}"
                    )
                checked_prices(prices, f"{config}: prices")
        judges.append(
            Judge(
                _folder_name(spec["name"], w / "name"),
                spec.get("base_url"),
                serve,
                config,
                spec.get("label"),
                _args(spec.get("extra_args"), w / "extra_args"),
            )
        )
    names = [j.name for j in judges]
    if len(set(names)) != len(names):
        raise where.error("judge names must be unique")
    return judges


def _load_translate_tasks(value: Any, where: _Where, languages: tuple[str, ...]) -> list[TranslateTask]:
    from nativeval.harness_ext.catalogue.model import builtin_catalogue, unknown_name_message
    from nativeval.harness_ext.catalogue.user_tasks import translated_task_name

    if not isinstance(value, list):
        raise where.error("expected a list of tasks to translate")
    out = []
    for i, spec in enumerate(value):
        w = where / i
        spec = _mapping(
            spec,
            w,
            {"task", "round_trip", "to", "backend", "model", "base_url", "serve", "label", "extra_args"},
            {"task"},
        )
        names = {t.name: t for t in builtin_catalogue().tasks}
        if spec["task"] not in names:
            raise (w / "task").error(unknown_name_message(str(spec["task"]), list(names)))
        source = names[spec["task"]]
        if ("round_trip" in spec) == ("to" in spec):
            raise w.error("give exactly one of `round_trip: {via: LANG}` or `to: LANG`")
        mode = "rtt" if "round_trip" in spec else "mt"
        via = (
            str((_mapping(spec["round_trip"] or {}, w / "round_trip", {"via"}) or {}).get("via", "en"))
            if mode == "rtt"
            else "en"
        )
        language = source.language if mode == "rtt" else _str(spec["to"], w / "to")
        backend = spec.get("backend", "google")
        if backend not in TRANSLATE_BACKENDS:
            raise (w / "backend").error(f"expected one of {', '.join(TRANSLATE_BACKENDS)}, got {backend!r}")
        if spec.get("serve") not in (None, "stub"):
            raise (w / "serve").error(
                f"expected `stub` (a local deterministic stand-in translator), got {spec['serve']!r}"
            )
        if spec.get("serve") and backend != "google":
            raise (w / "serve").error(
                "the stand-in translator speaks the google backend's API; set backend: google"
            )
        if language not in languages:
            raise (w / "task").error(
                f"{translated_task_name(source, mode, language)} is in {language}, which is not "
                f"among the study's languages ({', '.join(languages)})"
            )
        out.append(
            TranslateTask(
                spec["task"],
                translated_task_name(source, mode, language),
                language,
                mode,
                via,
                backend,
                spec.get("model"),
                spec.get("base_url"),
                spec.get("serve"),
                spec.get("label"),
                _args(spec.get("extra_args"), w / "extra_args"),
            )
        )
    return out


def _reference(spec: str, base_dir: Path) -> str:
    """A built-in reference by name (``paper``: the study's published numbers) as it is, else a CSV path."""
    return spec if spec in EMBEDDED_REFERENCES else resolve_path(spec, base_dir)


def _load_leaderboard(value: Any, where: _Where, base_dir: Path) -> dict[str, Any]:
    body = _mapping(value, where, {"title", "reference", "extra_args"})
    return {
        "title": body.get("title") and _str(body["title"], where / "title"),
        "reference": _reference(_str(body["reference"], where / "reference"), base_dir)
        if body.get("reference")
        else None,
        "extra_args": list(_args(body.get("extra_args"), where / "extra_args")),
    }


def _load_commands(value: Any, where: _Where) -> dict[str, tuple[str, ...]]:
    body = _mapping(value, where, set(KINDS))
    return {kind: _args(argv, where / kind) for kind, argv in body.items()}


SLURM_KEYS = {"partition", "time", "memory", "cpus", "gpus", "extra_args"}
_SLURM_TIME = re.compile(r"(\d+-)?\d+(:\d{1,2}){0,2}")
_SLURM_MEMORY = re.compile(r"\d+[KMGT]?", re.IGNORECASE)


def _load_slurm(value: Any, where: _Where) -> dict[str, SlurmResources]:
    """Per-class Slurm resources: settings.yaml `slurm.defaults`, then the study file's `slurm` section."""
    defaults = settings()["slurm"]["defaults"]
    body = _mapping(value, where, set(defaults))
    classes = {}
    for name, default in defaults.items():
        w = where / name
        spec = {**default, **_mapping(body.get(name) or {}, w, SLURM_KEYS)}
        time_limit = _str(spec["time"], w / "time")
        if not _SLURM_TIME.fullmatch(time_limit):
            raise (w / "time").error(
                f"expected a Slurm time limit such as 4:00:00 or 1-12:00:00, got {time_limit!r}"
            )
        memory = _str(spec["memory"], w / "memory")
        if not _SLURM_MEMORY.fullmatch(memory):
            raise (w / "memory").error(f"expected a Slurm memory size such as 16G or 4000M, got {memory!r}")
        classes[name] = SlurmResources(
            partition=_str(spec["partition"], w / "partition") if spec.get("partition") else None,
            time=time_limit,
            memory=memory,
            cpus=max(1, _number(spec["cpus"], w / "cpus", int)),
            gpus=_number(spec["gpus"], w / "gpus", int),
            extra_args=_args(spec.get("extra_args"), w / "extra_args"),
        )
    return classes


OUR_TASK_PREFIXES = ("native_", "translated_", "rtt_", "mt_")  # <provenance>_<lang>_<benchmark> (DESIGN.md)


def _check_eval_tasks(config: StudyConfig, root: _Where) -> None:
    """An eval task named in nativeval's scheme must be a catalogue task, collection or member, or a task
    the study's `translate_tasks` make: a typo fails now, not after the fine-tuning. Other names (lm-eval's
    own tasks) are left to lm-eval."""
    from nativeval.harness_ext.catalogue import catalogue
    from nativeval.harness_ext.catalogue.model import unknown_name_message

    cat = catalogue()
    known = set(cat.known_names()) | {t.name for t in config.translate_tasks}
    for i, template in enumerate(config.eval.tasks):
        for lang in config.languages:
            name = template.replace("{lang}", lang)
            ours = name in ("native", "translated") or name.startswith(OUR_TASK_PREFIXES)
            if ours and name not in known:
                raise (root / "eval" / "tasks" / i).error(unknown_name_message(name, sorted(known)))


def _check_files(config: StudyConfig, root: _Where) -> None:
    """Every input file the matrix needs must exist before anything runs."""
    needed: list[tuple[_Where, str]] = []
    used_variants = dict.fromkeys(v for group in config.runs for v in group.variants)
    for name in used_variants:
        variant = config.variants[name]
        w = root / "variants" / name
        templates = [(w / "file", variant.file)] if variant.kind == "file" else []
        if variant.kind == "translate" or (
            variant.kind == "round_trip" and variant.source not in config.variants
        ):
            templates.append((w / variant.kind / "source", variant.source))
        for lang in config.languages:
            needed += [(where, template.replace("{lang}", lang)) for where, template in templates]
        needed += [(w / "multi_file", f) for f in variant.multi_files]
        if variant.kind == "round_trip" and variant.source in config.variants:
            source = config.variants[variant.source]
            needed += [
                (root / "variants" / variant.source / "file", source.file.replace("{lang}", lang))
                for lang in config.languages
            ]
    needed += [(root / "eval" / "data_dirs", d) for d in config.eval.data_dirs]
    if config.leaderboard["reference"] and config.leaderboard["reference"] not in EMBEDDED_REFERENCES:
        needed.append((root / "leaderboard" / "reference", config.leaderboard["reference"]))
    for where, file in needed:
        if not Path(file).exists():
            raise where.error(f"{file}: file not found")

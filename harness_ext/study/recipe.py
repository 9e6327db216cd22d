"""The fine-tuning recipe's options: read from `nativeval finetune` itself, and written back as its flags."""

from __future__ import annotations

import json
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.runs import format_lr
from nativeval.harness_ext.study.entry_points import nativeval_argv

PER_RUN_FINETUNE_OPTIONS = ("base", "data_specs", "lang", "variant", "out", "resume")  # the plan sets these
RECIPE_KEYS = {"use_lora": "method"}  # `--lora / --full` is `method: lora | full` in a study file


@dataclass(frozen=True)
class FinetuneOption:
    """One option of `nativeval finetune`, as the command itself describes it (`--options-json`)."""

    key: str  # its name under `finetune.recipe`
    flags: tuple[str, ...]
    secondary_flags: tuple[str, ...] = ()
    is_flag: bool = False
    type: str = "text"  # click's type name: integer, float, choice, text, path, boolean, ...
    choices: tuple[str, ...] = ()
    minimum: float | None = None
    maximum: float | None = None


@lru_cache(maxsize=1)
def recipe_options() -> dict[str, FinetuneOption]:
    """The keys a recipe may set: read from the `finetune` command (one place), never listed here again."""
    argv = nativeval_argv("finetune", "--options-json")
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=300, check=True)
        table = json.loads(done.stdout)
    except (OSError, subprocess.SubprocessError, ValueError) as err:
        raise InputError(
            f"cannot read the options of `nativeval finetune` ({type(err).__name__}); "
            "check that `nativeval finetune --help` works"
        ) from None
    options = {}
    for raw in table:
        if raw["name"] in PER_RUN_FINETUNE_OPTIONS or raw["multiple"]:
            continue
        key = RECIPE_KEYS.get(raw["name"], raw["name"])
        options[key] = FinetuneOption(
            key,
            tuple(raw["flags"]),
            tuple(raw["secondary_flags"]),
            raw["is_flag"],
            raw["type"],
            tuple(raw["choices"]),
            raw["min"],
            raw["max"],
        )
    return options


def recipe_args(params: dict[str, Any]) -> list[str]:
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

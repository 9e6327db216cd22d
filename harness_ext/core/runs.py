"""How to tell a finished nativeval fine-tuning directory from one a crash left behind.

``nativeval finetune`` writes ``.nativeval_run.started`` into its output directory before anything else
and ``nativeval_run.json`` (the manifest) after everything else. A directory with the first and without
the second holds an unfinished run — checkpoints, or a final save cut short — that lm-eval would load
without complaint. ``nativeval eval`` and the leaderboard refuse it with :func:`refuse_unfinished_runs`.
"""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import NativevalError

RUN_MANIFEST = "nativeval_run.json"
RUN_STARTED = ".nativeval_run.started"
MODEL_DIR_ARGS = ("pretrained", "peft", "lora_local_path")


class UnfinishedRun(NativevalError):
    """A model directory is a fine-tuning run that did not finish (exit 2, never skipped silently)."""


def is_unfinished_run(directory: str | Path) -> bool:
    directory = Path(directory)
    return (directory / RUN_STARTED).is_file() and not (directory / RUN_MANIFEST).is_file()


def refuse_unfinished_runs(model_args: Mapping[str, Any], relative_to: str | Path | None = None) -> None:
    """Raise UnfinishedRun (one line) when a model directory in ``model_args`` is an unfinished run."""
    for key in MODEL_DIR_ARGS:
        value = model_args.get(key)
        if not isinstance(value, str) or not value:
            continue
        candidates = [Path(value).expanduser()] + ([Path(relative_to) / value] if relative_to else [])
        for directory in candidates:
            if directory.is_dir() and is_unfinished_run(directory):
                raise UnfinishedRun(
                    f"{key}={value} is a nativeval fine-tuning run that did not finish (no {RUN_MANIFEST}); "
                    "rerun its `nativeval finetune ... --resume` to complete it, or use another directory"
                )

"""The programs a study runs, as the start of an argv: nativeval's cli module and `python -m` modules.

Every step and every stand-in server is a process; nothing here imports what it starts.
"""

from __future__ import annotations

import importlib.util
import sys
from typing import Any

from nativeval.harness_ext.core.errors import InputError

STUDY_MODULE = "nativeval.harness_ext.study"  # the study's built-in steps (`sample`)
TESTING_MODULE = "nativeval.harness_ext.testing"  # the stand-ins: `serve judge|google`, `toy-model`


def cli_path() -> str:
    spec = importlib.util.find_spec("nativeval.cli")
    if spec is None or not spec.origin:
        raise InputError("cannot find nativeval's cli module; install the project (`pip install -e .`)")
    return spec.origin


def nativeval_argv(*args: Any) -> list[str]:
    """``python cli.py ARGS``: a nativeval command."""
    return [sys.executable, cli_path(), *map(str, args)]


def module_argv(module: str, *args: Any) -> list[str]:
    """``python -m MODULE ARGS``."""
    return [sys.executable, "-m", module, *map(str, args)]

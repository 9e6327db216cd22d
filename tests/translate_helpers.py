"""Shared helpers for the translation tests (not a test module)."""

from __future__ import annotations

import json
from pathlib import Path
from types import SimpleNamespace

from click.testing import CliRunner

from nativeval import cli
from nativeval.translate.pipeline import segment_key

REPO = Path(__file__).resolve().parents[1]
AYA = REPO / "translate" / "data" / "aya_sample"


def run_cli(*args: str, env: dict[str, str] | None = None):
    return CliRunner().invoke(cli.main, list(args), env=env, catch_exceptions=False)


def write_json(path: Path, obj) -> Path:
    path.write_text(json.dumps(obj, ensure_ascii=False, indent=1), encoding="utf-8")
    return path


def llm_key(
    segment: str, src: str, tgt: str, model: str = "stub-model", prompt_version: str = "command_r_v1"
) -> str:
    return segment_key(
        SimpleNamespace(name="llm", model=model, prompt_version=prompt_version), src, tgt, segment
    )

"""The smallest files that keep each study step kind's promise (harness_ext/study/kinds.py).

Tests that replace step commands with stand-ins write these, so the runner's output check sees a finished
step; tests/harness_ext/study/test_study.py checks that each set passes that check and that none is missing.
"""

from __future__ import annotations

import json
from pathlib import Path

PROMISED_OUTPUTS: dict[str, dict[str, object]] = {
    "toy_model": {"config.json": {"model_type": "llama"}},
    "sample": {"data.json": []},
    "translate": {"data.json": []},
    "rtt": {"data.json": []},
    "translate_task": {"nativeval_task.json": {"name": "stand-in"}},
    "finetune": {"adapter_config.json": {}, "nativeval_run.json": {}},
    "eval": {"run/results_stand-in.json": {"results": {}}},
    "judge": {"run/results_judge_stand-in.json": {"results": {}}},
    "leaderboard": {"leaderboard.json": {}},
}


def write_promised_outputs(kind: str, folder: str | Path) -> None:
    """Write ``kind``'s promised files into ``folder`` (a file already there is kept)."""
    for name, document in PROMISED_OUTPUTS[kind].items():
        path = Path(folder) / name
        if not path.exists():
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps(document), encoding="utf-8")


def write_stand_in_outputs(argv: list[str]) -> None:
    """What a stand-in for the step command ``argv`` writes: every kind's promised files in its output folder.

    The folder is the argument of ``--out`` or ``--output-path``; a ``.json`` target gets an empty list. A
    grouped evaluation (``eval --peft NAME=DIR,...``) writes one folder per adapter under it, as the real
    command does.
    """
    flag = "--output-path" if "--output-path" in argv else "--out"
    target = Path(argv[argv.index(flag) + 1])
    if target.suffix == ".json":
        target.write_text("[]", encoding="utf-8")
        return
    adapters = argv[argv.index("--peft") + 1].split(",") if "--peft" in argv else []
    for folder in [target / item.split("=")[0] for item in adapters] or [target]:
        for kind in PROMISED_OUTPUTS:  # every kind's promised outputs: harmless extras for the others
            write_promised_outputs(kind, folder)

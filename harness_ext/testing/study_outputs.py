"""The smallest files that keep each study step kind's promise (harness_ext/study/settings.yaml `outputs`).

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

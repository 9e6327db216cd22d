"""The README's evaluation commands run as written on this CPU machine (no --device), the tiny model and an
untrained LoRA adapter standing in for the model names (only the model references and the output folder are
substituted, and --limit is added); their console output is quiet and ends with the per-benchmark summary.

The vLLM lines need a GPU and vllm, so they are not run here."""

from __future__ import annotations

import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.slow

# lm-eval's own warning for a task with few-shot exemplars from `training_split` and no `fewshot_split`; its
# mgsm_native_cot_* tasks print it too. Anything else that warns is counted.
LM_EVAL_OWN_WARNINGS = ("num_fewshot > 0 but fewshot_split is None",)


def readme_eval_commands() -> list[str]:
    text = (REPO / "README.md").read_text(encoding="utf-8")
    section = text[text.index("## Evaluating, with lm-eval's options") :]
    block = section[
        section.index("```bash") + len("```bash") : section.index("```", section.index("```bash") + 7)
    ]
    joined = re.sub(r"\\\n\s*", "", block)
    return [
        line.strip()
        for line in joined.splitlines()
        if line.strip().startswith("nativeval eval ") and "--model hf" in line
    ]


def stand_in(command: str, model: Path, adapter: Path, out: Path) -> list[str]:
    """The README command with our model, adapter and output folder, plus --limit 1."""
    args = shlex.split(command)
    for i, arg in enumerate(args):
        if args[i - 1] in ("--model-args", "--model_args"):
            pairs = [p.split("=", 1) for p in arg.split(",")]
            swap = {"pretrained": str(model), "peft": str(adapter)}
            args[i] = ",".join(f"{k}={swap.get(k, v)}" for k, v in pairs)
        elif args[i - 1] in ("--output-path", "--output_path"):
            args[i] = str(out)
    assert args[:2] == ["nativeval", "eval"] and "--device" not in args
    return [sys.executable, str(REPO / "cli.py"), *args[1:], "--limit", "1"]


@pytest.fixture(scope="module")
def untrained_adapter(tiny_model, tmp_path_factory) -> Path:
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("adapter")
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    get_peft_model(
        model, LoraConfig(r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj"])
    ).save_pretrained(out)
    return out


def warning_lines(stderr: str) -> list[str]:
    """Warnings (and per-task dataset bars) that nativeval's code or task wiring causes: every warning line
    but Python warnings raised inside installed third-party packages and lm-eval's own known warning."""
    lines = [line for chunk in stderr.splitlines() for line in chunk.split("\r")]
    noisy = [
        line
        for line in lines
        if re.search(r"warn", line, re.IGNORECASE)
        or "Custom kwargs" in line
        or line.lstrip().startswith(("Filter", "Map"))
    ]
    third_party = re.compile(r"site-packages/\S+\.py:\d+: \w*Warning: |^\s*warnings\.warn\($")
    return [
        line
        for line in noisy
        if not third_party.search(line) and not any(known in line for known in LM_EVAL_OWN_WARNINGS)
    ]


def test_readme_eval_commands_run_verbatim_on_cpu(tiny_model, untrained_adapter, tmp_path):
    commands = readme_eval_commands()
    assert len(commands) >= 3, commands
    for n, command in enumerate(commands):
        out = tmp_path / f"run{n}"
        proc = subprocess.run(
            stand_in(command, tiny_model, untrained_adapter, out),
            capture_output=True,
            text=True,
            cwd=REPO,
            env=os.environ,
            check=False,
        )
        assert proc.returncode == 0, f"{command}\n{proc.stderr[-3000:]}"
        (results_file,) = out.rglob("results_*.json")
        results = json.loads(results_file.read_text(encoding="utf-8"))
        assert results["config"]["device"] in ("cpu", "cuda", "mps")
        label = re.search(r"--label (\S+)", command)
        assert results.get("nativeval") == ({"label": label.group(1)} if label else None)
        assert warning_lines(proc.stderr) == [], command
        assert proc.stdout.count("nativeval summary") == 1
        if "native_zh,translated_zh" in command:
            check_quiet_collection_run(proc, results)


def check_quiet_collection_run(proc: subprocess.CompletedProcess, results: dict) -> None:
    """native_zh,translated_zh --limit 1: ~181 tasks, yet one bar per phase and a summary by origin."""
    assert len(results["results"]) > 150
    bars = [
        line for line in proc.stderr.replace("\r", "\n").splitlines() if line.startswith("Building requests")
    ]
    assert bars and all(str(len(results["configs"])) in line for line in bars[-1:])
    summary = proc.stdout[
        proc.stdout.index("nativeval summary") : proc.stdout.index("\nresults: ")
    ].splitlines()
    origins = [line.split()[0] for line in summary[3:] if line.strip()]
    assert origins == sorted(origins, key=lambda o: o != "native") and set(origins) == {
        "native",
        "translated",
    }
    assert any("CMMLU" in line and "native" in line for line in summary)
    assert any("machine-translated from en" in line for line in summary)  # MT-MMLU's provenance
    table = proc.stdout[: proc.stdout.index("nativeval summary")]
    assert "native_zh_cmmlu_agronomy" not in table.split("|Groups|")[0]  # subjects folded into their group

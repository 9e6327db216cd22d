"""`nativeval eval` end to end with the tiny model: a cached Hub id offline, lm-eval's options in both
spellings, labels, extra task folders beside nativeval's tasks, and lm-eval's own few-shot message."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch

from nativeval.harness_ext.testing.hub_cache import add_to_hub_cache

REPO = Path(__file__).resolve().parents[3]
pytestmark = pytest.mark.slow


def nativeval(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), *args],
        capture_output=True,
        text=True,
        cwd=REPO,
        env={**os.environ, **(env or {})},
        check=False,
    )


def only_results(out: Path) -> dict:
    (path,) = out.rglob("results_*.json")
    return json.loads(path.read_text(encoding="utf-8"))


def test_cached_hub_id_loads_offline_with_lm_eval_spellings_and_a_label(tiny_model, tmp_path):
    cache = tmp_path / "hub-cache"
    add_to_hub_cache(tiny_model, cache, "nativeval-test/tiny")
    out = tmp_path / "out"
    proc = nativeval(
        "eval",
        "--model",
        "hf",
        "--model_args",
        "pretrained=hf://nativeval-test/tiny,nativeval_label=tiny-from-cache",
        "--tasks",
        "translated_zh_mt_mmlu",
        "--limit",
        "1",
        "--output_path",
        str(out),
        "--batch_size",
        "2",
        "--num_fewshot",
        "1",
        "--seed",
        "7",
        "--metadata",
        '{"note": "kept"}',
        env={"HF_HUB_CACHE": str(cache), "HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"},
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = only_results(out)
    assert results["nativeval"] == {"label": "tiny-from-cache"}
    # hf:// unwrapped for transformers; the label never reaches lm-eval
    assert results["config"]["model_args"] == "pretrained=nativeval-test/tiny"
    assert results["config"]["device"] == ("cuda" if torch.cuda.is_available() else "cpu")
    assert results["config"]["batch_size"] == "2"
    assert results["n-shot"]["translated_zh_mt_mmlu"] == 1
    assert (results["config"]["random_seed"], results["config"]["fewshot_seed"]) == (7, 7)
    assert results["configs"]["translated_zh_mt_mmlu"]["metadata"]["note"] == "kept"
    assert "nativeval summary" in proc.stdout and "translated_zh_mt_mmlu" in proc.stdout


EXTRA_TASK = """\
task: extra_arithmetic
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{q}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{label}}}}"
metric_list:
  - metric: acc
metadata:
  version: 1.0
"""


def test_generation_options_and_an_extra_task_folder_in_one_run(tiny_model, tmp_path):
    extra = tmp_path / "extra_tasks"
    extra.mkdir()
    data = extra / "arithmetic.jsonl"
    data.write_text(
        "".join(
            json.dumps({"q": f"{i}+1=", "choices": [str(i + 1), str(i + 2)], "label": 0}) + "\n"
            for i in range(3)
        ),
        encoding="utf-8",
    )
    (extra / "extra_arithmetic.yaml").write_text(EXTRA_TASK.format(data=data), encoding="utf-8")
    out = tmp_path / "out"
    proc = nativeval(
        "eval",
        "--model-args",
        f"pretrained={tiny_model}",
        "--tasks",
        "translated_zh_xquad,extra_arithmetic",
        "--include-path",
        str(extra),
        "--limit",
        "1",
        "--output-path",
        str(out),
        "--gen-kwargs",
        "max_gen_toks=4",
        "--system-instruction",
        "Answer in one word.",
        "--apply-chat-template",
        "--fewshot-as-multiturn",
        "false",
        "--label",
        "tiny-chat",
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    results = only_results(out)
    assert set(results["results"]) == {"translated_zh_xquad", "extra_arithmetic"}
    assert results["configs"]["translated_zh_xquad"]["generation_kwargs"]["max_gen_toks"] == 4
    assert results["system_instruction"] == "Answer in one word." and results["chat_template"]
    assert results["fewshot_as_multiturn"] is False
    assert results["nativeval"] == {"label": "tiny-chat"}
    (samples,) = out.rglob("samples_translated_zh_xquad_*.jsonl")
    prompt = json.loads(samples.read_text(encoding="utf-8").splitlines()[0])["arguments"]["gen_args_0"][
        "arg_0"
    ]
    assert prompt.startswith("<|system|>\nAnswer in one word.")  # the tiny model's chat template
    summary = proc.stdout[proc.stdout.index("nativeval summary") :]
    assert "translated_zh_xquad" in summary and "extra_arithmetic" not in summary  # no provenance to show


def test_num_fewshot_beyond_the_exemplars_is_lm_evals_message(tiny_model, tmp_path):
    out = tmp_path / "out"
    proc = nativeval(
        "eval",
        "--model-args",
        f"pretrained={tiny_model}",
        "--tasks",
        "translated_zh_mt_mmlu",
        "--limit",
        "1",
        "--output-path",
        str(out),
        "--num-fewshot",
        "50",
    )
    assert proc.returncode == 2, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error:")]
    assert errors == [errors[0]] and errors[0].startswith(
        "error: --num-fewshot 50: Error: number of fewshot samples requested exceeds the "
    )
    assert "Traceback" not in proc.stderr
    assert not list(out.rglob("results_*.json"))

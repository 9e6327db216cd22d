"""`nativeval eval` refuses bad input with one line and exit 2, before lm-eval builds anything, writing nothing."""

from __future__ import annotations

import pytest
import torch
from click.testing import CliRunner

import cli


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def one_line_exit_2(tmp_path, *args: str) -> str:
    """Run `nativeval eval ARGS --output-path OUT`; check exit 2, one `error:` line, nothing lost or written."""
    out = tmp_path / "results"
    out.mkdir(exist_ok=True)
    (out / "earlier.json").write_text("{}")
    result = CliRunner().invoke(cli.main, ["eval", *args, "--output-path", str(out)])
    assert result.exit_code == 2, result.output
    # progress bars (the model loads before a built-in task's Hub data fails) are not messages
    lines = [line for line in result.output.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["earlier.json"]
    assert (out / "earlier.json").read_text() == "{}"
    return lines[0]


@pytest.mark.parametrize(
    ("model_args", "expected"),
    [
        ("pretrained=/nonexistent/model", "pretrained=/nonexistent/model: no such directory"),
        ("pretrained=./runs/missing", "no such directory"),
        ("pretrained=runs/a/final", "no such directory"),
        ("pretrained={tiny},peft=/nonexistent/adapter", "peft=/nonexistent/adapter: no such directory"),
        ("pretrained=Qwen/Qwen1.5-7B",
         "the Hugging Face Hub is offline (HF_HUB_OFFLINE=1) and Qwen/Qwen1.5-7B is not in the cache"),
        ("pretrained=hf://Qwen/Qwen1.5-7B", "and Qwen/Qwen1.5-7B is not in the cache"),
        ("pretrained={tiny},nativeval_label=a", "--label b and --model-args nativeval_label=a disagree"),
    ],
)
def test_bad_model_reference(tiny_model, tmp_path, hub_cache, model_args, expected):
    extra = ["--label", "b"] if "nativeval_label" in model_args else []
    line = one_line_exit_2(tmp_path, "--model", "hf", "--model-args", model_args.format(tiny=tiny_model),
                           "--tasks", "translated_zh_mgsm", "--limit", "1", *extra)
    assert expected in line


def test_bare_hub_id_offline_prints_the_hub_offline_line(tmp_path, hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    line = one_line_exit_2(tmp_path, "--model", "hf", "--model-args", "pretrained=gpt2", "--tasks", "translated_zh")
    assert line.startswith("error: --model-args pretrained=gpt2: the Hugging Face Hub is offline (HF_HUB_OFFLINE=1) "
                           "and gpt2 is not in the cache")


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps"])
def test_requested_accelerator_that_is_not_there(tiny_model, tmp_path, no_accelerator, device):
    line = one_line_exit_2(tmp_path, "--model-args", f"pretrained={tiny_model}", "--tasks", "translated_zh_xquad",
                           "--device", device)
    assert line.startswith(f"error: --device {device}: this machine has no ")


def test_cuda_index_beyond_the_devices(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    line = one_line_exit_2(tmp_path, "--model-args", f"pretrained={tiny_model}", "--tasks", "translated_zh_xquad",
                           "--device", "cuda:2")
    assert "this machine has 2 CUDA device(s), cuda:0 to cuda:1" in line


def test_default_device_is_lm_evals_choice(monkeypatch, no_accelerator):
    from harness_ext.eval.run import choose_device

    assert choose_device(None) == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert choose_device(None) == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert choose_device(None) == "cuda" and choose_device("cuda:0") == "cuda:0" and choose_device("cpu") == "cpu"


@pytest.mark.parametrize(("options", "expected"), [
    (["--seed", "1,2"], "--seed 1,2: Argument requires 4 integers or None"),
    (["--seed", "x"], "--seed x: x is not an integer or None"),
    (["--metadata", "{not json"], "--metadata {not json: not a JSON object"),
    (["--metadata", "[1, 2]"], "give a JSON object or key=value pairs"),
    (["--fewshot-as-multiturn"], "`apply_chat_template` must be set"),
    (["--fewshot_as_multiturn", "true"], "`apply_chat_template` must be set"),
    (["--gen-kwargs", "temperature"], "--gen-kwargs temperature: give key=value pairs"),
    (["--num-fewshot", "-1"], "--num-fewshot -1: must be 0 or more"),
    (["--include-path", "/nonexistent/tasks"], "--include-path /nonexistent/tasks: no such file or directory"),
    (["--label", " "], "--label is empty"),
])
def test_bad_option(tiny_model, tmp_path, options, expected):
    line = one_line_exit_2(tmp_path, "--model-args", f"pretrained={tiny_model}", "--tasks", "translated_zh_xquad",
                           *options)
    assert expected in line


@pytest.mark.slow
def test_unknown_lm_eval_task_gets_the_close_match_line(tiny_model, tmp_path):
    line = one_line_exit_2(tmp_path, "--model-args", f"pretrained={tiny_model}",
                           "--tasks", "translated_zh_xquad,mgsm_native_cot_zz")
    assert line.startswith("error: unknown task or collection 'mgsm_native_cot_zz'; did you mean mgsm_native_cot_zh")


@pytest.mark.slow
def test_lm_eval_task_whose_hub_data_is_offline_is_one_line(tiny_model, tmp_path):
    """A built-in goes to lm-eval in the same invocation; offline its Hub dataset fails as one line."""
    line = one_line_exit_2(tmp_path, "--model-args", f"pretrained={tiny_model}",
                           "--tasks", "translated_zh_xquad,mgsm_native_cot_zh", "--limit", "1")
    assert "an lm-eval task's dataset could not be loaded (Couldn't reach 'juletxara/mgsm' on the Hub" in line


def test_underscore_spellings_are_aliases():
    command = cli.main.commands["eval"]
    spellings = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for lm_eval_name in ("--model_args", "--output_path", "--batch_size", "--max_batch_size", "--num_fewshot",
                         "--gen_kwargs", "--apply_chat_template", "--fewshot_as_multiturn", "--system_instruction",
                         "--include_path", "--log_samples", "--use_cache", "--seed", "--metadata", "--limit",
                         "--device", "--tasks", "--model"):
        assert lm_eval_name in spellings
        assert lm_eval_name.replace("_", "-") in spellings


@pytest.mark.slow
def test_a_hub_id_the_hub_cannot_serve_is_one_error_line_not_a_traceback(tmp_path, hub_cache):
    import os
    import subprocess
    import sys
    from pathlib import Path

    out = tmp_path / "results"
    out.mkdir()
    (out / "earlier.json").write_text("{}")
    env = {k: v for k, v in os.environ.items() if k not in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE")}
    env.update(HF_ENDPOINT="http://127.0.0.1:9", HF_HUB_CACHE=str(hub_cache))  # nothing listens there
    proc = subprocess.run([sys.executable, str(Path(cli.__file__)), "eval", "--model", "hf", "--model-args",
                           "pretrained=nativeval-test/absent", "--tasks", "translated_zh_mgsm", "--limit", "1",
                           "--output-path", str(out)], capture_output=True, text=True, env=env)
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [proc.stderr.strip().splitlines()[-1]]  # huggingface_hub's retry notices come before it
    assert errors[0].startswith("error: --model-args pretrained=nativeval-test/absent: the Hugging Face Hub cannot "
                                "be reached and nativeval-test/absent is not in the cache")
    assert sorted(p.name for p in out.iterdir()) == ["earlier.json"]

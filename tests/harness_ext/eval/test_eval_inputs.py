"""`nativeval eval` refuses bad input with one line and exit 2, before lm-eval builds
anything, writing nothing."""

from __future__ import annotations

import errno
import json
import os

import pytest
import torch
from click.testing import CliRunner

from nativeval import cli


@pytest.fixture
def no_accelerator(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)


def one_line_exit_2(tmp_path, *args: str) -> str:
    """Run `nativeval eval ARGS --output-path OUT`; check exit 2, one `error:` line,
    nothing lost or written."""
    out = tmp_path / "results"
    out.mkdir(exist_ok=True)
    (out / "earlier.json").write_text("{}")
    result = CliRunner().invoke(cli.main, ["eval", *args, "--output-path", str(out)])
    assert result.exit_code == 2, result.output
    # progress bars (the model loads before a built-in task's Hub data fails) are not messages
    lines = [
        line for line in result.output.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line
    ]
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
        (
            "pretrained=Qwen/Qwen1.5-7B",
            "the Hugging Face Hub is offline (HF_HUB_OFFLINE=1) and Qwen/Qwen1.5-7B is not in the cache",
        ),
        ("pretrained=hf://Qwen/Qwen1.5-7B", "and Qwen/Qwen1.5-7B is not in the cache"),
        ("pretrained={tiny},nativeval_label=a", "--label b and --model-args nativeval_label=a disagree"),
    ],
)
def test_bad_model_reference(tiny_model, tmp_path, hub_cache, model_args, expected):
    extra = ["--label", "b"] if "nativeval_label" in model_args else []
    line = one_line_exit_2(
        tmp_path,
        "--model",
        "hf",
        "--model-args",
        model_args.format(tiny=tiny_model),
        "--tasks",
        "translated_zh_mgsm",
        "--limit",
        "1",
        *extra,
    )
    assert expected in line


def test_bare_hub_id_offline_prints_the_hub_offline_line(tmp_path, hub_cache, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    line = one_line_exit_2(
        tmp_path, "--model", "hf", "--model-args", "pretrained=gpt2", "--tasks", "translated_zh"
    )
    assert line.startswith(
        "error: --model-args pretrained=gpt2: the Hugging Face Hub is offline (HF_HUB_OFFLINE=1) "
        "and gpt2 is not in the cache"
    )


@pytest.mark.parametrize("device", ["cuda", "cuda:0", "mps"])
def test_requested_accelerator_that_is_not_there(tiny_model, tmp_path, no_accelerator, device):
    line = one_line_exit_2(
        tmp_path,
        "--model-args",
        f"pretrained={tiny_model}",
        "--tasks",
        "translated_zh_xquad",
        "--device",
        device,
    )
    assert line.startswith(f"error: --device {device}: this machine has no ")


def test_cuda_index_beyond_the_devices(tiny_model, tmp_path, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    line = one_line_exit_2(
        tmp_path,
        "--model-args",
        f"pretrained={tiny_model}",
        "--tasks",
        "translated_zh_xquad",
        "--device",
        "cuda:2",
    )
    assert "this machine has 2 CUDA device(s), cuda:0 to cuda:1" in line


def test_default_device_is_lm_evals_choice(monkeypatch, no_accelerator):
    from nativeval.harness_ext.eval.run import choose_device

    assert choose_device(None) == "cpu"
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert choose_device(None) == "mps"
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    assert (
        choose_device(None) == "cuda"
        and choose_device("cuda:0") == "cuda:0"
        and choose_device("cpu") == "cpu"
    )


@pytest.mark.parametrize(
    ("options", "expected"),
    [
        (["--seed", "1,2"], "--seed 1,2: Argument requires 4 integers or None"),
        (["--seed", "x"], "--seed x: x is not an integer or None"),
        (["--metadata", "{not json"], "--metadata {not json: not a JSON object"),
        (["--metadata", "[1, 2]"], "give a JSON object or key=value pairs"),
        (["--fewshot-as-multiturn"], "`apply_chat_template` must be set"),
        (["--fewshot_as_multiturn", "true"], "`apply_chat_template` must be set"),
        (["--gen-kwargs", "temperature"], "--gen-kwargs temperature: give key=value pairs"),
        (["--num-fewshot", "-1"], "--num-fewshot -1: must be 0 or more"),
        (
            ["--include-path", "/nonexistent/tasks"],
            "--include-path /nonexistent/tasks: no such file or directory",
        ),
        (["--label", " "], "--label is empty"),
    ],
)
def test_bad_option(tiny_model, tmp_path, options, expected):
    line = one_line_exit_2(
        tmp_path, "--model-args", f"pretrained={tiny_model}", "--tasks", "translated_zh_xquad", *options
    )
    assert expected in line


@pytest.mark.slow
def test_unknown_lm_eval_task_gets_the_close_match_line(tiny_model, tmp_path):
    line = one_line_exit_2(
        tmp_path,
        "--model-args",
        f"pretrained={tiny_model}",
        "--tasks",
        "translated_zh_xquad,mgsm_native_cot_zz",
    )
    assert line.startswith(
        "error: unknown task or collection 'mgsm_native_cot_zz'; did you mean mgsm_native_cot_zh"
    )


@pytest.mark.slow
def test_lm_eval_task_whose_hub_data_is_offline_is_one_line(tiny_model, tmp_path):
    """A built-in goes to lm-eval in the same invocation; offline its Hub dataset fails as one line."""
    line = one_line_exit_2(
        tmp_path,
        "--model-args",
        f"pretrained={tiny_model}",
        "--tasks",
        "translated_zh_xquad,mgsm_native_cot_zh",
        "--limit",
        "1",
    )
    assert "an lm-eval task's dataset could not be loaded (Couldn't reach 'juletxara/mgsm' on the Hub" in line


def test_underscore_spellings_are_aliases():
    command = cli.main.commands["eval"]
    spellings = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    for lm_eval_name in (
        "--model_args",
        "--output_path",
        "--batch_size",
        "--max_batch_size",
        "--num_fewshot",
        "--gen_kwargs",
        "--apply_chat_template",
        "--fewshot_as_multiturn",
        "--system_instruction",
        "--include_path",
        "--log_samples",
        "--use_cache",
        "--seed",
        "--metadata",
        "--limit",
        "--device",
        "--tasks",
        "--model",
    ):
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
    proc = subprocess.run(
        [
            sys.executable,
            str(Path(cli.__file__)),
            "eval",
            "--model",
            "hf",
            "--model-args",
            "pretrained=nativeval-test/absent",
            "--tasks",
            "translated_zh_mgsm",
            "--limit",
            "1",
            "--output-path",
            str(out),
        ],
        capture_output=True,
        text=True,
        env=env,
    )
    assert proc.returncode == 2 and "Traceback" not in proc.stderr, proc.stderr[-3000:]
    errors = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert errors == [proc.stderr.strip().splitlines()[-1]]  # huggingface_hub's retry notices come before it
    assert errors[0].startswith(
        "error: --model-args pretrained=nativeval-test/absent: the Hugging Face Hub cannot "
        "be reached and nativeval-test/absent is not in the cache"
    )
    assert sorted(p.name for p in out.iterdir()) == ["earlier.json"]


# --- lm-eval's option set -------------------------------------------------------------------------------
def test_every_lm_eval_run_option_is_an_eval_option():
    """`nativeval eval` takes every option string of lm-eval 0.4.13's `lm_eval run`
    (spellings and short flags)."""
    from nativeval.harness_ext.core.lm_eval_internals import run_option_strings

    command = cli.main.commands["eval"]
    ours = {opt for param in command.params for opt in (*param.opts, *param.secondary_opts)}
    assert run_option_strings() - ours == set()


def captured_request(monkeypatch, *args: str):
    """The EvalRequest `nativeval eval ARGS` builds (the run itself replaced)."""
    import nativeval.harness_ext.eval.run as eval_run

    seen = []

    def fake_run(request, after_eval=None, notify=None):
        seen.append(request)
        return eval_run.EvalOutcome(results={}, results_file=None)

    monkeypatch.setattr(eval_run, "run", fake_run)
    result = CliRunner().invoke(cli.main, ["eval", *args])
    assert result.exit_code == 0, result.output
    return seen[0]


def test_several_words_json_and_repeats_as_lm_eval_reads_them(monkeypatch, tmp_path):
    request = captured_request(
        monkeypatch,
        "--model_args",
        "pretrained=/m",
        "dtype=float32",
        "--tasks",
        "native_zh",
        "translated_zh",
        "-a",
        '{"revision": "abc", "trust_remote_code": true}',
        "--gen_kwargs",
        "temperature=0",
        "top_p=0.9",
        "--output_path",
        str(tmp_path),
        "--limit",
        "0.5",
        "--trust_remote_code",
        "--predict_only",
        "-x",
        "--write_out",
        "--verbosity",
        "debug",
        "--cache_requests",
        "--hf_hub_log_args",
        "hub_results_org=me",
    )
    assert request.model_args == "pretrained=/m,dtype=float32,revision=abc,trust_remote_code=True"
    assert request.tasks == ["native_zh", "translated_zh"]
    assert request.gen_kwargs == "temperature=0,top_p=0.9" and request.limit == 0.5
    assert request.trust_remote_code and request.predict_only and request.write_out
    assert request.verbosity == "debug" and request.cache_requests == "true"
    assert request.hf_hub_log_args == "hub_results_org=me"


def test_config_file_is_read_and_the_command_line_wins(monkeypatch, tmp_path):
    config = tmp_path / "run.yaml"
    config.write_text(
        "model: hf\nmodel_args: {pretrained: /m, dtype: float32}\ntasks: [native_zh, translated_zh]\n"
        "num_fewshot: 3\nlimit: 2\nseed: [1, 2, 3, 4]\nlog_samples: true\napply_chat_template: true\n"
        f"output_path: {tmp_path}/from-config\nmetadata: {{max_seq_lengths: [4096]}}\n",
        encoding="utf-8",
    )
    request = captured_request(
        monkeypatch, "--config", str(config), "--limit", "1", "-o", str(tmp_path / "cli")
    )
    assert request.model_args == "pretrained=/m,dtype=float32" and request.tasks == [
        "native_zh",
        "translated_zh",
    ]
    assert request.num_fewshot == 3 and request.seed == "1,2,3,4" and request.apply_chat_template is True
    assert request.limit == 1 and request.output_path == tmp_path / "cli"  # the command line over the file
    assert json.loads(request.metadata[0]) == {"max_seq_lengths": [4096]}


# --- the output folder, before anything loads; the save, atomic --------------------------------------------
def test_output_folder_that_cannot_be_written_is_refused_before_loading(tiny_model, tmp_path, monkeypatch):
    import tempfile

    def read_only(*args, **kwargs):
        raise PermissionError(errno.EACCES, os.strerror(errno.EACCES))

    monkeypatch.setattr(tempfile, "TemporaryFile", read_only)
    line = one_line_exit_2(
        tmp_path, "--model-args", f"pretrained={tiny_model}", "--tasks", "translated_zh_xquad"
    )
    assert "cannot write in" in line and "(Permission denied); choose a writable folder" in line


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes into read-only folders")
def test_read_only_output_folder_is_refused_before_loading(tiny_model, tmp_path):
    out = tmp_path / "results"
    out.mkdir()
    out.chmod(0o555)
    try:
        result = CliRunner().invoke(
            cli.main,
            [
                "eval",
                "--model-args",
                f"pretrained={tiny_model}",
                "--tasks",
                "translated_zh_xquad",
                "--output-path",
                str(out / "run"),
            ],
        )
    finally:
        out.chmod(0o755)
    assert result.exit_code == 2 and "Permission denied" in result.output and list(out.iterdir()) == []


def test_a_nearly_full_disk_is_refused_before_loading(tiny_model, tmp_path, monkeypatch):
    import shutil

    monkeypatch.setattr(shutil, "disk_usage", lambda path: shutil._ntuple_diskusage(10**9, 10**9, 4096))
    line = one_line_exit_2(
        tmp_path, "--model-args", f"pretrained={tiny_model}", "--tasks", "translated_zh_xquad"
    )
    assert "has 4096 bytes free; free some space or choose another folder" in line


@pytest.mark.slow
@pytest.mark.parametrize("fails", ["results", "samples"])
def test_a_full_disk_while_saving_is_exit_1_one_line_and_no_file(tiny_model, tmp_path, monkeypatch, fails):
    """The disk fills while the files are written: exit 1, one line, no `results:`,
    no truncated or orphan file."""
    real_fsync = os.fsync

    def full_disk(fd):
        if f"/.{fails}_" in os.readlink(f"/proc/self/fd/{fd}"):
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        real_fsync(fd)

    monkeypatch.setattr(os, "fsync", full_disk)
    out = tmp_path / "results"
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--model-args",
            f"pretrained={tiny_model}",
            "--tasks",
            "translated_zh_xquad",
            "--limit",
            "1",
            "--output-path",
            str(out),
        ],
    )
    assert result.exit_code == 1, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error: ")]
    assert len(errors) == 1 and "No space left on device; nothing of this run was kept" in errors[0]
    assert not any(line.startswith("results: ") for line in result.output.splitlines())
    assert "Traceback" not in result.output
    assert [p for p in out.rglob("*") if p.is_file()] == []


@pytest.mark.slow
def test_lm_eval_options_reach_the_run_and_a_zero_shot_task_says_so(tiny_model, tmp_path):
    """--predict_only, --seed, --samples and --num-fewshot on a 0-shot task (kept at 0,
    as lm-eval does: said)."""
    out = tmp_path / "results"
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--model_args",
            f"pretrained={tiny_model}",
            "--tasks",
            "translated_zh_xquad",
            "--output_path",
            str(out),
            "--num_fewshot",
            "2",
            "--predict_only",
            "--seed",
            "5",
            "--samples",
            '{"translated_zh_xquad": [1]}',
            "--show_config",
        ],
    )
    assert result.exit_code == 0, result.output
    assert (
        "warning: --num-fewshot 2: translated_zh_xquad is a 0-shot task (num_fewshot: 0 in its config), "
        "so lm-eval keeps it at 0 shots"
    ) in result.output
    (results_file,) = out.rglob("results_*.json")
    results = json.loads(results_file.read_text(encoding="utf-8"))
    assert results["n-shot"]["translated_zh_xquad"] == 0 and results["config"]["random_seed"] == 5
    assert results["n-samples"]["translated_zh_xquad"]["effective"] == 1
    assert set(results["results"]["translated_zh_xquad"]) >= {
        "bypass,none"
    }  # predict only: no metric computed
    (samples_file,) = out.rglob("samples_translated_zh_xquad_*.jsonl")
    assert sorted(json.loads(line)["doc_id"] for line in samples_file.read_text().splitlines()) == [1]
    assert f"results: {results_file}" in result.output and '"n-samples": {' in result.output
    assert not [p for p in out.rglob(".*") if p.is_file()]  # no temporary file left

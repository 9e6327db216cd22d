"""The bad-input table: every subcommand with a mistake a user makes answers with one line and a non-zero
exit, before any work, and changes no file.

Each row: the command (``{ws}`` is a workspace of inputs made fresh per test, ``{tiny}`` the tiny model), the
exit code, a substring of the one line, and that nothing in the workspace changed (no file written, replaced
or removed). It began as a probe of every subcommand that grepped for "Traceback"; the failures it found are
its rows (issue 23).
"""

from __future__ import annotations

import errno
import hashlib
import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.testing.judge_runs import judge_yaml, write_run

LLM = ["--backend", "llm", "--model", "m", "--base-url", "http://127.0.0.1:9/v1"]
EVAL = [
    "eval",
    "--model-args",
    "pretrained={tiny}",
    "--tasks",
    "translated_zh_xquad",
    "--output-path",
    "{ws}/results",
]
TRANSLATE = [
    "translate",
    *LLM,
    "--in",
    "{ws}/in.json",
    "--out",
    "{ws}/out.json",
    "--src",
    "en",
    "--tgt",
    "zh",
]
FINETUNE = [
    "finetune",
    "--base",
    "{tiny}",
    "--data",
    "{ws}/in.json",
    "--lang",
    "zh",
    "--variant",
    "native",
    "--out",
    "{ws}/ft",
]
JUDGE = ["judge", "{ws}/runs", "--judge", "{ws}/judge.yaml", "--cache", "{ws}/verdicts.sqlite"]

CASES = [
    # --- eval: option values and ranges, before the model loads
    ("eval-limit-0", [*EVAL, "--limit", "0"], 2, "--limit 0: give a number of documents (1 or more)"),
    ("eval-limit-negative", [*EVAL, "--limit", "-3"], 2, "--limit -3: give a number of documents"),
    (
        "eval-limit-fractional-count",
        [*EVAL, "--limit", "2.5"],
        2,
        "--limit 2.5: a number of documents is whole",
    ),
    ("eval-limit-nan", [*EVAL, "--limit", "nan"], 2, "'nan' is not a finite number"),
    ("eval-limit-inf", [*EVAL, "--limit", "inf"], 2, "'inf' is not a finite number"),
    (
        "eval-batch-size-word",
        [*EVAL, "--batch-size", "abc"],
        2,
        "--batch-size abc: give a whole number of 1 or more",
    ),
    ("eval-batch-size-0", [*EVAL, "--batch_size", "0"], 2, "--batch-size 0: give a whole number"),
    ("eval-batch-size-auto-0", [*EVAL, "-b", "auto:0"], 2, "'auto' or 'auto:N'"),
    ("eval-max-batch-size-0", [*EVAL, "--max_batch_size", "0"], 2, "--max-batch-size 0: must be 1 or more"),
    (
        "eval-no-pretrained",
        [
            "eval",
            "--model-args",
            "dtype=float32",
            "--tasks",
            "translated_zh_xquad",
            "--output-path",
            "{ws}/results",
        ],
        2,
        "--model-args needs pretrained=MODEL for --model hf",
    ),
    (
        "eval-vllm-not-installed",
        [
            "eval",
            "--model",
            "vllm",
            "--model-args",
            "pretrained={tiny}",
            "--tasks",
            "translated_zh_xquad",
            "--output-path",
            "{ws}/results",
        ],
        2,
        "--model vllm: needs the Python package vllm, which is not installed here",
    ),
    (
        "eval-unknown-model-type",
        [
            "eval",
            "--model",
            "hff",
            "--model-args",
            "pretrained={tiny}",
            "--tasks",
            "translated_zh_xquad",
            "--output-path",
            "{ws}/results",
        ],
        2,
        "--model hff: not an lm-eval model type; did you mean hf?",
    ),
    ("eval-output-is-a-file", [*EVAL[:-1], "{ws}/afile"], 2, "afile is a file, not a folder"),
    ("eval-output-under-a-file", [*EVAL[:-1], "{ws}/afile/results"], 2, "afile is a file, not a folder"),
    (
        "eval-unknown-judge",
        [*EVAL, "--judge", "gpt4"],
        2,
        "unknown judge 'gpt4'; built-in judges: command-r-plus",
    ),
    (
        "eval-judge-key-missing",
        [*EVAL, "--judge", "command-r-plus"],
        2,
        "judge command-r-plus: set the environment variable COHERE_API_KEY",
    ),
    (
        "eval-judge-corrupt-cache",
        [*EVAL, "--judge", "{ws}/judge.yaml", "--judge-cache", "{ws}/corrupt.sqlite"],
        2,
        "corrupt.sqlite: not a usable SQLite cache (file is not a database); delete the file",
    ),
    (
        "eval-judge-max-cost-negative",
        [*EVAL, "--judge", "gpt-4-turbo", "--judge-max-cost", "-1"],
        2,
        "-1.0 is not in the range x>=0",
    ),
    (
        "eval-samples-and-limit",
        [*EVAL, "--samples", '{"translated_zh_xquad": [0]}', "--limit", "1"],
        2,
        "--samples and --limit exclude each other",
    ),
    (
        "eval-samples-not-indices",
        [*EVAL, "--samples", '{"translated_zh_xquad": 1}'],
        2,
        "--samples: give a JSON object mapping task names to lists of document indices",
    ),
    ("eval-verbosity", [*EVAL, "--verbosity", "LOUD"], 2, "--verbosity LOUD: choose one of DEBUG, INFO"),
    (
        "eval-cache-requests",
        [*EVAL, "--cache_requests", "maybe"],
        2,
        "--cache_requests maybe: choose true, refresh",
    ),
    (
        "eval-wandb-not-installed",
        [*EVAL, "--wandb_args", "project=x"],
        2,
        "--wandb_args needs the Python package wandb, which is not installed here",
    ),
    (
        "eval-hub-log-args",
        [*EVAL, "--hf_hub_log_args", "no_such_setting=1"],
        2,
        (
            "--hf_hub_log_args: EvaluationTracker.__init__() got an unexpected keyword argument "
            "'no_such_setting'"
        ),
    ),
    ("eval-config-missing", [*EVAL, "--config", "{ws}/nope.yaml"], 2, "nope.yaml: file not found"),
    (
        "eval-config-unknown-setting",
        [*EVAL, "--config", "{ws}/unknown.yaml"],
        2,
        "unknown.yaml: unknown lm-eval setting(s) modle",
    ),
    (
        "eval-config-wrong-type",
        [*EVAL, "--config", "{ws}/wrongtype.yaml"],
        2,
        "wrongtype.yaml: limit: expected a number, got 'all'",
    ),
    (
        "eval-use-cache-under-a-file",
        [*EVAL, "--use_cache", "{ws}/afile/responses"],
        2,
        "--use_cache {ws}/afile/responses: {ws}/afile is a file, not a folder",
    ),
    (
        "eval-fewshot-as-multiturn-word",
        [*EVAL, "--fewshot_as_multiturn", "maybe"],
        2,
        "--fewshot_as_multiturn maybe: give true or false",
    ),
    (
        "eval-model-args-nested-json",
        [
            "eval",
            "--model_args",
            '{"pretrained": "x", "a": {"b": 1}}',
            "--tasks",
            "translated_zh_xquad",
            "-o",
            "{ws}/results",
        ],
        2,
        "a has a nested or comma-holding",
    ),
    (
        "eval-include-path-a-file",
        [*EVAL, "--include_path", "{ws}/afile"],
        2,
        "--include-path {ws}/afile: not a folder; give the folder that holds the task YAMLs",
    ),
    (
        "eval-no-tasks",
        ["eval", "--model-args", "pretrained={tiny}", "--output-path", "{ws}/results"],
        2,
        "--tasks is required",
    ),
    (
        "eval-no-output-path",
        ["eval", "--model-args", "pretrained={tiny}", "--tasks", "translated_zh_xquad"],
        2,
        "--output-path is required",
    ),
    # --- translate / rtt / translate-task: checked before a backend is built
    (
        "translate-report-is-input",
        [*TRANSLATE, "--report", "{ws}/in.json"],
        2,
        "--report {ws}/in.json would overwrite the input",
    ),
    (
        "translate-report-is-output",
        [*TRANSLATE, "--report", "{ws}/out.json"],
        2,
        "--report {ws}/out.json is the same file as --out",
    ),
    (
        "translate-cache-is-input",
        [*TRANSLATE, "--cache", "{ws}/in.json"],
        2,
        "--cache {ws}/in.json would overwrite the input",
    ),
    ("translate-concurrency-0", [*TRANSLATE, "--concurrency", "0"], 2, "0 is not in the range x>=1"),
    ("translate-concurrency-negative", [*TRANSLATE, "--concurrency", "-5"], 2, "-5 is not in the range x>=1"),
    ("translate-no-fields", [*TRANSLATE, "--fields", ""], 2, "--fields '' names no field"),
    ("translate-max-cost-nan", [*TRANSLATE, "--max-cost", "nan"], 2, "'nan' is not a finite number"),
    (
        "translate-malformed-input",
        ["translate", *LLM, "--in", "{ws}/bad.json", "--out", "{ws}/out.json", "--src", "en", "--tgt", "zh"],
        2,
        "bad.json:1:2: malformed JSON",
    ),
    (
        "translate-input-not-a-list",
        [
            "translate",
            *LLM,
            "--in",
            "{ws}/object.json",
            "--out",
            "{ws}/out.json",
            "--src",
            "en",
            "--tgt",
            "zh",
        ],
        2,
        "object.json: expected a JSON list of records",
    ),
    (
        "translate-corrupt-cache",
        [*TRANSLATE, "--cache", "{ws}/corrupt.sqlite"],
        2,
        "not a usable SQLite cache",
    ),
    (
        "translate-key-variable-unset",
        [*TRANSLATE, "--api-key-env", "NO_SUCH_KEY_VARIABLE"],
        2,
        "--api-key-env NO_SUCH_KEY_VARIABLE: the environment variable NO_SUCH_KEY_VARIABLE is not set",
    ),
    (
        "translate-out-under-a-file",
        [
            "translate",
            *LLM,
            "--in",
            "{ws}/in.json",
            "--out",
            "{ws}/afile/out.json",
            "--src",
            "en",
            "--tgt",
            "zh",
        ],
        2,
        "--out {ws}/afile/out.json: {ws}/afile is a file",
    ),
    (
        "rtt-pivot-is-output",
        [
            "rtt",
            *LLM,
            "--in",
            "{ws}/in.json",
            "--out",
            "{ws}/o.json",
            "--pivot-out",
            "{ws}/o.json",
            "--lang",
            "zh",
        ],
        2,
        "--pivot-out {ws}/o.json is the same file as --out",
    ),
    (
        "translate-task-concurrency-0",
        ["translate-task", "translated_zh_xquad", "--to", "es", *LLM, "--concurrency", "0"],
        2,
        "0 is not in the range x>=1",
    ),
    # --- finetune
    (
        "finetune-per-language-cap-negative",
        [*FINETUNE, "--per-language-cap", "-1"],
        2,
        "-1 is not in the range x>=1",
    ),
    ("finetune-lr-nan", [*FINETUNE, "--lr", "nan"], 2, "'nan' is not a finite number"),
    ("finetune-lr-0", [*FINETUNE, "--lr", "0"], 2, "0.0 is not in the range x>0"),
    ("finetune-eval-split-1", [*FINETUNE, "--eval-split", "1"], 2, "is not in the range 0<=x<1"),
    ("finetune-out-is-a-file", [*FINETUNE[:-1], "{ws}/afile"], 2, "is a file"),
    (
        "finetune-malformed-data",
        [*FINETUNE[:4], "{ws}/bad.json", *FINETUNE[5:]],
        2,
        "bad.json:1:2: malformed JSON",
    ),
    # --- judge
    ("judge-unknown-judge", ["judge", "{ws}/runs", "--judge", "gpt4"], 2, "unknown judge 'gpt4'"),
    (
        "judge-negative-prices",
        [*JUDGE, "--prices", "{ws}/negative_prices.yaml", "--max-cost", "1"],
        2,
        "gpt-4-turbo-2024-04-09: a price must be a finite number of USD, zero or more",
    ),
    (
        "judge-corrupt-cache",
        [*JUDGE[:-1], "{ws}/corrupt.sqlite"],
        2,
        "corrupt.sqlite: not a usable SQLite cache",
    ),
    ("judge-max-cost-inf", [*JUDGE, "--max-cost", "inf"], 2, "'inf' is not a finite number"),
    ("judge-samples-not-objects", ["judge", "{ws}/bad_samples", *JUDGE[2:]], 2, ":1: not an lm-eval sample"),
    (
        "judge-samples-wrongly-typed",
        ["judge", "{ws}/typed_samples", *JUDGE[2:]],
        2,
        ":1: sample 0 has no question field",
    ),
    (
        "judge-results-wrongly-typed",
        ["judge", "{ws}/typed_results", *JUDGE[2:]],
        2,
        "`configs` is a list, not an object",
    ),
    (
        "judge-pairwise-same-run",
        ["judge", "--pairwise", "{ws}/runs/model-a", "{ws}/runs/model-a", *JUDGE[2:]],
        2,
        "the same run twice; give two runs",
    ),
    ("judge-missing-path", ["judge", "{ws}/nope"], 2, "nope: no such file or directory"),
    # --- statistics bounds
    (
        "judge-report-bootstrap-huge",
        ["judge-report", "{ws}/runs", "--out", "{ws}/report", "--bootstrap", "2e9"],
        2,
        "'2e9' is not a valid integer",
    ),
    (
        "judge-report-bootstrap-2e9",
        ["judge-report", "{ws}/runs", "--out", "{ws}/report", "--bootstrap", "2000000000"],
        2,
        "2000000000 is not in the range 0<=x<=1000000",
    ),
    (
        "leaderboard-bootstrap-2e9",
        ["leaderboard", "{ws}/runs", "--out", "{ws}/site", "--bootstrap", "2000000000"],
        2,
        "2000000000 is not in the range 0<=x<=1000000",
    ),
    # --- click's own errors: one line too
    ("unknown-option", ["tasks", "--nope"], 2, "error: No such option '--nope'. (see `main tasks --help`)"),
    ("unknown-command", ["evaluate"], 2, "error: No such command 'evaluate'."),
    (
        "missing-option",
        ["translate", *LLM, "--in", "{ws}/in.json", "--src", "en", "--tgt", "zh"],
        2,
        "error: Missing option '--out'.",
    ),
    # --- data
    ("data-check-no-task", ["data", "check", "--tasks", ""], 2, "no task given"),
    (
        "data-download-to-a-file",
        ["data", "download", "--tasks", "translated_zh_xquad", "--to", "{ws}/afile"],
        2,
        "is a file",
    ),
]


@pytest.fixture
def workspace(tmp_path, monkeypatch) -> Path:
    """Inputs for the table: good and malformed data files, a judged run, a judge config, a corrupt cache."""
    ws = tmp_path / "ws"
    ws.mkdir()
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    monkeypatch.delenv("COHERE_API_KEY", raising=False)
    (ws / "in.json").write_text(json.dumps([{"instruction": "Hello", "output": "Hi"}]), encoding="utf-8")
    (ws / "bad.json").write_text("{not json", encoding="utf-8")
    (ws / "object.json").write_text(json.dumps({"instruction": "Hello"}), encoding="utf-8")
    (ws / "afile").write_text("a file", encoding="utf-8")
    (ws / "corrupt.sqlite").write_bytes(b"not an SQLite database " * 64)
    (ws / "negative_prices.yaml").write_text(
        "per_million_tokens:\n  gpt-4-turbo-2024-04-09: {input: -10, output: -30}\n", encoding="utf-8"
    )
    (ws / "unknown.yaml").write_text("modle: hf\n", encoding="utf-8")
    (ws / "wrongtype.yaml").write_text("limit: all\n", encoding="utf-8")
    judge_yaml(ws / "judge.yaml")
    write_run(ws / "runs", "model-a", {"native_es_open_qa": [("¿Qué es?", "Es algo.")]})
    samples_name = "samples_native_es_open_qa_2024-01-01T00-00-00.000000.jsonl"
    for folder, text in (
        ("bad_samples", '[1, 2]\n"x"\n'),
        ("typed_samples", '{"doc_id": 0, "doc": [1], "arguments": 5, "resps": 3}\n'),
    ):
        (ws / folder / "m").mkdir(parents=True)
        (ws / folder / "m" / samples_name).write_text(text, encoding="utf-8")
    typed = write_run(ws / "typed_results", "m", {"native_es_open_qa": [("q", "a")]})
    (typed / "results_2024-01-01T00-00-00.000000.json").write_text(
        '{"configs": [1], "results": "x"}', encoding="utf-8"
    )
    return ws


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest() if p.is_file() else "dir"
        for p in sorted(root.rglob("*"))
    }


def messages(output: str) -> list[str]:
    """The lines a user reads (progress bars are not messages)."""
    return [line for line in output.replace("\r", "\n").splitlines() if line.strip() and "%|" not in line]


@pytest.mark.parametrize(
    ("args", "exit_code", "expected"), [case[1:] for case in CASES], ids=[c[0] for c in CASES]
)
def test_bad_input_is_one_line_and_changes_nothing(workspace, tiny_model, args, exit_code, expected):
    before = snapshot(workspace.parent)

    def fill(text: str) -> str:
        return text.replace("{ws}", str(workspace)).replace("{tiny}", str(tiny_model))

    result = CliRunner().invoke(cli.main, [fill(a) for a in args])
    assert result.exception is None or isinstance(result.exception, SystemExit), repr(result.exception)
    assert "Traceback" not in result.output
    assert result.exit_code == exit_code, result.output
    lines = messages(result.output)
    assert len(lines) == 1, result.output
    assert fill(expected) in lines[0]
    assert snapshot(workspace.parent) == before


# --- a disk that fills up (or turns read-only) while a command writes: one line, exit 1 -------------------
@pytest.fixture
def full_disk(monkeypatch):
    """Every file written after this point fails (ENOSPC, or another errno) when it is flushed to disk (atomic
    writes fsync)."""
    import os

    def fail_with(code: int = errno.ENOSPC):
        def fsync(fd):
            raise OSError(code, os.strerror(code))

        monkeypatch.setattr(os, "fsync", fsync)

    return fail_with


def test_judge_on_a_full_disk_is_one_line_exit_1(workspace, full_disk):
    from nativeval.harness_ext.testing.judge_runs import rating_by_length
    from nativeval.harness_ext.testing.openai_stub import OpenAIStub

    outputs = snapshot(workspace / "runs")
    with OpenAIStub(rating_by_length) as stub:
        full_disk()
        result = CliRunner().invoke(
            cli.main,
            [
                "judge",
                str(workspace / "runs"),
                "--judge",
                str(workspace / "judge.yaml"),
                "--base-url",
                stub.base_url,
                "--cache",
                str(workspace / "v.sqlite"),
            ],
        )
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    assert messages(result.output)[-1].startswith("error: ") and "No space left on device" in result.output
    assert snapshot(workspace / "runs") == outputs  # no judge file, whole or cut short


@pytest.mark.parametrize(
    ("code", "reason"), [(errno.ENOSPC, "No space left on device"), (errno.EROFS, "Read-only file system")]
)
def test_translate_on_a_full_or_read_only_disk_is_one_line_exit_1(workspace, full_disk, code, reason):
    from nativeval.harness_ext.testing.openai_stub import OpenAIStub
    from nativeval.harness_ext.testing.translate_stubs import llm_translating_responder

    with OpenAIStub(llm_translating_responder) as stub:
        full_disk(code)
        result = CliRunner().invoke(
            cli.main,
            [
                "translate",
                "--backend",
                "llm",
                "--base-url",
                stub.base_url,
                "--model",
                "stub-model",
                "--in",
                str(workspace / "in.json"),
                "--out",
                str(workspace / "out.json"),
                "--src",
                "en",
                "--tgt",
                "zh",
            ],
        )
    assert result.exit_code == 1 and "Traceback" not in result.output, result.output
    (line,) = [m for m in messages(result.output) if m.startswith("error: ")]
    assert reason in line
    assert not (workspace / "out.json").exists() and not list(workspace.glob(".out.json.*"))


def test_help_and_a_bare_group_still_show_the_help():
    assert CliRunner().invoke(cli.main, ["eval", "--help"]).exit_code == 0
    bare = CliRunner().invoke(cli.main, ["data"])
    assert bare.output.startswith("Usage: ") and "check" in bare.output and "error:" not in bare.output

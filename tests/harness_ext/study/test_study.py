"""The study runner: config checking, matrix expansion, content-hash keys, resume, reruns, export.

Step commands are replaced (the study file's `commands`) by a tiny Python script that writes files, so
these tests exercise the runner's mechanics without the real translate/finetune/eval/judge commands.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
import urllib.request
from pathlib import Path

import click
import pytest
import yaml
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.core.runs import format_lr
from nativeval.harness_ext.study.commands import CommandContext, command_for
from nativeval.harness_ext.study.dry_run import describe_plan
from nativeval.harness_ext.study.load import load_plan
from nativeval.harness_ext.study.recipe import recipe_options
from nativeval.harness_ext.study.runner import StudyRunner
from nativeval.harness_ext.study.sample import sample_records
from nativeval.harness_ext.study.state import MARKER, STARTED
from nativeval.harness_ext.testing.study_outputs import (
    PROMISED_OUTPUTS,
    write_promised_outputs,
    write_stand_in_outputs,
)

REPO = Path(__file__).resolve().parents[3]

FAKE_STEP = textwrap.dedent("""
    import json, os, sys, time
    kind, out, inputs = sys.argv[1], sys.argv[2], [p for p in sys.argv[3].split(",") if p]
    with open(os.environ["FAKE_CALLS"], "a") as fh:
        fh.write(out + "\\n")
    if os.environ.get("FAKE_SLEEP_ON") and os.environ["FAKE_SLEEP_ON"] in out:
        if os.environ.get("FAKE_ORPHAN"):  # a worker of the step that outlives the step's main process
            import subprocess
            subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        open(os.path.join(out, "partial.txt"), "w").write(str(os.getpid()))
        time.sleep(60)
    if os.environ.get("FAKE_FAIL_ON") and os.environ["FAKE_FAIL_ON"] in out:
        print("boom: simulated failure")
        sys.exit(3)
    seen = []
    for p in inputs:
        seen.append(open(p, encoding="utf-8").read() if os.path.isfile(p) else sorted(os.listdir(p)))
    if kind in ("sample", "translate", "rtt"):
        json.dump([{"kind": kind, "inputs": seen}], open(os.path.join(out, "data.json"), "w"))
    else:
        json.dump({"kind": kind, "inputs": seen}, open(os.path.join(out, "result.json"), "w"))
    for name, doc in PROMISED.get(kind, {}).items():  # what the kind promises (study/kinds.py)
        if not os.path.exists(os.path.join(out, name)):
            os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
            json.dump(doc, open(os.path.join(out, name), "w"))
""")
FAKE_STEP = f"PROMISED = {PROMISED_OUTPUTS!r}\n" + FAKE_STEP


def write_study(tmp: Path, **changes) -> Path:
    """A small study: a toy model, a native file variant, a translated one, a round trip; fake commands."""
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    for name, rows in {"native_zh.json": 3, "native_ru.json": 2, "en_pool.json": 4, "multi.json": 5}.items():
        if not (data / name).exists():
            (data / name).write_text(
                json.dumps([{"instruction": f"q{i}", "output": f"a{i}", "id": str(i)} for i in range(rows)])
            )
    fake = tmp / "fake_step.py"
    fake.write_text(FAKE_STEP)
    study = {
        "study": "mini",
        "output_dir": "out",
        "vars": {"data": "data"},
        "languages": ["zh"],
        "base_models": {"toy": {"toy": {"seed": 0}}},
        "variants": {
            "native": {"file": "${data}/native_{lang}.json", "multi_file": "${data}/multi.json"},
            "google": {"translate": {"backend": "google", "source": "${data}/en_pool.json", "sample": 2}},
            "rtt_google": {"round_trip": {"backend": "google", "source": "native"}},
        },
        "finetune": {"runs": [{"models": "all", "variants": ["native", "google"], "lr": [1e-4]}]},
        "eval": {"tasks": ["translated_{lang}_xquad"], "limit": 2},
        "judges": [{"name": "stand-in", "serve": "stub"}],
        "commands": {
            kind: ["{python}", str(fake), "{kind}", "{out}", "{inputs}"]
            for kind in (
                "toy_model",
                "sample",
                "translate",
                "rtt",
                "finetune",
                "eval",
                "judge",
                "leaderboard",
            )
        },
    }
    for key, value in changes.items():
        study[key] = value
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


@pytest.fixture()
def fake_env(tmp_path, monkeypatch):
    calls = tmp_path / "calls.log"
    monkeypatch.setenv("FAKE_CALLS", str(calls))
    for name in ("FAKE_SLEEP_ON", "FAKE_FAIL_ON", "FAKE_NOT_IMPLEMENTED", "FAKE_ORPHAN"):
        monkeypatch.delenv(name, raising=False)
    return calls


def ran(calls: Path) -> list[str]:
    """Output dirs of the steps that ran since the last call (relative to out/), and reset the log."""
    if not calls.exists():
        return []
    lines = calls.read_text().splitlines()
    calls.unlink()
    return sorted(str(Path(line).relative_to(calls.parent / "out")) for line in lines)


def run_cli(*args: str):
    result = CliRunner().invoke(cli.main, ["study", *args])
    return result.exit_code, result.output


# --- expansion and keys ---------------------------------------------------------------------------------
def test_plan_expands_matrix_in_dependency_order(tmp_path):
    plan = load_plan(write_study(tmp_path))
    assert list(plan.steps) == [
        "toy_model/toy",
        "finetune/toy/zh/native/lr1e-4",
        "eval/toy/zh/native/lr1e-4-mono",
        "sample/zh/google",
        "translate/zh/google",
        "finetune/toy/zh/google/lr1e-4",
        "eval/toy/zh/google/lr1e-4-mono",
        "judge/stand-in/toy/zh/native/lr1e-4-mono",
        "judge/stand-in/toy/zh/google/lr1e-4-mono",
        "leaderboard",
    ]
    assert plan.steps["translate/zh/google"].api_calls == 2 * 2  # 2 sampled records x 2 fields
    assert load_plan(write_study(tmp_path)).steps["leaderboard"].key == plan.steps["leaderboard"].key


def test_multi_tuning_trains_once_for_all_languages_and_round_trip_reads_native(tmp_path):
    runs = [
        {"variants": ["native"], "tuning": ["mono", "multi"], "lr": [1e-4, 1e-6]},
        {"variants": ["rtt_google"]},
    ]
    plan = load_plan(write_study(tmp_path, languages=["zh", "ru"], finetune={"runs": runs}))
    finetunes = sorted(s for s in plan.steps if s.startswith("finetune/"))
    assert finetunes == sorted(
        [
            "finetune/toy/zh/native/lr1e-4",
            "finetune/toy/zh/native/lr1e-6",
            "finetune/toy/ru/native/lr1e-4",
            "finetune/toy/ru/native/lr1e-6",
            "finetune/toy/multi/native/lr1e-4",
            "finetune/toy/multi/native/lr1e-6",
            "finetune/toy/zh/rtt_google/lr1e-4",
            "finetune/toy/ru/rtt_google/lr1e-4",
        ]
    )
    evals_of_multi = [
        s for s in plan.steps.values() if s.deps.get("adapter") == ["finetune/toy/multi/native/lr1e-4"]
    ]
    assert sorted(s.id for s in evals_of_multi) == [
        "eval/toy/ru/native/lr1e-4-multi",
        "eval/toy/zh/native/lr1e-4-multi",
    ]
    rtt = plan.steps["rtt/ru/rtt_google"]
    assert rtt.inputs["source"].endswith("data/native_ru.json") and rtt.api_calls == 2 * 2 * 2


def test_step_commands_follow_the_documented_cli(tmp_path):
    path = write_study(tmp_path, commands={})
    plan = load_plan(path)
    ctx = CommandContext(plan, stand_in_urls={"stand-in": "http://127.0.0.1:9/v1"})
    out = tmp_path / "out"

    def argv(step_id):
        return command_for(plan.steps[step_id], ctx)[2:]  # drop python, cli.py

    assert argv("translate/zh/google") == [
        "translate",
        "--backend",
        "google",
        "--src",
        "en",
        "--tgt",
        "zh",
        "--in",
        f"{out}/data/zh/google-sample/data.json",
        "--out",
        f"{out}/data/zh/google/data.json",
        "--fields",
        "instruction,output",
        "--cache",
        f"{out}/cache/translate.sqlite",
    ]
    assert argv("finetune/toy/zh/native/lr1e-4") == [
        "finetune",
        "--base",
        f"{out}/models/toy",
        "--data",
        str(tmp_path / "data/native_zh.json"),
        "--lang",
        "zh",
        "--variant",
        "native",
        "--out",
        f"{out}/checkpoints/toy/zh/native/lr1e-4",
        "--lora",
        "--lr",
        "1e-4",
        "--epochs",
        "10",
        "--batch-size",
        "64",
        "--micro-batch-size",
        "8",
        "--max-length",
        "1024",
        "--seed",
        "0",
    ]
    assert argv("eval/toy/zh/google/lr1e-4-mono") == [
        "eval",
        "--model",
        "hf",
        "--model-args",
        f"pretrained={out}/models/toy,peft={out}/checkpoints/toy/zh/google/lr1e-4",
        "--tasks",
        "translated_zh_xquad",
        "--output-path",
        f"{out}/eval/toy/zh/google/lr1e-4-mono",
        "--limit",
        "2",
    ]
    assert argv("judge/stand-in/toy/zh/native/lr1e-4-mono") == [
        "judge",
        f"{out}/eval/toy/zh/native/lr1e-4-mono",
        "--judge",
        "stand-in",
        "--base-url",
        "http://127.0.0.1:9/v1",
        "--cache",
        f"{out}/cache/judge.sqlite",
        "--out",
        f"{out}/judge/stand-in/toy/zh/native/lr1e-4-mono",
    ]
    lb = argv("leaderboard")
    assert lb[0] == "leaderboard" and lb[-4:] == ["--out", f"{out}/site", "--title", "nativeval study mini"]
    assert f"{out}/judge/stand-in/toy/zh/google/lr1e-4-mono" in lb
    assert format_lr(1e-4) == "1e-4" and format_lr(2.5e-5) == "2.5e-5" and format_lr(0.001) == "1e-3"


# --- running, rerunning, changing inputs ---------------------------------------------------------------
def test_run_then_noop_rerun_then_change_one_input_reruns_only_dependents(tmp_path, fake_env):
    path = write_study(tmp_path)
    code, output = run_cli(str(path))
    assert code == 0, output
    first = ran(fake_env)
    assert len(first) == 10 and "site" in first
    assert all((tmp_path / "out" / d / MARKER).is_file() for d in first)
    assert "STAND-IN judge" in output

    code, output = run_cli(str(path))
    assert code == 0 and ran(fake_env) == [] and "10 already done, 0 to run" in output

    native = tmp_path / "data/native_zh.json"
    native.write_text(json.dumps([{"instruction": "changed", "output": "x", "id": "0"}]))
    code, output = run_cli(str(path))
    assert code == 0, output
    assert ran(fake_env) == [
        "checkpoints/toy/zh/native/lr1e-4",
        "eval/toy/zh/native/lr1e-4-mono",
        "judge/stand-in/toy/zh/native/lr1e-4-mono",
        "site",
    ]
    trained_on = json.loads((tmp_path / "out/checkpoints/toy/zh/native/lr1e-4/result.json").read_text())
    assert any("changed" in str(i) for i in trained_on["inputs"])


def test_changing_a_setting_reruns_only_what_reads_it(tmp_path, fake_env):
    path = write_study(tmp_path)
    assert run_cli(str(path))[0] == 0
    ran(fake_env)
    path = write_study(tmp_path, eval={"tasks": ["translated_{lang}_xquad"], "limit": 3})
    assert run_cli(str(path))[0] == 0
    assert ran(fake_env) == [
        "eval/toy/zh/google/lr1e-4-mono",
        "eval/toy/zh/native/lr1e-4-mono",
        "judge/stand-in/toy/zh/google/lr1e-4-mono",
        "judge/stand-in/toy/zh/native/lr1e-4-mono",
        "site",
    ]


def test_force_reruns_a_step_and_its_dependents_only(tmp_path, fake_env):
    path = write_study(tmp_path)
    assert run_cli(str(path))[0] == 0
    ran(fake_env)
    code, output = run_cli(str(path), "--force", "translate")
    assert code == 0, output
    assert ran(fake_env) == [
        "checkpoints/toy/zh/google/lr1e-4",
        "data/zh/google",
        "eval/toy/zh/google/lr1e-4-mono",
        "judge/stand-in/toy/zh/google/lr1e-4-mono",
        "site",
    ]


def test_only_runs_matching_steps_and_needs_their_upstream_done(tmp_path, fake_env):
    path = write_study(tmp_path)
    code, output = run_cli(str(path), "--only", "eval/toy/zh/native/*")
    assert code == 2 and output.count("\n") == 1
    assert "step eval/toy/zh/native/lr1e-4-mono needs toy_model/toy, which is not done" in output
    assert run_cli(str(path), "--only", "toy_model")[0] == 0
    assert run_cli(str(path), "--only", "finetune/toy/zh/native")[0] == 0
    assert ran(fake_env) == ["checkpoints/toy/zh/native/lr1e-4", "models/toy"]
    code, output = run_cli(str(path), "--only", "nonsense")
    assert code == 2 and "--only 'nonsense' matches no step" in output


def test_failed_step_blocks_dependents_others_finish_and_rerun_resumes(tmp_path, fake_env, monkeypatch):
    path = write_study(tmp_path)
    monkeypatch.setenv("FAKE_FAIL_ON", "checkpoints/toy/zh/google")
    code, output = run_cli(str(path))
    assert code == 1
    assert "FAILED (exit 3)" in output and "boom: simulated failure" in output
    assert "blocked (needs finetune/toy/zh/google/lr1e-4)" in output
    assert (tmp_path / "out/eval/toy/zh/native/lr1e-4-mono" / MARKER).is_file()
    assert not (tmp_path / "out/site").exists()
    ran(fake_env)
    monkeypatch.delenv("FAKE_FAIL_ON")
    assert run_cli(str(path))[0] == 0
    assert ran(fake_env) == [
        "checkpoints/toy/zh/google/lr1e-4",
        "eval/toy/zh/google/lr1e-4-mono",
        "judge/stand-in/toy/zh/google/lr1e-4-mono",
        "site",
    ]


def test_killed_run_resumes_without_redoing_finished_steps(tmp_path, fake_env):
    path = write_study(tmp_path)
    env = {**os.environ, "FAKE_SLEEP_ON": "checkpoints/toy/zh/google"}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "study", str(path)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    partial = tmp_path / "out/checkpoints/toy/zh/google/lr1e-4/partial.txt"
    try:
        while not partial.exists():
            assert proc.poll() is None, "the runner ended before reaching the slow step"
            time.sleep(0.05)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    step_dir = partial.parent
    assert (step_dir / STARTED).is_file() and not (step_dir / MARKER).exists()
    finished_before = ran(fake_env)
    assert "models/toy" in finished_before and "checkpoints/toy/zh/google/lr1e-4" in finished_before

    code, output = run_cli(str(path))
    assert code == 0, output
    rerun = ran(fake_env)
    assert "models/toy" not in rerun and "data/zh/google" not in rerun
    assert "checkpoints/toy/zh/google/lr1e-4" in rerun and "site" in rerun
    assert not partial.exists() and (step_dir / MARKER).is_file()
    assert sorted(p.name for p in step_dir.iterdir()) == [
        MARKER,
        "adapter_config.json",
        "nativeval_run.json",
        "result.json",
    ]


def _start_runner_until_slow_step(tmp_path: Path, path: Path, **env_extra: str):
    env = {**os.environ, "FAKE_SLEEP_ON": "checkpoints/toy/zh/google", **env_extra}
    proc = subprocess.Popen(
        [sys.executable, str(REPO / "cli.py"), "study", str(path)],
        env=env,
        cwd=tmp_path,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    partial = tmp_path / "out/checkpoints/toy/zh/google/lr1e-4/partial.txt"
    while not (partial.exists() and partial.read_text()):
        assert proc.poll() is None, "the runner ended before reaching the slow step"
        time.sleep(0.05)
    return proc, int(partial.read_text())


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    status = Path(f"/proc/{pid}/stat")
    return not (status.exists() and status.read_text().split(") ")[-1].startswith("Z"))


def _wait_gone(pid: int) -> bool:
    for _ in range(600):  # a bound on a hang, not a speed requirement
        if not _alive(pid):
            return True
        time.sleep(0.05)
    return False


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    return True


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGTERM, signal.SIGINT])
def test_killed_runner_takes_its_step_process_with_it(tmp_path, fake_env, how):
    path = write_study(tmp_path)
    proc, child = _start_runner_until_slow_step(tmp_path, path)
    assert os.getpgid(child) == child != proc.pid  # the step runs in its own process group
    os.kill(proc.pid, how)
    proc.wait()
    assert _wait_gone(child), "the step's process outlived the runner"
    code, output = run_cli(str(path))  # nothing of the killed step is running: the rerun resumes it
    assert code == 0, output


def test_rerun_while_an_orphan_of_the_step_runs_says_so_and_does_not_run_the_step(
    tmp_path, fake_env, monkeypatch
):
    from nativeval.harness_ext.study import runner

    monkeypatch.setattr(runner, "BUSY_WAIT_S", 0.5)
    path = write_study(tmp_path)
    proc, child = _start_runner_until_slow_step(tmp_path, path, FAKE_ORPHAN="1")
    os.kill(proc.pid, signal.SIGKILL)  # no handler runs: only the parent-death signal reaches the child
    proc.wait()
    assert _wait_gone(child)
    try:
        assert _group_alive(child), "the orphaned worker should still be running for this test"
        ran(fake_env)
        code, output = run_cli(str(path))
        assert code == 1
        assert f"step finetune/toy/zh/google/lr1e-4 is running in process {child}; skipped here" in output, (
            output
        )
        assert "checkpoints/toy/zh/google/lr1e-4" not in ran(fake_env)
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(child, signal.SIGKILL)
    for _ in range(600):
        if not _group_alive(child):
            break
        time.sleep(0.05)
    code, output = run_cli(str(path))
    assert code == 0, output
    assert "checkpoints/toy/zh/google/lr1e-4" in ran(fake_env)


def test_forced_interrupted_finetune_starts_clean(tmp_path):
    plan = load_plan(write_study(tmp_path, commands={}))
    step = plan.steps["finetune/toy/zh/native/lr1e-4"]
    (step.out / "checkpoints" / "checkpoint-12").mkdir(parents=True)
    (step.out / STARTED).write_text(json.dumps({"key": step.key}))
    assert StudyRunner(plan, lambda *a: 0, echo=lambda line: None)._prepare_dir(step, forced=True) is False
    assert not (step.out / "checkpoints").exists()


def test_stub_judge_is_served_locally_and_gets_no_real_key(tmp_path, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-real-secret")
    plan = load_plan(write_study(tmp_path, commands={}))
    replies = []

    def executor(argv, env, log):
        if argv[2] == "judge":
            assert env["OPENAI_API_KEY"] != "sk-real-secret"
            url = argv[argv.index("--base-url") + 1] + "/chat/completions"
            body = json.dumps(
                {
                    "model": "m",
                    "messages": [
                        {
                            "role": "user",
                            "content": "[The Start of Assistant's "
                            "Answer]\nhello\n[The End of Assistant's Answer]",
                        }
                    ],
                }
            ).encode()
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            replies.append(
                json.load(urllib.request.urlopen(request, timeout=10))["choices"][0]["message"]["content"]
            )
        else:
            assert env["OPENAI_API_KEY"] == "sk-real-secret"
        write_stand_in_outputs(argv)
        return 0

    outcome = StudyRunner(plan, executor, echo=lambda line: None).run()
    assert set(outcome.values()) == {"done"}
    assert len(replies) == 2 and all("Rating: [[" in r for r in replies)


# --- dry run, export, bad input ------------------------------------------------------------------------
def test_dry_run_shows_plan_status_and_estimates_without_running(tmp_path, fake_env):
    path = write_study(
        tmp_path,
        base_models={"Qwen1.5-7B": "Qwen/Qwen1.5-7B"},
        eval={"tasks": ["translated_{lang}_open_qa"], "limit": 2},
    )
    assert run_cli(str(path), "--only", "sample")[0] == 0
    ran(fake_env)
    code, output = run_cli(str(path), "--dry-run")
    assert code == 0 and ran(fake_env) == []
    assert "  done      sample/zh/google" in output
    assert "  to run    finetune/Qwen1.5-7B/zh/native/lr1e-4" in output
    assert "already done: 1 of 9; to run: 8" in output
    assert "API calls (translation segments 4, judge calls 4)" in output
    gpu = float(output.split("estimated for the steps to run: ")[1].split(" GPU-hours")[0])
    assert gpu > 0


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"colour": "red"}, "colour: unknown key"),
        (
            {"languages": ["zh", "ga"]},
            "languages[1]: unknown language 'ga' (supported: am, ar, az,",
        ),  # no task in Irish
        (
            {
                "variants": {
                    "native": {"file": "data/missing_{lang}.json"},
                    "google": {"file": "data/en_pool.json"},
                }
            },
            "variants.native.file: ",
        ),
        ({"finetune": {"recipe": {"lrr": 1}}}, "finetune.recipe.lrr: unknown key"),
        ({"finetune": {"runs": [{"models": ["llama"]}]}}, "finetune.runs[0].models[0]: unknown name 'llama'"),
        (
            {"finetune": {"runs": [{"variants": ["google"], "tuning": "multi"}]}},
            "needs `multi_file` on variant 'google'",
        ),
        ({"finetune": {"runs": [{"lr": ["fast"]}]}}, "finetune.runs[0].lr[0]: expected a number"),
        (
            {"variants": {"x": {"translate": {"backend": "babel", "source": "data/en_pool.json"}}}},
            "unknown backend 'babel'",
        ),
        ({"judges": [{"name": "gpt"}]}, "judges[0].base_url: required key is missing"),
        ({"output_dir": None}, "output_dir: expected a non-empty string"),
        ({"finetune": {"recipe": {"lr": 0}}}, "finetune.recipe.lr: expected a positive number, got 0"),
        (
            {"finetune": {"runs": [{"lr": [1e-4, 0.0]}]}},
            "finetune.runs[0].lr[1]: expected a positive number, got 0.0",
        ),
        ({"finetune": {"recipe": {"epochs": 0}}}, "finetune.recipe.epochs: expected at least 1, got 0"),
        (
            {"finetune": {"recipe": {"micro_batch_size": 0}}},
            "finetune.recipe.micro_batch_size: expected at least 1",
        ),
        (
            {"finetune": {"recipe": {"max_length": 4}}},
            "finetune.recipe.max_length: expected at least 8, got 4",
        ),
        (
            {"eval": {"tasks": ["translated_{lang}_xquad"], "limit": 0}},
            "eval.limit: expected a positive number, got 0",
        ),
        (
            {
                "variants": {
                    "native": {"file": "data/native_{lang}.json"},
                    "google": {
                        "translate": {"backend": "google", "source": "data/en_pool.json", "sample": 0}
                    },
                }
            },
            "variants.google.translate.sample: expected a positive number, got 0",
        ),
        ({"vars": {}}, "${data} is not defined"),
        (
            {"finetune": {"recipe": {"template": "yaml"}}},
            "finetune.recipe.template: expected one of alpaca, chat, got 'yaml'",
        ),
        (
            {"finetune": {"recipe": {"load_in_8bit": "yes"}}},
            "finetune.recipe.load_in_8bit: expected true or false",
        ),
        (
            {"finetune": {"recipe": {"load_in_8bit": True, "method": "full"}}},
            "finetune.recipe.load_in_8bit: an 8-bit base works with LoRA only",
        ),
        (
            {"finetune": {"recipe": {"resume": True}}},
            "finetune.recipe.resume: unknown key",
        ),  # the runner's, per step
        (
            {"finetune": {"recipe": {"patience": "soon"}}},
            "finetune.recipe.patience: expected a number, got 'soon'",
        ),
        (
            {
                "variants": {
                    "native": {"file": "data/native_{lang}.json"},
                    "llm": {
                        "translate": {"backend": "llm", "source": "data/en_pool.json", "prompt": "fig99"}
                    },
                }
            },
            "variants.llm.translate.prompt: unknown translation prompt 'fig99' "
            "(known: command_r_fig6, command_r_v1",
        ),
        (
            {
                "variants": {
                    "native": {"file": "data/native_{lang}.json"},
                    "g": {
                        "translate": {
                            "backend": "google",
                            "source": "data/en_pool.json",
                            "prompt": "command_r_fig6",
                        }
                    },
                }
            },
            "variants.g.translate.prompt: a prompt applies to the llm backend, not google",
        ),
        (
            {"judges": [{"name": "j", "serve": "stub", "extra_args": ["--max-cost", "-5"]}]},
            "judges[0].extra_args: --max-cost '-5': expected a cost in USD, zero or more",
        ),
        (
            {"eval": {"tasks": ["translated_{lang}_xquad"], "extra_args": "--judge-max-cost=nan"}},
            "eval.extra_args: --judge-max-cost 'nan': expected a cost in USD",
        ),
        (
            {"eval": {"tasks": ["translated_{lang}_xquadd"]}},
            "eval.tasks[0]: unknown task or collection 'translated_zh_xquadd'; "
            "did you mean translated_zh_xquad",
        ),
        ({"base_models": {"../../victim": {"toy": {"seed": 0}}}}, "'../../victim' cannot name a folder"),
        (
            {"commands": {"eval": ["{python}", "-c", "pass", "{nonsense}"]}},
            "commands.eval: unknown placeholder 'nonsense'",
        ),
    ],
)
def test_bad_study_files_fail_with_one_line_naming_the_key(tmp_path, change, message):
    code, output = run_cli(str(write_study(tmp_path, **change)))
    assert code == 2
    assert output.startswith("error: ") and output.count("\n") == 1 and message in output, output
    if "missing_" in message or "variants.native.file" in message:
        assert "missing_zh.json: file not found" in output


def test_impossible_values_fail_in_dry_run_before_anything_runs(tmp_path, fake_env):
    path = write_study(tmp_path, finetune={"recipe": {"lr": 0}})
    code, output = run_cli(str(path), "--dry-run")
    assert (
        code == 2 and output.count("\n") == 1 and "finetune.recipe.lr: expected a positive number" in output
    )
    assert not (tmp_path / "out").exists() and ran(fake_env) == []


def test_study_file_with_bad_bytes_is_one_line_naming_the_byte(tmp_path):
    path = write_study(tmp_path)
    text = path.read_bytes()
    path.write_bytes(text + "# 注释".encode()[:-1])  # cut inside the last character
    code, output = run_cli(str(path))
    assert code == 2 and output.count("\n") == 1, output
    assert f"byte {len(text) + 2 + 3}: the file ends in the middle of a character" in output
    path.write_bytes(b"study: caf\xe9\n" + text)
    code, output = run_cli(str(path))
    assert code == 2 and "byte 10: the file is not valid UTF-8" in output and output.count("\n") == 1


def test_missing_study_file_and_malformed_yaml_and_bad_var(tmp_path):
    code, output = run_cli(str(tmp_path / "nope.yaml"))
    assert code == 2 and "study file not found" in output
    bad = tmp_path / "bad.yaml"
    bad.write_text("study: [unclosed\n")
    code, output = run_cli(str(bad))
    assert code == 2 and "malformed YAML" in output and output.count("\n") == 1
    code, output = run_cli(str(write_study(tmp_path)), "--var", "nonsense")
    assert code == 2 and "expected NAME=VALUE" in output


def test_sample_step_is_seeded_and_keeps_format(tmp_path):
    source = tmp_path / "in.json"
    source.write_text(json.dumps([{"id": str(i)} for i in range(20)]))
    assert sample_records(source, tmp_path / "a.json", 5, seed=1) == 5
    sample_records(source, tmp_path / "b.json", 5, seed=1)
    a = json.loads((tmp_path / "a.json").read_text())
    assert a == json.loads((tmp_path / "b.json").read_text())
    assert [r["id"] for r in a] == sorted((r["id"] for r in a), key=int)
    jsonl = tmp_path / "in.jsonl"
    jsonl.write_text("".join(json.dumps({"id": i}) + "\n" for i in range(4)))
    assert sample_records(jsonl, tmp_path / "c.jsonl", 10, seed=0) == 4


# --- the shipped study files ----------------------------------------------------------------------------
PAPER_FILES = {
    "aya_native/aya_native_data_processed.{}.json": ("en", "es", "ru", "zh", "all"),
    "aya_google_translated/aya_google_translated_data_processed.all.json": (None,),
    "aya_cohere_translated/aya_cohere_translated_data_processed.all.json": (None,),
}


def fake_aya_release(root: Path) -> Path:
    for pattern, langs in PAPER_FILES.items():
        for lang in langs:
            path = root / (pattern.format(lang) if lang else pattern)
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(json.dumps([{"instruction": "q", "input": "", "output": "a", "id": "0"}] * 3))
    return root


@pytest.mark.parametrize(("lang", "finetunes", "rtt"), [("es", 48, 0), ("ru", 58, 10), ("zh", 58, 10)])
def test_paper_configs_encode_the_study_matrix(tmp_path, lang, finetunes, rtt):
    aya = fake_aya_release(tmp_path / "aya")
    plan = load_plan(REPO / "configs" / f"paper_{lang}.yaml", {"aya": str(aya)})
    steps = [s for s in plan.steps.values() if s.kind == "finetune"]
    assert len(steps) == finetunes
    combos = {
        (s.id.split("/")[1], s.params["variant"], format_lr(s.params["lr"]), s.params["tuning"])
        for s in steps
    }
    small = ("Gemma-2B", "Qwen1.5-0.5B", "Qwen1.5-1.8B", "Qwen1.5-4B")
    assert all(lr == "1e-4" and tuning == "mono" for m, v, lr, tuning in combos if m in small)
    assert ("Qwen1.5-14B", "native", "1e-6", "mono") in combos and (
        "Llama2-7B",
        "cohere",
        "1e-4",
        "multi",
    ) in combos
    assert len([c for c in combos if c[1].startswith("rtt_")]) == rtt
    lines = describe_plan(plan)
    assert "GPU-hours" in lines[-1]
    # as the paper ran it: LoRA on a base loaded in 8-bit (§4.1), Command R with the paper's Fig. 6 prompt
    ctx = CommandContext(plan)
    for step in steps:
        argv = command_for(step, ctx)
        assert "--lora" in argv and "--load-in-8bit" in argv, argv
    llm = [s for s in plan.steps.values() if s.kind in ("translate", "rtt") and s.params["backend"] == "llm"]
    google = [
        s for s in plan.steps.values() if s.kind in ("translate", "rtt") and s.params["backend"] == "google"
    ]
    assert len(llm) == len(google) == (1 if lang == "es" else 2)
    for step in llm:
        argv = command_for(step, ctx)
        assert argv[argv.index("--prompt") + 1] == "command_r_fig6", argv
    assert all("--prompt" not in command_for(step, ctx) for step in google)
    assert any("load_in_8bit true" in line and "method lora" in line for line in lines[:4])
    prompts = "cohere command_r_fig6" + (", rtt_cohere command_r_fig6" if rtt else "")
    assert f"translation prompts (llm backend): {prompts}" in lines


def test_demo_config_plans_toy_model_three_variants_and_stand_in_judge():
    plan = load_plan(REPO / "configs" / "demo.yaml")
    kinds = [s.kind for s in plan.steps.values()]
    assert kinds.count("toy_model") == 1 and kinds.count("finetune") == 3 and kinds.count("judge") == 3
    assert plan.config.judges[0].serve == "stub"
    assert "toy model" in plan.steps["leaderboard"].params["title"].lower()
    ctx = CommandContext(plan)
    # the built-in published numbers by name: no file to find, the name is part of the step's key
    board = command_for(plan.steps["leaderboard"], ctx)
    assert (
        board[board.index("--reference") + 1] == "paper"
        and "reference" not in plan.steps["leaderboard"].inputs
    )
    for step in (s for s in plan.steps.values() if s.kind == "finetune"):  # a CPU demo: full precision base
        assert "load_in_8bit" not in step.params and "--load-in-8bit" not in command_for(step, ctx)


def test_the_recipe_takes_every_finetune_option_but_the_per_run_ones(tmp_path):
    """The recipe's keys are read from the finetune command itself: a new option needs no second list."""
    expected = {
        "method" if p.name == "use_lora" else p.name
        for p in cli.finetune.params
        if isinstance(p, click.Option) and not p.hidden
    } - {"base", "data_specs", "lang", "variant", "out", "resume"}
    assert set(recipe_options()) == expected and {"load_in_8bit", "template", "patience"} <= expected
    recipe = {
        "load_in_8bit": True,
        "template": "chat",
        "patience": 2,
        "eval_split": 0.1,
        "gradient_checkpointing": True,
        "per_language_cap": 241,
        "target_modules": "q_proj,v_proj",
        "merge": False,
        "lr": 2e-4,
    }
    plan = load_plan(
        write_study(tmp_path, commands={}, finetune={"recipe": recipe, "runs": [{"variants": ["native"]}]})
    )
    (step,) = [s for s in plan.steps.values() if s.kind == "finetune"]
    argv = command_for(step, CommandContext(plan))
    tail = argv[argv.index("--out") + 2 :]
    assert tail == [
        "--lora",
        "--lr",
        "2e-4",
        "--epochs",
        "10",
        "--patience",
        "2",
        "--batch-size",
        "64",
        "--micro-batch-size",
        "8",
        "--max-length",
        "1024",
        "--template",
        "chat",
        "--eval-split",
        "0.1",
        "--seed",
        "0",
        "--per-language-cap",
        "241",
        "--target-modules",
        "q_proj,v_proj",
        "--load-in-8bit",
        "--gradient-checkpointing",
    ]
    parsed = CliRunner().invoke(cli.main, ["finetune", *argv[argv.index("finetune") + 1 :], "--help"])
    assert parsed.exit_code == 0, parsed.output  # the command knows every flag the recipe wrote (else exit 2)
    assert "load_in_8bit true" in describe_plan(plan)[1]


def test_interrupted_finetune_with_the_same_key_continues_in_place(tmp_path):
    plan = load_plan(write_study(tmp_path, commands={}))
    step = plan.steps["finetune/toy/zh/native/lr1e-4"]
    step.out.mkdir(parents=True)
    (step.out / "checkpoints").mkdir()
    (step.out / STARTED).write_text(json.dumps({"key": step.key}))
    other = plan.steps["finetune/toy/zh/google/lr1e-4"]
    other.out.mkdir(parents=True)
    (other.out / "stale.bin").write_text("from an attempt with another key")
    (other.out / STARTED).write_text(json.dumps({"key": "0" * 64}))
    seen = {}

    def executor(argv, env, log):
        out = (
            Path(argv[argv.index("--out") + 1])
            if "--out" in argv
            else Path(argv[argv.index("--output-path") + 1])
        )
        seen[str(out)] = argv
        write_stand_in_outputs(argv)
        return 0

    StudyRunner(plan, executor, echo=lambda line: None).run(
        only=["toy_model", "sample", "translate", "finetune"]
    )
    assert seen[str(step.out)][-1] == "--resume" and (step.out / "checkpoints").is_dir()
    assert "--resume" not in seen[str(other.out)] and not (other.out / "stale.bin").exists()
    assert (step.out / MARKER).is_file() and not (step.out / STARTED).exists()


@pytest.mark.slow
def test_miniature_study_end_to_end_with_the_real_commands(tmp_path):
    """Toy model, LoRA on two embedded Aya variants, lm-eval on one task, leaderboard; then a no-op rerun."""
    study = {
        "study": "mini_e2e",
        "output_dir": str(tmp_path / "out"),
        "languages": ["zh"],
        "base_models": {"toy": {"toy": {"seed": 0}}},
        "variants": {
            "native": {"file": str(REPO / "finetune/data/aya_native_{lang}_32.json")},
            "google": {"file": str(REPO / "finetune/data/aya_google_{lang}_32.json")},
        },
        "finetune": {"recipe": {"epochs": 1, "batch_size": 8, "micro_batch_size": 8, "max_length": 128}},
        "eval": {"tasks": ["translated_{lang}_xquad"], "limit": 2, "device": "cpu"},
        "leaderboard": {"title": "miniature study (toy model: numbers are noise)"},
    }
    path = tmp_path / "mini.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    code, output = run_cli(str(path))
    assert code == 0, output
    assert len(list((tmp_path / "out/eval").rglob("results_*.json"))) == 2
    assert (tmp_path / "out/checkpoints/toy/zh/native/lr1e-4/nativeval_run.json").is_file()
    assert (tmp_path / "out/site/index.html").is_file() and "leaderboard: " in output
    code, output = run_cli(str(path))
    assert code == 0 and "6 already done, 0 to run" in output


# --- bad input found before any work: one line, exit 2, nothing written -------------------------------------
def cli_study(*args: str):
    """(exit code, stderr lines, stdout) of `nativeval study ARGS`."""
    result = CliRunner().invoke(cli.main, ["study", *args])
    assert "Traceback" not in result.output
    return result.exit_code, result.stderr.splitlines(), result.stdout


def test_a_key_given_twice_in_the_study_file_names_the_key_and_both_lines(tmp_path, fake_env):
    path = write_study(tmp_path)
    text = path.read_text()
    assert "  google:\n" in text
    path.write_text(text.replace("  google:\n", "  native:\n    file: ${data}/en_pool.json\n  google:\n", 1))
    lines = text.splitlines()
    first = next(i for i, line in enumerate(lines, 1) if line == "  native:")
    second = next(i for i, line in enumerate(lines, 1) if line == "  google:")
    code, errors, _ = cli_study(str(path))
    assert code == 2 and errors == [
        f"error: {path}:{second}: duplicate key 'native' (first at line {first}); "
        "YAML would keep only the last one, so remove or rename one of them"
    ]
    assert not (tmp_path / "out").exists() and ran(fake_env) == []


def test_an_unknown_var_lists_the_variables_the_study_file_has(tmp_path, fake_env):
    code, errors, _ = cli_study(str(write_study(tmp_path)), "--var", "ayya=/data/aya")
    assert code == 2 and errors == [
        f"error: --var ayya: {tmp_path / 'study.yaml'} has no variable 'ayya' (its variables: data)"
    ]
    assert not (tmp_path / "out").exists() and ran(fake_env) == []


def test_a_var_used_only_as_a_placeholder_may_be_given(tmp_path):
    path = write_study(tmp_path, vars={})
    code, errors, _ = cli_study(str(path), "--var", f"data={tmp_path / 'data'}", "--dry-run")
    assert code == 0, errors


def test_a_var_path_on_the_command_line_resolves_against_the_working_directory(tmp_path, monkeypatch):
    path = write_study(tmp_path)
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "mine").mkdir(parents=True)
    for name in ("native_zh.json", "en_pool.json", "multi.json"):
        (elsewhere / "mine" / name).write_text((tmp_path / "data" / name).read_text())
    monkeypatch.chdir(elsewhere)
    plan = load_plan(path, {"data": "mine"})
    assert plan.steps["finetune/toy/zh/native/lr1e-4"].inputs["data0"] == str(
        elsewhere / "mine/native_zh.json"
    )
    code, errors, _ = cli_study(str(path), "--var", "data=mine", "--dry-run")
    assert code == 0, errors
    code, errors, _ = cli_study(
        str(path), "--var", "data=nowhere", "--dry-run"
    )  # named from here, not the file's
    assert code == 2 and len(errors) == 1 and str(elsewhere / "nowhere/native_zh.json") in errors[0]


@pytest.mark.parametrize(
    "modes",
    [("--dry-run", "--status"), ("--status", "--export-slurm", "x"), ("--dry-run", "--export-slurm", "x")],
)
def test_modes_that_exclude_each_other_are_one_usage_line(tmp_path, fake_env, modes):
    code, errors, _ = cli_study(str(write_study(tmp_path)), *modes)
    assert code == 2 and len(errors) == 1 and "do different things; give one of them" in errors[0]
    assert not (tmp_path / "out").exists() and not (tmp_path / "x").exists()


def test_a_judge_config_with_a_negative_price_or_a_duplicate_key_fails_before_any_step(tmp_path, fake_env):
    judge = tmp_path / "judge.yaml"
    judge.write_text(
        "name: j\nmodel: m\nbase_url: http://127.0.0.1:9/v1\nprices:\n  m: {input: -1, output: 2}\n"
    )
    path = write_study(tmp_path, judges=[{"name": "j", "config": str(judge)}])
    code, errors, _ = cli_study(str(path))
    assert code == 2 and errors == [
        f"error: {judge}: prices: m: a price must be a finite number of USD, zero or "
        "more (got {'input': -1, 'output': 2})"
    ]
    judge.write_text("name: j\nmodel: m\nbase_url: http://127.0.0.1:9/v1\nmodel: n\n")
    code, errors, _ = cli_study(str(path))
    assert code == 2 and len(errors) == 1 and "judge.yaml:4: duplicate key 'model'" in errors[0]
    assert not (tmp_path / "out").exists() and ran(fake_env) == []


# --- a step is done only when its outputs exist and parse -----------------------------------------------
def test_every_step_kind_promises_outputs_and_the_stand_ins_keep_the_promise(tmp_path):
    from nativeval.harness_ext.study.kinds import KINDS

    assert set(PROMISED_OUTPUTS) == set(KINDS)
    for name, kind in KINDS.items():
        folder = tmp_path / name
        folder.mkdir()
        assert kind.output_problem(folder) is not None  # an empty folder is not a finished step
        write_promised_outputs(name, folder)
        assert kind.output_problem(folder) is None, name


@pytest.mark.parametrize(
    ("kind", "name", "content", "problem"),
    [
        ("eval", "run/results_x.json", '{"results": {', "malformed JSON"),
        ("eval", "run/results_x.json", '{"config": {}}', "has no 'results' at its top level"),
        ("eval", "run/samples_x.jsonl", "{}", "no */results_*.json or results_*.json in"),
        ("translate", "data.json", '{"instruction": "a"}\n{"instruction": ', "malformed JSON line"),
        ("translate", "data.json", "", "is empty"),
        ("translate", "data.json", "[1, 2]", "every record must be a JSON object"),
        ("finetune", "adapter_config.json", "{}", "no nativeval_run.json"),
        ("leaderboard", "index.html", "<html>", "no leaderboard.json"),
    ],
)
def test_outputs_that_are_missing_or_do_not_parse_are_named(tmp_path, kind, name, content, problem):
    from nativeval.harness_ext.study.kinds import KINDS

    (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
    (tmp_path / name).write_text(content)
    assert problem in KINDS[kind].output_problem(tmp_path)


def test_a_step_that_exits_0_with_broken_outputs_fails_and_is_rerun(tmp_path, fake_env):
    path = write_study(tmp_path)
    broken = tmp_path / "broken_eval.py"  # a save that failed: a truncated results file, exit 0
    broken.write_text(
        "import os, sys\nos.makedirs(os.path.join(sys.argv[1], 'run'), exist_ok=True)\n"
        "open(os.path.join(sys.argv[1], 'run', 'results_x.json'), 'w').write('{\"results\": {')\n"
    )
    study = yaml.safe_load(path.read_text())
    fake_commands = dict(study["commands"])
    study["commands"]["eval"] = ["{python}", str(broken), "{out}"]
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    code, errors, output = cli_study(str(path))
    assert code == 1 and len(errors) == 1 and errors[0].startswith("error: 2 step(s) did not finish"), errors
    assert "the command exited 0 but its outputs are not complete" in output and "malformed JSON" in output
    step_dir = tmp_path / "out/eval/toy/zh/native/lr1e-4-mono"
    assert not (step_dir / MARKER).exists()
    assert (tmp_path / "out/checkpoints/toy/zh/native/lr1e-4" / MARKER).is_file()  # finished work is kept
    study["commands"] = fake_commands
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    ran(fake_env)
    code, output = run_cli(str(path))
    assert code == 0, output
    assert "eval/toy/zh/native/lr1e-4-mono" in ran(fake_env) and (step_dir / MARKER).is_file()

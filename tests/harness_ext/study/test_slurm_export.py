"""The Slurm export, `--status`, `--output-dir` and the money estimate, without a cluster.

The tests that submit to a real (single-node) Slurm are in test_slurm_cluster.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.study.commands import CommandContext, command_for
from nativeval.harness_ext.study.costs import estimate_costs
from nativeval.harness_ext.study.kinds import KINDS
from nativeval.harness_ext.study.load import load_plan
from nativeval.harness_ext.study.runner import StudyRunner
from nativeval.harness_ext.study.slurm import export_slurm, study_status
from nativeval.harness_ext.testing.study_outputs import PROMISED_OUTPUTS

REPO = Path(__file__).resolve().parents[3]
DEMO = REPO / "configs" / "demo.yaml"

# A stand-in step: writes its output file, or fails when its output dir contains $FAKE_FAIL_ON.
FAKE_STEP = textwrap.dedent("""
    import json, os, sys
    out = sys.argv[1]
    if os.environ.get("FAKE_FAIL_ON") and os.environ["FAKE_FAIL_ON"] in out:
        sys.exit(3)
    kind = sys.argv[2]
    json.dump({"kind": kind}, open(os.path.join(out, "result.json"), "w"))
    for name, doc in PROMISED.get(kind, {}).items():  # what the kind promises (study/kinds.py)
        os.makedirs(os.path.dirname(os.path.join(out, name)), exist_ok=True)
        json.dump(doc, open(os.path.join(out, name), "w"))
""")
FAKE_STEP = f"PROMISED = {PROMISED_OUTPUTS!r}\n" + FAKE_STEP


def mini_study(tmp: Path, **changes) -> Path:
    """Two variants of a toy model (one translated with Google), one stand-in judge; fake commands."""
    data = tmp / "data"
    data.mkdir(exist_ok=True)
    for name in ("native_zh.json", "en_pool.json"):
        (data / name).write_text(json.dumps([{"instruction": f"q{i}", "output": f"a{i}"} for i in range(3)]))
    fake = tmp / "fake_step.py"
    fake.write_text(FAKE_STEP)
    study = {
        "study": "mini",
        "output_dir": "out",
        "languages": ["zh"],
        "base_models": {"toy": {"toy": {"seed": 0}}},
        "variants": {
            "native": {"file": "data/native_{lang}.json"},
            "google": {"translate": {"backend": "google", "source": "data/en_pool.json"}},
        },
        "finetune": {"runs": [{"variants": ["native", "google"], "lr": [1e-4]}]},
        "eval": {"tasks": ["translated_{lang}_xquad"], "limit": 2},
        "judges": [{"name": "stand-in", "serve": "stub"}],
        "commands": {
            kind: ["{python}", str(fake), "{out}", "{kind}"]
            for kind in ("toy_model", "translate", "finetune", "eval", "judge", "leaderboard")
        },
        **changes,
    }
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def run_cli(*args: str):
    result = CliRunner().invoke(cli.main, ["study", *args])
    return result.exit_code, result.output


def submit_lines(export: Path) -> dict[str, str]:
    """Each `jN=$(submit ...)` line of submit.sh, keyed by the step ids of its array."""
    text = (export / "submit.sh").read_text()
    arrays = {}
    for line in text.splitlines():
        match = re.match(r"j(\d+)=\$\(submit (\S+) ", line)
        if match:
            steps = re.findall(rf'"\${{j{match.group(1)}}}_\d+" (\S+) >>', text)
            arrays[" ".join(steps)] = line
    return arrays


# --- export ---------------------------------------------------------------------------------------------
def test_demo_export_waits_per_step_with_per_class_resources(tmp_path):
    plan = load_plan(DEMO, output_dir=tmp_path / "out")
    export = tmp_path / "slurm"
    export_slurm(plan, export, str(DEMO), {}, output_dir=str(tmp_path / "out"))
    steps = (export / "steps.txt").read_text().splitlines()
    assert len(steps) == len(plan.steps)
    assert all(f"--output-dir {tmp_path / 'out'}" in line and "--cache-per-step" in line for line in steps)
    numbers = {
        line.split("\t")[2]: line.split("\t")[0]
        for line in (export / "steps.tsv").read_text().splitlines()[1:]
    }
    assert [line.split("--only ")[1].split()[0] for line in steps] == list(numbers)
    arrays = submit_lines(export)
    finetunes = " ".join(s for s in plan.steps if s.startswith("finetune/"))
    assert finetunes in arrays, arrays  # one array: same class, same upstream step
    eval_native = arrays["eval/toy/zh/native/lr3e-3-mono"]
    # the native eval waits for the native fine-tuning task alone, not for the whole fine-tuning array
    deps = re.search(r'submit \d+ "([^"]*)"', eval_native).group(1).split(":")
    assert f"_{numbers['finetune/toy/zh/native/lr3e-3']}" in {d[d.index("_") :] for d in deps}, eval_native
    assert all(re.fullmatch(r"\$\{j\d+\}_\d+", d) for d in deps), (
        eval_native
    )  # array tasks, never whole arrays
    judge = arrays["judge/stand-in-judge/toy/zh/native/lr3e-3-mono"]
    assert "--partition=api" in judge and "--mem=2G" in judge and "--gres" not in eval_native
    assert "--partition" not in eval_native and "--mem=3G" in eval_native
    text = (export / "submit.sh").read_text()
    assert "--kill-on-invalid-dep=yes" in text and "afterok" in text
    for script in ("commands.sh", "submit.sh", "nativeval_step.sbatch"):
        assert subprocess.run(["bash", "-n", str(export / script)]).returncode == 0


def fake_aya(root: Path) -> Path:
    files = [f"aya_native/aya_native_data_processed.{lang}.json" for lang in ("en", "es", "ru", "zh", "all")]
    files += [
        "aya_google_translated/aya_google_translated_data_processed.all.json",
        "aya_cohere_translated/aya_cohere_translated_data_processed.all.json",
    ]
    for name in files:
        (root / name).parent.mkdir(parents=True, exist_ok=True)
        (root / name).write_text(
            json.dumps([{"instruction": "q", "input": "", "output": "a", "id": "0"}] * 3)
        )
    return root


def test_paper_export_sends_gpu_steps_with_gres_and_api_steps_to_the_api_partition(tmp_path):
    aya = fake_aya(tmp_path / "aya")
    study = REPO / "configs" / "paper_zh.yaml"
    variables = {"aya": str(aya), "results": str(tmp_path / "results")}
    plan = load_plan(study, variables)
    assert plan.config.output_dir == tmp_path / "results" / "paper"
    export_slurm(plan, tmp_path / "slurm", str(study), variables)
    arrays = submit_lines(tmp_path / "slurm")
    for steps, line in arrays.items():
        kinds = {s.split("/")[0] for s in steps.split()}
        if kinds & {"finetune", "eval"}:
            assert "--gres=gpu:1" in line and "--partition=gpu" in line, line
        elif kinds & {"translate", "rtt", "judge"}:
            assert "--partition=api" in line and "--gres" not in line, line
        else:
            assert "--partition" not in line and "--gres" not in line, line
    assert len(arrays) < len(plan.steps)  # steps sharing class and upstream share an array
    code, _ = run_cli(
        str(study),
        "--var",
        f"aya={aya}",
        "--var",
        f"results={tmp_path / 'r2'}",
        "--var",
        "gpu_partition=a100",
        "--export-slurm",
        str(tmp_path / "s2"),
    )
    assert code == 0 and "--partition=a100" in (tmp_path / "s2" / "submit.sh").read_text()


def test_gpu_steps_for_a_cluster_without_gpus_is_one_line_at_export(tmp_path):
    model = tmp_path / "model"
    model.mkdir()
    study = mini_study(tmp_path, base_models={"local": {"path": "./model"}}, slurm={"gpu": {"gpus": 0}})
    export = tmp_path / "slurm"
    export.mkdir()
    (export / "notes.txt").write_text("keep me")
    code, output = run_cli(str(study), "--export-slurm", str(export))
    assert code == 2 and output.count("\n") == 1, output
    assert "slurm.gpu" in output and "need a GPU" in output and "nativeval study" in output
    assert (
        sorted(p.name for p in export.iterdir()) == ["notes.txt"]
        and (export / "notes.txt").read_text() == "keep me"
    )
    # the toy model needs no GPU: the same cluster config exports fine
    assert (
        run_cli(str(mini_study(tmp_path, slurm={"gpu": {"gpus": 0}})), "--export-slurm", str(export))[0] == 0
    )


def test_submit_without_sbatch_names_slurm_and_the_local_alternative(tmp_path):
    export = tmp_path / "slurm"
    export_slurm(
        load_plan(DEMO, output_dir=tmp_path / "out"), export, str(DEMO), {}, output_dir=str(tmp_path / "out")
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    for tool in ("bash", "dirname"):
        os.symlink(
            subprocess.run(
                ["bash", "-c", f"command -v {tool}"], capture_output=True, text=True
            ).stdout.strip(),
            bin_dir / tool,
        )
    result = subprocess.run(
        [str(bin_dir / "bash"), str(export / "submit.sh")],
        capture_output=True,
        text=True,
        env={"PATH": str(bin_dir)},
    )
    assert result.returncode == 2 and result.stdout == ""
    assert result.stderr.count("\n") == 1 and "sbatch not found" in result.stderr and "Slurm" in result.stderr
    assert f"nativeval study {DEMO} --output-dir {tmp_path / 'out'}" in result.stderr
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize(
    ("slurm", "message"),
    [
        ({"tpu": {}}, "slurm.tpu: unknown key"),
        ({"gpu": {"time": "soon"}}, "slurm.gpu.time: expected a Slurm time limit"),
        ({"cpu": {"memory": "lots"}}, "slurm.cpu.memory: expected a Slurm memory size"),
        ({"api": {"gpus": -1}}, "slurm.api.gpus: expected a non-negative number"),
        ({"api": {"nodes": 2}}, "slurm.api.nodes: unknown key"),
    ],
)
def test_bad_slurm_sections_are_one_line_naming_the_key(tmp_path, slurm, message):
    code, output = run_cli(str(mini_study(tmp_path, slurm=slurm)), "--export-slurm", str(tmp_path / "slurm"))
    assert code == 2 and output.startswith("error: ") and output.count("\n") == 1 and message in output, (
        output
    )
    assert not (tmp_path / "slurm").exists()


# --- output directory -----------------------------------------------------------------------------------
def test_output_dir_follows_vars_and_the_option(tmp_path):
    study = mini_study(tmp_path, output_dir="${results}/mini", vars={"results": "res"})
    assert load_plan(study).config.output_dir == tmp_path / "res" / "mini"
    assert (
        load_plan(study, {"results": str(tmp_path / "elsewhere")}).config.output_dir
        == tmp_path / "elsewhere" / "mini"
    )
    plan = load_plan(study, output_dir=tmp_path / "chosen")
    assert all(s.out.is_relative_to(tmp_path / "chosen") for s in plan.steps.values())
    code, output = run_cli(str(study), "--output-dir", str(tmp_path / "chosen"))
    assert code == 0 and (tmp_path / "chosen" / "site" / ".nativeval_step.json").is_file(), output
    assert not (tmp_path / "res").exists()


# --- caches ---------------------------------------------------------------------------------------------
def test_cache_per_step_gives_each_api_step_its_own_cache_file(tmp_path):
    study = mini_study(
        tmp_path, commands={}, judges=[{"name": "a", "serve": "stub"}, {"name": "b", "serve": "stub"}]
    )
    plan = load_plan(study)

    def caches() -> list[str]:
        ctx = CommandContext(plan)
        argvs = [command_for(s, ctx) for s in plan.steps.values() if s.kind in ("translate", "judge")]
        return [argv[argv.index("--cache") + 1] for argv in argvs]

    shared = caches()
    assert len(shared) == 5 and len(set(shared)) == 2  # one per kind: translate.sqlite, judge.sqlite
    plan.cache_per_step = True
    sharded = caches()
    assert len(set(sharded)) == 5
    assert all(Path(c).parent.parent == plan.config.output_dir / "cache" / "steps" for c in sharded)


# --- status ---------------------------------------------------------------------------------------------
def test_status_says_done_failed_blocked_and_to_run(tmp_path, monkeypatch):
    study = mini_study(tmp_path)
    monkeypatch.setenv("FAKE_FAIL_ON", "google")
    plan = load_plan(study)
    with pytest.raises(Exception, match="did not finish"):
        StudyRunner(plan, echo=lambda line: None).run(only=None)
    status, lines = study_status(load_plan(study))
    assert status["toy_model/toy"] == "done" and status["finetune/toy/zh/native/lr1e-4"] == "done"
    assert status["translate/zh/google"] == "failed"
    assert status["finetune/toy/zh/google/lr1e-4"] == "blocked" and status["leaderboard"] == "blocked"
    assert lines[0].startswith("study mini: 9 steps: 4 done, 1 failed, 4 blocked")
    failed = next(line for line in lines if "translate/zh/google" in line)
    assert "log: " in failed and "translate__zh__google.log" in failed
    (tmp_path / "fresh").mkdir()
    code, output = run_cli(str(mini_study(tmp_path / "fresh")), "--status")
    assert code == 0 and "9 to run" in output.splitlines()[0], output


def test_status_reads_the_array_tasks_submit_recorded(tmp_path, monkeypatch):
    """With a job record and a stand-in squeue: running and queued come from Slurm, done from markers."""
    study = mini_study(tmp_path)
    plan = load_plan(study)
    StudyRunner(plan, echo=lambda line: None).run(only=["toy_model"])
    plan.config.output_dir.mkdir(exist_ok=True)
    (plan.config.output_dir / ".nativeval_slurm_jobs.tsv").write_text(
        "7_0\ttoy_model/toy\n7_1\tfinetune/toy/zh/native/lr1e-4\n8_3\ttranslate/zh/google\n"
        "9_2\teval/toy/zh/native/lr1e-4-mono\n"
    )
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    # an array cancelled before its task started has only the array's own record ("9", not "9_2")
    (bin_dir / "squeue").write_text(
        "#!/bin/sh\nprintf '7_1|RUNNING|None\\n8_3|PENDING|Priority\\n9|CANCELLED|Dependency\\n'\n"
    )
    (bin_dir / "squeue").chmod(0o755)
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    status, lines = study_status(load_plan(study))
    assert status["toy_model/toy"] == "done"
    assert status["finetune/toy/zh/native/lr1e-4"] == "running" and status["translate/zh/google"] == "queued"
    assert status["eval/toy/zh/native/lr1e-4-mono"] == "failed"
    assert any("job 7_1 RUNNING" in line for line in lines) and any(
        "job 9_2 CANCELLED" in line for line in lines
    )


# --- money ----------------------------------------------------------------------------------------------
def test_dry_run_prices_api_calls_from_the_price_tables(tmp_path, monkeypatch):
    aya = fake_aya(tmp_path / "aya")
    study = REPO / "configs" / "paper_zh.yaml"
    plan = load_plan(study, {"aya": str(aya), "results": str(tmp_path / "results")})
    todo = list(plan.steps.values())
    cost = estimate_costs(todo)
    assert cost.translation > 0 and cost.judging > 0 and not cost.unpriced
    # a planted price change in the one price table: the judges' models x10, the Cohere translator unpriced
    from nativeval.harness_ext.core.prices import TABLE, TABLE_ENV

    judge_models = {KINDS["judge"].judge_model(s)[0] for s in todo if s.kind == "judge"}
    table = yaml.safe_load(TABLE.read_text())
    table["per_million_tokens"] = {
        m: ({k: v * 10 for k, v in p.items()} if m in judge_models else p)
        for m, p in table["per_million_tokens"].items()
    }
    table["per_million_tokens"].pop("command-r")  # the Cohere translations lose their price
    (tmp_path / "prices.yaml").write_text(yaml.safe_dump(table))
    with monkeypatch.context() as patched:
        patched.setenv(TABLE_ENV, str(tmp_path / "prices.yaml"))
        changed = estimate_costs(todo)
    assert changed.judging == pytest.approx(10 * cost.judging)
    assert 0 < changed.translation < cost.translation
    assert sorted(changed.unpriced) == ["rtt/zh/rtt_cohere", "translate/zh/cohere"]
    code, output = run_cli(
        str(study), "--var", f"aya={aya}", "--var", f"results={tmp_path / 'results'}", "--dry-run"
    )
    assert code == 0
    money = output.strip().splitlines()[-1]
    assert (
        money.startswith(f"estimated API cost for the steps to run: ${cost.total:,.2f}")
        and "prices.yaml" in money
    )


def test_stand_in_judges_and_local_translation_cost_nothing(tmp_path):
    study = mini_study(
        tmp_path,
        variants={
            "native": {"file": "data/native_{lang}.json"},
            "google": {"translate": {"backend": "hf", "source": "data/en_pool.json"}},
        },
    )
    cost = estimate_costs(list(load_plan(study).steps.values()))
    assert cost.total == 0 and not cost.unpriced

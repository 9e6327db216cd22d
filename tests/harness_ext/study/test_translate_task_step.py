"""The study's `translate_tasks` steps: planned before the evaluations that run the new task, served by a
local stand-in translator that gets no real key, and the demo's step; a bad entry: one line naming the key."""

from __future__ import annotations

import json
import urllib.request
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.study.kinds import USER_TASKS_SUBDIR
from nativeval.harness_ext.study.load import load_plan
from nativeval.harness_ext.study.runner import StudyRunner
from nativeval.harness_ext.testing.study_outputs import PROMISED_OUTPUTS, write_promised_outputs

REPO = Path(__file__).resolve().parents[3]
RTT_XQUAD = {
    "task": "translated_zh_xquad",
    "round_trip": {"via": "en"},
    "backend": "google",
    "serve": "stub",
    "label": "STAND-IN translator",
}


def write_study(tmp: Path, translate_tasks: list) -> Path:
    data = tmp / "native_zh.json"
    data.write_text(json.dumps([{"instruction": "q", "output": "a", "id": "0"}]))
    study = {
        "study": "mini",
        "output_dir": "out",
        "languages": ["zh"],
        "base_models": {"toy": {"toy": {"seed": 0}}},
        "variants": {"native": {"file": str(data)}},
        "finetune": {"runs": [{"models": "all", "variants": ["native"], "lr": [1e-4]}]},
        "eval": {"tasks": ["translated_{lang}_xquad"], "limit": 2},
        "translate_tasks": translate_tasks,
    }
    path = tmp / "study.yaml"
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    return path


def test_the_translated_task_is_made_once_before_every_evaluation_that_runs_it(tmp_path):
    plan = load_plan(write_study(tmp_path, [RTT_XQUAD]))
    step = plan.steps["translate_task/rtt_zh_xquad"]
    evals = [s for s in plan.steps.values() if s.kind == "eval"]
    assert evals and all(s.params["tasks"] == ["translated_zh_xquad", "rtt_zh_xquad"] for s in evals)
    assert all(s.deps["user_tasks"] == [step.id] for s in evals)
    order = list(plan.steps)
    assert all(order.index(step.id) < order.index(s.id) for s in evals)
    assert step.out == plan.config.output_dir / USER_TASKS_SUBDIR / "rtt_zh_xquad"


def test_the_stand_in_translator_is_served_locally_and_gets_no_real_key(tmp_path, monkeypatch):
    monkeypatch.setenv("GOOGLE_TRANSLATE_API_KEY", "AIza-real-secret")
    plan = load_plan(write_study(tmp_path, [RTT_XQUAD]))
    seen = {}

    def executor(argv, env, log):
        if argv[2] == "translate-task":
            seen["argv"], seen["env"] = argv, env
            url = argv[argv.index("--base-url") + 1] + "/language/translate/v2"
            body = json.dumps({"q": ["hello"], "target": "zh-CN"}).encode()
            request = urllib.request.Request(url, body, {"Content-Type": "application/json"})
            seen["reply"] = json.load(urllib.request.urlopen(request, timeout=10))
            out = Path(argv[argv.index("--out") + 1]) / "rtt_zh_xquad"
        elif argv[2] == "eval":
            seen["eval_env"] = env
            out = Path(argv[argv.index("--output-path") + 1])
        else:
            out = Path(argv[argv.index("--out") + 1])
        for kind in PROMISED_OUTPUTS:  # every kind's promised outputs: harmless extras for the others
            write_promised_outputs(kind, out)
        return 0

    outcome = StudyRunner(plan, executor, echo=lambda line: None).run()
    assert set(outcome.values()) == {"done"}
    argv = seen["argv"]
    assert argv[3:8] == ["translated_zh_xquad", "--round-trip", "--via", "en", "--backend"]
    assert seen["env"]["GOOGLE_TRANSLATE_API_KEY"] != "AIza-real-secret"
    assert seen["reply"]["data"]["translations"][0]["translatedText"] != "hello"  # the stand-in answered
    user_dir = str(plan.config.output_dir / USER_TASKS_SUBDIR)
    assert seen["env"]["NATIVEVAL_USER_TASKS"] == seen["eval_env"]["NATIVEVAL_USER_TASKS"] == user_dir


@pytest.mark.parametrize(
    ("entry", "message"),
    [
        ({"task": "translated_zh_xquadd", "round_trip": {}}, "translate_tasks[0].task: unknown task"),
        ({"task": "translated_zh_xquad"}, "translate_tasks[0]: give exactly one of `round_trip"),
        (
            {"task": "translated_zh_xquad", "to": "es"},
            "mt_es_xquad is in es, which is not among the study's languages",
        ),
        (
            {**RTT_XQUAD, "backend": "hf"},
            "translate_tasks[0].serve: the stand-in translator speaks the google",
        ),
        ({**RTT_XQUAD, "colour": 1}, "translate_tasks[0].colour: unknown key"),
    ],
)
def test_bad_translate_task_entries_fail_with_one_line_naming_the_key(tmp_path, entry, message):
    result = CliRunner().invoke(cli.main, ["study", str(write_study(tmp_path, [entry])), "--dry-run"])
    assert result.exit_code == 2
    assert (
        result.output.startswith("error: ") and result.output.count("\n") == 1 and message in result.output
    ), result.output


def test_demo_round_trips_xquad_with_the_labelled_stand_in_translator():
    plan = load_plan(REPO / "configs" / "demo.yaml")
    (step,) = [s for s in plan.steps.values() if s.kind == "translate_task"]
    assert step.params["task"] == "translated_zh_xquad" and step.params["mode"] == "rtt"
    assert step.params["serve"] == "stub" and "STAND-IN" in step.params["label"]
    assert all("rtt_zh_xquad" in s.params["tasks"] for s in plan.steps.values() if s.kind == "eval")

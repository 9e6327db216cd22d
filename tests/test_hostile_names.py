"""Names from data never become paths unchecked: hostile names fed to every command that writes.

Each case snapshots the whole folder around the command (every file and folder, with size and mtime) and
asserts that nothing appeared, changed or disappeared outside the folder the command may write to. The
study refuses a hostile name with one line before any work; the other commands turn names into safe
segments (nativeval.harness_ext.core.paths) and stay inside their --out.
"""

from __future__ import annotations

import dataclasses
import json
import os
import textwrap
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nativeval import cli
from nativeval.finetune.data import EMBEDDED_DATA_DIR
from nativeval.harness_ext.core.paths import is_safe_segment
from nativeval.harness_ext.study.config import BaseModel, Judge, RunGroup
from nativeval.harness_ext.study.hashing import HashCache
from nativeval.harness_ext.study.load import load_plan
from nativeval.harness_ext.study.plan import build_plan, compute_keys
from nativeval.harness_ext.study.runner import StudyRunner
from nativeval.harness_ext.testing.judge_runs import judge_yaml, rating_by_length, write_run
from nativeval.harness_ext.testing.openai_stub import OpenAIStub
from nativeval.harness_ext.testing.study_outputs import PROMISED_OUTPUTS, write_stand_in_outputs

HOSTILE = [
    "../../victim",
    "../victim",
    "/tmp/nativeval-hostile-victim",
    "a/b",
    "a\\b",
    ".hidden",
    "..",
    ".",
    "-rf",
    "x" * 300,
    "nul\0byte",
    "con",
    "new\nline",
]
QA = [("¿Qué es el sol?", "Una estrella."), ("¿Por qué el cielo es azul?", "Por la dispersión de Rayleigh.")]


# --- the world around each command -----------------------------------------------------------------------
def snapshot(root: Path) -> dict[str, tuple]:
    """Every entry under ``root`` (symlinks not followed): files by mode, size and mtime; folders by mode."""
    entries = {}
    for folder, dirs, files in os.walk(root, followlinks=False):
        for name in dirs + files:
            path = Path(folder, name)
            st = path.lstat()
            is_file = not path.is_dir() or path.is_symlink()
            entries[str(path.relative_to(root))] = (
                (st.st_mode, st.st_size, st.st_mtime_ns) if is_file else (st.st_mode,)
            )
    return entries


def changed_outside(before: dict, after: dict, *allowed: str) -> list[str]:
    """Entries that appeared, changed or disappeared, other than ``allowed`` folders and what lies in them."""
    changed = {k for k in before.keys() | after.keys() if before.get(k) != after.get(k)}
    return sorted(k for k in changed if not any(k == a or k.startswith(a + "/") for a in allowed))


@pytest.fixture()
def world(tmp_path):
    """A folder with victims at every level a `..` could reach, and a work folder for the command."""
    for victim in ("victim", "work/victim", "work/out/victim"):
        (tmp_path / victim).mkdir(parents=True)
        (tmp_path / victim / "keep.txt").write_text("precious")
    return tmp_path


def one_error_line(result) -> str:
    """The command failed with exactly one line on stderr, without a traceback; that line."""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: "), result.output
    assert "Traceback" not in result.output
    return lines[0]


def invoke(*args: str):
    return CliRunner().invoke(cli.main, list(args))


# --- the study ---------------------------------------------------------------------------------------------
FAKE_STEP = textwrap.dedent("""
    import json, os, sys
    kind, out = sys.argv[1], sys.argv[2]
    for name, doc in PROMISED[kind].items():
        path = os.path.join(out, name)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        json.dump(doc, open(path, "w"))
""")


def study_file(
    work: Path,
    model: str = "toy",
    variant: str = "native",
    judge: str = "stand-in",
    translated: str = "google",
    round_trip: str = "rtt_google",
) -> Path:
    """A study over a toy model, a file variant, a translated one (with a sample step) and a round trip; each
    step a stand-in that writes its promised outputs."""
    (work / "data").mkdir(exist_ok=True)
    (work / "data" / "native_zh.json").write_text(json.dumps([{"instruction": "q", "output": "a"}]))
    fake = work / "fake_step.py"
    fake.write_text(f"PROMISED = {PROMISED_OUTPUTS!r}\n" + FAKE_STEP)
    study = {
        "study": "hostile",
        "output_dir": "out",
        "languages": ["zh"],
        "base_models": {model: {"toy": {"seed": 0}}},
        "variants": {
            variant: {"file": "data/native_{lang}.json"},
            translated: {"translate": {"backend": "google", "source": "data/native_zh.json", "sample": 1}},
            round_trip: {"round_trip": {"backend": "google", "source": "data/native_{lang}.json"}},
        },
        "eval": {"tasks": ["translated_{lang}_xquad"], "limit": 1},
        "judges": [{"name": judge, "serve": "stub"}],
        "commands": {kind: ["{python}", str(fake), "{kind}", "{out}"] for kind in PROMISED_OUTPUTS},
    }
    path = work / "study.yaml"
    path.write_text(yaml.safe_dump(study, allow_unicode=True, sort_keys=False))
    return path


@pytest.mark.parametrize("role", ["model", "variant", "translated", "round_trip", "judge"])
@pytest.mark.parametrize("name", HOSTILE)
def test_study_refuses_a_hostile_name_in_one_line_before_any_work(world, role, name):
    path = study_file(world / "work", **{role: name})
    before = snapshot(world)
    for attempt in range(2):  # the second run once deleted victim/ and put a toy model there
        result = invoke("study", str(path))
        assert result.exit_code == 2, (attempt, result.output)
        assert "cannot name a folder" in one_error_line(result)
    assert changed_outside(before, snapshot(world)) == []  # not even out/ was made


@pytest.mark.parametrize("name", ["модель", "模型", "Qwen1.5-7B", "a+b_c.d"])
def test_study_runs_with_every_plain_name_and_writes_only_inside_output_dir(world, name):
    path = study_file(
        world / "work",
        model=name,
        variant=f"{name}-data",
        judge=f"{name}-judge",
        translated=f"{name}-mt",
        round_trip=f"{name}-rtt",
    )
    before = snapshot(world)
    result = invoke("study", str(path))
    assert result.exit_code == 0, result.output
    assert (world / "work/out/checkpoints" / name / "zh" / f"{name}-data").is_dir()
    assert (world / "work/out/data/zh" / f"{name}-mt" / "data.json").is_file()
    assert (world / "work/out/data/zh" / f"{name}-rtt" / "data.json").is_file()
    assert changed_outside(before, snapshot(world), "work/out") == []


def test_study_plans_only_safe_folders_even_for_names_that_skipped_the_checks(world):
    """Defense in depth: a config built in code with hostile names still plans folders inside output_dir."""
    config = load_plan(study_file(world / "work")).config
    hostile = {name: BaseModel(name, "", toy_seed=0) for name in HOSTILE}
    config = dataclasses.replace(
        config,
        base_models=hostile,
        variants={
            "../../victim": dataclasses.replace(config.variants["native"], name="../../victim"),
            "../mt": dataclasses.replace(config.variants["google"], name="../mt"),
            "/rtt": dataclasses.replace(config.variants["rtt_google"], name="/rtt"),
        },
        runs=[
            RunGroup(
                models=tuple(hostile),
                variants=("../../victim", "../mt", "/rtt"),
                lrs=(-1.0,),
                tunings=("mono",),
            )
        ],
        judges=[Judge("../../victim", None, serve="stub")],
        commands={},
    )
    plan = build_plan(config)
    out = config.output_dir.resolve()
    for step in plan.steps.values():
        parts = step.out.relative_to(config.output_dir).parts
        assert all(is_safe_segment(p) for p in parts), step.out
        assert out in step.out.resolve().parents
    assert len({s.out for s in plan.steps.values()}) == len(plan.steps)

    def executor(argv, env, log):
        write_stand_in_outputs(argv)
        return 0

    before = snapshot(world)
    for _ in range(2):
        plan = build_plan(config)
        compute_keys(plan, HashCache(out / ".hashes.json"))
        outcome = StudyRunner(plan, executor, echo=lambda line: None).run()
        assert set(outcome.values()) <= {"done"}
    assert changed_outside(before, snapshot(world), "work/out") == []


def test_study_refuses_a_step_folder_that_a_symlink_leads_outside(world):
    path = study_file(world / "work")
    (world / "work/out").mkdir(exist_ok=True)
    (world / "work/out/checkpoints").symlink_to(world / "victim", target_is_directory=True)
    before = snapshot(world)
    result = invoke("study", str(path))
    assert result.exit_code == 2, result.output
    assert "lies outside" in one_error_line(result)
    assert changed_outside(before, snapshot(world)) == []


# --- judge --out ---
@pytest.fixture()
def openai_key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")


def test_judge_out_gives_runs_with_the_same_folder_name_their_own_folders(world, openai_key):
    results = world / "work/results"
    write_run(results / "a", "model", {"native_es_open_qa": QA})
    write_run(results / "b", "model", {"native_es_open_qa": QA[:1]})
    config = judge_yaml(world / "work/judge.yaml", name="../../victim")
    before = snapshot(world)
    with OpenAIStub(rating_by_length) as stub:
        result = invoke(
            "judge",
            str(results / "a"),
            str(results / "b"),
            "--judge",
            str(config),
            "--base-url",
            stub.base_url,
            "--cache",
            str(world / "work/judged/cache.sqlite"),
            "--out",
            str(world / "work/judged"),
        )
    assert result.exit_code == 0, result.output
    folders = sorted(p for p in (world / "work/judged").iterdir() if p.is_dir())
    assert len(folders) == 2 and all(p.name.startswith("model-") for p in folders)
    counts = sorted(
        len(json.loads(next(f.glob("results_judge_*.json")).read_text())["results"]) for f in folders
    )
    n_items = sorted(sum(1 for line in next(f.glob("judgments_*.jsonl")).open()) for f in folders)
    assert counts == [1, 1] and n_items == [1, 2]
    assert all(is_safe_segment(p.name) for f in folders for p in f.iterdir())
    assert changed_outside(before, snapshot(world), "work/judged") == []


# --- translate-task and finetune ---
@pytest.mark.parametrize("target", ["../../victim", "/tmp/x", "zh/../../victim"])
def test_translate_task_refuses_a_hostile_target_language_before_any_work(world, target):
    before = snapshot(world)
    result = invoke(
        "translate-task",
        "native_zh_cmmlu",
        "--to",
        target,
        "--backend",
        "google",
        "--out",
        str(world / "work/tasks"),
    )
    assert result.exit_code == 2, result.output
    one_error_line(result)
    assert changed_outside(before, snapshot(world)) == []


def test_finetune_keeps_a_hostile_variant_and_language_out_of_paths(world, tiny_model):
    out = world / "work/out/adapter"
    before = snapshot(world)
    result = invoke(
        "finetune",
        "--base",
        str(tiny_model),
        "--data",
        str(EMBEDDED_DATA_DIR / "aya_native_zh_32.json"),
        "--lang",
        "zh",
        "--variant",
        "../../victim",
        "--out",
        str(out),
        "--epochs",
        "1",
        "--batch-size",
        "8",
        "--max-length",
        "64",
    )
    assert result.exit_code == 0, result.output
    assert json.loads((out / "nativeval_run.json").read_text())["variant"] == "../../victim"
    assert changed_outside(before, snapshot(world), "work/out/adapter") == []


def test_study_refuses_an_input_that_lies_in_a_step_folder_a_rerun_empties(world):
    work = world / "work"
    path = study_file(work)
    study = yaml.safe_load(path.read_text())
    (work / "data/zh/google").mkdir(parents=True)
    (work / "data/zh/google/native_zh.json").write_text(json.dumps([{"instruction": "q", "output": "a"}]))
    study["output_dir"] = "."
    study["variants"] = {
        "native": {"file": "data/zh/google/native_{lang}.json"},
        "google": {"translate": {"backend": "google", "source": "data/native_zh.json"}},
    }
    study["finetune"] = {"runs": [{"variants": ["native", "google"]}]}
    (work / "data/native_zh.json").write_text(json.dumps([{"instruction": "q", "output": "a"}]))
    path.write_text(yaml.safe_dump(study, sort_keys=False))
    before = snapshot(world)
    result = invoke("study", str(path))
    assert result.exit_code == 2, result.output
    assert "lies in the folder of step translate/zh/google, which a rerun empties" in one_error_line(result)
    assert changed_outside(before, snapshot(world)) == []


def test_a_user_task_reads_its_rows_only_from_its_own_data_folder(world):
    from nativeval.harness_ext.catalogue.user_tasks import load_mirror_docs
    from nativeval.harness_ext.core.errors import InputError

    data = world / "work/task/data"
    (world / "victim/default").mkdir()
    (world / "victim/default/test.jsonl").write_text('{"question": "not this task\'s row"}\n')
    with pytest.raises(InputError, match="user task data file .* lies outside"):
        load_mirror_docs(data, {"dataset": {"id": "../../../victim", "splits": ["test"]}})

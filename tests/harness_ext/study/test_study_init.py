"""`nativeval study init --lang CODE`: a study file for any Aya language, from Aya rows in the Hub schema,
that `nativeval study FILE --dry-run` plans; bad input is one line and writes nothing."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

# Rows in the Hub schema of CohereForAI/aya_dataset (train split; fields inputs, targets, language,
# language_code, annotation_type, user_id - as the dataset card's dataset_info lists them).
KOREAN = [
    ("서울은 어디에 있나요?", "서울은 한반도 중부에 있습니다."),
    ("김치는 무엇인가요?", "김치는 발효 채소 음식입니다."),
    ("한글은 누가 만들었나요?", "세종대왕이 만들었습니다."),
]
ENGLISH = [(f"English question {i}?", f"English answer {i}.") for i in range(6)]


def _row(inputs: str, targets: str, language: str, code: str, n: int) -> dict:
    return {
        "inputs": inputs,
        "targets": targets,
        "language": language,
        "language_code": code,
        "annotation_type": "original-annotations",
        "user_id": f"user{n}",
    }


@pytest.fixture
def aya_mirror(tmp_path, monkeypatch) -> Path:
    rows = [_row(q, a, "Korean", "kor", n) for n, (q, a) in enumerate(KOREAN)]
    rows += [_row(q, a, "English", "eng", n) for n, (q, a) in enumerate(ENGLISH)]
    rows += [
        _row("", "empty prompt", "Korean", "kor", 99),
        _row("你好吗？", "我很好。", "Simplified Chinese", "zho", 7),
    ]
    path = tmp_path / "mirror" / "CohereForAI" / "aya_dataset" / "default" / "train.jsonl"
    path.parent.mkdir(parents=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path / "mirror"))
    return tmp_path / "mirror"


def _cli(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess:
    repo = Path(__file__).resolve().parents[3]
    env = {**os.environ, "PYTHONPATH": str(repo)}
    return subprocess.run(
        [sys.executable, str(repo / "cli.py"), *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=300,
    )


def test_init_writes_a_study_that_dry_run_plans(aya_mirror, tmp_path):
    out = tmp_path / "studies" / "ko.yaml"
    out.parent.mkdir()
    run = _cli("study", "init", "--lang", "ko", "--models", "tiny=Qwen/Qwen1.5-0.5B", "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "3 native rows" in run.stdout and "native_ko, translated_ko" in run.stdout

    study = yaml.safe_load(out.read_text(encoding="utf-8"))
    assert study["languages"] == ["ko"] and study["base_models"] == {"tiny": "Qwen/Qwen1.5-0.5B"}
    assert study["eval"]["tasks"] == ["native_ko", "translated_ko"]
    assert study["variants"]["google"]["translate"]["sample"] == 3  # English sampled to the native size
    assert study["variants"]["cohere"]["translate"]["backend"] == "llm"
    assert study["variants"]["rtt_google"]["round_trip"]["source"] == "native"
    native = json.loads((out.parent / "ko_data" / "aya_native.ko.json").read_text(encoding="utf-8"))
    assert [r["instruction"] for r in native] == [q for q, _ in KOREAN]  # no empty or Chinese row
    assert set(native[0]) == {"instruction", "input", "output", "id"}
    english = json.loads((out.parent / "ko_data" / "aya_english.json").read_text(encoding="utf-8"))
    assert len(english) == len(ENGLISH)

    plan = _cli("study", str(out), "--dry-run")
    assert plan.returncode == 0, plan.stderr
    for step in ("sample/ko/google", "translate/ko/google", "translate/ko/cohere", "rtt/ko/rtt_google"):
        assert step in plan.stdout, step
    assert "eval/tiny/ko/native/lr1e-4-mono" in plan.stdout and "finetune/tiny/ko/rtt_cohere" in plan.stdout


def test_the_paper_configs_stay_as_they_are(repo_root):
    from nativeval.harness_ext.study.init import STUDY_MODELS

    paper = yaml.safe_load((repo_root / "configs" / "paper_zh.yaml").read_text(encoding="utf-8"))
    assert paper["base_models"] == STUDY_MODELS  # init's default models are the study's


@pytest.mark.parametrize(
    ("args", "out_name", "message"),
    [
        (["--lang", "kr"], "study.yaml", "unknown language 'kr' (nearest known: ky, ko"),
        (
            ["--lang", "ko", "--backends", "deepl"],
            "study.yaml",
            "--backends 'deepl': choose among google, cohere",
        ),
        (["--lang", "ja"], "study.yaml", "no train rows with language_code jpn"),  # no Japanese Aya row here
        (["--lang", "ko"], "study.txt", "give a .yaml file name"),
    ],
)
def test_bad_input_is_one_line_and_writes_nothing(aya_mirror, tmp_path, args, out_name, message):
    folder = tmp_path / "out"
    folder.mkdir()
    run = _cli("study", "init", *args, "--out", str(folder / out_name))
    assert run.returncode != 0 and run.stdout == ""
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], run.stderr
    assert list(folder.iterdir()) == []


def test_an_existing_study_file_is_kept_without_force(aya_mirror, tmp_path):
    out = tmp_path / "ko.yaml"
    out.write_text("mine\n", encoding="utf-8")
    run = _cli("study", "init", "--lang", "ko", "--out", str(out))
    assert run.returncode != 0 and "--force" in run.stderr and out.read_text(encoding="utf-8") == "mine\n"
    assert _cli("study", "init", "--lang", "ko", "--out", str(out), "--force").returncode == 0
    assert yaml.safe_load(out.read_text(encoding="utf-8"))["study"] == "aya_ko"


def test_without_a_mirror_offline_the_aya_dataset_is_one_line(tmp_path, monkeypatch):
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    run = _cli("study", "init", "--lang", "ko", "--out", str(tmp_path / "ko.yaml"))
    lines = run.stderr.strip().splitlines()
    assert run.returncode != 0 and len(lines) == 1 and "CohereForAI/aya_dataset" in lines[0]
    assert not (tmp_path / "ko.yaml").exists()

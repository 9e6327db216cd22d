"""`judge` keeps the label of the run it judges (`eval --label`), so a leaderboard joins ratings to that run's
row."""

from __future__ import annotations

import json

from click.testing import CliRunner

from nativeval.cli import main
from nativeval.harness_ext.testing.judge_runs import judge_yaml, rating_by_length, write_run
from nativeval.harness_ext.testing.openai_stub import OpenAIStub

QA = [("¿Qué es la lluvia?", "Agua que cae de las nubes."), ("¿Capital de Chile?", "Santiago.")]


def judged(tmp_path, monkeypatch, label: str | None) -> tuple[dict, list[dict]]:
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test")
    run = write_run(tmp_path / "out", "qwen", {"native_es_open_qa": QA})
    (results_path,) = run.glob("results_*.json")
    if label is not None:
        results = json.loads(results_path.read_text(encoding="utf-8"))
        results_path.write_text(json.dumps({**results, "nativeval": {"label": label}}), encoding="utf-8")
    with OpenAIStub(rating_by_length) as stub:
        result = CliRunner().invoke(
            main,
            [
                "judge",
                str(run),
                "--judge",
                str(judge_yaml(tmp_path / "j.yaml")),
                "--base-url",
                stub.base_url,
                "--cache",
                str(tmp_path / "c.sqlite"),
            ],
        )
    assert result.exit_code == 0, result.output
    (document,) = run.glob("results_judge_test-judge_*.json")
    (judgments,) = run.glob("judgments_native_es_open_qa_test-judge_*.jsonl")
    return (
        json.loads(document.read_text(encoding="utf-8")),
        [json.loads(line) for line in judgments.read_text(encoding="utf-8").splitlines()],
    )


def test_the_runs_label_is_kept_in_results_and_judgments(tmp_path, monkeypatch):
    document, rows = judged(tmp_path, monkeypatch, "qwen-native-zh")
    assert document["nativeval"] == {"label": "qwen-native-zh"}
    assert len(rows) == len(QA) and all(row["nativeval"] == {"label": "qwen-native-zh"} for row in rows)


def test_an_unlabelled_run_gets_no_label(tmp_path, monkeypatch):
    document, rows = judged(tmp_path, monkeypatch, None)
    assert "nativeval" not in document and all("nativeval" not in row for row in rows)

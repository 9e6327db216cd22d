"""`nativeval judge --repeats K`: K real calls per item, each cached apart, rating = their mean."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from nativeval.cli import main
from nativeval.harness_ext.testing.judge_runs import judge_yaml, write_run
from nativeval.harness_ext.testing.judge_standins import noisy_judge
from nativeval.harness_ext.testing.openai_stub import OpenAIStub

QA = [(f"Pregunta {i}", f"Respuesta número {i} sobre un tema cualquiera.") for i in range(4)]


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-repeats")


def judge_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["judge", *args])
    return result.exit_code, result.output


def test_repeats_extend_an_earlier_single_run_and_average(tmp_path):
    run = write_run(tmp_path / "out", "model-a", {"native_es_open_qa": QA})
    config = judge_yaml(tmp_path / "judge.yaml", temperature=1.0)
    args = [str(run), "--judge", str(config), "--cache", str(tmp_path / "c")]
    with OpenAIStub(noisy_judge(1)) as stub:
        code, output = judge_cli(*args, "--base-url", stub.base_url)
        assert code == 0 and stub.request_count == len(QA)
        code, output = judge_cli(*args, "--base-url", stub.base_url, "--repeats", "3")
        assert code == 0, output
        assert stub.request_count == 3 * len(QA)  # repeat 0 is the earlier call, from the cache
        code, output = judge_cli(*args, "--base-url", stub.base_url, "--repeats", "3")
        assert code == 0 and stub.request_count == 3 * len(QA)
    assert "0 request(s) sent, 12 verdict(s) from the cache" in output
    (path,) = run.glob("judgments_native_es_open_qa_test-judge_*.jsonl")
    rows = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines()]
    assert all(len(r["ratings"]) == 3 and r["rating"] == pytest.approx(sum(r["ratings"]) / 3) for r in rows)
    (results,) = run.glob("results_judge_test-judge_*.json")
    doc = json.loads(results.read_text(encoding="utf-8"))
    assert doc["judge"]["repeats"] == 3
    assert doc["results"]["native_es_open_qa"]["rating,test-judge"] == pytest.approx(
        sum(r["rating"] for r in rows) / len(rows)
    )


def test_temperature_zero_repeats_get_a_note(tmp_path):
    run = write_run(tmp_path / "out", "model-a", {"native_es_open_qa": QA[:1]})
    config = judge_yaml(tmp_path / "judge.yaml")
    code, output = judge_cli(
        str(run), "--judge", str(config), "--cache", str(tmp_path / "c"), "--repeats", "2", "--dry-run"
    )
    assert code == 0 and "runs at temperature 0" in output and "2 call(s) to make" in output


@pytest.mark.parametrize(
    "extra, message",
    [
        (["--repeats", "0"], "Invalid value for '--repeats'"),
        (["--repeats", "2", "--pairwise", "A", "A"], "--repeats applies to single-answer grading"),
    ],
)
def test_bad_repeats_are_one_line_errors(tmp_path, extra, message):
    run = write_run(tmp_path / "out", "model-a", {"native_es_open_qa": QA[:1]})
    extra = [str(run) if a == "A" else a for a in extra]
    code, output = judge_cli(
        *([] if "--pairwise" in extra else [str(run)]), *extra, "--cache", str(tmp_path / "c"), "--dry-run"
    )
    assert code == 2 and message in output
    assert not list(run.glob("results_judge_*"))

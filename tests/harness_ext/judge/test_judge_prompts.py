"""Judge prompts as the study wrote them: the paper's Fig. 7 (single_v2, the default), MT-Bench's template
kept selectable (mtbench_single_v1, formerly single_v1), and verdicts cached per prompt version."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from nativeval.cli import main
from nativeval.harness_ext.core.cache import cache_key
from nativeval.harness_ext.judge.calls import parse_verdict, single_call, single_key
from nativeval.harness_ext.judge.config import PROMPTS_DIR, load_judge, load_prompt
from nativeval.harness_ext.testing.judge_runs import judge_yaml, judged_answer, rating_by_length, write_run
from nativeval.harness_ext.testing.openai_stub import OpenAIStub, deterministic_judge

# arXiv 2406.12822, Appendix A.2, Figure 7, verbatim from the camera-ready text (the study protocol notes,
# paper_protocol.md §1; the extraction put the figure on one line).
FIGURE_7 = (
    "Please act as an impartial judge and evaluate the quality of a response to a user instruction displayed "
    "below. Your evaluation should consider factors such as helpfulness, relevance, accuracy, depth, "
    "creativity, and level of detail. Begin your evaluation with a brief explanation. After that, please "
    "rate the response on a scale of 1 to 5 by strictly following this format: '[[rating]]'. The rating "
    "must be enclosed by two square brackets, for example: 'Rating: [[2]]'. [User Instruction] "
    "${instruction} [Response] ${response}"
)
QA = [
    (
        "¿Qué es la fotosíntesis?",
        "La fotosíntesis es el proceso por el que las plantas convierten la luz en energía.",
    ),
    ("¿Cuál es la capital de Perú?", "Lima."),
]


@pytest.fixture(autouse=True)
def _key(monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "sk-test-prompts")


def judge_cli(*args: str) -> tuple[int, str]:
    result = CliRunner().invoke(main, ["judge", *args])
    return result.exit_code, result.output


def user_message(prompt_version: str, instruction: str, response: str) -> list[dict[str, str]]:
    judge = load_judge("gpt-4-turbo")
    return single_call(judge, load_prompt(prompt_version), instruction, response).messages


def test_the_default_prompt_is_figure_7_of_the_paper_word_for_word():
    instruction, response = (
        "Name a prime number. {response}",
        "Seven ${instruction} {question} {answer} is one.",
    )
    messages = user_message(load_judge("gpt-4-turbo").prompt, instruction, response)
    assert [m["role"] for m in messages] == ["user"]  # the figure has no system message
    text = messages[0]["content"]
    paper = FIGURE_7.replace("${instruction}", instruction).replace("${response}", response)
    assert text.replace("\n", " ") == paper  # the paper's words, nothing added, values never rescanned
    intro = FIGURE_7.split(" [User Instruction]")[0]
    assert text == f"{intro}\n[User Instruction]\n{instruction}\n[Response]\n{response}"  # the figure's lines


def test_both_study_judges_use_the_same_wording():
    versions = {load_judge(name).prompt for name in ("gpt-4-turbo", "command-r-plus", "vllm-local")}
    assert versions == {"single_v2"} and load_prompt("single_v2").version == "single_v2"


def test_mtbench_template_stays_selectable_and_its_old_name_loads_it():
    mtbench = load_prompt("mtbench_single_v1")
    assert mtbench.version == "mtbench_single_v1" and "[The Start of Assistant's Answer]" in mtbench.user
    old = load_prompt("single_v1")
    assert (old.version, old.sha256, old.cache_id) == (mtbench.version, mtbench.sha256, "single_v1")
    assert not (PROMPTS_DIR / "single_v1.yaml").exists()
    text = user_message("mtbench_single_v1", "Q?", "A.")[-1]["content"]
    assert "[Question]\nQ?\n\n[The Start of Assistant's Answer]\nA.\n[The End of Assistant's Answer]" in text
    # verdicts cached under the old name (same text) stay valid: the key is the one single_v1 had
    judge = load_judge("gpt-4-turbo")
    assert single_key(judge, mtbench, "Q?", "A.") == cache_key(
        "single", judge.model, "single_v1", mtbench.sha256, "Q?", "A."
    )
    assert single_key(judge, load_prompt("single_v2"), "Q?", "A.") != single_key(judge, mtbench, "Q?", "A.")


def test_an_unknown_prompt_is_one_line_listing_the_known_ones(tmp_path):
    run = write_run(tmp_path / "out", "model-a", {"native_es_open_qa": QA})
    code, output = judge_cli(
        str(run), "--judge", str(judge_yaml(tmp_path / "j.yaml")), "--prompt", "single_v9"
    )
    assert code == 2 and output.count("\n") == 1
    assert (
        "unknown judge prompt 'single_v9'" in output
        and "mtbench_single_v1" in output
        and "single_v2" in output
    )


def test_the_judge_quoting_the_examples_verdict_does_not_set_the_rating():
    call = single_call(load_judge("gpt-4-turbo"), load_prompt("single_v2"), "Q?", "Some answer.")
    assert (
        parse_verdict(call, "Clear and correct. Rating: [[4]] (the format asked for was 'Rating: [[2]]')")
        == 4
    )


def read_results(folder: Path, judge: str = "test-judge") -> tuple[dict, list[dict]]:
    (results,) = folder.glob(f"results_judge_{judge}_*.json")
    (judgments,) = folder.glob(f"judgments_*_{judge}_*.jsonl")
    rows = [json.loads(line) for line in judgments.read_text(encoding="utf-8").splitlines()]
    return json.loads(results.read_text(encoding="utf-8")), rows


def test_verdicts_are_cached_per_prompt_version_and_outputs_name_it(tmp_path):
    run = write_run(tmp_path / "out", "model-a", {"native_es_open_qa": QA})
    config = judge_yaml(tmp_path / "judge.yaml")
    args = [str(run), "--judge", str(config), "--cache", str(tmp_path / "c.sqlite")]
    seen: list[str] = []

    def judge(request):
        seen.append(request["messages"][-1]["content"])
        return rating_by_length(request)

    with OpenAIStub(judge) as stub:
        code, output = judge_cli(
            *args, "--base-url", stub.base_url, "--prompt", "single_v1"
        )  # an old config's name
        assert code == 0, output
        assert stub.request_count == len(QA) and all("[The Start of Assistant's Answer]" in s for s in seen)
        doc, rows = read_results(run)
        assert doc["judge"]["prompt_version"] == "mtbench_single_v1"
        assert {r["prompt_version"] for r in rows} == {"mtbench_single_v1"}

        code, output = judge_cli(*args, "--base-url", stub.base_url)  # the new default asks again
        assert code == 0, output
        assert stub.request_count == 2 * len(QA) and "0 verdict(s) from the cache" in output
        assert all(
            s.startswith("Please act as an impartial judge and evaluate the quality of a response to a user")
            for s in seen[len(QA) :]
        )
        doc, rows = read_results(run)
        assert doc["judge"]["prompt_version"] == "single_v2" and {r["prompt_version"] for r in rows} == {
            "single_v2"
        }
        assert [r["rating"] for r in rows] == [min(5, 1 + len(a) // 20) for _, a in QA]

        code, output = judge_cli(*args, "--base-url", stub.base_url, "--prompt", "mtbench_single_v1")
        assert code == 0 and stub.request_count == 2 * len(QA)  # MT-Bench's verdicts are still in the cache
        assert f"{len(QA)} verdict(s) from the cache" in output


def test_stand_in_judges_read_the_answer_out_of_both_templates():
    response = "Line one\n[Response]\nline three with {braces}"
    for version in ("single_v2", "mtbench_single_v1"):
        request = {"messages": user_message(version, "Instruction?\nsecond line", response)}
        assert judged_answer(request) == response
    ratings = set()
    for i in range(40):
        v2 = {"messages": user_message("single_v2", f"question {i}", f"answer {i}")}
        other_question = {"messages": user_message("single_v2", "another question", f"answer {i}")}
        assert deterministic_judge(v2) == deterministic_judge(other_question)  # a rating of the answer only
        ratings.add(int(re.search(r"Rating: \[\[(\d)\]\]", deterministic_judge(v2)).group(1)))
    assert ratings == {1, 2, 3, 4, 5}
    assert "Rating: [[1]]" in deterministic_judge({"messages": user_message("single_v2", "q", "")})


def test_eval_then_judge_takes_the_prompt_too_and_checks_it_before_evaluating(tmp_path, monkeypatch):
    from nativeval.harness_ext.eval import run as run_eval

    evaluated = []

    def fake_run(request, after_eval=None, **_):  # lm-eval itself is run for real in tests/harness_ext/eval
        evaluated.append(request)
        folder = write_run(request.output_path, "tiny", {"translated_es_open_qa": QA})
        results = json.loads(next(folder.glob("results_*")).read_text(encoding="utf-8"))
        outcome = run_eval.EvalOutcome(
            results=results, results_file=None, samples_files=sorted(folder.glob("samples_*"))
        )
        after_eval(outcome)
        return outcome

    monkeypatch.setattr(run_eval, "run", fake_run)
    monkeypatch.setattr(run_eval, "summary_table", lambda results: "")
    args = [
        "eval",
        "--model-args",
        "pretrained=tiny",
        "--tasks",
        "translated_es_open_qa",
        "--output-path",
        str(tmp_path / "out"),
        "--judge",
        "gpt-4-turbo",
        "--judge-cache",
        str(tmp_path / "c"),
    ]
    with OpenAIStub(rating_by_length) as stub:
        result = CliRunner().invoke(
            main, [*args, "--judge-base-url", stub.base_url, "--judge-prompt", "mtbench_single_v1"]
        )
        assert result.exit_code == 0, result.output
        assert all("[The Start of Assistant's Answer]" in r["messages"][-1]["content"] for r in stub.requests)
    (path,) = (tmp_path / "out").rglob("results_judge_gpt-4-turbo_*.json")
    assert json.loads(path.read_text(encoding="utf-8"))["judge"]["prompt_version"] == "mtbench_single_v1"
    evaluated.clear()
    result = CliRunner().invoke(main, [*args, "--judge-prompt", "single_v9"])
    assert result.exit_code == 2 and "unknown judge prompt 'single_v9'" in result.output and evaluated == []
    result = CliRunner().invoke(main, [*args[:-4], "--judge-prompt", "single_v2"])
    assert (
        result.exit_code == 2 and "--judge-prompt applies to the judge" in result.output and evaluated == []
    )


def test_the_old_name_says_what_it_loads(caplog):
    with caplog.at_level("WARNING", logger="nativeval.harness_ext.judge.config"):
        load_prompt("single_v1")
    (record,) = caplog.records
    assert "'mtbench_single_v1'" in record.getMessage() and "single_v2" in record.getMessage()
    caplog.clear()
    load_prompt("single_v2")
    assert caplog.records == []

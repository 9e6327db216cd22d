"""Open-QA tasks: native OASST1 sampling, the embedded translated set, catalogue,
lm-eval run, eval --judge."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest
import yaml
from click.testing import CliRunner

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.generate import out_of_date
from nativeval.harness_ext.catalogue.model import provenance
from nativeval.harness_ext.eval import open_qa as open_qa
from nativeval.harness_ext.testing.judge_runs import rating_by_length
from nativeval.harness_ext.testing.openai_stub import OpenAIStub

HUB_FIELDS = [
    "message_id",
    "parent_id",
    "user_id",
    "created_date",
    "text",
    "role",
    "lang",
    "review_count",
    "review_result",
    "deleted",
    "rank",
    "synthetic",
    "model_name",
    "detoxify",
    "message_tree_id",
    "tree_state",
    "emojis",
    "labels",
]
LANGS = ("es", "ru", "zh")


def native_docs(lang: str, **rules):
    task = catalogue().task(f"native_{lang}_open_qa")
    record = provenance(task, task.leaves[0])
    record["dataset"]["filter"].update(rules)
    return open_qa.load_docs(provenance=record)["test"]


def fixture_rows(fixture_mirror: Path) -> list[dict]:
    folder = fixture_mirror / "OpenAssistant" / "oasst1" / "default"
    return [
        json.loads(line)
        for split in ("train", "validation")
        for line in (folder / f"{split}.jsonl").read_text(encoding="utf-8").splitlines()
    ]


def test_fixture_is_in_the_hub_schema_with_rows_to_filter_out(fixture_mirror):
    rows = fixture_rows(fixture_mirror)
    assert all(list(r) == HUB_FIELDS for r in rows)
    assert any(r["parent_id"] and r["role"] == "prompter" for r in rows)  # follow-up prompts
    assert any(r["role"] == "assistant" for r in rows)
    assert {r["lang"] for r in rows} >= {"es", "ru", "zh", "en", "de"}


@pytest.mark.parametrize("lang", ["es", "zh"])
def test_native_sample_is_50_first_turn_prompts_in_the_language(fixture_mirror, lang):
    docs = native_docs(lang)
    by_id = {r["message_id"]: r for r in fixture_rows(fixture_mirror)}
    assert len(docs) == 50 and len(set(docs["id"])) == 50
    for doc in docs:
        row = by_id[doc["id"]]
        assert row["role"] == "prompter" and row["parent_id"] is None and row["lang"] == lang
        assert not row["deleted"] and row["review_result"] is not False
        assert doc["question"] == row["text"] and doc["lang"] == lang
    assert list(native_docs(lang)["id"]) == list(docs["id"])  # fixed seed: the same sample every time
    assert list(native_docs(lang, seed=7)["id"]) != list(docs["id"])


def test_a_smaller_pool_is_used_whole_with_a_warning(caplog):
    with caplog.at_level(logging.WARNING, logger="nativeval.harness_ext.eval.open_qa"):
        docs = native_docs("ru")
    assert len(docs) == 40  # the fixture has 40 Russian first-turn prompts
    assert "only 40 first-turn ru prompts" in caplog.text


def test_sampling_rules_on_known_rows():
    def row(mid, **kw):
        return {
            "message_id": mid,
            "parent_id": None,
            "role": "prompter",
            "lang": "es",
            "deleted": False,
            "review_result": True,
            "text": f"pregunta {mid}",
            **kw,
        }

    rows = [
        row("a"),
        row("b", parent_id="a"),
        row("c", role="assistant"),
        row("d", lang="en"),
        row("e", deleted=True),
        row("f", review_result=False),
        row("g", review_result=None),
        row("h", text="  "),
    ]
    docs = open_qa.sample_first_turn_prompts(rows, "es", seed=1, n=50)
    assert sorted(d["id"] for d in docs) == ["a", "g"]
    with pytest.raises(Exception, match="no first-turn prompter message in language 'ru'"):
        open_qa.sample_first_turn_prompts(rows, "ru", seed=1, n=50)


def test_translated_questions_are_embedded_with_attribution(repo_root):
    folder = repo_root / "tasks" / "open_qa" / "data" / "oasst_translated"
    ids = None
    for lang in ("en", *LANGS):
        rows = [
            json.loads(x) for x in (folder / f"test_{lang}.jsonl").read_text(encoding="utf-8").splitlines()
        ]
        assert len(rows) == 50
        ids = ids or {r["id"] for r in rows}
        assert {r["id"] for r in rows} == ids
    readme = (folder / "README.md").read_text(encoding="utf-8")
    assert "CC BY-NC 4.0" in readme and "Chen" in readme
    docs = open_qa.translated_docs("zh")["test"]
    assert len(docs) == 50 and docs[0]["lang"] == "zh" and docs[0]["english"]


def test_tasks_join_the_collections_with_provenance():
    cat = catalogue()
    for lang in LANGS:
        native, translated = cat.task(f"native_{lang}_open_qa"), cat.task(f"translated_{lang}_open_qa")
        assert native in cat.collection_members(f"native_{lang}") and native in cat.collection_members(
            "native"
        )
        assert translated in cat.collection_members(f"translated_{lang}")
        assert provenance(native)["origin"] == "native"
        assert provenance(translated)["origin"] == "human_translated"
        assert len(provenance(native)["dataset"]["revision"]) == 40
    assert not [p for p in out_of_date(cat) if "open_qa" in str(p)]


def test_template_generates_greedily_with_a_generous_budget(repo_root):
    template = yaml.safe_load(
        (repo_root / "tasks" / "open_qa" / "_template_yaml")
        .read_text(encoding="utf-8")
        .replace("!function", "")
    )
    gen = template["generation_kwargs"]
    assert gen["do_sample"] is False and gen["temperature"] == 0.0 and gen["max_gen_toks"] >= 1024
    assert gen["until"] == []


def test_lm_eval_runs_the_tasks_with_a_chat_template_and_the_judge_reads_them(
    tiny_model, tmp_path, monkeypatch
):
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from nativeval.harness_ext.catalogue.model import TASKS_DIR
    from nativeval.harness_ext.judge.run import JudgeOptions, run_judge

    tracker = EvaluationTracker(output_path=str(tmp_path / "out"))
    results = simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_model}",
        device="cpu",
        tasks=["native_es_open_qa", "translated_zh_open_qa"],
        limit=2,
        gen_kwargs="max_gen_toks=4",
        log_samples=True,
        apply_chat_template=True,
        evaluation_tracker=tracker,
        task_manager=TaskManager(include_path=str(TASKS_DIR), include_defaults=False),
    )
    samples = results.pop("samples")
    tracker.save_results_aggregated(results=results, samples=samples)
    for task in results["configs"]:
        tracker.save_results_samples(task_name=task, samples=samples[task])
    assert "off_language_rate,none" in results["results"]["native_es_open_qa"]
    sample = json.loads(
        next((tmp_path / "out").rglob("samples_translated_zh_open_qa_*.jsonl"))
        .read_text(encoding="utf-8")
        .splitlines()[0]
    )
    assert sample["doc"]["question"] in sample["arguments"]["gen_args_0"]["arg_0"]  # inside the chat template

    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    with OpenAIStub(rating_by_length) as stub:
        (written_a,) = run_judge(
            JudgeOptions(
                paths=[str(tmp_path / "out")],
                base_url=stub.base_url,
                cache=str(tmp_path / "c"),
                progress=False,
            )
        )
        assert stub.request_count == 4
    doc = json.loads(Path(written_a).read_text(encoding="utf-8"))
    assert set(doc["results"]) == {"native_es_open_qa", "translated_zh_open_qa"}
    assert doc["configs"]["translated_zh_open_qa"]["metadata"]["provenance"]["origin"] == "human_translated"
    assert doc["results"]["native_es_open_qa"]["n,gpt-4-turbo"] == 2


@pytest.mark.parametrize("repeats", [1, 3])
def test_eval_with_judge_runs_the_judge_after_generation(tmp_path, monkeypatch, repeats):
    """`cli.py eval --judge` hands the judge to run_eval's after_eval hook (lm-eval itself is faked here:
    the test above runs the real one; a 1024-token generation with the tiny model is too slow for a test)."""
    from nativeval.cli import main
    from nativeval.harness_ext.eval import run as run_eval
    from nativeval.harness_ext.testing.judge_runs import write_run

    def fake_run(request, after_eval=None, **_):
        folder = write_run(
            request.output_path,
            "tiny",
            {
                "translated_es_open_qa": [("¿Hola?", "Hola, ¿qué tal estás hoy?")],
                "translated_es_xquad": [("¿Quién?", "Ana")],
            },
        )
        results = json.loads(next(folder.glob("results_*")).read_text(encoding="utf-8"))
        results["configs"]["translated_es_xquad"]["metadata"]["provenance"]["metrics"] = ["exact_match", "f1"]
        outcome = run_eval.EvalOutcome(
            results=results, results_file=None, samples_files=sorted(folder.glob("samples_*"))
        )
        after_eval(outcome)
        return outcome

    monkeypatch.setattr(run_eval, "run", fake_run)
    monkeypatch.setattr(run_eval, "summary_table", lambda results: "")
    monkeypatch.setenv("OPENAI_API_KEY", "sk-x")
    with OpenAIStub(rating_by_length) as stub:
        result = CliRunner().invoke(
            main,
            [
                "eval",
                "--model-args",
                "pretrained=tiny",
                "--tasks",
                "translated_es",
                "--output-path",
                str(tmp_path / "out"),
                "--judge",
                "gpt-4-turbo",
                "--judge-base-url",
                stub.base_url,
                "--judge-cache",
                str(tmp_path / "c"),
                "--judge-repeats",
                str(repeats),
            ],
        )
        assert stub.request_count == repeats  # the open-QA answer (asked `repeats` times), not the XQuAD one
    assert result.exit_code == 0, result.output
    (path,) = (tmp_path / "out").rglob("results_judge_gpt-4-turbo_*.json")
    assert set(json.loads(path.read_text(encoding="utf-8"))["results"]) == {"translated_es_open_qa"}

"""`nativeval translate-task` on the fixture data with loopback translators: the tasks it writes run in
lm-eval offline, keep the source's doc ids, say what was done, pair item by item; bad input; resume."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest
from translate_helpers import REPO, llm_key, run_cli

from nativeval.harness_ext.catalogue import catalogue
from nativeval.harness_ext.catalogue.dataset_loader import mirror_path
from nativeval.harness_ext.catalogue.user_tasks import user_tasks_dir
from nativeval.harness_ext.core.io import atomic_write_jsonl, iter_jsonl, read_jsonl
from nativeval.harness_ext.leaderboard.translationese import pairs_in_results
from nativeval.harness_ext.testing.openai_stub import OpenAIStub
from nativeval.harness_ext.testing.translate_stubs import (
    GoogleTranslateStub,
    fake_translate,
    llm_translating_responder,
)

KEY_ENV = {"GOOGLE_TRANSLATE_API_KEY": "AIza-test", "OPENAI_API_KEY": "sk-test"}
TYDIQA = ("google-research-datasets/tydiqa", "secondary_task")


def translate_task(stub, *args: str, env: dict | None = None):
    return run_cli(
        "translate-task",
        *args,
        "--backend",
        "google",
        "--base-url",
        stub.base_url,
        env={**KEY_ENV, **(env or {})},
    )


def russian_rows(fixture_mirror: Path, split: str) -> list[dict]:
    return [
        r for r in read_jsonl(mirror_path(fixture_mirror, *TYDIQA, split)) if r["id"].startswith("russian-")
    ]


def user_rows(task: str, dataset_config: str | None, split: str) -> list[dict]:
    return read_jsonl(
        mirror_path(user_tasks_dir() / task / "data", f"nativeval-user/{task}", dataset_config, split)
    )


def yaml_provenance(path: Path) -> dict:
    import yaml

    text = path.read_text(encoding="utf-8").replace("!function", "")
    return yaml.safe_load(text)["metadata"]["provenance"]


def samples(out: Path, task: str) -> list[dict]:
    (path,) = out.rglob(f"samples_{task}_*.jsonl")
    return sorted(iter_jsonl(path), key=lambda r: r["doc_id"])


@pytest.mark.slow
def test_round_trip_of_tydiqa_runs_in_lm_eval_with_the_source_doc_ids_and_pairs_with_it(
    tiny_model, fixture_mirror, tmp_path
):
    with GoogleTranslateStub() as g:
        made = translate_task(
            g, "native_ru_tydiqa", "--round-trip", "--via", "en", "--max-wrong-language", "1"
        )
        assert made.exit_code == 0, made.output
        sent = len(g.requests)
        again = translate_task(
            g, "native_ru_tydiqa", "--round-trip", "--via", "en", "--max-wrong-language", "1"
        )
        assert again.exit_code == 0 and len(g.requests) == sent, "a rerun sent requests"
    assert "forward ru->en" in made.output and "back en->ru" in made.output
    items = len(russian_rows(fixture_mirror, "validation")) + len(russian_rows(fixture_mirror, "train"))
    assert f"answer spans recovered: {items}/{items} items (100.0%)" in made.output

    folder = user_tasks_dir() / "rtt_ru_tydiqa"
    provenance = yaml_provenance(folder / "rtt_ru_tydiqa.yaml")
    assert provenance["origin"] == "round_trip_translated" and provenance["source_task"] == "native_ru_tydiqa"
    assert (
        provenance["translation"]["backend"] == "google"
        and provenance["translation"]["pivot_language"] == "en"
    )
    assert provenance["source_dataset"] == {
        "id": TYDIQA[0],
        "config": TYDIQA[1],
        "revision": catalogue().task("native_ru_tydiqa").benchmark.revision,
        "origin": "native",
    }
    source = russian_rows(fixture_mirror, "validation")
    translated = user_rows("rtt_ru_tydiqa", TYDIQA[1], "validation")
    assert [r["id"] for r in translated] == [r["id"] for r in source]
    for before, after in zip(source, translated, strict=True):  # the answer sits where the span says
        for text, start in zip(after["answers"]["text"], after["answers"]["answer_start"], strict=True):
            assert after["context"][start : start + len(text)] == text
        assert after["answers"]["text"] == [
            fake_translate(fake_translate(t, "en"), "ru") for t in before["answers"]["text"]
        ]
    quality = json.loads((folder / "quality.json").read_text())
    assert [leg["leg"] for leg in quality["legs"]] == ["forward", "back"]
    assert quality["round_trip_chrf"]["question"]["n"] >= 2 and quality["span_recovery"]["rate"] == 1.0
    assert "## Quality" in (folder / "README.md").read_text()

    listing = run_cli("tasks")
    assert any("rtt_ru_tydiqa" in line and "user-made" in line for line in listing.output.splitlines())

    out = tmp_path / "results"
    evaluated = run_cli(
        "eval",
        "--model",
        "hf",
        "--model-args",
        f"pretrained={tiny_model}",
        "--device",
        "cpu",
        "--tasks",
        "native_ru_tydiqa,rtt_ru_tydiqa",
        "--output-path",
        str(out),
    )
    assert evaluated.exit_code == 0, evaluated.output
    native, rtt = samples(out, "native_ru_tydiqa"), samples(out, "rtt_ru_tydiqa")
    assert [(r["doc_id"], r["doc"]["id"]) for r in native] == [(r["doc_id"], r["doc"]["id"]) for r in rtt]
    (results_file,) = out.rglob("results_*.json")
    config = json.loads(results_file.read_text())["configs"]["rtt_ru_tydiqa"]
    assert config["metadata"]["provenance"]["origin"] == "round_trip_translated"

    (pair,) = pairs_in_results([out])
    assert (pair.source_task, pair.translated_task, pair.result.n) == (
        "native_ru_tydiqa",
        "rtt_ru_tydiqa",
        len(source),
    )


@pytest.mark.slow
def test_machine_translated_cmmlu_subset_keeps_answer_keys_and_runs_in_lm_eval(
    tiny_model, fixture_mirror, tmp_path
):
    with GoogleTranslateStub(lambda text, tgt: f"[{tgt}] {text}") as g:
        made = translate_task(
            g,
            "native_zh_cmmlu",
            "--to",
            "es",
            "--subjects",
            "agronomy,anatomy",
            "--max-wrong-language",
            "1",
            "--label",
            "STAND-IN prefixer",
        )
    assert made.exit_code == 0, made.output
    folder = user_tasks_dir() / "mt_es_cmmlu"
    for subject in ("agronomy", "anatomy"):
        source = read_jsonl(mirror_path(fixture_mirror, "haonan-li/cmmlu", subject, "test"))
        rows = user_rows("mt_es_cmmlu", subject, "test")
        assert [r["Answer"] for r in rows] == [r["Answer"] for r in source]
        assert [r["Question"] for r in rows] == [f"[es] {r['Question']}" for r in source]
        provenance = yaml_provenance(folder / f"mt_es_cmmlu_{subject}.yaml")
        assert provenance["origin"] == "machine_translated" and provenance["subtask"] == subject
        assert provenance["source_language"] == "zh" and provenance["language"] == "es"
        assert provenance["translation"]["fewshot"] == "translated"
        assert user_rows("mt_es_cmmlu", subject, "dev")[0]["Question"].startswith("[es] ")
    assert "[es] 以下是关于农学" in (folder / "mt_es_cmmlu_agronomy.yaml").read_text(encoding="utf-8")
    assert "Translator note: STAND-IN prefixer" in (folder / "README.md").read_text(encoding="utf-8")

    out = tmp_path / "results"
    evaluated = run_cli(
        "eval",
        "--model",
        "hf",
        "--model-args",
        f"pretrained={tiny_model}",
        "--device",
        "cpu",
        "--tasks",
        "native_zh_cmmlu_agronomy,native_zh_cmmlu_anatomy,mt_es_cmmlu",
        "--output-path",
        str(out),
    )
    assert evaluated.exit_code == 0, evaluated.output
    for subject in ("agronomy", "anatomy"):
        native, mt = samples(out, f"native_zh_cmmlu_{subject}"), samples(out, f"mt_es_cmmlu_{subject}")
        assert [r["doc_id"] for r in native] == [r["doc_id"] for r in mt]
        assert [r["target"] for r in native] == [r["target"] for r in mt]
    (pair,) = pairs_in_results([out])
    assert pair.origin == "machine_translated" and pair.result.n == 4


def test_one_include_path_reaches_the_user_tasks_and_nativeval_tasks(fixture_mirror):
    from lm_eval.tasks import TaskManager

    with GoogleTranslateStub() as g:
        assert (
            translate_task(
                g, "native_ru_tydiqa", "--round-trip", "--keep-fewshot", "--max-wrong-language", "1"
            ).exit_code
            == 0
        )
    printed = run_cli("tasks", "--user-dir").output.strip()
    assert Path(printed) == user_tasks_dir()
    manager = TaskManager(include_path=printed, include_defaults=False)
    assert {"native_ru_tydiqa", "rtt_ru_tydiqa", "native_zh_cmmlu", "translated_zh"} <= set(manager.all_tasks)
    loaded = manager.load(["native_ru_tydiqa", "rtt_ru_tydiqa"])["tasks"]
    docs = {name: list(task.eval_docs) for name, task in loaded.items()}
    assert [d["id"] for d in docs["native_ru_tydiqa"]] == [d["id"] for d in docs["rtt_ru_tydiqa"]]
    # --keep-fewshot: the exemplars are the source's own rows
    assert user_rows("rtt_ru_tydiqa", TYDIQA[1], "train") == russian_rows(fixture_mirror, "train")


def test_unrecoverable_answer_spans_are_reported_and_excluded_never_kept_wrong(tmp_path, monkeypatch):
    rows = [
        {
            "id": f"russian-{i}",
            "title": "t",
            "context": f"Город номер {i} основан в {1100 + i} году князем.",
            "question": f"Когда основан город {i}?",
            "answers": {"text": [f"{1100 + i} году"], "answer_start": [len(f"Город номер {i} основан в ")]},
        }
        for i in range(6)
    ]
    rows.append(
        {
            "id": "russian-bad",
            "title": "t",
            "context": "Нет ответа здесь.",
            "question": "Где?",
            "answers": {"text": ["отсутствует"], "answer_start": [3]},
        }
    )
    mirror = tmp_path / "mirror"
    for split in ("train", "validation"):
        atomic_write_jsonl(mirror_path(mirror, *TYDIQA, split), rows)
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(mirror))

    def drops_marks_of_odd_items(text: str, tgt: str) -> str:
        translated = fake_translate(text, tgt)
        return (
            translated.replace("⟪0⟫", "").replace("⟪/0⟫", "")
            if any(f"{n}" in text for n in (1101, 1103))
            else translated
        )

    with GoogleTranslateStub(drops_marks_of_odd_items) as g:
        made = translate_task(g, "native_ru_tydiqa", "--round-trip", "--max-wrong-language", "1")
    assert made.exit_code == 0, made.output
    kept = user_rows("rtt_ru_tydiqa", TYDIQA[1], "validation")
    assert [r["id"] for r in kept] == ["russian-0", "russian-2", "russian-4", "russian-5"]
    quality = json.loads((user_tasks_dir() / "rtt_ru_tydiqa" / "quality.json").read_text())
    recovery = quality["span_recovery"]
    excluded = {(e["split"], e["id"]): e for e in recovery["excluded_items"]}
    assert excluded[("validation", "russian-bad")]["reason"] == "answer not found in the source context"
    assert excluded[("validation", "russian-1")]["reason"] == "answer span lost in translation"
    assert recovery["recovered"] == 8 and recovery["items"] == 14 and recovery["rate"] == round(8 / 14, 4)
    provenance = yaml_provenance(user_tasks_dir() / "rtt_ru_tydiqa" / "rtt_ru_tydiqa.yaml")
    assert provenance["excluded_doc_ids"] == [1, 3, 6]
    assert "answer spans recovered: 8/14 items" in made.output


def test_empty_segments_are_flagged_retried_once_then_reported(tmp_path):
    calls: dict[str, int] = {}

    def empty_for_moscow(text: str, tgt: str) -> str:
        calls[text] = calls.get(text, 0) + 1
        return "" if "Москв" in text else fake_translate(text, tgt)

    with GoogleTranslateStub(empty_for_moscow) as g:
        made = translate_task(g, "native_ru_tydiqa", "--to", "zh", "--max-wrong-language", "1")
        assert made.exit_code == 0, made.output
        sent = len(g.requests)
        rerun = translate_task(g, "native_ru_tydiqa", "--to", "zh", "--max-wrong-language", "1")
        assert rerun.exit_code == 0 and len(g.requests) == sent, "the rerun retried or re-sent"
    moscow = [t for t in calls if "Москв" in t]
    assert moscow and all(calls[t] == 2 for t in moscow), "each empty segment is sent exactly twice"
    (leg,) = json.loads((user_tasks_dir() / "mt_zh_tydiqa" / "quality.json").read_text())["legs"]
    assert leg["empty_outputs"] >= 1 and leg["retried"] >= leg["empty_outputs"] and leg["fixed_by_retry"] == 0


def test_wrong_language_output_is_retried_once_reported_and_exits_1_keeping_the_task(fixture_mirror):
    sent: dict[tuple[str, str], int] = {}

    def counting(text: str, tgt: str) -> str:
        sent[(text, tgt)] = sent.get((text, tgt), 0) + 1
        return fake_translate(text, tgt)

    with GoogleTranslateStub(counting) as g:  # the stand-in's "English" pivot is not English
        made = translate_task(g, "native_ru_tydiqa", "--round-trip", "--via", "en")
    assert made.exit_code == 1
    errors = [line for line in made.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "forward leg (ru->en)" in errors[0]
    quality = json.loads((user_tasks_dir() / "rtt_ru_tydiqa" / "quality.json").read_text())
    forward = quality["legs"][0]
    flagged = {i["id"] for i in quality["issues"]["forward"]["wrong_language"]}
    assert forward["wrong_language_rate"] > 0.5 and forward["retried"] == len(flagged) > 0
    assert forward["fixed_by_retry"] == 0 and max(n for (_, tgt), n in sent.items() if tgt == "en") == 2
    assert (user_tasks_dir() / "rtt_ru_tydiqa" / "nativeval_task.json").is_file()


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("native_ru_tydiqax", "--round-trip"),
            "unknown task or collection 'native_ru_tydiqax'; did you mean native_ru_tydiqa",
        ),
        (("native_zh_cmmlu", "--to", "xx"), "unknown language 'xx' (known: "),
        (("native_ru_tydiqa", "--round-trip", "--via", "qq"), "harness_ext/core/languages.yaml"),
        (("native_zh_cmmlu", "--to", "zh"), "already in zh"),
        (("native_zh_cmmlu", "--to", "es", "--subjects", "astrology"), "has no subject 'astrology'"),
        (("translated_zh_mgsm_lmeval", "--to", "ru"), "no translation recipe yet"),
        (("native_zh_cmmlu",), "give exactly one of --round-trip"),
    ],
)
def test_bad_input_is_one_line_exit_2_and_loses_nothing(args, message):
    with GoogleTranslateStub() as g:
        assert translate_task(g, "native_ru_tydiqa", "--to", "zh", "--max-wrong-language", "1").exit_code == 0
        before = {
            p: p.read_bytes() for p in user_tasks_dir().rglob("*") if p.is_file() and ".work" not in p.parts
        }
        sent = len(g.requests)
        result = translate_task(g, *args)
        assert len(g.requests) == sent
    assert result.exit_code == 2
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0], result.output
    assert before == {
        p: p.read_bytes() for p in user_tasks_dir().rglob("*") if p.is_file() and ".work" not in p.parts
    }


def _cached_keys(path: Path) -> set[str]:
    if not path.exists():
        return set()
    with sqlite3.connect(path) as conn:
        try:
            return {row[0] for row in conn.execute("SELECT k FROM kv")}
        except sqlite3.OperationalError:
            return set()


def test_sigkill_mid_translation_then_rerun_resends_nothing_finished(tmp_path):
    rows = [
        {
            "id": f"russian-{i}",
            "title": "t",
            "context": f"Город номер {i} был основан в {1000 + i} году.",
            "question": f"Когда был основан город номер {i}?",
            "answers": {"text": [f"{1000 + i}"], "answer_start": [len(f"Город номер {i} был основан в ")]},
        }
        for i in range(150)
    ]
    mirror = tmp_path / "mirror"
    atomic_write_jsonl(mirror_path(mirror, *TYDIQA, "validation"), rows)
    atomic_write_jsonl(mirror_path(mirror, *TYDIQA, "train"), rows[:2])
    env = {**os.environ, **KEY_ENV, "PYTHONPATH": str(REPO), "NATIVEVAL_DATA_DIR": str(mirror)}
    cache = user_tasks_dir() / "mt_zh_tydiqa" / ".work" / "segments.sqlite"
    with OpenAIStub(llm_translating_responder, latency=0.01) as stub:
        command = [
            sys.executable,
            str(REPO / "cli.py"),
            "translate-task",
            "native_ru_tydiqa",
            "--to",
            "zh",
            "--backend",
            "llm",
            "--base-url",
            stub.base_url,
            "--model",
            "stub-model",
            "--concurrency",
            "4",
            "--max-wrong-language",
            "1",
        ]
        proc = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
        while len(_cached_keys(cache)) < 80 and proc.poll() is None:
            time.sleep(0.05)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        assert proc.returncode == -signal.SIGKILL, "the run finished before it could be killed"
        finished = _cached_keys(cache)
        first = len(stub.requests)
        rerun = subprocess.run(command, env=env, capture_output=True, text=True)
        assert rerun.returncode == 0, rerun.stderr[-2000:]
        second = [r["messages"][-1]["content"] for r in stub.requests[first:]]
    assert 80 <= len(finished) < 2 * len(rows) + 4
    assert not [s for s in second if llm_key(s, "ru", "zh") in finished], "finished segments were sent again"
    assert len(second) == len(set(second))
    written = user_rows("mt_zh_tydiqa", TYDIQA[1], "validation")
    assert [r["id"] for r in written] == [r["id"] for r in rows]
    assert all(r["answers"]["text"] == [s["answers"]["text"][0]] for r, s in zip(written, rows, strict=True))


def test_mgsm_keeps_answer_numbers_and_exemplar_answers_take_the_target_prompts_prefix(fixture_mirror):
    with GoogleTranslateStub(lambda text, tgt: f"[{tgt}] {text}") as g:
        made = translate_task(g, "translated_zh_mgsm", "--to", "ru", "--max-wrong-language", "1")
    assert made.exit_code == 0, made.output
    source = read_jsonl(mirror_path(fixture_mirror, "juletxara/mgsm", "zh", "test"))
    rows = user_rows("mt_ru_mgsm", "zh", "test")
    assert [r["answer_number"] for r in rows] == [r["answer_number"] for r in source]
    assert [r["question"] for r in rows] == [f"[ru] {r['question']}" for r in source]
    russian_prefix = read_jsonl(mirror_path(fixture_mirror, "juletxara/mgsm", "ru", "train"))[0][
        "answer"
    ].split(":")[0]
    exemplars = user_rows("mt_ru_mgsm", "zh", "train")
    assert exemplars and all(r["answer"].startswith(russian_prefix + ":[ru] ") for r in exemplars)
    text = (user_tasks_dir() / "mt_ru_mgsm" / "mt_ru_mgsm.yaml").read_text(encoding="utf-8")
    assert "include: ../_nativeval/translated_mgsm/translated_ru_mgsm.yaml" in text  # the Russian prompt


def test_open_qa_prompts_are_translated_from_the_tasks_own_sample_and_keep_their_ids(fixture_mirror):
    from lm_eval.tasks import TaskManager

    with GoogleTranslateStub(lambda text, tgt: f"[{tgt}] {text}") as g:
        made = translate_task(g, "native_ru_open_qa", "--to", "es", "--max-wrong-language", "1")
    assert made.exit_code == 0, made.output
    manager = TaskManager(include_path=run_cli("tasks", "--user-dir").output.strip(), include_defaults=False)
    loaded = manager.load(["native_ru_open_qa", "mt_es_open_qa"])["tasks"]
    native, translated = (list(loaded[name].eval_docs) for name in ("native_ru_open_qa", "mt_es_open_qa"))
    assert len(native) >= 2 and [d["id"] for d in translated] == [d["id"] for d in native]
    assert [d["question"] for d in translated] == [f"[es] {d['question']}" for d in native]
    assert {d["lang"] for d in native} == {"ru"} and {d["lang"] for d in translated} == {
        "es"
    }  # off-language reads it
    assert loaded["mt_es_open_qa"].doc_to_text(translated[0]) == translated[0]["question"]
    provenance = yaml_provenance(user_tasks_dir() / "mt_es_open_qa" / "mt_es_open_qa.yaml")
    assert provenance["origin"] == "machine_translated" and provenance["source_task"] == "native_ru_open_qa"
    assert provenance["dataset"]["splits"] == ["test"] and provenance["task_type"] == "open_generation"
    listing = run_cli("tasks").output.splitlines()
    assert any("mt_es_open_qa" in line and "user-made" in line for line in listing)


def loaded_docs(*names: str) -> dict[str, list[dict]]:
    from lm_eval.tasks import TaskManager

    manager = TaskManager(include_path=run_cli("tasks", "--user-dir").output.strip(), include_defaults=False)
    loaded = manager.load(list(names))["tasks"]
    return {name: list(task.eval_docs) for name, task in loaded.items()}


def test_include_domains_are_translated_from_their_own_rows_and_pair_with_the_source(fixture_mirror):
    with GoogleTranslateStub(lambda text, tgt: f"[{tgt}] {text}") as g:
        made = translate_task(g, "native_ru_include", "--to", "es", "--max-wrong-language", "1")
    assert made.exit_code == 0, made.output
    source = read_jsonl(mirror_path(fixture_mirror, "CohereForAI/include-base-44", "Russian", "test"))
    # each domain's rows once: the sibling domains' rows are neither translated nor written again
    written = [
        r
        for path in (user_tasks_dir() / "mt_es_include" / "data").rglob("test.jsonl")
        for r in read_jsonl(path)
    ]
    assert sorted(r["question"] for r in written) == sorted(f"[es] {r['question']}" for r in source)
    domain = "native_ru_include_applied_science"
    docs = loaded_docs(domain, "mt_es_include_applied_science")
    native, translated = docs[domain], docs["mt_es_include_applied_science"]
    assert len(native) == 6 and [d["answer"] for d in translated] == [d["answer"] for d in native]
    assert [d["question"] for d in translated] == [f"[es] {d['question']}" for d in native]
    assert [d["option_a"] for d in translated] == [
        d["option_a"] for d in native
    ]  # bare numbers are kept as they are
    provenance = yaml_provenance(user_tasks_dir() / "mt_es_include" / "mt_es_include_applied_science.yaml")
    assert provenance["source_dataset"]["config"] == "Russian" and provenance["subtask"] == "applied_science"


def test_round_trip_of_global_mmlu_subjects_keeps_their_few_shot_rows_and_doc_ids(fixture_mirror):
    with GoogleTranslateStub() as g:
        made = translate_task(
            g,
            "translated_ru_global_mmlu",
            "--round-trip",
            "--subjects",
            "anatomy,astronomy",
            "--max-wrong-language",
            "1",
        )
    assert made.exit_code == 0, made.output
    docs = loaded_docs("translated_ru_global_mmlu_anatomy", "rtt_ru_global_mmlu_anatomy")
    native, rtt = docs["translated_ru_global_mmlu_anatomy"], docs["rtt_ru_global_mmlu_anatomy"]
    assert len(native) == 2 and [d["sample_id"] for d in rtt] == [d["sample_id"] for d in native]
    assert [d["question"] for d in rtt] == [
        fake_translate(fake_translate(d["question"], "en"), "ru") for d in native
    ]
    dev = user_rows("rtt_ru_global_mmlu", "ru-anatomy", "dev")
    assert len(dev) == 5 and {r["subject"] for r in dev} == {"anatomy"}


@pytest.mark.slow
def test_a_round_tripped_open_qa_task_is_generated_judged_and_paired_with_its_source(tiny_model, tmp_path):
    from nativeval.harness_ext.testing.judge_runs import judge_yaml
    from nativeval.harness_ext.testing.judge_standins import hash_judge

    with GoogleTranslateStub() as g:
        made = translate_task(
            g, "native_ru_open_qa", "--round-trip", "--via", "en", "--max-wrong-language", "1"
        )
    assert made.exit_code == 0, made.output
    out = tmp_path / "results"
    evaluated = run_cli(
        "eval",
        "--model",
        "hf",
        "--model-args",
        f"pretrained={tiny_model}",
        "--device",
        "cpu",
        "--tasks",
        "native_ru_open_qa,rtt_ru_open_qa",
        "--limit",
        "3",
        "--gen-kwargs",
        "max_gen_toks=8",
        "--output-path",
        str(out),
    )
    assert evaluated.exit_code == 0, evaluated.output
    native, rtt = samples(out, "native_ru_open_qa"), samples(out, "rtt_ru_open_qa")
    assert [(r["doc_id"], r["doc"]["id"]) for r in native] == [(r["doc_id"], r["doc"]["id"]) for r in rtt]
    with OpenAIStub(hash_judge("a")) as stub:
        judged = run_cli(
            "judge",
            str(out),
            "--judge",
            str(judge_yaml(tmp_path / "j.yaml", timeout_s=10.0)),
            "--base-url",
            stub.base_url,
            "--cache",
            str(tmp_path / "c"),
            env={"OPENAI_API_KEY": "sk-t"},
        )
        assert judged.exit_code == 0, judged.output
        assert (
            3 <= stub.request_count <= 6
        )  # a round trip that gives a question back unchanged is judged once
    assert "Custom kwargs" not in evaluated.output  # the open-QA tasks are as quiet as the others
    (pair,) = pairs_in_results([out])  # scored by the judge's ratings, item by item
    assert (pair.source_task, pair.translated_task, pair.origin) == (
        "native_ru_open_qa",
        "rtt_ru_open_qa",
        "round_trip_translated",
    )
    assert (pair.metric, pair.result.n) == ("rating,test-judge", 3)
    ratings = {}
    for task in ("native_ru_open_qa", "rtt_ru_open_qa"):
        (path,) = out.rglob(f"judgments_{task}_test-judge_*.jsonl")
        ratings[task] = [r["rating"] for r in sorted(read_jsonl(path), key=lambda r: r["doc_id"])]
    assert pair.result.source_score == pytest.approx(sum(ratings["native_ru_open_qa"]) / 3)
    assert pair.result.translation_score == pytest.approx(sum(ratings["rtt_ru_open_qa"]) / 3)

"""`nativeval data check / data download / tasks / eval`: output, bad input, mirrors written atomically."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import datasets
import pytest
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.catalogue import mirror as data_mirror
from nativeval.harness_ext.core.errors import InputError

REPO = Path(__file__).resolve().parents[1]


def invoke(*args: str):
    return CliRunner().invoke(cli.main, list(args))


def test_tasks_table_json_and_markdown():
    table = invoke("tasks")
    assert table.exit_code == 0
    assert (
        "native_zh_cmmlu" in table.output
        and "haonan-li/cmmlu@efcc940752ea4a1ea94d2727f11f83858d64fc8e (parquet export, unpinned)"
        in table.output
    )
    rows = json.loads(invoke("tasks", "--json").output)
    by_name = {r["name"]: r for r in rows["tasks"]}
    assert by_name["translated_es_mt_mmlu"]["origin"] == "machine_translated"
    assert by_name["native_zh_cmmlu"]["data"] == "mirror"
    assert by_name["native_zh_cmmlu"]["shots"] == 5 and len(by_name["native_zh_cmmlu"]["subtasks"]) == 67
    assert {c["name"] for c in rows["collections"]} >= {
        "native_es",
        "native_ru",
        "native_zh",
        "native",
        "translated_es",
        "translated_ru",
        "translated_zh",
        "translated",
    }
    markdown = invoke("tasks", "--markdown").output
    assert markdown.startswith("| name | language |") and "`native_zh`" in markdown


def test_data_check_reports_mirror(fixture_mirror):
    result = invoke("data", "check", "--tasks", "native_zh,translated_ru_xquad")
    assert result.exit_code == 0, result.output
    assert (
        "ok      native_zh_cmmlu: haonan-li/cmmlu@efcc940752ea4a1ea94d2727f11f83858d64fc8e: mirror 134/134 "
        f"splits from {fixture_mirror}" in result.output
    )
    assert "translated_ru_xquad" in result.output


def test_data_check_unknown_task_is_one_line_exit_2():
    result = invoke("data", "check", "--tasks", "translated_zh_xqad")
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith(
        "error: unknown task or collection 'translated_zh_xqad'; did you mean translated_zh_xquad"
    )


def test_data_download_unknown_task_is_exit_2(tmp_path):
    result = invoke("data", "download", "--tasks", "nativ_zh", "--to", str(tmp_path))
    assert result.exit_code == 2 and "did you mean native_zh" in result.output
    assert list(tmp_path.iterdir()) == []


def test_data_check_missing_data_exits_1(monkeypatch, tmp_path):
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    result = invoke("data", "check", "--tasks", "translated_es_xquad")
    assert result.exit_code == 1
    assert (
        "MISSING translated_es_xquad: google/xquad@51adfef1c1287aab1d2d91b5bead9bcfb9c68583: missing 1/1 "
        "splits" in result.output
    )


def test_missing_data_dir_warns_and_goes_on(monkeypatch, fixture_mirror, tmp_path, caplog):
    missing = tmp_path / "nowhere"
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", f"{missing}:{fixture_mirror}")
    result = invoke("data", "check", "--tasks", "translated_es_mgsm")
    assert result.exit_code == 0 and "ok      translated_es_mgsm" in result.output
    assert any(str(missing) in rec.getMessage() for rec in caplog.records)


def test_malformed_mirror_line_names_file_and_line(monkeypatch, tmp_path):
    from nativeval.harness_ext.eval.runtime import load_docs

    split = tmp_path / "google/xquad/xquad.es/validation.jsonl"
    split.parent.mkdir(parents=True)
    split.write_text(
        '{"id": "a", "context": "c", "question": "q", "answers": {"text": ["x"], "answer_start": [0]}}\n'
        '{"id": "b", "context": \n',
        encoding="utf-8",
    )
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    record = {
        "dataset": {"id": "google/xquad", "config": "xquad.es", "splits": ["validation"], "revision": "main"}
    }
    with pytest.raises(InputError, match=r"validation\.jsonl:2: malformed JSON line"):
        load_docs(provenance=record)


def _fake_hub(calls: list):
    def load_dataset(dataset_id, config, split, revision):
        calls.append((dataset_id, config, split, revision))
        return datasets.Dataset.from_list(
            [{"question": f"{config}-{split}", "answer": None, "answer_number": 1, "equation_solution": None}]
        )

    return load_dataset


def test_data_download_writes_mirror_with_pinned_revision(monkeypatch, tmp_path):
    calls: list = []
    monkeypatch.setattr(datasets, "load_dataset", _fake_hub(calls))
    monkeypatch.setattr(data_mirror, "resolve_revision", lambda dataset_id, revision: "a" * 40)
    result = invoke(
        "data", "download", "--tasks", "translated_es_mgsm,translated_ru_mgsm", "--to", str(tmp_path)
    )
    assert result.exit_code == 0, result.output
    assert calls == [
        ("juletxara/mgsm", "es", "train", "main"),
        ("juletxara/mgsm", "es", "test", "main"),
        ("juletxara/mgsm", "ru", "train", "main"),
        ("juletxara/mgsm", "ru", "test", "main"),
    ]
    rows = (tmp_path / "juletxara/mgsm/es/test.jsonl").read_text(encoding="utf-8").splitlines()
    assert json.loads(rows[0])["question"] == "es-test"
    source = json.loads((tmp_path / "juletxara/mgsm/es/_source.json").read_text())
    assert source["requested_revision"] == "main" and source["resolved_revision"] == "a" * 40
    assert source["splits"] == {"train": 1, "test": 1}
    # the mirror is usable offline by the dataset layer, and a rerun fetches nothing again
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    assert invoke("data", "check", "--tasks", "translated_es_mgsm").exit_code == 0
    calls.clear()
    assert invoke("data", "download", "--tasks", "translated_es_mgsm", "--to", str(tmp_path)).exit_code == 0
    assert calls == []


def test_data_download_failure_is_one_line_and_keeps_finished_work(monkeypatch, tmp_path):
    calls: list = []
    fake = _fake_hub(calls)

    def flaky(dataset_id, config, split, revision):
        if config == "ru":
            raise ConnectionError(
                "Couldn't reach 'juletxara/mgsm' on the Hub (LocalEntryNotFoundError)\nmore"
            )
        return fake(dataset_id, config, split, revision)

    monkeypatch.setattr(datasets, "load_dataset", flaky)
    monkeypatch.setattr(data_mirror, "resolve_revision", lambda dataset_id, revision: None)
    result = invoke(
        "data", "download", "--tasks", "translated_es_mgsm,translated_ru_mgsm", "--to", str(tmp_path)
    )
    assert result.exit_code == 2
    (error,) = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert (
        "could not download juletxara/mgsm (config ru, split train, revision main): Couldn't reach" in error
    )
    assert (tmp_path / "juletxara/mgsm/es/test.jsonl").is_file()
    assert not (tmp_path / "juletxara/mgsm/ru").exists()


def test_eval_unknown_task_is_one_line_exit_2(tmp_path):
    result = invoke(
        "eval",
        "--model-args",
        f"pretrained={tmp_path}",
        "--tasks",
        "native_zh,translatd_zh",
        "--output-path",
        str(tmp_path),
    )
    assert result.exit_code == 2
    (line,) = result.output.strip().splitlines()
    assert line.startswith("error: unknown task or collection 'translatd_zh'; did you mean translated_zh")


def test_eval_missing_data_fails_up_front(monkeypatch, tmp_path):
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    result = invoke(
        "eval",
        "--model-args",
        f"pretrained={tmp_path}",
        "--tasks",
        "translated_es_xquad,translated_es_mgsm",
        "--output-path",
        str(tmp_path / "out"),
    )
    assert result.exit_code == 2
    line = result.output.strip()
    assert (
        "\n" not in line
        and "data for translated_es_xquad is missing: google/xquad xquad.es/validation" in line
    )
    assert "`nativeval data download --tasks translated_es_xquad,translated_es_mgsm --to DIR`" in line
    assert "--skip-missing-data" in line
    assert not (tmp_path / "out").exists()


@pytest.mark.slow
def test_eval_writes_lm_eval_results_and_samples_and_skips_missing(
    tiny_model, fixture_mirror, tmp_path, monkeypatch
):
    partial = tmp_path / "mirror"
    (partial / "google").mkdir(parents=True)
    import shutil

    shutil.copytree(fixture_mirror / "google" / "xquad", partial / "google" / "xquad")
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(partial))
    out = tmp_path / "results"
    result = invoke(
        "eval",
        "--model-args",
        f"pretrained={tiny_model}",
        "--tasks",
        "translated_zh_xquad,translated_zh_mgsm",
        "--output-path",
        str(out),
        "--limit",
        "1",
        "--batch-size",
        "8",
        "--device",
        "cpu",
        "--skip-missing-data",
    )
    assert result.exit_code == 0, result.output
    assert "warning: skipped translated_zh_mgsm (data missing)" in result.output
    (results_file,) = out.rglob("results_*.json")
    results = json.loads(results_file.read_text())
    assert set(results["results"]) == {"translated_zh_xquad"}
    assert set(results["results"]["translated_zh_xquad"]) >= {"exact_match,none", "f1,none", "include,none"}
    assert results["configs"]["translated_zh_xquad"]["metadata"]["provenance"]["origin"] == "human_translated"
    (samples,) = out.rglob("samples_translated_zh_xquad_*.jsonl")
    assert len(samples.read_text().splitlines()) == 1


@pytest.mark.parametrize("mirror", ["fixture", "empty"])
def test_tasks_and_data_check_agree_on_every_tasks_source(mirror, fixture_mirror, tmp_path, monkeypatch):
    if mirror == "empty":
        monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    listed = {r["name"]: r["data"] for r in json.loads(invoke("tasks", "--json").output)["tasks"]}
    checked = {r.task.name: r.source for r in data_mirror.check(list(listed))}
    assert listed == checked
    assert {listed[f"translated_{lang}_open_qa"] for lang in ("es", "ru", "zh")} == {"embedded"}
    assert listed["native_zh_cmmlu"] == ("mirror" if mirror == "fixture" else "missing")
    line = next(li for li in invoke("data", "check", "--tasks", "translated_zh_open_qa").output.splitlines())
    assert line.startswith("ok      translated_zh_open_qa:") and "embedded 1/1 splits" in line


# --- data check reads every mirror file and asks the Hub -------------------------------------------------
XQUAD_REVISION = "51adfef1c1287aab1d2d91b5bead9bcfb9c68583"  # harness_ext/catalogue/data/xquad.yaml's pin


def test_data_check_reports_a_mirror_file_that_does_not_parse(tmp_path, fixture_mirror, monkeypatch):
    import shutil

    mirror = tmp_path / "mirror"
    shutil.copytree(fixture_mirror / "google" / "xquad", mirror / "google" / "xquad")
    bad = mirror / "google" / "xquad" / "xquad.es" / "validation.jsonl"
    lines = bad.read_text(encoding="utf-8").splitlines(keepends=True)
    bad.write_text(lines[0] + '{"id": "cut off\n' + "".join(lines[1:]), encoding="utf-8")
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(mirror))
    result = invoke("data", "check", "--tasks", "translated_es_xquad,translated_ru_xquad")
    assert result.exit_code == 1
    es, ru = result.output.strip().splitlines()
    assert es.startswith("CORRUPT translated_es_xquad:") and f"{bad}:2: malformed JSON line" in es
    assert ru.startswith("ok      translated_ru_xquad:")


def test_data_check_without_probe_says_not_checked(monkeypatch, tmp_path):
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path))
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)
    result = invoke("data", "check", "--tasks", "translated_es_xquad", "--no-hub-probe")
    assert result.exit_code == 0, result.output
    assert result.output.startswith("ok      translated_es_xquad:") and "hub: not checked" in result.output


def data_check_against(endpoint: str, tmp_path) -> subprocess.CompletedProcess:
    """`nativeval data check` in a fresh interpreter (huggingface_hub reads HF_ENDPOINT at import), online."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("HF_", "NATIVEVAL_DATA_DIR", "TRANSFORMERS_OFFLINE"))
    }
    env.update(
        HF_ENDPOINT=endpoint, HF_HOME=str(tmp_path / "hf"), NATIVEVAL_DATA_DIR="", HF_HUB_ETAG_TIMEOUT="2"
    )
    return subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "data", "check", "--tasks", "translated_es_xquad"],
        capture_output=True,
        text=True,
        env=env,
        timeout=300,
        cwd=REPO,
    )


def test_data_check_asks_the_hub_for_the_pinned_revision(tmp_path):
    from nativeval.harness_ext.testing.hub_stub import HubStub

    with HubStub() as hub:
        hub.add_commit("google/xquad", {"README.md": b"---\n---\n"}, refs=[XQUAD_REVISION])
        found = data_check_against(hub.endpoint, tmp_path)
        asked = list(hub.requests)
    with HubStub() as empty_hub:
        missing = data_check_against(empty_hub.endpoint, tmp_path)
    assert found.returncode == 0, found.stdout + found.stderr[-2000:]
    assert found.stdout.startswith("ok      translated_es_xquad:") and "hub: reachable" in found.stdout
    assert any(XQUAD_REVISION in path for _, path in asked)
    assert missing.returncode == 1
    assert "UNKNOWN translated_es_xquad" in missing.stdout
    assert f"hub: google/xquad@{XQUAD_REVISION} not found on the Hub" in missing.stdout


def test_data_check_with_the_hub_unreachable_is_not_ok(tmp_path):
    import socket

    with socket.socket() as closed:  # a port nothing listens on
        closed.bind(("127.0.0.1", 0))
        port = closed.getsockname()[1]
    proc = data_check_against(f"http://127.0.0.1:{port}", tmp_path)
    assert proc.returncode == 1
    (line,) = proc.stdout.strip().splitlines()
    assert line.startswith("UNKNOWN translated_es_xquad:") and "hub: unreachable (" in line
    assert "the data is not known to be available" in line and "Traceback" not in proc.stderr

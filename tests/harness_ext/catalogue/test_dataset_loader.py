"""The dataset layer: mirror resolution order, per-split schemas, the pinned revision, and bad input."""

from __future__ import annotations

import json
import logging
import os

import datasets
import pytest

from nativeval.harness_ext.catalogue import dataset_loader
from nativeval.harness_ext.core.errors import DatasetUnavailable, InputError


def write_split(root, dataset_id, config, split, rows):
    path = dataset_loader.mirror_path(root, dataset_id, config, split)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8")
    return path


def test_first_mirror_in_order_wins(tmp_path, monkeypatch):
    first, second = tmp_path / "first", tmp_path / "second"
    write_split(first, "org/ds", "cfg", "test", [{"q": "from first"}])
    write_split(second, "org/ds", "cfg", "test", [{"q": "from second"}])
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, os.pathsep.join([str(first), str(second)]))
    assert dataset_loader.load_dataset("org/ds", "cfg", ["test"])["test"][0]["q"] == "from first"
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, os.pathsep.join([str(second), str(first)]))
    assert dataset_loader.load_dataset("org/ds", "cfg", ["test"])["test"][0]["q"] == "from second"


def test_each_split_resolved_on_its_own(tmp_path, monkeypatch):
    first, second = tmp_path / "a", tmp_path / "b"
    write_split(first, "org/ds", None, "test", [{"x": 1}])
    write_split(second, "org/ds", None, "train", [{"x": 2}])
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, os.pathsep.join([str(first), str(second)]))
    sources = {s.split: s for s in dataset_loader.locate("org/ds", None, ["train", "test"])}
    assert sources["test"].location.startswith(str(first))
    assert sources["train"].location.startswith(str(second))
    ds = dataset_loader.load_dataset("org/ds", None, ["train", "test"])
    assert ds["train"][0]["x"] == 2 and ds["test"][0]["x"] == 1


def test_config_none_uses_default_directory(tmp_path, monkeypatch):
    path = write_split(tmp_path, "org/ds", None, "validation", [{"x": 1}])
    assert path.parent.name == "default"
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, str(tmp_path))
    assert len(dataset_loader.load_dataset("org/ds", splits="validation")["validation"]) == 1


def test_null_column_in_one_split_and_strings_in_another(tmp_path, monkeypatch):
    """MGSM: `answer` is null in every test row but a string in train; one inferred schema would break."""
    write_split(
        tmp_path,
        "juletxara/mgsm",
        "zh",
        "train",
        [{"question": "q", "answer": "逐步解答: 1", "answer_number": 1}],
    )
    write_split(
        tmp_path, "juletxara/mgsm", "zh", "test", [{"question": "q", "answer": None, "answer_number": 2}]
    )
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, str(tmp_path))
    ds = dataset_loader.load_dataset("juletxara/mgsm", "zh", ["train", "test"])
    assert ds["train"][0]["answer"] == "逐步解答: 1"
    assert ds["test"][0]["answer"] is None


def test_hub_receives_the_pinned_revision(tmp_path, monkeypatch):
    calls = []

    def fake_load_dataset(path, name=None, **kwargs):
        calls.append((path, name, kwargs))
        return datasets.Dataset.from_list([{"x": 1}])

    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(dataset_loader.datasets, "load_dataset", fake_load_dataset)
    dataset_loader.load_dataset("org/ds", "cfg", ["test"], revision="0123abcd")
    assert calls == [("org/ds", "cfg", {"split": "test", "revision": "0123abcd"})]


def test_mirror_is_preferred_over_the_hub(tmp_path, monkeypatch):
    write_split(tmp_path, "org/ds", "cfg", "test", [{"x": 1}])
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(
        dataset_loader.datasets, "load_dataset", lambda *a, **k: pytest.fail("the Hub must not be called")
    )
    assert dataset_loader.load_dataset("org/ds", "cfg", ["test"])["test"][0]["x"] == 1


def test_offline_missing_dataset_is_one_line_naming_dataset_config_and_both_fixes(tmp_path, monkeypatch):
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(DatasetUnavailable) as err:
        dataset_loader.load_dataset("ceval/ceval-exam", "law", ["val"], revision="abc")
    message = str(err.value)
    assert "\n" not in message
    assert "ceval/ceval-exam" in message and "law" in message
    assert dataset_loader.DATA_DIR_ENV in message and "HF_HUB_OFFLINE" in message


def test_hub_failure_becomes_one_line(tmp_path, monkeypatch):
    def failing(*args, **kwargs):
        raise ConnectionError("Couldn't reach 'org/ds' on the Hub\n(long details)")

    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, str(tmp_path))
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("HF_DATASETS_OFFLINE", raising=False)
    monkeypatch.setattr(dataset_loader.datasets, "load_dataset", failing)
    with pytest.raises(DatasetUnavailable) as err:
        dataset_loader.load_dataset("org/ds", "cfg", ["test"])
    assert "\n" not in str(err.value) and "Couldn't reach" in str(err.value)


def test_malformed_jsonl_line_names_file_and_line(tmp_path, monkeypatch):
    path = dataset_loader.mirror_path(tmp_path, "org/ds", "cfg", "test")
    path.parent.mkdir(parents=True)
    path.write_text('{"x": 1}\n{"x": 2}\n{"x": \n', encoding="utf-8")
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, str(tmp_path))
    with pytest.raises(InputError) as err:
        dataset_loader.load_dataset("org/ds", "cfg", ["test"])
    assert f"{path}:3:" in str(err.value)
    assert path.read_text(encoding="utf-8").count("\n") == 3  # the mirror is untouched


def test_missing_data_dir_warns_and_goes_on(tmp_path, monkeypatch, caplog):
    write_split(tmp_path / "real", "org/ds", "cfg", "test", [{"x": 1}])
    ghost = tmp_path / "does-not-exist"
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, os.pathsep.join([str(ghost), str(tmp_path / "real")]))
    monkeypatch.setattr(dataset_loader, "_warned_missing", set())
    with caplog.at_level(logging.WARNING):
        ds = dataset_loader.load_dataset("org/ds", "cfg", ["test"])
        dataset_loader.load_dataset("org/ds", "cfg", ["test"])
    assert ds["test"][0]["x"] == 1
    assert [r.getMessage() for r in caplog.records if str(ghost) in r.getMessage()] == [
        f"{dataset_loader.DATA_DIR_ENV} names {ghost}, which does not exist; skipping it"
    ], "warned once, not once per lookup"


def test_lm_eval_style_call_ignores_metadata_keywords(tmp_path, monkeypatch):
    """lm-eval calls custom_dataset(**metadata, **dataset_kwargs)."""
    write_split(tmp_path, "org/ds", "cfg", "test", [{"x": 1}])
    monkeypatch.setenv(dataset_loader.DATA_DIR_ENV, str(tmp_path))
    ds = dataset_loader.load_dataset(
        version=1.0, origin="native", dataset_id="org/ds", config="cfg", splits=["test"]
    )
    assert list(ds) == ["test"]


def test_no_dataset_id_is_a_clear_error():
    with pytest.raises(DatasetUnavailable, match="dataset_id"):
        dataset_loader.load_dataset(splits=["test"])

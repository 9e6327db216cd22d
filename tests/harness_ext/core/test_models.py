"""The one model-reference rule: local directory, hf://, org/name, bare Hub id,
the cache offline, missing paths."""

from __future__ import annotations

import pytest

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.models import cached_snapshot, hub_id_of, resolve_model
from nativeval.harness_ext.testing.hub_cache import add_to_hub_cache


@pytest.fixture
def online(monkeypatch):
    for name in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"):
        monkeypatch.delenv(name, raising=False)


@pytest.fixture
def offline(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)


@pytest.mark.parametrize(
    ("reference", "hub_id"),
    [
        ("gpt2", "gpt2"),
        ("Qwen/Qwen1.5-7B", "Qwen/Qwen1.5-7B"),
        ("hf://Qwen/Qwen1.5-7B", "Qwen/Qwen1.5-7B"),
        ("hf://gpt2", "gpt2"),
        ("/scratch/models/Qwen1.5-7B", None),
        ("./runs/toy", None),
        ("~/models/x", None),
        ("runs/native-zh/final", None),
        ("C:\\models\\x", None),
        ("has space", None),
    ],
)
def test_hub_id_by_spelling(reference, hub_id):
    assert hub_id_of(reference) == hub_id


def test_existing_directory_is_local_even_when_it_looks_like_a_hub_id(
    tmp_path, monkeypatch, offline, hub_cache
):
    (tmp_path / "org" / "name").mkdir(parents=True)
    monkeypatch.chdir(tmp_path)
    ref = resolve_model("org/name", "pretrained=org/name")
    assert ref.kind == "local" and ref.location == str((tmp_path / "org" / "name").resolve())
    assert resolve_model(str(tmp_path), "x").is_local


def test_relative_directory_resolves_against_base_dir(tmp_path):
    (tmp_path / "models" / "toy").mkdir(parents=True)
    ref = resolve_model("models/toy", "path", base_dir=tmp_path)
    assert ref.is_local and ref.location == str(tmp_path / "models" / "toy")


@pytest.mark.parametrize("reference", ["gpt2", "Qwen/Qwen1.5-7B", "hf://Qwen/Qwen1.5-7B"])
def test_hub_ids_online(reference, online, hub_cache):
    ref = resolve_model(reference, f"pretrained={reference}")
    assert ref.kind == "hub" and ref.location == reference.removeprefix("hf://")


@pytest.mark.parametrize("env", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_uncached_hub_id_offline_is_one_line(env, monkeypatch, online, hub_cache):
    monkeypatch.setenv(env, "1")
    with pytest.raises(InputError) as err:
        resolve_model("gpt2", "--model-args pretrained=gpt2")
    message = str(err.value)
    assert message.startswith(
        f"--model-args pretrained=gpt2: the Hugging Face Hub is offline ({env}=1) and gpt2 "
        "is not in the cache"
    )
    assert str(hub_cache) in message and "\n" not in message


def test_cached_hub_id_offline_is_accepted(tmp_path, offline, hub_cache):
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    snapshot = add_to_hub_cache(model, hub_cache, "nativeval-test/tiny")
    assert resolve_model("nativeval-test/tiny", "x").location == "nativeval-test/tiny"
    assert resolve_model("hf://nativeval-test/tiny", "x").location == "nativeval-test/tiny"
    assert cached_snapshot("nativeval-test/tiny") == snapshot
    assert cached_snapshot("nativeval-test/tiny", revision=snapshot.name) == snapshot  # a commit
    with pytest.raises(InputError, match="not in the cache"):
        resolve_model("nativeval-test/tiny", "x", revision="v2")  # cached at main only
    with pytest.raises(InputError, match="nativeval-test/other is not in the cache"):
        resolve_model("nativeval-test/other", "x")


def test_offline_check_can_be_left_to_the_step_that_loads(offline, hub_cache):
    assert resolve_model("gpt2", "x", check_cache=False).location == "gpt2"


@pytest.mark.parametrize(
    "reference",
    ["/nonexistent/model", "./runs/missing", "~/no-such-model-dir", "runs/native-zh/final", "../up/there"],
)
def test_missing_local_path_is_no_such_directory(reference, online, hub_cache):
    with pytest.raises(InputError) as err:
        resolve_model(reference, f"--base {reference}")
    assert str(err.value) == (
        f"--base {reference}: no such directory; give an existing model directory or a Hub id"
    )


def test_a_file_is_not_a_model_directory(tmp_path):
    path = tmp_path / "model.bin"
    path.write_text("x")
    with pytest.raises(InputError, match="not a directory"):
        resolve_model(str(path), f"--base {path}")


@pytest.mark.parametrize("reference", ["", "  ", "hf://"])
def test_empty_reference(reference):
    with pytest.raises(InputError, match="empty"):
        resolve_model(reference, "pretrained")

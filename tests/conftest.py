"""Shared test kit: offline environment, the fixture mirror, and a tiny model built once per session."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")

REPO = Path(__file__).resolve().parents[1]
FIXTURES = REPO / "tests" / "fixtures"
FIXTURE_MIRROR = FIXTURES / "hf_mirror"

os.environ["NATIVEVAL_DATA_DIR"] = str(FIXTURE_MIRROR)


@pytest.fixture(scope="session")
def repo_root() -> Path:
    return REPO


@pytest.fixture(scope="session")
def fixture_mirror() -> Path:
    return FIXTURE_MIRROR


@pytest.fixture(autouse=True)
def _fixture_mirror_env(monkeypatch):
    """Every test starts with the fixture mirror as the only data directory."""
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(FIXTURE_MIRROR))


@pytest.fixture(autouse=True)
def _private_user_tasks(monkeypatch, tmp_path_factory):
    """No test sees (or writes to) the user's own task directory: each gets an empty one of its own."""
    monkeypatch.setenv("NATIVEVAL_USER_TASKS", str(tmp_path_factory.mktemp("user-tasks")))


@pytest.fixture(scope="session")
def tiny_model(tmp_path_factory) -> Path:
    """A random-init Llama + byte-level BPE tokenizer (with a chat template), loadable by lm-eval."""
    from nativeval.harness_ext.testing.toymodel import build_tiny_model

    return build_tiny_model(tmp_path_factory.mktemp("tiny-model"))


@pytest.fixture
def hub_cache(tmp_path, monkeypatch) -> Path:
    """An empty Hugging Face cache as the one this process reads."""
    from huggingface_hub import constants

    cache = tmp_path / "hub-cache"
    cache.mkdir()
    monkeypatch.setattr(constants, "HF_HUB_CACHE", str(cache))
    return cache

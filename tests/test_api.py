"""The Python API of ``import nativeval``: a cheap import, a small surface, and simple_evaluate through it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

import nativeval
from nativeval.harness_ext.catalogue.model import TASKS_DIR, Catalogue, CatalogueTask
from nativeval.harness_ext.core.languages import Language
from nativeval.harness_ext.eval.lm_eval_tasks import with_task_folders
from nativeval.harness_ext.leaderboard.model import Board


def test_import_nativeval_loads_nothing_but_itself():
    code = (
        "import sys; before = set(sys.modules); import nativeval; "
        "print(sorted(set(sys.modules) - before)); print(nativeval.__version__)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    new_modules, version = out.splitlines()
    assert new_modules == "['nativeval']"
    assert version == nativeval.__version__


def test_the_surface_is_typed_and_documented():
    assert set(nativeval.__all__) == {"__version__", *nativeval._API}
    assert {"task_manager", "tasks_path", "catalogue", "languages", "leaderboard"} <= set(nativeval.__all__)
    for name in nativeval.__all__:
        assert getattr(nativeval, name) is not None
        assert name in dir(nativeval)
        assert (
            name == "__version__"
            or f"{name}(" in nativeval.__doc__
            or f":class:`{name}`" in nativeval.__doc__
        )
    assert nativeval.tasks_path() == TASKS_DIR and (TASKS_DIR / "collections" / "native_zh.yaml").is_file()
    cat = nativeval.catalogue()
    assert isinstance(cat, Catalogue) and nativeval.Catalogue is Catalogue
    assert isinstance(cat.task("native_zh_cmmlu"), CatalogueTask)
    zh = nativeval.languages()["zh"]
    assert isinstance(zh, Language) and zh.segmentation == "character"
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        nativeval.nope  # noqa: B018


def test_leaderboard_returns_the_board_model():
    board = nativeval.leaderboard([], reference="paper", resamples=200)
    assert isinstance(board, Board) and board.entries


def test_task_folders_join_any_include_path_once(tmp_path):
    ours = str(TASKS_DIR)
    assert with_task_folders(None) == [ours]
    assert with_task_folders(str(tmp_path)) == [ours, str(tmp_path)]
    assert with_task_folders([tmp_path, TASKS_DIR]) == [str(tmp_path), ours]
    assert with_task_folders((ours,), include_user_tasks=False) == [ours]


def test_the_user_task_directory_already_reaches_our_tasks(monkeypatch, tmp_path):
    monkeypatch.setenv("NATIVEVAL_USER_TASKS", str(tmp_path))
    assert with_task_folders([tmp_path]) == [str(tmp_path)]


def test_task_manager_indexes_our_tasks_besides_the_given_ones(tmp_path):
    extra = tmp_path / "extra"
    extra.mkdir()
    (extra / "my_task.yaml").write_text(
        "task: my_task\ninclude: "
        + str(TASKS_DIR / "native_zh_cmmlu" / "native_zh_cmmlu_agronomy.yaml")
        + "\n"
    )
    manager = nativeval.task_manager(include_path=str(extra), include_defaults=False)
    assert {"native_zh", "translated_zh", "my_task"} <= set(manager.all_tasks)
    assert "hellaswag" not in manager.all_tasks


@pytest.mark.slow
def test_simple_evaluate_runs_our_tasks_through_the_task_manager(tiny_model):
    import lm_eval

    results = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={tiny_model}",
        tasks=["native_zh"],
        limit=1,
        batch_size=64,
        device="cpu",
        gen_kwargs="max_gen_toks=4",  # the open QA task's 1,024 tokens would take minutes on the tiny model
        task_manager=nativeval.task_manager(),
    )
    assert "native_zh_cmmlu_agronomy" in results["results"]
    assert "native_zh_open_qa" in results["results"]
    assert "acc,none" in results["groups"]["native_zh_cmmlu"]
    json.dumps(results["results"], default=str)


def test_the_readme_documents_the_api(repo_root: Path):
    readme = (repo_root / "README.md").read_text(encoding="utf-8")
    section = readme.split("## Python API", 1)[1].split("\n## ", 1)[0]
    for name in ("task_manager(", "tasks_path()", "catalogue()", "languages()", "leaderboard("):
        assert name in section, name

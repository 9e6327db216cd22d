"""The study package's modules form no import cycle (function-level imports count), and every step kind is
known in one place (study/kinds.py): the study file's `commands`, the outputs, the resource classes."""

from __future__ import annotations

import ast
from pathlib import Path

from nativeval.harness_ext.study.kinds import KINDS
from nativeval.harness_ext.study.settings import settings

REPO = Path(__file__).resolve().parents[3]


def _graph(*packages: str) -> dict[str, set[str]]:
    graph = {}
    for package in packages:
        for path in (REPO / "harness_ext" / package).glob("*.py"):
            imported = set()
            for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
                if isinstance(node, ast.ImportFrom) and node.module:
                    imported.add(node.module)
                elif isinstance(node, ast.Import):
                    imported |= {alias.name for alias in node.names}
            graph[f"nativeval.harness_ext.{package}.{path.stem}"] = imported
    return {module: {m for m in imported if m in graph} for module, imported in graph.items()}


def test_no_module_of_study_or_testing_imports_one_that_imports_it_back():
    graph = _graph("study", "testing")
    state: dict[str, str] = {}

    def visit(module: str, path: list[str]) -> None:
        state[module] = "open"
        for target in sorted(graph[module]):
            assert state.get(target) != "open", " -> ".join([*path, target])
            if target not in state:
                visit(target, [*path, target])
        state[module] = "done"

    for module in sorted(graph):
        if module not in state:
            visit(module, [module])


def test_each_step_kind_names_itself_and_a_resource_class_the_settings_give_defaults_for():
    for name, kind in KINDS.items():
        assert kind.name == name and kind.outputs
        assert kind.resource_class in settings()["slurm"]["defaults"], name

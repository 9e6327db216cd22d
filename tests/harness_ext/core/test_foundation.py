"""Packaging, CLI surface, crash-safe IO, the cache, the retry piece and the tiny model."""

from __future__ import annotations

import ast
import asyncio
import json
import re
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.core.cache import KVCache, cache_key
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, read_json, read_jsonl
from nativeval.harness_ext.core.resilience import (
    BudgetExceeded,
    CostLedger,
    PermanentError,
    RetryPolicy,
    call_with_retries,
)

REPO = Path(__file__).resolve().parents[3]
GROUPS = ["data", "tasks", "eval", "translate", "rtt", "finetune", "judge", "leaderboard", "study"]


def test_help_lists_every_command_group():
    result = CliRunner().invoke(cli.main, ["--help"])
    assert result.exit_code == 0
    for group in GROUPS:
        assert f"  {group} " in result.output


def test_version():
    result = CliRunner().invoke(cli.main, ["--version"])
    assert result.exit_code == 0 and "0.1.0" in result.output


def test_console_script_is_installed_and_equivalent():
    exe = Path(sys.executable).with_name("nativeval")
    assert exe.exists(), "pip install -e . must provide the nativeval console script"
    out = subprocess.run([str(exe), "--help"], capture_output=True, text=True, check=True).stdout
    assert out.replace("nativeval", "cli.py") == subprocess.run(
        [sys.executable, str(REPO / "cli.py"), "--help"], capture_output=True, text=True, check=True
    ).stdout.replace("nativeval", "cli.py")


# Who may import whom. Data flows translate -> finetune -> lm-eval over tasks -> judge -> leaderboard;
# harness_ext.core and harness_ext.catalogue are the base every package may use.
ALLOWED_IMPORTS = {
    "harness_ext.core": set(),
    "harness_ext.catalogue": {"harness_ext.core"},
    "harness_ext.eval": {"harness_ext.core", "harness_ext.catalogue"},
    "harness_ext.report": {"harness_ext.core", "harness_ext.catalogue"},  # what every report shares
    "harness_ext.judge": {"harness_ext.core", "harness_ext.catalogue", "harness_ext.report"},
    "harness_ext.leaderboard": {
        "harness_ext.core",
        "harness_ext.catalogue",
        "harness_ext.judge",
        "harness_ext.report",
    },
    "harness_ext.study": {"harness_ext.core", "harness_ext.catalogue"},  # stand-ins: processes, not imports
    "harness_ext.testing": {"harness_ext.core", "harness_ext.catalogue"},
    "translate": {"harness_ext.core", "harness_ext.catalogue"},
    "finetune": {"harness_ext.core", "harness_ext.catalogue"},
    "tasks": {"harness_ext.core", "harness_ext.catalogue", "harness_ext.eval"},
}


def _unit(dotted: str) -> str:
    """The unit of the import rule: ``harness_ext.<sub-package>`` or a top-level package."""
    parts = dotted.split(".")
    return ".".join(parts[:2]) if parts[0] == "harness_ext" and len(parts) > 1 else parts[0]


def _imports(path: Path) -> list[str]:
    """The nativeval modules a file imports, named without the ``nativeval.`` prefix."""
    names = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names += [f"{node.module}.{a.name}" for a in node.names]
    return [n.removeprefix("nativeval.") for n in names if n.startswith("nativeval.")]


def test_every_package_imports_only_what_the_layout_allows():
    """Each unit imports itself, ``nativeval.__version__`` and what ALLOWED_IMPORTS names."""
    for unit, allowed in ALLOWED_IMPORTS.items():
        folder = REPO.joinpath(*unit.split("."))
        assert folder.is_dir(), unit
        for path in folder.rglob("*.py"):
            for name in _imports(path):
                if name == "__version__":
                    continue
                target = _unit(name)
                assert target == unit or target in allowed, f"{path.relative_to(REPO)} imports {name}"


def test_every_harness_ext_module_lives_in_a_sub_package():
    loose = [p.name for p in (REPO / "harness_ext").glob("*.py") if p.name != "__init__.py"]
    assert loose == []
    subpackages = {p.name for p in (REPO / "harness_ext").iterdir() if (p / "__init__.py").is_file()}
    assert {u.split(".")[1] for u in ALLOWED_IMPORTS if u.startswith("harness_ext.")} == subpackages


def test_study_steps_run_other_packages_only_through_the_cli():
    """The study runner reaches translate / finetune / eval / judge / leaderboard as subprocesses of cli.py;
    the only modules it runs with ``python -m`` are its own built-in steps and the stand-ins."""
    from nativeval.harness_ext.study import entry_points

    modules = set()
    for path in (REPO / "harness_ext" / "study").rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Constant) and isinstance(node.value, str):
                modules |= set(re.findall(r"(?<![\w.])nativeval(?:\.\w+)+", node.value))
    assert {_unit(m.removeprefix("nativeval.")) for m in modules} <= {
        "harness_ext.study",
        "harness_ext.testing",
        "cli",
    }, modules
    assert {entry_points.STUDY_MODULE, entry_points.TESTING_MODULE} <= modules
    assert entry_points.cli_path().endswith("cli.py")


def test_entry_point_and_package_data_declared():
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["lm_eval.tasks"]
    assert meta["project"]["scripts"]["nativeval"] == "nativeval.cli:main"
    assert {"vllm", "google", "dev"} <= set(meta["project"]["optional-dependencies"])


def test_every_data_file_of_the_packages_is_declared_as_package_data():
    """`pip install .` must carry the YAMLs, prompts, templates and embedded data, not only the code."""
    import fnmatch

    import tomllib

    globs = tomllib.loads((REPO / "pyproject.toml").read_text())["tool"]["setuptools"]["package-data"]
    tracked = subprocess.run(["git", "ls-files"], cwd=REPO, capture_output=True, text=True).stdout.split()
    if not tracked:
        pytest.skip("not a git checkout")
    for name in tracked:
        folder, _, rest = name.partition("/")
        package = f"nativeval.{folder}"
        if package not in globs or (name.endswith(".py") and folder != "tasks"):
            continue  # modules of the import packages are found by packages.find; tasks' utils.py are data
        assert any(
            fnmatch.fnmatch(rest, g) or fnmatch.fnmatch(rest, g.replace("**/", "")) for g in globs[package]
        ), (
            f"{name} would be missing from a `pip install .`: add its pattern to "
            "[tool.setuptools.package-data]"
        )


def test_readme_quickstart_and_ci_run_the_same_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make demo" in readme
    assert "make test" in ci


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    import nativeval.harness_ext.core.io as hio

    target = tmp_path / "out.json"
    atomic_write_json(target, {"ok": 1})

    def crash(src, dst):
        raise KeyboardInterrupt

    monkeypatch.setattr(hio.os, "replace", crash)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_json(target, {"ok": 2})
    assert json.loads(target.read_text()) == {"ok": 1}
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_malformed_json_and_jsonl_name_file_and_line(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text('{\n  "a": 1,\n  oops\n}')
    with pytest.raises(InputError, match=r"bad.json:3:"):
        read_json(bad)
    lines = tmp_path / "bad.jsonl"
    lines.write_text('{"a": 1}\n\n{"a": \n')
    with pytest.raises(InputError, match=r"bad.jsonl:3:"):
        read_jsonl(lines)


def test_cache_is_durable_across_processes(tmp_path):
    path = tmp_path / "cache.sqlite"
    key = cache_key("gpt-4-turbo", "v1", "¿Qué?", "答案")
    code = (
        "from nativeval.harness_ext.core.cache import KVCache; "
        f"KVCache({str(path)!r}).put({key!r}, {{'rating': 4}})"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    with KVCache(path) as cache:
        assert cache.get(key) == {"rating": 4}
        assert cache.get(cache_key("other")) is None
    assert cache_key("a", "b") != cache_key("ab")


class _HTTPError(Exception):
    def __init__(self, status, headers=None):
        super().__init__(f"HTTP {status}")
        self.status_code = status
        self.response = type("R", (), {"headers": headers or {}, "status_code": status})()


def test_retries_transient_errors_and_honours_retry_after(monkeypatch):
    sleeps = []

    async def fake_sleep(delay):
        sleeps.append(delay)

    monkeypatch.setattr(asyncio, "sleep", fake_sleep)
    failures = [_HTTPError(429, {"retry-after": "7"}), _HTTPError(500)]

    async def flaky():
        if failures:
            raise failures.pop(0)
        return "ok"

    assert asyncio.run(call_with_retries(flaky, RetryPolicy(base_delay=0.01))) == "ok"
    assert sleeps[0] == 7.0 and 0 <= sleeps[1] <= 0.02


def test_client_errors_are_not_retried():
    calls = []

    async def unauthorized():
        calls.append(1)
        raise _HTTPError(401)

    with pytest.raises(PermanentError, match="401"):
        asyncio.run(call_with_retries(unauthorized, RetryPolicy(base_delay=0)))
    assert len(calls) == 1


def test_cost_cap_stops_before_it_is_exceeded():
    ledger = CostLedger(prices={"m": {"input": 10.0, "output": 30.0}}, max_cost=0.001)
    worst = ledger.price("m", input_tokens=20, output_tokens=10)  # 0.0005
    ledger.reserve(worst)
    ledger.settle(worst, "m", input_tokens=20, output_tokens=10)
    ledger.reserve(worst)
    ledger.settle(worst, "m", input_tokens=20, output_tokens=10)
    with pytest.raises(BudgetExceeded):
        ledger.reserve(worst)
    assert ledger.spent <= 0.001 + 1e-12 and ledger.calls == 2


def test_tiny_model_covers_three_scripts_and_has_a_chat_template(tiny_model):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    tok = AutoTokenizer.from_pretrained(tiny_model)
    for text in ["La respuesta es 1.234,5", "Ответ: 18.", "答案是 18。"]:
        assert tok.decode(tok(text)["input_ids"]) == text
    assert tok.unk_token_id not in tok("¿Dónde está 北京? Москва!")["input_ids"]
    prompt = tok.apply_chat_template(
        [{"role": "user", "content": "hola"}], tokenize=False, add_generation_prompt=True
    )
    assert "hola" in prompt and prompt.endswith("<|assistant|>\n")
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert {"q_proj", "k_proj", "v_proj"} <= {n.split(".")[-1] for n, _ in model.named_modules()}


def test_stand_in_judge_is_deterministic_and_speaks_the_verdict_format():
    from nativeval.harness_ext.testing.openai_stub import deterministic_judge

    def ask(answer):
        prompt = (
            f"[Question]\nq\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
        )
        return deterministic_judge({"messages": [{"role": "user", "content": prompt}]})

    import re

    ratings = {
        a: int(re.search(r"Rating: \[\[(\d)\]\]", ask(a)).group(1))
        for a in [f"answer {i}" for i in range(40)]
    }
    assert set(ratings.values()) == {1, 2, 3, 4, 5}
    assert all(ask(a) == ask(a) for a in ratings)
    assert "Rating: [[1]]" in ask("") and "stand-in" in ask("x").lower()


def test_atomic_writes_get_ordinary_permissions_not_owner_only(tmp_path):
    import os
    import stat

    from nativeval.harness_ext.core.io import _UMASK, atomic_write_text

    target = tmp_path / "mirror" / "rows.jsonl"
    atomic_write_text(target, "{}\n")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~_UMASK


PACKAGE_FOLDERS = ("harness_ext", "translate", "finetune", "tasks")


def _module_name(path: Path) -> str:
    parts = ["nativeval", *path.relative_to(REPO).with_suffix("").parts]
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _package_modules() -> dict[str, Path]:
    paths = [REPO / "__init__.py", REPO / "cli.py"]
    paths += [p for folder in PACKAGE_FOLDERS for p in (REPO / folder).rglob("*.py")]
    return {_module_name(p): p for p in paths}


def _known_prefix(dotted: str, modules: dict[str, Path]) -> str | None:
    """The longest prefix of ``dotted`` that is one of nativeval's modules (None outside nativeval)."""
    parts = dotted.split(".")
    for end in range(len(parts), 0, -1):
        if ".".join(parts[:end]) in modules:
            return ".".join(parts[:end])
    return None


def _is_type_checking(test: ast.expr) -> bool:
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _runtime_imports(tree: ast.AST) -> list[ast.Import | ast.ImportFrom]:
    """Every import statement Python can run, at any depth (functions included); not the ones under
    ``if TYPE_CHECKING:``, which only type checkers read."""
    found = []
    stack = [tree]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Import | ast.ImportFrom):
            found.append(node)
        elif isinstance(node, ast.If) and _is_type_checking(node.test):
            stack.extend(node.orelse)
            continue
        stack.extend(ast.iter_child_nodes(node))
    return found


def _imported_modules(name: str, path: Path, modules: dict[str, Path]) -> set[str]:
    """Every nativeval module that ``name`` imports at run time, at any depth of its code (functions
    included): relative imports resolved, and ``from package import submodule`` counted as importing the
    submodule."""
    package = name if path.name == "__init__.py" else name.rpartition(".")[0]
    found = set()
    for node in _runtime_imports(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            targets = [alias.name for alias in node.names]
        else:
            if node.level:
                base = ".".join(package.split(".")[: len(package.split(".")) - node.level + 1])
                base = f"{base}.{node.module}" if node.module else base
            else:
                base = node.module or ""
            targets = [f"{base}.{alias.name}" for alias in node.names]
        found |= {m for t in targets if (m := _known_prefix(t, modules)) is not None}
    return found - {name}


def _import_graph() -> dict[str, set[str]]:
    modules = _package_modules()
    return {name: _imported_modules(name, path, modules) for name, path in modules.items()}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """One shortest cycle through each strongly connected component of more than one module."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    components: list[set[str]] = []

    def visit(node: str) -> None:  # Tarjan's algorithm
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for succ in sorted(graph[node]):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in on_stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            component = set()
            while True:
                member = stack.pop()
                on_stack.discard(member)
                component.add(member)
                if member == node:
                    break
            if len(component) > 1:
                components.append(component)

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return sorted(_shortest_cycle(graph, component) for component in components)


def _shortest_cycle(graph: dict[str, set[str]], component: set[str]) -> list[str]:
    """A shortest cycle from the component's first module back to it (breadth-first inside the component)."""
    start = min(component)
    parents: dict[str, str | None] = {start: None}
    frontier = [start]
    while True:
        following = []
        for node in frontier:
            for succ in sorted(graph[node] & component):
                if succ == start:
                    path = [node]
                    while (parent := parents[path[-1]]) is not None:
                        path.append(parent)
                    return [*reversed(path), start]
                if succ not in parents:
                    parents[succ] = node
                    following.append(succ)
        frontier = following


def test_import_graph_counts_relative_function_level_and_submodule_imports(tmp_path):
    (tmp_path / "pkg" / "sub").mkdir(parents=True)
    files = {
        "pkg.a": "pkg/a.py",
        "pkg.sub": "pkg/sub/__init__.py",
        "pkg.sub.b": "pkg/sub/b.py",
        "pkg.sub.c": "pkg/sub/c.py",
    }
    modules = {name: tmp_path / rel for name, rel in files.items()}
    for path in modules.values():
        path.write_text("", encoding="utf-8")
    modules["pkg.a"].write_text(
        "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import pkg.sub.c\n"
        "def f():\n    from pkg.sub import b, helper\n",
        encoding="utf-8",
    )
    modules["pkg.sub.b"].write_text("from . import c\nfrom ..a import f\nimport os\n", encoding="utf-8")
    modules["pkg.sub"].write_text("from .c import thing\n", encoding="utf-8")
    assert _imported_modules("pkg.a", modules["pkg.a"], modules) == {"pkg.sub.b", "pkg.sub"}
    assert _imported_modules("pkg.sub.b", modules["pkg.sub.b"], modules) == {"pkg.sub.c", "pkg.a"}
    assert _imported_modules("pkg.sub", modules["pkg.sub"], modules) == {"pkg.sub.c"}
    assert _cycles({"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}) == [["a", "b", "c", "a"]]
    assert _cycles({"a": {"b", "c"}, "b": {"a"}, "c": {"b"}}) == [["a", "b", "a"]]
    assert _cycles({"a": {"b"}, "b": set()}) == []


def test_no_module_imports_another_that_imports_it_back():
    """No import cycle among nativeval's modules, however long, counting imports inside functions."""
    cycles = _cycles(_import_graph())
    assert not cycles, "import cycles:\n" + "\n".join(" -> ".join(c) for c in cycles)

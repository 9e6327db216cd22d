"""Packaging, CLI surface, crash-safe IO, the cache, the retry piece and the tiny model."""

from __future__ import annotations

import ast
import asyncio
import json
import subprocess
import sys
from pathlib import Path

import pytest
from click.testing import CliRunner

import cli
from harness_ext.cache import KVCache, cache_key
from harness_ext.errors import InputError
from harness_ext.io import atomic_write_json, read_json, read_jsonl
from harness_ext.resilience import BudgetExceeded, CostLedger, PermanentError, RetryPolicy, call_with_retries

REPO = Path(__file__).resolve().parents[1]
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


def test_no_package_imports_from_downstream():
    """Data flows translate -> finetune -> tasks -> harness_ext; the foundation modules are shared."""
    foundation = {"errors", "io", "data", "cache", "resilience", "langid_check", "toymodel", "openai_stub"}
    forbidden = {"harness_ext": {"translate", "finetune", "cli"}, "translate": {"finetune", "tasks", "cli"},
                 "finetune": {"tasks", "cli"}, "tasks": {"translate", "finetune", "cli"}}
    for package, banned in forbidden.items():
        for path in (REPO / package).rglob("*.py"):
            tree = ast.parse(path.read_text(encoding="utf-8"))
            for node in ast.walk(tree):
                names = []
                if isinstance(node, ast.Import):
                    names = [a.name for a in node.names]
                elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                    names = [node.module]
                for name in names:
                    top = name.split(".")[0]
                    assert top not in banned, f"{path} imports {name}"
                    if package in ("translate", "finetune") and top == "harness_ext" and "." in name:
                        assert name.split(".")[1] in foundation, f"{path} imports evaluation-side {name}"


def test_entry_point_and_package_data_declared():
    import tomllib

    meta = tomllib.loads((REPO / "pyproject.toml").read_text())
    assert meta["project"]["entry-points"]["lm_eval.tasks"]
    assert meta["project"]["scripts"]["nativeval"] == "cli:main"
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
        package, _, rest = name.partition("/")
        if package not in globs or (name.endswith(".py") and package != "tasks"):
            continue  # modules of the import packages are found by packages.find; tasks' utils.py are data
        assert any(fnmatch.fnmatch(rest, g) or fnmatch.fnmatch(rest, g.replace("**/", "")) for g in globs[package]), (
            f"{name} would be missing from a `pip install .`: add its pattern to [tool.setuptools.package-data]"
        )


def test_readme_quickstart_and_ci_run_the_same_test_command():
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    ci = (REPO / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make demo" in readme
    assert "make test" in ci


def test_atomic_write_keeps_the_old_file_when_interrupted(tmp_path, monkeypatch):
    import harness_ext.io as hio

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
    code = f"from harness_ext.cache import KVCache; KVCache({str(path)!r}).put({key!r}, {{'rating': 4}})"
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
    prompt = tok.apply_chat_template([{"role": "user", "content": "hola"}], tokenize=False, add_generation_prompt=True)
    assert "hola" in prompt and prompt.endswith("<|assistant|>\n")
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    assert {"q_proj", "k_proj", "v_proj"} <= {n.split(".")[-1] for n, _ in model.named_modules()}


def test_stand_in_judge_is_deterministic_and_speaks_the_verdict_format():
    from harness_ext.openai_stub import deterministic_judge

    def ask(answer):
        prompt = f"[Question]\nq\n\n[The Start of Assistant's Answer]\n{answer}\n[The End of Assistant's Answer]"
        return deterministic_judge({"messages": [{"role": "user", "content": prompt}]})

    import re

    ratings = {a: int(re.search(r"Rating: \[\[(\d)\]\]", ask(a)).group(1)) for a in [f"answer {i}" for i in range(40)]}
    assert set(ratings.values()) == {1, 2, 3, 4, 5}
    assert all(ask(a) == ask(a) for a in ratings)
    assert "Rating: [[1]]" in ask("") and "stand-in" in ask("x").lower()


def test_atomic_writes_get_ordinary_permissions_not_owner_only(tmp_path):
    import os
    import stat

    from harness_ext.io import _UMASK, atomic_write_text

    target = tmp_path / "mirror" / "rows.jsonl"
    atomic_write_text(target, "{}\n")
    assert stat.S_IMODE(os.stat(target).st_mode) == 0o666 & ~_UMASK

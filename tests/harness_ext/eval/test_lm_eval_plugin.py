"""`nativeval lm-eval-plugin`: the .pth file it writes and removes, and the start-up hook it installs."""

from __future__ import annotations

import importlib.metadata
import json
import os
import subprocess
import sys
import sysconfig
import types
from pathlib import Path

import pytest
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.catalogue.model import TASKS_DIR
from nativeval.harness_ext.eval import lm_eval_hook, lm_eval_plugin

SHARED_PLUGIN_FILE = Path(sysconfig.get_paths()["purelib"]) / lm_eval_plugin.PTH_NAME


@pytest.fixture(autouse=True, scope="module")
def _never_in_the_shared_environment():
    """The interpreter running the tests never gets the plugin: only throwaway folders and venvs do."""
    assert not SHARED_PLUGIN_FILE.exists(), f"{SHARED_PLUGIN_FILE} was left by an earlier run; delete it"
    yield
    assert not SHARED_PLUGIN_FILE.exists()


def _invoke(*args: str):
    return CliRunner().invoke(cli.main, ["lm-eval-plugin", *args])


def test_enable_status_disable_write_and_remove_exactly_one_file(tmp_path):
    (tmp_path / "other.pth").write_text("import os\n")
    before = sorted(os.listdir(tmp_path))
    assert "disabled" in _invoke("status", "--site-dir", str(tmp_path)).output
    result = _invoke("enable", "--site-dir", str(tmp_path))
    assert result.exit_code == 0, result.output
    plugin_file = tmp_path / lm_eval_plugin.PTH_NAME
    assert plugin_file.read_text() == lm_eval_plugin.PTH_TEXT
    assert [line for line in lm_eval_plugin.PTH_TEXT.splitlines() if not line.startswith("#")][0].startswith(
        "import "
    )
    assert sorted(os.listdir(tmp_path)) == sorted([*before, lm_eval_plugin.PTH_NAME])
    assert _invoke("enable", "--site-dir", str(tmp_path)).exit_code == 0  # twice: still one file
    assert f"enabled: {plugin_file}" in _invoke("status", "--site-dir", str(tmp_path)).output
    result = _invoke("disable", "--site-dir", str(tmp_path))
    assert result.exit_code == 0 and f"removed {plugin_file}" in result.output
    assert sorted(os.listdir(tmp_path)) == before
    assert "there was no" in _invoke("disable", "--site-dir", str(tmp_path)).output


def test_an_older_plugin_file_is_reported_and_rewritten(tmp_path):
    plugin_file = tmp_path / lm_eval_plugin.PTH_NAME
    plugin_file.write_text(f"{lm_eval_plugin.HEADER} an older one\nimport sys\n")
    assert "another nativeval version" in _invoke("status", "--site-dir", str(tmp_path)).output
    _invoke("enable", "--site-dir", str(tmp_path))
    assert plugin_file.read_text() == lm_eval_plugin.PTH_TEXT


def test_errors_are_one_line_with_an_exit_code(tmp_path, monkeypatch):
    result = _invoke("enable", "--site-dir", str(tmp_path / "missing"))
    assert result.exit_code == 2 and result.output.count("\n") == 1 and "does not exist" in result.output
    foreign = tmp_path / lm_eval_plugin.PTH_NAME
    foreign.write_text("import something_else\n")
    result = _invoke("disable", "--site-dir", str(tmp_path))
    assert result.exit_code == 2 and "not a file nativeval wrote" in result.output
    assert foreign.read_text() == "import something_else\n"
    foreign.unlink()
    monkeypatch.setattr(lm_eval_plugin, "_writable", lambda folder: False)  # tests may run as root
    result = _invoke("enable", "--site-dir", str(tmp_path))
    assert result.exit_code == 2 and "cannot write to" in result.output and result.output.count("\n") == 1
    assert not foreign.exists()


def test_the_default_site_dir_is_this_interpreters(monkeypatch, tmp_path):
    assert lm_eval_plugin.status().path == SHARED_PLUGIN_FILE  # read only: the tests never enable it here
    monkeypatch.setattr(lm_eval_plugin, "default_site_dir", lambda: tmp_path)
    assert lm_eval_plugin.enable().path == tmp_path / lm_eval_plugin.PTH_NAME
    assert lm_eval_plugin.disable().enabled is False
    assert not SHARED_PLUGIN_FILE.exists()


def _run_plugin_line(extra_path: Path | None = None) -> subprocess.CompletedProcess:
    """The .pth file's import line run as site.py runs it, in a Python that finds no installed nativeval."""
    (line,) = [x for x in lm_eval_plugin.PTH_TEXT.splitlines() if x.startswith("import ")]
    code = f"import sys; sys.path.insert(0, {str(extra_path)!r})\n" if extra_path else ""
    return subprocess.run(
        [sys.executable, "-S", "-E", "-c", f"{code}exec({line!r}); print('started')"],
        capture_output=True,
        text=True,
        cwd=extra_path or "/",
    )


def test_the_plugin_line_never_stops_python_from_starting(tmp_path):
    gone = _run_plugin_line()  # nativeval uninstalled, the file left behind: silence
    assert (gone.returncode, gone.stdout, gone.stderr) == (0, "started\n", "")
    broken = tmp_path / "nativeval"
    broken.mkdir()
    (broken / "__init__.py").write_text("raise RuntimeError('half-upgraded')\n")
    warned = _run_plugin_line(tmp_path)
    assert (warned.returncode, warned.stdout) == (0, "started\n")
    assert warned.stderr == "warning: nativeval lm-eval plugin: RuntimeError('half-upgraded')\n"


# --- the hook ----------------------------------------------------------------------------------------
def _fake_lm_eval_tasks(folder: Path, source: str = "from lm_eval.tasks.manager import TaskManager\n"):
    """A module shaped like lm_eval.tasks: a TaskManager recording its include_path, a source file."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "__init__.py").write_text(source)
    module = types.ModuleType("fake_lm_eval_tasks")
    module.__file__ = str(folder / "__init__.py")

    class TaskManager:
        def __init__(self, verbosity=None, include_path=None, include_defaults=True, metadata=None):
            self.include_path = include_path
            self.include_defaults = include_defaults

    module.TaskManager = TaskManager
    return module


@pytest.mark.parametrize(
    ("args", "kwargs", "expected_tail"),
    [
        ((), {}, []),
        ((), {"include_path": "/x"}, ["/x"]),
        ((None, ["/x", "/y"]), {}, ["/x", "/y"]),
        ((), {"include_path": [str(TASKS_DIR), "/x"]}, ["/x"]),
    ],
)
def test_the_hook_puts_our_folder_first_in_every_include_path_once(tmp_path, args, kwargs, expected_tail):
    module = _fake_lm_eval_tasks(tmp_path / "tasks")
    lm_eval_hook.patch(module)
    lm_eval_hook.patch(module)  # a second install wraps nothing more
    manager = module.TaskManager(*args, include_defaults=False, **kwargs)
    assert manager.include_path == [str(TASKS_DIR), *expected_tail]
    assert manager.include_defaults is False


def test_the_hook_steps_aside_when_lm_eval_reads_the_entry_point_itself(tmp_path):
    source = "from importlib.metadata import entry_points\nPLUGINS = entry_points(group='lm_eval.tasks')\n"
    module = _fake_lm_eval_tasks(tmp_path / "tasks", source)
    assert lm_eval_hook.lm_eval_discovers_entry_points(module)
    lm_eval_hook.patch(module)
    assert module.TaskManager(include_path="/x").include_path == "/x"
    import lm_eval.tasks

    assert not lm_eval_hook.lm_eval_discovers_entry_points(lm_eval.tasks)  # 0.4.13: upstream #4015 open


def test_a_failing_hook_warns_and_lets_lm_eval_run(tmp_path, monkeypatch, capsys):
    from nativeval.harness_ext.eval import lm_eval_tasks

    def broken(include_path, include_user_tasks=True):
        raise RuntimeError("boom")

    monkeypatch.setattr(lm_eval_tasks, "with_task_folders", broken)
    module = _fake_lm_eval_tasks(tmp_path / "tasks")
    lm_eval_hook.patch(module)
    assert module.TaskManager(include_path="/x").include_path == "/x"
    assert "nativeval's lm-eval plugin did nothing (RuntimeError: boom)" in capsys.readouterr().err
    with pytest.raises(TypeError):
        module.TaskManager(nonsense=1)  # lm-eval's own error for a wrong call, not ours


def test_the_installed_hook_waits_for_lm_eval_tasks_and_leaves_no_trace():
    code = (
        "import sys\n"
        "from nativeval.harness_ext.eval import lm_eval_hook\n"
        "lm_eval_hook.install(); lm_eval_hook.install()\n"
        "assert sum(type(f).__name__ == '_Finder' for f in sys.meta_path) == 1\n"
        "import lm_eval.tasks\n"
        "assert not any(type(f).__name__ == '_Finder' for f in sys.meta_path)\n"
        "assert type(lm_eval.tasks.__loader__).__name__ == 'SourceFileLoader'\n"
        "assert lm_eval.tasks.__spec__.loader is lm_eval.tasks.__loader__\n"
        "manager = lm_eval.tasks.TaskManager(include_defaults=False)\n"
        "print('native_zh' in manager.all_tasks, 'translated_zh' in manager.all_tasks)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert proc.stdout.split() == ["True", "True"]


# --- plain lm_eval in a throwaway environment ---------------------------------------------------------
@pytest.fixture
def throwaway_venv(tmp_path) -> Path:
    """A venv of its own whose site-packages reaches the test environment's packages (lm-eval, nativeval)
    through a .pth, with an `lm_eval` console script of its own: the plugin is enabled there, never here."""
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    purelib = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    assert Path(purelib) != SHARED_PLUGIN_FILE.parent
    shared = sysconfig.get_paths()["purelib"]
    Path(purelib, "_test_shared_environment.pth").write_text(f"import site; site.addsitedir({shared!r})\n")
    (script,) = importlib.metadata.entry_points(group="console_scripts", name="lm_eval")
    module, _, function = script.value.partition(":")
    lm_eval_script = venv / "bin" / "lm_eval"
    lm_eval_script.write_text(
        f"#!{python}\nimport sys\nfrom {module} import {function}\nsys.exit({function}())\n"
    )
    lm_eval_script.chmod(0o755)
    return venv


def _site_files(venv: Path) -> list[str]:
    (purelib,) = venv.glob("lib/python*/site-packages")
    return sorted(os.listdir(purelib))


@pytest.mark.slow
def test_plain_lm_eval_runs_our_tasks_with_the_plugin_and_forgets_them_without(
    throwaway_venv, tiny_model, tmp_path
):
    python = throwaway_venv / "bin" / "python"
    env = {**os.environ, "PATH": f"{throwaway_venv / 'bin'}{os.pathsep}{os.environ['PATH']}"}
    before = _site_files(throwaway_venv)
    plugin = [str(python), "-m", "nativeval.cli", "lm-eval-plugin"]
    enabled = subprocess.run([*plugin, "enable"], capture_output=True, text=True, env=env, check=True)
    assert str(throwaway_venv) in enabled.stdout
    assert _site_files(throwaway_venv) == sorted([*before, lm_eval_plugin.PTH_NAME])

    # the hook costs nothing until lm_eval.tasks is imported: it loads these four small modules, no more
    code = "import sys; print(sorted(m for m in sys.modules if m.startswith('nativeval')))"
    loaded = subprocess.run([str(python), "-c", code], capture_output=True, text=True, env=env, check=True)
    assert loaded.stdout.strip() == str(
        sorted(
            [
                "nativeval",
                "nativeval.harness_ext",
                "nativeval.harness_ext.eval",
                "nativeval.harness_ext.eval.lm_eval_hook",
            ]
        )
    )

    # the literal command, with two speed-ups after it (batched scoring, short open-QA answers)
    command = (
        f"lm_eval --model hf --model_args pretrained={tiny_model} --tasks native_zh,translated_zh --limit 1"
        f" --batch_size 64 --gen_kwargs max_gen_toks=4 --output_path {tmp_path / 'out'}"
    )
    proc = subprocess.run(command, shell=True, capture_output=True, text=True, env=env, cwd=tmp_path)
    assert proc.returncode == 0, proc.stderr[-3000:]
    (results_file,) = (tmp_path / "out").rglob("results_*.json")
    results = json.loads(results_file.read_text())
    assert {"native_zh_cmmlu", "translated_zh_ht_mmlu"} <= set(results["groups"])
    assert "native_zh_open_qa" in results["results"]

    disabled = subprocess.run([*plugin, "disable"], capture_output=True, text=True, env=env, check=True)
    assert "removed" in disabled.stdout
    assert _site_files(throwaway_venv) == before
    unknown = subprocess.run(
        "lm_eval --model hf --model_args pretrained=x --tasks native_zh --limit 1",
        shell=True,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
    )
    assert unknown.returncode != 0
    assert "Tasks not found: native_zh" in unknown.stderr

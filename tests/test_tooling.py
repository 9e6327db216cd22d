"""Developer tooling in step: pre-commit runs the ruff the dev extras pin; the CI scripts parse."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest
import tomllib

REPO = Path(__file__).resolve().parents[1]


def test_pre_commit_runs_the_ruff_that_the_dev_extras_pin():
    dev = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]["optional-dependencies"]["dev"]
    (pin,) = [re.fullmatch(r"ruff==([\d.]+)", d).group(1) for d in dev if d.startswith("ruff")]
    config = (REPO / ".pre-commit-config.yaml").read_text(encoding="utf-8")
    assert f"rev: v{pin}\n" in config


@pytest.mark.parametrize("script", ["setup.sh", "install_torch.sh", "wheel_check.sh", "step.sh"])
def test_shell_scripts_parse(script):
    proc = subprocess.run(["bash", "-n", str(REPO / "scripts" / script)], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr


def test_ci_checks_the_wheel_after_the_tests():
    steps = (REPO / ".ci" / "run").read_text(encoding="utf-8").splitlines()
    assert steps.index("make wheel-check") > steps.index("make test")


def test_a_failed_setup_step_names_its_log_shows_its_tail_and_exits_1(tmp_path):
    log = tmp_path / "setup.log"
    script = (
        f'LOG={log}; : > "$LOG"; STEP_PREFIX=setup STEP_LOG_NOTE="pip\'s output is in $LOG"\n'
        f"source {REPO / 'scripts' / 'step.sh'}\n"
        'step "installing quietly" echo chatter\n'
        'step "installing nativeval" sh -c "echo resolver error; exit 3"\n'
        "echo not reached\n"
    )
    proc = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
    assert proc.returncode == 1
    assert proc.stdout.splitlines() == ["setup: installing quietly", "setup: installing nativeval"]
    assert f"pip's output is in {log}" in proc.stderr and "resolver error" in proc.stderr
    assert log.read_text().splitlines() == ["chatter", "resolver error"]

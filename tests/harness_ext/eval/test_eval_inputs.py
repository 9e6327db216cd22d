"""`nativeval eval` refuses bad model paths with one line, before lm-eval builds anything."""

from __future__ import annotations

import pytest
from click.testing import CliRunner

import cli


@pytest.mark.parametrize(
    ("model_args", "expected"),
    [
        ("pretrained=/nonexistent/model", "pretrained=/nonexistent/model: no such directory"),
        ("pretrained=./runs/missing", "no such directory"),
        ("pretrained={tiny},peft=/nonexistent/adapter", "peft=/nonexistent/adapter: no such directory"),
        ("pretrained=Qwen/Qwen1.5-7B", "the Hugging Face Hub is offline"),
    ],
)
def test_bad_model_path_is_one_line_exit_2_and_writes_nothing(tiny_model, tmp_path, model_args, expected):
    out = tmp_path / "results"
    out.mkdir()
    (out / "earlier.json").write_text("{}")
    result = CliRunner().invoke(
        cli.main,
        ["eval", "--model", "hf", "--model-args", model_args.format(tiny=tiny_model),
         "--tasks", "translated_zh_mgsm", "--output-path", str(out), "--limit", "1"],
    )
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("error: ") and expected in lines[0]
    assert "Traceback" not in result.output
    assert sorted(p.name for p in out.iterdir()) == ["earlier.json"]

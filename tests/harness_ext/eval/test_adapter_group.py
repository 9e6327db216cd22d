"""`nativeval eval --peft A,B,C`: one base load for a group of adapters, and the files of separate runs.

Adapters are tiny random LoRA adapters of the session's tiny model, made on the fly (PEFT's own
``save_pretrained``: the adapter_config.json schema is PEFT's)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import transformers
from click.testing import CliRunner

from nativeval import cli
from nativeval.harness_ext.eval.adapter_group import run_group
from nativeval.harness_ext.eval.run import EvalRequest, run

pytestmark = pytest.mark.slow
TASKS = ["translated_zh_mt_mmlu", "translated_zh_xquad"]
VOLATILE = {
    "date",
    "start_time",
    "end_time",
    "total_evaluation_time_seconds",
    "pretty_env_info",
    "transformers_version",
    "lm_eval_version",
    "git_hash",
    "upper_git_hash",
    "task_hashes",
}


def make_adapter(base: Path, out: Path, seed: int) -> Path:
    import peft
    import torch

    torch.manual_seed(seed)
    model = transformers.AutoModelForCausalLM.from_pretrained(base)
    config = peft.LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"], init_lora_weights=False)
    peft.get_peft_model(model, config).save_pretrained(out)
    return out


@pytest.fixture(scope="module")
def adapters(tiny_model, tmp_path_factory) -> list[Path]:
    root = tmp_path_factory.mktemp("adapters")
    return [make_adapter(tiny_model, root / f"lora-{i}", seed=i) for i in range(3)]


@pytest.fixture()
def base_loads(monkeypatch) -> list[str]:
    """Every load of a base model's weights, counted where lm-eval's hf model loads them."""
    loads: list[str] = []
    original = transformers.AutoModelForCausalLM.from_pretrained

    def counted(*args, **kwargs):
        loads.append(str(args[0]))
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoModelForCausalLM, "from_pretrained", counted)
    return loads


def request(tiny_model: Path, out: Path, model_args: str = "") -> EvalRequest:
    return EvalRequest(
        model="hf",
        model_args=f"pretrained={tiny_model}{model_args}",
        tasks=TASKS,
        output_path=out,
        limit=2,
        device="cpu",
    )


def files(folder: Path) -> tuple[dict, dict[str, str]]:
    (results,) = folder.rglob("results_*.json")
    data = {k: v for k, v in json.loads(results.read_text()).items() if k not in VOLATILE}
    samples = {p.name.split("_20")[0]: p.read_text() for p in folder.rglob("samples_*.jsonl")}
    return data, samples


def test_a_group_loads_the_base_once_and_writes_the_files_of_separate_runs(
    tiny_model, adapters, tmp_path, base_loads
):
    separate = {}
    for adapter in adapters:
        run(request(tiny_model, tmp_path / "separate" / adapter.name, f",peft={adapter}"))
        separate[adapter.name] = files(tmp_path / "separate" / adapter.name)
    assert len(base_loads) == len(adapters)

    base_loads.clear()
    lines: list[str] = []
    outcomes = run_group(
        request(tiny_model, tmp_path / "grouped"), [str(a) for a in adapters], echo=lines.append
    )
    assert base_loads == [str(tiny_model)]  # one base load for the whole group
    assert [adapter.name for adapter, _ in outcomes] == [a.name for a in adapters]
    for adapter in adapters:
        grouped_results, grouped_samples = files(tmp_path / "grouped" / adapter.name)
        separate_results, separate_samples = separate[adapter.name]
        assert (
            grouped_results == separate_results
        )  # scores, configs, model_args, parameter count: all the same
        assert grouped_samples == separate_samples and len(grouped_samples) == len(TASKS)
        assert grouped_results["config"]["model_args"] == f"pretrained={tiny_model},peft={adapter}"
    # the adapters really differ, so the comparison above can tell a switched adapter from a stale one
    assert (
        len({files(tmp_path / "grouped" / a.name)[1]["samples_translated_zh_mt_mmlu"] for a in adapters}) == 3
    )


def test_adapters_of_different_bases_are_one_line_naming_them_before_anything_loads(
    tiny_model, adapters, tmp_path, base_loads
):
    other = tmp_path / "other-base"
    other.mkdir()
    config = json.loads((adapters[0] / "adapter_config.json").read_text())
    (other / "adapter_config.json").write_text(
        json.dumps({**config, "base_model_name_or_path": "org/other-7b"})
    )
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--model-args",
            f"pretrained={tiny_model}",
            "--tasks",
            TASKS[0],
            "--output-path",
            str(out),
            "--peft",
            f"{adapters[0]},{other}",
        ],
    )
    assert result.exit_code == 2
    assert result.output.strip() == (
        f"error: --peft: adapters of different base models in one group: {adapters[0]} "
        f"({config['base_model_name_or_path']}) "
        f"and {other} (org/other-7b); group adapters of one base, or evaluate them separately"
    )
    assert base_loads == [] and not out.exists()


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--peft", "{a0},{missing}"], "no readable adapter_config.json there"),
        (["--peft", "{a0},"], "expected comma-separated adapter directories"),
        (["--peft", "../up={a0}"], "'../up' cannot name a folder"),
        (["--peft", "x={a0},x={a1}"], "two adapters are named 'x'"),
        (["--peft", "{a0},{a0}"], "two adapters are named 'lora-0'"),
        (["--peft", "{a0}", "--model", "vllm"], "--peft needs --model hf"),
        (["--peft", "{a0}", "--label", "x"], "drop --label"),
    ],
)
def test_bad_peft_groups_are_one_line(tiny_model, adapters, tmp_path, base_loads, extra, message):
    extra = [e.format(a0=adapters[0], a1=adapters[1], missing=tmp_path / "absent") for e in extra]
    out = tmp_path / "out"
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--model-args",
            f"pretrained={tiny_model}",
            "--tasks",
            TASKS[0],
            "--output-path",
            str(out),
            *extra,
        ],
    )
    assert result.exit_code == 2 and len(result.output.strip().splitlines()) == 1 and message in result.output
    assert base_loads == [] and not out.exists()

"""Fine-tuning survives a kill at any moment: during a checkpoint save, during the final save, between
removing the checkpoints and writing the manifest; an unfinished directory is never taken for a model;
the model card is nativeval's own and counts examples honestly (issue 15 items 1-2, issue 12 item 9)."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

import nativeval.finetune.train as train
from nativeval.finetune.data import EMBEDDED_DATA_DIR
from nativeval.finetune.manifest import MANIFEST_NAME
from nativeval.finetune.train import CHECKPOINT_DIR, STAGED_DIR, TRAIN_LOG_NAME, FinetuneConfig, run_finetune
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.runs import RUN_STARTED, UnfinishedRun, refuse_unfinished_runs

NATIVE_ZH = str(EMBEDDED_DATA_DIR / "aya_native_zh_32.json")


def config(base: Path, out: Path, **overrides) -> FinetuneConfig:
    settings = dict(
        base=str(base),
        data=[NATIVE_ZH],
        out=str(out),
        variant="native",
        languages=["zh"],
        epochs=2,
        batch_size=8,
        micro_batch_size=8,
        max_length=64,
        eval_split=0.1,
        progress=False,
    )
    settings.update(overrides)
    return FinetuneConfig(**settings)


class Kill(Exception):
    """Stands in for SIGKILL at a chosen moment (nothing after it runs)."""


def step_counter():
    from transformers import TrainerCallback

    class Steps(TrainerCallback):
        count = 0

        def on_step_end(self, args, state, control, **kwargs):
            Steps.count += 1

    return Steps


def kill_on_save(number: int):
    from transformers import TrainerCallback

    class KillOnSave(TrainerCallback):
        saves = 0

        def on_save(self, args, state, control, **kwargs):
            KillOnSave.saves += 1
            if KillOnSave.saves == number:
                raise Kill("killed")

    return KillOnSave()


def adapter_tensors(out: Path) -> dict[str, torch.Tensor]:
    from safetensors.torch import load_file

    return load_file(str(out / "adapter_model.safetensors"))


@pytest.fixture(scope="module")
def clean_run(tiny_model, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("clean") / "run"
    run_finetune(config(tiny_model, out))
    return out


def test_kill_during_a_checkpoint_save_resumes_from_the_previous_checkpoint(
    tiny_model, tmp_path, caplog, clean_run
):
    out = tmp_path / "r"
    with pytest.raises(Kill):
        run_finetune(config(tiny_model, out, callbacks=[kill_on_save(1)]))
    checkpoints = out / CHECKPOINT_DIR
    (first,) = checkpoints.glob("checkpoint-*")
    # the kill came as the next epoch's checkpoint began: PEFT had written only its README
    torn = checkpoints / f"checkpoint-{2 * int(first.name.split('-')[1])}"
    torn.mkdir()
    (torn / "README.md").write_text("partial")
    with pytest.raises(InputError, match="--resume"):
        run_finetune(config(tiny_model, out))
    steps = step_counter()
    manifest = run_finetune(config(tiny_model, out, resume=True, callbacks=[steps()]))
    assert f"{torn} is incomplete (no weights" in caplog.text
    assert steps.count == 4  # the second epoch only
    assert [e.epoch for e in manifest.epochs] == [1, 2]
    assert not checkpoints.exists() and (out / MANIFEST_NAME).is_file()
    for name, tensor in adapter_tensors(clean_run).items():
        assert torch.equal(tensor, adapter_tensors(out)[name]), name


def test_checkpoint_without_trainer_state_is_skipped_and_a_clean_start_follows(tiny_model, tmp_path, caplog):
    out = tmp_path / "r"
    with pytest.raises(Kill):
        run_finetune(config(tiny_model, out, callbacks=[kill_on_save(1)]))
    (only,) = (out / CHECKPOINT_DIR).glob("checkpoint-*")
    (only / "trainer_state.json").unlink()
    steps = step_counter()
    manifest = run_finetune(config(tiny_model, out, resume=True, callbacks=[steps()]))
    assert "no trainer_state.json" in caplog.text and "starting from the beginning" in caplog.text
    assert steps.count == 8 and manifest.best_epoch in (1, 2)


@pytest.mark.parametrize(
    "moment", ["after_removing_checkpoints", "during_final_save", "while_moving_into_place"]
)
def test_kill_around_the_final_save_never_restarts_training(
    tiny_model, tmp_path, monkeypatch, moment, clean_run
):
    out = tmp_path / "r"
    real_rmtree, real_replace, real_card = shutil.rmtree, train.os.replace, train.model_card

    def kill_after_rmtree(path, *args, **kwargs):
        real_rmtree(path, *args, **kwargs)
        if Path(path).name == CHECKPOINT_DIR:
            raise Kill("killed")

    moves = []

    def kill_on_second_move(src, dst):
        if Path(src).parent.name == STAGED_DIR:
            moves.append(src)
            if len(moves) == 2:
                raise Kill("killed")
        real_replace(src, dst)

    def kill_in_card(*args):
        raise Kill("killed")

    if moment == "after_removing_checkpoints":
        # the old order removed checkpoints, then wrote the manifest; now the manifest is already in place
        monkeypatch.setattr(train.shutil, "rmtree", kill_after_rmtree)
    elif moment == "during_final_save":
        monkeypatch.setattr(train, "model_card", kill_in_card)
    else:
        monkeypatch.setattr(train.os, "replace", kill_on_second_move)
    with pytest.raises(Kill):
        run_finetune(config(tiny_model, out))
    if moment == "while_moving_into_place":
        assert len(moves) == 2 and (out / STAGED_DIR).is_dir()
    monkeypatch.setattr(train.shutil, "rmtree", real_rmtree)
    monkeypatch.setattr(train.os, "replace", real_replace)
    monkeypatch.setattr(train, "model_card", real_card)
    if not (out / MANIFEST_NAME).is_file():
        assert (out / RUN_STARTED).is_file()
        with pytest.raises(UnfinishedRun, match="did not finish"):
            refuse_unfinished_runs({"pretrained": str(tiny_model), "peft": str(out)})
        with pytest.raises(InputError, match="--resume"):
            run_finetune(config(tiny_model, out))
    steps = step_counter()
    manifest = run_finetune(config(tiny_model, out, resume=True, callbacks=[steps()]))
    assert steps.count == 0, "training started again"
    assert [e.epoch for e in manifest.epochs] == [1, 2]
    assert (
        (out / MANIFEST_NAME).is_file()
        and not (out / CHECKPOINT_DIR).exists()
        and not (out / STAGED_DIR).exists()
    )
    assert len([json.loads(x) for x in (out / TRAIN_LOG_NAME).read_text().splitlines()]) > 8
    assert (out / "chat_template.jinja").stat().st_size == (clean_run / "chat_template.jinja").stat().st_size
    for name, tensor in adapter_tensors(clean_run).items():
        assert torch.equal(tensor, adapter_tensors(out)[name]), name
    refuse_unfinished_runs({"peft": str(out)})  # finished: accepted


def test_eval_refuses_an_unfinished_run_directory(tiny_model, tmp_path):
    from nativeval import cli

    out = tmp_path / "unfinished"
    with pytest.raises(Kill):
        run_finetune(config(tiny_model, out, callbacks=[kill_on_save(1)]))
    for name in ("adapter_config.json", "adapter_model.safetensors"):  # looks loadable, is not finished
        shutil.copy(next((out / CHECKPOINT_DIR).glob("checkpoint-*")) / name, out / name)
    result = CliRunner().invoke(
        cli.main,
        [
            "eval",
            "--model",
            "hf",
            "--model-args",
            f"pretrained={tiny_model},peft={out}",
            "--tasks",
            "translated_zh_xquad",
            "--limit",
            "1",
            "--device",
            "cpu",
            "--output-path",
            str(tmp_path / "res"),
        ],
    )
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and f"peft={out} is a nativeval fine-tuning run that did not finish" in errors[0]
    assert not (tmp_path / "res").exists()


def test_leaderboard_refuses_results_of_an_unfinished_run(tmp_path):
    from nativeval import cli

    model = tmp_path / "adapter"
    model.mkdir()
    (model / RUN_STARTED).write_text("{}")
    results = tmp_path / "results" / "m"
    results.mkdir(parents=True)
    (results / "results_2024-01-01T00-00-00.json").write_text(
        json.dumps(
            {
                "results": {"translated_zh_xquad": {"f1,none": 0.5}},
                "config": {"model_args": f"pretrained=x,peft={model}"},
                "configs": {},
                "versions": {},
            }
        )
    )
    result = CliRunner().invoke(
        cli.main, ["leaderboard", str(tmp_path / "results"), "--out", str(tmp_path / "site")]
    )
    assert result.exit_code == 2, result.output
    assert "did not finish (no nativeval_run.json)" in result.output
    assert not (tmp_path / "site").exists()


def test_model_card_is_nativevals_own_and_counts_honestly(clean_run, tiny_model):
    card = (clean_run / "README.md").read_text(encoding="utf-8")
    assert "More Information Needed" not in card
    manifest = json.loads((clean_run / MANIFEST_NAME).read_text())
    (data,) = manifest["data"]
    assert (data["train"], data["held_out"], data["records"]) == (28, 4, 32)
    assert "28 train / 4 held out of 32 records" in card
    assert manifest["base_model"] in card and "`native`" in card and data["sha256"][:16] in card
    for epoch in manifest["epochs"]:
        assert f"{epoch['eval_perplexity']:.4g}" in card
    assert (
        f"nativeval eval --model hf --model-args pretrained={manifest['base_model']},peft={clean_run}" in card
    )
    assert "arXiv:2406.12822" in card and "@inproceedings" in card
    assert f"| lr | {manifest['hyperparameters']['lr']:.4g} |" in card


def test_cli_summary_counts_train_and_held_out(tiny_model, tmp_path):
    from nativeval import cli

    out = tmp_path / "o"
    result = CliRunner().invoke(
        cli.main,
        [
            "finetune",
            "--base",
            str(tiny_model),
            "--data",
            NATIVE_ZH,
            "--lang",
            "zh",
            "--variant",
            "native",
            "--out",
            str(out),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--max-length",
            "64",
        ],
    )
    assert result.exit_code == 0, result.output
    assert "data: 30 train / 2 held out of 32 records" in result.output
    assert "examples used of" not in result.output


@pytest.mark.parametrize(
    "name,blob,where",
    [
        (
            "bad.zh.json",
            b'[{"instruction": "\xff", "output": "b"}]',
            "bad.zh.json: byte 18: the file is not valid UTF-8",
        ),
        (
            "bad.zh.jsonl",
            b'{"instruction": "a", "output": "\xe4\xbd',
            "bad.zh.jsonl: byte 32: the file ends in the middle",
        ),
    ],
)
def test_data_with_bad_bytes_is_one_line_naming_file_and_byte(tiny_model, tmp_path, name, blob, where):
    from nativeval import cli

    data = tmp_path / name
    data.write_bytes(blob)
    result = CliRunner().invoke(
        cli.main,
        [
            "finetune",
            "--base",
            str(tiny_model),
            "--data",
            str(data),
            "--lang",
            "zh",
            "--variant",
            "native",
            "--out",
            str(tmp_path / "o"),
            "--epochs",
            "1",
        ],
    )
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and where in errors[0], result.output
    assert "Traceback" not in result.output and not (tmp_path / "o" / MANIFEST_NAME).exists()

"""Fine-tuning: the study's recipe on a tiny CPU model and embedded real Aya data."""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from click.testing import CliRunner

from nativeval.finetune.card import data_counts
from nativeval.finetune.collate import PadToLongestCollator
from nativeval.finetune.data import EMBEDDED_DATA_DIR, IGNORE_INDEX, Record, prepare, render, tokenize
from nativeval.finetune.manifest import (
    MANIFEST_NAME,
    EpochRecord,
    RunManifest,
    epoch_records,
    read_manifest,
    select_best_epoch,
)
from nativeval.finetune.modeling import resolve_target_modules
from nativeval.finetune.train import TRAIN_LOG_NAME, FinetuneConfig, heldout_perplexity, run_finetune
from nativeval.harness_ext.core.errors import InputError

NATIVE_ZH = str(EMBEDDED_DATA_DIR / "aya_native_zh_32.json")
NATIVE_ES = str(EMBEDDED_DATA_DIR / "aya_native_es_16.json")
NATIVE_RU = str(EMBEDDED_DATA_DIR / "aya_native_ru_16.json")
MANIFEST_KEYS = {
    "kind",
    "schema_version",
    "base_model",
    "variant",
    "languages",
    "tuning",
    "method",
    "template",
    "hyperparameters",
    "data",
    "seed",
    "best_epoch",
    "epochs",
    "versions",
    "created",
}
DATA_KEYS = {"path", "sha256", "records", "used", "train", "held_out", "skipped_empty", "truncated"}


@pytest.fixture(scope="module")
def tokenizer(tiny_model):
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(tiny_model)


@pytest.fixture(scope="module")
def fittable_model(tiny_model, tmp_path_factory) -> Path:
    """The tiny model with embeddings at std 0.3 instead of 0.02.

    With hidden size 64 and tied std-0.02 embeddings the largest reachable logit is about 1, so no run
    that leaves the embeddings frozen (LoRA) can move the output distribution far; larger embeddings
    give an adapter on q, k, v the range to fit data.
    """
    from transformers import AutoModelForCausalLM

    out = tmp_path_factory.mktemp("fittable-model")
    shutil.copytree(tiny_model, out, dirs_exist_ok=True)
    model = AutoModelForCausalLM.from_pretrained(tiny_model)
    with torch.no_grad():
        model.get_input_embeddings().weight.mul_(15)
    model.save_pretrained(out)
    return out


def small_config(base: Path, out: Path, **overrides) -> FinetuneConfig:
    settings = dict(
        base=str(base),
        data=[NATIVE_ZH],
        out=str(out),
        variant="native",
        languages=["zh"],
        epochs=2,
        batch_size=8,
        micro_batch_size=8,
        max_length=96,
        eval_split=0.1,
        progress=False,
    )
    settings.update(overrides)
    return FinetuneConfig(**settings)


def step_losses(out: Path) -> list[float]:
    rows = [json.loads(line) for line in (out / TRAIN_LOG_NAME).read_text().splitlines()]
    return [row["loss"] for row in rows if "loss" in row]


@pytest.fixture(scope="module")
def lora_run(fittable_model, tmp_path_factory) -> Path:
    """A LoRA run with held-out data, shared by the manifest, best-epoch and lm-eval tests."""
    out = tmp_path_factory.mktemp("lora-run") / "run"
    run_finetune(small_config(fittable_model, out, epochs=3, lr=3e-2, eval_split=0.15))
    return out


# --- training ---------------------------------------------------------------------------------------


@pytest.mark.parametrize("method,lr", [("lora", 3e-2), ("full", 1e-2)])
def test_overfits_32_real_aya_examples(fittable_model, tmp_path, method, lr):
    out = tmp_path / method
    manifest = run_finetune(
        small_config(
            fittable_model,
            out,
            method=method,
            lr=lr,
            epochs=10,
            eval_split=0,
            lr_scheduler="constant",
            warmup_ratio=0.0,
        )
    )
    losses = step_losses(out)
    assert len(losses) == 40  # 32 examples / batch 8 x 10 epochs: a few dozen steps
    assert sum(losses[-4:]) / 4 <= 0.5 * losses[0]
    assert manifest.method == method and manifest.data[0].used == 32
    weights = "adapter_model.safetensors" if method == "lora" else "model.safetensors"
    assert (out / weights).is_file() and (out / "tokenizer.json").is_file()
    assert not (out / "checkpoints").exists()


def test_manifest_has_the_documented_shape(lora_run, fittable_model):
    manifest = json.loads((lora_run / MANIFEST_NAME).read_text())
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["kind"] == "nativeval_run" and manifest["schema_version"] == 1
    assert manifest["base_model"] == str(Path(fittable_model).resolve())
    assert (manifest["variant"], manifest["languages"], manifest["tuning"]) == ("native", ["zh"], "mono")
    assert (manifest["method"], manifest["template"], manifest["seed"]) == ("lora", "alpaca", 0)
    hp = manifest["hyperparameters"]
    assert (hp["lora_r"], hp["lora_alpha"], hp["lora_dropout"]) == (8, 16, 0.05)
    assert hp["target_modules"] == ["q_proj", "k_proj", "v_proj"]
    assert {"lr", "epochs", "batch_size", "micro_batch_size", "max_length", "eval_split"} <= set(hp)
    (data,) = manifest["data"]
    assert set(data) == DATA_KEYS and data["records"] == 32 and len(data["sha256"]) == 64
    assert set(manifest["versions"]) == {"torch", "transformers", "peft", "nativeval"}
    assert [e["epoch"] for e in manifest["epochs"]] == [1, 2, 3]
    assert all(set(e) == {"epoch", "train_loss", "eval_perplexity"} for e in manifest["epochs"])
    assert read_manifest(lora_run).to_json() == manifest


def test_a_manifest_from_before_the_held_out_split_counts_what_it_used_as_train():
    old = {
        "kind": "nativeval_run",
        "schema_version": 1,
        "base_model": "b",
        "variant": "native",
        "languages": ["zh"],
        "tuning": "mono",
        "method": "lora",
        "template": "alpaca",
        "hyperparameters": {},
        "data": [
            {"path": "d", "sha256": "0" * 64, "records": 5, "used": 4, "skipped_empty": 1, "truncated": 0}
        ],
        "seed": 0,
        "best_epoch": 1,
        "epochs": [{"epoch": 1, "train_loss": 1.0, "eval_perplexity": None}],
        "versions": {},
        "created": "2026-01-01T00:00:00+00:00",
    }
    manifest = RunManifest.from_json(old)
    assert (manifest.data[0].train, manifest.data[0].held_out) == (4, 0)
    assert (
        data_counts(manifest.data)
        == "4 train / 0 held out of 5 records; 1 skipped (empty response); 0 truncated"
    )


def test_recipe_defaults():
    config = FinetuneConfig(base="b", data=["d"], out="o", variant="native")
    assert (config.method, config.lr, config.epochs, config.batch_size, config.micro_batch_size) == (
        "lora",
        1e-4,
        10,
        64,
        8,
    )
    assert (config.lora_r, config.lora_alpha, config.lora_dropout, config.template) == (8, 16, 0.05, "alpaca")


# --- best epoch -------------------------------------------------------------------------------------


def test_select_best_epoch_picks_lowest_heldout_perplexity():
    epochs = [EpochRecord(n, 1.0, ppl) for n, ppl in ((1, 9.0), (2, 4.0), (3, 5.0), (4, 4.0))]
    assert select_best_epoch(epochs) == 2  # lowest, earliest on ties
    assert select_best_epoch([EpochRecord(1, 1.0, None), EpochRecord(2, 1.0, None)]) == 2


def test_epoch_records_from_trainer_log():
    log = [
        {"loss": 4.0, "epoch": 0.5},
        {"loss": 2.0, "epoch": 1.0},
        {"eval_perplexity": 7.0, "epoch": 1.0},
        {"loss": 1.0, "epoch": 2.0},
        {"eval_perplexity": 8.0, "epoch": 2.0},
        {"train_runtime": 1.0, "epoch": 2.0},
    ]
    assert epoch_records(log) == [EpochRecord(1, 3.0, 7.0), EpochRecord(2, 1.0, 8.0)]


def test_saved_adapter_is_the_best_epoch(lora_run, fittable_model, tokenizer):
    from peft import PeftModel
    from transformers import AutoModelForCausalLM

    manifest = read_manifest(lora_run)
    perplexities = {e.epoch: e.eval_perplexity for e in manifest.epochs}
    assert manifest.best_epoch == min(perplexities, key=perplexities.get)
    data = prepare(
        [NATIVE_ZH],
        tokenizer,
        template="alpaca",
        max_length=96,
        languages=["zh"],
        per_language_cap=None,
        eval_split=0.15,
        seed=0,
    )
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(fittable_model), str(lora_run))
    perplexity, _ = heldout_perplexity(model, data.heldout, PadToLongestCollator(tokenizer.pad_token_id), 8)
    assert perplexity == pytest.approx(perplexities[manifest.best_epoch], rel=1e-4)


def test_early_stopping_keeps_the_best_epoch_weights(fittable_model, tmp_path, monkeypatch):
    """Scripted held-out perplexities 5, 3, 4, 6: patience 1 stops after epoch 3 and epoch 2 is kept."""
    from safetensors.torch import load_file
    from transformers import TrainerCallback

    from nativeval.finetune import train

    class RecordAdapterEachEpoch(TrainerCallback):
        weights: list[dict[str, torch.Tensor]] = []

        def on_epoch_end(self, args, state, control, model=None, **kwargs):
            self.weights.append(
                {
                    n.replace(".default", ""): p.detach().clone()
                    for n, p in model.named_parameters()
                    if "lora_" in n
                }
            )

    scripted = iter([5.0, 3.0, 4.0, 6.0])
    monkeypatch.setattr(train, "heldout_perplexity", lambda *a, **k: (ppl := next(scripted), math.log(ppl)))
    out = tmp_path / "es"
    recorder = RecordAdapterEachEpoch()
    manifest = run_finetune(
        small_config(
            fittable_model, out, epochs=4, patience=1, lr=3e-2, keep_checkpoints=True, callbacks=[recorder]
        )
    )
    assert [e.eval_perplexity for e in manifest.epochs] == [5.0, 3.0, 4.0]
    assert manifest.best_epoch == 2
    steps_per_epoch = 4  # 28 training examples, batch 8
    best = load_file(out / "checkpoints" / f"checkpoint-{2 * steps_per_epoch}" / "adapter_model.safetensors")
    saved = load_file(out / "adapter_model.safetensors")
    assert saved.keys() == best.keys() and all(torch.equal(saved[k], best[k]) for k in best)
    epoch2, epoch3 = recorder.weights[1], recorder.weights[2]
    assert saved.keys() == epoch2.keys()
    assert all(torch.equal(saved[k], epoch2[k]) for k in saved)
    assert not all(torch.equal(saved[k], epoch3[k]) for k in saved)


# --- loss mask and batching ---------------------------------------------------------------------------


def test_loss_covers_response_tokens_only(tiny_model, tokenizer):
    from transformers import AutoModelForCausalLM

    record = Record("孔子在哪里出生？", "", "鲁国。", "aya_zho_1", "zh", 0)
    example = tokenize(record, tokenizer, "alpaca", 512)
    response = tokenizer("鲁国。", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    n_prompt = len(example.input_ids) - len(response)
    assert example.labels[:n_prompt] == [IGNORE_INDEX] * n_prompt
    assert example.labels[n_prompt:] == response == example.input_ids[n_prompt:]

    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    ids = torch.tensor([example.input_ids])
    with torch.no_grad():
        loss = model(input_ids=ids, labels=torch.tensor([example.labels])).loss
        logits = model(input_ids=ids).logits[0]
        # the same loss with the prompt's label positions holding arbitrary tokens, then masked again
        perturbed = list(example.labels)
        perturbed[:n_prompt] = [7] * n_prompt
        perturbed_loss = model(input_ids=ids, labels=torch.tensor([perturbed])).loss
    logprobs = torch.log_softmax(logits[:-1], dim=-1)
    targets = torch.tensor(example.input_ids[1:])
    manual = -logprobs[torch.arange(len(targets)), targets][n_prompt - 1 :].mean()
    assert float(loss) == pytest.approx(float(manual), rel=1e-5)
    assert float(perturbed_loss) != pytest.approx(float(loss), rel=1e-3)  # the mask is what keeps them out


def test_padded_batch_loss_equals_per_example_losses(tiny_model, tokenizer):
    """Pad-to-longest batches: padding and neighbours change nothing (no cross-example attention)."""
    from transformers import AutoModelForCausalLM

    records = json.loads(Path(NATIVE_ZH).read_text())[:3]
    examples = [
        tokenize(Record(r["instruction"], "", r["output"], r["id"], "zh", 0), tokenizer, "alpaca", 256)
        for r in records
    ]
    assert len({len(e.input_ids) for e in examples}) > 1
    model = AutoModelForCausalLM.from_pretrained(tiny_model).eval()
    collator = PadToLongestCollator(tokenizer.pad_token_id)
    total, tokens = 0.0, 0
    with torch.no_grad():
        for e in examples:
            n = sum(label != IGNORE_INDEX for label in e.labels[1:])
            total += (
                float(model(input_ids=torch.tensor([e.input_ids]), labels=torch.tensor([e.labels])).loss) * n
            )
            tokens += n
        batch = collator([{"input_ids": e.input_ids, "labels": e.labels} for e in examples])
        batched = float(model(**batch).loss)
    assert batched == pytest.approx(total / tokens, rel=1e-4)
    assert collator.padding_tokens == batch["input_ids"].numel() - sum(len(e.input_ids) for e in examples)


# --- data: bad records, truncation, mixing, sources ----------------------------------------------------


def test_empty_responses_are_skipped_and_counted(tmp_path, tokenizer):
    rows = json.loads(Path(NATIVE_ZH).read_text())[:6]
    rows[1]["output"], rows[4]["output"] = "", "  \n"
    path = tmp_path / "aya.zh.json"
    path.write_text(json.dumps(rows, ensure_ascii=False))
    data = prepare(
        [str(path)],
        tokenizer,
        template="alpaca",
        max_length=256,
        languages=["zh"],
        per_language_cap=None,
        eval_split=0,
        seed=0,
    )
    (stats,) = data.sources
    assert (stats.records, stats.used, stats.skipped_empty) == (6, 4, 2)


def test_long_examples_lose_the_prompt_start_and_keep_the_response(tokenizer):
    record = Record("很长的问题。" * 40, "", "答案是十八。", "x", "zh", 0)
    response = tokenizer("答案是十八。", add_special_tokens=False)["input_ids"] + [tokenizer.eos_token_id]
    example = tokenize(record, tokenizer, "alpaca", 64)
    assert example.truncated and len(example.input_ids) == 64
    assert example.input_ids[-len(response) :] == response
    assert example.labels[-len(response) :] == response
    full_prompt = tokenizer(render(record, "alpaca", tokenizer)[0])["input_ids"]
    assert (
        example.input_ids[: -len(response)] == full_prompt[-(64 - len(response)) :]
    )  # the prompt's end survives
    assert not tokenize(record, tokenizer, "alpaca", 4096).truncated


def test_truncation_count_reaches_the_manifest(fittable_model, tmp_path):
    manifest = run_finetune(
        small_config(fittable_model, tmp_path / "t", epochs=1, max_length=48, eval_split=0)
    )
    assert manifest.data[0].truncated > 0


def test_multilingual_mixing_with_per_language_caps_is_seeded(tokenizer):
    def mix(seed):
        return prepare(
            [NATIVE_ZH, NATIVE_ES, NATIVE_RU],
            tokenizer,
            template="alpaca",
            max_length=256,
            languages=None,
            per_language_cap=10,
            eval_split=0,
            seed=seed,
        )

    data = mix(0)
    assert data.languages == ["es", "ru", "zh"]
    assert [s.used for s in data.sources] == [10, 10, 10]
    ids = sorted(e.meta["id"] for e in data.train)
    assert ids == sorted(e.meta["id"] for e in mix(0).train)
    assert ids != sorted(e.meta["id"] for e in mix(1).train)
    only_zh = prepare(
        [NATIVE_ZH, NATIVE_ES],
        tokenizer,
        template="alpaca",
        max_length=256,
        languages=["zh"],
        per_language_cap=None,
        eval_split=0,
        seed=0,
    )
    assert {e.meta["lang"] for e in only_zh.train} == {"zh"} and only_zh.sources[1].used == 0


def test_jsonl_and_hf_dataset_sources(tmp_path, monkeypatch, tokenizer):
    rows = json.loads(Path(NATIVE_ZH).read_text())[:4]
    jsonl = tmp_path / "d.jsonl"
    jsonl.write_text("".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows))
    mirror = tmp_path / "mirror" / "CohereForAI" / "aya_dataset" / "default"
    mirror.mkdir(parents=True)
    (mirror / "train.jsonl").write_text(
        "".join(
            json.dumps(
                {
                    "inputs": r["instruction"],
                    "targets": r["output"],
                    "language": "Chinese",
                    "language_code": "zho",
                },
                ensure_ascii=False,
            )
            + "\n"
            for r in rows
        )
    )
    monkeypatch.setenv("NATIVEVAL_DATA_DIR", str(tmp_path / "mirror"))
    data = prepare(
        [str(jsonl), "hf://CohereForAI/aya_dataset"],
        tokenizer,
        template="chat",
        max_length=256,
        languages=["zh"],
        per_language_cap=None,
        eval_split=0,
        seed=0,
    )
    assert [s.used for s in data.sources] == [4, 4]
    assert all(len(s.sha256) == 64 for s in data.sources)


# --- LoRA targets ------------------------------------------------------------------------------------


def _tiny(config_cls_name: str, **kwargs):
    import transformers

    config = getattr(transformers, config_cls_name)(
        vocab_size=64,
        hidden_size=16,
        intermediate_size=32,
        num_hidden_layers=1,
        num_attention_heads=2,
        num_key_value_heads=2,
        **kwargs,
    )
    return transformers.AutoModelForCausalLM.from_config(config)


@pytest.mark.parametrize("config_cls", ["LlamaConfig", "Qwen2Config", "GemmaConfig"])
def test_lora_targets_resolve_to_qkv(config_cls):
    assert resolve_target_modules(_tiny(config_cls, head_dim=8)) == ["q_proj", "k_proj", "v_proj"]


def test_lora_targets_fallback_and_error():
    from transformers import GPT2Config, GPT2LMHeadModel

    gpt2 = GPT2LMHeadModel(GPT2Config(vocab_size=64, n_embd=16, n_layer=1, n_head=2))
    gpt2.config.model_type = "unlisted"
    assert resolve_target_modules(gpt2) == ["c_attn"]
    with pytest.raises(InputError, match="its linear layers are: .*c_attn"):
        resolve_target_modules(gpt2, ["q_proj"])


# --- resume ------------------------------------------------------------------------------------------


def test_resume_after_a_crash(fittable_model, tmp_path):
    from transformers import TrainerCallback

    class CrashAfterFirstCheckpoint(TrainerCallback):
        def on_save(self, args, state, control, **kwargs):
            raise RuntimeError("simulated crash")

    out = tmp_path / "r"
    with pytest.raises(RuntimeError, match="simulated crash"):
        run_finetune(small_config(fittable_model, out, callbacks=[CrashAfterFirstCheckpoint()]))
    assert list((out / "checkpoints").glob("checkpoint-*")) and not (out / MANIFEST_NAME).exists()
    with pytest.raises(InputError, match="--resume"):
        run_finetune(small_config(fittable_model, out))
    manifest = run_finetune(small_config(fittable_model, out, resume=True))
    assert [e.epoch for e in manifest.epochs] == [1, 2]
    assert all(e.train_loss is not None and e.eval_perplexity for e in manifest.epochs)
    losses = step_losses(out)
    assert len(losses) == 8  # 4 steps per epoch, none redone


# --- end to end with lm-eval --------------------------------------------------------------------------

TASK_YAML = """task: nativeval_ft_probe
dataset_path: json
dataset_kwargs:
  data_files:
    test: {data}
test_split: test
output_type: multiple_choice
doc_to_text: "{{{{question}}}}"
doc_to_choice: "{{{{choices}}}}"
doc_to_target: "{{{{answer}}}}"
metric_list:
  - metric: acc
"""


def test_adapter_evaluates_end_to_end_with_lm_eval(lora_run, fittable_model, tmp_path):
    import lm_eval
    from lm_eval.tasks import TaskManager

    data = tmp_path / "probe.jsonl"
    data.write_text(
        "".join(
            json.dumps(r, ensure_ascii=False) + "\n"
            for r in [
                {"question": "孔子在哪里出生？", "choices": ["鲁国", "秦国"], "answer": 0},
                {"question": "中国的首都是哪里？", "choices": ["上海", "北京"], "answer": 1},
            ]
        )
    )
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "probe.yaml").write_text(TASK_YAML.format(data=data))
    results = lm_eval.simple_evaluate(
        model="hf",
        model_args=f"pretrained={fittable_model},peft={lora_run}",
        tasks=["nativeval_ft_probe"],
        task_manager=TaskManager(include_path=str(tmp_path / "tasks"), include_defaults=False),
        device="cpu",
        batch_size=2,
    )
    acc = results["results"]["nativeval_ft_probe"]["acc,none"]
    assert 0.0 <= acc <= 1.0


# --- command line: bad input ----------------------------------------------------------------------------


def _cli(args: list[str]):
    from nativeval import cli

    return CliRunner().invoke(cli.main, ["finetune", *args])


def _base_args(base: Path, out: Path, data: str = NATIVE_ZH) -> list[str]:
    return [
        "--base",
        str(base),
        "--data",
        data,
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
    ]


def _one_line_error(result) -> str:
    assert result.exit_code == 2, result.output
    lines = [line for line in result.output.splitlines() if line.startswith("error:")]
    assert len(lines) == 1, result.output
    return lines[0]


@pytest.mark.parametrize(
    "case,extra,expected",
    [
        ("unknown base", None, "no such directory"),
        ("missing data", ["--data", "/nonexistent/aya.json"], "file not found"),
        (
            "targets not found",
            ["--target-modules", "query,key"],
            "its linear layers are: down_proj, gate_proj, k_proj",
        ),
        ("8-bit on CPU", ["--load-in-8bit"], "needs a CUDA GPU"),
        ("eval split too big", ["--eval-split", "0.99"], "leaves no training data"),
        ("wrong language", ["--lang", "ru"], "no usable records for --lang ru"),
    ],
)
def test_bad_input_is_one_line_error(tiny_model, tmp_path, case, extra, expected):
    base = tmp_path / "no-such-model" if case == "unknown base" else tiny_model
    args = _base_args(base, tmp_path / "out")
    if case == "missing data":
        args[args.index("--data") + 1] = extra[1]
    elif extra:
        args += extra
    assert expected in _one_line_error(_cli(args))
    assert not (tmp_path / "out" / MANIFEST_NAME).exists()


def test_8bit_base_on_a_cpu_machine_is_one_line_before_any_work(tiny_model, tmp_path, monkeypatch):
    """The study's paper configs ask for an 8-bit base (paper §4.1): on a machine without CUDA the finetune
    step says so in one line, before it loads data or a model, and writes nothing."""
    monkeypatch.setattr("torch.cuda.is_available", lambda: False)
    line = _one_line_error(_cli([*_base_args(tiny_model, tmp_path / "out"), "--load-in-8bit"]))
    assert "needs a CUDA GPU" in line and "bitsandbytes" in line and "load_in_8bit: false" in line
    assert not (tmp_path / "out").exists()
    assert "LoRA only" in _one_line_error(
        _cli([*_base_args(tiny_model, tmp_path / "o2"), "--load-in-8bit", "--full"])
    )


def test_all_empty_data_is_one_line_error(tiny_model, tmp_path):
    path = tmp_path / "empty.zh.json"
    path.write_text(json.dumps([{"instruction": "问", "input": "", "output": "", "id": "a"}]))
    assert "empty responses skipped: 1" in _one_line_error(
        _cli(_base_args(tiny_model, tmp_path / "o", str(path)))
    )


def test_finished_run_is_never_overwritten(tiny_model, tmp_path):
    out = tmp_path / "done"
    first = _cli(_base_args(tiny_model, out))
    assert first.exit_code == 0, first.output
    assert "best epoch 1" in first.output and f"peft={out}" in first.output
    before = (out / MANIFEST_NAME).read_bytes()
    assert "already holds a finished run" in _one_line_error(_cli(_base_args(tiny_model, out)))
    assert (out / MANIFEST_NAME).read_bytes() == before
    assert _cli([*_base_args(tiny_model, out), "--resume"]).exit_code == 0  # resume of a finished run: no-op
    assert (out / MANIFEST_NAME).read_bytes() == before


# --- several processes ------------------------------------------------------------------------------------


@pytest.mark.slow
def test_torchrun_two_processes_write_a_complete_manifest(tiny_model, tmp_path, repo_root):
    out = tmp_path / "ddp"
    torchrun = Path(sys.executable).with_name("torchrun")
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    proc = subprocess.run(
        [
            str(torchrun),
            "--standalone",
            "--nproc_per_node",
            "2",
            str(repo_root / "cli.py"),
            "finetune",
            *_base_args(tiny_model, out),
            "--micro-batch-size",
            "2",
            "--epochs",
            "2",
            "--eval-split",
            "0.1",
        ],
        cwd=repo_root,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert proc.returncode == 0, proc.stderr[-3000:]
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert set(manifest) == MANIFEST_KEYS
    assert manifest["hyperparameters"]["world_size"] == 2
    assert manifest["hyperparameters"]["gradient_accumulation_steps"] == 2
    assert [e["epoch"] for e in manifest["epochs"]] == [1, 2]
    assert all(
        math.isfinite(e["train_loss"]) and math.isfinite(e["eval_perplexity"]) for e in manifest["epochs"]
    )
    assert (out / "adapter_model.safetensors").is_file()


def test_cli_multilingual_chat_template_checkpointing_and_merge(tiny_model, tmp_path):
    from transformers import AutoModelForCausalLM

    out = tmp_path / "multi"
    result = _cli(
        [
            "--base",
            str(tiny_model),
            "--data",
            NATIVE_ZH,
            "--data",
            NATIVE_ES,
            "--data",
            NATIVE_RU,
            "--lang",
            "zh,es,ru",
            "--variant",
            "native",
            "--out",
            str(out),
            "--epochs",
            "1",
            "--batch-size",
            "8",
            "--micro-batch-size",
            "4",
            "--max-length",
            "64",
            "--template",
            "chat",
            "--per-language-cap",
            "8",
            "--gradient-checkpointing",
            "--merge",
            "--seed",
            "3",
        ]
    )
    assert result.exit_code == 0, result.output
    manifest = read_manifest(out)
    assert (manifest.languages, manifest.tuning, manifest.template) == (["es", "ru", "zh"], "multi", "chat")
    assert [d.used for d in manifest.data] == [8, 8, 8] and manifest.seed == 3
    assert manifest.hyperparameters["gradient_checkpointing"] is True
    assert manifest.hyperparameters["per_language_cap"] == 8
    merged = AutoModelForCausalLM.from_pretrained(out / "merged")
    assert not any("lora" in name for name, _ in merged.named_parameters())

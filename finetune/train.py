"""Supervised fine-tuning with the study's recipe: HF Trainer + PEFT, response-only loss.

Flow: load tokenizer -> prepare data (finetune.data) -> load model (+ LoRA) -> Trainer with
length-grouped sampling and pad-to-longest batches -> held-out perplexity after every epoch, a
checkpoint per epoch, early stopping, the best epoch restored -> adapter/model + tokenizer + model card
(+ optional merged model) staged in ``.final.partial/``, renamed ``.final/``, moved into place with
``nativeval_run.json`` last -> checkpoints removed. ``.nativeval_run.started`` is written first, so an
unfinished directory is never taken for a model (nativeval.harness_ext.core.runs); ``--resume`` continues
from the newest *complete* checkpoint or finishes a staged save.

Works unchanged under ``torchrun --nproc_per_node N`` and ``accelerate launch``: the Trainer shards
batches; the held-out perplexity is computed on every rank over the whole (small) held-out set, so
that all ranks take identical early-stopping decisions without extra communication.
"""

from __future__ import annotations

import logging
import math
import os
import re
import shutil
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import torch

from nativeval.finetune.card import data_counts, load_arguments, model_card
from nativeval.finetune.collate import LengthGroupedSampler, PadToLongestCollator
from nativeval.finetune.data import IGNORE_INDEX, Example, PreparedData, prepare, templates
from nativeval.finetune.manifest import (
    MANIFEST_NAME,
    RunManifest,
    build_manifest,
    epoch_records,
    read_manifest,
    write_manifest,
)
from nativeval.finetune.modeling import (
    apply_lora,
    check_8bit,
    check_base,
    load_model,
    load_tokenizer,
    precision,
    resolve_target_modules,
)
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import atomic_write_json, atomic_write_jsonl, atomic_write_text, read_json
from nativeval.harness_ext.core.paths import strictly_inside
from nativeval.harness_ext.core.runs import RUN_STARTED

log = logging.getLogger("nativeval.finetune")
CHECKPOINT_DIR = "checkpoints"
MERGED_DIR = "merged"
PARTIAL_STAGED_DIR = ".final.partial"  # the final save being written
STAGED_DIR = ".final"  # the final save, complete, being moved into place
TRAIN_LOG_NAME = "train_log.jsonl"  # the Trainer's log history: loss per step, perplexity per epoch


@dataclass
class FinetuneConfig:
    """Every knob of a run; defaults are the study's recipe."""

    base: str
    data: list[str]
    out: str
    variant: str
    languages: list[str] | None = None  # None: every language found in the data
    method: str = "lora"  # or "full"
    lr: float = 1e-4
    epochs: int = 10
    batch_size: int = 64  # effective, reached by gradient accumulation
    micro_batch_size: int = 8
    max_length: int = 1024
    template: str = "alpaca"
    eval_split: float = 0.05
    seed: int = 0
    per_language_cap: int | None = None
    patience: int = 3  # epochs without a better held-out perplexity before stopping
    lora_r: int = 8
    lora_alpha: int = 16
    lora_dropout: float = 0.05
    target_modules: list[str] | None = None
    lr_scheduler: str = "linear"
    warmup_ratio: float = 0.03
    weight_decay: float = 0.0
    load_in_8bit: bool = False
    gradient_checkpointing: bool = False
    resume: bool = False
    merge: bool = False
    keep_checkpoints: bool = False
    progress: bool = True
    extra: dict[str, Any] = field(default_factory=dict)  # more manifest hyperparameters
    callbacks: list[Any] = field(default_factory=list)  # extra transformers.TrainerCallback objects


def world_size() -> int:
    return int(os.environ.get("WORLD_SIZE", "1"))


def is_main_process() -> bool:
    return int(os.environ.get("RANK", "0")) == 0


def validate(config: FinetuneConfig) -> None:
    if config.method not in ("lora", "full"):
        raise InputError(f"method {config.method}: choose lora or full")
    for name in ("epochs", "batch_size", "micro_batch_size", "max_length"):
        if getattr(config, name) < 1:
            raise InputError(f"--{name.replace('_', '-')} must be at least 1")
    if config.max_length < 8:
        raise InputError("--max-length must be at least 8 tokens")
    if not 0 <= config.eval_split < 1:
        raise InputError("--eval-split must be in [0, 1)")
    if config.lr <= 0:
        raise InputError("--lr must be positive")
    check_8bit(config.load_in_8bit, config.method == "lora")
    check_base(config.base)


def check_out_dir(config: FinetuneConfig) -> RunManifest | None:
    """Refuse to overwrite finished or interrupted runs unless resuming; return a finished run's manifest.

    Resuming also finishes what a kill cut short after training: a staged final save is moved into place,
    and checkpoints left over from a kill after the manifest was written are removed."""
    out = Path(config.out)
    if (out / STAGED_DIR).is_dir() and not (out / MANIFEST_NAME).is_file():
        if not config.resume:
            raise InputError(
                f"--out {out} holds the final save of an interrupted run; pass --resume to finish it "
                "or delete the folder"
            )
        if is_main_process():
            install_final(out)
    if (out / MANIFEST_NAME).is_file():
        if config.resume:
            if is_main_process():
                shutil.rmtree(out / STAGED_DIR, ignore_errors=True)
                if not config.keep_checkpoints:
                    shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)
            return read_manifest(out)
        raise InputError(
            f"--out {out} already holds a finished run ({MANIFEST_NAME}); choose another --out or delete it"
        )
    if (
        (out / CHECKPOINT_DIR).is_dir()
        and any((out / CHECKPOINT_DIR).glob("checkpoint-*"))
        and not config.resume
    ):
        raise InputError(
            f"--out {out} has checkpoints of an interrupted run; "
            "pass --resume to continue it or delete the folder"
        )
    return None


def mark_started(out: Path) -> None:
    """The marker that makes an unfinished ``out`` recognisable (nativeval.harness_ext.core.runs), written
    before anything."""
    if not (out / RUN_STARTED).is_file():
        atomic_write_json(out / RUN_STARTED, {"started": time.time(), "pid": os.getpid()})


def to_dataset(examples: list[Example]):
    import datasets

    return datasets.Dataset.from_list(
        [{"input_ids": e.input_ids, "labels": e.labels, "length": len(e.input_ids)} for e in examples]
    )


@torch.no_grad()
def heldout_perplexity(
    model, examples: list[Example], collator: PadToLongestCollator, batch_size: int
) -> tuple[float, float]:
    """(perplexity, mean NLL) over the response tokens of ``examples``, weighted by token, not by batch."""
    was_training = model.training
    model.eval()
    device = next(model.parameters()).device
    ordered = sorted(examples, key=lambda e: len(e.input_ids))
    total_nll, total_tokens = 0.0, 0
    counting = PadToLongestCollator(collator.pad_token_id)
    for start in range(0, len(ordered), batch_size):
        batch = counting(
            [{"input_ids": e.input_ids, "labels": e.labels} for e in ordered[start : start + batch_size]]
        )
        batch = {k: v.to(device) for k, v in batch.items()}
        tokens = int((batch["labels"][:, 1:] != IGNORE_INDEX).sum())
        if tokens == 0:
            continue
        loss = model(**batch).loss
        total_nll += float(loss) * tokens
        total_tokens += tokens
    model.train(was_training)
    mean_nll = total_nll / max(total_tokens, 1)
    return math.exp(min(mean_nll, 700.0)), mean_nll


def make_trainer_class():
    from transformers import Trainer

    class ResponseOnlyTrainer(Trainer):
        """HF Trainer whose evaluation is the token-weighted held-out perplexity of the responses."""

        def __init__(self, *args, heldout: list[Example], **kwargs):
            super().__init__(*args, **kwargs)
            self.heldout = heldout

        def _get_train_sampler(self, train_dataset=None):
            dataset = train_dataset if train_dataset is not None else self.train_dataset
            args = self.args
            return LengthGroupedSampler(
                dataset["length"],
                args.train_batch_size * args.gradient_accumulation_steps * args.world_size,
                seed=args.seed,
            )

        def evaluate(
            self, eval_dataset=None, ignore_keys=None, metric_key_prefix: str = "eval"
        ) -> dict[str, float]:
            perplexity, nll = heldout_perplexity(
                self.model, self.heldout, self.data_collator, self.args.per_device_eval_batch_size
            )
            metrics = {f"{metric_key_prefix}_loss": nll, f"{metric_key_prefix}_perplexity": perplexity}
            self.log(metrics)
            self.control = self.callback_handler.on_evaluate(self.args, self.state, self.control, metrics)
            return metrics

    return ResponseOnlyTrainer


def accumulation_steps(config: FinetuneConfig) -> int:
    return max(1, round(config.batch_size / (config.micro_batch_size * world_size())))


def training_arguments(config: FinetuneConfig, has_heldout: bool):
    from transformers import TrainingArguments

    prec = precision()
    # transformers 5 renamed gradient_checkpointing to activation_checkpointing; use whichever exists
    name = (
        "activation_checkpointing"
        if "activation_checkpointing" in TrainingArguments.__dataclass_fields__
        else "gradient_checkpointing"
    )
    checkpointing = (
        {name: True, f"{name}_kwargs": {"use_reentrant": False}} if config.gradient_checkpointing else {}
    )
    return TrainingArguments(
        output_dir=str(Path(config.out) / CHECKPOINT_DIR),
        per_device_train_batch_size=config.micro_batch_size,
        per_device_eval_batch_size=config.micro_batch_size,
        gradient_accumulation_steps=accumulation_steps(config),
        num_train_epochs=config.epochs,
        learning_rate=config.lr,
        lr_scheduler_type=config.lr_scheduler,
        warmup_steps=config.warmup_ratio,  # a float < 1 is a ratio of the total steps
        weight_decay=config.weight_decay,
        eval_strategy="epoch" if has_heldout else "no",
        save_strategy="epoch",
        save_total_limit=1,
        load_best_model_at_end=has_heldout,
        metric_for_best_model="eval_perplexity" if has_heldout else None,
        greater_is_better=False if has_heldout else None,
        logging_strategy="steps",
        logging_steps=1,
        bf16=prec == "bf16",
        fp16=prec == "fp16",
        remove_unused_columns=False,
        dataloader_num_workers=0,
        use_cpu=not torch.cuda.is_available(),  # also what makes accelerate run DDP over gloo on CPU
        ddp_backend="gloo" if world_size() > 1 and not torch.cuda.is_available() else None,
        ddp_find_unused_parameters=False if world_size() > 1 else None,
        seed=config.seed,
        data_seed=config.seed,
        report_to="none",
        disable_tqdm=not config.progress,
        save_only_model=False,
        **checkpointing,
    )


def hyperparameters(config: FinetuneConfig, target_modules: list[str]) -> dict[str, Any]:
    lora = config.method == "lora"
    return {
        "lr": config.lr,
        "epochs": config.epochs,
        "batch_size": config.batch_size,
        "micro_batch_size": config.micro_batch_size,
        "gradient_accumulation_steps": accumulation_steps(config),
        "world_size": world_size(),
        "effective_batch_size": accumulation_steps(config) * config.micro_batch_size * world_size(),
        "max_length": config.max_length,
        "lora_r": config.lora_r if lora else None,
        "lora_alpha": config.lora_alpha if lora else None,
        "lora_dropout": config.lora_dropout if lora else None,
        "target_modules": target_modules,
        "eval_split": config.eval_split,
        "patience": config.patience,
        "per_language_cap": config.per_language_cap,
        "lr_scheduler": config.lr_scheduler,
        "warmup_ratio": config.warmup_ratio,
        "weight_decay": config.weight_decay,
        "optimizer": "adamw_torch",
        "precision": precision(),
        "load_in_8bit": config.load_in_8bit,
        "gradient_checkpointing": config.gradient_checkpointing,
        "loss": "response_only",
        "batching": "length_grouped_pad_to_longest",
        "template_version": templates()["version"],
        **config.extra,
    }


def build_model(config: FinetuneConfig, tokenizer):
    """The model to train and the LoRA target modules ([] for full fine-tuning)."""
    model = load_model(
        config.base,
        lora=config.method == "lora",
        load_in_8bit=config.load_in_8bit,
        local_rank=int(os.environ.get("LOCAL_RANK", "0")),
    )
    if model.config.pad_token_id is None:
        model.config.pad_token_id = tokenizer.pad_token_id
    if config.method == "full":
        if config.target_modules:
            raise InputError("--target-modules applies to LoRA only; drop it or drop --full")
        return model, []
    targets = resolve_target_modules(model, config.target_modules)
    model = apply_lora(
        model, r=config.lora_r, alpha=config.lora_alpha, dropout=config.lora_dropout, target_modules=targets
    )
    return model, targets


def prepare_data(config: FinetuneConfig, tokenizer) -> PreparedData:
    data = prepare(
        config.data,
        tokenizer,
        template=config.template,
        max_length=config.max_length,
        languages=config.languages,
        per_language_cap=config.per_language_cap,
        eval_split=config.eval_split,
        seed=config.seed,
    )
    skipped = sum(s.skipped_empty for s in data.sources)
    truncated = sum(s.truncated for s in data.sources)
    if skipped:
        log.warning("skipped %d records with an empty response", skipped)
    if truncated:
        log.warning(
            "truncated %d examples longer than %d tokens (prompt side; response kept)",
            truncated,
            config.max_length,
        )
    return data


def save_outputs(trainer, tokenizer, config: FinetuneConfig, manifest: RunManifest) -> None:
    """Write the final adapter/model into a staging folder, then move it into ``out`` with the manifest last.

    A kill at any moment leaves either the checkpoints (``--resume`` redoes the save from the last one), a
    complete staging folder (``--resume`` moves it into place), or a finished run; never a half-written
    adapter that loads."""
    out = Path(config.out)
    partial, staged = out / PARTIAL_STAGED_DIR, out / STAGED_DIR
    if trainer.is_world_process_zero() and partial.exists():
        shutil.rmtree(partial)
    trainer.accelerator.wait_for_everyone()
    trainer.save_model(str(partial))
    trainer.accelerator.wait_for_everyone()
    if not trainer.is_world_process_zero():
        return
    tokenizer.save_pretrained(str(partial))
    if config.merge and config.method == "lora":
        merge_adapter(config.base, partial, partial / MERGED_DIR)
    atomic_write_text(partial / "README.md", model_card(manifest, str(out)))
    atomic_write_jsonl(partial / TRAIN_LOG_NAME, trainer.state.log_history)
    write_manifest(partial, manifest)
    fsync_tree(partial)
    os.replace(partial, staged)
    install_final(out)
    if not config.keep_checkpoints:
        shutil.rmtree(out / CHECKPOINT_DIR, ignore_errors=True)


def fsync_tree(folder: Path) -> None:
    """Flush every file of ``folder`` to disk before it is renamed into place."""
    for path in folder.rglob("*"):
        if path.is_file():
            with open(path, "rb") as fh:
                os.fsync(fh.fileno())


def install_final(out: Path) -> None:
    """Move the complete staged save into ``out``, entry by entry, the manifest last (idempotent)."""
    staged = out / STAGED_DIR
    for entry in sorted(staged.iterdir(), key=lambda p: p.name == MANIFEST_NAME):
        target = strictly_inside(out, out / entry.name, what="the fine-tuning output")
        if entry.is_dir() and target.is_dir():
            shutil.rmtree(target)
        os.replace(entry, target)
    staged.rmdir()


def merge_adapter(base: str, adapter_dir: Path, merged_dir: Path) -> Path:
    """Base + adapter folded into one model directory (for vLLM without LoRA support, or plain HF loading)."""
    from peft import PeftModel
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model = AutoModelForCausalLM.from_pretrained(
        base, dtype=torch.bfloat16 if precision() == "bf16" else torch.float32
    )
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    merged.save_pretrained(str(merged_dir))
    AutoTokenizer.from_pretrained(str(adapter_dir)).save_pretrained(str(merged_dir))
    return merged_dir


WEIGHT_FILES = (
    "adapter_model.safetensors",
    "adapter_model.bin",
    "model.safetensors",
    "pytorch_model.bin",
    "model.safetensors.index.json",
    "pytorch_model.bin.index.json",
)


def checkpoint_problem(folder: Path) -> str | None:
    """Why a Trainer checkpoint cannot be resumed from (the Trainer writes trainer_state.json last); None if
    it can."""
    if not any((folder / name).is_file() for name in WEIGHT_FILES):
        return "no weights"
    state = folder / "trainer_state.json"
    if not state.is_file():
        return "no trainer_state.json"
    try:
        read_json(state)
    except InputError:
        return "a damaged trainer_state.json"
    return None


def last_checkpoint(config: FinetuneConfig) -> str | None:
    """The newest complete checkpoint; incomplete ones (a kill during a save) are removed with a warning."""
    folder = Path(config.out) / CHECKPOINT_DIR
    if not folder.is_dir():
        return None
    found = [p for p in folder.iterdir() if p.is_dir() and re.fullmatch(r"checkpoint-\d+", p.name)]
    for checkpoint in sorted(found, key=lambda p: int(p.name.split("-")[1]), reverse=True):
        problem = checkpoint_problem(checkpoint)
        if problem is None:
            return str(checkpoint)
        log.warning(
            "--resume: %s is incomplete (%s; a save was interrupted); removing it and falling back to "
            "an earlier checkpoint",
            checkpoint,
            problem,
        )
        if is_main_process():
            shutil.rmtree(checkpoint, ignore_errors=True)
    return None


def run_finetune(config: FinetuneConfig) -> RunManifest:
    """Train, keep the best epoch, write the output directory; return the manifest."""
    from transformers import EarlyStoppingCallback, set_seed

    validate(config)
    finished = check_out_dir(config)
    if finished is not None:
        log.warning("%s already holds a finished run; nothing to do", config.out)
        return finished
    tokenizer = load_tokenizer(config.base)
    data = prepare_data(config, tokenizer)  # bad data is one line before --out is touched
    if is_main_process():
        mark_started(Path(config.out))
    set_seed(config.seed)  # identical adapter initialisation on every rank and every rerun
    model, targets = build_model(config, tokenizer)
    has_heldout = bool(data.heldout)
    callbacks = [EarlyStoppingCallback(early_stopping_patience=config.patience)] if has_heldout else []
    callbacks += config.callbacks
    trainer = make_trainer_class()(
        model=model,
        args=training_arguments(config, has_heldout),
        train_dataset=to_dataset(data.train),
        eval_dataset=to_dataset(data.heldout) if has_heldout else None,
        data_collator=PadToLongestCollator(tokenizer.pad_token_id),
        processing_class=tokenizer,
        callbacks=callbacks,
        heldout=data.heldout,
    )
    resume_from = last_checkpoint(config) if config.resume else None
    if config.resume and resume_from is None:
        log.warning(
            "--resume: no complete checkpoint in %s; starting from the beginning",
            Path(config.out) / CHECKPOINT_DIR,
        )
    trainer.train(resume_from_checkpoint=resume_from)
    manifest = build_manifest(
        base_model=str(Path(config.base).resolve()) if Path(config.base).exists() else config.base,
        variant=config.variant,
        languages=data.languages,  # the languages actually trained on
        method=config.method,
        template=config.template,
        hyperparameters=hyperparameters(config, targets),
        data=list(data.sources),
        seed=config.seed,
        epochs=epoch_records(trainer.state.log_history),
    )
    save_outputs(trainer, tokenizer, config, manifest)
    log.info("finished %s: best epoch %s", config.out, manifest.best_epoch)
    return manifest


def summary(manifest: RunManifest, out: str) -> str:
    """A few lines for the terminal: data counts, best epoch, how to evaluate."""
    ppl = manifest.best.eval_perplexity if manifest.best else None
    return "\n".join(
        [
            f"data: {data_counts(manifest.data)}",
            f"best epoch {manifest.best_epoch} of {len(manifest.epochs)}"
            + (f", held-out perplexity {ppl:.3f}" if ppl is not None else " (no held-out data)"),
            f"wrote {out} ({manifest.method}); evaluate with: "
            f"lm_eval --model hf --model_args {load_arguments(manifest, out)}",
        ]
    )

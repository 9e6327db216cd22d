"""The model card (README.md) of a fine-tuned adapter or model, written from its manifest.

It replaces PEFT's boilerplate card ("[More Information Needed]") with what the run was: base model,
data variant and hashes, languages, the recipe, held-out perplexity per epoch, how to evaluate it, and
the study it reproduces.
"""

from __future__ import annotations

from typing import Any

from nativeval.finetune.data import SourceStats
from nativeval.finetune.manifest import RunManifest

STUDY_CITATION = """@inproceedings{chen-etal-2024-good-data,
  title     = {Is It Good Data for Multilingual Instruction Tuning or Just Bad Multilingual Evaluation
               for Large Language Models?},
  author    = {Chen, Pinzhen and Yu, Simon and Guo, Zhicheng and Haddow, Barry},
  booktitle = {Proceedings of the 2024 Conference on Empirical Methods in Natural Language Processing},
  year      = {2024},
  note      = {arXiv:2406.12822}
}"""

RECIPE_KEYS = (
    "lr",
    "epochs",
    "effective_batch_size",
    "micro_batch_size",
    "gradient_accumulation_steps",
    "world_size",
    "max_length",
    "lora_r",
    "lora_alpha",
    "lora_dropout",
    "target_modules",
    "eval_split",
    "patience",
    "per_language_cap",
    "lr_scheduler",
    "warmup_ratio",
    "weight_decay",
    "optimizer",
    "precision",
    "loss",
    "batching",
    "template_version",
)


def data_counts(data: list[SourceStats]) -> str:
    """``N train / M held out of K records`` (plus what was skipped), over every data source."""
    train = sum(d.train for d in data)
    held_out = sum(d.held_out for d in data)
    records = sum(d.records for d in data)
    skipped = sum(d.skipped_empty for d in data)
    left = records - train - held_out - skipped
    text = f"{train} train / {held_out} held out of {records} records"
    parts = [f"{skipped} skipped (empty response)", f"{sum(d.truncated for d in data)} truncated"]
    if left:
        parts.append(f"{left} not selected (--lang / --per-language-cap)")
    return f"{text}; " + "; ".join(parts)


def load_arguments(manifest: RunManifest, out: str) -> str:
    if manifest.method == "lora":
        return f"pretrained={manifest.base_model},peft={out}"
    return f"pretrained={out}"


def eval_command(manifest: RunManifest, out: str) -> str:
    tasks = ",".join(f"native_{lang},translated_{lang}" for lang in manifest.languages) or "native,translated"
    return (
        f"nativeval eval --model hf --model-args {load_arguments(manifest, out)} --tasks {tasks} "
        f"--output-path results/"
    )


def _cell(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:.4g}"
    if isinstance(value, list):
        return ", ".join(map(str, value))
    return str(value).replace("|", "\\|")


def model_card(manifest: RunManifest, out: str) -> str:
    method = manifest.method
    languages = manifest.languages
    hyper = manifest.hyperparameters
    front = [
        "---",
        f"base_model: {manifest.base_model}",
        f"library_name: {'peft' if method == 'lora' else 'transformers'}",
        "language:",
        *[f"- {lang}" for lang in languages],
        "tags:",
        "- nativeval",
        f"- {manifest.variant}",
        f"- {method}",
        "---",
    ]
    lines = [
        f"# {manifest.base_model} tuned on `{manifest.variant}` data ({', '.join(languages)}, {method})",
        "",
        "Written by `nativeval finetune` "
        f"(nativeval {manifest.versions.get('nativeval', '?')}) with the recipe of "
        "Chen et al. (2024): loss on response tokens only, the epoch with the best held-out perplexity kept. "
        "Every figure below comes from `nativeval_run.json` beside this card.",
        "",
        "## Data",
        "",
        f"Variant `{manifest.variant}`, languages {', '.join(languages)} "
        f"({manifest.tuning}lingual tuning), "
        f"template `{manifest.template}`, seed {manifest.seed}: {data_counts(manifest.data)}.",
        "",
        "| source | sha256 | records | train | held out | skipped (empty) | truncated |",
        "|---|---|---:|---:|---:|---:|---:|",
        *[
            f"| `{_cell(d.path)}` | `{d.sha256[:16]}` | {d.records} | {d.train} | "
            f"{d.held_out} | {d.skipped_empty} | {d.truncated} |"
            for d in manifest.data
        ],
        "",
        "## Recipe",
        "",
        "| setting | value |",
        "|---|---|",
        f"| method | {method} |",
        *[
            f"| {key} | {_cell(hyper[key])} |"
            for key in RECIPE_KEYS
            if key in hyper and hyper[key] is not None
        ],
        "",
        "## Held-out perplexity per epoch",
        "",
        "| epoch | train loss | held-out perplexity |",
        "|---:|---:|---:|",
        *[
            f"| {e.epoch}{' (kept)' if e.epoch == manifest.best_epoch else ''} "
            f"| {_cell(e.train_loss)} | "
            f"{_cell(e.eval_perplexity) or 'n/a'} |"
            for e in manifest.epochs
        ],
        "",
        "## Evaluate",
        "",
        "```",
        eval_command(manifest, out),
        f"lm_eval --model hf --model_args {load_arguments(manifest, out)} --include_path tasks "
        f"--tasks {','.join(f'native_{lang}' for lang in languages) or 'native'} "
        "--output_path results --log_samples",
        "```",
        "",
        "## Citation",
        "",
        "```bibtex",
        STUDY_CITATION,
        "```",
        "",
    ]
    return "\n".join(front + [""] + lines)

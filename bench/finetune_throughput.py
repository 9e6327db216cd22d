"""Fine-tuning throughput: nativeval's batching vs a plain HF Trainer with the default padding collator.

Same model (a small random-init Llama), same tokenized Aya zh examples (response-only labels), same
micro-batch size, one epoch each, measured in one run. Reports useful (non-padding) tokens per second
and the padding fraction. Goal: >= 1.5x the baseline's useful tokens/s on CPU.

    .venv/bin/python bench/finetune_throughput.py [--examples 192] [--max-length 1024] [--repeats 2]

Data: the study's Aya native zh file under /work/shared/data/aya (or --aya-file) when present, else the
small subset embedded in finetune/data.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import torch  # noqa: E402

from nativeval.finetune.collate import PadToLongestCollator  # noqa: E402
from nativeval.finetune.data import EMBEDDED_DATA_DIR, Record, tokenize  # noqa: E402
from nativeval.finetune.train import FinetuneConfig, make_trainer_class, to_dataset, training_arguments  # noqa: E402
from nativeval.harness_ext.core.io import read_json  # noqa: E402
from nativeval.harness_ext.testing.toymodel import build_tiny_model  # noqa: E402

STUDY_AYA_ZH = Path("/work/shared/data/aya/aya_native/aya_native_data_processed.zh.json")


class CountingSeq2SeqCollator:
    """The baseline: transformers' DataCollatorForSeq2Seq (pad to longest), counting padding."""

    def __init__(self, tokenizer):
        from transformers import DataCollatorForSeq2Seq

        self.inner = DataCollatorForSeq2Seq(tokenizer, padding=True)
        self.useful_tokens = 0
        self.padding_tokens = 0

    def __call__(self, features):
        batch = self.inner([{k: f[k] for k in ("input_ids", "labels", "attention_mask")} for f in features])
        useful = int(batch["attention_mask"].sum())
        self.useful_tokens += useful
        self.padding_tokens += batch["input_ids"].numel() - useful
        return batch

    @property
    def padding_fraction(self) -> float:
        return self.padding_tokens / max(self.useful_tokens + self.padding_tokens, 1)


def load_examples(path: Path, n: int, tokenizer, max_length: int, seed: int):
    rows = read_json(path)
    rows = [r for r in rows if r["output"].strip()]
    random.Random(seed).shuffle(rows)
    return [
        tokenize(
            Record(r["instruction"], r.get("input", ""), r["output"], r["id"], "zh", 0),
            tokenizer,
            "alpaca",
            max_length,
        )
        for r in rows[:n]
    ]


def run_ours(
    model_dir: Path, tokenizer, examples, micro: int, out: Path
) -> tuple[float, PadToLongestCollator]:
    from transformers import AutoModelForCausalLM

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    config = FinetuneConfig(
        base=str(model_dir),
        data=[],
        out=str(out),
        variant="bench",
        method="full",
        epochs=1,
        batch_size=micro,
        micro_batch_size=micro,
        lr=1e-4,
        progress=False,
    )
    args = training_arguments(config, has_heldout=False)
    args.save_strategy = "no"
    args.logging_strategy = "no"
    collator = PadToLongestCollator(tokenizer.pad_token_id)
    trainer = make_trainer_class()(
        model=model,
        args=args,
        train_dataset=to_dataset(examples),
        data_collator=collator,
        processing_class=tokenizer,
        heldout=[],
    )
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start, collator


def run_baseline(
    model_dir: Path, tokenizer, examples, micro: int, out: Path
) -> tuple[float, CountingSeq2SeqCollator]:
    import datasets
    from transformers import AutoModelForCausalLM, Trainer, TrainingArguments

    torch.manual_seed(0)
    model = AutoModelForCausalLM.from_pretrained(model_dir)
    dataset = datasets.Dataset.from_list(
        [
            {"input_ids": e.input_ids, "labels": e.labels, "attention_mask": [1] * len(e.input_ids)}
            for e in examples
        ]
    )
    args = TrainingArguments(
        output_dir=str(out),
        per_device_train_batch_size=micro,
        num_train_epochs=1,
        learning_rate=1e-4,
        save_strategy="no",
        report_to="none",
        disable_tqdm=True,
        logging_strategy="no",
        seed=0,
        use_cpu=not torch.cuda.is_available(),
    )
    collator = CountingSeq2SeqCollator(tokenizer)
    trainer = Trainer(
        model=model, args=args, train_dataset=dataset, data_collator=collator, processing_class=tokenizer
    )
    start = time.perf_counter()
    trainer.train()
    return time.perf_counter() - start, collator


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=192)
    parser.add_argument("--max-length", type=int, default=1024)
    parser.add_argument("--micro-batch-size", type=int, default=8)
    parser.add_argument("--hidden-size", type=int, default=256)
    parser.add_argument("--layers", type=int, default=4)
    parser.add_argument(
        "--repeats", type=int, default=2, help="Alternating runs of each; the best time counts."
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: torch's default)")
    parser.add_argument("--aya-file", type=Path, default=STUDY_AYA_ZH)
    parser.add_argument("--seed", type=int, default=0)
    opts = parser.parse_args()
    if opts.threads:
        torch.set_num_threads(opts.threads)

    from transformers import AutoTokenizer
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_error()
    data_path = opts.aya_file if opts.aya_file.is_file() else EMBEDDED_DATA_DIR / "aya_native_zh_32.json"
    with tempfile.TemporaryDirectory() as tmp:
        model_dir = build_tiny_model(
            Path(tmp) / "model",
            hidden_size=opts.hidden_size,
            num_layers=opts.layers,
            num_heads=4,
            max_positions=max(2048, opts.max_length),
        )
        tokenizer = AutoTokenizer.from_pretrained(model_dir)
        examples = load_examples(data_path, opts.examples, tokenizer, opts.max_length, opts.seed)
        useful = sum(len(e.input_ids) for e in examples)
        timings: dict[str, list[float]] = {"baseline": [], "nativeval": []}
        padding: dict[str, float] = {}
        for _ in range(opts.repeats):
            for name, runner in (("baseline", run_baseline), ("nativeval", run_ours)):
                seconds, collator = runner(
                    model_dir, tokenizer, examples, opts.micro_batch_size, Path(tmp) / name
                )
                assert collator.useful_tokens == useful, (name, collator.useful_tokens, useful)
                timings[name].append(seconds)
                padding[name] = collator.padding_fraction

    print(
        f"data: {data_path} ({len(examples)} examples, {useful} useful tokens, max_length {opts.max_length})"
    )
    print(
        f"model: Llama hidden {opts.hidden_size}, {opts.layers} layers; micro-batch {opts.micro_batch_size}; "
        f"torch threads {torch.get_num_threads()}; best of {opts.repeats}"
    )
    print(f"{'':12}{'seconds':>10}{'useful tok/s':>15}{'padding':>10}")
    rates = {}
    for name in ("baseline", "nativeval"):
        best = min(timings[name])
        rates[name] = useful / best
        print(f"{name:12}{best:>10.2f}{rates[name]:>15.0f}{padding[name]:>10.1%}")
    ratio = rates["nativeval"] / rates["baseline"]
    print(f"speed-up (useful tokens/s): {ratio:.2f}x  (goal >= 1.5x: {'met' if ratio >= 1.5 else 'NOT met'})")


if __name__ == "__main__":
    main()

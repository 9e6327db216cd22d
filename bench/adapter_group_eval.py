"""One base load for a group of adapters: N LoRA adapters of one base evaluated separately vs grouped.

A random-init Llama (large enough that loading it takes measurable time) and N random LoRA adapters are
made on the fly; each adapter is evaluated on one task with lm-eval, first as N separate runs (each loads
the base, as the study's eval steps do today), then as one `--peft` group (adapter_group.py). Printed side by
side: base loads, seconds spent loading the base, wall time, and whether every adapter's scores are identical.

    python bench/adapter_group_eval.py [--adapters 4] [--hidden 1024] [--layers 12] [--limit 1]
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))
for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE", "TRANSFORMERS_OFFLINE"):
    os.environ.setdefault(name, "1")
os.environ.setdefault("TOKENIZERS_PARALLELISM", "false")
os.environ.setdefault("NATIVEVAL_DATA_DIR", str(REPO / "tests/fixtures/hf_mirror"))

import transformers  # noqa: E402

from nativeval.harness_ext.eval.adapter_group import run_group  # noqa: E402
from nativeval.harness_ext.eval.run import EvalRequest, run  # noqa: E402
from nativeval.harness_ext.testing.toymodel import build_tiny_model  # noqa: E402

TASK = "translated_zh_mt_mmlu"


class LoadMeter:
    """Counts and times the loads of a base model's weights (where lm-eval's hf model loads them)."""

    def __init__(self):
        self.loads = 0
        self.seconds = 0.0
        original = transformers.AutoModelForCausalLM.from_pretrained

        def counted(*args, **kwargs):
            started = time.monotonic()
            try:
                return original(*args, **kwargs)
            finally:
                self.loads += 1
                self.seconds += time.monotonic() - started

        transformers.AutoModelForCausalLM.from_pretrained = counted

    def reset(self) -> None:
        self.loads, self.seconds = 0, 0.0


def make_adapters(base: Path, root: Path, count: int) -> list[Path]:
    import peft
    import torch

    paths = []
    for i in range(count):
        torch.manual_seed(i)
        model = transformers.AutoModelForCausalLM.from_pretrained(base)
        config = peft.LoraConfig(
            r=8, lora_alpha=16, target_modules=["q_proj", "k_proj", "v_proj"], init_lora_weights=False
        )
        peft.get_peft_model(model, config).save_pretrained(root / f"lora-{i}")
        paths.append(root / f"lora-{i}")
    return paths


def scores(folder: Path) -> str:
    (path,) = folder.rglob("results_*.json")
    return json.dumps(json.loads(path.read_text())["results"], sort_keys=True)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--adapters", type=int, default=4)
    parser.add_argument("--hidden", type=int, default=1024)
    parser.add_argument("--layers", type=int, default=12)
    parser.add_argument("--limit", type=float, default=1)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="nativeval-adapter-group-") as tmp:
        root = Path(tmp)
        base = build_tiny_model(root / "base", hidden_size=args.hidden, num_layers=args.layers, num_heads=8)
        adapters = make_adapters(base, root, args.adapters)
        size_mb = sum(p.stat().st_size for p in base.glob("*.safetensors")) / 1e6
        meter = LoadMeter()

        def request(out: Path, extra: str = "") -> EvalRequest:
            return EvalRequest(
                model="hf",
                model_args=f"pretrained={base}{extra}",
                tasks=[TASK],
                output_path=out,
                limit=args.limit,
                device="cpu",
                num_fewshot=0,
            )

        started = time.monotonic()
        for adapter in adapters:
            run(request(root / "separate" / adapter.name, f",peft={adapter}"))
        separate = (time.monotonic() - started, meter.loads, meter.seconds)
        meter.reset()
        started = time.monotonic()
        run_group(request(root / "grouped"), [str(a) for a in adapters], echo=lambda line: None)
        grouped = (time.monotonic() - started, meter.loads, meter.seconds)
        identical = all(
            scores(root / "separate" / a.name) == scores(root / "grouped" / a.name) for a in adapters
        )
    print(
        f"{args.adapters} LoRA adapters of a random Llama ({size_mb:.0f} MB of weights), {TASK} 0-shot "
        f"--limit {args.limit}; "
        "the evaluation is kept short so that the base loads show"
    )
    print(f"{'':20}{'base loads':>11}{'load s':>9}{'wall s':>9}")
    print(f"{'separate runs':20}{separate[1]:11d}{separate[2]:9.1f}{separate[0]:9.1f}")
    print(f"{'grouped (--peft)':20}{grouped[1]:11d}{grouped[2]:9.1f}{grouped[0]:9.1f}")
    ideal = separate[0] - separate[2] + separate[2] / max(separate[1], 1)  # evaluation time + one load
    print(f"{'ideal (one load)':20}{1:11d}{separate[2] / max(separate[1], 1):9.1f}{ideal:9.1f}")
    print(
        f"base loads {separate[1]} -> {grouped[1]}; wall time ratio separate/grouped "
        f"{separate[0] / grouped[0]:.2f}x "
        f"(ideal {separate[0] / ideal:.2f}x); scores identical for every adapter: {identical}"
    )
    if not identical:
        sys.exit(1)


if __name__ == "__main__":
    main()

"""Base model and tokenizer loading, LoRA target resolution, precision choice."""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Any

import torch

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.core.models import resolve_model

PACKAGE_DIR = Path(__file__).parent


@cache
def lora_target_table() -> dict[str, Any]:
    return read_yaml(PACKAGE_DIR / "lora_targets.yaml")


def check_base(base: str) -> str:
    """``--base`` by the one model-reference rule (nativeval.harness_ext.core.models); a local one must hold a
    config.json. Returns what ``from_pretrained`` takes (``hf://`` unwrapped)."""
    ref = resolve_model(base, f"--base {base}")
    if ref.is_local and not (Path(ref.location) / "config.json").is_file():
        raise InputError(
            f"--base {base}: directory has no config.json; give a Hugging Face model directory or Hub id"
        )
    return base if ref.is_local else ref.location


def load_tokenizer(base: str):
    from transformers import AutoTokenizer

    try:
        tokenizer = AutoTokenizer.from_pretrained(check_base(base))
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"--base {base}: cannot load a tokenizer ({first})") from None
    if tokenizer.pad_token_id is None:
        tokenizer.pad_token = tokenizer.eos_token or tokenizer.unk_token
    return tokenizer


def precision() -> str:
    """bf16 where the GPU has it, else fp16 on GPU, else fp32 (CPU)."""
    if torch.cuda.is_available():
        return "bf16" if torch.cuda.is_bf16_supported() else "fp16"
    return "fp32"


def load_model(base: str, *, lora: bool, load_in_8bit: bool, local_rank: int):
    from transformers import AutoModelForCausalLM

    kwargs: dict[str, Any] = {}
    prec = precision()
    if lora and prec != "fp32":  # frozen base in half precision; adapters stay fp32 (PEFT autocasts them)
        kwargs["dtype"] = torch.bfloat16 if prec == "bf16" else torch.float16
    if load_in_8bit:
        from transformers import BitsAndBytesConfig

        kwargs["quantization_config"] = BitsAndBytesConfig(load_in_8bit=True)
        kwargs["device_map"] = {"": local_rank}
    try:
        model = AutoModelForCausalLM.from_pretrained(check_base(base), **kwargs)
    except (OSError, ValueError) as err:
        first = str(err).splitlines()[0] if str(err) else type(err).__name__
        raise InputError(f"--base {base}: cannot load a causal LM ({first})") from None
    if load_in_8bit:
        from peft import prepare_model_for_kbit_training

        model = prepare_model_for_kbit_training(model, use_gradient_checkpointing=False)
    return model


def check_8bit(load_in_8bit: bool, lora: bool) -> None:
    if not load_in_8bit:
        return
    if not lora:
        raise InputError("--load-in-8bit works with LoRA only; drop it or drop --full")
    if not torch.cuda.is_available():
        raise InputError(
            "--load-in-8bit (an 8-bit base, bitsandbytes) needs a CUDA GPU; drop the flag to train on "
            "the CPU in full precision (in a study: `load_in_8bit: false` under finetune.recipe)"
        )
    try:
        import bitsandbytes  # noqa: F401
    except ImportError:
        raise InputError("--load-in-8bit needs bitsandbytes: pip install bitsandbytes") from None


def linear_layer_names(model) -> list[str]:
    """Short names (last path component) of every linear layer, sorted."""
    names = set()
    for full_name, module in model.named_modules():
        if isinstance(module, torch.nn.Linear) or type(module).__name__ in (
            "Linear8bitLt",
            "Linear4bit",
            "Conv1D",
        ):
            names.add(full_name.rsplit(".", 1)[-1])
    return sorted(names)


def resolve_target_modules(model, requested: list[str] | None = None) -> list[str]:
    """The study's q/k/v projections under this architecture's names (see lora_targets.yaml)."""
    available = set(linear_layer_names(model))
    listing = ", ".join(sorted(available)) or "none"
    if requested:
        missing = [name for name in requested if name not in available]
        if missing:
            raise InputError(
                f"LoRA target modules {', '.join(missing)} not found in the model; "
                f"its linear layers are: {listing}"
            )
        return list(requested)
    table = lora_target_table()
    model_type = getattr(model.config, "model_type", "")
    candidates = (
        [table["by_model_type"][model_type]] if model_type in table["by_model_type"] else []
    ) + table["fallback"]
    for names in candidates:
        if all(name in available for name in names):
            return list(names)
    raise InputError(
        f"LoRA target modules (q, k, v projections) not found for model type {model_type or '?'}; "
        f"its linear layers are: {listing}; pass --target-modules"
    )


def apply_lora(model, *, r: int, alpha: int, dropout: float, target_modules: list[str]):
    from peft import LoraConfig, get_peft_model

    config = LoraConfig(
        r=r,
        lora_alpha=alpha,
        lora_dropout=dropout,
        target_modules=target_modules,
        bias="none",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config)

"""Evaluate several PEFT adapters of one base model with ONE load of the base.

lm-eval 0.4.13 loads ``pretrained=BASE,peft=ADAPTER`` per run, so N adapters cost N base loads (upstream
proposal ``peft_list``, lm-eval #3744, open). Here lm-eval's own ``hf`` model is built once with the first
adapter; for each further adapter PEFT's ``load_adapter`` adds it, ``set_adapter`` makes it the active one and
the previous adapter is deleted, so the model is exactly base + that adapter (same parameter count in the
results file). Each adapter then goes through the ordinary ``nativeval eval`` run (``run.run`` with the loaded
model), so its results and samples files are the files a separate run writes: same scores, same
``model_args`` (``pretrained=BASE,peft=ADAPTER``), each in its own folder ``OUTPUT/<name>/`` (``--peft
NAME=DIR``; by default the adapter's folder name). The study runs its eval steps of one base on the same
tasks this way (``study/kinds.py`` ``Eval.group_command``).

Only ``--model hf``. lm-eval's ``vllm`` backend takes one ``lora_local_path`` per engine and builds its
``LoRARequest`` in ``__init__`` (``lm_eval/models/vllm_causallms.py``): switching adapters on one engine
would mean replacing that private attribute, so nativeval does not do it (one line says so).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.paths import safe_segment
from nativeval.harness_ext.core.runs import refuse_unfinished_runs
from nativeval.harness_ext.eval.run import (
    EvalOutcome,
    EvalRequest,
    choose_device,
    prepare_model_args,
    run,
    split_model_args,
)

# PEFT's file; `base_model_name_or_path` names the base it was trained on
ADAPTER_CONFIG = "adapter_config.json"


@dataclass(frozen=True)
class Adapter:
    path: str
    name: str  # its folder name: the results go to OUTPUT/<name>/
    base: str  # adapter_config.json's base_model_name_or_path


def read_adapters(paths: Sequence[str]) -> list[Adapter]:
    """Each adapter's config (``DIR`` or ``NAME=DIR``), before anything loads: a missing config, a bad or
    repeated name, or adapters of different bases are one line."""
    adapters = []
    for item in paths:
        given, _, raw = item.partition("=") if "=" in item else ("", "", item)
        if "=" in item and (not given or safe_segment(given) != given):
            raise InputError(
                f"--peft {item}: {given!r} cannot name a folder; use letters, digits, '-', '_', '.'"
            )
        path = Path(raw).expanduser()
        config = path / ADAPTER_CONFIG
        try:
            base = json.loads(config.read_text(encoding="utf-8")).get("base_model_name_or_path") or ""
        except (OSError, ValueError, AttributeError):
            raise InputError(
                f"--peft {item}: no readable {ADAPTER_CONFIG} there; give PEFT adapter directories "
                "(what `nativeval finetune --lora` writes)"
            ) from None
        adapters.append(Adapter(str(path), given or safe_segment(path.resolve().name), str(base).rstrip("/")))
    names = [a.name for a in adapters]
    twice = next((n for n in names if names.count(n) > 1), None)
    if twice:
        raise InputError(
            f"--peft: two adapters are named {twice!r} (their folder name names their results folder); "
            "rename one folder or evaluate them separately"
        )
    bases = {a.base for a in adapters}
    if len(bases) > 1:
        first = adapters[0]
        other = next(a for a in adapters if a.base != first.base)
        raise InputError(
            f"--peft: adapters of different base models in one group: {first.path} ({first.base}) and "
            f"{other.path} ({other.base}); group adapters of one base, or evaluate them separately"
        )
    return adapters


def parse_peft_list(peft: str) -> list[str]:
    paths = [p.strip() for p in peft.split(",")]
    if not peft.strip() or any(not p for p in paths):
        raise InputError(f"--peft {peft!r}: expected comma-separated adapter directories, e.g. --peft A,B,C")
    return paths


def check_request(request: EvalRequest) -> None:
    if request.model != "hf":
        raise InputError(
            f"--peft needs --model hf (lm-eval's {request.model!r} backend cannot switch adapters on one "
            "loaded model); evaluate each adapter with its own run"
        )
    if any(key in ("peft", "lora_local_path", "delta") for key, _ in split_model_args(request.model_args)):
        raise InputError(
            "--peft and --model-args peft=/lora_local_path=/delta= together: give the adapters with "
            "--peft only"
        )
    if request.label is not None:
        raise InputError(
            "--label names one run; with --peft each adapter's results are named by its folder "
            "(OUTPUT/<adapter>/); drop --label"
        )


def load_base(model_args: str, request: EvalRequest) -> Any:
    """lm-eval's ``hf`` model built exactly as ``simple_evaluate`` builds it from a model-args string."""
    import lm_eval.api.registry

    return lm_eval.api.registry.get_model(request.model).create_from_arg_string(
        model_args,
        {
            "batch_size": request.batch_size,
            "max_batch_size": request.max_batch_size,
            "device": choose_device(request.device),
        },
    )


def switch_adapter(lm: Any, adapter: Adapter) -> None:
    """Make ``adapter`` the only adapter of the loaded PEFT model (the base stays loaded)."""
    peft_model = lm._model
    previous = peft_model.active_adapter
    peft_model.load_adapter(adapter.path, adapter_name=adapter.name)
    peft_model.set_adapter(adapter.name)
    peft_model.delete_adapter(previous)
    lm.peft = adapter.path  # what lm-eval records as peft_sha's source


def run_group(
    request: EvalRequest,
    peft: Sequence[str],
    after_eval: Callable[[EvalOutcome], None] | None = None,
    echo: Callable[[str], None] = print,
) -> list[tuple[Adapter, EvalOutcome]]:
    """Evaluate each adapter of ``peft`` on ``request``'s tasks with one base load; one run per adapter, its
    files in ``request.output_path / adapter.name``."""
    check_request(request)
    adapters = read_adapters(peft)
    base_args = request.model_args
    per_adapter = {}
    for adapter in adapters:  # every model reference and unfinished run: one line before anything loads
        args = ",".join(filter(None, [base_args, f"peft={adapter.path}"]))
        prepared, _ = prepare_model_args(args, None)
        refuse_unfinished_runs(dict(split_model_args(prepared)))
        per_adapter[adapter.name] = args
    lm = load_base(prepare_model_args(per_adapter[adapters[0].name], None)[0], request)
    echo(f"loaded the base model once for {len(adapters)} adapter(s)")
    outcomes = []
    for number, adapter in enumerate(adapters):
        if number:
            switch_adapter(lm, adapter)
        echo(f"[{number + 1}/{len(adapters)}] adapter {adapter.path}")
        one = replace(
            request,
            model_args=per_adapter[adapter.name],
            output_path=Path(request.output_path) / adapter.name,
            use_cache=f"{request.use_cache}_{adapter.name}" if request.use_cache else None,
        )
        outcomes.append((adapter, run(one, after_eval=after_eval, lm=lm)))
    return outcomes

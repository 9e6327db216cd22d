"""`nativeval eval`'s command line as an :class:`EvalRequest`: lm-eval's options with lm-eval's meaning,
including its YAML ``--config`` (command line over YAML over defaults, as ``lm_eval run --config``)."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.io import read_yaml
from nativeval.harness_ext.eval.run import EvalRequest, parse_json_or_key_values

KEY_VALUE_OPTIONS = ("wandb_args", "wandb_config_args", "trackio_args", "hf_hub_log_args")


def key_values(pieces: Iterable[Any], option: str) -> str:
    """Pieces of an lm-eval ``key=value`` option (several words, repeats, or JSON objects) as one
    ``key=value,...`` string; a JSON object's values must be plain (lm-eval's nested JSON values are not)."""
    parts = []
    for piece in pieces:
        if isinstance(piece, dict):
            value = piece
        elif isinstance(piece, str) and piece.strip().startswith("{"):
            value = parse_json_or_key_values(option, piece)
        else:
            parts.append(str(piece))
            continue
        for key, item in value.items():
            if isinstance(item, (dict, list)) or (isinstance(item, str) and "," in item):
                raise InputError(
                    f"{option}: {key} has a nested or comma-holding value, which nativeval eval cannot "
                    "pass on; give the task or model such values through --metadata JSON"
                )
            parts.append(f"{key}={item}")
    return ",".join(p for p in parts if p)


def eval_request(options: dict[str, Any]) -> EvalRequest:
    """The request for ``options`` (cli.py's parameter names); the required ones named when missing."""
    tasks = ",".join(options["task_names"] or ())
    if not tasks.strip(","):
        raise InputError("--tasks is required, e.g. --tasks native_zh,translated_zh")
    if not options["output_path"]:
        raise InputError("--output-path is required: the folder lm-eval's results files go to")
    template = options["apply_chat_template"]
    multiturn = options["fewshot_as_multiturn"]
    if multiturn is not None and str(multiturn).strip().lower() not in (
        "true",
        "1",
        "yes",
        "false",
        "0",
        "no",
    ):
        raise InputError(f"--fewshot_as_multiturn {multiturn}: give true or false")
    return EvalRequest(
        model=options["model"],
        model_args=key_values(options["model_args"], "--model_args"),
        tasks=tasks.split(","),
        output_path=Path(options["output_path"]),
        limit=options["limit"],
        apply_chat_template=(template or True) if template is not None else False,
        log_samples=options["log_samples"],
        batch_size=options["batch_size"],
        max_batch_size=options["max_batch_size"],
        device=options["device"],
        skip_missing=options["skip_missing_data"],
        num_fewshot=options["num_fewshot"],
        gen_kwargs=key_values(options["gen_kwargs"], "--gen_kwargs") or None,
        seed=options["seed"],
        system_instruction=options["system_instruction"],
        fewshot_as_multiturn=None
        if multiturn is None
        else str(multiturn).strip().lower() in ("true", "1", "yes"),
        metadata=tuple(options["metadata"]),
        include_paths=tuple(options["include_paths"]),
        label=options["label"],
        use_cache=options["use_cache"],
        samples=options["samples"],
        cache_requests=options["cache_requests"],
        check_integrity=options["check_integrity"],
        write_out=options["write_out"],
        show_config=options["show_config"],
        verbosity=options["verbosity"],
        predict_only=options["predict_only"],
        trust_remote_code=options["trust_remote_code"],
        confirm_run_unsafe_code=options["confirm_run_unsafe_code"],
        **{name: key_values(options[name], f"--{name}") or None for name in KEY_VALUE_OPTIONS},
    )


# --- lm_eval run --config --------------------------------------------------------------------------------
def _words(value: Any) -> tuple:
    return tuple(value) if isinstance(value, list) else (value,)


def _flag(value: Any) -> bool:
    if not isinstance(value, bool):
        raise TypeError("true or false")
    return value


def _text(value: Any) -> str:
    if isinstance(value, (dict, list)):
        raise TypeError("a single value")
    return str(value)


def _number(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise TypeError("a number")
    return float(value)


def _integer(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError("a whole number")
    return value


def _seed(value: Any) -> str:
    return ",".join("None" if v is None else str(v) for v in _words(value))


def _metadata(value: Any) -> tuple:
    return (json.dumps(value),) if isinstance(value, dict) else _words(value)


def _chat_template(value: Any) -> str | None:
    return None if value is False else "" if value is True else _text(value)


def _multiturn(value: Any) -> str:
    return "true" if _flag(value) else "false"


# lm-eval's EvaluatorConfig field -> (cli.py parameter, converter)
CONFIG_FIELDS: dict[str, tuple[str, Callable[[Any], Any]]] = {
    "model": ("model", _text),
    "model_args": ("model_args", _words),
    "tasks": ("task_names", _words),
    "num_fewshot": ("num_fewshot", _integer),
    "batch_size": ("batch_size", _text),
    "max_batch_size": ("max_batch_size", _integer),
    "device": ("device", _text),
    "limit": ("limit", _number),
    "samples": ("samples", lambda v: json.dumps(v) if isinstance(v, dict) else _text(v)),
    "use_cache": ("use_cache", _text),
    "cache_requests": ("cache_requests", lambda v: str(v).lower()),
    "check_integrity": ("check_integrity", _flag),
    "write_out": ("write_out", _flag),
    "log_samples": ("log_samples", _flag),
    "output_path": ("output_path", _text),
    "predict_only": ("predict_only", _flag),
    "system_instruction": ("system_instruction", _text),
    "apply_chat_template": ("apply_chat_template", _chat_template),
    "fewshot_as_multiturn": ("fewshot_as_multiturn", _multiturn),
    "show_config": ("show_config", _flag),
    "include_path": ("include_paths", _words),
    "gen_kwargs": ("gen_kwargs", _words),
    "verbosity": ("verbosity", _text),
    "wandb_args": ("wandb_args", _words),
    "wandb_config_args": ("wandb_config_args", _words),
    "hf_hub_log_args": ("hf_hub_log_args", _words),
    "trackio_args": ("trackio_args", _words),
    "seed": ("seed", _seed),
    "trust_remote_code": ("trust_remote_code", _flag),
    "confirm_run_unsafe_code": ("confirm_run_unsafe_code", _flag),
    "metadata": ("metadata", _metadata),
}


def merge_config_file(path: str, options: dict[str, Any], given: set[str]) -> dict[str, Any]:
    """``options`` with the YAML config's values where the command line did not give one (lm-eval's order)."""
    raw = read_yaml(path)
    unknown = sorted(set(raw) - set(CONFIG_FIELDS) - {"config"})
    if unknown:
        raise InputError(
            f"{path}: unknown lm-eval setting(s) {', '.join(unknown)}; "
            f"known: {', '.join(sorted(CONFIG_FIELDS))}"
        )
    merged = dict(options)
    for key, value in raw.items():
        if key == "config" or value is None:
            continue
        name, convert = CONFIG_FIELDS[key]
        if name in given:
            continue
        try:
            merged[name] = convert(value)
        except TypeError as err:
            raise InputError(f"{path}: {key}: expected {err}, got {value!r}") from None
    return merged

"""`nativeval eval`: lm-eval's simple_evaluate over nativeval's tasks (and any lm-eval task), with lm-eval's
own output files, options and device choice.

lm-eval 0.4.13 builds every requested task (and so loads every dataset) before it evaluates anything, and a
dataset that fails to load aborts the whole run with a traceback. So inputs are checked up front: model
references by the one rule of :mod:`nativeval.harness_ext.core.models`, the device, the options, and data
availability (a missing dataset is a one-line error naming it and the fix, or, with ``skip_missing``, the
catalogue tasks whose data is missing are left out with a warning and the others run).

lm-eval's built-in task index (seconds to build) is read only when a name outside nativeval's catalogue is
asked for; nativeval's own tasks are indexed with ``include_defaults=False`` (milliseconds).
"""

from __future__ import annotations

import contextlib
import difflib
import inspect
import json
import logging
import math
import re
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nativeval.harness_ext.catalogue import catalogue, dataset_loader
from nativeval.harness_ext.catalogue.mirror import TaskData, check
from nativeval.harness_ext.catalogue.model import Catalogue, CatalogueTask, unknown_name_message
from nativeval.harness_ext.catalogue.view import provenance_text
from nativeval.harness_ext.core.errors import DatasetUnavailable, InputError, WriteFailed, os_reason
from nativeval.harness_ext.core.io import atomic_write_text, check_writable_folder, read_json
from nativeval.harness_ext.core.lm_eval_internals import (
    FEWSHOT_OVERRIDE_LOGGER,
    FEWSHOT_OVERRIDE_PREFIX,
    json_default,
    parse_cache_requests,
    parse_seed_list,
    per_task_document_loop,
    push_outputs,
    sanitized_sample,
    tracker_results_document,
    tracker_results_file,
    tracker_samples_file,
)
from nativeval.harness_ext.core.models import hub_id_of, hub_unreachable, not_in_cache, resolve_model
from nativeval.harness_ext.core.runs import refuse_unfinished_runs
from nativeval.harness_ext.eval.lm_eval_tasks import with_task_folders
from nativeval.harness_ext.eval.runtime import no_dataset_bars

log = logging.getLogger(__name__)

LABEL_ARG = "nativeval_label"
MODEL_PATH_ARGS = ("pretrained", "peft", "lora_local_path", "tokenizer", "delta")
DEFAULT_SEEDS = "0,1234,1234,1234"  # lm-eval 0.4.13's --seed default: python, numpy, torch, fewshot


@dataclass
class EvalRequest:
    """One `nativeval eval` invocation; option names and meanings are lm-eval's (``lm_eval run``)."""

    model: str
    model_args: str
    tasks: list[str]
    output_path: Path
    limit: float | None = None
    apply_chat_template: bool | str = False
    log_samples: bool = True
    batch_size: str = "1"
    max_batch_size: int | None = None
    device: str | None = None
    skip_missing: bool = False
    num_fewshot: int | None = None
    gen_kwargs: str | None = None
    seed: str | None = None
    system_instruction: str | None = None
    fewshot_as_multiturn: bool | None = None
    metadata: Sequence[str] = ()
    include_paths: Sequence[str] = ()
    label: str | None = None
    use_cache: str | None = None
    # lm_eval run's other options, with its meaning
    samples: str | None = None
    cache_requests: str | None = None
    check_integrity: bool = False
    write_out: bool = False
    show_config: bool = False
    verbosity: str | None = None
    predict_only: bool = False
    trust_remote_code: bool = False
    confirm_run_unsafe_code: bool = False
    wandb_args: str | None = None
    wandb_config_args: str | None = None
    trackio_args: str | None = None
    hf_hub_log_args: str | None = None


@dataclass
class EvalOutcome:
    results: dict[str, Any]
    results_file: Path | None
    samples_files: list[Path] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)


def parse_task_list(tasks: str | Sequence[str]) -> list[str]:
    items = tasks.split(",") if isinstance(tasks, str) else [t for part in tasks for t in part.split(",")]
    names = [t.strip() for t in items if t.strip()]
    if not names:
        raise InputError("no task given: pass --tasks, e.g. --tasks native_zh,translated_zh")
    return names


def tasks_with_data(names: list[str], skip_missing: bool, cat: Catalogue) -> tuple[list[str], list[str]]:
    """The names to hand to lm-eval and the catalogue tasks left out for missing data."""
    reports = check(names, cat)
    missing = [r for r in reports if r.missing]
    if not missing:
        return names, []
    if not skip_missing:
        first = missing[0]
        more = f" (and {len(missing) - 1} more task(s))" if len(missing) > 1 else ""
        task_list = ",".join(r.task.name for r in missing)
        raise DatasetUnavailable(
            f"data for {first.task.name} is missing: {first.task.benchmark.dataset_id} "
            f"{', '.join(first.missing[:3])}{' ...' if len(first.missing) > 3 else ''}{more}. "
            f"Fix: `nativeval data download --tasks {task_list} --to DIR` and add DIR to NATIVEVAL_DATA_DIR, "
            "allow the Hub, or pass --skip-missing-data to run the other tasks"
        )
    skipped = [r.task.name for r in missing]
    for report in missing:
        log.warning("skipping %s: its data is missing (%s)", report.task.name, ", ".join(report.missing[:3]))
    kept = [name for r in reports if not r.missing for name in _lm_eval_names(r)]
    if not kept:
        raise DatasetUnavailable(f"no requested task has its data here (missing: {', '.join(skipped)})")
    return kept, skipped


def _lm_eval_names(report: TaskData) -> list[str]:
    if len(report.sources) == len(report.task.leaves):
        return [report.task.name]
    return [leaf.name for leaf, _ in report.sources]


# --- model arguments --------------------------------------------------------------------------------
def split_model_args(model_args: str) -> list[tuple[str, str]]:
    """``key=value,...`` as (key, raw value) pairs, split exactly as lm-eval's
    simple_parse_args_string does."""
    pairs = []
    for item in (a for a in model_args.strip().split(",") if a):
        key, _, value = item.partition("=")
        pairs.append((key.strip(), value))
    return pairs


def prepare_model_args(model_args: str, label: str | None) -> tuple[str, str | None]:
    """The model arguments lm-eval gets (``hf://`` ids unwrapped, ``nativeval_label`` removed) and the label.

    Every model reference (``pretrained``, ``peft``, ...) is resolved by the one rule: a missing local
    directory, or a Hub id outside the cache while offline, is a one-line error before anything loads.
    """
    pairs = split_model_args(model_args)
    revision = next((v.strip() for k, v in pairs if k == "revision"), None)
    kept: list[tuple[str, str]] = []
    for key, value in pairs:
        if key == LABEL_ARG:
            if label is not None and label != value.strip():
                raise InputError(
                    f"--label {label} and --model-args {LABEL_ARG}={value} disagree; give one of them"
                )
            label = value.strip() or None
            continue
        if key in MODEL_PATH_ARGS and value.strip():
            ref = resolve_model(
                value,
                f"--model-args {key}={value.strip()}",
                revision=revision if key == "pretrained" else None,
            )
            if ref.kind == "hub":
                value = ref.location
        kept.append((key, value))
    if label is not None and not label.strip():
        raise InputError("--label is empty; give the run a name, e.g. --label qwen-native-zh")
    return ",".join(f"{k}={v}" for k, v in kept), label


# --- device -----------------------------------------------------------------------------------------
def choose_device(requested: str | None) -> str:
    """lm-eval's choice when none is given (cuda when available, else mps where present, else cpu); a
    requested accelerator this machine lacks is a one-line error instead of a traceback
    after the model was read."""
    import torch

    mps = getattr(torch.backends, "mps", None)
    has_mps = bool(mps and mps.is_available())
    if requested is None or not requested.strip():
        return "cuda" if torch.cuda.is_available() else "mps" if has_mps else "cpu"
    device = requested.strip()
    kind, _, index = device.partition(":")
    if kind == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if count == 0:
            raise InputError(
                f"--device {device}: this machine has no CUDA device (torch.cuda.is_available() is "
                "False); leave --device out to use the CPU, or pass --device cpu"
            )
        if index and (not index.isdigit() or int(index) >= count):
            raise InputError(
                f"--device {device}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}"
            )
    elif kind == "mps" and not has_mps:
        raise InputError(
            f"--device {device}: this machine has no Apple MPS device; leave --device out or pass "
            "--device cpu"
        )
    return device


# --- other options ----------------------------------------------------------------------------------
def parse_seeds(seed: str | None) -> list[int | None]:
    """lm-eval's --seed: one integer for all four seeds, or ``python,numpy,torch,fewshot``
    (``None`` leaves one unset)."""
    try:
        return parse_seed_list(seed or DEFAULT_SEEDS, DEFAULT_SEEDS)
    except ValueError as err:
        raise InputError(f"--seed {seed}: {err}") from None


def parse_json_or_key_values(option: str, text: str) -> dict[str, Any]:
    """An lm-eval option given as a JSON object or as ``key=value,...`` (values as lm-eval parses them)."""
    from lm_eval.utils import simple_parse_args_string

    text = text.strip()
    if text.startswith("{"):
        try:
            value = json.loads(text)
        except json.JSONDecodeError as err:
            raise InputError(f"{option} {text}: not a JSON object ({err.msg}); use double quotes") from None
        if isinstance(value, dict):
            return value
    elif all("=" in pair and pair.split("=", 1)[0].strip() for pair in text.split(",") if pair):
        return simple_parse_args_string(text)
    raise InputError(f"{option} {text}: give a JSON object or key=value pairs")


def parse_metadata(items: Sequence[str]) -> dict[str, Any]:
    """lm-eval's --metadata: JSON objects or ``key=value,...``, merged in order."""
    merged: dict[str, Any] = {}
    for item in items:
        merged.update(parse_json_or_key_values("--metadata", item))
    return merged


def parse_key_values(option: str, text: str | None, example: str = "key=value,...") -> dict[str, Any] | None:
    """An lm-eval ``key=value,...`` option (values as lm-eval parses them), or None when empty."""
    from lm_eval.utils import simple_parse_args_string

    if not text or not text.strip():
        return None
    if not all("=" in pair and pair.split("=", 1)[0].strip() for pair in text.split(",") if pair):
        raise InputError(f"{option} {text}: give key=value pairs, e.g. {example}")
    return simple_parse_args_string(text)


def parse_gen_kwargs(gen_kwargs: str | None) -> dict[str, Any] | None:
    return parse_key_values("--gen-kwargs", gen_kwargs, "temperature=0,max_gen_toks=256")


def multiturn(fewshot_as_multiturn: bool | None, apply_chat_template: bool | str) -> bool:
    """lm-eval's rule: on by default with a chat template; asking for it without one is an error."""
    if fewshot_as_multiturn is None:
        return bool(apply_chat_template)
    if fewshot_as_multiturn and not apply_chat_template:
        raise InputError(
            "--fewshot-as-multiturn: when `fewshot_as_multiturn` is True, `apply_chat_template` must be "
            "set; add --apply-chat-template"
        )
    return fewshot_as_multiturn


def _include_paths(paths: Sequence[str]) -> list[str]:
    found = []
    for path in paths:
        folder = Path(path).expanduser()
        if not folder.exists():
            raise InputError(f"--include-path {path}: no such file or directory")
        if not folder.is_dir():
            raise InputError(
                f"--include-path {path}: not a folder; give the folder that holds the task YAMLs"
            )
        found.append(str(folder))
    return found


def build_task_manager(
    names: Sequence[str], cat: Catalogue, include_paths: Sequence[str], metadata: dict[str, Any]
):
    """A TaskManager that knows every name: nativeval's (and the extra task folders') first, lm-eval's
    built-ins indexed only when a name is found in neither. An unknown name gets the close-match line."""
    from lm_eval.tasks import TaskManager

    paths = with_task_folders(list(include_paths))
    ours = set(cat.known_names())
    others = [n for n in names if n not in ours]
    manager = TaskManager(include_path=paths, include_defaults=False, metadata=metadata)
    if others and any(n not in manager.all_tasks for n in others):
        manager = TaskManager(include_path=paths, include_defaults=True, metadata=metadata)
    for name in others:
        if name not in manager.all_tasks and not Path(name).is_file():
            raise InputError(unknown_name_message(name, sorted(ours | set(manager.all_tasks))))
    return manager


# --- option values, checked before anything loads -----------------------------------------------------
_BATCH_SIZE = re.compile(r"^(auto(:[1-9][0-9]*)?|[1-9][0-9]*)$")
LOG_LEVELS = ("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL")


def check_limit(limit: float | None) -> float | None:
    """lm-eval's --limit: a count of documents (1 or more) or a fraction of them (between 0 and 1)."""
    if limit is None:
        return None
    if not math.isfinite(limit) or limit <= 0:
        raise InputError(
            f"--limit {limit:g}: give a number of documents (1 or more) or a fraction between 0 and 1"
        )
    if limit >= 1 and limit != int(limit):
        raise InputError(f"--limit {limit:g}: a number of documents is whole (a fraction is below 1)")
    return limit


def check_batch_size(batch_size: str) -> str:
    text = str(batch_size).strip()
    if not _BATCH_SIZE.match(text):
        raise InputError(f"--batch-size {batch_size}: give a whole number of 1 or more, 'auto' or 'auto:N'")
    return text


def check_output_path(path: Path) -> None:
    """The folder lm-eval writes into (``path``, or its parent for a ``.json`` name) can be written, with
    room: found before the model loads instead of after the evaluation."""
    if path.suffix != ".json" and path.is_file():
        raise InputError(
            f"--output-path {path}: {path} is a file, not a folder; give a folder (lm-eval writes "
            "results_<date>.json into it) or a file name ending in .json"
        )
    check_writable_folder(path.parent if path.suffix == ".json" else path, f"--output-path {path}")


def check_model(model: str, model_args: dict[str, Any]) -> None:
    """The lm-eval model type exists, its Python package is installed, and its model is named."""
    from lm_eval.api.registry import get_model, model_registry

    try:
        model_class = get_model(model)
    except ImportError as err:
        package = getattr(err, "name", None) or str(err)
        raise InputError(
            f"--model {model}: needs the Python package {package}, which is not installed here; "
            f'install it (pip install "lm_eval[{model}]") or use --model hf'
        ) from None
    except ValueError:
        close = difflib.get_close_matches(model, list(model_registry.keys()), n=3)
        hint = f"did you mean {', '.join(close)}? " if close else ""
        raise InputError(
            f"--model {model}: not an lm-eval model type; {hint}"
            f"lm-eval has {', '.join(sorted(model_registry.keys()))}"
        ) from None
    try:
        takes_pretrained = "pretrained" in inspect.signature(model_class.__init__).parameters
    except (TypeError, ValueError):
        takes_pretrained = False
    if takes_pretrained and not str(model_args.get("pretrained") or "").strip():
        raise InputError(
            f"--model-args needs pretrained=MODEL for --model {model} (a model directory, a Hub id "
            "or hf://ID), e.g. --model-args pretrained=Qwen/Qwen1.5-7B"
        )


def parse_samples(samples: str | None, limit: float | None) -> dict[str, list[int]] | None:
    """lm-eval's --samples: a JSON object (or a JSON file) mapping task names to document indices."""
    if samples is None or not samples.strip():
        return None
    if limit is not None:
        raise InputError("--samples and --limit exclude each other (as in lm-eval); give one of them")
    try:
        value = json.loads(samples)
    except json.JSONDecodeError as err:
        if "{" in samples:
            raise InputError(
                f"--samples: not valid JSON ({err.msg}); use double quotes for task names"
            ) from None
        if not Path(samples).is_file():
            raise InputError(f"--samples {samples}: neither a JSON object nor a file") from None
        value = read_json(samples)
    if not (
        isinstance(value, dict)
        and all(
            isinstance(rows, list)
            and all(isinstance(i, int) and not isinstance(i, bool) and i >= 0 for i in rows)
            for rows in value.values()
        )
    ):
        raise InputError(
            "--samples: give a JSON object mapping task names to lists of document indices, "
            'e.g. {"native_zh_cmmlu": [0, 1, 2]}'
        )
    return value


def parse_verbosity(verbosity: str | None) -> str | None:
    if verbosity is None or not verbosity.strip():
        return None
    level = verbosity.strip().upper()
    if level not in LOG_LEVELS:
        raise InputError(f"--verbosity {verbosity}: choose one of {', '.join(LOG_LEVELS)}")
    return level


def zero_shot_notes(names: Sequence[str], num_fewshot: int | None, cat: Catalogue) -> list[str]:
    """lm-eval keeps a task whose config sets ``num_fewshot: 0`` at 0 shots whatever --num-fewshot says (and
    says so only at INFO level): the catalogue's 0-shot tasks among ``names``, said up front."""
    if not num_fewshot:
        return []
    known = set(cat.known_names())
    zero = sorted(
        {
            task.name
            for task, _ in cat.resolve_leaves([n for n in names if n in known])
            if task.num_fewshot == 0
        }
    )
    if not zero:
        return []
    what = (
        "is a 0-shot task (num_fewshot: 0 in its config), so lm-eval keeps it"
        if len(zero) == 1
        else "are 0-shot tasks (num_fewshot: 0 in their configs), so lm-eval keeps them"
    )
    return [f"--num-fewshot {num_fewshot}: {', '.join(zero)} {what} at 0 shots"]


def zero_shot_notes_after(
    results: dict[str, Any], names: Sequence[str], num_fewshot: int | None, cat: Catalogue
) -> list[str]:
    """The same note for tasks outside the catalogue, read from the run's ``n-shot`` (known only after it)."""
    if not num_fewshot:
        return []
    known = set(cat.known_names())
    kept = sorted(
        t
        for t, n in (results.get("n-shot") or {}).items()
        if n == 0 and t not in known and not any(t == leaf.name for _, leaf in cat.leaves())
    )
    if not kept:
        return []
    return [
        f"--num-fewshot {num_fewshot}: {', '.join(kept)} ran at 0 shots (num_fewshot: 0 in the task config)"
    ]


# --- quiet output -----------------------------------------------------------------------------------
class _DropPerTaskNotices(logging.Filter):
    """ "Overwriting default num_fewshot of <task> from 5 to N", once per task (57 for HT-MMLU's subjects),
    for the --num-fewshot the user asked for, dropped for nativeval's tasks: the n-shot column of the results
    table shows it. (lm-eval's notice about custom_dataset kwargs is dropped wherever our tasks load:
    nativeval.harness_ext.eval.notices.)"""

    def __init__(self, task_names: set[str]):
        super().__init__()
        self.task_names = task_names

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith(FEWSHOT_OVERRIDE_PREFIX):
            return message.removeprefix(FEWSHOT_OVERRIDE_PREFIX).split(" ", 1)[0] not in self.task_names
        return True


@contextlib.contextmanager
def quiet_phases(cat: Catalogue, counts: tuple[int | None, int | None]) -> Iterator[None]:
    """One progress bar per phase: loading the tasks' data and building their requests each get one bar
    over tasks instead of one (or several datasets `Filter:`/`Map:` bars) per task; lm-eval's own bars for
    running the requests stay."""
    from tqdm.auto import tqdm

    loggers = [logging.getLogger(name) for name in (FEWSHOT_OVERRIDE_LOGGER, "lm_eval.api.task")]
    advisory = _DropPerTaskNotices({leaf.name for _, leaf in cat.leaves()} | {t.name for t in cat.tasks})
    loaded_count, task_count = counts
    bars: dict[str, Any] = {}

    def advance(phase: str, desc: str, total: int | None) -> None:
        """Open the phase's bar on its first step (closing the one before), close it on its last."""
        if phase not in bars:
            for bar in bars.values():
                bar.close()
            bars[phase] = tqdm(total=total, desc=desc, unit="task", leave=True)
        bars[phase].update(1)
        if total is not None and bars[phase].n >= total:
            bars[phase].close()

    def per_task_docs(iterable, *args, **kwargs):
        advance("build", "Building requests", task_count)
        return iterable

    for logger in loggers:
        logger.addFilter(advisory)
    previous_hook = dataset_loader.set_load_progress(
        lambda: advance("load", "Loading task data", loaded_count)
    )
    try:
        with no_dataset_bars(), per_task_document_loop(per_task_docs):
            yield
    finally:
        dataset_loader.set_load_progress(previous_hook)
        for logger in loggers:
            logger.removeFilter(advisory)
        for bar in bars.values():
            bar.close()


def _phase_counts(names: Sequence[str], cat: Catalogue) -> tuple[int | None, int | None]:
    """(tasks whose data the dataset layer loads, all tasks) for the phase bars; unknown with lm-eval
    built-ins or extra task folders, whose size is known only once lm-eval loaded them."""
    known = set(cat.known_names())
    if not all(n in known for n in names):
        return None, None
    leaves = cat.resolve_leaves(names)
    return sum(1 for task, _ in leaves if not task.benchmark.embedded), len(leaves)


def _fewshot_error(err: Exception, num_fewshot: int | None) -> InputError | None:
    """lm-eval's own message when --num-fewshot asks for more exemplars than a task has, or --samples names
    documents a task does not have."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if message.startswith("Elements of --samples"):
        return InputError(f"--samples: {message}")
    if num_fewshot is None:
        return None
    if message.startswith("Error: number of fewshot samples") or "Sample larger than population" in message:
        return InputError(f"--num-fewshot {num_fewshot}: {message}")
    return None


# --- run --------------------------------------------------------------------------------------------
@dataclass
class PreparedRun:
    """An EvalRequest with every option parsed and checked: what lm-eval gets."""

    names: list[str]
    skipped: list[str]
    model_args: str
    label: str | None
    device: str
    seeds: list[int | None]
    gen_kwargs: dict[str, Any] | None
    fewshot_as_multiturn: bool
    metadata: dict[str, Any]
    task_manager: Any
    samples: dict[str, list[int]] | None
    cache_requests: dict[str, bool]
    log_samples: bool
    verbosity: str | None
    logger_args: dict[str, dict[str, Any] | None]
    notes: list[str]


def prepare(request: EvalRequest, cat: Catalogue) -> PreparedRun:
    """Every check that needs no model and no data beyond the catalogue's: option values and ranges, the
    output folder, the model type and references, the tasks and their data. A mistake is
    one line before any work."""
    from lm_eval.utils import simple_parse_args_string

    requested = parse_task_list(request.tasks)
    check_output_path(Path(request.output_path))
    limit = check_limit(request.limit)
    check_batch_size(request.batch_size)
    if request.max_batch_size is not None and request.max_batch_size < 1:
        raise InputError(f"--max-batch-size {request.max_batch_size}: must be 1 or more")
    if request.num_fewshot is not None and request.num_fewshot < 0:
        raise InputError(f"--num-fewshot {request.num_fewshot}: must be 0 or more")
    if request.use_cache:
        check_writable_folder(Path(request.use_cache).expanduser().parent, f"--use_cache {request.use_cache}")
    samples = parse_samples(request.samples, limit)
    try:
        cache_requests = parse_cache_requests(request.cache_requests)
    except ValueError:
        raise InputError(
            f"--cache_requests {request.cache_requests}: choose true, refresh or delete"
        ) from None
    verbosity = parse_verbosity(request.verbosity)
    logger_args = {
        option: parse_key_values(f"--{option}", getattr(request, option))
        for option in ("wandb_args", "wandb_config_args", "trackio_args", "hf_hub_log_args")
    }
    check_model(request.model, simple_parse_args_string(request.model_args))
    model_args, label = prepare_model_args(request.model_args, request.label)
    if request.trust_remote_code:
        model_args = ",".join(p for p in (model_args, "trust_remote_code=True") if p)
    parsed_args = simple_parse_args_string(model_args)
    device = choose_device(request.device)
    seeds = parse_seeds(request.seed)
    gen_kwargs = parse_gen_kwargs(request.gen_kwargs)
    fewshot_as_multiturn = multiturn(request.fewshot_as_multiturn, request.apply_chat_template)
    metadata = parsed_args | parse_metadata(request.metadata)
    refuse_unfinished_runs(parsed_args)
    known = set(cat.known_names())
    ours = [n for n in requested if n in known]
    task_manager = build_task_manager(requested, cat, _include_paths(request.include_paths), metadata)
    kept, skipped = tasks_with_data(ours, request.skip_missing, cat) if ours else ([], [])
    names = [n for n in requested if n not in known] + kept
    return PreparedRun(
        names=names,
        skipped=skipped,
        model_args=model_args,
        label=label,
        device=device,
        seeds=seeds,
        gen_kwargs=gen_kwargs,
        fewshot_as_multiturn=fewshot_as_multiturn,
        metadata=metadata,
        task_manager=task_manager,
        samples=samples,
        cache_requests=cache_requests,
        log_samples=request.log_samples or request.predict_only,
        verbosity=verbosity,
        logger_args=logger_args,
        notes=zero_shot_notes(names, request.num_fewshot, cat),
    )


def _experiment_loggers(logger_args: dict[str, dict[str, Any] | None]) -> list[Any]:
    """lm-eval's W&B and Trackio loggers, built before the run (a missing package is one
    line, not a lost run)."""
    import importlib.util

    wanted = {
        "wandb": logger_args["wandb_args"] is not None or logger_args["wandb_config_args"] is not None,
        "trackio": logger_args["trackio_args"] is not None,
    }
    for package, option in (("wandb", "--wandb_args"), ("trackio", "--trackio_args")):
        if wanted[package] and importlib.util.find_spec(package) is None:
            raise InputError(
                f"{option} needs the Python package {package}, which is not installed here: "
                f"pip install {package} (or drop {option})"
            )
    loggers = []
    if wanted["wandb"]:
        from lm_eval.loggers import WandbLogger

        loggers.append(WandbLogger(logger_args["wandb_args"] or {}, logger_args["wandb_config_args"] or {}))
    if wanted["trackio"]:
        from lm_eval.loggers import TrackioLogger

        loggers.append(TrackioLogger(logger_args["trackio_args"]))
    return loggers


def save_outputs(
    tracker: Any, results: dict[str, Any], samples: dict[str, list] | None
) -> tuple[Path, list[Path]]:
    """Write lm-eval's files (same names, same content) atomically: the samples files first, the results file
    last. A failure removes what this save wrote and is one WriteFailed line (exit 1): a reader never finds a
    truncated file, and a results file always has its samples beside it."""
    written: list[Path] = []
    try:
        results_file = tracker_results_file(tracker)
        document = tracker_results_document(tracker, results, samples)
        for task_name in results["configs"] if samples is not None else []:
            path = tracker_samples_file(tracker, task_name)
            atomic_write_text(
                path,
                "".join(
                    json.dumps(sanitized_sample(row), default=json_default, ensure_ascii=False) + "\n"
                    for row in samples[task_name]
                ),
            )
            written.append(path)
        atomic_write_text(
            results_file, json.dumps(document, indent=2, default=json_default, ensure_ascii=False)
        )
    except OSError as err:
        for path in written:
            path.unlink(missing_ok=True)
        raise WriteFailed(
            f"could not save the results under {tracker.output_path}: {os_reason(err)}; nothing of "
            "this run was kept: free space or fix the folder and rerun (with --use_cache FILE a rerun "
            "reuses the model's answers)"
        ) from None
    return results_file, written


def run(
    request: EvalRequest,
    after_eval: Callable[[EvalOutcome], None] | None = None,
    notify: Callable[[str], None] = lambda line: log.warning("%s", line),
    lm: Any = None,
) -> EvalOutcome:
    """Evaluate, write ``results_*.json`` (+ ``samples_*.jsonl``) as `lm_eval --output_path` does.

    ``lm``: the model already loaded as ``request.model_args`` says (adapter_group.py),
    recorded as if loaded here."""
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker

    cat = catalogue()
    prepared = prepare(request, cat)
    for note in prepared.notes:
        notify(note)
    try:
        tracker = EvaluationTracker(
            **(prepared.logger_args["hf_hub_log_args"] or {}), output_path=str(request.output_path)
        )
    except TypeError as err:
        raise InputError(f"--hf_hub_log_args: {err}") from None
    experiment_loggers = _experiment_loggers(prepared.logger_args)
    if request.trust_remote_code:
        import datasets

        datasets.config.HF_DATASETS_TRUST_REMOTE_CODE = True  # as lm-eval's run does
    names, model_args, seeds = prepared.names, prepared.model_args, prepared.seeds
    with quiet_phases(cat, _phase_counts(names, cat)):
        try:
            results = simple_evaluate(
                model=lm if lm is not None else request.model,
                model_args=model_args,
                tasks=names,
                num_fewshot=request.num_fewshot,
                batch_size=request.batch_size,
                max_batch_size=request.max_batch_size,
                device=prepared.device,
                use_cache=request.use_cache,
                limit=request.limit,
                samples=prepared.samples,
                cache_requests=prepared.cache_requests.get("cache_requests", False),
                rewrite_requests_cache=prepared.cache_requests.get("rewrite_requests_cache", False),
                delete_requests_cache=prepared.cache_requests.get("delete_requests_cache", False),
                check_integrity=request.check_integrity,
                write_out=request.write_out,
                log_samples=prepared.log_samples,
                evaluation_tracker=tracker,
                system_instruction=request.system_instruction,
                apply_chat_template=request.apply_chat_template,
                fewshot_as_multiturn=prepared.fewshot_as_multiturn,
                gen_kwargs=prepared.gen_kwargs,
                task_manager=prepared.task_manager,
                verbosity=prepared.verbosity,
                predict_only=request.predict_only,
                random_seed=seeds[0],
                numpy_random_seed=seeds[1],
                torch_random_seed=seeds[2],
                fewshot_random_seed=seeds[3],
                confirm_run_unsafe_code=request.confirm_run_unsafe_code,
                metadata=prepared.metadata,
            )
        except (AssertionError, ValueError) as err:
            friendly = _fewshot_error(err, request.num_fewshot)
            if friendly is None:
                raise
            raise friendly from None
        except OSError as err:
            raise _load_error(err, model_args, names) from None
    if results is None:  # non-zero ranks of a distributed run write nothing
        return EvalOutcome(results={}, results_file=None, skipped=prepared.skipped)
    for note in zero_shot_notes_after(results, names, request.num_fewshot, cat):
        notify(note)
    if lm is not None:  # what a run that loaded the model itself records
        results["config"]["model"] = request.model
        tracker.general_config_tracker.model_source = request.model
    if prepared.label is not None:
        results["nativeval"] = {"label": prepared.label}
    samples = results.pop("samples", None) if prepared.log_samples else None
    for experiment_logger in experiment_loggers:
        try:  # as lm-eval's run: a logging service that fails costs its log, not the results
            experiment_logger.post_init(results)
            experiment_logger.log_eval_result()
            if samples is not None:
                experiment_logger.log_eval_samples(samples)
        except Exception as err:  # noqa: BLE001
            notify(f"logging to {type(experiment_logger).__name__} failed: {err}")
    results_file, samples_files = save_outputs(tracker, results, samples)
    push_outputs(tracker, results_file, samples_files, notify)
    for experiment_logger in experiment_loggers:
        finish = getattr(getattr(experiment_logger, "run", experiment_logger), "finish", None)
        if finish is not None:
            finish()
    outcome = EvalOutcome(
        results=results, results_file=results_file, samples_files=samples_files, skipped=prepared.skipped
    )
    # --- judge hook -------------------------------------------------------------------------------------
    # A judge step (open-QA verdicts from the samples files) plugs in here through `after_eval`, so that
    # `nativeval eval --judge ...` runs it right after lm-eval wrote its files.
    if after_eval is not None:
        after_eval(outcome)
    return outcome


def _load_error(err: OSError, model_args: str, names: list[str]) -> Exception:
    """An OSError while lm-eval loaded the model or data, as one line where it is an expected failure."""
    from lm_eval.utils import simple_parse_args_string

    pretrained = simple_parse_args_string(model_args).get("pretrained")
    if hub_unreachable(err) and pretrained and hub_id_of(str(pretrained)):
        return InputError(
            not_in_cache(
                f"--model-args pretrained={pretrained}",
                str(pretrained),
                "the Hugging Face Hub cannot be reached",
            )
        )
    if not isinstance(err, (ConnectionError, FileNotFoundError)):
        return err
    if set(names) <= set(catalogue().known_names()):
        return err  # nativeval's own data was checked above: this is not a missing dataset
    reason = str(err).splitlines()[0].strip("\"'") if str(err) else repr(err)
    return DatasetUnavailable(
        f"an lm-eval task's dataset could not be loaded ({reason}); "
        "lm-eval's own tasks read the Hugging Face Hub: allow it (unset HF_HUB_OFFLINE/HF_DATASETS_OFFLINE) "
        "or run where the dataset is in the datasets cache"
    )


# --- console summary --------------------------------------------------------------------------------
def _without_members(results: dict[str, Any], cat: Catalogue) -> dict[str, Any]:
    """lm-eval's results with the subjects of nativeval's groups left out (they stay in the results file)."""
    members = {leaf.name for task in cat.tasks if task.is_group for leaf in task.leaves}
    shown = dict(results)
    shown["results"] = {k: v for k, v in results.get("results", {}).items() if k not in members}
    return shown


def _headline(task: CatalogueTask, scores: dict[str, Any]) -> tuple[str, Any]:
    for metric in (*task.aggregate_metrics, *task.benchmark.metrics):
        for key, value in scores.items():
            if key.split(",")[0] == metric and "_stderr" not in key:
                return key, value
    return "", None


def _sample_count(name: str, task: CatalogueTask, results: dict[str, Any]) -> int | None:
    scores = results.get("results", {}).get(name, {})
    if isinstance(scores.get("sample_len"), int):
        return scores["sample_len"]
    counts = results.get("n-samples", {})
    names = [name] if name in counts else [leaf.name for leaf in task.leaves]
    found = [counts[n].get("effective") for n in names if n in counts]
    return sum(found) if found else None


def benchmark_summary(results: dict[str, Any], cat: Catalogue | None = None) -> str:
    """One line per nativeval task in the results (groups, not their subjects), native first, then translated,
    with the provenance that says how to read each score."""
    cat = cat or catalogue()
    by_name = {t.name: t for t in cat.tasks}
    rows = []
    for name, scores in results.get("results", {}).items():
        task = by_name.get(name)
        if task is None:
            continue
        metric, value = _headline(task, scores)
        n = _sample_count(name, task, results)
        shown = f"{value:.4f}" if isinstance(value, float) else "-" if value is None else str(value)
        rows.append(
            (
                task.benchmark.origin_group,
                task.benchmark.title,
                task.language,
                provenance_text(task),
                name,
                metric or "-",
                shown,
                "-" if n is None else str(n),
            )
        )
    if not rows:
        return ""
    rows.sort(key=lambda r: (r[0] != "native", r[1], r[2]))
    header = ("origin", "benchmark", "lang", "provenance", "task", "metric", "value", "n")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = [
        "nativeval summary (per benchmark, by test-set origin):",
        line(header),
        line(["-" * w for w in widths]),
    ]
    for origin in ("native", "translated"):
        out += [line(r) for r in rows if r[0] == origin]
    return "\n".join(out)


def summary_table(results: dict[str, Any]) -> str:
    """lm-eval's table (subjects folded into their groups) and, after it,
    nativeval's per-benchmark summary."""
    from lm_eval.utils import make_table

    cat = catalogue()
    text = make_table(_without_members(results, cat))
    if results.get("groups"):
        text += "\n" + make_table(results, "groups")
    summary = benchmark_summary(results, cat)
    return text + ("\n" + summary if summary else "")

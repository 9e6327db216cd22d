"""`nativeval eval`: lm-eval's simple_evaluate over nativeval's tasks (and any lm-eval task), with lm-eval's
own output files, options and device choice.

lm-eval 0.4.13 builds every requested task (and so loads every dataset) before it evaluates anything, and a
dataset that fails to load aborts the whole run with a traceback. So inputs are checked up front: model
references by the one rule of :mod:`harness_ext.core.models`, the device, the options, and data
availability (a missing dataset is a one-line error naming it and the fix, or, with ``skip_missing``, the
catalogue tasks whose data is missing are left out with a warning and the others run).

lm-eval's built-in task index (seconds to build) is read only when a name outside nativeval's catalogue is
asked for; nativeval's own tasks are indexed with ``include_defaults=False`` (milliseconds).
"""

from __future__ import annotations

import contextlib
import json
import logging
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from harness_ext.catalogue import datasets as data_layer
from harness_ext.catalogue.mirror import TaskData, check
from harness_ext.catalogue.model import TASKS_DIR, Catalogue, CatalogueTask, catalogue, unknown_name_message
from harness_ext.catalogue.view import provenance_text
from harness_ext.core.errors import DatasetUnavailable, InputError
from harness_ext.core.models import hub_id_of, hub_unreachable, not_in_cache, resolve_model
from harness_ext.core.runs import refuse_unfinished_runs
from harness_ext.eval.runtime import no_dataset_bars

log = logging.getLogger(__name__)

LABEL_ARG = "nativeval_label"
MODEL_PATH_ARGS = ("pretrained", "peft", "lora_local_path", "tokenizer", "delta")
DEFAULT_SEEDS = "0,1234,1234,1234"  # lm-eval 0.4.13's --seed default: python, numpy, torch, fewshot


@dataclass
class EvalRequest:
    """One `nativeval eval` invocation; option names and meanings are lm-eval's ``simple_evaluate``'s."""

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
    """``key=value,...`` as (key, raw value) pairs, split exactly as lm-eval's simple_parse_args_string does."""
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
                raise InputError(f"--label {label} and --model-args {LABEL_ARG}={value} disagree; give one of them")
            label = value.strip() or None
            continue
        if key in MODEL_PATH_ARGS and value.strip():
            ref = resolve_model(value, f"--model-args {key}={value.strip()}",
                                revision=revision if key == "pretrained" else None)
            if ref.kind == "hub":
                value = ref.location
        kept.append((key, value))
    if label is not None and not label.strip():
        raise InputError("--label is empty; give the run a name, e.g. --label qwen-native-zh")
    return ",".join(f"{k}={v}" for k, v in kept), label


# --- device -----------------------------------------------------------------------------------------
def choose_device(requested: str | None) -> str:
    """lm-eval's choice when none is given (cuda when available, else mps where present, else cpu); a requested
    accelerator this machine lacks is a one-line error instead of a traceback after the model was read."""
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
            raise InputError(f"--device {device}: this machine has no CUDA device (torch.cuda.is_available() is "
                             "False); leave --device out to use the CPU, or pass --device cpu")
        if index and (not index.isdigit() or int(index) >= count):
            raise InputError(f"--device {device}: this machine has {count} CUDA device(s), cuda:0 to cuda:{count - 1}")
    elif kind == "mps" and not has_mps:
        raise InputError(f"--device {device}: this machine has no Apple MPS device; leave --device out or pass "
                         "--device cpu")
    return device


# --- other options ----------------------------------------------------------------------------------
def parse_seeds(seed: str | None) -> list[int | None]:
    """lm-eval's --seed: one integer for all four seeds, or ``python,numpy,torch,fewshot`` (``None`` leaves one unset)."""
    from lm_eval._cli.utils import _int_or_none_list_arg_type

    try:
        return _int_or_none_list_arg_type(3, 4, DEFAULT_SEEDS, seed or DEFAULT_SEEDS)
    except ValueError as err:
        raise InputError(f"--seed {seed}: {err}") from None


def parse_metadata(items: Sequence[str]) -> dict[str, Any]:
    """lm-eval's --metadata: a JSON object or ``key=value,...`` (values as lm-eval parses them), merged in order."""
    from lm_eval.utils import simple_parse_args_string

    merged: dict[str, Any] = {}
    for item in items:
        text = item.strip()
        if text.startswith("{"):
            try:
                value = json.loads(text)
            except json.JSONDecodeError as err:
                raise InputError(f"--metadata {text}: not a JSON object ({err.msg})") from None
            if not isinstance(value, dict):
                raise InputError(f"--metadata {text}: give a JSON object or key=value pairs")
            merged.update(value)
        elif all("=" in pair and pair.split("=", 1)[0].strip() for pair in text.split(",") if pair):
            merged.update(simple_parse_args_string(text))
        else:
            raise InputError(f"--metadata {text}: give a JSON object or key=value pairs")
    return merged


def parse_gen_kwargs(gen_kwargs: str | None) -> dict[str, Any] | None:
    from lm_eval.utils import simple_parse_args_string

    if not gen_kwargs or not gen_kwargs.strip():
        return None
    if not all("=" in pair and pair.split("=", 1)[0].strip() for pair in gen_kwargs.split(",") if pair):
        raise InputError(f"--gen-kwargs {gen_kwargs}: give key=value pairs, e.g. temperature=0,max_gen_toks=256")
    return simple_parse_args_string(gen_kwargs)


def multiturn(fewshot_as_multiturn: bool | None, apply_chat_template: bool | str) -> bool:
    """lm-eval's rule: on by default with a chat template; asking for it without one is an error."""
    if fewshot_as_multiturn is None:
        return bool(apply_chat_template)
    if fewshot_as_multiturn and not apply_chat_template:
        raise InputError("--fewshot-as-multiturn: when `fewshot_as_multiturn` is True, `apply_chat_template` must be "
                         "set; add --apply-chat-template")
    return fewshot_as_multiturn


def _include_paths(paths: Sequence[str]) -> list[str]:
    found = []
    for path in paths:
        folder = Path(path).expanduser()
        if not folder.exists():
            raise InputError(f"--include-path {path}: no such file or directory")
        found.append(str(folder))
    return found


def build_task_manager(names: Sequence[str], cat: Catalogue, include_paths: Sequence[str],
                       metadata: dict[str, Any]):
    """A TaskManager that knows every name: nativeval's (and the extra task folders') first, lm-eval's
    built-ins indexed only when a name is found in neither. An unknown name gets the close-match line."""
    from lm_eval.tasks import TaskManager

    from harness_ext.catalogue.user_tasks import include_paths as user_task_paths

    paths = [str(TASKS_DIR), *user_task_paths(), *include_paths]
    ours = set(cat.known_names())
    others = [n for n in names if n not in ours]
    manager = TaskManager(include_path=paths, include_defaults=False, metadata=metadata)
    if others and any(n not in manager.all_tasks for n in others):
        manager = TaskManager(include_path=paths, include_defaults=True, metadata=metadata)
    for name in others:
        if name not in manager.all_tasks and not Path(name).is_file():
            raise InputError(unknown_name_message(name, sorted(ours | set(manager.all_tasks))))
    return manager


# --- quiet output -----------------------------------------------------------------------------------
class _DropPerTaskNotices(logging.Filter):
    """"Overwriting default num_fewshot of <task> from 5 to N", once per task (57 for HT-MMLU's subjects), for
    the --num-fewshot the user asked for, dropped for nativeval's tasks: the n-shot column of the results table
    shows it. (lm-eval's notice about custom_dataset kwargs is dropped wherever our tasks load:
    harness_ext.eval.notices.)"""

    def __init__(self, task_names: set[str]):
        super().__init__()
        self.task_names = task_names

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        if message.startswith("Overwriting default num_fewshot of "):
            return message.removeprefix("Overwriting default num_fewshot of ").split(" ", 1)[0] not in self.task_names
        return True


@contextlib.contextmanager
def quiet_phases(cat: Catalogue, counts: tuple[int | None, int | None]) -> Iterator[None]:
    """One progress bar per phase: loading the tasks' data and building their requests each get one bar
    over tasks instead of one (or several datasets `Filter:`/`Map:` bars) per task; lm-eval's own bars for
    running the requests stay."""
    import lm_eval.api.task as lm_eval_task
    from tqdm.auto import tqdm

    loggers = [logging.getLogger(name) for name in (lm_eval_task.__name__, "lm_eval.evaluator")]
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

    original_tqdm = getattr(lm_eval_task, "tqdm", None)
    for logger in loggers:
        logger.addFilter(advisory)
    previous_hook = data_layer.set_load_progress(lambda: advance("load", "Loading task data", loaded_count))
    if original_tqdm is not None:
        lm_eval_task.tqdm = per_task_docs
    try:
        with no_dataset_bars():
            yield
    finally:
        if original_tqdm is not None:
            lm_eval_task.tqdm = original_tqdm
        data_layer.set_load_progress(previous_hook)
        for logger in loggers:
            logger.removeFilter(advisory)
        for bar in bars.values():
            bar.close()


def _phase_counts(names: Sequence[str], cat: Catalogue) -> tuple[int | None, int | None]:
    """(tasks whose data the dataset layer loads, all tasks) for the phase bars; unknown with lm-eval built-ins
    or extra task folders, whose size is known only once lm-eval loaded them."""
    known = set(cat.known_names())
    if not all(n in known for n in names):
        return None, None
    leaves = cat.resolve_leaves(names)
    return sum(1 for task, _ in leaves if not task.benchmark.embedded), len(leaves)


def _fewshot_error(err: Exception, num_fewshot: int | None) -> InputError | None:
    """lm-eval's own message when --num-fewshot asks for more exemplars than a task has."""
    message = str(err).strip().splitlines()[0] if str(err).strip() else ""
    if num_fewshot is None:
        return None
    if message.startswith("Error: number of fewshot samples") or "Sample larger than population" in message:
        return InputError(f"--num-fewshot {num_fewshot}: {message}")
    return None


# --- run --------------------------------------------------------------------------------------------
def _newest(folder: Path, pattern: str, since: float) -> list[Path]:
    return sorted(p for p in folder.rglob(pattern) if p.stat().st_mtime >= since)


def run(request: EvalRequest, after_eval: Callable[[EvalOutcome], None] | None = None,
        lm: Any = None) -> EvalOutcome:
    """Evaluate, write ``results_*.json`` (+ ``samples_*.jsonl``) as `lm_eval --output_path` does.

    ``lm``: the model already loaded as ``request.model_args`` says (adapter_group.py), recorded as if loaded here."""
    import time

    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.utils import simple_parse_args_string

    cat = catalogue()
    requested = parse_task_list(request.tasks)
    known = set(cat.known_names())
    ours = [n for n in requested if n in known]
    model_args, label = prepare_model_args(request.model_args, request.label)
    device = choose_device(request.device)
    seeds = parse_seeds(request.seed)
    gen_kwargs = parse_gen_kwargs(request.gen_kwargs)
    fewshot_as_multiturn = multiturn(request.fewshot_as_multiturn, request.apply_chat_template)
    if request.num_fewshot is not None and request.num_fewshot < 0:
        raise InputError(f"--num-fewshot {request.num_fewshot}: must be 0 or more")
    metadata = simple_parse_args_string(model_args) | parse_metadata(request.metadata)
    task_manager = build_task_manager(requested, cat, _include_paths(request.include_paths), metadata)
    kept, skipped = tasks_with_data(ours, request.skip_missing, cat) if ours else ([], [])
    names = [n for n in requested if n not in known] + kept

    refuse_unfinished_runs(simple_parse_args_string(model_args))
    tracker = EvaluationTracker(output_path=str(request.output_path))
    started = time.time()
    with quiet_phases(cat, _phase_counts(names, cat)):
        try:
            results = simple_evaluate(
                model=lm if lm is not None else request.model, model_args=model_args, tasks=names, num_fewshot=request.num_fewshot,
                batch_size=request.batch_size, max_batch_size=request.max_batch_size, device=device,
                use_cache=request.use_cache, limit=request.limit, log_samples=request.log_samples,
                evaluation_tracker=tracker, system_instruction=request.system_instruction,
                apply_chat_template=request.apply_chat_template, fewshot_as_multiturn=fewshot_as_multiturn,
                gen_kwargs=gen_kwargs, task_manager=task_manager, random_seed=seeds[0],
                numpy_random_seed=seeds[1], torch_random_seed=seeds[2], fewshot_random_seed=seeds[3],
                metadata=metadata,
            )
        except (AssertionError, ValueError) as err:
            friendly = _fewshot_error(err, request.num_fewshot)
            if friendly is None:
                raise
            raise friendly from None
        except OSError as err:
            pretrained = simple_parse_args_string(model_args).get("pretrained")
            if hub_unreachable(err) and pretrained and hub_id_of(str(pretrained)):
                raise InputError(not_in_cache(f"--model-args pretrained={pretrained}", str(pretrained),
                                              "the Hugging Face Hub cannot be reached")) from None
            if not isinstance(err, (ConnectionError, FileNotFoundError)):
                raise
            if len(names) == len(kept):
                raise  # nativeval's own data was checked above: this is not a missing dataset
            reason = str(err).splitlines()[0].strip("\"'") if str(err) else repr(err)
            raise DatasetUnavailable(
                f"an lm-eval task's dataset could not be loaded ({reason}); "
                "lm-eval's own tasks read the Hugging Face Hub: allow it (unset HF_HUB_OFFLINE/HF_DATASETS_OFFLINE) "
                "or run where the dataset is in the datasets cache"
            ) from None
    if results is None:  # non-zero ranks of a distributed run write nothing
        return EvalOutcome(results={}, results_file=None, skipped=skipped)
    if lm is not None:  # what a run that loaded the model itself records
        results["config"]["model"] = request.model
        tracker.general_config_tracker.model_source = request.model
    if label is not None:
        results["nativeval"] = {"label": label}
    samples = results.pop("samples", None) if request.log_samples else None
    tracker.save_results_aggregated(results=results, samples=samples)
    if samples is not None:
        for task_name in results["configs"]:
            tracker.save_results_samples(task_name=task_name, samples=samples[task_name])
    out = Path(request.output_path)
    result_files = _newest(out, "results_*.json", started) if out.suffix != ".json" else []
    outcome = EvalOutcome(results=results, results_file=result_files[-1] if result_files else None,
                          samples_files=_newest(out, "samples_*.jsonl", started) if out.suffix != ".json" else [],
                          skipped=skipped)
    # --- judge hook -------------------------------------------------------------------------------------
    # A judge step (open-QA verdicts from the samples files) plugs in here through `after_eval`, so that
    # `nativeval eval --judge ...` runs it right after lm-eval wrote its files.
    if after_eval is not None:
        after_eval(outcome)
    return outcome


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
        rows.append((task.benchmark.origin_group, task.benchmark.title, task.language, provenance_text(task),
                     name, metric or "-", shown, "-" if n is None else str(n)))
    if not rows:
        return ""
    rows.sort(key=lambda r: (r[0] != "native", r[1], r[2]))
    header = ("origin", "benchmark", "lang", "provenance", "task", "metric", "value", "n")
    widths = [max(len(header[i]), *(len(r[i]) for r in rows)) for i in range(len(header))]
    line = lambda cells: "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()  # noqa: E731
    out = ["nativeval summary (per benchmark, by test-set origin):", line(header), line(["-" * w for w in widths])]
    for origin in ("native", "translated"):
        out += [line(r) for r in rows if r[0] == origin]
    return "\n".join(out)


def summary_table(results: dict[str, Any]) -> str:
    """lm-eval's table (subjects folded into their groups) and, after it, nativeval's per-benchmark summary."""
    from lm_eval.utils import make_table

    cat = catalogue()
    text = make_table(_without_members(results, cat))
    if results.get("groups"):
        text += "\n" + make_table(results, "groups")
    summary = benchmark_summary(results, cat)
    return text + ("\n" + summary if summary else "")

"""Scripted lm-eval models: ScriptedLM answers right or wrong per item at planned rates on nativeval's own tasks;
KeyedRepliesLM answers hand-picked items by rule (below).

Tests that need results with a known answer (the leaderboard's statistics) run real lm-eval on nativeval's
tasks and fixture data with this model instead of hand-writing results files. The model directory holds
``nativeval_script.json``::

    {"seed": 3, "default": 0.5, "rates": {"native_zh_cmmlu": 0.9, "translated_zh_xquad": 0.0}}

An item is answered correctly when a hash of (seed, task, doc_id) falls under the rate of the longest
matching task-name prefix (a group's members match the group's name). Correct answers are the gold
answer in the task's own format (the option letter's choice, the first gold span, the localized MGSM
answer phrase and number); wrong ones are a different choice or a non-answer.

    run_scripted(model_dir, tasks, out)   # writes results_*.json + samples_*.jsonl as lm_eval --log_samples
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from lm_eval.api.model import LM

SCRIPT_NAME = "nativeval_script.json"
WRONG_TEXT = "不知道 / no sé / не знаю"
LETTERS = "ABCDEFGHIJ"


def write_script(
    model_dir: Path,
    rates: dict[str, float],
    default: float = 0.5,
    seed: int = 0,
    manifest: dict[str, Any] | None = None,
) -> Path:
    """A model directory for :class:`ScriptedLM`; ``manifest`` becomes its ``nativeval_run.json``."""
    model_dir.mkdir(parents=True, exist_ok=True)
    (model_dir / SCRIPT_NAME).write_text(
        json.dumps({"seed": seed, "default": default, "rates": rates}), encoding="utf-8"
    )
    if manifest is not None:
        (model_dir / "nativeval_run.json").write_text(
            json.dumps({"kind": "nativeval_run", **manifest}), encoding="utf-8"
        )
    return model_dir


def _unit_hash(*parts: object) -> float:
    digest = hashlib.sha256("\x1f".join(map(str, parts)).encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def gold_choice(doc: dict[str, Any]) -> int | None:
    """The gold option's index of a multiple-choice doc (letter ``answer``/``Answer`` or integer ``label``)."""
    for key in ("answer", "Answer", "label", "gold"):
        value = doc.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
        if isinstance(value, str) and len(value) == 1 and value.upper() in LETTERS:
            return LETTERS.index(value.upper())
    return None


def gold_text(task_name: str, doc: dict[str, Any]) -> str:
    """A correct generation for ``doc`` in the form the task's metric reads."""
    if "answer_number" in doc:
        from nativeval.harness_ext.catalogue import catalogue
        from nativeval.harness_ext.core.languages import language

        task = next((t for t in catalogue().tasks if t.name == task_name), None)
        phrases = language(task.language).mgsm_answer_phrases if task else ()
        number = doc["answer_number"]
        number = int(number) if float(number).is_integer() else number
        return f"{phrases[0] if phrases else 'The answer is'} {number}."
    answers = doc.get("answers")
    if isinstance(answers, dict) and answers.get("text"):
        return str(answers["text"][0])
    return str(doc.get("answer") or doc.get("target") or "")


class ScriptedLM(LM):
    """``ScriptedLM(pretrained=<dir with nativeval_script.json>)``, handed to ``simple_evaluate`` as an instance.

    Not registered in lm-eval's model registry: registering at import time would stop lm-eval 0.4.13's
    lazy registry from loading its built-in models (``hf``) in the same process."""

    def __init__(self, pretrained: str, **_: Any) -> None:
        super().__init__()
        script = json.loads((Path(pretrained) / SCRIPT_NAME).read_text(encoding="utf-8"))
        self.seed = script.get("seed", 0)
        self.default = float(script.get("default", 0.5))
        self.rates = {str(k): float(v) for k, v in (script.get("rates") or {}).items()}

    def rate(self, task_name: str) -> float:
        matches = [k for k in self.rates if task_name == k or task_name.startswith(f"{k}_")]
        return self.rates[max(matches, key=len)] if matches else self.default

    def correct(self, task_name: str, doc_id: int) -> bool:
        return _unit_hash(self.seed, task_name, doc_id) < self.rate(task_name)

    def loglikelihood(self, requests) -> list[tuple[float, bool]]:
        out = []
        for request in requests:
            gold = gold_choice(request.doc)
            n_choices = 4
            chosen = gold if self.correct(request.task_name, request.doc_id) else (gold or 0) + 1
            wanted = (chosen or 0) % n_choices
            out.append((0.0 if request.idx == wanted else -5.0, request.idx == wanted))
        return out

    def loglikelihood_rolling(self, requests) -> list[float]:
        return [-1.0 for _ in requests]

    def generate_until(self, requests) -> list[str]:
        return [
            gold_text(r.task_name, r.doc) if self.correct(r.task_name, r.doc_id) else WRONG_TEXT
            for r in requests
        ]


def run_scripted(
    model_dir: Path,
    tasks: list[str],
    out: Path,
    limit: int | None = None,
    label: str | None = None,
    task_manager: Any = None,
    lm: LM | None = None,
) -> Path:
    """lm-eval over nativeval's tasks with the scripted model (or ``lm``, a subclass with its own rule),
    written as ``lm_eval --log_samples`` does."""
    from lm_eval import simple_evaluate
    from lm_eval.loggers import EvaluationTracker
    from lm_eval.tasks import TaskManager

    from nativeval.harness_ext.catalogue.model import TASKS_DIR

    tracker = EvaluationTracker(output_path=str(out))
    results = simple_evaluate(
        model=lm or ScriptedLM(pretrained=str(model_dir)),
        model_args=f"pretrained={model_dir}",
        tasks=tasks,
        limit=limit,
        log_samples=True,
        evaluation_tracker=tracker,
        task_manager=task_manager or TaskManager(include_path=str(TASKS_DIR), include_defaults=False),
    )
    samples = results.pop("samples")
    if label is not None:
        results["nativeval"] = {"label": label}
    tracker.save_results_aggregated(results=results, samples=samples)
    for task in results["configs"]:
        tracker.save_results_samples(task_name=task, samples=samples[task])
    return out


class KeyedRepliesLM(LM):
    """Generations chosen by rule, every request recorded: for known-answer runs on hand-picked items.

    The reply to a request is the value of the rule whose key occurs last in its context, so a rule keyed by
    a test question's words answers that question and not a few-shot exemplar that shares the words earlier
    in the prompt. ``contexts`` holds every generation context in request order."""

    def __init__(self, replies: dict[str, str], default: str = "") -> None:
        super().__init__()
        self.replies = dict(replies)
        self.default = default
        self.contexts: list[str] = []

    def reply_to(self, context: str) -> str:
        hits = [(context.rfind(key), key) for key in self.replies if key in context]
        return self.replies[max(hits)[1]] if hits else self.default

    def generate_until(self, requests, disable_tqdm: bool = False) -> list[str]:
        out = []
        for request in requests:
            context = request.args[0]
            self.contexts.append(context)
            out.append(self.reply_to(context))
        return out

    def loglikelihood(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("KeyedRepliesLM only generates")

    def loglikelihood_rolling(self, requests, disable_tqdm: bool = False):
        raise NotImplementedError("KeyedRepliesLM only generates")

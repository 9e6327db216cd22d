"""The ``judge`` command: check everything up front, plan the calls, run them, score and write.

Flow: lm-eval samples files -> one call per (judge, question, response) -> verdict parsed from the judge's own
text -> per-item judgments beside the samples and an lm-eval-shaped results file per judge. Items judged
before ``--max-cost`` stops the run go to a results file marked ``"partial"``; invalid verdicts are excluded
from the mean and counted.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from nativeval.harness_ext.core.cache import KVCache
from nativeval.harness_ext.core.errors import InputError
from nativeval.harness_ext.core.resilience import CostLedger
from nativeval.harness_ext.judge.calls import (
    Call,
    estimated_input_tokens,
    pairwise_calls,
    single_call,
    worst_case_cost,
)
from nativeval.harness_ext.judge.config import (
    JudgeConfig,
    PromptTemplate,
    load_judge,
    load_prices,
    load_prompt,
)
from nativeval.harness_ext.judge.engine import JudgeEngine, StoppedAtCostCap
from nativeval.harness_ext.judge.lm_eval_outputs import (
    SAMPLES_NAME,
    JudgeItem,
    RunOutputs,
    collect_runs,
    is_judged_task,
)
from nativeval.harness_ext.judge.outputs import (
    output_folders,
    write_pairwise_outputs,
    write_single_outputs,
)
from nativeval.harness_ext.judge.replies import JudgeReply
from nativeval.harness_ext.judge.scoring import pair_items, score_pairs, score_task


def default_cache_path() -> Path:
    root = os.environ.get("NATIVEVAL_CACHE_DIR") or Path.home() / ".cache" / "nativeval"
    return Path(root) / "judge_cache.sqlite"


@dataclass
class JudgeOptions:
    paths: Sequence[str] = ()
    judges: Sequence[str] = ("gpt-4-turbo",)
    base_url: str | None = None
    model: str | None = None
    prompt: str | None = None
    concurrency: int = 16
    max_cost: float | None = None
    cache: str | None = None
    out: str | None = None
    dry_run: bool = False
    pairwise: tuple[str, str] | None = None
    tasks: Sequence[str] = ()
    prices: str | None = None
    progress: bool = True
    repeats: int = 1


@dataclass
class JudgePlan:
    """One judge's part of a run: its prompt and calls (and, pairwise, the items compared per task)."""

    judge: JudgeConfig
    prompt: PromptTemplate
    calls: list[Call]
    pairs: dict[str, list[tuple[JudgeItem, JudgeItem]]] = field(default_factory=dict)


def _judges(options: JudgeOptions) -> list[JudgeConfig]:
    judges = [load_judge(name, base_url=options.base_url, model=options.model) for name in options.judges]
    names = [j.name for j in judges]
    if len(set(names)) != len(names):
        raise InputError(f"judge named twice: {', '.join(names)}")
    return judges


def _ledger(options: JudgeOptions, judges: Sequence[JudgeConfig]) -> CostLedger:
    prices = load_prices(options.prices)
    for judge in judges:
        prices.update(judge.prices)
    if options.max_cost is not None:
        if options.max_cost < 0:
            raise InputError("--max-cost must be zero or more (USD)")
        unpriced = sorted({j.model for j in judges if j.model not in prices})
        if unpriced:
            raise InputError(
                f"no price for judge model(s) {', '.join(unpriced)}: add them to the price table "
                "(harness_ext/core/prices.yaml, --prices FILE, or `prices:` in the judge YAML) "
                "to use --max-cost"
            )
    return CostLedger(prices=prices, max_cost=options.max_cost)


def _dry_run_report(
    engine: JudgeEngine, ledger: CostLedger, plans: Sequence[JudgePlan], echo: Callable[[str], None]
) -> None:
    total_expected = total_worst = 0.0
    for plan in plans:
        judge, calls = plan.judge, plan.calls
        todo = engine.pending(calls)
        expected = sum(
            ledger.price(
                judge.model,
                input_tokens=estimated_input_tokens(c.messages),
                output_tokens=judge.expected_output_tokens,
            )
            for c in todo
        )
        worst = sum(worst_case_cost(ledger, c) for c in todo)
        priced = judge.model in ledger.prices
        total_expected += expected
        total_worst += worst
        echo(
            f"dry run: judge {judge.name} ({judge.model} at {judge.base_url}): {len(todo)} call(s) to make, "
            f"{len(set(c.key for c in calls)) - len(todo)} cached; "
            f"estimated ${expected:.4f} (worst case ${worst:.4f})"
            + ("" if priced else "; model not in the price table, counted as $0")
        )
    echo(
        f"dry run: total estimated ${total_expected:.4f} (worst case ${total_worst:.4f}); "
        f"retries of invalid verdicts are not included; no request was sent"
    )


def preflight(options: JudgeOptions) -> tuple[list[JudgeConfig], CostLedger]:
    """Everything about a judge run that can be wrong before any work (`eval --judge` calls it before
    generation): option ranges, judge names, prompts, prices and the cost cap, the API keys, the cache
    file."""
    if options.concurrency < 1:
        raise InputError("--concurrency must be at least 1")
    if options.repeats < 1:
        raise InputError("--repeats must be at least 1")
    if options.repeats > 1 and options.pairwise:
        raise InputError("--repeats applies to single-answer grading; drop it with --pairwise")
    if options.pairwise and Path(options.pairwise[0]).resolve() == Path(options.pairwise[1]).resolve():
        raise InputError(
            f"--pairwise {options.pairwise[0]} {options.pairwise[1]}: the same run twice; give two runs"
        )
    judges = _judges(options)
    ledger = _ledger(options, judges)
    for judge in judges:
        prompt = load_prompt(options.prompt or (judge.pairwise_prompt if options.pairwise else judge.prompt))
        wanted = "pairwise" if options.pairwise else "single"
        if prompt.kind != wanted:
            raise InputError(
                f"prompt {prompt.version} is a {prompt.kind} prompt; "
                f"{'--pairwise' if options.pairwise else 'single-answer grading'} needs a {wanted} one"
            )
        if not options.dry_run:
            judge.api_key()
    cache = Path(options.cache or default_cache_path())
    if (
        cache.exists()
    ):  # a corrupt or unreadable cache is one line now; a new one is made only once inputs are read
        KVCache(cache).close()
    return judges, ledger


def run_judge(options: JudgeOptions, echo: Callable[[str], None] = print) -> list[Path]:
    """The ``cli.py judge`` command; returns the results files written (none for --dry-run)."""
    judges, ledger = preflight(options)
    if options.pairwise:
        pair = tuple(_single_run(p, options.tasks) for p in options.pairwise)
    elif not options.paths:
        raise InputError("give at least one lm-eval output directory or samples file to judge")
    else:
        runs = collect_runs(options.paths, options.tasks)  # read (and refused) before the cache file is made
    cache = KVCache(options.cache or default_cache_path())
    engine = JudgeEngine(cache, ledger, concurrency=options.concurrency, progress=options.progress)
    try:
        if options.pairwise:
            return _run_pairwise(options, pair, judges, engine, ledger, echo)
        return _run_single(options, runs, judges, engine, ledger, echo)
    finally:
        cache.close()


def _run_single(
    options: JudgeOptions,
    runs: list[RunOutputs],
    judges: Sequence[JudgeConfig],
    engine: JudgeEngine,
    ledger: CostLedger,
    echo: Callable[[str], None],
) -> list[Path]:
    folders = output_folders(runs, Path(options.out) if options.out else None)
    plans = []
    for judge in judges:
        prompt = load_prompt(options.prompt or judge.prompt)
        if prompt.kind != "single":
            raise InputError(
                f"prompt {prompt.version} is a {prompt.kind} prompt; single-answer grading needs a single one"
            )
        calls = [
            single_call(judge, prompt, item.question, item.response, repeat)
            for run in runs
            for samples in run.tasks.values()
            for item in samples.items
            for repeat in range(options.repeats)
        ]
        plans.append(JudgePlan(judge, prompt, calls))
        if options.repeats > 1 and judge.temperature == 0:
            echo(
                f"note: judge {judge.name} runs at temperature 0, so its {options.repeats} repeats may all "
                "agree; set `temperature:` in its YAML to measure self-consistency"
            )
    if options.dry_run:
        _dry_run_report(engine, ledger, plans, echo)
        return []
    replies, stopped = _judge_all(engine, plans)
    written = []
    for run in runs:
        for plan in plans:
            judge = plan.judge
            scores = [
                score_task(samples, judge, plan.prompt, replies, options.repeats)
                for samples in run.tasks.values()
            ]
            written.append(
                write_single_outputs(
                    run,
                    judge,
                    plan.prompt,
                    scores,
                    folders[run.directory],
                    ledger,
                    partial=str(stopped) if stopped else None,
                    repeats=options.repeats,
                )
            )
            for s in scores:
                mean = f"{s.mean:.3f}" if s.mean is not None else "n/a"
                off = f"{s.off_language_rate:.2f}" if s.off_language_rate is not None else "n/a"
                echo(
                    f"{run.directory.name} {s.task} [{judge.name}]: rating {mean} "
                    f"(sum {sum(s.ratings)}, n {len(s.ratings)}, invalid {s.invalid}), "
                    f"off_language_rate {off}"
                )
    _summary(engine, ledger, written, echo)
    if stopped is not None:
        raise stopped
    return written


def _run_pairwise(
    options: JudgeOptions,
    pair: tuple[RunOutputs, ...],
    judges: Sequence[JudgeConfig],
    engine: JudgeEngine,
    ledger: CostLedger,
    echo: Callable[[str], None],
) -> list[Path]:
    assert options.pairwise is not None
    run_a, run_b = pair
    shared = sorted(set(run_a.tasks) & set(run_b.tasks))
    if not shared:
        raise InputError(f"{options.pairwise[0]} and {options.pairwise[1]} have no judged task in common")
    plans = []
    for judge in judges:
        prompt = load_prompt(options.prompt or judge.pairwise_prompt)
        if prompt.kind != "pairwise":
            raise InputError(
                f"prompt {prompt.version} is a {prompt.kind} prompt; --pairwise needs a pairwise one"
            )
        pairs = {t: pair_items(run_a.tasks[t], run_b.tasks[t]) for t in shared}
        calls = [c for t in shared for c in pairwise_calls(judge, prompt, pairs[t])]
        plans.append(JudgePlan(judge, prompt, calls, pairs))
    if options.dry_run:
        _dry_run_report(engine, ledger, plans, echo)
        return []
    replies, stopped = _judge_all(engine, plans)  # the pairs judged in both orders are written
    out = Path(options.out or "pairwise")
    written = []
    for plan in plans:
        judge = plan.judge
        scores = [score_pairs(t, judge, plan.prompt, plan.pairs[t], replies) for t in shared]
        written.append(
            write_pairwise_outputs(
                out,
                run_a,
                run_b,
                judge,
                plan.prompt,
                scores,
                ledger,
                partial=str(stopped) if stopped else None,
            )
        )
        for s in scores:
            rate = f"{s.win_rate_a:.3f}" if s.win_rate_a is not None else "n/a"
            echo(
                f"{s.task} [{judge.name}]: A wins {s.wins_a}, B wins {s.wins_b}, ties {s.ties} "
                f"(inconsistent {s.inconsistent}), invalid {s.invalid}; A's win rate {rate}"
            )
    _summary(engine, ledger, written, echo)
    if stopped is not None:
        raise stopped
    return written


def _judge_all(
    engine: JudgeEngine, plans: Sequence[JudgePlan]
) -> tuple[dict[str, JudgeReply], StoppedAtCostCap | None]:
    """Every plan's replies; when the cost cap stops the run, those made before it (written, marked
    partial)."""
    try:
        return engine.run([c for plan in plans for c in plan.calls]), None
    except StoppedAtCostCap as stopped:
        return stopped.replies, stopped


def _single_run(path: str, tasks: Sequence[str]) -> RunOutputs:
    runs = collect_runs([path], tasks)
    if len(runs) != 1:
        raise InputError(
            f"{path}: holds outputs of {len(runs)} runs; give one model's output directory for --pairwise"
        )
    return runs[0]


def _summary(
    engine: JudgeEngine, ledger: CostLedger, written: Sequence[Path], echo: Callable[[str], None]
) -> None:
    s = engine.stats
    cost = ledger.summary()
    echo(
        f"{s.requests} request(s) sent, {s.cache_hits} verdict(s) from the cache, "
        f"{s.invalid_retries} invalid verdict(s) "
        f"re-asked, {s.transport_retries} transport retr(ies); spent ${cost['spent_usd']:.4f} "
        f"({cost['input_tokens']} input + {cost['output_tokens']} output tokens)"
    )
    for path in written:
        echo(f"wrote {path}")


def main_from_cli(**kwargs: Any) -> None:
    """Entry for cli.py: ``kwargs`` are JudgeOptions fields."""
    run_judge(JudgeOptions(**kwargs), echo=lambda line: print(line, file=sys.stdout, flush=True))


def judge_after_eval(options: JudgeOptions, echo: Callable[[str], None] = print) -> Callable[[Any], None]:
    """A ``nativeval.harness_ext.eval.run.run(after_eval=...)`` hook: judge the open-QA samples lm-eval just
    wrote."""

    def hook(outcome: Any) -> None:
        configs = (outcome.results or {}).get("configs") or {}
        files = []
        for path in outcome.samples_files:
            match = SAMPLES_NAME.match(Path(path).name)
            if match and is_judged_task(match["task"], configs.get(match["task"], {})):
                files.append(str(path))
        if not files:
            echo("judge: no open-QA task in this run, nothing to judge")
            return
        run_judge(replace(options, paths=files), echo=echo)

    return hook

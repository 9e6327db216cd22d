"""nativeval command line: thin click commands that parse options and call into the packages."""

from __future__ import annotations

import functools
import logging
import sys

import click

from harness_ext import __version__
from harness_ext.core.errors import NativevalError


def friendly_errors(fn):
    """Turn expected failures into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NativevalError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)
        except KeyboardInterrupt:
            click.echo("interrupted: finished work is saved; rerun the same command to resume", err=True)
            sys.exit(130)

    return wrapper


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nativeval")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool):
    """nativeval: is my multilingual model good, or is my evaluation just bad?"""
    logging.basicConfig(level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s: %(message)s")


# --- data -------------------------------------------------------------------------------------------
@main.group()
def data():
    """Dataset mirrors for offline clusters: download and check."""


@data.command("download")
@click.option("--tasks", "task_names", required=True, help="Comma-separated tasks or collections.")
@click.option("--to", "to", required=True, type=click.Path(file_okay=False), help="Mirror directory to write.")
@click.option("--force", is_flag=True, help="Fetch again splits that are already there.")
@friendly_errors
def data_download(task_names, to, force):
    """Write a mirror of the tasks' datasets (needs internet)."""
    from pathlib import Path

    from harness_ext.catalogue.mirror import download
    from harness_ext.eval.run import parse_task_list

    records = download(parse_task_list(task_names), Path(to), force=force)
    click.echo(f"wrote {len(records)} dataset config(s) under {to}; add it to NATIVEVAL_DATA_DIR to use it offline")


@data.command("check")
@click.option("--tasks", "task_names", default="native,translated", show_default=True,
              help="Comma-separated tasks or collections.")
@friendly_errors
def data_check(task_names):
    """Print where each task's data would come from and whether it is available (exit 1 if any is missing)."""
    from harness_ext.catalogue.mirror import check
    from harness_ext.eval.run import parse_task_list

    reports = check(parse_task_list(task_names))
    for report in reports:
        click.echo(report.summary())
    sys.exit(1 if any(r.missing for r in reports) else 0)


# --- tasks ------------------------------------------------------------------------------------------
@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@click.option("--markdown", is_flag=True, help="A Markdown table (as in the README).")
@friendly_errors
def tasks(as_json, markdown):
    """The task catalogue: name, language, provenance, type, shots, metrics, data."""
    import json

    from harness_ext.catalogue import view as catalogue_view
    from harness_ext.catalogue.model import catalogue

    cat = catalogue()
    if as_json:
        click.echo(json.dumps(catalogue_view.as_json(cat), indent=2, ensure_ascii=False))
    else:
        click.echo(catalogue_view.as_markdown(cat) if markdown else catalogue_view.as_table(cat))


# --- eval -------------------------------------------------------------------------------------------
@main.command("eval")
@click.option("--model", default="hf", show_default=True, help="lm-eval model type: hf, vllm, ...")
@click.option("--model-args", default="", help="lm-eval model arguments, e.g. pretrained=Qwen/Qwen1.5-7B.")
@click.option("--tasks", "task_names", required=True, help="Comma-separated tasks or collections.")
@click.option("--output-path", required=True, type=click.Path(), help="Where lm-eval's results files go.")
@click.option("--limit", type=float, default=None, help="Documents per task (a fraction if < 1).")
@click.option("--apply-chat-template", is_flag=True, help="Wrap prompts in the model's chat template.")
@click.option("--log-samples/--no-log-samples", default=True, show_default=True, help="Write samples_*.jsonl.")
@click.option("--batch-size", default="1", show_default=True, help="Batch size (or 'auto').")
@click.option("--device", default=None, help="Device, e.g. cuda:0 or cpu.")
@click.option("--skip-missing-data", is_flag=True, help="Leave out tasks whose data is missing (warn) instead of failing.")
@click.option("--judge", "judges", multiple=True, help="Judge open-QA answers after generation (see `judge --help`); repeatable.")
@click.option("--judge-base-url", default=None, help="Judge endpoint, overriding the judge config's.")
@click.option("--judge-concurrency", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--judge-max-cost", type=float, default=None, help="Judge spending cap in USD.")
@click.option("--judge-cache", default=None, type=click.Path(dir_okay=False), help="Judge verdict cache file.")
@friendly_errors
def eval_(model, model_args, task_names, output_path, limit, apply_chat_template, log_samples, batch_size,
          device, skip_missing_data, judges, judge_base_url, judge_concurrency, judge_max_cost, judge_cache):
    """Run lm-eval on nativeval tasks (and the judge, when configured)."""
    from pathlib import Path

    from harness_ext.eval.run import EvalRequest, run, summary_table

    request = EvalRequest(
        model=model, model_args=model_args, tasks=task_names.split(","), output_path=Path(output_path),
        limit=limit, apply_chat_template=apply_chat_template, log_samples=log_samples, batch_size=batch_size,
        device=device, skip_missing=skip_missing_data)
    after_eval = None
    if judges:
        if not log_samples:
            raise click.UsageError("--judge needs the samples: drop --no-log-samples")
        from harness_ext.judge.engine import JudgeOptions, judge_after_eval

        after_eval = judge_after_eval(JudgeOptions(
            judges=judges, base_url=judge_base_url, concurrency=judge_concurrency, max_cost=judge_max_cost,
            cache=judge_cache), echo=click.echo)
    outcome = run(request, after_eval=after_eval)
    if outcome.results:
        click.echo(summary_table(outcome.results))
    for name in outcome.skipped:
        click.echo(f"warning: skipped {name} (data missing)", err=True)
    if outcome.results_file:
        click.echo(f"results: {outcome.results_file}")


# --- translate / rtt --------------------------------------------------------------------------------
def _translation_options(fn):
    """Options shared by `translate` and `rtt`."""
    options = [
        click.option("--backend", type=click.Choice(["google", "llm", "hf"]), required=True),
        click.option("--in", "in_spec", required=True,
                     help="Alpaca/Aya JSON list, JSONL, or hf://dataset_id[:config][@revision][#split]."),
        click.option("--out", required=True, type=click.Path(dir_okay=False)),
        click.option("--fields", default="instruction,output", show_default=True,
                     help="Comma-separated fields, each translated separately."),
        click.option("--model", default=None, help="LLM model / Google model / HF MT model (id or directory)."),
        click.option("--base-url", default=None, help="OpenAI-compatible endpoint (llm) or API host (google)."),
        click.option("--api-key-env", default=None,
                     help="Environment variable holding the API key (llm: OPENAI_API_KEY; google: GOOGLE_TRANSLATE_API_KEY)."),
        click.option("--project", default=None, help="Google Cloud project for v3 (default $GOOGLE_CLOUD_PROJECT)."),
        click.option("--google-api", type=click.Choice(["auto", "v2", "v3"]), default="auto", show_default=True),
        click.option("--prompt", default=None, help="LLM prompt version or YAML file (default command_r_v1)."),
        click.option("--batch-size", type=int, default=16, show_default=True, help="hf: segments per forward pass."),
        click.option("--device", default=None, help="hf: cpu / cuda (default: cuda when present)."),
        click.option("--concurrency", type=int, default=None, help="Requests in flight (default per backend)."),
        click.option("--cache", "cache_path", default=None, help="Segment cache (default OUT.segments.sqlite)."),
        click.option("--max-cost", type=float, default=None, help="Stop before spending more than this (USD)."),
        click.option("--dry-run", is_flag=True, help="Estimate segments and cost; send and write nothing."),
        click.option("--skip-invalid", is_flag=True, help="Skip records lacking a field (reported) instead of failing."),
        click.option("--report", "report_path", default=None, help="Quality report JSON (default OUT.report.json)."),
        click.option("--split", default="train", show_default=True, help="Split for hf:// inputs."),
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run_translation(job, backend_name: str, options: dict) -> None:
    from translate.backends import make_backend
    from translate.quality import summary_lines

    backend_keys = ("model", "base_url", "api_key_env", "project", "google_api", "prompt", "batch_size", "device")
    backend = make_backend(backend_name, **{k: options.pop(k) for k in backend_keys})
    run = job(backend, **options)
    if run.dry_run:
        est = run.report["estimate"]
        units = ", ".join(f"{k} {v:,}" for k, v in est.items() if k != "usd")
        seg = run.report["segments"]
        click.echo(f"dry run: {seg['unique']} unique segments, {seg['cached']} cached, "
                   f"{seg['unique'] - seg['cached']} to send ({units}); estimated cost ${est['usd']:.4f}")
        return
    for line in summary_lines(run.report):
        click.echo(line)
    if "round_trip_chrf" in run.report:
        for name, chrf in run.report["round_trip_chrf"].items():
            click.echo(f"round-trip chrF {name}: corpus {chrf['corpus_chrf']}, mean sentence {chrf['mean_sentence_chrf']}")


@main.command()
@_translation_options
@click.option("--src", required=True, help="Source language code (e.g. en).")
@click.option("--tgt", required=True, help="Target language code (e.g. zh).")
@friendly_errors
def translate(backend, in_spec, out, src, tgt, **options):
    """Translate a dataset with Google, an LLM or a local MT model."""
    from translate.runner import translate_file

    _run_translation(lambda b, **o: translate_file(b, in_spec, out, src, tgt, **o), backend, options)


@main.command()
@_translation_options
@click.option("--lang", required=True, help="Language of the input (e.g. zh).")
@click.option("--pivot-out", required=True, type=click.Path(dir_okay=False), help="Where to keep the pivot translation.")
@click.option("--pivot-lang", default="en", show_default=True)
@friendly_errors
def rtt(backend, in_spec, out, lang, pivot_out, pivot_lang, **options):
    """Round-trip translate X -> en -> X, keeping the English pivot."""
    from translate.runner import round_trip_file

    _run_translation(
        lambda b, **o: round_trip_file(b, in_spec, out, pivot_out, lang, pivot_lang=pivot_lang, **o), backend, options
    )


# --- finetune ---------------------------------------------------------------------------------------
@main.command()
@click.option("--base", required=True, help="Base model directory or Hub id.")
@click.option("--data", "data_specs", multiple=True, required=True,
              help="Alpaca/Aya JSON, JSONL or hf://ID[:CONFIG][@REV][#SPLIT]; repeat to mix.")
@click.option("--lang", required=True, help="Language code(s), comma-separated (zh or zh,es,ru); 'all' keeps every language.")
@click.option("--variant", required=True, help="Data variant label: native, google, cohere, rtt_google, rtt_cohere or any name.")
@click.option("--out", required=True, type=click.Path(), help="Output directory (adapter or model, tokenizer, manifest).")
@click.option("--lora/--full", "use_lora", default=True, show_default=True, help="LoRA (q,k,v; r=8) or full fine-tuning.")
@click.option("--lr", default=1e-4, show_default=True, type=float)
@click.option("--epochs", default=10, show_default=True, type=int, help="Maximum epochs; the best held-out epoch is kept.")
@click.option("--patience", default=3, show_default=True, type=int, help="Early stop after this many epochs without improvement.")
@click.option("--batch-size", default=64, show_default=True, type=int, help="Effective batch size (via accumulation).")
@click.option("--micro-batch-size", default=8, show_default=True, type=int, help="Per-device batch size.")
@click.option("--max-length", default=1024, show_default=True, type=int, help="Longer examples lose the start of the prompt.")
@click.option("--template", type=click.Choice(["alpaca", "chat"]), default="alpaca", show_default=True)
@click.option("--eval-split", default=0.05, show_default=True, type=float, help="Held-out fraction for per-epoch perplexity.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for sampling, the held-out split and training.")
@click.option("--per-language-cap", type=int, default=None, help="Keep at most N records per language (seeded draw).")
@click.option("--target-modules", default=None, help="Override the LoRA target modules (comma-separated).")
@click.option("--load-in-8bit", is_flag=True, help="8-bit base model (bitsandbytes; CUDA only).")
@click.option("--gradient-checkpointing", is_flag=True, help="Trade compute for memory.")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in --out.")
@click.option("--merge", is_flag=True, help="Also write base + adapter merged into OUT/merged (for vLLM).")
@click.option("--keep-checkpoints", is_flag=True, help="Keep OUT/checkpoints after a successful run.")
@friendly_errors
def finetune(base, data_specs, lang, variant, out, use_lora, lr, epochs, patience, batch_size, micro_batch_size,
             max_length, template, eval_split, seed, per_language_cap, target_modules, load_in_8bit,
             gradient_checkpointing, resume, merge, keep_checkpoints):
    """LoRA or full SFT with the study's recipe."""
    from finetune.train import FinetuneConfig, run_finetune, summary

    languages = None if lang.strip().lower() in ("all", "multi") else [c.strip() for c in lang.split(",") if c.strip()]
    config = FinetuneConfig(
        base=base, data=list(data_specs), out=out, variant=variant, languages=languages,
        method="lora" if use_lora else "full", lr=lr, epochs=epochs, patience=patience, batch_size=batch_size,
        micro_batch_size=micro_batch_size, max_length=max_length, template=template, eval_split=eval_split,
        seed=seed, per_language_cap=per_language_cap,
        target_modules=[m.strip() for m in target_modules.split(",")] if target_modules else None,
        load_in_8bit=load_in_8bit, gradient_checkpointing=gradient_checkpointing, resume=resume, merge=merge,
        keep_checkpoints=keep_checkpoints,
    )
    click.echo(summary(run_finetune(config), out))


# --- judge ------------------------------------------------------------------------------------------
@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option("--judge", "judges", multiple=True, default=("gpt-4-turbo",), show_default=True,
              help="Judge name (harness_ext/judge/configs/*.yaml: gpt-4-turbo, command-r-plus, vllm-local) or YAML path; repeatable.")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint, overriding the judge config's.")
@click.option("--model", default=None, help="Judge model id, overriding the judge config's.")
@click.option("--prompt", default=None, help="Prompt version (harness_ext/judge/configs/prompts) or YAML path.")
@click.option("--concurrency", type=click.IntRange(min=1), default=16, show_default=True, help="Requests in flight.")
@click.option("--max-cost", type=float, default=None, help="Hard cap in USD: stop before it would be exceeded.")
@click.option("--prices", default=None, type=click.Path(dir_okay=False), help="Price table YAML (default: built-in).")
@click.option("--cache", default=None, type=click.Path(dir_okay=False),
              help="Verdict cache (default $NATIVEVAL_CACHE_DIR or ~/.cache/nativeval/judge_cache.sqlite).")
@click.option("--out", default=None, type=click.Path(file_okay=False),
              help="Write outputs under DIR/<run dir name> (default: beside the samples).")
@click.option("--tasks", default="", help="Comma-separated tasks to judge (default: the open-QA tasks found).")
@click.option("--dry-run", is_flag=True, help="Print the calls to make and a cost estimate; send nothing.")
@click.option("--pairwise", nargs=2, default=None, type=click.Path(exists=True),
              help="Compare two runs (A B) on the same questions, both orders; flips count as ties.")
@friendly_errors
def judge(paths, judges, base_url, model, prompt, concurrency, max_cost, prices, cache, out, tasks, dry_run, pairwise):
    """Judge open-ended answers with GPT-4 or any OpenAI-compatible model.

    PATHS: lm-eval output directories or samples_*.jsonl files (run with --log_samples).
    API keys come from the environment variable named in the judge config (OPENAI_API_KEY, COHERE_API_KEY).
    """
    from harness_ext.judge.engine import main_from_cli

    main_from_cli(paths=paths, judges=judges, base_url=base_url, model=model, prompt=prompt,
                  concurrency=concurrency, max_cost=max_cost, prices=prices, cache=cache, out=out,
                  tasks=[t for t in tasks.split(",") if t.strip()], dry_run=dry_run,
                  pairwise=tuple(pairwise) if pairwise else None)


# --- leaderboard ------------------------------------------------------------------------------------
@main.command()
@click.argument("results", nargs=-1, type=click.Path())
@click.option("--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Site directory to write.")
@click.option("--reference", default=None,
              help="Published rows to show beside the measured ones: 'paper' (Chen et al. 2024) or a CSV path.")
@click.option("--baseline", "baseline_model", default=None, metavar="MODEL",
              help="A row label: every model is compared against it per benchmark.")
@click.option("--baseline-variant", "baseline", default="native", show_default=True,
              help="Training-data variant the other variants are compared against (variant studies).")
@click.option("--bootstrap", "resamples", default=10_000, show_default=True, type=int, help="Bootstrap resamples.")
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for bootstrap and randomization.")
@click.option("--title", default="nativeval leaderboard", show_default=True)
@click.option("--format", "output_format", type=click.Choice(["site", "json"]), default="site", show_default=True,
              help="site: md, csv, html, plots and json; json: leaderboard.json only.")
@click.option("--push-to-hub", "push_repo", default=None, help="Upload the site to this HF dataset repo.")
@friendly_errors
def leaderboard(results, out_dir, reference, baseline_model, baseline, resamples, seed, title, output_format,
                push_repo):
    """Rankings, native-vs-translated comparisons, significance and plots (md, csv, html, json)."""
    from harness_ext.leaderboard.build import run_leaderboard

    board = run_leaderboard(list(results), out_dir, reference, baseline, resamples, seed, title, output_format,
                            push_repo, baseline_model)
    for note in board.warnings + board.superseded + board.missing_headline:
        click.echo(f"warning: {note}", err=True)
    click.echo(f"leaderboard: {len(board.entries)} rows x {len(board.columns)} columns -> {out_dir}")


# --- study ------------------------------------------------------------------------------------------
@main.command()
@click.argument("study_file", type=click.Path(dir_okay=False))
@click.option("--dry-run", is_flag=True, help="Print the plan, what is done, estimated GPU-hours and API calls.")
@click.option("--only", multiple=True, metavar="STEP", help="Run only matching steps (kind, id, id prefix or glob).")
@click.option("--force", multiple=True, metavar="STEP", help="Rerun matching steps and everything downstream.")
@click.option("--var", "variables", multiple=True, metavar="NAME=VALUE", help="Override a ${NAME} of the study file.")
@click.option("--export-slurm", type=click.Path(file_okay=False), metavar="DIR",
              help="Write one command per step (commands.sh, stage files, an sbatch array, submit.sh); run nothing.")
@click.option("--show-output", is_flag=True, help="Stream each step's output (it always goes to the step's log).")
@click.option("--fail-fast", is_flag=True, help="Stop at the first failed step (default: go on with independent steps).")
@friendly_errors
def study(study_file, dry_run, only, force, variables, export_slurm, show_output, fail_fast):
    """Run a whole study: translate, fine-tune, evaluate, judge, leaderboard; resumable."""
    from harness_ext.study.config import parse_vars
    from harness_ext.study.runner import StudyRunner, describe_plan, load_plan, subprocess_executor
    from harness_ext.study.runner import export_slurm as write_slurm

    overrides = parse_vars(variables)
    plan = load_plan(study_file, overrides)
    if dry_run:
        click.echo("\n".join(describe_plan(plan, list(only), list(force))))
    elif export_slurm:
        for path in write_slurm(plan, export_slurm, study_file, overrides, list(only), list(force)):
            click.echo(f"wrote {path}")
    else:
        StudyRunner(plan, subprocess_executor(show_output)).run(list(only), list(force), fail_fast)


if __name__ == "__main__":
    main()

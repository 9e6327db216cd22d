"""nativeval command line: thin click commands that parse options and call into the packages."""

from __future__ import annotations

import errno
import functools
import json
import logging
import math
import sys

import click

if __name__ == "__main__" and not __package__:  # `python cli.py` from a checkout: this folder is `nativeval`
    import importlib.util
    from pathlib import Path

    _spec = importlib.util.spec_from_file_location(
        "nativeval",
        Path(__file__).with_name("__init__.py"),
        submodule_search_locations=[str(Path(__file__).parent)],
    )
    sys.modules["nativeval"] = importlib.util.module_from_spec(_spec)
    _spec.loader.exec_module(sys.modules["nativeval"])

from nativeval import __version__
from nativeval.harness_ext.core.errors import NativevalError

# A full or read-only disk met while writing: an expected failure (one line, exit 1), not a bug (a traceback).
_DISK_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EROFS, errno.EACCES, errno.EPERM, errno.EIO, errno.EFBIG}


def friendly_errors(fn):
    """Turn expected failures into one line on stderr and a non-zero exit, never a traceback."""

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except NativevalError as err:
            click.echo(f"error: {err}", err=True)
            sys.exit(err.exit_code)
        except OSError as err:
            if err.errno not in _DISK_ERRNOS:
                raise
            from nativeval.harness_ext.core.errors import os_reason

            where = f"{err.filename}: " if err.filename else ""
            click.echo(
                f"error: {where}{os_reason(err)}; free space or make the folder writable (or choose another "
                "output), then rerun the same command: finished work is saved",
                err=True,
            )
            sys.exit(1)
        except KeyboardInterrupt:
            click.echo("interrupted: finished work is saved; rerun the same command to resume", err=True)
            sys.exit(130)

    return wrapper


class FiniteFloat(click.FloatRange):
    """A float range that refuses inf and NaN (click's FloatRange lets NaN through every bound)."""

    def convert(self, value, param, ctx):
        number = super().convert(value, param, ctx)
        if number is not None and not math.isfinite(number):
            self.fail(f"{value!r} is not a finite number.", param, ctx)
        return number


MAX_BOOTSTRAP = 1_000_000  # resamples: more buys no precision a report can show, and can run for hours
_bootstrap_range = click.IntRange(min=0, max=MAX_BOOTSTRAP)


class OneLineErrors(click.Group):
    """click's own errors (a bad option value, a missing option) as one `error:` line too, not usage + hint +
    message: the same shape as every other expected failure."""

    def main(self, args=None, prog_name=None, complete_var=None, standalone_mode=True, **extra):
        if not standalone_mode:
            return super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        try:
            rv = super().main(args, prog_name, complete_var, standalone_mode=False, **extra)
        except click.exceptions.NoArgsIsHelpError as err:  # a bare group: its help, as click shows it
            err.show()
            sys.exit(err.exit_code)
        except click.UsageError as err:
            where = f" (see `{err.ctx.command_path} --help`)" if err.ctx is not None else ""
            click.echo(f"error: {err.format_message()}{where}", err=True)
            sys.exit(err.exit_code)
        except click.ClickException as err:
            click.echo(f"error: {err.format_message()}", err=True)
            sys.exit(err.exit_code)
        except click.exceptions.Abort:
            click.echo("Aborted!", err=True)
            sys.exit(1)
        sys.exit(rv if isinstance(rv, int) and not isinstance(rv, bool) else 0)


class _Commands(OneLineErrors):
    """`nativeval study init ...` is its own command; `nativeval study FILE` runs a study file as before."""

    def resolve_command(self, ctx, args):
        if args[:2] == ["study", "init"]:
            return "study init", study_init, args[2:]
        return super().resolve_command(ctx, args)


@click.group(cls=_Commands, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="nativeval")
@click.option("-v", "--verbose", is_flag=True, help="Log debug messages.")
def main(verbose: bool):
    """nativeval: is my multilingual model good, or is my evaluation just bad?"""
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.WARNING, format="%(levelname)s: %(message)s"
    )


# --- data -------------------------------------------------------------------------------------------
@main.group()
def data():
    """Dataset mirrors for offline clusters: download and check."""


@data.command("download")
@click.option("--tasks", "task_names", required=True, help="Comma-separated tasks or collections.")
@click.option(
    "--to", "to", required=True, type=click.Path(file_okay=False), help="Mirror directory to write."
)
@click.option("--force", is_flag=True, help="Fetch again splits that are already there.")
@friendly_errors
def data_download(task_names, to, force):
    """Write a mirror of the tasks' datasets (needs internet)."""
    from pathlib import Path

    from nativeval.harness_ext.catalogue.mirror import download
    from nativeval.harness_ext.eval.run import parse_task_list

    records = download(parse_task_list(task_names), Path(to), force=force)
    click.echo(
        f"wrote {len(records)} dataset config(s) under {to}; add it to NATIVEVAL_DATA_DIR to use it offline"
    )


@data.command("check")
@click.option(
    "--tasks",
    "task_names",
    default="native,translated",
    show_default=True,
    help="Comma-separated tasks or collections.",
)
@click.option(
    "--no-hub-probe",
    is_flag=True,
    help="Do not ask the Hub for data read from it (reported as 'not checked').",
)
@friendly_errors
def data_check(task_names, no_hub_probe):
    """Print where each task's data would come from and whether it is there: every mirror file is parsed and
    the Hub is asked for the pinned revision (exit 1 if any is missing, corrupt or unreachable)."""
    from nativeval.harness_ext.catalogue.mirror import check, probe_hub, verify
    from nativeval.harness_ext.eval.run import parse_task_list

    checks = verify(check(parse_task_list(task_names)), probe=None if no_hub_probe else probe_hub)
    for checked in checks:
        click.echo(checked.summary())
    sys.exit(0 if all(c.ok for c in checks) else 1)


# --- tasks ------------------------------------------------------------------------------------------
@main.command()
@click.option("--json", "as_json", is_flag=True, help="Machine-readable JSON.")
@click.option("--markdown", is_flag=True, help="A Markdown table (as in the README).")
@click.option(
    "--lang",
    "lang",
    default=None,
    metavar="CODE",
    help="Only this language's tasks and its native_/translated_ collections (with the test sets it lacks).",
)
@click.option(
    "--user-dir",
    "user_dir",
    is_flag=True,
    help="Print the user task directory (for `lm_eval --include_path`; it reaches nativeval's tasks too).",
)
@click.option(
    "--path",
    "tasks_folder",
    is_flag=True,
    help="Print the installed task folder (for `lm_eval --include_path`).",
)
@friendly_errors
def tasks(as_json, markdown, lang, user_dir, tasks_folder):
    """The task catalogue: name, language, provenance, type, shots, metrics, data (user-made tasks marked)."""
    import json

    from nativeval.harness_ext.catalogue import catalogue
    from nativeval.harness_ext.catalogue import view as catalogue_view
    from nativeval.harness_ext.catalogue.user_tasks import refresh_user_dir, user_tasks_dir

    if tasks_folder:
        from nativeval.harness_ext.eval.lm_eval_tasks import tasks_path

        click.echo(str(tasks_path()))
        return
    if user_dir:
        refresh_user_dir()
        click.echo(str(user_tasks_dir()))
        return
    cat = catalogue()
    if as_json:
        click.echo(json.dumps(catalogue_view.as_json(cat, lang), indent=2, ensure_ascii=False))
    else:
        click.echo(catalogue_view.as_markdown(cat, lang) if markdown else catalogue_view.as_table(cat, lang))


# --- lm-eval plugin ---------------------------------------------------------------------------------
@main.group("lm-eval-plugin")
def lm_eval_plugin():
    """Plain `lm_eval --tasks native_zh` without --include_path (opt-in; `disable` undoes it)."""


_site_dir_option = click.option(
    "--site-dir",
    type=click.Path(file_okay=False),
    default=None,
    help="The site-packages folder for the plugin file (default: this interpreter's).",
)


@lm_eval_plugin.command("enable")
@_site_dir_option
@friendly_errors
def lm_eval_plugin_enable(site_dir):
    """Write a .pth file: lm-eval's TaskManager then also indexes nativeval's tasks and the user-made ones."""
    from nativeval.harness_ext.eval import lm_eval_plugin as plugin

    state = plugin.enable(site_dir)
    click.echo(f"enabled: {state.path} (`nativeval lm-eval-plugin disable` removes it)")


@lm_eval_plugin.command("disable")
@_site_dir_option
@friendly_errors
def lm_eval_plugin_disable(site_dir):
    """Remove the .pth file that `enable` wrote, and nothing else."""
    from nativeval.harness_ext.eval import lm_eval_plugin as plugin

    was = plugin.status(site_dir)
    state = plugin.disable(site_dir)
    click.echo(f"disabled: {'removed ' if was.enabled else 'there was no '}{state.path}")


@lm_eval_plugin.command("status")
@_site_dir_option
@friendly_errors
def lm_eval_plugin_status(site_dir):
    """Whether the plugin is enabled, and where its file is."""
    from nativeval.harness_ext.eval import lm_eval_plugin as plugin

    state = plugin.status(site_dir)
    if not state.enabled:
        click.echo(f"disabled (no {state.path})")
    elif state.current:
        click.echo(f"enabled: {state.path}")
    else:
        click.echo(f"enabled by another nativeval version: {state.path} (`enable` rewrites it)")


# --- eval -------------------------------------------------------------------------------------------
# Option names are lm-eval 0.4.13's (`lm_eval run --help`), with its meaning; nativeval's hyphen spellings are
# aliases. Options lm-eval takes as several words (`--model_args a=1 b=2`, `--tasks t1 t2`) take them here
# too.
_SEVERAL_WORDS = (
    "--tasks",
    "-t",
    "--model_args",
    "--model-args",
    "-a",
    "--gen_kwargs",
    "--gen-kwargs",
    "--metadata",
    "--wandb_args",
    "--wandb_config_args",
    "--trackio_args",
    "--hf_hub_log_args",
)


class _LmEvalCommand(click.Command):
    """`--opt v1 v2 ...` (lm-eval's nargs="+") read as `--opt v1 --opt v2 ...`."""

    def parse_args(self, ctx, args):
        spread: list[str] = []
        current = None
        for arg in args:
            if arg.startswith("-") and not _is_number(arg):
                current = arg if arg in _SEVERAL_WORDS else None
                spread.append(arg)
            elif current is not None and spread and spread[-1] != current:
                spread += [current, arg]
            else:
                spread.append(arg)
        return super().parse_args(ctx, spread)


def _is_number(text: str) -> bool:
    try:
        float(text)
    except ValueError:
        return False
    return True


@main.command("eval", cls=_LmEvalCommand)
@click.option(
    "--config",
    "-C",
    "config_file",
    default=None,
    type=click.Path(dir_okay=False),
    help="lm-eval YAML config of these options (lm_eval run --config); options given here override it.",
)
@click.option("--model", "-M", default="hf", show_default=True, help="lm-eval model type: hf, vllm, ...")
@click.option(
    "--model-args",
    "--model_args",
    "-a",
    "model_args",
    multiple=True,
    help="lm-eval model arguments, e.g. pretrained=Qwen/Qwen1.5-7B,peft=DIR; a model is a directory, "
    "a Hub id or hf://ID; nativeval_label=NAME names the run (like --label).",
)
@click.option(
    "--tasks",
    "-t",
    "task_names",
    multiple=True,
    help="Comma-separated nativeval tasks or collections and/or lm-eval tasks (e.g. mgsm_native_cot_zh).",
)
@click.option(
    "--output-path",
    "--output_path",
    "-o",
    "output_path",
    default=None,
    type=click.Path(),
    help="Where lm-eval's results files go (a folder, or a .json file name).",
)
@click.option("--label", default=None, help="Name of this run in leaderboards (written to the results file).")
@click.option(
    "--limit",
    "-L",
    type=FiniteFloat(),
    default=None,
    help="Documents per task (a fraction if < 1); for testing.",
)
@click.option(
    "--samples",
    "-E",
    default=None,
    help='Documents per task by index: JSON {"task": [0, 1, 2]} or a JSON file (excludes --limit).',
)
@click.option(
    "--num-fewshot",
    "--num_fewshot",
    "-f",
    "num_fewshot",
    type=int,
    default=None,
    help="Few-shot examples, overriding the tasks' (a task set to 0 stays 0, as in lm-eval).",
)
@click.option(
    "--batch-size",
    "--batch_size",
    "-b",
    "batch_size",
    default="1",
    show_default=True,
    help="Batch size: an integer, 'auto' or 'auto:N'.",
)
@click.option(
    "--max-batch-size",
    "--max_batch_size",
    "max_batch_size",
    type=int,
    default=None,
    help="Largest batch size tried with --batch-size auto.",
)
@click.option(
    "--device",
    default=None,
    help="cuda, cuda:N, mps or cpu (default: cuda when available, else mps where present, else cpu).",
)
@click.option(
    "--gen-kwargs",
    "--gen_kwargs",
    "gen_kwargs",
    multiple=True,
    help="Generation arguments key=value,... overriding the tasks' (e.g. temperature=0,max_gen_toks=256).",
)
@click.option(
    "--apply-chat-template",
    "--apply_chat_template",
    "apply_chat_template",
    is_flag=False,
    flag_value="",
    default=None,
    help="Wrap prompts in the model's chat template (optionally a template name).",
)
@click.option(
    "--fewshot-as-multiturn",
    "--fewshot_as_multiturn",
    "fewshot_as_multiturn",
    is_flag=False,
    flag_value="true",
    default=None,
    help=(
        "Few-shot examples as a multi-turn chat "
        "(default: on with --apply-chat-template; 'false' turns it off)."
    ),
)
@click.option(
    "--system-instruction",
    "--system_instruction",
    "system_instruction",
    default=None,
    help="A system instruction prepended to every prompt.",
)
@click.option(
    "--seed",
    default=None,
    help="Seeds as lm-eval takes them: one integer for all, or python,numpy,torch,fewshot "
    "(default 0,1234,1234,1234; None leaves one unset).",
)
@click.option(
    "--metadata",
    multiple=True,
    help="Task metadata: a JSON object or key=value,... (merged with --model-args).",
)
@click.option(
    "--include-path",
    "--include_path",
    "include_paths",
    multiple=True,
    type=click.Path(),
    help="Another folder of lm-eval task YAMLs (repeatable); nativeval's tasks are always included.",
)
@click.option(
    "--use-cache",
    "--use_cache",
    "-c",
    "use_cache",
    default=None,
    help="SQLite file prefix caching model responses (lm-eval's --use_cache).",
)
@click.option(
    "--cache-requests",
    "--cache_requests",
    "cache_requests",
    is_flag=False,
    flag_value="true",
    default=None,
    metavar="true|refresh|delete",
    help="Cache the built requests (lm-eval's --cache_requests).",
)
@click.option(
    "--log-samples/--no-log-samples",
    "--log_samples/--no_log_samples",
    "-s",
    "log_samples",
    default=True,
    show_default=True,
    help="Write samples_*.jsonl (on by default: the leaderboard's statistics need them).",
)
@click.option(
    "--predict-only",
    "--predict_only",
    "-x",
    "predict_only",
    is_flag=True,
    help="Save the model's outputs only; compute no metrics (implies --log-samples).",
)
@click.option(
    "--check-integrity",
    "--check_integrity",
    "check_integrity",
    is_flag=True,
    help="Run lm-eval's task test suite first.",
)
@click.option(
    "--write-out", "--write_out", "-w", "write_out", is_flag=True, help="Print the first documents' prompts."
)
@click.option(
    "--show-config",
    "--show_config",
    "show_config",
    is_flag=True,
    help="Print the full results and task configuration after the run.",
)
@click.option(
    "--verbosity", "-v", default=None, help="(Deprecated in lm-eval) log level: DEBUG, INFO, WARNING, ..."
)
@click.option(
    "--trust-remote-code",
    "--trust_remote_code",
    "trust_remote_code",
    is_flag=True,
    help="Allow the model's and datasets' code from the Hub to run.",
)
@click.option(
    "--confirm-run-unsafe-code",
    "--confirm_run_unsafe_code",
    "confirm_run_unsafe_code",
    is_flag=True,
    help="Allow tasks that execute model-written code.",
)
@click.option(
    "--wandb-args",
    "--wandb_args",
    "wandb_args",
    multiple=True,
    help="Weights & Biases init arguments key=value,...",
)
@click.option(
    "--wandb-config-args",
    "--wandb_config_args",
    "wandb_config_args",
    multiple=True,
    help="Weights & Biases config arguments key=value,...",
)
@click.option(
    "--trackio-args",
    "--trackio_args",
    "trackio_args",
    multiple=True,
    help="Trackio init arguments key=value,...",
)
@click.option(
    "--hf-hub-log-args",
    "--hf_hub_log_args",
    "hf_hub_log_args",
    multiple=True,
    help=(
        "Hugging Face Hub logging arguments key=value,... "
        "(e.g. hub_results_org=ORG,push_results_to_hub=True)."
    ),
)
@click.option(
    "--skip-missing-data",
    is_flag=True,
    help="Leave out tasks whose data is missing (warn) instead of failing.",
)
@click.option(
    "--judge",
    "judges",
    multiple=True,
    help="Judge open-QA answers after generation (see `judge --help`); repeatable.",
)
@click.option("--judge-base-url", default=None, help="Judge endpoint, overriding the judge config's.")
@click.option("--judge-concurrency", type=click.IntRange(min=1), default=16, show_default=True)
@click.option("--judge-max-cost", type=FiniteFloat(min=0), default=None, help="Judge spending cap in USD.")
@click.option(
    "--judge-cache", default=None, type=click.Path(dir_okay=False), help="Judge verdict cache file."
)
@click.option(
    "--judge-repeats",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Ask the judge K times per answer (see `judge --repeats`).",
)
@click.option(
    "--judge-prompt",
    default=None,
    help=(
        "Judge prompt version or YAML path "
        "(default: the judge's, single_v2 = the study's; see `judge --prompt`)."
    ),
)
@click.option(
    "--peft",
    default=None,
    metavar="[NAME=]DIR,...",
    help="PEFT adapters of the --model-args base: the base loads once, each adapter's files go to "
    "OUTPUT/NAME/ (default NAME: the adapter's folder name; --model hf).",
)
@click.pass_context
@friendly_errors
def eval_(ctx, config_file, **options):
    """Run lm-eval on nativeval tasks (and lm-eval's own), then the judge when configured."""
    from nativeval.harness_ext.eval.options import eval_request, merge_config_file

    if config_file:
        options = merge_config_file(
            config_file,
            options,
            given={
                name
                for name in options
                if ctx.get_parameter_source(name) != click.core.ParameterSource.DEFAULT
            },
        )
    request = eval_request(options)
    after_eval = None
    if options["judge_prompt"] and not options["judges"]:
        raise click.UsageError("--judge-prompt applies to the judge: add --judge NAME")
    if options["judges"]:
        if not request.log_samples:
            raise click.UsageError("--judge needs the samples: drop --no-log-samples")
        from nativeval.harness_ext.judge.run import JudgeOptions, judge_after_eval, preflight

        judge_options = JudgeOptions(
            judges=options["judges"],
            base_url=options["judge_base_url"],
            prompt=options["judge_prompt"],
            concurrency=options["judge_concurrency"],
            max_cost=options["judge_max_cost"],
            cache=options["judge_cache"],
            repeats=options["judge_repeats"],
        )
        preflight(judge_options)  # judge names, prompt, keys, prices and cache, before generation
        after_eval = judge_after_eval(judge_options, echo=click.echo)
    from nativeval.harness_ext.eval.run import run, summary_table

    if options["peft"] is not None:
        from nativeval.harness_ext.eval.adapter_group import parse_peft_list, run_group

        for adapter, outcome in run_group(
            request, parse_peft_list(options["peft"]), after_eval, echo=click.echo
        ):
            if outcome.results:
                click.echo(summary_table(outcome.results))
            click.echo(f"{adapter.name}: results: {outcome.results_file}")
        return
    outcome = run(
        request, after_eval=after_eval, notify=lambda line: click.echo(f"warning: {line}", err=True)
    )
    if outcome.results and request.show_config:
        from nativeval.harness_ext.core.lm_eval_internals import json_default

        click.echo(json.dumps(outcome.results, indent=2, default=json_default, ensure_ascii=False))
    if outcome.results:
        click.echo(summary_table(outcome.results))
    for name in outcome.skipped:
        click.echo(f"warning: skipped {name} (data missing)", err=True)
    if outcome.results_file:
        click.echo(f"results: {outcome.results_file}")


# --- translate / rtt / translate-task ----------------------------------------------------------------
_max_wrong_language_option = click.option(
    "--max-wrong-language",
    type=click.FloatRange(0, 1),
    default=0.05,
    show_default=True,
    help="Exit 1 (output kept) when more than this share of a leg's segments is in the wrong language.",
)
_BACKEND_KEYS = (
    "model",
    "base_url",
    "api_key_env",
    "project",
    "google_api",
    "prompt",
    "batch_size",
    "device",
)


def _translation_options(fn):
    """Options shared by `translate` and `rtt`."""
    options = [
        click.option("--backend", type=click.Choice(["google", "llm", "hf"]), required=True),
        click.option(
            "--in",
            "in_spec",
            required=True,
            help="Alpaca/Aya JSON list, JSONL, or hf://dataset_id[:config][@revision][#split].",
        ),
        click.option("--out", required=True, type=click.Path(dir_okay=False)),
        click.option(
            "--fields",
            default="instruction,output",
            show_default=True,
            help="Comma-separated fields, each translated separately.",
        ),
        click.option(
            "--model", default=None, help="LLM model / Google model / HF MT model (id or directory)."
        ),
        click.option(
            "--base-url", default=None, help="OpenAI-compatible endpoint (llm) or API host (google)."
        ),
        click.option(
            "--api-key-env",
            default=None,
            help=(
                "Environment variable holding the API key "
                "(llm: OPENAI_API_KEY; google: GOOGLE_TRANSLATE_API_KEY)."
            ),
        ),
        click.option(
            "--project", default=None, help="Google Cloud project for v3 (default $GOOGLE_CLOUD_PROJECT)."
        ),
        click.option(
            "--google-api", type=click.Choice(["auto", "v2", "v3"]), default="auto", show_default=True
        ),
        click.option(
            "--prompt", default=None, help="LLM prompt version or YAML file (default command_r_v1)."
        ),
        click.option(
            "--batch-size",
            type=click.IntRange(min=1),
            default=16,
            show_default=True,
            help="hf: segments per forward pass.",
        ),
        click.option("--device", default=None, help="hf: cpu / cuda (default: cuda when present)."),
        click.option(
            "--concurrency",
            type=click.IntRange(min=1),
            default=None,
            help="Requests in flight (default per backend).",
        ),
        click.option(
            "--cache", "cache_path", default=None, help="Segment cache (default OUT.segments.sqlite)."
        ),
        click.option(
            "--max-cost",
            type=FiniteFloat(min=0),
            default=None,
            help="Stop before spending more than this (USD).",
        ),
        click.option("--dry-run", is_flag=True, help="Estimate segments and cost; send and write nothing."),
        click.option(
            "--skip-invalid", is_flag=True, help="Skip records lacking a field (reported) instead of failing."
        ),
        click.option(
            "--report", "report_path", default=None, help="Quality report JSON (default OUT.report.json)."
        ),
        click.option("--split", default="train", show_default=True, help="Split for hf:// inputs."),
        _max_wrong_language_option,
    ]
    for option in reversed(options):
        fn = option(fn)
    return fn


def _run_translation(job, backend_name: str, options: dict) -> None:
    from nativeval.translate.backends import make_backend
    from nativeval.translate.run_report import RoundTripReport

    max_wrong_language = options.pop("max_wrong_language")
    _check_key_variable(options["api_key_env"])

    backend = make_backend(backend_name, **{k: options.pop(k) for k in _BACKEND_KEYS})
    run = job(backend, **options)
    report = run.report
    if run.dry_run:
        est = report.estimate
        units = ", ".join(f"{k} {v:,}" for k, v in est.to_json().items() if k != "usd")
        seg = report.segments
        click.echo(
            f"dry run: {seg.unique} unique segments, {seg.cached} cached, "
            f"{seg.unique - seg.cached} to send ({units}); estimated cost ${est.usd:.4f}"
        )
        return
    round_trip = isinstance(report, RoundTripReport)
    legs = [report.forward, report.back] if round_trip else [report]
    for number, leg in enumerate(legs, 1):
        prefix = f"leg {number}/{len(legs)}: " if len(legs) > 1 else ""
        for line in leg.summary_lines():
            click.echo(prefix + line)
    if round_trip:
        for name, chrf in report.round_trip_chrf.items():
            click.echo(
                f"round-trip chrF {name}: corpus {chrf['corpus_chrf']}, "
                f"mean sentence {chrf['mean_sentence_chrf']}"
            )
    _exit_if_wrong_language(report.legs if round_trip else [report.leg_quality()], max_wrong_language)


def _check_key_variable(name: str | None) -> None:
    """An --api-key-env named on the command line must be set: found before a backend is built."""
    import os

    from nativeval.harness_ext.core.errors import InputError

    if name and not os.environ.get(name):
        raise InputError(
            f"--api-key-env {name}: the environment variable {name} is not set; export it with the "
            "API key (keys are read from the environment only)"
        )


def _exit_if_wrong_language(legs: list[dict], limit: float) -> None:
    """Exit 1 with one line when a leg's wrong-language rate exceeds ``limit`` (the output stays written)."""
    from nativeval.translate.quality import wrong_language_summary

    summary = wrong_language_summary(legs, limit)
    if summary:
        click.echo(f"error: {summary}", err=True)
        sys.exit(1)


@main.command()
@_translation_options
@click.option("--src", required=True, help="Source language code (e.g. en).")
@click.option("--tgt", required=True, help="Target language code (e.g. zh).")
@friendly_errors
def translate(backend, in_spec, out, src, tgt, **options):
    """Translate a dataset with Google, an LLM or a local MT model."""
    from nativeval.translate.runner import check_paths, parse_fields, translate_file

    parse_fields(options["fields"])
    check_paths(in_spec, {"--out": out}, options["cache_path"], options["report_path"])
    _run_translation(lambda b, **o: translate_file(b, in_spec, out, src, tgt, **o), backend, options)


@main.command()
@_translation_options
@click.option("--lang", required=True, help="Language of the input (e.g. zh).")
@click.option(
    "--pivot-out", required=True, type=click.Path(dir_okay=False), help="Where to keep the pivot translation."
)
@click.option("--pivot-lang", default="en", show_default=True)
@friendly_errors
def rtt(backend, in_spec, out, lang, pivot_out, pivot_lang, **options):
    """Round-trip translate X -> en -> X, keeping the English pivot."""
    from nativeval.translate.runner import check_paths, parse_fields, round_trip_file

    parse_fields(options["fields"])
    check_paths(
        in_spec, {"--out": out, "--pivot-out": pivot_out}, options["cache_path"], options["report_path"]
    )
    _run_translation(
        lambda b, **o: round_trip_file(b, in_spec, out, pivot_out, lang, pivot_lang=pivot_lang, **o),
        backend,
        options,
    )


@main.command("translate-task")
@click.argument("task")
@click.option(
    "--round-trip", is_flag=True, help="Round trip LANG -> --via -> LANG (task rtt_<lang>_<bench>)."
)
@click.option("--via", default="en", show_default=True, help="Pivot language of a round trip.")
@click.option(
    "--to", "target", default=None, help="Machine-translate into this language (task mt_<lang>_<bench>)."
)
@click.option("--backend", type=click.Choice(["google", "llm", "hf"]), required=True)
@click.option("--model", default=None, help="LLM model / Google model / HF MT model (id or directory).")
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint (llm) or API host (google).")
@click.option("--api-key-env", default=None, help="Environment variable holding the API key.")
@click.option("--project", default=None, help="Google Cloud project for v3 (default $GOOGLE_CLOUD_PROJECT).")
@click.option("--google-api", type=click.Choice(["auto", "v2", "v3"]), default="auto", show_default=True)
@click.option("--prompt", default=None, help="LLM prompt version or YAML file (default command_r_v1).")
@click.option(
    "--batch-size",
    type=click.IntRange(min=1),
    default=16,
    show_default=True,
    help="hf: segments per forward pass.",
)
@click.option("--device", default=None, help="hf: cpu / cuda (default: cuda when present).")
@click.option(
    "--concurrency",
    type=click.IntRange(min=1),
    default=None,
    help="Requests in flight (default per backend).",
)
@click.option(
    "--max-cost", type=FiniteFloat(min=0), default=None, help="Stop before spending more than this (USD)."
)
@click.option(
    "--out",
    type=click.Path(file_okay=False),
    default=None,
    help="Task directory to write into (default: the user task directory, `nativeval tasks --user-dir`).",
)
@click.option("--subjects", default=None, help="Comma-separated subjects of a group task (default: all).")
@click.option(
    "--limit", type=click.IntRange(min=1), default=None, help="Translate only the first N evaluation rows."
)
@click.option(
    "--fewshot-limit",
    type=click.IntRange(min=0),
    default=None,
    help="Rows of each few-shot split (default all).",
)
@click.option(
    "--keep-fewshot", is_flag=True, help="Keep the few-shot exemplars untranslated (original language)."
)
@click.option("--label", default=None, help="A note on the translator for the task's README and provenance.")
@_max_wrong_language_option
@friendly_errors
def translate_task(
    task,
    round_trip,
    via,
    target,
    backend,
    concurrency,
    max_cost,
    out,
    subjects,
    limit,
    fewshot_limit,
    keep_fewshot,
    label,
    max_wrong_language,
    **backend_options,
):
    """Translate a catalogue task into a user-made lm-eval task, same doc ids, provenance-tagged."""
    from nativeval.harness_ext.core.errors import InputError
    from nativeval.translate.backends import make_backend
    from nativeval.translate.task.quality_report import quality_lines
    from nativeval.translate.task.request import TaskTranslationRequest, resolve
    from nativeval.translate.task.run import translate_task as run_translate_task

    if round_trip == bool(target):
        raise InputError("give exactly one of --round-trip (with --via LANG) or --to LANG")
    _check_key_variable(backend_options["api_key_env"])
    request = TaskTranslationRequest(
        task=task,
        mode="rtt" if round_trip else "mt",
        target=target,
        via=via,
        out=out,
        subjects=[s.strip() for s in subjects.split(",") if s.strip()] if subjects else None,
        limit=limit,
        fewshot_limit=fewshot_limit,
        keep_fewshot=keep_fewshot,
        concurrency=concurrency,
        max_cost=max_cost,
        label=label,
    )
    resolve(request)  # a bad task or language name fails before a backend is built
    result = run_translate_task(make_backend(backend, **backend_options), request, echo=click.echo)
    for line in quality_lines(result.quality):
        click.echo(line)
    click.echo(
        f"wrote {result.name} (user-made) to {result.folder}; run it with "
        f"`nativeval eval --tasks {request.task},{result.name} ...`"
    )
    _exit_if_wrong_language([leg.to_json() for leg in result.quality.legs], max_wrong_language)


# --- finetune ---------------------------------------------------------------------------------------
def options_json(ctx: click.Context, _param: click.Parameter, value: bool) -> None:
    """Print the command's options as JSON and exit: what a study's `finetune.recipe` may set is read from
    here."""
    if not value or ctx.resilient_parsing:
        return
    table = []
    for option in ctx.command.params:
        if not isinstance(option, click.Option) or option.hidden:
            continue
        kind = option.type
        table.append(
            {
                "name": option.name,
                "flags": option.opts,
                "secondary_flags": option.secondary_opts,
                "is_flag": option.is_flag,
                "type": kind.name,
                "choices": list(getattr(kind, "choices", []) or []),
                "min": getattr(kind, "min", None),
                "max": getattr(kind, "max", None),
                "default": option.default,
                "required": option.required,
                "multiple": option.multiple,
            }
        )
    click.echo(json.dumps(table, default=lambda _unset: None))  # click marks "no default" with a sentinel
    ctx.exit()


@main.command()
@click.option(
    "--options-json",
    is_flag=True,
    hidden=True,
    expose_value=False,
    is_eager=True,
    callback=options_json,
    help="Print this command's options as JSON (the study recipe's keys) and exit.",
)
@click.option("--base", required=True, help="Base model directory or Hub id.")
@click.option(
    "--data",
    "data_specs",
    multiple=True,
    required=True,
    help="Alpaca/Aya JSON, JSONL or hf://ID[:CONFIG][@REV][#SPLIT]; repeat to mix.",
)
@click.option(
    "--lang",
    required=True,
    help="Language code(s), comma-separated (zh or zh,es,ru); 'all' keeps every language.",
)
@click.option(
    "--variant",
    required=True,
    help="Data variant label: native, google, cohere, rtt_google, rtt_cohere or any name.",
)
@click.option(
    "--out",
    required=True,
    type=click.Path(file_okay=False),
    help="Output directory (adapter or model, tokenizer, manifest).",
)
@click.option(
    "--lora/--full",
    "use_lora",
    default=True,
    show_default=True,
    help="LoRA (q,k,v; r=8) or full fine-tuning.",
)
@click.option("--lr", default=1e-4, show_default=True, type=FiniteFloat(min=0, min_open=True))
@click.option(
    "--epochs",
    default=10,
    show_default=True,
    type=click.IntRange(min=1),
    help="Maximum epochs; the best held-out epoch is kept.",
)
@click.option(
    "--patience",
    default=3,
    show_default=True,
    type=click.IntRange(min=0),
    help="Early stop after this many epochs without improvement.",
)
@click.option(
    "--batch-size",
    default=64,
    show_default=True,
    type=click.IntRange(min=1),
    help="Effective batch size (via accumulation).",
)
@click.option(
    "--micro-batch-size",
    default=8,
    show_default=True,
    type=click.IntRange(min=1),
    help="Per-device batch size.",
)
@click.option(
    "--max-length",
    default=1024,
    show_default=True,
    type=click.IntRange(min=8),
    help="Longer examples lose the start of the prompt.",
)
@click.option("--template", type=click.Choice(["alpaca", "chat"]), default="alpaca", show_default=True)
@click.option(
    "--eval-split",
    default=0.05,
    show_default=True,
    type=FiniteFloat(0, 1, max_open=True),
    help="Held-out fraction for per-epoch perplexity.",
)
@click.option(
    "--seed",
    default=0,
    show_default=True,
    type=int,
    help="Seed for sampling, the held-out split and training.",
)
@click.option(
    "--per-language-cap",
    type=click.IntRange(min=1),
    default=None,
    help="Keep at most N records per language (seeded draw).",
)
@click.option("--target-modules", default=None, help="Override the LoRA target modules (comma-separated).")
@click.option("--load-in-8bit", is_flag=True, help="8-bit base model (bitsandbytes; CUDA only).")
@click.option("--gradient-checkpointing", is_flag=True, help="Trade compute for memory.")
@click.option("--resume", is_flag=True, help="Continue from the last checkpoint in --out.")
@click.option("--merge", is_flag=True, help="Also write base + adapter merged into OUT/merged (for vLLM).")
@click.option("--keep-checkpoints", is_flag=True, help="Keep OUT/checkpoints after a successful run.")
@friendly_errors
def finetune(
    base,
    data_specs,
    lang,
    variant,
    out,
    use_lora,
    lr,
    epochs,
    patience,
    batch_size,
    micro_batch_size,
    max_length,
    template,
    eval_split,
    seed,
    per_language_cap,
    target_modules,
    load_in_8bit,
    gradient_checkpointing,
    resume,
    merge,
    keep_checkpoints,
):
    """LoRA or full SFT with the study's recipe."""
    from nativeval.finetune.train import FinetuneConfig, run_finetune, summary

    languages = (
        None
        if lang.strip().lower() in ("all", "multi")
        else [c.strip() for c in lang.split(",") if c.strip()]
    )
    config = FinetuneConfig(
        base=base,
        data=list(data_specs),
        out=out,
        variant=variant,
        languages=languages,
        method="lora" if use_lora else "full",
        lr=lr,
        epochs=epochs,
        patience=patience,
        batch_size=batch_size,
        micro_batch_size=micro_batch_size,
        max_length=max_length,
        template=template,
        eval_split=eval_split,
        seed=seed,
        per_language_cap=per_language_cap,
        target_modules=[m.strip() for m in target_modules.split(",")] if target_modules else None,
        load_in_8bit=load_in_8bit,
        gradient_checkpointing=gradient_checkpointing,
        resume=resume,
        merge=merge,
        keep_checkpoints=keep_checkpoints,
    )
    click.echo(summary(run_finetune(config), out))


# --- judge ------------------------------------------------------------------------------------------
@main.command()
@click.argument("paths", nargs=-1, type=click.Path())
@click.option(
    "--judge",
    "judges",
    multiple=True,
    default=("gpt-4-turbo",),
    show_default=True,
    help=(
        "Judge name (harness_ext/judge/configs/*.yaml: gpt-4-turbo, command-r-plus, vllm-local) "
        "or YAML path; repeatable."
    ),
)
@click.option("--base-url", default=None, help="OpenAI-compatible endpoint, overriding the judge config's.")
@click.option("--model", default=None, help="Judge model id, overriding the judge config's.")
@click.option(
    "--prompt", default=None, help="Prompt version (harness_ext/judge/configs/prompts) or YAML path."
)
@click.option(
    "--concurrency", type=click.IntRange(min=1), default=16, show_default=True, help="Requests in flight."
)
@click.option(
    "--max-cost",
    type=FiniteFloat(min=0),
    default=None,
    help="Hard cap in USD: stop before it would be exceeded.",
)
@click.option(
    "--prices", default=None, type=click.Path(dir_okay=False), help="Price table YAML (default: built-in)."
)
@click.option(
    "--cache",
    default=None,
    type=click.Path(dir_okay=False),
    help="Verdict cache (default $NATIVEVAL_CACHE_DIR or ~/.cache/nativeval/judge_cache.sqlite).",
)
@click.option(
    "--out",
    default=None,
    type=click.Path(file_okay=False),
    help="Write outputs under DIR/<run dir name> (default: beside the samples).",
)
@click.option(
    "--tasks", default="", help="Comma-separated tasks to judge (default: the open-QA tasks found)."
)
@click.option("--dry-run", is_flag=True, help="Print the calls to make and a cost estimate; send nothing.")
@click.option(
    "--pairwise",
    nargs=2,
    default=None,
    type=click.Path(exists=True),
    help="Compare two runs (A B) on the same questions, both orders; flips count as ties.",
)
@click.option(
    "--repeats",
    type=click.IntRange(min=1),
    default=1,
    show_default=True,
    help="Ask each item K times at the judge's temperature (each cached apart); the rating is their mean.",
)
@friendly_errors
def judge(
    paths,
    judges,
    base_url,
    model,
    prompt,
    concurrency,
    max_cost,
    prices,
    cache,
    out,
    tasks,
    dry_run,
    pairwise,
    repeats,
):
    """Judge open-ended answers with GPT-4 or any OpenAI-compatible model.

    PATHS: lm-eval output directories or samples_*.jsonl files (run with --log_samples).
    API keys come from the environment variable named in the judge config (OPENAI_API_KEY, COHERE_API_KEY).
    """
    from nativeval.harness_ext.judge.run import main_from_cli

    main_from_cli(
        paths=paths,
        judges=judges,
        base_url=base_url,
        model=model,
        prompt=prompt,
        concurrency=concurrency,
        max_cost=max_cost,
        prices=prices,
        cache=cache,
        out=out,
        tasks=[t for t in tasks.split(",") if t.strip()],
        dry_run=dry_run,
        pairwise=tuple(pairwise) if pairwise else None,
        repeats=repeats,
    )


@main.command("judge-report")
@click.argument("judge_dirs", nargs=-1, type=click.Path())
@click.option(
    "--out", required=True, type=click.Path(), help="Report directory: judge_report.json, .md, plots/."
)
@click.option(
    "--bootstrap",
    "resamples",
    type=_bootstrap_range,
    default=1000,
    show_default=True,
    help="Bootstrap resamples (questions) for the confidence intervals.",
)
@click.option("--seed", type=int, default=0, show_default=True)
@click.option(
    "--top",
    type=click.IntRange(min=0),
    default=5,
    show_default=True,
    help="Largest judge disagreements listed per language and test set.",
)
@click.option(
    "--judge-label",
    "labels",
    multiple=True,
    metavar="JUDGE=TEXT",
    help="Label a judge in the report (e.g. a stand-in); repeatable.",
)
@friendly_errors
def judge_report(judge_dirs, out, resamples, seed, top, labels):
    """Can the judges be believed? Agreement, position and length bias, language checks, self-consistency.

    JUDGE_DIRS: directories that `nativeval judge` wrote (single-answer and --pairwise outputs), searched
    recursively; reported per language and test set (native / translated).
    """
    from nativeval.harness_ext.judge.report import run_judge_report

    run_judge_report(judge_dirs, out, resamples=resamples, seed=seed, top=top, labels=labels, echo=click.echo)


# --- leaderboard ------------------------------------------------------------------------------------
@main.command()
@click.argument("results", nargs=-1, type=click.Path())
@click.option(
    "--out", "out_dir", required=True, type=click.Path(file_okay=False), help="Site directory to write."
)
@click.option(
    "--reference",
    default=None,
    help="Published numbers, in their own section, and their findings and claims: 'paper' (the 3,120 "
    "numbers of Chen et al. 2024) or a CSV path.",
)
@click.option(
    "--baseline",
    "baseline_model",
    default=None,
    metavar="MODEL",
    help="A measured row, by its training-data variant or a part of its label: every model is compared "
    "against it.",
)
@click.option(
    "--baseline-variant",
    "baseline",
    default="native",
    show_default=True,
    help="Training-data variant the other variants are compared against (variant studies).",
)
@click.option(
    "--bootstrap",
    "resamples",
    default=10_000,
    show_default=True,
    type=_bootstrap_range,
    help="Bootstrap resamples.",
)
@click.option("--seed", default=0, show_default=True, type=int, help="Seed for bootstrap and randomization.")
@click.option("--title", default="nativeval leaderboard", show_default=True)
@click.option(
    "--format",
    "output_format",
    type=click.Choice(["site", "json"]),
    default="site",
    show_default=True,
    help="site: md, csv, html, plots and json; json: leaderboard.json only.",
)
@click.option("--push-to-hub", "push_repo", default=None, help="Upload the site to this HF dataset repo.")
@click.option(
    "--judge-label",
    "judge_labels",
    multiple=True,
    metavar="JUDGE=TEXT",
    help="Label a judge in the judge diagnostics (e.g. a stand-in); repeatable.",
)
@friendly_errors
def leaderboard(
    results,
    out_dir,
    reference,
    baseline_model,
    baseline,
    resamples,
    seed,
    title,
    output_format,
    push_repo,
    judge_labels,
):
    """The findings first (native- vs translated-trained gap per test set), then rankings, significance,
    plots.

    RESULTS: lm-eval output directories; `nativeval judge` directories among them add the judge diagnostics.
    """
    from nativeval.harness_ext.judge.report import parse_labels
    from nativeval.harness_ext.leaderboard.build import run_leaderboard
    from nativeval.harness_ext.leaderboard.model import LeaderboardOptions

    options = LeaderboardOptions(
        tuple(results),
        out_dir,
        reference,
        baseline,
        baseline_model,
        resamples,
        seed,
        title,
        output_format,
        push_repo,
        tuple(parse_labels(judge_labels).items()),
    )
    board = run_leaderboard(options)
    for note in board.warnings + board.superseded + board.missing_headline:
        click.echo(f"warning: {note}", err=True)
    measured = len(board.measured)
    click.echo(
        f"leaderboard: {measured} measured row(s), {len(board.entries) - measured} published, "
        f"{len(board.columns)} test sets -> {out_dir}"
    )


# --- study ------------------------------------------------------------------------------------------
@main.command()
@click.argument("study_file", type=click.Path(dir_okay=False))
@click.option(
    "--dry-run", is_flag=True, help="Print the plan, what is done, estimated GPU-hours and API calls."
)
@click.option(
    "--only", multiple=True, metavar="STEP", help="Run only matching steps (kind, id, id prefix or glob)."
)
@click.option(
    "--force", multiple=True, metavar="STEP", help="Rerun matching steps and everything downstream."
)
@click.option(
    "--var",
    "variables",
    multiple=True,
    metavar="NAME=VALUE",
    help="Set a ${NAME} of the study file; a path given here is relative to the working directory.",
)
@click.option(
    "--output-dir",
    default=None,
    type=click.Path(file_okay=False),
    help="Write the study here instead of the study file's output_dir.",
)
@click.option(
    "--export-slurm",
    type=click.Path(file_okay=False),
    metavar="DIR",
    help="Write Slurm job arrays (steps.txt, nativeval_step.sbatch, submit.sh) and commands.sh; run nothing.",
)
@click.option(
    "--status",
    is_flag=True,
    help="Say which steps are done, running, queued, failed or blocked (markers, squeue, sacct).",
)
@click.option(
    "--cache-per-step",
    is_flag=True,
    help="One translation/judge cache file per step instead of per kind "
    "(the Slurm export's commands use it: no SQLite file shared by concurrent jobs).",
)
@click.option(
    "--show-output", is_flag=True, help="Stream each step's output (it always goes to the step's log)."
)
@click.option(
    "--fail-fast",
    is_flag=True,
    help="Stop everything at the first failed step (default: its dependents "
    "are blocked, independent steps go on).",
)
@click.option(
    "--jobs",
    "-j",
    type=int,
    default=None,
    metavar="N",
    help="Run up to N independent steps at once (default 1, or one per --gpus id).",
)
@click.option(
    "--gpus",
    default=None,
    metavar="IDS",
    help="GPU ids this run may use, e.g. 0,1,2,3 (default: all the "
    "node has: nvidia-smi, or CUDA_VISIBLE_DEVICES); each GPU step holds slurm.gpu.gpus of them.",
)
@friendly_errors
def study(
    study_file,
    dry_run,
    only,
    force,
    variables,
    output_dir,
    export_slurm,
    status,
    cache_per_step,
    show_output,
    fail_fast,
    jobs,
    gpus,
):
    """Run a whole study: translate, fine-tune, evaluate, judge, leaderboard; resumable.

    `nativeval study init --lang CODE --out FILE` writes a study file for any Aya language."""
    from nativeval.harness_ext.core.errors import InputError
    from nativeval.harness_ext.study.config import parse_vars
    from nativeval.harness_ext.study.costs import cost_line
    from nativeval.harness_ext.study.dry_run import describe_plan
    from nativeval.harness_ext.study.load import load_plan
    from nativeval.harness_ext.study.processes import subprocess_executor
    from nativeval.harness_ext.study.runner import StudyRunner
    from nativeval.harness_ext.study.scheduler import make_node
    from nativeval.harness_ext.study.state import select_steps

    modes = [
        flag
        for flag, on in (("--dry-run", dry_run), ("--status", status), ("--export-slurm", export_slurm))
        if on
    ]
    if len(modes) > 1:
        raise InputError(
            f"{' and '.join(modes)} do different things; give one of them (or none, to run the study)"
        )
    node = make_node(jobs, gpus)  # bad values: one line before planning
    overrides = parse_vars(variables)
    plan = load_plan(study_file, overrides, output_dir)
    plan.cache_per_step = cache_per_step
    if dry_run:
        click.echo("\n".join(describe_plan(plan, list(only), list(force), node)))
        click.echo(cost_line(select_steps(plan, list(only), list(force)).to_run))
    elif status:
        from nativeval.harness_ext.study.slurm import study_status

        click.echo("\n".join(study_status(plan)[1]))
    elif export_slurm:
        from nativeval.harness_ext.study.slurm import export_slurm as write_slurm

        for path in write_slurm(
            plan, export_slurm, study_file, overrides, list(only), list(force), output_dir
        ):
            click.echo(f"wrote {path}")
    else:
        StudyRunner(plan, subprocess_executor(show_output)).run(list(only), list(force), fail_fast, node)


@click.command("study init")
@click.option("--lang", "lang", required=True, metavar="CODE", help="The language (registry code, e.g. ko).")
@click.option(
    "--models",
    "models",
    multiple=True,
    metavar="NAME=ID",
    help="Base models, NAME=HF_ID or HF ids, comma-separated or repeated (default: the study's eight).",
)
@click.option(
    "--backends",
    default="google,cohere",
    show_default=True,
    help="Translation backends for the translated and round-trip data (google, cohere).",
)
@click.option("--out", "out", required=True, type=click.Path(dir_okay=False), help="The study file to write.")
@click.option("--force", is_flag=True, help="Replace an existing study file and its data folder.")
@friendly_errors
def study_init(lang, models, backends, out, force):
    """Write a study file for LANG: Aya native data, English Aya data translated to the same size, the round
    trip, and the language's native_/translated_ collections."""
    from nativeval.harness_ext.study.init import init_study, summary

    click.echo(summary(init_study(lang, out, models=models, backends=backends, force=force)))


if __name__ == "__main__":
    main()
